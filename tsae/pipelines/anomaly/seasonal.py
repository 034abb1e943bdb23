"""Normal levels by day of week (and, on request, by hour of day): a seasonal profile removed before scoring.

A plant's normal level changes with the weekday (a quiet weekend, a night shift on some days); a detector that knows
one level for all days flags each quiet weekend as a level shift (on the generated plant with a 15% weekend drop
of the demand, PR-AUC 0.797 against 0.915 without it). With real timestamps covering :data:`MIN_WEEKLY_DAYS` days
or more, a :class:`SeasonalProfile` learns, per sensor, its offset for each hour of the week from its mean day,
for the sensors whose weekdays differ beyond chance (:func:`fit_profile`); with ``"daily"`` (:data:`MIN_DAILY_DAYS`
days or more) also its mean level by hour of day. A series is scored as ``x - level(t)``, each profile linear
between the hours' centres, so it has no steps.

What the generated plant's decision seeds showed: the weekly offsets raised the PR-AUC with a weekend drop from
0.797 to 0.886 (0.915 unchanged without one; NAB's nyc_taxi, whose weekends have other busy hours, 0.742 to
0.823); hour-of-day levels lowered it without one (0.915 to 0.865: the network already learns a daily cycle its
windows see, and a stuck or stalled sensor less its profile is no flat line), and so did dividing by an hour-of-day
noise level (0.915 to 0.849; with busy hours' noise tripled, 0.895 to 0.748: a clipped or stalled sensor divided
by it is no flat line either), which is therefore not offered.

The profile is a function of the sample's time alone: batch scoring and the monitor compute the same values given
the same times. Times are read alike when fitting and scoring (:mod:`~tsae.pipelines.anomaly.profile_times`):
dates as the table reader reads them, numbers as Unix times; a date without a UTC offset as written, a UTC instant
in UTC or on the wall clock of the detector's ``timezone``. A profile's hours are those of these times.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tsae.pipelines.anomaly.profile_times import (  # read here before they had a module of their own
    as_datetimes,
    epoch_datetimes,
    profile_dates,
    sample_times,
    series_times,
)

#: days of training data (first to last timestamp) for an hour-of-day profile
MIN_DAILY_DAYS = 3.0
#: days for the hour-of-week offsets: each weekday seen twice
MIN_WEEKLY_DAYS = 14.0
#: the most seconds between samples for a profile: an hour's mean needs several samples
MAX_INTERVAL = 1800.0
#: a sensor's weekday levels are learnt where they differ beyond chance at this p-value
WEEKLY_P = 0.01
#: the hours of the day whose means are compared between weekdays, beside whole days'
BLOCK_HOURS = 4
#: hours of the week over which the weekly offsets are averaged (each hour of the week is seen only once a week)
WEEK_SMOOTH_HOURS = 5
SEASONAL_MODES = ("auto", "daily", "off")
_HOUR_NS = 3600 * 10**9
_DAY_HOURS, _WEEK_HOURS = 24, 168


def seasonal_setting(value: Any) -> str:
    """``Detector(seasonal=...)`` as one of :data:`SEASONAL_MODES` (True: ``"auto"``, False or None: ``"off"``).

    Examples
    --------
    >>> seasonal_setting(True), seasonal_setting(False), seasonal_setting("daily")
    ('auto', 'off', 'daily')
    """
    if value is True:
        return "auto"
    if value is False or value is None:
        return "off"
    if isinstance(value, str) and value in SEASONAL_MODES:
        return value
    raise ValueError(f"seasonal={value!r} must be 'auto' (levels by hour of the week where the weekdays differ), "
                     "'daily' (and by hour of day), 'off', True or False")


def _hours(times: np.ndarray) -> np.ndarray:
    """Hours since Monday 1970-01-05 00:00 (a Monday), float: the week's hour is this modulo 168."""
    ns = (times - np.datetime64("1970-01-05", "ns")).astype(np.int64)
    return ns / _HOUR_NS


