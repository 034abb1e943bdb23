"""Batch scoring leaves a silent sensor out as the monitor does: the same scores, and a dead sensor no longer
flags the rest of the file."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.io.tables import TableWarning
from tsae.pipelines.anomaly.files import score_file
from tsae.pipelines.anomaly.monitor import Monitor

from sensor_data import SENSORS, make_series, write_csv


def _monitor_scores(detector, x, silence, chunk):
    mon = Monitor(detector, silence=silence, every_sample=True)
    records = []
    for start in range(0, x.shape[1], chunk):
        records += mon.push(x[:, start:start + chunk])
    records += mon.flush()
    return np.array([r["score"] for r in records if r["type"] == "sample"])


def _dead(sensor: int, from_sample: int, n: int = 900, fault: bool = True) -> np.ndarray:
    """``(sensors, n)``: ``sensor`` missing from ``from_sample`` on; a fault (+3 for 15 samples at 600) on another."""
    x = make_series(n, seed=2).T.copy()
    x[sensor, from_sample:] = np.nan
    if fault:
        x[(sensor + 1) % 3, 600:615] += 3.0
    return x


@pytest.mark.parametrize(("sensor", "from_sample"), [(0, 300), (2, 0)])  # dies in the middle; never reports
@pytest.mark.parametrize("silence", [100, 20])
def test_batch_scores_equal_the_monitors_whatever_its_blocks(detector, sensor, from_sample, silence):
    x = _dead(sensor, from_sample)
    batch = detector.decision_function(x, silence=silence)
    for chunk in (7, x.shape[1]):
        np.testing.assert_allclose(_monitor_scores(detector, x, silence, chunk), batch, rtol=1e-9, atol=1e-12)
    scores, contrib = detector.score_with_contributions(x, silence=silence)
    np.testing.assert_array_equal(scores, batch)
    np.testing.assert_allclose(contrib.sum(axis=0), 1.0)
    np.testing.assert_array_equal(detector.predict(x, silence=silence), (batch > detector.threshold_).astype(int))


def test_without_a_silent_sensor_nothing_changes(detector, test_data):
    x = test_data.T.copy()
    x[1, 200:260] = np.nan  # a gap shorter than the silence: held, as always
    np.testing.assert_array_equal(detector.decision_function(x), detector.decision_function(x, silence=None))
    held = detector.decision_function(x, silence=None)
    np.testing.assert_array_equal(detector.decision_function(x, silence=61), held)


@pytest.mark.parametrize("sensor", range(3))
def test_a_dead_sensor_no_longer_flags_the_rest_of_the_file(detector, sensor):
    x = _dead(sensor, 200)
    clean = np.r_[350:560, 680:900]  # after the death is known, away from the fault
    now = detector.predict(x)[clean].mean()
    before = detector.predict(x, silence=None)[clean].mean()
    assert now < 0.15 and before > 0.9, (now, before)


@pytest.mark.parametrize("sensor", range(3))
def test_a_fault_on_another_sensor_after_the_death_is_still_flagged_and_named(detector, sensor):
    x = _dead(sensor, 200)
    flags = detector.predict(x)
    assert flags[600:615].mean() > 0.8
    contrib = detector.contributions(x)
    assert SENSORS[int(np.argmax(contrib[:, 600:615].mean(axis=1)))] == SENSORS[(sensor + 1) % 3]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "100"])
def test_a_bad_silence_is_refused_naming_it(detector, test_data, bad):
    with pytest.raises(ValueError, match="silence must be a whole number >= 1"):
        detector.decision_function(test_data.T, silence=bad)


def test_detect_score_tells_the_silent_sensors(tmp_path, detector_file, test_data):
    x = test_data.copy()
    x[:, 2] = np.nan  # flow: an empty column
    x[250:, 0] = np.nan  # temp: dies at row 250
    path = write_csv(tmp_path / "dead.csv", x)
    with pytest.warns(TableWarning) as caught:
        summary = score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)
    messages = [str(w.message) for w in caught]
    assert any("'flow' have no values" in m and "then silent" in m for m in messages), messages
    assert any("'temp' from row index 250 missing for 100 rows or more" in m for m in messages), messages
    assert summary["silent_sensors"] == [  # the file's time column counts the rows
        {"sensor": "flow", "index": 99, "since_index": 0, "stretches": 1, "time": 99, "since_time": 0},
        {"sensor": "temp", "index": 349, "since_index": 250, "stretches": 1, "time": 349, "since_time": 250},
    ]
    assert json.loads((tmp_path / "out.events.json").read_text())["silent_sensors"] == summary["silent_sensors"]
    # the scores written are the monitor's with the same silence
    written = np.genfromtxt(tmp_path / "out.csv", delimiter=",", names=True)["score"]
    np.testing.assert_allclose(written, _monitor_scores(detector_file, x.T, 100, 50), rtol=1e-9)
    result = CliRunner().invoke(cli, ["detect", "score", str(path), "--detector", str(detector_file), "-o",
                                      str(tmp_path / "cli.csv"), "--silence", "100"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "'temp' from row index 250" in result.output and "'flow' have no values" in result.output
    listed = json.loads((tmp_path / "cli.events.json").read_text())
    assert listed["events"] is not None and [e["sensor"] for e in listed["silent_sensors"]] == ["flow", "temp"]
    quiet = CliRunner().invoke(cli, ["detect", "score", str(path), "--detector", str(detector_file), "-o",
                                     str(tmp_path / "q.csv"), "-q"], catch_exceptions=False)
    assert quiet.exit_code == 0 and "Warning" not in quiet.output


def test_detect_score_off_holds_every_gap(tmp_path, detector_file, test_data):
    x = test_data.copy()
    x[250:, 0] = np.nan
    path = write_csv(tmp_path / "dead.csv", x)
    summary = score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True, silence=None)
    assert summary["silent_sensors"] == []
    assert json.loads((tmp_path / "out.events.json").read_text())["silent_sensors"] == []
    held = np.genfromtxt(tmp_path / "out.csv", delimiter=",", names=True)["score"]
    assert (held[400:] > summary["threshold"]).mean() > 0.9


def test_a_bad_silence_option_is_one_line_and_writes_nothing(tmp_path, detector_file, test_data):
    path = write_csv(tmp_path / "data.csv", test_data)
    result = CliRunner().invoke(cli, ["detect", "score", str(path), "--detector", str(detector_file), "-o",
                                      str(tmp_path / "out.csv"), "--silence", "0"], catch_exceptions=False)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "'--silence'" in lines[0], result.output
    assert not list(tmp_path.glob("out*"))
    with pytest.raises(ValueError, match="silence must be a whole number >= 1, got 0"):
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True, silence=0)
    assert not list(tmp_path.glob("out*"))


@pytest.fixture(scope="module")
def pump():
    """A detector of the pump sample (seconds) and data/pump_faulty.csv's rows with silent stretches put in: pressure
    over a scoring block's end (300 rows a block), flow twice (after a gap too short to be one), vibration to the
    end; and the sensors' names."""
    from pathlib import Path

    from tsae.io.tables import read_table
    from tsae.pipelines.anomaly.detector import Detector

    data = Path(__file__).resolve().parents[3] / "data"
    normal = read_table(data / "pump_normal.csv")
    det = Detector(window=40, epochs=1, device="cpu").fit(normal.values, sensors=normal.columns)
    lines = (data / "pump_faulty.csv").read_text().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    for i, row in enumerate(rows):
        row[2] = "" if 500 <= i < 760 else row[2]
        row[1] = "" if 1000 <= i < 1050 or 1200 <= i < 1330 or 1400 <= i < 1520 else row[1]
        row[4] = "NA" if i >= 1850 else row[4]
    return det, "\n".join([lines[0], *(",".join(row) for row in rows)]) + "\n", normal.columns


