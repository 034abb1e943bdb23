"""The tsae model file: one safetensors file holding weights, extra arrays and a JSON header.

Layout (suffix ``.tsae``)::

    safetensors header  __metadata__ = {"tsae": "<JSON header>"}
    tensors             the network's state dict (plain keys) and extra arrays ("arrays.<name>")

The JSON header records ``format`` and ``format_version``, the model ``family``, the
``plugin`` that registered it, its ``plugin_version`` and ``distribution`` (loading with
the family provided by another plugin is refused), ``hparams`` (the constructor
arguments, see :meth:`tsae.models.base.Autoencoder.hparams`), the ``frame`` spec
(``{"window", "hop", "window_fn"}``), the ``normalizer`` dict, ``sample_rate``,
``tsae_version``, a free ``extra`` dict (whose ``columns``, the names of the channels
the model was trained on, must be one distinct string per channel, or absent), and
``weights_sha256``, the SHA-256 of the tensors (:func:`tsae.models.container.tensors_digest`):
a file whose tensors do not hash to it is refused as damaged (files written before it,
without the field, load as before). Beside the JSON header, the safetensors metadata holds
``tsae_sha256``, the SHA-256 of the header's text: a flipped bit in a number of the header
(a normalisation scale, a detector's threshold) leaves valid JSON in range, and is refused
as damaged too (files without it load as before).

Loading never executes code from the file: the bytes are checked and parsed as
safetensors (no pickle, ``torch.load`` is never called), the header is plain JSON, and
the network is rebuilt from the plugin registry by family name, then filled with
``load_state_dict(strict=True)``. Every problem becomes one :class:`ModelFileError`
line (a ``ValueError``) that names the file, the field and what is wrong.

Nothing is allocated before it is checked: the file is never read whole (the
safetensors header first, tensors later by offset, see :mod:`tsae.models.container`),
and the network the hyper-parameters describe is compared with the stored tensors
before it is built (:mod:`tsae.models.rebuild`).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tsae._lazy import if_imported
from tsae.errors import first_line, memory_for, shown
from tsae.io.atomic import atomic_path
from tsae.io.paths import PIPE_OR_DEVICE
from tsae.models.container import DTYPES, Container, read_container, read_tensor, tensors_digest
from tsae.models.fields import (
    SMALLEST_DIVISOR,
    ModelFileError,
    check_finite_json,
    check_int,
    check_number,
    check_object,
    check_str,
    is_int,
)
from tsae.models.rebuild import MAX_INT_HPARAM, build, check_hparams, check_weights_fit, state_plan

FORMAT_NAME = "tsae-model"
FORMAT_VERSION = 1
MODEL_SUFFIX = ".tsae"
HEADER_KEY = "tsae"
#: the safetensors metadata key of the SHA-256 of the header's text (:func:`header_digest`)
HEADER_DIGEST_KEY = "tsae_sha256"
ARRAY_PREFIX = "arrays."
#: what :func:`save_model` can store a network's floating-point parameters as
WEIGHT_DTYPES = ("float32", "float16", "bfloat16")


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


#: a distribution name as PEP 508 spells it (what a "not installed" error may quote from a file's header)
_DISTRIBUTION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,58}[A-Za-z0-9])?")


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
            # looked up, not imported: a module loaded from its file by path is not in sys.modules
            version = if_imported(getattr(type(model), "__module__", ""), "__version__")
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
        writer = next((other for other in plugins.plugin_infos() if other.name == saved[0]
                       and (saved[1] is None or other.distribution == saved[1])), None)
        if writer is None or info.builtin:
            hint = "install the plugin that wrote it"
        elif writer.disabled:
            hint = f"plugin {writer.name!r} is installed but disabled: take it out of {plugins.DISABLE_ENV}"
        else:
            hint = (f"plugin {writer.name!r} is installed, but {info.label} took the name first: disable it "
                    f"({plugins.DISABLE_ENV}={info.name}) or uninstall it")
        raise ModelFileError(path, f"model family {header['family']!r} was saved by {recorded} but is provided "
                                   f"here by {info.label}; {hint}")


#: a SHA-256 as a header stores it (``weights_sha256``)
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: a version a file's header may name in a message (what pip would take)
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]{0,39}")


@contextlib.contextmanager
def _naming_versions(path: Path, header: dict[str, Any]) -> Iterator[None]:
    """Add to a file that does not fit its family which release of the plugin wrote it and which one is installed.

    A family changed between releases (a new layer, a renamed parameter) is the usual cause, and the
    versions tell the user what to install (or that the model must be trained again).
    """
    try:
        yield
    except ModelFileError as error:
        from tsae import plugins

        info = plugins.model_plugin_info(header["family"])
        saved = header.get("plugin_version")
        if (info is None or info.version is None or not isinstance(saved, str) or saved == info.version
                or not _VERSION.fullmatch(saved)):
            raise
        problem = str(error).removeprefix(f"{path}: ").removeprefix(f"{error.field}: " if error.field else "")
        release = info.distribution or info.name
        raise ModelFileError(path, f"{problem}; the file was written by {release} {saved} and {release} "
                                   f"{info.version} is installed: install {release} {saved} to use it, or train "
                                   "the model again", error.field) from None


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
    weights_dtype: str = "float32",
) -> Path:
    """Write ``model`` and its context to one safetensors model file, atomically.

    Parameters
    ----------
    path
        Output path (``.tsae`` by convention).
    model
        An :class:`~tsae.models.base.Autoencoder` instance (any device; saved from CPU copies).
    frame
        Frame spec ``{"window": int, "hop": int, "window_fn": str | None}`` the model was trained with
        (a window with a parameter as ``"kaiser:8.6"``; a ``("kaiser", 8.6)`` tuple is stored so).
    normalizer
        A fitted ``Normalizer`` (anything with ``to_dict()``) or its dict.
    sample_rate
        Sampling rate of the training data in Hz, when known.
    extra
        Free JSON-serialisable information (training history, thresholds, ...); numpy values are
        stored as plain ones, a NaN as ``null`` and an infinity as the text ``"inf"`` or ``"-inf"``
        (JSON has neither).
    arrays
        Named numpy arrays stored as tensors beside the weights (``LoadedModel.arrays``).
    protect
        Input paths the output must never overwrite.
    weights_dtype
        ``"float32"`` (the default: parameters stored as the network holds them) or ``"float16"`` /
        ``"bfloat16"`` for half the file size: the network's floating-point parameters are stored
        rounded to that type (buffers, such as
        windows, keep their own). :func:`load_model` gives them back in the network's own dtype,
        so the loaded model computes with the rounded values; measure it before shipping one.

    Returns
    -------
    Path
        The written path.
    """
    from safetensors.torch import save_file

    from tsae.io.paths import check_model_output

    path = _model_path(path)
    check_model_output(path)  # x.csv: a model file every command would read as a table, as `tsae train -o` refuses
    protect = (protect,) if isinstance(protect, (str, os.PathLike)) else tuple(protect)  # not its letters
    tensors, metadata = _file_content(path, model, frame=frame, normalizer=normalizer, sample_rate=sample_rate,
                                      extra=extra, arrays=arrays, weights_dtype=weights_dtype)
    with atomic_path(path, protect=protect) as tmp:
        try:
            save_file(tensors, str(tmp), metadata=metadata)
        except Exception as error:  # noqa: BLE001 - SafetensorError, whose class is safetensors' Rust module's
            raise _os_error(error) from None
    return path


def _os_error(error: Exception) -> Exception:
    """The ``OSError`` behind a safetensors error that ends ``(os error 28)`` (a full disk, so that the output is
    named as every other output is: ``m.tsae: cannot write it (No space left on device)``), else ``error``."""
    found = re.search(r"\(os error (\d+)\)", str(error)) if type(error).__name__ == "SafetensorError" else None
    if found is None:
        return error
    code = int(found.group(1))
    return OSError(code, os.strerror(code))


def _file_content(path: Path, model: Any, *, frame: Mapping[str, Any] | None, normalizer: Any,
                  sample_rate: float | None, extra: Mapping[str, Any] | None, arrays: Mapping[str, np.ndarray] | None,
                  weights_dtype: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The tensors and the safetensors metadata :func:`save_model` writes to ``path`` (named in errors)."""
    import torch

    import tsae
    from tsae.models.base import check_rebuild

    family = getattr(model, "name", "")
    if not family or not hasattr(model, "hparams"):
        raise TypeError(f"save_model needs a tsae Autoencoder (with a family 'name' and hparams()), "
                        f"not {type(model).__name__}")
    for name, value in (("frame", frame), ("extra", extra), ("arrays", arrays)):
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a dict or None, not {type(value).__name__}")
    sample_rate = check_sample_rate(sample_rate)
    if weights_dtype not in WEIGHT_DTYPES:
        raise ValueError(f"weights_dtype must be one of {', '.join(WEIGHT_DTYPES)}, not {weights_dtype!r}")
    # parameters only: a buffer (a window, a running statistic) may need its precision more than its bytes
    parameter_names = {name for name, _ in model.named_parameters()}
    plugin, plugin_version, distribution = _plugin_of(model)
    check_rebuild(model, f"plugin {plugin!r} ({distribution or 'registered at run time'})")
    if frame is not None and isinstance(frame.get("window_fn"), tuple):  # ("kaiser", 8.6) is stored "kaiser:8.6"
        from tsae.engine.framing import window_name

        frame = {**frame, "window_fn": window_name(frame["window_fn"])}
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
        "sample_rate": sample_rate,
        "tsae_version": tsae.__version__,
        "extra": _jsonable(dict(extra or {})),
    }
    tensors: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if key.startswith(ARRAY_PREFIX):
            raise ValueError(f"{path}: state-dict key {key!r} clashes with the reserved prefix {ARRAY_PREFIX!r}")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{path}: weight {key!r} holds NaN or infinite values (a diverged training?); "
                             "load_model would refuse the file")
        value = value.detach().to("cpu")
        if weights_dtype != "float32" and key in parameter_names and value.is_floating_point():
            value = _rounded(path, key, value, weights_dtype)
        # clone: safetensors refuses tensors that share memory (tied weights)
        tensors[key] = value.contiguous().clone()
    for name, array in (arrays or {}).items():
        array = np.ascontiguousarray(np.asarray(array))
        if array.dtype.kind not in "biuf":
            raise TypeError(f"array {name!r}: only numeric arrays can be stored, not {array.dtype}")
        tensors[ARRAY_PREFIX + str(name)] = torch.from_numpy(array.copy())
    digest = _saved_digest(tensors)
    if digest is not None:
        header["weights_sha256"] = digest
    text = _header_text(path, model, header)
    return tensors, {HEADER_KEY: text, HEADER_DIGEST_KEY: header_digest(text)}


