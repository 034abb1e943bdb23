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
