"""How :meth:`Detector.fit <tsae.pipelines.anomaly.detector.Detector.fit>` learns: the fit procedure.

:class:`DetectorFit` takes a detector's settings and a training series through the fit's steps:

1. The series as float64 ``(n_sensors, n_samples)`` (:mod:`~tsae.pipelines.anomaly.series_input`), its
   glitches missing (:data:`GLITCH_RANGES`) and its gaps repaired as scoring repairs them; the window (its
   dominant period with ``window="auto"``), hop and smoothing.
2. Which rows calibrate the detector: the last ``holdout`` of them held out of training (at most
   :data:`MAX_HELD_OUT`, or a day's rows of data sampled faster: :data:`HELD_OUT_SPAN`); data too short for
   that is *cross-fitted* (a copy learnt from the first rows scores the last), data shorter still calibrates on its
   own in-sample scores.
3. The terms learnt from the other rows (:mod:`~tsae.pipelines.anomaly.terms`): the network on the main window,
   the subspace and statistics terms on every scale.
4. The terms' normal levels and the self-check's choice of terms on the held-out rows
   (:mod:`~tsae.pipelines.anomaly.selfcheck`); the subspace and statistics terms are then learnt again from
   every row, keeping their levels.
5. The short smoothings' factors, the training rows' scores, the alarm threshold
   (:mod:`~tsae.pipelines.anomaly.thresholds`, with its floor) and the early alarms' threshold
   (:mod:`~tsae.pipelines.anomaly.early`).

What the data did not allow is told as a :class:`FitWarning`. Each result is set on the detector as its fitted
attribute (``state_``, ``threshold_``, ``selfcheck_``...) as the step learns it.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tsae._warning_filters import ignored
from tsae.engine.layout import check_flag, is_number, is_whole_number
from tsae.engine.preprocess import Normalizer
from tsae.errors import shown
from tsae.models.trainer import whole_number
from tsae.pipelines.anomaly.block_scoring import score_blocks, shows_progress
from tsae.pipelines.anomaly.detector_file import check_time_step
from tsae.pipelines.anomaly.early import early_scores
from tsae.pipelines.anomaly.scoring import (
    _EPS,
    POINT_CAP,
    SHORT_FACTORS,
    DetectorState,
    ScaleTerm,
    ScoringCore,
    absurd_as_missing,
)
from tsae.pipelines.anomaly.selfcheck import KINDS, SelfCheck, average_precision, candidates, choose, inject
from tsae.pipelines.anomaly.series_input import (
    as_series,
    auto_window_and_cycle,
    dominant_period,
    index_interval,
    longest_missing_runs,
    repaired_as_scored,
    smooth_length,
)
from tsae.pipelines.anomaly.terms import (
    TERMS,
    TermKey,
    available_terms,
    combine_rows,
    copy_levels,
    fit_window_terms,
    follows_trend,
    point_ceiling,
    set_level,
    set_terms,
    set_window_terms,
    shared_statistics,
    smoothed_scores,
    term_memory,
    term_names,
    term_rows,
    term_window_count,
)
from tsae.pipelines.anomaly.thresholds import THRESHOLD_METHODS, Threshold, fit_threshold

if TYPE_CHECKING:
    from tsae.pipelines.anomaly.detector import Detector


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
#: ... unless a day holds more rows (data sampled faster than every 4.32 s, its interval known): then up to a day's,
#: at most :data:`MAX_HELD_OUT_DAY`. The held-out rows are the last ones; 20,000 rows of 1 s data are the last
#: 5.6 hours of a day, and a detector fitted on 3 days whose held-out evening was quiet flagged every busy hour of
#: the next day (its terms' normal levels and its threshold never saw the day's busy hours)
HELD_OUT_SPAN = 86_400.0
#: the most rows held out to cover :data:`HELD_OUT_SPAN` (a day at 0.432 s a sample; faster data holds out less)
MAX_HELD_OUT_DAY = 200_000

#: the margin of the smoothing over one window (``short_smooth="auto"`` where ``window="auto"`` found a period), in
#: place of a larger ``short_margin``: the two-window mean spread a short anomaly (half a period at the wrong phase, a
#: period of added noise) over twice its length and below normal peaks, where the one-window mean of the same error
#: rows had it first (development seeds 100-102, ecg contextual: average precision 0.56, 0.32, 0.28 over two windows,
#: 0.89, 0.71, 1.00 over one); at the quarter window's 1.25 its factor stayed near 0.7 and it never counted, at 1.0 it
#: counted on normal noise too (a warped ecg cycle 0.96 -> 0.79, a spike 1.00 -> 0.33). Without a period the window
#: (32) says nothing of an anomaly's length: a noisy stretch of 100 samples among level steps fell 0.71 -> 0.50 with it
WINDOW_MARGIN = 1.1

#: held-out score peaks fewer than this are told at fit: the budget's tail is then extrapolated from one or two
#: peaks and the scores' spread, with a wide margin (:mod:`~tsae.pipelines.anomaly.alarm_budget`)
_FIT_PEAKS = 3

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


def check_family(name: str) -> None:
    """Refuse a model family no plugin registers (a one-line ValueError listing those installed) or a denoiser's."""
    from tsae.models.base import check_series_family

    check_series_family(name)


