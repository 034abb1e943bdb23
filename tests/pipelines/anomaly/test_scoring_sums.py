"""The scoring core's moving mean, overlap mean and window statistics: the values of a naive reference, and the
same bits whatever the blocks the rows come in (batch scoring pushes everything at once, the monitor a few rows at a
time)."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.pipelines.anomaly.scoring import _MovingMean, _OverlapMean, aligned_window_sums, window_stats


def _naive_moving_mean(rows: np.ndarray, k: int, centered: bool) -> np.ndarray:
    """Row t: the mean of rows [t - k + 1 + ahead, t + ahead] that exist (NaN where one of them is NaN)."""
    ahead = k // 2 if centered else 0
    out = np.empty_like(rows)
    for t in range(len(rows)):
        window = rows[max(0, t - k + 1 + ahead): t + ahead + 1]
        out[t] = window.sum(axis=0) / len(window)
    return out


def _moving(rows: np.ndarray, k: int, centered: bool, splits=()) -> np.ndarray:
    mover = _MovingMean(k, rows.shape[1], centered)
    bounds = [0, *splits, len(rows)]
    parts = [mover.push(rows[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return np.concatenate([*parts, mover.flush()])


def _rows(n: int, seed: int, nan: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.gamma(0.5, size=(n, 3)) * 10.0 ** rng.integers(-3, 4, size=(n, 1))  # errors over six decades
    if nan:
        rows[n // 3, 1] = np.nan
        rows[n // 2: n // 2 + 4] = np.nan  # rows no scale scored
    return rows


@pytest.mark.parametrize("nan", [False, True])
@pytest.mark.parametrize("centered", [True, False])
@pytest.mark.parametrize("k", [1, 2, 3, 8, 41, 120, 700])
def test_the_moving_mean_is_the_naive_mean_and_the_same_bits_in_any_blocks(k, centered, nan) -> None:
    rows = _rows(500, seed=k, nan=nan)
    whole = _moving(rows, k, centered)
    want = _naive_moving_mean(rows, k, centered)
    assert whole.shape == rows.shape
    np.testing.assert_array_equal(np.isnan(whole), np.isnan(want))
    np.testing.assert_allclose(whole, want, rtol=1e-12, atol=0)
    rng = np.random.default_rng(100 + k)
    for _ in range(3):
        splits = np.sort(rng.choice(np.arange(1, len(rows)), size=rng.integers(1, 40), replace=False)).tolist()
        np.testing.assert_array_equal(_moving(rows, k, centered, splits), whole)
    np.testing.assert_array_equal(_moving(rows, k, centered, range(1, len(rows))), whole)  # one row at a time


def test_a_window_sum_does_not_depend_on_the_rows_before_it() -> None:
    # a running sum (cumsum) carries the rounding of a huge early value into every later window
    rows = _rows(3000, seed=1, nan=False)
    late = rows.copy()
    late[:100] = 1e12
    tail = slice(1000, None)
    np.testing.assert_array_equal(_moving(late, 60, True)[tail], _moving(rows, 60, True)[tail])


@pytest.mark.parametrize("k", [1, 5, 64])
def test_aligned_window_sums_add_each_window_on_its_own(k) -> None:
    rows = _rows(400, seed=2, nan=True)
    for start in (0, 3, k + 1, 10_007):
        sums = aligned_window_sums(rows, start, k)
        want = np.array([rows[i:i + k].sum(axis=0) for i in range(len(rows) - k + 1)])
        np.testing.assert_array_equal(np.isnan(sums), np.isnan(want))
        np.testing.assert_allclose(sums, want, rtol=1e-12)
        # the same data row numbers: the same bits, wherever the given rows begin
        np.testing.assert_array_equal(aligned_window_sums(rows[37:], start + 37, k), sums[37:])
    assert aligned_window_sums(rows[:k - 1], 0, k).shape == (0, 3)


def _overlap(errors: np.ndarray, hop: int, n: int, splits=()) -> np.ndarray:
    """Overlap means of frames (F, L, C) at 0, hop, ..., pushed in groups of frames cut at ``splits``."""
    frames, window, channels = errors.shape
    ola = _OverlapMean(window, hop, channels)
    bounds = [0, *splits, frames]
    starts = np.arange(frames) * hop
    parts = [ola.push(starts[a:b], errors[a:b], starts[b - 1] + hop) for a, b in zip(bounds[:-1], bounds[1:],
                                                                                        strict=True) if b > a]
    parts.append(ola.push(starts[:0], errors[:0], n))
    return np.concatenate(parts)


@pytest.mark.parametrize(("window", "hop"), [(60, 7), (16, 2), (64, 8), (5, 5), (24, 24)])
def test_the_overlap_mean_is_the_naive_mean_and_the_same_bits_in_any_groups_of_frames(window, hop) -> None:
    rng = np.random.default_rng(window)
    frames = 90
    errors = rng.gamma(0.5, size=(frames, window, 3)) * 10.0 ** rng.integers(-3, 4, size=(frames, 1, 1))
    n = (frames - 1) * hop + window
    whole = _overlap(errors, hop, n)
    total, count = np.zeros((n, 3)), np.zeros(n)
    for i in range(frames):
        total[i * hop: i * hop + window] += errors[i]
        count[i * hop: i * hop + window] += 1
    np.testing.assert_allclose(whole, total / count[:, None], rtol=1e-12)
    for splits in ([1], [3, 50, 51], list(range(1, frames))):
        np.testing.assert_array_equal(_overlap(errors, hop, n, splits), whole)


@pytest.mark.parametrize("channels", [1, 4])
@pytest.mark.parametrize("window", [2, 16, 60])
def test_the_window_statistics_are_those_of_numpy_and_each_frame_s_own(window, channels) -> None:
    rng = np.random.default_rng(window + channels)
    frames = rng.normal(size=(300, window, channels)) * rng.uniform(0.001, 5, size=(300, 1, channels))
    frames[7] = 0.25  # a flat line
    frames += rng.normal(size=(300, 1, channels))
    stats = window_stats(frames)
    want = np.stack([frames.mean(axis=1), np.log(frames.std(axis=1) + 1e-3),
                     np.log(np.abs(np.diff(frames, axis=1)).mean(axis=1) + 1e-3)], axis=-1)
    assert stats.shape == (300, channels, 3)
    np.testing.assert_allclose(stats, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(window_stats(frames[5:9]), stats[5:9])
    np.testing.assert_array_equal(window_stats(frames[::-1])[::-1], stats)  # strided frames too
