"""Reconstruct many series files with one model: local worker processes or a Dask cluster.

:func:`reconstruct_file` reconstructs one file (CSV/TSV, ``.npy`` or audio) into an
output of the same kind (a CSV keeps its time and label columns, audio its rate and
subtype), written atomically. :func:`reconstruct_files` runs a batch:

- every output is written atomically to the output folder under the input's name;
- a manifest CSV (``file, output, status, error, samples, channels, rmse, mse,
  seconds, input_size, input_mtime_ns, model_size, model_mtime_ns``) is rewritten,
  atomically, as files finish (at most about once a second, and at the end, also after
  Ctrl-C); the last four columns, filled for a file done, say what its output was made
  from: the local input's and the model's size in bytes and modification time in
  nanoseconds, as they were before the file was read (empty for a URL input);
- a rerun resumes: files whose manifest row says ``ok``, whose output exists and is
  newer than the input and the model, and whose input and model have the size and
  modification time the row records are skipped; the others (failed, stale) are redone.
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
are scattered to the workers, each loads them once; local paths are sent absolute and
must be reachable at the same place from the workers, ``fsspec`` URLs such as ``s3://``
or ``memory://`` work). Ctrl-C stops the files running, on local workers and on the
cluster alike: none of them is written (to a local folder; an upload to a URL is not
held back). CPU inference runs on one torch thread everywhere, so every mode writes
bit-identical outputs. On a GPU (``device="cuda"`` or ``"auto"`` with CUDA)
the windows of several files are grouped into one model call to keep the device busy.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import signal
import socket
import sys
import tempfile
import threading
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
from tsae.pipelines.reconstruct.columns import in_input_order, in_model_order

__all__ = [
    "reconstruct",
    "reconstruct_file",
    "reconstruct_files",
    "encode_file",
    "read_manifest",
    "BatchResult",
    "MANIFEST_FIELDS",
    "IDENTITY_FIELDS",
]

MANIFEST_NAME = "manifest.csv"
#: the columns of a manifest written before the identities below were recorded (still read, and resumed by time)
_FIELDS_BEFORE_IDENTITY = ["file", "output", "status", "error", "samples", "channels", "rmse", "mse", "seconds"]
#: what a file done was made from: the input's and the model's size (bytes) and modification time (ns)
IDENTITY_FIELDS = ["input_size", "input_mtime_ns", "model_size", "model_mtime_ns"]
MANIFEST_FIELDS = [*_FIELDS_BEFORE_IDENTITY, *IDENTITY_FIELDS]


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
        ordered, names, perm = in_model_order(values, table_columns(meta), loaded)  # matched by column name
        with torch_threads(threads), in_file(src, *read_paths(loaded)), memory_for(src, "reconstruct"), \
                columns_named(names):
            recon = np.asarray(reconstruct_series(loaded, ordered, batch_size=batch_size), dtype=np.float64)
        recon = in_input_order(recon.reshape(values.shape), perm)
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
#: one model load at a time: a Dask worker runs several tasks in threads of one process
_LOAD_LOCK = threading.Lock()
#: SIGINT (Ctrl-C) and SIGTERM: what a pool worker does with them (see :func:`_stop_worker`)
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: a pool worker's state: running a file, and already unwinding it after a signal
_WORKER_STATE = {"busy": False, "stopping": False}


def _exit_now(code: int) -> None:
    os._exit(code)  # an idle worker has nothing to unwind (and must not print a traceback)


def _stop_worker(signum: int, frame: Any) -> None:
    """SIGINT or SIGTERM in a pool worker: fail the running file (its atomic output unwinds), or exit if idle.

    Ctrl-C in a terminal reaches every worker and the parent, which signals its workers
    again: only the first signal during a file raises, so the unwinding (which removes
    the hidden ``.part`` file) is never cut short by the second.
    """
    if not _WORKER_STATE["busy"]:
        _exit_now(128 + signum)
        return
    if _WORKER_STATE["stopping"]:
        return
    _WORKER_STATE["stopping"] = True
    raise RuntimeError("terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted (Ctrl-C)")


@contextlib.contextmanager
def _stop_signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back in this thread while inside (a pool spawns its workers here).

    A spawned worker inherits the mask, so a Ctrl-C while it starts (importing torch,
    loading the model) waits until :func:`_init_worker` has its handler in place instead
    of printing a traceback; the parent gets a held signal as soon as the block ends.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _init_worker(model_path: str) -> None:
    """Process-pool initialiser: the model loaded once per process; SIGINT and SIGTERM fail the running file.

    The error unwinds the file's atomic output, so a worker stopped with the rest of the
    process group (Ctrl-C, SIGTERM) leaves no hidden ``.part`` file behind; an idle worker
    exits quietly. The signals stay held (see :func:`_stop_signals_blocked`) until the
    model is loaded.
    """
    global _WORKER_MODEL
    from tsae.models.modelfile import load_model

    for signum in _STOP_SIGNALS:
        signal.signal(signum, _stop_worker)
    try:
        _WORKER_MODEL = load_model(model_path, device="cpu")
    finally:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _worker_task(src: str, dst: str, batch_size: int) -> dict[str, Any]:
    """One file in a pool worker, on one thread (the workers share the cores)."""
    _WORKER_STATE.update(busy=True, stopping=False)
    try:
        with torch_threads(1):
            return _safe_reconstruct(_WORKER_MODEL, src, dst, batch_size)
    finally:
        _WORKER_STATE["busy"] = False


def _model_from_bytes(data: bytes) -> Any:
    """Load (once per worker process) a model shipped as bytes.

    Locked: the tasks of a Dask worker run in threads, and two first loads at once
    (of the model, and of the plugins that make its family) must not race.
    """
    key = hashlib.sha256(data).hexdigest()
    with _LOAD_LOCK:
        cached = _BYTES_CACHE.get(key)
        if cached is None:
            from tsae.models.modelfile import load_model

            with tempfile.TemporaryDirectory(prefix="tsae-model-") as tmp:
                path = Path(tmp) / "model.tsae"
                path.write_bytes(data)
                cached = load_model(path, device="cpu")
            _BYTES_CACHE[key] = cached
    return cached


def _cancelled_on_worker() -> bool:
    """Whether the Dask task running in this thread was cancelled (its client cancelled it, or went away).

    A running task cannot be stopped from outside, but the worker marks it: asked here,
    without a call to the scheduler. False when that cannot be told.
    """
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        task = get_worker().state.tasks.get(thread_state.key)
        return task is None or task.state in ("cancelled", "released", "forgotten")
    except Exception:  # noqa: BLE001 - not on a worker, or another version's internals: finish the file
        return False


def _dask_task(data: bytes, src: str, dst: str, batch_size: int) -> dict[str, Any]:
    """One file on a Dask worker; a local output is renamed into place only if the task was not cancelled.

    Without that check, the files running when the user pressed Ctrl-C were written
    after the command had ended, and the manifest never knew them.
    """
    start = time.perf_counter()
    try:
        model = _model_from_bytes(data)
    except Exception as error:  # noqa: BLE001
        return _row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start)
    if is_url(dst):  # an upload is not held back (it is not renamed by atomic_path)
        return _safe_reconstruct(model, src, dst, batch_size)
    try:
        with all_or_nothing():  # the output waits for the end of the block, and is dropped on an error
            row = reconstruct_file(model, src, dst, batch_size=batch_size)
            if _cancelled_on_worker():
                raise RuntimeError("not written: the batch was interrupted")
        return row
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
        return _row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------- manifest
def read_manifest(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """Rows of a manifest CSV by input file (empty when it does not exist or is unreadable)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:  # utf-8-sig: a manifest saved again by a spreadsheet may start with a byte-order mark
        with open(path, newline="", encoding="utf-8-sig") as handle:
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
            text += f"; first failure: {naming(failed[0]['file'], failed[0]['error'])}"
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
    perm: list[int] | None  # the table's columns in the model's order (None: as they are)


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
            ordered, names, perm = in_model_order(values, table_columns(meta), loaded)
            with columns_named(names):
                frames, context = prepare_frames(loaded, ordered)
        except Exception as error:  # noqa: BLE001
            stack.close()
            done(_row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start))
            continue
        pending.append(_Pending(src, dst, values, frames, context, rate, meta, local_in, start, stack, perm))
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
            done(_row(p.src, p.dst, "failed", _one_line(error)))
        return
    at = 0
    for p in pending:
        part = recon[at : at + len(p.frames)]
        at += len(p.frames)
        try:
            with p.stack:
                series = frames_to_series(finite_frames(part, loaded), p.context)
                y = in_input_order(np.asarray(series, dtype=np.float64).reshape(p.values.shape), p.perm)
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
    model_identity = _identity(model_path)  # before it is read: a model replaced meanwhile is seen next time
    loaded = load_model(model_path, device="cpu")  # fail early, one line, on a bad model file
    frame_spec(loaded)  # and on a model that cannot reconstruct series
    out = str(output)
    manifest_path, pairs = _plan_batch(model_path, inputs, out, manifest)
    rows, todo, skipped, filled = _resume(read_manifest(manifest_path), pairs, model_path, model_identity)
    # taken before any input is read: an input replaced while the batch runs is redone by the next one
    identities = {src: _identity_cells(_identity(src), model_identity) for src, _ in todo}
    result = BatchResult(manifest=manifest_path, skipped=skipped)
    with contextlib.ExitStack() as stack:
        if todo and isinstance(dask, str):  # the scheduler answers before anything is written
            dask = stack.enter_context(_dask_client(dask))
        if not is_url(out):
            Path(out).mkdir(parents=True, exist_ok=True)
        _run_batch(loaded, model_path, manifest_path, rows, todo, len(pairs), skipped, workers=workers, dask=dask,
                   device=device, batch_size=batch_size, show=(not quiet and sys.stderr.isatty())
                   if progress is None else progress, identities=identities, dirty=filled)
    result.rows = {src: rows[src] for src, _ in pairs}
    return result


