"""A threshold from an event-level false-alarm budget: at most N false-alarm events per day.

Users count alarms, not flagged samples: an *event* is what the tool reports, a run of
samples above the threshold, runs closer than the merge gap joined into one
(:func:`tsae.pipelines.anomaly.events.find_events`). :func:`budget_threshold` picks the
lowest threshold at which normal data raises at most ``alarms_per_day`` events a day.

The normal data held out at fit time lasts hours to days, so a budget of one alarm a day
usually lies beyond the largest peak it shows. The event rate is therefore extrapolated:

1. *Declustered peaks.* At a base level ``u0`` the scores are grouped into events (the
   same merge gap); each event contributes one peak, its highest score. Peaks of one event
   are dependent, peaks of different events nearly independent. ``u0`` is the highest
   candidate level (quantiles of the scores) that leaves at least ``min_peaks`` events, or
   the level with the most events when none does (smoothed scores of a short series may
   hold only a few dozen independent events at any level).
2. *Tail model.* The peaks' excesses over ``u0`` follow a generalized Pareto distribution
   (:func:`~tsae.pipelines.anomaly.thresholds.fit_gpd`), so the rate of events whose peak
   exceeds ``u`` is ``rate(u0) * P(excess > u - u0)``, valid beyond the largest peak seen.
3. *Conservative when data is scarce.* The shape is never taken below 0 (an exponential
   tail at least: a fitted bounded tail would put its end point just above the largest
   peak seen, and the next days' peaks beyond it), the base rate is its upper (about 84%)
   Poisson bound, and the scale is raised by one standard error of its estimate from ``k``
   peaks (a factor ``1 + 1 / sqrt(k)``). With fewer than ``FEW_PEAKS`` peaks a shape
   cannot be estimated (a maximum-likelihood shape from 7 peaks can put the threshold
   thousands of times above the scores): the tail is exponential, its scale the mean
   excess raised by two standard errors (``1 + 2 / sqrt(k)``). Either scale is at least the
   scores' standard deviation before the margin: a few peaks from hours of data can show a
   far narrower tail than the days after them (measured: a two-sensor detector fitted on
   5,000 rows raised 7 events in 3.5 days at a threshold from the peaks' own scale). One or
   two peaks (a few hundred held-out rows) are still extrapolated so: the highest held-out
   score as the threshold flagged 12 % of new normal rows after fits on 500-1,000 rows.
   Scarce data gives a higher threshold, not more alarms; a heavy-tailed score needs
   ``FEW_PEAKS`` events in the held-out data to be recognised as such.

The threshold is the larger of the extrapolated value and the lowest level at which the
held-out data itself raises no more events than the budget allows over its duration. The
returned parameters record the budget, the sampling interval, the held-out duration and
the *realised* events per day on the held-out scores at the chosen threshold.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tsae.pipelines.anomaly.thresholds import fit_gpd

SECONDS_PER_DAY = 86400.0
#: with fewer declustered peaks than this, no tail shape is fitted (an exponential tail, a wider margin)
FEW_PEAKS = 20


def event_peaks(scores: np.ndarray, threshold: float, merge_gap: int = 0) -> np.ndarray:
    """The peak score of each event above ``threshold`` (runs within ``merge_gap`` samples merged).

    The events are those of :func:`~tsae.pipelines.anomaly.events.find_events` on
    ``scores > threshold`` (NaN scores are never flagged), found without building them.

    Examples
    --------
    >>> event_peaks(np.array([0, 5, 6, 0, 0, 9.0]), 1.0)
    array([6., 9.])
    >>> event_peaks(np.array([0, 5, 6, 0, 0, 9.0]), 1.0, merge_gap=2)
    array([9.])
    """
    scores = np.asarray(scores, dtype=np.float64)
    flagged = np.flatnonzero(scores > threshold)
    if flagged.size == 0:
        return np.zeros(0)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(flagged) > merge_gap + 1) + 1))
    return np.maximum.reduceat(scores[flagged], starts)


def _gpd_survival(excess: float, xi: float, sigma: float) -> float:
    if abs(xi) < 1e-9:
        return math.exp(-excess / sigma)
    return float((1.0 + xi * excess / sigma) ** (-1.0 / xi))


def _gpd_level(probability: float, xi: float, sigma: float) -> float:
    """The excess whose survival probability is ``probability`` (inverse of :func:`_gpd_survival`)."""
    if abs(xi) < 1e-9:
        return -sigma * math.log(probability)
    return sigma / xi * (probability ** (-xi) - 1.0)


def _poisson_upper(count: int) -> float:
    """An upper (about 84%, one-sigma) bound on a Poisson mean that produced ``count`` events."""
    return count + 0.5 + math.sqrt(count + 0.25)


def _base_level(scores: np.ndarray, finite: np.ndarray, merge_gap: int, min_peaks: int) -> tuple[float, np.ndarray]:
    """``(u0, peaks over u0)``: the highest candidate level with ``min_peaks`` events, else the busiest."""
    levels = np.unique(np.quantile(finite, np.linspace(0.5, 0.999, 100)))
    best: tuple[float, np.ndarray] | None = None
    for level in levels[::-1]:
        peaks = event_peaks(scores, float(level), merge_gap)
        if peaks.size >= min_peaks:
            return float(level), peaks
        if best is None or peaks.size > best[1].size:
            best = (float(level), peaks)
    assert best is not None
    return best


def _empirical_level(scores: np.ndarray, descending: np.ndarray, merge_gap: int, allowed: float) -> float | None:
    """The lowest score level above every level at which ``scores`` raise more than ``allowed`` events, or None
    when no level does.

    The count of events is not monotone in the level: as it falls, runs merge, and every sample flagged is
    one event. So the first level over the budget is searched for from the top (doubling the rank), and the
    bisection kept between it and the last level within it: a bisection over all levels could end below a
    level over the budget, in the merged runs, with most of the data flagged.
    """
    over = lambda rank: event_peaks(scores, float(descending[rank]), merge_gap).size > allowed  # noqa: E731
    last = len(descending) - 1
    good, bad = 0, 1  # descending[good] is within the budget; descending[bad] (if any) is not
    while bad <= last and not over(bad):
        good, bad = bad, 2 * bad
    if bad > last:
        if not over(last):
            return None
        bad = last
    while bad - good > 1:
        mid = (good + bad) // 2
        if event_peaks(scores, float(descending[mid]), merge_gap).size <= allowed:
            good = mid
        else:
            bad = mid
    return float(descending[good])


def budget_threshold(scores: np.ndarray, alarms_per_day: float = 1.0, sample_interval: float = 1.0,
                     merge_gap: int = 0, min_peaks: int = 100) -> tuple[float, dict[str, Any]]:
    """The threshold that keeps false alarms on normal data within ``alarms_per_day`` events a day.

    Parameters
    ----------
    scores
        Scores of held-out normal data, in time order (no anomalies).
    alarms_per_day
        The budget: false-alarm events per day (> 0).
    sample_interval
        Seconds between samples.
    merge_gap
        Runs of flagged samples at most this many samples apart form one event.
    min_peaks
        Events wanted above the base level of the tail model (see the module docstring).

    Returns
    -------
    (threshold, params)
        ``params`` records ``alarms_per_day``, ``sample_interval``, ``merge_gap``,
        ``heldout_days`` (the duration of ``scores``), ``u0``, ``n_peaks``, ``xi`` and
        ``sigma`` (the tail model as used, margins included; None without one), ``few_peaks``, and
        ``realised_per_day`` / ``realised_events``: events per day and events on the
        held-out scores at the threshold; ``few_peaks`` is True with fewer than ``FEW_PEAKS`` peaks.

    Examples
    --------
    Independent exponential scores one second apart: an event a day is the score exceeded
    once in 86,400 samples, ``log(86400) = 11.4``; a budget fitted on a quarter of a day
    lands close above it.

    >>> rng = np.random.default_rng(0)
    >>> value, info = budget_threshold(rng.exponential(size=21600), alarms_per_day=1.0)
    >>> bool(11.0 < value < 15.0), info["realised_events"]
    (True, 0)
    """
    if not (alarms_per_day > 0 and math.isfinite(alarms_per_day)):
        raise ValueError(f"alarms_per_day={alarms_per_day!r} must be a positive number")
    if not (sample_interval > 0 and math.isfinite(sample_interval)):
        raise ValueError(f"sample_interval={sample_interval!r} must be a positive number of seconds")
    if merge_gap < 0:
        raise ValueError(f"merge_gap={merge_gap!r} must be >= 0")
    scores = np.asarray(scores, dtype=np.float64).ravel()
    finite = scores[np.isfinite(scores)]
    if finite.size == 0:
        raise ValueError("threshold: no finite scores to learn from")
    days = scores.size * sample_interval / SECONDS_PER_DAY
    allowed = alarms_per_day * days  # events the budget allows over the held-out duration

    descending = np.sort(finite)[::-1]
    empirical = _empirical_level(scores, descending, merge_gap, allowed)
    counted = "events"
    if empirical is None:
        # no level raises more events than the budget allows: events merged within the gap are too long for
        # it to tell (a window of 31 hours at 15 minutes a sample; every sample flagged is one event). Each
        # flagged sample counts as an alarm then, the finest event there is
        counted = "samples"
        empirical = float(descending[int(allowed)]) if allowed < len(descending) else float(descending[-1]) - 1.0
    u0, peaks = _base_level(scores, finite, merge_gap, min_peaks)
    params: dict[str, Any] = {"alarms_per_day": float(alarms_per_day), "sample_interval": float(sample_interval),
                              "merge_gap": int(merge_gap), "heldout_days": days, "u0": u0,
                              "n_peaks": int(peaks.size), "few_peaks": bool(peaks.size < FEW_PEAKS),
                              "xi": None, "sigma": None, "counted": counted}
    value = empirical
    excesses = peaks - u0
    spread = float(np.std(finite))
    if peaks.size >= 1 and spread > 0:  # all scores alike: nothing to extrapolate
        margin = 1.0 / math.sqrt(peaks.size)  # one standard error of a scale estimated from the peaks
        if peaks.size >= FEW_PEAKS:
            xi, sigma = fit_gpd(excesses)
            xi, sigma = max(xi, 0.0), max(sigma, spread) * (1.0 + margin)
        else:  # too few peaks to estimate a shape: an exponential tail, its scale two standard errors up
            xi, sigma = 0.0, max(float(excesses.mean()), spread) * (1.0 + 2.0 * margin)
        params.update(xi=xi, sigma=sigma)
        probability = allowed / _poisson_upper(peaks.size)  # of an event peak exceeding the threshold
        if probability < 1.0:
            value = max(value, u0 + _gpd_level(probability, xi, sigma))
    realised = int(event_peaks(scores, value, merge_gap).size)
    params.update(realised_events=realised, realised_per_day=realised / days)
    return float(value), params


__all__ = ["SECONDS_PER_DAY", "budget_threshold", "event_peaks"]
