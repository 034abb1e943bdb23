"""End to end through a real mosquitto broker on loopback (skipped without the binary)."""
import json
import queue
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from sensor_data import SENSORS

pytestmark = pytest.mark.mqtt


def publisher(port):
    """A QoS-1 publisher; ``client.acked`` counts the messages the broker acknowledged."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.acked = 0

    def on_publish(c, userdata, mid, reason, properties=None):
        c.acked += 1

    client.on_publish = on_publish
    client.reconnect_delay_set(min_delay=0.1, max_delay=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def publish_rows(client, topic, rows, start):
    for i, row in enumerate(rows):
        payload = json.dumps({"time": start + i, **{s: float(v) for s, v in zip(SENSORS, row, strict=True)}})
        client.publish(topic, payload, qos=1).wait_for_publish(5)


class Lines:
    """Collects a subprocess stream's lines on a thread."""

    def __init__(self, stream):
        self.lines: queue.Queue[str] = queue.Queue()
        self.all: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.lines.put(line)

    def wait_for(self, text, count=1, timeout=60):
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.all) < count:
            try:
                self.all.append(self.lines.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout}s; got: {''.join(self.all)[-2000:]}") from None

    def drain(self):
        while True:
            try:
                self.all.append(self.lines.get_nowait())
            except queue.Empty:
                return self.all


class Received:
    """The records a subscriber got, and a way to wait for them without sleeping."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.changed = threading.Condition()

    def add(self, record: dict) -> None:
        with self.changed:
            self.records.append(record)
            self.changed.notify_all()

    def count(self, kind: str) -> int:
        return sum(r.get("type") == kind for r in self.records)

    def wait_for(self, kind: str, at_least: int, timeout: float = 60) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.count(kind) >= at_least, timeout):
                raise AssertionError(f"{self.count(kind)} {kind} records within {timeout}s, expected {at_least}")


def subscriber(port, topic, received: Received, client_id: str | None = None):
    """A client subscribed to ``topic``; returns once the broker has acknowledged the subscription.

    With a ``client_id`` its session is persistent: the broker keeps its messages while it is away.
    """
    import paho.mqtt.client as mqtt

    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "", clean_session=client_id is None)
    client.reconnect_delay_set(min_delay=0.1, max_delay=1)
    client.on_message = lambda c, u, m: received.add(json.loads(m.payload))
    client.on_connect = lambda c, u, f, r, p=None: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda c, u, mid, codes, p=None: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert subscribed.wait(30), "the broker did not acknowledge the subscription"
    return client


def end(proc, *clients) -> None:
    """Kill the monitor if it still runs; stop and disconnect the test's MQTT clients."""
    if proc is not None and proc.poll() is None:
        proc.kill()
    for client in clients:
        if client is not None:
            client.loop_stop()
            client.disconnect()


def complete_rows(detector_file, rows, near: int) -> tuple[int, int]:
    """The first row count from ``near`` on that completes a hop, and how many samples it makes final.

    Scores become final a hop at a time, so once a monitor has written that many sample
    records it has read every one of those rows.
    """
    from tsae import Monitor

    def scored(n: int) -> int:
        monitor = Monitor(detector_file, every_sample=True)
        return sum(r["type"] == "sample" for r in monitor.push(rows[:n].T))  # (sensors, n)

    n = next(n for n in range(near, len(rows) + 1) if scored(n) > scored(n - 1))
    return n, scored(n)


