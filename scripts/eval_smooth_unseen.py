"""Probe tsae.smooth and tsae.impute on signal and noise families that scripts/eval_smooth.py does not hold.

eval_smooth.py's tables are where tsae's defaults were chosen; this script asks whether the lead over the
classic methods carries over to families never used for a choice, as a maintainer's own data would:

Smoothing (white Gaussian noise at 0.1 and 0.3 of the truth's spread unless the family says otherwise):
``triangle`` (kinks), ``sawtooth`` (ramps and jumps), ``decay`` (a first-order system's step responses),
``daily`` (a daily cycle with a trend, sampled every 10 minutes, two weeks), ``two_periods`` (two
superposed periods), ``hetero`` (the daily cycle with noise whose variance follows the level),
``ar0.7``/``ar0.9`` (the daily cycle in coloured AR(1) noise of that coefficient), ``adc`` (the daily cycle,
noisy, then quantised to steps of one noise sigma), ``counter`` (a slowly varying rate read as whole
counts), ``short`` (20 to 60 samples of a noisy sine), ``multi`` (4 correlated channels smoothed as one
table, with ``tsae_1ch``: tsae on each channel alone). Anchors are eval_smooth.py's own (imported):
cross-validated Savitzky-Golay, moving average, LOWESS, and the moving median on the quantised families.

Imputation (light noise, 0.05): ``season_gap`` (the daily cycle with one whole day missing),
``ends`` (the first and last 5 % missing), ``random50`` (half the samples missing at random, one by one),
against linear and cubic-spline interpolation and, where the period is known, a seasonal-naive fill (the
value one period earlier, or later where there is none).

Long gaps (``long_gap``, its own table): gaps of 300 to 3,000 samples, longer than the imputer's widest window
carries across: ``minute_day`` (the daily cycle at one sample a minute, two weeks), ``week_10min`` (six weeks at one
sample every 10 minutes, weekends quieter than weekdays: a weekly cycle of 1,008), ``minute_grow`` (``minute_day``
with its cycle's amplitude growing or shrinking 4-fold), and series without a cycle (``random_walk``, ``trend_ar``: a
trend in AR(1) noise of 0.995, ``noise``, ``ar2``: quasi-periodic AR(2), poles at 0.995), and cycles shorter than
that window (``cycle_100``, ``cycle_200``: the daily cycle's shape in 100 or 200 samples, a week at one sample a
minute); ``one``: one gap of a period (1,440 without one or with a short one), ``three``: three gaps of 300 to 3,000
samples, ``sparse``: such gaps until 60 to 85 % is missing, and in the cyclic series ``start``/``end``: one gap of 300
to 3,000 samples at that end, ``days``: each whole day missing at a chance of 50 to 70 % (a day of 1,440 samples).
Anchors: linear interpolation and seasonal-naive (the value one period away, the period known); the seconds are
tsae.impute's per series.

Long series (``--only long``): time and peak memory of tsae.smooth and tsae.impute on ``--long`` samples
(default 200,000), each in a fresh process, beside the cross-validated Savitzky-Golay filter.

Reported: RMSE to the truth / std(truth), and its ratio to the best anchor (``tsae/best``). ``--noise coloured``
tells tsae.smooth the noise is coloured (``smooth(noise="coloured")``) in the smoothing table, the anchors as they
are: the AR rows are where it is meant for, the others show what a user who picks it wrongly gets.

Usage: ``python scripts/eval_smooth_unseen.py [--n 2016] [--first-seed 0] [--seeds 2]
[--only smooth|impute|long] [--families a,b] [--signals a,b] [--layouts a,b] [--long 200000]
[--noise white|coloured]`` (``--families long_gap``: the long gaps alone; ``--signals``/``--layouts``: those long-gap
rows alone)

Anything decided from this script is decided on ``--first-seed 100``; reported tables use seeds from 0.
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from eval_smooth import (  # noqa: E402
    lowess_cv,
    moving_average_cv,
    moving_median_cv,
    rmse,
    savgol_cv,
)

DAY = 144  # samples of a day at one every 10 minutes
LEVELS = (0.1, 0.3)
SMOOTH_FAMILIES = ("triangle", "sawtooth", "decay", "daily", "two_periods", "hetero", "ar0.7", "ar0.9", "adc",
                   "counter", "short", "multi")
IMPUTE_FAMILIES = ("season_gap", "ends", "random50", "long_gap")
ANCHORS: dict[str, Callable[[np.ndarray], tuple[np.ndarray, str]]] = {
    "savgol": savgol_cv, "lowess": lowess_cv, "movavg": moving_average_cv, "movmed": moving_median_cv}


# ----------------------------------------------------------------------------- signals
def daily(n: int, rng: np.random.Generator, day: int = DAY) -> np.ndarray:
    """A daily cycle of ``day`` samples (a fundamental and its second harmonic, random phase) on a gentle trend."""
    t = np.arange(n)
    phase = rng.uniform(0, 2 * np.pi)
    return (np.sin(2 * np.pi * t / day + phase) + 0.4 * np.sin(4 * np.pi * t / day + 2 * phase)
            + 1.5 * t / n * rng.choice([-1.0, 1.0]))


def clean(family: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """The noiseless signal of a smoothing family (``n`` samples)."""
    t = np.arange(n)
    if family == "triangle":
        period = rng.uniform(150, 300)
        return 2 * np.abs(2 * ((t / period + rng.uniform()) % 1.0) - 1) - 1
    if family == "sawtooth":
        period = rng.uniform(150, 300)
        return 2 * ((t / period + rng.uniform()) % 1.0) - 1
    if family == "decay":  # a first-order system (time constant 20-60 samples) following random set-points
        edges = np.sort(rng.choice(np.arange(n // 20, n - n // 20), size=8, replace=False))
        target = np.repeat(rng.normal(0, 1.5, size=9), np.diff(np.r_[0, edges, n]))
        a = math.exp(-1 / rng.uniform(20, 60))
        y = np.empty(n)
        y[0] = target[0]
        for i in range(1, n):
            y[i] = a * y[i - 1] + (1 - a) * target[i]
        return y
    if family in ("daily", "hetero", "adc") or family.startswith("ar"):
        return daily(n, rng)
    if family == "two_periods":
        return np.sin(2 * np.pi * t / 37 + rng.uniform(0, 6)) + 0.8 * np.sin(2 * np.pi * t / 401 + rng.uniform(0, 6))
    if family == "counter":  # a rate of 2 to 8 events per sample
        return 5 + 3 * np.sin(2 * np.pi * t / rng.uniform(300, 600) + rng.uniform(0, 6))
    if family == "short":
        m = int(rng.integers(20, 61))
        return np.sin(2 * np.pi * np.arange(m) / rng.uniform(15, 40) + rng.uniform(0, 6))
    raise ValueError(family)


def ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance AR(1) noise with coefficient ``phi``."""
    e = rng.normal(size=n) * math.sqrt(1 - phi * phi)
    out = np.empty(n)
    out[0] = rng.normal()
    for i in range(1, n):
        out[i] = phi * out[i - 1] + e[i]
    return out


