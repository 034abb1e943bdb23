"""The cells of a table read as numbers: missing-value tokens, booleans, and numbers with a decimal point or a decimal
comma.

A boolean word (``true`` or ``false``, in any case: pandas writes a column of bools as ``True``/``False``) is the
number 1 or 0 wherever a number is read (:data:`BOOLEANS`), as InfluxDB reads a boolean field and pandas a bool.

A file uses one decimal mark; a cell that is not a number is told with its line and column (:func:`_not_a_number`).
Shared by the table reader (:mod:`tsae.io.tables`) and the stream record parser (:mod:`tsae.io.records`).
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

import numpy as np

from tsae import _interrupts as interrupts
from tsae.io.table_plain import PlainBlock, PlainColumn

#: cells that are missing values (compared lower-case): spreadsheets' formula errors (``#DIV/0!``, ``#VALUE!``) are
MISSING = {"", "na", "nan", "null", "none", "n/a", "?", "-", "#n/a", "missing",
           "#div/0!", "#value!", "#ref!", "#name?", "#num!", "#null!"}


#: cells that are booleans (compared lower-case), read as the numbers 1 and 0
BOOLEANS = {"true": 1.0, "false": 0.0}


def boolean(text: str) -> float | None:
    """A (stripped) cell's number when it is a boolean word (:data:`BOOLEANS`), else None.

    Examples
    --------
    >>> boolean("True"), boolean("FALSE"), boolean("t"), boolean("1")
    (1.0, 0.0, None, None)
    """
    return BOOLEANS.get(text.lower()) if len(text) in (4, 5) else None


def _is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING


def is_comment(text: str) -> bool:
    """Whether a line (or a row's first cell) is a ``#`` comment; a spreadsheet's formula error there (``#N/A``,
    ``#DIV/0!``, up to the first delimiter) begins a row with a missing value, not a comment."""
    text = text.lstrip()
    return text.startswith("#") and not _is_missing(re.split(r"[,;\t|]", text, maxsplit=1)[0])


def _as_float(cell: str, decimal: str | None) -> float:
    """A cell's number with the decimal mark ``decimal`` (``"."`` or ``","``; None: either); ValueError if none.

    With ``","`` a cell holding a point is not a number (decimal marks are not mixed in a file). A boolean word is 1
    or 0 (:func:`boolean`).
    """
    flag = boolean(cell.strip())
    if flag is not None:
        return flag
    if decimal is not None and (decimal == "," and "." in cell or decimal == "." and "," in cell):
        raise ValueError(cell)
    return float(cell.replace(",", ".", 1) if decimal != "." and "." not in cell else cell)


def _floats(cells: Sequence[str], decimal: str = ".", compiled: bool = False,
            booleans: bool = True) -> np.ndarray | tuple[int, str]:
    """The cells as float64 (missing ones NaN), or ``(index, text)`` of the first cell that is not a number.

    ``decimal`` is the file's decimal mark (see :func:`_decimal_mark`). ``compiled``: read plain decimal cells with
    the numba kernel (:func:`_compiled_floats`; the same float64 bits), worth loading numba for a long table only.
    ``booleans``: a boolean word is 1 or 0 (else it is told as no number, as a time column's is; only the cells
    ``float()`` refuses are looked at, so a column of plain numbers costs the same).
    """
    if compiled or isinstance(cells, PlainColumn) and cells.block.read:
        values = _compiled_floats(cells, decimal, booleans)
        if values is not None:
            return values
    if isinstance(cells, PlainColumn):
        cells = cells.cells()  # a list: numpy reads a sequence of another type a cell at a time
    arr = _stripped(cells)
    with contextlib.suppress(ValueError):
        # no cell missing, or only "nan"s, which float() reads as NaN (as missing cells are): the time it took to
        # look for missing cells one by one in every chunk was a third of the time to read a table
        return _numbers(arr, decimal)
    arr = ["nan" if cell.lower() in MISSING else _boolean_text(cell) if booleans else cell for cell in arr]
    try:
        return _numbers(arr, decimal)
    except ValueError:
        for i, cell in enumerate(arr):
            if not booleans and boolean(cell) is not None:
                return i, cell
            try:
                _as_float(cell, decimal)
            except ValueError:
                return i, cell
        raise


def _boolean_text(cell: str) -> str:
    """A (stripped) cell as ``float()`` reads it: a boolean word as ``"1"`` or ``"0"``, any other as it is."""
    flag = boolean(cell)
    return cell if flag is None else "1" if flag else "0"


def _compiled_floats(cells: Sequence[str], decimal: str, booleans: bool = True) -> np.ndarray | None:
    """The cells as float64 as :func:`_floats` reads them, plain decimal ones by a compiled loop
    (:func:`~tsae.io._number_kernels.decimal_cells`) and the others by ``float()`` as ever; None when a cell is not a
    number (a boolean word without ``booleans``: the caller then finds and tells the first one), or the cells are not
    ASCII, hold a line feed or a NUL.
    """
    if isinstance(cells, PlainColumn):  # read from its chunk's text, not split into cells
        values, slow = cells.block.numbers(cells.j, decimal)
    else:
        joined = "\n".join(cells)
        if not cells or not joined.isascii() or joined.count("\n") != len(cells) - 1 or "\x00" in joined:
            return None
        block = PlainBlock(joined, "\n", 1, len(cells), lambda text: [list(cells)])
        values, slow = block.numbers(0, decimal)
    if slow.any():
        for i in np.flatnonzero(slow).tolist():
            cell = cells[i].strip()
            if cell.lower() in MISSING:
                values[i] = np.nan
                continue
            flag = boolean(cell)
            if flag is not None:
                if not booleans:
                    return None
                values[i] = flag
                continue
            if decimal == ",":
                if "." in cell:
                    return None
                cell = cell.replace(",", ".")
            try:
                values[i] = float(cell)
            except ValueError:
                return None
    return values


def _stripped(cells: Sequence[str]) -> Sequence[str]:
    """The cells without the whitespace around them: the cells themselves when none holds whitespace."""
    joined = "".join(cells)
    if not joined or joined.split(None, 1) == [joined]:
        return cells
    return [cell.strip() for cell in cells]


def _numbers(cells: Sequence[str], decimal: str) -> np.ndarray:
    """float64 of stripped cells, each read by ``float()``; ValueError if one is not a number. With ``decimal``
    ``","`` no cell holds a point, and each comma is one. A cell's trailing NULs are no part of it (numpy's str
    arrays, through which cells were read, drop them)."""
    joined = "".join(cells)
    if "\x00" in joined:
        cells = [cell.rstrip("\x00") for cell in cells]
    if decimal == ",":
        if "." in joined:
            raise ValueError("a decimal point")
        cells = [cell.replace(",", ".") for cell in cells]
    before = interrupts.count()
    # an object array: numpy casts each str by float(), as it casts a str array, in a quarter of the time
    values = np.array(cells, dtype=object).astype(np.float64)
    interrupts.raise_lost(before)  # numpy's cast can drop a Ctrl-C raised inside it
    return values


#: whole numbers from this magnitude on are not all float64 numbers: 2**53 + 1 is read as 2**53
EXACT_WHOLE = 2.0**53


def _rounded_wholes(cells: Sequence[str], values: np.ndarray) -> tuple[int, int]:
    """``(how many cells of whole-number text float64 could not hold, and so rounded in `values`, the first's index
    or -1)``: cells of digits beyond :data:`EXACT_WHOLE` (a 64-bit counter's), not those in exponent form, nor those
    beyond float64's range (read as infinite: an absurd cell, not a rounded one; Python refuses ``int()`` of over
    4300 digits).

    Examples
    --------
    >>> cells = ["9007199254740993", "9007199254740994", "1e17", "-9007199254740995", "7"]
    >>> _rounded_wholes(cells, np.array([float(c) for c in cells]))
    (2, 0)
    """
    count, first = 0, -1
    big = np.abs(values) >= EXACT_WHOLE
    if not big.any():  # (a wide table's columns are many, each a few cells)
        return count, first
    for i in np.flatnonzero(big & np.isfinite(values)).tolist():
        text = cells[i].strip().lstrip("+-")
        if text.isdigit() and int(text) != abs(int(values[i])):
            count += 1
            first = i if first < 0 else first
    return count, first


#: a column is numbers (not dates or text) when its first this many cells are, missing ones aside
_KIND_ROWS = 200


def _numeric_fraction(cells: Sequence[str], decimal: str | None = ".") -> float:
    """The share of the first :data:`_KIND_ROWS` cells, missing ones aside, that are numbers with the decimal mark
    ``decimal`` (:func:`_as_float`); 1.0 when all are missing."""
    head = cells[:_KIND_ROWS]
    if _all_floats(head, decimal):
        return 1.0
    seen = ok = 0
    for cell in head:
        if _is_missing(cell):
            continue
        seen += 1
        try:
            _as_float(cell.strip(), decimal)
            ok += 1
        except ValueError:
            pass
    return ok / seen if seen else 1.0


def _all_floats(cells: Sequence[str], decimal: str | None) -> bool:
    """Whether ``float`` reads every cell, each as :func:`_as_float` reads it with the mark ``decimal`` (a missing
    ``nan`` too, a number to both): a column of numbers judged at once, not cell by cell (False: judge them so)."""
    joined = "".join(cells)
    if "," in joined:
        if decimal == "." or "." in joined:  # a comma no number of this mark holds, or both marks: cell by cell
            return False
        cells = [cell.replace(",", ".", 1) for cell in cells]
    elif decimal == "," and "." in joined:
        return False
    try:
        for cell in cells:
            float(cell)
    except ValueError:
        return False
    return True


#: cells from which on :func:`numeric_columns`, and the table reader a chunk, reads them by a compiled loop (loading
#: numba, a third of a second, pays for itself)
COMPILED_FROM_CELLS = 1 << 20


def _is_float(cell: str, decimal: str | None) -> bool:
    """Whether :func:`_numeric_fraction` reads the cell as a number."""
    try:
        _as_float(cell.strip(), decimal)
    except ValueError:
        return False
    return True


def numeric_columns(columns: Sequence[Sequence[str]], decimal: str | None = ".") -> list[bool]:
    """Whether each column's first :data:`_KIND_ROWS` cells are numbers, missing ones aside: ``_numeric_fraction(
    column, decimal) == 1.0`` for each, a wide table's columns (100,000 of them) at once.

    Many cells (:data:`COMPILED_FROM_CELLS`) are read by the compiled loop
    (:func:`~tsae.io._number_kernels.decimal_cells`), which reads plain decimal cells with the mark ``decimal`` (a
    point when it is None) and leaves each other cell to :func:`_as_float`, as :func:`_numeric_fraction` reads it.
    """
    plain = columns[0].block if columns and isinstance(columns[0], PlainColumn) else None
    if (plain is not None and plain.rows <= _KIND_ROWS and len(columns) == plain.width
            and all(isinstance(column, PlainColumn) and column.block is plain and column.j == j
                    for j, column in enumerate(columns))):
        slow = plain.slow(decimal or ".")  # the block's columns, read from its text
        some = np.asarray(slow.any(axis=1), dtype=bool)
        numeric = [not flag for flag in some.tolist()]
        for j in np.flatnonzero(some).tolist():
            cells = columns[j]
            numeric[j] = all(_is_missing(cells[i]) or _is_float(cells[i], decimal)
                             for i in np.flatnonzero(slow[j]).tolist())
        return numeric
    heads = [column[:_KIND_ROWS] for column in columns]
    sizes = [len(head) for head in heads]
    if sum(sizes) >= COMPILED_FROM_CELLS:
        flat = [cell for head in heads for cell in head]
        joined = "\n".join(flat)
        if joined.isascii() and "\x00" not in joined and joined.count("\n") == len(flat) - 1:
            block = PlainBlock(joined, "\n", 1, len(flat), lambda text: [flat])
            _, slow = block.numbers(0, decimal or ".")
            numeric = [True] * len(heads)
            if slow.any():
                owner = np.repeat(np.arange(len(heads)), sizes)
                for i in np.flatnonzero(slow).tolist():
                    j = int(owner[i])
                    if numeric[j] and not _is_missing(flat[i]):
                        numeric[j] = _is_float(flat[i], decimal)
            return numeric
    return [_numeric_fraction(head, decimal) == 1.0 for head in heads]


def _first_mark(cells: Sequence[str]) -> tuple[int, str] | None:
    """``(index, mark)`` of the first cell holding a decimal mark (``"."`` or ``","``), or None."""
    for i, cell in enumerate(cells):
        if "." in cell:
            return i, "."
        if "," in cell:
            return i, ","
    return None


def _not_a_number(line: int, name: str, cell: str, decimal: str | None, commas: bool = False) -> str:
    """The error of a cell that is not a number; a number with the other decimal mark is told as such. ``commas``:
    the file is comma-separated, so its mark is a point whatever its numbers hold (a quoted ``"0,5"``)."""
    problem = f"line {line}, column {name!r}: not a number ({cell[:30]!r})"
    if commas:
        with contextlib.suppress(ValueError):
            _as_float(cell, ",")
            # a decimal comma or a thousands separator ("1,234"): the file's other numbers tell nothing about which
            problem += (": a comma in a number of a comma-separated file (decimal commas are read where cells are "
                        "separated by ; or tabs, thousands separators nowhere)")
    elif decimal is not None:
        other = "," if decimal == "." else "."
        with contextlib.suppress(ValueError):
            _as_float(cell, other)
            word = "comma" if decimal == "," else "point"
            problem += f": mixed decimal marks (the file's first decimal number has a decimal {word})"
    return problem
