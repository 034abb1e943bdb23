"""The length of a FLAC file whose STREAMINFO gives none (``flac -``, ``ffmpeg -f flac -``), read from its last frame.

Each FLAC frame's header carries the number of its first sample (variable block sizes) or its frame number (fixed
block sizes) and its block size, so the last frame's header gives the file's length without decoding it. The last
frame is found from the end of the file: the last sync code whose header's CRC-8 holds, when its frame's CRC-16
footer covers every byte from there to the end. A file where that fails (one cut short or with other bytes after its
last frame; rarely, one whose last frame's data holds bytes that pass for a header) is left to the caller,
which counts by decoding.
"""
from __future__ import annotations

import os

#: bytes read from the end of the file: more than a frame of 65535 samples of 8 channels of 24 bits, the largest
#: frame a FLAC encoder writes uncompressed (1.6 MB)
_TAIL = 2 << 20


def _crc_table(poly: int, width: int) -> tuple[int, ...]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly if crc & top else crc << 1) & mask
        table.append(crc)
    return tuple(table)


_CRC8 = _crc_table(0x07, 8)
_CRC16 = _crc_table(0x8005, 16)


def _crc8(data: bytes | memoryview) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def _crc16(data: bytes | memoryview) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _coded_number(data: bytes, at: int) -> tuple[int, int] | None:
    """The UTF-8-like coded frame or sample number at ``data[at]`` and the index after it, or None when malformed."""
    first = data[at]
    length = 8 - (~first & 0xFF).bit_length()  # the leading one bits: 0 for one byte, else the byte count
    if length == 1 or length > 7:
        return None
    if length == 0:
        return first, at + 1
    value = first & (0x7F >> length)
    for byte in data[at + 1: at + length]:
        if byte & 0xC0 != 0x80:
            return None
        value = (value << 6) | (byte & 0x3F)
    return value, at + length


def _frame_end(data: bytes, at: int, fixed_block: int) -> int | None:
    """The sample frames up to the end of the frame whose header starts at ``data[at]`` if that is a valid frame
    header (its CRC-8 holds), else None."""
    if len(data) - at < 8 or data[at + 1] & 0xFE != 0xF8:
        return None
    size_code, rate_code = data[at + 2] >> 4, data[at + 2] & 0x0F
    channels, sample_size = data[at + 3] >> 4, (data[at + 3] >> 1) & 0x07
    if size_code == 0 or rate_code == 15 or channels > 10 or sample_size == 3 or data[at + 3] & 1:
        return None
    coded = _coded_number(data, at + 4)
    if coded is None:
        return None
    number, end = coded
    if size_code in (6, 7):
        extra = size_code - 5
        block = int.from_bytes(data[end: end + extra], "big") + 1
        end += extra
    else:
        block = 192 if size_code == 1 else 576 << (size_code - 2) if size_code <= 5 else 256 << (size_code - 8)
    end += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if end + 3 > len(data) or _crc8(memoryview(data)[at:end]) != data[end]:
        return None
    variable = data[at + 1] & 1
    return number + block if variable else number * fixed_block + block


def flac_total_frames(path: str | os.PathLike, size: int | None = None) -> int | None:
    """The sample frames of a FLAC file, from the header of its last frame (nothing is decoded).

    Parameters
    ----------
    path : str or os.PathLike
        A FLAC file (``fLaC`` and its STREAMINFO block first).
    size : int, optional
        The bytes of the file that are FLAC (its last frame ends there; a tag follows it); default: all.

    Returns
    -------
    int or None
        The first sample number after the last frame; None when the last frame is not found whole at the end of
        the file (a file cut short, bytes after its last frame, fixed block sizes that STREAMINFO does
        not give) or the file is not such a FLAC file.
    """
    with open(path, "rb") as f:
        head = f.read(18)
        if len(head) < 18 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
            return None
        min_block, max_block = int.from_bytes(head[8:10], "big"), int.from_bytes(head[10:12], "big")
        size = f.seek(0, os.SEEK_END) if size is None else size
        f.seek(max(0, size - _TAIL))
        tail = f.read(size - f.tell())
    at = len(tail)
    while (at := tail.rfind(b"\xff", 0, at)) >= 0:
        total = _frame_end(tail, at, min_block if min_block == max_block else 0)
        if total is None:
            continue
        # the last header: its frame must end the file (else the file is cut short or has bytes after it)
        whole = _crc16(memoryview(tail)[at:-2]) == int.from_bytes(tail[-2:], "big")
        fixed = min_block == max_block or tail[at + 1] & 1
        return total if whole and fixed and total > 0 else None
    return None


__all__ = ["flac_total_frames"]
