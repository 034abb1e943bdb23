"""How each channel's grid values are coded in a block: against the model's prediction, or by its own predictors.

For each channel of a block the coder keeps whichever of eight integer streams codes
to the fewest bytes: ``MODEL`` the residual ``q - p`` (grid values minus the
grid values of the model's prediction), ``MODEL_DELTA`` its first difference (a
prediction off by a slowly drifting amount), ``DELTA`` the first difference of the
grid values themselves (a random walk no window model predicts; the "Lorenzo"
predictor of SZ), ``LINEAR`` the residual of a least-squares blend of the two
previous grid values and the model's prediction at ``t`` and ``t - 1`` (coefficients
stored per channel in fixed point, evaluated in integer arithmetic, so encoder and
decoder agree exactly): the model's shape with the sample-to-sample continuity
that a window model alone misses; ``TAPS`` the residual of a linear prediction of order 16 from past grid
values; ``INTERP`` and ``INTERP_LINEAR`` (:mod:`.interp`) every fourth grid value by its own taps and the others
interpolated from decoded values on both sides (cubic, linear: SZ3's non-causal predictor), whose anchors' taps
the channel stores as ``TAPS`` does (written only where ``INLOOP`` may not code the channel: :data:`OFFER_INTERP`);
``INLOOP`` (:mod:`.inloop`) the cubic interpolation with the rounding in the prediction loop, on a finer grid (its
decoded values are fine-grid values). The choice is stored per channel, so a block is never coded worse than by plain
differencing. The same choice is also made without the model
(prediction 0: differencing, the blend of past values); when that costs less than
the codes plus the choice with the model, the block leaves its codes out.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tsae.pipelines.compress.inloop import FINE, LIMIT, fine_values, inloop_decode, inloop_stream
from tsae.pipelines.compress.interp import CUBIC_KIND, LINEAR_KIND, STRIDE, anchors, interp_decode, interp_residual

MODEL, MODEL_DELTA, DELTA, LINEAR, TAPS, INTERP, INTERP_LINEAR, INLOOP = 0, 1, 2, 3, 4, 5, 6, 7
MODES = (MODEL, MODEL_DELTA, DELTA, LINEAR, TAPS, INTERP, INTERP_LINEAR, INLOOP)
#: the non-causal modes (:mod:`.interp`), their interpolation kinds; their anchors' taps are stored as ``TAPS``'s
_INTERP_KINDS = {INTERP: CUBIC_KIND, INTERP_LINEAR: LINEAR_KIND}
#: the modes whose channels store taps (section ``taps``)
USES_TAPS = (TAPS, *_INTERP_KINDS, INLOOP)
#: fixed-point fraction bits of the linear coefficients, and their largest magnitude (|c| <= 4)
SHIFT = 16
_COEF_LIMIT = 4 << SHIFT
#: the past grid values the ``TAPS`` predictor weighs (a linear prediction of order 16, as speech coders use), and
#: its coefficients' largest magnitude in fixed point (|c| <= 64: with grid values below 2^32 the sum stays in int64)
ORDER = 16
_TAP_LIMIT = 64 << SHIFT


def _lagged(a: np.ndarray, lag: int) -> np.ndarray:
    out = np.zeros_like(a)
    if lag < len(a):
        out[lag:] = a[: len(a) - lag]
    return out


def _features(q: np.ndarray, p: np.ndarray) -> list[np.ndarray]:
    return [_lagged(q, 1), _lagged(q, 2), p, _lagged(p, 1)]


def fit_linear(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Least-squares coefficients (fixed point, int64 (4,)) of ``q[t]`` on ``q[t-1], q[t-2], p[t], p[t-1]``."""
    features = np.stack(_features(q, p), axis=1).astype(np.float64)
    scale = max(float(np.abs(features).max(initial=0.0)), 1.0)
    coef, *_ = np.linalg.lstsq(features / scale, q / scale, rcond=None)
    fixed = np.rint(np.nan_to_num(coef) * (1 << SHIFT))
    return np.clip(fixed, -_COEF_LIMIT, _COEF_LIMIT).astype(np.int64)


