"""The tsae model file: one safetensors file holding weights, extra arrays and a JSON header.

Layout (suffix ``.tsae``)::

    safetensors header  __metadata__ = {"tsae": "<JSON header>"}
    tensors             the network's state dict (plain keys) and extra arrays ("arrays.<name>")

The JSON header records ``format`` and ``format_version``, the model ``family``, the
``plugin`` that registered it, its ``plugin_version`` and ``distribution`` (loading with
the family provided by another plugin is refused), ``hparams`` (the constructor
arguments, see :meth:`tsae.models.base.Autoencoder.hparams`), the ``frame`` spec
(``{"window", "hop", "window_fn"}``), the ``normalizer`` dict, ``sample_rate``,
``tsae_version`` and a free ``extra`` dict.

Loading never executes code from the file: the bytes are checked and parsed as
safetensors (no pickle, ``torch.load`` is never called), the header is plain JSON, and
the network is rebuilt from the plugin registry by family name, then filled with
``load_state_dict(strict=True)``. Every problem becomes one ``ValueError`` line that
names the file and what is wrong.
"""
from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsae.io.atomic import atomic_path

FORMAT_NAME = "tsae-model"
FORMAT_VERSION = 1
MODEL_SUFFIX = ".tsae"
HEADER_KEY = "tsae"
ARRAY_PREFIX = "arrays."
#: the safetensors JSON header may not exceed this (the format's own reference limit is 100 MB)
MAX_HEADER_BYTES = 100_000_000
_DTYPES = {"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F16", "BF16", "F32", "F64",
           "F8_E4M3", "F8_E5M2"}
_DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2,
               "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8}


@dataclass
class LoadedModel:
    """A model file, loaded: the rebuilt network (in eval mode) and everything stored beside it."""

    model: Any
    family: str
    plugin: str | None
    plugin_version: str | None
    hparams: dict[str, Any]
    frame: dict[str, Any] | None
    normalizer: dict[str, Any] | None
    sample_rate: float | None
    tsae_version: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None

    @property
    def channels(self) -> int:
        return int(self.hparams["channels"])

    @property
    def window(self) -> int:
        return int(self.hparams["window"])


# ----------------------------------------------------------------------------- saving
def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays (and tuples, paths) to plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Path):
        return str(value)
    return value


def _normalizer_dict(normalizer: Any) -> dict[str, Any] | None:
    if normalizer is None:
        return None
    if hasattr(normalizer, "to_dict"):
        normalizer = normalizer.to_dict()
    if not isinstance(normalizer, Mapping):
        raise TypeError(f"normalizer must be a Normalizer, a dict or None, not {type(normalizer).__name__}")
    return _jsonable(dict(normalizer))


def _plugin_of(model: Any) -> tuple[str | None, str | None, str | None]:
    """``(plugin, plugin version, distribution)`` of the plugin that provides the model's family."""
    from tsae import plugins

    family = getattr(model, "name", "")
    info = plugins.model_plugin_info(family) if family else None
    if info is not None:
        version = info.version
        if version is None:  # registered at run time: try the module's own version
            module = getattr(type(model), "__module__", "")
            version = getattr(__import__(module, fromlist=["_"]), "__version__", None) if module else None
        return info.name, version, info.distribution
    return None, None, None


def _check_provider(path: Path, header: dict[str, Any]) -> None:
    """Refuse a file whose family is now provided by another plugin (or distribution) than the one it records."""
    from tsae import plugins

    saved = (header.get("plugin"), header.get("distribution"))
    info = plugins.model_plugin_info(header["family"])
    if info is None or saved[0] is None:
        return
    if saved[0] != info.name or (saved[1] is not None and saved[1] != info.distribution):
        recorded = f"plugin {str(saved[0])[:60]!r}" + (f" ({str(saved[1])[:60]})" if saved[1] else "")
        raise _fail(path, f"model family {header['family']!r} was saved by {recorded} but is provided here by "
                          f"{info.label}; install the plugin that wrote it")


