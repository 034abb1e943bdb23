"""The stream record parser of ``tsae monitor``: raw text lines (CSV or JSON objects) -> rows of sensor values.

It follows the table reader's rules (:mod:`tsae.io.tables`): the same time-column
names (``time``, ``timestamp``, ``seconds``, ...), the same missing-value tokens
(empty, ``NA``, ``nan``, ``null``, ``-``, ...) and the same delimiter sniffing
(``,``, ``;``, tab or ``|``, decided on the first CSV line).
"""
from __future__ import annotations

import json
import math
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


def time_value(value: Any) -> float | None:
    """A comparable number for a time field (numbers, or ISO dates as ns), None if unparseable."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(np.datetime64(text.replace("Z", "").replace(" ", "T"), "ns").astype(np.int64))
    except (ValueError, TypeError, OverflowError):
        return None


class RecordParser:
    """Turn raw text lines into ``(rows (n, C) float64, times list, counters)``.

    CSV: the first line is a header when it names any of the detector's sensors (or a
    time field); without a header, columns are the sensors in the detector's order,
    optionally preceded by a time column. JSON: one object per line mapping sensor
    name -> value, plus an optional time field. ``fmt="auto"`` decides per line
    (``{`` starts JSON).
    """

    def __init__(self, sensors: Sequence[str], fmt: str = "auto", time_field: str | None = None,
                 log: WarningLog | None = None) -> None:
        self.sensors = list(sensors)
        self.index = {name: i for i, name in enumerate(self.sensors)}
        self.fmt = fmt
        self.time_field = time_field
        self.log = log or _Silent()
        self.counts = {"lines": 0, "malformed": 0, "missing_values": 0, "out_of_order": 0}
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
        except ValueError:
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
            except (TypeError, ValueError):
                continue  # counted as missing below
        return row, stamp

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
            line = line.strip()
            if not line:
                continue
            self.counts["lines"] += 1
            if self.fmt == "json" or (self.fmt == "auto" and line[0] in "{["):
                drain_csv()
                row, stamp = self._parse_json(line)
                if row is not None:
                    rows.append(row)
                    times.append(stamp)
            else:
                csv_lines.append(line)
        drain_csv()
        if not rows:
            return np.zeros((0, len(self.sensors))), []
        values = np.vstack(rows)
        # out-of-order times: drop rows earlier than the last accepted one
        keep = np.ones(len(values), dtype=bool)
        if any(t is not None for t in times):
            for k, stamp in enumerate(times):
                value = time_value(stamp)
                if value is None:
                    continue
                if self.last_time is not None and value < self.last_time:
                    keep[k] = False
                    self.counts["out_of_order"] += 1
                    self.log.warn("order", f"skipped a sample with out-of-order time {stamp!r}")
                else:
                    self.last_time = value
        if not keep.all():
            values = values[keep]
            times = [t for t, k in zip(times, keep, strict=True) if k]
        missing = ~np.isfinite(values)
        n_missing = int(missing.sum())
        if n_missing:
            self.counts["missing_values"] += n_missing
            names = [self.sensors[i] for i in np.flatnonzero(missing.any(axis=0))]
            self.log.warn("missing", f"{n_missing} missing/NaN value(s) ({', '.join(names[:5])}): "
                                     "holding the last good value")
        return values, times


__all__ = ["RecordParser", "WarningLog", "time_value"]
