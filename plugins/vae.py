"""Convolutional beta-VAE.

The encoder (the strided conv stack of :mod:`tsae_plugins.conv1d`) outputs the mean
and log-variance of a Gaussian posterior over a ``latent`` vector; training samples
it with the reparameterisation trick and adds ``beta`` times the KL divergence to the
standard normal prior (per window, divided by the window's sample count so that it
is on the scale of the mean squared error). ``encode`` returns the posterior mean
(deterministic codes); :meth:`BetaVAE.sample` decodes draws from the prior into new
windows of shape ``(n, channels, window)``.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tsae.models.base import Autoencoder, Param
from tsae_plugins.conv1d import ConvDecoder, ConvEncoder, _widths, pad_to, padded_length


class BetaVAE(Autoencoder):
    """Variational autoencoder with a beta-weighted KL term."""

    name = "vae"
    description = "convolutional beta-VAE (reparameterisation, KL term, sample new windows)"
    encoder_modules = ("encoder", "to_stats")
    params = {
        "beta": Param(1.0, "weight of the KL divergence (beta-VAE); larger = smoother latent space", min=0.0),
        "latent": Param(16, "size of the latent code", min=1),
        "depth": Param(3, "number of strided conv levels", min=1),
        "hidden": Param(32, "channels of the first conv level (doubling per level)", min=1),
        "max_hidden": Param(128, "cap on the conv channels", min=1),
        "kernel": Param(5, "convolution kernel size (odd)", min=1),
        "stride": Param(2, "time stride of each level", min=1),
    }

    def __init__(self, channels: int, window: int, **hparams: Any) -> None:
        super().__init__(channels, window, **hparams)
        cfg = self.config
        if min(cfg["depth"], cfg["hidden"], cfg["latent"], cfg["stride"]) < 1:
            raise ValueError(f"{self.name}: depth, hidden, latent and stride must be >= 1")
        if cfg["kernel"] % 2 == 0 or cfg["kernel"] < cfg["stride"]:
            raise ValueError(f"{self.name}: kernel must be odd and >= stride")
        if cfg["beta"] < 0:
            raise ValueError(f"{self.name}: beta must be >= 0, got {cfg['beta']}")
        widths = _widths(cfg["hidden"], cfg["depth"], max(cfg["max_hidden"], 1))
        factor = cfg["stride"] ** cfg["depth"]
        self.padded = padded_length(window, factor)
        self.feature_shape = (widths[-1], self.padded // factor)
        flat = widths[-1] * self.feature_shape[1]
        self.encoder = ConvEncoder(channels, widths, cfg["kernel"], cfg["stride"])
        self.to_stats = nn.Linear(flat, 2 * cfg["latent"])
        self.from_latent = nn.Linear(cfg["latent"], flat)
        self.decoder = ConvDecoder(channels, widths, cfg["kernel"], cfg["stride"])

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance ``(batch, latent)`` of q(z | x)."""
        h = self.encoder(pad_to(x, self.padded)).flatten(1)
        mu, logvar = self.to_stats(h).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_latent(z).view(z.shape[0], *self.feature_shape)
        return self.decoder(h)[..., : self.window]

    def kl(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of KL(q(z|x) || N(0, I)), summed over latent dimensions."""
        return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)).mean()

    def training_loss(
        self, x: torch.Tensor, target: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
        """Reparameterised step: MSE + beta * KL / (channels * window); returns (loss, parts, z)."""
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        x_hat = self.decode(z)
        loss, parts = self.loss(x_hat, target, z=z)
        kl = self.kl(mu.float(), logvar.float())
        loss = loss + self.config["beta"] * kl / (self.channels * self.window)
        return loss, {**parts, "kl": float(kl.detach())}, z

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` draws from the prior: new windows ``(n, channels, window)``."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.config["latent"], generator=generator).to(device)
        was_training = self.training
        self.eval()
        out = self.decode(z)
        self.train(was_training)
        return out
