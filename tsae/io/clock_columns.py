"""Times written as clock readings: a date column with the time of day beside it, or elapsed ``hh:mm:ss``.

Many loggers and spreadsheet exports write the time of a row in two columns (``Date,Time`` /
``2024-02-01,10:00:00``), or only a clock reading (``Time`` / ``00:01:30``, ``0:01:30.5``, MATLAB's ``90 sec``).
The table reader reads a time column of numbers or dates; :func:`clock_plan` tells, from the start of a table,
whether its time is written so, and :func:`clock_lines` turns each line into one the reader reads:

- a date column right before a ``Time`` column of clock readings becomes one column of dates named after both
  (``Date Time`` / ``2024-02-01 10:00:00``), with the time of day;
- a ``Time`` column of clock readings alone becomes seconds (``00:01:30`` -> ``90``; ``1.5 min`` -> ``90``),
  elapsed, or since midnight for a time of day; times of day that pass midnight (``23:59:59``, ``00:00:00``) go on
  into the next day (``86400``), as :class:`DayWraps` tells them.

Every line gives one line, so messages keep their line numbers; a cell that is no clock reading is left as it is,
and the reader then tells it as the time column's error.
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tsae.io.table_cells import _is_missing, is_comment
from tsae.io.table_time import CLOCK_NAMES, DATE_NAMES, _iso_date
from tsae.io.time_order import GAP_STEPS

#: ``h:mm``, ``hh:mm:ss``, ``hh:mm:ss.fff`` (hours may run past 24 in an elapsed time)
_CLOCK = re.compile(r"(\d{1,4}):([0-5]\d)(?::([0-5]\d(?:[.,]\d+)?))?$")
#: a number and a unit, as MATLAB writes durations (``90 sec``, ``1.5 min``, ``2 hr``, ``1 day``)
_DURATION = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?) ?(sec|secs|s|min|mins|hr|hrs|h|day|days)$")
_UNIT_SECONDS = {"sec": 1.0, "secs": 1.0, "s": 1.0, "min": 60.0, "mins": 60.0, "hr": 3600.0, "hrs": 3600.0,
                 "h": 3600.0, "day": 86400.0, "days": 86400.0}
#: a cell that may be a date (ISO, dotted or with a month's name): digits with ``-``, ``.`` or ``/`` between
_DATE_LIKE = re.compile(r"\d{1,4}[-./][\dA-Za-z]{1,9}[-./]\d{1,4}$")
#: rows of a sample a plan is judged on
_PLAN_ROWS = 50
#: seconds in a day
DAY = 86400.0


@dataclass(frozen=True)
class ClockPlan:
    """Where a table's clock readings are: the ``time`` column (0-based), the ``date`` column before it (None:
    elapsed or time-of-day seconds), the header's line among the lines read (1-based), and the time column's name
    (lower case)."""

    time: int
    date: int | None
    header_line: int
    name: str = field(default="", compare=False)


def clock_seconds(cell: str) -> float | None:
    """The seconds of a clock reading or duration (``01:30`` -> 5400, ``00:01:30.5`` -> 90.5, ``2 min`` -> 120), or
    None for any other cell.

    Examples
    --------
    >>> clock_seconds("00:01:30"), clock_seconds("1:30"), clock_seconds("25:00:00,5"), clock_seconds("90 sec")
    (90.0, 5400.0, 90000.5, 90.0)
    >>> clock_seconds("2024-01-01"), clock_seconds("1.5")
    (None, None)
    """
    text = cell.strip()
    match = _CLOCK.match(text)
    if match is not None:
        hours, minutes, seconds = match.groups()
        return int(hours) * 3600.0 + int(minutes) * 60.0 + (float(seconds.replace(",", ".")) if seconds else 0.0)
    match = _DURATION.match(text)
    if match is not None:
        seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
        return seconds if math.isfinite(seconds) else None  # '1e400 sec': no time (the reader tells the cell)
    return None


def clock_time(stamp: str, date: str | None = None) -> str | None:
    """The time a clock reading ``stamp`` names, as text the readers read, or None when it is no clock reading: with
    ``date`` (the cell of a date column right before it), the date and the time of day; else its seconds.

    Examples
    --------
    >>> clock_time("10:00:01", "2024-02-01"), clock_time("9:05", "01.02.2024"), clock_time("00:01:30")
    ('2024-02-01 10:00:01', '2024-02-01 09:05', '90')
    >>> clock_time("2024-02-01 10:00"), clock_time("1:30", "")
    (None, '5400')
    """
    seconds = clock_seconds(stamp)
    if seconds is None:
        return None
    if date is not None and date.strip() and _DATE_LIKE.match(date.strip()) and _CLOCK.match(stamp.strip()):
        return f"{_iso_date(date.strip())} {_padded(stamp.strip())}"
    return seconds_text(seconds)


def seconds_text(seconds: float) -> str:
    """Seconds as text the readers read back exactly: ``90``, ``90.5``."""
    return repr(seconds) if seconds != int(seconds) else str(int(seconds))


class DayWraps:
    """Times of day without a date that pass midnight, read on into the next day: a reading that steps back by more
    than half a day to one that is the next day's one step on (no more than :data:`~tsae.io.time_order.GAP_STEPS`
    times the step before it, the gap the table reader warns of) adds a day, as a logger's ``23:59:59``,
    ``00:00:00`` over two days means. Any other step back stays one (the rows are told out of order), and a reading
    that is no time of day (``25:00:00``, ``90 sec``) is elapsed time: no day is added after it.

    Feed the readings in order; ``wraps`` counts the days added, ``first`` is where the first was (as the caller
    numbers readings); ``name`` is the time column's, for :meth:`told`.

    Examples
    --------
    >>> days = DayWraps()
    >>> [days.seconds(cell, n) for n, cell in enumerate(["23:59:58", "23:59:59", "00:00:00", "00:00:01"])]
    [86398.0, 86399.0, 86400.0, 86401.0]
    >>> days.wraps, days.first
    (1, 2)
    >>> elapsed = DayWraps()
    >>> [elapsed.seconds(cell) for cell in ["23:00:00", "25:00:00", "00:00:00"]]
    [82800.0, 90000.0, 0.0]
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.wraps = 0
        self.first: int | None = None
        self._last: float | None = None
        self._step: float | None = None
        self._elapsed = False

    def seconds(self, cell: str, where: int = 0) -> float | None:
        """The seconds of the clock reading ``cell`` (:func:`clock_seconds`) from the first reading's midnight, or
        None (the state unchanged) for a cell that is no clock reading; ``where`` numbers it for :attr:`first`."""
        seconds = clock_seconds(cell)
        if seconds is None:
            return None
        if self._elapsed or seconds >= DAY or not _CLOCK.match(cell.strip()):
            self._elapsed = True
            return seconds + self.wraps * DAY
        last = self._last
        if last is not None and seconds < last:
            ahead = seconds + DAY - last
            if ahead < DAY / 2 and (self._step is None or ahead <= GAP_STEPS * self._step):
                self.wraps += 1
                self.first = where if self.first is None else self.first
                self._step = ahead
        elif last is not None and seconds > last:
            self._step = seconds - last
        self._last = seconds
        return seconds + self.wraps * DAY

    def told(self) -> str:
        """What to warn of when the readings passed midnight (call only when they did)."""
        named = f" {self.name!r}" if self.name else ""
        return (f"the time column{named} is times of day without a date that pass midnight: read on into "
                f"the next day ({self.wraps} time(s), the first at line {self.first}), as seconds from the first "
                "day's midnight")


