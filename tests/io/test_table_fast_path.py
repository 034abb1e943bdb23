"""Chunks of plain rows split at once (tables._plain_columns) and cells read as numbers by float() on an object array
(table_cells._floats) give what the row-by-row reader and numpy's str cast give: values bit for bit, time, columns,
label, text columns, warnings, and every error with its line."""
from __future__ import annotations

import csv
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tsae.io.tables as tables
from tsae.io import table_cells, table_columns, table_dialect
from tsae.io.blocks import iter_blocks
from tsae.io.table_blocks import open_table_blocks
from tsae.io.table_cells import MISSING, _as_float, boolean

CHUNK = 64  # rows a chunk: a file of 1,000 rows has many, past the 200 rows each column's kind is judged on
ROWS = 1000


def reference_floats(cells: Sequence[str], decimal: str = ".", compiled: bool = False,
                     booleans: bool = True) -> np.ndarray | tuple[int, str]:
    """The cells as float64 as the reader read them before: each stripped in Python, missing ones "nan", then
    numpy's str cast (``compiled`` or not; without ``booleans`` a boolean word is no number)."""
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
            if not booleans and boolean(cell) is not None:
                return i, str(cell)
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


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("decimal", [".", ","])
def test_cells_are_the_numbers_numpys_str_cast_gave(decimal, compiled) -> None:
    rng = np.random.default_rng(7)
    cases = [[cell] for cell in ODD_CELLS] + [ODD_CELLS]
    cases += [[str(c) for c in rng.choice(ODD_CELLS, size=int(rng.integers(1, 6)))] for _ in range(3000)]
    cases += [[cell + other for cell, other in zip(rng.choice(ODD_CELLS, 4), rng.choice(ODD_CELLS, 4), strict=True)]
              for _ in range(3000)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's str cast told some overflows ("1.0e309")
        different = [cells for cells in cases
                     if not same_floats(table_cells._floats(cells, decimal, compiled),
                                        reference_floats(cells, decimal))]
    assert not different, different[:5]


def test_cells_with_whitespace_in_one_are_all_stripped() -> None:
    values = table_cells._floats(["1", " 2", "3\t", "\x0c4"])
    assert isinstance(values, np.ndarray) and values.tolist() == [1, 2, 3, 4]
    assert table_cells._floats(["1", " x "]) == (1, "x")


class SpacedCommas(csv.excel):
    skipinitialspace = True  # as the sniffer finds it in "time, flow"


class Apostrophes(csv.excel):
    quotechar = "'"  # as the sniffer finds it in "'a','b'"


@pytest.mark.parametrize("dialect", [csv.excel, csv.excel_tab, SpacedCommas, table_dialect._DIALECTS[";"], Apostrophes],
                         ids=["commas", "tabs", "spaced", "semicolons", "apostrophes"])
def test_plain_lines_are_split_as_csv_reader_splits_them_into_rows(dialect) -> None:
    rng = np.random.default_rng(11)
    d = dialect.delimiter
    pieces = ["1", "2.5", "-3e4", " ", "  ", "\t", "x", d, d, d, d + " ", '"', "'", "#", "\r", "\x00", "\xb5", ",",
              ";", "\x0b", "\x1c", "nan", ""]
    split = 0
    for _ in range(4000):
        width = int(rng.integers(1, 5))
        lines = []
        for _ in range(int(rng.integers(1, 6))):
            cells = ["".join(rng.choice(pieces, size=int(rng.integers(0, 3)))) for _ in range(width)]
            lines.append(d.join(cells) + str(rng.choice(["\n", "\n", "\r\n", "", "\r"])))
        # as a file's lines are: each ends in a line feed, the last one perhaps not; none is ""
        lines = [line if line.endswith("\n") else line + "\n" for line in lines[:-1]] + [lines[-1] or "\n"]
        columns = tables._plain_columns(lines, dialect, width)
        compiled = tables._plain_columns(lines, dialect, width, True)  # lines told plain by the compiled loop
        assert (compiled is None) == (columns is None), lines
        if columns is None:
            continue
        assert compiled is not None and [list(c) for c in compiled] == [list(c) for c in columns]
        split += 1
        rows = list(csv.reader(lines, dialect))
        assert len(rows) == len(lines) and all(len(row) == width for row in rows), (lines, rows)
        assert [list(cells) for cells in zip(*rows, strict=True)] == [list(cells) for cells in columns], lines
        assert not any(table_cells.is_comment(row[0]) for row in rows), lines
        assert all(any(cell.strip() for cell in row) for row in rows), lines
    assert split > 100  # plain blocks were found, and checked


def read(path: Path, **options: Any) -> tuple[Any, list[str]]:
    """``(the Table or the error's message, the warnings told)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: Any = tables.read_table(path, **options)
        except ValueError as error:
            result = str(error)
    return result, [str(w.message) for w in caught if issubclass(w.category, tables.TableWarning)]


def read_blocks(path: Path, **options: Any) -> tuple[Any, list[str]]:
    """``((columns, time, label, values of the blocks joined) or the error's message, the warnings told)`` of the
    block reader."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            source = open_table_blocks(path, **options)
            values = np.concatenate(list(iter_blocks(source, 100)), axis=1)
            result: Any = (source.columns, source.time, source.label, values)
        except ValueError as error:
            result = str(error)
    return result, [str(w.message) for w in caught if issubclass(w.category, tables.TableWarning)]


def assert_tables_equal(fast: Any, slow: Any) -> None:
    if isinstance(slow, str):
        assert fast == slow
        return
    assert not isinstance(fast, str), fast
    assert fast.values.dtype == slow.values.dtype and fast.values.shape == slow.values.shape
    assert np.array_equal(fast.values, slow.values, equal_nan=True)
    assert fast.values.tobytes() == slow.values.tobytes()  # bit for bit: the sign of a zero, a NaN's
    assert fast.columns == slow.columns
    for name in ("time", "label"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    assert (fast.time_name, fast.label_name, fast.time_utc) == (slow.time_name, slow.label_name, slow.time_utc)
    assert (fast.text_columns, fast.mixed_columns) == (slow.text_columns, slow.mixed_columns)


class Paths:
    """Reads a file with plain chunks split at once, and row by row with the cells read as before
    (:func:`reference_floats`), and counts the chunks split at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.split = 0
        self.plain = tables._plain_columns
        monkeypatch.setattr(tables, "READ_ROWS", CHUNK)
        monkeypatch.setattr(tables, "COMPILED_FROM_ROW", 0)  # the fast reader reads decimal cells compiled too

    def counting(self, *args: Any) -> Any:
        columns = self.plain(*args)
        self.split += columns is not None
        return columns

    def both(self, reader: Callable[..., tuple[Any, list[str]]], path: Path, **options: Any) -> tuple[Any, Any]:
        with self.monkeypatch.context() as patch:
            patch.setattr(tables, "_plain_columns", lambda *args: None)
            patch.setattr(tables, "_floats", reference_floats)
            patch.setattr(table_columns, "_floats", reference_floats)  # where the first rows are judged
            slow, slow_told = reader(path, **options)
        with self.monkeypatch.context() as patch:
            patch.setattr(tables, "_plain_columns", self.counting)
            fast, fast_told = reader(path, **options)
        assert fast_told == slow_told
        return fast, slow

    def check(self, path: Path, split: bool | None = True, **options: Any) -> Any:
        """Assert both readers give the same of ``path``; ``split``: some chunk was split at once (None: either)."""
        self.split = 0
        fast, slow = self.both(read, path, **options)
        assert_tables_equal(fast, slow)
        assert split is None or (self.split > 0) == split, self.split
        blocks, slow_blocks = self.both(read_blocks, path, **options)
        if isinstance(slow_blocks, str):
            assert blocks == slow_blocks
        else:
            assert not isinstance(blocks, str), blocks
            assert blocks[0] == slow_blocks[0]
            for a, b in zip(blocks[1:], slow_blocks[1:], strict=True):
                assert (a is None) == (b is None)
                assert a is None or a.tobytes() == b.tobytes()
        return fast


@pytest.fixture()
def paths(monkeypatch) -> Paths:
    return Paths(monkeypatch)


def pump_rows(n: int = ROWS, sep: str = ",", comma: bool = False) -> list[str]:
    rng = np.random.default_rng(0)
    flow, pressure = rng.normal(12, 1, n), rng.normal(2.5, 0.3, n)
    rows = [sep.join([str(i), f"{f:.3f}", f"{p:.4e}", f"{-i * 0.25}"]) for i, f, p in zip(range(n), flow, pressure,
                                                                                              strict=True)]
    return [row.replace(".", ",") for row in rows] if comma else rows


def write(tmp_path: Path, name: str, header: str, rows: list[str], end: str = "\n", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((header + end + "".join(row + end for row in rows)).encode(encoding))
    return path


HEADER = "time,flow,pressure,temperature"


def test_a_plain_file(tmp_path, paths) -> None:
    table = paths.check(write(tmp_path, "plain.csv", HEADER, pump_rows()))
    assert table.values.shape == (3, ROWS) and table.time_name == "time"


# an odd row at a row in the middle of the file, and at rows on each side of chunk boundaries past the first 200 rows
AT = [500, 5 * CHUNK - 1, 5 * CHUNK, 5 * CHUNK + 1, 8 * CHUNK - 2, ROWS - 1]


@pytest.mark.parametrize("at", AT)
@pytest.mark.parametrize("odd", [
    '"1.5",12.0,2.5e+00,-1.0',  # a quoted cell
    '12,"12,5",2.5,-1',  # a quoted cell holding the delimiter
    '12,"1\n2",2.5,-1',  # a quoted cell over two lines
    "# a comment",
    "  # an indented comment",
    "# a comment, with, three, delimiters",  # as many as a row has
    "",  # a blank line
    "  ",
    ",,,",  # a row of empty cells: a sample with every value missing
    " , ,\t, ",
    "#N/A,1,2,3",  # a formula error: a missing cell, not a comment
    "12,13,2.5,-1,",  # a trailing delimiter
    "12\r,13,2.5,-1",  # a lone carriage return
    "12,13,2.5",  # ragged
    "12,13,2.5,-1,7",
    "12,oops,2.5,-1",  # text in a number column
    "12,1_000,1e400,nan",
    "12,,NA,-",
    "12,\xb5,2,3",  # not ASCII
    "12,1\x002,2,3",  # a NUL
])
def test_an_odd_row_is_read_as_row_by_row(tmp_path, paths, at, odd) -> None:
    rows = pump_rows()
    rows.insert(at, odd)
    paths.check(write(tmp_path, "odd.csv", HEADER, rows), split=None)  # an error may be told before


@pytest.mark.parametrize("at", [5 * CHUNK - 1, 5 * CHUNK])
def test_empty_rows_at_the_end_and_across_a_chunk_boundary(tmp_path, paths, at) -> None:
    rows = pump_rows()
    rows[at:at] = [",,,", ",,,", ",,,"]
    paths.check(write(tmp_path, "empty.csv", HEADER, rows + [",,,", ""]))
    paths.check(write(tmp_path, "empty_end.csv", HEADER, rows + [",,,", " ,\t, ,"]))  # rows after the last: none


def test_an_error_told_after_the_rows_split_at_once(tmp_path, paths) -> None:
    rows = pump_rows()
    rows[300] = "12,oops,2.5,-1"  # told only once every row is read: a quote broken further on is told first
    rows[900] = '12,"13,2.5,-1'
    paths.check(write(tmp_path, "broken.csv", HEADER, rows))
    rows[900] = "12,13"
    paths.check(write(tmp_path, "ragged.csv", HEADER, rows))


def test_text_columns(tmp_path, paths) -> None:
    rows = [f"{row},{'ok' if i % 3 else 'high'},{i % 2}" for i, row in enumerate(pump_rows())]
    rows[700] = "700,glitch,2.5,-1,ok,0"
    fast = paths.check(write(tmp_path, "text.csv", HEADER + ",status,label", rows), text_columns=True)
    assert sorted(fast.text_columns) == ["flow", "status"] and fast.mixed_columns == ["flow"]
    paths.check(write(tmp_path, "text.csv", HEADER + ",status,label", rows))  # an error without text_columns


def test_dates_as_time(tmp_path, paths) -> None:
    start = np.datetime64("2024-03-01T00:00:00")
    rows = [f"{start + np.timedelta64(i, 's')}{',' + row.split(',', 1)[1]}" for i, row in enumerate(pump_rows())]
    table = paths.check(write(tmp_path, "dates.csv", "timestamp,flow,pressure,temperature", rows))
    assert table.time.dtype.kind == "M"
    rows = [row.replace("T", " ", 1) for row in rows]
    rows[600] = "2024-03-01 99:00:00,1,2,3"  # not a date
    paths.check(write(tmp_path, "bad_date.csv", "timestamp,flow,pressure,temperature", rows))
    rows = [f"{start + np.timedelta64(i, 's')}Z,{i}" for i in range(ROWS)]
    assert paths.check(write(tmp_path, "utc.csv", "when,x", rows)).time_utc


def test_semicolons_with_decimal_commas(tmp_path, paths) -> None:
    rows = pump_rows(sep=";", comma=True)
    paths.check(write(tmp_path, "commas.csv", HEADER.replace(",", ";"), rows))
    rows[800] = rows[800].replace(",", ".", 1)  # a decimal point later: mixed marks
    paths.check(write(tmp_path, "mixed.csv", HEADER.replace(",", ";"), rows))
    rows = pump_rows(sep=";")
    paths.check(write(tmp_path, "points.csv", "sep=;\n" + HEADER.replace(",", ";"), rows))
    paths.check(write(tmp_path, "tabs.tsv", HEADER.replace(",", "\t"), pump_rows(sep="\t", comma=True)))
    paths.check(write(tmp_path, "pipes.csv", HEADER.replace(",", "|"), pump_rows(sep="|")))


def test_cells_after_a_delimiter_and_spaces(tmp_path, paths) -> None:
    rows = [row.replace(",", ", ") for row in pump_rows()]  # csv.reader drops the spaces a cell starts with
    rows[400] = "  " + rows[400].replace(", ", ",   ", 2)
    rows[600] = rows[600].replace(", ", ",  \t", 1)
    rows[700] = rows[700].rsplit(",", 1)[0] + ",   "
    rows[800] = "800, #N/A, 2.5,  -1"
    fast = paths.check(write(tmp_path, "spaces.csv", HEADER.replace(",", ", "), rows))
    assert fast.columns == ["flow", "pressure", "temperature"]
    rows[900] = rows[900].replace(", ", ", oops", 1)
    paths.check(write(tmp_path, "spaces_oops.csv", HEADER.replace(",", ", "), rows))


def test_thousands_separators_are_not_numbers(tmp_path, paths) -> None:
    rows = pump_rows(sep=";", comma=True)
    rows[700] = "700;1.234,5;1;2"
    paths.check(write(tmp_path, "thousands.csv", HEADER.replace(",", ";"), rows))


def test_trailing_delimiters(tmp_path, paths) -> None:
    rows = [row + "," for row in pump_rows()]
    paths.check(write(tmp_path, "every.csv", HEADER + ",", rows))  # a header ending in one too: its width
    paths.check(write(tmp_path, "rows.csv", HEADER, rows), split=False)  # the rows' only: read row by row
    rows = [row + ",,," for row in pump_rows()]
    rows[600] = rows[600][:-3] + ",,"
    paths.check(write(tmp_path, "spare.csv", HEADER + ",,,", rows))


def test_line_ends_and_encodings(tmp_path, paths) -> None:
    rows = pump_rows()
    paths.check(write(tmp_path, "crlf.csv", HEADER, rows, end="\r\n"))
    paths.check(write(tmp_path, "mac.csv", HEADER, rows, end="\r"), split=False)
    paths.check(write(tmp_path, "bom.csv", HEADER, rows, encoding="utf-8-sig"))
    mixed = write(tmp_path, "mixed.csv", HEADER, rows, end="\r\n")
    mixed.write_bytes(mixed.read_bytes().replace(b"\r\n", b"\n", 400))
    paths.check(mixed)
    no_end = write(tmp_path, "no_end.csv", HEADER, rows)
    no_end.write_bytes(no_end.read_bytes().rstrip(b"\n"))
    paths.check(no_end)
    paths.check(write(tmp_path, "latin1.csv", "time,d\xe9bit,pression", [f"{i},{i}.5,\xb5" if i == 900 else
                                                                        f"{i},{i}.5,{i}" for i in range(ROWS)],
                      encoding="latin-1"))
    wide = write(tmp_path, "utf16.csv", HEADER, rows, encoding="utf-16")
    paths.check(wide)


def test_missing_cells_absurd_and_odd_numbers(tmp_path, paths) -> None:
    rng = np.random.default_rng(3)
    odd = ["", " ", "NA", "nan", "NaN", "-nan", "inf", "-inf", "1e400", "-1e31", "1e29", "1_000", "+5", "-0",
           "9007199254740993", "1.7976931348623157e308", " 7 ", "\t8", "?", "#DIV/0!", "null", "none"]
    rows = pump_rows()
    for i in range(250, ROWS, 7):
        cells = rows[i].split(",")
        cells[1 + i % 3] = str(rng.choice(odd))
        rows[i] = ",".join(cells)
    table = paths.check(write(tmp_path, "odd_numbers.csv", HEADER, rows))
    assert np.isnan(table.values).any()
    paths.check(write(tmp_path, "exact.csv", HEADER, rows), exact=True)


def test_headerless_and_unnamed_index(tmp_path, paths) -> None:
    paths.check(write(tmp_path, "headerless.csv", pump_rows(1)[0], pump_rows()[1:]))
    paths.check(write(tmp_path, "index.csv", ",flow,pressure,temperature", pump_rows()))
    rows = [f"{i},{row}" for i, row in enumerate(pump_rows())]
    paths.check(write(tmp_path, "counter.csv", "minute,index2,flow,pressure,temperature", rows))


def test_a_file_of_one_column(tmp_path, paths) -> None:
    paths.check(write(tmp_path, "one.csv", "flow", [f"{i * 0.5}" for i in range(ROWS)]))
    paths.check(write(tmp_path, "one_commas.csv", "flow", [f"{i},5" for i in range(ROWS)]))


def test_a_cell_longer_than_a_csv_field_may_be(tmp_path, paths) -> None:
    rows = pump_rows()
    rows[600] = "1,2,3," + "4" * 140_000
    paths.check(write(tmp_path, "long.csv", HEADER, rows))

