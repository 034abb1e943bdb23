"""The ``.tsz`` container: magic, version, header, checksummed blocks, trailer.

Layout of format version 3 (integers little-endian, ``varint`` an unsigned LEB128; see ``docs/tsz.md``)::

    file     MAGIC (8 bytes)  version u16  header_len varint  header  crc32(header) u32  block*  end
    block    payload_len varint (> 0)  payload  crc32(payload) u32
    payload  samples varint  flags u8  [latent_step f64]  [check u32]  n_sections u8  section*
    section  tag u8  [name_len u8  name]  form u8  dims varint*ndim  nbytes varint  data
    end      0 (one byte)  trailer_len varint  trailer  crc32(trailer) u32

The header and trailer are JSON objects whose well-known entries are binary fields
(:mod:`tsae.pipelines.compress.compact`); ``flags`` say whether the latent step (bit 0)
and the check value (bit 1) are stored (else 0); a section's ``tag`` names it (0: the
name follows), ``form`` packs its ``ndim`` (bits 0-2), integer width (bits 3-4) and
coder (bits 5-7). A section is one signed integer array coded by
:mod:`tsae.pipelines.compress.entropy` (raw when coding would not make it smaller).
Version 4 is version 3 written without a model (the header's ``codes`` is ``"none"``, no model reference): its
own number so that a tsae from before it names it a newer container instead of looking for a model file.
Versions 1 (a plain JSON header) and 2 (a coded JSON header), with 32-bit lengths, a
fixed block head, named sections and a JSON trailer, are read too.
Reading checks every length and checksum before using the bytes, and that nothing follows the
trailer, so a corrupt, truncated or extended file is one ``ValueError`` naming the file and the place.
"""
from __future__ import annotations

import io
import json
import math
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from tsae.io.reading import FIRST_READ, read_up_to
from tsae.pipelines.compress.compact import (
    HEADER_FIELDS,
    TRAILER_FIELDS,
    decode_fields,
    encode_fields,
    read_varint,
    varint,
)
from tsae.pipelines.compress.entropy import (
    CODERS,
    STDLIB_CODERS,
    decode_bytes,
    pack_ints,
    unpack_ints,
)

MAGIC = b"\x89TSZ\r\n\x1a\n"
#: the format version written with a model; 1 (a plain JSON header) and 2 (a coded JSON header) are read too
VERSION = 3
#: the format version written without a model (version 3's layout; readers before it refuse it as newer)
NO_MODEL_VERSION = 4
#: the format version of a container that stores a table's unevenly spaced time column (with a model or without):
#: version 3's layout with the time part after the header; written only then, so that others stay readable by a
#: tsae that reads up to version 4
TIME_VERSION = 5
_READ_VERSIONS = (1, 2, 3, 4, 5)
#: refuse parts and blocks larger than this before allocating them (a corrupt length)
MAX_PART_BYTES = 1 << 31
#: the most bytes a coded header may inflate to (a small hostile file costs no more memory than a valid one)
MAX_HEADER_BYTES = 1 << 24
_RAW = CODERS.index("raw")
#: the block head of versions 1 and 2: samples, latent step, check, section count
_BLOCK_HEAD_V2 = struct.Struct("<IdIB")
#: section names by their version 3 tag (tag 0: the name is stored)
SECTION_TAGS = ("codes", "residual", "predictor", "coefficients", "nonfinite", "special", "whole", "taps", "time")
_HAS_STEP, _HAS_CHECK = 1, 2
_MAX_NDIM = 7

Fail = Callable[[str], ValueError]
#: codes an integer array: ``(width code, bytes)`` (:func:`~.entropy.pack_ints`)
Pack = Callable[[np.ndarray, int], tuple[int, bytes]]


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


def _part(data: bytes) -> bytes:
    return varint(len(data)) + data + struct.pack("<I", zlib.crc32(data))