def clock_plan(sample: str, dialect: Any, skip: int = 0) -> ClockPlan | None:
    """The :class:`ClockPlan` of a table from a sample of its text (read with ``dialect``, after ``skip`` lines), or
    None when its time is not written as clock readings: its header names a column :data:`CLOCK_NAMES` names whose
    first cell (missing ones aside) is a clock reading."""
    if "\r" in sample.replace("\r\n", "\n"):  # classic Mac line ends, or a carriage return inside a cell
        return None
    lines = sample.split("\n")[:-1] if "\n" in sample else []  # the last line may be cut short
    found: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, 1):
        if number <= skip or not line.strip() or is_comment(line):
            continue
        if line.count('"') % 2:  # a quoted cell over several lines: its lines are not rows
            return None
        try:
            found.append((number, next(csv.reader([line], dialect), [])))
        except csv.Error:
            return None
        if len(found) == 1 and not any(name.strip().lower() in CLOCK_NAMES for name in found[0][1]):
            return None  # the header names no clock column (most tables): its rows need not be read
        if len(found) > _PLAN_ROWS:
            break
    if len(found) < 2:
        return None
    header_line, header = found[0]
    names = [name.strip().lower() for name in header]
    time = next((j for j, name in enumerate(names) if name in CLOCK_NAMES), None)
    if time is None or names.count(names[time]) > 1:
        return None
    # the first time decides, as the first cells decide what any column is: a later cell that is no clock reading
    # is then told at its own line by the reader (all of them judged here, the first one's line was blamed)
    rows = [row for _, row in found[1:] if len(row) == len(header) and not _is_missing(row[time])]
    if not rows or clock_seconds(rows[0][time]) is None:
        return None
    if not time or names[time - 1] not in DATE_NAMES:
        return ClockPlan(time, None, header_line, names[time])
    dated = next((row for row in rows if not _is_missing(row[time - 1])), None)
    if dated is None or not (_DATE_LIKE.match(dated[time - 1].strip()) and _CLOCK.match(dated[time].strip())):
        # no date, or a duration beside it: seconds, the date column as is
        return ClockPlan(time, None, header_line, names[time])
    return ClockPlan(time, time - 1, header_line)


