"""The ``blind_spot`` model family: predicts every sample from its neighbours, never from itself.

A self-supervised denoiser (Noise2Self; Laine et al., "High-quality self-supervised
deep image denoising"): white noise cannot be predicted from the neighbouring
samples, the signal can, so trained with the plain loss ``E|f(x)_t - x_t|^2`` on
noisy data the network learns the clean signal without ever seeing it (the loss is
the error to the clean signal plus the noise variance).

- **encoder**: two dilated causal convolution stacks, one reading the past and one
  the time-reversed future, each shifted by one sample, so output ``t`` never reads
  input ``t``; the code is their features side by side ``(batch, 2 * hidden, window)``;
- **decoder**: 1x1 convolutions mixing them back to ``channels``; its last layer
  starts at zero, so an untrained network predicts 0 (in :func:`tsae.smooth` it
  learns what a linear blind-spot filter leaves).

Each stack sees ``margin = 2**layers`` samples on its side; the training loss skips
the ``margin`` samples at each end of a window, whose neighbours are zero padding.
Fully convolutional: it runs on series of any length.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tsae.models.base import Autoencoder, Param

__version__ = "0.1.0"


class _CausalStack(nn.Module):
    """Dilated causal stack whose output at ``t`` depends on ``x[< t]`` only (a one-sample shift)."""

    def __init__(self, channels: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.inp = nn.Conv1d(channels, hidden, 1)
        self.convs = nn.ModuleList(nn.Conv1d(hidden, hidden, 2, dilation=2**i) for i in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(nn.functional.pad(x, (1, 0))[..., :-1])
        for i, conv in enumerate(self.convs):
            h = h + torch.tanh(conv(nn.functional.pad(h, (2**i, 0))))
        return h


class BlindSpotNet(Autoencoder):
    """Blind-spot convolutional autoencoder (see the module docstring).

    Examples
    --------
    >>> import torch
    >>> net = BlindSpotNet(channels=1, window=64)
    >>> x = torch.randn(2, 1, 64)
    >>> net(x).shape
    torch.Size([2, 1, 64])
    >>> y = x.clone()
    >>> y[..., 30] += 100.0  # output 30 does not read input 30
    >>> bool(torch.equal(net.encode(x)[..., 30], net.encode(y)[..., 30]))
    True
    """

    name = "blind_spot"
    description = "blind-spot convolutional autoencoder: each sample predicted from its neighbours (Noise2Self)"
    encoder_modules = ()
    params = {
        "hidden": Param(16, "channels of each causal stack", min=1),
        "layers": Param(4, "dilated layers per stack (each side sees 2**layers samples)", min=0, max=16),
    }

    def __init__(self, channels: int = 1, window: int = 128, **hparams: Any) -> None:
        super().__init__(channels, window, **hparams)
        hidden, layers = int(self.config["hidden"]), int(self.config["layers"])
        if hidden < 1 or layers < 0:
            raise ValueError(f"blind_spot: hidden must be >= 1 and layers >= 0, got {hidden} and {layers}")
        #: samples each stack reads on its side (1 + the sum of the dilations)
        self.margin = 2**layers
        self.past = _CausalStack(self.channels, hidden, layers)
        self.future = _CausalStack(self.channels, hidden, layers)
        self.mix = nn.Sequential(nn.Conv1d(2 * hidden, hidden, 1), nn.Tanh(), nn.Conv1d(hidden, self.channels, 1))
        nn.init.zeros_(self.mix[2].weight)
        nn.init.zeros_(self.mix[2].bias)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Windows ``(batch, channels, n)`` -> past and future features ``(batch, 2 * hidden, n)``."""
        future = torch.flip(self.future(torch.flip(x, [-1])), [-1])
        return torch.cat([self.past(x), future], dim=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Features ``(batch, 2 * hidden, n)`` -> the blind-spot prediction ``(batch, channels, n)``."""
        return self.mix(z)

    def loss(
        self, x_hat: torch.Tensor, target: torch.Tensor, z: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The blind-spot objective: squared error to ``target`` away from the window's ends.

        ``target`` is the input itself (self-supervised denoising) or, in
        :func:`tsae.smooth`, what the linear blind-spot filter leaves of it. The
        ``margin`` samples at each end (whose neighbours are padding) are left out.
        """
        n = x_hat.shape[-1]
        m = min(self.margin, (n - 1) // 2)
        return super().loss(x_hat[..., m: n - m], target[..., m: n - m], z=z)
