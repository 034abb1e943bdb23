"""Evaluate the streaming monitor with a silent sensor (one that sends nothing), before and after its degraded mode.

Data: scripts/eval_plant_faults.py's synthetic pump station (6 sensors, 10 minutes a sample, 14 normal training
days, a 7-day test stretch; its fault kinds and their draws). Per seed, one ``tsae.Detector(sample_interval=600.0,
seed=0)`` is fitted on the training days, then the test stretch is streamed through ``tsae monitor``'s
:class:`~tsae.pipelines.anomaly.monitor.Monitor` (``--block`` samples a push, ``--silence`` as the option) in these
scenarios, each sensor in turn being the silent one:

- ``normal``: nothing missing (the reference; before and after must be equal);
- ``absent``: the sensor never sends a value (NaN from the first sample);
- ``dies``: the sensor sends nothing from a time drawn in days 2-5 to the end;
- ``gap``: the sensor sends nothing for one day, from a time drawn in days 2-4, then reports again;
- ``fault``: a fault of each kind of eval_plant_faults (all but ``none`` and ``stall``, which hits every sensor) on
  its drawn sensor, while another sensor (the next ones in turn) is absent from the start.

"before" is the monitor without its degraded mode (a silent sensor held at its last good value, as tsae did),
"after" with it (see tsae/pipelines/anomaly/silent.py). Measures, pooled over the seeds and sensors: false
events per normal day (events that do not touch the fault's span widened by the window), the share of the
samples in alarm, the streams with one event covering at least 90% of the samples, and, for ``fault``, whether
an event touches the fault and whether its top sensor is the faulty one (in brackets, ``ref``: the same faulty
stream with nothing missing). The share of samples in alarm counts the fault's own alarm too.

Seeds 100-105 (the default) are the decision seeds of eval_plant_faults.

Usage::

    python scripts/eval_silent_sensors.py [--seeds 100,101,102,103,104,105] [--silence 100] [--block 36]
                                          [--details] [-q|--quiet]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_plant_faults import DAY, KINDS, SENSORS, inject, make_data

FAULTS = [kind for kind in KINDS if kind not in ("none", "stall")]


def stream(det: Any, X: np.ndarray, degraded: bool, silence: int, block: int) -> list[dict[str, Any]]:
    """The monitor's records for the rows ``X`` (n, C), pushed ``block`` at a time."""
    from tsae.pipelines.anomaly.monitor import Monitor
    from tsae.pipelines.anomaly.silent import scoring_core

    mon = Monitor(det, silence=silence, every_sample=True)
    if not degraded:
        scoring_core(mon.core).silent = None
    records: list[dict[str, Any]] = []
    for start in range(0, len(X), block):
        records += mon.push(X[start:start + block].T)
    return records + mon.flush()


def measure(records: list[dict[str, Any]], n: int, span: tuple[int, int] | None = None) -> dict[str, Any]:
    """Events off ``span`` (the fault's, widened) a normal day, alarm share, and the event on the span."""
    events = [r for r in records if r["type"] == "event"]
    flags = np.array([r["anomaly"] for r in records if r["type"] == "sample"])
    on = [e for e in events if span is not None and e["end_index"] >= span[0] and e["start_index"] <= span[1]]
    normal_days = (n - (span[1] - span[0] + 1 if span else 0)) / DAY
    return {"false_per_day": (len(events) - len(on)) / normal_days, "alarm_share": float(flags.mean()),
            "whole": any(e["end_index"] - e["start_index"] + 1 >= 0.9 * n for e in events),
            "hit": bool(on), "top": on[0]["top_sensors"][0]["sensor"] if on and on[0]["top_sensors"] else None,
            "false_tops": sorted({e["top_sensors"][0]["sensor"] for e in events if e not in on})}


