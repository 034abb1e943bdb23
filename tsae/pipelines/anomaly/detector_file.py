"""What a detector file holds beside its network, each field checked before a detector is built.

A detector file is a tsae model file (:mod:`tsae.models.modelfile`, which checks the
network, its weights and the common header) whose ``extra`` header and arrays hold
the scoring state: sensors, threshold, smoothing, the normaliser, the error scales and
the optional linear (PCA) term, and the training scores (at most :data:`MAX_SAVED_SCORES` of
them: a long fit keeps every k-th, :func:`saved_scores`). :func:`read_detector_state` checks every one of them
(type, range, finite values, shapes that agree with the number of sensors and the
window) and fails with one line naming the file and the field, so a crafted or
damaged file cannot score silently with NaN weights or a NaN threshold.
"""
from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tsae.engine.layout import is_number, is_whole_number
from tsae.engine.preprocess import Normalizer
from tsae.io.table_absurd import ABSURD
from tsae.io.time_zone import zone_problem
from tsae.models.fields import (
    ModelFileError,
    check_array,
    check_int,
    check_number,
    check_object,
    check_str,
    is_int,
)
from tsae.models.params import MAX_INT_HPARAM
from tsae.pipelines.anomaly.scoring import (
    POINT_CAP_BEFORE_8,
    SHORT_FACTORS,
    DetectorState,
    LinearTerm,
    ScaleTerm,
    StatsTerm,
    band_starts,
)
from tsae.pipelines.anomaly.seasonal import SEASONAL_MODES, SeasonalProfile, read_profile
from tsae.pipelines.anomaly.selfcheck import SelfCheck
from tsae.pipelines.anomaly.terms import TERMS, term_names
from tsae.pipelines.anomaly.thresholds import Threshold, threshold_problem

if TYPE_CHECKING:
    from tsae.models.modelfile import LoadedModel

DETECTOR_KIND = "tsae-detector"
DETECTOR_VERSION = 8  # 2: statistics terms, further window scales, term weights, the self-check;
#                        3: the statistics terms' level distance turns linear (extra.stats_level_huber);
#                        4: the main window's statistics term may hold its spectral shape (stats_band_*);
#                        5: a seasonal profile may be removed before scoring (seasonal_daily/_weekly/_spread);
#                        6: the zone whose wall clock the profile's hours are (extra.settings.timezone), and
#                           a rise of the error that most sensors share discounted (extra.shared_rise);
#                        7: the shortest smoothing's excess over its normal ceiling added to each sample's
#                           score (extra.point_weight, array point_ceiling);
#                        8: the subspace terms may take each window's own level off (extra.pca_level_free),
#                           and the most that excess adds, as a share of the score (extra.point_cap; before: 0.05)


@dataclass
class DetectorFile:
    """The checked content of a detector file: the scoring state and what the detector records beside it."""

    state: DetectorState
    threshold: Threshold
    sensors: list[str]
    settings: dict[str, Any]
    merge_gap: int | None
    decision_scores: np.ndarray
    calibration_mean: float
    #: the training table's time column (files written before it, or fitted from arrays: None)
    time_column: str | None = None
    #: what the self-check measured and chose (files written before it: None)
    selfcheck: SelfCheck | None = None
    #: the early alarms' threshold (files written before it, or fitted with a fixed threshold: None)
    early_threshold: float | None = None
    #: ``decision_scores`` holds every this-many training score (files written before it: 1, every one)
    scores_step: int = 1
    #: the number of training samples (files written before it: one per stored score)
    n_samples_fit: int = 0
    #: the normal levels by time of day / week removed before scoring (files before version 5: None)
    seasonal: SeasonalProfile | None = None
    #: the runs of flagged training samples, ``(start, stop)`` rows (:func:`flagged_runs`), kept when the scores are
    #: thinned (files written before them, a fit whose every score is kept, or one of too many runs: None)
    flagged_runs: np.ndarray | None = None


#: the most training scores a detector file keeps (512 KiB of float64): a longer fit keeps every k-th one
MAX_SAVED_SCORES = 2**16


