"""Bits per value and error of tsae compression beside SZ3, zfp, fpzip, zstd/gzip and PCA, at equal error bounds.

One run, for every series and for error bounds of 1e-2 and 1e-3 of each channel's
range (per-channel absolute bounds, the same for every method):

- ``tsae-<family>``: :func:`tsae.pipelines.compress.compress_series` with a small model of
  each family (``conv1d``, and ``dense`` and ``vqvae`` when installed) trained in the script
  on the series' training part, or the model files given with ``--model``;
- ``pca``: the same container, quantiser and residual coding with a linear model
  (principal components of the training windows, as many as the autoencoder's latent);
- ``no-model``: the same with a model that predicts zeros: what the grid quantiser and
  the coder's own predictors (differencing, the blend of past values) give alone, so
  the difference to ``tsae-*`` is what the autoencoder adds;
- ``sz3`` (pysz, absolute bound, each channel), ``zfp`` (zfpy fixed accuracy, each channel);
- ``zstd-q16`` / ``gzip-q16``: the values quantised at step 2E (16-bit when that fits) and
  compressed whole;
- lossless anchors on float32: ``fpzip``, ``zstd-f32``, ``gzip-f32`` (error: float32 rounding).

Series and protocol (the model is shared reference data and is not counted in the size):
``data/``: learn from ``pump_normal.csv``, compress ``pump_faulty.csv`` (4 sensors);
SKAB (``../shared/data/anomaly``): learn from ``skab_anomaly-free.csv``, compress each
``skab_valve1_*`` series (8 sensors); NAB: learn from rows ``[0, train_end)`` of each
series, compress the rest (1 sensor). Bits per value = 8 x container bytes / (channels x
samples); errors are relative to each channel's range. The last two columns divide the
best ``tsae-*`` size by SZ3's and by ``no-model``'s (below 1: smaller).

With ``--file MODEL DATA`` (repeatable) it times the commands instead, on series files
(audio, long tables): ``tsae compress MODEL DATA --max-error B --relative`` and ``tsae
decompress`` as the user runs them (a process each: wall and CPU seconds, start-up
included), beside the anchors on the same values and bounds; with ``--before TREE`` (a
folder holding an older ``tsae`` package, e.g. ``git archive main tsae | tar -x -C TREE``)
the older tree's commands run too, in turn with this tree's (``--repeat`` rounds), and
the table says whether their containers and decompressed files are byte-identical; with ``--no-model``,
``tsae compress DATA ...`` without the model runs too (this tree only: the row ``tsae (no model)``), the same
coder as the ``no-model`` column without torch or a model file; ``--profile DIR`` writes a cProfile of each of
this tree's commands there.

Usage::

    python scripts/bench_compress.py [--limit N] [--epochs 20] [--families conv1d,dense,vqvae]
                                     [--model PATH ...] [--data ../shared/data/anomaly] [--coders adaptive,lzma]
    python scripts/bench_compress.py --file MODEL DATA [--file ...] [--bounds 1e-3] [--before TREE] [--repeat 2]
                                     [--anchors sz3,zfp] [--no-model] [--profile DIR]
                                     [--train-seconds 60] [--threads 2]
"""
from __future__ import annotations

import argparse
import csv
import filecmp
import gzip
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tsae.io.series import read_series
from tsae.models.base import Autoencoder
from tsae.models.modelfile import LoadedModel, load_model
from tsae.pipelines.compress import compress_series, decompress_series
from tsae.pipelines.compress.container import Reader
from tsae.pipelines.compress.residual import DELTA
from tsae.pipelines.compress.series import absolute_bounds

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "anomaly"
BOUNDS = (1e-2, 1e-3)
WINDOW = 64


@dataclass
class Case:
    """One series to compress and the data its models learn from."""

    name: str
    system: str
    train: np.ndarray
    test: np.ndarray


@dataclass
class Result:
    series: str
    channels: int
    method: str
    bound: float
    bits: float
    max_err: float  # worst |x - y| / range over channels
    rms_err: float  # mean over channels of RMS(x - y) / range
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- data
def _values(path: Path) -> np.ndarray:
    return read_series(path)[0]


