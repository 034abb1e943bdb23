"""A 2-D map of the per-window latent codes (``tsae encode --plot``).

:func:`project_codes` flattens each window's code and projects it on a plane: PCA
(the two leading principal components) or, when ``umap-learn`` is installed, UMAP.
:func:`plot_codes` draws the map coloured by time, by a label or by an anomaly score;
given a decoder (a VAE's), it adds a grid of windows decoded from points spread over
the codes' PCA plane. :func:`plot_series_codes` does it all for a model and a series.
Figures have a fixed size in pixels (:data:`MAP_SIZE`, :data:`GRID_SIZE`).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsae.extras import installed, missing_message
from tsae.io.paths import shown_name

PROJECTIONS = ("auto", "pca", "umap")
COLOR_BY = ("auto", "time", "label", "score")
#: pixel size of the map alone, and of the map with a grid of decoded samples
MAP_SIZE = (900, 700)
GRID_SIZE = (1600, 700)
_DPI = 100
_GRID = 4
_MAX_CLASSES = 12


def _pca(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, the two leading components ``(2, d)`` (zero rows when d < 2) and their variance shares."""
    mean = flat.mean(axis=0)
    _, sv, vt = np.linalg.svd(flat - mean, full_matrices=False)
    components = np.zeros((2, flat.shape[1]))
    shares = np.zeros(2)
    k = min(2, len(vt))
    components[:k] = vt[:k]
    total = float((sv ** 2).sum())
    shares[:k] = (sv[:k] ** 2) / total if total > 0 else 0.0
    return mean, components, shares


def check_projection(method: str) -> bool:
    """Whether umap-learn is installed, once ``method`` is known to be one of :data:`PROJECTIONS` that can be used
    here: a caller checks it before reading and encoding a file (a missing package is no file's problem).

    Raises
    ------
    ValueError
        An unknown ``method``, or ``"umap"`` without umap-learn.
    """
    if method not in PROJECTIONS:
        raise ValueError(f"projection must be one of {', '.join(PROJECTIONS)}, got {method!r}")
    has_umap = installed("umap")
    if method == "umap" and not has_umap:
        raise ValueError(missing_message("umap", "the UMAP projection"))
    return has_umap


