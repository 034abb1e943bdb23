"""Drift updates: streaming equals batch, slow drift raises no alarm, anomalies still do, none learnt in one."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.drift import DriftingCore
from tsae.pipelines.anomaly.events import find_events
from tsae.pipelines.anomaly.monitor import Monitor
from tsae.pipelines.anomaly.scoring import ScoringCore

from sensor_data import make_series


def _with(det: Detector, **params) -> Detector:
    """A shallow copy with other parameters (the session's detector stays as it is)."""
    return copy.copy(det).set_params(**params)


@pytest.fixture(scope="module")
def drifting_series() -> np.ndarray:
    """The conftest detector's sensors, their levels drifting after training, (3, 1500)."""
    x = make_series(1500, seed=5).T
    return x + np.linspace(0.0, 0.1, x.shape[1])[None, :] * np.array([[1.0], [-0.5], [0.5]])


def test_streaming_equals_batch_with_drift(detector, drifting_series):
    det = _with(detector, drift_rate=0.5, drift_every=100)
    batch = det.decision_function(drifting_series)
    mon = Monitor(det, every_sample=True)
    assert isinstance(mon.core, DriftingCore)
    rng = np.random.default_rng(0)
    records, pos = [], 0
    while pos < drifting_series.shape[1]:
        size = 1 if rng.random() < 0.3 else int(rng.integers(2, 180))
        records += mon.push(drifting_series[:, pos: pos + size])
        pos += size
    records += mon.flush()
    streamed = np.array([r["score"] for r in records if r["type"] == "sample"])
    np.testing.assert_allclose(streamed, batch, rtol=0, atol=1e-9)
    assert mon.core.updates >= 5  # the updates did happen, and moved the scores
    plain = detector.decision_function(drifting_series)
    assert np.abs(plain - batch)[300:].max() > 1e-3 * np.abs(plain).max()


def test_drift_rate_zero_is_the_plain_score(detector, drifting_series):
    det = _with(detector, drift_rate=0.0, drift_every=100)
    assert isinstance(det.core(), ScoringCore)
    core = ScoringCore(detector.state_, alarm=detector.threshold_)  # as det.core() builds it
    s1, _ = core.push(drifting_series)
    s2, _ = core.flush()
    np.testing.assert_array_equal(det.decision_function(drifting_series), np.concatenate([s1, s2]))


def test_drift_settings_are_checked_and_stored(detector, tmp_path):
    with pytest.raises(ValueError, match=r"drift_rate=1.5 is out of range \[0, 1\]"):
        _with(detector, drift_rate=1.5).core()
    with pytest.raises(ValueError, match="drift every"):
        DriftingCore(detector.core(), 1.0, 0, 0.5, 0, 1.0)
    det = _with(detector, drift_rate=0.25, drift_every=333)
    loaded = Detector.load(det.save(tmp_path / "d.tsae"), device="cpu")
    assert (loaded.drift_rate, loaded.drift_every) == (0.25, 333)
    assert loaded.core().every == 333
    assert _with(detector, drift_rate=0.1).core().every == 50 * detector.window_  # the default: 50 windows


@pytest.fixture(scope="module")
def sine_detector() -> Detector:
    t = np.arange(1500)
    x = np.sin(2 * np.pi * t / 25) + 0.05 * np.random.default_rng(0).normal(size=t.size)
    return Detector(window=25, epochs=3, device="cpu", calibration="training").fit(x)


def _drifting_sine(n: int, seed: int) -> np.ndarray:
    t = np.arange(n)
    x = np.sin(2 * np.pi * t / 25) + 0.05 * np.random.default_rng(seed).normal(size=n)
    return x + np.linspace(0.0, 1.0, n)  # the level drifts by one amplitude


def test_slow_drift_gives_far_fewer_false_alarms(sine_detector):
    y = _drifting_sine(20_000, seed=1)
    gap = sine_detector.event_gap

    def events(det: Detector, x: np.ndarray) -> list:
        scores = det.decision_function(x)
        return find_events(scores, scores > det.threshold_, merge_gap=gap)

    off = events(sine_detector, y)
    drift = _with(sine_detector, drift_rate=0.5, drift_every=250)
    on = events(drift, y)
    assert len(off) >= 1 and sum(e.n_samples for e in off) > 5000  # without updates: a long false alarm
    assert len(on) == 0
    # after the drift, a level shift and a spike are still flagged
    y[15_000:15_200] += 1.5
    y[18_000:18_005] += 4.0
    found = [(e.start_index, e.end_index) for e in events(drift, y)]
    assert any(start <= 15_200 and end >= 15_000 for start, end in found)
    assert any(start <= 18_005 and end >= 18_000 for start, end in found)
    assert len(found) == 2


def test_no_learning_during_an_alarm(sine_detector):
    """A shift lasting several update periods stays flagged: the updates are skipped while it lasts."""
    y = _drifting_sine(8000, seed=2) - np.linspace(0.0, 1.0, 8000)  # no drift
    y[3000:6000] += 1.5
    core = _with(sine_detector, drift_rate=1.0, drift_every=500).core()
    s1, _ = core.push(y)
    s2, _ = core.flush()
    scores = np.concatenate([s1, s2])
    assert (scores[3000 + 2 * sine_detector.window_: 6000] > sine_detector.threshold_).all()
    assert core.skipped >= 5 and core.updates >= 4
    assert core.level == 1.0 or core.level < 1.5


def test_score_and_monitor_clis_apply_the_same_drift_updates(tmp_path, detector_file, drifting_series):
    import json

    from click.testing import CliRunner

    from tsae.cli import cli
    from tsae.io.tables import read_table

    from sensor_data import write_csv

    data = write_csv(tmp_path / "drift.csv", drifting_series.T)
    options = ["--drift-rate", "0.5", "--drift-every", "100"]
    runner = CliRunner()
    result = runner.invoke(cli, ["detect", "score", str(data), "--detector", str(detector_file), "-o",
                                 str(tmp_path / "s.csv"), "-q", *options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    batch = read_table(tmp_path / "s.csv").values[0]
    result = runner.invoke(cli, ["monitor", "--detector", str(detector_file), "--every-sample", "-q", *options],
                           input=data.read_text(), catch_exceptions=False)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    streamed = [r["score"] for r in records if r["type"] == "sample"]
    np.testing.assert_allclose(streamed, batch, rtol=1e-9, atol=1e-9)
    assert records[-1]["drift_updates"] >= 5
    plain = Detector.load(detector_file, device="cpu").decision_function(drifting_series)
    assert np.abs(plain - batch).max() > 1e-3


def test_drift_updates_from_fewer_than_four_windows_are_refused(detector, drifting_series) -> None:
    # drift_every of 1.5 windows flagged 203 of 300 normal samples at drift_rate 1: a block's spread follows
    # the signal's own ups and downs
    too_few = 4 * detector.window_ - 1
    with pytest.raises(ValueError, match=rf"drift_every={too_few} is shorter than 4 of the detector's windows"):
        _with(detector, drift_rate=1.0, drift_every=too_few).decision_function(drifting_series)
    with pytest.raises(ValueError, match="shorter than 4 of the detector's windows"):
        Monitor(detector, drift_rate=0.5, drift_every=detector.window_)
    scores = _with(detector, drift_rate=1.0, drift_every=4 * detector.window_).decision_function(drifting_series)
    assert np.isfinite(scores).all()