def load_cases(data: Path, limit: int | None) -> list[Case]:
    cases = []
    sample = ROOT / "data"
    if (sample / "pump_normal.csv").is_file():
        cases.append(Case("pump_faulty", "pump", _values(sample / "pump_normal.csv"),
                          _values(sample / "pump_faulty.csv")))
    if not (data / "manifest.csv").is_file():
        print(f"(no anomaly data at {data}: only the sample series)")
        return cases
    with open(data / "manifest.csv") as handle:
        manifest = list(csv.DictReader(handle))
    skab = [row for row in manifest if row["file"].startswith("skab_valve1")][:limit]
    if skab:
        free = _values(data / "skab_anomaly-free.csv")
        cases += [Case(Path(row["file"]).stem, "skab", free, _values(data / row["file"])) for row in skab]
    for row in [row for row in manifest if row["file"].startswith("nab_")][:limit]:
        x = _values(data / row["file"])
        end = max(int(row["train_end"]), 4 * WINDOW)
        cases.append(Case(Path(row["file"]).stem, Path(row["file"]).stem, x[:, :end], x[:, end:]))
    return cases


# ----------------------------------------------------------------------------- models
class PCACoder(Autoencoder):
    """Principal components of flattened windows as an encoder/decoder pair (weights from an SVD)."""

    name = "pca"

    def __init__(self, channels: int, window: int, latent: int = 8) -> None:
        super().__init__(channels, window)
        self.down = nn.Linear(channels * window, latent)
        self.up = nn.Linear(latent, channels * window)

    def fit(self, windows: np.ndarray) -> PCACoder:
        flat = windows.reshape(len(windows), -1).astype(np.float64)
        mean = flat.mean(axis=0)
        _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
        k = self.down.out_features
        basis = np.zeros((k, flat.shape[1]))
        basis[: min(k, len(vt))] = vt[:k]
        with torch.no_grad():
            self.down.weight.copy_(torch.from_numpy(basis))
            self.down.bias.copy_(torch.from_numpy(-basis @ mean))
            self.up.weight.copy_(torch.from_numpy(basis.T))
            self.up.bias.copy_(torch.from_numpy(mean))
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(z).view(-1, self.channels, self.window)


class ZeroCoder(Autoencoder):
    """No model: predicts zeros, so the coder falls back to its own predictors (the ``no-model`` column)."""

    name = "none"

    def __init__(self, channels: int, window: int) -> None:
        super().__init__(channels, window)
        self.unused = nn.Parameter(torch.zeros(1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), 1, dtype=x.dtype)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(z), self.channels, self.window, dtype=z.dtype)


def _as_loaded(model: Any, normalizer: Any) -> LoadedModel:
    return LoadedModel(model=model.eval(), family=model.name, plugin=None, plugin_version=None,
                       hparams=model.hparams(), frame={"window": model.window, "hop": model.window, "window_fn": None},
                       normalizer=normalizer.to_dict() if normalizer is not None else None, sample_rate=None,
                       tsae_version=None)


def latent_size(channels: int) -> int:
    return min(32, 4 * channels + 4)


