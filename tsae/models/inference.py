"""The one batched, gradient-free forward pass through a model.

Every caller that runs a trained network over many windows (the trainer's validation
errors, series reconstruction and encoding, the anomaly detector and its scoring core)
goes through :func:`forward`: batches of ``batch_size`` windows are moved to the
model's device (in ``dtype`` when given), run in eval mode under ``torch.inference_mode``, and the
outputs (or a per-batch reduction of them) come back as one numpy array.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from tsae.errors import shown
from tsae.models.device import float32_default

if TYPE_CHECKING:
    import torch  # imported lazily at run time: `import tsae` must not load torch


def autocast(device: Any, amp: bool) -> Any:
    """float16 autocast on CUDA when ``amp`` is true, else a no-op context."""
    import torch

    if amp and getattr(device, "type", "cpu") == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def model_device(model: Any) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without any)."""
    import torch

    return next(iter(model.parameters()), torch.zeros(0)).device


@float32_default()
def forward(
    model: Any,
    inputs: Any,
    *,
    batch_size: int = 256,
    device: Any = None,
    dtype: Any = None,
    encode: bool = False,
    amp: bool = False,
    reduce: Callable[[Any, slice], Any] | None = None,
) -> np.ndarray:
    """Run ``model`` over ``inputs`` in batches, without gradients, and return numpy outputs.

    Parameters
    ----------
    model
        A torch module (an :class:`~tsae.models.base.Autoencoder`); it is put in eval mode
        for the call and its previous mode is restored afterwards.
    inputs
        Array or tensor ``(N, ...)``: the windows (numpy arrays keep their dtype).
    batch_size
        Windows per forward call.
    device
        Where the batches run; default: the model's device.
    dtype
        Torch dtype the batches are cast to (default: keep the inputs' dtype).
    encode
        Return the latent codes (``model.encode``) instead of the reconstructions.
    amp
        float16 autocast on CUDA.
    reduce
        Optional ``reduce(output, rows)`` applied to each batch's output on the device
        (``rows`` is the batch's slice of ``inputs``), e.g. a per-window error; its result
        is what comes back.

    Returns
    -------
    np.ndarray
        The per-batch results concatenated along the first axis (float32 outputs stay
        float32); ``(0,)`` float32 for no inputs.
    """
    import torch

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {shown(batch_size)}")
    device = model_device(model) if device is None else device
    data = inputs if torch.is_tensor(inputs) else torch.from_numpy(np.asarray(inputs))
    outputs = []
    was_training = model.training
    if was_training:
        model.eval()
    run = model.encode if encode else model
    mixed = autocast(device, amp)
    whole = len(data) <= batch_size  # one batch (the streaming monitor's case): no slicing
    try:
        with torch.inference_mode():
            for start in range(0, len(data), batch_size):
                rows = slice(start, start + batch_size)
                x = (data if whole else data[rows]).to(device, dtype, non_blocking=True)
                with mixed:
                    y = run(x)
                if reduce is not None:
                    y = reduce(y, rows)
                outputs.append(y.cpu().numpy())
    finally:
        if was_training:
            model.train()
    if len(outputs) == 1:
        return outputs[0]
    if not outputs:
        return np.zeros((0,), dtype=np.float32)
    return np.concatenate(outputs, axis=0)


__all__ = ["forward", "autocast", "model_device"]
