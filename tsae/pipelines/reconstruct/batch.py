"""Reconstruct many series files with one model: local worker processes or a Dask cluster.

:func:`reconstruct_file` reconstructs one file (CSV/TSV, ``.npy`` or audio) into an
output of the same kind (a CSV keeps its time and label columns, audio its rate and
subtype), written atomically. :func:`reconstruct_files` runs a batch:

- every output is written atomically to the output folder under the input's name;
- a manifest CSV (``file, output, status, error, samples, channels, rmse, mse,
  seconds, input_size, input_mtime_ns, model_size, model_mtime_ns, output_size,
  output_mtime_ns, warning``) is rewritten,
  atomically, as files finish (at most about once a second, and at the end, also after
  Ctrl-C); ``input_size`` to ``model_mtime_ns``, filled for a file done, say what its output was made
  from: the local input's and the model's size in bytes and modification time in
  nanoseconds, as they were before the file was read (empty for a URL input), and the two
  ``output_`` columns the output as written; ``warning`` is
  what was told of the file (its sample rate is not the model's,
  :func:`~tsae.pipelines.reconstruct.one_file.rate_warning`), told once by this process
  whichever worker or Dask task ran the file;
- a rerun resumes: files whose manifest row says ``ok``, whose output exists and is
  newer than the input and the model, and whose input and model have the size and
  modification time the row records are skipped; the others (failed, stale, or whose
  recorded size or time cannot be read back) are redone.
  An input replaced by another file with an older time (``cp -p``, ``rsync -t``, a
  restore from a backup) is so redone, which the times alone missed. A manifest of an
  earlier version (without the last four columns) is still read: its rows are judged
  by the times alone, and those found done get the columns filled;
- a file that fails (corrupt, wrong channel count, ...) is recorded with its error
  and the batch goes on;
- a long audio or ``.npy`` file is reconstructed in blocks
  (:mod:`tsae.pipelines.reconstruct.blocks`): memory is bounded by the block, not the file.

Execution: in this process (``workers=1``), in ``workers`` local processes (each
loads the model file once), or on an existing Dask cluster (``dask="tcp://host:8786"``,
checked to answer as a scheduler before anything is written; the model file's bytes
go to the workers as a task's result (made again if the worker holding them dies), each loads
them once; local paths are sent absolute and
must be reachable at the same place from the workers, ``fsspec`` URLs such as ``s3://``
or ``memory://`` work). Ctrl-C stops the files running, on local workers and on the
cluster alike: none of them is written (to a local folder; an upload to a URL is not
held back). CPU inference runs on one torch thread everywhere, so every mode writes
bit-identical outputs. On a GPU (``device="cuda"`` or ``"auto"`` with CUDA)
the windows of several files are grouped into one model call to keep the device busy.

This module plans and dispatches the batch (and runs the GPU's grouped calls); one file
is :mod:`~tsae.pipelines.reconstruct.one_file`, the manifest and resume
:mod:`~tsae.pipelines.reconstruct.manifest`, the local workers
:mod:`~tsae.pipelines.reconstruct.workers`, the Dask cluster
:mod:`~tsae.pipelines.reconstruct.on_dask`, and the local copies of URLs
:mod:`~tsae.pipelines.reconstruct.remote`.
"""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsae.errors import columns_named, in_file, table_columns
from tsae.io.atomic import all_or_nothing, being_written
from tsae.io.blocks import ArraySource, open_source, reordered, streams
from tsae.io.c_stderr import stderr_is_terminal
from tsae.io.paths import (
    SERIES_SUFFIXES,
    check_output,
    check_outputs,
    expand_inputs,
    is_url,
    output_is_folder,
    plan_outputs,
    read_paths,
    written_file,
)
from tsae.io.series import read_series, write_series
from tsae.io.table_blocks import TableSource, open_long_table
from tsae.io.time_order import warn_time_order
from tsae.pipelines.reconstruct.blocks import RECONSTRUCT_BLOCK, encode_blocks
from tsae.pipelines.reconstruct.columns import (
    check_channels,
    in_input_order,
    in_model_order,
    source_in_model_order,
)
from tsae.pipelines.reconstruct.manifest import (
    IDENTITY_FIELDS,
    MANIFEST_FIELDS,
    MANIFEST_NAME,
    OUTPUT_FIELDS,
    BatchResult,
    _identity,
    _identity_cells,
    _is_manifest,
    _resume,
    _row,
    _write_manifest,
    output_cells,
    read_manifest,
    without_earlier_output,
)
from tsae.pipelines.reconstruct.on_dask import _dask_client, _dask_single_file, _run_dask, require_distributed
from tsae.pipelines.reconstruct.one_file import (
    _errors,
    _one_line,
    _safe_reconstruct,
    rate_warning,
    reconstruct_file,
    tell,
    warned_of,
    with_told,
)
from tsae.pipelines.reconstruct.remote import _local_input, _local_output, check_urls
from tsae.pipelines.reconstruct.workers import _run_local

