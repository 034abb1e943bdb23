"""Start-up time of the ``tsae`` command beside what any torch program pays, in one run.

Times (wall clock, best and median of ``--repeats`` runs, commands taken in turns so that
load from other processes hits them alike):

- ``tsae --help``, ``tsae plugins``, ``tsae models``: goal well under 0.5 s each;
  the first two import neither torch nor numpy (built-in families are registered by
  name, :class:`tsae.plugins.LazyFamily`), ``tsae models`` imports the families to
  describe their parameters;
- ``tsae denoise data/noisy_speech.wav`` (a real command: torch, numba, the model, the work),
  written to a temporary folder;
- anchors: ``python -c "import torch"`` (the floor of any command that imports torch)
  and ``pytest --version`` (a plugin-based CLI).

The ratio column is the command's best time over ``import torch``'s (< 1: it starts
faster than importing torch alone).

Usage::

    python scripts/bench_startup.py [--repeats 5] [--skip-denoise]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(out_dir: Path, denoise: bool) -> dict[str, list[str]]:
    """Label -> argv of every timed command."""
    tsae = [sys.executable, "-m", "tsae"]
    found = {
        "tsae --help": [*tsae, "--help"],
        "tsae plugins": [*tsae, "plugins"],
        "tsae models": [*tsae, "models"],
    }
    if denoise:
        found["tsae denoise data/noisy_speech.wav"] = [*tsae, "denoise", str(ROOT / "data" / "noisy_speech.wav"),
                                                       "-o", str(out_dir / "out.wav"), "-q"]
    found['python -c "import torch"'] = [sys.executable, "-c", "import torch"]
    found["pytest --version"] = [sys.executable, "-m", "pytest", "--version"]
    return found


def run_once(argv: list[str], out_dir: Path) -> float:
    """Wall time of one run; the denoise output is removed so it never meets an existing file."""
    for leftover in out_dir.iterdir():
        leftover.unlink()
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (after one warm-up run)")
    parser.add_argument("--skip-denoise", action="store_true", help="leave out tsae denoise")
    args = parser.parse_args()
    out_dir = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    try:
        todo = commands(out_dir, not args.skip_denoise)
        times: dict[str, list[float]] = {label: [] for label in todo}
        for argv in todo.values():  # warm-up: page cache, numba cache, .pyc files
            run_once(argv, out_dir)
        for _ in range(args.repeats):
            for label, argv in todo.items():
                times[label].append(run_once(argv, out_dir))
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    torch_best = min(times['python -c "import torch"'])
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}, {args.repeats} runs each")
    width = max(len(label) for label in times)
    print(f"{'command':<{width}}  {'best s':>7}  {'median s':>8}  {'/ import torch':>14}  goal")
    for label, values in times.items():
        goal = "< 0.5 s" if label in ("tsae --help", "tsae plugins", "tsae models") else ""
        met = ("met" if min(values) < 0.5 else "missed") if goal else ""
        print(f"{label:<{width}}  {min(values):>7.3f}  {statistics.median(values):>8.3f}  "
              f"{min(values) / torch_best:>14.2f}  {goal} {met}".rstrip())


if __name__ == "__main__":
    main()
