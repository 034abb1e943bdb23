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

