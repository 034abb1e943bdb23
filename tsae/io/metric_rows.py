"""Metrics (InfluxDB line protocol, Telegraf JSON: :mod:`tsae.io.line_protocol`) -> rows of a detector's sensors.

Sensors by name: a field ``f`` of measurement ``m`` is the sensor named ``m.f`` when the detector has one, else the
sensor named ``f``. A sensor named with tags after its field, as tsae names the series of an InfluxDB CSV export
(``temp host=a``, ``air.temp host=a site=b``: :func:`tsae.io.influx.series_names`), is that field of the series
carrying those tags only; where several sensors fit a field, the one naming the most tags is it.

One series per sensor: the first series (measurement and its whole tag set) that brings a value for a sensor is the
one read for it; a line of another series for the same sensor (a second host on the topic, interleaved) is counted in
``other_series`` and skipped, and warned about, rather than mixed into one sensor's samples. ``tags`` (``--tag
host=a``) picks the series: a line without those tags is counted so too. A line none of whose fields is a sensor
(Telegraf's ``cpu`` and ``mem`` on the same topic) is counted there as well, its fields listed as unknown.

Samples: the fields of consecutive lines with the same timestamp make one sample (a detector of sensors from several
measurements or series: a line each, a timestamp shared) until one of them would fill a sensor already filled, and a
sample goes out once it holds every sensor, or with the next line that cannot join it, or at the end of the stream
(one sample held at most). Lines without a timestamp join so too (the timestamp the receiver gave them is their
arrival). A string field of a sensor is a missing value of it.

Timestamps: integers in ``precision`` (``ns``, ``us``, ``ms``, ``s``); not told, nanoseconds for line protocol (its
default) and seconds for Telegraf JSON (its ``json_timestamp_units``), unless the first timestamp of the stream read
so is no date between 1980 and 2200 while another precision makes it one: that precision is used from then on,
warned once (a writer of seconds, Telegraf's ``json_timestamp_units = "1ms"``). A sample's time is the UTC instant
as ISO text (``2024-03-01T00:00:00Z``), as ``tsae detect score`` reports a table's such times.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from tsae.io.line_protocol import PRECISIONS, Metric

_TAG = re.compile(r"[^=\s]+=[^=\s]*")
#: plausible dates for an epoch timestamp, in seconds: 1980 to 2200 (outside: another precision is tried)
_PLAUSIBLE = (315_532_800, 7_258_118_400)
#: the largest |nanoseconds| numpy's datetime64[ns] holds (years 1678-2262)
_NS_LIMIT = 9_000_000_000_000_000_000
_CACHE = 4096
_MINUTE_NS = 60 * 10**9
#: ISO text of the minutes timestamps fell in (``2024-03-01T00:00:``), by minute since the epoch (bounded: cleared at
#: :data:`_CACHE`)
_MINUTES: dict[int, str] = {}


class Instant(str):
    """A sample's time from a metric's timestamp: ISO text in UTC (``2024-03-01T00:00:10Z``, to the coarsest of s, ms,
    us, ns that holds it, as :func:`~tsae.io.table_time.iso_time` writes it) that keeps its exact nanoseconds
    (``ns``), so the parser's time checks need not read the text again."""

    ns: int

    def __new__(cls, ns: int) -> Instant:
        minutes, part = divmod(ns, _MINUTE_NS)
        second, part = divmod(part, 10**9)
        prefix = _MINUTES.get(minutes)
        if prefix is None:  # once a minute
            if len(_MINUTES) >= _CACHE:
                _MINUTES.clear()
            day, minute = divmod(minutes, 1440)
            date = str(np.datetime_as_string(np.datetime64(day, "D")))
            prefix = _MINUTES[minutes] = f"{date}T{minute // 60:02d}:{minute % 60:02d}:"
        text = f"{prefix}{second:02d}"
        if part:  # to the coarsest of ms, us, ns that holds it, as numpy writes it
            text += f".{part // 10**6:03d}" if not part % 10**6 else (
                f".{part // 1000:06d}" if not part % 1000 else f".{part:09d}")
        instant = super().__new__(cls, text + "Z")
        instant.ns = ns
        return instant

    def __getnewargs__(self) -> tuple[int]:  # type: ignore[override]  # a copy (pickle) is made from the ns
        return (self.ns,)


class _Log(Protocol):
    def warn(self, kind: str, message: str) -> None: ...


