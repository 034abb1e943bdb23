"""Audit fixes: a kaiser window with its beta, empty and oversized channels named, short series warned, model names.

1. ``--window-fn kaiser:BETA`` (train, frame), stored so a model file reloads (and exports) the same window.
2. "a channel has no finite values" names the channel: a table's column, an array's index.
3. ``tsae train`` on values float32 cannot hold names the file and channel in the user's terms.
4. ``tsae train`` on a series shorter than one window warns, naming the file and the lengths.
5. ``tsae train -o m.csv`` (a data file's suffix) is refused; ``.tsae``, no suffix, ``.bin`` still work.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.signal import get_window

from tsae.cli import cli

FAST = ["--window", "16", "--hop", "4", "--epochs", "1", "--device", "cpu", "--param", "hidden=4",
        "--param", "latent=4"]


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    text = result.output.strip()
    assert text.count("\n") == 0 and "Traceback" not in text, text
    assert text.startswith("Error: "), text
    return text


def kaiser(beta: float, length: int) -> np.ndarray:
    return get_window(("kaiser", beta), length, fftbins=True).astype(np.float32)


def sine(n: int = 400, channels: int = 1) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / (7.0 + c)) for c in range(channels)])


# ----------------------------------------------------------------------------- 1. kaiser:BETA
def test_frame_takes_a_kaiser_beta(tmp_path) -> None:
    x = sine()[0]
    np.save(tmp_path / "x.npy", x)
    result = run("frame", tmp_path / "x.npy", "--window", "32", "--hop", "8", "--window-fn", "kaiser:8.6",
                 "-o", tmp_path / "f.npy", "-q")
    assert result.exit_code == 0, result.output
    frames = np.load(tmp_path / "f.npy")
    np.testing.assert_allclose(frames[3], x[24:56].astype(np.float32) * kaiser(8.6, 32), rtol=1e-6, atol=1e-7)


def test_a_trained_model_keeps_its_kaiser_beta_through_reload_and_export(tmp_path) -> None:
    from tsae.engine.framing import window_array
    from tsae.models.modelfile import load_model

    np.save(tmp_path / "x.npy", sine(channels=2))
    model = tmp_path / "k.tsae"
    result = run("train", tmp_path / "x.npy", *FAST, "--window-fn", "kaiser:8.6", "-o", model, "-q")
    assert result.exit_code == 0, result.output
    loaded = load_model(model)
    assert loaded.frame["window_fn"] == "kaiser:8.6"
    np.testing.assert_array_equal(window_array(loaded.frame["window_fn"], 16), kaiser(8.6, 16))
    assert run("reconstruct", model, tmp_path / "x.npy", "-o", tmp_path / "r.npy", "-q").exit_code == 0

    pytest.importorskip("onnx")
    from tsae.export import export_model

    exported = export_model(model, tmp_path / "k.onnx")
    taper = json.loads(Path(exported.sidecar).read_text())["taper"]
    np.testing.assert_allclose(taper, kaiser(8.6, 16), rtol=0, atol=1e-7)


def test_a_kaiser_tuple_from_python_is_stored_as_text_that_reloads(tmp_path) -> None:
    from tsae.models.fit import fit_model_on_series
    from tsae.models.modelfile import load_model
    from tsae.models.trainer import TrainConfig

    fit = fit_model_on_series(sine(), window=16, hop=4, window_fn=("kaiser", 5), params={"hidden": 4, "latent": 4},
                              config=TrainConfig(epochs=1, quiet=True, device="cpu"))
    assert fit.frame["window_fn"] == "kaiser:5.0"
    assert load_model(fit.save(tmp_path / "m.tsae")).frame["window_fn"] == "kaiser:5.0"


@pytest.mark.parametrize(("value", "fragment"), [
    ("kaiser:-1", "beta must be >= 0"),
    ("kaiser:nan", "must be finite"),
    ("kaiser:inf", "must be finite"),
    ("kaiser:abc", "'abc' is not a number"),
    ("kaiser:", "'' is not a number"),
    ("kaiser:1000", "non-finite"),
    ("kaiser", "kaiser:BETA"),  # as before, plain kaiser is no window (scipy needs its beta): now it says so
])
@pytest.mark.parametrize("command", ["train", "frame"])
def test_a_bad_kaiser_beta_is_one_line_before_anything_is_read(tmp_path, command, value, fragment) -> None:
    np.save(tmp_path / "x.npy", sine()[0])
    out = tmp_path / ("m.tsae" if command == "train" else "f.npy")
    args = FAST if command == "train" else ["--window", "16", "--hop", "4"]
    line = one_line_error(run(command, tmp_path / "x.npy", *args, "--window-fn", value, "-o", out))
    assert "'--window-fn'" in line and fragment in line, line
    assert not out.exists()


def test_a_model_file_with_a_bad_kaiser_beta_names_the_field(tmp_path, craft_model_file) -> None:
    from tsae.models.fields import ModelFileError
    from tsae.models.modelfile import load_model, save_model
    from tsae.plugins import create_model

    good = save_model(tmp_path / "good.tsae", create_model("conv1d", 1, 16),
                      frame={"window": 16, "hop": 4, "window_fn": "kaiser:8.6"})
    assert load_model(good).frame["window_fn"] == "kaiser:8.6"

    def negative(head: dict) -> None:
        head["frame"]["window_fn"] = "kaiser:-2"

    with pytest.raises(ModelFileError, match=r"frame\.window_fn: 'kaiser:-2': the kaiser window's beta must be >= 0"):
        load_model(craft_model_file(good, "bad.tsae", header=negative))


# ----------------------------------------------------------------------------- 2. which channel is empty
def _empty_b_csv(path: Path) -> Path:
    path.write_text("time,a,b\n" + "".join(f"{i},{np.sin(i / 5):.4f},\n" for i in range(80)))
    return path


def test_train_names_the_empty_column_of_a_table(tmp_path) -> None:
    data = _empty_b_csv(tmp_path / "empty_b.csv")
    line = one_line_error(run("train", data, *FAST, "-o", tmp_path / "m.tsae"))
    assert line == f"Error: {data}: a channel has no finite values (column 'b')"
    assert not (tmp_path / "m.tsae").exists()


def test_train_names_the_empty_channel_of_an_array_by_index(tmp_path) -> None:
    x = sine(channels=3)
    x[2] = np.nan
    np.save(tmp_path / "x.npy", x)
    line = one_line_error(run("train", tmp_path / "x.npy", *FAST, "-o", tmp_path / "m.tsae"))
    assert line == f"Error: {tmp_path / 'x.npy'}: a channel has no finite values (channel 2)"


@pytest.fixture(scope="module")
def two_channel_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    np.save(folder / "x.npy", sine(channels=2))
    model = folder / "m.tsae"
    result = run("train", folder / "x.npy", *FAST, "-o", model, "-q")
    assert result.exit_code == 0, result.output
    return model


@pytest.mark.parametrize("command", ["reconstruct", "encode"])
def test_reconstruct_and_encode_name_the_empty_column(tmp_path, two_channel_model, command) -> None:
    data = _empty_b_csv(tmp_path / "empty_b.csv")
    out = tmp_path / ("out.npy" if command == "encode" else "out.csv")
    line = one_line_error(run(command, two_channel_model, data, "-o", out, "-q"))
    assert line == f"Error: {data}: a channel has no finite values (column 'b')"
    x = sine(channels=2)
    x[1] = np.nan
    np.save(tmp_path / "x.npy", x)
    line = one_line_error(run(command, two_channel_model, tmp_path / "x.npy", "-o", out, "-q"))
    assert line == f"Error: {tmp_path / 'x.npy'}: a channel has no finite values (channel 1)"
    assert not out.exists()


def test_the_repair_says_which_channel_is_empty() -> None:
    from tsae.engine.preprocess import repair_missing
    from tsae.errors import EmptyChannelError

    x = np.ones((3, 5))
    x[1] = np.nan
    with pytest.raises(EmptyChannelError) as info:
        repair_missing(x, empty="raise")
    assert info.value.channel == 1 and str(info.value) == "a channel has no finite values (channel 1)"
    assert str(info.value.named(["a", "b", "c"])) == "a channel has no finite values (column 'b')"


# ----------------------------------------------------------------------------- 3. values too large to train on
def test_train_on_values_beyond_float32_names_the_file_and_channel(tmp_path) -> None:
    x = sine(channels=2)
    x[1] = 1e308
    np.save(tmp_path / "huge.npy", x)
    line = one_line_error(run("train", tmp_path / "huge.npy", *FAST, "--normalize", "none", "-o", tmp_path / "m.tsae"))
    # beyond 1e30 is missing (as reconstruct and encode read it): none left to train on, not values too large
    assert line == (f"Error: {tmp_path / 'huge.npy'}: a channel has no finite values (channel 1): its values are all "
                    "beyond 1e30 in magnitude, which is missing"), line
    assert "series 0" not in line and "the model knows" not in line
    assert not (tmp_path / "m.tsae").exists()


def test_robust_scaling_beyond_float32_names_the_column(tmp_path) -> None:
    # below the 1e30 a table reads as missing, but 1e29 divided by a spread of about 1e-10 overflows float32
    rows = [f"{i},{np.sin(i / 5):.4f},{1e29 if i == 7 else 1e-10 * np.sin(i / 3):.4e}" for i in range(80)]
    data = tmp_path / "spike.csv"
    data.write_text("time,a,b\n" + "\n".join(rows) + "\n")
    line = one_line_error(run("train", data, *FAST, "--normalize", "robust", "-o", tmp_path / "m.tsae"))
    assert line.startswith(f"Error: {data}: column 'b' holds values too large to train on (up to 1e+29"), line
    assert "robust normalisation" in line and "the model knows" not in line


# ----------------------------------------------------------------------------- 4. a series shorter than a window
def test_train_warns_on_a_series_shorter_than_one_window(tmp_path) -> None:
    np.save(tmp_path / "two.npy", np.array([1.0, 2.0]))
    result = run("train", tmp_path / "two.npy", *FAST, "-o", tmp_path / "m.tsae")
    assert result.exit_code == 0, result.output
    warning = [line for line in result.output.splitlines() if line.startswith("Warning: ")]
    assert warning == [f"Warning: {tmp_path / 'two.npy'}: only 2 sample(s), fewer than the window (16): trained on "
                       "as one window zero-padded to 16 samples (use a shorter window)"], result.output
    quiet = run("train", tmp_path / "two.npy", *FAST, "-o", tmp_path / "q.tsae", "-q")
    assert quiet.exit_code == 0 and quiet.output == "", quiet.output


def test_fit_warns_once_naming_every_short_series() -> None:
    from tsae.models.fit import ShortSeriesWarning, fit_model_on_series
    from tsae.models.trainer import TrainConfig

    series = [sine(), np.ones((1, 3)), np.ones((1, 1))]
    with pytest.warns(ShortSeriesWarning) as caught:
        fit_model_on_series(series, window=16, params={"hidden": 4, "latent": 4}, sources=["a.npy", "b.npy", "c.npy"],
                            config=TrainConfig(epochs=1, quiet=True, device="cpu"))
    assert [str(w.message) for w in caught if w.category is ShortSeriesWarning] == [
        "2 series have fewer samples than the window (16), each trained on as one zero-padded window: "
        "b.npy (3), c.npy (1)"]


# ----------------------------------------------------------------------------- 5. a model named like data
@pytest.mark.parametrize("name", ["m.csv", "m.TSV", "m.txt", "m.npy", "m.wav", "m.flac"])
def test_train_refuses_a_model_named_like_a_data_file(tmp_path, name) -> None:
    np.save(tmp_path / "x.npy", sine())
    out = tmp_path / name
    line = one_line_error(run("train", tmp_path / "x.npy", *FAST, "-o", out))
    assert line.startswith(f"Error: {out}: refusing to write a model under a data file's name"), line
    assert line.endswith(f"name it {tmp_path / 'm.tsae'}"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


@pytest.mark.parametrize("name", ["m.tsae", "m", "m.bin"])
def test_train_keeps_writing_model_names_it_took(tmp_path, name) -> None:
    np.save(tmp_path / "x.npy", sine())
    result = run("train", tmp_path / "x.npy", *FAST, "-o", tmp_path / name, "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / name).is_file()


def test_detect_fit_refuses_a_detector_named_like_a_data_file(tmp_path) -> None:
    t = np.arange(400)
    (tmp_path / "normal.csv").write_text("a,b\n" + "".join(f"{np.sin(i / 10):.4f},{np.cos(i / 7):.4f}\n" for i in t))
    out = tmp_path / "det.csv"
    line = one_line_error(run("detect", "fit", tmp_path / "normal.csv", "-o", out, "-q"))
    assert line == (f"Error: {out}: refusing to write a model under a data file's name (tsae reads .csv files as "
                    f"tables): name it {tmp_path / 'det.tsae'}"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["normal.csv"]


def test_a_family_error_ending_in_a_quote_keeps_it(monkeypatch) -> None:
    from tsae import plugins
    from tsae.models.fit import fit_model_on_series

    def broken(*args, **kwargs):
        raise KeyError("model family 'x' cannot be used: plugin 'x' failed to load: No module named 'xyz'")

    monkeypatch.setattr(plugins, "get_model_family", broken)  # where the family is first looked up
    with pytest.raises(ValueError) as info:
        fit_model_on_series([sine()], model="x", window=16)
    assert str(info.value).endswith("No module named 'xyz'")


def test_train_refuses_a_model_named_like_json_text(tmp_path) -> None:
    """``tsae train -o m.json`` wrote a binary model under a JSON text file's name (tsae writes events and an ONNX
    export's sidecar as .json)."""
    np.save(tmp_path / "x.npy", sine())
    out = tmp_path / "m.json"
    line = one_line_error(run("train", tmp_path / "x.npy", *FAST, "-o", out))
    assert line == f"Error: {out}: refusing to write a model under a JSON text file's name (.json): name it " \
                   f"{tmp_path / 'm.tsae'}", line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]
