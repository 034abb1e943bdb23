"""read_table reads a table a chunk of rows at a time: bounded memory, and the same tables and errors as whole."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import tsae.io.tables as tables
from tsae.io.tables import TableWarning, read_table

from memory_helpers import traced_peak


def write_big_csv(path: Path, rows: int) -> None:
    """``rows`` rows of a date time column and five channels (about 78 bytes a row)."""
    rng = np.random.default_rng(0)
    times = np.datetime_as_string(np.datetime64("2024-01-01T00:00:00.000") + np.arange(rows) * np.timedelta64(10, "ms"),
                                  unit="ms")
    values = rng.normal(size=(5, rows)) * 100
    with open(path, "w") as handle:
        handle.write("time,a,b,c,d,e\n")
        for start in range(0, rows, 50_000):
            cells = [times[start:start + 50_000]] + [np.char.mod("%.6f", v[start:start + 50_000]) for v in values]
            handle.write("".join(",".join(row) + "\n" for row in zip(*cells, strict=True)))


def test_peak_memory_is_a_small_multiple_of_the_arrays_read(tmp_path) -> None:
    path = tmp_path / "big.csv"
    write_big_csv(path, 200_000)  # 15.5 MB of text
    import tsae.io._number_kernels  # noqa: F401 - loading numba (its ~40 MB of objects, once a process) is no reading
    table, peak = traced_peak(lambda: read_table(path))
    assert table.values.shape == (5, 200_000) and table.time is not None
    output = table.values.nbytes + table.time.nbytes  # 9.6 MB
    # the whole text as a list of rows of Python strings took 18.5 times the arrays (356 MB for 400,000 rows);
    # read in chunks, twice the arrays (while the chunks of each column are joined)
    assert peak < 4 * output + 16e6, f"peak {peak / 1e6:.0f} MB for {output / 1e6:.0f} MB of arrays"


def lines(rows: list[str], header: str = "time,a,b,label") -> str:
    return header + "\n" + "".join(row + "\n" for row in rows)


def body(n: int) -> list[str]:
    return [f"{i * 0.5},{i % 7}.25,{-i},{i % 3}" for i in range(n)]


def read_error(path: Path) -> str:
    with pytest.raises(ValueError) as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    return message[len(f"{path}: "):]


@pytest.mark.parametrize("chunk", [7, 64, None])
def test_errors_beyond_the_first_chunk_are_the_errors_of_the_whole_file(tmp_path, monkeypatch, chunk) -> None:
    if chunk is not None:
        monkeypatch.setattr(tables, "READ_ROWS", chunk)
    n = tables.READ_ROWS + 500 if chunk is None else 1000  # the bad row is in a later chunk
    at = n - 300  # well past the first 200 rows, on which each column's kind is judged

    def case(name: str, rows: list[str], header: str = "time,a,b,label") -> str:
        path = tmp_path / name
        path.write_text(lines(rows, header))
        return read_error(path)

    rows = body(n)
    rows[at] = rows[at].replace(f",{-at},", ",oops,")
    assert case("word.csv", rows) == f"line {at + 2}, column 'b': not a number ('oops')"
    rows = body(n)
    rows[at] = "1,2"
    assert case("ragged.csv", rows) == f"line {at + 2} has 2 fields, expected 4"
    rows = body(n)
    rows[5] = rows[5].replace(",-5,", ",early,")
    rows[at] = "1,2"
    assert case("ragged_first.csv", rows) == f"line {at + 2} has 2 fields, expected 4"  # rows before cells
    rows = body(n)
    rows[5] = rows[5].replace(",-5,", ",early,")
    rows[at] = rows[at].replace(f",{at % 7}.25,", ",late,")
    assert case("left_first.csv", rows) == f"line {at + 2}, column 'a': not a number ('late')"  # columns in order
    rows = body(n)
    rows[at] = rows[at].replace(f"{at * 0.5},", "x,", 1)
    assert case("time.csv", rows) == f"line {at + 2}, column 'time': not a number ('x')"
    rows = body(n)
    rows[at] = rows[at][:rows[at].rindex(",")] + ",spike"
    assert case("label.csv", rows) == f"line {at + 2}, column 'label': not a number ('spike')"
    dates = [f"2024-01-01T00:00:{i % 60:02d},{i}" for i in range(n)]
    dates[at] = f"2024-13-45,{at}"
    assert case("named_dates.csv", dates, "time,a") == \
        f"time column 'time' is neither numbers nor dates (line {at + 2}: '2024-13-45')"
    # a column of dates not named like a time column is not one when a later cell is no date: it is a channel
    assert case("unnamed_dates.csv", dates, "when,a") == "line 2, column 'when': not a number ('2024-01-01T00:00:00')"
    rows = body(n)
    assert case("dup.csv", [*rows[:at], "1,2", *rows[at:]], "a,b,a,label") == f"line {at + 2} has 2 fields, expected 4"
    assert case("dup_only.csv", rows, "a,b,a,label") == "duplicate column name 'a'"


def test_a_broken_quote_beyond_the_first_chunk_is_told_before_a_ragged_row(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tables, "READ_ROWS", 16)
    path = tmp_path / "quote.csv"
    path.write_text("a,b\n1,2\n3\n" + "5,6\n" * 500 + '7,"8\n' + "9," * 70_000 + "\n")
    assert read_error(path) == "line 505: a cell is longer than 131,072 characters"


def read_all(path: Path) -> tuple[tables.Table, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_table(path)
    return table, [str(w.message) for w in caught if issubclass(w.category, TableWarning)]


def assert_same(table: tables.Table, whole: tables.Table) -> None:
    assert table.columns == whole.columns and table.time_name == whole.time_name
    assert table.label_name == whole.label_name
    assert table.values.dtype == whole.values.dtype == np.float64 and table.values.flags.c_contiguous
    np.testing.assert_array_equal(table.values, whole.values)  # NaN where NaN
    for part, full in ((table.time, whole.time), (table.label, whole.label)):
        assert (part is None) == (full is None)
        if part is not None and full is not None:
            assert part.dtype == full.dtype
            np.testing.assert_array_equal(part, full)


@pytest.mark.parametrize("chunk", [1, 7, 200, 333])
def test_a_table_read_in_chunks_is_the_table_read_whole(tmp_path, monkeypatch, chunk) -> None:
    n = 1000
    rng = np.random.default_rng(1)
    stamps = np.datetime_as_string(np.datetime64("2024-03-01T12:00:00") + np.arange(n) * np.timedelta64(250, "ms"),
                                   unit="ms")
    text = ["stamp;x;y;anomaly;z"]
    for i in range(n):
        x = ["", "NA", "nan", " 2.5 ", "1e200", "-inf"][i % 6] if i % 37 == 0 else f"{rng.normal():.6f}"
        y = "?" if i % 101 == 0 else str(i)
        label = ["0", "spike", "slow drift"][i % 3] if i > 600 else "normal"  # longer text in later chunks
        stamp = stamps[i] + "+01:00" if i == 0 else "NaT" if i == 500 else stamps[i].replace("T", " ")
        text.append(f"{stamp};{x};{y};{label};{i % 5}")
        if i % 250 == 3:
            text += ["", "# a comment"]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(text) + "\n")
    whole, told = read_all(path)  # one chunk
    assert np.issubdtype(whole.time.dtype, np.datetime64) and whole.time_name == "stamp"
    assert whole.label is not None and whole.label.dtype.kind == "U" and whole.columns == ["x", "y", "z"]
    assert len(told) == 2 and "UTC offset" in told[0] and "infinite or beyond 1e+30" in told[1], told
    monkeypatch.setattr(tables, "READ_ROWS", chunk)
    table, told_in_chunks = read_all(path)
    assert_same(table, whole)
    assert told_in_chunks == told

    headerless = tmp_path / "n.csv"
    headerless.write_text("".join(f"{i},{i % 9 or 'NA'},{2 * i}\n" for i in range(1, n + 1)))
    # the first column counts all through: the time column; counting only in its first 300 rows: a channel
    recount = tmp_path / "r.csv"
    recount.write_text("".join(f"{i if i < 300 else 7},{i % 9 or 'NA'},{2 * i}\n" for i in range(1, n + 1)))
    tables_in_chunks = read_table(headerless), read_table(recount)
    monkeypatch.setattr(tables, "READ_ROWS", 1 << 20)
    for table, path in zip(tables_in_chunks, (headerless, recount), strict=True):
        assert_same(table, read_table(path))
    counted, recounted = tables_in_chunks
    assert counted.time_name == "ch0" and counted.columns == ["ch1", "ch2"] and counted.values.shape == (2, n)
    assert recounted.time is None and recounted.columns == ["ch0", "ch1", "ch2"] and recounted.values.shape == (3, n)
