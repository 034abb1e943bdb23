"""`tsae train` / `tsae encode` (and tsae.fit, tsae.encode) on hostile data: what the files hold.

Tables given together are matched by column name; a training that diverges leaves no
model; a model whose encoder gives NaN codes writes none; a channel squashed by one
huge value is told; odd dtypes and short series work, with the documented code count.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from cli_helpers import assert_one_line_error, run

import tsae
from tsae.models.fit import OutlierWarning, read_training_data
from tsae.models.trainer import TrainConfig, train_model

FAST = ["--window", "32", "--hop", "8", "--epochs", "1", "-q", "--device", "cpu", "--param", "hidden=4",
        "--param", "latent=4"]
CONFIG = TrainConfig(epochs=1, quiet=True, device="cpu", batch_size=16)


def signals(channels: int = 3, n: int = 200) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / (4 + c)) + 0.05 * c * np.cos(t / 3) for c in range(channels)])


def write_csv(path, columns: dict[str, np.ndarray]):
    names = list(columns)
    rows = [",".join(names)] + [",".join(f"{columns[k][i]:.6f}" for k in names)
                                for i in range(len(columns[names[0]]))]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture()
def tables(tmp_path):
    """ab.csv, and ba.csv: the same values with the columns in the other order."""
    a, b = signals(2)
    return write_csv(tmp_path / "ab.csv", {"a": a, "b": b}), write_csv(tmp_path / "ba.csv", {"b": b, "a": a})


# ----------------------------------------------------------------------------- tables together
def test_tables_in_another_column_order_are_matched_by_name(tables) -> None:
    # ba.csv's column b was trained on as the model's column a: matched by position, silently
    found = read_training_data(list(tables))
    np.testing.assert_array_equal(found.series[1], found.series[0])
    assert found.columns == ["a", "b"] and found.channel_names == [["a", "b"], ["a", "b"]]


def test_tables_with_other_columns_are_refused(tables, tmp_path) -> None:
    other = write_csv(tmp_path / "ac.csv", {"a": signals(1)[0], "c": signals(1)[0]})
    out = tmp_path / "m.tsae"
    assert_one_line_error(run("train", tables[0], other, *FAST, "-o", out), "ac.csv: its columns differ from",
                          "'b' missing", "'c' not in")
    assert not out.exists()


def test_files_of_another_sample_rate_are_told_by_name(tmp_path) -> None:
    # it said 'data: files have different sample rates (1.0, 8000.0)', naming the folder given, not the file
    import soundfile as sf

    data = tmp_path / "data"
    data.mkdir()
    a, b = signals(2)
    write_csv(data / "a.csv", {"time": np.arange(a.size, dtype=float), "a": a, "b": b})
    sf.write(data / "b.wav", (0.1 * signals(2, 400)).T.astype(np.float32), 8000)
    out = tmp_path / "m.tsae"
    assert_one_line_error(run("train", data, *FAST, "-o", out),
                          f"Error: {data / 'b.wav'}: sampled at 8000 Hz, but {data / 'a.csv'} at 1 Hz; files trained "
                          "on together must have one sample rate: resample them first")
    assert not out.exists()


def test_a_series_of_one_window_is_told_in_the_singular(tmp_path) -> None:
    out = tmp_path / "m.tsae"
    a, b = signals(2, 20)
    result = run("train", write_csv(tmp_path / "short.csv", {"a": a, "b": b}), *[f for f in FAST if f != "-q"],
                 "-o", out)
    assert result.exit_code == 0, result.output
    assert f"{out}: conv1d, 1 window, 1 epoch (all run)" in result.output, result.output  # was '1 windows'


def test_dataframes_given_together_are_matched_by_name() -> None:
    a, b = signals(2)
    first = pd.DataFrame({"a": a, "b": b})
    same = tsae.fit([first, first.copy()], window=16, params={"hidden": 4, "latent": 4}, config=CONFIG)
    turned = tsae.fit([first, first[["b", "a"]]], window=16, params={"hidden": 4, "latent": 4}, config=CONFIG)
    assert turned.train.best_val_loss == same.train.best_val_loss
    with pytest.raises(ValueError, match="series 1: its columns differ from series 0's"):
        tsae.fit([first, first.rename(columns={"b": "c"})], window=16, config=CONFIG)


# ----------------------------------------------------------------------------- divergence
def test_a_training_whose_last_step_blows_up_leaves_no_model(tmp_path) -> None:
    # the loss of each step was finite; the last update made the weights ~1e30 and a model was
    # saved (exit 0, "best validation MSE nan") that encodes every window as NaN
    data = tmp_path / "x.npy"
    np.save(data, signals())
    out = tmp_path / "m.tsae"
    result = run("train", data, *FAST, "--lr", "1e30", "--batch-size", "1000", "-o", out)
    assert_one_line_error(result, "training diverged (validation loss is nan after epoch 1)", "lower the learning rate")
    assert not out.exists()


def test_train_model_refuses_a_non_finite_validation_loss() -> None:
    from tsae import plugins

    x = signals()
    windows = np.stack([x[:, i : i + 16] for i in range(0, 184, 8)]).astype(np.float32)
    net = plugins.create_model("conv1d", channels=3, window=16, hidden=4, latent=4)
    with pytest.raises(RuntimeError, match="training diverged"):
        train_model(net, windows, TrainConfig(epochs=1, lr=1e30, batch_size=1000, quiet=True, device="cpu"))


# ----------------------------------------------------------------------------- encode
@pytest.fixture()
def blown_up(tmp_path):
    """A model file with finite weights so large that every code is NaN (what a diverged training left)."""
    fit = tsae.fit(signals(), window=32, hop=8, params={"hidden": 4, "latent": 4}, config=CONFIG)
    with torch.no_grad():
        for p in fit.model.parameters():
            p.fill_(1e30)
    return fit.save(tmp_path / "blown.tsae")


@pytest.mark.parametrize("n", [200, 1000])  # whole series, and block by block (block=256 below)
def test_encode_refuses_nan_codes(blown_up, tmp_path, n) -> None:
    from tsae.pipelines.reconstruct.batch import encode_file

    data = tmp_path / "x.npy"
    np.save(data, signals(n=n))
    codes = tmp_path / "codes.npy"
    with pytest.raises(ValueError, match=r"blown\.tsae: the encoder of model family 'conv1d' \(plugin 'conv1d' "
                                           r"\(tsae [^)]*\)\) gives NaN or infinite codes"):
        encode_file(blown_up, data, codes, block=256)
    assert not codes.exists()
    assert_one_line_error(run("encode", blown_up, data, "-o", codes), "NaN or infinite codes (from window 0)")
    assert not codes.exists()


def test_encode_matches_a_table_to_the_model_columns_by_name(tables, tmp_path) -> None:
    model = tmp_path / "m.tsae"
    assert run("train", tables[0], *FAST, "-o", model).exit_code == 0
    assert run("encode", model, tables[0], "-o", tmp_path / "ab.npy", "-q").exit_code == 0
    assert run("encode", model, tables[1], "-o", tmp_path / "ba.npy", "-q").exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "ba.npy"), np.load(tmp_path / "ab.npy"))


def test_reconstruct_matches_a_table_to_the_model_columns_by_name_and_keeps_its_order(tables, tmp_path) -> None:
    # ba.csv's column b went through the model as its column a (by position), silently
    import csv

    model = tmp_path / "m.tsae"
    assert run("train", tables[0], *FAST, "-o", model).exit_code == 0
    assert run("reconstruct", model, tables[0], "-o", tmp_path / "ab_out.csv", "-q").exit_code == 0
    assert run("reconstruct", model, tables[1], "-o", tmp_path / "ba_out.csv", "-q").exit_code == 0
    folder = tmp_path / "batch"
    assert run("reconstruct", model, *tables, "-o", folder, "-q").exit_code == 0  # the grouped batch path

    def columns(path):
        with open(path) as handle:
            rows = list(csv.DictReader(handle))
        return list(rows[0]), {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}

    names, expected = columns(tmp_path / "ab_out.csv")
    for path in (tmp_path / "ba_out.csv", folder / "ba.csv"):
        order, got = columns(path)
        assert order == ["b", "a"]  # written in the table's own order
        for name in names:
            np.testing.assert_array_equal(got[name], expected[name])


@pytest.mark.parametrize("command", ["smooth", "impute"])
def test_smooth_and_impute_with_a_model_match_a_table_to_its_columns_by_name(tables, tmp_path, command) -> None:
    import csv

    model = tmp_path / "m.tsae"
    assert run("train", tables[0], *FAST, "-o", model).exit_code == 0
    outputs = []
    for table in tables:  # with a gap in column a (the same rows in each), for impute to fill through the model
        lines = [line.split(",") for line in table.read_text().splitlines()]
        where = lines[0].index("a")
        for cells in lines[40:60]:
            cells[where] = ""
        table.write_text("".join(",".join(cells) + "\n" for cells in lines))
        out = tmp_path / f"{table.stem}_{command}.csv"
        result = run(command, table, "--model", model, "-o", out, "-q")
        assert result.exit_code == 0, result.output
        with open(out) as handle:
            outputs.append(list(csv.DictReader(handle)))
    assert list(outputs[1][0]) == ["b", "a"]  # written in the table's own order
    for name in ("a", "b"):
        assert [row[name] for row in outputs[1]] == [row[name] for row in outputs[0]]


def test_encode_names_the_file_and_the_model_of_another_channel_count(tables, tmp_path) -> None:
    data = tmp_path / "three.npy"
    np.save(data, signals(3))
    model = tmp_path / "m.tsae"
    assert run("train", data, *FAST, "-o", model).exit_code == 0
    result = run("encode", model, tables[0], "-o", tmp_path / "c.npy")
    assert_one_line_error(result, "ab.csv: has 2 channel(s) but the model was trained on 3 (", "m.tsae)")
    assert "values has" not in result.output and not (tmp_path / "c.npy").exists()


# ----------------------------------------------------------------------------- a huge value
def test_one_huge_value_that_squashes_its_channel_is_told(tmp_path) -> None:
    x = signals()
    x[1, 50] = 1e29  # below 1e30: a value (beyond it, a gap)
    with pytest.warns(OutlierWarning, match=r"^series: channel 1 has values up to 1e\+29 .*remove the outliers"):
        tsae.fit(x, window=32, params={"hidden": 4, "latent": 4}, config=CONFIG)
    data = tmp_path / "huge.npy"
    np.save(data, x)
    result = run("train", data, *[a for a in FAST if a != "-q"], "-o", tmp_path / "m.tsae")
    assert result.exit_code == 0 and "huge.npy: channel 1 has values up to 1e+29" in result.output


def test_ordinary_and_constant_channels_are_not_told() -> None:
    x = signals()
    x[2] = 5.0  # constant
    x[0, ::50] = 20.0  # a few spikes, but not a millionth-of-the-spread bulk
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutlierWarning)
        tsae.fit(x, window=32, params={"hidden": 4, "latent": 4}, config=CONFIG)


# ----------------------------------------------------------------------------- odd but valid data
@pytest.mark.parametrize("dtype", [np.int16, np.bool_, np.float16, np.uint64])
def test_integer_bool_and_half_arrays_train_and_encode(dtype, tmp_path) -> None:
    data = tmp_path / "x.npy"
    np.save(data, (signals() * 100).astype(dtype) if dtype not in (np.bool_, np.uint64) else
            (signals() > 0).astype(dtype))
    model = tmp_path / "m.tsae"
    assert run("train", data, *FAST, "-o", model).exit_code == 0
    assert run("encode", model, data, "-o", tmp_path / "c.npy", "-q").exit_code == 0
    assert np.load(tmp_path / "c.npy").shape == (1 + int(np.ceil((200 - 32) / 8)), 4)


@pytest.mark.parametrize("n,codes", [(20, 1), (32, 1), (33, 2)])
def test_encode_of_short_series_gives_the_documented_count(n, codes, tmp_path) -> None:
    data = tmp_path / "x.npy"
    np.save(data, signals())
    model = tmp_path / "m.tsae"
    assert run("train", data, *FAST, "-o", model).exit_code == 0
    np.save(tmp_path / "short.npy", signals(n=n))
    assert run("encode", model, tmp_path / "short.npy", "-o", tmp_path / "c.npy", "-q").exit_code == 0
    assert np.load(tmp_path / "c.npy").shape == (codes, 4)


@pytest.mark.parametrize("name", ["codes.csv", "codes", "codes.tsae"])
def test_encode_refuses_an_output_that_is_not_npy(tables, tmp_path, name) -> None:
    # 'tsae encode -o codes.csv' wrote a .npy array's bytes under the .csv name
    model = tmp_path / "m.tsae"
    assert run("train", tables[0], *FAST, "-o", model).exit_code == 0
    assert_one_line_error(run("encode", model, tables[0], "-o", tmp_path / name, "-q"),
                          f"{name}: the codes are written as a .npy array; name the output codes.npy")
    assert not (tmp_path / name).exists()


def test_init_from_a_model_without_an_encoder_is_told_before_the_data_is_read(tmp_path, monkeypatch) -> None:
    # --init with the shipped denoiser read the data, then said "denoiser2: channels must be 1 (...)"
    from tsae.models import fit as fit_module
    from tsae.pipelines.denoise.denoiser import model_path

    def no_reading(*args, **kwargs):
        raise AssertionError("the data was read before the --init model was checked")

    monkeypatch.setattr(fit_module, "read_training_data", no_reading)
    data = write_csv(tmp_path / "ab.csv", {"a": signals(1)[0], "b": signals(1)[0]})
    assert_one_line_error(run("train", data, "--init", model_path("denoiser2"), "-o", tmp_path / "m.tsae", "-q"),
                          "denoiser2.tsae: is a denoiser (the 'denoiser2' family, for tsae denoise), not a series "
                          "model or a detector: it has no encoder to start from")
    assert not (tmp_path / "m.tsae").exists()


@pytest.mark.parametrize("n", [200, 1000])  # whole series, and block by block (block=256 below)
def test_reconstruct_refuses_nan_reconstructions(blown_up, tmp_path, n) -> None:
    # finite weights too large for float32 gave an all-NaN reconstruction, written with exit 0 ("RMSE nan")
    from tsae.pipelines.reconstruct.batch import reconstruct_file

    data = tmp_path / "x.npy"
    np.save(data, signals(n=n))
    out = tmp_path / "r.npy"
    with pytest.raises(ValueError, match=r"blown\.tsae: model family 'conv1d' \(plugin 'conv1d' "
                                           r"\(tsae [^)]*\)\) reconstructs NaN or infinite values \(from window 0\)"):
        reconstruct_file(blown_up, data, out, block=256)
    assert not out.exists()
    for args in (("reconstruct", blown_up, data, "-o", out), ("smooth", data, "--model", blown_up, "-o", out),
                 ("impute", data, "--model", blown_up, "-o", out)):
        assert_one_line_error(run(*args), "reconstructs NaN or infinite values (from window 0)")
        assert not out.exists()


def test_a_folder_reconstruction_fails_the_file_of_a_nan_reconstruction(blown_up, tmp_path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    np.save(data / "x.npy", signals(n=200))
    result = run("reconstruct", blown_up, data / "x.npy", "-o", tmp_path / "out", "-q")
    assert result.exit_code == 1 and "reconstructs NaN or infinite values" in result.output
    assert not (tmp_path / "out" / "x.npy").exists()


@pytest.mark.parametrize("first", ["", "sample_index"])
def test_a_table_numbered_by_its_rows_gives_the_model_no_sample_rate(tmp_path, first) -> None:
    # pandas' index (df.to_csv) counts the rows: its steps of 1 were taken for seconds, the model stored 1 Hz, and a
    # table sampled at 100 Hz was told "trained at 1 Hz: resample it to 1 Hz first" (detect fit gave it no interval)
    from tsae.io.table_blocks import open_table_blocks
    from tsae.io.tables import read_table
    from tsae.models.modelfile import load_model

    a, b = signals(2)
    numbered = tmp_path / "numbered.csv"
    pd.DataFrame({"a": a, "b": b}).rename_axis(first or None).to_csv(numbered)
    assert read_table(numbered).sample_rate() is None and open_table_blocks(numbered).rate is None
    out = tmp_path / "m.tsae"
    assert run("train", numbered, *FAST, "-o", out).exit_code == 0
    assert load_model(out).sample_rate is None
    hz100 = write_csv(tmp_path / "hz100.csv", {"time": np.arange(a.size) / 100, "a": a, "b": b})
    assert read_table(hz100).sample_rate() == pytest.approx(100.0)
    result = run("reconstruct", out, hz100, "-o", tmp_path / "r.csv")
    assert result.exit_code == 0 and "Hz" not in result.output, result.output
    assert_one_line_error(run("reconstruct", out, numbered, "-o", tmp_path / "r.wav"),
                          "an audio output needs a sample rate (the input has none)")


# ----------------------------------------------------------------------------- beyond 1e30, infinite: as reconstruct
def test_a_npy_channel_beyond_1e30_is_missing_to_train_as_to_reconstruct(tmp_path) -> None:
    # before: train took a channel of 1e300 values as data (exit 0, its zscore scale 1e300) and reconstruct then
    # refused the same file ('a channel has no finite values (channel 2)'): every other reader calls them missing
    x = signals()
    x[2] = 1e300 * np.cos(np.arange(x.shape[1]))
    data = tmp_path / "huge.npy"
    np.save(data, x)
    result = run("train", data, *FAST, "-o", tmp_path / "m.tsae")
    assert_one_line_error(result, f"{data}: a channel has no finite values (channel 2)", "beyond 1e30")
    assert not (tmp_path / "m.tsae").exists()
    with pytest.raises(ValueError, match=r"^series: a channel has no finite values \(channel 2\).*beyond 1e30"):
        tsae.fit(x, window=32, params={"hidden": 4, "latent": 4}, config=CONFIG)


def test_a_glitch_beyond_1e30_is_a_gap_to_train_not_the_channel_s_spread(tmp_path) -> None:
    # before: one 1e31 sample of an .npy set its channel's zscore scale to ~7e29 (squashed, with a warning), while
    # reconstruct and encode of that file read it as a gap
    x = signals()
    x[1, 50] = 1e31
    data = tmp_path / "glitch.npy"
    np.save(data, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutlierWarning)
        fit = tsae.fit(x, window=32, params={"hidden": 4, "latent": 4}, config=CONFIG)
    assert fit.normalizer.scale[1] < 10
    result = run("train", data, *[a for a in FAST if a != "-q"], "-o", tmp_path / "m.tsae")
    assert result.exit_code == 0 and "Warning" not in result.output, result.output
    assert tsae.load_model(tmp_path / "m.tsae").normalizer["scale"][1] < 10


def test_train_refuses_an_infinite_npy_sample_as_reconstruct_does(tmp_path) -> None:
    # before: train repaired it silently, and reconstruct and encode refused the file it had learnt from
    x = signals()
    x[1, 5] = -np.inf
    data = tmp_path / "inf.npy"
    np.save(data, x)
    result = run("train", data, *FAST, "-o", tmp_path / "m.tsae")
    assert_one_line_error(result, f"{data}: sample 5 of channel 1 is infinite (-inf)")
    assert not (tmp_path / "m.tsae").exists()
