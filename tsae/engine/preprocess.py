"""Preprocessing of signals ``(channels, n)`` (or ``(n,)``): gaps, scaling, trends, rates.

Time is always the last axis and channels come before it (a pandas DataFrame, one row per
time step and one column per channel, is turned around first). Every function checks
its arguments first and raises a ``ValueError`` naming the bad one. Float32
inputs stay float32; other inputs (integers, booleans as 0 and 1) come back as float64.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tsae._warning_filters import ignored
from tsae.engine.framing import _check_int, as_signal
from tsae.engine.layout import SMALLEST_DIVISOR, real_array
from tsae.errors import EmptyChannelError

__all__ = ["missing_mask", "repair_missing", "forward_fill", "Normalizer", "detrend", "resample"]

_REPAIR_METHODS = {"linear": 0, "ffill": 1, "zero": 2}
_QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")


def power_of_two_unit(x: np.ndarray, *, skip_nan: bool = False) -> np.ndarray:
    """Per row (last axis, kept), a power of two at or above the largest magnitude (1 for a row of zeros).

    Dividing by it is exact, so statistics computed on ``x / unit`` and scaled back are
    those of ``x`` to the last bit, without squares or sums overflowing near float64's limit.
    Beyond 2**1023 (about 9e307) the unit is 2**1023, the largest power of two a float holds:
    the scaled values are then at most 2 in magnitude.

    Examples
    --------
    >>> power_of_two_unit(np.array([[3.0, -1.0], [0.0, 0.0], [1e308, 1.0]]))
    array([[4.00000000e+000],
           [1.00000000e+000],
           [8.98846567e+307]])
    """
    if x.shape[-1] == 0:
        return np.ones((*x.shape[:-1], 1))
    with ignored(RuntimeWarning):  # an all-NaN row: unit 1
        peak = (np.nanmax if skip_nan else np.max)(np.abs(x), axis=-1, keepdims=True)
    mantissa, exponent = np.frexp(np.where(np.isfinite(peak) & (peak > 0), peak, 1.0))  # peak = m 2**e, m in [.5, 1)
    exponent = np.where(mantissa == 0.5, exponent - 1, exponent)  # an exact power of two is its own unit
    return np.ldexp(1.0, np.minimum(exponent, 1023))


def spread(x: Any, *, skip_nan: bool = False) -> np.ndarray:
    """The standard deviation along the last axis (kept as an axis of 1), never overflowing.

    ``np.std`` squares the values, so a series of magnitude 1e155 gives inf; for ordinary
    values the result is ``np.std``'s (``np.nanstd``'s with ``skip_nan``) to the last bit.

    Examples
    --------
    >>> float(spread(np.array([1e200, -1e200]))[0])
    1e+200
    """
    x = np.asarray(x, dtype=np.float64)
    unit = power_of_two_unit(x, skip_nan=skip_nan)
    with ignored(RuntimeWarning):
        return (np.nanstd if skip_nan else np.std)(x / unit, axis=-1, keepdims=True) * unit


def normalise(x: Any, center: Any, scale: Any) -> np.ndarray:
    """``(x - center) / scale`` (broadcast), without overflowing where the result is a float.

    The difference of two finite values beyond half of float64's largest overflows
    (``1.7e308 - -1.7e308``) although the result, once divided by a scale of that order, is
    small: such elements are computed from quarters (dividing and multiplying by 4 is
    exact), the others as they were, to the last bit. Where the result itself is beyond
    float64's range it is inf, with no warning: the caller says so in words.

    Examples
    --------
    >>> normalise(np.array([1.7e308, -1.7e308]), 0.0, 1e308)
    array([ 1.7, -1.7])
    >>> normalise(np.array([1.7e308]), -1.7e308, 1.7e308)
    array([2.])
    """
    with np.errstate(over="ignore"):
        out = (x - center) / scale
        overflow = np.isinf(out) & np.isfinite(x)
        if overflow.any():
            out = np.where(overflow, (np.divide(x, 4) - np.divide(center, 4)) / scale * 4, out)
    return np.asarray(out)


def denormalise(z: Any, center: Any, scale: Any) -> np.ndarray:
    """``z * scale + center`` (broadcast), without overflowing where the result is a float.

    The inverse of :func:`normalise`: ``z * scale`` may overflow although adding a
    ``center`` of the other sign brings it back; such elements are computed on quarters
    (exact), the others as they were. A result beyond float64's range is inf, with no warning.

    Examples
    --------
    >>> denormalise(np.array([2.0]), -1.7e308, 1.7e308)
    array([1.7e+308])
    """
    with np.errstate(over="ignore"):
        out = z * scale + center
        overflow = np.isinf(out) & np.isfinite(z)
        if overflow.any():
            out = np.where(overflow, (np.divide(z, 4) * scale + np.divide(center, 4)) * 4, out)
    return np.asarray(out)


def _in_range(out: np.ndarray, x: np.ndarray, dtype: type, what: str) -> np.ndarray:
    """``out`` (computed from ``x``, the argument ``x``) as ``dtype``; a ``ValueError`` where a finite value
    of ``x`` gave one beyond that type's range (``what`` says how it was computed)."""
    with np.errstate(over="ignore"):
        cast: np.ndarray = out.astype(dtype, copy=False)
    beyond = np.isinf(cast) & np.isfinite(x)
    if beyond.any():
        peak = float(np.max(np.abs(np.broadcast_to(x, beyond.shape)[beyond])))
        raise ValueError(f"x holds values (of magnitude up to {peak:.3g}) whose {what} is beyond "
                         f"{np.dtype(dtype).name}'s range")
    return cast


