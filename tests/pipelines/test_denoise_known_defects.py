"""Known defects of the denoiser's Python API (and the strength option it shares with ``tsae.smooth``).

Each test names what the old code did: one shared strength checker, integer options refused by name
whatever their size, lists of integer PCM refused as numpy integer arrays are, an empty stream's
flush, and hostile arguments found on the way.
"""
from __future__ import annotations

import numpy as np
import pytest

import tsae
from tsae import StreamingDenoiser
from tsae.errors import shown
from tsae.pipelines.denoise import denoise_file, denoise_files

SR = 16000


def _speech(n: int = 3200, seed: int = 0) -> np.ndarray:
    noise = 0.05 * np.random.default_rng(seed).standard_normal(n)
    return (0.3 * np.sin(np.arange(n) / 7) + noise).astype(np.float32)


# --------------------------------------------------------------------------- 1. one strength checker
@pytest.mark.parametrize("value", [2, -0.1, float("nan"), float("inf"), True, "1", None, [0.5], 10 ** 400],
                         ids=["2", "negative", "nan", "inf", "True", "text", "None", "list", "10**400"])
def test_smooth_and_the_denoiser_refuse_a_strength_in_the_same_words(value) -> None:
    # before: "strength must be between 0 and 1, got 2" / "strength must be a finite number, got True" (denoise)
    # against "strength must be a number within [0, 1], got 2" (smooth); 10 ** 400 an OverflowError in both
    from tsae.engine.layout import check_fraction

    message = f"strength must be a number within [0, 1], got {shown(value)}"  # 10 ** 400: cut short
    with pytest.raises(ValueError) as smoothing:
        tsae.smooth(np.sin(np.arange(64) / 5), value)
    with pytest.raises(ValueError) as denoising:
        StreamingDenoiser(SR, strength=value)
    with pytest.raises(ValueError) as checking:
        check_fraction("strength", value)
    assert str(smoothing.value) == str(denoising.value) == str(checking.value) == message


def test_the_strength_checker_keeps_what_both_accepted() -> None:
    from tsae.engine.layout import check_fraction

    for value in (0, 1, 0.25, np.float32(0.5), np.int64(1)):
        assert check_fraction("strength", value) == float(value)
        assert StreamingDenoiser(SR, strength=value).strength == float(value)
    x = np.sin(np.arange(64) / 5)
    np.testing.assert_array_equal(tsae.smooth(x, 0), x)


# --------------------------------------------------------------------------- 2. integer options
@pytest.mark.parametrize("channels", [10 ** 30, 10 ** 400, 2 ** 62, np.uint64(2 ** 64 - 1), 65536],
                         ids=["10**30", "10**400", "2**62", "uint64-max", "65536"])
def test_an_absurd_channel_count_is_named(channels) -> None:
    # before: numpy's "Maximum allowed dimension exceeded" or "array is too big; `arr.size * ...`"
    with pytest.raises(ValueError, match=r"^channels must be an int within \[1, 65535\], got "):
        StreamingDenoiser(SR, channels)


@pytest.mark.parametrize("channels", [0, -1, True, 2.0, "2", None])
def test_a_channel_count_that_is_not_one_is_named(channels) -> None:
    with pytest.raises(ValueError) as info:
        StreamingDenoiser(SR, channels)
    assert str(info.value) == f"channels must be an int within [1, 65535], got {channels!r}"


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 0, -1, True, "5", None, 10 ** 400],
                         ids=["nan", "inf", "0", "-1", "True", "text", "None", "10**400"])
def test_a_bad_block_length_of_a_file_job_is_named(tmp_path, seconds) -> None:
    # before: nan "cannot convert float NaN to integer", inf an OverflowError, "5" a 16000-digit string's
    # ValueError, None a TypeError; 0 and -1 went on one sample at a time
    import soundfile as sf

    sf.write(tmp_path / "a.wav", _speech(1600), SR)
    with pytest.raises(ValueError) as info:
        denoise_file(tmp_path / "a.wav", tmp_path / "out.wav", block_seconds=seconds)
    assert str(info.value) == f"block_seconds must be a finite number of seconds > 0, got {shown(seconds)}"
    assert not (tmp_path / "out.wav").exists()


