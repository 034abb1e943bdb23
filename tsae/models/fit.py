"""Train a model family on series (arrays, CSV tables, audio files or folders of them).

:func:`fit_model_on_series` is the library behind ``tsae train``: it repairs missing runs,
fits a normaliser on all the data, cuts normalised windows with the frame spec, builds
the family through the plugin registry (seeded), trains it with the shared trainer and
returns a :class:`FitResult` that :meth:`FitResult.save` writes as one model file
(weights, frame spec, normalisation stats, sample rate, training summary and the
validation errors per window).
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.framing import frame, window_array, window_name
from tsae.engine.layout import as_channels_first, is_dataframe
from tsae.engine.preprocess import Normalizer, as_float32, power_of_two_unit
from tsae.errors import EmptyChannelError, NamedMemoryError, channel_named, memory_for, shown
from tsae.io.table_absurd import repair_absurd
from tsae.models.device import float32_default, grad_enabled

NORMALIZE_CHOICES = ("zscore", "robust", "none")
DEFAULT_MAX_WINDOWS = 200_000
_FLOAT32_MAX = float(np.finfo(np.float32).max)


#: a channel whose interquartile range is below this share of its standard deviation is squashed by zscore
_SQUASHED = 2.0**-20


class ShortSeriesWarning(UserWarning):
    """A training series is shorter than one window: it is trained on as one zero-padded window."""


class OutlierWarning(UserWarning):
    """A few huge values of a channel set its zscore spread: the rest of it is squashed to a near-constant."""


@dataclass
class FitResult:
    """A trained model with everything needed to save and reuse it."""

    model: Any
    frame: dict[str, Any]
    normalizer: Any
    sample_rate: float | None
    columns: list[str] | None
    train: Any
    n_windows: int
    sources: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # the dataclass's showed the network, and every window index twice
        t = self.train
        loss = getattr(t, "best_val_loss", None)
        loss = loss if loss is None else float(f"{loss:.4g}")
        return (f"FitResult(family={getattr(self.model, 'name', type(self.model).__name__)!r}, "
                f"channels={getattr(self.model, 'channels', None)}, window={self.frame.get('window')}, "
                f"hop={self.frame.get('hop')}, columns={self.columns!r}, n_windows={self.n_windows}, "
                f"epochs_run={getattr(t, 'epochs_run', None)}, best_val_loss={loss}, "
                f"stopped={getattr(t, 'stopped', None)!r})")

    def summary(self) -> dict[str, Any]:
        """JSON-able training summary stored in the model file's ``extra["training"]``."""
        t = self.train
        return {
            "epochs_run": t.epochs_run, "best_epoch": t.best_epoch, "best_val_loss": t.best_val_loss,
            "stopped": t.stopped, "seconds": round(t.seconds, 3), "device": t.device,
            "batch_size": t.batch_size, "n_windows": self.n_windows, "n_val": int(len(t.val_indices)),
            "sources": self.sources, "config": t.config, "history": t.history,
        }

    def _file_fields(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What the model file stores beside the network (:func:`tsae.models.modelfile.save_model`'s arguments)."""
        return {"frame": self.frame, "normalizer": self.normalizer, "sample_rate": self.sample_rate,
                "extra": {"columns": self.columns, "training": self.summary(), **dict(extra or {})},
                "arrays": {"val_errors": np.asarray(self.train.val_errors, dtype=np.float64)}}

    def save(self, path: str | os.PathLike, *, protect: Sequence[str | os.PathLike] = (),
             extra: Mapping[str, Any] | None = None) -> Path:
        """Write the model file (see :func:`tsae.models.modelfile.save_model`)."""
        from tsae.models.modelfile import save_model

        return save_model(path, self.model, protect=tuple(protect), **self._file_fields(extra))

    def loaded(self, device: Any = "cpu") -> Any:
        """The model as :func:`tsae.load_model` gives back the file :meth:`save` writes, without writing one.

        Every function taking a model (``tsae.reconstruct``, ``encode``, ``compress``,
        ``smooth``, ...) accepts a FitResult through this: it gets a
        :class:`~tsae.models.modelfile.LoadedModel` with a network of its own (``path`` None).
        """
        from tsae.models.modelfile import loaded_in_memory

        return loaded_in_memory(self.model, device=device, name="fitted model", **self._file_fields())


def source_name(path: str | os.PathLike) -> str:
    """How a model file's training header names a file it learnt from: its name, or what a private copy stands for
    (``stdin``, ``/dev/fd/63``), never the copy's temporary name."""
    from tsae.io.c_stderr import shown_name

    return shown_name(str(path)) or Path(path).name


def _label(sources: Sequence[str], i: int) -> str:
    """What errors call series ``i``: the file it came from, else ``series i``."""
    return sources[i] if i < len(sources) else f"series {i}"


def _one_series(series: Any) -> bool:
    """True when ``series`` is one series (an array, tensor, DataFrame or pandas Series, a list of numbers).

    Anything with a shape and a dtype is one series: iterating a 2-D tensor would give its
    rows, each taken for a one-channel series of its own. So is an object numpy reads through
    its ``__array__`` (an array-like), as every other series function takes it.
    """
    if is_dataframe(series) or (hasattr(series, "shape") and hasattr(series, "dtype")) or hasattr(series, "__array__"):
        return True
    return isinstance(series, Sequence) and len(series) > 0 and np.isscalar(series[0])


def _as_series_list(series: Any, sources: Sequence[str] = ()) -> list[np.ndarray]:
    if series is None:
        raise TypeError("series is required, got None")
    if _one_series(series):
        series = [series]
    elif isinstance(series, Mapping) or not isinstance(series, Iterable):
        raise TypeError(f"series must be an array (n,) or (channels, n), a DataFrame, or a list of them, "
                        f"not {type(series).__name__}")
    out = []
    first: tuple[str, list[str]] | None = None
    for i, item in enumerate(series):
        values = as_channels_first(item, _label(sources, i))[0]
        if is_dataframe(item):  # DataFrames given together are matched by column name, as tables are
            columns = [str(c) for c in item.columns]
            values = _by_name(values, columns, first, _label(sources, i))
            first = first or (_label(sources, i), columns)
        out.append(values)
    if not out:
        raise ValueError("no series to train on")
    channels = {x.shape[0] for x in out}
    if len(channels) != 1:
        raise ValueError(f"all series must have the same number of channels, got {sorted(channels)}")
    return out


def _columns(channel_names: Sequence[Sequence[str] | None], i: int) -> Sequence[str] | None:
    """The column names of series ``i`` (a table's), or None when its channels are known by index."""
    return channel_names[i] if i < len(channel_names) else None


def _repair(x: np.ndarray, label: str, columns: Sequence[str] | None = None) -> np.ndarray:
    """``x`` with its gaps filled: NaN, infinite and beyond 1e30 in magnitude are missing, as a table's cell is to
    every reader (:func:`tsae.reconstruct` and :func:`tsae.encode` refuse an array's infinite value)."""
    try:
        return repair_absurd(x)
    except EmptyChannelError as error:
        raise ValueError(f"{label}: {error.named(columns)}") from None
    except ValueError as error:
        raise ValueError(f"{label}: {error}") from None


def _training_values(x: np.ndarray, normalizer: Any, label: str, columns: Sequence[str] | None) -> np.ndarray:
    """The normalised series ``x`` (repaired: finite) as float32, or one line on the channel float32 cannot hold.

    A network trains in float32: a value beyond 3.4e38 (as is, or once the normaliser has
    divided it by a small spread) would become inf and every loss NaN.
    """
    xn = normalizer.transform(x) if normalizer is not None else x
    with np.errstate(all="ignore"):
        beyond = ~(np.abs(xn) <= _FLOAT32_MAX)  # inf and NaN too (an overflow in float64)
    if not beyond.any():
        return as_float32(xn, label)
    c = int(np.flatnonzero(beyond.any(axis=-1))[0])
    peak = float(np.max(np.abs(x[c])))
    if normalizer is None:
        why = "the network computes in float32, at most 3.4e+38): scale the data down or normalise it"
    elif normalizer.method == "robust":
        why = ("robust normalisation divides them by the channel's spread beyond float32's 3.4e+38, in which the "
               "network computes): remove the outliers or normalise with zscore")
    else:
        why = (f"{normalizer.method} normalisation scales them beyond float32's 3.4e+38, in which the network "
               "computes): scale the data down")
    raise ValueError(f"{label}: {channel_named(c, columns)} holds values too large to train on (up to {peak:.3g}; "
                     f"{why}")


def _warn_short(items: Sequence[np.ndarray], labels: Sequence[str], window: int) -> None:
    """One warning naming the series shorter than ``window``: each is trained on as one zero-padded window."""
    short = [(_label(labels, i), x.shape[1]) for i, x in enumerate(items) if x.shape[1] < window]
    if not short:
        return
    if len(short) == 1:
        label, n = short[0]
        text = (f"{label}: only {n} sample(s), fewer than the window ({window}): trained on as one window "
                f"zero-padded to {window} samples (use a shorter window)")
    else:
        named = ", ".join(f"{label} ({n})" for label, n in short[:5]) + (
            f" and {len(short) - 5} more" if len(short) > 5 else "")
        text = (f"{len(short)} series have fewer samples than the window ({window}), each trained on as one "
                f"zero-padded window: {named}")
    warnings.warn(text, ShortSeriesWarning, stacklevel=3)


def _warn_squashed(whole: np.ndarray, items: Sequence[np.ndarray], normalizer: Any, labels: Sequence[str],
                   channel_names: Sequence[Sequence[str] | None]) -> None:
    """One warning per channel whose zscore spread a few huge values set (its IQR is a millionth of it or less).

    Normalised by that spread, the channel's other values differ by less than float32 can
    tell apart: the network sees a constant and learns nothing of them. ``whole`` is the
    series concatenated (what the normaliser was fitted on); the warning names the series
    holding the channel's largest value.
    """
    unit = power_of_two_unit(whole)[:, 0]  # exact scaling: q3 - q1 does not overflow near float64's limit
    iqr = np.array([np.subtract(*np.percentile(row / u, [75, 25])) * u
                    for row, u in zip(whole, unit, strict=True)])
    for c in np.flatnonzero((iqr > 0) & (iqr < normalizer.scale * _SQUASHED)):
        peaks = [float(np.max(np.abs(x[c]))) for x in items]
        i = int(np.argmax(peaks))
        warnings.warn(f"{_label(labels, i)}: {channel_named(int(c), _columns(channel_names, i))} has values up to "
                      f"{peaks[i]:.3g} that make its standard deviation {normalizer.scale[c]:.3g}, over a million "
                      f"times its interquartile range ({iqr[c]:.3g}): zscore normalisation squashes its other "
                      "values to a near-constant the network learns nothing of (remove the outliers)",
                      OutlierWarning, stacklevel=3)


def _frame_count(n: int, window: int, hop: int) -> int:
    return 1 if n < window else 1 + (n - window) // hop


def make_windows(
    series: Iterable[np.ndarray], window: int, hop: int, window_fn: Any = None, normalizer: Any = None,
    *, max_windows: int | None = None, seed: int = 0, labels: Sequence[str] = (),
    channel_names: Sequence[Sequence[str] | None] = (),
) -> np.ndarray:
    """Normalised training windows ``(N, C, window)`` float32 from each series.

    A series shorter than the window gives one zero-padded window. With ``max_windows``,
    a seeded random subset of the windows is cut, without materialising the others.
    A series whose values float32 cannot hold once normalised is a ``ValueError`` naming
    it (``labels[i]``, else ``series i``) and its channel (by ``channel_names[i]``, a
    table's columns, else by index).
    """
    items = [_training_values(x, normalizer, _label(labels, i), _columns(channel_names, i))
             for i, x in enumerate(series)]
    counts = [_frame_count(x.shape[1], window, hop) for x in items]
    total = sum(counts)
    if max_windows is None or total <= max_windows:
        chunks = [np.swapaxes(frame(x, window, hop, window_fn, pad=x.shape[1] < window), 0, 1)
                  for x in items]
        return np.ascontiguousarray(np.concatenate(chunks, axis=0), dtype=np.float32)
    chosen = np.sort(np.random.default_rng(seed).choice(total, max_windows, replace=False))
    out = np.zeros((max_windows, items[0].shape[0], window), dtype=np.float32)
    offsets = np.cumsum([0, *counts])
    for k, flat in enumerate(chosen):
        i = int(np.searchsorted(offsets, flat, side="right") - 1)
        start = int(flat - offsets[i]) * hop
        piece = items[i][:, start : start + window]
        out[k, :, : piece.shape[1]] = piece
    taper = window_array(window_fn, window)
    return out * taper if taper is not None else out


#: float32 copies of the network a training holds: the weights, their gradients, Adam's two moments, and the best
#: epoch's copy (two while a better epoch's replaces it)
_TRAINING_COPIES = 6


#: a training step's peak over the activations its forward pass saves: the backward pass holds their gradients
#: beside them (a step of blind_spot networks of 10 to 14 layers peaked at 1.3 to 1.8 times the saved bytes)
_BACKWARD_FACTOR = 2


@float32_default()
@grad_enabled()  # its weights are no inference tensors, which autograd could not save (:func:`_meta_bytes`)
def meta_network(model: str, channels: int, window: int, params: Mapping[str, Any]) -> Any:
    """Family ``model``'s network for ``(channels, window)`` built on torch's meta device (shapes, no storage;
    float32), for the memory counts below to share one build; None when it cannot be built so (bad parameters, a
    size torch cannot hold, a family whose ``__init__`` needs real tensors): the real build tells its own error."""
    import torch

    from tsae.plugins import get_model_family

    try:
        with torch.device("meta"):
            return get_model_family(model)(channels=channels, window=window, **params)
    except Exception:  # noqa: BLE001 - told by plugins.create_model, which builds it for real
        return None


@float32_default()
@grad_enabled()  # under a caller's no_grad() autograd saves nothing: 0 bytes, a training bounded by none
def _meta_bytes(model: str, channels: int, window: int, params: Mapping[str, Any],
                net: Any = None) -> tuple[int | None, int | None]:
    """The bytes of family ``model``'s weights for ``(channels, window)``, and those one window costs in a training
    step (:func:`activation_bytes`), from one build of the network on torch's meta device (shapes, no storage):
    ``net`` (:func:`meta_network`) when given.

    Each is None when it cannot be counted so (bad parameters, a size torch cannot hold, a family whose ``__init__``
    or forward pass needs real tensors): the real build tells its own error, or allocates what it must.
    """
    import torch

    net = meta_network(model, channels, window, params) if net is None else net
    if net is None:
        return None, None
    weights = sum(t.numel() * t.element_size() for t in (*net.parameters(), *net.buffers()))
    saved: dict[int, int] = {}

    def count(t: Any) -> Any:
        root = t if t._base is None else t._base  # a view (a Linear's weight.t()) holds its base's storage
        if not isinstance(root, torch.nn.Parameter):  # the weights are counted with the network
            saved[id(root)] = root.numel() * root.element_size()
        return t

    try:
        with torch.device("meta"):
            x = torch.zeros(1, channels, window)
        with torch.autograd.graph.saved_tensors_hooks(count, lambda t: t):
            net(x)
    except Exception:  # noqa: BLE001 - told by the real forward pass
        return weights, None
    return weights, _BACKWARD_FACTOR * sum(saved.values())


def activation_bytes(model: str, channels: int, window: int, params: Mapping[str, Any], net: Any = None) -> int | None:
    """The bytes one window of ``(channels, window)`` samples costs in a training step of family ``model``.

    The network runs forward on torch's meta device (shapes, no storage) and the tensors (other than weights) autograd
    saves for the backward pass are counted, times :data:`_BACKWARD_FACTOR`. A deep or wide network holds far more than
    the trainer's rule of thumb (a blind_spot network of 16 layers: 1 GB a window, the rule said 34 MB).
    None when the network cannot run so (bad parameters, a family that needs real tensors). ``net``: the network
    already built so (:func:`meta_network`; for a family whose layers do not depend on the window, of any window).
    """
    return _meta_bytes(model, channels, window, params, net)[1]


def _check_training_memory(model: str, items: Sequence[np.ndarray], window: int, hop: int,
                           params: Mapping[str, Any], max_windows: int | None, config: Any) -> None:
    """:func:`check_training_memory` for :func:`fit_model_on_series`: the float32 windows ``(N, channels, window)``
    that ``items`` give (at most ``max_windows``) and the network."""
    channels = items[0].shape[0]
    count = sum(_frame_count(x.shape[1], window, hop) for x in items)
    count = count if max_windows is None else min(count, max_windows)
    check_training_memory(model, channels, window, count, params, config, windows=4 * count * channels * window,
                          fix="use a shorter window" + (" or a larger hop" if count > len(items) else ""))


@float32_default()
def forward_bytes(model: str, channels: int, window: int, params: Mapping[str, Any], net: Any = None) -> int | None:
    """The most bytes of tensors (other than weights) alive at once while family ``model`` runs forward on one
    window of ``(channels, window)`` samples without autograd (a held-out check, a prediction).

    The network runs on torch's meta device (shapes, no storage); each operation's new tensors are counted until
    they are freed. None when the network cannot run so. ``net``: the network already built so
    (:func:`meta_network`; for a family whose layers do not depend on the window, of any window).
    """
    import weakref

    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    live = {"now": 0, "peak": 0}
    seen: dict[int, Any] = {}

    def freed(key: int, size: int) -> None:
        seen.pop(key, None)
        live["now"] -= size

    class _Count(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else [out]:
                if not isinstance(t, torch.Tensor) or t._base is not None:  # a view holds its base's storage
                    continue
                known = seen.get(id(t))
                if known is not None and known() is t:  # an in-place operation's own output
                    continue
                size = t.numel() * t.element_size()
                seen[id(t)] = weakref.ref(t)
                live["now"] += size
                live["peak"] = max(live["peak"], live["now"])
                weakref.finalize(t, freed, id(t), size)
            return out

    net = meta_network(model, channels, window, params) if net is None else net
    if net is None:
        return None
    try:
        with torch.device("meta"):
            x = torch.zeros(1, channels, window)
        with torch.no_grad(), _Count():
            net(x)
    except Exception:  # noqa: BLE001 - told by the real forward pass
        return None
    return live["peak"] + x.numel() * x.element_size()


def check_training_memory(model: str, channels: int, window: int, count: int, params: Mapping[str, Any],
                          config: Any, *, windows: int, fix: str = "use a shorter window",
                          fix_network: str = "use a shorter window or smaller family parameters",
                          forward: int = 0, net: Any = None) -> None:
    """A :class:`NamedMemoryError`, before anything is allocated, when the windows and the network cannot fit.

    What training surely holds is counted: ``windows``, the bytes of the ``count`` windows of
    ``(channels, window)`` samples and of the copies the caller holds of them, and family
    ``model``'s network (with ``params``) with its gradients, Adam's moments and the best
    epoch's copy, and one batch's activations (:func:`activation_bytes`, or the trainer's estimate
    where larger; on ``config``'s device). A long window grows them all: a series shorter than the window is one
    zero-padded window, and families with a dense layer grow with it. ``forward``: the bytes of a forward pass
    beside training (a held-out check's), counted with the network. ``fix`` says what to do
    when the windows do not fit, ``fix_network`` when the network does. ``net``: the network built on the meta
    device (:func:`meta_network`) that :func:`forward_bytes` ran, counted without building it again.
    What :func:`tsae.fit` and :meth:`tsae.Detector.fit` check before they allocate.
    """
    from tsae.models.device import free_memory, resolve_device
    from tsae.models.trainer import batch_memory

    try:
        device = resolve_device(config.device)
    except ValueError:  # no such device here: the trainer says so
        return
    network, measured = _meta_bytes(model, channels, window, params, net)
    state = (0 if network is None else network * _TRAINING_COPIES) + forward
    if network is not None:
        state += batch_memory(count, (channels, window), config, per_window=measured)
    on_gpu = device.type != "cpu"
    host, gpu = free_memory("cpu"), free_memory(device) if on_gpu and state else None
    parts = {"the windows": windows, f"model family {model!r} with its gradients, optimiser state and a batch's "
             f"activations{f' on {device}' if on_gpu else ''}": state}
    if host is not None and windows + (0 if on_gpu else state) > host:
        free = f"{host / 2**30:.3g} GiB of memory is free"
        parts = dict(list(parts.items())[: 1 if on_gpu else 2])
    elif gpu is not None and state > gpu:
        free = f"{gpu / 2**30:.3g} GiB is free on {device}"
        parts = dict(list(parts.items())[1:])
    else:
        return
    need = ", ".join(f"{what} {size / 2**30:.3g} GiB" for what, size in parts.items() if size)
    if state >= windows:
        fix = fix_network
    raise NamedMemoryError(f"training on {count} window(s) of {channels} x {window} samples needs about "
                           f"{sum(parts.values()) / 2**30:.3g} GiB ({need}), but only {free}: {fix}")


def _family_params(params: Any) -> dict[str, Any]:
    """``params`` as a dict of family hyper-parameters, without the two that the data and ``window`` set."""
    try:
        out = dict(params or {})
    except (TypeError, ValueError):
        raise TypeError(f"params must be a dict of family hyper-parameters, not {type(params).__name__}") from None
    for key, source in (("channels", "the series' channel count"), ("window", "the window argument")):
        if key in out:
            raise ValueError(f"params may not set {key!r}: it is {source}")
    return out


def _names(value: Any, name: str) -> list[Any] | None:
    """``value`` (None or a list of names) as a list; a bare string would be split into its letters."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of names or None, not {type(value).__name__}")
    return list(value)


def _init_model(init: Any) -> Any:
    """``init`` (a model file path, a loaded model file or an Autoencoder) ready for :func:`init_encoder`."""
    if isinstance(init, (str, os.PathLike)):
        from tsae.models.pretrained import load_init

        return load_init(init)
    network = getattr(init, "model", init)
    if not (hasattr(network, "name") and hasattr(network, "state_dict")):
        raise TypeError(f"init must be a model file path, a loaded model file (tsae.load_model) or an Autoencoder, "
                        f"not {type(init).__name__}")
    return init


def fit_model_on_series(
    series: Any,
    *,
    model: str = "conv1d",
    window: int = 128,
    hop: int | None = None,
    params: Mapping[str, Any] | None = None,
    normalize: str = "zscore",
    window_fn: str | tuple | None = None,
    sample_rate: float | None = None,
    config: Any = None,
    columns: list[str] | None = None,
    sources: list[str] | None = None,
    max_windows: int | None = DEFAULT_MAX_WINDOWS,
    init: Any = None,
    labels: Sequence[str] | None = None,
    channel_names: Sequence[Sequence[str] | None] | None = None,
) -> FitResult:
    """Train model family ``model`` on one or more series.

    Parameters
    ----------
    series
        An array ``(channels, n)`` / ``(n,)`` (a numpy array, a torch tensor, a pandas
        Series, or a DataFrame with one column per channel) or a list of them (same
        channel count). Missing runs (NaN, infinite, and finite values beyond 1e30 in magnitude) are
        repaired (linear) before training. (:func:`tsae.reconstruct` and :func:`tsae.encode` read NaN and
        values beyond 1e30 so too, but refuse an infinite value.)
    model
        Registered family name (see ``tsae models``).
    window, hop
        Frame length and hop in samples (hop defaults to ``window // 4``).
    params
        Family hyper-parameters (strings are converted to the parameter's type).
    normalize
        ``"zscore"``, ``"robust"`` (median/IQR) or ``"none"``; fitted on all the data, per channel.
    window_fn
        Analysis window applied to frames (None = rectangular), stored in the frame spec as
        text: a scipy name (``"hann"``), or ``"kaiser:8.6"`` for a window with a parameter
        (a ``("kaiser", 8.6)`` tuple is stored so), see :func:`tsae.engine.framing.window_name`.
    sample_rate
        Stored in the model file.
    config
        :class:`~tsae.models.trainer.TrainConfig` (defaults when None).
    columns, sources
        Channel names (default: a DataFrame's columns) and data source names stored in
        the model file.
    max_windows
        Use at most this many windows (a seeded random subset), to bound memory.
    init
        A model file of the same family (loaded, or its path) whose encoder weights the
        network starts from (see :mod:`tsae.models.pretrained`).
    labels
        What errors and warnings call each series (the file it was read from) [default:
        ``sources``, else ``series i``].
    channel_names
        Per series, the column names that errors call its channels by (None for a series
        whose channels are known by index) [default: ``columns`` for every series].

    Returns
    -------
    FitResult

    Warns
    -----
    ShortSeriesWarning
        A series shorter than ``window`` (it gives one zero-padded window).
    OutlierWarning
        With ``"zscore"``, a channel whose few huge values set its spread (a million times
        its interquartile range or more): its other values are squashed to a near-constant.
    """
    from tsae import plugins
    from tsae.models.modelfile import check_sample_rate
    from tsae.models.trainer import TrainConfig, seeded, train_model, whole_number

    if config is None:
        config = TrainConfig()
    elif not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig (tsae.models.trainer.TrainConfig(epochs=...)) or None, "
                        f"not {type(config).__name__}")
    window = whole_number("window", window, 1)
    hop = max(1, window // 4) if hop is None else whole_number("hop", hop, 1)
    if hop > window:  # a hop past the window leaves samples no window reconstructs
        raise ValueError(f"hop must be between 1 and the window ({window}), got {hop}")
    if normalize not in NORMALIZE_CHOICES:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZE_CHOICES)}, got {shown(normalize)}")
    window_fn = window_name(window_fn)  # the text the model file stores, checked before any training
    if max_windows is not None:
        max_windows = whole_number("max_windows", max_windows, 1)
    sample_rate = check_sample_rate(sample_rate)  # before training: a model file must be able to hold it
    family_params = _family_params(params)
    from tsae.models.base import check_series_family

    check_series_family(model)  # before the data is read and repaired
    columns, sources, labels = (_names(columns, "columns"), _names(sources, "sources"), _names(labels, "labels"))
    if columns is None and is_dataframe(series):  # a table's channels are its columns
        columns = [str(c) for c in series.columns]
    if init is not None:
        init = _init_model(init)
    names = list(sources or ()) if labels is None else list(labels)  # errors name the file a series came from
    if not names and _one_series(series):
        names = ["series"]  # the argument: "series: ... pass series.T", not "series 0"
    items = _as_series_list(series, names)
    channels = items[0].shape[0]
    if columns is not None and len(columns) != channels:  # dropped without a word, the file had no names
        raise ValueError(f"columns: {len(columns)} name(s) for {channels} channel(s); give one name per channel "
                         "or None")
    if columns is not None and len(set(columns)) < len(columns):
        columns = None  # names that cannot tell the channels apart are no names (load_model refuses them)
    by_column = [columns] * len(items) if channel_names is None else list(channel_names)
    items = [_repair(x, _label(names, i), _columns(by_column, i)) for i, x in enumerate(items)]
    _warn_short(items, names, window)
    _check_training_memory(model, items, window, hop, family_params, max_windows, config)

    normalizer = None
    if normalize != "none":
        normalizer = Normalizer(normalize)
        whole = np.concatenate(items, axis=1)
        normalizer.fit(whole)
        if normalize == "zscore":
            _warn_squashed(whole, items, normalizer, names, by_column)
        del whole
    windows = make_windows(items, window, hop, window_fn, normalizer, max_windows=max_windows, seed=config.seed,
                           labels=names, channel_names=by_column)

    with seeded(config.seed):
        net = plugins.create_model(model, channels=channels, window=window, **family_params)
        if init is not None:
            from tsae.models.pretrained import init_encoder

            init_encoder(net, init, label=str(getattr(init, "path", None) or "initial model"))
        result = train_model(net, windows, config)
    return FitResult(
        model=result.model, frame={"window": int(window), "hop": int(hop), "window_fn": window_fn},
        normalizer=normalizer, sample_rate=sample_rate, columns=columns, train=result,
        n_windows=len(windows), sources=list(sources or []),
    )


# ----------------------------------------------------------------------------- files
@dataclass
class TrainingData:
    """The series read by :func:`read_training_data`, with their sample rate, channel names and files."""

    series: list[np.ndarray]
    sample_rate: float | None
    columns: list[str] | None
    files: list[str]
    #: per file, its column names when it is a table (None: an array or audio file, channels known by index)
    channel_names: list[list[str] | None] = field(default_factory=list)


def _listed(names: Sequence[str], most: int = 5) -> str:
    """``'a', 'b'`` for the first ``most`` names, ``and N more`` after them."""
    text = ", ".join(repr(n) for n in names[:most])
    return text + (f" and {len(names) - most} more" if len(names) > most else "")


def _by_name(values: np.ndarray, columns: list[str], first: tuple[str, list[str]] | None,
              label: str) -> np.ndarray:
    """A table's channels put in the order of the first table's columns (``first``: its file and columns).

    Tables given together are matched by column name, not by position: the same columns
    in another order are reordered; other columns are one line naming both files.
    """
    if first is None or columns == first[1] or len(set(columns)) < len(columns) or len(set(first[1])) < len(first[1]):
        return values  # the same order, or names that are not unique (DataFrame labels 0 and '0'): by position
    name, order = first
    missing = [c for c in order if c not in columns]
    extra = [c for c in columns if c not in order]
    if missing or extra:
        parts = ([f"{_listed(missing)} missing"] if missing else []) + (
            [f"{_listed(extra)} not in {name}"] if extra else [])
        raise ValueError(f"{label}: its columns differ from {name}'s ({', '.join(parts)}); tables trained on "
                         "together are matched by column name and must have the same columns")
    return values[[columns.index(c) for c in order]]


def read_training_data(paths: Sequence[str | os.PathLike]) -> TrainingData:
    """Read every series file under ``paths``.

    All files must have the same channel count (and the same sample rate when known).
    Tables are matched by column name: a table whose columns are the first table's in
    another order is put in that order; one with other columns is a ``ValueError``.
    Arrays and audio files, whose channels have no names, are taken by position.
    """
    from tsae.errors import table_columns
    from tsae.io.paths import expand_inputs
    from tsae.io.series import read_series
    from tsae.io.time_order import warn_time_order

    files = expand_inputs(paths, recursive=True)
    series: list[np.ndarray] = []
    names: list[str] = []
    first_rate: tuple[float, str] | None = None  # the first file's rate, and that file
    columns = None
    channel_names: list[list[str] | None] = []
    first_table: tuple[str, list[str]] | None = None
    for f in files:
        values, rate, meta = read_series(f, finite=True)  # an infinite .npy sample refused, as reconstruct does
        warn_time_order(f, meta.get("time"), meta.get("time_name"), "learnt from")
        named = table_columns(meta)
        if named is not None:
            values = _by_name(values, named, first_table, str(f))
            first_table = first_table or (str(f), named)
            named = first_table[1]
        if series and values.shape[0] != series[0].shape[0]:
            raise ValueError(f"{f}: has {values.shape[0]} channel(s) but {names[0]} has {series[0].shape[0]}")
        if rate is not None:
            rate = round(float(rate), 6)
            if first_rate is None:
                first_rate = (rate, str(f))
            elif rate != first_rate[0]:  # told at once, naming both files (it named the first argument, a folder)
                raise ValueError(f"{f}: sampled at {rate:g} Hz, but {first_rate[1]} at {first_rate[0]:g} Hz; files "
                                 "trained on together must have one sample rate: resample them first")
        series.append(values)
        names.append(str(f))
        channel_names.append(named)
        columns = columns or (named or meta.get("columns"))
    return TrainingData(series, None if first_rate is None else first_rate[0], columns, names, channel_names)


def train_files(
    data: str | os.PathLike | Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    model: str | None = None,
    window: int | None = None,
    hop: int | None = None,
    params: Mapping[str, Any] | None = None,
    normalize: str = "zscore",
    window_fn: str | tuple | None = None,
    config: Any = None,
    init: str | os.PathLike | None = None,
) -> FitResult:
    """Read ``data`` (file, folder, or a list of them), train, and write the model file ``output``.

    ``model`` and ``window`` default to ``conv1d`` and 128, or with ``init`` (a model file)
    to its family, window and hyper-parameters (``params`` override them); the new network
    then starts from its encoder weights. The output is written atomically and never
    overwrites an input file; it may not be named like a data file (``m.csv``: see
    :func:`tsae.io.paths.check_model_output`).
    """
    from tsae.io.paths import check_model_output, check_output, expand_inputs

    paths = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    out = Path(output)
    # the files a folder holds are inputs too: -o data/x.csv must not replace data/x.csv
    check_output(out, [*paths, *expand_inputs(paths, recursive=True), *([init] if init is not None else [])])
    check_model_output(out)  # -o m.csv: a model file that every command would read as a table
    start = None
    if init is not None:
        from tsae.models.pretrained import init_settings, load_init

        start = load_init(init)
        model, window, params = init_settings(start, model, window, params)
    from tsae.models.base import check_series_family

    check_series_family("conv1d" if model is None else model)  # the family's problem, told before the data's
    found = read_training_data(paths)
    with memory_for(paths[0] if len(paths) == 1 else ", ".join(str(p) for p in paths), "train on"):
        fit = fit_model_on_series(found.series, model="conv1d" if model is None else model, window=window or 128,
                                  hop=hop, params=params, normalize=normalize, window_fn=window_fn,
                                  sample_rate=found.sample_rate, config=config, columns=found.columns,
                                  sources=[source_name(n) for n in found.files], init=start, labels=found.files,
                                  channel_names=found.channel_names)
    fit.save(out, protect=(*paths, *found.files, *((init,) if init is not None else ())),
             extra={"init": str(init)} if init is not None else None)
    return fit


__all__ = ["fit_model_on_series", "FitResult", "TrainingData", "make_windows", "train_files", "read_training_data",
           "check_training_memory", "NORMALIZE_CHOICES", "ShortSeriesWarning", "OutlierWarning"]
