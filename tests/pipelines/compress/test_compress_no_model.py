"""Compression without a model: the residual coder's own predictors alone, a format version 4 container that
records no model and decompresses without one."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import torch

from tsae.io.series import read_series
from tsae.models.base import Autoencoder
from tsae.pipelines.compress import compress_file, compress_series, decompress_file, decompress_series
from tsae.pipelines.compress import container as container_module
from tsae.pipelines.compress.codes import NO_MODEL_WINDOW
from tsae.pipelines.compress.container import NO_MODEL_VERSION, VERSION, Block, Reader
from tsae.pipelines.compress.stream import Compressor

from compress_helpers import loaded, rewritten, walk


class ZeroCoder(Autoencoder):
    """Predicts zeros: the bench's ``no-model`` column (scripts/bench_compress.py)."""

    name = "zero"

    def __init__(self, channels: int, window: int) -> None:
        super().__init__(channels, window)
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def encode(self, x):
        return torch.zeros(len(x), 1, dtype=x.dtype)

    def decode(self, z):
        return torch.zeros(len(z), self.channels, self.window, dtype=z.dtype)


def _blocks(data: bytes) -> list:
    return list(Reader(io.BytesIO(data), "c.tsz").blocks())


def _series(n: int = 3000) -> np.ndarray:
    x = walk(n, seed=3)
    x[0] += np.sin(np.arange(n) / 9.0)
    x[1, 100:104] = np.nan
    x[0, 7] = np.inf
    return x


def test_a_round_trip_keeps_the_bound_and_records_no_model():
    x = _series()
    data = compress_series(None, x, max_error=1e-3, relative=True)
    reader = Reader(io.BytesIO(data), "c.tsz")
    assert reader.version == NO_MODEL_VERSION == VERSION + 1
    assert reader.header["codes"] == "none" and "model" not in reader.header
    assert reader.header["block_samples"] == 256 * NO_MODEL_WINDOW
    assert all("codes" not in block.arrays for block in _blocks(data))
    y = decompress_series(data)
    finite = np.isfinite(x)
    bound = 1e-3 * (np.nanmax(np.where(finite, x, np.nan), axis=1) - np.nanmin(np.where(finite, x, np.nan), axis=1))
    assert (np.abs(np.where(finite, x, 0.0) - np.where(finite, y, 0.0)) <= bound[:, None]).all()
    np.testing.assert_array_equal(y[~finite], x[~finite])


@pytest.mark.parametrize("bound", [1e-2, 1e-4])
def test_the_blocks_are_those_of_a_model_predicting_zeros(bound):
    # the bench's no-model column: the same coder, so the same blocks (only the header differs)
    x = _series(20000)
    alone = compress_series(None, x, max_error=bound, relative=True, block_windows=40)
    zero = compress_series(loaded(ZeroCoder(2, NO_MODEL_WINDOW)), x, max_error=bound, relative=True,
                           block_windows=40)
    mine, theirs = _blocks(alone), _blocks(zero)
    assert len(mine) == len(theirs) == 8
    for a, b in zip(mine, theirs, strict=True):
        assert a.arrays.keys() == b.arrays.keys() and a.check == b.check
        for key in a.arrays:
            np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
    assert abs(len(alone) - len(zero)) < 16  # the headers


def test_without_a_bound_or_with_a_latent_step_it_is_refused(tmp_path):
    with pytest.raises(ValueError, match="^compressing without a model needs max_error"):
        compress_series(None, walk(100))
    with pytest.raises(ValueError, match="^latent_step needs a model"):
        compress_series(None, walk(100), max_error=0.1, latent_step=0.1)
    np.save(tmp_path / "x.npy", walk(100))
    with pytest.raises(ValueError, match="compressing without a model needs max_error"):
        compress_file(None, tmp_path / "x.npy", tmp_path / "x.tsz")
    assert not (tmp_path / "x.tsz").exists()
    with pytest.raises(ValueError, match="channel count"):
        Compressor(io.BytesIO(), None, max_error=0.1)


def test_a_container_is_read_with_a_model_only_when_written_with_one(conv_model):
    x = walk(300)
    alone = compress_series(None, x, max_error=1e-2)
    with pytest.raises(ValueError, match=r"^c\.tsz: the container was written without a model"):
        decompress_series(alone, conv_model, name="c.tsz")
    with_model = compress_series(conv_model, x, max_error=1e-2)
    with pytest.raises(ValueError, match=r"^c\.tsz: the container was written with a model: give its model file"):
        decompress_series(with_model, name="c.tsz")


