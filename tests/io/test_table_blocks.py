"""A long table read in blocks (two passes, tsae.io.table_blocks) is the table read whole: values, time, label,
names, errors and warnings."""
from __future__ import annotations

import gzip
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tsae.io.tables as tables
from tsae.io.blocks import iter_blocks
from tsae.io.table_blocks import TableSource, open_table_blocks
from tsae.io.tables import read_table


def read_whole(path: Path, **options: Any) -> tuple[Any, list[str]]:
    """``(Table or the error's message, the warnings)`` of read_table."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: Any = read_table(path, **options)
        except ValueError as error:
            result = str(error)
    return result, [str(w.message) for w in caught]


def read_blocks(path: Path, size: int = 50, **options: Any) -> tuple[Any, list[str]]:
    """``((source, values joined from its blocks) or the error's message, the warnings)`` of open_table_blocks."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            source = open_table_blocks(path, **options)
            blocks = list(iter_blocks(source, size))
            assert all(block.shape[0] == source.channels and block.shape[1] <= size for block in blocks)
            result: Any = (source, np.concatenate(blocks, axis=1))
        except ValueError as error:
            result = str(error)
    return result, [str(w.message) for w in caught]


def assert_same(path: Path, **options: Any) -> TableSource | None:
    """The blocks of ``path`` hold what read_table gives, with the same warnings (or the same error)."""
    whole, told = read_whole(path, **options)
    blocks, told_blocks = read_blocks(path, **options)
    assert told_blocks == told
    if isinstance(whole, str):
        assert blocks == whole
        return None
    assert not isinstance(blocks, str), blocks
    source, values = blocks
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, whole.values)  # NaN where NaN
    assert (source.channels, source.n) == whole.values.shape
    assert source.columns == whole.columns and source.meta["columns"] == whole.columns
    assert (source.time_name, source.label_name, source.time_utc) == (whole.time_name, whole.label_name,
                                                                      whole.time_utc)
    assert source.text_columns == whole.text_columns and source.mixed_columns == whole.mixed_columns
    assert source.rate == whole.sample_rate()
    for part, full in ((source.time, whole.time), (source.label, whole.label)):
        assert (part is None) == (full is None)
        if part is not None and full is not None:
            assert part.dtype == full.dtype
            np.testing.assert_array_equal(part, full)
    valued = [bool(np.isfinite(row).any()) for row in whole.values] if not options.get("exact") else None
    if valued is not None:
        assert source.valued.tolist() == valued
    return source


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch) -> None:
    monkeypatch.setattr(tables, "READ_ROWS", 64)  # many chunks, each decided on as a long file's


N = 1000
LATE = 900  # beyond the first chunks and the 200 rows each column's kind is judged on


def write(path: Path, header: str, rows: list[str], compress: bool = False) -> Path:
    text = header + "\n" + "".join(row + "\n" for row in rows)
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def body(n: int = N, sep: str = ",") -> list[str]:
    rng = np.random.default_rng(3)
    return [sep.join([str(i), f"{rng.normal():.5f}", "" if i % 17 == 0 else f"{i % 11}", str(i % 2)])
            for i in range(n)]


def test_a_plain_table_with_time_and_label(tmp_path) -> None:
    source = assert_same(write(tmp_path / "t.csv", "time,a,b,label", body()))
    assert source is not None and source.channels == 2 and source.label is not None


def test_gzip_and_the_source_read_again(tmp_path) -> None:
    path = write(tmp_path / "t.csv.gz", "time,a,b,label", body(), compress=True)
    source = assert_same(path)
    assert source is not None
    again = source.reopen()
    np.testing.assert_array_equal(np.concatenate(list(iter_blocks(again, 333)), axis=1), read_table(path).values)


@pytest.mark.parametrize("case", ["ragged", "word", "word_in_time", "word_in_label", "dup", "header_only",
                                  "no_date_late", "empty"])
def test_errors_late_in_the_file_are_read_tables(tmp_path, case) -> None:
    rows, header = body(), "time,a,b,label"
    if case == "ragged":
        rows[LATE] = "1,2"
    elif case == "word":
        rows[LATE] = f"{LATE},1.5,oops,0"
    elif case == "word_in_time":
        rows[LATE] = "x,1.5,2,0"
    elif case == "word_in_label":
        rows[LATE] = f"{LATE},1.5,2,spike"
    elif case == "dup":
        header = "time,a,a,label"
    elif case == "header_only":
        rows = []
    elif case == "no_date_late":
        header, rows = "time,a", [f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d},{i}" for i in range(N)]
        rows[LATE] = f"2024-13-45,{LATE}"
    elif case == "empty":
        header, rows = "", []
    path = tmp_path / "t.csv"
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows) if header else "")
    whole, _ = read_whole(path)
    assert isinstance(whole, str)  # each is an error
    assert_same(path)


