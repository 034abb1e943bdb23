"""The file jobs of ``tsae smooth`` and ``tsae impute``: a series file in, one of the same kind out."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tsae.errors import memory_for
from tsae.io.paths import check_output, read_paths
from tsae.io.series import read_series, write_series
from tsae.pipelines.smooth.smoother import impute, smooth


def _file_job(input: str | os.PathLike, output: str | os.PathLike, model: Any,
              fn: Callable[[np.ndarray], np.ndarray]) -> dict[str, Any]:
    """Read ``input``, write ``fn(values)`` to ``output``; neither the input nor the model file is overwritten.

    The whole series is in memory (the smoother and the imputer learn from all of it):
    a file too large for the memory is one error naming it.
    """
    start = time.perf_counter()
    src, dst = Path(input), Path(output)
    reads = [src, *read_paths(model)]
    check_output(dst, reads)
    with memory_for(src, "process"):
        values, rate, meta = read_series(src)
        result = np.asarray(fn(values), dtype=np.float64).reshape(values.shape)
    write_series(dst, result, rate, meta, protect=reads)
    return {"samples": int(values.shape[1]), "channels": int(values.shape[0]),
            "missing": int(np.isnan(values).sum()), "seconds": time.perf_counter() - start}


def _loaded_model(model: Any, device: str) -> Any:
    if model is None:
        return None
    from tsae.pipelines.reconstruct.series import _loaded

    return _loaded(model, device)


def smooth_file(input: str | os.PathLike, output: str | os.PathLike, *, strength: float = 1.0, model: Any = None,
                device: str = "cpu", **kwargs: Any) -> dict[str, Any]:
    """Smooth a series file (CSV/TSV, ``.npy``, audio) into ``output`` (same kind, written atomically).

    Parameters
    ----------
    input, output
        Series files; a CSV output keeps the input's time and label columns.
    strength, device, kwargs
        As for :func:`~tsae.pipelines.smooth.smoother.smooth`.
    model
        A trained model (file path or loaded model) or None to learn from the series.

    Returns
    -------
    dict
        ``samples``, ``channels``, ``missing``, ``seconds``.
    """
    loaded = _loaded_model(model, device)
    return _file_job(input, output, loaded, lambda v: smooth(v, strength, model=loaded, device=device, **kwargs))


def impute_file(input: str | os.PathLike, output: str | os.PathLike, *, model: Any = None, device: str = "cpu",
                **kwargs: Any) -> dict[str, Any]:
    """Fill the missing cells of a series file into ``output`` (same kind, written atomically).

    Parameters and result as for :func:`smooth_file`; ``kwargs`` go to
    :func:`~tsae.pipelines.smooth.smoother.impute`.
    """
    loaded = _loaded_model(model, device)
    return _file_job(input, output, loaded, lambda v: impute(v, model=loaded, device=device, **kwargs))


__all__ = ["smooth_file", "impute_file"]
