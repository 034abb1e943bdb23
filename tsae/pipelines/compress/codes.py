"""A trained autoencoder seen as a predictor: series blocks to integer codes, integer codes to a prediction.

The series is cut into non-overlapping windows of the model's length (the stored hop
and taper are for reconstruction, not for coding: every sample is coded once),
normalised with the model's stored statistics. A model with ``code_indices`` /
``decode_indices`` (a VQ-VAE) gives codebook indices; any other gives ``encode``
latents, quantised uniformly with one step per block. The prediction is decoded by a
float64 copy of the network on the CPU, on one thread, so that the compressor and the
decompressor compute the same values.
"""
from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.framing import frame
from tsae.engine.preprocess import Normalizer

_FLOAT32_MAX = float(np.finfo(np.float32).max)


class CodeModel:
    """Encode blocks of a series to integer codes and decode codes to a prediction of the block.

    Parameters
    ----------
    loaded
        A :class:`~tsae.models.modelfile.LoadedModel` (its network, window, channels, normaliser).
    """

    def __init__(self, loaded: Any) -> None:
        import torch

        self.loaded = loaded
        self.channels = int(loaded.channels)
        self.window = int(loaded.window)
        self.normalizer = Normalizer.from_dict(loaded.normalizer) if loaded.normalizer else None
        self.vq = callable(getattr(loaded.model, "code_indices", None)) and callable(
            getattr(loaded.model, "decode_indices", None))
        self._decoder = copy.deepcopy(loaded.model).to("cpu", torch.float64).eval()

    @functools.cached_property
    def code_shape(self) -> tuple[int, ...]:
        """The shape of one window's codes (what :meth:`encode` gives per window)."""
        return tuple(int(n) for n in self.encode(np.zeros((1, self.channels, self.window), np.float32)).shape[1:])

    @property
    def kind(self) -> str:
        """``"vq"`` (codebook indices) or ``"uniform"`` (uniformly quantised latents)."""
        return "vq" if self.vq else "uniform"

    def frames(self, x: np.ndarray) -> np.ndarray:
        """Normalise finite ``x`` (C, m) and cut it into ``(n_windows, C, window)`` float32 (end zero-padded).

        Normalised values beyond float32 are clipped to its range (the model predicts them badly,
        the residual keeps the bound).
        """
        with np.errstate(over="ignore", invalid="ignore"):
            xn = self.normalizer.transform(x) if self.normalizer is not None else x
            xn = np.clip(np.asarray(xn, dtype=np.float64), -_FLOAT32_MAX, _FLOAT32_MAX)
        framed = frame(xn.astype(np.float32), self.window, self.window, None, pad=True)
        return np.ascontiguousarray(np.swapaxes(framed, 0, 1))

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """Codes of ``frames``: int64 indices ``(N, L)`` for a VQ model, float latents ``(N, ...)`` otherwise."""
        import torch

        from tsae.models.inference import forward, model_device

        model = self.loaded.model
        if not self.vq:
            return np.asarray(forward(model, frames, encode=True), dtype=np.float64)
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                x = torch.from_numpy(frames).to(model_device(model))
                return np.asarray(model.code_indices(x).cpu().numpy(), dtype=np.int64).reshape(len(frames), -1)
        finally:
            model.train(was_training)

    def decode(self, codes: np.ndarray, samples: int) -> np.ndarray:
        """The prediction ``(C, samples)`` float64, in the input's units, from codes (indices or latents)."""
        import torch

        from tsae.models.device import torch_threads

        with torch_threads(1), torch.inference_mode():
            if self.vq:
                out = self._decoder.decode_indices(torch.from_numpy(np.asarray(codes, dtype=np.int64)))
            else:
                out = self._decoder.decode(torch.from_numpy(np.asarray(codes, dtype=np.float64)))
            windows = out.numpy().astype(np.float64)  # (N, C, W)
        y = np.swapaxes(windows, 0, 1).reshape(self.channels, -1)[:, :samples]
        return np.asarray(self.normalizer.inverse_transform(y), dtype=np.float64) if self.normalizer else y


#: the samples of a container's "window" without a model: blocks are whole numbers of them (``block_windows``)
NO_MODEL_WINDOW = 64
#: what a container's header ``codes`` says when it was written without a model
NO_CODES = "none"


class NoModel:
    """No network: the predictor of a container written without a model (its header's ``codes`` is
    :data:`NO_CODES`). Every block is coded by the residual coder's own predictors (differencing, linear prediction,
    interpolation; :mod:`.residual`) against a prediction of zeros, and stores no codes; neither side imports torch.

    Parameters
    ----------
    channels
        The series' channel count.
    window
        The samples of a block's unit (a block holds ``block_windows`` of them).
    """

    kind = NO_CODES
    vq = False
    code_shape: tuple[int, ...] = ()

    def __init__(self, channels: int, window: int = NO_MODEL_WINDOW) -> None:
        self.channels = int(channels)
        self.window = int(window)


class DeferredCodeModel:
    """The :class:`CodeModel` of a model file, loaded (torch and the plugins imported, the network built) when a
    block first needs its network: a container whose blocks all left their codes out (the coder's own predictors
    did better) decodes without it, in a fraction of the time.

    ``channels`` and ``window`` come from the file's header at once; when it does not give them as positive
    integers the model is loaded at once, so that :func:`~tsae.models.modelfile.load_model` says what is wrong.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        from tsae.models.modelfile import read_model_header

        self.path = Path(path)
        hparams = read_model_header(self.path).get("hparams")
        sizes = [hparams.get(key) if isinstance(hparams, dict) else None for key in ("channels", "window")]
        if all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes):
            self.channels, self.window = int(sizes[0] or 0), int(sizes[1] or 0)
        else:  # loading says what is wrong with the file
            self.channels, self.window = self.model.channels, self.model.window

    @functools.cached_property
    def model(self) -> CodeModel:
        """The model, loaded on the CPU."""
        from tsae.models.modelfile import load_model

        return CodeModel(load_model(self.path, device="cpu"))


__all__ = ["CodeModel", "DeferredCodeModel", "NoModel", "NO_MODEL_WINDOW", "NO_CODES"]
