"""Gap filling with a linear autoencoder that learns from the series itself.

:func:`impute` fills missing samples (NaN) by reconstruction: a linear autoencoder
on lagged windows (PCA of the trajectory matrix, fitted in closed form) is trained on
the observed samples by expectation-maximisation: gaps start from a linear guess,
the autoencoder is fitted, the gaps are replaced by its reconstruction (averaged over
every window that covers a sample), and so on until the filled values settle. The
bottleneck size is chosen by hiding a share of the observed samples and scoring how
well they are restored, and the same hidden samples weigh its fill against the straight
line (their least-squares blend, each weight in [0, 1]). Gaps no longer than the hidden
blocks may also take a cubic spline through the observed samples into the blend, when at
least :data:`SPLINE_BLOCKS` blocks were hidden to weigh it (short gaps in smooth series,
where the line cuts corners and one global autoencoder does not follow a changing shape).
Gaps at the ends of a series are extrapolations, which the hidden blocks do not measure: their
fill is weighed against holding the last observed value on the series cut short at that end
(:func:`_end_weight`), never with more weight than the interior gaps earned. A gap longer than
half the default window (its hidden blocks' limit) has a window twice its length (at most
:data:`WIDE_WINDOW`) weighed against the default on hidden blocks as long as the gap (:func:`_plan`), and
taken only when it restores more fresh hidden stretches better than chance would (a sign test, :func:`_wide_wins`):
a window shorter than a gap holds no observed sample on both of its sides, and a day missing from a daily
cycle was filled near the straight line (scripts/eval_smooth_unseen.py, ``season_gap`` on the daily cycle,
decision seeds 100-102: 8.2 times the seasonal-naive fill's error; 0.040 times with the wider window).
A gap longer than the widest window carries across (half of :data:`WIDE_WINDOW`) is filled from the series' cycle
when it has one that hidden stretches confirm (:mod:`~tsae.pipelines.smooth.seasonal`), before the rest: a day missing
at one sample a minute was filled near the straight line (scripts/eval_smooth_unseen.py, ``long_gap``, dev seeds
100-102: 6.5 times the seasonal-naive fill's error; 0.12 times from the cycle).

Both were chosen on the decision draws of scripts/eval_smooth.py's imputation table (first
seed 100, four draws) and judged on draws never used for a choice, each against the code
before it (tsae best in how many of 40 cases; geometric-mean ratio to the best anchor; worst):

- the blend with the line: decision 29 against 26, 0.781 against 0.795, 2.82 against 4.16;
  fresh (first seed 1300) 27 against 24, 0.762 against 0.772, 2.10 against 2.86;
- the spline for short gaps: decision 29 against 29, 0.757 against 0.781, 2.82 against 2.82;
  fresh (first seed 1700) 28 against 27, 0.723 against 0.734, 1.38 against 1.49 (chirp with
  1 % gaps 1.15 -> 0.75; what it costs: steps with 1 % gaps 1.09 -> 1.38). With 5 % gaps and
  glitches (seeds 1700-1703) the geometric mean went from 0.450 to 0.440.

Two hidden-sample draws instead of one, a local polynomial through the gap's neighbours
instead of the spline, and the spline without the block count (or with a required 10 % gain on
the hidden samples instead of it) did no better on the decision draws.

Tried and not adopted (scripts/eval_smooth.py, imputation table): adding a cubic spline to
the choice and leaving the straight line only for a gain consistent across the hidden blocks
(mean gain per block above one standard error). On the decision draws (first seed 100, four
draws) it removed the worst failures (steps with 1 % gaps: 4.16 times the best anchor's
error -> 1.00); on fresh draws (first seed 700) it did not hold: tsae best in 23/40 cases
against 25/40, geometric-mean ratio to the best anchor 0.750 against 0.731.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsae.engine.layout import check_flag, known_layout
from tsae.engine.preprocess import denormalise, normalise, power_of_two_unit, repair_missing, spread
from tsae.errors import shown
from tsae.models.device import native_threads
from tsae.models.trainer import whole_number
from tsae.pipelines.reconstruct.columns import in_input_order
from tsae.pipelines.smooth.glitches import glitch_mask, runs
from tsae.pipelines.smooth.seasonal import fill_long_gaps
from tsae.pipelines.smooth.sign_test import sign_test
from tsae.pipelines.smooth.smoother import checked_series, noise_sigma

__all__ = ["impute", "MAX_ITERATIONS"]

#: the most refills :func:`impute` makes with a trained model. Each is a pass of the whole
#: series through the network; the refills stop once they settle, which a model that is
#: not a contraction on the gaps never does (a refill flipping between two values, a
#: float32 model wandering in its last bits): the cap bounds such a run to this many
#: passes, 50 times the default of 20, far more than a model that settles ever takes.
MAX_ITERATIONS = 1000


def _lagged_covariance(z: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Covariance (unnormalised) and column means of the trajectory matrix of ``z`` (all windows of L samples),
    without forming it: each diagonal of its Gram matrix is its first entry updated by one sample leaving the
    windows and one joining (O(n L + L**2) instead of O(n L**2); :func:`~tsae.pipelines.smooth._kernels.lagged_gram`).
    """
    from tsae.pipelines.smooth._kernels import lagged_gram

    n = len(z)
    N = n - L + 1
    sums = np.concatenate([[0.0], np.cumsum(z)])
    mean = (sums[N:N + L] - sums[:L]) / N
    first = np.correlate(z, z[:N], "valid")  # gram[0, d] = z[:N] @ z[d:d + N], the same sums
    cov = np.empty((L, L))
    lagged_gram(z, first, mean, N, cov)
    return cov, mean


