"""LabVIEW measurement files (``.lvm``, text): read as the table their rows make.

An ``.lvm`` file opens with a header block (``LabVIEW Measurement``, writer settings, ``***End_of_Header***``), then
each segment of data has its own header block (``Channels``, ``Samples``, ``Delta_X`` ..., perhaps ``Notes`` or the
unit under test before them, ``***End_of_Header***``) followed by a line of column names (``X_Value``, one per
channel, ``Comment``) and the rows, tab-separated by default. :func:`labview_lines` turns such a file into the lines
of a plain table: the header blocks, and a later segment's repeated names, become blank lines (which the table
reader skips, so every line keeps its number in messages), and the ``Comment`` column LabVIEW writes after the
channels (per-row notes: a row has the cell only when it has a note, or its separator, empty) is cut off. A line
``LabVIEW Measurement`` later on (files joined by ``cat``) starts a header block as a segment's does. ``X_Value``,
the x axis (time, by default), is then the table's time column (:data:`~tsae.io.table_columns.TIME_NAMES`). A
segment with other columns than the first's is an error: the rows would not be one table. A file with an X column
before each channel (``X_Columns Multi``) keeps the first: a row whose X values differ is an error.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

#: the first line of every LabVIEW measurement file
LABVIEW_MARK = "LabVIEW Measurement"
#: the line that ends each header block
HEADER_END = "***End_of_Header***"
#: the name of the x axis' column
X_NAME = "X_Value"
#: the first cell of a segment's header block (its first entry, the number of channels)
SEGMENT_START = "Channels"
#: the entries a segment's header block may open with (NI's LVM specification: notes, test and unit under test
#: before ``Channels``); not ``Date`` or ``Time``, which a file without an X column may name its first channel
SEGMENT_KEYS = frozenset({SEGMENT_START, "Notes", "Test_Name", "Test_Numbers", "Test_Series", "UUT_Name",
                          "UUT_Part_Number", "UUT_Serial_Number"})


class LabviewTabs(csv.excel_tab):
    """The dialect of a tab-separated LabVIEW measurement file (read through :func:`labview_lines`)."""


class LabviewCommas(csv.excel):
    """The dialect of a comma-separated LabVIEW measurement file (``Separator Comma``; read through
    :func:`labview_lines`)."""


def labview_dialect(sample: str) -> type[csv.Dialect] | None:
    r"""The dialect of a LabVIEW measurement file from a sample of its text (its first line is ``LabVIEW
    Measurement``), or None for any other text.

    Examples
    --------
    >>> labview_dialect("LabVIEW Measurement\t\nWriter_Version\t2\nSeparator\tTab\n").__name__
    'LabviewTabs'
    >>> labview_dialect("LabVIEW Measurement,\nSeparator,Comma\n").__name__, labview_dialect("time,flow\n")
    ('LabviewCommas', None)
    """
    first = sample.lstrip("\ufeff").split("\n", 1)[0]
    if not first.startswith(LABVIEW_MARK):
        return None
    for line in sample.split("\n")[:64]:
        cells = [cell.strip() for cell in line.replace(",", "\t").split("\t")]
        if cells[0] == "Separator" and len(cells) > 1:
            return LabviewCommas if cells[1].lower() == "comma" else LabviewTabs
    return LabviewCommas if first[len(LABVIEW_MARK):].startswith(",") else LabviewTabs


class LabviewError(ValueError):
    """A LabVIEW measurement file that is no one table (the reader names the file before the message)."""


def labview_lines(lines: Iterable[str], dialect: Any) -> Iterator[str]:
    """The lines of a LabVIEW measurement file as a plain table's (see the module notes); ``dialect`` is
    :func:`labview_dialect`'s. Every input line gives one output line (a header's as a blank line).

    Raises
    ------
    LabviewError
        A segment whose column names are not the first segment's (other channels, or in another order), at the
        line of its names; a file of header blocks alone.
    """
    separator = dialect.delimiter
    names: tuple[str, ...] | None = None  # the first segment's column names, without Comment
    width = 0  # the cells of the names line, Comment among them (0: no Comment column)
    in_header = True  # the file's header block, then each segment's
    fresh = False  # right after a segment's header block: its names line comes (perhaps after blank lines)
    rows = False  # a line not blank was given
    x_columns: list[int] = []  # the X_Value columns, when several (X_Columns Multi: one before each channel)
    for number, line in enumerate(lines, 1):
        body = line.rstrip("\r\n")
        end = line[len(body):] or "\n"
        first = body.split(separator, 1)[0].strip()
        if in_header:
            if first == HEADER_END:
                in_header, fresh = False, True
            yield end
            continue
        if first in SEGMENT_KEYS or first == LABVIEW_MARK:  # a segment's header block (a file's, cat-ed on), to its end
            in_header = True
            yield end
            continue
        if not body.replace(separator, "").strip():  # a blank line, or one of empty cells (",,," in a comma file)
            yield end
            continue
        cells = body.split(separator)
        if fresh and not all(_number(cell) for cell in cells):
            if names is None:
                width = len(cells) if cells[-1].strip() == "Comment" and len(cells) > 1 else 0
                names = _names(cells)
                x_columns = [j for j, name in enumerate(names) if name == X_NAME]
            elif _names(cells) == names:  # a later segment's names, the same as the first's
                yield end
                fresh = False
                continue
            else:
                raise LabviewError(f"line {number}: a segment's columns ({', '.join(_names(cells))}) are not the "
                                   f"first segment's ({', '.join(names)}): save each as its own file")
        named, fresh, rows = fresh, False, True
        if width and len(cells) == width:  # LabVIEW writes a row's Comment cell only when it has one (or empty)
            cells.pop()
        if len(x_columns) > 1:
            if not named:
                _same_x(cells, x_columns, number)
            cells = [cell for j, cell in enumerate(cells) if j not in x_columns[1:]]
        yield separator.join(cells) + end
    if not rows:  # (the reader would tell an empty file)
        raise LabviewError("no data rows, only LabVIEW header blocks" if not in_header else
                           f"no data rows: its header has no {HEADER_END} line where it ends (a file cut short?)")


def _same_x(cells: list[str], x_columns: list[int], number: int) -> None:
    """Check that a row's X values (its ``x_columns``) are one, or empty: the time of all its channels."""
    xs = {cells[j].strip() for j in x_columns if j < len(cells) and cells[j].strip()}
    if len(xs) > 1 and len({float(x.replace(",", ".")) if _number(x) else x for x in xs}) > 1:
        raise LabviewError(f"line {number}: the channels' X values differ ({', '.join(sorted(xs))}): save the "
                           "channels with one X column (X_Columns One)")


def _names(cells: list[str]) -> tuple[str, ...]:
    """A names line's cells without LabVIEW's Comment column (and empty cells after the names)."""
    names = [cell.strip() for cell in cells]
    while names and names[-1] in ("", "Comment"):
        names.pop()
    return tuple(names)


def _number(cell: str) -> bool:
    """Whether a cell is a number (a decimal point or comma) or empty, as a data row's cells are."""
    text = cell.strip()
    if not text:
        return True
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True
