import json

import numpy as np
import pytest

from tsae.pipelines.anomaly.events import EventTracker, find_events, write_events


def test_runs_become_events():
    flags = np.array([0, 1, 1, 0, 0, 0, 1, 0, 1, 1])
    scores = np.arange(10.0)
    events = find_events(scores, flags)
    assert [(e.start_index, e.end_index, e.n_samples, e.peak_score) for e in events] == [
        (1, 2, 2, 2.0), (6, 6, 1, 6.0), (8, 9, 2, 9.0)]


def test_merge_gap_joins_close_runs():
    flags = np.array([0, 1, 1, 0, 0, 0, 1, 0, 1, 1])
    events = find_events(np.arange(10.0), flags, merge_gap=1)
    assert [(e.start_index, e.end_index, e.n_samples, e.n_flagged) for e in events] == [(1, 2, 2, 2), (6, 9, 4, 3)]
    events = find_events(np.arange(10.0), flags, merge_gap=3)
    # before: n_samples counted the flagged samples (5), not the samples from start to end
    assert [(e.start_index, e.end_index, e.n_samples, e.n_flagged) for e in events] == [(1, 9, 9, 5)]


def test_top_sensors_and_times():
    flags = np.array([0, 1, 1, 0])
    contrib = np.array([[0.5, 0.5], [0.2, 0.8], [0.4, 0.6], [1, 0]]).T  # (sensors, n)
    (event,) = find_events(np.array([0, 3.0, 2.0, 0]), flags, contrib, ["a", "b"], times=["t0", "t1", "t2", "t3"])
    assert event.top_sensors[0][0] == "b" and event.top_sensors[0][1] == pytest.approx(0.7)
    assert (event.start, event.end, event.peak_time) == ("t1", "t2", "t1")


@pytest.mark.parametrize("seed", range(5))
def test_streaming_equals_batch(seed):
    rng = np.random.default_rng(seed)
    n = 500
    flags = (rng.uniform(size=n) < 0.15).astype(int)
    scores = rng.uniform(size=n)
    contrib = rng.dirichlet([1, 1, 1], size=n).T  # (sensors, n)
    batch = find_events(scores, flags, contrib, ["a", "b", "c"], merge_gap=2)
    tracker = EventTracker(["a", "b", "c"], merge_gap=2)
    stream, i = [], 0
    while i < n:
        k = int(rng.integers(1, 40))
        stream += tracker.push(scores[i:i + k], flags[i:i + k], contrib[:, i:i + k])
        i += k
    stream += tracker.flush()
    assert [e.to_dict() for e in stream] == [e.to_dict() for e in batch]


