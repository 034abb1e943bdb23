"""What the first bytes of a stream say it holds: an audio container tsae reads, a ``.npy`` array, or neither.

A stream has no name to tell its kind (``sox in.flac -t wav - | tsae smooth -``): its copy (:mod:`~tsae.io.spool`)
is named by these bytes, and ``tsae denoise -`` names by them the containers it reads from files only.
"""
from __future__ import annotations

#: bytes of a stream's start that :func:`stream_suffix` needs (a W64 header's GUID is the longest test)
HEAD_BYTES = 16

#: the first 16 bytes of a Sony Wave64 file: the GUID of its ``riff`` chunk
_W64_RIFF = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"

#: the audio containers libsndfile reads, by their first bytes (and the form at byte 8, where the first bytes are a
#: chunk that holds other things too): the suffix a copy of one is given, and what messages call it
AUDIO_MAGIC: tuple[tuple[bytes, bytes, str, str], ...] = (
    (b"RIFF", b"WAVE", ".wav", "a WAV file"),
    (b"RF64", b"WAVE", ".rf64", "an RF64 WAV"),
    (_W64_RIFF, b"", ".w64", "a Wave64 file"),
    (b"fLaC", b"", ".flac", "a FLAC file"),
    (b"OggS", b"", ".ogg", "an Ogg file"),
    (b"ID3", b"", ".mp3", "an MP3 file"),
    (b"FORM", b"AIFF", ".aiff", "an AIFF file"),
    (b"FORM", b"AIFC", ".aiff", "an AIFF file"),
    (b".snd", b"", ".au", "an AU file"),
    (b"dns.", b"", ".au", "an AU file"),  # little-endian
)
#: the first bytes of a ``.npy`` array
NPY_MAGIC = b"\x93NUMPY"


def audio_container(head: bytes) -> tuple[str, str] | None:
    """``(suffix, what it is)`` of the audio container whose first bytes are ``head``, or None.

    An MP3 without an ID3 tag is told by its first frame's header (MPEG layer III, :func:`tsae.io.mp3.frame`).

    Examples
    --------
    >>> audio_container(b"fLaC\\x00\\x00\\x00\\x22")
    ('.flac', 'a FLAC file')
    >>> audio_container(bytes([0xFF, 0xFB, 0x90, 0x64]))
    ('.mp3', 'an MP3 file')
    >>> audio_container(b"time,flow\\n") is None
    True
    """
    from tsae.io.mp3 import frame

    for magic, form, suffix, what in AUDIO_MAGIC:
        if head.startswith(magic) and (not form or head[8:12] == form) and _header_follows(head, suffix):
            return suffix, what
    return (".mp3", "an MP3 file") if frame(head) is not None else None


def _header_follows(head: bytes, suffix: str) -> bool:
    """Whether the bytes after the magic of a ``suffix`` file are a header's, where the magic alone could start a
    table's text (a column named ``ID3_...``, ``dns.query``, ``OggSensor``, ``fLaCount``)."""
    if suffix == ".mp3":  # ID3v2: version 2 to 4, a revision, flags, then a size in 4 bytes of 7 bits each
        return len(head) >= 10 and head[3] in (2, 3, 4) and all(b < 0x80 for b in head[6:10])
    if suffix == ".au":  # the encoding: 1 (mu-law) to 27 (A-law) in libsndfile's list
        encoding = int.from_bytes(head[12:16], "big" if head[:4] == b".snd" else "little")
        return 1 <= encoding <= 27
    if suffix == ".ogg":  # the page format's version, 0
        return head[4:5] == b"\x00"
    if suffix == ".flac":  # the first metadata block is STREAMINFO (type 0, perhaps marked the last)
        return head[4:5] in (b"\x00", b"\x80")
    return True


def stream_suffix(head: bytes) -> str | None:
    """The suffix of the series file whose first bytes are ``head`` (at least :data:`HEAD_BYTES` of them, unless the
    stream is shorter): an audio container's (``.wav``, ``.flac``, ...), ``.npy`` for an array, None for anything
    else (a table, compressed or not, or bytes no reader takes: the table reader says what they are)."""
    if head.startswith(NPY_MAGIC):
        return ".npy"
    found = audio_container(head)
    return None if found is None else found[0]


__all__ = ["AUDIO_MAGIC", "HEAD_BYTES", "NPY_MAGIC", "audio_container", "stream_suffix"]
