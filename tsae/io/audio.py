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

This module reads; writing is :mod:`~tsae.io.audio_write`, what a header declares (and its channel
mask, a float file's PEAK chunk) :mod:`~tsae.io.audio_header`, and soundfile itself
:mod:`~tsae.io.libsndfile`. Every public name of those is imported from here too.
"""
from __future__ import annotations

import contextlib
import os
import re
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tsae.io import mp3, ogg
from tsae.io.audio_header import (
    _MASKED_FORMATS,
    _shortfall,
    _wav_layout,
    _wav_shortfall,
    channel_mask,
    coded_wav_layout,
)
from tsae.io.audio_write import (
    AudioWriter,
    check_writable,
    format_for,
    format_like,
    open_audio_writer,
    output_subtype,
    write_audio,
)
from tsae.io.c_stderr import captured_stderr, to_stderr
from tsae.io.flac_length import flac_total_frames
from tsae.io.libsndfile import _detail, _sf, _sf_name
from tsae.io.paths import AUDIO_SUFFIXES, PIPE_OR_DEVICE
from tsae.io.spliced import Part, Spliced

#: formats whose header says exactly how many sample frames follow (MP3's count is an estimate, but see
#: :func:`_mp3_counted`)
_EXACT_LENGTH_FORMATS = {"WAV", "WAVEX", "W64", "RF64", "AIFF", "AU", "FLAC", "OGG"}


def _ends_early(path: str | os.PathLike, frames: int, announced: int) -> ValueError:
    return ValueError(f"{path}: file ends after {frames} of the {announced} sample frames its header announces "
                      "(truncated or corrupt)")


def _check_complete(info: AudioInfo, frames: int) -> None:
    """Raise when fewer than the announced sample frames could be read (a truncated or corrupt file)."""
    exact = info.format in _EXACT_LENGTH_FORMATS or (info.format == "MP3" and bool(info.parts or
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


class InexactAudioError(ValueError):
    """A float audio file read ``exact`` holds a sample the reader would change (NaN, infinite, or beyond
    :data:`LOUDEST`): one line naming the file, the first such sample and what it is."""


class _SampleRepair:
    """Repairs the samples of one float file as it is read, and tells what it did once, at the end; ``exact``:
    refuses the first sample it would change instead (:class:`InexactAudioError`)."""

    def __init__(self, path: str | os.PathLike, subtype: str, gaps: bool = False, exact: bool = False) -> None:
        self.path = path
        self.gaps = gaps  # NaN and inf are missing samples (NaN) for the series commands, silence for the denoiser
        self.exact = exact
        self.active = subtype.upper() in {"FLOAT", "DOUBLE"}  # integer PCM is always finite and in [-1, 1]
        self.samples = self.frames = self.non_finite = self.clipped = 0
        self.peak = 0.0

    def __call__(self, data: np.ndarray) -> np.ndarray:
        """Repair the samples ``(frames, channels)`` read next."""
        self.samples += data.size
        self.frames += data.shape[0]
        if not self.active:
            return data
        if self.exact:  # refuses any sample it would change: none is left to repair
            self._refuse_changes(data)
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

    def _refuse_changes(self, data: np.ndarray) -> None:
        """:class:`InexactAudioError` at the first sample of ``data`` that would be repaired."""
        with np.errstate(invalid="ignore"):
            changed = ~(np.abs(data) <= LOUDEST)  # NaN too
        if not changed.any():
            return
        frame, channel = np.unravel_index(int(np.argmax(changed)), changed.shape)
        value = float(data[frame, channel])
        read_as = "missing" if self.gaps else "silence"
        rule = (f"NaN and infinite samples are read as {read_as}" if not np.isfinite(value)
                else f"samples beyond {LOUDEST:g} times full scale are clipped to it")
        raise InexactAudioError(f"{self.path}: sample {self.frames - data.shape[0] + frame} of channel {channel} is "
                                f"{value:g} ({rule})")

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
    #: the streams read in the file's place, one after the other: an MP3 libsndfile reads short (:func:`_mp3_parts`;
    #: each announces its length, a Xing/Info frame count, and ``frames`` is their sum), or an ADPCM, GSM 6.10,
    #: mu-law or A-law WAV whose header gives no length (:func:`_coded_streamed_wav`: the header put right)
    parts: tuple[Part, ...] = field(default=(), repr=False)


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
        raise ValueError(f"{path}: is a folder, not an audio file")
    if not path.is_file():  # a FIFO (`tsae denoise <(...)`), a device: read whole twice, it would hang or never end
        raise ValueError(f"{path}: {PIPE_OR_DEVICE} (pipe audio to standard input instead)")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file")
    info = _open_info(path)
    if info.frames <= 0 and info.format in ("WAV", "WAVEX"):  # a length of 0: a PCM or a coded WAV read to its end
        streamed = _streamed_wav(path)
        if streamed is not None:
            info = streamed
        else:
            info.parts, info.frames = _coded_streamed_wav(path) or ((), info.frames)
    if info.format == "FLAC":
        stream = _flac_before_id3v1(path)
        info.parts = () if stream is None else (stream,)
        if info.frames >= _UNKNOWN_FRAMES:  # from its last frame's header, or by decoding it
            info.frames = flac_total_frames(path, None if stream is None else stream.size) or _counted_frames(info)
    if info.format == "OGG":
        walked = ogg.walk(path)
        cut = ogg.cut_short(walked, samples=info.frames > 0)
        if cut:
            raise ValueError(f"{path}: {cut}")
        info.parts, info.frames = _ogg_parts(info, walked) or ((), info.frames)
    if info.format == "MP3" and info.subtype.upper() == "MPEG_LAYER_III":
        info.parts, info.frames = _mp3_parts(info) or ((), info.frames)
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


#: the size of an ID3v1 tag, which some taggers append to any audio file, FLAC included: "TAG" and 125 bytes
_ID3V1_SIZE = 128


def _flac_before_id3v1(path: Path) -> Part | None:
    """The FLAC stream of ``path`` without the ID3v1 tag after its last frame, or None when it ends in no such tag.

    libFLAC reads the tag as a frame and stops with "flac decoder lost sync" (the whole file unread, whether its
    header gives its length or not); other decoders (ffmpeg, foobar2000) skip it. The last 128 bytes starting
    with "TAG" are taken as a tag only where the file's last frame does not end the file (a frame whose data
    happens to hold "TAG" there is left alone).
    """
    size = path.stat().st_size
    if size < _ID3V1_SIZE + 42:  # fLaC, STREAMINFO and a frame come first
        return None
    with open(path, "rb") as f:
        f.seek(size - _ID3V1_SIZE)
        if f.read(3) != b"TAG":
            return None
    if flac_total_frames(path) is not None:
        return None
    return Part(b"", ((0, size - _ID3V1_SIZE),))


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


def _coded_streamed_wav(path: Path) -> tuple[tuple[Part, ...], int] | None:
    """An ADPCM, GSM 6.10, mu-law or A-law WAV whose data size says "unknown" (0, as a crashed recorder leaves it),
    as one stream whose header declares every byte after it, and the sample frames libsndfile finds there; None
    for another file.

    libsndfile reads such a file as empty, and a pipe does not decode ADPCM or GSM (:func:`_streamed_wav`
    reads a PCM, float, mu-law or A-law one; the last two come here where the pipe's reader refuses the header);
    the header is put right in the stream libsndfile is given, never in the file.
    """
    sf = _sf()
    try:
        with open(path, "rb") as f:
            layout = coded_wav_layout(f)
            there = os.fstat(f.fileno()).st_size - layout[0] if layout else 0
            if layout is None or layout[1] != 0 or there < layout[2]:  # a length, or not one block
                return None
            f.seek(0)
            header = bytearray(f.read(layout[0]))
            header[4:8] = struct.pack("<I", min(len(header) + there - 8, 0xFFFFFFFF))  # RIFF size
            header[-4:] = struct.pack("<I", min(there, 0xFFFFFFFF))  # the data chunk's size
            part = Part(bytes(header), ((len(header), there),))
            with sf.SoundFile(Spliced(f, part)) as stream:
                frames = int(stream.frames)
    except (OSError, struct.error, RuntimeError, sf.LibsndfileError):
        return None
    return ((part,), frames) if frames > 0 else None


def _ogg_parts(info: AudioInfo, walked: list[ogg.Page]) -> tuple[tuple[Part, ...], int] | None:
    """The streams an Ogg file holds one after the other (chained: files joined with ``cat``), each read as the
    file it was, and their sample frames; None for one stream. libsndfile alone reads the first stream only.

    Raises
    ------
    ValueError
        Naming the file, when the streams differ in rate or channels, or one cannot be read.
    """
    ranges = ogg.chained(walked)
    if ranges is None:
        return None
    sf = _sf()
    parts = tuple(Part(b"", ((start, size),)) for start, size in ranges)
    frames = 0
    with open(info.path, "rb") as f:
        for number, part in enumerate(parts, 1):
            try:
                with sf.SoundFile(Spliced(f, part)) as stream:
                    rate, channels, frames = int(stream.samplerate), int(stream.channels), frames + int(stream.frames)
            except (RuntimeError, sf.LibsndfileError) as error:
                raise ValueError(f"{info.path}: Ogg stream {number} of {len(parts)} (chained) cannot be read "
                                 f"({_detail(error)})") from None
            if (rate, channels) != (info.sample_rate, info.channels):
                raise ValueError(f"{info.path}: its {len(parts)} Ogg streams one after the other (chained) differ: "
                                 f"stream {number} is {rate} Hz, {channels} channel(s), the first {info.sample_rate} "
                                 f"Hz, {info.channels}: split it, or convert it to one stream (e.g. with ffmpeg)")
    return parts, frames


#: what libsndfile gives as the length of a FLAC file whose STREAMINFO has none (SF_COUNT_MAX: a FLAC written to a
#: pipe, ``ffmpeg -f flac -``, ``flac -``, has a total of 0, "unknown")
_UNKNOWN_FRAMES = 2 ** 63 - 1


def _corrupt(info: AudioInfo, error: BaseException) -> ValueError:
    """The one line for data the decoder refused.

    libFLAC's errors ("lost sync": no frame where one should start; "bad header") are told in words: a FLAC cut
    mid-frame or damaged gives them, and libsndfile's own text says neither.
    """
    detail = _detail(error)
    if info.format != "FLAC" or "flac decoder" not in detail:
        return ValueError(f"{info.path}: corrupt audio data ({detail})")
    if 0 < info.frames < _UNKNOWN_FRAMES:
        where = f"before the end of the {info.frames} sample frames its header announces"
    else:
        where = "at a frame cut short or damaged, or at other bytes after its last frame"
    return ValueError(f"{info.path}: truncated or damaged FLAC file: decoding broke off {where}")


def _counted_frames(info: AudioInfo) -> int:
    """The sample frames of a FLAC file whose header gives no length, counted by decoding it (bounded memory;
    a minute of audio takes about 10 ms), or a ``ValueError`` naming it when its data is corrupt.

    Only where :func:`~tsae.io.flac_length.flac_total_frames` cannot tell it from the last frame's header (a file
    cut short, or with bytes after its last frame): the file is then decoded twice, once here."""
    sf = _sf()
    frames = 0
    try:
        for data in _decoded_blocks(info, 1 << 16, _DecoderNotes(info.path, info.subtype)):
            frames += data.shape[0]
    except (RuntimeError, sf.LibsndfileError) as error:
        raise _corrupt(info, error) from None
    return frames


def _streamed_blocks(info: AudioInfo, block: int) -> Iterator[np.ndarray]:
    """The samples of a streamed WAV (see :func:`_streamed_wav`), ``(channels, <= block)`` float32."""
    from tsae.io.audio_stream import AudioStreamReader

    with open(info.path, "rb") as f:
        yield from AudioStreamReader.wav(f, str(info.path)).blocks(block)


def _mp3_parts(info: AudioInfo) -> tuple[tuple[Part, ...], int] | None:
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
                    with sf.SoundFile(Spliced(f, part)) as handle:
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
            with sf.SoundFile(_sf_name(path)) as f:
                info = AudioInfo(path, int(f.samplerate), int(f.channels), int(f.frames), str(f.subtype),
                                 str(f.format))
        except (RuntimeError, sf.LibsndfileError, TypeError) as error:  # LibsndfileError subclasses RuntimeError
            info, detail = None, _detail(error)
    if info is None:
        unopened = _os_error(path)  # libsndfile says "System error" for any of them
        if unopened:
            raise ValueError(f"{path}: {unopened}")
        if detail.startswith("File does not exist or is not a regular file"):
            detail = "Format not recognised"  # libsndfile's MPEG reader, failing, says so of a file that is there
        cut = ogg.cut_short(ogg.walk(path), samples=False)
        reason = cut or f"not a readable audio file ({detail}){_convert_hint(path)}"
        raise ValueError(f"{path}: {reason}")
    if printed and not _DecoderNotes(path, info.subtype).active:
        to_stderr("".join(f"{line}\n" for line in printed))
    return info


def _os_error(path: Path) -> str | None:
    """Why the system will not open ``path`` for reading (``permission denied``, ...), or None when it will."""
    try:
        with open(path, "rb"):
            return None
    except OSError as error:
        return (error.strerror or type(error).__name__).lower()


def _read_dtype(subtype: str) -> str:
    """float32, which holds every PCM sample up to 24 bits exactly; float64 for a DOUBLE file (it has more)."""
    return "float64" if subtype.upper() == "DOUBLE" else "float32"


def read_audio(path: str | os.PathLike, *, gaps: bool = False, exact: bool = False) -> AudioFile:
    """Read a whole audio file as float32 ``(channels, n)`` (float64 for a DOUBLE file).

    A float file's NaN and infinite samples are read as silence (0), or with ``gaps``
    as missing samples (NaN, for the series commands), and samples beyond :data:`LOUDEST`
    are clipped to it, with a warning naming the file; with ``exact``, such a file is refused.

    Raises
    ------
    InexactAudioError
        With ``exact``: one line naming the file and its first sample that would be changed.
    ValueError
        ``"<path>: <problem>"`` when the file is missing, empty, corrupt, not audio
        or has no samples.
    """
    info = audio_info(path)
    if info.streamed:
        data, sr = np.concatenate(list(_streamed_blocks(info, 1 << 20)), axis=1).T, info.sample_rate
        repair = _SampleRepair(path, info.subtype, gaps, exact)
        data = repair(data)
        repair.report()
        return AudioFile(np.ascontiguousarray(data.T), int(sr), info.subtype, info.format, info.channel_mask)
    sf = _sf()
    notes = _DecoderNotes(path, info.subtype)
    try:
        if info.parts or info.format == "FLAC":  # a FLAC's length may be unknown (see _decoded_blocks)
            data, sr = np.concatenate(list(_decoded_blocks(info, 1 << 20, notes))), info.sample_rate
        else:
            with notes.caught():
                data, sr = sf.read(_sf_name(path), dtype=_read_dtype(info.subtype), always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as error:
        raise _corrupt(info, error) from None
    if data.shape[0] == 0:
        raise ValueError(f"{path}: no audio samples (zero length)")
    _check_complete(info, data.shape[0])
    notes.report()
    repair = _SampleRepair(path, info.subtype, gaps, exact)
    data = repair(data)
    repair.report()
    return AudioFile(np.ascontiguousarray(data.T), int(sr), info.subtype, info.format, info.channel_mask)


def iter_audio_blocks(path: str | os.PathLike, block: int, *, gaps: bool = False, exact: bool = False,
                      info: AudioInfo | None = None) -> Iterator[np.ndarray]:
    """Yield consecutive float32 blocks ``(channels, <= block)`` of an audio file (float64 for a DOUBLE file).

    Memory stays bounded by ``block`` whatever the file length; ``gaps`` and ``exact`` as for :func:`read_audio`
    (with ``exact``, the block that holds a sample the reader would change raises instead of being yielded);
    ``info``: what :func:`audio_info` said of ``path``, when the caller has it (the file is not probed
    again: its header, an Ogg file's pages, an MP3's frames).
    """
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    info = audio_info(path) if info is None else info
    repair = _SampleRepair(path, info.subtype, gaps, exact)
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
        raise _corrupt(info, error) from None
    _check_complete(info, frames)
    notes.report()
    repair.report()


def _decoded_blocks(info: AudioInfo, block: int, notes: _DecoderNotes) -> Iterator[np.ndarray]:
    """Blocks ``(<= block, channels)`` as libsndfile decodes them from the file, or from its MP3 parts in turn."""
    sf = _sf()
    with contextlib.ExitStack() as stack:
        if info.parts:
            raw = stack.enter_context(open(info.path, "rb"))
            sources: list[str | bytes | Spliced] = [Spliced(raw, part) for part in info.parts]
        else:
            sources = [_sf_name(info.path)]
        done = 0  # frames read so far
        for source in sources:
            with notes.caught():
                handle = sf.SoundFile(source)
            if notes.active or info.format == "FLAC":
                # soundfile seeks to where it stands after each read; libsndfile passes that on to libmpg123, whose
                # seek restarts decoding without the bit reservoir of the frames before (wrong samples after every
                # block, "part2_3_length too large"), and to libFLAC, whose seek fails at or beyond the end of a
                # file whose header gives no length or more than is there ("Internal psf_fseek() failed", which
                # hid the samples read). Read as from a stream, which soundfile never seeks.
                handle.seekable = lambda: False
            # a FLAC is read to the length its header (or its last frame) gives, no further: libFLAC takes bytes
            # after the last frame for a frame and stops ("flac decoder lost sync"), dropping the whole file
            left = info.frames if info.format == "FLAC" and 0 < info.frames < _UNKNOWN_FRAMES else None
            # a read that comes back short ends the file, or stops at damaged data: libsndfile's Vorbis reader
            # stops at a damaged page and goes on after it at the next read (the file read whole is cut there)
            short_at = None
            with handle:
                while left is None or left > 0:
                    wanted = block if left is None else min(block, left)
                    with notes.caught():  # each read alone: never across the yield, where the caller prints
                        data = handle.read(wanted, dtype=_read_dtype(info.subtype), always_2d=True)
                    if data.shape[0] == 0:
                        break
                    if short_at is not None:
                        raise ValueError(f"{info.path}: corrupt audio data: decoding broke off after {short_at} "
                                         "sample frames and went on after a damaged stretch")
                    done += data.shape[0]
                    if data.shape[0] < wanted:
                        short_at = done
                    if left is not None:
                        left -= data.shape[0]
                    yield data


__all__ = ["AudioFile", "AudioInfo", "AudioWarning", "InexactAudioError", "LOUDEST", "audio_info", "read_audio",
           "iter_audio_blocks",
           "AudioWriter", "open_audio_writer", "write_audio", "format_for", "format_like", "output_subtype",
           "check_writable", "channel_mask", "AUDIO_SUFFIXES"]
