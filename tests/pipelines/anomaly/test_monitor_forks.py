"""Cheap new devices: forks of a fresh monitor from a blueprint, and the flush of a stream shorter than a window."""
import copy
import io
import math
import threading

import numpy as np
import pytest

from tsae.pipelines.anomaly.blueprint import Blueprint, reachable
from tsae.pipelines.anomaly.devices import DeviceMonitors
from tsae.pipelines.anomaly.monitor import Monitor, RateLimitedLog
from tsae.pipelines.anomaly.silent import scoring_core

from sensor_data import SENSORS

NS = 1_709_251_200_000_000_000
STEP = 10 * 10**9


def lp(rows, host, start=0):
    return [f"pump,host={host} " + ",".join(f"{s}={float(v)!r}" for s, v in zip(SENSORS, row, strict=True))
            + f" {NS + (start + k) * STEP}" for k, row in enumerate(rows)]


def same(a, b):
    """Records equal, numbers to 1e-12 (devices' frames share a network call); NaN equals NaN."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return type(a) is type(b) and a == b


def without_seconds(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_forks_write_the_records_of_fork_and_share_the_detectors_arrays(detector, test_data):
    template = Monitor(detector, every_sample=True, fmt="influx")
    make = template.forks()
    lines = lp(test_data[300:500], "a")  # the fault at 400
    quick, slow = make(RateLimitedLog(quiet=True)), template.fork(RateLimitedLog(quiet=True))
    got = [quick.push_lines(lines[k:k + 37]) for k in range(0, len(lines), 37)] + [quick.flush()]
    want = [slow.push_lines(lines[k:k + 37]) for k in range(0, len(lines), 37)] + [slow.flush()]
    assert got == want and any(r["type"] == "event" for part in got for r in part)
    assert without_seconds([quick.summary()]) == without_seconds([slow.summary()])
    # before: each device's monitor held its own copy of the detector's subspace and statistics terms
    assert quick.degraded.term.pca is template.degraded.term.pca
    assert slow.degraded.term.pca is not template.degraded.term.pca
    assert quick.detector is template.detector and quick.log is not template.log


def test_a_fork_feeds_alone(detector, test_data):
    make = Monitor(detector, fmt="influx").forks()
    a, b = make(RateLimitedLog(quiet=True)), make(RateLimitedLog(quiet=True))
    a.push_lines(lp(test_data[:100], "a"))
    assert b.emitted == 0 and scoring_core(b.core).seen == 0 and len(b.pending_times) == 0
    assert scoring_core(a.core).seen == 100 and a.parser.counts["lines"] == 100 and b.parser.counts["lines"] == 0


@pytest.mark.parametrize("options", [{}, {"drift_rate": 0.01, "drift_every": 400}, {"silence": 2}])
def test_a_stream_shorter_than_a_window_flushes_as_the_cores_flush(detector, test_data, options, monkeypatch):
    shortest = min(scale.window for scale in scoring_core(Monitor(detector).core).scales)
    for n in (0, 1, 3, shortest - 1, shortest, shortest + 1):
        x = test_data[:n].T.copy()
        if options.get("silence") and n > 3:
            x[2, 1:] = np.nan  # a silent sensor: its error is its normal level (the core's flush is taken)
        outputs = []
        for full in (False, True):
            monitor = Monitor(detector, every_sample=True, **options)
            if full:
                monkeypatch.setattr(monitor, "_last_scores", lambda m=monitor: m.core.flush())
            records = monitor.push(x) + monitor.flush()
            outputs.append((records, without_seconds([monitor.summary()])))
        assert same(*outputs), (n, outputs)


@pytest.mark.parametrize("options", [{}, {"drift_rate": 0.05, "drift_every": 100}])
def test_devices_write_what_separate_monitors_write(detector, test_data, options):
    hosts = {"a": test_data[300:500], "b": test_data[:150], "c": test_data[:5], "d": test_data[450:700]}
    streams = {host: lp(rows, host) for host, rows in hosts.items()}
    lines = [stream[k] for k in range(250) for stream in streams.values() if k < len(stream)]
    devices = DeviceMonitors(Monitor(detector, every_sample=True, fmt="influx", **options), ["host"])
    records = []
    for k in range(0, len(lines), 64):
        records += devices.push_lines(lines[k:k + 64])
    records += devices.flush()
    for host in streams:  # each alone, fed its lines of each block (early alarms depend on where a stream is cut)
        alone, want = Monitor(detector, every_sample=True, fmt="influx", **options), []
        for k in range(0, len(lines), 64):
            want += alone.push_lines([line for line in lines[k:k + 64] if f"host={host} " in line])
        want += alone.flush() + [alone.summary()]
        got = [{k: v for k, v in r.items() if k != "tags"} for r in records if r.get("tags") == {"host": host}]
        assert same(without_seconds(got), without_seconds(want)), host
    assert any(r["type"] == "event" and r["tags"] == {"host": "a"} for r in records)
    if options:  # the drift updates moved each device's own normaliser, and no other's
        assert any(r.get("drift_updates", 0) > 0 for r in records)


def test_the_device_seen_least_recently_is_dropped_first(detector, test_data):
    devices = DeviceMonitors(Monitor(detector, fmt="influx"), ["host"], max_devices=3)
    records = []
    for host in "abcdbe":  # d drops a; b comes again, so e drops c, not b
        records += devices.push_lines(lp(test_data[:40], host))
    assert list(devices.devices) == [("d",), ("b",), ("e",)]
    records += devices.flush()
    assert [r["tags"]["host"] for r in records if r["type"] == "summary"] == ["a", "c", "d", "b", "e"]
    assert devices.summary()["devices_dropped"] == 2


def test_a_blueprint_shares_what_it_is_told_to_and_copies_the_rest():
    shared = {"weights": np.arange(3.0)}
    obj = {"model": shared, "buffer": np.zeros(2), "seen": [1]}
    blueprint = Blueprint(obj, [shared])
    one, two = blueprint.copy(), blueprint.copy()
    assert one["model"] is shared and one["model"]["weights"] is shared["weights"]
    assert one["buffer"] is not two["buffer"] and one["seen"] is not obj["seen"]
    one["seen"].append(2)
    assert two["seen"] == [1] and obj["seen"] == [1]
    assert {id(o) for o in reachable([shared])} == {id(shared), id(shared["weights"])}


def test_a_blueprint_of_what_does_not_pickle_deep_copies():
    lock = threading.Lock()  # does not pickle (nor deep-copy: shared)
    obj = {"lock": lock, "rows": [1.0]}
    copied = Blueprint(obj, [lock]).copy()
    assert copied["lock"] is lock and copied["rows"] == [1.0] and copied["rows"] is not obj["rows"]
    assert copy.deepcopy(obj, {id(lock): lock})["lock"] is lock


def test_devices_of_a_line_each_are_counted_as_before(detector, test_data):
    err = io.StringIO()
    devices = DeviceMonitors(Monitor(detector, fmt="influx", log=RateLimitedLog(stream=err)), ["host"],
                             max_devices=2)
    records = devices.push_lines([line for k in range(30) for line in lp(test_data[k:k + 1], f"d{k}", k)])
    records += devices.flush()
    summary = devices.summary()
    assert summary["devices"] == 30 and summary["devices_dropped"] == 28 and summary["samples"] == 30
    assert summary["lines"] == 30 and summary["max_score"] is None
    assert [r["tags"]["host"] for r in records] == ["d28", "d29"]  # the dropped ones had no score: no summary
