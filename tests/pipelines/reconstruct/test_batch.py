"""tsae reconstruct: single file, batches with a manifest, resume, failures, local workers and Dask."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run

from tsae.io.tables import read_table
from tsae.pipelines.reconstruct.batch import read_manifest, reconstruct_files

GOOD = [f"s{i}.csv" for i in range(4)]


def outputs(folder):
    return {name: (folder / name).read_bytes() for name in GOOD}


def test_single_file(tiny_model, series_dir, tmp_path) -> None:
    out = tmp_path / "one.csv"
    result = run("reconstruct", tiny_model, series_dir / "s0.csv", "-o", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    src, dst = read_table(series_dir / "s0.csv"), read_table(out)
    assert dst.columns == ["a", "b"] and dst.time_name == "time"
    np.testing.assert_array_equal(dst.time, src.time)
    assert dst.values.shape == src.values.shape and np.isfinite(dst.values).all()
    assert "RMSE" in result.output


def test_batch_reports_corrupt_file_and_finishes_the_rest(tiny_model, series_dir, tmp_path) -> None:
    out = tmp_path / "out"
    result = run("reconstruct", tiny_model, series_dir, "-o", out, "-q", "--device", "cpu")
    assert result.exit_code == 1
    assert "4 ok" in result.output and "1 failed" in result.output
    lines = result.output.strip().splitlines()  # every failure, then the summary
    assert len(lines) == 2 and lines[0].startswith(f"failed: {series_dir / 'broken.csv'}: line 2")
    rows = read_manifest(out / "manifest.csv")
    assert len(rows) == 5
    broken = rows[str(series_dir / "broken.csv")]
    assert broken["status"] == "failed" and "line 2" in broken["error"]
    assert not (out / "broken.csv").exists()
    with open(out / "manifest.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == ["file", "output", "status", "error", "samples", "channels", "rmse", "mse", "seconds",
                      "input_size", "input_mtime_ns", "model_size", "model_mtime_ns", "output_size",
                      "output_mtime_ns", "warning"]
    for name in GOOD:
        row = rows[str(series_dir / name)]
        assert row["status"] == "ok" and int(row["channels"]) == 2 and float(row["rmse"]) >= 0
        assert int(row["samples"]) == read_table(series_dir / name).values.shape[1]
    assert not list(out.glob("*.part")) and not list(out.glob(".*"))


def test_resume_and_idempotence(tiny_model, series_dir, tmp_path) -> None:
    out = tmp_path / "out"
    first = reconstruct_files(tiny_model, [series_dir / n for n in GOOD], out, device="cpu", quiet=True)
    assert first.ok == 4 and not first.failed and first.skipped == 0
    before = outputs(out)
    mtimes = {n: (out / n).stat().st_mtime_ns for n in GOOD}
    again = reconstruct_files(tiny_model, [series_dir / n for n in GOOD], out, device="cpu", quiet=True)
    assert again.skipped == 4 and again.ok == 4
    assert {n: (out / n).stat().st_mtime_ns for n in GOOD} == mtimes
    # an interrupted run: one output missing, one manifest row lost -> only those are redone
    (out / "s1.csv").unlink()
    rows = read_manifest(out / "manifest.csv")
    rows.pop(str(series_dir / "s2.csv"))
    with open(out / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(next(iter(rows.values()))))
        writer.writeheader()
        writer.writerows(rows.values())
    resumed = reconstruct_files(tiny_model, [series_dir / "*.csv"], out, device="cpu", quiet=True)
    assert resumed.skipped == 2 and len(resumed.failed) == 1  # the corrupt file matched by the glob
    assert outputs(out) == before
    assert (out / "s0.csv").stat().st_mtime_ns == mtimes["s0.csv"]


def test_local_workers_and_dask_match_in_process(tiny_model, series_dir, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    files = [series_dir / n for n in GOOD] + [series_dir / "broken.csv"]
    local = reconstruct_files(tiny_model, files, tmp_path / "local", device="cpu", quiet=True)
    workers = reconstruct_files(tiny_model, files, tmp_path / "workers", workers=2, device="cpu", quiet=True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        dask = reconstruct_files(tiny_model, files, tmp_path / "dask", dask=cluster.scheduler_address,
                                 device="cpu", quiet=True)
        # one input and an output file name: that file, as without --dask (it used to become a folder)
        one = run("reconstruct", tiny_model, files[0], "-o", tmp_path / "one.csv", "--dask", cluster.scheduler_address,
                  "-q")
        broken = run("reconstruct", tiny_model, files[-1], "-o", tmp_path / "bad.csv", "--dask",
                     cluster.scheduler_address)
    assert one.exit_code == 0, one.output
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "local" / GOOD[0]).read_bytes()
    assert broken.exit_code == 1 and broken.output.startswith(f"Error: {files[-1]}")
    assert not (tmp_path / "bad.csv").exists()
    for result in (local, workers, dask):
        assert result.ok == 4 and len(result.failed) == 1
    reference = outputs(tmp_path / "local")
    assert outputs(tmp_path / "workers") == reference
    assert outputs(tmp_path / "dask") == reference
    # every mode records what each output was made from (the input's and the model's size and time)
    identity = ["input_size", "input_mtime_ns", "model_size", "model_mtime_ns"]
    recorded = [{src: [row[k] for k in identity] for src, row in read_manifest(tmp_path / mode / "manifest.csv")
                 .items()} for mode in ("local", "workers", "dask")]
    assert recorded[0] == recorded[1] == recorded[2]
    assert recorded[0][str(files[0])][:2] == [str(files[0].stat().st_size), str(files[0].stat().st_mtime_ns)]


def _with_infinite_cells(series_dir: Path) -> tuple[Path, str]:
    """``inf.csv``: ``s0.csv`` with three cells of column a infinite, and what reading it warns of."""
    text = (series_dir / "s0.csv").read_text().splitlines()
    for i in (3, 4, 5):
        time, _, b = text[i].split(",")
        text[i] = f"{time},inf,{b}"
    path = series_dir / "inf.csv"
    path.write_text("\n".join(text) + "\n")
    return path, f"{path}: 3 cell(s) infinite or beyond 1e+30 in magnitude read as missing: a (3)"


def _rows_apart_from_timings(folder: Path) -> dict[str, dict]:
    """A batch's manifest rows without their timings, each output named by its file name alone."""
    timing = ("seconds", "output_mtime_ns")
    return {src: {k: (Path(v).name if k == "output" else v) for k, v in row.items() if k not in timing}
            for src, row in read_manifest(folder / "manifest.csv").items()}


