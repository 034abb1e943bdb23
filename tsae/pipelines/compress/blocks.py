"""One block of a series to a :class:`~tsae.pipelines.compress.container.Block` and back.

A block holds the model's integer codes (``codes``, one column per window), with an
error bound the grid residual (``residual``: the sample's grid index minus the grid
index of the model's prediction, so a good model leaves mostly zeros, or a first
difference, as ``predictor`` says per channel: see :mod:`.residual`), and the
non-finite samples (``nonfinite`` positions, ``special`` kinds); ``whole`` marks the
channels of whole numbers under a bound below 0.5, which are rounded after reconstruction
(so they come back exactly: see :func:`~.quantise.whole_channels`). ``check`` is the
CRC-32 of the grid indices: the decompressor recomputes them from its own prediction
and refuses to return values that differ from the ones checked against the bound.
"""
from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable

import numpy as np

from tsae.engine.preprocess import repair_missing
from tsae.errors import first_line
from tsae.pipelines.compress.codes import CodeModel, DeferredCodeModel, NoModel
from tsae.pipelines.compress.container import Block, Pack, section_size
from tsae.pipelines.compress.container import encode_block as encode_payload
from tsae.pipelines.compress.entropy import ADAPTIVE, ADAPTIVE_PRUNE, CODERS, Packed, adaptive_rough_size, rough_size
from tsae.pipelines.compress.quantise import (
    from_grid,
    latent_step,
    quantise_latents,
    restore_nonfinite,
    round_whole,
    split_nonfinite,
    to_grid,
)
from tsae.pipelines.compress.residual import (
    INLOOP,
    LINEAR,
    PRUNE_FACTOR,
    USES_TAPS,
    code_residual,
    decode_residual,
    grid_scales,
)

#: the bytes a block's latent step takes
_STEP_BYTES = 8
#: arrays of at most this many values are costed raw
_FEW = 8
_RAW = CODERS.index("raw")


def _stored_size(ints: np.ndarray, coder: int, pack: Pack) -> int:
    """The bytes ``ints`` take as a section; a few values are costed raw, as they are stored (without spending a
    coder's start-up, which is most of the encoding time of four blend coefficients, on them)."""
    return section_size("residual", ints, _RAW if ints.size <= _FEW else coder, pack)


def _check(q: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(q, dtype="<i8").tobytes())


def fill_missing(x: np.ndarray) -> np.ndarray:
    """``x`` with its non-finite samples repaired (linear), as the model sees them."""
    finite = np.isfinite(x)
    return x if finite.all() else repair_missing(np.where(finite, x, np.nan))


