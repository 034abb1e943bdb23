"""The file jobs of ``tsae smooth`` and ``tsae impute``: a series file in, one of the same kind out.

A file no longer than one block is processed whole, exactly as
:func:`~tsae.pipelines.smooth.smoother.smooth` and :func:`~tsae.pipelines.smooth.imputer.impute`
process the array. A longer audio or ``.npy`` file (going to any output, a table too) is read, processed and
written block by block (:mod:`tsae.pipelines.smooth.blocks`, :mod:`tsae.io.blocks`), so memory is bounded by the
block, not the file; a progress bar on a terminal shows it; so is a long table file going to a table or a ``.npy``
file (:func:`~tsae.io.table_blocks.open_long_table`: its time and label columns held whole). Any other longer table
is read whole but processed in the same blocks, to the same result (the work's memory, many times the series', is
the block's). A gap longer than ``impute``'s blocks hold (:func:`~tsae.pipelines.smooth.blocks.gap_held_whole`) is
filled from a segment reaching as far as it spans on each side; only one too long for the series to gain from that
has the series filled whole, read again if it was being read in blocks. A series done whole shows a progress bar on
a terminal too (its samples, told as a trained model runs over them, else at the end; its elapsed time moves on
meanwhile), so a slow whole run (a big model, many channels) does not look hung.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.layout import check_fraction
from tsae.errors import columns_named, in_file, memory_for, table_columns
from tsae.io.blocks import SeriesSource, in_blocks, open_source, open_writer, reordered, streams
from tsae.io.c_stderr import stderr_is_terminal
from tsae.io.paths import check_data_output, check_output, read_paths
from tsae.io.series import read_series, refuse_transposed, write_series
from tsae.io.table_blocks import TableSource, open_long_table
from tsae.io.time_order import warn_time_order
from tsae.pipelines.progress import read_bar
from tsae.pipelines.reconstruct.columns import in_input_order, in_model_order, source_in_model_order
from tsae.pipelines.smooth.blocks import (
    IMPUTE_BLOCK,
    SMOOTH_BLOCK,
    WholeSeriesNeeded,
    impute_blocks,
    smooth_blocks,
)
from tsae.pipelines.smooth.imputer import impute
from tsae.pipelines.smooth.smoother import check_coloured_model, check_spikes, checked_params, smooth

#: what a job does to a table's rows, as its time-order warnings say it
_DONE = {"smooth": "smoothed", "impute": "imputed"}
#: a block job: (source, write, advance) -> the input's missing samples
_BlockJob = Callable[[SeriesSource, Callable[[np.ndarray], None], Callable[[int], None]], int]
#: a whole series' job: (values, advance) -> the result, advance told the samples done
_WholeJob = Callable[[np.ndarray, Callable[[int], None]], np.ndarray]


def _file_job(input: str | os.PathLike, output: str | os.PathLike, model: Any, fn: _WholeJob, *, block: int,
              blocks: _BlockJob, desc: str, quiet: bool) -> dict[str, Any]:
    """Write ``fn(values, advance)`` of ``input`` to ``output``, whole or (a series longer than ``block``) with
    ``blocks``; either way a progress bar of the samples done shows on a terminal unless ``quiet``.

    A long audio or ``.npy`` file is read and written block by block, and so is a long table file going to a table
    or a ``.npy`` file; another long table is read whole and goes through ``blocks`` in memory, to the same result.
    ``blocks`` raising :class:`~tsae.pipelines.smooth.blocks.WholeSeriesNeeded` has ``fn`` do the series whole.
    Neither the input nor the model file is overwritten; running out of memory is one
    error naming the input.
    """
    start = time.perf_counter()
    src, dst = Path(input), Path(output)
    reads = [src, *read_paths(model)]
    check_output(dst, reads)
    check_data_output(dst)
    # a float audio file's NaN samples are gaps here (the denoiser reads them as silence)
    source = open_source(src, audio_gaps=True, finite=True) if streams(src, dst, tables=True) else None
    show = not quiet and stderr_is_terminal()
    if source is None:  # a long table to a table: read in blocks too, its time and label whole
        with read_bar(src, show):
            source = open_long_table(src, dst)
    with memory_for(src, "process"):
        streamed = source is not None and source.n > block
        if source is not None and streamed:
            try:
                return _streamed(src, dst, source, model, blocks, desc, show, reads, start)
            except WholeSeriesNeeded:
                pass  # the series is done whole, read again
        # a table read in blocks has told what it warns of: its values read again without them
        with read_bar(src, show):
            values, rate, meta = source.whole() if isinstance(source, TableSource) else \
                read_series(src, audio_gaps=True, finite=True)
        refuse_transposed(src, *values.shape)
        if not (streamed and isinstance(source, TableSource)):  # else told as it was streamed
            warn_time_order(src, meta.get("time"), meta.get("time_name"), _DONE[desc])
        # a trained model takes a table's columns in its own order, matched by name
        ordered, names, perm = in_model_order(values, table_columns(meta), model, str(src))
        with in_file(src, dst, *reads), columns_named(names):
            result = None
            if values.shape[1] > block and not streamed:
                try:  # a long table, read whole: processed in the blocks a long .npy file is, to the same result
                    result = _in_blocks(src, ordered, rate, meta, blocks, desc, show)
                except WholeSeriesNeeded:
                    pass
            if result is None:  # short, or the blocks could not do it
                result = np.asarray(_whole(ordered, fn, desc, show), dtype=np.float64).reshape(values.shape)
        result = in_input_order(result, perm)
        write_series(dst, result, rate, meta, protect=reads)
    return {"samples": int(values.shape[1]), "channels": int(values.shape[0]),
            "missing": int(np.isnan(values).sum()), "seconds": time.perf_counter() - start}


def _whole(values: np.ndarray, fn: _WholeJob, desc: str, show: bool) -> np.ndarray:
    """``fn`` run over the whole series ``values``, a progress bar shown with ``show`` (kept moving: the job may
    tell it nothing for long, a network learning the series)."""
    from tsae.pipelines.progress import sample_bar, ticking

    with sample_bar(values.shape[1], desc, show) as bar, ticking(bar):
        return fn(values, bar.update)


def _streamed(src: Path, dst: Path, source: SeriesSource, model: Any, blocks: _BlockJob, desc: str, show: bool,
              reads: list[Any], start: float) -> dict[str, Any]:
    """:func:`_file_job` of a series read and written block by block."""
    from tsae.pipelines.progress import sample_bar, ticking

    names, perm = source_in_model_order(source, model, src, _DONE[desc])  # as for a table read whole
    ordered_source = reordered(source, perm)
    with sample_bar(source.n, desc, show) as bar, ticking(bar), open_writer(dst, source, tuple(reads)) as write:
        with in_file(src, dst, *reads), columns_named(names):
            # each block back in the table's own column order
            missing = blocks(ordered_source, lambda part: write(in_input_order(part, perm)), bar.update)
        ordered_source.finish()
    return {"samples": source.n, "channels": source.channels, "missing": missing,
            "seconds": time.perf_counter() - start}


def _in_blocks(src: Path, values: np.ndarray, rate: float | None, meta: dict[str, Any], blocks: _BlockJob,
               desc: str, show: bool) -> np.ndarray:
    """``blocks`` run over ``values`` (a whole series in memory) as over a long file: the result, ``values``' shape.

    The work's memory is that of one block, as for a long ``.npy`` file, and its result the same; a
    progress bar is shown with ``show``.
    """
    from tsae.pipelines.progress import sample_bar, ticking

    with sample_bar(values.shape[1], desc, show) as bar, ticking(bar):
        return in_blocks(src, values, rate, meta, lambda source, write: blocks(source, write, bar.update))


def _loaded_model(model: Any, device: str) -> Any:
    """The trained model loaded on ``device`` (None for none); a model that cannot reconstruct a series (the
    denoiser's) is refused here, before the input is read."""
    if model is None:
        return None
    from tsae.models.modelfile import as_loaded
    from tsae.pipelines.reconstruct.series import frame_spec

    loaded = as_loaded(model, device)
    frame_spec(loaded)
    return loaded


def smooth_file(input: str | os.PathLike, output: str | os.PathLike, *, strength: float = 1.0, model: Any = None,
                device: str = "cpu", block: int = SMOOTH_BLOCK, quiet: bool = False, **kwargs: Any) -> dict[str, Any]:
    """Smooth a series file (CSV/TSV, ``.npy``, audio) into ``output`` (same kind, written atomically).

    Parameters
    ----------
    input, output
        Series files; a CSV output keeps the input's time and label columns.
    strength, device, kwargs
        As for :func:`~tsae.pipelines.smooth.smoother.smooth`.
    model
        A trained model (file path or loaded model) or None to learn from the series.
    block
        Samples per channel of one block: a longer audio or ``.npy`` file is smoothed
        block by block with what its first block taught (see :mod:`tsae.pipelines.smooth.blocks`).
    quiet
        No progress bar (it is shown on a terminal only).

    Returns
    -------
    dict
        ``samples``, ``channels``, ``missing`` (NaN samples of the input), ``seconds``.
    """
    strength = check_fraction("strength", strength)
    loaded = _loaded_model(model, device)
    checked_params(kwargs.get("model_params"), 1, loaded)  # a bad parameter is its own error, not the file's
    check_spikes(kwargs.get("spikes", "auto"))
    check_coloured_model(kwargs.get("noise", "white"), loaded)

    def blocks(source: SeriesSource, write: Callable[[np.ndarray], None], advance: Callable[[int], None]) -> int:
        return smooth_blocks(source, write, advance, block=block, strength=strength, model=loaded, **kwargs)

    def whole(values: np.ndarray, advance: Callable[[int], None]) -> np.ndarray:
        return smooth(values, strength, model=loaded, device=device, advance=advance, **kwargs)

    return _file_job(input, output, loaded, whole, block=block, blocks=blocks, desc="smooth", quiet=quiet)


def impute_file(input: str | os.PathLike, output: str | os.PathLike, *, model: Any = None, device: str = "cpu",
                block: int = IMPUTE_BLOCK, quiet: bool = False, **kwargs: Any) -> dict[str, Any]:
    """Fill the missing cells of a series file into ``output`` (same kind, written atomically).

    Parameters and result as for :func:`smooth_file`; ``kwargs`` go to
    :func:`~tsae.pipelines.smooth.imputer.impute`. A longer file is
    filled block by block, each block with context around it (``block`` defaults to 2**16
    samples: the imputer's memory grows with 128 values per sample), grown to hold a gap whole; a series with a
    gap longer than they hold (:func:`~tsae.pipelines.smooth.blocks.gap_held_whole`: 7 blocks) is filled from a
    segment reaching as far as it spans on each side, or (that segment over half the series) the series whole.
    """
    loaded = _loaded_model(model, device)

    def blocks(source: SeriesSource, write: Callable[[np.ndarray], None], advance: Callable[[int], None]) -> int:
        return impute_blocks(source, write, advance, block=block, model=loaded, device=device, **kwargs)

    def whole(values: np.ndarray, advance: Callable[[int], None]) -> np.ndarray:
        result = impute(values, model=loaded, device=device, **kwargs)
        advance(values.shape[1])
        return result

    return _file_job(input, output, loaded, whole, block=block, blocks=blocks, desc="impute", quiet=quiet)


__all__ = ["smooth_file", "impute_file"]
