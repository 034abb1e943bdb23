"""tsae.io.records: the stream record parser shares the table reader's time names, missing tokens and delimiters."""
from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest

from tsae.io.records import RecordParser, output_time, time_value
from tsae.io.table_time import iso_time
from tsae.io.tables import read_table


def test_seconds_time_column_is_recognised_like_the_table_reader(tmp_path) -> None:
    text = "seconds,a,b\n0.0,1,2\n0.5,3,4\n1.0,5,6\n"
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert read_table(path).time_name == "seconds"
    parser = RecordParser(["a", "b"])
    rows, times = parser.parse(text.splitlines())
    np.testing.assert_array_equal(rows, [[1, 2], [3, 4], [5, 6]])
    assert times == [0.0, 0.5, 1.0] and not parser.unknown_fields
    # and out-of-order seconds are dropped
    rows, times = parser.parse(["0.7,9,9"])
    assert len(rows) == 0 and parser.counts["out_of_order"] == 1


def test_json_time_field_and_case() -> None:
    parser = RecordParser(["a"])
    rows, times = parser.parse(['{"Seconds": 3, "a": 1.5}'])
    assert times == [3] and rows.tolist() == [[1.5]] and not parser.unknown_fields


def test_missing_tokens_are_the_table_readers() -> None:
    parser = RecordParser(["a", "b", "c"])
    rows, _ = parser.parse(["a,b,c", "1,-,N/A", "?,#N/A,2"])
    assert np.isnan(rows).sum() == 4 and parser.counts["malformed"] == 0


def test_delimiter_is_sniffed_once() -> None:
    parser = RecordParser(["a", "b"])
    rows, times = parser.parse(["time;a;b", "1;2;3", "2;4;5"])
    assert rows.tolist() == [[2, 3], [4, 5]] and times == [1.0, 2.0]
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["1\t2", "3\t4"])  # no header: columns are the sensors in order
    assert rows.tolist() == [[1, 2], [3, 4]]


# ----------------------------------------------------------------------------- hostile records (issue 12)
def _rows(n: int, start: int = 0) -> list[str]:
    return [f"{start + i},{i}.5" for i in range(n)]


def test_a_huge_integer_value_is_missing_and_a_huge_integer_time_malformed() -> None:
    parser = RecordParser(["a"])
    lines = ["time,a"] + _rows(3)
    lines += ['{"time": 3, "a": ' + "9" * 320 + "}", '{"time": ' + "9" * 320 + ', "a": 1}'] + _rows(2, start=4)
    rows, times = parser.parse(lines)
    assert len(rows) == 6 and times[3] == 3.0 and times[-1] == 5.0
    assert rows[3, 0] == np.inf  # a missing value, as the table reader reads such a cell
    assert parser.counts["malformed"] == 1 and parser.counts["missing_values"] == 1


def test_a_value_too_large_for_a_float_is_missing_in_every_format() -> None:
    """``1e999`` (or a 320-digit integer) made a line protocol line malformed, where JSON and CSV read it as a
    missing value of its sensor and scored the rest of the record: one rule now, the table reader's."""
    big = "9" * 320
    streams = {
        "csv": ["time,a,b", "1,1e999,2", f"2,{big},3", "3,-1e999,4"],
        "json": ['{"time": 1, "a": 1e999, "b": 2}', f'{{"time": 2, "a": {big}, "b": 3}}',
                 '{"time": 3, "a": -1e999, "b": 4}'],
        "telegraf": [f'{{"fields": {{"a": {a}, "b": {b}}}, "name": "m", "timestamp": {t}}}'
                     for t, a, b in ((1, "1e999", 2), (2, big, 3), (3, "-1e999", 4))],
        "influx": [f"m a={a},b={b} {t}000000000" for t, a, b in ((1, "1e999", 2), (2, big + "i", 3),
                                                                   (3, "-1e999", 4))],
    }
    for kind, lines in streams.items():
        parser = RecordParser(["a", "b"], precision="s" if kind == "influx" else None)
        rows, _ = parser.parse(lines)
        more, _ = parser.flush()
        rows = np.vstack([rows, more])
        assert rows.tolist() == [[np.inf, 2], [np.inf, 3], [-np.inf, 4]], kind
        assert parser.counts["malformed"] == 0 and parser.counts["missing_values"] == 3, kind


def test_deeply_nested_json_is_malformed() -> None:
    parser = RecordParser(["a"])
    rows, _ = parser.parse(['{"a": 1}', "[" * 100_000 + "]" * 100_000, '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
                            '{"a": 2}'])
    assert rows.tolist() == [[1.0], [2.0]] and parser.counts["malformed"] == 2


def test_overlong_lines_are_malformed() -> None:
    parser = RecordParser(["a"], max_line=100)
    rows, _ = parser.parse(["time,a", "0,1", "1," + "1" * 200, "2,3"])
    assert rows.tolist() == [[1.0], [3.0]] and parser.counts["malformed"] == 1


def test_non_finite_times_are_malformed_and_do_not_stall_the_stream() -> None:
    parser = RecordParser(["a"])
    lines = ["time,a", "0,1", "inf,2", "1e999,3", "nan,4", "-inf,5", "1,6"]
    lines += ['{"time": 1e999, "a": 7}', '{"time": NaN, "a": 8}', '{"time": 2, "a": 9}']
    rows, times = parser.parse(lines)
    assert rows[:, 0].tolist() == [1.0, 6.0, 9.0] and times == [0.0, 1.0, 2.0]
    assert parser.counts["malformed"] == 6 and parser.counts["out_of_order"] == 0


