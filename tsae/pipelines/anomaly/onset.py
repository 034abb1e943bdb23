"""Where an event begins and ends: where its top sensor's own error rises, not where the smoothed score does.

An event is a run of samples whose score is above the threshold. The score is a moving mean
(centred by default, over two windows) of errors that are themselves means over the windows
covering each sample, so an abrupt fault raises it up to a window and half the moving mean
before the fault begins, and keeps it raised as long after it ends: on a plant sampled every
10 minutes, a dropout's event began 1.7 days early. The events' bounds are therefore taken from
each sample's *early* error row (:mod:`~tsae.pipelines.anomaly.early`: the mean error of the
newest window complete at the sample, per sensor), which a fault cannot raise before it begins:

the event's first (last) sample is the first (last) sample of its flagged span where the early
error of its top sensor is above a *level*: :data:`ONSET_FACTOR` times that sensor's normal error
(the detector's ``contrib_base``), and at least :data:`ONSET_SHARE` of the sensor's highest early
error within the span, the level rounded down to a power of two times the first (a ladder of
:data:`RUNGS` rungs, so that the state kept per open event is a few numbers per sensor, whatever
its length). Where the top sensor's early error never passes the level (or no sensor is known),
the flagged bounds stay, and so does the flagged first sample where the error is above the level at the first
sample it is known (the event began before the first complete window, or before its rows came): the rise was
then at or before it, at a sample whose error is not known. The early error is known from the first sample at
which every window scale has a complete window (``complete_from``: the longest window less one); before it a row
sums the shorter scales only, so it is not read: a series that begins inside a fault (the samples before
``complete_from`` have scores, from the windows covering them, but no early error) has its event begin at its
first flagged sample, not where the longest window first completes (and so does a fault that begins within the
first longest window: up to a window early, where no early error can place it; before, it began at the first
complete row, up to a window late). The scores, flags and the event's other fields are unchanged.

The bounds stay within the flagged span: a fault whose windows' early error rises only after the
score does (a slow drift) keeps the later bound; the end lags the fault's end by up to a window
(the newest complete window still holds the fault). They also hold the event's peak score
(:class:`~tsae.pipelines.anomaly.events.EventTracker` moves a start found after it to it, an end found before it
likewise): a subtle level shift's early error passes its level only once its window has filled, and began its event
after its own peak (on the plant of ``scripts/eval_plant_faults.py``, decision seeds 100-115: 2 of 191 events, 59 and
50 samples after the fault, their peaks 42 and 26 after it). The centred score's peak could precede a fault, but a
fault raises the errors of the windows around its start evenly: of those seeds' 147 events whose flagged span holds
a fault's start, none had its peak before it; no end was before its peak. Batch scoring and the monitor give the same
bounds: the early rows of a sample are known when it arrives, before its score is final, and an
event's bounds are decided when it closes.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: a sensor's early error must be this many times its normal level to begin (or end) an event: on the
#: simulated plant's decision seeds (100-115, 172 events on faults), 1.5 began 25 events more than 10 samples
#: before the fault, 2 began 5, 3 delayed level shifts and lags by 20 samples more
ONSET_FACTOR = 2.0
#: ... and this share of the sensor's highest early error within the event: a dropout to -999 raises its error
#: 1e5 times, so noise at a few times the normal level before it does not begin its event (0.03: 11 events
#: began early; 0.1: 5; 0.3: stuck sensors began 80 samples late)
ONSET_SHARE = 0.1
#: rungs of the ladder of levels (``ONSET_FACTOR`` times the normal error, times 2 ** k): the highest is 2 ** 40
#: times the first
RUNGS = 41


class OnsetTrace:
    """The first and last sample of an open event where each sensor's early error passes each rung of the ladder.

    Parameters
    ----------
    base
        Each sensor's normal error level ``(C,)`` (the detector's ``contrib_base``).
    complete_from
        The first sample whose early error row holds every window scale (the longest window less one): the rows
        before it are read as not known.

    Examples
    --------
    >>> trace = OnsetTrace(np.ones(2))
    >>> trace.reset()
    >>> rows = np.array([[3.0, 1], [1, 1], [50, 1], [60, 1], [1, 9]])
    >>> trace.add(rows, 10, None)
    >>> trace.bounds(0)[:2]  # the level: max(2, 0.1 * 60) rounded down to 4 (2 * 2): samples 12-13
    (12, 13)
    >>> trace.bounds(1)[:2]
    (14, 14)
    """

    def __init__(self, base: np.ndarray, complete_from: int = 0) -> None:
        self.first_level = ONSET_FACTOR * np.asarray(base, dtype=np.float64)
        self.complete_from = int(complete_from)
        self.channels = self.first_level.size
        self.reset()

    def reset(self) -> None:
        """Forget the event: a new one begins."""
        shape = (RUNGS, self.channels)
        self.first = np.full(shape, -1, dtype=np.int64)
        self.last = np.full(shape, -1, dtype=np.int64)
        self.first_time = np.full(shape, None, dtype=object)
        self.last_time = np.full(shape, None, dtype=object)
        self.peak = np.full(self.channels, -np.inf)
        self.origin, self.origin_time = -1, None  # the event's first sample (and its time)
        self.known = np.full(self.channels, -1, dtype=np.int64)  # each sensor's first sample with a known error

    def add(self, rows: np.ndarray, start: int, times: Sequence[Any] | None) -> None:
        """The early error rows ``(m, C)`` of the event's samples ``start .. start + m - 1`` (and their times)."""
        m = len(rows)
        if m == 0:
            return
        if self.origin < 0:
            self.origin, self.origin_time = start, None if times is None else times[0]
        if start < self.complete_from:  # a sum of the shorter scales only: lower than the error, not yet known
            rows = np.array(rows, dtype=np.float64)
            rows[: self.complete_from - start] = np.nan
        known = ~np.isnan(rows)
        fresh = (self.known < 0) & known.any(axis=0)
        self.known[fresh] = start + np.argmax(known[:, fresh], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rung = np.floor(np.log2(rows / self.first_level))
        # -1: below the first rung (or NaN: no window yet)
        rung = np.where(rows > self.first_level, np.minimum(rung, RUNGS - 1), -1).astype(np.int64)
        with np.errstate(invalid="ignore"):
            self.peak = np.fmax(self.peak, np.nanmax(np.where(np.isnan(rows), -np.inf, rows), axis=0))
        ladder = np.arange(RUNGS)
        reached = np.maximum.accumulate(rung, axis=0)  # per sensor: the highest rung passed so far, not falling
        reached_back = np.maximum.accumulate(rung[::-1], axis=0)  # the same from the last sample back
        for sensor in range(self.channels):
            top = int(reached[-1, sensor])
            if top < 0:
                continue
            rungs = ladder[: top + 1]
            firsts = np.searchsorted(reached[:, sensor], rungs)  # the first sample at or above each rung
            lasts = m - 1 - np.searchsorted(reached_back[:, sensor], rungs)
            new = self.first[rungs, sensor] < 0
            self.first[rungs[new], sensor] = start + firsts[new]
            self.last[rungs, sensor] = start + lasts
            if times is not None:
                self.first_time[rungs[new], sensor] = [times[i] for i in firsts[new]]
                self.last_time[rungs, sensor] = [times[i] for i in lasts]

    def bounds(self, sensor: int) -> tuple[int, int, Any, Any] | None:
        """The event's first and last sample (and their times) by ``sensor``'s early error; None: it never
        passed its level, the flagged bounds stay."""
        first_level = float(self.first_level[sensor])
        level = max(first_level, ONSET_SHARE * float(self.peak[sensor]))
        if not (np.isfinite(level) and first_level > 0):
            return None
        rung = min(RUNGS - 1, int(np.floor(np.log2(level / first_level) + 1e-12)))
        first, first_time = int(self.first[rung, sensor]), self.first_time[rung, sensor]
        if first < 0:
            return None
        if first == self.known[sensor] > self.origin:  # above the level as soon as known: it rose unseen before
            first, first_time = self.origin, self.origin_time
        return first, int(self.last[rung, sensor]), first_time, self.last_time[rung, sensor]


__all__ = ["ONSET_FACTOR", "ONSET_SHARE", "RUNGS", "OnsetTrace"]
