"""tsae.smooth: less error than the noise, no time shift, edges kept, multichannel, strength."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tsae.pipelines.smooth.imputer import impute
from tsae.pipelines.smooth.smoother import noise_sigma, smooth

from smooth_helpers import rmse, xcorr_lag


def test_reduces_error_without_time_shift(noisy_sine) -> None:
    truth, noisy = noisy_sine
    out = smooth(noisy, steps=0)
    assert out.shape == noisy.shape
    assert rmse(out, truth) < 0.4 * rmse(noisy, truth)
    assert xcorr_lag(out, truth) == 0
    assert xcorr_lag(out, noisy) == 0


def test_default_network_path_reduces_error_and_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(2048)
    truth = np.zeros(t.size)
    for start in range(20, t.size - 40, 90):  # ECG-like beats: the network stage is used
        truth[start : start + 9] += np.hanning(9) * 1.5
    noisy = truth + 0.15 * rng.normal(size=t.size)
    a = smooth(noisy, max_seconds=None)
    b = smooth(noisy, max_seconds=None)
    np.testing.assert_array_equal(a, b)
    assert rmse(a, truth) < 0.6 * rmse(noisy, truth)
    assert xcorr_lag(a, truth) == 0


def test_steps_and_spikes_are_kept_sharp() -> None:
    rng = np.random.default_rng(5)
    n = 1200
    truth = np.where(np.arange(n) < 600, 0.0, 3.0)
    spikes = [200, 900]
    truth[spikes] += 5.0
    noisy = truth + 0.2 * rng.normal(size=n)
    out = smooth(noisy, steps=0)
    assert rmse(out, truth) < 0.7 * rmse(noisy, truth)
    # the step is still a step: the jump across +-2 samples keeps most of its height
    assert out[602] - out[597] > 0.8 * 3.0
    for s in spikes:
        assert out[s] - 0.5 * (out[s - 3] + out[s + 3]) > 0.8 * 5.0
    smeared = smooth(noisy, steps=0, edge_guard=False)
    assert abs(out[600] - 3.0) <= abs(smeared[600] - 3.0) + 0.2


def test_the_neighbours_of_a_kept_spike_are_smoothed() -> None:
    # a lone spike's residual filled the edge guard's local power of its 8 neighbours, which came back as
    # noisy as they came (0.18 here, noise 0.2) while the rest of the series was smoothed to 0.03
    from tsae.pipelines.smooth.noise_tail import _local_power

    rng = np.random.default_rng(4)
    n = 2000
    truth = np.sin(2 * np.pi * 3 * np.arange(n) / n)
    spikes = np.arange(100, n - 100, 150)
    heights = rng.choice([-1.0, 1.0], size=len(spikes)) * rng.uniform(4.0, 8.0, size=len(spikes))
    truth[spikes] += heights
    out = smooth(truth + 0.2 * rng.normal(size=n), steps=0)
    near = np.unique((spikes[:, None] + np.r_[-4:0, 1:5][None, :]).ravel())
    rest = np.setdiff1d(np.arange(n), np.r_[near, spikes])
    assert rmse(out[near], truth[near]) < 1.5 * rmse(out[rest], truth[rest]) < 0.05
    kept = (out[spikes] - 0.5 * (out[spikes - 3] + out[spikes + 3])) / heights
    assert np.all(kept > 0.9)
    # the lone sample keeps its own power; with shoulders 2.5-3 sigmas off beside it, its neighbours are guarded
    r = np.zeros(41)
    r[20] = 30.0
    assert _local_power(r, 1.0, lone_capped=True)[20] == 900.0
    assert np.all(_local_power(r, 1.0, lone_capped=True)[16:25][np.r_[0:4, 5:9]] <= 4.0)
    assert np.all(_local_power(r, 1.0)[16:25] > 4.0)
    r[[18, 19, 21, 22]] = [2.5, 3.0, 3.0, 2.5]
    assert np.all(_local_power(r, 1.0, lone_capped=True)[18:23] > 4.0)


@pytest.mark.parametrize("steps", [0, 150])
def test_a_step_in_small_noise_is_smoothed_as_well_as_by_a_moving_median(steps) -> None:
    # the few samples at the step's corner (100 sigmas off) pulled the filter fitted over the whole
    # series toward narrow windows: far from the step the noise was only halved (1.9x the median's error)
    from scipy.ndimage import median_filter

    rng = np.random.default_rng(0)
    n = 2000
    truth = np.where(np.arange(n) < n // 2, 0.0, 1.0)
    noisy = truth + 0.01 * rng.normal(size=n)
    best_median = min(rmse(median_filter(noisy, w, mode="nearest"), truth) for w in range(3, 302, 2))
    assert rmse(smooth(noisy, steps=steps), truth) < 1.6 * best_median  # 1.25 now, 2.4 before


def _best_moving_median(noisy: np.ndarray, truth: np.ndarray) -> float:
    from scipy.ndimage import median_filter

    return min(rmse(median_filter(noisy, w, mode="nearest"), truth) for w in range(3, 202, 2))


@pytest.mark.parametrize("draw", [
    lambda rng, n: rng.standard_t(2, size=n),
    lambda rng, n: rng.standard_t(3, size=n),
    lambda rng, n: rng.laplace(size=n),
], ids=["t2", "t3", "laplace"])
def test_heavy_tailed_noise_is_smoothed_as_well_as_by_a_moving_median(draw) -> None:
    # the edge guard kept every sample over 4 sigmas off as a spike, with its neighbours: 6.2x the
    # best moving median's error with Student-t(2) noise, 3.5x with t(3), 1.7x with Laplace (now 0.7-0.9x)
    rng = np.random.default_rng(1)
    n = 2000
    t = np.arange(n) / n
    truth = np.sin(2 * np.pi * 7 * t) + 0.5 * np.sin(2 * np.pi * 17 * t + 1.0)
    noisy = truth + 0.2 * draw(rng, n)
    assert rmse(smooth(noisy, steps=0), truth) < 1.5 * _best_moving_median(noisy, truth)


@pytest.mark.parametrize("noise", ["t3", "laplace"])
def test_short_pulses_in_heavy_tailed_noise_are_kept(noise) -> None:
    # a run of samples 5-10 noise sigmas off, under the lone-spike threshold, was held within 3 sigmas as noise:
    # here every pulse kept 22-33 % (t3) or 29-42 % (Laplace) of its height, error 0.297 and 0.266; now 92-107 %,
    # error 0.059 and 0.071
    rng = np.random.default_rng(11)
    n = 2000
    truth = np.zeros(n)
    spans = []
    for start in rng.choice(np.arange(50, n - 60, 100), 8, replace=False):
        width, height = int(rng.integers(3, 12)), rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 3.0)
        truth[start:start + width] = height
        spans.append((start, width, height))
    draw = rng.standard_t(3, size=n) / np.sqrt(3.0) if noise == "t3" else rng.laplace(size=n) / np.sqrt(2.0)
    out = smooth(truth + 0.3 * draw, steps=0)
    kept = np.array([out[start:start + width].mean() / height for start, width, height in spans])
    assert (kept > 0.75).all(), kept
    assert rmse(out, truth) < 0.13


def test_spikes_in_heavy_tailed_noise_are_kept() -> None:
    # the lone samples far beyond the noise's own tail are still spikes
    rng = np.random.default_rng(2)
    n = 2000
    truth = 0.5 * np.sin(2 * np.pi * 3 * np.arange(n) / n)
    spikes = np.arange(100, n - 100, 200)
    truth[spikes] += 4.0
    noisy = truth + 0.1 * rng.laplace(size=n)
    out = smooth(noisy, steps=0)
    kept = out[spikes] - 0.5 * (out[spikes - 3] + out[spikes + 3])
    assert np.all(kept > 0.8 * 4.0)
    assert rmse(out, truth) < 0.5 * _best_moving_median(noisy, truth)


def test_spikes_below_the_heavy_tail_threshold_are_kept() -> None:
    # spikes of 3-5 units in Student-t(3) noise at 0.3 lie below the threshold the noise's own tail
    # asks for (about 40 sigmas) and were all dropped as noise outliers: they crowd one band of the tail
    rng = np.random.default_rng(0)
    n = 2000
    truth = np.sin(2 * np.pi * 3 * np.arange(n) / n)
    spikes = np.sort(rng.choice(np.arange(10, n - 10), 10, replace=False))
    heights = rng.choice([-1.0, 1.0], size=10) * rng.uniform(3.0, 5.0, size=10)
    truth[spikes] += heights
    noisy = truth + 0.3 * truth.std() * rng.standard_t(3, size=n) / np.sqrt(3.0)
    out = smooth(noisy, steps=0)
    kept = (out[spikes] - 0.5 * (out[spikes - 3] + out[spikes + 3])) / heights
    assert (kept > 0.8).sum() >= 8  # 9 now, 0 with the tail's threshold alone
    assert rmse(out, truth) < 0.11  # 0.095 now, 0.28 with the tail's threshold alone, 0.128 keeping all outliers


def test_student_t2_noise_is_not_taken_for_a_band_of_spikes() -> None:
    # eval_smooth's noise-shape draw of seed 800: the tail's slope from two counts (beyond 3 and 4 sigmas) came
    # out 2.5 where Student-t(2)'s is about 2, so its samples at 13-30 sigmas seemed too many for the tail and
    # were kept as a band of real spikes (threshold 13.5 sigmas): error 0.67 of the signal's spread, 0.085 now
    from tsae.pipelines.smooth.noise_tail import _feature_sigmas

    rng = np.random.default_rng(5000 * 800 + 13)
    n = 2000
    t = np.arange(n) / n
    truth = np.sin(2 * np.pi * 7 * t) + 0.5 * np.sin(2 * np.pi * 17 * t + 1.0)
    noisy = truth + 0.3 * truth.std() * rng.standard_t(2, size=n)
    out = smooth(noisy, steps=0)
    assert rmse(out, truth) < 0.15 * truth.std()
    z = (noisy - noisy.mean()) / noisy.std()
    assert _feature_sigmas(z - smooth(z, steps=0), noise_sigma(z)) > 50


@pytest.mark.parametrize("noise", ["t3", "laplace"])
def test_heavy_tailed_noise_is_recognised_beside_steps(noise) -> None:
    # the residuals near the steps' edges (the prediction smears them) widened the body of the residuals, so the
    # noise was taken as Gaussian and every lone sample over 4 sigmas kept: of these 24 draws 2 (t3) and 5
    # (Laplace) came out with errors of 0.15-0.18 of the signal's spread where the others have 0.08-0.12; now
    # 1 and 1: the noise is read where the prediction follows the signal
    n = 2000
    errors = []
    for seed in range(24):
        rng = np.random.default_rng(100 + seed)
        edges = np.sort(rng.choice(np.arange(n // 20, n - n // 20), size=8, replace=False))
        truth = np.repeat(rng.normal(0, 1.5, size=9), np.diff(np.r_[0, edges, n]))
        draw = rng.standard_t(3, size=n) / np.sqrt(3.0) if noise == "t3" else rng.laplace(size=n) / np.sqrt(2.0)
        errors.append(rmse(smooth(truth + 0.3 * truth.std() * draw, steps=0), truth) / truth.std())
    assert (np.array(errors) > 0.14).sum() <= 1, np.round(errors, 3)


def test_heavy_tailed_noise_is_smoothed_with_hubers_constant() -> None:
    # the robust refits hold the residuals of heavy-tailed noise within 1.345 noise sigmas of the prediction
    # (Huber's constant, 95 % efficient on Gaussian noise), nearer the median's efficiency on Laplace noise than
    # the earlier 2 sigmas: a chirp in Laplace noise, mean error over these draws 0.0848 -> 0.0808 of the
    # signal's spread, every draw lower
    n = 2000
    t = np.arange(n) / n
    truth = np.sin(2 * np.pi * (2 * t + 30 * t**2))
    errors = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        noisy = truth + 0.3 * truth.std() * rng.laplace(size=n) / np.sqrt(2.0)
        errors.append(rmse(smooth(noisy, steps=0), truth) / truth.std())
    assert np.mean(errors) < 0.083, np.round(errors, 4)
    # skewed noise (a proportional channel on its even scale) keeps the wider hold: held symmetrically within
    # Huber's constant it pulled the prediction off (eval_smooth, sine in proportional noise: 1.19 -> 1.23 times
    # the best anchor's error)
    from tsae.pipelines.smooth.smoother import self_supervised

    z = (noisy - noisy.mean()) / noisy.std()
    fit = {skewed: self_supervised(z[None], edge_guard=True, seed=0, max_seconds=None, steps=0,
                                   skewed=np.array([skewed]))[1] for skewed in (False, True)}
    assert fit[False].huber[0] == 1.345 and fit[True].huber[0] == 2.0


@pytest.mark.parametrize("share, wide, seeds", [(0.02, 10.0, range(10)), (0.05, 5.0, (3, 4, 5, 6, 7)),
                                                (0.01, 20.0, range(10)),
                                                (0.005, 30.0, (0, 2, 3, 4, 5, 6))])
def test_gaussian_noise_with_wider_outliers_is_smoothed_over(share, wide, seeds) -> None:
    # a glitchy sensor: Gaussian noise, a few percent of its samples several times wider. Few lie 3-4 sigmas
    # off, so the noise passed for Gaussian and every outlier over 4 sigmas was kept as a spike: errors
    # 0.43-0.53 (2 % x10) and 0.28-0.38 (5 % x5) of the signal's spread in these draws, 0.055-0.070 now;
    # seed 2 (5 %) of range(8) is still missed (too few outliers between 4 and 6 sigmas).
    # Rarer, much wider outliers (1 % x20, 0.5 % x30) put few between 4 and 9 sigmas: errors 0.57-1.03 in
    # these draws, 0.054-0.065 now that the lone samples' heights are tested against a wider Gaussian;
    # seeds 1, 7, 8, 9 (0.5 %) of range(10) are still missed (at most 8 outliers beyond 4 sigmas: as few as a
    # signal's real spikes). Seeds 2, 4, 5 (2 %) and 3, 9 (1 %) were missed until the outliers' scale was fitted
    # with those beyond 12 sigmas counted (censored) rather than left out, and the spread test took heights
    # that pass a looser test while spread over many heights (_SPREAD_KS_LOOSE)
    n = 2000
    t = np.arange(n) / n
    truth = np.sin(2 * np.pi * 7 * t) + 0.5 * np.sin(2 * np.pi * 17 * t + 1.0)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        noisy = truth + 0.3 * truth.std() * np.where(rng.random(n) < share, wide, 1.0) * rng.normal(size=n)
        assert rmse(smooth(noisy, steps=0), truth) < 0.15 * truth.std(), seed


def test_a_glitchy_sensors_outliers_are_smoothed_over_on_sharp_beats() -> None:
    # the prediction misses the beats' sharp peaks, which widens the residuals' body: the noise was then always
    # taken as Gaussian and every outlier kept (errors 0.60-0.88 of the signal's spread in these draws, 0.18-0.20
    # now that lone samples spread as a much wider Gaussian's outliers are read as the noise's whatever the body).
    # Seeds 1, 2, 3, 6, 7, 9 were missed while the missed peaks' many residuals 3-4 sigmas off kept the spread
    # test from being tried at all; it now is, for a Gaussian at least 4 noise sigmas wide (_MISSED_SCALE)
    n = 2000
    beat_t = np.arange(-45, 45)
    beat = 1.2 * np.exp(-0.5 * (beat_t / 2.0) ** 2) + 0.3 * np.exp(-0.5 * ((beat_t - 25) / 6.0) ** 2)
    truth = np.zeros(n)
    for start in range(0, n - 90, 90):
        truth[start:start + 90] += beat
    for seed in range(10):
        rng = np.random.default_rng(seed)
        noisy = truth + 0.3 * truth.std() * np.where(rng.random(n) < 0.01, 20.0, 1.0) * rng.normal(size=n)
        assert rmse(smooth(noisy, steps=0), truth) < 0.25 * truth.std(), seed


def test_the_final_blend_keeps_the_outliers_the_first_prediction_found() -> None:
    # a glitchy sensor (1 % of the samples 20 times wider) on steps: the lone samples' heights pass the spread
    # test on the first (linear) prediction, but the network's prediction follows some outliers part of the way
    # and the heights left off it failed the test, so the blend's threshold fell from 68 sigmas to 4 and every
    # outlier was kept as a spike (error 0.73 of the signal's spread); the blend's thresholds are now never below
    # the first prediction's. The draw is eval_smooth's (steps, wide1x20, seed 1001).
    n = 2000
    rng = np.random.default_rng(5000 * 1001 + 13 + 8)
    edges = np.sort(rng.choice(np.arange(n // 20, n - n // 20), size=8, replace=False))
    truth = np.repeat(rng.normal(0, 1.5, size=9), np.diff(np.r_[0, edges, n]))
    noisy = truth + 0.3 * truth.std() * np.where(rng.random(n) < 0.01, 20.0, 1.0) * rng.normal(size=n)
    assert rmse(smooth(noisy, max_seconds=None), truth) < 0.3 * truth.std()


def test_spikes_smooth_smooths_every_lone_outlier_and_keep_keeps_every_one() -> None:
    # a glitchy sensor (0.5 % of the samples 30 times wider): "auto" misses the outliers of seeds 1 and 7 (too few
    # of them to tell from a signal's spikes) and keeps them as spikes (errors 0.74, 0.48 of the signal's spread);
    # the user who knows they are glitches says spikes="smooth" (0.053, 0.058); "keep" keeps them all (0.48-1.03)
    n = 2000
    t = np.arange(n) / n
    truth = np.sin(2 * np.pi * 7 * t) + 0.5 * np.sin(2 * np.pi * 17 * t + 1.0)
    for seed in (0, 1, 7):
        rng = np.random.default_rng(seed)
        noisy = truth + 0.3 * truth.std() * np.where(rng.random(n) < 0.005, 30.0, 1.0) * rng.normal(size=n)
        err = {s: rmse(smooth(noisy, steps=0, spikes=s), truth) / truth.std() for s in ("auto", "keep", "smooth")}
        assert err["smooth"] < 0.08 and err["keep"] > 0.25, (seed, err)
        assert (err["auto"] > 0.25) == (seed in (1, 7)), (seed, err)


def test_spikes_smooth_still_keeps_steps_and_pulses() -> None:
    # only lone samples are smoothed over: a step's edge and a pulse of 3 samples stay (runs beyond 3 sigmas)
    n = 2000
    truth = np.where(np.arange(n) < 1000, 0.0, 2.0)
    truth[500:503] += 3.0
    noisy = truth + 0.2 * np.random.default_rng(1).normal(size=n)
    out = smooth(noisy, steps=0, spikes="smooth")
    assert abs(out[1002] - out[997] - 2.0) < 0.3 and np.all(out[500:503] > 2.4), (out[995:1005], out[498:505])


def test_many_spikes_of_one_height_in_gaussian_noise_are_kept_whole() -> None:
    # 20 spikes 3-5 units high lie at one band of heights: not a wider Gaussian's outliers (the
    # Kolmogorov-Smirnov test of _spread_scale), so each is kept as a feature
    from tsae.pipelines.smooth.noise_tail import _crowded_share, _spread_scale

    rng = np.random.default_rng(11)
    n = 4000
    t = np.arange(n) / n
    truth = 0.5 * np.sin(2 * np.pi * 3 * t)
    spikes = np.sort(rng.choice(np.arange(10, n - 10), size=20, replace=False))
    truth[spikes] += rng.choice([-1, 1], size=20) * rng.uniform(3, 5, size=20)
    noisy = truth + 0.3 * truth.std() * rng.normal(size=n)
    out = smooth(noisy, steps=0)
    kept = np.abs(out[spikes] - 0.5 * (out[spikes - 3] + out[spikes + 3])) / np.abs(truth[spikes])
    assert kept.min() > 0.8, np.round(kept, 2)
    assert _spread_scale(rng.uniform(22.0, 36.0, size=12)) is None
    # a band of one height with a few of the noise's samples just beyond 4 sigmas fails the loose test too
    band = np.sort(np.r_[rng.uniform(10.0, 16.0, size=10), 4.2, 4.5])
    assert _crowded_share(band) >= 10 / 12 and _spread_scale(band) is None
    wide = np.abs(rng.normal(0.0, 20.0, size=400))
    assert 12.0 < _spread_scale(wide[wide > 4.0][:20]) < 35.0


def test_the_spread_test_takes_absurd_heights_without_overflow() -> None:
    # lone samples 1e300 noise sigmas off squared to inf in the scale's likelihood (numpy's overflow warning)
    import warnings

    from tsae.pipelines.smooth.noise_tail import _spread_scale

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _spread_scale(np.array([5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 1e200, 1e300])) is None


def test_a_prediction_that_follows_nothing_leaves_the_threshold_gaussian_without_a_warning() -> None:
    # a trained model far off the series: every residual lies in a stretch of large residual power, so no
    # sample is left to read the noise on (numpy warned 'Mean of empty slice' through smooth --model)
    import warnings

    from tsae.pipelines.smooth.noise_tail import _feature_sigmas

    r = 10.0 + np.random.default_rng(0).normal(size=500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _feature_sigmas(r, 1.0) == 4.0


def test_the_odd_reflection_turns_about_the_ends_level_not_the_end_sample() -> None:
    from tsae.pipelines.smooth.blind_spot import _pad_odd

    ramp = np.arange(50.0)
    z = ramp.copy()
    z[0] -= 8.0  # a noise outlier on each end sample
    z[-1] += 8.0
    padded = _pad_odd(z, 5)
    # the reflection continues the ramp; turning about the outliers shifted it by 16
    assert np.allclose(padded[:5], np.arange(-5.0, 0.0), atol=0.5)
    assert np.allclose(padded[-5:], np.arange(50.0, 55.0), atol=0.5)
    assert np.array_equal(padded[5:-5], z)


def test_student_t3_noise_leaves_no_outlier_behind_and_pulls_no_prediction() -> None:
    # Student-t(3) noise: the lone-spike threshold expected 0.1 noise samples beyond it, so about one
    # series in ten kept a noise outlier of ~20 sigmas (here draw 8); the least-squares refit read the
    # outliers below it whole (mean error 0.048 over these 12 draws, now 0.037)
    n = 2000
    t = np.arange(n) / n
    truth = np.sin(2 * np.pi * 7 * t) + 0.5 * np.sin(2 * np.pi * 17 * t + 1.0)
    errors = []
    for seed in range(12):
        noise = 0.3 * truth.std() * np.random.default_rng(seed).standard_t(3, size=n) / np.sqrt(3.0)
        out = smooth(truth + noise, steps=0)
        assert np.max(np.abs(out - truth)[20:-20]) < 5 * noise_sigma(noise), seed
        errors.append(rmse(out, truth))
    assert np.mean(errors) < 0.042


def test_sharp_features_missed_in_light_gaussian_noise_are_not_taken_for_heavy_tailed_noise() -> None:
    # the sharp parts of a real series that the prediction misses (nab_cpu, skab_temperature in noise at
    # 0.1) leave many lone samples 3-4 sigmas off, as heavy-tailed noise does, and were dropped as noise
    # outliers (thresholds of 15-31 sigmas here); their errors also widen the residuals' body, which
    # heavy-tailed noise's is not
    from tsae.pipelines.smooth.noise_tail import _feature_sigmas
    from tsae.pipelines.smooth.smoother import _combine

    rng = np.random.default_rng(0)
    n, sigma = 2000, 0.1
    pred = np.sin(2 * np.pi * 5 * np.arange(n) / n)
    r = sigma * rng.normal(size=n)
    sharp = rng.choice(n, 300, replace=False)
    r[sharp] += sigma * rng.choice([-1.0, 1.0], size=300) * rng.uniform(1.0, 4.0, size=300)
    assert _feature_sigmas(r, sigma) == 4.0  # their heights fit a Gaussian under 4 sigmas wide: not a glitchy sensor's
    z = pred + r
    far = np.abs(r) > 4.5 * sigma
    out = _combine(z, pred, sigma, True)
    assert np.all(np.abs(out - z)[far] < 0.25 * np.abs(r[far]))  # kept, as the edge guard keeps features


@pytest.mark.parametrize("edge_guard", [True, False])
def test_a_glitch_does_not_spoil_the_rest_of_its_channel(edge_guard) -> None:
    """One absurd sample (a sensor glitch) used to dominate the blind-spot fit: the whole channel came back
    about as noisy as it went in (RMSE 0.17 against 0.06 without the glitch)."""
    rng = np.random.default_rng(0)
    n = 2000
    truth = np.sin(2 * np.pi * 7 * np.arange(n) / n)
    noisy = truth + 0.3 * rng.normal(size=n)
    glitched = noisy.copy()
    where = [0, 1, 2, 700, 1500, 1501, n - 1]  # a burst at the start, one inside, a pair, the last sample
    glitched[where] = [500.0, 600.0, -700.0, 9999.0, -400.0, 250.0, 80.0]
    rest = np.ones(n, dtype=bool)
    rest[where] = False
    plain = smooth(noisy, steps=0, edge_guard=edge_guard)
    out = smooth(glitched, steps=0, edge_guard=edge_guard)
    assert rmse(out[rest], truth[rest]) < 1.15 * rmse(plain, truth) < 0.3 * rmse(noisy, truth)
    if edge_guard:  # what the guard keeps: a sample far above the noise is the input's
        assert out[700] == pytest.approx(9999.0, abs=1.0)


@pytest.mark.parametrize("where", [[300], [999], [1050], [997, 998, 999], [1050, 1051, 1052], [0, 1, 2]])
def test_a_glitch_does_not_spoil_the_fill(where) -> None:  # far from the gap, at either edge, bursts, the start
    """One absurd observed sample used to pull the imputer's components towards it: every fill of the channel
    was off (RMSE 0.01 -> 0.66), and one beside the gap ran the fill up to hundreds."""
    rng = np.random.default_rng(0)
    n = 2000
    t = np.arange(n)
    truth = np.sin(2 * np.pi * t / 150) + 0.5 * np.sin(2 * np.pi * t / 40)
    x = truth + 0.05 * rng.normal(size=n)
    x[1000:1050] = np.nan
    gap = np.isnan(x)
    plain = impute(x)
    x[where] = 9999.0
    out = impute(x)
    assert (out[where] == 9999.0).all()  # an observed sample is returned as it was
    assert rmse(out[gap], truth[gap]) < 1.2 * rmse(plain[gap], truth[gap]) < 0.05


def test_the_scale_of_a_glitched_channel_is_its_signal_s() -> None:
    from tsae.pipelines.smooth.smoother import normalisation

    rng = np.random.default_rng(1)
    x = np.stack([rng.normal(size=5000), 3.0 * np.ones(5000)])
    glitched = x.copy()
    glitched[0, 100] = 1e6
    center, scale = normalisation(glitched)
    assert scale[0, 0] == pytest.approx(1.0, rel=0.05)  # np.std would be about 14,000
    assert scale[1, 0] == 1.0 and center[1, 0] == 3.0  # a constant channel keeps a unit scale


def test_multichannel_strength_and_nan() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(800)
    truth = np.stack([np.sin(t / 30), np.cos(t / 13) * 5])
    noisy = truth + rng.normal(size=truth.shape) * np.array([[0.2], [1.0]])
    noisy[1, 100:105] = np.nan
    out = smooth(noisy, steps=0)
    assert out.shape == noisy.shape
    assert np.isnan(out[1, 100:105]).all() and np.isfinite(np.delete(out[1], range(100, 105))).all()
    for c in range(2):
        ok = np.isfinite(noisy[c])
        assert rmse(out[c, ok], truth[c, ok]) < 0.6 * rmse(noisy[c, ok], truth[c, ok])
    np.testing.assert_allclose(smooth(noisy, 0.0, steps=0), noisy, equal_nan=True)
    half = smooth(noisy, 0.5, steps=0)
    np.testing.assert_allclose(half, 0.5 * (noisy + out), atol=1e-9, equal_nan=True)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="strength"):
        smooth(np.zeros(10), 1.5)
    with pytest.raises(ValueError, match="empty"):
        smooth(np.zeros(0))
    with pytest.raises(ValueError, match="no finite"):
        smooth(np.full(10, np.nan))
    assert smooth(np.ones(3)).shape == (3,)


@pytest.mark.parametrize("fn", [smooth, impute])
def test_samples_by_sensors_array_is_refused_not_returned_unchanged(fn) -> None:
    """Time is the last axis: an (n_samples, n_sensors) array is a transposed input (it used to come back as is)."""
    x = np.random.default_rng(0).normal(size=(500, 3))
    with pytest.raises(ValueError, match=r"got shape \(500, 3\).*pass x\.T"):
        fn(x)
    assert smooth(x.T, steps=0).shape == (3, 500)


def test_noise_sigma_estimates_white_noise() -> None:
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(5000) / 50) + 0.3 * rng.normal(size=5000)
    assert abs(noise_sigma(x) - 0.3) < 0.03


def test_noise_sigma_of_quantised_values() -> None:
    # second differences of quantised values tie at their median, and its absolute deviation is one
    # of a few levels: 0 for counts at rate 0.2 (on the Anscombe scale), which meant no smoothing at all
    rng = np.random.default_rng(0)
    counts = 2 * np.sqrt(rng.poisson(0.2, 5000) + 3 / 8)
    assert abs(noise_sigma(counts) / counts.std() - 1) < 0.1
    sensor = np.round(3 * np.sin(np.arange(5000) / 100) + 0.05 * rng.normal(size=5000), 1)  # 0.1 resolution
    assert abs(noise_sigma(sensor) / np.hypot(0.05, 0.1 / np.sqrt(12)) - 1) < 0.05


@pytest.mark.parametrize("toggle", [0.01, 0.05, 0.2])
def test_a_noiseless_state_signal_is_returned_as_it_came(toggle) -> None:
    # its second differences tie at 0 as quantised noise's do, but its steps are not white noise's:
    # taken for noise, a 0/1 signal toggling every 20 samples had samples moved by 0.5
    rng = np.random.default_rng(0)
    state = (np.cumsum(rng.random(3000) < toggle) % 2).astype(float)
    assert noise_sigma(state) == 0.0
    assert np.array_equal(smooth(state, steps=0), state)


def test_counts_at_rates_near_one_are_smoothed_nearly_as_well_as_by_the_best_moving_mean() -> None:
    # counts at rates 0.2-1.8: the median-based noise level was a fraction of the truth, and the Wiener
    # gain added much of the noise back (2.1-2.9x the best moving mean's error on these draws, now 1.1-1.4x)
    from scipy.ndimage import uniform_filter1d

    n = 2000
    rate = 1.0 + 0.8 * np.sin(2 * np.pi * 3 * np.arange(n) / n)
    ratios = []
    for seed in range(3):
        counts = np.random.default_rng(seed).poisson(rate).astype(float)
        best = min(rmse(uniform_filter1d(counts, w, mode="nearest"), rate) for w in range(3, 402, 2))
        ratios.append(rmse(smooth(counts, steps=0), rate) / best)
    assert np.mean(ratios) < 1.6


def test_impute_fills_every_nan_and_beats_linear_on_a_sine() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(1200)
    truth = np.sin(2 * np.pi * t / 60)
    x = truth + 0.02 * rng.normal(size=t.size)
    x[400:460] = np.nan
    x[[10, 11, 700, 1199]] = np.nan
    gaps = np.isnan(x)
    filled = impute(x)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~gaps], x[~gaps])
    linear = np.interp(t[gaps], t[~gaps], x[~gaps])
    assert rmse(filled[gaps], truth[gaps]) < 0.3 * rmse(linear, truth[gaps])


def test_impute_multichannel_edges_and_short() -> None:
    x = np.stack([np.sin(np.arange(300) / 9.0), np.cos(np.arange(300) / 5.0)])
    x[0, :15] = np.nan
    x[1, -20:] = np.nan
    x[1, 100] = np.nan
    out = impute(x)
    assert out.shape == x.shape and not np.isnan(out).any()
    assert not np.isnan(impute(np.array([1.0, np.nan, 3.0]))).any()
    with pytest.raises(ValueError, match="no finite"):
        impute(np.array([[1.0, 2.0], [np.nan, np.nan]]))


@pytest.mark.parametrize("kwargs,message", [
    ({"window": -1}, "window must be an integer >= 2 or None, got -1"),
    ({"window": 2.5}, "window must be an integer >= 2 or None, got 2.5"),
    ({"rank": 0}, "rank must be an integer >= 1 or None, got 0"),
    ({"iterations": -1}, "iterations must be an integer >= 1, got -1"),
    ({"max_rank": 0}, "max_rank must be an integer >= 1, got 0"),
])
def test_impute_refuses_bad_settings_by_name(kwargs, message) -> None:
    x = np.sin(np.arange(200) / 5)
    x[50:60] = np.nan
    with pytest.raises(ValueError, match=re.escape(message)):
        impute(x, **kwargs)


def test_a_series_with_no_channels_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("x has no channels (shape (0, 64))")):
        smooth(np.zeros((0, 64)))


def test_a_network_reaching_further_than_the_series_is_padded_to_its_reach() -> None:
    # layers=11 reads 2**11 samples each side: a series of 2000 got a short padding and np.stack failed
    from tsae.pipelines.smooth.blind_spot import _pad_odd

    z = np.array([1.0, 2.0, 4.0])
    np.testing.assert_array_equal(_pad_odd(z, 1), [0.0, 1.0, 2.0, 4.0, 6.0])  # within the series: odd reflection
    assert len(_pad_odd(z, 5)) == 3 + 2 * 5 and len(_pad_odd(np.array([3.0]), 2)) == 5
    t = np.arange(1024)  # layers=10 reads 1024 samples each side: one more than the series can reflect
    x = np.sin(2 * np.pi * t / 50) + 0.3 * np.random.default_rng(0).standard_normal(1024)
    out = smooth(x, model_params={"layers": 10}, steps=2)
    assert out.shape == x.shape and np.isfinite(out).all()


def test_a_wider_gaussians_scale_counts_the_outliers_beyond_the_fit() -> None:
    # lone heights of a glitchy sensor's outliers (2 % of the samples 10 times wider, one decision draw of
    # scripts/eval_smooth.py): fitted to those within 12 sigmas alone, the scale came out small and the
    # threshold (17.3 sigmas) kept the two highest as spikes; counted as beyond 12 (censored) they widen the fit
    from tsae.pipelines.smooth.noise_tail import _wide_threshold

    heights = np.array([4.6, 4.6, 5.6, 5.7, 5.8, 7.0, 7.1, 7.5, 7.9, 11.0, 12.1, 12.5, 14.0, 15.3, 16.0, 20.4, 23.5])
    assert _wide_threshold(heights) > heights.max()
    assert _wide_threshold(heights[heights <= 12.0]) < 20.0  # without them the noise is narrower
