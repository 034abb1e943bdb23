"""Group flagged samples into events, in batch or as samples stream in.

An event is a run of flagged samples; runs separated by at most ``merge_gap``
unflagged samples are merged into one. Each event reports its first and last
sample (time and row index), its length in samples (``n_samples``: from its first to its last sample, the
unflagged samples of a merged gap too), its flagged samples (``n_flagged``), its peak score (and where), and the
sensors that contributed most to its summed per-sensor error ("top sensors"). Given each
sample's early error rows (``onset``), its first and last sample are where its top sensor's
own error rises and falls within its flagged span (:mod:`~tsae.pipelines.anomaly.onset`), the
flagged span's bounds kept beside them (``flagged_start_index``, ``flagged_end_index``); without, the
flagged span's.

Batch and streaming share one code path: :func:`find_events` feeds a whole series to
an :class:`EventTracker`, which the streaming monitor feeds block by block.
"""
from __future__ import annotations

import datetime
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsae.io.table_time import iso_time
from tsae.pipelines.anomaly.onset import OnsetTrace


@dataclass
class Event:
    """One anomaly event.

    ``start_index`` .. ``end_index`` are the event's first and last sample (its top sensor's onset bounds, else its
    flagged span's; they hold ``peak_index``), and ``n_samples`` is their number (``end_index - start_index + 1``);
    ``n_flagged`` counts its flagged samples (scores above the threshold), all within ``flagged_start_index`` ..
    ``flagged_end_index``, so it may exceed ``n_samples`` when the onset bounds are within the flagged span.
    """

    start_index: int
    end_index: int
    n_samples: int
    peak_score: float
    peak_index: int
    top_sensors: list[tuple[str, float]] = field(default_factory=list)
    start: Any = None
    end: Any = None
    peak_time: Any = None
    #: the first and last flagged sample (``start_index`` and ``end_index`` are within them: see the module notes)
    flagged_start_index: int | None = None
    flagged_end_index: int | None = None
    #: the event's flagged samples (``n_samples`` counts those from ``start_index`` to ``end_index``)
    n_flagged: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["top_sensors"] = [{"sensor": name, "share": round(share, 6)} for name, share in self.top_sensors]
        return {key: record_value(value) for key, value in data.items()}


