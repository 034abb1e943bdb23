"""The in-loop interpolation predictor: SZ3's quantisation of the prediction error, on a fine integer grid.

Modes 5 and 6 (:mod:`.interp`) predict grid values from grid values: the prediction is made
from rounded neighbours and compared with a rounded value, and on a smooth signal under a
coarse bound the two roundings leave a residual of +-1 at many samples. This mode (7)
rounds once, in the prediction loop, as SZ3 does: a channel's samples are put on a fine
grid of step ``s / FINE`` (``s`` the grid step, ``FINE`` odd), ``f = round(x FINE / s)``;
each value's prediction ``p`` is computed from the already decoded fine values (the anchors
``f[0], f[4] ...`` by their taps, then levels 2 and 1 by mode 5's cubic interpolation; one numba kernel), and
the stream stores ``k = floor((f - p + (FINE - 1) / 2) / FINE)``; the decoded value
``p + k FINE`` is within ``(FINE - 1) / 2`` fine steps of ``f``, so within ``FINE / 2`` fine
steps (``s / 2``, the grid's own bound) of the sample. Integer arithmetic only after ``f``
(int64; the decoder never sees a float), so encoder and decoder agree exactly. Such a
channel's decoded values are fine-grid values: the block's CRC covers them, and the
decompressor scales them by ``s / FINE``.
"""
from __future__ import annotations

import numpy as np

from tsae.pipelines.compress.interp import STRIDE

#: fine steps per grid step (odd, so that the rounding to multiples of it is symmetric)
FINE = 255
#: the mode is offered where the channel's grid values are at most this large (the taps' sums stay in int64)
LIMIT = 1 << 28


def fine_values(x: np.ndarray, step: float) -> np.ndarray:
    """The fine-grid values (m,) int64 of one channel's finite samples ``x`` with grid step ``step``."""
    return np.rint(x / (step / FINE)).astype(np.int64)


def inloop_stream(fine: np.ndarray, taps: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """(stream, decoded fine values), both (m,) int64, of the fine values ``fine`` with the anchors' ``taps``."""
    from tsae.pipelines.compress._kernels import inloop_code

    stored, out = np.empty_like(fine), np.empty_like(fine)
    inloop_code(np.ascontiguousarray(fine), np.ascontiguousarray(taps), shift, FINE, STRIDE, True, stored, out)
    return stored, out


def inloop_decode(stored: np.ndarray, taps: np.ndarray, shift: int) -> np.ndarray:
    """The decoded fine values (m,) of :func:`inloop_stream`'s ``stored`` stream (m,)."""
    from tsae.pipelines.compress._kernels import inloop_code

    stored = np.ascontiguousarray(stored, dtype=np.int64)
    out = np.empty_like(stored)
    inloop_code(stored, np.ascontiguousarray(taps), shift, FINE, STRIDE, False, stored, out)
    return out


__all__ = ["fine_values", "inloop_stream", "inloop_decode", "FINE", "LIMIT"]
