"""A table's time column checked for the order its rows are used in: steps back, gaps, repeated times.

Every command uses a table's rows in file order, as consecutive samples; a time column that says
otherwise (rows out of order, a recording with a long pause, a repeated hour) is told in one
warning each, naming the file, so that a result made of shuffled or seamed rows never passes
without a word.
"""
from __future__ import annotations

import os
import warnings

import numpy as np


def warn_time_order(path: str | os.PathLike, time: np.ndarray | None, name: str | None, use: str,
                    gap_hint: str = "") -> None:
    """Warn (:class:`~tsae.io.table_absurd.TableWarning`, naming ``path``) when a table's time column goes back in time,
    has gaps of more than :data:`GAP_STEPS` typical steps, or repeats times. The rows are used in file order, as
    consecutive samples, whatever their times say; ``use`` says how (``"smoothed"``, ``"learnt from"``), and
    ``gap_hint`` ends the gap warning (what to do about it).
    """
    from tsae.io.tables import TableWarning

    if time is None:
        return
    back, (gaps, longest), (repeats, first) = _disorder(time)
    if back:
        warnings.warn(f"{path}: the time column {name!r} is not in increasing order ({back} step(s) back in time); "
                      f"the rows are {use} in file order", TableWarning, stacklevel=3)
    if gaps:
        warnings.warn(f"{path}: the time column {name!r} has {gaps} gap(s) of more than {GAP_STEPS} sampling steps "
                      f"(the longest {duration(longest)}); the rows on either side are {use} as consecutive samples"
                      f"{gap_hint}", TableWarning, stacklevel=3)
    if repeats:
        warnings.warn(f"{path}: the time column {name!r} has duplicate times ({repeats} row(s) repeat an earlier "
                      f"row's time, the first: {first}); the rows are {use} in file order, each as a sample of its "
                      "own", TableWarning, stacklevel=3)


def time_disorder(time: np.ndarray) -> str:
    """What in a time column :func:`warn_time_order` warns about, in its words, ``"; "``-joined: steps back in time,
    gaps, repeated times; ``""`` when none (a time column merely uneven). For a command that tells it in a warning
    of its own (``compress``, which drops such a column).

    Examples
    --------
    >>> time_disorder(np.array([0.0, 2.0, 1.0, 3.0, 3.0]))
    "1 step(s) back in time; 1 row(s) repeat an earlier row's time, the first: 3.0"
    """
    back, (gaps, longest), (repeats, first) = _disorder(time)
    told = []
    if back:
        told.append(f"{back} step(s) back in time")
    if gaps:
        told.append(f"{gaps} gap(s) of more than {GAP_STEPS} sampling steps, the longest {duration(longest)}")
    if repeats:
        told.append(f"{repeats} row(s) repeat an earlier row's time, the first: {first}")
    return "; ".join(told)


def _disorder(time: np.ndarray) -> tuple[int, tuple[int, float], tuple[int, str | None]]:
    """The steps back in time, :func:`time_gaps` and :func:`repeated_times` of a time column: what both
    :func:`warn_time_order` and :func:`time_disorder` tell."""
    from tsae.io.tables import time_seconds

    seconds = time_seconds(time)
    return int(np.count_nonzero(np.diff(seconds) < 0)), time_gaps(seconds), repeated_times(time)


#: a step between rows longer than this many typical (median) steps is a gap in the recording
GAP_STEPS = 100


def time_gaps(seconds: np.ndarray) -> tuple[int, float]:
    """``(how many steps between rows exceed GAP_STEPS median steps, the longest step in seconds)``.

    Examples
    --------
    >>> time_gaps(np.array([0.0, 60, 120, 180, 3 * 86400, 3 * 86400 + 60]))
    (1, 259020.0)
    >>> time_gaps(np.array([0.0, 1, 2, 5, 6]))
    (0, 3.0)
    """
    steps = np.diff(seconds)
    steps = steps[steps > 0]
    if steps.size == 0:
        return 0, 0.0
    gaps = steps > GAP_STEPS * float(np.median(steps))
    return int(gaps.sum()), float(steps.max())


def duration(seconds: float) -> str:
    """Seconds as a person reads them: ``45 s``, ``12 min``, ``5.0 h``, ``3.0 days``."""
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def repeated_times(time: np.ndarray) -> tuple[int, str | None]:
    """``(rows whose time an earlier row has, the first such time as text)``; missing times (NaN, NaT) repeat none.

    Examples
    --------
    >>> repeated_times(np.array([0.0, 1.0, 1.0, 2.0, 0.0, np.nan, np.nan]))
    (2, '1.0')
    """
    dates = np.issubdtype(time.dtype, np.datetime64)
    values = time[~np.isnat(time) if dates else np.isfinite(time)]
    order = np.argsort(values, kind="stable")  # equal times keep their file order
    ranked = values[order]
    later = order[1:][ranked[1:] == ranked[:-1]]  # where each repeat but the first of its time is
    if later.size == 0:
        return 0, None
    first = values[int(later.min())]
    text = str(np.datetime_as_string(first, unit="auto")) if dates else repr(first.item())
    return int(later.size), text


__all__ = ["GAP_STEPS", "duration", "repeated_times", "time_disorder", "time_gaps", "warn_time_order"]
