"""Built-in named pipelines: ``denoise``, ``smooth``, ``impute`` and ``reconstruct``.

Registered through the ``tsae`` entry-point group (``pipelines = "tsae_plugins.pipelines"``)
with the same ``register_pipelines`` hook a third-party package uses to add its own;
:func:`tsae.plugins.get_pipeline` finds them by name. Each takes a signal array and keyword
options; the heavy modules are imported only when a pipeline runs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tsae.hookspecs import hookimpl

if TYPE_CHECKING:  # numpy stays out of `tsae --help`
    import numpy as np


def denoise(audio: np.ndarray, sample_rate: int, **options: Any) -> np.ndarray:
    """Speech denoising (:func:`tsae.denoise`)."""
    from tsae.pipelines.denoise.denoiser import denoise as run

    return run(audio, sample_rate, **options)


def smooth(x: Any, **options: Any) -> np.ndarray:
    """Autoencoder smoothing of a series (:func:`tsae.smooth`)."""
    from tsae.pipelines.smooth.smoother import smooth as run

    return run(x, **options)


def impute(x: Any, **options: Any) -> np.ndarray:
    """Gap filling of a series with NaN gaps (:func:`tsae.impute`)."""
    from tsae.pipelines.smooth.imputer import impute as run

    return run(x, **options)


def reconstruct(values: Any, *, model: Any, **options: Any) -> np.ndarray:
    """A trained model's reconstruction of a series (:func:`tsae.reconstruct`)."""
    from tsae.pipelines.reconstruct.series import reconstruct_series

    return reconstruct_series(model, values, **options)


@hookimpl
def register_pipelines(register: Any) -> None:
    for pipeline in (denoise, smooth, impute, reconstruct):
        register(pipeline.__name__, pipeline)
