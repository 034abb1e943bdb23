"""One file through the model: :func:`reconstruct_file` (read, reconstructed, written atomically, its
manifest row), and the same for a batch, where a file that fails is a row, not an error.

A file sampled at another rate than the model was trained at is told (:func:`rate_warning`): the text
is the row's ``warning``, which the process that records the row tells once as a
:class:`SampleRateWarning` (:func:`tell`), so a file run on a local worker or on Dask is told by the
batch as one run here is.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tsae._warning_filters import recorded
from tsae.errors import columns_named, first_line, in_file, memory_for, table_columns
from tsae.io.blocks import CHUNK, in_blocks, open_source, open_writer, reordered, streams
from tsae.io.paths import check_data_output, check_output, read_paths
from tsae.io.series import read_series, write_series
from tsae.io.table_absurd import absurd_as_missing
from tsae.io.table_blocks import TableSource, open_long_table
from tsae.io.time_order import warn_time_order
from tsae.models.device import torch_threads
from tsae.pipelines.reconstruct.blocks import RECONSTRUCT_BLOCK, reconstruct_blocks
from tsae.pipelines.reconstruct.columns import (
    check_channels,
    in_input_order,
    in_model_order,
    source_in_model_order,
)
from tsae.pipelines.reconstruct.manifest import _row
from tsae.pipelines.reconstruct.remote import _local_input, _local_output, check_urls

__all__ = ["SampleRateWarning", "rate_warning", "reconstruct_file", "tell"]


class SampleRateWarning(UserWarning):
    """A series given to a model trained at another sample rate: each window spans another stretch of time."""


#: rates this close (relative) are one rate: a table's rate is that of its median time step, whose steps may
#: differ by as much (:func:`tsae.io.table_time._rate_from_time`)
RATE_TOLERANCE = 1e-3


def rate_warning(input: str | os.PathLike, rate: float | None, loaded: Any) -> str:
    """One line naming ``input``, its ``rate`` and the model's when the model ``loaded`` was trained at another
    rate; ``""`` when the two agree (within :data:`RATE_TOLERANCE`) or either is not known (a ``.npy`` array, a
    table without a regular time column, a model trained on such): no rate is made up.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> rate_warning("a.csv", 2.0, SimpleNamespace(sample_rate=100.0, path="m.tsae"))
    'a.csv: sampled at 2 Hz, but the model (m.tsae) was trained at 100 Hz: resample it to 100 Hz first'
    >>> rate_warning("a.npy", None, SimpleNamespace(sample_rate=100.0, path="m.tsae"))
    ''
    """
    trained = getattr(loaded, "sample_rate", None)
    if rate is None or trained is None or math.isclose(rate, trained, rel_tol=RATE_TOLERANCE):
        return ""
    model = f" ({loaded.path})" if getattr(loaded, "path", None) else ""
    return (f"{input}: sampled at {rate:g} Hz, but the model{model} was trained at {trained:g} Hz: "
            f"resample it to {trained:g} Hz first")


def tell(warning: str) -> None:
    """Tell a :func:`rate_warning` (nothing for ``""``): where the row is recorded, once per file."""
    if warning:
        warnings.warn(warning, SampleRateWarning, stacklevel=3)


def _errors(values: np.ndarray, recon: np.ndarray) -> tuple[float, float]:
    """The reconstruction's RMSE and MSE over the samples of ``values`` that are not missing.

    Summed a block of samples at a time: the masks and differences of a whole long table were
    several times its size (1.6 GB for 3 million rows of 4 columns).
    """
    total, count = 0.0, 0
    for a in range(0, values.shape[-1], CHUNK):
        x, y = values[..., a: a + CHUNK], recon[..., a: a + CHUNK]
        finite = np.isfinite(absurd_as_missing(x))
        total += float(np.sum((y[finite] - x[finite]) ** 2))
        count += int(finite.sum())
    if not count:
        return float("nan"), float("nan")
    mse = total / count
    return float(np.sqrt(mse)), mse


def reconstruct_file(model: Any, input: str | os.PathLike, output: str | os.PathLike, *,
                     batch_size: int = 256, threads: int | None = 1, block: int = RECONSTRUCT_BLOCK,
                     advance: Callable[[int], None] | None = None,
                     sized: Callable[[int], None] | None = None, show_read: bool = False) -> dict[str, Any]:
    """Reconstruct one series file through ``model`` into ``output`` (written atomically).

    A file sampled at another rate than the model was trained at is told in a
    :class:`SampleRateWarning` and the row's ``warning`` (:func:`rate_warning`).

    Parameters
    ----------
    model
        A :class:`~tsae.models.modelfile.LoadedModel`, a model file path or what :func:`tsae.fit` returned.
    input, output
        Series files (CSV/TSV, ``.npy``, audio), local paths or fsspec URLs. The output
        kind follows its suffix; a CSV output keeps the input's time and label columns.
    batch_size
        Windows per forward pass.
    threads
        torch CPU threads during inference (1: bit-identical results in every mode).
    block
        Samples per channel of one block: a longer audio or ``.npy`` file (to any output, a table too)
        is read, reconstructed and written block by block (:mod:`tsae.pipelines.reconstruct.blocks`), to float
        rounding as a whole.
    advance
        Told the samples (per channel) done as the job runs: after each block, or as the network runs over a
        series read whole (a progress bar).
    sized
        Told the samples per channel of the input once known, before the work (a progress bar's total).
    show_read
        Show a row counter while a table is read before the work (:func:`~tsae.pipelines.progress.read_bar`).

    Returns
    -------
    dict
        A manifest row: ``file, output, status ("ok"), error (""), samples, channels, rmse, mse, seconds,
        warning``.
    """
    row = _reconstruct_file(model, input, output, batch_size=batch_size, threads=threads, block=block,
                            advance=advance, sized=sized, show_read=show_read)
    tell(row["warning"])
    return row


def _reconstruct_file(model: Any, input: str | os.PathLike, output: str | os.PathLike, *,
                      batch_size: int = 256, threads: int | None = 1, block: int = RECONSTRUCT_BLOCK,
                      advance: Callable[[int], None] | None = None,
                      sized: Callable[[int], None] | None = None, show_read: bool = False) -> dict[str, Any]:
    """:func:`reconstruct_file` with its warning in the row only: told by whoever records the row (a batch's
    worker process or Dask task does not tell it)."""
    from tsae.models.modelfile import as_loaded
    from tsae.pipelines.progress import read_bar
    from tsae.pipelines.reconstruct.series import frame_spec, reconstruct_series

    start = time.perf_counter()
    loaded = as_loaded(model)
    frame_spec(loaded)  # a streaming model (the denoiser) reconstructs no series: told before the file's channels
    src, dst = str(input), str(output)
    check_output(dst, [src, *read_paths(loaded)])
    check_data_output(dst)
    check_urls([src, dst])  # an output URL whose filesystem needs a package (s3fs): told before the work
    with _local_input(src) as local_in:
        protect = (local_in, *read_paths(loaded))
        blocks = streams(Path(local_in), Path(dst), tables=True) and Path(local_in).is_file()
        source = open_source(Path(local_in), finite=True) if blocks else None
        if source is None and Path(local_in).is_file():  # a long table to a table: in blocks, time and label whole
            with read_bar(src, show_read):
                source = open_long_table(Path(local_in), Path(dst))
        if source is not None and source.n > block:  # long audio, .npy or table: in blocks, memory bounded by them
            names, perm = source_in_model_order(source, loaded, src, "reconstructed")  # as for a table read whole
            check_channels(src, source.channels, loaded, source.n)
            if sized is not None:
                sized(source.n)
            ordered_source = reordered(source, perm)
            with _local_output(dst) as local_out, open_writer(Path(local_out), source, protect) as write, \
                    torch_threads(threads), in_file(src, dst, *read_paths(loaded)), columns_named(names):
                # each block back in the table's own column order
                total, count = reconstruct_blocks(loaded, ordered_source,
                                                  lambda part: write(in_input_order(part, perm)), advance,
                                                  block=block, batch_size=batch_size)
                ordered_source.finish()  # a file that changed while it was read is an error, and no output
            mse = total / count if count else float("nan")
            return _row(src, dst, "ok", "", source.n, source.channels, float(np.sqrt(mse)), mse,
                        time.perf_counter() - start, rate_warning(src, source.rate, loaded))
        # a table read in blocks has told what it warns of: its values read again without them
        with read_bar(src, show_read):
            values, rate, meta = source.whole() if isinstance(source, TableSource) else \
                read_series(local_in, finite=True)
        warn_time_order(src, meta.get("time"), meta.get("time_name"), "reconstructed")
        ordered, names, perm = in_model_order(values, table_columns(meta), loaded, src)  # matched by column name
        # not "values has 1 channel(s)", the argument's name
        check_channels(src, values.shape[0], loaded, values.shape[1])
        if sized is not None:
            sized(values.shape[1])
        with torch_threads(threads), in_file(src, *read_paths(loaded)), memory_for(src, "reconstruct"), \
                columns_named(names):
            if ordered.shape[1] > block:  # a long table, read whole: in the blocks of a long .npy file (float rounding)
                recon = in_blocks(Path(local_in), ordered, rate, meta, lambda source, write: reconstruct_blocks(
                    loaded, source, write, advance, block=block, batch_size=batch_size))
            else:
                recon = np.asarray(reconstruct_series(loaded, ordered, batch_size=batch_size, advance=advance),
                                   dtype=np.float64)
        recon = in_input_order(recon.reshape(values.shape), perm)
        rmse, mse = _errors(values, recon)  # before the output is in place: a Ctrl-C after it loses the file's row
        with _local_output(dst) as local_out:
            write_series(local_out, recon, rate, meta, protect=protect)
    return _row(src, dst, "ok", "", values.shape[1], values.shape[0], rmse, mse, time.perf_counter() - start,
                rate_warning(src, rate, loaded))


def _one_line(error: BaseException) -> str:
    return first_line(error, limit=500)  # a manifest cell stays readable


def _safe_reconstruct(model: Any, src: str, dst: str, batch_size: int,
                      advance: Callable[[int], None] | None = None) -> dict[str, Any]:
    """One file of a batch: its row, ``failed`` with the error for a file that fails, with what the file warned
    of (:func:`_with_warnings`)."""
    return _with_warnings(lambda: _row_of(model, src, dst, batch_size, advance))


def _with_warnings(job: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The row ``job`` returns, with what this thread warned of while it ran (a table's cells read as missing,
    ...) in the row's ``warning`` after its sample rate's: told once, in one line, where the row is recorded (a
    pool worker printed it in Python's two-line format, and under ``-q`` too; a Dask worker, on its own log).
    Recorded on this thread alone: a Dask worker's other tasks, on its other threads, keep theirs.
    """
    with warned_of() as told:
        row = job()
    return with_told(row, told)


@contextlib.contextmanager
def warned_of() -> Iterator[list[str]]:
    """A list that gets, when the block ends, what this thread warned of in it, one line each, not shown: for a
    row's ``warning`` (:func:`with_told`)."""
    # numpy's RuntimeWarnings and DeprecationWarnings left out, as the command does
    told: list[str] = []
    with recorded(ignore=[(RuntimeWarning, "numpy"), (DeprecationWarning, "")]) as caught:
        try:
            yield told
        finally:
            told.extend(first_line(w.message if isinstance(w.message, Warning) else Warning(w.message))
                        for w in caught)


def with_told(row: dict[str, Any], told: Iterable[str]) -> dict[str, Any]:
    """``row`` with the lines ``told`` after its ``warning`` (its sample rate's), each once, ``; ``-joined."""
    return {**row, "warning": "; ".join(dict.fromkeys(t for t in (row.get("warning", ""), *told) if t))}


def _row_of(model: Any, src: str, dst: str, batch_size: int, advance: Callable[[int], None] | None) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        return _reconstruct_file(model, src, dst, batch_size=batch_size, advance=advance)
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
        return _row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start)
