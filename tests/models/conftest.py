"""Shared fixtures of the model tests: small synthetic multichannel data, one thread."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic_data import synthetic_series


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def series() -> np.ndarray:
    return synthetic_series()


@pytest.fixture(scope="session")
def normalized(series: np.ndarray) -> np.ndarray:
    return (series - series.mean(1, keepdims=True)) / series.std(1, keepdims=True)
