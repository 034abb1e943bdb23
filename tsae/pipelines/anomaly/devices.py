"""Many devices on one stream: a :class:`~tsae.pipelines.anomaly.monitor.Monitor` per device, one detector shared.

A *device* is a value (or combination of values) of the tags named in ``group_by``, as Kapacitor's
``groupBy('host')`` and InfluxQL's ``GROUP BY host`` split a stream into series: each line of InfluxDB line protocol
or Telegraf JSON goes to the monitor of its tags' values, which keeps its own windows, events, silent sensors, time
checks and counts, so 50 pumps on one topic are 50 streams, not one stream of mixed samples. Tags may come from the
MQTT topic too (``topic_tags``, as Telegraf's ``topic_parsing`` names levels: ``"_/host/_"`` makes the second level of
``plant/pump-1/data`` the tag ``host``), for any payload (CSV and JSON records included); a plain JSON object may
carry the device as a field of text or a whole number (``{"host": "pump-1", "flow": 9.5}``: that field is no sensor,
and is taken out), and a CSV stream in columns its header names (``time,host,flow,...``: those columns are no sensors;
each device's monitor reads the header and its rows without them, :mod:`~tsae.pipelines.anomaly.csv_devices`). A line
whose device is empty (a blank cell, ``""``) is counted (``other_series``) and skipped, told once.

Every record of a device carries its ``tags`` (``{"host": "pump-1"}``). Memory is bounded: at most ``max_devices``
monitors are kept. A new device beyond them drops the device seen least recently (its open event is closed and its
records go out, with a ``summary`` of it if any of its samples had a score), said once on stderr. A dropped device that
comes back starts afresh in the place of the one seen least recently only if that one was last seen in an earlier
block of lines than it was; else (more devices report than the cap: each would drop the next in turn, every line,
and none fill a window) its lines are skipped and counted (``over_max_devices``), said once: the devices monitored
stay monitored. A line that names no device (it lacks the tags, or does not read) is counted (``other_series``,
``malformed``) and skipped: one bad message for one device never stops the others.

The devices of a block of lines are scored together: their frames make one network call (and one call of each term)
per window scale (:mod:`~tsae.pipelines.anomaly.frame_batches`), with the scores of each device alone (to 1e-12).
MQTT messages whose topic names the device, and that came together, are scored so too
(:meth:`DeviceMonitors.push_topics`), each device's messages pushed one by one: its records are those of each message
pushed alone.
A new device's monitor is a copy of the fresh one, unpickled from one blueprint (:meth:`Monitor.forks
<tsae.pipelines.anomaly.monitor.Monitor.forks>`): where devices come and go (a device a line), what each costs is
mostly its own few samples.
Each device's first warning of each kind is written at once (:data:`FIRST_WARNINGS` in all); then a kind's
warnings share one rate limit across devices (those held back counted in the next one written).
"""
from __future__ import annotations

import json
import math
import time as _time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tsae.io.line_protocol import is_telegraf_json, line_tags
from tsae.io.records import json_scalar
from tsae.io.table_cells import is_comment
from tsae.io.text_files import decode_text
from tsae.models.trainer import whole_number
from tsae.pipelines.anomaly.csv_devices import CsvDeviceColumns
from tsae.pipelines.anomaly.frame_batches import run_together
from tsae.pipelines.anomaly.groups import group_columns
from tsae.pipelines.anomaly.silent import scoring_core

#: default most devices monitored at once
MAX_DEVICES = 1000
#: most bytes of stdin read at once (and held by its pipe, where the system lets it): a block of lines gives each of
#: many devices a few lines, and each device's push has a cost of its own; when the input is ahead of the monitor (a
#: backlog, a file), blocks of 1 MB give 500 devices 50 lines a push, not 3 (a live stream's blocks are what came)
BLOCK_BYTES = 1 << 20
#: devices not monitored (dropped, or over the cap) whose last line is remembered, in --max-devices: beyond, the
#: one remembered longest is forgotten (it is new if it comes back)
AWAY_KEPT = 10
#: devices' first warnings of a kind written past the kind's rate limit, in all (then every warning is rate-limited)
FIRST_WARNINGS = 100
#: summary counts that add up over devices
_SUMS = ("samples", "anomalous_samples", "events", "early_alarms", "lines", "malformed", "missing_values",
         "repaired_values", "out_of_order", "time_jumps", "duplicates", "unreadable_times", "other_series",
         "clipped_values", "silent_sensor_reports")
