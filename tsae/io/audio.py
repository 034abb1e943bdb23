"""Audio file input/output through soundfile: WAV, FLAC, OGG, Opus (and what libsndfile reads).

Every reader checks its input and raises ``ValueError("<path>: <problem>")`` for a
missing, empty, corrupt, non-audio or zero-length file. Writers are atomic (a
temporary file renamed on success, see :mod:`tsae.io.atomic`), never overwrite an
input named in ``protect``, keep the input's format and subtype when asked, clip
to [-1, 1] for integer subtypes so loud output never wraps around, and write the same
samples as the same bytes (a float file's PEAK chunk gets no time of writing, an Ogg stream
a fixed serial number, :func:`tsae.io.ogg.fix_serial`).

WAV variants: a ``.wav`` output of an RF64 input stays RF64 (plain WAV cannot go beyond
4 GiB) and one of a WAVEX input stays WAVEX (:func:`format_like`); the channel mask of a
WAVEX or RF64 input (which speaker each channel feeds, :attr:`AudioInfo.channel_mask`)
is written into an output whose header has one (WAVEX, RF64) by :func:`open_audio_writer`.

An MP3 with a Xing/Info header (its frame count) is as exact about its length as a WAV, and what
libmpg123 prints itself on standard error about a damaged one is caught (:mod:`tsae.io.c_stderr`):
the reader says it in its one error or :class:`AudioWarning` instead. An MP3 is read to its last
frame even where libsndfile would stop short, at the count of the first of concatenated files or at
a length estimated from the size of a VBR file without a Xing header (:mod:`tsae.io.mp3`).

Float files can hold samples no pipeline can use: NaN or infinite ones are read as 0
and absurdly loud ones (beyond :data:`LOUDEST` times full scale) are clipped, and the
reader says so in one :class:`AudioWarning` per file.
"""
from __future__ import annotations

import contextlib
import os
import re
import struct
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from tsae.io import mp3, ogg
from tsae.io.atomic import atomic_path
from tsae.io.c_stderr import captured_stderr
from tsae.io.paths import AUDIO_SUFFIXES

if TYPE_CHECKING:
    from tsae.io.audio_stream import StreamFormat

_FORMAT_BY_SUFFIX = {
    ".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".aiff": "AIFF", ".aif": "AIFF",
    ".au": "AU", ".mp3": "MP3", ".w64": "W64", ".rf64": "RF64",
}
#: suffixes that name the codec as well as the container: a ``.opus`` file is Ogg holding Opus, whatever the input
_CODEC_BY_SUFFIX = {".opus": "OPUS"}
#: the only rates the Opus encoder takes
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


#: formats whose header says exactly how many sample frames follow (MP3's count is an estimate, but see
#: :func:`_mp3_counted`)
_EXACT_LENGTH_FORMATS = {"WAV", "WAVEX", "W64", "RF64", "AIFF", "AU", "FLAC", "OGG"}


def _ends_early(path: str | os.PathLike, frames: int, announced: int) -> ValueError:
    return ValueError(f"{path}: file ends after {frames} of the {announced} sample frames its header announces "
                      "(truncated or corrupt)")


def _wav_shortfall(path: Path) -> tuple[int, int] | None:
    """``(frames there, frames announced)`` of a WAV file whose ``data`` chunk is cut short, else ``None``.

    libsndfile quietly reads such a file to its end. The header is read as a WAV on a pipe
    is (:func:`~tsae.io.audio_stream.read_wav_header`: a size of 0 or near 4 GiB is the
    "unknown length" of a streamed WAV, not a promise); an encoding it does not decode
    (ADPCM, GSM 6.10, mu-law, A-law) is measured in its own blocks (:func:`_coded_wav_shortfall`).
    """
    layout = _wav_layout(path)
    if layout is None:
        return _coded_wav_shortfall(path)
    fmt, size, there = layout
    if size is None or there >= size:
        return None
    return there // fmt.frame_bytes, size // fmt.frame_bytes


