"""scripts/eval_plant_faults.py: a finer clock or more training days give the same plant with more rows."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture()
def plant(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))  # it imports anomaly_anchors and anomaly_metrics beside it
    spec = importlib.util.spec_from_file_location("eval_plant_faults_clock", SCRIPTS / "eval_plant_faults.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # the script pins its thread counts in os.environ when imported (for its own runs); left in this process,
    # NUMBA_NUM_THREADS=1 made numba refuse a later compile, after its threads had started with another count
    # ("Cannot set NUMBA_NUM_THREADS to a different value once the threads have been launched"; CI, cold cache)
    pinned = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
    before = {name: os.environ.get(name) for name in pinned}
    spec.loader.exec_module(module)
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    yield module
    sys.modules.pop("eval_plant_faults_clock", None)


def test_a_minute_clock_gives_ten_times_the_rows_and_faults_as_long_in_hours(plant):
    plant.set_clock(600.0, 14, 0.0)
    train, test, stats = plant.make_data(3)
    assert train.shape == (2016, 6) and test.shape == (1008, 6)
    plant.set_clock(60.0, 14, 0.0)
    train, test, stats = plant.make_data(3)
    assert train.shape == (20_160, 6) and test.shape == (10_080, 6)
    _, labels, _ = plant.inject("dropout_zero", test, stats, np.random.default_rng(0))
    assert labels.sum() == 240  # 4 hours
    with pytest.raises(SystemExit, match="multiple of 144"):
        plant.set_clock(7.0, 14, 0.0)


def test_the_weekly_cycle_lowers_the_weekends_only(plant):
    plant.set_clock(600.0, 14, 0.0)
    flat = plant.make_data(5)[0]
    plant.set_clock(600.0, 14, 0.2)
    weekly = plant.make_data(5)[0]
    day = np.arange(len(flat)) // 144 % 7
    middle = (day >= 1) & (day <= 3)  # weekdays away from the eased edges
    assert np.array_equal(flat[middle, 0], weekly[middle, 0])  # the flow (the motor warms with a lag)
    assert (weekly[day == 5, 0] < flat[day == 5, 0]).all()


def test_busy_hours_add_noise_8_to_18_and_leave_the_rest(plant):
    plant.set_clock(600.0, 14, 0.0)
    quiet, _, _ = plant.make_data(3)
    plant.set_clock(600.0, 14, 0.0, busy=3.0)
    busy, _, _ = plant.make_data(3)
    hour = np.arange(len(quiet)) % 144 / 6
    inside = (hour >= 8) & (hour < 18)
    assert np.array_equal(busy[~inside], quiet[~inside])
    ratio = np.std(np.diff(busy[inside, 0])) / np.std(np.diff(quiet[inside, 0]))
    assert 2.0 < ratio < 4.0
    plant.TIMESTAMPS = True
    times = plant.clock(0, 3)
    assert str(times[0]) == "2024-01-01T00:00:00.000000000"
    assert int((times[1] - times[0]) / np.timedelta64(1, "s")) == 600


def test_detector_kw_overrides_the_scripts_own_seed(plant, monkeypatch):
    # before: Detector(sample_interval=..., seed=0, **detector_kw) raised "got multiple values for keyword argument
    # 'seed'" for --detector-kw '{"seed": 1}' (the way to measure the detector's seed noise on the plant)
    import tsae

    given: dict = {}

    class Stop(Exception):
        pass

    def detector(**kwargs):
        given.update(kwargs)
        raise Stop

    monkeypatch.setattr(tsae, "Detector", detector)
    plant.set_clock(600.0, 14, 0.0)
    with pytest.raises(Stop):
        plant.evaluate_seed(100, ["stuck"], [], {"seed": 1, "window": 32}, None, True)
    assert given == {"sample_interval": 600.0, "seed": 1, "window": 32}
