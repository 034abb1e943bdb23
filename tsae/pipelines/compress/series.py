"""Compress a whole series in memory: array in, ``.tsz`` bytes out, and back.

Examples
--------
>>> from tsae.models.modelfile import load_model                       # doctest: +SKIP
>>> model = load_model("model.tsae")                                   # doctest: +SKIP
>>> data = compress_series(model, x, max_error=1e-3, relative=True)    # doctest: +SKIP
>>> y = decompress_series(data, model)   # |x - y| <= 1e-3 * range, per channel   # doctest: +SKIP

Without a model (the residual coder's own predictors alone; no torch on either side):

>>> data = compress_series(None, x, max_error=1e-3, relative=True)    # doctest: +SKIP
>>> y = decompress_series(data)                                        # doctest: +SKIP
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.layout import as_channels_first, check_flag
from tsae.models.modelfile import as_loaded
from tsae.pipelines.compress.container import Reader
from tsae.pipelines.compress.entropy import DEFAULT_CODER
from tsae.pipelines.compress.options import MAX_BOUND, check_max_error, check_without_model
from tsae.pipelines.compress.stream import Compressor, iter_decompress
from tsae.pipelines.reconstruct.columns import frame_in_model_order
from tsae.pipelines.reconstruct.series import as_model_channels


def channel_extremes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's finite minimum and maximum (``+inf`` and ``-inf`` for a channel with no finite value)."""
    finite = np.isfinite(values)
    low = np.where(finite, values, np.inf).min(axis=1, initial=np.inf)
    high = np.where(finite, values, -np.inf).max(axis=1, initial=-np.inf)
    return low, high


