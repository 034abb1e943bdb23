"""Where numba caches tsae's compiled kernels: a user cache folder, never the package.

numba's default for ``cache=True`` is a ``__pycache__`` folder beside the source,
that is inside an installed ``site-packages/tsae``. ``pip uninstall`` does not know
those files, so the folder survives; a later editable install then finds the leftover
``tsae`` folder first (as a namespace package) and ``tsae --help`` fails with
"cannot import name '__version__'". tsae's kernels (and those of the built-in
plugins, ``tsae_plugins``, which register their folder with :func:`install`) are therefore cached in
``$XDG_CACHE_HOME/tsae/numba`` (``~/.cache/tsae/numba``; ``%LOCALAPPDATA%\\tsae\\numba``
on Windows). A ``NUMBA_CACHE_DIR`` set by the user still wins, and other numba users
in the same process are not affected (the environment is not touched).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import time
import warnings
from pathlib import Path
from typing import Any

from numba.core import caching

from tsae._cache_home import cache_home
from tsae.engine._numba_blas import defer_blas_check

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: source folders whose kernels go to :func:`cache_dir` (tsae, and those added by :func:`install`)
_SOURCE_DIRS: list[Path] = [_PACKAGE_DIR]


def cache_dir() -> Path:
    """Return the folder tsae's numba kernels are cached in (not created here)."""
    return cache_home() / "numba"


def _numba_class(name: str) -> Any:
    """numba's caching class ``name`` (older numba releases spell it with a leading underscore)."""
    return getattr(caching, name, None) or getattr(caching, f"_{name}")


_Impl = _numba_class("CacheImpl")


#: the folders tsae's locators cache kernels in: their files are read by :class:`TsaeCacheFile`
_OWN_FOLDERS: set[str] = set()


class TsaeCacheLocator(_numba_class("UserWideCacheLocator")):  # type: ignore[misc]
    """numba's user-wide locator, for tsae's own source files only, in :func:`cache_dir`."""

    def __init__(self, py_func: Any, py_file: str) -> None:
        super().__init__(py_func, py_file)
        self._cache_path = str(self.folder() / self.get_suitable_cache_subpath(py_file))
        _OWN_FOLDERS.add(self._cache_path)

    @staticmethod
    def folder() -> Path:
        """The folder this locator caches in."""
        return cache_dir()

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        source = Path(py_file).resolve()
        if not any(source.is_relative_to(folder) for folder in _SOURCE_DIRS):
            return None
        return super().from_function(py_func, py_file)


class PrivateTempLocator(TsaeCacheLocator):
    """For tsae's kernels when the user cache folder cannot be written: a private folder of this process, removed
    at exit, tried before numba's own locators.

    With the user cache folder and the installed package both read-only (a service
    account without a home, a read-only image), numba found no locator and every command
    failed ("cannot cache function ... no locator available"); with the package writable
    (a venv of the user's), numba's next locator put the kernels in its ``__pycache__``,
    which ``pip uninstall`` leaves behind. Here the kernels compile on each run instead,
    said once in a warning; the folder is made by :func:`tempfile.mkdtemp` (mode 0700), so
    no other user can put cached code in it.
    """

    @staticmethod
    def folder() -> Path:
        return _private_dir()


_PRIVATE: list[Path] = []

_NumbaCacheFile: Any = caching.IndexDataCacheFile


