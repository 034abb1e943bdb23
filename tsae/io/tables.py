"""CSV tables of sensor series: one column per channel, an optional time column and label column.

:func:`read_table` returns the numeric channels as float64 ``(channels, n)`` with NaN
for missing cells; a time column is recognised by its name (``time``, ``timestamp``,
``date``, ``datetime``, ``t``) or because its values parse as dates; a ``label``
column (anomaly labels) is kept apart. :func:`write_table` writes atomically.
:func:`read_series` reads any supported series file (CSV/TSV, ``.npy``, audio).

Errors are ``ValueError("<path>: <problem>")`` with one line: missing, empty, header
only, ragged rows, non-numeric cells (with the line and column).
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from tsae.io.atomic import atomic_path

TIME_NAMES = ("time", "timestamp", "date", "datetime", "t", "time_s", "seconds", "ts")
LABEL_NAMES = ("label", "labels", "anomaly", "is_anomaly")
MISSING = {"", "na", "nan", "null", "none", "n/a", "?", "-", "#n/a", "missing"}
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
ARRAY_SUFFIXES = (".npy",)


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
                raise _fail(path, f"line {first_line + i}, column {name!r}: not a number ({str(cell)[:30]!r})") from None
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


def _parse_dates(cells: list[str]) -> np.ndarray | None:
    """Parse ISO-like date strings to datetime64[ns]; None when they are not dates."""
    try:
        cleaned = [c.strip().replace(" ", "T", 1).rstrip("Z") if not _is_missing(c) else "NaT" for c in cells]
        out = np.array(cleaned, dtype="datetime64[ns]")
    except (ValueError, TypeError, OverflowError):
        return None
    return out


def _rate_from_time(time: np.ndarray | None) -> float | None:
    if time is None or len(time) < 3:
        return None
    if np.issubdtype(time.dtype, np.datetime64):
        valid = time[~np.isnat(time)]
        seconds = (valid - valid[0]).astype("timedelta64[ns]").astype(np.float64) / 1e9
    else:
        seconds = np.asarray(time, dtype=np.float64)
        seconds = seconds[np.isfinite(seconds)]
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
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


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
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes everything
            raise _fail(path, "not a text table (unknown encoding)") from None
    dialect = _sniff_dialect(text[:8192], path.suffix.lower())
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if row and any(c.strip() for c in row)]
    # drop comment lines
    rows = [row for row in rows if not row[0].lstrip().startswith("#")]
    if not rows:
        raise _fail(path, "empty file")
    first = rows[0]
    has_header = not all(_numeric_fraction([c]) == 1.0 and not _is_missing(c) for c in first)
    if has_header:
        header = [c.strip() or f"column{i}" for i, c in enumerate(first)]
        body = rows[1:]
        first_line = 2
    else:
        header = [f"ch{i}" for i in range(len(first))]
        body = rows
        first_line = 1
    if not body:
        raise _fail(path, "no data rows (only a header)")
    width = len(header)
    for i, row in enumerate(body):
        if len(row) != width:
            # tolerate one trailing empty cell (a trailing delimiter)
            if len(row) == width + 1 and not row[-1].strip():
                body[i] = row[:-1]
                continue
            raise _fail(path, f"line {first_line + i} has {len(row)} fields, expected {width}")
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})[0]
        raise _fail(path, f"duplicate column name {dup!r}")
    columns = list(zip(*body))
    lower = [h.lower() for h in header]

    time_idx: int | None = None
    for name in TIME_NAMES:
        if name in lower:
            time_idx = lower.index(name)
            break
    label_idx: int | None = None
    for name in LABEL_NAMES:
        if name in lower and lower.index(name) != time_idx:
            label_idx = lower.index(name)
            break

    time: np.ndarray | None = None
    dates: dict[int, np.ndarray] = {}
    if time_idx is None:
        # a non-numeric column that parses as dates is the time column
        for j, cells in enumerate(columns):
            if j == label_idx or _numeric_fraction(list(cells)) == 1.0:
                continue
            parsed = _parse_dates(list(cells))
            if parsed is not None:
                time_idx, dates[j] = j, parsed
                break
    if time_idx is not None:
        cells = list(columns[time_idx])
        if time_idx in dates:
            time = dates[time_idx]
        elif _numeric_fraction(cells) == 1.0:
            time = _to_float(path, header[time_idx], cells, first_line)
        else:
            time = _parse_dates(cells)
            if time is None:
                raise _fail(path, f"time column {header[time_idx]!r} is neither numbers nor dates")

    label: np.ndarray | None = None
    if label_idx is not None:
        cells = list(columns[label_idx])
        if _numeric_fraction(cells) == 1.0:
            label = _to_float(path, header[label_idx], cells, first_line)
        else:
            label = np.array([c.strip() for c in cells])

    names: list[str] = []
    values: list[np.ndarray] = []
    for j, cells in enumerate(columns):
        if j in (time_idx, label_idx):
            continue
        names.append(header[j])
        values.append(_to_float(path, header[j], list(cells), first_line))
    if not names:
        raise _fail(path, "no numeric data columns")
    data = np.vstack(values)
    if np.isinf(data).any():
        data[np.isinf(data)] = np.nan
    return Table(values=data, columns=names, time=time, time_name=header[time_idx] if time_idx is not None else None,
                 label=label, label_name=header[label_idx] if label_idx is not None else None)


def _format_column(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.datetime64):
        text = np.datetime_as_string(values)
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
    for name, arr in zip(names, arrays):
        if len(arr) != n:
            raise ValueError(f"{path}: column {name!r} has {len(arr)} rows, expected {n}")
    text_columns = [_format_column(arr) for arr in arrays]
    with atomic_path(path, protect=protect) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(names)
            writer.writerows(zip(*text_columns))
    return path


def read_series(path: str | os.PathLike) -> tuple[np.ndarray, float | None, dict[str, Any]]:
    """Read a series file by suffix: CSV/TSV tables, ``.npy`` arrays, or audio.

    Returns
    -------
    values : np.ndarray
        float64 ``(channels, n)``; NaN marks missing samples (tables only).
    sample_rate : float or None
        Audio rate, or the rate implied by a regular time column, else None.
    meta : dict
        ``kind`` ("table", "array" or "audio") and, for tables, ``columns``, ``time``,
        ``time_name``, ``label``; for audio ``subtype`` and ``format``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise _fail(path, "no such file")
    if suffix in ARRAY_SUFFIXES:
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise _fail(path, f"not a readable .npy array ({str(error).splitlines()[0] if str(error) else 'corrupt'})") from None
        if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or arr.size == 0:
            raise _fail(path, f"expected a non-empty numeric array (n,) or (channels, n), got {arr.dtype} {arr.shape}")
        values = np.atleast_2d(arr.astype(np.float64))
        return values, None, {"kind": "array", "columns": [f"ch{i}" for i in range(values.shape[0])]}
    from tsae.io.audio import AUDIO_SUFFIXES, read_audio

    if suffix in AUDIO_SUFFIXES:
        audio = read_audio(path)
        return (audio.data.astype(np.float64), float(audio.sample_rate),
                {"kind": "audio", "subtype": audio.subtype, "format": audio.format,
                 "columns": [f"ch{i}" for i in range(audio.channels)]})
    table = read_table(path)
    return table.values, table.sample_rate(), {
        "kind": "table", "columns": table.columns, "time": table.time, "time_name": table.time_name,
        "label": table.label, "label_name": table.label_name,
    }


__all__ = ["Table", "read_table", "write_table", "read_series", "TABLE_SUFFIXES", "TIME_NAMES"]
