"""Loading a model on one thread while a fit trains on another: the load waits for a training step, not the fit.

Every wait has a timeout, so a load that waits for the whole fit again fails instead of hanging.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

import tsae
from tsae.models import trainer
from tsae.models.trainer import TrainConfig

WAIT = 60.0


class _Stop(Exception):
    pass


def series(n: int = 400) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / 5.0), np.cos(t / 7.0)])


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Any:
    path = tmp_path_factory.mktemp("load_beside_fit") / "m.tsae"
    fitted = tsae.fit(series(), model="conv1d", window=16, config=TrainConfig(epochs=1, quiet=True, device="cpu"))
    tsae.save_model(path, fitted.model)
    return path


def test_a_load_completes_while_a_fit_is_still_training(monkeypatch, model_file) -> None:
    # before: the load built its network under the lock a fit holds for all its training, and waited for the fit
    training, loaded = threading.Event(), threading.Event()
    step = trainer._Run.step
    started = time.monotonic()

    def stepping(self: Any, index: np.ndarray) -> Any:
        training.set()
        if loaded.is_set():
            raise _Stop
        if time.monotonic() - started > WAIT:  # the load never got in: end the fit, and the test fails below
            raise _Stop
        return step(self, index)

    monkeypatch.setattr(trainer._Run, "step", stepping)
    outcome: dict[str, Any] = {}

    def fit() -> None:
        with pytest.raises(_Stop):
            tsae.fit(series(), model="conv1d", window=16,
                     config=TrainConfig(epochs=10**6, patience=10**6, quiet=True, device="cpu", batch_size=4))
        outcome["fit ended"] = time.monotonic()

    def load() -> None:
        outcome["model"] = tsae.load_model(model_file)
        outcome["loaded"] = time.monotonic()
        loaded.set()

    fitting = threading.Thread(target=fit)
    fitting.start()
    try:
        assert training.wait(WAIT)
        loading = threading.Thread(target=load)
        loading.start()
        loading.join(WAIT / 2)
        assert not loading.is_alive() and "model" in outcome, "the load waited for the fit"
    finally:
        loaded.set()
        fitting.join(WAIT * 2)
    assert not fitting.is_alive()
    assert outcome["loaded"] < outcome["fit ended"]  # loaded while the fit was in its training loop
    assert outcome["model"].family == "conv1d"


def test_a_fit_that_lets_a_load_in_between_its_steps_trains_as_alone(monkeypatch, model_file) -> None:
    # the fit's generators are put aside while the load builds (drawing initial weights) and back after
    config = TrainConfig(epochs=2, quiet=True, device="cpu", batch_size=8, seed=3)
    alone = tsae.fit(series(), model="vae", window=16, config=config).model.state_dict()

    from tsae.models import rng

    step = trainer._Run.step
    steps = {"n": 0}
    loads: list[threading.Thread] = []

    def stepping(self: Any, index: np.ndarray) -> Any:
        out = step(self, index)
        steps["n"] += 1
        if steps["n"] in (1, 3):  # a load that waits for the turn when this step ends
            loads.append(threading.Thread(target=tsae.load_model, args=(model_file,)))
            loads[-1].start()
            deadline = time.monotonic() + WAIT
            while not rng._waiting and loads[-1].is_alive():
                assert time.monotonic() < deadline
                time.sleep(0.001)
        return out

    monkeypatch.setattr(trainer._Run, "step", stepping)
    beside = tsae.fit(series(), model="vae", window=16, config=config).model.state_dict()
    for thread in loads:
        thread.join(WAIT)
        assert not thread.is_alive()
    assert len(loads) == 2
    assert all(np.array_equal(alone[k].numpy(), beside[k].numpy()) for k in alone)
