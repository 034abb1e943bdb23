"""Smoothing and gap filling with autoencoders that learn from the series itself.

:func:`smooth` removes noise from a series without any training step of the user's:

1. Each channel is centred and scaled and a *blind-spot* autoencoder is fitted to it
   (Noise2Self / Laine et al.): the network predicts every sample from its
   neighbours on both sides but never sees the sample itself, so it cannot learn
   the identity; white noise is unpredictable from the neighbours, the signal is not,
   so the self-supervised loss ``E|f(x)_t - x_t|^2`` equals the error to the clean
   signal plus the noise variance and minimising one minimises the other. The
   network is the registered ``blind_spot`` model family (two dilated causal
   convolution stacks, past and time-reversed future, mixed by 1x1 convolutions),
   trained by the shared trainer; its output is added to a linear blind-spot filter solved
   in closed form (the least-squares mixture of leave-one-out local-polynomial
   smoothers of many widths, ridge chosen by blocked cross-validation); the network
   is kept only if it cuts the blind-spot loss on held-out blocks of the series (an
   unbiased yardstick) by 3 %. Every output sample is computed once
   from the whole series (a fully convolutional network is the average of all its
   overlapping windows, i.e. cycle spinning), so nothing is shifted in time.
2. Samples far off a first (linear) prediction, spikes and the corners of steps, are
   replaced by that prediction before the final fit, so they do not leak into their
   neighbours' predictions.
3. A local Wiener guard combines the prediction with the noisy sample: where the
   local residual power is at the noise level the prediction wins; where it is far
   above (a step, a spike, a feature the network could not predict) the sample is
   kept, so edges and spikes are not smeared away.
4. ``strength`` blends the result with the input.

With a trained model (``model=``), the model's reconstruction takes the place of the
blind-spot prediction.

Gap filling (:func:`~tsae.pipelines.smooth.imputer.impute`) lives in its own module, and so do the
blind-spot predictor (:mod:`~tsae.pipelines.smooth.blind_spot`) and the lone-spike threshold that tells a
feature from the noise's outliers (:mod:`~tsae.pipelines.smooth.noise_tail`).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tsae.engine.framing import check_flag
from tsae.engine.layout import as_channels_first, check_fraction, known_layout
from tsae.engine.preprocess import denormalise, normalise, power_of_two_unit, repair_missing, spread
from tsae.errors import EmptyChannelError
from tsae.io.series import refuse_infinite
from tsae.models.device import torch_threads
from tsae.models.trainer import check_seed, whole_number
from tsae.pipelines.progress import check_advance
from tsae.pipelines.reconstruct.columns import in_input_order, loaded_in_model_order
from tsae.pipelines.smooth.blind_spot import _WINDOW, BlindSpot, _fit_blind_spot
from tsae.pipelines.smooth.coloured import check_noise, noise_holes
from tsae.pipelines.smooth.glitches import (
    MEDIAN_HALF,
    GlitchBounds,
    fill_glitches,
    glitch_bounds,
)
from tsae.pipelines.smooth.noise_scale import (
    _SMALLEST,
    ADDITIVE,
    PROPORTIONAL,
    back_from_even_scale,
    even_mean,
    log_noise_levels,
    noise_kinds,
    on_even_scale,
    robust_variance,
    skew_outliers,
    trimmed_noise_variance,
)
from tsae.pipelines.smooth.noise_tail import (
    _GUARD_HALF,
    _OUTLIER_SIGMAS,
    _R_LIMIT,
    _channel_features,
    _feature_sigmas,
    _local_power,
    _noise_tail,
    _squared,
    _without_outliers,
)

__all__ = ["smooth", "noise_sigma"]

# ----------------------------------------------------------------------------- helpers


def _series(x: Any) -> tuple[np.ndarray, bool]:
    """``x`` as float64 ``(channels, n)`` (see :func:`~tsae.engine.layout.as_channels_first`), finite or NaN."""
    arr, squeeze = as_channels_first(x, "x")
    refuse_infinite(arr)
    return arr, squeeze


def checked_series(x: Any, model: Any, device: Any) -> tuple[np.ndarray, bool, np.ndarray, Any, Any]:
    """``x`` read for a trained ``model`` (or None) on ``device``: ``(arr, squeeze, missing, perm, model)``.

    A DataFrame's columns are matched to the model's (``perm`` puts the result back,
    :func:`~tsae.pipelines.reconstruct.columns.in_input_order`); ``arr`` is float64 ``(channels, n)``
    (:func:`_series`), ``missing`` its NaN samples. A channel with no value at all is an
    :class:`~tsae.errors.EmptyChannelError`.
    """
    check_device(device, model)
    x, perm, model = loaded_in_model_order(x, model, device)
    arr, squeeze = _series(x)
    missing = np.isnan(arr)
    if missing.all(axis=1).any():
        raise EmptyChannelError(int(np.argmax(missing.all(axis=1))))
    return arr, squeeze, missing, perm, model


#: second differences tied at their median beyond this share: the values are quantised (whole counts, a
#: sensor's resolution), and the median absolute deviation is one of a few levels (0 at counts of rate 0.2)
_TIED_SHARE = 0.05
#: first differences of white noise correlate at -0.5 with their neighbours, a noiseless state signal's
#: (its steps) near 0: quantised values are noisy below this
_WHITE_DIFFERENCES = -0.25


def _white_steps(f: np.ndarray) -> bool:
    """Whether first differences ``f`` correlate with their neighbours as white noise's do
    (:data:`_WHITE_DIFFERENCES`)."""
    f = f - f.mean()
    energy = float(f @ f)
    return energy > 0 and float(f[1:] @ f[:-1]) / energy < _WHITE_DIFFERENCES


def noise_sigma(x: Any) -> float:
    """Robust standard deviation of white noise in a 1-D series.

    Uses the median absolute second difference (normalised so a pure white-noise
    series gives its standard deviation); smooth trends, steps and sparse spikes
    barely move the median. Quantised values (whole counts, a sensor's resolution) tie
    many second differences at their median, which is then one of a few levels: when their
    steps are those of white noise (a noiseless state signal's are not), the second differences'
    root mean square less the largest 1 % (:func:`~tsae.pipelines.smooth.noise_scale.trimmed_noise_variance`)
    takes its place.
    """
    z = np.asarray(x, dtype=np.float64)
    z = z[np.isfinite(z)]
    if len(z) < 4:
        return 0.0
    unit = float(power_of_two_unit(z)[0])  # exact: near float64's limit, 2 z would overflow
    z = z / unit
    d = z[2:] - 2 * z[1:-1] + z[:-2]  # var = 6 sigma^2 for white noise
    if np.mean(d == np.median(d)) > _TIED_SHARE and _white_steps(np.diff(z)):
        return math.sqrt(trimmed_noise_variance(d)) * unit
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(6.0)) * unit


def _bounds(z: np.ndarray, sigmas: np.ndarray) -> list[GlitchBounds]:
    """The :class:`~tsae.pipelines.smooth.glitches.GlitchBounds` of each channel of gap-free ``z`` ``(C, n)``."""
    return [glitch_bounds([zc], float(s)) for zc, s in zip(z, sigmas, strict=True)]


def _fill_channels(z: np.ndarray, bounds: list[GlitchBounds]) -> np.ndarray:
    """:func:`~tsae.pipelines.smooth.glitches.fill_glitches` of each channel of ``z`` ``(C, n)``."""
    return np.stack([fill_glitches(zc, b) for zc, b in zip(z, bounds, strict=True)])


def normalisation(filled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel centre (median) and scale of gap-free channels ``(C, n)``, both ``(C, 1)``.

    The scale is the spread of the channel once its glitches are replaced
    (:mod:`~tsae.pipelines.smooth.glitches`), so one absurd sample does not shrink the rest
    of the series to nothing in the networks' input; a constant channel gets 1. Both are
    found on the channel divided by a power of two (exact,
    :func:`~tsae.engine.preprocess.power_of_two_unit`): near float64's limit the glitch
    bounds and distances overflowed.
    """
    unit = power_of_two_unit(filled)
    scaled = filled / unit
    center = np.median(scaled, axis=1, keepdims=True) * unit
    scale = spread(_fill_channels(scaled, _bounds(scaled, np.array([noise_sigma(row) for row in scaled])))) * unit
    scale[~(scale > 0)] = 1.0
    return center, scale


#: normalised values are held within this magnitude (only a gross glitch in a channel many orders of
#: magnitude smaller reaches it): sums and differences of a few of them never overflow
_Z_LIMIT = 2.0**1000


def normalised(values: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(values - center) / scale`` of channels ``(C, m)`` without overflow, held within +-:data:`_Z_LIMIT`.

    A glitch of 1e308 in a channel of spread 0.1 is beyond float64's range once normalised:
    held at the limit, the edge guard keeps it as it came (its residual is far above the noise).
    """
    z = normalise(values, center, scale)
    return np.clip(z, -_Z_LIMIT, _Z_LIMIT, out=z)



#: noise is heavy-tailed enough for a robust fit when its lone-spike threshold (:func:`_feature_sigmas`) lies
#: beyond this many sigmas: Student-t(3) and Laplace noise give 13-70; Gaussian noise on a real series with
#: sharp parts (SKAB pressure) up to 6, and refitting it robustly smeared those parts (error 0.86 -> 0.98)
_HEAVY_SIGMAS = 8.0


def _typical_power(z: np.ndarray, pred: np.ndarray, sigma: float, feature: float = _OUTLIER_SIGMAS) -> float:
    """Mean residual power ``(z - pred)^2`` over samples within 4 sigma (the global Wiener gain's denominator).

    With heavy-tailed noise (``feature`` over :data:`_HEAVY_SIGMAS`, :func:`_feature_sigmas`) the square of
    the residuals' robust spread (1.4826 median absolute deviations), the measure ``sigma`` is on: the
    noise's own samples within 4 sigmas hold more power than ``sigma^2``, and the gain added that much
    noise back.
    """
    if feature > _HEAVY_SIGMAS:
        return robust_variance(np.clip(z - pred, -_R_LIMIT, _R_LIMIT))
    r2 = _squared(z - pred)
    typical = r2 <= (_OUTLIER_SIGMAS**2) * sigma * sigma  # spikes and edges are the guard's business
    return float(np.mean(r2[typical])) if typical.any() else float(np.mean(r2))


def _combine(z: np.ndarray, pred: np.ndarray, sigma: float, edge_guard: bool, half: int = _GUARD_HALF,
             power: float | None = None, feature: float | None = None,
             settled: np.ndarray | None = None) -> np.ndarray:
    """Wiener combination of the noisy samples ``z`` and the blind-spot prediction ``pred``.

    The prediction ignores ``z[t]``; adding back ``gain * (z - pred)`` restores what it
    could not predict. The global gain is ``max(0, 1 - sigma^2 / mean(r^2))`` (the mean
    over samples within 4 sigma, so a few spikes do not turn smoothing off; see :func:`_typical_power`). With the
    edge guard, a local gain (the same formula) takes over where the residual is
    clearly above the noise: its power over ``2*half+1`` samples exceeds 4 sigma^2
    (steps) or a single sample exceeds 4 sigma (spikes); pure noise trips either test
    well under 0.1 % of the time. A lone sample kept as a spike counts in its neighbours'
    power as one 4 sigma off (:func:`~tsae.pipelines.smooth.noise_tail._local_power`), so they
    are still smoothed. ``power`` (the global gain's residual power) is
    measured on ``z`` unless given. Lone samples off by fewer than ``feature`` sigmas
    (:func:`_feature_sigmas`, measured unless given) but more than 4 are noise outliers: they
    take the prediction and count for nothing in their neighbours' local power, as do the samples
    ``settled`` marks (the skew of a proportional channel's noise,
    :func:`~tsae.pipelines.smooth.noise_scale.skew_outliers`).
    """
    r = z - pred
    if sigma <= 0:
        return z.copy()
    s2 = sigma * sigma
    if feature is None:
        feature = _feature_sigmas(r, sigma)
    if power is None:
        power = _typical_power(z, pred, sigma, feature)
    r = _without_outliers(r, sigma, feature)
    if settled is not None:
        r = np.where(settled, 0.0, r)
    gain = np.full(len(z), max(0.0, 1.0 - s2 / max(power, 1e-300)))
    if edge_guard:
        local_power = _local_power(r, sigma, half, lone_capped=True)
        local = np.where(local_power > 4.0 * s2, 1.0 - s2 / np.maximum(local_power, 1e-300), 0.0)
        gain = np.maximum(gain, local)
    return pred + gain * r


#: what the edge guard does with lone samples far off the prediction: ``auto`` keeps them as spikes unless the
#: noise's own tail reaches them (:func:`~tsae.pipelines.smooth.noise_tail._noise_tail`), ``keep`` keeps every one
#: beyond 4 noise sigmas, ``smooth`` smooths every one over (a glitchy sensor: a Hampel filter's choice)
SPIKES = ("auto", "keep", "smooth")
#: the lone-spike threshold (noise sigmas) that ``spikes="smooth"`` sets: beyond any residual
_EVERY_LONE_SAMPLE = float(_R_LIMIT)


def check_spikes(spikes: Any) -> str:
    """Refuse a ``spikes`` choice that is not one of :data:`SPIKES`."""
    if not isinstance(spikes, str) or spikes not in SPIKES:
        raise ValueError(f"spikes must be one of {', '.join(repr(v) for v in SPIKES)}, got {spikes!r}")
    return spikes


def chosen_features(spikes: str, channels: int) -> np.ndarray | None:
    """The lone-spike thresholds (noise sigmas, per channel) that a ``spikes`` choice fixes; None for ``auto``."""
    if spikes == "auto":
        return None
    return np.full(channels, _OUTLIER_SIGMAS if spikes == "keep" else _EVERY_LONE_SAMPLE)


def check_budget(steps: Any, max_seconds: Any, seed: Any = 0) -> None:
    """Refuse a training budget that is not one: ``steps`` a whole number >= 0, ``max_seconds`` None or >= 0,
    ``seed`` a whole number >= 0 (below 2**64: torch's seeds are 64 bits)."""
    check_seed(seed)
    whole_number("steps", steps, 0)
    if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(max_seconds, numbers.Real)
                                    or not float(max_seconds) >= 0):  # NaN too
        raise ValueError(f"max_seconds must be None or a number >= 0, got {max_seconds!r}")


def check_device(device: Any, model: Any) -> None:
    """Refuse a ``device`` other than the CPU when there is no trained ``model`` to run on it.

    Without a model the series teaches a small network on the CPU: ``device="cuda"`` (or a
    misspelt name) would be ignored without a word. ``None`` is ``"auto"``, as everywhere else.
    """
    if model is None and device is not None and not (isinstance(device, str)
                                                     and device.strip().lower() in ("cpu", "auto")):
        raise ValueError(f"device={device!r} is for a trained model (model=); without one the series teaches a "
                         "small network on the CPU: leave device out")


def check_coloured_model(noise: Any, model: Any) -> str:
    """``noise`` checked (:func:`~tsae.pipelines.smooth.coloured.check_noise`); coloured noise is refused beside a
    trained ``model``, whose reconstruction takes the place of the blind spot it widens."""
    noise = check_noise(noise)
    if noise == "coloured" and model is not None:
        raise ValueError("noise='coloured' widens the self-taught blind spot; a trained model (model=) brings its own "
                         "prediction: leave noise out")
    return noise


def checked_params(model_params: dict[str, Any] | None, channels: int, model: Any) -> dict[str, Any]:
    """The ``blind_spot`` network's parameters as a dict, checked (a bad one fails before any work)."""
    if model_params is not None and not isinstance(model_params, Mapping):
        raise TypeError(f"model_params must be a dict of the blind_spot network's parameters, got "
                        f"{type(model_params).__name__}")
    params = dict(model_params or {})
    if params and model is not None:  # they would be ignored without a word
        raise ValueError("model_params (--param) are the self-taught blind_spot network's; a trained model brings "
                         "its own: leave them out")
    if params:
        from tsae.pipelines.smooth.blind_spot import check_network_memory, warn_short_training
        from tsae.plugins import create_model

        check_network_memory(channels, params)
        create_model("blind_spot", channels=channels, window=_WINDOW, **params)
        warn_short_training(channels, params)
    return params


#: with heavy-tailed noise, the refits read each sample held within this many noise sigmas of the previous
#: prediction (Huber's pseudo-observations): noise outliers below the lone-spike threshold no longer
#: pull their neighbours' predictions. Gaussian noise with wider outliers (a glitchy sensor) keeps its
#: Gaussian body whole within 2 sigmas; a power-law tail (Student-t, Laplace) is held within Huber's
#: constant (95 % efficient on Gaussian noise, nearer the median's efficiency on Laplace noise: a chirp in
#: Laplace noise 0.085 -> 0.081 of its spread; on a glitchy sensor's noise it cost 0.061 -> 0.064)
_HUBER_SIGMAS = 2.0
_POWER_LAW_HUBER = 1.345
#: linear refits on those pseudo-observations before the last fit (each prediction is nearer the signal,
#: so the next one's pseudo-observations are too)
_ROBUST_REFITS = 2


class Predictor:
    """The self-supervised prediction of :func:`smooth`, fitted once, applicable to any part of a series.

    ``first`` is the linear blind-spot filter, which reads the channels with their glitches
    replaced (:func:`~tsae.pipelines.smooth.glitches.fill_glitches`, ``bounds`` per channel);
    with the edge guard, samples more than 4 noise sigmas (``sigmas``, per channel) off its
    prediction are replaced by it and ``second`` (refitted without them, possibly with a
    network; ``first`` when there was nothing to refit) predicts from that. A channel with
    heavy-tailed noise (``features`` over :data:`_HEAVY_SIGMAS`, :func:`_feature_sigmas` of the first prediction) has
    its samples below that lone-spike threshold held within ``huber`` noise sigmas (per channel, default
    :data:`_HUBER_SIGMAS`) of the prediction instead, and is refitted on them by each of ``refits`` in turn
    before ``second``. ``chosen`` says the thresholds were fixed by the user (:func:`chosen_features`), not measured.
    """

    def __init__(self, first: BlindSpot, second: BlindSpot | None, sigmas: np.ndarray, edge_guard: bool,
                 bounds: list[GlitchBounds], features: np.ndarray | None = None,
                 refits: list[BlindSpot] | None = None, huber: np.ndarray | None = None,
                 chosen: bool = False) -> None:
        self.first, self.second, self.sigmas, self.edge_guard = first, second, sigmas, edge_guard
        self.bounds = bounds
        self.features = np.full(len(sigmas), _OUTLIER_SIGMAS) if features is None else features
        self.refits = refits or []
        self.huber = np.full(len(sigmas), _HUBER_SIGMAS) if huber is None else huber
        self.chosen = chosen

    @property
    def reach(self) -> int:
        """Samples each side that a prediction depends on."""
        return (MEDIAN_HALF + self.first.reach + sum(refit.reach for refit in self.refits)
                + (self.second or self.first).reach)

    def _base(self, z: np.ndarray, pred: np.ndarray) -> np.ndarray:
        r = z - pred
        heavy = self.features > _HEAVY_SIGMAS
        outliers = np.abs(r) > np.where(heavy, self.features, _OUTLIER_SIGMAS)[:, None] * self.sigmas[:, None]
        if heavy.any():
            huber = (heavy * self.huber * self.sigmas)[:, None]
            z = np.where(heavy[:, None], pred + np.clip(r, -huber, huber), z)
        return np.where(outliers, pred, z) if outliers.any() else z

    def final_features(self, z: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """The lone-spike thresholds (sigmas, per channel) of the blend of ``z`` with this predictor's ``pred``.

        Measured on ``pred`` (:func:`_feature_sigmas`), never below those of the first prediction:
        where a network followed a glitchy sensor's wide outliers part of the way, their heights left
        off its prediction no longer pass for noise, yet they were noise on the first prediction.
        Thresholds the user chose are kept as they are.
        """
        if self.chosen:
            return self.features.copy()
        return np.maximum(_channel_features(z, pred, self.sigmas), self.features)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """The prediction of normalised, gap-free channels ``(C, m)``."""
        cleaned = _fill_channels(z, self.bounds)
        pred = self.first(cleaned)
        if not self.edge_guard:
            return pred if self.second is None else self.second(cleaned)
        for refit in self.refits:
            pred = refit(self._base(z, pred))
        return (self.second or self.first)(self._base(z, pred))


def self_supervised(z: np.ndarray, *, edge_guard: bool, seed: int, max_seconds: float | None, steps: int,
                    params: dict[str, Any] | None = None, sigmas: np.ndarray | None = None,
                    skewed: np.ndarray | None = None, spikes: str = "auto",
                    noise: str = "white") -> tuple[np.ndarray, Predictor]:
    """Fit the blind-spot prediction of normalised, gap-free channels ``z`` (C, n) on ``z`` itself.

    ``params`` are the ``blind_spot`` network's parameters; ``sigmas`` the channels' noise levels
    (:func:`noise_sigma` of each, measured when None); ``skewed`` (boolean per channel, or None) marks
    channels whose noise stays skewed (level-dependent noise on its even scale): held symmetrically within
    Huber's constant, it pulled the prediction off (their robust refits keep :data:`_HUBER_SIGMAS`);
    ``spikes`` and ``noise`` as for :func:`smooth`: coloured noise is predicted with a hole in the blind spot and
    its own noise levels (:func:`~tsae.pipelines.smooth.coloured.noise_holes`), which the predictor's ``sigmas``
    hold. Returns the prediction of ``z`` and the :class:`Predictor` that makes it.
    """
    if sigmas is None:
        sigmas = np.array([noise_sigma(zc) for zc in z])
    holes = None
    if noise == "coloured":
        holes, sigmas = noise_holes(z, sigmas)
    params = dict(params or {})
    with torch_threads(1, native=True):
        bounds = _bounds(z, sigmas)
        cleaned = _fill_channels(z, bounds)
        pred, first = _fit_blind_spot(cleaned, seed=seed, max_seconds=max_seconds, steps=0, params=params,
                                      holes=holes)
        if edge_guard:
            del cleaned  # the guarded fits read the series itself (:meth:`Predictor._base`)
        tails = [_noise_tail(zc - pc, float(s)) for zc, pc, s in zip(z, pred, sigmas, strict=True)]
        chosen = chosen_features(spikes, len(z))
        features = np.array([feature for feature, _ in tails]) if chosen is None else chosen
        symmetric = np.ones(len(z), dtype=bool) if skewed is None else ~np.asarray(skewed, dtype=bool)
        huber = np.where([power_law for _, power_law in tails] & symmetric, _POWER_LAW_HUBER, _HUBER_SIGMAS)
        predictor = Predictor(first, None, sigmas, edge_guard, bounds, features, huber=huber,
                              chosen=chosen is not None)
        if edge_guard and (features > _HEAVY_SIGMAS).any():
            for _ in range(_ROBUST_REFITS):
                pred, refit = _fit_blind_spot(predictor._base(z, pred), seed=seed, max_seconds=max_seconds,
                                              steps=0, params=params, guard=(z, sigmas), holes=holes)
                predictor.refits.append(refit)
        # isolated samples far off the prediction (spikes, the sharp corner of a step)
        # leak into their neighbours' predictions: predict again without them
        base = predictor._base(z, pred) if edge_guard else cleaned
        if steps > 0 or (edge_guard and base is not z):
            del pred  # not held while the last fit runs
            # fitted where the guard will use the prediction
            pred, predictor.second = _fit_blind_spot(base, seed=seed, max_seconds=max_seconds, steps=steps,
                                                     params=params, guard=(z, sigmas) if edge_guard else None,
                                                     holes=holes)
    return pred, predictor


def even_scale_steps(kinds: np.ndarray, steps: int) -> int:
    """The network steps of the prediction made on the even scale: ``steps``, or none (the closed-form filter
    alone) when no channel's noise is :data:`~tsae.pipelines.smooth.noise_scale.ADDITIVE`.

    :class:`LevelPredictor` then replaces every row of that prediction; what is still read of it (the
    lone-spike thresholds of its first, closed-form fit) does not depend on the network, which would be
    fitted for nothing (half the time of such a series).
    """
    return steps if bool((kinds == ADDITIVE).any()) else 0


class LevelPredictor:
    """The prediction of the channels with level-dependent noise, made on their own scale and put on their even one.

    Their noise is even on the log scale (proportional noise) or the Anscombe scale (counts), and the edge
    guard works there. But a prediction fitted there weighs the stretches' errors as that scale does: the
    quiet stretches' sharp turns (sharper still there) held its width down, and the loud stretches, where
    the noise is largest on the series' own scale, were smoothed too little (proportional noise 1.07-1.23
    times the best classic smoother's error; counts at a rate of one whose steps were kept as they came,
    twice its error). The blind-spot prediction fitted on the channels as they are (centred and scaled,
    without the edge guard, whose thresholds assume even noise) weighs the errors as a user measures them
    and predicts the level's mean; put on the even scale (the logarithm of the level, or the Anscombe
    transform's mean at that rate: :func:`~tsae.pipelines.smooth.noise_scale.even_mean`), it takes the place
    of the prediction made there, and comes back as the level itself.

    ``channels`` are the channels' rows and ``kinds`` their kinds, ``center`` and ``scale`` (``(k, 1)``) their
    normalisation on their own scale, ``floor`` (``(k, 1)``) the least level put on the log scale (the
    channel's smallest positive value, where the prediction dips to 0 or below).
    """

    def __init__(self, channels: np.ndarray, kinds: np.ndarray, predictor: Predictor, center: np.ndarray,
                 scale: np.ndarray, floor: np.ndarray) -> None:
        self.channels, self.kinds, self.predictor = channels, kinds, predictor
        self.center, self.scale, self.floor = center, scale, floor

    @classmethod
    def fit(cls, raw: np.ndarray, kinds: np.ndarray, *, seed: int, max_seconds: float | None, steps: int,
            params: dict[str, Any] | None = None, noise: str = "white") -> LevelPredictor | None:
        """The level prediction of the channels of gap-free ``raw`` ``(C, n)`` (their own scale) whose ``kinds``
        are not :data:`~tsae.pipelines.smooth.noise_scale.ADDITIVE`; None without one. ``noise`` as for
        :func:`smooth`."""
        channels = np.flatnonzero(kinds != ADDITIVE)
        if channels.size == 0:
            return None
        own = raw[channels]
        median, scale = normalisation(own)
        # the fit shrinks towards the centre: centred on the median, it pulled skewed noise's level below its mean
        with np.errstate(over="ignore"):
            mean = np.mean(own, axis=1, keepdims=True)
        center = np.where(np.isfinite(mean), mean, median)
        _, predictor = self_supervised(normalised(own, center, scale), edge_guard=False, seed=seed,
                                       max_seconds=max_seconds, steps=steps, params=params, noise=noise)
        positive = np.where(own > 0, own, np.inf).min(axis=1, keepdims=True)
        floor = np.where(np.isfinite(positive), positive, _SMALLEST)
        return cls(channels, kinds[channels], predictor, center, scale, floor)

    @property
    def reach(self) -> int:
        """Samples each side that a prediction depends on."""
        return self.predictor.reach

    def put(self, pred: np.ndarray, raw: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """``pred`` (normalised, on the even scale: ``center`` and ``scale``) with these channels' rows made from
        ``raw`` (gap-free, their own scale) by this prediction."""
        rows = self.channels
        level = denormalise(self.predictor(normalised(raw[rows], self.center, self.scale)), self.center, self.scale)
        proportional = (self.kinds == PROPORTIONAL)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            even = np.where(proportional, np.log(np.maximum(level, self.floor)), even_mean(level))
        out = pred.copy()
        out[rows] = normalised(even, center[rows], scale[rows])
        return out


def blend_features(z: np.ndarray, pred: np.ndarray, sigmas: np.ndarray, predictor: Predictor | None,
                   spikes: str) -> np.ndarray:
    """The lone-spike thresholds (noise sigmas, per channel) that :func:`blend` reads for ``z`` and ``pred``.

    Those of the self-supervised ``predictor`` (:meth:`Predictor.final_features`); with a trained model
    (``predictor`` None) those the ``spikes`` choice fixes (:func:`chosen_features`), else measured on ``pred``.
    """
    if predictor is not None:
        return predictor.final_features(z, pred)
    chosen = chosen_features(spikes, len(z))
    return _channel_features(z, pred, sigmas) if chosen is None else chosen


def blend(filled: np.ndarray, z: np.ndarray, pred: np.ndarray, scale: np.ndarray, strength: float, *,
          edge_guard: bool, sigmas: np.ndarray, powers: np.ndarray | None = None,
          features: np.ndarray | None = None, settled: np.ndarray | None = None) -> np.ndarray:
    """The smoothed series: the Wiener combination of ``z`` and ``pred`` (normalised), blended by ``strength``.

    ``filled`` is the gap-free series, ``z`` it normalised (``scale`` per channel,
    ``(C, 1)``), ``sigmas`` the channels' noise levels; ``powers`` fixes the global
    gains' residual powers and ``features`` the lone-sample thresholds in sigmas
    (:func:`_feature_sigmas`; see :func:`_combine`), both measured on ``z`` when None; ``settled`` (``(C, n)``
    boolean, or None) the samples taken as noise whatever their residual. A result beyond float64's range
    (a series at its limit, smoothed past it) is a ``ValueError``.
    """
    change = np.empty_like(z)  # row by row: a list of rows stacked held them twice
    for i, (zc, pc) in enumerate(zip(z, pred, strict=True)):
        change[i] = _combine(zc, pc, float(sigmas[i]), edge_guard, power=None if powers is None else powers[i],
                             feature=None if features is None else float(features[i]),
                             settled=None if settled is None else settled[i])
    change -= z
    change *= strength
    out = denormalise(change, filled, scale)  # filled + strength (est - z) scale, never overflowing
    beyond = np.isinf(out) & np.isfinite(filled)
    if beyond.any():
        raise ValueError(f"the smoothed series goes beyond float64's range (the input's values reach "
                         f"{float(np.max(np.abs(filled[np.isfinite(filled)]))):.3g}): scale it down first")
    return out


# ----------------------------------------------------------------------------- public API


def smooth(
    x: Any,
    strength: float = 1.0,
    *,
    model: Any = None,
    edge_guard: bool = True,
    steps: int = 150,
    max_seconds: float | None = None,
    seed: int = 0,
    device: str = "cpu",
    model_params: dict[str, Any] | None = None,
    spikes: str = "auto",
    noise: str = "white",
    advance: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Smooth a series with a self-supervised (or a trained) autoencoder.

    A channel whose noise grows with its level (counts; noise in proportion to the level) is
    smoothed on a scale where its noise is even and mapped back (:mod:`~tsae.pipelines.smooth.noise_scale`).

    Parameters
    ----------
    x
        ``(n,)`` or ``(channels, n)``. NaN samples stay NaN (see :func:`impute`).
    strength
        0 returns the input, 1 (default) the full smoothing; values between blend.
    model
        A trained model file path, :class:`~tsae.models.modelfile.LoadedModel` or what
        :func:`tsae.fit` returned;
        its reconstruction replaces the self-supervised prediction.
    edge_guard
        Keep samples whose residual is far above the noise level (steps, spikes); with
        heavy-tailed noise, lone samples below the noise's own tail are smoothed over.
    steps, max_seconds
        Training budget of the self-supervised network in batches of 16 windows,
        rounded up to whole epochs of 50 (0 steps: the closed-form linear blind-spot
        filter alone); series shorter than 1024 samples use the filter alone. The budget is
        the step count alone by default (None: no time cap), so the result does not depend on the
        machine or its load: 150 steps are 3 epochs of 800 windows of 128 samples whatever the
        series' length, about 2-4 s of one core from 1 to 300 channels, plus a held-out check per epoch
        that reads an eighth of the series. A time cap (seconds) stops the training early where it binds,
        and a run that hits it may differ from run to run.
    seed
        Seed of the self-supervised training (results are deterministic on CPU).
    device
        Device for a trained model.
    model_params
        Parameters of the self-supervised ``blind_spot`` network (``tsae models blind_spot``),
        checked before any work.
    spikes
        Lone samples far off the prediction, with the edge guard: ``"auto"`` (default) keeps them as
        spikes unless they are the noise's own outliers (heavy-tailed noise, a glitchy sensor's much
        wider samples); ``"keep"`` keeps every one more than 4 noise sigmas off; ``"smooth"`` smooths
        every one over, as a Hampel filter would (steps and pulses of 3 samples or more are still kept).
    noise
        ``"white"`` (default): the noise of one sample tells nothing of its neighbours'. ``"coloured"`` (or
        ``"colored"``): it is correlated over a few samples (AR(1)-like noise, a sensor's own filter), which a
        one-sample blind spot learns to predict, smoothing far too little; the prediction then leaves out the
        sample's correlated neighbours too, as many as the series shows, and the noise level is measured beside
        it (:mod:`~tsae.pipelines.smooth.coloured`; the closed-form filter alone, no network). It is the
        user's word: a rough signal cannot always be told from coloured noise, and taking one for the other
        smooths its detail away. A channel whose noise shows no colour (white noise; a series too short to tell,
        under about 300 samples) or whose fast movement the wider blind spot cannot follow (a chirp) is smoothed
        as with ``"white"``. Not with a ``model``.
    advance
        Told the samples (per channel) done, adding up to the series' length (a progress bar): as a trained
        model runs over the series, else all at once when the series is smoothed.

    Returns
    -------
    np.ndarray
        float64, the input's shape, aligned sample for sample with the input. Values near
        float64's limit are smoothed as the series scaled down by a power of two would be; a
        result beyond float64's range is a ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 4 * np.pi, 2000)
    >>> noisy = np.sin(t) + 0.3 * np.random.default_rng(0).normal(size=t.size)
    >>> err = lambda y: float(np.sqrt(np.mean((y - np.sin(t)) ** 2)))
    >>> err(smooth(noisy)) < 0.5 * err(noisy)
    True
    """
    strength = check_fraction("strength", strength)
    check_budget(steps, max_seconds, seed)
    edge_guard = check_flag("edge_guard", edge_guard)
    check_advance(advance)
    spikes = check_spikes(spikes)
    noise = check_coloured_model(noise, model)
    arr, squeeze, missing, perm, model = checked_series(x, model, device)
    c, n = arr.shape
    params = checked_params(model_params, c, model)
    done = [0]  # the samples a trained model's run told ``advance``

    def told(samples: int) -> None:
        done[0] += samples
        if advance is not None:
            advance(samples)

    filled = repair_missing(arr)
    del arr
    if n < 5 or strength == 0:
        out = filled.copy()
    else:
        kinds = noise_kinds(filled) if model is None else np.full(c, ADDITIVE)
        uneven = bool((kinds != ADDITIVE).any())
        raw, filled = filled, on_even_scale(filled, kinds) if uneven else filled  # neither is written to
        center, scale = normalisation(filled)
        z = normalised(filled, center, scale)
        sigmas = np.array([noise_sigma(zc) for zc in z])
        if model is not None:
            from tsae.models.modelfile import as_loaded
            from tsae.pipelines.reconstruct.series import reconstruct_series

            loaded = as_loaded(model, device)
            recon = reconstruct_series(loaded, known_layout(filled), advance=None if advance is None else told)
            pred = normalised(np.asarray(recon, dtype=np.float64).reshape(c, n), center, scale)
            predictor = None
        else:
            pred, predictor = self_supervised(z, edge_guard=edge_guard, seed=seed, max_seconds=max_seconds,
                                              steps=even_scale_steps(kinds, steps), params=params, sigmas=sigmas,
                                              skewed=kinds != ADDITIVE, spikes=spikes, noise=noise)
            sigmas = predictor.sigmas
            levels = LevelPredictor.fit(raw, kinds, seed=seed, max_seconds=max_seconds, steps=steps, params=params,
                                        noise=noise)
            if levels is not None:
                pred = levels.put(pred, raw, center, scale)
        features = blend_features(z, pred, sigmas, predictor, spikes)
        log_sigmas = log_noise_levels(filled, kinds)
        settled = skew_outliers(z, pred, sigmas, raw, kinds, log_sigmas, center, scale) if edge_guard else None
        out = blend(filled, z, pred, scale, 1.0 if uneven else strength, edge_guard=edge_guard, sigmas=sigmas,
                    features=features, settled=settled)
        if uneven:
            out = back_from_even_scale(out, filled, raw, kinds, strength)
    out[missing] = np.nan
    told(n - done[0])
    return out[0] if squeeze else in_input_order(out, perm)
