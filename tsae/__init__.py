"""tsae: plugin-based autoencoders for audio and sensor time series.

The public API is imported lazily so that ``import tsae`` (and ``tsae --help``)
stays fast: torch and numba are loaded only when a function that needs them is used.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # engine
    "frame": "tsae.engine.framing",
    "overlap_add": "tsae.engine.framing",
    "StreamFramer": "tsae.engine.streaming",
    "StreamOverlapAdd": "tsae.engine.streaming",
    "repair_missing": "tsae.engine.preprocess",
    "Normalizer": "tsae.engine.preprocess",
    "detrend": "tsae.engine.preprocess",
    "resample": "tsae.engine.preprocess",
    # plugins and models
    "hookimpl": "tsae.hookspecs",
    "Autoencoder": "tsae.models.base",
    "get_plugin_manager": "tsae.plugins",
    "get_model_family": "tsae.plugins",
    "model_families": "tsae.plugins",
    "create_model": "tsae.plugins",
    "load_model": "tsae.models.modelfile",
    "save_model": "tsae.models.modelfile",
    "train_model": "tsae.models.trainer",
    "TrainConfig": "tsae.models.trainer",
    "LoadedModel": "tsae.models.modelfile",
    "resolve_device": "tsae.models.device",
    "register_plugin": "tsae.plugins",
    "get_pipeline": "tsae.plugins",
    # tables
    "read_table": "tsae.io.tables",
    "write_table": "tsae.io.tables",
    "read_series": "tsae.io.series",
    # pipelines
    "fit_model_on_series": "tsae.models.fit",
    "reconstruct_series": "tsae.pipelines.reconstruct.series",
    "encode_series": "tsae.pipelines.reconstruct.series",
    "denoise": "tsae.pipelines.denoise.denoiser",
    "StreamingDenoiser": "tsae.pipelines.denoise.denoiser",
    "Detector": "tsae.pipelines.anomaly.detector",
    "smooth": "tsae.pipelines.smooth.smoother",
    "impute": "tsae.pipelines.smooth.smoother",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tsae' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
