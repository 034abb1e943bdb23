"""The three kinds of export: each returns the module to trace and its spec (inputs, outputs, sidecar)."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tsae.export.api import CHECK_BATCH


def _batch_axes(names: list[str]) -> dict[str, dict[int, str]]:
    return {name: {0: "batch"} for name in names}


def _random(*shape: int, seed: int = 0) -> torch.Tensor:
    """Seeded standard-normal float32 values: the inputs the exported graph is checked on."""
    return torch.from_numpy(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _rate(value: Any) -> float | None:
    return None if value is None else float(value)


def _taper(loaded: Any) -> list[float] | None:
    """The values of the model's analysis window (``frame.window_fn``), or None for none: the runner needs no scipy."""
    from tsae.engine.framing import window_array

    taper = window_array((loaded.frame or {}).get("window_fn"), int(loaded.window))
    return None if taper is None else [float(v) for v in taper]


def _columns(loaded: Any) -> list[str] | None:
    """The table columns the model was trained on, in its channel order; None for channels without names."""
    from tsae.pipelines.reconstruct.columns import has_names, trained_columns

    columns = trained_columns(loaded)
    return columns if columns and has_names(columns) else None


def window_export(loaded: Any) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Any family: normalised windows ``(batch, channels, window)`` -> ``reconstruction``, ``code``."""
    from tsae.export.graphs import WindowGraph

    c, w = loaded.channels, loaded.window
    names_in, names_out = ["window"], ["reconstruction", "code"]
    sidecar = {
        "inputs": {"window": ["batch", c, w]},
        "outputs": {"reconstruction": ["batch", c, w], "code": ["batch", "..."]},
        "channels": c, "window": w, "frame": loaded.frame, "normalizer": loaded.normalizer,
        "sample_rate": loaded.sample_rate, "hparams": loaded.hparams,
        "taper": _taper(loaded), "columns": _columns(loaded),
        "usage": "put the series' channels in `columns` order (a table's columns matched by name; null: the "
                 "model's channel order); fill each channel's missing samples (NaN, infinite or beyond 1e30 in "
                 "magnitude, as `tsae reconstruct` reads a file; a channel with none is an error) by linear "
                 "interpolation (the ends hold the nearest value), normalise each channel ((x - center) / "
                 "scale), with a `taper` (not null) mirror both ends "
                 "by P = max(1, window // 8) samples (numpy pad mode 'reflect': x[P] .. x[1] before x[0], "
                 "x[n-2] .. x[n-1-P] after x[n-1]; a series of 1 sample repeated), zero-pad the end so that "
                 "windows of `window` samples every `frame.hop` cover every sample, multiply each window by "
                 "`taper` (null: ones), run, overlap-add the reconstructions weighted by `taper` "
                 "(sum(r * taper) / sum(taper**2) per sample, 0 where that sum is 0), drop the first P samples "
                 "(0 without a taper), keep n and undo the normalisation",
    }
    spec = {"example": [torch.zeros(2, c, w)], "inputs": names_in, "outputs": names_out,
            "dynamic_axes": _batch_axes(names_in + names_out), "sidecar": sidecar,
            "check": [_random(CHECK_BATCH, c, w)],
            "metadata": {"channels": c, "window": w, "hop": (loaded.frame or {}).get("hop"),
                         "sample_rate": _rate(loaded.sample_rate)}}
    return WindowGraph(loaded.model), spec


def denoiser_export(loaded: Any, *, strength: float, atten_limit: float | None) -> tuple[torch.nn.Module, dict]:
    """The streaming denoiser: ``samples`` ``(batch, hop)`` + state -> ``output`` ``(batch, hop)`` + state."""
    from tsae.export.denoiser_step import DenoiserStep
    from tsae.io.audio import LOUDEST

    step = DenoiserStep(loaded.model, strength=strength, atten_limit=atten_limit)
    state = step.initial_state(1)
    names_in = ["samples", *(f"in_{k}" for k in state)]
    names_out = ["output", *(f"out_{k}" for k in state)]
    axes: dict[str, dict[int, str]] = {"samples": {0: "batch"}, "output": {0: "batch"}}
    two = step.initial_state(2)
    for k, v in state.items():
        batch_axes = [i for i, (a, b) in enumerate(zip(v.shape, two[k].shape, strict=True)) if a != b]
        if batch_axes:  # the tensors with one row per channel (counters have none)
            axes[f"in_{k}"] = axes[f"out_{k}"] = {batch_axes[0]: "batch"}
    from tsae.pipelines.denoise.denoiser import model_rate

    rate = model_rate(loaded.path or Path("model"), loaded.sample_rate, loaded.model)  # an absurd rate: named
    sidecar = {
        "inputs": {"samples": ["batch", step.hop]}, "outputs": {"output": ["batch", step.hop]},
        "state": {k: {"input": f"in_{k}", "output": f"out_{k}",
                      "shape": _shape(v, axes.get(f"in_{k}")),
                      "initial": "inf" if torch.isinf(v).all() and v.numel() else 0.0}
                  for k, v in state.items()},
        "sample_rate": rate, "hop": step.hop, "n_fft": step.n_fft, "lookahead": step.lookahead,
        "delay_samples": step.delay, "latency_seconds": (step.delay + step.hop) / rate,
        "strength": strength, "normalizer": None,
        "atten_limit": None if math.isinf(step.atten_limit) else step.atten_limit,  # the one applied; JSON has no inf
        "usage": "start each entry of `state` as a tensor of its `shape` (batch = channels) filled with its "
                 "`initial` value (0, or the string \"inf\": +infinity, which JSON has no number for); feed "
                 "`hop` samples per channel (batch = channels) at "
                 "`sample_rate` as `samples` with each `state[name].input`, and pass each returned "
                 "`state[name].output` back as the next call's `state[name].input`; NaN and infinite samples "
                 f"are taken as silence and samples beyond {LOUDEST:g} times full scale are clipped to it (the "
                 "graph does both). The output lags by `delay_samples`: drop that many leading samples and feed "
                 "that many zeros at the end, then zeros to a whole hop; keep the input's length. Resample other "
                 "rates to `sample_rate` first. `strength` and `atten_limit` (null: no limit, not the model's "
                 "default as tsae's atten_limit=None is; else the limit in dB) are what the graph applies, built "
                 "in: a runner does nothing with them.",
    }
    spec = {"example": [torch.zeros(2, step.hop), *two.values()], "inputs": names_in,
            "outputs": names_out, "dynamic_axes": axes, "sidecar": sidecar,
            "check": _stream_check(step), "metadata": {"window": step.n_fft, "hop": step.hop, "sample_rate": rate}}
    return step, spec


def _stream_check(step: Any) -> list[torch.Tensor]:
    """The inputs of a step well into a stream of ``CHECK_BATCH`` channels of noise (output and guard running)."""
    state = step.initial_state(CHECK_BATCH)
    with torch.inference_mode():
        for i in range(step.n_fft // step.hop + step.lookahead + 1):
            _, *values = step(0.1 * _random(CHECK_BATCH, step.hop, seed=i), *state.values())
            state = dict(zip(state, values, strict=True))
    return [0.1 * _random(CHECK_BATCH, step.hop, seed=99), *state.values()]


def _shape(value: torch.Tensor, axes: dict[int, str] | None) -> list[Any]:
    """A state tensor's shape for a batch of one, with the batch axis named."""
    return [(axes or {}).get(i, int(d)) for i, d in enumerate(value.shape)]


