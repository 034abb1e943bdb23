"""The detector's score terms, one at a time: learning them, their error rows, their normal levels.

A detector adds up to three kinds of term: ``"ae"`` (the autoencoder's residual, on the
main window), ``"pca"`` (the residual off the training windows' principal subspace) and
``"stats"`` (each window's level, spread and step size, and on the main window its spectral
shape, against their normal range), the last two on every window scale. Each term's
per-sample error is divided by its mean on held-out normal data (its *normal level*), so
terms of different kinds can be added.
These helpers serve the fit: the self-check (:mod:`tsae.pipelines.anomaly.selfcheck`)
scores each term on its own and chooses which to keep.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from tsae.pipelines.anomaly.scoring import (
    _EPS,
    DetectorState,
    LinearTerm,
    ScoreSmoother,
    ScoringCore,
    StatsTerm,
    _MovingMean,
    frame_rows,
    own_level_removed,
    shared_rise_scores,
    sum_present,
)

#: the term kinds, in the order they are named
TERMS = ("ae", "pca", "stats")

TermKey = tuple[str, int]  # (kind, window length)

#: a series whose level follows a line this closely (:func:`trend_fit`, the share of its levels' variance the
#: line holds) gets subspace terms that take each window's own level off (:class:`LinearTerm`): on a sine riding a
#: trend (1.00 on the decision seeds; no NAB or SKAB dev series, nor a cyclic family but the trending one, reaches
#: 0.75), the test rows' level beyond the training range had raised the subspace and autoencoder errors of every
#: normal window three- to four-fold, drowning a warped cycle, a noisy stretch, a spike
TREND_FIT = 0.9
#: ... over at least this many consecutive windows' levels (fewer: no trend is told)
TREND_LEVELS = 6
#: most windows of one length that the subspace and statistics terms learn from (evenly spaced)
MAX_TERM_WINDOWS = 4000
#: copies of the ``m x m`` Gram matrix (``m``: the fewer of the windows and a window's values) held while its
#: eigen-decomposition runs: the matrix, LAPACK's copy of it and workspace, the axes and their reordered copy
GRAM_COPIES = 5
#: the statistics' working arrays of one part of the frames (:func:`~tsae.pipelines.anomaly.scoring.frame_parts`):
#: its float64 copy, the tapered copy and its temporary, the spectrum, the power, the band sums
STATS_PART_COPIES = 6


def term_names(terms: str | Sequence[str]) -> tuple[str, ...] | None:
    """The term kinds ``terms`` names, in :data:`TERMS` order; None for ``"auto"`` (the self-check chooses).

    Raises
    ------
    ValueError
        ``"terms='PCA': use 'auto' or a combination of ae, pca, stats"`` for an unknown or empty name.
    """
    if isinstance(terms, str) and terms == "auto":
        return None
    names = terms.split("+") if isinstance(terms, str) else list(terms)
    names = [name.strip() for name in names if name.strip()]
    if not names or any(name not in TERMS for name in names):
        raise ValueError(f"terms={terms!r}: use 'auto' or a combination of {', '.join(TERMS)}")
    return tuple(name for name in TERMS if name in names)


def principal_axes(centred: np.ndarray, variance: float | None = None,
                   rank: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Squared singular values (descending) and the leading principal axes ``(k, d)`` of centred rows ``(N, d)``.

    From the eigen-decomposition of the smaller Gram matrix (``d x d`` or ``N x N``): the
    same subspace as an SVD, several times faster on the few hundred to few thousand
    windows a detector learns from; axes of (numerically) zero variance are dropped. Only the
    axes kept are made: the ``rank`` first, or (``variance``) as many as hold that share of the
    variance, else all. With ``N < d`` each axis is a ``d``-long product of the rows, so making all
    ``N`` of them took as much memory as the rows and most of a long window's fit time.
    """
    n, d = centred.shape
    var, vecs = np.linalg.eigh(centred.T @ centred if n >= d else centred @ centred.T)
    order = np.argsort(var)[::-1]
    var, vecs = np.clip(var[order], 0.0, None), vecs[:, order]
    keep = var > 1e-12 * max(float(var[0]), _EPS)
    if not keep.any():  # constant windows: one (arbitrary) axis of zero variance
        return np.zeros(1), np.eye(1, d)
    var, vecs = var[keep], vecs[:, keep]
    if rank is None and variance is not None:
        rank = int(np.searchsorted(np.cumsum(var) / max(var.sum(), _EPS), variance) + 1)
    count = len(var) if rank is None else min(rank, len(var))
    if n >= d:
        return var, vecs[:, :count].T
    return var, (vecs[:, :count].T @ centred) / np.sqrt(var[:count])[:, None]


