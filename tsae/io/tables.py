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

import csv
import io
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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


def _to_float(path: Path, name: str, cells: list[str], first_line: int) -> np.ndarray:
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
                problem = f"line {first_line + i}, column {name!r}: not a number ({str(cell)[:30]!r})"
                raise _fail(path, problem) from None
        raise


def _numeric_fraction(cells: list[str]) -> float:
    seen = ok = 0
    for cell in cells[:200]:
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


def _parse_dates(cells: list[str], path: Path | None = None) -> np.ndarray | None:
    """Parse ISO-like date strings to datetime64[ns]; None when they are not dates.

    Times with a UTC offset are read as the UTC instant they name (datetime64 has no time
    zones), with a warning naming ``path``.
    """
    try:
        cleaned = [c.strip().replace(" ", "T", 1).rstrip("Z") if not _is_missing(c) else "NaT" for c in cells]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy: "no explicit representation of timezones", naming no file
            out = np.array(cleaned, dtype="datetime64[ns]")
    except (ValueError, TypeError, OverflowError):
        return None
    if path is not None and any(_OFFSET.search(c) for c in cleaned[:1000]):
        warnings.warn(f"{path}: times with a UTC offset are read, and written, as UTC", TableWarning, stacklevel=4)
    return out


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


def _read_text(path: Path) -> str:
    """The decoded text of a table file (UTF-8, else latin-1), with one-line errors."""
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a table")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise _fail(path, f"cannot read ({error.strerror or error})") from None
    if not raw.strip():
        raise _fail(path, "empty file")
    if b"\x00" in raw[:4096]:
        raise _fail(path, "not a text table (binary data)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # decodes any bytes


def _rows(path: Path, text: str) -> list[list[str]]:
    """Non-blank, non-comment rows of cells."""
    dialect = _sniff_dialect(text[:8192], path.suffix.lower())
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows = [row for row in reader if row and any(c.strip() for c in row)]
    except csv.Error as error:
        problem = str(error)
        if "field larger than field limit" in problem:
            problem = f"a cell is longer than {csv.field_size_limit():,} characters"
        raise _fail(path, f"line {reader.line_num}: {problem}") from None
    rows = [row for row in rows if not row[0].lstrip().startswith("#")]
    if not rows:
        raise _fail(path, "empty file")
    return rows


def _split_header(path: Path, rows: list[list[str]]) -> tuple[list[str], list[list[str]], int]:
    """``(header, body, line number of the first body row)``; a first row of numbers is data, not a header."""
    first = rows[0]
    if all(_numeric_fraction([c]) == 1.0 and not _is_missing(c) for c in first):
        header, body, first_line = [f"ch{i}" for i in range(len(first))], rows, 1
    else:
        header, body, first_line = [c.strip() or f"column{i}" for i, c in enumerate(first)], rows[1:], 2
    if not body:
        raise _fail(path, "no data rows (only a header)")
    width = len(header)
    for i, row in enumerate(body):
        if len(row) == width:
            continue
        if len(row) == width + 1 and not row[-1].strip():  # a trailing delimiter
            body[i] = row[:-1]
            continue
        raise _fail(path, f"line {first_line + i} has {len(row)} fields, expected {width}")
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})[0]
        raise _fail(path, f"duplicate column name {dup!r}")
    return header, body, first_line


def _label_index(header: list[str], time_idx: int | None) -> int | None:
    lower = [h.lower() for h in header]
    for name in LABEL_NAMES:
        if name in lower and lower.index(name) != time_idx:
            return lower.index(name)
    return None


def _time_column(path: Path, header: list[str], columns: list[tuple[str, ...]], label_idx: int | None,
                 first_line: int) -> tuple[int | None, np.ndarray | None]:
    """``(index, values)`` of the time column: named like one, else the first non-numeric column of dates."""
    time_idx = find_time_column(header)
    if time_idx is None:
        for j, column in enumerate(columns):
            if j == label_idx or _numeric_fraction(list(column)) == 1.0:
                continue
            parsed = _parse_dates(list(column), path)
            if parsed is not None:
                return j, parsed
        return None, None
    cells = list(columns[time_idx])
    if _numeric_fraction(cells) == 1.0:
        return time_idx, _to_float(path, header[time_idx], cells, first_line)
    time = _parse_dates(cells, path)
    if time is None:
        raise _fail(path, f"time column {header[time_idx]!r} is neither numbers nor dates")
    return time_idx, time


def _label_column(path: Path, name: str, cells: list[str], first_line: int) -> np.ndarray:
    if _numeric_fraction(cells) == 1.0:
        return _to_float(path, name, cells, first_line)
    return np.array([c.strip() for c in cells])


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
    """
    path = Path(path)
    header, body, first_line = _split_header(path, _rows(path, _read_text(path)))
    columns = list(zip(*body, strict=True))
    label_idx = _label_index(header, find_time_column(header))
    time_idx, time = _time_column(path, header, columns, label_idx, first_line)
    label = None if label_idx is None else _label_column(path, header[label_idx], list(columns[label_idx]), first_line)
    names = [header[j] for j in range(len(header)) if j not in (time_idx, label_idx)]
    if not names:
        raise _fail(path, "no numeric data columns")
    data = np.vstack([_to_float(path, header[j], list(cells), first_line)
                      for j, cells in enumerate(columns) if j not in (time_idx, label_idx)])
    _absurd_as_missing(path, data, names)
    return Table(values=data, columns=names, time=time, time_name=header[time_idx] if time_idx is not None else None,
                 label=label, label_name=header[label_idx] if label_idx is not None else None)


#: a cell beyond this magnitude is read as missing, like inf: no sensor reads 1e30, and such a value
#: overflows the float32 arithmetic of the models (1e200 emptied whole columns of smooth's output)
ABSURD = 1e30


class TableWarning(UserWarning):
    """A table was read, but some of its cells had to be read as missing."""


def _absurd_as_missing(path: Path, data: np.ndarray, names: list[str]) -> None:
    """Infinite cells and cells beyond :data:`ABSURD` become NaN (missing), in place, with a warning naming them."""
    with np.errstate(invalid="ignore"):
        huge = np.abs(data) > ABSURD  # inf too
    data[huge] = np.nan
    if huge.any():
        where = [f"{names[c]} ({int(n)})" for c, n in enumerate(huge.sum(axis=1)) if n]
        warnings.warn(f"{path}: {int(huge.sum())} cell(s) infinite or beyond {ABSURD:g} in magnitude read as "
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
