"""Binary sensor samples on a byte stream (``tsae monitor --raw``): faster than text lines at high rates.

The stream is a sequence of little-endian sample rows, one value per sensor in the
detector's sensor order, no header and no time (rows are consecutive samples).
NaN (float formats) marks a missing value. Whatever the stream has ready is read at
once (at most ``block_rows`` rows), so the latency is one block and memory is bounded.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from tsae.io.streams import wait_readable

#: ``--format`` names of the binary sample formats -> numpy dtypes
RAW_DTYPES = {"f32": "<f4", "f64": "<f8", "s16": "<i2", "s32": "<i4"}


class RawSampleSource:
    """Rows of ``channels`` binary values from ``stream``, yielded as float64 blocks ``(channels, n)``.

    After the last block, :attr:`stray_bytes` counts the bytes of a row the stream
    cut in the middle (dropped).
    """

    def __init__(self, stream: BinaryIO, channels: int, sample_format: str = "f32", block_rows: int = 4096) -> None:
        if sample_format not in RAW_DTYPES:
            raise ValueError(f"unknown raw sample format {sample_format!r} (one of {', '.join(RAW_DTYPES)})")
        if channels < 1 or block_rows < 1:
            raise ValueError(f"channels and block_rows must be >= 1, got {channels} and {block_rows}")
        self.stream = stream
        self.channels = int(channels)
        self.dtype = np.dtype(RAW_DTYPES[sample_format])
        self.block_rows = int(block_rows)
        self.stray_bytes = 0
        self.rows = 0
        self.closed = False

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the rows as they arrive, float64 ``(channels, n)``; returns at the end of the stream."""
        width = self.dtype.itemsize * self.channels
        read1 = getattr(self.stream, "read1", self.stream.read)
        fd = _descriptor(self.stream)
        carry = b""
        while not self.closed:
            if fd is not None and not wait_readable(fd):
                continue  # nothing yet: see whether SIGTERM closed the source meanwhile
            data = read1(self.block_rows * width - len(carry))
            if not data:
                break
            data = carry + data
            whole = len(data) - len(data) % width
            carry = data[whole:]
            if whole:
                rows = np.frombuffer(data[:whole], self.dtype).reshape(-1, self.channels)
                self.rows += len(rows)
                yield rows.T.astype(np.float64)
        self.stray_bytes = len(carry)

    def close(self) -> None:
        """Stop reading (SIGTERM's handler calls it); the stream belongs to the caller and stays open."""
        self.closed = True


def _descriptor(stream: BinaryIO) -> int | None:
    """The file descriptor under ``stream`` to wait on, or None (a Python-level stream, as in tests).

    ``read1`` returns what a buffered reader holds without waiting; reading only ``read1``'s
    sizes, this reader never leaves bytes in that buffer, so the descriptor tells whether a
    read would wait.
    """
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


__all__ = ["RAW_DTYPES", "RawSampleSource"]
