"""Benchmark the streaming monitor: throughput and per-sample latency for 1, 8 and 100 sensors.

What is counted: a *sample* is one row (one time step), whatever the number of sensors;
"values/s" multiplies by the sensors.

- core, blocks: :meth:`Monitor.push` fed blocks of ``--block`` rows already parsed
  (numpy), one torch thread: the in-process scoring throughput;
- core, 1 row: the same fed one row at a time; the latency of each push is timed
  (p50 / p99 / max; the pushes that complete a window run the model);
- batch (anchor): ``Detector.decision_function`` on the whole array at once (same
  scores; the ceiling a streaming core can approach);
- stdin: ``tsae monitor`` as a subprocess reading CSV lines from a pipe, end to end
  (parsing and JSON output included), timed by the monitor's own summary (which
  starts when the monitor is ready, so the process start-up is excluded);
- stdin, line protocol: the same rows as InfluxDB line protocol (``m s0=...,s1=... <ns>``, what Telegraf
  sends), the same way.

Many devices (``--devices 1,10,50,500``): ``tsae monitor --format influx --group-by host`` reading line protocol of
that many devices interleaved round robin (``m,host=dN s0=..,s1=.. <ns>``, 4 sensors each, the same total of samples
for every count), timed by the monitor's own summary; with ``--old DIR`` (a tree made by
``git archive main tsae | tar -x -C DIR``) the same runs with ``PYTHONPATH=DIR`` alternate with this tree's, best
of ``--repeat``, and their outputs (less the summaries' ``seconds``) are compared. On a machine shared with other
jobs the monitor's clock (wall time) swings by tens of percent from run to run: each tree's runs are also timed by
the CPU time of one process (``run_monitor`` in-process after a warm-up run, start-up excluded), best of
``--cpu-repeat``, and the table gives samples per CPU second too. A last row streams 2x
``--evict-cap`` devices round robin over ``--max-devices`` of that cap (every line drops a device): lines a second
and the records written.

New devices (``--new-devices 1000,10000,100000``): the cost of a device the monitor has not seen, where a fleet's
devices come and go: line protocol of that many devices, ``--lines-each`` lines each (round robin), through
``run_monitor --group-by host`` in-process under each ``--max-devices`` of ``--caps`` (1: every new device drops
the last; eviction at every line). Each tree (this one, and ``--old DIR``, alias ``--before DIR``) runs in a process
of its own, after a warm-up stream; the table gives its CPU seconds (start-up excluded), ms of CPU per device,
devices per CPU second, the process's peak RSS and whether its records are those of the first tree (less the
summaries' ``seconds``).

Usage::

    python scripts/bench_monitor.py [--rows 200000] [--block 1000] [--window 32] [--no-stdin] [--stdin-rows 100000]
                                   [--latency-rows 20000] [--sensors 1,8,100] [--evict-lines 20000]
    python scripts/bench_monitor.py --devices 1,10,50,500 [--old DIR] [--device-samples 40000]
    python scripts/bench_monitor.py --new-devices 1000,10000 [--lines-each 1] [--caps 1,1000] [--before DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def synthetic(n: int, sensors: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=sensors)[None, :]
    return np.sin(2 * np.pi * t / 32 + phase) + 0.05 * rng.normal(size=(n, sensors))


def bench_sensors(sensors: int, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    from tsae.models.device import torch_threads
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.monitor import Monitor

    det = Detector(window=args.window, epochs=1, device="cpu", max_train_windows=2000).fit(
        synthetic(2000, sensors).T, sensors=[f"s{i}" for i in range(sensors)])
    rows = max(args.block * 10, args.rows // max(1, sensors // 8))  # fewer rows for wide data
    x = synthetic(rows, sensors, seed=1).T  # (sensors, rows)
    out: dict[str, float] = {"sensors": sensors, "window": det.window_, "hop": det.hop_, "rows": rows}
    with torch_threads(1):
        # throughput, blocks
        mon = Monitor(det)
        mon.push(x[:, : args.block])  # warm-up
        mon = Monitor(det)
        start = time.perf_counter()
        for i in range(0, rows, args.block):
            mon.push(x[:, i: i + args.block])
        mon.flush()
        out["block_rate"] = rows / (time.perf_counter() - start)
        # latency, one row at a time
        mon = Monitor(det)
        n_lat = min(rows, args.latency_rows)
        times = np.empty(n_lat)
        for i in range(n_lat):
            t0 = time.perf_counter()
            mon.push(x[:, i: i + 1])
            times[i] = time.perf_counter() - t0
        steady = times[det.window_:]
        out["row_rate"] = len(steady) / steady.sum()
        out["p50_us"] = float(np.percentile(steady, 50) * 1e6)
        out["p99_us"] = float(np.percentile(steady, 99) * 1e6)
        out["max_us"] = float(steady.max() * 1e6)
        # anchor: batch scoring of the same rows
        start = time.perf_counter()
        det.decision_function(x)
        out["batch_rate"] = rows / (time.perf_counter() - start)
    if args.stdin:
        path = tmp / f"det{sensors}.tsae"
        det.save(path)
        n_stdin = min(rows, args.stdin_rows)
        rows_in = x[:, :n_stdin].T
        header = "time," + ",".join(det.sensors_) + "\n"
        body = "".join(f"{i}," + ",".join(f"{v:.5f}" for v in row) + "\n" for i, row in enumerate(rows_in))
        out["stdin_rate"] = _monitor_rate(path, header + body)
        fields = (",".join(f"{name}={v:.5f}" for name, v in zip(det.sensors_, row, strict=True)) for row in rows_in)
        lines = "".join(f"m {cells} {i * 10**9}\n" for i, cells in enumerate(fields))
        out["stdin_lp_rate"] = _monitor_rate(path, lines, "--format", "influx")
    return out


def _monitor_rate(detector: Path, text: str, *options: str) -> float:
    """Samples a second of ``tsae monitor`` reading ``text`` from a pipe, by the monitor's own clock (no start-up)."""
    command = [sys.executable, "-m", "tsae", "monitor", "--detector", str(detector), "-q", *options]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, input=text, capture_output=True, text=True, check=True, env=env)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return summary["samples"] / max(summary["seconds"], 1e-9)


