"""The .tsz container: a corrupt or truncated file is one ValueError naming it, never a crash or wrong values."""
from __future__ import annotations

import io

import numpy as np
import pytest

from tsae.pipelines.compress import compress_series, decompress_series
from tsae.pipelines.compress.container import (
    MAGIC,
    Block,
    Reader,
    encode_block,
    write_block,
    write_header,
    write_trailer,
)
from tsae.pipelines.compress.entropy import CODERS, coder_id, pack_ints, unpack_ints, unzigzag, zigzag

from compress_helpers import walk


@pytest.fixture(scope="module")
def container(conv_model):
    return compress_series(conv_model, walk(300), max_error=1e-2, block_windows=4)


def test_zigzag_round_trips_the_int64_range():
    values = np.array([0, -1, 1, -2, 2, 2**62, -(2**63), 2**63 - 1], dtype=np.int64)
    assert zigzag(values)[:5].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(unzigzag(zigzag(values)), values)


@pytest.mark.parametrize("coder", ["raw", "zlib", "lzma"])
def test_integer_arrays_round_trip(coder):
    rng = np.random.default_rng(0)
    for values in (np.zeros(0, np.int64), rng.integers(-3, 4, 1000), rng.integers(-(2**40), 2**40, 50)):
        width, data = pack_ints(values, coder_id(coder))
        np.testing.assert_array_equal(unpack_ints(data, width, values.size, coder_id(coder)), values)


def test_small_integers_take_a_fraction_of_a_byte():
    values = np.random.default_rng(0).integers(-1, 2, 10000)
    assert len(pack_ints(values, coder_id("lzma"))[1]) < 10000 * 0.25


def test_unknown_coder():
    with pytest.raises(ValueError, match="unknown coder 'brotli'"):
        coder_id("brotli")
    assert CODERS[:3] == ("raw", "zlib", "lzma")


def test_blocks_and_trailer_round_trip():
    buffer = io.BytesIO()
    write_header(buffer, {"format": "tsz", "x": [1, 2]})
    block = Block(samples=7, latent_step=0.25, check=99, arrays={"codes": np.arange(6).reshape(2, 3) - 3})
    write_block(buffer, block, coder_id("zlib"))
    write_trailer(buffer, {"samples": 7})
    buffer.seek(0)
    reader = Reader(buffer, "mem.tsz")
    assert reader.header == {"format": "tsz", "x": [1, 2]}
    (back,) = list(reader.blocks())
    assert (back.samples, back.latent_step, back.check) == (7, 0.25, 99)
    np.testing.assert_array_equal(back.arrays["codes"], block.arrays["codes"])
    assert reader.trailer == {"samples": 7}
    assert len(encode_block(block, coder_id("raw"))) > len(encode_block(Block(samples=7), coder_id("raw")))


def test_every_truncation_is_one_error_naming_the_file(conv_model, container):
    cuts = sorted(set(range(0, 40)) | set(range(40, len(container), 7)) | {len(container) - 1})
    for cut in cuts:
        with pytest.raises(ValueError) as info:
            decompress_series(container[:cut], conv_model, name="cut.tsz")
        message = str(info.value)
        assert message.startswith("cut.tsz: ") and "\n" not in message, (cut, message)


def test_flipped_bytes_are_caught(conv_model, container):
    rng = np.random.default_rng(0)
    positions = rng.choice(np.arange(len(MAGIC), len(container)), size=60, replace=False)
    for position in positions:
        damaged = bytearray(container)
        damaged[position] ^= 0x5A
        with pytest.raises(ValueError, match=r"^bad\.tsz: ") as info:
            decompress_series(bytes(damaged), conv_model, name="bad.tsz")
        assert "\n" not in str(info.value)


def test_not_a_container(conv_model):
    with pytest.raises(ValueError, match="not a .tsz container"):
        decompress_series(b"PK\x03\x04 a zip file", conv_model, name="z.tsz")
    with pytest.raises(ValueError, match="version 9"):
        decompress_series(MAGIC + b"\x09\x00" + bytes(8), conv_model, name="v.tsz")


def test_a_model_of_another_shape_is_refused(container, vq_model):
    with pytest.raises(ValueError, match="uniform codes but the model gives vq codes"):
        decompress_series(container, vq_model, name="c.tsz")


def test_residual_modes_invert_and_pick_the_cheapest():
    from tsae.pipelines.compress.residual import DELTA, MODEL, MODEL_DELTA, code_residual, decode_residual

    rng = np.random.default_rng(0)
    p = rng.integers(-50, 50, size=(3, 400))
    q = np.stack([p[0] + rng.integers(-1, 2, 400),  # the model is right to a step
                  p[1] + 37 + np.cumsum(rng.integers(-1, 2, 400)),  # off by a slow drift
                  np.cumsum(rng.integers(-1, 2, 400))])  # a walk the model does not know
    size = lambda ints: len(pack_ints(ints, coder_id("lzma"))[1])  # noqa: E731
    stored, modes, coefs, taps, uses_model = code_residual(q, p, size, codes_cost=0)
    assert uses_model and modes.tolist() == [MODEL, MODEL_DELTA, DELTA]
    np.testing.assert_array_equal(decode_residual(stored, modes, p, coefs, taps), q)
    stored, modes, coefs, taps, uses_model = code_residual(q, p, size, codes_cost=10**9)  # codes too dear: no model
    assert not uses_model
    np.testing.assert_array_equal(decode_residual(stored, modes, np.zeros_like(p), coefs, taps), q)
    with pytest.raises(ValueError, match="does not fit"):
        decode_residual(stored, modes[:2], np.zeros_like(p), coefs, taps)


def test_the_linear_blend_of_past_values_and_prediction():
    from tsae.pipelines.compress.residual import LINEAR, code_residual, decode_residual

    rng = np.random.default_rng(1)
    p = np.cumsum(rng.integers(-3, 4, 2000))[None]
    q = np.zeros_like(p)
    for t in range(p.shape[1]):  # 0.6 x the last value + 0.4 x the prediction, plus a little noise
        q[0, t] = round(0.6 * (q[0, t - 1] if t else 0) + 0.4 * p[0, t]) + rng.integers(-1, 2)
    size = lambda ints: len(pack_ints(ints, coder_id("lzma"))[1])  # noqa: E731
    stored, modes, coefs, taps, uses_model = code_residual(q, p, size, codes_cost=0)
    assert uses_model and modes.tolist() == [LINEAR]
    np.testing.assert_allclose(coefs[0] / 2**16, [0.6, 0, 0.4, 0], atol=0.03)
    assert size(stored[0]) < 0.8 * min(size(q[0] - p[0]), size(np.diff(q[0])))
    np.testing.assert_array_equal(decode_residual(stored, modes, p, coefs, taps), q)
    with pytest.raises(ValueError, match="coefficients"):
        decode_residual(stored, modes, p, None)
