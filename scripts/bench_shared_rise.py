"""Benchmark what the shared rise costs :meth:`Detector.decision_function`: the same fitted detector scored with
``shared_rise`` 1 (no discount) and as fitted (1.15 by default), one CPU thread.

A 4-sensor detector (sines of period 32, random phases, 5% noise) learns from 5,000 rows and scores ``--rows``
rows of the same process. With ``--old DIR`` (a tree made by ``git archive main tsae | tar -x -C DIR``) each
scoring runs in a subprocess with ``PYTHONPATH=DIR`` alternating with this tree's (best of ``--repeat``), the
detector fitted by the old tree (an older tsae refuses a newer detector file), and the scores of the trees are
compared (max abs difference). Timed by the scoring process's CPU time: on a machine shared with other jobs the wall
clock swung by 20% between runs of the same tree.

Usage::

    python scripts/bench_shared_rise.py [--rows 200000] [--repeat 3] [--old DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SENSORS = 4
FIT = ("import numpy as np, sys; from tsae.pipelines.anomaly.detector import Detector; "
       "Detector(window=32, epochs=1, device='cpu', max_train_windows=2000).fit("
       "np.load(sys.argv[1]).T, sensors=[f's{i}' for i in range(4)]).save(sys.argv[2])")
SCORE = ("import time, numpy as np, sys; from tsae.pipelines.anomaly.detector import Detector; "
         "det = Detector.load(sys.argv[1], device='cpu'); x = np.load(sys.argv[2]).T; "
         "det.state_.shared_rise = float(sys.argv[3]) if sys.argv[3] != 'fitted' else det.state_.shared_rise; "
         "det.decision_function(x[:, :5000]); t = time.process_time(); s = det.decision_function(x); "
         "print(time.process_time() - t); np.save(sys.argv[4], s)")


def synthetic(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=SENSORS)[None, :]
    return np.sin(2 * np.pi * t / 32 + phase) + 0.05 * rng.normal(size=(n, SENSORS))


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(tree)}


def _score(tree: Path, det: Path, data: Path, rise: str, out: Path) -> float:
    done = subprocess.run([sys.executable, "-c", SCORE, str(det), str(data), rise, str(out)], check=True,
                          capture_output=True, text=True, env=_env(tree), cwd=det.parent)
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tree and setting (best kept)")
    parser.add_argument("--old", help="a tree of the old tsae to compare (git archive main tsae | tar -x -C DIR)")
    args = parser.parse_args(argv)
    trees = [("this", ROOT)] + ([("old", Path(args.old).resolve())] if args.old else [])
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        np.save(tmp / "train.npy", synthetic(5000))
        np.save(tmp / "test.npy", synthetic(5000 + args.rows, seed=1)[5000:])
        det = tmp / "det.tsae"
        subprocess.run([sys.executable, "-c", FIT, str(tmp / "train.npy"), str(det)], check=True, cwd=tmp,
                       env=_env(trees[-1][1]))
        best: dict[tuple[str, str], float] = {}
        for _ in range(args.repeat):
            for rise in ("1", "fitted"):
                for name, tree in trees:
                    took = _score(tree, det, tmp / "test.npy", rise, tmp / f"{name}_{rise}.npy")
                    best[name, rise] = min(best.get((name, rise), np.inf), took)
        print(f"decision_function of {args.rows:,} rows, {SENSORS} sensors, window 32, one CPU thread; CPU seconds, "
              f"best of {args.repeat}")
        print(f"{'tree':>6s} {'shared_rise=1':>14s} {'fitted':>8s} {'cost':>7s}")
        for name, _ in trees:
            plain, fitted = best[name, "1"], best[name, "fitted"]
            print(f"{name:>6s} {plain:14.3f} {fitted:8.3f} {fitted / plain - 1:+7.0%}")
        if args.old:
            for rise in ("1", "fitted"):
                a, b = np.load(tmp / f"this_{rise}.npy"), np.load(tmp / f"old_{rise}.npy")
                same = np.array_equal(a, b, equal_nan=True)
                diff = float(np.nanmax(np.abs(a - b))) if np.array_equal(np.isnan(a), np.isnan(b)) else np.inf
                print(f"scores this vs old, shared_rise {rise}: max abs diff {diff:.3g}"
                      f"{' (identical)' if same else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
