"""The field delimiter of a table's text (``,``, ``;``, tab or ``|``), sniffed from a sample of it.

Commas that are decimal marks (``1,5;2,25``) are told from a comma delimiter. Shared by the table reader
(:mod:`tsae.io.tables`) and the stream record parser (:mod:`tsae.io.records`).
"""
from __future__ import annotations

import csv
import re
from typing import Any, NamedTuple

from tsae.io.influx import influx_dialect
from tsae.io.labview import labview_dialect
from tsae.io.table_cells import _is_missing, is_comment

#: Field delimiters a table (or a record stream) may use.
DELIMITERS = ",;\t|"


#: Excel's first line naming the delimiter of the lines after it (``sep=;``), which it writes and reads
_SEP_LINE = re.compile(r'"?sep=(.)"?[ \t]*\r?$', re.IGNORECASE)


def separator_line(sample: str) -> str | None:
    """The delimiter that the first line of a sample names as Excel's ``sep=;`` does, or None without such a line.

    Raises
    ------
    ValueError
        The line names a character that is not one of :data:`DELIMITERS` (without the file's name).
    """
    match = _SEP_LINE.match(sample.split("\n", 1)[0])
    if match is None:
        return None
    if match.group(1) not in DELIMITERS:
        raise ValueError(f"line 1: {match.group(0).strip()!r} names a delimiter that is not one of , ; tab |")
    return match.group(1)


class TableDialect(NamedTuple):
    """How a table's text is split into rows: the csv ``dialect``, and the lines before its first row to ``skip``
    (1 after Excel's ``sep=;`` line). :func:`table_dialect` tells it from a sample of the text; a reader given one
    (:func:`~tsae.io.tables.read_table`'s ``dialect``) takes it as it is."""

    dialect: Any
    skip: int = 0


def delimited(delimiter: str, skip: int = 0) -> TableDialect:
    """The dialect of a table whose cells are separated by ``delimiter`` (one of :data:`DELIMITERS`) and quoted as
    ``csv.writer`` quotes them (``"`` around a cell that needs it, doubled inside), after ``skip`` lines.

    Examples
    --------
    >>> found = delimited(";", skip=1)
    >>> found.dialect.delimiter, found.dialect.quotechar, found.skip
    (';', '"', 1)
    """
    if delimiter not in DELIMITERS:
        raise ValueError(f"delimiter {delimiter!r} is not one of , ; tab |")
    return TableDialect(_DIALECTS.get(delimiter, csv.excel), skip)


def table_dialect(sample: str, suffix: str) -> TableDialect:
    """The csv dialect of a table from a sample of its text, and how many lines before its first row to skip.

    Parameters
    ----------
    sample : str
        The first few kilobytes of the table's text.
    suffix : str
        The file's lower-case kind suffix (``.tsv`` reads as tab-separated without sniffing).

    Returns
    -------
    TableDialect
        The dialect, and 1 when the first line is Excel's ``sep=;`` (which names the delimiter), else 0.

    A LabVIEW measurement file (``.lvm``) gives :class:`~tsae.io.labview.LabviewTabs` or
    :class:`~tsae.io.labview.LabviewCommas`: the reader reads its lines through :func:`~tsae.io.labview.labview_lines`.
    An InfluxDB CSV export gives :class:`~tsae.io.influx.InfluxCsv`: the reader reads the wide table it pivots to
    (:func:`~tsae.io.influx.influx_lines`).

    Columns separated by runs of spaces (:func:`_space_separated`: ``numpy.savetxt``'s default, MATLAB's
    ``save -ascii``, R's ``write.table``) give :class:`SpaceSeparated`: the reader reads such a table's lines with
    their cells joined by commas (:func:`comma_joined`).

    Raises
    ------
    ValueError
        As :func:`separator_line`.
    """
    sample = _line_feeds(sample)
    labview = labview_dialect(sample)
    if labview is not None:
        return TableDialect(labview)
    influx = influx_dialect(sample)
    if influx is not None:
        return TableDialect(influx)
    if _json(sample):
        raise ValueError("JSON, not a table: save it as CSV (one column per sensor), or stream its records to "
                         "`tsae monitor`, which reads JSON lines")
    if _space_separated(sample):
        return TableDialect(SpaceSeparated)
    return TableDialect(*_dialect(sample, suffix))


