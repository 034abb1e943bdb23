"""Tables as real tools write them: the header each writes for a time column (named with its unit: ``Time (s)``,
``Time [ms]``, ``t/s``) and for the rows' numbers (pandas' and R's index), each read with the time column, its
interval and the channels a user would expect; data columns whose names merely hold ``time`` stay channels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsae.io.table_time import median_step
from tsae.io.tables import read_table

N = 50


def _written(tmp_path: Path, name: str, header: str, cells: list[str], delimiter: str = ",") -> Path:
    """A file of ``N`` rows: a first column ``header`` holding ``cells``, then a channel ``flow``."""
    flow = np.random.default_rng(0).random(N)
    path = tmp_path / name
    path.write_text(f"{header}{delimiter}flow\n" + "".join(f"{c}{delimiter}{float(v)!r}\n" for c, v in zip(cells, flow,
                                                                                                     strict=True)))
    return path


def _steps(step: float) -> list[str]:
    return [repr(float(round(i * step, 6))) if step != int(step) else str(i * int(step)) for i in range(N)]


@pytest.mark.parametrize(("header", "step", "rate"), [
    ("Time (s)", 0.01, 100.0),            # data loggers, LabVIEW, Excel: a tab-separated export (below)
    ("Elapsed time (s)", 0.5, 2.0),
    ("Time [ms]", 10, 100.0),             # read as seconds before: 0.1 Hz
    ("Time (s)", 1, 1.0),
    ("Time [s]", 0.25, 4.0),
    ("Time/s", 0.1, 10.0),
    ("t/s", 0.1, 10.0),
    ("t (ms)", 5, 200.0),
    ("Time_s", 0.1, 10.0),                # MATLAB writetable: names are identifiers
    ("time_ms", 4, 250.0),
    ("Zeit [s]", 0.02, 50.0),
    ("Elapsed time (min)", 1, 1 / 60),
    ("Elapsed Time", 0.5, 2.0),           # no unit: seconds, as 'time'
    ("Time (sec)", 2, 0.5),
    ("TIME [H]", 1, 1 / 3600),
    ("Time [us]", 100, 1e4),
])
def test_a_time_column_named_with_its_unit_is_the_time_in_that_unit(tmp_path, header: str, step: float,
                                                                    rate: float) -> None:
    delimiter = "\t" if "(s)" in header else ","
    table = read_table(_written(tmp_path, "t.tsv" if delimiter == "\t" else "t.csv", header, _steps(step),
                                delimiter))
    assert table.time_name == header and table.columns == ["flow"]
    assert table.sample_rate() == pytest.approx(rate, rel=1e-9)


def test_an_arduino_millis_column_is_the_time_however_it_ticks(tmp_path) -> None:
    # an Arduino's millis() stamps drift (its loop is no clock): no counter, but the name says it is the time
    ticks = np.cumsum(np.r_[0, np.random.default_rng(1).integers(98, 104, N - 1)])
    table = read_table(_written(tmp_path, "a.csv", "millis", [str(t) for t in ticks]))
    assert table.time_name == "millis" and table.columns == ["flow"]
    assert median_step(table.time, table.time_name) == pytest.approx(np.median(np.diff(ticks)) / 1000)


@pytest.mark.parametrize("header", ["downtime", "time_to_failure", "response_time_ms", "uptime (s)", "cycle time",
                                    "Time of flight (ms)", "lap_time_s"])
def test_a_data_column_whose_name_holds_time_stays_a_channel(tmp_path, header: str) -> None:
    values = [f"{v:.3f}" for v in np.random.default_rng(2).random(N) * 100]
    table = read_table(_written(tmp_path, "d.csv", header, values))
    assert table.time is None and table.columns == [header, "flow"]


@pytest.mark.parametrize(("header", "times"), [("Time (s)", [0.0, 0.01, 0.02]), ("Time [ms]", [0.0, 10.0, 20.0]),
                                               ("millis", [0.0, 10.0, 20.0])])
def test_a_streams_time_field_is_named_as_a_tables(header: str, times: list[float]) -> None:
    # tsae monitor: the header's first field was ignored as an unknown field, the records untimed
    from tsae.io.records import RecordParser

    parser = RecordParser(["flow"])
    rows, got = parser.parse([f"{header},flow", *(f"{t},{v}" for t, v in zip(times, (1.5, 2.5, 3.5), strict=True))])
    assert got == times and rows.tolist() == [[1.5], [2.5], [3.5]] and not parser.unknown_fields
    named = RecordParser(["flow"], time_field="clock")  # a time field given: only that one
    named.parse([f"{header},flow,clock", "0,1.5,7"])
    assert named.unknown_fields == {header}


def _frame(columns: dict[str, object]):  # noqa: ANN202 - a pandas DataFrame
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(columns)


@pytest.mark.parametrize("index", [None, "index", "Unnamed: 0"])
def test_pandas_index_beside_a_time_column_is_no_channel(tmp_path, monkeypatch, index: str | None) -> None:
    # df.to_csv(path) writes its RangeIndex first, unnamed (',time,flow'): it was a channel 'column0', the rows'
    # numbers learned as a sensor; the three readers (whole, row by row, in blocks) agree
    from test_table_reader_agreement import agreed

    flow = np.random.default_rng(3).random(N)
    path = tmp_path / "p.csv"
    _frame({"time": np.arange(N) * 0.5, "flow": flow}).rename_axis(index).to_csv(path)
    assert path.read_text().startswith(f"{index or ''},time,flow\n0,0.0,")
    table = read_table(path)
    assert table.time_name == "time" and table.columns == ["flow"] and table.sample_rate() == 2.0
    np.testing.assert_array_equal(table.values[0], flow)
    (result, *_), told = agreed(path, monkeypatch)
    assert result == "ok" and not told


def test_an_r_write_csv_row_number_beside_a_time_column_is_no_channel(tmp_path, monkeypatch) -> None:
    # R's write.csv(df): quoted row names from 1 under an empty quoted name
    from test_table_reader_agreement import agreed

    path = tmp_path / "r.csv"
    path.write_text('"","time","flow"\n' + "".join(f'"{i + 1}",{i * 0.1:.1f},{i % 5}.5\n' for i in range(N)))
    table = read_table(path)
    assert table.time_name == "time" and table.columns == ["flow"] and table.sample_rate() == pytest.approx(10.0)
    agreed(path, monkeypatch)


def test_a_sliced_frames_index_is_no_channel_either(tmp_path) -> None:
    # df.iloc[100:].to_csv(path): the index counts from 100, by one, as a row number does
    path = tmp_path / "s.csv"
    _frame({"time": np.arange(200) * 1.0, "flow": np.ones(200)}).iloc[100:].to_csv(path)
    assert read_table(path).columns == ["flow"]


@pytest.mark.parametrize("cells", [
    [str(2 * i) for i in range(N)],                           # counts by two: no row number
    [str(i) for i in range(30)] + [f"{i}.5" for i in range(N - 30)],  # stops counting after the first chunks
    [str(i) for i in range(N - 1)] + ["x"],                   # a cell of text: the channel's error
])
def test_a_first_column_beside_a_time_column_that_does_not_number_the_rows_is_a_channel(tmp_path, monkeypatch,
                                                                                        cells: list[str]) -> None:
    from test_table_reader_agreement import agreed

    path = tmp_path / "c.csv"
    path.write_text(",time,flow\n" + "".join(f"{c},{i},{i % 3}\n" for i, c in enumerate(cells)))
    (result, *rest), _ = agreed(path, monkeypatch, chunks=(16, 16, 16))
    if cells[-1] == "x":
        assert result == "error" and rest[1].endswith(f"line {N + 1}, column 'column0': not a number ('x')")
    else:
        assert result == "ok" and rest[1] == ["column0", "flow"] and rest[3] == "time"


def test_detect_fit_on_a_pandas_file_learns_no_index_sensor(tmp_path) -> None:
    from click.testing import CliRunner

    from tsae.cli import cli
    from tsae.pipelines.anomaly.detector import Detector

    rng = np.random.default_rng(4)
    n = 600
    path = tmp_path / "train.csv"
    _frame({"time": np.arange(n) * 2.0, "flow": np.sin(np.arange(n) / 9) + 0.1 * rng.standard_normal(n),
            "temp": np.cos(np.arange(n) / 13) + 0.1 * rng.standard_normal(n)}).to_csv(path)
    out = tmp_path / "d.tsae"
    result = CliRunner().invoke(cli, ["detect", "fit", str(path), "-o", str(out), "--window", "16", "--epochs", "1",
                                      "--device", "cpu", "-q"])
    assert result.exit_code == 0, result.output
    detector = Detector.load(out, device="cpu")
    assert detector.sensors_ == ["flow", "temp"] and detector.sample_interval_ == 2.0


@pytest.mark.parametrize("index", [None, "index"])
def test_pandas_index_beside_dates_not_named_as_the_time(tmp_path, monkeypatch, index: str | None) -> None:
    # a RangeIndex beside a column of dates named otherwise ('recorded_at'): the index was the time column, so the
    # dates were a channel: "line 2, column 'recorded_at': not a number"
    from test_table_reader_agreement import agreed

    path = tmp_path / "p.csv"
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(N) * np.timedelta64(5, "s")
    _frame({"recorded_at": stamps, "flow": np.arange(N) % 7 * 0.5}).rename_axis(index).to_csv(path)
    table = read_table(path)
    assert table.time_name == "recorded_at" and table.columns == ["flow"] and table.sample_rate() == 0.2
    np.testing.assert_array_equal(table.time, stamps.astype("datetime64[ns]"))
    agreed(path, monkeypatch, chunks=(16, 16, 16))
    # dates that stop being dates: the index is the time column, as without them, and they are a channel's error,
    # told as without the index
    lines = path.read_text().splitlines()
    lines[40] = lines[40].replace("2024-01-01 00:03:15", "soon")
    path.write_text("\n".join(lines) + "\n")
    (result, *rest), _ = agreed(path, monkeypatch, chunks=(16, 16, 16))
    message = "line 2, column 'recorded_at': not a number ('2024-01-01 00:00:00')"
    assert result == "error" and rest[1].endswith(message)
    path.write_text("\n".join(line.split(",", 1)[1] for line in lines) + "\n")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_table(path)


def test_an_r_write_table_header_one_name_short_names_no_row_names(tmp_path, monkeypatch) -> None:
    # R's write.table(df, sep=","): the row names have no name in the header, which is one cell shorter than the
    # rows (read.table reads them so). It was an error: "line 2 has 3 fields, expected 2 ... (a title or notes above
    # the header?)"
    from test_table_reader_agreement import agreed

    path = tmp_path / "r.csv"
    path.write_text('"time","flow"\n' + "".join(f'"{i + 1}",{i * 0.5},{i % 4}.25\n' for i in range(N)))
    table = read_table(path)
    assert table.time_name == "time" and table.columns == ["flow"] and table.sample_rate() == 2.0
    agreed(path, monkeypatch, chunks=(16, 16, 16))
    (tmp_path / "s.csv").write_text('"flow","temp"\n' + "".join(f'"{i + 1}",{i % 4}.25,{i}\n' for i in range(N)))
    table = read_table(tmp_path / "s.csv")  # no time column: the row names are pandas' index is (no interval)
    assert table.columns == ["flow", "temp"] and table.sample_rate() is None
    ragged = tmp_path / "g.csv"
    ragged.write_text('"time","flow"\n"1",0,1\n"2",1\n')
    with pytest.raises(ValueError, match="line 3 has 2 fields, expected 3"):
        read_table(ragged)


def test_a_title_line_above_the_header_is_still_told_so(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Logger,Pump 3\ntime,flow,temp\n0,1.5,20\n1,2.5,21\n")
    with pytest.raises(ValueError, match=r"line 2 has 3 fields, expected 2 .*a title or notes above the header"):
        read_table(path)


def test_a_detector_fitted_on_the_row_numbers_is_told_to_fit_again(tmp_path: Path) -> None:
    """A detector that an earlier tsae fitted with pandas' index as a sensor (``column0``) misses it now: the error
    says what it probably was and what to do."""
    from tsae.pipelines.anomaly.scoring import sensor_order

    with pytest.raises(ValueError, match=r"column0 may be the rows' numbers .* fit the model or detector again"):
        sensor_order(["flow", "temp"], ["column0", "flow", "temp"], "x.csv")
    with pytest.raises(ValueError) as caught:
        sensor_order(["flow"], ["flow", "temp"], "x.csv")
    assert "rows' numbers" not in str(caught.value)


@pytest.mark.parametrize("stamp", ["{d:02d}-Jan-2024 10:00:{s:02d}", "{d:02d}-JAN-2024 10:00:{s:02d}.000"])
def test_matlab_datetime_as_writetable_writes_it(tmp_path: Path, stamp: str) -> None:
    """MATLAB's default datetime format (``dd-MMM-yyyy HH:mm:ss``) is read as dates, day first, month by name."""
    rows = "".join(f"{stamp.format(d=1 + s // 60, s=s % 60)},{0.5 * s}\n" for s in range(30))
    path = tmp_path / "m.csv"
    path.write_text("Time,flow\n" + rows)
    table = read_table(path)
    assert table.time_name == "Time" and table.columns == ["flow"]
    assert str(table.time[0]).startswith("2024-01-01T10:00:00") and table.sample_rate() == 1.0


