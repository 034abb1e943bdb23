"""Audio on byte streams (stdin/stdout pipes): WAV with a streaming header, or raw PCM.

A pipe cannot seek, so a WAV written to one carries "unknown length" sizes
(``0xFFFFFFFF``, what ffmpeg and sox write and accept); when the stream is a file
after all (``> out.wav``), the sizes are put right on close. Reading accepts any
WAV header (PCM 8/16/24/32-bit, float 32/64, mu-law and A-law, WAVE_FORMAT_EXTENSIBLE), skips the
chunks before ``data`` and treats a zero or huge data size as "until the end of
the stream". Samples are decoded and encoded by libsndfile (its RAW format), the
same conversions as for audio files, so a pipe and a file give the same samples.
Memory is bounded by the block size.
"""
from __future__ import annotations

import contextlib
import io
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from tsae.io.audio import _read_dtype, _SampleRepair
from tsae.io.audio_write import _prepare
from tsae.io.reading import read_up_to

#: raw PCM sample formats of ``--format``: name -> libsndfile subtype
RAW_FORMATS = {"s16": "PCM_16", "s24": "PCM_24", "s32": "PCM_32", "f32": "FLOAT"}

_BYTES = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8, "ULAW": 1, "ALAW": 1}
_PCM_BY_BITS = {8: "PCM_U8", 16: "PCM_16", 24: "PCM_24", 32: "PCM_32"}
_FLOAT_BY_BITS = {32: "FLOAT", 64: "DOUBLE"}
_TAG_PCM, _TAG_FLOAT, _TAG_ALAW, _TAG_ULAW, _TAG_EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
#: the WAV format tag of each subtype a stream carries, and the subtypes of each tag by bits per sample
_TAG_OF = {**dict.fromkeys(_PCM_BY_BITS.values(), _TAG_PCM), **dict.fromkeys(_FLOAT_BY_BITS.values(), _TAG_FLOAT),
           "ALAW": _TAG_ALAW, "ULAW": _TAG_ULAW}
_SUBTYPES_OF_TAG = {_TAG_PCM: _PCM_BY_BITS, _TAG_FLOAT: _FLOAT_BY_BITS, _TAG_ALAW: {8: "ALAW"}, _TAG_ULAW: {8: "ULAW"}}
#: a declared data size at or above this (or zero) means "until the end of the stream"
_UNKNOWN_SIZE = 0x7FFF0000
_STREAMING_SIZE = 0xFFFFFFFF
#: as many channels as libsndfile reads from a file (SF_MAX_CHANNELS), so a pipe takes what a file does
MAX_STREAM_CHANNELS = 1024


@dataclass(frozen=True)
class StreamFormat:
    """Sample rate, channel count and libsndfile subtype of an audio byte stream."""

    sample_rate: int
    channels: int
    subtype: str

    def __post_init__(self) -> None:
        if self.subtype not in _BYTES:
            raise ValueError(f"unsupported sample format {self.subtype!r} (one of {', '.join(_BYTES)})")
        if not 0 < self.sample_rate <= 1_536_000 or not 0 < self.channels <= MAX_STREAM_CHANNELS:
            raise ValueError(f"invalid stream format: {self.sample_rate} Hz, {self.channels} channel(s) "
                             f"(at most 1536000 Hz and {MAX_STREAM_CHANNELS} channels)")

    @property
    def frame_bytes(self) -> int:
        """Bytes per sample frame (one sample of every channel)."""
        return _BYTES[self.subtype] * self.channels


def raw_format(sample_rate: int, channels: int, sample_format: str) -> StreamFormat:
    """The :class:`StreamFormat` of raw PCM (``sample_format`` a key of :data:`RAW_FORMATS`)."""
    if sample_format not in RAW_FORMATS:
        raise ValueError(f"unknown raw sample format {sample_format!r} (one of {', '.join(RAW_FORMATS)})")
    try:
        return StreamFormat(int(sample_rate), int(channels), RAW_FORMATS[sample_format])
    except ValueError as error:
        raise ValueError(f"--raw: {error}") from None



#: the first bytes of an audio file a stream is not read as, besides those libsndfile reads
#: (:data:`~tsae.io.stream_kind.AUDIO_MAGIC`): what it is
_OTHER_CONTAINERS = ((b"BW64", "a BW64 WAV"),)


def _container(head: bytes) -> str | None:
    """What the audio file whose first bytes are ``head`` is ("a FLAC file"), told as ``tsae smooth -`` tells it
    (:func:`~tsae.io.stream_kind.audio_container`), or None."""
    from tsae.io.stream_kind import audio_container

    found = audio_container(head)
    return found[1] if found else next((kind for magic, kind in _OTHER_CONTAINERS if head.startswith(magic)), None)


