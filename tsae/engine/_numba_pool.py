"""Start numba's thread pool without moving a caller's torch thread count.

numba's OpenMP layer sets the starting thread's OpenMP thread count to its own pool size
(the machine's cores) when its pool starts, at the first parallel kernel: a caller's
``torch.set_num_threads(1)`` read back 2, or 64, after ``tsae.frame`` or ``tsae.denoise``;
and torch imported after that kernel shares numba's OpenMP library, so it started on every
core whatever ``OMP_NUM_THREADS`` said.
"""
from __future__ import annotations

import ctypes
import importlib
import sys

from tsae._lazy import if_imported

_started = False


def start() -> None:
    """Start the pool now (once), and give OpenMP (and torch, when loaded) back the thread count it had."""
    global _started
    if _started:
        return
    import numba

    get_threads = if_imported("torch", "get_num_threads")  # None while another thread still imports torch
    before = get_threads() if get_threads is not None else None
    openmp = _openmp()
    openmp_before = openmp.omp_get_max_threads() if openmp is not None else None
    numba.get_num_threads()  # starts the pool, as the first parallel kernel would
    _started = True
    if openmp is not None and numba.threading_layer() == "omp":
        openmp.omp_set_num_threads(openmp_before)  # what OMP_NUM_THREADS (or OpenMP's own default) set
    if get_threads is not None and get_threads() != before:
        sys.modules["torch"].set_num_threads(before)


def _openmp() -> ctypes.CDLL | None:
    """The OpenMP library numba's OpenMP layer runs on (loaded, not started), or None where it would not use it."""
    import numba

    if getattr(numba.config, "THREADING_LAYER", "default") not in ("default", "omp", "forksafe", "threadsafe"):
        return None
    try:
        omppool = importlib.import_module("numba.np.ufunc.omppool")
        library = ctypes.CDLL(omppool.__file__)  # its symbols are looked up in the OpenMP library it links
        library.omp_get_max_threads.restype = ctypes.c_int
        library.omp_set_num_threads.argtypes = [ctypes.c_int]
        return library
    except (ImportError, OSError, AttributeError):
        return None
