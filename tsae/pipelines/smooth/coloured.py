"""Coloured noise (``smooth(noise="coloured")``): how wide a hole the blind spot leaves, and the noise's level.

The blind-spot loss measures the error to the signal only while the noise at a sample is independent of
what its prediction reads. Noise correlated over a few samples (AR(1) noise, a sensor's own low-pass
filter) is predictable from the adjacent samples: a one-sample blind spot learns to predict the noise too,
and the smoothing it chooses is far too light. Told that the noise is coloured, the prediction also leaves
out a *hole* of ``h`` samples on each side of the sample (as Noise2Void does for structured noise), ``h``
read from the series:

- ``W(L)``, the robust variance of the lag-``L`` second difference over 6, is the noise variance at every
  lag for white noise; for coloured noise it grows with ``L`` until the noise ``L`` samples away no longer
  follows the noise at the sample. The hole ends at the first lag where ``W`` grows by less than
  :data:`_GROWTH` (AR(1) noise of coefficient 0.7: 5 samples, 0.9: about 10). ``W`` is measured on the residual
  of a prediction that leaves a wide hole (:data:`_WIDE_HOLE`): on the series itself the signal's own
  curvature, which grows as ``L^4``, kept ``W`` growing and chose holes of 20 where 4 to 7 were best.
- The noise level is that residual's robust spread: the second differences'
  (:func:`~tsae.pipelines.smooth.smoother.noise_sigma`) see only the part of coloured noise that changes from
  sample to sample (a quarter of it at a coefficient of 0.9), and the Wiener combination added most of the
  noise back.

Whether the noise is coloured is the user's word: a rough signal's own movement (a taxi count every half hour)
has a falling spectrum just as AR noise does, and an automatic test that opened on AR(1) noise took such a
series for noise and smoothed its detail away. Two checks remain, each against what the series cannot be if
the user is right. Where the series' own ``W`` does not grow from lag 1 to lag 2 (by more than
:data:`_WHITE_SPREADS` of white noise's spread) the noise of adjacent samples is independent: no hole, and the
white noise level (white noise taken for coloured is smoothed as white, and so is a series too short to tell:
under about 300 samples, AR(1) noise of 0.7 is not told from white). And where the residual beside the wide hole
is :data:`_MOST_COLOURED` times the white noise level or more, it is the signal's own fast movement, which the
hole cannot predict, not noise (AR(1) noise up to 0.97 stays below; a chirp's periods of 16 samples under noise
0.1 gave 9.8, and smoothed with a hole its error went from 0.04 to 0.88 of its spread): smoothed as white too.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tsae.pipelines.smooth.blind_spot import _linear_blind_spot
from tsae.pipelines.smooth.noise_scale import robust_variance

#: the choices of ``noise`` (``"colored"`` is taken as ``"coloured"``)
NOISE = ("white", "coloured")
_SPELLINGS = {"white": "white", "coloured": "coloured", "colored": "coloured"}

#: white noise's ``W(2) / W(1)`` on ``n`` samples is 1 with a spread of this over sqrt(n) (300 series each of 32 to
#: 20,000 samples: 3.4-3.9, 4.8 at 32); AR(1) noise's is 1.39 (coefficient 0.3), 1.88 (0.7), 2.0 (0.9). Only a
#: ratio above this many spreads is coloured
_WHITE_SPREAD = 3.5
_WHITE_SPREADS = 3.0
#: the noise level beside the wide hole is at most this many times the white one (:func:`noise_hole`'s ``white``):
#: AR(1) noise of 0.7 gave 1.9-2.2, of 0.9 3.4-4.3, of 0.97 4.6-5.3 (a sine in noise 0.1-1.0, 2,016 samples)
_MOST_COLOURED = 6.0
#: the hole of the prediction whose residual the hole's width and the noise level are measured on
_WIDE_HOLE = 16
#: ``W`` grows by less than this from one lag to the next: the noise that far away no longer follows
_GROWTH = 1.1
#: the widest hole, and the samples of the series each sample of it takes at least (a series shorter than
#: 32 samples keeps the one-sample blind spot)
_MAX_HOLE = 32
_SAMPLES_PER_HOLE = 32


def check_noise(noise: Any) -> str:
    """``noise`` as one of :data:`NOISE` (``"colored"`` is ``"coloured"``); anything else is a ``ValueError``."""
    if not isinstance(noise, str) or noise not in _SPELLINGS:
        raise ValueError(f"noise must be 'white' or 'coloured' ('colored'), got {noise!r}")
    return _SPELLINGS[noise]


def _curvature_variance(r: np.ndarray, lag: int) -> float:
    """``W(lag)``: the robust variance of ``r``'s second difference at ``lag``, over 6 (white noise: its variance)."""
    return robust_variance(r[2 * lag:] - 2 * r[lag:-lag] + r[: -2 * lag]) / 6.0


def noise_hole(z: np.ndarray, white: float) -> tuple[int, float | None]:
    """The blind spot's hole (samples on each side left out besides the sample itself) for coloured noise in the
    normalised, gap-free 1-D ``z``, and the noise sigma to use with it (None: keep ``white``, its
    :func:`~tsae.pipelines.smooth.smoother.noise_sigma`). 0 and None for a series too short, without noise, whose
    noise shows no colour, or whose residual beside the hole is the signal's (see the module notes).
    """
    n = len(z)
    widest = min(_MAX_HOLE, n // _SAMPLES_PER_HOLE)
    if widest < 1:
        return 0, None
    adjacent = _curvature_variance(z, 1)
    if not _curvature_variance(z, 2) > (1.0 + _WHITE_SPREADS * _WHITE_SPREAD / math.sqrt(n)) * adjacent:
        return 0, None  # the noise of adjacent samples is independent (a constant series too)
    residual = z - _linear_blind_spot(z, hole=min(_WIDE_HOLE, widest))[0]
    sigma = robust_variance(residual) ** 0.5
    if not 0 < sigma <= _MOST_COLOURED * white:
        return 0, None
    w = [_curvature_variance(residual, lag) for lag in range(1, widest + 2)]
    hole = next((lag for lag in range(1, widest + 1) if w[lag] < _GROWTH * w[lag - 1]), widest)
    return hole, sigma


def noise_holes(z: np.ndarray, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`noise_hole` of each channel of ``z`` ``(C, n)``: the holes ``(C,)``, and ``sigmas`` (a copy) with
    the noise levels measured with them in place."""
    holes = np.zeros(len(z), dtype=int)
    sigmas = np.array(sigmas, dtype=float)
    for i, zc in enumerate(z):
        holes[i], sigma = noise_hole(zc, float(sigmas[i]))
        if sigma is not None:
            sigmas[i] = sigma
    return holes, sigmas
