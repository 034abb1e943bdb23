"""Streaming equals batch, bit for bit, for any chunking; bounded memory; latency; errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsae.engine.framing import frame, overlap_add
from tsae.engine.streaming import StreamFramer, StreamOverlapAdd

PROPS = settings(max_examples=40, deadline=None)

windows = st.sampled_from([None, "hann", "hamming"])
leads = st.sampled_from([(), (1,), (2,)])


def bits(a: np.ndarray) -> np.ndarray:
    """The raw float32 bit patterns: equality here is bit-for-bit (-0.0 != 0.0)."""
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def split(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    points = sorted({0, n, *(c % (n + 1) for c in cuts)})
    pieces = list(zip(points[:-1], points[1:], strict=True))
    return [(0, 0)] + pieces + [(n, n)]  # empty chunks at both ends too


@PROPS
@given(lead=leads, n=st.integers(0, 400), length=st.integers(1, 48), hop=st.integers(1, 60), window=windows,
       cuts=st.lists(st.integers(0, 400), max_size=8), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_stream_framer_equals_batch(lead, n, length, hop, window, cuts, seed, dtype) -> None:
    x = np.random.default_rng(seed).standard_normal(lead + (n,)).astype(dtype)
    framer = StreamFramer(length, hop, window)
    pieces = []
    for a, b in split(n, cuts):
        out = framer.push(x[..., a:b])
        assert out.shape[:-2] == lead and out.shape[-1] == length
        assert sum(p.shape[-1] for p in framer._parts) < length  # memory bounded: less than one frame kept
        pieces.append(out)
    streamed = np.concatenate(pieces, axis=-2)
    assert framer.samples_seen == n and framer.frames_emitted == streamed.shape[-2]
    if n >= length:
        np.testing.assert_array_equal(bits(streamed), bits(frame(x, length, hop, window)))
    else:
        assert streamed.shape[-2] == 0
    tail = framer.flush()
    padded = np.concatenate([streamed, tail], axis=-2)
    np.testing.assert_array_equal(bits(padded), bits(frame(x, length, hop, window, pad=True)))
    assert framer.samples_seen == 0 and framer.frames_emitted == 0  # flush resets


@PROPS
@given(lead=leads, count=st.integers(0, 60), length=st.integers(1, 48), hop=st.integers(1, 60), window=windows,
       cuts=st.lists(st.integers(0, 60), max_size=8), seed=st.integers(0, 2**16))
def test_stream_overlap_add_equals_batch(lead, count, length, hop, window, cuts, seed) -> None:
    frames = np.random.default_rng(seed).standard_normal(lead + (count, length)).astype(np.float32)
    ola = StreamOverlapAdd(length, hop, window)
    pieces = []
    for a, b in split(count, cuts):
        out = ola.push(frames[..., a:b, :])
        assert out.shape[:-1] == lead
        # every frame that could still touch an unreturned sample, and no more
        assert ola._kept.shape[-2] <= -(-length // hop) - 1 if hop < length else ola._kept.shape[-2] == 0
        pieces.append(out)
        if ola.frames_seen:
            end = (ola.frames_seen - 1) * hop + min(hop, length)
            assert ola.samples_emitted == end  # output lags the last frame's end by `latency`
    pieces.append(ola.flush())
    streamed = np.concatenate(pieces, axis=-1)
    np.testing.assert_array_equal(bits(streamed), bits(overlap_add(frames, hop, window)))


@PROPS
@given(n=st.integers(1, 600), cuts=st.lists(st.integers(0, 600), max_size=6), seed=st.integers(0, 2**16),
       shape=st.sampled_from([(64, 16), (64, 32), (50, 20), (32, 24)]))
def test_live_chain_reconstructs_the_signal(n, cuts, seed, shape) -> None:
    """framer -> (identity model) -> overlap-add streams the signal back, delayed by the latency."""
    length, hop = shape
    x = np.random.default_rng(seed).standard_normal((2, n)).astype(np.float32)
    framer, ola = StreamFramer(length, hop, "hann", channels=2), StreamOverlapAdd(length, hop, "hann", channels=2)
    pieces = []
    for a, b in split(n, cuts):
        pieces.append(ola.push(framer.push(x[:, a:b])))
        if framer.frames_emitted:
            assert framer.samples_seen - ola.samples_emitted < length + hop  # bounded delay
    pieces.append(ola.push(framer.flush()))
    pieces.append(ola.flush())
    y = np.concatenate(pieces, axis=-1)[:, :n]
    np.testing.assert_array_equal(bits(y), bits(overlap_add(frame(x, length, hop, "hann", pad=True), hop, "hann",
                                                            length=n)))
    np.testing.assert_allclose(y[:, 1:], x[:, 1:], rtol=1e-5, atol=1e-5)


def test_latency_and_doc_numbers() -> None:
    assert StreamOverlapAdd(512, 128).latency == 384
    assert StreamOverlapAdd(64, 64).latency == 0
    ola = StreamOverlapAdd(512, 128, "hann")
    assert ola.push(np.ones((1, 512))).shape == (128,)
    assert ola.push(np.ones((2, 512))).shape == (256,)
    assert ola.flush().shape == (384,)


def test_flush_of_an_empty_stream() -> None:
    assert StreamFramer(8, 2).flush().shape == (0, 8)
    assert StreamFramer(8, 2, channels=3).flush().shape == (3, 0, 8)
    assert StreamOverlapAdd(8, 2).flush().shape == (0,)
    assert StreamOverlapAdd(8, 2, channels=2).push(np.zeros((2, 0, 8))).shape == (2, 0)


def test_reset_starts_over() -> None:
    framer = StreamFramer(4, 2)
    framer.push(np.arange(7.0))
    framer.reset()
    assert framer.samples_seen == 0 and framer.frames_emitted == 0
    out = framer.push(np.arange(4.0, 12.0).reshape(2, 4))  # reset also forgets the channel layout
    np.testing.assert_array_equal(out, [[[4, 5, 6, 7]], [[8, 9, 10, 11]]])


@pytest.mark.parametrize(
    "make, data, message",
    [
        (lambda: StreamFramer(0, 2), None, "length must be >= 1"),
        (lambda: StreamFramer(8, 0), None, "hop must be >= 1"),
        (lambda: StreamFramer(8, 2, channels=0), None, "channels must be >= 1"),
        (lambda: StreamFramer(8, 2, window_fn=np.ones(3)), None, "window_fn must have shape \\(8,\\)"),
        (lambda: StreamFramer(8, 2, channels=2), np.zeros(10), "leading shape \\(\\) .* carries \\(2,\\)"),
        (lambda: StreamFramer(8, 2), np.zeros(10, complex), "chunk must be a real numeric array"),
        (lambda: StreamFramer(8, 2), np.float64(1.0), "0-d"),
        (lambda: StreamOverlapAdd(8, 2), np.zeros((3, 7)), "frames must have shape \\(..., k, 8\\)"),
        (lambda: StreamOverlapAdd(8, 2), np.zeros(8), "frames must have shape"),
        (lambda: StreamOverlapAdd(8, 2, channels=2), np.zeros((3, 1, 8)), "carries \\(2,\\)"),
    ],
)
def test_errors(make, data, message) -> None:
    with pytest.raises(ValueError, match=message):
        make().push(data)


def test_channel_layout_is_fixed_by_the_first_push() -> None:
    framer = StreamFramer(8, 2)
    framer.push(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="same channels"):
        framer.push(np.zeros((3, 5)))
    ola = StreamOverlapAdd(8, 2)
    ola.push(np.zeros((1, 8)))
    with pytest.raises(ValueError, match="same channels"):
        ola.push(np.zeros((2, 1, 8)))


def test_streams_copy_what_they_keep() -> None:
    """A caller that reuses its chunk or frame buffer (live audio does) must not change the output."""
    x = np.random.default_rng(3).standard_normal(300).astype(np.float32)
    framer, buf = StreamFramer(64, 16, "hann"), np.empty(100, np.float32)
    pieces = []
    for a in range(0, 300, 100):
        buf[:] = x[a : a + 100]
        pieces.append(framer.push(buf))
    np.testing.assert_array_equal(np.concatenate(pieces), frame(x, 64, 16, "hann"))
    frames = frame(x, 64, 16, "hann")
    ola, fbuf = StreamOverlapAdd(64, 16, "hann"), np.empty((1, 64), np.float32)
    pieces = []
    for f in frames:
        fbuf[0] = f
        pieces.append(ola.push(fbuf))
    pieces.append(ola.flush())
    np.testing.assert_array_equal(np.concatenate(pieces), overlap_add(frames, 16, "hann"))


def test_samples_before_a_long_frame_fills_are_joined_once(monkeypatch) -> None:
    """Every push joined the held samples with the new ones: pushes of a block towards a frame of 8 million
    samples copied the growing buffer each time (30 s for `tsae frame --window 8000000 --center` of 1,000 samples)."""
    joined = []
    concatenate = np.concatenate
    monkeypatch.setattr(np, "concatenate", lambda parts, *a, **k: joined.append(len(parts)) or
                        concatenate(parts, *a, **k))
    x = np.random.default_rng(1).standard_normal((2, 10_000)).astype(np.float32)
    framer = StreamFramer(5000, 1000)
    pieces = [framer.push(x[:, i: i + 100]) for i in range(0, 10_000, 100)]
    assert len(joined) < 20  # once for each frame (6, and a few of numpy's own), not once a push (100)
    assert np.array_equal(np.concatenate(pieces, axis=-2), frame(x, 5000, 1000))