def write_header(handle: IO[bytes], header: dict[str, Any], version: int = VERSION, time_part: bytes | None = None
                 ) -> None:
    """Write the magic, the format ``version`` (:data:`VERSION`, or :data:`NO_MODEL_VERSION`) and ``header`` (a JSON
    object; see :mod:`.compact`); with ``time_part`` (:func:`encode_time_part`), version :data:`TIME_VERSION` and
    that part after the header."""
    if version not in (VERSION, NO_MODEL_VERSION, TIME_VERSION):
        raise ValueError(f"format version {version} is not one this tsae writes")
    if (time_part is not None) != (version == TIME_VERSION):
        raise ValueError(f"format version {TIME_VERSION}, and only it, stores a time part")
    handle.write(MAGIC + struct.pack("<H", version) + _part(encode_fields(header, HEADER_FIELDS))
                 + (b"" if time_part is None else _part(time_part)))


def encode_time_part(ticks: np.ndarray, coder: int) -> bytes:
    """The time part of ``ticks`` (int64, one a sample; :func:`time_coding`), coded with ``coder``: a block payload
    (no step, no check) of one section, ``time``. Of the first and second differences, the one coded smaller."""
    parts = [encode_block(Block(samples=len(coded), latent_step=0.0, check=0, arrays={"time": coded}), coder)
             for coded in (time_coding(ticks, 1), time_coding(ticks, 2))]
    return min(parts, key=len)


def time_coding(ticks: np.ndarray, order: int) -> np.ndarray:
    """``[order, t0, unit, d1, d2 ...]``: the differences of int64 ``ticks`` in units of their greatest common divisor
    (``unit``; nanosecond dates a second apart: 10**9), with ``order`` 2 their differences again (times that advance
    in nearly even steps: mostly zeros). Arithmetic wraps mod 2**64; :func:`time_decoding` inverts it."""
    ticks = np.asarray(ticks, dtype=np.int64)
    steps = np.diff(ticks)
    unit = int(np.gcd.reduce(steps)) if len(steps) and not (steps == np.iinfo(np.int64).min).any() else 0
    if unit > 0:
        steps = steps // unit
    else:
        unit = 1
    if order == 2 and len(steps) > 1:
        steps = np.concatenate([steps[:1], np.diff(steps)])
    return np.concatenate([np.array([order, ticks[0] if len(ticks) else 0, unit], dtype=np.int64), steps])


def time_decoding(coded: np.ndarray, samples: int) -> np.ndarray:
    """The ``samples`` ticks :func:`time_coding` coded; ``ValueError`` on an array it does not write."""
    if coded.ndim != 1 or len(coded) != samples + 2 or samples < 1:
        raise ValueError(f"it does not hold one time for each of the {samples} samples")
    order, start, unit = (int(v) for v in coded[:3])
    if order not in (1, 2) or unit < 1:
        raise ValueError(f"order {order}, unit {unit}")
    steps = coded[3:]
    if order == 2:
        steps = np.cumsum(steps)
    ticks = np.empty(samples, dtype=np.int64)
    ticks[0] = start
    ticks[1:] = np.int64(start) + np.cumsum(steps * np.int64(unit))
    return ticks


def _section_key(name: str) -> bytes:
    if name in SECTION_TAGS:
        return bytes([SECTION_TAGS.index(name) + 1])
    key = name.encode("ascii")
    return b"\0" + struct.pack("<B", len(key)) + key


#: raw bytes that no coder makes smaller (its framing alone is longer: zlib's at least 7 bytes, zstd's 9, LZMA2's
#: n + 4 or 12), so a section this small is stored raw without running the coder
_NEVER_CODED_BYTES = 6


def _encode_section(name: str, values: np.ndarray, coder: int, pack: Pack = pack_ints) -> bytes:
    if values.ndim > _MAX_NDIM:
        raise ValueError(f"section {name!r} has {values.ndim} dimensions; a container holds at most {_MAX_NDIM}")
    used = coder
    tiny = values.size <= _NEVER_CODED_BYTES and len(pack_ints(values, _RAW)[1]) <= _NEVER_CODED_BYTES
    if coder == _RAW or tiny:
        used = _RAW
        width, data = pack_ints(values, _RAW)
    else:
        width, data = pack(values, coder)
        if len(data) >= values.size << width:  # a few values: the coder's frame outweighs them
            used = _RAW
            width, data = pack_ints(values, _RAW)
    form = values.ndim | width << 3 | used << 5
    dims = b"".join(varint(n) for n in values.shape)
    return _section_key(name) + bytes([form]) + dims + varint(len(data)) + data


