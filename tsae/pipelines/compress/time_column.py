"""A table's unevenly spaced time column, stored as every time: int64 ticks that give the parsed times back exactly.

An evenly spaced column is its start and step in the header (``files._regular_time``); any other is stored in the
container's time part (format version 5, :func:`~.container.encode_time_part`: first and second differences of the
ticks, coded as the blocks' integers are). The ticks are:

- dates: their nanoseconds since the epoch (``datetime64[ns]``);
- numbers with at most 15 decimals (epoch seconds with milliseconds, 0.25, 1e6): ``round(t * 10**d)`` for the fewest
  decimals ``d`` that give every time back bit for bit as ``ticks / 10**d`` (the division of two integers below
  2**53 is correctly rounded, as parsing ``"1.25"`` is);
- other numbers: their float64 bit patterns (NaN and -0.0 included).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: the most decimals tried; 10**15 and every integer below 2**53 are exact float64 values
MAX_DECIMALS = 15


def as_ticks(time: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """The header's ``time`` entry (less its name) and the int64 ticks that store ``time`` exactly."""
    if np.issubdtype(time.dtype, np.datetime64):
        return {"kind": "datetime64[ns]", "stored": "ticks"}, time.astype("datetime64[ns]").astype(np.int64)
    values = np.ascontiguousarray(time, dtype=np.float64)
    bits = values.view(np.int64)
    if np.isfinite(values).all():
        magnitude = float(np.abs(values).max(initial=0.0))
        for decimals in range(MAX_DECIMALS + 1):
            scale = 10.0**decimals
            if magnitude * scale >= 2**53:
                break
            ticks = np.round(values * scale).astype(np.int64)  # what is stored: -0.0 becomes 0
            if np.array_equal((ticks / scale).view(np.int64), bits):
                return {"kind": "number", "stored": "ticks", "decimals": decimals}, ticks
    return {"kind": "number", "stored": "ticks", "decimals": None}, bits.copy()


@dataclass(frozen=True)
class TickTimes:
    """A stored time column read back: :meth:`rows` gives the times of a range of rows."""

    name: str
    ticks: np.ndarray  # int64, one a row
    dated: bool
    decimals: int | None = None
    utc: bool = False  # the dates named UTC instants: written ending in Z

    def check(self, samples: int) -> None:
        """Nothing to check: the ticks were read for ``samples`` rows (:meth:`~.container.Reader.time_ticks`)."""

    def rows(self, a: int, b: int) -> np.ndarray:
        """The times of rows ``[a, b)``."""
        ticks = self.ticks[a:b]
        if self.dated:
            return ticks.astype("datetime64[ns]")
        if self.decimals is None:
            return ticks.view(np.float64)
        return ticks / 10.0**self.decimals


def stored_ticks(entry: Any) -> dict[str, Any] | None:
    """What a header ``time`` entry says of a stored column (``dated``, ``decimals``, ``name``, ``utc``), or None when
    it is not one :func:`as_ticks` describes."""
    if not isinstance(entry, dict) or entry.get("stored") != "ticks" or entry.get("kind") not in ("datetime64[ns]",
                                                                                                  "number"):
        return None
    decimals = entry.get("decimals")
    dated = entry["kind"] == "datetime64[ns]"
    if not dated and decimals is not None and not (isinstance(decimals, int) and not isinstance(decimals, bool)
                                                   and 0 <= decimals <= MAX_DECIMALS):
        return None
    name = entry.get("name")
    return {"name": name if isinstance(name, str) else "time", "dated": dated,
            "decimals": None if dated else decimals, "utc": entry.get("utc") is True}
