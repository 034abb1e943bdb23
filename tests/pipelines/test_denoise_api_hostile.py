"""Hostile arguments to the Python API of the denoiser (``tsae.denoise``, ``tsae.StreamingDenoiser``).

Each misuse fails with a one-line error naming the argument; valid unusual input works, and the
streaming contract holds (blocks of any size give the whole-array result, nothing is overwritten).
"""
from __future__ import annotations

import array
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tsae
from tsae import StreamingDenoiser
from tsae.pipelines.denoise.denoiser import load_denoiser

SR = 16000


def _speech(n: int = 4000, seed: int = 0) -> np.ndarray:
    noise = 0.05 * np.random.default_rng(seed).standard_normal(n)
    return (0.3 * np.sin(np.arange(n) / 7) + noise).astype(np.float32)


@pytest.mark.parametrize(("option", "value", "message"), [
    # before: True was strength 1 and "1" was parsed; None, [0.5] raised float()'s TypeError naming nothing
    ("strength", True, "strength must be a number within [0, 1], got True"),
    ("strength", "1", "strength must be a number within [0, 1], got '1'"),
    ("strength", None, "strength must be a number within [0, 1], got None"),
    ("strength", [0.5], "strength must be a number within [0, 1], got [0.5]"),
    # before: True was a limit of 1 dB and "12" was parsed; [1] raised float()'s TypeError
    ("atten_limit", True, "atten_limit must be None or a number of dB >= 0, got True"),
    ("atten_limit", "12", "atten_limit must be None or a number of dB >= 0, got '12'"),
    ("atten_limit", [1], "atten_limit must be None or a number of dB >= 0, got [1]"),
    # before: bool("no") is True, None turned the guard off
    ("guard", "no", "guard must be True or False, got 'no'"),
    ("guard", None, "guard must be True or False, got None"),
])
def test_options_of_the_wrong_type_are_named(option, value, message) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        StreamingDenoiser(SR, **{option: value})
    assert str(info.value) == message


def test_numbers_too_large_for_a_float_are_not_an_overflow() -> None:
    # before: OverflowError: int too large to convert to float (both)
    with pytest.raises(ValueError, match=r"^sample_rate must be within \[4000, 768000\] Hz, got 1000"):
        tsae.denoise(_speech(), 10 ** 400)
    x = _speech()
    # no limit, as inf is (not the model's default limit, None: the two differ wherever the mask goes below it)
    np.testing.assert_array_equal(tsae.denoise(x, SR, atten_limit=10 ** 400), tsae.denoise(x, SR, atten_limit=math.inf))


@pytest.mark.parametrize("pcm", [
    torch.tensor([1000, -1000] * 800, dtype=torch.int16),  # before: denoised as samples of +-1000
    array.array("h", [1000, -1000] * 800),  # before: the same
], ids=["torch-int16", "array-h"])
def test_integer_pcm_is_refused_whatever_holds_it(pcm) -> None:
    with pytest.raises(ValueError, match=r"^audio holds int16 samples: pass float samples in \[-1, 1\] \(for "
                                         r"example audio / 32768\)$"):
        tsae.denoise(pcm, SR)


def test_the_streaming_denoiser_refuses_integer_pcm_and_booleans_too() -> None:
    den = StreamingDenoiser(SR)
    # before: both were taken as float samples (int16 PCM thousands of times too loud)
    with pytest.raises(ValueError, match=r"^chunk holds int16 samples: pass float samples in \[-1, 1\]"):
        den.feed(np.ones(320, np.int16))
    with pytest.raises(ValueError, match=r"^chunk holds booleans: pass float samples in \[-1, 1\]$"):
        den.feed(np.ones(320, bool))
    with pytest.raises(ValueError, match=r"^audio holds booleans"):
        tsae.denoise(np.ones(320, bool), SR)
    assert tsae.denoise([0.0, 1.0, 0.0, -1.0] * 80, SR).shape == (320,)  # a list of floats is float samples


def test_samples_beyond_float32_are_refused_not_silenced() -> None:
    # before: cast to float32 they became infinities, taken as silence: all zeros and a numpy RuntimeWarning
    with pytest.raises(ValueError, match=r"^audio holds samples up to 1e\+300, beyond what float32 holds"):
        tsae.denoise(np.full(1000, 1e300), SR)
    with pytest.raises(ValueError, match=r"^chunk holds samples up to 1e\+39"):
        StreamingDenoiser(SR).feed([0.0, 1e39])
    x = _speech().astype(np.float64)
    x[5], x[9] = np.nan, np.inf  # non-finite samples are still silence, not refused
    assert np.isfinite(tsae.denoise(x, SR)).all()


