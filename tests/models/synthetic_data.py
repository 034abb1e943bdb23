"""Synthetic multichannel sensor data for the model tests."""
from __future__ import annotations

import numpy as np


def synthetic_series(channels: int = 3, n: int = 8000, seed: int = 0, noise: float = 0.1) -> np.ndarray:
    """Sines (a different frequency and phase per channel) with noise and a slow drift: (channels, n)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    rows = [
        np.sin(2 * np.pi * (0.7 + 0.3 * c) * t + c) + noise * rng.standard_normal(n) + 0.5 * t / t[-1]
        for c in range(channels)
    ]
    return np.stack(rows)


def windows_of(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    return np.stack([x[:, i : i + length] for i in range(0, x.shape[1] - length + 1, hop)]).astype(np.float32)
