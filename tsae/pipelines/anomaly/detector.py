"""Sensor anomaly detection with an autoencoder: the public :class:`Detector` estimator.

The estimator's settings (sklearn's ``get_params`` / ``set_params``), ``fit``, its scores, labels and sensor
contributions, its streaming core and its file (``save`` / ``load``). How it learns is the fit procedure's
(:mod:`~tsae.pipelines.anomaly.fitting`), what it reads off a caller's series
:mod:`~tsae.pipelines.anomaly.series_input`'s; a series is scored a block at a time
(:mod:`~tsae.pipelines.anomaly.block_scoring`) through the scoring core (:mod:`~tsae.pipelines.anomaly.scoring`).

How a sample is scored
----------------------
1. Missing values are repaired by the engine: a missing value holds the sensor's last good
   value, in scoring (batch *and* streaming, so that both agree; its training mean before
   the first one, :func:`~tsae.engine.preprocess.forward_fill`) as in fitting (the training
   mean before the first one too, :func:`~tsae.pipelines.anomaly.series_input.repaired_as_scored`),
   so that a sensor that often misses a value scores on new data as it did on the data the
   threshold was set on (interpolating at fit would make every held value look abnormal). NaN, inf and
   values beyond 1e30 in magnitude (no sensor reads them) are missing values, as the table
   reader reads them (:func:`~tsae.io.table_absurd.absurd_as_missing`). A sensor missing for
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
   from their normal range, the level's growing linearly beyond three robust z-scores, and on
   the main scale the distance of its spectral shape (its power's shares in half-octave bands) too
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
float64 on the CPU, so online scores equal batch scores to the last bit, however the stream is cut
into pushes (at the same number of torch threads: the monitor takes the detector's ``threads``, as batch
scoring does; a CUDA batch run computes in float32 and agrees to ~1e-6 relative).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.layout import check_flag, is_number
from tsae.errors import NotFittedError
from tsae.io.time_zone import check_zone
from tsae.models.device import torch_threads
from tsae.models.trainer import check_seed, whole_number
from tsae.pipelines.anomaly.block_scoring import JoinedBlocks, RowReader, score_blocks, shows_progress
from tsae.pipelines.anomaly.detector_file import (
    DETECTOR_KIND,
    DETECTOR_VERSION,
    SETTING_RANGES,
    TRAINING_SETTINGS,
    check_drift_every_used,
    check_settings,
    fit_labels,
    read_detector_state,
    saved_runs,
    saved_scores,
    term_arrays,
)
from tsae.pipelines.anomaly.drift import DriftingCore
from tsae.pipelines.anomaly.events import Event, EventTracker
from tsae.pipelines.anomaly.fitting import DetectorFit, FitWarning, check_family
from tsae.pipelines.anomaly.profile_times import check_time_count, sample_times
from tsae.pipelines.anomaly.scoring import DetectorState, ScoringCore, as_chunk, sensor_columns
from tsae.pipelines.anomaly.seasonal import SeasonalProfile, deseasoned_training, seasonal_setting
from tsae.pipelines.anomaly.selfcheck import SelfCheck
from tsae.pipelines.anomaly.series_input import as_series, dominant_period, index_interval
from tsae.pipelines.anomaly.silent import silence_setting
from tsae.pipelines.anomaly.thresholds import THRESHOLD_METHODS, Threshold, threshold_problem

#: drift updates learn from blocks of at least this many windows: the mean and spread of a block of one window
#: follow a periodic signal's cycle (drift_every of 1.5 windows flagged 203 of 300 normal samples at drift_rate 1)
MIN_DRIFT_WINDOWS = 4


# ----------------------------------------------------------------------------- helpers
def _level_huber(state: DetectorState) -> float | None:
    """The statistics terms' ``level_huber`` (one for all scales: they are fitted alike; None without them)."""
    found = {term.stats.level_huber for term in [state.primary_term(), *state.scales] if term.stats is not None}
    if len(found) > 1:
        raise ValueError(f"the statistics terms differ in level_huber ({sorted(map(str, found))}): one file holds one")
    return found.pop() if found else None