def test_a_far_future_time_is_skipped_and_later_samples_are_kept() -> None:
    parser = RecordParser(["a"], max_time_jump=3600)
    rows, times = parser.parse(["time,a", "0,1", "1,2", "1e15,99", "2,3", "3,4"])
    assert rows[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert parser.counts["time_jumps"] == 1 and parser.counts["out_of_order"] == 0
    # ISO dates: the limit is in seconds
    dates = RecordParser(["a"], max_time_jump=3600)
    rows, _ = dates.parse(['{"time": "2024-01-01T00:00:00", "a": 1}', '{"time": "2224-01-01T00:00:00", "a": 2}',
                           '{"time": "2024-01-01T00:00:01", "a": 3}'])
    assert rows[:, 0].tolist() == [1.0, 3.0] and dates.counts["time_jumps"] == 1


def test_a_confirmed_time_jump_becomes_the_reference() -> None:
    parser = RecordParser(["a"], max_time_jump=3600)
    rows, _ = parser.parse(["time,a", "0,1", "100000,2", "100001,3", "100002,4", "5,5"])
    assert rows[:, 0].tolist() == [1.0, 3.0, 4.0]  # the first far record is held back, the second confirms
    assert parser.counts["time_jumps"] == 1 and parser.counts["out_of_order"] == 1
    # a wrong first clock: two records far back in a row reset the reference
    wrong = RecordParser(["a"], max_time_jump=3600)
    rows, _ = wrong.parse(["time,a", "1e12,1", "0,2", "1,3", "2,4"])
    assert rows[:, 0].tolist() == [1.0, 3.0, 4.0]
    # no limit: the old behaviour (a jump is accepted at once)
    free = RecordParser(["a"], max_time_jump=None)
    rows, _ = free.parse(["time,a", "0,1", "1e15,2", "3,3"])
    assert rows[:, 0].tolist() == [1.0, 2.0] and free.counts["out_of_order"] == 1


def test_a_stream_whose_every_step_is_beyond_the_jump_limit_is_scored_at_its_own_pace() -> None:
    # epoch nanoseconds 2 s apart, max_time_jump 1e9 (the default): every record was held back as a jump, and
    # none confirmed another (samples=1, time_jumps=699)
    t0 = 1_700_000_000_000_000_000
    times = [t0 + 2_000_000_000 * i for i in range(700)]
    times[400] = t0 + 10**18  # a clock glitch: still skipped
    parser = RecordParser(["a"], max_time_jump=1e9)
    rows, kept = parser.parse([f'{{"time": {t}, "a": {i}}}' for i, t in enumerate(times)])
    assert len(rows) == 698 and 1 not in rows[:, 0] and 400 not in rows[:, 0]  # the first step, and the glitch
    assert parser.counts["time_jumps"] == 2 and kept[-1] == times[-1]
    # two far records that do not keep the pace after the reference do not confirm each other
    glitches = RecordParser(["a"], max_time_jump=10)
    rows, _ = glitches.parse(['{"time": 0, "a": 0}', '{"time": 1, "a": 1}', '{"time": 1e6, "a": 2}',
                              '{"time": 3e6, "a": 3}', '{"time": 2, "a": 4}'])
    assert rows[:, 0].tolist() == [0, 1, 4] and glitches.counts["time_jumps"] == 2


def test_a_date_beyond_the_nanosecond_range_is_malformed_not_wrapped() -> None:
    parser = RecordParser(["a"])
    rows, _ = parser.parse(['{"time": "2024-01-01T00:00:00", "a": 1}', '{"time": "3024-01-01T00:00:00", "a": 2}',
                            '{"time": "2024-01-01T00:00:01", "a": 3}'])
    assert rows[:, 0].tolist() == [1.0, 3.0]
    assert parser.counts["malformed"] == 1 and parser.counts["out_of_order"] == 0


def test_a_redelivered_sample_is_a_duplicate_not_scored_twice() -> None:
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(['{"time": 1, "a": 1, "b": 2}', '{"time": 2, "a": 3, "b": 4}'])
    assert len(rows) == 2
    # the same two records again (a QoS-1 redelivery), in another form, and a new one
    rows, times = parser.parse(['{"time": 1, "a": 1, "b": 2}', "time,a,b", "2,3,4", '{"time": 3, "a": 5, "b": 6}'])
    assert rows.tolist() == [[5, 6]] and times == [3]
    assert parser.counts["duplicates"] == 2 and parser.counts["out_of_order"] == 0


def test_same_time_other_values_and_untimed_repeats_are_kept() -> None:
    parser = RecordParser(["a"])
    rows, _ = parser.parse(['{"time": 1, "a": 1}', '{"time": 1, "a": 2}'])
    assert rows.tolist() == [[1], [2]]
    untimed = RecordParser(["a"])
    rows, _ = untimed.parse(["1", "1", "1"])  # a sensor repeating its value is not a redelivery
    assert len(rows) == 3 and untimed.counts["duplicates"] == 0


def test_a_redelivered_time_jump_does_not_confirm_itself() -> None:
    parser = RecordParser(["a"], max_time_jump=10)
    parser.parse(['{"time": 1, "a": 1}'])
    rows, _ = parser.parse(['{"time": 1e6, "a": 1}', '{"time": 1e6, "a": 1}', '{"time": 2, "a": 2}'])
    assert rows.tolist() == [[2]]
    assert parser.counts["time_jumps"] == 1 and parser.counts["duplicates"] == 1 and parser.last_time == 2


def test_the_duplicate_memory_is_bounded() -> None:
    parser = RecordParser(["a"], dedup_window=2)
    parser.parse([f'{{"time": {t}, "a": 0}}' for t in range(3)])
    rows, _ = parser.parse(['{"time": 2, "a": 0}', '{"time": 0, "a": 0}'])
    assert len(rows) == 0 and parser.counts["duplicates"] == 1 and parser.counts["out_of_order"] == 1
    assert len(parser.recent._keys) == 2


def test_an_unreadable_time_is_counted_and_the_sample_kept() -> None:
    warned: list[str] = []

    class Log:
        def warn(self, kind: str, message: str) -> None:
            warned.append(message)

    parser = RecordParser(["a"], log=Log())
    rows, times = parser.parse(["time,a", "0,1", "abc,2", ",3", "2,4", '{"time": "Tue 10:00", "a": 5}'])
    assert rows[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0] and times[1] == "abc"
    assert parser.counts["unreadable_times"] == 2 and parser.counts["malformed"] == 0  # an empty time is no time
    assert len(warned) == 2 and "'abc' is neither a number nor an ISO date" in warned[0]


def test_a_json_time_that_is_an_object_array_or_boolean_is_unreadable_kept_as_text() -> None:
    """Such a time is neither a number nor a date, as ``"abc"`` is: scored and counted as an unreadable time, and kept
    as its JSON text (it was written out as the object itself, and warned about as Python's repr, ``'True'``)."""
    warned: list[str] = []

    class Log:
        def warn(self, kind: str, message: str) -> None:
            warned.append(message)

    parser = RecordParser(["a"], log=Log())
    rows, times = parser.parse(['{"time": 0, "a": 1}', '{"time": {"x": 1}, "a": 2}', '{"time": true, "a": 3}',
                                '{"time": [1, 2], "a": 4}', '{"time": null, "a": 5}', '{"time": 1, "a": 6}'])
    assert rows[:, 0].tolist() == [1, 2, 3, 4, 5, 6]
    assert times == [0.0, '{"x": 1}', "true", "[1, 2]", None, 1.0]  # null: no time, as an empty cell
    assert parser.counts["unreadable_times"] == 3 and parser.counts["malformed"] == 0
    assert """'{"x": 1}' is neither a number nor an ISO date""" in warned[0]


def _metric_json(value: float, stamp: object) -> str:
    return json.dumps({"fields": {"a": value}, "name": "m", "tags": {}, "timestamp": stamp})


@pytest.mark.parametrize("record", [
    lambda v, t: f"{t},{v}",  # CSV (after the header "time,a")
    lambda v, t: json.dumps({"time": t, "a": v}),  # plain JSON
    _metric_json,  # Telegraf JSON
    lambda v, t: f"m a={v} {t}",  # line protocol
])
def test_a_time_that_cannot_be_a_time_is_read_the_same_in_every_format(record) -> None:
    """Text that is no number or date is an unreadable time, kept, its sample scored; a JSON boolean or object is its
    JSON text; a clock reading is its seconds; a time that is no finite number is malformed. Telegraf JSON made a
    boolean or object timestamp a malformed metric, line protocol any timestamp that is no integer, and plain JSON
    and Telegraf JSON kept a clock reading as text, unreadable (CSV: 43201 s)."""
    lines = ["time,a"] if record(0, 0)[0].isdigit() else []
    stamps: list[object] = ["soon", "12:00:01", "inf", "12:00:02"]
    if lines == [] and record(0, 0)[0] == "{":
        stamps += [True, {"x": 1}]
    lines += [record(k, stamp) for k, stamp in enumerate(stamps)]
    parser = RecordParser(["a"])
    rows, times = parser.parse(lines)
    rows2, times2 = parser.flush()
    values = np.vstack([rows, rows2])[:, 0].tolist()
    assert values == [k for k in range(len(stamps)) if k != 2] and parser.counts["malformed"] == 1
    assert (times + times2)[:3] == ["soon", 43201.0, 43202.0] and (times + times2)[3:] == ["true", '{"x": 1}'][:len(
        stamps) - 4]
    assert parser.counts["unreadable_times"] == len(stamps) - 3


@pytest.mark.parametrize("line", ["null", "42", '"just a string"', "true", "-1.5"])
def test_a_json_value_that_is_no_object_among_json_records_is_told_as_such(line: str) -> None:
    """A line of ``null`` or ``42`` among JSON records was told as a CSV line ("expected 1 or 2 CSV fields")."""
    said = _Warnings()
    parser = RecordParser(["a", "b"], log=said)
    rows, _ = parser.parse(['{"time": 0, "a": 1, "b": 2}', line, '{"time": 1, "a": 3, "b": 4}'])
    assert rows.tolist() == [[1, 2], [3, 4]] and parser.counts["malformed"] == 1
    assert said.messages == [f"skipped a malformed line (JSON line is not an object or an array of objects: "
                             f"{line!r})"]


@pytest.mark.parametrize("line", ["null", "42", '"just a string"', "true", "-1.5"])
def test_a_json_value_that_is_no_object_is_told_as_such_before_any_record(line: str) -> None:
    """Before any JSON record it was told as a CSV line ("expected 2 or 3 CSV fields, got 1"); after one, as JSON: the
    same line is now told the same whatever came before -- and in any stream (here a CSV one)."""
    for after in (['{"time": 0, "a": 1, "b": 2}'], ["time;a;b", "0;1,5;2", "1;2;3"]):
        said = _Warnings()
        parser = RecordParser(["a", "b"], log=said)
        rows, _ = parser.parse([line, *after])
        assert len(rows) == len(after) - (len(after) > 1) and parser.counts["malformed"] == 1
        assert said.messages == [f"skipped a malformed line (JSON line is not an object or an array of objects: "
                                 f"{line!r})"]
    said = _Warnings()
    parser = RecordParser(["a", "b"], log=said)
    parser.parse(["time,a,b", "0,1,2", line])
    assert said.messages == [f"skipped a malformed line (JSON line is not an object or an array of objects: {line!r})"]


def test_a_one_sensor_value_that_is_json_decides_nothing_of_the_streams_format() -> None:
    """A one-sensor detector's bare value (``42``, ``null``) is its CSV row, as a table of one column reads it, but it
    no longer makes the stream CSV: line protocol after it was all malformed ("not a number in 'm a=1 ...'"), and a
    decimal point in it no longer fixes the stream's mark (``0;1,5`` after ``1.5`` was "mixed decimal marks")."""
    parser = RecordParser(["a"], precision="s")
    rows, times = parser.parse(["42", "null", "m a=1 1000000000", "m a=2 1000000001"])
    rows2, times2 = parser.flush()
    assert np.vstack([rows, rows2])[:, 0].tolist()[2:] == [1, 2] and parser.counts["malformed"] == 0
    assert rows[0, 0] == 42 and np.isnan(rows[1, 0]) and (times + times2)[3] == "2001-09-09T01:46:41Z"
    parser = RecordParser(["a"])
    rows, times = parser.parse(["1.5", "time;a", "0;1,5", "1;2,25"])
    assert rows[:, 0].tolist() == [1.5, 1.5, 2.25] and times == [None, 0.0, 1.0] and parser.counts["malformed"] == 0
    said = _Warnings()
    parser = RecordParser(["a"], log=said)  # a JSON value that is no value of the sensor: told as JSON
    rows, _ = parser.parse(['"text"', '{"time": 0, "a": 1}', "true", "7"])  # true is the sensor's 1, as in a table
    assert rows[:, 0].tolist() == [1, 1, 7] and parser.counts["malformed"] == 1
    parser = RecordParser(["a"])  # before any record it names the column, as a table's first row does
    rows, _ = parser.parse(["true", "0", "1"])
    assert rows[:, 0].tolist() == [0, 1] and parser.counts["malformed"] == 0
    assert said.messages[0] == ("skipped a malformed line (JSON line is not an object or an array of objects: "
                                "'\"text\"')")


# ----------------------------------------------------------------------------- stray lines, headers, empty records
class _Warnings:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def warn(self, kind: str, message: str) -> None:
        self.messages.append(message)


@pytest.mark.parametrize("stray", ["a;b", "x|y", "a\tb", "status: ok; uptime 5", "junk", "id,a", "t"])
def test_a_stray_first_line_is_malformed_and_does_not_decide_the_csv_layout(stray: str) -> None:
    parser = RecordParser(["a", "b"])
    rows, times = parser.parse([stray, "time,a,b", "0,1,2", "1,3,4"])
    assert rows.tolist() == [[1, 2], [3, 4]] and times == [0.0, 1.0]
    assert parser.counts["malformed"] == 1 and parser.sep == ","
    headerless = RecordParser(["a", "b"])
    rows, _ = headerless.parse([stray, "0,1,2", "1,3,4"])
    assert rows.tolist() == [[1, 2], [3, 4]] and headerless.counts["malformed"] == 1


def test_a_header_naming_more_sensors_replaces_a_stray_one_before_it() -> None:
    parser = RecordParser(["a", "b", "c"])
    rows, _ = parser.parse(["id,b", "time,c,a,b", "0,3,1,2"])
    assert rows.tolist() == [[1, 2, 3]] and parser.header == ["time", "c", "a", "b"]
    assert parser.counts["malformed"] == 1
    # a worse header-like line after the real one is the stray
    parser = RecordParser(["a", "b", "c"])
    rows, _ = parser.parse(["time,c,a,b", "id,b", "0,3,1,2"])
    assert rows.tolist() == [[1, 2, 3]] and parser.counts["malformed"] == 1
    # a header that no row of its width follows gives way to headerless rows
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["time,a", "0,1,2"])
    assert rows.tolist() == [[1, 2]] and parser.counts["malformed"] == 1


