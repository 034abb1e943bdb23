"""Counts (events per interval) are smoothed on a scale where their noise is even.

Poisson counts have a variance equal to their rate: a smoother that assumes one noise level
for the whole series under-smooths where the rate is low and keeps the lone high counts of a
low rate as spikes. The Anscombe transform ``2 sqrt(y + 3/8)`` makes the noise of counts
nearly unit-variance Gaussian at every rate, so the series is smoothed there and the result
mapped back with the exact unbiased inverse (the rate whose transformed counts have that
mean, tabulated; the algebraic inverse would bias low rates), after Makitalo and Foi (2011).

A channel is taken as counts when its finite values are non-negative whole numbers, at least
three different ones, and the variance of its white noise (from second differences) is within a factor
of :data:`DISPERSION` of its mean, as a Poisson variable's is. Whole
numbers whose noise is far from their level (an integer ADC reading, a count of thousands with
little spread) are smoothed as they are.
"""
from __future__ import annotations

import math

import numpy as np

from tsae.io.tables import whole_numbers

__all__ = ["count_channels", "to_even_noise", "from_even_noise"]

#: how far a channel's noise variance may be from its mean, either way, to be taken as counts
DISPERSION = 2.0

_LOW = 2.0 * math.sqrt(3.0 / 8.0)  # the transform of a zero count


def count_channels(x: np.ndarray) -> np.ndarray:
    """Which channels of ``x`` ``(channels, n)`` look like Poisson counts (see the module notes)."""
    found = np.zeros(len(x), dtype=bool)
    for c, row in enumerate(x):
        values = row[np.isfinite(row)]
        if len(values) < 5 or values.min() < 0 or not whole_numbers(values):
            continue
        mean = float(values.mean())
        if mean <= 0 or len(np.unique(values[: 1 << 16])) < 3:
            continue
        found[c] = 1.0 / DISPERSION <= _white_noise_variance(values) / mean <= DISPERSION
    return found


def _white_noise_variance(values: np.ndarray) -> float:
    """The variance of white noise in ``values``, from their second differences less the largest 1 %.

    Not :func:`~tsae.pipelines.smooth.smoother.noise_sigma`'s median: the median of whole numbers is a
    whole number, and at rates near 1 it puts the variance anywhere from 0.4 to 1.5 times the truth.
    """
    d = np.abs(values[2:] - 2.0 * values[1:-1] + values[:-2])
    if len(d) == 0:
        return 0.0
    kept = np.sort(d)[: max(1, int(0.99 * len(d)))]
    return float(np.mean(kept**2)) / 6.0 / _TRIMMED_SHARE


#: the share of a Gaussian's variance left once its largest 1 % (in magnitude) are dropped
_TRIMMED_SHARE = 0.925


def to_even_noise(y: np.ndarray) -> np.ndarray:
    """The Anscombe transform of counts ``y``: noise of nearly unit variance at every rate."""
    return 2.0 * np.sqrt(np.maximum(y, 0.0) + 3.0 / 8.0)


def _expected_transform(rates: np.ndarray) -> np.ndarray:
    """The mean of :func:`to_even_noise` of Poisson counts at each rate (summed over the counts that matter)."""
    from scipy.stats import poisson

    top = int(rates.max() + 12.0 * math.sqrt(rates.max()) + 30.0)
    counts = np.arange(top + 1, dtype=np.float64)
    return poisson.pmf(counts[None, :], rates[:, None]) @ to_even_noise(counts)


_TABLE_TOP = 400.0  # beyond this rate the asymptotic inverse is exact to far below the noise
_RATES = np.concatenate([[0.0], np.geomspace(1e-4, _TABLE_TOP, 2000)])
_TABLE: np.ndarray | None = None


def from_even_noise(s: np.ndarray) -> np.ndarray:
    """The rate whose counts have transformed mean ``s`` (the exact unbiased inverse of :func:`to_even_noise`).

    Below the transform of a zero count the rate is 0; beyond the table, the asymptotic inverse
    ``s**2 / 4 - 1/8`` (its error falls as ``1 / s**2``).
    """
    global _TABLE
    if _TABLE is None:
        _TABLE = _expected_transform(_RATES)
    s = np.asarray(s, dtype=np.float64)
    out = np.interp(s, _TABLE, _RATES)
    beyond = s > _TABLE[-1]
    out[beyond] = s[beyond] ** 2 / 4.0 - 1.0 / 8.0
    out[~(s > _LOW)] = 0.0
    return np.where(np.isnan(s), np.nan, out)


def on_even_scale(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``x`` ``(channels, n)`` with its ``counts`` channels transformed by :func:`to_even_noise`."""
    out = x.copy()
    out[counts] = to_even_noise(x[counts])
    return out


def back_from_even_scale(smoothed: np.ndarray, even: np.ndarray, raw: np.ndarray, counts: np.ndarray,
                         strength: float) -> np.ndarray:
    """The output of a smoother run on :func:`on_even_scale` data ``even`` at full strength, on ``raw``'s scale.

    The counts channels come back as rates (:func:`from_even_noise`), a sample the smoother kept as it was
    (a spike the edge guard kept) as its count, and each is blended with ``raw`` by ``strength`` there; the other
    channels are blended by ``strength`` as they are.
    """
    out = raw + strength * (smoothed - raw)
    rates = from_even_noise(smoothed[counts])
    kept = smoothed[counts] == even[counts]
    rates[kept] = raw[counts][kept]
    out[counts] = raw[counts] + strength * (rates - raw[counts])
    return out
