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
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def publish_rows(client, topic, rows, start):
    for i, row in enumerate(rows):
        payload = json.dumps({"time": start + i, **{s: float(v) for s, v in zip(SENSORS, row)}})
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
                raise AssertionError(f"no {text!r} within {timeout}s; got: {''.join(self.all)[-2000:]}")

    def drain(self):
        while True:
            try:
                self.all.append(self.lines.get_nowait())
            except queue.Empty:
                return self.all


def subscriber(port, topic, sink):
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, m: sink.append(json.loads(m.payload))
    client.on_connect = lambda c, u, f, r, p=None: c.subscribe(topic, qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def wait_for_samples(received: list[dict], at_least: int, quiet: float = 2.0, timeout: float = 30.0) -> None:
    """Wait for ``at_least`` sample records, then until none has arrived for ``quiet`` seconds.

    Scores become final a few samples late, so ``at_least`` records do not prove the
    monitor has read every message; the quiet period does (on a slow machine too).
    """
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = sum(r.get("type") == "sample" for r in received)
        if now != count:
            count, since = now, time.monotonic()
        elif count >= at_least and time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def test_mqtt_events_out_and_broker_restart(broker, detector, detector_file, test_data):
    received: list[dict] = []
    watcher = subscriber(broker.port, "test/events", received)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file), "--mqtt",
         f"127.0.0.1:{broker.port}", "--topic", "test/samples", "--out-topic", "test/events", "--every-sample"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = Lines(proc.stderr)
    try:
        err.wait_for("connected to")
        pub = publisher(broker.port)
        publish_rows(pub, "test/samples", test_data[:300], 0)
        pub.loop_stop()
        pub.disconnect()
        wait_for_samples(received, 300 - 24)
        # kill the broker under the monitor, then bring it back on the same port
        broker.stop()
        err.wait_for("lost the broker")
        broker.start()
        err.wait_for("reconnected to")
        watcher.loop_stop()
        watcher.disconnect()
        watcher = subscriber(broker.port, "test/events", received)
        time.sleep(0.5)
        pub = publisher(broker.port)
        publish_rows(pub, "test/samples", test_data[300:], 300)
        pub.loop_stop()
        pub.disconnect()
        wait_for_samples(received, len(test_data) - 24)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(r.get("type") == "summary" for r in received):
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.loop_stop()
        watcher.disconnect()
    text = "".join(err.drain())
    assert proc.returncode == 130, text
    assert "Traceback" not in text
    samples = {r["index"]: r["score"] for r in received if r.get("type") == "sample"}
    # the monitor's state survived the restart: indices continue and scores equal batch scores
    assert len(samples) == len(test_data), text
    batch = detector.decision_function(test_data.T)
    np.testing.assert_allclose([samples[i] for i in range(len(test_data))], batch, rtol=1e-6, atol=1e-6)
    events = [r for r in received if r.get("type") == "event"]
    assert any(e["start_index"] <= 405 <= e["end_index"] for e in events)
    summary = [r for r in received if r.get("type") == "summary"][-1]
    assert summary["samples"] == len(test_data) and summary["malformed"] == 0
