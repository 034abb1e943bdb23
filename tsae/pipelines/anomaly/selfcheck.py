"""The detector's self-check: synthetic anomalies injected into held-out normal data.

At fit time the detector keeps the last part of the training rows out of training
(held-out normal data). Copies of it receive synthetic anomalies of each kind in
:data:`KINDS`; every candidate combination of score terms (autoencoder residual,
subspace residual, local statistics) scores them, and the candidate that finds the
injected anomalies best (mean average precision over the kinds) is kept. The choice is
made from the user's own data, not from a benchmark; the full combination is kept unless
another beats it by :data:`MARGIN`, because on real faults a sum of differently
blind scores was more robust than any single one (a choice among close candidates is
mostly noise on a few hundred held-out rows).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

#: the kinds of synthetic anomaly, in the order they are reported
KINDS = ("spike", "level_shift", "amplitude", "frequency", "flat_line", "noise_burst")
#: how much better (mean average precision) another candidate must be to replace the full combination
MARGIN = 0.1


def inject(x: np.ndarray, kind: str, rng: np.random.Generator, segment: int,
           count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Copy ``x`` ``(n_sensors, n)`` with synthetic anomalies of one ``kind``; return ``(copy, labels (n,))``.

    Each anomaly hits one sensor, chosen at random, over a segment of ``segment // 2`` to
    ``segment`` samples (1-2 samples for spikes), in separate parts of the series. Sizes are
    relative to the sensor's standard deviation ``sd`` in ``x``: a spike of 4-6 sd, a level
    shift of 1.5-3 sd, an amplitude change of x2-3 around the segment's mean, the segment
    played twice as fast (frequency change), held at its first value (flat line), or with
    Gaussian noise of 0.5-1 sd added (noise burst).

    Parameters
    ----------
    count
        Number of anomalies (default: one per ``3 * segment`` samples, 1 to 4).

    Examples
    --------
    >>> x = np.sin(np.arange(600) / 5.0)[None, :]
    >>> y, labels = inject(x, "level_shift", np.random.default_rng(0), segment=40)
    >>> bool(labels.any()), bool(np.allclose(y[0, ~labels], x[0, ~labels]))
    (True, True)
    """
    if kind not in KINDS:
        raise ValueError(f"unknown anomaly kind {kind!r} (one of {', '.join(KINDS)})")
    x = np.asarray(x, dtype=np.float64)
    out = x.copy()
    channels, n = x.shape
    segment = max(2, min(int(segment), n // 4))
    labels = np.zeros(n, dtype=bool)
    if count is None:
        count = int(np.clip(n // (3 * segment), 1, 4))
    for part in np.array_split(np.arange(n), count):
        length = int(rng.integers(1, 3)) if kind == "spike" else int(rng.integers(max(2, segment // 2), segment + 1))
        if len(part) <= length + 2:
            continue
        a = int(rng.integers(part[0], part[-1] - length))
        b = a + length
        c = int(rng.integers(channels))
        sd = max(float(np.std(x[c])), 1e-6)
        seg = x[c, a:b]
        sign = float(rng.choice([-1.0, 1.0]))
        if kind == "spike":
            out[c, a:b] = seg + sign * rng.uniform(4, 6) * sd
        elif kind == "level_shift":
            out[c, a:b] = seg + sign * rng.uniform(1.5, 3) * sd
        elif kind == "amplitude":
            out[c, a:b] = seg.mean() + (seg - seg.mean()) * rng.uniform(2, 3)
        elif kind == "frequency":
            source = x[c, a:]
            out[c, a:b] = source[(2 * np.arange(length)) % len(source)]
        elif kind == "flat_line":
            out[c, a:b] = seg[0]
        else:  # noise_burst
            out[c, a:b] = seg + rng.normal(0.0, rng.uniform(0.5, 1.0) * sd, length)
        labels[a:b] = True
    return out, labels


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise) of ``scores`` for 0/1 ``labels``.

    NaN scores count as the lowest. Tied scores are taken as one threshold, as scikit-learn's
    ``average_precision_score`` does.

    Examples
    --------
    >>> average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.8333333333333333
    """
    labels = np.asarray(labels, dtype=bool)
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    positives = int(labels.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last index of each run of tied scores
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall_step = np.diff(np.r_[0, tp]) / positives
    return float((precision * recall_step).sum())


def candidates(terms: Sequence[str]) -> list[tuple[str, ...]]:
    """Every non-empty combination of the available terms, the full one first."""
    terms = tuple(terms)
    out = [terms]
    for size in range(len(terms) - 1, 0, -1):
        out.extend(combinations(terms, size))
    return out


@dataclass
class SelfCheck:
    """What the self-check measured and chose (stored in the detector file, printed by ``detect fit``)."""

    chosen: tuple[str, ...]
    results: dict[str, dict[str, float]] = field(default_factory=dict)  # candidate -> kind -> AP, and "mean"
    held_out: int = 0
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"chosen": list(self.chosen), "results": self.results, "held_out": self.held_out,
                "reason": self.reason}

    def summary(self) -> str:
        """One line: the chosen terms, their mean AP on injected anomalies, and the runner-up."""
        name = "+".join(self.chosen)
        if not self.results:
            return f"terms {name} ({self.reason})"
        ranked = sorted(self.results.items(), key=lambda kv: -kv[1]["mean"])
        runner = next(((k, v) for k, v in ranked if k != name), None)
        text = (f"terms {name}: average precision {self.results[name]['mean']:.3f} on synthetic anomalies "
                f"injected into {self.held_out} held-out normal samples")
        if runner:
            text += f" (next: {runner[0]} {runner[1]['mean']:.3f})"
        return text + f"; {self.reason}"


def choose(results: Mapping[tuple[str, ...], Mapping[str, float]],
           margin: float = MARGIN) -> tuple[tuple[str, ...], str]:
    """Pick a candidate from ``{candidate: {kind: average precision}}`` (the first key is the full combination)."""
    means = {cand: float(np.nanmean(list(aps.values()))) for cand, aps in results.items()}
    full = next(iter(results))
    best = max(means, key=lambda cand: means[cand])
    if best != full and means[best] >= means[full] + margin:
        return best, f"{'+'.join(best)} beat the full combination by {means[best] - means[full]:.3f} (>= {margin})"
    return full, f"the full combination is kept unless another beats it by {margin}"


__all__ = ["KINDS", "MARGIN", "SelfCheck", "average_precision", "candidates", "choose", "inject"]
