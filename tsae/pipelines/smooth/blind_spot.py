"""The blind-spot predictor of :func:`~tsae.pipelines.smooth.smoother.smooth`: each sample from its neighbours only.

A linear blind-spot filter is solved in closed form (the least-squares mixture of leave-one-out
local-polynomial smoothers of many widths, ridge chosen by blocked cross-validation); the registered
``blind_spot`` network (:func:`~tsae.plugins.create_model`) may be trained on the residual and added
to it, and is kept only when it cuts the blind-spot loss on held-out blocks of the series. The series
is extended at both ends by an odd reflection (:func:`_pad_odd`), so a prediction near an end
continues the series' trend.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsae.pipelines.smooth.noise_tail import _left_alone

#: samples at each end that the odd reflection's pivot is fitted to
_PIVOT_SAMPLES = 7


def _end_level(head: np.ndarray) -> float:
    """The level of a series at its first sample, from its first samples ``head``: a Theil-Sen line's value there.

    The odd reflection turns about this level: turning about the first sample itself carried that
    sample's noise, doubled, into every reflected sample, and a heavy-tailed noise outlier there
    (7 sigmas) bent the prediction of the series' last few hundred samples.
    """
    m = len(head)
    if m < 3:
        return float(head[0])
    i, j = np.triu_indices(m, 1)
    slope = float(np.median((head[j] - head[i]) / (j - i)))
    return float(np.median(head - slope * np.arange(m)))


def _pad_odd(z: np.ndarray, k: int) -> np.ndarray:
    """``k`` samples more at both ends: odd reflection (continues trends instead of folding them).

    The reflection turns about each end's level (:func:`_end_level`), not about the end sample.
    A series shorter than ``k + 1`` is reflected whole and then held at its last reflected
    value, so the result always has ``len(z) + 2 k`` samples (callers slice by ``k``).
    """
    if k <= 0:
        return z.copy()
    r = min(k, len(z) - 1)
    left = 2 * _end_level(z[:_PIVOT_SAMPLES]) - z[r:0:-1]
    right = 2 * _end_level(z[: -_PIVOT_SAMPLES - 1 : -1]) - z[-2 : -r - 2 : -1]
    return np.pad(np.concatenate([left, z, right]), k - r, mode="edge")


def _hole_fit(w: int, order: int, hole: int) -> np.ndarray:
    """The taps of a local polynomial fit of ``order`` over ``w`` samples, evaluated at the centre, that reads
    none of the ``2 hole + 1`` samples about it (least squares on the others)."""
    x = np.arange(w, dtype=float) - w // 2
    kept = np.abs(x) > hole
    taps = np.zeros(w)
    taps[kept] = np.linalg.pinv(x[kept, None] ** np.arange(order + 1))[0]
    return taps


def _blind_spot_kernels(n: int, hole: int = 0) -> tuple[np.ndarray, int]:
    """Candidate blind-spot filters: leave-one-out local polynomial fits (orders 0, 2, 4)
    over odd windows from 3 to ``~n/4`` samples, each with its centre tap set to 0 and
    renormalised. With a ``hole``, fits that leave out the ``hole`` samples on each side of the centre
    too (coloured noise, :mod:`~tsae.pipelines.smooth.coloured`), over the windows with samples enough left.
    Returns ``(n_kernels, 2k+1)`` and ``k``."""
    from scipy.signal import savgol_coeffs

    top = int(min(max(3, n // 4), 513)) | 1
    widths = sorted({int(w) | 1 for w in np.geomspace(3, top, 14)})
    k = widths[-1] // 2
    kernels = []
    for order in (0, 2, 4):
        for w in widths:
            if w <= order + 2 + 2 * hole:
                continue
            if hole:
                loo = _hole_fit(w, order, hole)
            else:
                c = savgol_coeffs(w, order) if order else np.full(w, 1.0 / w)
                h0 = c[w // 2]
                loo = c.copy()
                loo[w // 2] = 0.0
                loo /= 1.0 - h0
            full = np.zeros(2 * k + 1)
            full[k - w // 2 : k + w // 2 + 1] = loo
            kernels.append(full)
    return np.array(kernels), k


def _padded(z: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """``z`` extended by at least ``k`` samples each side (odd reflection, then edge values) and its offset."""
    zp = _pad_odd(z, k)
    off = (len(zp) - len(z)) // 2
    if off < k:
        zp = np.pad(zp, (k - off, k - off), mode="edge")
        off = k
    return zp, off


def _apply_taps(z: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """The linear blind-spot prediction of a 1-D ``z`` with combined taps from :func:`_linear_blind_spot`."""
    from scipy.signal import fftconvolve

    zp, off = _padded(z, len(taps) // 2)
    return fftconvolve(zp, taps, mode="same")[off : off + len(z)]


#: fits of the linear blind-spot filter again on the samples the edge guard leaves alone
_REFITS = 2


def _linear_blind_spot(z: np.ndarray, ridge: float | None = None, guard: tuple[np.ndarray, float] | None = None,
                       hole: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form blind-spot filter: the least-squares mixture of leave-one-out smoothers.

    Every candidate predicts ``z[t]`` without reading ``z[t]``; their ridge-regularised
    least-squares combination (the optimum of a linear blind-spot layer restricted to
    smooth, symmetric taps, so it cannot shift the signal) is fitted on the series
    itself. The ridge strength (relative to the mean feature energy) is chosen by
    blocked 5-fold cross-validation on the series unless given. With a ``guard`` (the samples
    the edge guard will read and their noise sigma), the filter is fitted again, :data:`_REFITS`
    times, on the samples whose prediction the guard leaves alone (:func:`_left_alone`): the few
    it keeps as features (the corner of a step, far off any smooth fit) pulled the filter fitted
    over the whole series toward narrow windows. ``hole``: the samples on each side of the centre that the
    filter reads none of either (:func:`_blind_spot_kernels`). Returns the prediction and the combined taps
    ``(2k+1,)`` (centre tap 0).
    """
    kernels, k = _blind_spot_kernels(len(z), hole)
    mixture = _Mixture(_candidate_predictions(z, kernels, k), z)
    pred, coef = mixture.fit(None, ridge)
    if guard is not None:
        seen, sigma = guard
        for _ in range(_REFITS):
            rows = _left_alone(seen, sigma, pred)
            if rows.sum() < len(kernels):  # fewer equations than candidates
                break
            pred, coef = mixture.fit(rows, ridge)
    return pred, coef @ kernels