def loaded_in_memory(model: Any, *, device: Any = "cpu", name: str = "model", **fields: Any) -> LoadedModel:
    """What :func:`save_model` then :func:`load_model` give back, without a file.

    The model file's bytes are made as :func:`save_model` makes them and read back as
    :func:`load_model` reads them, from memory: the result holds a network of its own
    (the weights as stored, on ``device``) and everything else as the file would, with
    ``path`` None. ``fields`` are :func:`save_model`'s (``frame``, ``normalizer``,
    ``sample_rate``, ``extra``, ``arrays``, ``weights_dtype``); ``name`` is what errors
    call the model.
    """
    from safetensors.torch import save

    label = Path(name)
    fields.setdefault("weights_dtype", "float32")
    for key in ("frame", "normalizer", "sample_rate", "extra", "arrays"):
        fields.setdefault(key, None)
    tensors, metadata = _file_content(label, model, **fields)
    loaded = _load(label, io.BytesIO(save(tensors, metadata=metadata)), device)
    loaded.path = None
    return loaded


def _saved_digest(tensors: Mapping[str, Any]) -> str | None:
    """The ``weights_sha256`` of the tensors :func:`save_model` writes (None when one has a dtype the container
    format does not name: safetensors would refuse it anyway)."""
    import torch

    names = _dtype_names()
    items = []
    for name, tensor in tensors.items():
        if tensor.dtype not in names:
            return None
        items.append((name, names[tensor.dtype], tuple(tensor.shape), tensor.reshape(-1).view(torch.uint8).numpy()))
    return tensors_digest(items)


