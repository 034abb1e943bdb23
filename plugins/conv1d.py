"""1-D convolutional autoencoder: strided convolutions down, transposed convolutions up.

The encoder halves (``stride``) the time axis ``depth`` times while widening the
channels (``hidden``, doubling per level up to ``max_hidden``); a linear layer maps
the result to a ``latent``-sized code (set ``latent=0`` for a fully convolutional
code of shape ``(batch, channels', window / stride**depth)``). The decoder mirrors it.
Windows whose length is not a multiple of ``stride**depth`` are padded on the
right (by reflection) before encoding and the output is cropped back.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tsae.errors import shown
from tsae.models.base import Autoencoder, Param
from tsae.models.params import MAX_INT_HPARAM


def _widths(hidden: int, depth: int, max_hidden: int) -> list[int]:
    """``min(hidden * 2**i, max_hidden)`` for each level, doubling as it goes (linear in ``depth``, never 2**depth)."""
    widths, width = [], min(hidden, max_hidden)
    for _ in range(depth):
        widths.append(width)
        width = min(2 * width, max_hidden)
    return widths


def padded_length(window: int, factor: int) -> int:
    """Smallest multiple of ``factor`` that is >= ``window``."""
    return -(-window // factor) * factor


def pad_to(x: torch.Tensor, length: int) -> torch.Tensor:
    """Right-pad the last axis of ``x`` to ``length`` (reflection when possible, else replicate)."""
    extra = length - x.shape[-1]
    if extra <= 0:
        return x
    mode = "reflect" if extra < x.shape[-1] else "replicate"
    return F.pad(x, (0, extra), mode=mode)


class ConvEncoder(nn.Module):
    """Strided Conv1d stack: ``(B, C, Lp) -> (B, widths[-1], Lp / stride**depth)``."""

    def __init__(self, channels: int, widths: list[int], kernel: int, stride: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = channels
        for width in widths:
            layers += [nn.Conv1d(previous, width, kernel, stride=stride, padding=kernel // 2), nn.GELU()]
            previous = width
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """Transposed Conv1d stack mirroring :class:`ConvEncoder`, ending in a linear 1x1 conv."""

    def __init__(self, channels: int, widths: list[int], kernel: int, stride: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        rev = list(reversed(widths))
        for i, width in enumerate(rev):
            out = rev[i + 1] if i + 1 < len(rev) else rev[-1]
            layers += [
                nn.ConvTranspose1d(width, out, kernel, stride=stride, padding=kernel // 2,
                                   output_padding=stride - 1 + 2 * (kernel // 2) - (kernel - 1)),
                nn.GELU(),
            ]
        layers.append(nn.Conv1d(rev[-1], channels, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class Conv1dAE(Autoencoder):
    """Strided 1-D convolutional autoencoder with a linear bottleneck."""

    name = "conv1d"
    description = "1-D convolutional autoencoder (strided conv encoder, transposed-conv decoder)"
    params = {
        "depth": Param(3, "number of strided conv levels (time shrinks by stride**depth)", min=1),
        "hidden": Param(32, "channels of the first conv level (doubling per level)", min=1),
        "max_hidden": Param(128, "cap on the conv channels", min=1),
        "kernel": Param(5, "convolution kernel size (odd)", min=1),
        "stride": Param(2, "time stride of each level", min=1),
        "latent": Param(32, "size of the latent code; 0 keeps the conv feature map as the code", min=0),
    }

    def __init__(self, channels: int, window: int, **hparams: Any) -> None:
        super().__init__(channels, window, **hparams)
        cfg = self.config
        if cfg["kernel"] % 2 == 0:
            raise ValueError(f"{self.name}: kernel must be odd, got {cfg['kernel']}")
        if cfg["kernel"] < cfg["stride"]:
            raise ValueError(f"{self.name}: kernel ({cfg['kernel']}) must be >= stride ({cfg['stride']})")
        widths = _widths(cfg["hidden"], cfg["depth"], max(cfg["max_hidden"], 1))
        self.factor = cfg["stride"] ** cfg["depth"]
        self.padded = padded_length(window, self.factor)
        if self.padded > MAX_INT_HPARAM:  # -p depth=60: torch's "Storage size calculation overflowed", blamed on us
            raise ValueError(f"{self.name}: stride**depth ({cfg['stride']}**{cfg['depth']}) pads a window of {window} "
                             f"samples to {shown(self.padded)}, more than {MAX_INT_HPARAM}: lower depth or stride")
        self.steps = self.padded // self.factor
        self.feature_shape = (widths[-1], self.steps)
        self.encoder = ConvEncoder(channels, widths, cfg["kernel"], cfg["stride"])
        self.decoder = ConvDecoder(channels, widths, cfg["kernel"], cfg["stride"])
        flat = widths[-1] * self.steps
        if cfg["latent"]:
            self.to_latent = nn.Linear(flat, cfg["latent"])
            self.from_latent = nn.Linear(cfg["latent"], flat)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(pad_to(x, self.padded))
        if self.config["latent"]:
            return self.to_latent(h.flatten(1))
        return h

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if self.config["latent"]:
            z = self.from_latent(z).view(z.shape[0], *self.feature_shape)
        return self.decoder(z)[..., : self.window]
