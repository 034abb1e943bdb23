"""Numba kernels of the gap filler (:mod:`tsae.pipelines.smooth.imputer`).

Private: the imputer shapes and allocates, the kernels only compute, each value through the
floating-point operations numpy's vectorised form did, in the same order (the fills, and the
plans chosen on them, are the same to the last bit). Imported on first use, so importing the imputer does
not load numba; compiled on the first call and cached on disk (:mod:`tsae.engine._numba_cache`).
"""
from __future__ import annotations

from numba import njit

from tsae.engine import _numba_cache

_numba_cache.install()  # before the decorators below: numba picks a kernel's cache folder there


@njit(cache=True, nogil=True)
def lagged_gram(z, first, mean, windows, out):  # pragma: no cover - compiled
    """``out``: the covariance (unnormalised, ``(L, L)``) of the ``windows`` windows of ``L`` samples of ``z``.

    ``first[d]`` is its uncentred Gram matrix's entry ``[0, d]``, ``mean`` the windows' mean. Each diagonal of
    the Gram matrix runs from its first entry by one sample leaving the windows and one joining, summed in
    order along the diagonal (as ``np.cumsum`` over the lags did), and ``windows * mean[i] * mean[j]`` is taken
    off; both triangles are written.
    """
    L = out.shape[0]
    for d in range(L):
        out[0, d] = first[d] - windows * (mean[0] * mean[d])
        out[d, 0] = out[0, d]
        acc = 0.0
        for k in range(L - 1 - d):
            acc += z[k + windows] * z[k + windows + d] - z[k] * z[k + d]
            value = first[d] + acc
            i, j = k + 1, k + 1 + d
            out[i, j] = value - windows * (mean[i] * mean[j])
            out[j, i] = out[i, j]


@njit(cache=True, nogil=True)
def add_neighbour_steps(decoded, targets, idx, lo, hi, taps, step, edge):  # pragma: no cover - compiled
    """``decoded[i] += sum(taps[idx[j] - targets[i] + edge] * step[j] for j in range(lo[i], hi[i]))``: what the steps
    of the missing samples ``idx`` within a window of ``targets[i]`` add to its reconstruction, summed in
    ``j``'s order (as ``np.bincount`` over the pairs did)."""
    for i in range(targets.shape[0]):
        acc = 0.0
        base = targets[i] - edge
        for j in range(lo[i], hi[i]):
            acc += taps[idx[j] - base] * step[j]
        decoded[i] += acc
