"""CSV tables and read_series: time/label columns, missing cells, and one-line errors."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tsae.io.series import read_series
from tsae.io.tables import read_table, write_table


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_time_label_and_missing_cells(tmp_path) -> None:
    path = write(tmp_path, "a.csv", "time,x,y,label\n0,1.5,2,0\n0.5,,3,1\n1.0,NA,4,0\n1.5,2.5,nan,0\n")
    table = read_table(path)
    assert table.columns == ["x", "y"] and table.time_name == "time"
    np.testing.assert_array_equal(table.time, [0, 0.5, 1.0, 1.5])
    np.testing.assert_array_equal(table.label, [0, 1, 0, 0])
    assert table.values.shape == (2, 4) and table.values.dtype == np.float64
    assert np.isnan(table.values[0, 1]) and np.isnan(table.values[0, 2]) and np.isnan(table.values[1, 3])
    assert table.sample_rate() == pytest.approx(2.0)


def test_date_column_found_by_parsing(tmp_path) -> None:
    text = "when;temp\n2024-01-01 00:00:00;1\n2024-01-01 00:01:00;2\n2024-01-01 00:02:00;3\n"
    table = read_table(write(tmp_path, "d.csv", text))
    assert table.time_name == "when" and np.issubdtype(table.time.dtype, np.datetime64)
    assert table.columns == ["temp"]
    assert table.sample_rate() == pytest.approx(1 / 60)


def test_headerless_numbers_and_tsv(tmp_path) -> None:
    table = read_table(write(tmp_path, "n.csv", "1,2\n3,4\n5,6\n"))
    assert table.columns == ["ch0", "ch1"] and table.values.shape == (2, 3)
    tsv = read_table(write(tmp_path, "t.tsv", "a\tb\n1\t2\n"))
    assert tsv.columns == ["a", "b"]


def test_write_read_round_trip(tmp_path) -> None:
    x = np.array([0.1, np.nan, 1e-12, -3.25])
    time = np.array(["2024-01-01T00:00", "2024-01-01T00:01", "2024-01-01T00:02", "2024-01-01T00:03"],
                    dtype="datetime64[ns]")
    path = write_table(tmp_path / "out" / "r.csv", {"x": x, "y": np.arange(4)}, time=time, time_name="timestamp")
    table = read_table(path)
    np.testing.assert_array_equal(table.values[0], x)
    np.testing.assert_array_equal(table.time, time)
    assert [p.name for p in path.parent.iterdir()] == ["r.csv"]
    with pytest.raises(ValueError, match="rows"):
        write_table(tmp_path / "bad.csv", {"a": [1, 2], "b": [1]})


@pytest.mark.parametrize("name,text,match", [
    ("empty.csv", "", "empty file"),
    ("blank.csv", "\n\n  \n", "empty file"),
    ("header.csv", "a,b\n", "no data rows (only a header)"),
    # before: "no data rows (only a header)" and "empty file" for rows that are there, their cells all empty
    ("empty_rows.csv", "a,b\n,\n,\n,\n", "no data rows: the 3 row(s) below the header hold no values (empty "
                                           "cells only)"),
    ("empty_cells.csv", ",,\n,,\n", "no values: its 2 row(s) hold empty cells only"),
    ("ragged.csv", "a,b\n1,2\n3\n", "line 3 has 1 fields, expected 2"),
    ("text.csv", "a,b\n1,2\n3,oops\n", "line 3, column 'b': not a number ('oops')"),
    ("dup.csv", "a,a\n1,2\n", "duplicate column"),
    ("only_time.csv", "time\n1\n2\n", "no numeric data columns"),
    ("binary.csv", "\x00\x01\x02garbage", "binary"),
    # control characters but no NUL (random bytes): "new-line character seen in unquoted field - do you need to
    # open the file in universal-newline mode?"
    ("noise.csv", "".join(chr(c) for c in np.random.default_rng(0).integers(1, 256, 300)), "binary"),
    ("mixed_ends.csv", "a,b\n1,2\n3,4\r5,6\n7,8\n", "line 3: a lone carriage return (\\r) inside a line"),
    ("huge_cell.csv", "a,b\n1,2\n3," + "4" * 200_000 + "\n5,6\n", "line 3: a cell is longer than 131,072 characters"),
    # an unclosed quote swallows the rest of the file into one cell: the line where the reader gave up
    ("open_quote.csv", 'a,b\n1,2\n3,"4\n5,6\n' + "7," * 70_000 + "\n", "line 5: a cell is longer than 131,072"),
])
def test_bad_tables_give_one_line_errors(tmp_path, name, text, match) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ValueError) as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and match in message


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="no such file"):
        read_series(tmp_path / "nope.wav")


def test_read_series_dispatch(tmp_path) -> None:
    import soundfile as sf

    values, rate, meta = read_series(write(tmp_path, "s.csv", "t,a,b\n0,1,2\n1,3,4\n2,5,6\n"))
    assert values.shape == (2, 3) and rate == pytest.approx(1.0) and meta["kind"] == "table"

    np.save(tmp_path / "a.npy", np.arange(10.0))
    values, rate, meta = read_series(tmp_path / "a.npy")
    assert values.shape == (1, 10) and rate is None and meta["kind"] == "array"

    audio = (0.1 * np.sin(np.arange(800) / 5)).astype(np.float32)
    sf.write(tmp_path / "a.wav", np.stack([audio, -audio], 1), 8000, subtype="FLOAT")
    values, rate, meta = read_series(tmp_path / "a.wav")
    assert values.shape == (2, 800) and rate == 8000 and meta["kind"] == "audio"
    np.testing.assert_allclose(values[0], audio, atol=1e-7)

    (tmp_path / "obj.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match="obj.npy"):
        read_series(tmp_path / "obj.npy")


def test_absurd_cells_are_read_as_missing_with_a_warning(tmp_path):
    import warnings

    from tsae.io.tables import TableWarning, read_table

    path = tmp_path / "big.csv"
    path.write_text("time,a,b\n0,1.5,2\n1,1e200,3\n2,-1e308,inf\n3,1e29,4\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_table(path)
    assert np.isnan(table.values[0, 1:3]).all() and np.isnan(table.values[1, 2])  # inf is missing, as before
    assert table.values[0, 3] == 1e29 and table.values[0, 0] == 1.5  # large but possible values stay
    [warning] = [w for w in caught if issubclass(w.category, TableWarning)]
    assert ("big.csv: 3 cell(s) infinite or beyond 1e+30 in magnitude read as missing: a (2), b (1)"
            in str(warning.message))  # inf is told too


def test_a_time_column_of_only_nat_has_no_valid_times(tmp_path):
    from tsae.io.tables import time_seconds

    path = tmp_path / "nat.csv"
    path.write_text("timestamp,a\nNaT,1\nNaT,2\nNaT,3\nNaT,4\n")
    table = read_table(path)
    assert table.time is not None and np.isnat(table.time).all()
    assert time_seconds(table.time).shape == (0,)  # before: IndexError
    assert table.sample_rate() is None
    dates = np.array(["NaT", "2024-01-01T00:00:00", "2024-01-01T00:00:02"], dtype="datetime64[ns]")
    np.testing.assert_array_equal(time_seconds(dates), [0.0, 2.0])


def test_times_with_a_utc_offset_are_read_as_utc_with_a_warning_naming_the_file(tmp_path) -> None:
    path = tmp_path / "tz.csv"
    path.write_text("time,a\n2024-01-01T00:00:00+05:00,1\n2024-01-01T00:00:10+05:00,2\n")
    with pytest.warns(UserWarning, match=r"tz\.csv: times with a UTC offset are read, and written, as UTC "
                                         r"\(ending in Z\)"):
        table = read_table(path)
    assert table.time[0] == np.datetime64("2023-12-31T19:00:00") and table.time_utc


@pytest.mark.parametrize(("cell", "utc"), [("2024-01-01T00:00:{s:02d}+05:00", True),
                                          ("2024-01-01T00:00:{s:02d}Z", True), ("2024-01-01 00:00:{s:02d}", False)])
def test_utc_times_are_written_back_ending_in_z(tmp_path, cell, utc) -> None:
    # before: 00:00:00+05:00 was written 2023-12-31T19:00:00, and 00:00:00Z as 00:00:00: times that named UTC
    # instants were written as local ones, without a word that they were UTC
    import warnings

    from tsae.io.series import read_series, write_series

    (tmp_path / "in.csv").write_text("time,a\n" + "".join(f"{cell.format(s=s)},{s}\n" for s in range(0, 30, 10)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values, rate, meta = read_series(tmp_path / "in.csv")
    assert meta["time_utc"] is utc
    write_series(tmp_path / "out.csv", values, rate, meta)
    first = (tmp_path / "out.csv").read_text().splitlines()[1].split(",")[0]
    hour = "2023-12-31T19" if "+05:00" in cell else "2024-01-01T00"
    assert first == f"{hour}:00:00" + ("Z" if utc else "")
    assert read_table(tmp_path / "out.csv").time_utc is utc  # read back as it was written, without a warning


def test_times_are_written_at_the_precision_they_need(tmp_path) -> None:
    whole = np.array(["2024-01-01T00:00:00", "2024-01-01T00:00:10"], dtype="datetime64[ns]")
    write_table(tmp_path / "s.csv", {"a": np.array([1.0, 2.0])}, time=whole, time_name="time")
    assert (tmp_path / "s.csv").read_text().splitlines()[1].startswith("2024-01-01T00:00:00,")
    fine = whole + np.array([0, 1500], dtype="timedelta64[us]")
    write_table(tmp_path / "f.csv", {"a": np.array([1.0, 2.0])}, time=fine, time_name="time")
    assert [r.split(",")[0] for r in (tmp_path / "f.csv").read_text().splitlines()[1:]] == [
        "2024-01-01T00:00:00.000000", "2024-01-01T00:00:10.001500"]
    np.testing.assert_array_equal(read_table(tmp_path / "f.csv").time, fine)


def test_a_table_written_in_pieces_is_the_table_written_whole(tmp_path, monkeypatch) -> None:
    import tsae.io.table_write as table_write

    time = np.arange(10).astype("datetime64[s]").astype("datetime64[ns]")
    time[-1] += np.timedelta64(5, "ms")  # only the last piece needs milliseconds: every row gets them
    columns = {"a": np.linspace(0, 1, 10), "b": np.where(np.arange(10) % 3, 1.5, np.nan)}
    write_table(tmp_path / "whole.csv", columns, time=time, time_name="t")
    monkeypatch.setattr(table_write, "WRITE_ROWS", 3)
    write_table(tmp_path / "pieces.csv", columns, time=time, time_name="t")
    assert (tmp_path / "pieces.csv").read_text() == (tmp_path / "whole.csv").read_text()
    assert (tmp_path / "pieces.csv").read_text().splitlines()[1].startswith("1970-01-01T00:00:00.000,")


def _blocks(n: int, sizes: list[int]) -> list[tuple[int, int]]:
    """``[a, b)`` ranges of ``n`` rows, of the ``sizes`` in turn (the last one repeated)."""
    ranges, a = [], 0
    while a < n:
        b = min(n, a + sizes[min(len(ranges), len(sizes) - 1)])
        ranges.append((a, b))
        a = b
    return ranges


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".csv.gz", ".csv.xz"])
@pytest.mark.parametrize("time_kind", ["dates", "utc dates", "whole numbers", "epoch ns", "decimals", "none"])
def test_a_table_written_block_by_block_is_the_table_written_whole(tmp_path, monkeypatch, suffix, time_kind) -> None:
    import tsae.io.table_write as table_write

    n = 23
    rng = np.random.default_rng(5)
    first = rng.normal(size=n)
    first[[0, 7, 8]] = [np.nan, np.inf, -np.inf]
    columns = {"a": first, "b": np.round(rng.normal(size=n) * 100), "c": np.full(n, np.nan)}
    times = {"dates": np.arange(n).astype("datetime64[s]").astype("datetime64[ns]"),
             "whole numbers": np.where(np.arange(n) < 9, np.nan, np.arange(n, dtype=np.float64)),
             "epoch ns": 1.709251200e18 + 1e9 * np.arange(n),
             "decimals": np.arange(n) * 0.5, "none": None}
    times["utc dates"] = times["dates"].copy()
    times["dates"][17] += np.timedelta64(5, "us")  # only a late block needs microseconds: every row gets them
    time = times[time_kind]
    utc = time_kind == "utc dates"
    whole = write_table(tmp_path / f"whole{suffix}", columns, time=time, time_name="t", time_utc=utc)
    monkeypatch.setattr(table_write, "WRITE_ROWS", 4)
    names = (["t"] if time is not None else []) + list(columns)
    arrays = ([time] if time is not None else []) + list(columns.values())
    ranges = _blocks(n, [1, 5, 2, 9])
    formats = [table_write.column_format((arr[a:b] for a, b in ranges), time=time is not None and j == 0)
               for j, arr in enumerate(arrays)]
    with table_write.open_table_writer(tmp_path / f"blocks{suffix}", names, formats, time_utc=utc) as table:
        for a, b in ranges:
            table.write([arr[a:b] for arr in arrays])
    assert table.rows == n
    assert (tmp_path / f"blocks{suffix}").read_bytes() == whole.read_bytes()
    text = read_table(whole, exact=True)
    np.testing.assert_array_equal(text.values[0], first)  # inf and -inf written as such, NaN empty
    if time_kind in ("whole numbers", "epoch ns"):
        cells = [line.split("\t" if suffix == ".tsv" else ",")[0] for line in read_text(whole).splitlines()[1:]]
        if time_kind == "whole numbers":
            assert cells[8] == "" and cells[9] == "9"
        else:
            assert cells[1] == "1709251201000000000"
    if time_kind == "dates":
        assert read_text(whole).splitlines()[1].startswith("1970-01-01T00:00:00.000000")


def read_text(path: Path) -> str:
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    with opener(path, "rt") as handle:
        return handle.read()


def test_a_block_of_the_wrong_length_or_width_is_refused_and_leaves_no_file(tmp_path) -> None:
    from tsae.io.tables import open_table_writer

    with pytest.raises(ValueError, match=r"o\.csv: column 'b' has 2 rows, expected 3"):
        with open_table_writer(tmp_path / "o.csv", ["a", "b"], [None, None]) as table:
            table.write([np.zeros(3), np.zeros(3)])
            table.write([np.zeros(3), np.zeros(2)])
    with pytest.raises(ValueError, match=r"o\.csv: 1 columns to write, expected 2"):
        with open_table_writer(tmp_path / "o.csv", ["a", "b"], [None, None]) as table:
            table.write([np.zeros(3)])
    assert list(tmp_path.iterdir()) == []


def test_errors_give_the_file_line_past_blank_and_comment_lines(tmp_path) -> None:
    """Line numbers are the file's (what an editor shows), not a count of data rows."""
    path = tmp_path / "t.csv"
    path.write_text("# exported by a logger\ntime,a\n\n1,0.5\n# pause\n\n2,oops\n3,0.7\n")
    with pytest.raises(ValueError) as info:
        read_table(path)
    assert str(info.value) == f"{path}: line 7, column 'a': not a number ('oops')"
    path.write_text("time,a\n\n1,0.5\n\n2,0.6,9\n")
    with pytest.raises(ValueError) as info:
        read_table(path)
    assert str(info.value) == f"{path}: line 5 has 3 fields, expected 2"


