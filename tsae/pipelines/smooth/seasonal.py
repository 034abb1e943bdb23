"""Gaps longer than the imputer's widest window, filled from the series' own cycle.

:func:`~tsae.pipelines.smooth.imputer.impute` carries a gap across with a window about twice its length, at most
:data:`~tsae.pipelines.smooth.imputer.WIDE_WINDOW` (its fits cost the window's cube). A longer gap in a series with a
cycle longer than that window (a day at one sample a minute: 1,440) was filled near the straight line. Such a gap is
filled here as the cycle's mean profile, from the cycles nearest the gap, scaled to the cycle's amplitude on each
side, on a level that runs straight from the series just before the gap to just after it (:func:`seasonal_fill`).

The cycle's period is a peak of the autocorrelation of the observed samples (:func:`candidate_periods`), and the
fill is taken only when it restores hidden stretches of the gap's length better than the straight line in more of
them than chance would (:func:`fill_long_gaps`): a random walk, a trend or noise has no cycle to find, and keeps
the imputer's fill.
"""
from __future__ import annotations

import numpy as np

from tsae.pipelines.smooth.glitches import runs
from tsae.pipelines.smooth.sign_test import sign_test
from tsae.pipelines.smooth.smoother import noise_sigma

__all__ = ["candidate_periods", "seasonal_fill", "fill_long_gaps"]

#: the least autocorrelation at a period, and the least drop to a trough before it, for it to be a cycle
MIN_PEAK = 0.3
#: the fewest whole cycles the observed series must span for a period to be looked for
MIN_CYCLES = 3
#: how far (a share of the lag, and at most a number of lags) from the autocorrelation's peak a period is looked for
#: (:func:`_refined`)
REFINE = 0.05
REFINE_SPAN = 128
#: the most observed samples the refinement reads
REFINE_SAMPLES = 1 << 17
#: the least share of the period centred on a sample that must be observed for its mean to be the level there
LEVEL_COVER = 0.75
#: the least share of the observed samples whose partner a lag away is observed too, for that lag to be a period
#: (three long gaps in six weeks left a week 0.3 to 0.5: found at 0.3; the stretches hidden weigh a chance peak)
MIN_PAIRS = 0.3
#: cycles on each side of a gap whose samples make its profile (nearer cycles follow a slowly changing shape)
PROFILE_CYCLES = 6
#: samples on each side of a gap whose mean difference from the profile sets the level there (at most)
EDGE_SAMPLES = 32
#: the least share of the profile's mean square the samples beside a gap must hold (about their mean) for its gain
#: there to be fitted: a few samples, or a stretch where the profile is nearly flat, tell too little
GAIN_COVER = 0.5
#: stretches hidden to weigh the cycle's fill against the line, and the sign test's level (as the wide window's)
TRIAL_STRETCHES = 12
TRIAL_LEVEL = 0.05
#: the fewest such stretches (a sign test at 5 % needs 5 wins of 5: one more to spare)
MIN_TRIALS = 6
#: the most of the straight line's error on those stretches (each less the noise's share) the cycle's fill may leave:
#: a true cycle left at most 0.15 (a daily cycle in noise as large as the cycle), quasi-periodic AR(2) series that
#: passed the sign test 0.18 to 0.82, and were filled worse than by the window
MAX_ERROR_SHARE = 0.25


