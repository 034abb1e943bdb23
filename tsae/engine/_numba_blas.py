"""Keep numba from importing ``scipy.linalg`` when it loads tsae's (BLAS-free) kernels.

The first kernel a process runs, even one read from the cache, makes numba load the
implementations of its CPU target, among them ``numba.np.arraymath``, whose module code
checks that a BLAS is there by importing ``scipy.linalg.cython_blas``. That import loads
all of ``scipy.linalg`` (and ``scipy._lib``, ``numpy.f2py`` ...): about 0.2 s of CPU in
every command, for a check whose only use (``_HAVE_BLAS``) is to pick ``np.dot``'s
implementation when a kernel using it compiles. tsae's kernels call no BLAS routine.

:func:`defer_blas_check` imports ``numba.np.arraymath`` with that check answered by
whether ``scipy`` is installed (what the import would find), without importing it.
numba's BLAS and LAPACK implementations still run the full check (``ensure_blas``, its
integer width test) when a kernel using them compiles, and the compiled code still loads
``scipy.linalg.cython_blas`` when it first calls a BLAS routine.
"""
from __future__ import annotations

import importlib.util
import sys


def _scipy_installed() -> None:
    if importlib.util.find_spec("scipy") is None:  # finds the top-level package without importing it
        raise ImportError("scipy 0.16+ is required for linear algebra")


def defer_blas_check() -> None:
    """Import ``numba.np.arraymath`` without its ``scipy.linalg`` import (once; a no-op after).

    Does nothing where ``numba.np.arraymath`` is already imported, or where numba has no
    ``numba.np.linalg.ensure_blas`` (another numba release: it imports as numba does).
    """
    if "numba.np.arraymath" in sys.modules:
        return
    from numba.np import linalg

    check = getattr(linalg, "ensure_blas", None)
    if check is None:
        return
    linalg.ensure_blas = _scipy_installed  # what arraymath's `from numba.np.linalg import ensure_blas` binds
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        linalg.ensure_blas = check
