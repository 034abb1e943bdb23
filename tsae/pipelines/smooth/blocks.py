"""Long series files in blocks: smoothing and gap filling with memory bounded by the block, not the file.

The smoother and the imputer learn from the series itself. A file longer than one block
is processed block by block, each block read with ``context`` samples of its
neighbours on both sides and only its own part written:

- :func:`smooth_blocks` learns once, from the first block (its centre and scale, noise
  levels, each channel's kind of noise, global Wiener gains, lone-spike thresholds and the blind-spot
  :class:`~tsae.pipelines.smooth.smoother.Predictor`, or uses the trained model), then
  applies that fixed smoother to every block. The context covers everything one output
  sample depends on (the predictor's reach, the edge guard's window, or a trained model's
  window at the model's own frame grid), so the blocks join without seams. Learning from
  the first block only keeps the training cost and memory those of a one-block file; a
  series whose character changes later is smoothed with what the first block taught (the
  edge guard keeps what it cannot predict).
- :func:`impute_blocks` fills each block with :func:`~tsae.pipelines.smooth.imputer.impute`
  on the block and its context. Each channel's fill plan (the bottleneck size and the blend
  weights, chosen by hiding observed samples: over half the time of a block) is chosen once, on
  the first block with a gap in that channel, and reused by the blocks after it, as the smoother
  reuses what its first block taught. A block never ends inside a gap: its end moves forward
  to the next sample observed in every channel, so each gap is filled once, from one
  segment that holds it whole and observed samples on both sides. A block grows so to at
  most :data:`IMPUTE_GROWTH` times its length (memory in proportion): a gap of at most
  :func:`gap_held_whole` samples is held whole wherever it starts (unless gaps of the other channels
  overlap it end to end). A longer one (a cut gap would be filled from one side in each block, with a
  seam between) makes its block run to the gap's end, read with as many samples as it spans on each
  side (at most :data:`LONG_GAP_LOOKBEHIND` blocks before it): the gap is then filled as in the whole
  series, in memory that grows with the gap, not the series. Only when that segment would be over
  half the series is :class:`WholeSeriesNeeded` raised: the series is then filled whole.

Both read forward through a :class:`~tsae.io.blocks.SeriesSource` and hand each finished
block to a writer (:mod:`tsae.io.blocks`), so time is linear in the file's length.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tsae.engine.layout import known_layout
from tsae.engine.preprocess import repair_missing
from tsae.io.blocks import CHUNK, SeriesSource
from tsae.pipelines.smooth.imputer import impute
from tsae.pipelines.smooth.noise_scale import (
    ADDITIVE,
    back_from_even_scale,
    log_noise_levels,
    noise_kinds,
    on_even_scale,
    skew_outliers,
)
from tsae.pipelines.smooth.noise_tail import _GUARD_HALF
from tsae.pipelines.smooth.smoother import (
    LevelPredictor,
    _typical_power,
    blend,
    blend_features,
    check_budget,
    check_coloured_model,
    check_spikes,
    checked_params,
    even_scale_steps,
    noise_sigma,
    normalisation,
    normalised,
    self_supervised,
)

#: samples per channel of one smoothing block (a file no longer is smoothed whole, as by smooth()). Its memory grows
#: with the channels (10 channels: 1.4 GB, most of it while learning from the first block). A block of 2**20 cells
#: (at least 2**16 samples a channel) was tried and not adopted: 678 MB, but learning from a tenth of the samples
#: took 10 x 1M generated sensor series from RMSE 0.0127 to 0.0239 (Savitzky-Golay: 0.0270), and on
#: scripts/eval_smooth.py --only smooth_blocks (n=8192, blocks of 2048, decision seed 100) a chirp's and steps'
#: error grew 3-5 times: the first block does not teach what changes later
SMOOTH_BLOCK = 1 << 20
#: samples per channel of one gap-filling block: the imputer's trajectory matrix holds 128
#: float64 values per sample, so a 2**16 block needs about 100 MB (2**20 would need 1.6 GB)
IMPUTE_BLOCK = 1 << 16
#: samples each side a gap-filling block reads of its neighbours (8 windows of the default 128)
IMPUTE_CONTEXT = 1024
#: how many times its length a gap-filling block grows to end past a gap, at most. A gap cut
#: between two blocks was filled from one side in each, with a seam between (a 150,000-sample gap
#: in a sine: 1.58 times the signal's spread off, against 1.21 held whole and 1.01 for the
#: whole series filled at once)
IMPUTE_GROWTH = 8
#: blocks of raw samples a gap-filling source keeps before the block it reads: the samples before a gap longer
#: than a grown block, which is filled with as many on each side as it spans
LONG_GAP_LOOKBEHIND = IMPUTE_GROWTH


class WholeSeriesNeeded(Exception):
    """A gap longer than :func:`impute_blocks`' grown blocks hold: the series must be filled whole."""


