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


@pytest.mark.parametrize("family", [f for f in eu.IMPUTE_FAMILIES if f != "long_gap"])
def test_every_gap_family_hides_samples_and_keeps_at_least_half(family: str) -> None:
    gaps = eu.gap_mask(family, 2016, np.random.default_rng(2))
    assert gaps.any() and (~gaps).sum() >= 2016 // 2


def test_seasonal_naive_falls_back_to_the_line_where_no_period_away_is_observed() -> None:
    x = np.arange(12.0)
    x[[1, 5, 9]] = np.nan  # a period (4) apart, every one of them: nothing earlier or later
    filled = eu.seasonal_naive(x, 4)
    np.testing.assert_array_equal(filled, np.arange(12.0))


@pytest.mark.parametrize("signal", list(eu.LONG_GAP_SIGNALS))
@pytest.mark.parametrize("layout", ["one", "three"])
def test_every_long_gap_case_has_gaps_of_300_to_3000_samples_inside_the_series(signal: str, layout: str) -> None:
    rng = np.random.default_rng(3)
    truth = eu.long_gap_signal(signal, rng)
    period = eu.LONG_GAP_SIGNALS[signal]
    assert np.isfinite(truth).all() and truth.std() > 0
    assert period == 0 or len(truth) >= 6 * period
    gaps = eu.long_gap_mask(len(truth), layout, period, rng)
    edges = np.flatnonzero(np.diff(np.r_[0, gaps.astype(np.int8), 0]))
    lengths = list(edges[1::2] - edges[::2])
    assert len(lengths) == (1 if layout == "one" else 3)
    assert all(300 <= g <= 3000 for g in lengths)
    assert not gaps[0] and not gaps[-1]


@pytest.mark.parametrize("layout", ["start", "end"])
def test_a_long_gap_at_an_end_has_300_to_3000_samples_there(layout: str) -> None:
    rng = np.random.default_rng(4)
    truth = eu.long_gap_signal("minute_grow", rng)
    gaps = eu.long_gap_mask(len(truth), layout, eu.LONG_GAP_SIGNALS["minute_grow"], rng)
    length = int(gaps.sum())
    assert 300 <= length <= 3000
    assert gaps[:length].all() if layout == "start" else gaps[-length:].all()


def test_the_growing_cycle_grows_or_shrinks_four_fold() -> None:
    truth = eu.long_gap_signal("minute_grow", np.random.default_rng(5))
    day = 1440
    first, last = np.ptp(truth[:day]), np.ptp(truth[-day:])
    assert 3 < max(first, last) / min(first, last) < 5


@pytest.mark.parametrize("seed", [6, 7])
def test_a_sparse_long_gap_series_misses_60_to_85_percent_in_gaps_of_300_or_more(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gaps = eu.long_gap_mask(10080, "sparse", 100, rng)
    edges = np.flatnonzero(np.diff(np.r_[0, gaps.astype(np.int8), 0]))
    inner = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if a > 0 and b < gaps.size]
    assert 0.6 <= gaps.mean() <= 0.9
    assert all(b - a >= 300 for a, b in inner)


def test_whole_days_missing_are_whole_periods() -> None:
    gaps = eu.long_gap_mask(14 * 1440, "days", 1440, np.random.default_rng(8))
    days = gaps.reshape(14, 1440)
    assert (days.all(axis=1) | ~days.any(axis=1)).all()
    assert 0 < days.all(axis=1).sum() < 14


def test_the_short_cycles_and_the_quasi_periodic_series() -> None:
    rng = np.random.default_rng(9)
    for signal in ("cycle_100", "cycle_200"):
        truth = eu.long_gap_signal(signal, rng)
        period = eu.LONG_GAP_SIGNALS[signal]
        np.testing.assert_allclose(np.abs(truth[period:] - truth[:-period]), 1.5 * period / truth.size, atol=1e-9)
        assert "days" not in eu.long_gap_layouts(period)
    ar2 = eu.long_gap_signal("ar2", rng)
    assert np.isfinite(ar2).all() and eu.LONG_GAP_SIGNALS["ar2"] == 0