def _dtype_names() -> dict[Any, str]:
    """torch dtype -> the safetensors name a model file stores it under (:data:`DTYPES`)."""
    import torch

    names: dict[Any, str] = {}
    for name, (numpy_dtype, view) in DTYPES.items():
        dtype = getattr(torch, view) if view else torch.from_numpy(np.zeros(0, numpy_dtype)).dtype
        names.setdefault(dtype, name)
    return names


def _rounded(path: Path, key: str, value: Any, dtype: str) -> Any:
    """``value`` rounded to the torch dtype named ``dtype``, refused when a weight would overflow it (load_model
    refuses infinities)."""
    import torch

    rounded = value.to(getattr(torch, dtype))
    if not bool(torch.isfinite(rounded).all()):
        largest = float(value.abs().max())
        raise ValueError(f"{path}: weight {key!r} reaches {largest:.3g}, beyond {dtype}'s range; "
                         "store the weights as float32")
    return rounded


def _header_text(path: Path, model: Any, header: dict[str, Any]) -> str:
    """The JSON header, checked as :func:`load_model` checks it: a file it would refuse is never written."""
    for key, value in header.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{key} cannot be stored in a model file: {first_line(error)}") from None
    text = json.dumps(header, allow_nan=False)
    try:
        _check_framing(path, model, _parse_tsae_header(path, {HEADER_KEY: text}))
    except ModelFileError as error:
        raise ValueError(f"{error} (load_model would refuse the file)") from None
    return text


