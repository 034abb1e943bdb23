"""Reconstruct many series files with one model: local worker processes or a Dask cluster.

:func:`reconstruct_file` reconstructs one file (CSV/TSV, ``.npy`` or audio) into an
output of the same kind (a CSV keeps its time and label columns, audio its rate and
subtype), written atomically. :func:`reconstruct_files` runs a batch:

- every output is written atomically to the output folder under the input's name;
- a manifest CSV (``file, output, status, error, samples, channels, rmse, mse,
  seconds``) is rewritten, atomically, each time a file finishes;
- a rerun resumes: files whose manifest row says ``ok`` and whose output exists are
  skipped, failed ones are retried;
- a file that fails (corrupt, wrong channel count, ...) is recorded with its error
  and the batch goes on;
- a long audio or ``.npy`` file is reconstructed in blocks
  (:mod:`tsae.pipelines.reconstruct.blocks`): memory is bounded by the block, not the file.

Execution: in this process (``workers=1``), in ``workers`` local processes (each
loads the model file once), or on an existing Dask cluster (``dask="tcp://host:8786"``;
the model file's bytes are scattered to the workers, each loads them once; input and
output paths must be reachable from the workers, ``fsspec`` URLs such as ``s3://``
or ``memory://`` work). CPU inference runs on one torch thread everywhere, so every
mode writes bit-identical outputs. On a GPU (``device="cuda"`` or ``"auto"`` with CUDA)
the windows of several files are grouped into one model call to keep the device busy.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsae.errors import columns_named, first_line, in_file, memory_for, naming, table_columns
from tsae.io.atomic import all_or_nothing, atomic_path
from tsae.io.blocks import open_source, open_writer, streams
from tsae.io.paths import (
    SERIES_SUFFIXES,
    check_output,
    check_outputs,
    expand_inputs,
    is_url,
    name_of,
    output_is_folder,
    plan_outputs,
    read_paths,
)
from tsae.io.series import read_series, write_series
from tsae.models.device import torch_threads
from tsae.pipelines.reconstruct.blocks import RECONSTRUCT_BLOCK, encode_blocks, reconstruct_blocks

__all__ = [
    "reconstruct",
    "reconstruct_file",
    "reconstruct_files",
    "encode_file",
    "read_manifest",
    "BatchResult",
    "MANIFEST_FIELDS",
]

MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = ["file", "output", "status", "error", "samples", "channels", "rmse", "mse", "seconds"]


# ----------------------------------------------------------------------------- local copies of URLs
@contextlib.contextmanager
def _local_input(path: str) -> Iterator[Path]:
    """A local path holding the input (URLs are downloaded to a temporary file)."""
    if not is_url(path):
        yield Path(path)
        return
    import fsspec

    with tempfile.TemporaryDirectory(prefix="tsae-") as tmp:
        local = Path(tmp) / name_of(path)
        try:
            with fsspec.open(path, "rb") as src, open(local, "wb") as dst:
                dst.write(src.read())
        except FileNotFoundError:
            raise ValueError(f"{path}: no such file") from None
        yield local


@contextlib.contextmanager
def _local_output(path: str) -> Iterator[Path]:
    """A local path to write; URLs are uploaded (to ``.part`` then moved) when the block succeeds."""
    if not is_url(path):
        yield Path(path)
        return
    import fsspec

    with tempfile.TemporaryDirectory(prefix="tsae-") as tmp:
        local = Path(tmp) / name_of(path)
        yield local
        fs, target = fsspec.core.url_to_fs(path)
        part = target + ".part"
        fs.put_file(str(local), part)
        fs.mv(part, target)


def _output_exists(path: str) -> bool:
    if is_url(path):
        import fsspec

        fs, target = fsspec.core.url_to_fs(path)
        return bool(fs.exists(target))
    return Path(path).is_file()


# ----------------------------------------------------------------------------- one file
def _errors(values: np.ndarray, recon: np.ndarray) -> tuple[float, float]:
    finite = np.isfinite(values)
    if not finite.any():
        return float("nan"), float("nan")
    mse = float(np.mean((recon[finite] - values[finite]) ** 2))
    return float(np.sqrt(mse)), mse


def reconstruct_file(model: Any, input: str | os.PathLike, output: str | os.PathLike, *,
                     batch_size: int = 256, threads: int | None = 1, block: int = RECONSTRUCT_BLOCK,
                     advance: Callable[[int], None] | None = None) -> dict[str, Any]:
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
        Told the samples written after each block (a progress bar; block jobs only).

    Returns
    -------
    dict
        A manifest row: ``file, output, status ("ok"), error (""), samples, channels, rmse, mse, seconds``.
    """
    from tsae.pipelines.reconstruct.series import _loaded, reconstruct_series

    start = time.perf_counter()
    loaded = _loaded(model)
    src, dst = str(input), str(output)
    check_output(dst, [src, *read_paths(loaded)])
    with _local_input(src) as local_in:
        protect = (local_in, *read_paths(loaded))
        blocks = streams(Path(local_in), Path(dst)) and Path(local_in).is_file()
        source = open_source(Path(local_in)) if blocks else None
        if source is not None and source.n > block:  # long audio or .npy: in blocks, memory bounded by the block
            with _local_output(dst) as local_out, open_writer(Path(local_out), source, protect) as write, \
                    torch_threads(threads), in_file(src, dst, *read_paths(loaded)):
                total, count = reconstruct_blocks(loaded, source, write, advance, block=block, batch_size=batch_size)
            mse = total / count if count else float("nan")
            return _row(src, dst, "ok", "", source.n, source.channels, float(np.sqrt(mse)), mse,
                        time.perf_counter() - start)
        values, rate, meta = read_series(local_in)
        with torch_threads(threads), in_file(src, *read_paths(loaded)), memory_for(src, "reconstruct"), \
                columns_named(table_columns(meta)):
            recon = np.asarray(reconstruct_series(loaded, values, batch_size=batch_size), dtype=np.float64)
        recon = recon.reshape(values.shape)
        with _local_output(dst) as local_out:
            write_series(local_out, recon, rate, meta, protect=protect)
    rmse, mse = _errors(values, recon)
    return _row(src, dst, "ok", "", values.shape[1], values.shape[0], rmse, mse, time.perf_counter() - start)


