"""Long audio and ``.npy`` files reconstructed or encoded in blocks: memory bounded by the block, not the file.

The result equals what :func:`~tsae.pipelines.reconstruct.series.reconstruct_series` (or
``encode_series``) gives on the whole series (to float rounding of the network's batches):

- missing samples (NaN, infinite, beyond 1e30: :func:`~tsae.io.table_absurd.absurd_as_missing`) are
  filled as ``repair_missing(method="linear")`` fills them on the whole series. A gap that
  crosses a block's end needs the first observed sample after it, which may lie many blocks
  later: at the first block that ends inside a gap, one more pass (:func:`_right_anchors`)
  reads the file and records, for every block end and channel, the first finite sample at
  or after it (two numbers per block and channel).
  A file whose blocks all end on observed samples is read once. Audio is never missing
  samples (its reader repairs them);
- the repaired, normalised samples go through a :class:`~tsae.engine.streaming.StreamFramer`
  (the frames ``frame(..., pad=True)`` cuts), the network, and a
  :class:`~tsae.engine.streaming.StreamOverlapAdd` (``overlap_add`` bit for bit). A tapered
  model's series is reflected at both ends first, as the whole-series path reflects it.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.preprocess import Normalizer, as_float32
from tsae.engine.streaming import StreamFramer, StreamOverlapAdd, frame_block
from tsae.errors import EmptyChannelError
from tsae.io.atomic import atomic_path
from tsae.io.blocks import NpyBlockWriter, SeriesSource
from tsae.io.table_absurd import absurd_as_missing

#: samples per channel of one reconstruction block
RECONSTRUCT_BLOCK = 1 << 16


def _right_anchors(source: SeriesSource, block: int) -> tuple[np.ndarray, np.ndarray]:
    """For the end ``(k + 1) * block`` of every block ``k`` but the last: per channel, the first finite sample
    at or after it, as ``(index, value)`` arrays ``(blocks - 1, channels)`` (index -1: none until the end)."""
    ends = max(0, -(-source.n // block) - 1)
    index = np.full((ends, source.channels), -1, dtype=np.int64)
    value = np.full((ends, source.channels), np.nan)
    unresolved = np.zeros(source.channels, dtype=np.int64)  # per channel, the first block end still waiting
    for k, a in enumerate(range(0, source.n, block)):
        x = absurd_as_missing(source.read(a, a + block))
        source.release(a + block)
        finite = np.isfinite(x)
        for c in np.flatnonzero(finite.any(axis=1) & (unresolved < k)):
            first = int(np.argmax(finite[c]))
            index[unresolved[c]: k, c] = a + first
            value[unresolved[c]: k, c] = x[c, first]
            unresolved[c] = k
    source.finish()
    return index, value


def _fill_gaps(x: np.ndarray, start: int, left: tuple[np.ndarray, np.ndarray],
               right: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """``x`` (samples ``start ..``) with its non-finite samples filled as the linear repair of the whole series.

    ``left`` is each channel's last finite sample before ``start`` (index -1: none),
    ``right`` the first at or after the block's end (None at the end of the series).
    The same arithmetic as the repair kernel: ``left + (right - left) / (i - prev) * (j - prev)``.
    """
    out = np.array(x, dtype=np.float64)
    missing = ~np.isfinite(out)
    for c in np.flatnonzero(missing.any(axis=1)):
        where = np.flatnonzero(~missing[c])
        positions = [start + where]
        values = [out[c, where]]
        if left[0][c] >= 0:
            positions.insert(0, left[0][c: c + 1])
            values.insert(0, left[1][c: c + 1])
        if right is not None and right[0][c] >= 0:
            positions.append(right[0][c: c + 1])
            values.append(right[1][c: c + 1])
        known = np.concatenate(positions)
        known_values = np.concatenate(values)
        if known.size == 0:
            raise EmptyChannelError(int(c))
        gaps = start + np.flatnonzero(missing[c])
        after = np.searchsorted(known, gaps)
        filled = np.empty(gaps.size)
        first, last = after == 0, after == known.size
        filled[first] = known_values[0]
        filled[last] = known_values[-1]
        inner = ~(first | last)
        prev, nxt = known[after[inner] - 1], known[after[inner]]
        low, high = known_values[after[inner] - 1], known_values[after[inner]]
        filled[inner] = low + (high - low) / (nxt - prev) * (gaps[inner] - prev)
        out[c, gaps - start] = filled
    return out


def stream_frames(loaded: Any, source: SeriesSource, block: int, *,
                  edges: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The normalised frames ``(k, channels, window)`` float32 of ``source``, block by block, each with its raw block.

    They are the frames :func:`~tsae.pipelines.reconstruct.series.prepare_frames` cuts
    from the whole series (missing samples repaired linearly, the end padded; with
    ``edges``, a tapered model's series reflected at both ends first: the first frames wait
    for the first ``edge_pad + 1`` samples, and the last ``edge_pad + 1`` are kept for the
    end's mirror); the last item holds the padded tail frames and an empty block.
    """
    from tsae.pipelines.reconstruct.series import edge_pad, frame_spec, reflect_edges

    spec = frame_spec(loaded)
    lead = edge_pad(spec) if edges else 0
    head: np.ndarray | None = np.empty((source.channels, 0), np.float32) if lead else None  # until lead + 1 seen
    tail = np.empty((source.channels, 0), np.float32)  # the last lead + 1 samples (the end's mirror)
    if source.channels != loaded.channels:
        raise ValueError(f"values has {source.channels} channel(s) but the model was trained on {loaded.channels}")
    block = frame_block(spec["window"], spec["hop"], source.channels, block)
    normalizer = Normalizer.from_dict(loaded.normalizer) if loaded.normalizer else None
    repair = source.meta.get("kind") != "audio"  # audio is never missing samples
    anchors = None
    framer = StreamFramer(spec["window"], spec["hop"], spec["window_fn"], channels=source.channels)
    left = (np.full(source.channels, -1, dtype=np.int64), np.full(source.channels, np.nan))
    for k, a in enumerate(range(0, source.n, block)):
        raw = absurd_as_missing(source.read(a, a + block))  # missing, as the whole series' repair reads them
        source.release(a + block)
        x = raw
        if repair:
            right = None
            if a + raw.shape[1] < source.n and not np.isfinite(raw[:, -1]).all():  # a gap runs past this block
                if anchors is None:  # the first such gap: one pass over the file finds every block end's anchor
                    scout = source.reopen(block)
                    assert scout is not None
                    anchors = _right_anchors(scout, block)
                right = (anchors[0][k], anchors[1][k])
            x = _fill_gaps(raw, a, left, right)
            finite = np.isfinite(raw)
            seen = finite.any(axis=1)
            last = raw.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1)
            left = (np.where(seen, a + last, left[0]), np.where(seen, raw[np.arange(raw.shape[0]), last], left[1]))
        xn = normalizer.transform(x) if normalizer is not None else x
        xf = as_float32(xn, "the series", normalised=normalizer is not None)
        if lead:
            if head is not None:  # the left mirror x[lead] .. x[1] needs the first lead + 1 samples
                head = np.concatenate([head, xf], axis=1)
                if head.shape[1] <= lead:
                    yield np.empty((0, source.channels, spec["window"]), np.float32), raw
                    continue
                xf, head = np.concatenate([head[:, lead:0:-1], head], axis=1), None
            tail = np.concatenate([tail, xf], axis=1)[:, -(lead + 1):]
        yield np.swapaxes(framer.push(xf), 0, 1), raw
    source.finish()
    end = []
    if head is not None and head.shape[1]:  # the whole series is lead samples or fewer: mirrored as a whole
        end.append(framer.push(reflect_edges(head, lead)))
    elif lead and tail.shape[1]:  # the right mirror x[n - 2] .. x[n - 1 - lead]
        end.append(framer.push(np.ascontiguousarray(tail[:, lead - 1::-1])))
    end.append(framer.flush())
    yield np.swapaxes(np.concatenate(end, axis=1), 0, 1), np.empty((source.channels, 0))


