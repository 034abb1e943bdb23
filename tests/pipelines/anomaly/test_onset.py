"""Events begin and end where the fault does (onset.py), in batch scoring and the monitor alike."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tsae.pipelines.anomaly.events import EventTracker, find_events
from tsae.pipelines.anomaly.monitor import Monitor
from tsae.pipelines.anomaly.onset import ONSET_FACTOR, ONSET_SHARE, OnsetTrace

from sensor_data import SENSORS, make_series, write_csv

FAULT = 400


def _faulty(kind: str) -> np.ndarray:
    x = make_series(900, seed=7)
    if kind == "step":
        x[FAULT:FAULT + 120, 1] += 2.0  # a level shift of "pressure"
    else:
        x[FAULT:FAULT + 30, 2] = -999.0  # a sentinel dropout of "flow"
    return x


@pytest.mark.parametrize(("kind", "sensor"), [("step", "pressure"), ("dropout", "flow")])
def test_an_abrupt_faults_event_begins_where_the_fault_does(detector, kind, sensor) -> None:
    # before: the centred moving mean (two windows) over window means began the event 30-40 samples early
    x = _faulty(kind)
    events = detector.events(x.T)
    on = [e for e in events if e.end_index >= FAULT and e.start_index <= FAULT + 150]
    assert on, events
    first = on[0]
    assert first.top_sensors[0][0] == sensor
    assert FAULT <= first.start_index <= FAULT + 5, (first.start_index, first.flagged_start_index)
    assert first.flagged_start_index < FAULT - 10  # the flagged span is as wide as before: scores unchanged
    assert first.flagged_start_index <= first.start_index <= first.end_index <= first.flagged_end_index


def test_the_scores_are_those_without_the_events_bounds(detector) -> None:
    x = _faulty("step")
    scores, contrib = detector.score_with_contributions(x.T)
    events = detector.events(x.T)
    plain = find_events(scores, scores > detector.threshold_, contrib, detector.sensors_, merge_gap=detector.event_gap)
    assert [(e.flagged_start_index, e.flagged_end_index, e.n_flagged, e.peak_score, e.peak_index, e.top_sensors)
            for e in events] == [(e.start_index, e.end_index, e.n_flagged, e.peak_score, e.peak_index, e.top_sensors)
                                 for e in plain]


def test_n_samples_counts_the_events_samples_and_n_flagged_its_flagged_ones(detector) -> None:
    # before: n_samples counted the flagged span's flagged samples, more than end - start + 1 (the onset bounds)
    x = _faulty("step")
    scores = detector.decision_function(x.T)
    events = detector.events(x.T)
    assert any(e.n_flagged > e.n_samples for e in events)
    for e in events:
        assert e.n_samples == e.end_index - e.start_index + 1
        flagged = scores[e.flagged_start_index:e.flagged_end_index + 1] > detector.threshold_
        assert e.n_flagged == int(flagged.sum())


@pytest.mark.parametrize("block", [50, 1000])
def test_the_monitors_events_are_the_batch_events(detector, block) -> None:
    x = _faulty("step")
    x[700:703, 0] += 5.0  # a second, short event
    batch = [e.to_dict() for e in detector.events(x.T)]
    mon = Monitor(detector)
    records = [r for i in range(0, len(x), block) for r in mon.push(x[i:i + block].T)] + mon.flush()
    stream = [{k: v for k, v in r.items() if k != "type"} for r in records if r["type"] == "event"]
    assert len(batch) >= 2 and stream == batch
    assert any(e["start_index"] != e["flagged_start_index"] for e in batch)  # the bounds did move


def test_detect_score_writes_the_events_bounds(detector_file, detector, tmp_path) -> None:
    from tsae.pipelines.anomaly.files import score_file

    x = _faulty("dropout")
    score_file(write_csv(tmp_path / "d.csv", x), detector_file, tmp_path / "s.csv", quiet=True)
    written = json.loads((tmp_path / "s.events.json").read_text())["events"]
    assert [e["start_index"] for e in written] == [e.start_index for e in detector.events(x.T)]
    assert any(FAULT <= e["start_index"] <= FAULT + 5 and e["flagged_start_index"] < FAULT - 10 for e in written)


def _direct_bounds(rows: np.ndarray, base: float) -> tuple[int, int] | None:
    """The rule without the ladder's rounding, from the whole span's rows of one sensor."""
    first_level = ONSET_FACTOR * base
    level = max(first_level, ONSET_SHARE * np.nanmax(rows))
    level = first_level * 2.0 ** np.floor(np.log2(level / first_level))
    above = np.flatnonzero(rows >= level)
    if not above.size:
        return None
    known = np.flatnonzero(~np.isnan(rows))
    first = 0 if above[0] == known[0] else int(above[0])  # above at its first known row: it rose unseen before
    return first, int(above[-1])


@pytest.mark.parametrize("seed", range(5))
def test_the_trace_gives_the_rules_bounds_however_the_rows_come(seed) -> None:
    rng = np.random.default_rng(seed)
    rows = rng.lognormal(0.0, 1.0, size=(300, 3))
    rows[120:160, 1] *= 10.0 ** rng.uniform(1, 6)
    rows[:5] = np.nan  # no window yet
    base = np.array([1.0, 0.8, 1.3])
    trace = OnsetTrace(base)
    trace.reset()
    cuts = np.sort(rng.choice(np.arange(1, 300), 6, replace=False))
    for a, b in zip([0, *cuts], [*cuts, 300], strict=True):
        trace.add(rows[a:b], 1000 + a, None)
    for sensor in range(3):
        expected = _direct_bounds(rows[:, sensor], base[sensor])
        found = trace.bounds(sensor)
        assert (None if found is None else (found[0] - 1000, found[1] - 1000)) == expected


def test_an_event_above_its_level_at_the_first_known_row_begins_with_the_series(detector) -> None:
    # before: a fault in the first sample began its event at the first complete window (15), after its peak (0)
    x = make_series(600, seed=7)
    x[0, 2] = 1e6
    events = detector.events(x.T)
    assert events and events[0].peak_index == 0
    assert events[0].start_index == events[0].flagged_start_index == 0
    trace = OnsetTrace(np.ones(1))
    trace.reset()
    trace.add(np.array([[np.nan], [np.nan], [50.0], [60.0], [1.0]]), 7, list("abcde"))
    assert trace.bounds(0) == (7, 10, "a", "d")


@pytest.mark.parametrize("block", [40, 1000])
def test_a_series_that_begins_inside_a_fault_begins_its_event_with_it(detector, block) -> None:
    # before: the event began at 23, where the main window (24) first completed and joined the early error's sum
    # of the scales (the 16 window's alone stayed below the level), though the fault and the flags began at 0
    x = make_series(600, seed=7)
    x[:200, 1] += np.random.default_rng(0).normal(0, 1, 200)  # "pressure" noisy from the first row on
    events = detector.events(x.T)
    first = events[0]
    assert first.top_sensors[0][0] == "pressure" and first.flagged_start_index == 0
    assert first.start_index == 0 and first.n_samples == first.end_index + 1
    assert 200 <= first.end_index <= 200 + 2 * max(detector.state_.windows)
    mon = Monitor(detector)
    records = [r for i in range(0, len(x), block) for r in mon.push(x[i:i + block].T)] + mon.flush()
    stream = [{k: v for k, v in r.items() if k != "type"} for r in records if r["type"] == "event"]
    assert stream == [e.to_dict() for e in events]


def test_the_rows_before_every_scale_has_a_window_are_not_read() -> None:
    trace = OnsetTrace(np.ones(1), complete_from=9)
    trace.reset()
    rows = np.array([[np.nan], [3.0], [50.0], [60.0], [55.0], [1.0]])  # samples 7-12; 8 is a partial sum
    trace.add(rows, 7, None)
    assert trace.bounds(0)[:2] == (7, 11)  # above the level at the first complete row (9): the rise is unseen
    trace = OnsetTrace(np.ones(1))
    trace.reset()
    trace.add(rows, 7, None)
    assert trace.bounds(0)[:2] == (9, 11)  # read as a rise at 9, after a low (partial) row at 8


def test_a_tracker_fed_in_blocks_gives_the_whole_series_events() -> None:
    rng = np.random.default_rng(3)
    n, sensors = 2000, ["a", "b", "c"]
    scores = rng.random(n)
    flags = np.zeros(n, dtype=bool)
    for start, stop in [(100, 300), (310, 330), (800, 1200), (1990, 2000)]:  # the first two merge (gap 20)
        flags[start:stop] = True
    contrib = rng.random((3, n))
    onset = rng.lognormal(size=(n, 3))
    onset[150:250, 0] *= 50
    onset[900:1000, 2] *= 80
    base = np.ones(3)
    whole = find_events(scores, flags, contrib, sensors, times=list(range(n)), merge_gap=20, onset=onset,
                        onset_base=base)
    assert any(e.start_index != e.flagged_start_index for e in whole)
    for block in (1, 13, 500):
        tracker = EventTracker(sensors, merge_gap=20, onset_base=base)
        got, lead = [], 37  # the early rows arrive ahead of the scores, as the scoring delay has them
        tracker.push_onset(onset[:lead])
        for i in range(0, n, block):
            tracker.push_onset(onset[lead + i:lead + i + block])
            got += tracker.push(scores[i:i + block], flags[i:i + block], contrib[:, i:i + block],
                                list(range(i, min(n, i + block))))
        got += tracker.flush()
        assert got == whole
        assert all(e.start == e.start_index and e.end == e.end_index for e in got)  # the times of the bounds


def test_find_events_wants_onset_rows_with_their_base() -> None:
    with pytest.raises(ValueError, match="onset and onset_base together"):
        find_events(np.zeros(3), np.zeros(3), onset=np.zeros((3, 1)))
    with pytest.raises(ValueError, match="without onset_base"):
        EventTracker(SENSORS).push_onset(np.zeros((2, 3)))


@pytest.mark.parametrize("crossing", [201, 260])
def test_an_event_begins_at_the_latest_at_its_peak_score(crossing: int) -> None:
    """Its top sensor's early error passing its level only after the peak (a subtle level shift's, once its window
    fills: on the plant's seed 101 the event began at 383, its peak at 366, the fault at 324) began the event after
    its own peak; the start is now the peak's, and so is the end of an error that fell before the peak."""
    n = 400
    scores = np.ones(n)
    scores[150:350] = 5.0
    scores[200] = 9.0  # the peak
    onset = np.ones((n, 1))
    onset[crossing:340, 0] = 50.0
    events = find_events(scores, scores > 2, np.ones((1, n)), ["a"], times=[f"t{i}" for i in range(n)],
                         onset=onset, onset_base=np.ones(1))
    assert [(e.start_index, e.start, e.peak_index, e.end_index) for e in events] == [(200, "t200", 200, 339)]
    onset = np.ones((n, 1))
    onset[160:190, 0] = 50.0  # above its level before the peak alone
    events = find_events(scores, scores > 2, np.ones((1, n)), ["a"], times=[f"t{i}" for i in range(n)],
                         onset=onset, onset_base=np.ones(1))
    assert [(e.start_index, e.peak_index, e.end_index, e.end) for e in events] == [(160, 200, 200, "t200")]
