"""The torch modules that become ONNX graphs: a model's window pass, and a detector's scoring network.

Each wraps a trained network without copying its maths: the window graph calls the
family's own ``encode``/``decode`` (or ``forward``), so any family a plugin adds
exports the same way.
"""
from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from torch import nn

from tsae.models.base import Autoencoder


def _reconstruct(model: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(reconstruction, code)`` as tsae computes them (the encoder runs once when forward is the default)."""
    code = model.encode(x)
    if type(model).forward is Autoencoder.forward:
        return model.decode(code), code
    return model(x), code


class WindowGraph(nn.Module):
    """Normalised windows ``(batch, channels, window)`` -> ``(reconstruction, code)``."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _reconstruct(self.model, x)


class _ScaleGraph(nn.Module):
    """One window scale of a detector: raw windows -> the weighted, normalised error of its terms."""

    center: torch.Tensor
    scale: torch.Tensor
    ae_scale: torch.Tensor
    components: torch.Tensor
    pca_mean: torch.Tensor
    pca_err_scale: torch.Tensor
    stats_median: torch.Tensor
    stats_spread: torch.Tensor
    stats_err_scale: torch.Tensor
    band_cos: torch.Tensor
    band_sin: torch.Tensor
    band_members: torch.Tensor
    band_median: torch.Tensor
    band_spread: torch.Tensor

    def __init__(self, state: Any, term: Any, z_bound: float, model: Any = None) -> None:
        super().__init__()
        c = state.channels

        def const(name: str, value: Any, shape: tuple[int, ...]) -> None:
            self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32).reshape(shape))

        const("center", state.normalizer.center, (1, c, 1))
        const("scale", state.normalizer.scale, (1, c, 1))
        self.z_bound = float(z_bound)
        self.model = model if model is not None and state.ae_weight > 0 else None
        self.ae_weight = float(state.ae_weight)
        const("ae_scale", state.err_scale, (1, -1, 1))
        self.pca_weight = float(term.pca_weight) if term.pca is not None else 0.0
        self.pca_level_free = bool(term.pca is not None and term.pca.level_free)
        if self.pca_weight > 0:
            const("components", term.pca.components, tuple(term.pca.components.shape))
            const("pca_mean", term.pca.mean, (1, -1))
            const("pca_err_scale", term.pca.err_scale, (1, -1, 1))
        self.stats_weight = float(term.stats_weight) if term.stats is not None else 0.0
        if self.stats_weight > 0:
            const("stats_median", term.stats.median, (1, c, 3))
            const("stats_spread", term.stats.spread, (1, c, 3))
            const("stats_err_scale", term.stats.err_scale, (1, c, 1))
            self.level_huber = term.stats.level_huber  # StatsTerm.distance: the level linear beyond it
            self.bands = term.stats.band_median is not None
            if self.bands:  # scoring.band_shares as matrix products: the taper, the DFT's rows, the bands' sums
                self._band_constants(term.window, term.stats.band_median, term.stats.band_spread, c)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The error ``(batch, C, L)`` of the windows ``x``, and their statistics term's own (unweighted) error,
        the same shape, the unit of a shared rise (None without a statistics term)."""
        z = torch.clamp((x - self.center) / self.scale, -self.z_bound, self.z_bound)
        error = torch.zeros_like(z)
        own: torch.Tensor | None = None
        if self.model is not None:
            recon, _ = _reconstruct(self.model, z)
            error = error + self.ae_weight * (recon - z) ** 2 / self.ae_scale
        if self.pca_weight > 0:
            shape = z - z.mean(dim=-1, keepdim=True) if self.pca_level_free else z  # LinearTerm.level_free
            flat = shape.flatten(1) - self.pca_mean
            lin = (flat - (flat @ self.components.T) @ self.components) ** 2
            error = error + self.pca_weight * lin.reshape(z.shape) / self.pca_err_scale
        if self.stats_weight > 0:  # tsae.pipelines.anomaly.scoring.window_stats, on (batch, C, L)
            mean = z.mean(dim=2)
            spread = torch.log(torch.sqrt(((z - mean.unsqueeze(2)) ** 2).mean(dim=2)) + 1e-3)
            steps = torch.log((z[:, :, 1:] - z[:, :, :-1]).abs().mean(dim=2) + 1e-3)
            stats = torch.stack([mean, spread, steps], dim=-1)
            squares = ((stats - self.stats_median) / self.stats_spread) ** 2
            if self.level_huber is not None:
                k = self.level_huber
                level = torch.sqrt(squares[..., :1])
                squares = torch.cat([torch.where(level <= k, squares[..., :1], k * (2.0 * level - k)),
                                     squares[..., 1:]], dim=-1)
            distance = squares.sum(dim=-1, keepdim=True)
            if self.bands:
                distance = distance + self._band_distance(z)
            own = (distance / self.stats_err_scale).expand_as(z)
            error = error + self.stats_weight * own
        return error, own


    def _band_constants(self, window: int, median: Any, spread: Any, channels: int) -> None:
        from tsae.pipelines.anomaly.scoring import band_starts

        bins = np.arange(1, window // 2 + 1)
        angle = 2.0 * np.pi * np.outer(np.arange(window), bins) / window
        taper = np.hanning(window)[:, None]
        starts = band_starts(window)
        members = np.zeros((len(bins), len(starts)))
        for b, (lo, hi) in enumerate(zip(starts, [*starts[1:], len(bins)], strict=True)):
            members[lo:hi, b] = 1.0

        def const(name: str, value: Any) -> None:
            self.register_buffer(name, torch.as_tensor(np.asarray(value), dtype=torch.float32))

        const("band_cos", taper * np.cos(angle))
        const("band_sin", taper * np.sin(angle))
        const("band_members", members)
        const("band_median", np.reshape(median, (1, channels, -1)))
        const("band_spread", np.reshape(spread, (1, channels, -1)))
        self.band_tiny = 1e-12 * window

    def _band_distance(self, z: torch.Tensor) -> torch.Tensor:
        """:class:`~tsae.pipelines.anomaly.scoring.StatsTerm`'s spectral-shape distance of windows ``(batch, C, L)``."""
        from tsae.pipelines.anomaly.scoring import BAND_SHARE_FLOOR

        centred = z - z.mean(dim=2, keepdim=True)
        power = (centred @ self.band_cos) ** 2 + (centred @ self.band_sin) ** 2  # (batch, C, K)
        total = power.sum(dim=2, keepdim=True)
        shares = torch.where(total > self.band_tiny, (power @ self.band_members) / total.clamp_min(self.band_tiny),
                             torch.zeros_like(total))
        shape = torch.log(shares + BAND_SHARE_FLOOR)
        return (((shape - self.band_median) / self.band_spread) ** 2).mean(dim=-1, keepdim=True)