__all__ = [
    "reconstruct",
    "reconstruct_file",
    "reconstruct_files",
    "encode_file",
    "read_manifest",
    "BatchResult",
    "MANIFEST_FIELDS",
    "IDENTITY_FIELDS",
    "OUTPUT_FIELDS",
]


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
    perm: list[int] | None  # the table's columns in the model's order (None: as they are)
    told: list[str]  # what reading it warned of: in its row, as a file run alone has it (told once, by ``done``)


def _is_long(src: str, dst: str) -> bool:
    """Whether ``src`` is a local audio or ``.npy`` file longer than one reconstruction block."""
    if is_url(src) or not streams(Path(src), Path(dst), tables=True) or not Path(src).is_file():
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
            with warned_of() as told:
                local_in = stack.enter_context(_local_input(src))
                values, rate, meta = read_series(local_in, finite=True)
                warn_time_order(src, meta.get("time"), meta.get("time_name"), "reconstructed")
                ordered, names, perm = in_model_order(values, table_columns(meta), loaded, src)
                with columns_named(names):
                    frames, context = prepare_frames(loaded, ordered)
        except Exception as error:  # noqa: BLE001
            stack.close()
            done(with_told(_row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start), told))
            continue
        pending.append(_Pending(src, dst, values, frames, context, rate, meta, local_in, start, stack, perm, told))
        if sum(len(p.frames) for p in pending) >= group_frames:
            _flush_group(loaded, pending, batch_size, done)
            pending = []
    _flush_group(loaded, pending, batch_size, done)


