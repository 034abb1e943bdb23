"""A long training series sampled faster than every 4.32 s holds out a day of its last rows, not 20,000."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tsae.pipelines.anomaly.detector import Detector


def _busy_days(n: int, seed: int = 0) -> np.ndarray:
    """One sensor a second apart: a 60 s machine cycle whose noise triples from 8:00 to 18:00."""
    t = np.arange(n)
    busy = ((t % 86_400) >= 8 * 3600) & ((t % 86_400) < 18 * 3600)
    noise = np.where(busy, 0.4, 0.1) * np.random.default_rng(seed).normal(size=n)
    return (np.sin(2 * np.pi * t / 60) + noise)[None]


def _fit(x: np.ndarray, interval: float | None) -> Detector:
    det = Detector(model="dense", window=60, epochs=1, scales=(), device="cpu", seed=0, quiet=True,
                   sample_interval=interval, model_params={"hidden": 8})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return det.fit(x)


@pytest.mark.slow
def test_a_day_of_1s_data_is_held_out_and_its_busy_hours_are_no_alarms():
    # before: the last 20,000 rows (the quiet evening, 18:27-24:00) set the normal levels and the threshold, and
    # every busy hour of the next day was flagged (one event over 10 hours)
    det = _fit(_busy_days(2 * 86_400), 1.0)
    assert det.selfcheck_.held_out == int(0.3 * 2 * 86_400)  # 14.4 hours, 9:36-24:00, not 20,000 rows
    next_day = _busy_days(3 * 86_400, seed=1)[:, 2 * 86_400:]
    busy = slice(8 * 3600 + 600, 18 * 3600)
    assert (det.decision_function(next_day)[busy] > det.threshold_).mean() < 0.01


def test_the_held_out_rows_stay_20000_where_a_day_holds_fewer_or_the_interval_is_unknown():
    x = _busy_days(70_000)
    assert _fit(x, 10.0).selfcheck_.held_out == 20_000  # a day of 8,640 rows
    assert _fit(x, None).selfcheck_.held_out == 20_000
    assert _fit(x, 1.0).selfcheck_.held_out == 21_000  # 0.3 of the rows, under a day's