def _pca_level_free(state: DetectorState) -> bool:
    """Whether the subspace terms take each window's own level off (one for all scales; False without them)."""
    found = {term.pca.level_free for term in [state.primary_term(), *state.scales] if term.pca is not None}
    if len(found) > 1:
        raise ValueError("the subspace terms differ in level_free: one file holds one")
    return found.pop() if found else False


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
        ``"auto"`` (a quarter window and 1 sample, and the window itself where ``window="auto"``
        found a period; those shorter than ``smooth``), a list of lengths, or ``()`` for ``smooth``
        alone.
    short_margin
        How far a short smoothing must rise above its own held-out alarm level to reach the
        ``smooth`` one's (its factor is divided by this; 1: the levels meet). Each smoothing's
        normal peaks otherwise reach the alarm level as often as the long one's, so three of them
        raised about three times the false events, and their noise outranked slow faults that
        only the long mean shows (a sensor running late, a changed cycle). The one-window smoothing's
        margin is at most 1.1 (:data:`~tsae.pipelines.anomaly.fitting.WINDOW_MARGIN`): at 1.25 it
        never counted, and the two-window mean hid short anomalies that it showed.
    shared_rise
        The most a rise that most sensors share is discounted: each sample's score is divided by its median
        sensor's statistics-term error (smoothed as the score) over that sensor's normal level, clipped to
        ``[1, shared_rise]`` (:func:`~tsae.pipelines.anomaly.scoring.shared_rise_scores`; 1: not at all; it needs
        3 sensors or more and the statistics term, and none is learnt by a cross-fit on training data too short to
        hold rows out). A sensor's statistics see its own values alone, so a fault of
        one or a few sensors leaves the median sensor's normal; a change of operating conditions that most sensors
        share (the weather, the demand, a weekend at a lower load than the training days showed) raised every term
        of most sensors by 20-50 % for two days on the generated plant and held the detector in alarm for a
        quarter of a fault-free week. On its decision seeds 100-115, 1.15 took the share of fault-free time in
        alarm from 1.6 % to 0.05 % with a weekend drop (1.0 % to 0.02 % without; the longest false event from 1.5
        days to 15 minutes) for 0.003-0.004 of mean PR-AUC; 1.25 quietened no more and cost more, 1.1 left a seed
        6 % in alarm.
    point_weight
        The weight, at least 0, of a sample's own excess over normal: where the shortest ``short_smooth`` smoothing
        of a sensor's error exceeds its highest value on the held-out normal data, that excess (scaled to the
        ``smooth`` units as the smoothing is) times this is added to the sample's score (0: none; nothing without
        ``short_smooth``). Normal data scores as before. The ``smooth`` mean spreads a one-sample spike into a
        plateau, flat to a percent or two, whose highest sample can lie dozens of samples from the spike, and the
        short smoothing, scaled to the alarm level, stayed below it: the spike ranked below its neighbours. The
        excess adds at most :data:`~tsae.pipelines.anomaly.scoring.POINT_CAP` (15 %; 5 % in detector files before
        version 8) of the score, enough to lift the spike above that plateau, and never lifts a score across
        ``threshold_``: it ranks, the alarms are those without it (lifting scores a little below the threshold
        raised false events on normal samples just beyond the held-out rows' highest: NAB development series 41 to
        45). On
        the generated unseen families' development seeds 100-102 (scripts/eval_anomaly_unseen.py) 0.35 took a
        machine cycle's one-sample spikes from PR-AUC 0.36 to 1.0 and the mean over the cases from 0.809 to 0.829,
        a malformed ECG beat losing 0.02 (the most any case lost).
    linear, linear_weight
        Offer the linear (PCA, ``pca_variance`` of the variance) reconstruction error as a term,
        with this weight.
    pca_variance
        The share of the training windows' variance, in (0, 1], that the linear term's subspace holds
        (``latent="auto"`` sizes the network's code by the same number of components).
    stats_bands
        Add the spectral shape of each main window (its power's shares in half-octave bands) to its statistics
        term (:class:`~tsae.pipelines.anomaly.scoring.StatsTerm`): a sensor whose cycle runs faster or slower, or
        whose noise changes colour, stands out even while its level, spread and step size stay in range. On the
        generated plant's decision seeds it raised the PR-AUC of a sensor's 6-hour cycle running at 4 hours from
        0.573 to 0.626 (no other fault kind lost more than 0.005), and the development NAB and SKAB series' too.
    seasonal
        Normal levels that depend on the time (:mod:`~tsae.pipelines.anomaly.seasonal`), learnt where the training
        data has real timestamps (a pandas ``DatetimeIndex``, a table's date column, or ``times=``): ``"auto"``
        (default) removes each sensor's offset by hour of the week from its mean day, for the sensors whose weekdays
        differ beyond chance, from 14 days of data on (a quiet weekend is then no level shift: PR-AUC 0.797 to 0.886
        on the generated plant with a weekend drop); ``"daily"`` removes its level by hour of day as well, from 3
        days on (it lowered the PR-AUC of the plant without a weekend drop from 0.915 to 0.865: the network learns a
        daily cycle its windows see); ``"off"`` (False) neither. ``seasonal_`` holds the profile, None where there
        is none (``seasonal_why_`` says why, after a fit), and scores are then exactly those without this setting.
        Scoring a detector with one needs the samples' times. Fitting and scoring read times alike: dates, or
        numbers as Unix times (seconds to nanoseconds, told by their size).
    timezone
        The IANA name of the zone whose wall clock the ``seasonal`` profile's hours are (``"Europe/Berlin"``), used
        in fitting and scoring: UTC instants (Unix times, dates with a UTC offset or zone) are read on its wall
        clock, daylight saving time included, dates without an offset as written. None (default): instants in UTC,
        so a stream of Unix times scored against a profile learnt from local dates meets it hours off. Stored in the
        detector file; setting another one before scoring reads the times on that zone's clock.
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
        The fraction of the training rows (the last ones, at most
        :data:`~tsae.pipelines.anomaly.fitting.MAX_HELD_OUT`, or a day's rows where a day holds more and
        ``sample_interval`` is known: :data:`~tsae.pipelines.anomaly.fitting.HELD_OUT_SPAN`) kept out
        of training: the terms' normal levels, the self-check and the threshold come from them.
    model_params
        Hyper-parameters of the family. The defaults (``default_model_params``) are small
        networks trained as denoising autoencoders; ``latent="auto"`` sizes the code as the
        number of principal components holding ``pca_variance`` of the training windows' variance.
    epochs, batch_size, lr, patience
        Training settings (the shared trainer's early stopping on a held-out 10%).
    max_train_windows
        The network trains on at most this many of the main window's windows that the subspace and
        statistics terms learn from, evenly spaced, so the fit's cost stops growing with the series.
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
    seed
        Seeds the fit: the network's initial weights and training, the windows the subspace and
        statistics terms draw from a long series, and the faults the self-check injects (a fit does
        not depend on earlier fits).
    quiet
        No progress bars (training, and scoring a long series on a terminal).
    threads
        Torch CPU threads while fitting and scoring (1 is fastest for these small networks;
        None or 0 leaves torch's setting).

    Raises
    ------
    ValueError
        A setting that a detector file could not hold (``drift_rate`` outside [0, 1], a
        ``sample_interval`` or ``alarms_per_day`` that is not positive, a ``drift_every`` under 1, a
        negative ``linear_weight`` or ``merge_gap``) is refused here, and again at :meth:`fit` and
        when scoring after ``set_params``: the ranges are the loader's
        (:data:`~tsae.pipelines.anomaly.detector_file.SETTING_RANGES`).

    Attributes
    ----------
    threshold_ : float
        Scores above it are anomalies (``predict``).
    decision_scores_ : ndarray (n_samples,)
        Scores of the training data. After :meth:`load`, those the file kept: every one of a fit of up to
        :data:`~tsae.pipelines.anomaly.detector_file.MAX_SAVED_SCORES` samples, else every
        ``decision_scores_step_``-th (samples 0, k, 2k...: their distribution and their course, in at most
        512 KiB; a fit on 10 million rows wrote 80 MB). Scoring never reads them.
    labels_ : ndarray (n_samples,)
        ``predict`` of the training data, one per training sample (``n_samples_fit_``), after :meth:`load` too:
        from the runs of flagged samples the file keeps when it thins the scores (at most
        :data:`~tsae.pipelines.anomaly.detector_file.MAX_SAVED_RUNS` runs; exact), else (more runs, or a file
        written before them) each kept score's label stands for the ``decision_scores_step_`` samples from its own.
    decision_scores_step_ : int
        ``decision_scores_[i]`` is the score of training sample ``i * decision_scores_step_`` (1 after :meth:`fit`).
    n_samples_fit_ : int
        The number of training samples.
    state_ : DetectorState
        What scoring needs (network, normaliser, error scales, linear term).
    window_, hop_ : int
        The window and hop in use.
    selfcheck_ : SelfCheck
        The terms in use, and what the self-check measured to choose them.
    seasonal_ : SeasonalProfile or None
        The normal levels by time of day / week removed before scoring (``seasonal``), or None.
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
    # what fit (DetectorFit) or load sets: absent before, as sklearn's fitted attributes are
    state_: DetectorState
    sensors_: list[str]
    window_: int
    hop_: int
    smooth_: int
    family_: str
    n_features_in_: int
    model_params_: dict[str, Any]
    pca_rank_: int
    train_info_: dict[str, Any]
    init_model_: Any  # the init model file's content (fit only)
    sample_interval_: float | None
    selfcheck_: SelfCheck
    seasonal_: SeasonalProfile | None = None
    decision_scores_: np.ndarray
    decision_scores_step_: int
    n_samples_fit_: int
    calibration_scores_: np.ndarray  # fit only
    calibration_mean_: float
    threshold_obj_: Threshold
    threshold_: float
    early_threshold_: float | None

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
        stats_bands: bool = True, seasonal: bool | str = "auto", timezone: str | None = None,
        shared_rise: float = 1.15, point_weight: float = 0.35,
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
        self.stats_bands = stats_bands
        self.seasonal = seasonal
        self.timezone = timezone
        self.shared_rise = shared_rise
        self.point_weight = point_weight
        self._check_settings()  # what a detector file could not hold fails here, not at load

    # -- sklearn's parameter protocol ---------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        import inspect

        return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, by name (sklearn's estimator protocol).

        Parameters
        ----------
        deep
            Ignored: a Detector holds no estimators of its own (the argument is sklearn's).
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Detector:
        """Change constructor arguments by name; returns ``self`` (sklearn's estimator protocol).

        Parameters
        ----------
        **params
            Constructor arguments by name; another name is a ``ValueError`` listing the valid ones.
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for Detector (valid: {', '.join(valid)})")
            setattr(self, name, value)
        return self

    def _check_settings(self) -> None:
        """Refuse settings a detector file could not hold (the loader's ranges)."""
        check_settings({name: getattr(self, name) for name in SETTING_RANGES})
        if not isinstance(self.stats_bands, (bool, np.bool_)):
            raise ValueError(f"stats_bands={self.stats_bands!r} must be True or False")
        seasonal_setting(self.seasonal)
        if self.timezone is not None:
            check_zone(self.timezone)
        problem = threshold_problem(self.threshold)
        if problem:
            raise ValueError(f"threshold {problem}")

    # -- defaults -------------------------------------------------------------
    @staticmethod
    def default_model_params(family: str, channels: int, window: int) -> dict[str, Any]:
        """Small, fast networks: the training series are short (hundreds of rows).

        Parameters
        ----------
        family
            The model family's name (``model``).
        channels, window
            The network's number of sensors and window length (the defaults do not depend on them).

        Returns
        -------
        dict
            The family's hyper-parameters that ``model_params`` overrides (empty: the family's own).
        """
        if family == "conv1d":  # one strided level, a code as wide as the PCA rank, denoising training
            return {"depth": 1, "hidden": 16, "kernel": 5, "latent": "auto", "regularizer": "denoising",
                    "reg_weight": 0.1}
        if family == "vae":
            return {"depth": 1, "hidden": 16, "kernel": 5, "latent": "auto", "beta": 0.1}
        return {}

    # -- fitting ----------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, sensors: Sequence[str] | None = None, *, times: Any = None,
            groups: Any = None) -> Detector:
        """Learn normal behaviour from ``X`` ``(n_sensors, n_samples)``; ``y`` is ignored (PyOD).

        The steps are :class:`~tsae.pipelines.anomaly.fitting.DetectorFit`'s; what the data did not allow (too
        short to hold rows out, long gaps, glitches, training data its own threshold flags) is told as a
        :class:`~tsae.pipelines.anomaly.fitting.FitWarning`.

        Parameters
        ----------
        X
            The training series of normal behaviour (a DataFrame: rows are time, columns name the sensors); NaN is
            missing.
        y
            Ignored.
        sensors
            The sensor names (default: a DataFrame's columns, a named Series' name, else ``s0``, ``s1``...).
        times
            Each sample's time, ``(n_samples,)``, for the ``seasonal`` profile (default: a DataFrame's
            ``DatetimeIndex``): dates, or numbers as Unix times (seconds to nanoseconds, told by their size), as
            scoring reads them; UTC instants on the wall clock of ``timezone``.
        groups
            Many devices in ``X`` (a fleet's long table): each sample's device, an array of labels
            ``(n_samples,)``, or the name(s) of a DataFrame's column(s) holding them (``"host"``, taken out: no
            sensor), as scikit-learn's ``groups`` and pandas' ``groupby``. The detector learns from windows within
            each device, never one spanning two, and then applies to every device
            (:mod:`~tsae.pipelines.anomaly.groups`). None: ``X`` is one device's series.

        Returns
        -------
        Detector
            ``self``, fitted.

        Raises
        ------
        ValueError
            A setting is out of range, the data is too short for the window, a sensor has no valid value, or
            every sensor holds one value throughout (there is no variation to learn).
        """
        with torch_threads(self.threads, native=True):
            self._check_settings()  # set_params may have changed them since __init__
            labels = None
            order_check: Any = contextlib.nullcontext()
            if groups is not None:  # the device columns out of a DataFrame (its index, the times, kept)
                from tsae.pipelines.anomaly.groups import device_labels, row_order_within_devices

                X, labels = device_labels(X, groups)
                order_check = row_order_within_devices(X, labels)
            with order_check:
                X, sensors, interval, self.seasonal_, self.seasonal_why_ = deseasoned_training(
                    X, sensors, times, seasonal_setting(self.seasonal), self.timezone)
                return DetectorFit(self, labels).run(X, sensors, interval)

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

        Parameters
        ----------
        device
            Where the network runs (``"cpu"``, ``"cuda"``, ``"auto"`` or a :class:`torch.device`).
        drift_rate, drift_every
            Override the detector's ``drift_rate`` / ``drift_every`` (None: the detector's;
            ``drift_every`` None there too: 50 windows).
        early
            The core also keeps the early error rows (its ``take_early``,
            :mod:`~tsae.pipelines.anomaly.early`).

        Returns
        -------
        ScoringCore or DriftingCore
            A :class:`ScoringCore`, wrapped in a :class:`~tsae.pipelines.anomaly.drift.DriftingCore`
            when drift updates are on.
        """
        early = check_flag("early", early)
        rate = self.drift_rate if drift_rate is None else drift_rate
        every = self.drift_every if drift_every is None else drift_every
        check_settings({"drift_rate": rate, "drift_every": every})  # set_params may have changed them
        if drift_every is not None:
            check_drift_every_used(rate, drift_every)
        core = ScoringCore(self.fitted_state(), device=device, early=early, alarm=float(self.threshold_))
        if not rate:
            return core
        every = every or 50 * int(self.window_)
        if every < MIN_DRIFT_WINDOWS * int(self.window_):
            raise ValueError(f"drift_every={every} is shorter than {MIN_DRIFT_WINDOWS} of the detector's windows "
                             f"({MIN_DRIFT_WINDOWS * int(self.window_)} samples): the mean and spread of so few "
                             "samples follow the signal's own ups and downs, not its drift (normal data was flagged "
                             "as a whole)")
        return DriftingCore(core, self.threshold_, self.event_gap, float(rate), int(every), self.calibration_mean_)

    def score_with_contributions(self, X: Any, device: Any = None, *, silence: int | None = 100,
                                 times: Any = None, groups: Any = None) -> tuple[np.ndarray, np.ndarray]:
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
        times
            Each sample's time, where the detector removes a ``seasonal`` profile (``seasonal_``; default: a
            DataFrame's ``DatetimeIndex``); unused otherwise. Dates, or numbers as Unix times (seconds to nanoseconds,
            told by their size), as ``tsae detect score`` and the monitor read them; UTC instants on the wall clock
            of ``timezone``.
        groups
            Many devices in ``X``: each sample's device (labels ``(n_samples,)``, or a DataFrame's column name(s), as
            :meth:`fit` takes them). Each device's samples are scored as their own series, as ``X`` of them alone
            would be; the scores come back in the order of ``X``'s samples. None: one series.

        Returns
        -------
        scores : ndarray
            ``(n_samples,)``; higher = more anomalous.
        contributions : ndarray
            ``(n_sensors, n_samples)``.

        Raises
        ------
        ValueError
            ``silence`` is not a whole number >= 1 or None; ``X`` (a device's samples) is shorter than the window or
            holds no valid value; the detector has a ``seasonal_`` profile and ``X`` has no times.
        """
        if groups is not None:
            return self._score_groups(X, device, silence, times, groups)
        return self._score_silent(X, device, silence, times)[:2]

    def _score_groups(self, X: Any, device: Any, silence: int | None, times: Any,
                      groups: Any) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`score_with_contributions` of each device's samples alone, in ``X``'s order."""
        from tsae.pipelines.anomaly.groups import device_labels, group_order, in_order, row_order_within_devices

        X, labels = device_labels(X, groups)
        index = getattr(X, "index", None)
        if times is None and index is not None and getattr(index, "dtype", None) is not None and \
                index.dtype.kind == "M":
            times = np.asarray(index)
        with row_order_within_devices(X, labels):
            values = self._series(X)
        order, breaks, devices = group_order(labels, values.shape[1])
        scores = np.empty(values.shape[1])
        contrib = np.empty(values.shape)
        for device_rows, label in zip(np.split(order, breaks), devices, strict=True):
            try:
                scores[device_rows], contrib[:, device_rows] = self._score_silent(
                    values[:, device_rows], device, silence, in_order(times, device_rows))[:2]
            except ValueError as error:
                raise ValueError(f"device {label}: {error}") from None
        return scores, contrib

    def _score_silent(self, X: Any, device: Any, silence: int | None, times: Any = None,
                      ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
        """:meth:`score_with_contributions`, and the silent stretches the scoring left out: ``(sensor, index,
        since_index)`` where a sensor fell silent, as :func:`~tsae.pipelines.anomaly.silent.silent_stretches` finds
        them."""
        blocks = JoinedBlocks()
        stretches = self._score_each(X, device, silence, blocks, times)
        scores, contrib = blocks.joined()
        return scores, contrib.T, stretches

    def _score_each(self, X: Any, device: Any, silence: int | None,
                    each: Callable[[np.ndarray, np.ndarray], None], times: Any = None,
                    onset: Callable[[np.ndarray], None] | None = None,
                    core: Any = None) -> list[tuple[int, int, int]]:
        """:meth:`_score_silent` a block at a time: ``each`` is given each block's scores ``(m,)`` and contribution
        rows ``(m, n_sensors)`` as they are final, in order
        (:func:`~tsae.pipelines.anomaly.block_scoring.score_blocks`); the silent stretches are returned (``tsae detect
        score`` streams its output so, and lists them). ``X`` may be a
        :class:`~tsae.pipelines.anomaly.block_scoring.RowReader` (a long file's rows, read as they are scored), whose
        length and values its caller checked (its rows have the ``seasonal_`` profile removed already). ``onset`` is
        given each block's early error rows before ``each`` its scores (for the events' bounds: see
        :func:`~tsae.pipelines.anomaly.block_scoring.score_blocks`). ``core``: a fresh core of this detector as
        :meth:`core` builds it (``device``, ``early=onset is not None``), such as a fork of one (a fleet's devices,
        :func:`~tsae.pipelines.anomaly.fleet.score_devices_file`); None: built here."""
        silence = silence_setting(silence)
        if not isinstance(X, RowReader):
            raw, X = X, self._series(X)
            X = self._without_profile(X, raw, times)
            if X.shape[1] < self.window_:
                raise ValueError(f"{X.shape[1]} sample(s): shorter than the detector's window ({self.window_})")
            if not np.isfinite(X).any():  # as `tsae detect score` refuses such a file: every score would be made up
                raise ValueError("X holds no valid value (every sample is NaN, infinite or beyond 1e30, which no "
                                 "sensor reads)")
        n = X.n if isinstance(X, RowReader) else X.shape[1]
        with torch_threads(self.threads, native=True):
            if core is None:
                core = self.core(device=self.device if device is None else device, early=onset is not None)
            return score_blocks(core, X, each, shows_progress(self.quiet, n), silence, onset)

    def _without_profile(self, X: np.ndarray, raw: Any, times: Any) -> np.ndarray:
        """``X`` (C, n) with the ``seasonal_`` profile removed at its times (``times``, else ``raw``'s time index)."""
        profile = self.seasonal_
        if profile is None:
            if times is not None:  # unused, but the events' times are read from it (and a wrong count is a mistake)
                check_time_count(times, X.shape[1])
            return X
        found = sample_times(raw, times, X.shape[1], self.timezone)
        if found is None:
            raise ValueError(f"this detector removes normal levels by time of week or day ({profile.describe()}): "
                             "give the samples' times (dates or Unix times) as a DataFrame's DatetimeIndex or times=")
        return profile.apply(X, found)

    def decision_function(self, X: Any, *, silence: int | None = 100, times: Any = None,
                          groups: Any = None) -> np.ndarray:
        """Anomaly score of each sample of ``X`` ``(n_sensors, n_samples)``; higher = more anomalous.

        Parameters
        ----------
        X
            The series (see :meth:`score_with_contributions`).
        silence
            Samples missing in a row after which a sensor is silent and scored without it, as the monitor
            scores it (None: held at its last value); see :meth:`score_with_contributions`.
        times
            The samples' times, for a ``seasonal_`` profile (see :meth:`score_with_contributions`).
        groups
            Each sample's device: each device scored as its own series (see :meth:`score_with_contributions`).

        Returns
        -------
        ndarray
            ``(n_samples,)`` scores.
        """
        return self.score_with_contributions(X, silence=silence, times=times, groups=groups)[0]

    def events(self, X: Any, *, silence: int | None = 100, times: Any = None) -> list[Event]:
        """The anomaly events of ``X``, as ``tsae detect score`` and the monitor find them.

        Flagged samples (score above ``threshold_``) within ``event_gap`` of each other form one event; it begins
        and ends where its top sensor's own error rises and falls within the flagged span
        (:mod:`~tsae.pipelines.anomaly.onset`), not up to a window and half the moving mean earlier, as the
        smoothed score does.

        Parameters
        ----------
        X
            The series (see :meth:`score_with_contributions`).
        silence
            Silent sensors, as in :meth:`score_with_contributions`.
        times
            The samples' times: for a ``seasonal_`` profile (see :meth:`score_with_contributions`), and the events'
            ``start``, ``end`` and ``peak_time`` (else None).

        Returns
        -------
        list of Event
            In time order (:class:`~tsae.pipelines.anomaly.events.Event`).
        """
        state = self.fitted_state()
        tracker = EventTracker(self.sensors_, merge_gap=self.event_gap, onset_base=state.contrib_base,
                               onset_from=max(state.windows) - 1)
        found: list[Event] = []

        def each(scores: np.ndarray, contrib: np.ndarray) -> None:
            found.extend(tracker.push(scores, scores > self.threshold_, contrib.T))

        self._score_each(X, None, silence, each, times, tracker.push_onset)
        found.extend(tracker.flush())
        if times is not None:
            at = getattr(times, "iloc", times)  # a Series by position: its [i] reads the label i
            for event in found:
                event.start, event.end, event.peak_time = (at[i] for i in
                                                           (event.start_index, event.end_index, event.peak_index))
        return found

    def contributions(self, X: Any, *, silence: int | None = 100, times: Any = None) -> np.ndarray:
        """Each sensor's share of each sample's score, ``(n_sensors, n_samples)``.

        Parameters
        ----------
        X
            The series (see :meth:`score_with_contributions`).
        silence
            Silent sensors, as in :meth:`score_with_contributions`.
        times
            The samples' times, for a ``seasonal_`` profile (see :meth:`score_with_contributions`).

        Returns
        -------
        ndarray
            ``(n_sensors, n_samples)`` shares, each column summing to 1.
        """
        return self.score_with_contributions(X, silence=silence, times=times)[1]

    def predict(self, X: Any, *, silence: int | None = 100, times: Any = None, groups: Any = None) -> np.ndarray:
        """0/1 per sample: 1 where the score exceeds ``threshold_``.

        Parameters
        ----------
        X
            The series (see :meth:`score_with_contributions`).
        silence
            Silent sensors, as in :meth:`score_with_contributions`.
        times
            The samples' times, for a ``seasonal_`` profile (see :meth:`score_with_contributions`).
        groups
            Each sample's device: each device scored as its own series (see :meth:`score_with_contributions`).

        Returns
        -------
        ndarray
            ``(n_samples,)`` int64 labels.
        """
        return (self.decision_function(X, silence=silence, times=times, groups=groups) >
                self.threshold_).astype(np.int64)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """:meth:`fit`, then the training labels ``labels_``.

        Parameters
        ----------
        X
            The training series, as for :meth:`fit`.
        y
            Ignored (PyOD).
        """
        return self.fit(X).labels_

    @property
    def labels_(self) -> np.ndarray:
        """``predict`` of the training data, one per training sample (see the class's Attributes)."""
        labels = self.__dict__.get("_labels")
        if labels is None:
            source = self.__dict__.get("_labels_from")
            if source is None:  # not fitted: absent, as sklearn's fitted attributes are
                raise AttributeError(f"{type(self).__name__!r} object has no attribute 'labels_'")
            labels = self.__dict__["_labels"] = fit_labels(*source)
        return labels

    @labels_.setter
    def labels_(self, value: np.ndarray) -> None:
        self.__dict__["_labels"] = value
        self.__dict__.pop("_labels_from", None)

    @property
    def event_gap(self) -> int:
        """Events closer than this many samples are merged."""
        return int(self.window_ if self.merge_gap is None else self.merge_gap)

    # -- persistence ------------------------------------------------------------
    def save(self, path: str | Path, *, protect: Sequence[str | Path] = ()) -> Path:
        """Write the fitted detector to one tsae model file (``.tsae``).

        Parameters
        ----------
        path
            The output file, written atomically.
        protect
            Input paths the output must never overwrite.

        Returns
        -------
        Path
            The written path.
        """
        from tsae.models.modelfile import save_model

        state = self.fitted_state()
        norm = state.normalizer
        scores, step, n_samples = saved_scores(self.decision_scores_, getattr(self, "decision_scores_step_", 1),
                                               getattr(self, "n_samples_fit_", None))
        arrays: dict[str, Any] = {"mean": norm.center, "std": norm.scale, "err_scale": state.err_scale,
                                  "decision_scores": scores}
        runs = saved_runs(self.labels_, step)
        if runs is not None:
            arrays["flagged_runs"] = runs
        if state.contrib_base is not None:
            arrays["contrib_base"] = state.contrib_base
        if state.shared_base is not None:
            arrays["shared_base"] = state.shared_base
        if state.point_ceiling is not None:
            arrays["point_ceiling"] = state.point_ceiling
        arrays.update(term_arrays("", state.pca, state.stats))
        if self.seasonal_ is not None:
            arrays.update(self.seasonal_.to_arrays())
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
            "shared_rise": state.shared_rise, "point_weight": state.point_weight, "point_cap": state.point_cap,
            "stats_level_huber": _level_huber(state),
            **({"pca_level_free": True} if _pca_level_free(state) else {}),  # absent: the level seen, as before
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
                         "stats_weight": float(self.stats_weight), "stats_bands": bool(self.stats_bands),
                         "shared_rise": float(self.shared_rise), "point_weight": float(self.point_weight),
                         "terms": self.terms if isinstance(self.terms, str) else list(self.terms),
                         "scales": self.scales if isinstance(self.scales, str) else [int(v) for v in self.scales],
                         "holdout": float(self.holdout),
                         "seasonal": self.seasonal if isinstance(self.seasonal, str) else bool(self.seasonal),
                         "timezone": self.timezone},
            "calibration_mean": self.calibration_mean_,
            "decision_scores_step": step, "n_samples_fit": n_samples,
            "early_threshold": getattr(self, "early_threshold_", None),
            "time_column": self.time_name_,
            "train": getattr(self, "train_info_", {}),
        }
        return save_model(path, state.model, frame={"window": state.window, "hop": state.hop, "window_fn": None},
                          normalizer=norm.to_dict(), extra=extra, arrays=arrays, protect=tuple(protect))

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Detector:
        """Read a detector file written by :meth:`save` (``tsae detect fit``).

        Parameters
        ----------
        path
            The detector file.
        device
            The loaded detector's ``device`` setting (where batch scoring runs); the file is read on the CPU.
        """
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
                  stats_weight=settings.get("stats_weight", 1.0),
                  stats_bands=settings.get("stats_bands", False) is True,  # older files: no spectral shape
                  timezone=settings.get("timezone"),  # older files: UTC instants read in UTC
                  shared_rise=settings.get("shared_rise", 1.0),  # files before version 6: no discount
                  point_weight=settings.get("point_weight", 0.0))  # files before version 7: none added
        for name in TRAINING_SETTINGS:  # how it was fitted, for get_params and clone (scoring does not use them)
            if name in settings:
                setattr(det, name, settings[name])
        if "seasonal" not in settings:  # files before version 5 were fitted without a seasonal profile
            det.seasonal = "off"
        det.calibration_mean_ = content.calibration_mean
        det.seasonal_ = content.seasonal
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
        det.decision_scores_step_, det.n_samples_fit_ = content.scores_step, content.n_samples_fit
        # one per training sample, made when asked for (8 bytes a sample: scoring never reads them)
        det.__dict__["_labels_from"] = (det.decision_scores_, det.threshold_, content.scores_step,
                                        content.n_samples_fit, content.flagged_runs)
        if content.selfcheck is not None:
            det.selfcheck_ = content.selfcheck
        det.path_ = Path(path)
        return det

    def __repr__(self) -> str:
        fitted = "" if getattr(self, "state_", None) is None else f", fitted on {len(self.sensors_)} sensors"
        return f"Detector(model={self.model!r}, window={self.window!r}{fitted})"


# FitWarning and check_family (fitting), as_series, dominant_period and index_interval (series_input) and RowReader
# (block_scoring) are importable from here as they were before they moved
__all__ = ["DETECTOR_KIND", "MIN_DRIFT_WINDOWS", "Detector", "FitWarning", "RowReader", "as_series", "check_family",
           "dominant_period", "index_interval"]