def test_a_header_like_line_among_rows_changes_nothing_unless_rows_of_its_shape_follow() -> None:
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["0,1,2", "t", "1,3,4", "time,a", "2,5,6", "time;a;b", "5,a,1", "3,7,8"])
    assert rows.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert parser.counts["malformed"] == 4 and parser.header is None
    # a real header mid-stream (columns reordered) takes effect with its first row
    rows, _ = parser.parse(["time,b,a", "4,10,9"])
    assert rows.tolist() == [[9, 10]] and parser.counts["malformed"] == 4
    # mid-stream, a header naming no sensor is malformed even with the right width
    rows, _ = parser.parse(["time,x,y", "5,12,11"])
    assert rows.tolist() == [[11, 12]] and parser.counts["malformed"] == 5


def test_headers_repeated_reordered_partial_or_with_extra_columns_still_work() -> None:
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["time,a,b", "0,1,2", "time,a,b", "1,3,4"])  # files joined: the header again
    assert rows.tolist() == [[1, 2], [3, 4]] and parser.counts["malformed"] == 0
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["b,x,time", "5,9,0"])
    assert np.isnan(rows[0, 0]) and rows[0, 1] == 5 and parser.unknown_fields == {"x"}


def test_a_header_naming_no_sensor_with_one_column_per_sensor_is_read_in_order_like_batch() -> None:
    log = _Warnings()
    parser = RecordParser(["a", "b"], log=log)
    rows, times = parser.parse(["time,x,y", "0,1,2", "1,3,4"])
    assert rows.tolist() == [[1, 2], [3, 4]] and times == [0.0, 1.0] and parser.counts["malformed"] == 0
    assert len(log.messages) == 1 and "in order as a, b" in log.messages[0]
    rows, _ = parser.parse(["time,x,y", "2,5,6"])  # the same header again
    assert rows.tolist() == [[5, 6]] and parser.counts["malformed"] == 0
    named = RecordParser(["a", "b"])  # once rows came, only a header naming sensors changes the columns
    rows, _ = named.parse(["time,b,a", "0,2,1", "time,x,y", "1,4,3"])
    assert rows.tolist() == [[1, 2], [3, 4]] and named.counts["malformed"] == 1
    other = RecordParser(["a", "b"])  # the wrong number of columns: no header
    rows, _ = other.parse(["time,x", "0,1,2"])
    assert rows.tolist() == [[1, 2]] and other.counts["malformed"] == 1


