"""The stream record parser of ``tsae monitor``: raw text lines (CSV or JSON objects) -> rows of sensor values.

It follows the table reader's rules (:mod:`tsae.io.tables`): the same time-column
names (``time``, ``timestamp``, ``seconds``, ...), the same missing-value tokens
(empty, ``NA``, ``nan``, ``null``, ``-``, ...) and the same delimiter sniffing
(``,``, ``;``, tab or ``|``, decided on the first CSV line).

No record can stop the parser: a line that cannot be read (wrong shape, a value that is
not a number, a number too large for a float such as a 310-digit integer, JSON nested too
deeply, a line longer than ``max_line`` characters, a time that is ``inf``, ``nan`` or too
large) is counted as ``malformed`` and skipped, and the good rows of the same block are kept.

Times: a record whose time is earlier than the last accepted one is ``out_of_order`` and
skipped. A record whose time is more than ``max_time_jump`` ahead of the last accepted
one (a clock glitch such as a year-3000 stamp) is counted in ``time_jumps``, warned about
and skipped, and the order reference stays where it was, so the samples that follow at the
normal pace are still scored. When the next record with a time is also that far from the
reference but within ``max_time_jump`` after the skipped one, the clock really moved: it
is accepted and becomes the new reference (the same holds for a jump far back, counted
as out of order, e.g. after a first record from a wrong clock). A time that is neither a
number nor an ISO date ("abc", "Tue 10:00") is counted in ``unreadable_times`` and warned
about; the record is kept with the text as its time but cannot be checked for order,
jumps or duplicates.

Duplicates: a record with a time whose time and values equal those of one of the last
``dedup_window`` timed records (a QoS-1 redelivery after a reconnect, a publisher that
resent) is counted in ``duplicates`` and skipped, so it is never scored twice. Records
without a time cannot be told apart from a sensor repeating its value and are all kept.
"""
from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from tsae.io.tables import MISSING, TIME_NAMES, find_time_column, sniff_delimiter


class WarningLog(Protocol):
    """Where the parser reports bad data: ``warn(kind, message)`` (the monitor rate-limits per kind)."""

    def warn(self, kind: str, message: str) -> None: ...


class _Silent:
    def warn(self, kind: str, message: str) -> None:
        pass


#: default longest line (characters) the parser reads; longer lines are malformed
MAX_LINE = 1 << 20
#: default largest forward time jump (time-field units; seconds for ISO dates) before a record is held back
MAX_TIME_JUMP = 1e9
#: default number of recent timed records remembered to recognise a redelivered one
DEDUP_WINDOW = 16384


