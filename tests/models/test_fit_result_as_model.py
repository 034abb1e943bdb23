"""What ``tsae.fit`` returns is a model every function taking one accepts, as its saved file would be.

``tsae.reconstruct(tsae.fit(x), x)`` said "model must be a LoadedModel or a model file
path, got FitResult": a user who had just fitted had to save a file and load it back.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import tsae
from tsae.models.modelfile import LoadedModel, load_model
from tsae.models.trainer import TrainConfig

QUICK = TrainConfig(epochs=2, quiet=True, device="cpu", seed=3)
SMALL = {"hidden": 4, "latent": 4, "depth": 2}


def series(n: int = 300) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / 5), np.cos(t / 9) + 0.1 * np.sin(t / 2)])


@pytest.fixture(scope="module")
def fitted():
    return tsae.fit(series(), window=16, params=SMALL, config=QUICK, sample_rate=50.0)


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("fit") / "m.tsae")


def assert_same_model(a: LoadedModel, b: LoadedModel) -> None:
    for name in ("family", "plugin", "plugin_version", "hparams", "frame", "normalizer", "sample_rate",
                 "tsae_version", "extra"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.arrays.keys() == b.arrays.keys()
    for name in a.arrays:
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name])
        assert a.arrays[name].dtype == b.arrays[name].dtype
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) and sa[k].dtype == sb[k].dtype for k in sa)
    assert type(a.model) is type(b.model) and a.model.training is b.model.training is False


def test_a_fit_result_converts_as_saving_and_loading_it_would(fitted, saved) -> None:
    from tsae.models.modelfile import as_loaded

    loaded = fitted.loaded()
    assert isinstance(loaded, LoadedModel) and loaded.path is None
    assert_same_model(loaded, load_model(saved))
    assert loaded.model is not fitted.model  # a network of its own: the fit's is left as it is
    assert_same_model(as_loaded(fitted), load_model(saved))


def test_every_function_taking_a_model_takes_a_fit_result(fitted, saved) -> None:
    x = series(200)
    np.testing.assert_array_equal(tsae.reconstruct(fitted, x), tsae.reconstruct(saved, x))
    np.testing.assert_array_equal(tsae.encode(fitted, x), tsae.encode(saved, x))
    data = tsae.compress(fitted, x, max_error=0.01)
    unnamed = load_model(saved)
    unnamed.path = None  # a model from a file gets the file's digest in the header: a fitted one has no file
    assert data == tsae.compress(unnamed, x, max_error=0.01)
    np.testing.assert_array_equal(tsae.decompress(data, fitted), tsae.decompress(data, saved))
    np.testing.assert_array_equal(tsae.smooth(x, model=fitted), tsae.smooth(x, model=saved))
    gappy = x.copy()
    gappy[:, 50:55] = np.nan
    np.testing.assert_array_equal(tsae.impute(gappy, model=fitted, iterations=3),
                                  tsae.impute(gappy, model=saved, iterations=3))


def test_a_fit_on_a_table_keeps_its_column_names(tmp_path) -> None:
    frame = pd.DataFrame(series().T, columns=["temp", "vib"])
    fit = tsae.fit(frame, window=16, params=SMALL, config=QUICK)
    assert fit.loaded().extra["columns"] == ["temp", "vib"]
    swapped = frame[["vib", "temp"]]  # matched to the model by name, as with the saved file
    np.testing.assert_array_equal(tsae.reconstruct(fit, swapped), tsae.reconstruct(fit.save(tmp_path / "t.tsae"),
                                                                                   swapped))
