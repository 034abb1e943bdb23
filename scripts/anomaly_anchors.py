"""Anchor detectors of scripts/eval_anomaly.py: one score per sample of a whole series.

Semi-supervised (learn from the training rows only, score the whole series), on windows z-scored with the
training rows' statistics, window ``min(series window, 128, train_end // 2)`` (at least 8):

- pca: windowed PCA reconstruction error (90% of the variance), each window's error spread over the samples
  it covers (mean over the covering windows);
- iforest: scikit-learn's IsolationForest on the same windows, spread the same way;
- stumpy: matrix-profile discord: each window's z-normalised distance to its nearest training window
  (AB-join), summed over sensors, spread the same way;
- pyod_ae: PyOD's AutoEncoder (10 epochs, batch 64 or all the windows if fewer) on the same windows,
  flattened, spread the same way.

TSB-AD 1.5's methods, run as TSB-AD runs them: unsupervised on the whole raw series, anomalies included
(TSB-AD ranks them in that mode; POLY, MatrixProfile and KShapeAD have no separate scoring step; Sub-PCA has
one, but fitted on the training rows it would no longer be the method TSB-AD ranked), hyper-parameters from
its ``Optimal_Uni_algo_HP_dict`` (periodicity 1: the window is ``find_length_rank(rank=1)`` of the series),
univariate: a multivariate series is scored sensor by sensor (constant sensors skipped), each sensor's scores
min-max scaled to [0, 1] (TSB-AD's own score scaling) and averaged:

- sub_pca: Sub-PCA (PCA on the sliding windows; distance to the principal axes, weighted);
- poly: POLY (local polynomial fit of degree 4, Fourier-measure residual score);
- mp: MatrixProfile (stumpy self-join discord);
- kshape: KShapeAD (SAND offline: k-Shape clusters of subsequences, distance to the weighted centroids).

NumPy 2 removed ``np.Inf``, which TSB-AD's SAND (kshape) still uses: :func:`tsb_ad` restores the alias.
"""
from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

SEMI = ("pca", "iforest", "stumpy", "pyod_ae")
TSB = {"sub_pca": "Sub_PCA", "poly": "POLY", "mp": "MatrixProfile", "kshape": "KShapeAD"}
ANCHORS = (*SEMI, *TSB)


def tsb_ad() -> None:
    """Import TSB-AD's model wrapper once, with NumPy 2's missing ``np.Inf`` alias restored."""
    if not hasattr(np, "Inf"):
        setattr(np, "Inf", np.inf)  # noqa: B010 (an attribute NumPy 2 removed; plain assignment trips NPY201)
    import TSB_AD.model_wrapper  # noqa: F401


def series_window(X: np.ndarray) -> int:
    """TSB-AD's sliding window of a series (rows, sensors): ``find_length_rank(rank=1)`` of its first sensor."""
    from TSB_AD.utils.slidingWindows import find_length_rank

    return int(find_length_rank(np.asarray(X, dtype=np.float64)[:, :1], rank=1))


def repair(X: np.ndarray) -> np.ndarray:
    """Gaps (NaN) filled by linear interpolation along time, ends by the nearest value."""
    import pandas as pd

    return pd.DataFrame(X).interpolate(limit_direction="both").fillna(0.0).to_numpy(dtype=np.float64)


def spread(window_scores: np.ndarray, n: int, window: int) -> np.ndarray:
    """Per-sample mean of the scores of the (hop 1) windows covering each sample."""
    acc = np.zeros(n)
    cnt = np.zeros(n)
    for j in range(window):
        acc[j: j + len(window_scores)] += window_scores
        cnt[j: j + len(window_scores)] += 1
    return acc / np.maximum(cnt, 1)


