"""Train a model family on series (arrays, CSV tables, audio files or folders of them).

:func:`fit_model_on_series` is the library behind ``tsae train``: it repairs NaN runs,
fits a normaliser on all the data, cuts normalised windows with the frame spec, builds
the family through the plugin registry (seeded), trains it with the shared trainer and
returns a :class:`FitResult` that :meth:`FitResult.save` writes as one model file
(weights, frame spec, normalisation stats, sample rate, training summary and the
validation errors per window).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.framing import frame, window_array
from tsae.engine.layout import as_channels_first
from tsae.engine.preprocess import Normalizer, as_float32, repair_missing

NORMALIZE_CHOICES = ("zscore", "robust", "none")
DEFAULT_MAX_WINDOWS = 200_000


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

    def summary(self) -> dict[str, Any]:
        """JSON-able training summary stored in the model file's ``extra["training"]``."""
        t = self.train
        return {
            "epochs_run": t.epochs_run, "best_epoch": t.best_epoch, "best_val_loss": t.best_val_loss,
            "stopped": t.stopped, "seconds": round(t.seconds, 3), "device": t.device,
            "batch_size": t.batch_size, "n_windows": self.n_windows, "n_val": int(len(t.val_indices)),
            "sources": self.sources, "config": t.config, "history": t.history,
        }

    def save(self, path: str | os.PathLike, *, protect: Sequence[str | os.PathLike] = (),
             extra: Mapping[str, Any] | None = None) -> Path:
        """Write the model file (see :func:`tsae.models.modelfile.save_model`)."""
        from tsae.models.modelfile import save_model

        info = {"columns": self.columns, "training": self.summary(), **dict(extra or {})}
        return save_model(path, self.model, frame=self.frame, normalizer=self.normalizer,
                          sample_rate=self.sample_rate, extra=info,
                          arrays={"val_errors": np.asarray(self.train.val_errors, dtype=np.float64)},
                          protect=tuple(protect))


def _label(sources: Sequence[str], i: int) -> str:
    """What errors call series ``i``: the file it came from, else ``series i``."""
    return sources[i] if i < len(sources) else f"series {i}"


def _as_series_list(series: Any, sources: Sequence[str] = ()) -> list[np.ndarray]:
    if isinstance(series, np.ndarray) or (isinstance(series, Sequence) and series and np.isscalar(series[0])):
        series = [series]
    out = [as_channels_first(item, _label(sources, i))[0] for i, item in enumerate(series)]
    if not out:
        raise ValueError("no series to train on")
    channels = {x.shape[0] for x in out}
    if len(channels) != 1:
        raise ValueError(f"all series must have the same number of channels, got {sorted(channels)}")
    return out


def _repair(x: np.ndarray, label: str) -> np.ndarray:
    try:
        return repair_missing(x, empty="raise")
    except ValueError as error:
        raise ValueError(f"{label}: {error}") from None


def _frame_count(n: int, window: int, hop: int) -> int:
    return 1 if n < window else 1 + (n - window) // hop