def device_lines(devices: int, samples: int, sensors: int) -> str:
    """Line protocol of ``devices`` devices interleaved round robin, ``samples`` in all (at least 200 each)."""
    per = max(200, samples // devices)
    x = synthetic(2000 + per, sensors)[2000:]  # past the training rows, same phases: normal data
    out = []
    for i in range(per):
        for d in range(devices):
            cells = ",".join(f"s{j}={x[i, j] + 1e-4 * d:.5f}" for j in range(sensors))
            out.append(f"m,host=d{d} {cells} {i * 10**9}\n")
    return "".join(out)


def _device_run(tree: Path | None, detector: Path, text: str, *options: str) -> tuple[float, list[Any], float]:
    """``tsae monitor --group-by host`` of ``text`` with ``tree`` first on PYTHONPATH (None: this tree): samples a
    second by its summary, its records (less the summaries' ``seconds``) and the wall seconds."""
    root = Path(__file__).resolve().parents[1] if tree is None else tree
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "tsae", "monitor", "--detector", str(detector), "-q", "--format", "influx",
               "--group-by", "host", *options]
    start = time.perf_counter()
    # run from the detector's folder: `python -m` puts the current folder first on the path, before PYTHONPATH
    done = subprocess.run(command, input=text, capture_output=True, text=True, check=True, env=env,
                          cwd=detector.parent)
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in done.stdout.splitlines()]
    rate = records[-1]["samples"] / max(records[-1]["seconds"], 1e-9)
    for record in records:
        record.pop("seconds", None)
    return rate, records, wall


_CPU_RUN = """
import io, sys, time
from tsae.pipelines.anomaly.monitor import run_monitor
text = open(sys.argv[2]).read()
def once():
    start = time.process_time()
    run_monitor(sys.argv[1], stdin=io.StringIO(text), stdout=io.StringIO(), stderr=io.StringIO(), fmt="influx",
                quiet=True, group_by=["host"], max_devices=int(sys.argv[4]))
    return time.process_time() - start
once()
print(min(once() for _ in range(int(sys.argv[3]))))
"""


def _device_cpu(tree: Path | None, detector: Path, text: Path, repeat: int, max_devices: int) -> float:
    """CPU seconds of the quickest of ``repeat`` in-process runs of ``tsae monitor --group-by host`` on ``text``
    with ``tree`` first on PYTHONPATH (None: this tree), after one warm-up run."""
    root = Path(__file__).resolve().parents[1] if tree is None else tree
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", _CPU_RUN, str(detector), str(text), str(repeat), str(max_devices)],
                          capture_output=True, text=True, check=True, env=env, cwd=detector.parent)
    return float(done.stdout.strip().splitlines()[-1])


