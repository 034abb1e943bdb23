"""`tsae monitor --group-by TAG`: a monitor per device on one stream, one detector shared."""
import io
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from loopback_broker import publish_once_subscribed

from tsae.cli import cli
from tsae.pipelines.anomaly.devices import DeviceMonitors
from tsae.pipelines.anomaly.monitor import Monitor, RateLimitedLog, run_monitor

from sensor_data import SENSORS

NS = 1_709_251_200_000_000_000  # 2024-03-01T00:00:00Z
STEP = 10 * 10**9


def lp(rows, host, start=0):
    return [f"pump,host={host} " + ",".join(f"{s}={float(v)!r}" for s, v in zip(SENSORS, row, strict=True))
            + f" {NS + (start + k) * STEP}" for k, row in enumerate(rows)]


def interleave(*streams):
    return [line for group in zip(*streams, strict=True) for line in group]


def run(detector_file, lines, **options):
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err,
                       every_sample=True, **options)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def scores(records, **tags):
    return [r["score"] for r in records if r["type"] == "sample" and r.get("tags", {}) == tags]


def test_each_host_is_its_own_stream_with_its_own_events(detector, detector_file, test_data):
    # before: one monitor per --tag series; two hosts on one stream were "other_series" but for the first
    normal = test_data[:300].copy()
    normal[:, 1] = test_data[100:400, 1]  # host b: the anomaly at 400 of test_data moves to 300
    code, records, err = run(detector_file, interleave(lp(test_data[:400], "a"), lp(test_data[300:700], "b")),
                             group_by=["host"])
    assert code == 0, err
    _, alone, _ = run(detector_file, lp(test_data[:400], "a"))
    assert scores(records, host="a") == pytest.approx(scores(alone), rel=1e-9)  # as if a were alone
    np.testing.assert_allclose(scores(records, host="b"), detector.decision_function(test_data[300:700].T),
                               rtol=1e-6, atol=1e-9)
    events = [r for r in records if r["type"] == "event"]
    assert events and {e["tags"]["host"] for e in events} == {"b"}  # the fault of b, named with its device
    summary = records[-1]
    assert summary["type"] == "summary" and "tags" not in summary and summary["devices"] == 2
    assert summary["samples"] == 800 and summary["other_series"] == 0 and summary["devices_dropped"] == 0
    device_summaries = [r for r in records if r["type"] == "summary" and "tags" in r]
    assert sorted(r["tags"]["host"] for r in device_summaries) == ["a", "b"]
    assert "for each device (host; at most 1000)" in err


def test_a_bad_line_of_one_device_stops_no_other(detector_file, test_data):
    lines = interleave(lp(test_data[:300], "a"), lp(test_data[:300], "b"))
    lines[101] = "pump,host=b temp=,pressure=1"  # malformed, of b
    lines[203] = "pump temp=1,pressure=1,flow=1 " + str(NS)  # no device
    lines[205] = '{"oops": '  # no JSON
    lines[207] = "pump,host flow=1"  # its tags do not read
    code, records, err = run(detector_file, lines, group_by=["host"])
    assert code == 0, err
    summary = records[-1]
    assert summary["malformed"] == 3 and summary["other_series"] == 1 and summary["devices"] == 2
    assert len(scores(records, host="a")) == 300 and len(scores(records, host="b")) == 296  # b's 4 lines lost
    assert "skipped a malformed line (invalid JSON" in err, err  # (warnings of a kind are rate-limited together)
    lines[207] = lines[205] = lines[203] = lines[201]
    _, _, err = run(detector_file, lines, group_by=["host"])
    assert "warning: device host=b: skipped a malformed line (line protocol: " in err, err  # named


@pytest.mark.parametrize("first", ["42", "null", '"text"', "hello world"])
def test_a_stray_first_line_stops_no_stream_of_devices(detector_file, test_data, first):
    """A first line that is a JSON value but no record, or names neither a sensor nor the device column, was read as
    a CSV header without the device column and stopped the monitor ("stdin: the CSV header 'null' has no column
    host", exit 1), the line protocol of two devices after it unread; a JSON value mid-stream was "without the tag(s)
    host" (other_series), where a stream of one device tells it as JSON."""
    lines = [first, *interleave(lp(test_data[:100], "a"), lp(test_data[:100], "b")), first]
    code, records, err = run(detector_file, lines, group_by=["host"])
    assert code == 0, err
    summary = records[-1]
    assert summary["malformed"] == 2 and summary["other_series"] == 0 and summary["samples"] == 200
    if first != "hello world":
        assert f"JSON line is not an object or an array of objects: {first!r}" in err, err