class RecentKeys:
    """The last ``size`` keys seen (a bounded set, oldest forgotten first)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self._keys: OrderedDict[Any, None] = OrderedDict()

    def seen(self, key: Any) -> bool:
        """Whether ``key`` is among the recent keys; remembers it either way."""
        if key in self._keys:
            return True
        if self.size > 0:
            self._keys[key] = None
            if len(self._keys) > self.size:
                self._keys.popitem(last=False)
        return False


def _time_parts(value: Any) -> tuple[str, float | None, bool]:
    """Classify a time field: ``(status, number, is_date)``.

    ``status`` is ``"none"`` (absent, empty or unparseable text: the record has no time),
    ``"bad"`` (a number that is not finite or does not fit a float, or a date outside the years
    1678-2262: the record is malformed)
    or ``"ok"``. ISO dates give nanoseconds and ``is_date=True``.
    """
    if value is None or isinstance(value, bool):
        return "none", None, False
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return "bad", None, False
        return ("ok", number, False) if math.isfinite(number) else ("bad", None, False)
    text = str(value).strip()
    if not text:
        return "none", None, False
    try:
        number = float(text)
    except (ValueError, OverflowError):
        pass
    else:
        return ("ok", number, False) if math.isfinite(number) else ("bad", None, False)
    try:
        date = np.datetime64(text.replace("Z", "").replace(" ", "T"))
    except (ValueError, TypeError, OverflowError):
        return "none", None, False
    if np.isnat(date):
        return "none", None, False
    seconds = int(date.astype("datetime64[s]").astype(np.int64))
    if abs(seconds) > 9_000_000_000:  # outside datetime64[ns] (years 1678-2262), which would wrap around
        return "bad", None, True
    return "ok", float(date.astype("datetime64[ns]").astype(np.int64)), True


def output_time(value: Any) -> Any:
    """A record's time as batch scoring reports it: a number as float, a date as ISO text in nanoseconds.

    ``tsae detect score`` reads the time column into floats or ``datetime64[ns]``; the
    monitor reports the same values, so events from a stream and from a file compare equal.
    Text that is neither stays as it was.

    Examples
    --------
    >>> output_time("286"), output_time(3), output_time("2024-05-01 12:00Z")
    (286.0, 3.0, '2024-05-01T12:00:00.000000000')
    """
    status, number, is_date = _time_parts(value)
    if status != "ok" or number is None:
        return value
    if is_date:
        return str(np.datetime64(int(number), "ns"))
    return number


def time_value(value: Any) -> float | None:
    """A comparable number for a time field.

    Parameters
    ----------
    value
        A number, a numeric string or an ISO date (string).

    Returns
    -------
    float or None
        The number (ISO dates as nanoseconds since the epoch), or None when the value is
        absent, unparseable, not finite or too large for a float.
    """
    status, number, _ = _time_parts(value)
    return number if status == "ok" else None


class RecordParser:
    """Turn raw text lines into ``(rows (n, C) float64, times list, counters)``.

    CSV: the first line is a header when it names any of the detector's sensors (or a
    time field); without a header, columns are the sensors in the detector's order,
    optionally preceded by a time column. JSON: one object per line mapping sensor
    name -> value, plus an optional time field. ``fmt="auto"`` decides per line
    (``{`` starts JSON).

    Parameters
    ----------
    sensors
        The detector's sensor names, in order.
    fmt
        ``"auto"``, ``"csv"`` or ``"json"``.
    time_field
        The name of the time field (default: the table reader's time names).
    log
        Where warnings go.
    max_line
        Longest line read, in characters; a longer one is counted as malformed.
    max_time_jump
        Largest forward step of the time (in the time field's units; seconds for ISO
        dates) accepted without confirmation; see the module docstring. None: no limit.
    dedup_window
        How many recent timed records are remembered to recognise a duplicate (0: none).
    """

    def __init__(self, sensors: Sequence[str], fmt: str = "auto", time_field: str | None = None,
                 log: WarningLog | None = None, max_line: int = MAX_LINE,
                 max_time_jump: float | None = MAX_TIME_JUMP, dedup_window: int = DEDUP_WINDOW) -> None:
        if int(max_line) < 1:
            raise ValueError(f"max_line must be a positive number of characters, got {max_line!r}")
        if max_time_jump is not None and not float(max_time_jump) > 0:
            raise ValueError(f"max_time_jump must be a positive number (or None for no limit), got {max_time_jump!r}")
        self.max_line = int(max_line)
        self.max_time_jump = None if max_time_jump is None else float(max_time_jump)
        self._jump: float | None = None  # time of the last held-back jump, awaiting confirmation
        self.sensors = list(sensors)
        self.index = {name: i for i, name in enumerate(self.sensors)}
        self.fmt = fmt
        self.time_field = time_field
        self.log = log or _Silent()
        self.counts = {"lines": 0, "malformed": 0, "missing_values": 0, "out_of_order": 0,
                       "time_jumps": 0, "duplicates": 0, "unreadable_times": 0}
        self.recent = RecentKeys(dedup_window)
        self.unknown_fields: set[str] = set()
        self.header: list[str] | None = None
        self._csv_map: tuple[list[int], int | None, int] | None = None  # (sensor column per sensor, time column, width)
        self.last_time: float | None = None
        self.time_names = (time_field,) if time_field else TIME_NAMES
        self.sep: str | None = None  # sniffed from the first CSV line

    # -- CSV ------------------------------------------------------------------
    def _set_header(self, fields: list[str]) -> bool:
        names = [f.strip().strip('"') for f in fields]
        known = [n for n in names if n in self.index]
        # a sensor named like a time column ("t") stays a sensor
        time_col = find_time_column([n if n not in self.index else "" for n in names], self.time_names)
        if not known and time_col is None:
            return False
        columns = [names.index(s) if s in names else -1 for s in self.sensors]
        missing = [s for s, c in zip(self.sensors, columns, strict=True) if c < 0]
        if missing:
            self.log.warn("header", f"CSV header lacks sensor(s) {', '.join(missing)}: their values count as missing")
        extra = [n for i, n in enumerate(names) if n not in self.index and i != time_col and n]
        for name in extra[:100]:
            self.unknown_fields.add(name)
        self.header = names
        self._csv_map = (columns, time_col, len(names))
        return True

    def _default_map(self, width: int) -> tuple[list[int], int | None, int] | None:
        channels = len(self.sensors)
        if width == channels:
            return list(range(channels)), None, width
        if width == channels + 1:
            return list(range(1, channels + 1)), 0, width
        return None

    def _parse_csv(self, lines: list[str]) -> tuple[list[np.ndarray], list[Any]]:
        rows: list[np.ndarray] = []
        times: list[Any] = []
        channels = len(self.sensors)
        for line in lines:
            if self.sep is None:
                self.sep = sniff_delimiter(line)
            fields = line.split(self.sep)
            if self._csv_map is None and self.header is None:
                if self._set_header(fields):
                    continue
            mapping = self._csv_map or self._default_map(len(fields))
            if mapping is None or len(fields) != mapping[2]:
                expected = mapping[2] if mapping else channels
                self._malformed(f"expected {expected} CSV fields, got {len(fields)}: {line[:60]!r}")
                continue
            columns, time_col, _ = mapping
            row = np.empty(channels)
            ok = True
            for k, c in enumerate(columns):
                if c < 0:
                    row[k] = np.nan
                    continue
                text = fields[c].strip()
                if text.lower() in MISSING:
                    row[k] = np.nan
                    continue
                try:
                    row[k] = float(text)
                except ValueError:
                    ok = False
                    break
            if not ok:
                self._malformed(f"not a number in {line[:60]!r}")
                continue
            rows.append(row)
            times.append(fields[time_col].strip() if time_col is not None else None)
        return rows, times

    # -- JSON -----------------------------------------------------------------
    def _parse_json(self, line: str) -> tuple[np.ndarray | None, Any]:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            self._malformed(f"invalid JSON: {line[:60]!r}")
            return None, None
        if not isinstance(record, dict):
            self._malformed(f"JSON line is not an object: {line[:60]!r}")
            return None, None
        row = np.full(len(self.sensors), np.nan)
        stamp = None
        for key, value in record.items():
            i = self.index.get(key)
            if i is None:
                if find_time_column([key], self.time_names) is not None:
                    stamp = value
                elif key not in self.unknown_fields and len(self.unknown_fields) < 100:  # bounded memory
                    self.unknown_fields.add(key)
                    self.log.warn("unknown", f"ignoring field {key!r} (not a sensor of this detector)")
                continue
            if value is None or isinstance(value, bool):
                continue
            try:
                row[i] = float(value)
            except OverflowError:  # an integer too large for a float (310+ digits)
                self._malformed(f"value of {key!r} too large for a float: {line[:60]!r}")
                return None, None
            except (TypeError, ValueError):
                continue  # counted as missing below
        return row, stamp

    def _accept_time(self, stamp: Any) -> bool:
        """Whether a record with this time is kept (see the module docstring); updates the counters."""
        status, value, is_date = _time_parts(stamp)
        if status == "bad":
            self._malformed(f"time {str(stamp)[:40]!r} is not a finite number")
            return False
        if value is None:
            if status == "none" and stamp is not None and str(stamp).strip():
                self.counts["unreadable_times"] += 1
                self.log.warn("unreadable_time", f"time {str(stamp)[:40]!r} is neither a number nor an ISO date: "
                                                 "the sample is scored and keeps it as text, unchecked for order "
                                                 "and duplicates")
            return True
        last, horizon = self.last_time, self.max_time_jump
        if last is not None and horizon is not None:
            horizon *= 1e9 if is_date else 1.0
        if last is not None and horizon is not None and abs(value - last) > horizon:
            held = self._jump
            if held is None or not held <= value <= held + horizon:  # hold it back until a second record confirms
                self._jump = value
                if value < last:
                    self.counts["out_of_order"] += 1
                    self.log.warn("order", f"skipped a sample with out-of-order time {str(stamp)[:40]!r}")
                else:
                    self.counts["time_jumps"] += 1
                    self.log.warn("jump", f"skipped a sample whose time {str(stamp)[:40]!r} jumps more than "
                                          f"{self.max_time_jump:g} ahead; the previous time stays the reference")
                return False
            self.log.warn("jump", f"the time moved to {str(stamp)[:40]!r} on consecutive records: "
                                  "accepting it as the new reference")
        elif last is not None and value < last:
            self.counts["out_of_order"] += 1
            self.log.warn("order", f"skipped a sample with out-of-order time {str(stamp)[:40]!r}")
            return False
        self._jump = None
        self.last_time = value
        return True

    def _duplicate(self, stamp: Any, row: np.ndarray) -> bool:
        """Whether a record with this time and these values was seen recently (then it is counted)."""
        moment = time_value(stamp)
        if moment is None or not self.recent.seen((moment, row.tobytes())):
            return False
        self.counts["duplicates"] += 1
        self.log.warn("duplicate", f"skipped a duplicate of the sample at time {str(stamp)[:40]!r}")
        return True

    def _malformed(self, message: str) -> None:
        self.counts["malformed"] += 1
        self.log.warn("malformed", f"skipped a malformed line ({message})")

    # -- both -----------------------------------------------------------------
    def parse(self, lines: Iterable[str]) -> tuple[np.ndarray, list[Any]]:
        """Parse a block of lines; returns the good rows (NaN = missing) and their times."""
        rows: list[np.ndarray] = []
        times: list[Any] = []
        csv_lines: list[str] = []

        def drain_csv() -> None:
            if csv_lines:
                r, t = self._parse_csv(csv_lines)
                rows.extend(r)
                times.extend(t)
                csv_lines.clear()

        for line in lines:
            if len(line) > self.max_line:
                self.counts["lines"] += 1
                self._malformed(f"a line of {len(line)} characters, over the limit of {self.max_line}")
                continue
            line = line.strip().lstrip("\ufeff")  # a UTF-8 BOM (an editor's CSV, or files concatenated)
            if not line:
                continue
            self.counts["lines"] += 1
            try:
                if self.fmt == "json" or (self.fmt == "auto" and line[0] in "{["):
                    drain_csv()
                    row, stamp = self._parse_json(line)
                    if row is not None:
                        rows.append(row)
                        times.append(stamp)
                else:
                    csv_lines.append(line)
                    drain_csv()  # line by line: one bad line cannot cost the others
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # never lose the block
                csv_lines.clear()
                self._malformed(f"{type(exc).__name__} in {line[:60]!r}")
        drain_csv()
        if not rows:
            return np.zeros((0, len(self.sensors))), []
        values = np.vstack(rows)
        keep = np.ones(len(values), dtype=bool)
        if any(t is not None for t in times):
            for k, stamp in enumerate(times):
                keep[k] = not self._duplicate(stamp, values[k]) and self._accept_time(stamp)
        if not keep.all():
            values = values[keep]
            times = [t for t, k in zip(times, keep, strict=True) if k]
        times = [output_time(t) for t in times]
        missing = ~np.isfinite(values)
        n_missing = int(missing.sum())
        if n_missing:
            self.counts["missing_values"] += n_missing
            names = [self.sensors[i] for i in np.flatnonzero(missing.any(axis=0))]
            self.log.warn("missing", f"{n_missing} missing/NaN value(s) ({', '.join(names[:5])}): "
                                     "holding the last good value")
        return values, times


__all__ = ["DEDUP_WINDOW", "MAX_LINE", "MAX_TIME_JUMP", "RecentKeys", "RecordParser", "WarningLog", "time_value"]
