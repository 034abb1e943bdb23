"""Time zones: UTC instants on a zone's wall clock equal zoneinfo's, one by one; names checked."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tsae.io.time_zone import check_zone, now_on_wall_clock, wall_clock, zone_problem


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/St_Johns",
                                  "Pacific/Chatham", "Asia/Kolkata", "Pacific/Apia", "UTC"])
def test_wall_clock_equals_zoneinfo_instant_by_instant(zone):
    # half-hour daylight saving (Lord Howe), changes at :30 UTC (St John's), a day skipped (Apia, 2011), none (Kolkata)
    seconds = np.random.default_rng(0).integers(631_152_000, 2_208_988_800, 3000)  # 1990 to 2040
    seconds[:4] = [1_711_846_799, 1_711_846_800, 1_729_990_800, 1_729_994_400]  # around Berlin's changes in 2024
    got = wall_clock(seconds.astype("datetime64[s]"), zone)
    expected = [np.datetime64(datetime.fromtimestamp(int(s), timezone.utc).astimezone(ZoneInfo(zone))
                              .replace(tzinfo=None), "ns") for s in seconds]
    assert got.dtype == np.dtype("datetime64[ns]") and np.array_equal(got, np.array(expected))


def test_not_a_time_stays_so_and_the_sub_second_part_is_kept():
    t = np.array(["2024-07-01T12:00:00.123456789", "NaT"], dtype="datetime64[ns]")
    got = wall_clock(t, "Europe/Berlin")
    assert str(got[0]) == "2024-07-01T14:00:00.123456789" and np.isnat(got[1])
    assert np.isnat(wall_clock(t[1:], "Europe/Berlin")).all()


def test_names():
    assert zone_problem("Europe/Berlin") is None and check_zone("America/New_York") == "America/New_York"
    for bad in ("Europe/Berlim", "", "../../etc/passwd", "/usr/share/zoneinfo/UTC", None, 3):
        assert "Europe/Berlin" in zone_problem(bad)  # the message shows what a name looks like
    with pytest.raises(ValueError, match=r"^when='Mars/Olympus': no time zone is named"):
        check_zone("Mars/Olympus", "when")
    with pytest.raises(ValueError, match="timezone="):
        wall_clock(np.array(["2024-01-01"], dtype="datetime64[ns]"), "Nowhere")
    assert abs(now_on_wall_clock("UTC") - np.datetime64(datetime.now(timezone.utc).replace(tzinfo=None), "ns")) \
        < np.timedelta64(60, "s")
