"""Batch resume by what each output was made from: the input's and the model's size and modification time.

Before, a rerun judged an output by modification times alone (older than its input or the
model: redone), so an input or a model replaced by another file with an older time
(``cp -p``, ``rsync -t``, a restore from a backup) was skipped with a stale output.
"""
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from tsae.pipelines.reconstruct import batch, manifest
from tsae.pipelines.reconstruct.batch import MANIFEST_FIELDS, read_manifest, reconstruct_files

OLD_FIELDS = ["file", "output", "status", "error", "samples", "channels", "rmse", "mse", "seconds"]


def write_csv(path: Path, n: int, offset: float = 0.0) -> None:
    path.write_text("time,a,b\n" + "".join(f"{i},{(i % 11) / 7 + offset:.6f},{(i % 5) / 3:.6f}\n"
                                           for i in range(n)))


def set_time(path: Path, seconds: float) -> None:
    os.utime(path, (seconds, seconds))


@pytest.fixture()
def job(tiny_model, tmp_path):
    """Two inputs and a copy of the model, all dated in the past, and a first run done."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", 120)
    write_csv(folder / "b.csv", 120)
    model = tmp_path / "model.tsae"
    shutil.copyfile(tiny_model, model)
    for path in (model, folder / "a.csv", folder / "b.csv"):
        set_time(path, 1_000_000_000)  # 2001
    out = tmp_path / "out"
    first = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert first.ok == 2 and first.skipped == 0
    return folder, model, out


def replace_with_an_older_file(path: Path, write) -> None:  # type: ignore[no-untyped-def]
    """``cp -p`` of another file: new content, and a time older than the output (and than the original)."""
    write(path)
    set_time(path, 900_000_000)  # 1998


def test_the_manifest_records_each_input_and_the_model_by_size_and_time(job) -> None:
    folder, model, out = job
    with open(out / "manifest.csv", newline="") as handle:
        assert next(csv.reader(handle)) == MANIFEST_FIELDS == [*OLD_FIELDS, "input_size", "input_mtime_ns",
                                                                "model_size", "model_mtime_ns",
                                                                "output_size", "output_mtime_ns", "warning"]
    rows = read_manifest(out / "manifest.csv")
    for name in ("a.csv", "b.csv"):
        row, stat = rows[str(folder / name)], (folder / name).stat()
        assert (int(row["input_size"]), int(row["input_mtime_ns"])) == (stat.st_size, stat.st_mtime_ns)
        assert (int(row["model_size"]), int(row["model_mtime_ns"])) == (model.stat().st_size,
                                                                        model.stat().st_mtime_ns)
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 2  # up to date


def test_an_input_replaced_by_an_older_file_is_redone(job) -> None:
    # before: its output was newer than the input, so it was skipped and stayed that of the old input
    folder, model, out = job
    replace_with_an_older_file(folder / "a.csv", lambda path: write_csv(path, 300))  # another size
    before = (out / "a.csv").read_bytes()
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert again.skipped == 1 and again.ok == 2
    row = read_manifest(out / "manifest.csv")[str(folder / "a.csv")]
    assert int(row["samples"]) == 300 and int(row["input_size"]) == (folder / "a.csv").stat().st_size
    assert (out / "a.csv").read_bytes() != before
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 2


def test_an_input_of_the_same_size_with_another_time_is_redone(job) -> None:
    folder, model, out = job
    size = (folder / "b.csv").stat().st_size
    replace_with_an_older_file(folder / "b.csv", lambda path: write_csv(path, 120, offset=0.5))
    assert (folder / "b.csv").stat().st_size == size
    before = (out / "b.csv").read_bytes()
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert again.skipped == 1 and again.rows[str(folder / "b.csv")]["status"] == "ok"
    assert (out / "b.csv").read_bytes() != before


def test_a_model_replaced_by_an_older_file_redoes_every_output(job, tmp_path) -> None:
    import torch

    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    folder, model, out = job
    torch.manual_seed(1)  # another network of the same family and size: a retrained model
    save_model(model, create_model("conv1d", 2, 32, depth=2, hidden=8, latent=8),
               frame={"window": 32, "hop": 16, "window_fn": None},
               normalizer={"method": "zscore", "center": [0.0, 0.0], "scale": [1.0, 2.0]})
    set_time(model, 900_000_000)
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert again.skipped == 0 and again.ok == 2
    row = read_manifest(out / "manifest.csv")[str(folder / "a.csv")]
    assert int(row["model_mtime_ns"]) == model.stat().st_mtime_ns


def _rewrite(manifest: Path, fields: list[str], change=None) -> None:  # type: ignore[no-untyped-def]
    rows = list(read_manifest(manifest).values())
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(change(row) if change else row)


def test_a_manifest_of_an_earlier_version_is_resumed_by_time_and_gets_the_columns(job) -> None:
    folder, model, out = job
    manifest = out / "manifest.csv"
    _rewrite(manifest, OLD_FIELDS)  # as the version before wrote it
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert again.skipped == 2  # the times alone: up to date
    with open(manifest, newline="") as handle:
        assert next(csv.reader(handle)) == MANIFEST_FIELDS
    row = read_manifest(manifest)[str(folder / "a.csv")]
    assert int(row["input_mtime_ns"]) == (folder / "a.csv").stat().st_mtime_ns
    # from now on a replacement with an older time is seen
    replace_with_an_older_file(folder / "a.csv", lambda path: write_csv(path, 200))
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 1
    # and an earlier version's manifest is still judged by the times: an older input stays done
    _rewrite(manifest, OLD_FIELDS)
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 2


@pytest.mark.parametrize("cell,value", [
    ("input_mtime_ns", "notanumber"),
    ("input_size", ""),  # one of the two cells emptied
    ("model_size", "abc"),
    ("model_mtime_ns", "1E+18"),  # a spreadsheet saving the manifest again writes 1000000000000000000 so
    ("input_size", " "),
])
def test_a_row_whose_identity_cannot_be_read_back_is_not_trusted(job, cell, value) -> None:
    # before: such a cell was taken for "no identity recorded", the times alone judged, and the file skipped
    folder, model, out = job
    before = (out / "a.csv").stat().st_mtime_ns
    _rewrite(out / "manifest.csv", MANIFEST_FIELDS,
             lambda row: dict(row, **{cell: value}) if row["file"].endswith("a.csv") else row)
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert again.skipped == 1 and again.ok == 2  # a.csv redone, b.csv still done
    assert (out / "a.csv").stat().st_mtime_ns != before
    row = read_manifest(out / "manifest.csv")[str(folder / "a.csv")]
    assert int(row["input_size"]) == (folder / "a.csv").stat().st_size  # recorded again, readable
    assert int(row["model_size"]) == model.stat().st_size
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 2


def test_a_valid_but_other_size_is_redone_and_empty_cells_are_judged_by_the_times(job) -> None:
    folder, model, out = job
    _rewrite(out / "manifest.csv", MANIFEST_FIELDS,
             lambda row: dict(row, input_size="1234") if row["file"].endswith("a.csv") else row)
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 1
    # both cells empty: none recorded (a URL input, a row kept from an earlier version's manifest): by the times
    _rewrite(out / "manifest.csv", MANIFEST_FIELDS, lambda row: dict(row, input_size="", input_mtime_ns=""))
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 2


def test_rows_of_failed_files_record_no_identity(job) -> None:
    folder, model, out = job
    (folder / "broken.csv").write_text("time,a,b\n1,2\n")
    result = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    row = read_manifest(out / "manifest.csv")[str(folder / "broken.csv")]
    assert result.skipped == 2 and row["status"] == "failed"
    assert all(row[name] == "" for name in batch.IDENTITY_FIELDS)


def test_the_dask_path_records_and_judges_the_same_way(job) -> None:
    distributed = pytest.importorskip("distributed")
    folder, model, out = job
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        first = reconstruct_files(model, [folder], out / "dask", dask=cluster.scheduler_address, device="cpu",
                                  quiet=True)
        rows = read_manifest(out / "dask" / "manifest.csv")
        for name in ("a.csv", "b.csv"):
            stat = (folder / name).stat()
            assert (int(rows[str(folder / name)]["input_size"]),
                    int(rows[str(folder / name)]["input_mtime_ns"])) == (stat.st_size, stat.st_mtime_ns)
        replace_with_an_older_file(folder / "a.csv", lambda path: write_csv(path, 250))
        again = reconstruct_files(model, [folder], out / "dask", dask=cluster.scheduler_address, device="cpu",
                                  quiet=True)
    assert first.ok == 2 and again.skipped == 1 and again.ok == 2
    assert int(read_manifest(out / "dask" / "manifest.csv")[str(folder / "a.csv")]["samples"]) == 250


def test_an_output_cut_short_or_written_over_since_is_redone(job) -> None:
    """Only the input's and the model's identity were recorded: an output emptied (a full disk, a crash of
    another program, `: > out.csv`) after a run still counted as done on the next."""
    folder, model, out = job
    row = read_manifest(out / "manifest.csv")[str(folder / "a.csv")]
    output = Path(row["output"])
    assert (int(row["output_size"]), int(row["output_mtime_ns"])) == (output.stat().st_size,
                                                                      output.stat().st_mtime_ns)
    good = output.read_bytes()
    output.write_bytes(b"")  # emptied: newer than its input and the model, so the times alone kept it
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert again.skipped == 1 and again.ok == 2
    assert output.read_bytes() == good
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 2  # recorded anew


def test_a_manifest_without_output_columns_is_resumed_and_gets_them(job) -> None:
    folder, model, out = job
    _rewrite(out / "manifest.csv", MANIFEST_FIELDS[:-3], lambda row: row)  # the version without the warning too
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 2
    row = read_manifest(out / "manifest.csv")[str(folder / "b.csv")]
    assert int(row["output_size"]) == Path(row["output"]).stat().st_size


def test_a_manifest_without_the_warning_column_is_resumed(job) -> None:
    folder, model, out = job
    _rewrite(out / "manifest.csv", MANIFEST_FIELDS[:-1], lambda row: row)  # the version before the warning
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).skipped == 2


def test_a_file_that_fails_when_redone_leaves_no_output_of_its_earlier_input(job) -> None:
    # before: out/b.csv, made from the input as it was, stayed beside a manifest row saying 'failed' (a glob of the
    # folder took it for this run's output); an output that is not the one recorded is left alone
    folder, model, out = job
    (folder / "b.csv").write_text("time,a,b\n0,x,1\n")
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    row = again.rows[str(folder / "b.csv")]
    assert row["status"] == "failed" and not (out / "b.csv").exists()
    assert "not a number ('x')" in row["error"] and "its earlier output" in row["error"] and "removed" in row["error"]
    assert read_manifest(out / "manifest.csv")[str(folder / "b.csv")]["error"] == row["error"]
    (out / "b.csv").write_text("mine\n")  # not the output recorded: the manifest row says failed, no output
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).rows[str(folder / "b.csv")][
        "status"] == "failed"
    assert (out / "b.csv").read_text() == "mine\n"


def test_two_batches_into_one_folder_keep_each_others_rows(job, tmp_path, monkeypatch) -> None:
    # before: each batch rewrote the manifest from the rows it had read at its start, so the one that wrote last
    # dropped the other's rows (its outputs were there, unrecorded, and redone by the next run)
    folder, model, out = job
    other = tmp_path / "other"
    other.mkdir()
    write_csv(other / "c.csv", 120)
    dispatch = batch._dispatch

    def meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(batch, "_dispatch", dispatch)
        assert reconstruct_files(model, [other], out, device="cpu", quiet=True).ok == 1  # another batch, at once
        return dispatch(*args, **kwargs)

    monkeypatch.setattr(batch, "_dispatch", meanwhile)
    write_csv(folder / "a.csv", 200)  # redone
    assert reconstruct_files(model, [folder], out, device="cpu", quiet=True).ok == 2
    rows = read_manifest(out / "manifest.csv")
    assert sorted(Path(key).name for key in rows) == ["a.csv", "b.csv", "c.csv"]
    assert rows[str(other / "c.csv")]["status"] == "ok" and rows[str(folder / "a.csv")]["samples"] == "200"


def test_rows_found_done_by_time_get_their_columns_while_other_files_are_redone(job) -> None:
    # before: the rows of an earlier version's manifest found done (not this run's to redo) were read back from the
    # manifest before each write, so a run that redid another file wrote them without the columns they were given
    folder, model, out = job
    manifest = out / "manifest.csv"
    _rewrite(manifest, OLD_FIELDS)
    write_csv(folder / "b.csv", 150)  # redone; a.csv found done by the times alone
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    assert again.skipped == 1 and again.ok == 2
    row = read_manifest(manifest)[str(folder / "a.csv")]
    assert int(row["input_mtime_ns"]) == (folder / "a.csv").stat().st_mtime_ns
    assert int(row["output_size"]) == Path(row["output"]).stat().st_size


def test_an_unchanged_input_whose_redo_fails_keeps_its_earlier_output(job, monkeypatch) -> None:
    # the removal is for an output of an input since edited: a redo of the same input that fails for another reason
    # (here the model retrained, Ctrl-C, a worker lost) leaves the output it made before, still that input's
    folder, model, out = job
    before = (out / "b.csv").read_bytes()
    os.utime(model)  # "retrained": every file is redone
    real = batch._dispatch

    def failing(loaded, model_path, todo, done, **kwargs):  # type: ignore[no-untyped-def]
        for src, dst in todo:
            done(manifest._row(src, dst, "failed", "interrupted (Ctrl-C)"))

    monkeypatch.setattr(batch, "_dispatch", failing)
    again = reconstruct_files(model, [folder], out, device="cpu", quiet=True)
    monkeypatch.setattr(batch, "_dispatch", real)
    row = again.rows[str(folder / "b.csv")]
    assert row["status"] == "failed" and row["error"] == "interrupted (Ctrl-C)"
    assert (out / "b.csv").read_bytes() == before