def _row(file: str, output: str, status: str, error: str, samples: Any = "", channels: Any = "",
         rmse: Any = "", mse: Any = "", seconds: float = 0.0) -> dict[str, Any]:
    return {"file": file, "output": output, "status": status, "error": error, "samples": samples,
            "channels": channels, "rmse": rmse, "mse": mse, "seconds": round(float(seconds), 4)}


def _one_line(error: BaseException) -> str:
    return first_line(error, limit=500)  # a manifest cell stays readable


def _safe_reconstruct(model: Any, src: str, dst: str, batch_size: int) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        return reconstruct_file(model, src, dst, batch_size=batch_size)
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
        return _row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------- workers
_WORKER_MODEL: Any = None
_BYTES_CACHE: dict[str, Any] = {}


def _terminated(signum: int, frame: Any) -> None:
    raise RuntimeError("terminated (SIGTERM)")


def _init_worker(model_path: str) -> None:
    """Process-pool initialiser: the model loaded once per process; SIGTERM fails the running file.

    The error unwinds the file's atomic output like Ctrl-C does, so a worker stopped with
    the rest of the process group leaves no hidden ``.part`` file behind.
    """
    global _WORKER_MODEL
    import signal

    from tsae.models.modelfile import load_model

    signal.signal(signal.SIGTERM, _terminated)
    _WORKER_MODEL = load_model(model_path, device="cpu")


