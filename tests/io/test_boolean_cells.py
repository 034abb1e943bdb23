"""A boolean is the number 1 or 0 wherever a sensor's number is read: in a table (pandas writes a bool column as
True/False) and in every record format of ``tsae monitor`` (line protocol and Telegraf JSON read them so already).
Before, a table refused ``true`` in a column of numbers and left a column of True/False out as text, a CSV record
holding one was malformed, and so was a JSON record whose only sensor value was ``true``."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tsae.io.records import RecordParser
from tsae.io.series import read_series, write_series
from tsae.io.tables import COMPILED_FROM_ROW, read_table


def test_a_boolean_cell_in_a_column_of_numbers_is_1_or_0(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,a,b\n0,true,1.5\n1,FALSE,2.5\n2, True ,3.5\n3,0.25,false\n")
    table = read_table(path)
    assert table.columns == ["a", "b"]
    np.testing.assert_array_equal(table.values, [[1, 0, 1, 0.25], [1.5, 2.5, 3.5, 0]])


def test_booleans_with_decimal_commas_are_1_or_0(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time;a\n0;1,5\n1;True\n2;false\n")
    np.testing.assert_array_equal(read_table(path).values, [[1.5, 1, 0]])


def test_a_column_of_booleans_is_a_0_1_sensor_and_a_label_of_them_is_kept_as_written(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,a,on,label\n" + "".join(f"{i},{i * 0.5},{i % 3 == 0},{i == 4}\n" for i in range(8)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no column left out as text
        values, _, meta = read_series(path)
    assert meta["columns"] == ["a", "on"]
    np.testing.assert_array_equal(values[1], [1, 0, 0, 1, 0, 0, 1, 0])
    assert meta["label"].tolist() == ["False"] * 4 + ["True"] + ["False"] * 3
    out = write_series(tmp_path / "o.csv", values, None, meta)
    lines = out.read_text().splitlines()
    assert lines[0] == "time,a,on,label" and lines[1].endswith(",False") and lines[5].endswith(",True")
    np.testing.assert_array_equal(read_table(out).values, values)


def test_a_long_column_of_booleans_is_read_by_the_compiled_loop_alike(tmp_path) -> None:
    n = COMPILED_FROM_ROW + 1000
    flags = np.arange(n) % 5 == 0
    path = tmp_path / "t.csv"
    with open(path, "w") as f:
        f.write("time,a,on\n")
        f.writelines(f"{i},{i % 7}.5,{flag}\n" for i, flag in enumerate(flags.tolist()))
    table = read_table(path)
    np.testing.assert_array_equal(table.values[1], flags)
    np.testing.assert_array_equal(table.values[0], np.arange(n) % 7 + 0.5)


def test_a_one_letter_t_or_f_is_no_boolean_in_a_table(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,a\n0,1\n1,t\n")  # line protocol's t/f are its own syntax; in a table it is text
    with pytest.raises(ValueError, match="not a number"):
        read_table(path)


def test_booleans_are_no_times_and_a_first_row_of_them_names_columns(tmp_path) -> None:
    times = tmp_path / "times.csv"
    times.write_text("time,a\nTrue,1\nFalse,2\n")
    with pytest.raises(ValueError, match=r"line 2, column 'time': 'True' is no time \(true/false\)$"):
        read_table(times)
    named = tmp_path / "named.csv"
    named.write_text("true,false\n1,2\n3,4\n")
    table = read_table(named)
    assert table.columns == ["true", "false"] and table.values.tolist() == [[1, 3], [2, 4]]
    parser = RecordParser(["true", "b"])  # a sensor named so: its header is one, as the table reader's
    rows, _ = parser.parse(["true,b", "1,2", "True,3"])
    assert rows.tolist() == [[1, 2], [1, 3]] and parser.counts["malformed"] == 0


@pytest.mark.parametrize("lines", [["a,b", "true,1.2", "FALSE,2"], ["0,true,1.2", "1,FALSE,2"],
                                   ['{"a": true, "b": 1.2}', '{"a": false, "b": 2}'],
                                   ['{"a": "True", "b": 1.2}', '{"a": "false", "b": 2}'],
                                   ["m a=t,b=1.2 1", "m a=false,b=2 2"],
                                   ['{"fields": {"a": true, "b": 1.2}, "name": "m", "tags": {}, "timestamp": 1}',
                                    '{"fields": {"a": false, "b": 2}, "name": "m", "tags": {}, "timestamp": 2}']])
def test_every_record_format_reads_a_sensor_boolean_as_1_or_0(lines: list[str]) -> None:
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(lines)
    held, _ = parser.flush()
    np.testing.assert_array_equal(np.vstack([rows, held]), [[1, 1.2], [0, 2]])
    assert parser.counts["malformed"] == 0


def test_a_json_record_whose_only_sensor_value_is_a_boolean_is_a_sample() -> None:
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(['{"a": true}'])
    np.testing.assert_array_equal(rows, [[1, np.nan]])
    assert parser.counts["malformed"] == 0


@pytest.mark.parametrize("sep", [",", ";"])
def test_a_first_line_of_only_booleans_names_columns_in_the_monitor_as_in_a_table(tmp_path, sep: str) -> None:
    # before, the monitor read it as a row (1, 0) while the table reader took it for the header
    lines = [f"true{sep}false", f"1{sep}2", f"3{sep}4"]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(lines)
    np.testing.assert_array_equal(rows.T, read_table(path).values)
    assert parser.counts["malformed"] == 0
    later = RecordParser(["a", "b"])  # after a row it is one
    rows, _ = later.parse(["1,2", "TRUE,false"])
    assert rows.tolist() == [[1, 2], [1, 0]]
    one = RecordParser(["a"])  # after a bare value, read as a one-sensor row, too
    rows, _ = one.parse(["42", "true", "1"])
    assert rows[:, 0].tolist() == [42, 1, 1] and one.counts["malformed"] == 0


def test_a_first_line_of_booleans_of_another_width_is_malformed_not_a_row_with_a_time() -> None:
    parser = RecordParser(["a", "b"])
    rows, times = parser.parse(["true,false,true", "0,1,2"])
    assert rows.tolist() == [[1, 2]] and times == [0.0] and parser.counts["malformed"] == 1


@pytest.mark.parametrize(("rows", "at"), [(10, 3), (300, 250), (COMPILED_FROM_ROW + 500, COMPILED_FROM_ROW + 100)])
def test_a_boolean_cell_in_a_time_column_of_numbers_is_an_error_wherever_it_is(tmp_path, rows: int, at: int) -> None:
    # before: after the first 200 rows it was read as the time 1 (a step back in time, warned about), and among
    # them the error named the column's first number ("neither numbers nor dates (line 2: '0')")
    path = tmp_path / "t.csv"
    with open(path, "w") as f:
        f.write("time,a\n")
        f.writelines(f"{'True' if i == at else i},{i % 7}.5\n" for i in range(rows))
    with pytest.raises(ValueError, match=rf"t.csv: line {at + 2}, column 'time': 'True' is no time \(true/false\)$"):
        read_table(path)


def test_a_boolean_time_of_a_stream_record_is_an_unreadable_time_where_a_table_is_refused(tmp_path) -> None:
    # kept on purpose (README, monitor times): a stream must not stop on one record, a file may be refused whole
    lines = ["time,a", "0,1", "true,3", "2,5"]
    parser = RecordParser(["a"])
    rows, times = parser.parse(lines)
    assert rows[:, 0].tolist() == [1, 3, 5] and times == [0.0, "true", 2.0]
    assert parser.counts["unreadable_times"] == 1 and parser.counts["malformed"] == 0
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="line 3, column 'time': 'true' is no time"):
        read_table(path)
