"""Monitor.push(x, times=[...]) reads text times as `tsae monitor` reads a stream's time field (one parser)."""
import numpy as np
import pytest

from tsae.pipelines.anomaly.monitor import Monitor

from sensor_data import SENSORS


def _clock(seconds):
    seconds %= 86400
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


CASES = {
    "clock past midnight": lambda k: _clock(86300 + k),
    "ISO date with a space and Z": lambda k: f"2024-05-01 12:{k // 60 % 60:02d}:{k % 60:02d}Z",
    "numbers as text": lambda k: str(k * 2),
}


@pytest.mark.parametrize("case", list(CASES))
def test_pushed_text_times_come_out_as_the_streams_times(detector, test_data, case):
    # before: push carried "23:58:20" and "2024-05-01 12:00:00Z" into the records as given, where the same rows read
    # as CSV lines came out as seconds (on past midnight) and as ISO text
    x = test_data[:200]
    times = [CASES[case](k) for k in range(len(x))]
    rows = zip(times, x, strict=True)
    lines = ["time," + ",".join(SENSORS)] + [t + "," + ",".join(repr(float(v)) for v in row) for t, row in rows]
    streamed = [r["time"] for r in Monitor(detector, every_sample=True).push_lines(lines) if r["type"] == "sample"]
    pushed = [r["time"] for r in Monitor(detector, every_sample=True).push(x.T, times=times) if r["type"] == "sample"]
    assert streamed and pushed == streamed
    if case.startswith("clock"):
        assert pushed[-1] == 86300.0 + len(pushed) - 1 > 86400  # on into the next day


def test_pushed_clock_times_are_not_judged_as_excel_days(detector, test_data):
    import warnings

    times = [_clock(43200 + k) for k in range(100)]  # 43200 s: in Excel's span of days, but clock seconds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = Monitor(detector, every_sample=True).push(test_data[:100].T, times=times)
    assert [r["time"] for r in records if r["type"] == "sample"][0] == 43200.0


def test_pushed_non_text_times_are_kept(detector, test_data):
    times = list(np.arange(100) * 1.5)
    records = Monitor(detector, every_sample=True).push(test_data[:100].T, times=times)
    assert [r["time"] for r in records if r["type"] == "sample"][:2] == [0.0, 1.5]
