"""The streaming objects as Python objects: a copy taken mid-stream (``copy``, ``pickle``), and their reprs."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from tsae import StreamingDenoiser

SR = 16000


def _speech(n: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (0.3 * np.sin(np.arange(n) / 7) + 0.05 * rng.standard_normal((channels, n))).astype(np.float32)
    return x[0] if channels == 1 else x


def _pickled(den: StreamingDenoiser) -> StreamingDenoiser:
    return pickle.loads(pickle.dumps(den))


@pytest.mark.parametrize("take", [copy.deepcopy, copy.copy, _pickled], ids=["deepcopy", "copy", "pickle"])
@pytest.mark.parametrize(("model", "channels"), [(None, 1), ("denoiser", 2)])
def test_a_denoiser_copied_mid_stream_goes_on_as_the_original(take, model, channels) -> None:
    # before: copy.deepcopy and pickle failed ('cannot pickle module object': the stepper held the numba
    # kernels' module), and copy.copy shared the stream's buffers, so feeding the copy changed the original
    x = _speech(SR, channels)
    half = x.shape[-1] // 2 + 77
    den = StreamingDenoiser(SR, channels, model=model)
    head = den.feed(x[..., :half])
    fork = take(den)
    assert fork is not den and fork._state is not den._state
    assert (fork.net is den.net) == (take is copy.copy)  # copy.copy shares the network, which streaming never changes
    tail = x[..., half:]
    forked = np.concatenate([fork.feed(tail), fork.flush()], axis=-1)  # the copy first: the original must not move
    ours = np.concatenate([den.feed(tail), den.flush()], axis=-1)
    np.testing.assert_array_equal(forked, ours)
    alone = StreamingDenoiser(SR, channels, model=model)
    np.testing.assert_array_equal(np.concatenate([head, ours], axis=-1),
                                  np.concatenate([alone.feed(x), alone.flush()], axis=-1))


@pytest.mark.parametrize("take", [copy.deepcopy, copy.copy, _pickled], ids=["deepcopy", "copy", "pickle"])
def test_a_resampling_denoiser_copies_between_streams_and_says_why_not_mid_stream(take) -> None:
    x = _speech(48000 // 4)
    den = StreamingDenoiser(48000)
    fresh = take(den)  # before its first feed: a copy of the settings
    np.testing.assert_array_equal(np.concatenate([fresh.feed(x), fresh.flush()]),
                                  np.concatenate([den.feed(x), den.flush()]))
    den.feed(x)
    with pytest.raises(TypeError, match=r"^cannot copy a StreamingDenoiser mid-stream at 48000 Hz: .*soxr.*"
                                        r"copy it before its first feed\(\) or after flush\(\)"):
        take(den)
    den.flush()
    after = take(den)
    np.testing.assert_array_equal(np.concatenate([after.feed(x), after.flush()]),
                                  np.concatenate([den.feed(x), den.flush()]))


def test_a_denoiser_shows_in_one_short_line() -> None:
    # before: <tsae.pipelines.denoise.denoiser.StreamingDenoiser object at 0x...>
    den = StreamingDenoiser(48000, 2)
    assert repr(den) == "StreamingDenoiser(model='denoiser2', sample_rate=48000, channels=2, fed=0)"
    den.feed(_speech(4800, 2))
    assert repr(den) == "StreamingDenoiser(model='denoiser2', sample_rate=48000, channels=2, fed=4800)"
    den.flush()
    assert repr(den).endswith("fed=0)")


@pytest.mark.parametrize("take", [copy.deepcopy, copy.copy, _pickled], ids=["deepcopy", "copy", "pickle"])
def test_a_low_delay_resampling_denoiser_copies_mid_stream(take) -> None:
    x = _speech(44100 // 2)
    den = StreamingDenoiser(44100, resample_quality="LD")
    head = den.feed(x[:5000])
    fork = take(den)
    ours = np.concatenate([den.feed(x[5000:]), den.flush()])
    np.testing.assert_array_equal(np.concatenate([fork.feed(x[5000:]), fork.flush()]), ours)
    np.testing.assert_array_equal(np.concatenate([head, ours]), np.concatenate([den.feed(x), den.flush()]))

