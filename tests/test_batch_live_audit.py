"""Audit of batch ``tsae reconstruct`` (manifest, resume, local workers, Dask) and of ``tsae denoise --live``.

No network and no sound card: Dask clusters run in this process (TCP on 127.0.0.1 where
the scheduler address itself is under test), and sounddevice is a fake module that
raises what the real one raises (``PortAudioError`` is not an ``OSError``).
"""
from __future__ import annotations

import contextlib
import csv
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.reconstruct import batch, on_dask, one_file, workers
from tsae.pipelines.reconstruct.batch import read_manifest, reconstruct_files
from tsae.pipelines.reconstruct.manifest import _row


# ----------------------------------------------------------------------------- fixtures
def write_csv(path: Path, n: int, seed: int, channels: int = 2) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    cols = [np.sin(t / 9) + 0.1 * rng.normal(size=n), np.cos(t / 7), np.sin(t / 3)][:channels]
    names = ["a", "b", "c"][:channels]
    path.write_text("time," + ",".join(names) + "\n"
                    + "".join(f"{i * 0.5}," + ",".join(f"{c[i]:.6f}" for c in cols) + "\n" for i in range(n)))


@pytest.fixture()
def mixed_dir(tmp_path):
    """Three good CSV files, and a corrupt, an empty, a three-channel and a binary one."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        write_csv(folder / f"s{i}.csv", 200 + 37 * i, i)
    (folder / "corrupt.csv").write_text("time,a,b\n1,2\n3,x,4\n")
    (folder / "empty.csv").write_text("")
    write_csv(folder / "three.csv", 200, 9, channels=3)
    (folder / "binary.csv").write_bytes(b"\x00\xff\xfe\x01garbage")
    return folder


GOOD = ["s0.csv", "s1.csv", "s2.csv"]
BAD = ["binary.csv", "corrupt.csv", "empty.csv", "three.csv"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def tcp_cluster(workers: int = 1, threads: int = 2):
    """An in-process Dask cluster reached over TCP on the loopback (a real address, as on a cluster)."""
    distributed = pytest.importorskip("distributed")
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=threads, processes=False,
                                    protocol="tcp://", host="127.0.0.1", dashboard_address=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- Dask
def test_dask_mixed_batch_matches_local_with_relative_paths_sent_absolute(tiny_model, mixed_dir, tmp_path,
                                                                          monkeypatch) -> None:
    """Each bad file fails alone, named as given; the good ones are the bytes of a local run.

    A worker has its own working folder: relative paths made it read and write somewhere
    else ("no such file"); they now go to the workers absolute.
    """
    monkeypatch.chdir(tmp_path)
    real_task = on_dask._dask_task

    def only_absolute(data, model_name, src, dst, *rest):  # type: ignore[no-untyped-def]
        if not (os.path.isabs(src) and os.path.isabs(dst)):
            raise AssertionError(f"a relative path was sent to a Dask worker: {src} -> {dst}")
        return real_task(data, model_name, src, dst, *rest)

    monkeypatch.setattr(on_dask, "_dask_task", only_absolute)
    local = reconstruct_files(tiny_model, ["in"], "local", device="cpu", quiet=True)
    with tcp_cluster() as cluster:
        result = run("reconstruct", tiny_model, "in", "-o", "dask", "--dask", cluster.scheduler_address, "-q")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert sorted(line.split(": ")[1] for line in lines[:-1]) == [f"in/{name}" for name in BAD]
    assert lines[-1].startswith("Error: 7 file(s): 3 ok (0 already done), 4 failed; first failure: in/binary.csv")
    rows = read_manifest("dask/manifest.csv")
    assert {row["file"] for row in rows.values()} == {f"in/{name}" for name in GOOD + BAD}
    assert all(row["error"].startswith(row["file"]) for row in rows.values() if row["status"] != "ok")
    assert {k: r["error"] for k, r in rows.items()} == {k: r["error"] for k, r in local.rows.items()}
    for name in GOOD:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == sorted([*GOOD, "manifest.csv"])


@pytest.mark.parametrize("address, words", [
    ("nonsense", "not a Dask scheduler address (no port"),
    ("tcp://scheduler:http", "port 'http' is not a port number"),
    ("tcp://127.0.0.1:99999", "port '99999' is not a port number"),
    ("", "an empty scheduler address"),
    ("refused", "connection refused"),
])
def test_a_bad_or_dead_scheduler_address_is_one_quick_line_and_writes_nothing(tiny_model, mixed_dir, tmp_path,
                                                                              address, words, monkeypatch) -> None:
    pytest.importorskip("distributed")
    if address == "refused":  # nothing listens there: refused at once (it took the 20 s client timeout)
        address = f"tcp://127.0.0.1:{free_port()}"
    # the client's timeout is max(DASK_CONNECT_TIMEOUT, 20 s): made 300 s, a wait for it fails the bound below by
    # far, while a slow first import of distributed on a loaded machine (3 s or more) stays well under it
    monkeypatch.setattr(on_dask, "DASK_CONNECT_TIMEOUT", 300.0)
    start = time.monotonic()
    result = run("reconstruct", tiny_model, mixed_dir / "s0.csv", mixed_dir / "s1.csv", "-o", tmp_path / "out",
                 "--dask", address)
    assert time.monotonic() - start < 60
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], lines
    assert not (tmp_path / "out").exists()  # no folder, no manifest: nothing was run


class FakeServer:
    """A TCP server on the loopback that is not a Dask scheduler: it answers like a web server, or says nothing."""

    def __init__(self, reply: bytes | None) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is not None:
                try:
                    conn.sendall(self.reply)
                except OSError:  # the caller only knocked (a plain connect) and went
                    pass

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("reply", [b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n", None],
                         ids=["web-server", "silent"])
def test_a_server_that_is_not_a_dask_scheduler_is_one_line_not_a_hang(tiny_model, mixed_dir, tmp_path, monkeypatch,
                                                                       reply) -> None:
    """A web server's reply was read as a message length ('not enough memory', 3 EiB); a silent one hung for ever."""
    pytest.importorskip("distributed")
    monkeypatch.setattr(on_dask, "DASK_CONNECT_TIMEOUT", 1.5)
    server = FakeServer(reply)
    try:
        start = time.monotonic()
        result = run("reconstruct", tiny_model, mixed_dir / "s0.csv", mixed_dir / "s1.csv", "-o", tmp_path / "out",
                     "--dask", f"tcp://127.0.0.1:{server.port}")
        elapsed = time.monotonic() - start
    finally:
        server.close()
    assert elapsed < 60  # a hang, not the 1.5 s wait on a slow machine
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, lines
    assert f"tcp://127.0.0.1:{server.port}: does not answer as a Dask scheduler" in lines[0]
    assert "memory" not in lines[0]
    assert ("nothing in 1.5 s" in lines[0]) == (reply is None), lines[0]
    assert not (tmp_path / "out").exists()


