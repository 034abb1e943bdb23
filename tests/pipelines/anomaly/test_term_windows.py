"""The windows the subspace and statistics terms learn from, thinned on long series, cover every phase of a cycle."""
from __future__ import annotations

import numpy as np

from tsae.pipelines.anomaly.terms import MAX_TERM_WINDOWS, fit_window_terms, term_window_starts


def _cycles(n: int, period: int = 50, channels: int = 4) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(2 * np.pi * t / period + c) for c in range(channels)])


def test_thinned_windows_are_learnt_at_every_phase_of_a_cycle() -> None:
    # 100,000 samples thinned to 4,000 windows: a fixed stride of 25 put every window of a 50-sample cycle at one of
    # two phases, and the subspace learnt from them left windows at the other phases far off it (every sample of the
    # training series itself was then flagged)
    n, window = 100_000, 64
    Z = _cycles(n)
    pca, _, windows, _ = fit_window_terms(Z, window, 0.99)
    assert MAX_TERM_WINDOWS - 10 < len(windows) <= MAX_TERM_WINDOWS
    everywhere = np.stack([Z[:, s: s + window] for s in range(0, 200)]).reshape(200, -1)
    residual = everywhere - pca.mean
    residual = residual - (residual @ pca.components.T) @ pca.components
    assert np.abs(residual).max() < 0.05


def test_window_starts_are_every_position_or_one_per_stretch() -> None:
    assert term_window_starts(500, 10).tolist() == list(range(491))
    starts = term_window_starts(100_000, 64, seed=3)
    stride = 25
    assert ((starts // stride) == np.arange(len(starts))).all()  # one in each stretch of 25 positions
    assert len(np.unique(starts % 50)) > 40  # and at (nearly) every phase of a 50-sample cycle
    assert (term_window_starts(100_000, 64, seed=3) == starts).all()
    assert starts[-1] <= 100_000 - 64
