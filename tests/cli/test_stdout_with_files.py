"""``tsae detect score`` with one output on stdout and others in files: all of them, or none; a reader of stdout that
stops early keeps the files (whole), as ``tee`` keeps its file."""
from __future__ import annotations

import json
import os

import pytest
from cli_helpers import tsae_process
from click.testing import CliRunner

from tsae.cli import cli


def _score(trained, out: str, events: str) -> list[str]:
    src, _, det = trained
    return ["detect", "score", str(src), "--detector", str(det), "-o", out, "--events", events, "-q"]


@pytest.mark.parametrize(("out", "events", "file"), [("s.csv", "-", "s.csv"), ("-", "e.json", "e.json")])
def test_stdout_that_cannot_be_written_leaves_no_file(tmp_path, trained, monkeypatch, out, events, file) -> None:
    from tsae.io import unspool

    def full(path, stream, name="stdout"):
        raise ValueError(f"{name}: cannot write it (No space left on device)")

    monkeypatch.setattr(unspool, "send", full)
    monkeypatch.chdir(tmp_path)
    (tmp_path / file).write_text("old\n")
    result = CliRunner().invoke(cli, _score(trained, out, events))
    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: stdout: cannot write it (No space left on device)\n"
    assert (tmp_path / file).read_text() == "old\n"  # neither replaced nor removed
    assert sorted(p.name for p in tmp_path.iterdir()) == [file]  # no temporary file left either


@pytest.mark.parametrize(("out", "events", "told"), [("s.csv", "-", "s.csv: {} -> stdout"),
                                                      ("-", "e.json", "stdout: {} -> e.json")])
def test_the_summary_is_told_once_stdout_is_written(tmp_path, trained, monkeypatch, out, events, told) -> None:
    # before: "s.csv: 2000 rows, 561 flagged, 3 event(s) -> stdout", then "Error: stdout: cannot write", and no s.csv
    import re

    from tsae.io import unspool

    monkeypatch.chdir(tmp_path)
    args = _score(trained, out, events)[:-1]  # not quiet
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    counts = r"\d+ rows, \d+ flagged, \d+ event\(s\)"
    assert re.fullmatch(re.escape(told).replace(r"\{\}", counts) + "\n", result.stderr), result.stderr

    def full(path, stream, name="stdout"):
        raise ValueError(f"{name}: cannot write it (No space left on device)")

    monkeypatch.setattr(unspool, "send", full)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and result.stderr == "Error: stdout: cannot write it (No space left on device)\n"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_dev_full_leaves_no_scores_file(tmp_path, trained) -> None:
    with open("/dev/full", "wb") as full:
        process = tsae_process(*_score(trained, "s.csv", "-"), stdout=full, cwd=tmp_path)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert err.decode() == "Error: stdout: cannot write it (No space left on device)\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_reader_gone_keeps_the_whole_files(tmp_path, trained) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader went away before a byte: `| true`
    try:
        process = tsae_process(*_score(trained, "-", "e.json"), stdout=write, cwd=tmp_path)
    finally:
        os.close(write)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert err == b""
    assert json.loads((tmp_path / "e.json").read_text())["events"] == []
    assert [p.name for p in tmp_path.iterdir()] == ["e.json"]