def check_sample_rate(value: Any) -> float | None:
    """``value`` as a positive float in Hz (None stays None): what a model file may store."""
    from tsae.models.trainer import real_number

    if value is None:
        return None
    rate = real_number("sample_rate", value)
    if rate <= 0:
        raise ValueError(f"sample_rate must be > 0 (in Hz) or None, got {shown(value)}")
    return rate


def _model_path(path: Any) -> Path:
    """``path`` (a str or os.PathLike) as a Path; anything else is a TypeError naming it, an empty one a ValueError."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    if not str(path).strip():  # Path("") is the working folder: ".: is a folder, not a model file"
        raise ValueError(f"path must name a model file, got {shown(str(path))} (an unset variable?)")
    return Path(path)


def header_digest(text: str) -> str:
    """The SHA-256 (hex) of a model file's JSON header ``text``, as ``tsae_sha256`` records it."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# ----------------------------------------------------------------------------- loading
def _parse_tsae_header(path: Path, metadata: Mapping[str, str]) -> dict[str, Any]:
    """Parse the tsae JSON header and check every field's type and range before anything uses it."""
    text = metadata.get(HEADER_KEY)
    if text is None:
        raise ModelFileError(path, "a safetensors file but not a tsae model (no 'tsae' header); "
                                   "was it written by tsae.save_model?")
    try:
        header = json.loads(text)
    except (ValueError, RecursionError):
        raise ModelFileError(path, "corrupt tsae header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(path, "corrupt tsae header (not a JSON object)")
    check_finite_json(path, header)
    fmt = header.get("format", FORMAT_NAME)
    if fmt != FORMAT_NAME:
        raise ModelFileError(path, f"unknown model file format {str(fmt)[:40]!r}")
    version = header.get("format_version", 1)
    if is_int(version) and version > FORMAT_VERSION:
        raise ModelFileError(path, f"model file format version {str(version)[:20]} is newer than this tsae reads "
                                   f"({FORMAT_VERSION}); upgrade tsae")
    check_int(path, "format_version", version, 1, FORMAT_VERSION)
    family = header.get("family")
    if not isinstance(family, str) or not family:
        raise ModelFileError(path, "corrupt tsae header (no model family)")
    for key in ("plugin", "plugin_version", "distribution", "tsae_version"):
        check_str(path, key, header.get(key), optional=True)
    digest = check_str(path, "weights_sha256", header.get("weights_sha256"), optional=True)
    if digest is not None and not _SHA256.fullmatch(digest):
        raise ModelFileError(path, f"must be 64 hexadecimal digits, not {shown(digest)}", "weights_sha256")
    hparams = check_object(path, "hparams", header.get("hparams"))
    if hparams is None or not all(isinstance(k, str) for k in hparams):
        raise ModelFileError(path, "corrupt tsae header (hparams must be a JSON object)")
    for key in ("channels", "window"):
        check_int(path, f"hparams.{key}", hparams.get(key), 1, MAX_INT_HPARAM)
    for key in ("frame", "normalizer", "extra"):
        check_object(path, key, header.get(key), optional=True)
    _check_frame(path, header.get("frame"))
    _check_normalizer(path, header.get("normalizer"))
    _check_columns(path, (header.get("extra") or {}).get("columns"), hparams["channels"])
    if header.get("sample_rate") is not None:
        check_number(path, "sample_rate", header["sample_rate"], 0.0, low_open=True)
    _check_header_digest(path, text, metadata.get(HEADER_DIGEST_KEY))
    return header


def _check_header_digest(path: Path, text: str, digest: str | None) -> None:
    """The header ``text`` hashes to ``digest`` (its ``tsae_sha256``; None in files written before it)."""
    if digest is None:
        return
    if not _SHA256.fullmatch(digest):
        raise ModelFileError(path, f"must be 64 hexadecimal digits, not {shown(digest)}", HEADER_DIGEST_KEY)
    if header_digest(text) != digest:
        raise ModelFileError(path, f"the header does not match its checksum ({HEADER_DIGEST_KEY}): the file is "
                                   "damaged or was altered after it was saved")


def _check_frame(path: Path, frame: dict[str, Any] | None) -> None:
    if frame is None:
        return
    for key in ("window", "hop"):
        if key in frame:
            check_int(path, f"frame.{key}", frame[key], 1, MAX_INT_HPARAM)
    if "window" in frame and "hop" in frame and frame["hop"] > frame["window"]:
        raise ModelFileError(path, f"{frame['hop']} is larger than frame.window ({frame['window']}): samples between "
                                   "windows would never be reconstructed", "frame.hop")
    check_str(path, "frame.window_fn", frame.get("window_fn"), optional=True)


def _check_columns(path: Path, columns: Any, channels: int) -> None:
    """``extra.columns``, the names of the channels the model was trained on (tables are matched to the model by
    them, :mod:`tsae.pipelines.reconstruct.columns`): absent or null (trained on unnamed channels), or one distinct
    string per channel of the network."""
    if columns is None:
        return
    field = "extra.columns"
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ModelFileError(path, f"must be a list of column names (strings), not {shown(columns)}", field)
    if len(columns) != channels:
        raise ModelFileError(path, f"names {len(columns)} column(s) but the network has {channels} channel(s)", field)
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise ModelFileError(path, f"names column {name[:40]!r} more than once", field)
        seen.add(name)


def _check_normalizer(path: Path, normalizer: dict[str, Any] | None) -> None:
    if not normalizer:
        return
    from tsae.engine.preprocess import Normalizer

    method = normalizer.get("method", normalizer.get("kind", "zscore"))
    if method not in Normalizer.METHODS:
        raise ModelFileError(path, f"{repr(method)[:40]} is not one of {', '.join(Normalizer.METHODS)}",
                             "normalizer.method")
    for key in ("center", "scale"):
        if key not in normalizer:
            raise ModelFileError(path, f"has no {key!r}", "normalizer")
    lengths = []
    for key in ("center", "scale"):
        value = normalizer.get(key)
        values = value if isinstance(value, list) else [value]
        for i, item in enumerate(values):
            field = f"normalizer.{key}" + (f"[{i}]" if isinstance(value, list) else "")
            number = check_number(path, field, item, 0.0 if key == "scale" else -math.inf, low_open=key == "scale")
            if key == "scale" and number < SMALLEST_DIVISOR:
                # Normalizer.fit stores 1 for a spread this small; dividing by it overflows for any sample
                # but the centre, and the error would blame the data
                raise ModelFileError(path, f"{shown(item)} is below {SMALLEST_DIVISOR:.3g} (float32's smallest "
                                           "normal number): a series divided by it would overflow", field)
        lengths.append(len(values))
    if lengths[0] != lengths[1]:
        raise ModelFileError(path, f"center and scale differ in length ({lengths[0]} and {lengths[1]})", "normalizer")


def _check_framing(path: Path, model: Any, header: dict[str, Any]) -> None:
    """Check what the series pipelines frame with against the network, before any of them uses it.

    A streaming model (the speech denoisers) frames with a taper of its own that its
    family names (``sqrt_hann``), so only series models are held to scipy's window names.
    """
    from tsae.engine.framing import window_array
    from tsae.models.base import is_streaming_model

    channels, window = header["hparams"]["channels"], header["hparams"]["window"]
    normalizer = header.get("normalizer") or {}
    center = normalizer.get("center")
    stored = len(center) if isinstance(center, list) else 1
    if normalizer and stored != channels:
        raise ModelFileError(path, f"holds statistics of {stored} channel(s) but the network has {channels}",
                             "normalizer")
    frame = header.get("frame") or {}
    if is_streaming_model(model):
        return
    if frame.get("window", window) != window:
        raise ModelFileError(path, f"{frame['window']} differs from the network's window ({window})", "frame.window")
    if frame.get("window_fn") is not None:
        try:
            window_array(frame["window_fn"], window)
        except ValueError as error:
            # the engine says what is wrong ("the kaiser window's beta must be >= 0"), unless a crafted
            # header's long text would flood the line
            text = str(error).splitlines()[0].removeprefix("window_fn=")
            if len(text) > 200:
                text = f"{frame['window_fn'][:40]!r} is not a window scipy.signal.get_window knows"
            raise ModelFileError(path, text, "frame.window_fn") from None


def _open(path: Path) -> BinaryIO:
    try:
        found = path.exists()
    except OSError as error:  # a name the file system refuses (longer than it takes: ENAMETOOLONG)
        raise ModelFileError(path, f"cannot read ({error.strerror or error})") from None
    if not found:
        raise ModelFileError(path, "no such model file")
    if path.is_dir():
        raise ModelFileError(path, "is a folder, not a model file")
    if not path.is_file():  # read more than once (its header, then its tensors)
        raise ModelFileError(path, f"{PIPE_OR_DEVICE} (save it to a file first)")
    try:
        return open(path, "rb")
    except OSError as error:
        raise ModelFileError(path, f"cannot read ({error.strerror or error})") from None


def read_model_header(path: str | os.PathLike) -> dict[str, Any]:
    """Return the JSON header of a model file without building the network or reading its tensors.

    Raises
    ------
    ModelFileError
        A ``ValueError``: one line naming the file (and the field), when it is missing,
        truncated, corrupt or not a tsae model.
    """
    path = _model_path(path)
    with _open(path) as handle:
        container = read_container(path, handle)
    return _parse_tsae_header(path, container.metadata)


def _read_tensors(path: Path, handle: BinaryIO, container: Container,
                  digest: str | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The network's state (torch tensors, finite) and the extra arrays (numpy), read by offset.

    ``digest``: the header's ``weights_sha256`` (None in files written before it): the
    tensors must hash to it, else the file is refused as damaged.
    """
    import torch

    raws = {name: read_tensor(path, handle, container, entry) for name, entry in container.tensors.items()}
    if digest is not None:
        found = tensors_digest((name, entry.dtype, entry.shape, raws[name])
                               for name, entry in container.tensors.items())
        if found != digest:
            raise ModelFileError(path, "the tensors do not match the checksum in the header (weights_sha256): the "
                                       "file is damaged or was altered after it was saved")
    state: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for name, entry in container.tensors.items():
        raw = raws.pop(name)
        if name.startswith(ARRAY_PREFIX):
            if not entry.numpy_dtype:
                raise ModelFileError(path, f"unsupported dtype {entry.dtype} for an array (numpy has none)",
                                     f"array {name[len(ARRAY_PREFIX):][:60]!r}")
            arrays[name[len(ARRAY_PREFIX):]] = raw
            continue
        tensor = torch.from_numpy(raw)
        view = DTYPES[entry.dtype][1]
        if view is not None:
            tensor = tensor.view(getattr(torch, view))
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelFileError(path, "holds NaN or infinite values", f"weight {name[:60]!r}")
        state[name] = tensor
    return state, arrays


def load_model(path: str | os.PathLike, device: Any = "cpu") -> LoadedModel:
    """Load a model file written by :func:`save_model`; never executes code from the file.

    Everything is checked before memory is spent on it: the header fields' types and
    ranges, then the network the hyper-parameters describe (built on the ``meta``
    device, shapes only) against the stored tensors' shapes; only then are the
    tensors read, one by one at their offsets, and the network built.

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
    ModelFileError
        A ``ValueError``: one line naming the file and the problem (and the field):
        missing, truncated, corrupt, not a tsae model (a pickle is refused, never
        opened), a header field of the wrong type or range, an uninstalled model
        family, weights that do not fit the family or hold NaN.
    """
    path = _model_path(path)
    with _open(path) as handle:
        return _load(path, handle, device)


def _load(path: Path, handle: BinaryIO, device: Any) -> LoadedModel:
    """:func:`load_model` reading the open model file ``handle`` (named ``path`` in errors)."""
    from tsae import plugins
    from tsae.models.device import resolve_device

    container = read_container(path, handle)
    header = _parse_tsae_header(path, container.metadata)
    family_name = header["family"]
    families = plugins.model_families()
    if family_name not in families:
        why = plugins.broken_family(family_name)
        if why is not None:  # installed, but its module failed to import: say why, not "not installed"
            raise ModelFileError(path, why)
        plugin, distribution = header.get("plugin"), header.get("distribution")
        origin = f" (plugin {str(plugin)[:60]!r} {str(header.get('plugin_version') or '?')[:20]}" if plugin else ""
        if origin and isinstance(distribution, str) and _DISTRIBUTION_NAME.fullmatch(distribution):
            # what the file says it came from: named, not offered as a command (the file may be a stranger's)
            origin += f", distribution {distribution!r}"
        origin += ")" if origin else ""
        raise ModelFileError(path, f"model family {family_name[:60]!r} is not installed{origin}; "
                                   "install it or check `tsae models`")
    _check_provider(path, header)
    family = families[family_name]
    hparams = dict(header["hparams"])
    with _naming_versions(path, header):
        check_hparams(path, family, hparams)
        weights = {k: e for k, e in container.tensors.items() if not k.startswith(ARRAY_PREFIX)}
        probe = build(path, family_name, family, hparams, len(weights), meta=True)
        model = None if probe is not None else build(path, family_name, family, hparams, len(weights))
        check_weights_fit(path, family_name, state_plan(probe if probe is not None else model), weights)
    _check_framing(path, probe if probe is not None else model, header)
    with memory_for(path, "load"):
        state, arrays = _read_tensors(path, handle, container, header.get("weights_sha256"))
    with memory_for(path, "load"), _naming_versions(path, header):
        if model is None:
            model = build(path, family_name, family, hparams, len(weights))
        try:
            model.load_state_dict(state, strict=True)
        except Exception as error:  # noqa: BLE001 - a family's own loading hooks may raise anything
            first = (str(error).splitlines() or [type(error).__name__])[0]
            raise ModelFileError(path, f"weights do not fit model family {family_name!r} ({first})") from None
    model = model.to(resolve_device(device)).eval()
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


def as_loaded(model: Any, device: Any = None) -> Any:
    """The :class:`LoadedModel` a function taking a model works with, from what it accepts.

    ``model`` is a :class:`LoadedModel` (moved to ``device`` when one is given), a model
    file's path (loaded on ``device``, the CPU by default), or what :func:`tsae.fit`
    returned (a :class:`~tsae.models.fit.FitResult`: converted as saving and loading it
    would, :meth:`~tsae.models.fit.FitResult.loaded`).
    """
    from tsae.models.fit import FitResult

    if isinstance(model, LoadedModel):
        if device is not None:
            from tsae.models.device import resolve_device

            model.model.to(resolve_device(device))
        return model
    if isinstance(model, (str, os.PathLike)):
        return load_model(model, device="cpu" if device is None else device)
    if isinstance(model, FitResult):
        return model.loaded("cpu" if device is None else device)
    raise TypeError(f"model must be a LoadedModel, a FitResult (tsae.fit) or a model file path, "
                    f"got {type(model).__name__}")
