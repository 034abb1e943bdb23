"""tsae: plugin-based autoencoders for audio and sensor time series.

The public API (listed, with types, in ``__init__.pyi``) is imported lazily so that
``import tsae`` (and ``tsae --help``) stays fast: torch and numba are loaded only when
a name that needs them is first used.
"""
from __future__ import annotations

from tsae._lazy import attach_stub

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