def _term_stride(n: int, window: int, max_windows: int) -> int:
    return max(1, math.ceil((n - window + 1) / max_windows))


def term_window_count(n: int, window: int, max_windows: int = MAX_TERM_WINDOWS) -> int:
    """How many windows :func:`fit_window_terms` cuts from ``n`` samples (``window <= n``)."""
    return 1 + (n - window) // _term_stride(n, window, max_windows)


def term_memory(count: int, channels: int, window: int, train: int = 0) -> int:
    """The most bytes :func:`fit_window_terms` holds at once for ``count`` windows of ``(channels, window)``
    samples, with the network's training copy of ``train`` of them made after it.

    The float32 windows throughout, and beside them the most of: the subspace's float64 centred copy with its Gram
    matrix's eigen-decomposition (:data:`GRAM_COPIES`) and its axes (as many as the values, at most), the
    statistics' working arrays of one part of the windows (:data:`STATS_PART_COPIES`), the training copy. What
    :meth:`Detector.fit` checks before it allocates.
    """
    values = channels * window
    side = min(count, values)
    # the axes kept are the model's, as many as hold pca_variance: at most all of them
    subspace = 8 * (count + side) * values + GRAM_COPIES * 8 * side * side
    stats = STATS_PART_COPIES * 8 * min(count, frame_rows(window, channels)) * values
    return 4 * count * values + max(subspace, stats, 4 * train * values)


def term_window_starts(n: int, window: int, max_windows: int = MAX_TERM_WINDOWS, seed: int = 0,
                       breaks: Sequence[int] = ()) -> np.ndarray:
    """Where the windows :func:`fit_window_terms` learns from start: every position, or, when that is more than
    ``max_windows``, one drawn at random (``seed``) in each stretch of ``stride`` positions.

    A fixed stride aliased with periodic signals: a period of 50 samples and a stride of 25 put every window at
    one of two phases, so the subspace learnt from them left the other phases' windows with errors eight times their
    normal level, and every sample of normal data was flagged.

    Examples
    --------
    >>> term_window_starts(10, 4).tolist()
    [0, 1, 2, 3, 4, 5, 6]
    >>> starts = term_window_starts(100_000, 64, seed=1)
    >>> len(starts), bool((np.diff(starts) > 0).all()), int(starts[-1]) <= 100_000 - 64
    (3998, True, True)

    ``breaks``: where the series of another device begins (a fleet's devices one after the other): no window spans
    one; a window that would is moved to start at it (dropped where that segment is shorter than a window).

    >>> term_window_starts(10, 4, breaks=[5]).tolist()
    [0, 1, 5, 6]
    """
    stride = _term_stride(n, window, max_windows)
    starts = np.arange(term_window_count(n, window, max_windows), dtype=np.int64) * stride
    if stride > 1:
        jitter = np.random.default_rng([seed, window]).integers(0, stride, len(starts))
        starts = np.minimum(starts + jitter, n - window)
    edges = np.array(sorted({int(b) for b in breaks if 0 < int(b) < n}), dtype=np.int64)
    if edges.size:
        bounds = np.concatenate([edges, [n]])
        nxt = np.searchsorted(edges, starts, side="right")  # the first break after each start
        crossing = starts + window > bounds[nxt]
        starts = np.where(crossing, bounds[np.minimum(nxt, edges.size - 1)], starts)  # moved to that break
        ends = bounds[np.searchsorted(edges, starts, side="right")]
        starts = np.unique(starts[starts + window <= ends])
    return starts