def reconstruct_blocks(loaded: Any, source: SeriesSource, write: Callable[[np.ndarray], None],
                       advance: Callable[[int], None] | None = None, *, block: int = RECONSTRUCT_BLOCK,
                       batch_size: int = 256) -> tuple[float, int]:
    """Reconstruct ``source`` through ``loaded`` into ``write`` (``(channels, m)`` float64 blocks, in order).

    Returns the sum of squared errors over the finite input samples and their count
    (the file's reconstruction RMSE is ``sqrt(sum / count)``). ``advance`` is told the
    samples written after each block.
    """
    from tsae.pipelines.reconstruct.series import edge_pad, finite_frames, frame_spec, run_frames

    spec = frame_spec(loaded)
    skip = edge_pad(spec)  # the output of the left mirror (a tapered model's), not of the series
    normalizer = Normalizer.from_dict(loaded.normalizer) if loaded.normalizer else None
    ola = StreamOverlapAdd(spec["window"], spec["hop"], spec["window_fn"], channels=source.channels)
    behind = np.empty((source.channels, 0))  # input samples the output has not reached yet (about a block)
    total, count, written, framed = 0.0, 0, 0, 0
    for frames, raw in stream_frames(loaded, source, block):
        behind = np.concatenate([behind, raw], axis=1)
        if len(frames):
            recon = finite_frames(run_frames(loaded.model, frames, batch_size=batch_size), loaded, framed)
            framed += len(frames)
            y = ola.push(np.ascontiguousarray(np.swapaxes(recon, 0, 1), dtype=np.float32))
        else:
            y = np.empty((source.channels, 0), np.float32)
        if not raw.shape[1]:  # the end: the overlap-add's tail
            y = np.concatenate([y, ola.flush()], axis=1)
        if skip and y.shape[1]:
            dropped = min(skip, y.shape[1])
            y, skip = y[:, dropped:], skip - dropped
        y = y[:, : source.n - written].astype(np.float64)
        if normalizer is not None and y.shape[1]:
            y = np.asarray(normalizer.inverse_transform(y), dtype=np.float64)
        x, behind = behind[:, : y.shape[1]], behind[:, y.shape[1]:]
        finite = np.isfinite(x)
        total += float(np.sum((y[finite] - x[finite]) ** 2))
        count += int(finite.sum())
        written += y.shape[1]
        write(y)
        if advance is not None:
            advance(y.shape[1])
    return total, count