def section_size(name: str, values: np.ndarray, coder: int, pack: Pack = pack_ints) -> int:
    """The bytes the section ``name`` holding ``values`` takes in a block coded with ``coder`` (framing included);
    ``pack``: :func:`~.entropy.pack_ints`, or a :class:`~.entropy.Packed` that remembers what it coded."""
    return len(_encode_section(name, values, coder, pack))


def encode_block(block: Block, coder: int, pack: Pack = pack_ints) -> bytes:
    """The payload bytes of ``block``, every array coded with ``coder`` (an id from ``entropy.coder_id``; ``pack``:
    see :func:`section_size`)."""
    step = struct.pack("<d", block.latent_step)
    flags = (_HAS_STEP if step != bytes(8) else 0) | (_HAS_CHECK if block.check else 0)
    head = (varint(block.samples) + bytes([flags]) + (step if flags & _HAS_STEP else b"")
            + (struct.pack("<I", block.check) if flags & _HAS_CHECK else b"") + struct.pack("<B", len(block.arrays)))
    return head + b"".join(_encode_section(name, values, coder, pack) for name, values in block.arrays.items())


def write_block(handle: IO[bytes], block: Block, coder: int) -> int:
    """Append ``block``; returns the bytes written."""
    return write_payload(handle, encode_block(block, coder))


def write_payload(handle: IO[bytes], payload: bytes) -> int:
    """Append a block whose payload :func:`encode_block` gave; returns the bytes written."""
    part = _part(payload)
    handle.write(part)
    return len(part)


def write_trailer(handle: IO[bytes], trailer: dict[str, Any]) -> None:
    """Close the block list and write the ``trailer`` (a JSON object: totals)."""
    handle.write(varint(0) + _part(encode_fields(trailer, TRAILER_FIELDS)))


class _Cursor:
    """Reads exact byte counts from a stream; a short read is a truncation error naming the file."""

    def __init__(self, handle: IO[bytes], name: str) -> None:
        self.handle = handle
        self.name = name

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.name}: {problem}")

    def read(self, size: int, what: str) -> bytes:
        data = self.handle.read(size) if size <= FIRST_READ else self._read_long(size)
        if len(data) != size:
            raise self.fail(f"truncated .tsz container (ends inside the {what})")
        return data

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt), what))

    def varint(self, what: str) -> int:
        data = b""
        while not data or data[-1] & 0x80:
            if len(data) == 10:
                raise self.fail(f"corrupt .tsz container ({what} is longer than 64 bits)")
            data += self.read(1, what)
        try:
            return read_varint(data, 0)[0]
        except ValueError as error:
            raise self.fail(f"corrupt .tsz container ({what}: {error})") from None

    def _read_long(self, size: int) -> bytes:
        """At most ``size`` bytes, in a buffer no larger than what the stream holds: a read's buffer is the size
        asked for, so a corrupt length of 2 GiB in a small file cost 2 GiB before the file was found short."""
        left = self._left()
        if left is not None:
            return self.handle.read(min(size, left))
        return read_up_to(self.handle, size)  # a stream that cannot seek: parts that double, at most twice it held

    def _left(self) -> int | None:
        """The bytes after the current position of a stream that can seek; None for one that cannot."""
        handle = self.handle
        try:
            if handle.seekable():
                here = handle.tell()
                end = handle.seek(0, io.SEEK_END)
                handle.seek(here)
                return max(end - here, 0)
        except (AttributeError, OSError):  # a stream that only reads
            pass
        return None

    def rest(self) -> int:
        """The bytes left in the stream after the current position (read to its end when it cannot seek)."""
        left = self._left()
        if left is not None:
            return left
        return sum(len(chunk) for chunk in iter(lambda: self.handle.read(FIRST_READ), b""))

    def length(self, version: int, what: str) -> int:
        """A part's length: u32 before version 3, a varint since."""
        return self.varint(what) if version >= 3 else self.unpack("<I", what)[0]

    def checked(self, size: int, what: str) -> bytes:
        if size > MAX_PART_BYTES:
            raise self.fail(f"corrupt .tsz container ({what} claims {size} bytes)")
        data = self.read(size, what)
        (crc,) = self.unpack("<I", what)
        if zlib.crc32(data) != crc:
            raise self.fail(f"corrupt .tsz container (checksum of the {what} does not match)")
        return data

    def fields(self, fields: Any, what: str) -> dict[str, Any]:
        """A version 3 header or trailer (:func:`.compact.decode_fields`)."""
        body = self.checked(self.varint(what), what)
        try:
            return decode_fields(body, fields, MAX_HEADER_BYTES)
        except ValueError as error:
            raise self.fail(f"corrupt .tsz container ({what} {error})") from None

    def json(self, what: str, coded: bool = False) -> dict[str, Any]:
        """A JSON object part of version 1 or 2; ``coded``: preceded by its coder's id (a version 2 header)."""
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


