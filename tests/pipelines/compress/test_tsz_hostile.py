"""A hostile .tsz file (a header or block that lies about sizes) is refused before it costs memory."""
from __future__ import annotations

import io

import numpy as np
import pytest

from tsae.pipelines.compress import compress_series, decompress_series
from tsae.pipelines.compress.container import MAGIC, Block
from tsae.pipelines.compress.entropy import CODERS, _coder, coder_id, unpack_ints

from compress_helpers import rewritten, walk


@pytest.fixture(scope="module")
def container(conv_model):
    return compress_series(conv_model, walk(300), max_error=1e-2, block_windows=4)


@pytest.mark.parametrize("coder", [c for c in CODERS if c != "adaptive"])  # byte coders (test_adaptive_coder)
def test_decoders_stop_at_the_size_they_are_given(coder):
    try:
        encode, decode = _coder(coder_id(coder))
    except ValueError:
        pytest.skip(f"{coder} is not installed")
    bomb = encode(bytes(50_000_000))  # a few kB that inflate to 50 MB
    assert len(decode(bomb, 1001)) == 1001
    with pytest.raises(ValueError, match="coded data holds more than the 1000 bytes expected"):
        unpack_ints(bomb, 0, 1000, coder_id(coder))


def test_the_container_still_round_trips(conv_model, container):
    assert np.abs(decompress_series(container, conv_model) - walk(300)).max() <= 1e-2


def test_a_block_claiming_more_samples_than_the_header_allows_is_refused(conv_model, container):
    hostile = rewritten(container, blocks=[Block(samples=2**31, arrays={"codes": np.zeros((4, 1), np.int64)})])
    with pytest.raises(ValueError, match=r"^h\.tsz: corrupt \.tsz block \(it claims 2147483648 samples; a block holds"):
        decompress_series(hostile, conv_model, name="h.tsz")


def test_a_section_claiming_more_values_than_a_block_holds_is_refused(conv_model, container):
    block = Block(samples=16, arrays={"residual": np.zeros((2, 100_000), np.int64)})
    with pytest.raises(ValueError, match=r"section 'residual' claims 200000 values; at most \d+ fit a block"):
        decompress_series(rewritten(container, blocks=[block]), conv_model, name="h.tsz")


@pytest.mark.parametrize(("change", "message"), [
    ({"code_shape": [10**9, 10**9]}, r"codes of shape \(1000000000, 1000000000\); the model gives"),
    ({"block_samples": -1}, "missing or malformed entries"),
    ({"block_samples": 17}, "not whole windows of 16"),
    ({"channels": 10**12}, "the container was written for 1000000000000 x 16"),
    ({"sample_rate": 1e308}, "sample rate 1e\\+308 is not a number of Hz"),
    ({"sample_rate": "x"}, "sample rate 'x' is not a number of Hz"),
    ({"columns": [{"a": 1}, 2]}, "column names are not a list of text"),
])
def test_a_header_that_lies_is_one_error_naming_the_file(conv_model, container, change, message):
    with pytest.raises(ValueError, match=r"^h\.tsz: .*" + message):
        decompress_series(rewritten(container, change), conv_model, name="h.tsz")


def test_a_corrupt_header_is_refused_before_a_npy_output_is_sized(model_file, tmp_path):
    from tsae.pipelines.compress.files import compress_file, decompress_file

    data = tmp_path / "s.npy"
    np.save(data, walk(200))
    tsz = tmp_path / "s.tsz"
    compress_file(model_file, data, tsz, max_error=1e-2)
    hostile = tmp_path / "h.tsz"
    hostile.write_bytes(rewritten(tsz.read_bytes(), blocks=[Block(samples=2**31)]))
    with pytest.raises(ValueError, match="it claims 2147483648 samples"):
        decompress_file(hostile, tmp_path / "out.npy", model=model_file)
    assert not (tmp_path / "out.npy").exists()