@pytest.mark.parametrize("block", [None, 300])
def test_detect_score_lists_the_silent_stretches_its_scoring_left_out(tmp_path, monkeypatch, pump, block):
    """score_file found the silent sensors in a pass of its own, then the scoring found them again: the stretches it
    lists are the scoring's, and are the ones a whole-series pass finds, as are the scores, whatever the blocks."""
    from tsae.pipelines.anomaly import block_scoring
    from tsae.pipelines.anomaly.silent import silent_stretches

    det, text, sensors = pump
    if block is not None:
        monkeypatch.setattr(block_scoring, "SCORE_BLOCK", block)
    path = tmp_path / "silent.csv"
    path.write_text(text)
    with pytest.warns(TableWarning, match=r"'pressure' from row index 500, 'flow' from row index 1200, 'vibration' "
                                          r"from row index 1850 missing for 100 rows or more"):
        summary = score_file(path, det, tmp_path / "out.csv", device="cpu", quiet=True)
    x = np.genfromtxt(path, delimiter=",", names=True)
    X = np.array([x[name] for name in sensors])
    listed: dict[str, dict] = {}
    for sensor, index, since in silent_stretches(X, 100):
        entry = listed.setdefault(sensors[sensor], {"sensor": sensors[sensor], "index": index, "since_index": since,
                                                    "stretches": 0, "time": float(index), "since_time": float(since)})
        entry["stretches"] += 1
    assert summary["silent_sensors"] == list(listed.values())
    assert [(e["sensor"], e["since_index"], e["stretches"]) for e in summary["silent_sensors"]] == [
        ("pressure", 500, 1), ("flow", 1200, 2), ("vibration", 1850, 1)]
    assert json.loads((tmp_path / "out.events.json").read_text())["silent_sensors"] == summary["silent_sensors"]
    written = np.genfromtxt(tmp_path / "out.csv", delimiter=",", names=True)["score"]
    np.testing.assert_array_equal(written, det.score_with_contributions(X, silence=100)[0])
