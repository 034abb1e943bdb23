"""Alarm thresholds for anomaly scores: an empirical quantile, or peaks-over-threshold (EVT).

Both take the scores of normal data (higher = more anomalous) and return one number:
a sample whose score is above it is flagged.

- :func:`quantile_threshold` flags the top ``1 - q`` of normal scores.
- :func:`pot_threshold` is SPOT's initial step (Siffer et al., KDD 2017): take the
  ``init_level`` quantile ``t`` of the scores, fit a generalized Pareto distribution
  (:func:`scipy.stats.genpareto`) to the excesses over ``t``, and solve for the score
  whose probability of being exceeded by a normal sample is ``risk`` (the target
  false-alarm rate per sample). Unlike a quantile, it can extrapolate beyond the
  largest score seen in training.

Both count flagged *samples*; :mod:`tsae.pipelines.anomaly.alarm_budget` (the ``"budget"``
method of :func:`fit_threshold`, the detector's default) counts alarm *events* a day.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tsae.io.table_absurd import ABSURD

THRESHOLD_METHODS = ("budget", "pot", "quantile")


@dataclass
class Threshold:
    """A fitted threshold: ``value`` plus how it was obtained (stored in detector files)."""

    value: float
    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"value": float(self.value), "method": self.method, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Threshold:
        return cls(float(data["value"]), str(data["method"]), dict(data.get("params", {})))


def _clean(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    scores = scores[np.isfinite(scores)]
    if scores.size == 0:
        raise ValueError("threshold: no finite scores to learn from")
    return scores


def quantile_threshold(scores: np.ndarray, q: float = 0.995) -> float:
    """Return the ``q`` quantile of ``scores`` (``0 < q < 1``).

    Examples
    --------
    >>> round(quantile_threshold(np.arange(1001.0), q=0.99), 6)
    990.0
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile q={q!r} must be in (0, 1)")
    return float(np.quantile(_clean(scores), q))


def fit_gpd(excesses: np.ndarray) -> tuple[float, float]:
    """Fit a generalized Pareto distribution (location 0) to positive excesses.

    Returns ``(shape xi, scale sigma)``. Uses scipy's maximum likelihood, falling back
    to the method of moments when the optimiser fails or returns nonsense.
    """
    from scipy.stats import genpareto

    excesses = np.asarray(excesses, dtype=np.float64)
    mean = float(excesses.mean())
    var = float(excesses.var())
    try:
        xi, _, sigma = genpareto.fit(excesses, floc=0.0)
        if not (np.isfinite(xi) and np.isfinite(sigma) and sigma > 0):
            raise ValueError
    except Exception:  # method of moments
        if var <= 0:
            return 0.0, max(mean, 1e-12)
        xi = 0.5 * (1.0 - mean * mean / var)
        sigma = 0.5 * mean * (mean * mean / var + 1.0)
    return float(xi), float(sigma)


def pot_threshold(
    scores: np.ndarray, risk: float = 1e-3, init_level: float = 0.98, min_peaks: int = 10
) -> tuple[float, dict[str, Any]]:
    """Peaks-over-threshold (SPOT initialisation) threshold for a false-alarm rate ``risk``.

    Parameters
    ----------
    scores
        Scores of normal data.
    risk
        Target probability that a normal sample's score exceeds the threshold.
    init_level
        Quantile of ``scores`` above which the tail is modelled (0.98 as in SPOT).
    min_peaks
        With fewer excesses than this, fall back to the ``1 - risk`` quantile.

    Returns
    -------
    (threshold, params)
        ``params`` holds ``t`` (initial threshold), ``xi``, ``sigma``, ``n``, ``n_peaks``
        and ``fallback`` (True when the quantile was used instead).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z, info = pot_threshold(rng.exponential(size=200_000), risk=1e-4)
    >>> bool(abs(z - np.log(1e4)) < 0.3)   # the exact exp(1) quantile is 9.21
    True
    """
    if not 0.0 < risk < 1.0:
        raise ValueError(f"risk={risk!r} must be in (0, 1)")
    if not 0.0 < init_level < 1.0:
        raise ValueError(f"init_level={init_level!r} must be in (0, 1)")
    scores = _clean(scores)
    n = scores.size
    t = float(np.quantile(scores, init_level))
    excesses = scores[scores > t] - t
    params: dict[str, Any] = {"risk": risk, "init_level": init_level, "t": t, "n": int(n),
                              "n_peaks": int(excesses.size)}
    if excesses.size < min_peaks or risk * n >= excesses.size:
        # too few peaks to model, or the asked rate lies inside the observed body
        value = float(np.quantile(scores, 1.0 - risk))
        params.update(xi=None, sigma=None, fallback=True)
        return max(value, t), params
    xi, sigma = fit_gpd(excesses)
    ratio = risk * n / excesses.size
    if abs(xi) < 1e-6:
        value = t - sigma * math.log(ratio)
    else:
        value = t + sigma / xi * (ratio ** (-xi) - 1.0)
    if xi < 0:  # a bounded tail: never above its end point
        value = min(value, t - sigma / xi)
    params.update(xi=xi, sigma=sigma, fallback=False)
    return float(max(value, t)), params