def test_a_cluster_without_workers_is_one_line_before_anything_is_written(tiny_model, mixed_dir, tmp_path,
                                                                          monkeypatch) -> None:
    monkeypatch.setattr(on_dask, "DASK_FIRST_WORKER_TIMEOUT", 1.0)
    with tcp_cluster(workers=0) as cluster:
        result = run("reconstruct", tiny_model, mixed_dir / "s0.csv", mixed_dir / "s1.csv", "-o", tmp_path / "out",
                     "--dask", cluster.scheduler_address)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "the Dask cluster has no worker" in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_a_client_of_a_cluster_without_workers_is_one_line_before_anything_is_written(tiny_model, mixed_dir,
                                                                                       tmp_path, monkeypatch) -> None:
    # before: a Client given to the Python API skipped the wait for a first worker, submitted the files and
    # failed them only after DASK_NO_WORKERS_TIMEOUT (about 130 s in all)
    distributed = pytest.importorskip("distributed")
    from tsae.pipelines.reconstruct.batch import reconstruct_files

    monkeypatch.setattr(on_dask, "DASK_FIRST_WORKER_TIMEOUT", 1.0)
    monkeypatch.setattr(on_dask, "DASK_NO_WORKERS_TIMEOUT", 3600.0)  # the old path would hang the test
    submitted: list[object] = []
    with tcp_cluster(workers=0) as cluster, distributed.Client(cluster) as client:
        monkeypatch.setattr(client, "submit", lambda *a, **k: submitted.append(a))
        with pytest.raises(ValueError) as error:
            reconstruct_files(tiny_model, [mixed_dir / "s0.csv", mixed_dir / "s1.csv"], tmp_path / "out",
                              dask=client, quiet=True)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{cluster.scheduler_address}: the Dask cluster has no worker")
    assert "none joined in 1 s" in message and f"dask worker {cluster.scheduler_address}" in message
    assert submitted == [] and not list(tmp_path.glob("out/*.csv"))


