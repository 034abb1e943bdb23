"""Plain decimal cells read by the compiled loop (tsae.io._number_kernels.decimal_cells, through
table_cells._floats(..., compiled=True)) are the float64 that float() reads, bit for bit; every other cell is read, or
refused with the same index and text, as the reader read it before (float() on the stripped cell, missing ones NaN)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from tsae.io import table_cells
from tsae.io._number_kernels import decimal_cells
from tsae.io.table_cells import MISSING

#: cells the compiled loop reads itself: each float()'s float64
PLAIN = ["0", "-0", "+0", "0.0", "-0.0", "1", "+1", "-1", ".5", "5.", "-.5", "+5.", "0.1", "0.3", "-2.675",
         "123.456", "1e22", "1E-22", "-3.25e+2", "7e0", "0e999999", "-0e-999999", "  7  ", "\t-3.25e+2 ",
         "9007199254740992", "-9007199254740992", "900719925474099.2", "0.0000000000000000000001",
         "00000000000000000000000000001.5", "123456789012345e-22", "4503599627370497e5", "12.019",
         "0.3000000000000004"]
#: cells left to float() (or refused): beyond the loop's exact range, or not its plain decimals
ODD = ["0.000000000000000000000000000000001", "1.7976931348623157", "2.2250738585072014", "0.30000000000000004",
       "9007199254740993", "-9007199254740993", "1e23", "1e-23", "2.2250738585072014e-308", "4.9e-324", "5e-324",
       "2.4703282292062327e-324", "1.7976931348623157e308", "1.7976931348623159e308", "1e400", "-1e400", "1e-400",
       "0.1000000000000000055511151231257827", "12345678901234567890", "1_000", "1__0", "_1", "1_", "1_000.5",
       "infinity", "-Infinity", "inf", "nan", "-nan", "NaN", "0x10", "1e", "e5", ".", "+", "-", ".e1", "1.2.3",
       "1,5", "1.234,5", "1,234.5", "--1", "+-1", "1e+-5", "1 2", " 1.5\x0b", "\x1c2\x1f", "\u0661\u0662", "\uff11.5",
       "\xa01\u2003", "", " ", "NA", "n/a", "#N/A", "null", "None", "#DIV/0!", "?", "abc", "1\x00", "1\n2"]


def reference(cells: Sequence[str], decimal: str) -> np.ndarray | tuple[int, str]:
    """The cells as the reader reads them: float() on each stripped cell (trailing NULs dropped; a decimal comma as
    a point), missing ones NaN; or ``(index, stripped text)`` of the first that float() refuses (NULs kept)."""

    def number(cell: str) -> float:
        if cell.lower() in MISSING:
            return float("nan")
        if decimal == "," and "." in cell:
            raise ValueError(cell)
        return float(cell.replace(",", ".") if decimal == "," else cell)

    stripped = [cell.strip() for cell in cells]
    try:
        return np.array([number(cell.rstrip("\x00")) for cell in stripped], dtype=np.float64)
    except ValueError:
        for i, cell in enumerate(stripped):
            try:
                number(cell)
            except ValueError:
                return i, cell
        raise


def same(a: np.ndarray | tuple[int, str], b: np.ndarray | tuple[int, str]) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return a == b
    return a.tobytes() == b.tobytes()  # NaNs and signed zeros too


def compiled(cells: Sequence[str], mark: str, width: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(values, slow)`` of the compiled loop on ``cells`` (as many as ``width`` divides), in lines of ``width``
    cells (width 1: cells joined by line feeds, as table_cells._floats joins a column)."""
    delimiter = "\n" if width == 1 else "," if mark == "." else ";"
    lines = [delimiter.join(cells[i: i + width]) for i in range(0, len(cells), width)]
    values, slow = np.full((width, len(lines)), -1.0), np.zeros((width, len(lines)), dtype=bool)
    text = np.frombuffer("\n".join(lines).encode("ascii"), dtype=np.uint8)
    decimal_cells(text, ord(delimiter), ord(mark), values, slow)
    return values.T.ravel(), slow.T.ravel()  # in the order of the cells


@pytest.mark.parametrize("decimal", [".", ","])
@pytest.mark.parametrize("width", [1, 5])
def test_plain_cells_are_read_by_the_loop_as_float_reads_them(decimal, width) -> None:
    cells = [cell.replace(".", decimal) for cell in PLAIN][: len(PLAIN) // width * width]
    values, slow = compiled(cells, decimal, width)
    assert not slow.any(), [cell for cell, s in zip(cells, slow, strict=True) if s]
    want = np.array([float(cell.replace(",", ".")) for cell in cells])
    assert values.tobytes() == want.tobytes(), [c for c, v, w in zip(cells, values, want, strict=True) if v != w]


@pytest.mark.parametrize("width", [1, 2])
def test_odd_cells_are_left_to_float(width) -> None:
    ascii_cells = [cell for cell in ODD if cell.isascii() and not {"\n", ","} & set(cell) and cell.strip(" \t")]
    ascii_cells = ascii_cells[: len(ascii_cells) // width * width]
    values, slow = compiled(ascii_cells, ".", width)
    assert slow.all(), [cell for cell, s in zip(ascii_cells, slow, strict=True) if not s]
    values, slow = compiled(["", " ", "  ", "\t"], ".", width)
    assert np.isnan(values).all() and not slow.any()  # empty cells are missing


@pytest.mark.parametrize("decimal", [".", ","])
def test_each_cell_beside_plain_ones_is_read_as_before(decimal) -> None:
    for cell in PLAIN + ODD:
        for cells in ([cell], ["2.5", cell, "-1"], [cell, cell, "3", "", "NA"]):
            cells = [c.replace(".", ",") if decimal == "," and c in PLAIN else c for c in cells]
            got = table_cells._floats(cells, decimal, compiled=True)
            assert same(got, reference(cells, decimal)), (cells, got)
            assert same(got, table_cells._floats(cells, decimal)), cells


@pytest.mark.parametrize("decimal", [".", ","])
def test_random_numbers_in_many_formats_are_float_bit_for_bit(decimal) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal(4000) * 10.0 ** rng.integers(-40, 40, 4000)
    x[:20] = [0.0, -0.0, 2.0**53, 2.0**53 + 2, 5e-324, 1e-310, 1.7976931348623157e308, 0.1, 1 / 3, -2 / 3,
              1e22, 1e23, 9.999999999999999e22, 123456789.0, 0.5, 2.5, 1e-5, 1e15, 1e16, 1e17]
    for fmt in ("%.5f", "%.17g", "%.15g", "%r", "%.3e", "%.22f", "%.1f", "%d"):
        cells = [fmt % v if fmt != "%d" or abs(v) < 1e30 else "1" for v in x]
        cells = [cell.replace(".", ",") for cell in cells] if decimal == "," else cells
        got = table_cells._floats(cells, decimal, compiled=True)
        assert same(got, reference(cells, decimal)), fmt


def test_a_cell_that_is_not_a_number_is_told_as_before() -> None:
    cells = ["1.5", "2", "", "x1", "nan", "y"]
    assert table_cells._floats(cells, ".", compiled=True) == (3, "x1") == table_cells._floats(cells, ".")
    commas = ["1,5", "2,0", "2.5"]  # a point in a file of decimal commas
    assert table_cells._floats(commas, ",", compiled=True) == (2, "2.5") == table_cells._floats(commas, ",")
