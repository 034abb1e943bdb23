"""The times a detector's seasonal profile is learnt and removed at, read alike in fitting and scoring, from a
table, an array or a stream: dates (numpy, pandas, Python, ISO text) and numbers as Unix times.

A date without a UTC offset is taken as written (the wall clock of the place it was written). A UTC instant (a Unix
time, a date with an offset or a zone) is read in UTC, or, given a zone (an IANA name: a detector's ``timezone``), on
that zone's wall clock (:func:`~tsae.io.time_zone.wall_clock`, daylight saving time included): a stream of Unix
times then meets a profile learnt from a table of local dates at the same hours.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def as_datetimes(times: Any, zone: str | None = None, utc: bool = False) -> np.ndarray | None:
    """``times`` as ``datetime64[ns]`` (NaT where a time is no date), or None when none of them is a date.

    Dates (numpy, pandas, Python) and ISO texts are read as the monitor's record parser reads them; numbers are not
    dates (:func:`profile_dates` reads them as Unix times). A date that names a UTC instant (an ISO text ending in
    ``Z`` or an offset, a date or pandas index with a zone; with ``utc``, every date: a table's time column that
    named UTC instants) is read as that instant's time in UTC, or with ``zone`` (an IANA name) on that zone's wall
    clock (:func:`~tsae.io.time_zone.wall_clock`); a date without one (numpy's ``datetime64`` included) is taken as
    written, on the wall clock of the place it was written.
    """
    if times is None:
        return None
    kind = getattr(getattr(times, "dtype", None), "kind", None)
    instant: np.ndarray | bool = utc
    if kind == "M":
        if (getattr(times, "tz", None) or getattr(getattr(times, "dt", None), "tz", None)) is not None:
            import pandas as pd  # a pandas index or series with a zone: its UTC instants

            times, instant = pd.DatetimeIndex(times).tz_convert("UTC").tz_localize(None), True
        out = np.asarray(times, dtype="datetime64[ns]")
    elif kind in ("i", "u", "f", "b", "m"):
        return None
    else:
        out, instant = _object_datetimes(times)
        instant = instant | utc
    if np.isnat(out).all():
        return None
    return _on_clock(out, instant, zone)


def _object_datetimes(times: Any) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``times`` as ``datetime64[ns]`` (NaT where it is no date) and whether it named a UTC instant."""
    from tsae.io.records import _time_parts
    from tsae.io.table_time import names_utc

    out = np.full(len(times), np.datetime64("NaT"), dtype="datetime64[ns]")
    instant = np.zeros(len(times), dtype=bool)
    for i, value in enumerate(times):
        if isinstance(value, np.datetime64):
            out[i] = value.astype("datetime64[ns]")
            continue
        if hasattr(value, "to_datetime64"):
            instant[i] = getattr(value, "tzinfo", None) is not None
            out[i] = value.tz_convert("UTC").tz_localize(None).to_datetime64() if instant[i] \
                else value.to_datetime64()
            continue
        status, number, is_date = _time_parts(value)
        if status == "ok" and is_date and number is not None:
            out[i] = np.datetime64(int(number), "ns")
            instant[i] = names_utc(value) if isinstance(value, str) else \
                getattr(value, "utcoffset", lambda: None)() is not None  # a Python datetime with a zone
    return out, instant


def _on_clock(dates: np.ndarray, instant: np.ndarray | bool, zone: str | None) -> np.ndarray:
    """``dates`` with those that are UTC instants (``instant``: a mask, or one flag for all) on ``zone``'s wall
    clock; without a zone, as they are."""
    if zone is None or not np.any(instant):
        return dates
    from tsae.io.time_zone import wall_clock

    if np.all(instant):
        return wall_clock(dates, zone)
    out = dates.copy()
    out[instant] = wall_clock(dates[instant], zone)
    return out


#: Unix times in seconds, milliseconds, microseconds and nanoseconds are told apart by their size: each unit's
#: range covers 2001-09-09 to 2286-11-20, and the ranges do not overlap
_EPOCH_UNITS = ((1e9, 1e10, 10**9), (1e12, 1e13, 10**6), (1e15, 1e16, 10**3), (1e18, 1e19, 1))


def epoch_datetimes(times: Any, zone: str | None = None) -> np.ndarray | None:
    """Numbers ``times`` read as Unix times (UTC instants, ``datetime64[ns]``; the unit told by their size, see
    ``_EPOCH_UNITS``), with ``zone`` on its wall clock; NaT where one is no such time; None when ``times`` are not
    numbers or none is one."""
    if times is None or isinstance(times, (str, bytes)):
        return None
    try:
        values = np.asarray(times, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    for low, high, ns in _EPOCH_UNITS:
        hit = np.isfinite(values) & (np.abs(values) >= low) & (values < high)
        out[hit] = (np.round(values[hit] * ns)).astype(np.int64).astype("datetime64[ns]")
    return None if np.isnat(out).all() else _on_clock(out, True, zone)


def profile_dates(times: Any, zone: str | None = None, utc: bool = False) -> np.ndarray | None:
    """The times a profile is learnt at and removed at (fitting and scoring alike, a table, an array or a stream):
    ``times`` read as dates (:func:`as_datetimes`), else as Unix times (:func:`epoch_datetimes`); None when they are
    neither.

    Dates without a UTC offset are taken as written; UTC instants (Unix times, dates with an offset or zone) are read
    on ``zone``'s wall clock (an IANA name; None: in UTC, as they name them). ``utc``: dates that are ``datetime64``
    name UTC instants (a table's time column with offsets, :attr:`~tsae.io.tables.Table.time_utc`).

    Examples
    --------
    >>> profile_dates([1711843200, 1711846800], "Europe/Berlin")  # 00:00 and 01:00 UTC; summer time from 01:00
    array(['2024-03-31T01:00:00.000000000', '2024-03-31T03:00:00.000000000'],
          dtype='datetime64[ns]')
    >>> profile_dates(["2024-03-31 02:30", "2024-03-31T02:30Z"], "Europe/Berlin")  # as written; an instant
    array(['2024-03-31T02:30:00.000000000', '2024-03-31T04:30:00.000000000'],
          dtype='datetime64[ns]')
    """
    dates = as_datetimes(times, zone, utc)
    return epoch_datetimes(times, zone) if dates is None else dates


def series_times(X: Any, zone: str | None = None) -> np.ndarray | None:
    """The times of a pandas object's ``DatetimeIndex`` (:func:`as_datetimes`, ``zone`` as there), else None."""
    index = getattr(X, "index", None)
    if index is None or getattr(getattr(index, "dtype", None), "kind", None) != "M":
        return None
    return as_datetimes(index, zone)


def sample_times(X: Any, times: Any, n: int, zone: str | None = None) -> np.ndarray | None:
    """The times of ``n`` samples, to fit or remove a profile at: ``times`` read as dates or Unix times
    (:func:`profile_dates`, ``zone`` as there), else ``X``'s time index, else None; a ValueError when ``times`` does
    not give one per sample."""
    if times is None:
        return series_times(X, zone)
    check_time_count(times, n)
    return profile_dates(times, zone)


def check_time_count(times: Any, n: int) -> None:
    """A ValueError unless ``times`` holds one time per sample of ``n`` (text, a scalar or a dict holds none).

    Examples
    --------
    >>> check_time_count(5, 3)
    Traceback (most recent call last):
    ...
    ValueError: times must hold one time per sample (3), got a int
    """
    if isinstance(times, (str, bytes, dict)) or not hasattr(times, "__len__") or len(times) != n:
        count = len(times) if hasattr(times, "__len__") and not isinstance(times, (str, bytes, dict)) else None
        raise ValueError(f"times must hold one time per sample ({n}), got "
                         f"{count if count is not None else 'a ' + type(times).__name__}")


__all__ = ["as_datetimes", "check_time_count", "epoch_datetimes", "profile_dates", "sample_times", "series_times"]
