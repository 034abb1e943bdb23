"""The non-causal predictor of the compressor: every fourth grid value by its taps, the others interpolated.

A channel's grid values ``q`` (m,) are coded in three passes: the anchors ``q[0], q[4],
q[8] ...`` as the residual of their own linear prediction of order 16 (fixed-point taps
fitted on the anchors, evaluated as the ``TAPS`` mode's), then ``q[2], q[6] ...`` (level 2)
and ``q[1], q[3] ...`` (level 1), each predicted from the already decoded values on both
sides, ``s`` and ``3 s`` away: cubic ``(-a + 9 b + 9 c - d + 8) >> 4``, or linear
``(b + c + 1) >> 1`` (:data:`LINEAR_KIND`); where one outer neighbour is past the block's
edge the cubic kind takes the quadratic through the three it has, ``(3 b + 6 c - d + 4) >> 3``
or ``(-a + 6 b + 3 c + 4) >> 3``, and where the right neighbour is missing, both kinds repeat the left.
Integer arithmetic only (int64), vectorised by level, so encoder and decoder agree exactly.
The stream is the anchors' residuals, then level 2's, then level 1's: coarse values, with larger
residuals, first, as SZ3's interpolation orders them. Anchors at stride 4 rather than one coarsest
point: an oversampled signal's coarse levels are predicted better by the anchors' taps than by
interpolation across many samples (measured on speech and sensor series).
"""
from __future__ import annotations

import numpy as np

#: the stride of the anchors, predicted by their taps
STRIDE = 4
CUBIC_KIND, LINEAR_KIND = 0, 1


def anchors(m: int) -> int:
    """How many of ``m`` values are anchors (the stream's first part)."""
    return -(-m // STRIDE)


def _levels(m: int) -> list[tuple[int, np.ndarray]]:
    """(stride ``s``, the positions that level predicts: odd multiples of ``s``), coarsest first."""
    out = []
    s = STRIDE // 2
    while s >= 1:
        out.append((s, np.arange(s, m, 2 * s)))
        s //= 2
    return out


def _predict(v: np.ndarray, at: np.ndarray, s: int, kind: int) -> np.ndarray:
    """The prediction of ``v[at]`` from ``v`` at the even multiples of ``s`` (decoded before ``at``)."""
    m = len(v)
    left = v[at - s]
    has_right = at + s < m
    right = v[np.minimum(at + s, m - 1)]
    out = np.where(has_right, (left + right + 1) >> 1, left)
    if kind == LINEAR_KIND or not len(at):
        return out
    far_left, far_right = at - 3 * s >= 0, at + 3 * s < m
    a = v[np.maximum(at - 3 * s, 0)]
    d = v[np.minimum(at + 3 * s, m - 1)]
    cubic = (9 * (left + right) - a - d + 8) >> 4
    from_right = (3 * left + 6 * right - d + 4) >> 3
    from_left = (6 * left + 3 * right - a + 4) >> 3
    out = np.where(has_right & ~far_left & far_right, from_right, out)
    out = np.where(has_right & far_left & ~far_right, from_left, out)
    return np.where(has_right & far_left & far_right, cubic, out)


def interp_residual(q: np.ndarray, anchor_residual: np.ndarray, kind: int) -> np.ndarray:
    """The stream (m,) of grid values ``q`` (m,): ``anchor_residual`` (the residual of ``q[::STRIDE]``, see
    :func:`anchors`), then each level's ``q`` minus its prediction."""
    parts = [anchor_residual]
    for s, at in _levels(len(q)):
        parts.append(q[at] - _predict(q, at, s, kind))
    return np.concatenate(parts)


def interp_decode(stored: np.ndarray, anchor_values: np.ndarray, kind: int) -> np.ndarray:
    """Grid values (m,) from the stream ``stored`` (m,) and the decoded anchors (``q[::STRIDE]``)."""
    q = np.zeros_like(stored)  # zeros, not garbage, where a prediction reads past what is decoded (and discards it)
    q[::STRIDE] = anchor_values
    start = len(anchor_values)
    for s, at in _levels(len(q)):
        q[at] = stored[start:start + len(at)] + _predict(q, at, s, kind)
        start += len(at)
    return q


__all__ = ["interp_residual", "interp_decode", "anchors", "STRIDE", "CUBIC_KIND", "LINEAR_KIND"]
