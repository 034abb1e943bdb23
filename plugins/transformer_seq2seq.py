"""Transformer sequence-to-sequence autoencoder.

The window is cut into patches of ``patch`` samples (padded inside when the length
is not a multiple), embedded, given sinusoidal positional encodings and read by a
Transformer encoder; its output tokens are projected together into a ``latent``
vector. The decoder expands the code into one query per patch (plus the positional
encoding) and ``memory_tokens`` memory vectors, and a Transformer decoder (self- and
cross-attention) rebuilds every patch.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from tsae.models.base import Autoencoder, Param
from tsae_plugins.conv1d import pad_to, padded_length


def sinusoidal_encoding(steps: int, dim: int) -> torch.Tensor:
    """The fixed ``(steps, dim)`` sine/cosine positional encoding of Vaswani et al."""
    position = torch.arange(steps, dtype=torch.float32).unsqueeze(1)
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(steps, dim)
    pe[:, 0::2] = torch.sin(position * rate)
    pe[:, 1::2] = torch.cos(position * rate[: dim // 2])
    return pe


class TransformerSeq2SeqAE(Autoencoder):
    """Patch embedding + positional encoding -> Transformer encoder -> latent -> Transformer decoder."""

    name = "transformer"
    description = "Transformer seq2seq autoencoder (positional encoding, encoder to latent, decoder back)"
    encoder_modules = ("embed", "encoder", "enc_norm", "to_latent")
    params = {
        "d_model": Param(64, "token width", min=1),
        "heads": Param(4, "attention heads (must divide d_model)", min=1),
        "layers": Param(2, "encoder and decoder layers", min=1),
        "ff": Param(128, "feed-forward width inside each layer", min=1),
        "patch": Param(8, "samples per token", min=1),
        "latent": Param(32, "size of the latent code", min=1),
        "memory_tokens": Param(4, "tokens the code is expanded to for the decoder", min=1),
        "dropout": Param(0.0, "dropout inside the Transformer layers", min=0.0, max=1.0),
    }

    def __init__(self, channels: int, window: int, **hparams: Any) -> None:
        super().__init__(channels, window, **hparams)
        cfg = self.config
        if min(cfg["d_model"], cfg["heads"], cfg["layers"], cfg["ff"], cfg["patch"], cfg["latent"],
               cfg["memory_tokens"]) < 1:
            raise ValueError(f"{self.name}: sizes must be >= 1")
        if cfg["d_model"] % cfg["heads"] or cfg["d_model"] % 2:
            raise ValueError(f"{self.name}: d_model ({cfg['d_model']}) must be even and divisible by heads "
                             f"({cfg['heads']})")
        d = cfg["d_model"]
        self.patch = cfg["patch"]
        self.padded = padded_length(window, self.patch)
        self.steps = self.padded // self.patch
        features = channels * self.patch
        self.register_buffer("position", sinusoidal_encoding(self.steps, d), persistent=False)
        self.embed = nn.Linear(features, d)
        layer = dict(d_model=d, nhead=cfg["heads"], dim_feedforward=cfg["ff"], dropout=cfg["dropout"],
                     batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), cfg["layers"],
                                             enable_nested_tensor=False)
        self.enc_norm = nn.LayerNorm(d)
        self.to_latent = nn.Linear(self.steps * d, cfg["latent"])
        self.to_memory = nn.Linear(cfg["latent"], cfg["memory_tokens"] * d)
        self.to_query = nn.Linear(cfg["latent"], self.steps * d)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer), cfg["layers"])
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, features)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        x = pad_to(x, self.padded)
        tokens = x.view(b, self.channels, self.steps, self.patch).permute(0, 2, 1, 3).reshape(b, self.steps, -1)
        h = self.enc_norm(self.encoder(self.embed(tokens) + self.position))
        return self.to_latent(h.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        d = self.config["d_model"]
        memory = self.to_memory(z).view(b, self.config["memory_tokens"], d)
        queries = self.to_query(z).view(b, self.steps, d) + self.position
        h = self.norm(self.decoder(queries, memory))
        y = self.out(h).view(b, self.steps, self.channels, self.patch).permute(0, 2, 1, 3).reshape(b, self.channels, -1)
        return y[..., : self.window]
