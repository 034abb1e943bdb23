"""Warnings tsae hides for a moment, without leaving the caller's filters changed.

``warnings.catch_warnings`` saves and restores the process's one filter list: two threads
inside such blocks at once restore each other's lists, and a tsae call on one thread beside
another left the caller an ``ignore RuntimeWarning`` filter for good. tsae's blocks take
turns here (a block never waits on itself: the lock is re-entrant).
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator

_FILTERS = threading.RLock()


@contextlib.contextmanager
def ignored(category: type[Warning] = Warning, message: str = "") -> Iterator[None]:
    """Warnings of ``category`` (whose text starts with ``message``, a regular expression) not shown in the block."""
    with _FILTERS, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=message, category=category)
        yield