@pytest.mark.parametrize("first", ["", "Unnamed: 0", "index", "IDX"])
def test_a_first_column_numbering_the_rows_is_the_time_column_not_a_channel(tmp_path, first: str) -> None:
    # pandas' DataFrame.to_csv writes its index first, with no name: it was read as a sensor "column0"
    path = write(tmp_path, "a.csv", f"{first},x,y\n0,1.5,2\n1,2.5,3\n2,3.5,4\n")
    table = read_table(path)
    assert table.columns == ["x", "y"]
    np.testing.assert_array_equal(table.time, [0, 1, 2])


def test_a_named_time_column_wins_over_an_index_column(tmp_path) -> None:
    # the index beside it numbers the rows: no channel (it was one, 'column0'); one that does not is a channel
    path = write(tmp_path, "a.csv", ",time,x\n0,10,1.5\n1,11,2.5\n")
    table = read_table(path)
    assert table.time_name == "time" and table.columns == ["x"]
    table = read_table(write(tmp_path, "b.csv", ",time,x\n0,10,1.5\n2,11,2.5\n"))
    assert table.time_name == "time" and table.columns == ["column0", "x"]


def test_a_first_column_that_counts_is_the_time_column(tmp_path) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 40))

    def table_of(first: list, name: str = "minute", second: str = "a") -> object:
        rows = "".join(f"{f},{a:.4f},{b:.4f}\n" for f, a, b in zip(first, *values, strict=False))
        return read_table(write(tmp_path, f"{name}.csv", f"{name},{second},b\n{rows}"))

    counted = table_of(list(range(7, 47)))  # a minute counter: a sensor would be a straight line
    assert counted.time_name == "minute" and counted.columns == ["a", "b"]
    np.testing.assert_array_equal(counted.time, np.arange(7, 47))
    epoch = table_of([1_700_000_000 + 60 * i for i in range(40)], "when")  # epoch seconds, any step
    assert epoch.time_name == "when" and epoch.columns == ["a", "b"]
    skipping = table_of([*range(36), 37, 38, 39, 41])  # a logger that missed two rows after its first ones
    assert skipping.time_name == "minute" and skipping.columns == ["a", "b"]
    assert table_of([*range(38), 100, 101]).time_name == "minute"  # 61 rows missed
    for first in ([*range(25), *range(15)],  # counts, then starts again: read whole, a channel
                  [*range(20), *range(21, 60, 2)],  # then by another step: a cumulative count, say
                  [*range(30), 30.5, *range(31, 40)],  # a skip that is no whole step
                  list(range(15)),  # too few rows to tell
                  [i * i for i in range(40)],  # rises, but not by one step
                  [0.5 * i + 0.1 * (i % 2) for i in range(40)],  # not whole numbers, nor fractions rising evenly
                  list(range(40, 0, -1))):  # falls
        table = table_of(first)
        assert table.time is None and table.columns == ["minute", "a", "b"], first
    assert table_of(list(range(40)), "label").time is None  # a label is never the time column
    assert table_of(list(range(40)), "x", "time").time_name == "time"  # a named time column wins
    single = read_table(write(tmp_path, "one.csv", "n\n" + "".join(f"{i}\n" for i in range(40))))
    assert single.time is None and single.columns == ["n"]  # a ramp alone is the data
    labelled = read_table(write(tmp_path, "lab.csv", "n,label\n" + "".join(f"{i},0\n" for i in range(40))))
    assert labelled.time is None and labelled.columns == ["n"]  # so it is beside a label alone


