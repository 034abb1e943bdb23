"""The table writer's block formatting (rows_text) writes what the csv writer writes of the cells time_cells makes."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from tsae.io import table_write
from tsae.io.table_write import ColumnFormat, column_format, open_table_writer, rows_text, time_cells

#: floats whose text is easy to get wrong: signed zero, subnormals, the switch to exponents at 1e16 and 1e-4,
#: integers as floats, the largest float, float32 values as float64
TRICKY = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 5e-324, 2.2250738585072014e-308, 1e16,
                   9999999999999998.0, 1e16 + 2, 1e22, 123456789012345678.0, 2.0**63, 1.7976931348623157e308,
                   1e-4, 9.999999999999999e-05, 1e-5, 0.1, 1 / 3, 2.0, -7.0, 1e15, 100.0, 0.5,
                   float(np.float32(0.1)), float(np.float32(1 / 3))])


def _reference(columns: list[np.ndarray], formats: list[ColumnFormat], utc: bool = False,
               delimiter: str = ",") -> str:
    """The rows as the table writer wrote every block before rows_text: time_cells of each column, by csv.writer."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    cells = [time_cells(column, unit, utc=utc and not j)
             for j, (column, unit) in enumerate(zip(columns, formats, strict=True))]
    writer.writerows(zip(*cells, strict=True))
    return out.getvalue()


def _check(columns: list[np.ndarray], formats: list[ColumnFormat], utc: bool = False, delimiter: str = ",") -> str:
    text = rows_text(columns, formats, time_utc=utc, delimiter=delimiter)
    assert text == _reference(columns, formats, utc, delimiter)
    return text


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_tricky_floats_are_written_as_the_csv_writer_writes_them(delimiter: str) -> None:
    n = len(TRICKY)
    with np.errstate(over="ignore"):  # the largest floats are inf as float32
        single = TRICKY.astype(np.float32)
    text = _check([TRICKY, TRICKY[::-1].copy(), np.arange(n) % 2, single], [None] * 4,
                  delimiter=delimiter)
    first = [line.split(delimiter)[0] for line in text.splitlines()]
    assert first[:6] == ["", "inf", "-inf", "0.0", "-0.0", "1e-300"]
    assert first[9:11] == ["1e+16", "9999999999999998.0"]


def test_random_bit_patterns_are_written_as_numpy_writes_them() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**64, 20_000, dtype=np.uint64).view(np.float64)  # every exponent, NaNs among them
    scaled = 10.0 ** rng.uniform(-20, 20, 20_000) * rng.choice([-1.0, 1.0], 20_000)
    _check([values, scaled], [None, None])


def test_whole_number_times_dates_and_integers() -> None:
    times = np.array([0.0, np.nan, 1709251200000000000.0, -3.0, np.inf, 2.0**62])
    dates = np.array(["2024-01-01T00:00:00", "NaT", "2024-01-01T00:00:00.250", "1969-12-31T23:59:59.5",
                      "2024-02-29T12:00:00", "2262-04-11T23:47:16"], "datetime64[ns]")
    flags = np.array([0, 1, 1, 0, 1, 0], np.int64)
    big = np.array([2**64 - 1, 0, 1, 2, 3, 4], np.uint64)
    truth = np.array([True, False, True, True, False, False])
    assert column_format([times], time=True) == "int"
    assert _check([times, flags, big, truth], ["int", None, None, None]).splitlines()[:3] == [
        "0,0,18446744073709551615,True", ",1,0,False", "1709251200000000000,1,1,True"]
    unit = column_format([dates], time=True)
    text = _check([dates, TRICKY[:6], flags], [unit, None, None], utc=True)
    assert text.splitlines()[:2] == ["2024-01-01T00:00:00.000Z,,0", ",inf,1"]
    _check([dates, dates], [unit, "s"])  # a second column of dates never gets the Z


@pytest.mark.parametrize("column", [np.array([np.nan, 1.5, np.nan]), np.array(["NaT", "2024-01-01"], "datetime64[s]")])
def test_a_lone_empty_cell_is_quoted_as_the_csv_writer_quotes_it(column: np.ndarray) -> None:
    text = _check([column], [column_format([column])])
    assert text.splitlines()[0] == '""'  # an empty line would be no row to a reader


def test_text_and_complex_columns_are_left_to_the_csv_writer() -> None:
    assert rows_text([np.array([1.0]), np.array(["a,b"])], [None, None]) is None
    assert rows_text([np.array([1 + 2j])], [None]) is None


def test_a_table_with_a_text_column_is_written_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_write, "WRITE_ROWS", 2)  # blocks of numbers and text alike
    columns = [TRICKY[:5], np.array(["x", "a,b", 'say "hi"', "", "z"]), np.arange(5)]
    with open_table_writer(tmp_path / "t.csv", ["a", "b", "c"], [None] * 3) as table:
        table.write(columns)
        table.write([TRICKY[5:10], TRICKY[5:10], np.arange(5)])  # a block of numbers only after it
    expected = "a,b,c\n" + _reference(columns, [None] * 3) + _reference([TRICKY[5:10], TRICKY[5:10], np.arange(5)],
                                                                       [None] * 3)
    assert (tmp_path / "t.csv").read_text() == expected


@pytest.mark.parametrize("time", ["dates", "numbers", "none", "text"])
def test_a_wide_block_is_written_as_column_by_column(time: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    rows, width = 9, 2 * table_write.WIDE_COLUMNS
    values = rng.standard_normal((rows, width))
    values.flat[rng.integers(0, values.size, 300)] = rng.choice(TRICKY, 300)
    columns: list[np.ndarray] = list(values.T)
    columns[3] = columns[3].astype(np.float32)
    columns[7] = np.round(columns[7] * 100)  # integers as floats
    columns.insert(5, np.arange(rows))  # an integer column among the floats
    if time == "dates":
        stamps = np.datetime64("2024-01-01", "ns") + np.arange(rows).astype("timedelta64[ms]") * 1500
        stamps[2] = np.datetime64("NaT")
        columns.insert(0, stamps)
    elif time == "numbers":
        columns.insert(0, np.where(np.arange(rows) == 4, np.nan, np.arange(rows, dtype=float)))
    elif time == "text":
        columns.insert(0, np.array([f"r{i}" for i in range(rows)]))
    formats = [column_format([column], time=time != "none" and j == 0) for j, column in enumerate(columns)]
    wide = rows_text(columns, formats, time_utc=time == "dates")
    monkeypatch.setattr(table_write, "WIDE_COLUMNS", 10**9)  # every column on its own
    assert wide == rows_text(columns, formats, time_utc=time == "dates")
    if time != "text":
        assert wide == _reference(columns, formats, utc=time == "dates")
