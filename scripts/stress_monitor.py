"""Soak ``tsae monitor``: stdin, then MQTT input, with malformed lines, duplicate deliveries and broker restarts.

Two phases share the budget (``--seconds`` and ``--samples``, whichever runs out first,
split evenly between the phases):

- stdin: CSV lines piped into ``tsae monitor`` (its summary at the end of the input gives
  the counts); every ``--malformed-every`` lines a malformed one is injected, every
  ``--duplicate-every`` lines the previous 3 lines are sent again (a redelivery: same
  time, same values);
- mqtt: JSON lines published at QoS 1 (100 lines per message) to a real mosquitto on
  loopback (persistence on), with the same injections plus whole messages published
  twice; the broker is restarted twice (SIGTERM: it saves its queues), at a third and
  at two thirds of the phase. The monitor reads with its default persistent session and
  writes one line per scored sample to stdout, which this script counts.

For each phase it prints: samples in (distinct good rows sent), scored, duplicates
dropped, malformed, lost (samples in - scored: 0 expected, since the broker held every
message) and the monitor's peak memory (VmHWM of its process).

Usage::

    python scripts/stress_monitor.py [--seconds 600] [--samples 5000000] [--sensors 4] [--no-mqtt] [--no-stdin]
                                    [--chunk 2000] [--drain 600]
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fixtures"))
from loopback_broker import Broker, mosquitto_binary  # noqa: E402  (the MQTT tests' broker)

HEADER_TIME = "time"
WINDOW = 32


def synthetic(n: int, sensors: int, start: int = 0, seed: int = 0) -> np.ndarray:
    """Rows (time, sensor) of smooth periodic signals with noise."""
    rng = np.random.default_rng(seed + start)
    t = np.arange(start, start + n)[:, None]
    phase = np.linspace(0, np.pi, sensors)[None, :]
    return np.sin(2 * np.pi * t / 32 + phase) + 0.05 * rng.normal(size=(n, sensors))


class PeakMemory:
    """Polls a process's peak resident memory (Linux ``VmHWM``) until it exits; ``mb`` is the last reading."""

    def __init__(self, pid: int) -> None:
        self.mb = float("nan")
        self.thread = threading.Thread(target=self._poll, args=(Path(f"/proc/{pid}/status"),), daemon=True)
        self.thread.start()

    def _poll(self, status: Path) -> None:
        while True:
            try:
                text = status.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    self.mb = int(line.split()[1]) / 1024
            if "State:\tZ" in text:  # exited, not yet reaped
                return
            time.sleep(0.1)


class Counter:
    """Counts the sample records a monitor writes to stdout and keeps its last line (the summary)."""

    def __init__(self, stream) -> None:
        self.samples = 0
        self.last = ""
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            if line.startswith('{"type":"sample"'):
                self.samples += 1
            else:
                self.last = line

    def summary(self) -> dict:
        self.thread.join(60)
        return json.loads(self.last)



class Injector:
    """Good rows as text, with malformed lines and repeated rows mixed in; counts what it sent."""

    def __init__(self, sensors: list[str], fmt: str, malformed_every: int, duplicate_every: int) -> None:
        self.sensors, self.fmt = sensors, fmt
        self.malformed_every, self.duplicate_every = malformed_every, duplicate_every
        self.sent = self.malformed = self.duplicates = 0
        self.recent: list[str] = []

    def line(self, t: int, row: np.ndarray) -> str:
        if self.fmt == "csv":
            return f"{t}," + ",".join(f"{v:.6f}" for v in row)
        return json.dumps({"time": t, **{s: round(float(v), 6) for s, v in zip(self.sensors, row, strict=True)}})

    def lines(self, start: int, rows: np.ndarray) -> list[str]:
        out: list[str] = []
        for k, row in enumerate(rows):
            text = self.line(start + k, row)
            out.append(text)
            self.sent += 1
            self.recent = (self.recent + [text])[-3:]
            if self.sent % self.malformed_every == 0:
                out.append("{not json" if self.fmt == "json" else "1,2,oops")
                self.malformed += 1
            if self.sent % self.duplicate_every == 0:
                out.extend(self.recent)
                self.duplicates += len(self.recent)
        return out


