"""The time column of a table: dates read (ISO 8601, dotted day-first), times as seconds, the step and rate
between rows, and the precision a date column (or one of whole numbers) is written with.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from tsae._warning_filters import ignored
from tsae.io.table_cells import _is_missing

#: a UTC offset at the end of an ISO time (``+05:00``, ``-0800``)
_OFFSET = re.compile(r"[+-]\d\d:?\d\d$")
#: the first this many times of a date column are looked at for a UTC offset
_OFFSET_ROWS = 1000


def names_utc(cell: str) -> bool:
    """Whether an ISO time names a UTC instant: it ends in ``Z`` or a UTC offset (written back ending in ``Z``).

    Examples
    --------
    >>> names_utc("2024-05-01T12:00Z"), names_utc("2024-05-01 12:00+02:00"), names_utc("2024-05-01 12:00")
    (True, True, False)
    """
    text = cell.strip()
    return text.endswith("Z") or _OFFSET.search(text) is not None


#: a dotted date, day first (``01.02.2024`` is 1 February), perhaps with a time after a space
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?=$|[ T])")
#: a date with the month's English abbreviation, day first (``01-Feb-2024``, MATLAB's datetime as writetable writes
#: it, also Oracle's and many loggers'), perhaps with a time after a space
_NAMED_MONTH = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})(?=$|[ T])")
_MONTHS = {name: i for i, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
#: a cell that is a number, not a date (as an error tells it)
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: dates tsae does not guess at: 01/02/2024 (which is the day?), and 12-hour times
_SLASHED = re.compile(r"\d{1,4}/\d{1,2}/\d{1,4}")
_TWELVE_HOUR = re.compile(r"\d[ T]?[AaPp]\.?[Mm]\.?$")


def _iso_date(cell: str) -> str:
    """``dd.mm.yyyy[ time]`` and ``dd-Mon-yyyy[ time]`` as ``yyyy-mm-dd[ time]``; any other text as it is."""
    if cell[1:2] not in ".-" and cell[2:3] not in ".-":  # cheap: ISO dates and numbers are left alone at once
        return cell
    match = _DOTTED.match(cell)
    if match is not None:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}{cell[match.end():]}"
    match = _NAMED_MONTH.match(cell)
    if match is not None and match[2].lower() in _MONTHS:
        day, month, year = match.groups()
        return f"{year}-{_MONTHS[month.lower()]:02d}-{int(day):02d}{cell[match.end():]}"
    return cell


def _clean_dates(cells: Sequence[str]) -> list[str]:
    """Date strings as numpy reads them (ISO, ``T`` between date and time, no ``Z``; dotted dates are day first),
    missing ones ``NaT``."""
    plain = _plain_iso(cells)
    if plain is not None:
        return plain
    return [_iso_date(c.strip()).replace(" ", "T", 1).rstrip("Z") if not _is_missing(c) else "NaT" for c in cells]


#: the bytes of a plain ISO date (``2024-02-01 10:00:00.250``, ``T`` or a space at its 11th character)
_ISO_BYTES = np.zeros(256, dtype=bool)
_ISO_BYTES[list(b"0123456789-:.T")] = True
_DIGITS = np.zeros(256, dtype=bool)
_DIGITS[list(b"0123456789")] = True


def _plain_iso(cells: Sequence[str]) -> list[str] | None:
    """:func:`_clean_dates` of cells all as long, made at once (a logger's time column); None for others, which are
    cleaned a cell at a time. Three forms, whose clean date the cells' bytes give without looking at each:

    - three digits then only the bytes of :data:`_ISO_BYTES` and a space as the 11th character
      (``2024-02-01 10:00:00``): the cell, its space a ``T``;
    - that, then ``Z`` or a UTC offset ``+hh:mm``, ``-hhmm`` (``2024-02-01T10:00:00+01:00``): the same without the
      ``Z`` (numpy reads the offset, as it does a cell's cleaned alone);
    - a dotted date, day first, of two-digit day and month, then nothing or a space or ``T`` and only such bytes
      (``06.12.2026 13:00:00``): ``yyyy-mm-dd``, then ``T`` and the rest.

    Such a cell is none missing (a digit first), without whitespace around it, one space at most: what
    :func:`_iso_date` and the cleaning make of each cell alone, byte for byte.
    """
    width = len(cells[0]) if len(cells) else 0
    if width < 3:
        return None
    joined = "\n".join(cells) + "\n"
    if len(joined) != len(cells) * (width + 1) or not joined.isascii():
        return None
    codes = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(cells), width + 1)
    if not (codes[:, width] == ord("\n")).all():
        return None
    if _DIGITS[codes[:, :3]].all():
        body = width - _utc_suffix(codes, width)
        if _iso_body(codes, body):
            if body == width:
                return joined.replace(" ", "T").split("\n")[:-1]
            if codes[0, body] != ord("Z"):  # an offset, kept for numpy
                return joined.replace(" ", "T").split("\n")[:-1]
            return joined.replace(" ", "T").replace("Z", "").split("\n")[:-1]
        return None
    return _dotted(codes, width)


def _iso_body(codes: np.ndarray, width: int) -> bool:
    """Whether the first ``width`` bytes of each row of ``codes`` are :data:`_ISO_BYTES`, a space allowed as the 11th
    of a longer one."""
    plain = _ISO_BYTES[codes[:, :width]]
    if width > 11:  # a space within the cell, not at its end (stripped)
        plain[:, 10] |= codes[:, 10] == ord(" ")
    return bool(plain.all())


def _utc_suffix(codes: np.ndarray, width: int) -> int:
    """The length of the ``Z`` (1) or UTC offset (``+01:00`` 6, ``+0100`` 5) that ends every row of ``codes``
    (``width`` bytes each) alike, after a time (more than 13 bytes before it); 0 for none."""
    last = codes[:, width - 1]
    if width > 14 and (last == ord("Z")).all():
        return 1
    for size, colon in ((6, True), (5, False)):
        if width <= 13 + size:
            continue
        tail = codes[:, width - size:width]
        sign = (tail[:, 0] == ord("+")) | (tail[:, 0] == ord("-"))
        digits = _DIGITS[tail[:, [1, 2, 4, 5]] if colon else tail[:, 1:]].all(axis=1)
        if (sign & digits).all() and (not colon or (tail[:, 3] == ord(":")).all()):
            return size
    return 0


def _dotted(codes: np.ndarray, width: int) -> list[str] | None:
    """The ``yyyy-mm-ddTrest`` of rows of ``codes`` that are each ``dd.mm.yyyy`` then nothing, or a space or ``T``
    and :data:`_ISO_BYTES` (``width`` bytes each and a newline), made at once; None for others."""
    if width != 10 and width < 12:
        return None
    dots = (codes[:, 2] == ord(".")) & (codes[:, 5] == ord("."))
    digits = _DIGITS[codes[:, [0, 1, 3, 4, 6, 7, 8, 9]]].all(axis=1)
    if not (dots & digits).all():
        return None
    if width > 10 and not (((codes[:, 10] == ord(" ")) | (codes[:, 10] == ord("T"))).all()
                           and _ISO_BYTES[codes[:, 11:width]].all()):
        return None
    out = np.empty_like(codes)
    out[:, 0:4] = codes[:, 6:10]
    out[:, [4, 7]] = ord("-")
    out[:, 5:7] = codes[:, 3:5]
    out[:, 8:10] = codes[:, 0:2]
    out[:, 10:] = codes[:, 10:]
    if width > 10:
        out[:, 10] = ord("T")
    return out.tobytes().decode("ascii").split("\n")[:-1]


def _parse_dates(cleaned: list[str]) -> np.ndarray | None:
    """:func:`_clean_dates` strings as datetime64[ns]; None when they are not all dates.

    Times with a UTC offset are read as the UTC instant they name (datetime64 has no time zones);
    :func:`read_table` warns about them, naming the file.
    """
    # every date has a "-" (ISO, dotted ones made ISO): numpy reads a bare number as a year ("1704067250", "0")
    if any("-" not in c and c != "NaT" for c in cleaned):
        return None
    split = _split_offsets(cleaned)
    if split is not None:
        return _offset_dates(*split)
    try:
        with ignored():  # numpy: "no explicit representation of timezones", naming no file
            days = np.array(cleaned, dtype="datetime64[D]")
            if days.size and (np.nanmin(days) < _FIRST_DAY or np.nanmax(days) > _LAST_DAY):
                return None  # nanoseconds would wrap around (3000-01-01 became 1830-11-23)
            return np.array(cleaned, dtype="datetime64[ns]")
    except (ValueError, TypeError, OverflowError):
        return None


def _split_offsets(cleaned: list[str]) -> tuple[list[str], np.ndarray] | None:
    """The times without their UTC offset and the offsets in minutes (``+01:00``: 60), when :func:`_clean_dates`
    strings are all as long and end alike in an offset numpy reads (hours to 23, minutes to 59) after a time; else
    None. numpy reads a time with an offset some 25 times slower than one without."""
    if not cleaned or cleaned[0][-6:-5] not in ("+", "-") and cleaned[0][-5:-4] not in ("+", "-"):
        return None  # cheap: most columns have no offset
    width = len(cleaned[0])
    joined = "\n".join(cleaned) + "\n"
    if len(joined) != len(cleaned) * (width + 1) or not joined.isascii():
        return None
    codes = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(cleaned), width + 1)
    size = _utc_suffix(codes, width)
    if size not in (5, 6) or not (codes[:, width] == ord("\n")).all() or not _date_time(codes[:, :width - size]):
        return None
    tail = codes[:, width - size:width].astype(np.int64) - ord("0")
    hours = 10 * tail[:, 1] + tail[:, 2]
    minutes = 10 * tail[:, size - 2] + tail[:, size - 1]
    if (hours > 23).any() or (minutes > 59).any():
        return None  # refused by numpy: let it tell
    sign = np.where(codes[:, width - size] == ord("-"), -1, 1)
    bodies = np.ascontiguousarray(codes[:, np.r_[0:width - size, width]]).tobytes().decode("ascii")
    return bodies.split("\n")[:-1], sign * (60 * hours + minutes)


_CLOCK_BYTES = np.zeros(256, dtype=bool)
_CLOCK_BYTES[list(b"0123456789:.")] = True


def _date_time(codes: np.ndarray) -> bool:
    """Whether each row of ``codes`` is ``yyyy-mm-ddT`` then only digits, ``:`` and ``.`` (nothing numpy could
    take for an offset of its own)."""
    return bool(_DIGITS[codes[:, [0, 1, 2, 3, 5, 6, 8, 9]]].all() and (codes[:, [4, 7]] == ord("-")).all()
                and (codes[:, 10] == ord("T")).all() and _CLOCK_BYTES[codes[:, 11:]].all())


def _offset_dates(bodies: list[str], minutes: np.ndarray) -> np.ndarray | None:
    """:func:`_parse_dates` of times with UTC offsets (:func:`_split_offsets`): each time read without its offset,
    then made the UTC instant it names, as numpy makes it of the time with its offset."""
    try:
        local = np.array(bodies, dtype="datetime64[m]")
        days = (local - minutes.astype("timedelta64[m]")).astype("datetime64[D]")
        if days.size and (days.min() < _FIRST_DAY or days.max() > _LAST_DAY):
            return None
        return np.array(bodies, dtype="datetime64[ns]") - (minutes * 60 * 10**9).astype("timedelta64[ns]")
    except (ValueError, TypeError, OverflowError):
        return None


#: the days a datetime64[ns] time can fall on (its range is 1677-09-21T00:12:43 to 2262-04-11T23:47:16)
_FIRST_DAY, _LAST_DAY = np.datetime64("1677-09-22", "D"), np.datetime64("2262-04-10", "D")


def _not_a_date(cell: str) -> str:
    """Why a :func:`_clean_dates` string that :func:`_parse_dates` refuses is not a time."""
    if _SLASHED.match(cell):
        return ": slashed dates are not read (which is the day?): save them as 2024-02-01 or 01.02.2024"
    if _TWELVE_HOUR.search(cell):
        return ": 12-hour times (AM/PM) are not read: save them as 24-hour times"
    if _parse_dates([cell]) is not None:  # a date itself: the column's other times are numbers (Unix times)
        return ": a date among numbers"
    try:
        with ignored():  # numpy: "no explicit representation of timezones", naming no file
            np.datetime64(cell, "D")
    except (ValueError, TypeError, OverflowError):
        return ""
    return " lies outside the days 1677-09-22 to 2262-04-10 that times can hold" \
        if not _PLAIN_NUMBER.match(cell) else ""


def _first_non_date(cleaned: list[str]) -> int:
    """The index of the first of :func:`_clean_dates` strings that is not a date (one :func:`_parse_dates` refused)."""
    return next(i for i, c in enumerate(cleaned) if _parse_dates([c]) is None)


def time_seconds(time: np.ndarray) -> np.ndarray:
    """The valid times of a time column as seconds (dates: from the first; numbers: as they are; none: empty)."""
    if np.issubdtype(time.dtype, np.datetime64):
        valid = time[~np.isnat(time)]
        if valid.size == 0:  # every cell NaT: no usable time, as without a time column
            return np.zeros(0)
        return (valid - valid[0]).astype("timedelta64[ns]").astype(np.float64) / 1e9
    seconds = np.asarray(time, dtype=np.float64)
    return seconds[np.isfinite(seconds)]


#: seconds per unit of a time column of numbers named after its unit (others: seconds)
_UNIT_SECONDS = {**dict.fromkeys(("ms", "msec", "millis", "milliseconds", "time_ms", "t_ms"), 1e-3),
                 **dict.fromkeys(("micros", "microseconds", "usec"), 1e-6),
                 **dict.fromkeys(("min", "mins", "minute", "minutes", "time_min"), 60.0),
                 **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "time_h"), 3600.0),
                 **dict.fromkeys(("day", "days"), 86400.0)}
#: seconds per unit, by the unit a time column's name gives after its words (``Time (s)``, ``t [ms]``, ``Time/s``)
_UNIT_WORDS = {**dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
               **dict.fromkeys(("ms", "msec", "millis", "millisecond", "milliseconds"), 1e-3),
               **dict.fromkeys(("us", "\u00b5s", "\u03bcs", "usec", "microsecond", "microseconds"), 1e-6),
               **dict.fromkeys(("ns", "nsec", "nanosecond", "nanoseconds"), 1e-9),
               **dict.fromkeys(("min", "mins", "minute", "minutes"), 60.0),
               **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
               **dict.fromkeys(("d", "day", "days"), 86400.0)}
#: the words of a name that say it is the time column, alone (``Elapsed Time``: seconds) or before a unit
#: (``Time (s)``, ``Elapsed time [min]``, ``Zeit [s]``: data loggers, LabVIEW, Excel exports). Only these: a name that
#: merely holds ``time`` (``downtime``, ``response_time_ms``, ``uptime (s)``) names data
TIME_WORDS = ("time", "t", "elapsed time", "time elapsed", "elapsed", "relative time", "timestamp", "zeit")
#: names of a column of clock readings (lower case; :mod:`tsae.io.clock_columns`)
CLOCK_NAMES = ("time", "time of day", "clock", "uhrzeit", "zeit", "heure", "hora", "ora", "tijd")
#: names of a date column that a time-of-day column right after it completes (as the table reader, the monitor)
DATE_NAMES = ("date", "datum", "fecha", "data", "day")
#: a name's words, then its unit in parentheses or brackets, after a slash or an underscore
_NAMED_UNIT = re.compile(r"(?P<words>.+?)\s*(?:\((?P<a>[^()]*)\)|\[(?P<b>[^\[\]]*)\]|/(?P<c>[^/]*)|_(?P<d>[^_\s]+))$")


def _time_words(name: str) -> str:
    """A name's words in lower case, one space between them (``Elapsed_Time`` is ``elapsed time``)."""
    return " ".join(re.split(r"[\s_]+", name.strip().lower())).strip()


def named_unit(name: str | None) -> float | None:
    """Seconds per unit that a time column's ``name`` says its numbers are in, or None when it says none: a unit's
    name (``minute``, ``ms``, ``hours``), or :data:`TIME_WORDS` with a unit after them in parentheses or brackets,
    after a slash or an underscore (``Time (s)``, ``Time [ms]``, ``t/s``, ``Elapsed time (min)``, ``time_ms``).

    Examples
    --------
    >>> named_unit("Time [ms]"), named_unit("t/s"), named_unit("Elapsed time (min)"), named_unit("minute")
    (0.001, 1.0, 60.0, 60.0)
    >>> named_unit("response_time_ms") is None, named_unit("Time") is None
    (True, True)
    """
    if not name:
        return None
    lower = name.strip().lower()
    if lower in _UNIT_SECONDS:
        return _UNIT_SECONDS[lower]
    match = _NAMED_UNIT.fullmatch(lower)
    if match is None or _time_words(match["words"]) not in TIME_WORDS:
        return None
    unit = next(part for part in match.group("a", "b", "c", "d") if part is not None).strip()
    return _UNIT_WORDS.get(unit)


def names_time(name: str) -> bool:
    """Whether a column's ``name`` says it holds the times beyond :data:`~tsae.io.table_columns.TIME_NAMES`: words
    of :data:`TIME_WORDS` alone or with a unit (:func:`named_unit`: ``Elapsed Time``, ``Time (s)``, ``t [ms]``), or
    a name that is only a unit too short-lived to count anything else (``millis``, ``ms``: an Arduino's clock).

    Examples
    --------
    >>> names_time("Time (s)"), names_time("Elapsed Time"), names_time("millis"), names_time("downtime")
    (True, True, True, False)

    A date column's name and a clock column's (``Date Time``, ``Datum Uhrzeit``: the column the table reader makes
    of the two, :func:`~tsae.io.clock_columns.clock_lines`) names the time too.
    """
    lower = name.strip().lower()
    if _time_words(lower) in TIME_WORDS or lower in _CLOCK_NAMES:
        return True
    date, _, clock = lower.partition(" ")
    if date in DATE_NAMES and clock.strip() in CLOCK_NAMES:
        return True
    return lower not in _UNIT_SECONDS and named_unit(lower) is not None


#: names that are only a unit of a clock's ticks: the time column whatever their numbers (a name that is a longer
#: unit, ``minute``, ``hours``, may count operating hours: the time column only when it counts, as a counter)
_CLOCK_NAMES = ("ms", "msec", "millis", "milliseconds", "micros", "microseconds", "usec")


#: seconds per unit of a time column of numbers whose first time lies at least this far from 0, as epoch times of
#: the years 2001 to 2286 do in that unit: milliseconds (1.7e12), microseconds (1.7e15), nanoseconds (1.7e18);
#: such a time in seconds would be over 3,000 years after 1970
_EPOCH_SECONDS = ((1e17, 1e-9), (1e14, 1e-6), (1e11, 1e-3))


def unit_seconds(time: np.ndarray | None, name: str | None = None) -> float:
    """Seconds per unit of a time column: 1 for dates; for numbers, the unit its ``name`` says (:func:`named_unit`:
    ``minute``, ``hours``, ``ms``, ``Time [ms]``, ``Elapsed time (min)``...) unless that is seconds, else that of
    epoch times as large as its first (``1709251200000`` is milliseconds, ``1709251200000000000`` nanoseconds), else
    seconds.

    Examples
    --------
    >>> unit_seconds(np.array([1709251200000.0, 1709251201000.0]), "ts")
    0.001
    >>> unit_seconds(np.array([0.0, 1.0]), "minute")
    60.0
    """
    if time is None or np.asarray(time).dtype.kind == "M":
        return 1.0
    unit = named_unit(name)
    if unit is not None and unit != 1.0:  # a name that says seconds may still hold epoch milliseconds (by size)
        return unit
    seconds = time_seconds(time)
    first = abs(float(seconds[0])) if seconds.size else 0.0
    return next((unit for least, unit in _EPOCH_SECONDS if first >= least), 1.0)


#: words of a time column's name that say it numbers the rows (``index``, ``sample_index``, ``row``), with no unit
_ROW_WORDS = frozenset({"index", "idx", "row", "rows", "rownum", "sample", "samples", "step", "tick", "ticks"})
#: the name a table reader gives a first column without one (pandas' index, as ``df.to_csv(path)`` writes it)
_UNNAMED_FIRST = re.compile(r"column0_*$")


def numbers_rows(name: str | None) -> bool:
    """Whether a time column's ``name`` says its numbers count the rows, not seconds: pandas' index (no name, or
    ``Unnamed: 0`` as pandas reads it back) or a name made only of words such as ``index``, ``row``, ``sample``
    (``sample_index``). Such a column orders the rows but gives no time between them. A column without a header
    (``None``, or ``ch0``) may hold epoch seconds: not one.

    Examples
    --------
    >>> numbers_rows("sample_index"), numbers_rows("Unnamed: 0"), numbers_rows("time_step"), numbers_rows(None)
    (True, True, False, False)
    """
    if not name:
        return False
    lower = name.strip().lower()
    if lower == "unnamed: 0" or _UNNAMED_FIRST.match(lower):
        return True
    words = [word for word in re.split(r"[^a-z0-9]+", lower) if word]
    return bool(words) and all(word in _ROW_WORDS for word in words)


def time_header(name: str | None) -> str:
    """The header a time column named ``name`` is written under: ``time`` without a name; none (``""``) for the name
    the table reader gives a first column that has none (``column0``: pandas' index, as ``df.to_csv(path)`` writes
    it), so that the output is read back, by tsae and by pandas, as its input was; else ``name``.

    Examples
    --------
    >>> time_header("column0"), time_header("timestamp"), time_header(None)
    ('', 'timestamp', 'time')
    """
    if not name:
        return "time"
    return "" if _UNNAMED_FIRST.match(name) else name


def counts_rows(time: np.ndarray | None, name: str | None) -> bool:
    """Whether a time column (``time``, named ``name``) holds numbers that count the rows (:func:`numbers_rows`): it
    orders them but gives no time between them (no step, no rate); dates never do."""
    return time is not None and np.asarray(time).dtype.kind != "M" and numbers_rows(name)


def median_step(time: np.ndarray | None, name: str | None = None) -> float | None:
    """Seconds between rows: the median step of a time column (None without one, or without a positive step).

    The times are sorted first: rows out of order still have their spacing. Numbers are seconds unless the
    column's ``name`` is a unit (``minute``, ``hours``, ``ms``...) or they are epoch milliseconds, microseconds or
    nanoseconds (:func:`unit_seconds`); numbers in a column whose name says they count the rows
    (:func:`numbers_rows`: ``index``, pandas' unnamed index) give None, as no time column does.
    """
    if time is None or counts_rows(time, name):
        return None
    steps = np.diff(np.sort(time_seconds(time)))
    step = float(np.median(steps)) if steps.size else 0.0
    step *= unit_seconds(time, name)
    return step if step > 0 else None


#: Excel's serial day numbers (days since 1899-12-30; 45292.25 is 2024-01-01 06:00) of the years 1954 to 2119
EXCEL_DAYS = (20000.0, 80000.0)
#: names of a time column of numbers that say its unit is seconds: no warning that they may be Excel's days
_SECONDS_NAMES = ("time_s", "seconds", "secs", "sec", "s", "t_s", "time_sec", "time_secs", "time_seconds")


def excel_days_span(time: Any) -> tuple[float, float] | None:
    """The least and greatest of ``time``'s finite numbers when all of them lie in :data:`EXCEL_DAYS`, else None.

    Only floating-point numbers are judged (a table's or a stream's time numbers; integers, dates and text give
    None). This is the numbers' half of :func:`excel_days_warning`; a caller without a column name (the
    monitor's ``push(times=...)``) words its own warning around it.

    Examples
    --------
    >>> excel_days_span(np.array([45292.25, np.nan, 45292.26]))
    (45292.25, 45292.26)
    >>> excel_days_span(np.array([1000.5, 45292.25])) is None
    True
    """
    if time is None or np.asarray(time).dtype.kind != "f":
        return None
    time = np.asarray(time)
    finite = time[np.isfinite(time)]
    if not finite.size or finite.min() < EXCEL_DAYS[0] or finite.max() > EXCEL_DAYS[1]:
        return None
    return float(finite.min()), float(finite.max())


def excel_days_warning(time: np.ndarray | None, name: str | None) -> str | None:
    """Why a time column of numbers may be Excel serial dates read as seconds, or None.

    A column named like a time or date (``Date``, ``time``, ``Timestamp``, ``t``; not one named by a unit,
    ``seconds``, ``minute``, ``days``...) whose numbers all lie in :data:`EXCEL_DAYS` holds what a spreadsheet
    exports for a date cell not formatted as one. They are still read as seconds (as numbers in that range may
    well be), so the message says how to have them read either way. ``name`` None: the time column of a file or
    stream without a header (its first column, taken for the time by its position): judged on its numbers alone.

    Examples
    --------
    >>> excel_days_warning(np.array([45292.25, 45292.26]), "Date") is not None
    True
    >>> excel_days_warning(np.array([45292.25, 45292.26]), "time_s") is None
    True
    >>> excel_days_warning(np.array([45292.25, 45292.26]), None) is not None
    True
    """
    if name is not None:
        lower = name.strip().lower()
        words = set(re.split(r"[^a-z]+", lower))
        if named_unit(lower) is not None or lower in _SECONDS_NAMES or not (
                words & {"t", "ts"} or any(w in lower for w in ("time", "date", "stamp"))):
            return None
    span = excel_days_span(time)
    if span is None:
        return None
    column, seconds = ((f"time column {name!r}", "name the column time_s") if name is not None else
                       ("the time column (the first, no header names it)", "add a header that names it time_s"))
    return (f"{column} holds numbers {span[0]:.10g} to {span[1]:.10g}, which look like Excel serial dates (days "
            f"since 1899-12-30) but are read as seconds: if they are dates, format the column as dates in the "
            f"spreadsheet before saving it as CSV; if they are seconds, {seconds}")


def _rate_from_time(time: np.ndarray | None) -> float | None:
    if time is None or len(time) < 3:
        return None
    seconds = time_seconds(time)
    if len(seconds) < 3:
        return None
    dt = np.diff(seconds)
    step = float(np.median(dt))
    if step <= 0 or not np.all(np.abs(dt - step) <= 1e-3 * step + 1e-12):
        return None
    return 1.0 / step


def _time_unit(values: np.ndarray) -> Literal["s", "ms", "us", "ns"]:
    """The coarsest of s, ms, us, ns that writes every time exactly (whole seconds: no ``.000000000``)."""
    ticks = values[~np.isnat(values)].astype("datetime64[ns]").astype(np.int64)
    units: tuple[tuple[Literal["s", "ms", "us"], int], ...] = (("s", 10**9), ("ms", 10**6), ("us", 10**3))
    for unit, size in units:
        if not np.any(ticks % size):
            return unit
    return "ns"


def iso_time(value: np.datetime64, utc: bool = False) -> str:
    """A date as a table's time column is written: ISO 8601 to the coarsest of s, ms, us, ns that holds it
    exactly, ``Z`` after it with ``utc`` (a time that named a UTC instant).

    Examples
    --------
    >>> iso_time(np.datetime64("2024-05-01T12:00:00.000000000"))
    '2024-05-01T12:00:00'
    >>> iso_time(np.datetime64("2024-05-01T12:00:00.25"), utc=True)
    '2024-05-01T12:00:00.250Z'
    """
    if np.isnat(value):
        return "NaT"
    return str(np.datetime_as_string(value, unit=_time_unit(np.array([value])))) + ("Z" if utc else "")


def whole_numbers(values: np.ndarray) -> bool:
    """Whether a float column holds only whole numbers (NaN aside) that float64 counts exactly, and some."""
    if values.dtype.kind != "f":
        return False
    finite = values[np.isfinite(values)]
    return bool(finite.size) and bool(np.all(finite == np.round(finite))) and float(np.abs(finite).max()) < 2.0**53