_DRIFT_SUMS = ("drift_updates", "drift_skipped")


class _HeaderLine(str):
    """A CSV header put before a device's rows (its monitor has not read it): not a line of the stream."""


class _CsvRow(str):
    """A CSV row without its device cells (its monitor reads it under the header in force)."""


def topic_levels(pattern: str | None) -> tuple[str, ...] | None:
    """Telegraf's ``topic_parsing`` tags pattern (``"_/host/_"``: ``_`` skips a level) as the tag name of each level;
    a ValueError naming it when it names no tag or repeats one.

    Examples
    --------
    >>> topic_levels("_/host/_/sensor")
    ('_', 'host', '_', 'sensor')
    """
    if pattern is None:
        return None
    levels = tuple(level.strip() for level in str(pattern).split("/"))
    names = [level for level in levels if level != "_"]
    if not names or any(not name for name in names) or len(set(names)) != len(names):
        raise ValueError(f"topic_tags must name each topic level a tag or '_' (such as '_/host/_'), each tag once, "
                         f"got {pattern!r}")
    return levels


def topic_tag_values(levels: Sequence[str] | None, topic: str | None) -> dict[str, str]:
    """The tags a topic's levels give by ``levels`` (:func:`topic_levels`); none when the level counts differ.

    Examples
    --------
    >>> topic_tag_values(("_", "host", "_"), "plant/pump-1/data"), topic_tag_values(("_", "host"), "a/b/c")
    ({'host': 'pump-1'}, {})
    """
    if not levels or not topic:
        return {}
    parts = topic.split("/")
    if len(parts) != len(levels):
        return {}
    return {name: part for name, part in zip(levels, parts, strict=True) if name != "_"}


class _FirstWarnings:
    """How many devices' first warnings of a kind may still bypass the rate limit (:data:`FIRST_WARNINGS` in all)."""

    def __init__(self, budget: int) -> None:
        self.left = budget

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def _cut(value: str, limit: int = 60) -> str:
    """``value`` as a message shows it: at most ``limit`` characters, then how long it was."""
    return value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"


class _DeviceLog:
    """A device's monitor's log: its messages name the device. Its first warning of each kind is written at once
    (while the stream's :class:`_FirstWarnings` last): a noisy device does not hide another's first; the next ones
    share the kind's rate limit with every device (the ones held back counted in the next one written)."""

    def __init__(self, log: Any, name: str, firsts: _FirstWarnings) -> None:
        self.log, self.name, self.firsts = log, name, firsts
        self.kinds: set[str] = set()  # the kinds this device has warned of
        self.muted: set[str] = set()  # kinds not written (a dropped device's short stream)

    def warn(self, kind: str, message: str) -> None:
        if kind in self.muted:
            return
        text = f"device {self.name}: {message}"
        now = getattr(self.log, "warn_now", None)
        if kind not in self.kinds and now is not None and self.firsts.take():
            self.kinds.add(kind)
            now(kind, text)
            return
        self.log.warn(kind, text)

    def info(self, message: str) -> None:
        self.log.info(f"device {self.name}: {message}")


