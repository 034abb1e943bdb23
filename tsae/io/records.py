"""The stream record parser of ``tsae monitor``: raw text lines (CSV, JSON objects or arrays of them, InfluxDB line
protocol, Telegraf's JSON metrics) -> rows of sensor values.

Line protocol and Telegraf's JSON are read by :mod:`tsae.io.line_protocol` (the syntax) and
:mod:`tsae.io.metric_rows` (fields to sensors, one series per sensor, a sample per timestamp); their samples then
pass the checks below (times, duplicates) as CSV and JSON records do.

It follows the table reader's rules (:mod:`tsae.io.tables`, :mod:`tsae.io.table_columns`): the same time-column
names (``time``, ``timestamp``, ``seconds``, ...), the same missing-value tokens
(empty, ``NA``, ``nan``, ``null``, ``-``, ...), the same delimiter sniffing (``,``, ``;``,
tab or ``|``) and the same rule for renamed columns (a header that names none of the
sensors but has a time column and one column per sensor, a label column aside: the columns in order, warned
about).

CSV layout: the delimiter is decided by the first CSV line read as a row (headerless: the
sensors in order, optionally after a time column) or by the header its first row confirms;
until then each line is sniffed on its own. A header line (no numbers, names a sensor) waits
for a row of its width before it replaces the columns in use: one that no such row follows
(a stray ``id,flow``), or one naming fewer sensors than a header still waiting for its row,
is malformed. Once rows were read, a header may change the columns only when it still names
every sensor the columns in use hold (reordered or extra columns; the same header again, from
files joined together, is skipped): one that names fewer of them (``time,a`` mid-stream, for a
detector of ``a,b,c``) or none is malformed and changes nothing, so the rows of the
established layout keep being scored and the detector never silently loses sensors to
"missing" (held at their last value) because of one stray line. So a stray line -- ``a;b``
before the header, ``t`` among headerless rows -- is counted as malformed and never stops
the rows around it from being scored.

No record can stop the parser: a line that cannot be read (wrong shape, a CSV cell that is
not a number, JSON nested too deeply, a line longer than ``max_line`` characters, a time that is ``inf``, ``nan`` or
too large, a JSON value that is no object, such as ``null``, ``true`` or ``42``) is counted as ``malformed``
and skipped, and the good rows of the same block are kept. A JSON value that is no object or array is told as such
whatever came before it, and decides nothing of the stream's format: only where a CSV line of one field is a record
(a one-sensor detector's ``42`` or ``null``, as a table of one column reads it) or a header (``"a"``) is it read so,
without making the stream CSV (line protocol may still follow) or fixing its decimal mark.
A sensor's value too large for a float (``1e999``, a
310-digit integer) is infinite, in CSV, JSON and line protocol alike: a missing value of that sensor, as the table
reader reads it, and the rest of the record counts. A sensor's boolean is the number 1 or 0 in every format, as the
table reader reads a cell of one (:data:`~tsae.io.table_cells.BOOLEANS`): a CSV cell or JSON text ``true``/``False``
(any case), a JSON ``true``/``false``, a line protocol field (``t``, ``F``, ``true``, ... its own syntax) or a
Telegraf JSON field; but a first CSV line of only such words (``true,false``, before any row) names columns, as a
table's first row does: a header naming none of the sensors, its columns taken in order when there are as many as
sensors (as ``tsae detect score`` takes them), else malformed.
So is a record that carries none of the detector's sensors: a JSON object without a number
(or an explicit null / missing token) for any of them, such as ``{}`` or
``{"time": 1, "sensors": {...}}``, and a CSV line of empty fields only (``,,,,``, a blank row
to the table reader). A blank line is no record (in a one-column table file it is a missing value: a stream's
blank lines may be a sender's keep-alives). An explicit empty or NaN value of a known sensor is a missing value, and
so is a JSON value of a known sensor that is not a number (``{"a": "abc", "b": 2}``: its other sensors are kept; a CSV
cell is read by its column's place, so a line of text where a number belongs is malformed: its columns may be
shifted).

Times: a record whose time is earlier than the last accepted one is ``out_of_order`` and
skipped, unless the next record comes after it and still before the reference, by more than :data:`REORDER_STEPS`
of the stream's typical steps: the clock was set back (a device that restarted its counter, an NTP step, local
times at the end of DST), and that record is accepted as the new reference (a lone late record is skipped and
confirms nothing, and so are records a few steps late: delivered out of order). A record whose time is more than
``max_time_jump`` ahead of the last accepted one (a clock glitch such as a year-3000 stamp) is counted in
``time_jumps``, warned about and skipped, and the order reference stays where it was, so the samples that follow at
the normal pace are still scored. When the next record with a time is also that far from the
reference but within ``max_time_jump`` after the skipped one, the clock really moved: it
is accepted and becomes the new reference (the same holds for a jump far back, counted
as out of order, e.g. after a first record from a wrong clock). A jump is never less than
:data:`PACE_STEPS` of the stream's own typical steps, and a held-back record is confirmed too by
the next one that keeps its pace: epoch nanoseconds 2 s apart under the default ``max_time_jump``
(1e9) lose their second record, not every one. A time that is neither a
number nor an ISO date ("abc", "Tue 10:00", a CSV ``true``; a JSON object, array or boolean, kept as its JSON text; in
every format, a Telegraf JSON or line protocol timestamp too) is counted in
``unreadable_times`` and warned about (where the table reader refuses the file: a stream does not stop on one
record); the record is kept with the text as its time but cannot be checked for order,
jumps or duplicates. An ISO date with a UTC offset (``+02:00``) is the UTC instant it names, as
the table reader reads it, and is told once (``offset``). A time field named with ``time_field`` that a record does
not carry is told once too (``untimed``): the record is scored without a time; so is a CSV header whose first
column the table reader would take for the time by its name alone (``epoch_s``, ``minute``: ``time-column``).
Numeric times in a field named like a time or date (or in the first field of headerless rows) that look like Excel
serial dates are told once (``excel_days``), as the table reader tells them, judged on the first block of records
with numeric times. A time of day without a date (``23:59:59``, ``00:00:00``; a CSV time column, or the time of a
JSON record or metric, each a clock reading such as ``12:00:01`` read as its seconds) passes midnight
into the next day (``86400``), as the table reader reads it (:class:`~tsae.io.clock_columns.DayWraps`), told once
(``midnight``).

Decimal commas: as in a table file, a stream not separated by commas (``;``, tab, ``|``) may use
decimal commas (``2024-01-01T00:00:00;1,5;2,25`` is 1.5 and 2.25). The first CSV record with a
decimal number (a value, or a time that is a number) fixes the stream's decimal mark; a later
record with the other mark (``0;1.5;2,25`` after it, or a record that mixes both) is counted
as malformed and skipped, as the table reader refuses such a file -- so a record in another
locale's format never turns into wrong numbers, and never stops the stream. Dates are not
numbers and do not decide it; a comma-separated stream always has decimal points, and JSON has
its own number syntax. Until a separator is fixed, a line the sniffed separator does not read
as a record of the detector (``1,5;2,25`` sniffs as comma-separated) is tried with the other
separators in it, and one that reads its time field as a time is preferred. (A stream of one
sensor with decimal commas and no time is ambiguous: ``1,5`` reads as the time 1 and the value
5 -- give it a header with a time column, or send JSON.)

Duplicates: a record with a time whose time and values equal those of one of the last
``dedup_window`` timed records (a QoS-1 redelivery after a reconnect, a publisher that
resent) is counted in ``duplicates`` and skipped, so it is never scored twice. Records
without a time cannot be told apart from a sensor repeating its value and are all kept.
"""
from __future__ import annotations

import json
import math
import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, cast

