"""Format version 3: small fixed costs (binary header fields, varint lengths, tagged sections), same integrity."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest

from tsae.pipelines.compress import compress_series, decompress_series
from tsae.pipelines.compress.compact import (
    HEADER_FIELDS,
    MAX_VARINT,
    TRAILER_FIELDS,
    decode_fields,
    encode_fields,
    read_varint,
    varint,
)
from tsae.pipelines.compress.container import (
    MAGIC,
    Block,
    Reader,
    encode_block,
    write_block,
    write_header,
    write_trailer,
)
from tsae.pipelines.compress.entropy import coder_id

from compress_helpers import FakeVQ, loaded, rewritten

#: what format version 2 took for :func:`_daily` at a bound of 1e-2 of the range (tsae 16e7abc)
VERSION_2_BYTES = 300


@pytest.fixture(scope="module")
def one_channel():
    return loaded(FakeVQ(1, 16))


def _daily(n: int = 3456) -> np.ndarray:
    """A noise-free daily pattern (288 samples a day): a high and a low level with a sine on top."""
    day = 2 * np.pi * np.arange(n) / 288
    return (20 + 60 * (np.sin(day) > 0.3) + 5 * np.sin(day))[None]


@pytest.fixture(scope="module")
def tiny(one_channel):
    return compress_series(one_channel, _daily(), max_error=1e-2, relative=True)


def test_varints_round_trip_and_refuse_what_does_not_fit():
    for value in (0, 1, 127, 128, 16383, 16384, 2**32, MAX_VARINT):
        data = varint(value)
        assert read_varint(data + b"\xff", 0) == (value, len(data))
    assert len(varint(3428)) == 2
    with pytest.raises(ValueError, match="does not fit"):
        varint(-1)
    with pytest.raises(ValueError, match="runs past"):
        read_varint(b"\x80\x80", 0)
    with pytest.raises(ValueError, match="64 bits"):
        read_varint(b"\xff" * 10 + b"\x01", 0)


def test_well_known_entries_are_binary_and_the_rest_is_json():
    header = {"format": "tsz", "channels": 1, "window": 64, "codes": "uniform", "code_shape": [8],
              "block_samples": 16384, "max_error": [0.5999996928]}
    body = encode_fields(header, HEADER_FIELDS)
    assert len(body) == 18 and decode_fields(body, HEADER_FIELDS, 1000) == header
    unusual = {**header, "channels": -1, "codes": "other", "max_error": None, "columns": ["a"], "time": None}
    back = decode_fields(encode_fields(unusual, HEADER_FIELDS), HEADER_FIELDS, 1000)
    assert back == {key: value for key, value in unusual.items() if key != "time"}  # a null entry is left out
    assert decode_fields(encode_fields({"samples": 3428, "blocks": 1}, TRAILER_FIELDS), TRAILER_FIELDS, 10) == {
        "samples": 3428, "blocks": 1}
    for body, problem in ((b"", "malformed"), (b"\x80", "malformed"), (b"\x02\x80", "runs past"),
                          (b"\x08\x07", "unknown choice"), (b"\x00\x09{}", "unknown coder 9"),
                          (b"\x00\x00[1]", "not a JSON object"), (b"\x40\x05\x00", "runs past")):
        with pytest.raises(ValueError, match=problem):
            decode_fields(body, HEADER_FIELDS, 1000)


def test_a_tiny_series_costs_little_more_than_its_values(one_channel, tiny):
    assert len(tiny) < 160 < VERSION_2_BYTES
    y = decompress_series(tiny, one_channel)
    assert (np.abs(y - _daily()) <= 1e-2 * np.ptp(_daily())).all()


def test_a_block_stores_only_what_differs_from_its_defaults():
    bare = encode_block(Block(samples=300), coder_id("lzma"))
    assert bare == varint(300) + b"\x00\x00"  # samples, no flags, no sections
    arrays = {"residual": np.zeros((1, 300), np.int64), "custom": np.arange(3)}  # a tag, and a stored name
    full = Block(samples=300, latent_step=0.25, check=7, arrays=arrays)
    assert len(encode_block(full, coder_id("lzma"))) == len(encode_block(Block(300, arrays=arrays),
                                                                         coder_id("lzma"))) + 8 + 4
    buffer = io.BytesIO()
    write_header(buffer, {"format": "tsz"})
    write_block(buffer, full, coder_id("lzma"))
    write_trailer(buffer, {"samples": 300})
    (back,) = Reader(io.BytesIO(buffer.getvalue()), "m.tsz").blocks()
    assert (back.latent_step, back.check, sorted(back.arrays)) == (0.25, 7, ["custom", "residual"])
    np.testing.assert_array_equal(back.arrays["custom"], np.arange(3))
    with pytest.raises(ValueError, match="at most 7"):
        encode_block(Block(samples=1, arrays={"codes": np.zeros((1,) * 8, np.int64)}), coder_id("raw"))


@pytest.mark.parametrize(("payload", "problem"), [
    (varint(16) + b"\x04\x00", "unknown flags 4"),
    (varint(16) + b"\x00\x01\x0a", "unknown section tag 10"),  # 9 is the time part's section
    (varint(16) + b"\x01\x00", "shorter than its head"),
    (b"\x80", "runs past"),
])
def test_a_malformed_block_is_one_error_naming_the_file(one_channel, tiny, payload, problem):
    start = len(MAGIC) + 2
    size, offset = read_varint(tiny, start)
    head = tiny[:offset + size + 4]
    hostile = head + varint(len(payload)) + payload + struct.pack("<I", zlib.crc32(payload)) + b"\x00"
    with pytest.raises(ValueError, match=rf"^t\.tsz: corrupt \.tsz block \(.*({problem})"):
        decompress_series(hostile, one_channel, name="t.tsz")


def test_every_flipped_byte_and_every_truncation_of_a_tiny_container_is_caught(one_channel, tiny):
    for position in range(len(MAGIC), len(tiny)):
        for flip in (0x01, 0x80):
            damaged = bytearray(tiny)
            damaged[position] ^= flip
            with pytest.raises(ValueError, match=r"^bad\.tsz: [^\n]*$"):
                decompress_series(bytes(damaged), one_channel, name="bad.tsz")
    for cut in range(len(tiny)):
        with pytest.raises(ValueError, match=r"^cut\.tsz: [^\n]*$"):
            decompress_series(tiny[:cut], one_channel, name="cut.tsz")


def test_a_rewritten_container_keeps_its_values(one_channel, tiny):
    np.testing.assert_array_equal(decompress_series(rewritten(tiny), one_channel),
                                  decompress_series(tiny, one_channel))
