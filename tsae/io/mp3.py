"""The MPEG layer III frames of an MP3 file, walked from their headers, and streams of them libsndfile reads whole.

libsndfile never reads an MP3 past the length libmpg123 announces on opening it: the frame count of
a Xing/Info header, which covers only the first of concatenated files (``cat a.mp3 b.mp3``), or,
without one, an estimate from the file's size and its first frame's bitrate, far too short for a
VBR file that starts loud. :func:`walk` counts the frames themselves (a header says how long its
frame is), split into :class:`Segment` s at each Xing/Info frame, the start of a file that was
joined on; :func:`parts` makes each segment a stream that starts with a Xing frame counting all of
its frames (the segment's own, or one made for it), which :class:`~tsae.io.spliced.Spliced` shows libsndfile as a
file of its own, mapped onto the original one (no copy of the audio).
"""
from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from tsae.io.spliced import Part

#: kbit/s by bitrate index, layer III: MPEG-1, then MPEG-2 and 2.5 (index 0 is "free format", 15 is invalid)
_KBPS = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
         False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
#: sample rates by the header's version bits (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5) and rate index
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
#: the header bits libmpg123 needs unchanged through a stream (sync, version, layer, sample rate); a frame
#: whose bits differ starts what it calls a "Frankenstein" stream, where libsndfile's reading stops
_SAME_STREAM = 0xFFFE0C00
#: how far into the audio the first frame may lie (junk after the tags) before the file is not walked
_FIRST_FRAME_WITHIN = 1 << 16
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Frame:
    """What the 4-byte header of an MPEG layer III frame says."""

    word: int
    size: int  # bytes, header included
    samples: int  # per channel

    @property
    def mpeg1(self) -> bool:
        return (self.word >> 19) & 3 == 3

    @property
    def mono(self) -> bool:
        return (self.word >> 6) & 3 == 3

    @property
    def side_info(self) -> int:
        """Bytes of side information after the header (and its CRC): where a Xing/Info tag starts."""
        return (17 if self.mono else 32) if self.mpeg1 else (9 if self.mono else 17)

    def follows(self, first: Frame) -> bool:
        """Whether libmpg123 decodes this frame as part of the stream ``first`` started."""
        return (self.word ^ first.word) & _SAME_STREAM == 0 and self.mono == first.mono


def frame(head: bytes) -> Frame | None:
    """The layer III frame whose header ``head`` starts with, or None (not a header, another layer, free format).

    Examples
    --------
    >>> f = frame(bytes([0xFF, 0xFB, 0x90, 0x64]))  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
    >>> f.size, f.samples, f.mono
    (417, 1152, False)
    """
    return _frame(int.from_bytes(head[:4], "big")) if len(head) >= 4 else None


@functools.lru_cache(maxsize=1024)
def _frame(word: int) -> Frame | None:
    version, bitrate, rate = (word >> 19) & 3, (word >> 12) & 15, (word >> 10) & 3
    if word & 0xFFE00000 != 0xFFE00000 or version == 1 or (word >> 17) & 3 != 1 or bitrate in (0, 15) or rate == 3:
        return None
    mpeg1 = version == 3
    size = (144000 if mpeg1 else 72000) * _KBPS[mpeg1][bitrate] // _RATES[version][rate] + ((word >> 9) & 1)
    return Frame(word, size, 1152 if mpeg1 else 576)


@dataclass(frozen=True)
class Tag:
    """The Xing/Info header of a frame: the frame count it announces (None without one) and where its fields are."""

    frames: int | None
    frames_at: int | None
    bytes_at: int | None


def info_tag(data: bytes, head: Frame) -> Tag | None:
    """The Xing/Info tag of the frame ``data`` (its bytes from the header on), or None when it is an audio frame.

    A VBRI header (Fraunhofer's) is a tag without a count here: libmpg123 does not read it.
    """
    at = 4 + head.side_info
    name = data[at: at + 4]
    if name in (b"Xing", b"Info") and not any(data[6:at]):  # side information all zero: no audio in it
        flags = int.from_bytes(data[at + 4: at + 8], "big")
        frames_at = at + 8 if flags & 1 else None
        bytes_at = (at + 12 if flags & 1 else at + 8) if flags & 2 else None
        count = None if frames_at is None else int.from_bytes(data[frames_at: frames_at + 4], "big")
        return Tag(count, frames_at, bytes_at)
    if data[36:40] == b"VBRI":
        return Tag(None, None, None)
    return None


