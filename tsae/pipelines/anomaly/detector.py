"""Sensor anomaly detection with an autoencoder: the batch :class:`Detector` and its scoring core.

How a sample is scored
----------------------
1. Missing values are repaired by the engine: a missing value holds the sensor's last good
   value, in scoring (batch *and* streaming, so that both agree; its training mean before
   the first one, :func:`~tsae.engine.preprocess.forward_fill`) as in fitting (the training
   mean before the first one too, :func:`~tsae.pipelines.anomaly.series_input.repaired_as_scored`),
   so that a sensor that often misses a value scores on new data as it did on the data the
   threshold was set on (interpolating at fit would make every held value look abnormal). NaN, inf and
   values beyond 1e30 in magnitude (no sensor reads them) are missing values, as the table
   reader reads them (:func:`~tsae.io.tables.absurd_as_missing`). A sensor missing for
   ``silence`` samples in a row (100 by default) is *silent* until its next value, in batch scoring and the
   monitor alike: it is filled in from the other sensors and its error held at its normal level
   (:mod:`~tsae.pipelines.anomaly.silent`), so a dead sensor does not flag the rest of the series.
2. Each sensor is z-scored with its training mean and standard deviation (the engine's
   :class:`~tsae.engine.preprocess.Normalizer`).
3. The series is cut into windows of ``window`` samples every ``hop`` samples (the main
   scale), and of each further length in ``scales`` (16 and 64 by default). Per window,
   each *term* gives a per-sample, per-sensor error: the autoencoder's squared residual
   (main scale only), the squared residual off the training windows' principal subspace
   (``pca``), and the squared robust distance of the window's level, spread and step size
   from their normal range, the level's growing linearly beyond three robust z-scores
   (``stats``, :mod:`~tsae.pipelines.anomaly.terms`, :class:`~tsae.pipelines.anomaly.scoring.StatsTerm`).
4. Each term's error is divided by its *normal level* (its mean on held-out normal data,
   per sensor with ``error_norm=True``), averaged over the windows covering the sample
   (overlap-add), and the kept terms of every scale are added. Which terms are kept is
   the fit's self-check (:mod:`~tsae.pipelines.anomaly.selfcheck`): synthetic anomalies
   of six kinds injected into the held-out normal data, the full combination kept unless
   another finds them clearly better.
5. A moving average over ``smooth`` samples, centred on the sample (``centered=True``,
   which delays a streamed score by ``smooth // 2`` more samples) or trailing (causal).
6. The score of a sample is the mean over sensors of that error. A sensor's
   *contribution* is its share of the error in excess of its own normal level (its mean
   error on held-out normal data, see ``calibration``); contributions sum to 1.

With drift updates on (``drift_rate > 0``), step 2's normalisation and a score level (step 6's
score is divided by it) follow slow change between fixed sample indices, learning only from
normal samples (:mod:`~tsae.pipelines.anomaly.drift`); the threshold comes from an event-level
false-alarm budget by default (:mod:`~tsae.pipelines.anomaly.alarm_budget`).

A sample's score is final once the last window of every scale covering it has been seen
and, with centred smoothing, ``smooth // 2`` more (``longest window - 1 + smooth // 2``
samples later at most); the trailing samples that no full window covers (fewer than ``hop``) repeat the
last final score; the smoothing of the first samples averages what exists so far. The same
code (:class:`ScoringCore`) runs in batch
(:meth:`Detector.decision_function`) and in the streaming monitor, with the network in
float64 on the CPU, so online scores equal batch scores (to ~1e-12; a CUDA batch run
computes in float32 and agrees to ~1e-6 relative).
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.layout import check_flag, is_number, is_whole_number
from tsae.engine.preprocess import Normalizer
from tsae.errors import NotFittedError, shown
from tsae.models.device import torch_threads
from tsae.models.trainer import check_seed, whole_number
from tsae.pipelines.anomaly.block_scoring import JoinedBlocks, RowReader, score_blocks, shows_progress
from tsae.pipelines.anomaly.detector_file import (
    DETECTOR_KIND,
    DETECTOR_VERSION,
    SETTING_RANGES,
    check_drift_every_used,
    check_settings,
    read_detector_state,
    term_arrays,
)
from tsae.pipelines.anomaly.drift import DriftingCore
from tsae.pipelines.anomaly.early import early_scores
from tsae.pipelines.anomaly.scoring import (
    _EPS,
    DetectorState,
    ScaleTerm,
    ScoringCore,
    absurd_as_missing,
    as_chunk,
    sensor_columns,
)
from tsae.pipelines.anomaly.selfcheck import KINDS, SelfCheck, average_precision, candidates, choose, inject
from tsae.pipelines.anomaly.series_input import (
    as_series,
    dominant_period,
    index_interval,
    longest_missing_runs,
    repaired_as_scored,
    smooth_length,
)
from tsae.pipelines.anomaly.silent import silence_setting
from tsae.pipelines.anomaly.terms import (
    TERM_WINDOW_BYTES,
    TERMS,
    available_terms,
    combine_rows,
    copy_levels,
    fit_window_terms,
    set_level,
    set_terms,
    set_window_terms,
    smoothed_scores,
    term_names,
    term_rows,
    term_window_count,
)
from tsae.pipelines.anomaly.thresholds import THRESHOLD_METHODS, Threshold, fit_threshold, threshold_problem


class FitWarning(UserWarning):
    """The training data was learnt from, but in a way that makes a weaker detector, and the user should know.

    Training data too short to hold any out (the threshold then comes from a cross-fit or in-sample scores), or whose
    held-out part shows too few score peaks to extrapolate the alarm budget's threshold from, and
    sensors with runs of missing values longer than the window (held at the last value and learnt as
    normal), and training glitches (values far beyond the rest, learnt as missing: :data:`GLITCH_RANGES`).
    ``tsae detect fit`` tells each in one line naming the file.
    """


#: most training rows held out: enough for the normal levels, the self-check and the threshold, and the
#: self-check's cost (seven scorings of the held-out rows) then stops growing with the series
MAX_HELD_OUT = 20_000
#: drift updates learn from blocks of at least this many windows: the mean and spread of a block of one window
#: follow a periodic signal's cycle (drift_every of 1.5 windows flagged 203 of 300 normal samples at drift_rate 1)
MIN_DRIFT_WINDOWS = 4

#: held-out score peaks fewer than this are told at fit: the budget's tail is then extrapolated from one or two
#: peaks and the scores' spread, with a wide margin (:mod:`~tsae.pipelines.anomaly.alarm_budget`)
_FIT_PEAKS = 3


# ----------------------------------------------------------------------------- helpers
#: a training value farther beyond its sensor's 1st-99th percentile range than this many times that range is a
#: glitch (a transmission error, 9999 for "no reading"), not normal data. Real heavy tails reach far: a burst of
#: tweets in NAB's training rows lies 14 ranges out, and dropping it from training halved that series' PR-AUC
#: (learnt at 10 ranges, the bursts of new data all looked alike); none of the 92 NAB/SKAB series reaches 20.
GLITCH_RANGES = 50.0


def _without_glitches(X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """``X`` (C, n) with its training glitches (see :data:`GLITCH_RANGES`) missing, each sensor that had any told.

    One glitch of 1e4 in a sensor that moves by 1 would make its z-score scale 200 times too
    wide and the sensor's faults invisible; as missing values they hold the last good value
    instead. A sensor without spread between its percentiles (constant, or rare states) has none.
    """
    low, high = np.nanquantile(X, [0.01, 0.99], axis=1)
    spread = high - low
    with np.errstate(invalid="ignore"):
        glitch = ((X < (low - GLITCH_RANGES * spread)[:, None]) | (X > (high + GLITCH_RANGES * spread)[:, None])) \
            & (spread > 0)[:, None]
    if not glitch.any():
        return X
    told = []
    for i in np.flatnonzero(glitch.any(axis=1)):
        first = int(np.flatnonzero(glitch[i])[0])
        told.append(f"{names[int(i)]!r} ({int(glitch[i].sum())}, the first {X[i, first]:.6g} at sample {first})")
    more = f" and {len(told) - 5} more" if len(told) > 5 else ""
    warnings.warn(f"sensor(s) {', '.join(told[:5])}{more} have training values farther beyond their 1st-99th "
                  f"percentile range than {GLITCH_RANGES:g} times that range: learnt as missing values (glitches, "
                  "not normal data); new values like them score as anomalies", FitWarning, stacklevel=4)
    return np.where(glitch, np.nan, X)


def _level_huber(state: DetectorState) -> float | None:
    """The statistics terms' ``level_huber`` (one for all scales: they are fitted alike; None without them)."""
    found = {term.stats.level_huber for term in [state.primary_term(), *state.scales] if term.stats is not None}
    if len(found) > 1:
        raise ValueError(f"the statistics terms differ in level_huber ({sorted(map(str, found))}): one file holds one")
    return found.pop() if found else None


