"""Numba kernel of the compressor: the sequential decoding of the linear predictor (see :mod:`.residual`)."""
from __future__ import annotations

from numba import njit

from tsae.engine import _numba_cache

_numba_cache.install()  # before the decorator: numba picks the kernel's cache folder there


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


@njit(cache=True)
def taps_quantise(fine, coef, shift, quantum, stored, out):  # pragma: no cover - compiled
    """The encoder of :func:`taps_decode` in the loop: ``stored[t]`` is ``fine[t]`` minus the prediction from
    ``out``'s past, rounded to a multiple of ``quantum`` (odd) and divided by it; ``out[t]`` the prediction plus
    ``stored[t] * quantum``, within ``quantum // 2`` of ``fine[t]`` (int64 only)."""
    half = 1 << (shift - 1)
    order = coef.shape[0]
    centre = quantum // 2
    for t in range(fine.shape[0]):
        acc = half
        for j in range(min(order, t)):
            acc += coef[j] * out[t - 1 - j]
        prediction = acc >> shift
        k = (fine[t] - prediction + centre) // quantum
        stored[t] = k
        out[t] = prediction + k * quantum
