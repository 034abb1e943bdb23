"""A block whose codes cost more than coding it without the model needs no prediction: the network's decoder is not
run and the model's modes are not costed, and the container is the same as when they are."""
from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from tsae.pipelines.compress import stream
from tsae.pipelines.compress.blocks import code_block, predict_block
from tsae.pipelines.compress.codes import CodeModel
from tsae.pipelines.compress.entropy import ADAPTIVE, coder_id, pack_ints
from tsae.pipelines.compress.residual import code_residual
from tsae.pipelines.compress.stream import AUTO_STEPS, Compressor

from compress_helpers import walk


def _grid(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Grid values of two channels and a prediction a few steps off them."""
    rng = np.random.default_rng(seed)
    q = np.cumsum(rng.integers(-3, 4, size=(2, n)), axis=1)
    return q, q + rng.integers(-2, 3, size=q.shape)


def _size(ints: np.ndarray) -> int:
    return len(pack_ints(ints, ADAPTIVE)[1])


@pytest.mark.parametrize("codes_cost", [0, 100, 1000, 2000, 10**9])
def test_a_prediction_given_as_a_function_gives_the_same_choice(codes_cost):
    q, p = _grid()
    eager = code_residual(q, p, _size, codes_cost)
    lazy = code_residual(q, lambda: p, _size, codes_cost)
    for a, b in zip(eager, lazy, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("codes_cost", "called"), [(0, True), (10**9, False)])
def test_the_prediction_is_asked_for_only_when_the_model_can_win(codes_cost, called):
    q, p = _grid()
    calls: list[int] = []
    code_residual(q, lambda: calls.append(1) or p, _size, codes_cost)
    assert calls == ([1] if called else [])


def test_the_model_still_wins_where_its_codes_are_cheap():
    q, p = _grid()
    p_right = q.copy()  # a perfect prediction: the residual is zeros
    stored, _, _, _, uses_model = code_residual(q, lambda: p_right, _size, codes_cost=10)
    assert uses_model and not stored.any()


def _model() -> CodeModel:
    import torch

    from tsae.plugins import create_model

    from compress_helpers import WINDOW, loaded

    torch.manual_seed(0)
    return CodeModel(loaded(create_model("conv1d", 1, WINDOW, depth=2, hidden=4, latent=4)))


def _counting_decoder(model: CodeModel, monkeypatch) -> list[int]:
    calls: list[int] = []
    decode = model.decode

    def spy(codes, samples):
        calls.append(samples)
        return decode(codes, samples)

    monkeypatch.setattr(model, "decode", spy)
    return calls


def test_a_block_that_leaves_its_codes_out_never_runs_the_decoder_and_codes_as_when_it_does(monkeypatch):
    model = _model()
    calls = _counting_decoder(model, monkeypatch)
    x = np.linspace(0.0, 5.0, 40 * 16)[None]  # a ramp: its first difference is constant, nearly free to code
    steps = np.array([1e-3])
    lazy = predict_block(model, x, 0.1, decode=False)
    block, y, payload = code_block(lazy, steps, ADAPTIVE)
    assert not lazy.needed and calls == [] and "codes" not in block.arrays
    eager = predict_block(model, x, 0.1)
    assert calls == [x.shape[1]]
    assert code_block(eager, steps, ADAPTIVE)[2] == payload and not eager.needed


@pytest.mark.parametrize("coder", ["adaptive", "lzma"])
def test_a_block_whose_model_can_win_decodes_when_asked_and_codes_as_when_decoded_at_once(monkeypatch, coder):
    model = _model()
    calls = _counting_decoder(model, monkeypatch)
    x = walk(40 * 16)[:1]
    steps = np.array([0.05])
    lazy = predict_block(model, x, 0.1, decode=False)
    payload = code_block(lazy, steps, coder_id(coder))[2]
    assert lazy.needed and len(calls) == 1
    assert code_block(predict_block(model, x, 0.1), steps, coder_id(coder))[2] == payload


def _compress(model, x: np.ndarray) -> bytes:
    handle = io.BytesIO()
    writer = Compressor(handle, model, max_error=1e-3, block_windows=64)
    writer.write(x)
    writer.close()
    return handle.getvalue()


@pytest.mark.parametrize("cores", [1, 2])
def test_the_worker_stops_decoding_ahead_while_blocks_leave_their_codes_out(conv_model, monkeypatch, cores):
    x = np.stack([np.full(8000, 2.5), np.full(8000, -1.0)])  # 8 blocks, each coded in a few bytes without codes
    monkeypatch.setattr(stream, "usable_cores", lambda: cores)
    model = CodeModel(conv_model)
    calls = _counting_decoder(model, monkeypatch)
    ahead = _compress(model, x)
    # the first block's latent-step trials (those that need it, on one core), and on two the two blocks put to the
    # worker before a block that needed no prediction was coded; not the others (13 decodes when each block decoded)
    assert len(calls) <= len(AUTO_STEPS) + (2 if cores > 1 else 0)
    monkeypatch.setattr(stream, "AHEAD_BLOCKS", 0)
    assert _compress(model, x) == ahead


def test_the_alphabet_form_codes_the_same_bytes_as_before_the_encoders_state_moved_to_registers():
    values = np.random.default_rng(11).choice(np.array([-40, -7, 0, 3, 19, 100]), 3000,
                                              p=[.05, .1, .5, .2, .1, .05])
    data = pack_ints(values, ADAPTIVE)[1]
    assert data[0] == 1  # the alphabet form
    assert (len(data), hashlib.sha256(data).hexdigest()[:16]) == (800, "6e16bcbe82c7a115")  # written by 11929a5


def _rows() -> list[np.ndarray]:
    rng = np.random.default_rng(4)
    sparse = np.zeros(3400, np.int64)
    sparse[::60] = 50  # a periodic row: byte planes with LZMA2
    return [np.round(rng.laplace(0, scale, 5000)).astype(np.int64) for scale in (0.2, 1.5, 40, 3e4)] + [
        rng.choice(np.array([-40, -7, 0, 3, 19, 100]), 2000),  # few levels: the alphabet form
        np.array([0]), np.array([-(2**62), 2**62 - 1, 0, 5]), np.zeros(700, np.int64), sparse,
        np.cumsum(rng.integers(-2, 3, 4000)),
    ]


def test_the_adaptive_coders_measured_size_is_the_length_of_its_bytes():
    from tsae.pipelines.compress import adaptive
    from tsae.pipelines.compress.entropy import zigzag

    for values in _rows():
        u = zigzag(values)
        size, coded = adaptive.measure(u)
        assert size == len(adaptive.encode(u))
        assert coded is None or coded == adaptive.encode(u)


@pytest.mark.parametrize("coder", ["adaptive", "lzma"])
def test_a_measured_array_has_the_length_of_the_coded_one_and_codes_the_same_after(coder):
    from tsae.pipelines.compress.container import section_size
    from tsae.pipelines.compress.entropy import Packed

    arrays = _rows() + [np.stack([r[:600] for r in _rows() if r.size >= 700]), np.arange(-30, 30).reshape(6, 10)]
    pack = Packed()
    for values in arrays:
        width, measured = pack.measure(values, coder_id(coder))
        assert (width, len(measured)) == (pack_ints(values, coder_id(coder))[0], len(pack_ints(values,
                                                                                             coder_id(coder))[1]))
        assert section_size("residual", values, coder_id(coder), pack.measure) == section_size(
            "residual", values, coder_id(coder))
        assert pack(values, coder_id(coder)) == pack_ints(values, coder_id(coder))  # measuring left no zeros