def spaced_numbers(line: str) -> str | None:
    r"""A stream's line of two or more numbers (or missing values) separated by spaces and no delimiter (``0 9.51
    1.91``, as a serial logger prints them) with its cells joined by commas (:func:`comma_joined`); None for any
    other line (a header, dates with a space inside, a delimited line: read as they are).

    Examples
    --------
    >>> spaced_numbers("0 9.514  1.908\n"), spaced_numbers("0,9.5\n"), spaced_numbers("2024-01-01 10:00:00 1.5")
    ('0,9.514,1.908\n', None, None)

    The first number may be quoted, as R's ``write.table`` quotes a row's name (``"1" 9.514 1.908``).
    """
    cells = line.split()
    if len(cells) < 2 or any(delimiter in line for delimiter in DELIMITERS):
        return None
    if len(cells[0]) > 2 and cells[0][0] == cells[0][-1] == '"':
        cells[0] = cells[0][1:-1]
    if not all(_POINT_NUMBER.fullmatch(cell) or _is_missing(cell) for cell in cells):
        return None
    return comma_joined(line)


def spaced_names(line: str) -> str | None:
    r"""A stream's header line of two or more names separated by spaces and no delimiter (``time flow pressure``, or
    R's ``"time" "flow rate"``, as a serial logger or ``write.table`` print them) with its cells joined by commas
    (:func:`comma_joined`); None for any other line. The rows below it are :func:`spaced_numbers`' lines.

    Examples
    --------
    >>> spaced_names("time flow  pressure\n"), spaced_names('"time" "flow rate"'), spaced_names("0 9.5")
    ('time,flow,pressure\n', '"time","flow rate"', None)
    """
    if any(delimiter in line for delimiter in DELIMITERS):
        return None
    joined = comma_joined(line)
    cells = [cell.strip('"') for cell in joined.rstrip("\r\n").split(",")]
    if len(cells) < 2 or any(not cell or _POINT_NUMBER.fullmatch(cell) or _is_missing(cell) for cell in cells):
        return None
    return joined


def _json(sample: str) -> bool:
    """Whether a sample is JSON (an array, or JSON lines: a first line that is one object), not a table: a first line
    that opens an array of objects or arrays, or is ``{"key": ...}``; bracketed or braced names (``[time],[flow]``,
    ``{a},{b}``) are a header."""
    first = sample.lstrip("\ufeff \t\r\n").split("\n", 1)[0].strip()
    if first.startswith("{"):  # an object: "key": value (a header of braced names, {a},{b}, has no colon)
        return first == "{" or (first.endswith("}") and '"' in first and ":" in first)
    return first == "[" or first.startswith(("[{", "[["))


class SpaceSeparated(csv.excel):
    """The dialect of a table whose columns are separated by runs of spaces: read as its lines are after
    :func:`comma_joined`, comma-separated."""


#: a cell of a space-separated line: a quoted one (R's write.table quotes its names: ``"flow rate"``), or a run of
#: anything but spaces
_SPACED_CELL = re.compile(r'"(?:[^"]|"")*"|\S+')


def comma_joined(line: str) -> str:
    r"""A line of a space-separated table (:class:`SpaceSeparated`) with its cells joined by commas, spaces around them
    dropped, its line end kept; a comment line (``# time flow``, numpy.savetxt's ``header``) keeps its mark on its first
    cell (``#time,flow``).

    Examples
    --------
    >>> comma_joined("   1.5e+00   -2.0e+00\n"), comma_joined('"time" "flow rate"\n'), comma_joined("# time flow\n")
    ('1.5e+00,-2.0e+00\n', '"time","flow rate"\n', '#time,flow\n')
    """
    body = line.rstrip("\r\n")
    end = line[len(body):]
    stripped = body.strip()
    mark = ""
    if stripped.startswith("#") and is_comment(stripped):
        mark, stripped = "#", stripped.lstrip("#")
    return mark + ",".join(_SPACED_CELL.findall(stripped)) + end


def _line_feeds(sample: str) -> str:
    r"""A sample with each line ending in a line feed alone: here and in ``csv.Sniffer`` lines are split at line
    feeds. Lines ending in a carriage return alone (classic Mac line ends: no line feed anywhere, as the table reader
    tells them) were one line (``a;b\r1,5;2\r`` was sniffed as comma-separated); and the sniffer's patterns end a
    line at a line feed, so where only cells last on their line were quoted, a ``\r\n`` file's quotes were taken
    as not doubled (a last name ``pipe 2"``, quoted with its quote doubled, was read as ``pipe 2""``)."""
    sample = sample.replace("\r\n", "\n")
    return sample.replace("\r", "\n") if "\r" in sample and "\n" not in sample else sample


def _dialect(sample: str, suffix: str) -> tuple[Any, int]:
    """:func:`table_dialect` of a sample whose columns are not separated by spaces."""
    named = separator_line(sample)
    if named is not None:
        return _DIALECTS.get(named, csv.excel), 1
    if suffix == ".tsv" or suffix.startswith(".tsv."):  # .tsv.gz too
        return csv.excel_tab, 0
    sample = _rows_only(sample)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    if dialect.delimiter == ",":
        other = _decimal_comma_delimiter(sample)
        if other is not None:
            dialect = _DIALECTS[other]
        elif _one_column_of_decimal_commas(sample):
            dialect = _Semicolons  # a delimiter the text does not hold: a line is one cell
    return dialect, 0


