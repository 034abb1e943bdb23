#!/usr/bin/env python
"""Write the synthetic pump sample of data/ (seeded; no third-party data involved).

Four sensors of an imaginary pump sampled once a second, with a 60-sample duty cycle:
``flow`` and ``pressure`` follow the cycle, ``temperature`` lags it and drifts slowly,
``vibration`` is noisy around the motor speed. ``pump_normal.csv`` (4,000 rows) is
normal operation, to fit a detector on; ``pump_faulty.csv`` (2,000 rows) has three
labelled faults (``label`` column, 1 inside a fault):

- rows 600-659: bearing wear, vibration bursts on ``vibration``;
- rows 1100-1189: a partly closed valve, ``pressure`` up while ``flow`` keeps its cycle;
- rows 1600-1629: ``temperature`` sensor stuck at one value.

Usage::

    python scripts/make_sensor_sample.py [--out data]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

PERIOD = 60


def pump(n: int, rng: np.random.Generator, start: int = 0) -> np.ndarray:
    t = np.arange(start, start + n)
    phase = 2 * np.pi * t / PERIOD
    flow = 12 + 3 * np.sin(phase) + 0.15 * rng.normal(size=n)
    pressure = 2.5 + 0.6 * np.sin(phase + 0.4) + 0.04 * rng.normal(size=n)
    temperature = 41 + 0.8 * np.sin(phase - 1.2) + 0.3 * np.sin(2 * np.pi * t / 3000) + 0.05 * rng.normal(size=n)
    vibration = 0.8 + 0.1 * np.sin(2 * phase) + 0.05 * rng.normal(size=n)
    return np.c_[flow, pressure, temperature, vibration]


def write(path: Path, x: np.ndarray, labels: np.ndarray | None = None) -> None:
    header = "time,flow,pressure,temperature,vibration" + (",label" if labels is not None else "")
    lines = [header]
    for i, row in enumerate(x):
        cells = [f"{i}"] + [f"{v:.3f}" for v in row] + ([str(int(labels[i]))] if labels is not None else [])
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data",
                    help="folder for the two files (made if missing)")
    args = ap.parse_args(argv)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"{args.out}: cannot make the folder ({error.strerror})", file=sys.stderr)
        return 1
    rng = np.random.default_rng(0)
    write(args.out / "pump_normal.csv", pump(4000, rng))
    x = pump(2000, rng, start=4000)
    labels = np.zeros(len(x), dtype=int)
    bursts = rng.normal(size=60) * 0.35 * (rng.random(60) < 0.5)
    x[600:660, 3] += np.abs(bursts) + 0.15
    labels[600:660] = 1
    x[1100:1190, 1] += np.linspace(0.2, 0.9, 90)
    labels[1100:1190] = 1
    x[1600:1630, 2] = x[1600, 2]
    labels[1600:1630] = 1
    write(args.out / "pump_faulty.csv", x, labels)
    print(f"wrote {args.out / 'pump_normal.csv'} and {args.out / 'pump_faulty.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