@pytest.mark.parametrize("record", ["{}", '{"other": 3}', '{"a": [1, 2]}', '{"a": "abc"}', '{"a": {"b": 1}}',
                                    '{"time": 5, "sensors": {"a": 1, "b": 2}}', '{"samples": [[1, 2]]}', ",,"])
def test_a_record_without_any_sensor_value_is_malformed_not_a_sample(record: str) -> None:
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["0,1,2", record, "1,3,4"])
    assert rows.tolist() == [[1, 2], [3, 4]]
    assert parser.counts["malformed"] == 1 and parser.counts["missing_values"] == 0


def test_a_json_array_of_objects_is_a_batch_of_records_each_read_on_its_own() -> None:
    # before: a gateway's batch '[{...}, {...}]' was one malformed line ("JSON line is not an object")
    parser = RecordParser(["a", "b"])
    rows, times = parser.parse(['[{"time": 1, "a": 1, "b": 2}, {"time": 2, "a": 3, "b": 4}]',
                                '[{"time": 3, "a": 5, "b": 6}, 7, {"x": 1}, {"time": 4, "a": 8}]',
                                "[1, 2, 3]", "[]", '{"time": 5, "a": 9, "b": 10}'])
    assert times == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(rows, [[1, 2], [3, 4], [5, 6], [8, np.nan], [9, 10]])
    # the 7 and the object without a sensor in the second batch; the array of numbers and the empty one, once each
    assert parser.counts["malformed"] == 4 and parser.counts["lines"] == 5


def test_an_explicit_missing_value_of_a_known_sensor_is_still_a_missing_value() -> None:
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(['{"a": null}', '{"b": "NA", "x": 1}', '{"a": "abc", "b": 2}', "time,a,b", "3,,",
                            ",nan,-"])
    assert len(rows) == 5 and np.isnan(rows).sum() == 9 and parser.counts["malformed"] == 0


# ----------------------------------------------------------------------------- options checked when built
@pytest.mark.parametrize(("option", "value"), [
    ("max_line", "x"), ("max_line", "5"), ("max_line", 1.5), ("max_line", True), ("max_line", 0),
    ("max_time_jump", "1"), ("max_time_jump", float("nan")), ("max_time_jump", True), ("max_time_jump", 0),
    ("time_field", 5), ("time_field", ""), ("time_field", ["time"]),
    ("dedup_window", "16"), ("dedup_window", -1), ("fmt", "jsn"),
])
def test_a_wrong_option_is_refused_when_the_parser_is_built(option: str, value: object) -> None:
    # before: max_line="x" was int()'s "invalid literal", "5" and 1.5 were taken, max_time_jump="1" was taken,
    # time_field=5 failed at the first record (AttributeError: 'int' object has no attribute 'lower')
    with pytest.raises(ValueError, match=rf"^{option} must be ") as error:
        RecordParser(["a"], **{option: value})
    assert "\n" not in str(error.value)


def test_a_log_without_warn_is_refused_and_an_unbounded_jump_is_no_limit() -> None:
    with pytest.raises(TypeError, match=r"^log must have a warn\(kind, message\) method"):
        RecordParser(["a"], log="x")
    for endless in (float("inf"), 10 ** 400):
        parser = RecordParser(["a"], max_time_jump=endless)
        rows, _ = parser.parse(["time,a", "0,1", "1e300,2"])
        assert len(rows) == 2 and parser.counts["time_jumps"] == 0


# ----------------------------------------------------------------------------- decimal commas
def test_a_semicolon_stream_with_decimal_commas_is_read_as_the_table_reader_reads_it(tmp_path) -> None:
    lines = ["time;a;b", "2024-01-01T00:00:00;1,5;2,25", "2024-01-01T00:00:01;-0,5;1e-3", "2024-01-01T00:00:02;3;4,0"]
    path = tmp_path / "comma.csv"
    path.write_text("\n".join(lines) + "\n")
    table = read_table(path)
    parser = RecordParser(["a", "b"])
    rows, times = parser.parse(lines)
    np.testing.assert_array_equal(rows, table.values.T)
    assert times == [iso_time(t) for t in table.time]  # as the scores table writes them
    assert parser.counts["malformed"] == 0 and parser.decimal == ","


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_headerless_records_with_decimal_commas_find_their_separator(sep: str) -> None:
    # before: "2024-01-01T00:00:00;1,5;2,25" sniffed as comma-separated: every record malformed
    parser = RecordParser(["a", "b"])
    rows, times = parser.parse([f"2024-01-01T00:00:00{sep}1,5{sep}2,25", f"2024-01-01T00:00:01{sep}1,75{sep}2,5"])
    assert rows.tolist() == [[1.5, 2.25], [1.75, 2.5]] and parser.sep == sep
    assert times == ["2024-01-01T00:00:00", "2024-01-01T00:00:01"]
    untimed = RecordParser(["a", "b"])  # and without a time
    rows, times = untimed.parse([f"1,5{sep}2,25"])
    assert rows.tolist() == [[1.5, 2.25]] and times == [None]
    numbered = RecordParser(["a"])  # a time that is a number takes the decimal comma too
    rows, times = numbered.parse([f"0,5{sep}1,5", f"1{sep}2,5"])
    assert rows.tolist() == [[1.5], [2.5]] and times == [0.5, 1.0] and numbered.counts["malformed"] == 0


