"""Anomaly plot: the sensor series, the score with its threshold, and the events shaded."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsae.io.paths import shown_name
from tsae.pipelines.anomaly.plot_envelope import Envelope

#: the image formats a plot is drawn in, by suffix (``.jpeg`` too where ``jpg`` is one)
PLOT_FORMATS = ("png", "pdf", "svg", "jpg")


def plot_format(path: str | os.PathLike, formats: Sequence[str] = PLOT_FORMATS) -> str:
    """The image format a plot named ``path`` is drawn in (``png`` without a suffix); a suffix not among
    ``formats`` is a one-line ValueError naming ``path``.

    Examples
    --------
    >>> plot_format("scores.SVG"), plot_format("scores"), plot_format("s.jpeg")
    ('svg', 'png', 'jpeg')
    >>> plot_format("codes.jpg", formats=("png", "pdf", "svg"))
    Traceback (most recent call last):
    ValueError: codes.jpg: plot must be .png, .pdf or .svg
    """
    fmt = Path(path).suffix.lower().lstrip(".") or "png"
    if fmt not in formats and not (fmt == "jpeg" and "jpg" in formats):
        listed = ", ".join(f".{name}" for name in formats[:-1]) + f" or .{formats[-1]}"
        raise ValueError(f"{path}: plot must be {listed}")
    return "jpeg" if fmt == "jpg" else fmt


def plot_anomalies(path: str | Path, X: np.ndarray | Envelope, scores: np.ndarray | Envelope, threshold: float,
                   events: Sequence[Any] = (), *, sensors: Sequence[str] = (), time: np.ndarray | None = None,
                   title: str = "", max_sensors: int = 8, protect: Sequence[str | Path] = ()) -> Path:
    """Write a two-panel figure (series on top, score below) to ``path`` (PNG/PDF/SVG/JPG), atomically.

    Parameters
    ----------
    X
        ``(n_sensors, n_samples)`` values, time on the last axis like every series in tsae
        (each sensor is z-scored for display), or their :class:`~tsae.pipelines.anomaly.plot_envelope.Envelope`
        gathered block by block; a long series is drawn as its envelope either way.
    scores
        Per-row anomaly scores (or their envelope); ``threshold`` is drawn as a dashed line.
    events
        :class:`~tsae.pipelines.anomaly.events.Event` objects, shaded on both panels.
    protect
        Files the caller reads, never overwritten.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from tsae.io.atomic import atomic_path

    path = Path(path)
    fmt = plot_format(path)
    series, score = _envelope(X), _envelope(scores[None] if isinstance(scores, np.ndarray) else scores)
    n = score.n
    axis = np.arange(n) if time is None else np.asarray(time)
    fig = Figure(figsize=(12, 6), constrained_layout=True)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    channels = series.low.shape[0]
    shown = min(channels, max_sensors)
    for i in range(shown):
        mean, spread = series.mean_and_spread(i)
        x, y = series.line(i, axis)
        label = sensors[i] if i < len(sensors) else f"s{i}"
        top.plot(x, (y - mean) / spread, lw=0.8, label=label)
    title = shown_name(title) if title else title  # a file name under LC_ALL=C: its surrogates cannot be drawn
    if channels > shown:
        top.set_title(f"{title} (first {shown} of {channels} sensors, z-scored)")
    else:
        top.set_title(f"{title} (z-scored)" if title else "sensors (z-scored)")
    top.legend(loc="upper right", fontsize="small", ncol=min(shown, 4))
    bottom.plot(*score.line(0, axis), lw=0.8, color="black", label="score")
    bottom.axhline(threshold, color="red", ls="--", lw=1, label=f"threshold {threshold:.3g}")
    reach = score.finite_range()
    if reach is not None and reach[0] > 0 and reach[1] / reach[0] > 1e3:
        bottom.set_yscale("log")
    bottom.legend(loc="upper right", fontsize="small")
    bottom.set_ylabel("anomaly score")
    for event in events:
        a, b = int(event.start_index), min(int(event.end_index), n - 1)
        for ax in (top, bottom):
            ax.axvspan(axis[a], axis[b], color="orange", alpha=0.3, lw=0)
    with atomic_path(path, protect=tuple(protect)) as tmp:
        fig.savefig(tmp, format=fmt, dpi=100)
    return path


def _envelope(values: np.ndarray | Envelope) -> Envelope:
    """``values`` ``(channels, n)`` as an :class:`Envelope` (an envelope as it is)."""
    if isinstance(values, Envelope):
        return values
    values = np.asarray(values, dtype=np.float64)
    envelope = Envelope(values.shape[1], values.shape[0])
    envelope.add(values)
    return envelope
