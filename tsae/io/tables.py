"""CSV tables of sensor series: one column per channel, an optional time column and label column.

:func:`read_table` returns the numeric channels as float64 ``(channels, n)`` with NaN
for missing cells; a time column is recognised by its name (``time``, ``timestamp``,
``date``, ``datetime``, ``t``) or because its values parse as dates; a ``label``
column (anomaly labels) is kept apart. :func:`write_table` writes atomically.
Tables may be compressed (``.csv.gz``, ``.tsv.bz2``, ``.txt.xz``: read as a stream, written
by suffix), and a ``;``- or tab-separated table may use decimal commas (see :func:`read_table`).
The time-column names, missing-value tokens and delimiter sniffing are shared with
the stream record parser (:mod:`tsae.io.records`). :func:`tsae.io.series.read_series`
reads any supported series file (CSV/TSV, ``.npy``, audio).

Errors are ``ValueError("<path>: <problem>")`` with one line: missing, empty, header
only, ragged rows, non-numeric cells (with the line and column), broken compressed data.
"""
from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import gzip
import io
import lzma
import os
import re
import warnings
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO, cast

import numpy as np

from tsae.io.atomic import atomic_path
from tsae.io.paths import COMPRESSION_SUFFIXES, TABLE_SUFFIXES, kind_suffix

TIME_NAMES = ("time", "timestamp", "date", "datetime", "t", "time_s", "seconds", "ts")
#: names of a first column that numbers the rows (pandas writes its index with an empty name, or reads one back
#: as "Unnamed: 0"): with no column named like a time column, it is the time column, never a channel
INDEX_NAMES = ("index", "idx", "unnamed: 0")
#: the fewest rows whose first column must count (whole numbers rising by one constant step, as a row number, a
#: minute counter or epoch seconds do) for it to be the time column when no column is named like one; it must go
#: on counting to the end, skipping a row now and then (:data:`COUNTER_STEADY`). A sensor read that way would carry
#: no information (a straight line), and as a channel such a counter left the range a detector was fitted on and
#: raised every later score
COUNTER_ROWS = 16
LABEL_NAMES = ("label", "labels", "anomaly", "is_anomaly")
MISSING = {"", "na", "nan", "null", "none", "n/a", "?", "-", "#n/a", "missing"}
#: Field delimiters a table (or a record stream) may use.
DELIMITERS = ",;\t|"


@dataclass
class Table:
    """A table read by :func:`read_table`.

    Attributes
    ----------
    values
        float64 ``(channels, n)``, NaN where a cell is missing.
    columns
        Channel names, one per row of ``values``.
    time
        The time column (float64 numbers or ``datetime64[ns]``), or None.
    time_name
        Its header name, or None.
    label
        The label column (numbers, or strings when not numeric), or None.
    """

    values: np.ndarray
    columns: list[str]
    time: np.ndarray | None = None
    time_name: str | None = None
    label: np.ndarray | None = None
    label_name: str | None = None

    @property
    def channels(self) -> int:
        return int(self.values.shape[0])

    def __len__(self) -> int:
        return int(self.values.shape[1])

    def sample_rate(self) -> float | None:
        """Samples per second implied by a regularly spaced time column, else None."""
        return _rate_from_time(self.time)


def _fail(path: Path, problem: str) -> ValueError:
    return ValueError(f"{path}: {problem}")


def _is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING


def _as_float(cell: str, decimal: str | None) -> float:
    """A cell's number with the decimal mark ``decimal`` (``"."`` or ``","``; None: either); ValueError if none.

    With ``","`` a cell holding a point is not a number (decimal marks are not mixed in a file).
    """
    if decimal is not None and (decimal == "," and "." in cell or decimal == "." and "," in cell):
        raise ValueError(cell)
    return float(cell.replace(",", ".", 1) if decimal != "." and "." not in cell else cell)


def _floats(cells: Sequence[str], decimal: str = ".") -> np.ndarray | tuple[int, str]:
    """The cells as float64 (missing ones NaN), or ``(index, text)`` of the first cell that is not a number.

    ``decimal`` is the file's decimal mark (see :func:`_decimal_mark`).
    """
    arr = np.array([c.strip() for c in cells], dtype=object)
    missing = np.array([c.lower() in MISSING for c in arr], dtype=bool)
    arr[missing] = "nan"
    try:
        text = arr.astype(str)
        if decimal == ",":
            if (np.char.find(text, ".") >= 0).any():
                raise ValueError("a decimal point")
            text = np.char.replace(text, ",", ".")
        return np.asarray(text, dtype=np.float64)
    except ValueError:
        for i, cell in enumerate(arr):
            try:
                _as_float(cell, decimal)
            except ValueError:
                return i, str(cell)
        raise


#: a column is numbers (not dates or text) when its first this many cells are, missing ones aside
_KIND_ROWS = 200


