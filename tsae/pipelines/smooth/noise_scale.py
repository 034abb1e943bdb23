"""Series whose noise grows with their level are smoothed on a scale where it is even.

The smoother assumes one noise level for the whole series. Where the noise grows with the
level, it under-smooths the quiet stretches and keeps the lone large deviations of the loud
ones as spikes. Two kinds are recognised, per channel (:func:`noise_kinds`), and smoothed on a
scale where their noise is even, then mapped back. The edge guard works on that scale; the prediction it
guards is made on the channel's own scale, where the errors weigh as a user measures them, and put on the
even one (:class:`~tsae.pipelines.smooth.smoother.LevelPredictor`):

- **Counts** (events per interval), Poisson-like: a variance equal to the rate. The Anscombe
  transform ``2 sqrt(y + 3/8)`` makes their noise nearly unit-variance Gaussian at every rate;
  the smoothed series comes back through the exact unbiased inverse (the rate whose transformed
  counts have that mean, tabulated; the algebraic inverse would bias low rates), after Makitalo
  and Foi (2011). A channel is counts when its finite values are non-negative whole numbers, at
  least three different ones, and the variance of its white noise (from second differences) is
  within a factor of :data:`DISPERSION` of its mean. Whole numbers whose noise is far from their
  level (an integer ADC reading, a count of thousands with little spread) are smoothed as they are.
- **Proportional noise** (a gain that wobbles, a relative measurement error): a noise level that
  grows in proportion to the level. The logarithm makes it even; the smoothed series comes back
  through ``exp``. A channel is proportional when its values are positive (but for a dip of the noise
  at or below 0 now and then, :data:`NON_POSITIVE_SHARE`, smoothed over as a gap is), its level
  varies over at least :data:`LEVEL_RANGE` (in natural log units) across :data:`LEVEL_BLOCKS`
  stretches, and the log of each stretch's noise level (:func:`~tsae.pipelines.smooth.smoother.noise_sigma`)
  rises with the log of its level with a slope of at least :data:`PROPORTIONAL_SLOPE` (noise
  that does not depend on the level gives slopes within +-0.25; proportional noise 0.7 to 1.1).

A sample the smoother keeps as it came (a spike the edge guard keeps) comes back as it came.

The logarithm makes proportional noise even, but not symmetric unless it is log-normal: Gaussian noise in
proportion to the level (``level * (1 + 0.3 N)``) has a long low tail on the log scale, where a dip of 2.8
of its sigmas lands 6 to 10 sigmas below the level, and the edge guard kept such dips as spikes (errors of
3 times the series' spread). A lone sample far off on the log scale that lies within 4 noise levels of the
prediction on its own scale (:func:`skew_outliers`) is taken as noise: a real spike lies far off on both.
"""
from __future__ import annotations

import math

import numpy as np

from tsae.engine.preprocess import repair_missing
from tsae.io.tables import whole_numbers
from tsae.pipelines.smooth.noise_tail import _OUTLIER_SIGMAS, _lone

__all__ = ["ADDITIVE", "COUNTS", "PROPORTIONAL", "noise_kinds", "robust_variance", "to_even_noise", "from_even_noise",
           "even_mean", "on_even_scale",
           "log_noise_levels", "skew_outliers", "back_from_even_scale"]

#: the kinds of noise :func:`noise_kinds` tells apart
ADDITIVE, COUNTS, PROPORTIONAL = 0, 1, 2

#: how far a channel's noise variance may be from its mean, either way, to be taken as counts
DISPERSION = 2.0
#: stretches whose levels and noise levels are compared, and the fewest samples each must hold
LEVEL_BLOCKS, BLOCK_SAMPLES = 16, 32
#: the least spread of the stretches' log levels that tells how the noise follows the level
LEVEL_RANGE = 0.5
#: the least slope of log noise level on log level that makes a channel's noise proportional
PROPORTIONAL_SLOPE = 0.6
#: the largest share of values at or below 0 a proportional channel may have (a deep dip of the noise
#: itself); they are smoothed over as gaps are, since the log scale has no place for them
NON_POSITIVE_SHARE = 0.01

