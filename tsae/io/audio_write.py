"""Writing audio files: the format and sample format an output gets (from its suffix, and its input's), what each
format can hold (checked before writing), and atomic writing block by block.

Integer subtypes are rounded and clipped to full scale; the same samples are written as the same bytes (a float
file's PEAK chunk gets no time of writing, an Ogg stream a fixed serial number); the channel mask of a WAVEX or RF64
input goes into an output whose header has one.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tsae.io import ogg
from tsae.io.atomic import atomic_path
from tsae.io.audio_header import _MASKED_FORMATS, _clear_peak_time, _put_channel_mask
from tsae.io.libsndfile import _detail, _sf, _sf_name
from tsae.io.paths import AUDIO_SUFFIXES

_FORMAT_BY_SUFFIX = {
    ".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".aiff": "AIFF", ".aif": "AIFF",
    ".au": "AU", ".mp3": "MP3", ".w64": "W64", ".rf64": "RF64",
}
#: suffixes that name the codec as well as the container: a ``.opus`` file is Ogg holding Opus, whatever the input
_CODEC_BY_SUFFIX = {".opus": "OPUS"}
#: the only rates the Opus encoder takes
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


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
#: mu-law and A-law, which tsae rounds to the nearest of their levels itself too: libsndfile's coders truncate
#: as its PCM conversion does, a whole step off (up to 1/32 of full scale near it), and A-law's levels sit on
#: the edges it truncates at, so that a level written a hair high came back one level up
COMPANDED = ("ULAW", "ALAW")


@functools.cache
def companded_levels(subtype: str) -> np.ndarray:
    """The sorted float32 values a ``"ULAW"`` or ``"ALAW"`` sample can take: libsndfile's decoding of every code."""
    samples, _ = _sf().read(io.BytesIO(bytes(range(256))), dtype="float32", format="RAW", subtype=subtype,
                            samplerate=8000, channels=1)
    levels = np.unique(samples)
    levels.setflags(write=False)  # one array for every caller
    return levels


def _nearest_level(x: np.ndarray, subtype: str) -> np.ndarray:
    """Each sample of ``x`` (float32, within [-1, 1]) as the nearest mu-law or A-law level."""
    levels = companded_levels(subtype)
    return levels[np.searchsorted((levels[1:] + levels[:-1]) / 2, x)]


def _prepare(data: np.ndarray, subtype: str) -> np.ndarray:
    """(channels, n) -> (n, channels), NaN-free, for libsndfile to write as ``subtype``.

    Integer PCM comes out as int32 samples rounded to the nearest step of the subtype
    (clipped to full scale), which libsndfile stores exactly; mu-law and A-law as their nearest
    levels; DOUBLE as float64; the others (FLOAT, codecs) as float32, clipped to [-1, 1] unless FLOAT.
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
    if sub in COMPANDED:
        out = _nearest_level(out, sub)
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
            handle = sf.SoundFile(_sf_name(tmp), "w", samplerate=int(sample_rate), channels=int(channels),
                                  subtype=sub, format=fmt)
        except (RuntimeError, OSError) as error:
            if "System error" in _detail(error):  # its header did not fit (a full disk): not the format's fault
                raise _write_error(path, error) from None
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
