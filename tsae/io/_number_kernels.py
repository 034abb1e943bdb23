"""Numba kernels of the table reader: plain lines told, and their plain decimal cells read as float64, without a
Python call per line or cell.

Private: :func:`tsae.io.tables._plain_lines` asks :func:`plain_lines` whether lines are plain;
:func:`tsae.io.table_cells._floats` hands :func:`decimal_cells` a chunk's text (or a column's cells joined by line
feeds) and reads the cells it leaves (``slow``) as it always did, with ``float()``. Imported on first use (long tables
only, :data:`tsae.io.tables.COMPILED_FROM_ROW`), so reading a short table does not load numba; compiled on the first
call and cached on disk (:mod:`tsae.engine._numba_cache`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from tsae.engine import _numba_cache

_numba_cache.install()  # before the decorator: numba picks the kernel's cache folder there

#: 10**0 .. 10**22, each exactly a float64
_POWERS = np.array([10.0**k for k in range(23)])
#: the largest whole number below which every whole number is a float64
_EXACT = 1 << 53


@njit(cache=True, nogil=True)
def decimal_cells(text, delimiter, mark, values, slow):  # pragma: no cover - compiled
    """Read the cells of ``text`` (uint8 ASCII: lines of cells separated by the ``delimiter`` byte, each line ending in
    a line feed but perhaps the last) into ``values`` (float64 ``(width, rows)``, a column a row, as many cells as it
    holds); count, and flag in ``slow`` (bool, its shape), the cells left for ``float()``.

    A cell read here is ``[+-]digits[mark digits][(e|E)[+-]digits]`` (a digit before or after the decimal ``mark``),
    with spaces and tabs around it, or empty (NaN: missing). Its value is its digits as a whole number ``m`` times
    ``10**k``; read here only when ``m <= 2**53`` and ``|k| <= 22``, so that ``m`` and ``10**|k|`` are float64 numbers
    and one correctly rounded multiplication or division gives the float64 nearest the cell: what ``float()``
    (David Gay's correctly rounded conversion, whose own fast path this is) gives. Any other cell is ``slow``.
    """
    powers = _POWERS
    width = values.shape[0]
    size = text.shape[0]
    pos = 0
    count = 0
    j = -1
    i = 0
    for _ in range(values.shape[0] * values.shape[1]):
        j += 1
        if j == width:
            j = 0
            i += 1
        end = pos
        while end < size and text[end] != 10 and text[end] != delimiter:
            end += 1
        s = pos
        e = end
        pos = end + 1
        while s < e and (text[s] == 32 or text[s] == 9):
            s += 1
        while e > s and (text[e - 1] == 32 or text[e - 1] == 9):
            e -= 1
        if s == e:
            values[j, i] = np.nan
            continue
        negative = text[s] == 45
        if negative or text[s] == 43:
            s += 1
        m = 0
        digits = 0
        fraction = 0
        ok = True
        while s < e and 48 <= text[s] <= 57:
            m = m * 10 + (text[s] - 48)
            digits += 1
            s += 1
            if m > _EXACT:
                ok = False
                break
        if ok and s < e and text[s] == mark:
            s += 1
            while s < e and 48 <= text[s] <= 57:
                m = m * 10 + (text[s] - 48)
                digits += 1
                fraction += 1
                s += 1
                if m > _EXACT:
                    ok = False
                    break
        ok = ok and digits > 0
        exponent = 0
        if ok and s < e and (text[s] == 101 or text[s] == 69):
            s += 1
            below = False
            if s < e and (text[s] == 45 or text[s] == 43):
                below = text[s] == 45
                s += 1
            exponent_digits = 0
            while s < e and 48 <= text[s] <= 57:
                if exponent < 100000:
                    exponent = exponent * 10 + (text[s] - 48)
                exponent_digits += 1
                s += 1
            ok = exponent_digits > 0
            if below:
                exponent = -exponent
        power = exponent - fraction
        if not ok or s != e or (m != 0 and not -22 <= power <= 22):
            slow[j, i] = True
            count += 1
            continue
        if m == 0:
            value = 0.0
        elif power >= 0:
            value = float(m) * powers[power]
        else:
            value = float(m) / powers[-power]
        values[j, i] = -value if negative else value
    return count


@njit(cache=True, nogil=True)
def plain_lines(codes, delimiter, width, limit, spaces):  # pragma: no cover - compiled
    """Whether each line of ``codes`` (uint8 ASCII, each line ending in a line feed) has ``width - 1`` ``delimiter``
    bytes, a byte neither the delimiter nor whitespace (``spaces[byte]``), and cells shorter than ``limit`` (a wide
    table's line of 100,000 cells is longer than ``csv``'s limit of a cell)."""
    count = 0
    solid = False
    cell = 0
    for p in range(codes.shape[0]):
        c = codes[p]
        if c == 10:
            if count != width - 1 or not solid or p - cell >= limit:
                return False
            count = 0
            solid = False
            cell = p + 1
        elif c == delimiter:
            if p - cell >= limit:
                return False
            count += 1
            cell = p + 1
        elif not spaces[c]:
            solid = True
    return True


@njit(cache=True, nogil=True)
def column_bounds(codes, delimiter, width, j, starts, stops):  # pragma: no cover - compiled
    """Where the cells of column ``j`` start and stop in ``codes`` (uint8 ASCII: lines of ``width`` cells separated
    by the ``delimiter`` byte, each ending in a line feed), into ``starts`` and ``stops`` (int64, a line each); the
    lines found (fewer than ``starts`` holds when the text ends early)."""
    line = 0
    cell = 0
    start = 0
    for p in range(codes.shape[0]):
        c = codes[p]
        if c == delimiter or c == 10:
            if cell == j and line < starts.shape[0]:
                starts[line] = start
                stops[line] = p
            start = p + 1
            if c == 10:
                line += 1
                cell = 0
            else:
                cell += 1
    return line
