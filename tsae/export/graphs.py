"""The torch modules that become ONNX graphs: a model's window pass, and a detector's scoring network.

Each wraps a trained network without copying its maths: the window graph calls the
family's own ``encode``/``decode`` (or ``forward``), so any family a plugin adds
exports the same way.
"""
from __future__ import annotations

from typing import Any

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


class DetectorGraph(nn.Module):
    """Raw sensor windows ``(batch, sensors, window)`` -> per-sample, per-sensor scaled error.

    What :class:`~tsae.pipelines.anomaly.scoring.ScoringCore` computes per frame
    before the overlap mean and smoothing: z-score with the training statistics,
    clip to ``z_bound`` standard deviations, reconstruct, squared error over each
    sensor's training error, plus the weighted linear (PCA) term when the detector has one.
    """

    center: torch.Tensor
    scale: torch.Tensor
    err_scale: torch.Tensor
    components: torch.Tensor
    pca_mean: torch.Tensor
    pca_err_scale: torch.Tensor

    def __init__(self, state: Any, z_bound: float) -> None:
        super().__init__()
        self.model = state.model
        c = state.channels

        def const(name: str, value: Any, shape: tuple[int, ...]) -> None:
            self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32).reshape(shape))

        const("center", state.normalizer.center, (1, c, 1))
        const("scale", state.normalizer.scale, (1, c, 1))
        const("err_scale", state.err_scale, (1, -1, 1))
        self.z_bound = float(z_bound)
        self.linear = state.pca is not None
        if state.pca is not None:
            const("components", state.pca.components, tuple(state.pca.components.shape))
            const("pca_mean", state.pca.mean, (1, -1))
            const("pca_err_scale", state.pca.err_scale, (1, -1, 1))
            self.linear_weight = float(state.linear_weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.clamp((x - self.center) / self.scale, -self.z_bound, self.z_bound)
        recon, _ = _reconstruct(self.model, z)
        error = (recon - z) ** 2 / self.err_scale
        if self.linear:
            flat = z.flatten(1) - self.pca_mean
            lin = (flat - (flat @ self.components.T) @ self.components) ** 2
            error = error + self.linear_weight * lin.reshape(z.shape) / self.pca_err_scale
        return error