def _flush_group(loaded: Any, pending: list[_Pending], batch_size: int,
                 done: Callable[[dict[str, Any]], None]) -> None:
    """One model pass over the windows of ``pending``, then each file written and reported."""
    from tsae.pipelines.reconstruct.series import finite_frames, frames_to_series, run_frames

    if not pending:
        return
    try:
        recon = run_frames(loaded.model, np.concatenate([p.frames for p in pending], axis=0), batch_size=batch_size)
    except Exception as error:  # noqa: BLE001
        for p in pending:
            p.stack.close()
            done(with_told(_row(p.src, p.dst, "failed", _one_line(error)), p.told))
        return
    at = 0
    for p in pending:
        part = recon[at : at + len(p.frames)]
        at += len(p.frames)
        try:
            with warned_of() as told, p.stack:  # what writing it warns of too, as for a file run alone
                series = frames_to_series(finite_frames(part, loaded), p.context)
                y = in_input_order(np.asarray(series, dtype=np.float64).reshape(p.values.shape), p.perm)
                with _local_output(p.dst) as local_out:
                    write_series(local_out, y, p.rate, p.meta, protect=(p.local_in, *read_paths(loaded)))
                rmse, mse = _errors(p.values, y)
            row = _row(p.src, p.dst, "ok", "", p.values.shape[1], p.values.shape[0], rmse, mse,
                       time.perf_counter() - p.start, rate_warning(p.src, p.rate, loaded))
        except Exception as error:  # noqa: BLE001
            row = _row(p.src, p.dst, "failed", _one_line(error), seconds=time.perf_counter() - p.start)
        done(with_told(row, [*p.told, *told]))


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
        the files on that cluster instead of local workers. A cluster with no worker is given
        :data:`~tsae.pipelines.reconstruct.on_dask.DASK_FIRST_WORKER_TIMEOUT` seconds (20) for
        one to join, then a one-line ``ValueError`` naming the scheduler, before anything is
        written; files left when every worker has gone for ``DASK_NO_WORKERS_TIMEOUT`` (120 s)
        fail.
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

    if dask is not None:
        require_distributed()  # before the model is loaded and the inputs listed
    model_path = Path(model)
    model_identity = _identity(model_path)  # before it is read: a model replaced meanwhile is seen next time
    loaded = load_model(model_path, device="cpu")  # fail early, one line, on a bad model file
    frame_spec(loaded)  # and on a model that cannot reconstruct series
    out = str(output)
    inputs = list(inputs)
    check_urls([*inputs, out])  # a URL whose filesystem needs a package (s3fs): one line, before anything runs
    manifest_path, pairs = _plan_batch(model_path, inputs, out, manifest)
    rows, todo, skipped, filled = _resume(read_manifest(manifest_path), pairs, model_path, model_identity)
    # taken before any input is read: an input replaced while the batch runs is redone by the next one
    identities = {src: _identity_cells(_identity(src), model_identity) for src, _ in todo}
    result = BatchResult(manifest=manifest_path, skipped=skipped)
    with contextlib.ExitStack() as stack:
        if todo and dask is not None:  # the scheduler answers, and has a worker, before anything is written
            dask = stack.enter_context(_dask_client(dask))
        if not is_url(out):
            Path(out).mkdir(parents=True, exist_ok=True)
        _run_batch(loaded, model_path, manifest_path, rows, todo, len(pairs), skipped, workers=workers, dask=dask,
                   device=device, batch_size=batch_size, show=(not quiet and stderr_is_terminal())
                   if progress is None else progress, identities=identities, filled=filled)
    result.rows = {src: rows[src] for src, _ in pairs}
    return result


#: the manifest is rewritten at most this often (seconds) while a batch runs, and when it ends
MANIFEST_INTERVAL = 1.0


def _run_batch(loaded: Any, model_path: Path, manifest_path: Path, rows: dict[str, dict[str, Any]],
               todo: list[tuple[str, str]], total: int, skipped: int, *, workers: int, dask: Any, device: str,
               batch_size: int, show: bool, identities: dict[str, dict[str, Any]] | None = None,
               filled: Collection[str] = ()) -> None:
    """Run ``todo``, recording each finished file in ``rows`` and the manifest.

    The row of a file done gets its ``identities`` (:data:`IDENTITY_FIELDS`, by input) and its output's
    size and time (:data:`~tsae.pipelines.reconstruct.manifest.OUTPUT_FIELDS`),
    whichever way it ran (this process, local workers, the GPU or Dask). The manifest is
    rewritten whole, so not after every file (10,000 tiny files made that quadratic: most
    of the run): at most every :data:`MANIFEST_INTERVAL` seconds (or 20 times the last
    rewrite, for a long manifest), and at the end, also after Ctrl-C (or when rows resumed from an earlier
    manifest got their identities: the files ``filled``). A crash loses at most
    those last rows; their files are redone by the next run. A Ctrl-C during the first
    write (before any file ran) still leaves a manifest.
    """
    from tqdm import tqdm

    identities = identities or {}
    # the rows this run writes (a row given its identities too); the others are read back before each write
    own = {src for src, _ in todo} | set(filled)
    bar = tqdm(total=total, initial=skipped, unit="file", desc="reconstruct", disable=not show)
    state = {"due": 0.0, "dirty": bool(filled), "written": False}

    def write() -> None:
        start = time.monotonic()
        _write_manifest(manifest_path, rows, own)
        now = time.monotonic()
        state.update(due=now + max(MANIFEST_INTERVAL, 20 * (now - start)), dirty=False, written=True)

    def done(row: dict[str, Any]) -> None:
        if row.get("status") == "ok":  # what it was made from, and the output as written (in place now)
            row = {**row, **identities.get(row["file"], {}), **output_cells(str(row["output"]))}
            tell(row.get("warning", ""))  # here, once, whichever process or Dask task ran the file
        else:
            row = without_earlier_output(row, rows.get(row["file"]))
        rows[row["file"]] = row
        state["dirty"] = True
        if time.monotonic() >= state["due"]:
            write()
        bar.update(1)

    try:
        if todo:
            write()
            _dispatch(loaded, model_path, todo, done, workers=workers, dask=dask, device=device,
                      batch_size=batch_size)
            _remove_stale_parts(todo)
    finally:
        try:
            if state["dirty"] or (todo and not state["written"]):
                write()
        finally:
            bar.close()


