"""Format version 3 (binary header fields, varint lengths, tagged sections), and reading versions 1 and 2."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from tsae.pipelines.compress import compress_file, compress_series, decompress_file, decompress_series
from tsae.pipelines.compress.container import MAGIC, MAX_HEADER_BYTES, VERSION, Block, Reader, encode_block
from tsae.pipelines.compress.entropy import coder_id
from tsae.pipelines.compress.files import file_sha256

from compress_helpers import as_version, walk

FIXTURES = Path(__file__).parents[2] / "fixtures" / "tsz"


def _part(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data + struct.pack("<I", zlib.crc32(data))


def test_a_version_1_container_decodes_exactly_as_before(vq_model):
    data = (FIXTURES / "v1_counts.tsz").read_bytes()
    assert Reader(io.BytesIO(data), "v1.tsz").version == 1
    y = decompress_series(data, vq_model, name="v1_counts.tsz")
    assert np.array_equal(y, np.load(FIXTURES / "v1_counts.npy"), equal_nan=True)  # not rounded: no flags


@pytest.mark.parametrize("name", ["v2_mixed", "v2_codes"])
def test_a_version_2_container_decodes_exactly_as_before(vq_model, name):
    data = (FIXTURES / f"{name}.tsz").read_bytes()
    assert Reader(io.BytesIO(data), f"{name}.tsz").version == 2
    y = decompress_series(data, vq_model, name=f"{name}.tsz")
    assert np.array_equal(y, np.load(FIXTURES / f"{name}.npy"), equal_nan=True)


def test_new_containers_are_version_3_and_record_128_bits_of_the_sha256(model_file):
    data = compress_series(model_file, walk(300), max_error=1e-3)
    reader = Reader(io.BytesIO(data), "c.tsz")
    assert reader.version == VERSION == 3
    assert reader.header["model"]["sha256"] == file_sha256(model_file)[:32]
    y = decompress_series(data, model_file)
    old = as_version(data, 1, {"model": {"sha256": file_sha256(model_file), "family": "conv1d"}})
    assert len(old) - len(data) > 50
    np.testing.assert_array_equal(decompress_series(old, model_file), y)
    assert Reader(io.BytesIO(as_version(data, 2)), "c.tsz").version == 2
    np.testing.assert_array_equal(decompress_series(as_version(data, 2), model_file), y)


@pytest.mark.parametrize("wrong", [lambda full: "0" * 64, lambda full: "0" * 32, lambda full: full[:31],
                                   lambda full: "abc", lambda full: 7])
def test_a_recorded_digest_that_does_not_match_is_refused(model_file, wrong):
    data = compress_series(model_file, walk(100), max_error=1e-3)
    hostile = as_version(data, 1, {"model": {"sha256": wrong(file_sha256(model_file))}})
    with pytest.raises(ValueError, match=r"^c\.tsz: model file .*tiny\.tsae is not the one the container was "
                                         r"written with \(SHA-256 differs\)$"):
        decompress_series(hostile, model_file, name="c.tsz")


def test_a_version_1_file_job_container_still_finds_and_checks_its_model(tmp_path, model_file):
    np.save(tmp_path / "s.npy", walk(200))
    compress_file(model_file, tmp_path / "s.npy", tmp_path / "s.tsz", max_error=1e-2)
    data = (tmp_path / "s.tsz").read_bytes()
    reference = Reader(io.BytesIO(data), "s.tsz").header["model"]
    (tmp_path / "old.tsz").write_bytes(as_version(data, 1, {"model": {**reference, "sha256": file_sha256(model_file)}}))
    decompress_file(tmp_path / "old.tsz", tmp_path / "old.npy")
    decompress_file(tmp_path / "s.tsz", tmp_path / "new.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "old.npy"), np.load(tmp_path / "new.npy"))
    (tmp_path / "bad.tsz").write_bytes(as_version(data, 1, {"model": {**reference, "sha256": "f" * 64}}))
    with pytest.raises(ValueError, match=r"bad\.tsz: model file .* \(SHA-256 differs\)$"):
        decompress_file(tmp_path / "bad.tsz", tmp_path / "bad.npy")


@pytest.mark.parametrize("head,problem", [
    (struct.pack("<H", 6), r"version 6 is not supported \(this tsae reads versions 1 to 5; a newer tsae wrote it\?\)"),
    (struct.pack("<HB", 2, 7) + _part(b"{}"), r"header coded with unknown coder 7"),
    (struct.pack("<HB", 2, 3) + _part(b"{}"), r"header coded with unknown coder 3"),  # zstd: never written there
    (struct.pack("<HB", 2, 1) + _part(b"not zlib"), r"header: corrupt coded data"),
    (struct.pack("<HB", 2, 1) + _part(zlib.compress(b" " * (MAX_HEADER_BYTES + 10))),
     rf"header inflates to more than {MAX_HEADER_BYTES} bytes"),
    (struct.pack("<HB", 2, 1) + _part(zlib.compress(b"[1]")), r"header is not a JSON object"),
], ids=["version-6", "coder-7", "coder-zstd", "not-zlib", "inflates", "not-an-object"])
def test_a_bad_version_2_header_is_one_line(conv_model, head, problem):
    with pytest.raises(ValueError, match=rf"^h\.tsz: .*{problem}"):
        decompress_series(MAGIC + head + bytes(12), conv_model, name="h.tsz")


def test_a_section_of_a_few_values_is_stored_raw():
    # an LZMA frame around one predictor id or four coefficients outweighs them
    block = Block(samples=5, arrays={"predictor": np.array([3]), "coefficients": np.array([[65536, 0, -3, 7]])})
    assert encode_block(block, coder_id("lzma")) == encode_block(block, coder_id("raw"))
    large = Block(samples=5, arrays={"residual": np.zeros((1, 5000), np.int64)})
    assert len(encode_block(large, coder_id("lzma"))) < 100
