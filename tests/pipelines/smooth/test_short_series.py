"""A series too short for the blind-spot mixture is smoothed by one local polynomial chosen by its blind-spot error."""
from __future__ import annotations

import numpy as np
import pytest

import tsae

from smooth_helpers import rmse


def _left_out_fit(z: np.ndarray, t: int, lo: int, width: int, order: int) -> float:
    """The polynomial of ``order`` fitted to ``z[lo : lo + width]`` without sample ``t``, at ``t``."""
    window = np.arange(lo, lo + width)
    keep = window[window != t]
    return float(np.polyval(np.polyfit(keep - t, z[keep], order), 0.0))


@pytest.mark.parametrize(("width", "order"), [(5, 2), (7, 3), (9, 4), (11, 2)])
def test_prediction_is_the_fit_without_the_sample(width: int, order: int) -> None:
    from tsae.pipelines.smooth.short_series import LocalPolynomial

    z = np.random.default_rng(width).normal(size=23)
    n, h = len(z), width // 2
    expected = [_left_out_fit(z, t, min(max(t - h, 0), n - width), width, order) for t in range(n)]
    np.testing.assert_allclose(LocalPolynomial(width, order)(z), expected, atol=1e-9)


def _savgol_loo(y: np.ndarray) -> np.ndarray:
    """Savitzky-Golay (orders 2, 3) with its window chosen by exact leave-one-out error (widths 5 to n/4 or 7)."""
    from scipy.signal import savgol_coeffs, savgol_filter

    best, fit = np.inf, y
    for order in (2, 3):
        for width in range(5, max(7, len(y) // 4) + 1, 2):
            if width <= order + 1:
                continue
            smoothed = savgol_filter(y, width, order, mode="interp")
            loo = float(np.mean(((y - smoothed) / (1 - savgol_coeffs(width, order)[width // 2])) ** 2))
            if loo < best:
                best, fit = loo, smoothed
    return fit


def test_short_noisy_sines_are_smoothed_as_well_as_cross_validated_savitzky_golay() -> None:
    # the mixture of ~30 smoothers fitted on 20-60 samples, and its odd reflection past the ends, lost to this
    # filter by 1.2-1.5 times
    ours, theirs = [], []
    for seed in range(12):
        rng = np.random.default_rng(seed + 500)
        n = int(rng.integers(20, 61))
        truth = np.sin(2 * np.pi * np.arange(n) / rng.uniform(15, 40) + rng.uniform(0, 6))
        noisy = truth + rng.choice([0.07, 0.2]) * rng.normal(size=n)
        ours.append(rmse(tsae.smooth(noisy), truth))
        theirs.append(rmse(_savgol_loo(noisy), truth))
    assert np.mean(ours) < np.mean(theirs)


def test_a_short_series_keeps_its_spike_and_its_shape() -> None:
    truth = np.sin(np.arange(40) / 4.0)
    truth[20] += 5.0
    noisy = truth + 0.05 * np.random.default_rng(3).normal(size=40)
    out = tsae.smooth(noisy)
    assert out.shape == noisy.shape
    assert out[20] - truth[20] == pytest.approx(noisy[20] - truth[20], abs=0.5)
