"""The batch on local worker processes: a spawned pool, each worker loading the model file once; a file whose
worker died is retried once alone, and Ctrl-C or SIGTERM stops the running files without writing them."""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tsae.io.paths import is_url
from tsae.models.device import torch_threads
from tsae.pipelines.reconstruct.manifest import _row
from tsae.pipelines.reconstruct.one_file import _one_line, _safe_reconstruct

_WORKER_MODEL: Any = None
#: SIGINT (Ctrl-C) and SIGTERM: what a pool worker does with them (see :func:`_stop_worker`)
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: a pool worker's state: running a file, already unwinding it after a signal (which one), and what its
#: output path held when the file started (see :func:`_output_stamp`)
_WORKER_STATE: dict[str, Any] = {"busy": False, "stopping": False, "signum": 0, "output": "", "before": None,
                                 "finished": None}
#: seconds a stopped worker has to unwind its running file before it is killed
_STOP_GRACE = 30.0


class WorkerStopped(RuntimeError):
    """The running file of a pool worker, stopped by SIGINT (Ctrl-C) or SIGTERM."""


def _exit_now(code: int) -> None:
    os._exit(code)  # an idle worker has nothing to unwind (and must not print a traceback)


def _output_stamp(path: str) -> tuple[int, int, int] | None:
    """What is at a local output path now (device, inode, mtime), or None: nothing there, or a URL."""
    if not path or is_url(path):
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_mtime_ns


def _output_committed() -> bool:
    """Whether the running file's output was already renamed into place (then it is finished, not stopped)."""
    now = _output_stamp(_WORKER_STATE["output"])
    return now is not None and now != _WORKER_STATE["before"]


def _stop_error() -> WorkerStopped:
    signum = _WORKER_STATE["signum"]
    return WorkerStopped("terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted (Ctrl-C)")


def _stop_worker(signum: int, frame: Any) -> None:
    """SIGINT or SIGTERM in a pool worker: fail the running file (its atomic output unwinds), or exit if idle.

    Ctrl-C in a terminal reaches every worker and the parent, which signals its workers
    again: only the first signal during a file raises, so the unwinding (which removes
    the hidden ``.part`` file) is never cut short by the second. A file whose output is
    already in place is let finish, so the parent records it: failed then, it left a
    complete output that the manifest did not list.
    """
    if not _WORKER_STATE["busy"]:
        if _waiting_for_work(frame):
            _exit_now(128 + signum)
        return  # its finished file's row is still on its way to the parent: the next signal ends it
    if _WORKER_STATE["stopping"]:
        return
    _WORKER_STATE.update(stopping=True, signum=signum)
    if not _output_committed() and not _in_finalizer(frame):
        raise _stop_error()


def _in_finalizer(frame: Any) -> bool:
    """Whether a signal handler's ``frame`` (None: its caller's) runs inside a ``__del__``.

    There the raise would be swallowed anyway (:func:`_stop_check` raises the stop at the file's next block),
    and it would cut the finalizer short between freeing a native object and marking it freed (llvmlite's,
    soundfile's): a worker stopped by a Ctrl-C to the group once died of glibc's ``double free detected``.
    """
    frame = frame if frame is not None else sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _waiting_for_work(frame: Any) -> bool:
    """Whether a signal handler's ``frame`` is an idle pool worker's wait for its next file.

    A worker is not busy, yet not idle either, from the end of a file until its row is sent
    to the parent: exiting then lost a complete output's row (a Ctrl-C to the whole group
    let a committed file finish, and the parent's next signal came before its row went).
    """
    from multiprocessing.queues import Queue

    while frame is not None:
        if frame.f_code is Queue.get.__code__:
            return True
        frame = frame.f_back
    return False


def _stop_check(done: int) -> None:
    """The running file's progress hook: raise the stop again if the signal's own raise was lost.

    A signal handler's exception raised while a ``__del__`` runs (llvmlite frees objects
    that way) is swallowed by Python, and the file ran on to the end.
    """
    if _WORKER_STATE["stopping"] and not _output_committed():
        raise _stop_error()


def _quiet_lost_stop(unraisable: Any) -> None:
    """``sys.unraisablehook`` of a pool worker: a stop swallowed in a ``__del__`` prints no traceback
    (:func:`_stop_check` raises it again); anything else is reported as usual."""
    if isinstance(unraisable.exc_value, WorkerStopped):
        return
    sys.__unraisablehook__(unraisable)


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


@contextlib.contextmanager
def _stop_signals_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM ignored in this process while inside (the main thread only; elsewhere a no-op).

    The batch is being stopped already: a second Ctrl-C (or a SIGTERM) during the pool's
    shutdown interrupted it half-way, its workers were never told to exit, and the command
    hung at exit after printing "Aborted.", waiting for them.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(signum, handler)


