"""File jobs: a series file to a ``.tsz`` container with a reference to its model file, and back.

The container's header names the model file (its path relative to the container when
possible, and absolute) and its SHA-256; decompressing finds the model there (or takes
one given explicitly) and refuses a model file whose SHA-256 differs.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from tsae.io.atomic import atomic_path
from tsae.io.paths import check_output
from tsae.io.series import read_series, write_series
from tsae.pipelines.compress.container import Reader
from tsae.pipelines.compress.series import absolute_bounds
from tsae.pipelines.compress.stream import Compressor, iter_decompress


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _model_reference(model_path: Path, output: Path) -> dict[str, Any]:
    absolute = model_path.resolve()
    try:
        relative = os.path.relpath(absolute, output.resolve().parent)
    except ValueError:  # another drive on Windows
        relative = str(absolute)
    return {"path": relative, "absolute_path": str(absolute), "sha256": file_sha256(absolute)}


def compress_file(model: str | os.PathLike, data: str | os.PathLike, output: str | os.PathLike, *,
                  max_error: float | None = None, relative: bool = False, coder: str = "lzma",
                  block_windows: int = 256, latent_step: float | None = None, device: Any = "cpu") -> dict[str, Any]:
    """Compress the series file ``data`` with the model file ``model`` into the container ``output``.

    Parameters
    ----------
    model
        The ``.tsae`` model file; the container records its path and SHA-256.
    data
        A series file (CSV/TSV, ``.npy``, audio).
    output
        The ``.tsz`` file, written atomically, never over ``data`` or ``model``.
    max_error, relative, coder, block_windows, latent_step
        See :func:`~tsae.pipelines.compress.series.compress_series`.
    device
        Where the encoder runs (the decoder always runs on the CPU in float64).

    Returns
    -------
    dict
        ``samples``, ``blocks``, ``max_abs_error`` and ``rms_error`` per channel, ``bytes``
        (container size) and ``bits_per_value``.
    """
    from tsae.models.modelfile import load_model

    model_path, data_path, out = Path(model), Path(data), Path(output)
    check_output(out, [data_path, model_path])
    loaded = load_model(model_path, device=device)
    values, rate, meta = read_series(data_path)
    if values.shape[0] != loaded.channels:
        raise ValueError(f"{data_path}: {values.shape[0]} channel(s), but the model was trained on {loaded.channels}")
    header = {"model": {**_model_reference(model_path, out), "family": loaded.family},
              "columns": list(meta.get("columns") or []), "sample_rate": rate}
    with atomic_path(out, protect=(data_path, model_path)) as tmp:
        with open(tmp, "wb") as handle:
            writer = Compressor(handle, loaded, max_error=absolute_bounds(values, max_error, relative), coder=coder,
                                block_windows=block_windows, latent_step=latent_step, header=header)
            writer.write(values)
            trailer = writer.close()
    size = out.stat().st_size
    return {**trailer, "bytes": size, "bits_per_value": 8 * size / max(values.size, 1)}


def _find_model(reader: Reader, container: Path, given: str | os.PathLike | None) -> Path:
    reference = reader.header.get("model") or {}
    if given is not None:
        candidates = [Path(given)]
    else:
        stored = [reference.get("path"), reference.get("absolute_path")]
        candidates = [container.parent / p if not Path(p).is_absolute() else Path(p) for p in stored if p]
        found = [p for p in candidates if p.is_file()]
        if not found:
            where = reference.get("path") or "(no model reference stored)"
            raise reader.fail(f"model file {where} not found; give the model file explicitly")
        candidates = found[:1]
    path = candidates[0]
    expected = reference.get("sha256")
    if expected and file_sha256(path) != expected:
        raise reader.fail(f"model file {path} is not the one the container was written with (SHA-256 differs)")
    return path


def decompress_file(container: str | os.PathLike, output: str | os.PathLike, *,
                    model: str | os.PathLike | None = None) -> dict[str, Any]:
    """Decompress the ``.tsz`` file ``container`` into the series file ``output`` (kind by suffix).

    Parameters
    ----------
    container
        The ``.tsz`` file.
    output
        A series file (CSV, ``.npy``, audio), written atomically; a CSV keeps the column names.
    model
        The model file (default: the one the container references, which must exist).

    Returns
    -------
    dict
        ``samples``, ``channels``, ``model`` (path) and the stored ``max_error`` per channel.

    Raises
    ------
    ValueError
        One line naming the container: corrupt or truncated, model missing or with another
        SHA-256, or values that fail the error-bound check.
    """
    from tsae.models.modelfile import load_model

    source, out = Path(container), Path(output)
    if not source.is_file():
        raise ValueError(f"{source}: no such file")
    with open(source, "rb") as handle:
        reader = Reader(handle, str(source))
        model_path = _find_model(reader, source, model)
        check_output(out, [source, model_path])
        loaded = load_model(model_path, device="cpu")
        blocks = list(iter_decompress(reader, loaded))
    header = reader.header
    channels = int(header["channels"])
    values = np.concatenate(blocks, axis=1) if blocks else np.zeros((channels, 0))
    columns = header.get("columns") or []
    meta = {"kind": "table", "columns": columns if len(columns) == channels else None}
    write_series(out, values, header.get("sample_rate"), meta, protect=(source, model_path))
    return {"samples": values.shape[1], "channels": channels, "model": str(model_path),
            "max_error": header.get("max_error")}


__all__ = ["compress_file", "decompress_file", "file_sha256"]
