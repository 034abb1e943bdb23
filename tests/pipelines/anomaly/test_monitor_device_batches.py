"""`tsae monitor --group-by`: the devices' frames are scored together, and every device's records stay its own."""
import io
import re

import numpy as np
import pytest

import tsae.pipelines.anomaly.model_slots as model_slots
from tsae.pipelines.anomaly import frame_batches
from tsae.pipelines.anomaly.devices import DeviceMonitors
from tsae.pipelines.anomaly.monitor import Monitor, RateLimitedLog

from sensor_data import SENSORS

HOSTS = [f"d{k}" for k in range(6)]
NS = 1_709_251_200_000_000_000  # 2024-03-01T00:00:00Z


def lp(rows, host):
    return [f"pump,host={host} " + ",".join(f"{s}={float(v)!r}" for s, v in zip(SENSORS, row, strict=True))
            + f" {NS + k * 10**10}" for k, row in enumerate(rows)]


def device_rows(test_data, k):
    """Device ``k``'s rows: the test data from its own start (device 3's holds the fault), a silent sensor on 5."""
    rows = test_data[(37 * k) % 250:][:200].copy()
    if k == 3:
        rows[120:140, 0] += 4.0
    if k == 5:
        rows[60:180, 2] = np.nan
    return rows


def streams(test_data):
    """Each host's lines of line protocol (a missing value: no field)."""
    return {host: [re.sub(r"\w+=nan,?", "", line).replace(", ", " ") for line in lp(device_rows(test_data, k), host)]
            for k, host in enumerate(HOSTS)}


def blocks(per_host, size):
    """Lines of every host interleaved, in blocks of ``size`` lines of each host."""
    out = []
    for start in range(0, 200, size):
        out.append([line for k in range(size) for host in HOSTS for line in per_host[host][start + k:start + k + 1]])
    return out


def per_device(records):
    out = {}
    for record in records:
        if record["type"] != "summary":
            out.setdefault(record["tags"]["host"], []).append({k: v for k, v in record.items() if k != "tags"})
    return out


