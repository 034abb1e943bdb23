"""Synthetic sensor data for the anomaly tests (imported by name, not through conftest)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def make_series(n: int = 1200, seed: int = 0, period: int = 24) -> np.ndarray:
    """Three sensors: two phase-shifted sines and their noisy sum."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    a = np.sin(2 * np.pi * t / period)
    b = np.cos(2 * np.pi * t / period)
    c = a + b
    return np.c_[a, b, c] + 0.05 * rng.normal(size=(n, 3))


SENSORS = ["temp", "pressure", "flow"]


def write_csv(path: Path, x: np.ndarray, sensors=SENSORS, with_time: bool = True) -> Path:
    lines = [",".join((["time"] if with_time else []) + list(sensors))]
    for i, row in enumerate(x):
        cells = ["" if not np.isfinite(v) else repr(float(v)) for v in row]
        lines.append(",".join(([str(i)] if with_time else []) + cells))
    path.write_text("\n".join(lines) + "\n")
    return path
