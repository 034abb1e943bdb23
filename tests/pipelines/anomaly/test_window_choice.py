"""The window ``window="auto"`` chooses must not depend on how much of a slow cycle the training series holds."""
import warnings

import numpy as np
import pytest

from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.series_input import auto_window, dominant_period, longest_auto_window


def _machine_with_daily_cycle(n: int) -> np.ndarray:
    """One sensor a second apart: a machine cycle of 60 s on a daily swing three times as large, and noise."""
    t = np.arange(n)
    noise = 0.2 * np.random.default_rng(0).normal(size=n)
    return 3 * np.sin(2 * np.pi * t / 86_400) + np.sin(2 * np.pi * t / 60) + noise


def test_the_window_is_the_machine_cycle_whatever_the_length():
    # before: 60 from 10,000 rows, 32 (no clear peak) from 100,000 and 128 (the daily cycle, clamped) from 400,000
    chosen = {n: dominant_period(_machine_with_daily_cycle(n)) for n in (10_000, 100_000, 400_000)}
    assert set(chosen.values()) == {60}, chosen


def test_a_long_cycle_is_found_at_its_period_not_a_multiple():
    t = np.arange(16_384)  # a long series (LONG_SERIES: 4096)
    x = np.sin(2 * np.pi * t / 37) + 0.1 * np.random.default_rng(1).normal(size=t.size)
    assert dominant_period(x) == 37


def test_a_long_series_of_few_sensors_may_choose_a_window_over_128():
    # before: every window was clamped at 128 samples, 2 hours of data a minute apart, and a 6-hour cycle was never
    # seen whole (the plant-fault series at 60 s: mean PR-AUC 0.81, against 0.92 with a window of 512)
    t = np.arange(20_000)
    x = np.stack([np.sin(2 * np.pi * t / 360 + c) for c in range(6)]) + 0.1 * np.random.default_rng(2).normal(
        size=(6, t.size))
    assert longest_auto_window(6, t.size) == 512
    assert dominant_period(x, high=longest_auto_window(6, t.size)) == 360
    assert abs(auto_window(x) - 360) <= 2
    assert auto_window(np.sin(2 * np.pi * t / 150)[None]) == 128  # seen mostly by 128 samples: as on a short series
    assert longest_auto_window(6, 4096) == 128  # short series as before
    assert longest_auto_window(40, t.size) == 128  # many sensors: windows of at most 4096 values, never under 128
    assert longest_auto_window(16, t.size) == 256


@pytest.mark.slow
def test_the_detector_fits_the_long_cycle_as_its_window():
    t = np.arange(12_000)
    x = np.stack([np.sin(2 * np.pi * t / 300 + c) for c in range(2)]) + 0.1 * np.random.default_rng(3).normal(
        size=(2, t.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        det = Detector(model="dense", epochs=1, scales=(), device="cpu", model_params={"hidden": 8}).fit(x)
    assert abs(det.window_ - 300) <= 2  # before: 128
