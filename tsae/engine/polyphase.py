"""Low-delay streaming resampling: a polyphase Kaiser-windowed sinc for rational rate ratios.

:class:`PolyphaseResampler` changes ``rate_in`` to ``rate_out`` (``up / down`` in lowest terms, 1/3 for
48 -> 16 kHz, 160/441 for 44.1 -> 16 kHz). Its output sample ``j`` is the band-limited value at ``j / rate_out``
seconds (aligned with the input: no shift to remove), and it is returned by the first :meth:`push` whose input
reaches half a filter past it, :attr:`PolyphaseResampler.delay` seconds. That delay is the same for every
sample, unlike a block resampler's (soxr gives its samples back in bursts of a few hundred). Each sample is one
float64 dot product over the same inputs in the same order whatever the chunking, so streaming equals one call
bit for bit.

The filter is sized for speech at the lower of the two rates: flat to 7/16 of it (7 kHz at 16 kHz), at least
:data:`STOPBAND_DB` down from half of it (8 kHz), which takes about 2.5 ms of delay each way at 48 kHz.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from tsae.engine.framing import _check_int

__all__ = ["MAX_TAPS", "STOPBAND_DB", "PolyphaseResampler", "RatioTooFineError", "polyphase_filter"]

#: stopband attenuation of the filter in dB (Kaiser's formulas set its length and window)
STOPBAND_DB = 80.0
#: the passband and stopband edges, as fractions of the lower rate: 7 and 8 kHz at 16 kHz
_PASS_EDGE, _STOP_EDGE = 7 / 16, 8 / 16
#: the most coefficients one rate pair's filter may have (16 MB of float64): a pair whose ratio reduces to
#: thousands of phases (47999 -> 16000 Hz) would need millions
MAX_TAPS = 1 << 21


class RatioTooFineError(ValueError):
    """Two rates whose ratio needs more than :data:`MAX_TAPS` filter coefficients (live audio then takes soxr)."""


@functools.lru_cache(maxsize=16)
def polyphase_filter(rate_in: int, rate_out: int) -> tuple[np.ndarray, int, int, int]:
    """The filter of a ``rate_in`` -> ``rate_out`` resampler: ``(taps, up, down, centre)``.

    Parameters
    ----------
    rate_in, rate_out : int
        Rates in Hz (> 0).

    Returns
    -------
    taps : numpy.ndarray
        ``(up, k)`` float64, read-only: phase ``p``'s ``k`` coefficients, oldest input first.
    up, down : int
        ``rate_out / rate_in`` in lowest terms.
    centre : int
        Half the prototype filter, on the grid of ``up`` times the input rate (the delay).

    Examples
    --------
    >>> taps, up, down, centre = polyphase_filter(48000, 16000)
    >>> up, down, taps.shape[0]
    (1, 3, 1)
    """
    rate_in = _check_int("rate_in", rate_in, 1)
    rate_out = _check_int("rate_out", rate_out, 1)
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    grid = up * rate_in  # Hz of the prototype's samples
    low = min(rate_in, rate_out)
    cutoff = (_PASS_EDGE + _STOP_EDGE) / 2 * low / grid  # cycles per grid sample
    width = 2 * math.pi * (_STOP_EDGE - _PASS_EDGE) * low / grid
    centre = math.ceil((STOPBAND_DB - 7.95) / (2.285 * width) / 2)
    n = 2 * centre + 1
    if n > MAX_TAPS:
        raise RatioTooFineError(f"a low-delay resampler from {rate_in} to {rate_out} Hz needs {n} filter coefficients "
                         f"(their ratio is {up}/{down}; at most {MAX_TAPS}): use a rate with a simpler ratio")
    t = np.arange(n) - centre
    h = 2 * cutoff * np.sinc(2 * cutoff * t) * np.kaiser(n, 0.1102 * (STOPBAND_DB - 8.7))
    h *= up / h.sum()  # each phase's gain is 1 at 0 Hz (on average over the phases)
    k = -(-n // up)
    padded = np.zeros(k * up)
    padded[:n] = h
    taps = np.ascontiguousarray(padded.reshape(k, up).T[:, ::-1])  # taps[p, i] = h[p + (k - 1 - i) * up]
    taps.setflags(write=False)
    return taps, up, down, centre


class PolyphaseResampler:
    """Resample a stream of ``(channels, n)`` chunks from ``rate_in`` to ``rate_out`` Hz with a constant delay.

    Parameters
    ----------
    rate_in, rate_out : int
        Rates in Hz; their ratio in lowest terms must need at most :data:`MAX_TAPS` coefficients.
    channels : int, optional
        Channels of every chunk (rows).

    Notes
    -----
    :meth:`push` returns every output sample whose inputs up to :attr:`delay` seconds after it have arrived;
    ``push(x, last=True)`` returns the rest (the input is taken as silent beyond its end) and resets the
    stream. A stream of ``n`` inputs gives ``round(n * rate_out / rate_in)`` outputs (halves up), whatever the
    chunking, and the same samples as one call. The state is plain arrays: ``copy.deepcopy`` forks a stream.

    Examples
    --------
    >>> import numpy as np
    >>> rs = PolyphaseResampler(48000, 16000)
    >>> x = np.sin(np.arange(4800) * 0.05).astype(np.float32)[None]
    >>> parts = [rs.push(x[:, i: i + 480]) for i in range(0, 4800, 480)] + [rs.push(x[:, :0], last=True)]
    >>> np.array_equal(np.concatenate(parts, axis=1), PolyphaseResampler(48000, 16000).push(x, last=True))
    True
    >>> round(rs.delay * 1000, 2)  # ms
    2.52
    """

    def __init__(self, rate_in: int, rate_out: int, channels: int = 1) -> None:
        self.taps, self.up, self.down, self.centre = polyphase_filter(rate_in, rate_out)
        self.rate_in, self.rate_out = int(rate_in), int(rate_out)
        self.channels = _check_int("channels", channels, 1)
        self.reset()

    @property
    def delay(self) -> float:
        """Seconds of input past an output sample that :meth:`push` waits for: half the filter."""
        return self.centre / (self.up * self.rate_in)

    def reset(self) -> None:
        """Forget the stream."""
        k = self.taps.shape[1]
        self._buf = np.zeros((self.channels, k - 1), np.float32)  # inputs from self._origin on (silence before 0)
        self._origin = -(k - 1)
        self._n_in = 0
        self._n_out = 0

    def _newest(self, j: int) -> int:
        """The newest input output ``j`` takes."""
        return (j * self.down + self.centre) // self.up

    def push(self, x: Any, last: bool = False) -> np.ndarray:
        """Add ``(channels, n)`` samples; return the output samples that are final, ``(channels, m)`` float32.

        With ``last=True`` the stream ends here: the rest is returned and the resampler is reset.
        """
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ValueError(f"expected ({self.channels}, n) samples, got shape {x.shape}")
        self._buf = np.concatenate([self._buf, x], axis=1)
        self._n_in += x.shape[1]
        if last:
            end = (2 * self._n_in * self.up + self.down) // (2 * self.down)
            short = self._newest(end - 1) + 1 - (self._origin + self._buf.shape[1]) if end else 0
            if short > 0:  # silence after the end, as far as the last output's filter reaches
                self._buf = np.concatenate([self._buf, np.zeros((self.channels, short), np.float32)], axis=1)
        else:
            end = max(0, (self._n_in * self.up - self.centre - 1) // self.down + 1)
        first = self._n_out
        out = np.zeros((self.channels, max(0, end - first)), np.float32)
        if out.shape[1]:
            from tsae.engine._kernels import polyphase_rows

            k = self.taps.shape[1]
            start = self._newest(first) - (k - 1) - self._origin
            polyphase_rows(self._buf[:, start:], self.taps, first, self.up, self.down, self.centre, out)
            self._n_out = end
            keep = self._newest(end) - (k - 1)  # the oldest input the next output takes
            self._buf = self._buf[:, keep - self._origin:]
            self._origin = keep
        if last:
            self.reset()
        return out
