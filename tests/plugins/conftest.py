from __future__ import annotations

import pytest

from tsae import plugins


@pytest.fixture()
def fresh_plugins():
    """Re-discover plugins before and after a test that changes the registry."""
    plugins.reset()
    yield plugins
    plugins.reset()