def clock_lines(lines: Iterable[str], dialect: Any, plan: ClockPlan, days: DayWraps | None = None) -> Iterator[str]:
    """The lines of a table with its clock readings as the reader reads times (see the module notes); every line
    gives one line. Times of day without a date that pass midnight are read on into the next day by ``days`` (a new
    :class:`DayWraps` when None; pass one to learn whether they did: its ``first`` is a line number)."""
    delimiter = dialect.delimiter
    days = DayWraps() if days is None else days
    for number, line in enumerate(lines, 1):
        if number < plan.header_line or not line.strip() or is_comment(line):
            yield line
            continue
        body = line.rstrip("\r\n")
        end = line[len(body):]
        quoted = '"' in body
        if quoted and body.count('"') % 2:  # part of a cell over several lines: the reader tells it
            yield line
            continue
        try:
            cells = next(csv.reader([body], dialect), []) if quoted else body.split(delimiter)
        except csv.Error:
            yield line
            continue
        if len(cells) <= plan.time:
            yield line
            continue
        if number == plan.header_line:
            days.name = cells[plan.time].strip()
            if plan.date is not None:
                cells[plan.date: plan.time + 1] = [f"{cells[plan.date].strip()} {cells[plan.time].strip()}"]
        elif plan.date is not None:
            day, clock = cells[plan.date].strip(), cells[plan.time].strip()
            # a clock that is no time of day ('90 sec', 'x') is joined as it is: the reader tells it, at its line
            joined = ("" if _is_missing(day) or _is_missing(clock)
                      else f"{day} {_padded(clock) if _CLOCK.match(clock) else clock}")
            cells[plan.date: plan.time + 1] = [joined]
        else:
            seconds = days.seconds(cells[plan.time], number)
            if seconds is not None:
                cells[plan.time] = seconds_text(seconds)
        yield _joined(cells, dialect, quoted) + end


def _padded(clock: str) -> str:
    """A time of day as ISO 8601 writes it: ``9:05`` -> ``09:05``, a decimal comma as a point."""
    clock = clock.replace(",", ".")
    return "0" + clock if clock.index(":") == 1 else clock


def _joined(cells: list[str], dialect: Any, quoted: bool) -> str:
    if not quoted:
        return dialect.delimiter.join(cells)
    out = io.StringIO()
    csv.writer(out, dialect, lineterminator="").writerow(cells)
    return out.getvalue()