def _bin_means(values: np.ndarray, bins: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``values`` (C, n): the mean of its finite values in each of ``count`` bins, and their count."""
    C = values.shape[0]
    ok = np.isfinite(values)
    sums = np.zeros((C, count))
    counts = np.zeros((C, count))
    for c in range(C):
        sums[c] = np.bincount(bins[ok[c]], values[c, ok[c]], minlength=count)
        counts[c] = np.bincount(bins[ok[c]], minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts, counts


def _at(profile: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """The circular profile ``(C, bins)`` of one-hour bins at ``hours`` (n,), linear between the bins' centres."""
    count = profile.shape[1]
    pos = np.mod(hours - 0.5, count)
    low = np.floor(pos).astype(np.int64)
    frac = pos - low
    return profile[:, low] * (1.0 - frac) + profile[:, (low + 1) % count] * frac


@dataclass
class SeasonalProfile:
    """Each sensor's normal level by hour of day (``daily``, (C, 24) or None) and its offset from it by hour of
    the week (``weekly``, (C, 168) or None)."""

    daily: np.ndarray | None = None
    weekly: np.ndarray | None = None

    def level_at(self, hours: np.ndarray) -> np.ndarray | float:
        level: np.ndarray | float = 0.0
        if self.daily is not None:
            level = _at(self.daily, hours)
        if self.weekly is not None:
            level = level + _at(self.weekly, hours)
        return level

    def apply(self, X: np.ndarray, times: np.ndarray) -> np.ndarray:
        """``X`` (C, n) without its normal level at ``times`` (datetime64, n).

        A NaT time takes the last time before it (the first ones: the first time there is); times all NaT: a
        ValueError.
        """
        return X - self.level_at(_hours(filled_times(times)))

    def describe(self) -> str:
        parts = ["hour-of-day levels"] if self.daily is not None else []
        if self.weekly is not None:
            parts.append("hour-of-week offsets")
        return ", ".join(parts)

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {} if self.daily is None else {"seasonal_daily": self.daily}
        if self.weekly is not None:
            arrays["seasonal_weekly"] = self.weekly
        return arrays


def filled_times(times: np.ndarray) -> np.ndarray:
    """``times`` with each NaT taking the last time before it (leading ones: the first time)."""
    bad = np.isnat(times)
    if not bad.any():
        return times
    if bad.all():
        raise ValueError("no sample has a time: the detector's time-of-day profile needs the samples' times")
    idx = np.where(~bad, np.arange(len(times)), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.flatnonzero(~bad)[0])
    idx[:first] = first
    return times[idx]


def fit_profile(X: np.ndarray, times: np.ndarray | None, mode: str) -> tuple[SeasonalProfile | None, str]:
    """The seasonal profile of training series ``X`` (C, n) at ``times`` (datetime64 or None), and why none.

    Parameters
    ----------
    X
        The training series (missing values NaN).
    times
        Each sample's time (:func:`as_datetimes`), or None.
    mode
        ``"auto"`` (the hour-of-week offsets of the sensors whose weekdays differ), ``"daily"`` (and the
        hour-of-day levels) or ``"off"``.

    Returns
    -------
    profile : SeasonalProfile or None
        None where ``mode`` is ``"off"``, there are no times, they cover under :data:`MIN_DAILY_DAYS` days
        (:data:`MIN_WEEKLY_DAYS` for ``"auto"``), they are further apart than :data:`MAX_INTERVAL`, an hour of the
        day has under 2 values of some sensor, or (``"auto"``) no sensor's weekdays differ.
    reason : str
        Why there is none ("" when there is one).
    """
    if mode == "off":
        return None, "turned off"
    if times is None or np.isnat(times).all():
        return None, "no timestamps"
    ok = ~np.isnat(times)
    t = times[ok]
    steps = np.diff(np.sort(t)).astype("timedelta64[ns]").astype(np.int64) / 1e9
    interval = float(np.median(steps)) if steps.size else np.inf
    span_days = (float((t.max() - t.min()) / np.timedelta64(1, "s")) + interval) / 86400.0  # the last sample's too
    if not span_days >= MIN_DAILY_DAYS:
        return None, f"the timestamps cover {span_days:.1f} days, under {MIN_DAILY_DAYS:g}"
    if not interval <= MAX_INTERVAL:
        return None, f"samples {interval:g} s apart, more than {MAX_INTERVAL:g}"
    V = X[:, ok]
    hours = _hours(t)
    day_bin = (np.floor(hours).astype(np.int64) % _DAY_HOURS)
    daily, counts = _bin_means(V, day_bin, _DAY_HOURS)
    if (counts < 2).any():
        return None, "an hour of the day holds under 2 values of a sensor"
    weekly = _weekly_offsets(V - _at(daily, hours), hours) if span_days >= MIN_WEEKLY_DAYS else None
    if mode == "daily":
        return SeasonalProfile(daily=daily, weekly=weekly), ""
    if weekly is None:
        return None, (f"the timestamps cover {span_days:.1f} days, under {MIN_WEEKLY_DAYS:g}"
                      if span_days < MIN_WEEKLY_DAYS else "no sensor's weekdays differ beyond chance")
    return SeasonalProfile(weekly=weekly), ""


def _weekly_offsets(rest: np.ndarray, hours: np.ndarray) -> np.ndarray | None:
    """Each sensor's offset from its daily profile by hour of the week (``rest``: the series less its hour-of-day
    levels), averaged over :data:`WEEK_SMOOTH_HOURS`; 0 for a sensor whose weekdays do not differ beyond their
    spread from week to week (:func:`_weekday_p`, p above :data:`WEEKLY_P`: a slow random walk's days would
    otherwise be learnt as the weekdays' levels), None where no sensor's differ."""
    week_bin = np.floor(hours).astype(np.int64) % _WEEK_HOURS
    weekly, counts = _bin_means(rest, week_bin, _WEEK_HOURS)
    if (counts < 2).any():
        return None
    keep = _weekday_p(rest, hours) < WEEKLY_P
    if not keep.any():
        return None
    box = np.ones(WEEK_SMOOTH_HOURS) / WEEK_SMOOTH_HOURS
    half = WEEK_SMOOTH_HOURS // 2
    padded = np.concatenate([weekly[:, -half:], weekly, weekly[:, :half]], axis=1)
    smooth = np.stack([np.convolve(row, box, "valid") for row in padded])
    return np.where(keep[:, None], smooth, 0.0)


def _weekday_p(rest: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Per sensor, how likely its weekdays differ this much by chance: one-way ANOVAs of its means by weekday, of
    whole days and of each :data:`BLOCK_HOURS` of the day (a weekend's other hours, not only its other level),
    the least p-value times their number (Bonferroni); 1 where the days do not allow a test."""
    from scipy.stats import f as f_distribution

    per_day = _DAY_HOURS // BLOCK_HOURS
    day = np.floor(hours / _DAY_HOURS).astype(np.int64)
    day -= day.min()
    days = int(day.max()) + 1
    block = (np.floor(hours).astype(np.int64) % _DAY_HOURS) // BLOCK_HOURS
    whole, whole_counts = _bin_means(rest, day, days)
    parts, part_counts = _bin_means(rest, day * per_day + block, days * per_day)
    tests = [(whole, whole_counts)] + [(parts[:, b::per_day], part_counts[:, b::per_day]) for b in range(per_day)]
    best = np.ones(rest.shape[0])
    for means, counts in tests:
        full = counts.min(axis=0) >= 0.5 * counts.max()  # days (or blocks) mostly covered
        weekday = (np.arange(means.shape[1]) % 7)[full]
        means = means[:, full]
        if len(np.unique(weekday)) < 7 or means.shape[1] <= 7:
            continue
        group_means = np.stack([means[:, weekday == d].mean(axis=1) for d in range(7)], axis=1)
        sizes = np.array([(weekday == d).sum() for d in range(7)])
        between = (sizes * (group_means - means.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / 6
        within = ((means - group_means[:, weekday]) ** 2).sum(axis=1) / (means.shape[1] - 7)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = f_distribution.sf(between / within, 6, means.shape[1] - 7)
        best = np.minimum(best, np.nan_to_num(p, nan=1.0))
    return np.minimum(best * len(tests), 1.0)


def deseasoned_training(X: Any, sensors: Any, times: Any, mode: str, zone: str | None = None,
                        ) -> tuple[Any, list[str] | None, float | None, SeasonalProfile | None, str]:
    """The training series as the detector learns from it: ``(X, sensors, interval, profile, why)``; ``times`` read
    by :func:`sample_times` (dates or Unix times, UTC instants on ``zone``'s wall clock); ``why`` there is no
    profile ("" where there is one).

    Without a profile (``mode`` off, no dates, too few days: :func:`fit_profile`) ``X`` and ``sensors`` come back as
    given, so the fit is the one without this step; with one, ``X`` is the ``(C, n)`` array with the profile
    removed, ``sensors`` its names, ``interval`` the seconds between samples that the dates give.
    """
    from tsae.io.table_absurd import absurd_as_missing
    from tsae.io.table_time import median_step
    from tsae.pipelines.anomaly.series_input import as_series

    if mode == "off":
        return X, sensors, None, None, "turned off"
    values, names = as_series(X, sensors)
    t = sample_times(X, times, values.shape[1], zone)
    if t is None:
        return X, sensors, None, None, "no timestamps"
    values = absurd_as_missing(values)
    profile, why = fit_profile(values, t, mode)
    if profile is None:
        return X, sensors, None, None, why
    good = t[~np.isnat(t)]
    return profile.apply(values, t), names, median_step(good), profile, ""


def read_profile(arrays: dict[str, np.ndarray], channels: int, problem: Any) -> SeasonalProfile | None:
    """The profile a detector file's ``arrays`` hold (None: none); ``problem(name, text)`` raises for a bad one."""
    shapes = {"seasonal_daily": (channels, _DAY_HOURS), "seasonal_weekly": (channels, _WEEK_HOURS)}
    found: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        if name not in arrays:
            continue
        value = np.asarray(arrays[name], np.float64)
        if value.shape != shape:
            problem(name, f"has shape {value.shape}, expected {shape}")
        if not np.isfinite(value).all():
            problem(name, "holds a value that is not finite")
        found[name] = value
    if not found:
        return None
    return SeasonalProfile(daily=found.get("seasonal_daily"), weekly=found.get("seasonal_weekly"))


__all__ = ["MAX_INTERVAL", "MIN_DAILY_DAYS", "MIN_WEEKLY_DAYS", "SEASONAL_MODES", "SeasonalProfile", "as_datetimes",
           "deseasoned_training", "epoch_datetimes", "filled_times", "fit_profile", "profile_dates", "read_profile",
           "sample_times", "seasonal_setting", "series_times"]