def _prediction_codes(model: CodeModel, codes: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """(stored int codes (D, N), the codes the decoder takes)."""
    if model.vq:
        return codes.T, codes
    ints = quantise_latents(codes, step)
    return ints.reshape(len(ints), -1).T, ints * step


class Prediction:
    """The network's half of coding a block (:func:`predict_block`): what :func:`code_block` codes against.

    The decoder's prediction (:attr:`values`) is computed when first asked for, unless it was computed at once
    (``values`` given): a block that leaves its codes out (its codes cost more than coding it without the model
    does) never needs it. :attr:`needed` says whether it was asked for.
    """

    def __init__(self, x: np.ndarray, filled: np.ndarray, stored: np.ndarray | None, step: float,
                 decode: Callable[[], np.ndarray], values: np.ndarray | None = None) -> None:
        #: the block (C, m)
        self.x = x
        #: ``x`` with its non-finite samples repaired, as the model saw it
        self.filled = filled
        #: the int codes to store (D, N); None without a model (:func:`no_prediction`)
        self.stored = stored
        #: the latent step (0 for codebook indices)
        self.step = step
        self._decode = decode
        self._values = values
        #: whether :attr:`values` was asked for
        self.needed = False

    @property
    def values(self) -> np.ndarray:
        """The decoder's float64 prediction of ``x`` (C, m)."""
        self.needed = True
        if self._values is None:
            self._values = self._decode()
        return self._values


def block_codes(model: CodeModel, x: np.ndarray) -> np.ndarray:
    """The codes ``model.encode`` gives the block ``x`` (C, m) (its non-finite samples repaired first)."""
    return model.encode(model.frames(fill_missing(x)))


def predict_block(model: CodeModel, x: np.ndarray, relative_step: float, codes: np.ndarray | None = None,
                  decode: bool = True) -> Prediction:
    """Quantise the codes of the block ``x`` (``codes``, when the caller has them) and, with ``decode``, decode them
    (else when :func:`code_block` asks for the prediction): the torch half of :func:`encode_block`, which a worker
    thread may run while another block's residual is coded."""
    filled = fill_missing(x)
    if codes is None:
        codes = model.encode(model.frames(filled))
    step = 0.0 if model.vq else latent_step(codes, relative_step)
    stored, decoder_input = _prediction_codes(model, codes, step)
    shape, samples = codes.shape, x.shape[1]
    prediction = functools.partial(model.decode, decoder_input.reshape(shape), samples)
    return Prediction(x, filled, stored, step, prediction, prediction() if decode else None)


def no_prediction(x: np.ndarray) -> Prediction:
    """The :class:`Prediction` of the block ``x`` (C, m) without a model: no codes, and zeros, which
    :func:`code_block` never asks for (the residual coder's own predictors code every channel)."""
    return Prediction(x, fill_missing(x), None, 0.0, functools.partial(np.zeros, x.shape))


def encode_block(model: CodeModel, x: np.ndarray, steps: np.ndarray | None, relative_step: float, coder: int,
                 codes: np.ndarray | None = None, whole: np.ndarray | None = None) -> tuple[Block, np.ndarray]:
    """Code the block ``x`` (C, m); returns the block and the values the decompressor will return.

    Parameters
    ----------
    model
        The predictor.
    x
        float64 block; NaN and +-inf are kept exactly.
    steps
        Grid step per channel (``None``: no bound, the prediction is the output).
    relative_step
        Latent quantisation step as a fraction of the block's latent spread (uniform codes).
    coder
        The entropy coder's id (the residual coding of each channel is chosen by coded size).
    codes
        The block's codes from ``model.encode``, when the caller already has them.
    whole
        Channels (C,) bool to round after reconstruction (:func:`~.quantise.whole_channels`; with ``steps``).
    """
    block, y, _ = code_block(predict_block(model, x, relative_step, codes), steps, coder, whole)
    return block, y


def code_block(prediction: Prediction, steps: np.ndarray | None, coder: int, whole: np.ndarray | None = None,
               pack: Packed | None = None) -> tuple[Block, np.ndarray, bytes]:
    """The residual half of :func:`encode_block` (no torch): the block coded against ``prediction``, the values
    the decompressor will return, and the block's payload (its arrays coded once: the candidates are measured
    with :meth:`~.entropy.Packed.measure`, and a stream the byte-plane coders costed is not coded again).
    ``pack``: the coder of arrays to use (it remembers them), so that the same block coded against several
    predictions codes the streams they share once; ``None``: a new one."""
    pack = Packed() if pack is None else pack
    x, filled, stored, step = prediction.x, prediction.filled, prediction.stored, prediction.step
    finite = np.isfinite(x)
    arrays = {} if stored is None else {"codes": stored}
    check = 0
    if steps is None:
        y = prediction.values
    else:
        p = functools.cache(lambda: to_grid(prediction.values, steps))
        q = to_grid(filled, steps)
        if not finite.all():
            q = np.where(finite, q, p())
        # the candidates are measured (the adaptive coder's exact sizes without range coding); the arrays written
        # are coded by encode_payload
        size = lambda ints: _stored_size(ints, coder, pack.measure)  # noqa: E731
        # leaving the codes out saves their section and the latent step (stored when it is not 0)
        # without a model (no codes) the model's half is never tried: no cost is above an infinite one
        codes_cost = math.inf if stored is None else (section_size("codes", stored, coder, pack.measure)
                                                      + (_STEP_BYTES if step else 0))
        # a raw coder's sizes cost nothing to find: no estimate spares them
        rough = {_RAW: None, ADAPTIVE: adaptive_rough_size}.get(coder, rough_size)
        prune = ADAPTIVE_PRUNE if coder == ADAPTIVE else PRUNE_FACTOR
        # the taps and interpolation modes only with the adaptive coder: a container of a byte-plane coder stays
        # readable by the tsae releases before those modes (which refuse the adaptive coder anyway)
        arrays["residual"], arrays["predictor"], coefs, taps, uses_model = code_residual(
            q, p, size, codes_cost, rough, prune, taps=coder == ADAPTIVE, fine=(filled, steps))
        inloop = arrays["predictor"] == INLOOP
        if inloop.any():  # those channels' values are the in-loop decoded fine-grid values
            q = q.copy()
            q[inloop] = decode_residual(arrays["residual"][inloop], arrays["predictor"][inloop],
                                        np.zeros_like(q[inloop]), None, taps[inloop])
        if (arrays["predictor"] == LINEAR).any():
            arrays["coefficients"] = coefs
        if np.isin(arrays["predictor"], USES_TAPS).any():
            arrays["taps"] = taps
        if not uses_model:
            arrays.pop("codes", None)
            step = 0.0  # nothing to scale: a step of 0 is not stored
        check = _check(q)
        y = from_grid(q, grid_scales(steps, arrays["predictor"]))
        if whole is not None and whole.any():
            arrays["whole"] = whole.astype(np.int64)
            y = round_whole(y, arrays["whole"], steps)
    if not finite.all():
        arrays["nonfinite"], arrays["special"] = split_nonfinite(x)
        y = restore_nonfinite(np.ascontiguousarray(y), arrays["nonfinite"], arrays["special"])
    block = Block(samples=x.shape[1], latent_step=step, check=check, arrays=arrays)
    return block, y, encode_payload(block, coder, pack)


def _prediction(model: CodeModel, block: Block, code_shape: tuple[int, ...]) -> np.ndarray | None:
    stored = block.arrays.get("codes")
    if stored is None:
        return None
    if stored.ndim != 2:
        raise ValueError("malformed codes")
    stored = stored.T
    n_windows = -(-block.samples // model.window)
    if len(stored) != n_windows:
        raise ValueError(f"block has codes for {len(stored)} windows, expected {n_windows}")
    if stored.shape[1] != math.prod(code_shape):
        raise ValueError(f"block has {stored.shape[1]} code values per window, the model takes {math.prod(code_shape)}")
    if model.vq:
        if stored.size and stored.min() < 0:
            raise ValueError("codes outside the model's codebook (negative indices)")
        codes = stored
    else:
        if not math.isfinite(block.latent_step):
            raise ValueError(f"malformed latent step {block.latent_step}")
        codes = (stored * block.latent_step).reshape(n_windows, *code_shape)
    try:
        return model.decode(codes, block.samples)
    except (IndexError, RuntimeError) as error:  # an index beyond the codebook: torch's error, not the file's
        raise ValueError(f"codes the model cannot decode (outside its codebook?): {first_line(error)}") from None


def decode_block(model: CodeModel | DeferredCodeModel | NoModel, block: Block, steps: np.ndarray | None,
                 code_shape: tuple[int, ...]) -> np.ndarray:
    """The values ``(C, samples)`` of a block; ``ValueError`` when it is inconsistent or fails its check. A deferred
    model is loaded only for a block with codes; a block with codes in a container without a model is refused."""
    arrays = block.arrays
    if isinstance(model, NoModel) and "codes" in arrays:
        raise ValueError("block has codes, but the container was written without a model")
    if isinstance(model, DeferredCodeModel) and "codes" in arrays:
        model = model.model
    prediction = _prediction(model, block, code_shape) if isinstance(model, CodeModel) else None
    if steps is None:
        if prediction is None:
            raise ValueError("block has no codes")
        y = prediction
    else:
        if "residual" not in arrays or "predictor" not in arrays:
            raise ValueError("block has no residual")
        p = np.zeros((model.channels, block.samples), np.int64) if prediction is None else to_grid(prediction, steps)
        q = decode_residual(arrays["residual"], arrays["predictor"], p, arrays.get("coefficients"), arrays.get("taps"))
        if q.shape != (model.channels, block.samples) or _check(q) != block.check:
            raise ValueError("decoded values differ from the ones checked against the error bound at compression "
                             "(a different model, or torch computing differently here)")
        y = from_grid(q, grid_scales(steps, arrays["predictor"]))
        if "whole" in arrays:
            y = round_whole(y, arrays["whole"], steps)
    if "nonfinite" in arrays:
        y = restore_nonfinite(np.ascontiguousarray(y), arrays["nonfinite"], arrays.get("special", np.zeros(0, int)))
    return y


__all__ = ["encode_block", "decode_block", "fill_missing", "Prediction", "block_codes", "predict_block",
           "code_block", "no_prediction"]