def test_the_file_jobs_check_their_flag_and_callback_first(tmp_path) -> None:
    import soundfile as sf

    sf.write(tmp_path / "a.wav", _speech(1600), SR)
    # before: "no" was quiet (a true string); 3 failed at the first block with "'int' object is not callable"
    with pytest.raises(TypeError, match=r"^quiet must be True or False, got 'no'$"):
        denoise_files([tmp_path / "a.wav"], tmp_path / "q.wav", quiet="no")
    with pytest.raises(TypeError, match=r"^progress must be a function or None, got 3$"):
        denoise_file(tmp_path / "a.wav", tmp_path / "p.wav", progress=3)
    assert not list(tmp_path.glob("[pq].wav"))


def test_a_batch_beyond_the_channel_limit_is_split_not_failed(tmp_path, monkeypatch) -> None:
    import soundfile as sf

    from tsae.pipelines.denoise import denoiser

    monkeypatch.setattr(denoiser, "MAX_CHANNELS", 3)  # two stereo files would be 4 channels side by side
    for i, name in enumerate(("a.wav", "b.wav")):
        sf.write(tmp_path / name, np.stack([_speech(1600, i), _speech(1600, i + 5)]).T, SR)
    written = denoise_files([tmp_path / "a.wav", tmp_path / "b.wav"], tmp_path / "out", quiet=True, batch=16)
    assert sorted(p.name for p in written) == ["a.wav", "b.wav"]


# --------------------------------------------------------------------------- 3. lists of integer PCM
@pytest.mark.parametrize("pcm", [
    [1000, -2000, 32767, -32768] * 400,
    (1000, -2000, 32767, -32768) * 400,
    [[1000, -2000] * 800, [3, -4] * 800],
    [np.int16(1000), np.int16(-1000)] * 800,
    [1000, None, -2000, 5] * 400,  # a missing sample does not make the others floats
    range(1600),
], ids=["list", "tuple", "nested", "numpy-ints", "with-None", "range"])
def test_a_list_of_integers_is_refused_as_an_integer_array_is(pcm) -> None:
    # before: taken as sample values, hundreds of times full scale
    refusal = r"^audio holds integer samples: pass float samples in \[-1, 1\] \(for example np\.asarray\(audio\) / "
    with pytest.raises(ValueError, match=refusal):
        tsae.denoise(pcm, SR)
    with pytest.raises(ValueError, match=refusal.replace("audio", "chunk")):
        StreamingDenoiser(SR, 1 if np.ndim(pcm) == 1 else 2).feed(pcm)


def test_a_list_of_booleans_is_refused_as_a_boolean_array_is() -> None:
    with pytest.raises(ValueError, match=r"^audio holds booleans: pass float samples in \[-1, 1\]$"):
        tsae.denoise([True, False] * 800, SR)


def test_a_list_of_floats_keeps_working_bit_for_bit() -> None:
    x = _speech()
    as_array = tsae.denoise(x.astype(np.float64), SR)
    np.testing.assert_array_equal(tsae.denoise(x.astype(np.float64).tolist(), SR), as_array)
    np.testing.assert_array_equal(tsae.denoise(tuple(x.tolist()), SR), tsae.denoise(x, SR))
    mixed = [0, 0.5, -1, 0.25] * 400  # floats among the ints: values, as np.asarray reads them
    np.testing.assert_array_equal(tsae.denoise(mixed, SR), tsae.denoise(np.asarray(mixed), SR))