def test_write_json_and_csv(tmp_path):
    events = find_events(np.array([0, 5.0, 0]), np.array([0, 1, 0]), np.array([[1, 0]] * 3).T, ["x", "y"])
    write_events(tmp_path / "e.json", events)
    data = json.loads((tmp_path / "e.json").read_text())
    assert data["events"][0]["peak_score"] == 5.0
    write_events(tmp_path / "e.csv", events)
    assert (tmp_path / "e.csv").read_text().splitlines()[1].count("x:1.000") == 1
    with pytest.raises(ValueError, match="json or .csv"):
        write_events(tmp_path / "e.txt", events)


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".CSV.GZ"])
def test_events_csv_may_be_compressed(tmp_path, suffix):
    # before: "events file must end in .json or .csv"
    import bz2
    import gzip
    import lzma

    events = find_events(np.array([0, 5.0, 0, 4, 3]), np.array([0, 1, 0, 1, 1]), np.array([[1, 0]] * 5).T,
                         ["x", "y"], times=[0.0, 0.5, 1.0, 1.5, 2.0])
    write_events(tmp_path / "e.csv", events)
    write_events(tmp_path / f"e{suffix}", events)
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix.lower()[4:]]
    with opener(tmp_path / f"e{suffix}", "rt", encoding="utf-8", newline="") as handle:
        text = handle.read()
    assert text == (tmp_path / "e.csv").read_text(encoding="utf-8")
    assert text.splitlines()[1:] == ["0.5,0.5,1,1,1,5.0,0.5,1,x:1.000;y:0.000",
                                     "1.5,2.0,3,4,2,4.0,1.5,3,x:1.000;y:0.000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["e.csv", f"e{suffix}"])  # no temporary left


@pytest.mark.parametrize("name", ["e.txt", "e.json.gz", "e.csv.zip", "e.tsv", "events"])
def test_an_unknown_events_suffix_is_one_line(tmp_path, name):
    events = find_events(np.array([0, 5.0, 0]), np.array([0, 1, 0]))
    with pytest.raises(ValueError, match=r"events file must end in \.json or \.csv \(or \.csv\.gz, \.csv\.bz2, "
                                         r"\.csv\.xz: compressed\)$") as error:
        write_events(tmp_path / name, events)
    assert "\n" not in str(error.value) and not list(tmp_path.iterdir())


def test_the_tracker_tells_when_an_event_opens_and_when_it_closes_in_stream_order() -> None:
    tracker = EventTracker(["a", "b"], merge_gap=1)
    contrib = np.tile([[0.25], [0.75]], (1, 4))
    tracker.push(np.array([0.0, 5.0, 6.0, 0.0]), np.array([0, 1, 1, 0]), contrib, times=["t0", "t1", "t2", "t3"])
    assert [kind for kind, _ in tracker.changes] == ["open"]  # at its first flagged sample, not at its end
    alarm = tracker.changes[0][1]
    assert (alarm["start_index"], alarm["start"], alarm["score"]) == (1, "t1", 5.0)
    assert alarm["top_sensors"][0] == {"sensor": "b", "share": 0.75}
    # the open event ends (two unflagged samples) and another begins, within one block
    tracker.push(np.array([0.0, 0.0, 7.0, 0.0]), np.array([0, 0, 1, 0]), contrib)
    assert [(kind, what.start_index if kind == "close" else what["start_index"])
            for kind, what in tracker.changes] == [("close", 1), ("open", 6)]
    assert [kind for kind, _ in tracker.changes] == ["close", "open"]
    tracker.flush()
    assert [kind for kind, _ in tracker.changes] == ["close"]


@pytest.mark.parametrize("seed", range(3))
def test_an_event_split_across_blocks_sums_its_contributions_to_the_last_bit(seed) -> None:
    # `tsae detect score` finds its events block by block: their shares must be those of the whole series, unrounded
    rng = np.random.default_rng(seed)
    n = 3000
    flags = (rng.uniform(size=n) < 0.9).astype(int)  # long events, crossing every seam
    scores = rng.uniform(size=n)
    contrib = rng.dirichlet([1, 1, 1, 1], size=n).T * 10.0 ** rng.uniform(-3, 3, size=n)  # (sensors, n)
    sensors = ["a", "b", "c", "d"]
    batch = find_events(scores, flags, contrib, sensors, merge_gap=3)
    for block in (1, 7, 64, 1000):
        tracker = EventTracker(sensors, merge_gap=3)
        stream = []
        for i in range(0, n, block):
            stream += tracker.push(scores[i:i + block], flags[i:i + block], contrib[:, i:i + block])
        stream += tracker.flush()
        assert [(e.start_index, e.end_index, e.top_sensors) for e in stream] == \
            [(e.start_index, e.end_index, e.top_sensors) for e in batch]


def _scored_with_events(tmp_path, detector_file, times: list[str], events_name: str) -> tuple[list, dict]:
    """Score the test data under ``times`` (a sensor silent from row 600 on): the scores file's cells by row, and
    the events file read back (JSON as is, CSV as ``{"events": rows}``)."""
    import csv

    from tsae.pipelines.anomaly.files import score_file

    from sensor_data import SENSORS, make_series

    x = make_series(700, seed=1)
    x[400:415, 1] += 3.0
    x[600:, 0] = np.nan
    lines = ["time," + ",".join(SENSORS)]
    cells = [",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in x]
    lines += [f"{t},{row}" for t, row in zip(times, cells, strict=True)]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    with pytest.warns(Warning):  # the silent sensor
        score_file(tmp_path / "in.csv", detector_file, tmp_path / "s.csv", events=tmp_path / events_name,
                   device="cpu", quiet=True, silence=50)
    with open(tmp_path / "s.csv", newline="") as handle:
        scores = [row[0] for row in csv.reader(handle)][1:]
    if events_name.endswith(".json"):
        return scores, json.loads((tmp_path / events_name).read_text())
    with open(tmp_path / events_name, newline="") as handle:
        return scores, {"events": list(csv.DictReader(handle))}


@pytest.mark.parametrize("events_name", ["ev.csv", "ev.json"])
@pytest.mark.parametrize("kind", ["ms", "s", "Z", "float"])
def test_the_events_write_their_times_as_the_scores_file_does(tmp_path, detector_file, events_name, kind):
    start = np.datetime64("2024-01-01T00:00:00")
    if kind == "float":  # whole numbers written with a decimal point: the scores file writes 0, 1, ...
        times = [f"{i}.0" for i in range(700)]
    else:  # whole seconds; with ms, one row (not an event's) at half a second: every date gets its .000
        times = [str(start + np.timedelta64(i, "s")) + (".5" if kind == "ms" and i == 3 else "")
                 + ("Z" if kind == "Z" else "") for i in range(700)]
    scores, written = _scored_with_events(tmp_path, detector_file, times, events_name)
    (event, *_) = written["events"]
    for name, index in (("start", "start_index"), ("end", "end_index"), ("peak_time", "peak_index")):
        assert str(event[name]) == scores[int(event[index])], (name, event)
    if kind == "ms":
        assert event["start"].endswith(".000")
    if kind == "float" and events_name.endswith(".json"):
        assert isinstance(event["start"], int)
    if events_name.endswith(".json"):
        (silent,) = written["silent_sensors"]
        assert str(silent["time"]) == scores[silent["index"]]
        assert str(silent["since_time"]) == scores[silent["since_index"]]