def _numeric_fraction(cells: Sequence[str], decimal: str | None = ".") -> float:
    seen = ok = 0
    for cell in cells[:_KIND_ROWS]:
        if _is_missing(cell):
            continue
        seen += 1
        try:
            _as_float(cell.strip(), decimal)
            ok += 1
        except ValueError:
            pass
    return ok / seen if seen else 1.0


def _first_mark(cells: Sequence[str]) -> tuple[int, str] | None:
    """``(index, mark)`` of the first cell holding a decimal mark (``"."`` or ``","``), or None."""
    for i, cell in enumerate(cells):
        if "." in cell:
            return i, "."
        if "," in cell:
            return i, ","
    return None


def _not_a_number(line: int, name: str, cell: str, decimal: str | None) -> str:
    """The error of a cell that is not a number; a number with the other decimal mark is told as such."""
    problem = f"line {line}, column {name!r}: not a number ({cell[:30]!r})"
    if decimal is not None:
        other = "," if decimal == "." else "."
        with contextlib.suppress(ValueError):
            _as_float(cell, other)
            word = "comma" if decimal == "," else "point"
            problem += f": mixed decimal marks (the file's first decimal number has a decimal {word})"
    return problem


#: a UTC offset at the end of an ISO time (``+05:00``, ``-0800``)
_OFFSET = re.compile(r"[+-]\d\d:?\d\d$")
#: the first this many times of a date column are looked at for a UTC offset
_OFFSET_ROWS = 1000


#: a dotted date, day first (``01.02.2024`` is 1 February), perhaps with a time after a space
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?=$|[ T])")
#: a cell that is a number, not a date (as an error tells it)
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _iso_date(cell: str) -> str:
    """``dd.mm.yyyy[ time]`` as ``yyyy-mm-dd[ time]``; any other text as it is."""
    if cell[1:2] != "." and cell[2:3] != ".":  # cheap: ISO dates and numbers are left alone at once
        return cell
    match = _DOTTED.match(cell)
    if match is None:
        return cell
    day, month, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}{cell[match.end():]}"


def _clean_dates(cells: Sequence[str]) -> list[str]:
    """Date strings as numpy reads them (ISO, ``T`` between date and time, no ``Z``; dotted dates are day first),
    missing ones ``NaT``."""
    return [_iso_date(c.strip()).replace(" ", "T", 1).rstrip("Z") if not _is_missing(c) else "NaT" for c in cells]


def _parse_dates(cleaned: list[str]) -> np.ndarray | None:
    """:func:`_clean_dates` strings as datetime64[ns]; None when they are not all dates.

    Times with a UTC offset are read as the UTC instant they name (datetime64 has no time zones);
    :func:`read_table` warns about them, naming the file.
    """
    # every date has a "-" (ISO, dotted ones made ISO): numpy reads a bare number as a year ("1704067250", "0")
    if any("-" not in c and c != "NaT" for c in cleaned):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy: "no explicit representation of timezones", naming no file
            days = np.array(cleaned, dtype="datetime64[D]")
            if days.size and (np.nanmin(days) < _FIRST_DAY or np.nanmax(days) > _LAST_DAY):
                return None  # nanoseconds would wrap around (3000-01-01 became 1830-11-23)
            return np.array(cleaned, dtype="datetime64[ns]")
    except (ValueError, TypeError, OverflowError):
        return None


#: the days a datetime64[ns] time can fall on (its range is 1677-09-21T00:12:43 to 2262-04-11T23:47:16)
_FIRST_DAY, _LAST_DAY = np.datetime64("1677-09-22", "D"), np.datetime64("2262-04-10", "D")


def _not_a_date(cell: str) -> str:
    """Why a :func:`_clean_dates` string that :func:`_parse_dates` refuses is not a time."""
    try:
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
                 **dict.fromkeys(("min", "mins", "minute", "minutes", "time_min"), 60.0),
                 **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "time_h"), 3600.0),
                 **dict.fromkeys(("day", "days"), 86400.0)}


def median_step(time: np.ndarray | None, name: str | None = None) -> float | None:
    """Seconds between rows: the median step of a time column (None without one, or without a positive step).

    The times are sorted first: rows out of order still have their spacing. Numbers are seconds unless the
    column's ``name`` is a unit (``minute``, ``hours``, ``ms``...).
    """
    if time is None:
        return None
    steps = np.diff(np.sort(time_seconds(time)))
    step = float(np.median(steps)) if steps.size else 0.0
    if name is not None and np.asarray(time).dtype.kind != "M":
        step *= _UNIT_SECONDS.get(name.strip().lower(), 1.0)
    return step if step > 0 else None


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


def _sniff_dialect(sample: str, suffix: str) -> Any:
    if suffix == ".tsv" or suffix.startswith(".tsv."):  # .tsv.gz too
        return csv.excel_tab
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    if dialect.delimiter == ",":
        other = _decimal_comma_delimiter(sample)
        if other is not None:
            dialect = _DIALECTS[other]
    return dialect


