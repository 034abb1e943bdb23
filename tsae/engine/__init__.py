"""The signal engine: framing, overlap-add, streaming and preprocessing.

Checked public functions over numba kernels (compiled on first use, cached on
disk). The names below are imported lazily, so importing a submodule (or the
CLI) does not load numba until a kernel is needed.

- :mod:`tsae.engine.framing`: :func:`frame`, :func:`overlap_add`,
  :func:`window_array`, :func:`num_frames`
- :mod:`tsae.engine.streaming`: :class:`StreamFramer`, :class:`StreamOverlapAdd`
- :mod:`tsae.engine.preprocess`: :func:`repair_missing`, :func:`forward_fill`, :func:`missing_mask`,
  :class:`Normalizer`, :func:`detrend`, :func:`resample`
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "frame": "tsae.engine.framing",
    "overlap_add": "tsae.engine.framing",
    "window_array": "tsae.engine.framing",
    "num_frames": "tsae.engine.framing",
    "StreamFramer": "tsae.engine.streaming",
    "StreamOverlapAdd": "tsae.engine.streaming",
    "missing_mask": "tsae.engine.preprocess",
    "repair_missing": "tsae.engine.preprocess",
    "forward_fill": "tsae.engine.preprocess",
    "Normalizer": "tsae.engine.preprocess",
    "detrend": "tsae.engine.preprocess",
    "resample": "tsae.engine.preprocess",
    "as_channels_first": "tsae.engine.layout",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tsae.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