def _rows_only(sample: str) -> str:
    """A sample without its comment lines (:func:`~tsae.io.table_cells.is_comment`) and blank ones, which the table
    reader skips: the sniffer weighs every line it is given as a row, and a few notes (``# logger 7, v1.2``) among
    ten rows made it take another delimiter. The last line, perhaps cut short, is kept without a line feed."""
    *complete, last = sample.split("\n")
    return "".join(line + "\n" for line in complete if line.strip() and not is_comment(line)) + (
        "" if is_comment(last) else last)


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


#: a cell that is a number with a decimal comma (``-9,514``, ``1,5e-3``), and one that is a whole number
DECIMAL_COMMA_NUMBER = r"[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?"
_DECIMAL_COMMA = re.compile(DECIMAL_COMMA_NUMBER)
_WHOLE = re.compile(r"[+-]?\d+(?:[eE][+-]?\d+)?")


def decimal_comma_number(cell: str) -> bool:
    """Whether ``cell`` is one number with a decimal comma (``-9,514``, ``,5``, ``1,5e-3``), as a line of a
    one-column table in a decimal-comma locale is.

    Examples
    --------
    >>> [decimal_comma_number(cell) for cell in ("9,514", "-,5", "9,5,3", "9", "a,5")]
    [True, True, False, False, False]
    """
    return _DECIMAL_COMMA.fullmatch(cell) is not None


def _one_column_of_decimal_commas(sample: str) -> bool:
    """Whether a sample is a single column of numbers with decimal commas under a header, as a one-sensor sheet
    saved in a decimal-comma locale is (``flow`` / ``9,514``): no delimiter at all, so the sniffer took each comma
    for one. The first line is a name holding no comma; every other complete line (comments and blank lines
    aside; quoted or not) is a missing value, a whole number or a number with one decimal comma, and one at least is
    the last; no line holds a ``;``, tab or ``|``. Without a header nothing says there is one column (``9,514`` may
    be two whole numbers).
    """
    if any(delimiter in sample for delimiter in DELIMITERS[1:]):
        return False
    lines = [line.strip() for line in sample.split("\n")[:-1][:_MARK_LINES]]
    lines = [line for line in lines if line and not is_comment(line)]
    if len(lines) < 2:
        return False
    name = lines[0].strip('"').strip()
    if not name or "," in name or _DECIMAL_COMMA.fullmatch(name) or _WHOLE.fullmatch(name):
        return False
    # a cell quoted whole is read without its quotes (an export that quotes every cell: "flow" / "9,514")
    rows = [row[1:-1].strip() if len(row) > 1 and row[0] == row[-1] == '"' else row for row in lines[1:]]
    return any(_DECIMAL_COMMA.fullmatch(row) for row in rows) and all(
        _is_missing(row) or _DECIMAL_COMMA.fullmatch(row) or _WHOLE.fullmatch(row) for row in rows)


#: a cell that is a number with a decimal point (``12.019``, ``1.2e+01``, ``-.5``)
_POINT_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _space_separated(sample: str) -> bool:
    r"""Whether a sample's columns are separated by spaces (``numpy.savetxt``'s default): no line holds a
    delimiter, and every complete line after the first (comments and blank lines aside; the first may be a header)
    is two or more numbers (or missing values) with spaces between them.

    Examples
    --------
    >>> _space_separated("a b\n1.5 2\n3 4\n"), _space_separated("flow rate\n 1.5 \n2\n")
    (True, False)
    """
    lines = [line.strip() for line in sample.split("\n")[:-1][:_MARK_LINES]]
    lines = [line for line in lines if line and not is_comment(line)]
    if len(lines) < 2 or any(delimiter in line for line in lines for delimiter in DELIMITERS):
        return False
    rows = [_SPACED_CELL.findall(line) for line in lines[1:]]  # R's write.table quotes its row names: "1" 0.5 2
    return all(len(cells) >= 2 and all(_POINT_NUMBER.fullmatch(cell.strip('"')) or _is_missing(cell) for cell in cells)
               for cells in rows)


def sniff_delimiter(sample: str, suffix: str = "") -> str:
    """The field delimiter of a table (one of ``DELIMITERS``) from a sample of its text; ``","`` when unclear
    (spaces between numbers too: a stream's line of them is a malformed record, not an error)."""
    return _dialect(_line_feeds(sample), suffix.lower())[0].delimiter
