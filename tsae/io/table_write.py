"""Tables written: whole arrays (:func:`write_table`) or block by block (:func:`open_table_writer`), atomically.

Each column is written in one format decided over all of it first (:func:`column_format`): dates to the coarsest
precision that writes each exactly, a time column of whole numbers without a decimal point, NaN and NaT as empty
cells. The output is comma-separated (tab-separated for ``.tsv``), with decimal points, and compressed by its suffix
(``.gz``, ``.bz2``, ``.xz``). The tables are read by :mod:`tsae.io.tables`.
"""
from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import io
import itertools
import lzma
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO, cast

import numpy as np

from tsae.io.atomic import atomic_path
from tsae.io.paths import COMPRESSION_SUFFIXES, kind_suffix
from tsae.io.table_time import _time_unit, time_header

#: how a column's cells are written (:func:`column_format`): a date column to one of these precisions, ``"int"`` a time
#: column of whole float numbers without a decimal point, None as its values write themselves
ColumnFormat = Literal["s", "ms", "us", "ns", "int"] | None
_DATE_UNITS: tuple[Literal["s", "ms", "us", "ns"], ...] = ("s", "ms", "us", "ns")


def column_format(blocks: Iterable[np.ndarray], *, time: bool = False) -> ColumnFormat:
    """How a column is written, decided over all of it, given as consecutive blocks (each looked at once, so a
    column made block by block is never held whole).

    Parameters
    ----------
    blocks
        The column's values, in one block or many (1-D arrays of one dtype).
    time
        The column is the time column.

    Returns
    -------
    ColumnFormat
        For dates, the coarsest of ``s``, ``ms``, ``us``, ``ns`` that writes every date of the column exactly (one
        precision for a whole column: whole seconds get no ``.000``, unless another date needs them); for a time
        column of float numbers all whole (NaN aside), and some, that int64 holds, ``"int"``: written as it was
        read (``0``, ``1709251200000000000``, not ``0.0`` or ``1.7092512e+18``); else None.

    Examples
    --------
    >>> column_format([np.array(["2024-01-01T00:00:00"], "datetime64[ns]"),
    ...                np.array(["2024-01-01T00:00:00.5"], "datetime64[ns]")])
    'ms'
    >>> column_format([np.array([0.0, 1.0]), np.array([np.nan, 2.0])], time=True)
    'int'
    """
    finest = -1  # the finest date unit a block needs (-1: not dates)
    whole, some = True, False  # every finite number whole and within int64, and some finite number
    for block in blocks:
        values = np.asarray(block).reshape(-1)
        if np.issubdtype(values.dtype, np.datetime64):
            finest = max(finest, _DATE_UNITS.index(_time_unit(values)))
        elif time and values.dtype.kind == "f" and whole:
            finite = values[np.isfinite(values)]
            if finite.size:
                some = True
                whole = bool(np.all(finite == np.round(finite))) and float(np.abs(finite).max()) < 2.0**63
        else:
            whole = False
    if finest >= 0:
        return _DATE_UNITS[finest]
    return "int" if time and whole and some else None


def _format_column(values: np.ndarray, unit: ColumnFormat) -> np.ndarray:
    """The cells of a column as text (NaN and NaT empty); ``unit``: its :func:`column_format`."""
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
        text = values.astype(np.float64).astype(str)  # infinite values as inf and -inf, which the reader reads
        text[np.isnan(values.astype(np.float64))] = ""
        return text
    return values.astype(str)


def time_cells(values: np.ndarray, unit: ColumnFormat, utc: bool = False) -> np.ndarray:
    """The cells of a time column, or of some of its rows, as a table writes them.

    Parameters
    ----------
    values
        The column's values (1-D), or some of them.
    unit
        The whole column's :func:`column_format` (a row's own precision may be coarser).
    utc
        The dates are UTC instants: each ends in ``Z``.

    Returns
    -------
    np.ndarray
        The cells as text; NaN and NaT empty.

    Examples
    --------
    >>> time_cells(np.array(["2024-01-01T00:00:01", "NaT"], "datetime64[ns]"), "ms", utc=True).tolist()
    ['2024-01-01T00:00:01.000Z', '']
    """
    text = _format_column(values, unit)
    if utc and unit not in (None, "int") and np.issubdtype(np.asarray(values).dtype, np.datetime64):
        text = np.char.add(text, np.where(text == "", "", "Z"))
    return text


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


#: rows formatted at a time by :class:`TableWriter`
WRITE_ROWS = 1 << 14
#: cells formatted at a time by :class:`TableWriter`, at most (a wide table's rows, 100,000 cells each: their Python
#: floats and text, not a whole table's, are held at a time), but a row at least
WRITE_CELLS = 1 << 21


