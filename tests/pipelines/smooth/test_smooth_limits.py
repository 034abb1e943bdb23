"""smooth and impute at the limits: values near float64's largest, huge glitches, refills that never settle.

Each test names what happened before: overflow warnings and inf/NaN from finite input, a
glitch that spoiled the rest of its channel, or an impute that could run for ever.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tsae.pipelines.smooth import imputer
from tsae.pipelines.smooth.files import smooth_file
from tsae.pipelines.smooth.imputer import MAX_ITERATIONS, impute
from tsae.pipelines.smooth.smoother import smooth

#: dividing by a power of two is exact: smoothing ``x * DOWN`` and scaling back is the answer for ``x``
DOWN = 2.0**-1000
EXTREMES = np.array([1.7e308, -1.7e308, 1e308, -1e308, 0.0, 1.7e308, -1.7e308, 1e308, 5e307, -5e307])


def no_warnings(call):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return call()


def near_the_limit() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(1500)
    return {
        "sine_1e307": 1e307 * np.sin(t / 10) + 1e306 * rng.normal(size=t.size),
        "sine_1.7e308": 1.7e308 * np.sin(t / 10),
        "extremes_halved": np.tile(EXTREMES, 3) / 2,
        "extremes": EXTREMES,
        "extremes_x3": np.tile(EXTREMES, 3),
        "two_channels": np.stack([1.7e308 * np.sin(t / 10), np.sin(t / 10) + 0.1 * rng.normal(size=t.size)]),
    }


@pytest.mark.parametrize("name", [name for name in near_the_limit() if name != "extremes_x3"])  # see below
@pytest.mark.parametrize("steps", [0, 3])
def test_smooth_near_float64s_limit_is_the_answer_scaled_down_and_back(name, steps) -> None:
    # before: "overflow encountered in subtract" (glitch bounds, centring) and inf/NaN in the output
    x = near_the_limit()[name]
    out = no_warnings(lambda: smooth(x, steps=steps))
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, smooth(x * DOWN, steps=steps) / DOWN)


def test_a_smoothed_series_beyond_float64s_range_is_one_line_error() -> None:
    # this series smoothed (as its scaled-down copy shows) overshoots 1.8e308: before, inf and warnings
    x = near_the_limit()["extremes_x3"]
    with np.errstate(over="ignore"):
        assert not np.isfinite(smooth(x * DOWN, steps=0) / DOWN).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^the smoothed series goes beyond float64's range \(the input's "
                                             r"values reach 1\.7e\+308\): scale it down first$"):
            smooth(x, steps=0)


@pytest.mark.parametrize("glitch", [1e10, 1e200, 1.7e308, -1.7e308])
def test_a_huge_glitch_neither_overflows_nor_spoils_the_rest_of_its_channel(glitch) -> None:
    # before: its squared residual overflowed (warnings), and the running sum of the edge guard carried
    # it into every later window: the rest of the channel moved by up to 0.3 (1e10) or 1.1 (1e200)
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(3000) / 10) + 0.1 * rng.normal(size=3000)
    x[2000:2100] += 3  # a step after the glitch: the edge guard must still see it
    clean = smooth(x, steps=0)
    x[1500] = glitch
    out = no_warnings(lambda: smooth(x, steps=0))
    assert out[1500] == glitch and np.isfinite(out).all()
    away = np.r_[0:1490, 1511:3000]
    np.testing.assert_allclose(out[away], clean[away], atol=0.01)


@pytest.mark.parametrize("name", ["sine_1e307", "sine_1.7e308", "extremes_halved", "extremes_x3", "two_channels"])
def test_impute_near_float64s_limit_is_the_answer_scaled_down_and_back(name) -> None:
    # before: "overflow encountered in subtract" in the glitch bounds and the centring
    x = near_the_limit()[name].copy()
    x[..., [2, 3, 7]] = np.nan
    out = no_warnings(lambda: impute(x))
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, impute(x * DOWN) / DOWN)


def test_a_fill_beyond_float64s_range_is_one_line_error() -> None:
    x = EXTREMES.copy()
    x[[2, 3, 7]] = np.nan
    with np.errstate(over="ignore"):  # the fill of sample 2, scaled back, is beyond 1.8e308
        assert not np.isfinite(impute(x * DOWN) / DOWN).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^the filled gaps go beyond float64's range \(the observed values "
                                             r"reach 1\.7e\+308\): scale the series down first$"):
            impute(x)


def test_a_long_file_near_float64s_limit_is_smoothed_in_blocks_as_scaled_down(tmp_path) -> None:
    x = near_the_limit()["sine_1e307"][None].repeat(2, axis=0)
    np.save(tmp_path / "big.npy", x)
    np.save(tmp_path / "small.npy", x * DOWN)
    no_warnings(lambda: smooth_file(tmp_path / "big.npy", tmp_path / "big.out.npy", block=512, steps=0, quiet=True))
    smooth_file(tmp_path / "small.npy", tmp_path / "small.out.npy", block=512, steps=0, quiet=True)
    out = np.load(tmp_path / "big.out.npy")
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, np.load(tmp_path / "small.out.npy") / DOWN)


# ----------------------------------------------------------------------------- refills that never settle
@pytest.fixture()
def flipping_model(monkeypatch):
    """A 'model' whose reconstruction is minus its input: the refills flip sign for ever, never settling.

    It counts its passes and stops the test past :data:`MAX_ITERATIONS` (without the cap, it ran for ever).
    """
    import tsae.models.modelfile as modelfile
    import tsae.pipelines.reconstruct.series as series

    passes = []

    def reconstruct_series(loaded, values, **options):  # type: ignore[no-untyped-def]
        passes.append(1)
        if len(passes) > MAX_ITERATIONS:
            raise AssertionError(f"more than {MAX_ITERATIONS} refills")
        return -np.asarray(values, dtype=np.float64)

    monkeypatch.setattr(modelfile, "as_loaded", lambda model, device=None: model)
    monkeypatch.setattr(series, "reconstruct_series", reconstruct_series)
    return passes


def test_impute_refuses_more_refills_than_its_maximum(flipping_model) -> None:
    x = np.sin(np.arange(80) / 3)
    x[30:34] = np.nan
    for iterations in (10**30, MAX_ITERATIONS + 1):
        with pytest.raises(ValueError, match=rf"^iterations must be at most {MAX_ITERATIONS} \(each is a pass of "
                                             rf"the series through the model\), got {iterations}$"):
            impute(x, model=object(), iterations=iterations)
    assert not flipping_model  # refused before any pass
    out = impute(x, model=object(), iterations=MAX_ITERATIONS)
    assert len(flipping_model) == MAX_ITERATIONS and np.isfinite(out).all()
    assert imputer.MAX_ITERATIONS == 1000  # documented in impute's docstring
