"""Where the command line keeps what it remembers between runs (``$XDG_CACHE_HOME/tsae``)."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_path(name: str) -> Path:
    """``$XDG_CACHE_HOME/tsae/<name>`` (``~/.cache/tsae``, ``%LOCALAPPDATA%\\tsae`` on Windows); not created here."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        local = os.environ.get("LOCALAPPDATA") if sys.platform == "win32" else None
        base = local or str(Path.home() / ".cache")
    return Path(base) / "tsae" / name
