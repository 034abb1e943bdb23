"""Where the residuals of a smoother's prediction stop being noise: the lone-spike threshold.

A lone sample far off the prediction is either a feature of the signal (a spike), kept as it
came, or an outlier of the noise, smoothed over. Gaussian noise puts almost none beyond 4 noise
sigmas, so there every lone sample beyond is a feature. Heavier noise puts its own outliers
there: a power-law tail (Student-t, Laplace noise), or a share of much wider Gaussian samples (a
glitchy sensor). :func:`_noise_tail` tells which from the lone samples' heights and sets the
threshold where the noise leaves almost nothing beyond, lower where a band of heights holds far
more than the noise gives (real spikes of one height); :func:`_without_outliers` reads the
residuals with the noise's outliers below it set aside. The edge guard's test, where the residuals'
local power is clearly above the noise (:func:`_left_alone`), is read on the same residuals.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: a sample this many noise sigmas off the blind-spot prediction is a feature (spike, edge), not noise
_OUTLIER_SIGMAS = 4.0

#: samples each side that the edge guard's local residual power reads
_GUARD_HALF = 4

#: residuals are squared held within this magnitude (the edge guard's gain is 1 well before)
_R_LIMIT = 2.0**500


def _local_mean(v: np.ndarray, half: int) -> np.ndarray:
    """Centred moving average with shrinking windows at the ends (no shift).

    Each window is summed on its own: differences of a running sum carried one huge value
    (the squared residual of a glitch) into every later window, whose means became rounding
    noise of it (or NaN, once it overflowed).
    """
    if half <= 0:
        return v.copy()
    n = len(v)
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return np.convolve(v, np.ones(2 * half + 1), mode="full")[half: half + n] / (hi - lo)


def _squared(r: np.ndarray) -> np.ndarray:
    """``r ** 2``, the residuals held within +-:data:`_R_LIMIT` first (a glitch's square overflowed)."""
    return np.square(np.clip(r, -_R_LIMIT, _R_LIMIT))


def _local_power(r: np.ndarray, sigma: float, half: int = _GUARD_HALF, lone_capped: bool = False) -> np.ndarray:
    """The edge guard's residual power of each sample: the mean of ``r^2`` over ``2*half+1`` samples, or
    ``r^2`` itself where one sample is more than 4 sigma off.

    With ``lone_capped``, a lone sample more than 4 sigmas off (:func:`_lone`: both neighbours within 3)
    counts in its neighbours' means as one at 4 sigmas: its own ``r^2`` keeps it, but its height is no
    evidence that its neighbours' predictions missed anything (a spike 20 sigmas off put 44 sigma^2 into
    every mean that held it, and its 8 neighbours came back as noisy as they came). Its shoulders, residuals
    2-3 sigmas off beside it, still add up past the guard's line.
    """
    r2 = _squared(r)
    line = _OUTLIER_SIGMAS**2 * sigma * sigma
    spread = r2
    if lone_capped and sigma > 0:
        with np.errstate(over="ignore"):
            lone = _lone(np.sqrt(r2) / sigma, _OUTLIER_SIGMAS)
        spread = np.where(lone, np.minimum(r2, line), r2)
    return np.maximum(_local_mean(spread, half), np.where(r2 > line, r2, 0.0))


def _left_alone(z: np.ndarray, sigma: float, pred: np.ndarray) -> np.ndarray:
    """Where the edge guard leaves the prediction ``pred`` of ``z`` (1-D, noise ``sigma``) alone
    (see :func:`~tsae.pipelines.smooth.smoother._combine`)."""
    return _local_power(z - pred, sigma) <= 4.0 * sigma * sigma


#: a Gaussian's share of samples between 3 and 4 sigmas off its mean
_GAUSS_BAND = 0.002637
#: the noise is heavy-tailed when this many times the Gaussian share of lone samples (and at least
#: :data:`_MIN_BAND`) lie between 3 and 4 sigmas off the prediction
_BAND_FACTOR = 3.0
_MIN_BAND = 10
#: samples of heavy-tailed noise expected beyond the lone-spike threshold (each one kept costs
#: dearly: its error is tens of sigmas; at 0.1, about one Student-t(3) series in ten kept one)
_TAIL_SAMPLES = 0.02
#: real spikes below that threshold: a band of lone samples ``[lo, lo * _BIN_RATIO]`` (or two such bands:
#: spikes of one height straddle them) sigmas off holding more than the fitted tail gives with Poisson
#: probability under :data:`_EXCESS_P` lowers it to ``lo``
#: (spikes of 3-5 units in Student-t(3) noise at 0.3: error 0.51 -> 0.23; t2 and t3 noise alone: unchanged)
_BIN_RATIO = 1.5
_EXCESS_P = 1e-3
#: a Gaussian's share of samples within 1 sigma of its mean
_GAUSS_BODY = 0.682689
#: the tail is the noise's only while at least this fraction of :data:`_GAUSS_BODY` of the residuals
#: lie within 1 noise sigma: heavy-tailed noise (measured on second differences) gives 0.98-1.07,
#: a prediction missing a real series' sharp parts widens the body to 0.84-0.96
_BODY = 0.97


def _lone(a: np.ndarray, k: float) -> np.ndarray:
    """Where ``a`` (absolute residuals in noise sigmas) exceeds ``k`` while both neighbours stay within 3."""
    quiet = a <= 3.0
    return (a > k) & np.r_[True, quiet[:-1]] & np.r_[quiet[1:], True]


def _feature_sigmas(r: np.ndarray, sigma: float) -> float:
    """The lone-spike threshold of :func:`_noise_tail` (noise sigmas)."""
    return _noise_tail(r, sigma)[0]


def _channel_features(z: np.ndarray, pred: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """:func:`_feature_sigmas` of each channel of ``z`` ``(C, n)`` off its prediction ``pred``, noise ``sigmas``."""
    return np.array([_feature_sigmas(zc - pc, float(s)) for zc, pc, s in zip(z, pred, sigmas, strict=True)])


def _noise_tail(r: np.ndarray, sigma: float) -> tuple[float, bool]:
    """How many noise sigmas off its prediction a lone sample must be to be kept as a feature (a spike).

    4 for Gaussian noise. With heavy-tailed noise (Student-t, Laplace) a few percent of
    the samples are more than 4 sigmas off by chance, one at a time: lone samples between 3 and
    4 sigmas off are counted (a real spike lies far beyond, a step's corner is two samples), and
    when they are many times what a Gaussian gives, the tail is taken as a power law through the
    lone samples beyond 3 sigmas (:func:`_tail_slope`) and the threshold is where it holds
    :data:`_TAIL_SAMPLES` samples, or lower where a band (or two neighbouring bands) of lone samples
    below it holds far more than that tail gives (real spikes, :data:`_EXCESS_P`). Gaussian noise with a
    share of wider outliers puts few lone samples between 3 and 4 sigmas but many between 4 and 9: its
    threshold comes from a wider Gaussian fitted to those (:func:`_wide_threshold`). Rarer and wider outliers
    (1 % of the samples 20 times wider) put few between 4 and 9 sigmas too: when the heights of the lone samples
    beyond 4 sigmas pass for such a Gaussian's (:func:`_spread_scale`), its scale is fitted to all of them;
    lone samples crowding one band of heights fail that test and are kept, as real spikes.

    The noise is read where the prediction follows the signal (:func:`_followed`): near a step's
    edge that it smears, its residuals are the signal's, not the noise's. Sharp parts of a real
    series that the prediction misses (in light Gaussian noise) give a tail too, but their errors
    also widen the residuals' body: the tail is taken as the noise's only while the body is as
    narrow as the noise's (:data:`_BODY`), as heavy-tailed noise's is, or, where it is wider, when the lone
    samples beyond 4 sigmas are a much wider Gaussian's outliers (a glitchy sensor on a series of sharp beats).

    Also returns whether the tail was taken as a power law (Student-t, Laplace noise) rather than as Gaussian
    noise with or without wider outliers.
    """
    if sigma <= 0 or len(r) < 3:
        return _OUTLIER_SIGMAS, False
    a = np.abs(np.clip(r, -_R_LIMIT, _R_LIMIT)) / sigma
    lone = _lone(a, 3.0)
    followed = _followed(a, lone)
    a_followed, lone = a[followed], lone[followed]
    n3, n4 = int(lone.sum()), int((lone & (a_followed > _OUTLIER_SIGMAS)).sum())
    if len(a_followed) < 3:  # the prediction follows nothing
        return _OUTLIER_SIGMAS, False
    x = a_followed[lone]
    beyond = x[x > _OUTLIER_SIGMAS]
    few_near = n3 - n4 <= max(_MIN_BAND, _BAND_FACTOR * _GAUSS_BAND * len(a_followed))
    many = _WIDE_FACTOR * _GAUSS_BEYOND * len(a_followed)
    if np.mean(a_followed < 1.0) < _BODY * _GAUSS_BODY:
        # the prediction misses sharp parts (beats, smeared steps): only lone samples far beyond 4 sigmas, spread as
        # a wider Gaussian's outliers are (a much wider one's when the missed parts also crowd 3-4 sigmas), are read
        # as the noise's
        return _spread_threshold(beyond, many, 1.0 if few_near else _MISSED_SCALE), False
    if few_near:
        wide = beyond[beyond <= _TAIL_TOP]
        if (len(wide) >= max(_MIN_WIDE, many)
                and np.sum(wide <= _WIDE_NEAR) >= _NEAR_SHARE * np.sum(wide > _WIDE_NEAR)):
            return _wide_threshold(beyond), False
        # few between 4 and 9 sigmas: much wider outliers, or real spikes (a band of heights) kept as features
        return _spread_threshold(beyond, many), False
    threshold, band = _threshold(n3, _tail_slope(x), beyond)
    for _ in range(_TAIL_REFITS):
        if not band:
            break
        # the samples beyond a band of real spikes are features: the noise's tail is fitted without them
        # (they made it flatter, and a band of spikes below it seemed less out of place)
        noise = x[x <= threshold]
        lower, band = _threshold(len(noise), _tail_slope(noise), beyond)
        if lower >= threshold:
            break
        threshold = lower
    return threshold, True


#: refits of the tail without the spikes found beyond a band
_TAIL_REFITS = 3


def _threshold(n3: int, slope: float, beyond: np.ndarray) -> tuple[float, bool]:
    """The lone-spike threshold for ``n3`` lone samples beyond 3 sigmas whose tail falls with ``slope``
    (:func:`_tail_slope`), those beyond 4 sigmas at ``beyond``; and whether a band of real spikes set it."""
    feature = max(_OUTLIER_SIGMAS, 3.0 * (n3 / _TAIL_SAMPLES) ** (1.0 / slope))
    band = _band_of_spikes(beyond, feature, lambda lo, hi: n3 * ((3.0 / lo) ** slope - (3.0 / hi) ** slope))
    return (feature, False) if band is None else (band, True)


def _band_of_spikes(beyond: np.ndarray, feature: float, expected: Callable[[float, float], float]) -> float | None:
    """The lower edge of the lowest band (or two neighbouring bands, :data:`_BIN_RATIO` wide each) below
    ``feature`` sigmas holding far more of the lone samples ``beyond`` 4 sigmas than the noise's tail gives
    (``expected(lo, hi)`` of them between ``lo`` and ``hi``; Poisson probability under :data:`_EXCESS_P`):
    real spikes. None if there is none."""
    lo = _OUTLIER_SIGMAS
    while lo * _BIN_RATIO < feature:
        for hi in (lo * _BIN_RATIO, min(feature, lo * _BIN_RATIO**2)):
            if _poisson_at_least(int(((beyond > lo) & (beyond <= hi)).sum()), expected(lo, hi)) < _EXCESS_P:
                return lo
        lo *= _BIN_RATIO
    return None


#: a Gaussian's share of samples more than 4 sigmas off its mean
_GAUSS_BEYOND = 6.334e-5
#: Gaussian noise with a share of wider Gaussian outliers (a glitchy sensor) when at least this many lone
#: samples (and this many times the Gaussian share) lie between 4 and :data:`_TAIL_TOP` sigmas: few lie
#: between 3 and 4, so the noise passed for Gaussian and every outlier over 4 sigmas was kept as a spike
#: (2 % of the samples 10 times wider: error 0.42 of the signal's spread, a Hampel filter's 0.07)
_MIN_WIDE, _WIDE_FACTOR = 6, 20.0
#: a wider Gaussian's outliers are densest just beyond 4 sigmas: for any scale, those within (4, 6] number at
#: least 2/3 of those within (6, 9]; lone samples crowding one height beyond (a proportional channel's spikes at
#: 6-9 sigmas) are real spikes, kept as in Gaussian noise, when fewer than this share lie within (4, 6]
_WIDE_NEAR, _NEAR_SHARE = 6.0, 0.4
#: the outliers' scale is fitted to the lone samples between 4 and this many sigmas
_WIDE_FIT_TOP = 12.0
_WIDE_SCALES = np.geomspace(1.5, 60.0, 120)


def _gauss_beyond(t: float, k: float) -> float:
    """A zero-mean Gaussian's share (of scale ``k``) more than ``t`` off its mean."""
    return math.erfc(t / (k * math.sqrt(2.0)))


def _wide_scale(fit: np.ndarray, high: float, scales: np.ndarray, censored: int = 0) -> float:
    """The maximum-likelihood scale (of ``scales``) of a zero-mean Gaussian beyond 4 for ``fit`` (within (4,
    ``high``]) and ``censored`` more values known only to lie beyond ``high``."""
    low, beyond = _OUTLIER_SIGMAS, _gauss_beyond
    likelihood = [-0.5 * float(np.sum((fit / k) ** 2)) - len(fit) * math.log(k)
                  + censored * math.log(max(beyond(high, k), 1e-300))
                  - (len(fit) + censored) * math.log(max(beyond(low, k), 1e-300)) for k in scales]
    return float(scales[int(np.argmax(likelihood))])


def _wide_threshold(x: np.ndarray, k: float | None = None) -> float:
    """The lone-spike threshold when the lone samples beyond 4 sigmas (``x``) are a wider Gaussian's outliers.

    The outliers' scale ``k`` (in noise sigmas), unless given, is the maximum-likelihood fit of a Gaussian
    beyond 4 to the heights up to :data:`_WIDE_FIT_TOP`, those above counted only as lying above it
    (censored: so high, a height may be a real spike's); the threshold is where that Gaussian leaves
    :data:`_TAIL_SAMPLES` samples beyond, or lower where a band of lone samples holds far more than it
    gives (real spikes, as in :func:`_threshold`).
    """
    low, high, beyond = _OUTLIER_SIGMAS, _WIDE_FIT_TOP, _gauss_beyond
    if k is None:
        fit = x[x <= high]
        k = _wide_scale(fit, high, _WIDE_SCALES, censored=len(x) - len(fit))
    outliers = len(x)

    def expected(lo: float, hi: float) -> float:
        return outliers * (beyond(lo, k) - beyond(hi, k)) / beyond(low, k)

    feature = low
    while expected(feature, math.inf) > _TAIL_SAMPLES and feature < _R_LIMIT:
        feature *= 1.02
    band = _band_of_spikes(x, feature, expected)
    return feature if band is None else band


#: Gaussian noise with a share of much wider outliers (1 % of the samples 20 times wider) puts few of them
#: between 4 and 9 sigmas: at least this many lone samples beyond 4 sigmas (and :data:`_WIDE_FACTOR` times
#: the Gaussian share), spread as a wider Gaussian's outliers are, are taken as such
_MIN_SPREAD = 8
#: ... when a Gaussian truncated at 4 sigmas, its scale fitted to them, passes the Kolmogorov-Smirnov test
#: (sqrt(count) times the largest gap between the distributions, under this): with the scale fitted, 78-87 %
#: of such outliers do (400 draws each of 8 to 40 of them, scales 8-60); lone samples at one height (real
#: spikes of 3-5 units, a band 5/3 wide, 8 or more of them) never did in 300 draws each
_SPREAD_KS = 0.9
#: ... or passes a looser test (under this) while no band of heights :data:`_CROWD_RATIO` (5/3) wide holds
#: :data:`_CROWD_SHARE` of them: real spikes of one height crowd such a band, a wider Gaussian's outliers spread
#: beyond it. Simulated (3,000 draws each, scales 5-60, 8 to 40 outliers; bands of 8 to 40 spikes 5/3 wide at 4-40
#: sigmas, with 0-2 noise samples just beyond 4): outliers taken as such 81 % -> 97 %, bands taken as noise 0.5 %
#: either way. On the decision draws of scripts/eval_smooth.py a sine with 2 % of its noise 10 times wider was 3.2
#: times the Hampel filter's error, every glitch kept as a spike
_SPREAD_KS_LOOSE = 1.5
_CROWD_SHARE, _CROWD_RATIO = 0.6, 5.0 / 3.0
_SPREAD_SCALES = np.geomspace(1.5, 1e4, 300)


#: where the prediction misses sharp parts and many lone samples lie 3-4 sigmas off, the lone samples beyond 4 are
#: the noise's only when they are a Gaussian's at least this many noise sigmas wide: missed sharp parts (offsets of
#: 1-4 sigmas) fit 1.6-2.0; a glitchy sensor's outliers on sharp beats (1 % of the samples 20 times wider) 10-20
_MISSED_SCALE = 4.0


def _spread_threshold(x: np.ndarray, many: float, min_scale: float = 1.0) -> float:
    """The lone-spike threshold set by much wider outliers (:func:`_spread_scale`, at least ``min_scale`` noise
    sigmas) among the lone samples beyond 4 sigmas (``x``, at least :data:`_MIN_SPREAD` and ``many`` of them),
    else 4."""
    scale = _spread_scale(x) if len(x) >= max(_MIN_SPREAD, many) else None
    return _OUTLIER_SIGMAS if scale is None or scale < min_scale else _wide_threshold(x, scale)


def _spread_scale(x: np.ndarray) -> float | None:
    """The scale of a wider Gaussian's outliers fitted to the lone samples beyond 4 sigmas (``x``) when they
    pass for them (:data:`_SPREAD_KS`, or :data:`_SPREAD_KS_LOOSE` spread over many heights), else None."""
    x = np.sort(np.minimum(x, 100.0 * _SPREAD_SCALES[-1]))  # beyond every scale; squares stay finite
    k = _wide_scale(x, math.inf, _SPREAD_SCALES)
    shares = 1.0 - np.array([_gauss_beyond(v, k) for v in x]) / _gauss_beyond(_OUTLIER_SIGMAS, k)
    ranks = np.arange(1, len(x) + 1) / len(x)
    gap = math.sqrt(len(x)) * max(float(np.max(ranks - shares)), float(np.max(shares - (ranks - 1.0 / len(x)))))
    if gap <= _SPREAD_KS or (gap <= _SPREAD_KS_LOOSE and _crowded_share(x) < _CROWD_SHARE):
        return k
    return None


def _crowded_share(x: np.ndarray) -> float:
    """The largest share of the sorted heights ``x`` within one band ``[v, _CROWD_RATIO * v]``."""
    ends = np.searchsorted(x, _CROWD_RATIO * x, side="right")
    return float(np.max(ends - np.arange(len(x)))) / len(x)


def _followed(a: np.ndarray, lone: np.ndarray, half: int = _GUARD_HALF) -> np.ndarray:
    """Where the prediction follows the signal: the residuals' power over ``2*half+1`` samples, ``lone``
    samples (noise outliers or spikes) left out, within 4 noise sigmas squared (``a``: absolute residuals in
    noise sigmas). Around a step that the prediction smears it is above; heavy-tailed noise alone leaves
    about 2 % of the samples out."""
    return _local_mean(_squared(np.where(lone, 0.0, a)), half) <= 4.0


#: flatter tails are taken as this one (a Cauchy tail's is 1), so the threshold stays finite
_MIN_SLOPE = 0.5
#: the power-law tail is fitted to the lone samples between 3 and this many noise sigmas; those beyond count
#: as beyond it (censored), whatever their height
_TAIL_TOP = 9.0


def _tail_slope(x: np.ndarray) -> float:
    """The exponent ``s`` of a power-law tail ``P(X > x) ~ x^-s`` through ``x`` (lone residuals beyond 3 sigmas).

    The maximum-likelihood (Hill) estimate with the values above :data:`_TAIL_TOP` censored there:
    ``log(x / 3)`` is exponential with rate ``s``. Over 100 draws of Student-t(2) noise its middle 80 %
    spanned 1.67-2.19, where the slope through two counts (beyond 3 and beyond 4 sigmas) spanned 1.43-2.28:
    with a slope too steep, the noise's samples at 13-30 sigmas passed for a band of real spikes and were
    kept (one draw: error 0.67 of the signal's spread against 0.085).
    """
    below = int(np.sum(x <= _TAIL_TOP))
    logs = float(np.sum(np.log(np.minimum(x, _TAIL_TOP) / 3.0)))
    return max(_MIN_SLOPE, max(below, 1) / max(logs, 1e-12))


def _poisson_at_least(k: int, mean: float) -> float:
    """P(X >= k) for X Poisson with ``mean``."""
    term, below = math.exp(-mean), 0.0
    for i in range(k):
        below += term
        term *= mean / (i + 1)
    return max(0.0, 1.0 - below)


#: this many samples in a row more than 3 noise sigmas off on one side are a feature (a short pulse, the
#: start of a step), whatever the lone-spike threshold: Student-t(3) noise puts three in a row there about
#: once in 130,000 samples. Held within 3 sigmas as noise, pulses of 3-11 samples (5-10 sigmas) in t(3)
#: noise lost more than half their height one time in four (error 0.163 -> 0.107 of the noise-free series)
_RUN_SAMPLES = 3


def _runs(s: np.ndarray, k: float, length: int) -> np.ndarray:
    """Where ``s`` (residuals in noise sigmas) lies beyond ``k`` on one side for ``length`` samples in a row or more."""
    out = np.zeros(len(s), dtype=bool)
    for side in (1.0, -1.0):
        edges = np.diff(np.r_[0, (side * s > k).astype(np.int8), 0])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        long = ends - starts >= length
        for start, end in zip(starts[long], ends[long], strict=True):
            out[start:end] = True
    return out


def _without_outliers(r: np.ndarray, sigma: float, feature: float) -> np.ndarray:
    """``r`` as the edge guard reads it when the noise is heavy-tailed (``feature`` over 4 sigmas).

    Lone samples between 4 and ``feature`` sigmas off are noise outliers and set to 0; the
    others up to ``feature`` sigmas are held within 3 sigmas, so two outliers side by side do
    not pass as a feature (with their neighbours) either. A run of :data:`_RUN_SAMPLES` or more
    beyond 3 sigmas on one side is a feature and read as it is.
    """
    if feature <= _OUTLIER_SIGMAS:
        return r
    clipped = np.clip(r, -_R_LIMIT, _R_LIMIT) / sigma
    a = np.abs(clipped)
    held = np.clip(r, -3.0 * sigma, 3.0 * sigma)
    kept = (a > feature) | _runs(clipped, 3.0, _RUN_SAMPLES)
    return np.where(kept, r, np.where(_lone(a, _OUTLIER_SIGMAS), 0.0, held))
