"""What keeps compression fast: each distinct residual stream costed once, LZMA2 only for the modes a rough
estimate keeps, and a block coded on one thread."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from tsae.pipelines.compress import residual
from tsae.pipelines.compress.entropy import coder_id, pack_ints, rough_size
from tsae.pipelines.compress.residual import PRUNE_FACTOR, PRUNE_MIN_BYTES, code_residual
from tsae.pipelines.compress.stream import Compressor

from compress_helpers import walk


def _series(n: int = 400, noise: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Grid values q and predictions p of three channels: right to ``noise`` steps, off by a drift, a walk."""
    rng = np.random.default_rng(seed)
    p = rng.integers(-50 * noise, 50 * noise, size=(3, n))
    step = lambda: rng.integers(-noise, noise + 1, n)  # noqa: E731
    q = np.stack([p[0] + step(), p[1] + 37 + np.cumsum(step()), np.cumsum(step())])
    return q, p


def _streams(calls: list[bytes]) -> list[bytes]:
    return [c for c in calls if len(c) > 8 * 16]  # the streams, not the four blend coefficients nor the 16 taps


def _counting(calls: list[bytes]):
    def size(ints: np.ndarray) -> int:
        calls.append(np.asarray(ints, dtype=np.int64).tobytes())
        return len(pack_ints(ints, coder_id("lzma"))[1])

    return size


def test_each_distinct_stream_is_costed_once():
    q, p = _series()
    calls: list[bytes] = []
    code_residual(q, p, _counting(calls), codes_cost=0)
    streams = _streams(calls)
    assert len(streams) == len(set(streams))
    # per channel at most 4 modes with the model, 2 without it (q's first difference is a mode's in both), the
    # taps', and the two interpolation streams and their anchors' taps (the same in both)
    assert len(streams) <= 3 * 10


def test_each_distinct_stream_is_estimated_once():
    q, p = _series()
    estimated: list[bytes] = []

    def rough(ints: np.ndarray) -> int:
        estimated.append(np.asarray(ints, dtype=np.int64).tobytes())
        return rough_size(ints)

    code_residual(q, p, _counting([]), codes_cost=0, rough=rough)
    assert estimated and len(estimated) == len(set(estimated))


def test_a_rough_estimate_spares_the_exact_cost_of_far_worse_modes_and_keeps_the_choice():
    q, p = _series(20_000, noise=20)  # streams of 13 KB: above PRUNE_MIN_BYTES
    exact: list[bytes] = []
    plain = code_residual(q, p, _counting(exact), codes_cost=0)
    pruned: list[bytes] = []
    kept = code_residual(q, p, _counting(pruned), codes_cost=0, rough=rough_size)
    assert len(_streams(pruned)) < len(_streams(exact))
    for a, b in zip(plain, kept, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rough", [lambda ints: 10**6, rough_size], ids=["estimates-tie", "small-streams"])
def test_nothing_is_pruned_when_the_estimates_tie_or_the_streams_are_small(rough, monkeypatch):
    monkeypatch.setattr(residual, "INTERP_PRUNE", np.inf)  # the interpolation streams' own rule: test_interp_mode
    q, p = _series()
    calls: list[bytes] = []
    code_residual(q, p, _counting(calls), codes_cost=0, rough=rough)
    plain: list[bytes] = []
    code_residual(q, p, _counting(plain), codes_cost=0)
    assert len(_streams(calls)) == len(_streams(plain))
    assert PRUNE_FACTOR > 1 and rough_size(q[0] - p[0]) < PRUNE_MIN_BYTES


def test_a_block_is_coded_on_one_thread(conv_model, monkeypatch):
    seen: list[int] = []
    encode = type(conv_model.model).encode

    def spy(self, x):
        seen.append(torch.get_num_threads())
        return encode(self, x)

    monkeypatch.setattr(type(conv_model.model), "encode", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        handle = io.BytesIO()
        writer = Compressor(handle, conv_model, max_error=1e-2, block_windows=4)
        writer.write(walk(200))
        writer.close()
        assert torch.get_num_threads() == 2  # as it was, after
    finally:
        torch.set_num_threads(before)
    assert seen and set(seen[1:]) == {1}  # the first call: the code shape, probed when the compressor is made


def test_a_costed_stream_is_not_coded_again_to_be_written(monkeypatch):
    from tsae.pipelines.compress import entropy
    from tsae.pipelines.compress.blocks import code_block, predict_block
    from tsae.pipelines.compress.codes import CodeModel
    from tsae.pipelines.compress.container import encode_block
    from tsae.plugins import create_model

    from compress_helpers import WINDOW, loaded

    torch.manual_seed(0)
    model = CodeModel(loaded(create_model("conv1d", 1, WINDOW, depth=2, hidden=4, latent=4)))
    x = walk(40 * WINDOW)[:1]
    prediction = predict_block(model, x, 0.1)
    coded: list[bytes] = []
    real = entropy._coder

    def spy(ident: int):
        encode, decode = real(ident)
        if ident != coder_id("lzma"):
            return encode, decode
        return (lambda data: coded.append(bytes(data)) or encode(data)), decode

    monkeypatch.setattr(entropy, "_coder", spy)
    block, _, payload = code_block(prediction, np.array([0.05]), coder_id("lzma"))
    assert len(coded) == len(set(coded))  # one channel: its residual section is the stream costed
    assert payload == encode_block(block, coder_id("lzma"))
