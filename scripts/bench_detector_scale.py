"""Benchmark how the anomaly Detector's fit and score time grow with the length of the training series.

One sensor (a sine of period 50 plus 5% noise, one row a second) of 10,000, 100,000 and 1,000,000
rows; each method learns from all rows and scores 100,000 rows of the same process, one thread:

- tsae: ``tsae.Detector()`` with its defaults (training windows sampled, at most 20,000 rows held out);
- pca: windowed PCA (scikit-learn, 90% of the variance) on every window of the training rows, the
  anchor of ``scripts/eval_anomaly.py``;
- pyod_ae: PyOD's AutoEncoder (10 epochs) on every window, as the evaluation runs it; skipped above
  ``--pyod-max`` rows (its fit grows with the rows: every window is an example).

Prints one table (seconds) and tsae's ratio to each anchor.

Usage::

    python scripts/bench_detector_scale.py [--rows 10000,100000,1000000] [--pyod-max 100000]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import time
import warnings

import numpy as np

WINDOW = 50


def series(n: int, seed: int) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / WINDOW) + 0.05 * np.random.default_rng(seed).normal(size=n)


def windows(x: np.ndarray) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(x, WINDOW).astype(np.float32)


def bench_tsae(train: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    import tsae

    t0 = time.perf_counter()
    det = tsae.Detector(device="cpu").fit(train[None])
    t1 = time.perf_counter()
    det.decision_function(test[None])
    return t1 - t0, time.perf_counter() - t1


def bench_pca(train: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    from sklearn.decomposition import PCA

    t0 = time.perf_counter()
    pca = PCA(n_components=0.9, svd_solver="full").fit(windows(train))
    t1 = time.perf_counter()
    w = windows(test)
    ((pca.inverse_transform(pca.transform(w)) - w) ** 2).sum(axis=1)
    return t1 - t0, time.perf_counter() - t1


def bench_pyod(train: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    from pyod.models.auto_encoder import AutoEncoder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        ae = AutoEncoder(epoch_num=10, batch_size=64, random_state=0, verbose=0, device="cpu").fit(windows(train))
        t1 = time.perf_counter()
        ae.decision_function(windows(test))
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="10000,100000,1000000")
    parser.add_argument("--pyod-max", type=int, default=100_000)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    test = series(100_000, seed=1)
    bench_tsae(series(3000, seed=2), test[:1000])  # warm-up: imports and compilation are not counted
    print("| rows | tsae fit | tsae score | pca fit | pca score | pyod_ae fit | pyod_ae score | tsae / pca "
          "| tsae / pyod_ae |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in (int(v) for v in args.rows.split(",")):
        train = series(n, seed=0)
        tsae_fit, tsae_score = bench_tsae(train, test)
        pca_fit, pca_score = bench_pca(train, test)
        if n <= args.pyod_max:
            pyod_fit, pyod_score = bench_pyod(train, test)
            pyod = f"{pyod_fit:.1f} | {pyod_score:.1f}"
            ratio = f"{(tsae_fit + tsae_score) / (pyod_fit + pyod_score):.2f}"
        else:
            pyod, ratio = "skipped | skipped", "n/a"
        print(f"| {n:,} | {tsae_fit:.1f} | {tsae_score:.1f} | {pca_fit:.1f} | {pca_score:.1f} | {pyod} | "
              f"{(tsae_fit + tsae_score) / (pca_fit + pca_score):.2f} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