def evaluate_seed(seed: int, silence: int, block: int, quiet: bool) -> list[dict[str, Any]]:
    import tsae

    Xtr, Xte, stats = make_data(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        det = tsae.Detector(sample_interval=600.0, seed=0).fit(Xtr.T, sensors=SENSORS)
    L, n, C = int(det.window_), len(Xte), len(SENSORS)
    rows: list[dict[str, Any]] = []

    def run(scenario: str, X: np.ndarray, silent: int, span: tuple[int, int] | None = None,
            **extra: Any) -> None:
        for degraded in (False, True):
            rec = measure(stream(det, X, degraded, silence, block), n, span)
            rows.append({"seed": seed, "scenario": scenario, "silent": SENSORS[silent] if silent >= 0 else None,
                         "mode": "after" if degraded else "before", **extra, **rec})

    run("normal", Xte, -1)
    for j in range(C):
        rng = np.random.default_rng([seed, j, 11])
        X = Xte.copy()
        X[:, j] = np.nan
        run("absent", X, j)
        X = Xte.copy()
        X[int(rng.integers(2 * DAY, 5 * DAY)):, j] = np.nan
        run("dies", X, j)
        X = Xte.copy()
        start = int(rng.integers(2 * DAY, 4 * DAY))
        X[start:start + DAY, j] = np.nan
        run("gap", X, j)
    for k, kind in enumerate(FAULTS):
        X, y, faulty = inject(kind, Xte, stats, np.random.default_rng([seed, KINDS.index(kind), 7]))
        lab = np.flatnonzero(y)
        span = (int(lab[0]) - L, int(lab[-1]) + L)
        ref = measure(stream(det, X, True, silence, block), n, span)
        j = (faulty + 1 + k % (C - 1)) % C  # another sensor, each in turn
        X = X.copy()
        X[:, j] = np.nan
        run("fault", X, j, span, kind=kind, faulty=SENSORS[faulty], ref_hit=ref["hit"], ref_top=ref["top"],
            ref_false=ref["false_per_day"], ref_alarm=ref["alarm_share"])
    if not quiet:
        print(f"seed {seed}: window {L}, threshold {det.threshold_:.3g}, {len(rows)} streams", file=sys.stderr)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| scenario | mode | streams | false events / normal day | share of samples in alarm | "
           "streams with one event over >= 90% | fault found (ref) | top sensor = faulty (ref) |",
           "|---|---|---|---|---|---|---|---|"]
    for scenario in ("normal", "absent", "dies", "gap", "fault"):
        for mode in ("before", "after"):
            rs = [r for r in rows if r["scenario"] == scenario and r["mode"] == mode]
            if not rs:
                continue
            found = top = "-"
            false = f"{np.mean([r['false_per_day'] for r in rs]):.3f}"
            alarm = f"{np.mean([r['alarm_share'] for r in rs]):.3f}"
            if scenario == "fault":
                false += f" ({np.mean([r['ref_false'] for r in rs]):.3f})"
                alarm += f" ({np.mean([r['ref_alarm'] for r in rs]):.3f})"
                found = f"{np.mean([r['hit'] for r in rs]):.2f} ({np.mean([r['ref_hit'] for r in rs]):.2f})"
                top = (f"{np.mean([r['top'] == r['faulty'] for r in rs]):.2f} "
                       f"({np.mean([r['ref_top'] == r['faulty'] for r in rs]):.2f})")
            out.append(f"| {scenario} | {mode} | {len(rs)} | {false} | {alarm} | {sum(r['whole'] for r in rs)} | "
                       f"{found} | {top} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="100,101,102,103,104,105")
    parser.add_argument("--silence", type=int, default=100, help="the monitor's --silence (samples)")
    parser.add_argument("--block", type=int, default=36, help="samples a push")
    parser.add_argument("--details", action="store_true", help="also one line per stream (after)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = [r for seed in (int(s) for s in args.seeds.split(",")) for r in
            evaluate_seed(seed, args.silence, args.block, args.quiet)]
    print(f"silence {args.silence}, blocks of {args.block}, seeds {args.seeds}\n")
    print(table(rows))
    if args.details:
        for r in rows:
            if r["mode"] == "after" and (r["false_per_day"] or (r["scenario"] == "fault" and
                                                                  (not r["hit"] or r["top"] != r["faulty"]))):
                print({k: v for k, v in r.items() if k != "mode"})
    if not args.quiet:
        print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
