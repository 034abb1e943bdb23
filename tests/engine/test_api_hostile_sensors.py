"""A hostile caller of the sensor APIs (engine preprocessing, smooth/impute, reconstruct, Monitor).

Each test names what happened before: a raw traceback from numpy, numba, soxr or torch, a
silently wrong result, or a message that misled. Now each is a right answer or one line
naming the argument.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import tsae
from tsae.engine import (
    Normalizer,
    detrend,
    forward_fill,
    known_layout,
    missing_mask,
    num_frames,
    repair_missing,
    resample,
    window_array,
)
from tsae.engine.layout import as_channels_first
from tsae.errors import NamedMemoryError, NotFittedError

_ENGINE_CALLS = {
    "missing_mask": missing_mask,
    "repair_missing": repair_missing,
    "detrend": detrend,
    "Normalizer.fit": lambda x: Normalizer().fit(x),
    "resample": lambda x: resample(x, 2, 1),
}


# ----------------------------------------------------------------------------- engine: what x can be
@pytest.mark.parametrize("call", _ENGINE_CALLS.values(), ids=list(_ENGINE_CALLS))
def test_none_is_named_by_the_preprocessing_functions(call) -> None:
    # before: "x must be a real numeric array (bool, int or float), got dtype object"
    with pytest.raises(TypeError, match=r"^x is required, got None$"):
        call(None)


@pytest.mark.parametrize("call", _ENGINE_CALLS.values(), ids=list(_ENGINE_CALLS))
def test_a_tensor_that_requires_grad_is_taken(call) -> None:
    # before: torch's RuntimeError "Can't call numpy() on Tensor that requires grad"
    x = np.sin(np.arange(40) / 3)
    got, want = call(torch.tensor(x, requires_grad=True)), call(x)
    if isinstance(want, Normalizer):
        got, want = got.scale, want.scale
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("call", _ENGINE_CALLS.values(), ids=list(_ENGINE_CALLS))
def test_a_ragged_list_is_named_by_the_preprocessing_functions(call) -> None:
    # before: numpy's "setting an array element with a sequence..." naming nothing
    with pytest.raises(ValueError, match=r"^x: setting an array element with a sequence"):
        call([[1.0, 2.0], [3.0]])


def _table() -> tuple[pd.DataFrame, np.ndarray]:
    values = np.array([[1.0, np.nan, 3.0, 4.0, 5.0], [10.0, 20.0, 30.0, np.nan, 50.0]])
    return pd.DataFrame(values.T, columns=["a", "b"]), values


def test_a_dataframe_is_preprocessed_along_its_rows() -> None:
    # before: a DataFrame's rows were taken as channels: repair_missing interpolated across the
    # sensors (row 1 of a=[1, nan, 3], b=[10, 20, 30] became 20, not 2), detrend fitted a line
    # across them, resample resampled each time step's sensors
    table, values = _table()
    np.testing.assert_array_equal(missing_mask(table), missing_mask(values))
    np.testing.assert_array_equal(repair_missing(table), repair_missing(values))
    np.testing.assert_array_equal(detrend(repair_missing(table)), detrend(repair_missing(values)))
    np.testing.assert_array_equal(resample(table.fillna(0.0), 5, 2), resample(np.nan_to_num(values), 5, 2))
    np.testing.assert_array_equal(Normalizer().fit(table).scale, Normalizer().fit(values).scale)
    filled, carry, repaired = forward_fill(table, [0.0, 0.0])
    np.testing.assert_array_equal(filled, [[1.0, 1.0, 3.0, 4.0, 5.0], [10.0, 20.0, 30.0, 30.0, 50.0]])
    assert repaired == 2


def test_known_layout_turns_a_dataframe_around() -> None:
    # before: known_layout(df) kept (n, columns), read as n channels of one sample each
    table, values = _table()
    np.testing.assert_array_equal(as_channels_first(known_layout(table))[0], values)


# ----------------------------------------------------------------------------- engine: options
def test_a_method_that_is_no_text_is_named() -> None:
    # before: TypeError "unhashable type: 'list'"
    with pytest.raises(ValueError, match=r"^method must be one of \('linear', 'ffill', 'zero'\), got method=\["):
        repair_missing([1.0, np.nan, 3.0], method=["linear"])


def test_a_huge_max_gap_fills_every_gap() -> None:
    # before: numba's TypingError "non-precise type pyobject" (an int beyond int64)
    x = np.array([[1.0, np.nan, np.nan, 4.0], [np.nan] * 4])
    np.testing.assert_array_equal(repair_missing(x, max_gap=10**30), repair_missing(x))


def test_forward_fill_checks_its_carry() -> None:
    # before: None was a carry of NaN; text and complex numbers were numpy's and Python's errors
    chunk = np.array([[np.nan, 1.0]])
    with pytest.raises(TypeError, match=r"^carry is required, got None$"):
        forward_fill(chunk, None)
    with pytest.raises(ValueError, match=r"^carry must hold real numbers"):
        forward_fill(chunk, ["a"])
    with pytest.raises(ValueError, match=r"^carry must hold real numbers"):
        forward_fill(chunk, [1j])


def test_forward_fill_never_hands_back_the_callers_arrays() -> None:
    # before: a chunk without gaps came back as the caller's own array (and an empty chunk's carry)
    chunk, carry = np.array([[1.0, 2.0]]), np.array([5.0])
    filled, _, _ = forward_fill(chunk, carry)
    assert not np.shares_memory(filled, chunk)
    _, kept, _ = forward_fill(np.zeros((1, 0)), carry)
    assert not np.shares_memory(kept, carry)


def test_a_normaliser_fitted_on_no_channels_is_refused() -> None:
    # before: numpy's "cannot reshape array of size 0 into shape (0,newaxis)"
    with pytest.raises(ValueError, match=r"^x has no channels"):
        Normalizer().fit(np.zeros((0, 5)))


def test_resample_rates_and_ratios_are_checked() -> None:
    x = np.sin(np.arange(50) / 3)
    # before: OverflowError "int too large to convert to float"
    with pytest.raises(ValueError, match=r"^orig_sr must be a positive number"):
        resample(x, 10**400, 1)
    # before: soxr's MemoryError "std::bad_array_new_length" (and a hang for the inverse ratio)
    with pytest.raises(ValueError, match=r"^target_sr / orig_sr must be between"):
        resample(x, 1, 10**30)
    with pytest.raises(ValueError, match=r"^target_sr / orig_sr must be between"):
        resample(x, 10**30, 1)


def test_num_frames_takes_booleans_only_for_pad_and_center() -> None:
    # before: pad="no" counted the padded frames (a non-empty text is true)
    with pytest.raises(TypeError, match=r"^pad must be True or False, got 'no'$"):
        num_frames(100, 10, 5, pad="no")
    with pytest.raises(TypeError, match=r"^center must be True or False, got None$"):
        num_frames(100, 10, 5, center=None)
    assert num_frames(100, 10, 5, pad=np.bool_(True)) == num_frames(100, 10, 5, pad=True)


def test_window_array_takes_a_tensor_and_names_a_window_too_long() -> None:
    # before: torch's "Can't call numpy() on Tensor that requires grad"
    np.testing.assert_array_equal(window_array(torch.ones(4, requires_grad=True), 4), np.ones(4, np.float32))
    # before: "window_fn='hann' is not a window scipy.signal.get_window knows (Maximum allowed size exceeded)"
    with pytest.raises(NamedMemoryError, match=r"^a window of shape"):
        window_array("hann", 10**30)
    with pytest.raises(ValueError, match=r"parameter must be a number, got 'x'"):
        window_array(("kaiser", "x"), 4)


# ----------------------------------------------------------------------------- engine: huge values
def test_values_near_float64s_limit_are_detrended_and_normalised() -> None:
    # before: detrend gave NaN (a constant series) or -inf; the robust scale was 1
    x = np.array([1.7e308, 1.7e308, 1.7e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(detrend(x) / 1.7e308, 0.0, atol=1e-15)
        np.testing.assert_allclose(detrend(x, kind="constant") / 1.7e308, 0.0, atol=1e-15)
        line = np.array([0.25, 0.5, 0.75, 1.0]) * 1.7e308
        np.testing.assert_allclose(detrend(line, return_trend=True)[1], line, rtol=1e-12)
        scale = Normalizer("robust").fit(np.array([1.7e308, -1.7e308, 1.7e308])).scale
        np.testing.assert_allclose(scale, Normalizer("robust").fit(np.array([1.7, -1.7, 1.7])).scale * 1e308)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_resample_keeps_huge_finite_values_finite(dtype) -> None:
    # before: all NaN from 1e38 on, float64 included (soxr computes in float32)
    x = np.sin(np.arange(200) / 7).astype(dtype)
    for big in (1e37, 1e38) if dtype == np.float32 else (1e38, 1e200, 1e300):
        got = resample(x * dtype(big), 3, 2)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got / big, resample(x, 3, 2), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- smooth and impute
def test_a_seed_beyond_64_bits_is_named_by_smooth() -> None:
    # before: torch's ValueError "Overflow when unpacking long long" once training started
    with pytest.raises(ValueError, match=r"^seed must be a whole number >= 0 and < 2\*\*64, got "):
        tsae.smooth(np.sin(np.arange(50) / 3), seed=2**64)


def test_impute_fills_gaps_of_a_series_near_float64s_limit() -> None:
    # before: NaN left in the gap (the mean overflowed), and overflow warnings
    x = np.sin(np.arange(200) / 7)
    x[90:95] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        filled = tsae.impute(x * 1.7e308)
        smoothed = tsae.smooth(np.nan_to_num(x) * 1e308, steps=0)  # noise_sigma overflowed (2 x)
    assert np.isfinite(filled).all() and np.isfinite(smoothed).all()
    np.testing.assert_allclose(filled[90:95] / 1.7e308, tsae.impute(x)[90:95], atol=1e-6)


# ----------------------------------------------------------------------------- reconstruct
@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "m.tsae"
    save_model(path, create_model("conv1d", 1, 16, depth=1, hidden=4, latent=2),
               frame={"window": 16, "hop": 8, "window_fn": None})
    return path


@pytest.mark.parametrize("model", [None, 5, torch.nn.Linear(2, 2)])
def test_a_model_of_the_wrong_type_names_the_argument(model) -> None:
    # before: "expected a LoadedModel or a model file path, not NoneType" (naming no argument)
    x = np.sin(np.arange(50) / 3)
    calls = [lambda: tsae.reconstruct(model, x), lambda: tsae.encode(model, x)]
    if model is not None:  # smooth and impute without a model teach themselves
        calls += [lambda: tsae.smooth(x, model=model), lambda: tsae.impute(np.r_[x, np.nan, x], model=model)]
    for call in calls:
        with pytest.raises(TypeError, match=r"^model must be a LoadedModel, a FitResult \(tsae.fit\) or a model file "
                                            r"path, got "):
            call()


def test_impute_with_a_model_stops_once_the_gaps_settle(model_path) -> None:
    # before: iterations=10**30 ran (for ever) even after the filled values stopped changing
    # (10**30 is now refused: at most MAX_ITERATIONS refills, see tests/pipelines/smooth/test_smooth_limits.py)
    from tsae.pipelines.smooth.imputer import MAX_ITERATIONS

    x = np.sin(np.arange(80) / 3)
    x[30:34] = np.nan
    np.testing.assert_array_equal(tsae.impute(x, model=model_path, iterations=MAX_ITERATIONS),
                                  tsae.impute(x, model=model_path, iterations=500))


# ----------------------------------------------------------------------------- Monitor
@pytest.fixture(scope="module")
def detector():
    t = np.arange(300)
    return tsae.Detector(model="dense", window=16, epochs=1, scales=[]).fit(np.stack([np.sin(t / 5), np.cos(t / 7)]))


def _rows(n: int = 60) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / 5), np.cos(t / 7)])


@pytest.mark.parametrize("bad", [None, 5, 1.5])
def test_a_monitor_needs_a_detector_or_its_file(bad) -> None:
    # before: "path must be a str or os.PathLike, not NoneType" (no argument called path)
    with pytest.raises(TypeError, match=r"^detector must be a fitted Detector or a detector file path, got "):
        tsae.Monitor(bad)


def test_a_monitor_of_an_unfitted_detector_is_a_not_fitted_error() -> None:
    # before: AttributeError "'Detector' object has no attribute 'sensors_'"
    with pytest.raises(NotFittedError, match="not fitted yet"):
        tsae.Monitor(tsae.Detector())


@pytest.mark.parametrize("silence", ["10", -1, 0, 1.5, float("nan"), float("inf"), True])
def test_silence_is_a_whole_number_of_samples(detector, silence) -> None:
    # before: "10" and 1.5 were taken, -1 and 0 reported every sample silent, NaN and inf were int()'s errors
    with pytest.raises(ValueError, match=r"^silence must be a whole number >= 1, got "):
        tsae.Monitor(detector, silence=silence)


def test_every_sample_and_fmt_are_checked(detector) -> None:
    # before: every_sample="no" reported every sample; fmt="jsn" read JSON lines as CSV
    with pytest.raises(TypeError, match=r"^every_sample must be True or False, got 'no'$"):
        tsae.Monitor(detector, every_sample="no")
    with pytest.raises(ValueError, match=r"^fmt must be one of \('auto', 'csv', 'json', 'influx'\), got fmt='jsn'$"):
        tsae.Monitor(detector, fmt="jsn")


@pytest.mark.parametrize("times", [[1, 2, 3], list(range(61)), "abc", 5])
def test_times_must_give_one_time_per_sample(detector, times) -> None:
    # before: too few: IndexError "pop from an empty deque" with the block half scored; too many:
    # the extra times were given to the next block's samples; an int: "'int' object is not iterable"
    monitor = tsae.Monitor(detector, every_sample=True)
    with pytest.raises(ValueError, match=r"^times must hold one time per sample \(60\)"):
        monitor.push(_rows(), times=times)
    records = monitor.push(_rows(), times=list(range(60))) + monitor.flush()  # the monitor is intact
    assert [r["time"] for r in records if r["type"] == "sample"] == list(range(60))


@pytest.mark.parametrize(("row", "error", "fragment"), [
    ("abc", ValueError, r"^x must hold real numbers, got dtype <U3"),
    (["1", "2"], ValueError, r"^x must hold real numbers, got dtype <U1"),
    (None, TypeError, r"^x is required, got None"),
    ([1j, 2.0], ValueError, r"^x must hold real numbers, got dtype complex"),
    ({"s0": [1.0, 2.0]}, ValueError, r"^x\['s0'\] must be one number, got shape \(2,\)"),
])
def test_score_one_names_what_is_no_row(detector, row, error, fragment) -> None:
    # before: float()'s "could not convert string to float", numeric text taken as numbers,
    # None "expected 2 sensor values, got 1", complex and nested values Python's TypeErrors
    with pytest.raises(error, match=fragment):
        tsae.Monitor(detector).score_one(row)


def test_score_one_takes_a_tensor_and_matches_a_series_by_its_labels(detector) -> None:
    # before: a tensor that requires grad was torch's RuntimeError, and a pandas Series was
    # read in its own order: {"s1": b, "s0": a} was scored as s0=b, s1=a
    by_order, by_label, by_tensor = (tsae.Monitor(detector) for _ in range(3))
    for a, b in _rows().T:
        want = by_order.score_one([a, b])
        assert by_label.score_one(pd.Series({"s1": b, "s0": a})) == want
        assert by_tensor.score_one(torch.tensor([a, b], requires_grad=True)) == want
    assert want is not None


def test_a_dataframe_whose_index_goes_back_or_repeats_is_warned_about() -> None:
    # smooth, impute, reconstruct and Detector used a shuffled or appended frame's rows in their order without a
    # word (imputing shuffled rows differed from the sorted ones by 1.14); the table reader warns about a file's
    from tsae.engine.layout import as_channels_first
    from tsae.io.tables import TableWarning

    times = pd.date_range("2024-01-01", periods=50, freq="1min")
    frame = pd.DataFrame({"a": np.arange(50.0), "b": np.ones(50)}, index=times)
    with pytest.warns(TableWarning, match=r"X: the DataFrame's index is not in increasing order \(49 step\(s\) back\)"
                                          r".*\(first: X\.sort_index\(\)\)"):
        values, _ = as_channels_first(frame.iloc[::-1], "X")
    np.testing.assert_array_equal(values[0], np.arange(49.0, -1, -1))  # in their order, as before
    with pytest.warns(TableWarning, match=r"\(1 step\(s\) back; 5 row\(s\) repeat an earlier index\).*first: "
                                          r"x\.sort_index\(\), then x\[~x\.index\.duplicated\(\)\]"):
        as_channels_first(pd.concat([frame, frame.iloc[:5]]))
    with pytest.warns(TableWarning, match="index is not in increasing order"):
        as_channels_first(frame.set_index(pd.Index(np.arange(50.0)[::-1])))  # numbers too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_channels_first(frame)  # in order
        as_channels_first(frame.reset_index(drop=True).iloc[::-1].reset_index(drop=True))  # a RangeIndex
        as_channels_first(frame.set_index(pd.Index([f"r{i}" for i in range(50)][::-1])))  # labels, not times
        # a sample without a date (NaT) is neither a step back nor a repeat (it said "not in increasing order ()")
        as_channels_first(frame.set_index(pd.DatetimeIndex([pd.NaT, *times[1:]])))
    with pytest.warns(TableWarning, match=r"\(1 step\(s\) back\)"):
        as_channels_first(frame.set_index(pd.DatetimeIndex([times[2], pd.NaT, times[1], *times[3:]])))
