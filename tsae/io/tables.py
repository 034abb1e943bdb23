"""CSV tables of sensor series: one column per channel, an optional time column and label column.

:func:`read_table` returns the numeric channels as float64 ``(channels, n)`` with NaN
for missing cells; a time column is recognised by its name (``time``, ``timestamp``,
``date``, ``datetime``, ``t``), because its values parse as dates, or as a first column that numbers the rows
(unnamed, as pandas writes its index, or named so; or named after times, as ``minute``, and counting); a ``label``
column (anomaly labels) is kept apart. Tables are written by :mod:`~tsae.io.table_write` (:func:`write_table`,
:func:`open_table_writer`, re-exported here).
Tables may be compressed (``.csv.gz``, ``.tsv.bz2``, ``.txt.xz``: read as a stream, written
by suffix), and a ``;``- or tab-separated table may use decimal commas (see :func:`read_table`).
The time-column names, missing-value tokens and delimiter sniffing are shared with
the stream record parser (:mod:`tsae.io.records`). :func:`tsae.io.series.read_series`
reads any supported series file (CSV/TSV, ``.npy``, audio).

Errors are ``ValueError("<path>: <problem>")`` with one line: missing, empty, header
only, ragged rows, non-numeric cells (with the line and column), broken compressed data.

This module reads the rows and columns. Opening the file (compression, encoding) is
:mod:`~tsae.io.text_files`, its delimiter :mod:`~tsae.io.table_dialect`, what each column is (the header, the time
column, the label) :mod:`~tsae.io.table_columns`, cells that are numbers :mod:`~tsae.io.table_cells`, dates and
time columns :mod:`~tsae.io.table_time`, and values no sensor reads (infinite, beyond :data:`ABSURD`: missing, with
a :class:`TableWarning`) :mod:`~tsae.io.table_absurd`.
"""
from __future__ import annotations

import contextlib
import csv
import os
import re
import warnings
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np

