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
from tsae.pipelines.compress.entropy import coder_id, pack_ints

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


def tiny_model_file(path, seed: int, normalizer: dict, extra: dict | None = None):
    """An untrained two-channel conv1d model file at ``path``, windows of :data:`WINDOW` samples."""
    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    torch.manual_seed(seed)
    model = create_model("conv1d", 2, WINDOW, depth=2, hidden=4, latent=4)
    save_model(path, model, frame={"window": WINDOW, "hop": WINDOW, "window_fn": None}, normalizer=normalizer,
               extra=extra)
    return path


def walk(n: int, seed: int = 0) -> np.ndarray:
    """Two random-walk channels of n samples."""
    return np.cumsum(np.random.default_rng(seed).normal(size=(2, n)), axis=1)


def rewritten(data: bytes, header: dict | None = None, blocks: list[Block] | None = None,
              trailer: dict | None = None) -> bytes:
    """``data`` with header entries, blocks or the trailer replaced, every checksum valid (a hostile writer)."""
    reader = Reader(io.BytesIO(data), "c.tsz")
    original = list(reader.blocks())
    out = io.BytesIO()
    write_header(out, {**reader.header, **(header or {})}, max(reader.version, 3))
    for block in original if blocks is None else blocks:
        write_block(out, block, coder_id("zlib"))
    write_trailer(out, reader.trailer if trailer is None else trailer)
    return out.getvalue()


def _old_part(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data + struct.pack("<I", zlib.crc32(data))


def _old_payload(block: Block) -> bytes:
    """A block in the layout of format versions 1 and 2 (a fixed head, named sections; stored raw here)."""
    parts = [struct.pack("<IdIB", block.samples, block.latent_step, block.check, len(block.arrays))]
    for name, values in block.arrays.items():
        width, data = pack_ints(values, coder_id("raw"))
        key = name.encode("ascii")
        parts.append(struct.pack("<B", len(key)) + key + struct.pack(f"<B{values.ndim}I", values.ndim, *values.shape)
                     + struct.pack("<BBI", width, coder_id("raw"), len(data)) + data)
    return b"".join(parts)


def as_version(data: bytes, version: int, header: dict | None = None) -> bytes:
    """The container ``data`` in the layout of format version 1 (a plain JSON header) or 2 (a zlib-coded one),
    32-bit lengths, fixed block heads, named sections and a JSON trailer, with header entries replaced."""
    reader = Reader(io.BytesIO(data), "c.tsz")
    blocks = [_old_part(_old_payload(block)) for block in reader.blocks()]
    text = json.dumps({**reader.header, **(header or {})}, sort_keys=True, separators=(",", ":")).encode()
    head = struct.pack("<H", 1) + _old_part(text) if version == 1 else struct.pack("<HB", 2, 1) + _old_part(
        zlib.compress(text))
    trailer = json.dumps(reader.trailer, sort_keys=True, separators=(",", ":")).encode()
    return MAGIC + head + b"".join(blocks) + struct.pack("<I", 0) + _old_part(trailer)
