"""LSTM sequence-to-sequence autoencoder.

The encoder LSTM reads the window (in patches of ``patch`` samples per step, which
keeps long windows fast) and its final hidden state is projected to a ``latent``
vector. The decoder LSTM starts from a state computed from that vector and rebuilds
the window step by step, each step seeing the code and a learned step embedding; a
linear layer maps each step's output back to ``patch`` samples per channel. Windows
not divisible by ``patch`` are padded inside and cropped on the way out.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tsae.models.base import Autoencoder, Param
from tsae_plugins.conv1d import pad_to, padded_length


class LSTMSeq2SeqAE(Autoencoder):
    """Encoder LSTM -> latent vector -> decoder LSTM, over patches of the window."""

    name = "lstm"
    description = "LSTM seq2seq autoencoder (encoder compresses the window to a vector, decoder rebuilds it)"
    params = {
        "hidden": Param(64, "LSTM hidden size", min=1),
        "layers": Param(1, "stacked LSTM layers in the encoder and the decoder", min=1),
        "latent": Param(32, "size of the latent code", min=1),
        "patch": Param(4, "samples per LSTM step (1 = one step per sample)", min=1),
        "bidirectional": Param(True, "bidirectional encoder"),
    }

    def __init__(self, channels: int, window: int, **hparams: Any) -> None:
        super().__init__(channels, window, **hparams)
        cfg = self.config
        if min(cfg["hidden"], cfg["layers"], cfg["latent"], cfg["patch"]) < 1:
            raise ValueError(f"{self.name}: hidden, layers, latent and patch must be >= 1")
        self.patch = cfg["patch"]
        self.padded = padded_length(window, self.patch)
        self.steps = self.padded // self.patch
        features = channels * self.patch
        directions = 2 if cfg["bidirectional"] else 1
        self.encoder = nn.LSTM(features, cfg["hidden"], cfg["layers"], batch_first=True,
                               bidirectional=bool(cfg["bidirectional"]))
        self.to_latent = nn.Linear(cfg["hidden"] * directions * 2, cfg["latent"])
        self.to_state = nn.Linear(cfg["latent"], 2 * cfg["layers"] * cfg["hidden"])
        self.step_embedding = nn.Parameter(torch.randn(self.steps, cfg["hidden"]) * 0.1)
        self.from_latent = nn.Linear(cfg["latent"], cfg["hidden"])
        self.decoder = nn.LSTM(cfg["hidden"], cfg["hidden"], cfg["layers"], batch_first=True)
        self.out = nn.Linear(cfg["hidden"], features)

    def _patches(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        x = pad_to(x, self.padded)  # (B, C, Lp)
        return x.view(b, self.channels, self.steps, self.patch).permute(0, 2, 1, 3).reshape(b, self.steps, -1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        seq = self._patches(x)
        out, _ = self.encoder(seq)
        # summary: last step (forward direction sees everything) and mean over steps
        summary = torch.cat([out[:, -1], out.mean(1)], dim=-1)
        return self.to_latent(summary)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        layers, hidden = self.config["layers"], self.config["hidden"]
        state = torch.tanh(self.to_state(z)).view(b, 2, layers, hidden).permute(1, 2, 0, 3)
        h0, c0 = state[0].contiguous(), state[1].contiguous()
        inputs = self.from_latent(z).unsqueeze(1) + self.step_embedding.unsqueeze(0)
        out, _ = self.decoder(inputs, (h0, c0))
        y = self.out(out)  # (B, steps, C * patch)
        y = y.view(b, self.steps, self.channels, self.patch).permute(0, 2, 1, 3).reshape(b, self.channels, -1)
        return y[..., : self.window]