@dataclass
class _Head:
    """A block's head, and where its sections start."""

    samples: int
    step: float = 0.0
    check: int = 0
    count: int = 0
    offset: int = 0


def _head_v2(view: memoryview) -> _Head:
    if len(view) < _BLOCK_HEAD_V2.size:
        raise ValueError("shorter than its head")
    samples, step, check, count = _BLOCK_HEAD_V2.unpack_from(view, 0)
    return _Head(samples, step, check, count, _BLOCK_HEAD_V2.size)


def _head_v3(view: memoryview) -> _Head:
    samples, offset = read_varint(view, 0)
    head = _Head(samples)
    if offset >= len(view):
        raise ValueError("shorter than its head")
    flags = view[offset]
    if flags & ~(_HAS_STEP | _HAS_CHECK):
        raise ValueError(f"unknown flags {flags}")
    offset += 1
    if flags & _HAS_STEP:
        (head.step,) = struct.unpack_from("<d", view, offset)
        offset += 8
    if flags & _HAS_CHECK:
        (head.check,) = struct.unpack_from("<I", view, offset)
        offset += 4
    (head.count,) = struct.unpack_from("<B", view, offset)
    head.offset = offset + 1
    return head


def _stored_name(view: memoryview, offset: int) -> tuple[str, int]:
    """(name, offset after it) of a section name stored as its length (u8) and ASCII bytes."""
    (size,) = struct.unpack_from("<B", view, offset)
    return bytes(view[offset + 1:offset + 1 + size]).decode("ascii"), offset + 1 + size


def _section_v2(view: memoryview, offset: int) -> tuple[str, tuple[int, ...], int, int, int, int]:
    """(name, shape, width, coder, nbytes, offset of the data) of a version 1 or 2 section at ``offset``."""
    name, offset = _stored_name(view, offset)
    (ndim,) = struct.unpack_from("<B", view, offset)
    shape = struct.unpack_from(f"<{ndim}I", view, offset + 1)
    offset += 1 + 4 * ndim
    width, coder, nbytes = struct.unpack_from("<BBI", view, offset)
    return name, shape, width, coder, nbytes, offset + 6


def _section_v3(view: memoryview, offset: int) -> tuple[str, tuple[int, ...], int, int, int, int]:
    """As :func:`_section_v2`, for a version 3 section."""
    (tag,) = struct.unpack_from("<B", view, offset)
    offset += 1
    if tag == 0:
        name, offset = _stored_name(view, offset)
    elif tag <= len(SECTION_TAGS):
        name = SECTION_TAGS[tag - 1]
    else:
        raise ValueError(f"unknown section tag {tag}")
    (form,) = struct.unpack_from("<B", view, offset)
    offset += 1
    shape = []
    for _ in range(form & _MAX_NDIM):
        n, offset = read_varint(view, offset)
        shape.append(n)
    nbytes, offset = read_varint(view, offset)
    return name, tuple(shape), form >> 3 & 3, form >> 5, nbytes, offset


def _block_head(payload: bytes | memoryview, version: int, limits: BlockLimits | None, fail: Fail) -> _Head:
    try:
        head = _head_v3(memoryview(payload)) if version >= 3 else _head_v2(memoryview(payload))
    except struct.error:  # its own words name offsets and buffer sizes
        raise fail("corrupt .tsz block (shorter than its head)") from None
    except ValueError as error:
        raise fail(f"corrupt .tsz block ({str(error) or 'bad layout'})") from None
    if limits is not None and not 0 < head.samples <= limits.samples:
        raise fail(f"corrupt .tsz block (it claims {head.samples} samples; a block holds 1 to {limits.samples})")
    return head


