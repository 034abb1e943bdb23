"""smooth's result does not depend on the machine's clock: its default training budget is the step count."""
from __future__ import annotations

import itertools
import types

import numpy as np
import pytest

import tsae.models.trainer as trainer
from tsae.pipelines.smooth.smoother import smooth

#: one epoch of training (the default is three): the tests' time
_STEPS = 50


def _series() -> np.ndarray:
    """A noisy sawtooth: the network predicts its corners better than the linear filter, and is kept."""
    t = np.arange(4096)
    return (t % 64) / 32.0 - 1 + 0.3 * np.random.default_rng(3).standard_normal(t.size)


def _slow_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer's clock: 100 s go by at each reading (a loaded or very slow machine)."""
    ticks = itertools.count()
    monkeypatch.setattr(trainer, "time", types.SimpleNamespace(perf_counter=lambda: 100.0 * next(ticks)))


def test_smooth_is_the_same_on_a_slow_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _series()
    expected = smooth(x, steps=_STEPS)
    _slow_clock(monkeypatch)
    assert np.array_equal(smooth(x, steps=_STEPS), expected)


def test_a_time_cap_given_still_stops_the_training(monkeypatch: pytest.MonkeyPatch) -> None:
    # the network counts in this series' result: a training cut short by the clock shows
    x = _series()
    expected = smooth(x, steps=_STEPS, max_seconds=10.0)
    _slow_clock(monkeypatch)
    assert not np.array_equal(smooth(x, steps=_STEPS, max_seconds=10.0), expected)


def test_a_file_smoothed_block_by_block_is_the_same_on_any_thread_count(tmp_path) -> None:
    # the network applied to each block ran on torch's threads, and its bits depended on their number
    import torch

    from tsae.pipelines.smooth.files import smooth_file

    t = np.arange(40_000)
    np.save(tmp_path / "x.npy", ((t % 64) / 32.0 - 1 + 0.3 * np.random.default_rng(3).standard_normal(t.size))[None])
    previous = torch.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            smooth_file(tmp_path / "x.npy", tmp_path / f"out{threads}.npy", block=1 << 14, steps=_STEPS, quiet=True)
            outs.append(np.load(tmp_path / f"out{threads}.npy"))
    finally:
        torch.set_num_threads(previous)
    assert np.array_equal(outs[0], outs[1])
