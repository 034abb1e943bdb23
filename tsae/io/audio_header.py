"""Audio file headers read, and put right, byte by byte without decoding the samples.

The length a header declares against the bytes there, which libsndfile does not check (WAV, also ADPCM, GSM 6.10,
mu-law and A-law ones; RF64, W64, AIFF, AU), the channel mask of a WAVEX or RF64 header (read, and written into an
output), and the time of writing that libsndfile puts in a float file's PEAK chunk (zeroed).
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from tsae.io.audio import AudioInfo
    from tsae.io.audio_stream import StreamFormat


def _wav_shortfall(path: Path) -> tuple[int, int] | None:
    """``(frames there, frames announced)`` of a WAV file whose ``data`` chunk is cut short, else ``None``.

    libsndfile quietly reads such a file to its end. The header is read as a WAV on a pipe
    is (:func:`~tsae.io.audio_stream.read_wav_header`: a size of 0 or near 4 GiB is the
    "unknown length" of a streamed WAV, not a promise); an encoding it does not decode
    (ADPCM, GSM 6.10; mu-law or A-law under a header it refuses) is measured in its own blocks
    (:func:`_coded_wav_shortfall`).
    """
    layout = _wav_layout(path)
    if layout is None:
        return _coded_wav_shortfall(path)
    fmt, size, there = layout
    if size is None or there >= size:
        return None
    return there // fmt.frame_bytes, size // fmt.frame_bytes


#: WAV format tags of the encodings libsndfile decodes but a pipe does not (mu-law and A-law: where the pipe's
#: reader refuses the header, e.g. an odd block align), and how many sample frames one
#: block (``nBlockAlign`` bytes) holds: None for "the ``wSamplesPerBlock`` of the 'fmt ' chunk's extension"
_CODED_WAV_TAGS: dict[int, int | None] = {0x0002: None, 0x0011: None, 0x0031: None,  # MS/IMA ADPCM, GSM 6.10
                                          0x0006: 1, 0x0007: 1}  # A-law, mu-law: a byte a sample and channel


def _coded_wav_shortfall(path: Path) -> tuple[int, int] | None:
    """``(frames there, frames announced)`` of an ADPCM, GSM 6.10, mu-law or A-law WAV whose ``data`` chunk is cut
    short, else None (libsndfile reads such a file to its end as a shorter one, as it does a PCM WAV)."""
    from tsae.io.audio_stream import _UNKNOWN_SIZE  # that module imports this one

    try:
        with open(path, "rb") as f:
            layout = coded_wav_layout(f)
            size = os.fstat(f.fileno()).st_size
    except (OSError, struct.error):
        return None
    if layout is None:
        return None
    start, declared, align, frames_per_block = layout
    there = max(size - start, 0)
    if declared == 0 or declared >= _UNKNOWN_SIZE or there >= declared:  # 0 or near 4 GiB: a streamed length
        return None
    return there // align * frames_per_block, declared // align * frames_per_block


def coded_wav_layout(f: BinaryIO) -> tuple[int, int, int, int] | None:
    """``(where the samples start, data bytes declared, bytes a block, frames a block)`` of a WAV in one of
    :data:`_CODED_WAV_TAGS`, None for another encoding or a header not walked (``f`` is read from its start)."""
    head = f.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    found = _find_chunk(f, 12, b"fmt ", "<I", 8, stop=(b"data",))
    if found is None:
        return None
    body = f.read(min(found[1], 64))
    if len(body) < 16:
        return None
    tag, align = struct.unpack("<H", body[:2])[0], struct.unpack("<H", body[12:14])[0]
    if tag == _TAG_EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]  # the first two bytes of the sub-format GUID
    frames_per_block = _CODED_WAV_TAGS.get(tag, 0)
    if frames_per_block is None:
        frames_per_block = struct.unpack("<H", body[18:20])[0] if len(body) >= 20 else 0
    data = _find_chunk(f, 12, b"data", "<I", 8)
    return None if data is None or not frames_per_block or not align else (data[0], data[1], align, frames_per_block)


#: bytes of one sample of the subtypes whose header length :func:`_declared_samples` checks
_SAMPLE_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8,
                 "ULAW": 1, "ALAW": 1}


def _shortfall(info: AudioInfo) -> tuple[int, int] | None:
    """``(frames there, frames announced)`` of an AIFF, AU, W64 or RF64 file whose samples are cut short, else None.

    libsndfile quietly reads such a file as a shorter one (as it does a WAV, :func:`_wav_shortfall`).
    """
    width = _SAMPLE_BYTES.get(info.subtype.upper(), 0) * info.channels
    try:
        with open(info.path, "rb") as f:
            layout = _declared_samples(f, info.format)
            size = os.fstat(f.fileno()).st_size
    except (OSError, struct.error):
        return None
    if layout is None or not width:
        return None
    start, declared = layout
    there, announced = max(size - start, 0) // width, declared // width
    return (there, announced) if there < announced else None


def _declared_samples(f: BinaryIO, format: str) -> tuple[int, int] | None:
    """``(where the samples start, how many bytes of them the header declares)`` of an AIFF, AU, W64 or RF64
    file, None when its header gives no length (an AU written to a pipe) or is not one tsae walks."""
    head = f.read(40)
    if format == "AU" and head[:4] in (b".snd", b"dns."):
        start, declared = struct.unpack(">II" if head[:4] == b".snd" else "<II", head[4:12])
        return None if declared == 0xFFFFFFFF else (start, declared)
    if format == "RF64" and head[:4] == b"RF64" and head[12:16] == b"ds64":
        declared = struct.unpack("<Q", head[28:36])[0]  # the ds64 chunk's data size
        found = _find_chunk(f, 12, b"data", "<I", 8)
        return None if found is None else (found[0], declared)
    if format == "AIFF" and head[:4] == b"FORM":
        found = _find_chunk(f, 12, b"SSND", ">I", 8)
        if found is None:
            return None
        f.seek(found[0])
        offset = struct.unpack(">I", f.read(4))[0]  # SSND: offset and block size, then the samples
        return found[0] + 8 + offset, found[1] - 8 - offset
    if format == "W64" and head[:4] == b"riff":  # 16-byte GUIDs and 64-bit sizes that count the chunk's header
        found = _find_chunk(f, 40, b"data", "<Q", 24)
        return None if found is None else (found[0], found[1] - 24)
    return None


def _find_chunk(f: BinaryIO, position: int, name: bytes, size_format: str, header: int,
                stop: tuple[bytes, ...] = ()) -> tuple[int, int] | None:
    """``(where its body starts, its size field)`` of the first chunk ``name`` from ``position`` on, None without one
    (or when a chunk named in ``stop`` comes first).

    Chunks are ``header`` bytes (their id, then a size in ``size_format``) and a body padded to an even size;
    W64's (24-byte headers, sizes that count them) are padded to 8 bytes.
    """
    for _ in range(256):  # the chunks before the samples: a few in practice
        f.seek(position)
        chunk = f.read(header)
        if len(chunk) < header or chunk[:4] in stop:
            return None
        size = struct.unpack(size_format, chunk[header - struct.calcsize(size_format):])[0]
        if chunk[:4] == name:
            return position + header, size
        position += (size + 7) // 8 * 8 if header == 24 else header + size + (size & 1)
    return None


def _wav_layout(path: Path) -> tuple[StreamFormat, int | None, int] | None:
    """``(format, data bytes the header declares or None for "unknown", data bytes there)`` of a WAV file,
    read as a WAV on a pipe is; None when that reader cannot read its header."""
    from tsae.io.audio_stream import read_wav_header  # that module imports this one

    try:
        with open(path, "rb") as f:
            fmt, size = read_wav_header(f, str(path))
            return fmt, size, os.fstat(f.fileno()).st_size - f.tell()
    except (OSError, ValueError):
        return None


#: formats whose header can carry a channel mask (WAVE_FORMAT_EXTENSIBLE), as libsndfile names them
_MASKED_FORMATS = ("WAVEX", "RF64")
_TAG_EXTENSIBLE = 0xFFFE


def _mask_offset(f: BinaryIO) -> int | None:
    """Where the channel mask of a RIFF or RF64 WAVE file lies (bytes from its start), or None without one.

    The chunks before ``data`` are walked to the ``fmt `` chunk; only a WAVE_FORMAT_EXTENSIBLE
    one (tag 0xFFFE, at least 22 extension bytes) has a mask, 20 bytes into its body.
    """
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        return None
    found = _find_chunk(f, 12, b"fmt ", "<I", 8, stop=(b"data",))
    if found is None:
        return None
    start, size = found
    body = f.read(24)
    if size < 40 or len(body) < 24:
        return None
    tag, extension = struct.unpack("<H", body[:2])[0], struct.unpack("<H", body[16:18])[0]
    return start + 20 if tag == _TAG_EXTENSIBLE and extension >= 22 else None


def channel_mask(path: str | os.PathLike) -> int | None:
    """The channel mask (``dwChannelMask``: the speaker each channel feeds) of a WAVEX or RF64 file, else None."""
    try:
        with open(path, "rb") as f:
            offset = _mask_offset(f)
            if offset is None:
                return None
            f.seek(offset)
            data = f.read(4)
    except OSError:
        return None
    return struct.unpack("<I", data)[0] if len(data) == 4 else None


def _put_channel_mask(path: str | os.PathLike, mask: int) -> bool:
    """Write ``mask`` into the header of the WAVEX/RF64 file ``path``; False (nothing written) when it has no mask.

    libsndfile writes a mask of its own from the channel count (none for 3, 5 or more than 8
    channels) and soundfile has no call to set an arbitrary one: the four bytes are put right
    once libsndfile has closed the file.
    """
    with open(path, "r+b") as f:
        offset = _mask_offset(f)
        if offset is None:
            return False
        f.seek(offset)
        f.write(struct.pack("<I", int(mask) & 0xFFFFFFFF))
    return True


#: the containers whose float files libsndfile gives a PEAK chunk, and the byte order of their chunk sizes
_PEAK_CONTAINERS = {b"RIFF": "<I", b"FORM": ">I"}


def _clear_peak_time(path: str | os.PathLike) -> None:
    """Zero the time of writing that libsndfile puts in the PEAK chunk of a float WAV or AIFF file ``path``.

    With it, the same samples written twice made files that differed in those four bytes;
    the chunk's peaks are kept.
    """
    with open(path, "r+b") as f:
        head = f.read(12)
        order = _PEAK_CONTAINERS.get(head[:4])
        if order is None or len(head) < 12:
            return
        found = _find_chunk(f, 12, b"PEAK", order, 8, stop=(b"data", b"SSND"))
        if found is not None:
            f.seek(found[0] + 4)  # after the chunk's version
            f.write(bytes(4))
