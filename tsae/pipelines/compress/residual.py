"""How each channel's grid values are coded in a block: against the model's prediction, or by first differences.

For each channel of a block the coder keeps whichever of three integer streams codes
to the fewest bytes: ``MODEL`` the residual ``q - p`` (grid values minus the
grid values of the model's prediction), ``MODEL_DELTA`` its first difference (a
prediction off by a slowly drifting amount), or ``DELTA`` the first difference of the
grid values themselves (a random walk no window model predicts; the "Lorenzo"
predictor of SZ). The choice is stored per channel, so a block is never coded worse
than by plain differencing, and mostly much better where the model fits. When no
channel uses the model, the block leaves its codes out.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

MODEL, MODEL_DELTA, DELTA = 0, 1, 2


def _delta(a: np.ndarray) -> np.ndarray:
    return np.diff(a, axis=-1, prepend=0)


def code_residual(q: np.ndarray, p: np.ndarray, cost: Callable[[np.ndarray], int],
                  codes_cost: int) -> tuple[np.ndarray, np.ndarray]:
    """The integer stream to store for grid values ``q`` and predicted grid values ``p`` (C, m), and the modes (C,).

    ``cost(stream)`` is the coded size of one channel's stream; the cheapest mode wins
    in each channel, unless ``DELTA`` everywhere (no codes to store) costs less than the
    best modes plus ``codes_cost``.
    """
    residual = q - p
    streams = (residual, _delta(residual), _delta(q))
    costs = np.array([[cost(s[c]) for s in streams] for c in range(q.shape[0])]).reshape(q.shape[0], len(streams))
    modes = np.argmin(costs, axis=1).astype(np.int64)
    if costs[:, DELTA].sum() <= costs.min(axis=1).sum() + codes_cost:
        modes[:] = DELTA
    return np.stack([streams[mode][c] for c, mode in enumerate(modes)]), modes


def decode_residual(stored: np.ndarray, modes: np.ndarray, p: np.ndarray | None) -> np.ndarray:
    """Grid values ``q`` (C, m) from the stored stream, the per-channel modes and the predicted grid values ``p``.

    ``p`` may be None when every mode is ``DELTA`` (the block has no codes).
    """
    if p is None and (modes != DELTA).any():
        raise ValueError("block has no codes but a channel needs the model's prediction")
    if (p is not None and stored.shape != p.shape) or modes.shape != (stored.shape[0],) \
            or not np.isin(modes, (MODEL, MODEL_DELTA, DELTA)).all():
        raise ValueError("residual does not fit the block")
    q = np.empty_like(stored)
    for c, mode in enumerate(modes):
        if mode == DELTA:
            q[c] = np.cumsum(stored[c])
        else:
            assert p is not None
            q[c] = p[c] + (stored[c] if mode == MODEL else np.cumsum(stored[c]))
    return q


__all__ = ["code_residual", "decode_residual", "MODEL", "MODEL_DELTA", "DELTA"]
