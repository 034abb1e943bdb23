"""Accuracy measures of scripts/eval_anomaly.py: per-series scores against 0/1 labels, no point adjustment.

- ROC-AUC and PR-AUC (average precision): scikit-learn, on the samples.
- VUS-ROC and VUS-PR: TSB-AD 1.5's own implementation (``generate_curve``, version "opt", 250 thresholds),
  the volume under the range-based ROC/PR surfaces for label buffers of 0..``window`` samples.
- event F1 (:func:`event_f1`): recall counted in labelled events, precision in samples, best over thresholds.
"""
from __future__ import annotations

import numpy as np


def clean(scores: np.ndarray) -> np.ndarray:
    """Scores as float64 with NaN and infinities replaced by the finite extremes (a detector's gaps)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    finite = np.isfinite(s)
    if not finite.any():
        return np.zeros_like(s)
    lo, hi = s[finite].min(), s[finite].max()
    return np.nan_to_num(s, nan=lo, posinf=hi, neginf=lo)


def labelled_events(labels: np.ndarray) -> list[tuple[int, int]]:
    """The runs of ones in ``labels`` as ``(start, stop)`` half-open index pairs."""
    y = np.asarray(labels).astype(bool).astype(np.int8)
    edges = np.diff(np.concatenate([[0], y, [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def event_f1(labels: np.ndarray, scores: np.ndarray) -> float:
    """Best F1 over all thresholds of event-wise recall and sample-wise precision, without point adjustment.

    An alarm at threshold ``t`` is every sample with ``score >= t``. Recall is the fraction of labelled
    events (runs of ones) with at least one alarmed sample; precision is the fraction of alarmed samples
    that are labelled anomalous. Every distinct score is tried as a threshold and the best F1 returned
    (the "composite F1" of Garg et al., IEEE TNNLS 2021).

    Precision is counted in samples, not in alarm events, on purpose: with precision counted in events, a
    threshold so low that one alarm covers the whole series would score F1 = 1 (one alarm, touching every
    labelled event). Counting samples, that threshold scores the anomaly rate as precision. Recall counted
    in events means a detector gets no more credit for a long event than for a short one, and no credit for
    alarms next to an event; unlike point adjustment, the event's other samples are not counted as found.

    Parameters
    ----------
    labels : array of 0/1, shape (n,)
    scores : array, shape (n,); higher means more anomalous.

    Returns
    -------
    float
        The best F1; 0.0 when there is no labelled event.
    """
    y = np.asarray(labels).astype(bool).ravel()
    s = clean(scores)
    events = labelled_events(y)
    if not events:
        return 0.0
    order = np.argsort(-s, kind="stable")
    ranked = s[order]
    # the alarm set at a threshold is a prefix of `order`; evaluate only where a run of equal scores ends
    ends = np.flatnonzero(np.diff(ranked) != 0).tolist() + [len(s) - 1]
    ends_arr = np.asarray(ends)
    true_alarms = np.cumsum(y[order])[ends_arr]
    alarms = ends_arr + 1
    rank = np.empty(len(s), dtype=np.int64)
    rank[order] = np.arange(len(s))
    first_alarm = np.array([rank[a:b].min() for a, b in events])  # position where each event is first found
    found = np.searchsorted(np.sort(first_alarm), ends_arr, side="right")
    precision = true_alarms / alarms
    recall = found / len(events)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(f1.max())


def point_metrics(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float, float]:
    """ROC-AUC, PR-AUC and the best sample-wise F1 over thresholds (no point adjustment)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

    s = clean(scores)
    p, r, _ = precision_recall_curve(labels, s)
    f1 = float(np.max(2 * p * r / np.maximum(p + r, 1e-12)))
    return float(roc_auc_score(labels, s)), float(average_precision_score(labels, s)), f1


def vus(labels: np.ndarray, scores: np.ndarray, window: int) -> tuple[float, float]:
    """VUS-ROC and VUS-PR from TSB-AD 1.5 (``TSB_AD.evaluation.basic_metrics.generate_curve``)."""
    from TSB_AD.evaluation.basic_metrics import generate_curve

    *_, vus_roc, vus_pr = generate_curve(np.asarray(labels).astype(int), clean(scores), int(window), "opt", 250)
    return float(vus_roc), float(vus_pr)


def series_metrics(labels: np.ndarray, scores: np.ndarray, window: int, with_vus: bool = True) -> dict[str, float]:
    """All measures of one series' scored rows: ``roc``, ``pr``, ``vus_roc``, ``vus_pr``, ``event_f1``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    s = clean(scores)
    out = {"roc": float(roc_auc_score(labels, s)), "pr": float(average_precision_score(labels, s))}
    if with_vus:
        out["vus_roc"], out["vus_pr"] = vus(labels, s, window)
    out["event_f1"] = event_f1(labels, s)
    return out
