"""A plot's envelope of a long series, gathered block by block, is each run's lowest and highest value."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.pipelines.anomaly.plot_envelope import Envelope


@pytest.mark.parametrize("cuts", [[], [1], [999, 1000, 1001], list(range(0, 10_007, 777))])
def test_the_envelope_is_each_runs_range_however_the_rows_come(cuts: list[int]) -> None:
    rng = np.random.default_rng(len(cuts))
    x = rng.standard_normal((2, 10_007)) * 1e-3 + 1e6  # a large offset: the spread must survive it
    x[0, 5] = 50 + 1e6  # a spike of one row
    x[1, 100:3000] = np.nan
    x[0, 7000] = np.inf
    envelope = Envelope(x.shape[1], 2, buckets=100)
    for part in np.split(x, cuts, axis=1):
        envelope.add(part)
    size = envelope.size
    assert size == 101 and envelope.done == x.shape[1]
    finite = np.where(np.isfinite(x), x, np.nan)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):  # all-NaN runs of channel 1
        low = np.stack([np.nanmin(finite[:, a:a + size], axis=1) for a in range(0, x.shape[1], size)], axis=1)
        high = np.stack([np.nanmax(finite[:, a:a + size], axis=1) for a in range(0, x.shape[1], size)], axis=1)
    np.testing.assert_array_equal(envelope.low, low)
    np.testing.assert_array_equal(envelope.high, high)
    assert envelope.high[0].max() == 50 + 1e6
    for c in range(2):
        mean, spread = envelope.mean_and_spread(c)
        assert mean == pytest.approx(np.nanmean(finite[c]), rel=1e-12)
        assert spread == pytest.approx(np.nanstd(finite[c]), rel=1e-6)


def test_a_short_series_is_drawn_row_by_row() -> None:
    x = np.arange(12.0)[None]
    envelope = Envelope(12, 1, buckets=6)
    envelope.add(x)
    points = envelope.line(0, np.arange(12) * 10)
    np.testing.assert_array_equal(points[0], np.arange(12) * 10)
    np.testing.assert_array_equal(points[1], x[0])