def test_a_reader_of_versions_1_to_3_names_it_newer(monkeypatch):
    # what the tsae before it says (checked with its tree: `git archive ecaed13 tsae`)
    data = compress_series(None, walk(100), max_error=1e-2)
    monkeypatch.setattr(container_module, "_READ_VERSIONS", (1, 2, 3))
    with pytest.raises(ValueError, match=r"^c\.tsz: \.tsz format version 4 is not supported \(this tsae reads "
                                         r"versions 1 to 3; a newer tsae wrote it\?\)$"):
        Reader(io.BytesIO(data), "c.tsz")


def test_a_table_comes_back_with_its_columns_and_times(tmp_path):
    x = walk(700, seed=5)
    rows = ["time,a,b"] + [f"{i * 0.5},{float(a)!r},{float(b)!r}" for i, (a, b) in enumerate(x.T)]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    result = compress_file(None, tmp_path / "s.csv", tmp_path / "s.tsz", max_error=1e-3, relative=True)
    assert result["samples"] == 700 and result["bits_per_value"] < 16
    back = decompress_file(tmp_path / "s.tsz", tmp_path / "back.csv")
    assert back["model"] is None
    y, _, meta = read_series(tmp_path / "back.csv")
    assert meta["columns"] == ["a", "b"]
    np.testing.assert_allclose(meta["time"], np.arange(700) * 0.5)
    assert (np.abs(x - y) <= np.array(result["bounds"])[:, None]).all()


def test_an_array_and_a_long_wav_stream_in_blocks_to_the_same_container(tmp_path):
    x = walk(5000, seed=2)
    np.save(tmp_path / "x.npy", x)  # (C, n), as tsae reads an array
    compress_file(None, tmp_path / "x.npy", tmp_path / "whole.tsz", max_error=1e-2, relative=True)
    compress_file(None, tmp_path / "x.npy", tmp_path / "parts.tsz", max_error=1e-2, relative=True, chunk=700)
    assert (tmp_path / "whole.tsz").read_bytes() == (tmp_path / "parts.tsz").read_bytes()
    decompress_file(tmp_path / "parts.tsz", tmp_path / "back.npy")
    assert (np.abs(read_series(tmp_path / "back.npy")[0] - x).max(axis=1) <= 1e-2 * np.ptp(x, axis=1)).all()
    audio = 0.5 * np.sin(np.arange(8000) / 7.0)
    sf.write(tmp_path / "a.wav", audio, 16000, subtype="PCM_16")
    compress_file(None, tmp_path / "a.wav", tmp_path / "a.tsz", max_error=1e-3, relative=True, chunk=1000)
    decompress_file(tmp_path / "a.tsz", tmp_path / "back.wav")
    given, rate, _ = read_series(tmp_path / "a.wav")
    got, back_rate, _ = read_series(tmp_path / "back.wav")
    assert back_rate == rate == 16000 and sf.info(tmp_path / "back.wav").subtype == "PCM_16"
    assert np.abs(got - given).max() <= 1e-3 * np.ptp(given)


def test_decompress_refuses_a_model_file_for_a_container_without_one(tmp_path, model_file):
    np.save(tmp_path / "x.npy", walk(200))
    compress_file(None, tmp_path / "x.npy", tmp_path / "x.tsz", max_error=0.1)
    with pytest.raises(ValueError, match=r"x\.tsz: the container was written without a model: it decompresses "
                                         r"without one \(not .*tiny\.tsae\)$"):
        decompress_file(tmp_path / "x.tsz", tmp_path / "back.npy", model=model_file)
    assert not (tmp_path / "back.npy").exists()


def test_a_block_with_codes_or_a_version_that_contradicts_the_codes_is_corrupt(conv_model):
    alone = compress_series(None, walk(300), max_error=1e-2)
    block = _blocks(alone)[0]
    hostile = rewritten(alone, blocks=[Block(block.samples, 0.5, block.check,
                                             {**block.arrays, "codes": np.zeros((1, 5), np.int64)})])
    with pytest.raises(ValueError, match=r"^c\.tsz: block 0: block has codes, but the container was written without "
                                         r"a model$"):
        decompress_series(hostile, name="c.tsz")
    with_model = compress_series(conv_model, walk(300), max_error=1e-2)
    for data, header in ((with_model, {"codes": "none"}), (alone, {"codes": "uniform"})):
        with pytest.raises(ValueError, match=r"^c\.tsz: corrupt \.tsz header \(format version [34] with '?\w+'? codes: "
                                             r"version 4, and only it, is written without a model\)$"):
            decompress_series(rewritten(data, header), name="c.tsz")