def test_a_record_with_the_other_decimal_mark_is_malformed_and_the_stream_goes_on() -> None:
    log = _Warnings()
    parser = RecordParser(["a", "b"], log=log)
    rows, times = parser.parse(["time;a;b", "0;1,5;2", "1;1.5;2", "2;7;8", "3;2,5;3,5", "4.5;1;2", "5;x;1"])
    assert rows.tolist() == [[1.5, 2], [7, 8], [2.5, 3.5]] and times == [0.0, 2.0, 3.0]
    assert parser.counts["malformed"] == 3
    assert ("mixed decimal marks: '1.5' has a decimal point, the stream's decimal mark is a decimal comma"
            in log.messages[0])
    assert "'4.5' has a decimal point" in log.messages[1] and "not a number" in log.messages[2]
    # the first decimal number may be a point too: a later comma is then the stray
    points = RecordParser(["a", "b"])
    rows, _ = points.parse(["0;1.5;2", "1;1,5;2", "2;2.5;3"])
    assert rows.tolist() == [[1.5, 2], [2.5, 3]] and points.counts["malformed"] == 1 and points.decimal == "."


def test_a_record_mixing_decimal_marks_is_malformed_and_fixes_no_mark() -> None:
    log = _Warnings()
    parser = RecordParser(["a", "b"], log=log)
    rows, _ = parser.parse(["time;a;b", "0;1,5;2.5", "1;1.5;2.5"])
    assert rows.tolist() == [[1.5, 2.5]] and parser.counts["malformed"] == 1 and parser.decimal == "."
    assert "'2.5' has a decimal point, the record's first decimal number is a decimal comma" in log.messages[0]


def test_a_comma_separated_stream_keeps_decimal_points() -> None:
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["time,a,b", "0,1.5,2", '{"time": 1, "a": 2.5, "b": "3,5"}', "2,3.5,4"])
    assert rows[:, 0].tolist() == [1.5, 2.5, 3.5] and np.isnan(rows[1, 1])  # JSON "3,5" is no number
    assert parser.decimal is None and parser.counts["malformed"] == 0


def test_a_utf16_stream_is_told_once_as_such() -> None:
    # every line was a malformed one with a garbled message, and nothing said why
    told: list[tuple[str, str]] = []

    class Log:
        def warn(self, kind: str, message: str) -> None:
            told.append((kind, message))

    parser = RecordParser(["a", "b"], log=Log())
    rows, _ = parser.parse("time,a,b\n0,1,2\n1,3,4\n".encode("utf-16").split(b"\n"))
    assert len(rows) == 0 and parser.counts["malformed"] == 4
    hints = [message for kind, message in told if kind == "encoding"]
    assert hints == ["the stream looks UTF-16 or UTF-32, but records are read as UTF-8: its lines are malformed "
                     "(convert it first, e.g. iconv -f UTF-16 -t UTF-8)"]
    told.clear()
    RecordParser(["a", "b"], log=Log()).parse(["time,a,b", "0,1,2", "1,,4"])  # an empty cell is no NUL
    assert not [kind for kind, _ in told if kind == "encoding"]
    # a line of NULs among good UTF-8 rows (a logger's buffer flushed on power loss) is a malformed line, not a
    # stream in another encoding: it was told "the stream looks UTF-16 ... convert it first"
    garbled = RecordParser(["a", "b"], log=Log())
    rows, _ = garbled.parse(["time,a,b", "0,1,2", "\x00" * 64, "1,3,4"])
    assert len(rows) == 2 and garbled.counts["malformed"] == 1
    assert not [kind for kind, _ in told if kind == "encoding"]


@pytest.mark.parametrize(("line", "sent"), [('{"time": 1e400, "a": 1}', "time '1e400'"),
                                            ('{"time": -1E+400, "a": 1}', "time '-1E+400'"),
                                            ('{"time": NaN, "a": 1}', "time 'NaN'"),
                                            ('{"fields": {"a": 1}, "name": "m", "timestamp": 1e400}',
                                             "timestamp 1e400"),
                                            ("1e400,1,2", "time '1e400'")])
def test_a_time_too_large_for_a_float_is_named_as_sent(line: str, sent: str) -> None:
    # before: a JSON time of 1e400 was told as "time 'inf' is not a finite number"
    said = _Warnings()
    parser = RecordParser(["a", "b"], log=said)
    rows, _ = parser.parse([line, '{"time": 1, "a": 1e400, "b": 2}'])  # a sensor's 1e400 is still a missing value
    assert parser.counts["malformed"] == 1 and sent in said.messages[0] and "inf" not in said.messages[0]
    assert rows.shape == (1, 2) and not np.isfinite(rows[0, 0]) and rows[0, 1] == 2


def test_a_first_line_of_control_characters_is_malformed_not_another_encoding() -> None:
    # before: printf '\x00\x01\x02\n' before good rows was told "the stream looks UTF-16 or UTF-32" (a NUL in three
    # characters); UTF-16 and UTF-32 are told by what they look like, NULs between characters of text
    told: list[str] = []

    class Log:
        def warn(self, kind: str, message: str) -> None:
            told.append(kind)

    parser = RecordParser(["a", "b"], log=Log())
    rows, _ = parser.parse([b"\x00\x01\x02", b"0,1,2", b"1,3,4"])
    assert rows.tolist() == [[1, 2], [3, 4]] and parser.counts["malformed"] == 1
    assert "encoding" not in told and "malformed" in told
    told.clear()
    big_endian = RecordParser(["a", "b"], log=Log())  # no byte order mark: still told
    big_endian.parse("time,a,b\n0,1,2\n".encode("utf-16-be").split(b"\n"))
    assert told.count("encoding") == 1


