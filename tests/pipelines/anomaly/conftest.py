"""Shared fixtures: synthetic sensor data, one small fitted detector (seconds to train), a broker."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from sensor_data import SENSORS, make_series

sys.path.insert(0, str(Path(__file__).parents[2] / "fixtures"))
from loopback_broker import Broker, mosquitto_binary  # noqa: E402


@pytest.fixture(scope="session")
def train_data() -> np.ndarray:
    """Rows (time, sensor), as CSV files hold them; the Detector takes ``.T``."""
    return make_series(900, seed=0)


@pytest.fixture(scope="session")
def test_data() -> np.ndarray:
    x = make_series(700, seed=1)
    x[400:415, 1] += 3.0  # an anomaly on "pressure"
    return x


@pytest.fixture(scope="session")
def detector(train_data):
    from tsae.pipelines.anomaly.detector import Detector

    return Detector(window=24, epochs=3, device="cpu").fit(train_data.T, sensors=SENSORS)


@pytest.fixture(scope="session")
def detector_file(detector, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("det") / "detector.tsae"
    detector.save(path)
    return path


@pytest.fixture
def broker(tmp_path):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto binary not installed (apt-get install mosquitto)")
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()
