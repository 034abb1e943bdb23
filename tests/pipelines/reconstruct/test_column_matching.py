"""A table given to a trained model is matched to the model's columns by name.

Before, a table whose column names were not the model's (``a,c`` for a model trained on ``a,b``)
went through the model by position, silently: its column c was taken for the model's b. Now
every model column must be found by name, else one line naming the input, the model's
columns it lacks and the columns the model does not know; an extra column is refused too
(as its channel count always was). Channels without names (``.npy``, a table without a
header, a DataFrame of integer labels, a model trained on such) still go by position.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

from tsae.io.tables import read_table
from tsae.models.modelfile import load_model, save_model
from tsae.pipelines.reconstruct.columns import model_permutation

N = 120


def model_with_columns(path, columns):
    """The tiny_model network, saved with the column names it was 'trained' on."""
    import torch

    from tsae.plugins import create_model

    torch.manual_seed(0)
    model = create_model("conv1d", 2, 32, depth=2, hidden=8, latent=8)
    return save_model(path, model, frame={"window": 32, "hop": 16, "window_fn": None},
                      normalizer={"method": "zscore", "center": [0.0, 0.0], "scale": [1.0, 2.0]},
                      extra={"columns": columns})


def write_table(path, names, header=True):
    t = np.arange(N)
    columns = [t * 0.5 if name == "time" else np.sin(t / (3 + j)) + j for j, name in enumerate(names)]
    lines = ([",".join(names)] if header else []) + [",".join(f"{c[i]:.6f}" for c in columns) for i in range(N)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def ab_model(tmp_path):
    return model_with_columns(tmp_path / "ab.tsae", ["a", "b"])


@pytest.mark.parametrize("model_columns,names,missing,unknown", [
    (["a", "b"], ["a", "c"], "'b'", "'c'"),
    (["s1", "s2"], ["time", "s1", "s3"], "'s2'", "'s3'"),
    (["a", "b"], ["x", "y"], "'a', 'b'", "'x', 'y'"),
])
def test_reconstruct_refuses_columns_that_are_not_the_models(tmp_path, model_columns, names, missing, unknown) -> None:
    model = model_with_columns(tmp_path / "m.tsae", model_columns)
    data = write_table(tmp_path / "in.csv", names)
    out = tmp_path / "out.csv"
    result = run("reconstruct", model, data, "-o", out, "--device", "cpu", "-q")
    assert_one_line_error(result, f"Error: {data}: its columns are not those the model", f"({model})",
                          f"column(s) {missing} missing", f"column(s) {unknown} unknown to the model")
    assert result.exit_code == 1 and not out.exists()


def test_an_extra_column_is_refused_by_name(ab_model, tmp_path) -> None:
    # before as after: a third channel is refused (it was "has 3 channel(s)"); now the column is named
    data = write_table(tmp_path / "abc.csv", ["a", "b", "c"])
    result = run("reconstruct", ab_model, data, "-o", tmp_path / "out.csv", "--device", "cpu", "-q")
    assert_one_line_error(result, f"{data}: its columns", "column(s) 'c' unknown to the model")
    assert "missing" not in result.output


def test_the_same_columns_in_another_order_are_still_reordered(ab_model, tmp_path) -> None:
    ab, ba = write_table(tmp_path / "ab.csv", ["a", "b"]), tmp_path / "ba.csv"
    table = read_table(ab)
    ba.write_text("b,a\n" + "".join(f"{y:.6f},{x:.6f}\n" for x, y in table.values.T))
    for src in (ab, ba):
        assert run("reconstruct", ab_model, src, "-o", tmp_path / f"out_{src.name}", "--device", "cpu",
                   "-q").exit_code == 0
    got, expected = read_table(tmp_path / "out_ba.csv"), read_table(tmp_path / "out_ab.csv")
    assert got.columns == ["b", "a"]
    np.testing.assert_allclose(got.values, expected.values[::-1], atol=1e-5)


def test_channels_without_names_go_by_position(ab_model, tmp_path) -> None:
    headerless = write_table(tmp_path / "plain.csv", ["a", "c"], header=False)  # read as ch0, ch1
    array = tmp_path / "x.npy"
    np.save(array, read_table(headerless).values)
    for src, out in ((headerless, "plain_out.csv"), (array, "x_out.npy")):
        result = run("reconstruct", ab_model, src, "-o", tmp_path / out, "--device", "cpu", "-q")
        assert result.exit_code == 0, result.output
    # a model trained on unnamed channels (an .npy: ch0, ch1) takes any table by position
    unnamed = model_with_columns(tmp_path / "unnamed.tsae", ["ch0", "ch1"])
    data = write_table(tmp_path / "ac.csv", ["a", "c"])
    assert run("reconstruct", unnamed, data, "-o", tmp_path / "ac_out.csv", "--device", "cpu", "-q").exit_code == 0
    # and a model that stores no column names at all
    model_with_columns(tmp_path / "none.tsae", None)
    assert run("reconstruct", tmp_path / "none.tsae", data, "-o", tmp_path / "ac_out2.csv", "--device", "cpu",
               "-q").exit_code == 0


def test_a_batch_fails_the_file_of_other_columns_and_does_the_rest(ab_model, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_table(folder / "good.csv", ["time", "a", "b"])
    bad = write_table(folder / "bad.csv", ["time", "a", "c"])
    out = tmp_path / "out"
    result = run("reconstruct", ab_model, folder, "-o", out, "--device", "cpu", "-q")
    assert result.exit_code == 1
    assert f"failed: {bad}: its columns are not those the model" in result.output
    assert (out / "good.csv").exists() and not (out / "bad.csv").exists()


def test_encode_refuses_columns_that_are_not_the_models(ab_model, tmp_path) -> None:
    data = write_table(tmp_path / "ac.csv", ["a", "c"])
    codes = tmp_path / "codes.npy"
    assert_one_line_error(run("encode", ab_model, data, "-o", codes, "--device", "cpu", "-q"),
                          f"{data}: its columns", "'b' missing", "'c' unknown")
    assert not codes.exists()


@pytest.mark.parametrize("command", ["smooth", "impute"])
def test_smooth_and_impute_with_a_model_refuse_columns_that_are_not_the_models(ab_model, tmp_path,
                                                                                command) -> None:
    data = write_table(tmp_path / "ac.csv", ["a", "c"])
    out = tmp_path / "out.csv"
    assert_one_line_error(run(command, data, "-o", out, "--model", ab_model, "--device", "cpu", "-q"),
                          "columns are not those the model", "'b' missing", "'c' unknown to the model")
    assert not out.exists()


def test_dataframes_are_matched_by_name_in_the_python_api(ab_model) -> None:
    import tsae

    values = np.stack([np.sin(np.arange(N) / 3), np.cos(np.arange(N) / 5)])
    frame = pd.DataFrame(values.T, columns=["a", "b"])
    expected = tsae.reconstruct(ab_model, frame)
    np.testing.assert_allclose(tsae.reconstruct(ab_model, frame[["b", "a"]]), expected[::-1], atol=1e-9)
    with pytest.raises(ValueError, match=r"the table's columns are not those .*'b' missing; .*'c' unknown"):
        tsae.reconstruct(ab_model, frame.rename(columns={"b": "c"}))
    with pytest.raises(ValueError, match="'c' unknown"):
        tsae.encode(ab_model, frame.rename(columns={"b": "c"}))
    with pytest.raises(ValueError, match="'c' unknown"):
        tsae.smooth(frame.rename(columns={"b": "c"}), model=ab_model)
    # integer labels (a bare frame) are no names: by position, as an array
    np.testing.assert_array_equal(tsae.reconstruct(ab_model, pd.DataFrame(values.T)), expected)


def test_a_dataframe_comes_back_as_the_documented_array(ab_model) -> None:
    # the docstring said "float64 of the input's shape": a DataFrame (n, channels) gives (channels, n), an ndarray
    import tsae

    values = np.stack([np.sin(np.arange(N) / 3), np.cos(np.arange(N) / 5)])
    frame = pd.DataFrame(values.T, columns=["b", "a"], index=pd.date_range("2024-01-01", periods=N, freq="s"))
    y = tsae.reconstruct(ab_model, frame)
    assert type(y) is np.ndarray and y.dtype == np.float64 and y.shape == (2, N)
    np.testing.assert_allclose(y, tsae.reconstruct(ab_model, values[::-1])[::-1], atol=1e-9)  # rows: b, a
    doc = " ".join((tsae.reconstruct.__doc__ or "").split())
    assert "a DataFrame of shape ``(n, channels)``: ``(channels, n)``, channels first (the transpose" in doc


def test_model_permutation(ab_model) -> None:
    loaded = load_model(ab_model)
    assert model_permutation(["a", "b"], loaded) is None
    assert model_permutation(["b", "a"], loaded) == [1, 0]
    assert model_permutation(["ch0", "ch1"], loaded) is None  # a table without a header
    assert model_permutation(["a", "c"], loaded, named=False) is None  # a DataFrame of labels that are not strings
    with pytest.raises(ValueError, match=r"^x\.csv: .*'b' missing; column\(s\) 'c' unknown to the model"):
        model_permutation(["a", "c"], loaded, "x.csv")
    with pytest.raises(ValueError, match=r"'b' missing; column\(s\) 'a' given more than once"):
        model_permutation(["a", "a"], loaded)
