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

import inspect
import json
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

from tsae.engine.layout import is_whole_number
from tsae.errors import NamedMemoryError, allocation_failure, first_line, shown
from tsae.models.device import float32_default
from tsae.models.params import INTS, MAX_INT_HPARAM, Param
from tsae.models.rng import kept

__all__ = ["SILENT_POWER", "Autoencoder", "Param", "StreamingModel", "check_contract", "check_declared",
           "check_methods", "check_rebuild", "is_streaming_model"]

#: a spectral frame whose mean bin power is below this is digital silence (white noise at about
#: -114 dBFS RMS in 512-sample frames; 16-bit dither is well above it): streaming models leave their
#: running statistics alone over it, and the denoise pipeline's guard passes it and learns no noise from it
SILENT_POWER = 1e-9


@runtime_checkable
class StreamingModel(Protocol):
    """A network that runs one frame at a time with explicit state (live streams, long files).

    The streaming pipelines (:class:`tsae.StreamingDenoiser`) cut the signal into
    frames of ``window`` samples every ``hop`` samples, multiply each by ``window_fn``,
    hand the model one frame's input per :meth:`step` and overlap-add what it
    returns with the same taper. A family implements this protocol (no base class
    is needed: any object with these members qualifies, :func:`is_streaming_model`
    checks their presence) to be streamed by them.

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
    frame, ``(batch, window // 2 + 1)`` complex, and the output a mask of the
    same shape: real (``denoiser``), or complex where the family corrects the phase
    (``denoiser2``). The streaming pipelines work in numpy: a family whose :meth:`step`
    takes tensors also provides ``streamer() -> StreamingModel`` whose ``step``
    takes and returns numpy arrays (and may choose a faster path than the network).
    A denoiser family may also set ``default_atten_limit`` (dB, or None): the attenuation
    limit the pipelines apply when the user gives none (``denoiser2``: 45 dB). A numpy
    streamer may also have ``steps(spec, state)``: the frames ``(batch, frames, bins)`` of a
    block at once, returning the masks ``(batch, k, bins)`` of the ``k`` frames they complete;
    :class:`~tsae.StreamingDenoiser` then feeds it whole blocks (``denoiser2``).
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


#: the methods and attributes :class:`StreamingModel` declares (read from it, so they follow it)
_STREAMING_METHODS = tuple(name for name, member in vars(StreamingModel).items()
                           if callable(member) and not name.startswith("_"))
_STREAMING_ATTRIBUTES = tuple(StreamingModel.__annotations__)


def is_streaming_model(obj: Any) -> bool:
    """Whether ``obj`` has every member of :class:`StreamingModel` (``init_state`` and ``step`` callable).

    Use this rather than ``isinstance(obj, StreamingModel)``: from Python 3.12 on, ``isinstance``
    against a protocol looks members up statically, so it misses what a ``torch.nn.Module`` keeps
    in its buffers or submodules (a ``window_fn`` registered with ``register_buffer``) and says
    ``False`` for a network that streams.
    """
    return all(hasattr(obj, name) for name in _STREAMING_ATTRIBUTES) and all(
        callable(getattr(obj, name, None)) for name in _STREAMING_METHODS)


def is_streaming_family(family: type) -> bool:
    """Whether model family ``family`` (a class) declares :class:`StreamingModel`'s methods: a denoiser, which
    runs frame by frame on its own features (``tsae denoise``), not on windows of a series."""
    return all(callable(getattr(family, name, None)) for name in _STREAMING_METHODS)


def check_series_family(name: str) -> None:
    """Refuse, as a one-line ValueError, a family no plugin registers or a denoiser family: what ``tsae train``,
    ``tsae.fit`` and ``tsae detect fit`` learn series with."""
    from tsae.plugins import get_model_family

    try:
        family = get_model_family(name)
    except KeyError as error:  # its message, not the repr of a KeyError's key
        raise ValueError(first_line(error)) from None
    if is_streaming_family(family):
        raise ValueError(f"{name!r} is a speech denoiser family (for tsae denoise; scripts/train_denoiser.py trains "
                         "it): it does not learn series; choose another family (see `tsae models`)")


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
        "regularizer": Param("none", "training regulariser", choices=("none", "denoising", "sparse", "contractive")),
        "reg_weight": Param(0.1, "weight of the sparse/contractive penalty, or input noise std for denoising",
                            min=0.0),
    }

    def __init__(self, channels: int, window: int, **hparams: Any) -> None:
        super().__init__()
        for what, value in (("channels", channels), ("window", window)):
            # a float (1.5, or 16.0) failed inside torch's layers, text at the comparison, True was 1
            if not is_whole_number(value):
                raise TypeError(f"{self.name}: {what} must be a whole number, got {shown(value)}")
        if channels < 1 or window < 1:
            raise ValueError(f"{self.name}: channels and window must be >= 1, got {channels} and {window}")
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
            if key in hparams:
                self.config[key] = param.parse(hparams[key], owner=self.name, name=key)
                value = self.config[key]
                if param.type in (int, INTS) and any(abs(v) > MAX_INT_HPARAM for v in
                                                     (value if isinstance(value, tuple) else (value,))):
                    raise ValueError(f"{self.name}: parameter {key}={shown(hparams[key])} must be within "
                                     f"+-{MAX_INT_HPARAM} (what a model file holds)")  # not torch's overflow
            elif param.required:
                raise ValueError(f"{self.name}: parameter {key} is required ({param.help or 'no default'})")
            else:
                self.config[key] = param.default

    # -- the interface -----------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Map windows ``(batch, channels, window)`` to latent codes ``(batch, ...)``.

        Parameters
        ----------
        x
            Windows ``(batch, channels, window)``.
        """
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes back to windows ``(batch, channels, window)``.

        Parameters
        ----------
        z
            Latent codes ``(batch, ...)``, as :meth:`encode` returns them.
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct windows: :meth:`decode` of :meth:`encode`.

        Parameters
        ----------
        x
            Windows ``(batch, channels, window)``.
        """
        return self.decode(self.encode(x))

    def loss(
        self, x_hat: torch.Tensor, target: torch.Tensor, z: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss: mean squared error plus the configured regulariser.

        Families with extra terms (the VAE's KL divergence) override this.

        Parameters
        ----------
        x_hat
            The reconstruction.
        target
            The windows it should reproduce (the uncorrupted ones where training corrupts the input,
            as the ``"denoising"`` regulariser does).
        z
            The latent codes, for the ``"sparse"`` regulariser's L1 penalty (None: no penalty).

        Returns
        -------
        (loss, parts)
            The scalar loss tensor and its terms by name as floats (``"mse"``, and ``"l1"`` with the
            sparse penalty).
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
        """Every parameter the family accepts, its own first, then the common ones.

        A family that declares a common parameter itself (``reg_weight`` with another
        default) has its own declaration used, here as by the constructor.
        """
        return {**cls.params, **{key: param for key, param in cls.common_params.items() if key not in cls.params}}



#: the constructor arguments every family takes besides its ``params``
_SHAPE_ARGS = ("channels", "window")


def check_declared(family: type[Autoencoder], origin: str) -> None:
    """Refuse a family whose declarations cannot work (called when a plugin registers it).

    Every constructor argument must be declared in ``params`` (an undeclared one would
    be accepted, not saved, and silently reset when the model file is loaded) and every
    declared default must satisfy its own :class:`Param`.

    Raises
    ------
    ValueError
        Naming the family, ``origin`` (its plugin) and the argument.
    """
    where = f"model family {family.name!r} ({origin})"
    for attribute in ("params", "common_params"):
        if not isinstance(getattr(family, attribute, None), Mapping):
            raise ValueError(f"{where}: {attribute} must be a dict of name -> Param, "
                             f"not {type(getattr(family, attribute, None)).__name__}")
    reserved = sorted(set(family.params) & set(_SHAPE_ARGS))
    if reserved:
        raise ValueError(f"{where}: params must not declare {', '.join(map(repr, reserved))}: every family "
                         "takes the window's shape as its first arguments")
    declared = family.describe_params()
    for key, param in declared.items():
        if not isinstance(param, Param):
            raise ValueError(f"model family {family.name!r} ({origin}): params[{key!r}] is not a tsae Param")
        if param.min is not None and param.max is not None and param.min > param.max:
            raise ValueError(f"{where}: params[{key!r}] has min {param.min} above its max {param.max}, "
                             "so no value is allowed")
        if param.choices == ():
            raise ValueError(f"{where}: params[{key!r}] has no choices, so no value is allowed")
        if not param.required:
            param.parse(param.default, owner=f"model family {family.name!r} ({origin}) default", name=key)
    for cls in family.__mro__:
        if cls is Autoencoder or "__init__" not in vars(cls):
            continue
        for arg in inspect.signature(vars(cls)["__init__"]).parameters.values():
            if arg.name == "self" or arg.kind in (arg.VAR_KEYWORD, arg.VAR_POSITIONAL) or arg.name in _SHAPE_ARGS:
                continue
            if arg.name not in declared:
                raise ValueError(f"model family {family.name!r} ({origin}): constructor argument {arg.name!r} "
                                 "is not declared in params, so a model file could not restore it")
    taken = inspect.signature(family.__init__).parameters.values()
    if not any(arg.kind is arg.VAR_KEYWORD for arg in taken):
        named = {arg.name for arg in taken if arg.kind in (arg.POSITIONAL_OR_KEYWORD, arg.KEYWORD_ONLY)}
        missing = [key for key in declared if key not in named]
        if missing:  # found when built would be after training: saving rebuilds family(**hparams())
            raise ValueError(f"{where}: __init__ does not take {', '.join(map(repr, missing))}, which tsae passes "
                             "to every family (its own and the shared params); end its arguments with **hparams and "
                             "pass them on: super().__init__(channels, window, **hparams)")


def check_methods(family: type[Autoencoder], origin: str) -> None:
    """Refuse a family that leaves ``encode`` (or ``decode``, unless it has its own ``forward``) to the base class.

    The base class's methods raise a bare ``NotImplementedError``, which reached the user as a
    failed forward pass that did not say what is missing. Called by :func:`check_contract`.

    Raises
    ------
    ValueError
        Naming the family, ``origin`` (its plugin) and the missing methods.
    """
    own_forward = family.forward is not Autoencoder.forward
    needed = ("encode",) if own_forward else ("encode", "decode")
    missing = [method for method in needed if getattr(family, method) is getattr(Autoencoder, method)]
    if missing:
        raise ValueError(f"model family {family.name!r} ({origin}): {family.__name__} does not implement "
                         f"{' and '.join(missing)} (a family defines encode(x) -> code and decode(code) -> "
                         "windows)")


def check_contract(model: Autoencoder, origin: str, batch: int = 3) -> None:
    """Run one tiny forward pass on zeros: the code keeps the batch axis, and the output has the input's
    shape and dtype and is finite (silence is valid input); ``encode`` and ``decode`` are the family's own
    (:func:`check_methods`).

    Raises
    ------
    ValueError
        Naming the family, ``origin`` (its plugin) and the shapes, dtypes or values.
    """
    where = f"model family {model.name!r} ({origin})"
    if not all(key in vars(model) for key in ("_modules", "channels", "window", "config")):
        raise ValueError(f"{where}: {type(model).__name__}.__init__ does not call super().__init__(channels, window, "
                         "**hparams), which sets up the network and parses the parameters into self.config; call "
                         "it first")
    check_methods(type(model), origin)
    plain = _plain_tensors(model)
    if plain:
        raise ValueError(f"{where}: {', '.join(plain)} {'is a tensor' if len(plain) == 1 else 'are tensors'} kept "
                         "as a plain attribute, not a parameter or buffer: --device cuda would leave it on the CPU "
                         "and a model file would not save what training changes in it; register it "
                         "(self.register_buffer(name, tensor), or nn.Parameter to train it)")
    check_state_tensors(model, where)
    x = torch.zeros(batch, model.channels, model.window, device=_device_of(model))
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            z = model.encode(x)
            if not isinstance(z, torch.Tensor) or z.ndim < 1 or z.shape[0] != batch:
                code = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
                raise ValueError(f"{where}: encode of input {tuple(x.shape)} returned code {code}, "
                                 f"which has no batch axis of {batch}")
            own_forward = type(model).forward is not Autoencoder.forward
            out = model(x) if own_forward else model.decode(z)
    except ValueError:
        raise
    except (Exception, SystemExit) as error:  # noqa: BLE001 - a plugin's network may raise anything
        missing = allocation_failure(error)
        if missing is not None:  # not the plugin's fault: windows this long do not fit
            raise NamedMemoryError(f"model family {model.name!r} for {model.channels} channel(s) x {model.window} "
                                   f"samples does not fit in memory ({missing})") from None
        raise ValueError(f"{where}: a forward pass on input {tuple(x.shape)} failed "
                         f"({type(error).__name__}: {first_line(error)})") from error
    finally:
        model.train(training)
    step = "forward" if own_forward else "decode"
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"{where}: {step} returned shape {shape} for input {tuple(x.shape)}; "
                         "it must return the input's shape (batch, channels, window)")
    if out.dtype != x.dtype:
        raise ValueError(f"{where}: {step} returned {str(out.dtype).removeprefix('torch.')} for "
                         f"{str(x.dtype).removeprefix('torch.')} input; it must return the input's dtype")
    if not bool(torch.isfinite(out).all()):
        raise ValueError(f"{where}: {step} returned NaN or infinite values for an all-zero input "
                         f"{tuple(x.shape)}; it must return finite values (silence is valid input)")


def check_state_tensors(model: nn.Module, where: str) -> None:
    """Refuse a ``state_dict()`` entry that is not a tensor (``get_extra_state``): a model file holds tensors only.

    Raises
    ------
    ValueError
        Naming ``where`` (the family and its plugin), the entry and its type.
    """
    for key, value in model.state_dict().items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{where}: state_dict() entry {key!r} is a {type(value).__name__}, not a tensor: a model "
                             "file stores tensors only (no pickle); keep settings in params and data in buffers")


def _plain_tensors(model: nn.Module) -> list[str]:
    """The tensors that ``model``'s own code (its family's module) keeps as plain attributes, by dotted name.

    Modules of other libraries inside the network are their authors' business and are not looked at.
    """
    home = type(model).__module__
    return [f"{prefix}{'.' if prefix else ''}{key}" for prefix, module in model.named_modules()
            if type(module).__module__ == home
            for key, value in vars(module).items() if isinstance(value, torch.Tensor)]


@float32_default()
def check_rebuild(model: Autoencoder, origin: str) -> None:
    """Check that ``type(model)(**hparams())``, after a trip through JSON, rebuilds the same network.

    Called before a model file is written, so a file that cannot be loaded is never saved.

    Raises
    ------
    ValueError
        Naming the family, ``origin`` and what does not survive.
    """
    where = f"model family {model.name!r} ({origin})"
    try:
        hparams = json.loads(json.dumps(model.hparams()))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: hparams() is not JSON-serialisable ({error})") from None
    try:
        with kept():  # its initial weights must not draw from the caller's generator
            rebuilt = type(model)(**hparams)
    except Exception as error:  # noqa: BLE001
        raise ValueError(f"{where}: cannot be rebuilt from its hparams() "
                         f"({type(error).__name__}: {first_line(error)})") from None
    check_state_tensors(model, where)
    mine = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()}
    if mine != theirs:
        differ = sorted(set(mine) ^ set(theirs)) or sorted(k for k in mine if mine[k] != theirs[k])
        raise ValueError(f"{where}: the network rebuilt from hparams() differs from this one "
                         f"(weights {', '.join(differ[:3])}); declare every setting in params")


def _device_of(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")