def _window_sums(values: np.ndarray, windows: int, n: int) -> np.ndarray:
    """``out[t]``: the sum of ``values[i]`` over the lags ``i`` at which a window starts at ``t - i`` (one of
    ``windows``), for ``t`` in ``range(n)``: ``np.convolve(np.ones(windows), values)`` by running sums."""
    sums = np.concatenate([[0.0], np.cumsum(values)])
    L = len(values)
    # every lag reaches t from L - 1 to windows - 1: the full sum there; only the ends are worked out per sample
    ends = np.r_[0:min(n, L - 1), max(L - 1, windows):n]
    hi = np.minimum(ends, L - 1) + 1
    lo = np.minimum(np.maximum(ends - windows + 1, 0), hi)
    out = np.full(n, sums[L] - sums[0])
    out[ends] = sums[hi] - sums[lo]
    return out


def _decoded_edge(codes: np.ndarray, V: np.ndarray) -> np.ndarray:
    """The sum over the windows of ``codes`` decoded by ``V`` and laid out at their positions (no averaging)."""
    return sum((np.convolve(codes[:, k], V[:, k]) for k in range(V.shape[1])), np.zeros(len(codes) + len(V) - 1))


def _ssa_reconstruct(z: np.ndarray, L: int, rank: int) -> np.ndarray:
    """Rank-``rank`` linear autoencoder on all windows of length L (PCA), averaged back to a series.

    The same as framing every window, projecting it on the principal subspace and averaging each sample
    over its windows, computed in float64 without forming the windows: encoding and decoding every
    window and adding the decoded windows up is one filter (the sum of each component's autocorrelation)
    run over the series, exact but for the first and last L - 1 samples, which windows that would start
    before the series or end after it reach; those are summed over the real windows alone.
    """
    from scipy.linalg import eigh
    from scipy.signal import oaconvolve

    n = len(z)
    N, edge = n - L + 1, L - 1  # N > edge: L is at most n // 2
    shift = float(np.mean(z))  # the covariance does not change; its cancellation error does
    centred = z - shift
    cov, mean = _lagged_covariance(centred, L)
    rank = min(rank, L)
    _, V = eigh(cov, subset_by_index=[L - rank, L - 1])
    kernel = sum((np.convolve(V[::-1, k], V[:, k]) for k in range(rank)), np.zeros(2 * L - 1))
    decoded = oaconvolve(centred, kernel)[edge: edge + n]
    if edge:
        windows = np.lib.stride_tricks.sliding_window_view
        decoded[:edge] = _decoded_edge(windows(centred[: 2 * edge], L) @ V, V)[:edge]
        decoded[N:] = _decoded_edge(windows(centred[N - edge:], L) @ V, V)[edge:]
    decoded += _window_sums(mean - V @ (V.T @ mean), N, n)  # each window's mean, less its projection
    return decoded / _window_sums(np.ones(L), N, n) + shift


#: how far (RMS, in the channel's spreads) the filled samples may move under one fit of the autoencoder before it is
#: fitted again (:func:`_em_fill`): the covariance moves with the fill, by little once the fill has settled. Chosen on
#: scripts/eval_smooth.py's imputation table, decision draws (first seed 100): 1e-2 and 1e-3 both gave the RMSE of a
#: fit at every pass to within 1e-4 in every case (n=2000: 30/40 best, ratio 0.734; n=20000 in blocks of 4096: 32/40,
#: 0.743); 1e-2 took 34-54 % of the time of a fit at every pass, 1e-3 62-100 %
REFIT_MOVE = 1e-2
#: the most (missing sample, missing neighbour) pairs :func:`_em_fill` refills through (a multiply-add each a pass;
#: no longer stored, they were about 50 bytes each when this was set), and the most values of the windows it reads
#: around the missing samples at a fit (8 bytes each): more (a long series with many gaps, filled whole) are refilled
#: by reconstructing the whole series at each pass, in memory that grows with the series alone
MAX_PAIRS = 1 << 21
MAX_WINDOW_VALUES = 1 << 23


