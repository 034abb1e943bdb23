"""Normalizer.transform / inverse_transform near float64's limit, and results beyond a float's range.

Before: ``x - center`` overflowed for values of both signs near 1.7e308 ("overflow encountered
in subtract", inf in the output) although the normalised values are small; a result beyond
float64's (or a float32 input's float32) range came back inf, with only a numpy warning.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tsae.engine.preprocess import Normalizer, denormalise, normalise

DOWN = 2.0**-1000  # exact: the statistics and the normalised values of x * DOWN are those of x, scaled
EXTREMES = np.array([1.7e308, -1.7e308, 1e308, -1e308, 0.0, 1.7e308, -1.7e308, 1e308, 5e307, -5e307])


def series() -> dict[str, np.ndarray]:
    t = np.arange(2000)
    return {
        "extremes": np.tile(EXTREMES, 3),
        "sine_1e307": 1e307 * np.sin(t / 10),
        "two_channels": np.stack([1.7e308 * np.sin(t / 10), np.where(t % 2, 1e308, -1e308)]),
    }


@pytest.mark.parametrize("method", ["zscore", "robust"])
@pytest.mark.parametrize("name", list(series()))
def test_transform_near_float64s_limit_is_the_answer_scaled_down(method, name) -> None:
    x = series()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        norm = Normalizer(method).fit(x)
        z = norm.transform(x)
        back = norm.inverse_transform(z)
    assert np.isfinite(z).all() and np.isfinite(back).all()
    np.testing.assert_array_equal(z, Normalizer(method).fit(x * DOWN).transform(x * DOWN))
    np.testing.assert_allclose(back, x, rtol=1e-12, atol=1e-12 * float(np.max(np.abs(x))))


def test_ordinary_values_are_normalised_as_before_to_the_last_bit() -> None:
    x = np.random.default_rng(0).normal(size=(3, 500)) * [[1.0], [1e3], [1e-3]] + [[5.0], [-2.0], [0.0]]
    norm = Normalizer().fit(x)
    center, scale = norm.center[:, None], norm.scale[:, None]
    np.testing.assert_array_equal(norm.transform(x), (x - center) / scale)
    np.testing.assert_array_equal(norm.inverse_transform(x), x * scale + center)


def test_the_helpers_compute_only_what_overflowed_on_quarters() -> None:
    assert normalise(np.array([1.7e308]), -1.7e308, 1.7e308)[0] == 2.0
    assert denormalise(np.array([2.0]), -1.7e308, 1.7e308)[0] == 1.7e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(normalise(np.array([1e300]), 0.0, 1e-300)).all()  # beyond float64: inf, told by the caller


@pytest.mark.parametrize("inverse,scale,message", [
    (False, 1e-300, r"\(x - center\) / scale is beyond float64's range"),
    (True, 1e300, r"x \* scale \+ center is beyond float64's range"),
])
def test_a_result_beyond_float64s_range_is_one_line_error(inverse, scale, message) -> None:
    # before: inf, with "overflow encountered in divide" (or multiply)
    norm = Normalizer.from_dict({"method": "zscore", "center": [0.0], "scale": [scale]})
    call = norm.inverse_transform if inverse else norm.transform
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^x holds values \(of magnitude up to 1e\+10\) whose " + message + "$"):
            call(np.array([1e10, 1.0]))


def test_a_float32_result_beyond_float32s_range_is_one_line_error() -> None:
    # before: inf, with "overflow encountered in cast"; float32 input stays float32
    norm = Normalizer.from_dict({"method": "zscore", "center": [-3e38], "scale": [1.0]})
    x = np.array([3e38, 1.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^x holds values \(of magnitude up to 3e\+38\) whose \(x - center\) / "
                                             r"scale is beyond float32's range$"):
            norm.transform(x)
        assert norm.transform(np.array([1.0, -1e38], dtype=np.float32)).dtype == np.float32


def test_a_robust_scale_beyond_float64s_range_is_one_line_error() -> None:
    # before: (q3 - q1) / 1.349 of +-1.7e308 overflowed and the scale became 1: the "normalised" values were +-1.7e308
    x = np.stack([np.sin(np.arange(100.0)), np.where(np.arange(100) % 2, 1.7e308, -1.7e308)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^x: the robust scale of channel 1 is beyond float64's range \(its "
                                             r"values reach 1\.7e\+308\): scale x down first$"):
            Normalizer("robust").fit(x)
        np.testing.assert_allclose(Normalizer("zscore").fit(x).scale[1], 1.7e308)  # the std is representable


def test_a_spread_below_float32s_smallest_normal_counts_as_none() -> None:
    # before: a channel of magnitude 1e-200 kept scale ~1e-200, which model and detector files now refuse (a
    # series divided by it overflows): it is a constant channel's unit scale, as below float64's smallest normal
    from tsae.engine.preprocess import Normalizer

    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(size=200), rng.normal(size=200) * 1e-200, rng.normal(size=200) * 1e-30])
    scale = Normalizer().fit(x).scale
    assert scale is not None and scale[1] == 1.0 and scale[0] != 1.0 and 0 < scale[2] < 1e-29
