"""Helpers of the compression tests: a tiny fake VQ model, in-memory models, random walks."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tsae.models.base import Autoencoder
from tsae.models.modelfile import LoadedModel

WINDOW = 16


class FakeVQ(Autoencoder):
    """A tiny VQ model: each 4-sample segment of every channel snaps to the nearest of 9 levels."""

    name = "fake_vq"

    def __init__(self, channels: int, window: int, **hparams):
        super().__init__(channels, window, **hparams)
        self.levels = nn.Parameter(torch.linspace(-2.0, 2.0, 9))
        self.codebook_size = 9

    def code_indices(self, x):
        segments = x.reshape(x.shape[0], self.channels, -1, 4).mean(-1)  # (B, C, W/4)
        index = (segments[..., None] - self.levels).abs().argmin(-1)
        return index.flatten(1)  # (B, C * W/4)

    def decode_indices(self, index):
        values = self.levels[index].reshape(index.shape[0], self.channels, -1)
        return values.repeat_interleave(4, dim=-1)

    def encode(self, x):
        return self.code_indices(x).float()

    def decode(self, z):
        return self.decode_indices(z.long())


def loaded(model, normalizer=None) -> LoadedModel:
    return LoadedModel(model=model.eval(), family=model.name, plugin=None, plugin_version=None,
                       hparams=model.hparams(), frame=None, normalizer=normalizer, sample_rate=None,
                       tsae_version=None)


def walk(n: int, seed: int = 0) -> np.ndarray:
    """Two random-walk channels of n samples."""
    return np.cumsum(np.random.default_rng(seed).normal(size=(2, n)), axis=1)
