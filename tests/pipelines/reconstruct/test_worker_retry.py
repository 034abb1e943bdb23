"""reconstruct --workers: a dead worker costs one retry of its file on a fresh worker, never the rest of the batch."""
from __future__ import annotations

import os
import shutil
import signal
import time
from typing import Any

import pytest
from worker_killer import task_that_dies

from tsae.pipelines.reconstruct import batch, workers


@pytest.mark.slow  # spawns several pools of torch worker processes (about 25 s on two cores)
def test_dead_workers_cost_one_retry_of_their_file(monkeypatch, tiny_model, series_dir, tmp_path) -> None:
    # the parent submits this task; spawned workers import it from its module by name
    monkeypatch.setattr(workers, "_worker_task", task_that_dies)  # _run_pool submits it
    (series_dir / "broken.csv").unlink()
    # sorted first and last: the first pool starts with the file that dies once
    shutil.copy(series_dir / "s1.csv", series_dir / "a_dies_once.csv")
    shutil.copy(series_dir / "s1.csv", series_dir / "z_dies_always.csv")
    result = batch.reconstruct_files(tiny_model, [series_dir], tmp_path / "out", workers=2, device="cpu", quiet=True)
    assert (series_dir / "a_dies_once.died").exists() and (series_dir / "z_dies_always.died").exists()  # they died
    # the file that killed its worker once was retried and is like its twin
    assert (tmp_path / "out" / "a_dies_once.csv").read_text() == (tmp_path / "out" / "s1.csv").read_text()
    # the one that kills every worker fails alone, with the reason; the other five are done
    assert [row["file"] for row in result.failed] == [str(series_dir / "z_dies_always.csv")]
    assert "worker process died, and again when retried alone" in result.failed[0]["error"]
    assert result.ok == 5 and not (tmp_path / "out" / "z_dies_always.csv").exists()


def test_a_second_ctrl_c_while_the_pool_stops_does_not_cut_the_stopping_short(monkeypatch) -> None:
    """Ctrl-C twice (or SIGTERM then Ctrl-C) on --workers: the second one interrupted the pool's shutdown half-way,
    its workers were never told to exit, and the command hung for ever after printing 'Aborted.'."""
    import concurrent.futures
    from pathlib import Path

    class FirstCtrlC:  # a pool that is interrupted as soon as a file is submitted
        def __init__(self, **options) -> None:
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> bool:
            return False

        def submit(self, *args):
            raise KeyboardInterrupt

    steps: list[str] = []

    def stop_pool(pool) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, while the workers are being stopped
        steps.append("pool stopped")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", FirstCtrlC)
    monkeypatch.setattr(workers, "_stop_pool", stop_pool)
    monkeypatch.setattr(workers, "_record_finished", lambda running, done, finished: steps.append("rows recorded"))
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        workers._run_pool(Path("m.tsae"), [("a.csv", "out/a.csv")], 16, 2, lambda row: None)
    assert steps == ["pool stopped", "rows recorded"]
    assert signal.getsignal(signal.SIGINT) is handler


def _unwinding_then_idle(ready: Any) -> None:
    """A pool worker as SIGTERM to the process group left it: the signals that reach it while it still unwinds its
    stopped file are taken and ignored (``_stop_worker``), then it waits for good for a task (on the call queue's
    lock, which an idle worker that exited on the same SIGTERM still held); a later signal makes it exit."""

    taken = [0]

    def stop(signum: int, frame: object) -> None:
        taken[0] += 1
        if taken[0] > 1:
            os._exit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    ready.set()
    while True:
        time.sleep(3600)


def test_stopping_the_pool_does_not_wait_forever_for_a_worker_that_missed_its_signal() -> None:
    # `reconstruct DIR -o OUT --workers 2` given SIGTERM (to its process group) as one worker was idle and the other
    # running a file hung for good: the idle one exited holding the call queue's lock, the busy one took the only
    # SIGINT of _stop_pool while unwinding its file, then blocked on that lock, and pool.shutdown waited for it
    import multiprocessing
    import threading

    context = multiprocessing.get_context("fork")
    ready = context.Event()
    worker = context.Process(target=_unwinding_then_idle, args=(ready,))
    worker.start()
    try:
        # its handlers in place (a fixed 0.5 s could be too short on a loaded machine: the first SIGINT then killed
        # it at once, and the test passed without a worker that took its one signal)
        assert ready.wait(120)

        class Pool:
            _processes = {worker.pid: worker}

            def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
                worker.join()

        stopper = threading.Thread(target=workers._stop_pool, args=(Pool(),), daemon=True)
        stopper.start()
        stopper.join(timeout=120)
        assert not stopper.is_alive(), "_stop_pool still waits for a worker that took its one signal"
        assert worker.exitcode is not None and worker.exitcode != 0
        assert worker.exitcode in (128 + signal.SIGINT, -signal.SIGKILL)  # its second signal, or the kill
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()
