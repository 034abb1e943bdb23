"""The file job of ``tsae frame``: a signal file (audio, ``.npy`` or a table) in, its frames as a ``.npy`` array out.

The signal is read and framed block by block (a :class:`~tsae.engine.streaming.StreamFramer`)
and the frames are written straight to their place in the output file, so memory stays
bounded whatever the file's length (a table, read whole as every tsae command reads one,
aside); frames too long to hold are written a block of samples at a time
(:mod:`tsae.io.long_frames`), so memory is bounded whatever the window's length too (a named
window, made whole, aside: one the free memory cannot make is refused before work starts).
The output equals :func:`tsae.engine.framing.frame` of the whole signal, bit for bit.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tsae.errors import NamedMemoryError, memory_for
from tsae.io.atomic import atomic_path
from tsae.io.blocks import NpyBlockWriter
from tsae.io.paths import (
    ARRAY_SUFFIXES,
    TABLE_SUFFIXES,
    check_data_output,
    check_output,
    kind_suffix,
    nearest_existing,
    split_suffix,
)
from tsae.io.series import read_npy, read_series, transposed_hint
from tsae.io.time_order import warn_time_order

if TYPE_CHECKING:
    from tsae.pipelines.progress import SizedBar

#: samples per channel read at a time
BLOCK = 1 << 18


@dataclass
class FramedFile:
    """What :func:`frame_file` wrote."""

    path: Path
    shape: tuple[int, ...]
    n_samples: int
    sample_rate: float | None

    @property
    def n_frames(self) -> int:
        return int(self.shape[-2])

    def describe(self) -> str:
        """The input's length: seconds and rate for audio (and a table with a time column), samples for an array."""
        if self.sample_rate:  # :g: a table sampled once a minute is at 0.0166667 Hz, not "0 Hz"
            return f"{self.n_samples / self.sample_rate:.2f} s at {self.sample_rate:g} Hz"
        return f"{self.n_samples} samples"


def default_frames_output(path: str | os.PathLike) -> Path:
    """``speech.wav`` -> ``speech.frames.npy`` beside the input (``pump.csv.gz`` -> ``pump.frames.npy``)."""
    return Path(split_suffix(path)[0] + ".frames.npy")


def _signal(source: Path) -> tuple[tuple[int, ...], float | None, Callable[[int], Iterator[np.ndarray]]]:
    """The signal's shape, its rate (audio; a table's from its time column; None for ``.npy``) and
    ``blocks(size)``: its consecutive blocks in time.

    Audio and tables are float32, one channel ``(n,)``, else ``(channels, n)`` (a table's time
    and label columns left out, its missing cells NaN); a ``.npy`` array is framed as stored
    (memory-mapped, never loaded whole).
    """
    if kind_suffix(source) in TABLE_SUFFIXES:
        values, rate, meta = read_series(source)
        warn_time_order(source, meta.get("time"), meta.get("time_name"), "framed")
        table = np.asarray(values[0] if len(values) == 1 else values, dtype=np.float32)
        n = table.shape[-1]
        return table.shape, rate, lambda block: (table[..., i: i + block] for i in range(0, n, block))
    if source.suffix.lower() in ARRAY_SUFFIXES:
        array = read_npy(source, mmap=True)
        if array.ndim == 0:
            raise ValueError(f"{source}: a 0-d array has no time axis to frame")
        if array.dtype.kind not in "iuf" or array.dtype.itemsize == 0:
            raise ValueError(f"{source}: holds {array.dtype} values; frames are cut from real numbers (int or float)")
        if 0 in array.shape[:-1]:
            raise ValueError(f"{source}: an array of shape {array.shape} has no channels to frame")
        n = array.shape[-1]
        return array.shape, None, lambda block: (array[..., i: i + block] for i in range(0, n, block))
    from tsae.io.audio import audio_info, iter_audio_blocks

    info = audio_info(source)
    mono = info.channels == 1
    shape = (info.frames,) if mono else (info.channels, info.frames)
    return shape, float(info.sample_rate), lambda block: (b[0] if mono else b
                                                          for b in iter_audio_blocks(source, block, info=info))


