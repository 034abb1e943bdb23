"""Helpers of the compression tests: a tiny fake VQ model, in-memory models, random walks, rewritten containers."""
from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import torch
from torch import nn

from tsae.models.base import Autoencoder
from tsae.models.modelfile import LoadedModel
from tsae.pipelines.compress.container import MAGIC, Block, Reader, write_block, write_header, write_trailer
from tsae.pipelines.compress.entropy import coder_id

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


def rewritten(data: bytes, header: dict | None = None, blocks: list[Block] | None = None,
              trailer: dict | None = None) -> bytes:
    """``data`` with header entries, blocks or the trailer replaced, every checksum valid (a hostile writer)."""
    reader = Reader(io.BytesIO(data), "c.tsz")
    original = list(reader.blocks())
    out = io.BytesIO()
    write_header(out, {**reader.header, **(header or {})})
    for block in original if blocks is None else blocks:
        write_block(out, block, coder_id("zlib"))
    write_trailer(out, reader.trailer if trailer is None else trailer)
    return out.getvalue()


def as_version_1(data: bytes, header: dict | None = None) -> bytes:
    """The version 2 container ``data`` in the layout of format version 1 (a plain JSON header, no coder byte),
    with header entries replaced; the blocks and trailer are the same bytes."""
    text = json.dumps({**Reader(io.BytesIO(data), "c.tsz").header, **(header or {})}, sort_keys=True,
                      separators=(",", ":")).encode()
    start = len(MAGIC) + 3  # after the version and the header's coder
    (size,) = struct.unpack_from("<I", data, start)
    return (MAGIC + struct.pack("<HI", 1, len(text)) + text + struct.pack("<I", zlib.crc32(text))
            + data[start + 8 + size:])
