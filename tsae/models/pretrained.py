"""Start a new network from a pretrained model's encoder (``tsae train --init``, ``tsae detect fit --init``).

A family names the top-level modules that make up its encoder in
``Autoencoder.encoder_modules``; :func:`init_encoder` copies exactly those weights
from a model of the same family after checking that every one of them exists in the
new network with the same shape. :func:`init_settings` gives the family, window and
hyper-parameters a new network must have to take them.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

#: hyper-parameters that describe the data rather than the network
_DATA_KEYS = ("channels", "window")


def load_init(path: str | os.PathLike) -> Any:
    """Load the pretrained model file ``path`` (a :class:`~tsae.models.modelfile.LoadedModel`) on the CPU."""
    from tsae.models.modelfile import load_model

    return load_model(path, device="cpu")


def init_window(path: str | os.PathLike) -> int | None:
    """The window a network that starts from the model file ``path`` takes when it is given none (its frame's),
    read from the file's header alone (no tensor); None when it names none.

    Raises
    ------
    ValueError
        The file is missing, broken or no tsae model (one line naming it).
    """
    from tsae.models.modelfile import read_model_header

    window = (read_model_header(path).get("frame") or {}).get("window")
    return None if window is None else int(window)


def init_settings(source: Any, family: str | None, window: int | None,
                  params: Mapping[str, Any] | None) -> tuple[str, int | None, dict[str, Any]]:
    """Family, window and hyper-parameters of a network that takes ``source``'s encoder.

    The given values win; missing ones (None) come from ``source`` (a loaded model file).
    A ``family`` other than the source's, or a source without encoder weights (a denoiser told as one), is an error.
    """
    label = source.path or "initial model"
    network = getattr(source, "model", source)
    _refuse_denoiser(label, source.family, network)  # before the family: "not conv1d" would not say what it is
    if family is not None and family != source.family:
        raise ValueError(f"{label}: is a {source.family} model, not {family}")
    if not encoder_state(network):  # told before the data is read (a family without one)
        raise ValueError(f"{label}: the {source.family} family declares no encoder weights to start from")
    spec = source.frame or {}
    stored = {k: v for k, v in source.hparams.items() if k not in _DATA_KEYS}
    return (family or source.family, window if window is not None else spec.get("window"),
            {**stored, **dict(params or {})})


def _refuse_denoiser(label: str, family: str, network: Any) -> None:
    """A streaming denoiser without encoder weights (the shipped ``denoiser``, ``denoiser2``) as the source, told
    as such: it runs frame by frame on features of its own, and "declares no encoder weights" did not say so."""
    from tsae.models.base import is_streaming_model

    if is_streaming_model(network) and not encoder_state(network):
        raise ValueError(f"{label}: is a denoiser (the {family!r} family, for tsae denoise), not a series model or a "
                         "detector: it has no encoder to start from (init takes a model that tsae train wrote from "
                         "series, or a detector)")


def encoder_state(model: Any) -> dict[str, Any]:
    """The entries of ``model.state_dict()`` that belong to its encoder modules."""
    prefixes = set(getattr(model, "encoder_modules", ()))
    return {key: value for key, value in model.state_dict().items() if key.split(".", 1)[0] in prefixes}


def init_encoder(model: Any, source: Any, label: str = "initial model") -> int:
    """Copy the encoder weights of ``source`` into ``model`` (in place); returns how many tensors.

    Parameters
    ----------
    model
        The new :class:`~tsae.models.base.Autoencoder`.
    source
        A loaded model file or an :class:`~tsae.models.base.Autoencoder` of the same family.
    label
        How errors name the source (its file name).

    Raises
    ------
    ValueError
        One line naming ``label``, when the families differ, the source has no encoder
        weights (a denoiser told as one), or an encoder weight is missing or has another shape in ``model``.
    """
    import torch

    network = getattr(source, "model", source)
    _refuse_denoiser(label, network.name, network)
    if network.name != model.name:
        raise ValueError(f"{label}: is a {network.name} model, not {model.name}")
    weights = encoder_state(network)
    if not weights:
        raise ValueError(f"{label}: the {network.name} family declares no encoder weights to start from")
    target = encoder_state(model)
    shape = f"(trained on {network.channels} channel(s) x {network.window} samples, " \
            f"now {model.channels} x {model.window})"
    for key in sorted(set(weights) | set(target)):
        if key not in target or key not in weights:
            raise ValueError(f"{label}: encoder weight {key} is only in the {'old' if key in weights else 'new'} "
                             f"network (different hyper-parameters?) {shape}")
        if weights[key].shape != target[key].shape:
            raise ValueError(f"{label}: encoder weight {key} has shape {tuple(weights[key].shape)} but the new "
                             f"network needs {tuple(target[key].shape)} {shape}")
    with torch.no_grad():
        for key, value in weights.items():
            target[key].copy_(value)
    return len(weights)


__all__ = ["load_init", "init_settings", "encoder_state", "init_encoder"]