def _autocorrelation(y: np.ndarray, observed: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation of ``y`` (0 where not ``observed``) at lags 0 to ``max_lag`` over the pairs of observed
    samples that lag apart, and the share of the observed samples those pairs are."""
    size = 1 << int(2 * len(y) - 1).bit_length()
    spec = np.fft.rfft(np.where(observed, y, 0.0), size)
    mask = np.fft.rfft(observed.astype(np.float64), size)
    num = np.fft.irfft(spec * spec.conj(), size)[: max_lag + 1]
    pairs = np.rint(np.fft.irfft(mask * mask.conj(), size)[: max_lag + 1])
    if pairs[0] <= 0 or num[0] <= 0:
        return np.zeros(max_lag + 1), np.zeros(max_lag + 1)
    acf = num / np.maximum(pairs, 1.0) / (num[0] / pairs[0])
    return acf, pairs / pairs[0]


def candidate_periods(z: np.ndarray, missing: np.ndarray, min_lag: int, around: int = 0) -> list[int]:
    """Periods of a cycle in ``z`` of at least ``min_lag`` samples (empty when there is none), each refined on the
    samples nearest ``around`` (:func:`_refined`).

    The autocorrelation of the observed samples, less their straight-line trend, is searched for peaks of at
    least :data:`MIN_PEAK` with a trough at least that much lower before them (at lags that :data:`MIN_PAIRS` of the
    observed samples span): the shortest lag whose peak is within 10 % of the highest (the cycle's fundamental; its
    multiples peak as high), and the highest (a longer cycle over a shorter one: a week over its days).
    """
    n = len(z)
    observed = ~missing
    max_lag = n // MIN_CYCLES
    # more than half the series missing is no bar (some days of a daily cycle observed): the hidden stretches decide
    if max_lag < max(min_lag, 4) or observed.sum() < MIN_CYCLES * max(min_lag, 4):
        return []
    t = np.flatnonzero(observed)
    slope, intercept = np.polyfit(t, z[t], 1)
    y = np.where(observed, z - (slope * np.arange(n) + intercept), 0.0)
    # past the longest lag by as far as a peak is refined: the autocorrelation of exactly MIN_CYCLES cycles still
    # rises at its last lag (a sine of 1,440 samples, 3 cycles: its peak at 1,441), and that peak was lost. Read
    # there only when no peak comes before: a multiple of a shorter cycle peaks there too, and taken beside the
    # peaks inside it cost gaps in a weekly cycle their period (eval_smooth_unseen.py long_gap, week_10min three,
    # dev seeds 100-111: 0.601 -> 0.633)
    reach = min(int(max_lag * REFINE), REFINE_SPAN) + 1
    acf, share = _autocorrelation(y, observed, max_lag + reach)
    inner = acf[1:-1]
    maxima = np.flatnonzero((inner >= acf[:-2]) & (inner > acf[2:])) + 1
    trough = np.minimum.accumulate(acf)
    # a lag that few pairs span (gaps a period apart) gives chance peaks
    pairs = MIN_PAIRS * min(1.0, 2 * float(observed.mean()))
    peaks = [int(p) for p in maxima if p >= min_lag and acf[p] >= MIN_PEAK and acf[p] - trough[p] >= MIN_PEAK
             and share[p] >= pairs]
    if any(p < max_lag for p in peaks):
        peaks = [p for p in peaks if p < max_lag]
    if not peaks:
        return []
    top = max(peaks, key=lambda p: acf[p])
    first = next(p for p in peaks if acf[p] >= 0.9 * acf[top])
    return sorted({p for p in (_refined(y, observed, p, around) for p in (first, top)) if p <= max_lag})


def _refined(y: np.ndarray, observed: np.ndarray, lag: int, around: int) -> int:
    """The period within :data:`REFINE` (at most :data:`REFINE_SPAN`) of ``lag`` whose phases part the observed
    samples of ``y`` best (the highest ratio of the spread between the phases' means to that within them), on the
    :data:`REFINE_SAMPLES` observed samples nearest ``around`` (each period tried reads them all).

    The autocorrelation is flat around its peak and gaps move the peak: at 1,425 for a cycle of 1,440 samples
    with three long gaps, whose profile then drifted across a day (0.10 of the spread off, against 0.03).
    """
    t = np.flatnonzero(observed)
    t = t[max(0, np.searchsorted(t, around) - REFINE_SAMPLES // 2):][:REFINE_SAMPLES]
    values = y[t]
    total = float(values @ values)
    best, chosen = -np.inf, lag
    reach = min(int(lag * REFINE), REFINE_SPAN)
    for period in range(max(2, lag - reach), lag + reach + 1):
        phase = t % period
        counts = np.bincount(phase, minlength=period)
        sums = np.bincount(phase, values, minlength=period)
        filled = counts > 0
        between = float(np.sum(sums[filled] ** 2 / counts[filled]))
        groups = int(filled.sum())
        if groups < 2 or len(t) <= groups or total <= between:
            continue
        score = (between / (groups - 1)) / ((total - between) / (len(t) - groups))
        if score > best:
            best, chosen = score, period
    return chosen


def _level(z: np.ndarray, observed: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean of the observed samples over the ``period`` centred on each sample, and where at least
    :data:`LEVEL_COVER` of that period is observed (elsewhere the mean holds too little of a cycle)."""
    n = len(z)
    sums = np.concatenate([[0.0], np.cumsum(np.where(observed, z, 0.0))])
    counts = np.concatenate([[0], np.cumsum(observed)])
    start = np.arange(n) - period // 2
    lo, hi = np.clip(start, 0, n), np.clip(start + period, 0, n)
    count = counts[hi] - counts[lo]
    # a period cut off by an end of the series is not centred: on a trend, its mean is not the level
    whole = (count >= LEVEL_COVER * period) & observed & (start >= 0) & (start + period <= n)
    return (sums[hi] - sums[lo]) / np.maximum(count, 1), whole


def seasonal_fill(z: np.ndarray, missing: np.ndarray, gaps: list[tuple[int, int]], period: int) -> np.ndarray | None:
    """``z`` with each gap ``(start, stop)`` filled as the cycle's mean profile, scaled to the cycle's amplitude
    beside the gap, on a straight level.

    The profile at each phase is the mean difference of the observed samples from their level (the mean over one
    period centred on them, where most of it is observed; the straight line through the observed samples where
    gaps leave a phase no such period) over the :data:`PROFILE_CYCLES` cycles on each side of the gap, or over all
    when those miss a phase. Its gain is fitted on the period of observed samples on each side (:func:`_gain`) and
    runs straight from the one's centre to the other's. The level runs straight from the mean difference of the
    samples from the scaled profile just before the gap (:data:`EDGE_SAMPLES`) to that just after it; both hold at
    the series' ends. None when some phase is never observed.
    """
    n = len(z)
    observed = ~missing
    level, whole = _level(z, observed, period)
    phase = np.arange(n) % period
    # gaps leave a phase no centred period (three long gaps in six weeks of a weekly cycle): the line
    if not np.bincount(phase[whole], minlength=period).all():
        t = np.flatnonzero(observed)
        level, whole = np.polyval(np.polyfit(t, z[t], 1), np.arange(n)), observed
    dev = np.where(whole, z - level, 0.0)

    def profile(a: int, b: int) -> np.ndarray | None:
        sums = np.bincount(phase[a:b], dev[a:b], minlength=period)
        counts = np.bincount(phase[a:b], whole[a:b], minlength=period)
        return sums / counts if counts.all() else None

    out = z.copy()
    full = profile(0, n)
    if full is None:
        return None
    edge = max(1, min(EDGE_SAMPLES, period // 8))
    for a, b in gaps:
        near = profile(max(0, a - PROFILE_CYCLES * period), min(n, b + PROFILE_CYCLES * period))
        shape = full if near is None else near
        cycle, power = shape[phase], float(np.mean(shape ** 2))
        before, after = np.flatnonzero(observed[:a])[-period:], np.flatnonzero(observed[b:])[:period] + b
        fits = [f for f in (_gain(z, cycle, power, before), _gain(z, cycle, power, after)) if f is not None]
        if not fits:
            return None
        # each side's gain is that of the period it was fitted on, at that period's centre; held past the last
        centres, gains = zip(*fits, strict=True)
        left, right = (float(np.mean(z[t] - np.interp(t, centres, gains) * cycle[t])) if len(t) else None
                       for t in (before[-edge:], after[:edge]))
        left = right if left is None else left
        right = left if right is None else right
        assert left is not None and right is not None
        steps = (np.arange(a, b) - a + 1) / (b - a + 1)
        out[a:b] = np.interp(np.arange(a, b), centres, gains) * cycle[a:b] + left + (right - left) * steps
    return out


def _gain(z: np.ndarray, cycle: np.ndarray, power: float, t: np.ndarray) -> tuple[float, float] | None:
    """The mean position of the observed samples ``t`` beside a gap and the gain of the profile ``cycle`` (its mean
    square over a period: ``power``) on them, or None when ``t`` is empty.

    The gain is fitted by least squares with a line (1 where ``t`` holds less than :data:`GAIN_COVER` of the
    profile's square): a cycle whose amplitude changes is filled at the amplitude beside the gap, not at the mean of
    the cycles the profile is taken from, whose difference was read at an end as a level shift held across the gap
    (a 4-fold growth over ten days, a gap at the end: 1.3 of the spread off, against 0.24 for the value one period
    earlier).
    """
    if not len(t):
        return None
    c = cycle[t] - np.mean(cycle[t])
    gain = 1.0
    if float(c @ c) > GAIN_COVER * len(t) * power:
        # the line: a trend across the period reads as part of the cycle (3 % of its amplitude off on a day)
        design = np.column_stack([np.ones(len(t)), t - np.mean(t), c])
        gain = max(0.0, float(np.linalg.lstsq(design, z[t], rcond=None)[0][2]))
    return float(np.mean(t)), gain


def _trial_stretches(observed: np.ndarray, length: int, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to ``count`` stretches of ``length`` observed samples with an observed sample on each side, each
    starting at least half their length from the others."""
    # observed samples in each run of length + 2 from a running count: the convolution with a box this long cost
    # n * length (a 1e6-row series 97 % missing, whose stretches are now sought: 14 s -> 21 s)
    counts = np.concatenate([[0], np.cumsum(observed, dtype=np.int64)])
    starts = np.flatnonzero(counts[length + 2:] - counts[: -(length + 2)] == length + 2) + 1
    chosen: list[int] = []
    for s in rng.permutation(starts)[: 50 * count].tolist():
        if len(chosen) == count:
            break
        if all(abs(s - c) >= length // 2 for c in chosen):
            chosen.append(s)
    return [(s, s + length) for s in chosen]


def fill_long_gaps(z: np.ndarray, missing: np.ndarray, longer_than: int, seed: int) -> np.ndarray | None:
    """``z`` (normalised, its gaps holding a first guess) with each gap longer than ``longer_than`` samples filled
    from the series' cycle (:func:`seasonal_fill`), or None when there is no such gap or cycle.

    Each candidate period (:func:`candidate_periods`, at least ``longer_than``) fills stretches of observed samples as
    long as the longest such gap (at most the shortest period and an eighth of the series), hidden one at a time (one
    whose hiding leaves a phase unobserved is not scored). A period is taken when it restores more of them better than
    the straight line across them than chance would (a one-sided sign test at :data:`TRIAL_LEVEL`) and leaves at most
    :data:`MAX_ERROR_SHARE` of the line's error on them (each less the noise's:
    :func:`~tsae.pipelines.smooth.smoother.noise_sigma`); of those, the one that scored the most stretches, then
    restored them best.
    """
    gaps = [(a, b) for a, b in runs(missing) if b - a > longer_than]
    if not gaps:
        return None
    longest = max(gaps, key=lambda g: g[1] - g[0])
    periods = candidate_periods(z, missing, longer_than, (longest[0] + longest[1]) // 2)
    if not periods:
        return None
    # the same stretches for every period, so that their errors compare; short enough for a dozen to fit
    length = min(max(b - a for a, b in gaps), min(periods), len(z) // 8)
    trials = _trial_stretches(~missing, length, TRIAL_STRETCHES, np.random.default_rng(seed))
    while len(trials) < MIN_TRIALS and length > longer_than // 2:  # gaps leave few such stretches: shorter ones
        length //= 2
        trials = _trial_stretches(~missing, length, TRIAL_STRETCHES, np.random.default_rng(seed))
    if len(trials) < MIN_TRIALS:
        return None
    variance = noise_sigma(z[~missing]) ** 2  # the noise's error on each sample, which no fill restores
    noise = np.array([(b - a) * variance for a, b in trials])
    line_errors = np.array([np.sum((z[a - 1] + (z[b] - z[a - 1]) * (np.arange(a, b) - a + 1) / (b - a + 1)
                                    - z[a:b]) ** 2) for a, b in trials])
    errors: dict[int, np.ndarray] = {}
    for period in periods:
        ours = np.full(len(trials), np.nan)
        for i, (a, b) in enumerate(trials):  # one at a time: the others are observed, as around a real gap
            hidden = missing.copy()
            hidden[a:b] = True
            filled = seasonal_fill(z, hidden, [(a, b)], period)
            # None: the stretch held a phase's only samples (most of the series missing); it is not scored
            if filled is not None:
                ours[i] = np.sum((filled[a:b] - z[a:b]) ** 2)
        scored = np.isfinite(ours)
        wins = int(np.sum(ours[scored] < line_errors[scored]))
        left, line = float(np.sum(ours[scored] - noise[scored])), float(np.sum(line_errors[scored] - noise[scored]))
        if scored.sum() >= MIN_TRIALS and line > 0 and left <= MAX_ERROR_SHARE * line and \
                sign_test(wins, int(scored.sum())) <= TRIAL_LEVEL:
            errors[period] = ours
    if not errors:
        return None
    # the period that scored the most stretches (one that left some out was spared those), then the least error on
    # the stretches all scored: a multiple of a day that left one out was taken over the day, and filled three gaps
    # worse (eval_smooth_unseen.py long_gap minute_day three, dev seed 109: 0.026 -> 0.056)
    common = np.all([np.isfinite(e) for e in errors.values()], axis=0)
    best = min(errors, key=lambda p: (-int(np.isfinite(errors[p]).sum()), float(np.sum(errors[p][common]))))
    return seasonal_fill(z, missing, gaps, best)
