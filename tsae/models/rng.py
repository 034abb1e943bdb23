"""Python's, numpy's and torch's global random generators, used by tsae and given back as the caller left them."""
from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator

import numpy as np

_TURNS = threading.RLock()


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """Seed or draw from ``random``, ``np.random`` and torch's generators inside the block; after it, they are as
    they were before (CUDA's too, where CUDA was started before the block).

    Blocks on several threads take turns: one restoring the generators while another draws from them (a rebuild
    beside a fit's training) changed the other's draws.
    """
    import torch

    with _TURNS:
        python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002 - the caller's
        cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
        try:
            with torch.random.fork_rng(devices=cuda):
                yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)  # noqa: NPY002