def record_value(value: Any) -> Any:
    """A value (a time, a score) as the monitor's and the events file's JSON records hold it.

    Parameters
    ----------
    value
        A Python or numpy scalar, text, or None.

    Returns
    -------
    Any
        A date (numpy ``datetime64``, ``datetime``) as ISO 8601 text (NaT as None), another numpy
        scalar as its Python value (``item()``), a non-finite float as None (JSON has no NaN or
        infinity); anything else unchanged.

    Examples
    --------
    >>> record_value(np.float32(1.5)), record_value(float("nan")), record_value("2024-01-01T06:00:00")
    (1.5, None, '2024-01-01T06:00:00')
    >>> record_value(np.datetime64("2024-01-01T06:00:00.000000000"))
    '2024-01-01T06:00:00'
    """
    if isinstance(value, np.datetime64):  # before np.generic, whose item() would give a datetime or an int of ns
        return None if np.isnat(value) else iso_time(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def alarm_fields(sensors: Sequence[str], score: float, shares: np.ndarray | None, index: int, time: Any,
                 top_k: int = 3) -> dict[str, Any]:
    """An alarm record's fields: the sample's index, time and score, and its ``top_k`` sensors by ``shares`` (C,)."""
    top: list[dict[str, Any]] = []
    if shares is not None and len(sensors):
        order = np.argsort(-shares, kind="stable")[:top_k]
        top = [{"sensor": sensors[i], "share": round(float(shares[i]), 6)} for i in order]
    return {"start_index": index, "start": record_value(time), "score": record_value(float(score)), "top_sensors": top}


class EventTracker:
    """Streaming event grouping.

    Parameters
    ----------
    sensors
        Sensor names, in the order of the contributions' rows.
    merge_gap
        Runs separated by at most this many unflagged samples form one event.
    top_k
        How many top sensors each event lists.
    onset_base
        Each sensor's normal error level ``(n_sensors,)`` (the detector's ``contrib_base``): events begin and end where
        their top sensor's early error rows, given by :meth:`push_onset` as the samples arrive, rise and fall
        (:mod:`~tsae.pipelines.anomaly.onset`). None: at the flagged span's bounds.
    onset_from
        The first sample whose early error rows hold every window scale (the longest window less one: the
        detector's ``max(state.windows) - 1``); the rows before it are not read for the bounds.

    Examples
    --------
    >>> tracker = EventTracker(["a", "b"], merge_gap=1)
    >>> flags = np.array([0, 1, 1, 0, 1, 0, 0, 0])
    >>> scores = np.arange(8.0)
    >>> contrib = np.tile([[0.25], [0.75]], (1, 8))
    >>> [(e.start_index, e.end_index, e.peak_score) for e in tracker.push(scores, flags, contrib)]
    [(1, 4, 4.0)]
    """

    def __init__(self, sensors: Sequence[str], merge_gap: int = 0, top_k: int = 3,
                 onset_base: np.ndarray | None = None, onset_from: int = 0) -> None:
        if merge_gap < 0:
            raise ValueError(f"merge_gap={merge_gap!r} must be >= 0")
        self.sensors = list(sensors)
        self.merge_gap = int(merge_gap)
        self.top_k = int(top_k)
        self.position = 0  # global index of the next sample
        self._open: dict[str, Any] | None = None
        self._onset = None if onset_base is None else OnsetRows(np.asarray(onset_base, dtype=np.float64), onset_from)
        #: what the last :meth:`push` did, in order: ``("open", alarm)`` when an event began (its first flagged
        #: sample, :meth:`_alarm`), ``("close", event)`` when one ended
        self.changes: list[tuple[str, Any]] = []

    @property
    def in_event(self) -> bool:
        return self._open is not None

    @property
    def onset(self) -> bool:
        """Whether the events' bounds come from the early error rows (built with ``onset_base``)."""
        return self._onset is not None

    def push(
        self, scores: np.ndarray, flags: np.ndarray, contributions: np.ndarray | None = None,
        times: Sequence[Any] | None = None,
    ) -> list[Event]:
        """Feed the next samples; return the events that closed within them.

        ``scores`` and ``flags`` are ``(n,)``; ``contributions`` (optional) ``(n_sensors, n)``.
        """
        scores = np.asarray(scores, dtype=np.float64)
        flags = np.asarray(flags).astype(bool)
        self.changes = []
        n = scores.size
        base = self.position
        self.position += n
        if self._onset is not None:
            self._onset.score(n, times)
        closed = self._push_runs(scores, flags, contributions, times, base)
        if self._onset is not None:
            self._onset.settle(self.position, None if self._open is None else self._open["last"] + 1)
        return closed

    def push_onset(self, rows: np.ndarray) -> None:
        """The early error rows ``(n, n_sensors)`` of the next samples to arrive (a tracker built with
        ``onset_base``; given before, or with, the scores of those samples)."""
        if self._onset is None:
            raise ValueError("push_onset: this tracker was built without onset_base")
        self._onset.arrive(rows)

    def _push_runs(self, scores: np.ndarray, flags: np.ndarray, contributions: np.ndarray | None,
                   times: Sequence[Any] | None, base: int) -> list[Event]:
        """:meth:`push`'s grouping of the samples ``base .. base + n - 1``."""
        closed: list[Event] = []
        flagged = np.flatnonzero(flags)
        if flagged.size == 0:
            if self._open is not None and self.position - 1 - self._open["last"] > self.merge_gap:
                closed.append(self._close())
            return closed
        # split flagged positions into runs that belong to the same event
        breaks = np.flatnonzero(np.diff(flagged) > self.merge_gap + 1) + 1
        for run in np.split(flagged, breaks):
            first, last = int(run[0]) + base, int(run[-1]) + base
            if self._open is not None and first - self._open["last"] - 1 > self.merge_gap:
                closed.append(self._close())
            local_peak = int(run[np.argmax(scores[run])])
            contrib_sum = None
            if contributions is not None:  # an event's sum goes on from the rows of the blocks before
                carried = None if self._open is None else self._open["contrib"]
                contrib_sum = _row_sum(np.asarray(contributions, dtype=np.float64).T[run], carried)
            peak_score = float(scores[local_peak])
            if self._open is None:
                self._open = {
                    "first": first, "last": last, "count": int(run.size), "peak": peak_score,
                    "peak_index": local_peak + base, "contrib": contrib_sum,
                    "start": times[int(run[0])] if times is not None else None,
                    "end": times[int(run[-1])] if times is not None else None,
                    "peak_time": times[local_peak] if times is not None else None,
                }
                self.changes.append(("open", self._alarm(scores[run[0]], contributions, int(run[0]), first,
                                                         self._open["start"])))
                if self._onset is not None:
                    self._onset.begin(first, last + 1)
            else:
                event = self._open
                event["last"] = last
                event["count"] += int(run.size)
                if times is not None:
                    event["end"] = times[int(run[-1])]
                if contrib_sum is not None:
                    event["contrib"] = contrib_sum
                if peak_score > event["peak"]:
                    event["peak"] = peak_score
                    event["peak_index"] = local_peak + base
                    event["peak_time"] = times[local_peak] if times is not None else None
                if self._onset is not None:
                    self._onset.extend(last + 1)
        if self._open is not None and self.position - 1 - self._open["last"] > self.merge_gap:
            closed.append(self._close())
        return closed

    def flush(self) -> list[Event]:
        """Close the open event, if any (end of stream)."""
        self.changes = []
        return [self._close()] if self._open is not None else []

    def _alarm(self, score: float, contributions: np.ndarray | None, column: int, index: int,
               time: Any) -> dict[str, Any]:
        """An event's opening: its first flagged sample's index, time, score and top sensors there."""
        shares = None if contributions is None else np.asarray(contributions, dtype=np.float64)[:, column]
        return alarm_fields(self.sensors, score, shares, index, time, self.top_k)

    def _close(self) -> Event:
        event = self._open
        assert event is not None
        self._open = None
        top: list[tuple[str, float]] = []
        contrib = event["contrib"]
        bounds = None
        if contrib is not None and self.sensors:
            total = float(contrib.sum())
            order = np.argsort(-contrib, kind="stable")[: self.top_k]
            top = [(self.sensors[i], float(contrib[i] / total) if total > 0 else 0.0) for i in order]
            if self._onset is not None:
                bounds = self._onset.trace.bounds(int(order[0]))
        first, last, start, end = (event["first"], event["last"], event["start"], event["end"]) if bounds is None \
            else bounds
        if first > event["peak_index"]:  # the top sensor's error passed its level after the peak: see onset.py
            first, start = event["peak_index"], event["peak_time"]
        if last < event["peak_index"]:
            last, end = event["peak_index"], event["peak_time"]
        closed = Event(
            start_index=first, end_index=last, n_samples=last - first + 1,
            peak_score=event["peak"], peak_index=event["peak_index"], top_sensors=top,
            start=start, end=end, peak_time=event["peak_time"],
            flagged_start_index=event["first"], flagged_end_index=event["last"], n_flagged=event["count"],
        )
        self.changes.append(("close", closed))
        return closed


class OnsetRows:
    """The early error rows an :class:`EventTracker` holds for its events' bounds (:mod:`~.onset`).

    The rows of the samples that arrived and are not scored yet (``ahead``: a sample's early row is known before
    its score), and those of the open event's unflagged samples after its last flagged one (``held``: they
    belong to it if a flagged sample follows within the merge gap); the open event's flagged span goes into its
    :class:`~tsae.pipelines.anomaly.onset.OnsetTrace` (``trace``) as it grows. At most the scoring delay, a
    block and the merge gap of rows are held.
    """

    def __init__(self, base: np.ndarray, complete_from: int = 0) -> None:
        self.trace = OnsetTrace(base, complete_from)
        self.channels = self.trace.channels
        self.ahead: list[np.ndarray] = []
        self.rows = np.zeros((0, self.channels))  # the rows of samples `start ..` of the scored samples held
        self.times: list[Any] | None = None
        self.start = 0
        self.done = 0  # the samples before this one went into the open event's trace

    def arrive(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.channels:
            raise ValueError(f"onset rows of shape {rows.shape}: expected (n, {self.channels})")
        if len(rows):
            self.ahead.append(rows)

    def score(self, n: int, times: Sequence[Any] | None) -> None:
        """The next ``n`` samples are scored (with ``times``): their rows join the held ones (NaN where none came)."""
        joined = np.concatenate(self.ahead) if len(self.ahead) > 1 else self.ahead[0] if self.ahead else \
            np.zeros((0, self.channels))
        part = joined[:n]
        if len(part) < n:
            part = np.concatenate([part, np.full((n - len(part), self.channels), np.nan)])
        self.ahead = [joined[n:]] if len(joined) > n else []
        self.rows = np.concatenate([self.rows, part]) if len(self.rows) else part
        if self.times is not None or times is not None:
            held = self.times if self.times is not None else [None] * (len(self.rows) - n)
            self.times = [*held, *(times if times is not None else [None] * n)]

    def begin(self, first: int, stop: int) -> None:
        """An event begins at sample ``first``; its samples up to ``stop`` (exclusive) are known to be in it."""
        self.trace.reset()
        self.done = first
        self.extend(stop)

    def extend(self, stop: int) -> None:
        """The open event holds the samples up to ``stop`` (exclusive)."""
        if stop <= self.done:
            return
        a, b = self.done - self.start, stop - self.start
        self.trace.add(self.rows[a:b], self.done, None if self.times is None else self.times[a:b])
        self.done = stop

    def settle(self, scored: int, keep_from: int | None) -> None:
        """The samples before ``scored`` are scored; keep the rows from ``keep_from`` (None: no event is open)."""
        keep = scored if keep_from is None else keep_from
        drop = max(0, keep - self.start)
        self.rows = self.rows[drop:]
        if self.times is not None:
            self.times = self.times[drop:] or None
        self.start += drop


def _row_sum(rows: np.ndarray, carried: np.ndarray | None = None) -> np.ndarray:
    """The sum of ``rows`` ``(k, C)`` (fresh, changed in place), added to ``carried`` ``(C,)`` (None: nothing), one
    row after the other: the same sum, to the last bit, whether an event's rows come in one block or in several
    (a sum that numpy may pair up, or a block's own sum added to the carried one, would round differently)."""
    if carried is not None:
        rows[0] += carried
    return np.add.accumulate(rows, axis=0, out=rows)[-1].copy()


def find_events(
    scores: np.ndarray, flags: np.ndarray, contributions: np.ndarray | None = None,
    sensors: Sequence[str] = (), times: Sequence[Any] | None = None, merge_gap: int = 0, top_k: int = 3,
    onset: np.ndarray | None = None, onset_base: np.ndarray | None = None, onset_from: int = 0,
) -> list[Event]:
    """Group a whole series' flagged samples into events (see :class:`EventTracker`).

    With the series' early error rows ``onset`` ``(n, n_sensors)`` and each sensor's normal error level
    ``onset_base`` (the detector's ``contrib_base``), each event begins and ends where its top sensor's own error
    rises and falls (:mod:`~tsae.pipelines.anomaly.onset`; ``onset_from``: see :class:`EventTracker`);
    :meth:`~tsae.pipelines.anomaly.detector.Detector.events` gives them so.

    Examples
    --------
    >>> events = find_events(np.array([0, 5, 6, 0, 0, 9.0]), np.array([0, 1, 1, 0, 0, 1]))
    >>> [(e.start_index, e.end_index, e.n_samples, e.peak_score) for e in events]
    [(1, 2, 2, 6.0), (5, 5, 1, 9.0)]
    """
    if (onset is None) != (onset_base is None):
        raise ValueError("find_events: give onset and onset_base together, or neither")
    tracker = EventTracker(list(sensors), merge_gap=merge_gap, top_k=top_k, onset_base=onset_base,
                           onset_from=onset_from)
    if onset is not None:
        tracker.push_onset(onset)
    events = tracker.push(scores, flags, contributions, times)
    return events + tracker.flush()


#: the suffixes of an events file: JSON, or CSV (plain or compressed as :func:`tsae.io.table_write.write_table`
#: writes it)
EVENTS_SUFFIXES = (".json", ".csv", ".csv.gz", ".csv.bz2", ".csv.xz")
#: the columns of an events CSV, in order
_CSV_FIELDS = ("start", "end", "start_index", "end_index", "n_samples", "peak_score", "peak_time", "peak_index",
               "top_sensors")


def events_suffix(path: str | Path) -> str:
    """The kind of events file ``path`` names (one of :data:`EVENTS_SUFFIXES`, lower case), else a one-line error.

    Examples
    --------
    >>> events_suffix("run/scores.events.CSV.gz")
    '.csv.gz'
    """
    from tsae.io.paths import kind_suffix

    suffix = kind_suffix(path)
    if suffix not in EVENTS_SUFFIXES:
        raise ValueError(f"{path}: events file must end in .json or .csv (or .csv.gz, .csv.bz2, .csv.xz: compressed)")
    return suffix


def _csv_cell(value: Any) -> str:
    """A value as its events CSV cell: None (no time, a non-finite score) is an empty cell."""
    return "" if value is None else str(value)


def write_events(path: str | Path, events: Sequence[Event], *, protect: Sequence[str | Path] = (),
                 silent_sensors: Sequence[dict[str, Any]] = ()) -> None:
    """Write events atomically, as JSON (``.json``) or CSV (``.csv``; ``.csv.gz``, ``.csv.bz2``, ``.csv.xz``:
    compressed), chosen by suffix (see :func:`events_suffix`).

    The JSON holds ``events`` and ``silent_sensors`` (the sensors scored as silent, as
    :func:`~tsae.pipelines.anomaly.files.score_file` lists them; empty when none). The CSV has one row per
    event (no room for the silent sensors); its ``top_sensors`` cell is ``sensor:share`` pairs joined by ``;``.
    """
    from tsae.io.atomic import atomic_path
    from tsae.io.table_write import write_table

    path = Path(path)
    suffix = events_suffix(path)
    rows = [event.to_dict() for event in events]
    if suffix == ".json":
        with atomic_path(path, protect=tuple(protect)) as tmp:
            tmp.write_text(json.dumps({"events": rows, "silent_sensors": list(silent_sensors)}, indent=2,
                                      default=str) + "\n")
        return
    for row in rows:
        row["top_sensors"] = ";".join(f"{item['sensor']}:{item['share']:.3f}" for item in row["top_sensors"])
    columns = {name: np.array([_csv_cell(row.get(name)) for row in rows], dtype=str) for name in _CSV_FIELDS}
    write_table(path, columns, protect=tuple(protect))
