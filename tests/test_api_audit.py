"""Public API with unusual inputs: each gives a right answer or a one-line error naming the argument."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import tsae
from tsae.engine.streaming import StreamFramer, StreamOverlapAdd


def _x(n: int = 64) -> np.ndarray:
    return np.sin(np.arange(n) / 3.0)


@pytest.mark.parametrize("make", [
    lambda x: torch.tensor(x, requires_grad=True),
    lambda x: torch.tensor(x, dtype=torch.bfloat16),
])
def test_frame_and_overlap_add_take_any_torch_tensor(make):
    x = _x()
    ref = tsae.frame(np.asarray(make(x).detach().float().numpy()), 16, 8)
    out = tsae.frame(make(x), 16, 8)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_allclose(tsae.overlap_add(make(out.astype(np.float64)), 8),
                               tsae.overlap_add(out, 8), atol=1e-2)
    assert StreamFramer(16, 8).push(make(x)).shape == ref.shape
    assert StreamOverlapAdd(16, 8).push(make(ref)).ndim == 1


def test_impute_takes_a_tensor_that_requires_grad():
    x = _x(400)
    x[50:60] = np.nan
    t = torch.tensor(x, requires_grad=True)
    np.testing.assert_array_equal(tsae.impute(t), tsae.impute(x))


@pytest.mark.parametrize("call", [
    lambda: tsae.frame(None, 16, 8),
    lambda: tsae.overlap_add(None, 8),
    lambda: tsae.impute(None),
    lambda: tsae.smooth(None),
])
def test_none_is_named(call):
    with pytest.raises(TypeError, match="is required, got None"):
        call()


def test_impute_rank_beyond_the_window_does_not_hang():
    x = _x(400)
    x[50:60] = np.nan
    np.testing.assert_allclose(tsae.impute(x, window=16, rank=10**6), tsae.impute(x, window=16, rank=16))


@pytest.mark.parametrize("strength", [None, True, "1"])
def test_smooth_strength_must_be_a_number(strength):
    with pytest.raises(ValueError, match="strength must be a number"):
        tsae.smooth(_x(200), strength)


@pytest.mark.parametrize("params", ["x", [1]])
def test_smooth_model_params_must_be_a_dict(params):
    with pytest.raises(TypeError, match="model_params must be a dict"):
        tsae.smooth(_x(200), model_params=params)


def _sensors(n: int = 400) -> np.ndarray:
    t = np.arange(n)
    noise = 0.05 * np.random.default_rng(0).standard_normal((3, n))
    return np.stack([np.sin(t / 5.0), np.cos(t / 7.0), 0.5 * np.sin(t / 3.0)]) + noise


def _detector(X):
    return tsae.Detector(model="dense", window=16, epochs=1, scales=[]).fit(X)


@pytest.fixture(scope="module")
def fitted():
    df = pd.DataFrame(_sensors().T, columns=["a", "b", "c"])
    return _detector(df), df


def test_detector_fitted_on_integer_columns_scores_the_same_frame():
    df = pd.DataFrame(_sensors().T)  # columns 0, 1, 2: sensors "0", "1", "2"
    det = _detector(df)
    assert det.decision_function(df).shape == (len(df),)
    np.testing.assert_array_equal(det.decision_function(df), det.decision_function(df.to_numpy().T))


def test_detector_missing_column_is_named(fitted):
    det, df = fitted
    with pytest.raises(ValueError, match="missing sensor column.*a.*got columns x, b, c"):
        det.decision_function(df.rename(columns={"a": "x"}))


def test_monitor_matches_dataframe_columns_by_name(fitted):
    det, df = fitted
    first = tsae.Monitor(det, every_sample=True)
    second = tsae.Monitor(det, every_sample=True)
    a = first.push(df) + first.flush()
    b = second.push(df[["c", "a", "b"]]) + second.flush()
    assert a and a == b
    with pytest.raises(ValueError, match="missing sensor column"):
        tsae.Monitor(det).push(df.rename(columns={"a": "x"}))


def test_monitor_score_one_refuses_unknown_sensors_and_text(fitted):
    det, _ = fitted
    mon = tsae.Monitor(det)
    with pytest.raises(ValueError, match="unknown sensor.*bb"):
        mon.score_one({"a": 1.0, "bb": 2.0})
    with pytest.raises(ValueError, match=r"x\['a'\] must hold real numbers"):
        mon.score_one({"a": "x"})
    assert mon.score_one({"a": np.float32(1.0), "b": None, "c": 3}) is None


@pytest.mark.parametrize("holdout", ["x", None, True])
def test_detector_holdout_is_named(holdout):
    with pytest.raises(ValueError, match="holdout"):
        tsae.Detector(holdout=holdout)


@pytest.mark.parametrize("smooth", ["x", -1, True])
def test_detector_smooth_is_named(smooth):
    with pytest.raises(ValueError, match="smooth="):
        tsae.Detector(model="dense", window=16, epochs=1, scales=[], smooth=smooth).fit(_sensors())


@pytest.mark.parametrize("bad", ["a", -1, 2.5, True])
def test_a_seed_is_a_whole_number_everywhere(bad) -> None:
    from tsae import Detector, impute, smooth

    x = np.r_[np.sin(np.arange(60) / 5), np.nan, np.sin(np.arange(60) / 5)]
    for call in (lambda: Detector(seed=bad), lambda: smooth(x, seed=bad), lambda: impute(x, seed=bad)):
        with pytest.raises(ValueError, match=r"^seed must be a whole number >= 0, got "):
            call()


def test_numpy_integer_seeds_and_options_are_taken() -> None:
    from tsae import Detector
    from tsae.models.trainer import TrainConfig

    X = np.random.default_rng(0).random((2, 400))
    Detector(seed=np.int64(3), epochs=1, quiet=True).fit(X)  # random.seed refused numpy integers
    assert TrainConfig(epochs=np.int32(2), batch_size=np.int64(8), lr=np.float32(1e-3)).epochs == 2


@pytest.mark.parametrize(("option", "value"), [("batch_size", "8"), ("batch_size", True), ("lr", "x"),
                                               ("lr", float("nan")), ("epochs", 1.5), ("grad_clip", -1.0)])
def test_training_options_are_checked_by_name(option, value) -> None:
    from tsae.models.trainer import TrainConfig

    with pytest.raises(ValueError, match=rf"^{option} must be"):
        TrainConfig(**{option: value})


def test_sensor_names_are_a_list_of_different_names() -> None:
    from tsae import Detector

    X = np.random.default_rng(0).random((3, 300))
    with pytest.raises(TypeError, match=r"^sensors must be a list of names, got the string 'abc'"):
        Detector(epochs=1, quiet=True).fit(X, sensors="abc")
    with pytest.raises(ValueError, match=r"^sensor names must differ, got a more than once$"):
        Detector(epochs=1, quiet=True).fit(X, sensors=["a", "a", "b"])
    frame = pd.DataFrame(X.T, columns=["a", "b", "a"])
    with pytest.raises(ValueError, match=r"^sensor names must differ"):
        Detector(epochs=1, quiet=True).fit(frame)


def test_yes_no_options_take_booleans_only() -> None:
    from tsae import frame, smooth

    x = np.sin(np.arange(200) / 7)
    with pytest.raises(TypeError, match=r"^edge_guard must be True or False, got 'no'$"):
        smooth(x, edge_guard="no")
    with pytest.raises(TypeError, match=r"^pad must be True or False, got 'yes'$"):
        frame(x, 32, 16, pad="yes")
    assert frame(x, 32, 16, pad=np.bool_(True)).shape == frame(x, 32, 16, pad=True).shape


def test_a_device_without_a_model_and_bad_thread_counts_are_named() -> None:
    from tsae import Detector, impute, smooth

    x = np.r_[np.sin(np.arange(60) / 5), np.nan, np.sin(np.arange(60) / 5)]
    for call in (smooth, impute):
        with pytest.raises(ValueError, match=r"^device='tpu' is for a trained model"):
            call(x, device="tpu")
        call(x, device="auto")  # the default choice is always fine
        call(x, device=None)  # None is "auto", as denoise and reconstruct take it
    for bad in (-1, "2", True, 1.5):
        with pytest.raises(ValueError, match=r"^threads must be a whole number >= 0"):
            Detector(threads=bad)
    two = np.int64(2)
    assert Detector(threads=two).threads is two and Detector(threads=None).threads is None  # stored as given (clone)


def test_a_detector_used_before_fit_raises_a_named_not_fitted_error() -> None:
    from tsae import Detector
    from tsae.errors import NotFittedError

    for call in (lambda d: d.decision_function(np.zeros((2, 50))), lambda d: d.predict(np.zeros((2, 50))),
                 lambda d: d.fitted_state()):
        with pytest.raises(NotFittedError, match="not fitted yet") as info:
            call(Detector())
        assert isinstance(info.value, RuntimeError) and isinstance(info.value, AttributeError)  # sklearn's kind too


@pytest.mark.parametrize(("option", "value"), [("q", 1.5), ("q", float("nan")), ("q", "0.9"), ("risk", -1),
                                               ("risk", 2), ("risk", "x")])
def test_threshold_settings_are_checked_whichever_threshold_is_chosen(option, value) -> None:
    from tsae import Detector

    with pytest.raises(ValueError, match=rf"^{option}"):
        Detector(threshold="budget", **{option: value})
