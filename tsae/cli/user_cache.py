"""Where the command line keeps what it remembers between runs (``$XDG_CACHE_HOME/tsae``)."""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path


def cache_path(name: str) -> Path:
    """``$XDG_CACHE_HOME/tsae/<name>`` (``~/.cache/tsae``, ``%LOCALAPPDATA%\\tsae`` on Windows); not created here."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        local = os.environ.get("LOCALAPPDATA") if sys.platform == "win32" else None
        base = local or str(Path.home() / ".cache")
    return Path(base) / "tsae" / name


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
