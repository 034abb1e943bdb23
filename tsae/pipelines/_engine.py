"""The engine calls the model pipelines make, with the float types they expect.

Training and reconstruction frame float32 windows and keep repaired and
normalised series in float64; these adapters fix those conventions in one place.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tsae.engine.framing import frame as _frame
from tsae.engine.framing import overlap_add as _overlap_add
from tsae.engine.framing import window_array
from tsae.engine.preprocess import Normalizer
from tsae.engine.preprocess import repair_missing as _repair_missing

__all__ = ["frame", "overlap_add", "repair_missing", "window_array", "make_normalizer", "normalizer_from_dict"]


def frame(x: np.ndarray, length: int, hop: int, window: Any = None, *, pad: bool = False) -> np.ndarray:
    """``(..., n) -> (..., n_frames, length)`` float32 (see :func:`tsae.engine.framing.frame`)."""
    return np.asarray(_frame(x, length, hop, window, pad=pad))


def overlap_add(frames: np.ndarray, hop: int, window: Any = None, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`frame` (see :func:`tsae.engine.framing.overlap_add`)."""
    return np.asarray(_overlap_add(frames, hop, window, length=length))


def repair_missing(x: np.ndarray, method: str = "linear") -> np.ndarray:
    """Fill NaN runs per channel, as float64 (see :func:`tsae.engine.preprocess.repair_missing`)."""
    return np.asarray(_repair_missing(x, method=method), dtype=np.float64)


def make_normalizer(kind: str) -> Normalizer:
    """A fresh, unfitted ``Normalizer(kind)``."""
    return Normalizer(kind)


def normalizer_from_dict(data: dict[str, Any]) -> Normalizer:
    """Rebuild a normaliser stored in a model file."""
    return Normalizer.from_dict(data)
