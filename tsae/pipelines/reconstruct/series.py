"""Run a trained model over a whole series: reconstruct it, or encode it window by window.

:func:`reconstruct_series` normalises with the model's stored statistics, cuts the
series into the stored frames (padding the end so every sample is covered; a model
with a taper has its series reflected at both ends first, see :func:`edge_pad`), runs the
network in batches, overlap-adds the reconstructed frames and undoes the
normalisation: the output has the input's shape. :func:`encode_series` returns the
latent code of every frame. Both accept a :class:`~tsae.models.modelfile.LoadedModel`,
a path to a model file, or what :func:`tsae.fit` returned (see
:func:`tsae.models.modelfile.as_loaded`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsae.engine.framing import frame, overlap_add
from tsae.engine.layout import as_channels_first, known_layout
from tsae.engine.preprocess import Normalizer, as_float32
from tsae.io.series import refuse_infinite
from tsae.io.table_absurd import repair_absurd
from tsae.models.modelfile import as_loaded
from tsae.pipelines.progress import check_advance, in_shares
from tsae.pipelines.reconstruct.columns import frame_in_model_order, in_input_order


def frame_spec(loaded: Any) -> dict[str, Any]:
    """The stored frame spec of ``loaded``, defaulting to non-overlapping model-sized windows.

    Raises
    ------
    ValueError
        For a streaming model (such as the speech denoiser): it runs frame by frame with
        state on features of its own, not on series windows, so it cannot reconstruct or
        encode a series.
    """
    from tsae.models.base import is_streaming_model

    if is_streaming_model(loaded.model):
        kind = getattr(loaded.model, "description", "") or "a streaming model"
        raise ValueError(f"{loaded.path or 'model'}: a {loaded.family!r} model ({kind}) is for the denoise "
                         "pipeline: it runs frame by frame on features of its own and cannot reconstruct or "
                         "encode a series")
    frame = dict(loaded.frame or {})
    frame.setdefault("window", loaded.window)
    frame.setdefault("hop", frame["window"])
    frame.setdefault("window_fn", None)
    return frame


def as_model_channels(values: Any, channels: int, name: str = "values") -> tuple[np.ndarray, bool]:
    """``values`` as ``(channels, n)`` for a model of ``channels`` channels, and whether it was 1-D (see
    :func:`~tsae.engine.layout.as_channels_first`); another channel count is a ValueError naming ``name``.

    As many rows as the model has channels are channels, however few samples they hold (a short series,
    not a transposed one). What :func:`reconstruct_series`, :func:`encode_series` and
    :func:`~tsae.pipelines.compress.series.compress_series` take.
    """
    if isinstance(values, np.ndarray) and values.ndim == 2 and values.shape[0] == channels:
        values = known_layout(values)  # as many rows as the model has channels: a short series, not transposed
    x, squeeze = as_channels_first(values, name)
    if x.shape[0] != channels:
        raise ValueError(f"{name} has {x.shape[0]} channel(s) but the model was trained on {channels}")
    return x, squeeze


@dataclass
class FrameContext:
    """What :func:`frames_to_series` needs to turn frames back into the input's series."""

    n: int
    squeeze: bool
    normalizer: Normalizer | None
    spec: dict[str, Any]
    #: samples of reflection before the series (:func:`edge_pad`): dropped from the overlap-add's output
    lead: int = 0


