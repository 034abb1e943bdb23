"""The file jobs of ``tsae denoise``: audio files in, denoised audio files out (bounded memory, atomic)."""
from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.layout import check_flag, check_fraction
from tsae.errors import FilesFailed, naming, shown
from tsae.io.audio import AudioWarning, audio_info, check_writable, format_like, iter_audio_blocks, open_audio_writer
from tsae.io.c_stderr import stderr_is_terminal
from tsae.io.paths import AUDIO_SUFFIXES, check_outputs, expand_inputs, names_many, plan_outputs, read_paths
from tsae.models.device import torch_threads
from tsae.models.trainer import whole_number
from tsae.pipelines.denoise import denoiser
from tsae.pipelines.denoise.denoiser import (
    MAX_BLOCK_SAMPLES,
    StreamingDenoiser,
    block_frames,
    checked_atten_limit,
    checked_resample_quality,
    checked_seconds,
    load_denoiser,
)

#: the stem suffix of a denoised file: a folder or glob never picks up earlier outputs
_DENOISED = ".denoised"

#: the subtypes that hold samples beyond full scale
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


def default_output(path: str | os.PathLike) -> Path:
    """``noisy.wav`` -> ``noisy.denoised.wav`` beside the input."""
    path = Path(path)
    return path.with_name(f"{path.stem}{_DENOISED}{path.suffix}")


def _is_denoised(name: str) -> bool:
    return Path(name).stem.endswith(_DENOISED)


def denoise_file(
    input: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    model: Any = None,
    strength: float = 1.0,
    atten_limit: float | None = None,
    device: str = "cpu",
    block_seconds: float = 5.0,
    progress: Callable[[int], None] | None = None,
    resample_quality: str = "HQ",
) -> Path:
    """Denoise one audio file in blocks (``block_seconds``, less for many channels: bounded memory) into ``output``.

    The output keeps the input's sample rate, channels, format and subtype (when the
    output suffix's format supports it; a ``.wav`` output of an RF64 or WAVEX input stays
    RF64 or WAVEX, with the input's channel mask), is written atomically and never replaces
    the input or the model. ``progress`` is called with the number of input frames done per block;
    ``resample_quality`` is :class:`StreamingDenoiser`'s.
    """
    block_seconds = checked_seconds("block_seconds", block_seconds)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function or None, got {shown(progress)}")
    output = default_output(input) if output is None else Path(output)
    check_outputs([output], [input, *read_paths(model)])
    _denoise_together([(Path(input), output, audio_info(input))], model=model, strength=strength,
                      atten_limit=atten_limit, device=device, block_seconds=block_seconds, progress=progress,
                      failed=_reraise, resample_quality=resample_quality)
    return output


class Stopped(Exception):
    """A batch of files given up because the command is stopping (its outputs are discarded)."""


def _reraise(src: Path, error: BaseException) -> None:
    raise error


def _discard(outputs: contextlib.ExitStack, error: BaseException) -> None:
    """Leave ``outputs`` as an error would: its atomic files are removed, never renamed into place."""
    outputs.__exit__(type(error), error, error.__traceback__)


