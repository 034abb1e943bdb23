"""fit_model_on_series, reconstruct_series and encode_series on whole series."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.models.fit import fit_model_on_series, train_files
from tsae.models.modelfile import load_model
from tsae.models.trainer import TrainConfig
from tsae.pipelines.reconstruct.series import encode_series, reconstruct_series

from synthetic_data import synthetic_series

CONFIG = TrainConfig(epochs=25, lr=3e-3, patience=10, quiet=True, device="cpu")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    x = synthetic_series(channels=2, n=4000, seed=1) * np.array([[5.0], [0.1]]) + np.array([[100.0], [-3.0]])
    fit = fit_model_on_series(x[:, :3000], model="conv1d", window=48, hop=12, params={"hidden": "16", "latent": 16},
                              normalize="zscore", sample_rate=100.0, config=CONFIG, columns=["a", "b"])
    path = tmp_path_factory.mktemp("fit") / "model.tsae"
    fit.save(path)
    return fit, load_model(path), x


def test_fit_result_and_model_file(fitted) -> None:
    fit, loaded, _ = fitted
    assert fit.frame == {"window": 48, "hop": 12, "window_fn": None}
    assert loaded.frame == fit.frame and loaded.sample_rate == 100.0
    assert loaded.normalizer.get("method", loaded.normalizer.get("kind")) == "zscore"
    assert loaded.extra["columns"] == ["a", "b"]
    assert loaded.extra["training"]["epochs_run"] == fit.train.epochs_run
    assert loaded.arrays["val_errors"].shape == (len(fit.train.val_indices),)
    assert loaded.hparams["hidden"] == 16  # "16" converted to the parameter's type


def test_reconstruct_series_keeps_shape_and_units(fitted) -> None:
    _, loaded, x = fitted
    held = x[:, 3000:3997]  # not a multiple of the hop: the end is padded, output cropped
    y = reconstruct_series(loaded, held)
    assert y.shape == held.shape and y.dtype == np.float64
    for channel in range(2):
        err = np.mean((y[channel] - held[channel]) ** 2)
        assert err < 0.1 * held[channel].var()


def test_reconstruct_one_channel_and_short_and_nan() -> None:
    x = synthetic_series(channels=1, n=1500, seed=2)[0]
    fit = fit_model_on_series(x, model="conv1d", window=32, hop=8, params={"hidden": 8, "latent": 8},
                              config=TrainConfig(epochs=2, quiet=True, device="cpu"))
    from tsae.models.modelfile import LoadedModel

    loaded = LoadedModel(model=fit.model, family="conv1d", plugin=None, plugin_version=None,
                         hparams=fit.model.hparams(), frame=fit.frame, normalizer=fit.normalizer.to_dict(),
                         sample_rate=None, tsae_version=None)
    assert reconstruct_series(loaded, x[:500]).shape == (500,)
    assert reconstruct_series(loaded, x[:10]).shape == (10,)  # shorter than one window
    gappy = x[:300].copy()
    gappy[50:80] = np.nan
    y = reconstruct_series(loaded, gappy)
    assert y.shape == (300,) and np.isfinite(y).all()
    codes = encode_series(loaded, x[:500])
    assert codes.shape == (1 + int(np.ceil((500 - 32) / 8)), 8) and codes.dtype == np.float32
    with pytest.raises(ValueError, match="channel"):
        reconstruct_series(loaded, np.zeros((2, 100)))


def test_multiple_series_and_robust_normalisation() -> None:
    a = synthetic_series(channels=2, n=800, seed=3)
    b = synthetic_series(channels=2, n=50, seed=4)  # shorter than the window: one padded window
    fit = fit_model_on_series([a, b], window=64, hop=16, normalize="robust", params={"hidden": 4, "latent": 4},
                              config=TrainConfig(epochs=1, quiet=True, device="cpu"))
    assert fit.n_windows == 1 + (800 - 64) // 16 + 1
    with pytest.raises(ValueError, match="same number of channels"):
        fit_model_on_series([a, a[:1]], window=16)
    with pytest.raises(ValueError, match="normalize"):
        fit_model_on_series(a, normalize="minmax")
    with pytest.raises(ValueError, match="unknown model family 'nope'"):
        fit_model_on_series(a, model="nope")
    with pytest.raises(ValueError, match="no finite values"):
        fit_model_on_series(np.full((1, 100), np.nan), window=16)


def test_train_files_from_folder(tmp_path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(2):
        x = synthetic_series(channels=2, n=600, seed=i)
        np.savetxt(folder / f"part{i}.csv", x.T, delimiter=",", header="a,b", comments="")
    (folder / "notes.md").write_text("ignored")
    out = tmp_path / "m.tsae"
    fit = train_files(folder, out, window=32, hop=16, params={"hidden": 4, "latent": 4},
                      config=TrainConfig(epochs=1, quiet=True, device="cpu"))
    assert out.exists() and fit.sources == ["part0.csv", "part1.csv"]
    assert load_model(out).extra["columns"] == ["a", "b"]
    with pytest.raises(ValueError, match="refusing to overwrite"):
        train_files(folder / "part0.csv", folder / "part0.csv", window=32)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no CSV"):
        train_files(empty, tmp_path / "x.tsae")


@pytest.mark.parametrize("window_fn", [None, "hann"])
def test_make_windows_subset_matches_full_framing(window_fn) -> None:
    from tsae.models.fit import make_windows

    a = synthetic_series(channels=2, n=300, seed=5)
    b = synthetic_series(channels=2, n=20, seed=6)  # shorter than the window
    full = make_windows([a, b], 32, 8, window_fn)
    assert full.shape == (1 + (300 - 32) // 8 + 1, 2, 32)
    subset = make_windows([a, b], 32, 8, window_fn, max_windows=10, seed=1)
    assert subset.shape == (10, 2, 32)
    for row in subset:  # every sampled window is one of the full set
        assert np.isclose(full, row, atol=1e-6).all(axis=(1, 2)).any()
