"""compress_series / decompress_series: every finite sample within the bound, non-finite ones exact."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from tsae.pipelines.compress import compress_series, decompress_series

from compress_helpers import walk


def assert_within(x, y, bound) -> None:
    assert y.shape == x.shape
    finite = np.isfinite(x)
    error = np.where(finite, np.abs(np.where(finite, x, 0) - np.where(finite, y, 0)), 0)
    assert (error <= np.reshape(bound, (-1, 1))).all(), error.max(axis=1)
    np.testing.assert_array_equal(x[~finite], y[~finite])  # NaN == NaN, inf == inf (positions and kinds)


@pytest.mark.parametrize("bound", [1e-1, 1e-3])
@pytest.mark.parametrize("model", ["conv_model", "vq_model"])
def test_random_series_round_trips_within_the_bound(request, model, bound):
    m = request.getfixturevalue(model)
    x = walk(700, seed=3)
    y = decompress_series(compress_series(m, x, max_error=bound, block_windows=8), m)
    assert_within(x, y, bound)
    assert np.abs(x - y).max() > bound / 10  # lossy: the bound is used, not ignored


def test_a_tighter_bound_costs_more_bytes(conv_model):
    x = walk(2000)
    sizes = [len(compress_series(conv_model, x, max_error=e)) for e in (1e-1, 1e-2, 1e-3)]
    assert sizes[0] < sizes[1] < sizes[2]
    assert sizes[0] * 8 / x.size < 8  # far below 64-bit floats


def test_relative_bounds_are_per_channel(conv_model):
    x = walk(500) * np.array([[1.0], [1000.0]])
    data = compress_series(conv_model, x, max_error=1e-3, relative=True)
    span = x.max(axis=1) - x.min(axis=1)
    assert_within(x, decompress_series(data, conv_model), 1e-3 * span)


def test_constant_series(conv_model, vq_model):
    for value in (0.0, 5.0, -1e6):
        x = np.full((2, 100), value)
        for model in (conv_model, vq_model):
            y = decompress_series(compress_series(model, x, max_error=1e-3, relative=True), model)
            assert_within(x, y, 1e-3 * max(abs(value), 1.0))


def test_nan_and_inf_are_kept_exactly(conv_model, vq_model):
    x = walk(300)
    x[0, 5:40] = np.nan
    x[1, 0] = np.nan
    x[1, 100] = np.inf
    x[0, 299] = -np.inf
    for model in (conv_model, vq_model):
        y = decompress_series(compress_series(model, x, max_error=0.05, block_windows=4), model)
        assert_within(x, y, 0.05)


def test_an_all_nan_channel(conv_model):
    x = walk(64)
    x[1] = np.nan
    assert_within(x, decompress_series(compress_series(conv_model, x, max_error=0.01, relative=True), conv_model),
                  0.01 * np.ptp(x[0]))


@pytest.mark.parametrize("n", [2, 15, 16, 17])
def test_tiny_series(conv_model, vq_model, n):
    x = walk(n, seed=n)
    for model in (conv_model, vq_model):
        y = decompress_series(compress_series(model, x, max_error=1e-3), model)
        assert_within(x, y, 1e-3)


@pytest.fixture(scope="module")
def mono():
    from tsae.plugins import create_model

    from compress_helpers import loaded

    return loaded(create_model("conv1d", 1, 16, depth=1, hidden=4, latent=2))


def test_one_sample(mono):
    y = decompress_series(compress_series(mono, np.array([3.25]), max_error=1e-3), mono)
    assert y.shape == (1, 1) and abs(y[0, 0] - 3.25) <= 1e-3


def test_one_channel_array_and_blocks_of_any_size(mono):
    x = np.sin(np.arange(200) / 7.0)
    for block_windows in (1, 5, 100):
        y = decompress_series(compress_series(mono, x, max_error=1e-4, block_windows=block_windows), mono)
        assert_within(x[None], y, 1e-4)


def test_without_a_bound_the_codes_alone_reconstruct(vq_model):
    x = np.repeat(np.array([[-1.0, 0.5], [2.0, 0.0]]), 32, axis=1)  # on the fake codebook's levels
    data = compress_series(vq_model, x)
    np.testing.assert_allclose(decompress_series(data, vq_model), x)
    assert len(data) < 400


def test_a_bound_too_small_for_the_magnitude_is_refused(conv_model):
    with pytest.raises(ValueError, match="too small"):
        compress_series(conv_model, walk(50) + 1e12, max_error=1e-6)


def test_a_tiny_latent_step_keeps_the_codes(conv_model):
    # before: a step of 1e-300 put every quantised code on the +-2**52 clip, and the series came back as the
    # decoding of nonsense codes (as with a step of 1e300: all codes 0), far worse than the default step's
    x = walk(640)
    fine = decompress_series(compress_series(conv_model, x, latent_step=1e-6), conv_model)
    for tiny in (1e-12, 1e-300, 5e-324):
        np.testing.assert_allclose(decompress_series(compress_series(conv_model, x, latent_step=tiny), conv_model),
                                   fine, rtol=0, atol=1e-5)


def test_bad_arguments(conv_model):
    with pytest.raises(ValueError, match="max_error"):
        compress_series(conv_model, walk(50), max_error=-1.0)
    with pytest.raises(ValueError, match="channel"):
        compress_series(conv_model, np.zeros((3, 50)), max_error=1.0)
    with pytest.raises(ValueError, match="coder"):
        compress_series(conv_model, walk(50), coder="brotli")


def levels(n: int) -> np.ndarray:
    """Two channels stepping between the fake VQ model's levels, plus a little noise."""
    rng = np.random.default_rng(5)
    steps = np.repeat(rng.integers(0, 9, size=(2, n // 16)) * 0.5 - 2.0, 16, axis=1)
    return steps + 0.01 * rng.standard_normal(steps.shape)


def test_a_model_that_predicts_well_is_used_and_pays(vq_model):
    import io

    from tsae.pipelines.compress.container import Reader
    from tsae.pipelines.compress.residual import MODEL

    from compress_helpers import FakeVQ, loaded

    x = levels(1600)
    good = compress_series(vq_model, x, max_error=1e-3)
    assert_within(x, decompress_series(good, vq_model), 1e-3)
    modes = np.concatenate([b.arrays["predictor"] for b in Reader(io.BytesIO(good), "m").blocks()])
    assert (modes == MODEL).all()
    useless = FakeVQ(2, 16)
    with torch.no_grad():
        useless.levels.zero_()  # predicts zeros: coding without the model wins, and the codes are left out
    bad = compress_series(loaded(useless), x, max_error=1e-3)
    blocks = list(Reader(io.BytesIO(bad), "m").blocks())
    assert all("codes" not in b.arrays for b in blocks)
    assert len(good) < 0.9 * len(bad)


def test_another_model_fails_the_check(vq_model):
    from compress_helpers import FakeVQ, loaded

    data = compress_series(vq_model, levels(320), max_error=1e-3)
    other = FakeVQ(2, 16)
    with torch.no_grad():
        other.levels += 0.1
    with pytest.raises(ValueError, match="differ from the ones checked"):
        decompress_series(data, loaded(other), name="x.tsz")


@pytest.mark.parametrize("family", ["vqvae", "dense"])
def test_registered_families_round_trip(family):
    import io

    from tsae import plugins
    from tsae.pipelines.compress.container import Reader

    from compress_helpers import loaded

    if family not in plugins.model_families():
        pytest.skip(f"{family} is not installed")
    torch.manual_seed(0)
    model = loaded(plugins.create_model(family, 2, 16))
    x = walk(300, seed=11)
    x[0, 7] = np.nan
    data = compress_series(model, x, max_error=1e-2)
    assert_within(x, decompress_series(data, model), 1e-2)
    header = Reader(io.BytesIO(data), "m").header
    assert header["codes"] == ("vq" if family == "vqvae" else "uniform")


def test_a_wrong_channel_count_is_told_as_reconstruct_tells_it(conv_model):
    from tsae.pipelines.reconstruct import reconstruct_series

    # before: compress "values have 3 channel(s), but the model ...", reconstruct "values has 3 channel(s) but ...":
    # two copies of one rule
    with pytest.raises(ValueError) as told:
        reconstruct_series(conv_model, np.zeros((3, 50)))
    with pytest.raises(ValueError, match=f"^{re.escape(str(told.value))}$"):
        compress_series(conv_model, np.zeros((3, 50)), max_error=1.0)
    assert str(told.value) == "values has 3 channel(s) but the model was trained on 2"
