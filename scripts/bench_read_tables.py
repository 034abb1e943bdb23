"""Time tsae's table reader beside ``pandas.read_csv`` on the same generated CSV files, in one run.

Each read runs in a fresh Python process (its peak RSS is its own), tsae's and pandas' taken in turns; the table
prints, for each shape (rows x columns), the MB of the float64 array read, the seconds and peak MB (the child's own
``VmHWM``) of each reader and the ratio tsae / pandas. A
``write`` row beside it times the writers (``tsae.io.write_table``, ``DataFrame.to_csv``) on the same shape of
numbers made in their process (peak MB counts them too); with ``--before`` it says whether both tsae wrote the same
bytes.

Shapes (``--shapes``, ``ROWSxCOLS`` comma-separated): wide ones (300x100000: spectra, gene panels; 10x1000000) and
long ones (3000000x10). Each file has a header of names, a time column (the row number) and a missing cell in a
column of every row tenth row; cells are random decimals with 4 places (7 to 8 characters).

Usage::

    python scripts/bench_read_tables.py [--shapes 300x100000,10x1000000,3000000x10] [--before DIR] [--no-pandas]
        [--no-write]

``--before DIR``: time the ``tsae`` of another checkout (its root) too, on the same files: the code before a change.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHAPES = "300x100000,1000x10000,10x1000000,3000000x10"

#: the start of each child: ``_peak()``, its own peak resident memory (MB), ``VmHWM``. Not ``ru_maxrss``: on Linux
#: a child started by vfork/exec keeps the high-water mark of the process that started it (this one, which made
#: the file: about 490 MB), so a read that peaked lower showed this one's peak
_PEAK = """
import json, sys, time

