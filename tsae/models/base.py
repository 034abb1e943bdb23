"""The one small interface every autoencoder family implements.

A family is a ``torch.nn.Module`` subclass of :class:`Autoencoder` that takes
multichannel windows of shape ``(batch, channels, window)``:

- ``encode(x) -> z`` and ``decode(z) -> x_hat`` (``forward`` chains them),
- ``loss(x_hat, target, z=...)`` returns the training loss (a scalar tensor) and a
  dict of its named parts for logging,
- ``hparams()`` returns the JSON-serialisable constructor arguments, so a model
  file can rebuild the network by family name without pickling anything.

Families declare their tunable parameters in ``params`` (name -> :class:`Param`),
which ``tsae models`` lists and ``tsae train --param name=value`` fills.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn


@dataclass(frozen=True)
class Param:
    """One documented hyper-parameter of a model family."""

    default: Any
    help: str = ""

    @property
    def type(self) -> type:
        return type(self.default)


class Autoencoder(nn.Module):
    """Base class of tsae model families.

    Subclasses set ``name`` (registry key), ``description`` and ``params`` and
    implement :meth:`encode` and :meth:`decode`. The constructor receives the
    window shape (``channels``, ``window``) plus keyword hyper-parameters named in
    ``params``; unknown keywords raise ``ValueError``.

    Parameters
    ----------
    channels
        Number of input channels (sensors, or 1 for mono audio).
    window
        Window length in samples.
    **hparams
        Values for the family's ``params``; missing ones take their defaults.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    #: "none" | "denoising" | "sparse" | "contractive": regulariser options every family accepts
    common_params: ClassVar[dict[str, Param]] = {
        "regularizer": Param("none", "training regulariser: none, denoising, sparse or contractive"),
        "reg_weight": Param(0.1, "weight of the sparse/contractive penalty, or input noise std for denoising"),
    }

    def __init__(self, channels: int, window: int, **hparams: Any) -> None:
        super().__init__()
        if channels < 1 or window < 1:
            raise ValueError(f"channels and window must be >= 1, got {channels} and {window}")
        known = {**self.common_params, **self.params}
        unknown = sorted(set(hparams) - set(known))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown parameter(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        self.channels = int(channels)
        self.window = int(window)
        self.config: dict[str, Any] = {}
        for key, param in known.items():
            value = hparams.get(key, param.default)
            try:
                self.config[key] = _coerce(value, param.default)
            except ValueError:
                raise ValueError(
                    f"{self.name}: parameter {key}={value!r} is not a valid {type(param.default).__name__}"
                ) from None

    # -- the interface -----------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Map windows ``(batch, channels, window)`` to latent codes ``(batch, ...)``."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes back to windows ``(batch, channels, window)``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(
        self, x_hat: torch.Tensor, target: torch.Tensor, z: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss: mean squared error plus the configured regulariser.

        Families with extra terms (the VAE's KL divergence) override this.
        """
        mse = torch.mean((x_hat - target) ** 2)
        parts = {"mse": float(mse.detach())}
        total = mse
        if self.config.get("regularizer") == "sparse" and z is not None:
            sparse = z.abs().mean()
            total = total + self.config["reg_weight"] * sparse
            parts["l1"] = float(sparse.detach())
        return total, parts

    def hparams(self) -> dict[str, Any]:
        """The JSON-serialisable arguments that rebuild this network: ``type(self)(**hparams())``."""
        return {"channels": self.channels, "window": self.window, **self.config}

    @classmethod
    def describe_params(cls) -> dict[str, Param]:
        """Every parameter the family accepts, its own first, then the common ones."""
        return {**cls.params, **cls.common_params}


def _coerce(value: Any, default: Any) -> Any:
    """Convert CLI strings to the type of the parameter's default."""
    if isinstance(value, str) and not isinstance(default, str):
        if isinstance(default, bool):
            return value.lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    return value
