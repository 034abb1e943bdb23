"""Uniform quantisers: the error-bound grid of the samples, the latent step, and non-finite positions.

With a bound ``E`` the samples are put on a grid of step ``s`` a hair under ``2E``:
``q = round(x / s)``, reconstructed as ``q * s``, so ``|x - q s| <= s / 2 < E`` (the
hair covers float64 rounding of ``q * s``; :func:`check_magnitude` refuses values so
large that the product could not be exact enough). Non-finite samples (NaN, +-inf)
are kept exactly as a list of positions and kinds. A channel of whole numbers under a
bound below 0.5 is rounded after reconstruction, which gives its values back exactly.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsae.errors import channel_named

#: the grid step is 2E shrunk by this factor, so float64 rounding of q * s never crosses E
_SHRINK = 1.0 - 2.0**-20
#: largest |x| / E for which q * s is exact to well within the shrink margin
MAX_DYNAMIC_RANGE = 2.0**32
#: largest |x| kept under a bound: q * s, within s / 2 of x, stays finite (bounds are at most 2**1000)
MAX_VALUE = float(np.finfo(np.float64).max) / 2
#: non-finite kinds, by stored code
_SPECIAL = (np.nan, np.inf, -np.inf)
#: under a bound below this, the nearest integer to a whole number's reconstruction is that number
WHOLE_BOUND = 0.5


def grid_steps(max_error: np.ndarray) -> np.ndarray:
    """The grid step of each channel for error bounds ``max_error`` (C,) > 0."""
    return 2.0 * np.asarray(max_error, dtype=np.float64) * _SHRINK


#: the step of the integer PCM sample formats (full scale 1), which a decompressed audio file is rounded to
_PCM_STEPS = {"PCM_S8": 2.0**-7, "PCM_U8": 2.0**-7, "PCM_16": 2.0**-15, "PCM_24": 2.0**-23, "PCM_32": 2.0**-31}


def audio_file_bounds(max_error: np.ndarray, subtype: str | None) -> np.ndarray:
    """The bounds (C,) to code an audio file's samples with, so that they are still within ``max_error`` (C,) once
    decompressed and written back in its sample format ``subtype``, rounded to its nearest step or level.

    Integer PCM of step ``q``: a bound of ``k`` steps and a fraction is coded as at most ``k + 0.49`` steps (the
    decoded sample rounds to at most ``k`` steps from the source's; under half a step, to the source's own).
    Mu-law and A-law: half the bound (the nearest level is no further from the decoded sample than the source's
    is), or the bound less half their widest step, or, under half their narrowest step, the bound itself (the
    source's level comes back), whichever is largest. Another subtype (float, a lossy codec): ``max_error``.
    """
    from tsae.io.audio_write import COMPANDED, companded_levels

    bounds = np.asarray(max_error, dtype=np.float64)
    sub = (subtype or "").upper()
    if sub in _PCM_STEPS:
        q = _PCM_STEPS[sub]
        return np.minimum(bounds, (np.floor(bounds / q) + 0.49) * q)
    if sub in COMPANDED:
        gaps = np.diff(companded_levels(sub).astype(np.float64))
        exact = np.where(bounds < 0.49 * gaps.min(), bounds, 0.0)
        return np.maximum.reduce([bounds / 2, bounds - gaps.max() / 2, exact])
    return bounds


def check_magnitude(x: np.ndarray, max_error: np.ndarray, names: Sequence[str] | None = None) -> None:
    """``ValueError`` when a finite value is too large for its channel's bound to be kept in float64
    (more than :data:`MAX_DYNAMIC_RANGE` bounds, or more than :data:`MAX_VALUE`); the message names the channel by
    its index, or as the column ``names[channel]`` (a table's)."""
    finite = np.where(np.isfinite(x), np.abs(x), 0.0)
    if finite.size == 0:
        return
    peak = finite.max(axis=-1)
    if (peak > MAX_VALUE).any():
        channel = int(np.argmax(peak))
        raise ValueError(f"values of magnitude {peak[channel]:g} in {channel_named(channel, names)} are too large "
                         f"for an error bound (at most {MAX_VALUE:.4g})")
    with np.errstate(over="ignore"):
        ratio = peak / max_error
    worst = int(np.argmax(ratio))
    if ratio[worst] > MAX_DYNAMIC_RANGE:
        raise ValueError(f"max_error {max_error[worst]:g} is too small for values of magnitude {peak[worst]:g} "
                         f"in {channel_named(worst, names)} (at most 2**32 steps of float64)")


def to_grid(x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Nearest grid index of every sample of ``x`` (C, m) finite: int64, clipped to +-2**40.

    Data values stay far inside (see :func:`check_magnitude`); the clip keeps a wild
    prediction from overflowing the integer arithmetic of the residual coding, and a
    NaN prediction (a network fed values beyond float32) is grid value 0.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return np.clip(np.nan_to_num(np.rint(x / steps[:, None]), nan=0.0), -(2.0**40), 2.0**40).astype(np.int64)


def from_grid(q: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Sample values of grid indices ``q`` (C, m)."""
    return q * steps[:, None]


def quantise_latents(z: np.ndarray, step: float) -> np.ndarray:
    """Uniform quantisation of latent codes with ``step``: int64 indices (NaN latents 0, the rest within +-2**52)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.clip(np.nan_to_num(np.rint(z / step), nan=0.0), -(2.0**52), 2.0**52).astype(np.int64)


#: latents are quantised to at most this many steps of their largest magnitude: a finer step gains nothing on the
#: network's float32 codes (24 bits), and stays far inside the +-2**52 clip of :func:`quantise_latents`
MAX_LATENT_STEPS = 2.0**40


def latent_step(z: np.ndarray, relative: float) -> float:
    """A latent quantisation step: ``relative`` times the spread (std) of ``z``, at least the largest finite
    ``|z|`` over :data:`MAX_LATENT_STEPS` (a step of 1e-300 put every code on the clip, so that they all
    decoded as nonsense); 1.0 for constant or non-finite codes, or where the product is not a finite number > 0.

    Examples
    --------
    >>> latent_step(np.array([-2.0, 0.0, 2.0]), 1e-300) == 2.0 / 2**40
    True
    """
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(np.std(z)) if z.size else 0.0
        finite = np.abs(z[np.isfinite(z)])
        least = float(finite.max()) / MAX_LATENT_STEPS if finite.size else 0.0
    step = max(relative * spread, least)
    return step if 0 < step < np.inf else 1.0


def whole_channels(x: np.ndarray, max_error: np.ndarray) -> np.ndarray:
    """Which channels of ``x`` (C, m) come back exactly by rounding: (C,) bool.

    Those whose bound is below :data:`WHOLE_BOUND` and whose finite values are all whole
    numbers that float64 holds exactly (magnitude below 2**53), with at least one: the rule
    by which tables write a column as integers (:func:`~tsae.io.tables.whole_numbers`).
    """
    from tsae.io.tables import whole_numbers

    return np.array([whole_numbers(row) for row in x], dtype=bool) & (np.asarray(max_error) < WHOLE_BOUND)


def round_whole(y: np.ndarray, flags: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Round the channels of ``y`` (C, m) that ``flags`` (C,) of 0/1 from :func:`whole_channels` marks (in place);
    returns ``y``. ``ValueError`` for flags that do not fit, or mark a channel whose grid step ``steps`` (C,) is too
    coarse for rounding to give its values back."""
    if flags.shape != (y.shape[0],) or not np.isin(flags, (0, 1)).all():
        raise ValueError("malformed whole-number channels")
    marked = flags.astype(bool)
    if (steps[marked] >= 2 * WHOLE_BOUND).any():
        raise ValueError("whole-number channels under a bound of 0.5 or more")
    y[marked] = np.rint(y[marked])
    return y


def split_nonfinite(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the non-finite samples of ``x`` are (delta-coded flat indices), and their kinds (0 NaN, 1 +inf, 2 -inf)."""
    flat = np.ravel(x)
    where = np.flatnonzero(~np.isfinite(flat))
    kinds = np.where(np.isnan(flat[where]), 0, np.where(flat[where] > 0, 1, 2)).astype(np.int64)
    return np.diff(where, prepend=-1).astype(np.int64), kinds


def restore_nonfinite(y: np.ndarray, deltas: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Put the non-finite samples recorded by :func:`split_nonfinite` back into ``y`` (in place); returns ``y``."""
    where = np.cumsum(deltas) - 1
    if len(where) != len(kinds) or (len(where) and (where.min() < 0 or where.max() >= y.size)):
        raise ValueError("non-finite positions outside the block")
    if kinds.size and (kinds.min() < 0 or kinds.max() >= len(_SPECIAL)):
        raise ValueError("unknown non-finite kind")
    y.reshape(-1)[where] = np.asarray(_SPECIAL)[kinds]
    return y


__all__ = ["audio_file_bounds", "grid_steps", "check_magnitude", "to_grid", "from_grid", "quantise_latents",
           "latent_step", "split_nonfinite", "restore_nonfinite", "whole_channels", "round_whole", "MAX_DYNAMIC_RANGE",
           "MAX_VALUE", "MAX_LATENT_STEPS", "WHOLE_BOUND"]
