"""The pump sample shipped in data/: the detector finds each labelled fault and names its sensor."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli

DATA = Path(__file__).resolve().parents[3] / "data"


@pytest.mark.slow
def test_detect_finds_each_fault_of_the_pump_sample_and_its_sensor(tmp_path):
    runner = CliRunner()
    detector = tmp_path / "pump.tsae"
    fit = runner.invoke(cli, ["detect", "fit", str(DATA / "pump_normal.csv"), "-o", str(detector), "-q",
                              "--device", "cpu"])
    assert fit.exit_code == 0, fit.output
    scores = tmp_path / "scores.csv"
    run = runner.invoke(cli, ["detect", "score", str(DATA / "pump_faulty.csv"), "--detector", str(detector),
                              "-o", str(scores), "-q", "--device", "cpu"])
    assert run.exit_code == 0, run.output
    events = json.loads((tmp_path / "scores.events.json").read_text())["events"]
    labels = np.loadtxt(DATA / "pump_faulty.csv", delimiter=",", skiprows=1, usecols=5)
    assert len(events) <= 5
    faults = {"vibration": (600, 660), "pressure": (1100, 1190), "temperature": (1600, 1630)}
    for sensor, (start, end) in faults.items():
        assert labels[start:end].all()
        hits = [e for e in events if e["start_index"] < end and e["end_index"] >= start]
        assert hits, f"fault on {sensor} ({start}-{end}) not found: {events}"
        assert hits[0]["top_sensors"][0]["sensor"] == sensor
