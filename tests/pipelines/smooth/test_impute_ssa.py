"""The imputer's linear autoencoder, computed with convolutions, equals the framed computation."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.pipelines.smooth.imputer import _ssa_reconstruct


def framed_reconstruction(z: np.ndarray, L: int, rank: int) -> np.ndarray:
    """Every window framed, projected on its principal subspace, each sample averaged over its windows."""
    windows = np.lib.stride_tricks.sliding_window_view(z, L)
    mean = windows.mean(axis=0)
    centred = windows - mean
    _, vectors = np.linalg.eigh(centred.T @ centred)
    basis = vectors[:, L - rank:]
    projected = centred @ basis @ basis.T + mean
    total, count = np.zeros(len(z)), np.zeros(len(z))
    for lag in range(L):
        total[lag: lag + len(projected)] += projected[:, lag]
        count[lag: lag + len(projected)] += 1
    return total / count


@pytest.mark.parametrize(("n", "L", "rank"),
                         [(8, 2, 1), (9, 4, 4), (20, 4, 2), (300, 60, 3), (3000, 128, 12), (64, 32, 32)])
def test_convolved_autoencoder_equals_framed(n: int, L: int, rank: int) -> None:
    rng = np.random.default_rng(n)
    z = 5.0 + np.cumsum(rng.normal(size=n)) * 0.1 + np.sin(np.arange(n) / 7.0)
    expected = framed_reconstruction(z, L, rank)
    np.testing.assert_allclose(_ssa_reconstruct(z, L, rank), expected, rtol=0, atol=1e-9)


def test_constant_series_is_reconstructed_as_itself() -> None:
    z = np.full(200, 2.5)
    np.testing.assert_allclose(_ssa_reconstruct(z, 40, 3), z, rtol=0, atol=1e-12)