def _worker_task(src: str, dst: str, batch_size: int) -> dict[str, Any]:
    """One file in a pool worker, on one thread (the workers share the cores)."""
    with torch_threads(1):
        return _safe_reconstruct(_WORKER_MODEL, src, dst, batch_size)


def _model_from_bytes(data: bytes) -> Any:
    """Load (once per worker process) a model shipped as bytes."""
    key = hashlib.sha256(data).hexdigest()
    cached = _BYTES_CACHE.get(key)
    if cached is None:
        from tsae.models.modelfile import load_model

        with tempfile.TemporaryDirectory(prefix="tsae-model-") as tmp:
            path = Path(tmp) / "model.tsae"
            path.write_bytes(data)
            cached = load_model(path, device="cpu")
        _BYTES_CACHE[key] = cached
    return cached


def _dask_task(data: bytes, src: str, dst: str, batch_size: int) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        model = _model_from_bytes(data)
    except Exception as error:  # noqa: BLE001
        return _row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start)
    return _safe_reconstruct(model, src, dst, batch_size)


# ----------------------------------------------------------------------------- manifest
def read_manifest(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """Rows of a manifest CSV by input file (empty when it does not exist or is unreadable)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return {row["file"]: row for row in csv.DictReader(handle) if row.get("file")}
    except (OSError, csv.Error, KeyError, UnicodeDecodeError):
        return {}


def _write_manifest(path: Path, rows: dict[str, dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for key in sorted(rows):
        writer.writerow(rows[key])
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")


@dataclass
class BatchResult:
    """What a batch did: rows per input file (this run's and the resumed ones)."""

    manifest: Path | None
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: int = 0

    @property
    def ok(self) -> int:
        return sum(r["status"] == "ok" for r in self.rows.values())

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows.values() if r["status"] != "ok"]

    def summary(self) -> str:
        failed = self.failed
        text = f"{len(self.rows)} file(s): {self.ok} ok ({self.skipped} already done), {len(failed)} failed"
        if failed:
            text += f"; first failure: {failed[0]['error']}"
        if self.manifest is not None:
            text += f"; manifest {self.manifest}"
        return text


# ----------------------------------------------------------------------------- the batch
@dataclass
class _Pending:
    """A file read and framed, waiting for its windows to go through the model with others'."""

    src: str
    dst: str
    values: np.ndarray
    frames: np.ndarray
    context: Any
    rate: float | None
    meta: dict[str, Any]
    local_in: Path
    start: float
    stack: contextlib.ExitStack


def _is_long(src: str, dst: str) -> bool:
    """Whether ``src`` is a local audio or ``.npy`` file longer than one reconstruction block."""
    if is_url(src) or not streams(Path(src), Path(dst)) or not Path(src).is_file():
        return False
    try:
        source = open_source(Path(src))
    except ValueError:  # unreadable: the grouped path reports it
        return False
    return source is not None and source.n > RECONSTRUCT_BLOCK


def _grouped_gpu(loaded: Any, todo: list[tuple[str, str]], batch_size: int,
                 done: Callable[[dict[str, Any]], None], group_frames: int) -> None:
    """Run the windows of several files through the model together (keeps a GPU busy)."""
    from tsae.pipelines.reconstruct.series import prepare_frames

    pending: list[_Pending] = []
    for src, dst in todo:
        if _is_long(src, dst):  # in blocks on its own: a long file is never held whole
            done(_safe_reconstruct(loaded, src, dst, batch_size))
            continue
        start = time.perf_counter()
        stack = contextlib.ExitStack()
        try:
            local_in = stack.enter_context(_local_input(src))
            values, rate, meta = read_series(local_in)
            with columns_named(table_columns(meta)):
                frames, context = prepare_frames(loaded, values)
        except Exception as error:  # noqa: BLE001
            stack.close()
            done(_row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start))
            continue
        pending.append(_Pending(src, dst, values, frames, context, rate, meta, local_in, start, stack))
        if sum(len(p.frames) for p in pending) >= group_frames:
            _flush_group(loaded, pending, batch_size, done)
            pending = []
    _flush_group(loaded, pending, batch_size, done)