#: WAV format tags of the encodings libsndfile decodes but a pipe does not, and how many sample frames one
#: block (``nBlockAlign`` bytes) holds: None for "the ``wSamplesPerBlock`` of the 'fmt ' chunk's extension"
_CODED_WAV_TAGS: dict[int, int | None] = {0x0002: None, 0x0011: None, 0x0031: None,  # MS/IMA ADPCM, GSM 6.10
                                          0x0006: 1, 0x0007: 1}  # A-law, mu-law: a byte a sample and channel


def _coded_wav_shortfall(path: Path) -> tuple[int, int] | None:
    """``(frames there, frames announced)`` of an ADPCM, GSM 6.10, mu-law or A-law WAV whose ``data`` chunk is cut
    short, else None (libsndfile reads such a file to its end as a shorter one, as it does a PCM WAV)."""
    from tsae.io.audio_stream import _UNKNOWN_SIZE  # that module imports this one

    try:
        with open(path, "rb") as f:
            layout = _coded_wav_layout(f)
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


def _coded_wav_layout(f: BinaryIO) -> tuple[int, int, int, int] | None:
    """``(where the samples start, data bytes declared, bytes a block, frames a block)`` of a WAV in one of
    :data:`_CODED_WAV_TAGS`, None for another encoding or a header not walked."""
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


def _check_complete(info: AudioInfo, frames: int) -> None:
    """Raise when fewer than the announced sample frames could be read (a truncated or corrupt file)."""
    exact = info.format in _EXACT_LENGTH_FORMATS or (info.format == "MP3" and bool(info.mp3_parts or
                                                                                   _mp3_counted(info.path)))
    if frames < info.frames and exact:
        raise _ends_early(info.path, frames, info.frames)


def _mp3_counted(path: Path) -> bool:
    """Whether the MP3 ``path`` has a Xing/Info header with its frame count (LAME and most encoders write one).

    libmpg123 takes the file's length from that count, exact (to the sample, with LAME's gapless
    information); without it, the length is estimated from the file's size.
    """
    try:
        with open(path, "rb") as f:
            start, _ = mp3.audio_span(f)
            f.seek(start)
            data = f.read(192)  # a frame's header, and its Xing/Info tag if it has one
    except OSError:
        return False
    head = mp3.frame(data)
    tag = None if head is None else mp3.info_tag(data[:head.size], head)
    return tag is not None and tag.frames is not None


class _DecoderNotes:
    """libmpg123's own lines on standard error while an MP3 is read, caught (they would show past ``-q``, beside
    tsae's own line) and told in one :class:`AudioWarning` naming the file when it was read to its end."""

    def __init__(self, path: str | os.PathLike, subtype: str) -> None:
        self.path = path
        self.active = subtype.upper().startswith("MPEG_")
        self.lines: list[str] = []

    @contextlib.contextmanager
    def caught(self) -> Iterator[None]:
        """Catch what the decoder prints inside the block (one library call: what other threads print is caught too)."""
        if not self.active:
            yield
            return
        with captured_stderr() as lines:
            yield
        self.lines += lines

    def report(self) -> None:
        """One :class:`AudioWarning` with the decoder's first note (and how many others), when it printed any."""
        notes = list(dict.fromkeys(_NOTE_PREFIX.sub("", line).strip() for line in self.lines if line.strip()))
        if notes:
            more = f" (and {len(notes) - 1} other notes)" if len(notes) > 1 else ""
            warnings.warn(f"{self.path}: the MP3 decoder says: {notes[0]}{more}", AudioWarning, stacklevel=3)


#: how libmpg123 starts a line: "[src/libmpg123/parse.c:123] error: ", "Warning: ", "Note: "
_NOTE_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)?(warning|note|error):\s*", re.IGNORECASE)


#: the loudest sample a reader passes on (full scale is 1); louder ones are clipped to it
LOUDEST = 1000.0


class AudioWarning(UserWarning):
    """An audio file was read, but some of its samples had to be repaired (see :class:`_SampleRepair`)."""


