"""Numba kernels of the compressor: the sequential decoding of the linear predictors (see :mod:`.residual`), and the
in-loop interpolation (:mod:`.inloop`)."""
from __future__ import annotations

from numba import njit

from tsae.engine import _numba_cache

_numba_cache.install()  # before the decorators: numba picks the kernels' cache folder there


@njit(cache=True)
def linear_decode(stored, p, coef, shift, out):  # pragma: no cover - compiled
    """``out[t] = stored[t] + (coef . (out[t-1], out[t-2], p[t], p[t-1]) + half) >> shift``, zeros before t = 0.

    Integer arithmetic only (int64), so the encoder's vectorised numpy form and this
    loop agree exactly on every machine.
    """
    half = 1 << (shift - 1)
    q1 = 0
    q2 = 0
    p1 = 0
    for t in range(stored.shape[0]):
        acc = coef[0] * q1 + coef[1] * q2 + coef[2] * p[t] + coef[3] * p1 + half
        value = stored[t] + (acc >> shift)
        out[t] = value
        q2 = q1
        q1 = value
        p1 = p[t]


@njit(cache=True)
def taps_decode(stored, coef, shift, out):  # pragma: no cover - compiled
    """``out[t] = stored[t] + (sum_j coef[j] out[t-1-j] + half) >> shift``, zeros before t = 0 (int64 only)."""
    half = 1 << (shift - 1)
    order = coef.shape[0]
    for t in range(stored.shape[0]):
        acc = half
        for j in range(min(order, t)):
            acc += coef[j] * out[t - 1 - j]
        out[t] = stored[t] + (acc >> shift)


@njit(cache=True, inline="always")
def _cubic(v, i, s, m):  # pragma: no cover - compiled
    """:func:`.interp._predict`'s cubic kind at position ``i`` of level ``s`` (``v`` decoded at even multiples)."""
    left = v[i - s]
    if i + s >= m:
        return left
    right = v[i + s]
    far_left, far_right = i - 3 * s >= 0, i + 3 * s < m
    if far_left and far_right:
        return (9 * (left + right) - v[i - 3 * s] - v[i + 3 * s] + 8) >> 4
    if far_right:
        return (3 * left + 6 * right - v[i + 3 * s] + 4) >> 3
    if far_left:
        return (6 * left + 3 * right - v[i - 3 * s] + 4) >> 3
    return (left + right + 1) >> 1


@njit(cache=True)
def inloop_code(fine, coef, shift, quantum, stride, encode, stored, out):  # pragma: no cover - compiled
    """The in-loop interpolation (:mod:`.inloop`) of ``m`` values: with ``encode``, ``stored`` from ``fine``, else
    from ``stored`` alone; ``out`` the decoded values. The anchors ``0, stride, 2 stride ...`` by their taps, then
    each level ``s = stride / 2 ... 1`` at the odd multiples of ``s`` by :func:`_cubic`; ``stored`` in that order.
    A residual ``k`` is ``floor((fine - prediction + quantum // 2) / quantum)``, a value ``prediction + k quantum``
    (int64 only)."""
    half = 1 << (shift - 1)
    order = coef.shape[0]
    centre = quantum // 2
    m = out.shape[0]
    n = 0
    for i in range(0, m, stride):
        acc = half
        for j in range(min(order, n)):
            acc += coef[j] * out[i - (j + 1) * stride]
        prediction = acc >> shift
        if encode:
            stored[n] = (fine[i] - prediction + centre) // quantum
        out[i] = prediction + stored[n] * quantum
        n += 1
    s = stride // 2
    while s >= 1:
        for i in range(s, m, 2 * s):
            prediction = _cubic(out, i, s, m)
            if encode:
                stored[n] = (fine[i] - prediction + centre) // quantum
            out[i] = prediction + stored[n] * quantum
            n += 1
        s //= 2
