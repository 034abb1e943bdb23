"""The in-loop interpolation mode (7): exact round trips within the bound, chosen on a smooth signal under a coarse
bound and not on white noise, corrupt mode data refused in one error."""
from __future__ import annotations

import io

import numpy as np
import pytest

from tsae.pipelines.compress import compress_series, decompress_series
from tsae.pipelines.compress import residual as residual_module
from tsae.pipelines.compress.container import Block, Reader
from tsae.pipelines.compress.entropy import ADAPTIVE, pack_ints
from tsae.pipelines.compress.inloop import FINE, fine_values, inloop_decode, inloop_stream
from tsae.pipelines.compress.quantise import grid_steps, to_grid
from tsae.pipelines.compress.residual import INLOOP, INTERP, SHIFT, code_residual, decode_residual, fit_taps

from compress_helpers import rewritten, walk


def _size(ints: np.ndarray) -> int:
    return len(pack_ints(ints, ADAPTIVE)[1])


def _signal(kind: str, m: int) -> np.ndarray:
    t = np.arange(m)
    if kind == "smooth":
        return np.sin(t / 11.0) * np.cos(t / 97.0)
    if kind == "noisy":
        return np.random.default_rng(m).normal(size=m) * 1e3
    return np.full(m, -1.2345)


@pytest.mark.parametrize("kind", ["smooth", "noisy", "constant"])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7, 8, 9, 31, 1001])
def test_the_stream_decodes_exactly_to_values_within_half_a_grid_step(kind, m):
    x, step = _signal(kind, m), 0.02
    taps = fit_taps(np.rint(x[::4] / step).astype(np.int64))
    stream, decoded = inloop_stream(fine_values(x, step), taps, SHIFT)
    assert stream.shape == x.shape
    np.testing.assert_array_equal(inloop_decode(stream, taps, SHIFT), decoded)
    assert np.abs(decoded - fine_values(x, step)).max() <= FINE // 2
    assert np.abs(decoded * (step / FINE) - x).max() <= step / 2 * (1 + 1e-12)


@pytest.fixture
def force_inloop(monkeypatch):
    """Make every other mode cost ``inf``, so that the coder takes the in-loop mode in every channel."""
    monkeypatch.setattr(residual_module, "_channel_costs", lambda costs, streams, interps: [np.inf] * len(streams))


@pytest.mark.parametrize("n", [1, 17, 333, 2000])
def test_containers_with_the_mode_forced_round_trip_within_the_bound(vq_model, force_inloop, n):
    x = np.concatenate([walk(n), np.sin(np.arange(n) / 5.0)[None].repeat(2, 0)], axis=1)  # odd-length last blocks
    x[1, n // 2] = np.nan
    data = compress_series(vq_model, x, max_error=0.05, block_windows=7)
    blocks = list(Reader(io.BytesIO(data), "f").blocks())
    assert all((block.arrays["predictor"] == INLOOP).all() and "taps" in block.arrays for block in blocks)
    back = decompress_series(data, vq_model)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(x))
    assert np.nanmax(np.abs(back - x)) <= 0.05


def test_it_is_chosen_on_a_smooth_signal_under_a_coarse_bound_and_not_on_white_noise():
    t = np.arange(8192)
    smooth = (np.sin(t / 9.0) * np.sin(t / 210.0))[None]
    noise = np.random.default_rng(3).normal(size=(1, 8192))
    for x, chosen in ((smooth, True), (noise, False)):
        steps = grid_steps(np.array([0.02 * np.ptp(x)]))
        q = to_grid(x, steps)
        stored, modes, coefs, taps, _ = code_residual(q, np.zeros_like(q), _size, 0, fine=(x, steps))
        assert (modes[0] == INLOOP) == chosen
        plain = code_residual(q, np.zeros_like(q), _size, 0)[0]
        assert _size(stored[0]) < (0.9 if chosen else 1.0001) * _size(plain[0])
        values = decode_residual(stored, modes, np.zeros_like(q), coefs, taps) * residual_module.grid_scales(
            steps, modes)[:, None]
        assert np.abs(values - x).max() <= steps[0] / 2


def test_speech_like_series_compress_smaller_within_the_bound(vq_model):
    t = np.arange(20000)  # a band-limited, amplitude-modulated signal with pauses, as oversampled speech is
    x = (np.sin(t / 7.0) + 0.5 * np.sin(t / 3.1)) * np.maximum(np.sin(t / 900.0), 0)
    x = np.stack([x, x[::-1]])
    data = compress_series(vq_model, x, max_error=0.02)
    modes = {int(m) for block in Reader(io.BytesIO(data), "f").blocks() for m in block.arrays["predictor"]}
    assert INLOOP in modes
    assert np.abs(decompress_series(data, vq_model) - x).max() <= 0.02


def _with_block_arrays(data: bytes, change) -> bytes:
    blocks = list(Reader(io.BytesIO(data), "f").blocks())
    return rewritten(data, blocks=[Block(b.samples, b.latent_step, b.check, change(dict(b.arrays))) for b in blocks])


@pytest.mark.parametrize("change, message", [
    (lambda a: {k: v for k, v in a.items() if k != "taps"}, "taps missing or malformed"),
    (lambda a: {**a, "predictor": a["predictor"] * 0 + INTERP}, "differ from the ones checked"),
    (lambda a: {**a, "residual": a["residual"] + 1}, "differ from the ones checked"),
    (lambda a: {**a, "residual": a["residual"] * 0 + 2**62}, "differ from the ones checked"),
])
def test_corrupt_mode_data_is_one_error_naming_the_file(vq_model, force_inloop, change, message):
    good = compress_series(vq_model, walk(300), max_error=0.05, block_windows=8)
    with pytest.raises(ValueError, match=rf"^h\.tsz: .*{message}"):
        decompress_series(_with_block_arrays(good, change), vq_model, name="h.tsz")


def test_it_is_not_offered_where_the_grid_values_are_too_large_for_its_sums():
    x = np.sin(np.arange(4096) / 9.0)[None] * 2.0**40  # grid values up to 2^33 > LIMIT
    steps = np.array([2.0**7])
    q = to_grid(x, steps)
    assert not residual_module._offered(q)[0]
    modes = code_residual(q, np.zeros_like(q), _size, 0, fine=(x, steps))[1]
    assert modes[0] != INLOOP


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7, 8, 9, 31, 1001])
def test_with_a_quantum_of_one_the_kernel_is_mode_5s_numpy_interpolation(m):
    # the numba kernel's cubic prediction is a scalar twin of interp._predict's (kept for speed): with nothing to
    # quantise, its stream must be mode 5's, and its decoded values the grid values themselves
    from tsae.pipelines.compress._kernels import inloop_code
    from tsae.pipelines.compress.interp import CUBIC_KIND, STRIDE, interp_residual

    q = np.cumsum(np.random.default_rng(m).integers(-50, 50, m)).astype(np.int64)
    taps = residual_module.anchor_taps(q[None])[0]
    stored, out = np.empty_like(q), np.empty_like(q)
    inloop_code(q, taps, SHIFT, 1, STRIDE, True, stored, out)
    np.testing.assert_array_equal(stored, interp_residual(q, residual_module.taps_residual(q[::STRIDE], taps),
                                                          CUBIC_KIND))
    np.testing.assert_array_equal(out, q)
