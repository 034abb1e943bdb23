"""Start-up cost of tsae commands on small inputs, in fresh processes, optionally beside an older tree.

Each command runs ``--repeats`` times (after one untimed warm-up that fills the numba cache
and writes ``.pyc`` files), commands and trees taken in turns so that load from other
processes hits them alike. Per command it prints the median wall time, the median CPU time
(user + system, of the process and its children: steadier than wall on a busy machine) and
the largest peak resident memory.

Commands (inputs made in a temporary folder; ``data/`` is the repository's sample folder):

- ``tsae --help`` and ``tsae plugins`` (import neither torch nor numpy);
- ``tsae compress`` of a 1000-row, 4-column CSV with missing cells, ``--max-error 1e-3``,
  no model (numba, no torch), and ``tsae decompress`` of its container;
- ``tsae smooth`` and ``tsae impute`` of that CSV (each learns a small network from it);
- ``tsae detect score`` of ``data/pump_faulty.csv`` with a detector fitted (untimed) on
  ``data/pump_normal.csv``;
- ``tsae denoise data/noisy_speech.wav``;
- anchor: ``python -c "import torch"``.

With ``--before DIR`` every command also runs with ``PYTHONPATH=DIR`` (an older ``tsae``
package, e.g. ``git archive 5347207 tsae | tar -x -C DIR``), and the outputs of the two
trees' last runs are compared byte for byte (``same`` / ``DIFFERS``; ``--help``: its text).
``PYTHONDONTWRITEBYTECODE`` is removed from the commands' environment: with it set, every
run compiles tsae's sources again (about 0.4 s), which no installed copy pays.

Usage::

    python scripts/bench_startup.py [--repeats 5] [--before DIR] [--only compress decompress]
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


@dataclass
class Run:
    """One finished run: wall and CPU seconds, peak resident memory in MB, and its stdout."""

    wall: float
    cpu: float
    peak_mb: float
    stdout: bytes


@dataclass
class Tree:
    """A tsae source tree under test: its label, the folder holding its ``tsae`` package, its scratch folder."""

    label: str
    path: Path
    work: Path
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.path), env.get("PYTHONPATH", "")]))
        return env


def write_table(path: Path, rows: int = 1000, columns: int = 4, seed: int = 0) -> None:
    """A CSV of random walks with a time column and about 2% empty cells."""
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(size=(rows, columns)), axis=0)
    values[rng.random(values.shape) < 0.02] = np.nan
    lines = ["time," + ",".join(f"s{j}" for j in range(columns))]
    for i, row in enumerate(values):
        lines.append(f"{i}," + ",".join("" if np.isnan(v) else f"{v:.4f}" for v in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def commands(work: Path) -> dict[str, tuple[list[str], Path | None]]:
    """Label -> (argv, output file or None for stdout) of every timed command; paths inside ``work``."""
    tsae = [sys.executable, "-m", "tsae"]
    table, out = work / "t1000.csv", work / "out"
    return {
        "tsae --help": ([*tsae, "--help"], None),
        "tsae plugins": ([*tsae, "plugins"], None),
        "tsae compress (1000x4 csv)": ([*tsae, "compress", str(table), "-o", str(out / "c.tsz"),
                                        "--max-error", "1e-3", "-q"], out / "c.tsz"),
        "tsae decompress": ([*tsae, "decompress", str(work / "t1000.tsz"), "-o", str(out / "d.csv"), "-q"],
                            out / "d.csv"),
        "tsae smooth (1000x4 csv)": ([*tsae, "smooth", str(table), "-o", str(out / "s.csv"), "-q"], out / "s.csv"),
        "tsae impute (1000x4 csv)": ([*tsae, "impute", str(table), "-o", str(out / "i.csv"), "-q"], out / "i.csv"),
        "tsae detect score (pump)": ([*tsae, "detect", "score", str(DATA / "pump_faulty.csv"), "--detector",
                                      str(work / "pump.tsae"), "-o", str(out / "scores.csv"), "-q"],
                                     out / "scores.csv"),
        "tsae denoise noisy_speech.wav": ([*tsae, "denoise", str(DATA / "noisy_speech.wav"), "-o",
                                           str(out / "n.wav"), "-q"], out / "n.wav"),
        'python -c "import torch"': ([sys.executable, "-c", "import torch"], None),
    }


def measure(argv: list[str], tree: Tree) -> Run:
    """One run's wall time, CPU time and peak memory, read with ``os.wait4`` on the child."""
    out = tree.work / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, cwd=tree.work, env=tree.env())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"[{tree.label}] {' '.join(argv)} failed ({proc.returncode}): "
                             f"{stderr.read().decode(errors='replace').strip()[-400:]}")
        # ru_maxrss is in kB on Linux
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout.read())


