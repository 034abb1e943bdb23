"""Evaluate the detector's alarms on long normal data and under drift (issue 14's cases), beside the old default.

1. **False-alarm budget.** A detector fitted with defaults on 5,000 rows of a stationary synthetic sensor (a sine of
   period 50 plus 5% noise, one row a second; 1 and 2 sensors) monitors 300,000 more rows of the same process
   (3.47 days) through :class:`~tsae.pipelines.anomaly.monitor.Monitor`: every event is a false alarm. The default
   threshold (``budget``, 1 event a day) beside the previous default (``pot``, a per-sample rate of 1e-3).
2. **Drift.** A detector fitted on 1,500 rows of a sine (period 25) plus 5% noise scores 20,000 rows whose level drifts
   by one amplitude; then the same with a level shift (+1.5 for 200 rows at 15,000) and a spike (+4 for 5 rows at
   18,000) after the drift: false events with drift updates off and on, whether the faults are still found, and the
   largest difference between the monitor (random chunks of 1-400 rows) and batch scoring.
3. **Real series** (``--real dev`` or ``--real heldout``, the sets of ``scripts/eval_anomaly.py``): a detector fitted
   with defaults on each series' training rows scores the rest. Its flags, not its ranking: the share of the normal
   scored rows flagged, the labelled anomalies with at least one flagged row, and the false events (flagged events
   touching no labelled anomaly) per 1,000 scored rows and per day (the budget's unit), grouped by where the
   threshold came from (a hold-out, a cross-fit copy on data too short for one, or in-sample). Each detector is told
   its series' sampling interval (the median step of its timestamps), as ``tsae detect fit`` reads it from a file's
   time column. The cross-fitted series are also fitted with ``calibration="training"``: the in-sample threshold
   they had before cross-fitting.

Usage::

    python scripts/eval_alarms.py [--skip-budget] [--skip-drift] [--real {dev,heldout}]
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from tsae import Detector
from tsae.pipelines.anomaly.events import find_events
from tsae.pipelines.anomaly.monitor import Monitor

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anomaly_data import labelled_set
from anomaly_metrics import labelled_events


def budget_table() -> None:
    print("| sensors | threshold method | threshold | events in 300,000 s (3.47 days) | flagged % |")
    print("|---|---|---|---|---|")
    for sensors in (1, 2):
        rng = np.random.default_rng(sensors)
        t = np.arange(305_000)
        x = np.sin(2 * np.pi * t / 50 + np.arange(sensors)[:, None] * 0.7) + 0.05 * rng.normal(size=(sensors, t.size))
        for method in ("budget", "pot"):
            det = Detector(device="cpu", threshold=method).fit(x[:, :5000])
            mon = Monitor(det)
            records = []
            for i in range(5000, 305_000, 5000):
                records += mon.push(x[:, i:i + 5000])
            records += mon.flush()
            events = sum(r["type"] == "event" for r in records)
            print(f"| {sensors} | {method} | {det.threshold_:.3f} | {events} | {100 * mon.anomalous / 300_000:.3f} |",
                  flush=True)


def drift_table() -> None:
    t = np.arange(1500)
    base = Detector(device="cpu").fit(np.sin(2 * np.pi * t / 25) + 0.05 * np.random.default_rng(0).normal(size=t.size))
    n = 20_000
    t = np.arange(n)
    drifting = np.sin(2 * np.pi * t / 25) + 0.05 * np.random.default_rng(1).normal(size=n) + np.linspace(0, 1, n)
    faulty = drifting.copy()
    faulty[15_000:15_200] += 1.5
    faulty[18_000:18_005] += 4.0
    print("| drift_rate | drift_every | false events (drift only) | flagged samples | shift found | spike found "
          "| monitor vs batch (max abs diff) |")
    print("|---|---|---|---|---|---|---|")
    for rate, every in ((0.0, None), (0.5, 250), (0.5, 500)):
        det = base.set_params(drift_rate=rate, drift_every=every)
        scores = det.decision_function(drifting)
        false = find_events(scores, scores > det.threshold_, merge_gap=det.event_gap)
        batch = det.decision_function(faulty)
        found = find_events(batch, batch > det.threshold_, merge_gap=det.event_gap)
        shift = any(e.start_index <= 15_200 and e.end_index >= 15_000 for e in found)
        spike = any(e.start_index <= 18_005 and e.end_index >= 18_000 for e in found)
        mon, records, i = Monitor(det, every_sample=True), [], 0
        rng = np.random.default_rng(0)
        while i < n:
            size = int(rng.integers(1, 400))
            records += mon.push(faulty[None, i:i + size])
            i += size
        records += mon.flush()
        streamed = np.array([r["score"] for r in records if r["type"] == "sample"])
        print(f"| {rate} | {every or '-'} | {len(false)} | {int((scores > det.threshold_).sum())} | {shift} | {spike} "
              f"| {np.abs(streamed - batch).max():.1e} |", flush=True)


def _flag_measures(det: Detector, X: np.ndarray, labels: np.ndarray) -> tuple[float, int, int, int]:
    """(share of normal rows flagged, labelled anomalies hit, their count, false events) of ``X`` (C, n)."""
    scores = det.decision_function(X)
    flags = scores > det.threshold_
    windows = labelled_events(labels)
    hit = sum(bool(flags[a:b].any()) for a, b in windows)
    truth = labels.astype(bool)
    false = sum(not truth[e.start_index:e.end_index + 1].any()
                for e in find_events(scores, flags, merge_gap=det.event_gap))
    return float(flags[~truth].mean()) if (~truth).any() else float("nan"), hit, len(windows), false


def real_table(which: str) -> None:
    series, origin = labelled_set(which)
    print(f"set {which}: {origin}")
    groups: dict[tuple[str, str], list[tuple[float, int, int, int, int, float]]] = {}
    for s in series:
        labels = s.labels[s.train_end:]
        if s.train_end >= len(s.X) or not labels.any():
            continue
        train, test = s.X[:s.train_end].T, s.X[s.train_end:].T
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the too-short-to-hold-out warnings: that is the point here
            det = Detector(device="cpu", sample_interval=s.interval).fit(train)
            source = str(det.threshold_obj_.params["scores"])
            fits = [(source, det)]
            if source == "crossfit":
                fits.append(("in-sample (before cross-fit)",
                             Detector(device="cpu", sample_interval=s.interval, calibration="training").fit(train)))
        for name, fitted in fits:
            days = test.shape[1] * (s.interval or 1.0) / 86400
            groups.setdefault((s.source, name), []).append((*_flag_measures(fitted, test, labels), test.shape[1],
                                                            days))
    print("| source | threshold from | series | normal rows flagged % | anomalies flagged "
          "| false events / 1,000 rows | false events / day |")
    print("|---|---|---|---|---|---|---|")
    for (source, name), rows in sorted(groups.items()):
        share = 100 * float(np.nanmean([r[0] for r in rows]))
        hit, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
        false = sum(r[3] for r in rows)
        print(f"| {source} | {name} | {len(rows)} | {share:.1f} | {hit}/{total} "
              f"| {1000 * false / sum(r[4] for r in rows):.2f} | {false / sum(r[5] for r in rows):.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-budget", action="store_true")
    parser.add_argument("--skip-drift", action="store_true")
    parser.add_argument("--real", choices=["dev", "heldout"], help="also the flags on a labelled set of real series")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    if not args.skip_budget:
        budget_table()
    if not args.skip_drift:
        drift_table()
    if args.real:
        real_table(args.real)


if __name__ == "__main__":
    main()