def fit_threshold(
    scores: np.ndarray, method: str | float = "pot", *, risk: float = 1e-3, q: float = 0.995,
    init_level: float = 0.98, alarms_per_day: float = 1.0, sample_interval: float = 1.0, merge_gap: int = 0,
) -> Threshold:
    """Fit a :class:`Threshold` to normal scores.

    Parameters
    ----------
    method
        ``"budget"`` (at most ``alarms_per_day`` false-alarm events a day, scores
        ``sample_interval`` seconds apart, events merged within ``merge_gap`` samples: see
        :mod:`tsae.pipelines.anomaly.alarm_budget`), ``"pot"`` (peaks over threshold for the
        per-sample false-alarm rate ``risk``), ``"quantile"`` (the ``q`` quantile), or a
        number (a fixed threshold).
    """
    problem = threshold_problem(method)
    if problem:
        raise ValueError(f"threshold {problem}")
    if not isinstance(method, str):
        return Threshold(float(method), "fixed", {})
    name = method.lower()
    if name == "budget":
        from tsae.pipelines.anomaly.alarm_budget import budget_threshold

        value, params = budget_threshold(scores, alarms_per_day, sample_interval, merge_gap)
        return Threshold(value, "budget", params)
    if name == "pot":
        value, params = pot_threshold(scores, risk=risk, init_level=init_level)
        return Threshold(value, "pot", params)
    if name == "quantile":
        return Threshold(quantile_threshold(scores, q), "quantile", {"q": q})
    return Threshold(float(name), "fixed", {})


#: the highest fixed threshold: a score is a mean of normalised errors, and the inputs beyond this magnitude are
#: missing values (:data:`~tsae.io.table_absurd.ABSURD`)
MAX_FIXED = ABSURD


def threshold_problem(value: Any) -> str | None:
    """Why ``value`` is no threshold setting, or None: a method (:data:`THRESHOLD_METHODS`) or a fixed number.

    A fixed number (or its text) must be finite and not negative: scores are never negative, so a negative
    threshold would flag every sample, and an infinite one none; nor beyond :data:`MAX_FIXED` (no score reaches
    it, and a detector file holding it is refused as one no fit writes).

    Examples
    --------
    >>> threshold_problem("pot") is None and threshold_problem(2.5) is None
    True
    >>> threshold_problem(-1.0)
    '-1.0 is out of range [0.0, 1e+30] (scores are never negative)'
    """
    if isinstance(value, str):
        if value.lower() in THRESHOLD_METHODS:
            return None
        try:
            number = float(value)
        except ValueError:
            return f"{value[:40]!r}: unknown method (use budget, pot, quantile or a number)"
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        number = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
    else:
        return f"must be budget, pot, quantile or a number, not {str(value)[:40]!r}"
    if not math.isfinite(number):
        return f"must be a finite number, not {number}"
    if number < 0.0:
        return f"{number} is out of range [0.0, {MAX_FIXED:g}] (scores are never negative)"
    if number > MAX_FIXED:
        return f"{number} is out of range [0.0, {MAX_FIXED:g}] (no score reaches it)"
    return None
