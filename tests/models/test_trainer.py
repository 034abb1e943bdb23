"""The shared trainer: regularisers, determinism, early stopping, budgets, bad input, devices."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsae import plugins
from tsae.models.device import resolve_device
from tsae.models.trainer import (
    TrainConfig,
    contractive_penalty,
    fit_batch_size,
    seed_everything,
    train_model,
)

from synthetic_data import windows_of

SMALL = {
    "conv1d": dict(hidden=4, latent=4, depth=2),
    "lstm": dict(hidden=8, latent=4),
    "transformer": dict(d_model=8, heads=2, ff=16, layers=1, latent=4),
    "vae": dict(hidden=4, latent=4, depth=2),
}


@pytest.fixture(scope="module")
def windows(normalized: np.ndarray) -> np.ndarray:
    return windows_of(normalized[:, :2000], 32, 16)


def quick(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "quiet": True, "device": "cpu", **kw})


def mse(model: torch.nn.Module, windows: np.ndarray, targets: np.ndarray | None = None) -> float:
    """Mean squared error of the model's reconstruction of ``windows`` against ``targets`` (default: itself)."""
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(windows)
        return float((model(x) - (x if targets is None else torch.from_numpy(targets))).pow(2).mean())


def trained(family: str, windows: np.ndarray, targets: np.ndarray | None = None, corruption: str = "gaussian",
            **hparams):
    """Train a small model from seed 0; return the result and the reconstruction error it started from."""
    seed_everything(0)
    model = plugins.create_model(family, 3, 32, **{**SMALL[family], **hparams})
    before = mse(model, windows)
    return train_model(model, windows, quick(corruption=corruption), targets=targets), before


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


@pytest.mark.parametrize("family", sorted(SMALL))
@pytest.mark.parametrize("regularizer", ["none", "denoising", "sparse", "contractive"])
def test_every_regularizer_runs_on_every_family(family, regularizer, windows) -> None:
    result, before = trained(family, windows[:64], regularizer=regularizer, reg_weight=0.05)
    assert mse(result.model, windows[:64]) < before  # training improved the reconstruction
    parts = result.history[-1]
    if regularizer == "sparse":
        assert parts["l1"] > 0
    if regularizer == "contractive":
        assert "jacobian" in parts and parts["jacobian"] > 0
    if regularizer != "none":  # the regulariser changed what was learnt
        plain, _ = trained(family, windows[:64], regularizer="none", reg_weight=0.05)
        assert not same_weights(result.model, plain.model)


@pytest.mark.parametrize("corruption", ["gaussian", "mask", "both"])
def test_denoising_corruptions(corruption, windows) -> None:
    result, before = trained("conv1d", windows[:64], regularizer="denoising", reg_weight=0.2, corruption=corruption)
    assert mse(result.model, windows[:64]) < before
    # validation is a plain MSE on the uncorrupted windows, with the best weights
    val = windows[result.val_indices]
    assert result.best_val_loss == pytest.approx(mse(result.model, val), rel=1e-5)
    other = {"gaussian": "mask", "mask": "gaussian", "both": "gaussian"}[corruption]
    assert not same_weights(result.model, trained("conv1d", windows[:64], regularizer="denoising", reg_weight=0.2,
                                                  corruption=other)[0].model)


def test_contractive_penalty_estimates_jacobian_norm() -> None:
    torch.manual_seed(0)
    weight = torch.randn(5, 12)
    x = torch.randn(4, 12, requires_grad=True)
    exact = float((weight**2).sum())  # the Jacobian of z = W x is W for every window
    estimates = [float(contractive_penalty(x @ weight.T, x, torch.Generator().manual_seed(s))) for s in range(400)]
    assert abs(np.mean(estimates) - exact) < 0.1 * exact


def test_cpu_training_is_deterministic(windows) -> None:
    def run() -> list[torch.Tensor]:
        seed_everything(3)
        model = plugins.create_model("lstm", 3, 32, regularizer="denoising", **SMALL["lstm"])
        result = train_model(model, windows[:64], quick(seed=3, epochs=3))
        return [p.detach().clone() for p in result.model.parameters()], result.history

    (a, ha), (b, hb) = run(), run()
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert [r["val_loss"] for r in ha] == [r["val_loss"] for r in hb]
    assert not torch.are_deterministic_algorithms_enabled()  # restored afterwards