def make_detector(folder: Path, sensors: int) -> Path:
    from tsae.pipelines.anomaly.detector import Detector

    path = folder / "stress.tsae"
    Detector(window=WINDOW, epochs=1, device="cpu", max_train_windows=2000).fit(
        synthetic(4000, sensors).T, sensors=[f"s{i}" for i in range(sensors)]).save(path)
    return path


def held_back(detector: Path, sensors: int) -> int:
    """The most samples ``tsae monitor`` holds unscored until its stream ends, with this detector.

    Measured on in-process streams of every length over one hop of the largest window scale (where a stream
    stops between window starts changes it). The scales reach past ``2 * WINDOW`` (16, 32 and 64 samples at
    window 32: 88 held back), so a margin of ``2 * WINDOW`` kept the MQTT drain waiting its whole ``--drain``.
    """
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.monitor import Monitor
    from tsae.pipelines.anomaly.silent import scoring_core

    det = Detector.load(detector, device="cpu")
    scales = scoring_core(det.core()).scales
    span, longest = max(scale.hop for scale in scales), max(scale.window for scale in scales)
    rows = synthetic(4 * longest + span, sensors)
    most = 0
    for n in range(4 * longest, 4 * longest + span):
        records = Monitor(det, every_sample=True).push(rows[:n].T)
        most = max(most, n - sum(record["type"] == "sample" for record in records))
    return most


def monitor(detector: Path, *args: str, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tsae", "monitor", "--detector", str(detector), *args],
                            stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1 << 16)


def wait_for_line(stream, text: str, timeout: float = 120.0) -> list[str]:
    """Read ``stream`` on a thread; return once a line contains ``text`` (the lines keep being collected)."""
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        for line in stream:
            lines.append(line)
            if text in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(timeout):
        raise RuntimeError(f"the monitor did not say {text!r}: {''.join(lines)[-500:]}")
    return lines


def report(name: str, injector: Injector, summary: dict, rss: float, seconds: float) -> None:
    print(f"{name:>5}: samples in {injector.sent:>9,}  scored {summary['samples']:>9,}  "
          f"duplicates dropped {summary['duplicates']:>7,} (injected {injector.duplicates:,})  "
          f"malformed {summary['malformed']:>6,} (injected {injector.malformed:,})  "
          f"lost {injector.sent - summary['samples']:>3}  peak RSS {rss:6.1f} MB  "
          f"{seconds:5.1f} s, {summary['samples'] / max(seconds, 1e-9):,.0f} samples/s", flush=True)


def run_stdin(detector: Path, sensors: list[str], budget: tuple[float, int], args: argparse.Namespace) -> None:
    seconds, samples = budget
    proc = monitor(detector, stdin=subprocess.PIPE)
    memory = PeakMemory(proc.pid)
    counter = Counter(proc.stdout)
    inject = Injector(sensors, "csv", args.malformed_every, args.duplicate_every)
    start = time.monotonic()
    proc.stdin.write(f"{HEADER_TIME}," + ",".join(sensors) + "\n")
    t = 0
    while t < samples and time.monotonic() - start < seconds:
        n = min(args.chunk, samples - t)
        proc.stdin.write("\n".join(inject.lines(t, synthetic(n, len(sensors), start=t))) + "\n")
        t += n
    proc.stdin.close()
    proc.wait(300)
    memory.thread.join(5)
    report("stdin", inject, counter.summary(), memory.mb, time.monotonic() - start)