class _SampleRepair:
    """Repairs the samples of one float file as it is read, and tells what it did once, at the end."""

    def __init__(self, path: str | os.PathLike, subtype: str, gaps: bool = False) -> None:
        self.path = path
        self.gaps = gaps  # NaN and inf are missing samples (NaN) for the series commands, silence for the denoiser
        self.active = subtype.upper() in {"FLOAT", "DOUBLE"}  # integer PCM is always finite and in [-1, 1]
        self.samples = self.non_finite = self.clipped = 0
        self.peak = 0.0

    def __call__(self, data: np.ndarray) -> np.ndarray:
        self.samples += data.size
        if not self.active:
            return data
        bad = ~np.isfinite(data)
        if bad.any():
            self.non_finite += int(bad.sum())
            data = np.where(bad, data.dtype.type(np.nan if self.gaps else 0.0), data)
        with np.errstate(invalid="ignore"):
            loud = np.abs(data) > LOUDEST
        if loud.any():
            self.clipped += int(loud.sum())
            self.peak = max(self.peak, float(np.abs(data).max()))
            data = np.clip(data, -LOUDEST, LOUDEST)
        return data

    def report(self) -> None:
        """One :class:`AudioWarning` naming the file when a sample was repaired."""
        parts = []
        if self.non_finite:
            read_as = "missing" if self.gaps else "silence"
            parts.append(f"{self.non_finite} of {self.samples} samples are NaN or infinite (read as {read_as})")
        if self.clipped:
            parts.append(f"{self.clipped} samples are up to {self.peak:.3g} times full scale "
                         f"(clipped to {LOUDEST:g}; was the file scaled by mistake?)")
        if parts:
            warnings.warn(f"{self.path}: {'; '.join(parts)}", AudioWarning, stacklevel=3)


@dataclass
class AudioFile:
    """Decoded audio: ``data`` is float32 (float64 for DOUBLE) ``(channels, n)``, in [-1, 1] for PCM sources."""

    data: np.ndarray
    sample_rate: int
    subtype: str
    format: str
    #: the speaker positions of the channels of a WAVEX or RF64 file (:attr:`AudioInfo.channel_mask`), else None
    channel_mask: int | None = None

    @property
    def channels(self) -> int:
        return int(self.data.shape[0])

    @property
    def duration(self) -> float:
        return self.data.shape[1] / float(self.sample_rate)


