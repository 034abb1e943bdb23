"""InfluxDB CSV exports (annotated CSV, long form: a row per value) read as the wide table they pivot to: annotation
rows skipped, _time the time, a column per series (its _field, tags where they tell series apart), several tables
and results concatenated; the fast, row-by-row and block readers agree (test_table_reader_agreement)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import tsae.io.influx as influx
from tests.io.test_table_reader_agreement import agreed
from tsae.cli import cli
from tsae.io.tables import read_table

GROUP = "#group,false,false,true,true,false,false,true,true,true\r\n"
DATATYPE = ("#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,{kind},string,string,"
            "string\r\n")
DEFAULT = "#default,_result,,,,,,,,\r\n"
HEADER = ",result,table,_start,_stop,_time,_value,_field,_measurement,host\r\n"


def _stamp(second: float) -> str:
    whole = int(second)
    fraction = f"{second - whole:.3f}"[1:].rstrip("0").rstrip(".")
    return f"2024-01-01T{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}{fraction}Z"


def _table(number: int, field: str, seconds, values, *, host: str = "a", measurement: str = "air",
           result: str = "") -> str:
    return "".join(f",{result},{number},2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,{_stamp(s)},{v},{field},"
                   f"{measurement},{host}\r\n" for s, v in zip(seconds, values, strict=True))


def _block(*tables: str, kind: str = "double", annotated: bool = True) -> str:
    return (GROUP + DATATYPE.format(kind=kind) + DEFAULT if annotated else "") + HEADER + "".join(tables)


def _write(path: Path, *blocks: str) -> Path:
    path.write_text("\r\n".join(blocks), newline="")
    return path


def test_an_annotated_export_is_its_fields_side_by_side(tmp_path, monkeypatch) -> None:
    # before: "an InfluxDB export in long form (a row per value, the field named in '_field'): give it one column
    # per field first (Flux: |> pivot(...))"
    seconds = np.arange(300)
    temp, rh = 20 + np.sin(seconds / 9), 50 + np.cos(seconds / 7)
    path = _write(tmp_path / "influx.csv", _block(_table(0, "temp", seconds, temp.round(4)),
                                                   _table(1, "rh", seconds[::3], rh[::3].round(4))))
    (_, values, columns, time, time_name, _, _, utc, *_), told = agreed(path, monkeypatch)
    assert columns == ["temp", "rh"] and time_name == "_time" and utc and told == []
    assert time[0] == np.datetime64("2024-01-01T00:00:00") and len(time) == 300
    np.testing.assert_array_equal(values[0], temp.round(4))
    np.testing.assert_array_equal(values[1, ::3], rh[::3].round(4))
    assert np.isnan(values[1, 1::3]).all() and np.isnan(values[1, 2::3]).all()
    assert read_table(path).sample_rate() == 1.0


def test_concatenated_tables_and_several_series_of_a_field(tmp_path, monkeypatch) -> None:
    # a second query's result after a blank line, its annotations and header again; the field of two hosts
    first = _block(_table(0, "temp", [0, 1, 2], [1.5, 2.5, 3.5]), _table(1, "temp", [1, 2], [7, 8], host="b"))
    second = _block(_table(0, "temp", [3, 4], [4.5, 5.5]), _table(1, "pressure", [0.5, 4], [1e5, 2e5]))
    path = _write(tmp_path / "two.csv", first, second)
    (_, values, columns, time, *_), told = agreed(path, monkeypatch)
    assert columns == ["temp host=a", "temp host=b", "pressure"] and told == []
    np.testing.assert_array_equal(time.astype("datetime64[ms]").astype(np.int64) - time[0].astype("datetime64[ms]")
                                  .astype(np.int64), [0, 500, 1000, 2000, 3000, 4000])
    np.testing.assert_array_equal(values, [[1.5, np.nan, 2.5, 3.5, 4.5, 5.5],
                                           [np.nan, np.nan, 7, 8, np.nan, np.nan],
                                           [np.nan, 1e5, np.nan, np.nan, np.nan, 2e5]])


def test_an_export_without_annotations_with_booleans_and_times_out_of_order(tmp_path, monkeypatch) -> None:
    plain = _write(tmp_path / "plain.csv", _block(_table(0, "t", [2, 0, 1], [3, 1, 2]), annotated=False))
    (_, values, columns, *_), _ = agreed(plain, monkeypatch)
    assert columns == ["t"] and values.tolist() == [[1, 2, 3]]
    valve = _write(tmp_path / "valve.csv", _block(_table(0, "open", [0, 1, 2], ["true", "false", "true"]),
                                                  kind="boolean"))
    assert read_table(valve).values.tolist() == [[1, 0, 1]]


def test_an_export_pivoted_already_is_its_columns_of_numbers(tmp_path, monkeypatch) -> None:
    # |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value"): a column per field, annotated
    head = ("#group,false,false,true,true,false,true,true,false,false\r\n"
            "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,string,double,long\r\n"
            "#default,_result,,,,,,,,\r\n"
            ",result,table,_start,_stop,_time,_measurement,host,temp,count\r\n")
    rows = "".join(f",,{k},2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,{_stamp(i)},air,{host},{20 + i / 4},{i}\r\n"
                   for k, host in enumerate("ab") for i in range(4))
    path = _write(tmp_path / "pivoted.csv", head + rows)
    (_, values, columns, time, time_name, *_), told = agreed(path, monkeypatch)
    assert columns == ["temp host=a", "count host=a", "temp host=b", "count host=b"] and time_name == "_time"
    np.testing.assert_array_equal(values, [[20, 20.25, 20.5, 20.75], [0, 1, 2, 3]] * 2)


def test_the_pivot_is_the_same_in_small_chunks(tmp_path, monkeypatch) -> None:
    seconds = np.arange(100)
    path = _write(tmp_path / "x.csv", _block(_table(0, "a", seconds, seconds * 0.5),
                                             _table(1, "b", seconds[::2], seconds[::2] * 2.0)))
    want = read_table(path)
    monkeypatch.setattr(influx, "_ROWS", 7)
    monkeypatch.setattr(influx, "_WIDE_ROWS", 5)
    got = read_table(path)
    np.testing.assert_array_equal(got.values, want.values)
    np.testing.assert_array_equal(got.time, want.time)


@pytest.mark.parametrize(("table", "says"), [
    (_table(0, "status", [0, 1], ["ok", "bad"]), "line 5: _value of field 'status' is not a number ('ok'): tsae "
                                                 "reads numeric fields (filter the others out: |> filter(fn: (r) => "
                                                 "r._field != \"status\"))"),
    (_table(0, "t", [0], [1]).replace("2024-01-01T00:00:00Z,1,", "yesterday,1,"), "line 5: _time 'yesterday' is "
                                                                                  "not a time"),
    (_table(0, "t", [0, 0], [1, 2]), "series 't' has two values at 2024-01-01T00:00:00Z (1.0 and 2.0)"),
    (_table(0, "t", [0], [1]) + ",,0,x\r\n", "line 6 has 4 fields, expected 10"),
])
def test_what_is_no_sensor_reading_is_one_error_naming_its_line(tmp_path, monkeypatch, table, says) -> None:
    path = _write(tmp_path / "bad.csv", _block(table))
    (result, *_), _ = agreed(path, monkeypatch)
    assert result == "error"
    with pytest.raises(ValueError) as error:
        read_table(path)
    assert str(error.value) == f"{path}: {says}"


def test_an_error_of_the_query_or_no_time_column_is_told(tmp_path) -> None:
    failed = tmp_path / "failed.csv"
    failed.write_text("#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n"
                      ",failed to compile query,\r\n", newline="")
    with pytest.raises(ValueError, match="line 4: the export holds an error of the query, not its data"):
        read_table(failed)
    summed = tmp_path / "summed.csv"  # |> sum(): no _time; without annotations, the reader's hint to pivot
    summed.write_text(",result,table,_value,_field\r\n,,0,12.5,t\r\n", newline="")
    with pytest.raises(ValueError, match="an InfluxDB export in long form"):
        read_table(summed)


def test_smooth_writes_the_pivoted_table(tmp_path) -> None:
    seconds = np.arange(64)
    path = _write(tmp_path / "influx.csv", _block(_table(0, "temp", seconds, np.sin(seconds / 5).round(3)),
                                                  _table(1, "rh", seconds, np.cos(seconds / 5).round(3))))
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["impute", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "_time,temp,rh" and lines[1].startswith("2024-01-01T00:00:00Z,0.0,1.0")
    assert len(lines) == 65
