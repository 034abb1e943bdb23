"""The non-causal modes (5 cubic, 6 linear interpolation): exact round trips, chosen only where they code smaller,
containers from before them still read, corrupt mode data refused in one error."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from tsae.pipelines.compress import compress_series, decompress_series
from tsae.pipelines.compress import residual as residual_module
from tsae.pipelines.compress.container import Block, Reader
from tsae.pipelines.compress.entropy import ADAPTIVE, pack_ints
from tsae.pipelines.compress.interp import CUBIC_KIND, LINEAR_KIND, interp_decode, interp_residual
from tsae.pipelines.compress.residual import (
    INLOOP,
    INTERP,
    INTERP_LINEAR,
    MODES,
    TAPS,
    _interp_streams,
    code_residual,
    decode_residual,
)

from compress_helpers import rewritten, walk

FIXTURES = Path(__file__).parents[2] / "fixtures" / "tsz"
INTERPS = (INTERP, INTERP_LINEAR)


def _size(ints: np.ndarray) -> int:
    return len(pack_ints(ints, ADAPTIVE)[1])


def _series(kind: str, m: int) -> np.ndarray:
    rng = np.random.default_rng(m)
    t = np.arange(m)
    if kind == "smooth":
        return np.rint(4000 * np.sin(t / 11.0) * np.cos(t / 97.0)).astype(np.int64)[None]
    if kind == "noisy":
        return rng.integers(-2**31, 2**31, size=(2, m))
    return np.full((1, m), -123456, np.int64)


@pytest.mark.parametrize("kind", ["smooth", "noisy", "constant"])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7, 8, 9, 31, 1001])
@pytest.mark.parametrize("mode", INTERPS)
def test_each_interpolation_mode_comes_back_exactly(kind, m, mode):
    q = _series(kind, m)
    taps, stream = _interp_streams(q)[INTERPS.index(mode)]
    assert stream.shape == q.shape
    np.testing.assert_array_equal(decode_residual(stream, np.full(len(q), mode), np.zeros_like(q), None, taps), q)


def test_the_kernel_predicts_a_cubic_exactly_between_its_neighbours_and_a_line_by_both_kinds():
    t = np.arange(64, dtype=np.int64)
    cubic = (t - 20) ** 3 + 5 * t * t  # a cubic is what the 4-point kernel reproduces (away from the edges)
    stream = interp_residual(cubic, cubic[::4], CUBIC_KIND)
    level2, level1 = stream[16:32], stream[32:]  # positions 2, 6 ... 62 and 1, 3 ... 63
    # all zero but where a neighbour 3 s away is past an edge (quadratic: 2, 58, 1, 61) or the right one is (copied)
    assert not level2[1:-2].any() and not level1[1:-2].any() and level2[-1] and level1[-1]
    line = 7 * t - 300
    for kind in (CUBIC_KIND, LINEAR_KIND):
        stream = interp_residual(line, line[::4], kind)
        assert not stream[16:31].any() and not stream[32:-1].any()  # all but each level's last (copied)
        np.testing.assert_array_equal(interp_decode(stream, line[::4], kind), line)


@pytest.fixture
def offer_interp(monkeypatch):
    """Let the encoder offer modes 5 and 6 again, as it did when they were written (their decoder stays)."""
    monkeypatch.setattr(residual_module, "OFFER_INTERP", True)


@pytest.fixture
def force_interp(monkeypatch, offer_interp):
    """Make the coder find the cubic interpolation (mode 5) the cheapest of every channel."""
    def only(costs, streams, interps):
        return [0.0 if i == INTERP else np.inf for i in range(len(streams))]

    monkeypatch.setattr(residual_module, "_channel_costs", only)


@pytest.mark.parametrize("n", [1, 17, 333, 2000])
def test_containers_with_the_mode_forced_round_trip_within_the_bound(vq_model, force_interp, n):
    x = np.concatenate([walk(n), np.sin(np.arange(n) / 5.0)[None].repeat(2, 0)], axis=1)  # odd-length last blocks
    data = compress_series(vq_model, x, max_error=1e-3, block_windows=7)
    blocks = list(Reader(io.BytesIO(data), "f").blocks())
    assert all((block.arrays["predictor"] == INTERP).all() and "taps" in block.arrays for block in blocks)
    assert np.abs(decompress_series(data, vq_model) - x).max() <= 1e-3


def test_interpolation_is_chosen_on_an_oversampled_sine_and_not_on_white_noise(offer_interp):
    t = np.arange(8192)
    rng = np.random.default_rng(8)  # a modulated sine, 9 samples a radian, on a grid finer than its noise
    sine = np.rint(3000 * np.sin(t / 9.0) * np.sin(t / 210.0) + rng.normal(size=t.size)).astype(np.int64)[None]
    noise = np.random.default_rng(3).integers(-50, 50, size=(1, 8192))
    modes = [code_residual(q, np.zeros_like(q), _size, codes_cost=0)[1][0] for q in (sine, noise)]
    assert modes[0] in INTERPS and modes[1] not in INTERPS
    stored, modes_, coefs, taps, _ = code_residual(sine, np.zeros_like(sine), _size, codes_cost=0)
    assert _size(stored[0]) < 0.9 * _size(np.diff(sine[0], prepend=0))
    np.testing.assert_array_equal(decode_residual(stored, modes_, np.zeros_like(sine), coefs, taps), sine)


def test_the_encoder_writes_them_only_where_the_in_loop_mode_may_not_code_and_still_reads_them(vq_model,
                                                                                                monkeypatch):
    """Since the in-loop mode (7) they are offered only in the channels it may not code; containers that use them
    elsewhere (written before) still decode."""
    t = np.arange(8000)
    x = (np.sin(t / 9.0) * np.sin(t / 210.0) + 3e-4 * np.random.default_rng(8).normal(size=t.size))[None].repeat(2, 0)
    noise = np.random.default_rng(8).normal(size=t.size)  # grid values that mode 5 or 6 wins on without mode 7
    q = np.rint(3000 * np.sin(t / 9.0) * np.sin(t / 210.0) + noise).astype(np.int64)[None]
    fine = (q.astype(np.float64), np.ones(1))
    assert not np.isin(code_residual(q, np.zeros_like(q), _size, 0, fine=fine)[1], INTERPS).any()
    tight = np.sin(t / 9.0) * np.sin(t / 210.0) + 1e-9 * noise  # a bound so tight that |q| > 2^28: no mode 7
    fine_data = compress_series(vq_model, tight[None].repeat(2, 0), max_error=5e-10, relative=True)
    assert any(np.isin(b.arrays["predictor"], INTERPS).any() for b in Reader(io.BytesIO(fine_data), "t").blocks())
    now = compress_series(vq_model, x, max_error=1e-3)
    assert not any(np.isin(b.arrays["predictor"], INTERPS).any() for b in Reader(io.BytesIO(now), "t").blocks())
    monkeypatch.setattr(residual_module, "OFFER_INTERP", True)
    monkeypatch.setattr(residual_module, "_offered", lambda q: [False] * q.shape[0])  # as before mode 7
    before = compress_series(vq_model, x, max_error=1e-3)
    monkeypatch.undo()
    assert all(np.isin(b.arrays["predictor"], INTERPS).any() for b in Reader(io.BytesIO(before), "t").blocks())
    assert np.abs(decompress_series(before, vq_model) - x).max() <= 1e-3


@pytest.mark.parametrize("coder", ["adaptive", "lzma", "zlib"])
def test_only_the_adaptive_coder_writes_it(vq_model, coder):
    """A container of a byte-plane coder stays readable by a tsae from before these modes."""
    t = np.arange(8000)
    x = (np.sin(t / 9.0) * np.sin(t / 210.0) + 3e-4 * np.random.default_rng(8).normal(size=t.size))[None].repeat(2, 0)
    data = compress_series(vq_model, x, max_error=1e-3, coder=coder)
    blocks = Reader(io.BytesIO(data), "t").blocks()
    non_causal = (*INTERPS, INLOOP)  # the in-loop mode (7) codes this sine smaller still
    assert any(np.isin(block.arrays["predictor"], non_causal).any() for block in blocks) == (coder == "adaptive")
    assert np.abs(decompress_series(data, vq_model) - x).max() <= 1e-3


def test_a_container_written_before_the_mode_decodes_as_it_did(vq_model):
    data = (FIXTURES / "v3_adaptive.tsz").read_bytes()
    modes = {int(m) for block in Reader(io.BytesIO(data), "f").blocks() for m in block.arrays["predictor"]}
    assert TAPS in modes
    np.testing.assert_array_equal(decompress_series(data, vq_model, name="v3_adaptive.tsz"),
                                  np.load(FIXTURES / "v3_adaptive.npy"))


def _with_block_arrays(data: bytes, change) -> bytes:
    blocks = list(Reader(io.BytesIO(data), "f").blocks())
    return rewritten(data, blocks=[Block(b.samples, b.latent_step, b.check, change(dict(b.arrays))) for b in blocks])


@pytest.mark.parametrize("change, message", [
    (lambda a: {k: v for k, v in a.items() if k != "taps"}, "taps missing or malformed"),
    (lambda a: {**a, "taps": a["taps"][:, :3]}, "taps missing or malformed"),
    (lambda a: {**a, "taps": a["taps"] * 0 + (1 << 40)}, "taps missing or malformed"),
    (lambda a: {**a, "predictor": a["predictor"] * 0 + max(MODES) + 1}, "predictor mode 8 is unknown to this tsae"),
    (lambda a: {**a, "predictor": a["predictor"] * 0 + INTERP_LINEAR}, "differ from the ones checked"),
    (lambda a: {**a, "residual": a["residual"] * 0 + 2**62}, "differ from the ones checked"),
])
def test_corrupt_mode_data_is_one_error_naming_the_file(vq_model, force_interp, change, message):
    good = compress_series(vq_model, walk(300), max_error=1e-3, block_windows=8)
    with pytest.raises(ValueError, match=rf"^h\.tsz: .*{message}"):
        decompress_series(_with_block_arrays(good, change), vq_model, name="h.tsz")


def test_an_interpolation_stream_is_costed_only_where_its_rough_size_is_no_larger_than_the_others():
    costed = []

    def cost(ints):
        costed.append(int(ints[0]))
        return int(ints.sum())

    costs = residual_module._Costs(cost, rough=lambda ints: int(ints.sum()))
    streams = [np.full(4, v) for v in (50, 40, 60, 41, 40)]  # three others, then the two interpolation streams
    found = residual_module._channel_costs(costs, streams, interps=2)
    assert found[3] == np.inf and found[4] == 160 and 41 not in costed
    assert residual_module._channel_costs(residual_module._Costs(cost, None), streams, 2)[3] == 164  # no estimate