#: the manifest is rewritten at most this often (seconds) while a batch runs, and when it ends
MANIFEST_INTERVAL = 1.0


def _run_batch(loaded: Any, model_path: Path, manifest_path: Path, rows: dict[str, dict[str, Any]],
               todo: list[tuple[str, str]], total: int, skipped: int, *, workers: int, dask: Any, device: str,
               batch_size: int, show: bool, identities: dict[str, dict[str, Any]] | None = None,
               dirty: bool = False) -> None:
    """Run ``todo``, recording each finished file in ``rows`` and the manifest.

    The row of a file done gets its ``identities`` (:data:`IDENTITY_FIELDS`, by input),
    whichever way it ran (this process, local workers, the GPU or Dask). The manifest is
    rewritten whole, so not after every file (10,000 tiny files made that quadratic: most
    of the run): at most every :data:`MANIFEST_INTERVAL` seconds (or 20 times the last
    rewrite, for a long manifest), and at the end, also after Ctrl-C (or when ``dirty``:
    rows resumed from an earlier manifest got their identities). A crash loses at most
    those last rows; their files are redone by the next run. A Ctrl-C during the first
    write (before any file ran) still leaves a manifest.
    """
    from tqdm import tqdm

    identities = identities or {}
    bar = tqdm(total=total, initial=skipped, unit="file", desc="reconstruct", disable=not show)
    state = {"due": 0.0, "dirty": dirty, "written": False}

    def write() -> None:
        start = time.monotonic()
        _write_manifest(manifest_path, rows)
        now = time.monotonic()
        state.update(due=now + max(MANIFEST_INTERVAL, 20 * (now - start)), dirty=False, written=True)

    def done(row: dict[str, Any]) -> None:
        if row.get("status") == "ok":
            row = {**row, **identities.get(row["file"], {})}
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
    SIGKILL. One listing per output folder; URLs are left alone.
    """
    names: dict[Path, set[str]] = {}
    for _, dst in pairs:
        if not is_url(dst):
            names.setdefault(Path(dst).parent, set()).add(Path(dst).name)
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
            if target in wanted and len(random) == 8 and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _is_manifest(path: Path) -> bool:
    """Whether ``path`` is a manifest this command wrote (its header line is :data:`MANIFEST_FIELDS`, or
    those of an earlier version, without :data:`IDENTITY_FIELDS`)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.readline().strip() in (",".join(MANIFEST_FIELDS), ",".join(_FIELDS_BEFORE_IDENTITY))
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
    return manifest_path, pairs


