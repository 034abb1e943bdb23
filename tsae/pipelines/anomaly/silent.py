"""Silent sensors in the streaming monitor and in batch scoring: find them, and keep scoring the others without them.

A sensor missing for ``silence`` samples in a row is *silent* (:class:`SilenceTracker`) until its next
good value. Holding its last good value, as a short gap is repaired, would make it a flat line: its own
terms (above all the window statistics: a flat line has no spread) and the reconstruction terms of the
sensors coupled to it (the autoencoder and the subspace reconstruct every sensor from the whole window)
would stay above the threshold for as long as it is silent, one alarm hiding every other fault.
So while a sensor is silent, :class:`SilentScoring` (the monitor hooks it into its
:class:`~tsae.pipelines.anomaly.scoring.ScoringCore`, and so does batch scoring,
:meth:`~tsae.pipelines.anomaly.detector.Detector.score_with_contributions` with ``silence``, whose scores then
equal the monitor's):

- *fills it in from the others*: its normalised value at each sample is what the detector's window
  subspace (the PCA term's components) reconstructs from the other sensors' window ending there (a
  ridge least-squares fit of the subspace coordinates to the sensors that report, :data:`RIDGE`), so
  the others' reconstruction terms see a sensor that moves with them (without a subspace: the
  training mean);
- *replaces its own error by its normal level*: its column of the per-sample error rows is its normal
  error on held-out data (``contrib_base``; without it, the mean of the others' errors in that row), for
  its silent samples and the longest window after them (windows that still hold filled-in values),
  so the score keeps the units of the threshold and a fault on another sensor still raises it; its
  share of an event is no more than a normal sensor's. In the smoothed rows its error is at most that
  level (times the largest smoothing factor), from shortly before its first missing value on: the
  centred smoothing would otherwise carry its held samples' error into the rows around them. Its early
  error rows (:mod:`~tsae.pipelines.anomaly.early`) are at its normal level for the longest window after
  any silent sample, so early alarms still come for the others.

Each row is decided by the samples the scoring core has always seen when that row is final, so scores do
not depend on the block sizes. When no sensor is silent nothing changes: the scores equal batch scoring's.
When every sensor is silent there is nothing to score the others by: the held values are scored as before.
The first ``silence`` samples of a silent stretch are held flat before the sensor is known to be silent (as
every shorter gap is held, and every gap when batch scoring is given ``silence=None``), and the other sensors'
reconstruction sees them: they may raise one alarm,
often named after a sensor that moves with the silent one. A ``silence`` short beside the detector's window
keeps it short (``scripts/eval_silent_sensors.py`` measures it).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tsae.models.trainer import whole_number

#: ridge on the subspace coordinates fitted to the reporting sensors (the components are unit vectors): a
#: component that lives mostly on the silent sensor is then left near 0, not blown up from the others' noise
RIDGE = 0.1


def silence_setting(silence: Any) -> int | None:
    """``silence`` as batch scoring takes it: None (off: every gap holds the last value), else a whole number
    >= 1 (the monitor's check, a ValueError naming ``silence``)."""
    return None if silence is None else whole_number("silence", silence, 1)


def silent_stretches(x: np.ndarray, silence: int) -> list[tuple[int, int, int]]:
    """Where the sensors of a whole series ``x`` ``(channels, n)`` (NaN: missing) fall silent.

    Parameters
    ----------
    x
        The series, time on the last axis.
    silence
        Missing values in a row that make a sensor silent (:class:`SilenceTracker`).

    Returns
    -------
    list of tuple
        ``(sensor, index, since_index)`` of each silent stretch, in order: ``index`` the sample at which the
        sensor had been missing ``silence`` samples, ``since_index`` its first missing one (as the monitor's
        ``sensor`` records say).
    """
    return silent_starts(SilenceTracker(x.shape[0], silence).push(x)[1])


def silent_starts(changes: list[tuple[int, str, int, int]]) -> list[tuple[int, int, int]]:
    """``(sensor, index, since_index)`` of each of :meth:`SilenceTracker.push`'s ``changes`` where a sensor falls
    silent."""
    return [(sensor, index, since) for sensor, state, index, since in changes if state == "silent"]


class SilenceTracker:
    """Which sensors are silent at each sample, from their missing values, whatever the block sizes.

    A sensor is silent from its ``silence``-th missing value in a row to its next good value.
    """

    def __init__(self, channels: int, silence: int) -> None:
        self.silence = int(silence)
        self.run = np.zeros(channels, dtype=np.int64)  # missing values in a row up to the last sample seen
        self.seen = 0

    def push(self, x: np.ndarray) -> tuple[np.ndarray, list[tuple[int, str, int, int]]]:
        """Missing values ``(channels, n)`` (NaN) in; ``(silent (n, channels) bool, changes)`` out.

        ``changes``: ``(sensor, "silent" or "back", sample index, index of its first missing sample)`` in
        stream order (sample indices count from the first sample pushed).
        """
        missing = ~np.isfinite(x)
        n = x.shape[1]
        silent = np.zeros((n, x.shape[0]), dtype=bool)
        changes: list[tuple[int, str, int, int]] = []
        for i in np.flatnonzero(missing.any(axis=1) | (self.run > 0)):
            # each sample's missing run: its distance from the last good sample (carried across blocks)
            last_good = np.where(~missing[i], np.arange(n), -1 - self.run[i])
            runs = np.arange(n) - np.maximum.accumulate(last_good)
            silent[:, i] = runs >= self.silence
            before = np.concatenate(([self.run[i]], runs[:-1]))  # the run at the previous sample
            for t in np.flatnonzero(runs == self.silence):
                changes.append((int(i), "silent", self.seen + int(t), self.seen + int(t) - self.silence + 1))
            for t in np.flatnonzero((runs == 0) & (before >= self.silence)):
                changes.append((int(i), "back", self.seen + int(t), self.seen + int(t) - int(before[t])))
            self.run[i] = runs[-1]
        self.seen += n
        changes.sort(key=lambda change: (change[2], change[0]))
        return silent, changes


class SilentScoring:
    """Degraded scoring while sensors are silent (see the module docstring).

    :meth:`add` queues each pushed sample's silent sensors; the scoring core calls :meth:`repair` on its
    normalised rows, :meth:`weigh` on its error rows and :meth:`weigh_smoothed` on its smoothed rows, each
    in sample order (samples nobody queued a state for count as all reporting).

    A row is decided by the samples the core has always seen when it is final, whatever the block sizes:
    an error row the longest window minus its hop after it, a smoothed row also the smoothing's half
    length after it. So a sensor silent by then is already left out of the rows just before its first
    missing value, whose windows and smoothing reach into its held stretch.

    Parameters
    ----------
    state
        The detector's :class:`~tsae.pipelines.anomaly.scoring.DetectorState`.
    early
        The core keeps early rows (:meth:`weigh_early`): the silent states stay for them a longest window.
    """

    def __init__(self, state: Any, early: bool = False) -> None:
        self.channels = int(state.channels)
        terms = [state.primary_term(), *state.scales]
        self.term = next((term for term in terms if term.pca is not None), None)
        self.window = self.term.window if self.term is not None else 1
        self.tail = max(term.window for term in terms)  # error rows this long after a silent sample hold it
        self.ahead = max(term.window - term.hop for term in terms)  # samples after an error row when it is final
        self.smooth_ahead = self.ahead + (max(1, state.smooth) // 2 if state.centered else 0)
        self.level = None if state.contrib_base is None else np.asarray(state.contrib_base, np.float64)
        # a smoothed row is one smoothing's, times its factor: a held sensor's normal level there is at most this
        self.smoothed_cap = max([1.0, *(float(factor) for _, factor in state.short_smooth)])
        self._status = np.zeros((0, self.channels), dtype=bool)  # silent sensors of samples base, base + 1, ...
        self._base = 0
        self._added = self._repaired = self._weighed = self._smoothed = 0  # samples added, and rows of each kind
        self.early = early  # the core keeps early rows: :meth:`weigh_early` is called after each push
        self._early = 0  # early rows weighed (:mod:`~tsae.pipelines.anomaly.early`)
        self._history = np.zeros((self.window - 1, self.channels))  # the latest normalised rows (training mean first)
        self._filters: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.filled = 0  # values filled in from the other sensors

    def add(self, silent: np.ndarray) -> None:
        """Queue the silent sensors ``(n, channels)`` of the next ``n`` samples."""
        self._status = np.concatenate([self._status, silent])
        self._added += len(silent)

    def repair(self, z: np.ndarray) -> np.ndarray:
        """Normalised rows ``(n, C)`` of the next samples: the silent sensors' values filled in from the others."""
        silent = self._window(self._repaired, len(z), 0, 0)
        self._repaired += len(z)
        if silent.any() and self.channels > 1:
            z = self._fill(z, silent)
        if self.window > 1:
            self._history = np.concatenate([self._history, z])[-(self.window - 1):]
        return z

    def weigh(self, rows: np.ndarray) -> np.ndarray:
        """Error rows ``(m, C)`` of the next samples: a silent sensor's error is its normal level."""
        held = self._window(self._weighed, len(rows), self.ahead, self.tail)
        self._weighed += len(rows)
        return self._levelled(rows, held)

    def weigh_smoothed(self, rows: np.ndarray, plain: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Smoothed error rows ``(m, C)`` of the next samples: a silent sensor's error at most its normal level,
        cutting off what the smoothing carries from its held samples before it was known to be silent; ``plain``
        (the same rows without a sample's own excess over normal, :class:`~tsae.pipelines.anomaly.scoring.
        ScoringCore`) alike."""
        held = self._window(self._smoothed, len(rows), self.smooth_ahead, 0)
        self._smoothed += len(rows)
        self._trim()
        return (self._levelled(rows, held, self.smoothed_cap),
                None if plain is None else self._levelled(plain, held, self.smoothed_cap))

    def weigh_early(self, rows: np.ndarray) -> np.ndarray:
        """Early error rows ``(m, C)`` of the next samples (:meth:`ScoringCore.take_early`): a sensor silent within
        the longest window up to the sample (its windows still hold filled-in values) at its normal level."""
        held = self._window(self._early, len(rows), 0, self.tail)
        self._early += len(rows)
        return self._levelled(rows, held)

    def _window(self, first: int, n: int, ahead: int, behind: int) -> np.ndarray:
        """Whether each sensor is silent at any of the samples ``t - behind + 1 .. t + ahead`` (those queued),
        for the ``n`` samples ``t`` from ``first`` on."""
        held = np.zeros((n, self.channels), dtype=bool)
        status = self._status
        if n == 0 or not status.any():
            return held
        lo = max(first - behind + 1, self._base) if behind else first
        hi = min(first + n + ahead, self._added)
        if hi <= lo:
            return held
        # a running count of silent samples: t is held where the count over its span is positive
        counts = np.concatenate([np.zeros((1, self.channels), np.int64),
                                 np.cumsum(status[lo - self._base: hi - self._base], axis=0)])
        t = np.arange(first, first + n)
        start = np.clip(t - (behind - 1 if behind else 0) - lo, 0, hi - lo)
        stop = np.clip(t + ahead + 1 - lo, 0, hi - lo)
        return (counts[stop] - counts[start]) > 0

    def _trim(self) -> None:
        """Forget the states no row needs any more."""
        needed = [self._repaired, self._weighed - self.tail, self._smoothed]
        if self.early:  # the early rows of a push are weighed after it: its samples' states, a window before them
            needed.append(self._early - self.tail)
        keep = min(needed)
        if keep > self._base:
            self._status = self._status[keep - self._base:]
            self._base = keep

    def _levelled(self, rows: np.ndarray, held: np.ndarray, cap: float | None = None) -> np.ndarray:
        """``rows`` with the held sensors' errors at their normal level (``cap``: at most ``cap`` times it)."""
        keep = held.any(axis=1) & ~held.all(axis=1)  # every sensor silent: nothing to score by, rows as they are
        if not keep.any():
            return rows
        rows = rows.copy()
        for k in np.flatnonzero(keep):
            level = self.level[held[k]] if self.level is not None else rows[k, ~held[k]].mean()
            rows[k, held[k]] = level if cap is None else np.minimum(rows[k, held[k]], cap * level)
        return rows

    def _fill(self, z: np.ndarray, silent: np.ndarray) -> np.ndarray:
        from tsae.pipelines.anomaly._kernels import row_products

        out = z.copy()
        if self.term is None:  # no subspace: the training mean
            out[silent] = 0.0
            self.filled += int(silent.sum())
            return out
        frames = np.lib.stride_tricks.sliding_window_view(np.concatenate([self._history, z]), self.window,
                                                          axis=0)  # (n, C, L): the window ending at each sample
        patterns, which = np.unique(silent, axis=0, return_inverse=True)
        which = np.asarray(which).reshape(-1)
        for p, pattern in enumerate(patterns):
            if not pattern.any() or pattern.all():
                continue
            rows = np.flatnonzero(which == p)
            observed, mean, gain, offset = self._filter(pattern)
            flat = frames[rows][:, observed, :].reshape(len(rows), -1) - mean
            filled = np.empty((len(rows), gain.shape[1]))
            row_products(flat, gain, filled)  # a row's values whatever rows come with it (BLAS's are not)
            out[np.ix_(rows, np.flatnonzero(pattern))] = offset + filled
            self.filled += len(rows) * int(pattern.sum())
        return out

    def _filter(self, pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For the silent sensors ``pattern``: the reporting sensors, their window mean, and the linear map
        from their window to the silent ones' last values (the subspace's ridge reconstruction)."""
        key = pattern.tobytes()
        if key not in self._filters:
            assert self.term is not None and self.term.pca is not None
            pca, length = self.term.pca, self.window
            observed = np.flatnonzero(~pattern)
            dims = (observed[:, None] * length + np.arange(length)).reshape(-1)
            targets = np.flatnonzero(pattern) * length + length - 1
            basis = pca.components[:, dims]  # (k, reporting dims)
            coords = np.linalg.solve(basis @ basis.T + RIDGE * np.eye(len(basis)), basis)  # window -> coordinates
            self._filters[key] = (observed, pca.mean[dims], coords.T @ pca.components[:, targets], pca.mean[targets])
        return self._filters[key]


class SilentSensors:
    """One stream's silent sensors, as the monitor and batch scoring both follow them: found as the samples
    arrive (:class:`SilenceTracker`) and left out of ``core``'s scores (a :class:`SilentScoring` hooked into it).

    Parameters
    ----------
    core
        A :class:`~tsae.pipelines.anomaly.scoring.ScoringCore` (or a core wrapping one).
    silence
        Missing values in a row that make a sensor silent.
    early
        The core keeps early rows (:class:`SilentScoring`'s ``early``).
    """

    def __init__(self, core: Any, silence: int, early: bool = False) -> None:
        target = scoring_core(core)
        self.tracker = SilenceTracker(target.state.channels, silence)
        self.scoring = SilentScoring(target.state, early=early)
        target.silent = self.scoring

    def push(self, x: np.ndarray) -> list[tuple[int, str, int, int]]:
        """The next samples' values ``(channels, n)`` (NaN: missing), before the core scores them; returns
        :meth:`SilenceTracker.push`'s changes."""
        silent, changes = self.tracker.push(x)
        self.scoring.add(silent)
        return changes


def scoring_core(core: Any) -> Any:
    """The :class:`~tsae.pipelines.anomaly.scoring.ScoringCore` of ``core`` (itself, or the core a drifting
    core wraps)."""
    return getattr(core, "core", core)
