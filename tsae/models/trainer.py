"""The one trainer every model family shares.

:func:`train_model` fits an :class:`~tsae.models.base.Autoencoder` to windows
``(N, channels, window)``: a seeded validation split, Adam, early stopping on the
validation loss (the best weights are kept), a wall-clock budget, CUDA with mixed
precision when present, and a progress bar on a terminal.

Regularisers are chosen by the model's ``config["regularizer"]``:

- ``"denoising"``: the input is corrupted (Gaussian noise of std ``reg_weight``, and/or
  random masking of a ``reg_weight`` fraction of samples, see ``TrainConfig.corruption``)
  while the loss compares with the clean window;
- ``"sparse"``: an L1 penalty on the code (in ``Autoencoder.loss``);
- ``"contractive"``: ``reg_weight * ||dz/dx||_F^2``, estimated without the full
  Jacobian by one vector-Jacobian product with a random Gaussian projection
  (``E||J^T v||^2 = ||J||_F^2`` for ``v ~ N(0, I)``);
- undercomplete: choose a small latent size in the family's parameters.

Two optional hooks let a family add to the loop without the trainer knowing it:

- ``training_loss(x, target) -> (loss, parts, z)`` replaces the whole forward-plus-loss
  step (the VAE adds its KL term, the VQ-VAE its commitment loss and codebook updates);
  ``parts`` are logged, averaged over the epoch, in the history;
- ``end_epoch() -> dict[str, float]`` is called after each training epoch (before the
  validation); its metrics join that epoch's history row (the VQ-VAE reports codebook
  usage and perplexity).
"""
from __future__ import annotations

import contextlib
import copy
import math
import numbers
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tsae.engine.layout import check_flag, is_number, is_whole_number
from tsae.errors import first_line, shown
from tsae.io.c_stderr import stderr_is_terminal
from tsae.models.device import device_name, float32_default, grad_enabled
from tsae.models.inference import autocast
from tsae.models.rng import kept, let_others

#: rough activation memory per input byte, used to cap the batch size
_ACTIVATION_FACTOR = 64


#: the largest learning rate and weight decay: torch's optimizers hold them as float32 (1e38 overflows there)
_MAX_RATE = 1e30


