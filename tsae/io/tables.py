"""CSV tables of sensor series: one column per channel, an optional time column and label column.

:func:`read_table` returns the numeric channels as float64 ``(channels, n)`` with NaN
for missing cells; a time column is recognised by its name (``time``, ``timestamp``,
``date``, ``datetime``, ``t``) or because its values parse as dates; a ``label``
column (anomaly labels) is kept apart. :func:`write_table` writes atomically.
The time-column names, missing-value tokens and delimiter sniffing are shared with
the stream record parser (:mod:`tsae.io.records`). :func:`tsae.io.series.read_series`
reads any supported series file (CSV/TSV, ``.npy``, audio).

Errors are ``ValueError("<path>: <problem>")`` with one line: missing, empty, header
only, ragged rows, non-numeric cells (with the line and column).
"""
from __future__ import annotations

import codecs
import csv
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np

from tsae.io.atomic import atomic_path
from tsae.io.paths import TABLE_SUFFIXES

TIME_NAMES = ("time", "timestamp", "date", "datetime", "t", "time_s", "seconds", "ts")
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


def _floats(cells: Sequence[str]) -> np.ndarray | tuple[int, str]:
    """The cells as float64 (missing ones NaN), or ``(index, text)`` of the first cell that is not a number."""
    arr = np.array([c.strip() for c in cells], dtype=object)
    missing = np.array([c.lower() in MISSING for c in arr], dtype=bool)
    arr[missing] = "nan"
    try:
        return np.asarray(arr.astype(str), dtype=np.float64)
    except ValueError:
        for i, cell in enumerate(arr):
            try:
                float(cell)
            except ValueError:
                return i, str(cell)
        raise


#: a column is numbers (not dates or text) when its first this many cells are, missing ones aside
_KIND_ROWS = 200


def _numeric_fraction(cells: Sequence[str]) -> float:
    seen = ok = 0
    for cell in cells[:_KIND_ROWS]:
        if _is_missing(cell):
            continue
        seen += 1
        try:
            float(cell)
            ok += 1
        except ValueError:
            pass
    return ok / seen if seen else 1.0


#: a UTC offset at the end of an ISO time (``+05:00``, ``-0800``)
_OFFSET = re.compile(r"[+-]\d\d:?\d\d$")
#: the first this many times of a date column are looked at for a UTC offset
_OFFSET_ROWS = 1000


def _clean_dates(cells: Sequence[str]) -> list[str]:
    """ISO-like date strings as numpy reads them (``T`` between date and time, no ``Z``), missing ones ``NaT``."""
    return [c.strip().replace(" ", "T", 1).rstrip("Z") if not _is_missing(c) else "NaT" for c in cells]