def test_a_pandas_csv_gives_one_channel_per_column(tmp_path) -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"pressure": rng.normal(size=50), "flow": rng.normal(size=50)})
    frame.to_csv(tmp_path / "pump.csv")  # the index as an unnamed first column
    values, _, meta = read_series(tmp_path / "pump.csv")
    assert values.shape == (2, 50) and meta["columns"] == ["pressure", "flow"]


def _dated(path: Path, times: dict[int, str]) -> Path:
    """A table of 40 rows ``time,a`` with ISO times, the rows in ``times`` given those times instead."""
    rows = [f"{times.get(i, f'2024-01-01T00:00:{i:02d}')},{i % 7}" for i in range(40)]
    path.write_text("time,a\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("number", ["1704067250", "0", "2.5", "-3"])
def test_a_number_among_dates_in_the_time_column_is_an_error_naming_its_line(tmp_path, number: str) -> None:
    # numpy read "1704067250" as the year 1704067250 (written back as 2175-02-07T08:35:05), "0" as 1753-08-29
    path = _dated(tmp_path / "mixed.csv", {20: number})
    with pytest.raises(ValueError, match=rf"mixed\.csv: time column 'time' is neither numbers nor dates "
                                         rf"\(line 22: '{number}'\)"):
        read_table(path)


def test_a_time_column_of_whole_numbers_stays_numbers(tmp_path) -> None:
    path = tmp_path / "years.csv"
    path.write_text("time,a\n" + "".join(f"{1900 + i},{i % 7}\n" for i in range(40)))
    table = read_table(path)
    assert table.time is not None and table.time.dtype == np.float64 and table.time[0] == 1900.0


@pytest.mark.parametrize("date", ["3000-01-01T00:00:01", "1500-06-01"])
def test_a_date_beyond_the_range_of_times_is_an_error_not_a_wrapped_time(tmp_path, date: str) -> None:
    # nanoseconds wrapped around: 3000-01-01T00:00:01 was read (and written back) as 1830-11-23T00:50:53.58
    path = _dated(tmp_path / "far.csv", {30: date})
    with pytest.raises(ValueError, match=rf"far\.csv: time column 'time' is neither numbers nor dates \(line 32: "
                                         rf"'{date}' lies outside the days 1677-09-22 to 2262-04-10"):
        read_table(path)
    _dated(path, {30: "2262-04-10T00:00:00"})  # the last day a time can hold is still one
    assert str(read_table(path).time[30]) == "2262-04-10T00:00:00.000000000"


def test_a_file_with_classic_mac_line_ends_is_read(tmp_path) -> None:
    # lines ending in "\r" only: "line 1: new-line character seen in unquoted field - do you need to open the
    # file in universal-newline mode?"
    path = tmp_path / "mac.csv"
    path.write_bytes(b"time,a,b\r" + b"".join(f"{i},{i % 3}.5,{i % 5}\r".encode() for i in range(30)))
    table = read_table(path)
    assert table.columns == ["a", "b"] and table.values.shape == (2, 30) and table.values[0, 4] == 1.5
    path.write_bytes(b"a,b\r1,2\r3,x\r")
    with pytest.raises(ValueError, match=r"mac\.csv: line 3, column 'b': not a number \('x'\)"):
        read_table(path)


def test_an_unnamed_column_is_not_named_as_another_column(tmp_path) -> None:
    # the empty name became 'column1', and the file was refused for a "duplicate column name 'column1'"
    path = tmp_path / "u.csv"
    path.write_text("time,,column1\n" + "".join(f"{i},{i % 3},{i % 5}\n" for i in range(30)))
    assert read_table(path).columns == ["column1_", "column1"]


@pytest.mark.parametrize("name", ["count", "a", "Count", "n_events", "temp_min"])
def test_a_named_data_column_that_counts_is_a_channel_not_the_time_column(tmp_path, name: str) -> None:
    # 'count' (0, 1, ..., 399) was taken for a row index and dropped: stored columns ['temp'] only
    temp = np.random.default_rng(0).normal(size=400).round(4)
    path = write(tmp_path, "c.csv", f"{name},temp\n" + "".join(f"{i},{v}\n" for i, v in enumerate(temp)))
    table = read_table(path)
    assert table.time is None and table.columns == [name, "temp"]
    np.testing.assert_array_equal(table.values, [np.arange(400), temp])


def test_a_headerless_first_column_that_counts_is_still_the_time_column(tmp_path) -> None:
    # no header, no name to say it is data (tests/test_table_memory.py reads such a file in chunks too)
    path = write(tmp_path, "h.csv", "".join(f"{i},{i % 7}.5\n" for i in range(40)))
    table = read_table(path)
    assert table.time_name == "ch0" and table.columns == ["ch1"]
    np.testing.assert_array_equal(table.time, np.arange(40))


@pytest.mark.parametrize("name", ["minute", "epoch_s", "time_ms", "Unix Time", "sample_index", "hours"])
def test_a_first_column_that_counts_named_as_times_or_rows_is_the_time_column(tmp_path, name: str) -> None:
    path = write(tmp_path, "m.csv", f"{name},a\n" + "".join(f"{100 + 5 * i},{i % 7}.5\n" for i in range(40)))
    table = read_table(path)
    assert table.time_name == name and table.columns == ["a"]
    np.testing.assert_array_equal(table.time, 100 + 5 * np.arange(40))


@pytest.mark.parametrize(("name", "step", "seconds"), [("hours", 0.25, 900.0), ("min", 0.1, 6.0), ("h", 1.5, 5400.0),
                                                     ("ms", 0.5, 5e-4)])
def test_a_first_column_named_by_a_unit_that_rises_in_fractions_is_the_time_column(tmp_path, name, step,
                                                                                    seconds) -> None:
    # 'hours' at 0, 0.25, 0.5 ... was a sensor: a 5-sensor detector that assumed 1 s between samples
    from tsae.io.tables import median_step

    times = 3.0 + step * np.arange(400)
    times[200:] += step  # a row skipped
    path = write(tmp_path, "f.csv", f"{name},a\n" + "".join(f"{t:.4f},{i % 7}.5\n" for i, t in enumerate(times)))
    table = read_table(path)
    assert table.time_name == name and table.columns == ["a"]
    np.testing.assert_allclose(table.time, times)
    assert median_step(table.time, table.time_name) == pytest.approx(seconds)


@pytest.mark.parametrize(("name", "cells"), [
    ("temp", [f"{0.25 * i:.2f}" for i in range(40)]),  # not a unit's name
    ("hours", [f"{0.25 * i + 0.01 * (i % 3):.2f}" for i in range(40)]),  # uneven
    ("hours", [f"{0.25 * i:.2f}" for i in range(20)] + [f"{5 - 0.25 * i:.2f}" for i in range(20)]),  # turns back
])
def test_a_first_column_of_fractions_that_does_not_rise_evenly_or_is_not_named_by_a_unit_is_a_channel(
        tmp_path, name, cells) -> None:
    table = read_table(write(tmp_path, "g.csv", f"{name},a\n" + "".join(f"{c},{i % 7}.5\n" for i, c in
                                                                          enumerate(cells))))
    assert table.time is None and table.columns == [name, "a"]


@pytest.mark.parametrize("first", ["", "Unnamed: 0"])
def test_a_pandas_index_that_counts_is_still_the_time_column(tmp_path, first: str) -> None:
    path = write(tmp_path, "p.csv", f"{first},count,temp\n" + "".join(f"{i},{i},{i % 7}.5\n" for i in range(40)))
    table = read_table(path)
    assert table.columns == ["count", "temp"]  # the index is the time column, the counter a channel
    np.testing.assert_array_equal(table.time, np.arange(40))


def test_lines_ending_in_the_delimiter_have_no_last_column(tmp_path) -> None:
    # a third channel 'column2' of all NaN: smooth, train and impute failed ("a channel has no finite values")
    table = read_table(write(tmp_path, "t.csv", "a,b,\n1,2,\n3,4,\n5,6,\n"))
    assert table.columns == ["a", "b"]
    np.testing.assert_array_equal(table.values, [[1, 3, 5], [2, 4, 6]])
    timed = read_table(write(tmp_path, "s.csv", "time;a;\n0;1,5;\n1;2,5;\n2;3,5;\n"))
    assert timed.columns == ["a"] and timed.time_name == "time"
    np.testing.assert_array_equal(timed.values, [[1.5, 2.5, 3.5]])
    # headerless: the first row was taken for a header (names '1', '2'), its numbers lost
    headerless = read_table(write(tmp_path, "h.csv", "1,2,\n3,4,\n5,6,\n"))
    assert headerless.columns == ["ch0", "ch1"]
    np.testing.assert_array_equal(headerless.values, [[1, 3, 5], [2, 4, 6]])


def test_a_last_column_with_a_name_or_a_cell_is_kept(tmp_path) -> None:
    named = read_table(write(tmp_path, "n.csv", "a,b,c\n1,2,\n3,4,\n"))
    assert named.columns == ["a", "b", "c"] and np.isnan(named.values[2]).all()
    late = read_table(write(tmp_path, "l.csv", "a,b,\n1,2,\n3,4,7\n"))
    assert late.columns == ["a", "b", "column2"]
    np.testing.assert_array_equal(late.values[2], [np.nan, 7])
    missing = read_table(write(tmp_path, "m.csv", "a,b,\n1,2,NA\n3,4,\n"))  # a missing-value token is a cell
    assert missing.columns == ["a", "b", "column2"]


def _badtime(path: Path, bad: str, dates: bool) -> Path:
    rows = [f"{f'2024-01-01T00:{i // 60:02d}:{i % 60:02d}' if dates else i},{i % 7},{i % 5}" for i in range(50)]
    rows[5] = f"{bad},{rows[5].split(',', 1)[1]}"
    path.write_text("time,s1,s2\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("dates", [False, True])
def test_a_bad_cell_in_the_time_column_is_named_by_its_own_line(tmp_path, dates: bool) -> None:
    # numbers with one 'garbage': "neither numbers nor dates (line 2: '0')", the first number (which is no date)
    path = _badtime(tmp_path / "test_badtime.csv", "garbage", dates)
    with pytest.raises(ValueError) as info:
        read_table(path)
    assert str(info.value) == f"{path}: time column 'time' is neither numbers nor dates (line 7: 'garbage')"


def test_a_first_time_cell_that_is_neither_is_named(tmp_path) -> None:
    path = tmp_path / "first.csv"
    path.write_text("time,s1\nsoon,1\n" + "".join(f"{i},{i % 7}\n" for i in range(1, 30)))
    with pytest.raises(ValueError, match=r"first\.csv: time column 'time' is neither numbers nor dates "
                                         r"\(line 2: 'soon'\)"):
        read_table(path)


def test_an_excel_sep_line_names_the_delimiter_and_is_no_row(tmp_path) -> None:
    # Excel's "sep=;" first line was taken for the header: "line 2 has 3 fields, expected 2"
    rows = "".join(f"{i};{i},5;{2 * i}\r\n" for i in range(5))
    for first in ("sep=;", '"sep=;"', "SEP=;"):
        table = read_table(write(tmp_path, "s.csv", f"{first}\r\ntime;a;b\r\n{rows}"))
        assert table.columns == ["a", "b"] and table.time_name == "time"
        np.testing.assert_array_equal(table.values[0], [0.5, 1.5, 2.5, 3.5, 4.5])
    comma = read_table(write(tmp_path, "c.csv", "sep=,\ntime,a\n0,1.5\n1,2.5\n"))
    np.testing.assert_array_equal(comma.values, [[1.5, 2.5]])
    with pytest.raises(ValueError, match=r"^\S+o\.csv: line 1: 'sep=:' names a delimiter that is not one of"):
        read_table(write(tmp_path, "o.csv", "sep=:\ntime:a\n0:1\n"))


def test_the_sep_line_is_read_once_for_both_the_delimiter_and_the_rows_to_skip(tmp_path, monkeypatch) -> None:
    # read_table parsed Excel's sep= line itself (for the lines to skip) and again in the dialect sniffer
    from tsae.io import table_dialect
    calls: list[str] = []
    real = table_dialect._SEP_LINE

    class Counting:
        def match(self, line: str):  # type: ignore[no-untyped-def]
            calls.append(line)
            return real.match(line)

    monkeypatch.setattr(table_dialect, "_SEP_LINE", Counting())
    table = read_table(write(tmp_path, "s.csv", "sep=|\ntime|a\n0|1.5\n1|2.5\n"))
    assert len(calls) == 1 and table.columns == ["a"]
    assert table_dialect.table_dialect("sep=|\ntime|a\n", ".csv")[1] == 1
    dialect, skip = table_dialect.table_dialect("time|a\n0|1\n1|2\n", ".csv")
    assert (dialect.delimiter, skip) == ("|", 0)


def test_lines_ending_in_several_delimiters_have_no_last_columns(tmp_path) -> None:
    # a sheet whose used range is wider than its data: 'column3', 'column4' of all NaN, and every command failed
    table = read_table(write(tmp_path, "t.csv", "time,a,b,,,\n0,1,2,,,\n1,3,4,,,\n,,,,,\n"))
    assert table.columns == ["a", "b"]
    np.testing.assert_array_equal(table.values, [[1, 3], [2, 4]])
    headerless = read_table(write(tmp_path, "h.csv", "1,2,,\n3,4,,\n5,6,,\n"))  # was a header '1', '2'
    assert headerless.columns == ["ch0", "ch1"]
    np.testing.assert_array_equal(headerless.values, [[1, 3, 5], [2, 4, 6]])
    kept = read_table(write(tmp_path, "k.csv", "a,b,,,\n1,2,7,,\n3,4,,,\n"))  # a cell: that column and those left
    assert kept.columns == ["a", "b", "column2"]


@pytest.mark.parametrize(("header", "ends"), [("time,a,b,", ["\n"]), ("time;a;b;;", [";\n"]),
                                             ("time,a,b,,", [",,\n", "\n"])])
def test_rows_without_the_delimiters_a_header_line_ends_in_are_read(tmp_path, header, ends) -> None:
    # a header ending in delimiters above rows that do not: "line 2 has 3 fields, expected 4"
    sep = header[4]
    rows = "".join(f"{i}{sep}{i + 1}{sep}{2 * i}{ends[i % len(ends)]}" for i in range(30))
    table = read_table(write(tmp_path, "t.csv", header + "\n" + rows))
    assert table.columns == ["a", "b"] and table.time_name == "time"
    np.testing.assert_array_equal(table.values, [np.arange(1, 31), 2 * np.arange(30)])


def test_a_row_short_of_a_named_column_is_still_ragged(tmp_path) -> None:
    with pytest.raises(ValueError, match="line 2 has 3 fields, expected 4"):
        read_table(write(tmp_path, "t.csv", "time,a,b,c\n0,1,2\n"))
    with pytest.raises(ValueError, match="line 3 has 2 fields, expected 4"):  # short of more than the blank tail
        read_table(write(tmp_path, "u.csv", "time,a,b,\n0,1,2\n1,3\n"))


@pytest.mark.parametrize(("start", "step", "name"), [(1_709_251_200_000, 1000, "ts"),
                                                     (1_709_251_200_000_000, 10**6, "time"),
                                                     (1_709_251_200_000_000_000, 10**9, "timestamp")])
def test_epoch_milli_micro_and_nanoseconds_are_seconds_apart_as_they_say(tmp_path, start, step, name) -> None:
    # read as seconds: 1000 s between samples of epoch milliseconds 1 s apart (detect fit's alarm budget, rates)
    from tsae.io.tables import median_step

    path = write(tmp_path, "e.csv", f"{name},a\n" + "".join(f"{start + 2 * i * step},{i % 5}\n" for i in range(40)))
    table = read_table(path)
    assert table.time_name == name
    assert median_step(table.time, table.time_name) == pytest.approx(2.0)
    assert table.sample_rate() == pytest.approx(0.5)
    assert median_step(np.array([0.0, 2.0, 4.0]), "time") == 2.0  # seconds from 0 stay seconds


def test_a_first_column_of_epoch_nanoseconds_is_the_time_column_and_written_whole(tmp_path) -> None:
    # beyond 2**53 it did not "count": 'epoch_ns' became a sensor of 1.7e18; and a time column was written 1.7e+18
    rows = "".join(f"{1_709_251_200_000_000_000 + i * 10**9 + (i % 3) * 7},{i % 5}\n" for i in range(40))
    table = read_table(write(tmp_path, "n.csv", "epoch_ns,a\n" + rows))
    assert table.time_name == "epoch_ns" and table.columns == ["a"]
    out = write_table(tmp_path / "o.csv", {"a": table.values[0]}, table.time, table.time_name)
    second = out.read_text().splitlines()[2]
    assert second.startswith("17092512010000000") and "e" not in second.split(",")[0]
    np.testing.assert_array_equal(read_table(out).time, table.time)


@pytest.mark.parametrize(("head", "what"), [(b"PK\x03\x04", "a zip archive or an Excel .xlsx workbook"),
                                            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook")])
def test_a_zip_or_a_workbook_is_named_as_such(tmp_path, head: bytes, what: str) -> None:
    path = tmp_path / "sheet.csv"
    path.write_bytes(head + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=rf"^\S+sheet\.csv: {what}, not a text table \("):
        read_table(path)


def test_spreadsheet_formula_errors_are_missing_values(tmp_path) -> None:
    cells = ["#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#N/A", "1.5"]
    table = read_table(write(tmp_path, "x.csv", "a,b\n" + "".join(f"{i},{c}\n" for i, c in enumerate(cells))))
    np.testing.assert_array_equal(table.values[1], [np.nan] * 7 + [1.5])


def test_a_row_beginning_with_a_formula_error_is_a_row_not_a_comment(tmp_path) -> None:
    # "#N/A" in a row's first cell made the row a "#" comment line: dropped without a word, the later rows a sample
    # early (a one-column sheet lost every #N/A row)
    table = read_table(write(tmp_path, "x.csv", "a,b\n1,2\n#N/A,3\n#DIV/0!,4\n5,6\n# a note\n7,8\n"))
    np.testing.assert_array_equal(table.values, [[1, np.nan, np.nan, 5, 7], [2, 3, 4, 6, 8]])
    one = read_table(write(tmp_path, "y.csv", "flow\n1\n#N/A\n3\n"))
    np.testing.assert_array_equal(one.values, [[1, np.nan, 3]])


def test_notes_above_the_header_are_suggested_by_the_ragged_row_error(tmp_path) -> None:
    text = "Device: logger 7\nExported: 2024-03-01 10:00\n\ntime,a,b\n0,1,2\n"
    with pytest.raises(ValueError, match=r"line 4 has 3 fields, expected 1 as the header on line 1 has \(a title"):
        read_table(write(tmp_path, "n.csv", text))
    with pytest.raises(ValueError, match=r"line 3 has 1 fields, expected 2$"):  # shorter: no guess
        read_table(write(tmp_path, "r.csv", "a,b\n1,2\n3\n"))
    with pytest.raises(ValueError, match=r"line 3 has 3 fields, expected 2$"):  # a lone long row: no guess either
        read_table(write(tmp_path, "l.csv", "a,b\n1,2\n3,4,5\n6,7\n"))


def test_a_time_column_of_12_hour_times_is_refused_without_a_numpy_warning(tmp_path) -> None:
    path = write(tmp_path, "p.csv", "time,a\n2024-03-01 12:00:00 AM,1\n2024-03-01 12:05:00 AM,2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"time column 'time' is neither numbers nor dates \(line 2"):
            read_table(path)


def test_an_influxdb_export_in_long_form_is_read_pivoted(tmp_path) -> None:
    # it said "line 5, column '_start': not a number", which does not say what the file is or what to do; then it
    # was refused with the pivot to do first; now it is read pivoted (tests/io/test_influx_tables.py)
    text = ("#group,false,false,true,true,false,false,true,true\n"
            "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string\n"
            ",result,table,_start,_stop,_time,_value,_field,_measurement\n"
            + "".join(f",,0,2024-03-01T00:00:00Z,2024-03-02T00:00:00Z,2024-03-01T00:0{i}:00Z,21.{i},temp,room\n"
                      for i in range(5)))
    table = read_table(write(tmp_path, "influx.csv", text))
    assert table.columns == ["temp"] and table.time_name == "_time" and table.values.tolist() == [
        [21.0, 21.1, 21.2, 21.3, 21.4]]
    rows = "".join(f"{i},{i}.5,1\n" for i in range(20))
    wide = read_table(write(tmp_path, "wide.csv", "time,temp,_value\n" + rows))  # _value alone: a column
    assert wide.columns == ["temp", "_value"]


@pytest.mark.parametrize("name,warned", [("Date", True), ("time", True), ("Timestamp", True), ("t", True),
                                         ("time_s", False), ("seconds", False), ("minute", False)])
def test_excel_serial_dates_in_a_time_column_are_warned_of_not_read_as_dates(tmp_path, name, warned) -> None:
    # before: 45292.25 (2024-01-01 06:00 in Excel) was read as seconds without a word: a 1-minute log at 1440 Hz
    rows = "".join(f"{45292.25 + i / 1440!r},{i % 7}\n" for i in range(50))
    path = write(tmp_path, "x.csv", f"{name},flow\n{rows}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_table(path)
    assert table.time_name == name and table.time is not None and table.time[0] == 45292.25  # seconds still
    messages = [str(w.message) for w in caught]
    if warned:
        assert len(messages) == 1 and messages[0].startswith(f"{path}: time column {name!r} holds numbers 45292.25 ")
        assert "Excel serial dates" in messages[0] and "name the column time_s" in messages[0]
    else:
        assert messages == []


def test_numbers_outside_excel_serial_days_in_a_date_column_are_not_warned_of(tmp_path) -> None:
    rows = "".join(f"{10_000 + i},{i}\n" for i in range(50))  # seconds below 1954's serial days
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_table(write(tmp_path, "x.csv", f"date,flow\n{rows}")).time_name == "date"


@pytest.mark.parametrize(("cell", "why"), [
    ("01/02/2024 10:00", "slashed dates are not read (which is the day?): save them as 2024-02-01 or 01.02.2024"),
    ("2024/02/01", "slashed dates are not read (which is the day?): save them as 2024-02-01 or 01.02.2024"),
    ("2024-02-01 10:00 PM", "12-hour times (AM/PM) are not read: save them as 24-hour times"),
    ("01.02.2024 10:00:00 a.m.", "12-hour times (AM/PM) are not read: save them as 24-hour times"),
])
def test_slashed_dates_and_12_hour_times_are_refused_saying_why(tmp_path, cell: str, why: str) -> None:
    # the line named the cell but not what was wrong with it ("neither numbers nor dates (line 2: '01/02/2024')")
    path = tmp_path / "t.csv"
    path.write_text(f"time,a\n{cell},1\n{cell},2\n")
    with pytest.raises(ValueError) as info:
        read_table(path)
    assert str(info.value) == f"{path}: time column 'time' is neither numbers nor dates (line 2: {cell!r}: {why})"


def test_whole_numbers_that_float64_rounds_are_told(tmp_path) -> None:
    # before: a 64-bit counter's 9007199254740993 was read as 9007199254740992 without a word, and impute, which
    # writes observed samples unchanged, wrote it back changed
    from tsae.io.tables import TableWarning

    # rounded: the odd counts (150), and 2**60 + 2i but where 2i is a multiple of 256, float64's step there (297)
    rows = [f"{i},{2**53 + i},{2**60 + 2 * i},{i / 2}" for i in range(300)]
    path = write(tmp_path, "big.csv", "time,count,big,x\n" + "\n".join(rows) + "\n")
    with pytest.warns(TableWarning) as caught:
        table = read_table(path)
    assert [str(w.message) for w in caught] == [
        f"{path}: 447 whole number(s) beyond 2**53 are rounded to float64's nearest (column 'count', line 3: "
        "9007199254740993 is read as 9007199254740992)"]
    assert table.values[0, 1] == 2.0**53
    # exact ones, exponent forms and epoch-nanosecond times are not
    rows = [f"{1_700_000_000_000_000_000 + i * 10**9},{2**53 + 2 * i},1e17,{i}" for i in range(300)]
    path = write(tmp_path, "exact.csv", "time_ns,even,exp,x\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_table(path)


@pytest.mark.parametrize("chunk", [None, 4])  # one chunk; the cells that decide in other chunks than the first bad
def test_text_columns_tell_a_column_of_words_from_numbers_with_a_cell_of_text(tmp_path, monkeypatch, chunk) -> None:
    # `detect fit` leaves a column of words out but not a sensor's column with a cell of text: the reader says which
    from tsae.io import tables

    if chunk is not None:
        monkeypatch.setattr(tables, "READ_ROWS", chunk)
    rows = [f"{i},{i / 2},{'' if i % 3 else 'ok'},{'ERR' if i == 1 else ''},{'oops' if i == 0 else i if i == 9 else ''}"
            for i in range(12)]
    path = write(tmp_path, "t.csv", "time,x,status,glitch,late\n" + "\n".join(rows) + "\n")
    table = read_table(path, text_columns=True)
    assert table.columns == ["x"] and table.values[0, 4] == 2.0
    assert table.text_columns == {"status": "line 2, column 'status': not a number ('ok')",
                                  "glitch": "line 3, column 'glitch': not a number ('ERR')",
                                  "late": "line 2, column 'late': not a number ('oops')"}
    assert table.mixed_columns == ["late"]
    # with no column but text: a column of numbers with a cell of text is that cell's error, else none is numbers
    path = write(tmp_path, "words.csv", "time,status,x\n0,ok,1\n1,ok,bad\n")
    with pytest.raises(ValueError) as info:
        read_table(path, text_columns=True)
    assert str(info.value) == f"{path}: line 3, column 'x': not a number ('bad')"
    path = write(tmp_path, "status.csv", "time,status,note\n0,ok,\n1,ok,fine\n")
    with pytest.raises(ValueError) as info:
        read_table(path, text_columns=True)
    assert str(info.value) == f"{path}: no numeric data columns (column(s) 'status', 'note' hold text)"


def test_a_row_of_empty_cells_between_rows_is_a_sample_with_every_value_missing(tmp_path) -> None:
    # `a,b / 1,2 / , / 3,4` was read as two samples: the empty row was dropped and every later row moved up one
    path = tmp_path / "gap.csv"
    path.write_text(",,\na,b\n1,2\n,\n3,4\n5,6\n,\n,\n")  # empty rows before the header and at the end: none
    values, _, meta = read_series(path)
    np.testing.assert_array_equal(values, [[1, np.nan, 3, 5], [2, np.nan, 4, 6]])
    assert meta["columns"] == ["a", "b"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
@pytest.mark.parametrize("command", [["smooth", "{fifo}", "-o", "{out}"],
                                     ["train", "{fifo}", "--window", "8", "--epochs", "1", "-o", "{out}.tsae"]])
def test_a_table_given_as_a_named_pipe_is_read_never_waited_on(tmp_path: Path, command: list[str]) -> None:
    """`tsae train <(zcat x.csv.gz)`: a table is opened several times (its compression, its encoding, its
    dialect, its rows); the second open of a pipe waited for a writer that never came. The commands copy a pipe to
    a temporary file and read that (tests/cli/test_stdin_tables.py)."""
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    script = ("import sys, time\n"
              "with open(sys.argv[1], 'w') as f:\n    f.write('a,b\\n' + '1,2\\n' * 100)\n")
    writer = subprocess.Popen([sys.executable, "-c", script, str(fifo)])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                                      os.environ.get("PYTHONPATH")]))}
    args = [a.format(fifo=fifo, out=tmp_path / "out.csv") for a in command]
    try:
        proc = subprocess.run([sys.executable, "-m", "tsae", *args], capture_output=True, text=True, env=env,
                              timeout=120)
    finally:
        writer.kill()
        writer.wait()
    assert proc.returncode == 0, proc.stderr
    if command[0] == "smooth":
        assert (tmp_path / "out.csv").read_text().startswith("a,b\n1")
    else:  # train copies a pipe among its inputs as the one-table commands do (it was refused before)
        assert (tmp_path / "out.csv.tsae").stat().st_size > 0
