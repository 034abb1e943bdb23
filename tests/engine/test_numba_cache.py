"""tsae's numba cache under trouble: damaged files, and several processes compiling at once."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tsae.engine import _numba_cache


def _cache_file() -> Any:
    """A cache file as numba makes it for a tsae kernel (``Cache.__init__``'s call), in ``$XDG_CACHE_HOME``."""
    from numba.core import caching

    from tsae.engine import _kernels

    locator = _numba_cache.TsaeCacheLocator.from_function(_kernels.frame_rows.py_func, _kernels.__file__)
    return caching.IndexDataCacheFile(cache_path=locator.get_cache_path(), filename_base="k.f-1.py311",
                                      source_stamp="s")


def test_other_numba_users_keep_numbas_cache_files(tmp_path: Path) -> None:
    from numba.core import caching

    from tsae.engine import _kernels  # noqa: F401 - installs tsae's cache

    other = caching.IndexDataCacheFile(cache_path=str(tmp_path), filename_base="x.f-1.py311", source_stamp="s")
    other.save(("sig",), "compiled")
    assert [p.name for p in tmp_path.glob("*.nbc")] == ["x.f-1.py311.1.nbc"]  # numba's own naming


@pytest.mark.parametrize("damage", ["index", "data"])
@pytest.mark.parametrize("how", [b"", b"\x80\x04", b"garbage, not a pickle"])
def test_a_damaged_cache_file_is_a_miss_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str,
                                                     how: bytes) -> None:
    """A truncated .nbi or .nbc file (a crash after the rename, a full disk, a bad copy) failed every later
    command: "internal error (UnpicklingError: pickle data was truncated)" until the cache was removed by hand."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = _cache_file()
    folder = Path(cache._cache_path)
    cache.save(("sig",), "compiled")
    files = sorted(folder.glob("*.nbi" if damage == "index" else "*.nbc"))
    assert files
    for file in files:
        file.write_bytes(how)
    assert cache.load(("sig",)) is None  # compiled again
    cache.save(("sig",), "compiled again")  # and the damaged file replaced
    assert cache.load(("sig",)) == "compiled again"


def test_two_processes_compiling_two_signatures_at_once_keep_each_its_own_code(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes compiled one kernel for two signatures into an empty cache: both read the empty index and
    numbered their code file 1; the index of one and the code of the other won, and every later run of that
    signature failed (``TypeError: can't unbox array from PyObject into native value``)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first, second = _cache_file(), _cache_file()
    slow: list[tuple[str, object]] = []
    original = first._save_data
    first._save_data = lambda name, data: slow.append((name, data))  # the first process writes its code last
    first.save(("float32",), "float32 code")
    stale = second._load_index
    second._load_index = lambda: {}  # it read the index before the first process wrote it
    second.save(("float64",), "float64 code")
    second._load_index = stale
    for name, data in slow:
        original(name, data)
    fresh = _cache_file()
    assert fresh.load(("float64",)) in ("float64 code", None)
    assert fresh.load(("float32",)) in ("float32 code", None)
