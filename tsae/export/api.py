"""Export a model or detector file to ONNX with its JSON sidecar (see :mod:`tsae.export`)."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsae.io.atomic import atomic_path
from tsae.io.paths import check_outputs

#: the sidecar's ``format`` and its version (bumped when a field changes meaning)
SIDECAR_FORMAT = "tsae-onnx"
SIDECAR_VERSION = 1
DEFAULT_OPSET = 17


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_model` wrote: the graph, its sidecar, and the kind of graph."""

    onnx: Path
    sidecar: Path
    kind: str  # "window" | "denoiser_step" | "detector"


def sidecar_path(onnx_path: str | os.PathLike) -> Path:
    """``model.onnx`` -> ``model.json``."""
    return Path(onnx_path).with_suffix(".json")


def export_model(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    opset: int = DEFAULT_OPSET,
    strength: float = 1.0,
    atten_limit: float | None = None,
) -> ExportResult:
    """Export the model or detector file ``source`` to ONNX at ``output`` (and its sidecar).

    Parameters
    ----------
    source
        A ``.tsae`` file: a detector (its scoring network), a streaming denoiser (one
        hop with explicit state), or a model of any other family (a window pass).
    output
        The ``.onnx`` path; the sidecar goes beside it with a ``.json`` suffix.
    opset
        ONNX opset of the graph.
    strength, atten_limit
        For a denoiser: fixed in the graph, as for :class:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser`.

    Raises
    ------
    ValueError
        ``"<path>: <problem>"`` for an unreadable source, an output that would
        replace the source, or a model the exporter cannot trace.
    RuntimeError
        When the ``onnx`` package is not installed.
    """
    from tsae.models.modelfile import load_model
    from tsae.pipelines.anomaly.detector import DETECTOR_KIND

    if importlib.util.find_spec("onnx") is None:  # torch's exporter writes through it
        raise RuntimeError("ONNX export needs the onnx package: pip install 'tsae[onnx]'")
    output = Path(output)
    if output.suffix.lower() != ".onnx":
        raise ValueError(f"{output}: an ONNX export must end in .onnx")
    side = sidecar_path(output)
    check_outputs([output, side], [source])
    loaded = load_model(source, device="cpu")
    denoiser = callable(getattr(loaded.model, "explicit_step", None))
    if not denoiser and (strength != 1.0 or atten_limit is not None):  # they would be ignored without a word
        raise ValueError(f"{source}: strength and atten_limit (--strength, --atten-limit) are a denoiser's; "
                         "this model has neither")
    if (loaded.extra or {}).get("kind") == DETECTOR_KIND:
        from tsae.export.kinds import detector_export

        kind, module, spec = "detector", *detector_export(source)
    elif denoiser:
        from tsae.export.kinds import denoiser_export

        if atten_limit is not None and math.isinf(atten_limit):  # an infinite limit is none (and JSON has no inf)
            atten_limit = None
        kind, module, spec = "denoiser_step", *denoiser_export(loaded, strength=strength, atten_limit=atten_limit)
    else:
        from tsae.export.kinds import window_export

        kind, module, spec = "window", *window_export(loaded)
    graph = _to_onnx(module, spec, opset, source)
    sidecar = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION, "kind": kind, "family": loaded.family,
               "plugin": loaded.plugin, "plugin_version": loaded.plugin_version, "tsae_version": _version(),
               "opset": opset, "source": Path(source).name, **spec["sidecar"]}
    with atomic_path(output, protect=(source,)) as tmp:
        tmp.write_bytes(graph)
    with atomic_path(side, protect=(source,)) as tmp:
        tmp.write_text(json.dumps(sidecar, indent=2, allow_nan=False) + "\n")  # strict JSON for other languages
    return ExportResult(output, side, kind)


def _version() -> str:
    from tsae import __version__

    return str(__version__)


@contextlib.contextmanager
def _native_stderr_dropped() -> Iterator[None]:
    """Drop what native code writes to the process's stderr in the block.

    torch's TorchScript exporter logs its whole IR graph (hundreds of lines) when an
    export fails, to stdout unless told otherwise: its log switch reads as on whatever
    it was set to. The log is sent to stderr and dropped here; the failure is told in
    one line instead.
    """
    import torch

    set_stream = getattr(torch._C, "_jit_set_onnx_log_output_stream", None)
    if set_stream is not None:
        set_stream("stderr")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to protect
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _to_onnx(module: Any, spec: dict[str, Any], opset: int, source: str | os.PathLike) -> bytes:
    """Trace ``module`` with the example inputs of ``spec`` (TorchScript exporter: no extra dependency)."""
    import torch

    buffer = io.BytesIO()
    try:
        # not under no_grad: that would send nn.TransformerEncoderLayer down its fused fast path,
        # which has no ONNX form
        with warnings.catch_warnings(), _native_stderr_dropped():
            warnings.simplefilter("ignore")  # tracer and exporter chatter about constants and deprecation
            torch.onnx.export(module.eval(), tuple(spec["example"]), buffer,  # type: ignore[arg-type]
                              dynamo=False, opset_version=opset,
                              input_names=spec["inputs"], output_names=spec["outputs"],
                              dynamic_axes=spec["dynamic_axes"])
    except Exception as error:  # the exporter raises many types; the message is what matters
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{source}: cannot export to ONNX ({text})") from error
    return buffer.getvalue()