def save_model(
    path: str | os.PathLike,
    model: Any,
    *,
    frame: Mapping[str, Any] | None = None,
    normalizer: Any = None,
    sample_rate: float | None = None,
    extra: Mapping[str, Any] | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
    protect: tuple[str | os.PathLike, ...] = (),
) -> Path:
    """Write ``model`` and its context to one safetensors model file, atomically.

    Parameters
    ----------
    path
        Output path (``.tsae`` by convention).
    model
        An :class:`~tsae.models.base.Autoencoder` instance (any device; saved from CPU copies).
    frame
        Frame spec ``{"window": int, "hop": int, "window_fn": str | None}`` the model was trained with.
    normalizer
        A fitted ``Normalizer`` (anything with ``to_dict()``) or its dict.
    sample_rate
        Sampling rate of the training data in Hz, when known.
    extra
        Free JSON-serialisable information (training history, thresholds, ...).
    arrays
        Named numpy arrays stored as tensors beside the weights (``LoadedModel.arrays``).
    protect
        Input paths the output must never overwrite.

    Returns
    -------
    Path
        The written path.
    """
    import torch
    from safetensors.torch import save_file

    import tsae
    from tsae.models.base import check_rebuild

    path = Path(path)
    family = getattr(model, "name", "")
    if not family or not hasattr(model, "hparams"):
        raise TypeError("save_model needs a tsae Autoencoder (with a family 'name' and hparams())")
    plugin, plugin_version, distribution = _plugin_of(model)
    check_rebuild(model, f"plugin {plugin!r} ({distribution or 'registered at run time'})")
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "family": family,
        "plugin": plugin,
        "plugin_version": plugin_version,
        "distribution": distribution,
        "hparams": _jsonable(model.hparams()),
        "frame": _jsonable(dict(frame)) if frame is not None else None,
        "normalizer": _normalizer_dict(normalizer),
        "sample_rate": None if sample_rate is None else float(sample_rate),
        "tsae_version": tsae.__version__,
        "extra": _jsonable(dict(extra or {})),
    }
    tensors: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if key.startswith(ARRAY_PREFIX):
            raise ValueError(f"{path}: state-dict key {key!r} clashes with the reserved prefix {ARRAY_PREFIX!r}")
        # clone: safetensors refuses tensors that share memory (tied weights)
        tensors[key] = value.detach().to("cpu").contiguous().clone()
    for name, array in (arrays or {}).items():
        array = np.ascontiguousarray(np.asarray(array))
        if array.dtype.kind not in "biuf":
            raise TypeError(f"array {name!r}: only numeric arrays can be stored, not {array.dtype}")
        tensors[ARRAY_PREFIX + str(name)] = torch.from_numpy(array.copy())
    metadata = {HEADER_KEY: json.dumps(header, allow_nan=False)}
    with atomic_path(path, protect=protect) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


# ----------------------------------------------------------------------------- loading
def _fail(path: Path, problem: str) -> ValueError:
    return ValueError(f"{path}: {problem}")


def _sniff(data: bytes) -> str | None:
    """Name what a non-safetensors file looks like, for the error message."""
    if data[:1] == b"\x80" and len(data) > 1 and data[1] <= 5:
        return "a Python pickle (refusing to unpickle: tsae model files are safetensors)"
    if data[:4] == b"PK\x03\x04":
        return "a zip archive (a torch.save checkpoint?); tsae model files are safetensors and never unpickled"
    if data[:6] == b"\x93NUMPY":
        return "a numpy .npy file, not a tsae model"
    if data[:4] == b"RIFF" or data[:4] == b"fLaC" or data[:4] == b"OggS":
        return "an audio file, not a tsae model"
    return None


def _parse_container(path: Path, data: bytes) -> tuple[dict[str, Any], int]:
    """Check the safetensors framing and return (header dict, data-section start)."""
    if len(data) == 0:
        raise _fail(path, "empty file, not a tsae model")
    kind = _sniff(data)
    if kind is not None:
        raise _fail(path, f"this is {kind}")
    if len(data) < 8:
        raise _fail(path, f"truncated or not a tsae model file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n == 0 or n > MAX_HEADER_BYTES:
        raise _fail(path, "not a tsae model file (no valid safetensors header)")
    if 8 + n > len(data):
        raise _fail(path, f"truncated file (header says {n} bytes, file has {len(data) - 8})")
    raw = data[8 : 8 + n]
    if raw[:1] != b"{":
        raise _fail(path, "not a tsae model file (no valid safetensors header)")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _fail(path, "not a tsae model file (its safetensors header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise _fail(path, "not a tsae model file (its safetensors header is not a JSON object)")
    start = 8 + n
    size = len(data) - start
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise _fail(path, "corrupt safetensors header (__metadata__ must map strings to strings)")
            continue
        ok = (
            isinstance(info, dict)
            and info.get("dtype") in _DTYPES
            and isinstance(info.get("shape"), list)
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in info["shape"])
            and isinstance(info.get("data_offsets"), list)
            and len(info["data_offsets"]) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) for o in info["data_offsets"])
        )
        if not ok:
            raise _fail(path, f"corrupt safetensors header (bad entry for tensor {str(name)[:60]!r})")
        begin, end = info["data_offsets"]
        expected = math.prod(info["shape"]) * _DTYPE_SIZE[info["dtype"]]
        if not (0 <= begin <= end) or end - begin != expected:
            raise _fail(path, f"corrupt safetensors header (tensor {str(name)[:60]!r} has inconsistent offsets)")
        if end > size:
            raise _fail(path, f"truncated file (tensor {str(name)[:60]!r} runs past the end of the file)")
        spans.append((begin, end))
    spans.sort()
    for (_, end_a), (begin_b, _) in zip(spans, spans[1:], strict=False):
        if begin_b < end_a:
            raise _fail(path, "corrupt safetensors header (tensors overlap)")
    return header, start