def _init_worker(model_path: str, finished: Any = None) -> None:
    """Process-pool initialiser: the model loaded once per process; SIGINT and SIGTERM fail the running file.

    The error unwinds the file's atomic output, so a worker stopped with the rest of the
    process group (Ctrl-C, SIGTERM) leaves no hidden ``.part`` file behind; an idle worker
    exits quietly. The signals stay held (see :func:`_stop_signals_blocked`) until the
    model is loaded. ``finished`` (a ``SimpleQueue``) takes the row of a file let finish
    after a stop (see :func:`_worker_task`).
    """
    global _WORKER_MODEL
    from tsae.models.modelfile import load_model

    sys.unraisablehook = _quiet_lost_stop
    _WORKER_STATE["finished"] = finished
    for signum in _STOP_SIGNALS:
        signal.signal(signum, _stop_worker)
    try:
        _WORKER_MODEL = load_model(model_path, device="cpu")
    finally:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _worker_task(src: str, dst: str, batch_size: int) -> dict[str, Any]:
    """One file in a pool worker, on one thread (the workers share the cores)."""
    _WORKER_STATE.update(busy=True, stopping=False, signum=0, output=dst, before=_output_stamp(dst))
    try:
        with torch_threads(1):
            row = _safe_reconstruct(_WORKER_MODEL, src, dst, batch_size, advance=_stop_check)
        if _WORKER_STATE["stopping"] and row.get("status") == "ok" and _WORKER_STATE["finished"] is not None:
            # its output is in place, but its result may never reach the parent: another worker exiting on
            # the same stop breaks the pool, which fails every future still running
            _WORKER_STATE["finished"].put(row)
        return row
    finally:
        _WORKER_STATE["busy"] = False


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
    finished_after_stop = context.SimpleQueue()
    waiting = list(queue)
    running: dict[Future, tuple[str, str]] = {}
    died: list[tuple[str, str]] = []
    with ProcessPoolExecutor(max_workers=min(workers, len(waiting)), mp_context=context,
                             initializer=_init_worker, initargs=(str(model_path), finished_after_stop)) as pool:
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
                    src, dst = running[future]
                    try:
                        row = future.result()
                    except BrokenProcessPool:
                        died.append(running.pop(future))
                        continue
                    except Exception as error:  # noqa: BLE001 - the task could not run (e.g. not picklable)
                        row = _row(src, dst, "failed", f"worker failed: {_one_line(error)}")
                    # running until recorded: a Ctrl-C while its output was read for the manifest lost its row
                    done(row)
                    del running[future]
                if died:  # the pool is broken: every running file died with it
                    died += running.values()
                    return waiting, died
        except BaseException:  # Ctrl-C, SIGTERM, an error: the running files are stopped, not waited for
            with _stop_signals_ignored():  # a second Ctrl-C cut the pool's shutdown short, and the exit hung
                _stop_pool(pool)
                _record_finished(running, done, finished_after_stop)
            raise
    return [], []


def _record_finished(running: dict[Any, tuple[str, str]], done: Callable[[dict[str, Any]], None],
                     finished: Any = None) -> None:
    """After an interruption: record the files that were written before their workers heard of it.

    Their outputs are in place; without their rows the manifest would not know them. A
    file's row comes from its future or, where the broken pool failed that, from the
    workers' ``finished`` queue (see :func:`_worker_task`).
    """
    recorded: set[tuple[str, str]] = set()
    for future, pair in list(running.items()):
        with contextlib.suppress(BaseException):
            if future.done() and not future.cancelled() and future.exception() is None:
                row = future.result()
                if isinstance(row, dict) and row.get("status") == "ok":
                    done(row)
                    recorded.add(pair)
    for row in _rows_in(finished):
        pair = (str(row.get("file")), str(row.get("output")))
        if pair in running.values() and pair not in recorded:
            done(row)
            recorded.add(pair)


def _rows_in(queue: Any) -> list[dict[str, Any]]:
    """The rows a ``SimpleQueue`` holds now (none for None); the workers have stopped writing to it."""
    rows: list[dict[str, Any]] = []
    with contextlib.suppress(Exception):
        while queue is not None and not queue.empty():
            rows.append(queue.get())
    return rows


def _stop_pool(pool: Any) -> None:
    """Stop the pool's workers now: each running file unwinds (no output), idle workers exit, nothing new starts.

    A Ctrl-C in a terminal reaches the workers too; a SIGINT or SIGTERM sent to this process
    alone used to leave them running their files to the end, writing outputs the manifest
    never recorded. A worker still unwinding its stopped file takes the signal without
    exiting (see :func:`_stop_worker`), then waits for a task, perhaps for good (on the
    call queue's lock, held by an idle worker that exited on the same signal): it is told
    again until it exits, and killed after :data:`_STOP_GRACE` seconds.
    """
    from multiprocessing.connection import wait

    processes = [p for p in (getattr(pool, "_processes", None) or {}).values() if getattr(p, "sentinel", None)]
    deadline = time.monotonic() + _STOP_GRACE
    while processes:
        ended = set(wait([p.sentinel for p in processes], timeout=0))
        # an ended process may already be reaped (by the pool's own thread): its pid is never signalled
        processes = [p for p in processes if p.sentinel not in ended]
        late = time.monotonic() > deadline
        for process in processes:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                os.kill(process.pid, signal.SIGKILL if late else signal.SIGINT)
        if late:
            break
        wait([p.sentinel for p in processes], timeout=0.2)
    with contextlib.suppress(Exception):
        pool.shutdown(wait=True, cancel_futures=True)
