"""decompress loads the model's network (torch, the plugins) only at the first block that has codes: a container
whose blocks all left them out decodes without it, to the same values."""
from __future__ import annotations

import numpy as np
import pytest

import tsae.models.modelfile as modelfile
from tsae.pipelines.compress import compress_file, decompress_file, decompress_series
from tsae.pipelines.compress.container import Reader


def _has_codes(container) -> list[bool]:
    with open(container, "rb") as handle:
        return ["codes" in block.arrays for block in Reader(handle, "c").blocks()]


def _refuse_loading(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the network was loaded")

    monkeypatch.setattr(modelfile, "load_model", refuse)


def test_blocks_without_codes_decompress_without_loading_the_network(tmp_path, model_file, monkeypatch):
    ramp = np.stack([np.linspace(0, 5, 400), np.linspace(3, -1, 400)])  # differencing beats any model: no codes
    np.save(tmp_path / "in.npy", ramp)
    compress_file(model_file, tmp_path / "in.npy", tmp_path / "c.tsz", max_error=1e-3, block_windows=8)
    assert not any(_has_codes(tmp_path / "c.tsz"))
    expected = decompress_series((tmp_path / "c.tsz").read_bytes(), model_file)
    _refuse_loading(monkeypatch)
    decompress_file(tmp_path / "c.tsz", tmp_path / "out.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    assert np.abs(expected - ramp).max() <= 1e-3


def test_a_block_with_codes_loads_the_network(tmp_path, model_file, monkeypatch):
    x = np.cumsum(np.random.default_rng(1).normal(size=(2, 300)), axis=1)
    np.save(tmp_path / "in.npy", x)
    compress_file(model_file, tmp_path / "in.npy", tmp_path / "c.tsz", block_windows=8)  # no bound: codes only
    assert all(_has_codes(tmp_path / "c.tsz"))
    decompress_file(tmp_path / "c.tsz", tmp_path / "out.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), decompress_series((tmp_path / "c.tsz").read_bytes(),
                                                                                  model_file))
    _refuse_loading(monkeypatch)
    with pytest.raises(AssertionError, match="the network was loaded"):
        decompress_file(tmp_path / "c.tsz", tmp_path / "again.npy")
    assert not (tmp_path / "again.npy").exists()
