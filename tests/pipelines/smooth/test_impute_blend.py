"""impute weighs its autoencoder fill against the straight line by how well each restores hidden samples."""
from __future__ import annotations

import numpy as np
import pytest

import tsae.pipelines.smooth.imputer as imputer
from tsae.engine.preprocess import repair_missing


def _weight(truth: np.ndarray, line: np.ndarray, fill: np.ndarray) -> float:
    return float(imputer._blend_weights(truth, line, [fill])[0])


def test_one_fill_gets_the_least_squares_weight_clipped_to_0_1() -> None:
    line = np.zeros(4)
    fill = np.array([1.0, -1.0, 2.0, 0.5])
    assert _weight(0.5 * fill, line, fill) == pytest.approx(0.5)
    assert _weight(fill, line, fill) == pytest.approx(1.0)
    assert _weight(3.0 * fill, line, fill) == pytest.approx(1.0)  # never beyond the fill
    assert _weight(-fill, line, fill) == 0.0  # never beyond the line
    assert _weight(fill, line, line.copy()) == 0.0  # the same fill: the line


def test_two_fills_get_non_negative_weights_that_sum_to_at_most_one() -> None:
    line = np.zeros(6)
    a = np.array([1.0, 0, 0, 1, 0, 0])
    b = np.array([0.0, 1, 0, 0, 1, 0])
    blend = imputer._blend_weights
    np.testing.assert_allclose(blend(0.3 * a + 0.5 * b, line, [a, b]), [0.3, 0.5], atol=1e-12)
    np.testing.assert_allclose(blend(2.0 * a, line, [a, b]), [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(blend(0.8 * a + 0.8 * b, line, [a, b]), [0.5, 0.5], atol=1e-12)  # on the edge
    np.testing.assert_allclose(blend(-a - b, line, [a, b]), [0.0, 0.0], atol=1e-12)


def _gappy_series() -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(600)
    x = np.sin(t / 9.0) + 0.3 * np.sin(t / 31.0) + 0.05 * rng.normal(size=t.size)
    x[200:230] = np.nan
    x[400:410] = np.nan
    return x


def test_impute_returns_the_line_plus_the_weighted_autoencoder_step(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _gappy_series()
    gaps = np.isnan(x)
    full = imputer.impute(x, rank=3)  # a given rank: the autoencoder's fill, unweighted
    line = repair_missing(x[None])[0]
    monkeypatch.setattr(imputer, "_plan", lambda *args: imputer._Plan(3, 0.25))
    blended = imputer.impute(x)
    np.testing.assert_allclose(blended[gaps], line[gaps] + 0.25 * (full[gaps] - line[gaps]), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(blended[~gaps], x[~gaps])
    monkeypatch.setattr(imputer, "_plan", lambda *args: imputer._Plan(3, 0.0))
    np.testing.assert_allclose(imputer.impute(x)[gaps], line[gaps], rtol=1e-12, atol=1e-12)


def test_a_periodic_series_gets_almost_all_of_the_autoencoder_fill() -> None:
    x = _gappy_series()
    missing = np.isnan(x)
    z = repair_missing(((x - np.nanmean(x)) / np.nanstd(x))[None])[0]
    plan = imputer._plan(z, missing, 120, 12, 0)
    assert plan.rank >= 2 and plan.weight > 0.8  # the line cannot follow a sine through a 30-sample gap


def test_a_random_walk_leans_on_the_line() -> None:
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(size=2000))
    truth = x.copy()
    x[700:760] = np.nan
    gaps = np.isnan(x)
    filled = imputer.impute(x)
    t = np.arange(x.size)
    line = np.interp(t[gaps], t[~gaps], x[~gaps])
    # a random walk's best guess inside a gap is the line between its ends: the fill stays near it
    assert np.sqrt(np.mean((filled[gaps] - truth[gaps]) ** 2)) <= 1.1 * np.sqrt(np.mean((line - truth[gaps]) ** 2))


def test_short_gaps_may_take_the_spline_and_long_ones_never(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _gappy_series()  # gaps of 30 and 10 samples
    gaps = np.isnan(x)
    line = repair_missing(x[None])[0]
    spline = imputer.spline_fill(line, gaps)
    full = imputer.impute(x, rank=3)
    monkeypatch.setattr(imputer, "_plan", lambda *args: imputer._Plan(3, 0.5, short=10, short_weights=(0.25, 0.5)))
    out = imputer.impute(x)
    short, long = slice(400, 410), slice(200, 230)
    np.testing.assert_allclose(out[short], line[short] + 0.25 * (full[short] - line[short])
                               + 0.5 * (spline[short] - line[short]), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(out[long], line[long] + 0.5 * (full[long] - line[long]), rtol=1e-9, atol=1e-9)


def test_a_short_gap_in_a_smooth_series_is_weighed_with_the_spline() -> None:
    t = np.arange(1000)
    x = np.sin(2 * np.pi * (t / 200.0) ** 2) + 0.01 * np.random.default_rng(7).normal(size=t.size)  # a chirp
    x[500:508] = np.nan
    missing = np.isnan(x)
    z = repair_missing(((x - np.nanmean(x)) / np.nanstd(x))[None])[0]
    plan = imputer._plan(z, missing, 64, 12, 0)
    assert plan.short == 8 and plan.short_weights[1] > 0.3  # the sweep's frequency changes: a spline follows it
    x[440:500] = np.nan  # one long gap: 10 % of the samples hidden are too few blocks of its length to weigh a spline
    missing = np.isnan(x)
    z = repair_missing(((x - np.nanmean(x)) / np.nanstd(x))[None])[0]
    assert imputer._plan(z, missing, 64, 12, 0).short == 0


@pytest.mark.parametrize(("n", "observed"), [(100, 10), (200, 20), (100, 11), (100, 12), (300, 30)])
def test_one_short_observed_run_is_filled_without_a_spline(n: int, observed: int) -> None:
    # the hidden block can be the whole observed run: nothing is left to draw a spline through
    x = np.full(n, np.nan)
    x[40:40 + observed] = np.sin(np.arange(observed))
    for seed in range(3):
        filled = imputer.impute(x, seed=seed)
        assert np.isfinite(filled).all()
        np.testing.assert_array_equal(filled[40:40 + observed], x[40:40 + observed])


def _with_end_gaps(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = truth.copy()
    x[:50] = np.nan
    x[-50:] = np.nan
    x[500:520] = np.nan
    return x, np.isnan(x)


def _end_errors(truth: np.ndarray) -> tuple[float, float]:
    """RMSE of impute and of holding the nearest observed value, on the gaps at the two ends."""
    x, gaps = _with_end_gaps(truth)
    ends = gaps.copy()
    ends[60:-60] = False
    t = np.arange(x.size)
    hold = np.interp(t, t[~gaps], x[~gaps])
    filled = imputer.impute(x)
    return (float(np.sqrt(np.mean((filled[ends] - truth[ends]) ** 2))),
            float(np.sqrt(np.mean((hold[ends] - truth[ends]) ** 2))))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gaps_at_the_ends_of_a_level_or_a_walk_are_no_worse_than_holding_the_last_value(seed) -> None:
    # before: the autoencoder's extrapolation into the end gaps took the weight chosen on interior
    # gaps (interpolation), and drifted: a step held flat at each end, 2.5 times the error of holding
    # the nearest value (seed 0: 0.0316 and 0.0335 against 0.0108 and 0.0141); a random walk 1.5-2 times
    rng = np.random.default_rng(seed)
    t = np.arange(2000)
    step = np.where(t < 1000, 0.0, 1.0) + 0.01 * rng.normal(size=t.size)
    tsae_error, hold_error = _end_errors(step)
    assert tsae_error <= 1.2 * hold_error
    walk = np.cumsum(rng.normal(size=t.size))
    tsae_error, hold_error = _end_errors(walk)
    assert tsae_error <= 1.2 * hold_error


def test_gaps_at_the_ends_of_a_sine_still_follow_it() -> None:
    t = np.arange(2000)
    sine = np.sin(2 * np.pi * t / 200) + 0.02 * np.random.default_rng(0).normal(size=t.size)
    tsae_error, hold_error = _end_errors(sine)
    assert tsae_error < 0.1 * hold_error  # 0.019 against 0.49 before the end gaps were weighed apart


def test_gaps_at_the_ends_do_not_set_the_hidden_blocks_of_a_short_gap_inside() -> None:
    # before: the 50-sample gaps at the ends made the hidden blocks 50 samples long, too few of them to
    # weigh the spline, and the 20-sample gap inside a chirp got 2.8 times the straight line's error
    # (0.627 against 0.227; 0.208 without the end gaps)
    t = np.arange(2000)
    chirp = np.sin(2 * np.pi * (t / 2000) * (2 + 60 * t / 2000))
    x, gaps = _with_end_gaps(chirp)
    inside = np.zeros_like(gaps)
    inside[500:520] = True
    line = np.interp(t[inside], t[~gaps], x[~gaps])
    filled = imputer.impute(x)
    assert np.sqrt(np.mean((filled[inside] - chirp[inside]) ** 2)) < np.sqrt(np.mean((line - chirp[inside]) ** 2))


def test_gaps_at_ends_that_are_not_the_series_own_are_not_weighed_as_extrapolations(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A block of a long series (``ends`` False) skips the end-gap weighing, whose fill its caller never keeps: the
    samples away from its end gaps are filled exactly as with the weighing."""
    rng = np.random.default_rng(3)
    x = np.sin(np.arange(3000) / 13.0) + 0.05 * rng.normal(size=3000)
    x[:20] = x[-30:] = x[1000:1040] = np.nan
    calls = []
    weigh = imputer._end_weight
    monkeypatch.setattr(imputer, "_end_weight", lambda *a, **k: calls.append(1) or weigh(*a, **k))
    both = imputer.impute(x)
    assert calls
    calls.clear()
    neither = imputer.impute(x, ends=(False, False))
    assert not calls
    assert np.array_equal(neither[20:-30], both[20:-30])
    imputer.impute(x, ends=(True, False))  # the series' own start: weighed
    assert calls


def test_half_the_samples_missing_at_random_are_weighed_on_shorter_hidden_blocks() -> None:
    # scripts/eval_smooth_unseen.py's random50 family: with half the samples missing one by one, hardly any
    # stretch of the longest gap's length (10) is observed whole, nothing was hidden and the fill was an
    # unmeasured rank-2 autoencoder at full weight, 2.8 times linear interpolation's error on step responses
    rng = np.random.default_rng(5)
    n = 2016
    target = np.repeat(rng.normal(0, 1.5, size=9), np.diff(np.r_[0, np.sort(rng.choice(np.arange(100, n - 100), 8,
                                                                                         replace=False)), n]))
    truth = np.empty(n)
    truth[0] = target[0]
    for i in range(1, n):  # a first-order system (time constant 40 samples) following the set-points
        truth[i] = 0.975 * truth[i - 1] + 0.025 * target[i]
    x = truth + 0.05 * truth.std() * rng.normal(size=n)
    gaps = np.zeros(n, dtype=bool)
    gaps[rng.choice(np.arange(1, n - 1), size=n // 2, replace=False)] = True
    x[gaps] = np.nan
    t = np.arange(n)
    line = np.interp(t[gaps], t[~gaps], x[~gaps])
    filled = imputer.impute(x)[gaps]
    assert np.sqrt(np.mean((filled - truth[gaps]) ** 2)) < 1.1 * np.sqrt(np.mean((line - truth[gaps]) ** 2))
