"""Early alarms: a provisional score known as each sample arrives, its threshold, and the monitor's early records."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.early import EarlyWatch, early_scores
from tsae.pipelines.anomaly.monitor import Monitor
from tsae.pipelines.anomaly.scoring import ScoringCore

from sensor_data import SENSORS

FAULT = 400  # test_data's anomaly on "pressure" starts here (conftest)


def _streamed(monitor: Monitor, data: np.ndarray, block: int = 5) -> list[tuple[int, dict]]:
    """(samples pushed when the record came out, record) for every record of the stream."""
    arrivals = []
    for i in range(0, len(data), block):
        arrivals += [(min(i + block, len(data)), record) for record in monitor.push(data[i:i + block].T)]
    return arrivals + [(len(data), record) for record in monitor.flush()]


def test_early_rows_do_not_depend_on_how_the_stream_is_cut(detector, test_data) -> None:
    whole = ScoringCore(detector.state_, early=True)
    whole.push(test_data.T)
    expected = whole.take_early()
    cut = ScoringCore(detector.state_, early=True)
    parts = []
    for i in range(0, len(test_data), 7):
        cut.push(test_data[i:i + 7].T)
        parts.append(cut.take_early())
    got = np.concatenate(parts)
    assert got.shape == expected.shape == test_data.shape
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, equal_nan=True)
    shortest = min(detector.state_.windows)
    assert np.isnan(got[:shortest - 1]).all() and np.isfinite(got[shortest - 1:]).all()


def test_an_early_row_is_its_newest_complete_windows_mean_error(detector, test_data) -> None:
    # one scale: the row changes only where a window completes, and holds that window's mean error
    state = detector.state_
    single = ScoringCore(state, early=True)
    scale = single.scales[0]
    single.push(test_data.T)
    rows = scale.early_rows[0] if len(scale.early_rows) == 1 else np.concatenate(scale.early_rows)
    window, hop = scale.window, scale.hop
    z = single.normalizer.transform(test_data.T).T
    for start in (0, hop * 10, hop * 50):
        frame = z[start:start + window][None]
        mean = scale.frame_errors(np.clip(frame, -1e9, 1e9)).mean(axis=1)[0]
        np.testing.assert_allclose(rows[start + window - 1], mean, rtol=1e-9)
        np.testing.assert_allclose(rows[start + window - 1 + hop - 1], mean, rtol=1e-9)  # held until the next


def test_the_fit_sets_an_early_threshold_on_held_out_early_scores(detector, train_data) -> None:
    threshold = detector.early_threshold_
    assert threshold is not None and np.isfinite(threshold) and threshold > 0
    # its own training data's early scores seldom reach it (the budget: about one alarm a day)
    in_sample = early_scores(detector.state_, train_data.T, 0)
    assert np.mean(in_sample[np.isfinite(in_sample)] > threshold) < 0.02


def test_a_fixed_threshold_has_no_early_threshold(train_data) -> None:
    # a number is in the score's units, not the early score's
    det = Detector(window=24, epochs=1, device="cpu", threshold=5.0).fit(train_data.T, sensors=SENSORS)
    assert det.early_threshold_ is None
    assert Monitor(det).early is None
    as_text = Detector(window=24, epochs=1, device="cpu", threshold="5.0").fit(train_data.T, sensors=SENSORS)
    assert as_text.threshold_ == 5.0 and as_text.early_threshold_ is None  # the number as text: fixed too


def test_the_early_alarm_comes_as_the_fault_begins_and_names_its_sensor(detector, test_data) -> None:
    monitor = Monitor(detector)
    arrivals = _streamed(monitor, test_data)
    early = [(at, r) for at, r in arrivals if r["type"] == "alarm" and r["source"] == "early"]
    confirmed = [(at, r) for at, r in arrivals if r["type"] == "alarm" and r["source"] == "score"]
    assert len(early) == 1 and len(confirmed) == 1
    (arrived, alarm), (confirmed_at, _) = early[0], confirmed[0]
    assert FAULT <= alarm["start_index"] < FAULT + detector.window_ // 2
    assert arrived - alarm["start_index"] < 5  # told as the sample arrives (blocks of 5)
    assert arrived < confirmed_at
    assert alarm["top_sensors"][0]["sensor"] == "pressure"
    assert alarm["score"] > alarm["threshold"] == detector.early_threshold_
    json.dumps(alarm)  # JSON-ready
    assert monitor.summary()["early_alarms"] == 1


def test_early_alarms_can_be_turned_off(detector, test_data) -> None:
    monitor = Monitor(detector, early=False)
    records = [r for _, r in _streamed(monitor, test_data)]
    assert [r["source"] for r in records if r["type"] == "alarm"] == ["score"]
    assert monitor.summary()["early_alarms"] == 0
    with pytest.raises(TypeError, match="early"):
        Monitor(detector, early="no")


def test_an_older_detector_file_without_an_early_threshold_sends_none(detector, tmp_path, test_data,
                                                                     craft_model_file, detector_file) -> None:
    def drop(head: dict) -> None:
        del head["extra"]["early_threshold"]

    older = craft_model_file(detector_file, "older.tsae", header=drop)
    loaded = Detector.load(older)
    assert loaded.early_threshold_ is None
    assert Detector.load(detector_file).early_threshold_ == pytest.approx(detector.early_threshold_)
    records = [r for _, r in _streamed(Monitor(loaded), test_data)]
    assert [r["source"] for r in records if r["type"] == "alarm"] == ["score"]


def test_one_early_alarm_per_episode_and_none_inside_an_event() -> None:
    watch = EarlyWatch(["a", "b"], threshold=1.0, gap=3)
    rows = np.zeros((20, 2))
    rows[[2, 4, 6], 0] = 5.0  # one episode (gaps of 1)
    rows[15, 1] = 5.0  # a second one, more than 3 samples later
    records = watch.push(rows[:10], None, in_event=False) + watch.push(rows[10:], None, in_event=False)
    assert [(r["start_index"], r["top_sensors"][0]["sensor"]) for r in records] == [(2, "a"), (15, "b")]
    assert watch.push(rows, None, in_event=True) == []  # an open event covers it: its alarm went out
    assert watch.alarms == 2
    late = EarlyWatch(["a", "b"], threshold=1.0, gap=3)
    assert late.push(rows, None, in_event=False, final_until=20) == []  # every score final already
    assert [r["start_index"] for r in late.push(rows, None, in_event=False, final_until=25)] == [35]


def test_a_stream_read_at_once_gets_no_early_alarm_for_its_final_samples(detector, test_data) -> None:
    # a whole file in one block: its samples' scores are final at once and their confirmed alarms tell it all;
    # an early alarm inside an event that had already closed was sent before (as if new)
    monitor = Monitor(detector)
    records = monitor.push(test_data.T) + monitor.flush()
    assert [r["source"] for r in records if r["type"] == "alarm"] == ["score"]


def test_the_monitor_command_takes_no_early(detector_file, test_data) -> None:
    from click.testing import CliRunner

    from tsae.cli import cli

    lines = ["time," + ",".join(SENSORS)] + [f"{i}," + ",".join(repr(float(v)) for v in row)
                                             for i, row in enumerate(test_data)]
    for flags in ([], ["--no-early"]):
        result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "-q", *flags],
                                    input="\n".join(lines) + "\n")
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert result.exit_code == 0 and records[-1]["type"] == "summary" and records[-1]["early_alarms"] == 0
        assert [r["source"] for r in records if r["type"] == "alarm"] == ["score"]  # read at once: final scores
