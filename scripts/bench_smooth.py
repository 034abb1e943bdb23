"""Time ``tsae impute`` and ``tsae smooth`` beside the classic methods, on long series, in one run.

Generates sensor-like series with known truth (10 channels by default: two periodic
components, a slow random walk and white noise), hides 5 % of each channel's samples in
runs of 1 to 49, and saves the series as ``.npy`` (channels first) and, with ``--csv``, as CSV.
Then, for each size:

- ``tsae impute FILE -o OUT`` and ``tsae smooth FILE -o OUT`` are run as the user runs them
  (a subprocess: start-up, reading and writing included), their CPU time, wall time and peak
  resident memory taken from ``os.wait4``;
- the classic methods run in this process on the same array, timed the same way (CPU and wall):
  pandas ``interpolate`` (linear) and a scipy cubic spline for the gaps, a scipy Savitzky-Golay
  filter (31 samples, order 3) for smoothing; reading the file is not counted for them.

Quality: the RMSE on the hidden samples (impute) and to the clean truth on the observed ones (smooth),
for tsae and each classic method. The ratio printed is tsae's wall time over the classic method's.
The peak memory is the command's own (``VmHWM`` as it exits; see :data:`_PEAK`); ``--before DIR`` times the tsae of
another tree first in the same run and says whether the outputs are the same.
On a shared machine the load average printed with the table says how much of the cores it had.

Usage: ``python scripts/bench_smooth.py [--sizes 100000,1000000] [--channels 10] [--only impute|smooth]
[--csv] [--keep DIR] [--seed 0] [--before DIR]``
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_series(channels: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(truth, noisy, with_gaps)``, each ``(channels, n)``: the clean signal, it with white noise, and the
    noisy series with 5 % of each channel's samples NaN in runs of 1 to 49."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    truth = np.empty((channels, n))
    for c in range(channels):
        walk = np.cumsum(rng.normal(size=n // 64 + 2))  # a slow random walk, interpolated
        slow = np.interp(t / 64.0, np.arange(len(walk)), walk) * 0.05
        truth[c] = (np.sin(2 * np.pi * t / (500 + 97 * c)) + 0.3 * np.sin(2 * np.pi * t / (5000 + 13 * c) + c)
                    + slow)
    noisy = truth + 0.1 * rng.normal(size=truth.shape)
    gaps = noisy.copy()
    for c in range(channels):
        lengths = rng.integers(1, 50, size=int(0.05 * n / 25) + 1)
        starts = np.sort(rng.choice(n, size=len(lengths), replace=False))
        for s, length in zip(starts, lengths, strict=True):
            gaps[c, s:s + length] = np.nan
    return truth, noisy, gaps


#: ``python -m tsae`` that writes its own peak resident memory (``VmHWM``) to the file named by TSAE_BENCH_PEAK
#: when it exits. ``ru_maxrss`` from ``wait4`` is no measure of the child: on Linux a child started by
#: vfork/exec keeps the high-water mark of the process that started it (this one, holding the series three
#: times over: 1.9 GB at 80M cells), while ``VmHWM`` is that of the child's own memory
_PEAK = """
import atexit, os, runpy, sys

def _peak():
    with open('/proc/self/status') as status:
        kb = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
    with open(os.environ['TSAE_BENCH_PEAK'], 'w') as out:
        out.write(kb)

atexit.register(_peak)
sys.path.insert(0, os.environ['TSAE_BENCH_ROOT'])  # before the working directory, which -c and -m put first
sys.argv = ['tsae', *sys.argv[1:]]
runpy.run_module('tsae', run_name='__main__', alter_sys=True)
"""


def run_cli(args: list[str], root: Path = ROOT) -> tuple[float, float, float]:
    """``python -m tsae ARGS`` (the tsae of ``root``) as a subprocess: (CPU s, wall s, its own peak RSS MB); the
    ``ru_maxrss`` that ``wait4`` reports is printed beside it."""
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
                   TSAE_BENCH_PEAK=str(peak_file), TSAE_BENCH_ROOT=str(root))
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _PEAK, *args], env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"tsae {' '.join(args)} failed ({proc.returncode})")
        peak = int(peak_file.read_text()) / 1024
    print(f"  ({args[0]}: own peak {peak:.0f} MB; ru_maxrss {usage.ru_maxrss / 1024:.0f} MB)", flush=True)
    return usage.ru_utime + usage.ru_stime, wall, peak


def timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float, float]:
    """``fn()``, its CPU time and wall time (this process)."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def pandas_linear(x: np.ndarray) -> np.ndarray:
    import pandas as pd

    return pd.DataFrame(x.T).interpolate(method="linear", limit_direction="both").to_numpy().T


def scipy_spline(x: np.ndarray) -> np.ndarray:
    from scipy.interpolate import CubicSpline

    out = x.copy()
    t = np.arange(x.shape[1])
    for row in out:
        missing = np.isnan(row)
        row[missing] = CubicSpline(t[~missing], row[~missing])(t[missing])
    return out


def scipy_savgol(x: np.ndarray) -> np.ndarray:
    from scipy.signal import savgol_filter

    return savgol_filter(x, 31, 3, axis=1)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def read_output(path: Path) -> np.ndarray:
    """A command's output series ``(channels, n)``: a ``.npy`` array or a CSV with a header line."""
    return np.load(path) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",", skiprows=1).T


