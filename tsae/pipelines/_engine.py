"""The few engine functions the model pipelines use, in one place.

They come from :mod:`tsae.engine` (framing, overlap-add, missing-value repair,
normalisation). While a piece of the engine is not installed (it is developed in
parallel), a small numpy implementation with the same contract stands in, so
training and reconstruction keep working; a normaliser saved by the stand-in is
marked (``"impl": "fallback"``) and always reloaded by it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_FALLBACK = "fallback"


def _engine_missing(error: ImportError, module: str) -> bool:
    """True when ``module`` itself is absent (not when it exists but fails to import)."""
    return isinstance(error, ModuleNotFoundError) and error.name in (module, "tsae.engine")


# ----------------------------------------------------------------------------- framing
def window_array(window: Any, length: int) -> np.ndarray | None:
    """The analysis window as float32 ``(length,)`` (a scipy window name or an array), or None."""
    if window is None:
        return None
    if isinstance(window, str):
        from scipy.signal import get_window

        return get_window(window, length, fftbins=True).astype(np.float32)
    w = np.asarray(window, dtype=np.float32)
    if w.shape != (length,):
        raise ValueError(f"window must have shape ({length},), got {w.shape}")
    return w


def _frame_fallback(x: np.ndarray, length: int, hop: int, window: Any, pad: bool) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[-1]
    if n >= length:
        count = 1 + (n - length) // hop
        if pad and (count - 1) * hop + length < n:
            count += 1
    else:
        count = 1 if pad else 0
    need = (count - 1) * hop + length if count else 0
    if need > n:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (need - n,), np.float32)], axis=-1)
    idx = np.arange(count)[:, None] * hop + np.arange(length)[None, :]
    frames = x[..., idx] if count else np.zeros(x.shape[:-1] + (0, length), np.float32)
    w = window_array(window, length)
    return frames * w if w is not None else frames


def _ola_fallback(frames: np.ndarray, hop: int, window: Any, length: int | None) -> np.ndarray:
    frames = np.asarray(frames, dtype=np.float32)
    count, size = frames.shape[-2], frames.shape[-1]
    total = (count - 1) * hop + size if count else 0
    w = window_array(window, size)
    weighted = frames * w if w is not None else frames
    out = np.zeros(frames.shape[:-2] + (total,), np.float64)
    norm = np.zeros(total, np.float64)
    wsq = (w.astype(np.float64) ** 2) if w is not None else np.ones(size)
    for i in range(count):
        out[..., i * hop : i * hop + size] += weighted[..., i, :]
        norm[i * hop : i * hop + size] += wsq
    out = np.where(norm > 1e-10, out / np.maximum(norm, 1e-10), 0.0)
    if length is not None:
        if length > total:
            out = np.concatenate([out, np.zeros(out.shape[:-1] + (length - total,))], axis=-1)
        out = out[..., :length]
    return out.astype(np.float32)


def frame(x: np.ndarray, length: int, hop: int, window: Any = None, *, pad: bool = False) -> np.ndarray:
    """``(..., n) -> (..., n_frames, length)`` float32 (see :func:`tsae.engine.framing.frame`)."""
    try:
        from tsae.engine.framing import frame as engine_frame
    except ImportError as error:
        if not _engine_missing(error, "tsae.engine.framing"):
            raise
        return _frame_fallback(x, length, hop, window, pad)
    return np.asarray(engine_frame(x, length, hop, window, pad=pad))


def overlap_add(frames: np.ndarray, hop: int, window: Any = None, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`frame` (see :func:`tsae.engine.framing.overlap_add`)."""
    try:
        from tsae.engine.framing import overlap_add as engine_ola
    except ImportError as error:
        if not _engine_missing(error, "tsae.engine.framing"):
            raise
        return _ola_fallback(frames, hop, window, length)
    return np.asarray(engine_ola(frames, hop, window, length=length))


# ----------------------------------------------------------------------------- preprocessing
def _repair_fallback(x: np.ndarray) -> np.ndarray:
    x = np.array(x, dtype=np.float64, copy=True)
    grid = np.arange(x.shape[-1])
    for row in x.reshape(-1, x.shape[-1]):
        bad = np.isnan(row)
        if bad.any() and not bad.all():
            row[bad] = np.interp(grid[bad], grid[~bad], row[~bad])
    return x


def repair_missing(x: np.ndarray, method: str = "linear") -> np.ndarray:
    """Fill NaN runs per channel (see :func:`tsae.engine.preprocess.repair_missing`)."""
    try:
        from tsae.engine.preprocess import repair_missing as engine_repair
    except ImportError as error:
        if not _engine_missing(error, "tsae.engine.preprocess"):
            raise
        return _repair_fallback(x)
    return np.asarray(engine_repair(x, method=method), dtype=np.float64)


class _Normalizer:
    """Per-channel z-score (mean/std) or robust (median/IQR) scaling of ``(channels, n)``."""

    def __init__(self, kind: str = "zscore") -> None:
        if kind not in ("zscore", "robust"):
            raise ValueError(f"normalizer kind must be zscore or robust, got {kind!r}")
        self.kind = kind
        self.center: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> "_Normalizer":
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "zscore":
            center, scale = np.nanmean(x, axis=-1), np.nanstd(x, axis=-1)
        else:
            q1, center, q3 = np.nanpercentile(x, [25, 50, 75], axis=-1)
            scale = (q3 - q1) / 1.349
        self.center = center
        self.scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.center[:, None]) / self.scale[:, None]

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) * self.scale[:, None] + self.center[:, None]

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.kind, "center": self.center.tolist(), "scale": self.scale.tolist(), "impl": _FALLBACK}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "_Normalizer":
        out = cls(data.get("kind") or data.get("method") or "zscore")
        out.center = np.asarray(data["center"], dtype=np.float64)
        out.scale = np.asarray(data["scale"], dtype=np.float64)
        return out


def make_normalizer(kind: str) -> Any:
    """A fresh ``Normalizer(kind)`` (see :class:`tsae.engine.preprocess.Normalizer`)."""
    try:
        from tsae.engine.preprocess import Normalizer
    except ImportError as error:
        if not _engine_missing(error, "tsae.engine.preprocess"):
            raise
        return _Normalizer(kind)
    return Normalizer(kind)


def normalizer_from_dict(data: dict[str, Any]) -> Any:
    """Rebuild a stored normaliser (the engine's, or the stand-in's when it wrote it)."""
    if data.get("impl") == _FALLBACK:
        return _Normalizer.from_dict(data)
    try:
        from tsae.engine.preprocess import Normalizer
    except ImportError as error:
        if not _engine_missing(error, "tsae.engine.preprocess"):
            raise
        return _Normalizer.from_dict(data)
    return Normalizer.from_dict(data)
