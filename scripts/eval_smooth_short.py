"""Sweep tsae.smooth over short series (5 to 127 samples): output error / input error per shape, size and noise.

Shapes: ``sine``, ``step``, ``ramp``, ``flat``, ``spike``, ``two_spikes``, ``step_spike`` (spikes of 3, the
truth's spread about 1), white Gaussian noise at 0.1 and 0.3, default options and ``--spikes smooth``. Each
cell is the mean over seeds of RMSE(output, truth) / RMSE(input, truth): above 1, smoothing made it worse.

The tsae imported is the one on ``PYTHONPATH``; ``--baseline DIR`` runs the same sweep with ``PYTHONPATH=DIR``
(another checkout) in a child process (or reads its answer, written by ``--json``) and prints both,
``baseline -> this``, marking a cell that is over 1 where the baseline was not (``!``) or more than 5 % worse
than a baseline of 1.5 or less (``*``).

Usage: ``PYTHONPATH=. python scripts/eval_smooth_short.py [--first-seed 100] [--seeds 8] [--sizes 5,7,...]
[--baseline DIR|FILE.json] [--json FILE] [--this FILE.json]``

Anything decided from this script is decided on ``--first-seed 100``; reported tables use seeds from 0.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

SIZES = (5, 7, 10, 15, 20, 30, 40, 60, 90, 127)
SHAPES = ("sine", "step", "ramp", "flat", "spike", "two_spikes", "step_spike")
LEVELS = (0.1, 0.3)
OPTIONS = ("auto", "smooth")  # the spikes choice
SPIKE = 3.0


def truth(shape: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """One clean series of ``shape`` and ``n`` samples."""
    t = np.arange(n, dtype=np.float64)
    if shape == "sine":
        return np.sin(2 * np.pi * t / rng.uniform(10, 40) + rng.uniform(0, 2 * np.pi))
    if shape == "ramp":
        return rng.uniform(1, 2) * t / n
    out = np.zeros(n)
    if shape in ("step", "step_spike"):
        out[int(rng.integers(n // 3, max(n // 3 + 1, 2 * n // 3))):] = 1.0
    if shape in ("spike", "step_spike"):
        out[int(rng.integers(1, n - 1))] += SPIKE * rng.choice([-1, 1])
    if shape == "two_spikes":
        first = int(rng.integers(1, n - 3))
        out[first] += SPIKE
        out[int(rng.integers(first + 2, n - 1))] -= SPIKE
    return out


def sweep(first_seed: int, seeds: int, sizes: tuple[int, ...] = SIZES) -> dict[str, float]:
    """Each cell's mean error ratio, keyed ``n/shape/noise/spikes``."""
    import tsae

    cells = {}
    for n in sizes:
        for shape in SHAPES:
            for level in LEVELS:
                ratios: dict[str, list[float]] = {o: [] for o in OPTIONS}
                for seed in range(first_seed, first_seed + seeds):
                    rng = np.random.default_rng([seed, n, SHAPES.index(shape), int(level * 10)])
                    clean = truth(shape, n, rng)
                    noisy = clean + level * rng.normal(size=n)
                    before = np.sqrt(np.mean((noisy - clean) ** 2))
                    for option in OPTIONS:
                        out = tsae.smooth(noisy, spikes=option)
                        ratios[option].append(float(np.sqrt(np.mean((out - clean) ** 2)) / before))
                for option in OPTIONS:
                    cells[f"{n}/{shape}/{level}/{option}"] = float(np.mean(ratios[option]))
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--baseline", help="another checkout to compare with (run with PYTHONPATH=it)")
    parser.add_argument("--json", help="write the cells to this file instead of the table")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="series lengths, comma-separated")
    parser.add_argument("--this", help="this run's cells, read from a file --json wrote, instead of a sweep")
    args = parser.parse_args()
    sizes = tuple(int(v) for v in args.sizes.split(","))
    if args.this:
        with open(args.this) as f:
            ours = json.load(f)
    else:
        ours = sweep(args.first_seed, args.seeds, sizes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(ours, f)
        return
    base = None
    if args.baseline and args.baseline.endswith(".json"):  # a baseline's answer kept from before (--json)
        with open(args.baseline) as f:
            base = json.load(f)
    elif args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "baseline.json")
            env = {**os.environ, "PYTHONPATH": os.path.abspath(args.baseline)}
            subprocess.run([sys.executable, __file__, "--first-seed", str(args.first_seed), "--seeds", str(args.seeds),
                            "--sizes", args.sizes,
                            "--json", path], env=env, check=True)
            with open(path) as f:
                base = json.load(f)
    heads = [f"{level}/{option}" for level in LEVELS for option in OPTIONS]
    print(f"{'n':>4} {'shape':<11}" + "".join(f"{h:>18}" for h in heads))
    marks = 0
    for n in sizes:
        for shape in SHAPES:
            row = f"{n:>4} {shape:<11}"
            for h in heads:
                key = f"{n}/{shape}/{h}"
                if base is None:
                    row += f"{ours[key]:>18.2f}"
                    continue
                b, o = base[key], ours[key]
                mark = "!" if o > 1.0 >= b else "*" if o > 1.05 * b and b <= 1.5 else " "
                marks += mark != " "
                row += f"{b:>9.2f} ->{o:>5.2f}{mark}"
            print(row)
    if base is not None:
        for option in OPTIONS:
            for level in LEVELS:
                keys = [k for k in ours if k.endswith(f"/{level}/{option}") and int(k.split("/")[0]) in sizes]
                print(f"geometric mean {level}/{option}: {np.exp(np.mean([np.log(base[k]) for k in keys])):.3f} -> "
                      f"{np.exp(np.mean([np.log(ours[k]) for k in keys])):.3f}")
        print(f"cells marked: {marks}")


if __name__ == "__main__":
    main()