@dataclass
class Segment:
    """The frames from one Xing/Info frame (or the first frame of the file) up to the next.

    ``info`` is the bytes of the Xing/Info frame that starts it and ``tag`` what it says, both None
    without one; ``announced`` the frame count it gives (None without one); ``runs`` the
    ``(offset, size)`` byte ranges of its audio frames in the file, adjacent frames in one range.
    """

    info: bytes | None = None
    tag: Tag | None = None
    frames: int = 0
    runs: list[tuple[int, int]] = field(default_factory=list)

    @property
    def announced(self) -> int | None:
        return None if self.tag is None else self.tag.frames

    def add(self, offset: int, size: int) -> None:
        self.frames += 1
        if self.runs and sum(self.runs[-1]) == offset:
            self.runs[-1] = (self.runs[-1][0], self.runs[-1][1] + size)
        else:
            self.runs.append((offset, size))


@dataclass
class Stream:
    """The layer III frames of a file: its first audio frame's header and its segments."""

    first: Frame
    segments: list[Segment]

    @property
    def frames(self) -> int:
        return sum(segment.frames for segment in self.segments)


def audio_span(f: BinaryIO) -> tuple[int, int]:
    """``(start, end)`` of the bytes between the tags of an MP3 file: after its ID3v2 tags, before an APE or
    ID3v1 tag at its end."""
    size = os.fstat(f.fileno()).st_size
    start = 0
    while True:  # an ID3v2 tag: "ID3", version, flags, then a size in 4 bytes of 7 bits each
        f.seek(start)
        head = f.read(10)
        if len(head) < 10 or head[:3] != b"ID3":
            break
        start += _id3_size(head)
    end = size
    f.seek(max(size - 128, 0))
    if f.read(3) == b"TAG":
        end -= 128
    f.seek(max(end - 32, 0))
    footer = f.read(32)
    if len(footer) == 32 and footer[:8] == b"APETAGEX":  # its size counts the footer, not a header (flags' top bit)
        tag_size, flags = struct.unpack("<II", footer[12:20])
        end -= tag_size + (32 if flags & 0x80000000 else 0)
    return start, max(end, start)


def _id3_size(head: bytes) -> int:
    """Bytes of the ID3v2 tag whose first 10 bytes are ``head``: its size is 4 bytes of 7 bits, then a footer's 10."""
    return 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10])) + (10 if head[5] & 0x10 else 0)


class _Window:
    """Bytes of a file read a chunk at a time: any few bytes at an offset, without a seek and read for each frame."""

    def __init__(self, f: BinaryIO, end: int) -> None:
        self.f, self.end = f, end
        self.start, self.data = 0, b""

    def at(self, offset: int, n: int) -> bytes:
        n = min(n, self.end - offset)
        if offset < self.start or offset + n > self.start + len(self.data):
            self.f.seek(offset)
            self.start, self.data = offset, self.f.read(min(max(n, _CHUNK), self.end - offset))
        return self.data[offset - self.start: offset - self.start + n]


def walk(f: BinaryIO) -> Stream | None:
    """The layer III frames of the MP3 file ``f``, or None when it does not start with them.

    Frames are found where the previous one ends; bytes that are not a frame there (junk, a tag of a
    file joined on) are skipped to the next header followed by another one. The walk stops at the end,
    at a frame cut off by the end (truncated: not counted), or at a frame libmpg123 would not decode
    as part of the same stream (another sample rate or MPEG version, mono after stereo). A file with
    more junk than frames is not walked (None): libsndfile's reading is left as it is.
    """
    start, end = audio_span(f)
    window = _Window(f, end)
    offset = _resync(window, start, None, min(end, start + _FIRST_FRAME_WITHIN))
    if offset is None:
        return None
    first = frame(window.at(offset, 4))
    assert first is not None
    segments: list[Segment] = []
    skipped = offset - start
    while offset < end:
        data = window.at(offset, 192)  # a frame's header, and its Xing/Info tag if it has one
        if data[:3] == b"ID3":  # the tag of a file joined on
            offset += _id3_size(data)
            continue
        head = frame(data)
        if head is None or not head.follows(first):
            if head is not None and _followed(window, offset, head):
                break  # a stream of another kind starts: where libmpg123 stops
            found = _resync(window, offset + 1, first, end)
            if found is None:
                break
            skipped += found - offset
            offset = found
            continue
        if offset + head.size > end:
            break  # cut off
        tag = info_tag(data[:head.size], head)
        if tag is not None or not segments:
            segments.append(Segment(window.at(offset, head.size), tag) if tag is not None else Segment())
        if tag is None:
            segments[-1].add(offset, head.size)
        offset += head.size
    if not any(segment.frames for segment in segments) or skipped > sum(s.frames for s in segments) * first.size:
        return None
    return Stream(first, segments)