def test_files_left_when_every_worker_is_gone_fail_instead_of_waiting_for_ever(monkeypatch) -> None:
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(on_dask, "DASK_NO_WORKERS_TIMEOUT", 1.0)
    with tcp_cluster(workers=0) as cluster, distributed.Client(cluster) as client:
        futures = {client.submit(_row, f"in{i}.csv", f"out{i}.csv", "ok", "", pure=False):
                   (f"in{i}.csv", f"out{i}.csv", (f"in{i}.csv", f"out{i}.csv")) for i in range(3)}
        rows: list[dict] = []
        start = time.monotonic()
        on_dask._collect_dask(distributed, client, futures, rows.append)
    assert time.monotonic() - start < 60  # waiting for ever, not the 1 s wait on a slow machine
    assert sorted(row["file"] for row in rows) == ["in0.csv", "in1.csv", "in2.csv"]
    assert all(row["status"] == "failed" and "no worker for 1 s" in row["error"] for row in rows)


def test_ctrl_c_with_dask_leaves_no_output_of_a_file_still_running_on_the_cluster(tiny_model, mixed_dir, tmp_path,
                                                                                   monkeypatch) -> None:
    """A running task cannot be stopped: it used to write its output after the command had ended."""
    # synchronised on what happens, not on sleeps: with a fixed 1.5 s for s1 and 2.5 s after the Ctrl-C, a loaded
    # machine could let s1 finish before the Ctrl-C (written, rightly), or look while it still ran (its .part file)
    pytest.importorskip("distributed")
    real = on_dask._reconstruct_file
    real_block = on_dask.all_or_nothing
    told_cancelled: list[bool] = []
    blocks_done: list[int] = []

    def slow_for_s1(model, src, dst, **options):  # type: ignore[no-untyped-def]
        row = real(model, src, dst, **options)
        if Path(src).name == "s1.csv":  # still running when Ctrl-C comes: it waits for its cancellation
            deadline = time.monotonic() + 60
            while not on_dask._cancelled_on_worker() and time.monotonic() < deadline:
                time.sleep(0.02)
            told_cancelled.append(on_dask._cancelled_on_worker())
        return row

    @contextlib.contextmanager
    def counted_block():  # type: ignore[no-untyped-def]
        try:
            with real_block():
                yield
        finally:
            blocks_done.append(1)  # a file's output is in place or dropped: nothing of it is written later

    monkeypatch.setattr(on_dask, "_reconstruct_file", slow_for_s1)  # _dask_task calls it
    monkeypatch.setattr(on_dask, "all_or_nothing", counted_block)
    out = tmp_path / "out"
    out.mkdir()

    def interrupt(row):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    todo = [(str(mixed_dir / "s0.csv"), str(out / "s0.csv")), (str(mixed_dir / "s1.csv"), str(out / "s1.csv"))]
    with tcp_cluster(workers=1, threads=2) as cluster:
        with pytest.raises(KeyboardInterrupt):
            on_dask._run_dask(cluster.scheduler_address, tiny_model, todo, 64, interrupt)
        deadline = time.monotonic() + 60
        while len(blocks_done) < 2 and time.monotonic() < deadline:  # the slow file has finished on the cluster
            time.sleep(0.02)
    assert told_cancelled == [True] and len(blocks_done) == 2
    assert not (out / "s1.csv").exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_model_loads_in_threads_of_one_dask_worker_do_not_race(tiny_model) -> None:
    """Two tasks of a fresh worker loading the model at once: all but one failed with 'family not installed'."""
    code = textwrap.dedent(f"""
        import threading
        from tsae.pipelines.reconstruct import on_dask
        data = open({str(tiny_model)!r}, "rb").read()
        errors = []
        def load():
            try:
                on_dask._model_from_bytes(data)
            except Exception as error:
                errors.append(repr(error))
        threads = [threading.Thread(target=load) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print("ERRORS", errors)
        assert not errors
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_workers_and_dask_together_are_refused(tiny_model, mixed_dir, tmp_path) -> None:
    result = run("reconstruct", tiny_model, mixed_dir, "-o", tmp_path / "out", "--dask", "tcp://127.0.0.1:1",
                 "--workers", "2")
    assert result.exit_code == 2 and "give one or the other" in result.output
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- manifest and resume
def test_the_manifest_is_not_rewritten_after_every_file(tiny_model, tmp_path, monkeypatch) -> None:
    """Rewriting the whole manifest per file made 3,000 tiny files spend most of their time on it (quadratic)."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        write_csv(folder / f"f{i:03d}.csv", 40, i)
    writes = []
    real = batch._write_manifest  # batch's own name: _run_batch looks it up there

    def counted(path, rows, *args):  # type: ignore[no-untyped-def]
        writes.append(len(rows))
        real(path, rows, *args)

    monkeypatch.setattr(batch, "_write_manifest", counted)
    result = reconstruct_files(tiny_model, [folder], tmp_path / "out", device="cpu", quiet=True)
    assert result.ok == 60
    assert len(writes) <= 12, len(writes)
    assert writes[-1] == 60 and len(read_manifest(tmp_path / "out" / "manifest.csv")) == 60


def test_ctrl_c_keeps_the_rows_of_the_files_finished(tiny_model, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        write_csv(folder / f"f{i}.csv", 60, i)
    real = one_file._reconstruct_file

    def stop_at_f4(model, src, dst, **options):  # type: ignore[no-untyped-def]
        if Path(src).name == "f4.csv":
            raise KeyboardInterrupt
        return real(model, src, dst, **options)

    monkeypatch.setattr(one_file, "_reconstruct_file", stop_at_f4)  # _safe_reconstruct calls it
    with pytest.raises(KeyboardInterrupt):
        reconstruct_files(tiny_model, [folder], tmp_path / "out", device="cpu", quiet=True)
    rows = read_manifest(tmp_path / "out" / "manifest.csv")
    assert sorted(Path(k).name for k, r in rows.items() if r["status"] == "ok") == [f"f{i}.csv" for i in range(4)]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [*(f"f{i}.csv" for i in range(4)), "manifest.csv"]


def test_an_output_older_than_its_input_or_the_model_is_redone(tiny_model, tmp_path) -> None:
    """The manifest said ok and the output existed: an edited input (or a retrained model) was skipped."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", 120, 0)
    write_csv(folder / "b.csv", 120, 1)
    model = tmp_path / "model.tsae"
    model.write_bytes(Path(tiny_model).read_bytes())
    past = time.time() - 1000
    for path in (model, folder / "a.csv", folder / "b.csv"):
        os.utime(path, (past, past))
    out = tmp_path / "out"
    reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 2  # up to date
    write_csv(folder / "a.csv", 300, 2)  # edited after its output was written
    newer = (out / "a.csv").stat().st_mtime + 1
    os.utime(folder / "a.csv", (newer, newer))
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert again.skipped == 1 and again.ok == 2
    assert int(read_manifest(out / "manifest.csv")[str(folder / "a.csv")]["samples"]) == 300
    retrained = max((out / name).stat().st_mtime for name in ("a.csv", "b.csv")) + 1
    os.utime(model, (retrained, retrained))
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 0


def test_a_manifest_saved_again_with_a_byte_order_mark_is_still_ours(tiny_model, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", 120, 0)
    out = tmp_path / "out"
    reconstruct_files(tiny_model, [folder], out, device="cpu", quiet=True)
    manifest = out / "manifest.csv"
    with open(manifest, newline="") as handle:
        rows = list(csv.reader(handle))
    with open(manifest, "w", newline="", encoding="utf-8-sig") as handle:  # as a spreadsheet saves "CSV UTF-8"
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    result = run("reconstruct", tiny_model, folder, "-o", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "1 ok (1 already done)" in result.output


def test_hidden_part_files_of_this_batch_left_by_a_killed_writer_are_removed(tiny_model, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", 120, 0)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.csv.k1ll3d0x.part").write_text("half an output")  # a worker killed while writing a.csv
    (out / ".other.csv.abcdefgh.part").write_text("not ours")
    (out / "notes.part").write_text("not ours")
    reconstruct_files(tiny_model, [folder], out, device="cpu", quiet=True)
    assert sorted(p.name for p in out.iterdir()) == [".other.csv.abcdefgh.part", "a.csv", "manifest.csv",
                                                     "notes.part"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file locks")
def test_a_batch_leaves_the_part_files_another_live_process_is_writing(tmp_path) -> None:
    """Two batches writing into one folder at once: the first to end removed the other's hidden file mid-write,
    and the other failed ("No such file or directory: 'out/.a.csv.yv5o3wj4.part'")."""
    from tsae.io.atomic import atomic_path

    target = tmp_path / "a.csv"
    script = ("import sys, time\nfrom tsae.io.atomic import atomic_path\n"
              "with atomic_path(sys.argv[1]) as tmp:\n    print(tmp, flush=True)\n    time.sleep(60)\n")
    writer = subprocess.Popen([sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        live = Path(writer.stdout.readline().strip())
        assert live.is_file()
        with atomic_path(target) as mine:  # this process writes one too, and ends first
            mine.write_text("x")
        batch._remove_stale_parts([("in/a.csv", str(target))])
        assert live.is_file()  # still being written
    finally:
        writer.kill()
        writer.wait()
    batch._remove_stale_parts([("in/a.csv", str(target))])
    assert not live.exists()  # its writer is gone: a leftover, removed


def test_the_summary_names_the_file_of_the_first_failure() -> None:
    result = batch.BatchResult(manifest=None, rows={
        "in/a.csv": _row("in/a.csv", "out/a.csv", "failed", "dask task failed: KilledWorker"),
    })
    assert "first failure: in/a.csv: dask task failed: KilledWorker" in result.summary()


# ----------------------------------------------------------------------------- local worker processes
def test_a_pool_worker_stops_its_file_on_ctrl_c_and_an_idle_one_exits_quietly(tiny_model, tmp_path,
                                                                               monkeypatch) -> None:
    """Ctrl-C reaches the pool workers too: a KeyboardInterrupt traceback from each, and a file half-written."""
    from tsae.io.atomic import atomic_path

    write_csv(tmp_path / "a.csv", 120, 0)
    dst = tmp_path / "out" / "a.csv"

    def interrupted_write(path, values, rate, meta, protect=()):  # type: ignore[no-untyped-def]
        with atomic_path(path, protect=protect) as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(2)
            tmp.write_text("all of it")

    class Exited(Exception):
        pass

    def exit_now(code: int) -> None:  # os._exit does not return: nor does this (it ends the wait below)
        exits.append(code)
        raise Exited

    monkeypatch.setattr(one_file, "write_series", interrupted_write)
    monkeypatch.setattr(workers, "_WORKER_MODEL", None)
    exits: list[int] = []
    monkeypatch.setattr(workers, "_exit_now", exit_now)
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    stop_sending = threading.Event()
    sender: threading.Thread | None = None
    try:
        workers._init_worker(str(tiny_model))
        row = workers._worker_task(str(tmp_path / "a.csv"), str(dst), 64)
        assert row["status"] == "failed" and "interrupted" in row["error"]
        assert not dst.parent.exists() or not list(dst.parent.iterdir())
        os.kill(os.getpid(), signal.SIGTERM)  # the file's row not yet sent to the parent: exiting would lose it
        time.sleep(0.1)
        assert exits == []
        waiting = multiprocessing.get_context("spawn").Queue()  # idle: waiting for the next file
        # a signal during the wait ends it; one before it is taken quietly (not yet waiting), so SIGTERM comes
        # every 0.2 s until one lands in the wait. A single timer and a 1 s wait raced on a loaded machine: the
        # signal could miss the wait, or come after it and SIGTERM pytest itself once the handlers were put back
        sender = threading.Thread(target=_signal_until, args=(signal.SIGTERM, stop_sending), daemon=True)
        sender.start()
        with pytest.raises(Exited):
            waiting.get(timeout=120)
        assert exits == [128 + signal.SIGTERM]
    finally:
        stop_sending.set()
        if sender is not None:
            sender.join()
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _signal_until(signum: int, stop: threading.Event) -> None:
    while not stop.wait(0.2):
        os.kill(os.getpid(), signum)


@pytest.mark.slow  # two runs of the CLI with spawned torch workers (about 20 s on two cores)
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("whom", ["parent", "group"])
def test_ctrl_c_with_local_workers_stops_the_running_files(tiny_model, tmp_path, whom) -> None:
    """SIGINT to the parent alone left the workers writing files the manifest never recorded; Ctrl-C in a
    terminal (the whole group) printed a KeyboardInterrupt traceback from every worker."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        write_csv(folder / f"m{i}.csv", 60_000, i)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "tsae", "reconstruct", str(tiny_model), str(folder), "-o", str(out),
                             "--workers", "2", "--device", "cpu", "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 90
    # a worker's output under way (the manifest's own temporary file is not one)
    while time.monotonic() < deadline and not (out.is_dir() and any(
            p.name.endswith(".part") and "manifest" not in p.name for p in out.iterdir())):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    if whom == "group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert time.monotonic() - start < 30  # stopped, not run to the end: generous for a loaded two-core machine
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    time.sleep(1)
    rows = read_manifest(out / "manifest.csv")
    done = {Path(row["output"]).name for row in rows.values() if row["status"] == "ok"}
    assert sorted(p.name for p in out.iterdir()) == sorted([*done, "manifest.csv"])


class _StopsInDel:
    """Sends a pool worker its Ctrl-C while Python frees it: the handler's raise is swallowed there."""

    def __del__(self) -> None:
        workers._stop_worker(signal.SIGINT, None)


def test_a_worker_stop_lost_in_a_del_still_stops_its_file_quietly(tiny_model, tmp_path, monkeypatch, capsys) -> None:
    # llvmlite frees objects in __del__: a Ctrl-C raised there was swallowed (with an "Exception ignored"
    # traceback), and the file ran on to a complete output that the manifest never listed
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct import series

    real = series.run_frames

    def lost_stop_then_run(*args, **kwargs):  # type: ignore[no-untyped-def]
        _StopsInDel()  # freed at once: the stop is raised inside __del__ and lost
        return real(*args, **kwargs)

    monkeypatch.setattr(series, "run_frames", lost_stop_then_run)
    monkeypatch.setattr(workers, "_WORKER_MODEL", load_model(tiny_model, device="cpu"))
    monkeypatch.setattr(workers, "_WORKER_STATE", dict(workers._WORKER_STATE))
    monkeypatch.setattr(sys, "unraisablehook", workers._quiet_lost_stop)
    write_csv(tmp_path / "in.csv", 3000, 0)
    row = workers._worker_task(str(tmp_path / "in.csv"), str(tmp_path / "out.csv"), 64)
    assert row["status"] == "failed" and "interrupted (Ctrl-C)" in row["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no output, no hidden .part
    assert "Traceback" not in capsys.readouterr().err


class _FreesInDel:
    """A native object's finalizer that a Ctrl-C reaches half-way: it must still mark what it freed."""

    marked = False

    def __del__(self) -> None:
        workers._stop_worker(signal.SIGINT, None)  # the signal, between freeing and marking freed
        _FreesInDel.marked = True


def test_a_worker_stop_does_not_cut_a_finalizer_short(monkeypatch) -> None:
    # the handler raised inside __del__ (swallowed by Python), so the rest of the finalizer never ran: llvmlite's
    # and soundfile's free a native object there and then mark it freed; a worker stopped by a Ctrl-C to the group
    # once died of glibc's 'double free detected' (CI)
    monkeypatch.setattr(workers, "_WORKER_STATE", {**workers._WORKER_STATE, "busy": True, "stopping": False,
                                                   "output": "", "before": None})
    monkeypatch.setattr(sys, "unraisablehook", workers._quiet_lost_stop)
    _FreesInDel()
    assert _FreesInDel.marked and workers._WORKER_STATE["stopping"]
    with pytest.raises(workers.WorkerStopped, match="interrupted"):
        workers._stop_check(1)  # the stop is raised at the file's next block instead


def test_a_worker_stop_after_its_output_is_in_place_lets_the_file_finish(tmp_path, monkeypatch) -> None:
    # failed then, the file left a complete output that the parent, seeing a failed row, never recorded
    out = tmp_path / "out.csv"
    monkeypatch.setattr(workers, "_WORKER_STATE", {"busy": True, "stopping": False, "signum": 0,
                                                   "output": str(out), "before": workers._output_stamp(str(out))})
    out.write_text("done\n")  # renamed into place
    workers._stop_worker(signal.SIGTERM, None)  # no raise
    workers._stop_check(1)
    assert workers._WORKER_STATE["stopping"]
    workers._WORKER_STATE.update(stopping=False, before=workers._output_stamp(str(out)))  # an older output
    with pytest.raises(workers.WorkerStopped, match="terminated"):
        workers._stop_worker(signal.SIGTERM, None)


def test_a_file_let_finish_after_a_stop_is_recorded_though_the_pool_broke(tmp_path, monkeypatch) -> None:
    # CI: Ctrl-C to the group as m0.csv was renamed into place; its worker let it finish, but the other worker,
    # idle after unwinding its own file, exited on the parent's signal: the broken pool failed m0's future, and
    # the manifest never listed the complete m0.csv
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    out = tmp_path / "m0.csv"

    def finished_during_a_stop(model, src, dst, batch_size, advance=None):  # type: ignore[no-untyped-def]
        out.write_text("done\n")  # renamed into place, then the Ctrl-C
        workers._stop_worker(signal.SIGINT, None)
        return _row(src, dst, "ok", "", 3, 1, 0.0, 0.0)

    sent = multiprocessing.get_context("spawn").SimpleQueue()
    monkeypatch.setattr(workers, "_safe_reconstruct", finished_during_a_stop)
    monkeypatch.setattr(workers, "_WORKER_STATE", {**workers._WORKER_STATE, "finished": sent})
    row = workers._worker_task("m0.csv", str(out), 64)
    assert row["status"] == "ok" and workers._WORKER_STATE["stopping"]

    broken, failed = Future(), Future()
    broken.set_exception(BrokenProcessPool("a worker exited"))
    failed.set_result(_row("m1.csv", "m1.out", "failed", "interrupted (Ctrl-C)"))
    recorded: list[dict] = []
    workers._record_finished({broken: ("m0.csv", str(out)), failed: ("m1.csv", "m1.out")}, recorded.append, sent)
    assert recorded == [row]
    assert sent.empty()


def test_a_worker_reports_other_unraisable_errors_as_usual(monkeypatch) -> None:
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "__unraisablehook__", lambda u: seen.append(u.exc_value))
    for error in (workers.WorkerStopped("interrupted (Ctrl-C)"), ValueError("a real bug")):
        workers._quiet_lost_stop(SimpleNamespace(exc_value=error))
    assert [str(e) for e in seen] == ["a real bug"]


def test_a_ctrl_c_during_the_first_manifest_write_still_leaves_a_manifest(tmp_path, monkeypatch) -> None:
    # the first write's temporary file was removed by the interrupt, and nothing was dirty after it: no manifest
    from tsae.pipelines.reconstruct import batch

    calls: list[Path] = []
    real = batch._write_manifest  # batch's own name: _run_batch looks it up there

    def interrupted_once(path, rows, *args) -> None:  # type: ignore[no-untyped-def]
        calls.append(path)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real(path, rows, *args)

    monkeypatch.setattr(batch, "_write_manifest", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        batch._run_batch(None, tmp_path / "m.tsae", tmp_path / "manifest.csv", {}, [("a.csv", "b.csv")], 1, 0,
                         workers=1, dask=None, device="cpu", batch_size=1, show=False)
    assert len(calls) == 2 and (tmp_path / "manifest.csv").exists()


# ----------------------------------------------------------------------------- live audio
class PortAudioError(Exception):
    """As sounddevice's: not an OSError; args (message, PaErrorCode)."""

    def __str__(self) -> str:
        return f"{self.args[0]} [PaErrorCode {self.args[1]}]" if len(self.args) > 1 else str(self.args[0])


class ThreadedStream:
    """A duplex stream whose callback runs in a thread of its own, as PortAudio's does."""

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.kwargs = kwargs
        self.latency = (0.004, 0.006)
        self._stop = threading.Event()

    def _run(self) -> None:
        block, channels = self.kwargs["blocksize"], self.kwargs["channels"]
        while not self._stop.is_set():
            indata = np.zeros((block, channels + 1), np.float32)  # a channel too many: the denoiser refuses it
            self.kwargs["callback"](indata, np.zeros((block, channels), np.float32), block, None, None)
            time.sleep(0.01)

    def __enter__(self) -> ThreadedStream:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self._stop.set()
        self._thread.join()


def fake_sd(devices: list[dict], rates=(48000,), stream=None) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    """A sounddevice with ``devices``, each able to run only at ``rates``; ``stream`` makes the stream."""

    def query_devices(device=None, kind=None):  # type: ignore[no-untyped-def]
        if device is None and kind is None:
            return devices
        if device is None:
            if not devices:
                raise PortAudioError("Error querying device -1")
            device = 0
        if isinstance(device, str):
            found = [i for i, d in enumerate(devices) if device.lower() in d["name"].lower()]
            if not found:
                raise ValueError(f"No {kind} device matching {device!r}")
            device = found[0]
        if not 0 <= device < len(devices):
            raise PortAudioError(f"Error querying device {device}")
        return devices[device]

    def check(kind):  # type: ignore[no-untyped-def]
        def check_settings(device=None, channels=None, dtype=None, samplerate=None):  # type: ignore[no-untyped-def]
            info = query_devices(device, kind)
            if channels > info[f"max_{kind}_channels"]:
                raise PortAudioError("Invalid number of channels", -9998)
            if samplerate not in rates:
                raise PortAudioError("Invalid sample rate", -9997)
        return check_settings

    def no_stream(**kwargs):  # type: ignore[no-untyped-def]
        raise PortAudioError("Error opening Stream: Device unavailable", -9985)

    return SimpleNamespace(PortAudioError=PortAudioError, query_devices=query_devices,
                           query_hostapis=lambda: [{"name": "ALSA"}], check_input_settings=check("input"),
                           check_output_settings=check("output"), Stream=stream or no_stream)


MIC = {"name": "USB Mic", "hostapi": 0, "max_input_channels": 1, "max_output_channels": 0,
       "default_samplerate": 48000.0}
SPEAKER = {"name": "Speaker", "hostapi": 0, "max_input_channels": 0, "max_output_channels": 2,
           "default_samplerate": 44100.0}


@pytest.mark.parametrize("args, devices, words", [
    ([], [], "PortAudio finds no sound device"),
    (["--input-device", "7"], [MIC, SPEAKER], "input device 7: no such sound device"),
    (["--input-device", "webcam"], [MIC, SPEAKER], "input device 'webcam': No input device matching 'webcam'"),
    (["--input-device", "1"], [MIC, SPEAKER], "input device 1 (Speaker) has no input channels"),
    (["--input-device", "0", "--output-device", "1", "--rate", "22050"], [MIC, SPEAKER],
     "input device 0 (USB Mic) cannot record 1 channel(s) at 22050 Hz (Invalid sample rate; its default rate is "
     "48000 Hz)"),
    (["--input-device", "0", "--output-device", "1", "--channels", "2"], [MIC, SPEAKER],
     "input device 0 (USB Mic) cannot record 2 channel(s) at 48000 Hz (Invalid number of channels; it has 1 input"),
    (["--input-device", "0", "--output-device", "1"], [MIC, SPEAKER],
     "cannot open the sound devices at 48000 Hz, 1 channel(s) (Error opening Stream: Device unavailable"),
])
def test_live_audio_device_problems_are_one_line(monkeypatch, args, devices, words) -> None:
    """sounddevice's PortAudioError is not an OSError: the CLI printed its traceback."""
    from tsae.pipelines.denoise import live

    monkeypatch.setattr(live, "_sounddevice", lambda: fake_sd(devices))
    monkeypatch.setitem(sys.modules, "sounddevice", SimpleNamespace())  # installed, to the CLI's first check
    made: list[int] = []

    def no_model(rate, channels, block, **options):  # type: ignore[no-untyped-def]
        made.append(rate)
        return SimpleNamespace(callback=None, report=live.LiveReport(rate), failed=threading.Event(), error=None)

    monkeypatch.setattr(live, "LiveDenoiser", no_model)
    result = run("denoise", "--live", *args, "--duration", "0.1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], lines
    # a device, rate or channel count it cannot do is found before the model loads
    assert made == ([48000] if "open the sound devices" in words else [])


def test_devices_with_portaudio_that_cannot_start_is_one_line(tmp_path, monkeypatch) -> None:
    """sounddevice raises PortAudioError on import when PortAudio cannot initialise."""
    (tmp_path / "sounddevice.py").write_text("class PortAudioError(Exception):\n    pass\n"
                                             "raise PortAudioError('Error initializing PortAudio: no host API')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    result = run("devices")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == "Error: live audio: PortAudio cannot start (Error initializing PortAudio: " \
                                    "no host API)"


def test_an_error_in_the_sound_card_thread_ends_the_session_with_one_line(monkeypatch) -> None:
    """It printed a traceback in PortAudio's thread, and the command went on with a dead stream until Ctrl-C."""
    from tsae.pipelines.denoise import live

    monkeypatch.setattr(live, "_sounddevice", lambda: fake_sd([MIC, SPEAKER], stream=ThreadedStream))
    monkeypatch.setitem(sys.modules, "sounddevice", SimpleNamespace())  # installed, to the CLI's first check
    hooked: list = []
    monkeypatch.setattr(threading, "excepthook", hooked.append)
    start = time.monotonic()
    # a session the error does not end runs its whole --duration: 120 s, far over the bound, which a loaded
    # machine's slow start (12 s seen with one core shared by five processes) stays well under
    result = run("denoise", "--live", "--input-device", "0", "--output-device", "1", "--duration", "120")
    assert time.monotonic() - start < 90 and not hooked
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: live audio stopped after"), lines
