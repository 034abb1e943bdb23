"""frame / overlap_add against plain numpy references, round trips, padding, centring, errors."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from tsae.engine.framing import frame, num_frames, overlap_add, window_array
from tsae.engine.streaming import StreamFramer

PROPS = settings(max_examples=40, deadline=None)


# ----------------------------------------------------------------------------- references
def ref_window(window, length: int) -> np.ndarray:
    if window is None:
        return np.ones(length, np.float32)
    if isinstance(window, str):
        return scipy.signal.get_window(window, length, fftbins=True).astype(np.float32)
    return np.asarray(window, np.float32)


def ref_frame(x, length, hop, window=None, pad=False, center=False, pad_mode="constant") -> np.ndarray:
    """Index-array framing of an explicitly padded signal (float32 arithmetic, like the engine)."""
    x = np.asarray(x).astype(np.float32)
    n = x.shape[-1]
    if center:
        half = length // 2
        widths = [(0, 0)] * (x.ndim - 1) + [(half, half)]
        x = np.pad(x, widths, mode=pad_mode) if n else x
    m = x.shape[-1]
    count = 0 if m < length else 1 + (m - length) // hop
    if pad and n:  # the fewest frames whose last one reaches the end
        count = max(count, 1)
        while (count - 1) * hop + length < m:
            count += 1
    need = (count - 1) * hop + length if count else 0
    if need > m:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (need - m,), np.float32)], axis=-1)
    idx = np.arange(count)[:, None] * hop + np.arange(length)[None, :]
    return (x[..., idx] * ref_window(window, length)).astype(np.float32)


def ref_overlap_add(frames, hop, window=None) -> np.ndarray:
    """Loop over frames in float64: sum(frames * w) / sum(w**2), 0 where the sum is 0."""
    frames = np.asarray(frames, np.float64)
    count, length = frames.shape[-2:]
    w = ref_window(window, length).astype(np.float64)
    total = (count - 1) * hop + length if count else 0
    out = np.zeros(frames.shape[:-2] + (total,))
    norm = np.zeros(total)
    for f in range(count):
        out[..., f * hop : f * hop + length] += frames[..., f, :] * w
        norm[f * hop : f * hop + length] += w * w
    return np.where(norm > 0, out / np.where(norm > 0, norm, 1.0), 0.0), norm


# ----------------------------------------------------------------------------- strategies
windows = st.one_of(
    st.none(),
    st.sampled_from(["hann", "hamming", "blackman", "boxcar"]),
    st.just("random"),
)
leads = st.sampled_from([(), (1,), (3,), (2, 2)])


def make_window(kind, length, seed):
    if kind == "random":
        return np.random.default_rng(seed).uniform(0.1, 1.0, length).astype(np.float32)
    return kind


def signal(lead, n, seed, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(lead + (n,)).astype(dtype)


@PROPS
@given(lead=leads, n=st.integers(1, 300), length=st.integers(1, 64), hop=st.integers(1, 80), wkind=windows,
       pad=st.booleans(), center=st.booleans(), reflect=st.booleans(), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64, np.int16]))
def test_frame_matches_reference(lead, n, length, hop, wkind, pad, center, reflect, seed, dtype) -> None:
    x = signal(lead, n, seed) * (1000 if dtype == np.int16 else 1)
    x = x.astype(dtype)
    window = make_window(wkind, length, seed)
    mode = "reflect" if reflect else "constant"
    if num_frames(n, length, hop, pad, center) == 0:
        with pytest.raises(ValueError, match="length="):
            frame(x, length, hop, window, pad=pad, center=center, pad_mode=mode)
        return
    got = frame(x, length, hop, window, pad=pad, center=center, pad_mode=mode)
    want = ref_frame(x, length, hop, window, pad, center, mode)
    assert got.dtype == np.float32
    assert got.shape == lead + (num_frames(n, length, hop, pad, center), length)
    np.testing.assert_array_equal(got, want)


@PROPS
@given(lead=leads, count=st.integers(0, 40), length=st.integers(1, 48), hop=st.integers(1, 60), wkind=windows,
       seed=st.integers(0, 2**16), dtype=st.sampled_from([np.float32, np.float64, np.int32]))
def test_overlap_add_matches_reference(lead, count, length, hop, wkind, seed, dtype) -> None:
    frames = (np.random.default_rng(seed).standard_normal(lead + (count, length)) * 4).astype(dtype)
    window = make_window(wkind, length, seed)
    got = overlap_add(frames, hop, window)
    want, _ = ref_overlap_add(frames, hop, window)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@PROPS
@given(lead=leads, n=st.integers(1, 400), length=st.integers(1, 64), hop=st.integers(1, 64), wkind=windows,
       center=st.booleans(), seed=st.integers(0, 2**16))
def test_round_trip(lead, n, length, hop, wkind, center, seed) -> None:
    """overlap_add(frame(x)) == x on every sample a frame covers with a non-zero window."""
    x = signal(lead, n, seed, np.float32)
    window = make_window(wkind, length, seed)
    frames = frame(x, length, hop, window, pad=True, center=center)
    y = overlap_add(frames, hop, window, length=n, center=center)
    assert y.shape == x.shape
    _, norm = ref_overlap_add(frames.reshape(-1, *frames.shape[-2:])[:1], hop, window)
    offset = length // 2 if center else 0
    norm = np.concatenate([norm, np.zeros(n + offset)])[offset : offset + n]
    covered = norm > 0
    np.testing.assert_allclose(y[..., covered], x[..., covered], rtol=1e-5, atol=1e-5)
    assert not y[..., ~covered].any()


def test_matches_sliding_window_view() -> None:
    """What librosa.util.frame computes (a strided view, here numpy's), times the window."""
    x = signal((), 5000, 1, np.float32)
    w = scipy.signal.get_window("hann", 400, fftbins=True).astype(np.float32)
    want = np.lib.stride_tricks.sliding_window_view(x, 400)[::160] * w
    np.testing.assert_array_equal(frame(x, 400, 160, "hann"), want)


def test_center_reflect_matches_numpy_pad() -> None:
    x = signal((2,), 100, 2)
    got = frame(x, 32, 8, center=True, pad_mode="reflect")
    padded = np.pad(x, ((0, 0), (16, 16)), mode="reflect").astype(np.float32)
    np.testing.assert_array_equal(got, frame(padded, 32, 8))


def test_hann_round_trip_is_exact_inside() -> None:
    x = signal((), 16000, 3, np.float32)
    y = overlap_add(frame(x, 512, 128, "hann"), 128, "hann", length=x.size)
    np.testing.assert_allclose(y[1:-512], x[1:-512], rtol=1e-6, atol=1e-6)
    assert y[0] == 0.0  # periodic Hann is 0 at the first sample of the first frame


# ----------------------------------------------------------------------------- shapes, dtypes, out=
def test_non_contiguous_and_integer_inputs() -> None:
    x = signal((3,), 400, 4)
    np.testing.assert_array_equal(frame(x[:, ::2], 16, 4), ref_frame(x[:, ::2], 16, 4))
    np.testing.assert_array_equal(frame(x.T.copy().T, 16, 4), ref_frame(x, 16, 4))
    ints = (x * 100).astype(np.int32)
    np.testing.assert_array_equal(frame(ints, 16, 4), ref_frame(ints, 16, 4))
    assert frame([1, 2, 3, 4], 2, 2).tolist() == [[1, 2], [3, 4]]


def test_out_arrays_are_filled_and_returned() -> None:
    x = signal((2,), 1000, 5, np.float32)
    buf = np.empty((2, num_frames(1000, 64, 16), 64), np.float32)
    assert frame(x, 64, 16, "hann", out=buf) is buf
    np.testing.assert_array_equal(buf, frame(x, 64, 16, "hann"))
    dest = np.empty((2, 1000), np.float32)
    assert overlap_add(buf, 16, "hann", length=1000, out=dest) is dest
    np.testing.assert_array_equal(dest, overlap_add(buf, 16, "hann", length=1000))
    with pytest.raises(ValueError, match="out must be a float32 array of shape"):
        frame(x, 64, 16, out=np.empty((2, 3, 64), np.float32))
    with pytest.raises(ValueError, match="out must be a float32"):
        overlap_add(buf, 16, out=np.empty((2, 1000), np.float64), length=1000)


def test_empty_and_degenerate_shapes() -> None:
    assert frame(np.zeros(0), 8, 2, pad=True).shape == (0, 8)
    assert frame(np.zeros((0, 50)), 8, 2).shape == (0, 22, 8)
    assert frame(np.ones(3), 8, 2, pad=True).tolist() == [[1, 1, 1, 0, 0, 0, 0, 0]]
    assert overlap_add(np.zeros((0, 8)), 2).shape == (0,)
    assert overlap_add(np.zeros((0, 8)), 2, length=5).tolist() == [0.0] * 5
    y = overlap_add(np.ones((2, 4)), 8)  # hop > length: the gap between frames is 0
    assert y.tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1]
    assert overlap_add(np.ones((3, 4)), 2, length=20)[10:].tolist() == [0.0] * 10