class TsaeCacheFile(_NumbaCacheFile):
    """numba's index (``.nbi``) and code (``.nbc``) files of a kernel, in a folder of tsae's locators.

    A damaged file (cut short by a crash or a full disk after its rename, a bad copy) is a
    cache miss here: the kernel compiles again and the file is rewritten. numba raises the
    unpickling error instead, and every later command failed until the cache was removed
    by hand.

    A code file is named after its signature, not numbered: numba takes the first number
    its index does not use, so two processes compiling one kernel for two signatures at
    once (the cache was empty) both wrote code file 1, the index of one and the code of the
    other won, and that signature failed in every later run ("can't unbox array"). Here the
    code is written before the index that names it, and a code file holds only its own
    signature's code; at worst one process's index entry is lost, and compiled again. A
    code file of another signature (an older cache) is a miss too.

    Writing a kernel's code sweeps stale files out of tsae's cache (:func:`sweep`); reading a kernel records, in
    its index file's modification time, that it is still used (at most once a day).

    Files in other folders (other numba users') are read and written as numba does.
    """

    def __init__(self, cache_path: str, filename_base: str, source_stamp: Any) -> None:
        super().__init__(cache_path=cache_path, filename_base=filename_base, source_stamp=source_stamp)
        self._ours = cache_path in _OWN_FOLDERS

    def _load_index(self) -> dict:
        if not self._ours:
            return super()._load_index()
        try:
            return super()._load_index()
        except Exception:  # noqa: BLE001 - a damaged pickle raises any of several types (EOFError, UnpicklingError..)
            return {}

    def _load_data(self, name: str) -> Any:
        if not self._ours:
            return super()._load_data(name)
        try:
            return super()._load_data(name)
        except Exception:  # noqa: BLE001 - as in _load_index; None is a miss
            return None

    def load(self, key: Any) -> Any:
        data = super().load(key)
        if self._ours and not _holds(data, key):
            return None
        if self._ours and data is not None:
            _mark_used(Path(self._index_path))
        return data

    def save(self, key: Any, data: Any) -> None:
        if not self._ours:
            return super().save(key, data)
        base = self._index_name.removesuffix(".nbi")
        digest = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:20]
        name = f"{base}.{digest}.nbc"
        self._save_data(name, data)
        overloads = self._load_index()  # as late as can be: another process may have added a signature
        overloads[key] = name
        self._save_index(overloads)
        sweep(Path(self._cache_path), base, set(overloads.values()))
        return None


#: a kernel whose index file was neither read nor written for this long is stale, with its code files (a kernel of an
#: older tsae, of a removed install, of a Python no longer used): :func:`sweep`
UNUSED_SECONDS = 30 * 86400
#: no file modified more recently than this is removed: a process may be between writing a kernel's code and the
#: index that names it, or writing a temporary file
GRACE_SECONDS = 3600
#: a read of a kernel is recorded in its index file's modification time at most this often
_MARK_EVERY = 86400


def _mark_used(index: Path) -> None:
    """Record that the kernel of ``index`` was read (its modification time, which numba never reads)."""
    with contextlib.suppress(OSError):
        if time.time() - index.stat().st_mtime > _MARK_EVERY:
            os.utime(index)


def sweep(folder: Path, base: str, current: set[str], now: float | None = None) -> list[Path]:
    """Remove the stale files of tsae's numba cache, after kernel ``base``'s index in ``folder`` was written naming
    the code files ``current``; return those removed.

    A file is stale when it was modified more than :data:`GRACE_SECONDS` ago and it is

    - a code file of kernel ``base`` (in ``folder``) that its index no longer names: superseded (code of an older
      tsae or numba, numbered as numba names it, a signature an older source compiled). Every process running that
      kernel under this Python reads this one index, so none can reach that file through it any more;
    - in any folder of :func:`cache_dir` (other installs of tsae, other Pythons): an index file neither read nor
      written for :data:`UNUSED_SECONDS` (a read marks it at most once a day), with its code files; a code file
      without an index; a temporary file numba left (``*.tmp.*``, a writer that was killed).

    Never removed: a file modified within the grace (a process may be writing it, or about to write the index that
    names it), the code files an index that is in use names, folders, links and other files. A process that read an
    index just before the file it names was removed finds no code file: a cache miss, and the kernel compiles again
    (:meth:`TsaeCacheFile._load_data`), never an error; a file a process has open stays readable to it where an open
    file can be removed (POSIX); where it cannot (Windows), the removal fails and is tried at the next sweep. Nothing
    is swept outside :func:`cache_dir` (a ``NUMBA_CACHE_DIR`` of the user's, the private folder of
    :class:`PrivateTempLocator`). No error is raised: a file that cannot be removed is left.
    """
    now = time.time() if now is None else now
    root = cache_dir()
    folder = Path(folder)
    if folder.parent != root:
        return []
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        folders = [folder, *(Path(entry.path) for entry in os.scandir(root)
                             if entry.is_dir(follow_symlinks=False) and entry.name != folder.name)]
        for place in folders:
            removed += _sweep_folder(place, base if place == folder else None, current, now)
    return removed


