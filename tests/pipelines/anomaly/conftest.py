"""Shared fixtures: synthetic sensor data, one small fitted detector (seconds to train), a broker."""
from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from sensor_data import SENSORS, make_series


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


# ----------------------------------------------------------------------------- mosquitto
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None)


class Broker:
    """A real mosquitto on a loopback port, with a temp config; restartable on the same port.

    Persistence is on: a broker stopped with SIGTERM saves its sessions and queued
    messages and restores them when started again; one killed with SIGKILL loses what
    changed since its last save (only at a clean stop here: the autosave interval is an hour).
    """

    def __init__(self, directory: Path) -> None:
        self.binary = mosquitto_binary()
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                               f"persistence_location {directory}/\nautosave_interval 3600\n"
                               # as root, mosquitto would switch to user "mosquitto", who cannot write here
                               f"user {getpass.getuser()}\n")
        self.log = directory / "mosquitto.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=open(self.log, "ab"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-500:]}") from None
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def kill(self) -> None:
        """SIGKILL: the broker dies at once, saving nothing."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def stop(self) -> None:
        """SIGTERM: the broker saves its state and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@pytest.fixture
def broker(tmp_path):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto binary not installed (apt-get install mosquitto)")
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()