def test_auto_means_the_cpu_whatever_its_spelling(monkeypatch) -> None:
    # before: only "auto" did; "Auto", " AUTO " and None picked CUDA on a machine with a GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for device in ("Auto", " AUTO ", None):
        net, _ = load_denoiser(None, device)
        assert next(net.parameters()).device.type == "cpu"


def test_a_network_passed_in_is_left_as_it_was() -> None:
    from tsae_plugins.denoiser import DenoiserNet

    torch.manual_seed(0)
    net = DenoiserNet(hidden=8, layers=1).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    out = tsae.denoise(_speech(), SR, model=net)
    assert net.training  # before: switched to eval mode
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    net.eval()
    np.testing.assert_array_equal(tsae.denoise(_speech(), SR, model=net), out)
    den = StreamingDenoiser(SR, model=net)
    assert den.net is net  # already on the CPU in eval mode: used as it is


def test_an_empty_model_name_is_not_the_working_folder() -> None:
    # before: ModelFileError "/current/folder: is a folder, not a model file"
    with pytest.raises(ValueError, match=r"^model must be a model file or the name of a shipped model, got ''$"):
        tsae.denoise(_speech(), SR, model="")


def test_a_ragged_list_is_named() -> None:
    # before: numpy's "setting an array element with a sequence..." naming nothing
    with pytest.raises(ValueError, match=r"^audio: setting an array element with a sequence"):
        tsae.denoise([[0.1, 0.2], [0.1]], SR)


@pytest.mark.parametrize("family", ["denoiser", "denoiser2"])
def test_a_hop_of_a_whole_window_is_refused(family) -> None:
    """sqrt-Hann frames that do not overlap lose every frame's first sample: strength 0 did not give the input back."""
    from tsae.plugins import create_model

    with pytest.raises(ValueError, match=rf"^{family}: hop must be below window=64 \(frames that do not overlap"):
        create_model(family, channels=1, window=64, hop=64)


@pytest.mark.parametrize("rate", [SR, 48000])
def test_blocks_of_any_size_give_the_whole_array_result_and_nothing_is_overwritten(rate) -> None:
    x = _speech(rate // 2, seed=1)
    kept = x.copy()
    whole = tsae.denoise(x, rate)
    den = StreamingDenoiser(rate)
    outs, copies, i = [], [], 0
    for n in [0, 1, 7, 0, 333, 1, 2048, 5] * 100:
        if i >= len(x):
            break
        outs.append(den.feed(x[i: i + n]))
        copies.append(outs[-1].copy())
        i += n
    outs.append(den.flush())
    copies.append(outs[-1].copy())
    np.testing.assert_array_equal(np.concatenate(outs), whole)
    assert all(np.array_equal(a, b) for a, b in zip(outs, copies, strict=True))
    np.testing.assert_array_equal(x, kept)
    assert den.flush().shape == (0,)  # a second flush: nothing more
    np.testing.assert_array_equal(np.concatenate([den.feed(x), den.flush()]), whole)  # a new stream


@pytest.mark.parametrize(("option", "message"), [
    # before: every file failed with the option's error (FilesFailed "2 of 2 file(s) failed; first: a.wav: ...")
    ({"strength": 2}, "strength must be a number within [0, 1], got 2"),
    ({"atten_limit": "12"}, "atten_limit must be None or a number of dB >= 0, got '12'"),
    # before: int(2.5), two files at a time
    ({"batch": 2.5}, "batch must be a whole number >= 1, got 2.5"),
])
def test_the_file_jobs_refuse_a_bad_option_before_any_file(tmp_path, option, message) -> None:
    import soundfile as sf

    from tsae.errors import FilesFailed
    from tsae.pipelines.denoise import denoise_files

    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, _speech(1600), SR)
    with pytest.raises(ValueError) as info:
        denoise_files([tmp_path / "a.wav", tmp_path / "b.wav"], tmp_path / "out", quiet=True, **option)
    assert not isinstance(info.value, FilesFailed) and str(info.value) == message
    assert not list(tmp_path.glob("out/*"))


