"""The series a detector is given, and what is read off it before the fit learns from it.

:func:`as_series` takes what a caller passes (an array, a pandas DataFrame or Series) as a float64
``(n_sensors, n_samples)`` array with its sensor names; :func:`index_interval` reads the seconds between rows off
a pandas time index; :func:`dominant_period` suggests a window length; :func:`longest_missing_runs` measures the
training series' gaps and :func:`repaired_as_scored` fills them as the scoring core does; :func:`smooth_length`
turns a smoothing setting (``"2*window"``) into samples. None of them warns or holds state: the fit procedure
(:mod:`~tsae.pipelines.anomaly.fitting`) decides what to tell about them.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsae.engine.layout import as_channels_first, is_dataframe, known_layout
from tsae.engine.preprocess import repair_missing
from tsae.errors import shown
from tsae.models.params import MAX_INT_HPARAM


def as_series(X: Any, sensors: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """``X`` as a float64 ``(n_sensors, n_samples)`` array, and the sensor names.

    Parameters
    ----------
    X
        An array (1-D is one sensor), a pandas DataFrame (rows are time; names from the columns) or a pandas
        Series (one sensor, named by the Series' name; an unnamed one is ``s0``, as an array).
    sensors
        The sensor names (default: as above, else ``s0``, ``s1``...). Naming as many sensors as a 2-D array has
        rows, the array is taken as it is, however few samples it has (it is not a transposed one).

    Returns
    -------
    X : ndarray
        ``(n_sensors, n_samples)`` float64.
    names : list of str
        One name per sensor, all different.

    Raises
    ------
    TypeError
        ``sensors`` is one string.
    ValueError
        As many names as sensors are not given, or a name is given twice (or ``X`` is refused by
        :func:`~tsae.engine.layout.as_channels_first`).

    Examples
    --------
    >>> as_series(np.zeros(5))[1]
    ['s0']
    """
    if isinstance(sensors, (str, bytes)):  # list("abc") would be three sensors a, b, c
        raise TypeError(f"sensors must be a list of names, got the string {sensors!r} (for one sensor: [{sensors!r}])")
    names = [str(name) for name in sensors] if sensors is not None else None
    if names is None and is_dataframe(X):
        names = [str(c) for c in X.columns]
    elif names is None and hasattr(X, "to_numpy") and getattr(X, "name", None) is not None and np.ndim(X) == 1:
        names = [str(X.name)]  # a pandas Series: its name, as a DataFrame's column is named
    elif names is not None and not is_dataframe(X) and np.ndim(X) == 2 and np.shape(X)[0] == len(names):
        X = known_layout(X)
    X, _ = as_channels_first(X, "X")
    if names is None:
        names = [f"s{i}" for i in range(X.shape[0])]
    if len(names) != X.shape[0]:
        raise ValueError(f"{len(names)} sensor names for {X.shape[0]} sensors")
    if len(set(names)) != len(names):  # scores and events name sensors: one name, one sensor
        twice = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"sensor names must differ, got {', '.join(twice[:5])} more than once")
    return X, names


def index_interval(X: Any) -> float | None:
    """Seconds between rows of a pandas object indexed by time, read as a time column is
    (:func:`~tsae.io.tables.median_step`), else None.

    Parameters
    ----------
    X
        Any series; only a pandas ``DatetimeIndex`` or ``TimedeltaIndex`` is read.

    Returns
    -------
    float or None
        The median step in seconds; None without a time index.

    Examples
    --------
    >>> import pandas as pd
    >>> index_interval(pd.DataFrame({"a": range(4)}, index=pd.date_range("2024-01-01", periods=4, freq="5min")))
    300.0
    >>> index_interval(np.zeros((2, 4))) is None
    True
    """
    from tsae.io.tables import median_step

    index = getattr(X, "index", None)
    kind = getattr(getattr(index, "dtype", None), "kind", None)
    if index is None or kind not in ("m", "M"):
        return None
    times = np.asarray(index.values)
    return median_step(times if kind == "M" else np.datetime64(0, "ns") + times)  # durations from an origin


#: a training series longer than this chooses its window without the cycles much slower than the longest window
#: (:func:`dominant_period`); shorter ones, every evaluation set's training parts among them, as before
LONG_SERIES = 4096


#: the longest window ``window="auto"`` chooses on a long series (over :data:`LONG_SERIES` rows), of few sensors
#: (:func:`longest_auto_window`); shorter series choose at most 128 samples, as before
LONG_AUTO_WINDOW = 512
#: ... and at most this many values (sensors x samples) in one window: the subspace term's training windows
#: (4000 of them, 20 bytes a value while it is learnt) then take at most 330 MB
AUTO_WINDOW_VALUES = 4096


def longest_auto_window(channels: int, n: int) -> int:
    """The longest window ``window="auto"`` chooses for ``n`` training rows of ``channels`` sensors.

    128 samples, or on a long series (over :data:`LONG_SERIES` rows) up to :data:`LONG_AUTO_WINDOW`, as many as
    :data:`AUTO_WINDOW_VALUES` allows with this many sensors. A cycle of 6 hours in data a minute apart is 360
    samples: clamped at 128 (2 hours), the window saw none of it, and level shifts and changed cycles of the
    plant-fault series sampled each minute lost most of their PR-AUC (0.998 to 0.32, 0.997 to 0.44; seed 100).

    Examples
    --------
    >>> longest_auto_window(6, 2016), longest_auto_window(6, 20_160), longest_auto_window(64, 20_160)
    (128, 512, 128)
    """
    if n <= LONG_SERIES:
        return 128
    return max(128, min(LONG_AUTO_WINDOW, AUTO_WINDOW_VALUES // max(1, channels)))


def auto_window(Z: np.ndarray) -> int:
    """The window ``window="auto"`` chooses for the normalised training series ``Z`` (C, n), before it is held to a
    quarter of the rows: the dominant period (:func:`dominant_period`), at most :func:`longest_auto_window`.

    A period over 128 samples but under twice that is seen mostly by 128 and gets 128, as on a short series: on the
    plant-fault series sampled every 10 minutes for 60 days, a window of the daily period (144) made the mean PR-AUC
    0.78 against 0.82 with 128 (decision seeds 100-105); the windows over 128 are for cycles a window of 128 sees
    less than half of (a 6-hour cycle sampled each minute: 0.92 with 512, against 0.81).

    Examples
    --------
    >>> t = np.arange(20_000)
    >>> round(auto_window(np.sin(2 * np.pi * t / 360)[None]), -1), auto_window(np.sin(2 * np.pi * t / 150)[None])
    (360, 128)
    """
    return auto_window_and_cycle(Z)[0]


def auto_window_and_cycle(Z: np.ndarray) -> tuple[int, bool]:
    """:func:`auto_window`'s window, and whether it is a period found in ``Z`` (an autocorrelation peak of
    :func:`dominant_period` reaches its ``min_corr``) rather than the default, from one autocorrelation.

    Examples
    --------
    >>> t = np.arange(2000)
    >>> auto_window_and_cycle(np.sin(2 * np.pi * t / 50)[None])
    (50, True)
    >>> auto_window_and_cycle(np.random.default_rng(0).normal(size=(1, 2000)))[1]
    False
    """
    longest = longest_auto_window(*Z.shape)
    period, cyclic = _period_of(_autocorrelation_peak(Z, 8, longest), 8, longest)
    return (128 if 128 < period < 256 else period), cyclic


def _moving_mean(v: np.ndarray, length: int) -> np.ndarray:
    """The centred moving mean of ``v`` over ``length`` samples, over the samples there are at the ends."""
    total = np.concatenate([[0.0], np.cumsum(v)])  # float64 sums of a centred series: rounding far below its noise
    ends = np.minimum(np.arange(v.size) + (length - length // 2), v.size)
    starts = np.maximum(np.arange(v.size) - length // 2, 0)
    return (total[ends] - total[starts]) / (ends - starts)


def dominant_period(x: np.ndarray, low: int = 8, high: int = 128, min_corr: float = 0.2,
                    default: int = 32) -> int:
    """Pick a window length from the data's dominant period (autocorrelation peak).

    Parameters
    ----------
    x
        ``(n_sensors, n_samples)`` array, or ``(n,)`` for one sensor (NaN-free).
    low, high
        The returned length is clamped to ``[low, high]``.
    min_corr
        If no sensor's autocorrelation peak reaches this, ``default`` is returned.
    default
        The length returned without a clear period (clamped too).

    Returns
    -------
    int
        The window length.

    Notes
    -----
    On a series longer than :data:`LONG_SERIES`, cycles much slower than ``high`` (a daily cycle in data a second
    apart) are first taken out (a centred moving mean of ``2 * high`` samples subtracted) and only lags up to
    ``4 * high`` are looked at: the length is then the same whatever the series' length. Without that, the slow
    cycle ruled the autocorrelation as soon as the series held enough of it, and the same process sampled each
    second got a window of 60 from 10,000 rows, 32 from 100,000 and 128 from 1,000,000. Each lag's correlation is
    weighted down as a short series' estimate is (by ``lag / (8 * high)``), so that of a cycle's equal peaks the
    first, the cycle itself, wins, not one of its multiples.

    Examples
    --------
    >>> t = np.arange(2000)
    >>> dominant_period(np.sin(2 * np.pi * t / 50))
    50
    """
    return _period_of(_autocorrelation_peak(x, low, high), low, high, min_corr, default)[0]


def _period_of(best: tuple[float, int] | None, low: int, high: int, min_corr: float = 0.2,
               default: int = 32) -> tuple[int, bool]:
    """:func:`dominant_period`'s length from the autocorrelation peak ``best`` (correlation, lag), and whether it is
    that peak's lag (a period found) rather than ``default``."""
    found = best is not None and best[0] >= min_corr
    return int(np.clip(best[1] if best is not None and found else default, low, high)), found


