"""Time zones by IANA name (``Europe/Berlin``): a name checked, UTC instants read on the zone's wall clock.

A detector's weekly profile is a plant's schedule on its local clock, so the hour of the week of a UTC instant (a
Unix time, a date with an offset) is taken on the wall clock of the plant's zone: :func:`wall_clock`. Daylight
saving time is the zone's own: the hour a clock is put forward never shows, the hour it is put back shows twice.
The zones come from the system's time zone database, or the ``tzdata`` package where there is none (Windows).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import numpy as np

#: the zone's offset is looked up once a day across the times' range, and each change found to the second:
#: zones change their offset at most a few times a year, never twice within a day
_PROBE_SECONDS = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@lru_cache(maxsize=64)
def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def zone_problem(name: Any) -> str | None:
    """Why ``name`` is no time zone this machine knows (None: it is one).

    Examples
    --------
    >>> zone_problem("Europe/Berlin") is None, zone_problem("Europe/Berlim")
    (True, "no time zone is named 'Europe/Berlim' (an IANA name such as Europe/Berlin, America/New_York or UTC)")
    """
    if not isinstance(name, str) or not name.strip():
        return f"{name!r} is no time zone name (an IANA name such as Europe/Berlin, America/New_York or UTC)"
    from zoneinfo import ZoneInfoNotFoundError

    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # ValueError: a path such as '../x'
        hint = "" if _has_zones() else "; this machine has no time zone database: pip install tzdata"
        return (f"no time zone is named {name!r} (an IANA name such as Europe/Berlin, America/New_York or UTC"
                f"{hint})")
    return None


def _has_zones() -> bool:
    from zoneinfo import ZoneInfoNotFoundError

    try:
        _zone("Europe/Berlin")
    except ZoneInfoNotFoundError:
        return False
    return True


def check_zone(name: Any, what: str = "timezone") -> str:
    """``name`` when it names a time zone; else a ValueError, ``what=...`` naming the setting."""
    problem = zone_problem(name)
    if problem:
        raise ValueError(f"{what}={name!r}: {problem}")
    return str(name)


def _offset(zone: Any, second: int) -> int:
    """The zone's UTC offset in seconds at the Unix time ``second``."""
    delta = (_EPOCH + timedelta(seconds=second)).astimezone(zone).utcoffset()
    return 0 if delta is None else int(delta.total_seconds())


def _offsets(zone: Any, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """The zone's offsets between the Unix times ``first`` and ``last`` (seconds): ``(starts, offsets)``, each
    offset holding from its start (the first one's: from before ``first``) to the next start."""
    probes = list(range(first - first % _PROBE_SECONDS, last + _PROBE_SECONDS, _PROBE_SECONDS))
    found = [_offset(zone, s) for s in probes]
    starts, offsets = [first], [found[0]]
    for k in range(1, len(probes)):
        if found[k] == found[k - 1]:
            continue
        low, high = probes[k - 1], probes[k]  # the offset changes after low, by high: the first second of the new
        while high - low > 1:
            mid = (low + high) // 2
            if _offset(zone, mid) == found[k - 1]:
                low = mid
            else:
                high = mid
        starts.append(high)
        offsets.append(found[k])
    return np.array(starts, dtype=np.int64), np.array(offsets, dtype=np.int64)


def wall_clock(instants: np.ndarray, zone: str) -> np.ndarray:
    """UTC instants ``instants`` (``datetime64``) as the wall-clock times of ``zone`` (``datetime64[ns]`` without a
    zone; NaT stays NaT).

    Examples
    --------
    Berlin puts its clocks forward at 01:00 UTC on 31 March 2024 and back at 01:00 UTC on 27 October:

    >>> utc = np.array(["2024-03-31T00:59", "2024-03-31T01:00", "2024-10-27T00:30", "2024-10-27T01:30", "NaT"],
    ...                dtype="datetime64[ns]")
    >>> [str(t)[:16] for t in wall_clock(utc, "Europe/Berlin")]
    ['2024-03-31T01:59', '2024-03-31T03:00', '2024-10-27T02:30', '2024-10-27T02:30', 'NaT']
    """
    times = np.asarray(instants, dtype="datetime64[ns]")
    out = times.copy()
    good = ~np.isnat(times)
    if not good.any():
        return out
    ns = times[good].astype(np.int64)
    seconds = ns // 10**9
    starts, offsets = _offsets(_zone(check_zone(zone)), int(seconds.min()), int(seconds.max()))
    shift = offsets[np.searchsorted(starts, seconds, side="right") - 1]
    out[good] = (ns + shift * 10**9).astype("datetime64[ns]")
    return out


def now_on_wall_clock(zone: str | None) -> np.datetime64:
    """The time now on ``zone``'s wall clock (None: this machine's), ``datetime64[ns]``."""
    now = datetime.now() if zone is None else datetime.now(_zone(check_zone(zone))).replace(tzinfo=None)
    return np.datetime64(now, "ns")


__all__ = ["check_zone", "now_on_wall_clock", "wall_clock", "zone_problem"]