@pytest.mark.parametrize("lines,warns", [
    (["Date,a", "45292.25,1", "45292.26,2"], True),                       # CSV with a header
    (['{"timestamp": 45292.25, "a": 1}', '{"timestamp": 45292.26, "a": 2}'], True),  # JSON
    (["time_s,a", "45292.25,1", "45292.26,2"], False),                    # named as seconds
    (["time,a", "1000.5,1", "1001.5,2"], False),                          # not in Excel's range
    (["time,a", "2024-01-01T06:00:00,1"], False),                         # dates
])
def test_times_that_look_like_excel_serial_dates_are_warned_about_once_as_the_table_reader_does(
        tmp_path, lines, warns) -> None:
    # before: `tsae detect score` warned about such a time column, the monitor's stream said nothing
    log = _Warnings()
    parser = RecordParser(["a"], log=log)
    parser.parse(lines)
    parser.parse(lines[-1:] if lines[0].startswith("{") else ["45292.27,3"])
    excel = [m for m in log.messages if "Excel serial dates" in m]
    assert len(excel) == (1 if warns else 0), log.messages
    if warns and not lines[0].startswith("{"):
        path = tmp_path / "t.csv"
        path.write_text("\n".join(lines) + "\n")
        with pytest.warns(UserWarning) as caught:
            read_table(path)
        assert excel[0] in str(caught[0].message)  # the same words as the table reader's


@pytest.mark.parametrize(("first", "warns"), [(45292, True), (10_000, False)])
def test_headerless_rows_whose_times_look_like_excel_serial_dates_are_warned_about_as_a_headerless_table(
        tmp_path, first, warns) -> None:
    # before: headerless rows (a time, then the sensors) had no time field name, so Excel days passed without a word
    lines = [f"{first + i},{i % 7}.5" for i in range(50)]  # whole days: a headerless table's time column too
    log = _Warnings()
    parser = RecordParser(["a"], log=log)
    rows, times = parser.parse(lines)
    parser.parse([f"{first + 50},3.5"])  # told once
    assert len(rows) == 50 and times[0] == first
    excel = [m for m in log.messages if "Excel serial dates" in m]
    assert len(excel) == (1 if warns else 0), log.messages
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_table(path)
    assert table.time is not None and table.time[0] == first and table.columns == ["ch1"]  # seconds still
    assert [str(w.message) for w in caught] == ([f"{path}: {excel[0]}"] if warns else [])  # the same words
    if warns:
        assert excel[0].startswith("the time column (the first, no header names it) holds numbers 45292 to 45341")
        assert excel[0].endswith("if they are seconds, add a header that names it time_s")


def test_a_latin1_header_names_the_sensor_the_table_reader_reads_from_it(tmp_path) -> None:
    # a Windows export's "temp°C" (latin-1 byte 0xB0) is read from a file as "temp°C", but a stream decoded its
    # bytes as UTF-8 with U+FFFD: the detector's sensor was lacking, every value of it missing
    from tsae.io.streams import StdinSource

    data = b"time,temp\xb0C,b\n0,1,2\n1,3,4\n"
    (tmp_path / "t.csv").write_bytes(data)
    assert read_table(tmp_path / "t.csv").columns == ["temp\u00b0C", "b"]
    parser = RecordParser(["temp\u00b0C", "b"])
    rows, _ = parser.parse(data.split(b"\n"))
    np.testing.assert_array_equal(rows, [[1, 2], [3, 4]])
    assert parser.counts["malformed"] == 0 and not parser.unknown_fields
    with open(tmp_path / "t.csv", "rb") as fd_feed:  # read in blocks from the descriptor, and line by line
        for feed in (fd_feed, io.BytesIO(data)):
            lines = [line for block in StdinSource(feed).blocks() for line in block if line]
            assert lines == ["time,temp\u00b0C,b", "0,1,2", "1,3,4"]
    # UTF-8 stays UTF-8, line by line: one latin-1 line does not turn the others' characters into two
    lines = [line for block in StdinSource(io.BytesIO("time,temp°C,b\n0,1,\xb5\n".encode() + b"1,\xb5,4\n")).blocks()
             for line in block if line]
    assert lines == ["time,temp°C,b", "0,1,\xb5", "1,\xb5,4"]


def test_a_header_naming_a_sensor_twice_is_warned_about() -> None:
    # the table reader refuses a duplicate column name; the stream read the first of the two without a word
    told: list[tuple[str, str]] = []

    class Log:
        def warn(self, kind: str, message: str) -> None:
            told.append((kind, message))

    parser = RecordParser(["a", "b", "c"], log=Log())
    rows, _ = parser.parse(["time,a,a,c", "0,1,2,3"])
    np.testing.assert_array_equal(rows, [[1, np.nan, 3]])
    said = "CSV header names sensor(s) a more than once: the first column of each name is read"
    assert ("header-twice", said) in told
    told.clear()
    parser = RecordParser(["a", "b"], log=Log())
    parser.parse(["time,a,b,x,x", "0,1,2,3,4"])  # a field the detector does not know, twice: nothing to choose
    assert not [message for _, message in told if "more than once" in message]


def test_a_single_column_of_decimal_commas_under_its_sensors_name_is_read_as_the_table_reader_reads_it(
        tmp_path) -> None:
    # "9,514" under the header "flow" was split at its comma: time 9, value 514 (a false event of score 1e7)
    lines = ["flow", "9,514", "-9,276", "", "10", "1,5e-3"]
    path = tmp_path / "flow.csv"
    path.write_text("\n".join(lines) + "\n")
    parser = RecordParser(["flow"])
    rows, times = parser.parse(lines)
    table = read_table(path).values[0]  # its blank line is the column's missing value there; a stream's, no record
    np.testing.assert_allclose(rows[:, 0], table[~np.isnan(table)])
    assert np.isnan(table[2]) and len(table) == 5
    assert times == [None] * 4 and parser.counts["malformed"] == 0 and parser.decimal == ","
    # a header of the sensor alone above rows with a time: read by position, as before
    parser = RecordParser(["flow"])
    rows, times = parser.parse(["flow", "0,9.5", "1,9.75"])
    assert rows[:, 0].tolist() == [9.5, 9.75] and times == [0.0, 1.0]


@pytest.mark.parametrize(("header", "end"), [("time,a,b", ","), ("time,a,b,", ""), ("time,a,b,", ","),
                                             ("time;a;b;;", ";"), (None, ","), (None, ",,")])
def test_lines_ending_in_delimiters_are_read_as_the_table_reader_reads_them(tmp_path, header, end) -> None:
    # rows ending in a delimiter under a header that does not (or the other way round) were all malformed:
    # "expected 3 CSV fields, got 4", nothing scored
    sep = header[4] if header else ","
    rows = [f"{i}{sep}{i + 1}{sep}{2 * i}{end}" for i in range(100)]
    rows[5] = f"5{sep}6{sep}{end or sep}"  # b missing (the line still ends in delimiters)
    lines = ([header] if header else []) + rows
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    table = read_table(path)
    parser = RecordParser(["a", "b"])
    values, times = parser.parse(lines)
    assert parser.counts["malformed"] == 0
    np.testing.assert_array_equal(values.T, table.values)
    assert times == [float(i) for i in range(100)]


