"""Unsigned LEB128 varints: the lengths and counts of the ``.tsz`` container and of the adaptive coder's rows."""
from __future__ import annotations

#: the largest value a varint holds (10 bytes of 7 bits, capped at 64 bits)
MAX_VARINT = (1 << 64) - 1


def varint(value: int) -> bytes:
    """``value`` (0 to :data:`MAX_VARINT`) as an unsigned LEB128 varint: 7 bits a byte, low bits first."""
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"{value} does not fit a varint")
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data: bytes | memoryview, offset: int) -> tuple[int, int]:
    """(value, offset after it) of the varint at ``offset``; ``ValueError`` when it runs past ``data`` or 64 bits."""
    value = shift = 0
    while True:
        if offset >= len(data):
            raise ValueError("a number runs past its part")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 63:
            raise ValueError("a number longer than 64 bits")
    if value > MAX_VARINT:
        raise ValueError("a number longer than 64 bits")
    return value, offset


__all__ = ["MAX_VARINT", "varint", "read_varint"]