def _close(a: Any, b: Any) -> bool:
    """Records equal, their numbers to 1e-12 (a network call's batch, and where a pipe cut the blocks, may change
    the last bit of a score)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_close, a, b))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b)) or a == b
    return type(a) is type(b) and a == b


def _per_device(records: list[Any], keys: set[str]) -> dict[str, list[Any]]:
    """Each device's records in order, and the stream's summary (its ``keys`` only) under ``""``: devices end in the
    order they were last seen, which depends on where the blocks of the input were cut."""
    out: dict[str, list[Any]] = {"": [{k: v for k, v in records[-1].items() if k in keys}]}
    for record in records[:-1]:
        out.setdefault(json.dumps(record.get("tags"), sort_keys=True), []).append(record)
    return out


def _compared(outputs: dict[str, list[Any]]) -> str:
    """Whether every tree wrote the same records for each device (and the same stream summary, the keys they share):
    ``identical``, ``<=1e-12`` or ``DIFFER``."""
    keys = set.intersection(*(set(records[-1]) for records in outputs.values()))
    first, *others = (_per_device(records, keys) for records in outputs.values())
    if all(other == first for other in others):
        return "identical"
    return "<=1e-12" if all(_close(first, other) for other in others) else "DIFFER"


def bench_devices(args: argparse.Namespace, tmp: Path) -> None:
    """The many-devices runs (see the module docstring)."""
    from tsae.pipelines.anomaly.detector import Detector

    sensors = 4
    path = tmp / "det.tsae"
    trees: list[tuple[str, Path | None]] = [("this", None)]
    if args.old:
        trees.insert(0, ("old", Path(args.old)))
        # fitted by the old tree: this tree reads an older detector file, an older tree refuses a newer one
        np.save(tmp / "train.npy", synthetic(2000, sensors))
        fit = ("import numpy as np, sys; from tsae.pipelines.anomaly.detector import Detector; "
               f"Detector(window={args.window}, epochs=1, device='cpu', max_train_windows=2000).fit("
               f"np.load(sys.argv[1]).T, sensors=[f's{{i}}' for i in range({sensors})]).save(sys.argv[2])")
        subprocess.run([sys.executable, "-c", fit, str(tmp / "train.npy"), str(path)], check=True, cwd=tmp,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(args.old)})
    else:
        Detector(window=args.window, epochs=1, device="cpu", max_train_windows=2000).fit(
            synthetic(2000, sensors).T, sensors=[f"s{i}" for i in range(sensors)]).save(path)
    det = Detector.load(path, device="cpu")
    names = [name for name, _ in trees]
    rows = []
    for devices in [int(d) for d in args.devices.split(",")]:
        text = device_lines(devices, args.device_samples, sensors)
        best: dict[str, float] = {}
        outputs: dict[str, list[Any]] = {}
        for _ in range(args.repeat):
            for name, tree in trees:
                rate, outputs[name], _ = _device_run(tree, path, text, "--max-devices", str(max(1000, devices)))
                best[name] = max(best.get(name, 0.0), rate)
        same = _compared(outputs)
        (tmp / "lines.txt").write_text(text)
        cpu = {name: text.count("\n") / _device_cpu(tree, path, tmp / "lines.txt", args.cpu_repeat,
                                                     max(1000, devices)) for name, tree in trees}
        rows.append((devices, text.count("\n"), best, same, cpu))
        print(f"  done: {devices} device(s)", file=sys.stderr, flush=True)
    cap = args.evict_cap
    text = device_lines(2 * cap, args.evict_lines, sensors)
    evict = {name: _device_run(tree, path, text, "--max-devices", str(cap)) for name, tree in trees}
    print(f"\ntsae monitor --group-by host, line protocol of {sensors} sensors a device, window {det.window_}, "
          f"one CPU thread; samples/s by the monitor's own clock, best of {args.repeat}")
    header = f"{'devices':>8s} {'samples':>8s} " + " ".join(f"{name + ' samples/s':>16s}" for name in names)
    header += " " + " ".join(f"{name + ' per CPU s':>16s}" for name in names)
    print(header + (f" {'ratio':>6s} {'CPU ratio':>9s} {'outputs':>9s}" if len(names) > 1 else ""))
    for devices, samples, best, same, cpu in rows:
        ratio = f" {best['this'] / best['old']:6.2f} {cpu['this'] / cpu['old']:9.2f} {same:>9s}" if len(names) > 1 \
            else ""
        print(f"{devices:8d} {samples:8d} " + " ".join(f"{best[name]:16,.0f}" for name in names) + " " +
              " ".join(f"{cpu[name]:16,.0f}" for name in names) + ratio)
    lines = text.count("\n")
    print(f"\n{2 * cap} devices round robin over --max-devices {cap}, {lines} lines (wall clock, start-up included):")
    for name in names:
        _, written, wall = evict[name]
        print(f"  {name}: {lines / wall:,.0f} lines/s, {len(written):,} records written")


_NEW_RUN = """
import io, resource, sys, time
from tsae.pipelines.anomaly.monitor import run_monitor
detector, text, cap, out = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3]), sys.argv[4]
warm = "".join(f"m,host=w{k} s0={i % 7},s1=2,s2=3,s3=4 {1709251200 + i}000000000\\n" for i in range(80)
               for k in range(5))  # windows filled: the network and kernels warmed up