def _mtime_ns(path: str | os.PathLike) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except (OSError, ValueError):
        return None


def _identity(path: str | os.PathLike) -> tuple[int, int] | None:
    """A local file's size in bytes and modification time in ns; None for a URL or a file that cannot be read."""
    if is_url(str(path)):
        return None
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return stat.st_size, stat.st_mtime_ns


def _identity_cells(input: tuple[int, int] | None, model: tuple[int, int] | None) -> dict[str, Any]:
    """The :data:`IDENTITY_FIELDS` cells of a row (empty where an identity is not known)."""
    cells: dict[str, Any] = {}
    for prefix, identity in (("input", input), ("model", model)):
        size, mtime = identity if identity is not None else ("", "")
        cells[f"{prefix}_size"], cells[f"{prefix}_mtime_ns"] = size, mtime
    return cells


def _recorded(row: dict[str, Any], prefix: str) -> tuple[int, int] | None:
    """The identity a manifest row records for its ``input`` or ``model``; None where it has none (an earlier
    version's manifest, a URL input) or it cannot be read back (a cell a spreadsheet rewrote as 1.7E+18)."""
    try:
        return int(row[f"{prefix}_size"]), int(row[f"{prefix}_mtime_ns"])
    except (KeyError, TypeError, ValueError):
        return None


