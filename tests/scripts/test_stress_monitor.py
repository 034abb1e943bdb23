"""scripts/stress_monitor.py: the MQTT phase's drain knows how many samples the monitor holds until the end."""
from __future__ import annotations

from pathlib import Path

from script_modules import load_script

from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.monitor import Monitor

sm = load_script("stress_monitor")


def test_the_drain_margin_covers_what_the_monitor_holds_back(tmp_path: Path) -> None:
    """The drain waited for all but ``2 * WINDOW`` samples; the monitor holds back more (88 at window 32, its
    largest scale 64), so ``--seconds 20 --no-stdin`` ran 600 s longer (the default ``--drain``)."""
    path = sm.make_detector(tmp_path, 4)
    hold = sm.held_back(path, 4)
    det = Detector.load(path, device="cpu")
    rows = sm.synthetic(1200, 4)
    for n in (1000, 1037, 1101, 1200):  # streams cut in blocks of 100 rows, as the MQTT messages carry them
        monitor = Monitor(det, every_sample=True)
        scored = sum(record["type"] == "sample" for start in range(0, n, 100)
                     for record in monitor.push(rows[start:min(start + 100, n)].T))
        assert n - hold <= scored < n
    assert hold > 2 * sm.WINDOW


def test_bench_monitor_mqtt_refuses_a_backlog_the_monitor_holds_back_whole() -> None:
    """``bench_monitor_mqtt.py --rows 50`` (window 32: the monitor holds back 88 rows a device) waited 600 s for a
    first record, then raised RuntimeError; now one line before the broker starts."""
    import re
    import subprocess
    import sys

    from script_modules import SCRIPTS

    done = subprocess.run([sys.executable, str(SCRIPTS / "bench_monitor_mqtt.py"), "--devices", "2", "--rows", "50"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert re.fullmatch(r"--rows 50: the monitor writes a device's first record after \d+ of its rows \(window 32\); "
                        r"give more", line)
