"""Checks of the compressor's arguments: the error bound, the block size, the latent step, the model, the header.

Each refuses what would otherwise be taken loosely (``True`` as a bound of 1, ``"0.1"``
as a number) or fail deep inside (a bound whose grid step overflows to ``inf`` and
decompresses to NaN) with one line naming the argument.
"""
from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np

from tsae.engine.layout import is_number, is_whole_number
from tsae.errors import shown

#: the largest error bound (absolute): its grid step, 2 * bound, and the grid values stay finite
MAX_BOUND = 2.0**1000
#: the most values (channels x samples) one block the compressor writes holds: what a block costs in memory
MAX_BLOCK_VALUES = 1 << 24
#: the most values a block read may claim: containers written before blocks were capped (a large model at the
#: default 256 windows a block) stay readable, and a hostile header still cannot ask for more than this
MAX_READ_BLOCK_VALUES = 1 << 26
#: the most samples the block head's u32 can count
MAX_BLOCK_SAMPLES = (1 << 32) - 1


def check_max_error(max_error: Any, channels: int) -> np.ndarray | None:
    """``max_error`` as one float64 bound per channel (``(channels,)``), or ``None`` for no bound.

    A real number (not a bool or text), or one per channel, each finite, > 0 and at most
    :data:`MAX_BOUND`; anything else is a ``ValueError`` naming ``max_error``.
    """
    if max_error is None:
        return None
    values = list(np.ravel(np.asarray(max_error, dtype=object))) if not is_number(max_error) else [max_error]
    problem = None
    if not values or not all(is_number(v) for v in values) or np.ndim(max_error) > 1:
        problem = "a number or one number per channel"
    elif len(values) not in (1, channels):
        problem = f"one number or {channels} (one per channel), not {len(values)}"
    else:
        bounds = np.array([float(v) if abs(v) <= sys.float_info.max else math.inf for v in values], dtype=np.float64)
        if not (np.isfinite(bounds).all() and (bounds > 0).all() and (bounds <= MAX_BOUND).all()):
            problem = f"finite and > 0 (at most {MAX_BOUND:.4g})"
        else:
            return np.broadcast_to(bounds, (channels,)).copy()
    raise ValueError(f"max_error must be {problem}, got {shown(max_error)}")


def check_without_model(max_error: Any, latent_step: Any) -> None:
    """Refuse what compressing without a model cannot do: no ``max_error`` (the container would hold nothing: the
    codes alone are a model's), or a ``latent_step`` (there are no codes to quantise); ``ValueError``."""
    if max_error is None:
        raise ValueError("compressing without a model needs max_error (without a bound, a container holds a "
                         "model's codes alone)")
    if latent_step is not None:
        raise ValueError("latent_step needs a model (a container without one holds no codes)")


def check_block_windows(block_windows: Any, channels: int, window: int) -> int:
    """The model windows per block: ``block_windows`` (an int >= 1) made no larger than a block may be.

    A block holds at most :data:`MAX_BLOCK_VALUES` values (channels x samples, at least
    one window), so ``block_windows`` is lowered to fit; the result is what is stored.
    """
    if not is_whole_number(block_windows):
        raise ValueError(f"block_windows must be an integer >= 1, got {shown(block_windows)}")
    if block_windows < 1:
        raise ValueError(f"block_windows must be >= 1, got {block_windows}")
    fit = max(1, min(MAX_BLOCK_VALUES // (channels * window), MAX_BLOCK_SAMPLES // window))
    return int(min(int(block_windows), fit))


def block_values_limit(channels: int, window: int) -> int:
    """The most values (channels x samples) a block read may hold for a model of this shape: at least one window
    (:func:`check_block_windows` writes at most :data:`MAX_BLOCK_VALUES`)."""
    return max(MAX_READ_BLOCK_VALUES, channels * window)


def check_latent_step(latent_step: Any) -> float | None:
    """``latent_step`` as a float (finite, > 0), or ``None``; a ``ValueError`` naming it otherwise."""
    if latent_step is None:
        return None
    if not is_number(latent_step) or not 0 < latent_step < math.inf:
        raise ValueError(f"latent_step must be finite and > 0, got {shown(latent_step)}")
    return float(latent_step)


def check_header(header: Any) -> dict[str, Any]:
    """More header entries: a dict of JSON values (``None``: none)."""
    if header is None:
        return {}
    if not isinstance(header, dict) or not all(isinstance(key, str) for key in header):
        raise ValueError(f"header must be a dict with text keys, got {type(header).__name__}")
    try:
        json.dumps(header, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"header must hold JSON values only ({str(error).splitlines()[0]})") from None
    return header


__all__ = ["check_without_model", "check_max_error", "check_block_windows", "check_latent_step", "check_header",
           "block_values_limit", "MAX_BOUND", "MAX_BLOCK_VALUES", "MAX_BLOCK_SAMPLES"]
