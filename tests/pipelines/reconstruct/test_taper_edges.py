"""A tapered model's series is mirrored at both ends before framing: its edges are reconstructed as its middle.

Framing multiplies each window by the taper and the overlap-add divides ``sum(r * taper)`` by
``sum(taper**2)``: at sample 0 only the first window (weight 0 for a periodic hann) covered it, so the
output there was the channel's centre whatever the input, and the next samples multiplied the model's
error by up to ~140. Untapered models are framed as before, bit for bit.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsae.engine.framing import frame, overlap_add
from tsae.models.modelfile import load_model, save_model
from tsae.pipelines.reconstruct.batch import encode_file, reconstruct_file
from tsae.pipelines.reconstruct.series import encode_series, reconstruct_series, run_frames
from tsae.plugins import create_model

WINDOW, HOP = 32, 8


def _model(tmp_path, window_fn, name: str = "m.tsae"):
    torch.manual_seed(0)
    model = create_model("conv1d", 2, WINDOW, depth=2, hidden=8, latent=8).eval()
    return save_model(tmp_path / name, model, frame={"window": WINDOW, "hop": HOP, "window_fn": window_fn},
                      normalizer={"method": "zscore", "center": [1.0, -2.0], "scale": [2.0, 0.5]})


def _old_reconstruction(loaded, x: np.ndarray) -> np.ndarray:
    """The framing before the fix: the series as it is, zero-padded at the end only."""
    spec = loaded.frame
    xn = ((x - np.array([[1.0], [-2.0]])) / np.array([[2.0], [0.5]])).astype(np.float32)
    frames = np.ascontiguousarray(np.swapaxes(frame(xn, WINDOW, HOP, spec["window_fn"], pad=True), 0, 1))
    recon = run_frames(loaded.model, frames)
    y = overlap_add(np.ascontiguousarray(np.swapaxes(recon, 0, 1), dtype=np.float32), HOP, spec["window_fn"],
                    length=x.shape[1]).astype(np.float64)
    return y * np.array([[2.0], [0.5]]) + np.array([[1.0], [-2.0]])


def _series(n: int = 403, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.stack([1 + 2 * np.sin(t / 7) + 0.1 * rng.standard_normal(n),
                     -2 + 0.5 * np.cos(t / 5) + 0.05 * rng.standard_normal(n)])


def test_a_hann_model_reconstructs_its_edges_as_its_middle(tmp_path) -> None:
    loaded = load_model(_model(tmp_path, "hann"))
    x = _series()
    before = np.abs(_old_reconstruction(loaded, x) - x)
    after = np.abs(reconstruct_series(loaded, x) - x)
    middle = after[:, 100:300].max()
    edges = np.concatenate([after[:, :WINDOW], after[:, -WINDOW:]], axis=1).max()
    assert edges < 2 * middle
    # before: sample 0 came back as the channel's centre whatever the input, its neighbours amplified
    np.testing.assert_allclose(_old_reconstruction(loaded, x)[:, 0], [1.0, -2.0])
    assert np.concatenate([before[:, :WINDOW], before[:, -WINDOW:]], axis=1).max() > 5 * middle
    # the middle, under all its windows either way, is reconstructed as well as before (its windows start
    # window // 8 samples earlier, so they are other windows)
    assert middle < 1.5 * before[:, 100:300].max()


@pytest.mark.parametrize("n", [403, 40, 1])
def test_an_untapered_model_reconstructs_as_before_bit_for_bit(tmp_path, n) -> None:
    loaded = load_model(_model(tmp_path, None))
    x = _series(n)
    np.testing.assert_array_equal(reconstruct_series(loaded, x), _old_reconstruction(loaded, x))


@pytest.mark.parametrize("n", [403, 25, 24, 5, 2, 1])
def test_a_hann_model_reconstructs_any_length(tmp_path, n) -> None:
    # shorter than the mirror + 1: mirrored back and forth (numpy's reflect), one sample repeated
    loaded = load_model(_model(tmp_path, "hann"))
    x = _series(n)
    y = reconstruct_series(loaded, x)
    assert y.shape == x.shape and np.all(np.isfinite(y))


def test_encode_keeps_one_code_per_window_of_the_series(tmp_path) -> None:
    loaded = load_model(_model(tmp_path, "hann"))
    x = _series()
    codes = encode_series(loaded, x)
    assert len(codes) == 1 + -(-(x.shape[1] - WINDOW) // HOP)
    xn = ((x - np.array([[1.0], [-2.0]])) / np.array([[2.0], [0.5]])).astype(np.float32)
    frames = np.ascontiguousarray(np.swapaxes(frame(xn, WINDOW, HOP, "hann", pad=True), 0, 1))
    np.testing.assert_array_equal(codes, run_frames(loaded.model, frames, encode=True))


@pytest.mark.parametrize("block", [100, 7, 24, 25, 26, 1 << 16])
@pytest.mark.parametrize("n", [403, 400, 30, 20, 1])
def test_a_hann_model_in_blocks_is_the_whole_series(tmp_path, block, n) -> None:
    loaded = load_model(_model(tmp_path, "hann"))
    x = _series(n)
    x[0, 50:60] = np.nan  # a gap (repaired before the mirror)
    x[1, -3:] = np.nan    # at the end: the right mirror is of the repaired samples
    if n < 2:
        x[1, -1] = 0.5
    np.save(tmp_path / "in.npy", x)
    row = reconstruct_file(loaded, tmp_path / "in.npy", tmp_path / "out.npy", block=block)
    whole = reconstruct_series(loaded, x)
    got = np.load(tmp_path / "out.npy")
    assert got.shape == x.shape
    np.testing.assert_allclose(got, whole, rtol=0, atol=1e-5 * np.abs(whole).max())
    finite = np.isfinite(x)
    assert row["mse"] == pytest.approx(np.mean((whole[finite] - x[finite]) ** 2), rel=1e-5)
    encode_file(loaded, tmp_path / "in.npy", tmp_path / "codes.npy", block=block)
    codes = encode_series(loaded, x)
    assert np.load(tmp_path / "codes.npy").shape == codes.shape  # one code per window of the series, not mirrored
    np.testing.assert_allclose(np.load(tmp_path / "codes.npy"), codes, rtol=0, atol=1e-5)
