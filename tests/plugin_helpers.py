"""A tiny working model family shared by the plugin tests (importable by bare name: pytest puts tests/, the
folder of tests/conftest.py, on sys.path)."""
from __future__ import annotations

from torch import nn

from tsae.models.base import Autoencoder
from tsae.models.params import Param


class LinearFamily(Autoencoder):
    """One linear layer down to ``latent`` and one back: a family every hook accepts."""

    name = "test_linear"
    description = "a working family"
    params = {"latent": Param(3, "code size", min=1)}

    def __init__(self, channels, window, **hparams):
        super().__init__(channels, window, **hparams)
        self.down = nn.Linear(channels * window, self.config["latent"])
        self.up = nn.Linear(self.config["latent"], channels * window)

    def encode(self, x):
        return self.down(x.flatten(1))

    def decode(self, z):
        return self.up(z).view(-1, self.channels, self.window)


def write_tiny_model(path, sample_rate=None):
    """An untrained two-channel conv1d model file at ``path`` (built and saved, no training): window 32, hop 16,
    a z-score normaliser of scales 1 and 2, and ``sample_rate`` recorded when given."""
    import torch

    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    torch.manual_seed(0)
    model = create_model("conv1d", 2, 32, depth=2, hidden=8, latent=8)
    save_model(path, model, frame={"window": 32, "hop": 16, "window_fn": None},
               normalizer={"method": "zscore", "center": [0.0, 0.0], "scale": [1.0, 2.0]}, sample_rate=sample_rate)
    return path
