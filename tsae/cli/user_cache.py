"""Where the command line keeps what it remembers between runs (``$XDG_CACHE_HOME/tsae``)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from tsae._cache_home import cache_home


def cache_path(name: str) -> Path:
    """``$XDG_CACHE_HOME/tsae/<name>`` (:func:`tsae._cache_home.cache_home`); not created here."""
    return cache_home() / name


def read_cached(name: str) -> str | None:
    """The text of :func:`cache_path` ``(name)``; None when it is missing, unreadable or not UTF-8 text.

    Only a regular file is read: a named pipe put in its place would be waited on forever
    (every ``tsae models`` hung), a device read without end.
    """
    try:
        fd = os.open(cache_path(name), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            return handle.read().decode("utf-8")
    except (OSError, ValueError):
        return None
