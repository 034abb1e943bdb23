"""The dense and vqvae families go through every pipeline like the others: detect, reconstruct, encode."""
from __future__ import annotations

import numpy as np
import pytest

import tsae
from tsae.models.fit import fit_model_on_series
from tsae.models.modelfile import load_model
from tsae.models.trainer import TrainConfig
from tsae.pipelines.reconstruct.series import encode_series, reconstruct_series

SMALL = {"dense": {"hidden": 16, "latent": 4}, "vqvae": {"hidden": 8, "code_dim": 4, "codebook_size": 16}}


def series(n: int = 600) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 24), np.sin(2 * np.pi * t / 12)])


@pytest.mark.parametrize("family", sorted(SMALL))
def test_detector_saves_loads_and_scores(family, tmp_path) -> None:
    X = series()
    det = tsae.Detector(model=family, window=24, epochs=2, model_params=SMALL[family], device="cpu").fit(X[:, :400])
    scores = det.decision_function(X)
    assert scores.shape == (600,) and np.isfinite(scores).all()
    det.save(tmp_path / "det.tsae")
    again = tsae.Detector.load(tmp_path / "det.tsae", device="cpu")
    assert again.family_ == family
    np.testing.assert_allclose(again.decision_function(X), scores, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", sorted(SMALL))
def test_reconstruct_and_encode(family, tmp_path) -> None:
    X = series()
    fit = fit_model_on_series(X, model=family, window=24, hop=6, params=SMALL[family],
                              config=TrainConfig(epochs=2, quiet=True, device="cpu"))
    fit.save(tmp_path / "m.tsae")
    loaded = load_model(tmp_path / "m.tsae")
    assert reconstruct_series(loaded, X[:, :100]).shape == (3, 100)
    codes = encode_series(loaded, X[:, :100])
    assert len(codes) == 1 + int(np.ceil((100 - 24) / 6)) and np.isfinite(codes).all()