import numpy as np

from tsae._warning_filters import ignored
from tsae.engine.layout import is_number
from tsae.errors import shown
from tsae.io.clock_columns import DATE_NAMES, DayWraps, clock_time, seconds_text
from tsae.io.line_protocol import (
    PRECISIONS,
    is_telegraf_json,
    json_metric,
    json_time,
    looks_like_line_protocol,
    parse_line,
)
from tsae.io.metric_rows import Instant, MetricRows
from tsae.io.table_cells import MISSING, _as_float, _first_mark, boolean, is_comment
from tsae.io.table_columns import TIME_NAMES, _label_index, _names_a_counter, find_time_column
from tsae.io.table_dialect import DELIMITERS, separator_line, sniff_delimiter, spaced_names, spaced_numbers
from tsae.io.table_time import _OFFSET, excel_days_warning, iso_time, names_utc
from tsae.io.text_files import decode_text
from tsae.models.trainer import whole_number


def _split(line: str, sep: str) -> list[str]:
    """The fields of a CSV line: split at ``sep``, quoted fields unquoted as the table reader reads them (``"0","9.5"``,
    as ``csv.QUOTE_ALL`` and R's ``write.csv`` write every field; a quoted field may hold ``sep``)."""
    if '"' not in line:
        return line.split(sep)
    import csv

    try:
        return next(csv.reader([line], delimiter=sep, strict=True))
    except (csv.Error, StopIteration):  # an unbalanced quote: the fields as they are (a malformed line)
        return line.split(sep)


class WarningLog(Protocol):
    """Where the parser reports bad data: ``warn(kind, message)`` (the monitor rate-limits per kind)."""

    def warn(self, kind: str, message: str) -> None: ...


class _Silent:
    def warn(self, kind: str, message: str) -> None:
        pass


#: default longest line (characters) the parser reads; longer lines are malformed
MAX_LINE = 1 << 20
#: default largest forward time jump (time-field units; seconds for ISO dates) before a record is held back
MAX_TIME_JUMP = 1e9
#: the least forward jump, in the stream's own typical steps (the median of its last :data:`_PACE_STEPS_KEPT`), that
#: holds a record back: a ``max_time_jump`` below it (1e9 for epoch nanoseconds 2 s apart) made every record a jump,
#: and nothing was scored
PACE_STEPS = 10
#: a record at most this many typical steps behind the reference is late (delivered out of order), not a clock set
#: back: a second late one does not confirm the first, and both are skipped (two records swapped in transit had the
#: second scored out of place, as the new reference)
REORDER_STEPS = 3
_PACE_STEPS_KEPT = 15
#: default number of recent timed records remembered to recognise a redelivered one
DEDUP_WINDOW = 16384
#: what ``fmt`` may be
FORMATS = ("auto", "csv", "json", "influx")
#: a JSON number (RFC 8259), as a whole line
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


class RecentKeys:
    """The last ``size`` keys seen (a bounded set, oldest forgotten first)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self._keys: OrderedDict[Any, None] = OrderedDict()

    def seen(self, key: Any) -> bool:
        """Whether ``key`` is among the recent keys; remembers it either way."""
        if key in self._keys:
            return True
        if self.size > 0:
            self._keys[key] = None
            if len(self._keys) > self.size:
                self._keys.popitem(last=False)
        return False


def _time_parts(value: Any) -> tuple[str, float | None, bool]:
    """Classify a time field: ``(status, number, is_date)``.

    ``status`` is ``"none"`` (absent, empty or unparseable text: the record has no time),
    ``"bad"`` (a number that is not finite or does not fit a float, or a date outside the years
    1678-2262: the record is malformed)
    or ``"ok"``. ISO dates give nanoseconds and ``is_date=True``.
    """
    if value is None or isinstance(value, bool):
        return "none", None, False
    if isinstance(value, Instant):  # a metric's timestamp, read already
        return "ok", float(value.ns), True
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return "bad", None, False
        return ("ok", number, False) if math.isfinite(number) else ("bad", None, False)
    text = str(value).strip()
    if not text:
        return "none", None, False
    try:
        number = float(text)
    except (ValueError, OverflowError):
        pass
    else:
        return ("ok", number, False) if math.isfinite(number) else ("bad", None, False)
    text = text.replace("Z", "").replace(" ", "T")
    try:
        # an offset gives the UTC instant it names, as batch scoring's table reader reads it; numpy warns "no explicit
        # representation of timezones" for it, and for a zone's name ("UTC"), which it does not read
        with ignored():
            date = np.datetime64(text)
    except (ValueError, TypeError, OverflowError):
        return "none", None, False
    if np.isnat(date):
        return "none", None, False
    seconds = int(date.astype("datetime64[s]").astype(np.int64))
    if abs(seconds) > 9_000_000_000:  # outside datetime64[ns] (years 1678-2262), which would wrap around
        return "bad", None, True
    return "ok", float(date.astype("datetime64[ns]").astype(np.int64)), True


def output_time(value: Any) -> Any:
    """A record's time as batch scoring reports it: a number as float, a date as ISO text (to the second, finer
    only where it has digits there: :func:`~tsae.io.table_time.iso_time`; ending in ``Z`` when it named a UTC
    instant: a UTC offset, or ``Z``).

    ``tsae detect score`` reads the time column into floats or ``datetime64[ns]``; the
    monitor reports the same values, so events from a stream and from a file compare equal.
    Text that is neither stays as it was.

    Examples
    --------
    >>> output_time("286"), output_time(3), output_time("2024-05-01 12:00Z"), output_time("2024-05-01 12:00")
    (286.0, 3.0, '2024-05-01T12:00:00Z', '2024-05-01T12:00:00')
    """
    if isinstance(value, Instant):  # ISO text already, and exact to the nanosecond (a float is not)
        return str(value)
    status, number, is_date = _time_parts(value)
    if status != "ok" or number is None:
        return value
    if is_date:
        return iso_time(np.datetime64(int(number), "ns"), names_utc(str(value)))
    return number


def time_value(value: Any) -> float | None:
    """A comparable number for a time field.

    Parameters
    ----------
    value
        A number, a numeric string or an ISO date (string).

    Returns
    -------
    float or None
        The number (ISO dates as nanoseconds since the epoch), or None when the value is
        absent, unparseable, not finite or too large for a float.
    """
    status, number, _ = _time_parts(value)
    return number if status == "ok" else None


@dataclass(frozen=True)
class _Layout:
    """Where a CSV line's values are: separator, column per sensor (-1: absent), time column, width, header names."""

    sep: str
    columns: tuple[int, ...]
    time_col: int | None
    width: int
    names: tuple[str, ...] = ()  # the header's names (empty: headerless)
    known: int = 0  # how many of the detector's sensors the header names


@dataclass(frozen=True)
class _Fitted:
    """A CSV line read as a record: its row, its time field (text, None without a time column), the layout used,
    and the decimal mark of its first decimal number (None: none has one)."""

    row: np.ndarray
    stamp: Any
    layout: _Layout
    mark: str | None
    clock: str | None = None  # the time field as written, when a clock reading without a date gave the stamp


class _Miss(NamedTuple):
    """Why a CSV line is not a record of a layout, and how far it got: 0 the wrong shape (or no value), 1 a cell
    that is not a number, 2 numbers with mixed decimal marks (every cell a number: the layout is right)."""

    reason: str
    level: int


def _likelier(best: _Fitted | _Miss | None, other: _Fitted | _Miss) -> _Fitted | _Miss:
    """The better of two readings of a line: a record over a miss, a miss that got further over one that did not;
    ``best`` on a tie."""
    if best is None or isinstance(best, _Miss) and (isinstance(other, _Fitted) or other.level > best.level):
        return other
    return best