@dataclass
class AudioInfo:
    """What :func:`audio_info` reports about a file without decoding it."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    subtype: str
    format: str
    #: a WAV whose header gives no length (a recorder that crashed, a stream saved to a file): read to its end
    streamed: bool = False
    #: the speaker positions of the channels (``dwChannelMask``) of a WAVEX or RF64 file; None for other formats
    channel_mask: int | None = None
    #: an MP3 libsndfile reads short (:func:`_mp3_parts`): the streams read in its place, one after the other;
    #: each announces its length (a Xing/Info frame count), and ``frames`` is their sum
    mp3_parts: tuple[mp3.Part, ...] = field(default=(), repr=False)


def _sf():
    import soundfile

    return soundfile


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Check that ``path`` is a readable, non-empty audio file and describe it.

    Raises
    ------
    ValueError
        ``"<path>: <problem>"`` for a missing, empty, corrupt, non-audio or
        zero-length file.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file")
    info = _open_info(path)
    if info.frames <= 0 and info.format in ("WAV", "WAVEX"):
        info = _streamed_wav(path) or info
    cut = ogg.cut_short(path, samples=info.frames > 0) if info.format == "OGG" else None
    if cut:
        raise ValueError(f"{path}: {cut}")
    if info.format == "MP3" and info.subtype.upper() == "MPEG_LAYER_III":
        info.mp3_parts, info.frames = _mp3_parts(info) or ((), info.frames)
    if info.frames <= 0:
        raise ValueError(f"{path}: no audio samples (zero length)")
    if info.sample_rate <= 0 or info.channels <= 0:
        raise ValueError(f"{path}: invalid header (sample rate {info.sample_rate}, {info.channels} channels)")
    short = _wav_shortfall(path) if info.format in ("WAV", "WAVEX") else _shortfall(info)
    if short:
        raise _ends_early(path, *short)
    if info.format in _MASKED_FORMATS:
        info.channel_mask = channel_mask(path)
    return info


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


def _streamed_wav(path: Path) -> AudioInfo | None:
    """A WAV whose data size says "unknown" (0, as a crashed recorder leaves it), described from its samples.

    libsndfile reads such a file as empty; a pipe reads it to its end
    (:func:`~tsae.io.audio_stream.read_wav_header`), and so does a file now.
    """
    layout = _wav_layout(path)
    if layout is None:
        return None
    fmt, size, there = layout
    frames = there // fmt.frame_bytes
    if size is not None or frames <= 0:
        return None
    return AudioInfo(path, fmt.sample_rate, fmt.channels, frames, fmt.subtype, "WAV", streamed=True)


def _streamed_blocks(info: AudioInfo, block: int) -> Iterator[np.ndarray]:
    """The samples of a streamed WAV (see :func:`_streamed_wav`), ``(channels, <= block)`` float32."""
    from tsae.io.audio_stream import AudioStreamReader

    with open(info.path, "rb") as f:
        yield from AudioStreamReader.wav(f, str(info.path)).blocks(block)


def _mp3_parts(info: AudioInfo) -> tuple[tuple[mp3.Part, ...], int] | None:
    """The streams an MP3 is read as when libsndfile alone would stop before its last frame, and the sample
    frames they announce; None when libsndfile reads the whole file, or when the frames cannot be walked (then
    libsndfile reads it as it always did).

    libsndfile stops at the length libmpg123 announces: a Xing/Info frame count (of the first file only, in
    files joined with ``cat``) or, without one, an estimate from the file's size and first bitrate (far short
    for a VBR file that starts loud). Each part is a file joined on (:func:`tsae.io.mp3.parts`): decoded as it
    is alone, with its own encoder delay and padding cut.
    """
    sf = _sf()
    try:
        with open(info.path, "rb") as f:
            stream = mp3.walk(f)
            if stream is None or not _read_short(stream, info.frames):
                return None
            parts = tuple(mp3.parts(stream))
            announced = 0
            with captured_stderr():  # the reader catches what libmpg123 says again, as it reads
                for part in parts:
                    with sf.SoundFile(mp3.Spliced(f, part)) as handle:
                        if (handle.samplerate, handle.channels) != (info.sample_rate, info.channels):
                            return None
                        announced += int(handle.frames)
    except (OSError, RuntimeError, TypeError):  # LibsndfileError is a RuntimeError
        return None
    return parts, announced


def _read_short(stream: mp3.Stream, frames: int) -> bool:
    """Whether libsndfile, announcing ``frames`` sample frames, would stop before the last of ``stream``'s frames.

    A file with one Xing/Info count is read as far as it says (a count beyond the frames there is a file
    cut short); one without, as far as the estimate, while an estimate beyond the frames there is harmless.
    """
    if len(stream.segments) > 1:
        return True
    segment = stream.segments[0]
    if segment.announced is not None:
        return segment.frames > segment.announced
    return segment.frames * stream.first.samples > frames


#: containers libsndfile does not read (AAC, ALAC, WMA, AMR, video files) that people record speech in
_FOREIGN_AUDIO_SUFFIXES = (".m4a", ".mp4", ".aac", ".alac", ".wma", ".amr", ".3gp", ".webm", ".mkv", ".mov", ".caf")


def _convert_hint(path: Path) -> str:
    """How to read a file in a container libsndfile does not know (by its suffix), or nothing."""
    suffix = path.suffix.lower()
    if suffix not in _FOREIGN_AUDIO_SUFFIXES:
        return ""
    return f"; {suffix} files are not read here: convert it first (e.g. ffmpeg -i {path.name} {path.stem}.wav)"


def _open_info(path: Path) -> AudioInfo:
    """What libsndfile says of ``path`` on opening it, or a ``ValueError`` naming it.

    libmpg123 prints notes of its own when it opens a damaged MP3: they are caught, and left to the
    reader's one warning (:class:`_DecoderNotes`); caught from another file, they are passed on as they were.
    """
    sf = _sf()
    with captured_stderr() as printed:
        try:
            with sf.SoundFile(str(path)) as f:
                info = AudioInfo(path, int(f.samplerate), int(f.channels), int(f.frames), str(f.subtype),
                                 str(f.format))
        except (RuntimeError, sf.LibsndfileError, TypeError) as error:  # LibsndfileError subclasses RuntimeError
            info, detail = None, _detail(error)
    if info is None:
        cut = ogg.cut_short(path, samples=False)
        reason = cut or f"not a readable audio file ({detail}){_convert_hint(path)}"
        raise ValueError(f"{path}: {reason}")
    if printed and not _DecoderNotes(path, info.subtype).active:
        sys.stderr.write("".join(f"{line}\n" for line in printed))
    return info


def _detail(error: BaseException) -> str:
    """libsndfile's reason without the "Error opening '<path>':" prefix."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if text.startswith("Error opening") and "': " in text:
        text = text.split("': ", 1)[1]
    return text.rstrip(".")


