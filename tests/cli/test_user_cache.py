"""What the command line keeps in ``$XDG_CACHE_HOME/tsae`` (``families.json``) when that file is damaged or odd:
described again, never an error, a hang or litter."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from tsae.cli.family_cache import describe

ROW = {"description": "a family", "params": {"latent": {"default": 8, "type": "int", "help": "code size"}}}


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "tsae" / "families.json"


@pytest.mark.parametrize("row", [5, {}, {"description": "x", "params": [1]}, {"description": "x", "params": {"a": 1}},
                                 {"description": "x", "params": {"a": {"default": 1}}}])
def test_a_cached_row_of_the_wrong_shape_is_described_again(cache: Path, row: object) -> None:
    """A hand-edited (or another version's) entry with the right key: `tsae models` failed ("Error: description",
    "internal error (AttributeError ...)") or showed the family as BROKEN."""
    assert describe("fam", "json:JSONDecoder", lambda: ROW) == ROW
    data = json.loads(cache.read_text())
    data["fam"]["row"] = row
    cache.write_text(json.dumps(data))
    assert describe("fam", "json:JSONDecoder", lambda: ROW) == ROW
    assert json.loads(cache.read_text())["fam"]["row"] == ROW  # and kept right


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_in_place_of_the_cache_is_not_waited_on(cache: Path) -> None:
    cache.parent.mkdir(parents=True)
    os.mkfifo(cache)
    found: list[dict] = []
    thread = threading.Thread(target=lambda: found.append(describe("fam", "json:JSONDecoder", lambda: ROW)),
                              daemon=True)
    thread.start()
    thread.join(30)
    assert found == [ROW]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_in_place_of_the_plugin_warnings_file_is_not_waited_on(cache: Path) -> None:
    from tsae.cli.plugin_log import PluginWarnings

    pipe = cache.parent / "plugin-warnings.txt"
    pipe.parent.mkdir(parents=True)
    os.mkfifo(pipe)
    found: list[bool] = []
    thread = threading.Thread(target=lambda: found.append(PluginWarnings._first_time("a plugin failed")), daemon=True)
    thread.start()
    thread.join(30)
    assert found == [True]  # told, as with no cache


def test_a_cache_that_cannot_be_replaced_leaves_no_temporary_file(cache: Path) -> None:
    """families.json a folder (or any failed rename): each `tsae models` left a families.json.<pid>.tmp behind."""
    cache.mkdir(parents=True)
    for _ in range(2):
        assert describe("fam", "json:JSONDecoder", lambda: ROW) == ROW
    assert [p.name for p in cache.parent.iterdir()] == ["families.json"]


@pytest.mark.parametrize("value", ["relcache", "./x", ""])
def test_a_relative_or_empty_xdg_cache_home_is_ignored(value: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The XDG spec: a relative path there is invalid. It made a relcache/tsae folder in every working folder a
    command ran in (families.json and numba's kernels)."""
    from tsae.cli.user_cache import cache_path
    from tsae.engine._numba_cache import cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", value)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_path("families.json") == tmp_path / ".cache" / "tsae" / "families.json"
    assert cache_dir() == tmp_path / ".cache" / "tsae" / "numba"