def test_mqtt_events_out_and_broker_restart(broker, detector, detector_file, test_data):
    first, first_scored = complete_rows(detector_file, test_data, 300)
    total, total_scored = complete_rows(detector_file, test_data, len(test_data) - 30)
    data = test_data[:total]
    received = Received()
    watcher = subscriber(broker.port, "test/events", received)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file), "--mqtt",
         f"127.0.0.1:{broker.port}", "--topic", "test/samples", "--out-topic", "test/events", "--every-sample"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = Lines(proc.stderr)
    try:
        err.wait_for("connected to")
        pub = publisher(broker.port)
        publish_rows(pub, "test/samples", data[:first], 0)
        pub.loop_stop()
        pub.disconnect()
        received.wait_for("sample", first_scored)  # the monitor has read every message sent so far
        # kill the broker under the monitor, then bring it back on the same port
        broker.stop()
        err.wait_for("lost the broker")
        broker.start()
        err.wait_for("reconnected to")
        watcher.loop_stop()
        watcher.disconnect()
        watcher = subscriber(broker.port, "test/events", received)
        pub = publisher(broker.port)
        publish_rows(pub, "test/samples", data[first:], first)
        pub.loop_stop()
        pub.disconnect()
        received.wait_for("sample", total_scored)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        received.wait_for("summary", 1)
    finally:
        end(proc, watcher)
    text = "".join(err.drain())
    assert proc.returncode == 130, text
    assert "Traceback" not in text
    samples = {r["index"]: r["score"] for r in received.records if r.get("type") == "sample"}
    # the monitor's state survived the restart: indices continue and scores equal batch scores
    assert len(samples) == len(data), text
    batch = detector.decision_function(data.T)
    np.testing.assert_allclose([samples[i] for i in range(len(data))], batch, rtol=1e-6, atol=1e-6)
    events = [r for r in received.records if r.get("type") == "event"]
    assert any(e["start_index"] <= 405 <= e["end_index"] for e in events)
    summary = [r for r in received.records if r.get("type") == "summary"][-1]
    assert summary["samples"] == len(data) and summary["malformed"] == 0


def csv_rows(rows, start: int) -> list[str]:
    """CSV lines ``time,sensors...`` whose numbers read back exactly (so scores equal batch scores)."""
    return [f"{start + i}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(rows)]


def json_rows(rows, start: int) -> list[str]:
    return [json.dumps({"time": start + i, **{s: float(v) for s, v in zip(SENSORS, row, strict=True)}})
            for i, row in enumerate(rows)]


def monitor_process(detector_file, port, *args):
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file), "--mqtt", f"127.0.0.1:{port}",
         "--out-topic", "test/events", "--every-sample", *args],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, Lines(proc.stderr)


def assert_each_sample_once(received: Received, detector, data, text: str) -> dict:
    """Every sample index arrived, each with one score (copies identical), equal to the batch score."""
    scores: dict[int, set[float]] = {}
    for r in received.records:
        if r.get("type") == "sample":
            scores.setdefault(r["index"], set()).add(r["score"])
    assert sorted(scores) == list(range(len(data))), text  # none lost, none scored twice (indices would shift)
    assert all(len(s) == 1 for s in scores.values()), text
    batch = detector.decision_function(data.T)
    np.testing.assert_allclose([scores[i].pop() for i in range(len(data))], batch, rtol=1e-6, atol=1e-6)
    summaries = [r for r in received.records if r.get("type") == "summary"]
    assert summaries and all(s == summaries[0] for s in summaries), text
    return summaries[0]


