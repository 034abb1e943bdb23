"""Missing-value repair, Normalizer, detrend, resample: references, inverses, NaN edge cases."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from tsae.engine.preprocess import Normalizer, detrend, forward_fill, missing_mask, repair_missing, resample

PROPS = settings(max_examples=40, deadline=None)


# ----------------------------------------------------------------------------- repair_missing
def ref_repair(row: np.ndarray, method: str) -> np.ndarray:
    row = np.array(row, np.float64)
    bad = ~np.isfinite(row)
    if bad.all():
        return np.zeros_like(row)
    if not bad.any():
        return row
    good = np.flatnonzero(~bad)
    if method == "zero":
        row[bad] = 0.0
    elif method == "linear":
        row[bad] = np.interp(np.flatnonzero(bad), good, row[good])  # np.interp holds the edge values
    else:
        last = np.maximum.accumulate(np.where(bad, -1, np.arange(row.size)))
        row = np.where(last >= 0, row[np.maximum(last, 0)], row[good[0]])
    return row


@PROPS
@given(rows=st.integers(1, 4), n=st.integers(1, 120), p=st.floats(0, 1), method=st.sampled_from(["linear", "ffill",
       "zero"]), seed=st.integers(0, 2**16))
def test_repair_matches_reference(rows, n, p, method, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, n))
    x[rng.random((rows, n)) < p] = np.nan
    got = repair_missing(x, method=method)
    want = np.stack([ref_repair(r, method) for r in x])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got[np.isfinite(x)], x[np.isfinite(x)])  # valid samples untouched


def test_repair_edges_and_special_cases() -> None:
    nan = np.nan
    assert repair_missing([nan, nan, 2.0, nan, 4.0, nan]).tolist() == [2, 2, 2, 3, 4, 4]
    assert repair_missing([nan, 1.0, nan, 3.0], method="ffill").tolist() == [1, 1, 1, 3]
    assert repair_missing([nan, 1.0, nan], method="zero").tolist() == [0, 1, 0]
    assert repair_missing([[nan, nan, nan], [1.0, nan, 3.0]]).tolist() == [[0, 0, 0], [1, 2, 3]]
    assert repair_missing([nan]).tolist() == [0.0]
    assert repair_missing([5.0]).tolist() == [5.0]
    assert repair_missing(np.zeros((2, 0))).shape == (2, 0)
    assert repair_missing([1.0, np.inf, -np.inf, 4.0]).tolist() == [1, 2, 3, 4]  # inf counts as missing
    assert repair_missing(np.array([1, 2, 3])).dtype == np.float64
    f32 = repair_missing(np.array([1.0, nan, 3.0], np.float32))
    assert f32.dtype == np.float32 and f32.tolist() == [1, 2, 3]
    x = np.array([1.0, nan, 3.0])
    repair_missing(x)
    assert np.isnan(x[1])  # the input is never modified


def test_repair_max_gap_leaves_long_gaps() -> None:
    nan = np.nan
    y = repair_missing([1.0, nan, 3.0, nan, nan, nan, 7.0], max_gap=2)
    assert y[:3].tolist() == [1, 2, 3] and np.isnan(y[3:6]).all() and y[6] == 7
    assert repair_missing([nan, nan, 3.0], max_gap=2).tolist() == [3, 3, 3]
    assert np.isnan(repair_missing([nan, nan, 3.0], max_gap=1)[:2]).all()


def test_repair_multidimensional_and_mask() -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 50))
    x[..., 10:20] = np.nan
    y = repair_missing(x)
    assert y.shape == x.shape and np.isfinite(y).all()
    np.testing.assert_allclose(y[1, 2], ref_repair(x[1, 2], "linear"))
    assert missing_mask(x).sum() == 2 * 3 * 10
    assert missing_mask([1.0, np.inf]).tolist() == [False, True]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "cubic"}, "method must be one of .*got method='cubic'"),
        ({"max_gap": -1}, "max_gap must be >= 0, got max_gap=-1"),
        ({"max_gap": 2.5}, "max_gap must be an integer"),
        ({"x": np.ones(4, complex)}, "x must be a real numeric array"),
        ({"x": 3.0}, "0-d"),
    ],
)
def test_repair_errors(kwargs, message) -> None:
    x = kwargs.pop("x", np.ones(4))
    with pytest.raises(ValueError, match=message):
        repair_missing(x, **kwargs)


# ----------------------------------------------------------------------------- Normalizer
@PROPS
@given(channels=st.integers(1, 4), n=st.integers(1, 200), method=st.sampled_from(["zscore", "robust"]),
       scale=st.floats(1e-3, 1e3), offset=st.floats(-1e3, 1e3), seed=st.integers(0, 2**16))
def test_normalizer_round_trip(channels, n, method, scale, offset, seed) -> None:
    x = np.random.default_rng(seed).standard_normal((channels, n)) * scale + offset
    norm = Normalizer(method)
    z = norm.fit_transform(x)
    assert np.isfinite(z).all() and (norm.scale > 0).all()
    np.testing.assert_allclose(norm.inverse_transform(z), x, rtol=1e-9, atol=1e-9 * (abs(offset) + scale))
    restored = Normalizer.from_dict(json.loads(json.dumps(norm.to_dict())))
    np.testing.assert_array_equal(restored.transform(x), z)


def test_normalizer_statistics() -> None:
    rng = np.random.default_rng(1)
    x = np.stack([rng.normal(5, 2, 20000), np.full(20000, 3.0), rng.normal(-1, 0.5, 20000)])
    z = Normalizer("zscore").fit(x)
    np.testing.assert_allclose(z.center, x.mean(axis=1))
    np.testing.assert_allclose(z.scale, [x[0].std(), 1.0, x[2].std()])  # constant channel: scale 1
    r = Normalizer("robust").fit(x)
    np.testing.assert_allclose(r.center, np.median(x, axis=1))
    np.testing.assert_allclose(r.scale, [2, 1, 0.5], rtol=0.05)  # IQR / 1.349 estimates the std
    outliers = x.copy()
    outliers[0, :100] = 1e6
    assert abs(Normalizer("robust").fit(outliers).scale[0] - r.scale[0]) < 0.1


def test_normalizer_nan_aware_and_shapes() -> None:
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    norm = Normalizer().fit(x)
    assert norm.center.tolist() == [2.0, 0.0] and norm.scale.tolist() == [1.0, 1.0]
    z = norm.transform(x)
    assert np.isnan(z[0, 1]) and z[0, 0] == -1.0
    mono = Normalizer().fit(np.array([1.0, 2.0, 3.0], np.float32))
    assert mono.n_channels == 1 and mono.transform(np.array([2.0], np.float32)).dtype == np.float32
    windows = np.random.default_rng(2).standard_normal((10, 3, 32)) + np.array([0, 10, 20])[:, None]
    batch = Normalizer().fit(windows)  # (batch, channels, n): statistics pool the batch axis
    np.testing.assert_allclose(batch.center, windows.transpose(1, 0, 2).reshape(3, -1).mean(axis=1))
    assert batch.transform(windows).shape == windows.shape


def test_normalizer_errors_and_dicts() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        Normalizer("minmax")
    with pytest.raises(RuntimeError, match="not fitted"):
        Normalizer().transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match="x has 3 channels .* fitted on 2"):
        Normalizer().fit(np.ones((2, 5))).transform(np.ones((3, 5)))
    legacy = Normalizer.from_dict({"kind": "robust", "center": [1.0], "scale": [2.0]})
    assert legacy.method == "robust" and legacy.transform(np.array([[3.0]])).tolist() == [[1.0]]
    with pytest.raises(ValueError, match="scale finite and positive"):
        Normalizer.from_dict({"method": "zscore", "center": [0.0], "scale": [0.0]})
    with pytest.raises(ValueError, match="needs 'method', 'center' and 'scale'"):
        Normalizer.from_dict({"method": "zscore"})
    assert "not fitted" in repr(Normalizer())


# ----------------------------------------------------------------------------- detrend
@PROPS
@given(lead=st.sampled_from([(), (3,)]), n=st.integers(1, 200), kind=st.sampled_from(["linear", "constant"]),
       slope=st.floats(-10, 10), seed=st.integers(0, 2**16), f32=st.booleans())
def test_detrend_trend_adds_back(lead, n, kind, slope, seed, f32) -> None:
    x = np.random.default_rng(seed).standard_normal(lead + (n,)) + slope * np.arange(n)
    x = x.astype(np.float32 if f32 else np.float64)
    y, trend = detrend(x, kind, return_trend=True)
    assert y.dtype == x.dtype and trend.shape == x.shape
    tol = 1e-4 * (1 + abs(slope) * n) if f32 else 1e-9 * (1 + abs(slope) * n)
    np.testing.assert_allclose(y + trend, x, rtol=0, atol=tol)
    np.testing.assert_allclose(y, scipy.signal.detrend(x.astype(np.float64), type=kind), rtol=0, atol=tol)


def test_detrend_special_cases() -> None:
    np.testing.assert_allclose(detrend(3.0 * np.arange(10) + 1.0), 0.0, atol=1e-12)
    assert detrend([4.0]).tolist() == [0.0]
    y, trend = detrend([1.0, np.nan, 3.0, 4.0], return_trend=True)
    assert np.isnan(y[1]) and np.isfinite(trend).all()
    np.testing.assert_allclose(trend, [1.0, 2.0, 3.0, 4.0])  # the line through the valid samples
    np.testing.assert_allclose(detrend(np.full(5, np.nan), return_trend=True)[1], 0.0)
    with pytest.raises(ValueError, match="kind must be 'linear' or 'constant', got kind='quadratic'"):
        detrend(np.ones(4), "quadratic")


# ----------------------------------------------------------------------------- resample
def test_resample_matches_soxr_per_channel() -> None:
    soxr = pytest.importorskip("soxr")
    t = np.arange(48000) / 48000
    x = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 1000 * t)]).astype(np.float32)
    y = resample(x, 48000, 16000)
    assert y.shape == (2, 16000) and y.dtype == np.float32
    np.testing.assert_allclose(y[1], soxr.resample(x[1], 48000, 16000, quality="HQ"), atol=1e-6)
    ref = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    assert np.abs(y[0, 500:-500] - ref[500:-500]).max() < 1e-3


def test_resample_identity_shapes_and_errors() -> None:
    x = np.random.default_rng(0).standard_normal((2, 2, 100))
    same = resample(x, 8000, 8000)
    assert same is not x and np.array_equal(same, x)
    assert resample(x, 8000, 4000).shape == (2, 2, 50)
    assert resample(np.arange(100), 100, 200).shape == (200,)
    assert resample(np.zeros((3, 0)), 100, 200).shape == (3, 0)
    with pytest.raises(ValueError, match="orig_sr must be a positive number, got orig_sr=0"):
        resample(x, 0, 100)
    with pytest.raises(ValueError, match="target_sr must be a positive number"):
        resample(x, 100, -5)
    with pytest.raises(ValueError, match="quality must be one of"):
        resample(x, 100, 200, quality="best")


def test_repair_can_refuse_an_empty_channel() -> None:
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.inf, np.nan]])
    np.testing.assert_array_equal(repair_missing(x)[1], 0.0)
    with pytest.raises(ValueError, match="a channel has no finite values"):
        repair_missing(x, empty="raise")
    np.testing.assert_array_equal(repair_missing(x[:1], empty="raise"), [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="empty must be"):
        repair_missing(x, empty="nan")


def test_forward_fill_carries_across_chunks() -> None:
    x = np.array([[np.nan, 2.0, np.nan], [1.0, np.nan, np.inf]])  # (channels, n)
    out, carry, repaired = forward_fill(x, np.array([9.0, 8.0]))
    np.testing.assert_array_equal(out, [[9, 2, 2], [1, 1, 1]])
    np.testing.assert_array_equal(carry, [2, 1])
    assert repaired == 4
    clean, carry2, none = forward_fill(np.ones((2, 2)), carry)
    assert none == 0 and carry2.tolist() == [1.0, 1.0] and clean is not None
    # chunked == whole: the carry is all that streaming needs
    rng = np.random.default_rng(0)
    y = rng.normal(size=(3, 200))
    y[rng.random(y.shape) < 0.3] = np.nan
    whole, _, n_whole = forward_fill(y, np.zeros(3))
    parts, c, n_parts = [], np.zeros(3), 0
    for a in range(0, 200, 17):
        part, c, k = forward_fill(y[:, a:a + 17], c)
        parts.append(part)
        n_parts += k
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    assert n_parts == n_whole == int(np.isnan(y).sum())
    with pytest.raises(ValueError, match="carry"):
        forward_fill(y, np.zeros(2))


def test_statistics_of_values_near_float64s_limit_do_not_overflow() -> None:
    """np.std squares its values: 1e155 gives inf. Dividing by a power of two first is exact."""
    import warnings

    from tsae.engine.preprocess import Normalizer, as_float32, spread

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 500))
    np.testing.assert_array_equal(spread(x), np.std(x, axis=1, keepdims=True))  # to the last bit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = spread(x * 1e300)
        norm = Normalizer().fit(x * 1e300)
        z = norm.transform(x * 1e300)
    np.testing.assert_allclose(big[:, 0], np.std(x, axis=1) * 1e300, rtol=1e-12)
    np.testing.assert_allclose(z, Normalizer().fit(x).transform(x), rtol=1e-9, atol=1e-9)
    with_nan = x.copy()
    with_nan[0, :10] = np.nan
    np.testing.assert_array_equal(Normalizer().fit(with_nan).scale, np.nanstd(with_nan, axis=1))
    with pytest.raises(ValueError, match="values holds values of magnitude up to 1e\\+39 after normalisation"):
        as_float32(np.array([1.0, 1e39]), "values")


def test_smooth_and_impute_handle_huge_finite_values() -> None:
    import warnings

    import tsae

    t = np.sin(np.arange(400) / 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for scale in (1e154, 1e300):
            smoothed = tsae.smooth(t * scale, steps=3)
            gappy = t * scale
            gappy[100:110] = np.nan
            filled = tsae.impute(gappy)
            assert np.isfinite(smoothed).all() and np.isfinite(filled).all()
            np.testing.assert_allclose(filled[100:110] / scale, tsae.impute(gappy / scale)[100:110], atol=1e-6)


def test_the_unit_of_values_near_float64s_limit_is_finite() -> None:
    # 2 ** ceil(log2(1e308)) is 2**1024: inf, and every spread NaN (impute left its gaps NaN and said "filled")
    from tsae.engine.preprocess import power_of_two_unit, spread

    x = np.array([[1e308, 1.0, 2.0], [1.7e308, -1.7e308, 0.0]])
    assert np.isfinite(power_of_two_unit(x)).all()
    np.testing.assert_allclose(spread(x)[:, 0], [np.std([1.0, 1e-308, 2e-308]) * 1e308, np.std([1.7, -1.7, 0]) * 1e308])


def test_impute_fills_gaps_beside_a_value_near_float64s_limit() -> None:
    import tsae

    x = np.sin(np.arange(2000) * 2 * np.pi / 50)
    x[5] = 1e308
    x[700:720] = np.nan
    filled = tsae.impute(x)
    assert np.isfinite(filled[700:720]).all() and filled[5] == 1e308


def test_a_dataframe_date_or_text_column_is_named_not_read_as_a_channel() -> None:
    # tsae.smooth(df) smoothed a datetime column as a channel of nanosecond counts
    pd = pytest.importorskip("pandas")
    from tsae.engine.layout import as_channels_first

    frame = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=5, freq="s"), "a": np.arange(5.0)})
    with pytest.raises(ValueError, match=r"column 'time' holds dates or times, not values: make it the index"):
        as_channels_first(frame)
    assert as_channels_first(frame.set_index("time"))[0].shape == (1, 5)
    with pytest.raises(ValueError, match=r"column 'b' is not numeric"):
        as_channels_first(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