def read_wav_header(stream: BinaryIO, name: str = "stdin") -> tuple[StreamFormat, int | None]:
    """Read a WAV header up to the start of its samples.

    Returns
    -------
    (StreamFormat, int or None)
        The format, and the declared number of data bytes (``None``: until the end
        of the stream).

    Raises
    ------
    ValueError
        ``"<name>: <problem>"`` for anything that is not a WAV header tsae can decode.
    """
    head = read_up_to(stream, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        other = _container(head + read_up_to(stream, 4))  # an MP3 frame's header or an AIFF's form: 16 bytes
        what = (("empty (nothing was piped in; expected audio)" if name == "stdin" else "empty") if not head else
                f"{other}, which is read from a file, not from a stream: give the file's name instead of -"
                if other else "not a WAV stream (no RIFF/WAVE header; raw PCM needs --raw --rate --channels)")
        raise ValueError(f"{name}: {what}")
    fmt: StreamFormat | None = None
    while True:
        chunk = read_up_to(stream, 8)
        if len(chunk) < 8:
            raise ValueError(f"{name}: WAV header ends before the audio data")
        kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if kind == b"data":
            if fmt is None:
                raise ValueError(f"{name}: WAV data before its 'fmt ' chunk")
            return fmt, (None if size == 0 or size >= _UNKNOWN_SIZE else size)
        if kind == b"fmt ":
            if not 16 <= size <= 1024:
                raise ValueError(f"{name}: invalid WAV 'fmt ' chunk of {size} bytes")
            fmt = _parse_fmt(read_up_to(stream, size + (size & 1)), name)
        else:
            _skip(stream, size + (size & 1), name)


def _parse_fmt(body: bytes, name: str) -> StreamFormat:
    if len(body) < 16:
        raise ValueError(f"{name}: WAV header ends inside its 'fmt ' chunk")
    tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _TAG_EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
    table = _SUBTYPES_OF_TAG.get(tag, {})
    if bits not in table:
        raise ValueError(f"{name}: unsupported WAV encoding (format tag {tag:#x}, {bits} bits)")
    try:
        fmt = StreamFormat(rate, channels, table[bits])
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    if align != fmt.frame_bytes:
        raise ValueError(f"{name}: inconsistent WAV header (block align {align}, expected {fmt.frame_bytes})")
    return fmt


def _skip(stream: BinaryIO, n: int, name: str) -> None:
    while n > 0:
        got = len(stream.read(min(n, 1 << 16)))
        if got == 0:
            raise ValueError(f"{name}: WAV header ends before the audio data")
        n -= got


def decode(data: bytes, fmt: StreamFormat) -> np.ndarray:
    """Little-endian PCM bytes (whole frames) -> float32 ``(channels, n)`` (float64 for DOUBLE), as libsndfile
    reads files (:func:`~tsae.io.audio.iter_audio_blocks`)."""
    import soundfile as sf

    dtype = _read_dtype(fmt.subtype)  # a DOUBLE sample beyond float32 is clipped by the repair, not made infinite
    if not data:
        return np.zeros((fmt.channels, 0), dtype)
    samples, _ = sf.read(io.BytesIO(data), dtype=dtype, always_2d=True, format="RAW",
                         subtype=fmt.subtype, samplerate=fmt.sample_rate, channels=fmt.channels, endian="LITTLE")
    return np.ascontiguousarray(samples.T)


def encode(block: np.ndarray, fmt: StreamFormat) -> bytes:
    """Float samples ``(channels, n)`` -> little-endian PCM bytes, as libsndfile writes files (clipped)."""
    import soundfile as sf

    samples = _prepare(block, fmt.subtype)
    if not samples.shape[0]:
        return b""
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", samplerate=fmt.sample_rate, channels=fmt.channels, format="RAW",
                      subtype=fmt.subtype, endian="LITTLE") as handle:
        handle.write(samples)
    return buffer.getvalue()


class AudioStreamReader:
    """Blocks of float32 samples ``(channels, <= block)`` (float64 for DOUBLE) from a WAV or raw PCM byte stream.

    After the last block, :attr:`problem` says why the stream ended early (``None``
    when it ended where it should): a WAV whose declared data size was not reached,
    or a last sample frame cut in the middle.
    """

    def __init__(self, stream: BinaryIO, fmt: StreamFormat, *, data_bytes: int | None = None,
                 name: str = "stdin") -> None:
        self.stream = stream
        self.format = fmt
        self.name = name
        self.data_bytes = data_bytes
        self.problem: str | None = None
        self.frames = 0

    @property
    def expected_frames(self) -> int | None:
        """Sample frames the header announces (``None``: unknown, until the end of the stream)."""
        return None if self.data_bytes is None else self.data_bytes // self.format.frame_bytes

    @classmethod
    def wav(cls, stream: BinaryIO, name: str = "stdin") -> AudioStreamReader:
        """A reader of a WAV stream (its header read now)."""
        fmt, size = read_wav_header(stream, name)
        return cls(stream, fmt, data_bytes=size, name=name)

    def _read_some(self, n: int) -> bytes:
        """What the stream has ready, at most ``n`` bytes (waits only when nothing is ready)."""
        read1 = getattr(self.stream, "read1", None)
        return read1(n) if read1 is not None else self.stream.read(n)

    def blocks(self, block: int) -> Iterator[np.ndarray]:
        """Yield the samples as they arrive, at most ``block`` frames at a time (latency: one block)."""
        if block < 1:
            raise ValueError(f"block must be >= 1, got {block}")
        width = self.format.frame_bytes
        left = self.data_bytes
        carry = b""
        repair = _SampleRepair(self.name, self.format.subtype)  # NaN and absurd floats, as files get
        while left is None or left > 0:
            want = block * width - len(carry)
            if left is not None:
                want = min(want, left)
            data = self._read_some(want)
            if not data:
                break
            if left is not None:
                left -= len(data)
            data = carry + data
            whole = len(data) - len(data) % width
            carry = data[whole:]
            if whole:
                self.frames += whole // width
                yield repair(decode(data[:whole], self.format))
        repair.report()
        if carry:
            self.problem = f"{self.name}: stream ended inside a sample frame ({len(carry)} stray byte(s) dropped)"
        elif left:
            self.problem = (f"{self.name}: stream ended early after {self.frames} sample frames "
                            f"of the {self.frames + left // width} its WAV header announced")


