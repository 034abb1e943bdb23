"""The monitor's scores are batch scoring's to the last bit, however the stream is cut into pushes.

A score one ulp off batch's could be flagged by one and not by the other at the threshold. What made them differ:
BLAS's matrix products (the subspace term, the silent sensors' fill-in) and the network's calls round differently
with the number of frames in the call, and the drift updates summed each push's samples as a block.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tsae.models.device import torch_threads
from tsae.pipelines.anomaly._kernels import add_subspace_squares, row_products
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.model_slots import MODEL_SLOTS, slotted_forward
from tsae.pipelines.anomaly.monitor import Monitor

from sensor_data import make_series

PUMP = Path(__file__).parents[3] / "data" / "pump_normal.csv"
BLOCKS = (1, 7, 97, None)  # None: the whole series in one push


def _pump() -> np.ndarray:
    table = pd.read_csv(PUMP)
    return table[["flow", "pressure", "temperature", "vibration"]].to_numpy().T[:, :2400].copy()


def _with_fault(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    middle = x.shape[1] // 2
    x[:, middle:middle + 15] += 2.0
    return x


def _streamed(det: Detector, x: np.ndarray, block: int | None, times=None) -> np.ndarray:
    monitor = Monitor(det, every_sample=True)
    block = block or x.shape[1]
    records = []
    for start in range(0, x.shape[1], block):
        records += monitor.push(x[:, start:start + block], None if times is None else times[start:start + block])
    records += monitor.flush()
    return np.array([r["score"] for r in records if r["type"] == "sample"], dtype=float)


def _assert_exact(det: Detector, x: np.ndarray, times=None) -> None:
    batch = det.decision_function(x, times=times)
    assert np.isfinite(batch).all()
    for block in BLOCKS:
        streamed = _streamed(det, x, block, times)
        assert streamed.shape == batch.shape
        differ = np.flatnonzero(streamed != batch)
        assert not len(differ), (f"pushes of {block or 'all'} samples: {len(differ)} scores differ, by up to "
                                 f"{np.abs(streamed - batch).max():.3g}")


def test_a_subspace_only_detector(train_data) -> None:
    det = Detector(window=24, terms="pca", scales=(), device="cpu").fit(train_data.T)
    _assert_exact(det, _with_fault(make_series(600, seed=5).T))


def test_a_multi_scale_detector_of_the_pump_sample() -> None:
    x = _pump()
    det = Detector(window=64, terms="pca+stats", device="cpu").fit(x[:, :1600])
    assert len(det.state_.scales) >= 1
    _assert_exact(det, _with_fault(x[:, 1600:]))


@pytest.mark.parametrize("model", ["conv1d", "lstm"])
def test_a_detector_with_the_network_term(train_data, model) -> None:
    det = Detector(model=model, window=16, epochs=1, terms="ae+pca+stats", device="cpu").fit(train_data.T)
    assert det.state_.ae_weight > 0
    _assert_exact(det, _with_fault(make_series(500, seed=6).T))


def test_a_seasonal_detector() -> None:
    n = 144 * 20  # 20 days of 10-minute samples, quieter weekends
    times = pd.date_range("2024-01-01", periods=n, freq="10min")
    x = make_series(n, seed=7, period=144).T
    x[0] -= 0.8 * (times.day_of_week >= 5)
    train = 144 * 15
    det = Detector(window=36, terms="pca+stats", scales=(), device="cpu").fit(x[:, :train], times=times[:train])
    assert det.seasonal_ is not None
    _assert_exact(det, _with_fault(x[:, train:]), np.asarray(times[train:]))


def test_a_drifting_detector(train_data) -> None:
    det = Detector(window=24, terms="pca+stats", scales=(), device="cpu", drift_rate=0.2,
                   drift_every=240).fit(train_data.T)
    x = make_series(1200, seed=8).T
    x += np.linspace(0, 0.05, x.shape[1])  # a slow drift to follow, normal enough to update at every boundary
    core = det.core()
    core.push(x)
    assert core.updates == 1200 // 240  # the normaliser moved: the samples' sums decide where
    _assert_exact(det, x)


def test_a_detector_filling_in_a_silent_sensor(train_data) -> None:
    det = Detector(window=24, terms="pca+stats", scales=(), device="cpu").fit(train_data.T)
    x = make_series(480, seed=9).T
    x[1, 150:330] = np.nan  # silent after 100 missing values: filled in from the others through the subspace
    _assert_exact(det, x)


def test_the_subspace_kernel_is_the_product_and_the_same_bits_in_any_block() -> None:
    rng = np.random.default_rng(0)
    frames, length, channels, rank = 50, 12, 3, 5
    x = rng.normal(size=(frames, length, channels))
    mean = rng.normal(size=channels * length)
    components = np.linalg.qr(rng.normal(size=(channels * length, rank)))[0].T.copy()
    scale = rng.uniform(0.5, 2.0, channels)
    whole = np.zeros(x.shape)
    add_subspace_squares(whole, x, mean, components, components.T.copy(), 0.7, scale)
    flat = x.transpose(0, 2, 1).reshape(frames, -1) - mean
    residual = (flat - flat @ components.T @ components).reshape(frames, channels, length).transpose(0, 2, 1)
    np.testing.assert_allclose(whole, residual ** 2 * 0.7 / scale, rtol=1e-12)
    for block in (1, 3, 7):
        parts = np.zeros(x.shape)
        for start in range(0, frames, block):
            add_subspace_squares(parts[start:start + block], x[start:start + block], mean, components,
                                 components.T.copy(), 0.7, scale)
        np.testing.assert_array_equal(parts, whole)


def test_row_products_are_the_product_and_the_same_bits_in_any_block() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 30)), rng.normal(size=(30, 4))
    whole = np.empty((40, 4))
    row_products(a, b, whole)
    np.testing.assert_allclose(whole, a @ b, rtol=1e-12, atol=1e-12)
    for row in range(40):
        one = np.empty((1, 4))
        row_products(a[row:row + 1], b, one)
        np.testing.assert_array_equal(one[0], whole[row])


def test_a_frames_reconstruction_does_not_depend_on_the_frames_in_its_call(train_data) -> None:
    det = Detector(window=16, epochs=1, terms="ae", scales=(), device="cpu").fit(train_data.T)
    model = det.state_.model.double().eval()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3 * MODEL_SLOTS + 5, 3, 16))
    numbers = np.arange(len(x)) + 11
    with torch_threads(1):
        whole = slotted_forward(model, x, numbers, dtype=torch.float64)
        for block in (1, 7):
            parts = np.concatenate([slotted_forward(model, x[s:s + block], numbers[s:s + block], dtype=torch.float64)
                                    for s in range(0, len(x), block)])
            np.testing.assert_array_equal(parts, whole)
        # frames of several streams joined, in any order (monitor --group-by): each one's bits
        order = rng.permutation(len(x))
        np.testing.assert_array_equal(slotted_forward(model, x[order], numbers[order], dtype=torch.float64),
                                      whole[order])


def test_a_block_on_one_thread_leaves_torch_on_its_threads() -> None:
    # numba's threads restored after the block reset the OpenMP thread count: torch on 1 thread was on 2 after it
    from tsae.pipelines.anomaly import _kernels

    _kernels.warm()
    before = torch.get_num_threads()
    try:
        for threads in (1, 3):
            torch.set_num_threads(threads)
            with torch_threads(1, native=True):
                assert torch.get_num_threads() == 1
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)