def project_codes(codes: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Project codes ``(n, ...)`` to ``(n, 2)``; returns the points and the two axis labels.

    ``method``: ``"pca"``, ``"umap"`` (needs ``umap-learn``) or ``"auto"`` (UMAP when it is
    installed and there are at least 16 codes, else PCA).
    """
    has_umap = check_projection(method)
    flat = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)
    if len(flat) == 0:
        raise ValueError("no codes to plot")
    if method == "umap" or (method == "auto" and has_umap and len(flat) >= 16):
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(flat) - 1), random_state=seed, n_jobs=1)
        return reducer.fit_transform(flat), ["UMAP 1", "UMAP 2"]
    mean, components, shares = _pca(flat)
    return (flat - mean) @ components.T, [f"PC {i + 1} ({100 * shares[i]:.0f}% of variance)" for i in range(2)]


def _draw_map(ax: Any, fig: Any, xy: np.ndarray, axes: list[str], color: np.ndarray | None,
              color_name: str) -> None:
    ax.plot(xy[:, 0], xy[:, 1], color="0.8", lw=0.5, zorder=1, label="consecutive windows")
    values = None if color is None else np.asarray(color)
    categorical = values is not None and (values.dtype.kind in "OUSb" or len(np.unique(values)) <= _MAX_CLASSES
                                          and color_name == "label")
    if values is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=12, zorder=2, label="window")
    elif categorical:
        if values.dtype.kind == "f" and np.all(values == np.round(values)):
            values = values.astype(np.int64)  # 0/1 labels read as floats
        for k, value in enumerate(np.unique(values.astype(str))):
            mask = values.astype(str) == value
            ax.scatter(xy[mask, 0], xy[mask, 1], s=12, zorder=2, color=f"C{k % 10}", label=f"{color_name} {value}")
    else:
        points = ax.scatter(xy[:, 0], xy[:, 1], c=values.astype(float), s=12, zorder=2,
                            cmap="magma" if color_name == "anomaly score" else "viridis", label="window")
        fig.colorbar(points, ax=ax, label=color_name)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.legend(loc="best", fontsize="small", framealpha=0.8)


def _draw_grid(fig: Any, area: Any, codes: np.ndarray, decoder: Callable[[np.ndarray], np.ndarray]) -> None:
    """Decode a 4x4 grid spread over the codes' PCA plane (5th to 95th percentile) into small panels."""
    flat = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)
    mean, components, _ = _pca(flat)
    xy = (flat - mean) @ components.T
    lo, hi = np.percentile(xy, 5, axis=0), np.percentile(xy, 95, axis=0)
    steps = [np.linspace(lo[i], hi[i], _GRID) for i in range(2)]
    points = np.array([[a, b] for b in steps[1][::-1] for a in steps[0]])
    windows = np.asarray(decoder((mean + points @ components).astype(np.float32)))
    cells = area.subgridspec(_GRID, _GRID, wspace=0.05, hspace=0.05)
    for k, window in enumerate(windows):
        ax = fig.add_subplot(cells[k // _GRID, k % _GRID])
        for channel in window[:3]:
            ax.plot(channel, lw=0.8)
        ax.set_xticks([])
        ax.set_yticks([])
        if k // _GRID == _GRID - 1 and k % _GRID == 0:
            ax.set_xlabel("PC 1 →", loc="left", fontsize="small")
            ax.set_ylabel("PC 2 →", loc="bottom", fontsize="small")
        if k == 0:
            ax.set_title("decoded from the code plane (first 3 channels)", loc="left", fontsize="small")


def plot_codes(path: str | os.PathLike, codes: np.ndarray, *, color: np.ndarray | None = None, color_name: str = "time",
               projection: str = "auto", title: str = "", decoder: Callable[[np.ndarray], np.ndarray] | None = None,
               seed: int = 0, protect: Sequence[str | os.PathLike] = ()) -> Path:
    """Write the 2-D map of ``codes`` ``(n, ...)`` to ``path`` (PNG/PDF/SVG), atomically.

    Parameters
    ----------
    color
        One value per code (numbers: a colour scale; strings or at most 12 label values:
        one colour each), named ``color_name`` in the legend or colour bar.
    projection
        ``"auto"``, ``"pca"`` or ``"umap"`` (see :func:`project_codes`).
    decoder
        Maps flat codes ``(k, code_size)`` to windows ``(k, channels, window)``; when given, a
        grid of decoded samples is drawn beside the map (figure :data:`GRID_SIZE` pixels
        instead of :data:`MAP_SIZE`).
    protect
        Files the caller reads, never overwritten.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from tsae.io.atomic import atomic_path

    path = Path(path)
    fmt = plot_format(path)
    if color is not None and len(color) != len(codes):
        raise ValueError(f"{len(color)} colour values for {len(codes)} codes")
    xy, axes = project_codes(codes, projection, seed)
    width, height = GRID_SIZE if decoder is not None else MAP_SIZE
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, layout="constrained")
    if decoder is None:
        _draw_map(fig.add_subplot(), fig, xy, axes, color, color_name)
    else:
        halves = fig.add_gridspec(1, 2)
        left, right = halves[0, 0], halves[0, 1]
        _draw_map(fig.add_subplot(left), fig, xy, axes, color, color_name)
        _draw_grid(fig, right, codes, decoder)
    fig.suptitle(shown_name(title) if title else f"{len(codes)} window codes")  # shown_name: a name under LC_ALL=C
    with atomic_path(path, protect=tuple(protect)) as tmp:
        fig.savefig(tmp, format=fmt, dpi=_DPI)
    return path


def plot_format(path: str | os.PathLike) -> str:
    """The image format a plot named ``path`` is drawn in (``png``, ``pdf``, ``svg``; ``png`` without a suffix);
    another suffix is a ValueError naming ``path``.

    Examples
    --------
    >>> plot_format("codes.SVG"), plot_format("codes")
    ('svg', 'png')
    """
    from tsae.pipelines.anomaly.plot import plot_format as image_format

    return image_format(path, formats=("png", "pdf", "svg"))


def _window_means(per_sample: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    total = np.concatenate([[0.0], np.cumsum(np.nan_to_num(per_sample, nan=0.0))])
    ends = np.minimum(starts + window, len(per_sample))
    return (total[ends] - total[starts]) / np.maximum(ends - starts, 1)


def window_colors(color_by: str, starts: np.ndarray, window: int, *, sample_rate: float | None = None,
                  labels: np.ndarray | None = None, scores: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """One colour value per window starting at ``starts``, and its name.

    ``color_by``: ``"time"`` (window start, in seconds when ``sample_rate`` is known),
    ``"label"`` (the label at the window's centre), ``"score"`` (mean per-sample anomaly
    score over the window) or ``"auto"`` (score, else label, else time, by what is given).
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"colour must be one of {', '.join(COLOR_BY)}, got {color_by!r}")
    if color_by == "auto":
        color_by = "score" if scores is not None else "label" if labels is not None else "time"
    if color_by == "score":
        if scores is None:
            raise ValueError("colouring by anomaly score needs a detector")
        return _window_means(np.asarray(scores, dtype=np.float64), starts, window), "anomaly score"
    if color_by == "label":
        if labels is None:
            raise ValueError("the data has no label column to colour by")
        centres = np.minimum(starts + window // 2, len(labels) - 1)
        return np.asarray(labels)[centres], "label"
    if sample_rate:
        return starts / float(sample_rate), "window start (s)"
    return starts.astype(np.float64), "window start (sample)"


def detector_rows(values: np.ndarray, columns: Sequence[str] | None, sensors: Sequence[str]) -> np.ndarray:
    """The rows of ``values`` (a table's channels, named by ``columns``) in the order of a detector's ``sensors``.

    Matched by name, as ``tsae detect score`` matches a table's columns
    (:func:`~tsae.pipelines.anomaly.scoring.sensor_order`; other columns are left out): the model's
    column order need not be the detector's. Channels without names (``columns`` None or made up by a
    reader: ``ch0``...) go by position; a missing sensor is a ValueError naming it.
    """
    from tsae.pipelines.anomaly.scoring import sensor_order
    from tsae.pipelines.reconstruct.columns import has_names

    names = [str(c) for c in columns] if columns is not None else None
    if names is None or not has_names(names):
        return values
    order, by_position = sensor_order(names, sensors, "")  # the caller names the file
    return values if by_position else values[order]


def plot_series_codes(path: str | os.PathLike, loaded: Any, values: np.ndarray, codes: np.ndarray, *,
                      color_by: str = "auto", labels: np.ndarray | None = None, detector: Any = None,
                      projection: str = "auto", title: str = "", protect: Sequence[str | os.PathLike] = (),
                      columns: Sequence[str] | None = None) -> Path:
    """Map the ``codes`` that :func:`~tsae.pipelines.reconstruct.series.encode_series` gave for ``values``.

    ``loaded`` is the model file (its frame spec places the windows); ``detector`` (a
    :class:`~tsae.pipelines.anomaly.detector.Detector` or its file) scores ``values`` for
    ``color_by="score"``, its sensors matched by name among ``columns`` (the names of the rows of
    ``values``: :func:`detector_rows`); a model with a ``sample`` method (the VAE) also gets the grid
    of decoded samples.
    """
    from tsae.pipelines.reconstruct.series import frame_spec

    spec = frame_spec(loaded)
    starts = np.arange(len(codes)) * int(spec["hop"])
    scores = None
    if detector is not None and color_by in ("auto", "score"):
        from tsae.pipelines.anomaly.detector import Detector

        det = detector if isinstance(detector, Detector) else Detector.load(detector, device="cpu")
        scores = det.decision_function(detector_rows(values, columns, det.sensors_))
    color, name = window_colors(color_by, starts, int(spec["window"]), sample_rate=loaded.sample_rate,
                                labels=labels, scores=scores)
    network = loaded.model
    decoder = None
    if callable(getattr(network, "sample", None)):
        import torch

        from tsae.models.inference import model_device

        def decoder(flat: np.ndarray) -> np.ndarray:
            z = torch.from_numpy(flat.reshape(len(flat), *codes.shape[1:])).to(model_device(network))
            with torch.inference_mode():
                return network.eval().decode(z).float().cpu().numpy()

    return plot_codes(path, codes, color=color, color_name=name, projection=projection, title=title,
                      decoder=decoder, protect=protect)


__all__ = ["check_projection", "project_codes", "plot_codes", "plot_format", "window_colors", "plot_series_codes",
           "detector_rows", "PROJECTIONS", "COLOR_BY", "MAP_SIZE", "GRID_SIZE"]
