"""Shared helpers of the smoothing tests."""
from __future__ import annotations

import numpy as np

from memory_helpers import peak_rss_growth


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def xcorr_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 10) -> int:
    a = a - a.mean()
    b = b - b.mean()
    lags = list(range(-max_lag, max_lag + 1))
    scores = [float(np.dot(a[max(0, k): len(a) + min(0, k)], b[max(0, -k): len(b) + min(0, -k)])) for k in lags]
    return lags[int(np.argmax(scores))]


__all__ = ["peak_rss_growth", "rmse", "xcorr_lag"]
