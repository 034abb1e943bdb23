"""Compress a whole series in memory: array in, ``.tsz`` bytes out, and back.

Examples
--------
>>> from tsae.models.modelfile import load_model                       # doctest: +SKIP
>>> model = load_model("model.tsae")                                   # doctest: +SKIP
>>> data = compress_series(model, x, max_error=1e-3, relative=True)    # doctest: +SKIP
>>> y = decompress_series(data, model)   # |x - y| <= 1e-3 * range, per channel   # doctest: +SKIP
"""
from __future__ import annotations

import io
from typing import Any

import numpy as np

from tsae.engine.layout import as_channels_first
from tsae.pipelines.compress.container import Reader
from tsae.pipelines.compress.stream import Compressor, iter_decompress


def channel_extremes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's finite minimum and maximum (``+inf`` and ``-inf`` for a channel with no finite value)."""
    finite = np.isfinite(values)
    low = np.where(finite, values, np.inf).min(axis=1, initial=np.inf)
    high = np.where(finite, values, -np.inf).max(axis=1, initial=-np.inf)
    return low, high


def bounds_from_extremes(max_error: Any, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``max_error`` times each channel's range, from its finite extremes (:func:`channel_extremes`).

    A channel whose finite values are all equal (or that has none) takes its
    magnitude, or 1, as its range, so that its bound stays positive.
    """
    bound = np.broadcast_to(np.asarray(max_error, dtype=np.float64), low.shape).copy()
    seen = low <= high
    spread = np.where(seen, high - low, 0.0)
    magnitude = np.where(seen, np.maximum(np.abs(high), np.abs(low)), 0.0)
    scale = np.where(spread > 0, spread, np.where(magnitude > 0, magnitude, 1.0))
    return bound * scale


def absolute_bounds(values: np.ndarray, max_error: Any, relative: bool) -> np.ndarray | None:
    """Per-channel absolute bounds: ``max_error`` itself, or times each channel's range when ``relative``
    (see :func:`bounds_from_extremes`)."""
    if max_error is None:
        return None
    if relative:
        return bounds_from_extremes(max_error, *channel_extremes(values))
    return np.broadcast_to(np.asarray(max_error, dtype=np.float64), (values.shape[0],)).copy()


def compress_series(loaded: Any, values: Any, *, max_error: Any = None, relative: bool = False,
                    coder: str = "lzma", block_windows: int = 256, latent_step: float | None = None,
                    header: dict[str, Any] | None = None) -> bytes:
    """Compress ``values`` with the autoencoder ``loaded`` into ``.tsz`` bytes.

    Parameters
    ----------
    loaded
        A :class:`~tsae.models.modelfile.LoadedModel` trained on series of this channel count.
    values
        ``(channels, n)`` or ``(n,)``; NaN and +-inf are kept exactly.
    max_error
        Error bound per sample: one value or one per channel (``None``: the codes alone, lossy).
    relative
        ``max_error`` is a fraction of each channel's range (max - min).
    coder, block_windows, latent_step, header
        See :class:`~tsae.pipelines.compress.stream.Compressor`.

    Returns
    -------
    bytes
        The container; :func:`decompress_series` with the same model gives values within
        the bound of every finite sample (``(channels, n)`` float64).
    """
    x = np.asarray(as_channels_first(values, "values")[0], dtype=np.float64)
    if x.shape[0] != int(loaded.channels):
        raise ValueError(f"values have {x.shape[0]} channel(s), but the model was trained on {loaded.channels}")
    buffer = io.BytesIO()
    writer = Compressor(buffer, loaded, max_error=absolute_bounds(x, max_error, relative), coder=coder,
                        block_windows=block_windows, latent_step=latent_step, header=header)
    writer.write(x)
    writer.close()
    return buffer.getvalue()


def decompress_series(data: bytes, loaded: Any, name: str = "<bytes>") -> np.ndarray:
    """Decompress ``.tsz`` bytes written by :func:`compress_series` with the same model: ``(channels, n)`` float64.

    Raises ``ValueError`` (naming ``name``) for a corrupt or truncated container, a model
    that does not fit it, or values that fail the error-bound check.
    """
    reader = Reader(io.BytesIO(data), name)
    blocks = list(iter_decompress(reader, loaded))
    if not blocks:
        return np.zeros((int(reader.header["channels"]), 0))
    return np.concatenate(blocks, axis=1)


__all__ = ["compress_series", "decompress_series", "absolute_bounds", "bounds_from_extremes", "channel_extremes"]
