"""Early alarms: a provisional score known as each sample arrives, for the streaming monitor.

A sample's score is final only once every window covering it is complete and the moving
mean has the samples after it: with the default centred mean, about two windows after the
sample. A monitor that waits for it raises its alarm that late. The *early score* of a
sample is known when the sample arrives: for each window scale, the mean normalised error
(the same terms and weights as the score) of the newest complete window, held until the
next one; summed over the scales and averaged over the sensors.

It is noisier than the score (one window, no moving mean), so it has its own threshold,
set at fit with the same alarm budget and floor on held-out normal data
(``Detector.early_threshold_``). The monitor sends an ``alarm`` record with
``"source": "early"`` when the early score crosses it while no event is open; the
confirmed ``alarm`` (``"source": "score"``) and the ``event`` follow from the score as before,
or do not, when the early alarm was a false start.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsae.pipelines.anomaly.events import alarm_fields
from tsae.pipelines.anomaly.scoring import DetectorState, ScoringCore, error_shares


def early_scores(state: DetectorState, X: np.ndarray, start: int) -> np.ndarray:
    """The early scores of samples ``start:`` of ``X`` ``(C, n)`` (NaN where no window is complete yet).

    The samples from one longest window before ``start`` on are scored, so the first
    scores have whole windows, as the held-out error rows of the fit have.
    """
    context = max(0, start - max(state.windows))
    core = ScoringCore(state, device="cpu", early=True)
    core._error_rows(X[:, context:].T)
    rows = core.take_early()[start - context:]
    return rows.sum(axis=1) / max(1, state.channels)


class EarlyWatch:
    """Turns early scores into early ``alarm`` records, one per episode.

    An episode begins at an early score above ``threshold`` and ends after ``gap`` samples
    without one; within an episode no further early alarm is sent. None is sent for a sample
    whose score is already final (a block that arrives at once: its confirmed alarms say it
    all) nor while an event is open (its confirmed alarm went out).

    Parameters
    ----------
    sensors
        The detector's sensor names.
    threshold
        The detector's ``early_threshold_``.
    gap
        The detector's event gap, in samples.
    base
        Each sensor's normal error level (the detector's ``contrib_base``), for the top sensors.
    top_k
        How many top sensors an alarm names.
    """

    def __init__(self, sensors: Sequence[str], threshold: float, gap: int, base: np.ndarray | None = None,
                 top_k: int = 3) -> None:
        if not (math.isfinite(threshold) and threshold >= 0):
            raise ValueError(f"early threshold {threshold!r} must be a finite number >= 0")
        self.sensors = list(sensors)
        self.threshold, self.gap, self.base, self.top_k = float(threshold), int(gap), base, int(top_k)
        self.position = 0  # global index of the next sample
        self._last_above = -(10 ** 18)  # index of the latest sample above the threshold
        self.alarms = 0

    def push(self, rows: np.ndarray, times: Sequence[Any] | None, in_event: bool,
             final_until: int = 0) -> list[dict[str, Any]]:
        """Early error rows ``(n, C)`` of the next samples (and their times); ``in_event``: an event is open;
        ``final_until``: the samples before this index have their final scores."""
        first = self.position
        self.position += len(rows)
        with np.errstate(invalid="ignore"):
            scores = rows.sum(axis=1) / max(1, rows.shape[1])
            above = np.flatnonzero(scores > self.threshold)
        records = []
        for k in above.tolist():
            index = first + k
            if index - self._last_above > self.gap and not in_event and index >= final_until:
                records.append(self._alarm(index, float(scores[k]), rows[k], times[k] if times is not None else None))
            self._last_above = index
        return records

    def _alarm(self, index: int, score: float, row: np.ndarray, time: Any) -> dict[str, Any]:
        self.alarms += 1
        shares = error_shares(np.nan_to_num(row[None]), self.base)[0]
        fields = alarm_fields(self.sensors, score, shares, index, time, self.top_k)
        return {"type": "alarm", "source": "early", **fields, "threshold": self.threshold}


__all__ = ["EarlyWatch", "early_scores"]