@pytest.mark.parametrize("reference", ["tiny.tsae", {"path": 5}, {"path": "tiny.tsae", "sha256": ["0"]}])
def test_a_model_reference_that_is_not_an_object_of_texts_is_a_corrupt_header(model_file, tmp_path, reference):
    # it said "corrupt .tsz header (AttributeError: 'str' object has no attribute 'get')" (fuzz, before)
    from tsae.pipelines.compress.files import compress_file, decompress_file

    data = tmp_path / "s.npy"
    np.save(data, walk(100))
    tsz = tmp_path / "s.tsz"
    compress_file(model_file, data, tsz, max_error=1e-2)
    hostile = tmp_path / "h.tsz"
    hostile.write_bytes(rewritten(tsz.read_bytes(), {"model": reference}))
    with pytest.raises(ValueError, match=r"^\S*h\.tsz: corrupt \.tsz header \(its model reference .* is not an object "
                                         r"of path, absolute_path and sha256 texts\); give the model file explicitly$"):
        decompress_file(hostile, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_block_claiming_more_sections_than_it_holds_is_told_without_struct_words(conv_model, container):
    # it said "unpack_from requires a buffer of at least 2369 bytes for unpacking 1 bytes at offset 2368" (fuzz, before)
    import io

    from tsae.pipelines.compress.container import Reader, _part, encode_block, write_header, write_trailer

    payload = bytearray(encode_block(Block(samples=16, arrays={"residual": np.zeros((2, 16), np.int64)}), 0))
    assert payload[:3] == bytes([16, 0, 1])  # samples, flags (no step, no check), one section
    payload[2] = 2
    out = io.BytesIO()
    write_header(out, Reader(io.BytesIO(container), "c.tsz").header)
    out.write(_part(bytes(payload)))
    write_trailer(out, {"samples": 16, "blocks": 1})
    with pytest.raises(ValueError, match=r"^h\.tsz: corrupt \.tsz block \(its sections run past its end\)$"):
        decompress_series(out.getvalue(), conv_model, name="h.tsz")


def test_a_model_that_is_a_folder_is_named_as_one(model_file, tmp_path):
    # before: "model file tiny.tsae not found" for the container's model, there as a folder; IsADirectoryError for
    # a folder given as the model
    import shutil

    from tsae.pipelines.compress.files import compress_file, decompress_file

    model = tmp_path / "tiny.tsae"
    shutil.copy(model_file, model)
    data = tmp_path / "s.npy"
    np.save(data, walk(100))
    tsz = tmp_path / "s.tsz"
    compress_file(model, data, tsz, max_error=1e-2)
    model.unlink()
    model.mkdir()
    with pytest.raises(ValueError, match=r"^\S*s\.tsz: model file tiny\.tsae is a folder \(\S*tiny\.tsae\), not a "
                                         r"model file; give the model file explicitly$"):
        decompress_file(tsz, tmp_path / "out.csv")
    with pytest.raises(ValueError, match=r"^\S*tiny\.tsae: is a folder, not a model file$"):
        decompress_file(tsz, tmp_path / "out.csv", model=model)
    assert not (tmp_path / "out.csv").exists()


class _Pipe(io.RawIOBase):
    """A stream that cannot seek (a pipe), over ``data``."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


@pytest.mark.parametrize("part", ["header", "block 0"])
@pytest.mark.parametrize("stream", ["file", "pipe"])
def test_a_length_that_claims_more_than_the_file_holds_allocates_nothing_for_it(tmp_path, part, stream):
    # before: a 2 GiB read buffer for a 180-byte file (`ulimit -v 1500000`: "not enough memory (MemoryError)")
    import tracemalloc

    from tsae.pipelines.compress.compact import read_varint, varint
    from tsae.pipelines.compress.container import Reader
    from tsae.pipelines.compress.files import decompress_file

    data = compress_series(None, walk(300), max_error=1e-2)
    size, start = read_varint(data, len(MAGIC) + 2)
    if part == "block 0":
        start += size + 4
        size, end = read_varint(data, start)
    else:
        end, start = start, len(MAGIC) + 2
    hostile = tmp_path / "h.tsz"
    hostile.write_bytes(data[:start] + varint(2**31 - 1) + data[end:])
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"^\S*h\.tsz: truncated \.tsz container \(ends inside the {part}\)$"):
            if stream == "file":
                decompress_file(hostile, tmp_path / "out.csv")
            else:
                list(Reader(io.BufferedReader(_Pipe(hostile.read_bytes())), "h.tsz").blocks())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20
    assert not (tmp_path / "out.csv").exists()