def test_a_device_named_by_a_huge_tag_is_told_in_short_lines(detector_file, test_data):
    """A device named by a 5,000-character tag value (a payload's text in the tag) made every warning naming it a
    5,000-character stderr line (100 such devices: a megabyte of stderr); its records keep the whole tag."""
    huge = "x" * 5000
    lines = interleave(lp(test_data[:10], huge), lp(test_data[:10], "b"))
    lines.insert(3, f"pump,host={huge} temp=,pressure=1")  # malformed, of the huge device
    code, records, err = run(detector_file, lines, group_by=["host"])
    assert code == 0, err
    assert "device host=xxx" in err and max(len(line) for line in err.splitlines()) < 400, err[:600]
    assert any(r.get("tags") == {"host": huge} for r in records)


def test_the_device_cap_drops_the_least_recently_seen_once_told(detector, test_data):
    err = io.StringIO()
    devices = DeviceMonitors(Monitor(detector, log=RateLimitedLog(stream=err)), ["host"], max_devices=2)
    records = []
    # messages one after the other: c drops a; a comes back while b, monitored, reported after a last did: a is over
    # the cap; after c again, b is the quieter (last seen before a's last message): a comes back in its place, anew
    for host, start in (("a", 0), ("b", 0), ("c", 0), ("a", 100), ("c", 100), ("a", 200)):
        records += devices.push_lines(lp(test_data[start:start + 100], host, start))
    records += devices.flush()
    records.append(devices.summary())
    assert err.getvalue().count("more than 2 devices (--max-devices)") == 1, err.getvalue()
    assert err.getvalue().count("more than 2 devices report (--max-devices): host=a came back") == 1
    assert len(devices.devices) == 0
    summary = records[-1]
    assert summary["devices"] == 4 and summary["devices_dropped"] == 2  # a, then b; a again is a new stream
    assert summary["over_max_devices"] == 100 and summary["lines"] == 600
    assert summary["samples"] == sum(r["samples"] for r in records if r["type"] == "summary" and "tags" in r)
    assert [r["tags"]["host"] for r in records if r["type"] == "summary" and "tags" in r] == ["a", "b", "c", "a"]


def test_more_devices_than_the_cap_in_turn_keep_the_ones_monitored(detector, test_data):
    # before: each new device dropped the one seen least recently, which came back and dropped the next: every
    # line dropped a device, none filled a window, and each drop wrote a summary and warned of its short stream
    err = io.StringIO()
    devices = DeviceMonitors(Monitor(detector, log=RateLimitedLog(stream=err)), ["host"], max_devices=3)
    hosts = [f"d{k}" for k in range(6)]
    streams = [lp(test_data[:200], host) for host in hosts]
    records = []
    for start in range(0, 200, 10):  # blocks of 10 lines of each device, in turn
        records += devices.push_lines([line for k in range(start, start + 10) for stream in streams
                                       for line in stream[k:k + 1]])
    records += devices.flush()
    summary = devices.summary()
    assert summary["devices"] == 6 and summary["devices_dropped"] == 3 and summary["lines"] == 1200
    assert summary["over_max_devices"] == 3 * 190  # d0-d2, dropped by d3-d5, are over the cap from then on
    kept = [r for r in records if r["type"] == "summary"]
    assert [r["tags"]["host"] for r in kept] == ["d3", "d4", "d5"] and all(r["samples"] == 200 for r in kept)
    assert summary["samples"] == 630  # the dropped ones' 10 each had no score (no window): no summary of theirs
    assert err.getvalue().count("more than 3 devices report") == 1 and "short" not in err.getvalue()
    assert "fewer than the detector's window" not in err.getvalue(), err.getvalue()


