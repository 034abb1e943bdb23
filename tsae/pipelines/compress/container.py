"""The ``.tsz`` container: magic, version, JSON header, checksummed blocks, JSON trailer.

Layout (all integers little-endian; see ``docs/tsz.md``)::

    file     MAGIC (8 bytes)  version u16  header_coder u8  header_len u32  header  crc32(header) u32
             block*  end
    block    payload_len u32 (> 0)  payload  crc32(payload) u32
    payload  samples u32  latent_step f64  check u32  n_sections u8  section*
    section  name_len u8  name (ASCII)  ndim u8  dims u32*ndim  width u8  coder u8  nbytes u32  data
    end      0 u32  trailer_len u32  trailer (JSON)  crc32(trailer) u32

The header is JSON coded with whichever of raw, zlib and LZMA2 is smallest (its CRC is of
the stored bytes); version 1 containers, whose header is plain JSON with no coder byte,
are read too. A section is one signed integer array coded by
:mod:`tsae.pipelines.compress.entropy` (raw when coding would not make it smaller).
Reading checks every length and checksum before using the bytes, so a corrupt or
truncated file is one ``ValueError`` naming the file and the place.
"""
from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from tsae.pipelines.compress.entropy import (
    CODERS,
    STDLIB_CODERS,
    decode_bytes,
    pack_ints,
    smallest_coding,
    unpack_ints,
)

MAGIC = b"\x89TSZ\r\n\x1a\n"
#: the format version written; 1 (a plain JSON header) is read too
VERSION = 2
_READ_VERSIONS = (1, 2)
#: refuse JSON parts and blocks larger than this before allocating them (a corrupt length)
MAX_PART_BYTES = 1 << 31
#: the most bytes a coded header may inflate to (a small hostile file costs no more memory than a valid one)
MAX_HEADER_BYTES = 1 << 24
_RAW = CODERS.index("raw")
_BLOCK_HEAD = struct.Struct("<IdIB")


@dataclass
class Block:
    """One block of a series: its sample count, latent step, check value and named integer arrays."""

    samples: int
    latent_step: float = 0.0
    check: int = 0
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class BlockLimits:
    """What a block may hold under a valid header, checked before its sections are inflated.

    ``samples``: the most samples per block (the header's ``block_samples``); ``values``:
    the most integers in one section (a corrupt or hostile file that claims more is refused
    before it costs memory).
    """

    samples: int
    values: int


def _json_text(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _part(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data + struct.pack("<I", zlib.crc32(data))


def write_header(handle: IO[bytes], header: dict[str, Any]) -> None:
    """Write the magic, the format version and the JSON ``header`` (coded when that makes it smaller)."""
    coder, data = smallest_coding(_json_text(header), STDLIB_CODERS)
    handle.write(MAGIC + struct.pack("<HB", VERSION, coder) + _part(data))


def encode_block(block: Block, coder: int) -> bytes:
    """The payload bytes of ``block``, every array coded with ``coder`` (an id from ``entropy.coder_id``)."""
    parts = [_BLOCK_HEAD.pack(block.samples, block.latent_step, block.check, len(block.arrays))]
    for name, values in block.arrays.items():
        used = coder
        width, data = pack_ints(values, coder)
        if coder != _RAW and len(data) >= values.size << width:  # a few values: the coder's frame outweighs them
            used = _RAW
            width, data = pack_ints(values, _RAW)
        key = name.encode("ascii")
        parts.append(struct.pack("<B", len(key)) + key + struct.pack("<B", values.ndim)
                     + struct.pack(f"<{values.ndim}I", *values.shape) + struct.pack("<BBI", width, used, len(data)))
        parts.append(data)
    return b"".join(parts)


def write_block(handle: IO[bytes], block: Block, coder: int) -> int:
    """Append ``block``; returns the bytes written."""
    payload = encode_block(block, coder)
    handle.write(struct.pack("<I", len(payload)) + payload + struct.pack("<I", zlib.crc32(payload)))
    return len(payload) + 8


def write_trailer(handle: IO[bytes], trailer: dict[str, Any]) -> None:
    """Close the block list and write the JSON ``trailer`` (totals and achieved errors)."""
    handle.write(struct.pack("<I", 0) + _part(_json_text(trailer)))


class _Cursor:
    """Reads exact byte counts from a stream; a short read is a truncation error naming the file."""

    def __init__(self, handle: IO[bytes], name: str) -> None:
        self.handle = handle
        self.name = name

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.name}: {problem}")

    def read(self, size: int, what: str) -> bytes:
        data = self.handle.read(size)
        if len(data) != size:
            raise self.fail(f"truncated .tsz container (ends inside the {what})")
        return data

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt), what))

    def checked(self, size: int, what: str) -> bytes:
        if size > MAX_PART_BYTES:
            raise self.fail(f"corrupt .tsz container ({what} claims {size} bytes)")
        data = self.read(size, what)
        (crc,) = self.unpack("<I", what)
        if zlib.crc32(data) != crc:
            raise self.fail(f"corrupt .tsz container (checksum of the {what} does not match)")
        return data

    def json(self, what: str, coded: bool = False) -> dict[str, Any]:
        """A JSON object part; ``coded``: preceded by its coder's id (a version 2 header)."""
        coder = self.unpack("<B", what)[0] if coded else _RAW
        (size,) = self.unpack("<I", what)
        text = self.checked(size, what)
        if coder not in STDLIB_CODERS:
            raise self.fail(f"corrupt .tsz container ({what} coded with unknown coder {coder})")
        if coder != _RAW:
            try:
                text = decode_bytes(text, coder, MAX_HEADER_BYTES + 1)
            except ValueError as error:
                raise self.fail(f"corrupt .tsz container ({what}: {error})") from None
            if len(text) > MAX_HEADER_BYTES:
                raise self.fail(f"corrupt .tsz container ({what} inflates to more than {MAX_HEADER_BYTES} bytes)")
        try:
            value = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise self.fail(f"corrupt .tsz container ({what} is not JSON)") from None
        if not isinstance(value, dict):
            raise self.fail(f"corrupt .tsz container ({what} is not a JSON object)")
        return value