def _denoise_together(
    jobs: Sequence[tuple[Path, Path, Any]],
    *,
    model: Any,
    strength: float,
    atten_limit: float | None,
    device: str,
    block_seconds: float,
    progress: Callable[[int], None] | None,
    failed: Callable[[Path, BaseException], None],
    stop: threading.Event | None = None,
    resample_quality: str = "HQ",
) -> None:
    """Denoise ``(input, output, info)`` files of one sample rate as one batch.

    All their channels go through one :class:`StreamingDenoiser` side by side (one
    model call per frame for the whole batch), block by block; a file that has
    ended is fed zeros, as its own flush would, until the longest one ends. Each
    file gets what it would get on its own, to float rounding (when resampling, the
    last few tens of ms of a file that ends before the others differ a little: the
    resamplers see the zeros and denoised tail that follow it where the file's own
    flush would cut the signal).

    A file that cannot be read or written to the end is handed to ``failed(input, error)``
    (which may raise to stop the batch): its output is discarded and it is fed zeros
    from then on, so the others go on unchanged. When ``stop`` is set (Ctrl-C while other threads run
    batches), :class:`Stopped` is raised before the next block and no output is kept.
    """
    rate = jobs[0][2].sample_rate
    if any(info.sample_rate != rate for _, _, info in jobs):
        raise ValueError("files denoised together must share one sample rate")
    rows = np.cumsum([0] + [info.channels for _, _, info in jobs])
    den = StreamingDenoiser(rate, int(rows[-1]), model=model, strength=strength, atten_limit=atten_limit,
                            device=device, resample_quality=resample_quality)
    block = block_frames(rate, int(rows[-1]), block_seconds)
    # strength 0 (or an attenuation limit of 0 dB) is the input: written as read, not through the STFT's round
    # trip, which is the input only to float32 rounding (a 24-bit sample a step off, a float one a rounding)
    passthrough = den.strength == 0.0
    read = [0] * len(jobs)
    written = [0] * len(jobs)
    with contextlib.ExitStack() as stack:
        writers: list[Any] = []
        outputs: list[contextlib.ExitStack] = []
        for src, dst, info in jobs:
            # the input's subtype (bit depth, float) where the output's format has it, else that format's default;
            # a .wav output keeps an RF64 or WAVEX input's format, and its channel mask
            own = stack.enter_context(contextlib.ExitStack())
            writers.append(own.enter_context(open_audio_writer(
                dst, rate, info.channels, subtype=info.subtype, format=format_like(dst, info.format),
                channel_mask=info.channel_mask, protect=(src,))))
            outputs.append(own)
        readers: list[Any] = [iter_audio_blocks(src, block, info=info) for src, _, info in jobs]
        # a float input written in a format with no samples beyond full scale (FLAC, MP3, PCM): those are clipped
        clips = [info.subtype in _FLOAT_SUBTYPES and w.subtype not in _FLOAT_SUBTYPES
                 for (_, _, info), w in zip(jobs, writers, strict=True)]
        clipped = [0] * len(jobs)

        def fail(i: int, error: BaseException) -> None:
            readers[i] = writers[i] = None
            _discard(outputs[i], error)
            failed(jobs[i][0], error)

        def next_chunk(i: int) -> np.ndarray | None:
            try:
                return None if readers[i] is None else next(readers[i], None)
            except (ValueError, OSError) as error:  # corrupt data in this file only
                fail(i, error)
                return None

        def write(y: np.ndarray) -> None:
            for i, writer in enumerate(writers):
                n = min(y.shape[1], read[i] - written[i])
                if writer is not None and n > 0:
                    if clips[i]:
                        clipped[i] += int(np.count_nonzero(np.abs(y[rows[i]: rows[i + 1], :n]) > 1.0))
                    try:
                        writer.write(y[rows[i]: rows[i + 1], :n])
                    except (OSError, RuntimeError, ValueError) as error:  # a full disk, a write error
                        fail(i, error)
                    written[i] += n

        while True:
            if stop is not None and stop.is_set():
                raise Stopped("stopped")
            chunks = [next_chunk(i) for i in range(len(jobs))]
            readers = [None if c is None else r for r, c in zip(readers, chunks, strict=True)]
            longest = max((c.shape[1] for c in chunks if c is not None), default=0)
            if longest == 0:
                break
            wide = passthrough and any(c is not None and c.dtype == np.float64 for c in chunks)  # a DOUBLE file
            x = np.zeros((int(rows[-1]), longest), np.float64 if wide else np.float32)
            for i, c in enumerate(chunks):
                if c is not None:
                    x[rows[i]: rows[i + 1], : c.shape[1]] = c
                    read[i] += c.shape[1]
            write(x if passthrough else den.feed(x))
            if progress is not None:
                progress(sum(c.shape[1] for c in chunks if c is not None))
        if not passthrough:
            write(den.flush())
    for (src, dst, _), writer, count in zip(jobs, writers, clipped, strict=True):
        if writer is not None and count:  # written, into place
            warnings.warn(f"{src}: {count} output samples beyond full scale clipped in {dst} ({writer.subtype} holds "
                          "none; a .wav output keeps them)", AudioWarning, stacklevel=2)


