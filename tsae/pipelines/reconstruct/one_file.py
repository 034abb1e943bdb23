"""One file through the model: :func:`reconstruct_file` (read, reconstructed, written atomically, its
manifest row), and the same for a batch, where a file that fails is a row, not an error."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tsae.errors import columns_named, first_line, in_file, memory_for, table_columns
from tsae.io.blocks import open_source, open_writer, streams
from tsae.io.paths import check_data_output, check_output, read_paths
from tsae.io.series import read_series, write_series
from tsae.models.device import torch_threads
from tsae.pipelines.reconstruct.blocks import RECONSTRUCT_BLOCK, reconstruct_blocks
from tsae.pipelines.reconstruct.columns import check_channels, in_input_order, in_model_order
from tsae.pipelines.reconstruct.manifest import _row
from tsae.pipelines.reconstruct.remote import _local_input, _local_output, check_urls

__all__ = ["reconstruct_file"]


def _errors(values: np.ndarray, recon: np.ndarray) -> tuple[float, float]:
    finite = np.isfinite(values)
    if not finite.any():
        return float("nan"), float("nan")
    mse = float(np.mean((recon[finite] - values[finite]) ** 2))
    return float(np.sqrt(mse)), mse


def reconstruct_file(model: Any, input: str | os.PathLike, output: str | os.PathLike, *,
                     batch_size: int = 256, threads: int | None = 1, block: int = RECONSTRUCT_BLOCK,
                     advance: Callable[[int], None] | None = None,
                     sized: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Reconstruct one series file through ``model`` into ``output`` (written atomically).

    Parameters
    ----------
    model
        A :class:`~tsae.models.modelfile.LoadedModel` or a model file path.
    input, output
        Series files (CSV/TSV, ``.npy``, audio), local paths or fsspec URLs. The output
        kind follows its suffix; a CSV output keeps the input's time and label columns.
    batch_size
        Windows per forward pass.
    threads
        torch CPU threads during inference (1: bit-identical results in every mode).
    block
        Samples per channel of one block: a longer audio or ``.npy`` file (in and out)
        is reconstructed block by block (:mod:`tsae.pipelines.reconstruct.blocks`), to float
        rounding as a whole.
    advance
        Told the samples (per channel) done as the job runs: after each block, or as the network runs over a
        series read whole (a progress bar).
    sized
        Told the samples per channel of the input once known, before the work (a progress bar's total).

    Returns
    -------
    dict
        A manifest row: ``file, output, status ("ok"), error (""), samples, channels, rmse, mse, seconds``.
    """
    from tsae.pipelines.reconstruct.series import _loaded, frame_spec, reconstruct_series

    start = time.perf_counter()
    loaded = _loaded(model)
    frame_spec(loaded)  # a streaming model (the denoiser) reconstructs no series: told before the file's channels
    src, dst = str(input), str(output)
    check_output(dst, [src, *read_paths(loaded)])
    check_data_output(dst)
    check_urls([src, dst])  # an output URL whose filesystem needs a package (s3fs): told before the work
    with _local_input(src) as local_in:
        protect = (local_in, *read_paths(loaded))
        blocks = streams(Path(local_in), Path(dst)) and Path(local_in).is_file()
        source = open_source(Path(local_in)) if blocks else None
        if source is not None and source.n > block:  # long audio or .npy: in blocks, memory bounded by the block
            check_channels(src, source.channels, loaded, source.n)
            if sized is not None:
                sized(source.n)
            with _local_output(dst) as local_out, open_writer(Path(local_out), source, protect) as write, \
                    torch_threads(threads), in_file(src, dst, *read_paths(loaded)):
                total, count = reconstruct_blocks(loaded, source, write, advance, block=block, batch_size=batch_size)
            mse = total / count if count else float("nan")
            return _row(src, dst, "ok", "", source.n, source.channels, float(np.sqrt(mse)), mse,
                        time.perf_counter() - start)
        values, rate, meta = read_series(local_in)
        ordered, names, perm = in_model_order(values, table_columns(meta), loaded, src)  # matched by column name
        # not "values has 1 channel(s)", the argument's name
        check_channels(src, values.shape[0], loaded, values.shape[1])
        if sized is not None:
            sized(values.shape[1])
        with torch_threads(threads), in_file(src, *read_paths(loaded)), memory_for(src, "reconstruct"), \
                columns_named(names):
            recon = np.asarray(reconstruct_series(loaded, ordered, batch_size=batch_size, advance=advance),
                               dtype=np.float64)
        recon = in_input_order(recon.reshape(values.shape), perm)
        with _local_output(dst) as local_out:
            write_series(local_out, recon, rate, meta, protect=protect)
    rmse, mse = _errors(values, recon)
    return _row(src, dst, "ok", "", values.shape[1], values.shape[0], rmse, mse, time.perf_counter() - start)


def _one_line(error: BaseException) -> str:
    return first_line(error, limit=500)  # a manifest cell stays readable


def _safe_reconstruct(model: Any, src: str, dst: str, batch_size: int,
                      advance: Callable[[int], None] | None = None) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        return reconstruct_file(model, src, dst, batch_size=batch_size, advance=advance)
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
        return _row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start)