def gap_held_whole(block: int = IMPUTE_BLOCK) -> int:
    """The longest gap that :func:`impute_blocks` with ``block`` holds whole wherever it starts (a block ends
    ``block`` samples or more after it starts; the gap may begin there)."""
    return (IMPUTE_GROWTH - 1) * block - 1


def smooth_blocks(source: SeriesSource, write: Callable[[np.ndarray], None], advance: Callable[[int], None], *,
                  block: int = SMOOTH_BLOCK, learn: int | None = None, strength: float = 1.0, model: Any = None,
                  edge_guard: bool = True, steps: int = 150, max_seconds: float | None = None, seed: int = 0,
                  model_params: dict[str, Any] | None = None, spikes: str = "auto", noise: str = "white") -> int:
    """Smooth ``source`` block by block into ``write``, learning from its first block (see the module notes).

    Returns the number of missing samples (NaN, left NaN as by :func:`~tsae.pipelines.smooth.smoother.smooth`).

    ``advance`` is told the samples done after each block; ``learn`` is how many samples
    it learns from (default: one block); ``model`` is a loaded model (on its device) or
    None; the other parameters are those of :func:`~tsae.pipelines.smooth.smoother.smooth`.
    """
    n = source.n
    check_budget(steps, max_seconds, seed)
    spikes = check_spikes(spikes)
    noise = check_coloured_model(noise, model)
    params = checked_params(model_params, source.channels, model)
    first = repair_missing(source.read(0, block if learn is None else learn))
    kinds = noise_kinds(first) if model is None else np.full(len(first), ADDITIVE)
    uneven = bool((kinds != ADDITIVE).any())
    levels = (LevelPredictor.fit(first, kinds, seed=seed, max_seconds=max_seconds, steps=steps, params=params,
                                 noise=noise) if model is None else None)
    first_raw, first = first, on_even_scale(first, kinds) if uneven else first  # neither is written to
    log_sigmas = log_noise_levels(first, kinds)
    center, scale = normalisation(first)
    z = normalised(first, center, scale)
    sigmas = np.array([noise_sigma(zc) for zc in z])
    if model is not None:
        from tsae.pipelines.reconstruct.series import frame_spec, reconstruct_series

        spec = frame_spec(model)
        hop = int(spec["hop"])
        block = max(hop, block // hop * hop)  # every block starts on the model's frame grid
        context = math.ceil((int(spec["window"]) + _GUARD_HALF + 1) / hop) * hop

        def predict(zs: np.ndarray, xs: np.ndarray, raw: np.ndarray) -> np.ndarray:
            recon = np.asarray(reconstruct_series(model, known_layout(xs)), dtype=np.float64).reshape(xs.shape)
            return normalised(recon, center, scale)
        predictor = None
    else:
        _, predictor = self_supervised(z, edge_guard=edge_guard, seed=seed, max_seconds=max_seconds,
                                       steps=even_scale_steps(kinds, steps), params=params, sigmas=sigmas,
                                       skewed=kinds != ADDITIVE, spikes=spikes, noise=noise)
        sigmas = predictor.sigmas  # coloured noise's are measured beside the blind spot's hole
        context = max(predictor.reach, 0 if levels is None else levels.reach) + _GUARD_HALF + 1

        def predict(zs: np.ndarray, xs: np.ndarray, raw: np.ndarray) -> np.ndarray:
            pred = predictor(zs)
            return pred if levels is None else levels.put(pred, raw, center, scale)
    pred = predict(z, first, first_raw)
    features = blend_features(z, pred, sigmas, predictor, spikes)
    powers = np.array([_typical_power(zc, pc, s, f) for zc, pc, s, f in zip(z, pred, sigmas, features, strict=True)])
    del first, first_raw, z, pred
    n_missing = 0
    for s in range(0, n, block):
        e = min(n, s + block)
        a, b = max(0, s - context), min(n, e + context)
        values = source.read(a, b)
        source.release(a)
        missing = np.isnan(values)
        raw = repair_missing(values)
        del values
        filled = on_even_scale(raw, kinds) if uneven else raw
        zs = normalised(filled, center, scale)
        pred = predict(zs, filled, raw)
        settled = skew_outliers(zs, pred, sigmas, raw, kinds, log_sigmas, center, scale) if edge_guard else None
        out = blend(filled, zs, pred, scale, 1.0 if uneven else strength, edge_guard=edge_guard,
                    sigmas=sigmas, powers=powers, features=features, settled=settled)
        if uneven:
            out = back_from_even_scale(out, filled, raw, kinds, strength)
        out[missing] = np.nan
        n_missing += int(missing[:, s - a: e - a].sum())
        write(out[:, s - a: e - a])
        advance(e - s)
    return n_missing


def _block_end(source: SeriesSource, end: int, limit: int) -> int:
    """The first sample at or after ``end`` observed in every channel (a block ending there cuts no gap);
    ``limit`` if none comes before it."""
    while end < limit:
        observed = ~np.isnan(source.read(end, min(limit, end + CHUNK))).any(axis=0)
        if observed.any():
            return end + int(np.argmax(observed))
        end += CHUNK
    return limit


def impute_blocks(source: SeriesSource, write: Callable[[np.ndarray], None], advance: Callable[[int], None], *,
                  block: int = IMPUTE_BLOCK, context: int = IMPUTE_CONTEXT, **kwargs: Any) -> int:
    """Fill the gaps of ``source`` block by block into ``write`` (see the module notes); returns the samples filled.

    ``kwargs`` go to :func:`~tsae.pipelines.smooth.imputer.impute`; a block grows to hold a gap whole,
    to at most :data:`IMPUTE_GROWTH` times its length, or to a longer gap's end, read with as many samples on each
    side as it spans: :class:`WholeSeriesNeeded` when that is over half the series.
    """
    n, start, filled = source.n, 0, 0
    held = 0  # the first sample the source still holds
    # each channel's fill plan, chosen on the first block with a gap in it and reused (see the module notes)
    plans: list[Any] | None = [None] * source.channels if kwargs.get("model") is None else None
    while start < n:
        limit = min(n, start + IMPUTE_GROWTH * block)
        end = _block_end(source, min(n, start + block), limit)
        before = after = context
        if end == limit < n and np.isnan(source.read(end, end + 1)).any():
            # a gap longer than a grown block: the block runs to its end, with as many samples on each side as it
            # spans (those held before it), so that the gap is filled as in the whole series, in memory that
            # grows with the gap, not with the series
            end = _block_end(source, end, n)
            before, after = max(context, min(end - start, start - held)), max(context, end - start)
            if min(n, end + after) - max(0, start - before) > n // 2:  # the whole series costs at most twice that
                raise WholeSeriesNeeded(f"{source.path}: a gap longer than {gap_held_whole(block)} samples")
        a, b = max(0, start - before), min(n, end + after)
        values = source.read(a, b)
        held = max(held, a - LONG_GAP_LOOKBEHIND * block)
        source.release(held)
        part = values[:, start - a: end - a]
        gaps = int(np.isnan(part).sum())
        if gaps:
            try:
                part = impute(values, plans=plans, ends=(a == 0, b == n), **kwargs)[:, start - a: end - a]
            except ValueError as error:  # a gap longer than the block and its context in some channel
                raise ValueError(f"{source.path}: samples {a} to {b}: {error}") from None
            filled += gaps
        write(part)
        advance(end - start)
        start = end
    return filled


__all__ = ["SMOOTH_BLOCK", "IMPUTE_BLOCK", "IMPUTE_CONTEXT", "IMPUTE_GROWTH", "LONG_GAP_LOOKBEHIND",
           "WholeSeriesNeeded", "gap_held_whole", "smooth_blocks", "impute_blocks"]
