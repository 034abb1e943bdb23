"""VQ-VAE: a convolutional encoder, a learned codebook, a convolutional decoder.

The encoder (the strided conv stack of :mod:`tsae_plugins.conv1d` and a 1x1 conv to
``code_dim`` channels) gives one vector per latent position (``window / stride**depth``
positions); each is replaced by its nearest codebook entry and the decoder mirrors the
encoder. Gradients pass the quantiser straight through; the encoder is pulled towards
its codes by the commitment loss (``commitment * ||z_e - sg(e)||^2``). The codebook
learns either by exponential moving averages of the vectors assigned to each entry
(``update="ema"``, the default) or by gradient on ``||sg(z_e) - e||^2``
(``update="straight_through"``). The first training step places every entry on a
random encoder output; after each epoch, the entries used less than ``restart`` times
their fair share in it are moved onto random encoder outputs of the last step
(dead-code restarts).

Training logs the commitment (and codebook) loss per step, and through ``end_epoch``
the share of the codebook used in the epoch (``usage``), the perplexity of the code
distribution (``perplexity``: ``exp`` of its entropy, at most ``codebook_size``) and
the number of restarted entries (``restarts``).

``encode`` returns the quantised vectors ``(batch, code_dim, positions)``;
:meth:`VQVAE.code_indices` and :meth:`VQVAE.decode_indices` work with the integer
codes ``(batch, positions)`` instead (what compression stores).
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tsae.models.base import Autoencoder, Param
from tsae_plugins.conv1d import ConvDecoder, ConvEncoder, _widths, pad_to, padded_length

UPDATES = ("ema", "straight_through")
#: encoder outputs kept from the last training step, to restart unused codes from
_RECENT = 4096


class VectorQuantizer(nn.Module):
    """Nearest-neighbour codebook of ``size`` vectors of ``dim`` floats, with EMA updates and restarts."""

    def __init__(self, size: int, dim: int, *, ema: bool, decay: float, restart: float) -> None:
        super().__init__()
        self.size, self.dim, self.ema = size, dim, ema
        self.decay, self.restart = decay, restart
        self.codebook = nn.Parameter(torch.randn(size, dim) / math.sqrt(dim), requires_grad=not ema)
        # training state only: not part of the model file
        self.register_buffer("usage_ema", torch.zeros(size), persistent=False)
        self.register_buffer("sum_ema", torch.zeros(size, dim), persistent=False)
        self.register_buffer("epoch_counts", torch.zeros(size), persistent=False)
        self.started = False
        self.recent: torch.Tensor | None = None

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """Index of the nearest codebook vector for each row of ``flat`` ``(N, dim)``."""
        book = self.codebook.float()
        flat = flat.float()
        distance = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ book.t() + book.pow(2).sum(1)
        return distance.argmin(1)

    @torch.no_grad()
    def learn(self, flat: torch.Tensor, index: torch.Tensor) -> None:
        """One training step's bookkeeping: usage counts and the EMA codebook update.

        The first step places every codebook vector on a random encoder output; later
        steps keep a sample of encoder outputs for the restarts at the end of the epoch.
        """
        flat = flat.detach().float()
        self.recent = flat[torch.randperm(len(flat), device=flat.device)[:_RECENT]]
        if not self.started:
            self.started = True
            self._place(torch.arange(self.size, device=flat.device), len(index) / self.size)
            return
        counts = torch.bincount(index, minlength=self.size).float()
        self.epoch_counts += counts
        if self.ema:
            self.usage_ema.mul_(self.decay).add_(counts, alpha=1 - self.decay)
            sums = torch.zeros_like(self.sum_ema).index_add_(0, index, flat)
            self.sum_ema.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            used = self.usage_ema > 1e-8
            self.codebook.data[used] = self.sum_ema[used] / self.usage_ema[used, None]

    def _place(self, codes: torch.Tensor, weight: float) -> None:
        """Move ``codes`` onto random recent encoder outputs (slightly jittered)."""
        recent = self.recent
        pick = torch.randint(len(recent), (len(codes),), device=recent.device)
        jitter = 0.01 * recent.std() * torch.randn(len(codes), self.dim, device=recent.device)
        self.codebook.data[codes] = (recent[pick] + jitter).to(self.codebook.dtype)
        self.usage_ema[codes] = weight
        self.sum_ema[codes] = self.codebook.data[codes].float() * weight

    @torch.no_grad()
    def end_epoch(self) -> dict[str, float]:
        """Usage share and perplexity of the epoch's codes; restart the codes it left (almost) unused."""
        counts = self.epoch_counts
        total = float(counts.sum())
        p = counts / max(total, 1.0)
        entropy = -(p[p > 0] * p[p > 0].log()).sum()
        out = {"usage": float((counts > 0).float().mean()), "perplexity": float(entropy.exp())}
        dead = torch.nonzero(counts < self.restart * total / self.size).flatten()
        if len(dead) and self.recent is not None:
            self._place(dead, float(self.usage_ema.mean()))
        out["restarts"] = float(len(dead))
        self.epoch_counts.zero_()
        return out


