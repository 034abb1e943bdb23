"""Hostile and unusual arguments to tsae.fit, tsae.save_model and tsae.load_model (and reconstruct/encode).

Each misuse is one named exception; valid unusual inputs (tensors, DataFrames) work; a
model file that load_model would refuse is never written.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tsae
from tsae.models.fields import ModelFileError
from tsae.models.trainer import TrainConfig

CONFIG = TrainConfig(epochs=1, quiet=True, device="cpu", batch_size=16)
PARAMS = {"hidden": 4, "latent": 4}


def series(channels: int = 2, n: int = 64) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / (3 + c)) + 0.1 * c for c in range(channels)])


def fit(values, **kwargs):
    kwargs.setdefault("config", CONFIG)
    kwargs.setdefault("params", PARAMS)
    kwargs.setdefault("window", 16)
    return tsae.fit(values, **kwargs)


@pytest.fixture(scope="module")
def net():
    from tsae import plugins

    return plugins.create_model("conv1d", channels=2, window=16, **PARAMS)


# ----------------------------------------------------------------------------- fit: the series
def test_a_2d_tensor_is_one_series_of_its_channels() -> None:
    torch = pytest.importorskip("torch")
    # before: iterated row by row, each row a one-channel series (a 1-channel model, twice the windows)
    got = fit(torch.tensor(series()))
    want = fit(series())
    assert (got.model.channels, got.n_windows) == (want.model.channels, want.n_windows) == (2, want.n_windows)


class _ArrayLike:
    """Only ``__array__``: what xarray, a memmap wrapper or a user's class gives numpy."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype)


def test_an_array_like_is_one_series_as_reconstruct_takes_it() -> None:
    # before: "series must be an array (n,) or (channels, n), a DataFrame, or a list of them, not _ArrayLike"
    got = fit(_ArrayLike(series()))
    assert np.array_equal(tsae.reconstruct(got, _ArrayLike(series())), tsae.reconstruct(fit(series()), series()))


def test_a_1d_tensor_and_a_pandas_series_are_one_channel() -> None:
    torch = pytest.importorskip("torch")
    pd = pytest.importorskip("pandas")
    # before: iterated sample by sample: "series 0 must be (n,) or (channels, n), got shape ()"
    for values in (torch.tensor(series()[0]), pd.Series(series()[0])):
        assert fit(values).model.channels == 1


def test_a_dataframe_trains_on_its_columns_and_stores_their_names() -> None:
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame(series().T, columns=["temp", "flow"])
    # before: iterated over its column names: "series 0 must hold real numbers, got dtype <U4"
    result = fit(table)
    assert (result.model.channels, result.columns) == (2, ["temp", "flow"])
    table["flow"] = np.nan
    with pytest.raises(ValueError, match=r"column 'flow'"):
        fit(table)


@pytest.mark.parametrize(("values", "fragment"), [
    (None, "series is required, got None"),  # before: 'NoneType' object is not iterable
    (3.0, "series must be an array .* not float"),  # before: 'float' object is not iterable
    ({"a": [1.0, 2.0]}, "series must be an array .* not dict"),  # before: its keys taken for series
])
def test_what_is_no_series_is_a_named_type_error(values, fragment) -> None:
    with pytest.raises(TypeError, match=fragment):
        fit(values)


# ----------------------------------------------------------------------------- fit: the options
@pytest.mark.parametrize(("option", "value"), [
    ("window", "16"), ("window", None), ("window", 16.0), ("window", True), ("window", math.nan),
    ("hop", True), ("hop", 4.5), ("hop", "4"), ("hop", math.inf), ("hop", 0),  # before: True, 4.5 and "4" trained
    ("max_windows", 0), ("max_windows", -1), ("max_windows", True), ("max_windows", 1.5),
])
def test_whole_number_options_are_checked_by_name(option, value) -> None:
    with pytest.raises(ValueError, match=rf"^{option} must be a whole number >= 1, got "):
        fit(series(), **{option: value})


def test_a_hop_past_the_window_keeps_its_message() -> None:
    with pytest.raises(ValueError, match=r"^hop must be between 1 and the window \(16\), got 17$"):
        fit(series(), hop=17)


@pytest.mark.parametrize("value", [-1, 0, math.nan, math.inf, "abc", True])
def test_a_bad_sample_rate_is_refused_before_training(value) -> None:
    # before: -1 and 0 trained and saved a file load_model refuses; nan, inf and "abc" failed in json at save time
    with pytest.raises(ValueError, match=r"^sample_rate must be"):
        fit(series(), sample_rate=value)