def _done_already(src: str, dst: str, model_path: Path, row: dict[str, Any] | None = None,
                  model_identity: tuple[int, int] | None = None) -> bool:
    """Whether the output ``dst`` of a file done (its manifest ``row``) is still up to date.

    It must exist; the input and the model must have the size and modification time the
    row records (where it records them: :data:`IDENTITY_FIELDS`; ``model_identity`` is
    the model's now); and (a local output) it must be newer than its input and the model.
    An input edited, or a model retrained, after the output was written makes it stale:
    the file is redone, as ``make`` would; so does an input (or a model) replaced by
    another file with an older time (``cp -p``, ``rsync -t``, a restore from a backup),
    which the times alone missed. (A URL's time is not compared.)
    """
    if not _output_exists(dst):
        return False
    row = row or {}
    for prefix, now in (("input", _identity(src)), ("model", model_identity)):
        recorded = _recorded(row, prefix)
        if recorded is not None and recorded != now:
            return False
    if is_url(dst):
        return True
    written = _mtime_ns(dst)
    if written is None:
        return False
    sources: list[str | os.PathLike] = [model_path, *([] if is_url(src) else [src])]
    return all((changed := _mtime_ns(path)) is None or changed <= written for path in sources)


def _resume(previous: dict[str, dict[str, Any]], pairs: list[tuple[str, str]], model_path: Path,
            model_identity: tuple[int, int] | None = None,
            ) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]], int, bool]:
    """Manifest rows to keep, the pairs still to do, how many were already done, and whether a row kept
    got its identities filled (a row of an earlier version's manifest, found done by the times alone)."""
    rows: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, str]] = []
    filled = False
    for src, dst in pairs:
        old = previous.get(src)
        if old is not None and old.get("status") == "ok" and old.get("output") == dst \
                and _done_already(src, dst, model_path, old, model_identity):
            rows[src], upgraded = _with_identities(old, src, model_identity)
            filled = filled or upgraded
        else:
            todo.append((src, dst))
    skipped = len(rows)
    # rows of files not in this run are kept, so the manifest stays a record of the folder
    for key, row in previous.items():
        rows.setdefault(key, row)
    return rows, todo, skipped, filled


def _with_identities(row: dict[str, Any], src: str, model_identity: tuple[int, int] | None,
                     ) -> tuple[dict[str, Any], bool]:
    """A row found done, with the identities it does not record filled from now; and whether any was."""
    cells = _identity_cells(_identity(src), model_identity)
    missing = {key: value for key, value in cells.items() if value != ""
               and _recorded(row, key.split("_", 1)[0]) is None}
    return ({**row, **missing}, True) if missing else (row, False)


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


