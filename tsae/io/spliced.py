"""A file made of pieces for libsndfile: some bytes of its own, then byte ranges of a file on disk (no copy).

Three readers give libsndfile a stream in place of a file it reads wrong: each file joined into an MP3
(:mod:`tsae.io.mp3`: a Xing frame that counts its frames, then its frames), each stream of a chained Ogg
file (its pages), and a WAV whose header gives no length (the header put right, then the samples).
"""
from __future__ import annotations

import bisect
import io
from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    """A stream for libsndfile: ``prefix`` (bytes of its own: a Xing/Info frame, a header) then the byte ranges
    ``runs`` (``(offset, size)``) of the file."""

    prefix: bytes
    runs: tuple[tuple[int, int], ...]

    @property
    def size(self) -> int:
        return len(self.prefix) + sum(size for _, size in self.runs)


class Spliced(io.RawIOBase):
    """A :class:`Part` as a read-only file: its prefix, then its byte ranges of the open file ``f``."""

    def __init__(self, f: io.BufferedIOBase, part: Part) -> None:
        super().__init__()
        self._f, self._prefix = f, part.prefix
        self._pieces = [(-1, len(part.prefix))] + list(part.runs)  # (file offset or -1 for the prefix, size)
        self._starts = []
        position = 0
        for _, size in self._pieces:
            self._starts.append(position)
            position += size
        self._size, self._position = position, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(base + offset, 0)
        return self._position

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._position < self._size:
            i = bisect.bisect_right(self._starts, self._position) - 1
            source, size = self._pieces[i]
            into = self._position - self._starts[i]
            n = min(size - into, len(view) - done)
            if source < 0:
                view[done: done + n] = self._prefix[into: into + n]
            else:
                self._f.seek(source + into)
                n = self._f.readinto(view[done: done + n]) or 0
                if not n:
                    break
            done += n
            self._position += n
        return done


__all__ = ["Part", "Spliced"]
