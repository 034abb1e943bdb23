"""The VQ-VAE's codebook (usage, perplexity, restarts, both update rules, integer codes) and the dense family."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsae import plugins
from tsae.models.trainer import TrainConfig, seed_everything, train_model

from synthetic_data import windows_of

CONFIG = TrainConfig(epochs=6, lr=3e-3, patience=10, quiet=True, device="cpu")


@pytest.fixture(scope="module")
def windows(normalized: np.ndarray) -> np.ndarray:
    return windows_of(normalized[:, :4000], 32, 8)


@pytest.mark.parametrize("update", ["ema", "straight_through"])
def test_codebook_is_used_and_logged(update, windows) -> None:
    seed_everything(0)
    model = plugins.create_model("vqvae", channels=3, window=32, hidden=8, codebook_size=32, update=update)
    before = model.quantizer.codebook.detach().clone()
    result = train_model(model, windows, CONFIG)
    last = result.history[-1]
    assert {"mse", "commit", "usage", "perplexity", "restarts"} <= set(last)
    assert ("codebook" in last) == (update == "straight_through")
    assert last["perplexity"] > 8  # of at most 32: most codes are in use, not a collapsed codebook
    assert 0.5 < last["usage"] <= 1.0
    assert not torch.equal(before, result.model.quantizer.codebook.detach())
    assert model.quantizer.codebook.requires_grad == (update == "straight_through")


def test_dead_codes_are_restarted(windows) -> None:
    seed_everything(0)
    model = plugins.create_model("vqvae", channels=3, window=32, hidden=8, codebook_size=16)
    train_model(model, windows[:64], TrainConfig(epochs=1, quiet=True, device="cpu", val_fraction=0))
    model.train()
    model.quantizer.codebook.data[3] = 1e3  # far from every encoder output: never chosen
    x = torch.from_numpy(windows[:32])
    model.training_loss(x, x)
    metrics = model.end_epoch()
    assert metrics["restarts"] >= 1 and metrics["usage"] < 1.0
    assert float(model.quantizer.codebook[3].abs().max()) < 100  # moved back onto the data


def test_integer_codes_round_trip(windows) -> None:
    seed_everything(0)
    model = plugins.create_model("vqvae", channels=3, window=30, hidden=8, codebook_size=16, depth=2).eval()
    x = torch.from_numpy(windows[:5, :, :30].copy())
    with torch.no_grad():
        index = model.code_indices(x)
        assert index.dtype == torch.int64 and index.shape == (5, 8)  # 30 padded to 32, / 2**2
        assert int(index.min()) >= 0 and int(index.max()) < model.codebook_size == 16
        assert torch.allclose(model.decode_indices(index), model(x))
        assert model.encode(x).shape == (5, model.config["code_dim"], 8)
    assert "quantizer.codebook" in model.state_dict()
    assert not any("ema" in key or "counts" in key for key in model.state_dict())  # training state is not saved


def test_bad_vqvae_parameters() -> None:
    with pytest.raises(ValueError, match="update"):
        plugins.create_model("vqvae", channels=1, window=16, update="adam")
    with pytest.raises(ValueError, match="codebook_size"):
        plugins.create_model("vqvae", channels=1, window=16, codebook_size=1)


def test_dense_is_undercomplete_and_linear_without_layers() -> None:
    tiny = plugins.create_model("dense", channels=2, window=3, latent=16)
    assert tiny.encode(torch.zeros(1, 2, 3)).shape == (1, 5)  # capped below 2 * 3
    linear = plugins.create_model("dense", channels=2, window=8, layers=0, latent=4)
    assert [type(m).__name__ for m in linear.modules() if type(m).__name__ != "Sequential"][1:] == ["Linear", "Linear"]
    with pytest.raises(ValueError, match="layers"):
        plugins.create_model("dense", channels=1, window=8, layers=-1)