class DeviceMonitors:
    """One :class:`~tsae.pipelines.anomaly.monitor.Monitor` per device of a stream (see the module docstring).

    Parameters
    ----------
    monitor
        The monitor every device's starts as (a fresh one: its settings, detector and log are every device's).
    group_by
        The tag names whose values make a device (``["host"]``).
    max_devices
        Most devices monitored at once (at least 1); beyond, the one seen least recently is dropped.
    topic_tags
        Tags from the MQTT topic's levels (``"_/host/_"``, see :func:`topic_levels`), or None.

    Raises
    ------
    ValueError
        One line naming the option: ``group_by`` empty or not names, ``max_devices`` not a whole number >= 1,
        ``topic_tags`` not a pattern, ``group_by`` naming a sensor of the detector.
    """

    def __init__(self, monitor: Any, group_by: Sequence[str], *, max_devices: int = MAX_DEVICES,
                 topic_tags: str | None = None) -> None:
        if isinstance(group_by, str) or group_by is None:  # a list of tags, not one alone
            raise ValueError(f"group_by must name one tag or more (such as ['host']), got {group_by!r}")
        self.group_by = group_columns(group_by, what="tag")
        sensors = [name for name in self.group_by if name in monitor.sensors]
        if sensors:  # its values would name devices and be no sensor's: the detector's sensor missing throughout
            raise ValueError(f"group_by names {', '.join(map(repr, sensors))}, a sensor of the detector: a device "
                             "column (or tag) holds no sensor's values; group by another")
        self.max_devices = whole_number("max_devices", max_devices, 1)
        self.levels = topic_levels(topic_tags)
        self.template = monitor
        self._fork = monitor.forks()  # a new device's monitor (much quicker than monitor.fork, the same)
        self.log = monitor.log
        self.sensors, self.threshold, self.core = monitor.sensors, monitor.threshold, monitor.core
        self.scales = scoring_core(monitor.core).scales  # every device's scales' terms and networks (shared)
        self.devices: OrderedDict[tuple[str, ...], Any] = OrderedDict()  # least recently seen first
        self.seen = 0  # devices that ever had a monitor
        self.dropped = 0
        self._retired_total: dict[str, Any] | None = None  # the summaries of the devices dropped, added up
        self.counts = {"lines": 0, "malformed": 0, "other_series": 0}  # lines no device took
        self.started = _time.monotonic()
        self._flushed = False
        self._dropped_told = False
        self._firsts = _FirstWarnings(FIRST_WARNINGS)
        # blocks pushed: the devices of a block are "seen" at its count (in a block, lines of devices that report in
        # turn come in an order that depends on where the block was cut)
        self._clock = 0
        self._last_seen: dict[tuple[str, ...], int] = {}  # of the devices monitored
        self._away: OrderedDict[tuple[str, ...], int] = OrderedDict()  # of devices dropped or over the cap
        self.over_cap = 0  # lines skipped: their device over the cap
        self._over_cap_told = False
        parser = getattr(monitor, "parser", None)
        #: CSV lines naming the device in columns (None: the stream's format is JSON or line protocol only)
        self._csv = None if getattr(parser, "fmt", "auto") in ("json", "influx") else \
            CsvDeviceColumns(self.group_by, self.sensors)
        self._csv_version: dict[tuple[str, ...], int] = {}  # the CSV header each device's monitor has read
        self._other_lines = False  # whether a JSON or line protocol line named a device (then CSV is no must)
        self._no_device_told = False

    def __repr__(self) -> str:
        return (f"DeviceMonitors(group_by={list(self.group_by)}, devices={len(self.devices)}, seen={self.seen}, "
                f"dropped={self.dropped})")

    # -- routing ----------------------------------------------------------------
    def push_lines(self, lines: Iterable[str | bytes], topic: str | None = None) -> list[dict[str, Any]]:
        """Route raw lines (of the MQTT ``topic``, if any) to their devices' monitors; return their records."""
        return self.push_topics([(topic, lines)])

    def push_topics(self, messages: Iterable[tuple[str | None, Iterable[str | bytes]]]) -> list[dict[str, Any]]:
        """Route the raw lines of messages that came together, each ``(topic, lines)`` (the MQTT topic whose levels
        may name the device, or None), to their devices' monitors, and score them together; return their records.

        Each device's messages are pushed to its monitor one by one, as when each message is pushed alone
        (:meth:`push_lines`): its records are the same (to 1e-12, the rounding of a network call's batch), early
        alarms included, which depend on where a device's stream is cut. What is gained is where messages of many
        devices wait together (a gateway's burst, a backlog): the n-th message of each device is scored in one
        round, every device's frames in one call per window scale. A round's records come device by device (each
        device's in the order its lines came); rounds in order.
        """
        if self._flushed:
            raise RuntimeError("the monitors were flushed (their stream ended): they take no more samples")
        rounds: list[OrderedDict[tuple[str, ...], list[str]]] = []
        taken: dict[tuple[str, ...], int] = {}  # a device's parts so far: its next part's round
        for topic, lines in messages:
            if isinstance(lines, (str, bytes, bytearray)):
                raise TypeError(f"lines must be a list of lines, got one {type(lines).__name__} (pass "
                                "text.splitlines())")
            routed = self._route_lines(lines, topic_tag_values(self.levels, topic))
            for key, part in routed.items():  # a message's part for a device goes in that device's next round
                place = taken.get(key, 0)
                taken[key] = place + 1
                if place == len(rounds):
                    rounds.append(OrderedDict())
                rounds[place][key] = part
        records: list[dict[str, Any]] = []
        for parts in rounds or [OrderedDict()]:
            self._clock += 1  # a round is a block: its devices are seen at its count
            records += self._push_parts(parts)
        return records

    def _route_lines(self, lines: Iterable[str | bytes],
                     given: Mapping[str, str]) -> OrderedDict[tuple[str, ...], list[str]]:
        """The lines of one block (or message, of tags ``given`` by its topic) by device, in the order they came."""
        parts: OrderedDict[tuple[str, ...], list[str]] = OrderedDict()
        for line in lines:
            if not isinstance(line, str):
                if not isinstance(line, (bytes, bytearray, memoryview)):
                    self._skip("malformed", f"a {type(line).__name__}, not a line of text")
                    continue
                line = decode_text(bytes(line))
            text = line.strip()
            if not text or text[0] == "#" and is_comment(text):
                continue
            for key, record in self._route(text, given):
                parts.setdefault(key, []).append(record)
        return parts

    def _push_parts(self, parts: Mapping[tuple[str, ...], list[str]]) -> list[dict[str, Any]]:
        """Push each device's lines of a block to its monitor, every device's frames scored together."""
        records: list[dict[str, Any]] = []
        keys = list(parts)
        # at most max_devices at a time: a device new in the block then drops one that is not in this batch
        for first in range(0, len(keys), self.max_devices):
            batch, pushes, dropped = [], [], []  # dropped: the records of the devices each one dropped
            for key in keys[first:first + self.max_devices]:
                before: list[dict[str, Any]] = []
                seen = self.seen
                monitor = self._monitor(key, before)
                part = parts[key]
                headed = bool(part) and isinstance(part[0], _HeaderLine)
                if monitor is None:  # over the cap (see _monitor): its lines are counted and skipped
                    self.counts["lines"] += len(part) - headed
                    self.over_cap += len(part) - headed
                    self._csv_version.pop(key, None)
                    continue
                if self.seen != seen and not headed and isinstance(part[0], _CsvRow) and self._csv is not None:
                    part, headed = [_HeaderLine(self._csv.header), *part], True  # dropped in this block, new again
                    self._csv_version[key] = self._csv.version
                if headed:  # its monitor counts the header put before its rows: not a line of the stream
                    self.counts["lines"] -= 1
                batch.append(key)
                pushes.append(monitor.push_lines_steps(part))
                dropped.append(before)
            for key, before, pushed in zip(batch, dropped, run_together(pushes, self.scales), strict=True):
                records += before
                records += self._device_records(key, pushed)
        return records

    def _route(self, line: str, given: Mapping[str, str]) -> list[tuple[tuple[str, ...], str]]:
        """The device key of a line (a JSON batch: of each of its records), or nothing (counted, warned)."""
        if line[0] in "{[":
            return self._route_json(line, given)
        if json_scalar(line):  # no record, nor a CSV line of a device: its topic's device's parser tells it
            key = self._key(given, line, quiet=True)
            if key is not None:
                return [(key, line)]
            self._skip("malformed", f"JSON line is not an object or an array of objects: {line[:60]!r}")
            return []
        tags: Mapping[str, str] = given
        if "=" in line and not line[0].isdigit() and not line[:4].lower() == "sep=":  # line protocol (a CSV line has
            try:                                                                    # no tags: the topic's only)
                found = line_tags(line)  # read only: shared by the lines of its series
                tags = {**given, **found} if given else found
                self._other_lines = True
            except ValueError as exc:
                if self._key(given, line, quiet=True) is None:
                    self._skip("malformed", f"line protocol: {exc}: {line[:60]!r}")
                    return []
        elif self._csv is not None and self._key(given, line, quiet=True) is None:
            return self._route_csv(line)
        key = self._key(tags, line)
        return [] if key is None else [(key, line)]

    def _route_csv(self, line: str) -> list[tuple[tuple[str, ...], str]]:
        """A CSV line's device by its device columns (:class:`~tsae.pipelines.anomaly.csv_devices.CsvDeviceColumns`),
        its header put before the first rows each device's monitor reads under it."""
        assert self._csv is not None
        try:
            routed = self._csv.route(line)
        except ValueError as exc:
            if self._other_lines:  # a stream of JSON or line protocol: a stray CSV line, as before
                key = self._key({}, line)
                return [] if key is None else [(key, line)]
            self.counts["lines"] += 1  # read (the summary says so), and the stream's end
            raise ValueError(f"stdin: {exc}") from None
        if routed.kind in ("header", "skip"):
            self.counts["lines"] += 1
            return []
        if routed.kind == "malformed":
            self._skip("malformed", routed.line)
            return []
        if routed.kind == "no_device":
            self._no_device(line)
            return []
        assert routed.key is not None
        key = routed.key
        row = _CsvRow(routed.line)
        if self._csv_version.get(key) != self._csv.version:  # its monitor reads the header in force first
            self._csv_version[key] = self._csv.version
            return [(key, _HeaderLine(self._csv.header)), (key, row)]
        return [(key, row)]

    def _no_device(self, line: str) -> None:
        """A line whose device is empty: counted (``other_series``), told once."""
        self.counts["lines"] += 1
        self.counts["other_series"] += 1
        if not self._no_device_told:
            self._no_device_told = True
            self.log.info(f"warning: skipping lines whose device ({', '.join(self.group_by)}) is empty, such as "
                          f"{line[:60]!r} (counted in other_series; told once)")

    def _route_json(self, line: str, given: Mapping[str, str]) -> list[tuple[tuple[str, ...], str]]:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            key = self._key(given, line, quiet=True)  # a topic's device: its own parser counts the line
            if key is not None:
                return [(key, line)]
            self._skip("malformed", f"invalid JSON: {line[:60]!r}")
            return []
        if isinstance(value, dict) and isinstance(value.get("metrics"), list) and len(value) == 1:
            batch = value["metrics"]
        elif isinstance(value, list):
            batch = value
        else:
            batch = [value]
        routed = []
        for record in batch:
            if not isinstance(record, dict):
                self._skip("malformed", f"JSON line is not an object or an array of objects: {line[:60]!r}")
                continue
            if is_telegraf_json(record):
                tags = record.get("tags")
                tags = {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}
                key = self._key({**given, **tags}, line)
            else:  # a plain record: the device in a field of text or a whole number, taken out (no sensor)
                fields = {name: str(record.pop(name)).strip() for name in self.group_by
                          if isinstance(record.get(name), (str, int)) and not isinstance(record.get(name), bool)}
                if not all(fields.values()):
                    self._no_device(line)
                    continue
                key = self._key({**given, **fields}, line)
            if key is not None:
                self._other_lines = True
                routed.append((key, json.dumps(record)))
        return routed

    def _key(self, tags: Mapping[str, str], line: str, quiet: bool = False) -> tuple[str, ...] | None:
        """The device a line's tags name, or None (counted in ``other_series`` and warned, unless ``quiet``)."""
        try:
            return tuple([tags[name] for name in self.group_by])
        except KeyError:
            if not quiet:
                missing = ", ".join(name for name in self.group_by if name not in tags)
                self._skip("other_series", f"skipping lines without the tag(s) {missing} that name a device "
                                           f"(--group-by), such as {line[:60]!r}")
            return None

    def _skip(self, count: str, message: str) -> None:
        self.counts["lines"] += 1
        self.counts[count] += 1
        self.log.warn("device" if count == "other_series" else "malformed",
                      message if count == "other_series" else f"skipped a malformed line ({message})")

    # -- devices ----------------------------------------------------------------
    def _name(self, key: tuple[str, ...]) -> str:
        """The device as messages name it (``host=pump-1``), each tag value cut short: a value as long as a line
        would make every warning naming the device that long (its records keep the whole value)."""
        return ",".join(f"{name}={_cut(value)}" for name, value in zip(self.group_by, key, strict=True))

    def _tags(self, key: tuple[str, ...]) -> dict[str, str]:
        return dict(zip(self.group_by, key, strict=True))

    def _monitor(self, key: tuple[str, ...], records: list[dict[str, Any]]) -> Any:
        """The device's monitor, or None when it is over the cap.

        A new device beyond the cap drops the one seen least recently (its last records added to ``records``). A
        device dropped before (or over the cap) that comes back drops it only if that one was last seen in a block
        before the one this one was last seen in; else it is over the cap: while more devices report than the cap,
        the ones monitored stay monitored (a window to fill), rather than each dropping the next in turn and none
        being scored.
        """
        monitor = self.devices.get(key)
        if monitor is not None:
            self.devices.move_to_end(key)
            self._last_seen[key] = self._clock
            return monitor
        if len(self.devices) >= self.max_devices:
            away = self._away.pop(key, None)  # when it was last seen (None: new, or forgotten)
            oldest = next(iter(self.devices))
            if away is not None and self._last_seen[oldest] >= away:
                self._remember(key)
                self._tell_over_cap(key)
                return None
        while len(self.devices) >= self.max_devices:
            old, stale = self.devices.popitem(last=False)
            self._csv_version.pop(old, None)  # a monitor of it again reads the header first
            self._remember(old, self._last_seen.pop(old))
            self.dropped += 1
            if not self._dropped_told:
                self._dropped_told = True
                self.log.info(f"warning: more than {self.max_devices} devices (--max-devices): dropping the one "
                              f"seen least recently ({self._name(old)}, and later others: its open event is closed "
                              "and its summary written if any of its samples had a score; told once)")
            records += self._device_records(old, self._end(stale, dropped=True))
        monitor = self._fork(_DeviceLog(self.log, self._name(key), self._firsts))
        self.devices[key] = monitor
        self._last_seen[key] = self._clock
        self.seen += 1
        return monitor

    def _remember(self, key: tuple[str, ...], when: int | None = None) -> None:
        """Keep when a device not monitored was last seen (now by default), for :data:`AWAY_KEPT` of them."""
        self._away[key] = self._clock if when is None else when
        self._away.move_to_end(key)
        if len(self._away) > AWAY_KEPT * self.max_devices:
            self._away.popitem(last=False)

    def _tell_over_cap(self, key: tuple[str, ...]) -> None:
        if self._over_cap_told:
            return
        self._over_cap_told = True
        self.log.info(f"warning: more than {self.max_devices} devices report (--max-devices): {self._name(key)} "
                      f"came back after it was dropped, and every device monitored has reported since it last did (or "
                      f"in the same block); "
                      f"the lines of such devices are skipped and counted (over_max_devices) until one monitored "
                      f"falls quieter than they are: raise --max-devices (told once)")

    def _end(self, monitor: Any, dropped: bool = False) -> list[dict[str, Any]]:
        """Flush a device's monitor: its last records and its summary (kept for the stream's summary).

        A device ``dropped`` over the cap says nothing of its short stream (the drop was told), and writes its
        summary only if a sample of its had a score (its window filled): its counts are in the stream's summary
        anyway, and a stream of a new device a line would write a summary a line.
        """
        if dropped:
            monitor.log.muted.add("short")
        records = monitor.flush()
        summary = monitor.summary()
        self._retired_total = _fold(self._retired_total, summary)
        return [*records, summary] if summary["max_score"] is not None or not dropped else records

    def _device_records(self, key: tuple[str, ...], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        tags = self._tags(key)
        return [{**record, "tags": tags} for record in records]

    def flush(self) -> list[dict[str, Any]]:
        """End of the stream: every device's last records and summary (then :meth:`summary` is the stream's)."""
        if self._flushed:
            return []
        self._flushed = True
        records: list[dict[str, Any]] = []
        while self.devices:
            key, monitor = self.devices.popitem(last=False)
            records += self._device_records(key, self._end(monitor))
        return records

    def summary(self) -> dict[str, Any]:
        """The stream's summary: the devices' counts added up (``max_score``: the highest), the lines no device took,
        ``devices`` (seen) and ``devices_dropped``."""
        total = self._retired_total
        for monitor in self.devices.values():
            total = _fold(total, monitor.summary())
        summary = dict(total) if total is not None else {**self.template.summary(), "unknown_fields": []}
        for name, count in self.counts.items():
            summary[name] += count
        summary.update(devices=self.seen, devices_dropped=self.dropped, over_max_devices=self.over_cap,
                       seconds=round(_time.monotonic() - self.started, 3))
        return summary


def _fold(total: dict[str, Any] | None, summary: Mapping[str, Any]) -> dict[str, Any]:
    """``total`` with a device's ``summary`` added (a copy of it for the first)."""
    summary = {k: v for k, v in summary.items() if k != "tags"}
    if total is None:
        return {**summary, "unknown_fields": list(summary.get("unknown_fields", []))}
    for name in _SUMS + _DRIFT_SUMS:
        if name in total:
            total[name] += summary[name]
    total.pop("drift_level", None)  # each device's own
    scores = [s for s in (total["max_score"], summary["max_score"]) if s is not None and math.isfinite(s)]
    total["max_score"] = max(scores) if scores else None
    known = set(total["unknown_fields"])
    total["unknown_fields"] += [f for f in summary["unknown_fields"] if f not in known][:100 - len(known)]
    return total


__all__ = ["BLOCK_BYTES", "MAX_DEVICES", "DeviceMonitors", "topic_levels", "topic_tag_values"]