@pytest.mark.parametrize(("rate", "message"), [
    # before: 1e12 made the resampler allocate until std::bad_alloc; 1.5 was taken as 1 Hz and denoised silently
    (1e12, "sample_rate: must be within [4000, 768000] Hz, got 1000000000000.0 (a denoiser's rate)"),
    (1.5, "sample_rate: must be a whole number of Hz, got 1.5 (a denoiser's rate)"),
])
def test_a_denoiser_file_with_a_rate_no_denoiser_takes_is_refused(craft_model_file, rate, message) -> None:
    from tsae.models.fields import ModelFileError
    from tsae.pipelines.denoise.denoiser import model_path

    path = craft_model_file(model_path("denoiser2"), f"rate{rate}.tsae", header=lambda h: h.update(sample_rate=rate))
    with pytest.raises(ModelFileError) as info:
        load_denoiser(path)
    assert str(info.value) == f"{path}: {message}"


def test_a_chunk_laid_out_as_soundfile_reads_it_says_to_transpose() -> None:
    den = StreamingDenoiser(SR, 2)
    stereo = np.stack([_speech(800), _speech(800, seed=1)])
    with pytest.raises(ValueError, match=r"^expected 2 channel\(s\) as \(channels, n\), got shape \(800, 2\); "
                                         r"pass chunk\.T$"):
        den.feed(stereo.T)  # as soundfile.read gives it: the fix was not told, as denoise() tells it
    assert den.feed(stereo).shape[0] == 2  # the stream goes on
    with pytest.raises(ValueError, match=r"got shape \(3, 800\)$"):
        den.feed(np.zeros((3, 800), np.float32))  # another channel count: no transpose would help


def test_samples_beyond_a_thousand_times_full_scale_are_told_once_a_stream_at_the_callers_line() -> None:
    # before: told once in the object's life (a second stream after flush() was clipped without a word), and the
    # warning named the line above the caller's (sys:1 for a script's top level; tsae's own line for tsae.denoise)
    import warnings

    from tsae.io.audio import AudioWarning

    loud = np.full(100, 5000.0, np.float32)
    den = StreamingDenoiser(SR)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1  # the warning names the next line
        den.feed(loud)
        den.flush()
        den.feed(loud)
        den.flush()
        line_denoise = sys._getframe().f_lineno + 1
        tsae.denoise(loud, SR)
    told = [w for w in caught if issubclass(w.category, AudioWarning)]
    assert len(told) == 3
    assert [(Path(w.filename).name, w.lineno) for w in (told[0], told[2])] == \
        [(Path(__file__).name, line), (Path(__file__).name, line_denoise)]


def test_a_chunk_dataframe_out_of_order_is_told_at_the_callers_line() -> None:
    # before: the TableWarning named a line of tsae's denoiser.py, not the feed() call
    import warnings

    import pandas as pd

    from tsae.io.tables import TableWarning

    frame = pd.DataFrame({"a": np.zeros(500), "b": np.zeros(500)}, index=np.arange(500)[::-1])
    den = StreamingDenoiser(SR, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        out = den.feed(frame)
    told = [w for w in caught if issubclass(w.category, TableWarning)]
    assert [(Path(w.filename).name, w.lineno) for w in told] == [(Path(__file__).name, line)]
    assert "chunk: the DataFrame's index is not in increasing order" in str(told[0].message)
    assert out.shape == (2, 0) and den.flush().shape == (2, 500)


@pytest.mark.parametrize("rate", [SR, 44100, 8000])
@pytest.mark.parametrize("options", [{"strength": 0.0}, {"atten_limit": 0.0}])
def test_strength_zero_returns_the_input_bit_for_bit(rate, options) -> None:
    # before: the STFT round trip's float32 rounding of it, up to 3e-8 off at 16 kHz and 6e-8 at 44.1 kHz, where
    # file mode writes the input as read ("--strength 0 returns the input", "0 returns the input unchanged")
    x = _speech(rate // 2, seed=2)
    np.testing.assert_array_equal(tsae.denoise(x, rate, **options), x)
    stereo = np.stack([x, -x])
    den = StreamingDenoiser(rate, 2, **options)
    parts = [den.feed(stereo[:, i: i + 777]) for i in range(0, stereo.shape[1], 777)] + [den.flush()]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), stereo)
    gap = x.copy()
    gap[100] = np.nan  # taken as silence, as at any strength
    assert tsae.denoise(gap, rate, **options)[100] == 0.0


@pytest.mark.parametrize("options", [{"strength": 0.0}, {"atten_limit": 0.0}])
def test_strength_zero_has_no_latency(options) -> None:
    # before: latency was the model's 0.064 s while feed() returned every sample at once
    den = StreamingDenoiser(48000, **options)
    assert den.latency == 0.0
    assert den.feed(np.zeros(480, np.float32)).shape == (480,)
    assert StreamingDenoiser(48000).latency > 0
