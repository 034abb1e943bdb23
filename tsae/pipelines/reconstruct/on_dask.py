"""The batch on a Dask cluster: the scheduler checked to answer before anything is written, the model file's
bytes sent as a task's result (each worker loads them once; made again when the worker holding them dies), paths
sent absolute, a cancelled task's output never written, and the files left failed when the cluster has had no
worker for a while."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tsae._warning_filters import ignored
from tsae.errors import first_line, naming
from tsae.extras import require_extra
from tsae.io.atomic import all_or_nothing
from tsae.io.paths import check_output, is_url
from tsae.pipelines.reconstruct.manifest import BatchResult, _row
from tsae.pipelines.reconstruct.one_file import (
    _one_line,
    _reconstruct_file,
    _safe_reconstruct,
    _with_warnings,
    tell,
)
from tsae.pipelines.reconstruct.remote import check_urls

__all__ = ["DASK_CONNECT_TIMEOUT", "DASK_FIRST_WORKER_TIMEOUT", "DASK_NO_WORKERS_TIMEOUT"]

_BYTES_CACHE: dict[str, Any] = {}
#: one model load at a time: a Dask worker runs several tasks in threads of one process
_LOAD_LOCK = threading.Lock()


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


def _dask_task(data: bytes, model_name: str, src: str, dst: str, batch_size: int) -> dict[str, Any]:
    """One file on a Dask worker; a local output is renamed into place only if the task was not cancelled.

    ``model_name`` is the model file as the user named it, which the worker's messages name (not the
    temporary copy it loaded the bytes from: a file's message reads as it would without Dask).

    Without that check, the files running when the user pressed Ctrl-C were written
    after the command had ended, and the manifest never knew them.
    """
    start = time.perf_counter()
    try:
        model = dataclasses.replace(_model_from_bytes(data), path=Path(model_name))
    except Exception as error:  # noqa: BLE001
        return _row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start)
    if is_url(dst):  # an upload is not held back (it is not renamed by atomic_path)
        return _safe_reconstruct(model, src, dst, batch_size)
    return _with_warnings(lambda: _held_back(model, src, dst, batch_size, start))


def _held_back(model: Any, src: str, dst: str, batch_size: int, start: float) -> dict[str, Any]:
    """One file's row, its output renamed into place only if the task was not cancelled."""
    try:
        with all_or_nothing():  # the output waits for the end of the block, and is dropped on an error
            row = _reconstruct_file(model, src, dst, batch_size=batch_size)  # its warning told by the client
            if _cancelled_on_worker():
                raise RuntimeError("not written: the batch was interrupted")
        return row
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
        return _row(src, dst, "failed", _one_line(error), seconds=time.perf_counter() - start)


#: seconds to reach a Dask scheduler (connect, then hear it name itself)
DASK_CONNECT_TIMEOUT = 10.0
#: seconds a Dask batch waits while the cluster has no worker before the files left fail
DASK_NO_WORKERS_TIMEOUT = 120.0


def require_distributed() -> None:
    """A one-line ``ValueError`` saying what to install unless dask.distributed is; asked before the model is
    loaded or a file read."""
    require_extra("dask", "running on a Dask cluster", ValueError)


def _distributed() -> Any:
    """The dask.distributed module (the entry points asked :func:`require_distributed` first)."""
    try:
        import distributed
    except ImportError as error:
        require_distributed()  # not installed: what to install
        # installed, but broken (a dependency missing)
        raise ValueError(f"running on a Dask cluster: dask.distributed does not import ({first_line(error)})") from None
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
        _wait_for_a_worker(dask, _address_of(dask))
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


#: seconds to wait for a first worker on a cluster that has none yet (one started with the scheduler a moment
#: before has time to join), before anything is sent or written
DASK_FIRST_WORKER_TIMEOUT = 20.0


def _address_of(client: Any) -> str:
    """The scheduler address of a ``distributed.Client`` (for messages), or a stand-in when it cannot say."""
    return str(getattr(getattr(client, "scheduler", None), "address", None) or "the Dask scheduler")


