"""Does a pretrained encoder (``--init``) help a detector that learns from very little data?

Data: the SKAB water-pump series (/work/shared/data/anomaly, 8 sensors each). One model
is pretrained with ``tsae train`` (:func:`tsae.models.fit.fit_model_on_series`) on
unlabelled series: ``skab_anomaly-free.csv`` and the whole of the *development*
series ``valve1_0`` to ``valve1_4`` (their labels are never read). Every other ``valve1``
series is *held out*: the choices of this script (family, window, sizes, epochs) were
made looking at ``valve1_4`` only, and none of the held-out rows is in the pretraining data.

For each held-out series the training part ``[0, train_end)`` is cut to its first
``--fraction`` (10%: 40 rows); a :class:`tsae.Detector` learns from those rows only,
once from random weights and once with ``init=`` the pretrained model (the same family,
window and hyper-parameters, so the two differ only in where the encoder starts), and
scores the whole series. With 40 rows a detector gets one optimiser step per epoch,
so these fits run ``--epochs`` (200) epochs. PR-AUC (average precision), ROC-AUC and best F1 (no point
adjustment) are measured on the rows from ``train_end`` on, as in
``scripts/eval_anomaly.py``. Both detector settings are run: the autoencoder alone
(``linear=False``) and tsae's default score (autoencoder plus the PCA residual term).
A reference row learns from the whole training part (no init, the detector's default
40 epochs). Means over the held-out series and ``--seeds`` seeds.

Usage::

    python scripts/eval_pretraining.py [--data DIR] [--fraction 0.1] [--seeds 1] [--dev 0,1,2,3,4]
                                       [--epochs 200] [--pretrain-epochs 30] [--only 5,6,7]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
# sibling scripts, not a package
from anomaly_data import DEV_DATA as DEFAULT_DATA  # noqa: E402
from anomaly_data import read_dev_csv as load  # noqa: E402
from anomaly_metrics import point_metrics as metrics  # noqa: E402

FAMILY = "conv1d"
WINDOW = 16  # 40 training rows: 25 windows
PARAMS = {"depth": 1, "hidden": 32, "kernel": 5, "latent": 8, "regularizer": "denoising", "reg_weight": 0.1}


def pretrain(data: Path, dev: list[str], epochs: int, seed: int, out: Path) -> tuple[Path, int]:
    """Train the shared model on the unlabelled series; returns its file and the rows it saw."""
    from tsae.models.fit import fit_model_on_series
    from tsae.models.trainer import TrainConfig

    series = [load(data / "skab_anomaly-free.csv")[0].T] + [load(data / name)[0].T for name in dev]
    config = TrainConfig(epochs=epochs, lr=1e-3, patience=5, seed=seed, quiet=True, device="cpu")
    fit = fit_model_on_series(series, model=FAMILY, window=WINDOW, hop=2, params=PARAMS, config=config)
    fit.save(out)
    return out, sum(x.shape[1] for x in series)


def evaluate_series(path: Path, train_end: int, fraction: float, init: Path, seeds: int,
                    epochs: int) -> dict[str, list[float]]:
    """PR-AUC / ROC-AUC / F1 per setting for one held-out series, one entry per seed."""
    import tsae

    X, y, names, _ = load(path)
    cut = max(WINDOW + 4, int(round(train_end * fraction)))
    results: dict[str, list[float]] = {}
    settings = [("AE alone", False), ("AE + PCA (default score)", True)]
    for seed in range(seeds):
        for label, linear in settings:
            runs = [(f"{label}, {fraction:.0%} rows", cut, None), (f"{label}, {fraction:.0%} rows, --init", cut, init)]
            runs.append((f"{label}, all {train_end} rows (reference)", train_end, None))
            for name, rows, start in runs:
                det = tsae.Detector(model=FAMILY, window=WINDOW, model_params=dict(PARAMS), linear=linear,
                                    epochs=epochs if rows == cut else 40, seed=seed, device="cpu", init=start)
                det.fit(X[:rows].T, sensors=names)
                scores = det.decision_function(X.T)
                roc, pr, f1 = metrics(y[train_end:], scores[train_end:])
                for key, value in (("pr", pr), ("roc", roc), ("f1", f1)):
                    results.setdefault(f"{name}|{key}", []).append(value)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--fraction", type=float, default=0.1, help="share of the training part kept")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--dev", default="0,1,2,3,4", help="valve1 series used for pretraining (never scored)")
    parser.add_argument("--only", default=None, help="score only these held-out valve1 numbers (comma list)")
    parser.add_argument("--epochs", type=int, default=200, help="detector training epochs on the cut rows")
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    args = parser.parse_args(argv)

    import pandas as pd
    import torch

    if not (args.data / "manifest.csv").is_file():
        print(f"{args.data}: no manifest.csv of the anomaly data (pass --data DIR)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    manifest = pd.read_csv(args.data / "manifest.csv")
    valve = manifest[manifest.file.str.startswith("skab_valve1_")]
    number = valve.file.str.extract(r"_(\d+)\.csv")[0].astype(int)
    dev_ids = {int(v) for v in args.dev.split(",") if v}
    held = valve[~number.isin(dev_ids)]
    if args.only:
        held = held[number[~number.isin(dev_ids)].isin({int(v) for v in args.only.split(",")})]
    dev = list(valve[number.isin(dev_ids)].file)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        init, rows = pretrain(args.data, dev, args.pretrain_epochs, 0, Path(tmp) / "pretrained.tsae")
        print(f"pretrained {FAMILY} (window {WINDOW}) on {rows} unlabelled rows: skab_anomaly-free + "
              f"{', '.join(dev)} ({time.perf_counter() - started:.0f} s)", flush=True)
        table: dict[str, list[float]] = {}
        for item in held.itertuples():
            found = evaluate_series(args.data / item.file, int(item.train_end), args.fraction, init, args.seeds,
                                    args.epochs)
            for key, values in found.items():
                table.setdefault(key, []).append(float(np.mean(values)))
            prs = {k.split("|")[0]: float(np.mean(v)) for k, v in found.items() if k.endswith("|pr")}
            print(f"  {item.file}: " + "; ".join(f"{k} PR-AUC {v:.3f}" for k, v in prs.items()), flush=True)
    names = list(dict.fromkeys(key.split("|")[0] for key in table))
    print(f"\nheld-out SKAB valve1 series: {len(held)}, seeds: {args.seeds}, detector epochs {args.epochs}, "
          f"{time.perf_counter() - started:.0f} s")
    print(f"{'setting':<52} {'PR-AUC':>7} {'ROC-AUC':>8} {'best F1':>8}")
    for name in names:
        print(f"{name:<52} {np.mean(table[name + '|pr']):7.3f} {np.mean(table[name + '|roc']):8.3f} "
              f"{np.mean(table[name + '|f1']):8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