def test_a_files_data_warning_is_in_the_dask_rows_as_in_the_local_ones(tiny_model, series_dir, tmp_path) -> None:
    """A Dask task left what its file warned of (cells read as missing) out of its row: recording warnings was
    process-wide then. Now recorded on the task's thread: the manifest and stderr say it as the local batch does."""
    distributed = pytest.importorskip("distributed")
    infinite, said = _with_infinite_cells(series_dir)
    files = [infinite, series_dir / "s1.csv"]
    local = run("reconstruct", tiny_model, *files, "-o", tmp_path / "local", "--device", "cpu")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        dask = run("reconstruct", tiny_model, *files, "-o", tmp_path / "dask", "--dask", cluster.scheduler_address)
    for result in (local, dask):
        assert result.exit_code == 0, result.output
        assert result.output.count(said) == 1, result.output
    rows = _rows_apart_from_timings(tmp_path / "local")
    assert rows[str(infinite)]["warning"] == said
    assert _rows_apart_from_timings(tmp_path / "dask") == rows


def _on_a_pretend_gpu(monkeypatch) -> None:
    """``--device cuda`` takes the GPU's grouped path (windows of several files in one model call) on the CPU."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, *args, **kwargs: self)  # the model stays on the CPU


def test_a_files_data_warning_is_in_the_gpu_rows_as_in_the_local_ones(tiny_model, series_dir, tmp_path,
                                                                       monkeypatch) -> None:
    """The GPU's grouped path put only the sample rate's warning in a row: what reading the file warned of (cells
    read as missing) was shown by the process, but missing from the manifest."""
    infinite, said = _with_infinite_cells(series_dir)
    files = [infinite, series_dir / "s1.csv", series_dir / "broken.csv"]
    local = run("reconstruct", tiny_model, *files, "-o", tmp_path / "local", "--device", "cpu")
    _on_a_pretend_gpu(monkeypatch)
    gpu = run("reconstruct", tiny_model, *files, "-o", tmp_path / "gpu", "--device", "cuda")
    assert local.exit_code == gpu.exit_code == 1, local.output + gpu.output  # broken.csv fails
    assert local.output.count(said) == 1, local.output
    assert gpu.output == local.output.replace(str(tmp_path / "local"), str(tmp_path / "gpu"))
    rows = _rows_apart_from_timings(tmp_path / "local")
    assert rows[str(infinite)]["warning"] == said
    assert _rows_apart_from_timings(tmp_path / "gpu") == rows


def test_dask_with_fsspec_urls(tiny_model, series_dir, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    for name in GOOD[:2]:
        fs.pipe(f"/tsae-test/in/{name}", (series_dir / name).read_bytes())
    reconstruct_files(tiny_model, [series_dir / n for n in GOOD[:2]], tmp_path / "local", device="cpu", quiet=True)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        result = reconstruct_files(tiny_model, ["memory://tsae-test/in/*.csv"], "memory://tsae-test/out",
                                   dask=client, manifest=tmp_path / "manifest.csv", device="cpu", quiet=True)
    assert result.ok == 2 and not result.failed
    for name in GOOD[:2]:
        assert fs.cat(f"/tsae-test/out/{name}") == (tmp_path / "local" / name).read_bytes()
    fs.rm("/tsae-test", recursive=True)


def test_a_dask_run_asks_for_dask_distributed_once(monkeypatch, tiny_model, series_dir, tmp_path) -> None:
    """A ``--dask`` batch asked require_distributed 4 times (reconstruct, reconstruct_files, then each import of
    dask.distributed: for the client and for the run), one file on the cluster 3 times, a batch on a client given
    to the Python API 3 times."""
    distributed = pytest.importorskip("distributed")
    from tsae.pipelines.reconstruct import batch, on_dask
    from tsae.pipelines.reconstruct.batch import reconstruct

    asked = []
    real = on_dask.require_distributed

    def counted() -> None:
        asked.append(1)
        real()

    for module in (batch, on_dask):
        monkeypatch.setattr(module, "require_distributed", counted)
    files = [series_dir / n for n in GOOD[:2]]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        for what, inputs, output in (("a batch", files, tmp_path / "out"), ("one file", files[:1], tmp_path / "o.csv")):
            asked.clear()
            result = run("reconstruct", tiny_model, *inputs, "-o", output, "--dask", cluster.scheduler_address, "-q")
            assert result.exit_code == 0, result.output
            assert len(asked) == 1, what
        asked.clear()
        reconstruct(tiny_model, files, tmp_path / "api", dask=client, device="cpu", quiet=True)
        assert len(asked) == 1, "a client given"


def test_dask_batch_outlives_the_worker_that_held_the_model(monkeypatch, tiny_model, series_dir, tmp_path) -> None:
    """The model's bytes were scattered: a worker killed (and restarted by its nanny) took them with it, and every
    file left failed with 'cancelled for reason: lost dependencies'. Now the cluster makes them again."""
    distributed = pytest.importorskip("distributed")
    from tsae.pipelines.reconstruct import on_dask

    files = [series_dir / n for n in GOOD[:2]]
    reconstruct_files(tiny_model, files, tmp_path / "local", device="cpu", quiet=True)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        made = on_dask._model_task

        def then_lost(client, model_path):  # the worker holding the model dies before any file runs
            future = made(client, model_path)
            future.result()
            holder = next(iter(client.who_has([future])[future.key]))
            cluster.scale(2)
            client.wait_for_workers(2)
            client.sync(cluster.scheduler.remove_worker, address=holder, stimulus_id="test-worker-died")
            return future

        monkeypatch.setattr(on_dask, "_model_task", then_lost)
        result = reconstruct_files(tiny_model, files, tmp_path / "dask", dask=client, device="cpu", quiet=True)
    assert result.ok == 2 and not result.failed, result.failed
    for name in GOOD[:2]:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_a_file_whose_dask_workers_kept_dying_is_one_short_line() -> None:
    """Dask's KilledWorker text (five sentences, the task's key and a link) went into the manifest cell as it was."""
    from types import SimpleNamespace

    distributed = pytest.importorskip("distributed")
    from tsae.pipelines.reconstruct.on_dask import _task_failure

    died = distributed.KilledWorker("_dask_task-4666ff69", SimpleNamespace(address="tcp://10.0.0.7:38163"), 3)
    assert _task_failure(distributed, died) == ("its Dask worker died while running it, on 4 workers in turn "
                                                "(the last tcp://10.0.0.7:38163: see its log)")
    assert _task_failure(distributed, OSError("disk full")) == "dask task failed: disk full"


def test_a_full_disk_fails_the_file_naming_its_output(monkeypatch, tiny_model, tmp_path) -> None:
    """The manifest said '[Errno 28] No space left on device' for each file the disk had no room for."""
    import errno

    for name in ("a.npy", "b.npy"):
        np.save(tmp_path / name, np.sin(np.arange(200.0)).reshape(2, 100))
    real, calls = np.save, []

    def full_after_one(file, array, **options) -> None:
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(file, array, **options)

    monkeypatch.setattr(np, "save", full_after_one)
    out = tmp_path / "out"
    result = reconstruct_files(tiny_model, [tmp_path / "a.npy", tmp_path / "b.npy"], out, device="cpu", quiet=True)
    assert result.ok == 1 and [row["error"] for row in result.failed] == [
        f"{out / 'b.npy'}: cannot write it (No space left on device)"]
    assert sorted(p.name for p in out.iterdir()) == ["a.npy", "manifest.csv"]


def test_a_manifest_path_holding_another_file_is_refused(tiny_model, series_dir, tmp_path) -> None:
    precious = tmp_path / "notes.csv"
    precious.write_text("my,own\ndata,here\n")
    result = run("reconstruct", tiny_model, series_dir / "s0.csv", series_dir / "s1.csv", "-o", tmp_path / "out",
                 "--manifest", precious, "--device", "cpu")
    assert result.exit_code == 1 and "notes.csv: is not a manifest this command wrote" in result.output
    assert precious.read_text() == "my,own\ndata,here\n"


def test_a_manifest_for_one_file_is_refused_not_ignored(tiny_model, series_dir, tmp_path) -> None:
    """-o one.csv --manifest one.csv wrote the output and no manifest, without a word."""
    out = tmp_path / "one.csv"
    result = run("reconstruct", tiny_model, series_dir / "s0.csv", "-o", out, "--manifest", out, "--device", "cpu")
    assert result.exit_code == 1 and "a manifest records a batch" in result.output
    assert result.output.strip().count("\n") == 0 and not out.exists()


@pytest.mark.parametrize("case", ["missing_input", "empty_input", "corrupt_input", "missing_model", "corrupt_model"])
def test_bad_inputs_one_line_no_partial_output(tiny_model, tmp_path, case) -> None:
    src = tmp_path / "in.csv"
    model = tiny_model
    if case == "empty_input":
        src.write_text("")
    elif case == "corrupt_input":
        src.write_text("time,a,b\n1,2,zz\n")
    if case in ("missing_model", "corrupt_model"):
        src.write_text("time,a,b\n" + "".join(f"{i},{i % 7},{i % 5}\n" for i in range(100)))
        model = tmp_path / "model.tsae"
        if case == "corrupt_model":
            model.write_bytes(b"\x00garbage" * 10)
    out = tmp_path / "out.csv"
    result = run("reconstruct", model, src, "-o", out, "--device", "cpu")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("Error")
    assert not out.exists()
    # batch mode: a bad model or a missing path stops before any output
    if case in ("missing_input", "missing_model", "corrupt_model"):
        outdir = tmp_path / "outdir"
        result = run("reconstruct", model, src, tmp_path / "nope.csv", "-o", outdir, "--device", "cpu")
        assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1
        assert not outdir.exists()


def test_subprocess_error_has_no_traceback(tiny_model, tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tsae", "reconstruct", str(tiny_model), str(tmp_path / "nope.csv"),
                           "-o", str(tmp_path / "o.csv")], capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_grouped_windows_of_several_files_match_per_file(tiny_model, series_dir, tmp_path) -> None:
    """The GPU path (windows of several files in one model call), run on the CPU."""
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct.batch import _grouped_gpu

    loaded = load_model(tiny_model)
    todo = [(str(series_dir / n), str(tmp_path / "grouped" / n)) for n in GOOD + ["broken.csv"]]
    rows = []
    _grouped_gpu(loaded, todo, 64, rows.append, group_frames=50)
    assert sorted(r["status"] for r in rows) == ["failed"] + ["ok"] * 4
    reconstruct_files(tiny_model, [series_dir / n for n in GOOD], tmp_path / "plain", device="cpu", quiet=True)
    for name in GOOD:
        a, b = read_table(tmp_path / "grouped" / name), read_table(tmp_path / "plain" / name)
        np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-5)


def test_an_error_in_a_url_input_names_the_url(tiny_model, series_dir, tmp_path) -> None:
    # it named the temporary local copy: "/tmp/tsae-k2j3/bad.csv: line 3, column 'b': not a number ('zz')"
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    header = (series_dir / GOOD[0]).read_text().splitlines()[0]
    columns = header.count(",") + 1
    fs.pipe("/tsae-url-errors/bad.csv", (header + "\n" + ",".join(["1"] * columns) + "\n" +
                                         ",".join(["zz"] * columns) + "\n").encode())
    try:
        result = reconstruct_files(tiny_model, ["memory://tsae-url-errors/bad.csv"], tmp_path / "out", device="cpu",
                                   quiet=True)
    finally:
        fs.rm("/tsae-url-errors", recursive=True)
    (row,) = result.failed
    assert "memory://tsae-url-errors/bad.csv" in row["error"] and "tsae-" not in row["error"].replace(
        "tsae-url-errors", ""), row["error"]


def test_a_data_file_named_manifest_is_not_left_out(tiny_model, series_dir, tmp_path) -> None:
    """A folder's data file named manifest.csv was skipped without a word (only a manifest tsae wrote is)."""
    folder = tmp_path / "named"
    folder.mkdir()
    for name, src in (("manifest.csv", "s0.csv"), ("s1.csv", "s1.csv")):
        (folder / name).write_bytes((series_dir / src).read_bytes())
    result = run("reconstruct", tiny_model, folder, "-o", tmp_path / "out", "-q", "--device", "cpu")
    assert result.exit_code == 1 and not (tmp_path / "out").exists()
    assert result.output.strip() == (f"Error: {folder / 'manifest.csv'}: its output {tmp_path / 'out' / 'manifest.csv'}"
                                     " would be the batch's manifest: give the manifest another file (--manifest)")
    result = run("reconstruct", tiny_model, folder, "-o", tmp_path / "out", "--manifest", tmp_path / "m.csv",
                 "-q", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert sorted(read_manifest(tmp_path / "m.csv")) == [
        str(folder / "manifest.csv"), str(folder / "s1.csv")]
    (tmp_path / "out" / "manifest.csv").unlink()  # a rerun on the outputs: the manifest tsae wrote is no input
    (tmp_path / "m.csv").rename(tmp_path / "out" / "manifest.csv")
    result = run("reconstruct", tiny_model, tmp_path / "out", "-o", tmp_path / "again", "-q", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert list(read_manifest(tmp_path / "again" / "manifest.csv")) == [
        str(tmp_path / "out" / "s1.csv")]