_LOW = 2.0 * math.sqrt(3.0 / 8.0)  # the transform of a zero count
#: the smallest positive float64 (subnormal): a channel of subnormal values keeps its shape on the log scale
_SMALLEST = float(np.nextafter(0.0, 1.0))


def noise_kinds(x: np.ndarray) -> np.ndarray:
    """The kind of noise of each channel of ``x`` ``(channels, n)``: :data:`ADDITIVE`, :data:`COUNTS` or
    :data:`PROPORTIONAL` (see the module notes)."""
    kinds = np.full(len(x), ADDITIVE)
    for c, row in enumerate(x):
        values = row[np.isfinite(row)]
        if _counts(values):
            kinds[c] = COUNTS
        elif _proportional(values):
            kinds[c] = PROPORTIONAL
    return kinds


def _counts(values: np.ndarray) -> bool:
    """Whether finite ``values`` look like Poisson counts."""
    if len(values) < 5 or values.min() < 0 or not whole_numbers(values):
        return False
    mean = float(values.mean())
    if mean <= 0 or len(np.unique(values[: 1 << 16])) < 3:
        return False
    return 1.0 / DISPERSION <= _white_noise_variance(values) / mean <= DISPERSION


def _proportional(values: np.ndarray) -> bool:
    """Whether finite ``values`` have noise that grows in proportion to their level."""
    if len(values) < LEVEL_BLOCKS * BLOCK_SAMPLES or np.mean(values <= 0) > NON_POSITIVE_SHARE:
        return False
    values = values[values > 0]
    from tsae.pipelines.smooth.smoother import noise_sigma  # that module imports this one

    parts = np.array_split(values, LEVEL_BLOCKS)
    levels, noises = [float(np.median(part)) for part in parts], [noise_sigma(part) for part in parts]
    if min(noises) <= 0:
        return False
    log_levels, log_noises = np.log(levels), np.log(noises)  # (a floor of 1e-300 made a series at 1e-300 additive)
    if np.ptp(log_levels) < LEVEL_RANGE:
        return False
    return float(np.polyfit(log_levels, log_noises, 1)[0]) >= PROPORTIONAL_SLOPE


def _white_noise_variance(values: np.ndarray) -> float:
    """The variance of white noise in ``values``, from their second differences less the largest 1 %.

    Not :func:`~tsae.pipelines.smooth.smoother.noise_sigma`'s median: the median of whole numbers is a
    whole number, and at rates near 1 it puts the variance anywhere from 0.4 to 1.5 times the truth.
    """
    d = values[2:] - 2.0 * values[1:-1] + values[:-2]
    return trimmed_noise_variance(d) if len(d) else 0.0


#: the share of a Gaussian's variance left once its largest 1 % (in magnitude) are dropped
_TRIMMED_SHARE = 0.925


def trimmed_noise_variance(d: np.ndarray) -> float:
    """The variance of white noise whose second differences are ``d`` (not empty), less their largest 1 %.

    Steps and spikes fall in the largest 1 %; the rest's mean square is that of the noise's (6 sigma^2)
    cut to the same share.
    """
    kept = np.sort(np.abs(d))[: max(1, int(0.99 * len(d)))]
    return float(np.mean(kept**2)) / 6.0 / _TRIMMED_SHARE


def robust_variance(values: np.ndarray) -> float:
    """The square of the robust spread of ``values`` (1.4826 median absolute deviations: a normal sample's
    standard deviation), which a few outliers barely move."""
    return float(1.4826 * np.median(np.abs(values - np.median(values)))) ** 2


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