def _parse_tsae_header(path: Path, container: dict[str, Any]) -> dict[str, Any]:
    meta = container.get("__metadata__") or {}
    text = meta.get(HEADER_KEY)
    if text is None:
        raise _fail(path, "a safetensors file but not a tsae model (no 'tsae' header); "
                          "was it written by tsae.save_model?")
    try:
        header = json.loads(text)
    except (ValueError, RecursionError):
        raise _fail(path, "corrupt tsae header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise _fail(path, "corrupt tsae header (not a JSON object)")
    fmt = header.get("format", FORMAT_NAME)
    if fmt != FORMAT_NAME:
        raise _fail(path, f"unknown model file format {str(fmt)[:40]!r}")
    version = header.get("format_version", 1)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise _fail(path, f"model file format version {str(version)[:20]} is newer than this tsae reads "
                          f"({FORMAT_VERSION}); upgrade tsae")
    family = header.get("family")
    if not isinstance(family, str) or not family:
        raise _fail(path, "corrupt tsae header (no model family)")
    hparams = header.get("hparams")
    if not isinstance(hparams, dict) or not all(isinstance(k, str) for k in hparams):
        raise _fail(path, "corrupt tsae header (hparams must be a JSON object)")
    for key in ("channels", "window"):
        value = hparams.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _fail(path, f"corrupt tsae header (hparams.{key} must be a positive integer)")
    for key in ("frame", "normalizer", "extra"):
        if header.get(key) is not None and not isinstance(header[key], dict):
            raise _fail(path, f"corrupt tsae header ({key} must be a JSON object)")
    rate = header.get("sample_rate")
    if rate is not None and (not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0):
        raise _fail(path, "corrupt tsae header (sample_rate must be a positive number)")
    return header


def read_model_header(path: str | os.PathLike) -> dict[str, Any]:
    """Return the JSON header of a model file without building the network.

    Raises
    ------
    ValueError
        One line naming the file, when it is missing, truncated, corrupt or not a tsae model.
    """
    path = Path(path)
    data = _read_bytes(path)
    container, _ = _parse_container(path, data)
    return _parse_tsae_header(path, container)


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise _fail(path, "no such model file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a model file")
    try:
        return path.read_bytes()
    except OSError as error:
        raise _fail(path, f"cannot read ({error.strerror or error})") from None


def _state_mismatch(error: Exception, model: Any, state: Mapping[str, Any]) -> str:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    bits = []
    for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if names:
            shown = ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
            bits.append(f"{label}: {shown}")
    return "; ".join(bits) or str(error).splitlines()[0]


def load_model(path: str | os.PathLike, device: Any = "cpu") -> LoadedModel:
    """Load a model file written by :func:`save_model`; never executes code from the file.

    Parameters
    ----------
    path
        The ``.tsae`` file.
    device
        ``"cpu"``, ``"cuda"``, ``"auto"`` or a :class:`torch.device`.

    Returns
    -------
    LoadedModel
        The network in eval mode on ``device`` and the stored context.

    Raises
    ------
    ValueError
        One line naming the file and the problem: missing, truncated, corrupt, not a
        tsae model (a pickle is refused, never opened), an uninstalled model family,
        or weights that do not fit the family.
    """
    from safetensors.torch import load as load_bytes

    from tsae import plugins
    from tsae.models.device import resolve_device

    path = Path(path)
    data = _read_bytes(path)
    container, _ = _parse_container(path, data)
    header = _parse_tsae_header(path, container)
    family_name = header["family"]
    families = plugins.model_families()
    if family_name not in families:
        plugin = header.get("plugin")
        origin = f" (plugin {str(plugin)[:60]!r} {str(header.get('plugin_version') or '?')[:20]})" if plugin else ""
        raise _fail(path, f"model family {family_name[:60]!r} is not installed{origin}; "
                          "install it or check `tsae models`")
    _check_provider(path, header)
    try:
        tensors = load_bytes(data)
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error type
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise _fail(path, f"corrupt tensor data ({first})") from None
    state = {k: v for k, v in tensors.items() if not k.startswith(ARRAY_PREFIX)}
    arrays = {k[len(ARRAY_PREFIX):]: v.numpy() for k, v in tensors.items() if k.startswith(ARRAY_PREFIX)}
    hparams = dict(header["hparams"])
    family = families[family_name]
    try:
        model = family(**hparams)
    except Exception as error:  # noqa: BLE001 - a plugin's constructor may raise anything
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise _fail(path, f"cannot rebuild model family {family_name!r} from its stored parameters ({first})") from None
    try:
        model.load_state_dict(state, strict=True)
    except Exception as error:  # noqa: BLE001
        mismatch = _state_mismatch(error, model, state)
        raise _fail(path, f"weights do not fit model family {family_name!r} ({mismatch})") from None
    dev = resolve_device(device)
    model = model.to(dev).eval()
    return LoadedModel(
        model=model,
        family=family_name,
        plugin=header.get("plugin"),
        plugin_version=header.get("plugin_version"),
        hparams=hparams,
        frame=header.get("frame"),
        normalizer=header.get("normalizer"),
        sample_rate=header.get("sample_rate"),
        tsae_version=header.get("tsae_version"),
        extra=header.get("extra") or {},
        arrays=arrays,
        path=path,
    )