def sensor_patterns(sensors: Sequence[str]) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """For each name a field may go by (``f`` or ``m.f``): the sensors of that name, with the tags each needs.

    Examples
    --------
    >>> sensor_patterns(["flow", "temp host=a"])
    {'flow': [(0, {})], 'temp host=a': [(1, {})], 'temp': [(1, {'host': 'a'})]}
    """
    patterns: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for i, name in enumerate(sensors):
        patterns.setdefault(name, []).append((i, {}))
        words = name.split(" ")
        k = len(words)
        while k > 1 and _TAG.fullmatch(words[k - 1]):
            k -= 1
        if k < len(words):
            need = dict(word.split("=", 1) for word in words[k:])
            patterns.setdefault(" ".join(words[:k]), []).append((i, need))
    return patterns


class MetricRows:
    """Turn :class:`~tsae.io.line_protocol.Metric` records into rows of the detector's sensors (see the module
    docstring).

    Parameters
    ----------
    sensors
        The detector's sensor names, in order.
    tags
        Tags a line must carry to be read (None: any).
    precision
        The timestamps' precision (a key of :data:`~tsae.io.line_protocol.PRECISIONS`; None: each format's default).
    log
        Where warnings go (``warn(kind, message)``).
    counts, unknown_fields
        The parser's counters (``other_series`` is added) and its set of unknown field names (at most 100 kept).
    """

    def __init__(self, sensors: Sequence[str], *, tags: Mapping[str, str] | None, precision: str | None,
                 log: _Log, counts: dict[str, int], unknown_fields: set[str]) -> None:
        self.sensors = list(sensors)
        self.patterns = sensor_patterns(self.sensors)
        self.tags = dict(tags or {})
        self.precision = precision
        self.log = log
        self.counts = counts
        counts.setdefault("other_series", 0)
        self.unknown_fields = unknown_fields
        self._owner: list[tuple[str, tuple[tuple[str, str], ...]] | None] = [None] * len(self.sensors)
        self._units: dict[str, int] = {}  # per format ("influx", "json"): ns per unit, once decided
        self._cache: dict[tuple[Any, ...], int | None] = {}
        self._plans: dict[tuple[Any, ...], list[tuple[int, int]] | str] = {}  # by series and field names
        self._row: list[float] | None = None  # the sample being filled
        self._filled: set[int] = set()  # its sensors given a value
        self._stamp: Any = None

    # -- matching ---------------------------------------------------------------
    def _sensor(self, measurement: str, tags: tuple[tuple[str, str], ...], field: str) -> int | None:
        key = (measurement, tags, field)
        if key in self._cache:
            return self._cache[key]
        found = None
        carried = dict(tags)
        for name in (f"{measurement}.{field}", field):
            fits = [(len(need), i) for i, need in self.patterns.get(name, ())
                    if all(carried.get(k) == v for k, v in need.items())]
            if fits:
                found = max(fits)[1]
                break
        if len(self._cache) >= _CACHE:  # bounded: a stream of ever new tag values
            self._cache.clear()
        self._cache[key] = found
        return found

    def names_sensor(self, metric: Metric) -> bool:
        """Whether one of the metric's fields is a sensor of the detector (whatever series owns it)."""
        tags = tuple(sorted(metric.tags.items())) if metric.tags else ()
        return any(self._sensor(metric.measurement, tags, field) is not None for field in metric.fields)

    def _values(self, metric: Metric) -> dict[int, float] | None:
        """The metric's values by sensor index, or None when the line is not read (counted and warned about)."""
        if self.tags and any(metric.tags.get(k) != v for k, v in self.tags.items()):
            self._other(f"skipping lines without tag(s) {_tag_text(self.tags)} (--tag), such as "
                        f"{_series_text(metric)}")
            return None
        series = (metric.measurement, tuple(sorted(metric.tags.items())) if metric.tags else ())
        key = (series, tuple(metric.fields))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _CACHE:  # bounded: a stream of ever new tag values or field sets
                self._plans.clear()
            plan = self._plans[key] = self._plan(series, metric)
        if isinstance(plan, str):
            self._other(plan)
            return None
        values = list(metric.fields.values())
        return {i: value if type(value) is float else math.nan for at, i in plan
                for value in (values[at],)}

    def _plan(self, series: tuple[str, tuple[tuple[str, str], ...]], metric: Metric) -> list[tuple[int, int]] | str:
        """Which of a metric's fields (by place) are read, as which sensors: a line of the same series and fields
        reads the same, as a series, once it owns a sensor, owns it for good; or why none is (a message)."""
        plan: list[tuple[int, int]] = []
        taken: list[str] = []
        for at, field in enumerate(metric.fields):
            i = self._sensor(series[0], series[1], field)
            if i is None:
                self._unknown(f"{metric.measurement}.{field}")
                continue
            owner = self._owner[i]
            if owner is None:
                self._owner[i] = owner = series
            if owner != series:
                taken.append(self.sensors[i])
                continue
            plan.append((at, i))
        if plan:
            return plan
        if taken:
            first = _series_text(self._owner_of(taken[0]))
            return (f"sensor(s) {', '.join(taken[:5])} are read from series {first}: skipping lines of "
                    f"{_series_text(metric)} (pick one with --tag KEY=VALUE)")
        return (f"skipping lines of measurement {metric.measurement[:60]!r}: none of its fields is a sensor of this "
                "detector")

    def _owner_of(self, sensor: str) -> Metric:
        measurement, tags = self._owner[self.sensors.index(sensor)] or ("", ())
        return Metric(measurement, dict(tags), {}, None)

    def _other(self, message: str) -> None:
        self.counts["other_series"] += 1
        self.log.warn("series", message)

    def _unknown(self, name: str) -> None:
        short = name if len(name) <= 80 else name[:77] + "..."
        if short not in self.unknown_fields and len(self.unknown_fields) < 100:  # bounded memory
            self.unknown_fields.add(short)

    # -- time -------------------------------------------------------------------
    def _time(self, stamp: int | float | str | None, kind: str) -> Any:
        """A metric's timestamp as the sample's time: ISO text (UTC) for a number, as it is for text (an ISO date
        from Telegraf's ``json_timestamp_format``), None for none. A ValueError for a number beyond any date."""
        if stamp is None:
            return None
        unit = self._units.get(kind)
        if type(stamp) is int and unit is not None and abs(ns := stamp * unit) <= _NS_LIMIT:  # most: at once
            return Instant(ns)
        if isinstance(stamp, str):
            try:
                stamp = float(stamp) if "." in stamp or "e" in stamp.lower() else int(stamp)
            except ValueError:
                return stamp
        if isinstance(stamp, float) and not math.isfinite(stamp):
            raise ValueError(f"timestamp {stamp!r} is not finite")
        unit = self._units.get(kind)
        if unit is None:
            unit = self._units[kind] = self._decide_unit(stamp, kind)
        ns = stamp * unit if isinstance(stamp, int) else round(stamp * unit)
        if abs(ns) > _NS_LIMIT:
            raise ValueError(f"timestamp {stamp} ({_unit_name(unit)}) is beyond the dates numpy holds")
        return Instant(int(ns))

    def _decide_unit(self, stamp: float, kind: str) -> int:
        """ns per unit of the stream's timestamps of ``kind``: told, else the format's default unless the first
        timestamp makes no date of 1980-2200 in it and does in another (warned)."""
        if self.precision is not None:
            return PRECISIONS[self.precision]
        default = PRECISIONS["ns" if kind == "influx" else "s"]
        if stamp == 0 or _PLAUSIBLE[0] <= abs(stamp) * default / 1e9 <= _PLAUSIBLE[1]:
            return default
        for name, unit in PRECISIONS.items():
            if _PLAUSIBLE[0] <= abs(stamp) * unit / 1e9 <= _PLAUSIBLE[1]:
                what = "line protocol" if kind == "influx" else "Telegraf JSON"
                self.log.warn("precision", f"{what} timestamps such as {stamp} are no date in {_unit_name(default)}: "
                                           f"read as {_unit_name(unit)} (say so with --precision {name})")
                return unit
        return default

    # -- samples ----------------------------------------------------------------
    def add(self, metric: Metric, kind: str) -> list[tuple[np.ndarray, Any]]:
        """Take one metric (``kind``: ``"influx"`` or ``"json"``); returns the samples it completed.

        A ValueError (the record is malformed) for a timestamp beyond any date; nothing is taken then.
        """
        values = self._values(metric)
        if values is None:
            return []
        stamp = self._time(metric.timestamp, kind)
        done: list[tuple[np.ndarray, Any]] = []
        filled = self._filled
        if self._row is not None and (stamp != self._stamp or not filled.isdisjoint(values)):
            done.extend(self.flush())
        row = self._row
        if row is None:
            row = self._row = [math.nan] * len(self.sensors)
            self._stamp = stamp
        for i, value in values.items():
            row[i] = value
        filled.update(values)
        if len(filled) == len(row):
            done.extend(self.flush())
        return done

    def flush(self) -> list[tuple[np.ndarray, Any]]:
        """The sample being filled, if any (the next line cannot join it, or the stream ended)."""
        if self._row is None:
            return []
        row, stamp = self._row, self._stamp
        self._row, self._stamp = None, None
        self._filled.clear()
        return [(np.array(row), stamp)]


def _unit_name(unit: int) -> str:
    return next(name for name, n in PRECISIONS.items() if n == unit)


def _tag_text(tags: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in tags.items())[:120]


def _series_text(metric: Metric) -> str:
    return ",".join([metric.measurement, *(f"{k}={v}" for k, v in sorted(metric.tags.items()))])[:120]


__all__ = ["Instant", "MetricRows", "sensor_patterns"]
