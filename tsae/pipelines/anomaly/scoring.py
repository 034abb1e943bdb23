"""The block-wise scoring core shared by the batch detector and the streaming monitor.

:class:`ScoringCore` turns raw sensor rows into per-sample anomaly scores and per-sensor
contributions, whatever the block size it is fed: batch scoring pushes everything at
once, the monitor pushes a few rows at a time, and both get the same numbers (see
:mod:`tsae.pipelines.anomaly.detector` for how a sample is scored). :class:`DetectorState` is
what a fitted detector stores to score.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_EPS = 1e-12


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

        With each sensor's normal error level (``contrib_base``: its mean error on normal rows
        the model did not train on, when the detector was cross-fitted), a
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