def test_broker_killed_with_sigkill_outbox_keeps_every_record(broker, detector, detector_file, test_data):
    """stdin -> MQTT. The broker dies (SIGKILL) mid-stream; rows scored meanwhile wait in the outbox;
    redelivered rows are dropped; every sample is published once; exit 0 at the end of the input."""
    first, first_scored = complete_rows(detector_file, test_data, 300)
    second, total = first + 150, 600
    data = test_data[:total]
    received = Received()
    watcher = subscriber(broker.port, "test/events", received, client_id="watcher-kill")
    broker.stop()  # saves the watcher's session, so the broker still holds it after the SIGKILL below
    broker.start()
    proc, err = monitor_process(detector_file, broker.port, "--source", "stdin")

    def feed(lines):
        proc.stdin.write("".join(line + "\n" for line in lines))
        proc.stdin.flush()

    try:
        feed(["time," + ",".join(SENSORS)] + csv_rows(data[:first], 0))
        received.wait_for("sample", first_scored)
        broker.kill()
        err.wait_for("cannot publish, lost the broker")
        # scored while the broker is away: 150 rows, 2 malformed lines, 5 rows sent again
        feed(csv_rows(data[first:second], first) + ["not,a,row", "{broken json"]
             + csv_rows(data[first - 5:first], first - 5))
        err.wait_for("skipped a duplicate")
        assert proc.poll() is None
        broker.start()
        err.wait_for("publishing again")
        feed(csv_rows(data[second:], second))
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        received.wait_for("summary", 1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{''.join(err.drain())}") from None
    finally:
        end(proc, watcher)
    text = "".join(err.drain())
    assert "Traceback" not in text and "not delivered" not in text, text
    summary = assert_each_sample_once(received, detector, data, text)
    assert summary["samples"] == total and summary["duplicates"] == 5 and summary["malformed"] == 2
    # a plugin sink's count of the events it took: the MQTT sink's count of acknowledged records (samples,
    # alarms, events alike) was reported as events_delivered, 600 and more for a few events
    assert "events_delivered" not in summary


def test_broker_stopped_with_sigterm_mid_stream_loses_and_repeats_nothing(broker, detector, detector_file,
                                                                           test_data):
    """MQTT -> MQTT. The broker stops (SIGTERM, persistence on) while messages are in flight and comes back:
    its saved queues, the publisher's resends and the monitor's persistent session lose no sample; the
    redeliveries and a publisher's repeats are dropped, so no sample is scored twice."""
    total, total_scored = complete_rows(detector_file, test_data, 570)
    data = test_data[:total]
    messages = json_rows(data, 0)
    received = Received()
    watcher = subscriber(broker.port, "test/events", received, client_id="watcher-term")
    proc, err = monitor_process(detector_file, broker.port, "--topic", "test/samples")
    pub = None
    try:
        err.wait_for("connected to")
        pub = publisher(broker.port)
        for payload in messages[:300]:  # no waiting for acknowledgements: many are in flight at the stop
            pub.publish("test/samples", payload, qos=1)
        broker.stop()
        broker.start()
        err.wait_for("reconnected to")
        assert "resumed session" in "".join(err.all)
        # paho sends new messages before it resends the unacknowledged ones after a reconnect, which
        # would reorder the stream (later times skipped as out of order): let it resend them first
        deadline = time.monotonic() + 60
        while pub.acked < 300:
            assert time.monotonic() < deadline, f"{pub.acked} of 300 messages acknowledged"
            time.sleep(0.02)
        for payload in messages[300:400] + messages[290:300] + messages[400:]:  # 10 sent twice
            pub.publish("test/samples", payload, qos=1)
        received.wait_for("sample", total_scored)
        assert proc.poll() is None  # the monitor kept running
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM  # stopped on request
        received.wait_for("summary", 1)
    finally:
        end(proc, watcher, pub)
    text = "".join(err.drain())
    assert "Traceback" not in text and "not delivered" not in text, text
    summary = assert_each_sample_once(received, detector, data, text)
    assert summary["samples"] == total and summary["duplicates"] >= 10 and summary["malformed"] == 0


def test_outbox_file_of_a_previous_run_is_sent_first(broker, tmp_path):
    from tsae.io.mqtt import OUTBOX_HEADER, MqttSink

    outbox = tmp_path / "outbox.jsonl"
    outbox.write_text(OUTBOX_HEADER + '\n{"type":"sample","index":7}\n{"type":"summary","samples":8}\n')
    received = Received()
    watcher = subscriber(broker.port, "test/events", received)
    status: list[str] = []
    sink = MqttSink("127.0.0.1", broker.port, "test/events", outbox=outbox, on_status=status.append)
    try:
        sink.write({"type": "sample", "index": 0})
        received.wait_for("sample", 2)
        received.wait_for("summary", 1)
    finally:
        sink.close()
        end(None, watcher)
    assert [r.get("index", r.get("samples")) for r in received.records] == [7, 8, 0]
    assert sink.delivered == 3 and sink.undelivered == 0 and not outbox.exists()
    assert any("2 record(s) left by the previous run" in line for line in status), status