def test_params_are_a_dict_without_the_data_settings() -> None:
    with pytest.raises(TypeError, match=r"^params must be a dict of family hyper-parameters, not str$"):
        fit(series(), params="hidden=4")  # before: "dictionary update sequence element #0 has length 1"
    for key in ("channels", "window"):  # before: create_model() got multiple values for keyword argument
        with pytest.raises(ValueError, match=rf"^params may not set '{key}'"):
            fit(series(), params={**PARAMS, key: 8})
    assert fit(series(), params=list(PARAMS.items())).model.hparams()["hidden"] == 4  # pairs still work


def test_config_must_be_a_train_config() -> None:
    with pytest.raises(TypeError, match=r"^config must be a TrainConfig .* not dict$"):
        fit(series(), config={"epochs": 1})  # before: AttributeError 'dict' object has no attribute 'seed'


@pytest.mark.parametrize("option", ["columns", "sources", "labels"])
def test_a_bare_string_is_no_list_of_names(option) -> None:
    with pytest.raises(TypeError, match=rf"^{option} must be a list of names or None, not str$"):
        fit(series(), **{option: "ab"})  # before: split into ["a", "b"]


def test_init_takes_a_model_file_path(tmp_path, net) -> None:
    path = tsae.save_model(tmp_path / "m.tsae", net, frame={"window": 16, "hop": 4})
    # before: AttributeError 'str' object has no attribute 'name'
    assert fit(series(), init=str(path)).model.channels == 2
    with pytest.raises(ValueError, match=r"no such model file"):
        fit(series(), init=tmp_path / "missing.tsae")
    with pytest.raises(TypeError, match=r"^init must be a model file path"):
        fit(series(), init=3)


# ----------------------------------------------------------------------------- save_model
@pytest.mark.parametrize(("options", "fragment"), [
    ({"frame": {"window": 16, "hop": 99}}, r"frame\.hop: 99 is larger than frame\.window"),
    ({"frame": {"window": 8, "hop": 4}}, r"frame\.window: 8 differs from the network's window \(16\)"),
    ({"frame": {"window": 16, "hop": 4.0}}, r"frame\.hop: must be an integer"),
    ({"frame": {"window": 16, "hop": 4, "window_fn": "bogus"}}, r"frame\.window_fn: 'bogus'"),
    ({"normalizer": {"method": "minmax", "center": [0, 0], "scale": [1, 1]}}, r"normalizer\.method"),
    ({"normalizer": {"method": "zscore", "center": [0.0], "scale": [1.0]}}, r"statistics of 1 channel"),
    ({"sample_rate": 0}, r"^sample_rate must be > 0"),
    ({"sample_rate": math.nan}, r"^sample_rate must be a finite number"),
])
def test_save_refuses_what_load_would_refuse(tmp_path, net, options, fragment) -> None:
    out = tmp_path / "m.tsae"
    # before: written, and load_model then refused the file (nan: an unnamed json error)
    with pytest.raises(ValueError, match=fragment):
        tsae.save_model(out, net, **options)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_nan_weights(tmp_path) -> None:
    from tsae import plugins

    broken = plugins.create_model("conv1d", channels=2, window=16, **PARAMS)
    next(iter(broken.parameters())).data.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"holds NaN or infinite values"):  # before: saved, unloadable
        tsae.save_model(tmp_path / "m.tsae", broken)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("options", "error", "fragment"), [
    ({"frame": [16, 4]}, TypeError, r"^frame must be a dict or None, not list$"),  # before: AttributeError
    ({"extra": [1]}, TypeError, r"^extra must be a dict or None, not list$"),
    ({"arrays": [1]}, TypeError, r"^arrays must be a dict or None, not list$"),  # before: AttributeError
    ({"extra": {"a": object()}}, TypeError, r"^extra cannot be stored in a model file: "),  # before: unnamed
])
def test_save_names_the_argument_of_the_wrong_type(tmp_path, net, options, error, fragment) -> None:
    with pytest.raises(error, match=fragment):
        tsae.save_model(tmp_path / "m.tsae", net, **options)


@pytest.mark.parametrize("path", [None, 3, b"m.tsae"])
def test_a_path_of_the_wrong_type_is_named(tmp_path, net, path) -> None:
    # before: pathlib's "expected str, bytes or os.PathLike object, not NoneType"
    with pytest.raises(TypeError, match=r"^path must be a str or os.PathLike, not "):
        tsae.save_model(path, net)
    with pytest.raises(TypeError, match=r"^path must be a str or os.PathLike, not "):
        tsae.load_model(path)


