"""Numba kernels of the anomaly scoring core (:mod:`tsae.pipelines.anomaly.scoring`).

Private: the scoring classes shape and allocate, the kernels only compute, each output
value through the same floating-point operations in the same order whatever the block of
frames or rows it is computed in (however a stream is cut into blocks).
Imported on first use, so importing the scoring module does not load numba; compiled on
the first call and cached on disk (:mod:`tsae.engine._numba_cache`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from tsae.engine import _numba_cache

_numba_cache.install()  # before the decorators below: numba picks a kernel's cache folder there


@njit(cache=True, nogil=True, error_model="numpy")
def window_stats(frames, out):  # pragma: no cover - compiled
    """``out[f, c]`` = the mean, log(std + 1e-3) and log(mean |first difference| + 1e-3) of ``frames[f, :, c]``.

    ``frames`` is ``(F, L, C)``, ``out`` ``(F, C, 3)``. Each sum runs over the window in order, as
    numpy's reductions over that axis do (``frames.mean(axis=1)``, ``frames.std(axis=1)``): the
    same values, but one pass over the frames and no ``(F, L, C)`` temporaries.
    """
    n_frames, length, channels = frames.shape
    total = np.empty(channels)
    for f in range(n_frames):
        frame = frames[f]
        total[:] = frame[0]
        for j in range(1, length):
            for c in range(channels):
                total[c] += frame[j, c]
        for c in range(channels):
            mean = total[c] / length
            squares = 0.0
            steps = 0.0
            for j in range(length):
                d = frame[j, c] - mean
                squares += d * d
            for j in range(1, length):
                steps += abs(frame[j, c] - frame[j - 1, c])
            out[f, c, 0] = mean
            out[f, c, 1] = np.log(np.sqrt(squares / length) + 1e-3)
            out[f, c, 2] = np.log(steps / (length - 1) + 1e-3)


@njit(cache=True, nogil=True)
def overlap_add(acc, cnt, rel, errors):  # pragma: no cover - compiled
    """Add each frame's errors ``errors[i]`` ``(L, C)`` to rows ``rel[i]:rel[i] + L`` of ``acc``, and 1 to ``cnt``
    there, frame after frame (a row adds its frames in their order, however the frames are grouped)."""
    n_frames, length, channels = errors.shape
    for i in range(n_frames):
        r = rel[i]
        for j in range(length):
            for c in range(channels):
                acc[r + j, c] += errors[i, j, c]
            cnt[r + j] += 1.0


@njit(cache=True, nogil=True)
def overlap_add_values(acc, cnt, rel, values, length):  # pragma: no cover - compiled
    """:func:`overlap_add` of frames whose errors are one value per sensor, ``values[i]`` ``(C,)``, over all their
    ``length`` rows: the same sums (a row adds its frames in their order) without the ``(F, L, C)`` array."""
    n_frames, channels = values.shape
    for i in range(n_frames):
        r = rel[i]
        for j in range(length):
            for c in range(channels):
                acc[r + j, c] += values[i, c]
            cnt[r + j] += 1.0


@njit(cache=True, nogil=True)
def add_weighted_squares(errors, a, b, weight, scale):  # pragma: no cover - compiled
    """``errors[f, j, c] += (a[f, c, j] - b[f, c, j]) ** 2 * weight / scale[c]``, in that order of operations.

    ``errors`` is ``(F, L, C)`` (time first, the frames' layout), ``a`` and ``b`` are ``(F, C, L)`` (the network's
    and the subspace's layout): a term's weighted, normalised squared error added in one pass, without the
    temporaries (and the transposed reads) of numpy's whole-array steps, and with their values.
    """
    n_frames, length, channels = errors.shape
    for f in range(n_frames):
        for c in range(channels):
            s = scale[c]
            for j in range(length):
                d = a[f, c, j] - b[f, c, j]
                errors[f, j, c] += d * d * weight / s


@njit(cache=True, nogil=True)
def add_subspace_squares(errors, frames, mean, components, components_t, weight, scale):  # pragma: no cover
    """``errors[f, j, c] += (x - x P) ** 2 * weight / scale[c]`` at ``x[c * L + j]``, for each frame's flattened
    ``x = frames[f].T - mean`` and ``P = components.T @ components`` (the subspace term's residual).

    ``frames`` and ``errors`` are ``(F, L, C)``, ``mean`` ``(C * L,)``, ``components`` ``(k, C * L)`` and
    ``components_t`` its transpose, contiguous. Each frame is projected on its own, every coordinate summed in a
    fixed order (over the window's values, then over the components): a frame's errors are the same bits however
    many frames come with it. BLAS's products (``(x @ components.T) @ components``) were not: their rounding
    depends on the number of frames in the call, so the monitor's scores differed from batch in the last bits.
    """
    n_frames, length, channels = frames.shape
    rank = components.shape[0]
    dims = channels * length
    x = np.empty(dims)
    proj = np.empty(rank)
    recon = np.empty(dims)
    for f in range(n_frames):
        for c in range(channels):
            for j in range(length):
                x[c * length + j] = frames[f, j, c] - mean[c * length + j]
        proj[:] = 0.0
        for d in range(dims):
            xd = x[d]
            for k in range(rank):
                proj[k] += xd * components_t[d, k]
        recon[:] = 0.0
        for k in range(rank):
            p = proj[k]
            for d in range(dims):
                recon[d] += p * components[k, d]
        for c in range(channels):
            s = scale[c]
            for j in range(length):
                d = x[c * length + j] - recon[c * length + j]
                errors[f, j, c] += d * d * weight / s


@njit(cache=True, nogil=True)
def row_products(a, b, out):  # pragma: no cover - compiled
    """``out[i] = a[i] @ b`` for each row ``i`` of ``a`` ``(n, m)``, ``b`` ``(m, p)``: each value summed over ``m``
    in order, the same bits however many rows come together (BLAS's are not)."""
    n, m = a.shape
    for i in range(n):
        out[i, :] = 0.0
        for k in range(m):
            v = a[i, k]
            for j in range(b.shape[1]):
                out[i, j] += v * b[k, j]


def warm() -> None:
    """Load every kernel now (compiled on the first run, then from the disk cache), on arrays of the types the
    scoring core passes: a monitor's first samples then do not wait half a second for numba."""
    overlap_add(np.zeros((1, 1)), np.zeros(1), np.zeros(1, np.int64), np.zeros((1, 1, 1)))
    overlap_add_values(np.zeros((1, 1)), np.zeros(1), np.zeros(1, np.int64), np.zeros((1, 1)), 1)
    window_stats(np.zeros((1, 2, 1)), np.zeros((1, 1, 3)))
    add_weighted_squares(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), 1.0, np.ones(1))
    add_subspace_squares(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), np.zeros(1), np.zeros((1, 1)), np.zeros((1, 1)),
                         1.0, np.ones(1))