def detector_export(source: str | os.PathLike) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A detector: raw sensor windows ``(batch, sensors, window)`` -> ``error`` (same shape)."""
    from tsae.export.graphs import DetectorGraph
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.scoring import Z_BOUND, shared_rise_flags

    det = Detector.load(Path(source), device="cpu")
    if det.seasonal_ is not None:  # the graph takes windows, not times: its normalisation would be the wrong one
        raise ValueError(f"{source}: the detector removes normal levels by time of week or day "
                         f"({det.seasonal_.describe()}), which the ONNX graph cannot: fit it with --seasonal off "
                         "to export it")
    state = det.state_
    c, w = state.channels, state.window
    scales: list[dict[str, Any]] = [{"input": "window", "output": "error", "window": w, "hop": state.hop}]
    scales += [{"input": f"window_{t.window}", "output": f"error_{t.window}", "window": t.window, "hop": t.hop}
               for t in state.scales]
    flags = shared_rise_flags(state)  # their statistics errors are outputs too: a shared rise is discounted
    shared = any(flags)
    for i, (scale, used) in enumerate(zip(scales, flags, strict=True)):
        if used:
            scale["stats_output"] = "stats" if i == 0 else f"stats_{scale['window']}"
    names_in = [s["input"] for s in scales]
    names_out = [s["output"] for s in scales] + [s["stats_output"] for s in scales if "stats_output" in s]
    base = None if state.contrib_base is None else np.asarray(state.contrib_base, np.float64).tolist()
    shared_base = np.asarray(state.shared_base, np.float64).tolist() if shared else None
    sidecar = {
        "inputs": {s["input"]: [f"batch_{i}", c, s["window"]] for i, s in enumerate(scales)},
        "outputs": {**{s["output"]: [f"batch_{i}", c, s["window"]] for i, s in enumerate(scales)},
                    **{s["stats_output"]: [f"batch_{i}", c, s["window"]] for i, s in enumerate(scales)
                       if "stats_output" in s}},
        "channels": c, "window": w, "hop": state.hop, "scales": scales, "smooth": state.smooth,
        "short_smooth": [[length, factor] for length, factor in state.short_smooth], "centered": state.centered,
        "point_weight": float(state.point_weight) if state.point_ceiling is not None else 0.0,
        "point_ceiling": None if state.point_ceiling is None else np.asarray(state.point_ceiling, np.float64).tolist(),
        "point_cap": float(state.point_cap),
        "threshold": float(det.threshold_), "sensors": list(det.sensors_),
        "contrib_base": base, "normalizer": state.normalizer.to_dict(), "z_bound": Z_BOUND,
        "drift_rate": float(det.drift_rate), "shared_rise": float(state.shared_rise) if shared else 1.0,
        "shared_base": shared_base,
        "usage": "put the series in `sensors` order (one row per sensor; match a table's columns by name); a value "
                 "is missing when it is NaN, infinite or beyond 1e30 in magnitude: it takes the sensor's previous "
                 "value (before the sensor's first value, its `normalizer.center`); do not normalise (the graph "
                 "does, with `normalizer`); for each entry of `scales`: cut raw windows of `window` samples "
                 "every `hop` samples from sample 0 into its `input`, run all inputs at once, and average each "
                 "sample's `output` error over the windows covering it (samples after the last window repeat its "
                 "last row; a scale whose `window` is longer than the series is left out); add the scales' "
                 "errors; with K = `smooth`, a = K // 2 if `centered` else 0 and b = K - 1 - a, take each sample "
                 "t's mean over samples t - b .. t + a (clipped at the ends: the mean of those in the series), sum "
                 "over sensors and divide by `channels`; do the same with each `short_smooth` [length, factor] "
                 "pair's length as K, times its factor: a sample's score is the largest of these (of a series of at "
                 "least `window` samples); where `point_weight` is above 0, add `point_weight` / `channels` times "
                 "the sum over sensors of each sensor's excess (0 where below) of its mean over the shortest "
                 "`short_smooth` length over its `point_ceiling`, times that length's factor, at most `point_cap` "
                 "times the score; where the score without that excess (after the division below) is at most "
                 "`threshold`, the score is at most `threshold` too. "
                 "Where `shared_rise` is above 1 (`shared_base` then holds one value "
                 "per sensor), divide the score by the rise most sensors share: average each scale's "
                 "`stats_output` over the windows as its `output`, add the scales that have one, take the mean "
                 "over K = `smooth` samples as above (not over `short_smooth`), divide each sensor's by its "
                 "`shared_base`, take the median over sensors, and clip it to [1, `shared_rise`] (1 where it is "
                 "not finite). Above `threshold` is an anomaly. This is `tsae detect score` with `drift_rate` 0 "
                 "(above 0, tsae moves the normalisation and score level toward recent normal data as it scores, "
                 "which this fixed graph does not) and no sensor missing for --silence (100) "
                 "rows in a row (tsae leaves such a silent sensor out of the score until it reports again; "
                 "here it holds its last value)",
    }
    axes = {s["input"]: {0: f"batch_{i}"} for i, s in enumerate(scales)}
    axes.update({s["output"]: {0: f"batch_{i}"} for i, s in enumerate(scales)})
    axes.update({s["stats_output"]: {0: f"batch_{i}"} for i, s in enumerate(scales) if "stats_output" in s})
    spec = {"example": [torch.zeros(2, c, s["window"]) for s in scales], "inputs": names_in, "outputs": names_out,
            "dynamic_axes": axes, "sidecar": sidecar,
            "check": [_random(CHECK_BATCH, c, s["window"], seed=i) for i, s in enumerate(scales)],
            "metadata": {"channels": c, "window": w, "hop": state.hop}}
    return DetectorGraph(state, Z_BOUND), spec
