"""The signal engine: framing, overlap-add, streaming and preprocessing.

Checked public functions over numba kernels (compiled on first use, cached on
disk). The names below are imported lazily, so importing a submodule (or the
CLI) does not load numba until a kernel is needed; ``__init__.pyi`` lists them.

- :mod:`tsae.engine.framing`: :func:`frame`, :func:`overlap_add`,
  :func:`window_array`, :func:`num_frames`
- :mod:`tsae.engine.streaming`: :class:`StreamFramer`, :class:`StreamOverlapAdd`
- :mod:`tsae.engine.preprocess`: :func:`repair_missing`, :func:`forward_fill`, :func:`missing_mask`,
  :class:`Normalizer`, :func:`detrend`, :func:`resample`
- :mod:`tsae.engine.layout`: :func:`as_channels_first`, :func:`known_layout`
"""
from __future__ import annotations

from tsae._lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