def train_models(train: np.ndarray, families: list[str], epochs: int, seconds: float) -> dict[str, LoadedModel]:
    """Small models of each family (and PCA) fitted on ``train``."""
    from tsae import plugins
    from tsae.models.fit import fit_model_on_series, make_windows
    from tsae.models.trainer import TrainConfig

    channels = train.shape[0]
    latent = latent_size(channels)
    sizes = {"conv1d": {"depth": 2, "hidden": 16, "latent": latent}, "dense": {"latent": latent}, "vqvae": {}}
    models = {}
    config = TrainConfig(epochs=epochs, max_seconds=seconds, quiet=True, device="cpu", patience=5)
    for family in families:
        if family not in plugins.model_families():
            continue
        params = {k: v for k, v in sizes.get(family, {}).items()
                  if k in plugins.get_model_family(family).describe_params()}
        fit = fit_model_on_series(train, model=family, window=WINDOW, hop=WINDOW // 4, params=params, config=config)
        models[f"tsae-{family}"] = _as_loaded(fit.model, fit.normalizer)
    from tsae.engine.preprocess import Normalizer

    normalizer = Normalizer("zscore").fit(train)
    windows = make_windows([train], WINDOW, WINDOW // 4, None, normalizer)
    pca = PCACoder(channels, WINDOW, latent=min(latent, len(windows))).fit(windows)
    models["pca"] = _as_loaded(pca, normalizer)
    models["no-model"] = _as_loaded(ZeroCoder(channels, WINDOW), None)
    return models


# ----------------------------------------------------------------------------- anchors
def _per_channel(x: np.ndarray, bounds: np.ndarray, one: Callable[[np.ndarray, float], tuple[bytes, np.ndarray]]
                 ) -> tuple[int, np.ndarray]:
    size, out = 0, np.empty_like(x)
    for c in range(x.shape[0]):
        data, out[c] = one(np.ascontiguousarray(x[c]), float(bounds[c]))
        size += len(data)
    return size, out


def sz3(x: np.ndarray, bounds: np.ndarray) -> tuple[int, np.ndarray]:
    import pysz

    def one(row: np.ndarray, bound: float) -> tuple[bytes, np.ndarray]:
        config = pysz.szConfig(row.shape)
        config.errorBoundMode = pysz.szErrorBoundMode.ABS
        config.absErrorBound = bound
        data, _ = pysz.sz.compress(row, config)
        back = pysz.sz.decompress(data, np.float64, row.shape)
        return data.tobytes(), back[0] if isinstance(back, tuple) else back

    return _per_channel(x, bounds, one)


def zfp(x: np.ndarray, bounds: np.ndarray) -> tuple[int, np.ndarray]:
    import zfpy

    def one(row: np.ndarray, bound: float) -> tuple[bytes, np.ndarray]:
        data = zfpy.compress_numpy(row, tolerance=bound)
        return data, zfpy.decompress_numpy(data)

    return _per_channel(x, bounds, one)


def _zstd(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=19).compress(data)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, 9)


def quantised(pack: Callable[[bytes], bytes]) -> Callable[[np.ndarray, np.ndarray], tuple[int, np.ndarray]]:
    def run(x: np.ndarray, bounds: np.ndarray) -> tuple[int, np.ndarray]:
        steps = 2 * bounds[:, None]
        q = np.rint(x / steps)
        dtype = np.int16 if np.abs(q).max() < 2**15 else np.int32
        return len(pack(q.astype(dtype).tobytes())), q * steps

    return run


def lossless_f32(pack: Callable[[bytes], bytes]) -> Callable[[np.ndarray, np.ndarray], tuple[int, np.ndarray]]:
    def run(x: np.ndarray, bounds: np.ndarray) -> tuple[int, np.ndarray]:
        f = x.astype(np.float32)
        return len(pack(f.tobytes())), f.astype(np.float64)

    return run


def fpzip_f32(x: np.ndarray, bounds: np.ndarray) -> tuple[int, np.ndarray]:
    import fpzip

    f = np.ascontiguousarray(x.astype(np.float32))
    data = fpzip.compress(f)
    return len(data), np.asarray(fpzip.decompress(data), dtype=np.float64).reshape(x.shape)


def anchors() -> dict[str, Callable[[np.ndarray, np.ndarray], tuple[int, np.ndarray]]]:
    found: dict[str, Callable[[np.ndarray, np.ndarray], tuple[int, np.ndarray]]] = {}
    for module, name, run in (("pysz", "sz3", sz3), ("zfpy", "zfp", zfp), ("fpzip", "fpzip", fpzip_f32)):
        try:
            __import__(module)
            found[name] = run
        except ImportError:
            print(f"({module} not installed: no {name})")
    try:
        __import__("zstandard")
        found["zstd-q16"], found["zstd-f32"] = quantised(_zstd), lossless_f32(_zstd)
    except ImportError:
        print("(zstandard not installed: no zstd)")
    found["gzip-q16"], found["gzip-f32"] = quantised(_gzip), lossless_f32(_gzip)
    return found


# ----------------------------------------------------------------------------- measuring
def _errors(x: np.ndarray, y: np.ndarray, span: np.ndarray) -> tuple[float, float]:
    finite = np.isfinite(x)
    diff = np.where(finite, np.abs(np.where(finite, x, 0) - np.where(finite, y, 0)), 0.0)
    rms = np.sqrt((diff**2).sum(axis=1) / np.maximum(finite.sum(axis=1), 1))
    return float((diff.max(axis=1) / span).max()), float((rms / span).mean())


def measure(case: Case, models: dict[str, LoadedModel], others: dict[str, Any], bound: float,
            coders: tuple[str, ...] = ("adaptive",)) -> list[Result]:
    x = case.test
    bounds = absolute_bounds(x, bound, relative=True)
    span = bounds / bound
    filled = np.where(np.isfinite(x), x, np.nanmean(x))
    results = []
    for name, loaded in models.items():
        for coder in coders:  # the first is the method's own; the others named "coder:method" (not best tsae)
            start = time.perf_counter()
            data = compress_series(loaded, x, max_error=bound, relative=True, coder=coder)
            y = decompress_series(data, loaded)
            extra = {} if name == "no-model" else {"model_share": model_share(data)}
            method = name if coder == coders[0] else f"{coder}:{name}"
            results.append(Result(case.name, x.shape[0], method, bound, 8 * len(data) / x.size,
                                  *_errors(x, y, span), time.perf_counter() - start, extra))
    for name, run in others.items():
        start = time.perf_counter()
        size, y = run(filled, bounds)
        results.append(Result(case.name, x.shape[0], name, bound, 8 * size / x.size, *_errors(x, y, span),
                              time.perf_counter() - start))
    return results


def model_share(data: bytes) -> float:
    """Share of (block, channel) pairs coded against the model's prediction (the rest: the coder's own predictors)."""
    used = [("codes" in block.arrays) & (block.arrays["predictor"] != DELTA)
            for block in Reader(io.BytesIO(data), "bench").blocks()]
    return float(np.concatenate(used).mean())


def _model_files(paths: list[Path]) -> list[tuple[str, LoadedModel]]:
    return [(f"tsae-{path.stem}", load_model(path)) for path in paths]


# ----------------------------------------------------------------------------- commands on files
@dataclass
class Run:
    """One tree's compress and decompress of a file: seconds (wall, CPU), container bytes, paths."""

    tree: str
    compress: tuple[float, float]
    decompress: tuple[float, float]
    size: int
    container: Path
    back: Path


def _timed(command: list[str], env: dict[str, str], folder: Path, profile: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of ``command`` run to its end in ``folder`` (not in a tree: ``python -m``
    imports the working folder's ``tsae`` before PYTHONPATH's); ``profile``: under cProfile, its output there."""
    if profile is not None:
        command = [command[0], "-m", "cProfile", "-o", str(profile), *command[1:]]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, cwd=folder)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def run_commands(tree: Path, label: str, model: Path | None, data: Path, bound: float, folder: Path,
                 profile: Path | None = None) -> Run:
    """``tsae compress`` and ``tsae decompress`` of ``data`` with the tsae package in ``tree`` (``model`` None:
    without a model); ``profile``: a folder for their cProfile outputs."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    name = f"{data.stem}_{bound:g}_{label.replace(' ', '_')}"
    container, back = folder / f"{name}.tsz", folder / f"{name}{data.suffix}"
    for path in (container, back):
        path.unlink(missing_ok=True)
    tsae = [sys.executable, "-m", "tsae"]
    models = [] if model is None else [str(model.resolve())]
    profiles = (None, None) if profile is None else (profile / f"{name}.compress.prof",
                                                     profile / f"{name}.decompress.prof")
    packed = _timed(tsae + ["compress", *models, str(data.resolve()), "-o", str(container),
                            "--max-error", f"{bound!r}", "--relative", "-q"], env, folder, profiles[0])
    unpacked = _timed(tsae + ["decompress", str(container), "-o", str(back), "-q"], env, folder, profiles[1])
    return Run(label, packed, unpacked, container.stat().st_size, container, back)


def file_bench(files: list[tuple[Path, Path]], bounds: list[float], before: Path | None, repeat: int,
               names: list[str] | None = None, no_model: bool = False, profile: Path | None = None) -> None:
    """Time the commands on each file (this tree, and ``before``'s; with ``no_model``, this tree's without the model
    too), beside the anchors (``names``, else all) on the same values; ``profile``: a folder for cProfile outputs
    of this tree's commands."""
    others = {name: run for name, run in anchors().items() if names is None or name in names}
    trees = ([("before", before.resolve())] if before is not None else []) + [("after", ROOT)]
    if no_model:
        trees.append(("no model", ROOT))
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    print("\n| series | bound | method | compress s (wall / CPU) | decompress s (wall / CPU) | bits/value | "
          "max error / range | same bytes as before |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench_compress_") as tmp:
        check = subprocess.run([sys.executable, "-c", "import tsae; print(tsae.__file__)"], cwd=tmp, check=True,
                               capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(trees[0][1])})
        print(f"({trees[0][0]} tree: {check.stdout.strip()})")
        for model, data in files:
            x = read_series(data)[0]
            for bound in bounds:
                bounds_abs = absolute_bounds(x, bound, relative=True)
                span = bounds_abs / bound
                runs: dict[str, list[Run]] = {label: [] for label, _ in trees}
                for _ in range(repeat):  # in turn: a load that comes and goes falls on both trees
                    for label, tree in trees:
                        runs[label].append(run_commands(tree, label, None if label == "no model" else model, data,
                                                        bound, Path(tmp), None if label == "before" else profile))
                first = {label: mine[0] for label, mine in runs.items()}
                for label, mine in runs.items():
                    run = first[label]
                    err = _errors(x, read_series(run.back)[0], span)[0]
                    same = ""
                    if label == "after" and "before" in first:
                        same = "yes" if (filecmp.cmp(run.container, first["before"].container, shallow=False)
                                         and filecmp.cmp(run.back, first["before"].back, shallow=False)) else "NO"
                    times = [f"{min(r.compress[0] for r in mine):.1f} / {min(r.compress[1] for r in mine):.1f}",
                             f"{min(r.decompress[0] for r in mine):.1f} / {min(r.decompress[1] for r in mine):.1f}"]
                    print(f"| {data.name} | {bound:g} | tsae ({label}) | {' | '.join(times)} | "
                          f"{8 * run.size / x.size:.3f} | {err:.2e} | {same} |", flush=True)
                filled = np.where(np.isfinite(x), x, np.nanmean(x))
                for name, run_anchor in others.items():
                    start = time.perf_counter()
                    size, y = run_anchor(filled, bounds_abs)
                    seconds = time.perf_counter() - start
                    print(f"| {data.name} | {bound:g} | {name} | {seconds:.1f} (both, in process) | | "
                          f"{8 * size / x.size:.3f} | {_errors(x, y, span)[0]:.2e} | |", flush=True)
    print(f"\n(seconds: the best of {repeat} round(s); the commands' include their start-up)")


# ----------------------------------------------------------------------------- report
def report(results: list[Result]) -> None:
    methods = list(dict.fromkeys(r.method for r in results))
    for bound in BOUNDS:
        rows = [r for r in results if r.bound == bound]
        print(f"\n### error bound {bound:g} x range: bits per value (lower is better; in brackets, the share "
              "of blocks x channels coded against the model's prediction)\n")
        print("| series | ch | " + " | ".join(methods) + " | best tsae / sz3 | best tsae / no-model |")
        print("|---" * (len(methods) + 4) + "|")
        series = list(dict.fromkeys(r.series for r in rows))
        for name in series:
            mine = {r.method: r for r in rows if r.series == name}
            cells = [_cell(mine[m]) if m in mine else "" for m in methods]
            tsae = [r.bits for m, r in mine.items() if m.startswith("tsae-")]
            ratios = [f"{min(tsae) / mine[other].bits:.2f}" if tsae and other in mine else ""
                      for other in ("sz3", "no-model")]
            print(f"| {name} | {mine[methods[0]].channels} | " + " | ".join(cells) + f" | {' | '.join(ratios)} |")
        print("\n| method | mean bits/value | worst max error / range | mean RMS error / range | seconds |")
        print("|---|---|---|---|---|")
        for method in methods:
            mine = [r for r in rows if r.method == method]
            print(f"| {method} | {np.mean([r.bits for r in mine]):.3f} | {max(r.max_err for r in mine):.2e} | "
                  f"{np.mean([r.rms_err for r in mine]):.2e} | {sum(r.seconds for r in mine):.1f} |")
        multi = [name for name in series if any(r.series == name and r.channels > 1 for r in rows)]
        if any(r.method == "sz3" for r in rows):
            wins = [name for name in multi if _best_tsae(rows, name) < _bits(rows, name, "sz3")]
            print(f"\ntsae smaller than SZ3 on {len(wins)} of {len(multi)} multichannel series; "
                  f"not on: {', '.join(sorted(set(multi) - set(wins))) or 'none'}")


def _cell(result: Result) -> str:
    share = result.extra.get("model_share")
    return f"{result.bits:.3f}" + ("" if share is None else f" ({100 * share:.0f}%)")


def _bits(rows: list[Result], series: str, method: str) -> float:
    return next(r.bits for r in rows if r.series == series and r.method == method)


def _best_tsae(rows: list[Result], series: str) -> float:
    return min((r.bits for r in rows if r.series == series and r.method.startswith("tsae-")), default=np.inf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the anomaly data folder")
    parser.add_argument("--limit", type=int, default=None, help="at most this many SKAB and this many NAB series")
    parser.add_argument("--families", default="conv1d,dense,vqvae", help="families to train (installed ones)")
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help="also a model file (used on series of its channel count); repeatable")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--train-seconds", type=float, default=60.0, help="training budget per model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--file", nargs=2, type=Path, action="append", default=[], metavar=("MODEL", "DATA"),
                        help="time tsae compress / decompress of DATA with MODEL instead (repeatable)")
    parser.add_argument("--bounds", default=",".join(f"{b:g}" for b in BOUNDS),
                        help="relative error bounds of --file, comma-separated")
    parser.add_argument("--before", type=Path, default=None,
                        help="with --file: a folder holding an older tsae package to time in turn")
    parser.add_argument("--repeat", type=int, default=1, help="with --file: rounds (the best is shown)")
    parser.add_argument("--coders", default="adaptive",
                        help="entropy coders of the tsae methods, comma-separated: the first gives the methods' "
                             "columns, each other one columns 'CODER:method' (e.g. adaptive,lzma: the coder before "
                             "the adaptive one, in the same run)")
    parser.add_argument("--anchors", default=None,
                        help="with --file: the anchors to run, comma-separated [default: all installed]")
    parser.add_argument("--no-model", action="store_true",
                        help="with --file: also run this tree's tsae compress without the model")
    parser.add_argument("--profile", type=Path, default=None,
                        help="with --file: write a cProfile of each of this tree's commands to this folder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.file:
        file_bench(args.file, [float(b) for b in args.bounds.split(",")], args.before, args.repeat,
                   args.anchors.split(",") if args.anchors else None, args.no_model, args.profile)
        return
    cases = load_cases(args.data, args.limit)
    others = anchors()
    files = _model_files(args.model)
    trained: dict[str, dict[str, LoadedModel]] = {}
    results: list[Result] = []
    for case in cases:
        if case.system not in trained:
            start = time.perf_counter()
            trained[case.system] = train_models(case.train, args.families.split(","), args.epochs, args.train_seconds)
            print(f"{case.system}: trained {', '.join(trained[case.system])} in {time.perf_counter() - start:.0f} s")
        models = {**trained[case.system], **{n: m for n, m in files if m.channels == case.test.shape[0]}}
        for bound in BOUNDS:
            results += measure(case, models, others, bound, tuple(args.coders.split(",")))
        print(f"{case.name}: {case.test.shape[0]} x {case.test.shape[1]} done")
    report(results)


if __name__ == "__main__":
    main()
