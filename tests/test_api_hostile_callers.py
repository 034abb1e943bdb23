"""A hostile caller of the documented Python API (``import tsae``), found after the known defects.

Each test names what happened before; now each is a right answer or one line naming the argument
and what to pass instead.
"""
from __future__ import annotations

import numpy as np
import pytest

import tsae


def _series(n: int = 400) -> np.ndarray:
    return np.stack([np.sin(np.arange(n) / 5.0), np.cos(np.arange(n) / 7.0)])


@pytest.mark.parametrize("thing", [(v for v in [0.1, 0.2]), {"a": 0.1}, {0.1, 0.2}, object()],
                         ids=["generator", "dict", "set", "object"])
@pytest.mark.parametrize("call", [tsae.smooth, tsae.impute, lambda x: tsae.Detector().fit(x)],
                         ids=["smooth", "impute", "Detector.fit"])
def test_something_that_is_not_an_array_is_named_by_its_type(call, thing) -> None:
    # before: "x must hold real numbers (it holds Python objects that are not)", of a generator that holds
    # numbers; tsae.denoise alone said what it was (its own copy of the rule, now the one rule of real_array)
    with pytest.raises(TypeError, match=rf"^[xX] must be an array of samples, got {type(thing).__name__}$"):
        call(thing)


def test_a_ragged_list_is_named_by_the_framing_functions() -> None:
    from tsae import StreamFramer, StreamOverlapAdd

    # before: numpy's "setting an array element with a sequence..." naming nothing (the series functions named it)
    ragged = [[0.0] * 20, [0.0] * 10]
    for call, name in [(lambda: tsae.frame(ragged, 4, 2), "x"), (lambda: tsae.overlap_add(ragged, 2), "frames"),
                       (lambda: StreamFramer(4, 2).push(ragged), "chunk"),
                       (lambda: StreamOverlapAdd(4, 2).push(ragged), "frames"),
                       (lambda: tsae.frame(np.ones(20), 4, 2, window_fn=[[1.0, 1.0], [1.0]]), "window_fn")]:
        with pytest.raises(ValueError, match=rf"^{name}: setting an array element with a sequence"):
            call()


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_64_bit_integer_audio_is_told_a_full_scale_that_pcm_has(dtype) -> None:
    import pandas as pd

    # before: "(for example audio / 9223372036854775808)": no PCM format has 64 bits, and 16-bit samples in an
    # int64 array (np.array of ints, a pandas column) divided so came out at 1e-15, silence
    pcm = (np.arange(1600) % 200 * 100).astype(dtype)
    for audio in (pcm, pd.Series(pcm)):
        with pytest.raises(ValueError, match=rf"^audio holds {np.dtype(dtype)} samples: pass float samples in "
                                             r"\[-1, 1\] \(divide by the full scale of their PCM format, for example "
                                             r"audio / 32768 for 16-bit PCM\)$"):
            tsae.denoise(audio, 16000)


@pytest.mark.parametrize("dtype", [object, "string"])
def test_a_dataframe_column_of_numeric_text_is_refused_as_an_array_of_text_is(dtype) -> None:
    import pandas as pd

    # before: tsae.smooth(np.array(["0.5", ...])) was refused ("must hold real numbers, got dtype <U3") but the same
    # text in a DataFrame column was parsed and smoothed without a word (so by impute, fit, Detector, denoise)
    x = 0.1 * _series()
    frame = pd.DataFrame({"a": x[0], "b": x[1].astype(str)}).astype({"b": dtype})
    for call, name in [(tsae.smooth, "x"), (tsae.impute, "x"), (lambda df: tsae.denoise(df, 16000), "audio")]:
        with pytest.raises(ValueError, match=rf"^{name}: column 'b' is not numeric \(it holds text: '0\.1'\); "
                                             rf"convert it \(pd\.to_numeric\({name}\['b'\]\)\) or leave it out$"):
            call(frame)
    frame["b"] = pd.to_numeric(frame["b"])
    assert tsae.impute(frame).shape == x.shape


