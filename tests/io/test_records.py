"""tsae.io.records: the stream record parser shares the table reader's time names, missing tokens and delimiters."""
from __future__ import annotations

import numpy as np

from tsae.io.records import RecordParser
from tsae.io.tables import read_table


def test_seconds_time_column_is_recognised_like_the_table_reader(tmp_path) -> None:
    text = "seconds,a,b\n0.0,1,2\n0.5,3,4\n1.0,5,6\n"
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert read_table(path).time_name == "seconds"
    parser = RecordParser(["a", "b"])
    rows, times = parser.parse(text.splitlines())
    np.testing.assert_array_equal(rows, [[1, 2], [3, 4], [5, 6]])
    assert times == ["0.0", "0.5", "1.0"] and not parser.unknown_fields
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
    assert rows.tolist() == [[2, 3], [4, 5]] and times == ["1", "2"]
    parser = RecordParser(["a", "b"])
    rows, _ = parser.parse(["1\t2", "3\t4"])  # no header: columns are the sensors in order
    assert rows.tolist() == [[1, 2], [3, 4]]