def same(a, b):
    """Records equal, their numbers to the last bit (each frame has its own place in the network's calls)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@pytest.fixture
def counted_forward(monkeypatch):
    calls = []

    def forward(*args, **kwargs):
        calls.append(len(args[1]))
        return real(*args, **kwargs)

    real = model_slots.forward
    monkeypatch.setattr(model_slots, "forward", forward)
    return calls


def test_one_network_call_scores_every_device_of_a_block(detector, test_data, counted_forward):
    # before: a call per device with a new window (12 a block); the joined frames in calls of MODEL_SLOTS frames, each
    # frame at its place (model_slots)
    devices = DeviceMonitors(Monitor(detector, log=RateLimitedLog(quiet=True)), ["host"])
    per_host = streams(test_data)
    for block in blocks(per_host, 25):
        before = len(counted_forward)
        devices.push_lines(block)
        assert len(counted_forward) - before == 1, counted_forward[before:]
    assert all(rows % model_slots.MODEL_SLOTS == 0 for rows in counted_forward)
    assert min(counted_forward) >= len(HOSTS)  # each call held a window of every device


@pytest.mark.parametrize("options", [{}, {"drift_rate": 0.5, "drift_every": 96}])
def test_devices_scored_together_equal_each_device_alone(detector, test_data, options, monkeypatch):
    monkeypatch.setattr(frame_batches, "BATCH_VALUES", 2000)  # batches of a few devices: every path of the joining
    per_host = streams(test_data)
    devices = DeviceMonitors(Monitor(detector, every_sample=True, log=RateLimitedLog(quiet=True), **options),
                             ["host"])
    records = []
    for block in blocks(per_host, 25):
        records += devices.push_lines(block)
    together = per_device(records + devices.flush())
    kinds = set()
    for host in HOSTS:
        alone = Monitor(detector, every_sample=True, log=RateLimitedLog(stream=io.StringIO()), **options)
        expected = []
        for start in range(0, 200, 25):
            expected += alone.push_lines(per_host[host][start:start + 25])
        expected += alone.flush()
        got = together[host]
        assert [r["type"] for r in got] == [r["type"] for r in expected]
        kinds.update(r["type"] for r in got)
        assert len(got) == len(expected) and all(map(same, got, expected)), host
    assert {"sample", "alarm", "event", "sensor"} <= kinds  # a fault and a silent sensor were scored so


def messages(test_data, seed=0, rows=160):
    """Each host's first ``rows`` lines (no host tag: the topic names the device) in messages of 1 to 7 lines,
    interleaved as a gateway sends them: ``(topic, lines)``."""
    rng = np.random.default_rng(seed)
    queues = {}
    for host, lines in streams(test_data).items():
        lines = [line.replace(f",host={host}", "") for line in lines[:rows]]
        cuts = np.cumsum(rng.integers(1, 8, size=len(lines)))
        queues[host] = [lines[a:b] for a, b in zip([0, *cuts], cuts, strict=False) if a < len(lines)]
    out = []
    while any(queues.values()):
        host = rng.choice([h for h in HOSTS if queues[h]])
        out.append((f"plant/{host}/data", queues[host].pop(0)))
    return out


@pytest.mark.slow  # each device's messages pushed alone, then all together (about 6 s here)
def test_messages_that_came_together_are_scored_together_with_each_messages_records(detector, test_data,
                                                                                    counted_forward):
    # before: `--mqtt --topic-tags` pushed each topic's block alone: a network call per message of 6 devices
    sent = messages(test_data)
    expected = {}
    for host in HOSTS:
        alone = Monitor(detector, every_sample=True, log=RateLimitedLog(stream=io.StringIO()))
        expected[host] = [record for topic, lines in sent if topic == f"plant/{host}/data"
                          for record in alone.push_lines(lines)] + alone.flush()
    kinds = {r.get("source", r["type"]) for records in expected.values() for r in records}
    assert {"sample", "early", "score", "event", "sensor"} <= kinds  # early alarms too: they depend on the cuts
    devices = DeviceMonitors(Monitor(detector, every_sample=True, log=RateLimitedLog(quiet=True)), ["host"],
                             topic_tags="_/host/_")
    del counted_forward[:]
    records = devices.push_topics(sent)  # a backlog: every message came together
    # the n-th message of each device in one round: at most one call a round (none while windows fill)
    assert 0 < len(counted_forward) <= max(sum(t == topic for t, _ in sent) for topic, _ in sent) < len(sent) / 4
    together = per_device(records + devices.flush())
    for host in HOSTS:
        assert [r["type"] for r in together[host]] == [r["type"] for r in expected[host]], host
        assert all(map(same, together[host], expected[host])), host


def test_a_bad_message_among_those_that_came_together_stops_no_device(detector, test_data):
    sent = messages(test_data)[:60]
    bad = [("plant/d0/data", ["pump temp=oops 1"]), ("plant/other", ["1,2,3"]), ("plant/d1/data", ["\x00" * 9]),
           ("plant/d2/data", [b"\xff\xfe garbage"])]
    devices = DeviceMonitors(Monitor(detector, every_sample=True, log=RateLimitedLog(quiet=True)), ["host"],
                             topic_tags="_/host/_")
    records = devices.push_topics(sent[:30] + bad + sent[30:]) + devices.flush()
    clean = DeviceMonitors(Monitor(detector, every_sample=True, log=RateLimitedLog(quiet=True)), ["host"],
                           topic_tags="_/host/_")
    expected = clean.push_topics(sent) + clean.flush()
    assert len(per_device(records)) == len(HOSTS)
    assert {h: len(r) for h, r in per_device(records).items()} == {h: len(r) for h, r in per_device(expected).items()}
    summary = devices.summary()
    assert summary["other_series"] == 1 and summary["malformed"] >= 3 and summary["devices"] == len(HOSTS)