class AudioStreamWriter:
    """Write float blocks to a byte stream as WAV or raw PCM, flushing each block.

    A WAV header announces ``frames`` sample frames when the length is known up front
    (a WAV in with a declared size), else the streaming "unknown length" sizes.
    """

    def __init__(self, stream: BinaryIO, fmt: StreamFormat, *, wav: bool = True, frames: int | None = None,
                 name: str = "stdout") -> None:
        self.stream = stream
        self.format = fmt
        self.wav = wav
        self.name = name
        self.data_bytes = 0
        self._start = _tell(stream)
        if wav:
            with self._writing():
                stream.write(wav_header(fmt, None if frames is None else frames * fmt.frame_bytes))
                stream.flush()

    def write(self, block: np.ndarray) -> None:
        """Append float samples ``(channels, n)`` (or ``(n,)`` for mono)."""
        data = encode(block, self.format)
        if data:
            with self._writing():
                self.stream.write(data)
                self.stream.flush()
            self.data_bytes += len(data)

    def close(self) -> None:
        """Finish the stream: put the real sizes in the WAV header when the stream can seek."""
        with self._writing():
            if self._sized():
                end = self.stream.tell()
                self.stream.seek(self._start)  # type: ignore[arg-type]
                self.stream.write(wav_header(self.format, self.data_bytes))
                self.stream.seek(end)
            self.stream.flush()

    def close_after_error(self) -> None:
        """Finish a stream stopped by an error: the sizes of the blocks written go in the WAV header, written past
        what is still buffered (the bytes a full disk refused would be refused again on the way to the header).

        Raises ``OSError`` or ``ValueError`` when even that fails; the caller tells the first error, not this.
        """
        if not self._sized():
            return
        header = wav_header(self.format, self.data_bytes)
        try:
            fd = self.stream.fileno()
        except (OSError, ValueError, AttributeError):  # an in-memory stream: no buffer between it and its bytes
            self.stream.seek(self._start)  # type: ignore[arg-type]
            self.stream.write(header)
            return
        os.pwrite(fd, header, self._start)  # type: ignore[arg-type]

    def _sized(self) -> bool:
        """Whether the header is put right at the end: a WAV on a stream that can seek, of a size a header holds."""
        return self.wav and self._start is not None and self.data_bytes < _STREAMING_SIZE - 36

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A failed write (``> /dev/full``, a full disk) as one ``ValueError`` naming the stream; a reader that
        went away (:class:`BrokenPipeError`) is left to the caller, which exits quietly."""
        try:
            yield
        except BrokenPipeError:
            raise
        except OSError as error:
            raise ValueError(f"{self.name}: cannot write it ({error.strerror or error})") from None


def _tell(stream: BinaryIO) -> int | None:
    """The position of a seekable stream (a file), ``None`` for a pipe or a file opened to append (``>> out.wav``:
    every write lands at its end, so a header rewritten at the start was appended to the samples instead)."""
    try:
        if not stream.seekable():
            return None
        with contextlib.suppress(AttributeError, io.UnsupportedOperation):
            import fcntl

            if fcntl.fcntl(stream.fileno(), fcntl.F_GETFL) & os.O_APPEND:
                return None
        return stream.tell()
    except (OSError, ValueError):
        return None


def wav_header(fmt: StreamFormat, data_bytes: int | None = None) -> bytes:
    """A 44-byte WAV header; ``data_bytes=None`` (or too many for a WAV) writes the "unknown length" sizes."""
    tag = _TAG_OF[fmt.subtype]
    width = _BYTES[fmt.subtype]
    if data_bytes is not None and data_bytes >= _UNKNOWN_SIZE:
        data_bytes = None
    riff = _STREAMING_SIZE if data_bytes is None else 36 + data_bytes
    data = _STREAMING_SIZE if data_bytes is None else data_bytes
    return (b"RIFF" + struct.pack("<I", riff) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, tag, fmt.channels, fmt.sample_rate,
                                    fmt.sample_rate * fmt.frame_bytes, fmt.frame_bytes, 8 * width)
            + b"data" + struct.pack("<I", data))


__all__ = ["RAW_FORMATS", "AudioStreamReader", "AudioStreamWriter", "StreamFormat", "decode", "encode",
           "raw_format", "read_wav_header", "wav_header"]
