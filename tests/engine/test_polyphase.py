"""The low-delay polyphase resampler: exact streaming, a constant delay, and a speech-band filter."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsae.engine.polyphase import MAX_TAPS, PolyphaseResampler, polyphase_filter

PAIRS = [(48000, 16000), (16000, 48000), (44100, 16000), (16000, 44100), (8000, 16000), (16000, 8000)]


def noise(rate: int, seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((channels, int(rate * seconds))).astype(np.float32)


@settings(max_examples=25, deadline=None)
@given(pair=st.sampled_from(PAIRS), cuts=st.lists(st.integers(0, 1500), min_size=1, max_size=12),
       channels=st.integers(1, 2))
def test_any_chunking_gives_the_samples_of_one_call(pair, cuts, channels) -> None:
    rate_in, rate_out = pair
    x = noise(rate_in, 0.2, channels)
    whole = PolyphaseResampler(rate_in, rate_out, channels).push(x, last=True)
    assert whole.shape == (channels, round(x.shape[1] * rate_out / rate_in + 1e-9))
    rs = PolyphaseResampler(rate_in, rate_out, channels)
    parts, i = [], 0
    for n in cuts:
        parts.append(rs.push(x[:, i: i + n]))
        i += n
    parts.append(rs.push(x[:, i:], last=True))
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


@pytest.mark.parametrize("rate_in,rate_out", PAIRS)
def test_each_sample_comes_out_a_constant_delay_after_its_input(rate_in, rate_out) -> None:
    """Fed 10 ms chunks (and odd ones), the output always trails the input by the delay, less under one output
    sample: every sample is given back as soon as the input half a filter past it is there."""
    rs = PolyphaseResampler(rate_in, rate_out)
    fed = out = 0
    for n in [rate_in // 100] * 30 + [7, 1, 333, 0, 59] * 5:
        out += rs.push(np.zeros((1, n), np.float32)).shape[1]
        fed += n
        trailing = fed / rate_in - out / rate_out  # seconds of input not yet given back
        assert rs.delay - 1 / rate_out < trailing <= rs.delay + 1e-12
    assert 0.002 < rs.delay < 0.006  # half a filter: 2.5 ms at 48 and 44.1 kHz, 5 ms at 8 kHz


@pytest.mark.parametrize("rate_in,rate_out", PAIRS)
def test_speech_band_passes_aligned_and_the_rest_is_stopped(rate_in, rate_out) -> None:
    low = min(rate_in, rate_out)
    t_in, t_out = np.arange(rate_in // 2) / rate_in, np.arange(rate_out // 2) / rate_out
    middle = slice(rate_out // 8, 3 * rate_out // 8)
    for f in (0.05 * low, 0.25 * low, 7 / 16 * low):  # up to 7 kHz of 16 kHz: the output is the sine, in time
        y = PolyphaseResampler(rate_in, rate_out).push(np.sin(2 * np.pi * f * t_in)[None], last=True)[0]
        err = y[middle] - np.sin(2 * np.pi * f * t_out[middle])
        assert np.sqrt(np.mean(err ** 2)) < 1e-3 * np.sqrt(0.5)  # 60 dB below the sine
    if rate_in > rate_out:  # what would fold into the band is 80 dB down from half the lower rate on
        for f in (0.5 * low, 0.55 * low, 0.8 * low):
            y = PolyphaseResampler(rate_in, rate_out).push(np.sin(2 * np.pi * f * t_in)[None], last=True)[0]
            assert np.sqrt(np.mean(y[middle] ** 2)) < 1e-4 * np.sqrt(0.5)


def test_a_copy_goes_on_as_the_original_would() -> None:
    x = noise(44100, 0.1)
    rs = PolyphaseResampler(44100, 16000)
    head = rs.push(x[:, :1000])
    fork = copy.deepcopy(rs)
    tail = rs.push(x[:, 1000:], last=True)
    np.testing.assert_array_equal(fork.push(x[:, 1000:], last=True), tail)
    np.testing.assert_array_equal(np.concatenate([head, tail], axis=1),
                                  PolyphaseResampler(44100, 16000).push(x, last=True))


def test_last_resets_the_stream() -> None:
    x = noise(48000, 0.05)
    rs = PolyphaseResampler(48000, 16000)
    first = rs.push(x, last=True)
    np.testing.assert_array_equal(rs.push(x, last=True), first)
    assert rs.push(x[:, :0], last=True).shape == (1, 0)


def test_refusals_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"^expected \(2, n\) samples, got shape \(3, 10\)$"):
        PolyphaseResampler(48000, 16000, 2).push(np.zeros((3, 10)))
    with pytest.raises(ValueError, match=rf"^a low-delay resampler from 47999 to 16000 Hz needs \d+ filter "
                                         rf"coefficients \(their ratio is 16000/47999; at most {MAX_TAPS}\)"):
        polyphase_filter(47999, 16000)
    with pytest.raises(ValueError, match="rate_in must be >= 1"):
        PolyphaseResampler(0, 16000)