def noisy_of(family: str, truth: np.ndarray, level: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(truth, noisy)`` of a smoothing family at noise ``level`` (relative to std(truth))."""
    s = level * truth.std()
    if family == "hetero":  # variance in proportion to the level above its minimum (plus a floor)
        height = truth - truth.min()
        return truth, truth + s * np.sqrt((0.1 + height) / (0.1 + height.mean())) * rng.normal(size=len(truth))
    if family.startswith("ar"):
        return truth, truth + s * ar1(len(truth), float(family[2:]), rng)
    if family == "adc":
        return truth, np.round((truth + s * rng.normal(size=len(truth))) / s) * s
    if family == "counter":  # the rate is the truth; the level only sets how long the series is read
        return truth, rng.poisson(truth).astype(float)
    return truth, truth + s * rng.normal(size=len(truth))


def multi(n: int, level: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """4 channels ``(4, n)``: a shared daily cycle in different proportions, each with a little of its own."""
    shared = daily(n, rng)
    own = np.stack([np.sin(2 * np.pi * np.arange(n) / rng.uniform(40, 90) + rng.uniform(0, 6)) for _ in range(4)])
    truth = rng.uniform(0.5, 2, size=(4, 1)) * shared + 0.3 * own
    return truth, truth + level * truth.std(axis=1, keepdims=True) * rng.normal(size=truth.shape)


# ----------------------------------------------------------------------------- smoothing
def run_smoothing(n: int, seeds: int, first_seed: int, families: list[str], noise: str = "white") -> None:
    import tsae.pipelines.smooth.smoother as sm

    told = "" if noise == "white" else f", tsae told noise={noise!r}"
    print(f"\n## Unseen smoothing families: RMSE to the truth / std(truth), n={n}, mean of {seeds} seed(s){told}")
    head = (f"{'family':<12}{'noise':>6} {'tsae':>8} " + " ".join(f"{a:>8}" for a in ANCHORS)
            + f" {'tsae_1ch':>8} {'best':>7} {'tsae/best':>10} {'tsae s':>7}")
    print(head)
    print("-" * len(head))
    ratios = []
    for family in families:
        for level in (LEVELS if family != "counter" else (0.0,)):
            errs: dict[str, list[float]] = {m: [] for m in ("tsae", *ANCHORS, "tsae_1ch")}
            seconds = 0.0
            for seed in range(first_seed, first_seed + seeds):
                rng = np.random.default_rng(9000 * seed + int(level * 100) + SMOOTH_FAMILIES.index(family))
                if family == "multi":
                    truth, noisy = multi(n, level, rng)
                else:
                    truth, noisy = noisy_of(family, clean(family, n, rng), level, rng)
                t0 = time.perf_counter()
                est = sm.smooth(noisy, noise=noise)
                seconds += time.perf_counter() - t0
                rows = np.atleast_2d(truth), np.atleast_2d(noisy), np.atleast_2d(est)
                for tr, no, es in zip(*rows, strict=True):
                    errs["tsae"].append(rmse(es, tr) / tr.std())
                    for name, anchor in ANCHORS.items():
                        if name == "movmed" and family not in ("adc", "counter", "sawtooth", "decay"):
                            continue
                        errs[name].append(rmse(anchor(no)[0], tr) / tr.std())
                    if family == "multi":
                        errs["tsae_1ch"].append(rmse(sm.smooth(no, noise=noise), tr) / tr.std())
            r = {m: float(np.mean(v)) if v else math.nan for m, v in errs.items()}
            best_name = min((a for a in ANCHORS if not math.isnan(r[a])), key=lambda a: r[a])
            ratio = r["tsae"] / r[best_name]
            ratios.append(ratio)
            print(f"{family:<12}{level:>6.1f} {r['tsae']:>8.4f} " + " ".join(f"{r[a]:>8.4f}" for a in ANCHORS)
                  + f" {r['tsae_1ch']:>8.4f} {best_name:>7} {ratio:>10.3f} {seconds / seeds:>7.1f}", flush=True)
    print(f"tsae lowest RMSE in {sum(x < 1 for x in ratios)}/{len(ratios)} cases; geometric-mean ratio to the best "
          f"anchor {math.exp(np.mean(np.log(ratios))):.3f}, worst {max(ratios):.3f}; over 1.1 in "
          f"{sum(x > 1.1 for x in ratios)}")


# ----------------------------------------------------------------------------- imputation
def seasonal_naive(x: np.ndarray, period: int) -> np.ndarray:
    """``x`` with each NaN the value one ``period`` earlier (filled first if need be), else one period later, else on
    the straight line."""
    out = x.copy()
    for i in range(len(out)):
        if np.isnan(out[i]) and i >= period:
            out[i] = out[i - period]
    for i in range(len(out) - 1, -1, -1):
        if np.isnan(out[i]) and i + period < len(out):
            out[i] = out[i + period]
    left = np.isnan(out)  # a period away on both sides missing too (gaps a period apart): the line
    if left.any():
        t = np.arange(len(out))
        out[left] = np.interp(t[left], t[~left], out[~left])
    return out


def gap_mask(family: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """The missing samples of an imputation family."""
    mask = np.zeros(n, dtype=bool)
    if family == "season_gap":
        start = int(rng.integers(2 * DAY, n - 2 * DAY))
        mask[start : start + DAY] = True
    elif family == "ends":
        mask[: n // 20] = True
        mask[-(n // 20) :] = True
    elif family == "random50":
        mask[rng.choice(np.arange(1, n - 1), size=n // 2, replace=False)] = True
    else:
        raise ValueError(family)
    return mask


def run_imputation(n: int, seeds: int, first_seed: int, families: list[str]) -> None:
    from scipy.interpolate import CubicSpline

    import tsae.pipelines.smooth.imputer as imputer

    print(f"\n## Unseen imputation families: RMSE on the missing samples / std(truth), n={n}, mean of {seeds} "
          "seed(s), light noise (0.05) on the observed samples")
    methods = ("tsae", "linear", "spline", "seasonal")
    head = f"{'family':<12}{'signal':>12} " + " ".join(f"{m:>8}" for m in methods) + f" {'tsae/best':>10}"
    print(head)
    print("-" * len(head))
    ratios = []
    for family in families:
        for signal in ("daily", "two_periods", "decay"):
            periodic = signal == "daily"
            e: dict[str, list[float]] = {m: [] for m in methods}
            for seed in range(first_seed, first_seed + seeds):
                rng = np.random.default_rng(11000 * seed + IMPUTE_FAMILIES.index(family))
                truth = clean(signal, n, rng)
                gaps = gap_mask(family, n, rng)
                x = truth + 0.05 * truth.std() * rng.normal(size=n)
                x[gaps] = np.nan
                t = np.arange(n)
                fills = {"tsae": imputer.impute(x)[gaps], "linear": np.interp(t[gaps], t[~gaps], x[~gaps]),
                         "spline": CubicSpline(t[~gaps], x[~gaps])(t[gaps])}
                if periodic:
                    fills["seasonal"] = seasonal_naive(x, DAY)[gaps]
                for name, v in fills.items():
                    e[name].append(rmse(v, truth[gaps]) / truth.std())
            ratios.append(_table_row(f"{family:<12}{signal:>12}", e, methods))
    _table_summary(ratios)


def _table_row(label: str, e: dict[str, list[float]], methods: tuple[str, ...], tail: str = "") -> float:
    """Print one row of an imputation table (the mean of each method's errors, tsae's ratio to the best anchor,
    then ``tail``) and return that ratio."""
    r = {m: float(np.mean(v)) if v else math.nan for m, v in e.items()}
    best = min(r[m] for m in methods[1:] if not math.isnan(r[m]))
    print(f"{label} " + " ".join(f"{r[m]:>8.4f}" for m in methods) + f" {r['tsae'] / best:>10.3f}{tail}", flush=True)
    return r["tsae"] / best


def _table_summary(ratios: list[float]) -> None:
    print(f"tsae lowest RMSE in {sum(x < 1 for x in ratios)}/{len(ratios)} cases; worst ratio {max(ratios):.3f}; "
          f"over 1.1 in {sum(x > 1.1 for x in ratios)}")


# ----------------------------------------------------------------------------- long gaps
LONG_GAP_SIGNALS = {"minute_day": 1440, "week_10min": 7 * DAY, "random_walk": 0, "trend_ar": 0, "noise": 0,
                    "minute_grow": 1440, "cycle_100": 100, "cycle_200": 200, "ar2": 0}
#: the gap layouts of each signal (gaps at an end, whole periods: of cyclic series), and the key of each in the draws'
#: seed (the first two keep the draws they had)
LONG_GAP_LAYOUTS = {"one": 3, "three": 5, "start": 10, "end": 11, "sparse": 12, "days": 14}
#: the shortest period a gap of one period (``one``) is drawn for (a shorter one is no long gap: 1,440 samples)
LONG_PERIOD = 300


def long_gap_layouts(period: int) -> tuple[str, ...]:
    """The gap layouts drawn in a long-gap signal of that ``period`` (0: none; whole days missing: a day at one
    sample a minute, two weeks)."""
    if not period:
        return "one", "three", "sparse"
    return ("one", "three", "start", "end", "sparse") + (("days",) if period == 1440 else ())


def long_gap_signal(signal: str, rng: np.random.Generator) -> np.ndarray:
    """A series of a long-gap family: a cycle longer than the imputer's widest window, or none."""
    if signal == "minute_day":  # a daily cycle at one sample a minute, two weeks
        return daily(14 * 1440, rng, 1440)
    if signal == "minute_grow":  # the daily cycle at one sample a minute, its amplitude growing (or shrinking) 4-fold
        n = 14 * 1440
        t = np.arange(n)
        phase = rng.uniform(0, 2 * np.pi)
        gain = 1 + 3 * (t / n if rng.random() < 0.5 else 1 - t / n)
        return (gain * (np.sin(2 * np.pi * t / 1440 + phase) + 0.4 * np.sin(4 * np.pi * t / 1440 + 2 * phase))
                + 1.5 * t / n * rng.choice([-1.0, 1.0]))
    if signal.startswith("cycle_"):  # a cycle shorter than the widest window, a week at one sample a minute
        return daily(7 * 1440, rng, LONG_GAP_SIGNALS[signal])
    if signal == "week_10min":  # six weeks at one sample every 10 minutes: weekdays busy, weekends quiet
        n = 6 * 7 * DAY
        day = daily(n, rng)
        weekend = (np.arange(n) // DAY + int(rng.integers(0, 7))) % 7 >= 5
        return np.where(weekend, 0.4 * day - 0.8, day)
    n = 7 * 1440
    if signal == "random_walk":
        return np.cumsum(rng.normal(size=n))
    if signal == "trend_ar":  # a trend in slow AR(1) noise
        return 3 * np.arange(n) / n * rng.choice([-1.0, 1.0]) + ar1(n, 0.995, rng)
    if signal == "noise":
        return rng.normal(size=n)
    if signal == "ar2":  # quasi-periodic: AR(2) with poles at radius 0.995, a period of 300 to 1,500 samples
        r, w = 0.995, 2 * np.pi / rng.uniform(300, 1500)
        e = rng.normal(size=n)
        y = np.zeros(n)
        for i in range(2, n):
            y[i] = 2 * r * np.cos(w) * y[i - 1] - r * r * y[i - 2] + e[i]
        return y
    raise ValueError(signal)


def long_gap_mask(n: int, layout: str, period: int, rng: np.random.Generator) -> np.ndarray:
    """``one``: one gap of a period (1,440 samples without one, or one shorter than :data:`LONG_PERIOD`); ``three``:
    three gaps of 300 to 3,000 samples (log-uniform), one in each third of the series, away from its ends;
    ``start``/``end``: one gap of 300 to 3,000 samples at that end; ``sparse``: gaps of 300 to 3,000 samples (at the
    ends too) until 60 to 85 % of the series is missing; ``days``: each whole period missing with a chance of 50 to
    70 % (some days of a daily cycle present)."""
    mask = np.zeros(n, dtype=bool)
    if layout == "sparse":
        share = rng.uniform(0.6, 0.85)
        while mask.mean() < share:
            length = int(np.exp(rng.uniform(np.log(300), np.log(3000))))
            start = int(rng.integers(-length // 2, n - length // 2))
            mask[max(0, start): start + length] = True
        return mask
    if layout == "days":
        share = rng.uniform(0.5, 0.7)
        for k in range(-(-n // period)):
            mask[k * period: (k + 1) * period] = rng.random() < share
        if mask.all():
            mask[:period] = False
        return mask
    if layout in ("start", "end"):
        length = int(np.exp(rng.uniform(np.log(300), np.log(3000))))
        mask[slice(0, length) if layout == "start" else slice(n - length, n)] = True
        return mask
    if layout == "one":
        length = period if period >= LONG_PERIOD else 1440
        start = int(rng.integers(n // 5, n - n // 5 - length))
        mask[start: start + length] = True
        return mask
    third = n // 3
    for k in range(3):
        length = int(min(np.exp(rng.uniform(np.log(300), np.log(3000))), third - 400))
        start = k * third + 200 + int(rng.integers(0, third - 400 - length + 1))
        mask[start: start + length] = True
    return mask


def run_long_gaps(seeds: int, first_seed: int, signals: list[str] | None = None,
                  layouts: list[str] | None = None) -> None:
    """Gaps of 300 to 3,000 samples in series with and without a cycle (``signals`` and ``layouts``: those alone)."""
    import tsae.pipelines.smooth.imputer as imputer

    print(f"\n## Long gaps: RMSE on the missing samples / std(truth), mean of {seeds} seed(s), light noise (0.05); "
          "seasonal: the value one period away, earlier where there is one (the period known)")
    methods = ("tsae", "linear", "seasonal")
    head = f"{'signal':<12}{'gaps':>6} " + " ".join(f"{m:>8}" for m in methods) + f" {'tsae/best':>10} {'seconds':>8}"
    print(head)
    print("-" * len(head))
    ratios = []
    for signal, period in LONG_GAP_SIGNALS.items():
        if signals is not None and signal not in signals:
            continue
        for layout in long_gap_layouts(period):
            if layouts is not None and layout not in layouts:
                continue
            e: dict[str, list[float]] = {m: [] for m in methods}
            seconds = 0.0
            for seed in range(first_seed, first_seed + seeds):
                rng = np.random.default_rng([13000 + seed, list(LONG_GAP_SIGNALS).index(signal),
                                             LONG_GAP_LAYOUTS[layout]])
                truth = long_gap_signal(signal, rng)
                gaps = long_gap_mask(len(truth), layout, period, rng)
                x = np.where(gaps, np.nan, truth + 0.05 * truth.std() * rng.normal(size=len(truth)))
                t0 = time.perf_counter()
                fills = {"tsae": imputer.impute(x)[gaps]}
                seconds += time.perf_counter() - t0
                fills["linear"] = np.interp(np.flatnonzero(gaps), np.flatnonzero(~gaps), x[~gaps])
                if period:
                    fills["seasonal"] = seasonal_naive(x, period)[gaps]
                for name, v in fills.items():
                    e[name].append(rmse(v, truth[gaps]) / truth.std())
            ratios.append(_table_row(f"{signal:<12}{layout:>6}", e, methods, f" {seconds / seeds:>8.1f}"))
    _table_summary(ratios)


# ----------------------------------------------------------------------------- long series
_LONG_CHILD = """
import resource, sys, time
import numpy as np
sys.path.insert(0, {scripts!r})
n, job = {n}, {job!r}
rng = np.random.default_rng(0)
t = np.arange(n)
x = np.sin(2 * np.pi * t / 144) + 0.3 * rng.normal(size=n)
if job == "impute":
    x[rng.random(n) < 0.05] = np.nan
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if job == "savgol":
    from eval_smooth import savgol_cv
    savgol_cv(x)
else:
    import tsae.pipelines.smooth.imputer as imputer, tsae.pipelines.smooth.smoother as sm
    (sm.smooth if job == "smooth" else imputer.impute)(x)
print(f"{{time.perf_counter() - t0:.1f}} {{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}} "
      f"{{before / 1024:.0f}} {{x.nbytes / 2**20:.1f}}")
"""


def run_long(n: int) -> None:
    """Seconds and peak resident memory of each job on one ``n``-sample series, each in its own process."""
    print(f"\n## Long series: {n} samples (a sine of period 144 in noise 0.3; impute: 5 % missing at random)")
    print(f"{'job':<8} {'seconds':>8} {'peak MiB':>9} {'at start':>9} {'series MiB':>11}")
    for job in ("smooth", "impute", "savgol"):
        code = _LONG_CHILD.format(scripts=str(ROOT / "scripts"), n=n, job=job)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
            print(f"{job:<8} failed: {why}")
            continue
        seconds, peak, start, size = done.stdout.split()
        print(f"{job:<8} {seconds:>8} {peak:>9} {start:>9} {size:>11}", flush=True)


def chosen(text: str | None, every: tuple[str, ...]) -> list[str]:
    """The families named in ``text`` (comma-separated) that are in ``every``; all of ``every`` when None."""
    if text is None:
        return list(every)
    return [f for f in text.split(",") if f in every]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=14 * DAY, help="samples per series (default two weeks)")
    parser.add_argument("--seeds", type=int, default=2, help="draws per case")
    parser.add_argument("--first-seed", type=int, default=0, help="first draw (decide on 100; report from 0)")
    parser.add_argument("--only", choices=["smooth", "impute", "long"], default=None,
                        help="one table (long: only with --only)")
    parser.add_argument("--families", default=None,
                        help="comma-separated families (default all): " + ",".join(SMOOTH_FAMILIES + IMPUTE_FAMILIES))
    parser.add_argument("--signals", default=None, help="comma-separated long-gap signals (default all): "
                        + ",".join(LONG_GAP_SIGNALS))
    parser.add_argument("--layouts", default=None, help="comma-separated long-gap layouts (default all): "
                        + ",".join(LONG_GAP_LAYOUTS))
    parser.add_argument("--long", type=int, default=200_000, help="samples of the long series (--only long)")
    parser.add_argument("--noise", choices=["white", "coloured"], default="white",
                        help="what tsae.smooth is told of the noise (the smoothing table; the anchors as they are)")
    args = parser.parse_args()
    if args.only in (None, "smooth"):
        run_smoothing(args.n, args.seeds, args.first_seed, chosen(args.families, SMOOTH_FAMILIES), args.noise)
    if args.only in (None, "impute"):
        families = chosen(args.families, IMPUTE_FAMILIES)
        if set(families) - {"long_gap"}:
            run_imputation(args.n, args.seeds, args.first_seed, [f for f in families if f != "long_gap"])
        if "long_gap" in families:
            run_long_gaps(args.seeds, args.first_seed, args.signals and args.signals.split(","),
                          args.layouts and args.layouts.split(","))
    if args.only == "long":
        run_long(args.long)


if __name__ == "__main__":
    main()