def edge_pad(spec: dict[str, Any]) -> int:
    """Samples (``max(1, window // 8)``) that a tapered model's series is reflected by at each end before framing
    (else 0).

    With a taper the first and last samples of the series lie only under the tapered ends of
    one or two frames (weight 0 at sample 0 for a periodic hann), so the overlap-add divided
    by almost nothing there: sample 0 came back as the channel's centre, its neighbours' errors
    multiplied by up to ~100. A short reflection moves them under the windows' shoulders. The
    length was chosen on 14 of 27 hann models (conv1d, lstm, dense; sines, a random walk, a NAB
    sensor; windows 32, 48, 64), by the RMS of the first and last window's error over the
    middle's (geometric mean): none 3.43, 4 samples 1.13, 8 1.09, window // 8 1.10 (the best
    worst case, 1.43), window // 4 1.10, window - hop 1.18 (worst 2.30, at the right end up to
    1.5x no reflection). On the other 13, never looked at while choosing: window // 8 1.10,
    against 2.73 without, never worse than without.
    """
    return max(1, int(spec["window"]) // 8) if spec.get("window_fn") is not None else 0


def reflect_edges(x: np.ndarray, pad: int) -> np.ndarray:
    """``x`` ``(C, n)`` with ``pad`` samples mirrored at both ends (numpy's ``reflect``: ``x[pad] .. x[1]`` first).

    A series of ``pad`` samples or fewer is mirrored back and forth (numpy's ``reflect`` mode
    repeats the mirror); one sample is repeated.
    """
    if pad <= 0:
        return x
    return np.pad(x, ((0, 0), (pad, pad)), mode="reflect" if x.shape[1] > 1 else "edge")


def prepare_frames(loaded: Any, values: Any, *, edges: bool = True) -> tuple[np.ndarray, FrameContext]:
    """Repair missing runs, normalise (stored stats) and frame ``values`` (C, n) -> (n_frames, C, window) float32.

    Missing are NaN and finite values beyond 1e30 in magnitude (:func:`~tsae.io.table_absurd.absurd_as_missing`, the
    table reader's rule); an infinite value is a ValueError (:func:`~tsae.io.series.refuse_infinite`, the rule of
    :func:`tsae.smooth` and of every command for a ``.npy`` file).

    Frames are padded at the end so every sample is covered. With ``edges`` (reconstruction)
    a tapered model's series is first reflected at both ends by :func:`edge_pad` samples, so
    that its edges are reconstructed as well as its middle (:func:`frames_to_series` drops
    them again); ``edges=False`` (encoding) frames the series as it is: one code per window
    of it. Returns the frames and the :class:`FrameContext` used by :func:`frames_to_series`.
    """
    spec = frame_spec(loaded)
    x, squeeze = as_model_channels(values, loaded.channels)
    if spec["window"] != loaded.window:
        raise ValueError(f"frame window {spec['window']} differs from the model window {loaded.window}")
    refuse_infinite(x)
    x = repair_absurd(x)  # beyond 1e30 is missing, as a table's cell
    normalizer = Normalizer.from_dict(loaded.normalizer) if loaded.normalizer else None
    xn = normalizer.transform(x) if normalizer is not None else x
    xf = as_float32(xn, "the series", normalised=normalizer is not None)
    lead = edge_pad(spec) if edges else 0
    frames = frame(reflect_edges(xf, lead), spec["window"], spec["hop"], spec["window_fn"], pad=True)
    frames = np.ascontiguousarray(np.swapaxes(frames, 0, 1), dtype=np.float32)  # (n_frames, C, L)
    return frames, FrameContext(n=x.shape[1], squeeze=squeeze, normalizer=normalizer, spec=spec, lead=lead)


#: batches run between two reports of :func:`run_frames` to its ``advance``
_BATCHES_PER_REPORT = 8


def run_frames(model: Any, frames: np.ndarray, *, batch_size: int = 256, encode: bool = False,
               advance: Callable[[int], None] | None = None) -> np.ndarray:
    """Run ``model`` (or its encoder) over frames ``(N, C, L)`` in batches, without gradients.

    ``advance`` is told the frames done every few batches (a progress bar); the batches, so the results, are
    the same with it or without.
    """
    from tsae.models.inference import forward

    if advance is None or len(frames) == 0:
        return forward(model, frames, batch_size=batch_size, encode=encode)
    step = batch_size * _BATCHES_PER_REPORT
    parts = []
    for start in range(0, len(frames), step):
        parts.append(forward(model, frames[start:start + step], batch_size=batch_size, encode=encode))
        advance(len(parts[-1]))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def frames_to_series(frames: np.ndarray, context: FrameContext) -> np.ndarray:
    """Overlap-add reconstructed frames ``(N, C, L)`` and undo the normalisation -> ``(C, n)`` float64."""
    spec = context.spec
    stacked = np.ascontiguousarray(np.swapaxes(frames, 0, 1), dtype=np.float32)  # (C, N, L)
    y = overlap_add(stacked, spec["hop"], spec["window_fn"], length=context.lead + context.n)
    y = y[:, context.lead:].astype(np.float64)
    if context.normalizer is not None:
        y = np.asarray(context.normalizer.inverse_transform(y), dtype=np.float64)
    return y[0] if context.squeeze else y


def reconstruct_series(loaded: Any, values: Any, *, batch_size: int = 256, device: Any = None,
                       advance: Callable[[int], None] | None = None) -> np.ndarray:
    """Reconstruct a whole series through the autoencoder.

    Parameters
    ----------
    loaded
        A :class:`~tsae.models.modelfile.LoadedModel`, a model file path, or what :func:`tsae.fit`
        returned (a :class:`~tsae.models.fit.FitResult`, used as saving and loading it would give it).
    values : array_like, pandas.DataFrame or pandas.Series
        ``(channels, n)`` or ``(n,)`` for one channel; missing runs (NaN, or finite beyond 1e30 in
        magnitude, as the table reader reads a cell) are repaired (linear) first; an infinite value is a
        ValueError naming its sample and channel, as :func:`tsae.smooth` says it (make it NaN). A
        DataFrame is ``(n, channels)``: one row per sample, one column per channel; with the
        columns the model was trained on, in another order, it goes through the model in the
        model's order (matched by name). A Series is one channel.
    batch_size
        Frames per forward pass.
    device
        Move the model there first (default: leave it where it is; a model file is loaded on the CPU).
    advance
        Told the samples (per channel) done as the network runs, adding up to the series' length (a progress bar).

    Returns
    -------
    numpy.ndarray
        float64, the overlap-added reconstruction in the input's units, always a plain array:

        - an array: the input's shape, ``(channels, n)`` or ``(n,)``;
        - a DataFrame of shape ``(n, channels)``: ``(channels, n)``, channels first (the
          transpose of the frame; one column gives ``(1, n)``), the rows in the DataFrame's
          column order. Its index and column names are not carried over: ``pandas.DataFrame(y.T,
          index=df.index, columns=df.columns)`` puts them back;
        - a Series of ``n`` values: ``(n,)``.

    Examples
    --------
    >>> from tsae.models.modelfile import load_model           # doctest: +SKIP
    >>> y = reconstruct_series(load_model("model.tsae"), x)    # doctest: +SKIP
    """
    check_advance(advance)
    loaded = as_loaded(loaded, device)
    values, perm = frame_in_model_order(values, loaded)
    frames, context = prepare_frames(loaded, values)
    told = None if advance is None else in_shares(advance, len(frames), context.n)
    recon = finite_frames(run_frames(loaded.model, frames, batch_size=batch_size, advance=told), loaded)
    return in_input_order(frames_to_series(recon, context), perm)


def encode_series(loaded: Any, values: Any, *, batch_size: int = 256, device: Any = None,
                  advance: Callable[[int], None] | None = None) -> np.ndarray:
    """Latent codes of every frame of ``values``: ``(n_frames, *code_shape)`` float32.

    Frames follow the stored frame spec (hop), padded at the end so every sample is covered:
    ``n_frames`` is 1 for a series shorter than the window, else ``1 + ceil((n - window) / hop)``.

    Parameters
    ----------
    loaded
        The model, as for :func:`reconstruct_series`.
    values : array_like, pandas.DataFrame or pandas.Series
        The series, as for :func:`reconstruct_series`: a DataFrame with the model's columns in another
        order is encoded in the model's order (matched by name), and missing samples are repaired first.
    batch_size
        Frames per forward pass.
    device
        Move the model there first (default: leave it where it is; a model file is loaded on the CPU).
    advance
        Told the samples (per channel) done as the encoder runs, adding up to the series' length.

    Returns
    -------
    numpy.ndarray
        ``(n_frames, *code_shape)`` float32.

    Raises
    ------
    ValueError
        The model's encoder gives a NaN or infinite code (the message names the model file).
    """
    check_advance(advance)
    loaded = as_loaded(loaded, device)
    frames, context = prepare_frames(loaded, frame_in_model_order(values, loaded)[0], edges=False)
    told = None if advance is None else in_shares(advance, len(frames), context.n)
    codes = run_frames(loaded.model, frames, batch_size=batch_size, encode=True, advance=told).astype(np.float32)
    return finite_codes(codes, loaded)


def finite_codes(codes: np.ndarray, loaded: Any, first: int = 0) -> np.ndarray:
    """``codes`` if every one is finite, else one line naming the model and the first bad window.

    ``first`` is the index of ``codes[0]`` in the whole series (a block's offset). NaN
    codes are no result: a model whose weights a diverged training blew up gives them.
    """
    return _finite(codes, loaded, first, "the encoder of {family} gives NaN or infinite codes")


def finite_frames(frames: np.ndarray, loaded: Any, first: int = 0) -> np.ndarray:
    """Reconstructed ``frames`` if every value is finite, else one line naming the model and the first bad window.

    The frames fed to the model are finite (gaps repaired, normalised), so a NaN or infinite
    reconstruction is the model's: huge (finite) weights overflow float32.
    """
    return _finite(frames, loaded, first, "{family} reconstructs NaN or infinite values")


def _finite(out: np.ndarray, loaded: Any, first: int, what: str) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(out.reshape(len(out), -1)).all(axis=1))
    if len(bad):
        from tsae.plugins import family_label

        # the family and its plugin named, as detector scoring names them: the plugin's bug is one cause
        family = family_label(str(getattr(loaded, "family", None) or getattr(loaded.model, "name", "?")))
        raise ValueError(f"{loaded.path or 'model'}: {what.format(family=family)} (from window "
                         f"{first + int(bad[0])}); weights blown up by a diverged training, or the family's bug?")
    return out


__all__ = ["reconstruct_series", "encode_series", "prepare_frames", "run_frames", "frames_to_series", "frame_spec",
           "FrameContext", "edge_pad", "reflect_edges", "finite_codes", "finite_frames"]