def encode_blocks(loaded: Any, source: SeriesSource, output: Path, *, protect: tuple[str | os.PathLike, ...] = (),
                  block: int = RECONSTRUCT_BLOCK, batch_size: int = 256,
                  advance: Callable[[int], None] | None = None) -> tuple[int, ...]:
    """Write the latent codes of every frame of ``source`` to the ``.npy`` file ``output``, block by block.

    The file holds what :func:`~tsae.pipelines.reconstruct.series.encode_series` returns
    for the whole series (float32 ``(n_frames, *code_shape)``), written atomically;
    returns its shape. ``advance`` is told the samples read after each block is encoded.
    """
    from tsae.engine.framing import num_frames
    from tsae.pipelines.reconstruct.series import finite_codes, frame_spec, run_frames

    spec = frame_spec(loaded)
    total = num_frames(source.n, spec["window"], spec["hop"], pad=True)
    shape: tuple[int, ...] = (total,)
    with atomic_path(output, protect=protect) as tmp, open(tmp, "wb") as handle:
        writer, done = None, 0
        for frames, raw in stream_frames(loaded, source, block, edges=False):
            if len(frames):
                codes = run_frames(loaded.model, frames, batch_size=batch_size, encode=True).astype(np.float32)
                finite_codes(codes, loaded, done)
                done += len(codes)
                if writer is None:  # the code's shape is the network's: known from its first output
                    shape = (total, *codes.shape[1:])
                    writer = NpyBlockWriter(handle, shape, np.float32, axis=0)
                writer.write(codes)
            if advance is not None and raw.shape[1]:
                advance(raw.shape[1])
    return shape


__all__ = ["RECONSTRUCT_BLOCK", "encode_blocks", "reconstruct_blocks", "stream_frames"]