def bounds_from_extremes(max_error: Any, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``max_error`` times each channel's range, from its finite extremes (:func:`channel_extremes`).

    A channel whose finite values are all equal (or that has none) takes its
    magnitude, or 1, as its range, so that its bound stays positive. A bound beyond
    :data:`~tsae.pipelines.compress.options.MAX_BOUND` (a range near the float64 limit) is
    lowered to it: a tighter bound, whose grid still holds the values; one that rounds to 0
    (a range of denormal numbers) is a ``ValueError``.
    """
    bound = check_max_error(max_error, len(low))
    assert bound is not None
    scale, _ = _range_scale(low, high)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        bounds = np.minimum(bound * scale, MAX_BOUND)
    if not (bounds > 0).all():
        channel = int(np.argmin(bounds))
        raise ValueError(f"max_error {bound[channel]:g} of channel {channel}'s range {scale[channel]:g} is below the "
                         "smallest float64: give a larger relative bound, or an absolute one")
    return bounds


def _range_scale(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's range from its finite extremes (its magnitude, or 1, when all equal or none), and its
    magnitude (0 for none)."""
    seen = low <= high
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.where(seen, high - low, 0.0)
        magnitude = np.where(seen, np.maximum(np.abs(high), np.abs(low)), 0.0)
    return np.where(spread > 0, spread, np.where(magnitude > 0, magnitude, 1.0)), magnitude


class ChannelRanges:
    """Each channel's finite extremes (:func:`channel_extremes`), and those of its cells within
    :data:`~tsae.io.table_absurd.ABSURD` of zero, gathered block by block for a relative bound.

    Examples
    --------
    >>> ranges = ChannelRanges(1)
    >>> ranges.add(np.array([[0.0, 1.0, 1e31]]))
    >>> ranges.bounds(1e-3)
    array([1.e+28])
    >>> ranges.set_by_absurd_cells(ranges.bounds(1e-3))
    [0]
    """

    def __init__(self, channels: int) -> None:
        self.low, self.high = np.full(channels, np.inf), np.full(channels, -np.inf)
        self.usual_low, self.usual_high = self.low.copy(), self.high.copy()

    def add(self, values: np.ndarray) -> None:
        """Take in the block ``values`` ``(channels, m)``."""
        from tsae.io.table_absurd import ABSURD

        low, high = channel_extremes(values)
        self.low, self.high = np.minimum(self.low, low), np.maximum(self.high, high)
        if (high > ABSURD).any() or (low < -ABSURD).any():  # else the block's usual extremes are these
            with np.errstate(invalid="ignore"):
                low, high = channel_extremes(np.where(np.abs(values) <= ABSURD, values, np.nan))
        self.usual_low, self.usual_high = np.minimum(self.usual_low, low), np.maximum(self.usual_high, high)

    def bounds(self, max_error: Any) -> np.ndarray:
        """``max_error`` times each channel's range (:func:`bounds_from_extremes`)."""
        return bounds_from_extremes(max_error, self.low, self.high)

    def relative_bounds(self, max_error: Any, where: str, columns: Any = None) -> np.ndarray:
        """:meth:`bounds`, one too fine for its channel's values refused by what was given (``max_error``, a fraction
        of the range), a range set by cells beyond ``ABSURD`` warned of (:meth:`warn_absurd`)."""
        from tsae.errors import channel_named
        from tsae.pipelines.compress.quantise import MAX_DYNAMIC_RANGE, MAX_VALUE

        bounds = self.bounds(max_error)
        scale, magnitude = _range_scale(self.low, self.high)
        with np.errstate(over="ignore", invalid="ignore"):  # a value too large for any bound: told as it is, later
            steps = np.where(magnitude <= MAX_VALUE, magnitude / bounds, 0.0)
        c = int(np.argmax(steps))
        if steps[c] > MAX_DYNAMIC_RANGE:  # the absolute bound it means is not what the user gave: both named
            fraction = check_max_error(max_error, len(bounds))
            assert fraction is not None
            raise ValueError(f"max_error {fraction[c]:g} (relative) is {bounds[c]:.3g} for {channel_named(c, columns)} "
                             f"(its range {scale[c]:.3g}): too small for values of magnitude {magnitude[c]:g} (at "
                             f"most 2**32 steps of float64); give an absolute max_error (of at least "
                             f"{magnitude[c] / MAX_DYNAMIC_RANGE:.3g})")
        self.warn_absurd(bounds, where, columns)
        return bounds

    def _usual_scale(self) -> np.ndarray:
        """The range of each channel's cells within ``ABSURD`` (their magnitude when all equal; 0: none)."""
        usual = self.usual_low <= self.usual_high
        with np.errstate(over="ignore", invalid="ignore"):
            spread = np.where(usual, self.usual_high - self.usual_low, 0.0)
            magnitude = np.where(usual, np.maximum(np.abs(self.usual_low), np.abs(self.usual_high)), 0.0)
        return np.where(spread > 0, spread, magnitude)

    def set_by_absurd_cells(self, bounds: np.ndarray, scale: np.ndarray | None = None) -> list[int]:
        """The channels whose cells beyond ``ABSURD`` (a glitch, to every other command) widen the range so far that
        the bound exceeds the range of their other cells (``scale``: :meth:`_usual_scale`, computed when None):
        those come back as one or two levels."""
        from tsae.io.table_absurd import ABSURD

        scale = self._usual_scale() if scale is None else scale
        absurd = (self.high > ABSURD) | (self.low < -ABSURD)
        return [int(c) for c in np.flatnonzero(absurd & (scale > 0) & (bounds > scale))]

    def warn_absurd(self, bounds: np.ndarray, where: str, columns: Any = None) -> None:
        """One warning naming ``where`` and the channels of :meth:`set_by_absurd_cells`."""
        import warnings

        from tsae.io.table_absurd import ABSURD, TableWarning

        scale = self._usual_scale()
        channels = self.set_by_absurd_cells(bounds, scale)
        if not channels:
            return
        names = [str(columns[c]) if columns is not None and c < len(columns) else f"channel {c}" for c in channels]
        c = channels[0]
        extreme = max((v for v in (self.high[c], self.low[c]) if abs(v) > ABSURD), key=abs)
        warnings.warn(f"{where}: cells beyond {ABSURD:g} in magnitude (up to {extreme:g}) set the range of "
                      f"{', '.join(names)}, so the relative bound ({bounds[c]:g}) is wider than its other cells' "
                      f"range ({scale[c]:g}), which come back as one or two levels: repair those cells "
                      "(every other command reads them as missing)", TableWarning, stacklevel=4)


def absolute_bounds(values: np.ndarray, max_error: Any, relative: bool, where: str = "values",
                    columns: Any = None) -> np.ndarray | None:
    """Per-channel absolute bounds: ``max_error`` itself, or times each channel's range when ``relative``
    (see :func:`bounds_from_extremes`; a range set by cells beyond :data:`~tsae.io.table_absurd.ABSURD` is warned
    of, naming ``where`` and ``columns``, :meth:`ChannelRanges.warn_absurd`); ``ValueError`` for a malformed
    ``max_error`` (:func:`~tsae.pipelines.compress.options.check_max_error`)."""
    if check_flag("relative", relative) and max_error is not None:
        ranges = ChannelRanges(values.shape[0])
        ranges.add(values)
        return ranges.relative_bounds(max_error, where, columns)
    return check_max_error(max_error, values.shape[0])


def compress_series(loaded: Any, values: Any, *, max_error: Any = None, relative: bool = False,
                    coder: str = DEFAULT_CODER, block_windows: int = 256, latent_step: float | None = None,
                    header: dict[str, Any] | None = None) -> bytes:
    """Compress ``values`` with the autoencoder ``loaded``, or without a model, into ``.tsz`` bytes.

    Parameters
    ----------
    loaded
        A :class:`~tsae.models.modelfile.LoadedModel` trained on series of this channel count
        (or a model file path, or what :func:`tsae.fit` returned); ``None``: no model, the residual
        coder's own predictors alone (``max_error`` is then required; ``values`` as
        :func:`~tsae.engine.layout.as_channels_first` reads them, a DataFrame's columns in its order).
    values
        ``(channels, n)`` or ``(n,)``; NaN and +-inf are kept exactly. As many rows as the
        model has channels are channels, however few samples they hold. A pandas DataFrame's
        columns are matched by name to those the model was trained on (in another order, they
        are coded in the model's, and decompress in the DataFrame's; other names are refused).
    max_error
        Error bound per sample: one number or one per channel, each finite and > 0 (``None``:
        the codes alone, lossy). Under a bound, finite values must stay within 2**32 bounds
        and 8.9e307 of zero.
    relative
        ``max_error`` is a fraction of each channel's range (max - min); True or False.
    coder, block_windows, latent_step, header
        See :class:`~tsae.pipelines.compress.stream.Compressor`.

    Returns
    -------
    bytes
        The container; :func:`decompress_series` with the same model gives values within
        the bound of every finite sample (``(channels, n)`` float64), and a channel of whole
        numbers under a bound below 0.5 exactly.
    """
    if loaded is None:
        check_without_model(max_error, latent_step)  # before the values are looked at
        x = as_channels_first(values, "values")[0]
        buffer = io.BytesIO()
        writer = Compressor(buffer, None, max_error=absolute_bounds(x, max_error, relative), coder=coder,
                            block_windows=block_windows, latent_step=latent_step, header=header, channels=len(x))
        writer.write(x)
        writer.close()
        return buffer.getvalue()
    loaded = as_loaded(loaded)
    order = _frame_order(values, loaded)
    x = np.asarray(as_model_channels(values, int(loaded.channels))[0], dtype=np.float64)
    buffer = io.BytesIO()
    writer = Compressor(buffer, loaded, max_error=absolute_bounds(x, max_error, relative), coder=coder,
                        block_windows=block_windows, latent_step=latent_step, header=_with_model(header, loaded),
                        channel_order=order)
    writer.write(x)
    writer.close()
    return buffer.getvalue()


def _frame_order(values: Any, loaded: Any) -> list[int] | None:
    """A pandas DataFrame's columns in the order of those the model was trained on (``Compressor``'s
    ``channel_order``), None for anything else or a DataFrame in that order; other names are a ``ValueError``."""
    return frame_in_model_order(values, loaded)[1]


def _with_model(header: Any, loaded: Any) -> Any:
    """``header`` with the SHA-256 of the model's file (``model``: ``sha256``, its first 128 bits, and ``family``),
    when the model was loaded from a file and ``header`` names no model (``compress_file`` names it with its path)."""
    path = getattr(loaded, "path", None)
    named = header is not None and (not isinstance(header, dict) or "model" in header)  # (not a dict: refused later)
    if not path or named or not Path(path).is_file():
        return header
    from tsae.pipelines.compress.files import model_digest  # files imports this module

    return {**(header if isinstance(header, dict) else {}),
            "model": {"sha256": model_digest(path), "family": loaded.family}}


def _check_model(reader: Reader, loaded: Any) -> None:
    """Refuse a model loaded from a file whose SHA-256 is not the one the container records (a model of the same
    shape would decode to other values without a word when there is no error bound to check)."""
    reference = reader.header.get("model")
    expected = reference.get("sha256") if isinstance(reference, dict) else None
    path = getattr(loaded, "path", None)
    if not expected or not path or not Path(path).is_file():
        return
    from tsae.pipelines.compress.files import check_model_digest

    check_model_digest(reader, path, expected)


def decompress_series(data: bytes | bytearray | memoryview, loaded: Any = None, name: str = "<bytes>") -> np.ndarray:
    """Decompress ``.tsz`` bytes written by :func:`compress_series` with the same model: ``(channels, n)`` float64.

    Parameters
    ----------
    data
        The container's bytes (bytes-like).
    loaded
        A :class:`~tsae.models.modelfile.LoadedModel`, a model file path or what :func:`tsae.fit`
        returned; ``None`` for a container written without a model.
    name
        What error messages call the container (a file name).

    Raises
    ------
    ValueError
        Naming ``name``: a corrupt or truncated container, a model that does not fit it (or one
        given for a container written without, or none for one written with), or values that fail
        the error-bound check.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be the container's bytes (decompress_file reads a file), got {type(data).__name__}")
    reader = Reader(io.BytesIO(data), name)
    if loaded is not None:
        loaded = as_loaded(loaded)
        _check_model(reader, loaded)
    blocks = list(iter_decompress(reader, loaded))
    if not blocks:
        return np.zeros((int(reader.header["channels"]), 0))
    return np.concatenate(blocks, axis=1)


__all__ = ["ChannelRanges", "compress_series", "decompress_series", "absolute_bounds", "bounds_from_extremes",
           "channel_extremes"]