@pytest.mark.parametrize("stamp", ["2024-01-01 00:00:00 UTC", "2024-01-01T00:00:00 GMT"])
def test_a_time_naming_its_zone_by_a_word_raises_no_numpy_warning(stamp) -> None:
    # numpy's "no explicit representation of timezones available for np.datetime64" reached the monitor's stderr
    parser = RecordParser(["a"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows, times = parser.parse(["time,a", f"{stamp},1"])
    assert rows.tolist() == [[1.0]] and times == [stamp]


def test_a_line_beginning_with_a_formula_error_is_a_record_as_in_a_table() -> None:
    # "#N/A,3" was skipped as a comment line, unlike the table reader's (and unlike "3,#N/A")
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["a,b", "1,2", "#N/A,3", "# a note", "4,#N/A"])
    np.testing.assert_array_equal(rows, [[1, 2], [np.nan, 3], [4, np.nan]])
    assert parser.counts["malformed"] == 0


def test_excel_s_sep_line_and_comment_lines_are_no_records_as_in_a_table() -> None:
    # the table reader reads "sep=;" as naming the delimiter and skips "#" lines; a stream counted each malformed
    lines = ["sep=;", "# exported by the logger", "time;a;b", "0;1,5;2", "# a note", "1;2,5;3"]
    parser = RecordParser(["a", "b"])
    rows, times = parser.parse(lines)
    assert rows.tolist() == [[1.5, 2.0], [2.5, 3.0]] and times == [0.0, 1.0]
    assert parser.counts["malformed"] == 0 and parser.sep == ";"
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["sep=;", "0;1,5;2"])  # headerless: the named delimiter splits the rows
    assert rows.tolist() == [[1.5, 2.0]] and parser.counts["malformed"] == 0
    parser = RecordParser(["a", "b"])
    parser.parse(["time,a,b", "0,1,2", "sep=;", "1,3,4"])  # once rows came, a sep line changes nothing
    assert parser.sep == "," and parser.counts["malformed"] == 1


def test_a_line_of_many_trailing_delimiters_is_read_in_linear_time() -> None:
    # before: the blank fields a line ends in were dropped one at a time, the list copied each time: one line of
    # 300,000 commas (under the 1 MiB line limit) held the monitor 66 s, one of a million about 12 minutes
    import time

    parser = RecordParser(["a", "b"])
    started = time.monotonic()
    rows, _ = parser.parse(["," * 400_000, "0,1,2", "1,3,4,,,"])
    assert time.monotonic() - started < 20  # seconds: a bound only the quadratic drop meets (about 2 minutes)
    assert rows.tolist() == [[1, 2], [3, 4]] and parser.counts["malformed"] == 1


def test_a_clock_set_back_is_confirmed_by_the_next_record_as_a_far_jump_is() -> None:
    # before: a time earlier than the reference by less than max_time_jump was skipped until the clock passed the
    # reference again: a device that restarted its sample counter at 0 had every later sample skipped (the pump's
    # faults at samples 1049 and 1554 never reported), an NTP step or a DST change of local times lost minutes to an
    # hour of samples; a clock set back more than max_time_jump was already accepted once confirmed
    parser = RecordParser(["a"])
    rows, _ = parser.parse(["time,a"] + [f"{t},{t}" for t in range(1000, 1010)] + [f"{t},{t + 50}" for t in range(10)])
    assert rows[:, 0].tolist() == [*range(1000, 1010), *range(51, 60)]  # the first record back held, the next confirms
    assert parser.counts["out_of_order"] == 1 and parser.last_time == 9
    dates = RecordParser(["a"])  # local times an hour back (DST ends)
    stamps = ["2024-10-27T02:59:58", "2024-10-27T02:59:59", "2024-10-27T02:00:00", "2024-10-27T02:00:01",
              "2024-10-27T02:00:02"]
    rows, _ = dates.parse([json.dumps({"time": t, "a": k}) for k, t in enumerate(stamps)])
    assert rows[:, 0].tolist() == [0, 1, 3, 4] and dates.counts["out_of_order"] == 1
    late = RecordParser(["a"])  # a lone late record is still skipped, and confirms nothing for the next one
    rows, _ = late.parse(["time,a", "0,1", "1,2", "2,3", "0.5,9", "3,4", "0.7,8", "4,5"])
    assert rows[:, 0].tolist() == [1, 2, 3, 4, 5] and late.counts["out_of_order"] == 2


def test_two_records_a_few_steps_late_are_both_skipped_not_taken_for_a_clock_set_back() -> None:
    # before: the second of two late records (swapped in transit: 8, 9 arriving after 10, 11) confirmed the first as
    # a clock set back and became the reference: it was scored after 11, out of place
    parser = RecordParser(["a"])
    lines = ["time,a"] + [f"{t},{t}" for t in range(12) if t not in (8, 9)] + ["8,8", "9,9", "12,12", "13,13"]
    rows, _ = parser.parse(lines)
    assert rows[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13]
    assert parser.counts["out_of_order"] == 2 and parser.last_time == 13
    reset = RecordParser(["a"])  # a set back by more than REORDER_STEPS steps is still a clock set back
    rows, _ = reset.parse(["time,a"] + [f"{t},{t}" for t in range(10)] + ["2,20", "3,30", "4,40"])
    assert rows[:, 0].tolist() == [*range(10), 30, 40] and reset.counts["out_of_order"] == 1


def test_numbers_separated_by_spaces_are_records() -> None:
    """A serial logger's lines of numbers with spaces between them (``0 9.51  1.9``) were all malformed ("expected
    2 or 3 CSV fields, got 1"): they are read as the same line with commas is."""
    spaced, commas = RecordParser(["a", "b"]), RecordParser(["a", "b"])
    lines = ["0 9.514  1.908", "1   9.276 1.9e+00", "2 NaN 1.5"]
    rows, times = spaced.parse(lines)
    expected, expected_times = commas.parse([",".join(line.split()) for line in lines])
    np.testing.assert_array_equal(rows, expected)
    assert times == expected_times == [0.0, 1.0, 2.0] and spaced.counts["malformed"] == 0


def test_a_spaced_line_among_delimited_ones_or_with_a_date_is_not_split() -> None:
    parser = RecordParser(["a"])
    rows, _ = parser.parse(["1;2,5", "2 3.5"])  # the stream is ;-separated: a line of spaces is malformed there
    assert rows.tolist() == [[2.5]] and parser.counts["malformed"] == 1
    parser = RecordParser(["a"])
    rows, _ = parser.parse(["2024-01-01 10:00:00 1.5"])  # a date with a space inside: not numbers
    assert len(rows) == 0 and parser.counts["malformed"] == 1


def test_a_header_of_names_separated_by_spaces_names_the_columns() -> None:
    """A serial logger's header line (``time pressure flow``) above its spaced numbers was malformed, and its rows then
    taken by position: here the sensors come in another order than the detector's, so each got the other's values."""
    parser = RecordParser(["flow", "pressure"])
    rows, times = parser.parse(["time pressure   flow", "0 2.5 9.5", "1 2.4 9.6"])
    assert rows.tolist() == [[9.5, 2.5], [9.6, 2.4]] and times == [0.0, 1.0]
    assert parser.counts["malformed"] == 0
    quoted = RecordParser(["flow rate"])
    rows, _ = quoted.parse(['"t" "flow rate"', "0 1.5"])
    assert rows.tolist() == [[1.5]] and quoted.counts["malformed"] == 0
    stray = RecordParser(["a", "b"])  # a line of words naming no sensor is still no header
    rows, _ = stray.parse(["0 1 2", "pump restarted", "1 3 4"])
    assert rows.tolist() == [[1.0, 2.0], [3.0, 4.0]] and stray.counts["malformed"] == 1