def as_float32(x: np.ndarray, name: str, *, normalised: bool = True) -> np.ndarray:
    """``x`` as float32, or a ``ValueError`` when a finite value overflows float32.

    A network runs in float32: a value beyond 3.4e38 would become inf and every output NaN.
    ``normalised`` says whether ``x`` went through a normaliser, so that the message says
    so only when one was applied (a model trained without one sees the values as they are).

    Examples
    --------
    >>> as_float32(np.array([1.0, 1e39]), "values", normalised=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: values holds values of magnitude up to 1e+39, beyond float32's range (the model has no normaliser...
    """
    with np.errstate(over="ignore"):  # told below, in words
        out = np.asarray(x, dtype=np.float32)
    overflow = np.isinf(out) & np.isfinite(x)
    if overflow.any():
        peak = float(np.max(np.abs(x[overflow])))
        where = " after normalisation, beyond float32's range" if normalised else \
            ", beyond float32's range (the model has no normaliser and computes in float32)"
        raise ValueError(f"{name} holds values of magnitude up to {peak:.3g}{where}: "
                         "the series is not on the scale the model knows")
    return out


def _float_dtype(x: np.ndarray) -> type:
    return np.float32 if x.dtype == np.float32 else np.float64


# ----------------------------------------------------------------------------- missing values
def missing_mask(x: Any) -> np.ndarray:
    """Boolean mask of the missing samples of ``x``: NaN and (as sensors report them) +-inf.

    Parameters
    ----------
    x : array_like
        Real signal of any shape.

    Returns
    -------
    numpy.ndarray of bool, same shape as ``x``

    Examples
    --------
    >>> missing_mask([1.0, np.nan, np.inf, 2.0])
    array([False,  True,  True, False])
    """
    x = as_signal(x, "x")
    return ~np.isfinite(x)