def _same_channels(input: str | os.PathLike, channels: int, loaded: Any) -> None:
    """One line naming the file and the model when the file's channel count is not the model's."""
    if channels != loaded.channels:
        model = f" ({loaded.path})" if loaded.path else ""
        raise ValueError(f"{input}: has {channels} channel(s) but the model was trained on {loaded.channels}{model}")


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
    from tsae.pipelines.reconstruct.series import _loaded, encode_series, frame_spec

    loaded = _loaded(model, device)
    frame_spec(loaded)  # a streaming model (the denoiser) encodes no series: told before the file's channels
    reads = [input, *read_paths(loaded), *([detector] if detector is not None else [])]
    check_outputs([Path(output), *([Path(plot)] if plot is not None else [])], reads)
    if Path(output).suffix.lower() != ".npy":  # a .csv name got a .npy array's bytes
        raise ValueError(f"{output}: the codes are written as a .npy array; name the output "
                         f"{Path(output).with_suffix('.npy').name}")
    long_input = plot is None and Path(input).is_file()  # the plot needs the whole series
    source = open_source(Path(input)) if long_input else None
    if source is not None and source.n > block:  # long audio or .npy: in blocks, memory bounded by the block
        _same_channels(input, source.channels, loaded)
        with in_file(input, output, *read_paths(loaded)):
            encode_blocks(loaded, source, Path(output), protect=tuple(reads), block=block, batch_size=batch_size)
        return np.load(output, mmap_mode="r")
    values, _, meta = read_series(input)
    _same_channels(input, values.shape[0], loaded)
    values, columns, _ = in_model_order(values, table_columns(meta), loaded)
    with in_file(input, *read_paths(loaded)), columns_named(columns):
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
        try:
            while waiting or running:
                while waiting and len(running) < workers:
                    try:
                        with _stop_signals_blocked():  # a worker spawned here starts with them held
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
                        row = future.result()
                    except BrokenProcessPool:
                        died.append((src, dst))
                        continue
                    except Exception as error:  # noqa: BLE001 - the task could not run (e.g. not picklable)
                        row = _row(src, dst, "failed", f"worker failed: {_one_line(error)}")
                    done(row)
                if died:  # the pool is broken: every running file died with it
                    died += running.values()
                    return waiting, died
        except BaseException:  # Ctrl-C, SIGTERM, an error: the running files are stopped, not waited for
            _stop_pool(pool)
            _record_finished(running, done)
            raise
    return [], []


def _record_finished(running: dict[Any, tuple[str, str]], done: Callable[[dict[str, Any]], None]) -> None:
    """After an interruption: record the files that were written before their workers heard of it.

    Their outputs are in place; without their rows the manifest would not know them.
    """
    for future in list(running):
        with contextlib.suppress(BaseException):
            if future.done() and not future.cancelled() and future.exception() is None:
                row = future.result()
                if isinstance(row, dict) and row.get("status") == "ok":
                    done(row)


def _stop_pool(pool: Any) -> None:
    """Stop the pool's workers now: each running file unwinds (no output), idle workers exit, nothing new starts.

    A Ctrl-C in a terminal reaches the workers too; a SIGINT or SIGTERM sent to this process
    alone used to leave them running their files to the end, writing outputs the manifest
    never recorded.
    """
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGINT)
    with contextlib.suppress(Exception):
        pool.shutdown(wait=True, cancel_futures=True)


#: seconds to reach a Dask scheduler (connect, then hear it name itself)
DASK_CONNECT_TIMEOUT = 10.0
#: seconds a Dask batch waits while the cluster has no worker before the files left fail
DASK_NO_WORKERS_TIMEOUT = 120.0


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ValueError("running on a Dask cluster needs dask.distributed: pip install 'tsae[dask]'") from None
    return distributed


def _scheduler_address(address: str) -> tuple[str, str, int | None]:
    """``address`` checked: (address, host, port); the port is None for ``inproc://``. A bad one is a ValueError."""
    from distributed.comm.addressing import parse_address, parse_host_port

    text = address.strip()
    expected = "expected tcp://HOST:PORT, e.g. tcp://scheduler:8786"
    if not text:
        raise ValueError(f"--dask: an empty scheduler address ({expected})")
    try:
        scheme, location = parse_address(text)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{address}: not a Dask scheduler address ({first_line(error)}; {expected})") from None
    if scheme == "inproc":
        return text, "", None
    host, _, port_text = location.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        reason = "no port" if not port_text or not host else f"port {port_text!r} is not a port number"
        raise ValueError(f"{address}: not a Dask scheduler address ({reason}; {expected})")
    try:
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{address}: not a Dask scheduler address ({first_line(error)}; {expected})") from None
    return text, host, int(port)


