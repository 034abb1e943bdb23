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