def _followed(window: _Window, offset: int, head: Frame) -> bool:
    """Whether the frame at ``offset`` ends at the end of the audio or where a frame of the same stream starts."""
    after = offset + head.size
    if after == window.end:
        return True
    nxt = frame(window.at(after, 4))
    return nxt is not None and nxt.follows(head)


def _resync(window: _Window, offset: int, first: Frame | None, limit: int) -> int | None:
    """The offset of the next frame (of ``first``'s stream when given) from ``offset`` on that another follows."""
    while offset < limit:
        chunk = window.at(offset, min(_CHUNK, limit - offset))
        i = chunk.find(b"\xff")
        while i >= 0:
            head = frame(chunk[i: i + 4] if i + 4 <= len(chunk) else window.at(offset + i, 4))
            if head is not None and (first is None or head.follows(first)) and _followed(window, offset + i, head):
                return offset + i
            i = chunk.find(b"\xff", i + 1)
        offset += max(len(chunk) - 3, 1)
    return None


def xing_frame(first: Frame, frames: int) -> bytes:
    """A Xing frame announcing ``frames`` audio frames, for a stream whose first audio frame is ``first``.

    Its header is ``first``'s (libmpg123 reads the frames after it as the same stream) without CRC or
    padding, at the lowest bitrate whose frame holds the tag. It has no LAME tag: libmpg123 then cuts only
    its own decoder delay (529 samples), not an encoder delay or padding it is not told.
    """
    word = (first.word | 0x10000) & ~0xF200  # no CRC (the bit set), no padding, bitrate index 0
    for bitrate in range(1, 15):
        head = frame((word | bitrate << 12).to_bytes(4, "big"))
        assert head is not None
        if head.size >= 4 + head.side_info + 12:
            body = bytearray(head.size)
            body[:4] = head.word.to_bytes(4, "big")
            at = 4 + head.side_info
            body[at: at + 12] = b"Xing" + struct.pack(">II", 1, frames)
            return bytes(body)
    raise AssertionError("a layer III frame at 320 kbit/s holds a Xing tag")


def parts(stream: Stream) -> list[Part]:
    """Each segment of ``stream`` as a :class:`~tsae.io.spliced.Part` whose Xing/Info frame announces all its
    audio frames.

    A segment's own Xing/Info frame is kept (its LAME tag's encoder delay and padding with it, so a
    joined file is decoded as each of its files alone is), with its frame count raised to the frames
    there when they are more, and its byte count set to the part's size; a segment without one (or
    with a tag that gives no count) gets one from :func:`xing_frame`. A count higher than the frames
    there is kept: libsndfile announces it, and the reader says the file was cut short.
    """
    out = []
    for segment in stream.segments:
        if not segment.frames:
            continue
        runs = tuple(segment.runs)
        tag = segment.tag
        if segment.info is None or tag is None or tag.frames is None or tag.frames_at is None:
            out.append(Part(xing_frame(stream.first, segment.frames), runs))
            continue
        info = bytearray(segment.info)
        info[tag.frames_at: tag.frames_at + 4] = struct.pack(">I", max(tag.frames, segment.frames))
        if tag.bytes_at is not None:
            info[tag.bytes_at: tag.bytes_at + 4] = struct.pack(">I", Part(bytes(info), runs).size)
        out.append(Part(bytes(info), runs))
    return out