def _peak():
    with open("/proc/self/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith("VmHWM:"))) / 1024
"""

#: the child: read the file, print seconds and its own peak RSS (MB) as JSON
CHILD = _PEAK + """
start = time.perf_counter()
if sys.argv[1] == "tsae":
    from tsae.io.tables import read_table
    shape = read_table(sys.argv[2]).values.shape
else:
    import pandas
    shape = pandas.read_csv(sys.argv[2]).shape
seconds = time.perf_counter() - start
print(json.dumps({"s": seconds, "mb": _peak(),
                  "shape": list(shape)}))
"""

#: the child of a write: make the table's numbers (a time column of row numbers, random 4-place decimals, NaN in
#: column ``s1`` every tenth row), write them to a file, print seconds and peak RSS (MB) as JSON
WRITE_CHILD = _PEAK + """
import numpy as np
rows, columns = int(sys.argv[3]), int(sys.argv[4])
values = np.round(np.random.default_rng(0).standard_normal((rows, columns - 1)), 4)
if columns > 1:
    values[np.arange(rows) % 10 == 5, 0] = np.nan
names = [f"s{j}" for j in range(1, columns)]
times = np.arange(rows, dtype=float)
start = time.perf_counter()
if sys.argv[1] == "tsae":
    from tsae.io.table_write import write_table
    write_table(sys.argv[2], dict(zip(names, values.T)), time=times)
else:
    import pandas
    frame = pandas.DataFrame(values, columns=names)
    frame.insert(0, "time", times.astype(np.int64))
    frame.to_csv(sys.argv[2], index=False)
seconds = time.perf_counter() - start
print(json.dumps({"s": seconds, "mb": _peak(),
                  "shape": [rows, columns]}))
"""


def write_table(path: Path, rows: int, columns: int, seed: int = 0) -> None:
    """A CSV of ``rows`` data rows: a header (``time``, ``s1`` ...), the row number, random 4-place decimals, and
    the cell of column ``s1`` missing in every tenth row."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"{x:.4f}" for x in rng.standard_normal(4096)], dtype=object)
    with open(path, "w") as out:
        out.write(",".join(["time", *(f"s{j}" for j in range(1, columns))]) + "\n")
        step = max(1, (1 << 22) // columns)
        for first in range(0, rows, step):
            n = min(step, rows - first)
            cells = vocabulary[rng.integers(0, len(vocabulary), size=(n, columns))]
            cells[:, 0] = [str(i) for i in range(first, first + n)]
            if columns > 1:
                cells[(np.arange(first, first + n) % 10) == 5, 1] = ""
            out.write("".join(",".join(row) + "\n" for row in cells.tolist()))


def read_once(reader: str, path: Path, tree: Path, *, write: tuple[int, int] | None = None) -> dict:
    """One read in a fresh process: ``{"s", "mb", "shape"}``; with ``write`` (rows, columns), one write of a table
    of that shape to ``path``."""
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    child = [CHILD] if write is None else [WRITE_CHILD]
    shape = [] if write is None else [str(part) for part in write]
    done = subprocess.run([sys.executable, "-c", *child, reader, str(path), *shape], env=env, cwd=tree,
                          capture_output=True, text=True, check=False)  # (cwd: ``-c`` imports from it first)
    if done.returncode:
        raise SystemExit(f"{reader} failed on {path.name}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default=DEFAULT_SHAPES, help="ROWSxCOLS, comma-separated")
    parser.add_argument("--before", type=Path, default=None, help="another checkout whose tsae is timed too")
    parser.add_argument("--no-pandas", action="store_true", help="time tsae only")
    parser.add_argument("--no-write", action="store_true", help="time the readers only")
    args = parser.parse_args(argv)
    before = "" if args.before is None else f" {'before s':>9} {'before MB':>9}"
    print(f"{'shape':>14} {'MB file':>8} {'MB array':>8}{before} {'tsae s':>8} {'tsae MB':>8} {'pandas s':>9} "
          f"{'pandas MB':>9} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for shape in args.shapes.split(","):
            rows, columns = (int(part) for part in shape.lower().split("x"))
            path = Path(folder) / f"t{rows}x{columns}.csv"
            write_table(path, rows, columns)
            old = None if args.before is None else read_once("tsae", path, args.before)
            tsae = read_once("tsae", path, ROOT)
            if tuple(tsae["shape"]) != (columns - 1, rows):
                raise SystemExit(f"tsae read {path.name} as {tsae['shape']}")
            panda = None if args.no_pandas else read_once("pandas", path, ROOT)
            head = "" if old is None else f" {old['s']:9.2f} {old['mb']:9.0f}"
            tail = ("" if panda is None else
                    f" {panda['s']:9.2f} {panda['mb']:9.0f} {tsae['s'] / panda['s']:6.1f}")
            array = rows * (columns - 1) * 8 / 2**20
            print(f"{shape:>14} {path.stat().st_size / 1e6:8.0f} {array:8.0f}{head} {tsae['s']:8.2f} "
                  f"{tsae['mb']:8.0f}{tail}", flush=True)
            path.unlink()
            if args.no_write:
                continue
            written = Path(folder) / "written.csv"
            old = None if args.before is None else read_once("tsae", written, args.before, write=(rows, columns))
            old_bytes = None if old is None else written.read_bytes()
            tsae = read_once("tsae", written, ROOT, write=(rows, columns))
            same = "" if old_bytes is None else f" {'same' if written.read_bytes() == old_bytes else 'DIFFERENT'}"
            del old_bytes
            panda = None if args.no_pandas else read_once("pandas", written, ROOT, write=(rows, columns))
            head = "" if old is None else f" {old['s']:9.2f} {old['mb']:9.0f}"
            tail = ("" if panda is None else
                    f" {panda['s']:9.2f} {panda['mb']:9.0f} {tsae['s'] / panda['s']:6.1f}")
            print(f"{'write':>14} {written.stat().st_size / 1e6:8.0f} {array:8.0f}{head} {tsae['s']:8.2f} "
                  f"{tsae['mb']:8.0f}{tail}{same}", flush=True)
            written.unlink()


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"({time.perf_counter() - start:.0f} s in all)")