def _remove_stale_parts(pairs: list[tuple[str, str]]) -> None:
    """Remove the hidden ``.NAME.XXXXXXXX.part`` files of these outputs, once every file has finished.

    A worker process that was killed while writing (and whose file was then retried, by
    the local pool or by Dask) cannot remove its temporary file; nor can a run killed with
    SIGKILL. A file another live process is writing (another batch into the same folder)
    is left to it (:func:`tsae.io.atomic.being_written`). One listing per output folder;
    URLs are left alone.
    """
    names: dict[Path, set[str]] = {}
    for _, dst in pairs:
        if not is_url(dst):  # an output that is a link has its temporary file beside the file it points to
            written = written_file(dst)
            names.setdefault(written.parent, set()).add(written.name)
    for folder, wanted in names.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if not (name.startswith(".") and name.endswith(".part")):
                continue
            target, _, random = name[1:-len(".part")].rpartition(".")
            if target in wanted and len(random) == 8 and entry.is_file(follow_symlinks=False) \
                    and not being_written(entry.path):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _plan_batch(model_path: Path, inputs: Iterable[str | os.PathLike], out: str,
                manifest: str | os.PathLike | None) -> tuple[Path, list[tuple[str, str]]]:
    """The manifest path and the (input, output) pairs, checked: no output overwrites anything read."""
    manifest_path = Path(manifest) if manifest is not None else (
        Path(out) / MANIFEST_NAME if not is_url(out) else Path.cwd() / MANIFEST_NAME)
    # an earlier run's manifest is not an input; any other file the manifest would replace stays one (and is refused)
    skip: tuple[Path, ...] = (manifest_path,) if _is_manifest(manifest_path) else ()
    if not is_url(out):  # an output folder inside an input folder holds no input its sub-folder warning should count
        skip += (Path(out),)
    inputs = list(inputs)
    files = _without_manifests(expand_inputs(inputs, SERIES_SUFFIXES, urls=True, skip=skip), inputs)
    pairs = plan_outputs(files, out, folder=True)
    for src, dst in pairs:
        if not is_url(dst) and os.path.abspath(dst) == os.path.abspath(manifest_path):
            raise ValueError(f"{src}: its output {dst} would be the batch's manifest: "
                             "give the manifest another file (--manifest)")
    check_output(manifest_path, [*files, model_path])
    if manifest_path.is_file() and not _is_manifest(manifest_path):
        raise ValueError(f"{manifest_path}: is not a manifest this command wrote; refusing to replace it "
                         "(give --manifest a new file or an earlier run's manifest)")
    check_outputs([dst for _, dst in pairs], [*files, model_path, manifest_path])
    return manifest_path, pairs