def _read_dtype(subtype: str) -> str:
    """float32, which holds every PCM sample up to 24 bits exactly; float64 for a DOUBLE file (it has more)."""
    return "float64" if subtype.upper() == "DOUBLE" else "float32"


def read_audio(path: str | os.PathLike, *, gaps: bool = False) -> AudioFile:
    """Read a whole audio file as float32 ``(channels, n)`` (float64 for a DOUBLE file).

    A float file's NaN and infinite samples are read as silence (0), or with ``gaps``
    as missing samples (NaN, for the series commands), with a warning naming the file.

    Raises
    ------
    ValueError
        ``"<path>: <problem>"`` when the file is missing, empty, corrupt, not audio
        or has no samples.
    """
    info = audio_info(path)
    if info.streamed:
        data, sr = np.concatenate(list(_streamed_blocks(info, 1 << 20)), axis=1).T, info.sample_rate
        repair = _SampleRepair(path, info.subtype, gaps)
        data = repair(data)
        repair.report()
        return AudioFile(np.ascontiguousarray(data.T), int(sr), info.subtype, info.format, info.channel_mask)
    sf = _sf()
    notes = _DecoderNotes(path, info.subtype)
    try:
        if info.mp3_parts:
            data, sr = np.concatenate(list(_decoded_blocks(info, 1 << 20, notes))), info.sample_rate
        else:
            with notes.caught():
                data, sr = sf.read(str(path), dtype=_read_dtype(info.subtype), always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as error:
        raise ValueError(f"{path}: corrupt audio data ({_detail(error)})") from None
    if data.shape[0] == 0:
        raise ValueError(f"{path}: no audio samples (zero length)")
    _check_complete(info, data.shape[0])
    notes.report()
    repair = _SampleRepair(path, info.subtype, gaps)
    data = repair(data)
    repair.report()
    return AudioFile(np.ascontiguousarray(data.T), int(sr), info.subtype, info.format, info.channel_mask)


def iter_audio_blocks(path: str | os.PathLike, block: int, *, gaps: bool = False,
                      info: AudioInfo | None = None) -> Iterator[np.ndarray]:
    """Yield consecutive float32 blocks ``(channels, <= block)`` of an audio file (float64 for a DOUBLE file).

    Memory stays bounded by ``block`` whatever the file length; ``gaps`` as for :func:`read_audio`;
    ``info``: what :func:`audio_info` said of ``path``, when the caller has it (the file is not probed
    again: its header, an Ogg file's pages, an MP3's frames).
    """
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    info = audio_info(path) if info is None else info
    repair = _SampleRepair(path, info.subtype, gaps)
    if info.streamed:
        for data in _streamed_blocks(info, block):
            yield np.ascontiguousarray(repair(data))
        repair.report()
        return
    sf = _sf()
    notes = _DecoderNotes(path, info.subtype)
    frames = 0
    try:
        for data in _decoded_blocks(info, block, notes):
            frames += data.shape[0]
            yield np.ascontiguousarray(repair(data).T)
    except sf.LibsndfileError as error:
        raise ValueError(f"{path}: corrupt audio data ({_detail(error)})") from None
    _check_complete(info, frames)
    notes.report()
    repair.report()


def _decoded_blocks(info: AudioInfo, block: int, notes: _DecoderNotes) -> Iterator[np.ndarray]:
    """Blocks ``(<= block, channels)`` as libsndfile decodes them from the file, or from its MP3 parts in turn."""
    sf = _sf()
    with contextlib.ExitStack() as stack:
        if info.mp3_parts:
            raw = stack.enter_context(open(info.path, "rb"))
            sources: list[str | mp3.Spliced] = [mp3.Spliced(raw, part) for part in info.mp3_parts]
        else:
            sources = [str(info.path)]
        for source in sources:
            with notes.caught():
                handle = sf.SoundFile(source)
            if notes.active:
                # soundfile seeks to where it stands after each read; libsndfile passes that on to libmpg123, whose
                # seek restarts decoding without the bit reservoir of the frames before (wrong samples after every
                # block, "part2_3_length too large"). Read as from a stream, which soundfile never seeks.
                handle.seekable = lambda: False
            with handle:
                while True:
                    with notes.caught():  # each read alone: never across the yield, where the caller prints
                        data = handle.read(block, dtype=_read_dtype(info.subtype), always_2d=True)
                    if data.shape[0] == 0:
                        break
                    yield data


def format_for(path: str | os.PathLike, format: str | None = None) -> str:
    """The soundfile format name for ``path`` (from ``format`` or the suffix)."""
    if format:
        return format.upper()
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMAT_BY_SUFFIX:
        raise ValueError(f"{path}: unknown audio suffix {suffix!r} (use one of {', '.join(AUDIO_SUFFIXES)})")
    return _FORMAT_BY_SUFFIX[suffix]


def format_like(path: str | os.PathLike, source_format: str | None) -> str:
    """The soundfile format for an output at ``path`` written from an input of ``source_format``.

    The suffix's format, except that a ``.wav`` output of an RF64 input stays RF64 (a plain
    WAV breaks beyond 4 GiB) and of a WAVEX input stays WAVEX (its channel mask; see
    :func:`open_audio_writer`'s ``channel_mask``).

    Examples
    --------
    >>> format_like("out.wav", "RF64"), format_like("out.wav", "WAVEX"), format_like("out.flac", "RF64")
    ('RF64', 'WAVEX', 'FLAC')
    """
    fmt = format_for(path)
    source = (source_format or "").upper()
    return source if fmt == "WAV" and source in _MASKED_FORMATS else fmt


#: for an input subtype, what to write in its place, deepest first, when the output format lacks it
_DEEPEST_FIRST = {"DOUBLE": ("DOUBLE", "FLOAT", "PCM_32", "PCM_24", "PCM_16"),
                  "FLOAT": ("FLOAT", "PCM_32", "PCM_24", "PCM_16"),
                  "PCM_32": ("PCM_32", "PCM_24", "PCM_16"),
                  "PCM_24": ("PCM_24", "PCM_16")}
#: lossy codecs, kept only in their own container (libsndfile says WAV can hold MP3 data but cannot write it)
_CODEC_FORMATS = {"VORBIS": "OGG", "OPUS": "OGG", "MPEG_LAYER_I": "MP3", "MPEG_LAYER_II": "MP3",
                  "MPEG_LAYER_III": "MP3"}


def output_subtype(path: str | os.PathLike, subtype: str | None, format: str | None = None) -> str:
    """The sample format an audio file at ``path`` is written in when ``subtype`` is asked for
    (the deepest its format holds when it cannot hold ``subtype``; the codec a suffix names, ``.opus``).

    Examples
    --------
    >>> output_subtype("x.flac", "FLOAT"), output_subtype("x.opus", "PCM_16"), output_subtype("x.ogg", "OPUS")
    ('PCM_24', 'OPUS', 'OPUS')
    """
    fmt = format_for(path, format)
    return _suffix_codec(path, fmt) or _subtype_for(fmt, subtype)


def _suffix_codec(path: str | os.PathLike, format: str) -> str | None:
    """The codec ``path``'s suffix names (``.opus``: ``"OPUS"``) when written as ``format``, else None."""
    codec = _CODEC_BY_SUFFIX.get(Path(path).suffix.lower())
    return codec if codec is not None and _CODEC_FORMATS[codec] == format else None


def _writer_subtype(path: str | os.PathLike, format: str, subtype: str | None, sample_rate: int) -> str:
    """What :func:`open_audio_writer` writes: :func:`output_subtype`, except that an Opus input's codec kept in a
    ``.ogg`` at a rate Opus cannot take is Vorbis (a ``.opus`` output at such a rate is refused before)."""
    sub = _suffix_codec(path, format) or _subtype_for(format, subtype)
    if sub == "OPUS" and sample_rate not in _OPUS_RATES and _suffix_codec(path, format) is None:
        return _sf().default_subtype(format)
    return sub


def _subtype_for(format: str, subtype: str | None) -> str:
    """The input's ``subtype`` where ``format`` can write it, else the deepest one it can, else its default."""
    sf = _sf()
    sub = (subtype or "").upper()
    if sub in _CODEC_FORMATS:
        return sub if _CODEC_FORMATS[sub] == format and sf.check_format(format, sub) else sf.default_subtype(format)
    for candidate in _DEEPEST_FIRST.get(sub, (sub,) if sub else ()):
        if sf.check_format(format, candidate):
            return candidate
    return sf.default_subtype(format)


#: what libsndfile's encoders accept, checked before writing: beyond, libvorbis crashes the process (256 kHz)
#: and the others fail with a message about the hidden temporary file
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_LIMITS = {"OGG": (192000, 255), "FLAC": (655350, 8), "MP3": (48000, 2)}


def check_writable(path: str | os.PathLike, sample_rate: int, channels: int, format: str | None = None) -> str:
    """The format of ``path`` when it can hold audio of this rate and channel count, else a ``ValueError``.

    Examples
    --------
    >>> check_writable("x.flac", 48000, 2)
    'FLAC'
    >>> check_writable("x.ogg", 384000, 1)
    Traceback (most recent call last):
    ...
    ValueError: x.ogg: OGG holds at most 192000 Hz, not 384000 Hz (write .wav or .flac)
    >>> check_writable("x.opus", 44100, 2)
    Traceback (most recent call last):
    ...
    ValueError: x.opus: Opus holds 8000, 12000, 16000, 24000 or 48000 Hz, not 44100 Hz (write .ogg, .flac or .wav)
    """
    fmt = format_for(path, format)
    if _suffix_codec(path, fmt) == "OPUS" and sample_rate not in _OPUS_RATES:
        rates = f"{', '.join(map(str, _OPUS_RATES[:-1]))} or {_OPUS_RATES[-1]}"
        raise ValueError(f"{path}: Opus holds {rates} Hz, not {sample_rate} Hz (write .ogg, .flac or .wav)")
    if fmt not in _LIMITS:
        return fmt
    top_rate, top_channels = _LIMITS[fmt]
    if sample_rate > top_rate or (fmt == "MP3" and sample_rate not in _MP3_RATES):
        rates = f"one of {', '.join(map(str, _MP3_RATES))} Hz" if fmt == "MP3" else f"at most {top_rate} Hz"
        # the lossless formats that hold this rate: never the refusing format itself, nor FLAC beyond its own limit
        others = [suffix for other, suffix in (("WAV", ".wav"), ("FLAC", ".flac"))
                  if other != fmt and sample_rate <= _LIMITS.get(other, (sample_rate, 0))[0]]
        raise ValueError(f"{path}: {fmt} holds {rates}, not {sample_rate} Hz (write {' or '.join(others)})")
    if channels > top_channels:
        raise ValueError(f"{path}: {fmt} holds at most {top_channels} channels, not {channels} (write .wav)")
    return fmt


def _write_error(path: str | os.PathLike, error: BaseException) -> ValueError:
    """One line about a failed write, naming the output (not its hidden temporary file)."""
    detail = _detail(error)
    hint = "; is the disk full?" if "System error" in detail or getattr(error, "errno", None) == 28 else ""
    return ValueError(f"{path}: cannot write it ({detail}{hint})")


#: bits of the integer PCM subtypes, which tsae rounds to itself (libsndfile's float conversion
#: truncates towards minus infinity: up to one step off, half a step low on average)
_PCM_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}