class DetectorFit:
    """One fit of a detector to a training series: :meth:`run` is what :meth:`Detector.fit` does.

    Parameters
    ----------
    det
        The detector: its settings (``window``, ``holdout``, ``threshold``...) are read, and what the fit learns is
        set on it as its fitted attributes (``state_``, ``threshold_``, ``selfcheck_``...).
    """

    def __init__(self, det: Detector, groups: np.ndarray | None = None) -> None:
        self.det = det
        #: each training sample's device (a fleet's samples; None: one device), see :meth:`_device_order`
        self.groups = groups
        #: where another device's series begins in the training series as learnt: no window spans one
        self.breaks: list[int] = []
        #: the longest window of the terms (set once they are chosen): a fleet's device shorter has none whole
        self._longest = 0
        #: the subspace terms take each window's own level off: the training level follows a line (follows_trend)
        self._level_free = False
        #: the window is a cycle of the data (``window="auto"`` found a period): the auto smoothings include one window
        self._cyclic = False
        #: the held-out statistics rows of the shared rise, smoothed (None: no shared rise), once the terms are chosen
        self._shared: np.ndarray | None = None

    def run(self, X: Any, sensors: Sequence[str] | None, interval: float | None = None) -> Detector:
        """Learn normal behaviour from ``X`` as :meth:`Detector.fit <tsae.pipelines.anomaly.detector.Detector.fit>`
        does, its settings checked already; returns the detector, fitted.

        The steps, each set on the detector as it learns it: the training series read and cleaned (glitches missing,
        gaps repaired as scoring repairs them), the window, hop and smoothing; the rows held out (or cross-fitted);
        the terms trained on the rest; the terms' normal levels and the self-check's choice of terms on the held-out
        rows (then the cheap terms learnt again from every row); the short smoothings' factors; the training rows'
        scores; the alarm threshold and the early alarms' one; the warnings about what the data allowed.
        ``interval``: the seconds between rows where ``X`` carries no time index (the dates a seasonal profile
        was learnt from gave them).
        """
        det = self.det
        self._check_options()
        check_family(det.model)
        det.sample_interval_ = det.sample_interval if det.sample_interval is not None else \
            interval if interval is not None else index_interval(X)
        check_time_step(det.sample_interval_)  # given, it was checked as a setting; from the times, here
        det.time_name_ = None  # a table's time column: set by the caller that read the table
        X, names = as_series(X, sensors)
        if self.groups is not None:
            X = self._device_order(X)
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
        repaired = np.isnan(X) if gaps.any() else None  # the samples the repair fills in (follows_trend)
        X = repaired_as_scored(X)  # as scoring repairs them (forward_fill): see step 1
        if np.all(X.max(axis=1) == X.min(axis=1)):  # the network's error on it is not 0: a detector would be made
            raise ValueError("every sensor holds one value throughout the training data: there is no variation to "
                             "learn")
        det.init_model_ = None
        if det.init is not None:
            from tsae.models.pretrained import load_init

            det.init_model_ = load_init(det.init)
        normalizer = Normalizer("zscore").fit(X)
        Z = normalizer.transform(X)
        window, hop, smooth = self._frame_sizes(Z)
        split = self._holdout_start(n, window)
        fit_rows = split or n
        self._check_memory(channels, window, fit_rows, n)
        windows = [window] + self._extra_scales(window, fit_rows)
        # the subspace then sees shapes, not levels
        self._level_free = follows_trend(Z[:, :fit_rows], window, None if repaired is None else repaired[:, :fit_rows],
                                         self.breaks)
        del repaired
        self._longest = max(windows)
        cut = None if split else self._crossfit_start(n, windows)
        self._warn_weak_fit(names, gaps, n, window, split, cut)
        state = self._train_state(Z[:, :fit_rows], windows, hop, smooth, normalizer, record=True)
        det.sensors_ = names
        det.window_, det.hop_, det.smooth_ = window, hop, smooth
        det.family_ = det.model
        det.n_features_in_ = channels
        held: dict[TermKey, np.ndarray] | None  # each term's rows on the calibration rows (None: a cross-fit's)
        if split:
            held = self._choose_terms(state, X, split)
            calib_rows = combine_rows(held, det.selfcheck_.chosen, det.linear_weight, det.stats_weight)
            early_calib = self._by_device(lambda x, at: early_scores(state, x, at), X, split)  # before relearning
            self._learn_again(state, Z)  # the cheap terms, from every training row
            source = "holdout"
        else:
            levels = self._normal_levels(state, X, 0)
            det.selfcheck_ = SelfCheck(chosen=self._fixed_terms(state) or available_terms(state),
                                       reason="in-sample calibration: no self-check")
            set_terms(state, det.selfcheck_.chosen, det.linear_weight, det.stats_weight)
            held = levels if cut is None else None  # the cross-fit copy's own terms score its rows: no shared rise
            if cut is None:
                calib_rows = combine_rows(levels, det.selfcheck_.chosen, det.linear_weight, det.stats_weight)
                source = "training"
                early_calib = self._by_device(lambda x, at: early_scores(state, x, at), X, 0)
            else:
                (calib_rows, early_calib), source = self._crossfit_rows(state, Z, X, windows, cut), "crossfit"
                det.selfcheck_.reason = "cross-fit calibration: no self-check"
                det.selfcheck_.held_out = n - cut
        if self._level_free and state.pca is not None:
            det.selfcheck_.reason += "; the subspace terms take each window's own level off (it follows a line)"
        state.contrib_base = np.maximum(np.nanmean(calib_rows, axis=0), _EPS)
        # the shared rise's statistics rows and their normal levels, then the scores as the core computes them
        self._shared = None if held is None or "stats" not in det.selfcheck_.chosen else \
            shared_statistics(held, smooth, det.centered)
        state.shared_rise = float(det.shared_rise)
        state.point_weight = float(det.point_weight)
        state.point_cap = POINT_CAP
        state.shared_base = None if self._shared is None else np.maximum(np.nanmean(self._shared, axis=0), _EPS)
        calib_scores = self._scores(state, calib_rows, smooth)
        calib_scores = self._short_smoothings(state, calib_rows, calib_scores)
        det.state_ = state
        det.calibration_scores_ = calib_scores
        self._fit_alarm_threshold(source)  # before the training scores: a core knows its alarm level
        det.decision_scores_ = self._training_scores(state, X)
        det.decision_scores_step_, det.n_samples_fit_ = 1, det.decision_scores_.size
        det.early_threshold_ = self._early_threshold(early_calib)
        det.labels_ = (det.decision_scores_ > det.threshold_).astype(np.int64)
        self._warn_flagged_training()
        return det

    # -- the training series and its frame --------------------------------------
    def _device_order(self, X: np.ndarray) -> np.ndarray:
        """A fleet's samples ``X`` (C, n) device by device (:func:`~tsae.pipelines.anomaly.groups.group_order`),
        :attr:`breaks` set where each device after the first begins.

        The rows held out to calibrate are the last ones, so the last devices' (each scored from its own rows
        alone: :meth:`_by_device`). Holding out each device's latest rows instead put a seam at the split itself,
        and every device's first window after it: the threshold of two pumps' table rose from 13.5 to 78.
        """
        from tsae.pipelines.anomaly.groups import group_order

        assert self.groups is not None
        order, self.breaks, _ = group_order(np.asarray(self.groups), X.shape[1])
        return X[:, order]

    def _by_device(self, compute: Callable[[np.ndarray, int], Any], X: np.ndarray, start: int,
                   offset: int = 0) -> Any:
        """``compute(X, start)`` (error rows or early scores of samples ``start:``), for a fleet device by device.

        ``X`` holds the fit's samples from ``offset`` on. A fleet's device is scored from its own rows alone, as
        ``tsae detect score --group-by`` scores it: the device before it is no context (its windows spanning the
        seam gave errors no device's scoring has, and the threshold, from the held-out rows' highest scores, rose
        with them: 12 pumps' table 32.7 against 13.2). A device with fewer rows than the longest window has no
        whole window to score and adds nothing, as ``detect score --group-by`` skips it. The parts are joined
        (dicts of rows key by key).
        """
        if not self.breaks:
            return compute(X, start)
        n = X.shape[1]
        edges = [0, *sorted({b - offset for b in self.breaks if 0 < b - offset < n}), n]
        longest = self._longest
        parts = [compute(X[:, lo:hi], max(start, lo) - lo) for lo, hi in zip(edges[:-1], edges[1:], strict=True)
                 if hi > start and hi - lo >= longest]
        if not parts:
            return compute(X, start)
        if isinstance(parts[0], dict):
            return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        return np.concatenate(parts)

    def _check_options(self) -> None:
        """Refuse a training option of the wrong kind, by name: ``linear="no"`` would be taken as True,
        ``model_params="x"`` fail deep inside and ``max_train_windows=0`` be told as a too short series."""
        det = self.det
        for name in ("linear", "error_norm", "centered"):
            check_flag(name, getattr(det, name))
        if not is_number(det.pca_variance) or not 0.0 < det.pca_variance <= 1.0:
            raise ValueError(f"pca_variance={shown(det.pca_variance)} must be a share of the variance in (0, 1]")
        if det.model_params is not None and not isinstance(det.model_params, Mapping):
            raise TypeError(f"model_params must be a dict of the {det.model} family's parameters or None, "
                            f"got {type(det.model_params).__name__}")
        whole_number("max_train_windows", det.max_train_windows, 1)

    def _frame_sizes(self, Z: np.ndarray) -> tuple[int, int, int]:
        """Window, hop and smoothing length for the normalised training series ``Z`` (C, n)."""
        det = self.det
        n = Z.shape[1]
        if (det.window == "auto" or det.window is None) and det.init_model_ is not None:
            window = int((det.init_model_.frame or {}).get("window") or dominant_period(Z))
        elif det.window == "auto" or det.window is None:
            window, self._cyclic = auto_window_and_cycle(Z)
            window = max(2, min(window, n // 4))
        else:  # int(2.5) would be 2 without a word, int("big") a message that names no option
            if not is_whole_number(det.window) or int(det.window) < 2:
                raise ValueError(f"window={shown(det.window)} must be a whole number of samples >= 2, or 'auto'")
            window = int(det.window)
        if window > n:
            raise ValueError(f"window {window} is longer than the training data ({n} samples)")
        if det.hop is None:
            hop = max(1, window // 8)
        elif not isinstance(det.hop, numbers.Integral) or isinstance(det.hop, bool) or not 1 <= det.hop <= window:
            raise ValueError(f"hop={det.hop!r} must be an integer in [1, window={window}] (None: window // 8)")
        else:
            hop = int(det.hop)
        return window, hop, smooth_length(det.smooth, window)

    # -- which rows calibrate: held out, cross-fitted or the training rows themselves -
    def _held_out_rows(self, n: int) -> int:
        """How many of ``n`` training rows the calibration holds out (0 with ``calibration="training"``)."""
        return 0 if self.det.calibration == "training" else min(int(round(n * float(self.det.holdout))),
                                                                 self._most_held_out())

    def _most_held_out(self) -> int:
        """The most training rows held out: :data:`MAX_HELD_OUT`, or a day's rows where a day holds more
        (:data:`HELD_OUT_SPAN`, at most :data:`MAX_HELD_OUT_DAY`), the sample interval known."""
        interval = self.det.sample_interval_
        if not interval or not math.isfinite(interval) or interval <= 0:
            return MAX_HELD_OUT
        return max(MAX_HELD_OUT, min(int(math.ceil(HELD_OUT_SPAN / interval)), MAX_HELD_OUT_DAY))

    def _holdout_start(self, n: int, window: int) -> int | None:
        """First held-out training row, or None when the data is too short to hold part out."""
        held = self._held_out_rows(n)
        if held < 2 * window or n - held < 4 * window:
            return None
        return n - held

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

    def _extra_scales(self, window: int, n: int) -> list[int]:
        """The further window lengths for ``n`` training rows (each needs at least 3 windows of data)."""
        det = self.det
        wanted = (16, 64) if isinstance(det.scales, str) and det.scales == "auto" else det.scales
        if isinstance(wanted, str):
            raise ValueError(f"scales={det.scales!r} must be 'auto' or a list of window lengths")
        out = []
        for length in wanted:
            length = int(length)
            if length < 2:
                raise ValueError(f"scales: window length {length} must be >= 2")
            if length != window and length not in out and 3 * length <= n:
                out.append(length)
            elif 3 * length > n and wanted is det.scales:  # asked for by name, not one of the defaults
                warnings.warn(f"scales: a window of {length} samples needs 3 windows of training data ({3 * length} "
                              f"rows; the fit has {n}): left out", FitWarning, stacklevel=4)
        return out

    # -- learning the terms -----------------------------------------------------
    def _check_memory(self, channels: int, window: int, rows: int, n: int) -> None:
        """A :class:`~tsae.errors.NamedMemoryError`, before anything is allocated, when training on ``rows``
        samples of ``channels`` sensors cannot fit (:func:`~tsae.models.fit.check_training_memory`): the main
        window's windows with the subspace's and statistics' working arrays (:func:`~tsae.pipelines.anomaly.terms.
        term_memory`, from all ``n`` rows as they are learnt again), the network's share of them, the network."""
        from tsae.models.fit import check_training_memory

        count = term_window_count(rows, window)
        held = term_memory(term_window_count(n, window), channels, window, min(count, self.det.max_train_windows))
        params = self._network_params(channels, window, 32)  # latent="auto" is at most 32
        check_training_memory(self.det.model, channels, window, count, params, self._train_config(), windows=held)

    def _network_params(self, channels: int, window: int, pca_rank: int) -> dict[str, Any]:
        det = self.det
        if det.init_model_ is not None:
            from tsae.models.pretrained import init_settings

            params = init_settings(det.init_model_, det.model, window, det.model_params)[2]
        else:
            params = {**det.default_model_params(det.model, channels, window), **(det.model_params or {})}
        if params.get("latent") == "auto":  # as many codes as principal components for pca_variance, at most 32
            params["latent"] = int(np.clip(pca_rank, 4, 32))
        return params

    def _train_config(self) -> Any:
        from tsae.models.trainer import TrainConfig

        det = self.det
        return TrainConfig(epochs=det.epochs, batch_size=det.batch_size, lr=det.lr, patience=det.patience,
                           seed=det.seed, device=det.device, quiet=det.quiet, weight_decay=1e-5)

    def _train_state(self, Z: np.ndarray, windows: list[int], hop: int, smooth: int, normalizer: Normalizer,
                     record: bool = False) -> DetectorState:
        """Learn every term from the normalised series ``Z`` (C, n): the network on the main window
        ``windows[0]``, the subspace and statistics terms on every window. Normal levels are 1 until set."""
        from tsae.models.trainer import seeded, train_model
        from tsae.plugins import create_model

        det = self.det
        channels = Z.shape[0]
        window = windows[0]
        pca, stats, windows_all, k = fit_window_terms(Z, window, det.pca_variance, seed=det.seed,
                                                      bands=det.stats_bands, breaks=self.breaks,
                                                      level_free=self._level_free)
        # the network trains on at most max_train_windows of them, evenly spaced: enough for these small
        # networks, and the fit's cost stops growing with the series
        train_windows = windows_all[np.unique(np.linspace(0, len(windows_all) - 1, det.max_train_windows).astype(int))]
        params = self._network_params(channels, window, k)
        with seeded(det.seed):  # the initial weights too: a fit must not depend on earlier fits
            net = create_model(det.model, channels=channels, window=window, **params)
            if det.init_model_ is not None:
                from tsae.models.pretrained import init_encoder

                init_encoder(net, det.init_model_, label=str(det.init))
            result = train_model(net, train_windows, self._train_config())
        net = result.model.to("cpu").eval()
        if record:
            det.pca_rank_ = k
            det.model_params_ = params
            det.train_info_ = {"epochs_run": result.epochs_run, "best_val_loss": result.best_val_loss,
                               "seconds": result.seconds, "device": result.device, "windows": len(train_windows)}
        scales = []
        for length in windows[1:]:
            scale_pca, scale_stats = fit_window_terms(Z, length, det.pca_variance, seed=det.seed,
                                                      breaks=self.breaks, level_free=self._level_free)[:2]
            scales.append(ScaleTerm(length, max(1, length // 8), pca=scale_pca if det.linear else None,
                                    stats=scale_stats))
        return DetectorState(model=net, window=window, hop=hop, normalizer=normalizer, err_scale=np.ones(channels),
                             smooth=smooth, linear_weight=det.linear_weight, pca=pca if det.linear else None,
                             centered=det.centered, stats=stats, scales=scales)

    # -- normal levels and the choice of terms -----------------------------------
    def _normal_levels(self, state: DetectorState, X: np.ndarray, start: int) -> dict[tuple[str, int], np.ndarray]:
        """Set each term's normal level from rows ``start:`` of ``X`` and return its normalised error rows there."""
        rows = self._by_device(lambda x, at: term_rows(state, x, at), X, start)
        for key, value in rows.items():
            level = np.nanmean(value, axis=0) + 1e-9
            if not self.det.error_norm:
                level = np.full(len(level), float(np.nanmean(level)))
            set_level(state, key, level)
            rows[key] = value / level
        return rows

    def _fixed_terms(self, state: DetectorState) -> tuple[str, ...] | None:
        """The terms the user asked for (None: the self-check chooses)."""
        names = term_names(self.det.terms)
        if names is None:
            return None
        missing = [name for name in names if name not in available_terms(state)]
        if missing:
            raise ValueError(f"terms={self.det.terms!r}: {', '.join(missing)} is off (linear=False?)")
        return tuple(name for name in TERMS if name in names)

    def _choose_terms(self, state: DetectorState, X: np.ndarray, split: int) -> dict[TermKey, np.ndarray]:
        """Normal levels and the self-check on the held-out rows ``split:``; returns each term's error rows there."""
        det = self.det
        clean = self._normal_levels(state, X, split)
        fixed = self._fixed_terms(state)
        terms = available_terms(state)
        options = [fixed] if fixed else candidates(terms)
        results: dict[tuple[str, ...], dict[str, float]] = {cand: {} for cand in options}
        if len(options) > 1:
            rng = np.random.default_rng(det.seed)
            context = max(0, split - max(state.windows))  # the rows term_rows reads before the held-out ones
            for kind in KINDS:
                held, labels = inject(X[:, split:], kind, rng, segment=2 * state.window)
                rows = self._by_device(lambda x, at: term_rows(state, x, at),
                                       np.concatenate([X[:, context:split], held], axis=1), split - context, context)
                for cand in options:
                    combined = combine_rows(rows, cand, det.linear_weight, det.stats_weight)
                    score = smoothed_scores(combined, state.smooth, state.centered)
                    results[cand][kind] = average_precision(labels, score)
            chosen, reason = choose(results)
        else:
            chosen, reason = options[0], "terms given by the user"
        table = {"+".join(c): {**{k: round(v, 4) for k, v in r.items()},
                               "mean": round(float(np.nanmean(list(r.values()))), 4)} for c, r in results.items() if r}
        det.selfcheck_ = SelfCheck(chosen=chosen, results=table, held_out=X.shape[1] - split, reason=reason)
        set_terms(state, chosen, det.linear_weight, det.stats_weight)
        return clean

    def _learn_again(self, state: DetectorState, Z: np.ndarray) -> None:
        """Learn the subspace and statistics terms again from all rows ``Z``, keeping their normal levels.

        The subspaces keep their size: the normal levels were measured with it (chosen again from
        more rows, one component fewer can raise every normal error several times).
        """
        for term in [state.primary_term(), *state.scales]:
            rank = None if term.pca is None else len(term.pca.components)
            pca, stats = fit_window_terms(Z, term.window, self.det.pca_variance, rank=rank,
                                          seed=self.det.seed, breaks=self.breaks,
                                          bands=term.stats is not None and term.stats.band_median is not None,
                                          level_free=self._level_free)[:2]
            if term.pca is not None:
                pca.err_scale = term.pca.err_scale
                set_window_terms(state, term.window, pca=pca)
            if term.stats is not None:
                stats.err_scale = term.stats.err_scale
                set_window_terms(state, term.window, stats=stats)

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
        det = self.det
        copy_state = self._train_state(Z[:, :cut], windows, state.hop, state.smooth, state.normalizer)
        copy_levels(state, copy_state)
        set_terms(copy_state, det.selfcheck_.chosen, det.linear_weight, det.stats_weight)
        rows = combine_rows(self._by_device(lambda x, at: term_rows(copy_state, x, at), X, cut),
                            det.selfcheck_.chosen, det.linear_weight, det.stats_weight)
        return rows, self._by_device(lambda x, at: early_scores(copy_state, x, at), X, cut)

    # -- scores and thresholds --------------------------------------------------
    def _training_scores(self, state: DetectorState, X: np.ndarray) -> np.ndarray:
        """Scores ``(n,)`` of the training series ``X`` (C, n) under ``state`` (no drift), filled in place block by
        block: their contribution rows (C times their size) are not kept, as nothing reads them. A fleet's devices
        are scored each from its own first row (NaN for one shorter than the longest window, as it has none whole),
        on one bar (on a terminal, unless quiet) counting all their samples.
        """
        from tsae.pipelines.progress import sample_bar

        n = X.shape[1]
        scores = np.full(n, np.nan)
        edges = [0, *self.breaks, n]
        done = 0

        def keep(block: np.ndarray, _contrib: np.ndarray) -> None:
            nonlocal done
            scores[done:done + len(block)] = block
            done += len(block)

        with sample_bar(n, "score", shows_progress(self.det.quiet, n), leave=False) as bar:
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                done = lo
                if hi - lo >= self._longest or not self.breaks:
                    score_blocks(ScoringCore(state, device=self.det.device, alarm=self.det.threshold_),
                                 X[:, lo:hi], keep, bar)
                else:
                    bar.update(hi - lo)  # a device too short to score: its samples done
        return scores

    def _short_smoothings(self, state: DetectorState, calib_rows: np.ndarray, calib_scores: np.ndarray) -> np.ndarray:
        """Set ``state.short_smooth`` (each shorter smoothing's length and factor, :class:`ScoreSmoother`) from the
        held-out normal error rows; returns their scores with the short smoothings taken where higher.

        The one-window smoothing's margin is at most :data:`WINDOW_MARGIN`. Each factor is the ratio of two alarm
        levels on those rows: the threshold method's, or with a fixed threshold the default budget's (a number says
        where to alarm, not how noisy each smoothing is; the same number for both gave every factor
        1 / ``short_margin``, and the mean over one sample raised false alarms)."""
        det = self.det
        lengths = self._short_lengths(state.window, state.smooth)
        fixed = not (isinstance(det.threshold, str) and det.threshold.lower() in THRESHOLD_METHODS)
        method = "budget" if fixed else det.threshold
        main = self._threshold_on(calib_scores, method).value if lengths else math.nan
        short = []
        for length in lengths:
            level = self._threshold_on(self._scores(state, calib_rows, length), method).value
            if math.isfinite(main) and math.isfinite(level) and main > 0 and level > 0:
                margin = min(float(det.short_margin), WINDOW_MARGIN) if length == state.window else det.short_margin
                factor = main / (level * float(margin))
                short.append((length, min(max(factor, SHORT_FACTORS[0]), SHORT_FACTORS[1])))  # what a file holds
        state.short_smooth = short
        state.point_ceiling = point_ceiling(calib_rows, short, state.centered) if state.point_weight > 0 else None
        return self._scores(state, calib_rows, state.smooth, short) if short else calib_scores

    def _scores(self, state: DetectorState, rows: np.ndarray, smooth: int,
                short: Sequence[tuple[int, float]] = ()) -> np.ndarray:
        """The scores of held-out error ``rows`` smoothed over ``smooth`` (and ``short``), less the rise most
        sensors share (its statistics rows smoothed as the core smooths them, over ``state.smooth``)."""
        return smoothed_scores(rows, smooth, state.centered, short, shared=self._shared, base=state.shared_base,
                               shared_rise=state.shared_rise,
                               point=(state.point_weight, state.point_ceiling, state.point_cap))

    def _short_lengths(self, window: int, smooth: int) -> list[int]:
        """The lengths of ``short_smooth`` for this window, those shorter than ``smooth``, longest first (``"auto"``:
        a quarter window and 1 sample, and the window itself where it is a cycle of the data)."""
        det = self.det
        auto = (window, max(1, window // 4), 1) if self._cyclic else (max(1, window // 4), 1)
        wanted = auto if isinstance(det.short_smooth, str) and det.short_smooth == "auto" else det.short_smooth
        if isinstance(wanted, str) or not isinstance(wanted, Sequence):
            raise ValueError(f"short_smooth={shown(det.short_smooth)} must be 'auto', a list of smoothing lengths "
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
        det = self.det
        method = det.threshold if method is None else method
        return fit_threshold(scores, method, risk=det.risk, q=det.q, alarms_per_day=det.alarms_per_day,
                             sample_interval=det.sample_interval_ or 1.0, merge_gap=det.event_gap)

    def _fit_alarm_threshold(self, source: str) -> None:
        """Set ``threshold_`` from the held-out normal scores (``calibration_scores_``) and the alarm settings."""
        det = self.det
        calib = det.calibration_scores_
        obj = self._threshold_on(calib)
        obj.params["scores"] = source
        if obj.method == "budget" and det.sample_interval_ is None:
            obj.params["interval_assumed"] = True
        finite = calib[np.isfinite(calib)]
        det.calibration_mean_ = float(finite.mean()) if finite.size else 1.0
        if not det.calibration_mean_ > 0:  # a detector file must hold a positive scale for drift tracking
            raise ValueError("every held-out normal score is 0: the training data has no variation to learn "
                             "(constant sensors?)")
        det.threshold_obj_ = self._with_floor(obj, finite)
        det.threshold_ = obj.value
        if obj.method == "budget" and obj.params["n_peaks"] < _FIT_PEAKS and source == "holdout" \
                and obj.params["heldout_days"] * float(det.alarms_per_day) < 1.0:
            warnings.warn(f"the {calib.size} held-out training samples show {obj.params['n_peaks']} separate score "
                          f"peak(s), too few to model how far normal scores reach beyond them in a day: the threshold "
                          "is extrapolated from the scores' spread with a wide margin, so small faults may go "
                          "unflagged; fit on longer normal data", FitWarning, stacklevel=4)

    def _with_floor(self, obj: Threshold, finite_scores: np.ndarray) -> Threshold:
        """``obj``, a budget threshold raised to its floor on these held-out normal scores (``threshold_floor``
        times their median) where below it, the raise recorded in its params."""
        floor = float(self.det.threshold_floor) * float(np.median(finite_scores)) if finite_scores.size else 0.0
        if obj.method == "budget" and floor > obj.value:
            obj.params["floor"] = {"ratio": float(self.det.threshold_floor), "budget_value": float(obj.value)}
            obj.value = floor
        return obj

    def _early_threshold(self, scores: np.ndarray) -> float | None:
        """The early alarms' threshold on held-out normal early ``scores``, set as the score's threshold is
        (None with a fixed threshold, a number or its text, which is in the score's units, or without finite
        scores)."""
        finite = scores[np.isfinite(scores)]
        if not finite.size:
            return None
        with ignored():  # the score's own threshold has told what there is to tell
            obj = self._threshold_on(scores)
        if obj.method == "fixed":
            return None
        value = self._with_floor(obj, finite).value
        return float(value) if math.isfinite(value) and value > 0 else None

    # -- what the fit tells -----------------------------------------------------
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
        if split is None and self.det.calibration == "holdout":
            if 2 * window > self._most_held_out():
                short = (f"a window of {window} samples is too long to hold training samples out (two windows are "
                         f"needed, and at most {self._most_held_out()} samples are held out)")
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

    def _warn_flagged_training(self) -> None:
        """Warn (:class:`FitWarning`) when the training data's own scores raise more alarm events than the budget.

        The in-sample scores are lower than those of new data: training data that its own threshold
        flags more often than the budget allows holds anomalies, or heavier tails than the held-out
        part showed, and new normal data will raise more false alarms than the budget.
        """
        from tsae.pipelines.anomaly.alarm_budget import SECONDS_PER_DAY, event_peaks

        det = self.det
        if det.threshold_obj_.method != "budget":  # the other methods flag a share of normal samples by design
            return
        events = int(event_peaks(det.decision_scores_, det.threshold_, det.event_gap).size)
        days = det.decision_scores_.size * (det.sample_interval_ or 1.0) / SECONDS_PER_DAY
        budget, flagged = float(det.alarms_per_day), int(det.labels_.sum())
        if events and events > budget * days:
            warnings.warn(f"the training data's own scores cross the threshold in {events} event(s) "
                          f"({events / days:.3g} a day; budget {budget:g}) on {flagged} of "
                          f"{det.labels_.size} samples: it holds anomalies or heavier tails than its held-out part "
                          "showed, and new normal data may raise more false alarms than the budget (labels_ marks "
                          "them)", FitWarning, stacklevel=4)


__all__ = ["GLITCH_RANGES", "HELD_OUT_SPAN", "MAX_HELD_OUT", "MAX_HELD_OUT_DAY", "WINDOW_MARGIN", "DetectorFit",
           "FitWarning", "check_family"]