def _batches(jobs: Sequence[tuple[Path, Path, Any]], batch: int) -> list[list[tuple[Path, Path, Any]]]:
    """``(input, output, info)`` jobs in groups denoised side by side: files of one rate, similar lengths together
    (little zero padding), at most ``batch`` files and :data:`~tsae.pipelines.denoise.denoiser.MAX_CHANNELS`
    channels a group."""
    by_rate: dict[int, list] = {}
    for job in sorted(jobs, key=lambda j: j[2].frames):
        by_rate.setdefault(job[2].sample_rate, []).append(job)
    groups: list[list[tuple[Path, Path, Any]]] = []
    for same in by_rate.values():
        group: list[tuple[Path, Path, Any]] = []
        for job in same:
            channels = sum(info.channels for _, _, info in group) + job[2].channels
            if group and (len(group) == batch or channels > denoiser.MAX_CHANNELS):
                groups.append(group)
                group = []
            group.append(job)
        groups.append(group)
    return groups


def denoise_files(
    inputs: Iterable[str | os.PathLike],
    output: str | os.PathLike | None = None,
    *,
    model: Any = None,
    strength: float = 1.0,
    atten_limit: float | None = None,
    device: str = "cpu",
    quiet: bool = False,
    batch: int = 16,
    jobs: int = 1,
    resample_quality: str = "HQ",
) -> list[Path]:
    """Denoise files, folders and glob patterns; the outputs are all checked before any is written.

    With one input, ``output`` is the output file (default ``<name>.denoised.<ext>``
    beside it); with several, ``output`` must be a folder. No output may replace an
    input or the model. Up to ``batch`` files of the same sample rate are denoised
    side by side (one model step per frame for all of them; each file's output is
    what it would get alone, to float rounding): on one CPU thread a batch of 16
    files of 10 s ran about 2.5x faster than one at a time (``scripts/bench_denoise.py``).
    With ``jobs`` above 1, that many batches run at once in threads (the files are
    spread over them, at most ``batch`` a batch): the FFTs, the clean-signal guard and
    the file I/O of one batch run while another waits for its model step, so several
    CPU cores, or a GPU (``device="cuda"``: each thread has its own CUDA stream), are
    kept busy. Each file's output is the same whatever ``jobs`` is. ``resample_quality`` is
    :class:`StreamingDenoiser`'s (files at a rate the low-delay ``"LD"`` cannot do fail; the others go on).

    Raises
    ------
    tsae.errors.FilesFailed
        When some files of several could not be denoised (unreadable, corrupt): they
        have no output, every other file was denoised and written. With one input,
        its error is raised as a ``ValueError``.
    """
    from tqdm import tqdm

    batch = whole_number("batch", batch, 1)
    jobs = whole_number("jobs", jobs, 1)
    quiet = check_flag("quiet", quiet)
    # refused here, not as a failure of every file
    check_fraction("strength", strength)
    checked_atten_limit(atten_limit)
    checked_resample_quality(resample_quality)
    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    # an output folder inside an input folder holds no input its sub-folder warning should count
    files = expand_inputs(inputs, AUDIO_SUFFIXES, exclude=_is_denoised, skip=() if output is None else (output,))
    # a folder or a pattern given writes to a folder, even when it holds one file
    planned = plan_outputs(files, output, default=lambda f: str(default_output(f)),
                           folder=True if output is not None and names_many(inputs) else None)
    pairs = [(Path(src), Path(dst)) for src, dst in planned]
    check_outputs([dst for _, dst in pairs], [*files, *read_paths(model)])
    net, _ = load_denoiser(model, device)  # fail early on a bad model
    failures: dict[str, str] = {}

    def failed(src: Path, error: BaseException) -> None:
        failures[str(src)] = naming(src, error)

    tasks = []
    for src, dst in pairs:
        try:
            info = audio_info(src)
            # an output suffix with no audio format, or a format that cannot hold this audio, fails this file only
            check_writable(dst, info.sample_rate, info.channels)
            tasks.append((src, dst, info))
        except ValueError as error:
            failed(src, error)
    total = sum(info.frames / info.sample_rate for _, _, info in tasks)
    # with several threads, batches small enough to give each some work
    groups = _batches(tasks, min(batch, max(1, math.ceil(len(tasks) / jobs))))
    stop = threading.Event()
    counted = threading.Lock()
    with tqdm(total=total, unit="s", desc="denoise", disable=quiet or not stderr_is_terminal(),
              bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s audio [{elapsed}<{remaining}]") as bar:
        def advance(frames: int, rate: int) -> None:
            # held to the total, which the blocks' seconds match only to float rounding: a count past it
            # (as with the total rounded to 0.01 s) made tqdm print "Warning: clamping frac to range [0, 1]"
            with counted:
                bar.update(min(frames / rate, max(0.0, total - bar.n)))

        def run(group: list[tuple[Path, Path, Any]]) -> None:
            try:
                with _own_stream(net):
                    _denoise_together(group, model=model, strength=strength, atten_limit=atten_limit, device=device,
                                      block_seconds=5.0, failed=failed, stop=stop, resample_quality=resample_quality,
                                      progress=functools.partial(advance, rate=group[0][2].sample_rate))
            except Exception as error:  # noqa: BLE001 - the files of this group fail, the others go on
                for src, _, _ in group:
                    if str(src) not in failures:
                        failed(src, error)

        _run_all(run, groups, jobs, stop, share_cores=_cuda_device(net) is None)
    written = [dst for src, dst in pairs if str(src) not in failures]
    if failures and len(pairs) == 1:
        raise ValueError(next(iter(failures.values())))
    if failures:
        raise FilesFailed({str(src): failures[str(src)] for src, _ in pairs if str(src) in failures},
                          written, len(pairs))
    return written


def _run_all(run: Callable[[Any], None], groups: Sequence[Any], jobs: int, stop: threading.Event, *,
             share_cores: bool) -> None:
    """``run`` each group, ``jobs`` at a time in threads; on Ctrl-C (or any error here) ``stop`` tells the
    running ones to give up before their next block, and they are waited for (their outputs discarded).

    With ``share_cores`` (a model on the CPU) the threads' BLAS, torch and numba pools are held to their
    share of the cores: OpenBLAS called from several threads at once, each with a thread per core, took
    8.2 s for 8 files of 10 s with ``--batch 2 --jobs 4`` on 2 cores (``--batch 4 --jobs 1``: 1.0 s); with
    the share 1.6 s, and ``--batch 4 --jobs 2`` 0.78 s. With the model on
    a GPU the pools are left as they are: on a 16-core H200 machine, 256 files of 10 s ran at 164x real
    time with ``--batch 32 --jobs 8`` unlimited and 79x with the share (``--batch 64 --jobs 4``: 410x and
    138x, the latter the first setting of its call, with some warm-up in it; 2026-12-04).
    """
    if jobs == 1 or len(groups) <= 1:  # none: every file failed before its batch
        for group in groups:
            run(group)
        return
    from concurrent.futures import ThreadPoolExecutor

    import numba

    workers = min(jobs, len(groups))
    share = max(1, numba.get_num_threads() // workers) if share_cores else None

    def run_in_thread(group: Any) -> None:
        if share is not None:  # numba's thread count is per calling thread
            numba.set_num_threads(share)
        run(group)

    pool = ThreadPoolExecutor(workers, thread_name_prefix="tsae-denoise")
    with torch_threads(share, native=True):  # None: left alone
        try:
            for future in [pool.submit(run_in_thread, group) for group in groups]:
                future.result()
        except BaseException:
            stop.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _cuda_device(net: Any) -> Any:
    """The CUDA device ``net``'s weights are on, or None (the CPU; a network without parameters)."""
    first = next(iter(net.parameters()), None) if hasattr(net, "parameters") else None
    return first.device if first is not None and first.device.type == "cuda" else None


@contextlib.contextmanager
def _own_stream(net: Any) -> Iterator[None]:
    """Run the block on a CUDA stream of its own when ``net`` is on a CUDA device (threads then overlap)."""
    device = _cuda_device(net)
    if device is None:
        yield
        return
    import torch

    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))  # the weights' copy to the GPU is done first
    with torch.cuda.stream(stream):
        yield


__all__ = ["MAX_BLOCK_SAMPLES", "Stopped", "default_output", "denoise_file", "denoise_files"]