def _prepare(data: np.ndarray, subtype: str) -> np.ndarray:
    """(channels, n) -> (n, channels), NaN-free, for libsndfile to write as ``subtype``.

    Integer PCM comes out as int32 samples rounded to the nearest step of the subtype
    (clipped to full scale), which libsndfile stores exactly; DOUBLE as float64; the
    others (FLOAT, codecs) as float32, clipped to [-1, 1] unless FLOAT.
    """
    sub = subtype.upper()
    data = np.asarray(data, dtype=np.float64 if sub in _PCM_BITS or sub == "DOUBLE" else np.float32)
    if data.ndim == 1:
        data = data[None]
    out = np.nan_to_num(data.T, nan=0.0, posinf=1.0, neginf=-1.0)
    bits = _PCM_BITS.get(sub)
    if bits is not None:
        top = float(2 ** (bits - 1))
        steps = np.clip(np.rint(out * top), -top, top - 1)
        return np.ascontiguousarray((steps * 2.0 ** (32 - bits)).astype(np.int32))
    if sub != "FLOAT" and sub != "DOUBLE":
        out = np.clip(out, -1.0, 1.0)
    return np.ascontiguousarray(out)


class AudioWriter:
    """Write audio block by block; used as a context manager from :func:`open_audio_writer`."""

    def __init__(self, handle, subtype: str, path: str | os.PathLike = "") -> None:
        self._handle = handle
        self.subtype = subtype
        self.path = path

    def write(self, data: np.ndarray) -> None:
        """Append float samples ``(channels, n)`` (or ``(n,)`` for mono).

        Raises
        ------
        ValueError
            Naming the output, when the samples cannot be written (a full disk).
        """
        block = _prepare(data, self.subtype)
        if block.shape[0]:
            try:
                self._handle.write(block)
            except (RuntimeError, OSError) as error:  # LibsndfileError is a RuntimeError
                raise _write_error(self.path, error) from None


