"""The blind-spot filter of a series too short to fit the mixture of :mod:`~tsae.pipelines.smooth.blind_spot`.

The closed-form filter there weighs some 30 leave-one-out smoothers by least squares on the series itself; on
a few dozen samples those weights fit the noise, and the odd reflection it reads past each end carried a
sine's curvature there into the ends' predictions (20-60 samples of a noisy sine: 1.3 times the error of a
cross-validated Savitzky-Golay filter). A series shorter than :data:`FEW_SAMPLES` is instead smoothed by one
local polynomial smoother, chosen from a small fixed set (orders 2 to 5, every odd width up to the series'
length) by its blind-spot error on the series: each sample predicted from its window without it (near the
ends, the window held against the end: the polynomial fitted to the first or last samples, as
Savitzky-Golay's ``interp`` mode does). That error is the exact leave-one-out error of the smoother, so the
choice is leave-one-out cross-validation; the smoother's own weight on each sample (its leverage) then sets
the Wiener gain, so the output is the chosen smoother's fit (unless the residual's power asks for a larger gain:
a signal no such polynomial follows is kept nearer the samples).
"""
from __future__ import annotations

import numpy as np

__all__ = ["FEW_SAMPLES", "LocalPolynomial", "choose_local_polynomial"]

#: series shorter than this are smoothed by one chosen :class:`LocalPolynomial`
FEW_SAMPLES = 128
#: the polynomial orders chosen from (orders 2k and 2k+1 differ only near the ends)
ORDERS = (2, 3, 4, 5)


class LocalPolynomial:
    """The local polynomial smoother of ``order`` over ``width`` samples (odd), as a blind-spot predictor."""

    def __init__(self, width: int, order: int) -> None:
        self.width, self.order = width, order
        t = np.arange(width, dtype=np.float64) - width // 2
        basis, _ = np.linalg.qr(np.vander(t / max(1, width // 2), order + 1, increasing=True))
        #: the fit's weights: row i gives the fitted value at the window's sample i
        self.hat = basis @ basis.T

    @property
    def reach(self) -> int:
        """Samples each side that a prediction depends on."""
        return self.width // 2

    def taps(self) -> np.ndarray:
        """The blind-spot taps of a sample away from the ends (centre tap 0), ``(width,)``."""
        row = self.hat[self.reach].copy()
        row[self.reach] = 0.0
        return row / (1.0 - self.hat[self.reach, self.reach])

    def leverage(self, n: int) -> np.ndarray:
        """The fit's weight on each sample itself, for a series of ``n`` (at least ``width``) samples."""
        h = self.reach
        out = np.full(n, self.hat[h, h])
        diagonal = np.diag(self.hat)
        out[:h] = diagonal[:h]
        out[n - h:] = diagonal[self.width - h:]
        return out

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """The blind-spot prediction of 1-D ``z`` (at least ``width`` samples): each sample from its window less it."""
        n, w, h = len(z), self.width, self.reach
        pred = np.convolve(z, self.taps()[::-1], mode="same")
        for i in range(h):  # the ends: the window held against the end
            pred[i] = self._left_out(i, z[:w])
            pred[n - 1 - i] = self._left_out(w - 1 - i, z[n - w:])
        return pred

    def _left_out(self, j: int, window: np.ndarray) -> float:
        """The fit at the window's sample ``j`` without it (the exact leave-one-out value of least squares)."""
        row = self.hat[j].copy()
        row[j] = 0.0
        return float(row @ window) / (1.0 - self.hat[j, j])


def choose_local_polynomial(z: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, LocalPolynomial]:
    """The :class:`LocalPolynomial` of least blind-spot error on 1-D ``z`` (at least 3 samples) and its prediction.

    ``rows`` (boolean, or None: all) are the samples the error is measured on (those the edge guard leaves
    alone). A series shorter than the narrowest order-2 window gets the 3-sample mean (order 0).
    """
    n = len(z)
    candidates = [LocalPolynomial(w, p) for p in ORDERS for w in range(p + 2 | 1, n + 1, 2)]
    if not candidates:
        candidates = [LocalPolynomial(3, 0)]
    best_error, best = np.inf, candidates[0]
    best_pred = best(z)
    for smoother in candidates:
        pred = smoother(z)
        r = pred - z if rows is None else (pred - z)[rows]
        error = float(np.mean(r * r))
        if error < best_error:
            best_error, best, best_pred = error, smoother, pred
    return best_pred, best
