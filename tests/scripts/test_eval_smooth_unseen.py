"""scripts/eval_smooth_unseen.py: its families' series and the seasonal-naive fill it sets beside tsae.impute."""
from __future__ import annotations

import numpy as np
import pytest
from script_modules import load_script

eu = load_script("eval_smooth_unseen")


@pytest.mark.parametrize("family", [f for f in eu.SMOOTH_FAMILIES if f != "multi"])
def test_every_smoothing_family_gives_a_finite_truth_and_noisy_series_of_one_length(family: str) -> None:
    rng = np.random.default_rng(0)
    truth, noisy = eu.noisy_of(family, eu.clean(family, 600, rng), 0.3, rng)
    assert truth.shape == noisy.shape and np.isfinite(noisy).all() and truth.std() > 0
    assert len(truth) == 600 or (family == "short" and 20 <= len(truth) <= 60)


def test_the_coloured_noise_has_its_coefficient_and_unit_variance() -> None:
    e = eu.ar1(200_000, 0.9, np.random.default_rng(1))
    assert e.var() == pytest.approx(1.0, abs=0.05)
    assert np.corrcoef(e[1:], e[:-1])[0, 1] == pytest.approx(0.9, abs=0.01)


def test_seasonal_naive_takes_the_value_a_period_earlier_else_later() -> None:
    x = np.tile(np.arange(4.0), 4)
    gaps = np.zeros(16, dtype=bool)
    gaps[[0, 1, 5, 8, 9, 10, 11]] = True  # the first samples have nothing earlier; a whole period is missing
    filled = eu.seasonal_naive(np.where(gaps, np.nan, x), 4)
    np.testing.assert_array_equal(filled, x)


@pytest.mark.parametrize("family", eu.IMPUTE_FAMILIES)
def test_every_gap_family_hides_samples_and_keeps_at_least_half(family: str) -> None:
    gaps = eu.gap_mask(family, 2016, np.random.default_rng(2))
    assert gaps.any() and (~gaps).sum() >= 2016 // 2