def test_num_frames() -> None:
    assert num_frames(1000, 512, 128) == 4
    assert num_frames(1000, 512, 128, pad=True) == 5
    assert num_frames(896, 512, 128, pad=True) == 4  # exact fit: no extra frame
    assert num_frames(100, 512, 128) == 0
    assert num_frames(100, 512, 128, pad=True) == 1
    assert num_frames(100, 512, 128, center=True) == 1
    assert num_frames(0, 4, 2, pad=True) == 0


def test_window_array() -> None:
    np.testing.assert_array_equal(window_array("hann", 8), scipy.signal.get_window("hann", 8).astype(np.float32))
    assert window_array(("kaiser", 8.0), 16).shape == (16,)
    assert window_array(None, 8) is None
    assert window_array([1, 2, 3], 3).dtype == np.float32
    with pytest.raises(ValueError, match="no-such-window"):
        window_array("no-such-window", 8)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hop": 0}, "hop must be >= 1, got hop=0"),
        ({"hop": -3}, "hop=-3"),
        ({"hop": 1.5}, "hop must be an integer, got hop=1.5"),
        ({"length": 0}, "length must be >= 1, got length=0"),
        ({"length": 200}, "length=200 is larger than the signal \\(n=100"),
        ({"window_fn": np.ones(5)}, "window_fn must have shape \\(16,\\) to match length=16, got shape \\(5,\\)"),
        ({"window_fn": "nope"}, "window_fn='nope'"),
        ({"x": np.ones(100, complex)}, "x must be a real numeric array.*complex128"),
        ({"x": np.array(["a"] * 100)}, "x must be a real numeric array"),
        ({"x": np.float32(1.0)}, "0-d"),
        ({"pad_mode": "edge", "center": True}, "pad_mode must be one of"),
    ],
)
def test_frame_errors_name_the_parameter(kwargs, message) -> None:
    args = {"x": np.ones(100), "length": 16, "hop": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        frame(args.pop("x"), args.pop("length"), args.pop("hop"), **args)


@pytest.mark.parametrize(
    "frames, kwargs, message",
    [
        (np.ones(8), {}, "frames must have shape \\(..., n_frames, length\\)"),
        (np.ones((3, 0)), {}, "non-zero frame length"),
        (np.ones((3, 8)), {"hop": 0}, "hop=0"),
        (np.ones((3, 8)), {"length": -1}, "length=-1"),
        (np.ones((3, 8)), {"window_fn": "hann", "hop": 2, "length": 1.0}, "length must be an integer"),
        (np.ones((3, 8), complex), {}, "frames must be a real numeric array"),
        (np.ones((3, 8)), {"window_fn": np.ones(4)}, "window_fn must have shape \\(8,\\)"),
    ],
)
def test_overlap_add_errors_name_the_parameter(frames, kwargs, message) -> None:
    hop = kwargs.pop("hop", 2)
    with pytest.raises(ValueError, match=message):
        overlap_add(frames, hop, **kwargs)


def test_a_dataframe_is_framed_along_its_rows() -> None:
    """Rows are time and columns channels, as everywhere in tsae: never framed across the columns."""
    pd = pytest.importorskip("pandas")
    from tsae.engine.streaming import StreamFramer

    values = np.arange(2000.0).reshape(1000, 2)
    table = pd.DataFrame(values, columns=["a", "b"])
    np.testing.assert_array_equal(frame(table, 16, 4), frame(values.T, 16, 4))
    np.testing.assert_array_equal(StreamFramer(16, 4).push(table), frame(values.T, 16, 4))


def test_a_window_of_nan_is_refused() -> None:
    with pytest.raises(ValueError, match="window_fn must hold finite values"):
        frame(np.zeros(64), 16, 4, window_fn=np.full(16, np.nan))


def test_masked_values_are_missing_ones() -> None:
    import tsae

    x = np.ma.masked_array(np.sin(np.arange(300) / 5), mask=np.zeros(300, bool))
    x.mask[100:120] = True
    x.data[100:120] = 99.0  # what a masked array holds under its mask is not data
    filled = tsae.impute(x)
    assert np.abs(filled[100:120]).max() < 1.5 and np.array_equal(filled[:100], x.data[:100])


def test_frames_too_large_to_allocate_are_a_named_memory_error() -> None:
    x = np.zeros(100, dtype=np.float32)
    with pytest.raises(ValueError, match="larger than the signal"):
        frame(x, 2**62, 1, "hann")  # the length is checked before any window is made
    with pytest.raises(MemoryError, match=r"the output of shape \(1, 4611686018427387904\)"):
        frame(x, 2**62, 1, pad=True)
    with pytest.raises(MemoryError, match="a window of shape"):
        StreamFramer(2**62, 1, "hann")
    framer = StreamFramer(2**40, 1)  # no window: none of the frame's length is made (it made 4 TiB of ones)
    assert framer.push(np.ones(10)).shape == (0, 2**40)


def test_a_signal_laid_out_n_by_channels_is_told_to_be_transposed() -> None:
    with pytest.raises(ValueError, match=r"larger than the signal \(n=2 samples\).*x has shape \(600, 2\): time is "
                                         r"the last axis; an \(n, channels\) array is passed as x\.T"):
        frame(np.zeros((600, 2)), 16, 8)  # it said only that the signal had 2 samples
    with pytest.raises(ValueError, match=r"\(n=10 samples\); pass pad=True or center=True, or a shorter length$"):
        frame(np.zeros((2, 10)), 16, 8)  # short, not transposed: no such hint


def test_a_long_named_window_is_not_kept_by_the_cache(monkeypatch) -> None:
    """Every window was cached (64 of them): one of 10**9 samples kept 4 GB for the life of the process."""
    from tsae.engine import framing

    monkeypatch.setattr(framing, "_CACHED_WINDOW", 100, raising=False)
    assert framing.window_array("hann", 100) is framing.window_array("hann", 100)
    long = framing.window_array("hann", 101)
    assert long is not framing.window_array("hann", 101)
    np.testing.assert_array_equal(long, framing._cached_window.__wrapped__("hann", 101, "hann"))
