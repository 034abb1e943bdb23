"""Evaluate tsae's anomaly Detector beside its anchors on labelled NAB and SKAB series, dev and held-out sets apart.

Sets (scripts/anomaly_data.py), never mixed:

- ``--set dev`` (default): the 31 NAB + 16 SKAB valve1 series of /work/shared/data/anomaly, used for tuning;
- ``--set heldout``: the other 27 NAB series and SKAB's 18 valve2 + other experiments, kept out of all tuning,
  read at run time from git mirrors of github.com/numenta/NAB (MIT) and github.com/waico/SKAB (GPL-3.0)
  (``--nab-repo``, ``--skab-repo``; the commits read are printed and written to ``--json``);
- ``--set all``: both, in separate tables.

Protocol (/work/shared/data/anomaly/README.md): learn from rows [0, train_end), assumed normal (NAB: its 15%
probationary period; SKAB: 400 rows or up to the first anomaly), score the whole series, measure on the
scored rows [train_end, end) of the series that have an anomaly there (the others are skipped and counted).

Measures per series (scripts/anomaly_metrics.py): ROC-AUC, PR-AUC (average precision), VUS-ROC and VUS-PR
(TSB-AD 1.5's implementation, its default buffer window: ``find_length_rank(rank=1)`` of the series' first
sensor, the window TSB-AD's own benchmark uses), event F1 (recall in labelled events, precision in samples,
best threshold, no point adjustment), and the seconds each method spent fitting and scoring (after one
untimed warm-up run of every method on a short synthetic series, so one-off JIT compilation is not counted).
tsae's events (its flags ``score > threshold_``, as ``tsae detect score`` groups and bounds them) are measured too:
the labelled anomalies an event is on (within a window), the events on none, and the first event's start minus
the anomaly's start, beside its flagged span's (a table after the measures').

Methods (scripts/anomaly_anchors.py describes the anchors):

- tsae: ``tsae.Detector()`` with its defaults (``--detector-kw`` adds keyword arguments, to try a setting
  before it becomes a default), fitted on the training rows (sensors x samples), scoring the whole series;
- semi-supervised anchors (learn from the training rows): pca, iforest, stumpy, pyod_ae;
- TSB-AD's best-ranked CPU methods, unsupervised on the whole series as TSB-AD runs them: sub_pca, poly, mp
  (matrix profile), kshape (KShapeAD; not run unless named in ``--only``: TSB-AD's SAND fails on every
  SKAB series, ~1,100 rows being fewer than its initial sample of subsequences needs, and on NAB it scores
  below the other anchors: 45 s for the 25 held-out NAB series, mean PR-AUC 0.223).

Every method runs on one thread (NumPy/numba/torch). Tables (markdown) go to stdout: per source and overall,
the mean of each measure over the series, the summed seconds, then tsae's relative lead over the best anchor
per measure (the goal: at least +10% on PR-AUC and VUS-PR, on NAB and SKAB separately). Progress goes to
stderr (``-q`` silences it).

Needs the ``metrics`` and ``eval`` extras and TSB-AD itself, whose package declares numpy<2 and deep-learning
dependencies that its metrics and these methods never import::

    pip install -e ".[metrics,eval]" && pip install --no-deps "TSB-AD==1.5"

Usage::

    python scripts/eval_anomaly.py [--set dev|heldout|all] [--only a,b] [--skip a,b] [--series SUBSTR]
                                   [--detector-kw JSON] [--per-series] [--timestamps] [--data MANIFEST]
                                   [--json FILE] [-q|--quiet]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anomaly_anchors import ANCHORS, anchor_scores, detector_kwargs, series_window, tsb_ad
from anomaly_data import (
    DEV_DATA,
    NAB_MIRROR,
    SKAB_MIRROR,
    MirrorError,
    Series,
    labelled_set,
)
from anomaly_metrics import series_metrics

METHODS = ("tsae", *ANCHORS)
OPT_IN = {"kshape"}  # run only when named in --only (see the docstring)
MEASURES = (("roc", "ROC-AUC"), ("pr", "PR-AUC"), ("vus_roc", "VUS-ROC"), ("vus_pr", "VUS-PR"),
            ("event_f1", "event F1"))
GOAL = ("pr", "vus_pr")  # the goal: tsae >= +10% over every anchor on these
GOAL_LEAD = 0.10
TIMESTAMPS = False  # give tsae the series' timestamps (--timestamps)


def progress(quiet: bool, *parts: object) -> None:
    if not quiet:
        print(*parts, file=sys.stderr, flush=True)


def pick_methods(only: str, skip: str) -> list[str]:
    """The methods to run, in table order: ``--only`` (or all but the opt-in ones) minus ``--skip``."""
    def names(text: str) -> list[str]:
        chosen = [s.strip() for s in text.split(",") if s.strip()]
        unknown = [s for s in chosen if s not in METHODS]
        if unknown:
            raise SystemExit(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
        return chosen

    wanted = set(names(only)) if only else set(METHODS) - OPT_IN
    wanted -= set(names(skip))
    return [m for m in METHODS if m in wanted]


def load_set(name: str, args: argparse.Namespace) -> tuple[list[Series], dict[str, object]]:
    """The series of set ``name`` and where they came from (paths, repositories, commits)."""
    return labelled_set(name, args.data, args.nab_repo, args.skab_repo)


def scored(series: Series) -> bool:
    """Whether the scored rows hold both classes (else no measure is defined)."""
    tail = series.labels[series.train_end:]
    return bool(tail.any() and not tail.all())


def run_method(method: str, s: Series, window: int, detector_kw: dict[str, Any] | None = None,
               onsets: dict[str, float] | None = None) -> np.ndarray:
    """``method``'s scores of ``s``; for tsae, its events' onsets go into ``onsets`` (see :func:`event_onsets`)."""
    if method == "tsae":
        import tsae
        from tsae.pipelines.anomaly.block_scoring import JoinedBlocks
        from tsae.pipelines.anomaly.events import find_events

        detector = tsae.Detector(**(detector_kw or {}))
        times = s.times if TIMESTAMPS and s.times is not None else None  # as a table's date column gives them
        if times is not None:
            detector.fit(s.X[: s.train_end].T, times=times[: s.train_end])
        else:
            detector.fit(s.X[: s.train_end].T)
        # the scores (as decision_function's) and, in the same pass, the early rows that bound the events
        blocks, early = JoinedBlocks(), []
        detector._score_each(s.X.T, None, 100, blocks, times, early.append)
        scores, contrib = blocks.joined()
        if onsets is not None:
            events = find_events(scores, scores > detector.threshold_, contrib.T, detector.sensors_,
                                 merge_gap=detector.event_gap, onset=np.concatenate(early),
                                 onset_base=detector.state_.contrib_base,
                                 onset_from=max(detector.state_.windows) - 1)
            onsets.update(event_onsets(s, events, int(detector.window_)))
        return np.asarray(scores, dtype=np.float64).ravel()
    return anchor_scores(method, s.X, s.train_end, window)


def event_onsets(s: Series, events: list[Any], window: int) -> dict[str, float]:
    """tsae's events against the labelled anomalies of the scored rows: the median over the anomalies of the first
    event's start minus the anomaly's start (an event within a window of the anomaly counts as on it), and of the
    first event's flagged span's start (NaN: no event on any anomaly); how many anomalies an event is on, and the
    events on none."""
    tail = np.r_[0, s.labels[s.train_end:].astype(np.int8), 0]
    starts = np.flatnonzero(np.diff(tail) == 1) + s.train_end
    ends = np.flatnonzero(np.diff(tail) == -1) - 1 + s.train_end
    scored = [e for e in events if e.end_index >= s.train_end]
    on_any: set[int] = set()
    delays, flagged = [], []
    for a, b in zip(starts, ends, strict=True):
        on = [i for i, e in enumerate(scored) if e.end_index >= a - window and e.start_index <= b + window]
        on_any.update(on)
        if on:
            first = min((scored[i] for i in on), key=lambda e: e.start_index)
            delays.append(first.start_index - a)
            flagged.append(first.flagged_start_index - a)
    return {"onset": float(np.median(delays)) if delays else float("nan"),
            "onset_flagged": float(np.median(flagged)) if flagged else float("nan"),
            "anomalies": float(len(starts)), "anomalies_hit": float(len(delays)),
            "false_events": float(len(scored) - len(on_any))}


def warm_up(methods: list[str], channels: int, detector_kw: dict[str, Any] | None = None) -> None:
    """Run each method once on a short synthetic series so that one-off JIT compilation (numba, stumpy)
    is not charged to the first real series."""
    rng = np.random.default_rng(0)
    t = np.arange(1200)
    X = np.sin(2 * np.pi * t / 50)[:, None] + 0.1 * rng.standard_normal((len(t), channels))
    s = Series("synthetic", "warm-up", X, np.zeros(len(t), dtype=np.int8), 400)
    for method in methods:
        run_method(method, s, 50, detector_kw)


def evaluate(series: list[Series], methods: list[str], quiet: bool,
             detector_kw: dict[str, Any] | None = None) -> list[dict[str, object]]:
    """One row per (series, method): the measures on the scored rows, seconds, and any error."""
    rows: list[dict[str, object]] = []
    for i, s in enumerate(series, 1):
        window = series_window(s.X)
        line = [f"[{i}/{len(series)}] {s.source} {s.name} rows={len(s.X)} train={s.train_end} L={window}"]
        for method in methods:
            row: dict[str, object] = {"source": s.source, "series": s.name, "rows": len(s.X),
                                      "train_end": s.train_end, "window": window, "method": method}
            started = time.perf_counter()
            try:
                onsets: dict[str, float] = {}
                scores = run_method(method, s, window, detector_kw, onsets)
                row.update(onsets)
                row["seconds"] = time.perf_counter() - started
                if len(scores) != len(s.X):
                    raise ValueError(f"{len(scores)} scores for {len(s.X)} rows")
                row.update(series_metrics(s.labels[s.train_end:], scores[s.train_end:], window))
                line.append(f"{method} {row['pr']:.3f} ({row['seconds']:.1f}s)")
            except Exception as error:  # one failing method must not end a long run: it is reported
                row["seconds"] = time.perf_counter() - started
                row["error"] = f"{type(error).__name__}: {error}"
                line.append(f"{method} FAILED ({row['error'][:80]})")
            rows.append(row)
        progress(quiet, "  ".join(line))
    return rows


def summarise(rows: list[dict[str, object]], methods: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Per group (each source and "overall") and method: mean of each measure, series count, summed seconds."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    sources = sorted({str(r["source"]) for r in rows})
    groups = sources + ["overall"] if len(sources) > 1 else sources
    for group in groups:
        members = [r for r in rows if group in ("overall", r["source"])]
        out[group] = {}
        for method in methods:
            mine = [r for r in members if r["method"] == method]
            done = [r for r in mine if "error" not in r]
            entry = {key: float(np.mean([float(r[key]) for r in done])) if done else float("nan")  # type: ignore[arg-type]
                     for key, _ in MEASURES}
            entry.update(series=len(done), failed=len(mine) - len(done),
                         seconds=float(sum(float(r["seconds"]) for r in mine)))  # type: ignore[arg-type]
            out[group][method] = entry
    return out


def onset_table(title: str, rows: list[dict[str, object]]) -> str:
    """tsae's events per source: anomalies an event is on, false events, and the median over the series of the
    first event's start minus the anomaly's start, beside the flagged span's (negative: before the anomaly)."""
    mine = [r for r in rows if r["method"] == "tsae" and "onset" in r]
    if not mine:
        return ""
    lines = [f"**{title}: tsae's events**", "", "| source | series | anomalies with an event | false events | "
             "first event start - anomaly start (samples, median of the series' medians; flagged span's) |",
             "|---|---|---|---|---|"]
    for source in sorted({str(r["source"]) for r in mine}):
        part = [r for r in mine if r["source"] == source]
        hit = sum(float(r["anomalies_hit"]) for r in part)  # type: ignore[arg-type]
        total = sum(float(r["anomalies"]) for r in part)  # type: ignore[arg-type]
        false = sum(float(r["false_events"]) for r in part)  # type: ignore[arg-type]
        onset = [float(r["onset"]) for r in part if np.isfinite(float(r["onset"]))]  # type: ignore[arg-type]
        flagged = [float(r["onset_flagged"]) for r in part  # type: ignore[arg-type]
                   if np.isfinite(float(r["onset_flagged"]))]  # type: ignore[arg-type]
        med = f"{np.median(onset):.0f} ({np.median(flagged):.0f})" if onset else "-"
        lines.append(f"| {source} | {len(part)} | {hit:.0f}/{total:.0f} | {false:.0f} | {med} |")
    return "\n".join(lines)