def test_early_stopping_keeps_best_weights(windows) -> None:
    seed_everything(0)
    model = plugins.create_model("conv1d", 3, 32, **SMALL["conv1d"])
    result = train_model(model, windows[:64], quick(epochs=50, lr=0.5, patience=2))  # a silly lr diverges/plateaus
    assert result.stopped == "early_stopping"
    assert result.epochs_run == result.best_epoch + 2 < 50  # stopped `patience` epochs after the best one
    assert result.best_val_loss == min(r["val_loss"] for r in result.history)
    assert result.best_val_loss == result.history[result.best_epoch - 1]["val_loss"]
    assert result.val_errors.mean() == pytest.approx(result.best_val_loss, rel=1e-4)  # the best weights are back


def test_max_seconds_budget(windows) -> None:
    seed_everything(0)
    model = plugins.create_model("conv1d", 3, 32, **SMALL["conv1d"])
    result = train_model(model, windows, quick(epochs=10_000, max_seconds=0.3, batch_size=4))
    assert result.stopped == "max_seconds"
    assert result.epochs_run < 10_000


def test_targets_train_towards_clean_windows(windows) -> None:
    rng = np.random.default_rng(0)
    clean = windows[:64]
    noisy = clean + 0.3 * rng.standard_normal(clean.shape).astype(np.float32)
    result, _ = trained("conv1d", noisy, targets=clean)
    val = result.val_indices
    # the loss and the validation compare the reconstruction of the noisy window with the clean one
    assert result.best_val_loss == pytest.approx(mse(result.model, noisy[val], clean[val]), rel=1e-5)
    assert result.best_val_loss != pytest.approx(mse(result.model, noisy[val]), rel=1e-2)
    plain, _ = trained("conv1d", noisy)
    assert not same_weights(result.model, plain.model)


def test_bad_windows_are_refused() -> None:
    model = plugins.create_model("conv1d", 2, 16, **SMALL["conv1d"])
    with pytest.raises(ValueError, match="NaN"):
        bad = np.zeros((8, 2, 16), np.float32)
        bad[0, 0, 0] = np.nan
        train_model(model, bad, quick())
    with pytest.raises(ValueError, match="channels"):
        train_model(model, np.zeros((8, 3, 16), np.float32), quick())
    with pytest.raises(ValueError, match="no training windows"):
        train_model(model, np.zeros((0, 2, 16), np.float32), quick())
    with pytest.raises(ValueError, match="val_fraction"):
        TrainConfig(val_fraction=1.5)


def test_single_window_trains() -> None:
    model = plugins.create_model("conv1d", 1, 16, **SMALL["conv1d"])
    result = train_model(model, np.random.default_rng(0).standard_normal((1, 1, 16)).astype(np.float32), quick())
    assert len(result.val_indices) == 1  # validated on the training window itself


def test_batch_size_is_capped_by_bytes() -> None:
    assert fit_batch_size(64, (8, 128), max_bytes=1 << 30) == 64
    capped = fit_batch_size(64, (8, 128), max_bytes=8 * 128 * 4 * 64 * 10)
    assert capped == 10
    assert fit_batch_size(64, (8, 10**7), max_bytes=1) == 1


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_mixed_precision(windows) -> None:
    seed_everything(0)
    for family in SMALL:
        model = plugins.create_model(family, 3, 32, regularizer="contractive", **SMALL[family])
        result = train_model(model, windows[:64], TrainConfig(epochs=2, quiet=True, device="cuda"))
        assert result.device.startswith("cuda") and np.isfinite(result.best_val_loss)


@pytest.mark.parametrize("settings, message", [
    ({"lr": 1e300}, r"lr must be in \(0, 1e\+30\], got 1e\+300"),  # torch: "cannot be converted to type float"
    ({"lr": 0.0}, r"lr must be in \(0, 1e\+30\]"),
    ({"weight_decay": 1e39}, r"weight_decay must be in \[0, 1e\+30\]"),
])
def test_rates_an_optimizer_cannot_hold_are_refused_by_name(settings, message) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**settings)