def trend_fit(Z: np.ndarray, window: int, repaired: np.ndarray | None = None, breaks: Sequence[int] = ()) -> float:
    """How closely the level of the normalised series ``Z`` (C, n) follows a line: each sensor's share of the
    variance of its consecutive ``window``-long windows' means that a straight line through them holds, the mean
    over sensors (0 with fewer than :data:`TREND_LEVELS` windows, or levels without variance).

    ``repaired`` ``(C, n)`` (None: none): the samples a gap's repair filled in; a window holding one is left out of
    its sensor's line where :data:`TREND_LEVELS` others remain (a gap held at its last value moved a window's mean
    by up to half a cycle's swing: a trending sine with a 40-sample gap fell from 1.00 to 0.69). ``breaks``: where
    another device's series begins in ``Z`` (a fleet): each device's windows start at its own first row and each
    has its own line (the devices' levels pooled), from those with at least :data:`TREND_LEVELS` windows (a fleet
    of devices each on the same rise, seen as one series, had a saw for levels).

    Examples
    --------
    >>> t = np.arange(1000)
    >>> round(trend_fit((np.sin(2 * np.pi * t / 50) + t / 500)[None], 50), 2)
    1.0
    >>> round(trend_fit(np.sin(2 * np.pi * t / 50)[None], 50), 2)
    0.0
    >>> round(trend_fit(np.tile(np.sin(2 * np.pi * t / 50) + t / 500, 2)[None], 50, breaks=[1000]), 2)
    1.0
    """
    channels, n = Z.shape
    edges = [0, *sorted({int(b) for b in breaks if 0 < b < n}), n]
    held, total, counted = np.zeros(channels), np.zeros(channels), np.zeros(channels)
    for start, stop in itertools.pairwise(edges):
        count = (stop - start) // window
        if count < TREND_LEVELS:
            continue
        span = slice(start, start + count * window)
        levels = Z[:, span].reshape(channels, count, window).mean(axis=2)
        kept = np.ones((channels, count), bool)
        if repaired is not None:
            clean = np.logical_not(repaired[:, span].reshape(channels, count, window).any(axis=2))
            enough = clean.sum(axis=1) >= TREND_LEVELS  # else every window, as without the repair told
            kept[enough] = clean[enough]
        weights = kept.astype(np.float64)
        size = weights.sum(axis=1, keepdims=True)
        steps = np.arange(count) - (weights * np.arange(count)).sum(axis=1, keepdims=True) / size
        levels = levels - (weights * levels).sum(axis=1, keepdims=True) / size
        steps, levels = steps * weights, levels * weights  # a window left out adds nothing
        slope = (levels * steps).sum(axis=1) / (steps * steps).sum(axis=1)
        held += (levels ** 2).sum(axis=1) - ((levels - slope[:, None] * steps) ** 2).sum(axis=1)
        total += (levels ** 2).sum(axis=1)
        counted += size[:, 0]
    share = np.divide(held, total, out=np.zeros(channels), where=(total > 1e-12 * counted) & (counted > 0))
    return float(share.mean())


def follows_trend(Z: np.ndarray, window: int, repaired: np.ndarray | None = None, breaks: Sequence[int] = ()) -> bool:
    """Whether the level of ``Z`` (C, n) follows a line (:func:`trend_fit` at least :data:`TREND_FIT`)."""
    return trend_fit(Z, window, repaired, breaks) >= TREND_FIT


def fit_window_terms(Z: np.ndarray, window: int, variance: float, max_windows: int = MAX_TERM_WINDOWS,
                     rank: int | None = None, seed: int = 0, bands: bool = False,
                     breaks: Sequence[int] = (), level_free: bool = False,
                     ) -> tuple[LinearTerm, StatsTerm, np.ndarray, int]:
    """Learn the subspace and statistics terms of one window length from the normalised series ``Z`` (C, n).

    Training windows are taken at every position, thinned to at most ``max_windows``
    (:func:`term_window_starts`: one at a random position in each stretch, ``seed``), so the cost does not grow
    with the series beyond that. ``rank`` (None: the components holding ``variance``) fixes the subspace's size;
    ``bands``: the statistics term learns the windows' spectral shape too (:class:`StatsTerm`); ``breaks``: where
    another device's series begins in ``Z`` (no window spans one, :func:`term_window_starts`); ``level_free``: the
    subspace is learnt from the windows with their own mean per sensor taken off (:class:`LinearTerm`).

    Returns
    -------
    (pca, stats, windows, rank)
        ``windows`` ``(N, C, L)`` float32 (the autoencoder's training windows when ``window``
        is the main one) and the subspace's ``rank`` (components holding ``variance``).
    """
    channels, n = Z.shape
    starts = term_window_starts(n, window, max_windows, seed, breaks)
    if not len(starts):
        raise ValueError(f"no device's series is as long as a window ({window} samples)")
    windows = np.empty((len(starts), channels, window), np.float32)
    for i, start in enumerate(starts):
        windows[i] = Z[:, start: start + window]
    if level_free:
        centred = own_level_removed(windows, axis=2).reshape(len(windows), -1)
    else:
        centred = windows.reshape(len(windows), -1).astype(np.float64)  # centred in place: one float64 copy
    mean = centred.mean(axis=0)
    centred -= mean
    axes = principal_axes(centred, variance, rank)[1]
    del centred  # before the statistics' working arrays
    pca = LinearTerm(components=axes, mean=mean, err_scale=np.ones(channels), level_free=level_free)
    stats = StatsTerm.fit(windows.transpose(0, 2, 1), bands=bands)
    return pca, stats, windows, len(axes)


