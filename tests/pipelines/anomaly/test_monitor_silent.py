"""A silent sensor (one that sends nothing) is reported, and the monitor scores the other sensors without it."""
from __future__ import annotations

import copy
import io
import json

import numpy as np
import pytest

from tsae.io.mqtt import RECORD_TYPES
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.monitor import Monitor, run_monitor
from tsae.pipelines.anomaly.silent import scoring_core

from sensor_data import SENSORS


def _records(detector, x, silence=20, chunk=None, **options):
    mon = Monitor(detector, silence=silence, **options)
    chunk = chunk or x.shape[1]
    records = []
    for start in range(0, x.shape[1], chunk):
        records += mon.push(x[:, start:start + chunk])
    return records + mon.flush(), mon


def _events(records):
    return [r for r in records if r["type"] == "event"]


@pytest.mark.parametrize("sensor", range(3))
def test_an_absent_sensor_no_longer_keeps_the_whole_stream_in_alarm(detector, test_data, sensor) -> None:
    x = test_data.T.copy()
    x[sensor] = np.nan  # never sent
    records, mon = _records(detector, x)
    n = x.shape[1]
    # before: one event from the first sample to the last (the silent sensor held at its training mean, a flat
    # line); now at most one at the start (its first `silence` samples, held) and the fault's (400-415)
    assert all(e["n_samples"] < 0.25 * n for e in _events(records))
    assert not any(e["end_index"] > 500 for e in _events(records))  # the fault-free end
    assert mon.anomalous < 0.3 * n


@pytest.mark.parametrize("sensor", [0, 2])
def test_a_fault_on_another_sensor_is_still_found_and_named(detector, test_data, sensor) -> None:
    x = test_data.T.copy()  # the fixture's fault: "pressure", samples 400-415
    x[sensor] = np.nan
    events = _events(_records(detector, x)[0])
    on_fault = [e for e in events if e["start_index"] <= 415 and e["end_index"] >= 400]
    assert len(on_fault) == 1
    assert on_fault[0]["top_sensors"][0]["sensor"] == "pressure"
    assert SENSORS[sensor] not in [t["sensor"] for t in on_fault[0]["top_sensors"][:1]]


def test_a_sensor_that_dies_and_returns_is_reported_once_each_way(detector, test_data) -> None:
    x = test_data.T.copy()
    x[0, 150:300] = np.nan  # "temp" dies for 150 samples
    times = [1000.0 + i for i in range(x.shape[1])]
    mon = Monitor(detector, silence=20)
    records = mon.push(x[:, :200], times[:200]) + mon.push(x[:, 200:], times[200:]) + mon.flush()
    sensor = [r for r in records if r["type"] == "sensor"]
    assert sensor == [
        {"type": "sensor", "sensor": "temp", "state": "silent", "index": 169, "time": 1169.0, "since_index": 150},
        {"type": "sensor", "sensor": "temp", "state": "back", "index": 300, "time": 1300.0, "since_index": 150},
    ]
    assert mon.summary()["silent_sensor_reports"] == 1
    # after its return the sensor counts again: no event lasts from its death to the end
    assert not any(e["start_index"] <= 300 and e["end_index"] >= x.shape[1] - 1 for e in _events(records))


def test_sensor_records_through_the_command_line(detector_file, test_data) -> None:
    lines = ["time," + ",".join(SENSORS)]
    for i, row in enumerate(test_data):
        lines.append(",".join([str(i), repr(float(row[0])), "", repr(float(row[2]))]))  # "pressure" never sent
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err,
                       silence=30)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 0
    assert [r for r in records if r["type"] == "sensor"] == [
        {"type": "sensor", "sensor": "pressure", "state": "silent", "index": 29, "time": 29.0, "since_index": 0}]
    assert "sensor 'pressure' silent for 30 samples: scoring the other sensors without it" in err.getvalue()
    assert all(r["n_samples"] < 0.2 * len(test_data) for r in records if r["type"] == "event")
    assert {r["type"] for r in records} <= set(RECORD_TYPES)  # an MQTT outbox keeps them too