def _table() -> np.ndarray:
    """The mean of :func:`to_even_noise` at each of ``_RATES`` (computed once)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _expected_transform(_RATES)
    return _TABLE


def from_even_noise(s: np.ndarray) -> np.ndarray:
    """The rate whose counts have transformed mean ``s`` (the exact unbiased inverse of :func:`to_even_noise`).

    Below the transform of a zero count the rate is 0; beyond the table, the asymptotic inverse
    ``s**2 / 4 - 1/8`` (its error falls as ``1 / s**2``).
    """
    table = _table()
    s = np.asarray(s, dtype=np.float64)
    out = np.interp(s, table, _RATES)
    beyond = s > table[-1]
    out[beyond] = s[beyond] ** 2 / 4.0 - 1.0 / 8.0
    out[~(s > _LOW)] = 0.0
    return np.where(np.isnan(s), np.nan, out)


def even_mean(rates: np.ndarray) -> np.ndarray:
    """The mean of :func:`to_even_noise` of Poisson counts at ``rates`` (0 below 0): what :func:`from_even_noise`
    takes back to ``rates``. Beyond the table, ``2 sqrt(rate + 1/8)``."""
    rates = np.maximum(np.asarray(rates, dtype=np.float64), 0.0)
    out = np.interp(rates, _RATES, _table())
    beyond = rates > _TABLE_TOP
    out[beyond] = 2.0 * np.sqrt(rates[beyond] + 1.0 / 8.0)
    return out


def on_even_scale(x: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """``x`` ``(channels, n)`` with each channel on the scale where its kind of noise is even."""
    out = x.copy()
    out[kinds == COUNTS] = to_even_noise(x[kinds == COUNTS])
    positive = x[kinds == PROPORTIONAL]
    repaired = repair_missing(np.where(positive > 0, positive, np.nan))  # a row with none left: zeros
    out[kinds == PROPORTIONAL] = np.log(np.maximum(repaired, _SMALLEST))
    return out


def log_noise_levels(even: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """The noise level of each proportional channel of :func:`on_even_scale` data ``even`` (0 for the others)."""
    from tsae.pipelines.smooth.smoother import noise_sigma  # that module imports this one

    return np.array([noise_sigma(row) if kind == PROPORTIONAL else 0.0 for row, kind in zip(even, kinds, strict=True)])


def skew_outliers(z: np.ndarray, pred: np.ndarray, sigmas: np.ndarray, raw: np.ndarray, kinds: np.ndarray,
                  log_sigmas: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray | None:
    """The lone samples of proportional channels that are far off only on the log scale (see the module notes).

    ``z`` and ``pred`` are the channels on :func:`on_even_scale` normalised (``(z - center) / scale``) and their
    prediction, ``sigmas`` their noise levels there, ``raw`` the channels on their own scale and ``log_sigmas``
    :func:`log_noise_levels`. A sample is marked when it is more than 4 ``sigmas`` off the prediction while both
    neighbours are within 3, and within 4 noise levels (``log_sigmas`` times the predicted level) of the
    predicted level on its own scale. Returns ``(C, n)`` booleans, or None without a proportional channel.
    """
    proportional = np.flatnonzero(kinds == PROPORTIONAL)
    if proportional.size == 0:
        return None
    marked = np.zeros(z.shape, dtype=bool)
    for c in proportional:
        if not sigmas[c] > 0:
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            level = np.exp(pred[c] * scale[c] + center[c])
            near = np.abs(raw[c] - level) <= _OUTLIER_SIGMAS * log_sigmas[c] * level
        marked[c] = near & _lone(np.abs(z[c] - pred[c]) / sigmas[c], _OUTLIER_SIGMAS)
    return marked


def back_from_even_scale(smoothed: np.ndarray, even: np.ndarray, raw: np.ndarray, kinds: np.ndarray,
                         strength: float) -> np.ndarray:
    """The output of a smoother run on :func:`on_even_scale` data ``even`` at full strength, on ``raw``'s scale.

    Counts come back as rates (:func:`from_even_noise`) and proportional channels through ``exp`` (their
    prediction is their level's mean, made on their own scale and put on the even one:
    :class:`~tsae.pipelines.smooth.smoother.LevelPredictor`); a sample the smoother kept as it was comes back
    as it came. Each channel is then blended with ``raw`` by ``strength``.
    """
    back = smoothed.copy()
    counts, proportional = kinds == COUNTS, kinds == PROPORTIONAL
    back[counts] = from_even_noise(smoothed[counts])
    back[proportional] = np.exp(smoothed[proportional])
    changed = kinds != ADDITIVE
    kept = changed[:, None] & (smoothed == even)
    back[kept] = raw[kept]
    return raw + strength * (back - raw)
