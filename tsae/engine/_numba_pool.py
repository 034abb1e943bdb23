"""Start numba's thread pool without moving a caller's torch thread count.

numba's OpenMP layer sets the process's OpenMP thread count to its own pool size (the
machine's cores) when its pool starts, at the first parallel kernel: a caller's
``torch.set_num_threads(1)`` read back 2, or 64, after ``tsae.frame`` or ``tsae.denoise``.
"""
from __future__ import annotations

import sys

_started = False


def start() -> None:
    """Start the pool now (once), and give torch back the thread count it had, when torch is loaded."""
    global _started
    if _started:
        return
    import numba

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    numba.get_num_threads()  # starts the pool, as the first parallel kernel would
    _started = True
    if torch is not None and torch.get_num_threads() != before:
        torch.set_num_threads(before)