def test_each_device_gets_its_first_warning_of_a_kind(detector, test_data, monkeypatch):
    # before: a kind's rate limit was shared: a noisy device hid every other device's first warning
    import tsae.pipelines.anomaly.devices as devices_module

    monkeypatch.setattr(devices_module, "FIRST_WARNINGS", 3)
    err = io.StringIO()
    devices = DeviceMonitors(Monitor(detector, log=RateLimitedLog(stream=err)), ["host"])
    bad = "pump,host={} temp=,pressure=1"
    devices.push_lines([bad.format("a")] * 20)  # a's noise first
    devices.push_lines([bad.format(host) for host in "bcde" for _ in range(2)])
    written = [line for line in err.getvalue().splitlines() if "skipped a malformed line" in line]
    assert [line.split("device host=")[1][0] for line in written] == ["a", "b", "c"], written  # 3 firsts in all
    devices.flush()
    assert devices.summary()["malformed"] == 28  # counts stay exact


def test_telegraf_json_batches_and_plain_json_name_their_device(detector, test_data):
    log = RateLimitedLog(stream=io.StringIO())
    devices = DeviceMonitors(Monitor(detector, every_sample=True, log=log), ["host"])
    lines = []
    for k, row in enumerate(test_data[:200]):
        fields = {s: float(v) for s, v in zip(SENSORS, row, strict=True)}
        lines.append(json.dumps({"metrics": [{"name": "pump", "tags": {"host": h}, "fields": fields, "timestamp": k}
                                             for h in ("a", "b")]}))
        lines.append(json.dumps({"time": k, "host": "c", **fields}))
    records = devices.push_lines(lines) + devices.flush()
    per = {h: scores(records, host=h) for h in "abc"}
    assert len(per["a"]) == len(per["b"]) == len(per["c"]) == 200
    assert per["a"] == pytest.approx(per["c"], rel=1e-12)  # (scored in one batch: the last bit may differ)
    assert devices.summary()["unknown_fields"] == []  # "host" was no field of c's


def test_mqtt_topic_levels_name_the_device(detector, test_data):
    log = RateLimitedLog(stream=io.StringIO())
    devices = DeviceMonitors(Monitor(detector, every_sample=True, log=log), ["host"], topic_tags="_/host/_")
    csv = [f"{k}," + ",".join(repr(float(v)) for v in row) for k, row in enumerate(test_data[:200])]
    records = []
    for start in range(0, 200, 50):
        for host in ("p1", "p2"):
            header = ["time," + ",".join(SENSORS)] if start == 0 else []
            records += devices.push_lines(header + csv[start:start + 50], topic=f"plant/{host}/data")
    records += devices.flush()
    assert len(scores(records, host="p1")) == len(scores(records, host="p2")) == 200
    assert devices.summary()["devices"] == 2


@pytest.mark.parametrize(("options", "message"), [
    (["--max-devices", "5"], "--max-devices applies only with --group-by TAG"),
    (["--topic-tags", "_/host"], "--topic-tags applies only with --group-by TAG"),
    (["--group-by", "host", "--topic-tags", "_/host"], "--topic-tags applies only with an MQTT source"),
    (["--group-by", "host", "--raw"], "--group-by reads each device's tags from text lines: not with --raw"),
])
def test_device_options_out_of_place_are_refused(detector_file, options, message):
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), *options], input="")
    assert result.exit_code == 2 and message in result.output, result.output


def test_group_by_on_the_command_line(detector_file, test_data):
    lines = interleave(lp(test_data[:200], "a"), lp(test_data[:200], "b"))
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--group-by", "host",
                                      "--every-sample", "-q"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(scores(records, host="a")) == len(scores(records, host="b")) == 200


@pytest.mark.mqtt
def test_the_mqtt_source_keeps_each_topics_lines_apart(broker):
    import time

    from tsae.io.mqtt import MqttSource

    said: list[str] = []
    source = MqttSource("127.0.0.1", broker.port, "plant/+/data", on_status=said.append, session_expiry=None,
                        poll=0.1, by_topic=True)
    try:
        # interleaved topics, as a gateway sends them; two of p1's in a row at the end
        messages = [(f"plant/p{k % 2}/data", f"{k},1,2,3") for k in range(6)] + [("plant/p1/data", "6,1,2,3")]
        deadline = publish_once_subscribed(broker.port, said, messages)
        while source.queue.qsize() < len(messages) and time.monotonic() < deadline:  # all came before a block
            time.sleep(0.02)
        block = next(block for block in source.blocks() if block)
    finally:
        source.close()
    # before: a block per topic change (one message each: each scored alone); now what had come, in one block,
    # each topic's lines apart (consecutive messages of a topic joined, as before)
    assert block.parts == [("plant/p0/data", ["0,1,2,3"]), ("plant/p1/data", ["1,1,2,3"]),
                           ("plant/p0/data", ["2,1,2,3"]), ("plant/p1/data", ["3,1,2,3"]),
                           ("plant/p0/data", ["4,1,2,3"]), ("plant/p1/data", ["5,1,2,3", "6,1,2,3"])]
    assert list(block) == [line for _, lines in block.parts for line in lines] and block.topic is None


