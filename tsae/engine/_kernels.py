"""Numba kernels of the signal engine.

Private: the checked wrappers in :mod:`tsae.engine.framing`,
:mod:`tsae.engine.streaming` and :mod:`tsae.engine.preprocess` validate their
arguments, flatten leading dimensions to rows and allocate outputs; the kernels
assume all of that and only compute. Nothing here runs at import time (but numba's
thread pool starting: :mod:`tsae.engine._numba_pool`): numba
compiles a kernel on its first call (and caches it on disk, ``cache=True``, in a
user cache folder: see :mod:`tsae.engine._numba_cache`).

The streaming classes call the same kernels as the batch functions on a window of
the data, so every output sample goes through exactly the same floating-point
operations in the same order, and streaming output equals batch output bit for bit.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from tsae.engine import _numba_cache, _numba_pool

_numba_cache.install()  # before the decorators below: numba picks a kernel's cache folder there
_numba_pool.start()  # its OpenMP pool started here, where a caller's torch thread count is kept

# Overlap-add parallel tasks cover about this many output samples each: large
# enough that a task's scratch allocation is negligible, small enough to balance.
_OLA_TASK_SAMPLES = 16384
# Framing parallel tasks cover this many frames each.
_FRAME_BLOCK = 32


@njit(parallel=True, cache=True, nogil=True)
def frame_rows(x, start, hop, window, out):  # pragma: no cover - compiled
    """Fill ``out[r, f, j] = float32(x[r, start + f*hop + j]) * window[j]``.

    ``x`` is ``(rows, n)``, ``out`` is ``(rows, n_frames, length)`` float32. Indices
    outside ``[0, n)`` read as zero, which is how tail padding and constant
    centring are done without copying the signal. The write of ``out`` is the
    whole cost, so the window multiply rides along with it for free. An empty
    ``window`` is none (x * 1 is exact): a rectangular window of a frame's length
    is never made.
    """
    rows, n = x.shape
    n_frames = out.shape[1]
    length = out.shape[2]
    plain = window.shape[0] == 0
    blocks = (n_frames + _FRAME_BLOCK - 1) // _FRAME_BLOCK
    for t in prange(rows * blocks):
        r = t // blocks
        b = t - r * blocks
        for f in range(b * _FRAME_BLOCK, min(n_frames, (b + 1) * _FRAME_BLOCK)):
            s = start + f * hop
            dst = out[r, f]
            if s >= 0 and s + length <= n:
                # slices first: plain unit-stride loops vectorise, index arithmetic does not
                src = x[r, s:s + length]
                if plain:
                    for j in range(length):
                        dst[j] = np.float32(src[j])
                else:
                    for j in range(length):
                        dst[j] = np.float32(src[j]) * window[j]
            else:
                for j in range(length):
                    i = s + j
                    v = np.float32(x[r, i]) if i >= 0 and i < n else np.float32(0.0)
                    dst[j] = v if plain else v * window[j]


@njit(parallel=True, cache=True, nogil=True)
def overlap_add_rows(frames, hop, window, wsq, out, out_start):  # pragma: no cover - compiled
    """Weighted overlap-add of ``frames`` ``(rows, n_frames, length)`` into ``out``.

    Frame ``f`` starts at sample ``f * hop``; ``out[r, i]`` is sample ``out_start + i``:

        out = sum_f frames[f] * window / sum_f window**2   (0 where the sum is 0)

    Each task owns a run of hop-sized output segments and gathers from the frames
    covering them (at most ``ceil(length / hop)``), so there are no write races and
    every sample adds its frames in increasing frame order.
    """
    rows, n_frames, length = frames.shape
    m = out.shape[1]
    if m == 0 or rows == 0:
        return
    seg_lo = out_start // hop
    seg_hi = (out_start + m - 1) // hop + 1
    n_seg = seg_hi - seg_lo
    per_task = max(1, _OLA_TASK_SAMPLES // hop)
    tasks_per_row = (n_seg + per_task - 1) // per_task
    for t in prange(rows * tasks_per_row):
        r = t // tasks_per_row
        task = t - r * tasks_per_row
        acc = np.empty(hop, dtype=np.float32)
        nrm = np.empty(hop, dtype=np.float32)
        k_end = min(seg_lo + (task + 1) * per_task, seg_hi)
        for k in range(seg_lo + task * per_task, k_end):
            p = max(k * hop, out_start)
            q = min((k + 1) * hop, out_start + m)
            count = q - p
            acc[:count] = 0.0
            nrm[:count] = 0.0
            if p - length + 1 <= 0:
                f_lo = 0
            else:
                f_lo = (p - length + hop) // hop
            f_hi = min(n_frames - 1, (q - 1) // hop)
            for f in range(f_lo, f_hi + 1):
                # slices first: plain unit-stride loops vectorise, index arithmetic does not
                o0 = p - f * hop
                c = min(count, length - o0)
                src = frames[r, f, o0:o0 + c]
                win = window[o0:o0 + c]
                sq = wsq[o0:o0 + c]
                for i in range(c):
                    acc[i] += np.float32(src[i]) * win[i]
                for i in range(c):
                    nrm[i] += sq[i]
            dst = out[r, p - out_start:q - out_start]
            for i in range(count):
                if nrm[i] > 0.0:
                    dst[i] = acc[i] / nrm[i]
                else:
                    dst[i] = 0.0


@njit(parallel=True, cache=True, nogil=True)
def repair_rows(x, method, max_gap):  # pragma: no cover - compiled
    """Fill non-finite runs of each row of ``x`` ``(rows, n)`` in place.

    ``method``: 0 linear, 1 forward fill, 2 zero. Leading and trailing runs take the
    nearest finite value (zero for method 2); rows with no finite value become zeros.
    Runs longer than ``max_gap`` (when ``max_gap >= 0``) are left as NaN.
    """
    rows, n = x.shape
    for r in prange(rows):
        i = 0
        prev = -1  # index of the last finite sample before the current run
        while i < n:
            if np.isfinite(x[r, i]):
                prev = i
                i += 1
                continue
            start = i
            while i < n and not np.isfinite(x[r, i]):
                i += 1
            run = i - start
            if max_gap >= 0 and run > max_gap:
                for j in range(start, i):
                    x[r, j] = np.nan
                continue
            if method == 2 or (prev < 0 and i >= n):
                for j in range(start, i):
                    x[r, j] = 0.0
            elif prev < 0:
                for j in range(start, i):
                    x[r, j] = x[r, i]
            elif i >= n or method == 1:
                for j in range(start, i):
                    x[r, j] = x[r, prev]
            else:
                left = x[r, prev]
                slope = (x[r, i] - left) / (i - prev)
                for j in range(start, i):
                    x[r, j] = left + slope * (j - prev)


@njit(cache=True, nogil=True)
def polyphase_rows(x, taps, first, up, down, centre, out):  # pragma: no cover - compiled
    """Fill ``out[r, j]`` with output sample ``first + j`` of the rational resampler ``up / down``.

    ``x`` is ``(rows, n)`` float32 input whose column 0 is the input sample
    ``(first * down + centre) // up - (k - 1)`` (the caller keeps that history); ``taps`` is ``(up, k)``,
    phase ``p``'s taps in time order. Output ``i`` sits at ``i * down + centre`` on the grid of ``up`` times
    the input rate: its newest input is ``(i * down + centre) // up`` and its phase the remainder. Each sample
    is a float64 sum over its ``k`` products, oldest first, whatever the chunking. Outputs ``up`` apart share a
    phase and stand ``down`` inputs apart: they are summed side by side (a loop that vectorises).
    """
    rows = x.shape[0]
    k = taps.shape[1]
    m = out.shape[1]
    origin = (first * down + centre) // up - (k - 1)
    acc = np.empty(m)
    for r in range(rows):
        for g in range(min(up, m)):
            t = (first + g) * down + centre
            newest = t // up
            phase = t - newest * up
            base = newest - (k - 1) - origin
            count = (m - g + up - 1) // up
            if count == 1:  # one output of this phase (44.1 kHz's 160 phases in a 10 ms chunk): a plain dot product
                total = 0.0
                for i in range(k):
                    total += taps[phase, i] * x[r, base + i]
                out[r, g] = total
                continue
            for q in range(count):
                acc[q] = 0.0
            for i in range(k):
                c = taps[phase, i]
                for q in range(count):
                    acc[q] += c * x[r, base + i + q * down]
            for q in range(count):
                out[r, g + q * up] = acc[q]