def make_windows(
    series: Iterable[np.ndarray], window: int, hop: int, window_fn: Any = None, normalizer: Any = None,
    *, max_windows: int | None = None, seed: int = 0,
) -> np.ndarray:
    """Normalised training windows ``(N, C, window)`` float32 from each series.

    A series shorter than the window gives one zero-padded window. With ``max_windows``,
    a seeded random subset of the windows is cut, without materialising the others.
    """
    items = [as_float32(normalizer.transform(x) if normalizer is not None else x, f"series {i}")
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


def fit_model_on_series(
    series: Any,
    *,
    model: str = "conv1d",
    window: int = 128,
    hop: int | None = None,
    params: Mapping[str, Any] | None = None,
    normalize: str = "zscore",
    window_fn: str | None = None,
    sample_rate: float | None = None,
    config: Any = None,
    columns: list[str] | None = None,
    sources: list[str] | None = None,
    max_windows: int | None = DEFAULT_MAX_WINDOWS,
    init: Any = None,
) -> FitResult:
    """Train model family ``model`` on one or more series.

    Parameters
    ----------
    series
        An array ``(channels, n)`` / ``(n,)`` or a list of them (same channel count).
        NaN runs are repaired (linear) before training.
    model
        Registered family name (see ``tsae models``).
    window, hop
        Frame length and hop in samples (hop defaults to ``window // 4``).
    params
        Family hyper-parameters (strings are converted to the parameter's type).
    normalize
        ``"zscore"``, ``"robust"`` (median/IQR) or ``"none"``; fitted on all the data, per channel.
    window_fn
        Analysis window applied to frames (None = rectangular), stored in the frame spec.
    sample_rate
        Stored in the model file.
    config
        :class:`~tsae.models.trainer.TrainConfig` (defaults when None).
    columns, sources
        Channel names and data source names stored in the model file.
    max_windows
        Use at most this many windows (a seeded random subset), to bound memory.
    init
        A loaded model file of the same family whose encoder weights the network starts
        from (see :mod:`tsae.models.pretrained`).

    Returns
    -------
    FitResult
    """
    from tsae import plugins
    from tsae.models.trainer import TrainConfig, seed_everything, train_model

    config = config or TrainConfig()
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    hop = max(1, window // 4) if hop is None else int(hop)
    if not 1 <= hop <= window:  # a hop past the window leaves samples no window reconstructs
        raise ValueError(f"hop must be between 1 and the window ({window}), got {hop}")
    if normalize not in NORMALIZE_CHOICES:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZE_CHOICES)}, got {normalize!r}")
    items = _as_series_list(series, sources or ())  # errors name the file a series came from
    items = [_repair(x, _label(sources or (), i)) for i, x in enumerate(items)]
    channels = items[0].shape[0]
    if columns is not None and len(columns) != channels:
        columns = None

    normalizer = None
    if normalize != "none":
        normalizer = Normalizer(normalize)
        normalizer.fit(np.concatenate(items, axis=1))
    windows = make_windows(items, window, hop, window_fn, normalizer, max_windows=max_windows, seed=config.seed)

    seed_everything(config.seed)
    try:
        net = plugins.create_model(model, channels=channels, window=window, **dict(params or {}))
    except KeyError as error:
        raise ValueError(str(error).strip("'\"")) from None
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


def read_training_data(paths: Sequence[str | os.PathLike]) -> TrainingData:
    """Read every series file under ``paths``.

    All files must have the same channel count (and the same sample rate when known).
    """
    from tsae.io.paths import expand_inputs
    from tsae.io.series import read_series

    files = expand_inputs(paths, recursive=True)
    series: list[np.ndarray] = []
    names: list[str] = []
    rates: set[float] = set()
    columns = None
    for f in files:
        values, rate, meta = read_series(f)
        if series and values.shape[0] != series[0].shape[0]:
            raise ValueError(f"{f}: has {values.shape[0]} channel(s) but {names[0]} has {series[0].shape[0]}")
        if rate is not None:
            rates.add(round(float(rate), 6))
        series.append(values)
        names.append(str(f))
        columns = columns or meta.get("columns")
    if len(rates) > 1:
        raise ValueError(f"{paths[0]}: files have different sample rates ({', '.join(str(r) for r in sorted(rates))}); "
                         "resample them first")
    return TrainingData(series, rates.pop() if rates else None, columns, names)


def train_files(
    data: str | os.PathLike | Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    model: str | None = None,
    window: int | None = None,
    hop: int | None = None,
    params: Mapping[str, Any] | None = None,
    normalize: str = "zscore",
    window_fn: str | None = None,
    config: Any = None,
    init: str | os.PathLike | None = None,
) -> FitResult:
    """Read ``data`` (file, folder, or a list of them), train, and write the model file ``output``.

    ``model`` and ``window`` default to ``conv1d`` and 128, or with ``init`` (a model file)
    to its family, window and hyper-parameters (``params`` override them); the new network
    then starts from its encoder weights. The output is written atomically and never
    overwrites an input file.
    """
    from tsae.io.paths import check_output, expand_inputs

    paths = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    out = Path(output)
    # the files a folder holds are inputs too: -o data/x.csv must not replace data/x.csv
    check_output(out, [*paths, *expand_inputs(paths, recursive=True), *([init] if init is not None else [])])
    start = None
    if init is not None:
        from tsae.models.pretrained import init_settings, load_init

        start = load_init(init)
        model, window, params = init_settings(start, model, window, params)
    found = read_training_data(paths)
    fit = fit_model_on_series(found.series, model=model or "conv1d", window=window or 128, hop=hop, params=params,
                              normalize=normalize, window_fn=window_fn, sample_rate=found.sample_rate, config=config,
                              columns=found.columns, sources=[Path(n).name for n in found.files], init=start)
    fit.save(out, protect=(*paths, *found.files, *((init,) if init is not None else ())),
             extra={"init": str(init)} if init is not None else None)
    return fit


__all__ = ["fit_model_on_series", "FitResult", "TrainingData", "make_windows", "train_files", "read_training_data",
           "NORMALIZE_CHOICES"]
