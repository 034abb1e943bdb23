"""Streaming anomaly monitor: score samples as they arrive, report events, survive bad data.

:class:`Monitor` is the in-process core (river-style ``score_one`` plus a block-wise
``push``); :class:`~tsae.io.records.RecordParser` turns raw text lines (CSV with a
header, JSON objects, InfluxDB line protocol or Telegraf's JSON) into rows; :func:`run_monitor` wires a
source (stdin, MQTT, or any plugin's) to a sink (stdout, MQTT) for ``tsae monitor``.

Scores equal the batch scores of :meth:`tsae.Detector.decision_function` on the same
rows with the same ``silence``: both run :class:`~tsae.pipelines.anomaly.scoring.ScoringCore`. A sample's score is known
once the last window covering it is complete and the moving mean has the samples after it (with
the default centred mean over two windows, about two windows later); records carry the sample's
index and time. An ``alarm`` record goes out as soon as an event's first sample is flagged, its
``event`` record when the event ends (no flagged sample for the merge gap). The alarm names that first flagged
sample: it goes out live, and the fault may begin up to a window and half the moving mean after it (the centred
smoothing raises the score before the fault). The ``event`` record's ``start`` and ``end`` are where its top
sensor's own error rises and falls within the flagged span (:mod:`~tsae.pipelines.anomaly.onset`; the flagged
span's bounds in ``flagged_start_index`` and ``flagged_end_index``), decided when it closes from the early error rows
the monitor has by then, with no more delay: the same events as batch scoring's. Before them, an early
``alarm`` (``"source": "early"``, :mod:`~tsae.pipelines.anomaly.early`) may go out as a sample
arrives, from the newest complete windows alone. Memory is bounded: the core keeps about
one window of rows, the event tracker one open event.

Bad data never stops the monitor; each kind is counted, warned about on stderr
(rate-limited) and reported in the final summary:

- ``malformed``: a line that is not CSV/JSON of the expected shape, or an unparseable
  number (a decimal comma in a stream whose first decimal number had a point, or the other
  way round: see :mod:`tsae.io.records`): skipped;
- ``missing_values``: a sensor absent from a record, empty, NaN or inf: repaired with the
  sensor's last good value (its training mean before any); a value beyond 1e30 in magnitude
  is repaired so too (``repaired_values``), as batch scoring's table reader reads it as missing;
- ``silent``: a sensor missing for ``silence`` samples in a row: warned once (until it returns) and
  reported in a ``sensor`` record (below); until it reports again the monitor scores the other sensors
  without it (:mod:`tsae.pipelines.anomaly.silent`): its values are filled in from theirs and its own
  error counts as normal, so a dead sensor raises no alarm that never ends and a fault on another
  sensor is still found and named;
- ``out_of_order``: a time earlier than the previous record's: skipped (a clock set back, which the next record
  confirms, is accepted from that record on: see :mod:`tsae.io.records`);
- ``time_jumps``: a time more than ``max_time_jump`` ahead of the previous record's:
  skipped, the previous time stays the reference (a second such record in a row is
  accepted: the clock moved; see :mod:`tsae.io.records`);
- an extreme value that is not absurd (e.g. ``1e20``) is clipped after normalisation to
  ``Z_BOUND`` standard deviations (:mod:`tsae.pipelines.anomaly.scoring`), as in batch scoring.
- ``unknown_fields``: JSON keys that are not sensors (ignored; counted once per name);
- ``unreadable_times``: a time that is neither a number nor an ISO date: the record is
  scored and keeps the text as its time, but cannot be checked for order, jumps or
  duplicates;
- ``duplicates``: a redelivered record (same time and values as a recent one, or an MQTT
  redelivery of a payload already received): skipped, never scored twice.
- ``other_series``: a line of InfluxDB line protocol (or a Telegraf JSON metric) of a series other than the one
  read for its sensors, without the tags asked for, or of a measurement with no sensor's field: skipped (see
  :mod:`tsae.io.metric_rows`).

Records (JSON objects): ``alarm`` when an event begins, ``event`` when it ends, ``sample`` per scored
sample with ``every_sample``, ``{"type": "sensor", "sensor", "state": "silent", "index", "time",
"since_index"}`` when a sensor has been missing for ``silence`` samples (``index``: that sample, ``since_index``:
its first missing one) and ``{"type": "sensor", ..., "state": "back", ...}`` at its next value (``since_index``:
where its silence began), and one ``summary`` at the end. A silent sensor's first ``silence`` samples hold its
last good value before it is known to be silent: they may raise one alarm (at a stream's start, its training
mean), named after the sensor or one that moves with it; a ``silence`` short beside the detector's window keeps
it short.

Delivery through MQTT (persistent session, deduplication, a bounded outbox flushed before
exit) is described in :mod:`tsae.io.mqtt` and in the README. Many devices on one stream (``--group-by host``): a
monitor per device, :mod:`~tsae.pipelines.anomaly.devices`.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import sys
import threading
import time as _time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from tsae.engine.layout import check_flag, is_dataframe, real_array
from tsae.io.mqtt import SESSION_EXPIRY
from tsae.io.records import MAX_LINE, MAX_TIME_JUMP, RecordParser
from tsae.io.table_time import excel_days_span
from tsae.io.text_files import decode_text
from tsae.io.time_zone import check_zone, now_on_wall_clock
from tsae.models.device import torch_threads
from tsae.models.trainer import whole_number
from tsae.pipelines.anomaly.block_scoring import SCORE_BLOCK
from tsae.pipelines.anomaly.blueprint import Blueprint
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.devices import BLOCK_BYTES, MAX_DEVICES, DeviceMonitors
from tsae.pipelines.anomaly.drift import DriftingCore
from tsae.pipelines.anomaly.early import EarlyWatch
from tsae.pipelines.anomaly.events import EventTracker, record_value
from tsae.pipelines.anomaly.profile_times import profile_dates, series_times
from tsae.pipelines.anomaly.scoring import FrameSteps, as_chunk, run_steps, sensor_columns
from tsae.pipelines.anomaly.seasonal import filled_times
from tsae.pipelines.anomaly.silent import SilentSensors, scoring_core


class RateLimitedLog:
    """stderr warnings, at most one per kind every ``interval`` seconds (suppressed ones are counted)."""

    def __init__(self, stream: Any = None, interval: float = 5.0, quiet: bool = False) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.interval = interval
        self.quiet = quiet
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> RateLimitedLog:
        """A copy (of a monitor, ``copy.deepcopy``) writes to the same stream: a stream is not data to copy."""
        new = copy.copy(self)
        new._last, new._suppressed = dict(self._last), dict(self._suppressed)
        memo[id(self)] = new
        return new

    def warn(self, kind: str, message: str) -> None:
        now = _time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last[kind] = now
        more = self._suppressed.pop(kind, 0)
        suffix = f" (+{more} similar)" if more else ""
        self.info(f"warning: {message}{suffix}")

    def warn_now(self, kind: str, message: str) -> None:
        """A warning written whatever the rate limit of its ``kind`` (a device's first, :mod:`~.devices`), which
        starts the kind's interval again; the warnings held back stay counted for the kind's next one."""
        self._last[kind] = _time.monotonic()
        self.info(f"warning: {message}")

    def info(self, message: str) -> None:
        if not self.quiet and self.stream is not None:  # None: stderr closed (print would write to stdout)
            try:
                print(f"tsae monitor: {message}", file=self.stream, flush=True)
            except (ValueError, OSError):
                pass


class Monitor:
    """Streaming scorer around a fitted :class:`~tsae.pipelines.anomaly.Detector`.

    Parameters
    ----------
    detector
        A fitted detector, or the path of a detector file.
    every_sample
        :meth:`push` also returns one record per scored sample (else only events and sensor records).
    silence
        A sensor missing for this many consecutive samples is silent: warned about, reported in a
        ``sensor`` record, and left out of the score until its next value (see the module docstring).
    log
        Where warnings and notes go: an object with ``warn(kind, message)`` and ``info(message)``
        such as :class:`RateLimitedLog` (default: a quiet one).
    time_field, fmt
        The name of the time field (None: the time column of the table the detector was fitted on,
        then the table reader's time names) and the text format
        (``"auto"``, ``"csv"``, ``"json"``, ``"influx"``: InfluxDB line protocol), see
        :class:`~tsae.io.records.RecordParser`.
    max_line
        Longest text line read (characters); longer lines count as malformed.
    max_time_jump
        Largest forward step of the time accepted without confirmation (time-field units;
        seconds for ISO dates), see :class:`~tsae.io.records.RecordParser`. None: no limit.
    drift_rate, drift_every
        Drift updates (:mod:`~tsae.pipelines.anomaly.drift`), as in batch scoring; None: the
        detector's settings.
    early
        Send early alarms (:mod:`~tsae.pipelines.anomaly.early`) when the detector has an early
        threshold (detectors fitted before them, or with a fixed threshold, have none).
    tags, precision
        Line protocol and Telegraf JSON: the tags a record must carry to be read (None: any) and the timestamps'
        unit (None: each format's default), see :mod:`tsae.io.metric_rows`.
    timezone
        Where the detector removes a seasonal profile: the IANA name of the zone on whose wall clock UTC instants
        (Unix times, dates with an offset) meet its hours, as :class:`~tsae.pipelines.anomaly.detector.Detector`'s
        ``timezone`` (None: the detector's).

    Raises
    ------
    ValueError
        One line naming the option, when the monitor is built (``silence``, ``fmt``,
        ``time_field``, ``max_line``, ``max_time_jump``, see :class:`~tsae.io.records.RecordParser`; ``timezone``).
    TypeError
        ``detector`` is no detector, ``every_sample`` is not a bool, ``log`` lacks ``warn`` or ``info``.

    Notes
    -----
    :meth:`flush` ends the stream: it scores the last samples and closes the open event.
    Flushing again returns nothing; feeding the monitor afterwards (:meth:`push`,
    :meth:`push_lines`, :meth:`score_one`, :meth:`learn_one`) raises a RuntimeError
    rather than silently dropping samples or mixing a new stream's windows, indices and
    counts into the ended one: a new stream needs a new Monitor.

    ``copy.deepcopy`` taken mid-stream goes on exactly as the original would, and feeding
    one leaves the other as it was; ``copy.copy`` is the same fork sharing the detector and
    its networks. Both write to the same log stream.

    Examples
    --------
    River-style, one sample at a time (a score is ``None`` until the longest window is full;
    the score returned is that of the latest sample whose score became final):

    >>> import numpy as np
    >>> from tsae.pipelines.anomaly.detector import Detector
    >>> t = np.arange(600)
    >>> det = Detector(window=20, epochs=2, device="cpu").fit(np.sin(t / 3.0))
    >>> mon = Monitor(det)
    >>> scores = [mon.score_one({"s0": v}) for v in np.sin(np.arange(120) / 3.0)]
    >>> scores[0] is None, scores[-1] is not None
    (True, True)
    """

    def __init__(self, detector: Detector | str | Path, *, every_sample: bool = False, silence: int = 100,
                 log: RateLimitedLog | None = None, time_field: str | None = None, fmt: str = "auto",
                 max_line: int = MAX_LINE, max_time_jump: float | None = MAX_TIME_JUMP,
                 drift_rate: float | None = None, drift_every: int | None = None, early: bool = True,
                 tags: dict[str, str] | None = None, precision: str | None = None,
                 timezone: str | None = None) -> None:
        detector = _fitted(detector)
        self.detector = detector
        self.timezone = detector.timezone if timezone is None else check_zone(timezone)
        self.sensors = list(detector.sensors_)
        self.every_sample = check_flag("every_sample", every_sample)
        self.silence = whole_number("silence", silence, 1)
        self.log = _checked_log(log) or RateLimitedLog(quiet=True)
        self.parser = RecordParser(self.sensors, fmt=fmt, time_field=time_field, log=self.log,
                                   max_line=max_line, max_time_jump=max_time_jump, trained_time=detector.time_name_,
                                   tags=tags, precision=precision)
        self.threshold = float(detector.threshold_)
        self.window = int(detector.window_)
        early_threshold = getattr(detector, "early_threshold_", None) if check_flag("early", early) else None
        base = detector.state_.contrib_base
        # the early rows give the early alarms and the events' bounds (as batch scoring's: see EventTracker)
        self.keeps_early = early_threshold is not None or base is not None
        self.core = detector.core(device="cpu", drift_rate=drift_rate, drift_every=drift_every,
                                  early=self.keeps_early)
        self.early = None if early_threshold is None else EarlyWatch(
            self.sensors, early_threshold, detector.event_gap, base)
        self.tracker = EventTracker(self.sensors, merge_gap=detector.event_gap, onset_base=base,
                                    onset_from=max(detector.state_.windows) - 1)
        self.pending_times: deque[Any] = deque()
        self.emitted = 0
        self.events = 0
        self.anomalous = 0
        self.max_score = -math.inf
        # the core scores without the silent sensors
        self._silent = SilentSensors(self.core, self.silence, early=self.keeps_early)
        self.degraded = self._silent.scoring
        self.silent_reports = 0
        self.started = _time.monotonic()
        self._flushed = False
        self._excel_checked = False  # whether pushed numeric times were checked for Excel serial dates (once)
        self._last_time: np.datetime64 | None = None  # the seasonal profile's time for a sample without one

    def __copy__(self) -> Monitor:
        """A fork of the stream, as ``copy.deepcopy`` makes, that shares the detector, its fitted state, the
        networks and the window scales' terms (which scoring never changes).

        A shallow copy sharing the stream's buffers, counters and open event would not be a copy: feeding it
        would move the original.
        """
        return copy.deepcopy(self, {id(item): item for item in self._shared()})

    def _shared(self) -> list[Any]:
        """What copies of this monitor share: the detector, its fitted state, the networks and the window scales'
        terms."""
        core = scoring_core(self.core)
        return [self.detector, core.state, *(scale.model for scale in core.scales if scale.model is not None),
                *(scale.term for scale in core.scales)]

    def fork(self, log: Any) -> Monitor:
        """A copy (:meth:`__copy__`: sharing the detector and its networks) that warns through ``log``, started now:
        a fresh monitor's fork is one more stream of the same settings (a device's, :mod:`~.devices`).

        Parameters
        ----------
        log
            Where the fork's warnings and notes go, as the constructor's ``log`` (an object with
            ``warn(kind, message)`` and ``info(message)``).
        """
        return _started(copy.copy(self), _checked_log(log))

    def forks(self) -> Callable[[Any], Monitor]:
        """A maker of forks of this monitor as it is now: ``forks()(log)`` is :meth:`fork` ``(log)``, the same
        records, at a quarter of its cost where many are made (a device a line, :mod:`~.devices`).

        The forks share what :meth:`__copy__` shares and everything it holds (the detector's arrays), which scoring
        never changes: each is unpickled from a :class:`~tsae.pipelines.anomaly.blueprint.Blueprint` taken now.
        """
        blueprint = Blueprint(self, [*self._shared(), self.log])  # the log: each fork's own replaces it
        return lambda log: _started(blueprint.copy(), _checked_log(log))

    def __repr__(self) -> str:
        """The detector's model, sensors and window, the samples pushed and scored, the events closed."""
        flushed = ", flushed" if self._flushed else ""
        return (f"Monitor(model={self.detector.model!r}, sensors={len(self.sensors)}, window={self.window}, "
                f"seen={self._silent.tracker.seen}, scored={self.emitted}, events={self.events}{flushed})")

    # -- the core -------------------------------------------------------------
    def push(self, x: Any, times: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Score a block of samples ``(n_sensors, n)`` (NaN = missing); return event/sample records.

        After :meth:`flush` it raises a RuntimeError (see the class notes).

        Parameters
        ----------
        x
            The samples, ``(n_sensors, n)``; a DataFrame (rows are time, one column per sensor) is
            accepted too.
        times
            One per sample, carried into the records; text is read as ``tsae monitor`` reads a time field
            (:meth:`~tsae.io.records.RecordParser.read_times`: ``"12:00:01"`` as seconds, on past midnight,
            ``"2024-05-01 12:00Z"`` as ``"2024-05-01T12:00:00Z"``, ``"7"`` as 7.0), other values as given;
            numbers that look like Excel serial dates are warned about once (a UserWarning, as the table reader
            warns), judged on the first push with numeric times. Where the detector removes a seasonal profile,
            the times (dates, or numbers as Unix times) place each sample in the week, UTC instants on the wall
            clock of ``timezone``.
        """
        return self._push(x, times, judge_times=True)

    def _push(self, x: Any, times: Sequence[Any] | None, *, judge_times: bool) -> list[dict[str, Any]]:
        """:meth:`push`; ``judge_times``: check the times for Excel serial dates (not for :meth:`push_lines`,
        whose parser judges them by the time field's name too, as the table reader does)."""
        return self._run(self._push_steps(x, times, judge_times=judge_times))

    def _run(self, steps: FrameSteps[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Run a push in steps here (its frames scored by this monitor's own core), the network on the detector's
        ``threads`` as batch scoring runs it: its results depend on the thread count in their last bits."""
        scales = scoring_core(self.core).scales
        if scales[0].model is None:
            return run_steps(steps, scales)
        with torch_threads(self.detector.threads):
            return run_steps(steps, scales)

    def _push_steps(self, x: Any, times: Sequence[Any] | None, *,
                    judge_times: bool) -> FrameSteps[list[dict[str, Any]]]:
        """:meth:`_push` in steps (:data:`~tsae.pipelines.anomaly.scoring.FrameSteps`): the frames of many
        devices' monitors are scored together (:mod:`~tsae.pipelines.anomaly.devices`)."""
        self._check_open()
        index_times = series_times(x, self.timezone) if times is None else None
        x = as_chunk(sensor_columns(x, self.sensors, "x"), len(self.sensors))
        times = _checked_times(times, x.shape[1])
        if judge_times and times is not None:
            times, clocks = self.parser.read_times(times)  # text read as a stream's time field is (one parser)
            self._excel_checked = self._excel_checked or clocks
            if not self._excel_checked:
                self._check_excel_days(times)
        x = self._without_profile(x, times if index_times is None else index_times)
        if x.shape[1] == 0:
            return []
        block = SCORE_BLOCK
        if x.shape[1] <= block:
            return (yield from self._push_block_steps(x, times))
        # a block at a time, as batch scoring takes them: the core's memory grows with the samples pushed at once
        # (one MQTT message of 600,000 lines took 1.4 GB); the scores are the same whatever the chunking
        records: list[dict[str, Any]] = []
        for start in range(0, x.shape[1], block):
            part = None if times is None else times[start:start + block]
            records += yield from self._push_block_steps(x[:, start:start + block], part)
        return records

    def _without_profile(self, x: np.ndarray, times: Any) -> np.ndarray:
        """``x`` (C, n) with the detector's seasonal profile removed at ``times``, as batch scoring removes it.

        Times are read as :func:`~tsae.pipelines.anomaly.profile_times.profile_dates` reads them (dates, or numbers as
        Unix times: seconds to nanoseconds, told by their size; UTC instants on the wall clock of ``timezone``), as
        ``tsae detect score`` reads a time column. A sample without a date takes the last one before it, across
        pushes; a stream that has given none yet takes the time the samples arrive (the wall clock of ``timezone``,
        else this machine's, warned once): a live stream is never stopped for want of dates. Without a profile, ``x``.
        """
        profile = self.detector.seasonal_
        if profile is None or x.shape[1] == 0:
            return x
        found = profile_dates(times, self.timezone)
        if found is None:
            found = np.full(x.shape[1], np.datetime64("NaT"), dtype="datetime64[ns]")
        elif np.isnat(found[0]):
            found = found.copy()  # it may be the caller's index (a DataFrame's dates are read in place)
        if np.isnat(found[0]) and self._last_time is not None:
            found[0] = self._last_time
        elif np.isnat(found).all():
            self.log.warn("profile-clock", f"samples without dates, and the detector removes normal levels by time "
                                           f"({profile.describe()}): the time they arrive is used")
            found[0] = now_on_wall_clock(self.timezone)
        found = filled_times(found)
        self._last_time = found[-1]
        return profile.apply(x, found)

    def _push_block_steps(self, x: np.ndarray, times: Sequence[Any] | None) -> FrameSteps[list[dict[str, Any]]]:
        """Score samples ``(n_sensors, n)``, ``n`` at most :data:`SCORE_BLOCK`, in steps."""
        sensor_records = self._track_silence(x, times)
        self.pending_times.extend(times if times is not None else [None] * x.shape[1])
        scores, contrib = yield from self.core._push_rows_steps(as_chunk(x, len(self.sensors)).T)
        contrib = contrib.T
        early = self.core.take_early() if self.keeps_early else None
        if early is not None and self.tracker.onset:  # the samples' early rows before their scores
            self.tracker.push_onset(early)
        records = sensor_records + self._emit(scores, contrib)
        if self.early is not None and early is not None:  # after the final scores: an event they opened silences
            records += self.early.push(early, times, self.tracker.in_event, self.emitted)  # the early alarm
        return records

    def _check_excel_days(self, times: Sequence[Any]) -> None:
        """Warn once when pushed times are numbers that look like Excel serial dates (their span in
        :func:`~tsae.io.table_time.excel_days_span`); a push without numeric times does not count."""
        # (its warning names the caller of push: push, _push, _run, run_steps, _push_steps and this are 6 frames)
        numbers = [number for number in map(_time_number, times) if number is not None]
        if not numbers:
            return
        self._excel_checked = True
        span = excel_days_span(np.array(numbers))
        if span is not None:
            warnings.warn(f"Monitor.push: times hold numbers {span[0]:.10g} to {span[1]:.10g}, which look like Excel "
                          f"serial dates (days since 1899-12-30) but are kept as numbers in the records: if they are "
                          f"dates, push them as dates (numpy datetime64 or ISO text), e.g. "
                          f"pandas.to_datetime(times, unit='D', origin='1899-12-30')", UserWarning, stacklevel=7)

    def flush(self) -> list[dict[str, Any]]:
        """End of the stream: score the last rows and close the open event.

        Flushing again returns ``[]``; the monitor takes no more samples (see the class notes).
        """
        if self._flushed:
            return []
        held, times = self.parser.flush()  # a sample of line protocol metrics still being filled
        records = self._push(held.T, times, judge_times=False) if len(held) else []
        self._flushed = True
        records += self._emit(*self._last_scores())
        if 0 < self.emitted < self.window and not math.isfinite(self.max_score):
            # batch scoring refuses such a file; a stream is already under way, so it is told, not refused
            self.log.warn("short", f"the stream ended after {self.emitted} sample(s), fewer than the detector's "
                                   f"window ({self.window}): none could be scored")
        last = self.tracker.flush()
        self.events += len(last)
        records.extend({"type": "event", **e.to_dict()} for e in last)
        return records

    def _last_scores(self) -> tuple[np.ndarray, np.ndarray]:
        """The core's flush: the last ``scores (m,)`` and ``contrib (n_sensors, m)``.

        A stream shorter than the detector's shortest window, none of whose sensors went silent (a silent sensor's
        error is its normal level), has no score: each of its samples' is NaN, what the core's flush finds after a
        pass over every scale (about a quarter of the cost of a device that sent a line, :mod:`~.devices`).
        """
        core = scoring_core(self.core)
        if self.silent_reports == 0 and core.seen < min(scale.window for scale in core.scales):
            m = len(self.pending_times)
            return np.full(m, np.nan), np.full((len(self.sensors), m), np.nan)
        return self.core.flush()

    def _check_open(self) -> None:
        """A RuntimeError when the stream was flushed: a monitor scores one stream."""
        if self._flushed:
            raise RuntimeError("the monitor was flushed (its stream ended): it takes no more samples; "
                               "score a new stream with a new Monitor")

    def _emit(self, scores: np.ndarray, contrib: np.ndarray) -> list[dict[str, Any]]:
        """Records for newly final samples: ``scores (m,)``, ``contrib (n_sensors, m)``."""
        m = len(scores)
        if m == 0:
            return []
        times = [self.pending_times.popleft() for _ in range(m)]
        flags = scores > self.threshold
        first = self.emitted
        self.emitted += m
        self.anomalous += int(flags.sum())
        finite = scores[np.isfinite(scores)]
        if finite.size:
            self.max_score = max(self.max_score, float(finite.max()))
        have_times = any(t is not None for t in times)
        events = self.tracker.push(scores, flags, contrib, times if have_times else None)
        records: list[dict[str, Any]] = []
        if self.every_sample:
            for k in range(m):
                records.append({
                    "type": "sample", "index": first + k, "time": record_value(times[k]), "score": float(scores[k]),
                    "anomaly": int(flags[k]),
                    "contrib": {name: round(float(contrib[i, k]), 6) for i, name in enumerate(self.sensors)},
                })
        for change, what in self.tracker.changes:  # in stream order: an event's alarm, then its close
            if change == "open":
                records.append({"type": "alarm", "source": "score", **what, "threshold": self.threshold})
            else:
                records.append({"type": "event", **what.to_dict()})
        self.events += len(events)
        return records

    def _track_silence(self, x: np.ndarray, times: Sequence[Any] | None) -> list[dict[str, Any]]:
        """Silent sensors (missing for ``silence`` samples in a row), wherever the blocks split the stream.

        Tells the core which samples to score without them (:mod:`~tsae.pipelines.anomaly.silent`);
        returns a ``sensor`` record when one goes silent and when it reports again, also warned about.
        """
        first = self._silent.tracker.seen
        changes = self._silent.push(x)
        records: list[dict[str, Any]] = []
        for i, state, index, since in changes:
            name = self.sensors[i]
            if state == "silent":
                self.silent_reports += 1
                what = "holding its last good value" if len(self.sensors) == 1 else \
                    "scoring the other sensors without it until it reports again"
                self.log.warn(f"silent-{i}", f"sensor {name!r} silent for {self.silence} samples: {what}")
            else:
                self.log.info(f"sensor {name!r} is reporting again")
            time = None if times is None else times[index - first]
            records.append({"type": "sensor", "sensor": name, "state": state, "index": index,
                            "time": record_value(time), "since_index": since})
        return records

    # -- river-style ----------------------------------------------------------
    def _row(self, x: Any) -> np.ndarray:
        if _is_labelled(x):  # a pandas Series of one sample: matched by its labels, as a DataFrame's columns
            x = {str(label): value for label, value in x.items()}
        if isinstance(x, dict):
            row = np.full(len(self.sensors), np.nan)
            unknown = [str(key) for key in x if key not in self.parser.index]
            if unknown:  # a misspelt sensor would silently be a missing value
                raise ValueError(f"x: unknown sensor(s) {', '.join(unknown)[:200]} (the detector's sensors are "
                                 f"{', '.join(self.sensors)[:200]})")
            for key, value in x.items():
                if value is not None:
                    row[self.parser.index[key]] = _one_number(value, f"x[{key!r}]")
            return row
        row = real_array(x, "x").reshape(-1)
        if row.size != len(self.sensors):
            raise ValueError(f"expected {len(self.sensors)} sensor values, got {row.size}")
        return row

    def score_one(self, x: Any) -> float | None:
        """Feed one sample; return the latest final score.

        Parameters
        ----------
        x
            One sample: a dict sensor -> value, or a sequence in sensor order.

        Returns
        -------
        float or None
            The score of the latest sample whose score became final (a higher score is
            indicative of an anomaly), or ``None`` while no score is final yet (the first window).
        """
        before = self.emitted
        self.last_records = self.push(self._row(x)[:, None])
        if self.emitted == before:
            return getattr(self, "_last_score", None)
        self._last_score = self._latest
        return self._last_score

    @property
    def _latest(self) -> float | None:
        row = self.core.last_row
        return None if row is None else float(row.sum() / len(self.sensors))

    def learn_one(self, x: Any) -> Monitor:
        """Feed one normal sample without reporting it (the autoencoder itself stays fixed); returns ``self``.

        Parameters
        ----------
        x
            One sample: a dict sensor -> value, or a sequence in sensor order.
        """
        self.push(self._row(x)[:, None])
        return self

    # -- text input -----------------------------------------------------------
    def push_lines(self, lines: Iterable[str | bytes]) -> list[dict[str, Any]]:
        """Parse raw CSV, JSON or line protocol lines and score them (after :meth:`flush`: a RuntimeError).

        Parameters
        ----------
        lines
            A list (any iterable) of lines, each text or UTF-8 bytes; a line that is
            neither, or does not parse, is counted as malformed and skipped, as on the command line.
            One text of several lines is refused (it would be read a character at a time): pass
            ``text.splitlines()``.
        """
        return self._run(self.push_lines_steps(lines))

    def push_lines_steps(self, lines: Iterable[str | bytes]) -> FrameSteps[list[dict[str, Any]]]:
        """:meth:`push_lines` in steps (:data:`~tsae.pipelines.anomaly.scoring.FrameSteps`), for a caller that
        scores the frames of many monitors together (:mod:`~tsae.pipelines.anomaly.devices`).

        Parameters
        ----------
        lines
            As for :meth:`push_lines`.
        """
        self._check_open()
        if isinstance(lines, (str, bytes, bytearray)):
            raise TypeError(f"lines must be a list of lines, got one {type(lines).__name__} "
                            "(pass text.splitlines(), or [line] for one line)")
        if not isinstance(lines, Iterable):
            raise TypeError(f"lines must be a list of lines (text or bytes), got {type(lines).__name__}")
        rows, times = self.parser.parse(lines)
        if len(rows) == 0:
            return []
        have_times = any(t is not None for t in times)
        return (yield from self._push_steps(rows.T, times if have_times else None, judge_times=False))

    def summary(self) -> dict[str, Any]:
        """The stream's counts so far, as the ``{"type": "summary", ...}`` record ``tsae monitor`` writes last.

        Samples scored, anomalous samples, events, early alarms, the threshold and the highest score;
        the parser's counts of lines (malformed, out of order, duplicates ...), the repaired and clipped
        values, the silent-sensor reports, the seconds since the monitor started, and the drift updates
        when drift is on.
        """
        counts = dict(self.parser.counts)
        return {
            "type": "summary", "samples": self.emitted, "anomalous_samples": self.anomalous,
            "events": self.events, "threshold": self.threshold,
            "early_alarms": 0 if self.early is None else self.early.alarms,
            "max_score": None if not math.isfinite(self.max_score) else self.max_score,
            "lines": counts["lines"], "malformed": counts["malformed"],
            "missing_values": counts["missing_values"], "repaired_values": int(self.core.repaired),
            "out_of_order": counts["out_of_order"], "time_jumps": counts["time_jumps"],
            "duplicates": counts["duplicates"], "unreadable_times": counts["unreadable_times"],
            "other_series": counts["other_series"],
            "clipped_values": int(self.core.clipped), "silent_sensor_reports": self.silent_reports,
            "unknown_fields": sorted(self.parser.unknown_fields),
            "seconds": round(_time.monotonic() - self.started, 3),
            **self._drift_summary(),
        }

    def _drift_summary(self) -> dict[str, Any]:
        """The drift updates applied and skipped, and the score level (nothing when drift is off)."""
        core = self.core
        if not isinstance(core, DriftingCore):
            return {}
        return {"drift_updates": core.updates, "drift_skipped": core.skipped, "drift_level": round(core.level, 6)}


def _started(monitor: Monitor, log: Any) -> Monitor:
    """``monitor`` (a new fork) warning through ``log``, its clock started now."""
    monitor.log = monitor.parser.log = monitor.parser.metrics.log = log
    monitor.started = _time.monotonic()
    return monitor


def _fitted(detector: Any) -> Detector:
    """``detector`` if it is a fitted Detector, the detector a path names, or a one-line error naming it."""
    if isinstance(detector, Detector):
        detector.fitted_state()  # NotFittedError, not an AttributeError about sensors_
        return detector
    if not isinstance(detector, (str, os.PathLike)):
        raise TypeError(f"detector must be a fitted Detector or a detector file path, got {type(detector).__name__}")
    return Detector.load(Path(detector), device="cpu")


def _checked_log(log: Any) -> Any:
    """``log`` if it is None or has ``warn(kind, message)`` and ``info(message)``, else a TypeError naming it."""
    if log is not None and not all(callable(getattr(log, name, None)) for name in ("warn", "info")):
        raise TypeError(f"log must have warn(kind, message) and info(message) methods (a RateLimitedLog) or be "
                        f"None, got {type(log).__name__}")
    return log


def _time_number(value: Any) -> float | None:
    """A pushed time as a float when it is a real number (not a bool, a date or text), else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    try:
        return float(value)
    except OverflowError:  # an int too large for a float: no date of Excel's
        return None


def _checked_times(times: Any, n: int) -> Sequence[Any] | None:
    """``times`` if it gives one time per sample of a block of ``n`` (or is None), else a ValueError."""
    if times is None:
        return None
    count = len(times) if hasattr(times, "__len__") and not isinstance(times, (str, bytes)) else None
    if count != n:
        got = f"{count} time(s)" if count is not None else f"a {type(times).__name__}"
        raise ValueError(f"times must hold one time per sample ({n}), got {got}")
    return list(times)


def _is_labelled(x: Any) -> bool:
    """True for a pandas Series whose labels are not just its positions (``pd.Series([1.0, 2.0])`` is in order)."""
    index = getattr(x, "index", None)
    if index is None or not hasattr(x, "items") or is_dataframe(x):
        return False
    return not (index.dtype.kind in "iu" and list(index) == list(range(len(index))))


def _one_number(value: Any, name: str) -> float:
    """``value`` as a float when it is one real number, else a ValueError naming ``name``."""
    number = real_array(value, name)
    if number.ndim != 0:
        raise ValueError(f"{name} must be one number, got shape {number.shape}")
    return float(number)


@dataclass
class StreamSettings:
    """Where ``tsae monitor`` reads from and writes to (see :func:`run_monitor`)."""

    source: str
    sink: str
    mqtt: str | None = None
    topic: str = "tsae/samples"
    out_topic: str | None = None
    client_id: str | None = None
    detector: str | Path | None = None
    clean_session: bool = False
    outbox: str | Path | None = None
    source_options: dict[str, str] = field(default_factory=dict)
    sink_options: dict[str, str] = field(default_factory=dict)
    max_line: int = MAX_LINE
    by_topic: bool = False  # the MQTT source gives each topic's lines in blocks of their own (devices by topic)
    block_bytes: int = 1 << 16  # most bytes of stdin read at once

    def broker(self) -> tuple[str, int]:
        from tsae.io.streams import parse_host_port

        if not self.mqtt:
            raise ValueError("the mqtt source and sink need a broker address (mqtt='HOST:PORT')")
        return parse_host_port(self.mqtt)


def _check_registered(settings: StreamSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    from tsae.plugins import stream_sinks, stream_sources

    sources, sinks = stream_sources(), stream_sinks()
    for name, registry, kind, options in ((settings.source, sources, "source", settings.source_options),
                                          (settings.sink, sinks, "sink", settings.sink_options)):
        if name not in registry:
            known = ", ".join(sorted(registry)) or "none"
            raise ValueError(f"no stream {kind} {name!r} is registered (registered: {known}; see `tsae plugins`)")
        if options and name in _BUILTIN_STREAMS:
            raise ValueError(f"the built-in stream {kind} {name!r} takes no plugin options "
                             f"(got {', '.join(sorted(options))})")
    return sources, sinks


#: sources and sinks built from the monitor's own settings; any other is a plugin's, built from its options
_BUILTIN_STREAMS = ("stdin", "stdout", "mqtt")


def stream_names(source: str | None, sink: str | None, mqtt: str | None, out_topic: str | None) -> tuple[str, str]:
    """The source and sink a monitor reads and writes: the ones named, else ``mqtt`` with a broker (the source) or
    an ``out_topic`` (the sink), else ``stdin`` and ``stdout``."""
    return source or ("mqtt" if mqtt else "stdin"), sink or ("mqtt" if out_topic is not None else "stdout")


def _out_topic(settings: StreamSettings) -> str:
    """The topic the MQTT sink publishes to: ``--out-topic``, else ``tsae/events`` (an empty one is refused)."""
    return "tsae/events" if settings.out_topic is None else settings.out_topic


def _check_no_loop(topic: str, out_topic: str) -> None:
    """A one-line ValueError when the input topic (filter) matches the output topic on the same broker: the monitor
    would read its own records back, each one a malformed line."""
    from paho.mqtt.client import topic_matches_sub

    if topic_matches_sub(topic, out_topic):
        raise ValueError(f"--out-topic {out_topic} is matched by --topic {topic}: the monitor would read its own "
                         "records back as input; publish them to a topic outside it")


def _open_streams(settings: StreamSettings, log: RateLimitedLog, stdin: Any, stdout: Any,
                  source: Any = None) -> tuple[Any, Any]:
    """Build the source and the sink named by ``settings`` (``source``: one already built); their status lines go to
    ``log``, the MQTT source's warnings of bad payloads through its rate limit.

    A plugin's options are checked before either stream opens.
    """
    from tsae.plugins import prepare_stream

    sources, sinks = _check_registered(settings)
    if settings.source == "mqtt" or settings.sink == "mqtt":  # before either stream opens (or connects)
        from tsae.io.mqtt import check_topic

        if settings.source == "mqtt" and source is None:
            check_topic(settings.topic, wildcards=True, option="--topic")
        if settings.sink == "mqtt":
            check_topic(_out_topic(settings), wildcards=False, option="--out-topic")
        if settings.source == "mqtt" and settings.sink == "mqtt" and source is None:
            _check_no_loop(settings.topic, _out_topic(settings))
    open_source = open_sink = None
    if source is None and settings.source not in _BUILTIN_STREAMS:
        open_source = prepare_stream("sources", settings.source, settings.source_options)
    if settings.sink not in _BUILTIN_STREAMS:
        open_sink = prepare_stream("sinks", settings.sink, settings.sink_options)
    if source is not None:
        stream_in = source
    elif open_source is not None:
        stream_in = open_source()
    elif settings.source == "mqtt":
        from tsae.io.mqtt import session_client_id

        host, port = settings.broker()
        client_id = settings.client_id
        if client_id is None and settings.detector is not None:
            client_id = session_client_id(settings.detector, settings.topic)
        stream_in = sources["mqtt"](host=host, port=port, topic=settings.topic, client_id=client_id,
                                    session_expiry=None if settings.clean_session else SESSION_EXPIRY,
                                    on_status=log.info, on_warning=log.warn, max_line=settings.max_line,
                                    by_topic=settings.by_topic)
    else:
        stream_in = sources["stdin"](stream=stdin, max_line=settings.max_line, on_status=log.info,
                                     block_bytes=settings.block_bytes)
    if open_sink is not None:
        stream_out = open_sink()
    elif settings.sink == "mqtt":
        host, port = settings.broker()
        stream_out = sinks["mqtt"](host=host, port=port, topic=_out_topic(settings),
                                   client_id=settings.client_id and settings.client_id + "-out",
                                   outbox=settings.outbox, on_status=log.info)
    else:
        stream_out = sinks["stdout"](stream=stdout)
    return stream_in, stream_out


def _writer(stream_out: Any) -> Any:
    def write(records: list[dict[str, Any]]) -> None:
        if not records:
            return
        if hasattr(stream_out, "write_many"):
            stream_out.write_many(records)
        else:
            for record in records:
                stream_out.write(record)
    return write


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event, stream_in: Any, caught: list[int]) -> Iterator[None]:
    """While inside, SIGTERM, SIGHUP and a first Ctrl-C (SIGINT) set ``stop``, append their number to ``caught`` and
    close the source (the loop then ends cleanly, after the block being scored).

    SIGHUP (the terminal or SSH session closed) killed the monitor at once: no summary, and the records an MQTT
    sink held in memory were lost, ``--outbox`` or not. A hangup that is ignored (``nohup``) stays ignored. Ctrl-C
    raised KeyboardInterrupt wherever it landed: inside a push, the block's samples were counted in the summary but
    their records never written (529 of 699 sample records). A second Ctrl-C interrupts at once, as before.
    """
    import signal

    def on_term(signum: int, frame: Any) -> None:
        caught.append(signum)
        stop.set()
        if signum == signal.SIGINT:  # a second Ctrl-C: the handler there was (KeyboardInterrupt at once)
            signal.signal(signal.SIGINT, previous.get(signal.SIGINT) or signal.default_int_handler)
        closer = getattr(stream_in, "close", None)
        if closer is not None:
            closer()

    previous: dict[int, Any] = {}
    try:
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, on_term)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # an ignored Ctrl-C stays ignored
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, on_term)
        hangup = getattr(signal, "SIGHUP", None)  # none on Windows
        if hangup is not None and signal.getsignal(hangup) is not signal.SIG_IGN:
            previous[hangup] = signal.signal(hangup, on_term)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _serve(monitor: Monitor | DeviceMonitors, stream_in: Any, write: Any, stop: threading.Event) -> int:
    """Score every block until the source ends or ``stop`` is set; 130 on Ctrl-C."""
    code = 0
    with torch_threads(1):
        try:
            for block in _blocks(stream_in):
                if isinstance(block, np.ndarray):  # binary rows (--raw): (sensors, n)
                    write(cast(Monitor, monitor).push(block))
                elif block and isinstance(monitor, DeviceMonitors):
                    parts = getattr(block, "parts", None)  # an MQTT block's lines by topic (TopicLines)
                    write(monitor.push_topics(parts) if parts is not None
                          else monitor.push_lines(block, getattr(block, "topic", None)))  # (a block of one topic)
                elif block:
                    write(monitor.push_lines(block))
                if stop.is_set():
                    break
        except KeyboardInterrupt:
            code = 130
        try:
            write(monitor.flush())
        except KeyboardInterrupt:
            code = 130
    return code


def _close_all(log: RateLimitedLog, *streams: Any) -> None:
    """Close every stream; a failing close is reported in one line and does not stop the others."""
    from tsae.errors import first_line

    for stream in streams:
        closer = getattr(stream, "close", None)
        try:
            if closer is not None:
                closer()
        except Exception as exc:  # noqa: BLE001 - shutting down: one failing close must not hide the summary
            # a plugin's stream names itself ("stream sink 'x' of plugin ... failed to close: ...")
            where = "" if hasattr(stream, "where") else f"closing the {type(stream).__name__} failed: "
            log.info(f"warning: {where}{first_line(exc)}")


def run_monitor(detector: str | Path, *, fmt: str = "auto", mqtt: str | None = None, topic: str = "tsae/samples",
                out_topic: str | None = None, every_sample: bool = False, time_field: str | None = None,
                silence: int = 100, client_id: str | None = None, quiet: bool = False,
                source: str | None = None, sink: str | None = None,
                source_options: dict[str, str] | None = None, sink_options: dict[str, str] | None = None,
                stdin: Any = None, stdout: Any = None, stderr: Any = None, max_line: int = MAX_LINE,
                max_time_jump: float | None = MAX_TIME_JUMP, raw: str | None = None, clean_session: bool = False,
                outbox: str | Path | None = None, drift_rate: float | None = None,
                drift_every: int | None = None, early: bool = True, tags: dict[str, str] | None = None,
                precision: str | None = None, group_by: Sequence[str] | None = None,
                max_devices: int = MAX_DEVICES, topic_tags: str | None = None, timezone: str | None = None) -> int:
    """Run ``tsae monitor``: returns the exit code (0 at the end of the input, else 128 + the signal's number, as a
    shell reports a command a signal ended: 130 on Ctrl-C, 143 on SIGTERM, 129 on SIGHUP, as every command exits).

    ``source`` / ``sink`` name a registered stream source / sink (``tsae plugins``); by
    default ``mqtt`` when ``mqtt`` / ``out_topic`` is given, else ``stdin`` / ``stdout``.
    A plugin's source or sink is built with ``factory(**source_options)`` (resp. sink).
    SIGTERM and SIGHUP stop the monitor after the current block (it flushes and writes the summary).
    ``max_line`` and ``max_time_jump`` are :class:`Monitor`'s. ``raw`` (a key of
    :data:`~tsae.io.raw_samples.RAW_DTYPES`) reads binary sample rows from ``stdin`` instead of text
    (see :class:`~tsae.io.raw_samples.RawSampleSource`).

    MQTT: the source's session is persistent under ``client_id`` (default: derived from
    the detector file and the topic, :func:`tsae.io.mqtt.session_client_id`) unless
    ``clean_session``; the sink keeps records in a bounded outbox (in memory, or in the
    file ``outbox`` between runs) and waits a bounded time at exit for the broker to take them.
    ``drift_rate`` / ``drift_every`` override the detector's drift updates (None: its own);
    ``early``: send early alarms, ``tags`` / ``precision``: which line protocol series is read and its timestamps'
    unit (:class:`Monitor`). ``group_by`` (tag names): a monitor per device, at most ``max_devices``, tags from the
    MQTT topic's levels by ``topic_tags`` too (:class:`~tsae.pipelines.anomaly.devices.DeviceMonitors`).
    ``timezone``: the zone on whose wall clock the times meet the detector's seasonal profile (None: the detector's,
    :class:`Monitor`).
    """
    log = RateLimitedLog(stream=stderr, quiet=quiet)
    if outbox is not None:
        from tsae.io.mqtt import check_outbox
        from tsae.io.paths import check_output

        check_output(outbox, [detector])
        check_outbox(outbox)  # before any connection: a file the monitor did not write is never sent
    det = Detector.load(detector, device="cpu")
    if timezone is not None and det.seasonal_ is None:
        from tsae.pipelines.anomaly.files import unused_timezone

        log.warn("unused-timezone", unused_timezone(timezone))
    # built first: a bad option is refused before any stream opens (an MQTT connection, a plugin's source)
    monitor = Monitor(det, every_sample=every_sample, silence=silence, log=log, time_field=time_field, fmt=fmt,
                      max_line=max_line, max_time_jump=max_time_jump, drift_rate=drift_rate, drift_every=drift_every,
                      early=early, tags=tags, precision=precision, timezone=timezone)
    devices = None
    if group_by:
        if raw is not None:
            raise ValueError("group_by reads each device's tags from text lines: not with raw binary rows")
        devices = DeviceMonitors(monitor, group_by, max_devices=max_devices, topic_tags=topic_tags)
    elif topic_tags is not None:
        raise ValueError("topic_tags gives tags to group by: it needs group_by (such as ['host'])")
    source, sink = stream_names(source, sink, mqtt, out_topic)
    settings = StreamSettings(
        source=source, sink=sink, mqtt=mqtt, topic=topic, out_topic=out_topic, client_id=client_id, detector=detector,
        clean_session=clean_session, outbox=outbox, source_options=dict(source_options or {}),
        sink_options=dict(sink_options or {}), max_line=max_line, by_topic=topic_tags is not None,
        block_bytes=(1 << 16) if devices is None else BLOCK_BYTES,
    )
    if settings.source == "stdin" and stdin is None and sys.stdin is None:  # fd 0 closed when Python started
        raise ValueError("stdin is closed: pipe the samples in (or read them with --mqtt)")
    if settings.sink == "stdout" and stdout is None and sys.stdout is None:
        raise ValueError("stdout is closed: redirect it to a file or pipe (or publish with --out-topic)")
    raw_source: Any = None
    if raw is not None:
        from tsae.io.raw_samples import RawSampleSource

        binary: Any = stdin if stdin is not None else sys.stdin
        raw_source = RawSampleSource(getattr(binary, "buffer", binary), len(det.sensors_), raw)
    stream_in, stream_out = _open_streams(settings, log, stdin, stdout, raw_source)
    write = _writer(stream_out)
    where = f" {mqtt}" if settings.source == "mqtt" else (f" ({raw} binary rows)" if raw else "")
    each = "" if devices is None else (f" for each device ({', '.join(devices.group_by)}; at most "
                                       f"{devices.max_devices})")
    log.info(f"watching {len(monitor.sensors)} sensor(s) ({', '.join(monitor.sensors[:8])}){each}, window "
             f"{det.window_}, threshold {monitor.threshold:.4g}{_drift_note(monitor.core)}; reading "
             f"{settings.source}{where}")
    stop = threading.Event()
    caught: list[int] = []  # SIGTERM, SIGHUP: the signal that stopped the monitor
    code = 0
    try:
        with _stop_on_signals(stop, stream_in, caught):
            code = _serve(monitor if devices is None else devices, stream_in, write, stop)
        if caught:
            code = 128 + caught[0]
    except BrokenPipeError:
        code = 0
    finally:
        if getattr(raw_source, "stray_bytes", 0):
            log.warn("raw-tail", f"stdin: stream ended inside a sample row ({raw_source.stray_bytes} byte(s) dropped)")
        _close_all(log, stream_in)  # no more input: the duplicates count is final
        unwritten = _finish(log, monitor if devices is None else devices, stream_in, stream_out, write)
    if unwritten is not None:  # the run itself went well: its end is the error (an error of the run wins above)
        raise unwritten
    return code


def _finish(log: Any, monitor: Monitor | DeviceMonitors, stream_in: Any, stream_out: Any,
            write: Any) -> Exception | None:
    """Write the summary record of a stream read to its end (or stopped), close the sink and log the summary.

    Returns the error of stdout refusing the summary (``> /dev/full``; the run ended with status 0 and no word when
    no event had been written before it), else None: another sink's failure, or a reader gone, is left be.
    """
    from tsae.io.streams import StdinSource, StdoutSink

    summary = monitor.summary()
    if hasattr(stream_out, "events_delivered"):  # a plugin's sink: what it accepted, not what was detected
        summary["events_delivered"] = stream_out.events_delivered
    summary["duplicates"] += int(getattr(stream_in, "duplicates", 0))
    summary["malformed"] += int(getattr(stream_in, "corrupt", 0))  # compressed data that did not decompress
    unwritten: Exception | None = None
    try:
        write([summary])
    except BrokenPipeError:  # the reader is gone: the summary also goes to the log
        pass
    except ValueError as error:
        unwritten = error if isinstance(stream_out, StdoutSink) else None
    except Exception:  # noqa: BLE001 - a plugin's or the broker's sink: the summary also goes to the log
        pass
    _close_all(log, stream_out)
    if getattr(stream_out, "undelivered", 0):
        log.info("the summary record was among those not delivered")
    if summary.get("lines") == 0 and not summary.get("malformed") and isinstance(stream_in, StdinSource):
        # `: | tsae monitor` said nothing (data that did not decompress is told already, and malformed)
        log.warn("empty-stdin", "stdin: empty (nothing was piped in; expected lines of samples)")
    log.info("summary: " + ", ".join(f"{k}={v}" for k, v in summary.items() if k != "type"))
    return unwritten


def _drift_note(core: Any) -> str:
    """``, drift rate R every N samples`` when the monitor's core updates for drift, else nothing."""
    return f", drift rate {core.rate:g} every {core.every} samples" if isinstance(core, DriftingCore) else ""


def _blocks(source: Any) -> Iterable[list[str]]:
    """Blocks of raw records from a source: its ``blocks()`` when it has one, else its items one by one."""
    if hasattr(source, "blocks"):
        yield from source.blocks()
        return
    for record in source:
        yield [record if isinstance(record, str) else decode_text(bytes(record))]