class VQVAE(Autoencoder):
    """Vector-quantised autoencoder with a convolutional encoder and decoder."""

    name = "vqvae"
    description = "VQ-VAE (conv encoder, learned codebook with EMA or straight-through updates, conv decoder)"
    encoder_modules = ("encoder",)
    params = {
        "codebook_size": Param(128, "number of codebook vectors (each latent position stores one index)", min=2),
        "code_dim": Param(16, "size of each codebook vector", min=1),
        "depth": Param(2, "number of strided conv levels (latent positions = window / stride**depth)", min=1),
        "hidden": Param(32, "channels of the first conv level (doubling per level)", min=1),
        "max_hidden": Param(128, "cap on the conv channels", min=1),
        "kernel": Param(5, "convolution kernel size (odd)", min=1),
        "stride": Param(2, "time stride of each level", min=1),
        "commitment": Param(0.25, "weight of the commitment loss pulling encoder outputs to their codes", min=0.0),
        "update": Param("ema", "codebook learning: ema (moving averages) or straight_through (gradient)",
                        choices=UPDATES),
        "decay": Param(0.99, "EMA decay of the codebook and of the usage counts, below 1", min=0.0),
        "restart": Param(0.1, "after each epoch, restart codes used less than this share of their fair share",
                         min=0.0),
    }

    def __init__(self, channels: int, window: int, **hparams: Any) -> None:
        super().__init__(channels, window, **hparams)
        cfg = self.config
        if cfg["kernel"] % 2 == 0 or cfg["kernel"] < cfg["stride"]:
            raise ValueError(f"{self.name}: kernel must be odd and >= stride")
        if cfg["decay"] >= 1.0:  # the Param's max would admit 1.0 itself
            raise ValueError(f"{self.name}: decay must be below 1, got {cfg['decay']}")
        widths = _widths(cfg["hidden"], cfg["depth"], max(cfg["max_hidden"], 1))
        self.padded = padded_length(window, cfg["stride"] ** cfg["depth"])
        self.positions = self.padded // cfg["stride"] ** cfg["depth"]
        self.codebook_size: int = cfg["codebook_size"]
        self.encoder = nn.Sequential(ConvEncoder(channels, widths, cfg["kernel"], cfg["stride"]),
                                     nn.Conv1d(widths[-1], cfg["code_dim"], 1))
        self.quantizer = VectorQuantizer(cfg["codebook_size"], cfg["code_dim"], ema=cfg["update"] == "ema",
                                         decay=cfg["decay"], restart=cfg["restart"])
        self.decoder = nn.Sequential(nn.Conv1d(cfg["code_dim"], widths[-1], 1),
                                     ConvDecoder(channels, widths, cfg["kernel"], cfg["stride"]))

    # -- codes -------------------------------------------------------------
    def encode_continuous(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder output before quantisation, ``(batch, code_dim, positions)``."""
        return self.encoder(pad_to(x, self.padded))

    def _indices(self, z_e: torch.Tensor) -> torch.Tensor:
        flat = z_e.transpose(1, 2).reshape(-1, z_e.shape[1])
        return self.quantizer.nearest(flat).view(z_e.shape[0], z_e.shape[2])

    def code_indices(self, x: torch.Tensor) -> torch.Tensor:
        """Codebook index of every latent position: windows ``(B, C, W)`` -> int64 ``(B, positions)``."""
        return self._indices(self.encode_continuous(x))

    def lookup(self, index: torch.Tensor) -> torch.Tensor:
        """Codebook vectors of integer codes ``(B, positions)``: ``(B, code_dim, positions)``."""
        return F.embedding(index, self.quantizer.codebook).transpose(1, 2)

    def decode_indices(self, index: torch.Tensor) -> torch.Tensor:
        """Windows ``(B, C, W)`` decoded from integer codes ``(B, positions)``."""
        return self.decode(self.lookup(index.long()))

    # -- the Autoencoder interface ------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.lookup(self.code_indices(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)[..., : self.window]

    def training_loss(
        self, x: torch.Tensor, target: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
        """Straight-through step: MSE + commitment (+ codebook) loss; updates the codebook.

        Returns (loss, parts, z_e).
        """
        z_e = self.encode_continuous(x)
        index = self._indices(z_e)
        if self.training and torch.is_grad_enabled():
            flat = z_e.transpose(1, 2).reshape(-1, z_e.shape[1])
            self.quantizer.learn(flat, index.flatten())
        z_q = self.lookup(index)
        commit = (z_e.float() - z_q.detach().float()).pow(2).mean()
        x_hat = self.decode(z_e + (z_q - z_e).detach())
        loss, parts = self.loss(x_hat, target, z=z_e)
        loss = loss + self.config["commitment"] * commit
        parts = {**parts, "commit": float(commit.detach())}
        if self.config["update"] == "straight_through":
            codebook = (z_q.float() - z_e.detach().float()).pow(2).mean()
            loss = loss + codebook
            parts["codebook"] = float(codebook.detach())
        return loss, parts, z_e

    def end_epoch(self) -> dict[str, float]:
        """Codebook ``usage`` share, ``perplexity`` and ``restarts`` of the epoch just trained."""
        return self.quantizer.end_epoch()