@dataclass
class TrainConfig:
    """Settings of :func:`train_model`.

    Parameters
    ----------
    epochs
        Maximum passes over the training windows.
    batch_size
        Windows per step (capped so one batch fits ``max_batch_bytes``).
    lr
        Adam learning rate.
    val_fraction
        Share of windows held out for validation and early stopping (0 validates on the
        training windows).
    patience
        Epochs without a validation improvement before stopping.
    seed
        Seeds the split, the shuffles, the corruption noise (and torch's global RNG).
    device
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. An unknown name is
        refused here; a missing GPU only when training starts (a configuration may be made
        on one machine for another).
    quiet
        No progress bar (True or False, as ``deterministic`` and ``amp``).
    max_seconds
        Wall-clock budget; training stops after the batch that exceeds it.
    weight_decay
        Adam weight decay.
    grad_clip
        Clip the gradient norm to this (None: no clipping).
    corruption
        Denoising corruption: ``"gaussian"``, ``"mask"`` or ``"both"``.
    max_batch_bytes
        Upper bound of the estimated memory of one batch (inputs times an activation factor).
    deterministic
        Use deterministic algorithms on the CPU (restored afterwards).
    amp
        Mixed precision (float16 autocast + gradient scaling) on CUDA.
    min_delta
        Relative improvement of the validation loss that counts as progress.
    """

    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-3
    val_fraction: float = 0.1
    patience: int = 5
    seed: int = 0
    device: str = "auto"
    quiet: bool = False
    max_seconds: float | None = None
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0
    corruption: str = "gaussian"
    max_batch_bytes: int = 1 << 30
    deterministic: bool = True
    amp: bool = True
    min_delta: float = 1e-4

    def __post_init__(self) -> None:
        for name, low in (("epochs", 1), ("batch_size", 1), ("patience", 0), ("max_batch_bytes", 1)):
            whole_number(name, getattr(self, name), low)
        check_seed(self.seed)
        if not (0.0 <= real_number("val_fraction", self.val_fraction) < 1.0):
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if not 0 < real_number("lr", self.lr) <= _MAX_RATE:
            raise ValueError(f"lr must be in (0, {_MAX_RATE:g}], got {self.lr}")
        for name in ("weight_decay", "min_delta"):
            if real_number(name, getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.weight_decay > _MAX_RATE:
            raise ValueError(f"weight_decay must be in [0, {_MAX_RATE:g}], got {self.weight_decay}")
        if self.grad_clip is not None and real_number("grad_clip", self.grad_clip) <= 0:
            raise ValueError(f"grad_clip must be None or > 0, got {self.grad_clip}")
        if self.corruption not in ("gaussian", "mask", "both"):
            raise ValueError(f"corruption must be gaussian, mask or both, got {self.corruption!r}")
        if self.max_seconds is not None and real_number("max_seconds", self.max_seconds) <= 0:
            raise ValueError(f"max_seconds must be > 0, got {self.max_seconds}")
        for name in ("quiet", "deterministic", "amp"):
            setattr(self, name, check_flag(name, getattr(self, name)))  # a numpy bool stored as a bool: JSON-able
        device_name(self.device)  # the name now; whether this machine has the device, when training starts


def whole_number(name: str, value: Any, low: int) -> int:
    """``value`` if it is a whole number (numpy integers too, not a bool) of at least ``low``; else a ValueError."""
    if not is_whole_number(value) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {shown(value)}")
    return int(value)


def check_seed(seed: Any) -> int:
    """``seed`` if it is a whole number >= 0 below 2**64 (torch's seeds are 64 bits), else a ValueError."""
    if whole_number("seed", seed, 0) >= 2**64:
        raise ValueError(f"seed must be a whole number >= 0 and < 2**64, got {shown(seed)}")
    return int(seed)


def real_number(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite real number (not a bool or text), else a ValueError naming ``name``."""
    if not is_number(value) or not _finite(value):
        raise ValueError(f"{name} must be a finite number, got {shown(value)}")
    return float(value)


def _finite(value: numbers.Real) -> bool:
    """Whether a real number is finite as a float: an int (or Fraction) beyond any float (10 ** 400) is not."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


@dataclass
class TrainResult:
    """What :func:`train_model` returns; ``model`` holds the best-validation weights (eval mode).

    ``stopped`` says why the epochs ended: ``"epochs"`` (all run), ``"early_stopping"``, ``"max_seconds"``
    or ``"diverged"`` (after good epochs; see :class:`DivergenceWarning`).
    """

    model: Any
    history: list[dict[str, float]]
    best_val_loss: float
    best_epoch: int
    val_errors: np.ndarray
    val_indices: np.ndarray
    train_indices: np.ndarray
    epochs_run: int
    stopped: str
    seconds: float
    device: str
    batch_size: int
    config: dict[str, Any] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (call before building a model)."""
    import torch

    seed = int(seed)  # a numpy integer too: random.seed refuses those
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int) -> Any:
    """:func:`seed_everything` inside the block, and the caller's generators as they were after it
    (:func:`tsae.models.rng.kept`): a fit is reproducible by its own ``seed``, also beside fits on other threads."""
    with kept(long=True):  # lets a load's rebuild in between its training steps
        seed_everything(seed)
        yield


@contextlib.contextmanager
def _deterministic(enabled: bool) -> Any:
    import torch

    if not enabled:
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn)


def _window_activations(window_shape: tuple[int, ...]) -> int:
    """The estimated activation memory of one window in a batch (its float32 bytes times an activation factor)."""
    return max(1, int(np.prod(window_shape, dtype=object)) * 4 * _ACTIVATION_FACTOR)


def batch_memory(n_windows: int, window_shape: tuple[int, ...], config: TrainConfig,
                 per_window: int | None = None) -> int:
    """The estimated activation memory of one CPU batch when training on ``n_windows`` windows of ``window_shape``.

    ``per_window``: a window's activations as measured for the network (the estimate is never less).
    """
    batch = min(n_windows, fit_batch_size(config.batch_size, window_shape, config.max_batch_bytes))
    return batch * max(_window_activations(window_shape), per_window or 0)


def fit_batch_size(requested: int, window_shape: tuple[int, ...], max_bytes: int, device: Any = None) -> int:
    """Cap ``requested`` so one batch's estimated memory stays under ``max_bytes``.

    On CUDA the cap is also half the free device memory.
    """
    per_window = _window_activations(window_shape)
    budget = int(max_bytes)
    if device is not None and getattr(device, "type", "cpu") == "cuda":
        import torch

        try:
            free, _ = torch.cuda.mem_get_info(device)
            budget = min(budget, free // 2)
        except Exception:  # noqa: BLE001 - best effort
            pass
    return int(max(1, min(requested, budget // per_window)))


def contractive_penalty(z: Any, x: Any, generator: Any = None) -> Any:
    """Random-projection estimate of ``mean_batch ||dz/dx||_F^2`` (one vector-Jacobian product).

    ``x`` must require grad and ``z`` must be computed from it; the result is differentiable.
    """
    import torch

    v = torch.randn(z.shape, generator=generator, device="cpu", dtype=torch.float32).to(z.device, z.dtype)
    (jtv,) = torch.autograd.grad(z, x, grad_outputs=v, create_graph=True)
    return jtv.float().pow(2).sum() / max(1, x.shape[0])


def default_training_loss(model: Any, x: Any, target: Any) -> tuple[Any, dict[str, float], Any]:
    """Encode, decode and score: the step every family uses unless it defines ``training_loss``."""
    z = model.encode(x)
    x_hat = model.decode(z)
    scored = model.loss(x_hat, target, z=z)
    if not (isinstance(scored, tuple) and len(scored) == 2):
        raise TypeError(f"loss() must return (loss tensor, dict of parts), not {type(scored).__name__}")
    loss, parts = scored
    return loss, parts, z


def _corrupt(x: Any, kind: str, level: float, generator: Any) -> Any:
    import torch

    out = x
    if kind in ("gaussian", "both") and level > 0:
        noise = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)
        out = out + level * noise
    if kind in ("mask", "both") and level > 0:
        keep = torch.rand(x.shape, generator=generator) >= min(level, 0.95)
        out = out * keep.to(x.device, x.dtype)
    return out


def _step_loss(model: Any, x: Any, target: Any, regularizer: str, weight: float, generator: Any,
               corruption: str) -> tuple[Any, dict[str, float]]:
    import torch

    if regularizer == "denoising":
        x = _corrupt(x, corruption, weight, generator)
    contractive = regularizer == "contractive" and weight > 0
    if contractive:
        x = x.detach().requires_grad_(True)
    step = getattr(model, "training_loss", None)
    try:
        loss, parts, z = step(x, target) if callable(step) else default_training_loss(model, x, target)
    except Exception as error:  # a family's own bug: name the family and its plugin
        if str(error).startswith(f"{model.name}:"):
            raise
        raise RuntimeError(f"{_family_label(model)}: its training step failed ({type(error).__name__}: "
                           f"{first_line(error)})") from error
    if not (isinstance(loss, torch.Tensor) and loss.numel() == 1 and loss.is_floating_point()):
        raise RuntimeError(f"{_family_label(model)}: the training loss must be a one-element float tensor, "
                           f"not {type(loss).__name__}{tuple(loss.shape) if isinstance(loss, torch.Tensor) else ''}")
    if not loss.requires_grad:
        raise RuntimeError(f"{_family_label(model)}: the training loss does not depend on the network's weights "
                           "(does decode return a float tensor computed from them?)")
    if contractive:
        if z is None:
            raise ValueError(f"{model.name}: the contractive regulariser needs the code z from training_loss")
        penalty = contractive_penalty(z, x, generator)
        loss = loss + weight * penalty
        parts = {**parts, "jacobian": float(penalty.detach())}
    if not torch.isfinite(loss):
        raise TrainingDiverged(_family_label(model), f"loss is {float(loss.detach())}")
    return loss, parts


class TrainingDiverged(RuntimeError):
    """A training loss or a validation loss went NaN or infinite: the one line names the family and what to try.

    :func:`train_model` raises it when no epoch had finished well; after good epochs it stops, keeps the
    best one's weights and warns (:class:`DivergenceWarning`).
    """

    def __init__(self, family: str, what: str) -> None:
        super().__init__(family, what)  # the arguments, so that the error pickles (a worker process raises it)
        self.family, self.what = family, what

    def __str__(self) -> str:
        return (f"{self.family}: training diverged ({self.what}); lower the learning rate or normalise the data, "
                "or check that the family's forward pass gives finite values")


class DivergenceWarning(UserWarning):
    """The training diverged after good epochs: it stopped there and kept the best epoch's weights."""


def _family_label(model: Any) -> str:
    """``model family 'x' (plugin 'p' (dist 1.0))``: how a training error names a family."""
    from tsae import plugins

    return plugins.family_label(getattr(model, "name", type(model).__name__))


def _batches(n: int, size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + size] for i in range(0, n, size)]


def evaluate(model: Any, windows: Any, targets: Any = None, batch_size: int = 256, device: Any = None,
             amp: bool = False) -> np.ndarray:
    """Per-window mean squared reconstruction error of ``model`` on ``windows`` (no training).

    ``windows``/``targets`` are numpy arrays or tensors ``(N, C, L)``; returns float64 ``(N,)``.
    """
    import torch

    from tsae.models.inference import forward

    def as_tensor(a: Any) -> Any:
        return a if torch.is_tensor(a) else torch.as_tensor(np.asarray(a, dtype=np.float32))

    x_all = as_tensor(windows)
    t_all = x_all if targets is None else as_tensor(targets)

    def squared_error(x_hat: Any, rows: slice) -> Any:
        t = t_all[rows].to(x_hat.device, non_blocking=True)
        return (x_hat.float() - t.float()).pow(2).flatten(1).mean(1)

    errors = forward(model, x_all, batch_size=batch_size, device=device, amp=amp, reduce=squared_error)
    return errors.astype(np.float64)


@contextlib.contextmanager
def _double_backward_safe(device: Any) -> Any:
    """Kernels with a double backward, which the contractive penalty needs.

    Fused attention (flash / memory-efficient SDPA) and cuDNN RNNs have none: use the
    math attention kernel and plain RNN kernels while training.
    """
    import torch

    with contextlib.ExitStack() as stack:
        try:
            from torch.nn.attention import SDPBackend, sdpa_kernel

            stack.enter_context(sdpa_kernel(SDPBackend.MATH))
        except ImportError:  # pragma: no cover - older torch
            pass
        if getattr(device, "type", "cpu") == "cuda":
            stack.enter_context(torch.backends.cudnn.flags(enabled=False))
        yield


def _checked_arrays(model: Any, windows: Any, targets: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """The windows (and targets) as finite float32 ``(N, C, L)`` arrays matching the model."""
    windows = np.asarray(windows)
    if windows.ndim != 3:
        raise ValueError(f"windows must be (N, channels, window), got shape {windows.shape}")
    n, channels, length = windows.shape
    if n == 0:
        raise ValueError("no training windows (the series is shorter than one window?)")
    if (channels, length) != (getattr(model, "channels", channels), getattr(model, "window", length)):
        raise ValueError(f"windows are ({channels} channels, {length} samples) but the model expects "
                         f"({model.channels}, {model.window})")
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    if not np.isfinite(windows).all():
        raise ValueError("training windows contain NaN or inf (repair missing values first)")
    if targets is not None:
        targets = np.ascontiguousarray(targets, dtype=np.float32)
        if targets.shape != windows.shape:
            raise ValueError(f"targets shape {targets.shape} differs from windows shape {windows.shape}")
        if not np.isfinite(targets).all():
            raise ValueError("training targets contain NaN or inf")
    return windows, targets


def _split(n: int, val_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (validation, training) row indices; tiny sets validate on the training rows."""
    order = rng.permutation(n)
    n_val = int(round(n * val_fraction)) if n > 1 else 0
    n_val = min(max(n_val, 1 if val_fraction > 0 and n > 1 else 0), n - 1)
    val_idx = np.sort(order[:n_val]) if n_val else np.arange(n)
    train_idx = np.sort(order[n_val:]) if n_val else np.arange(n)
    return val_idx, train_idx


@dataclass
class _Data:
    """The windows and targets as tensors, on the device when they are small."""

    x: Any
    t: Any
    paired: bool
    on_device: bool

    @classmethod
    def place(cls, windows: np.ndarray, targets: np.ndarray | None, device: Any) -> _Data:
        import torch

        on_device = windows.nbytes * (2 if targets is not None else 1) <= (256 << 20)
        x = torch.from_numpy(windows)
        t = torch.from_numpy(targets) if targets is not None else x
        if on_device:
            x = x.to(device)
            t = t.to(device) if targets is not None else x
        elif device.type == "cuda":
            x = x.pin_memory()
            t = t.pin_memory() if targets is not None else x
        return cls(x, t, targets is not None, on_device)

    def rows(self, index: np.ndarray) -> Any:
        import torch

        rows = torch.from_numpy(index)
        return rows.to(self.x.device) if self.on_device else rows


@dataclass
class _Run:
    """One training run's moving parts, shared by the epoch loop and the validation."""

    model: Any
    data: _Data
    config: TrainConfig
    device: Any
    amp: bool
    batch_size: int
    optimizer: Any
    scaler: Any
    params: list[Any]
    regularizer: str
    reg_weight: float
    generator: Any
    rng: np.random.Generator
    train_idx: np.ndarray
    val_idx: np.ndarray
    started: float

    def validate(self) -> tuple[float, np.ndarray]:
        """Mean and per-window validation errors."""
        rows = self.data.rows(self.val_idx)
        targets = self.data.t[rows.to(self.data.t.device)] if self.data.paired else None
        errors = evaluate(self.model, self.data.x[rows.to(self.data.x.device)], targets,
                          batch_size=max(self.batch_size, 256), device=self.device, amp=self.amp)
        return float(errors.mean()), errors

    def step(self, index: np.ndarray) -> tuple[float, dict[str, float]]:
        """One optimiser step on the training rows ``index``; returns the loss and its parts."""
        import torch

        rows = self.data.rows(self.train_idx[index])
        x = self.data.x[rows].to(self.device, non_blocking=True)
        t = self.data.t[rows].to(self.device, non_blocking=True) if self.data.paired else x
        self.optimizer.zero_grad(set_to_none=True)
        with autocast(self.device, self.amp):
            loss, parts = _step_loss(self.model, x, t, self.regularizer, self.reg_weight, self.generator,
                                     self.config.corruption)
        self.scaler.scale(loss).backward()
        if self.config.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.params, self.config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach()), parts

    def out_of_time(self) -> bool:
        limit = self.config.max_seconds
        return limit is not None and time.perf_counter() - self.started > limit

    def epoch(self) -> tuple[dict[str, float], bool]:
        """One pass over the training rows: mean loss (``"train_loss"``) and parts; and whether time ran out."""
        total, count = 0.0, 0
        parts_sum: dict[str, float] = {}
        out_of_time = False
        for index in _batches(len(self.train_idx), self.batch_size, self.rng):
            loss, parts = self.step(index)
            let_others()  # a load beside this fit waits for a step, not for the fit
            total += loss * len(index)
            count += len(index)
            for key, value in parts.items():
                parts_sum[key] = parts_sum.get(key, 0.0) + value * len(index)
            if self.out_of_time():
                out_of_time = True
                break
        means = {"train_loss": total / max(count, 1), **{k: v / max(count, 1) for k, v in parts_sum.items()}}
        return means, out_of_time

    def epoch_fitting_memory(self) -> tuple[dict[str, float], bool]:
        """:meth:`epoch`, halving the batch and starting the epoch again while CUDA runs out of memory."""
        import torch

        while True:
            try:
                return self.epoch()
            except torch.cuda.OutOfMemoryError:
                self.optimizer.zero_grad(set_to_none=True)
                torch.cuda.empty_cache()
                if self.batch_size == 1:
                    raise RuntimeError("out of GPU memory even with batch size 1; train on the CPU") from None
                self.batch_size = max(1, self.batch_size // 2)


def _start(model: Any, windows: np.ndarray, targets: np.ndarray | None, config: TrainConfig) -> _Run:
    """Seed, split, place the data and build the optimiser."""
    import torch

    from tsae.models.device import resolve_device

    device = resolve_device(config.device)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(int(config.seed))
    torch.manual_seed(int(config.seed))
    val_idx, train_idx = _split(len(windows), config.val_fraction, rng)
    batch_size = fit_batch_size(config.batch_size, windows.shape[1:], config.max_batch_bytes, device)
    data = _Data.place(windows, targets, device)
    model = model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{_family_label(model)}: has no trainable parameters (its __init__ creates no layer with "
                         "weights, so there is nothing to train)")
    use_amp = bool(config.amp and device.type == "cuda")
    settings = getattr(model, "config", {})
    return _Run(
        model=model, data=data, config=config, device=device, amp=use_amp, batch_size=batch_size,
        optimizer=torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay),
        scaler=torch.amp.GradScaler("cuda", enabled=use_amp), params=params,
        regularizer=str(settings.get("regularizer", "none")), reg_weight=float(settings.get("reg_weight", 0.0)),
        generator=generator, rng=rng, train_idx=train_idx, val_idx=val_idx, started=time.perf_counter(),
    )


@dataclass
class _Best:
    """What the epoch loop leaves: the history and the best validation epoch."""

    history: list[dict[str, float]]
    loss: float
    epoch: int
    state: dict[str, Any]
    stopped: str


def _fit_epochs(run: _Run, callback: Callable[[dict[str, float]], None] | None) -> _Best:
    """The epoch loop with early stopping on the validation loss."""
    from tqdm.auto import tqdm

    config, model = run.config, run.model
    history: list[dict[str, float]] = []
    best_loss, best_epoch = math.inf, 0
    best_state = copy.deepcopy(model.state_dict())
    stale, stopped = 0, "epochs"
    bar = tqdm(total=config.epochs, desc=f"train {getattr(model, 'name', '')}", unit="epoch",
               disable=config.quiet or not stderr_is_terminal(), leave=False)
    contractive = run.regularizer == "contractive"
    double_backward = _double_backward_safe(run.device) if contractive else contextlib.nullcontext()
    with _deterministic(config.deterministic and run.device.type == "cpu"), double_backward, bar:
        for epoch in range(1, config.epochs + 1):
            model.train()
            try:
                means, out_of_time = run.epoch_fitting_memory()
                end_epoch = getattr(model, "end_epoch", None)
                if callable(end_epoch):
                    means.update(end_epoch())
                current, _ = run.validate()
                if not math.isfinite(current):  # the last step's update blew the weights up
                    raise TrainingDiverged(_family_label(model), f"validation loss is {current} after epoch {epoch}")
            except TrainingDiverged as error:
                if not history:  # no epoch finished well: no model worth keeping
                    raise
                # a long run is not lost to one late blow-up: the best epoch so far is the result
                warnings.warn(f"{error.family}: training diverged in epoch {epoch} ({error.what}); stopped and kept "
                              f"epoch {best_epoch}'s weights (validation loss {best_loss:.4g}); a lower learning "
                              "rate may do better", DivergenceWarning, stacklevel=3)
                stopped = "diverged"
                break
            train_loss = means.pop("train_loss")
            row = {"epoch": epoch, "train_loss": train_loss, "val_loss": current,
                   "seconds": time.perf_counter() - run.started, **means}
            history.append(row)
            if current < best_loss * (1 - config.min_delta) or not math.isfinite(best_loss):
                best_loss, best_epoch, stale = current, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
            if callback is not None:  # after the copy: what a callback does to the weights is not the best epoch's
                callback(row)
            bar.update(1)
            bar.set_postfix(train=f"{train_loss:.4g}", val=f"{current:.4g}", best=f"{best_loss:.4g}")
            if out_of_time:
                stopped = "max_seconds"
                break
            if stale >= config.patience:
                stopped = "early_stopping"
                break
    return _Best(history, best_loss, best_epoch, best_state, stopped)


@float32_default()
@grad_enabled()
def train_model(
    model: Any,
    windows: np.ndarray,
    config: TrainConfig | None = None,
    targets: np.ndarray | None = None,
    *,
    callback: Callable[[dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train ``model`` on ``windows`` with early stopping; returns the best-validation model.

    Parameters
    ----------
    model
        An :class:`~tsae.models.base.Autoencoder` whose ``(channels, window)`` match the windows.
    windows
        Float array ``(N, channels, window)``, normalised.
    config
        :class:`TrainConfig` (defaults when None).
    targets
        Optional clean targets of the same shape (paired denoising); the windows are the inputs.
    callback
        Called with each epoch's history row.

    Returns
    -------
    TrainResult
        ``model`` with the best validation weights (eval mode), the per-epoch ``history``,
        ``best_val_loss``, per-window validation errors ``val_errors`` (MSE) and the split.

    Raises
    ------
    ValueError
        If the windows have the wrong shape, contain NaN/inf, or are empty.
    TrainingDiverged
        A ``RuntimeError``: the training diverged (a training loss or the validation loss went NaN
        or infinite) before any epoch had finished well.

    Warns
    -----
    DivergenceWarning
        It diverged after good epochs: it stopped there (``stopped == "diverged"``) and the
        model comes back with the best epoch's weights, as after early stopping.
    """
    config = config or TrainConfig()
    windows, targets = _checked_arrays(model, windows, targets)
    run = _start(model, windows, targets, config)
    best = _fit_epochs(run, callback)
    run.model.load_state_dict(best.state)
    run.model.eval()
    _, errors = run.validate()
    return TrainResult(
        model=run.model,
        history=best.history,
        best_val_loss=float(best.loss),
        best_epoch=best.epoch,
        val_errors=errors,
        val_indices=run.val_idx,
        train_indices=run.train_idx,
        epochs_run=len(best.history),
        stopped=best.stopped,
        seconds=time.perf_counter() - run.started,
        device=str(run.device),
        batch_size=run.batch_size,
        config=asdict(config),
    )


__all__ = ["TrainConfig", "TrainResult", "TrainingDiverged", "DivergenceWarning",
           "train_model", "evaluate", "seed_everything", "seeded", "check_seed", "fit_batch_size", "batch_memory",
           "contractive_penalty", "default_training_loss"]
