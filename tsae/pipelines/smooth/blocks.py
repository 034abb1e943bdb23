"""Long series files in blocks: smoothing and gap filling with memory bounded by the block, not the file.

The smoother and the imputer learn from the series itself. A file longer than one block
is processed block by block, each block read with ``context`` samples of its
neighbours on both sides and only its own part written:

- :func:`smooth_blocks` learns once, from the first block (its centre and scale, noise
  levels, global Wiener gains and the blind-spot :class:`~tsae.pipelines.smooth.smoother.Predictor`,
  or uses the trained model), then applies that fixed smoother to every block. The
  context covers everything one output sample depends on (the predictor's reach, the
  edge guard's window, or a trained model's window at the model's own frame grid), so
  the blocks join without seams. Learning from the first block only keeps the training
  cost and memory those of a one-block file; a series whose character changes later is
  smoothed with what the first block taught (the edge guard keeps what it cannot predict).
- :func:`impute_blocks` fills each block with :func:`~tsae.pipelines.smooth.smoother.impute`
  on the block and its context. A block never ends inside a gap: its end moves forward
  to the next sample observed in every channel, so each gap is filled once, from one
  segment that holds it whole and observed samples on both sides.

Both read forward through a :class:`SeriesSource` and hand each finished block to a
writer, so time is linear in the file's length.
"""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tsae.engine.preprocess import repair_missing
from tsae.io.atomic import atomic_path
from tsae.io.paths import ARRAY_SUFFIXES, AUDIO_SUFFIXES
from tsae.io.series import read_npy
from tsae.pipelines.smooth.smoother import (
    _GUARD_HALF,
    _typical_power,
    blend,
    checked_params,
    impute,
    noise_sigma,
    self_supervised,
)

#: samples per channel of one smoothing block (a file no longer is smoothed whole, as by smooth())
SMOOTH_BLOCK = 1 << 20
#: samples per channel of one gap-filling block: the imputer's trajectory matrix holds 128
#: float64 values per sample, so a 2**16 block needs about 100 MB (2**20 would need 1.6 GB)
IMPUTE_BLOCK = 1 << 16
#: samples each side a gap-filling block reads of its neighbours (8 windows of the default 128)
IMPUTE_CONTEXT = 1024
#: samples per channel read from the file at a time
_CHUNK = 1 << 16


class SeriesSource:
    """An audio or ``.npy`` series, read forward as float64 ``(channels, b - a)`` ranges.

    Holds only the samples from the last :meth:`release` point on; ``.npy`` data is read
    with ordinary file reads (a memory map would keep every page read resident).
    """

    def __init__(self, path: Path, n: int, channels: int, rate: float | None, meta: dict[str, Any],
                 chunks: Iterator[np.ndarray]) -> None:
        self.path, self.n, self.channels, self.rate, self.meta = path, n, channels, rate, meta
        self._chunks = chunks
        self._buffer = np.empty((channels, 0))
        self._start = 0

    def read(self, a: int, b: int) -> np.ndarray:
        """Samples ``[a, b)`` (``b`` clipped to the end); ``a`` is not before the last release point."""
        b = min(b, self.n)
        while self._start + self._buffer.shape[1] < b:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise ValueError(f"{self.path}: the series ended early "
                                 f"({self._start + self._buffer.shape[1]} of {self.n} samples)")
            self._buffer = np.concatenate([self._buffer, np.asarray(chunk, dtype=np.float64)], axis=1)
        return self._buffer[:, a - self._start: b - self._start].copy()

    def finish(self) -> None:
        """Read to the end of the file, so the reader's end-of-file checks and warnings (repaired samples) run."""
        for _ in self._chunks:
            pass

    def release(self, a: int) -> None:
        """Forget the samples before ``a``."""
        if a > self._start:
            self._buffer = self._buffer[:, a - self._start:].copy()
            self._start = a


def _npy_chunks(path: Path, array: Any, chunk: int) -> Iterator[np.ndarray]:
    """Consecutive ``(channels, <= chunk)`` ranges of a memory-mapped ``(n,)`` or ``(channels, n)`` array."""
    channels, n = (1, array.shape[0]) if array.ndim == 1 else array.shape
    fortran = array.ndim == 2 and not array.flags.c_contiguous
    size = array.dtype.itemsize
    with open(path, "rb") as handle:
        for a in range(0, n, chunk):
            m = min(chunk, n - a)
            if fortran:  # sample t of every channel is one run of `channels` values
                handle.seek(array.offset + a * channels * size)
                yield np.fromfile(handle, array.dtype, m * channels).reshape(m, channels).T
                continue
            rows = []
            for c in range(channels):
                handle.seek(array.offset + (c * n + a) * size)
                rows.append(np.fromfile(handle, array.dtype, m))
            yield np.stack(rows)