def repair_missing(x: Any, method: str = "linear", max_gap: int | None = None, *,
                   empty: str = "zeros") -> np.ndarray:
    """Fill the missing samples (see :func:`missing_mask`) of each channel.

    Parameters
    ----------
    x : array_like, shape (..., n)
        Real signal, time on the last axis; each leading index is a channel.
    method : {"linear", "ffill", "zero"}, default "linear"
        ``"linear"`` interpolates between the valid samples around a gap,
        ``"ffill"`` repeats the last valid sample, ``"zero"`` writes zeros.
    max_gap : int, optional
        Fill only gaps of at most ``max_gap`` samples; longer ones stay NaN.
    empty : {"zeros", "raise"}, default "zeros"
        What a channel with no valid sample at all becomes: zeros (see below), or a
        :class:`tsae.errors.EmptyChannelError` (a ``ValueError``: "a channel has no
        finite values (channel 1)").

    Returns
    -------
    numpy.ndarray, same shape as ``x``
        A new array (float32 for float32 input, float64 otherwise). With "linear"
        and "ffill", a leading gap takes the first valid value and a trailing
        gap the last one. A channel with no valid sample at all becomes zeros
        (the neutral value of a normalised signal; unless ``max_gap`` is smaller
        than its length, in which case it stays NaN).

    Examples
    --------
    >>> repair_missing([np.nan, 1.0, np.nan, 3.0, np.nan])
    array([1., 1., 2., 3., 3.])
    >>> repair_missing([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]], method="ffill")
    array([[1., 1., 3.],
           [0., 0., 0.]])
    """
    x = as_signal(x, "x")
    if not isinstance(method, str) or method not in _REPAIR_METHODS:
        raise ValueError(f"method must be one of {tuple(_REPAIR_METHODS)}, got method={method!r}")
    if empty not in ("zeros", "raise"):
        raise ValueError(f"empty must be 'zeros' or 'raise', got empty={empty!r}")
    # a gap longer than the series is one no series has: the kernel takes int64, not 10**30
    gap = -1 if max_gap is None else min(_check_int("max_gap", max_gap, 0), x.shape[-1])
    out: np.ndarray = np.array(x, dtype=_float_dtype(x), order="C", copy=True)
    if out.size == 0 or np.isfinite(out).all():
        return out
    if empty == "raise":
        hollow = np.flatnonzero((~np.isfinite(out)).all(axis=-1).reshape(-1))
        if hollow.size:
            raise EmptyChannelError(int(hollow[0]))  # the first empty row of x (..., n), its leading axes flattened
    rows = out.reshape(-1, out.shape[-1])
    from tsae.engine import _kernels  # numba, loaded when a kernel runs

    _kernels.repair_rows(rows, _REPAIR_METHODS[method], gap)
    return out