def _em_fill(z: np.ndarray, missing: np.ndarray, L: int, rank: int, iterations: int, tol: float = 1e-4) -> np.ndarray:
    """Refill ``missing`` samples of ``z`` (already holding a first guess) until they settle.

    Each pass is :func:`_ssa_reconstruct` at the missing samples, worked out there alone: the autoencoder (the
    covariance of the windows and its eigenvectors) is fitted again only once the fill has moved by
    :data:`REFIT_MOVE` since its last fit, and the refills stop once they settle under a fresh fit. Between fits
    the reconstruction is linear in the series: a pass adds what the change of each missing sample does to its
    missing neighbours (within a window). Few missing samples make a pass cheap, most of it the fit.
    """
    idx = np.flatnonzero(missing)
    n = len(z)
    N, edge = n - L + 1, L - 1
    inner = (idx >= edge) & (idx < N)  # where the filter is exact (see _ssa_reconstruct); the ends summed apart
    # the missing neighbours of each inner missing sample: pairs (row among the inner ones, column in idx)
    t = idx[inner]
    lo, hi = np.searchsorted(idx, t - edge), np.searchsorted(idx, t + edge, side="right")
    if not 0 < len(idx) < n or int(np.sum(hi - lo)) > MAX_PAIRS or len(t) * (2 * L - 1) > MAX_WINDOW_VALUES:
        return _em_fill_whole(z, missing, L, rank, iterations, tol)
    from scipy.linalg import eigh

    from tsae.pipelines.smooth._kernels import add_neighbour_steps

    z = z.copy()
    shift = float(np.mean(z))  # the covariance does not change; its cancellation error does
    c = z - shift
    counts = _window_sums(np.ones(L), N, n)[idx]
    head, tail = bool((idx < edge).any()), bool((idx >= N).any())
    windows = np.lib.stride_tricks.sliding_window_view
    rank = min(rank, L)
    fitted_at: np.ndarray | None = None
    for _ in range(iterations):
        fresh = fitted_at is None
        if fitted_at is None:  # fit: the autoencoder of the series as it is now, its reconstruction at the gaps
            cov, mean = _lagged_covariance(c, L)
            _, V = eigh(cov, subset_by_index=[L - rank, L - 1])
            taps = sum((np.convolve(V[::-1, k], V[:, k]) for k in range(rank)), np.zeros(2 * L - 1))[::-1]
            means = _window_sums(mean - V @ (V.T @ mean), N, n)[idx]
            decoded_inner = windows(c, 2 * L - 1)[t - edge] @ taps
            fitted_at = c[idx].copy()
        decoded = np.empty(len(idx))
        decoded[inner] = decoded_inner
        if head:
            decoded[idx < edge] = _decoded_edge(windows(c[: 2 * edge], L) @ V, V)[idx[idx < edge]]
        if tail:
            decoded[idx >= N] = _decoded_edge(windows(c[N - edge:], L) @ V, V)[edge:][idx[idx >= N] - N]
        step = (decoded + means) / counts - c[idx]
        change = float(np.sqrt(np.mean(step ** 2)))
        c[idx] += step
        if change < tol and fresh:
            break
        add_neighbour_steps(decoded_inner, t, idx, lo, hi, taps, step, edge)
        assert fitted_at is not None
        if change < tol or float(np.sqrt(np.mean((c[idx] - fitted_at) ** 2))) > REFIT_MOVE:
            fitted_at = None
    z[idx] = c[idx] + shift
    return z


def _em_fill_whole(z: np.ndarray, missing: np.ndarray, L: int, rank: int, iterations: int,
                   tol: float = 1e-4) -> np.ndarray:
    """:func:`_em_fill` by reconstructing the whole series at every pass (the autoencoder fitted each time)."""
    z = z.copy()
    for _ in range(iterations):
        rec = _ssa_reconstruct(z, L, rank)
        change = float(np.sqrt(np.mean((rec[missing] - z[missing]) ** 2)))
        z[missing] = rec[missing]
        if change < tol:
            break
    return z


