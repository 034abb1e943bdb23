"""Shared fixtures of the model tests: small synthetic multichannel data, one thread."""
from __future__ import annotations

import numpy as np
import pytest

from synthetic_data import synthetic_series


@pytest.fixture(scope="session")
def series() -> np.ndarray:
    return synthetic_series()


@pytest.fixture(scope="session")
def normalized(series: np.ndarray) -> np.ndarray:
    return (series - series.mean(1, keepdims=True)) / series.std(1, keepdims=True)