def test_degraded_scores_do_not_depend_on_the_chunking(detector, test_data) -> None:
    x = test_data.T.copy()
    x[1, 100:400] = np.nan
    x[0, 500:] = np.nan
    runs = []
    for chunk in (1, 7, 64, None):
        records, _ = _records(detector, x, every_sample=True, chunk=chunk)
        runs.append(np.array([r["score"] for r in records if r["type"] == "sample"]))
    for scores in runs[1:]:
        np.testing.assert_allclose(scores, runs[0], rtol=1e-9, atol=1e-9)


def test_short_gaps_are_scored_as_batch_scoring_does(detector, test_data) -> None:
    x = test_data.T.copy()
    x[1, 100:119] = np.nan  # 19 missing: not silent (silence 20)
    x[2, 300:310] = np.nan
    records, mon = _records(detector, x, every_sample=True, chunk=13)
    scores = [r["score"] for r in records if r["type"] == "sample"]
    np.testing.assert_allclose(scores, detector.decision_function(x), rtol=1e-9, atol=1e-12)
    assert not [r for r in records if r["type"] == "sensor"] and mon.degraded.filled == 0


def test_with_every_sensor_silent_the_held_values_are_scored_as_before(detector, test_data) -> None:
    x = test_data.T.copy()
    x[:, 300:] = np.nan  # nothing to score the others by
    records, _ = _records(detector, x, every_sample=True)
    before = Monitor(detector, silence=20, every_sample=True)
    scoring_core(before.core).silent = None  # no degraded mode
    held = before.push(x) + before.flush()
    assert [r["score"] for r in records if r["type"] == "sample"][-150:] == \
        [r["score"] for r in held if r["type"] == "sample"][-150:]
    assert [r["state"] for r in records if r["type"] == "sensor"] == ["silent"] * 3


@pytest.mark.parametrize("variant", ["drift", "no subspace", "no normal levels"])
def test_degraded_mode_with_drift_without_subspace_or_normal_levels(detector, train_data, test_data, variant) -> None:
    options: dict = {}
    if variant == "drift":
        options = {"drift_rate": 0.2, "drift_every": 120}
    elif variant == "no subspace":  # filled in with the training mean
        detector = Detector(window=24, epochs=2, device="cpu", linear=False).fit(train_data.T, sensors=SENSORS)
    else:  # an older detector file: the silent sensor's error is the others' mean
        detector = copy.deepcopy(detector)
        detector.state_.contrib_base = None
    x = test_data.T.copy()
    x[0] = np.nan
    events = _events(_records(detector, x, **options)[0])
    assert all(e["n_samples"] < 0.25 * x.shape[1] for e in events)
    on_fault = [e for e in events if e["start_index"] <= 415 and e["end_index"] >= 400]
    assert len(on_fault) == 1 and on_fault[0]["top_sensors"][0]["sensor"] == "pressure"


@pytest.mark.parametrize("sensor", [0, 2])
def test_early_alarms_still_come_for_a_fault_on_another_sensor(detector, test_data, sensor) -> None:
    # the silent sensor's early error counted as normal too: before, its filled-in windows kept the early score
    # above its threshold, so one early alarm at the stream's start stood for the whole stream
    x = test_data.T.copy()
    x[sensor] = np.nan
    records, _ = _records(detector, x, chunk=5)
    early = [r for r in records if r["type"] == "alarm" and r["source"] == "early"]
    on_fault = [r for r in early if 400 <= r["start_index"] < 415]
    assert len(on_fault) == 1 and on_fault[0]["top_sensors"][0]["sensor"] == "pressure"
    assert len(early) <= 2  # the fault's, and at most one at the start (the held samples before silence is known)


def test_early_rows_with_a_silent_sensor_do_not_depend_on_the_chunking(detector, test_data) -> None:
    # a big first block: the silent states of its samples were trimmed before its early rows were weighed
    x = test_data.T.copy()
    x[0] = np.nan
    taken = []
    for chunk in (x.shape[1], 7):
        mon = Monitor(detector, silence=20)
        rows: list[np.ndarray] = []
        push = mon.early.push
        mon.early.push = lambda r, *args, _rows=rows, _push=push: (_rows.append(r.copy()), _push(r, *args))[1]
        for start in range(0, x.shape[1], chunk):
            mon.push(x[:, start:start + chunk])
        taken.append(np.concatenate(rows))
    np.testing.assert_allclose(taken[0], taken[1], rtol=1e-9, atol=1e-12, equal_nan=True)
