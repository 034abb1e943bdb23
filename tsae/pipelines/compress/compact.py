"""Compact binary coding of the ``.tsz`` container's small parts (format version 3): varints and JSON objects.

A header or trailer is a JSON object; in version 3 its well-known entries are stored
as binary fields (a presence mask, then unsigned varints, float64s or one-byte enums)
and only the rest as JSON, coded with whichever of raw, zlib and LZMA2 is smallest.
An entry is stored as a field only when its value has the field's type (a hostile
or unusual value goes to the JSON rest), so every object round-trips, except that
entries of the rest whose value is ``null`` are left out (a reader's ``get`` gives
``None`` for them all the same).
"""
from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tsae.pipelines.compress.entropy import STDLIB_CODERS, decode_bytes, smallest_coding
from tsae.pipelines.compress.varints import MAX_VARINT, read_varint, varint

_F64 = struct.Struct("<d")


def _is_uint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_VARINT


@dataclass(frozen=True)
class Kind:
    """How one field is stored: ``fits(value)`` says whether it can be, ``encode`` gives the bytes and
    ``decode(data, offset) -> (value, offset)`` reads them back."""

    fits: Callable[[Any], bool]
    encode: Callable[[Any], bytes]
    decode: Callable[[memoryview, int], tuple[Any, int]]


def _read_uints(data: memoryview, offset: int) -> tuple[list[int], int]:
    count, offset = read_varint(data, offset)
    if count > len(data) - offset:  # a corrupt count: each value takes a byte at least
        raise ValueError("a list runs past its part")
    values = []
    for _ in range(count):
        value, offset = read_varint(data, offset)
        values.append(value)
    return values, offset


def _read_bounds(data: memoryview, offset: int) -> tuple[list[float] | None, int]:
    count, offset = read_varint(data, offset)
    if count == 0:
        return None, offset
    end = offset + 8 * (count - 1)
    if end > len(data):
        raise ValueError("a list runs past its part")
    return [v for (v,) in _F64.iter_unpack(data[offset:end])], end


def _constant(text: str) -> Kind:
    return Kind(lambda value: value == text and isinstance(value, str), lambda value: b"",
                lambda data, offset: (text, offset))


def _choice(*names: str) -> Kind:
    def decode(data: memoryview, offset: int) -> tuple[str, int]:
        if offset >= len(data) or data[offset] >= len(names):
            raise ValueError("an unknown choice")
        return names[data[offset]], offset + 1

    return Kind(lambda value: isinstance(value, str) and value in names,
                lambda value: bytes([names.index(value)]), decode)


UINT = Kind(_is_uint, varint, read_varint)
UINTS = Kind(lambda value: isinstance(value, list) and all(_is_uint(v) for v in value),
             lambda value: varint(len(value)) + b"".join(varint(v) for v in value), _read_uints)
#: a list of floats (count + 1, then float64s), or ``null`` (count 0)
BOUNDS = Kind(lambda value: value is None or (isinstance(value, list) and all(type(v) is float for v in value)),
              lambda value: varint(0) if value is None else varint(len(value) + 1) + b"".join(map(_F64.pack, value)),
              _read_bounds)

#: the header's fields in stored order (at most 8: one mask byte)
HEADER_FIELDS: tuple[tuple[str, Kind], ...] = (
    ("format", _constant("tsz")), ("channels", UINT), ("window", UINT), ("codes", _choice("uniform", "vq", "none")),
    ("code_shape", UINTS), ("block_samples", UINT), ("max_error", BOUNDS),
)
TRAILER_FIELDS: tuple[tuple[str, Kind], ...] = (("samples", UINT), ("blocks", UINT))


def encode_fields(data: dict[str, Any], fields: tuple[tuple[str, Kind], ...]) -> bytes:
    """``data`` as a presence mask, the binary ``fields`` it has, and (when any entry is left) the coder id and
    the coded JSON of the rest."""
    mask, parts, rest = 0, [], dict(data)
    for bit, (key, kind) in enumerate(fields):
        if key in rest and kind.fits(rest[key]):
            mask |= 1 << bit
            parts.append(kind.encode(rest.pop(key)))
    rest = {key: value for key, value in rest.items() if value is not None}
    if rest:
        coder, text = smallest_coding(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode(), STDLIB_CODERS)
        parts.append(bytes([coder]) + text)
    return bytes([mask]) + b"".join(parts)


def decode_fields(body: bytes, fields: tuple[tuple[str, Kind], ...], limit: int) -> dict[str, Any]:
    """Inverse of :func:`encode_fields`; the JSON rest inflates to at most ``limit`` bytes. ``ValueError`` with
    the problem when ``body`` is malformed."""
    view = memoryview(body)
    if not view or view[0] >> len(fields):
        raise ValueError("malformed fields")
    out: dict[str, Any] = {}
    offset = 1
    for bit, (key, kind) in enumerate(fields):
        if view[0] >> bit & 1:
            out[key], offset = kind.decode(view, offset)
    if offset < len(view):
        out.update(_rest(view[offset:], limit))
    return out


def _rest(data: memoryview, limit: int) -> dict[str, Any]:
    coder = data[0]
    if coder not in STDLIB_CODERS:
        raise ValueError(f"coded with unknown coder {coder}")
    text = decode_bytes(bytes(data[1:]), coder, limit + 1)
    if len(text) > limit:
        raise ValueError(f"inflates to more than {limit} bytes")
    try:
        value = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("is not JSON") from None
    if not isinstance(value, dict):
        raise ValueError("is not a JSON object")
    return value


__all__ = ["varint", "read_varint", "encode_fields", "decode_fields", "HEADER_FIELDS", "TRAILER_FIELDS",
           "MAX_VARINT", "Kind"]
