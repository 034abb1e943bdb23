"""Compressed records told by their magic bytes: a gzip (bzip2, xz) MQTT payload, or stdin piped a ``.gz`` file.

A stream is told compressed by its first bytes, as a table file is (:func:`tsae.io.text_files._starts_as`), never by
a name. :func:`inflate_payload` decompresses one message, at most ``limit`` bytes of it (a small payload that
inflates to gigabytes is refused, not read); :class:`Inflater` decompresses a stream a chunk at a time, in pieces of
bounded size, several concatenated members (``cat a.gz b.gz``) included. Data that does not decompress raises
:class:`CorruptData`, a ValueError saying what is wrong: the caller warns and goes on (a payload) or stops reading
(a stream, whose rest cannot be found again).
"""
from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from tsae.io.text_files import _COMPRESSION_NAMES, _starts_as

#: bytes of a stream's start that tell whether it is compressed (a bzip2 block's magic ends at the tenth)
MAGIC_BYTES = 10


class CorruptData(ValueError):
    """Compressed data that does not decompress, or decompresses beyond the limit."""


def compression(head: bytes) -> str | None:
    """The compression ``head`` (a payload's or a stream's first bytes) starts as: ``"gzip"``, ``"bzip2"``, ``"xz"``,
    or None.

    Examples
    --------
    >>> import gzip
    >>> compression(gzip.compress(b"a=1")), compression(b"pump flow=1")
    ('gzip', None)
    """
    found = _starts_as(head[:MAGIC_BYTES])
    return None if found is None else _COMPRESSION_NAMES[found]


def _decompressor(kind: str) -> Any:
    if kind == "gzip":
        return zlib.decompressobj(wbits=31)
    return bz2.BZ2Decompressor() if kind == "bzip2" else lzma.LZMADecompressor()


def _step(engine: Any, data: bytes, most: int) -> tuple[bytes, bytes, bool]:
    """One call of a decompressor: its output (at most ``most`` bytes), the input it left for later, and whether it
    holds more output for an empty call (bz2 and lzma keep the input they left)."""
    out = engine.decompress(data, most)
    if isinstance(engine, (bz2.BZ2Decompressor, lzma.LZMADecompressor)):
        return out, b"", not engine.eof and not engine.needs_input
    return out, engine.unconsumed_tail, False


class Inflater:
    """Decompress a stream of ``kind`` (``"gzip"``, ``"bzip2"``, ``"xz"``) a chunk at a time.

    Parameters
    ----------
    kind
        The compression, as :func:`compression` tells it.
    piece
        The most bytes :meth:`feed` gives at once (a chunk that inflates a thousandfold stays bounded in memory).
    """

    def __init__(self, kind: str, piece: int = 1 << 16) -> None:
        self.kind = kind
        self.piece = max(1, int(piece))
        self.consumed = 0  # compressed bytes fed
        self._engine = _decompressor(kind)
        self._inside = False  # whether the current member has begun and not ended

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """The decompressed bytes of ``chunk``, in pieces of at most ``piece`` bytes; :class:`CorruptData` when it
        does not decompress. A member after the end of one (``cat a.gz b.gz``) is read on; NUL padding after the
        last is ignored, as gzip ignores it."""
        data = bytes(chunk)
        while data:
            self._inside = True
            more = True
            while more or data:
                try:
                    out, data, more = _step(self._engine, data, self.piece)
                except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
                    where = f" after about {self.consumed} byte(s)" if self.consumed else ""
                    raise CorruptData(f"{self.kind} data does not decompress{where} ({exc})") from None
                if out:
                    yield out
                if self._engine.eof:
                    break
            if not self._engine.eof:
                self.consumed += len(chunk)
                return
            rest = self._engine.unused_data  # (zlib leaves it in unconsumed_tail too)
            self.consumed += len(chunk) - len(rest)
            self._engine, self._inside = _decompressor(self.kind), False
            data = chunk = rest if rest.strip(b"\0") else b""

    def finish(self) -> None:
        """The end of the stream: :class:`CorruptData` when it ended inside a member (a truncated file)."""
        if self._inside:
            raise CorruptData(f"{self.kind} data cut short after {self.consumed} byte(s) (truncated)")


def inflate_payload(payload: bytes, limit: int) -> bytes | None:
    """A payload decompressed when it starts as gzip, bzip2 or xz data, else None (plain text).

    Raises :class:`CorruptData` when it does not decompress, ends inside its data, or inflates beyond ``limit`` bytes.

    Examples
    --------
    >>> import gzip
    >>> inflate_payload(gzip.compress(b"pump flow=1 1"), 1000), inflate_payload(b"pump flow=1 1", 1000)
    (b'pump flow=1 1', None)
    """
    kind = compression(payload)
    if kind is None:
        return None
    inflater = Inflater(kind, piece=1 << 16)
    out = bytearray()
    try:
        for piece in inflater.feed(payload):
            out += piece
            if len(out) > limit:
                raise CorruptData(f"it inflates beyond {limit} bytes")
        inflater.finish()
    except CorruptData as exc:
        raise CorruptData(f"a {kind} payload of {len(payload)} byte(s) is unreadable: {exc}") from None
    return bytes(out)


def inflated_chunks(chunks: Iterable[bytes], piece: int = 1 << 16) -> Iterator[bytes]:
    """``chunks`` (a stream's bytes) as they are, or decompressed when the stream starts as compressed data
    (:class:`CorruptData` when it stops decompressing, or ends inside a member)."""
    head = b""
    source = iter(chunks)
    for chunk in source:
        head += chunk
        if len(head) >= MAGIC_BYTES or b"\n" in head or b"\r" in head:
            break
    kind = compression(head) if head else None
    if kind is None:
        if head:
            yield head
        yield from source
        return
    inflater = Inflater(kind, piece)
    yield from inflater.feed(head)
    for chunk in source:
        yield from inflater.feed(chunk)
    inflater.finish()


__all__ = ["MAGIC_BYTES", "CorruptData", "Inflater", "compression", "inflate_payload", "inflated_chunks"]
