"""Shared by the test suite and the doctests of the ``tsae`` package (``--doctest-modules``)."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _doctest_numpy(doctest_namespace: dict) -> None:
    """Docstring examples use ``np`` without importing it, as numpy's own do."""
    doctest_namespace["np"] = np
