"""What counts as a sensor glitch: gross values anywhere, and isolated ones inside; never recurring features."""
from __future__ import annotations

import numpy as np

from tsae.pipelines.smooth.glitches import glitch_mask
from tsae.pipelines.smooth.smoother import noise_sigma


def _mask(v: np.ndarray) -> np.ndarray:
    return glitch_mask(v, noise_sigma(v))


def test_gross_values_anywhere_and_isolated_ones_inside_are_glitches() -> None:
    rng = np.random.default_rng(0)
    v = np.sin(np.arange(3000) / 40) + 0.05 * rng.normal(size=3000)
    v[1000:1100] = np.nan
    where = [0, 1, 2, 500, 997, 998, 999, 1100, 2999]
    v[where] = 50.0  # a burst at the start, one inside, a burst and a single sample beside the gap, the end
    v[2000] += 1.0  # small, but far from its neighbours (20 noise sigmas)
    assert sorted(np.flatnonzero(_mask(v)).tolist()) == sorted([*where, 2000])


def test_recurring_peaks_steps_and_a_noiseless_series_have_none() -> None:
    rng = np.random.default_rng(1)
    n = 4000
    beats = np.zeros(n)
    for start in range(20, n - 20, 90):  # ECG-like: sharp peaks 30 noise sigmas high, every 90 samples
        beats[start: start + 5] += np.hanning(5) * 1.5
    steps = np.repeat(rng.normal(0, 2, size=8), n // 8)
    for clean in (beats, steps):
        assert not _mask(clean + 0.05 * rng.normal(size=n)).any()
    events = np.zeros(n)
    events[[100, 2500]] = 1000.0  # a noiseless counter with two rare events: its events, not glitches
    assert not _mask(events).any()


def test_impute_keeps_a_brief_dip_within_the_range_for_its_fill() -> None:
    """Only gross glitches are taken out of impute's fit: a two-sample dip inside the series' range may be real."""
    v = np.sin(np.arange(400) / 9) + 0.01 * np.random.default_rng(2).normal(size=400)
    v[200:202] -= 1.5  # within the range, far from its neighbours
    v[300:320] = np.nan
    sigma = noise_sigma(v)
    assert _mask(v)[200:202].all()
    assert not glitch_mask(v, sigma, gross_only=True).any()