def _cells(values: np.ndarray, unit: ColumnFormat, utc: bool) -> list[Any] | None:
    """The cells of a column as Python values whose ``str`` is the text :func:`time_cells` makes (a float's ``str``
    is its shortest round-trip repr, as numpy's text of it; NaN, NaT and a non-finite ``"int"`` cell are ``""``), or
    None for a column of another kind (text, complex numbers, durations), which :func:`time_cells` writes."""
    values = np.asarray(values)
    if unit == "int":
        finite = np.isfinite(values)
        cells = np.where(finite, values, 0).astype(np.int64).tolist()
        missing = ~finite
    elif values.dtype.kind == "M":
        return cast(list[Any], time_cells(values, unit, utc).tolist())
    elif values.dtype.kind == "f":
        values = values.astype(np.float64, copy=False)
        cells = values.tolist()
        missing = np.isnan(values)
    elif values.dtype.kind in "iub":
        return cast(list[Any], values.tolist())
    else:
        return None
    for i in np.flatnonzero(missing):
        cells[i] = ""
    return cast(list[Any], cells)


#: float columns in a block from which :func:`rows_text` formats them as one 2-D array (:func:`_wide_rows_text`), not
#: column by column (a call per column per block: 1.5 million for 300 rows of 100,000 columns)
WIDE_COLUMNS = 64


def _wide_rows_text(columns: Sequence[np.ndarray], formats: Sequence[ColumnFormat], plain: Sequence[int], *,
                    time_utc: bool, delimiter: str) -> str | None:
    """:func:`rows_text` of a block with many float columns (their indexes: ``plain``, formats None): the same
    text, their cells made from one 2-D array (Python floats, ``""`` for NaN), the others' by :func:`_cells`."""
    n, m = len(columns[0]), len(columns)
    floats = np.stack([np.asarray(columns[j]) for j in plain], axis=1).astype(np.float64, copy=False)
    cells = floats.astype(object)  # Python floats: str is the shortest round-trip repr, as _cells' tolist gives
    cells[np.isnan(floats)] = ""
    if len(plain) < m:
        table = np.empty((n, m), dtype=object)
        table[:, plain] = cells
        for j in sorted(set(range(m)) - set(plain)):
            column = _cells(columns[j], formats[j], time_utc and not j)
            if column is None:
                return None
            table[:, j] = column
        cells = table
    line = delimiter.join(["%s"] * m) + "\n"
    return (line * n) % tuple(cells.ravel().tolist())


def rows_text(columns: Sequence[np.ndarray], formats: Sequence[ColumnFormat], *, time_utc: bool = False,
              delimiter: str = ",") -> str | None:
    """The lines a :mod:`csv` writer writes for these rows (each ended by ``\\n``), made a block at a time: the
    cells of each column from one numpy call (of a block of :data:`WIDE_COLUMNS` float columns or more, of all of
    them from one 2-D array), the lines from one ``%`` formatting of all of them.

    Parameters
    ----------
    columns
        One 1-D array per column, all as long.
    formats
        Each column's :func:`column_format`.
    time_utc
        Dates of the first column end in ``Z``.
    delimiter
        Between the cells of a line.

    Returns
    -------
    str or None
        The text; None when a column is neither numbers nor dates (text may need quoting: the :mod:`csv` writer
        writes it).

    Examples
    --------
    >>> rows_text([np.array([0.0, 1.0]), np.array([0.5, np.nan]), np.array([1, 0])], ["int", None, None])
    '0,0.5,1\\n1,,0\\n'
    """
    plain = [j for j, (column, unit) in enumerate(zip(columns, formats, strict=True))
             if unit is None and np.asarray(column).dtype.kind == "f"]
    if len(plain) >= WIDE_COLUMNS:
        return _wide_rows_text(columns, formats, plain, time_utc=time_utc, delimiter=delimiter)
    cells = [_cells(column, unit, time_utc and not j) for j, (column, unit) in enumerate(zip(columns, formats,
                                                                                               strict=True))]
    if any(column is None for column in cells):
        return None
    lists = cast(list[list[Any]], cells)
    if len(lists) == 1:  # the csv writer quotes a line of one empty cell: an empty line would be no row
        lists = [['""' if cell == "" else cell for cell in lists[0]]]
    line = delimiter.join(["%s"] * len(lists)) + "\n"
    return (line * len(lists[0])) % tuple(itertools.chain.from_iterable(zip(*lists, strict=True)))


