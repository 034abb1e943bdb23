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


def _aged(path: Path, seconds: float, content: bytes = b"x") -> Path:
    """``path`` written with ``content``, last modified ``seconds`` ago."""
    import os
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (time.time() - seconds, time.time() - seconds))
    return path


HOUR, DAY = 3600.0, 86400.0


def test_a_new_entry_removes_the_code_its_kernels_index_no_longer_names(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Code files were named by signature and version and never removed: every tsae or numba upgrade left the
    previous ones in the cache for good."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = _cache_file()
    folder = Path(cache._cache_path)
    numbered = _aged(folder / "k.f-1.py311.1.nbc", 2 * HOUR)  # numba's numbering, of an older tsae
    older = _aged(folder / "k.f-1.py311.0123456789abcdef0123.nbc", 2 * HOUR)  # an older source's signature
    writing = _aged(folder / "k.f-1.py311.fedcba9876543210fedc.nbc", 60)  # another process, before its index
    other_kernel = _aged(folder / "k.g-9.py311.1.nbc", 2 * HOUR)
    _aged(folder / "k.g-9.py311.nbi", 2 * DAY)
    cache.save(("sig",), "compiled")
    assert not numbered.exists() and not older.exists()
    assert writing.exists() and other_kernel.exists()
    assert cache.load(("sig",)) == "compiled"


def test_files_unused_for_a_month_go_and_nothing_in_use_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = _cache_file()
    folder = Path(cache._cache_path)
    root = folder.parent
    gone = root / "engine_0000000000000000000000000000000000000000"  # the folder of a removed install
    stale = [_aged(gone / "_kernels.frame_rows-30.py311.nbi", 40 * DAY),
             _aged(gone / "_kernels.frame_rows-30.py311.1.nbc", 40 * DAY),
             _aged(folder / "k.h-3.py310.nbi", 31 * DAY), _aged(folder / "k.h-3.py310.ab.nbc", 31 * DAY),
             _aged(folder / "k.orphan-5.py311.cd.nbc", 2 * HOUR),  # no index names it
             _aged(folder / "k.f-1.py311.nbi.tmp.0123abcd", 2 * HOUR)]  # a writer killed mid-write
    kept = [_aged(gone / "_kernels.repair_rows-120.py311.nbi", 29 * DAY),
            _aged(gone / "_kernels.repair_rows-120.py311.1.nbc", 300 * DAY),  # old, but its index is in use
            _aged(folder / "k.f-1.py311.nbi.tmp.4567cdef", 60),  # being written
            _aged(folder / "notes.txt", 400 * DAY)]  # not a cache file
    outside = _aged(tmp_path / "elsewhere" / "x.f-1.py311.1.nbc", 400 * DAY)
    (root / "link").symlink_to(gone / "_kernels.repair_rows-120.py311.nbi")
    cache.save(("sig",), "compiled")
    assert [path for path in stale if path.exists()] == []
    assert all(path.exists() for path in kept) and outside.exists() and (root / "link").is_symlink()
    assert _numba_cache.sweep(tmp_path / "elsewhere", "x.f-1.py311", set()) == []  # not tsae's cache folder


def test_reading_a_kernel_marks_its_index_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = _cache_file()
    cache.save(("sig",), "compiled")
    index = Path(cache._index_path)
    os.utime(index, (time.time() - 20 * DAY, time.time() - 20 * DAY))
    assert cache.load(("sig",)) == "compiled"
    assert time.time() - index.stat().st_mtime < HOUR
