"""`smooth`, `impute`, `reconstruct` and `detect score` read a long table file in blocks (tsae.io.table_blocks):
the bytes, and the warnings, of the table read whole."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import tsae.io.table_blocks as table_blocks
import tsae.io.tables as tables
from tsae.io.series import read_series
from tsae.models.modelfile import load_model, save_model
from tsae.pipelines.reconstruct.batch import reconstruct_file
from tsae.pipelines.smooth.files import impute_file, smooth_file

N = 1000


def model_with_columns(path: Path, columns: list[str]) -> Path:
    """A tiny untrained two-channel conv1d model saved with the column names it was 'trained' on."""
    import torch

    from tsae.plugins import create_model

    torch.manual_seed(0)
    model = create_model("conv1d", 2, 32, depth=2, hidden=8, latent=8)
    return save_model(path, model, frame={"window": 32, "hop": 16, "window_fn": None},
                      normalizer={"method": "zscore", "center": [0.0, 0.0], "scale": [1.0, 2.0]},
                      extra={"columns": columns})


def write_table(path: Path, back: bool = True) -> Path:
    """Dates ending in Z (with ``back``, one step back in time), the model's columns in another order, a label, a gap,
    an absurd cell."""
    rng = np.random.default_rng(7)
    stamps = np.datetime_as_string(np.datetime64("2024-03-01T00:00:00") + np.arange(N) * np.timedelta64(250, "ms"),
                                   unit="ms")
    if back:
        stamps[500], stamps[501] = stamps[501], stamps[500]
    x = rng.standard_normal((2, N)).cumsum(axis=1)
    rows = [f"{stamps[i]}Z,{x[1, i]:.6f},{x[0, i]:.6f},{int(400 < i < 420)}" for i in range(N)]
    rows[299:302] = [f"{stamps[i]}Z,,1.5,0" for i in range(299, 302)]  # a gap across a block end: read twice
    rows[700] = f"{stamps[700]}Z,1e300,2.5,0"
    path.write_text("timestamp,b,a,label\n" + "\n".join(rows) + "\n")
    return path


def run(job, monkeypatch, blocks: bool) -> list[str]:
    """``job()`` with the table read in blocks (every table is long, in small chunks of rows) or whole (none is);
    the warnings it told."""
    with monkeypatch.context() as patch, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if blocks:
            patch.setattr(table_blocks, "LONG_TABLE_BYTES", 0)
            patch.setattr(tables, "READ_ROWS", 64)
        else:
            patch.setattr(table_blocks, "LONG_TABLE_BYTES", 1 << 60)
        job()
    return [str(w.message) for w in caught]


@pytest.fixture()
def ab_model(tmp_path) -> Path:
    return model_with_columns(tmp_path / "ab.tsae", ["a", "b"])


@pytest.mark.parametrize("block", [100, 1 << 16])  # in blocks; one block: the table whole
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_reconstruct_a_long_table_in_blocks(tmp_path, monkeypatch, ab_model, block, suffix) -> None:
    table = write_table(tmp_path / "in.csv")
    loaded = load_model(ab_model)
    outputs = {}
    told = {}
    for blocks in (False, True):
        out = tmp_path / f"out{blocks}{suffix}"
        rows: dict = {}
        told[blocks] = run(lambda rows=rows, out=out: rows.update(reconstruct_file(loaded, table, out, block=block)),
                           monkeypatch, blocks)
        outputs[blocks] = (out.read_bytes(), rows["samples"], rows["channels"], rows["rmse"])
    assert outputs[True][:3] == outputs[False][:3]
    assert outputs[True][3] == pytest.approx(outputs[False][3], rel=1e-9)
    assert told[True] == told[False] and len(told[True]) == 2  # the absurd cell, the step back: each told once
    values, _, meta = read_series(tmp_path / f"outTrue{suffix}")
    assert meta["columns"] == ["b", "a"] and meta["time_name"] == "timestamp" and meta["label"].sum() == 19


@pytest.mark.parametrize("block", [300, 1 << 20])
def test_smooth_a_long_table_in_blocks(tmp_path, monkeypatch, ab_model, block) -> None:
    table = write_table(tmp_path / "in.csv")
    outputs = {}
    told = {}
    for blocks in (False, True):
        out = tmp_path / f"out{blocks}.csv"
        summary: dict = {}
        told[blocks] = run(lambda summary=summary, out=out: summary.update(
            smooth_file(table, out, model=ab_model, block=block, quiet=True)), monkeypatch, blocks)
        outputs[blocks] = (out.read_bytes(), summary["samples"], summary["channels"], summary["missing"])
    assert outputs[True] == outputs[False]
    assert told[True] == told[False] and told[True]


@pytest.mark.parametrize("gap", [3, 800])  # 800: longer than 7 blocks of 100, the table filled whole
def test_impute_a_long_table_in_blocks(tmp_path, monkeypatch, gap) -> None:
    # before: impute read every table whole
    table = write_table(tmp_path / "in.csv")
    if gap > 3:
        lines = table.read_text().splitlines()
        lines[101:101 + gap] = [",".join([row.split(",")[0], "", *row.split(",")[2:]]) for row in lines[101:101 + gap]]
        table.write_text("\n".join(lines) + "\n")
    outputs = {}
    told = {}
    for blocks in (False, True):
        out = tmp_path / f"out{blocks}.csv"
        summary: dict = {}

        def job(summary=summary, out=out, blocks=blocks) -> None:
            if blocks:  # never read whole, unless the blocks cannot hold the gap
                original = table_blocks.TableSource.whole
                monkeypatch.setattr(table_blocks.TableSource, "whole", original if gap > 3 else
                                    lambda self: pytest.fail("read whole"))
            summary.update(impute_file(table, out, block=100, rank=2, quiet=True))

        told[blocks] = run(job, monkeypatch, blocks)
        outputs[blocks] = (out.read_bytes(), summary["samples"], summary["channels"], summary["missing"])
    assert outputs[True] == outputs[False]
    assert outputs[True][3] == (gap + 1 if gap == 3 else gap)  # and the absurd cell (in the long gap: one of it)
    # the step back and (but in the long gap) the absurd cell: each told once, even when read again whole
    assert told[True] == told[False] and len(told[True]) == (2 if gap == 3 else 1)


def test_a_long_table_to_an_array_in_blocks_and_to_audio_whole(tmp_path, monkeypatch, ab_model) -> None:
    table = write_table(tmp_path / "in.csv")
    loaded = load_model(ab_model)
    for blocks in (False, True):
        run(lambda blocks=blocks: reconstruct_file(loaded, table, tmp_path / f"out{blocks}.npy", block=100),
            monkeypatch, blocks)
    assert (tmp_path / "outTrue.npy").read_bytes() == (tmp_path / "outFalse.npy").read_bytes()
    assert np.load(tmp_path / "outTrue.npy").shape == (2, N)

    def never(*args, **kwargs):
        raise AssertionError("read in blocks")

    monkeypatch.setattr(table_blocks, "open_table_blocks", never)  # audio is written as write_series writes it
    regular = write_table(tmp_path / "regular.csv", back=False)  # sampled at 4 Hz
    run(lambda: reconstruct_file(loaded, regular, tmp_path / "out.wav", block=100), monkeypatch, True)
    assert (tmp_path / "out.wav").exists()


@pytest.mark.parametrize("block", [100, 1 << 16])
def test_encode_a_long_table_in_blocks(tmp_path, monkeypatch, ab_model, block) -> None:
    from tsae.pipelines.reconstruct.batch import encode_file

    table = write_table(tmp_path / "in.csv")
    loaded = load_model(ab_model)
    told = {}
    for blocks in (False, True):
        told[blocks] = run(lambda blocks=blocks: encode_file(loaded, table, tmp_path / f"codes{blocks}.npy",
                                                             block=block, quiet=True), monkeypatch, blocks)
    assert (tmp_path / "codesTrue.npy").read_bytes() == (tmp_path / "codesFalse.npy").read_bytes()
    assert told[True] == told[False] and len(told[True]) == 2


@pytest.mark.parametrize("index", [None, "sample_index"])
def test_the_time_column_is_written_under_the_inputs_name(tmp_path, monkeypatch, ab_model, index) -> None:
    # pandas' df.to_csv writes its index first, unnamed: smooth, reconstruct, detect score and decompress wrote it as
    # 'column0', which reads back as a channel (a sensor to detect score); unnamed, it reads back as the input did
    import pandas as pd

    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.files import score_file
    from tsae.pipelines.compress.files import compress_file, decompress_file

    x = np.random.default_rng(5).standard_normal((2, N)).cumsum(axis=1)
    table = tmp_path / "in.csv"
    pd.DataFrame({"a": x[0], "b": x[1]}).rename_axis(index).to_csv(table)
    det = Detector(window=16, epochs=1, device="cpu", quiet=True).fit(x, sensors=["a", "b"])
    loaded = load_model(ab_model)
    jobs = {"smooth": lambda out: smooth_file(table, out, model=ab_model, block=300, quiet=True),
            "reconstruct": lambda out: reconstruct_file(loaded, table, out, block=100),
            "score": lambda out: score_file(table, det, out, quiet=True)}
    outputs = []
    for blocks in (False, True):
        for name, job in jobs.items():
            out = tmp_path / f"{name}{blocks}.csv"
            run(lambda job=job, out=out: job(out), monkeypatch, blocks)
            outputs.append(out)
    compress_file(ab_model, table, tmp_path / "c.tsz")
    decompress_file(tmp_path / "c.tsz", tmp_path / "decompressed.csv")
    outputs.append(tmp_path / "decompressed.csv")
    for out in outputs:
        assert out.read_text().split(",", 1)[0] == (index or ""), out.name
        back = tables.read_table(out)
        assert back.time_name == (index or "column0") and back.columns[0] in ("a", "score"), out.name
        np.testing.assert_array_equal(back.time, np.arange(N))
        assert pd.read_csv(out, index_col=0).index.name == index


def test_a_pandas_index_beside_a_time_column_is_not_written_back(tmp_path, monkeypatch, ab_model) -> None:
    # df.to_csv(path) of a frame with a time column: its index numbers the rows, no sensor's; it was a channel
    # 'column0' (reconstruct refused it as a column the model does not know, detect score ignored it). Dropped, it
    # is written back by no output, whether the table is read whole or in blocks
    import pandas as pd

    x = np.random.default_rng(6).standard_normal((2, N)).cumsum(axis=1)
    table = tmp_path / "in.csv"
    pd.DataFrame({"time": np.arange(N) * 0.25, "a": x[0], "b": x[1]}).to_csv(table)
    loaded = load_model(ab_model)
    jobs = {"smooth": lambda out: smooth_file(table, out, model=ab_model, block=300, quiet=True),
            "impute": lambda out: impute_file(table, out, model=ab_model, quiet=True),
            "reconstruct": lambda out: reconstruct_file(loaded, table, out, block=100)}
    for name, job in jobs.items():
        outputs = []
        for blocks in (False, True):
            out = tmp_path / f"{name}{blocks}.csv"
            run(lambda job=job, out=out: job(out), monkeypatch, blocks)
            outputs.append(out.read_bytes())
        assert outputs[0] == outputs[1], name
        assert outputs[0].startswith(b"time,a,b\n0.0,") or outputs[0].startswith(b"time,a,b\n0,"), outputs[0][:40]
        back = tables.read_table(tmp_path / f"{name}True.csv")
        assert back.columns == ["a", "b"] and back.sample_rate() == 4.0, name
