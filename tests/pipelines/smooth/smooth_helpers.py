"""Shared helpers of the smoothing tests."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def xcorr_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 10) -> int:
    a = a - a.mean()
    b = b - b.mean()
    lags = list(range(-max_lag, max_lag + 1))
    scores = [float(np.dot(a[max(0, k): len(a) + min(0, k)], b[max(0, -k): len(b) + min(0, -k)])) for k in lags]
    return lags[int(np.argmax(scores))]


def peak_rss_growth(action: Callable[[], object]) -> int:
    """Bytes the resident high-water mark (``VmHWM``, reset via ``/proc/self/clear_refs``) rises while ``action`` runs.

    Resident memory, not ``tracemalloc``: torch's and libsndfile's allocations count too.
    """
    clear = Path("/proc/self/clear_refs")
    if not os.access(clear, os.W_OK):
        pytest.skip("needs a writable /proc/self/clear_refs to reset the peak RSS")
    fields = lambda: dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())  # noqa: E731
    clear.write_text("5")
    before = int(fields()["VmRSS"].split()[0])
    action()
    return (int(fields()["VmHWM"].split()[0]) - before) * 1024