def test_topic_blocks_are_bounded_and_join_a_topics_consecutive_messages():
    from tsae.io.mqtt import topic_blocks

    messages = [("a", ["x" * 10]), ("a", ["y" * 10]), ("b", ["z" * 10]), ("c", [f"{k:09d}" for k in range(10)])]
    blocks = list(topic_blocks(messages, 30))
    assert [block.parts for block in blocks] == [
        [("a", ["x" * 10, "y" * 10]), ("b", ["z" * 10])],
        [("c", [f"{k:09d}" for k in range(3)])],  # a long message in parts, each a block of its own
        [("c", [f"{k:09d}" for k in range(3, 6)])],
        [("c", [f"{k:09d}" for k in range(6, 9)])],
        [("c", ["000000009"])]]
    assert all(sum(map(len, block)) <= 30 for block in blocks)
    assert [block.topic for block in blocks] == [None, "c", "c", "c", "c"]


@pytest.mark.mqtt
@pytest.mark.slow  # a monitor process (8 s)
def test_devices_by_topic_level_over_mqtt_with_gzip_payloads(detector_file, test_data, broker):
    import gzip
    import signal
    import subprocess
    import sys

    import paho.mqtt.client as mqtt
    from test_mqtt import Lines

    proc = subprocess.Popen([sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file), "--mqtt",
                             f"127.0.0.1:{broker.port}", "--topic", "plant/+/data", "--topic-tags", "_/host/_",
                             "--group-by", "host", "--clean-session", "--every-sample"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        err = Lines(proc.stderr)
        err.wait_for("subscribed to")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        for start in range(0, 150, 30):
            for host in ("p1", "p2"):
                header = ["time," + ",".join(SENSORS)] if start == 0 else []
                rows = [f"{k}," + ",".join(repr(float(v)) for v in test_data[k]) for k in range(start, start + 30)]
                payload = "\n".join(header + rows).encode()
                client.publish(f"plant/{host}/data", gzip.compress(payload) if host == "p2" else payload,
                               qos=1).wait_for_publish(5)
        client.publish("plant/p2/data", b"\x1f\x8b\x08garbage", qos=1).wait_for_publish(5)
        client.loop_stop()
        client.disconnect()
        err.wait_for("is unreadable")  # the last message was read
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    records = [json.loads(line) for line in out.splitlines()]
    assert len(scores(records, host="p1")) == len(scores(records, host="p2")) == 150
    # the same rows, one gzip-compressed (messages that came together scored in one call: the last bit may differ)
    assert scores(records, host="p1") == pytest.approx(scores(records, host="p2"), rel=1e-12)
    assert records[-1]["devices"] == 2 and records[-1]["malformed"] == 1


def test_group_by_reads_stdin_in_large_blocks(detector_file, test_data, tmp_path, monkeypatch):
    # before: blocks of 64 KB, which gave each of 500 devices 3 lines a push (each push has a cost of its own)
    lines = interleave(*(lp(test_data[:120], f"h{k}") for k in range(20)))
    path = tmp_path / "in.lp"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 3 * (1 << 16)
    sizes = []
    real = DeviceMonitors.push_lines

    def push_lines(self, block, topic=None):
        sizes.append(len(block))
        return real(self, block, topic)

    monkeypatch.setattr(DeviceMonitors, "push_lines", push_lines)
    with open(path) as stdin:
        code = run_monitor(detector_file, stdin=stdin, stdout=io.StringIO(), stderr=io.StringIO(), group_by=["host"])
    assert code == 0 and sizes == [len(lines)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux's")
def test_a_pipe_is_let_hold_a_large_block():
    import fcntl
    import os

    from tsae.io.streams import StdinSource

    read_end, write_end = os.pipe()
    try:
        source = StdinSource(os.fdopen(read_end, "rb", closefd=False), block_bytes=1 << 20)
        os.write(write_end, b"a,b\n")
        os.close(write_end)
        write_end = -1
        assert [line for block in source.blocks() for line in block] == ["a,b"]
        assert fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ) == 1 << 20
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
