import numpy as np
import pytest

from tsae.pipelines.anomaly.thresholds import Threshold, fit_threshold, pot_threshold, quantile_threshold


def test_quantile_of_uniform():
    x = np.random.default_rng(0).uniform(size=100_000)
    assert quantile_threshold(x, 0.99) == pytest.approx(0.99, abs=0.005)


def test_quantile_rejects_bad_q():
    with pytest.raises(ValueError, match="quantile"):
        quantile_threshold(np.arange(10.0), 1.5)


@pytest.mark.parametrize("risk", [1e-3, 1e-4])
def test_pot_recovers_exponential_quantile(risk):
    x = np.random.default_rng(1).exponential(size=200_000)
    value, info = pot_threshold(x, risk=risk)
    assert not info["fallback"]
    assert abs(info["xi"]) < 0.1  # exponential tail: shape 0
    assert value == pytest.approx(-np.log(risk), rel=0.05)


def test_pot_heavy_tail_extrapolates():
    from scipy.stats import genpareto

    x = genpareto.rvs(0.3, size=100_000, random_state=2)
    value, info = pot_threshold(x, risk=1e-5)  # beyond the data: 1 expected exceedance in 1e5
    truth = genpareto.ppf(1 - 1e-5, 0.3)
    assert info["xi"] == pytest.approx(0.3, abs=0.12)
    assert value == pytest.approx(truth, rel=0.35)


def test_pot_bounded_tail_stays_below_end_point():
    x = np.random.default_rng(3).uniform(size=50_000)
    value, info = pot_threshold(x, risk=1e-4)
    assert info["xi"] < 0
    assert 0.98 <= value <= 1.0 + 1e-3


def test_pot_falls_back_with_few_peaks():
    value, info = pot_threshold(np.arange(100.0), risk=0.05, init_level=0.98)
    assert info["fallback"]
    assert value == pytest.approx(np.quantile(np.arange(100.0), 0.98))


def test_fit_threshold_methods_and_roundtrip():
    x = np.random.default_rng(4).normal(size=10_000)
    assert fit_threshold(x, "quantile", q=0.9).value == pytest.approx(np.quantile(x, 0.9))
    assert fit_threshold(x, 2.5).value == 2.5 and fit_threshold(x, "2.5").method == "fixed"
    t = fit_threshold(x, "pot", risk=1e-3)
    assert Threshold.from_dict(t.to_dict()).value == t.value
    with pytest.raises(ValueError, match="unknown method"):
        fit_threshold(x, "magic")
    with pytest.raises(ValueError, match="no finite"):
        fit_threshold(np.array([np.nan]), "pot")
