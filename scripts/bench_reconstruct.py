"""Throughput of batch reconstruction: 1 and 2 local workers and a 2-worker Dask LocalCluster, in one run.

Builds a conv1d model (untrained: inference cost does not depend on the weights) and
a folder of CSV series, then times ``tsae.pipelines.reconstruct.batch.reconstruct_files`` in each
mode into a fresh output folder. Wall time includes starting the local worker
processes (spawn + import torch) but not starting the Dask cluster (it is already
running when a user passes ``--dask``); each mode's start-up cost is also measured on
two tiny files. Checks that every mode wrote identical bytes. Prints files/s,
samples/s and the speed-up over one worker. On a shared machine the load average
printed with the table says how much of the 2 cores the benchmark really had.

Usage: ``python scripts/bench_reconstruct.py [--files 24] [--samples 20000] [--channels 2] [--window 128]``
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_data(folder: Path, files: int, samples: int, channels: int) -> int:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(files):
        n = samples + int(rng.integers(0, samples // 10))
        t = np.arange(n)
        cols = [np.sin(t / (9 + c + i % 5)) + 0.1 * rng.normal(size=n) for c in range(channels)]
        header = "time," + ",".join(f"ch{c}" for c in range(channels))
        body = np.column_stack([t * 0.01, *cols])
        np.savetxt(folder / f"series{i:03d}.csv", body, delimiter=",", header=header, comments="", fmt="%.6g")
        total += n
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--samples", type=int, default=20000, help="samples per file (+ up to 10 %%)")
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--window", type=int, default=128)
    args = parser.parse_args()

    import torch

    from tsae.models.modelfile import save_model
    from tsae.pipelines.reconstruct.batch import reconstruct_files
    from tsae.plugins import create_model

    with tempfile.TemporaryDirectory(prefix="tsae-bench-") as tmp:
        root = Path(tmp)
        torch.manual_seed(0)
        model = create_model("conv1d", args.channels, args.window)
        model_path = root / "model.tsae"
        save_model(model_path, model, frame={"window": args.window, "hop": args.window // 4, "window_fn": None})
        total = make_data(root / "in", args.files, args.samples, args.channels)
        make_data(root / "tiny", 2, 500, args.channels)
        inputs = [root / "in"]
        results = []

        def timed(label: str, **kwargs) -> None:
            out = root / label.replace(" ", "_")
            start = time.perf_counter()  # start-up: the same mode on two tiny files
            reconstruct_files(model_path, [root / "tiny"], root / (out.name + "_tiny"), device="cpu", quiet=True,
                              **kwargs)
            startup = time.perf_counter() - start
            start = time.perf_counter()
            res = reconstruct_files(model_path, inputs, out, device="cpu", quiet=True, **kwargs)
            wall = time.perf_counter() - start
            assert res.ok == args.files and not res.failed, res.summary()
            outputs = {p.name: p.read_bytes() for p in sorted(out.glob("series*.csv"))}
            results.append((label, wall, startup, outputs))

        timed("1 local worker", workers=1)
        timed("2 local workers", workers=2)
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            # warm imports, as a long-lived cluster is
            client.run(lambda: __import__("tsae.pipelines.reconstruct.batch"))
            timed("dask 2 workers", dask=client)

    base = results[0][1]
    reference = results[0][3]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n## Batch reconstruction: {args.files} CSV files, {total} samples x {args.channels} channels, "
          f"conv1d window {args.window} hop {args.window // 4}, CPU, {os.cpu_count()} cores "
          f"(load average {load:.1f} at the end)")
    head = (f"{'mode':<18}{'wall s':>8}{'files/s':>9}{'samples/s':>12}{'speed-up':>10}"
            f"{'start-up s':>12}{'identical':>11}")
    print(head)
    print("-" * len(head))
    for label, wall, startup, outputs in results:
        print(f"{label:<18}{wall:>8.2f}{args.files / wall:>9.2f}{total / wall:>12.0f}{base / wall:>10.2f}"
              f"{startup:>12.2f}{str(outputs == reference):>11}")
    print("speed-up = wall(1 local worker) / wall(mode); wall includes starting local worker processes.")
    print("start-up s = the same mode's wall time on two tiny files (process spawn, imports, model load), "
          "measured separately;")
    print("the Dask cluster is started (and warmed) before timing, as a user's cluster would be.")


if __name__ == "__main__":
    main()
