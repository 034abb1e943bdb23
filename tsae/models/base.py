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

A family that runs frame by frame on live streams also implements
:class:`StreamingModel` (``init_state``, ``step``, ``hop``, ``lookahead``, ``latency``);
the pipelines stream any network through that protocol and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

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


@runtime_checkable
class StreamingModel(Protocol):
    """A network that runs one frame at a time with explicit state (live streams, long files).

    The streaming pipelines (:class:`tsae.StreamingDenoiser`) cut the signal into
    frames of ``window`` samples every ``hop`` samples, multiply each by ``window_fn``,
    hand the model one frame's input per :meth:`step` and overlap-add what it
    returns with the same taper. A family implements this protocol (no base class
    is needed: any object with these members qualifies, ``isinstance(obj,
    StreamingModel)`` checks their presence) to be streamed by them.

    Attributes
    ----------
    window
        Frame length in samples.
    hop
        Samples between the starts of consecutive frames.
    lookahead
        Frames the output of a frame may wait for: :meth:`step` answers ``lookahead``
        calls late (0: strictly causal).
    latency
        Algorithmic latency in **samples** at the model's own rate: one frame plus the
        look-ahead, ``window + lookahead * hop`` (divide by the sample rate for seconds).
    window_fn
        The analysis and synthesis taper, ``window`` floats.

    Notes
    -----
    What one frame's input and output are is the family's contract with its
    pipeline; for the spectral-mask denoiser the input is the ``rfft`` of one tapered
    frame, ``(batch, window // 2 + 1)`` complex, and the output a real mask of the
    same shape. The streaming pipelines work in numpy: a family whose :meth:`step`
    takes tensors also provides ``streamer() -> StreamingModel`` whose ``step``
    takes and returns numpy arrays (and may choose a faster path than the network).
    """

    window: int
    hop: int
    lookahead: int
    latency: int
    window_fn: Any

    def init_state(self, batch: int = 1) -> Any:
        """Fresh state for ``batch`` independent streams (e.g. audio channels)."""
        ...

    def step(self, frame: Any, state: Any) -> Any | None:
        """Take one frame ``(batch, ...)`` and update ``state`` in place.

        Returns the output of the frame ``lookahead`` calls back, or ``None`` while
        the first ``lookahead`` frames are still being collected.
        """
        ...


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
    #: top-level submodules that make up the encoder (what ``--init`` copies from a pretrained model)
    encoder_modules: ClassVar[tuple[str, ...]] = ("encoder", "to_latent")
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