def test_a_name_longer_than_the_file_system_takes_is_one_named_error(tmp_path, net) -> None:
    # before: pathlib's OSError "[Errno 36] File name too long" from exists(), for every function given a path
    long = tmp_path / ("x" * 300)
    with pytest.raises(ModelFileError, match=r": cannot read \(File name too long\)$"):
        tsae.load_model(long)
    with pytest.raises(ModelFileError, match=r": cannot read \(File name too long\)$"):
        tsae.reconstruct(str(long), np.zeros(32))
    with pytest.raises(ValueError, match=r": cannot read \(File name too long\)$"):
        tsae.denoise(np.zeros(160, np.float32), 16000, model=long)
    for out in (long, long / "m.tsae"):
        with pytest.raises(ValueError, match=r": cannot write there \(File name too long\)$"):
            tsae.save_model(out, net)
    assert list(tmp_path.iterdir()) == []


def test_save_protects_a_single_path_given_as_text(tmp_path, net) -> None:
    out = tmp_path / "m.tsae"
    out.write_bytes(b"input")
    # before: the text was taken letter by letter and the file overwritten
    with pytest.raises(ValueError, match=r"refusing to overwrite"):
        tsae.save_model(out, net, protect=str(out))
    assert out.read_bytes() == b"input"


def test_a_failed_save_keeps_the_old_file_and_leaves_no_part(tmp_path, net) -> None:
    out = tsae.save_model(tmp_path / "m.tsae", net)
    before = out.read_bytes()
    with pytest.raises(ValueError):
        tsae.save_model(out, net, frame={"window": 16, "hop": 99})
    with pytest.raises(TypeError):
        tsae.save_model(out, net, extra={"a": object()})
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.tsae"]


def test_round_trip_reconstructs_identically_and_leaves_inputs_alone(tmp_path) -> None:
    result = fit(series(n=96), hop=8, window_fn="hann")
    loaded = tsae.load_model(result.save(tmp_path / "m.tsae"))
    again = tsae.load_model(tsae.save_model(tmp_path / "n.tsae", loaded.model, frame=loaded.frame,
                                            normalizer=loaded.normalizer, extra=loaded.extra, arrays=loaded.arrays))
    values = series(n=80)
    values[1, 10:15] = np.nan
    values.flags.writeable = False
    kept = values.copy()
    np.testing.assert_array_equal(tsae.reconstruct(loaded, values), tsae.reconstruct(again, values))
    np.testing.assert_array_equal(tsae.encode(loaded, values), tsae.encode(str(tmp_path / "n.tsae"), values))
    np.testing.assert_array_equal(values, kept)


def test_column_names_of_another_count_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^columns: 1 name\(s\) for 2 channel\(s\)"):
        fit(series(2), columns=["a"])  # they were dropped without a word: the model file had no column names
    with pytest.raises(ValueError, match=r"^columns: 3 name\(s\) for 2 channel\(s\)"):
        fit(series(2), columns=["a", "b", "c"])


def test_one_series_given_transposed_is_told_as_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^series: got shape \(64, 2\).*pass series\.T \(or, for 64 channels of 2 "
                                         r"samples, tsae\.engine\.known_layout\(series\)\)$"):
        fit(series(2).T)  # it said 'series 0: ... pass series 0.T'
    with pytest.raises(ValueError, match=r"^series 1: got shape \(64, 2\).*pass it transposed \(\.T\) \(or, for 64 "
                                         r"channels of 2 samples, tsae\.engine\.known_layout\(x\)\)$"):
        fit([series(2), series(2).T])  # an item of a list: 'pass series 1.T' was no Python either


def test_a_fit_result_shows_in_one_line() -> None:
    result = fit(series(2), columns=["a", "b"])
    text = repr(result)  # a notebook cell ending in tsae.fit(...) printed the network, and every window index twice
    assert "\n" not in text and len(text) < 300, text
    assert text.startswith("FitResult(family='conv1d', channels=2, window=16, hop=4, columns=['a', 'b'], ")
    assert f"epochs_run={result.train.epochs_run}" in text


@pytest.mark.parametrize("name", ["m.csv", "m.npy", "m.wav", "m.csv.gz", "m.tsz"])
def test_a_model_saved_under_a_data_files_name_is_refused_as_the_cli_refuses_it(tmp_path, net, name) -> None:
    """`tsae train -o m.csv` was refused, but `tsae.save_model("m.csv", ...)` and `Detector.save("d.csv")` wrote a
    model there (replacing any table of that name), which every command then read as a table."""
    with pytest.raises(ValueError, match=r"m\.(csv|npy|wav|csv\.gz|tsz): .*name it"):
        tsae.save_model(tmp_path / name, net)
    assert not (tmp_path / name).exists()
    tsae.save_model(tmp_path / "m.tsae", net)  # the convention
    tsae.save_model(tmp_path / "m.bin", net)  # a name of the user's own