def _parse_dates(cleaned: list[str]) -> np.ndarray | None:
    """:func:`_clean_dates` strings as datetime64[ns]; None when they are not all dates.

    Times with a UTC offset are read as the UTC instant they name (datetime64 has no time zones);
    :func:`read_table` warns about them, naming the file.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy: "no explicit representation of timezones", naming no file
            return np.array(cleaned, dtype="datetime64[ns]")
    except (ValueError, TypeError, OverflowError):
        return None


def time_seconds(time: np.ndarray) -> np.ndarray:
    """The valid times of a time column as seconds (dates: from the first; numbers: as they are; none: empty)."""
    if np.issubdtype(time.dtype, np.datetime64):
        valid = time[~np.isnat(time)]
        if valid.size == 0:  # every cell NaT: no usable time, as without a time column
            return np.zeros(0)
        return (valid - valid[0]).astype("timedelta64[ns]").astype(np.float64) / 1e9
    seconds = np.asarray(time, dtype=np.float64)
    return seconds[np.isfinite(seconds)]


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
    if suffix == ".tsv":
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        return csv.excel


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


def _encoding(path: Path) -> str:
    """The encoding of a table file: UTF-8 when all of it is, else latin-1 (which decodes any bytes).

    The file is read a block at a time. One-line errors: missing, a folder, unreadable, empty (only blanks), binary.
    """
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a table")
    decoder = codecs.getincrementaldecoder("utf-8")()
    head, blank, utf8 = b"", True, True
    try:
        with open(path, "rb") as handle:
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
    if b"\x00" in head:
        raise _fail(path, "not a text table (binary data)")
    return "utf-8-sig" if utf8 else "latin-1"


def _open_text(path: Path, encoding: str) -> TextIO:
    # newline="\n": lines end at "\n" only, as io.StringIO split them when the whole text was read at once
    return open(path, encoding=encoding, newline="\n")


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
    bad: str | None = None  # the first cell that is not a number, as the error tells it
    not_dates: bool = False  # a cell is not a date
    offset: bool = False  # one of its first _OFFSET_ROWS dates has a UTC offset


def _plan(header: list[str], sample: list[list[str]]) -> tuple[list[_Column], int | None, int | None]:
    """``(columns, time index, label index)``: what each column is read as, judged on the first rows.

    A column is numbers when its first :data:`_KIND_ROWS` cells are (:func:`_numeric_fraction`). Without a
    column named like a time column, the time column is the first other column (not the label) whose cells are all
    dates: each that starts with dates is read as dates too, until a cell is not one.
    """
    time_idx = find_time_column(header)
    label_idx = _label_index(header, time_idx)
    cells = list(zip(*sample, strict=True))
    columns = []
    for j, name in enumerate(header):
        numeric = _numeric_fraction(cells[j]) == 1.0
        if j == time_idx:
            column = _Column(name, 0, floats=[] if numeric else None, dates=None if numeric else [])
        elif j == label_idx:
            column = _Column(name, 1, floats=[] if numeric else None, texts=None if numeric else [])
        else:
            column = _Column(name, 3, floats=[])
            if time_idx is None and not numeric and _parse_dates(_clean_dates(cells[j])) is not None:
                column.dates, column.maybe_time = [], True
        columns.append(column)
    return columns, time_idx, label_idx


def _convert(column: _Column, cells: Sequence[str], start: int, lines: Sequence[int], keep: bool,
             floats: bool) -> None:
    """Convert a chunk of a column's cells: data rows ``start`` on, on the file ``lines`` (as errors number them).

    ``keep``: keep the arrays (not when the table is already known to be an error); ``floats``: read its numbers
    (not when the error told would not be this column's anyway).
    """
    if column.floats is not None and column.bad is None and floats:
        values = _floats(cells)
        if isinstance(values, tuple):
            i, cell = values
            column.bad = f"line {lines[i]}, column {column.name!r}: not a number ({cell[:30]!r})"
            column.floats.clear()
        elif keep:
            column.floats.append(values)
    if column.dates is not None and not column.not_dates:
        cleaned = _clean_dates(cells)
        parsed = _parse_dates(cleaned)
        if parsed is None:
            column.not_dates = True
            column.dates.clear()
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


def _read_rows(path: Path, handle: TextIO, dialect: Any) -> Table:
    """The table of the rows of an open file, read :data:`READ_ROWS` rows at a time; errors in the order the
    whole-file reader told them: broken quotes, empty, no data rows, ragged rows, duplicate names, the time
    column, the label, no channel, then the first channel (left to right) with a cell that is not a number."""
    rows = _records(path, handle, dialect)
    head = next(rows, None)
    if head is None:
        raise _fail(path, "empty file")
    first = head[1]
    if all(_numeric_fraction([c]) == 1.0 and not _is_missing(c) for c in first):  # numbers: data, not a header
        header = [f"ch{i}" for i in range(len(first))]
        rows = chain([head], rows)
    else:
        header = [c.strip() or f"column{i}" for i, c in enumerate(first)]
    body = _body(path, rows, len(header))
    sample = list(islice(body, _KIND_ROWS))
    if not sample:
        raise _fail(path, "no data rows (only a header)")
    if len(set(header)) != len(header):
        for _ in body:  # a ragged row further on is told first
            pass
        dup = sorted({h for h in header if header.count(h) > 1})[0]
        raise _fail(path, f"duplicate column name {dup!r}")
    columns, time_idx, label_idx = _plan(header, [row for _, row in sample])
    doomed: tuple[int, int] | None = None  # (rank, index) of the first error that will certainly be told
    n = 0
    rest = chain(sample, body)
    del sample
    while chunk := list(islice(rest, READ_ROWS)):
        lines = [line for line, _ in chunk]
        cells = list(zip(*(row for _, row in chunk), strict=True))
        del chunk
        for j, column in enumerate(columns):
            _convert(column, cells[j], n, lines, doomed is None, doomed is None or (column.rank, j) < doomed)
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

    if time_idx is None:
        time_idx = next((j for j, column in enumerate(columns) if column.maybe_time and not column.not_dates), None)
    time = None
    if time_idx is not None:
        column = columns[time_idx]
        if column.rank == 0 and column.not_dates:
            raise _fail(path, f"time column {column.name!r} is neither numbers nor dates")
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
    """Read a CSV (or TSV) file of channels.

    Parameters
    ----------
    path
        The file. The first row is a header (when it is not all numbers); each other
        row is one time step. Empty cells and ``NA``/``nan``/``null`` become NaN.

    Returns
    -------
    Table

    Raises
    ------
    ValueError
        One line naming the file: missing, empty, no data rows, ragged rows, no numeric
        column, or a cell that is not a number (with its line and column).

    Notes
    -----
    The file is read :data:`READ_ROWS` rows at a time (its memory is about twice the arrays it returns): what
    each column is (numbers, dates, text) is judged on its first 200 cells, and a later cell that does not fit
    is the same error as when the whole file was read at once.
    """
    path = Path(path)
    encoding = _encoding(path)
    try:
        with _open_text(path, encoding) as handle:
            dialect = _sniff_dialect(handle.read(8192), path.suffix.lower())
        with _open_text(path, encoding) as handle:
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


def _format_column(values: np.ndarray, unit: Literal["s", "ms", "us", "ns"] | None) -> np.ndarray:
    """The cells of a column as text (NaN and NaT empty); ``unit``: a date column's, :func:`_time_unit` of all of it."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.datetime64):
        text = np.datetime_as_string(values, unit=unit)
        text[np.isnat(values)] = ""
        return text
    if values.dtype.kind in "fc":
        text = values.astype(np.float64).astype(str)
        text[~np.isfinite(values.astype(np.float64))] = ""
        return text
    return values.astype(str)


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
        Output CSV path.
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
    units = [_time_unit(arr) if np.issubdtype(arr.dtype, np.datetime64) else None for arr in arrays]
    with atomic_path(path, protect=protect) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(names)
            for start in range(0, n, WRITE_ROWS):
                text_columns = [_format_column(arr[start:start + WRITE_ROWS], unit)
                                for arr, unit in zip(arrays, units, strict=True)]
                writer.writerows(zip(*text_columns, strict=True))
    return path


#: rows formatted at a time by :func:`write_table`
WRITE_ROWS = 1 << 14


__all__ = ["Table", "read_table", "write_table", "sniff_delimiter", "find_time_column", "time_seconds",
           "TABLE_SUFFIXES", "TIME_NAMES", "MISSING", "DELIMITERS"]