def run_both(command: str, src: Path, out: Path, before: Path | None, label: str,
             describe: Callable[[np.ndarray], str]) -> tuple[float, float, float, np.ndarray]:
    """``tsae COMMAND SRC -o OUT -q`` of this tree: its CPU s, wall s, peak MB and output. With ``before``, that
    tree's run first, printed (``label``, ``describe`` of its output), then whether the two outputs are the same."""
    earlier = None
    if before is not None:
        b_cpu, b_wall, b_peak = run_cli([command, str(src), "-o", str(out), "-q"], before)
        earlier = read_output(out)
        print(f"{label}, before ({before}): tsae {b_cpu:.1f} s CPU, {b_wall:.1f} s wall, {b_peak:.0f} MB; "
              f"{describe(earlier)}", flush=True)
    cpu, wall, peak = run_cli([command, str(src), "-o", str(out), "-q"])
    values = read_output(out)
    if earlier is not None:
        print(f"  before vs after: same values {np.array_equal(earlier, values)}, max abs difference "
              f"{float(np.max(np.abs(earlier - values))):.3g}", flush=True)
    return cpu, wall, peak, values


def bench(n: int, channels: int, folder: Path, only: str | None, csv: bool, seed: int,
          before: Path | None = None) -> None:
    truth, noisy, gaps = make_series(channels, n, seed)
    missing = np.isnan(gaps)
    files = [folder / f"s{n}.npy"]
    np.save(files[0], gaps)
    if csv:
        files.append(folder / f"s{n}.csv")
        header = ",".join(f"ch{c}" for c in range(channels))
        np.savetxt(files[1], gaps.T, delimiter=",", header=header, comments="", fmt="%.6g")
    cells = channels * n
    for src in files:
        kind = src.suffix[1:]
        if only in (None, "impute"):
            out = src.with_name(f"imputed_{src.name}")
            cpu, wall, peak, filled = run_both(
                "impute", src, out, before, f"impute {kind} {cells / 1e6:g}M cells",
                lambda values: f"RMSE on the gaps {rmse(values[missing], truth[missing]):.4f}")
            line, l_cpu, l_wall = timed(lambda: pandas_linear(gaps))
            spline, s_cpu, s_wall = timed(lambda: scipy_spline(gaps))
            print(f"impute {kind} {cells / 1e6:g}M cells: tsae {cpu:.1f} s CPU, {wall:.1f} s wall, {peak:.0f} MB; "
                  f"pandas linear {l_wall:.2f} s (x{wall / max(l_wall, 1e-9):.0f}), "
                  f"scipy spline {s_wall:.2f} s (x{wall / max(s_wall, 1e-9):.0f}); RMSE on the gaps: tsae "
                  f"{rmse(filled[missing], truth[missing]):.4f}, linear {rmse(line[missing], truth[missing]):.4f}, "
                  f"spline {rmse(spline[missing], truth[missing]):.4f}", flush=True)
            out.unlink()
        if only in (None, "smooth"):
            src_noisy = src.with_name(f"noisy_{src.name}")
            if kind == "npy":
                np.save(src_noisy, noisy)
            else:
                np.savetxt(src_noisy, noisy.T, delimiter=",", header=",".join(f"ch{c}" for c in range(channels)),
                           comments="", fmt="%.6g")
            out = src.with_name(f"smoothed_{src.name}")
            cpu, wall, peak, smoothed = run_both(
                "smooth", src_noisy, out, before, f"smooth {kind} {cells / 1e6:g}M cells",
                lambda values: f"RMSE to the truth {rmse(values, truth):.4f}")
            sg, g_cpu, g_wall = timed(lambda: scipy_savgol(noisy))
            print(f"smooth {kind} {cells / 1e6:g}M cells: tsae {cpu:.1f} s CPU, {wall:.1f} s wall, {peak:.0f} MB; "
                  f"scipy savgol {g_wall:.2f} s (x{wall / max(g_wall, 1e-9):.0f}); RMSE to the truth: tsae "
                  f"{rmse(smoothed, truth):.4f}, savgol {rmse(sg, truth):.4f}, noisy {rmse(noisy, truth):.4f}",
                  flush=True)
            out.unlink()
            src_noisy.unlink()


@contextlib.contextmanager
def bench_folder(keep: Path | None) -> Iterator[Path]:
    """The folder a benchmark's files go in (``keep``, else a temporary one), between two lines of the machine's load
    average (the timings' context: this is a shared machine)."""
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="samples per channel, comma-separated")
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--only", choices=["impute", "smooth"], default=None)
    parser.add_argument("--csv", action="store_true", help="also time a CSV file of the same series")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the files (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--before", type=Path, default=None,
                        help="another tsae tree (e.g. a git archive of an earlier commit) timed first in the same run")
    args = parser.parse_args()
    with bench_folder(args.keep) as folder:
        for n in (int(s) for s in args.sizes.split(",")):
            bench(n, args.channels, folder, args.only, args.csv, args.seed, args.before)


if __name__ == "__main__":
    main()
