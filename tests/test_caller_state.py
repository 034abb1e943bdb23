"""What tsae leaves of its caller's process: the global random generators and torch's default dtype.

A fit is reproducible by its own seed; the caller's ``random``, ``np.random`` and torch streams
go on as if tsae had not run, and a caller working in float64 gets the float32 networks tsae makes.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import torch

import tsae
from tsae.models.trainer import TrainConfig

CONFIG = TrainConfig(epochs=1, quiet=True, device="cpu", batch_size=16)


def series(channels: int = 2, n: int = 256) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / (3 + c)) + 0.1 * c for c in range(channels)])


def draws() -> tuple[float, float, float]:
    legacy = float(np.random.random())  # noqa: NPY002 - the caller's legacy stream
    return random.random(), legacy, float(torch.rand(1))


def after(call) -> tuple[float, float, float]:
    random.seed(7)
    np.random.seed(7)  # noqa: NPY002
    torch.manual_seed(7)
    call()
    return draws()


@pytest.fixture(scope="module")
def fitted():
    return tsae.fit(series(), model="conv1d", window=16, params={"hidden": 4, "latent": 4}, config=CONFIG)


@pytest.mark.parametrize("call", [
    lambda fitted: tsae.fit(series(), model="conv1d", window=16, params={"hidden": 4, "latent": 4}, config=CONFIG),
    lambda fitted: tsae.Detector(window=16, epochs=1, scales=[16]).fit(series()),
    lambda fitted: tsae.reconstruct(fitted, series()),
    lambda fitted: tsae.encode(fitted, series()),
], ids=["fit", "Detector.fit", "reconstruct", "encode"])
def test_the_callers_random_generators_go_on_as_if_tsae_had_not_run(fitted, call) -> None:
    assert after(lambda: call(fitted)) == after(lambda: None)


def test_a_fit_is_still_reproducible_by_its_seed() -> None:
    first = tsae.fit(series(), model="conv1d", window=16, config=CONFIG)
    np.random.seed(3)  # noqa: NPY002
    torch.manual_seed(3)
    second = tsae.fit(series(), model="conv1d", window=16, config=CONFIG)
    assert np.array_equal(tsae.reconstruct(first, series()), tsae.reconstruct(second, series()))


@pytest.fixture
def float64_default():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("family", ["conv1d", "lstm"])
def test_a_float64_default_dtype_fits_and_runs_the_float32_networks(fitted, float64_default, family) -> None:
    torch.set_default_dtype(torch.float32)
    expected = tsae.fit(series(), model=family, window=16, config=CONFIG)
    torch.set_default_dtype(torch.float64)
    model = tsae.fit(series(), model=family, window=16, config=CONFIG)
    assert next(model.model.parameters()).dtype == torch.float32
    assert np.array_equal(tsae.reconstruct(model, series()), tsae.reconstruct(expected, series()))
    assert np.array_equal(tsae.encode(fitted, series()), tsae.encode(fitted, series()))
    assert torch.get_default_dtype() == torch.float64


def test_a_float64_default_dtype_fits_a_detector(float64_default) -> None:
    scores = tsae.Detector(window=16, epochs=1, scales=[16]).fit(series()).decision_function(series())
    assert np.isfinite(scores).all()
    assert torch.get_default_dtype() == torch.float64


def test_fits_on_several_threads_are_each_the_fit_alone() -> None:
    alone = tsae.reconstruct(tsae.fit(series(), model="conv1d", window=16, config=CONFIG), series())
    together: dict[int, np.ndarray] = {}

    threads_here = torch.get_num_threads()

    def fit(i: int) -> None:
        torch.set_num_threads(threads_here)  # OpenMP's count is each thread's own: the same bits as here
        together[i] = tsae.reconstruct(tsae.fit(series(), model="conv1d", window=16, config=CONFIG), series())

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [float(np.abs(y - alone).max()) for y in together.values()] == [0.0] * 3


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="numba's pool of one thread leaves a count of 1 as it was")
def test_the_first_kernel_keeps_the_callers_torch_thread_count() -> None:
    # numba's OpenMP pool, started by the first parallel kernel, set OpenMP's count to the machine's cores
    script = ("import numpy as np, torch, tsae; torch.set_num_threads(1); torch.get_num_threads(); "
              "tsae.frame(np.ones((2, 1000)), 32, 8); print(torch.get_num_threads())")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.split() == ["1"]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="numba's pool of one thread leaves a count of 1 as it was")
@pytest.mark.parametrize("kernel_first", [True, False], ids=["kernel_then_torch", "torch_then_kernel"])
def test_torch_follows_omp_num_threads_whichever_starts_first(kernel_first: bool) -> None:
    # before: a kernel run before torch was imported left torch on every core under OMP_NUM_THREADS=1
    kernel, load = "tsae.frame(np.ones((2, 1000)), 32, 8); ", "import torch; "
    script = ("import numpy as np, tsae; " + (kernel + load if kernel_first else load + kernel)
              + "print(torch.get_num_threads())")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True,
                          env=env)
    assert done.stdout.split() == ["1"]


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode], ids=["no_grad", "inference_mode"])
def test_fitting_under_a_callers_no_grad_trains_as_outside(mode) -> None:
    # before: "the training loss does not depend on the network's weights"; smooth: ZeroDivisionError
    fitted = tsae.fit(series(), model="conv1d", window=16, config=CONFIG)
    scores = tsae.Detector(window=16, epochs=1, scales=[16]).fit(series()).decision_function(series())
    noisy = series(n=1200) + 0.3 * np.random.default_rng(0).standard_normal((2, 1200))
    smoothed = tsae.smooth(noisy, steps=10)
    with mode():
        again = tsae.fit(series(), model="conv1d", window=16, config=CONFIG)
        assert np.array_equal(tsae.reconstruct(again, series()), tsae.reconstruct(fitted, series()))
        detector = tsae.Detector(window=16, epochs=1, scales=[16]).fit(series())
        assert np.array_equal(detector.decision_function(series()), scores)
        assert np.array_equal(tsae.smooth(noisy, steps=10), smoothed)


def test_the_training_memory_of_a_network_is_counted_under_no_grad() -> None:
    from tsae.models.fit import activation_bytes

    counted = activation_bytes("conv1d", 2, 64, {})
    with torch.no_grad():
        assert activation_bytes("conv1d", 2, 64, {}) == counted > 0


def test_tsae_on_several_threads_leaves_the_callers_warning_filters() -> None:
    # before: catch_warnings blocks on two threads restored each other's filter lists, leaving "ignore RuntimeWarning"
    from tsae.engine.preprocess import Normalizer, spread

    before = list(warnings.filters)
    rows = np.vstack([np.full((1, 20000), np.nan), np.arange(20000.0)])  # long enough for numpy to let go of the GIL

    def work() -> None:
        for _ in range(400):
            spread(rows, skip_nan=True)
            Normalizer("zscore").fit(rows)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = list(warnings.filters)
    warnings.filters[:] = before
    assert after == before
