"""What an anomaly plot draws of a long series, gathered block by block as the rows are scored.

A figure 1200 pixels wide cannot show more than a few thousand points per line, so a series
longer than :data:`PLOT_BUCKETS` runs of rows is drawn as each run's lowest and highest value
(a spike of one row still shows), and each sensor is z-scored with its mean and spread summed
over the blocks. The rows are then never held whole: ``tsae detect score --plot`` reads a long
table in blocks as it does without the plot.
"""
from __future__ import annotations

import math

import numpy as np

#: runs of rows a plotted line is cut into, at most (each drawn as its lowest and highest value)
PLOT_BUCKETS = 4000


class Envelope:
    """The lowest and highest value of each run of rows of ``channels`` series of ``n`` rows, fed in order.

    A series of at most ``2 * buckets`` rows is kept whole (runs of one row), so a short plot
    draws every row as it is.

    Examples
    --------
    >>> env = Envelope(10, 1, buckets=2)
    >>> env.add(np.array([[0.0, 5.0, 1.0, 2.0]])); env.add(np.array([[3.0, -1.0, 4.0, 4.0, 9.0, 2.0]]))
    >>> env.low, env.high
    (array([[ 0., -1.]]), array([[5., 9.]]))
    """

    def __init__(self, n: int, channels: int, buckets: int = PLOT_BUCKETS) -> None:
        self.n = n
        self.size = 1 if n <= 2 * buckets else math.ceil(n / buckets)  # rows per run
        runs = math.ceil(n / self.size) if n else 0
        self.low = np.full((channels, runs), np.nan)
        self.high = np.full((channels, runs), np.nan)
        self._count = np.zeros(channels)
        self._shift = np.full(channels, np.nan)  # the first finite value: sums about it lose no precision
        self._sum = np.zeros(channels)
        self._sum_sq = np.zeros(channels)
        self.done = 0

    def add(self, rows: np.ndarray) -> None:
        """The next rows ``(channels, m)`` of the series."""
        rows = np.asarray(rows, dtype=np.float64)
        m = rows.shape[1]
        if m == 0:
            return
        ids = (self.done + np.arange(m)) // self.size
        starts = np.flatnonzero(np.diff(ids, prepend=-1))
        finite = np.where(np.isfinite(rows), rows, np.nan)
        with np.errstate(invalid="ignore"):
            low = np.fmin.reduceat(finite, starts, axis=1)
            high = np.fmax.reduceat(finite, starts, axis=1)
        runs = ids[starts]
        self.low[:, runs] = np.fmin(self.low[:, runs], low)
        self.high[:, runs] = np.fmax(self.high[:, runs], high)
        for c, row in enumerate(finite):
            values = row[~np.isnan(row)]
            if values.size:
                if np.isnan(self._shift[c]):
                    self._shift[c] = values[0]
                values = values - self._shift[c]
                self._count[c] += values.size
                self._sum[c] += values.sum()
                self._sum_sq[c] += float(values @ values)
        self.done += m

    def mean_and_spread(self, channel: int) -> tuple[float, float]:
        """The mean and standard deviation of a channel's finite values (0 and 1 for none; 1 for no spread)."""
        count = self._count[channel]
        if not count:
            return 0.0, 1.0
        mean = self._sum[channel] / count
        spread = math.sqrt(max(self._sum_sq[channel] / count - mean * mean, 0.0))
        return float(self._shift[channel] + mean), spread if spread > 0 else 1.0

    def line(self, channel: int, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The points to draw of ``channel`` against ``axis`` (the ``n`` rows' x values): every row, or each run's
        lowest and highest value at its first row."""
        if self.size == 1:
            return axis[: self.n], self.low[channel]
        x = np.repeat(axis[:: self.size][: self.low.shape[1]], 2)
        y = np.stack([self.low[channel], self.high[channel]], axis=1).reshape(-1)
        return x, y

    def finite_range(self) -> tuple[float, float] | None:
        """The lowest and highest finite value of all the channels, or None."""
        if not np.isfinite(self.low).any():
            return None
        return float(np.nanmin(self.low)), float(np.nanmax(self.high))
