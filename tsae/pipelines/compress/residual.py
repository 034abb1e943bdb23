"""How each channel's grid values are coded in a block: against the model's prediction, or by first differences.

For each channel of a block the coder keeps whichever of three integer streams has
the smallest empirical entropy: ``MODEL`` the residual ``q - p`` (grid values minus the
grid values of the model's prediction), ``MODEL_DELTA`` its first difference (a
prediction off by a slowly drifting amount), or ``DELTA`` the first difference of the
grid values themselves (a random walk no window model predicts; the "Lorenzo"
predictor of SZ). The choice is stored per channel, so a block is never coded worse
than by plain differencing, and mostly much better where the model fits.
"""
from __future__ import annotations

import numpy as np

MODEL, MODEL_DELTA, DELTA = 0, 1, 2


def _delta(a: np.ndarray) -> np.ndarray:
    return np.diff(a, axis=-1, prepend=0)


def _entropy_bits(a: np.ndarray) -> float:
    _, counts = np.unique(a, return_counts=True)
    share = counts / a.size
    return float(-(counts * np.log2(share)).sum())


def code_residual(q: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integer stream to store for grid values ``q`` and predicted grid values ``p`` (C, m), and the modes (C,)."""
    residual = q - p
    streams = (residual, _delta(residual), _delta(q))
    if q.shape[1] == 0:
        return residual, np.zeros(q.shape[0], dtype=np.int64)
    modes = np.array([int(np.argmin([_entropy_bits(s[c]) for s in streams])) for c in range(q.shape[0])],
                     dtype=np.int64)
    return np.stack([streams[mode][c] for c, mode in enumerate(modes)]), modes


def decode_residual(stored: np.ndarray, modes: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Grid values ``q`` (C, m) from the stored stream, the per-channel modes and the predicted grid values ``p``."""
    if stored.shape != p.shape or modes.shape != (p.shape[0],) or not np.isin(modes, (MODEL, MODEL_DELTA, DELTA)).all():
        raise ValueError("residual does not fit the block")
    q = np.empty_like(p)
    for c, mode in enumerate(modes):
        if mode == MODEL:
            q[c] = p[c] + stored[c]
        elif mode == MODEL_DELTA:
            q[c] = p[c] + np.cumsum(stored[c])
        else:
            q[c] = np.cumsum(stored[c])
    return q


__all__ = ["code_residual", "decode_residual", "MODEL", "MODEL_DELTA", "DELTA"]
