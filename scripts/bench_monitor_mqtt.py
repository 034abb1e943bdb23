"""Benchmark ``tsae monitor --mqtt --topic-tags _/host/_ --group-by host``: many devices, one topic level each.

A real mosquitto on loopback (the MQTT tests' broker), line protocol of 4 sensors (``m s0=..,s1=.. <ns>``, no tags:
the topic ``plant/dN/data`` names the device), one row a message, the devices round robin, QoS 1. Two runs per tree
and device count:

- backlog: the monitor's persistent session is made, the monitor stopped, ``--rows`` rows of every device published,
  the monitor started again: it takes the backlog as fast as it can. Messages a second from its subscription to its
  last record (stdout quiet for ``--quiet-s``; then SIGTERM and its flush); the records of every device compared
  between the trees (``identical``, ``<=1e-12``, ``DIFFER``);
- sparse (once per tree): ``--sparse-devices`` devices, ``--sparse-rate`` messages a second (round robin), the monitor
  running (``--every-sample``): for each sample record, the seconds since the last message of its device was
  published (the message that let it out): p50 / p95. Batching must add nothing here.

With ``--old DIR`` (``git archive main tsae | tar -x -C DIR``) the same runs with ``PYTHONPATH=DIR`` alternate with
this tree's. On a shared machine these end-to-end rates vary by 2x from run to run: ``--in-process`` measures the
scoring alone instead (no broker, no process), :class:`~tsae.pipelines.anomaly.devices.DeviceMonitors` fed the same
messages one a push (as the old tree did with interleaved topics), ``--batch`` at a time (what came together, this
tree), and ``--batch`` at a time with each device's messages joined into one push (fewer pushes, but early alarms and
the order of a device's records then depend on where its stream was cut, as for stdin's blocks: not done), best of
``--repeat``, alternating.

Usage::

    python scripts/bench_monitor_mqtt.py [--devices 10,50] [--rows 300] [--old DIR] [--repeat 2] [--sparse-rate 20]
                                        [--sparse-rows 60] [--window 32]
    python scripts/bench_monitor_mqtt.py --in-process [--devices 10,50] [--rows 200] [--batch 150] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fixtures"))
from bench_monitor import _compared, synthetic  # noqa: E402
from loopback_broker import Broker  # noqa: E402  (the MQTT tests' broker)
from stress_monitor import held_back  # noqa: E402

SENSORS = 4
TOPIC = "plant/+/data"


class Monitor:
    """``tsae monitor`` over MQTT with ``tree`` first on PYTHONPATH (None: this tree); stdout lines kept with the
    time each came, stderr watched for its subscription."""

    def __init__(self, tree: Path | None, detector: Path, port: int, client_id: str, *options: str) -> None:
        root = Path(__file__).resolve().parents[1] if tree is None else tree
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
        command = [sys.executable, "-m", "tsae", "monitor", "--detector", str(detector), "--format", "influx",
                   "--mqtt", f"127.0.0.1:{port}", "--topic", TOPIC, "--topic-tags", "_/host/_", "--group-by",
                   "host", "--client-id", client_id, "--every-sample", *options]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                        cwd=detector.parent)
        self.lines: list[tuple[float, str]] = []
        self.subscribed = threading.Event()
        self.subscribed_at = 0.0
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()
        if not self.subscribed.wait(120):
            self.process.kill()
            raise RuntimeError("the monitor did not subscribe")

    def _out(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.lines.append((time.perf_counter(), line))

    def _err(self) -> None:
        for line in self.process.stderr:  # type: ignore[union-attr]
            if "subscribed to" in line and not self.subscribed.is_set():
                self.subscribed_at = time.perf_counter()
                self.subscribed.set()

    def quiet_for(self, seconds: float, timeout: float = 600) -> float:
        """Wait until stdout has been quiet for ``seconds`` (after a first line); the time of its last line."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            time.sleep(0.1)
            if self.lines and time.perf_counter() - self.lines[-1][0] > seconds:
                return self.lines[-1][0]
        raise RuntimeError("the monitor did not go quiet")

    def stop(self) -> list[dict[str, Any]]:
        """SIGTERM; its records (less the summaries' ``seconds``)."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(120)
        time.sleep(0.2)
        records = [json.loads(line) for _, line in self.lines]
        for record in records:
            record.pop("seconds", None)
        return records


def publisher(port: int) -> Any:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def rows(devices: int, count: int) -> np.ndarray:
    return synthetic(2000 + count, SENSORS)[2000:]


def payload(x: np.ndarray, i: int, d: int) -> str:
    return "m " + ",".join(f"s{j}={x[i, j] + 1e-4 * d:.5f}" for j in range(SENSORS)) + f" {i * 10**9}"


def backlog(tree: Path | None, detector: Path, port: int, devices: int, count: int, quiet_s: float,
            tag: str) -> tuple[float, list[dict[str, Any]]]:
    """Messages a second of a backlog of ``count`` rows of each of ``devices``, and the records written."""
    client_id = f"bench-{tag}-{devices}-{time.monotonic_ns()}"
    Monitor(tree, detector, port, client_id).stop()  # the persistent session, kept by the broker
    x = rows(devices, count)
    client = publisher(port)
    infos = [client.publish(f"plant/d{d}/data", payload(x, i, d), qos=1) for i in range(count)
             for d in range(devices)]
    for info in infos:
        info.wait_for_publish(60)
    client.loop_stop()
    client.disconnect()
    monitor = Monitor(tree, detector, port, client_id)
    last = monitor.quiet_for(quiet_s)
    rate = devices * count / max(last - monitor.subscribed_at, 1e-9)
    return rate, monitor.stop()


def sparse(tree: Path | None, detector: Path, port: int, devices: int, count: int, rate: float,
           tag: str) -> list[float]:
    """Seconds from the publication of a device's message to each sample record it let out."""
    monitor = Monitor(tree, detector, port, f"bench-sparse-{tag}-{time.monotonic_ns()}", "--clean-session")
    x = rows(devices, count)
    client = publisher(port)
    sent: dict[str, list[float]] = {f"d{d}": [] for d in range(devices)}
    start = time.perf_counter()
    for k in range(count * devices):
        i, d = divmod(k, devices)
        time.sleep(max(0.0, start + k / rate - time.perf_counter()))
        sent[f"d{d}"].append(time.perf_counter())
        client.publish(f"plant/d{d}/data", payload(x, i, d), qos=1)
    time.sleep(2.0)
    client.loop_stop()
    client.disconnect()
    lines = list(monitor.lines)
    monitor.stop()
    delays = []
    for at, line in lines:
        record = json.loads(line)
        if record.get("type") != "sample":
            continue
        times = sent[record["tags"]["host"]]
        before = [t for t in times if t <= at]
        if before:
            delays.append(at - before[-1])
    return delays


