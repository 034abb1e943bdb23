"""Numba kernel of the table reader: plain decimal cells read as float64 without a Python call per cell.

Private: :func:`tsae.io.table_cells._floats` hands it a column's cells (ASCII, joined by line feeds) and reads the
cells it leaves (``slow``) as it always did, with ``float()``. Imported on first use (long tables only), so reading a
short table does not load numba; compiled on the first call and cached on disk (:mod:`tsae.engine._numba_cache`).
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
def decimal_cells(text, mark, values, slow):  # pragma: no cover - compiled
    """Read the cells of ``text`` (uint8 ASCII, cells separated by line feeds) into ``values``; count, and flag in
    ``slow``, the cells left for ``float()``.

    A cell read here is ``[+-]digits[mark digits][(e|E)[+-]digits]`` (a digit before or after the decimal ``mark``),
    with spaces and tabs around it, or empty (NaN: missing). Its value is its digits as a whole number ``m`` times
    ``10**k``; read here only when ``m <= 2**53`` and ``|k| <= 22``, so that ``m`` and ``10**|k|`` are float64 numbers
    and one correctly rounded multiplication or division gives the float64 nearest the cell: what ``float()``
    (David Gay's correctly rounded conversion, whose own fast path this is) gives. Any other cell is ``slow``.
    """
    powers = _POWERS
    size = text.shape[0]
    pos = 0
    count = 0
    for i in range(values.shape[0]):
        end = pos
        while end < size and text[end] != 10:
            end += 1
        s = pos
        e = end
        pos = end + 1
        while s < e and (text[s] == 32 or text[s] == 9):
            s += 1
        while e > s and (text[e - 1] == 32 or text[e - 1] == 9):
            e -= 1
        if s == e:
            values[i] = np.nan
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
            slow[i] = True
            count += 1
            continue
        if m == 0:
            value = 0.0
        elif power >= 0:
            value = float(m) * powers[power]
        else:
            value = float(m) / powers[-power]
        values[i] = -value if negative else value
    return count
