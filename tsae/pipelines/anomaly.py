"""Sensor anomaly detection with an autoencoder: the batch :class:`Detector` and its scoring core.

How a sample is scored
----------------------
1. Missing values are repaired: for fitting, NaN runs are interpolated; for scoring
   (batch *and* streaming, so that both agree) a missing value holds the sensor's last
   good value (its training mean before the first one).
2. Each sensor is z-scored with its training mean and standard deviation.
3. The series is cut into windows of ``window`` samples every ``hop`` samples; the
   autoencoder reconstructs each window, and a linear (PCA) reconstruction of the same
   window is computed beside it (``linear=True``; the AE's error and ``linear_weight``
   times the PCA's error are added).
4. The squared reconstruction error of each sample and sensor is divided by the mean
   training error (per sensor with ``error_norm=True``, one common scale by default) and
   averaged over the windows that cover the sample (overlap-add).
5. A moving average over ``smooth`` samples, centred on the sample (``centered=True``,
   which delays a streamed score by ``smooth // 2`` more samples) or trailing (causal).
6. The score of a sample is the mean over sensors of that error; a sensor's
   *contribution* is its share of the sum (contributions sum to 1).

A sample's score is final once the last window covering it has been seen and, with
centred smoothing, ``smooth // 2`` more (``window - 1 + smooth // 2`` samples later at most); the trailing samples that no full window covers
(fewer than ``hop``) repeat the last final score; the smoothing of the first samples
averages what exists so far. The same code (:class:`ScoringCore`) runs in batch
(:meth:`Detector.decision_function`) and in the streaming monitor, with the network in
float64 on the CPU, so online scores equal batch scores (to ~1e-12; a CUDA batch run
computes in float32 and agrees to ~1e-6 relative).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tsae.models.device import torch_threads
from tsae.pipelines.thresholds import Threshold, fit_threshold

DETECTOR_KIND = "tsae-detector"
DETECTOR_VERSION = 1
_EPS = 1e-12


# ----------------------------------------------------------------------------- helpers
def dominant_period(x: np.ndarray, low: int = 8, high: int = 128, min_corr: float = 0.2,
                    default: int = 32) -> int:
    """Pick a window length from the data's dominant period (autocorrelation peak).

    Parameters
    ----------
    x
        ``(n_samples, n_sensors)`` array (NaN-free).
    low, high
        The returned length is clamped to ``[low, high]``.
    min_corr
        If no sensor's autocorrelation peak reaches this, ``default`` is returned.

    Examples
    --------
    >>> t = np.arange(2000)
    >>> dominant_period(np.sin(2 * np.pi * t / 50)[:, None])
    50
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    best: tuple[float, int] | None = None
    for column in x.T:
        v = column - column.mean()
        if n < 2 * low or not np.any(v):
            continue
        spectrum = np.fft.rfft(v, 2 * n)
        ac = np.fft.irfft(spectrum * np.conj(spectrum))[: n // 2]
        if ac[0] <= 0:
            continue
        ac = ac / ac[0]
        # the dominant period is the highest autocorrelation peak after its first zero crossing
        negative = np.flatnonzero(ac < 0)
        if negative.size == 0:
            continue
        start = int(negative[0])
        if start + 2 >= ac.size:
            continue
        k = int(np.argmax(ac[start:])) + start
        if best is None or ac[k] > best[0]:
            best = (float(ac[k]), k)
    if best is None or best[0] < min_corr:
        return int(np.clip(default, low, high))
    return int(np.clip(best[1], low, high))


def fill_forward(x: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Replace NaN/inf in ``x`` (n, C) by the last good value per column.

    ``last`` (C,) holds the value carried in from earlier blocks. Returns the repaired
    copy, the new carry, and how many values were repaired.
    """
    bad = ~np.isfinite(x)
    if not bad.any():
        return x, (x[-1].copy() if len(x) else last), 0
    x = x.copy()
    n = x.shape[0]
    index = np.where(~bad, np.arange(n)[:, None], -1)
    np.maximum.accumulate(index, axis=0, out=index)
    filled = np.where(index >= 0, x[np.maximum(index, 0), np.arange(x.shape[1])], last[None, :])
    x = np.where(bad, filled, x)
    return x, x[-1].copy(), int(bad.sum())


def _interpolate_missing(x: np.ndarray) -> np.ndarray:
    """Interpolate NaN runs per sensor (x is (n, C)); edges take the nearest good value."""
    try:
        from tsae.engine.preprocess import repair_missing  # the engine's repair, when present
    except ImportError:  # pragma: no cover - engine not installed yet
        repair_missing = None
    x = np.array(x, dtype=np.float64)
    x[~np.isfinite(x)] = np.nan
    if not np.isnan(x).any():
        return x
    if repair_missing is not None:
        try:
            repaired = np.asarray(repair_missing(x.T, method="linear"), dtype=np.float64).T
            if repaired.shape == x.shape and np.isfinite(repaired).all():
                return repaired
        except Exception:
            pass
    t = np.arange(x.shape[0])
    for c in range(x.shape[1]):
        good = np.isfinite(x[:, c])
        if good.any():
            x[~good, c] = np.interp(t[~good], t[good], x[good, c])
        else:
            x[:, c] = 0.0
    return x


def _smooth_length(value: int | str | None, window: int) -> int:
    """``"window"`` -> window, ``"2*window"`` -> 2 * window, a number -> itself (>= 1)."""
    if value is None:
        return 1
    if isinstance(value, str):
        text = value.replace(" ", "").lower()
        if text.endswith("window"):
            factor = text[: -len("window")].rstrip("*") or "1"
            try:
                return max(1, int(round(float(factor) * window)))
            except ValueError:
                raise ValueError(f"smooth={value!r}: use a number of samples or 'k*window'") from None
        value = int(text)
    return max(1, int(value))


def as_matrix(X: Any, sensors: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Coerce ``X`` to a float64 ``(n_samples, n_sensors)`` array and sensor names.

    Accepts numpy arrays (1-D means one sensor) and pandas DataFrames (names from the columns).
    """
    names = list(sensors) if sensors is not None else None
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        if names is None:
            names = [str(c) for c in X.columns]
        X = X.to_numpy(dtype=np.float64, na_value=np.nan)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must be (n_samples, n_sensors), got shape {X.shape}")
    if names is None:
        names = [f"s{i}" for i in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise ValueError(f"{len(names)} sensor names for {X.shape[1]} columns")
    return X, names


class _OverlapMean:
    """Streaming mean of per-frame, per-sample errors over the frames covering each sample.

    Frames start at 0, hop, 2*hop, ...; a sample is final once the next frame to come
    starts after it. Holds at most ``window`` pending rows.
    """

    def __init__(self, window: int, hop: int, channels: int) -> None:
        self.window, self.hop, self.channels = window, hop, channels
        self.base = 0  # global index of acc[0] (= first sample not yet emitted)
        self.acc = np.zeros((0, channels))
        self.cnt = np.zeros(0)

    def push(self, starts: np.ndarray, errors: np.ndarray, next_start: int) -> np.ndarray:
        """Add frame errors ``(F, window, C)`` for frames at global ``starts``; return final rows."""
        if len(starts):
            need = int(starts[-1]) + self.window - self.base
            if need > len(self.acc):
                grow = need - len(self.acc)
                self.acc = np.concatenate([self.acc, np.zeros((grow, self.channels))])
                self.cnt = np.concatenate([self.cnt, np.zeros(grow)])
            rel = starts - self.base
            if len(rel) < self.window:  # few frames (streaming): one slice per frame
                for k, r in enumerate(rel.tolist()):
                    self.acc[r: r + self.window] += errors[k]
                    self.cnt[r: r + self.window] += 1.0
            else:  # many frames (batch): one fancy-indexed add per window offset
                for j in range(self.window):  # rows rel + j are distinct within one j
                    self.acc[rel + j] += errors[:, j]
                    self.cnt[rel + j] += 1.0
        done = max(0, min(next_start - self.base, len(self.acc)))
        out = self.acc[:done] / self.cnt[:done, None]
        self.acc = self.acc[done:]
        self.cnt = self.cnt[done:]
        self.base += done
        return out


class _MovingMean:
    """Moving average over ``k`` rows, carried across blocks; centred or trailing (causal).

    Centred: row ``t`` averages rows ``[t - k + 1 + k // 2, t + k // 2]`` and is returned once
    row ``t + k // 2`` has arrived (``k // 2`` rows of delay); trailing: ``[t - k + 1, t]``.
    Windows are clipped at the start and, at :meth:`flush`, at the end of the data.
    """

    def __init__(self, k: int, channels: int, centered: bool = True) -> None:
        self.k = max(1, int(k))
        self.ahead = self.k // 2 if centered else 0
        self.behind = self.k - 1 - self.ahead
        self.buf = np.zeros((0, channels))  # `behind` rows already returned + the pending rows
        self.pending = 0

    def _emit(self, data: np.ndarray, count: int, end: int) -> np.ndarray:
        first = len(data) - self.pending
        idx = np.arange(first, first + count)
        lo = np.maximum(0, idx - self.behind)
        hi = np.minimum(end, idx + self.ahead + 1)
        csum = np.concatenate([np.zeros((1, data.shape[1])), np.cumsum(data, axis=0)])
        out = (csum[hi] - csum[lo]) / (hi - lo)[:, None]
        keep_from = max(0, first + count - self.behind)
        self.buf = data[keep_from:]
        self.pending -= count
        return out

    def push(self, rows: np.ndarray) -> np.ndarray:
        if self.k == 1:
            return rows
        data = np.concatenate([self.buf, rows]) if len(self.buf) else rows
        self.pending += len(rows)
        return self._emit(data, max(0, self.pending - self.ahead), len(data))

    def flush(self) -> np.ndarray:
        if self.k == 1 or self.pending == 0:
            return np.zeros((0, self.buf.shape[1]))
        return self._emit(self.buf, self.pending, len(self.buf))


class ScoringCore:
    """Block-wise scoring shared by batch scoring and the streaming monitor.

    Feed raw rows ``(n, n_sensors)`` with :meth:`push` (any block size, NaN allowed);
    it returns ``(scores, contributions)`` for the rows whose score became final.
    :meth:`flush` scores the trailing rows at the end of the data.
    """

    def __init__(self, state: "DetectorState", device: Any = "cpu", batch_frames: int = 4096) -> None:
        import torch

        from tsae.models.device import resolve_device

        self.state = state
        self.device = resolve_device(device)
        # float64 on the CPU: a window's reconstruction then does not depend (to ~1e-12) on how many
        # windows share a model call, so streaming (small calls) equals batch (large calls)
        self.dtype = torch.float64 if self.device.type == "cpu" else torch.float32
        model = state.model
        if self.dtype == torch.float64:
            import copy

            model = copy.deepcopy(model).to(dtype=torch.float64)
        self.model = model.to(self.device).eval()
        self.window, self.hop = state.window, state.hop
        self.channels = state.channels
        self.batch_frames = batch_frames
        self._torch = torch
        self.last_good = state.mean.copy()
        self.buffer = np.zeros((0, self.channels))  # normalised samples from self.buffer_start on
        self.buffer_start = 0
        self.next_frame = 0
        self.seen = 0
        self.repaired = 0
        self.ola = _OverlapMean(self.window, self.hop, self.channels)
        self.smoother = _MovingMean(state.smooth, self.channels, centered=state.centered)
        self.last_raw: np.ndarray | None = None  # last overlap-added error row (before smoothing)

    def _reconstruct(self, frames: np.ndarray) -> np.ndarray:
        """Per-frame, per-sample, per-sensor normalised squared error ``(F, L, C)``."""
        torch = self._torch
        st = self.state
        errors = np.empty_like(frames)
        with torch.inference_mode():
            for lo in range(0, len(frames), self.batch_frames):
                chunk = frames[lo: lo + self.batch_frames]
                x = torch.from_numpy(np.ascontiguousarray(chunk.transpose(0, 2, 1)))
                y = self.model(x.to(self.device, self.dtype)).cpu().numpy().astype(np.float64, copy=False)
                errors[lo: lo + len(chunk)] = (y.transpose(0, 2, 1) - chunk) ** 2 / st.err_scale
        if st.pca_components is not None:
            flat = frames.transpose(0, 2, 1).reshape(len(frames), -1) - st.pca_mean
            recon = (flat @ st.pca_components.T) @ st.pca_components
            lin = ((flat - recon) ** 2).reshape(len(frames), self.channels, self.window).transpose(0, 2, 1)
            errors += st.linear_weight * lin / st.pca_err_scale
        return errors

    @property
    def last_row(self) -> np.ndarray | None:
        return self._last_row if hasattr(self, "_last_row") else None

    def _finish(self, rows: np.ndarray, final: bool = False) -> tuple[np.ndarray, np.ndarray]:
        if len(rows):
            self.last_raw = rows[-1].copy()
        rows = self.smoother.push(rows)
        if final:
            rows = np.concatenate([rows, self.smoother.flush()])
        if len(rows):
            self._last_row = rows[-1].copy()
        total = rows.sum(axis=1)
        scores = total / self.channels
        return scores, self._contributions(rows, total)

    def _contributions(self, rows: np.ndarray, total: np.ndarray) -> np.ndarray:
        """Each sensor's share of what is abnormal in a row (shares sum to 1).

        With the per-sensor normal error levels of the training data (``contrib_base``), a
        sensor's share is its error in excess of its own normal level, so a quiet sensor that
        goes wrong outranks a noisy one that is as noisy as usual; rows with no excess (normal
        rows) fall back to the error ratios. Without them, shares of the raw error.
        """
        base = self.state.contrib_base
        if base is None:
            return rows / np.maximum(total, _EPS)[:, None]
        ratio = rows / base
        excess = np.maximum(ratio - 1.0, 0.0)
        excess_total = excess.sum(axis=1)
        weights = np.where((excess_total > _EPS)[:, None], excess, ratio)
        return weights / np.maximum(weights.sum(axis=1), _EPS)[:, None]

    def push(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score the next rows; return ``(scores (m,), contributions (m, C))`` of the rows now final."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels} sensors per row, got {x.shape[1]}")
        if len(x) == 0:
            return np.zeros(0), np.zeros((0, self.channels))
        x, self.last_good, fixed = fill_forward(x, self.last_good)
        self.repaired += fixed
        z = (x - self.state.mean) / self.state.std
        self.buffer = np.concatenate([self.buffer, z]) if len(self.buffer) else z
        self.seen += len(x)
        L, hop = self.window, self.hop
        last_start = self.seen - L
        if last_start >= self.next_frame:
            starts = np.arange(self.next_frame, last_start + 1, hop)
            view = np.lib.stride_tricks.sliding_window_view(self.buffer, L, axis=0)  # (n-L+1, C, L)
            frames = view[starts - self.buffer_start].transpose(0, 2, 1)  # (F, L, C)
            errors = self._reconstruct(np.ascontiguousarray(frames))
            self.next_frame = int(starts[-1]) + hop
        else:
            starts = np.zeros(0, dtype=np.int64)
            errors = np.zeros((0, L, self.channels))
        rows = self.ola.push(starts, errors, self.next_frame)
        drop = min(self.next_frame, self.seen) - self.buffer_start
        if drop > 0:
            self.buffer = self.buffer[drop:]
            self.buffer_start += drop
        return self._finish(rows)

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """End of data: final scores of the pending rows.

        Rows covered by some window get their overlap mean; the trailing rows no full
        window covers (fewer than ``hop``) repeat the last overlap-added error row; then the
        smoothing is flushed. With fewer rows than one window in total, the scores are NaN.
        """
        pending = self.seen - self.ola.base
        if pending <= 0:
            return np.zeros(0), np.zeros((0, self.channels))
        covered = self.ola.push(np.zeros(0, dtype=np.int64), np.zeros((0, self.window, self.channels)),
                                self.ola.base + len(self.ola.acc))
        n_fill = pending - len(covered)
        self.ola.base += n_fill
        if n_fill and len(covered) == 0 and self.last_raw is None:  # shorter than one window
            return np.full(n_fill, np.nan), np.full((n_fill, self.channels), np.nan)
        if n_fill:
            last = covered[-1] if len(covered) else self.last_raw
            covered = np.concatenate([covered, np.tile(last, (n_fill, 1))])
        return self._finish(covered, final=True)


class DetectorState:
    """Everything a fitted detector needs to score (what the detector file stores)."""

    def __init__(self, model: Any, window: int, hop: int, mean: np.ndarray, std: np.ndarray,
                 err_scale: np.ndarray, pca_components: np.ndarray | None, pca_mean: np.ndarray | None,
                 pca_err_scale: np.ndarray | None, linear_weight: float, smooth: int,
                 centered: bool = True, contrib_base: np.ndarray | None = None) -> None:
        self.model = model
        self.window, self.hop = int(window), int(hop)
        self.mean, self.std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
        self.channels = len(self.mean)
        self.err_scale = np.asarray(err_scale, np.float64)
        self.pca_components = None if pca_components is None else np.asarray(pca_components, np.float64)
        self.pca_mean = None if pca_mean is None else np.asarray(pca_mean, np.float64)
        self.pca_err_scale = None if pca_err_scale is None else np.asarray(pca_err_scale, np.float64)
        self.linear_weight = float(linear_weight)
        self.smooth = int(smooth)
        self.centered = bool(centered)
        # per-sensor mean (smoothed) error on the training data: the normal level for attribution
        self.contrib_base = None if contrib_base is None else np.maximum(np.asarray(contrib_base, np.float64), _EPS)


# ----------------------------------------------------------------------------- the detector
class Detector:
    """Autoencoder anomaly detector for multichannel sensor series, with PyOD's interface.

    ``X`` is always ``(n_samples, n_sensors)`` (a 1-D array is one sensor), as in PyOD;
    a pandas DataFrame's columns name the sensors. NaNs are repaired (see the module
    docstring). Scores are per row: higher = more anomalous.

    Parameters
    ----------
    model
        Autoencoder family (``tsae models`` lists them): ``"conv1d"``, ``"lstm"``, ``"transformer"``, ``"vae"``...
    window
        Window length in samples, or ``"auto"`` (the dominant period of the training data,
        clamped to [8, 128]).
    hop
        Scoring hop (samples between windows); None means ``max(1, window // 8)``.
    threshold
        ``"pot"`` (peaks over threshold, false-alarm rate ``risk``), ``"quantile"`` (``q``
        quantile of the training scores) or a number.
    risk, q
        Parameters of the threshold methods.
    smooth
        Moving average of the per-sample errors, in samples, or ``"k*window"`` (default
        ``"2*window"``: anomaly labels span many samples; 1 turns smoothing off).
    linear, linear_weight
        Add ``linear_weight`` times a linear (PCA, ``pca_variance`` of the variance) reconstruction
        error to the AE's.
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
        Where the threshold and the sensors' normal error levels come from. ``"crossfit"``
        (default): each half of the training rows is scored by a model trained on the other
        half (two extra, smaller trainings), so they reflect errors on unseen normal data, which
        are higher than in-sample ones; ``"training"``: the in-sample scores (faster, more
        false alarms). Short data (under 8 windows) always uses the in-sample scores.
    threads
        Torch CPU threads while fitting and scoring (1 is fastest for these small networks;
        None leaves torch's setting).

    Attributes
    ----------
    threshold_ : float
        Scores above it are anomalies (``predict``).
    decision_scores_ : ndarray (n_samples,)
        Scores of the training data.
    labels_ : ndarray (n_samples,)
        ``predict`` of the training data.
    window_, hop_ : int
        The window and hop in use.
    sensors_ : list of str

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(1200)
    >>> X = np.c_[np.sin(2 * np.pi * t / 40), np.cos(2 * np.pi * t / 40)] + 0.05 * rng.normal(size=(1200, 2))
    >>> det = Detector(window=40, epochs=5, device="cpu").fit(X[:800])
    >>> X[1000:1010, 0] += 3.0
    >>> scores = det.decision_function(X)
    >>> bool(scores[1000:1010].mean() > 5 * np.median(scores))
    True
    """

    def __init__(
        self, model: str = "conv1d", window: int | str = "auto", hop: int | None = None,
        threshold: str | float = "pot", risk: float = 1e-3, q: float = 0.995,
        smooth: int | str = "2*window", linear: bool = True, pca_variance: float = 0.95,
        linear_weight: float = 3.0, model_params: dict[str, Any] | None = None, epochs: int = 40,
        batch_size: int = 32, lr: float = 1e-3, patience: int = 8, max_train_windows: int = 20000,
        device: str = "auto", seed: int = 0, quiet: bool = True, merge_gap: int | None = None,
        threads: int | None = 1, error_norm: bool = False, centered: bool = True,
        calibration: str = "crossfit",
    ) -> None:
        if calibration not in ("crossfit", "training"):
            raise ValueError(f"calibration={calibration!r} must be 'crossfit' or 'training'")
        self.model = model
        self.window = window
        self.hop = hop
        self.threshold = threshold
        self.calibration = calibration
        self.risk, self.q = risk, q
        self.smooth = smooth
        self.linear = linear
        self.pca_variance = pca_variance
        self.linear_weight = linear_weight
        self.model_params = dict(model_params or {})
        self.epochs, self.batch_size, self.lr, self.patience = epochs, batch_size, lr, patience
        self.max_train_windows = max_train_windows
        self.device = device
        self.seed = seed
        self.quiet = quiet
        self.merge_gap = merge_gap
        self.threads = threads
        self.error_norm = error_norm
        self.centered = centered
        self.state_: DetectorState | None = None

    # -- defaults -------------------------------------------------------------
    @staticmethod
    def default_model_params(family: str, channels: int, window: int) -> dict[str, Any]:
        """Small, fast networks: the training series are short (hundreds of rows)."""
        if family == "conv1d":  # one strided level, a code as wide as the PCA rank, denoising training
            return {"depth": 1, "hidden": 32, "kernel": 5, "latent": "auto", "regularizer": "denoising",
                    "reg_weight": 0.1}
        if family == "vae":
            return {"depth": 1, "hidden": 16, "kernel": 5, "latent": "auto", "beta": 0.1}
        return {}

    # -- fitting ----------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, sensors: Sequence[str] | None = None) -> "Detector":
        """Learn normal behaviour from ``X`` (n_samples, n_sensors); ``y`` is ignored (PyOD)."""
        with torch_threads(self.threads):
            return self._fit(X, sensors)

    def _fit(self, X: Any, sensors: Sequence[str] | None) -> "Detector":
        X, names = as_matrix(X, sensors)
        if X.shape[0] < 4:
            raise ValueError(f"need at least 4 training rows, got {X.shape[0]}")
        if not np.isfinite(X).any(axis=0).all():
            bad = [names[i] for i in np.flatnonzero(~np.isfinite(X).any(axis=0))]
            raise ValueError(f"sensor(s) with no valid value in the training data: {', '.join(bad)}")
        X = _interpolate_missing(X)
        n, channels = X.shape
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        std[~(std > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0
        Z = (X - mean) / std
        if self.window == "auto" or self.window is None:
            window = dominant_period(Z)
            window = max(2, min(window, n // 4))
        else:
            window = int(self.window)
            if window < 2:
                raise ValueError(f"window={self.window!r} must be >= 2")
        if window > n:
            raise ValueError(f"window {window} is longer than the training data ({n} rows)")
        hop = int(self.hop) if self.hop else max(1, window // 8)
        if hop < 1 or hop > window:
            raise ValueError(f"hop={hop} must be in [1, window={window}]")
        smooth = _smooth_length(self.smooth, window)

        self.state_ = self._train_state(Z, window, hop, smooth, mean, std, record=True)
        self.sensors_ = names
        self.window_, self.hop_, self.smooth_ = window, hop, smooth
        self.family_ = self.model
        self.n_features_in_ = channels
        self.decision_scores_, contrib = self._score_state(self.state_, X)

        # Calibration: what "normal" looks like on data the model has not seen. In-sample errors
        # are lower than errors on new normal data (the network fits its training noise), so a
        # threshold on them raises false alarms; cross-fitting scores each half of the training
        # rows with a model trained on the other half.
        half = n // 2
        if self.calibration == "crossfit" and min(half, n - half) >= 4 * window:
            scores, contribs = [], []
            for fit_rows, score_rows in ((slice(half, n), slice(0, half)), (slice(0, half), slice(half, n))):
                fold = self._train_state(Z[fit_rows], window, hop, smooth, mean, std)
                fold_scores, fold_contrib = self._score_state(fold, X)
                scores.append(fold_scores[score_rows])
                contribs.append(fold_contrib[score_rows])
            calib_scores, calib_contrib, source = np.concatenate(scores), np.concatenate(contribs), "crossfit"
        else:
            calib_scores, calib_contrib, source = self.decision_scores_, contrib, "training"
        errors = calib_contrib * (calib_scores * channels)[:, None]  # per-sensor smoothed error rows
        self.state_.contrib_base = np.maximum(np.nanmean(errors, axis=0), _EPS)
        self.calibration_scores_ = calib_scores
        self.threshold_obj_ = fit_threshold(calib_scores, self.threshold, risk=self.risk, q=self.q)
        self.threshold_obj_.params["scores"] = source
        self.threshold_ = self.threshold_obj_.value
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)
        return self

    def _train_state(self, Z: np.ndarray, window: int, hop: int, smooth: int, mean: np.ndarray,
                     std: np.ndarray, record: bool = False) -> "DetectorState":
        """Train the network (and the linear term) on normalised rows ``Z``; return a scoring state."""
        import torch

        from tsae.models.trainer import TrainConfig, train_model
        from tsae.plugins import create_model

        channels = Z.shape[1]
        # training windows: every position (capped), shape (N, C, L)
        frames = np.lib.stride_tricks.sliding_window_view(Z, window, axis=0)  # (n-L+1, C, L)
        stride = max(1, math.ceil(len(frames) / self.max_train_windows))
        windows = np.ascontiguousarray(frames[::stride], dtype=np.float32)

        # principal components of the training windows: the linear term, and the AE's code size
        step = max(1, math.ceil(len(windows) / 4000))  # cap the SVD's cost
        flat = windows[::step].reshape(-(-len(windows) // step), -1).astype(np.float64)
        pca_mean = flat.mean(axis=0)
        _, sv, vt = np.linalg.svd(flat - pca_mean, full_matrices=False)
        var = sv ** 2
        k = min(int(np.searchsorted(np.cumsum(var) / max(var.sum(), _EPS), self.pca_variance) + 1), len(vt))

        params = {**self.default_model_params(self.model, channels, window), **self.model_params}
        if params.get("latent") == "auto":  # as many codes as principal components for pca_variance
            params["latent"] = int(np.clip(k, 4, 128))
        net = create_model(self.model, channels=channels, window=window, **params)
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                             patience=self.patience, seed=self.seed, device=self.device, quiet=self.quiet,
                             weight_decay=1e-5)
        result = train_model(net, windows, config)
        net = result.model.to("cpu").eval()
        if record:
            self.pca_rank_ = k
            self.model_params_ = params
            self.train_info_ = {"epochs_run": result.epochs_run, "best_val_loss": result.best_val_loss,
                                "seconds": result.seconds, "device": result.device, "windows": len(windows)}

        # per-sensor error scales on the training windows
        with torch.inference_mode():
            recon = np.concatenate([
                net(torch.from_numpy(windows[i: i + 4096])).numpy() for i in range(0, len(windows), 4096)
            ]).astype(np.float64)
        err_scale = ((recon - windows) ** 2).mean(axis=(0, 2)) + 1e-6
        if not self.error_norm:  # one common scale: sensors keep their relative error sizes
            err_scale = np.full(channels, err_scale.mean())
        components = pca_scale = None
        if self.linear:
            centred = flat - pca_mean
            components = vt[:k]
            resid = centred - (centred @ components.T) @ components
            pca_scale = (resid.reshape(len(flat), channels, window) ** 2).mean(axis=(0, 2)) + 1e-6
            if not self.error_norm:
                pca_scale = np.full(channels, pca_scale.mean())
        else:
            pca_mean = None
        return DetectorState(net, window, hop, mean, std, err_scale, components, pca_mean, pca_scale,
                             self.linear_weight, smooth, centered=self.centered)

    def _score_state(self, state: "DetectorState", X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        core = ScoringCore(state, device=self.device)
        s1, c1 = core.push(X)
        s2, c2 = core.flush()
        return np.concatenate([s1, s2]), np.concatenate([c1, c2])

    # -- scoring ----------------------------------------------------------------
    def _check(self) -> DetectorState:
        if self.state_ is None:
            raise RuntimeError("this Detector is not fitted yet: call fit(X) or Detector.load(path)")
        return self.state_

    def _matrix(self, X: Any) -> np.ndarray:
        state = self._check()
        if hasattr(X, "columns") and hasattr(X, "to_numpy"):
            missing = [s for s in self.sensors_ if s not in X.columns]
            if missing:
                raise ValueError(f"missing sensor column(s): {', '.join(missing)}")
            X = X[self.sensors_]
        X, _ = as_matrix(X)
        if X.shape[1] != state.channels:
            raise ValueError(f"X has {X.shape[1]} sensors, the detector was fitted on {state.channels}")
        return X

    def core(self, device: Any = "cpu") -> ScoringCore:
        """A fresh streaming :class:`ScoringCore` for this detector."""
        return ScoringCore(self._check(), device=device)

    def score_with_contributions(self, X: Any, device: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-row scores ``(n,)`` and per-sensor contributions ``(n, n_sensors)`` (shares, sum 1)."""
        X = self._matrix(X)
        if len(X) < self.window_:
            raise ValueError(f"{len(X)} rows is shorter than the detector's window ({self.window_})")
        with torch_threads(self.threads):
            core = self.core(device=self.device if device is None else device)
            s1, c1 = core.push(X)
            s2, c2 = core.flush()
        return np.concatenate([s1, s2]), np.concatenate([c1, c2])

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly score of each row of ``X`` (n_samples, n_sensors); higher = more anomalous."""
        return self.score_with_contributions(X)[0]

    score = decision_function

    def contributions(self, X: Any) -> np.ndarray:
        """Each sensor's share of each row's score, ``(n_samples, n_sensors)``."""
        return self.score_with_contributions(X)[1]

    def predict(self, X: Any) -> np.ndarray:
        """0/1 per row: 1 where the score exceeds ``threshold_``."""
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).labels_

    @property
    def event_gap(self) -> int:
        return int(self.window_ if self.merge_gap is None else self.merge_gap)

    # -- persistence ------------------------------------------------------------
    def save(self, path: str | Path, *, protect: Sequence[str | Path] = ()) -> Path:
        """Write the fitted detector to one tsae model file (``.tsae``)."""
        from tsae.models.modelfile import save_model

        state = self._check()
        arrays = {"mean": state.mean, "std": state.std, "err_scale": state.err_scale,
                  "decision_scores": self.decision_scores_.astype(np.float64)}
        if state.contrib_base is not None:
            arrays["contrib_base"] = state.contrib_base
        if state.pca_components is not None:
            arrays.update(pca_components=state.pca_components, pca_mean=state.pca_mean,
                          pca_err_scale=state.pca_err_scale)
        extra = {
            "kind": DETECTOR_KIND, "version": DETECTOR_VERSION, "sensors": list(self.sensors_),
            "threshold": self.threshold_obj_.to_dict(), "smooth": state.smooth, "centered": state.centered,
            "linear_weight": state.linear_weight, "merge_gap": self.merge_gap,
            "settings": {"model": self.model, "window": self.window, "hop": self.hop,
                         "threshold": self.threshold if isinstance(self.threshold, str) else float(self.threshold),
                         "risk": self.risk, "q": self.q, "linear": self.linear, "pca_variance": self.pca_variance,
                         "error_norm": self.error_norm, "calibration": self.calibration,
                         "model_params": self.model_params_,
                         "epochs": self.epochs, "seed": self.seed},
            "train": getattr(self, "train_info_", {}),
        }
        normalizer = {"method": "zscore", "center": state.mean.tolist(), "scale": state.std.tolist()}
        return save_model(path, state.model, frame={"window": state.window, "hop": state.hop, "window_fn": None},
                          normalizer=normalizer, extra=extra, arrays=arrays, protect=tuple(protect))

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> "Detector":
        """Read a detector file written by :meth:`save` (``tsae detect fit``)."""
        from tsae.models.modelfile import load_model

        loaded = load_model(path, device="cpu")
        extra = loaded.extra or {}
        if extra.get("kind") != DETECTOR_KIND:
            raise ValueError(f"{path}: not a tsae detector file (a plain {loaded.family} model file?)")
        arrays = loaded.arrays
        try:
            frame = loaded.frame or {}
            state = DetectorState(
                loaded.model, int(frame["window"]), int(frame["hop"]), arrays["mean"], arrays["std"],
                arrays["err_scale"], arrays.get("pca_components"), arrays.get("pca_mean"),
                arrays.get("pca_err_scale"), float(extra.get("linear_weight", 1.0)), int(extra.get("smooth", 1)),
                centered=bool(extra.get("centered", False)), contrib_base=arrays.get("contrib_base"),
            )
            threshold = Threshold.from_dict(extra["threshold"])
            sensors = [str(s) for s in extra["sensors"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: detector file is incomplete ({error})") from None
        base_shape = state.contrib_base.shape if state.contrib_base is not None else (state.channels,)
        if len(sensors) != state.channels or state.err_scale.shape != (state.channels,) \
                or base_shape != (state.channels,):
            raise ValueError(f"{path}: detector file is inconsistent (sensors vs arrays)")
        settings = extra.get("settings", {})
        det = cls(model=loaded.family, window=state.window, hop=state.hop, smooth=state.smooth,
                  threshold=settings.get("threshold", threshold.method), device=device,
                  merge_gap=extra.get("merge_gap"))
        det.state_ = state
        det.sensors_ = sensors
        det.window_, det.hop_, det.smooth_ = state.window, state.hop, state.smooth
        det.family_ = loaded.family
        det.model_params_ = loaded.hparams
        det.n_features_in_ = state.channels
        det.threshold_obj_ = threshold
        det.threshold_ = threshold.value
        det.decision_scores_ = np.asarray(arrays.get("decision_scores", np.zeros(0)), np.float64)
        det.labels_ = (det.decision_scores_ > det.threshold_).astype(np.int64)
        det.path_ = Path(path)
        return det

    def __repr__(self) -> str:
        fitted = "" if self.state_ is None else f", fitted on {len(self.sensors_)} sensors"
        return f"Detector(model={self.model!r}, window={self.window!r}{fitted})"


# ----------------------------------------------------------------------------- file pipelines
def _progress(message: str, quiet: bool) -> None:
    import sys

    if not quiet:
        print(message, file=sys.stderr)


def fit_detector_file(train_path: str | Path, output: str | Path, *, model: str = "conv1d",
                      window: int | str = "auto", threshold: str | float = "pot", device: str = "auto",
                      quiet: bool = False, epochs: int = 40, **options: Any) -> Detector:
    """Fit a :class:`Detector` on a CSV of normal data and write it to ``output`` (``tsae detect fit``).

    The CSV has one column per sensor; a time column and a ``label`` column are recognised and
    not used as sensors. Missing cells are interpolated.
    """
    from tsae.io.tables import read_table

    train_path, output = Path(train_path), Path(output)
    table = read_table(train_path)
    if len(table) < 4:
        raise ValueError(f"{train_path}: too few rows to learn from ({len(table)})")
    det = Detector(model=model, window=window, threshold=threshold, device=device, quiet=quiet,
                   epochs=epochs, **options)
    try:
        det.fit(table.values.T, sensors=table.columns)
    except ValueError as error:
        raise ValueError(f"{train_path}: {error}") from None
    det.save(output, protect=(train_path,))
    _progress(f"{output}: {det.family_} detector on {len(det.sensors_)} sensor(s), window {det.window_}, "
              f"hop {det.hop_}, threshold {det.threshold_:.4g} ({det.threshold_obj_.method})", quiet)
    return det


def score_file(test_path: str | Path, detector: str | Path | Detector, output: str | Path, *,
               plot: str | Path | None = None, events: str | Path | None = None, device: str = "auto",
               quiet: bool = False) -> dict[str, Any]:
    """Score a CSV with a fitted detector (``tsae detect score``).

    Writes ``output`` (CSV: the time column when the input had one, ``score``, ``anomaly``
    0/1, ``contrib_<sensor>`` shares), the events (``.json`` or ``.csv``; default
    ``<output stem>.events.json`` beside it) and optionally a plot (PNG/PDF/SVG).
    Returns a summary dict.
    """
    from tsae.io.tables import read_table, write_table
    from tsae.pipelines.events import find_events, write_events

    test_path, output = Path(test_path), Path(output)
    det = detector if isinstance(detector, Detector) else Detector.load(detector, device=device)
    det.device = device
    table = read_table(test_path)
    columns = list(table.columns)
    missing = [s for s in det.sensors_ if s not in columns]
    if missing:
        if len(columns) == len(det.sensors_) and not set(columns) & set(det.sensors_):
            order = list(range(len(columns)))  # unnamed / renamed columns: take them in order
        else:
            raise ValueError(f"{test_path}: missing sensor column(s) {', '.join(missing)} "
                             f"(the detector knows {', '.join(det.sensors_)})")
    else:
        order = [columns.index(s) for s in det.sensors_]
    X = table.values[order].T
    if len(X) < det.window_:
        raise ValueError(f"{test_path}: {len(X)} rows is shorter than the detector's window ({det.window_})")
    if not np.isfinite(X).any():
        raise ValueError(f"{test_path}: no valid values")
    scores, contrib = det.score_with_contributions(X)
    flags = (scores > det.threshold_).astype(np.int64)
    time = table.time
    times = None if time is None else [str(v) if isinstance(v, np.datetime64) else v.item() for v in time]
    found = find_events(scores, flags, contrib, det.sensors_, times=times, merge_gap=det.event_gap)
    events_path = Path(events) if events else output.with_name(output.stem + ".events.json")
    out_columns: dict[str, Any] = {"score": scores, "anomaly": flags}
    for i, name in enumerate(det.sensors_):
        out_columns[f"contrib_{name}"] = contrib[:, i]
    protect = (test_path,) + ((det.path_,) if getattr(det, "path_", None) else ())
    for path in [output, events_path, *( [Path(plot)] if plot else [])]:
        for other in protect:
            if Path(other).exists() and path.exists() and path.resolve() == Path(other).resolve():
                raise ValueError(f"{path}: refusing to overwrite an input file")
    if plot:
        from tsae.pipelines.plot import plot_anomalies

        plot_anomalies(plot, X, scores, det.threshold_, found, sensors=det.sensors_, time=time,
                       title=test_path.name)
    write_events(events_path, found, protect=protect)
    write_table(output, out_columns, time=time, time_name=table.time_name, protect=protect)
    summary = {"rows": int(len(X)), "anomalous_rows": int(flags.sum()), "events": len(found),
               "threshold": float(det.threshold_), "output": str(output), "events_file": str(events_path)}
    _progress(f"{output}: {summary['rows']} rows, {summary['anomalous_rows']} flagged, "
              f"{summary['events']} event(s) -> {events_path}", quiet)
    return summary
