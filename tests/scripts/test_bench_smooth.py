"""scripts/bench_smooth.py: the generated series and the classic methods it times tsae against."""
from __future__ import annotations

import numpy as np
from script_modules import load_script

bs = load_script("bench_smooth")


def test_the_series_hides_about_five_percent_in_runs_and_the_classic_fills_leave_no_gap() -> None:
    truth, noisy, gaps = bs.make_series(3, 20_000, seed=1)
    missing = np.isnan(gaps)
    assert truth.shape == noisy.shape == gaps.shape == (3, 20_000)
    assert np.isfinite(truth).all() and np.array_equal(gaps[~missing], noisy[~missing])
    assert 0.03 < missing.mean() < 0.06
    starts = missing[:, 1:] & ~missing[:, :-1]
    assert missing.sum() > 5 * starts.sum()  # runs, not lone samples
    for fill in (bs.pandas_linear, bs.scipy_spline):
        filled = fill(gaps)
        assert not np.isnan(filled).any() and np.array_equal(filled[~missing], gaps[~missing])
    assert bs.rmse(bs.scipy_savgol(noisy), truth) < bs.rmse(noisy, truth)