@contextlib.contextmanager
def open_audio_writer(
    path: str | os.PathLike,
    sample_rate: int,
    channels: int,
    *,
    subtype: str | None = None,
    format: str | None = None,
    protect: tuple[str | os.PathLike, ...] = (),
    channel_mask: int | None = None,
) -> Iterator[AudioWriter]:
    """Atomically write an audio file block by block (bounded memory).

    The file appears at ``path`` only when the ``with`` block finishes without error.
    ``channel_mask`` (an input's :attr:`AudioInfo.channel_mask`) is written into the header
    of a WAVEX or RF64 output; other formats have no place for it.
    """
    sf = _sf()
    fmt = check_writable(path, int(sample_rate), int(channels), format)
    sub = _writer_subtype(path, fmt, subtype, int(sample_rate))
    with atomic_path(path, protect=protect) as tmp:
        try:
            handle = sf.SoundFile(str(tmp), "w", samplerate=int(sample_rate), channels=int(channels),
                                  subtype=sub, format=fmt)
        except (RuntimeError, OSError) as error:
            raise ValueError(f"{path}: cannot write {fmt} ({sub}) at {int(sample_rate)} Hz with {int(channels)} "
                             f"channel(s) ({_detail(error)})") from None
        with handle:
            yield AudioWriter(handle, sub, path)
        try:
            if channel_mask is not None and fmt in _MASKED_FORMATS:
                _put_channel_mask(tmp, channel_mask)
            if sub in ("FLOAT", "DOUBLE"):  # the same samples are the same bytes, whenever they are written
                _clear_peak_time(tmp)
            if fmt == "OGG":  # and so for Ogg, whose stream serial libogg draws at random
                ogg.fix_serial(tmp)
        except OSError as error:
            raise _write_error(path, error) from None


def write_audio(
    path: str | os.PathLike,
    data: np.ndarray,
    sample_rate: int,
    subtype: str | None = None,
    format: str | None = None,
    *,
    protect: tuple[str | os.PathLike, ...] = (),
    channel_mask: int | None = None,
) -> Path:
    """Atomically write ``data`` (``(channels, n)`` or ``(n,)``) to ``path``.

    ``format`` defaults to the suffix's format, ``subtype`` to that format's default
    (an unsupported subtype falls back to the default). Integer subtypes are clipped
    to [-1, 1]. ``channel_mask`` goes into a WAVEX or RF64 header (see :func:`open_audio_writer`).
    """
    data = np.asarray(data)
    data = data if data.dtype == np.float64 else data.astype(np.float32)  # float64 stays for a DOUBLE file
    channels = 1 if data.ndim == 1 else data.shape[0]
    with open_audio_writer(path, sample_rate, channels, subtype=subtype, format=format, protect=protect,
                           channel_mask=channel_mask) as w:
        w.write(data)
    return Path(path)
