"""compress/decompress files in blocks: the same container as from the whole series, the same output, bounded memory."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.io.series import save_npy, write_series
from tsae.models.modelfile import load_model
from tsae.pipelines.compress import compress_file, decompress_file, decompress_series

from compress_helpers import walk


@pytest.fixture()
def long_npy(tmp_path):
    """A two-channel ``.npy`` of 3000 samples (many 100-sample chunks) with a NaN and an inf."""
    values = walk(3000, seed=3)
    values[0, 1234] = np.nan
    values[1, 77] = np.inf
    path = tmp_path / "long.npy"
    np.save(path, values.astype(np.float32))
    return path


@pytest.mark.parametrize("options", [{"max_error": 1e-3, "relative": True}, {"max_error": [0.01, 0.02]}, {}])
def test_the_container_is_the_same_read_whole_or_in_blocks(tmp_path, long_npy, model_file, options) -> None:
    whole = compress_file(model_file, long_npy, tmp_path / "whole.tsz", block_windows=8, **options)
    parts = compress_file(model_file, long_npy, tmp_path / "parts.tsz", block_windows=8, chunk=100, **options)
    assert (tmp_path / "parts.tsz").read_bytes() == (tmp_path / "whole.tsz").read_bytes()
    assert parts == whole
    assert parts["samples"] == 3000


def test_decompressing_in_blocks_writes_the_whole_series(tmp_path, long_npy, model_file) -> None:
    container = tmp_path / "long.tsz"
    compress_file(model_file, long_npy, container, block_windows=8, max_error=1e-3, relative=True, chunk=100)
    info = decompress_file(container, tmp_path / "out.npy")
    assert info["samples"] == 3000
    expected = decompress_series(container.read_bytes(), load_model(model_file))
    save_npy(tmp_path / "expected.npy", expected)
    assert (tmp_path / "out.npy").read_bytes() == (tmp_path / "expected.npy").read_bytes()
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    original = np.load(long_npy).astype(np.float64)
    finite = np.isfinite(original)
    assert np.array_equal(np.isnan(expected), np.isnan(original))
    assert np.abs(expected[finite] - original[finite]).max() <= 1e-3 * 1.01 * np.ptp(original[0][np.isfinite(original[0])])


def test_decompressing_to_audio_in_blocks_writes_what_the_whole_series_wrote(tmp_path, model_file) -> None:
    soundfile = pytest.importorskip("soundfile")
    values = 0.1 * np.sin(np.arange(2 * 2000).reshape(2, 2000) / 50)
    soundfile.write(tmp_path / "in.wav", values.T, 8000, subtype="FLOAT")
    compress_file(model_file, tmp_path / "in.wav", tmp_path / "in.tsz", block_windows=8, max_error=1e-4, chunk=300)
    decompress_file(tmp_path / "in.tsz", tmp_path / "out.wav")
    out, rate = soundfile.read(tmp_path / "out.wav", always_2d=True)
    assert rate == 8000
    expected = decompress_series((tmp_path / "in.tsz").read_bytes(), load_model(model_file))
    write_series(tmp_path / "expected.wav", expected, 8000, {"kind": "table"})  # as decompress wrote it whole
    np.testing.assert_array_equal(out, soundfile.read(tmp_path / "expected.wav", always_2d=True)[0])
    np.testing.assert_allclose(out.T, expected, atol=1e-4)
