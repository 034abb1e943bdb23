"""Sensor glitches: samples far beyond what the rest of a series and their neighbours do.

A glitch (one sample of 9999 in a temperature log, a burst of three from a loose contact)
would dominate the least-squares fits of :func:`~tsae.pipelines.smooth.smoother.smooth`
and the components of :func:`~tsae.pipelines.smooth.imputer.impute`, and so spoil the
whole channel. Both keep the sample as it came in their output, but learn without it.

A sample is a glitch when it lies

- beyond the series' range (1st to 99th percentile) widened by that range on both sides,
  which catches gross glitches anywhere, also at the ends of the series and of the runs
  of samples between gaps, and bursts of them; or
- farther from the median of its 7 neighbours than twice the 99th percentile of those
  distances (and at least 4 noise sigmas): a smaller glitch inside the series. Features
  that recur (the peaks of a heartbeat, the corners of steps) set the percentile themselves
  and stay whole.

A noiseless series (noise sigma 0) has no glitches: its rare values are its events.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: samples each side of the running median that a sample is compared with
MEDIAN_HALF = 3
#: a sample this many noise sigmas from its running median may still be noise
_SIGMAS = 4.0


def running_median(z: np.ndarray) -> np.ndarray:
    """The median of each sample's 7 neighbours (itself included; the ends repeated beyond them)."""
    from scipy.ndimage import median_filter

    return median_filter(z, size=2 * MEDIAN_HALF + 1, mode="nearest")


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of True in a 1-D boolean ``mask``."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


@dataclass(frozen=True)
class GlitchBounds:
    """Where a channel's glitches start: outside ``[low, high]``, or ``limit`` from the running median."""

    low: float = -math.inf
    high: float = math.inf
    limit: float = math.inf

    @property
    def none(self) -> bool:
        """Nothing is a glitch (a noiseless or very short series)."""
        return not math.isfinite(self.limit)


def glitch_bounds(parts: list[np.ndarray], sigma: float) -> GlitchBounds:
    """The :class:`GlitchBounds` of a channel given as its runs of observed samples (1-D each).

    ``sigma`` is the channel's noise level (:func:`~tsae.pipelines.smooth.smoother.noise_sigma`).
    """
    values = np.concatenate(parts) if parts else np.empty(0)
    if sigma <= 0 or len(values) < 2 * MEDIAN_HALF + 1:
        return GlitchBounds()
    low, high = (float(q) for q in np.quantile(values, [0.01, 0.99]))
    low, high = low - (high - low), high + (high - low)
    distance = np.concatenate([np.abs(b - running_median(b)) for b in (np.clip(p, low, high) for p in parts)])
    return GlitchBounds(low, high, max(_SIGMAS * sigma, 2.0 * float(np.quantile(distance, 0.99))))


def flag_glitches(v: np.ndarray, bounds: GlitchBounds, *, gross_only: bool = False) -> np.ndarray:
    """Where the observed samples of ``v`` (1-D, NaN in its gaps) are glitches by ``bounds``.

    Each run of observed samples has its own running median: the samples either side of a
    gap are not neighbours. ``gross_only``: only samples beyond ``[low, high]``.
    """
    mask = np.zeros(len(v), dtype=bool)
    if bounds.none:
        return mask
    for a, b in runs(~np.isnan(v)):
        part = v[a:b]
        inside = np.clip(part, bounds.low, bounds.high)
        mask[a:b] = inside != part
        if not gross_only:
            mask[a:b] |= np.abs(inside - running_median(inside)) > bounds.limit
    return mask


def glitch_mask(v: np.ndarray, sigma: float, *, gross_only: bool = False) -> np.ndarray:
    """Where the observed samples of ``v`` (1-D, NaN in its gaps, noise level ``sigma``) are glitches.

    ``gross_only``: only those beyond the series' widened range (see the module notes).
    """
    return flag_glitches(v, glitch_bounds([v[a:b] for a, b in runs(~np.isnan(v))], sigma), gross_only=gross_only)


def fill_glitches(z: np.ndarray, bounds: GlitchBounds) -> np.ndarray:
    """``z`` (1-D, gap-free) with its glitches replaced by the straight line between the samples either side.

    A burst at an end takes the nearest sample's value. The line reads as far as the
    burst is long: a prediction near a long run of glitches reads further than its usual reach.
    """
    mask = flag_glitches(z, bounds)
    if not mask.any():
        return z
    from tsae.engine.preprocess import repair_missing

    return repair_missing(np.where(mask, np.nan, z))


__all__ = ["MEDIAN_HALF", "GlitchBounds", "fill_glitches", "flag_glitches", "glitch_bounds", "glitch_mask",
           "running_median", "runs"]