def _dated(layout: _Layout) -> bool:
    """Whether a header's time column has a date column right before it (``Date,Time``), whose date a time of day
    completes (:func:`~tsae.io.clock_columns.clock_time`)."""
    col = layout.time_col
    if not col or len(layout.names) <= col:
        return False
    return layout.names[col - 1].strip().lower() in DATE_NAMES


def _short_name(name: str, limit: int = 80) -> str:
    """A field's name as the summary and the warnings keep it: cut to ``limit`` characters (``...`` at the end), so
    that a name as long as a line (300,000 characters) makes no line of that length, nor 100 of them a summary."""
    return name if len(name) <= limit else name[:limit - 3] + "..."


def _header_names(fields: Sequence[str]) -> tuple[str, ...]:
    """A header line's fields as column names: unquoted, without the blank ones it ends in (``time,a,b,``: no 4th)."""
    return _without_blank_tail(tuple(f.strip().strip('"') for f in fields))


def _without_blank_tail(names: tuple[str, ...]) -> tuple[str, ...]:
    """A header's names without the blank ones it ends in (``time,a,b,,``), as the table reader drops such columns."""
    end = len(names)
    while end > 1 and not names[end - 1]:
        end -= 1
    return names[:end]


def _is_number(text: str) -> bool:
    """Whether ``text`` is a number, with a decimal point or a decimal comma (a boolean word, a sensor's 1 or 0, is
    none: ``time,true`` may be a header, as to the table reader, and ``true`` no time)."""
    if boolean(text.strip()) is not None:
        return False
    try:
        _as_float(text, None)
    except ValueError:
        return False
    return True


def _line_mark(layout: _Layout, fields: list[str], stamp: str | None) -> str | None:
    """The decimal mark of the first decimal number of a line (in line order: its values, and its time when that
    is a number, not a date), or None when none has one."""
    numbers = [c for c in layout.columns if c >= 0 and fields[c].strip().lower() not in MISSING]
    if stamp is not None and layout.time_col is not None and _is_number(stamp):
        numbers.append(layout.time_col)
    found = _first_mark([fields[c].strip() for c in sorted(numbers)])
    return None if found is None else found[1]


def _mark_name(mark: str) -> str:
    return "a decimal comma" if mark == "," else "a decimal point"


def _readable_time(fitted: _Fitted) -> bool:
    """Whether a record's time field is a time (or it has none): how a line's separator is told when unclear."""
    if fitted.layout.time_col is None or not str(fitted.stamp).strip():
        return True
    return _time_parts(fitted.stamp)[0] == "ok"


def _max_time_jump(value: Any) -> float | None:
    """``max_time_jump`` as a float (None: no limit); a ValueError naming it for anything but a positive number."""
    if value is None:
        return None
    # compared as it is: an int beyond any float (10 ** 400) has no float() and is simply no limit
    if not is_number(value) or not cast(Any, value) > 0:
        raise ValueError(f"max_time_jump must be a positive number (or None for no limit), got {shown(value)}")
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _time_field(value: Any) -> str | None:
    """``time_field`` if it is None or a name (text that is not blank); else a ValueError naming it."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"time_field must be the name of the time field (text) or None, got {shown(value)}")
    return value


def _tags(value: Any) -> dict[str, str] | None:
    """``tags`` as a dict of text (None: none); a ValueError naming it for anything else."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and k and isinstance(v, str)
                                                  for k, v in value.items()):
        raise ValueError(f"tags must map tag names to values (text), such as {{'host': 'a'}}, got {shown(value)}")
    return dict(value)


def _metric_options(tags: dict[str, str] | None, precision: str | None) -> str | None:
    """The tags and timestamp precision asked for, as :meth:`RecordParser._not_a_metric` tells them with the verb
    that follows (``the tags asked for (host=a) apply``); None when neither is."""
    asked = []
    if tags:
        asked.append(f"the tags asked for ({', '.join(f'{k}={v}' for k, v in tags.items())})")
    if precision is not None:
        asked.append(f"the timestamp precision ({precision})")
    if not asked:
        return None
    return " and ".join(asked) + (" apply" if tags or len(asked) > 1 else " applies")


def _precision(value: Any) -> str | None:
    """``precision`` if it is None or a unit of :data:`~tsae.io.line_protocol.PRECISIONS`, else a ValueError."""
    if value is not None and (not isinstance(value, str) or value not in PRECISIONS):
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (or None), got {shown(value)}")
    return value


def _names_columns(names: Sequence[str]) -> bool:
    """Whether a first line's ``names`` are boolean words, missing ones aside (``true,false``): the table reader's
    header, not a row of 1s and 0s (:func:`~tsae.io.table_columns._is_data_row`)."""
    flags = [boolean(name) is not None for name in names if name.lower() not in MISSING]
    return bool(flags) and all(flags)


def _is_name(text: str) -> bool:
    """Whether a header cell names a column: not empty, not a missing token, not a number."""
    return text.lower() not in MISSING and not _is_number(text)


def _json_number(value: Any) -> float | None:
    """A JSON sensor value as a float: NaN for an explicit missing value (null, ``"NA"``, ...), None for no value.

    A boolean (``true``, or text such as ``"False"``) is 1 or 0, as the table reader reads a cell of one. A number too
    large for a float (an integer of 310 digits, as ``1e999`` is read) is infinite: a missing value.
    """
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in MISSING:
            return math.nan
        flag = boolean(text)
        if flag is not None:
            return flag
    try:
        return float(value)
    except ValueError:
        return None
    except OverflowError:  # (only an int overflows: a float's text reads as infinite)
        return -math.inf if cast(int, value) < 0 else math.inf


class _SentNumber(float):
    """A JSON number that is not finite (``1e400``, or Python's ``NaN`` / ``-Infinity``), which text and messages name
    as it was sent (``1e400``), not as float's ``inf``."""

    text: str

    def __new__(cls, text: str) -> _SentNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def _json_float(text: str) -> float:
    """A JSON number's float (``json.loads``' ``parse_float`` and ``parse_constant``): one that is not finite keeps
    its text (:class:`_SentNumber`)."""
    number = float(text)
    return number if math.isfinite(number) else _SentNumber(text)


def json_scalar(line: str) -> bool:
    """Whether a (stripped) line is one JSON value that is no object or array: ``null``, ``true``, ``false``, a number
    (``42``, ``-1.5e3``) or a string (``"text"``). (Python's ``NaN`` and ``Infinity`` are no JSON: missing tokens.)"""
    if line in ("null", "true", "false"):
        return True
    if line[0] == '"':
        try:
            return isinstance(json.loads(line), str)
        except (ValueError, RecursionError):
            return False
    return _JSON_NUMBER.fullmatch(line) is not None


def _looks_wide(line: str) -> bool:
    """Whether ``line`` looks like UTF-16 or UTF-32 text read as UTF-8: a NUL every third character or more, between
    characters that are text (printable, or spaces), nearly each alone (a byte order mark aside). A line of other
    control characters (``\x00\x01\x02``) is only a malformed one.

    Examples
    --------
    >>> _looks_wide("time,a".encode("utf-16-le").decode("latin-1")), _looks_wide(chr(0) + chr(1) + chr(2))
    (True, False)
    """
    if line.count("\x00") * 3 < len(line) or not line:
        return False
    pieces = [piece for piece in line.split("\x00") if piece]
    alone = sum(len(piece) == 1 for piece in pieces)
    return alone * 5 >= len(pieces) * 4 > 0 and all(piece.isprintable() or piece.isspace() for piece in pieces)