def publisher(port: int):
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.acked = 0
    client.interrupted = threading.Event()
    client.reconnect_delay_set(0.1, 1.0)
    client.on_disconnect = lambda c, userdata, flags, reason, properties=None: c.interrupted.set()

    def on_publish(c, userdata, mid, reason, properties=None):
        c.acked += 1

    client.on_publish = on_publish
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def run_mqtt(detector: Path, sensors: list[str], budget: tuple[float, int], args: argparse.Namespace,
             folder: Path) -> None:
    if mosquitto_binary() is None:
        print("mqtt: skipped (no mosquitto binary)")
        return
    seconds, samples = budget
    broker = Broker(folder)
    broker.start()
    proc = monitor(detector, "--mqtt", f"127.0.0.1:{broker.port}", "--topic", "stress/in", "--every-sample",
                   stderr=subprocess.PIPE)
    memory = PeakMemory(proc.pid)
    counter = Counter(proc.stdout)
    log = wait_for_line(proc.stderr, "subscribed to")  # from then on its session holds every message
    pub = publisher(broker.port)
    inject = Injector(sensors, "json", args.malformed_every, args.duplicate_every)
    start = time.monotonic()
    restarts = [1 / 3, 2 / 3]  # fractions of the budget (time or samples, whichever is further)
    sent_messages = repeats = t = 0
    while t < samples and time.monotonic() - start < seconds:
        n = min(100, samples - t)
        payload = "\n".join(inject.lines(t, synthetic(n, len(sensors), start=t)))
        t += n
        # a publisher resending a whole message (one without a malformed line: a copy the broker flags
        # as a redelivery is dropped whole, so its malformed line would count as a duplicate)
        copies = 2 if sent_messages % 50 >= 49 and "{not json" not in payload else 1
        if pub.interrupted.is_set() or not pub.is_connected():
            # after a reconnect paho sends new messages before resending the unacknowledged ones,
            # which would reorder the stream: let it catch up first
            while pub.acked < sent_messages or not pub.is_connected():
                time.sleep(0.01)
            pub.interrupted.clear()
        for _ in range(copies):
            pub.publish("stress/in", payload, qos=1)
            sent_messages += 1
        if copies == 2:
            repeats += 1
            inject.duplicates += payload.count("\n") + 1
        while sent_messages - pub.acked > 1000:  # bounded memory in the publisher
            time.sleep(0.005)
        if restarts and max((time.monotonic() - start) / seconds, t / samples) > restarts[0]:
            restarts.pop(0)
            broker.restart()
    # every sample but the last window's is scored before the stop (which scores those)
    deadline = time.monotonic() + args.drain
    hold = held_back(detector, len(sensors))
    while counter.samples < inject.sent - hold and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    proc.wait(120)
    memory.thread.join(5)
    pub.loop_stop()
    pub.disconnect()
    broker.stop()
    summary = counter.summary()
    report("mqtt", inject, summary, memory.mb, time.monotonic() - start)
    reconnects = sum("reconnected to" in line for line in log)
    print(f"       {sent_messages:,} messages ({repeats:,} published twice), {2 - len(restarts)} broker restarts "
          f"(SIGTERM), {reconnects} monitor reconnects; lines with 'not scored' or 'no session': "
          f"{sum('not scored' in line or 'no session' in line for line in log)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="time budget for both phases")
    parser.add_argument("--samples", type=int, default=5_000_000, help="sample budget for both phases")
    parser.add_argument("--sensors", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=2000, help="rows per stdin write")
    parser.add_argument("--malformed-every", type=int, default=997)
    parser.add_argument("--duplicate-every", type=int, default=1009)
    parser.add_argument("--drain", type=float, default=600.0,
                        help="seconds the mqtt phase waits, after publishing, for the monitor to catch up")
    parser.add_argument("--no-mqtt", action="store_true")
    parser.add_argument("--no-stdin", action="store_true")
    args = parser.parse_args()
    sensors = [f"s{i}" for i in range(args.sensors)]
    budget = (args.seconds / 2, args.samples // 2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        detector = make_detector(folder, args.sensors)
        print(f"budget per phase: {budget[0]:.0f} s or {budget[1]:,} samples; {args.sensors} sensors", flush=True)
        if not args.no_stdin:
            run_stdin(detector, sensors, budget, args)
        if not args.no_mqtt:
            run_mqtt(detector, sensors, budget, args, folder)


if __name__ == "__main__":
    main()