def _autocorrelation_peak(x: np.ndarray, low: int, high: int) -> tuple[float, int] | None:
    """The highest autocorrelation peak after its first zero crossing over the rows of ``x``: (correlation, lag)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    n = x.shape[1]
    long = n > LONG_SERIES
    lags = min(n // 2, 4 * high) if long else n // 2
    best: tuple[float, int] | None = None
    for row in x:
        v = row - row.mean()
        if n < 2 * low or not np.any(v):
            continue
        if long:
            v = v - _moving_mean(v, 2 * high)
        spectrum = np.fft.rfft(v, 2 * n)
        ac = np.fft.irfft(spectrum * np.conj(spectrum))[:lags]
        if ac[0] <= 0:
            continue
        ac = ac / ac[0]
        if long:  # as a short series' estimate falls with the lag: the first of equal peaks (a cycle, not its multiple)
            ac = ac * (1.0 - np.arange(ac.size) / (2.0 * lags))
        # the dominant period is the highest autocorrelation peak after its first zero crossing
        negative = np.flatnonzero(ac < 0)
        if negative.size == 0:
            continue
        start = int(negative[0])
        if start + 2 >= ac.size:
            continue
        k = int(np.argmax(ac[start:])) + start
        if best is None or ac[k] > best[0]:
            best = (float(ac[k]), k)
    return best


def longest_missing_runs(x: np.ndarray) -> np.ndarray:
    """The longest run of NaN of each row of ``x`` (C, n), in samples.

    Parameters
    ----------
    x
        ``(n_sensors, n_samples)``; NaN is missing.

    Returns
    -------
    ndarray
        ``(n_sensors,)`` int64 run lengths (0: no missing value).

    Examples
    --------
    >>> longest_missing_runs(np.array([[1.0, np.nan, np.nan, 2.0, np.nan], [1.0, 2.0, 3.0, 4.0, 5.0]]))
    array([2, 0])
    """
    out = np.zeros(x.shape[0], dtype=np.int64)
    for i, row in enumerate(np.isnan(x)):
        if row.any():
            edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
            out[i] = int(np.max(edges[1::2] - edges[::2]))
    return out


def repaired_as_scored(x: np.ndarray) -> np.ndarray:
    """``x`` (C, n) with its missing values repaired as the scoring core repairs them.

    A missing value holds the sensor's last good value; before its first good value, the sensor's
    training mean, the value the core holds there (the normaliser's centre). That mean is the
    repaired series' own: the mean of the samples from the first good value on, which the held
    samples before it do not move. (Held at the first good value instead, a sensor that starts late
    scored one way at fit and another on the same data afterwards.)

    Parameters
    ----------
    x
        ``(n_sensors, n_samples)``; NaN is missing.

    Returns
    -------
    ndarray
        A repaired copy of ``x``.

    Examples
    --------
    >>> repaired_as_scored(np.array([[np.nan, 1.0, np.nan, 4.0]]))
    array([[2., 1., 1., 4.]])
    """
    out = repair_missing(x, method="ffill")
    for i, row in enumerate(x):
        valid = np.flatnonzero(np.isfinite(row))
        if valid.size and valid[0] > 0:
            out[i, : valid[0]] = out[i, valid[0]:].mean()
    return out


#: the longest score smoothing, in samples: the most a detector file holds (``extra.smooth``)
MAX_SMOOTH = MAX_INT_HPARAM


def smooth_length(value: int | str | None, window: int) -> int:
    """``"window"`` -> window, ``"2*window"`` -> 2 * window, a number -> itself (>= 1).

    At most :data:`MAX_SMOOTH` samples: what a detector file holds (a longer moving mean
    could not be loaded again, and its zero padding alone would take gigabytes).

    Parameters
    ----------
    value
        The ``smooth`` setting: a number of samples, its text, ``"k*window"``, or None (1: no smoothing).
    window
        The detector's window, in samples.

    Returns
    -------
    int
        The smoothing length in samples.

    Raises
    ------
    ValueError
        ``value`` names no length, or one over :data:`MAX_SMOOTH`.

    Examples
    --------
    >>> smooth_length("2*window", 32)
    64
    >>> smooth_length(10**9, 32)
    Traceback (most recent call last):
    ...
    ValueError: smooth=1000000000: at most 1048576 samples (what a detector file holds), or 'k*window'
    """
    if value is None:
        return 1
    if isinstance(value, str):
        text = value.replace(" ", "").lower()
        if text.endswith("window"):
            factor = text[: -len("window")].rstrip("*") or "1"
            try:
                length = max(1, int(round(float(factor) * window)))
            except (ValueError, OverflowError):  # "inf*window" has no length either
                raise ValueError(f"smooth={value!r}: use a number of samples or 'k*window'") from None
            if length > MAX_SMOOTH:  # the default "2*window" too: the window is what to shorten
                raise ValueError(f"smooth={value!r} is {length} samples with window={window}, over the {MAX_SMOOTH} "
                                 f"a detector file holds: {_shorter(float(factor))} or a smooth of at most "
                                 f"{MAX_SMOOTH} samples")
            return length
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"smooth={value!r}: use a number of samples or 'k*window'") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"smooth={value!r}: use a number of samples (>= 1) or 'k*window'")
    return _at_most_max_smooth(value, int(value))


def longest_window_for(factor: float, most: int) -> int:
    """The longest window whose smoothing of ``factor`` windows (``"k*window"``) is at most ``most`` samples.

    >>> longest_window_for(2.0, 1048576)
    524288
    """
    window = max(1, int(most // factor))
    while window > 1 and max(1, int(round(factor * window))) > most:
        window -= 1
    while max(1, int(round(factor * (window + 1)))) <= most:
        window += 1
    return window


def _shorter(factor: float) -> str:
    """What makes a smoothing of ``factor`` windows short enough for a detector file: the longest window, if any."""
    window = longest_window_for(factor, MAX_SMOOTH)
    if max(1, int(round(factor * window))) > MAX_SMOOTH:
        return "use a smaller multiple of the window"
    return f"use a window of at most {window}"


def _at_most_max_smooth(value: Any, length: int) -> int:
    """``length`` (of the smoothing ``value``) if it is at most :data:`MAX_SMOOTH`, else a ValueError naming it."""
    if length > MAX_SMOOTH:
        raise ValueError(f"smooth={shown(value)}: at most {MAX_SMOOTH} samples (what a detector file holds), "
                         "or 'k*window'")
    return length


__all__ = ["AUTO_WINDOW_VALUES", "LONG_AUTO_WINDOW", "LONG_SERIES", "MAX_SMOOTH", "as_series", "auto_window",
           "auto_window_and_cycle", "dominant_period", "index_interval", "longest_auto_window", "longest_missing_runs",
           "longest_window_for", "repaired_as_scored", "smooth_length"]