def _decode_payload(payload: bytes, version: int, fail: Fail, limits: BlockLimits | None = None) -> Block:
    view = memoryview(payload)
    head = _block_head(view, version, limits, fail)
    section = _section_v3 if version >= 3 else _section_v2
    try:
        offset = head.offset
        arrays: dict[str, np.ndarray] = {}
        for _ in range(head.count):
            name, shape, width, coder, nbytes, offset = section(view, offset)
            if offset + nbytes > len(view):
                raise ValueError("a section runs past the block")
            data = bytes(view[offset:offset + nbytes])
            offset += nbytes
            values = math.prod(shape)
            if limits is not None and values > limits.values:
                raise ValueError(f"section {name!r} claims {values} values; at most {limits.values} fit a block")
            arrays[name] = unpack_ints(data, width, values, coder, shape).reshape(shape)
    except struct.error:  # its own words name offsets and buffer sizes
        raise fail("corrupt .tsz block (its sections run past its end)") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise fail(f"corrupt .tsz block ({str(error).splitlines()[0] if str(error) else 'bad layout'})") from None
    return Block(samples=head.samples, latent_step=head.step, check=head.check, arrays=arrays)


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
            newer = "; a newer tsae wrote it?" if version > _READ_VERSIONS[-1] else ""
            raise self._cursor.fail(f".tsz format version {version} is not supported (this tsae reads versions "
                                    f"{_READ_VERSIONS[0]} to {_READ_VERSIONS[-1]}{newer})")
        self.version = version
        if version >= 3:
            self.header = self._cursor.fields(HEADER_FIELDS, "header")
        else:
            self.header = self._cursor.json("header", coded=version >= 2)
        #: the coded time part (format version 5): :meth:`time_ticks` decodes it
        self.time_part = self._cursor.checked(self._cursor.varint("time part"), "time part") \
            if version == TIME_VERSION else None
        self.trailer: dict[str, Any] | None = None

    def time_ticks(self, samples: int) -> np.ndarray | None:
        """The int64 ticks of the time part (None without one), which must be one a sample of the ``samples`` the
        blocks hold (counted first): else ``ValueError`` naming the container."""
        if self.time_part is None:
            return None
        size = samples + 2
        block = _decode_payload(self.time_part, TIME_VERSION, self._cursor.fail, BlockLimits(samples=size, values=size))
        try:
            if set(block.arrays) != {"time"}:
                raise ValueError(f"sections {sorted(block.arrays)}")
            return time_decoding(block.arrays["time"], samples)
        except ValueError as error:
            raise self.fail(f"corrupt .tsz time part ({error})") from None

    def fail(self, problem: str) -> ValueError:
        """A ``ValueError`` naming the stream."""
        return self._cursor.fail(problem)

    def blocks(self, limits: BlockLimits | None = None) -> Iterator[Block]:
        """Yield the blocks in order (each within ``limits``); reads the trailer after the last one, and refuses any
        bytes after it."""
        for payload in self._payloads():
            yield _decode_payload(payload, self.version, self._cursor.fail, limits)

    def samples(self, limits: BlockLimits | None = None) -> int:
        """Read the blocks (checking their checksums and ``limits``, not decoding them) and the trailer;
        the samples they hold."""
        return sum(_block_head(payload, self.version, limits, self._cursor.fail).samples
                   for payload in self._payloads())

    def _payloads(self) -> Iterator[bytes]:
        index = 0
        while True:
            size = self._cursor.length(self.version, f"length of block {index}")
            if size == 0:
                if self.version >= 3:
                    self.trailer = self._cursor.fields(TRAILER_FIELDS, "trailer")
                else:
                    self.trailer = self._cursor.json("trailer")
                extra = self._cursor.rest()
                if extra:  # the trailer ends the container: more is a damaged file (or another appended to it)
                    raise self._cursor.fail(f"corrupt .tsz container ({extra} byte{'s' if extra > 1 else ''} after "
                                            "the end of the compressed data)")
                return
            yield self._cursor.checked(size, f"block {index}")
            index += 1


__all__ = ["Block", "BlockLimits", "Reader", "MAGIC", "VERSION", "NO_MODEL_VERSION", "TIME_VERSION",
           "encode_time_part", "time_coding", "time_decoding", "MAX_HEADER_BYTES", "SECTION_TAGS",
           "write_header",
           "write_block", "write_payload", "write_trailer", "encode_block", "section_size"]
