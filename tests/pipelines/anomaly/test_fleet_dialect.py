"""A fleet's table (``time;host;flow;...``) split into device files read with the fleet's dialect, told once (by the
split), not sniffed again for each device: the same scores as each device's rows scored alone."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import tsae.io.tables as tables
from tsae.cli import cli
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.files import score_file
from tsae.pipelines.anomaly.fleet import devices_table

from sensor_data import SENSORS


def _time(kind: str, k: int) -> str:
    return {"numbers": str(k), "dotted": f"{1 + k // 600:02d}.02.2024 {10 + k // 60 % 10}:{k % 60:02d}:00",
            "iso": f"2024-02-{1 + k // 600:02d}T{10 + k // 60 % 10}:{k % 60:02d}:00Z"}[kind]


def _cells(row: np.ndarray, sep: str) -> list[str]:
    return [f"{v:.5f}".replace(".", "," if sep == ";" else ".") for v in row]


def _fleet_lines(parts: dict[str, np.ndarray], sep: str, time: str, sep_line: bool) -> list[str]:
    lines = (["sep=;"] if sep_line else []) + [sep.join(["time", "host", *SENSORS])]
    for k in range(max(len(x) for x in parts.values())):
        for name, x in parts.items():
            if k < len(x):
                lines.append(sep.join([_time(time, k), name, *_cells(x[k], sep)]))
    return lines


def _alone_lines(x: np.ndarray, sep: str, time: str, sep_line: bool) -> list[str]:
    return (["sep=;"] if sep_line else []) + [sep.join(["time", *SENSORS])] + [
        sep.join([_time(time, k), *_cells(row, sep)]) for k, row in enumerate(x)]


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


FLEETS = [(";", "numbers", False), (";", "dotted", True), (";", "iso", False), (",", "iso", False),
          ("\t", "dotted", False)]


@pytest.mark.parametrize(("sep", "time", "sep_line"), FLEETS)
def test_fleet_scores_each_device_as_alone_dialect_told_once(tmp_path, monkeypatch, detector_file, test_data, sep,
                                                             time, sep_line):
    parts = {"p1": test_data[:300], "p2": test_data[250:600]}
    table = _write(tmp_path / "fleet.csv", _fleet_lines(parts, sep, time, sep_line))
    told: list[str] = []
    sniff = tables.table_dialect
    monkeypatch.setattr(tables, "table_dialect", lambda *args: told.append("told") or sniff(*args))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score_file(table, detector_file, tmp_path / "s.csv", events=tmp_path / "e.csv", group_by="host", quiet=True)
        assert told == []  # the split's delimiter: no device file sniffed (before: once a device)
        out = (tmp_path / "s.csv").read_text().splitlines()
        events = (tmp_path / "e.csv").read_text().splitlines()
        for name, x in parts.items():
            alone = _write(tmp_path / f"{name}.csv", _alone_lines(x, sep, time, sep_line))
            score_file(alone, detector_file, tmp_path / f"{name}.s.csv", events=tmp_path / f"{name}.e.csv",
                       quiet=True)
            mine = [line.replace(f",{name},", ",", 1) for line in out[1:] if line.split(",")[1] == name]
            assert mine == (tmp_path / f"{name}.s.csv").read_text().splitlines()[1:]
            mine_events = [line.split(",", 1)[1] for line in events[1:] if line.split(",")[0] == name]
            assert mine_events == (tmp_path / f"{name}.e.csv").read_text().splitlines()[1:]
    assert len(told) == len(parts)  # each device alone: told from its text


def test_fit_reads_the_devices_with_the_fleets_dialect(tmp_path, monkeypatch, test_data):
    table = _write(tmp_path / "fleet.csv", _fleet_lines({"a": test_data[:200], "b": test_data[200:450]}, ";",
                                                        "dotted", True))
    told: list[str] = []
    monkeypatch.setattr(tables, "table_dialect", lambda *args: told.append("told"))
    joined, labels = devices_table(table, ["host"])
    assert told == [] and joined.columns == SENSORS and joined.time.dtype.kind == "M"
    np.testing.assert_allclose(joined.values.T, test_data[:450], atol=1e-5)
    assert labels.tolist() == [0] * 200 + [1] * 250


def test_one_sensor_decimal_comma_fleet_whose_device_starts_with_whole_numbers(tmp_path, test_data):
    """``host;flow``: a device's file holds one column, no ``;``; its first 50 values whole numbers, the sniffer took
    it for comma-separated and its first decimal comma for a second cell (before: ``fleet.csv (host=b): line 62 has
    2 fields, expected 1``)."""
    flow = test_data[:, 0] * 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a short fit's threshold)
        detector = Detector(window=24, epochs=1, device="cpu").fit(flow[None, :300], sensors=["flow"])
    detector.save(tmp_path / "flow.tsae")
    lines = ["host;flow"]
    for k in range(300):
        lines.append(f"a;{flow[k]:.3f}".replace(".", ","))
        lines.append(f"b;{round(flow[k]) if k < 60 else str(round(flow[k], 3)).replace('.', ',')}")
    table = _write(tmp_path / "fleet.csv", lines)
    result = CliRunner().invoke(cli, ["detect", "score", str(table), "--detector", str(tmp_path / "flow.tsae"),
                                      "-o", str(tmp_path / "s.csv"), "--group-by", "host", "-q"])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert rows[0].startswith("host,score,") and sum(line.startswith("b,") for line in rows) == 300
