"""The few engine functions the model pipelines use, imported from :mod:`tsae.engine`.

Kept in one place so the pipelines have one seam to the engine (framing,
overlap-add, missing-value repair, normalisation).
"""
from __future__ import annotations

from typing import Any

import numpy as np


def frame(x: np.ndarray, length: int, hop: int, window: Any = None, *, pad: bool = False) -> np.ndarray:
    """``(..., n) -> (..., n_frames, length)`` float32 (see :func:`tsae.engine.framing.frame`)."""
    from tsae.engine.framing import frame as engine_frame

    return np.asarray(engine_frame(x, length, hop, window, pad=pad))


def overlap_add(frames: np.ndarray, hop: int, window: Any = None, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`frame` (see :func:`tsae.engine.framing.overlap_add`)."""
    from tsae.engine.framing import overlap_add as engine_ola

    return np.asarray(engine_ola(frames, hop, window, length=length))


def repair_missing(x: np.ndarray, method: str = "linear") -> np.ndarray:
    """Fill NaN runs per channel (see :func:`tsae.engine.preprocess.repair_missing`)."""
    from tsae.engine.preprocess import repair_missing as engine_repair

    return np.asarray(engine_repair(x, method=method), dtype=np.float64)


def make_normalizer(kind: str) -> Any:
    from tsae.engine.preprocess import Normalizer

    return Normalizer(kind)


def normalizer_from_dict(data: dict[str, Any]) -> Any:
    from tsae.engine.preprocess import Normalizer

    return Normalizer.from_dict(data)
