"""A detector fit with a long window holds what its memory check counts, in the same bits, and its refusals name
what the user can change.

``tsae detect fit long.csv --window 16384`` (20,000 rows of 4 sensors) peaked at 11.9 GB: beside the float32
windows the subspace term held a float64 copy, its centred copy and all its principal axes (as large again), and the
statistics term a float64 copy, a tapered copy and the spectra of every window at once; the memory check counted 20
bytes a value, about half of it. ``--window 1048576`` was refused with ``smooth='2*window': at most 1048576
samples``, an option ``detect fit`` does not have.
"""
from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run

import tsae.models.fit
from tsae.pipelines.anomaly import scoring
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.scoring import StatsTerm
from tsae.pipelines.anomaly.series_input import MAX_SMOOTH, smooth_length
from tsae.pipelines.anomaly.terms import fit_window_terms, principal_axes


def _series(channels: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.stack([np.sin(2 * np.pi * t / (40 + 13 * c)) + 0.1 * rng.standard_normal(n) for c in range(channels)])


class _Checked(Exception):
    pass


def test_the_memory_check_counts_what_learning_the_window_terms_holds(monkeypatch) -> None:
    channels, n, window = 2, 1500, 1024
    X = _series(channels, n)
    counted: dict[str, int] = {}
    part = 32 * 8 * channels * window  # the statistics' frames 32 at a time: a long window's many in parts
    monkeypatch.setattr(scoring, "FRAME_PART_BYTES", part)

    def record(*args, windows: int, **kwargs) -> None:
        counted["windows"] = windows
        raise _Checked

    monkeypatch.setattr(tsae.models.fit, "check_training_memory", record)
    with warnings.catch_warnings(), pytest.raises(_Checked):
        warnings.simplefilter("ignore")
        Detector(window=window, quiet=True, device="cpu").fit(X)
    Z = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    tracemalloc.start()
    try:
        windows = fit_window_terms(Z, window, 0.95, bands=True)[2]
        train = windows[np.unique(np.linspace(0, len(windows) - 1, 512).astype(int))]  # the network's copy
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    values = len(windows) * channels * window
    assert peak <= counted["windows"], (peak, counted)
    # the float32 windows, one float64 copy and the axes kept, not the float64 spectra of every window at once
    assert peak < 20 * values + train.nbytes + 6 * part, (peak, values)


def test_statistics_and_scores_in_small_parts_are_the_same_bits(monkeypatch) -> None:
    X = _series(3, 1200, seed=1)
    frames = np.lib.stride_tricks.sliding_window_view(X.T, 256, axis=0).transpose(0, 2, 1)[::7]  # (F, L, C)
    whole = StatsTerm.fit(frames, bands=True)
    whole_distance = whole.distance(frames)

    def fit() -> Detector:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Detector(window=256, epochs=1, quiet=True, device="cpu").fit(X)

    before = fit()
    monkeypatch.setattr(scoring, "FRAME_PART_BYTES", 3 * 8 * 256 * 3)  # three frames at a time
    parts = StatsTerm.fit(frames, bands=True)
    assert np.array_equal(parts.median, whole.median) and np.array_equal(parts.spread, whole.spread)
    assert np.array_equal(parts.band_median, whole.band_median)
    assert np.array_equal(whole.distance(frames), whole_distance)
    after = fit()
    assert np.array_equal(after.decision_scores_, before.decision_scores_)
    assert after.threshold_ == before.threshold_


@pytest.mark.parametrize("rows", [300, 40])  # fewer windows than values (the Gram side), and more
def test_the_kept_principal_axes_are_those_of_all_axes(rows) -> None:
    centred = np.random.default_rng(2).standard_normal((rows, 120))
    centred -= centred.mean(axis=0)
    var, every = principal_axes(centred)
    kept = principal_axes(centred, rank=5)[1]
    assert np.array_equal(kept, every[:5])
    share = principal_axes(centred, variance=0.5)[1]
    assert len(share) == int(np.searchsorted(np.cumsum(var) / var.sum(), 0.5) + 1)
    assert np.array_equal(share, every[:len(share)])


def test_a_default_smoothing_too_long_names_the_window() -> None:
    with pytest.raises(ValueError, match=r"^smooth='2\*window' is 1200000 samples with window=600000, over the "
                       r"1048576 a detector file holds: use a window of at most 524288 or a smooth of at most "
                       r"1048576 samples$"):
        smooth_length("2*window", 600_000)
    assert smooth_length("2*window", MAX_SMOOTH // 2) == MAX_SMOOTH


def test_detect_fit_refuses_a_window_whose_default_smoothing_a_detector_file_cannot_hold(tmp_path) -> None:
    train = tmp_path / "huge.npy"
    np.save(train, np.zeros((1, 8)))  # refused before it is read
    result = run("detect", "fit", train, "-o", tmp_path / "d.tsae", "--window", "1048576")
    assert_one_line_error(result, "--window 1048576 makes the default smoothing 2*window = 2097152 samples, over "
                          "the 1048576 a detector file holds: use a window of at most 524288")
    assert "smooth=" not in result.output
    assert not (tmp_path / "d.tsae").exists()
