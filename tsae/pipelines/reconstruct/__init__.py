"""Reconstruct and encode series with a trained model, one series or many files (local, GPU, Dask).

The names below are imported lazily (``__init__.pyi`` lists them), so that a module needing
one helper of this package (``tsae.pipelines.reconstruct.columns``) does not load the batch
runner, its Dask and socket code, with it.
"""
from __future__ import annotations

from tsae._lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