def _holdout_mask(observed: np.ndarray, block: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """Blocks of observed samples to hide for choosing the bottleneck size."""
    n = len(observed)
    hide = np.zeros(n, dtype=bool)
    target = int(share * observed.sum())
    tries = 0
    while hide.sum() < target and tries < 1000:
        tries += 1
        start = int(rng.integers(0, max(1, n - block)))
        seg = slice(start, start + block)
        if observed[seg].all():
            hide[seg] = True
    return hide


def _blend_weights(truth: np.ndarray, line: np.ndarray, fills: list[np.ndarray]) -> np.ndarray:
    """Weights of ``fills`` against the straight ``line`` that restore ``truth`` best (least squares), each
    at least 0 and together at most 1 (a blend that stays between the candidates)."""
    steps = np.stack([f - line for f in fills], axis=1)
    target = truth - line
    best, weights = float(target @ target), np.zeros(len(fills))
    for size in range(1, len(fills) + 1):
        for chosen in itertools.combinations(range(len(fills)), size):
            part = steps[:, chosen]
            trials = [np.linalg.lstsq(part, target, rcond=None)[0]]
            # on the edge where the weights sum to one (the line has none)
            edge = np.linalg.lstsq(part[:, 1:] - part[:, :1], target - part[:, 0], rcond=None)[0]
            trials.append(np.concatenate([[1.0 - edge.sum()], edge]))
            for w in trials:
                if (w < 0).any() or w.sum() > 1.0 + 1e-9:
                    continue
                error = target - part @ w
                if float(error @ error) < best:
                    best, weights = float(error @ error), np.zeros(len(fills))
                    weights[list(chosen)] = w
    return weights


def spline_fill(z: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """``z`` with the ``missing`` samples between the first and last observed ones on a cubic spline through
    the observed samples (the others as they were)."""
    from scipy.interpolate import CubicSpline

    t = np.flatnonzero(~missing)
    out = z.copy()
    inside = np.flatnonzero(missing)
    inside = inside[(inside > t[0]) & (inside < t[-1])]
    out[inside] = CubicSpline(t, z[t])(inside)
    return out


#: the share of the observed samples hidden to choose the fill (:func:`_plan`)
_HIDDEN_SHARE = 0.1
#: the fewest hidden blocks whose restoration may give the spline a weight: with fewer (long gaps,
#: few blocks hidden) its weight is mostly chance, and a spline far from the line is the worst fill
SPLINE_BLOCKS = 8


@dataclass
class _Plan:
    """How :func:`_impute_channel` fills a channel's gaps, chosen on hidden observed samples.

    ``rank``: the autoencoder's bottleneck (0: none); ``weight``: its fill's weight against the line;
    ``short``: gaps of at most this many samples take ``short_weights`` (autoencoder, spline) instead;
    ``window``: the autoencoder's window when the hidden samples chose a wider one than the default (0: the default).
    """

    rank: int
    weight: float
    short: int = 0
    short_weights: tuple[float, float] = (0.0, 0.0)
    window: int = 0


def _rank_search(trial: np.ndarray, both: np.ndarray, hide: np.ndarray, truth: np.ndarray, L: int,
                 max_rank: int, line_err: float) -> tuple[int, float, dict[int, np.ndarray]]:
    """The autoencoder's fills of the ``hide`` samples by bottleneck size (``trial`` holding a first guess at
    ``both``, grown one component at a time), the rank :func:`_plan` chooses among them and its error on ``truth``
    (``line_err``, the line's, with rank 0)."""
    fills: dict[int, np.ndarray] = {}
    best_err, rank, worse = line_err, 0, 0
    for r in range(1, max_rank + 1):
        trial = _em_fill(trial, both, L, r, 15)
        fills[r] = trial[hide]
        err = float(np.sqrt(np.mean((fills[r] - truth) ** 2)))
        if err < best_err * 0.995:
            best_err, rank, worse = err, r, 0
        else:
            worse += 1
            if worse >= 4:
                break
    return rank, best_err, fills


def _plan(z: np.ndarray, missing: np.ndarray, L: int, max_rank: int, seed: int, wide: int = 0) -> _Plan:
    """Bottleneck size, window and the blend of the fills, from hidden observed samples (:func:`_fill_plan`).

    ``wide`` (when over ``L``): a second window, twice the longest gap (:func:`_wide_window`), weighed against ``L``
    on hidden blocks as long as that gap. When ``L`` restores them as well, the plan is ``L``'s alone, chosen on
    the blocks it holds (at most half its length) as without ``wide``.
    """
    if wide > L:
        plan = _fill_plan(z, missing, L, max_rank, seed, wide)
        if plan.window:
            return plan
    return _fill_plan(z, missing, L, max_rank, seed)


def _fill_plan(z: np.ndarray, missing: np.ndarray, L: int, max_rank: int, seed: int, wide: int = 0) -> _Plan:
    """Bottleneck size, window and the blend of the fills, from hidden observed samples.

    The rank is the largest that still restored the hidden samples 0.5 % better than every smaller one
    (0: none beat the line). Its fill is then weighed against the line (their least-squares blend on the
    hidden samples; with rank 0 the best rank's fill is weighed): where the autoencoder is only as good
    as the line, the mean of the two beats either, and a rank chosen by chance costs less. Gaps no longer
    than the hidden blocks may also take a cubic spline through the observed samples into the blend
    (short gaps in smooth series), when enough blocks were hidden to weigh it.

    ``wide`` (when over ``L``): a second window, as long as twice the longest gap (:func:`_wide_window`). The
    hidden blocks are then as long as that gap, and the wide window is taken when it restores them 0.5 % better
    than ``L`` does and fresh hidden stretches confirm it (:func:`_wide_wins`): a window shorter than a gap has no
    observed sample on both of its sides, and a fill that must carry a cycle across it (a day missing from a daily
    cycle) cannot.
    """
    # as long as the longest gap inside the series: the gaps at its ends are weighed on their own (_end_weight)
    longest = _longest_gap(missing)
    windows = [L, wide] if wide > L else [L]
    block = max(1, min(longest, windows[-1] // 2))
    hide = _holdout_mask(~missing, block, _HIDDEN_SHARE, np.random.default_rng(seed))
    # many scattered gaps leave few stretches of ``block`` observed samples: hide shorter blocks rather than
    # choose on a handful of samples, or on none (an unmeasured rank-2 fill, 2.8 times the line's error with
    # half the samples missing at random)
    while block > 1 and hide.sum() < 0.5 * _HIDDEN_SHARE * (~missing).sum():
        block //= 2
        hide = _holdout_mask(~missing, block, _HIDDEN_SHARE, np.random.default_rng(seed))
    if not hide.any():
        return _Plan(2, 1.0)
    truth = z[hide]
    trial = z.copy()
    trial[hide] = np.nan
    trial = repair_missing(trial)
    line = trial[hide]
    both = missing | hide
    # the spline is weighed only on enough hidden blocks, through enough samples left (a cubic needs 4)
    weigh_spline = hide.sum() >= SPLINE_BLOCKS * block and (~both).sum() >= 4
    spline = spline_fill(trial, both)[hide] if weigh_spline else None
    line_err = float(np.sqrt(np.mean((line - truth) ** 2)))
    rank, best_err, fills = _rank_search(trial, both, hide, truth, L, max_rank, line_err)
    window = 0
    if len(windows) > 1:
        wide_rank, wide_err, wide_fills = _rank_search(trial, both, hide, truth, wide, max_rank, line_err)
        if wide_rank and wide_err < best_err * 0.995:
            held = rank or min(fills, key=lambda r: float(np.mean((fills[r] - truth) ** 2)))
            default = (L, held, float(_blend_weights(truth, line, [fills[held]])[0]))
            chosen = (wide, wide_rank, float(_blend_weights(truth, line, [wide_fills[wide_rank]])[0]))
            if _wide_wins(z, missing, block, seed, default, chosen):
                rank, fills, window = wide_rank, wide_fills, wide
    if not rank:
        rank = min(fills, key=lambda r: float(np.mean((fills[r] - truth) ** 2)))
    weight = float(_blend_weights(truth, line, [fills[rank]])[0])
    plan = _Plan(rank, weight, window=window)
    if spline is not None:
        both_weights = _blend_weights(truth, line, [fills[rank], spline])
        plan.short, plan.short_weights = block, (float(both_weights[0]), float(both_weights[1]))
    if plan.weight <= 0 and plan.short_weights[0] <= 0:
        plan.rank = 0
    return plan


#: the wide window is taken only when it restores more of the fresh hidden stretches better than the default does
#: than chance would (a one-sided sign test at this level, :func:`_wide_wins`). The fresh draws stop once
#: WIDE_STRETCHES stretches were scored (a sign test at 5 % needs 9 wins of 10), or after WIDE_DRAWS draws
WIDE_LEVEL = 0.05
WIDE_STRETCHES = 10
WIDE_DRAWS = 8


def _wide_wins(z: np.ndarray, missing: np.ndarray, block: int, seed: int, default: tuple[int, int, float],
               wide: tuple[int, int, float]) -> bool:
    """Whether the wide window's fill restores fresh hidden stretches of ``block`` samples better than the
    default's more often than chance would (:data:`WIDE_LEVEL`), and restores them better in all.

    ``default`` and ``wide``: (window, rank, weight against the line) as the first draw chose them. That draw
    hid a handful of stretches (two of a day's length in a 2,016-sample series), where a small gain is chance:
    taking the wide window on it filled a day missing from step responses worse (scripts/eval_smooth_unseen.py,
    ``season_gap``/``decay``, dev seeds 100-111: 1.41 -> 1.63 times the line's error). Each fresh draw hides
    stretches elsewhere (overlapping ones merged into one), both fills restore them, and the draws stop once
    :data:`WIDE_STRETCHES` were scored or the default has won too many for the test to pass.
    """
    wins = scored = 0
    gain = 0.0
    for draw in range(1, WIDE_DRAWS + 1):
        hide = _holdout_mask(~missing, block, _HIDDEN_SHARE, np.random.default_rng([seed, draw]))
        if not hide.any():
            break
        trial = repair_missing(np.where(hide, np.nan, z))
        both = missing | hide
        errors = [(trial + weight * (_grown_fill(trial, both, L, rank) - trial) - z) ** 2
                  for L, rank, weight in (default, wide)]
        for a, b in runs(hide):
            better = float(np.sum(errors[0][a:b]) - np.sum(errors[1][a:b]))
            wins, scored, gain = wins + (better > 0), scored + 1, gain + better
        at_best = max(scored, WIDE_STRETCHES)  # the test if the wide window won every stretch still to come
        if scored >= WIDE_STRETCHES or sign_test(wins + at_best - scored, at_best) > WIDE_LEVEL:
            break
    return gain > 0 and sign_test(wins, scored) <= WIDE_LEVEL


#: the widest window :func:`_wide_window` offers: each fit's eigenvectors cost about WIDE_WINDOW**3 operations. A
#: 3,000-sample gap in 20,000 samples of two sines took 6.4 s before the wide window (0.74 of the spread off), 19.7 s
#: with 512 (0.20) and 73 s with 1024 (0.013): a refill of a gap that long goes through the whole series at each pass
WIDE_WINDOW = 512


def _longest_gap(missing: np.ndarray) -> int:
    """The length of the longest gap inside the series (between observed samples), or at its ends when none is
    inside; 0 without gaps."""
    gaps = runs(missing)
    inner = [(a, b) for a, b in gaps if a > 0 and b < len(missing)]
    return max((b - a for a, b in (inner or gaps)), default=0)


def _wide_window(missing: np.ndarray, L: int) -> int:
    """A window of twice the longest gap inside the series (or at its ends when none is inside), for :func:`_plan`
    to weigh against the default ``L`` when the gap is longer than ``L``'s hidden blocks (half of it); 0 when it
    is not, or the series is too short to hold it (at most half the series, and :data:`WIDE_WINDOW`)."""
    longest = _longest_gap(missing)
    wide = min(2 * longest, len(missing) // 2, WIDE_WINDOW)
    return wide if longest > L // 2 and wide > L else 0


def _shorter_gaps(missing: np.ndarray, longest: int) -> np.ndarray:
    """``missing`` less its gaps longer than ``longest`` samples."""
    out = missing.copy()
    for a, b in runs(missing):
        if b - a > longest:
            out[a:b] = False
    return out


def _grown_fill(z: np.ndarray, missing: np.ndarray, L: int, rank: int) -> np.ndarray:
    """The autoencoder's fill of ``missing`` (``z`` holding a first guess), its bottleneck grown one component
    at a time up to ``rank`` (Kondrashov & Ghil)."""
    fill = z
    for r in range(1, rank + 1):
        fill = _em_fill(fill, missing, L, r, 15 if r < rank else 40)
    return fill


#: the most stretches next to an end gap that are hidden to weigh its fill (see :func:`_end_weight`)
END_TRIALS = 4


def _end_weight(z: np.ndarray, missing: np.ndarray, L: int, rank: int, default: float) -> float:
    """Weight of the autoencoder's fill against holding the nearest observed value in the gaps at the ends.

    A gap at an end is an extrapolation, which the hidden blocks inside the series (interpolations, with
    observed samples on both sides) do not measure: a level or a random walk drifts away from its last
    value. The series is cut short at each end by one to :data:`END_TRIALS` times the end gap's length
    (together at most a quarter of the observed samples), the last stretch cut off as long as the gap is
    filled as the end gap is, and the fill weighed against holding the value beyond it (their
    least-squares blend over all the cuts), at most ``default`` (the interior weight; it when nothing can be cut).
    """
    n = len(z)
    reach = int((~missing).sum()) // 4
    ends = [(a, b) for a, b in runs(missing) if a == 0 or b == n]
    longest = max(b - a for a, b in ends)
    trials = min(END_TRIALS, reach // max(1, longest)) if reach >= longest else int(reach > 0)
    truth, line, fill = [], [], []
    for j in range(trials):
        cut, scored = missing.copy(), np.zeros(n, dtype=bool)
        for a, b in ends:
            length = min(b - a, reach)
            if a == 0:
                cut[: b + (j + 1) * length] = True
                scored[b + j * length: b + (j + 1) * length] = True
            if b == n:
                cut[max(0, a - (j + 1) * length):] = True
                scored[max(0, a - (j + 1) * length): max(0, a - j * length)] = True
        scored &= ~missing
        if not scored.any() or cut.all():
            continue
        held = repair_missing(np.where(cut, np.nan, z))  # the value beyond the cut, held
        truth.append(z[scored])
        line.append(held[scored])
        fill.append(_grown_fill(held, cut, L, rank)[scored])
    if not truth:
        return default
    # an extrapolation is no easier than an interpolation: never more weight than the interior gaps earned
    return min(default, float(_blend_weights(np.concatenate(truth), np.concatenate(line), [np.concatenate(fill)])[0]))


def _impute_channel(v: np.ndarray, *, window: int | None, rank: int | None, max_rank: int, seed: int,
                    plan: _Plan | None = None,
                    ends: tuple[bool, bool] = (True, True)) -> tuple[np.ndarray, _Plan | None]:
    """``v`` with its gaps filled, and the :class:`_Plan` that filled them (``plan`` when given, else chosen on
    ``v``'s hidden samples; None when nothing was chosen). ``ends``: whether ``v`` starts and ends where the
    series does (see :func:`impute`)."""
    missing = np.isnan(v)
    if not missing.any():
        return v.copy(), plan
    n = len(v)
    # gross glitches only: a brief dip or peak within the series' range may be real, and the fill needs it;
    # found on the series divided by a power of two (exact): near float64's limit their bounds overflowed
    scaled = v / float(power_of_two_unit(v, skip_nan=True)[0])
    glitches = glitch_mask(scaled, noise_sigma(scaled), gross_only=True)
    if glitches.any():  # filled as gaps are, from the rest; impute() returns the observed samples as they were
        v = np.where(glitches, np.nan, v)
        missing = missing | glitches
    obs = v[~missing]
    unit = float(power_of_two_unit(obs)[0])  # exact: the sum of values near float64's limit would overflow
    mu, sd = float(np.mean(obs / unit)) * unit, float(spread(obs)[0]) or 1.0
    z = repair_missing(normalise(v, mu, sd))  # v - mu overflowed for values of both signs near the limit
    if n < 8:
        return denormalise(z, mu, sd), plan
    if window is None and rank is None:  # gaps no window carries across, filled from the series' cycle if it has one
        seasonal = fill_long_gaps(z, missing, WIDE_WINDOW // 2, seed)
        if seasonal is not None:
            missing = _shorter_gaps(missing, WIDE_WINDOW // 2)
            z = seasonal
            if not missing.any():
                return denormalise(z, mu, sd), plan
    L = int(window or np.clip(n // 5, 4, 128))
    L = max(2, min(L, n // 2))
    chosen = rank is None  # a given rank is the autoencoder's fill, unweighted
    if rank is not None:
        plan = _Plan(rank, 1.0)
    elif plan is None:
        plan = _plan(z, missing, L, max_rank, seed, 0 if window else _wide_window(missing, L))
    if plan.window:  # a window the hidden samples chose (a block of a long series: as long as it holds)
        L = max(2, min(plan.window, n // 2))
    line, fill = z, z
    end_weight = plan.weight
    if plan.rank > 0:
        rank = min(plan.rank, L)  # a window of L samples has L components: more is the same fill, grown for ever
        fill = _grown_fill(fill, missing, L, rank)
        # weighed when a gap is at an end of the series itself; another end's gap is context, never kept
        if chosen and ((missing[0] and ends[0]) or (missing[-1] and ends[1])):
            end_weight = _end_weight(line, missing, L, rank, plan.weight)
    z = line + plan.weight * (fill - line)
    if plan.short and plan.short_weights[1] > 0:
        w_fill, w_spline = plan.short_weights
        spline = spline_fill(line, missing)
        for a, b in runs(missing):
            if b - a <= plan.short:
                z[a:b] = line[a:b] + w_fill * (fill[a:b] - line[a:b]) + w_spline * (spline[a:b] - line[a:b])
    for a, b in runs(missing):
        if a == 0 or b == n:  # an extrapolation: weighed on its own (the spline does not reach there)
            z[a:b] = line[a:b] + end_weight * (fill[a:b] - line[a:b])
    return denormalise(z, mu, sd), plan


def _check_plans(plans: Any, channels: int) -> None:
    """A named error unless ``plans`` is a list (it is filled in) of one entry per channel, each None or a plan an
    earlier block chose; a tuple, a number or another object was an error from inside (``'int' object has no
    attribute 'window'``)."""
    if not isinstance(plans, list):
        raise TypeError(f"plans must be a list (one entry per channel, filled in here) or None, got "
                        f"{type(plans).__name__}")
    if len(plans) != channels:
        raise ValueError(f"plans must hold one entry per channel ({channels}), got {len(plans)}")
    wrong = next((plan for plan in plans if plan is not None and not isinstance(plan, _Plan)), None)
    if wrong is not None:
        raise TypeError(f"plans must hold None or the plans an earlier block chose, got {type(wrong).__name__}")


def _check_ends(ends: Any) -> tuple[bool, bool]:
    """``ends`` as a pair of flags, else one line naming it: a bare True was indexed (TypeError deep inside), a
    1-tuple was an IndexError, and ``"both"`` read as ``('b', 'o')``, two True."""
    if not isinstance(ends, (tuple, list)) or len(ends) != 2:
        raise TypeError(f"ends must be a pair (True or False for the series' start, then for its end), "
                        f"got {shown(ends)}")
    return check_flag("ends[0]", ends[0]), check_flag("ends[1]", ends[1])


def impute(
    x: Any,
    *,
    model: Any = None,
    window: int | None = None,
    rank: int | None = None,
    max_rank: int = 12,
    iterations: int = 20,
    seed: int = 0,
    device: str = "cpu",
    plans: list[Any] | None = None,
    ends: tuple[bool, bool] = (True, True),
) -> np.ndarray:
    """Fill every missing sample (NaN) of a series by autoencoder reconstruction.

    Parameters
    ----------
    x
        ``(n,)`` or ``(channels, n)`` with NaN for missing samples.
    model
        A trained model file path, :class:`~tsae.models.modelfile.LoadedModel` or what
        :func:`tsae.fit` returned: gaps
        are refilled with its reconstruction ``iterations`` times. Without one, a
        linear autoencoder (PCA of all windows of ``window`` samples) is trained on the
        observed samples of each channel by expectation-maximisation.
    window
        Window length of the self-trained autoencoder (default ``n/5``, at most 128; when ``rank`` is chosen and a
        gap is longer than half of it, a window twice the gap's length, at most :data:`WIDE_WINDOW`, is weighed
        against it on hidden samples as long as the gap, and taken when it restores them better, more often than
        chance would). With neither ``window`` nor ``rank`` given, a gap longer than half of
        :data:`WIDE_WINDOW` is filled from the series' cycle when it has one
        (:func:`~tsae.pipelines.smooth.seasonal.fill_long_gaps`). Beside a trained ``model``: a ValueError, as
        ``rank``.
    rank
        Its bottleneck size (default: chosen by restoring hidden observed samples,
        up to ``max_rank``; 0 when nothing beats linear interpolation).
    max_rank
        The largest bottleneck size tried when ``rank`` is chosen.
    iterations
        With a model: how many times the gaps are refilled at most (the refills stop once the
        filled values no longer change); at most :data:`MAX_ITERATIONS` (1000), so that a
        model whose refills never settle cannot run for ever.
    seed
        Seed of the hidden-sample draw.
    device
        Device for a trained model.
    plans
        Blocks of one long series (:func:`~tsae.pipelines.smooth.blocks.impute_blocks`): one entry per
        channel (in the order of ``x``'s channels), None or the fill plan (bottleneck size and blend weights)
        an earlier block chose for that channel. A plan is used as it is; a None entry is replaced by
        the plan chosen here, so that the blocks after it reuse it instead of choosing again on their own
        hidden samples (most of the time of a block). Without a trained model only.
    ends
        Whether ``x`` starts and ends where the series does (a block of a long one reads context beyond its own
        samples): a gap at an end that is not the series' own is filled as the gaps inside are, without the
        weighing of an extrapolation (:func:`_end_weight`), as the caller keeps no sample of it. Without a
        trained model only.

    Returns
    -------
    np.ndarray
        float64, the input's shape; observed samples unchanged, no NaN left. Values near
        float64's limit are filled as the series scaled down by a power of two would be; a
        fill beyond float64's range is a ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.sin(np.arange(400) / 10.0)
    >>> x[100:140] = np.nan
    >>> bool(np.isnan(impute(x)).any())
    False
    """
    for name, value, low, optional in (("window", window, 2, True), ("rank", rank, 1, True),
                                       ("max_rank", max_rank, 1, False), ("iterations", iterations, 1, False)):
        if optional and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}{' or None' if optional else ''}, got {value!r}")
    if iterations > MAX_ITERATIONS:  # 10**30 ran for ever with a model whose refills never settle
        raise ValueError(f"iterations must be at most {MAX_ITERATIONS} (each is a pass of the series through the "
                         f"model), got {iterations!r}")
    whole_number("seed", seed, 0)
    ends = _check_ends(ends)
    given = [name for name, value in (("window", window), ("rank", rank)) if value is not None]
    if model is not None and given:  # else silently unused, as smooth refuses model_params beside a model
        raise ValueError(f"{' and '.join(given)} {'are' if len(given) > 1 else 'is'} the self-trained autoencoder's; "
                         f"a trained model (model=) brings its own: leave {'them' if len(given) > 1 else 'it'} out")
    arr, squeeze, missing, perm, model = checked_series(x, model, device)
    if model is not None:
        from tsae.models.modelfile import as_loaded
        from tsae.pipelines.reconstruct.series import reconstruct_series

        loaded = as_loaded(model, device)
        out = repair_missing(arr)
        for _ in range(iterations):
            rec = np.asarray(reconstruct_series(loaded, known_layout(out)), dtype=np.float64).reshape(out.shape)
            if np.array_equal(rec[missing], out[missing]):
                break  # settled: every further refill would be this one
            out[missing] = rec[missing]
    else:
        if plans is not None:
            _check_plans(plans, len(arr))
        chosen = list(plans) if plans is not None else [None] * len(arr)
        rows = []
        import scipy.linalg  # noqa: F401 - loaded before the thread limit, so that its BLAS is held to one too
        import scipy.signal  # noqa: F401

        with native_threads(1):  # no network here: torch is not needed (its import was 2 s a command)
            for c, row in enumerate(arr):
                filled, chosen[c] = _impute_channel(row, window=window, rank=rank, max_rank=max_rank, seed=seed,
                                                    plan=chosen[c], ends=ends)
                rows.append(filled)
        out = np.stack(rows)
        if plans is not None:
            plans[:] = chosen
    out[~missing] = arr[~missing]
    if np.isinf(out).any():  # a fill beyond float64's range (a series at its limit): said, not inf
        raise ValueError("the filled gaps go beyond float64's range (the observed values reach "
                         f"{float(np.max(np.abs(arr[~missing]))):.3g}): scale the series down first")
    return out[0] if squeeze else in_input_order(out, perm)