def open_source(path: Path, chunk: int = _CHUNK) -> SeriesSource | None:
    """A :class:`SeriesSource` for an audio or ``.npy`` file (checked as :func:`~tsae.io.series.read_series`
    does), None for a table (read whole: there is no chunked table reader)."""
    suffix = path.suffix.lower()
    columns = lambda c: [f"ch{i}" for i in range(c)]  # noqa: E731 - as read_series names them
    if suffix in ARRAY_SUFFIXES:
        array = read_npy(path, mmap=True)
        if array.dtype.kind not in "biuf" or array.ndim not in (1, 2) or array.size == 0:
            return None  # read_series says what is wrong with it
        channels = 1 if array.ndim == 1 else int(array.shape[0])
        return SeriesSource(path, int(array.shape[-1]), channels, None, {"kind": "array", "columns": columns(channels)},
                            _npy_chunks(path, array, chunk))
    if suffix in AUDIO_SUFFIXES:
        from tsae.io.audio import audio_info, iter_audio_blocks

        info = audio_info(path)
        meta = {"kind": "audio", "subtype": info.subtype, "format": info.format, "columns": columns(info.channels)}
        return SeriesSource(path, info.frames, info.channels, float(info.sample_rate), meta,
                            iter_audio_blocks(path, chunk))
    return None


class _NpyWriter:
    """Appends ``(channels, m)`` float64 blocks to a ``.npy`` file of ``(n,)`` or ``(channels, n)``, as ``np.save``."""

    def __init__(self, handle: BinaryIO, channels: int, n: int) -> None:
        shape = (n,) if channels == 1 else (channels, n)
        np.lib.format.write_array_header_1_0(handle, {
            "descr": np.lib.format.dtype_to_descr(np.dtype(np.float64)), "fortran_order": False, "shape": shape})
        self.handle, self.n, self.done = handle, n, 0
        self.start = handle.tell()
        handle.truncate(self.start + 8 * channels * n)

    def write(self, values: np.ndarray) -> None:
        for c, row in enumerate(np.asarray(values, dtype=np.float64)):  # channel c is one run in the file
            self.handle.seek(self.start + 8 * (c * self.n + self.done))
            self.handle.write(row.tobytes())
        self.done += values.shape[1]


@contextlib.contextmanager
def open_writer(path: Path, source: SeriesSource,
                protect: tuple[str | os.PathLike, ...]) -> Iterator[Callable[[np.ndarray], None]]:
    """An atomic writer of ``(channels, m)`` blocks to an audio or ``.npy`` file.

    The file is written as :func:`~tsae.io.series.write_series` writes it whole.
    """
    if path.suffix.lower() in AUDIO_SUFFIXES:
        from tsae.io.audio import open_audio_writer

        if not source.rate:
            raise ValueError(f"{path}: an audio output needs a sample rate (the input has none)")
        subtype = source.meta.get("subtype") if source.meta.get("kind") == "audio" else None
        with open_audio_writer(path, int(round(source.rate)), source.channels, subtype=subtype,
                               protect=protect) as audio:
            yield lambda values: audio.write(values.astype(np.float32))
        return
    with atomic_path(path, protect=protect) as tmp, open(tmp, "wb") as handle:
        writer = _NpyWriter(handle, source.channels, source.n)
        yield writer.write


def streams(source: Path, output: Path) -> bool:
    """Whether a job from ``source`` to ``output`` can go block by block (audio or ``.npy`` on both sides)."""
    kinds = ARRAY_SUFFIXES + AUDIO_SUFFIXES
    return source.suffix.lower() in kinds and output.suffix.lower() in kinds