def frame_file(source: str | os.PathLike, output: str | os.PathLike | None, length: int, hop: int, *,
               window_fn: str | None = None, pad: bool = False, center: bool = False,
               block: int = BLOCK, progress: SizedBar | None = None) -> FramedFile:
    """Cut an audio file, a ``.npy`` signal or a table into frames and save them as a ``.npy`` array (atomically).

    Parameters
    ----------
    source
        Audio or a table (CSV/TSV, also compressed; one column per channel, missing cells NaN):
        one channel is ``(n,)``, more ``(channels, n)`` float32; or a ``.npy`` array, framed as stored.
    output
        The ``.npy`` file to write (default ``NAME.frames.npy`` beside ``source``); never ``source``.
    length, hop, window_fn, pad, center
        As for :func:`tsae.engine.framing.frame` (``window_fn`` is its taper, None for none).
    block
        Samples per channel read at a time (memory is bounded by it, not by the file).
    progress
        A bar told the samples per channel once they are known, and those framed after each block.

    Returns
    -------
    FramedFile
    """
    from tsae.engine.framing import num_frames, window_array
    from tsae.engine.streaming import StreamFramer, frame_block
    from tsae.io.long_frames import write_long_frames

    source = Path(source)
    target = default_frames_output(source) if output is None else Path(output)
    check_output(target, [source])
    check_data_output(target, ".npy")
    if target.suffix.lower() != ".npy":  # a .csv name got a .npy array's bytes, which nothing reads as a table
        raise ValueError(f"{target}: the frames are written as a .npy array; name the output "
                         f"{target.with_suffix('.npy').name}")
    shape, rate, read_blocks = _signal(source)
    n = shape[-1]
    if n == 0:  # audio and tables of no samples are refused when read; an empty array wrote (0, length) frames
        raise ValueError(f"{source}: no samples to frame (an array of shape {shape})")
    n_frames = num_frames(n, length, hop, pad=pad, center=center)
    if n_frames == 0 and not pad:
        extra = f" ({n + 2 * (length // 2)} with centring)" if center else ""
        # (samples, channels) saved as such: a .npy array is framed along its last axis
        hint = transposed_hint(source, *shape) if len(shape) == 2 else ""
        # in the command's words (--window, --pad), not the engine's (length=, n=)
        raise ValueError(f"{source}: {n} sample(s){extra}, fewer than one frame of {length}: zero-pad the tail "
                         f"(--pad) or use a shorter window{hint}")
    out_shape = (*shape[:-1], n_frames, length)
    if progress is not None:
        progress.size(n)
    _check_room(target, 4 * math.prod(out_shape))
    _check_window_memory(source, window_fn, length)
    rows, block = math.prod(shape[:-1]), max(1, int(block))
    long = 4 * rows * length > LONG_FRAME
    try:
        if long:
            window = window_array(window_fn, length)
        else:
            framer = StreamFramer(length, hop, window_fn, channels=None)
    except NamedMemoryError as error:
        raise NamedMemoryError(f"{source}: {error}") from None
    if not long:  # a long frame every few samples makes frames many times the signal's size: shorter blocks bound them
        block = frame_block(length, hop, rows, block)
    parts = _checked(source, read_blocks(block), progress)
    with memory_for(source, f"cut frames of {length} samples from"), \
            atomic_path(target, protect=(source,)) as tmp, open(tmp, "wb") as handle:
        try:
            writer = NpyBlockWriter(handle, out_shape, np.float32, axis=-2)
        except OSError as error:  # "File too large" when sizing the file
            size = 4.0 * math.prod(out_shape) / 2**30
            raise ValueError(f"{target}: cannot make a file for {size:.3g} GiB of frames ({error.strerror or error})") \
                from None
        if long:
            read = write_long_frames(writer, parts, hop, -(length // 2) if center else 0, window, block=block)
        else:
            if center:  # length // 2 zeros on both sides, a block at a time: the frames a push makes stay bounded
                parts = chain(_zeros(shape[:-1], length // 2, block), parts, _zeros(shape[:-1], length // 2, block))
            for part in parts:
                writer.write(framer.push(part))
            read = framer.samples_seen - (2 * (length // 2) if center else 0)
            if pad:
                writer.write(framer.flush())
        if read != n:
            raise ValueError(f"{source}: the signal ended early ({read} of {n} samples)")
    return FramedFile(target, out_shape, int(n), rate)


#: one frame's bytes (every channel's) above which frames are written a block of samples at a time, straight to
#: their place in the file (:mod:`tsae.io.long_frames`), never held whole
LONG_FRAME = 1 << 25


def _checked(source: Path, parts: Iterator[np.ndarray], progress: SizedBar | None) -> Iterator[np.ndarray]:
    """``parts``, each checked to fit float32, and counted by ``progress`` once framed."""
    for part in parts:
        _check_float32_range(source, part)
        yield part
        if progress is not None:
            progress.update(part.shape[-1])


def _zeros(lead: tuple[int, ...], count: int, block: int) -> Iterator[np.ndarray]:
    """``count`` zero samples of ``lead`` channels, in parts of at most ``block``."""
    zeros = np.zeros((*lead, min(count, block)), np.float32)
    for i in range(0, count, block):
        yield zeros[..., : min(block, count - i)]


def _check_window_memory(source: Path, window_fn: str | None, length: int) -> None:
    """Refuse, before anything is made, a named window of ``length`` samples that the free memory cannot make."""
    from tsae.engine.framing import window_bytes, window_name
    from tsae.models.device import free_memory

    need, free = window_bytes(window_fn, length), free_memory("cpu")
    if free is None or need <= free:
        return
    window_name(window_fn)  # an unknown window is told as such
    raise NamedMemoryError(f"{source}: a {window_fn} window of {length} samples takes about {need / 2**30:.3g} GiB "
                           f"of memory to make, but {free / 2**30:.3g} GiB is free: use a shorter window, or none "
                           "(frames of any length are written without one)")


def _check_room(target: Path, size: int) -> None:
    """Refuse, before writing, a file larger than the free space of its folder."""
    import shutil

    free = shutil.disk_usage(nearest_existing(target) or Path(".")).free
    if size > free:
        raise ValueError(f"{target}: the frames take {size / 2**30:.3g} GiB, more than the {free / 2**30:.3g} GiB "
                         "free there (a larger hop or a shorter window makes fewer)")


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_float32_range(source: Path, part: np.ndarray) -> None:
    """Refuse finite values that float32 frames would hold as infinite (a ``.npy`` of float64 near its limit)."""
    if part.dtype.itemsize <= 4 or part.dtype.kind != "f":
        return
    finite = np.abs(part[np.isfinite(part)])
    if finite.size and float(finite.max()) > _FLOAT32_MAX:
        raise ValueError(f"{source}: values up to {float(finite.max()):.3g} are beyond float32's range "
                         f"({_FLOAT32_MAX:.3g}), which frames are stored in: scale the signal down first")


__all__ = ["FramedFile", "frame_file", "default_frames_output"]