def _without_manifests(files: list[str], inputs: list[str | os.PathLike]) -> list[str]:
    """``files`` less the manifests an earlier batch wrote that a folder or a glob found.

    A data file that is merely named ``manifest.csv`` stays an input (it was left out without a
    word); a URL's ``manifest.csv`` cannot be looked into cheaply and is left out, as before.
    """
    named = {os.path.realpath(str(item)) for item in inputs if not is_url(str(item))}
    return [name for name in files
            if os.path.basename(name) != MANIFEST_NAME or (not is_url(name) and (
                os.path.realpath(name) in named or not _is_manifest(Path(name))))]


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
    if single and batch_options.get("manifest") is not None:  # it was ignored without a word
        raise ValueError(f"{batch_options['manifest']}: a manifest records a batch (several files, a folder or a "
                         f"glob, into an output folder); one file into {output} writes none")
    if single and dask is not None:
        require_distributed()  # before the model is loaded (a batch asks in reconstruct_files)
        return _dask_single_file(Path(model), str(inputs[0]), str(output), dask, batch_size)
    if single:
        from tsae.models.device import resolve_device
        from tsae.models.modelfile import load_model
        from tsae.pipelines.progress import SizedBar

        loaded = load_model(model, device=resolve_device(device))
        progress = batch_options.get("progress")
        show = (not batch_options.get("quiet", False) and stderr_is_terminal()) if progress is None else progress
        with SizedBar("reconstruct", show, least=RECONSTRUCT_BLOCK) as bar:  # a file of one block is quick
            row = reconstruct_file(loaded, inputs[0], output, batch_size=batch_size, advance=bar.update,
                                   sized=bar.size, show_read=show)
        return BatchResult(manifest=None, rows={row["file"]: row})
    return reconstruct_files(model, inputs, output, dask=dask, device=device, batch_size=batch_size, **batch_options)


def _is_single_file_job(inputs: Sequence[str | os.PathLike], output: str | os.PathLike) -> bool:
    if len(inputs) != 1 or is_url(inputs[0]):
        return False
    source = Path(inputs[0])
    if not source.is_file() and (source.is_dir() or not source.exists()):  # a pipe or device: one job, refused there
        return False
    out = Path(output)
    return not output_is_folder(inputs, output) and (bool(out.suffix) or not out.exists())