def in_process(args: argparse.Namespace) -> None:
    """The ``--in-process`` runs (see the module docstring)."""
    from tsae.models.device import torch_threads
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.devices import DeviceMonitors
    from tsae.pipelines.anomaly.monitor import Monitor as StreamMonitor
    from tsae.pipelines.anomaly.monitor import RateLimitedLog

    det = Detector(window=args.window, epochs=1, device="cpu", max_train_windows=2000).fit(
        synthetic(2000, SENSORS).T, sensors=[f"s{i}" for i in range(SENSORS)])
    ways = {"one a push": (1, False), f"{args.batch} together": (args.batch, False),
            f"{args.batch}, joined": (args.batch, True)}

    def rate(messages: list[tuple[str, list[str]]], batch: int, joined: bool) -> float:
        devices = DeviceMonitors(StreamMonitor(det, every_sample=True, log=RateLimitedLog(quiet=True),
                                               fmt="influx"), ["host"], topic_tags="_/host/_")
        start = time.perf_counter()
        with torch_threads(1):
            for first in range(0, len(messages), batch):
                came = messages[first:first + batch]
                if joined:
                    parts: dict[str, list[str]] = {}
                    for topic, lines in came:
                        parts.setdefault(topic, []).extend(lines)
                    came = list(parts.items())
                devices.push_topics(came)
        return len(messages) / (time.perf_counter() - start)

    print(f"in process: DeviceMonitors.push_topics, {SENSORS} sensors, window {args.window}, one row a message, "
          f"devices round robin, one torch thread; messages/s, best of {args.repeat}")
    print(f"{'devices':>8s} " + " ".join(f"{name:>16s}" for name in ways))
    for count in [int(d) for d in args.devices.split(",")]:
        x = rows(count, args.rows)
        messages = [(f"plant/d{d}/data", [payload(x, i, d)]) for i in range(args.rows) for d in range(count)]
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            for name, (batch, joined) in ways.items():
                best[name] = max(best.get(name, 0.0), rate(messages, batch, joined))
        print(f"{count:8d} " + " ".join(f"{best[name]:16,.0f}" for name in ways), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="10,50", help="device counts")
    parser.add_argument("--rows", type=int, default=300, help="rows of each device in the backlog run")
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--old", help="a tree of the old tsae to compare")
    parser.add_argument("--repeat", type=int, default=1, help="backlog runs of each tree and device count (best kept)")
    parser.add_argument("--quiet-s", type=float, default=3.0, help="stdout quiet this long: the backlog is scored")
    parser.add_argument("--sparse-rate", type=float, default=20.0, help="messages a second in the sparse run")
    parser.add_argument("--sparse-rows", type=int, default=60, help="rows of each device in the sparse run")
    parser.add_argument("--sparse-devices", type=int, default=5, help="devices in the sparse run")
    parser.add_argument("--in-process", action="store_true", help="the scoring alone, in this process (see above)")
    parser.add_argument("--batch", type=int, default=150, help="--in-process: messages that came together")
    args = parser.parse_args(argv)
    if args.in_process:
        in_process(args)
        return 0
    trees: list[tuple[str, Path | None]] = [("this", None)]
    if args.old:
        trees.insert(0, ("old", Path(args.old)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        detector = folder / "det.tsae"
        np.save(folder / "train.npy", synthetic(2000, SENSORS))
        fit = ("import numpy as np, sys; from tsae.pipelines.anomaly.detector import Detector; "
               f"Detector(window={args.window}, epochs=1, device='cpu', max_train_windows=2000).fit("
               f"np.load(sys.argv[1]).T, sensors=[f's{{i}}' for i in range({SENSORS})]).save(sys.argv[2])")
        oldest = trees[0][1] or Path(__file__).resolve().parents[1]  # an older tree refuses a newer detector file
        subprocess.run([sys.executable, "-c", fit, str(folder / "train.npy"), str(detector)], check=True, cwd=folder,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(oldest)})
        hold = held_back(detector, SENSORS)
        if args.rows <= hold:  # no record before the stop: the wait for a quiet stdout never began (600 s, a traceback)
            print(f"--rows {args.rows}: the monitor writes a device's first record after {hold + 1} of its rows "
                  f"(window {args.window}); give more", file=sys.stderr)
            return 2
        broker = Broker(folder)
        broker.start()
        try:
            print(f"tsae monitor --mqtt --topic-tags _/host/_ --group-by host, {SENSORS} sensors, window "
                  f"{args.window}, one row a message, QoS 1, mosquitto on loopback")
            print(f"backlog of {args.rows} rows a device: messages/s from the subscription to the last record, best "
                  f"of {args.repeat}")
            print(f"{'devices':>8s} {'tree':>5s} {'messages/s':>11s}")
            for devices in [int(d) for d in args.devices.split(",")]:
                outputs: dict[str, list[Any]] = {}
                best: dict[str, float] = {}
                for _ in range(args.repeat):
                    for name, tree in trees:
                        rate, outputs[name] = backlog(tree, detector, broker.port, devices, args.rows, args.quiet_s,
                                                      name)
                        best[name] = max(best.get(name, 0.0), rate)
                for name in best:
                    print(f"{devices:8d} {name:>5s} {best[name]:11,.0f}", flush=True)
                if len(trees) > 1:
                    print(f"{'':8s} outputs of the backlog: {_compared(outputs)}", flush=True)
            print(f"sparse: {args.sparse_devices} devices, {args.sparse_rate:g} messages/s: publication to record")
            for name, tree in trees:
                delays = sparse(tree, detector, broker.port, args.sparse_devices, args.sparse_rows,
                                args.sparse_rate, name)
                p50, p95 = (np.percentile(delays, [50, 95]) * 1e3) if delays else (float("nan"),) * 2
                print(f"{name:>5s}: {len(delays)} records, p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)
        finally:
            broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