class _Semicolons(csv.excel):
    delimiter = ";"


class _Pipes(csv.excel):
    delimiter = "|"


_DIALECTS: dict[str, type[csv.Dialect]] = {";": _Semicolons, "\t": csv.excel_tab, "|": _Pipes}


#: complete lines of a sample looked at to tell decimal commas from a comma delimiter
_MARK_LINES = 50


def _decimal_comma_delimiter(sample: str) -> str | None:
    """The delimiter of a sample whose commas are decimal marks, or None.

    Without a header the sniffer takes ``1,5;2,25`` for comma-separated: every line has one comma per field.
    Here a ``;``, tab or ``|`` that each complete line holds the same number of times (at least once), with no
    field holding more than one comma, is the delimiter, and the commas are decimal commas.
    """
    lines = [line for line in sample.split("\n")[:-1][:_MARK_LINES] if line.strip()]
    if not lines or not any("," in line for line in lines):
        return None
    for delimiter in DELIMITERS[1:]:
        counts = {line.count(delimiter) for line in lines}
        if len(counts) == 1 and counts.pop() > 0 and all(
                field.count(",") <= 1 for line in lines for field in line.split(delimiter)):
            return delimiter
    return None


def sniff_delimiter(sample: str, suffix: str = "") -> str:
    """The field delimiter of a table (one of ``DELIMITERS``) from a sample of its text; ``","`` when unclear."""
    return _sniff_dialect(sample, suffix.lower()).delimiter


def find_time_column(names: Sequence[str], time_names: Sequence[str] = TIME_NAMES) -> int | None:
    """Index of the column named like a time column (case-insensitive, first of ``time_names`` wins), or None."""
    lower = [name.strip().lower() for name in names]
    for name in time_names:
        if name.lower() in lower:
            return lower.index(name.lower())
    return None


#: body rows that :func:`read_table` holds as text at a time: it converts them to arrays chunk by chunk, so its
#: memory is about the arrays it returns (twice, while their chunks are joined) and this many rows of strings
READ_ROWS = 1 << 14
#: bytes read at a time while the encoding of a table file is checked
_BLOCK = 1 << 20


#: the name of each compression (by suffix) as errors tell it
_COMPRESSION_NAMES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}


def _starts_as(head: bytes) -> str | None:
    """The compression suffix whose magic bytes ``head`` starts with, or None (plain, or too short to tell)."""
    if head.startswith(b"\x1f\x8b"):
        return ".gz"
    # "BZh", the block size, then a block's or the end-of-stream's magic: not a text that happens to start "BZh"
    if head[:3] == b"BZh" and head[3:4] in b"123456789" and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return ".bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return ".xz"
    return None


def _compression(path: Path) -> str | None:
    """``".gz"``, ``".bz2"`` or ``".xz"`` for a compressed table, None for a plain one.

    Judged by the file's magic bytes (a gzip file named ``.csv`` is read too); a file named ``.gz`` (``.bz2``,
    ``.xz``) that does not start as one is an error. One-line errors: missing, a folder, unreadable.
    """
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a table")
    try:
        with open(path, "rb") as handle:
            head = handle.read(10)
    except OSError as error:
        raise _fail(path, f"cannot read ({error.strerror or error})") from None
    found = _starts_as(head)
    named = path.suffix.lower()
    if found is None and named in COMPRESSION_SUFFIXES and head.strip():
        raise _fail(path, f"not a valid {_COMPRESSION_NAMES[named]} file (it does not start as one)")
    return found


def _open_binary(path: Path, compression: str | None) -> io.BufferedIOBase:
    """The file's bytes, decompressed as they are read (a stream: nothing is decompressed ahead)."""
    if compression == ".gz":
        return gzip.open(path, "rb")
    if compression == ".bz2":
        return bz2.open(path, "rb")
    if compression == ".xz":
        return lzma.open(path, "rb")
    return open(path, "rb")


@contextlib.contextmanager
def _decompressing(path: Path, compression: str | None) -> Iterator[None]:
    """Turn a broken compressed stream, met while reading, into one error naming the file."""
    if compression is None:
        yield
        return
    name = _COMPRESSION_NAMES[compression]
    try:
        yield
    except EOFError:
        raise _fail(path, f"truncated {name} data (the file ends early)") from None
    except (zlib.error, lzma.LZMAError) as error:
        raise _fail(path, f"not a valid {name} file ({error})") from None
    except OSError as error:
        if error.errno is not None:  # the disk, not the data (gzip's and bz2's data errors carry no errno)
            raise
        raise _fail(path, f"not a valid {name} file ({error})") from None


#: bytes no text table holds (control characters other than tab, line feed, carriage return, form feed...)
_CONTROL_BYTES = (*range(0, 9), *range(14, 27), *range(28, 32))


