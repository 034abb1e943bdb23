"""scripts/eval_smooth.py: its anchors answer on every length its tables and eval_smooth_unseen.py's hold."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from script_modules import load_script

es = load_script("eval_smooth")


@pytest.mark.parametrize("n", [20, 25, 30, 35, 60])
def test_lowess_cv_smooths_a_short_series_with_the_widest_span_when_no_cv_error_is_a_number(n: int) -> None:
    # before: on 20 to 35 samples every fold's fit was NaN, no span was chosen and lowess raised TypeError
    pytest.importorskip("statsmodels", reason="the evaluation's LOWESS anchor needs statsmodels (the eval extra)")
    y = np.sin(np.arange(n) / 4.0) + 0.1 * np.random.default_rng(0).normal(size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own warnings on folds too small for a span
        fit, span = es.lowess_cv(y)
    assert fit.shape == y.shape and np.isfinite(fit).all()
    assert es.rmse(fit, np.sin(np.arange(n) / 4.0)) < es.rmse(y, np.sin(np.arange(n) / 4.0)) * 1.5
    if n <= 35:
        assert span == f"frac={6 / n:.3g}, no CV"  # the widest span tried on so few samples
    else:
        assert "no CV" not in span