def _sweep_folder(folder: Path, base: str | None, current: set[str], now: float) -> list[Path]:
    """:func:`sweep`'s rule in one folder; ``base``: the kernel whose index was just written there (None: none)."""
    ages: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    ages[entry.name] = now - entry.stat(follow_symlinks=False).st_mtime
    unused = {name for name, age in ages.items() if name.endswith(".nbi") and age > UNUSED_SECONDS}
    removed: list[Path] = []
    for name, age in ages.items():
        if age <= GRACE_SECONDS:
            continue
        if ".tmp." in name:  # numba writes NAME.tmp.UID, then renames it
            stale = True
        elif name.endswith(".nbi"):
            stale = name in unused
        elif name.endswith(".nbc"):
            owner = name.rsplit(".", 2)[0]  # BASE.DIGEST.nbc (BASE.N.nbc as numba numbers them)
            index = f"{owner}.nbi"
            stale = index in unused or index not in ages or (owner == base and name not in current)
        else:
            stale = False
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(folder / name)
                removed.append(folder / name)
    return removed


def _holds(data: Any, key: Any) -> bool:
    """Whether the cached ``data`` of a kernel is the code of ``key``'s signature (numba's index key
    ``(argument types, target, bytecode hashes)``; the code is ``CompileResult._reduce()``'s tuple, its
    signature fourth). Anything else is taken as it is."""
    signature = data[3] if isinstance(data, tuple) and len(data) > 3 else None
    args = getattr(signature, "args", None)
    if args is None or not isinstance(key, tuple) or not key or not isinstance(key[0], tuple):
        return True
    return tuple(args) == key[0]


def _private_dir() -> Path:
    """This process's private cache folder (made on first use, removed at exit)."""
    if not _PRIVATE:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="tsae-numba-"))
        atexit.register(shutil.rmtree, folder, True)
        _PRIVATE.append(folder)
        warnings.warn(f"cannot write the kernel cache {cache_dir()}: numba's kernels are compiled again on every run "
                      "(give XDG_CACHE_HOME or NUMBA_CACHE_DIR a writable folder)", UserWarning, stacklevel=2)
    return _PRIVATE[0]


def install(source_dir: Path | None = None) -> None:
    """Put :class:`TsaeCacheLocator` right after numba's ``NUMBA_CACHE_DIR`` locator, and
    :class:`PrivateTempLocator` right after it; numba's caches then make their files
    :class:`TsaeCacheFile`'s (which reads other folders as numba does).

    Call before the ``@njit(cache=True)`` decorators run: numba picks a function's
    locator when it is decorated. Calling it again changes nothing. ``source_dir``
    adds a folder of another installed package (the built-in plugins' kernels) whose
    kernels are cached there too, for the same reason as tsae's own.
    """
    if source_dir is not None and Path(source_dir).resolve() not in _SOURCE_DIRS:
        _SOURCE_DIRS.append(Path(source_dir).resolve())
    locators = _Impl._locator_classes
    if TsaeCacheLocator not in locators:
        locators.insert(1, TsaeCacheLocator)  # 0 is the user's NUMBA_CACHE_DIR
    if PrivateTempLocator not in locators:  # never numba's __pycache__ in the installed package
        locators.insert(locators.index(TsaeCacheLocator) + 1, PrivateTempLocator)
    caching.IndexDataCacheFile = TsaeCacheFile  # type: ignore[misc]  # the name numba's Cache.__init__ looks up
    defer_blas_check()  # before the first kernel loads numba's CPU target (which imports scipy.linalg)
