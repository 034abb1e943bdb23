"""impute weighs its autoencoder fill against the straight line by how well each restores hidden samples."""
from __future__ import annotations

import numpy as np
import pytest

import tsae.pipelines.smooth.imputer as imputer
from tsae.engine.preprocess import repair_missing


def test_line_weight_is_the_least_squares_blend_clipped_to_0_1() -> None:
    line = np.zeros(4)
    fill = np.array([1.0, -1.0, 2.0, 0.5])
    assert imputer._line_weight(0.5 * fill, line, fill) == pytest.approx(0.5)
    assert imputer._line_weight(fill, line, fill) == pytest.approx(1.0)
    assert imputer._line_weight(3.0 * fill, line, fill) == 1.0  # never beyond the fill
    assert imputer._line_weight(-fill, line, fill) == 0.0  # never beyond the line
    assert imputer._line_weight(fill, line, line.copy()) == 0.0  # the same fill: the line


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
    monkeypatch.setattr(imputer, "_chosen_rank", lambda *args: (3, 0.25))
    blended = imputer.impute(x)
    np.testing.assert_allclose(blended[gaps], line[gaps] + 0.25 * (full[gaps] - line[gaps]), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(blended[~gaps], x[~gaps])
    monkeypatch.setattr(imputer, "_chosen_rank", lambda *args: (3, 0.0))
    np.testing.assert_allclose(imputer.impute(x)[gaps], line[gaps], rtol=1e-12, atol=1e-12)


def test_a_periodic_series_gets_almost_all_of_the_autoencoder_fill() -> None:
    x = _gappy_series()
    missing = np.isnan(x)
    z = repair_missing(((x - np.nanmean(x)) / np.nanstd(x))[None])[0]
    rank, weight = imputer._chosen_rank(z, missing, 120, 12, 0)
    assert rank >= 2 and weight > 0.8  # the line cannot follow a sine through a 30-sample gap


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