def _block_samples(payload: bytes | memoryview, limits: BlockLimits | None, fail: Any) -> int:
    if len(payload) < _BLOCK_HEAD.size:
        raise fail("corrupt .tsz block (shorter than its head)")
    samples = int(_BLOCK_HEAD.unpack_from(payload, 0)[0])
    if limits is not None and not 0 < samples <= limits.samples:
        raise fail(f"corrupt .tsz block (it claims {samples} samples; a block holds 1 to {limits.samples})")
    return samples


def _decode_payload(payload: bytes, fail: Any, limits: BlockLimits | None = None) -> Block:
    view = memoryview(payload)
    samples = _block_samples(view, limits, fail)
    try:
        _, step, check, count = _BLOCK_HEAD.unpack_from(view, 0)
        offset = _BLOCK_HEAD.size
        arrays: dict[str, np.ndarray] = {}
        for _ in range(count):
            (size,) = struct.unpack_from("<B", view, offset)
            name = bytes(view[offset + 1:offset + 1 + size]).decode("ascii")
            offset += 1 + size
            (ndim,) = struct.unpack_from("<B", view, offset)
            shape = struct.unpack_from(f"<{ndim}I", view, offset + 1)
            offset += 1 + 4 * ndim
            width, coder, nbytes = struct.unpack_from("<BBI", view, offset)
            offset += 6
            if offset + nbytes > len(view):
                raise ValueError("a section runs past the block")
            data = bytes(view[offset:offset + nbytes])
            offset += nbytes
            values = math.prod(shape)
            if limits is not None and values > limits.values:
                raise ValueError(f"section {name!r} claims {values} values; at most {limits.values} fit a block")
            arrays[name] = unpack_ints(data, width, values, coder).reshape(shape)
    except (struct.error, UnicodeDecodeError, ValueError) as error:
        raise fail(f"corrupt .tsz block ({str(error).splitlines()[0] if str(error) else 'bad layout'})") from None
    return Block(samples=samples, latent_step=step, check=check, arrays=arrays)


class Reader:
    """Read a ``.tsz`` stream: :attr:`header` (and :attr:`version`, the format's) at once, then :meth:`blocks` one at
    a time, then :attr:`trailer`.

    Parameters
    ----------
    handle
        A binary stream positioned at the start of the container.
    name
        What error messages call the stream (the file name).
    """

    def __init__(self, handle: IO[bytes], name: str) -> None:
        self._cursor = _Cursor(handle, name)
        magic = handle.read(len(MAGIC))
        if magic != MAGIC:
            raise self._cursor.fail("not a .tsz container (bad magic bytes)")
        (version,) = self._cursor.unpack("<H", "version")
        if version not in _READ_VERSIONS:
            newer = "; a newer tsae wrote it?" if version > VERSION else ""
            raise self._cursor.fail(f".tsz format version {version} is not supported (this tsae reads versions "
                                    f"{_READ_VERSIONS[0]} to {_READ_VERSIONS[-1]}{newer})")
        self.version = version
        self.header = self._cursor.json("header", coded=version >= 2)
        self.trailer: dict[str, Any] | None = None

    def fail(self, problem: str) -> ValueError:
        """A ``ValueError`` naming the stream."""
        return self._cursor.fail(problem)

    def blocks(self, limits: BlockLimits | None = None) -> Iterator[Block]:
        """Yield the blocks in order (each within ``limits``); reads the trailer after the last one."""
        for payload in self._payloads():
            yield _decode_payload(payload, self._cursor.fail, limits)

    def samples(self, limits: BlockLimits | None = None) -> int:
        """Read the blocks (checking their checksums and ``limits``, not decoding them) and the trailer;
        the samples they hold."""
        return sum(_block_samples(payload, limits, self._cursor.fail) for payload in self._payloads())

    def _payloads(self) -> Iterator[bytes]:
        index = 0
        while True:
            (size,) = self._cursor.unpack("<I", f"length of block {index}")
            if size == 0:
                self.trailer = self._cursor.json("trailer")
                return
            yield self._cursor.checked(size, f"block {index}")
            index += 1


__all__ = ["Block", "BlockLimits", "Reader", "MAGIC", "VERSION", "MAX_HEADER_BYTES", "write_header", "write_block",
           "write_trailer", "encode_block"]