# --------------------------------------------------------------------------- 4. an empty stream's flush
@pytest.mark.parametrize(("rate", "channels"), [(SR, 1), (48000, 1), (SR, 2), (8000, 3)])
def test_a_stream_never_fed_flushes_to_an_empty_array_of_its_channels(rate, channels) -> None:
    # before: (1, 0) for a one-channel stream, whose chunks are (n,)
    want = (0,) if channels == 1 else (channels, 0)
    den = StreamingDenoiser(rate, channels)
    out = den.flush()
    assert out.shape == want and out.dtype == np.float32
    assert den.flush().shape == want
    x = np.stack([_speech(rate // 5, i) for i in range(channels)])
    x = x[0] if channels == 1 else x
    fresh = StreamingDenoiser(rate, channels)
    # a feed after a flush is a new stream, as the docstring says
    np.testing.assert_array_equal(np.concatenate([den.feed(x), den.flush()], axis=-1),
                                  np.concatenate([fresh.feed(x), fresh.flush()], axis=-1))


@pytest.mark.parametrize("rate", [SR, 48000])
def test_empty_chunks_flush_to_an_empty_array_of_their_layout(rate) -> None:
    den = StreamingDenoiser(rate, 2)
    assert den.feed(np.zeros((2, 0), np.float32)).shape == (2, 0)
    assert den.flush().shape == (2, 0)
    mono = StreamingDenoiser(rate)
    assert mono.feed([]).shape == (0,)
    assert mono.flush().shape == (0,)
    assert mono.feed(np.zeros((1, 0))).shape == (1, 0)
    assert mono.flush().shape == (1, 0)  # the layout of the last chunk


# --------------------------------------------------------------------------- 5. hostile calls found on the way
def test_unsigned_pcm_is_told_its_midpoint() -> None:
    # before: "(for example audio / 128)": 8-bit PCM is unsigned around 128, so that gave a DC offset of +1
    with pytest.raises(ValueError, match=r"^audio holds uint8 samples: pass float samples in \[-1, 1\] "
                                         r"\(for example \(audio - 128\) / 128\)$"):
        tsae.denoise(np.full(1600, 128, np.uint8), SR)
    with pytest.raises(ValueError, match=r"\(for example audio / 32768\)$"):
        tsae.denoise(np.zeros(1600, np.int16), SR)


@pytest.mark.parametrize("thing", [(v for v in [0.1, 0.2]), {"a": 0.1}, iter([0.1, 0.2]), object()],
                         ids=["generator", "dict", "iterator", "object"])
def test_something_that_is_not_an_array_is_named_by_its_type(thing) -> None:
    # before: "audio must hold real numbers (it holds Python objects that are not)"
    with pytest.raises(TypeError, match=rf"^audio must be an array of samples, got {type(thing).__name__}$"):
        tsae.denoise(thing, SR)
    with pytest.raises(TypeError, match=rf"^chunk must be an array of samples, got {type(thing).__name__}$"):
        StreamingDenoiser(SR).feed(thing)


def test_the_streaming_denoiser_takes_a_dataframe_as_denoise_does() -> None:
    pd = pytest.importorskip("pandas")
    x = np.stack([_speech(), _speech(seed=3)])
    frame = pd.DataFrame({"left": x[0], "right": x[1]})
    den = StreamingDenoiser(SR, 2)
    # before: "expected 2 channel(s) as (channels, n), got shape (3200, 2)"
    out = np.concatenate([den.feed(frame.iloc[:1000]), den.feed(frame.iloc[1000:]), den.flush()], axis=1)
    np.testing.assert_array_equal(out, tsae.denoise(frame, SR))
    np.testing.assert_array_equal(out, tsae.denoise(x, SR))


@pytest.mark.parametrize("make", [
    lambda x: x[::-1].copy()[::-1],
    lambda x: np.asfortranarray(np.stack([x, x]))[0],
    lambda x: np.repeat(x, 2)[::2],
    lambda x: np.frombuffer(x.tobytes(), np.float32),  # read-only
    lambda x: memoryview(x),
], ids=["negative-stride", "fortran-row", "every-other", "read-only", "memoryview"])
def test_any_memory_layout_gives_the_same_output(make) -> None:
    x = _speech()
    np.testing.assert_array_equal(tsae.denoise(make(x), SR), tsae.denoise(x, SR))


@pytest.mark.parametrize("value", [10 ** 400, 10 ** 10000, "x" * 10 ** 6], ids=["10**400", "10**10000", "1MB text"])
def test_a_huge_value_is_told_in_a_short_line(tmp_path, value) -> None:
    # before: the 401 digits (or the megabyte of text) were printed in full; 10 ** 10000 made repr itself fail
    from tsae.engine.layout import check_fraction
    from tsae.models.trainer import real_number, whole_number

    for check in (lambda: check_fraction("strength", value), lambda: real_number("rate", value),
                  lambda: whole_number("steps", value if isinstance(value, str) else -value, 0),
                  lambda: StreamingDenoiser(SR, value)):
        with pytest.raises(ValueError) as info:
            check()
        assert len(str(info.value)) < 160 and "\n" not in str(info.value), str(info.value)[:200]