run_monitor(detector, stdin=io.StringIO(warm), stdout=io.StringIO(), stderr=io.StringIO(), fmt="influx", quiet=True,
            group_by=["host"], max_devices=cap)
written = io.StringIO()
start = time.process_time()
run_monitor(detector, stdin=io.StringIO(text), stdout=written, stderr=io.StringIO(), fmt="influx", quiet=True,
            group_by=["host"], max_devices=cap)
cpu = time.process_time() - start
open(out, "w").write(written.getvalue())
print(cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def fleet_lines(devices: int, each: int, sensors: int = 4) -> str:
    """Line protocol of ``devices`` devices, ``each`` lines each, round robin, 10 s apart (dates in ns)."""
    x = synthetic(2000 + each, sensors)[2000:]
    return "".join(f"m,host=d{d} " + ",".join(f"s{j}={x[i, j] + 1e-4 * (d % 1000):.5f}" for j in range(sensors))
                   + f" {(1_709_251_200 + 10 * i) * 10**9}\n" for i in range(each) for d in range(devices))


def bench_new_devices(args: argparse.Namespace, tmp: Path) -> None:
    """The new-devices runs (see the module docstring)."""
    path = _fitted_detector(args, tmp, 4)
    trees: list[tuple[str, Path | None]] = [("this", None)]
    if args.old:
        trees.insert(0, ("before", Path(args.old)))
    print(f"\nnew devices: tsae monitor --group-by host, line protocol, 4 sensors, window {args.window}, one CPU "
          "thread; CPU seconds of the stream (start-up excluded)")
    print(f"{'devices':>8s} {'lines':>5s} {'cap':>6s} {'tree':>6s} {'CPU s':>8s} {'ms/device':>9s} "
          f"{'devices/s':>9s} {'peak MB':>8s} {'records':>8s}")
    for devices in [int(d) for d in args.new_devices.split(",")]:
        (tmp / "fleet.txt").write_text(fleet_lines(devices, args.lines_each))
        for cap in [int(c) for c in args.caps.split(",")]:
            first = None
            for name, tree in trees:
                root = Path(__file__).resolve().parents[1] if tree is None else tree
                out = tmp / f"{name}.jsonl"
                done = subprocess.run([sys.executable, "-c", _NEW_RUN, str(path), str(tmp / "fleet.txt"), str(cap),
                                       str(out)], capture_output=True, text=True, check=True, cwd=tmp,
                                      env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)})
                cpu, peak = map(float, done.stdout.split()[-2:])
                records = [json.loads(line) for line in out.read_text().splitlines()]
                for record in records:
                    record.pop("seconds", None)
                first = records if first is None else first
                same = "same" if records == first else "DIFFER"
                print(f"{devices:8d} {args.lines_each:5d} {cap:6d} {name:>6s} {cpu:8.2f} {cpu / devices * 1e3:9.3f} "
                      f"{devices / cpu:9,.0f} {peak:8.0f} {same:>8s}", flush=True)