def _encoding(path: Path, compression: str | None = None) -> str:
    """The encoding of a table file: UTF-8 when all of it is, else latin-1 (which decodes any bytes).

    The file (decompressed, for a compressed one) is read a block at a time. One-line errors: unreadable, empty
    (only blanks), binary, broken compressed data.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    head, blank, utf8 = b"", True, True
    try:
        with _decompressing(path, compression), _open_binary(path, compression) as handle:
            while block := handle.read(_BLOCK):
                head += block[:4096 - len(head)]
                blank = blank and not block.strip()
                if utf8:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError:
                        utf8 = False
                if not (utf8 or blank) and len(head) == 4096:
                    break  # latin-1, not empty, and its start is known: nothing more to learn
    except OSError as error:
        raise _fail(path, f"cannot read ({error.strerror or error})") from None
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if blank:
        raise _fail(path, "empty file")
    controls = sum(head.count(bytes([c])) for c in _CONTROL_BYTES)
    if b"\x00" in head or controls > 0.01 * len(head):
        raise _fail(path, "not a text table (binary data)")
    return "utf-8-sig" if utf8 else "latin-1"


def _open_text(path: Path, encoding: str, compression: str | None = None, newline: str = "\n") -> TextIO:
    # newline="\n": lines end at "\n" only, as io.StringIO split them when the whole text was read at once
    # ("\r" for a file with classic Mac line ends, which has no "\n")
    if compression is None:
        return open(path, encoding=encoding, newline=newline)
    return io.TextIOWrapper(cast(BinaryIO, _open_binary(path, compression)), encoding=encoding, newline=newline)


def _records(path: Path, handle: TextIO, dialect: Any) -> Iterator[tuple[int, list[str]]]:
    """Non-blank, non-comment rows of cells, one at a time, each with the file line it ends on (as errors tell it)."""
    reader = csv.reader(handle, dialect)
    try:
        for row in reader:
            if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#"):
                yield reader.line_num, row
    except csv.Error as error:
        problem = str(error)
        if "field larger than field limit" in problem:
            problem = f"a cell is longer than {csv.field_size_limit():,} characters"
        elif "new-line character seen in unquoted field" in problem:
            problem = "a lone carriage return (\\r) inside a line (line ends mixed?)"
        raise _fail(path, f"line {reader.line_num}: {problem}") from None


def _body(path: Path, rows: Iterator[tuple[int, list[str]]], width: int) -> Iterator[tuple[int, list[str]]]:
    """The data rows with their lines, each of ``width`` cells (a trailing delimiter dropped); a ragged row is an
    error."""
    for line, row in rows:
        if len(row) != width:
            if len(row) == width + 1 and not row[-1].strip():  # a trailing delimiter
                row = row[:-1]
            else:
                for _ in rows:  # a broken quote further on is told first, as when all rows were parsed first
                    pass
                raise _fail(path, f"line {line} has {len(row)} fields, expected {width}")
        yield line, row


def _label_index(header: list[str], time_idx: int | None) -> int | None:
    lower = [h.lower() for h in header]
    for name in LABEL_NAMES:
        if name in lower and lower.index(name) != time_idx:
            return lower.index(name)
    return None


@dataclass
class _Column:
    """A column of a table being read, its cells converted chunk by chunk as what it may turn out to be."""

    name: str
    #: where its errors come in the order the reader tells them: 0 the time column, 1 the label, 3 a channel
    rank: int
    floats: list[np.ndarray] | None = None  # read as numbers (None: not)
    dates: list[np.ndarray] | None = None  # read as dates
    texts: list[np.ndarray] | None = None  # kept as text: a label that is not numbers
    #: not a named time column but maybe the time column: its first cells are dates (it may also be a channel)
    maybe_time: bool = False
    #: the time column because its first cells count (:data:`COUNTER_ROWS`); a channel again if a later one does not
    counter: bool = False
    bad: str | None = None  # the first cell that is not a number, as the error tells it
    not_dates: bool = False  # a cell is not a date
    not_date: str = ""  # the first cell that is not a date, as the error tells it
    offset: bool = False  # one of its first _OFFSET_ROWS dates has a UTC offset


#: the least share of a counter's steps (read whole) that are its first step; the others skip rows (a logger that
#: missed some), whole multiples of it
COUNTER_STEADY = 0.9


def _counts(values: np.ndarray | tuple[int, str]) -> bool:
    """Whether ``values`` (:func:`_floats` of a column's cells) are whole numbers that count: their first
    :data:`COUNTER_ROWS` rise by one step, and the rest by whole multiples of it, at least :data:`COUNTER_STEADY`
    of them by that step."""
    if isinstance(values, tuple) or len(values) < COUNTER_ROWS or not whole_numbers(values) or np.isnan(values).any():
        return False
    steps = np.diff(values)
    step = steps[0]
    if not (step > 0 and np.all(steps[: COUNTER_ROWS - 1] == step)):
        return False
    return bool(np.all((steps > 0) & (steps % step == 0)) and np.mean(steps == step) >= COUNTER_STEADY)


def _plan(header: list[str], sample: list[list[str]], decimal: str | None,
          unnamed_first: bool = False) -> tuple[list[_Column], int | None, int | None]:
    """``(columns, time index, label index)``: what each column is read as, judged on the first rows.

    A column is numbers when its first :data:`_KIND_ROWS` cells are (:func:`_numeric_fraction`, with the decimal
    mark ``decimal``; None: either, as it is not known yet). Without a
    column named like a time column, a first column that numbers the rows (named in :data:`INDEX_NAMES`, or
    ``unnamed_first``: no name at all, as pandas writes its index) is the time column, as is a first column whose
    first cells count (:data:`COUNTER_ROWS`; :func:`_read_rows` makes it a channel if the later ones do not); else
    the time column is the first other column (not the label) whose cells are all dates: each that starts with
    dates is read as dates too, until a cell is not one.
    """
    time_idx = find_time_column(header)
    cells = list(zip(*sample, strict=True))
    counter = False
    label = _label_index(header, None)
    if time_idx is None and header and (unnamed_first or header[0].strip().lower() in INDEX_NAMES):
        time_idx = 0
    elif (time_idx is None and label != 0 and len(header) - 1 - (label is not None) > 0  # a channel left
          and _counts(_floats(cells[0], decimal or "."))):
        time_idx, counter = 0, True
    label_idx = _label_index(header, time_idx)
    columns = []
    for j, name in enumerate(header):
        numeric = _numeric_fraction(cells[j], decimal) == 1.0
        if j == time_idx:
            # a counter's errors are told as a channel's: it is one again if a cell is not a number
            column = _Column(name, 3 if counter else 0, floats=[] if numeric else None,
                             dates=None if numeric else [], counter=counter)
        elif j == label_idx:
            column = _Column(name, 1, floats=[] if numeric else None, texts=None if numeric else [])
        else:
            column = _Column(name, 3, floats=[])
            if time_idx is None and not numeric and _parse_dates(_clean_dates(cells[j])) is not None:
                column.dates, column.maybe_time = [], True
        columns.append(column)
    return columns, time_idx, label_idx


def _convert(column: _Column, cells: Sequence[str], start: int, lines: Sequence[int], keep: bool,
             floats: bool, decimal: str | None) -> None:
    """Convert a chunk of a column's cells: data rows ``start`` on, on the file ``lines`` (as errors number them).

    ``keep``: keep the arrays (not when the table is already known to be an error); ``floats``: read its numbers
    (not when the error told would not be this column's anyway) with the decimal mark ``decimal`` (None: not known
    yet, as no number so far has one).
    """
    if column.floats is not None and column.bad is None and floats:
        values = _floats(cells, decimal or ".")
        if isinstance(values, tuple):
            i, cell = values
            column.bad = _not_a_number(lines[i], column.name, cell, decimal)
            column.floats.clear()
        elif keep:
            column.floats.append(values)
    if column.dates is not None and not column.not_dates:
        cleaned = _clean_dates(cells)
        parsed = _parse_dates(cleaned)
        if parsed is None:
            column.not_dates = True
            column.dates.clear()
            i = _first_non_date(cleaned)
            column.not_date = f"line {lines[i]}: {cells[i].strip()!r}{_not_a_date(cleaned[i])}"
        else:
            if keep:
                column.dates.append(parsed)
            if start < _OFFSET_ROWS and not column.offset:
                column.offset = any(_OFFSET.search(c) for c in cleaned[:_OFFSET_ROWS - start])
    if column.texts is not None and keep:
        column.texts.append(np.array([c.strip() for c in cells]))


def _joined(chunks: list[np.ndarray] | None) -> np.ndarray:
    assert chunks is not None
    joined = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    chunks.clear()
    return joined


def _decimal_mark(columns: list[_Column], cells: Sequence[Sequence[str]]) -> str | None:
    """The decimal mark of a chunk's first number (in file order) that has one, in the columns read as numbers;
    None when none has one."""
    first: tuple[int, int, str] | None = None  # (row, column, mark)
    for j, column in enumerate(columns):
        if column.floats is None or column.dates is not None:  # not numbers, or perhaps dates (01.02.2024)
            continue
        found = _first_mark(cells[j])
        if found is not None and (first is None or (found[0], j) < first[:2]):
            first = (found[0], j, found[1])
    return None if first is None else first[2]


def _is_data_row(cells: Sequence[str], decimal: str | None) -> bool:
    """Whether a first row is data rather than a header: every cell a number or a date (one holding a digit:
    numpy reads ``"today"`` as a date too), at least one a number."""
    numbers = [_numeric_fraction([c], decimal) == 1.0 and not _is_missing(c) for c in cells]
    return any(numbers) and all(is_number or (any(ch.isdigit() for ch in c) and _parse_dates(_clean_dates([c]))
                                              is not None) for c, is_number in zip(cells, numbers, strict=True))


def _unnamed(index: int, given: set[str]) -> str:
    """The name of an unnamed column at ``index``: ``column<index>``, with ``_`` added while a column has it."""
    name = f"column{index}"
    while name in given:
        name += "_"
    return name


def _read_rows(path: Path, handle: TextIO, dialect: Any) -> Table:
    """The table of the rows of an open file, read :data:`READ_ROWS` rows at a time; errors in the order the
    whole-file reader told them: broken quotes, empty, no data rows, ragged rows, duplicate names, the time
    column, the label, no channel, then the first channel (left to right) with a cell that is not a number.

    A file not separated by commas may use decimal commas: the first number with a decimal mark decides the
    mark of the whole file (see :func:`read_table`)."""
    decimal = "." if dialect.delimiter == "," else None
    rows = _records(path, handle, dialect)
    head = next(rows, None)
    if head is None:
        raise _fail(path, "empty file")
    first = head[1]
    if _is_data_row(first, decimal):  # numbers (and dates): data, not a header
        header = [f"ch{i}" for i in range(len(first))]
        rows = chain([head], rows)
    else:
        given = {c.strip() for c in first}
        header = [c.strip() or _unnamed(i, given) for i, c in enumerate(first)]
    body = _body(path, rows, len(header))
    sample = list(islice(body, _KIND_ROWS))
    if not sample:
        raise _fail(path, "no data rows (only a header)")
    if len(set(header)) != len(header):
        for _ in body:  # a ragged row further on is told first
            pass
        dup = sorted({h for h in header if header.count(h) > 1})[0]
        raise _fail(path, f"duplicate column name {dup!r}")
    unnamed_first = not first[0].strip()  # a blank cell is no number: such a first row is always a header
    columns, time_idx, label_idx = _plan(header, [row for _, row in sample], decimal, unnamed_first)
    doomed: tuple[int, int] | None = None  # (rank, index) of the first error that will certainly be told
    n = 0
    rest = chain(sample, body)
    del sample
    while chunk := list(islice(rest, READ_ROWS)):
        lines = [line for line, _ in chunk]
        cells = list(zip(*(row for _, row in chunk), strict=True))
        del chunk
        if decimal is None:
            decimal = _decimal_mark(columns, cells)
        for j, column in enumerate(columns):
            _convert(column, cells[j], n, lines, doomed is None, doomed is None or (column.rank, j) < doomed, decimal)
        n += len(cells[0])
        for j, column in enumerate(columns):
            certain = (column.bad is not None and not column.maybe_time) or (column.rank == 0 and column.not_dates)
            if certain and (doomed is None or (column.rank, j) < doomed):
                doomed = (column.rank, j)
        if doomed is not None:
            for column in columns:
                for chunks in (column.floats, column.dates, column.texts):
                    if chunks is not None:
                        chunks.clear()

    if time_idx is not None and columns[time_idx].counter:
        counter = columns[time_idx]
        if counter.bad is not None:
            time_idx = None  # a cell is not a number: a channel, whose error that is
        elif doomed is None:
            counter.floats = [_joined(counter.floats)]
            if not _counts(counter.floats[0]):
                time_idx = None  # it counted at first, not all through: a channel
    if time_idx is None:
        time_idx = next((j for j, column in enumerate(columns) if column.maybe_time and not column.not_dates), None)
    time = None
    if time_idx is not None:
        column = columns[time_idx]
        if column.rank == 0 and column.not_dates:
            raise _fail(path, f"time column {column.name!r} is neither numbers nor dates ({column.not_date})")
        if column.rank == 0 and column.bad is not None:
            raise _fail(path, column.bad)
        if column.dates is not None and column.offset:
            warnings.warn(f"{path}: times with a UTC offset are read, and written, as UTC", TableWarning, stacklevel=3)
        time = column.dates if column.dates is not None else column.floats
    label = None
    if label_idx is not None:
        if columns[label_idx].bad is not None:
            raise _fail(path, str(columns[label_idx].bad))
        label = columns[label_idx].floats if columns[label_idx].floats is not None else columns[label_idx].texts
    channels = [j for j in range(len(header)) if j not in (time_idx, label_idx)]
    if not channels:
        raise _fail(path, "no numeric data columns")
    for j in channels:
        if columns[j].bad is not None:
            raise _fail(path, str(columns[j].bad))
    assert doomed is None, doomed
    values = np.empty((len(channels), n))
    for row, j in enumerate(channels):  # one channel at a time: its chunks and the table, not twice the table
        chunks = columns[j].floats
        assert chunks is not None
        np.concatenate(chunks, out=values[row])
        chunks.clear()
    return Table(values=values, columns=[header[j] for j in channels],
                 time=None if time is None else _joined(time), time_name=None if time_idx is None else header[time_idx],
                 label=None if label is None else _joined(label),
                 label_name=None if label_idx is None else header[label_idx])


def read_table(path: str | os.PathLike) -> Table:
    """Read a CSV (or TSV) file of channels, plain or compressed (gzip, bzip2, xz).

    Parameters
    ----------
    path
        The file. The first row is a header (when it is not all numbers); each other
        row is one time step. Empty cells and ``NA``/``nan``/``null`` become NaN.
        The delimiter (``,``, ``;``, tab, ``|``) is sniffed from the start of the text.

    Returns
    -------
    Table

    Raises
    ------
    ValueError
        One line naming the file: missing, empty, no data rows, ragged rows, no numeric
        column, a cell that is not a number (with its line and column), or compressed
        data that is not valid (``not a valid gzip file``, ``truncated xz data``).

    Notes
    -----
    *Compression.* A file that starts with the magic bytes of gzip, bzip2 or xz is decompressed as it is read,
    whatever its name (``pump.csv.gz``, ``pump.tsv.bz2``, ``pump.txt.xz``, or a gzip file named ``.csv``); a file
    named ``.gz``, ``.bz2`` or ``.xz`` that is not one is an error. Nothing is decompressed ahead: memory is as for
    a plain file.

    *Decimal commas.* In a file whose delimiter is not a comma (``;``, tab, ``|``), numbers may use a decimal
    comma (``-0,5``, ``12,75``, ``1,5e-3``, as spreadsheets in many locales export them). The first number in the
    file (in file order, in the columns read as numbers) that has a decimal mark decides the mark of the whole
    file; a later number with the other mark is an error naming its line and column (a file does not mix them).
    Dates are not numbers, so ``01.02.2024`` does not decide it. A comma-separated file always has decimal points.
    Thousands separators (``1.234,5``, ``1,234.5``) are not read: such a cell is not a number. Tables are written
    with commas and decimal points whatever they were read with.

    *Dates.* A time column holds numbers or dates: ISO 8601 (``2024-02-01 10:00:00``, ``T``, a trailing ``Z`` or
    UTC offset) or dotted day-first dates (``01.02.2024 10:00:00`` is 1 February).

    The file is read :data:`READ_ROWS` rows at a time (its memory is about twice the arrays it returns): what
    each column is (numbers, dates, text) is judged on its first 200 cells, and a later cell that does not fit
    is the same error as when the whole file was read at once.
    """
    path = Path(path)
    compression = _compression(path)
    encoding = _encoding(path, compression)
    try:
        with _decompressing(path, compression):
            with _open_text(path, encoding, compression) as handle:
                sample = handle.read(8192)
                dialect = _sniff_dialect(sample, kind_suffix(path))
            newline = "\r" if "\r" in sample and "\n" not in sample else "\n"
            with _open_text(path, encoding, compression, newline) as handle:
                table = _read_rows(path, handle, dialect)
    except OSError as error:
        raise _fail(path, f"cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError:  # UTF-8 a moment ago
        raise _fail(path, "cannot read (it changed while it was read)") from None
    _absurd_as_missing(path, table.values, table.columns)
    return table


#: a cell beyond this magnitude is read as missing, like inf: no sensor reads 1e30, and such a value
#: overflows the float32 arithmetic of the models (1e200 emptied whole columns of smooth's output)
ABSURD = 1e30


class TableWarning(UserWarning):
    """A table was read, but some of its cells had to be read as missing."""


def _absurd_as_missing(path: Path, data: np.ndarray, names: list[str]) -> None:
    """Infinite cells and cells beyond :data:`ABSURD` become NaN (missing), in place, with a warning naming them."""
    counts = []
    for row in data:  # a row at a time: no temporary the size of the table
        with np.errstate(invalid="ignore"):
            huge = np.abs(row) > ABSURD  # inf too
        row[huge] = np.nan
        counts.append(int(huge.sum()))
    if any(counts):
        where = [f"{names[c]} ({n})" for c, n in enumerate(counts) if n]
        warnings.warn(f"{path}: {sum(counts)} cell(s) infinite or beyond {ABSURD:g} in magnitude read as "
                      f"missing: {', '.join(where[:5])}", TableWarning, stacklevel=3)


def _time_unit(values: np.ndarray) -> Literal["s", "ms", "us", "ns"]:
    """The coarsest of s, ms, us, ns that writes every time exactly (whole seconds: no ``.000000000``)."""
    ticks = values[~np.isnat(values)].astype("datetime64[ns]").astype(np.int64)
    units: tuple[tuple[Literal["s", "ms", "us"], int], ...] = (("s", 10**9), ("ms", 10**6), ("us", 10**3))
    for unit, size in units:
        if not np.any(ticks % size):
            return unit
    return "ns"


def whole_numbers(values: np.ndarray) -> bool:
    """Whether a float column holds only whole numbers (NaN aside) that float64 counts exactly, and some."""
    if values.dtype.kind != "f":
        return False
    finite = values[np.isfinite(values)]
    return bool(finite.size) and bool(np.all(finite == np.round(finite))) and float(np.abs(finite).max()) < 2.0**53


def _format_column(values: np.ndarray, unit: Literal["s", "ms", "us", "ns", "int"] | None) -> np.ndarray:
    """The cells of a column as text (NaN and NaT empty); ``unit``: a date column's, :func:`_time_unit` of all of it,
    or ``"int"`` for a float column of whole numbers written without a decimal point."""
    values = np.asarray(values)
    if unit == "int":
        finite = np.isfinite(values)
        text = np.where(finite, values, 0).astype(np.int64).astype(str)
        text[~finite] = ""
        return text
    if np.issubdtype(values.dtype, np.datetime64):
        text = np.datetime_as_string(values, unit=unit)
        text[np.isnat(values)] = ""
        return text
    if values.dtype.kind in "fc":
        text = values.astype(np.float64).astype(str)
        text[~np.isfinite(values.astype(np.float64))] = ""
        return text
    return values.astype(str)


@contextlib.contextmanager
def _open_output(tmp: Path, suffix: str) -> Iterator[TextIO]:
    """A UTF-8 text file at ``tmp``, compressed when ``suffix`` (the output's) is ``.gz``, ``.bz2`` or ``.xz``.

    The gzip header holds no file name (it would be the temporary one) nor time: the same table, the same bytes.
    """
    if suffix not in COMPRESSION_SUFFIXES:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            yield handle
        return
    with contextlib.ExitStack() as stack:
        raw: io.BufferedIOBase
        if suffix == ".gz":
            file = stack.enter_context(open(tmp, "wb"))
            raw = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=file, compresslevel=6, mtime=0))
        else:
            raw = stack.enter_context(bz2.open(tmp, "wb") if suffix == ".bz2" else lzma.open(tmp, "wb"))
        yield stack.enter_context(io.TextIOWrapper(cast(BinaryIO, raw), encoding="utf-8", newline=""))


def write_table(
    path: str | os.PathLike,
    columns: Mapping[str, Any],
    time: np.ndarray | None = None,
    time_name: str | None = None,
    *,
    protect: tuple[str | os.PathLike, ...] = (),
) -> Path:
    """Write named columns (and a leading time column) to a CSV file, atomically.

    Parameters
    ----------
    path
        Output CSV path; ending in ``.gz``, ``.bz2`` or ``.xz`` (``pump.csv.gz``) it is written compressed; a
        ``.tsv`` (``.tsv.gz`` ...) is tab-separated, any other comma-separated, always with decimal points.
    columns
        ``{name: 1-D array}``, all the same length; NaN is written as an empty cell.
    time
        Optional time column (numbers or datetime64), written first.
    time_name
        Its header (default ``"time"``).
    protect
        Input paths that must never be overwritten.
    """
    path = Path(path)
    names = list(columns)
    arrays = [np.asarray(columns[name]).reshape(-1) for name in names]
    if time is not None:
        names.insert(0, time_name or "time")
        arrays.insert(0, np.asarray(time).reshape(-1))
    if not arrays:
        raise ValueError(f"{path}: no columns to write")
    n = len(arrays[0])
    for name, arr in zip(names, arrays, strict=True):
        if len(arr) != n:
            raise ValueError(f"{path}: column {name!r} has {len(arr)} rows, expected {n}")
    # one precision for a whole date column; the text is made WRITE_ROWS rows at a time (as numpy strings
    # a million rows of 7 columns took 900 MB)
    units: list[Any] = [_time_unit(arr) if np.issubdtype(arr.dtype, np.datetime64) else None for arr in arrays]
    if time is not None and whole_numbers(arrays[0]):
        units[0] = "int"  # a time column of whole numbers (0, 1, 2 or epoch seconds) is written as it was read
    with atomic_path(path, protect=protect) as tmp:
        with _open_output(tmp, path.suffix.lower()) as handle:
            tabs = kind_suffix(path).startswith(".tsv")  # read back as a .tsv is: tab-separated
            writer = csv.writer(handle, delimiter="\t" if tabs else ",", lineterminator="\n")
            writer.writerow(names)
            for start in range(0, n, WRITE_ROWS):
                text_columns = [_format_column(arr[start:start + WRITE_ROWS], unit)
                                for arr, unit in zip(arrays, units, strict=True)]
                writer.writerows(zip(*text_columns, strict=True))
    return path


#: rows formatted at a time by :func:`write_table`
WRITE_ROWS = 1 << 14


__all__ = ["Table", "read_table", "write_table", "sniff_delimiter", "find_time_column", "time_seconds", "median_step",
           "whole_numbers", "TABLE_SUFFIXES", "TIME_NAMES", "INDEX_NAMES", "MISSING", "DELIMITERS"]
