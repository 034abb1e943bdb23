"""Audio and ``.npy`` series read and written in blocks, so memory is bounded by the block, not the file.

:func:`open_source` reads a file forward as a :class:`SeriesSource`; :func:`open_writer`
writes ``(channels, m)`` blocks to a file (audio, ``.npy``, or a table of the channels, with a table source's time and
label columns), atomically and exactly as :func:`~tsae.io.series.write_series` writes the whole series.
A long table file (CSV/TSV) is read in blocks by :mod:`tsae.io.table_blocks` (a :class:`SeriesSource` too, after a
first pass over the file that decides its columns); :func:`open_source` returns None for a table, which the commands
that can read in blocks open so (:func:`~tsae.io.table_blocks.open_long_table`), the others whole.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tsae.errors import in_file
from tsae.io.atomic import atomic_path
from tsae.io.paths import ARRAY_SUFFIXES, AUDIO_SUFFIXES
from tsae.io.series import ClipCount, channel_names, read_npy, refuse_infinite

#: samples per channel read from the file at a time
CHUNK = 1 << 16


@dataclass
class SeriesShape:
    """What a block writer needs to know of a series before its first block: ``channels``,
    ``n`` samples, sample ``rate`` (None: none) and ``meta`` (``kind``, an audio ``subtype``)."""

    channels: int
    n: int
    rate: float | None
    meta: dict[str, Any]


class SeriesSource(SeriesShape):
    """An audio or ``.npy`` series, read forward as float64 ``(channels, b - a)`` ranges.

    Holds only the samples from the last :meth:`release` point on; ``.npy`` data is read
    with ordinary file reads (a memory map would keep every page read resident).
    """

    def __init__(self, path: Path, n: int, channels: int, rate: float | None, meta: dict[str, Any],
                 chunks: Iterator[np.ndarray]) -> None:
        super().__init__(channels, n, rate, meta)
        self.path = path
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

    def reopen(self, chunk: int = CHUNK) -> SeriesSource | None:
        """A new source of the same series from its start (another pass), None where there is none."""
        return open_source(self.path, chunk)


class ArraySource(SeriesSource):
    """A series ``values`` ``(channels, n)`` already in memory, the series of the file ``path`` (a table read whole),
    read as a file's source is: a long ``.npy`` file's block jobs and memory."""

    def __init__(self, path: Path, values: np.ndarray, rate: float | None, meta: dict[str, Any]) -> None:
        channels, n = values.shape
        super().__init__(path, n, channels, rate, meta, (values[:, a: a + CHUNK] for a in range(0, n, CHUNK)))
        self._values = values

    def reopen(self, chunk: int = CHUNK) -> SeriesSource | None:
        return ArraySource(self.path, self._values, self.rate, self.meta)


class _Reordered(SeriesSource):
    """The channels of ``source`` in the order ``perm``."""

    def __init__(self, source: SeriesSource, perm: list[int]) -> None:
        super().__init__(source.path, source.n, source.channels, source.rate, source.meta,
                         (np.asarray(chunk)[perm] for chunk in source._chunks))
        self._source, self._perm = source, perm

    def reopen(self, chunk: int = CHUNK) -> SeriesSource | None:
        again = self._source.reopen(chunk)
        return None if again is None else _Reordered(again, self._perm)


def reordered(source: SeriesSource, perm: list[int] | None) -> SeriesSource:
    """``source`` with its channels in the order ``perm`` (a table's columns in a model's order,
    :func:`~tsae.pipelines.reconstruct.columns.in_model_order`; None: as they are), read again in that order too."""
    return source if perm is None else _Reordered(source, perm)


def in_blocks(path: Path, values: np.ndarray, rate: float | None, meta: dict[str, Any],
              job: Callable[[SeriesSource, Callable[[np.ndarray], None]], object]) -> np.ndarray:
    """What a block ``job(source, write)`` writes (``(channels, m)`` blocks, in order) for ``values`` ``(channels, n)``
    in memory, the series of the file ``path``, as one ``(channels, n)`` float64 array: the work's memory is a
    block's, as for a long ``.npy`` file, not many times the series'."""
    result = np.empty(values.shape)
    done = 0

    def write(part: np.ndarray) -> None:
        nonlocal done
        result[:, done: done + part.shape[1]] = part
        done += part.shape[1]

    job(ArraySource(path, values, rate, meta), write)
    return result


def iter_blocks(source: SeriesSource, size: int) -> Iterator[np.ndarray]:
    """The whole of ``source`` as consecutive ``(channels, <= size)`` blocks, each forgotten once yielded."""
    for a in range(0, source.n, size):
        block = source.read(a, a + size)
        source.release(a + size)
        yield block
    source.finish()


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


def _finite_chunks(path: Path, chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """``chunks`` of ``path``, each checked for an infinite sample as it is read
    (:func:`~tsae.io.series.refuse_infinite`, named by its index in the file)."""
    done = 0
    for chunk in chunks:
        with in_file(path):
            refuse_infinite(chunk, done)
        done += chunk.shape[1]
        yield chunk


def open_source(path: Path, chunk: int = CHUNK, *, audio_gaps: bool = False, exact: bool = False,
                finite: bool = False) -> SeriesSource | None:
    """A :class:`SeriesSource` for an audio or ``.npy`` file (checked as :func:`~tsae.io.series.read_series`
    does, ``audio_gaps``, ``exact`` and ``finite`` as there: an infinite ``.npy`` sample is refused when its
    chunk is read), None for a table (read whole, or in blocks by :func:`~tsae.io.table_blocks.open_table_blocks`)."""
    suffix = path.suffix.lower()
    columns = lambda c: [f"ch{i}" for i in range(c)]  # noqa: E731 - as read_series names them
    if suffix in ARRAY_SUFFIXES:
        array = read_npy(path, mmap=True)
        if array.dtype.kind not in "biuf" or array.ndim not in (1, 2) or array.size == 0:
            return None  # read_series says what is wrong with it
        from tsae.io.series import array_meta, warn_inexact_integers

        warn_inexact_integers(path, array)
        channels = 1 if array.ndim == 1 else int(array.shape[0])
        chunks = _npy_chunks(path, array, chunk)
        return SeriesSource(path, int(array.shape[-1]), channels, None, array_meta(array.ndim, array.dtype, channels),
                            _finite_chunks(path, chunks) if finite else chunks)
    if suffix in AUDIO_SUFFIXES:
        from tsae.io.audio import audio_info, iter_audio_blocks

        info = audio_info(path)
        meta = {"kind": "audio", "subtype": info.subtype, "format": info.format, "channel_mask": info.channel_mask,
                "columns": columns(info.channels)}
        return SeriesSource(path, info.frames, info.channels, float(info.sample_rate), meta,
                            iter_audio_blocks(path, chunk, gaps=audio_gaps, exact=exact, info=info))
    return None


class NpyBlockWriter:
    """Writes a C-order ``.npy`` array of ``shape`` block by block along one axis, as ``np.save`` would.

    Blocks are ``shape`` with ``axis`` cut to the block's length and arrive in order; each
    leading index's part of a block is one contiguous run in the file. The file is sized
    up front, so memory holds one block, never the array.
    """

    def __init__(self, handle: BinaryIO, shape: tuple[int, ...], dtype: Any, axis: int = -1) -> None:
        self.dtype = np.dtype(dtype)
        np.lib.format.write_array_header_1_0(handle, {
            "descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape})
        self.handle = handle
        self.start = handle.tell()
        axis %= len(shape)
        self.rows = int(np.prod(shape[:axis], dtype=np.int64))
        self.total = shape[axis]
        self.inner = int(np.prod(shape[axis + 1:], dtype=np.int64))  # values per step along the axis
        self.done = 0
        handle.truncate(self.start + self.dtype.itemsize * self.rows * self.total * self.inner)

    def write(self, block: np.ndarray) -> None:
        """Write the next ``block`` (its length along the axis may be 0)."""
        values = np.ascontiguousarray(block, dtype=self.dtype).reshape(self.rows, -1)
        steps = values.shape[1] // self.inner if self.inner else 0
        if steps == 0:
            return
        step_bytes = self.dtype.itemsize * self.inner
        for r, row in enumerate(values):
            self.handle.seek(self.start + step_bytes * (r * self.total + self.done))
            self.handle.write(row.data)  # no copy: a row of one long frame may be most of the memory
        self.done += steps


@contextlib.contextmanager
def open_writer(path: Path, source: SeriesShape,
                protect: tuple[str | os.PathLike, ...]) -> Iterator[Callable[[np.ndarray], None]]:
    """An atomic writer of ``(channels, m)`` blocks to an audio or ``.npy`` file, or a table (CSV/TSV, compressed or
    not: any other suffix) of the channels, with the time and label columns of a table read in blocks
    (:class:`~tsae.io.table_blocks.TableSource`: its ``meta`` holds them whole), each block's rows of them beside it.

    The file is written as :func:`~tsae.io.series.write_series` writes it whole.
    """
    suffix = path.suffix.lower()
    if suffix not in AUDIO_SUFFIXES + ARRAY_SUFFIXES:
        from tsae.io.series import label_out
        from tsae.io.table_time import time_header
        from tsae.io.table_write import ColumnFormat, column_format, open_table_writer

        meta = source.meta
        names = channel_names(meta, source.channels)
        formats: list[ColumnFormat] = [None] * source.channels
        time, label = meta.get("time"), label_out(meta)
        if label is not None:
            names.append(meta.get("label_name") or "label")
            formats.append(column_format([label]))
        if time is not None:  # one format for the whole column, as write_series writes it
            names.insert(0, time_header(meta.get("time_name")))
            formats.insert(0, column_format([time], time=True))
        with open_table_writer(path, names, formats, time_utc=bool(meta.get("time_utc")), protect=protect) as table:

            def write(values: np.ndarray) -> None:
                rows = slice(table.rows, table.rows + values.shape[1])
                table.write([*([] if time is None else [time[rows]]), *values,
                             *([] if label is None else [label[rows]])])

            yield write
        return
    if suffix in AUDIO_SUFFIXES:
        from tsae.io.audio import format_like, open_audio_writer

        if not source.rate:
            raise ValueError(f"{path}: an audio output needs a sample rate (the input has none)")
        audio_in = source.meta.get("kind") == "audio"
        subtype = source.meta.get("subtype") if audio_in else None
        clipped = ClipCount(path, subtype)  # told as write_series tells it: a FLAC of a float source clips at 1
        with open_audio_writer(path, int(round(source.rate)), source.channels, subtype=subtype, protect=protect,
                               format=format_like(path, source.meta.get("format") if audio_in else None),
                               channel_mask=source.meta.get("channel_mask") if audio_in else None) as audio:

            def write_audio(values: np.ndarray) -> None:
                clipped.add(values)
                audio.write(values)

            yield write_audio
        clipped.warn(stacklevel=3)
        return
    from tsae.io.series import array_out

    with atomic_path(path, protect=protect) as tmp, open(tmp, "wb") as handle:
        like = array_out(np.empty((source.channels, 0)), source.meta)  # the input's layout and float type
        writer = NpyBlockWriter(handle, (*like.shape[:-1], source.n), like.dtype)
        yield writer.write


def streams(source: Path, output: Path, *, tables: bool = False) -> bool:
    """Whether a job from ``source`` to ``output`` can go block by block: audio or ``.npy`` on both sides, or with
    ``tables``, from audio or ``.npy`` to a table (written by :func:`open_writer` too)."""
    kinds = ARRAY_SUFFIXES + AUDIO_SUFFIXES
    return source.suffix.lower() in kinds and (tables or output.suffix.lower() in kinds)


__all__ = ["CHUNK", "ArraySource", "NpyBlockWriter", "SeriesShape", "SeriesSource", "in_blocks", "iter_blocks",
           "open_source", "open_writer", "reordered", "streams"]