def test_the_engine_reads_python_objects_as_every_series_function_does() -> None:
    import pandas as pd

    from tsae import StreamFramer, StreamOverlapAdd
    from tsae.engine import missing_mask

    # before: "x must be a real numeric array (bool, int or float), got dtype object" for a list holding None
    # (tsae.smooth reads None as a missing sample), for an object array of floats, and for a generator
    x = np.sin(np.arange(40) / 3.0)
    x[5] = np.nan
    objects = [None if np.isnan(v) else float(v) for v in x]
    np.testing.assert_array_equal(tsae.frame(objects, 8, 4), tsae.frame(x, 8, 4))
    np.testing.assert_array_equal(StreamFramer(8, 4).push(np.array(objects, dtype=object)), tsae.frame(x, 8, 4))
    frames = tsae.frame(np.nan_to_num(x), 8, 4)
    np.testing.assert_array_equal(tsae.overlap_add(frames.astype(object), 4), tsae.overlap_add(frames, 4))
    np.testing.assert_array_equal(StreamOverlapAdd(8, 4).push(frames.astype(object)),
                                  StreamOverlapAdd(8, 4).push(frames))
    np.testing.assert_array_equal(missing_mask(objects), np.isnan(x))
    for call, name in [(lambda v: tsae.frame(v, 8, 4), "x"), (lambda v: StreamFramer(8, 4).push(v), "chunk"),
                       (lambda v: tsae.overlap_add(v, 4), "frames"), (missing_mask, "x")]:
        with pytest.raises(TypeError, match=rf"^{name} must be an array of samples, got generator$"):
            call(v for v in x)
    with pytest.raises(ValueError, match=r"^x: column 'b' is not numeric \(it holds text: '1'\)"):
        tsae.frame(pd.DataFrame({"a": x, "b": ["1"] * 40}), 8, 4)  # before: "got dtype object"


def test_an_empty_model_path_is_told_as_empty() -> None:
    # before: ".: is a folder, not a model file" (Path("") is the working folder), for every function taking a model
    x = _series()
    for call in (lambda: tsae.load_model(""), lambda: tsae.reconstruct("", x), lambda: tsae.encode(" ", x),
                 lambda: tsae.compress("", x), lambda: tsae.smooth(x, model=""), lambda: tsae.impute(x, model="")):
        with pytest.raises(ValueError, match=r"^path must name a model file, got '\s*' \(an unset variable\?\)$"):
            call()


@pytest.mark.parametrize("dtype", [np.int16, "Int16", bool])
def test_a_dataframe_of_integer_pcm_is_refused_as_an_array_of_it_is(dtype) -> None:
    import pandas as pd

    # before: an int16 array or Series was refused ("pass float samples in [-1, 1] (for example audio / 32768)"), but
    # a DataFrame of the same int16 columns was denoised as samples 10,000 times full scale (clipped to 1000, with a
    # warning about scaling), and a boolean one as 0 and 1
    pcm = (np.sin(np.arange(3200) / 5) * 10000).astype(np.int16)
    frame = pd.DataFrame({"L": pcm, "R": pcm}).astype(dtype)
    for call, name in [(lambda: tsae.denoise(frame, 16000), "audio"),
                       (lambda: tsae.StreamingDenoiser(16000, 2).feed(frame), "chunk")]:
        told = ("booleans" if dtype is bool else
                rf"int16 samples: pass float samples in \[-1, 1\] \(for example {name} / 32768\)")
        with pytest.raises(ValueError, match=rf"^{name} holds {told}"):
            call()
    assert tsae.denoise(frame.astype(np.float32) / 32768, 16000).shape == (2, 3200)


@pytest.mark.parametrize("ends", [True, (True,), "both", (1, 0), None],
                         ids=["bool", "one", "text", "ints", "None"])
