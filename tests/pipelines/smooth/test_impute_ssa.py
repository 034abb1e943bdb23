"""The imputer's linear autoencoder, computed with convolutions, equals the framed computation."""
from __future__ import annotations

import numpy as np
import pytest

import tsae.pipelines.smooth.imputer as imputer
from tsae.engine.preprocess import repair_missing
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


def _series_with_gaps(n: int, seed: int, ends: bool) -> tuple[np.ndarray, np.ndarray]:
    """A noisy sum of sines with runs of missing samples (at both ends too with ``ends``), the gaps on the line."""
    rng = np.random.default_rng(seed)
    z = np.sin(np.arange(n) / 9.0) + 0.4 * np.sin(np.arange(n) / 31.0 + 1) + 0.05 * rng.normal(size=n)
    missing = np.zeros(n, dtype=bool)
    for start in rng.choice(n - 30, size=n // 150, replace=False):
        missing[start: start + int(rng.integers(1, 30))] = True
    if ends:
        missing[:7] = missing[-12:] = True
    return repair_missing(np.where(missing, np.nan, z)), missing


@pytest.mark.parametrize(("n", "L", "rank", "ends"), [(3000, 128, 1, False), (3000, 128, 3, True), (500, 40, 2, True),
                                                      (64, 8, 2, True)])
def test_refill_at_the_missing_samples_equals_whole_reconstruction(n: int, L: int, rank: int, ends: bool,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Fitted again at every pass, the refill worked out at the missing samples alone (each pass adding what the
    changed samples do to their missing neighbours) is the whole series reconstructed at every pass."""
    z, missing = _series_with_gaps(n, n + rank, ends)
    whole = imputer._em_fill_whole(z, missing, L, rank, 25)
    monkeypatch.setattr(imputer, "REFIT_MOVE", 0.0)
    np.testing.assert_allclose(imputer._em_fill(z, missing, L, rank, 25), whole, rtol=0, atol=1e-10)
    assert np.array_equal(imputer._em_fill(z, missing, L, rank, 25)[~missing], z[~missing])


def test_refill_between_fits_settles_where_the_whole_one_does() -> None:
    """The default refill (fitted again only once the fill moved) ends within the stopping tolerance's reach of the
    refill fitted at every pass."""
    z, missing = _series_with_gaps(4000, 1, True)
    whole = imputer._em_fill_whole(z, missing, 128, 2, 40)
    fast = imputer._em_fill(z, missing, 128, 2, 40)
    assert not np.array_equal(fast, whole)  # not the same computation: it is cheaper
    assert float(np.sqrt(np.mean((fast - whole)[missing] ** 2))) < 1e-3


def test_refill_of_a_mostly_missing_series_reconstructs_it_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond MAX_PAIRS or MAX_WINDOW_VALUES (memory in proportion) the refill reconstructs the whole series at every
    pass."""
    z, missing = _series_with_gaps(1000, 2, False)
    whole = imputer._em_fill_whole(z, missing, 64, 2, 20)
    assert not np.array_equal(imputer._em_fill(z, missing, 64, 2, 20), whole)
    monkeypatch.setattr(imputer, "MAX_PAIRS", int(missing.sum()) * 10)
    assert np.array_equal(imputer._em_fill(z, missing, 64, 2, 20), whole)
    monkeypatch.undo()
    monkeypatch.setattr(imputer, "MAX_WINDOW_VALUES", int(missing.sum()) * 100)
    assert np.array_equal(imputer._em_fill(z, missing, 64, 2, 20), whole)