class DetectorGraph(nn.Module):
    """Raw sensor windows of each scale ``(batch_i, sensors, window_i)`` -> per-sample, per-sensor error.

    What :class:`~tsae.pipelines.anomaly.scoring.ScoringCore` computes per frame of each
    window scale before the overlap mean, the sum over scales and the smoothing: z-score
    with the training statistics, clip to ``z_bound`` standard deviations, then each term
    (the network's residual on the main scale, the subspace residual, the local statistics'
    distance) divided by its normal level and weighted.
    """

    def __init__(self, state: Any, z_bound: float) -> None:
        from tsae.pipelines.anomaly.scoring import shared_rise_flags

        super().__init__()
        self.model = state.model
        terms = [state.primary_term(), *state.scales]
        self.scales = nn.ModuleList(_ScaleGraph(state, term, z_bound, self.model if i == 0 else None)
                                    for i, term in enumerate(terms))
        #: the scales whose statistics errors are outputs too, after the errors (the shared rise's, in their order)
        self.shared = [i for i, used in enumerate(shared_rise_flags(state)) if used]

    def forward(self, *windows: torch.Tensor) -> tuple[torch.Tensor, ...]:
        results = [scale(x) for scale, x in zip(self.scales, windows, strict=True)]
        return tuple(error for error, _ in results) + tuple(cast(torch.Tensor, results[i][1]) for i in self.shared)
