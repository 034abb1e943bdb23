"""The window ``window="auto"`` chooses must not depend on how much of a slow cycle the training series holds."""
import numpy as np

from tsae.pipelines.anomaly.series_input import dominant_period


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