def available_terms(state: DetectorState) -> tuple[str, ...]:
    """The term kinds the state has learnt."""
    have = {"ae": state.model is not None, "pca": state.pca is not None, "stats": state.stats is not None}
    return tuple(name for name in TERMS if have[name])


def _keys(state: DetectorState) -> list[TermKey]:
    keys = [("ae", state.window)] if state.model is not None else []
    for term in [state.primary_term(), *state.scales]:
        if term.pca is not None:
            keys.append(("pca", term.window))
        if term.stats is not None:
            keys.append(("stats", term.window))
    return keys


def _single(state: DetectorState, key: TermKey) -> DetectorState:
    """A state scoring only the term ``key``, weight 1, no smoothing."""
    name, window = key
    term = next(t for t in [state.primary_term(), *state.scales] if t.window == window)
    return DetectorState(model=state.model, window=window, hop=term.hop, normalizer=state.normalizer,
                         err_scale=state.err_scale, smooth=1, linear_weight=1.0 if name == "pca" else 0.0,
                         pca=term.pca if name == "pca" else None, centered=state.centered,
                         ae_weight=1.0 if name == "ae" else 0.0, stats=term.stats if name == "stats" else None)


def term_rows(state: DetectorState, X: np.ndarray, start: int) -> dict[TermKey, np.ndarray]:
    """Each term's per-sample, per-sensor error rows ``(n - start, C)`` on samples ``start:`` of ``X`` (C, n).

    Errors are divided by the terms' current normal levels. The samples from one window
    before ``start`` on are scored, so the first rows have whole windows.
    """
    out = {}
    for key in _keys(state):
        context = max(0, start - key[1])
        core = ScoringCore(_single(state, key), device="cpu")
        rows = np.concatenate([core._error_rows(X[:, context:].T), core._flush_error_rows()])
        out[key] = rows[start - context:]
    return out


def set_level(state: DetectorState, key: TermKey, level: np.ndarray) -> None:
    """Set the normal level ``(C,)`` of the term ``key``."""
    name, window = key
    if name == "ae":
        state.err_scale = np.asarray(level, np.float64)
        return
    term = state.pca if name == "pca" else state.stats
    if window != state.window:
        scale = next(t for t in state.scales if t.window == window)
        term = scale.pca if name == "pca" else scale.stats
    assert term is not None
    term.err_scale = np.asarray(level, np.float64)


def level_of(state: DetectorState, key: TermKey) -> np.ndarray:
    """The normal level ``(C,)`` of the term ``key`` (what :func:`set_level` set)."""
    name, window = key
    if name == "ae":
        return np.asarray(state.err_scale, np.float64)
    term = next(t for t in [state.primary_term(), *state.scales] if t.window == window)
    found = term.pca if name == "pca" else term.stats
    assert found is not None
    return np.asarray(found.err_scale, np.float64)


def copy_levels(source: DetectorState, target: DetectorState) -> None:
    """Give ``target``'s terms the normal levels of ``source``'s (the two learnt the same terms and windows)."""
    for key in _keys(source):
        set_level(target, key, level_of(source, key))


def set_window_terms(state: DetectorState, window: int, pca: LinearTerm | None = None,
                     stats: StatsTerm | None = None) -> None:
    """Replace the subspace and/or statistics term of the scale with this window length."""
    if window == state.window:
        state.pca = pca or state.pca
        state.stats = stats or state.stats
        return
    scale = next(t for t in state.scales if t.window == window)
    scale.pca = pca or scale.pca
    scale.stats = stats or scale.stats