def semi_window(window: int, train_end: int) -> int:
    """The window of the semi-supervised anchors: the series window, at most 128 and half the training rows."""
    return int(max(8, min(window, 128, train_end // 2)))


def semi_supervised(name: str, X: np.ndarray, train_end: int, window: int, seed: int = 0) -> np.ndarray:
    """Scores of the semi-supervised anchor ``name`` for the series ``X`` (rows, sensors)."""
    X = repair(X)
    mean, std = X[:train_end].mean(axis=0), X[:train_end].std(axis=0)
    Z = (X - mean) / np.where(std > 0, std, 1.0)
    n, channels = Z.shape
    L = semi_window(window, train_end)
    frames = np.lib.stride_tricks.sliding_window_view(Z, L, axis=0)  # (n-L+1, C, L)
    flat = frames.reshape(len(frames), -1)
    train = flat[: train_end - L + 1]
    if name == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=0.9, svd_solver="full").fit(train)
        recon = pca.inverse_transform(pca.transform(flat))
        return spread(((recon - flat) ** 2).sum(axis=1), n, L)
    if name == "iforest":
        from sklearn.ensemble import IsolationForest

        forest = IsolationForest(random_state=seed).fit(train)
        return spread(-forest.score_samples(flat), n, L)
    if name == "stumpy":
        import stumpy

        total = np.zeros(len(frames))
        for c in range(channels):
            series = Z[:, c]
            if np.ptp(series) == 0:
                continue
            profile = stumpy.stump(series, L, T_B=series[:train_end], ignore_trivial=False)[:, 0].astype(float)
            profile[~np.isfinite(profile)] = np.nan
            fill = np.nanmax(profile) if np.isfinite(profile).any() else 0.0
            total += np.nan_to_num(profile, nan=fill)
        return spread(total, n, L)
    if name == "pyod_ae":
        from pyod.models.auto_encoder import AutoEncoder

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # PyOD drops the last partial batch: fewer windows than a batch would train nothing
            ae = AutoEncoder(epoch_num=10, batch_size=min(64, len(train)), random_state=seed, verbose=0, device="cpu")
            ae.fit(train.astype(np.float32))
            return spread(ae.decision_function(flat.astype(np.float32)), n, L)
    raise ValueError(f"unknown semi-supervised anchor {name!r}")


def unsupervised(name: str, X: np.ndarray) -> np.ndarray:
    """Scores of TSB-AD's method ``name`` (a key of ``TSB``) on the whole series ``X`` (rows, sensors)."""
    tsb_ad()
    import TSB_AD.model_wrapper as wrapper
    from TSB_AD.HP_list import Optimal_Uni_algo_HP_dict

    algo = TSB[name]
    run = getattr(wrapper, f"run_{algo}")
    X = repair(X)
    total = np.zeros(len(X))
    used = 0
    for c in range(X.shape[1]):
        x = X[:, c: c + 1]
        if np.ptp(x) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = np.asarray(run(x, **Optimal_Uni_algo_HP_dict[algo]), dtype=np.float64).ravel()
        s = np.nan_to_num(s, nan=np.nanmin(s) if np.isfinite(s).any() else 0.0)
        span = np.ptp(s)
        total += (s - s.min()) / span if span > 0 else 0.0
        used += 1
    return total / max(used, 1)


def anchor_scores(name: str, X: np.ndarray, train_end: int, window: int, seed: int = 0) -> np.ndarray:
    """Scores of anchor ``name`` (one of ``ANCHORS``) for the series ``X`` (rows, sensors)."""
    if name in SEMI:
        return semi_supervised(name, X, train_end, window, seed)
    return unsupervised(name, X)


def detector_kwargs(text: str) -> dict[str, Any]:
    """The keyword arguments of ``--detector-kw`` (a JSON object) for ``tsae.Detector``; a one-line exit otherwise."""
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as error:
        raise SystemExit(f"--detector-kw is not JSON: {error}") from None
    if not isinstance(kwargs, dict):
        raise SystemExit("--detector-kw must be a JSON object of keyword arguments")
    return kwargs