def _identify(address: str, timeout: float) -> Any:
    """What the server at ``address`` says it is (Dask's ``identity`` call), within ``timeout`` seconds."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    async def ask() -> Any:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(ask(), timeout)

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: the caller may be running an event loop
        return pool.submit(asyncio.run, bounded()).result()


def _check_scheduler(address: str) -> str:
    """Make sure a Dask scheduler answers at ``address``, quickly: a one-line ValueError otherwise.

    Without this a refused connection took the whole client timeout, and a server that is
    not a Dask scheduler (a web server, a proxy) hung the command or gave a bogus
    "not enough memory" (its reply read as a message length).
    """
    text, host, port = _scheduler_address(address)
    if port is None:
        return text
    timeout = DASK_CONNECT_TIMEOUT
    cannot = f"{address}: cannot reach the Dask scheduler"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror:
        raise ValueError(f"{cannot} (unknown host {host})") from None
    except ConnectionRefusedError:
        raise ValueError(f"{cannot} (connection refused: is a scheduler running there?)") from None
    except TimeoutError:
        raise ValueError(f"{cannot} (no answer in {timeout:g} s)") from None
    except (OSError, OverflowError) as error:
        raise ValueError(f"{cannot} ({getattr(error, 'strerror', None) or first_line(error)})") from None
    if not text.startswith("tcp://") and "://" in text:  # tls, ucx, ws: security settings the client has
        return text
    import asyncio

    not_dask = f"{address}: does not answer as a Dask scheduler"
    try:
        reply = _identify(text if "://" in text else f"tcp://{text}", timeout)
    except (TimeoutError, asyncio.TimeoutError):
        raise ValueError(f"{not_dask} (nothing in {timeout:g} s: is this the scheduler's address and port?)") \
            from None
    except MemoryError:  # another kind of server's reply, read as the length of a message
        raise ValueError(f"{not_dask} (it sent something else: is this the scheduler's port?)") from None
    except Exception as error:  # noqa: BLE001 - whatever else another kind of server makes the client raise
        raise ValueError(f"{not_dask} ({type(error).__name__}: {first_line(error, limit=120)})") from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        what = f"a Dask {kind.lower()}" if isinstance(kind, str) else "something else"
        raise ValueError(f"{address}: is {what}, not a Dask scheduler (give the scheduler's address)")
    return text


@contextlib.contextmanager
def _dask_client(dask: str | Any) -> Iterator[Any]:
    """A ``distributed.Client`` for a scheduler address (checked, then closed at the end), or ``dask`` itself."""
    if not isinstance(dask, str):
        yield dask
        return
    distributed = _distributed()
    address = _check_scheduler(dask)
    try:
        client = distributed.Client(address, timeout=f"{max(DASK_CONNECT_TIMEOUT, 20.0):g}s")
    except (OSError, TimeoutError) as error:
        raise ValueError(f"{dask}: cannot reach the Dask scheduler ({_one_line(error)})") from None
    try:
        _wait_for_a_worker(client, dask)
        yield client
    finally:
        client.close()


#: seconds to wait for a first worker on a cluster that has none yet
DASK_FIRST_WORKER_TIMEOUT = 20.0


def _wait_for_a_worker(client: Any, address: str) -> None:
    """Return once the cluster has a worker; a one-line error if none joins in :data:`DASK_FIRST_WORKER_TIMEOUT` s."""
    import asyncio

    if _workers_of(client):
        return
    try:
        client.wait_for_workers(1, timeout=DASK_FIRST_WORKER_TIMEOUT)
    except (TimeoutError, asyncio.TimeoutError, OSError):
        raise ValueError(f"{address}: the Dask cluster has no worker (none joined in "
                         f"{DASK_FIRST_WORKER_TIMEOUT:g} s)") from None


def _on_worker(path: str) -> str:
    """``path`` as a Dask worker must see it: a local path made absolute (a worker has its own folder)."""
    return path if is_url(path) else os.path.abspath(path)


def _as_given(row: dict[str, Any], src: str, dst: str, sent: tuple[str, str]) -> dict[str, Any]:
    """A worker's row with the paths the user gave (in the manifest, and in its error)."""
    row = dict(row, file=src, output=dst)
    if row.get("error"):
        for absolute, given in sorted(zip(sent, (src, dst), strict=True), key=lambda pair: -len(pair[0])):
            if absolute != given:
                row["error"] = row["error"].replace(absolute, given)
    return row