def forward_fill(x: Any, carry: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Streaming repair: hold each channel's last valid sample, carried across chunks.

    A stream cannot look ahead, so a gap cannot be interpolated; the missing samples
    (see :func:`missing_mask`) of a chunk take the last valid sample before them, from
    this chunk or, through ``carry``, from earlier ones.

    Parameters
    ----------
    x : array_like, shape (channels, n)
        The next chunk, time on the last axis.
    carry : array_like, shape (channels,)
        Each channel's last valid sample before this chunk (for the first chunk: a
        neutral value such as the channel's mean).

    Returns
    -------
    filled : numpy.ndarray, shape (channels, n), float64
    carry : numpy.ndarray, shape (channels,)
        The carry for the next chunk.
    repaired : int
        How many samples were missing.

    Examples
    --------
    >>> filled, carry, repaired = forward_fill([[np.nan, 1.0, np.nan]], [9.0])
    >>> filled, carry, repaired
    (array([[9., 1., 1.]]), array([1.]), 2)
    """
    x = np.asarray(as_signal(x, "x"), dtype=np.float64)
    carry = real_array(carry, "carry").reshape(-1)
    if x.ndim != 2 or carry.shape != (x.shape[0],):
        raise ValueError(f"x must be (channels, n) and carry (channels,), got shapes {x.shape} and {carry.shape}")
    bad = ~np.isfinite(x)
    if not bad.any():  # copies: the caller's arrays are never handed back
        return x.copy(), (x[:, -1].copy() if x.shape[1] else carry.copy()), 0
    filled = repair_missing(np.concatenate([carry[:, None], x], axis=1), method="ffill")[:, 1:]
    return filled, filled[:, -1].copy(), int(bad.sum())


# ----------------------------------------------------------------------------- scaling
#: a channel whose spread is under this fraction of its centre's magnitude (or is zero) is constant: the spread
#: is the rounding noise of its mean, and the channel keeps a unit scale
ROUNDING_SPREAD = 1e-13


class Normalizer:
    """Per-channel scaling: z-score (mean, std) or robust (median, IQR / 1.349).

    Parameters
    ----------
    method : {"zscore", "robust"}, default "zscore"
        The robust scale is the interquartile range divided by 1.349, which equals
        the standard deviation for Gaussian data but ignores outliers.

    Attributes
    ----------
    center, scale : numpy.ndarray of shape (channels,) or None
        Per-channel statistics, set by :meth:`fit`. Channels with no valid sample
        get center 0; channels with zero spread (constant: under :data:`ROUNDING_SPREAD` of the
        centre, rounding noise) get scale 1.

    Notes
    -----
    Time is the last axis and channels the one before it: ``fit`` accepts
    ``(n,)`` (one channel), ``(channels, n)`` or ``(..., channels, n)`` (the
    statistics pool the leading axes, e.g. a batch of windows). NaNs are ignored
    when fitting and stay NaN through :meth:`transform`. :meth:`to_dict` gives
    plain JSON-able values, which is how model files store a normaliser.

    Examples
    --------
    >>> x = np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 10.0]])
    >>> norm = Normalizer("zscore").fit(x)
    >>> norm.transform(x).round(3)
    array([[-1.225,  0.   ,  1.225],
           [ 0.   ,  0.   ,  0.   ]])
    >>> bool(np.allclose(norm.inverse_transform(norm.transform(x)), x))
    True
    >>> Normalizer.from_dict(norm.to_dict()).scale
    array([0.81649658, 1.        ])
    """

    METHODS = ("zscore", "robust")

    def __init__(self, method: str = "zscore") -> None:
        if method not in self.METHODS:
            raise ValueError(f"method must be one of {self.METHODS}, got method={method!r}")
        self.method = method
        self.center: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def __repr__(self) -> str:
        state = f"{self.n_channels} channels" if self.center is not None else "not fitted"
        return f"Normalizer({self.method!r}, {state})"

    @property
    def n_channels(self) -> int | None:
        """Channels seen by :meth:`fit` (None before)."""
        return None if self.center is None else int(self.center.shape[0])

    def fit(self, x: Any) -> Normalizer:
        """Learn each channel's center and scale from ``x`` (NaN-aware); return ``self``.

        Parameters
        ----------
        x : array_like
            ``(n,)`` (one channel), ``(channels, n)`` or ``(..., channels, n)`` (the statistics pool
            the leading axes); NaNs are ignored.
        """
        x = as_signal(x, "x").astype(np.float64, copy=False)
        x = x[None] if x.ndim == 1 else x
        channels = x.shape[-2]
        if channels == 0:
            raise ValueError(f"x has no channels (shape {x.shape}, channels on axis -2)")
        pooled = np.moveaxis(x, -2, 0).reshape(channels, -1)
        with ignored(RuntimeWarning):  # all-NaN channels: handled below
            if self.method == "zscore":
                # on values divided by a power of two (exact): no overflow near float64's limit
                unit = power_of_two_unit(pooled, skip_nan=True)[:, 0]
                scaled = pooled / unit[:, None]
                center = np.nanmean(scaled, axis=1) * unit if pooled.shape[1] else np.full(channels, np.nan)
                scale = np.nanstd(scaled, axis=1) * unit if pooled.shape[1] else np.full(channels, np.nan)
            else:
                if pooled.shape[1]:
                    # on values divided by a power of two (exact): neither the interpolation nor q3 - q1 overflows
                    unit = power_of_two_unit(pooled, skip_nan=True)[:, 0]
                    q1, center, q3 = np.nanpercentile(pooled / unit[:, None], [25, 50, 75], axis=1)
                    center, scale = center * unit, (q3 - q1) / 1.349 * unit
                else:
                    center = scale = np.full(channels, np.nan)
        if np.isinf(scale).any():  # (q3 - q1) / 1.349 of values near +-1.7e308: it used to become 1, silently
            channel = int(np.argmax(np.isinf(scale)))
            raise ValueError(f"x: the {self.method} scale of channel {channel} is beyond float64's range "
                             f"(its values reach {float(np.nanmax(np.abs(pooled[channel]))):.3g}): scale x down first")
        center = np.where(np.isfinite(center), center, 0.0)
        # a spread that is only rounding noise of a constant channel counts as zero: the mean of identical
        # values is off by a few ulps (under 1e-15 of them, measured up to a million values), so the noise is
        # far below ROUNDING_SPREAD of the centre; a sensor that truly moves by 1e-13 in its units (a current
        # in amps) or by 1e-3 around 1e7 (a frequency counter) keeps its spread
        tiny = np.maximum(SMALLEST_DIVISOR, ROUNDING_SPREAD * np.abs(center))
        scale = np.where(np.isfinite(scale) & (scale > tiny), scale, 1.0)
        self.center, self.scale = center, scale
        return self

    def _prepare(self, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.center is None or self.scale is None:
            raise RuntimeError("this Normalizer is not fitted: call fit(x) first")
        x = as_signal(x, "x")
        channels = 1 if x.ndim == 1 else x.shape[-2]
        if channels != self.center.shape[0]:
            raise ValueError(
                f"x has {channels} channels (shape {x.shape}, channels on axis -2) "
                f"but the normaliser was fitted on {self.center.shape[0]}"
            )
        shape = (1,) if x.ndim == 1 else (channels, 1)
        return x, self.center.reshape(shape), self.scale.reshape(shape)

    def transform(self, x: Any) -> np.ndarray:
        """``(x - center) / scale`` per channel (float32 stays float32).

        Values near float64's limit do not overflow where the result is a float
        (:func:`normalise`); one that is not (a value far beyond what ``fit`` saw, or
        beyond float32's range for a float32 ``x``) is a ``ValueError``, not inf.

        Parameters
        ----------
        x : array_like
            ``(n,)`` or ``(..., channels, n)`` with the channels :meth:`fit` saw; NaNs stay NaN.
        """
        x, center, scale = self._prepare(x)
        return _in_range(normalise(x, center, scale), x, _float_dtype(x), "(x - center) / scale")

    def inverse_transform(self, x: Any) -> np.ndarray:
        """``x * scale + center`` per channel: undoes :meth:`transform` (overflow as there).

        Parameters
        ----------
        x : array_like
            ``(n,)`` or ``(..., channels, n)`` with the channels :meth:`fit` saw, in normalised units.
        """
        x, center, scale = self._prepare(x)
        return _in_range(denormalise(x, center, scale), x, _float_dtype(x), "x * scale + center")

    def fit_transform(self, x: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same data.

        Parameters
        ----------
        x : array_like
            As for :meth:`fit`.
        """
        return self.fit(x).transform(x)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able state: ``{"method", "center", "scale"}`` (lists of floats)."""
        if self.center is None or self.scale is None:
            raise RuntimeError("this Normalizer is not fitted: call fit(x) first")
        return {"method": self.method, "center": self.center.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalizer:
        """Rebuild a normaliser from :meth:`to_dict` output (``"kind"`` is read as ``"method"``).

        Parameters
        ----------
        data
            ``{"method", "center", "scale"}``: center finite, scale finite and positive, of one length.
        """
        if not isinstance(data, dict) or "center" not in data or "scale" not in data:
            raise ValueError("a normaliser dict needs 'method', 'center' and 'scale'")
        out = cls(data.get("method", data.get("kind", "zscore")))
        center = np.asarray(data["center"], dtype=np.float64).reshape(-1)
        scale = np.asarray(data["scale"], dtype=np.float64).reshape(-1)
        if center.shape != scale.shape:
            raise ValueError(f"normaliser center and scale differ in length: {center.size} and {scale.size}")
        if not (np.isfinite(center).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("normaliser center must be finite and scale finite and positive")
        out.center, out.scale = center, scale
        return out


# ----------------------------------------------------------------------------- trends
def detrend(x: Any, kind: str = "linear", *, return_trend: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Remove each channel's least-squares line (``"linear"``) or mean (``"constant"``).

    Parameters
    ----------
    x : array_like, shape (..., n)
        Real signal, time on the last axis. NaNs are ignored when fitting the
        trend and stay NaN in the result.
    kind : {"linear", "constant"}, default "linear"
    return_trend : bool, default False
        Also return the trend, so that ``detrended + trend`` gives ``x`` back.

    Returns
    -------
    detrended : numpy.ndarray, same shape as ``x``
    trend : numpy.ndarray, same shape as ``x``
        Only with ``return_trend=True``. Float32 for float32 input, else float64.

    Examples
    --------
    >>> y, trend = detrend(np.array([1.0, 3.0, 5.0, 8.0]), return_trend=True)
    >>> y.round(2), trend.round(2)
    (array([ 0.2, -0.1, -0.4,  0.3]), array([0.8, 3.1, 5.4, 7.7]))
    """
    x = as_signal(x, "x")
    if kind not in ("linear", "constant"):
        raise ValueError(f"kind must be 'linear' or 'constant', got kind={kind!r}")
    dtype = _float_dtype(x)
    xf = x.astype(np.float64)
    valid = np.isfinite(xf)
    count = valid.sum(axis=-1, keepdims=True)
    safe = np.maximum(count, 1)
    # fitted on values divided by a power of two (exact), so that no sum overflows near float64's limit
    unit = power_of_two_unit(np.where(valid, xf, 0.0))
    filled = np.where(valid, xf / unit, 0.0)
    mean = filled.sum(axis=-1, keepdims=True) / safe
    trend = np.broadcast_to(mean, xf.shape)
    if kind == "linear" and xf.shape[-1] > 1:
        t = np.arange(xf.shape[-1], dtype=np.float64)
        t_mean = np.where(valid, t, 0.0).sum(axis=-1, keepdims=True) / safe
        dt = np.where(valid, t - t_mean, 0.0)
        denom = (dt * dt).sum(axis=-1, keepdims=True)
        covariance = (dt * (filled - mean)).sum(axis=-1, keepdims=True)
        slope = np.where(denom > 0, covariance / np.where(denom > 0, denom, 1.0), 0.0)
        trend = mean + slope * (t - t_mean)
    trend = np.array(trend * unit, dtype=dtype)
    detrended = (xf - trend).astype(dtype)
    return (detrended, trend) if return_trend else detrended


# ----------------------------------------------------------------------------- sample rate
#: the largest change of rate, either way: from about 1e6 on, soxr takes minutes or never returns
_MAX_RATIO = 100_000


def _check_rate(name: str, value: Any) -> float:
    try:  # an int beyond any float (10**400) has no float()
        rate = float(value) if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) else -1.0
    except OverflowError:
        rate = -1.0
    if not (np.isfinite(rate) and rate > 0):
        raise ValueError(f"{name} must be a positive number, got {name}={value!r}")
    return rate