def _fitted_detector(args: argparse.Namespace, tmp: Path, sensors: int) -> Path:
    """A detector file of ``sensors`` sensors, fitted by the old tree where there is one (this tree reads an older
    detector file, an older tree refuses a newer one)."""
    path = tmp / "det.tsae"
    np.save(tmp / "train.npy", synthetic(2000, sensors))
    fit = ("import numpy as np, sys; from tsae.pipelines.anomaly.detector import Detector; "
           f"Detector(window={args.window}, epochs=1, device='cpu', max_train_windows=2000).fit("
           f"np.load(sys.argv[1]).T, sensors=[f's{{i}}' for i in range({sensors})]).save(sys.argv[2])")
    root = args.old or str(Path(__file__).resolve().parents[1])
    subprocess.run([sys.executable, "-c", fit, str(tmp / "train.npy"), str(path)], check=True, cwd=tmp,
                   env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": root})
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows for the throughput runs (1 and 8 sensors)")
    parser.add_argument("--block", type=int, default=1000, help="rows per push in the block runs")
    parser.add_argument("--latency-rows", type=int, default=20_000, help="rows pushed one at a time")
    parser.add_argument("--stdin-rows", type=int, default=100_000, help="rows piped through `tsae monitor`")
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--sensors", default="1,8,100")
    parser.add_argument("--no-stdin", dest="stdin", action="store_false")
    parser.add_argument("--devices", help="device counts for the --group-by runs (1,10,50,500): these runs only")
    parser.add_argument("--old", "--before", dest="old",
                        help="a tree of the old tsae (git archive main tsae | tar -x -C DIR) to compare")
    parser.add_argument("--new-devices", help="device counts for the new-devices runs (1000,10000): these runs only")
    parser.add_argument("--lines-each", type=int, default=1, help="lines of each device in the new-devices runs")
    parser.add_argument("--caps", default="1,1000", help="--max-devices of the new-devices runs")
    parser.add_argument("--device-samples", type=int, default=40_000, help="samples in all, whatever the devices")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each tree and device count (best kept)")
    parser.add_argument("--cpu-repeat", type=int, default=5, help="in-process runs timed by CPU time (best kept)")
    parser.add_argument("--evict-cap", type=int, default=100, help="--max-devices of the eviction run")
    parser.add_argument("--evict-lines", type=int, default=20_000, help="lines of the eviction run")
    args = parser.parse_args(argv)
    if args.new_devices:
        with tempfile.TemporaryDirectory() as tmp:
            bench_new_devices(args, Path(tmp))
        return 0
    if args.devices:
        with tempfile.TemporaryDirectory() as tmp:
            bench_devices(args, Path(tmp))
        return 0

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for sensors in [int(s) for s in args.sensors.split(",")]:
            results.append(bench_sensors(sensors, args, Path(tmp)))
            print(f"  done: {sensors} sensor(s)", file=sys.stderr, flush=True)
    print(f"\nStreaming monitor, one CPU thread; a sample = one row (all sensors); window {args.window}, "
          f"blocks of {args.block} rows")
    header = (f"{'sensors':>7s} {'hop':>4s} {'core blocks':>12s} {'batch':>12s} {'ratio':>6s} {'core 1-row':>11s} "
              f"{'p50 us':>8s} {'p99 us':>8s} {'max us':>8s} {'stdin':>10s} {'stdin lp':>10s}")
    print(header)
    print("-" * len(header))
    for r in results:
        stdin = " ".join(f"{r[key]:10,.0f}" if key in r else f"{'-':>10s}" for key in ("stdin_rate", "stdin_lp_rate"))
        print(f"{r['sensors']:7d} {r['hop']:4d} {r['block_rate']:12,.0f} {r['batch_rate']:12,.0f} "
              f"{r['block_rate'] / r['batch_rate']:6.2f} {r['row_rate']:11,.0f} {r['p50_us']:8.1f} "
              f"{r['p99_us']:8.1f} {r['max_us']:8.1f} {stdin}")
    print("\nrates in samples (rows) per second; ratio = streaming core / batch decision_function (anchor);")
    print("latency = time of one push of one row (p99 includes the pushes that run the model);")
    print("stdin = `tsae monitor` reading CSV lines from a pipe (parse + score + JSON out), timed by the")
    print("monitor itself from its first sample to its summary (process start-up excluded); stdin lp = the same")
    print("rows as InfluxDB line protocol (--format influx).")
    goal = results[0]
    if goal["sensors"] == 1:
        ok = goal["block_rate"] >= 100_000 and goal["p99_us"] < 1000
        print(f"goal (1 sensor >= 100,000 samples/s, p99 < 1 ms): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