def check_family(name: str) -> None:
    """Refuse a model family no plugin registers (a one-line ValueError listing those installed) or a denoiser's."""
    from tsae.models.base import check_series_family

    check_series_family(name)


# ----------------------------------------------------------------------------- the detector
class Detector:
    """Autoencoder anomaly detector for multichannel sensor series, with PyOD's interface.

    ``X`` is ``(n_sensors, n_samples)`` like every series in tsae (time is the last axis;
    a 1-D array is one sensor); a pandas DataFrame (rows are time) is accepted and its
    columns name the sensors. NaNs are repaired (see the module docstring). Scores are
    per sample: higher = more anomalous. PyOD's names (``fit``, ``decision_function``,
    ``predict``, ``decision_scores_``, ``threshold_``, ``labels_``), and sklearn's
    ``get_params`` / ``set_params`` (so ``sklearn.base.clone`` works).

    Parameters
    ----------
    model
        Autoencoder family (``tsae models`` lists them): ``"conv1d"``, ``"dense"``, ``"lstm"``,
        ``"transformer"``, ``"vae"``, ``"vqvae"``...
    window
        Window length in samples, or ``"auto"`` (the dominant period of the training data,
        clamped to [8, 128]).
    hop
        Scoring hop (samples between windows), an integer in ``[1, window]``; None means ``max(1, window // 8)``.
    threshold
        ``"budget"`` (default: at most ``alarms_per_day`` false-alarm *events* a day on normal
        data, see :mod:`~tsae.pipelines.anomaly.alarm_budget`), ``"pot"`` (peaks over
        threshold, per-sample false-alarm rate ``risk``), ``"quantile"`` (``q`` quantile of the
        held-out scores) or a fixed number, finite and not negative (scores never are).
    risk, q
        Parameters of the threshold methods.
    alarms_per_day
        The ``"budget"`` method's budget. It is the whole detector's: an event counts once
        whichever sensors raise it, so each sensor's false alarms are within it too.
    sample_interval
        Seconds between samples, for the budget's days (None: the median step of a pandas
        ``DatetimeIndex`` or ``TimedeltaIndex`` that ``X`` rows carry at fit, else 1 second is
        assumed, and the threshold's parameters say so). The interval used is ``sample_interval_``.
    drift_rate, drift_every
        Drift updates while scoring (:mod:`~tsae.pipelines.anomaly.drift`): every
        ``drift_every`` samples (None: 50 windows, enough samples for a stable mean and
        standard deviation even of slow periodic signals; at least 4 windows, else scoring is a
        ``ValueError``) each sensor's normalisation and
        the score level move the fraction ``drift_rate`` toward the recent normal samples
        (0, the default: off). Batch scoring and the monitor use it alike; the calibration
        at fit never does.
    smooth
        Moving average of the per-sample errors, in samples, or ``"k*window"`` (default
        ``"2*window"``: anomaly labels span many samples; 1 turns smoothing off).
    threshold_floor
        The budget's threshold is at least this many times the median held-out normal score
        (1 or less: no floor). Smoothed normal scores can be nearly flat, and then the budget's
        threshold sits just above them: a small rise of the normal level that the held-out days
        did not show (a slow drift, another season) held an alarm for days.
    short_smooth
        Shorter moving averages scored beside ``smooth``, each scaled to its alarm level on the
        held-out normal data (the ``smooth`` threshold over its own), a sample taking the highest:
        a long mean dilutes short faults (a few spikes, a stall, a dropout) that a short one shows.
        ``"auto"`` (a quarter window and 1 sample, those shorter than ``smooth``), a list of
        lengths, or ``()`` for ``smooth`` alone.
    short_margin
        How far a short smoothing must rise above its own held-out alarm level to reach the
        ``smooth`` one's (its factor is divided by this; 1: the levels meet). Each smoothing's
        normal peaks otherwise reach the alarm level as often as the long one's, so three of them
        raised about three times the false events, and their noise outranked slow faults that
        only the long mean shows (a sensor running late, a changed cycle).
    linear, linear_weight
        Offer the linear (PCA, ``pca_variance`` of the variance) reconstruction error as a term,
        with this weight.
    stats_weight
        The weight of the statistics term (each window's level, spread and step size), when chosen. A lower one
        lets faults the other terms see and it does not (a changed cycle, a sensor running late) stand out of its
        noise, and buries those only it sees (a noise burst, a clipped sensor): 0.5 gained 1 point of PR-AUC on
        the development series and lost 2 on the held-out NAB series.
    terms
        The score terms: ``"auto"`` (the self-check chooses among the combinations of
        ``"ae"`` (the autoencoder's residual), ``"pca"`` (the subspace residual) and
        ``"stats"`` (each window's level, spread and step size against their normal range)),
        or a list / ``"+"``-joined string of them. Each term is divided by its mean on
        held-out normal data, so the terms can be added.
    scales
        Further window lengths whose subspace and statistics terms are added to the main
        window's: ``"auto"`` (16 and 64 samples, those that fit the data and differ from the
        main window), a list of lengths, or ``()`` for the main window only.
    holdout
        The fraction of the training rows (the last ones, at most ``MAX_HELD_OUT``) kept out
        of training: the terms' normal levels, the self-check and the threshold come from them.
    model_params
        Hyper-parameters of the family. The defaults (``default_model_params``) are small
        networks trained as denoising autoencoders; ``latent="auto"`` sizes the code as the
        number of principal components holding ``pca_variance`` of the training windows' variance.
    epochs, batch_size, lr, patience
        Training settings (the shared trainer's early stopping on a held-out 10%).
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``: where training and batch scoring run.
    merge_gap
        Events closer than this many samples are merged (None: the window length).
    centered
        Centre the moving average on each sample (adds ``smooth // 2`` samples of delay in
        streaming) rather than trailing it (causal, no extra delay).
    error_norm
        Divide each sensor's errors by its own mean training error (True), or all sensors by
        one common scale (False).
    calibration
        Where the terms' normal levels, the threshold and the sensors' normal error levels
        come from. ``"holdout"`` (default): the held-out last ``holdout`` of the training rows,
        scored by terms learnt from the rows before them (errors on unseen normal data are
        higher than in-sample ones); the subspace and statistics terms are then learnt again
        from all rows (cheap), the network is not. ``"training"``: in-sample (no self-check;
        more false alarms). Data too short for a hold-out (held-out part under 2 windows, or
        the rest under 4) is *cross-fitted*: a copy of the detector learnt from the first rows
        scores the last ``holdout`` of them, in the final detector's units, for the threshold
        and the sensors' normal error levels (no self-check); the final detector learns the
        normal levels and every term from all rows. Data too short even for that (under one
        main window held out, or two before it) uses the in-sample scores.
    init
        A model file (``tsae train``, perhaps on other unlabelled series) whose encoder the
        network starts from; its window (when ``window="auto"``) and hyper-parameters are
        used (``model_params`` override them) and ``model`` must be its family.
    threads
        Torch CPU threads while fitting and scoring (1 is fastest for these small networks;
        None leaves torch's setting).

    A setting that a detector file could not hold (``drift_rate`` outside [0, 1], a
    ``sample_interval`` or ``alarms_per_day`` that is not positive, a ``drift_every`` under 1, a
    negative ``linear_weight`` or ``merge_gap``) is refused with a ``ValueError`` here, and again
    at :meth:`fit` and when scoring after ``set_params``: the ranges are the loader's
    (:data:`~tsae.pipelines.anomaly.detector_file.SETTING_RANGES`).

    Attributes
    ----------
    threshold_ : float
        Scores above it are anomalies (``predict``).
    decision_scores_ : ndarray (n_samples,)
        Scores of the training data.
    labels_ : ndarray (n_samples,)
        ``predict`` of the training data.
    state_ : DetectorState
        What scoring needs (network, normaliser, error scales, linear term).
    window_, hop_ : int
        The window and hop in use.
    selfcheck_ : SelfCheck
        The terms in use, and what the self-check measured to choose them.
    sensors_ : list of str
    time_name_ : str or None
        The training table's time column (``tsae detect fit`` sets it): the monitor reads a record
        field of that name as the sample's time.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(1200)
    >>> X = np.stack([np.sin(2 * np.pi * t / 40), np.cos(2 * np.pi * t / 40)]) + 0.05 * rng.normal(size=(2, 1200))
    >>> det = Detector(window=40, epochs=5, device="cpu").fit(X[:, :800])
    >>> X[0, 1000:1010] += 3.0
    >>> scores = det.decision_function(X)
    >>> bool(scores[1000:1010].mean() > 5 * np.median(scores))
    True
    """

    path_: Path | None  # the file a detector was loaded from (set by load)
    time_name_: str | None = None

    def __init__(
        self, model: str = "conv1d", window: int | str = "auto", hop: int | None = None,
        threshold: str | float = "budget", risk: float = 1e-3, q: float = 0.995,
        alarms_per_day: float = 1.0, sample_interval: float | None = None,
        smooth: int | str = "2*window", linear: bool = True, pca_variance: float = 0.95,
        linear_weight: float = 1.0, model_params: dict[str, Any] | None = None, epochs: int = 5,
        batch_size: int = 64, lr: float = 1e-3, patience: int = 3, max_train_windows: int = 1024,
        device: str = "auto", seed: int = 0, quiet: bool = True, merge_gap: int | None = None,
        threads: int | None = 1, error_norm: bool = False, centered: bool = True,
        calibration: str = "holdout", init: str | Path | None = None,
        terms: str | Sequence[str] = "auto", scales: str | Sequence[int] = "auto", holdout: float = 0.3,
        drift_rate: float = 0.0, drift_every: int | None = None, short_smooth: str | Sequence[int] = "auto",
        threshold_floor: float = 1.3, short_margin: float = 1.25, stats_weight: float = 1.0,
    ) -> None:
        if not isinstance(model, str):  # a class here would only fail at fit, with a KeyError
            raise TypeError(f"Detector(model=...) takes the name of a registered model family such as 'conv1d' "
                            f"(see `tsae models`), not {getattr(model, '__name__', type(model).__name__)}; "
                            "register a family with tsae.register_plugin and pass its name, and its parameters "
                            "as model_params={...}")
        if calibration not in ("holdout", "training"):
            raise ValueError(f"calibration={calibration!r} must be 'holdout' or 'training'")
        for name, value in (("holdout", holdout), ("risk", risk), ("q", q)):  # whichever threshold uses them
            if not is_number(value) or not 0.0 < value < 1.0:
                raise ValueError(f"{name}={value!r} must be in (0, 1)")
        # stored unchanged, as sklearn's clone expects
        self.model = model
        self.window = window
        self.hop = hop
        self.threshold = threshold
        self.risk = risk
        self.q = q
        self.alarms_per_day = alarms_per_day
        self.sample_interval = sample_interval
        self.smooth = smooth
        self.linear = linear
        self.pca_variance = pca_variance
        self.linear_weight = linear_weight
        self.model_params = model_params
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.max_train_windows = max_train_windows
        self.device = device
        check_seed(seed)
        self.seed = seed
        self.quiet = quiet
        self.merge_gap = merge_gap
        if threads is not None:  # 0 or None: leave the thread settings as they are
            whole_number("threads", threads, 0)
        self.threads = threads
        self.error_norm = error_norm
        self.centered = centered
        self.calibration = calibration
        self.init = init
        self.terms = terms
        self.scales = scales
        self.holdout = holdout
        self.drift_rate = drift_rate
        self.drift_every = drift_every
        self.short_smooth = short_smooth
        self.threshold_floor = threshold_floor
        self.short_margin = short_margin
        self.stats_weight = stats_weight
        self._check_settings()  # what a detector file could not hold fails here, not at load

    # -- sklearn's parameter protocol ---------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        import inspect

        return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, by name (sklearn's estimator protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Detector:
        """Change constructor arguments by name; returns ``self`` (sklearn's estimator protocol)."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for Detector (valid: {', '.join(valid)})")
            setattr(self, name, value)
        return self

    def _check_settings(self) -> None:
        """Refuse settings a detector file could not hold (the loader's ranges)."""
        check_settings({name: getattr(self, name) for name in SETTING_RANGES})
        problem = threshold_problem(self.threshold)
        if problem:
            raise ValueError(f"threshold {problem}")

    def _check_fit_options(self) -> None:
        """Refuse a training option of the wrong kind, by name: ``linear="no"`` would be taken as True,
        ``model_params="x"`` fail deep inside and ``max_train_windows=0`` be told as a too short series."""
        for name in ("linear", "error_norm", "centered"):
            check_flag(name, getattr(self, name))
        if not is_number(self.pca_variance) or not 0.0 < self.pca_variance <= 1.0:
            raise ValueError(f"pca_variance={shown(self.pca_variance)} must be a share of the variance in (0, 1]")
        if self.model_params is not None and not isinstance(self.model_params, Mapping):
            raise TypeError(f"model_params must be a dict of the {self.model} family's parameters or None, "
                            f"got {type(self.model_params).__name__}")
        whole_number("max_train_windows", self.max_train_windows, 1)

    # -- defaults -------------------------------------------------------------
    @staticmethod
    def default_model_params(family: str, channels: int, window: int) -> dict[str, Any]:
        """Small, fast networks: the training series are short (hundreds of rows)."""
        if family == "conv1d":  # one strided level, a code as wide as the PCA rank, denoising training
            return {"depth": 1, "hidden": 16, "kernel": 5, "latent": "auto", "regularizer": "denoising",
                    "reg_weight": 0.1}
        if family == "vae":
            return {"depth": 1, "hidden": 16, "kernel": 5, "latent": "auto", "beta": 0.1}
        return {}

    # -- fitting ----------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, sensors: Sequence[str] | None = None) -> Detector:
        """Learn normal behaviour from ``X`` ``(n_sensors, n_samples)``; ``y`` is ignored (PyOD).

        ``sensors`` names the sensors (default: a DataFrame's columns, a named Series' name, else ``s0``,
        ``s1``...). Data in which every sensor holds one value throughout is a ``ValueError``: there is no
        variation to learn.
        """
        with torch_threads(self.threads, native=True):
            return self._fit(X, sensors)

    def _fit(self, X: Any, sensors: Sequence[str] | None) -> Detector:
        self._check_settings()  # set_params may have changed them since __init__
        self._check_fit_options()
        check_family(self.model)
        self.sample_interval_ = self.sample_interval if self.sample_interval is not None else index_interval(X)
        self.time_name_ = None  # a table's time column: set by the caller that read the table
        X, names = as_series(X, sensors)
        X = absurd_as_missing(X)  # missing, as the table reader and scoring read them
        channels, n = X.shape
        if n < 4:
            raise ValueError(f"need at least 4 training samples, got {n}")
        empty = ~np.isfinite(X).any(axis=1)
        if empty.any():
            bad = [names[i] for i in np.flatnonzero(empty)]
            raise ValueError(f"sensor(s) with no valid value in the training data: {', '.join(bad)}")
        X = _without_glitches(X, names)
        gaps = longest_missing_runs(X)
        X = repaired_as_scored(X)  # as scoring repairs them (forward_fill): see step 1
        if np.all(X.max(axis=1) == X.min(axis=1)):  # the network's error on it is not 0: a detector would be made
            raise ValueError("every sensor holds one value throughout the training data: there is no variation to "
                             "learn")
        self.init_model_ = None
        if self.init is not None:
            from tsae.models.pretrained import load_init

            self.init_model_ = load_init(self.init)
        normalizer = Normalizer("zscore").fit(X)
        Z = normalizer.transform(X)
        window, hop, smooth = self._frame_sizes(Z)
        split = self._holdout_start(n, window)
        fit_rows = split or n
        self._check_memory(channels, window, fit_rows)
        windows = [window] + self._extra_scales(window, fit_rows)
        cut = None if split else self._crossfit_start(n, windows)
        self._warn_weak_fit(names, gaps, n, window, split, cut)
        state = self._train_state(Z[:, :fit_rows], windows, hop, smooth, normalizer, record=True)
        self.sensors_ = names
        self.window_, self.hop_, self.smooth_ = window, hop, smooth
        self.family_ = self.model
        self.n_features_in_ = channels
        if split:
            calib_rows, calib_scores = self._choose_terms(state, X, split)
            early_calib = early_scores(state, X, split)  # before the terms learn the held-out rows
            self._learn_again(state, Z)  # the cheap terms, from every training row
            source = "holdout"
        else:
            levels = self._normal_levels(state, X, 0)
            self.selfcheck_ = SelfCheck(chosen=self._fixed_terms(state) or available_terms(state),
                                        reason="in-sample calibration: no self-check")
            set_terms(state, self.selfcheck_.chosen, self.linear_weight, self.stats_weight)
            if cut is None:
                calib_rows = combine_rows(levels, self.selfcheck_.chosen, self.linear_weight, self.stats_weight)
                source = "training"
                early_calib = early_scores(state, X, 0)
            else:
                (calib_rows, early_calib), source = self._crossfit_rows(state, Z, X, windows, cut), "crossfit"
                self.selfcheck_.reason = "cross-fit calibration: no self-check"
                self.selfcheck_.held_out = n - cut
            calib_scores = smoothed_scores(calib_rows, smooth, self.centered)
        calib_scores = self._short_smoothings(state, calib_rows, calib_scores)
        self.state_ = state
        state.contrib_base = np.maximum(np.nanmean(calib_rows, axis=0), _EPS)
        self.decision_scores_ = self._training_scores(state, X)
        self.calibration_scores_ = calib_scores
        self._fit_alarm_threshold(source)
        self.early_threshold_ = self._early_threshold(early_calib)
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)
        self._warn_flagged_training()
        return self

    def _short_smoothings(self, state: DetectorState, calib_rows: np.ndarray, calib_scores: np.ndarray) -> np.ndarray:
        """Set ``state.short_smooth`` (each shorter smoothing's length and factor, :class:`ScoreSmoother`) from the
        held-out normal error rows; returns their scores with the short smoothings taken where higher.

        Each factor is the ratio of two alarm levels on those rows: the threshold method's, or with a fixed
        threshold the default budget's (a number says where to alarm, not how noisy each smoothing is; the same
        number for both gave every factor 1 / ``short_margin``, and the mean over one sample raised false alarms)."""
        lengths = self._short_lengths(state.window, state.smooth)
        fixed = not (isinstance(self.threshold, str) and self.threshold.lower() in THRESHOLD_METHODS)
        method = "budget" if fixed else self.threshold
        main = self._threshold_on(calib_scores, method).value if lengths else math.nan
        short = []
        for length in lengths:
            level = self._threshold_on(smoothed_scores(calib_rows, length, state.centered), method).value
            if math.isfinite(main) and math.isfinite(level) and main > 0 and level > 0:
                short.append((length, main / (level * float(self.short_margin))))
        state.short_smooth = short
        return smoothed_scores(calib_rows, state.smooth, state.centered, short) if short else calib_scores

    def _short_lengths(self, window: int, smooth: int) -> list[int]:
        """The lengths of ``short_smooth`` for this window, those shorter than ``smooth``, longest first."""
        wanted = (max(1, window // 4), 1) if isinstance(self.short_smooth, str) and self.short_smooth == "auto" \
            else self.short_smooth
        if isinstance(wanted, str) or not isinstance(wanted, Sequence):
            raise ValueError(f"short_smooth={shown(self.short_smooth)} must be 'auto', a list of smoothing lengths "
                             "or () for none")
        lengths = set()
        for length in wanted:
            if not (isinstance(length, (int, np.integer)) and not isinstance(length, bool)) or length < 1:
                raise ValueError(f"short_smooth: {shown(length)} must be a whole number of samples >= 1")
            if length < smooth:
                lengths.add(int(length))
        return sorted(lengths, reverse=True)

    def _threshold_on(self, scores: np.ndarray, method: str | float | None = None) -> Threshold:
        """The alarm threshold the detector's settings give on held-out normal ``scores`` (before any floor);
        ``method`` instead of the settings' threshold method."""
        method = self.threshold if method is None else method
        return fit_threshold(scores, method, risk=self.risk, q=self.q, alarms_per_day=self.alarms_per_day,
                             sample_interval=self.sample_interval_ or 1.0, merge_gap=self.event_gap)

    def _warn_flagged_training(self) -> None:
        """Warn (:class:`FitWarning`) when the training data's own scores raise more alarm events than the budget.

        The in-sample scores are lower than those of new data: training data that its own threshold
        flags more often than the budget allows holds anomalies, or heavier tails than the held-out
        part showed, and new normal data will raise more false alarms than the budget.
        """
        from tsae.pipelines.anomaly.alarm_budget import SECONDS_PER_DAY, event_peaks

        if self.threshold_obj_.method != "budget":  # the other methods flag a share of normal samples by design
            return
        events = int(event_peaks(self.decision_scores_, self.threshold_, self.event_gap).size)
        days = self.decision_scores_.size * (self.sample_interval_ or 1.0) / SECONDS_PER_DAY
        budget, flagged = float(self.alarms_per_day), int(self.labels_.sum())
        if events and events > budget * days:
            warnings.warn(f"the training data's own scores cross the threshold in {events} event(s) "
                          f"({events / days:.3g} a day; budget {budget:g}) on {flagged} of "
                          f"{self.labels_.size} samples: it holds anomalies or heavier tails than its held-out part "
                          "showed, and new normal data may raise more false alarms than the budget (labels_ marks "
                          "them)", FitWarning, stacklevel=4)

    def _warn_weak_fit(self, names: list[str], gaps: np.ndarray, n: int, window: int, split: int | None,
                       cut: int | None) -> None:
        """Warn (:class:`FitWarning`) about missing runs longer than the window and about too short data
        (``split``: the hold-out's first row, ``cut``: the cross-fit's, None: none)."""
        long = np.flatnonzero(gaps > window)
        if long.size:
            told = ", ".join(f"{names[i]!r} ({int(gaps[i])} samples)" for i in long[:5])
            more = f" and {long.size - 5} more" if long.size > 5 else ""
            warnings.warn(f"sensor(s) {told}{more} miss values for longer than the window ({window}) at a stretch: "
                          "held at the last value and learnt as normal, a flat or stuck sensor may then go "
                          "unflagged; fit on data without long gaps", FitWarning, stacklevel=4)
        if split is None and self.calibration == "holdout":
            if 2 * window > MAX_HELD_OUT:
                short = (f"a window of {window} samples is too long to hold training samples out (two windows are "
                         f"needed, and at most {MAX_HELD_OUT} samples are held out)")
            elif (need := self._rows_to_hold_out(n, window)) is None:
                short = f"{n} training samples are too few to hold any out with window {window}"
            else:
                short = (f"{n} training samples are too few to hold any out (about {need} are needed with window "
                         f"{window})")
            if cut is None:
                warnings.warn(f"{short}: the normal levels and the threshold come from the training samples "
                              "themselves, so new normal data will raise false alarms", FitWarning, stacklevel=4)
            else:
                warnings.warn(f"{short}: the threshold comes from the last {n - cut} scored by a copy of the "
                              f"detector learnt from the {cut} before them (cross-fit), too few to learn the normal "
                              "variation well, so new normal data may raise more false alarms than the budget",
                              FitWarning, stacklevel=4)

    def _held_out_rows(self, n: int) -> int:
        """How many of ``n`` training rows the calibration holds out (0 with ``calibration="training"``)."""
        return 0 if self.calibration == "training" else min(int(round(n * float(self.holdout))), MAX_HELD_OUT)

    def _rows_to_hold_out(self, n: int, window: int) -> int | None:
        """The fewest training rows, more than ``n``, from which the calibration holds some out with ``window``
        (:meth:`_holdout_start`); None when no data does (``holdout`` too small for any number to say it, or a
        window over ``MAX_HELD_OUT / 2``, which the caller tells apart first)."""
        low, high = n, 2 * max(n, 1)  # low holds none out; whether a length does only grows with it
        while self._holdout_start(high, window) is None:
            if high > 10**300:  # holdout=1e-320: as good as none, and past what a float multiplies
                return None
            low, high = high, 2 * high
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if self._holdout_start(middle, window) is None else (low, middle)
        return high

    def _holdout_start(self, n: int, window: int) -> int | None:
        """First held-out training row, or None when the data is too short to hold part out."""
        held = self._held_out_rows(n)
        if held < 2 * window or n - held < 4 * window:
            return None
        return n - held

    def _crossfit_start(self, n: int, windows: list[int]) -> int | None:
        """First row scored by the cross-fit copy (see :meth:`_crossfit_rows`), or None when too short for one.

        Looser than :meth:`_holdout_start`: the copy needs two main windows of rows to learn from
        (and three of every further scale), the scored part one main window.
        """
        held = self._held_out_rows(n)
        cut = n - held
        if held < windows[0] or cut < 2 * windows[0] or any(3 * length > cut for length in windows[1:]):
            return None
        return cut

    def _crossfit_rows(self, state: DetectorState, Z: np.ndarray, X: np.ndarray, windows: list[int],
                       cut: int) -> tuple[np.ndarray, np.ndarray]:
        """The chosen terms' error rows of training rows ``cut:``, scored by a copy learnt from the rows before,
        and the copy's early scores there (:mod:`~tsae.pipelines.anomaly.early`).

        Data too short for a hold-out still needs a threshold for *new* normal data, and
        in-sample errors are far below those (a detector that learnt every training window
        by heart flags every new sample). So a copy of the detector learns from the first
        rows alone and scores the rest, in the units of the final detector (its normal
        levels): those rows' scores calibrate the threshold. The final detector learns
        from every row, so the copy's errors, from less data, err on the side of fewer alarms.
        """
        copy_state = self._train_state(Z[:, :cut], windows, state.hop, state.smooth, state.normalizer)
        copy_levels(state, copy_state)
        set_terms(copy_state, self.selfcheck_.chosen, self.linear_weight, self.stats_weight)
        rows = combine_rows(term_rows(copy_state, X, cut), self.selfcheck_.chosen, self.linear_weight,
                            self.stats_weight)
        return rows, early_scores(copy_state, X, cut)

    def _extra_scales(self, window: int, n: int) -> list[int]:
        """The further window lengths for ``n`` training rows (each needs at least 3 windows of data)."""
        wanted = (16, 64) if isinstance(self.scales, str) and self.scales == "auto" else self.scales
        if isinstance(wanted, str):
            raise ValueError(f"scales={self.scales!r} must be 'auto' or a list of window lengths")
        out = []
        for length in wanted:
            length = int(length)
            if length < 2:
                raise ValueError(f"scales: window length {length} must be >= 2")
            if length != window and length not in out and 3 * length <= n:
                out.append(length)
            elif 3 * length > n and wanted is self.scales:  # asked for by name, not one of the defaults
                warnings.warn(f"scales: a window of {length} samples needs 3 windows of training data ({3 * length} "
                              f"rows; the fit has {n}): left out", FitWarning, stacklevel=4)
        return out

    def _fixed_terms(self, state: DetectorState) -> tuple[str, ...] | None:
        """The terms the user asked for (None: the self-check chooses)."""
        names = term_names(self.terms)
        if names is None:
            return None
        missing = [name for name in names if name not in available_terms(state)]
        if missing:
            raise ValueError(f"terms={self.terms!r}: {', '.join(missing)} is off (linear=False?)")
        return tuple(name for name in TERMS if name in names)

    def _normal_levels(self, state: DetectorState, X: np.ndarray, start: int) -> dict[tuple[str, int], np.ndarray]:
        """Set each term's normal level from rows ``start:`` of ``X`` and return its normalised error rows there."""
        rows = term_rows(state, X, start)
        for key, value in rows.items():
            level = np.nanmean(value, axis=0) + 1e-9
            if not self.error_norm:
                level = np.full(len(level), float(np.nanmean(level)))
            set_level(state, key, level)
            rows[key] = value / level
        return rows

    def _choose_terms(self, state: DetectorState, X: np.ndarray, split: int) -> tuple[np.ndarray, np.ndarray]:
        """Normal levels and the self-check on the held-out rows ``split:``; returns their (rows, scores)."""
        clean = self._normal_levels(state, X, split)
        fixed = self._fixed_terms(state)
        terms = available_terms(state)
        options = [fixed] if fixed else candidates(terms)
        results: dict[tuple[str, ...], dict[str, float]] = {cand: {} for cand in options}
        if len(options) > 1:
            rng = np.random.default_rng(self.seed)
            context = max(0, split - max(state.windows))  # the rows term_rows reads before the held-out ones
            for kind in KINDS:
                held, labels = inject(X[:, split:], kind, rng, segment=2 * state.window)
                rows = term_rows(state, np.concatenate([X[:, context:split], held], axis=1), split - context)
                for cand in options:
                    combined = combine_rows(rows, cand, self.linear_weight, self.stats_weight)
                    score = smoothed_scores(combined, state.smooth, state.centered)
                    results[cand][kind] = average_precision(labels, score)
            chosen, reason = choose(results)
        else:
            chosen, reason = options[0], "terms given by the user"
        table = {"+".join(c): {**{k: round(v, 4) for k, v in r.items()},
                               "mean": round(float(np.nanmean(list(r.values()))), 4)} for c, r in results.items() if r}
        self.selfcheck_ = SelfCheck(chosen=chosen, results=table, held_out=X.shape[1] - split, reason=reason)
        set_terms(state, chosen, self.linear_weight, self.stats_weight)
        chosen_rows = combine_rows(clean, chosen, self.linear_weight, self.stats_weight)
        return chosen_rows, smoothed_scores(chosen_rows, state.smooth, state.centered)

    def _learn_again(self, state: DetectorState, Z: np.ndarray) -> None:
        """Learn the subspace and statistics terms again from all rows ``Z``, keeping their normal levels.

        The subspaces keep their size: the normal levels were measured with it (chosen again from
        more rows, one component fewer can raise every normal error several times).
        """
        for term in [state.primary_term(), *state.scales]:
            rank = None if term.pca is None else len(term.pca.components)
            pca, stats = fit_window_terms(Z, term.window, self.pca_variance, rank=rank)[:2]
            if term.pca is not None:
                pca.err_scale = term.pca.err_scale
                set_window_terms(state, term.window, pca=pca)
            if term.stats is not None:
                stats.err_scale = term.stats.err_scale
                set_window_terms(state, term.window, stats=stats)

    def _frame_sizes(self, Z: np.ndarray) -> tuple[int, int, int]:
        """Window, hop and smoothing length for the normalised training series ``Z`` (C, n)."""
        n = Z.shape[1]
        if (self.window == "auto" or self.window is None) and self.init_model_ is not None:
            window = int((self.init_model_.frame or {}).get("window") or dominant_period(Z))
        elif self.window == "auto" or self.window is None:
            window = dominant_period(Z)
            window = max(2, min(window, n // 4))
        else:  # int(2.5) would be 2 without a word, int("big") a message that names no option
            if not is_whole_number(self.window) or int(self.window) < 2:
                raise ValueError(f"window={shown(self.window)} must be a whole number of samples >= 2, or 'auto'")
            window = int(self.window)
        if window > n:
            raise ValueError(f"window {window} is longer than the training data ({n} samples)")
        if self.hop is None:
            hop = max(1, window // 8)
        elif not isinstance(self.hop, numbers.Integral) or isinstance(self.hop, bool) or not 1 <= self.hop <= window:
            raise ValueError(f"hop={self.hop!r} must be an integer in [1, window={window}] (None: window // 8)")
        else:
            hop = int(self.hop)
        return window, hop, smooth_length(self.smooth, window)

    def _fit_alarm_threshold(self, source: str) -> None:
        """Set ``threshold_`` from the held-out normal scores (``calibration_scores_``) and the alarm settings."""
        calib = self.calibration_scores_
        obj = self._threshold_on(calib)
        obj.params["scores"] = source
        if obj.method == "budget" and self.sample_interval_ is None:
            obj.params["interval_assumed"] = True
        finite = calib[np.isfinite(calib)]
        self.calibration_mean_ = float(finite.mean()) if finite.size else 1.0
        if not self.calibration_mean_ > 0:  # a detector file must hold a positive scale for drift tracking
            raise ValueError("every held-out normal score is 0: the training data has no variation to learn "
                             "(constant sensors?)")
        self.threshold_obj_ = self._with_floor(obj, finite)
        self.threshold_ = obj.value
        if obj.method == "budget" and obj.params["n_peaks"] < _FIT_PEAKS and source == "holdout" \
                and obj.params["heldout_days"] * float(self.alarms_per_day) < 1.0:
            warnings.warn(f"the {calib.size} held-out training samples show {obj.params['n_peaks']} separate score "
                          f"peak(s), too few to model how far normal scores reach beyond them in a day: the threshold "
                          "is extrapolated from the scores' spread with a wide margin, so small faults may go "
                          "unflagged; fit on longer normal data", FitWarning, stacklevel=4)

    def _with_floor(self, obj: Threshold, finite_scores: np.ndarray) -> Threshold:
        """``obj``, a budget threshold raised to its floor on these held-out normal scores (``threshold_floor``
        times their median) where below it, the raise recorded in its params."""
        floor = float(self.threshold_floor) * float(np.median(finite_scores)) if finite_scores.size else 0.0
        if obj.method == "budget" and floor > obj.value:
            obj.params["floor"] = {"ratio": float(self.threshold_floor), "budget_value": float(obj.value)}
            obj.value = floor
        return obj

    def _early_threshold(self, scores: np.ndarray) -> float | None:
        """The early alarms' threshold on held-out normal early ``scores``, set as the score's threshold is
        (None with a fixed threshold, a number or its text, which is in the score's units, or without finite
        scores)."""
        finite = scores[np.isfinite(scores)]
        if not finite.size:
            return None
        with warnings.catch_warnings():  # the score's own threshold has told what there is to tell
            warnings.simplefilter("ignore")
            obj = self._threshold_on(scores)
        if obj.method == "fixed":
            return None
        value = self._with_floor(obj, finite).value
        return float(value) if math.isfinite(value) and value > 0 else None

    def _network_params(self, channels: int, window: int, pca_rank: int) -> dict[str, Any]:
        if self.init_model_ is not None:
            from tsae.models.pretrained import init_settings

            params = init_settings(self.init_model_, self.model, window, self.model_params)[2]
        else:
            params = {**self.default_model_params(self.model, channels, window), **(self.model_params or {})}
        if params.get("latent") == "auto":  # as many codes as principal components for pca_variance, at most 32
            params["latent"] = int(np.clip(pca_rank, 4, 32))
        return params

    def _train_config(self) -> Any:
        from tsae.models.trainer import TrainConfig

        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, patience=self.patience,
                           seed=self.seed, device=self.device, quiet=self.quiet, weight_decay=1e-5)

    def _check_memory(self, channels: int, window: int, rows: int) -> None:
        """A :class:`~tsae.errors.NamedMemoryError`, before anything is allocated, when training on ``rows``
        samples of ``channels`` sensors cannot fit (:func:`~tsae.models.fit.check_training_memory`): the main
        window's windows with the subspace's float64 copies of them, the network's share of them, the network."""
        from tsae.models.fit import check_training_memory

        count = term_window_count(rows, window)
        held = (TERM_WINDOW_BYTES * count + 4 * min(count, self.max_train_windows)) * channels * window
        params = self._network_params(channels, window, 32)  # latent="auto" is at most 32
        check_training_memory(self.model, channels, window, count, params, self._train_config(), windows=held)

    def _train_state(self, Z: np.ndarray, windows: list[int], hop: int, smooth: int, normalizer: Normalizer,
                     record: bool = False) -> DetectorState:
        """Learn every term from the normalised series ``Z`` (C, n): the network on the main window
        ``windows[0]``, the subspace and statistics terms on every window. Normal levels are 1 until set."""
        from tsae.models.trainer import seed_everything, train_model
        from tsae.plugins import create_model

        channels = Z.shape[0]
        window = windows[0]
        pca, stats, windows_all, k = fit_window_terms(Z, window, self.pca_variance)
        # the network trains on at most max_train_windows of them, evenly spaced: enough for these small
        # networks, and the fit's cost stops growing with the series
        train_windows = windows_all[np.unique(np.linspace(0, len(windows_all) - 1, self.max_train_windows).astype(int))]
        params = self._network_params(channels, window, k)
        seed_everything(self.seed)  # the initial weights too: a fit must not depend on earlier fits
        net = create_model(self.model, channels=channels, window=window, **params)
        if self.init_model_ is not None:
            from tsae.models.pretrained import init_encoder

            init_encoder(net, self.init_model_, label=str(self.init))
        result = train_model(net, train_windows, self._train_config())
        net = result.model.to("cpu").eval()
        if record:
            self.pca_rank_ = k
            self.model_params_ = params
            self.train_info_ = {"epochs_run": result.epochs_run, "best_val_loss": result.best_val_loss,
                                "seconds": result.seconds, "device": result.device, "windows": len(train_windows)}
        scales = []
        for length in windows[1:]:
            scale_pca, scale_stats = fit_window_terms(Z, length, self.pca_variance)[:2]
            scales.append(ScaleTerm(length, max(1, length // 8), pca=scale_pca if self.linear else None,
                                    stats=scale_stats))
        return DetectorState(model=net, window=window, hop=hop, normalizer=normalizer, err_scale=np.ones(channels),
                             smooth=smooth, linear_weight=self.linear_weight, pca=pca if self.linear else None,
                             centered=self.centered, stats=stats, scales=scales)

    def _training_scores(self, state: DetectorState, X: np.ndarray) -> np.ndarray:
        """Scores ``(n,)`` of the training series ``X`` (C, n) under ``state`` (no drift), filled in place block by
        block: their contribution rows (C times their size) are not kept, as nothing reads them."""
        scores = np.empty(X.shape[1])
        done = 0

        def keep(block: np.ndarray, _contrib: np.ndarray) -> None:
            nonlocal done
            scores[done:done + len(block)] = block
            done += len(block)

        score_blocks(ScoringCore(state, device=self.device), X, keep, shows_progress(self.quiet, X.shape[1]))
        return scores

    # -- scoring ----------------------------------------------------------------
    def fitted_state(self) -> DetectorState:
        """What scoring needs (``state_``), once the detector is fitted or loaded.

        Returns
        -------
        DetectorState
            The network, normaliser, error scales and score terms (``state_``).

        Raises
        ------
        NotFittedError
            The detector was neither fitted (:meth:`fit`) nor loaded (:meth:`load`).
        """
        state = getattr(self, "state_", None)
        if state is None:
            raise NotFittedError("this Detector is not fitted yet: call fit(X) or Detector.load(path)")
        return state

    def _series(self, X: Any) -> np.ndarray:
        state = self.fitted_state()
        return as_chunk(sensor_columns(X, self.sensors_), state.channels, "X")

    def core(self, device: Any = "cpu", drift_rate: float | None = None,
             drift_every: int | None = None, early: bool = False) -> ScoringCore | DriftingCore:
        """A fresh streaming scoring core for this detector.

        A :class:`ScoringCore`, wrapped in a :class:`~tsae.pipelines.anomaly.drift.DriftingCore`
        when drift updates are on. ``drift_rate`` / ``drift_every`` override the detector's
        ``drift_rate`` / ``drift_every`` (None: the detector's; ``drift_every`` None there too:
        50 windows). ``early``: the core also keeps the early error rows (its ``take_early``,
        :mod:`~tsae.pipelines.anomaly.early`).
        """
        rate = self.drift_rate if drift_rate is None else drift_rate
        every = self.drift_every if drift_every is None else drift_every
        check_settings({"drift_rate": rate, "drift_every": every})  # set_params may have changed them
        if drift_every is not None:
            check_drift_every_used(rate, drift_every)
        core = ScoringCore(self.fitted_state(), device=device, early=early)
        if not rate:
            return core
        every = every or 50 * int(self.window_)
        if every < MIN_DRIFT_WINDOWS * int(self.window_):
            raise ValueError(f"drift_every={every} is shorter than {MIN_DRIFT_WINDOWS} of the detector's windows "
                             f"({MIN_DRIFT_WINDOWS * int(self.window_)} samples): the mean and spread of so few "
                             "samples follow the signal's own ups and downs, not its drift (normal data was flagged "
                             "as a whole)")
        return DriftingCore(core, self.threshold_, self.event_gap, float(rate), int(every), self.calibration_mean_)

    def score_with_contributions(self, X: Any, device: Any = None, *,
                                 silence: int | None = 100) -> tuple[np.ndarray, np.ndarray]:
        """Scores and each sensor's share of them (shares sum to 1).

        Parameters
        ----------
        X
            ``(n_sensors, n_samples)`` (a DataFrame: rows are time, columns name the sensors); NaN is missing.
        device
            Where the network runs (None: the detector's ``device``).
        silence
            A sensor missing for this many samples in a row is *silent* until its next value, and scored as
            :class:`~tsae.pipelines.anomaly.monitor.Monitor` scores it (:mod:`~tsae.pipelines.anomaly.silent`):
            filled in from the other sensors, its error at its normal level, so that a dead sensor does not
            flag the rest of the series. The scores equal the monitor's with the same ``silence``. None: every
            gap holds the sensor's last value, however long (a dead sensor is a flat line).

        Returns
        -------
        scores : ndarray
            ``(n_samples,)``; higher = more anomalous.
        contributions : ndarray
            ``(n_sensors, n_samples)``.

        Raises
        ------
        ValueError
            ``silence`` is not a whole number >= 1 or None; ``X`` is shorter than the window or holds no valid value.
        """
        return self._score_silent(X, device, silence)[:2]

    def _score_silent(self, X: Any, device: Any, silence: int | None,
                      ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
        """:meth:`score_with_contributions`, and the silent stretches the scoring left out: ``(sensor, index,
        since_index)`` where a sensor fell silent, as :func:`~tsae.pipelines.anomaly.silent.silent_stretches` finds
        them."""
        blocks = JoinedBlocks()
        stretches = self._score_each(X, device, silence, blocks)
        scores, contrib = blocks.joined()
        return scores, contrib.T, stretches

    def _score_each(self, X: Any, device: Any, silence: int | None,
                    each: Callable[[np.ndarray, np.ndarray], None]) -> list[tuple[int, int, int]]:
        """:meth:`_score_silent` a block at a time: ``each`` is given each block's scores ``(m,)`` and contribution
        rows ``(m, n_sensors)`` as they are final, in order
        (:func:`~tsae.pipelines.anomaly.block_scoring.score_blocks`); the silent stretches are returned (``tsae detect
        score`` streams its output so, and lists them). ``X`` may be a
        :class:`~tsae.pipelines.anomaly.block_scoring.RowReader` (a long file's rows, read as they are scored), whose
        length and values its caller checked."""
        silence = silence_setting(silence)
        if not isinstance(X, RowReader):
            X = self._series(X)
            if X.shape[1] < self.window_:
                raise ValueError(f"{X.shape[1]} sample(s): shorter than the detector's window ({self.window_})")
            if not np.isfinite(X).any():  # as `tsae detect score` refuses such a file: every score would be made up
                raise ValueError("X holds no valid value (every sample is NaN, infinite or beyond 1e30, which no "
                                 "sensor reads)")
        n = X.n if isinstance(X, RowReader) else X.shape[1]
        with torch_threads(self.threads, native=True):
            return score_blocks(self.core(device=self.device if device is None else device), X, each,
                                shows_progress(self.quiet, n), silence)

    def decision_function(self, X: Any, *, silence: int | None = 100) -> np.ndarray:
        """Anomaly score of each sample of ``X`` ``(n_sensors, n_samples)``; higher = more anomalous.

        Parameters
        ----------
        X
            The series (see :meth:`score_with_contributions`).
        silence
            Samples missing in a row after which a sensor is silent and scored without it, as the monitor
            scores it (None: held at its last value); see :meth:`score_with_contributions`.

        Returns
        -------
        ndarray
            ``(n_samples,)`` scores.
        """
        return self.score_with_contributions(X, silence=silence)[0]

    def contributions(self, X: Any, *, silence: int | None = 100) -> np.ndarray:
        """Each sensor's share of each sample's score, ``(n_sensors, n_samples)``.

        Parameters
        ----------
        X
            The series (see :meth:`score_with_contributions`).
        silence
            Silent sensors, as in :meth:`score_with_contributions`.

        Returns
        -------
        ndarray
            ``(n_sensors, n_samples)`` shares, each column summing to 1.
        """
        return self.score_with_contributions(X, silence=silence)[1]

    def predict(self, X: Any, *, silence: int | None = 100) -> np.ndarray:
        """0/1 per sample: 1 where the score exceeds ``threshold_``.

        Parameters
        ----------
        X
            The series (see :meth:`score_with_contributions`).
        silence
            Silent sensors, as in :meth:`score_with_contributions`.

        Returns
        -------
        ndarray
            ``(n_samples,)`` int64 labels.
        """
        return (self.decision_function(X, silence=silence) > self.threshold_).astype(np.int64)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """:meth:`fit`, then the training labels ``labels_``."""
        return self.fit(X).labels_

    @property
    def event_gap(self) -> int:
        """Events closer than this many samples are merged."""
        return int(self.window_ if self.merge_gap is None else self.merge_gap)

    # -- persistence ------------------------------------------------------------
    def save(self, path: str | Path, *, protect: Sequence[str | Path] = ()) -> Path:
        """Write the fitted detector to one tsae model file (``.tsae``)."""
        from tsae.models.modelfile import save_model

        state = self.fitted_state()
        norm = state.normalizer
        arrays: dict[str, Any] = {"mean": norm.center, "std": norm.scale, "err_scale": state.err_scale,
                  "decision_scores": self.decision_scores_.astype(np.float64)}
        if state.contrib_base is not None:
            arrays["contrib_base"] = state.contrib_base
        arrays.update(term_arrays("", state.pca, state.stats))
        for i, term in enumerate(state.scales):
            arrays.update(term_arrays(f"scale{i}_", term.pca, term.stats))
        scales = [{"window": t.window, "hop": t.hop, "pca_weight": t.pca_weight, "stats_weight": t.stats_weight}
                  for t in state.scales]
        extra = {
            "kind": DETECTOR_KIND, "version": DETECTOR_VERSION, "sensors": list(self.sensors_),
            "threshold": self.threshold_obj_.to_dict(), "smooth": state.smooth, "centered": state.centered,
            "short_smooth": [[length, factor] for length, factor in state.short_smooth],
            "linear_weight": state.linear_weight, "merge_gap": self.merge_gap,
            "ae_weight": state.ae_weight, "stats_weight": state.stats_weight, "scales": scales,
            "stats_level_huber": _level_huber(state),
            "selfcheck": self.selfcheck_.to_dict() if hasattr(self, "selfcheck_") else None,
            "settings": {"model": self.model, "window": self.window, "hop": self.hop,
                         "threshold": self.threshold if isinstance(self.threshold, str) else float(self.threshold),
                         "risk": self.risk, "q": self.q, "linear": self.linear, "pca_variance": self.pca_variance,
                         "error_norm": self.error_norm, "calibration": self.calibration,
                         "model_params": self.model_params_,
                         "epochs": self.epochs, "seed": self.seed, "alarms_per_day": float(self.alarms_per_day),
                         "sample_interval": None if self.sample_interval_ is None else float(self.sample_interval_),
                         "drift_rate": float(self.drift_rate), "drift_every": self.drift_every,
                         "threshold_floor": float(self.threshold_floor), "short_margin": float(self.short_margin),
                         "stats_weight": float(self.stats_weight),
                         "terms": self.terms if isinstance(self.terms, str) else list(self.terms),
                         "scales": self.scales if isinstance(self.scales, str) else [int(v) for v in self.scales],
                         "holdout": float(self.holdout)},
            "calibration_mean": self.calibration_mean_,
            "early_threshold": getattr(self, "early_threshold_", None),
            "time_column": self.time_name_,
            "train": getattr(self, "train_info_", {}),
        }
        return save_model(path, state.model, frame={"window": state.window, "hop": state.hop, "window_fn": None},
                          normalizer=norm.to_dict(), extra=extra, arrays=arrays, protect=tuple(protect))

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Detector:
        """Read a detector file written by :meth:`save` (``tsae detect fit``)."""
        from tsae.models.modelfile import load_model

        loaded = load_model(path, device="cpu")
        content = read_detector_state(path, loaded)
        state, threshold = content.state, content.threshold
        settings = content.settings
        # a file without settings names how its threshold was set: a method, or "fixed" for its number
        setting = threshold.method if threshold.method in THRESHOLD_METHODS else threshold.value
        det = cls(model=loaded.family, window=state.window, hop=state.hop, smooth=state.smooth,
                  threshold=settings.get("threshold", setting), device=device,
                  merge_gap=content.merge_gap, alarms_per_day=settings.get("alarms_per_day", 1.0),
                  sample_interval=settings.get("sample_interval"), drift_rate=settings.get("drift_rate", 0.0),
                  drift_every=settings.get("drift_every"),
                  threshold_floor=settings.get("threshold_floor", 1.0),  # older files: fitted without a floor
                  short_margin=settings.get("short_margin", 1.0),  # or a margin
                  stats_weight=settings.get("stats_weight", 1.0))
        det.calibration_mean_ = content.calibration_mean
        det.early_threshold_ = content.early_threshold
        det.sample_interval_ = det.sample_interval
        det.state_ = state
        det.sensors_ = content.sensors
        det.time_name_ = content.time_column
        det.window_, det.hop_, det.smooth_ = state.window, state.hop, state.smooth
        det.family_ = loaded.family
        det.model_params_ = loaded.hparams
        det.n_features_in_ = state.channels
        det.threshold_obj_ = threshold
        det.threshold_ = threshold.value
        det.decision_scores_ = content.decision_scores
        det.labels_ = (det.decision_scores_ > det.threshold_).astype(np.int64)
        if content.selfcheck is not None:
            det.selfcheck_ = content.selfcheck
        det.path_ = Path(path)
        return det

    def __repr__(self) -> str:
        fitted = "" if getattr(self, "state_", None) is None else f", fitted on {len(self.sensors_)} sensors"
        return f"Detector(model={self.model!r}, window={self.window!r}{fitted})"


# as_series, dominant_period and index_interval live in series_input; importable from here as before
__all__ = ["DETECTOR_KIND", "GLITCH_RANGES", "MAX_HELD_OUT", "MIN_DRIFT_WINDOWS", "Detector", "FitWarning", "RowReader",
           "as_series", "check_family", "dominant_period", "index_interval"]
