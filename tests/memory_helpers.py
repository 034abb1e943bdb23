"""Memory measurement shared by the tests (importable by bare name: pytest puts tests/, the folder of
tests/conftest.py, on sys.path)."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest


def peak_rss_growth(action: Callable[[], object]) -> int:
    """Bytes the resident high-water mark (``VmHWM``, reset via ``/proc/self/clear_refs``) rises while ``action`` runs.

    Resident memory, not ``tracemalloc``: torch's and libsndfile's allocations count too.
    """
    clear = Path("/proc/self/clear_refs")
    if not os.access(clear, os.W_OK):
        pytest.skip("needs a writable /proc/self/clear_refs to reset the peak RSS")
    fields = lambda: dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())  # noqa: E731
    clear.write_text("5")
    before = int(fields()["VmRSS"].split()[0])
    action()
    return (int(fields()["VmHWM"].split()[0]) - before) * 1024


def traced_peak(action: Callable[[], object]) -> tuple[object, int]:
    """``(action's result, the peak bytes Python allocated while it ran)``, by ``tracemalloc``."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = action()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