def test_text_columns_left_out_as_read_table_leaves_them(tmp_path) -> None:
    rows = [f"{r},{'ok' if i % 3 else 'idle'}" for i, r in enumerate(body())]
    rows[LATE] = f"{LATE},glitch,1,0,ok"
    path = write(tmp_path / "t.csv", "time,a,b,label,status", rows)
    assert isinstance(read_whole(path)[0], str)
    source = assert_same(path, text_columns=True)
    assert source is not None and source.columns == ["b"] and source.mixed_columns == ["a"]
    assert set(source.text_columns) == {"a", "status"}


def test_decimal_commas_decided_late(tmp_path) -> None:
    rows = [f"{i};{i % 9};{-i}" for i in range(N)]  # no decimal mark until late
    rows[LATE] = f"{LATE};2,5;-1,25"
    source = assert_same(write(tmp_path / "t.csv", "time;a;b", rows))
    assert source is not None
    rows[LATE + 10] = f"{LATE + 10};2.5;1"  # the other mark later: an error
    assert_same(write(tmp_path / "mixed.csv", "time;a;b", rows))


@pytest.mark.parametrize("zone", ["Z", "+02:00"])
def test_dates_with_z_or_an_offset(tmp_path, zone) -> None:
    stamps = np.datetime_as_string(np.datetime64("2024-03-01T12:00:00") + np.arange(N) * np.timedelta64(250, "ms"),
                                   unit="ms")
    rows = [f"{stamp}{zone},{i % 13}.5" for i, stamp in enumerate(stamps)]
    source = assert_same(write(tmp_path / "t.csv", "timestamp,a", rows))
    assert source is not None and source.time is not None and source.time.dtype.kind == "M" and source.time_utc
    assert source.rate == pytest.approx(4.0)
    # dates in a column not named like a time column: the time column all the same
    source = assert_same(write(tmp_path / "when.csv", "when,a", rows))
    assert source is not None and source.time_name == "when"


def test_a_counter_that_stops_counting_late_is_a_channel(tmp_path) -> None:
    rows = [f"{i},{i % 7}" for i in range(N)]
    source = assert_same(write(tmp_path / "counts.csv", "minute,a", rows))
    assert source is not None and source.time_name == "minute"
    rows[LATE:] = [f"{5 * i},{i % 7}" for i in range(LATE, N)]
    source = assert_same(write(tmp_path / "stops.csv", "minute,a", rows))
    assert source is not None and source.time is None and source.columns == ["minute", "a"]
    source = assert_same(write(tmp_path / "headerless.csv", "0,0", rows[1:]))
    assert source is not None and source.time is None


def test_blank_tail_columns(tmp_path) -> None:
    rows = [f"{i},{i % 5},,," for i in range(N)]
    source = assert_same(write(tmp_path / "blank.csv", "time,a,,,", rows))
    assert source is not None and source.columns == ["a"]
    rows[LATE] = f"{LATE},1,,7,"  # a cell in an unnamed column late: a column after all
    source = assert_same(write(tmp_path / "late.csv", "time,a,,,", rows))
    assert source is not None and source.columns == ["a", "column2", "column3"]


def test_absurd_and_rounded_cells_warned_alike(tmp_path) -> None:
    rows = [f"{i},{i % 5},{2**53 + 1 if i == LATE else i}" for i in range(N)]
    rows[LATE - 1] = f"{LATE - 1},1e300,-inf"
    rows[10] = "10,inf,"
    path = write(tmp_path / "t.csv", "time,a,b", rows)
    assert len(read_whole(path)[1]) == 2  # rounded, then absurd
    assert_same(path)
    assert_same(path, exact=True)


def test_a_channel_without_values(tmp_path) -> None:
    rows = [f"{i},{i % 5},,{'inf' if i % 2 else 'NA'}" for i in range(N)]
    source = assert_same(write(tmp_path / "t.csv", "time,a,b,c", rows))
    assert source is not None and source.valued.tolist() == [True, False, False]


def test_a_file_that_changes_between_the_passes_is_an_error(tmp_path) -> None:
    path = write(tmp_path / "t.csv", "time,a,b,label", body())
    source = open_table_blocks(path)
    write(path, "time,a,b,label", body(N - 1))
    with pytest.raises(ValueError, match="it changed while it was read"):
        list(iter_blocks(source, 100))