def test_a_month_name_that_is_none_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Time,flow\n" + "".join(f"01-Foo-2024 10:00:{s:02d},{s}\n" for s in range(20)))
    with pytest.raises(ValueError, match="x.csv"):
        read_table(path)


def _spaced_tables(folder: Path) -> dict[str, Path]:
    """The same 200 rows (time, flow) as numpy.savetxt's default, MATLAB's save -ascii and R's write.table write them,
    and comma-separated."""
    t = np.arange(200.0)
    flow = np.sin(t / 9)
    pairs = [(float(a), float(b)) for a, b in zip(t, flow, strict=True)]
    files = {name: folder / f"{name}.txt" for name in ("savetxt", "savetxt_header", "matlab", "r", "csv")}
    np.savetxt(files["savetxt"], np.column_stack([t, flow]))
    np.savetxt(files["savetxt_header"], np.column_stack([t, flow]), header="time flow")
    files["matlab"].write_text("".join(f"   {a:.7e}  {b:.7e}\n" for a, b in pairs))
    files["r"].write_text('"time" "flow"\n' + "".join(f'"{i + 1}" {a!r} {b!r}\n' for i, (a, b) in enumerate(pairs)))
    files["csv"].write_text("time,flow\n" + "".join(f"{a!r},{b!r}\n" for a, b in pairs))
    return files


