"""The one folder tsae keeps caches in (numba's kernels, what ``tsae models`` remembers): stdlib only, so the
command line's listing commands and the engine's kernels both import it cheaply."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_home() -> Path:
    """``$XDG_CACHE_HOME/tsae`` (``~/.cache/tsae``; ``%LOCALAPPDATA%\\tsae`` on Windows); not created here.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG spec asks: it would put a cache
    folder into whatever folder a command runs in.
    """
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):
        local = os.environ.get("LOCALAPPDATA") if sys.platform == "win32" else None
        base = local or str(Path.home() / ".cache")
    return Path(base) / "tsae"