@pytest.mark.parametrize("how", ["replaced", "rewritten"])
def test_a_file_replaced_between_the_passes_by_one_of_its_shape_is_an_error(tmp_path, how) -> None:
    # before: the second pass read the other file's values beside the first one's times and labels, silently
    path = write(tmp_path / "t.csv", "time,a,b,label", body())
    source = open_table_blocks(path)
    if how == "replaced":  # a new file renamed onto the name, as an editor or a log rotation does
        other = [f"{i},{float(a) + 1:.5f},{b},{label}" for i, a, b, label in (row.split(",") for row in body())]
        os.replace(write(tmp_path / "new.csv", "time,a,b,label", other), path)
    else:  # the same file rewritten in place, as long as it was (its labels swapped)
        stamp = path.stat().st_mtime_ns
        write(path, "time,a,b,label", [row[:-1] + ("0" if row[-1] == "1" else "1") for row in body()])
        os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    with pytest.raises(ValueError, match=r"t\.csv: cannot read \(it changed while it was read\)"):
        list(iter_blocks(source, 100))


def test_rows_a_logger_appends_between_the_passes_are_not_read(tmp_path) -> None:
    # a sensor log still being written: the second pass read the new rows too and called the file changed
    path = write(tmp_path / "t.csv", "time,a,b,label", body())
    whole = read_table(path)
    source = open_table_blocks(path)
    with path.open("a") as handle:
        handle.write("".join(row + "\n" for row in body(N + 50)[N:]) + "99999,1.5,")  # the last line half written
    values = np.concatenate(list(iter_blocks(source, 100)), axis=1)
    np.testing.assert_array_equal(values, whole.values)


def test_a_label_of_words_a_tsv_and_excel_sep_line(tmp_path) -> None:
    rows = [f"{i}\t{i % 7},5\t{['normal', 'spike', 'slow drift'][i % 3] if i > LATE else 'normal'}" for i in range(N)]
    source = assert_same(write(tmp_path / "t.tsv", "time\ta\tlabel", rows))
    assert source is not None and source.label is not None and source.label.dtype.kind == "U"
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\nt;a;b\n" + "".join(f"{i};{i % 3},25;{-i}\n" for i in range(N)))
    source = assert_same(path)
    assert source is not None and source.columns == ["a", "b"]


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_a_compressed_table_is_long_by_its_text_not_its_bytes_on_disk(tmp_path, monkeypatch, suffix) -> None:
    import bz2
    import lzma

    import tsae.io.table_blocks as table_blocks

    text = ("time,a\n" + "".join(f"{i},{(i * 7919) % 1000 / 10}\n" for i in range(300_000))).encode()
    compress = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix]
    path = tmp_path / f"t.csv{suffix}"
    path.write_bytes(compress(text))
    assert path.stat().st_size < len(text) / 4
    for bound, long in ((len(text) - 1, True), (len(text), False)):  # within its first bytes: its text counted
        monkeypatch.setattr(table_blocks, "LONG_TABLE_BYTES", bound)
        assert table_blocks.is_long_table(path) is long
    monkeypatch.setattr(table_blocks, "RATIO_PREFIX", 1 << 18)  # beyond them: estimated from their ratio
    for bound, long in ((len(text) // 2, True), (2 * len(text), False)):
        monkeypatch.setattr(table_blocks, "LONG_TABLE_BYTES", bound)
        assert table_blocks.is_long_table(path) is long
    monkeypatch.setattr(table_blocks, "LONG_TABLE_BYTES", path.stat().st_size - 1)  # bytes on disk: long already
    assert table_blocks.is_long_table(path)
    path.write_bytes(compress(text)[:1000] + b"\x00" * 1000)  # broken: the reader tells what is wrong with it
    monkeypatch.setattr(table_blocks, "LONG_TABLE_BYTES", 1 << 20)
    assert not table_blocks.is_long_table(path)
    with pytest.raises(ValueError, match=str(path)):
        read_table(path)


@pytest.mark.parametrize("header", ["flow\n", ""])
def test_a_one_column_tables_blank_line_is_its_missing_value(tmp_path, monkeypatch, header) -> None:
    # a one-column sheet saved as CSV (or pandas' to_csv of a NaN) writes an empty cell as a blank line: it was
    # skipped, every later sample moved one step earlier and `tsae impute` wrote one row fewer than it read
    monkeypatch.setattr(tables, "READ_ROWS", 64)  # blank lines on both sides of chunk boundaries
    values = [float(i % 17) for i in range(400)]
    holes = [3, 63, 64, 65, 200, 201, 398]
    lines = ["" if i in holes else repr(v) for i, v in enumerate(values)]
    path = tmp_path / "one.csv"
    path.write_text(header + "\n".join(lines) + "\n\n\n")  # blank lines after the last row: no rows
    assert_same(path)
    table = read_table(path)
    expected = np.array(values)
    expected[holes] = np.nan
    np.testing.assert_array_equal(table.values[0], expected)
    two = tmp_path / "two.csv"  # a blank line among rows of two cells is none, as before
    two.write_text("a,b\n1,2\n\n3,4\n")
    np.testing.assert_array_equal(read_table(two).values, [[1, 3], [2, 4]])