def prepare(tree: Tree) -> None:
    """Inputs of the commands, made with the tree's own tsae (untimed)."""
    tree.work.mkdir(parents=True)
    (tree.work / "out").mkdir()
    write_table(tree.work / "t1000.csv")
    tsae = [sys.executable, "-m", "tsae"]
    for argv in ([*tsae, "compress", "t1000.csv", "-o", "t1000.tsz", "--max-error", "1e-3", "-q"],
                 [*tsae, "detect", "fit", str(DATA / "pump_normal.csv"), "-o", "pump.tsae", "-q"]):
        done = subprocess.run(argv, cwd=tree.work, env=tree.env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"[{tree.label}] {' '.join(argv)} failed: {done.stderr.strip()[-400:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per command (after one warm-up run)")
    parser.add_argument("--before", type=Path, help="folder holding an older tsae package to time beside this tree")
    parser.add_argument("--only", nargs="+", metavar="WORD",
                        help="time only the commands whose label contains one of these words")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    trees = [Tree("after", ROOT, scratch / "after")]
    if args.before is not None:
        if not (args.before / "tsae" / "__init__.py").is_file():
            parser.error(f"{args.before}: no tsae package in it")
        trees.insert(0, Tree("before", args.before.resolve(), scratch / "before"))
    try:
        for tree in trees:
            prepare(tree)
        labels = [label for label in commands(scratch)
                  if not args.only or any(word in label for word in args.only)]
        for _ in range(1 + args.repeats):  # the first round is the warm-up
            for label in labels:
                for tree in trees:
                    argv, output = commands(tree.work)[label]
                    run = measure(argv, tree)
                    if output is not None:
                        run.stdout = output.read_bytes()
                    tree.runs.setdefault(label, []).append(run)
        report(trees, labels, args.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def report(trees: list[Tree], labels: list[str], repeats: int) -> None:
    """Print the table: per command and tree, median wall, median CPU, largest peak memory."""
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"median of {repeats} runs (wall s, CPU s = user + sys), peak resident MB")
    width = max(len(label) for label in labels)
    head = f"{'command':<{width}}"
    for tree in trees:
        head += f"  {tree.label + ' wall':>11} {'CPU':>6} {'MB':>5}"
    if len(trees) == 2:
        head += "  CPU ratio  output"
    print(head)
    for label in labels:
        line = f"{label:<{width}}"
        cpus = []
        for tree in trees:
            runs = tree.runs[label][1:]
            cpus.append(statistics.median(r.cpu for r in runs))
            line += (f"  {statistics.median(r.wall for r in runs):>11.2f} {cpus[-1]:>6.2f} "
                     f"{max(r.peak_mb for r in runs):>5.0f}")
        if len(trees) == 2:
            same = trees[0].runs[label][-1].stdout == trees[1].runs[label][-1].stdout
            line += f"  {cpus[1] / cpus[0]:>9.2f}  {'same' if same else 'DIFFERS'}"
        print(line)


if __name__ == "__main__":
    main()
