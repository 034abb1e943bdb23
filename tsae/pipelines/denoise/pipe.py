"""``tsae denoise -``: denoise audio on pipes (stdin to stdout) as it arrives.

The input is read in blocks of at most ``block_seconds`` (whatever the pipe has
ready is processed at once, so the added latency is at most one block plus the
model's own), each block goes through one :class:`StreamingDenoiser` and what is
final is written and flushed straight away: memory is bounded whatever the length
of the stream, and the samples equal those of file mode (the denoiser gives the
same output whatever the chunking). A stream that ends early is still finished
(flushed, and a WAV header put right where the output can seek) before the
problem is reported; so is one stopped by any other error (a failed read or
write, the model, Ctrl-C): the header of a WAV on stdout redirected to a file
always tells the samples that were written.
"""
from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tsae.engine.polyphase import RatioTooFineError
from tsae.errors import naming
from tsae.io.audio import AudioInfo, audio_info, format_like, iter_audio_blocks, open_audio_writer
from tsae.io.audio_stream import AudioStreamReader, AudioStreamWriter, StreamFormat, raw_format
from tsae.io.paths import check_outputs, check_stdin_not_output, read_paths, same_regular_file
from tsae.io.reading import Prefixed, read_up_to
from tsae.io.stream_kind import HEAD_BYTES, audio_container
from tsae.pipelines.denoise.denoiser import StreamingDenoiser, checked_rate, checked_seconds

#: the name of standard input/output on the command line
STDIO = "-"


@dataclass(frozen=True)
class RawSpec:
    """Raw PCM on the pipes: rate, channels and sample format (a key of ``RAW_FORMATS``)."""

    sample_rate: int
    channels: int
    sample_format: str = "s16"

    def stream_format(self) -> StreamFormat:
        return raw_format(self.sample_rate, self.channels, self.sample_format)


