"""Cells read as numbers by float() on an object array (table_cells._floats) are the doubles numpy's str cast gave."""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pytest

from tsae.io import table_cells
from tsae.io.table_cells import MISSING, _as_float


def reference_floats(cells: Sequence[str], decimal: str = ".") -> np.ndarray | tuple[int, str]:
    """The cells as float64 as the reader read them before: each stripped in Python, missing ones "nan", then
    numpy's str cast."""
    arr = np.array([c.strip() for c in cells], dtype=object)
    missing = np.array([c.lower() in MISSING for c in arr], dtype=bool)
    arr[missing] = "nan"
    try:
        text = arr.astype(str)
        if decimal == ",":
            if (np.char.find(text, ".") >= 0).any():
                raise ValueError("a decimal point")
            text = np.char.replace(text, ",", ".")
        return np.asarray(text, dtype=np.float64)
    except ValueError:
        for i, cell in enumerate(arr):
            try:
                _as_float(cell, decimal)
            except ValueError:
                return i, str(cell)
        raise


def same_floats(a: np.ndarray | tuple[int, str], b: np.ndarray | tuple[int, str]) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return a == b
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()  # NaNs and signed zeros too


ODD_CELLS = ["1", " 1.5 ", "\t-2\t", "+3", "-0", "0", "1e400", "-1e400", "1e-400", "1.7976931348623157e308",
             "4.9e-324", "9007199254740993", "1_000", "1__0", "_1", "0x10", "nan", "NaN", "-nan", "inf", "-Infinity",
             "", " ", "NA", "n/a", "N/A", "#N/A", "?", "-", "None", "MISSING", "#DIV/0!", "null", "1,5", "1.234,5",
             "1,234.5", ",", ".", "1.", ".5", "e5", "5e", "abc", "1\x00", "\x001", "1 \x00", "\x0b1\x1c", "\xa01\u2003",
             "\u0130", "n\u0130l", "\uff11\uff12", "\u0661", "1 2", "12.019"]


@pytest.mark.parametrize("decimal", [".", ","])
def test_cells_are_the_numbers_numpys_str_cast_gave(decimal) -> None:
    rng = np.random.default_rng(7)
    cases = [[cell] for cell in ODD_CELLS] + [ODD_CELLS]
    cases += [[str(c) for c in rng.choice(ODD_CELLS, size=int(rng.integers(1, 6)))] for _ in range(3000)]
    cases += [[cell + other for cell, other in zip(rng.choice(ODD_CELLS, 4), rng.choice(ODD_CELLS, 4), strict=True)]
              for _ in range(3000)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's str cast told some overflows ("1.0e309")
        different = [cells for cells in cases
                     if not same_floats(table_cells._floats(cells, decimal), reference_floats(cells, decimal))]
    assert not different, different[:5]


def test_cells_with_whitespace_in_one_are_all_stripped() -> None:
    values = table_cells._floats(["1", " 2", "3\t", "\x0c4"])
    assert isinstance(values, np.ndarray) and values.tolist() == [1, 2, 3, 4]
    assert table_cells._floats(["1", " x "]) == (1, "x")