# ----------------------------------------------------------------------------- encode
def encode_file(model: Any, input: str | os.PathLike, output: str | os.PathLike, *, batch_size: int = 256,
                device: str = "auto", plot: str | os.PathLike | None = None, color_by: str = "auto",
                detector: str | os.PathLike | None = None, projection: str = "auto",
                block: int = RECONSTRUCT_BLOCK, quiet: bool = False, progress: bool | None = None) -> np.ndarray:
    """Write the latent code of every window of the series file ``input`` to the ``.npy`` file ``output``.

    Windows follow the model's stored window and hop; the end is padded so every
    sample is covered. Returns the codes, ``(n_windows, *code_shape)``. With ``plot``,
    also draws the codes' 2-D map there (see
    :func:`~tsae.pipelines.reconstruct.codes_plot.plot_series_codes`: ``color_by`` time,
    label (the file's label column) or score (with a ``detector`` file)). Without a plot,
    a long audio or ``.npy`` file (more than ``block`` samples) is encoded block by block
    and the codes are returned memory-mapped from ``output``. A file of more than ``block``
    samples shows a progress bar on stderr: on a terminal unless ``quiet``; ``progress`` forces it.
    A file sampled at another rate than the model was trained at is told in a
    :class:`~tsae.pipelines.reconstruct.one_file.SampleRateWarning`.
    """
    from tsae.io.series import save_npy
    from tsae.models.modelfile import as_loaded
    from tsae.pipelines.progress import SizedBar, read_bar
    from tsae.pipelines.reconstruct.codes_plot import check_projection, plot_format
    from tsae.pipelines.reconstruct.series import encode_series, frame_spec

    loaded = as_loaded(model, device)
    frame_spec(loaded)  # a streaming model (the denoiser) encodes no series: told before the file's channels
    reads = [input, *read_paths(loaded), *([detector] if detector is not None else [])]
    check_outputs([Path(output), *([Path(plot)] if plot is not None else [])], reads)
    if Path(output).suffix.lower() != ".npy":  # a .csv name got a .npy array's bytes
        raise ValueError(f"{output}: the codes are written as a .npy array; name the output "
                         f"{Path(output).with_suffix('.npy').name}")
    scorer: Any = detector
    if plot is not None:  # refused before the file is read and encoded, and not as the file's problem:
        plot_format(plot)  # a plot named .jpg,
        check_projection(projection)  # a projection whose package is missing,
        if detector is not None and color_by in ("auto", "score"):  # a detector file that does not load
            from tsae.pipelines.anomaly.detector import Detector

            scorer = detector if isinstance(detector, Detector) else Detector.load(Path(detector), device="cpu")
    show = (not quiet and stderr_is_terminal()) if progress is None else progress
    long_input = plot is None and Path(input).is_file()  # the plot needs the whole series
    source = open_source(Path(input), finite=True) if long_input else None
    if source is None and long_input:  # a long table: in blocks too, its time and label columns whole
        with read_bar(input, show):
            source = open_long_table(Path(input), Path(output))
    if source is not None and source.n > block:  # long audio, .npy or table: in blocks, memory bounded by them
        columns, perm = source_in_model_order(source, loaded, input, "encoded")  # as for a table read whole
        check_channels(input, source.channels, loaded, source.n)
        tell(rate_warning(input, source.rate, loaded))
        with in_file(input, output, *read_paths(loaded)), columns_named(columns), SizedBar("encode", show) as bar:
            bar.size(source.n)
            encode_blocks(loaded, reordered(source, perm), Path(output), protect=tuple(reads), block=block,
                          batch_size=batch_size, advance=bar.update)
        return np.load(output, mmap_mode="r")
    # a table read in blocks has told what it warns of: its values read again without them
    values, rate, meta = source.whole() if isinstance(source, TableSource) else read_series(input, finite=True)
    warn_time_order(input, meta.get("time"), meta.get("time_name"), "encoded")
    values, columns, _ = in_model_order(values, table_columns(meta), loaded, str(input))  # matched by column name
    check_channels(input, values.shape[0], loaded, values.shape[1])
    tell(rate_warning(input, rate, loaded))
    if plot is None and values.shape[1] > block:  # a long table, read whole: in the blocks of a long .npy file
        with in_file(input, output, *read_paths(loaded)), columns_named(columns), SizedBar("encode", show) as bar:
            bar.size(values.shape[1])
            encode_blocks(loaded, ArraySource(Path(input), values, rate, meta), Path(output), protect=tuple(reads),
                          block=block, batch_size=batch_size, advance=bar.update)
        return np.load(output, mmap_mode="r")
    with in_file(input, *read_paths(loaded)), columns_named(columns), \
            SizedBar("encode", show, least=block) as bar:  # a file of one block is quick: no bar
        bar.size(values.shape[1])
        codes = encode_series(loaded, values, batch_size=batch_size, advance=bar.update)
    if plot is None:
        save_npy(output, codes, protect=reads)
        return codes
    from tsae.pipelines.reconstruct.codes_plot import plot_series_codes

    with all_or_nothing():  # the codes and the plot are both written, or neither
        save_npy(output, codes, protect=reads)
        try:
            plot_series_codes(plot, loaded, values, codes, color_by=color_by, labels=meta.get("label"),
                              detector=scorer, projection=projection, title=Path(input).name, protect=reads,
                              columns=columns)
        except ValueError as error:
            raise ValueError(f"{input}: {error}") from None
    return codes
