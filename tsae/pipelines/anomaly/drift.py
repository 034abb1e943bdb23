"""Drift updates: let the normalisation and the score level follow slow change, never during an alarm.

:class:`DriftingCore` wraps a scoring core (:class:`~tsae.pipelines.anomaly.scoring.ScoringCore`)
with the same push/flush contract; batch scoring and the streaming monitor both use it,
so their scores stay equal whatever the block sizes.

The rule
--------
- *When.* At fixed boundaries of the absolute sample index, every ``every`` raw samples
  (incoming blocks are split there, so the result does not depend on how the stream is
  chunked).
- *What is learnt from.* Only samples whose score is already final, at most the
  threshold, and neither inside an alarm event nor within the event gap before or after
  a flagged sample (a sample's eligibility is decided once the ``gap`` scores after it are
  final). An update is skipped when fewer than half a block of such samples arrived since
  the previous boundary, or while an alarm is open (a flagged sample among the latest
  ``gap`` final scores): the detector never learns during an alarm.
- *The update.* Each sensor's normalisation centre and scale move a fraction ``rate``
  toward the mean and standard deviation of the eligible raw samples since the previous
  boundary (a sensor with fewer than two values there keeps its own); the score level moves
  the same fraction toward the eligible samples' mean score (before levelling) over the reference
  mean (the held-out normal scores' mean at fit) and never drops below 1. Scores are
  divided by the level, so the threshold, in effect, follows a slow rise of the error;
  a level of at least 1 means learning never makes the detector more alarm-prone than it
  was at fit. The network and the threshold stay fixed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tsae.engine.preprocess import Normalizer
from tsae.pipelines.anomaly.scoring import FrameSteps, run_steps


class DriftingCore:
    """A scoring core whose normaliser and score level follow slow drift (see the module docstring).

    Parameters
    ----------
    core
        A fresh scoring core (``_push_rows`` / ``_flush_rows`` and a ``normalizer`` read at every push).
    threshold
        Scores above it are flagged (the detector's threshold).
    gap
        The detector's event gap, in samples.
    rate
        Fraction of the way the normaliser and the level move at each update (0 < rate <= 1).
    every
        Raw samples between updates.
    reference
        Mean score of normal data (the held-out scores at fit): the level's unit.
    """

    # the current block's statistics (:meth:`_reset_block`)
    _sum: np.ndarray
    _sumsq: np.ndarray
    _count: np.ndarray
    _score_sum: float
    _eligible: int

    def __init__(self, core: Any, threshold: float, gap: int, rate: float, every: int, reference: float) -> None:
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"drift rate={rate!r} must be in (0, 1]")
        if every < 1:
            raise ValueError(f"drift every={every!r} must be >= 1 sample")
        if not (np.isfinite(reference) and reference > 0):
            raise ValueError(f"drift reference score {reference!r} must be a positive number")
        self.core = core
        self.threshold, self.gap, self.rate, self.every = float(threshold), int(gap), float(rate), int(every)
        self.reference = float(reference)
        self.channels = int(core.channels)
        self.level = 1.0
        self.updates = 0  # updates applied
        self.skipped = 0  # boundaries without an update (alarm open, too few eligible samples)
        self.seen = 0  # raw samples pushed
        self.final = 0  # samples whose score is final
        self._raw = np.zeros((0, self.channels))  # raw rows from sample `final` on (scores not final yet)
        # final samples whose eligibility is not decided yet (the `gap` latest, and those before them)
        self._pending_raw = np.zeros((0, self.channels))
        self._pending_scores = np.zeros(0)
        self._pending_flags = np.zeros(0, dtype=bool)
        self._pending_base = 0  # index of the first pending row
        self._last_flag = -(10 ** 18)  # index of the latest flagged final sample
        self._last_level = 1.0  # the level of the latest final score
        self._decided = 0  # index of the first undecided final sample
        self._reset_block()

    # -- the push/flush contract ------------------------------------------------
    @property
    def normalizer(self) -> Normalizer:
        """The wrapped core's normaliser (the one the updates move)."""
        return self.core.normalizer

    @property
    def repaired(self) -> int:
        """Missing values repaired by the wrapped core."""
        return int(self.core.repaired)

    @property
    def clipped(self) -> int:
        """Extreme values clipped by the wrapped core."""
        return int(self.core.clipped)

    @property
    def last_row(self) -> np.ndarray | None:
        """The latest final smoothed error row, levelled like its score."""
        row = self.core.last_row
        return None if row is None else row / self._last_level

    def take_early(self) -> np.ndarray:
        """The wrapped core's early error rows (:meth:`ScoringCore.take_early`), levelled like the newest scores."""
        return self.core.take_early() / self.level

    def push(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Score the next samples ``(n_sensors, n)``; ``(scores (m,), contributions (n_sensors, m))``."""
        from tsae.pipelines.anomaly.scoring import as_chunk

        scores, contrib = self._push_rows(as_chunk(x, self.channels).T)
        return scores, contrib.T

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """End of data: the pending samples' scores and contributions ``(n_sensors, m)``."""
        scores, contrib = self._flush_rows()
        return scores, contrib.T

    def _push_rows(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return run_steps(self._push_rows_steps(x), self.core.scales)

    def _push_rows_steps(self, x: np.ndarray) -> FrameSteps[tuple[np.ndarray, np.ndarray]]:
        """Raw rows ``(n, C)`` in steps (:data:`~tsae.pipelines.anomaly.scoring.FrameSteps`): a segment's
        frames are cut after the update at the boundary before it."""
        self.core.check_open()  # before this wrapper's own state moves
        parts_s, parts_c = [np.zeros(0)], [np.zeros((0, self.channels))]
        start = 0
        while start < len(x):
            stop = min(len(x), start + self.every - self.seen % self.every)  # up to the next boundary
            scores, contrib = yield from self._segment_steps(x[start:stop])
            parts_s.append(scores)
            parts_c.append(contrib)
            start = stop
            if self.seen % self.every == 0:
                self._update()
        return np.concatenate(parts_s), np.concatenate(parts_c)

    def _flush_rows(self) -> tuple[np.ndarray, np.ndarray]:
        self._follow_alarm()
        scores, contrib = self.core._flush_rows()
        return self._take(scores, contrib)

    # -- internals --------------------------------------------------------------
    def _segment_steps(self, x: np.ndarray) -> FrameSteps[tuple[np.ndarray, np.ndarray]]:
        self._raw = np.concatenate([self._raw, x]) if len(self._raw) else x.copy()
        self.seen += len(x)
        self._follow_alarm()
        scores, contrib = yield from self.core._push_rows_steps(x)
        return self._take(scores, contrib)

    def _follow_alarm(self) -> None:
        """The core's alarm level in its own units, as :meth:`_take` will level the scores it returns next."""
        if getattr(self.core, "alarm", None) is not None:
            self.core.alarm = self.threshold * self.level

    def _take(self, scores: np.ndarray, contrib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Level newly final scores and queue their samples for the eligibility decision."""
        m = len(scores)
        if m == 0:
            return scores, contrib
        levelled = scores / self.level
        self._last_level = self.level
        flags = levelled > self.threshold
        if flags.any():
            self._last_flag = self.final + int(np.flatnonzero(flags)[-1])
        self._pending_raw = np.concatenate([self._pending_raw, self._raw[:m]])
        self._pending_scores = np.concatenate([self._pending_scores, scores])
        self._pending_flags = np.concatenate([self._pending_flags, flags])
        self._raw = self._raw[m:]
        self.final += m
        self._decide()
        return levelled, contrib

    def _decide(self) -> None:
        """Accumulate the pending samples whose neighbourhood (``gap`` on each side) is final."""
        gap = self.gap
        n_new = self.final - gap - self._decided
        if n_new <= 0:
            return
        flags = self._pending_flags
        # a flag within `gap` before or after a sample: a windowed "any" over the flags
        near = np.convolve(flags.astype(np.int64), np.ones(2 * gap + 1, dtype=np.int64), mode="same") > 0
        lo = self._decided - self._pending_base
        rows = slice(lo, lo + n_new)
        ok = ~near[rows]
        raw = self._pending_raw[rows][ok]
        values = np.where(np.isfinite(raw), raw - self._shift, 0.0)
        counts = np.isfinite(raw)
        # added one sample after the other (a running sum), not a block's sum at a time: the same bits however
        # the stream was cut into pushes
        self._sum = _running_total(self._sum, values)
        self._sumsq = _running_total(self._sumsq, values ** 2)
        self._count += counts.sum(axis=0)
        self._score_sum = float(_running_total(np.array([self._score_sum]), self._pending_scores[rows][ok][:, None])[0])
        self._eligible += int(ok.sum())
        self._decided += n_new
        keep_from = max(0, lo + n_new - gap)  # the left context of the undecided rows
        self._pending_raw = self._pending_raw[keep_from:]
        self._pending_scores = self._pending_scores[keep_from:]
        self._pending_flags = self._pending_flags[keep_from:]
        self._pending_base += keep_from

    def _reset_block(self) -> None:
        center = self.core.normalizer.center
        assert center is not None
        self._shift = np.where(np.isfinite(center), center, 0.0).astype(np.float64)
        self._sum = np.zeros(self.channels)
        self._sumsq = np.zeros(self.channels)
        self._count = np.zeros(self.channels, dtype=np.int64)
        self._score_sum = 0.0
        self._eligible = 0

    def _update(self) -> None:
        """The boundary's update (see the module docstring), then a new block of statistics."""
        alarm_open = self.final - 1 - self._last_flag <= self.gap
        if alarm_open or self._eligible < max(2, self.every // 2):
            self.skipped += 1
        else:
            norm = self.core.normalizer
            assert norm.center is not None and norm.scale is not None
            ok = self._count >= 2
            n = np.maximum(self._count, 1)
            mean = self._sum / n
            var = np.maximum(self._sumsq / n - mean ** 2, 0.0)
            target_center = self._shift + mean
            target_scale = np.sqrt(var * n / np.maximum(n - 1, 1))
            ok &= target_scale > 0
            norm.center = np.where(ok, norm.center + self.rate * (target_center - norm.center), norm.center)
            norm.scale = np.where(ok, norm.scale + self.rate * (target_scale - norm.scale), norm.scale)
            target_level = self._score_sum / self._eligible / self.reference
            self.level = max(1.0, self.level + self.rate * (target_level - self.level))
            self.updates += 1
        self._reset_block()


def _running_total(total: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``total`` ``(C,)`` plus the rows ``(n, C)``, added one after the other (``np.cumsum`` runs in order)."""
    if not len(rows):
        return total
    return np.cumsum(np.concatenate([total[None], rows]), axis=0)[-1]


__all__ = ["DriftingCore"]
