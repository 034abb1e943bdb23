"""Bytes that would not fit in memory, appended to an unnamed temporary file and read back by where they were put.

The file is in ``TMPDIR`` and removed when closed, or when the process ends. A file system that refuses it (full, not
writable) is a one-line ``ValueError`` naming the input it holds data of, the folder and ``TMPDIR``. Reading never moves
the end that appends write at, so readers of several places may take turns with the writer.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


class SpillFile:
    """An unnamed temporary file holding data of the input ``path``: what it holds and when, for its errors
    (``"hold its values"``, ``"while it is pivoted"``)."""

    def __init__(self, path: Path, *, prefix: str, holds: str, during: str) -> None:
        self.path, self.holds, self.during = path, holds, during
        try:
            self.file = tempfile.TemporaryFile(prefix=prefix)
        except OSError as error:
            raise ValueError(self._told(error)) from None
        self.end = 0

    def _told(self, error: OSError) -> str:
        return (f"{self.path}: cannot {self.holds} in {tempfile.gettempdir()} {self.during} "
                f"({error.strerror or error}); set TMPDIR to a folder with room")

    def append(self, data: bytes) -> int:
        """Write ``data`` at the end; returns its byte offset."""
        offset = self.end
        try:
            self.file.write(data)
        except OSError as error:
            raise ValueError(self._told(error)) from None
        self.end += len(data)
        return offset

    def flush(self) -> None:
        """Hand what was appended to the file system (a full disk is told here, not at a later read)."""
        try:
            self.file.flush()
        except OSError as error:
            raise ValueError(self._told(error)) from None

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes from byte ``offset`` (fewer past the end)."""
        try:
            self.file.flush()
            self.file.seek(offset)
            return self.file.read(size)
        except OSError as error:
            raise ValueError(self._told(error)) from None
        finally:
            self.file.seek(0, os.SEEK_END)

    def close(self) -> None:
        self.file.close()


__all__ = ["SpillFile"]
