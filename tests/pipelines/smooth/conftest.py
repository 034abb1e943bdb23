from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture()
def noisy_sine():
    rng = np.random.default_rng(1)
    t = np.arange(1500)
    truth = np.sin(2 * np.pi * t / 150) + 0.4 * np.sin(2 * np.pi * t / 37)
    return truth, truth + 0.3 * rng.normal(size=t.size)