def _check_ratio(orig_sr: float, target_sr: float) -> None:
    if not 1 / _MAX_RATIO <= target_sr / orig_sr <= _MAX_RATIO:
        raise ValueError(f"target_sr / orig_sr must be between 1/{_MAX_RATIO} and {_MAX_RATIO}, "
                         f"got {target_sr:g} / {orig_sr:g} (resample in steps, or check the rates)")


def _soxr_rows(rows: np.ndarray, orig_sr: float, target_sr: float, quality: str) -> np.ndarray:
    """soxr over ``rows`` ``(rows, n)`` -> ``(rows, m)``; a row beyond 2**64 is resampled divided by a power of two.

    soxr computes in float32 whatever the input: 1e38 and beyond would come back NaN. Dividing by a
    power of two is exact, and so is multiplying back.
    """
    import soxr

    unit = power_of_two_unit(np.where(np.isfinite(rows), rows, 0.0))
    unit = np.where(unit > 2.0**64, unit, 1.0).astype(rows.dtype)
    scaled = rows / unit if (unit != 1).any() else rows
    # soxr wants (frames, channels)
    y = soxr.resample(np.ascontiguousarray(scaled.T), orig_sr, target_sr, quality=quality)
    y = np.asarray(y, dtype=rows.dtype).reshape(-1, rows.shape[0]).T
    return y * unit if (unit != 1).any() else y


