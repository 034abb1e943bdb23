"""Export a model or detector file to ONNX with its JSON sidecar (see :mod:`tsae.export`)."""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsae._warning_filters import ignored
from tsae.errors import first_line, shown
from tsae.extras import has_module, require_extra
from tsae.io.atomic import all_or_nothing, atomic_path
from tsae.io.paths import check_outputs

if TYPE_CHECKING:  # numpy is imported where it is used: `tsae --help` imports this module for the opset range
    import numpy as np

#: the sidecar's ``format`` and its version (bumped when a field changes meaning)
SIDECAR_FORMAT = "tsae-onnx"
SIDECAR_VERSION = 1
DEFAULT_OPSET = 17
#: the opsets ``tsae export --opset`` and :func:`export_model` accept (13: the oldest with the graphs' operators
#: for most families; the transformer needs 14; 23: the newest torch's exporter and onnxruntime 1.2x both run)
MIN_OPSET, MAX_OPSET = 13, 23
#: the batch the graph is checked on after tracing (traced with 2): a graph that only works for the traced
#: batch (a Python loop over the batch, numpy in a family's code) is refused
CHECK_BATCH = 3
#: relative tolerance of that check (onnxruntime and torch agree to about 1e-6)
CHECK_RTOL = 1e-3
#: the prefix of the keys :func:`export_model` writes into the graph's ``metadata_props``
METADATA_PREFIX = "tsae."


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
        hop with explicit state), or a model of any other family (a window pass); or
        the name of a shipped denoiser (``"denoiser2"``, ``"denoiser"``) where no file
        of that name exists (a folder is none), as ``tsae export`` and :func:`tsae.denoise` take it.
    output
        The ``.onnx`` path; the sidecar goes beside it with a ``.json`` suffix. Both
        are written atomically, together or not at all (an error or Ctrl-C leaves
        any earlier pair as it was).
    opset
        ONNX opset of the graph, ``MIN_OPSET`` (13) to ``MAX_OPSET`` (23).
    strength, atten_limit
        For a denoiser: fixed in the graph, as for :class:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser`.

    Returns
    -------
    ExportResult

    Raises
    ------
    ValueError
        ``"<path>: <problem>"`` for an unreadable source, an output that would
        replace the source, or a model the exporter cannot trace (naming its
        family); ``"<option> must be ..."`` for an option out of range. With
        onnxruntime installed, the graph is run on a batch of ``CHECK_BATCH`` (it is
        traced with 2) and compared with the model: a graph that does not reproduce
        it (a family whose code loops over the batch in Python or computes with
        numpy, which tracing freezes) is refused too.
    RuntimeError
        When the ``onnx`` package is not installed.

    Notes
    -----
    The graph's ``metadata_props`` hold ``tsae.kind``, ``tsae.family``,
    ``tsae.version`` (of tsae), ``tsae.opset``, ``tsae.window``, ``tsae.hop``,
    ``tsae.channels`` and ``tsae.sample_rate`` where known, and ``tsae.sidecar``: the
    sidecar's whole JSON text, so that the ``.onnx`` file alone is enough to run it.
    """
    require_exporter()  # before torch is imported
    from tsae.models.modelfile import load_model
    from tsae.pipelines.anomaly.detector import DETECTOR_KIND

    opset, strength, atten_limit = _checked_options(opset, strength, atten_limit)
    source = _source_path(_path_argument("source", source, "a model or detector file's path"))
    output = _onnx_path(output)
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

        kind, module, spec = "denoiser_step", *denoiser_export(loaded, strength=strength, atten_limit=atten_limit)
    else:
        from tsae.export.kinds import window_export

        kind, module, spec = "window", *window_export(loaded)
    sidecar = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION, "kind": kind, "family": loaded.family,
               "plugin": loaded.plugin, "plugin_version": loaded.plugin_version, "tsae_version": _version(),
               "opset": opset, "source": Path(source).name, **spec["sidecar"]}
    text = json.dumps(sidecar, indent=2, allow_nan=False) + "\n"  # strict JSON for other languages
    plugin = f" (plugin {loaded.plugin})" if loaded.plugin and loaded.plugin != loaded.family else ""
    label = f"{source}: the {loaded.family} model{plugin}"  # a refusal names the plugin to fix
    graph = _to_onnx(module, spec, opset, label)
    _check_graph(graph, module, spec, label)
    graph = _with_metadata(graph, _metadata(sidecar, spec.get("metadata", {}), text))
    with all_or_nothing():  # the graph and its sidecar appear together, or neither changes
        with atomic_path(output, protect=(source,)) as tmp:
            tmp.write_bytes(graph)
        with atomic_path(side, protect=(source,)) as tmp:
            tmp.write_text(text)
    return ExportResult(output, side, kind)


def require_exporter() -> None:
    """A ``RuntimeError`` saying what to install unless the ``onnx`` package (torch's exporter writes through it)
    is; ``tsae export`` asks before anything else."""
    require_extra("onnx", "ONNX export")


def _checked_options(opset: Any, strength: Any, atten_limit: Any) -> tuple[int, float, float | None]:
    """``opset``, ``strength`` and ``atten_limit`` checked (a ValueError naming the option), before any work."""

    from tsae.engine.layout import check_fraction, is_whole_number
    from tsae.pipelines.denoise.denoiser import checked_atten_limit

    if not is_whole_number(opset) or not MIN_OPSET <= int(opset) <= MAX_OPSET:
        raise ValueError(f"opset must be a whole number from {MIN_OPSET} to {MAX_OPSET}, got {shown(opset)}")
    return int(opset), check_fraction("strength", strength), checked_atten_limit(atten_limit)


def _path_argument(name: str, value: Any, what: str) -> str | os.PathLike:
    """``value`` if it is a path (a str or an ``os.PathLike``); a ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be {what}, got {shown(value)}")
    return value


def _onnx_path(output: Any) -> Path:
    """``output`` checked: a path, not a folder's (a trailing separator, which ``Path`` would drop: the file was
    written under the folder's name)."""
    text = os.fspath(_path_argument("output", output, "the .onnx file's path"))
    if isinstance(text, str) and text.endswith(("/", os.sep)):
        raise ValueError(f"{output}: names a folder; give the .onnx file's path (tsae export -o takes a folder)")
    return Path(text)


def _source_path(source: str | os.PathLike) -> str | os.PathLike:
    """``source``, or the file of the shipped denoiser it names when no such file exists (a folder of that name
    is none; as ``tsae export``)."""
    from tsae.pipelines.denoise.denoiser import model_path, shipped_models

    if (isinstance(source, str) and (not os.path.lexists(source) or os.path.isdir(source))
            and source in shipped_models()):
        return model_path(source)
    return source


def _metadata(sidecar: dict[str, Any], known: dict[str, Any], text: str) -> dict[str, str]:
    """The graph's ``metadata_props``: what identifies the export, and the sidecar's text (see :func:`export_model`)."""
    props = {"kind": sidecar["kind"], "family": sidecar["family"], "version": sidecar["tsae_version"],
             "opset": sidecar["opset"], **{k: v for k, v in known.items() if v is not None}}
    if isinstance(props.get("sample_rate"), float) and float(props["sample_rate"]).is_integer():
        props["sample_rate"] = int(props["sample_rate"])
    props["sidecar"] = text
    return {f"{METADATA_PREFIX}{k}": str(v) for k, v in props.items()}


def _with_metadata(graph: bytes, props: dict[str, str]) -> bytes:
    """``graph`` with ``props`` added to its ``metadata_props``."""
    import onnx

    model = onnx.load_from_string(graph)
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def _check_graph(graph: bytes, module: Any, spec: dict[str, Any], label: str) -> None:
    """Run ``graph`` with onnxruntime on ``spec["check"]`` and refuse it unless it reproduces ``module``.

    The check inputs have a batch of ``CHECK_BATCH``, the trace had 2: tracing freezes a
    Python loop over the batch, or anything computed with numpy, into the graph, which then
    gives wrong results (or none) for any other batch. Skipped without onnxruntime.
    """
    import numpy as np
    import torch

    if not has_module("onnxruntime"):
        return
    ort = importlib.import_module("onnxruntime")  # optional, and without type information

    inputs = [t.detach().cpu() for t in spec["check"]]
    with torch.inference_mode():  # what tsae runs (the transformer's fused path included)
        expected = module.eval()(*inputs)
    expected = [expected] if torch.is_tensor(expected) else list(expected)
    where = f"does not reproduce it for a batch of {CHECK_BATCH} (it was traced with 2)"
    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
        options.log_severity_level = 4  # fatal only: errors come back as exceptions, with no log line on stderr
        session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        got = session.run(spec["outputs"], {n: t.numpy() for n, t in zip(spec["inputs"], inputs, strict=True)})
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own types; one line either way
        raise ValueError(f"{label}'s ONNX graph {where}, so the family's code must keep the batch axis free "
                         f"(torch operations only, no Python loop over the batch): {first_line(error)}") from error
    for name, value, want in zip(spec["outputs"], got, expected, strict=True):
        problem = _mismatch(np.asarray(value), want.detach().cpu().numpy())
        if problem is not None:
            raise ValueError(f"{label}'s ONNX graph {where}: output {name!r} {problem}; the family's code must "
                             "compute with torch operations only, without Python loops over the batch")


def _mismatch(got: np.ndarray, want: np.ndarray) -> str | None:
    """None if ``got`` equals ``want`` within ``CHECK_RTOL`` (infinities and NaN in place), else what differs."""
    import numpy as np

    if got.shape != want.shape:
        return f"has shape {tuple(got.shape)}, the model's {tuple(want.shape)}"
    finite = np.isfinite(want)
    scale = max(1.0, float(np.abs(want[finite]).max())) if finite.any() else 1.0
    close = np.isclose(got, want, rtol=CHECK_RTOL, atol=CHECK_RTOL * scale, equal_nan=True)
    if close.all():
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        worst = float(np.nanmax(np.abs(got.astype(np.float64) - want)[~close], initial=0.0))
    return f"differs from the model's by up to {worst:.3g}"


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
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # closed (`2>&-`)
            stream.flush()
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


def _to_onnx(module: Any, spec: dict[str, Any], opset: int, label: str) -> bytes:
    """Trace ``module`` with the example inputs of ``spec`` (TorchScript exporter: no extra dependency).

    ``label`` names the model in the error (``"m.tsae: the lstm model"``).
    """
    import torch

    buffer = io.BytesIO()
    try:
        # not under no_grad: that would send nn.TransformerEncoderLayer down its fused fast path,
        # which has no ONNX form
        with ignored(), _native_stderr_dropped():  # tracer and exporter chatter about constants and deprecation
            torch.onnx.export(module.eval(), tuple(spec["example"]), buffer,  # type: ignore[arg-type]
                              dynamo=False, opset_version=opset,
                              input_names=spec["inputs"], output_names=spec["outputs"],
                              dynamic_axes=spec["dynamic_axes"])
    except Exception as error:  # the exporter raises many types; the message is what matters
        raise ValueError(f"{label} cannot be exported to ONNX at opset {opset} ({first_line(error)})") from error
    return buffer.getvalue()
