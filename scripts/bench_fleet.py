"""Time ``tsae detect score --group-by host`` on a generated fleet table beside the same rows scored ungrouped.

The detector is fitted on ``data/pump_normal.csv`` (once, in the folder). Each device of the fleet table is a random
segment of ``data/pump_faulty.csv`` (its faults included) plus a little noise of its own; the devices' rows are
interleaved as a fleet exports them (``time,host,flow,...``). Then, as the user runs them (a subprocess: start-up,
reading and writing included):

- ``tsae detect score TABLE --group-by host`` (after; with ``--before DIR`` the tsae of that tree first, and whether
  its scores and events files are the same bytes);
- ``tsae detect score`` on the same rows without the device column, as one series: the lower bound (no device's
  fixed cost, the same arithmetic per row).

Printed: CPU s, wall s, the command's own peak memory (``VmHWM`` as it exits, see ``bench_smooth.py``), the ratio to
the ungrouped run and the fixed cost per device (the CPU over the ungrouped run, over the devices).

Usage: ``python scripts/bench_fleet.py [--cases 1000x2000,10000x200] [--seed 0] [--keep DIR] [--before DIR]``
"""
from __future__ import annotations

import argparse
import filecmp
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from bench_smooth import bench_folder, run_cli  # noqa: E402


def make_fleet(path: Path, flat: Path, devices: int, rows: int, seed: int) -> None:
    """A fleet table at ``path`` (``time,host,<sensors>``, rows interleaved) and its rows as one series at ``flat``."""
    rng = np.random.default_rng(seed)
    source = np.loadtxt(ROOT / "data" / "pump_faulty.csv", delimiter=",", skiprows=1)
    header = (ROOT / "data" / "pump_faulty.csv").read_text().split("\n", 1)[0].split(",")
    sensors = [name for name in header if name not in ("time", "label")]
    columns = [header.index(name) for name in sensors]
    values = source[:, columns]
    scale = values.std(axis=0) * 0.05
    parts = []
    for _ in range(devices):
        start = int(rng.integers(0, max(1, len(values) - rows)))
        part = values[start:start + rows]
        if len(part) < rows:  # a device longer than the sample: its segment repeated
            part = np.resize(values, (rows, len(columns)))
        parts.append(part + rng.normal(0, 1, part.shape) * scale)
    stacked = np.stack(parts)  # (devices, rows, sensors)
    with open(path, "w") as fleet, open(flat, "w") as one:
        fleet.write(",".join(["time", "host", *sensors]) + "\n")
        one.write(",".join(["time", *sensors]) + "\n")
        k = 0
        for t in range(rows):
            for d in range(devices):
                cells = ",".join(f"{v:.4f}" for v in stacked[d, t])
                fleet.write(f"{t},d{d},{cells}\n")
                one.write(f"{k},{cells}\n")
                k += 1


def same(a: Path, b: Path) -> bool:
    return a.exists() and b.exists() and filecmp.cmp(a, b, shallow=False)


def bench(devices: int, rows: int, folder: Path, detector: Path, seed: int, before: Path | None) -> None:
    table, flat = folder / f"fleet_{devices}x{rows}.csv", folder / f"flat_{devices}x{rows}.csv"
    if not table.exists():
        make_fleet(table, flat, devices, rows, seed)
    case = f"{devices} devices x {rows} rows"
    cpu_flat, wall_flat, peak_flat = run_cli(["detect", "score", str(flat), "--detector", str(detector),
                                              "-o", str(folder / f"flat_scores_{devices}x{rows}.csv"), "-q"])
    print(f"{case}: ungrouped {cpu_flat:.1f} s CPU, {wall_flat:.1f} s wall, {peak_flat:.0f} MB", flush=True)
    outputs = {}
    for label, root in ([("before", before)] if before else []) + [("after", ROOT)]:
        scores = folder / f"scores_{label}_{devices}x{rows}.csv"  # each case its own: --keep holds them all
        events = scores.with_suffix(".events.json")
        cpu, wall, peak = run_cli(["detect", "score", str(table), "--group-by", "host", "--detector", str(detector),
                                   "-o", str(scores), "-q"], root)
        outputs[label] = (scores, events)
        per_device = (cpu - cpu_flat) / devices * 1000
        print(f"{case}: grouped {label} {cpu:.1f} s CPU, {wall:.1f} s wall, {peak:.0f} MB; x{cpu / cpu_flat:.2f} the "
              f"ungrouped CPU, {per_device:.1f} ms a device over it", flush=True)
    if before:
        identical = all(same(a, b) for a, b in zip(outputs["before"], outputs["after"], strict=True))
        print(f"{case}: scores and events the same bytes before and after: {identical}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="1000x2000,10000x200", help="DEVICESxROWS, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the files (default: a temporary one)")
    parser.add_argument("--before", type=Path, default=None,
                        help="another tsae tree (e.g. a git archive of main's tsae) timed in the same run")
    args = parser.parse_args()
    with bench_folder(args.keep) as folder:
        detector = folder / "pump.tsae"
        if not detector.exists():
            run_cli(["detect", "fit", str(ROOT / "data" / "pump_normal.csv"), "-o", str(detector), "-q"])
        for case in args.cases.split(","):
            devices, rows = (int(x) for x in case.lower().split("x"))
            bench(devices, rows, folder, detector, args.seed, args.before)


if __name__ == "__main__":
    main()