def test_impute_ends_is_a_pair_of_flags(ends) -> None:
    # before: ends=True was "'bool' object is not subscriptable", (True,) an IndexError from inside, and "both"
    # (read as 'b', 'o') and (1, 0) were taken
    x = np.sin(np.arange(200) / 5.0)
    x[50:60] = np.nan
    with pytest.raises(TypeError, match=r"^ends(\[0\])? must be "):
        tsae.impute(x, ends=ends)
    assert np.isnan(x[50:60]).all()  # the caller's array left as it was


@pytest.mark.parametrize("call", ["reconstruct", "encode"])
def test_a_progress_callback_that_is_not_callable_is_named_before_any_work(call, tmp_path) -> None:
    from tsae.models.trainer import TrainConfig

    # before: "'int' object is not callable", from inside the batch loop once the first batch had run
    model = tsae.fit(_series(), window=16, config=TrainConfig(epochs=1))
    with pytest.raises(TypeError, match=r"^advance must be a function told the samples done \(a progress bar's "
                                        r"update\) or None, got int$"):
        getattr(tsae, call)(model, _series(), advance=5)


@pytest.mark.parametrize("call", ["reconstruct", "encode"])
def test_a_channel_all_beyond_1e30_is_told_so_by_reconstruct_and_encode(call) -> None:
    from tsae.errors import EmptyChannelError
    from tsae.models.trainer import TrainConfig

    # before: "a channel has no finite values (channel 1)" of a channel of 1e308, finite values (tsae.fit said why)
    model = tsae.fit(_series(), window=16, config=TrainConfig(epochs=1))
    x = _series()
    x[1] = 1e308
    with pytest.raises(EmptyChannelError, match=r"^a channel has no finite values \(channel 1\): its values are all "
                                                r"beyond 1e30 in magnitude, which is missing$"):
        getattr(tsae, call)(model, x)


@pytest.mark.parametrize("plans, error, message", [
    (5, TypeError, r"^plans must be a list \(one entry per channel, filled in here\) or None, got int$"),
    ((None,), TypeError, r"^plans must be a list \(one entry per channel, filled in here\) or None, got tuple$"),
    ([5], TypeError, r"^plans must hold None or the plans an earlier block chose, got int$"),
    ([{}], TypeError, r"^plans must hold None or the plans an earlier block chose, got dict$"),
    ([None, None], ValueError, r"^plans must hold one entry per channel \(1\), got 2$"),
], ids=["int", "tuple", "number", "dict", "two"])
def test_impute_plans_are_checked_by_name(plans, error, message) -> None:
    # before: "'int' object has no attribute 'window'", "object of type 'int' has no len()", "'tuple' object does not
    # support item assignment" from inside impute
    x = np.sin(np.arange(200) / 5.0)
    x[50:60] = np.nan
    with pytest.raises(error, match=message):
        tsae.impute(x, plans=plans)
    plans_ok: list = [None]
    filled = tsae.impute(x, plans=plans_ok)
    assert plans_ok[0] is not None and not np.isnan(filled).any()  # a good list is filled in, as before


def test_impute_refuses_the_self_trained_autoencoders_options_beside_a_model() -> None:
    from tsae.models.trainer import TrainConfig

    # before: window= and rank= were silently unused with model= (smooth refuses model_params beside a model)
    model = tsae.fit(_series(), window=16, config=TrainConfig(epochs=1))
    x = _series()
    x[:, 100:110] = np.nan
    with pytest.raises(ValueError, match=r"^window is the self-trained autoencoder's; a trained model \(model=\) "
                                         r"brings its own: leave it out$"):
        tsae.impute(x, model=model, window=16)
    with pytest.raises(ValueError, match=r"^window and rank are the self-trained autoencoder's; .* leave them out$"):
        tsae.impute(x, model=model, window=16, rank=2)
    assert not np.isnan(tsae.impute(x, model=model)).any()