def _candidate_predictions(z: np.ndarray, kernels: np.ndarray, k: int) -> np.ndarray:
    """Every candidate filter's prediction of ``z``: ``(n_kernels, n)``, each row ``z`` convolved with a kernel.

    Overlap-save in blocks of about eight kernel lengths: the blocks' spectra are computed once
    for all the kernels, and short transforms beat one over the whole series many times over.
    """
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy import fft

    n, m = len(z), kernels.shape[1]
    zp, off = _padded(z, k)
    x = zp[off - k : off + n + k]  # prediction t reads x[t : t + m]
    block = fft.next_fast_len(max(8 * (m - 1), m), real=True)
    step = block - (m - 1)
    count = -(-n // step)
    x = np.pad(x, (0, count * step + m - 1 - len(x)))
    spectra = fft.rfft(sliding_window_view(x, block)[::step], axis=-1)
    feats = np.empty((len(kernels), n))
    for i, kernel in enumerate(kernels):
        feats[i] = fft.irfft(spectra * fft.rfft(kernel, block), block, axis=-1)[:, m - 1 :].reshape(-1)[:n]
    return feats


#: ridge strengths (relative to the mean feature energy) that cross-validation chooses from
_RIDGES = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1)


class _Mixture:
    """Ridge least-squares mixtures of the candidate predictions ``every`` ``(K, n)`` fitted to ``z``.

    The ridge is chosen by blocked 5-fold cross-validation unless given: the series is cut in ten
    contiguous chunks, chunk ``c`` in fold ``c % 5``, so the held-out targets' noise barely appears
    in the training rows' features. Each chunk's Gram matrix over all its samples is computed once;
    a fit on fewer rows subtracts the few left out (or sums the kept ones, if fewer).
    """

    def __init__(self, every: np.ndarray, z: np.ndarray) -> None:
        n = len(z)
        self.every, self.z = every, z
        bounds = np.searchsorted(np.arange(n) * 10 // n, np.arange(11)).tolist()
        self.chunks = list(zip(bounds[:-1], bounds[1:], strict=True))
        self.grams = [self._gram(self.every[:, a:b], self.z[a:b]) for a, b in self.chunks]

    @staticmethod
    def _gram(feats: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return feats @ feats.T, feats @ target

    def _chunk_gram(self, c: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.chunks[c]
        left = a + np.flatnonzero(~rows[a:b])
        if len(left) == 0:
            return self.grams[c]
        if 2 * len(left) < b - a:
            gram, rhs = self.grams[c]
            out_gram, out_rhs = self._gram(self.every[:, left], self.z[left])
            return gram - out_gram, rhs - out_rhs
        kept = a + np.flatnonzero(rows[a:b])
        return self._gram(self.every[:, kept], self.z[kept])

    def fit(self, rows: np.ndarray | None, ridge: float | None) -> tuple[np.ndarray, np.ndarray]:
        """The mixture fitted on ``rows`` (boolean ``(n,)``; None: all): the prediction of every sample
        and the mixture's coefficients."""
        grams = self.grams if rows is None else [self._chunk_gram(c, rows) for c in range(10)]
        gram = np.sum([g for g, _ in grams], axis=0)
        rhs = np.sum([r for _, r in grams], axis=0)
        scale = float(np.trace(gram)) / gram.shape[0] + 1e-12
        eye = np.eye(gram.shape[0])
        lams = (ridge,) if ridge is not None else _RIDGES
        best = lams[0]
        if len(lams) > 1:
            errors = np.zeros(len(lams))
            for f in range(5):
                g = grams[f][0] + grams[f + 5][0]
                r = grams[f][1] + grams[f + 5][1]
                coefs = np.stack([np.linalg.solve(gram - g + lam * scale * eye, rhs - r) for lam in lams])
                for a, b in (self.chunks[f], self.chunks[f + 5]):
                    residual = coefs @ self.every[:, a:b] - self.z[a:b]
                    if rows is not None:
                        residual = residual[:, rows[a:b]]
                    errors += np.sum(residual**2, axis=1)
            best = lams[int(np.argmin(errors))]
        coef = np.linalg.solve(gram + best * scale * eye, rhs)
        return coef @ self.every, coef


#: the network must cut the held-out blind-spot loss by 3 % to be used
_NET_MARGIN = 0.97

#: training windows (samples, without the network's margins), windows per epoch and per batch
_WINDOW = 128
_EPOCH_WINDOWS = 800
_BATCH = 16
#: held-out cuts run through the network at once in a checkpoint (bounds its memory)
_CUTS_PER_BATCH = 256
#: window samples of an epoch at most: a network of wide reach trains on fewer windows (``layers=16`` reads
#: 65536 samples each side: 880 windows of 131200 samples were 0.9 GB and hours of work); the default's
#: 880 x 160 and any with ``layers`` up to 10 are below
_EPOCH_SAMPLES = 1 << 21
#: windows of an epoch at least, however wide the reach
_MIN_WINDOWS = 16
#: a batch's activations at most (:func:`~tsae.models.fit.activation_bytes`): fewer windows a batch, down to one
_BATCH_BYTES = 1 << 30
#: an epoch's work at most, in weights times window samples (a step's multiply-adds per sample are about the
#: network's weights, a fully convolutional network's each used once a sample): a deep or wide network trains on
#: fewer windows, down to one, and a run stays within a few times the default's time (``layers=12, hidden=64``
#: is 207k weights on windows of 8320 samples, 1.7e9 a window: 252 windows an epoch ran past 300 s on 1 s of
#: audio); the default (4.8k weights, 800 windows of 160 samples: 6.2e8) is 7 times below
_EPOCH_WORK = 1 << 32


@dataclass(frozen=True)
class _Plan:
    """How the network trains: ``pad`` samples of context each side of windows of ``seg`` samples, ``windows``
    of them an epoch (and a tenth as many for the trainer's validation), ``batch`` at a time."""

    pad: int
    seg: int
    windows: int
    batch: int
    weights: int

    @property
    def val_windows(self) -> int:
        return max(1, self.windows // 10)


def _plan(channels: int, params: dict[str, Any]) -> _Plan | None:
    """The :class:`_Plan` of a ``blind_spot`` network with ``params`` on ``channels`` channels, counted on torch's
    meta device (nothing allocated); None for parameters the family refuses (:func:`~tsae.plugins.create_model`
    tells them)."""
    from tsae.models.fit import activation_bytes, meta_network

    net = meta_network("blind_spot", channels, _WINDOW, params)
    if net is None:  # a bad parameter: create_model tells it
        return None
    pad, weights = int(net.margin), sum(int(p.numel()) for p in net.parameters())
    seg = _WINDOW + 2 * pad
    windows = min(_EPOCH_WINDOWS, max(_MIN_WINDOWS, _EPOCH_SAMPLES // (channels * seg)),
                  max(1, _EPOCH_WORK // max(1, weights * seg)))
    per_window = activation_bytes("blind_spot", channels, seg, params, net)  # its layers fit any window
    batch = _BATCH if per_window is None else max(1, min(_BATCH, _BATCH_BYTES // per_window))
    return _Plan(pad, seg, windows, batch, weights)


class BlindSpot:
    """A fitted blind-spot predictor: per-channel linear taps plus an optional ``blind_spot`` network.

    Calling it on normalised, gap-free channels ``(C, m)`` gives their prediction; it reads
    at most :attr:`reach` samples on each side of a sample (the ends are odd-reflected).
    """

    def __init__(self, taps: list[np.ndarray], net: Any = None) -> None:
        self.taps = taps
        self.net = net

    @property
    def reach(self) -> int:
        """Samples each side that a prediction depends on."""
        k = max(len(t) // 2 for t in self.taps)
        return max(k, self.net.margin) if self.net is not None else k

    def __call__(self, z: np.ndarray) -> np.ndarray:
        linear = np.stack([_apply_taps(zc, t) for zc, t in zip(z, self.taps, strict=True)])
        if self.net is None:
            return linear
        from tsae.models.device import torch_threads

        with torch_threads(1):  # the bits of torch's convolutions on several threads depend on the cut's length
            _add_net_prediction(linear, self.net, _padded_rows(z, self.net.margin))
        return linear


#: samples per channel that the network predicts at once, at most: its features hold 6 x ``hidden`` float32 values
#: per sample (16: 400 bytes), 400 MB over a block of 2**20 samples at once
_NET_CUT = 1 << 16


def _add_net_prediction(linear: np.ndarray, net: Any, zp: np.ndarray) -> None:
    """Add ``net``'s prediction of the padded rows ``zp`` ``(C, m + 2 margin)`` to ``linear`` ``(C, m)``, in place.

    In cuts of equal length, at most :data:`_NET_CUT` samples (none shorter than half that), each read with the
    network's margin on both sides: on one thread the convolutions' bits are those of the whole series at once,
    but a cut of a thousand samples or fewer is computed otherwise (its bits differ in the last place).
    """
    import torch

    pad, m = net.margin, linear.shape[1]
    size = -(-m // -(-m // _NET_CUT))
    with torch.no_grad():
        for a in range(0, m, size):
            b = min(m, a + size)
            cut = torch.from_numpy(np.ascontiguousarray(zp[None, :, a: b + 2 * pad]))
            linear[:, a:b] += net(cut)[0, :, pad: pad + b - a].numpy()  # float32 widened as it is added


def _padded_rows(z: np.ndarray, pad: int) -> np.ndarray:
    """Each row of ``z`` ``(C, n)`` extended by ``pad`` samples each side (:func:`_pad_odd`), as float32
    ``(C, n + 2 pad)`` (the network's input), made row by row."""
    out = np.empty((len(z), z.shape[1] + 2 * pad), dtype=np.float32)
    for row, zc in zip(out, z, strict=True):
        row[:] = _pad_odd(zc, pad)
    return out


def _train_config(plan: _Plan, epochs: int, seed: int, max_seconds: float | None) -> Any:
    """How :func:`_fit_blind_spot` trains the network (its validation share: ``plan.val_windows`` more)."""
    from tsae.models.trainer import TrainConfig

    n_val = plan.val_windows
    return TrainConfig(epochs=epochs, batch_size=plan.batch, lr=3e-3, val_fraction=n_val / (plan.windows + n_val),
                       patience=epochs, seed=seed, device="cpu", quiet=True, max_seconds=max_seconds,
                       grad_clip=None, amp=False)


def check_network_memory(channels: int, params: dict[str, Any]) -> None:
    """A :class:`~tsae.errors.NamedMemoryError` when training a ``blind_spot`` network with ``params`` on
    ``channels`` channels (its windows, weights, gradients and optimiser state) cannot fit in the free memory.

    Counted on torch's meta device, before anything is allocated: an allocation the system overcommits does not
    fail, so a network too large (``hidden=30000``: 57 GB of weights) was built and the OOM killer ended the
    process. Parameters the family refuses are left to :func:`~tsae.plugins.create_model` to tell.
    """
    from tsae.models.fit import check_training_memory, forward_bytes, meta_network

    plan = _plan(channels, params)
    if plan is None:
        return
    count = plan.windows + plan.val_windows
    # a held-out check (mid-training) and the final prediction run cuts of at most _NET_CUT samples and their
    # context at once
    net = meta_network("blind_spot", channels, plan.seg, params)  # its layers fit any window: one build for both
    forward = forward_bytes("blind_spot", channels, _NET_CUT + 2 * plan.pad, params, net) or 0
    check_training_memory("blind_spot", channels, plan.seg, count, params, _train_config(plan, 1, 0, None),
                          windows=2 * 4 * count * channels * plan.seg,  # the windows and their targets, float32
                          fix_network="use smaller blind_spot parameters (hidden, layers)", forward=forward, net=net)


def warn_short_training(channels: int, params: dict[str, Any]) -> None:
    """Say, in one line, when a ``blind_spot`` network with ``params`` is so costly a window that it trains on
    fewer than :data:`_MIN_WINDOWS` windows an epoch (:data:`_EPOCH_WORK`)."""
    plan, default = _plan(channels, params), _plan(channels, {})
    if plan is None or default is None or plan.windows >= _MIN_WINDOWS:
        return
    given = ", ".join(f"{k}={v}" for k, v in params.items())
    times = plan.weights * plan.seg / (default.weights * default.seg)
    warnings.warn(f"blind_spot with {given}: a training window costs {times:.0f} times the default network's, so it "
                  f"trains on {plan.windows} window(s) an epoch (the default {default.windows}) to keep to about the "
                  "default's time, and is likely left out for the linear filter; fewer layers or less hidden train "
                  "on more", UserWarning, stacklevel=4)


def _fit_blind_spot(z: np.ndarray, *, seed: int, max_seconds: float | None, steps: int,
                    params: dict[str, Any], guard: tuple[np.ndarray, np.ndarray] | None = None,
                    holes: np.ndarray | None = None) -> tuple[np.ndarray, BlindSpot]:
    """Blind-spot prediction for normalised, gap-free channels ``z`` (C, n) -> (C, n), and the predictor.

    The linear blind-spot filter is solved in closed form per channel; a
    ``blind_spot`` network (a registered model family, trained by the shared
    trainer on windows of the series; every 8th block of ``_WINDOW`` samples is
    held out) then learns what the filter leaves, and is kept only if it cuts the
    held-out blind-spot loss by 3 %. The predictor (:class:`BlindSpot`) applies the
    same to other parts of the series. ``guard``: the channels the edge guard will read and their
    noise sigmas (see :func:`_linear_blind_spot`); ``holes`` (per channel, or None: none) the samples on each side
    that each channel's filter leaves out too. The network's blind spot is one sample: with a hole in any channel
    it would learn that channel's correlated noise, and is not trained.
    """
    c, n = z.shape
    linear = np.empty((c, n))  # filled row by row: a list of rows stacked held the prediction twice
    taps = []
    for i, zc in enumerate(z):
        linear[i], row_taps = _linear_blind_spot(zc, guard=None if guard is None else (guard[0][i], float(guard[1][i])),
                                                 hole=0 if holes is None else int(holes[i]))
        taps.append(row_taps)
    only_linear = BlindSpot(taps)
    if holes is not None and bool(np.any(holes > 0)):
        return linear, only_linear
    if steps <= 0 or (max_seconds is not None and max_seconds <= 0) or n < 8 * _WINDOW:
        return linear, only_linear
    val = (np.arange(n) // _WINDOW % 8) == 3
    train_starts = np.flatnonzero(np.convolve(val.astype(float), np.ones(_WINDOW), mode="valid") == 0)
    if len(train_starts) == 0 or not val.any():
        return linear, only_linear
    from tsae.models.trainer import seeded, train_model
    from tsae.plugins import create_model

    plan = _plan(c, params)
    if plan is None:  # parameters the family refuses: it says which
        create_model("blind_spot", channels=c, window=_WINDOW, **params)
        raise ValueError(f"blind_spot: cannot be built with {params}")
    pad = plan.pad  # samples each side reads
    with seeded(seed):
        net = create_model("blind_spot", channels=c, window=plan.seg, **params)
    zp = _padded_rows(z, pad)
    residual = z - linear
    residp = np.zeros((c, n + 2 * pad), dtype=np.float32)
    residp[:, pad: pad + n] = residual

    linear_loss = float(np.mean(residual[:, val] ** 2))
    best: dict[str, Any] = {"loss": linear_loss}
    held_out = _HeldOut(val, pad, zp, residual)
    del residual

    def checkpoint(_row: dict[str, float]) -> None:
        loss = held_out.loss(net)
        if loss < best["loss"]:
            best.update(loss=loss, state={k: v.detach().clone() for k, v in net.state_dict().items()})

    # the trainer's own validation split only guards against divergence; the checkpoints
    # are judged on the held-out blocks (an unbiased yardstick of the blind-spot loss)
    starts = np.random.default_rng(seed).choice(train_starts, size=plan.windows + plan.val_windows)
    seg = plan.seg
    windows = np.stack([zp[:, s: s + seg] for s in starts])
    targets = np.stack([residp[:, s: s + seg] for s in starts])
    del residp
    epochs = max(1, math.ceil(steps * _BATCH / _EPOCH_WINDOWS))
    config = _train_config(plan, epochs, seed, max_seconds)
    with seeded(seed):
        train_model(net, windows, config, targets, callback=checkpoint)
    del windows, targets
    # the network also fits (part of) the noise of the samples it was trained on, which
    # the held-out loss cannot see: keep it only for a clear gain
    if best["loss"] >= _NET_MARGIN * linear_loss:
        return linear, only_linear
    net.load_state_dict(best["state"])
    net.eval()
    _add_net_prediction(linear, net, zp)
    return linear, BlindSpot(only_linear.taps, net)


class _HeldOut:
    """The network's blind-spot loss on the held-out samples, reading only them and their reach.

    Running the network over the whole series at each checkpoint cost more than the
    training itself on a long series, and made the time cap bind. Instead each run of
    held-out samples is cut from the padded series with ``pad`` samples of context on each
    side (the network reads exactly that far); runs closer than that are merged (up to
    :data:`_NET_CUT` samples a run), and cuts of equal length run as one batch of at most
    :data:`_NET_CUT` samples and their context, as the final prediction does: a wide reach merged the
    runs of a whole series into one cut, its features many times the series in memory.
    The cuts are read from ``zp`` at each check, not copied.
    """

    def __init__(self, val: np.ndarray, pad: int, zp: np.ndarray, residual: np.ndarray) -> None:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], val.astype(np.int8), [0]])))
        runs: list[list[int]] = []
        for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
            if runs and start - runs[-1][1] <= 2 * pad and stop - runs[-1][0] <= _NET_CUT:
                runs[-1][1] = stop
            else:
                runs.append([start, stop])
        by_length: dict[int, list[list[int]]] = {}
        for run in runs:
            by_length.setdefault(run[1] - run[0], []).append(run)
        self.pad, self.zp, self.val = pad, zp, val
        self.count = int(val.sum()) * zp.shape[0]
        #: per cut length: the cuts' starts, and the residual there (a fraction of the series: the held-out part)
        self.groups = [(length, [a for a, _ in group], np.stack([residual[:, a: b] for a, b in group]))
                       for length, group in by_length.items()]

    def loss(self, net: Any) -> float:
        """Mean squared error of ``net``'s prediction to the residual on the held-out samples."""
        import torch

        total, pad = 0.0, self.pad
        with torch.no_grad():
            for length, starts, residual in self.groups:
                per = max(1, min(_CUTS_PER_BATCH, (_NET_CUT + 2 * pad) // (length + 2 * pad)))
                for i in range(0, len(starts), per):
                    part = starts[i: i + per]
                    cuts = np.stack([self.zp[:, a: a + length + 2 * pad] for a in part])
                    held = np.stack([self.val[a: a + length] for a in part])[:, None, :]
                    out = net(torch.from_numpy(cuts))[..., pad: pad + length].double().numpy()
                    total += float(np.sum(np.where(held, out - residual[i: i + per], 0.0) ** 2))
        return total / self.count