def set_terms(state: DetectorState, chosen: Sequence[str], pca_weight: float = 1.0, stats_weight: float = 1.0) -> None:
    """Turn the terms in ``chosen`` on (the subspace terms with ``pca_weight``, the statistics terms with
    ``stats_weight``, the autoencoder's 1) and the rest off (0).

    The weights must be those :func:`combine_rows` used for the calibration scores, so
    that the scores the threshold was set on are the scores the detector computes.
    """
    state.ae_weight = 1.0 if "ae" in chosen else 0.0
    state.linear_weight = pca_weight if "pca" in chosen else 0.0
    state.stats_weight = stats_weight if "stats" in chosen else 0.0
    for scale in state.scales:
        scale.pca_weight = pca_weight if "pca" in chosen else 0.0
        scale.stats_weight = stats_weight if "stats" in chosen else 0.0


def combine_rows(rows: dict[TermKey, np.ndarray], chosen: Sequence[str], pca_weight: float = 1.0,
                 stats_weight: float = 1.0) -> np.ndarray:
    """The weighted sum of the error rows of the chosen term kinds (every scale), weighted as :func:`set_terms`."""
    weights = {"ae": 1.0, "pca": pca_weight, "stats": stats_weight}
    picked = [weights[key[0]] * value for key, value in rows.items() if key[0] in chosen]
    return sum_present(np.stack(picked))


def smoothed_scores(rows: np.ndarray, smooth: int, centered: bool, short: Sequence[tuple[int, float]] = (),
                    shared: np.ndarray | None = None, base: np.ndarray | None = None,
                    shared_rise: float = 1.0,
                    point: tuple[float, np.ndarray | None, float] = (0.0, None, 0.0)) -> np.ndarray:
    """Scores of error rows ``(n, C)``: the core's moving means (:class:`ScoreSmoother`, with the shortest's excess
    over its ceiling, ``point``: ``(point_weight, point_ceiling, point_cap)``), then the mean over sensors, less the
    rise most sensors share (``shared``: their statistics rows smoothed as the core smooths them,
    :func:`shared_statistics`; ``base``: their normal levels; at most ``shared_rise``:
    :func:`~tsae.pipelines.anomaly.scoring.shared_rise_scores`)."""
    mover = ScoreSmoother(smooth, rows.shape[1], centered, short, *point)
    smoothed = np.concatenate([mover.push(rows), mover.flush()])
    return shared_rise_scores(smoothed, shared, base, shared_rise)


def point_ceiling(rows: np.ndarray, short: Sequence[tuple[int, float]], centered: bool) -> np.ndarray | None:
    """Each sensor's highest value ``(C,)`` of held-out normal error ``rows`` ``(n, C)`` smoothed over the shortest
    length of ``short`` (:class:`ScoreSmoother`'s point ceiling); None without ``short`` or where a sensor has no
    finite value."""
    if not short:
        return None
    mover = _MovingMean(min(length for length, _ in short), rows.shape[1], centered)
    smoothed = np.concatenate([mover.push(rows), mover.flush()])
    with np.errstate(invalid="ignore"):
        finite = np.where(np.isfinite(smoothed), smoothed, -np.inf)
    ceiling = finite.max(axis=0) if len(finite) else np.full(rows.shape[1], -np.inf)
    return ceiling if np.isfinite(ceiling).all() else None


def shared_statistics(rows: dict[TermKey, np.ndarray], smooth: int, centered: bool) -> np.ndarray | None:
    """The statistics terms' error rows of every scale (``rows``: :func:`term_rows`), summed and smoothed over
    ``smooth`` as the scoring core smooths them for the shared rise; None without statistics terms."""
    stats = [value for key, value in rows.items() if key[0] == "stats"]
    if not stats:
        return None
    summed = sum_present(np.stack(stats))
    mover = _MovingMean(smooth, summed.shape[1], centered)
    return np.concatenate([mover.push(summed), mover.flush()])


__all__ = ["TERMS", "available_terms", "combine_rows", "copy_levels", "fit_window_terms", "follows_trend", "level_of",
           "point_ceiling",
           "set_level", "set_terms", "term_memory", "set_window_terms", "shared_statistics", "smoothed_scores",
           "term_rows", "trend_fit"]
