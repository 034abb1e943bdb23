from __future__ import annotations

import pytest
import torch

from tsae import plugins


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture()
def fresh_plugins():
    """Re-discover plugins before and after a test that changes the registry."""
    plugins.reset()
    yield plugins
    plugins.reset()