def test_a_dated_row_without_its_date_has_no_time() -> None:
    """A Date,Time stream's row with an empty Date cell: its time of day was read as seconds (36001), out of order
    among the dates, and the sample skipped; the table reader reads its time as missing (NaT) and scores it."""
    parser = RecordParser(["flow"])
    lines = ["Date,Time,flow", "2024-02-01,10:00:00,1.5", ",10:00:01,1.6", "2024-02-01,10:00:02,1.7"]
    rows, times = parser.parse(lines)
    assert rows[:, 0].tolist() == [1.5, 1.6, 1.7] and parser.counts["out_of_order"] == 0
    assert [output_time(t) for t in times] == ["2024-02-01T10:00:00", "", "2024-02-01T10:00:02"]


@pytest.mark.parametrize(("header", "rows"), [
    ('"pressure" "flow"', ['"1" 2.5 9.5', '"2" 2.4 9.6']),  # R's write.table(df): quoted, row names first
    ("pressure,flow", ["1,2.5,9.5", "2,2.4,9.6"])])  # write.csv(df) without its "" before the names
def test_rows_with_their_names_first_are_read_by_the_header_after_them(header, rows) -> None:
    """R writes a row's name before its values and no name for that column: the header was malformed ('a header line
    no row of its shape followed') and the rows taken by position: here the sensors come in another order than the
    detector's, so each got the other's values (the spaced rows were all malformed before that)."""
    parser = RecordParser(["flow", "pressure"])
    got, _ = parser.parse([header, *rows])
    assert got.tolist() == [[9.5, 2.5], [9.6, 2.4]] and parser.counts["malformed"] == 0


def test_a_date_and_a_time_of_day_column_are_one_time_in_a_stream() -> None:
    """A logger's ``Date,Time`` columns: every record's time was unreadable (``10:00:00``), as batch scoring refused
    such a table; now both read it as the date and time of day, and an elapsed ``hh:mm:ss`` alone as seconds."""
    parser = RecordParser(["flow"])
    rows, times = parser.parse(["Date,Time,flow", "2024-02-01,10:00:00,1.5", "01.02.2024,10:00:01,1.6"])
    assert rows[:, 0].tolist() == [1.5, 1.6] and parser.counts["unreadable_times"] == 0
    assert [output_time(t) for t in times] == ["2024-02-01T10:00:00", "2024-02-01T10:00:01"]
    assert parser.unknown_fields == set()  # the Date column is the time's, not a field ignored
    elapsed = RecordParser(["flow"])
    _, times = elapsed.parse(["Time,flow", "00:01:30,1.5", "00:01:30.5,1.6"])
    assert [time_value(t) for t in times] == [90.0, 90.5] and elapsed.counts["unreadable_times"] == 0


def test_times_of_day_passing_midnight_go_on_into_the_next_day_as_the_table_reader_reads_them(tmp_path) -> None:
    """A logger's ``Time`` of day without a date over two days: 00:00:00 was skipped as out of order at each midnight
    (a clock set back, followed from the next record on), its times a day behind the table reader's."""
    told: list[tuple[str, str]] = []

    class Log:
        def warn(self, kind: str, message: str) -> None:
            told.append((kind, message))

    cells = [f"{s // 3600 % 24:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86397, 86397 + 8)]
    lines = ["Time,flow", *(f"{c},{i}" for i, c in enumerate(cells))]
    parser = RecordParser(["flow"], log=Log())
    rows, times = parser.parse(lines)
    assert [time_value(t) for t in times] == [86397.0 + i for i in range(8)] and len(rows) == 8
    assert parser.counts["out_of_order"] == 0
    assert told == [("midnight", "the time column 'Time' is times of day without a date that pass midnight: read "
                                 "on into the next day (1 time(s), the first at line 5), as seconds from the first "
                                 "day's midnight")]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(read_table(path).time, [time_value(t) for t in times])


def test_times_of_day_of_a_working_day_are_not_told_as_excel_dates_in_a_stream() -> None:
    """08:00 onwards is 28,800 s and more: the stream's first numeric times were judged as maybe Excel's serial days,
    as the table reader judged them (neither does now; numbers there still are told)."""
    told: list[str] = []

    class Log:
        def warn(self, kind: str, message: str) -> None:
            told.append(kind)

    clock = RecordParser(["flow"], log=Log())
    clock.parse(["Time,flow", *(f"{8 + i // 60:02d}:{i % 60:02d}:00,{i}" for i in range(100))])
    assert "excel_days" not in told
    RecordParser(["flow"], log=Log()).parse(["Time,flow", *(f"{45292 + i / 1440:.6f},{i}" for i in range(100))])
    assert "excel_days" in told


def test_a_header_one_column_short_mid_stream_does_not_shift_the_rows_that_fit_the_columns_in_use() -> None:
    """A producer's header without the label column (``time,a,b`` among ``time,a,b,label`` rows) was taken for R's
    header above rows with their names first: every later row lost its time to the row name, its sensors shifted
    by one (``a`` read as the time, ``b`` holding ``a``), 470 of 800 samples skipped as out of order, the rest in
    alarm. Rows that fit the columns in use are read by them; the stray header is one malformed line."""
    parser = RecordParser(["a", "b"])
    lines = ["time,a,b,label", "0,1,2,0", "1,3,4,0", "time,a,b", "2,5,6,0", "3,7,8,1"]
    rows, times = parser.parse(lines)
    assert rows.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]] and times == [0.0, 1.0, 2.0, 3.0]
    assert parser.counts["malformed"] == 1 and parser.header == ["time", "a", "b", "label"]


def test_a_quoted_comma_number_in_a_comma_separated_stream_is_told_as_what_it_is() -> None:
    # before: "mixed decimal marks: '0,5' has a decimal comma, the record's first decimal number is a decimal point",
    # though no number of the record had a point (the table reader says the same as below since f9e3dce)
    log = _Warnings()
    parser = RecordParser(["a", "b"], log=log)
    rows, _ = parser.parse(["a,b", '"0,5",1', "0.25,2"])
    assert rows.tolist() == [[0.25, 2]] and parser.counts["malformed"] == 1
    assert log.messages[0].startswith(
        "skipped a malformed line (a comma in a number of a comma-separated record ('0,5'; decimal commas are read "
        "where values are separated by ; or tabs, thousands separators nowhere)")
    semicolons = RecordParser(["a", "b"])  # the way the message points
    rows, _ = semicolons.parse(["a;b", '"0,5";1'])
    assert rows.tolist() == [[0.5, 1]] and semicolons.counts["malformed"] == 0