def _wait_for_a_worker(client: Any, address: str) -> None:
    """Return once the cluster has a worker; a one-line error if none joins in :data:`DASK_FIRST_WORKER_TIMEOUT` s.

    Without it, a client given to the Python API went on to submit the files and waited
    :data:`DASK_NO_WORKERS_TIMEOUT` s (about 130 s in all) before failing them.
    """
    import asyncio

    if _workers_of(client):
        return
    try:
        client.wait_for_workers(1, timeout=DASK_FIRST_WORKER_TIMEOUT)
    except (TimeoutError, asyncio.TimeoutError, OSError):
        raise ValueError(f"{address}: the Dask cluster has no worker (none joined in "
                         f"{DASK_FIRST_WORKER_TIMEOUT:g} s): start one (dask worker {address}), or give the "
                         "address of a cluster that has workers") from None


def _on_worker(path: str) -> str:
    """``path`` as a Dask worker must see it: a local path made absolute (a worker has its own folder)."""
    return path if is_url(path) else os.path.abspath(path)


def _as_given(row: dict[str, Any], src: str, dst: str, sent: tuple[str, str]) -> dict[str, Any]:
    """A worker's row with the paths the user gave (in the manifest, and in its error and warning)."""
    row = dict(row, file=src, output=dst)
    for key in ("error", "warning"):
        if row.get(key):
            for absolute, given in sorted(zip(sent, (src, dst), strict=True), key=lambda pair: -len(pair[0])):
                if absolute != given:
                    row[key] = row[key].replace(absolute, given)
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
        data = _model_task(client, model_path)
        futures: dict[Any, tuple[str, str, tuple[str, str]]] = {}
        for src, dst in todo:
            sent = (_on_worker(src), _on_worker(dst))
            futures[client.submit(_dask_task, data, str(model_path), *sent, batch_size, pure=False)] = (src, dst, sent)
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


def _model_bytes(data: bytes) -> bytes:
    """The model file's bytes, as a task's result: the workers fetch it from the worker that holds it."""
    return data


def _model_task(client: Any, model_path: Path) -> Any:
    """A future of the model file's bytes that the cluster can make again when the worker holding it dies.

    The bytes were scattered: data the scheduler has no recipe for. A worker killed (out of
    memory, preempted) took them with it, and every file not yet finished failed with
    "cancelled for reason: already forgotten", although the nanny had restarted the worker.
    As a task's result they are computed again from the task, which the scheduler keeps.
    """
    try:
        data = model_path.read_bytes()
    except OSError as error:
        raise ValueError(f"{model_path}: cannot read the model ({_one_line(error)})") from None
    key = f"tsae-model-{hashlib.sha256(data).hexdigest()}"
    # the bytes are in the graph once, on purpose: "Sending large graph of 96 MiB", which distributed raises on the
    # thread that submits (this one), not on its event loop's: hidden on this thread alone, no other filter touched
    with ignored(UserWarning, "Sending large graph"):
        return client.submit(_model_bytes, data, key=key, pure=False)


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
                row = _row(src, dst, "failed", _task_failure(distributed, error))
            left.discard(future)
            done(row)


def _task_failure(distributed: Any, error: BaseException) -> str:
    """A failed task's one line; a file whose workers kept dying is told as the local pool tells it.

    Dask's own text for that is five sentences, with the task's key and a link, in a manifest cell.
    """
    if isinstance(error, distributed.KilledWorker) and len(error.args) == 3:
        last = getattr(error.args[1], "address", error.args[1])
        return (f"its Dask worker died while running it, on {error.args[2] + 1} workers in turn "
                f"(the last {last}: see its log)")
    return f"dask task failed: {_one_line(error)}"


def _dask_single_file(model_path: Path, src: str, dst: str, dask: str | Any, batch_size: int) -> BatchResult:
    """One file job run on a Dask cluster: the same output file as without ``dask``, and a failure raises."""
    check_output(dst, [src, model_path])
    check_urls([src, dst])  # here, before the cluster is asked: the workers would each fail on it
    rows: list[dict[str, Any]] = []
    _run_dask(dask, model_path, [(src, dst)], batch_size, rows.append)
    (row,) = rows
    if row["status"] != "ok":
        raise ValueError(naming(src, row["error"]))
    tell(row["warning"])
    return BatchResult(manifest=None, rows={row["file"]: row})
