"""The Ogg pages of a file (RFC 3533): where a file cut short ends, and a fixed stream serial number.

libsndfile reads an Ogg file that ends inside a page as a shorter file (Opus) or as one with no
samples at all (Vorbis), and writes each file with a random stream serial number (libogg's), so
that the same samples never made the same bytes twice; :func:`cut_short` and :func:`fix_serial`
are the answers, each a walk over the pages.
"""
from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

#: a page header: capture pattern, version, flags, granule position, serial, sequence, checksum, segment count
_HEADER = struct.Struct("<4sBBqIIIB")
_CAPTURE = b"OggS"
#: the flags of the first and of the last page of a logical stream
_BEGIN_OF_STREAM, _END_OF_STREAM = 0x02, 0x04
#: where a page header keeps its serial number and its checksum
_SERIAL_AT, _CHECKSUM_AT = 14, 22
#: the serial number of every Ogg stream tsae writes
SERIAL = 1


@dataclass(frozen=True)
class Page:
    """One Ogg page: where it starts, its flags, its serial, and its size (``whole``: the file holds all of it)."""

    position: int
    flags: int
    serial: int
    size: int
    whole: bool


def pages(f: BinaryIO) -> Iterator[Page]:
    """The pages of the Ogg file ``f`` from its start, up to its end or to the first bytes that are not a page.

    A page the end of the file cuts off comes last, with ``whole`` False.
    """
    end = os.fstat(f.fileno()).st_size
    position = 0
    while position < end:
        f.seek(position)
        head = f.read(_HEADER.size)
        if not _CAPTURE.startswith(head[:4]):
            return  # bytes after the last page (a tag, junk): not tsae's to judge
        if len(head) < _HEADER.size:
            yield Page(position, 0, 0, end - position, False)
            return
        _, _, flags, _, serial, _, _, segments = _HEADER.unpack(head)
        table = f.read(segments)
        size = _HEADER.size + segments + sum(table)
        yield Page(position, flags, serial, size, len(table) == segments and position + size <= end)
        position += size


def walk(path: str | os.PathLike) -> list[Page]:
    """The pages of the file ``path`` (:func:`pages`); none when it cannot be read or is not Ogg."""
    try:
        with open(path, "rb") as f:
            return list(pages(f))
    except OSError:
        return []


def cut_short(walked: list[Page], *, samples: bool) -> str | None:
    """What is missing from an Ogg file whose pages are ``walked`` (:func:`walk`) when it was cut short, else None
    (or when it is not Ogg).

    A file that ends inside a page is cut (libsndfile reads it as a shorter file, a Vorbis one as
    one with no samples at all); so is one that ends on a page boundary before its end-of-stream
    page when it has no ``samples`` (libsndfile found none): it was cut before its first audio page.
    One with samples that ends on a page boundary is read as far as it goes, as a WAV whose header
    gives no length is.
    """
    if not walked:
        return None
    if not walked[-1].whole:
        return f"file ends inside Ogg page {len(walked)} (truncated or corrupt)"
    if not samples and not any(page.flags & _END_OF_STREAM for page in walked):
        return "file ends before its Ogg stream's first audio page (truncated or corrupt)"
    return None


def chained(walked: list[Page]) -> list[tuple[int, int]] | None:
    """The byte ranges ``(start, size)`` of the streams an Ogg file whose pages are ``walked`` (:func:`walk`) holds
    one after the other (files joined with ``cat``, a radio recording), else None (one stream, or not Ogg).

    libsndfile reads the first stream alone, so the rest would be dropped without a word; each range is a
    whole Ogg file that it reads alone. A stream starts at a first page (begin-of-stream flag) that comes after
    the end of the one before (pages of streams side by side, multiplexed, are one range).
    """
    starts = [0]
    ended = False
    for page in walked:
        if ended and page.flags & _BEGIN_OF_STREAM:
            starts.append(page.position)
            ended = False
        ended = ended or bool(page.flags & _END_OF_STREAM)
    if len(starts) < 2:
        return None
    end = walked[-1].position + walked[-1].size
    return [(start, stop - start) for start, stop in zip(starts, [*starts[1:], end], strict=True)]


#: each byte with its bits in reverse order
_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def checksum(page: bytes) -> int:
    """The Ogg checksum of ``page`` (with its checksum field zeroed): CRC-32 with polynomial 0x04C11DB7, most
    significant bit first, initial value 0 and no final XOR.

    That is zlib's CRC-32 (the same polynomial, least significant bit first, initial value and final
    XOR all ones) of the bit-reversed bytes, with the all-ones terms cancelled (the CRC of as many zero
    bytes) and its own bits reversed: a loop in C instead of one in Python over every byte written.
    """
    mirrored = page.translate(_REVERSED)
    crc = zlib.crc32(mirrored) ^ zlib.crc32(bytes(len(page)))
    return int(f"{crc:032b}"[::-1], 2)


def fix_serial(path: str | os.PathLike, serial: int = SERIAL) -> None:
    """Give every page of the single-stream Ogg file ``path`` the serial number ``serial`` (and its checksum anew).

    libogg picks a random serial for each file it writes; with a fixed one, the same samples encoded
    twice are the same bytes. A file with more than one stream (chained or multiplexed) is left as it
    is: its streams need serials of their own.
    """
    with open(path, "r+b") as f:
        walked = list(pages(f))
        if not walked or not all(page.whole for page in walked) or len({page.serial for page in walked}) != 1:
            return
        for page in walked:
            f.seek(page.position)
            data = bytearray(f.read(page.size))
            data[_SERIAL_AT: _SERIAL_AT + 4] = struct.pack("<I", serial)
            data[_CHECKSUM_AT: _CHECKSUM_AT + 4] = bytes(4)
            data[_CHECKSUM_AT: _CHECKSUM_AT + 4] = struct.pack("<I", checksum(bytes(data)))
            f.seek(page.position)
            f.write(data)
