"""Frames too long to hold in memory, written to a ``.npy`` file a block of samples at a time.

Each block of the signal is written, times its part of the window, straight to its place in
every frame it lies in: memory holds one block, never a frame (nor the samples a frame spans),
whatever the frame's length. The file equals :func:`tsae.engine.framing.frame` of the whole
signal (constant centring, zero padding), bit for bit.
"""
from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

import numpy as np

from tsae.io.blocks import NpyBlockWriter

__all__ = ["write_long_frames"]


def write_long_frames(writer: NpyBlockWriter, parts: Iterable[np.ndarray], hop: int, start: int,
                      window: np.ndarray | None, *, block: int) -> int:
    """Write the frames of the signal that ``parts`` hold into ``writer``'s (sized, still empty) file.

    Parameters
    ----------
    writer
        A :class:`~tsae.io.blocks.NpyBlockWriter` of shape ``(..., n_frames, length)`` along the frames'
        axis, to which nothing has been written: its file reads as zeros.
    parts
        The signal's consecutive blocks, ``(..., m)`` with the writer's leading shape.
    hop, start
        Frame ``f`` holds samples ``start + f * hop`` on (``start`` is ``-(length // 2)`` when centred).
    window
        The float32 taper of ``length`` samples, or None.
    block
        Samples at most in one write of the padding (a window's zeros of negative sign).

    Returns
    -------
    int
        The samples per channel ``parts`` held.
    """
    n_frames, length = writer.total, writer.inner

    def put(f: int, j: int, values: np.ndarray) -> None:
        """Samples ``j`` on of frame ``f`` of every channel: ``values`` ``(rows, k)``."""
        for r in range(writer.rows):
            writer.handle.seek(writer.start + 4 * ((r * n_frames + f) * length + j))
            writer.handle.write(np.ascontiguousarray(values[r], dtype=np.float32).data)

    a = 0
    for part in parts:
        values = np.asarray(part, dtype=np.float32).reshape(writer.rows, -1)
        b = a + values.shape[1]
        for f in range(max(0, -(-(a - start - length + 1) // hop)), min(n_frames, -(-(b - start) // hop))):
            s = start + f * hop
            lo, hi = max(a, s), min(b, s + length)
            seg = values[:, lo - a: hi - a]
            put(f, lo - s, seg if window is None else seg * window[lo - s: hi - s])
        a = b
    if window is not None and np.signbit(window).any():
        # the padding is 0 * window as the framing kernel computes it: -0.0 where the window is negative, which the
        # file's zeros are not
        head = min(n_frames, -(start // hop))  # the frames that start before sample 0
        tail = max(head, (a - length - start) // hop + 1)  # frames from the first that ends past the last sample
        for f in chain(range(head), range(tail, n_frames)):
            s = start + f * hop
            for j0, j1 in ((0, min(length, -s)), (max(0, a - s), length)):
                for j in range(j0, j1, block):
                    zeros = np.float32(0.0) * window[j: min(j1, j + block)]
                    if np.signbit(zeros).any():
                        put(f, j, np.broadcast_to(zeros, (writer.rows, zeros.size)))
    return a
