"""Fixtures for the whole suite."""
from __future__ import annotations

import pytest

# --doctest-modules (for the tsae package) would import these as modules: the folders'
# conftest.py files all share one name, and the plugin fixture is installed, not imported
collect_ignore = ["conftest.py", "fixtures"]
collect_ignore_glob = ["*/conftest.py"]


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """The test networks are tiny: one torch thread is faster and keeps CI's two cores apart."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