def _flush_group(loaded: Any, pending: list[_Pending], batch_size: int,
                 done: Callable[[dict[str, Any]], None]) -> None:
    """One model pass over the windows of ``pending``, then each file written and reported."""
    from tsae.pipelines.reconstruct.series import frames_to_series, run_frames

    if not pending:
        return
    try:
        recon = run_frames(loaded.model, np.concatenate([p.frames for p in pending], axis=0), batch_size=batch_size)
    except Exception as error:  # noqa: BLE001
        for p in pending:
            p.stack.close()
            done(_row(p.src, p.dst, "failed", _one_line(error)))
        return
    at = 0
    for p in pending:
        part = recon[at : at + len(p.frames)]
        at += len(p.frames)
        try:
            with p.stack:
                y = np.asarray(frames_to_series(part, p.context), dtype=np.float64).reshape(p.values.shape)
                with _local_output(p.dst) as local_out:
                    write_series(local_out, y, p.rate, p.meta, protect=(p.local_in, *read_paths(loaded)))
            rmse, mse = _errors(p.values, y)
            done(_row(p.src, p.dst, "ok", "", p.values.shape[1], p.values.shape[0], rmse, mse,
                      time.perf_counter() - p.start))
        except Exception as error:  # noqa: BLE001
            done(_row(p.src, p.dst, "failed", _one_line(error), seconds=time.perf_counter() - p.start))


def reconstruct_files(
    model: str | os.PathLike,
    inputs: Iterable[str | os.PathLike],
    output: str | os.PathLike,
    *,
    workers: int = 1,
    dask: str | Any | None = None,
    device: str = "auto",
    batch_size: int = 256,
    manifest: str | os.PathLike | None = None,
    quiet: bool = False,
    progress: bool | None = None,
) -> BatchResult:
    """Reconstruct series files, folders and globs into the folder ``output``.

    Parameters
    ----------
    model
        The model file (``.tsae``).
    inputs
        Files, folders (their series files) and glob patterns; local paths or fsspec URLs.
    output
        Output folder (created); each input is written there under its own name.
    workers
        Local worker processes (1: in this process).
    dask
        A Dask scheduler address (``tcp://host:8786``) or a ``distributed.Client``: run
        the files on that cluster instead of local workers.
    device
        ``auto`` (CUDA when present), ``cpu`` or ``cuda``. On CUDA the batch runs in this
        process and windows of several files share each model call.
    batch_size
        Windows per model call.
    manifest
        Manifest CSV path (default ``OUTDIR/manifest.csv``; must be local).
    quiet, progress
        tqdm progress bar on stderr: shown on a TTY unless ``quiet``; ``progress`` forces it.

    Returns
    -------
    BatchResult
        Per-file rows; ``failed`` lists the files that failed (the batch does not stop).
    """
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct.series import frame_spec

    model_path = Path(model)
    loaded = load_model(model_path, device="cpu")  # fail early, one line, on a bad model file
    frame_spec(loaded)  # and on a model that cannot reconstruct series
    manifest_path, pairs = _plan_batch(model_path, inputs, str(output), manifest)
    rows, todo, skipped = _resume(read_manifest(manifest_path), pairs)
    result = BatchResult(manifest=manifest_path, skipped=skipped)

    from tqdm import tqdm

    show = (not quiet and sys.stderr.isatty()) if progress is None else progress
    bar = tqdm(total=len(pairs), initial=skipped, unit="file", desc="reconstruct", disable=not show)

    def done(row: dict[str, Any]) -> None:
        rows[row["file"]] = row
        _write_manifest(manifest_path, rows)
        bar.update(1)

    try:
        if todo:
            _write_manifest(manifest_path, rows)
            _dispatch(loaded, model_path, todo, done, workers=workers, dask=dask, device=device,
                      batch_size=batch_size)
    finally:
        bar.close()
    result.rows = {src: rows[src] for src, _ in pairs}
    return result


