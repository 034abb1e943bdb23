"""Evaluate tsae's anomaly Detector beside its anchors on the labelled NAB and SKAB series.

Protocol (/work/shared/data/anomaly/README.md): learn from rows [0, train_end), score
[train_end, end), measure on the scored rows of series with anomalies there: ROC-AUC,
PR-AUC (average precision) and best F1 without point adjustment. NAB and SKAB means
are reported separately.

Detectors, all given the whole series (so the first scored windows have context) and
measured on the scored rows only, each learning from the training rows only:

- tsae: ``tsae.Detector()`` with its defaults (what ``tsae detect fit`` uses): a small
  denoising conv1d autoencoder (code size = PCA rank) plus 3x a linear PCA residual term,
  errors overlap-added per sample, centred moving average over 2 windows;
- pca: windowed PCA reconstruction error (90% of the variance), per-window error
  spread over the samples the window covers (mean over covering windows);
- iforest: scikit-learn's IsolationForest on the same windows, spread the same way;
- stumpy: matrix-profile discord: each window's z-normalised distance to its nearest
  neighbour among the training windows (AB-join), summed over sensors, spread the same way;
- pyod_ae: PyOD's AutoEncoder on the same windows (flattened), spread the same way.

Windows are z-scored with the training rows' statistics; every anchor uses tsae's
window length for the series (its dominant period, clamped to [8, 128]).

Usage::

    python scripts/eval_anomaly.py [--data DIR] [--only nab|skab] [--series SUBSTR] [--skip stumpy,pyod_ae]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "anomaly"
METHODS = ["tsae", "pca", "iforest", "stumpy", "pyod_ae"]


def metrics(y: np.ndarray, s: np.ndarray) -> tuple[float, float, float]:
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

    s = np.nan_to_num(np.asarray(s, dtype=np.float64), nan=np.nanmin(s) if np.isfinite(s).any() else 0.0)
    p, r, _ = precision_recall_curve(y, s)
    f1 = float(np.max(2 * p * r / np.maximum(p + r, 1e-12)))
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s)), f1


def spread(window_scores: np.ndarray, n: int, window: int) -> np.ndarray:
    """Per-sample mean of the scores of the (hop 1) windows covering each sample."""
    acc = np.zeros(n)
    cnt = np.zeros(n)
    for j in range(window):
        acc[j: j + len(window_scores)] += window_scores
        cnt[j: j + len(window_scores)] += 1
    return acc / np.maximum(cnt, 1)


def load(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import pandas as pd

    df = pd.read_csv(path)
    labels = df["label"].to_numpy() if "label" in df else np.zeros(len(df), dtype=int)
    X = df.drop(columns=[c for c in ("timestamp", "label") if c in df]).astype(float)
    return X.to_numpy(), labels, list(X.columns)


def anchors(Z: np.ndarray, te: int, window: int, skip: set[str], seed: int = 0) -> dict[str, np.ndarray]:
    """Scores of the anchor detectors for the z-scored series ``Z`` (n, C)."""
    n, channels = Z.shape
    frames = np.lib.stride_tricks.sliding_window_view(Z, window, axis=0)  # (n-L+1, C, L)
    flat = frames.reshape(len(frames), -1)
    train = flat[: te - window + 1]
    out: dict[str, np.ndarray] = {}
    if "pca" not in skip:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=0.9, svd_solver="full").fit(train)
        recon = pca.inverse_transform(pca.transform(flat))
        out["pca"] = spread(((recon - flat) ** 2).sum(axis=1), n, window)
    if "iforest" not in skip:
        from sklearn.ensemble import IsolationForest

        forest = IsolationForest(random_state=seed).fit(train)
        out["iforest"] = spread(-forest.score_samples(flat), n, window)
    if "stumpy" not in skip:
        import stumpy

        total = np.zeros(len(frames))
        for c in range(channels):
            series = Z[:, c].astype(np.float64)
            if np.ptp(series[:te]) == 0 and np.ptp(series) == 0:
                continue
            profile = stumpy.stump(series, window, T_B=series[:te], ignore_trivial=False)[:, 0].astype(float)
            profile[~np.isfinite(profile)] = np.nan
            fill = np.nanmax(profile) if np.isfinite(profile).any() else 0.0
            total += np.nan_to_num(profile, nan=fill)
        out["stumpy"] = spread(total, n, window)
    if "pyod_ae" not in skip:
        from pyod.models.auto_encoder import AutoEncoder

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ae = AutoEncoder(epoch_num=10, batch_size=64, random_state=seed, verbose=0, device="cpu")
            ae.fit(train.astype(np.float32))
            out["pyod_ae"] = spread(ae.decision_function(flat.astype(np.float32)), n, window)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", choices=["nab", "skab"])
    parser.add_argument("--series", default="", help="only series whose file name contains this")
    parser.add_argument("--skip", default="", help="comma-separated anchors to skip")
    parser.add_argument("--param", action="append", default=[], help="tsae Detector override key=value")
    args = parser.parse_args(argv)

    import pandas as pd
    import torch

    import tsae
    from tsae.engine.preprocess import Normalizer, repair_missing

    torch.set_num_threads(1)
    data = args.data.resolve()
    if not (data / "manifest.csv").exists():
        print(f"no data set at {data} (expected manifest.csv)", file=sys.stderr)
        return 2
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    overrides: dict[str, object] = {}
    for item in args.param:
        key, _, value = item.partition("=")
        try:
            overrides[key] = int(value)
        except ValueError:
            try:
                overrides[key] = float(value)
            except ValueError:
                overrides[key] = {"true": True, "false": False}.get(value.lower(), value)
    model_params = {k.split(".", 1)[1]: overrides.pop(k) for k in list(overrides) if k.startswith("model_params.")}
    if model_params:
        overrides["model_params"] = model_params
    methods = [m for m in METHODS if m not in skip]
    manifest = pd.read_csv(data / "manifest.csv")
    print(f"tsae.Detector settings: defaults{' + ' + repr(overrides) if overrides else ''}", flush=True)
    rows = []
    seconds = {m: 0.0 for m in methods}
    started = time.perf_counter()
    for _, item in manifest.iterrows():
        source = "NAB" if item.file.startswith("nab_") else "SKAB"
        if args.only and source.lower() != args.only:
            continue
        if args.series and args.series not in item.file:
            continue
        X, labels, names = load(data / item.file)
        te = int(item.train_end)
        if labels[te:].sum() == 0 or labels[te:].min() == 1:
            continue
        t0 = time.perf_counter()
        det = tsae.Detector(device="cpu", **overrides).fit(X[:te].T, sensors=names)
        scores = {"tsae": det.decision_function(X.T)}
        seconds["tsae"] += time.perf_counter() - t0
        # anchors: tsae's linear repair of gaps and z-scoring (training statistics), same window
        Xf = repair_missing(X.T)
        Z = Normalizer("zscore").fit(Xf[:, :te]).transform(Xf).T
        for method in methods[1:]:
            t0 = time.perf_counter()
            scores.update(anchors(Z, te, det.window_, skip | (set(METHODS[1:]) - {method})))
            seconds[method] += time.perf_counter() - t0
        row = {"source": source, "series": item.file.removesuffix(".csv"), "window": det.window_}
        for method in methods:
            roc, pr, f1 = metrics(labels[te:], scores[method][te:])
            row.update({f"{method}_roc": roc, f"{method}_pr": pr, f"{method}_f1": f1})
        rows.append(row)
        print(f"{source:4s} {row['series'][:44]:44s} L={det.window_:3d} "
              + " ".join(f"{m}={row[f'{m}_pr']:.3f}" for m in methods), flush=True)
    if not rows:
        print("no series matched", file=sys.stderr)
        return 2
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 200)
    print("\nPer series (ROC-AUC / PR-AUC / best F1, no point adjustment):")
    for _, row in table.iterrows():
        cells = "  ".join(f"{m} {row[f'{m}_roc']:.3f}/{row[f'{m}_pr']:.3f}/{row[f'{m}_f1']:.3f}" for m in methods)
        print(f"  {row['source']:4s} {row['series'][:40]:40s} {cells}")
    print("\nMeans by source (ratio = tsae / best anchor):")
    header = f"{'source':6s} {'metric':8s} " + " ".join(f"{m:>8s}" for m in methods) + f" {'ratio':>7s}"
    print(header)
    print("-" * len(header))
    for source, group in table.groupby("source"):
        for metric, label in (("roc", "ROC-AUC"), ("pr", "PR-AUC"), ("f1", "best F1")):
            means = {m: group[f"{m}_{metric}"].mean() for m in methods}
            best_anchor = max((v for m, v in means.items() if m != "tsae"), default=float("nan"))
            ratio = means["tsae"] / best_anchor if "tsae" in means else float("nan")
            print(f"{source:6s} {label:8s} " + " ".join(f"{means[m]:8.3f}" for m in methods) + f" {ratio:7.3f}")
        print(f"{source:6s} {'series':8s} {len(group):8d}")
    print("\nSeconds (fit + score, all series): " + ", ".join(f"{m} {seconds[m]:.1f}" for m in methods)
          + f"; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