def resample(x: Any, orig_sr: float, target_sr: float, quality: str = "HQ") -> np.ndarray:
    """Change the sample rate of each channel with soxr.

    Parameters
    ----------
    x : array_like, shape (..., n)
        Real signal, time on the last axis.
    orig_sr, target_sr : float
        Sample rates in Hz (> 0).
    quality : {"QQ", "LQ", "MQ", "HQ", "VHQ"}, default "HQ"
        soxr's quality preset.

    Returns
    -------
    numpy.ndarray, shape (..., m)
        ``m`` is about ``n * target_sr / orig_sr``; a copy of ``x`` when the rates
        are equal. Float32 for float32 input, float64 otherwise.

    Examples
    --------
    >>> resample(np.zeros((2, 48000), np.float32), 48000, 16000).shape
    (2, 16000)
    """
    x = as_signal(x, "x")
    orig_sr = _check_rate("orig_sr", orig_sr)
    target_sr = _check_rate("target_sr", target_sr)
    _check_ratio(orig_sr, target_sr)
    if quality not in _QUALITIES:
        raise ValueError(f"quality must be one of {_QUALITIES}, got quality={quality!r}")
    dtype = _float_dtype(x)
    if orig_sr == target_sr:
        return np.array(x, dtype=dtype, copy=True)
    lead, n = x.shape[:-1], x.shape[-1]
    rows = int(np.prod(lead, dtype=np.int64))
    if n == 0 or rows == 0:
        return np.zeros(lead + (0,), dtype=dtype)
    y = _soxr_rows(np.asarray(x.reshape(rows, n), dtype=dtype), orig_sr, target_sr, quality)
    return np.ascontiguousarray(y).reshape(lead + (y.shape[1],))