def _is_manifest(path: Path) -> bool:
    """Whether ``path`` is a manifest this command wrote (its header line is :data:`MANIFEST_FIELDS`)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().strip() == ",".join(MANIFEST_FIELDS)
    except (OSError, UnicodeDecodeError):
        return False


def _plan_batch(model_path: Path, inputs: Iterable[str | os.PathLike], out: str,
                manifest: str | os.PathLike | None) -> tuple[Path, list[tuple[str, str]]]:
    """The manifest path and the (input, output) pairs, checked: no output overwrites anything read."""
    manifest_path = Path(manifest) if manifest is not None else (
        Path(out) / MANIFEST_NAME if not is_url(out) else Path.cwd() / MANIFEST_NAME)
    # an earlier run's manifest is not an input; any other file the manifest would replace stays one (and is refused)
    skip = (manifest_path,) if _is_manifest(manifest_path) else ()
    files = expand_inputs(inputs, SERIES_SUFFIXES, urls=True, skip=skip,
                          exclude=lambda name: name == MANIFEST_NAME)
    pairs = plan_outputs(files, out, folder=True)
    check_output(manifest_path, [*files, model_path])
    if manifest_path.is_file() and not _is_manifest(manifest_path):
        raise ValueError(f"{manifest_path}: is not a manifest this command wrote; refusing to replace it "
                         "(give --manifest a new file or an earlier run's manifest)")
    check_outputs([dst for _, dst in pairs], [*files, model_path, manifest_path])
    if not is_url(out):
        Path(out).mkdir(parents=True, exist_ok=True)
    return manifest_path, pairs


def _resume(previous: dict[str, dict[str, Any]], pairs: list[tuple[str, str]],
            ) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]], int]:
    """Manifest rows to keep, the pairs still to do, and how many were already done."""
    rows: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, str]] = []
    for src, dst in pairs:
        old = previous.get(src)
        if old is not None and old.get("status") == "ok" and old.get("output") == dst and _output_exists(dst):
            rows[src] = old
        else:
            todo.append((src, dst))
    skipped = len(rows)
    # rows of files not in this run are kept, so the manifest stays a record of the folder
    for key, row in previous.items():
        rows.setdefault(key, row)
    return rows, todo, skipped


def _dispatch(loaded: Any, model_path: Path, todo: list[tuple[str, str]], done: Callable[[dict[str, Any]], None],
              *, workers: int, dask: str | Any | None, device: str, batch_size: int) -> None:
    """Run the files on a Dask cluster, the GPU (grouped), this process, or local workers."""
    from tsae.models.device import resolve_device

    dev = resolve_device(device)
    if dask is not None:
        _run_dask(dask, model_path, todo, batch_size, done)
    elif dev.type == "cuda":
        loaded.model.to(dev)
        _grouped_gpu(loaded, todo, batch_size, done, group_frames=max(batch_size * 8, 2048))
    elif workers <= 1:
        for src, dst in todo:
            done(_safe_reconstruct(loaded, src, dst, batch_size))
    else:
        _run_local(model_path, todo, batch_size, workers, done)


def reconstruct(
    model: str | os.PathLike,
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    dask: str | Any | None = None,
    device: str = "auto",
    batch_size: int = 256,
    **batch_options: Any,
) -> BatchResult:
    """Reconstruct one file into the file ``output``, or a batch into the folder ``output``.

    One local input file and an ``output`` that is not a folder (no trailing separator,
    not an existing folder, and with a suffix or not existing yet) is one file job:
    its row is the result's only row, the result has no manifest, and a failure raises.
    Anything else runs :func:`reconstruct_files` (``batch_options`` go to it).
    """
    single = _is_single_file_job(inputs, output)
    if single and dask is not None:
        return _dask_single_file(Path(model), str(inputs[0]), str(output), dask, batch_size)
    if single:
        from tsae.models.device import resolve_device
        from tsae.models.modelfile import load_model
        from tsae.pipelines.progress import sample_bar

        loaded = load_model(model, device=resolve_device(device))
        progress = batch_options.get("progress")
        show = (not batch_options.get("quiet", False) and sys.stderr.isatty()) if progress is None else progress
        source = open_source(Path(inputs[0])) if show and _is_long(str(inputs[0]), str(output)) else None
        with sample_bar(None if source is None else source.n, "reconstruct",
                        source is not None) as bar:  # a file of one block is quick
            row = reconstruct_file(loaded, inputs[0], output, batch_size=batch_size, advance=bar.update)
        return BatchResult(manifest=None, rows={row["file"]: row})
    return reconstruct_files(model, inputs, output, dask=dask, device=device, batch_size=batch_size, **batch_options)


def _dask_single_file(model_path: Path, src: str, dst: str, dask: str | Any, batch_size: int) -> BatchResult:
    """One file job run on a Dask cluster: the same output file as without ``dask``, and a failure raises."""
    check_output(dst, [src, model_path])
    rows: list[dict[str, Any]] = []
    _run_dask(dask, model_path, [(src, dst)], batch_size, rows.append)
    (row,) = rows
    if row["status"] != "ok":
        raise ValueError(naming(src, row["error"]))
    return BatchResult(manifest=None, rows={row["file"]: row})


def _is_single_file_job(inputs: Sequence[str | os.PathLike], output: str | os.PathLike) -> bool:
    if len(inputs) != 1 or is_url(inputs[0]) or not Path(inputs[0]).is_file():
        return False
    out = Path(output)
    return not output_is_folder(inputs, output) and (bool(out.suffix) or not out.exists())


def encode_file(model: Any, input: str | os.PathLike, output: str | os.PathLike, *, batch_size: int = 256,
                device: str = "auto", plot: str | os.PathLike | None = None, color_by: str = "auto",
                detector: str | os.PathLike | None = None, projection: str = "auto",
                block: int = RECONSTRUCT_BLOCK) -> np.ndarray:
    """Write the latent code of every window of the series file ``input`` to the ``.npy`` file ``output``.

    Windows follow the model's stored window and hop; the end is padded so every
    sample is covered. Returns the codes, ``(n_windows, *code_shape)``. With ``plot``,
    also draws the codes' 2-D map there (see
    :func:`~tsae.pipelines.reconstruct.codes_plot.plot_series_codes`: ``color_by`` time,
    label (the file's label column) or score (with a ``detector`` file)). Without a plot,
    a long audio or ``.npy`` file (more than ``block`` samples) is encoded block by block
    and the codes are returned memory-mapped from ``output``.
    """
    from tsae.io.series import save_npy
    from tsae.pipelines.reconstruct.series import _loaded, encode_series

    loaded = _loaded(model, device)
    reads = [input, *read_paths(loaded), *([detector] if detector is not None else [])]
    check_outputs([Path(output), *([Path(plot)] if plot is not None else [])], reads)
    long_input = plot is None and Path(input).is_file()  # the plot needs the whole series
    source = open_source(Path(input)) if long_input else None
    if source is not None and source.n > block:  # long audio or .npy: in blocks, memory bounded by the block
        with in_file(input, output, *read_paths(loaded)):
            encode_blocks(loaded, source, Path(output), protect=tuple(reads), block=block, batch_size=batch_size)
        return np.load(output, mmap_mode="r")
    values, _, meta = read_series(input)
    with in_file(input, *read_paths(loaded)), columns_named(table_columns(meta)):
        codes = encode_series(loaded, values, batch_size=batch_size)
    if plot is None:
        save_npy(output, codes, protect=reads)
        return codes
    from tsae.pipelines.reconstruct.codes_plot import plot_series_codes

    with all_or_nothing():  # the codes and the plot are both written, or neither
        save_npy(output, codes, protect=reads)
        try:
            plot_series_codes(plot, loaded, values, codes, color_by=color_by, labels=meta.get("label"),
                              detector=detector, projection=projection, title=Path(input).name, protect=reads)
        except ValueError as error:
            raise ValueError(f"{input}: {error}") from None
    return codes


def _run_local(model_path: Path, todo: list[tuple[str, str]], batch_size: int, workers: int,
               done: Callable[[dict[str, Any]], None]) -> None:
    """Run the files on ``workers`` local processes; a file whose worker died is retried once on a fresh one.

    A dead worker breaks the whole pool: the files that were not started go on in a new
    pool, and each file that was running then (which one killed it is not known) is
    retried alone on a fresh single worker; one that kills that worker too fails alone,
    and the others are unharmed.
    """
    queue = list(todo)
    suspects: list[tuple[str, str]] = []
    while queue:
        queue, died = _run_pool(model_path, queue, batch_size, workers, done)
        suspects += died
    for src, dst in suspects:
        _, died = _run_pool(model_path, [(src, dst)], batch_size, 1, done)
        for again in died:
            done(_row(*again, "failed", "its worker process died, and again when retried alone on a fresh one"))


def _run_pool(model_path: Path, queue: list[tuple[str, str]], batch_size: int, workers: int,
              done: Callable[[dict[str, Any]], None]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Run ``queue`` on one pool, ``workers`` files at a time, until it ends or a worker dies.

    Returns the files not started and the files running when a worker died (both empty
    when the pool ran to the end).
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    waiting = list(queue)
    running: dict[Future, tuple[str, str]] = {}
    died: list[tuple[str, str]] = []
    with ProcessPoolExecutor(max_workers=min(workers, len(waiting)), mp_context=context,
                             initializer=_init_worker, initargs=(str(model_path),)) as pool:
        while waiting or running:
            while waiting and len(running) < workers:
                try:
                    future = pool.submit(_worker_task, *waiting[0], batch_size)
                except BrokenProcessPool:  # a worker died after the last wait returned
                    if not running:  # nothing was running: the pool cannot start; each file is tried alone
                        return [], waiting
                    return waiting, list(running.values())
                running[future] = waiting.pop(0)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                src, dst = running.pop(future)
                try:
                    done(future.result())
                except BrokenProcessPool:
                    died.append((src, dst))
                except Exception as error:  # noqa: BLE001 - the task could not run (e.g. not picklable)
                    done(_row(src, dst, "failed", f"worker failed: {_one_line(error)}"))
            if died:  # the pool is broken: every running file died with it
                died += running.values()
                return waiting, died
    return [], []


def _run_dask(dask: str | Any, model_path: Path, todo: list[tuple[str, str]], batch_size: int,
              done: Callable[[dict[str, Any]], None]) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError("running on a Dask cluster needs dask.distributed: pip install 'tsae[dask]'") from None
    own = isinstance(dask, str)
    try:
        client: Any = Client(dask, timeout="20s") if own else dask
    except (OSError, TimeoutError) as error:
        raise ValueError(f"{dask}: cannot reach the Dask scheduler ({_one_line(error)})") from None
    try:
        data = client.scatter(model_path.read_bytes(), broadcast=True)
        futures = {client.submit(_dask_task, data, src, dst, batch_size, pure=False): (src, dst) for src, dst in todo}
        for future in as_completed(futures):
            src, dst = futures[future]
            try:
                row = future.result()
            except Exception as error:  # noqa: BLE001
                row = _row(src, dst, "failed", f"dask task failed: {_one_line(error)}")
            done(row)
    finally:
        if own:
            client.close()