def _workers_of(client: Any) -> int | None:
    try:
        return len(client.nthreads())
    except Exception:  # noqa: BLE001 - the scheduler could not say: do not judge
        return None


def _run_dask(dask: str | Any, model_path: Path, todo: list[tuple[str, str]], batch_size: int,
              done: Callable[[dict[str, Any]], None]) -> None:
    """Run the files on a Dask cluster (an address or a ``distributed.Client``).

    Paths go to the workers absolute; a file whose task fails (its worker died too often)
    fails alone; when the cluster has had no worker for :data:`DASK_NO_WORKERS_TIMEOUT`
    seconds the files left fail (it used to wait for ever); on Ctrl-C (or any error) the
    files not finished are cancelled on the cluster.
    """
    distributed = _distributed()
    with _dask_client(dask) as client:
        where = getattr(getattr(client, "scheduler", None), "address", None) or "the Dask cluster"
        try:
            data = client.scatter(model_path.read_bytes(), broadcast=True)
        except (OSError, TimeoutError) as error:
            raise ValueError(f"{where}: cannot send the model to the Dask workers ({_one_line(error)}; "
                             "has the cluster any worker?)") from None
        futures: dict[Any, tuple[str, str, tuple[str, str]]] = {}
        for src, dst in todo:
            sent = (_on_worker(src), _on_worker(dst))
            futures[client.submit(_dask_task, data, *sent, batch_size, pure=False)] = (src, dst, sent)
        finished = False
        left = set(futures)  # not reported yet
        try:
            _collect_dask(distributed, client, futures, done, left)
            finished = True
        finally:
            if not finished:  # Ctrl-C or an error: cancelled, nothing more is written or left queued
                with contextlib.suppress(Exception):
                    client.cancel([future for future in futures if not future.done()])
                for future in [future for future in left if future.status == "finished"]:
                    src, dst, sent = futures[future]
                    with contextlib.suppress(Exception):  # written before the stop: the manifest must know it
                        row = future.result(timeout=DASK_CONNECT_TIMEOUT)
                        if row.get("status") == "ok":
                            done(_as_given(row, src, dst, sent))


def _collect_dask(distributed: Any, client: Any, futures: dict[Any, tuple[str, str, tuple[str, str]]],
                  done: Callable[[dict[str, Any]], None], left: set[Any] | None = None) -> None:
    """Report each task as it finishes (and take it out of ``left``); fail the rest after
    :data:`DASK_NO_WORKERS_TIMEOUT` s without workers."""
    waiting = distributed.as_completed(list(futures))
    left = set(futures) if left is None else left
    no_workers_since: float | None = None
    last_look = 0.0
    while not waiting.is_empty():
        if not waiting.has_ready():
            now = time.monotonic()
            if now - last_look >= 1.0:
                last_look = now
                count = _workers_of(client)
                no_workers_since = (no_workers_since or now) if count == 0 else None
                if no_workers_since is not None and now - no_workers_since >= DASK_NO_WORKERS_TIMEOUT:
                    client.cancel(list(left))
                    for future in list(left):
                        src, dst, _ = futures[future]
                        left.discard(future)
                        done(_row(src, dst, "failed", f"the Dask cluster has had no worker for "
                                                      f"{DASK_NO_WORKERS_TIMEOUT:g} s"))
                    return
            time.sleep(0.05)
            continue
        for future in waiting.next_batch(block=False):
            src, dst, sent = futures[future]
            try:
                row = _as_given(future.result(), src, dst, sent)
            except Exception as error:  # noqa: BLE001 - e.g. KilledWorker: its workers kept dying
                row = _row(src, dst, "failed", f"dask task failed: {_one_line(error)}")
            left.discard(future)
            done(row)
