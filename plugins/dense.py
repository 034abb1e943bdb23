"""Dense (fully connected) autoencoder over the flattened window: the textbook baseline.

The window ``(channels, window)`` is flattened to one vector; ``layers`` hidden layers
(``hidden`` units, halving per layer, never below ``latent``) lead to an undercomplete
``latent``-sized code, and the decoder mirrors them back to ``channels * window`` values.
``layers=0`` is a linear autoencoder (it learns the principal subspace). The code size
is capped at ``channels * window - 1`` (at least 1) so that the bottleneck stays
undercomplete on tiny windows.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tsae.models.base import Autoencoder, Param


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers through ``sizes`` with GELU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


class DenseAE(Autoencoder):
    """Fully connected autoencoder with an undercomplete bottleneck."""

    name = "dense"
    description = "dense autoencoder (fully connected layers over the flattened window, undercomplete code)"
    encoder_modules = ("encoder",)
    params = {
        "hidden": Param(256, "units of the first hidden layer (halving per layer, not below latent)", min=1),
        "layers": Param(2, "hidden layers on each side of the code (0: a linear autoencoder)", min=0),
        "latent": Param(16, "size of the code (capped below channels * window)", min=1),
    }

    def __init__(self, channels: int, window: int, **hparams: Any) -> None:
        super().__init__(channels, window, **hparams)
        cfg = self.config
        flat = channels * window
        self.latent = max(1, min(cfg["latent"], flat - 1))
        widths = [max(cfg["hidden"] // 2**i, self.latent) for i in range(cfg["layers"])]
        self.encoder = _mlp([flat, *widths, self.latent])
        self.decoder = _mlp([self.latent, *reversed(widths), flat])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(z.shape[0], self.channels, self.window)