def leads(summary: dict[str, dict[str, float]]) -> dict[str, float]:
    """tsae's relative lead over the best anchor, per measure (``0.1`` = +10%)."""
    anchors = [m for m in summary if m != "tsae"]
    if "tsae" not in summary or not anchors:
        return {}
    return {key: summary["tsae"][key] / max(summary[m][key] for m in anchors) - 1 for key, _ in MEASURES}


def markdown(title: str, summary: dict[str, dict[str, float]]) -> str:
    head = "| method | series | " + " | ".join(label for _, label in MEASURES) + " | fit+score s |"
    lines = [f"**{title}**", "", head, "|" + "---|" * (len(MEASURES) + 3)]
    for method, entry in summary.items():
        failed = f" ({entry['failed']:.0f} failed)" if entry["failed"] else ""
        cells = " | ".join(f"{entry[key]:.3f}" for key, _ in MEASURES)
        lines.append(f"| {method} | {entry['series']:.0f}{failed} | {cells} | {entry['seconds']:.1f} |")
    lead = leads(summary)
    if lead:
        anchors = [m for m in summary if m != "tsae"]
        best = {key: max(anchors, key=lambda m, k=key: summary[m][k]) for key, _ in MEASURES}
        cells = " | ".join(f"{lead[key]:+.1%} vs {best[key]}" for key, _ in MEASURES)
        pace = summary["tsae"]["seconds"] / max(min(summary[m]["seconds"] for m in anchors), 1e-9)
        lines.append(f"| tsae lead over best anchor | | {cells} | {pace:.1f}x the fastest anchor's |")
        met = all(lead[key] >= GOAL_LEAD for key in GOAL)
        lines += ["", f"goal (tsae >= +10% over every anchor on PR-AUC and VUS-PR): {'met' if met else 'not met'}"]
    return "\n".join(lines)


