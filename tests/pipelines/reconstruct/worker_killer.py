"""A pool task that kills its worker process, imported by spawned workers (the test's sys.path travels)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def task_that_dies(src: str, dst: str, batch_size: int) -> dict[str, Any]:
    """Kill the worker on a file named ``*dies_always*`` (``*dies_once*``: only the first time), else do the work."""
    from tsae.pipelines.reconstruct import workers

    name = Path(src).name
    marker = Path(src).with_suffix(".died")
    if "dies_always" in name or ("dies_once" in name and not marker.exists()):
        marker.touch()
        os._exit(3)
    return workers._worker_task(src, dst, batch_size)