class RecordParser:
    """Turn raw text lines into ``(rows (n, C) float64, times list, counters)``.

    CSV: a line is a header when it names any of the detector's sensors (or has a time
    column and one column per sensor, renamed: taken in order); without a header, columns
    are the sensors in the detector's order, optionally preceded by a time column. A header
    takes effect with the first row of its width (see the module docstring). JSON: one
    object per line mapping sensor name -> value, plus an optional time field; a record
    with no value for any sensor is malformed. InfluxDB line protocol and Telegraf's JSON metrics
    (``{"fields": ..., "name": ..., "tags": ..., "timestamp": ...}``) are read through
    :class:`~tsae.io.metric_rows.MetricRows` (fields matched to sensors by name, one series per sensor, a sample
    per timestamp). ``fmt="auto"`` decides per line whether it is JSON (``{`` or ``[`` starts it; a line that is
    another JSON value is none of the formats' records: see the module docstring), and once per stream whether its
    other lines are line protocol: the first that reads as line protocol and names a sensor, before any CSV row,
    makes them so (a line of line protocol naming none is skipped, as in such a stream, and decides nothing).

    Parameters
    ----------
    sensors
        The detector's sensor names, in order.
    fmt
        ``"auto"``, ``"csv"``, ``"json"`` or ``"influx"`` (line protocol; JSON lines are still read as JSON).
    time_field
        The name of the time field (default: the table reader's time names).
    trained_time
        Without ``time_field``, a name tried before the table reader's time names: the time column of the
        table the detector was fitted on (a ``minute`` counter), None for none.
    log
        Where warnings go.
    max_line
        Longest line read, in characters; a longer one is counted as malformed.
    max_time_jump
        Largest forward step of the time (in the time field's units; seconds for ISO
        dates) accepted without confirmation; see the module docstring. None: no limit.
    dedup_window
        How many recent timed records are remembered to recognise a duplicate (0: none).
    tags
        Line protocol and Telegraf JSON: the tags a record must carry to be read (``{"host": "a"}``; None: any).
    precision
        Their timestamps' unit, ``"ns"``, ``"us"``, ``"ms"`` or ``"s"`` (None: nanoseconds for line protocol, seconds
        for Telegraf JSON, or the unit that makes the first timestamp a date of 1980-2200, warned).

    Raises
    ------
    ValueError
        One line naming the option, when the parser is built: ``fmt`` not one of :data:`FORMATS`,
        ``max_line`` or ``dedup_window`` not a whole number (at least 1, resp. 0), ``max_time_jump``
        not a positive number or None, ``time_field`` not a name (text) or None, or the name of a sensor,
        ``tags`` not a mapping of names to text, ``precision`` not a unit above.
    TypeError
        ``log`` without a ``warn`` method.
    """

    def __init__(self, sensors: Sequence[str], fmt: str = "auto", time_field: str | None = None,
                 log: WarningLog | None = None, max_line: int = MAX_LINE,
                 max_time_jump: float | None = MAX_TIME_JUMP, dedup_window: int = DEDUP_WINDOW,
                 trained_time: str | None = None, tags: Mapping[str, str] | None = None,
                 precision: str | None = None) -> None:
        if not isinstance(fmt, str) or fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}, got fmt={fmt!r}")
        if log is not None and not callable(getattr(log, "warn", None)):
            raise TypeError(f"log must have a warn(kind, message) method (or be None), got {type(log).__name__}")
        self.max_line = whole_number("max_line", max_line, 1)
        self.max_time_jump = _max_time_jump(max_time_jump)
        self._jump: float | None = None  # time of the last held-back jump, awaiting confirmation
        self._steps: deque[float] = deque(maxlen=_PACE_STEPS_KEPT)  # the last forward steps between accepted times
        self._offset_told = False  # whether a time with a UTC offset was warned about (once)
        self._wide_told = False  # whether a line that looks UTF-16 or UTF-32 was warned about (once)
        self._days = DayWraps()  # times of day without a date passing midnight, as the table reader reads them
        self._time_name: str | None = None  # the name of the last record's time field (None: headerless CSV)
        self._excel_checked = False  # whether the first numeric times were checked for Excel serial dates (once)
        self._untimed_told = False  # whether a record without the time field named was warned about (once)
        self._layout_time_told = False  # whether a first column batch would read as the time was warned about (once)
        self.sensors = list(sensors)
        self.index = {name: i for i, name in enumerate(self.sensors)}
        self.fmt = fmt
        self.time_field = _time_field(time_field)
        if time_field is not None and time_field.strip() in self.index:  # it would stay a sensor: no record timed
            raise ValueError(f"time_field must not name a sensor: {time_field!r} is one of the detector's sensors "
                             f"({self._sensor_list()})")
        self.log = log or _Silent()
        self.counts = {"lines": 0, "malformed": 0, "missing_values": 0, "out_of_order": 0,
                       "time_jumps": 0, "duplicates": 0, "unreadable_times": 0}
        self.recent = RecentKeys(whole_number("dedup_window", dedup_window, 0))
        self.unknown_fields: set[str] = set()
        self.metrics = MetricRows(self.sensors, tags=_tags(tags), precision=_precision(precision), log=self.log,
                                  counts=self.counts, unknown_fields=self.unknown_fields)
        #: the tags and precision asked for, as told once a record they do not apply to is read (None: none, or told)
        self._unused_options = _metric_options(_tags(tags), _precision(precision))
        self._influx = fmt == "influx"  # whether lines that are not JSON are line protocol (auto: the first decides)
        self.header: list[str] | None = None  # the CSV header in use
        self._layout: _Layout | None = None  # the header's columns (None: headerless rows, by position)
        self._pending: _Layout | None = None  # a header line waiting for its first row
        self._csv_rows = False  # whether a CSV row was read (a header then needs sensor names)
        self._recorded = False  # whether any record was read (a first line of booleans then is a row)
        self.last_time: float | None = None
        trained = (trained_time,) if isinstance(trained_time, str) and trained_time.strip() else ()
        self.time_names = (time_field,) if time_field else (*trained, *TIME_NAMES)
        self.sep: str | None = None  # sniffed from the first CSV line accepted as a record or header
        #: the decimal mark of records not separated by commas: fixed by the first record with a decimal number
        self.decimal: str | None = None

    # -- CSV ------------------------------------------------------------------
    def _header_layout(self, sep: str, fields: list[str]) -> _Layout | None:
        """The layout a header line describes, or None when the line is no header of this detector.

        A header has no number among its cells and names a detector sensor, or names none but
        has a time column and one value column per sensor (renamed columns: taken in order,
        as ``tsae detect score`` does, a label column left out).
        """
        names = _header_names(fields)
        if any(_is_number(n) for n in names):  # a data row with a stray word in it, not a header
            return None
        # a sensor named like a time column ("t") stays a sensor
        time_col = find_time_column([n if n not in self.index else "" for n in names], self.time_names,
                                    named=self.time_field is None)
        known = sum(1 for n in set(names) if n in self.index)
        if known:
            columns = tuple(names.index(s) if s in names else -1 for s in self.sensors)
            return _Layout(sep, columns, time_col, len(names), names, known)
        if time_col is None and not self._recorded and _names_columns(names) and len(names) == len(self.sensors):
            return _Layout(sep, tuple(range(len(names))), None, len(names), names, 0)  # in order, as the table's
        if time_col is None or not all(_is_name(n) for n in names):
            return None
        label = _label_index(list(names), time_col)  # left out, as the table reader leaves it out
        columns = tuple(i for i in range(len(names)) if i not in (time_col, label))
        if len(columns) != len(self.sensors):
            return None
        return _Layout(sep, columns, time_col, len(names), names, 0)

    def _default_layout(self, sep: str, width: int) -> _Layout | None:
        """Headerless rows: the sensors in order, optionally preceded by a time column."""
        channels = len(self.sensors)
        if width == channels:
            return _Layout(sep, tuple(range(channels)), None, width)
        if width == channels + 1:
            return _Layout(sep, tuple(range(1, channels + 1)), 0, width)
        return None

    def _fit(self, layout: _Layout | None, line: str) -> _Fitted | _Miss:
        """The line read as a record of ``layout`` (None: headerless), or why it is not one."""
        if layout is not None:
            # a header of one name has no delimiter: a line is one field, whose comma is a decimal comma (9,514)
            return self._read_fields(layout, [line] if layout.width == 1 else _split(line, layout.sep), line)
        if self.sep is not None:
            seps = [self.sep]
        else:  # not fixed yet: the sniffed separator first, then the others in the line (1,5;2,25 sniffs as ",")
            sniffed = sniff_delimiter(line)
            seps = [sniffed, *(d for d in DELIMITERS if d != sniffed and d in line)]
        best: _Fitted | _Miss | None = None
        for sep in seps:
            fields = _split(line, sep)
            width = len(fields)
            default = self._default_layout(sep, width)
            # "0,1,2,": no 4th field; the width counted down, the fields cut once (a copy per field dropped made a
            # line of 300,000 commas hold the monitor 66 s)
            while default is None and width > 1 and not fields[width - 1].strip():
                width -= 1
                default = self._default_layout(sep, width)
            fields = fields[:width]
            if default is None:
                channels = len(self.sensors)
                fitted: _Fitted | _Miss = _Miss(f"expected {channels} or {channels + 1} CSV fields, got "
                                                f"{len(fields)}: {line[:60]!r}", 0)
            else:
                fitted = self._read_fields(default, fields, line)
            if isinstance(fitted, _Fitted) and _readable_time(fitted):
                return fitted
            best = _likelier(best, fitted)
        assert best is not None
        return best

    def _read_fields(self, layout: _Layout, fields: list[str], line: str) -> _Fitted | _Miss:
        """The record of a line's ``fields`` in ``layout``, or why they are not one (see the module docstring).

        A record not separated by commas takes the stream's decimal mark (until one is fixed: that of its own
        first decimal number, in line order, among its values and a time that is a number).
        """
        if len(fields) > layout.width and not any(f.strip() for f in fields[layout.width:]):
            fields = fields[:layout.width]  # the line ends in delimiters: no more fields, as the table reader reads it
        if len(fields) != layout.width:
            return _Miss(f"expected {layout.width} CSV fields, got {len(fields)}: {line[:60]!r}", 0)
        if not any(f.strip() for f in fields):  # ",,,,": a blank row to the table reader
            return _Miss(f"no value in {line[:60]!r}", 0)
        col = layout.time_col
        stamp = fields[col].strip() if col is not None else None
        clock = None
        if col is not None and stamp and not _is_number(stamp):  # a clock reading (after a Date column: its time)
            date = fields[col - 1].strip() if _dated(layout) else None
            clock = stamp if date is None else None
            # a dated row without its date has no time (the table reader's NaT), not the seconds of its time of day
            stamp = "" if date is not None and date.lower() in MISSING else clock_time(stamp, date) or stamp
        commas = layout.sep == "," and layout.width > 1  # comma-separated: decimal points (and nothing to check)
        mark = "." if commas else self.decimal
        if mark is None:
            mark = _line_mark(layout, fields, stamp)
        values = []
        for c in layout.columns:
            text = fields[c].strip() if c >= 0 else ""
            if text.lower() in MISSING:
                values.append(math.nan)
                continue
            flag = boolean(text)
            if flag is not None:  # true/false: 1/0, as the table reader reads them
                values.append(flag)
                continue
            try:
                values.append(_as_float(text, ",") if mark == "," else float(text))  # float("1,5"): an error
            except ValueError:
                return self._not_a_number(text, mark, line, commas)
        if stamp is not None and not commas and _is_number(stamp):  # a time that is a number takes the mark too
            try:
                number = _as_float(stamp, mark)
            except ValueError:
                return self._not_a_number(stamp, mark, line)
            stamp = repr(number) if "," in stamp else stamp  # 1,5 -> '1.5'
        return _Fitted(np.array(values), stamp, layout, None if commas else mark, clock)

    def _not_a_number(self, text: str, mark: str | None, line: str, commas: bool = False) -> _Miss:
        """Why a record is malformed when its cell ``text`` is not a number with the decimal mark ``mark`` (``commas``:
        in a comma-separated record, whose numbers have decimal points)."""
        if commas and "," in text and _is_number(text):
            # a quoted "1,5" or "1,234": a decimal comma or a thousands separator, which the other numbers cannot tell
            return _Miss(f"a comma in a number of a comma-separated record ({text[:30]!r}; decimal commas are read "
                         f"where values are separated by ; or tabs, thousands separators nowhere): {line[:60]!r}", 2)
        if mark is not None and _is_number(text):
            where = "the stream's decimal mark" if self.decimal is not None else "the record's first decimal number"
            other = "," if mark == "." else "."
            return _Miss(f"mixed decimal marks: {text[:30]!r} has {_mark_name(other)}, {where} is "
                         f"{_mark_name(mark)}: {line[:60]!r}", 2)
        return _Miss(f"not a number in {line[:60]!r}", 1)

    def _csv_line(self, line: str, scalar: bool = False) -> tuple[np.ndarray, Any] | None:
        """One CSV line: a row (returned), a header (taken in, None) or malformed (counted, None).

        A header waits for the first row of its width before it replaces the columns in use,
        so a stray line that looks like a header cannot stop the stream; the separator is
        decided by the first line accepted (see the module docstring), or by Excel's ``sep=;`` before any row. A
        comment line (``#``) is none of these, as in a table.

        ``scalar``: the line is one JSON value that is no object or array (``42``, ``null``, ``"a"``): a row or header
        only where a CSV line of one field is one (a one-sensor detector's value, a quoted name), which decides
        nothing of the stream's format (CSV rows, line protocol, decimal mark); else told as the JSON it is.
        """
        if is_comment(line):  # a comment line, as the table reader skips it
            return None
        if self.sep in (None, ","):  # numbers (or names) separated by spaces (a serial logger's): read as commas
            line = spaced_numbers(line) or spaced_names(line) or line
        if not self._csv_rows:  # Excel's first line "sep=;" names the delimiter, as the table reader reads it
            named = separator_line(line)
            if named is not None:
                self.sep = named
                return None
        pending = self._pending
        if not self._recorded and pending is None:
            sep = self.sep or sniff_delimiter(line)
            if _names_columns(_header_names(_split(line, sep))):  # true,false: a table's first row of them names
                if scalar and not self._offer_header(line):
                    self._no_record(line)
                elif not scalar and not self._offer_header(line):
                    self._malformed(f"a first line of only true/false, which names columns as a table's first row, "
                                    f"not the detector's {len(self.sensors)} sensor(s): {line[:60]!r}")
                return None
        missed: _Miss | None = None
        if pending is not None:
            fitted = self._fit(pending, line)
            row_named = self._row_named(pending) if isinstance(fitted, _Miss) and fitted.level == 0 else None
            if row_named is not None and self._csv_rows and isinstance(self._fit(self._layout, line), _Fitted):
                row_named = None  # a row of the columns in use under a header one name short: no R row name
            if row_named is not None:  # R's write.table: rows one field wider than the header, their names first
                fitted_named = self._fit(row_named, line)
                if isinstance(fitted_named, _Fitted):
                    pending, fitted = row_named, fitted_named
            if isinstance(fitted, _Fitted):
                self._adopt(pending)
                return self._take(fitted, scalar)
            missed = fitted
        fitted = self._fit(self._layout, line)
        if isinstance(fitted, _Fitted):
            self._drop_pending()
            if self.sep is None and fitted.layout.width > 1:
                self.sep = fitted.layout.sep
            return self._take(fitted, scalar)
        if scalar and not self._offer_header(line):
            self._no_record(line)
        elif not scalar and not self._offer_header(line):  # told why, by the header waiting when its row got further
            reason = (missed if missed is not None and missed.level > fitted.level else fitted).reason
            self._malformed(self._foreign_header(line) or reason)
        return None

    def _row_named(self, header: _Layout) -> _Layout | None:
        """The layout of rows one field wider than the names of ``header``, the first field their row's name (as
        R's ``write.table`` writes row names, and the table reader reads them: the names are those of the fields after
        it), or None for a header that does not name every sensor (a stray line: rows wider than it are read by
        position, as without it)."""
        if header.known < len(set(self.sensors)) or (header.names and not header.names[0]):
            return None
        return self._header_layout(header.sep, ["", *header.names])

    def _sensor_list(self, most: int = 8) -> str:
        """The detector's sensors as a message lists them: the first ``most``, then ``...``."""
        return ", ".join(self.sensors[:most]) + (", ..." if len(self.sensors) > most else "")

    def _foreign_header(self, line: str) -> str | None:
        """Why ``line`` is malformed when it is a header of other sensors (a stream for another detector): its width
        was blamed as a row's would be; None for any other line."""
        sep = self.sep or sniff_delimiter(line)
        names = _header_names(_split(line, sep))
        words = all(_is_name(n) and (n[:1].isalpha() or n[:1] == "_") for n in names)  # "0;1" is no name: a row
        if len(names) < 2 or not words or any(n in self.index for n in names):
            return None
        return f"a header naming none of the detector's sensors ({self._sensor_list()}): {line[:60]!r}"

    def _take(self, fitted: _Fitted, scalar: bool = False) -> tuple[np.ndarray, Any]:
        """A record read: its row and time; its decimal mark becomes the stream's when none is fixed yet (``scalar``: a
        JSON value read as one field, which fixes neither, nor that the stream is CSV)."""
        self._csv_rows = self._csv_rows or not scalar
        self._recorded = True
        if self._unused_options is not None:
            self._not_a_metric("CSV")
        layout = fitted.layout
        if layout.time_col is None:
            self._untimed()
        self._time_name = layout.names[layout.time_col] if layout.names and layout.time_col is not None else None
        if self.decimal is None and fitted.mark is not None and not scalar:
            self.decimal = fitted.mark
        if fitted.clock is not None:
            self._excel_checked = True  # seconds of clock readings, as the table reader reads them: no Excel days
            return fitted.row, self._clock_stamp(fitted.clock, fitted.stamp)
        return fitted.row, fitted.stamp

    def _clock_stamp(self, clock: str, stamp: Any) -> Any:
        """The time of a record whose time field is the clock reading ``clock`` without a date (``stamp``, its
        seconds), on into the next day past midnight; the first time it passes is told."""
        days = self._days
        wraps = days.wraps
        seconds = days.seconds(clock, self.counts["lines"])
        if seconds is None:
            return stamp
        if days.wraps and not wraps:
            days.name = self._time_name
            self.log.warn("midnight", days.told())
        return seconds_text(seconds) if days.wraps else stamp

    def read_times(self, times: Sequence[Any]) -> tuple[list[Any], bool]:
        """Times given beside the values (``Monitor.push(x, times=...)``) read as a record's time field is: text
        that is a number as that number, an ISO date as ISO text (``2024-05-01 12:00Z`` -> ``2024-05-01T12:00:00Z``),
        a clock reading without a date (``12:00:01``, ``90 sec``) as its seconds, on into the next day past midnight
        (told once, ``midnight``), as :meth:`parse` reads a CSV time column. Anything that is not text (a number, a
        ``datetime64``) and text that is no time stay as they are.

        Returns the times and whether any was a clock reading (whose seconds are no Excel serial days to judge).
        """
        read: list[Any] = []
        clocks = False
        for stamp in times:
            if isinstance(stamp, str) and not isinstance(stamp, Instant):
                clock = self._clock_text(stamp)
                clocks = clocks or clock is not stamp
                stamp = output_time(clock)
            read.append(stamp)
        return read, clocks

    def _clock_text(self, stamp: Any) -> Any:
        """A time that is text of a clock reading without a date (``12:00:01``, ``90 sec``) as its seconds, on into
        the next day past midnight (:meth:`_clock_stamp`), as a CSV time column's; any other time as it is (a JSON
        record's and a metric's alike)."""
        if not isinstance(stamp, str) or isinstance(stamp, Instant):
            return stamp
        text = stamp.strip()
        seconds = clock_time(text) if text and not _is_number(text) else None
        if seconds is None:
            return stamp
        self._excel_checked = True  # seconds of clock readings, as the table reader reads them: no Excel days
        return self._clock_stamp(text, seconds)

    def _offer_header(self, line: str) -> bool:
        """Whether ``line`` is taken as a header (kept pending until a row of its width comes)."""
        sep = self.sep or sniff_delimiter(line)
        layout = self._header_layout(sep, _split(line, sep))
        if layout is None:
            return False
        if self._layout is not None and layout.names == self._layout.names:  # the header again (files joined)
            self._drop_pending()
            return True
        if self._csv_rows and not layout.known:  # once rows came, only sensor names change the columns
            return False
        if self._csv_rows:
            lost = [s for s in self._sensors_in_use() if layout.columns[self.index[s]] < 0]
            if lost:  # it would turn sensors of the established rows into missing values: a stray
                self._malformed(f"a header line without sensor(s) {', '.join(lost[:5])} of the columns in use "
                                f"(kept): {line[:60]!r}")
                return True
        pending = self._pending
        if pending is not None and pending.names != layout.names:
            if layout.known < pending.known:  # a line naming fewer sensors than the header waiting: a stray
                self._malformed(f"a header line naming fewer sensors than the one before it: {line[:60]!r}")
                return True
            self._drop_pending()
        self._pending = layout
        return True

    def _sensors_in_use(self) -> list[str]:
        """The sensors the current CSV columns hold: all of them for headerless rows."""
        if self._layout is None:
            return list(self.sensors)
        return [s for s, c in zip(self.sensors, self._layout.columns, strict=True) if c >= 0]

    def _drop_pending(self) -> None:
        """A header no row followed (a stray line that looked like one): counted as malformed."""
        if self._pending is not None:
            names = self._pending.sep.join(self._pending.names)
            self._pending = None
            self._malformed(f"a header line no row of its shape followed: {names[:60]!r}")

    def _adopt(self, layout: _Layout) -> None:
        """Read the following rows through the header ``layout`` (its first row just came)."""
        self._pending = None
        self._layout = layout
        self.header = list(layout.names)
        self.sep = layout.sep
        if not layout.known:
            self.log.warn("header", f"CSV header names none of the detector's sensors: reading its "
                                    f"{len(self.sensors)} value column(s) in order as {', '.join(self.sensors)}, "
                                    "as `tsae detect score` does")
            return
        missing = [s for s, c in zip(self.sensors, layout.columns, strict=True) if c < 0]
        if missing:
            self.log.warn("header", f"CSV header lacks sensor(s) {', '.join(missing)}: their values count as missing")
        twice = [s for s in self.sensors if layout.names.count(s) > 1]
        if twice:  # the table reader refuses such a file; a stream goes on, reading the first column of the name
            self.log.warn("header-twice", f"CSV header names sensor(s) {', '.join(twice[:5])} more than once: the "
                                          "first column of each name is read")
        self._untold_time(layout)
        extra = [n for i, n in enumerate(layout.names) if n not in self.index and i != layout.time_col and n
                 and not (i == (layout.time_col or 0) - 1 and _dated(layout))]
        for name in extra[:100]:
            if len(self.unknown_fields) < 100:  # bounded memory
                self.unknown_fields.add(_short_name(name))

    def _untold_time(self, layout: _Layout) -> None:
        """Tell once that a header's first column, which `tsae detect score` takes for the time column by its name when
        it counts (``epoch_s``, ``minute``, ``sample_index``), is no time here: its values are not seen before they
        are scored, and a column of data so named (going down) would have its records skipped as out of order."""
        if self._layout_time_told or layout.time_col is not None or self.time_field is not None or not layout.names:
            return
        first = layout.names[0].strip()
        if first and first not in self.index and _names_a_counter(first):
            self._layout_time_told = True
            self.log.warn("time-column", f"the first column {first!r} is not read as the records' time (it is named "
                                         "like no time column; `tsae detect score` reads it so when it counts): give "
                                         f"--time-field {first} if it holds their times")

    def _parse_csv(self, lines: list[str]) -> tuple[list[np.ndarray], list[Any]]:
        rows: list[np.ndarray] = []
        times: list[Any] = []
        for line in lines:
            record = self._csv_line(line)
            if record is not None:
                rows.append(record[0])
                times.append(record[1])
        return rows, times

    # -- JSON -----------------------------------------------------------------
    def _parse_json(self, line: str) -> list[tuple[np.ndarray, Any]]:
        """The records of a JSON line: one object, or an array of objects (a gateway's batch), each read on its
        own (a bad one is malformed, the others kept)."""
        try:
            value = json.loads(line, parse_float=_json_float, parse_constant=_json_float)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            self._malformed(f"invalid JSON: {line[:60]!r}")
            return []
        batch = value if isinstance(value, list) and any(isinstance(item, dict) for item in value) else [value]
        if isinstance(value, dict) and isinstance(value.get("metrics"), list) and len(value) == 1:
            batch = value["metrics"]  # Telegraf's batch
        records: list[tuple[np.ndarray, Any]] = []
        for record in batch:
            if not isinstance(record, dict):
                self._no_record(line)
                continue
            if is_telegraf_json(record):
                records += self._metric(line, record)
                continue
            records += self.metrics.flush()  # a sample of metrics being filled goes first, in stream order
            if self._unused_options is not None:
                self._not_a_metric("plain JSON")
            row, stamp = self._json_record(record, line)
            if row is not None:
                records.append((row, stamp))
        return records

    def _not_a_metric(self, kind: str) -> None:
        """A record of ``kind`` (CSV, plain JSON) is read: the tags and precision asked for, which apply to line
        protocol and Telegraf JSON metrics alone, do not apply to it (told once: the user asked for what this stream
        does not give)."""
        asked, self._unused_options = self._unused_options, None
        self.log.warn("metric-options", f"{asked} only to line protocol and Telegraf JSON metrics: ignored for this "
                                        f"stream's {kind} records")

    def _metric(self, line: str, record: dict[str, Any] | None = None) -> list[tuple[np.ndarray, Any]]:
        """The samples a metric completes: the line protocol ``line``, or the Telegraf JSON ``record`` of it; a metric
        that does not read is malformed (counted)."""
        kind = "influx" if record is None else "json"
        try:
            samples = self.metrics.add(parse_line(line) if record is None else json_metric(record), kind)
            # (a timestamp read is an Instant: only text that is no number may be a clock reading)
            return [(row, self._clock_text(stamp) if type(stamp) is str else stamp) for row, stamp in samples]
        except ValueError as exc:
            what = "line protocol" if kind == "influx" else "Telegraf JSON metric"
            self._malformed(f"{what}: {exc}: {line[:60]!r}")
            return []

    def _json_record(self, record: dict[str, Any], line: str) -> tuple[np.ndarray | None, Any]:
        """One JSON object of ``line``: its row and time, or ``(None, None)`` (malformed, counted)."""
        row = np.full(len(self.sensors), np.nan)
        stamp = None
        carried = timed = False
        for key, value in record.items():
            i = self.index.get(key)
            if i is None:
                if find_time_column([key], self.time_names, named=self.time_field is None) is not None:
                    stamp, self._time_name, timed = self._clock_text(json_time(value)), key, True
                elif (name := _short_name(key)) not in self.unknown_fields and len(self.unknown_fields) < 100:
                    self.unknown_fields.add(name)  # bounded memory
                    self.log.warn("unknown", f"ignoring field {name!r} (not a sensor of this detector)")
                continue
            number = _json_number(value)
            if number is not None:  # NaN (null, "NA", ...) is an explicit missing value
                row[i] = number
                carried = True
        if not carried:
            self._malformed(f"no value for any of the detector's sensors ({', '.join(self.sensors[:5])}): "
                            f"{line[:60]!r}")
            return None, None
        if not timed:
            self._untimed()
        return row, stamp

    def _untimed(self) -> None:
        """A record without the time field named by ``time_field``: told once (records may go without the time
        names tried by default, but one named on purpose that none carries is a typo that would go unseen)."""
        if self.time_field is not None and not self._untimed_told:
            self._untimed_told = True
            self.log.warn("untimed", f"no time field {self.time_field!r} (--time-field) in the records: their "
                                     "samples have no time, unchecked for order, jumps and duplicates")

    def _accept_time(self, stamp: Any) -> bool:
        """Whether a record with this time is kept (see the module docstring); updates the counters."""
        status, value, is_date = _time_parts(stamp)
        if status == "bad":
            self._malformed(f"time {str(stamp)[:40]!r} is not a finite number")
            return False
        if is_date and not self._offset_told and not isinstance(stamp, Instant) and \
                _OFFSET.search(str(stamp).strip().rstrip("Z")):  # (an Instant is UTC: nothing to look for)
            self._offset_told = True
            self.log.warn("offset", "times with a UTC offset are read, and reported, as UTC")
        if value is None:
            if status == "none" and stamp is not None and str(stamp).strip():
                self.counts["unreadable_times"] += 1
                self.log.warn("unreadable_time", f"time {str(stamp)[:40]!r} is neither a number nor an ISO date: "
                                                 "the sample is scored and keeps it as text, unchecked for order "
                                                 "and duplicates")
            return True
        last, horizon, held = self.last_time, self.max_time_jump, self._jump
        if last is not None and horizon is not None:
            horizon *= 1e9 if is_date else 1.0
            if abs(value - last) > horizon and self._steps:  # (only then: a median a record cost 40 % of parsing)
                horizon = max(horizon, PACE_STEPS * self._typical_step())
        if last is not None and horizon is not None and abs(value - last) > horizon:
            # a second record confirms a held-back one: within the horizon after it, or as far after it as it was
            # after the reference (a stream whose every step is beyond the horizon: its own pace)
            steady = held is not None and last < held < value and 0.8 <= (value - held) / (held - last) <= 1.25
            if not steady and (held is None or not held <= value <= held + horizon):
                self._jump = value
                if value < last:
                    self.counts["out_of_order"] += 1
                    self.log.warn("order", f"skipped a sample with out-of-order time {str(stamp)[:40]!r}")
                else:
                    self.counts["time_jumps"] += 1
                    self.log.warn("jump", f"skipped a sample whose time {str(stamp)[:40]!r} jumps more than "
                                          f"{self.max_time_jump:g} ahead; the previous time stays the reference")
                return False
            self.log.warn("jump", f"the time moved to {str(stamp)[:40]!r} on consecutive records: "
                                  "accepting it as the new reference")
        elif last is not None and value < last:
            # the clock set back (a device restarted its counter, an NTP step, local times at the end of DST) shows as
            # a second record after the held-back one and still before the reference, as a far jump is confirmed:
            # skipping every record until the clock passed the reference again lost minutes, or all that followed
            if held is None or not held < value or self._late(last - value):
                self._jump = value
                self.counts["out_of_order"] += 1
                self.log.warn("order", f"skipped a sample with out-of-order time {str(stamp)[:40]!r}")
                return False
            self.log.warn("jump", f"the time moved back to {str(stamp)[:40]!r} on consecutive records: accepting it "
                                  "as the new reference")
        self._jump = None
        if last is not None and value > last:
            self._steps.append(value - (held if held is not None and last < held < value else last))
        self.last_time = value
        return True

    def _typical_step(self) -> float:
        """The median of the stream's last forward steps (:data:`_PACE_STEPS_KEPT`); call only when it has some."""
        return sorted(self._steps)[len(self._steps) // 2]

    def _late(self, back: float) -> bool:
        """Whether a record ``back`` behind the reference is late (:data:`REORDER_STEPS`; False before any step)."""
        return bool(self._steps) and back <= REORDER_STEPS * self._typical_step()

    def _duplicate(self, stamp: Any, row: np.ndarray) -> bool:
        """Whether a record with this time and these values was seen recently (then it is counted)."""
        moment = float(stamp.ns) if isinstance(stamp, Instant) else time_value(stamp)
        if moment is None or not self.recent.seen((moment, row.tobytes())):
            return False
        self.counts["duplicates"] += 1
        self.log.warn("duplicate", f"skipped a duplicate of the sample at time {str(stamp)[:40]!r}")
        return True

    def _check_excel_days(self, stamps: list[Any]) -> None:
        """Warn once, as the table reader does, when the stream's times are numbers that look like Excel serial
        dates (:func:`~tsae.io.table_time.excel_days_warning`), judged on the first block that has numeric times.
        Headerless rows' time column (no name: ``_time_name`` None) is judged on its numbers alone, as a headerless
        table's is."""
        numbers = [number for status, number, is_date in map(_time_parts, stamps) if status == "ok" and not is_date]
        if not numbers:
            return
        self._excel_checked = True
        message = excel_days_warning(np.array(numbers), self._time_name)
        if message is not None:
            self.log.warn("excel_days", message)

    def _no_record(self, line: str) -> None:
        """``line`` is JSON, but no object nor an array of objects (``null``, ``42``, ``[1, 2]``): malformed."""
        self._malformed(f"JSON line is not an object or an array of objects: {line[:60]!r}")

    def _malformed(self, message: str) -> None:
        self.counts["malformed"] += 1
        self.log.warn("malformed", f"skipped a malformed line ({message})")

    # -- both -----------------------------------------------------------------
    def parse(self, lines: Iterable[str | bytes]) -> tuple[np.ndarray, list[Any]]:
        """Parse a block of lines; returns the good rows (NaN = missing) and their times.

        A line of bytes (a socket's or a broker's payload) is read as UTF-8, else latin-1 (as a table file is);
        anything else that is not text (``None``, a number) is a malformed line, counted, as one that does not parse.
        """
        rows: list[np.ndarray] = []
        times: list[Any] = []
        csv_lines: list[str] = []

        def drain_csv() -> None:
            if csv_lines:
                r, t = self._parse_csv(csv_lines)
                rows.extend(r)
                times.extend(t)
                csv_lines.clear()

        for line in lines:
            if isinstance(line, (bytes, bytearray, memoryview)):
                line = decode_text(bytes(line))  # UTF-8, else latin-1, as a table file
            elif not isinstance(line, str):
                self.counts["lines"] += 1
                self._malformed(f"a {type(line).__name__}, not a line of text")
                continue
            if len(line) > self.max_line:
                self.counts["lines"] += 1
                self._malformed(f"a line of over {self.max_line} characters (the limit)")
                continue
            line = line.strip().lstrip("\ufeff")  # a UTF-8 BOM (an editor's CSV, or files concatenated)
            if not line:
                continue
            wide = "\x00" in line and _looks_wide(line)
            if wide and not self._wide_told and self.counts["malformed"] == self.counts["lines"]:  # none read well
                self._wide_told = True
                self.log.warn("encoding", "the stream looks UTF-16 or UTF-32, but records are read as UTF-8: its "
                                          "lines are malformed (convert it first, e.g. iconv -f UTF-16 -t UTF-8)")
            self.counts["lines"] += 1
            try:
                if self.fmt == "json" or (self.fmt in ("auto", "influx") and line[0] in "{["):
                    drain_csv()
                    for row, stamp in self._parse_json(line):
                        rows.append(row)
                        times.append(stamp)
                        self._recorded = True
                elif self.fmt != "csv" and json_scalar(line):  # never a line protocol line; a CSV one at most
                    drain_csv()
                    record = None if self._influx else self._csv_line(line, scalar=True)
                    if self._influx:
                        self._no_record(line)
                    if record is not None:
                        rows.append(record[0])
                        times.append(record[1])
                elif self._influx or (self.fmt == "auto" and not self._csv_rows and self._first_influx(line)):
                    if line[0] != "#" or not is_comment(line):
                        for row, stamp in self._metric(line):
                            rows.append(row)
                            times.append(stamp)
                else:
                    csv_lines.append(line)
                    drain_csv()  # line by line: one bad line cannot cost the others
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # never lose the block
                csv_lines.clear()
                self._malformed(f"{type(exc).__name__} in {line[:60]!r}")
        drain_csv()
        return self._accepted(rows, times)

    def _first_influx(self, line: str) -> bool:
        """Whether a line of an ``auto`` stream, before any CSV row, is read as line protocol: one that reads so. The
        first that names a sensor of the detector makes the stream's other lines line protocol (see the class); one of
        other measurements only (Telegraf's ``cpu``, a stray ``x=1 y=2``) is skipped as such and decides nothing."""
        if is_comment(line) or not looks_like_line_protocol(line):
            return False
        self._influx = self.metrics.names_sensor(parse_line(line))
        return True

    def flush(self) -> tuple[np.ndarray, list[Any]]:
        """The end of the stream: the sample of line protocol (or Telegraf JSON) metrics still being filled, if any,
        as :meth:`parse` returns rows (see :class:`~tsae.io.metric_rows.MetricRows`)."""
        held = self.metrics.flush()
        return self._accepted([row for row, _ in held], [stamp for _, stamp in held])

    def _accepted(self, rows: list[np.ndarray], times: list[Any]) -> tuple[np.ndarray, list[Any]]:
        """The rows read kept (duplicates, times out of order or jumping skipped), as :meth:`parse` returns them."""
        if not rows:
            return np.zeros((0, len(self.sensors))), []
        values = np.vstack(rows)
        keep = np.ones(len(values), dtype=bool)
        if any(t is not None for t in times):
            for k, stamp in enumerate(times):
                keep[k] = not self._duplicate(stamp, values[k]) and self._accept_time(stamp)
        if not keep.all():
            values = values[keep]
            times = [t for t, k in zip(times, keep, strict=True) if k]
        if not self._excel_checked:
            self._check_excel_days(times)
        times = [output_time(t) for t in times]
        missing = ~np.isfinite(values)
        n_missing = int(missing.sum())
        if n_missing:
            self.counts["missing_values"] += n_missing
            names = [self.sensors[i] for i in np.flatnonzero(missing.any(axis=0))]
            self.log.warn("missing", f"{n_missing} missing/NaN value(s) ({', '.join(names[:5])}): "
                                     "holding the last good value")
        return values, times


__all__ = ["DEDUP_WINDOW", "FORMATS", "MAX_LINE", "MAX_TIME_JUMP", "RecentKeys", "RecordParser", "WarningLog",
           "json_scalar", "time_value"]