def smooth_blocks(source: SeriesSource, write: Callable[[np.ndarray], None], advance: Callable[[int], None], *,
                  block: int = SMOOTH_BLOCK, learn: int | None = None, strength: float = 1.0, model: Any = None,
                  edge_guard: bool = True, steps: int = 150, max_seconds: float | None = 10.0, seed: int = 0,
                  model_params: dict[str, Any] | None = None) -> int:
    """Smooth ``source`` block by block into ``write``, learning from its first block (see the module notes).

    Returns the number of missing samples (NaN, left NaN as by :func:`~tsae.pipelines.smooth.smoother.smooth`).

    ``advance`` is told the samples done after each block; ``learn`` is how many samples
    it learns from (default: one block); ``model`` is a loaded model (on its device) or
    None; the other parameters are those of :func:`~tsae.pipelines.smooth.smoother.smooth`.
    """
    n = source.n
    params = checked_params(model_params, source.channels, model)
    first = repair_missing(source.read(0, block if learn is None else learn))
    center = np.median(first, axis=1, keepdims=True)
    scale = np.std(first, axis=1, keepdims=True)
    scale[scale <= 0] = 1.0
    z = (first - center) / scale
    sigmas = np.array([noise_sigma(zc) for zc in z])
    if model is not None:
        from tsae.pipelines.reconstruct.series import frame_spec, reconstruct_series

        spec = frame_spec(model)
        hop = int(spec["hop"])
        block = max(hop, block // hop * hop)  # every block starts on the model's frame grid
        context = math.ceil((int(spec["window"]) + _GUARD_HALF + 1) / hop) * hop

        def predict(zs: np.ndarray, xs: np.ndarray) -> np.ndarray:
            recon = np.asarray(reconstruct_series(model, xs), dtype=np.float64).reshape(xs.shape)
            return (recon - center) / scale
    else:
        _, predictor = self_supervised(z, edge_guard=edge_guard, seed=seed, max_seconds=max_seconds, steps=steps,
                                       params=params)
        context = predictor.reach + _GUARD_HALF + 1

        def predict(zs: np.ndarray, xs: np.ndarray) -> np.ndarray:
            return predictor(zs)
    powers = np.array([_typical_power(zc, pc, s)
                       for zc, pc, s in zip(z, predict(z, first), sigmas, strict=True)])
    del first, z
    n_missing = 0
    for s in range(0, n, block):
        e = min(n, s + block)
        a, b = max(0, s - context), min(n, e + context)
        values = source.read(a, b)
        source.release(a)
        missing = np.isnan(values)
        filled = repair_missing(values)
        zs = (filled - center) / scale
        out = blend(filled, zs, predict(zs, filled), scale, strength, edge_guard=edge_guard, sigmas=sigmas,
                    powers=powers)
        out[missing] = np.nan
        n_missing += int(missing[:, s - a: e - a].sum())
        write(out[:, s - a: e - a])
        advance(e - s)
    return n_missing


def _block_end(source: SeriesSource, end: int, limit: int) -> int:
    """The first sample at or after ``end`` observed in every channel (a block ending there cuts no gap);
    ``limit`` if none comes before it."""
    while end < limit:
        observed = ~np.isnan(source.read(end, min(limit, end + _CHUNK))).any(axis=0)
        if observed.any():
            return end + int(np.argmax(observed))
        end += _CHUNK
    return limit


def impute_blocks(source: SeriesSource, write: Callable[[np.ndarray], None], advance: Callable[[int], None], *,
                  block: int = IMPUTE_BLOCK, context: int = IMPUTE_CONTEXT, **kwargs: Any) -> int:
    """Fill the gaps of ``source`` block by block into ``write`` (see the module notes); returns the samples filled.

    ``kwargs`` go to :func:`~tsae.pipelines.smooth.smoother.impute`; a gap longer than
    a block is cut at the next block's end.
    """
    n, start, filled = source.n, 0, 0
    while start < n:
        end = _block_end(source, min(n, start + block), min(n, start + 2 * block))
        a, b = max(0, start - context), min(n, end + context)
        values = source.read(a, b)
        source.release(a)
        part = values[:, start - a: end - a]
        gaps = int(np.isnan(part).sum())
        if gaps:
            try:
                part = impute(values, **kwargs)[:, start - a: end - a]
            except ValueError as error:  # a gap longer than the block and its context in some channel
                raise ValueError(f"{source.path}: samples {a} to {b}: {error}") from None
            filled += gaps
        write(part)
        advance(end - start)
        start = end
    return filled


__all__ = ["SMOOTH_BLOCK", "IMPUTE_BLOCK", "IMPUTE_CONTEXT", "SeriesSource", "open_source", "open_writer", "streams",
           "smooth_blocks", "impute_blocks"]