class TableWriter:
    """The rows of a table, written block by block to the file :func:`open_table_writer` opened."""

    def __init__(self, path: Path, writer: Any, names: list[str], formats: list[ColumnFormat],
                 time_utc: bool, handle: TextIO | None = None, delimiter: str = ",") -> None:
        self.path = path
        self.names = names
        self.rows = 0  # rows written so far
        self._writer = writer
        self._handle = handle  # None: every row through the csv writer
        self._delimiter = delimiter
        self._formats = formats
        self._utc = time_utc and formats[0] not in (None, "int")  # dates of the first column end in Z

    def write(self, columns: Sequence[np.ndarray]) -> None:
        """Write the next rows: ``columns``, one 1-D array per column (in the order of the names), all as long.

        Their text is made :data:`WRITE_ROWS` rows at a time, or :data:`WRITE_CELLS` cells of a wide table's (as
        numpy strings a million rows of 7 columns took 900 MB); columns of numbers and dates by :func:`rows_text`, in
        one piece (the csv writer's row by row took twice as long as formatting the numbers), others by the csv
        writer.
        """
        arrays = [np.asarray(column).reshape(-1) for column in columns]
        if len(arrays) != len(self.names):
            raise ValueError(f"{self.path}: {len(arrays)} columns to write, expected {len(self.names)}")
        n = len(arrays[0])
        for name, arr in zip(self.names, arrays, strict=True):
            if len(arr) != n:
                raise ValueError(f"{self.path}: column {name!r} has {len(arr)} rows, expected {n}")
        rows = max(1, min(WRITE_ROWS, WRITE_CELLS // len(arrays)))
        for start in range(0, n, rows):
            block = [arr[start:start + rows] for arr in arrays]
            text = None if self._handle is None else rows_text(block, self._formats, time_utc=self._utc,
                                                                delimiter=self._delimiter)
            if text is not None:
                cast(TextIO, self._handle).write(text)
                continue
            cells = [time_cells(arr, unit, utc=self._utc and not j)  # UTC dates end in Z
                     for j, (arr, unit) in enumerate(zip(block, self._formats, strict=True))]
            self._writer.writerows(zip(*cells, strict=True))
        self.rows += n


@contextlib.contextmanager
def open_table_writer(path: str | os.PathLike, names: Sequence[str], formats: Sequence[ColumnFormat], *,
                      time_utc: bool = False, protect: tuple[str | os.PathLike, ...] = ()) -> Iterator[TableWriter]:
    """A table written block by block (:meth:`TableWriter.write`), atomically: the file appears, whole, when the
    block ends without an error; an error or an interrupt leaves none.

    Parameters
    ----------
    path
        Output path, as :func:`write_table`'s: ``.gz``, ``.bz2``, ``.xz`` compressed, ``.tsv`` tab-separated.
    names
        The header: a name per column.
    formats
        How each column is written, decided over all of it before its first rows are (:func:`column_format`).
    time_utc
        Dates of the first column are UTC instants: written ending in ``Z``.
    protect
        Input paths that must never be overwritten.
    """
    path = Path(path)
    names = list(names)
    if not names:
        raise ValueError(f"{path}: no columns to write")
    if len(formats) != len(names):
        raise ValueError(f"{path}: {len(formats)} column formats for {len(names)} columns")
    with atomic_path(path, protect=protect) as tmp:
        with _open_output(tmp, path.suffix.lower()) as handle:
            tabs = kind_suffix(path).startswith(".tsv")  # read back as a .tsv is: tab-separated
            delimiter = "\t" if tabs else ","
            writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
            writer.writerow(names)
            yield TableWriter(path, writer, names, list(formats), time_utc, handle, delimiter)


def write_table(
    path: str | os.PathLike,
    columns: Mapping[str, Any],
    time: np.ndarray | None = None,
    time_name: str | None = None,
    *,
    time_utc: bool = False,
    protect: tuple[str | os.PathLike, ...] = (),
) -> Path:
    """Write named columns (and a leading time column) to a CSV file, atomically.

    The whole-array form of :func:`open_table_writer`.

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
        Its name (:func:`~tsae.io.table_time.time_header`: ``"time"`` for None; none for ``column0``, the name of
        a first column read without one).
    time_utc
        Dates of ``time`` are UTC instants (:attr:`~tsae.io.tables.Table.time_utc`): written ending in ``Z``.
    protect
        Input paths that must never be overwritten.
    """
    path = Path(path)
    names = list(columns)
    arrays = [np.asarray(columns[name]).reshape(-1) for name in names]
    if time is not None:
        names.insert(0, time_header(time_name))
        arrays.insert(0, np.asarray(time).reshape(-1))
    formats = [column_format([arr], time=time is not None and j == 0) for j, arr in enumerate(arrays)]
    with open_table_writer(path, names, formats, time_utc=time_utc, protect=protect) as table:
        table.write(arrays)
    return path


__all__ = ["ColumnFormat", "TableWriter", "column_format", "open_table_writer", "rows_text", "time_cells",
           "write_table"]