from tsae.io.clock_columns import DayWraps, clock_lines, clock_plan
from tsae.io.heap import drop_pages, give_back
from tsae.io.influx import InfluxCsv, influx_lines
from tsae.io.labview import LabviewCommas, LabviewError, LabviewTabs, labview_lines
from tsae.io.paths import TABLE_SUFFIXES, kind_suffix
from tsae.io.table_absurd import ABSURD, TableWarning, _absurd, _absurd_as_missing, absurd_as_missing
from tsae.io.table_cells import (
    _KIND_ROWS,
    COMPILED_FROM_CELLS,
    MISSING,
    _first_mark,
    _floats,
    _is_missing,
    _not_a_number,
    _numeric_fraction,
    _rounded_wholes,
    boolean,
    is_comment,
)
from tsae.io.table_columns import (
    INDEX_NAMES,
    TIME_NAMES,
    _blank_tail,
    _Column,
    _counts,
    _is_data_row,
    _names_a_unit,
    _numbers_rows,
    _plan,
    _unnamed,
    find_time_column,
)
from tsae.io.table_dialect import (
    DECIMAL_COMMA_NUMBER,
    DELIMITERS,
    SpaceSeparated,
    TableDialect,
    comma_joined,
    decimal_comma_number,
    sniff_delimiter,
    table_dialect,
)
from tsae.io.table_plain import PlainBlock, PlainColumn
from tsae.io.table_time import (
    _OFFSET,
    _OFFSET_ROWS,
    _clean_dates,
    _first_non_date,
    _not_a_date,
    _parse_dates,
    _rate_from_time,
    counts_rows,
    excel_days_warning,
    median_step,
    names_utc,
    time_seconds,
    unit_seconds,
    whole_numbers,
)
from tsae.io.table_write import ColumnFormat, TableWriter, column_format, open_table_writer, time_cells, write_table
from tsae.io.text_files import _compression, _decompressing, _encoding, _fail, _open_text


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
    time_utc
        The dates of the time column named UTC instants (a UTC offset, or ``Z``): written back ending in ``Z``.
    """

    values: np.ndarray
    columns: list[str]
    time: np.ndarray | None = None
    time_name: str | None = None
    label: np.ndarray | None = None
    label_name: str | None = None
    time_utc: bool = False
    #: with ``read_table(..., text_columns=True)``: the columns left out for a cell that is not a number, each with
    #: the error that cell is (``line 2, column 'status': not a number ('ok')``)
    text_columns: dict[str, str] = field(default_factory=dict)
    #: those of ``text_columns`` that hold numbers too: a column of numbers with a cell of text (a sensor's glitch),
    #: not a column of words (a status, a note)
    mixed_columns: list[str] = field(default_factory=list)

    @property
    def channels(self) -> int:
        return int(self.values.shape[0])

    def __len__(self) -> int:
        return int(self.values.shape[1])

    def sample_rate(self) -> float | None:
        """Samples per second implied by a regularly spaced time column (in its unit, :func:`unit_seconds`), else
        None: also for a column that numbers the rows (pandas' unnamed index, ``index``, ``sample_index``:
        :func:`~tsae.io.table_time.numbers_rows`), whose steps of 1 are no second."""
        return _time_rate(self.time, self.time_name)


def _time_rate(time: np.ndarray | None, name: str | None) -> float | None:
    """Samples per second implied by a regularly spaced time column named ``name`` (:meth:`Table.sample_rate`)."""
    if counts_rows(time, name):
        return None  # no time between the rows, as median_step has it: no rate made up from row numbers
    rate = _rate_from_time(time)
    return None if rate is None else rate / unit_seconds(time, name)


#: body rows that :func:`read_table` holds as text at a time: it converts them to arrays chunk by chunk, so its
#: memory is about the arrays it returns (twice, while their chunks are joined) and this many rows of strings
READ_ROWS = 1 << 14
#: the data row from which on a table read reads plain decimal cells by a compiled loop (loading numba, a third of a
#: second, pays for itself on the rows after it)
COMPILED_FROM_ROW = 1 << 16
#: cells of a wide table (100,000 columns) that a chunk holds at most (not :data:`READ_ROWS` rows of them, but never
#: fewer rows than a column's kind is judged on): its rows' strings, not the table's, are what is held at a time; a
#: chunk of :data:`~tsae.io.table_cells.COMPILED_FROM_CELLS` cells is read by the compiled loop from its first row on
READ_CELLS = 1 << 22
#: cells of a table read whole below which its freed lines are not handed back to the system (:func:`_read_rows`):
#: a few megabytes at most, where ``malloc_trim`` costs a millisecond (a fleet's thousands of small device files)
GIVE_BACK_CELLS = 1 << 18
#: the name (lower case) of the time column the table being read writes as clock readings without a date, read as
#: seconds (:func:`~tsae.io.clock_columns.clock_plan`): a logger's times of day, 08:00 to 20:00, are 28,800 to 72,000
#: seconds, numbers that would otherwise be told as maybe Excel's serial dates
_CLOCK_SECONDS: ContextVar[str | None] = ContextVar("_CLOCK_SECONDS", default=None)
#: told the data rows of each chunk a table read reads, within :func:`rows_read_told` (None: nobody listens)
_ROWS_READ: ContextVar[Callable[[int], None] | None] = ContextVar("_ROWS_READ", default=None)


@contextlib.contextmanager
def rows_read_told(advance: Callable[[int], None]) -> Iterator[None]:
    """Within it, every table read (whole, or a block reader's pass) tells ``advance`` how many data rows each chunk
    it reads holds: a progress bar's counter.

    Examples
    --------
    >>> import tempfile
    >>> counted = []
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "t.csv"
    ...     _ = path.write_text("a,b\\n1,2\\n3,4\\n")
    ...     with rows_read_told(counted.append):
    ...         _ = read_table(path)
    >>> sum(counted)
    2
    """
    token = _ROWS_READ.set(advance)
    try:
        yield
    finally:
        _ROWS_READ.reset(token)


class _Lines:
    """The lines of a table's text, counted: one at a time to ``csv.reader`` (iterating), or a block at a time
    (:meth:`block`) to be split at once."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self._back: deque[str] = deque()  # lines a block gave back, to be read first
        #: the file line of the last line handed out (csv.reader's line_num counts only the lines it read)
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        # a line at a time: a line read ahead would be read again after a block's
        while (line := self._back.popleft() if self._back else next(self._handle, None)) is not None:
            self.number += 1
            yield line

    def block(self, n: int) -> list[str]:
        """The next ``n`` lines (fewer at the end of the text), handed out: :meth:`give_back` them if they are not
        used."""
        lines = [self._back.popleft() for _ in range(min(n, len(self._back)))]
        lines += islice(self._handle, n - len(lines))
        self.number += len(lines)
        return lines

    def give_back(self, lines: list[str]) -> None:
        """Lines :meth:`block` handed out, to be handed out again, first."""
        self._back.extendleft(reversed(lines))
        self.number -= len(lines)


def _records(path: Path, lines: _Lines, dialect: Any, skip: int = 0,
             comments: list[tuple[int, list[str]]] | None = None,
             dropped: list[int] | None = None) -> Iterator[tuple[int, list[str]]]:
    """Non-blank, non-comment rows of cells, one at a time, each with the file line it ends on (as errors tell it);
    the first ``skip`` lines are none (Excel's ``sep=;``). ``comments``, when given, is told the last comment line
    before the first row (its line and cells), as :func:`_commented_header` reads it; ``dropped``, once all are
    read, the number of rows of empty cells after the last row (without any row: in the file).

    A row of empty cells (``,,``) between rows is a sample with every value missing: dropping it shifted
    every later row by one. So is a blank line between rows of one cell (a one-column sheet's empty cell, as a
    spreadsheet saves it); elsewhere a blank line is none. Before the first row and after the last (a
    spreadsheet's formatted but empty rows) neither is.
    """
    reader = csv.reader(lines, dialect)
    started = False
    width = 0  # cells of the last row given
    empty: list[tuple[int, list[str]]] = []  # rows of empty cells, kept until a row of values follows them
    leading = 0  # rows of empty cells before the first row
    try:
        for row in reader:
            if lines.number <= skip:
                continue
            if row and is_comment(row[0]):
                if comments is not None and not started:
                    comments[:] = [(lines.number, row)]
                continue
            if not any(c.strip() for c in row):
                if len(row) > 1 or (started and width == 1):
                    if started:
                        empty.append((lines.number, row or [""]))
                    else:
                        leading += 1
                continue
            yield from empty
            empty.clear()
            started = True
            width = len(row)
            yield lines.number, row
        if dropped is not None:  # blank lines after the last row: the file's last line feeds, no rows
            dropped.append(sum(len(row) > 1 for _, row in empty) if started else leading)
    except csv.Error as error:
        problem = str(error)
        if "field larger than field limit" in problem:
            problem = f"a cell is longer than {csv.field_size_limit():,} characters"
        elif "new-line character seen in unquoted field" in problem:
            problem = "a lone carriage return (\\r) inside a line (line ends mixed?)"
        raise _fail(path, f"line {lines.number}: {problem}") from None


def _commented_header(comments: list[tuple[int, list[str]]], head: tuple[int, list[str]],
                      decimal: str | None) -> list[str] | None:
    """The column names of a header written as a comment right above the first row of numbers ``head``, as
    ``numpy.savetxt(..., header="time,flow")`` writes it (``# time,flow``; numpy.genfromtxt(names=True) reads it
    so); None when the last comment before it is not on the line just above, or is no such header: a cell for
    each of the row's, none empty and none a number (a note, a commented-out row of numbers)."""
    if not comments or comments[-1][0] != head[0] - 1:
        return None
    cells = list(comments[-1][1])
    cells[0] = cells[0].lstrip().lstrip("#")
    names = [cell.strip() for cell in cells]
    if len(names) != len(head[1]) or not all(names):
        return None
    if any(_numeric_fraction([name], decimal) == 1.0 for name in names):
        return None
    return names


#: whether str.strip() strips each ASCII character (by its code)
_SPACES = np.array([chr(code).isspace() for code in range(128)])
#: a line whose first cell is a comment (:func:`~tsae.io.table_cells.is_comment`), or may be one
_COMMENT_START = re.compile(r"^[\t\x0b\x0c\x1c-\x1f ]*#", re.MULTILINE)
_COMMENT_START_BYTES = re.compile(_COMMENT_START.pattern.encode("ascii"), re.MULTILINE)
#: lines of a chunk up to which :func:`_plain_text` writes their text a line at a time
_LINE_BY_LINE = 1 << 10


def _plain_dialect(dialect: Any) -> bool:
    """Whether ``csv.reader`` splits a line of the ``dialect`` without its quote character at each delimiter, as
    :func:`_plain_columns` does."""
    return dialect.quoting == csv.QUOTE_MINIMAL and dialect.escapechar is None and len(dialect.delimiter) == 1


def _plain_columns(lines: list[str], dialect: Any, width: int, compiled: bool = False) -> list[PlainColumn] | None:
    """The cells of ``lines`` column by column when each is a plain row of ``width`` cells, else None
    (:func:`_records` and :func:`_body` read them one by one, and tell what is wrong). The columns are split at once
    when a cell is first asked for (:class:`~tsae.io.table_plain.PlainColumn`); their numbers may be read from the
    text without (:func:`~tsae.io.table_cells._floats`). ``compiled``: tell plain lines by a compiled loop.

    A plain line is ASCII, without a quote, NUL or lone carriage return, and no cell of it longer than a cell may be
    (the line may be: a wide table's is); it is no comment, has ``width - 1`` delimiters, and a cell that is not
    blank: :func:`_records` and :func:`_body` take it as it is, as one row.
    """
    text = _plain_text(lines, dialect, width, compiled)
    if text is None:
        return None
    block = PlainBlock(text, dialect.delimiter, width, len(lines), lambda text: _split(text, dialect, width),
                       as_is=not dialect.skipinitialspace)
    return [PlainColumn(block, j) for j in range(width)]


def _plain_text(lines: list[str], dialect: Any, width: int, compiled: bool = False) -> bytes | bytearray | None:
    """The text of ``lines`` (ASCII bytes), each ending in a line feed, when each is a plain row of ``width`` cells
    (:func:`_plain_columns`), else None.

    The bytes of a few long lines are written a line at a time into one buffer: the lines and their text, not also
    the text as a string (a wide table's sample of 200 lines of 100,000 cells is 160 MB a copy)."""
    text: bytes | bytearray
    if len(lines) > _LINE_BY_LINE:  # many short lines (a long table's): joined at once, not a Python step a line
        joined = "".join(lines)
        if not joined.isascii():
            return None
        text = joined.encode("ascii")
        del joined
    else:
        if not lines or not all(line.isascii() for line in lines):
            return None
        text = bytearray(sum(len(line) for line in lines))
        at = 0
        for line in lines:
            text[at: at + len(line)] = line.encode("ascii")
            at += len(line)
    quote = dialect.quotechar or '"'
    if (b'"' in text or quote.isascii() and quote.encode("ascii") in text or b"\x00" in text
            or b"#" in text and _COMMENT_START_BYTES.search(text)):
        return None
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n")
        if b"\r" in text:
            return None
    if not text.endswith(b"\n"):  # the last line of the text
        text += b"\n"
    if not _plain_lines(text, dialect.delimiter, width, compiled):
        return None
    if dialect is _OneCell and b"," in text and _COMMA_NOT_DECIMAL.search(text):
        return None
    return text


class _OneCell(csv.excel):
    """How the plain lines of a table of one column under a comma delimiter are split (:func:`_plain_columns`):
    into one cell each, a line holding a comma only as one number's decimal comma (``9,514``, as :func:`_body`
    joins it; any other comma is a line :func:`_records` and :func:`_body` read, and tell what is wrong with)."""

    delimiter = ";"  # (a line holding one is not plain: csv.reader reads it, splitting at commas)


def _as_excel(dialect: Any) -> bool:
    """Whether ``csv.reader`` reads a line of the ``dialect`` as it reads one of :class:`_OneCell`, but for its
    delimiter (a quote character other than ``"``, or spaces dropped after a delimiter, would read otherwise)."""
    return (dialect.quotechar, dialect.skipinitialspace, dialect.escapechar, dialect.quoting) == (
        '"', False, None, csv.QUOTE_MINIMAL)


#: a line holding a comma that is not one number with a decimal comma (spaces around it aside)
_COMMA_NOT_DECIMAL = re.compile(
    rb"^(?![\t\x0b\x0c\x1c-\x1f ]*" + DECIMAL_COMMA_NUMBER.encode() + rb"[\t\x0b\x0c\x1c-\x1f ]*$)[^\n,]*,",
    re.MULTILINE)


def _plain_sample(body: Iterator[tuple[int, list[str]]], lines: _Lines, dialect: Any, width: int
                  ) -> tuple[list[tuple[int, list[str]]], tuple[list[int], list[PlainColumn], bool] | None]:
    """A wide table's first :data:`_KIND_ROWS` data rows, read from its plain lines at once (``csv.reader`` took
    most of the time to read them, and their cells as strings most of the memory): ``(rows read one by one,
    opening)``, the opening as :func:`_chunks` takes it, or None (the rows read one by one are then the first of
    those rows, or none: no row).

    The first data row is read one by one (:func:`_body`); the lines after it are read at once when it is the last
    line read, and they are all plain rows (:func:`_plain_text`) of a dialect whose cells are as they are written
    (no ``skipinitialspace``).
    """
    first = next(body, None)
    if first is None or dialect.skipinitialspace or lines.number != first[0] or not any(c.strip() for c in first[1]):
        return ([] if first is None else [first]), None
    block = lines.block(_KIND_ROWS - 1)
    head = _joined_text([first[1]], dialect.delimiter, width)
    text = None if head is None else _plain_text([head, *block], dialect, width, compiled=True)
    if text is None:
        lines.give_back(block)
        return [first], None
    rows = 1 + len(block)
    del block  # (its lines are no longer needed: not held beside their text)
    give_back()  # their pages, before the text's numbers are read into new arrays
    columns = _text_columns(text, dialect.delimiter, width, rows)
    return [first], (list(range(first[0], first[0] + rows)), columns, True)


def _joined_text(rows: list[list[str]], delimiter: str, width: int) -> str | None:
    """The lines of ``rows`` (``width`` cells each) joined again, each ending in a line feed; None when a cell holds
    the delimiter, a line feed or a NUL, or is not ASCII (the text would not split into those cells)."""
    text = "".join([delimiter.join(row) + "\n" for row in rows])
    if (not text.isascii() or "\x00" in text or text.count("\n") != len(rows)
            or text.count(delimiter) != len(rows) * (width - 1)):
        return None
    return text


def _text_columns(text: str | bytes | bytearray, delimiter: str, width: int, rows: int) -> list[PlainColumn]:
    """The columns of ``text``, ``rows`` lines of ``width`` cells, each as it is between its delimiters."""

    def split(text: str) -> list[list[str]]:
        cells = text.replace("\n", delimiter).split(delimiter)
        return [cells[j: rows * width: width] for j in range(width)]

    block = PlainBlock(text, delimiter, width, rows, split, as_is=True)
    return [PlainColumn(block, j) for j in range(width)]


def _joined_columns(rows: list[list[str]], delimiter: str, width: int) -> list[PlainColumn] | None:
    """The cells of ``rows`` (``width`` each, as :func:`_records` read them) column by column, as
    :func:`_plain_columns` gives them: their text joined again, its numbers read from it by the compiled loop
    (a wide table's rows, whose cells ``zip`` and ``float()`` took most of the time to read); None when a cell
    holds the delimiter, a line feed or a NUL, or is not ASCII."""
    text = _joined_text(rows, delimiter, width)
    return None if text is None else _text_columns(text, delimiter, width, len(rows))


def _split(text: str, dialect: Any, width: int) -> list[list[str]]:
    """The cells of the plain lines ``text`` (each ending in a line feed, of ``width`` cells), column by column."""
    if dialect.skipinitialspace:  # "time, flow": csv.reader drops the spaces a cell starts with
        text = _initial_spaces_dropped(text, dialect.delimiter)
    cells = text.replace("\n", dialect.delimiter).split(dialect.delimiter)
    rows = (len(cells) - 1) // width
    return [cells[j: rows * width: width] for j in range(width)]


def _initial_spaces_dropped(text: str, delimiter: str) -> str:
    """``text`` (lines without quotes) without the spaces its cells start with."""
    for start in (delimiter, "\n"):
        while start + " " in text:
            text = text.replace(start + " ", start)
    return text.lstrip(" ")


def _plain_lines(text: str | bytes | bytearray, delimiter: str, width: int, compiled: bool = False) -> bool:
    """Whether each line of ``text`` (ASCII, each ending in ``\\n``) has ``width - 1`` delimiters, a character
    neither a delimiter nor whitespace, and cells no longer than a cell may be (``compiled``: told by a compiled
    loop)."""
    codes = np.frombuffer(text.encode("ascii") if isinstance(text, str) else text, dtype=np.uint8)
    if compiled:
        from tsae.io._number_kernels import plain_lines

        return bool(plain_lines(codes, ord(delimiter), width, csv.field_size_limit(), _SPACES))
    ends = np.flatnonzero(codes == ord("\n"))
    starts = np.concatenate(([0], ends[:-1] + 1))
    is_delimiter = codes == ord(delimiter)
    cell_ends = np.flatnonzero(is_delimiter | (codes == ord("\n")))
    return bool((np.add.reduceat(is_delimiter, starts, dtype=np.int64) == width - 1).all()
                and np.logical_or.reduceat(~(is_delimiter | _SPACES[codes]), starts).all()
                and int(np.diff(cell_ends, prepend=-1).max()) - 1 < csv.field_size_limit())


def _names_row_names(header: list[str], row: list[str], decimal: str | None) -> bool:
    """Whether a ``header`` line has no name for the first column of the first data ``row``, one cell longer, as R's
    ``write.table(df, sep=",")`` writes its row names (``read.table`` reads them so): every header cell a name, the
    row's last cell not blank (a line ending in a delimiter is one cell longer too), and a number after its first
    (a title line above a header is no header: the row below it is one, of names). A header of one name is none such:
    under it, ``9,514`` is one number with a decimal comma."""
    return (len(row) == len(header) + 1 > 2 and all(cell.strip() for cell in header) and bool(row[-1].strip())
            and any(not _is_missing(c) and _numeric_fraction([c], decimal) == 1.0 for c in row[1:]))


#: the rows after a header in which a row longer than it is told as perhaps a title or notes above the header
_PREAMBLE_ROWS = 20


def _body(path: Path, rows: Iterator[tuple[int, list[str]]], width: int,
          header_line: int = 0, spare: int = 0, one_cell: bool = False) -> Iterator[tuple[int, list[str]]]:
    """The data rows with their lines, each of ``width`` cells (a trailing delimiter dropped; a row without up to
    ``spare`` last cells, the unnamed ones a header line ending in delimiters has, gets them empty); a ragged row is
    an error. One of the first :data:`_PREAMBLE_ROWS` longer than the header (on ``header_line``; 0: no header),
    with the row after it as long, says what that often is: a title or notes above the header, as data loggers
    write them.

    ``one_cell``: a table of one column whose rows were split at commas. It has no delimiter, so a comma in its rows
    is a decimal comma: a row of two cells that are one number with a decimal comma (``9,514``) is that number, one
    cell (its first rows, which the delimiter was told from, may all have been whole numbers)."""
    for seen, (line, row) in enumerate(rows):
        if len(row) != width:
            if len(row) == width + 1 and not row[-1].strip():  # a trailing delimiter
                row = row[:-1]
            elif width - spare <= len(row) < width:  # "time,a,b," above "0,1,2"
                row = row + [""] * (width - len(row))
            elif one_cell and len(row) == 2 and decimal_comma_number(",".join(row).strip()):
                row = [",".join(row)]
            else:
                after = next(rows, None)
                for _ in rows:  # a broken quote further on is told first, as when all rows were parsed first
                    pass
                table_below = after is not None and len(after[1]) == len(row) > width  # the real header, then data
                hint = (f" as the header on line {header_line} has (a title or notes above the header? remove them)"
                        if seen < _PREAMBLE_ROWS and header_line and table_below else "")
                raise _fail(path, f"line {line} has {len(row)} fields, expected {width}{hint}")
        yield line, row


def _convert(column: _Column, cells: Sequence[str], start: int, lines: Sequence[int], keep: bool,
             floats: bool, decimal: str | None, find_numbers: bool = False, commas: bool = False,
             store: bool = True, tally: bool = False, compiled: bool = False) -> None:
    """Convert a chunk of a column's cells: data rows ``start`` on, on the file ``lines`` (as errors number them).

    ``keep``: keep the arrays (not when the table is already known to be an error), when ``store`` (else only what
    is known of them: ``rounded``, and with ``tally`` ``absurd`` and ``valued``); ``floats``: read its numbers
    (not when the error told would not be this column's anyway) with the decimal mark ``decimal`` (None: not known
    yet, as no number so far has one); ``find_numbers``: keep ``has_number`` up to date, past ``bad`` too;
    ``commas``: the file is comma-separated (its mark is a point); ``compiled``: read its plain decimal cells by
    the compiled loop (a long table's rows from :data:`COMPILED_FROM_ROW` on are, whatever this says).
    """
    if column.floats is not None and column.bad is None and floats:
        values = _floats(cells, decimal or ".", compiled=compiled or start >= COMPILED_FROM_ROW,
                         booleans=column.rank != 0)  # a sensor's 1 and 0, no time
        if isinstance(values, tuple):
            i, cell = values
            column.bad = (_not_a_number(lines[i], column.name, cell, decimal, commas) if boolean(cell) is None
                          else f"line {lines[i]}, column {column.name!r}: {cell!r} is no time (true/false)")
            column.floats.clear()
        else:
            column.has_number = column.has_number or (find_numbers and not np.isnan(values).all())
            if keep:
                if store:
                    column.floats.append(values)
                if tally:
                    huge = _absurd(values)
                    column.absurd += int(huge.sum())
                    column.valued = column.valued or bool((~huge & ~np.isnan(values)).any())
                rounded, i = _rounded_wholes(cells, values)
                if rounded and not column.rounded:
                    column.first_rounded = f"line {lines[i]}: {cells[i].strip()} is read as {values[i]:.0f}"
                column.rounded += rounded
    if find_numbers and floats and column.bad is not None and not column.has_number:
        column.has_number = _holds_number(cells, decimal)
    if column.dates is not None and not column.not_dates:
        cleaned = _clean_dates(cells)
        parsed = _parse_dates(cleaned)
        if parsed is None:
            column.not_dates = True
            column.dates.clear()
            odd = _first_non_number(cells, decimal) if column.numbers_first else None
            i = _first_non_date(cleaned) if odd is None else odd
            column.not_date = f"line {lines[i]}: {cells[i].strip()!r}{_not_a_date(cleaned[i])}"
        else:
            if keep and store:
                column.dates.append(parsed)
            if start < _OFFSET_ROWS and not column.utc:
                column.offset = column.offset or any(_OFFSET.search(c) for c in cleaned[:_OFFSET_ROWS - start])
                column.utc = any(names_utc(c) for c in cells[:_OFFSET_ROWS - start])
    if column.texts is not None and keep and store:
        column.texts.append(np.array([c.strip() for c in cells]))


def _holds_number(cells: Sequence[str], decimal: str | None) -> bool:
    """Whether one of ``cells`` (missing ones aside) is a number."""
    # each distinct cell once: a column of text mostly repeats a few words (a status)
    return any(not _is_missing(c) and _numeric_fraction([c], decimal) == 1.0 for c in set(cells))


def _first_non_number(cells: Sequence[str], decimal: str | None) -> int | None:
    """The index of the first of ``cells`` (missing ones aside) that is not a number, or None."""
    return next((i for i, c in enumerate(cells) if not _is_missing(c) and _numeric_fraction([c], decimal) < 1.0),
                None)


def _joined(chunks: list[np.ndarray] | None) -> np.ndarray:
    assert chunks is not None
    # (a copy of a view of a chunk's values: the view holds every column's, :attr:`PlainBlock.views`)
    joined = chunks[0] if len(chunks) == 1 and chunks[0].base is None else np.concatenate(chunks)
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


@dataclass
class _Scan:
    """A table as :func:`_scan_rows` reads it: its header, its columns and what each is read as, the rows so far."""

    header: list[str]
    headerless: bool
    columns: list[_Column]
    time_idx: int | None
    label_idx: int | None
    #: an unnamed column at the end of a first line that ends in delimiters: whether its cells so far are all blank
    blank_tail: list[bool]
    decimal: str | None  # the file's decimal mark, once a number has one
    n: int = 0  # data rows read
    doomed: tuple[int, int] | None = None  # (rank, index) of the first error that will certainly be told


def _rows_a_chunk(width: int, ahead: int) -> int:
    """The rows of a chunk of a table of ``width`` columns, the first ``ahead`` rows read already: :data:`READ_ROWS`,
    or as many as hold :data:`READ_CELLS` cells of a wide table (never fewer than ``ahead``)."""
    if READ_CELLS // max(width, 1) >= READ_ROWS:
        return READ_ROWS
    return max(READ_CELLS // max(width, 1), ahead, 1)


def _chunks(rows: Iterator[tuple[int, list[str]]], ahead: int, lines: _Lines | None, dialect: Any, width: int,
            limit: int | None, first: tuple[list[int], list[PlainColumn], bool] | None = None
            ) -> Iterator[tuple[Sequence[int], Sequence[Sequence[str]]]]:
    """The data rows, :data:`READ_ROWS` at a time (``limit`` in all; None: all), as their file lines and their cells
    column by column.

    ``rows`` are the rows read one by one (:func:`_body`), the first ``ahead`` of them read already. When those
    have read no line beyond the last row they gave (it is no row of empty cells, which :func:`_records` gives only
    once it has read the row after them), the next chunk's lines are split at once if they are all plain rows
    (:func:`_plain_columns`) of the text of ``lines`` (None: never).

    A chunk of a wide table (``width`` cells a row) holds :data:`READ_CELLS` cells, not :data:`READ_ROWS` rows, but
    never fewer rows than ``ahead`` (:func:`_rows_a_chunk`); ``first``, when given, is its first chunk: those
    ``ahead`` rows as their lines, their columns joined again (:func:`_joined_columns`), and whether the last of them
    has a cell that is not blank; ``rows`` then are the rows after them, and the lines after them are split at once
    (``csv.reader`` would split the rest of such a table, of a few hundred rows, a cell at a time).
    """
    done = 0
    at_rest = False
    rows_a_chunk = _rows_a_chunk(width, ahead)
    if first is not None:
        numbers, columns, at_rest = first
        done = len(numbers)
        del first
        yield numbers, columns
        del numbers, columns
    while limit is None or done < limit:
        want = rows_a_chunk if limit is None else min(rows_a_chunk, limit - done)
        if at_rest and lines is not None:
            block = lines.block(want)
            compiled = done >= COMPILED_FROM_ROW or len(block) * width >= COMPILED_FROM_CELLS
            plain = _plain_columns(block, dialect, width, compiled)
            if plain is None:
                lines.give_back(block)
            else:
                done += len(block)
                lined: Sequence[int] = range(lines.number - len(block) + 1, lines.number + 1)
                del block  # not held while the chunk is converted
                if rows_a_chunk != READ_ROWS:  # a chunk of a wide table: lines of up to a megabyte, the heap's pages
                    give_back()
                yield lined, plain
                del plain  # nor while the next one is read
                continue
        chunk = list(islice(rows, want))
        if not chunk:
            return
        done += len(chunk)
        at_rest = done >= ahead and any(cell.strip() for cell in chunk[-1][1])
        numbered, cells = [line for line, _ in chunk], list(zip(*(row for _, row in chunk), strict=True))
        del chunk
        yield numbered, cells
        del numbered, cells


def _scan_rows(path: Path, handle: TextIO, dialect: Any, skip: int = 0, text_columns: bool = False, *,
               values: bool = True, convert: Collection[int] | None = None, limit: int | None = None
               ) -> Iterator[_Scan]:
    """The rows of an open file, read :data:`READ_ROWS` rows at a time: the :class:`_Scan` after each chunk, its
    columns holding the arrays of every chunk so far (of the ones in ``convert`` only; None: all).

    ``values``: keep the arrays of every column; else only of those that may be the time column or are the label
    (a reader that takes the channels' values from a second pass, :func:`~tsae.io.table_blocks.open_table_blocks`),
    and count each column's absurd cells and values (``absurd``, ``valued``). The errors found while the rows are
    read are raised here (broken quotes, empty, no data rows, ragged rows, duplicate names); the others, once all
    are read, by :func:`_decide`. ``limit``: read no more data rows than that (a second pass reads the rows the
    first found, not the ones a logger appended since, even one it is still writing).
    """
    decimal = "." if dialect.delimiter == "," else None
    source = _Lines(handle)
    comments: list[tuple[int, list[str]]] = []
    dropped: list[int] = []
    rows = _records(path, source, dialect, skip, comments, dropped)
    head = next(rows, None)
    if head is None:
        if dropped and dropped[0]:
            raise _fail(path, f"no values: its {dropped[0]} row(s) hold empty cells only")
        raise _fail(path, "empty file")
    first = head[1]
    headerless = _is_data_row(first, decimal)
    named = _commented_header(comments, head, decimal) if headerless else None
    if named is not None:  # numpy.savetxt(..., header="time,flow") wrote "# time,flow" above the numbers
        header, headerless, first = named, False, named
        rows = chain([head], rows)
        head = (head[0] - 1, named)
    elif headerless:  # numbers (and dates): data, not a header
        header = [f"ch{i}" for i in range(len(first))]
        rows = chain([head], rows)
    else:
        after = next(rows, None)
        if after is not None:
            rows = chain([after], rows)
            if _names_row_names(first, after[1], decimal):
                first = ["", *first]  # R's write.table: the row names, no name, are pandas' unnamed index
        given = {c.strip() for c in first}
        header = [c.strip() or _unnamed(i, given) for i, c in enumerate(first)]
    width = len(header)
    one_cell = dialect.delimiter == "," and width == 1  # one column, no delimiter: _body joins 9,514
    if one_cell:  # its decimal mark is its numbers'
        decimal = None
    body = _body(path, rows, width, 0 if headerless else head[0], 0 if headerless else _blank_tail(first),
                 one_cell)
    opening: tuple[list[int], list[PlainColumn], bool] | None = None
    wide = (_rows_a_chunk(width, _KIND_ROWS) != READ_ROWS and _KIND_ROWS * width >= COMPILED_FROM_CELLS
            and _plain_dialect(dialect) and (limit is None or limit >= _KIND_ROWS))
    sample, opening = _plain_sample(body, source, dialect, width) if wide else ([], None)
    if opening is None:
        sample += islice(body, _KIND_ROWS - len(sample))
    if not sample:
        if dropped and dropped[0]:
            raise _fail(path, f"no data rows: the {dropped[0]} row(s) below the header hold no values (empty cells "
                              "only)")
        raise _fail(path, "no data rows (only a header)")
    if len(set(header)) != len(header):
        for _ in body:  # a ragged row further on is told first
            pass
        dup = sorted({h for h in header if header.count(h) > 1})[0]
        raise _fail(path, f"duplicate column name {dup!r}")
    if not headerless and {"_value", "_field"} <= {h.strip().lower() for h in header}:
        raise _fail(path, "an InfluxDB export in long form (a row per value, the field named in '_field'): give it "
                          "one column per field first (Flux: |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], "
                          "valueColumn: \"_value\"); pandas: pivot_table(index='_time', columns='_field', "
                          "values='_value'))")
    unnamed_first = not first[0].strip()  # a blank cell is no number: such a first row is always a header
    # the first line ends in delimiters (as spreadsheet exports end every line of a sheet whose used range is wider
    # than its data: ``a,b,,,``): its last columns, no name, are no columns while all their cells are empty too (a
    # named one, or one with a cell, is read as any other, and so is every unnamed one left of it)
    if opening is None and wide and len(sample) * width >= COMPILED_FROM_CELLS:
        # a wide table: the sample's cells joined again, read by the plan and as the first chunk from that text
        joined = _joined_columns([row for _, row in sample], dialect.delimiter, width)
        if joined is not None:
            opening = ([line for line, _ in sample], joined, any(cell.strip() for cell in sample[-1][1]))
    columns, time_idx, label_idx = _plan(header, [row for _, row in sample] if opening is None else opening[1],
                                         decimal, unnamed_first, headerless, columns=opening is not None)
    scan = _Scan(header, headerless, columns, time_idx, label_idx, [True] * _blank_tail(first), decimal)
    store = [values or j in (time_idx, label_idx) or column.maybe_time or column.index
             for j, column in enumerate(columns)]
    commas = dialect.delimiter == "," and not one_cell  # comma-separated: its numbers have decimal points
    blank_tail = scan.blank_tail
    ahead = len(sample) if opening is None else len(opening[0])
    plain = _OneCell if one_cell and _as_excel(dialect) else dialect  # how its plain lines are split
    rest = _chunks(chain(sample, body) if opening is None else body, ahead,
                   source if _plain_dialect(dialect) else None, plain, width, limit, opening)
    del sample, opening
    told = _ROWS_READ.get()
    for lines, cells in rest:
        if told is not None:
            told(len(lines))
        if scan.decimal is None:  # it depends on the plan alone, not on what the columns read so far
            scan.decimal = _decimal_mark(columns, cells)
        for i in range(len(blank_tail)):
            blank_tail[i] = blank_tail[i] and not any(c.strip() for c in cells[len(cells) - len(blank_tail) + i])
        doomed = scan.doomed
        compiled = len(lines) * width >= COMPILED_FROM_CELLS  # a wide table's chunk: worth loading numba for
        if values and cells and isinstance(cells[0], PlainColumn):
            cells[0].block.views = True  # every column's values kept: a view each of the chunk's (_assembled)
        for j, column in enumerate(columns):
            if convert is None or j in convert:
                _convert(column, cells[j], scan.n, lines, doomed is None, doomed is None or (column.rank, j) < doomed,
                         scan.decimal, text_columns, commas, store[j], not values, compiled)
        scan.n += len(lines)
        del lines, cells  # not held while the next chunk is read
        for j, column in enumerate(columns):
            certain = (column.bad is not None and not column.maybe_time and not (text_columns and column.rank == 3)) \
                or (column.rank == 0 and column.not_dates)
            if certain and (doomed is None or (column.rank, j) < doomed):
                doomed = (column.rank, j)
        scan.doomed = doomed
        if doomed is not None:
            for column in columns:
                for chunks in (column.floats, column.dates, column.texts):
                    if chunks is not None:
                        chunks.clear()
        yield scan


@dataclass
class _Decided:
    """What a table read whole (:func:`_scan_rows`) is: its channels (column indices), time and label column."""

    channels: list[int]
    time_idx: int | None
    label_idx: int | None
    time: np.ndarray | None
    label: np.ndarray | None
    time_utc: bool
    texts: dict[str, str]  # Table.text_columns
    mixed: list[str]  # Table.mixed_columns


def _decide(path: Path, scan: _Scan, text_columns: bool = False) -> _Decided:
    """What the table :func:`_scan_rows` read to its end is, with the errors and warnings told once all its rows
    are read: the time column, the label, no channel, then the first channel (left to right) with a cell that is
    not a number. A counter that stopped counting is a channel, and so is a first column beside the time column that
    stopped numbering the rows (else it is dropped: the rows' numbers are no sensor's); the time and label columns are
    joined."""
    header, columns, time_idx, label_idx, doomed = scan.header, scan.columns, scan.time_idx, scan.label_idx, scan.doomed
    if time_idx is not None and columns[time_idx].counter:
        counter = columns[time_idx]
        if counter.bad is not None:
            time_idx = None  # a cell is not a number: a channel, whose error that is
        elif doomed is None:
            counter.floats = [_joined(counter.floats)]
            if not _counts(counter.floats[0], unit=_names_a_unit(counter.name)):
                time_idx = None  # it counted at first, not all through: a channel
    if time_idx is None:
        time_idx = next((j for j, column in enumerate(columns) if column.maybe_time and not column.not_dates), None)
    if time_idx is None and columns[0].index and columns[0].bad is None:
        time_idx = 0  # no column beside it is dates to the end: pandas' index is the time column, as without them
    time = None
    if time_idx is not None:
        column = columns[time_idx]
        if column.rank == 0 and column.not_dates:
            raise _fail(path, f"time column {column.name!r} is neither numbers nor dates ({column.not_date})")
        if column.rank == 0 and column.bad is not None:
            raise _fail(path, column.bad)
        if column.dates is not None and column.offset:
            warnings.warn(f"{path}: times with a UTC offset are read, and written, as UTC (ending in Z)", TableWarning,
                          stacklevel=4)
        if column.dates is None and column.floats is not None and doomed is None:
            column.floats = [_joined(column.floats)]
            clock = not scan.headerless and column.name.strip().lower() == _CLOCK_SECONDS.get()
            excel = None if clock else excel_days_warning(column.floats[0], None if scan.headerless else column.name)
            if excel is not None:
                warnings.warn(f"{path}: {excel}", TableWarning, stacklevel=4)
        time = column.dates if column.dates is not None else column.floats
    label = None
    if label_idx is not None:
        if columns[label_idx].bad is not None:
            raise _fail(path, str(columns[label_idx].bad))
        label = columns[label_idx].floats if columns[label_idx].floats is not None else columns[label_idx].texts
    index = columns[0].index and columns[0].bad is None and time_idx not in (None, 0)
    if index and doomed is None:  # (doomed, the error told is the same whether it is a channel or not)
        columns[0].floats = [_joined(columns[0].floats)]
        index = _numbers_rows(columns[0].floats[0])  # else it stopped numbering the rows: a channel
    dropped = next((i for i, blank in enumerate(reversed(scan.blank_tail)) if not blank), len(scan.blank_tail))
    channels = [j for j in range(len(header) - dropped) if j not in (time_idx, label_idx) and not (j == 0 and index)]
    texts = {header[j]: str(columns[j].bad) for j in channels if text_columns and columns[j].bad is not None}
    mixed = [header[j] for j in channels if header[j] in texts and columns[j].has_number]
    channels = [j for j in channels if header[j] not in texts]
    if not channels and mixed:  # no column but text, one of numbers among them: its cell of text is the problem
        raise _fail(path, texts[mixed[0]])
    if not channels:
        held = f" (column(s) {', '.join(map(repr, texts))} hold text)" if texts else ""
        raise _fail(path, f"no numeric data columns{held}")
    for j in channels:
        if columns[j].bad is not None:
            raise _fail(path, str(columns[j].bad))
    assert doomed is None, doomed
    rounded = [columns[j] for j in channels if columns[j].rounded]
    if rounded:
        warnings.warn(f"{path}: {sum(c.rounded for c in rounded)} whole number(s) beyond 2**53 are rounded to "
                      f"float64's nearest (column {rounded[0].name!r}, {rounded[0].first_rounded})", TableWarning,
                      stacklevel=4)
    return _Decided(channels, time_idx, label_idx, time=None if time is None else _joined(time),
                    label=None if label is None else _joined(label),
                    time_utc=time_idx is not None and columns[time_idx].dates is not None and columns[time_idx].utc,
                    texts=texts, mixed=mixed)


def _last(scans: Iterator[_Scan]) -> _Scan:
    """The last of ``scans``: the table read to its end."""
    last = None
    for scan in scans:
        last = scan
    assert last is not None  # a table has a data row (else _scan_rows raised)
    return last


def _read_rows(path: Path, handle: TextIO, dialect: Any, skip: int = 0, text_columns: bool = False) -> Table:
    """The table of the rows of an open file, read :data:`READ_ROWS` rows at a time (:func:`_scan_rows`); errors in
    the order the whole-file reader told them: broken quotes, empty, no data rows, ragged rows, duplicate names, the
    time column, the label, no channel, then the first channel (left to right) with a cell that is not a number.

    Lines that end in delimiters (``a,b,,,`` then ``1,2,,,``) have no last columns: unnamed last columns whose
    cells are all empty are dropped (a named one is a channel of missing values).

    A file not separated by commas may use decimal commas: the first number with a decimal mark decides the
    mark of the whole file (see :func:`read_table`)."""
    scan = _last(_scan_rows(path, handle, dialect, skip, text_columns))
    decided = _decide(path, scan, text_columns)
    columns = scan.columns
    if scan.n * len(columns) >= GIVE_BACK_CELLS:  # what the chunks' lines and cells left free: before the table's
        give_back()  # pages are touched
    values = _assembled([columns[j].floats for j in decided.channels], decided.channels, scan.n)
    header, time_idx, label_idx = scan.header, decided.time_idx, decided.label_idx
    return Table(values=values, columns=[header[j] for j in decided.channels],
                 time=decided.time, time_name=None if time_idx is None else header[time_idx],
                 label=decided.label, label_name=None if label_idx is None else header[label_idx],
                 time_utc=decided.time_utc, text_columns=decided.texts, mixed_columns=decided.mixed)


def _assembled(channels: list[list[np.ndarray] | None], index: list[int], n: int) -> np.ndarray:
    """The ``(channels, n)`` values of the channels' chunks, each chunk let go once copied: the table's pages are
    touched as its chunks are freed, so the memory held is about the table once, not twice.

    A chunk whose channels' values are all rows of one array (:attr:`~tsae.io.table_plain.PlainBlock.views`) is
    copied in one step, a slice of channels at a time, each slice's pages handed back once copied
    (:func:`~tsae.io.heap.drop_pages`: the chunk's array, up to most of the table, and the table are not held
    whole together); other chunks a channel at a time. ``index``: the channels'
    columns."""
    values = np.empty((len(channels), n))
    lists = [chunks for chunks in channels if chunks is not None]
    assert len(lists) == len(channels)
    done = [0] * len(lists)
    columns = np.array(index, dtype=np.int64)
    for k in range(max((len(chunks) for chunks in lists), default=0)):
        kth = [chunks[k] if k < len(chunks) else None for chunks in lists]
        base = kth[0].base if kth[0] is not None else None
        rows = None if base is None or base.ndim != 2 or len(set(done)) != 1 else _rows_of(kth, base, columns)
        if rows is not None:
            assert base is not None
            size = base.shape[1]
            for start in range(0, len(rows), _ASSEMBLE_ROWS):  # (a copy of the rows taken, a slice at a time)
                part = rows[start: start + _ASSEMBLE_ROWS]
                values[start: start + len(part), done[0]: done[0] + size] = base[part]
                if part[-1] - part[0] == len(part) - 1:  # rows of channels only, read for the last time
                    drop_pages(base, int(part[0]) * base.strides[0], (int(part[-1]) + 1) * base.strides[0])
            done = [at + size for at in done]
        else:
            for row, chunk in enumerate(kth):
                if chunk is not None:
                    values[row, done[row]: done[row] + len(chunk)] = chunk
                    done[row] += len(chunk)
        del kth, base
        for chunks in lists:
            if k < len(chunks):
                chunks[k] = _NOTHING  # let go: its chunk's array is freed once no channel holds it
    assert all(at == n for at in done)
    for chunks in lists:
        chunks.clear()
    return values


#: a chunk let go (:func:`_assembled`)
_NOTHING = np.empty(0)
#: channels copied at a time from a chunk's values (:func:`_assembled`)
_ASSEMBLE_ROWS = 1 << 12


def _rows_of(chunk: list[np.ndarray | None], base: np.ndarray, index: np.ndarray) -> np.ndarray | None:
    """``index`` (the channels' columns), the rows of ``base`` (a chunk's ``(width, rows)`` values, a column a row)
    that ``chunk`` (the channels' values of the chunk) are, or None when one is not a whole row of it."""
    if any(c is None or c.base is not base or c.shape[0] != base.shape[1] for c in chunk):
        return None
    start, step = base.__array_interface__["data"][0], base.strides[0]
    for at in {0, len(chunk) - 1}:  # (each is column j's row j, as PlainBlock.numbers gives it: a check, not a search)
        if chunk[at].__array_interface__["data"][0] != start + step * int(index[at]):  # type: ignore[union-attr]
            return None
    return index


@contextlib.contextmanager
def _table_text(path: Path, tell: bool = True, known: TableDialect | None = None
                ) -> Iterator[tuple[TextIO, Any, int]]:
    """The text of the table file ``path`` (decompressed), open, with its dialect and the lines to skip before its
    rows (``known``, else :func:`~tsae.io.table_dialect.table_dialect` of its first characters); a file that cannot
    be read, or broken compressed data, is one error naming it. Times of day that passed midnight in the text read
    are told once it is read, unless not ``tell`` (a second pass)."""
    compression = _compression(path)
    encoding = _encoding(path, compression)
    try:
        with _decompressing(path, compression):
            with _open_text(path, encoding, compression) as handle:
                sample = handle.read(8192)
                try:
                    dialect, skip = known if known is not None else table_dialect(sample, kind_suffix(path))
                except ValueError as error:
                    raise _fail(path, str(error)) from None
            newline = "\r" if "\r" in sample and "\n" not in sample else "\n"
            with _open_text(path, encoding, compression, newline) as handle:
                if dialect is SpaceSeparated:  # numpy.savetxt's default: read as its lines joined by commas are
                    yield cast(TextIO, map(comma_joined, handle)), dialect, skip
                elif dialect in (LabviewTabs, LabviewCommas):
                    yield cast(TextIO, labview_lines(handle, dialect)), dialect, skip
                elif dialect is InfluxCsv:  # a row per value: the wide table it pivots to
                    yield cast(TextIO, influx_lines(path, handle)), dialect, skip
                else:
                    clocks = clock_plan(sample, dialect, skip)
                    days = DayWraps()
                    seconds = _CLOCK_SECONDS.set(clocks.name if clocks is not None and clocks.date is None else None)
                    try:
                        # a Date column and a Time column of clock readings, or elapsed hh:mm:ss: as dates or seconds
                        lines = handle if clocks is None else cast(TextIO, clock_lines(handle, dialect, clocks, days))
                        yield lines, dialect, skip
                    finally:
                        _CLOCK_SECONDS.reset(seconds)
                    if tell and days.wraps:
                        warnings.warn(f"{path}: {days.told()}", TableWarning, stacklevel=4)
    except OSError as error:
        raise _fail(path, f"cannot read ({error.strerror or error})") from None
    except LabviewError as error:
        raise _fail(path, str(error)) from None
    except UnicodeDecodeError:  # UTF-8 a moment ago
        raise _fail(path, "cannot read (it changed while it was read)") from None


def read_table(path: str | os.PathLike, *, exact: bool = False, text_columns: bool = False,
               dialect: TableDialect | None = None) -> Table:
    """Read a CSV (or TSV) file of channels, plain or compressed (gzip, bzip2, xz).

    Parameters
    ----------
    path
        The file. The first row is a header (when it is not all numbers); each other
        row is one time step. Empty cells and ``NA``/``nan``/``null`` become NaN.
        The delimiter (``,``, ``;``, tab, ``|``) is sniffed from the start of the text, or named by a first
        line ``sep=;`` as Excel writes one.
    exact
        Keep infinite cells and cells beyond :data:`ABSURD` in magnitude as they are (for a
        round trip that must give every cell back, as ``compress`` does); by default they
        are a sensor's glitches, read as missing with a :class:`TableWarning`.
    text_columns
        A data column with a cell that is not a number is left out (named in ``Table.text_columns`` with the error
        it would have been; in ``Table.mixed_columns`` too when other cells of it are numbers) rather than an error:
        for a reader that needs only some columns (``detect score``) or only numbers (``detect fit``).
    dialect
        The table's delimiter, quoting and lines to skip, when known already
        (:func:`~tsae.io.table_dialect.table_dialect` of a table like it, or
        :func:`~tsae.io.table_dialect.delimited`): taken as it is, not told from the text again (the files a fleet's
        table is split into share its dialect). None: told from the first characters of the text.

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
    with _table_text(path, known=dialect) as (handle, found, skip):
        table = _read_rows(path, handle, found, skip, text_columns)
    if not exact:
        _absurd_as_missing(path, table.values, table.columns)
    return table


__all__ = ["Table", "read_table", "rows_read_told", "write_table", "open_table_writer", "TableWriter", "column_format",
           "ColumnFormat", "time_cells",
           "sniff_delimiter", "find_time_column", "time_seconds", "median_step", "whole_numbers", "TABLE_SUFFIXES",
           "TIME_NAMES", "INDEX_NAMES", "MISSING", "DELIMITERS", "ABSURD", "absurd_as_missing", "TableWarning"]