def per_series_table(rows: list[dict[str, object]], methods: list[str]) -> str:
    lines = ["| source | series | method | ROC-AUC | PR-AUC | VUS-ROC | VUS-PR | event F1 | s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['source']} | {r['series']} | {r['method']} | failed: {r['error']} |||||| |")
            continue
        cells = " | ".join(f"{float(r[key]):.3f}" for key, _ in MEASURES)  # type: ignore[arg-type]
        lines.append(f"| {r['source']} | {r['series']} | {r['method']} | {cells} | {float(r['seconds']):.1f} |")  # type: ignore[arg-type]
    return "\n".join(lines)


def report_set(name: str, rows: list[dict[str, object]], methods: list[str], skipped: Iterable[str],
               per_series: bool) -> dict[str, dict[str, dict[str, float]]]:
    summary = summarise(rows, methods)
    skipped = list(skipped)
    print(f"\n## set {name}: {len({r['series'] for r in rows})} series measured; {len(skipped)} skipped "
          f"(no anomaly, or only anomalies, in the scored rows){': ' + ', '.join(skipped) if skipped else ''}\n")
    for group, table in summary.items():
        print(markdown(f"{name} / {group}", table) + "\n")
    events = onset_table(name, rows)
    if events:
        print(events + "\n")
    if per_series:
        print(per_series_table(rows, methods) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="which", choices=["dev", "heldout", "all"], default="dev")
    parser.add_argument("--data", type=Path, default=DEV_DATA, help="the development set (manifest.csv)")
    parser.add_argument("--nab-repo", type=Path, default=NAB_MIRROR, help="git directory of numenta/NAB")
    parser.add_argument("--skab-repo", type=Path, default=SKAB_MIRROR, help="git directory of waico/SKAB")
    parser.add_argument("--only", default="", help=f"comma-separated methods to run (of {', '.join(METHODS)})")
    parser.add_argument("--skip", default="", help="comma-separated methods not to run")
    parser.add_argument("--series", default="", help="only series whose name contains this")
    parser.add_argument("--detector-kw", default="{}",
                        help="JSON of extra tsae.Detector keyword arguments, e.g. '{\"error_norm\": true}'")
    parser.add_argument("--per-series", action="store_true", help="also print the per-series table")
    parser.add_argument("--timestamps", action="store_true",
                        help="give tsae each series' timestamps (as a table's date column gives them to tsae detect): "
                             "a seasonal profile is learnt where the training rows cover 3 days or more")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)

    global TIMESTAMPS
    TIMESTAMPS = args.timestamps
    methods = pick_methods(args.only, args.skip)
    detector_kw = detector_kwargs(args.detector_kw)
    if "tsae" in methods:
        import torch

        torch.set_num_threads(1)
    try:
        tsb_ad()
    except ImportError as error:
        print(f"TSB-AD is needed ({error}): pip install --no-deps 'TSB-AD==1.5' (and the eval extra)",
              file=sys.stderr)
        return 2
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        """A package's version, None where it is not installed (methods not run need none)."""
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    paragraphs = __doc__.split("\n\n")
    result: dict[str, object] = {
        "methods": methods, "detector_kw": detector_kw, "sets": {},
        "protocol": " ".join(p for p in paragraphs if p.startswith(("Protocol", "Measures"))),
        "versions": {name: installed(name) for name in ("tsae", "TSB-AD", "numpy", "scikit-learn", "pyod", "stumpy")},
    }
    for name in (["dev", "heldout"] if args.which == "all" else [args.which]):
        try:
            series, origin = load_set(name, args)
        except MirrorError as error:
            print(error, file=sys.stderr)
            return 2
        matched = [s for s in series if args.series in s.name]
        if not matched and args.series and args.which != "all":
            other = "heldout" if name == "dev" else "dev"
            print(f"no series of the {name} set has {args.series!r} in its name (is it one of the {other} set's? "
                  f"--set {other})", file=sys.stderr)
            return 2
        series = matched
        skipped = [s.name for s in series if not scored(s)]
        series = [s for s in series if scored(s)]
        progress(args.quiet, f"set {name}: {len(series)} series ({len(skipped)} skipped), methods {methods}; "
                 + json.dumps(origin))
        for channels in sorted({s.X.shape[1] for s in series}):
            warm_up(methods, channels, detector_kw)
        rows = evaluate(series, methods, args.quiet, detector_kw)
        if detector_kw and "tsae" in methods:
            print(f"\ntsae: Detector keyword arguments {json.dumps(detector_kw)}")
        summary = report_set(name, rows, methods, skipped, args.per_series)
        result["sets"][name] = {"origin": origin, "skipped": skipped, "series": rows,  # type: ignore[index]
                                "summary": summary, "lead": {g: leads(t) for g, t in summary.items()}}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