def linear_residual(q: np.ndarray, p: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``q`` minus the fixed-point linear prediction (integer arithmetic, as the decoder's kernel)."""
    acc = sum((int(c) * f for c, f in zip(coef, _features(q, p), strict=True)), np.zeros_like(q)) + (1 << (SHIFT - 1))
    return q - (acc >> SHIFT)


def _lag_matrix(q: np.ndarray) -> np.ndarray:
    """``(len(q), ORDER)`` float64, column ``j - 1`` ``q`` lagged by ``j`` (zeros before the block): the columns of
    :func:`_lagged`, read off one padded copy of ``q`` rather than stacked from sixteen."""
    padded = np.concatenate([np.zeros(ORDER, q.dtype), q])
    return np.lib.stride_tricks.sliding_window_view(padded, ORDER)[:len(q), ::-1].astype(np.float64)


def fit_taps(q: np.ndarray) -> np.ndarray:
    """Least-squares coefficients (fixed point, int64 (:data:`ORDER`,)) of ``q[t]`` on ``q[t-1] ... q[t-ORDER]``
    (values before the block read as 0), lightly regularised so that a flat or short block gets small ones."""
    lags = _lag_matrix(q)
    scale = max(float(np.abs(lags).max(initial=0.0)), 1.0)
    lags /= scale
    gram = lags.T @ lags
    ridge = 1e-9 * max(float(np.trace(gram)), 1.0)
    coef = np.linalg.solve(gram + ridge * np.eye(ORDER), lags.T @ (q / scale))
    fixed = np.rint(np.nan_to_num(coef) * (1 << SHIFT))
    return np.clip(fixed, -_TAP_LIMIT, _TAP_LIMIT).astype(np.int64)


def taps_residual(q: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """``q`` minus its fixed-point prediction from its past :data:`ORDER` values (integer arithmetic, as the
    decoder's kernel)."""
    acc = np.full_like(q, 1 << (SHIFT - 1))
    for j, c in enumerate(taps, start=1):
        if c:
            acc += int(c) * _lagged(q, j)
    return q - (acc >> SHIFT)


def anchor_taps(q: np.ndarray) -> np.ndarray:
    """The taps (C, :data:`ORDER`) fitted on each channel's anchors ``q[c, ::STRIDE]`` (modes 5, 6 and 7)."""
    return np.stack([fit_taps(q[c, ::STRIDE]) for c in range(q.shape[0])]).reshape(q.shape[0], ORDER)


def _interp_streams(q: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(anchor taps (C, :data:`ORDER`), stream (C, m)) of ``INTERP`` and of ``INTERP_LINEAR`` (the same taps)."""
    channels = range(q.shape[0])
    taps = anchor_taps(q)
    first = [taps_residual(q[c, ::STRIDE], taps[c]) for c in channels]
    return [(taps, np.stack([interp_residual(q[c], first[c], kind) for c in channels]).reshape(q.shape))
            for kind in _INTERP_KINDS.values()]


def _interp_decode(stored: np.ndarray, taps: np.ndarray, kind: int) -> np.ndarray:
    from tsae.pipelines.compress._kernels import taps_decode

    first = np.empty(anchors(len(stored)), np.int64)
    taps_decode(np.ascontiguousarray(stored[:len(first)]), np.ascontiguousarray(taps), SHIFT, first)
    return interp_decode(stored, first, kind)


def _delta(a: np.ndarray) -> np.ndarray:
    return np.diff(a, axis=-1, prepend=0)


#: a mode is costed exactly only when its rough size is within this factor of its channel's roughly smallest (on speech
#: and sensor series, the exact best was always within 1.005 of it; most channels keep one or two modes) ...
PRUNE_FACTOR = 1.03
#: ... and only streams of at least this many rough bytes are pruned: on smaller ones (a few hundred samples, a
#: periodic series) the estimate was up to 13 % off, and their exact cost is cheap anyway
PRUNE_MIN_BYTES = 8192

Cost = Callable[[np.ndarray], int]


class _Costs:
    """``cost`` of each stream, computed once per distinct stream (``q``'s first difference is a mode's stream
    with the model and two modes' without it; so is its ``rough`` estimate), and, with ``rough``, only for the
    streams within :data:`PRUNE_FACTOR` of the roughly smallest of their channel when that is at least
    :data:`PRUNE_MIN_BYTES`: the others cost ``inf``."""

    def __init__(self, cost: Cost, rough: Cost | None, prune: float = PRUNE_FACTOR) -> None:
        self.cost, self.rough, self.prune = cost, rough, prune
        self._known: dict[bytes, float] = {}
        self._estimates: dict[bytes, int] = {}

    def of(self, stream: np.ndarray) -> float:
        key = np.ascontiguousarray(stream, dtype=np.int64).tobytes()
        if key not in self._known:
            self._known[key] = float(self.cost(stream))
        return self._known[key]

    def estimate(self, stream: np.ndarray) -> int:
        """``rough(stream)``, found once per distinct stream."""
        assert self.rough is not None
        key = np.ascontiguousarray(stream, dtype=np.int64).tobytes()
        if key not in self._estimates:
            self._estimates[key] = self.rough(stream)
        return self._estimates[key]

    def channel(self, streams: list[np.ndarray]) -> list[float]:
        """The costs of one channel's candidate streams (``inf`` for the pruned)."""
        if self.rough is None or len(streams) < 2:
            return [self.of(s) for s in streams]
        rough = [self.estimate(s) for s in streams]
        if min(rough) < PRUNE_MIN_BYTES:
            return [self.of(s) for s in streams]
        keep = self.prune * min(rough)
        return [self.of(s) if r <= keep else np.inf for s, r in zip(streams, rough, strict=True)]


#: an interpolation stream is costed exactly only where its rough size is at most this factor of the smallest rough
#: size of the channel's other streams, small streams too: the estimate favours it (it does not see how the adaptive
#: coder follows a stream's spread in time order, which the levels break up). On 60 s of LJ Speech at 48 kHz this left
#: out all the interpolation streams' codings (none won), at 16 kHz and 1e-3 a quarter, for 0.05 % of size
INTERP_PRUNE = 1.0


#: whether the encoder offers ``INTERP`` and ``INTERP_LINEAR`` in the channels ``INLOOP`` may code too (else only
#: in the others; decoded always: containers written before this may use them). Since ``INLOOP`` they were not
#: chosen on LJ Speech (48, 16 kHz) or SKAB, and leaving them out made pump's (4 channels, one block) 0.25 % larger
#: at most (no-model, 1e-2 and 1e-3), while building and costing their streams took 6-16 % of the compress CPU time
#: on speech and ~20 % on SKAB
OFFER_INTERP = False


def _channel_costs(costs: _Costs, streams: list[np.ndarray], interps: int) -> list[float]:
    """:meth:`_Costs.channel` of one channel's ``streams``, whose last ``interps`` (the interpolation modes') are
    left out (``inf``) where :data:`INTERP_PRUNE` says (with a rough estimate)."""
    if not interps or costs.rough is None:
        return costs.channel(streams)
    rough = [costs.estimate(s) for s in streams]
    floor = min(rough[:-interps])
    kept = [i for i in range(len(streams) - interps, len(streams)) if rough[i] <= INTERP_PRUNE * floor]
    found = costs.channel(streams[:-interps] + [streams[i] for i in kept])
    out = found[:len(streams) - interps] + [np.inf] * interps
    for i, cost in zip(kept, found[len(streams) - interps:], strict=True):
        out[i] = cost
    return out


def _cheapest(q: np.ndarray, p: np.ndarray, costs: _Costs, taps: np.ndarray, long: np.ndarray | None,
              spread: list[tuple[np.ndarray, np.ndarray]] | None = None, inloop: np.ndarray | None = None,
              anchor: np.ndarray | None = None, interp: np.ndarray | None = None,
              inloop_ok: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(total cost, stream, modes, linear coefficients, taps) with the cheapest mode in each channel (``taps`` and
    ``long``: each channel's :func:`fit_taps` and :func:`taps_residual`, which do not depend on ``p``; ``long``
    ``None``: no ``TAPS`` mode; ``spread``: the (anchor taps, stream) of ``INTERP`` and ``INTERP_LINEAR``
    (:func:`_interp_streams`), or ``None``; ``inloop``: the ``INLOOP`` stream (C, m), with the anchor taps
    ``anchor`` (C, :data:`ORDER`), or ``None``, offered in the channels ``inloop_ok`` (C,) bool (:func:`_offered`);
    ``interp`` (C,) bool: the channels ``spread``'s modes are offered in, ``None`` all)."""
    residual = q - p
    coefs = np.stack([fit_linear(q[c], p[c]) for c in range(q.shape[0])]).reshape(q.shape[0], 4)
    linear = np.stack([linear_residual(q[c], p[c], coefs[c]) for c in range(q.shape[0])]).reshape(q.shape)
    streams: list[np.ndarray | None] = [residual, _delta(residual), _delta(q), linear, long]
    offered = [s for s in streams if s is not None]
    streams += [None] * len(_INTERP_KINDS) if spread is None else [stream for _, stream in spread]
    if spread is not None:
        offered += [stream for _, stream in spread]
    table = np.full((q.shape[0], len(MODES)), np.inf)
    interps = 0 if spread is None else len(spread)
    assert spread is None or long is not None  # the interpolation modes' columns follow ``TAPS``'s
    table[:, :len(offered)] = np.array([_channel_costs(costs, [s[c] for s in offered], interps)
                                        for c in range(q.shape[0])], dtype=np.float64).reshape(q.shape[0], -1)
    table[:, LINEAR] += [costs.cost(coefs[c]) for c in range(q.shape[0])]  # the blend's coefficients are stored too
    if long is not None:
        table[:, TAPS] += [costs.of(taps[c]) for c in range(q.shape[0])]  # and the taps (the same in both passes)
    if spread is not None and interp is not None:
        table[~interp, INTERP:INTERP_LINEAR + 1] = np.inf
    for mode, (spread_taps, _) in zip(_INTERP_KINDS, spread or [], strict=False):  # their anchors' taps, where kept
        table[:, mode] += [costs.of(spread_taps[c]) if table[c, mode] < np.inf else 0 for c in range(q.shape[0])]
    if inloop is not None and anchor is not None and inloop_ok is not None:
        streams.append(inloop)
        table[:, INLOOP] = [costs.of(inloop[c]) + costs.of(anchor[c]) if ok else np.inf
                            for c, ok in enumerate(inloop_ok)]
    modes = np.argmin(table, axis=1).astype(np.int64)
    coefs[modes != LINEAR] = 0
    taps = taps.copy()
    taps[modes != TAPS] = 0
    for mode, (spread_taps, _) in zip(_INTERP_KINDS, spread or [], strict=False):
        taps[modes == mode] = spread_taps[modes == mode]
    if anchor is not None:
        taps[modes == INLOOP] = anchor[modes == INLOOP]
    stream = np.stack([_picked(streams, mode, c) for c, mode in enumerate(modes)]).reshape(q.shape)
    return float(table.min(axis=1).sum()), stream, modes, coefs, taps


def _picked(streams: list[np.ndarray | None], mode: int, c: int) -> np.ndarray:
    chosen = streams[mode]
    assert chosen is not None  # a mode not offered costs inf, and the DELTA mode is always offered
    return chosen[c]


def _offered(q: np.ndarray) -> np.ndarray:
    """Whether ``INLOOP`` may code each channel of ``q`` (C, m), (C,) bool: its fine values' sums stay in int64."""
    return np.array([np.abs(q[c]).max(initial=0) <= LIMIT for c in range(q.shape[0])], dtype=bool)


def inloop_streams(x: np.ndarray, q: np.ndarray, steps: np.ndarray, taps: np.ndarray, offered: np.ndarray
                   ) -> np.ndarray:
    """The ``INLOOP`` stream (C, m) of the samples ``x`` (C, m, finite) on grids of ``steps`` (C,) with the anchor
    taps (C, :data:`ORDER`), in the ``offered`` channels (C,) bool (zeros in the others)."""
    out = np.zeros_like(q)
    for c in np.flatnonzero(offered):
        out[c] = inloop_stream(fine_values(x[c], float(steps[c])), taps[c], SHIFT)[0]
    return out


def code_residual(q: np.ndarray, p: np.ndarray | Callable[[], np.ndarray], cost: Cost, codes_cost: float,
                  rough: Cost | None = None, prune: float = PRUNE_FACTOR, taps: bool = True,
                  fine: tuple[np.ndarray, np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """The integer stream to store for grid values ``q`` and predicted grid values ``p`` (C, m).

    ``cost(ints)`` is the stored size of an integer array: one channel's stream (the linear mode adds its four
    coefficients'); the cheapest mode wins in each channel. The same choice is made once more without the model
    (``p = 0``: differencing and the blend of past values only), which wins when it costs less than the choice with
    the model plus ``codes_cost`` (what the codes add to the block; ``math.inf`` without a model: ``p`` is never
    asked for). Returns the stream, the modes (C,), the linear coefficients (C, 4), the taps (C, :data:`ORDER`)
    (zeros for channels of other modes) and whether the model's prediction is used (else the block needs no codes
    and ``p`` is 0).

    ``rough(ints)``, a much faster estimate of ``cost`` (optional), spares ``cost`` the streams
    of a channel that it finds more than :data:`PRUNE_FACTOR` times as large as the channel's
    smallest: the choice is the same unless the estimate is that far off (``prune``: that factor, for an estimate
    less close to ``cost`` than zlib's to LZMA2's).

    ``taps``: whether the ``TAPS`` mode, and ``INTERP`` and ``INTERP_LINEAR`` in the channels ``INLOOP`` may not code
    (:data:`OFFER_INTERP`), may be chosen (containers of the byte-plane coders leave them out, so that a tsae from
    before them reads them).

    ``fine``: (the samples (C, m), finite, the grid steps (C,)), to offer the ``INLOOP`` mode (with ``taps``); its
    channels' values are then :func:`decode_residual`'s, fine-grid values, not ``q``.

    ``p`` may be a function that gives the predicted grid values: it is called only when the model can win, that is
    when the choice without the model costs more than ``codes_cost`` (a cost is never below 0), so that a block
    whose codes alone cost more needs neither the network's decoder nor the costing of the model's modes.
    """
    costs = _Costs(cost, rough, prune)
    fitted = np.zeros((q.shape[0], ORDER), np.int64)
    long = None
    if taps:
        fitted = np.stack([fit_taps(q[c]) for c in range(q.shape[0])]).reshape(q.shape[0], ORDER)
        long = np.stack([taps_residual(q[c], fitted[c]) for c in range(q.shape[0])]).reshape(q.shape)
    # INTERP and INTERP_LINEAR only where INLOOP may not code the channel (its grid values too large, or no fine
    # values given): there they still win on smooth signals (a sine at 5e-10 of its range: 7 % smaller than TAPS)
    inloop_ok = np.asarray(_offered(q) if fine is not None else [False] * q.shape[0], dtype=bool)
    interp = np.full(q.shape[0], OFFER_INTERP) | ~inloop_ok
    spread = _interp_streams(q) if taps and interp.any() else None
    anchor = None
    if taps and fine is not None:
        anchor = anchor_taps(q) if spread is None else spread[0][0]
    inloop = None if anchor is None or fine is None else inloop_streams(fine[0], q, fine[1], anchor, inloop_ok)
    alone = _cheapest(q, np.zeros_like(q), costs, fitted, long, spread, inloop, anchor, interp, inloop_ok)
    if alone[0] <= codes_cost:  # the model's choice costs codes_cost at least
        return (*alone[1:], False)
    with_model = _cheapest(q, p() if callable(p) else p, costs, fitted, long, spread, inloop, anchor, interp,
                           inloop_ok)
    if alone[0] <= with_model[0] + codes_cost:
        return (*alone[1:], False)
    return (*with_model[1:], True)


def decode_residual(stored: np.ndarray, modes: np.ndarray, p: np.ndarray, coefs: np.ndarray | None = None,
                    taps: np.ndarray | None = None) -> np.ndarray:
    """Grid values ``q`` (C, m) from the stored stream, the per-channel modes, the predicted grid values ``p``
    (zeros for a block without codes), the linear coefficients (C, 4) and the taps (C, :data:`ORDER`); an ``INLOOP``
    channel's are fine-grid values (:func:`grid_scales`)."""
    if stored.shape != p.shape or modes.shape != (stored.shape[0],):
        raise ValueError("residual does not fit the block")
    unknown = modes[~np.isin(modes, MODES)]
    if unknown.size:
        raise ValueError(f"predictor mode {int(unknown[0])} is unknown to this tsae (a container of a newer tsae, "
                         "or a damaged one)")
    if (modes == LINEAR).any() and (coefs is None or coefs.shape != (len(modes), 4)
                                    or np.abs(coefs).max() > _COEF_LIMIT):
        raise ValueError("linear coefficients missing or malformed")
    if np.isin(modes, USES_TAPS).any() and (taps is None or taps.shape != (len(modes), ORDER)
                                  or np.abs(taps).max() > _TAP_LIMIT):
        raise ValueError("prediction taps missing or malformed")
    q = np.empty_like(stored)
    for c, mode in enumerate(modes):
        if mode == TAPS:
            from tsae.pipelines.compress._kernels import taps_decode

            assert taps is not None
            taps_decode(np.ascontiguousarray(stored[c]), np.ascontiguousarray(taps[c]), SHIFT, q[c])
        elif mode in _INTERP_KINDS:
            assert taps is not None
            q[c] = _interp_decode(stored[c], taps[c], _INTERP_KINDS[mode])
        elif mode == INLOOP:
            assert taps is not None
            q[c] = inloop_decode(stored[c], taps[c], SHIFT)
        elif mode == DELTA:
            q[c] = np.cumsum(stored[c])
        elif mode == LINEAR:
            from tsae.pipelines.compress._kernels import linear_decode

            assert coefs is not None
            linear_decode(np.ascontiguousarray(stored[c]), np.ascontiguousarray(p[c]),
                          np.ascontiguousarray(coefs[c]), SHIFT, q[c])
        else:
            q[c] = p[c] + (stored[c] if mode == MODEL else np.cumsum(stored[c]))
    return q


def grid_scales(steps: np.ndarray, modes: np.ndarray) -> np.ndarray:
    """The step (C,) of each channel's decoded values: the grid step, a fine step for ``INLOOP``'s."""
    return np.where(modes == INLOOP, steps / FINE, steps)


__all__ = ["grid_scales", "code_residual", "decode_residual", "fit_linear", "linear_residual", "fit_taps",
           "taps_residual", "inloop_streams", "MODEL", "MODEL_DELTA", "DELTA", "LINEAR", "TAPS", "INTERP",
           "INTERP_LINEAR", "INLOOP", "USES_TAPS", "MODES", "ORDER"]