def saved_scores(scores: np.ndarray, step: int = 1, n_samples: int | None = None) -> tuple[np.ndarray, int, int]:
    """The training scores a detector file keeps: ``(kept, step, n_samples)``.

    Every score of a fit of up to :data:`MAX_SAVED_SCORES` samples, else every k-th (samples 0, k, 2k...; the
    smallest k that keeps at most that many): a fit on 10 million rows wrote 80 MB of scores, which no scoring
    reads. ``step`` and ``n_samples`` are those of ``scores`` when they are already thinned (a loaded detector
    saved again): the steps compose.

    Examples
    --------
    >>> kept, step, n = saved_scores(np.arange(200_000.0))
    >>> kept.size, step, n, float(kept[1])
    (50000, 4, 200000, 4.0)
    >>> saved_scores(np.arange(10.0))[1:]
    (1, 10)
    """
    n_samples = scores.size if n_samples is None else n_samples
    thin = -(-scores.size // MAX_SAVED_SCORES) if scores.size > MAX_SAVED_SCORES else 1
    return np.ascontiguousarray(scores[::thin], dtype=np.float64), step * thin, n_samples


#: the most runs of flagged training samples a detector file keeps (512 KiB of int64 pairs): beyond, ``labels_``
#: of a loaded detector is told by the kept scores, each for the samples up to the next kept one
MAX_SAVED_RUNS = 2**15


def flagged_runs(labels: np.ndarray) -> np.ndarray:
    """The runs of 1 in the 0/1 ``labels``: an int64 array of ``(start, stop)`` rows, in order.

    Examples
    --------
    >>> flagged_runs(np.array([0, 1, 1, 0, 1])).tolist()
    [[1, 3], [4, 5]]
    """
    edges = np.diff(np.concatenate([[0], (np.asarray(labels) != 0).astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1).astype(np.int64)


def saved_runs(labels: np.ndarray, step: int) -> np.ndarray | None:
    """The runs of flagged training samples a detector file keeps beside scores kept every ``step``-th
    (:func:`saved_scores`): :func:`flagged_runs` of ``labels``, when the scores are thinned (``step`` over 1: they
    cannot tell the labels between them) and the runs are at most :data:`MAX_SAVED_RUNS`; else None."""
    if step <= 1:
        return None
    runs = flagged_runs(labels)
    return runs if len(runs) <= MAX_SAVED_RUNS else None


def fit_labels(scores: np.ndarray, threshold: float, step: int, n_samples: int,
               runs: np.ndarray | None) -> np.ndarray:
    """``labels_`` of a loaded detector, one per training sample (``n_samples``): from the ``runs`` of flagged
    samples the file kept (exact), else from the kept ``scores`` (every ``step``-th), each kept label standing for
    the ``step`` samples from its own (exact when ``step`` is 1).

    Examples
    --------
    >>> fit_labels(np.array([0.5, 2.0]), 1.0, 3, 5, None).tolist()
    [0, 0, 0, 1, 1]
    >>> fit_labels(np.array([0.5, 2.0]), 1.0, 3, 5, np.array([[1, 2]])).tolist()
    [0, 1, 0, 0, 0]
    """
    if runs is None:
        return np.repeat((scores > threshold).astype(np.int64), step)[:n_samples]
    labels = np.zeros(n_samples, dtype=np.int64)
    for start, stop in runs.tolist():
        labels[start:stop] = 1
    return labels


def _label_runs(path: Path, arrays: dict[str, Any], n_samples: int) -> np.ndarray | None:
    """``array 'flagged_runs'`` (files written before it, or with too many runs: None): ``(start, stop)`` rows of
    whole numbers, each run within the ``n_samples`` training samples, in order, none touching the next."""
    if "flagged_runs" not in arrays:
        return None
    runs = np.asarray(arrays["flagged_runs"])
    field = "array 'flagged_runs'"
    if runs.ndim != 2 or runs.shape[1] != 2 or runs.dtype.kind not in "iu":
        raise ModelFileError(path, f"has shape {tuple(runs.shape)} of {runs.dtype}, expected (runs, 2) of integers",
                             field)
    runs = runs.astype(np.int64)
    flat = runs.ravel()
    if runs.size and (runs[:, 0].min() < 0 or flat.max() > n_samples or (runs[:, 1] <= runs[:, 0]).any()
                      or (runs[1:, 0] <= runs[:-1, 1]).any()):
        raise ModelFileError(path, f"holds runs that are not in order within the {n_samples} training samples", field)
    return runs


#: no fit stores a scoring value beyond this magnitude: its inputs beyond it are missing values
#: (:data:`~tsae.io.table_absurd.ABSURD`) and what it derives from them (normalised levels, components, error
#: levels, term weights, factors) is far smaller; a larger one (1e308 in a PCA mean or a term weight) scored inf and
#: flagged every sample
MAX_MAGNITUDE = ABSURD


@dataclass(frozen=True)
class SettingRange:
    """The range of a detector setting that a detector file stores, and the file's field that holds it.

    ``optional``: None is a valid value too (the setting's default applies).
    """

    field: str
    low: float
    high: float = math.inf
    low_open: bool = False
    integer: bool = False
    optional: bool = False

    def __str__(self) -> str:
        if self.integer:  # as the loader's message writes it: [1, 1048576]
            return f"[{int(self.low)}, {int(self.high)}]"
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{']' if math.isfinite(self.high) else ')'}"

    def read(self, path: Path, value: Any) -> float:
        """The file's ``value``, checked, else :class:`ModelFileError` naming the file and the field."""
        if self.integer:
            return check_int(path, self.field, value, int(self.low), int(self.high))
        return check_number(path, self.field, value, self.low, self.high, low_open=self.low_open)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` (a Detector parameter) cannot be stored (``"is out of range [0, 1]"``); None if it can."""
        if value is None and self.optional:
            return None
        kind = numbers.Integral if self.integer else numbers.Real
        if not isinstance(value, kind) or isinstance(value, bool):
            return "must be an integer" if self.integer else "must be a number"
        try:
            number = float(value)
        except OverflowError:
            return f"is out of range {self}"
        inside = self.low < number if self.low_open else self.low <= number
        if not (inside and number <= self.high and math.isfinite(number)):
            return f"is out of range {self}"
        return None


#: the range of each detector setting a file stores, by :class:`~tsae.pipelines.anomaly.detector.Detector`
#: parameter: the loader checks the file against it and the Detector its parameters, so that a detector
#: saves only what it can load again
SETTING_RANGES: dict[str, SettingRange] = {
    "alarms_per_day": SettingRange("extra.settings.alarms_per_day", 0.0, MAX_MAGNITUDE, low_open=True),
    # at least 1e-30 s: a day of shorter steps is more rows than float64 counts (a subnormal one's, 0 days)
    "sample_interval": SettingRange("extra.settings.sample_interval", 1e-30, MAX_MAGNITUDE,
                                    optional=True),
    "drift_rate": SettingRange("extra.settings.drift_rate", 0.0, 1.0),
    "drift_every": SettingRange("extra.settings.drift_every", 1, MAX_INT_HPARAM, integer=True, optional=True),
    "linear_weight": SettingRange("extra.linear_weight", 0.0, MAX_MAGNITUDE),
    "stats_weight": SettingRange("extra.settings.stats_weight", 0.0, MAX_MAGNITUDE),
    "merge_gap": SettingRange("extra.merge_gap", 0, MAX_INT_HPARAM, integer=True, optional=True),
    "threshold_floor": SettingRange("extra.settings.threshold_floor", 0.0, 1e6),
    "short_margin": SettingRange("extra.settings.short_margin", 0.0, 1e6, low_open=True),
    "shared_rise": SettingRange("extra.settings.shared_rise", 1.0, 1e6),
    "point_weight": SettingRange("extra.settings.point_weight", 0.0, 1e6),
}


def check_settings(values: dict[str, Any]) -> None:
    """Refuse a detector setting a detector file could not hold (:data:`SETTING_RANGES`).

    Raises
    ------
    ValueError
        ``"drift_rate=5 is out of range [0, 1]"``: one line naming the first bad setting.
    """
    for name, value in values.items():
        problem = SETTING_RANGES[name].problem(value)
        if problem:
            raise ValueError(f"{name}={value!r} {problem}")


def check_time_step(step: float | None) -> None:
    """Refuse a sample interval read from the rows' times (their median step) that a detector file could not hold
    (:data:`SETTING_RANGES`), in words about the times, not a setting the caller never gave."""
    bounds = SETTING_RANGES["sample_interval"]
    if step is not None and bounds.problem(step):
        raise ValueError(f"the rows' times are {step:g} s apart (their median step), outside the {bounds} s a "
                         "detector's sample interval may be")


def _bounded(path: Path, field: str, values: np.ndarray) -> np.ndarray:
    """``values`` (finite), refused when one is beyond :data:`MAX_MAGNITUDE`: no fit writes it."""
    if values.size and float(np.abs(values).max()) > MAX_MAGNITUDE:
        raise ModelFileError(path, f"holds {float(np.abs(values).max()):.3g}, beyond {MAX_MAGNITUDE:.0g} in magnitude: "
                                   "no fit writes it", field)
    return values


def _array(path: Path, arrays: dict[str, np.ndarray], name: str, shape: tuple[int, ...] | None, *,
           positive: bool = False) -> np.ndarray:
    if name not in arrays:
        raise ModelFileError(path, "is missing (detector file is incomplete)", f"array {name!r}")
    field = f"array {name!r}"
    return _bounded(path, field, check_array(path, field, arrays[name], shape, positive=positive))


def _threshold(path: Path, data: Any) -> Threshold:
    data = check_object(path, "extra.threshold", data) or {}
    # scores are never negative: a negative threshold would flag every sample
    value = check_number(path, "extra.threshold.value", data.get("value"), 0.0, MAX_MAGNITUDE)
    method = check_str(path, "extra.threshold.method", data.get("method"))
    params = check_object(path, "extra.threshold.params", data.get("params"), optional=True) or {}
    return Threshold(value, str(method), dict(params))


def _sensors(path: Path, value: Any, channels: int) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ModelFileError(path, "must be a list of sensor names", "extra.sensors")
    if len(value) != channels:
        raise ModelFileError(path, f"names {len(value)} sensors but the network has {channels} channels",
                             "extra.sensors")
    seen: set[str] = set()
    for name in value:  # scores and contributions are told by sensor name: each must name one channel
        if name in seen:
            raise ModelFileError(path, f"names sensor {name[:40]!r} more than once", "extra.sensors")
        seen.add(name)
    return list(value)


def _selfcheck(path: Path, value: Any) -> SelfCheck | None:
    """The self-check the file records (a record kept for the user: its terms' choice is in the arrays and weights).

    None without one (files written before it); a record with a list of chosen terms must count its held-out
    samples in a whole number.
    """
    if not isinstance(value, dict) or not isinstance(value.get("chosen"), list):
        return None
    held_out = value.get("held_out")
    held_out = check_int(path, "extra.selfcheck.held_out", 0 if held_out is None else held_out, 0, 2**62)
    results = value.get("results")
    return SelfCheck(chosen=tuple(str(v) for v in value["chosen"]),
                     results=results if isinstance(results, dict) else {}, held_out=held_out,
                     reason=str(value.get("reason", "")))


def _settings(path: Path, value: Any) -> dict[str, Any]:
    settings = check_object(path, "extra.settings", value, optional=True) or {}
    threshold = settings.get("threshold")
    if threshold is not None:
        if not isinstance(threshold, str):
            check_number(path, "extra.settings.threshold", threshold)  # JSON's types, named as the other fields
        problem = threshold_problem(threshold)
        if problem:
            raise ModelFileError(path, problem, "extra.settings.threshold")
    # the alarm and drift settings (files written before them have none: the defaults apply)
    for name in ("alarms_per_day", "sample_interval", "drift_rate", "drift_every", "threshold_floor", "short_margin",
                 "stats_weight", "shared_rise", "point_weight"):
        # absent: the default; null only where the setting may be None (a Detector never saves another one)
        if name in settings and not (settings[name] is None and SETTING_RANGES[name].optional):
            SETTING_RANGES[name].read(path, settings[name])
    for name, (accepts, expected) in TRAINING_SETTINGS.items():
        if name in settings and not accepts(settings[name]):
            raise ModelFileError(path, f"must be {expected}, got {str(settings[name])[:40]!r}",
                                 f"extra.settings.{name}")
    if settings.get("timezone") is not None:  # absent or null (files before version 6): UTC instants read in UTC
        problem = zone_problem(settings["timezone"])
        if problem:
            raise ModelFileError(path, problem, "extra.settings.timezone")
    return settings


def _share(value: Any, top_open: bool = True) -> bool:
    if not is_number(value):
        return False
    try:
        share = float(value)
    except OverflowError:  # a whole number beyond float's range (math.isfinite raised it, a traceback: fuzz)
        return False
    return 0.0 < share and (share < 1.0 if top_open else share <= 1.0)


def _term_setting(value: Any) -> bool:
    if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(t, str) for t in value))):
        return False
    try:
        term_names(value)
    except ValueError:
        return False
    return True


def _whole(value: Any, low: int, high: int = 2**62) -> bool:
    return is_whole_number(value) and low <= value < high


#: the settings a detector was fitted with that only fitting uses (scoring reads the arrays they made): a loaded
#: detector takes them back, so that ``sklearn.base.clone`` of it (or ``get_params``) fits as the file's was fitted;
#: each with what it must be, told when a file holds another value
TRAINING_SETTINGS: dict[str, tuple[Any, str]] = {
    "risk": (_share, "a number in (0, 1)"),
    "q": (_share, "a number in (0, 1)"),
    "holdout": (_share, "a number in (0, 1)"),
    "pca_variance": (lambda v: _share(v, top_open=False), "a number in (0, 1]"),
    "linear": (lambda v: isinstance(v, bool), "true or false"),
    "error_norm": (lambda v: isinstance(v, bool), "true or false"),
    "calibration": (lambda v: v in ("holdout", "training"), "'holdout' or 'training'"),
    "epochs": (lambda v: _whole(v, 0), "a whole number >= 0"),
    "seed": (lambda v: _whole(v, 0, 2**64), "a whole number >= 0 below 2**64"),
    "terms": (_term_setting, "'auto' or a combination of " + ", ".join(TERMS)),
    "seasonal": (lambda v: isinstance(v, bool) or v in SEASONAL_MODES, "true, false, " + ", ".join(
        repr(m) for m in SEASONAL_MODES)),
    "scales": (lambda v: v == "auto" or (isinstance(v, list) and all(_whole(w, 2) for w in v)),
               "'auto' or a list of window lengths"),
}


def check_drift_every_used(drift_rate: float, drift_every: int) -> None:
    """Refuse a ``drift_every`` asked for while drift updates are off (``drift_rate`` 0): it would be ignored.

    Raises
    ------
    ValueError
        ``"drift_every=500 has no effect: drift updates are off (drift_rate 0); give a drift_rate above 0 too"``.
    """
    if not drift_rate:
        raise ValueError(f"drift_every={drift_every} has no effect: drift updates are off (drift_rate 0); give a "
                         "drift_rate above 0 too")


def term_arrays(prefix: str, pca: LinearTerm | None, stats: StatsTerm | None) -> dict[str, np.ndarray]:
    """The arrays a detector file stores for one window scale's subspace and statistics terms."""
    arrays = {}
    if pca is not None:
        arrays.update({f"{prefix}pca_components": pca.components, f"{prefix}pca_mean": pca.mean,
                       f"{prefix}pca_err_scale": pca.err_scale})
    if stats is not None:
        arrays.update({f"{prefix}stats_median": stats.median, f"{prefix}stats_spread": stats.spread,
                       f"{prefix}stats_err_scale": stats.err_scale})
        if stats.band_median is not None and stats.band_spread is not None:  # absent: not used (files before
            # version 4, the further scales)
            arrays.update({f"{prefix}stats_band_median": stats.band_median,
                           f"{prefix}stats_band_spread": stats.band_spread})
    return arrays


def _terms(path: Path, arrays: dict[str, np.ndarray], prefix: str, channels: int,
           window: int, level_huber: float | None, level_free: bool) -> tuple[LinearTerm | None, StatsTerm | None]:
    pca = stats = None
    if f"{prefix}pca_components" in arrays:
        components = arrays[f"{prefix}pca_components"]
        width = channels * window
        if components.ndim != 2 or components.shape[1] != width:
            raise ModelFileError(path, f"has shape {tuple(components.shape)}, expected (k, {width})",
                                 f"array '{prefix}pca_components'")
        pca = LinearTerm(components=_array(path, arrays, f"{prefix}pca_components", None),
                         mean=_array(path, arrays, f"{prefix}pca_mean", (width,)),
                         err_scale=_array(path, arrays, f"{prefix}pca_err_scale", (channels,), positive=True),
                         level_free=level_free)
    if f"{prefix}stats_median" in arrays:
        band_median = band_spread = None
        if f"{prefix}stats_band_median" in arrays or f"{prefix}stats_band_spread" in arrays:
            shape = (channels, len(band_starts(window)))
            band_median = _array(path, arrays, f"{prefix}stats_band_median", shape)
            band_spread = _array(path, arrays, f"{prefix}stats_band_spread", shape, positive=True)
        stats = StatsTerm(median=_array(path, arrays, f"{prefix}stats_median", (channels, 3)),
                          spread=_array(path, arrays, f"{prefix}stats_spread", (channels, 3), positive=True),
                          err_scale=_array(path, arrays, f"{prefix}stats_err_scale", (channels,), positive=True),
                          level_huber=level_huber, band_median=band_median, band_spread=band_spread)
    return pca, stats


def _scales(path: Path, arrays: dict[str, np.ndarray], value: Any, channels: int,
            level_huber: float | None, level_free: bool) -> list[ScaleTerm]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ModelFileError(path, "must be a list of window scales", "extra.scales")
    out = []
    for i, item in enumerate(value):
        name = f"extra.scales[{i}]"
        if not isinstance(item, dict):
            raise ModelFileError(path, "must be an object", name)
        window = check_int(path, f"{name}.window", item.get("window"), 2, MAX_INT_HPARAM)
        hop = check_int(path, f"{name}.hop", item.get("hop"), 1, window)
        pca, stats = _terms(path, arrays, f"scale{i}_", channels, window, level_huber, level_free)
        out.append(ScaleTerm(window, hop, pca=pca, stats=stats,
                             pca_weight=check_number(path, f"{name}.pca_weight", item.get("pca_weight", 1.0), 0.0,
                                                     MAX_MAGNITUDE),
                             stats_weight=check_number(path, f"{name}.stats_weight", item.get("stats_weight", 1.0),
                                                       0.0, MAX_MAGNITUDE)))
    return out


def read_detector_state(path: str | Path, loaded: LoadedModel) -> DetectorFile:
    """Check the detector fields of a loaded model file and build the scoring state.

    Parameters
    ----------
    path
        The file (for the messages).
    loaded
        The model file, loaded by :func:`tsae.models.modelfile.load_model` (network,
        weights and common header already checked).

    Raises
    ------
    ModelFileError
        A ``ValueError``: one line naming the file and the field, when the file is not
        a detector, or a field is missing, of the wrong type, out of range, not finite,
        or of a shape that does not agree with the sensors and the window.
    """
    path = Path(path)
    extra = loaded.extra or {}
    if extra.get("kind") != DETECTOR_KIND:
        raise ModelFileError(path, f"not a tsae detector file (a plain {loaded.family} model file?)")
    if "version" in extra:
        version = extra["version"]
        if is_int(version) and version > DETECTOR_VERSION:  # as a newer model file format is told
            raise ModelFileError(path, f"{str(version)[:20]} is newer than this tsae reads ({DETECTOR_VERSION}); "
                                       "upgrade tsae", "extra.version")
        _fields_of_version(path, extra, loaded.arrays,
                           check_int(path, "extra.version", version, 1, DETECTOR_VERSION))
    channels = loaded.channels
    frame_spec = loaded.frame or {}
    window = check_int(path, "frame.window", frame_spec.get("window"), 1, MAX_INT_HPARAM)
    if window != loaded.window:
        raise ModelFileError(path, f"{window} differs from the network's window ({loaded.window})", "frame.window")
    hop = check_int(path, "frame.hop", frame_spec.get("hop"), 1, window)
    smooth = check_int(path, "extra.smooth", extra.get("smooth", 1), 1, MAX_INT_HPARAM)
    centered = extra.get("centered", False)
    if not isinstance(centered, bool):
        raise ModelFileError(path, f"must be true or false, not {str(centered)[:40]!r}", "extra.centered")
    linear_weight = SETTING_RANGES["linear_weight"].read(path, extra.get("linear_weight", 1.0))
    merge_gap = extra.get("merge_gap")
    if merge_gap is not None:
        merge_gap = int(SETTING_RANGES["merge_gap"].read(path, merge_gap))
    arrays = loaded.arrays
    normalizer = Normalizer.from_dict({"method": "zscore", "center": _array(path, arrays, "mean", (channels,)),
                                       "scale": _array(path, arrays, "std", (channels,), positive=True)})
    level_huber = extra.get("stats_level_huber")  # absent (files before version 3): squared throughout
    if level_huber is not None:
        level_huber = check_number(path, "extra.stats_level_huber", level_huber, 0.0, MAX_MAGNITUDE, low_open=True)
    level_free = extra.get("pca_level_free", False)  # absent (files before version 8): the level seen
    if not isinstance(level_free, bool):
        raise ModelFileError(path, f"must be true or false, not {str(level_free)[:40]!r}", "extra.pca_level_free")
    pca, stats = _terms(path, arrays, "", channels, window, level_huber, level_free)
    contrib_base = _array(path, arrays, "contrib_base", (channels,)) if "contrib_base" in arrays else None
    state = DetectorState(model=loaded.model, window=window, hop=hop, normalizer=normalizer,
                          err_scale=_array(path, arrays, "err_scale", (channels,), positive=True), smooth=smooth,
                          linear_weight=linear_weight, pca=pca, centered=centered, contrib_base=contrib_base,
                          ae_weight=check_number(path, "extra.ae_weight", extra.get("ae_weight", 1.0), 0.0,
                                                 MAX_MAGNITUDE),
                          stats=stats,
                          stats_weight=check_number(path, "extra.stats_weight", extra.get("stats_weight", 1.0), 0.0,
                                                    MAX_MAGNITUDE),
                          scales=_scales(path, arrays, extra.get("scales"), channels, level_huber, level_free),
                          short_smooth=_short_smooth(path, extra.get("short_smooth", []), smooth),
                          # files before version 6: the plain mean over sensors
                          shared_rise=check_number(path, "extra.shared_rise", extra.get("shared_rise", 1.0), 1.0, 1e6),
                          # files before version 7: nothing added
                          point_weight=check_number(path, "extra.point_weight", extra.get("point_weight", 0.0), 0.0,
                                                    1e6),
                          point_ceiling=_array(path, arrays, "point_ceiling", (channels,))
                          if "point_ceiling" in arrays else None,
                          # files before version 8: 5 % of the score
                          point_cap=check_number(path, "extra.point_cap", extra.get("point_cap", POINT_CAP_BEFORE_8),
                                                 0.0, 1e6),
                          shared_base=_array(path, arrays, "shared_base", (channels,), positive=True)
                          if "shared_base" in arrays else None)
    if level_free and all(term.pca is None for term in [state.primary_term(), *state.scales]):
        raise ModelFileError(path, "is true but the file holds no subspace terms (array 'pca_components'): no writer "
                                   "sets it there (edited?)", "extra.pca_level_free")
    def bad_profile(name: str, text: str) -> None:
        raise ModelFileError(path, text, f"array {name!r}")

    seasonal = read_profile(arrays, channels, bad_profile)  # files before version 5: none
    for name in ("seasonal_daily", "seasonal_weekly"):
        if name in arrays:
            _bounded(path, f"array {name!r}", np.asarray(arrays[name], np.float64))
    scores = np.asarray(arrays.get("decision_scores", np.zeros(0)), np.float64)
    if scores.ndim != 1:
        raise ModelFileError(path, f"has shape {tuple(scores.shape)}, expected one score per sample",
                             "array 'decision_scores'")
    _bounded(path, "array 'decision_scores'", scores[~np.isnan(scores)])  # NaN: a sample with no score
    step, n_samples = _scores_kept(path, extra, scores.size)
    # the mean held-out score, the drift updates' unit (older files: the training scores' mean)
    finite = scores[np.isfinite(scores)]
    calibration_mean = extra.get("calibration_mean", float(finite.mean()) if finite.size else 1.0)
    calibration_mean = check_number(path, "extra.calibration_mean", calibration_mean, 0.0, MAX_MAGNITUDE,
                                    low_open=True)
    return DetectorFile(state=state, threshold=_threshold(path, extra.get("threshold")),
                        sensors=_sensors(path, extra.get("sensors"), channels),
                        settings=_settings(path, extra.get("settings")), merge_gap=merge_gap, decision_scores=scores,
                        calibration_mean=calibration_mean,
                        time_column=check_str(path, "extra.time_column", extra.get("time_column"), optional=True),
                        selfcheck=_selfcheck(path, extra.get("selfcheck")),
                        early_threshold=_early_threshold(path, extra.get("early_threshold")),
                        scores_step=step, n_samples_fit=n_samples, seasonal=seasonal,
                        flagged_runs=_label_runs(path, arrays, n_samples))


#: the fields a detector file version brought, as ``(version, place, name)``: ``place`` is ``"extra"`` or
#: ``"settings"`` (a key of ``extra`` or ``extra.settings``; null is what a file without it means) or ``"array"``
#: (the array ``name``, the further scales' too: ``scale0_name``...; ``scale<i>_``: any of theirs); a file of an
#: older version holds none of them. Versions 2 and 4 also
#: brought the fields that came while they were the newest (the short smoothings and the early threshold with 2,
#: the thinned training scores with 4); the alarm and drift settings (``alarms_per_day``, ``calibration_mean``
#: ...) were written by version 1 files too.
FIELD_VERSIONS: tuple[tuple[int, str, str], ...] = (
    *((2, "extra", name) for name in ("ae_weight", "stats_weight", "scales", "selfcheck", "short_smooth",
                                      "early_threshold", "time_column")),
    *((2, "settings", name) for name in ("stats_weight", "terms", "scales", "holdout", "threshold_floor",
                                         "short_margin")),
    *((2, "array", name) for name in ("stats_median", "stats_spread", "stats_err_scale", "scale<i>_")),
    (3, "extra", "stats_level_huber"),
    (4, "extra", "decision_scores_step"), (4, "extra", "n_samples_fit"), (4, "settings", "stats_bands"),
    (4, "array", "stats_band_median"), (4, "array", "stats_band_spread"), (4, "array", "flagged_runs"),
    (5, "settings", "seasonal"), (5, "array", "seasonal_daily"), (5, "array", "seasonal_weekly"),
    (6, "extra", "shared_rise"), (6, "settings", "shared_rise"), (6, "settings", "timezone"),
    (6, "array", "shared_base"),
    (7, "extra", "point_weight"), (7, "settings", "point_weight"), (7, "array", "point_ceiling"),
    (8, "extra", "pca_level_free"), (8, "extra", "point_cap"),
)


def _fields_of_version(path: Path, extra: dict[str, Any], arrays: dict[str, Any], version: int) -> None:
    """Refuse a field newer than the file's ``extra.version`` (:data:`FIELD_VERSIONS`; a version 6 file edited to
    say 5): no writer of that version wrote it, and read by this one it would score otherwise than the file's
    writer did. A null field is what older files mean (a null timezone: UTC), so it passes."""
    settings = extra.get("settings")
    places = {"extra": extra, "settings": settings if isinstance(settings, dict) else {}}
    for since, place, name in FIELD_VERSIONS:
        if version >= since:
            continue
        if place == "array":
            found = [f"array {key!r}" for key in arrays if _array_of(key, name)]
        else:
            found = [f"extra.{name}" if place == "extra" else f"extra.settings.{name}"] \
                if places[place].get(name) is not None else []
        if found:
            raise ModelFileError(path, f"is a field of detector files of version {since} and later, but the file "
                                       f"says version {version} (edited?)", found[0])


def _array_of(key: str, name: str) -> bool:
    """Whether the array ``key`` is the array ``name`` of :data:`FIELD_VERSIONS` (or a further scale's)."""
    if name == "scale<i>_":
        return re.match(r"scale\d+_", key) is not None
    return key == name or re.fullmatch(rf"scale\d+_{name}", key) is not None


def _scores_kept(path: Path, extra: dict[str, Any], kept: int) -> tuple[int, int]:
    """``extra.decision_scores_step`` and ``extra.n_samples_fit`` (files written before them: every score kept), which
    must tell the number of scores the file holds (:func:`saved_scores`)."""
    step = check_int(path, "extra.decision_scores_step", extra.get("decision_scores_step", 1), 1, 2**62)
    n_samples = check_int(path, "extra.n_samples_fit", extra.get("n_samples_fit", kept), 0, 2**62)
    expected = -(-n_samples // step)
    if expected != kept:
        raise ModelFileError(path, f"holds {kept} scores, but one in {step} of {n_samples} training samples "
                                   f"(extra.decision_scores_step, extra.n_samples_fit) is {expected}",
                             "array 'decision_scores'")
    return step, n_samples


def _early_threshold(path: Path, value: Any) -> float | None:
    """``extra.early_threshold``: a positive number up to :data:`MAX_MAGNITUDE`, or null (no early alarms)."""
    if value is None:
        return None
    return check_number(path, "extra.early_threshold", value, 0.0, MAX_MAGNITUDE, low_open=True)


#: the most shorter smoothings a detector file may hold
MAX_SHORT_SMOOTH = 8


def _short_smooth(path: Path, value: Any, smooth: int) -> list[tuple[int, float]]:
    """``extra.short_smooth``: ``[length, factor]`` pairs, each length under ``smooth``, each factor in
    :data:`~tsae.pipelines.anomaly.scoring.SHORT_FACTORS` (files written before it have none: ``smooth`` alone)."""
    field = "extra.short_smooth"
    if not isinstance(value, list) or len(value) > MAX_SHORT_SMOOTH:
        raise ModelFileError(path, f"must be a list of at most {MAX_SHORT_SMOOTH} [length, factor] pairs", field)
    out = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ModelFileError(path, "must be a [length, factor] pair", f"{field}[{i}]")
        length = check_int(path, f"{field}[{i}][0]", pair[0], 1, max(1, smooth - 1))
        factor = check_number(path, f"{field}[{i}][1]", pair[1], *SHORT_FACTORS)
        out.append((length, factor))
    return out


__all__ = ["DETECTOR_KIND", "DETECTOR_VERSION", "FIELD_VERSIONS", "MAX_MAGNITUDE", "MAX_SAVED_RUNS",
           "MAX_SAVED_SCORES", "SETTING_RANGES", "DetectorFile", "SettingRange", "check_settings", "check_time_step",
           "fit_labels", "flagged_runs", "read_detector_state", "saved_runs", "saved_scores", "term_arrays"]
