"""A training that blows up after good epochs keeps the best of them; one that never had one is an error."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tsae import plugins
from tsae.models.trainer import DivergenceWarning, TrainConfig, TrainingDiverged, train_model


def _windows() -> np.ndarray:
    t = np.arange(4000) / 10.0
    x = np.stack([np.sin(t), np.cos(0.7 * t)])
    return np.stack([x[:, i:i + 32] for i in range(0, 4000 - 32, 16)]).astype(np.float32)


def _poison_after(net: torch.nn.Module, epoch: int):
    """An epoch callback that fills every weight with NaN once ``epoch`` has been reported."""
    def callback(row: dict) -> None:
        if row["epoch"] == epoch:
            with torch.no_grad():
                for p in net.parameters():
                    p.fill_(float("nan"))
    return callback


def test_a_late_blow_up_keeps_the_best_epoch_and_warns() -> None:
    windows = _windows()
    net = plugins.create_model("conv1d", channels=2, window=32, hidden=4, latent=4)
    config = TrainConfig(epochs=6, patience=10, quiet=True, device="cpu", seed=1)
    with pytest.warns(DivergenceWarning, match=r"model family 'conv1d' .*: training diverged in epoch 3 "
                                               r"\(loss is nan\); stopped and kept epoch [12]'s weights"):
        result = train_model(net, windows, config, callback=_poison_after(net, 2))
    assert result.stopped == "diverged"
    assert result.epochs_run == 2 and result.best_epoch in (1, 2)
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    assert np.isfinite(result.val_errors).all()
    assert float(np.mean(result.val_errors)) == pytest.approx(result.best_val_loss, rel=1e-4)


def test_the_kept_weights_are_those_of_an_uninterrupted_run_at_that_epoch() -> None:
    windows = _windows()
    config = TrainConfig(epochs=2, patience=10, quiet=True, device="cpu", seed=3, deterministic=True)
    torch.manual_seed(0)
    whole = train_model(plugins.create_model("conv1d", channels=2, window=32, hidden=4, latent=4), windows, config)
    torch.manual_seed(0)
    net = plugins.create_model("conv1d", channels=2, window=32, hidden=4, latent=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        cut = train_model(net, windows, TrainConfig(**{**config.__dict__, "epochs": 5}), callback=_poison_after(net, 2))
    assert cut.best_epoch == whole.best_epoch
    for a, b in zip(whole.model.state_dict().values(), cut.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_a_blow_up_in_the_first_epoch_is_still_an_error() -> None:
    windows = _windows()
    net = plugins.create_model("conv1d", channels=2, window=32, hidden=4, latent=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        with pytest.raises(TrainingDiverged, match=r"training diverged \(validation loss is nan after epoch 1\)"):
            train_model(net, windows, TrainConfig(epochs=3, lr=1e30, batch_size=1000, quiet=True, device="cpu"))
    assert issubclass(TrainingDiverged, RuntimeError)  # callers that caught RuntimeError still do


def test_the_error_pickles_with_its_message() -> None:
    import pickle

    error = TrainingDiverged("model family 'x' (built in)", "loss is nan")
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.what == "loss is nan"
    assert str(error).startswith("model family 'x' (built in): training diverged (loss is nan); lower the learning")