def denoise_stream(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    raw: RawSpec | None = None,
    model: Any = None,
    strength: float = 1.0,
    atten_limit: float | None = None,
    device: str = "cpu",
    block_seconds: float = 0.02,
    progress: bool = False,
    resample_quality: str = "HQ",
) -> int:
    """Denoise from ``input`` to ``output``, either of which may be ``"-"`` (the pipes), block by block.

    Parameters
    ----------
    input, output
        ``"-"`` for ``stdin``/``stdout``, or an audio file path (a file output is
        written atomically and never replaces the input or the model). ``stdin`` streams
        WAV (or raw PCM); another audio file on it (FLAC, Ogg, MP3, RF64, AIFF ...) is
        denoised as that file: read where it is when ``stdin`` is a regular file
        (``< in.flac``), else copied to a private temporary file first when ``output`` is a
        file; to ``stdout`` such a stream is refused, naming what it is (it would wait for
        the whole stream, unbounded on disk, before a sample came out).
    stdin, stdout
        The byte streams behind ``"-"`` (default: the process's).
    raw
        Raw PCM on the pipes (both directions) instead of WAV.
    block_seconds
        Largest block read at once: the latency the pipe adds.
    progress
        Show a counter on stderr of the bytes of ``stdin`` copied to a temporary file.
    resample_quality
        As for :class:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser`: at another rate than the
        model's, soxr's ``"HQ"`` (the default, as files) holds back tens of ms more than ``"LD"``.

    Returns
    -------
    int
        Number of sample frames denoised.

    Raises
    ------
    ValueError
        ``"<name>: <problem>"`` for a bad header, a stream that ended early or a file
        found corrupt part way (the output is finished first and holds every sample
        that arrived; an output file of a corrupt input file is not written, as in file mode).
    BrokenPipeError
        When the reader of ``stdout`` goes away.
    """
    import sys

    block_seconds = checked_seconds("block_seconds", block_seconds)
    stdin = sys.stdin.buffer if stdin is None else stdin
    stdout = sys.stdout.buffer if stdout is None else stdout
    if str(output) != STDIO:
        check_outputs([Path(output)], [*([] if str(input) == STDIO else [input]), *read_paths(model)])
        if str(input) == STDIO:
            check_stdin_not_output(stdin, [Path(output)])
    elif str(input) != STDIO and same_regular_file(stdout, Path(input)):  # > in.wav or >> in.wav
        raise ValueError(f"{input}: refusing to overwrite the input file (stdout goes to it)")
    elif str(input) == STDIO and same_regular_file(stdout, stdin):  # < in.wav >> in.wav: a streamed WAV reads forever
        raise ValueError("stdin: refusing to overwrite the input file (stdout goes to the file stdin reads)")
    if str(input) == STDIO and raw is None:
        from tsae.io.spool import STDIN_NAME, in_place, reopenable, spooled

        whole_file = reopenable(stdin)  # before a byte is read: < in.flac is read where it is
        head = read_up_to(stdin, HEAD_BYTES)
        found = audio_container(head)
        if found is not None and found[0] != ".wav":  # FLAC, Ogg, MP3 ... are read from files only
            if whole_file is None and str(output) == STDIO:  # a copy would hold back every sample to the stream's end
                raise ValueError(f"stdin: {found[1]}, which is read from a file, not from a stream: give the file's "
                                 "name instead of -, or an output file, not stdout (stdin is then copied to a "
                                 "temporary file first)")
            from tsae.pipelines.progress import copy_bar

            with contextlib.ExitStack() as stack:
                if whole_file is not None:
                    copy = stack.enter_context(in_place(whole_file, STDIN_NAME))
                else:
                    copied = stack.enter_context(copy_bar(STDIN_NAME, progress))
                    copy = stack.enter_context(spooled(stdin, STDIN_NAME, head=head, copied=copied))
                return denoise_stream(copy, output, stdout=stdout, model=model, strength=strength,
                                      atten_limit=atten_limit, device=device, block_seconds=block_seconds,
                                      resample_quality=resample_quality)
        stdin = Prefixed(head, stdin)  # type: ignore[assignment]
    reader, fmt = _open_input(input, stdin, raw)
    if raw is not None and str(input) != STDIO and str(output) == STDIO:
        want = raw.stream_format()
        if (want.sample_rate, want.channels) != (fmt.sample_rate, fmt.channels):
            raise ValueError(f"{input}: is {fmt.sample_rate} Hz with {fmt.channels} channel(s), but the raw output "
                             f"was given as {want.sample_rate} Hz with {want.channels} (give the file's --rate and "
                             "--channels: tsae denoise neither resamples nor remixes)")
    source = "stdin" if str(input) == STDIO else input  # how messages name the input
    # a rate the denoiser, or its low-delay resampler, refuses is the input's problem: named as file mode names it
    try:
        checked_rate(fmt.sample_rate)
    except ValueError as error:
        raise ValueError(naming(source, error)) from None
    try:
        den = StreamingDenoiser(fmt.sample_rate, fmt.channels, model=model, strength=strength,
                                atten_limit=atten_limit, device=device, resample_quality=resample_quality)
    except RatioTooFineError as error:
        raise ValueError(naming(source, error)) from None
    block = max(1, int(block_seconds * fmt.sample_rate))
    frames = 0
    if str(output) == STDIO:
        chunks = reader.blocks(block)
        first = next(chunks, None)  # no sample at all is refused before a byte goes out, as file mode refuses it
        if first is None:
            raise ValueError(getattr(reader, "problem", None)
                             or f"{source}: no audio samples (zero length)")
        out_fmt = fmt if raw is None else raw.stream_format()
        # only a file's length is sure: a stream may end before the length its header announced
        known = reader.expected_frames if isinstance(reader, _FileBlocks) else None
        writer = AudioStreamWriter(stdout, out_fmt, wav=raw is None, frames=known)
        try:
            frames = _run(den, itertools.chain([first], chunks), writer)
        except BaseException:  # Ctrl-C, a failed read or write, a model error: a file (> clean.wav) gets its sizes
            with contextlib.suppress(OSError, ValueError):  # the error that stopped the stream is the one told
                writer.close_after_error()
            raise
        writer.close()
    else:
        # a file input's RF64 or WAVEX format (and channel mask) is kept in a .wav output, as in file mode
        like = reader.info if isinstance(reader, _FileBlocks) else None
        with open_audio_writer(output, fmt.sample_rate, fmt.channels, subtype=fmt.subtype,
                               format=None if like is None else format_like(output, like.format),
                               channel_mask=None if like is None else like.channel_mask,
                               protect=() if str(input) == STDIO else (input,)) as file_writer:
            frames = _run(den, reader.blocks(block), file_writer)
            if isinstance(reader, _FileBlocks) and reader.problem:
                raise ValueError(reader.problem)  # a corrupt file leaves no output file, as in file mode
            if frames == 0 and not getattr(reader, "problem", None):  # a file mode input refuses it too
                raise ValueError("stdin: no audio samples (zero length)")
    problem = getattr(reader, "problem", None)
    if problem:
        raise ValueError(problem)
    return frames


def _open_input(input: str | os.PathLike, stdin: BinaryIO, raw: RawSpec | None) -> tuple[Any, StreamFormat]:
    if str(input) == STDIO:
        reader = (AudioStreamReader.wav(stdin) if raw is None
                  else AudioStreamReader(stdin, raw.stream_format()))
        return reader, reader.format
    info = audio_info(input)
    subtype = info.subtype if info.subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW",
                                               "ALAW") else "PCM_16"
    return _FileBlocks(input, info), StreamFormat(info.sample_rate, info.channels, subtype)


class _FileBlocks:
    """An audio file with the reader interface of :class:`AudioStreamReader`: data found corrupt part way
    ends the blocks and is the :attr:`problem`, so the samples before it are finished as a cut stream's are."""

    problem: str | None = None

    def __init__(self, path: str | os.PathLike, info: AudioInfo) -> None:
        self.path = path
        self.info = info
        self.expected_frames = info.frames

    def blocks(self, block: int) -> Iterator[np.ndarray]:
        try:
            yield from iter_audio_blocks(self.path, block, info=self.info)
        except ValueError as error:
            self.problem = str(error)


def _run(den: StreamingDenoiser, chunks: Iterator[np.ndarray], writer: Any) -> int:
    frames = 0
    for chunk in chunks:
        frames += chunk.shape[1]
        writer.write(den.feed(chunk))
    writer.write(den.flush())
    return frames


__all__ = ["STDIO", "RawSpec", "denoise_stream"]