@pytest.mark.parametrize("name", ["savetxt", "savetxt_header", "matlab", "r"])
def test_space_separated_tables_read_as_comma_separated_ones(tmp_path: Path, name: str) -> None:
    files = _spaced_tables(tmp_path)
    table, reference = read_table(files[name]), read_table(files["csv"])
    np.testing.assert_allclose(table.values, reference.values, rtol=1e-7)
    np.testing.assert_array_equal(table.time, reference.time)
    assert table.sample_rate() == 1.0
    if name != "savetxt" and name != "matlab":  # no header: a counting first column is the time, ch1 the channel
        assert (table.time_name, table.columns) == ("time", ["flow"])


@pytest.mark.parametrize("name", ["savetxt_header", "matlab", "r"])
def test_space_separated_tables_in_blocks_as_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from tsae.io import tables
    from tsae.io.blocks import iter_blocks
    from tsae.io.table_blocks import open_table_blocks

    path = _spaced_tables(tmp_path)[name]
    whole = read_table(path)
    monkeypatch.setattr(tables, "READ_ROWS", 32)
    source = open_table_blocks(path)
    assert source.columns == whole.columns and source.time_name == whole.time_name
    np.testing.assert_array_equal(np.concatenate(list(iter_blocks(source, 50)), axis=1), whole.values)


def test_space_separated_table_with_a_ragged_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("".join(f"{i} {i * 0.5}\n" for i in range(30)) + "30 15.0 7\n")
    with pytest.raises(ValueError, match=r"x\.txt: line 31"):
        read_table(path)
