"""The next block's prediction decoded on a worker thread while this block's residual is coded: the same
containers as coding each block in turn, torch on one thread there, the blocks in order, errors passed on."""
from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import torch

from tsae.pipelines.compress import stream
from tsae.pipelines.compress.ahead import Ahead
from tsae.pipelines.compress.codes import CodeModel
from tsae.pipelines.compress.container import Reader
from tsae.pipelines.compress.stream import Compressor, iter_decompress

from compress_helpers import walk


def _container(model, x: np.ndarray, chunk: int, **options) -> bytes:
    handle = io.BytesIO()
    writer = Compressor(handle, model, block_windows=4, **options)
    for start in range(0, x.shape[1], chunk):
        writer.write(x[:, start:start + chunk])
    writer.close()
    return handle.getvalue()


def _series() -> np.ndarray:
    x = walk(1000, seed=3)
    x[0, 100:140] = np.nan  # repaired for the model, kept exactly
    x[1] = np.round(x[1])  # whole numbers: rounded after reconstruction under a bound below 0.5
    return x


@pytest.mark.parametrize("options", [{"max_error": 0.1}, {"max_error": [0.3, 0.4], "latent_step": 0.5}, {}],
                         ids=["tuned-step", "given-step", "no-bound"])
@pytest.mark.parametrize("model", ["conv_model", "vq_model"])
def test_a_container_is_the_same_whether_blocks_are_decoded_ahead_or_in_turn(model, options, request,
                                                                              monkeypatch):
    model = request.getfixturevalue(model)
    x = _series()
    monkeypatch.setattr(stream, "usable_cores", lambda: 2)
    ahead = _container(model, x, 150, **options)
    monkeypatch.setattr(stream, "AHEAD_BLOCKS", 0)
    in_turn = _container(model, x, 150, **options)
    assert ahead == in_turn
    assert len(list(iter_decompress(Reader(io.BytesIO(ahead), "c"), model))) == 16  # 1000 / 64 samples


def test_the_worker_decodes_on_one_torch_thread_and_leaves_the_callers_alone(conv_model, monkeypatch):
    seen: list[tuple[bool, int]] = []
    decode = CodeModel.decode

    def spy(self, codes, samples):
        seen.append((threading.current_thread() is threading.main_thread(), torch.get_num_threads()))
        return decode(self, codes, samples)

    monkeypatch.setattr(CodeModel, "decode", spy)
    monkeypatch.setattr(stream, "usable_cores", lambda: 2)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _container(conv_model, walk(1000), 1000, max_error=0.1, latent_step=0.1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert len(seen) == 16 and {threads for _, threads in seen} == {1}
    assert not any(on_main for on_main, _ in seen)  # every prediction decoded by the worker


def test_ahead_gives_results_in_order_one_call_behind():
    ahead: Ahead[int] = Ahead(1)
    try:
        assert ahead.put("a", lambda: 1) == []
        assert ahead.put("b", lambda: 2) == [("a", 1)]
        assert ahead.drain() == [("b", 2)]
        assert list(ahead.map(lambda n: n * n, [1, 2, 3])) == [(1, 1), (2, 4), (3, 9)]
    finally:
        ahead.close()
    assert Ahead(0).put("now", lambda: threading.current_thread().name) == [("now", threading.current_thread().name)]


def test_an_error_in_the_worker_reaches_the_caller_and_drops_the_calls_behind_it():
    ahead: Ahead[int] = Ahead(1)

    def fail() -> int:
        raise ValueError("decoder failed")

    ahead.put("a", fail)
    with pytest.raises(ValueError, match="decoder failed"):
        ahead.put("b", lambda: 2)
    assert ahead.drain() == []  # closed: nothing left out
