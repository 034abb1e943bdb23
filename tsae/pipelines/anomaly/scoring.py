"""The block-wise scoring core shared by the batch detector and the streaming monitor.

:class:`ScoringCore` turns raw sensor rows into per-sample anomaly scores and per-sensor
contributions, whatever the block size it is fed: batch scoring pushes everything at
once, the monitor pushes a few rows at a time, and both get the same numbers (see
:mod:`tsae.pipelines.anomaly.detector` for how a sample is scored). :class:`DetectorState` is
what a fitted detector stores to score.
"""
from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from tsae.engine.layout import as_channels_first, is_dataframe, real_array
from tsae.engine.preprocess import Normalizer, forward_fill
from tsae.io.table_absurd import absurd_as_missing
from tsae.io.table_columns import row_numbers_hint
from tsae.models.inference import forward

if TYPE_CHECKING:
    from tsae.pipelines.anomaly.silent import SilentScoring

_EPS = 1e-12
#: normalised values are clipped to +-Z_BOUND standard deviations (batch and stream alike): a large value
#: that is not absurd (1e20, see :func:`~tsae.io.table_absurd.absurd_as_missing`) would otherwise overflow the
#: squared errors
Z_BOUND = 1e6
T = TypeVar("T")


def sensor_order(columns: Sequence[str], sensors: Sequence[str], name: str, *,
                 by_position: bool = True) -> tuple[list[int], bool]:
    """Where each of a detector's ``sensors`` is among ``columns`` (matched by name), and whether they were
    taken by position instead.

    Every place that feeds named columns to a detector matches them here: ``tsae detect score``,
    ``tsae encode --plot --detector`` and a DataFrame given to :class:`Detector`. Columns that are no
    sensor are left out. With ``by_position``, columns none of which names a sensor, as many as the
    sensors, are taken in order (unnamed or renamed columns; the caller tells the user). Else a missing
    sensor is a one-line ValueError starting with ``name`` (the file or argument; empty: the caller names it).
    """
    missing = [s for s in sensors if s not in columns]
    if not missing:
        return [list(columns).index(s) for s in sensors], False
    if by_position and len(columns) == len(sensors) and not set(columns) & set(sensors):
        return list(range(len(columns))), True
    # whole names, then how many more: text cut at 200 characters ended "c41, )", as if that were all of them
    got = ", ".join(columns[:20]) + (f" and {len(columns) - 20} more" if len(columns) > 20 else "")
    raise ValueError(f"{name}{': ' if name else ''}missing sensor column(s) {', '.join(missing)} (the detector knows "
                     f"{', '.join(sensors)}; got columns {got}){row_numbers_hint(missing)}")


def sensor_columns(x: Any, sensors: Sequence[str], name: str = "X") -> Any:
    """A DataFrame's columns of ``sensors``, in that order, matched by name (``str`` of each label,
    as :meth:`Detector.fit` stores them: columns ``0, 1`` are sensors ``"0", "1"``); other inputs as they are.

    Columns in another order are put in the detector's order; a missing sensor is a ValueError naming it
    (:func:`sensor_order`, never by position: a DataFrame's labels are its sensors' names), except a
    DataFrame with pandas' default labels ``0, 1, ...`` (``pd.DataFrame(X.T)``) given to a detector fitted on
    an array (sensors ``s0, s1, ...``): neither side names its sensors, so they go in order.
    """
    if not is_dataframe(x):
        return x
    numbered = all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in x.columns)
    if numbered and list(sensors) == [f"s{i}" for i in range(len(sensors))] and \
            [int(column) for column in x.columns] == list(range(len(sensors))):
        return x  # numbered columns for numbered sensors: the array's own order
    labels = {str(column): column for column in x.columns}
    order, _ = sensor_order(list(labels), sensors, name, by_position=False)
    counts = Counter(str(column) for column in x.columns)
    repeated = [s for s in sensors if counts[s] > 1]
    if repeated:  # x[[...]] would take every column of that name: more columns than sensors
        raise ValueError(f"{name}: sensor column(s) {', '.join(repeated)[:200]} given more than once; keep one "
                         f"column per sensor (for example {name}.loc[:, ~{name}.columns.duplicated()])")
    return x[[labels[s] for s in sensors]]


def as_chunk(x: Any, channels: int, name: str = "x") -> np.ndarray:
    """Samples of a known number of sensors as ``(channels, n)`` float64.

    Unlike a series of unknown width (:func:`tsae.engine.layout.as_channels_first`), a
    stream chunk may hold fewer samples than there are sensors: the sensor count, known
    here, decides the layout. A DataFrame (rows are time) is turned around by its labels.
    Complex numbers and text are refused; absurd values are missing (:func:`absurd_as_missing`).
    A DataFrame of no rows is no samples, as a ``(channels, 0)`` array is.
    """
    if is_dataframe(x):
        if len(x) == 0 and len(x.columns) == channels:  # as_channels_first refuses an empty series
            return np.zeros((channels, 0))
        return absurd_as_missing(as_channels_first(x, name)[0])
    arr = real_array(x, name)
    if arr.ndim == 1 and channels == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] != channels:
        hint = f"; pass {name}.T" if arr.ndim == 2 and arr.shape[1] == channels else ""
        raise ValueError(f"{name}: expected ({channels} sensors, n samples), got shape {arr.shape}{hint}")
    return absurd_as_missing(arr)


def sum_present(stack: np.ndarray) -> np.ndarray:
    """The sum over the first axis of ``stack`` (the scales or terms), NaN left out; NaN where every part is NaN
    (a scale longer than all the data scores nothing)."""
    total = np.nansum(stack, axis=0)
    total[np.isnan(stack).all(axis=0)] = np.nan
    return total


def error_shares(rows: np.ndarray, base: np.ndarray | None, total: np.ndarray | None = None) -> np.ndarray:
    """Each sensor's share ``(n, C)`` of error rows ``(n, C)`` (see :meth:`ScoringCore._contributions`).

    ``base``: each sensor's normal error level (None: shares of the raw error); ``total``: the rows' sums, when known.
    """
    if base is None:
        total = rows.sum(axis=1) if total is None else total
        return rows / np.maximum(total, _EPS)[:, None]
    ratio = rows / base
    excess = np.maximum(ratio - 1.0, 0.0)
    excess_total = excess.sum(axis=1)
    weights = np.where((excess_total > _EPS)[:, None], excess, ratio)
    return weights / np.maximum(weights.sum(axis=1), _EPS)[:, None]


#: the fewest sensors that can share a rise (:func:`shared_rise_scores`): of two, the median is their mean, which a
#: fault of one of them moves by half
SHARED_RISE_SENSORS = 3


def shared_rise_scores(rows: np.ndarray, shared: np.ndarray | None, base: np.ndarray | None, shared_rise: float,
                       total: np.ndarray | None = None) -> np.ndarray:
    """Scores of smoothed error rows ``(n, C)``: the mean over sensors, less the rise most sensors share.

    ``shared`` ``(n, C)`` holds each sensor's statistics-term error, smoothed as the score is, and ``base`` its normal
    level: their ratio in the median sensor is the row's shared rise, and the score is divided by it, clipped to
    ``[1, shared_rise]``. A sensor's statistics see its own values alone, so a fault of one sensor (or of a few)
    leaves the median sensor's at its normal level and the score unchanged, even where the network's and the
    subspace's errors spread the fault to the sensors coupled to it; a change of operating conditions that most
    sensors share (the weather, the demand, a weekend at a lower load than the training days showed) is discounted,
    by at most ``shared_rise``, so that a fault of every sensor (a stalled logger) still scores far above the
    threshold. Without ``shared`` or ``base``, with ``shared_rise`` of 1 or less, or with fewer than
    :data:`SHARED_RISE_SENSORS` sensors: the plain mean over sensors.

    Examples
    --------
    >>> rows, base = np.full((3, 4), 2.0), np.ones(4)
    >>> shared = np.array([[1.0, 1, 1, 9], [1.1, 1.1, 1.1, 1.1], [3.0, 3, 3, 3]])
    >>> shared_rise_scores(rows, shared, base, 1.25)
    array([2.        , 1.81818182, 1.6       ])
    """
    total = rows.sum(axis=1) if total is None else total
    channels = rows.shape[1]
    scores = total / channels
    if shared is None or base is None or not shared_rise > 1.0 or channels < SHARED_RISE_SENSORS or not len(rows):
        return scores
    with np.errstate(invalid="ignore"):
        median = np.median(shared / base, axis=1)
    return scores / np.where(np.isfinite(median), np.clip(median, 1.0, shared_rise), 1.0)


class _OverlapMean:
    """Streaming mean of per-frame, per-sample errors over the frames covering each sample.

    Frames start at 0, hop, 2*hop, ...; a sample is final once the next frame to come
    starts after it. Holds at most ``window`` pending rows.

    This is :class:`tsae.engine.streaming.StreamOverlapAdd` with no window (a mean of the
    covering frames), but in float64: the engine's framing and overlap-add compute in
    float32, which would change every score (about 1e-7 relative) and stored detector
    outputs; the streaming monitor must equal batch scoring to the last bit.
    """

    def __init__(self, window: int, hop: int, channels: int) -> None:
        self.window, self.hop, self.channels = window, hop, channels
        self.base = 0  # global index of acc[0] (= first sample not yet emitted)
        self.acc = np.zeros((0, channels))
        self.cnt = np.zeros(0)

    def push(self, starts: np.ndarray, errors: np.ndarray, next_start: int) -> np.ndarray:
        """Add frame errors ``(F, window, C)`` for frames at global ``starts``; return final rows."""
        if len(starts):
            from tsae.pipelines.anomaly._kernels import overlap_add

            rel = self._grown(starts)  # before acc and cnt are read: it may replace them
            # frame after frame: a row adds its frames in their order, however they came (streamed as batched)
            overlap_add(self.acc, self.cnt, rel, np.ascontiguousarray(errors, np.float64))
        return self.emit(next_start)

    def push_values(self, starts: np.ndarray, values: np.ndarray, next_start: int) -> np.ndarray:
        """:meth:`push` of frames whose error is one value per sensor on all their rows, ``values`` ``(F, C)``."""
        if len(starts):
            from tsae.pipelines.anomaly._kernels import overlap_add_values

            rel = self._grown(starts)
            overlap_add_values(self.acc, self.cnt, rel, np.ascontiguousarray(values, np.float64), self.window)
        return self.emit(next_start)

    def _grown(self, starts: np.ndarray) -> np.ndarray:
        """Room for the frames at ``starts``; their rows' offsets in it."""
        need = int(starts[-1]) + self.window - self.base
        if need > len(self.acc):
            grow = need - len(self.acc)
            self.acc = np.concatenate([self.acc, np.zeros((grow, self.channels))])
            self.cnt = np.concatenate([self.cnt, np.zeros(grow)])
        return np.asarray(starts - self.base, np.int64)

    def emit(self, next_start: int) -> np.ndarray:
        """The rows final once the next frame starts at ``next_start``."""
        done = max(0, min(next_start - self.base, len(self.acc)))
        out = self.acc[:done] / self.cnt[:done, None]
        self.acc = self.acc[done:]
        self.cnt = self.cnt[done:]
        self.base += done
        return out


#: windows :func:`aligned_window_sums` sums at a time: its working arrays are a few times this many rows
_SUM_ROWS = 1 << 16


def aligned_window_sums(values: np.ndarray, start: int, k: int) -> np.ndarray:
    """The sum of every ``k`` consecutive rows of ``values`` ``(n, C)``, whose row 0 is row ``start`` of the data:
    ``(n - k + 1, C)``, in O(n) and the same bits whatever rows ``values`` holds around each window.

    A running sum (cumsum, one difference per window) would carry the rounding of everything summed since the start
    into every window: a window's sum would depend on the data seen long before it and on where the blocks of a
    stream begin. Here the data is cut into chunks of ``k`` rows aligned to multiples of ``k`` of the data's own row
    numbers, so each window is a suffix of one chunk and a prefix of the next; each suffix and prefix is summed
    in order inside its chunk alone, over the window's rows only. A window therefore adds exactly its own rows
    (NaN where one is NaN), in an order fixed by its position in the data.
    """
    n, channels = values.shape
    count = max(0, n - k + 1)
    out = np.empty((count, channels))
    for first in range(0, count, _SUM_ROWS):
        last = min(count, first + _SUM_ROWS)
        lead = (start + first) % k  # rows of the first chunk before the first window
        size = -(-(lead + last - first + k) // k) * k  # up to and past the last window's end, in whole chunks
        grid = np.zeros((size, channels))
        grid[lead:lead + last - first + k - 1] = values[first:last + k - 1]
        chunks = grid.reshape(-1, k, channels)
        suffix = np.empty_like(chunks)
        np.cumsum(chunks[:, ::-1], axis=1, out=suffix[:, ::-1])  # suffix[j]: rows j.. of the chunk, the last first
        prefix = np.zeros_like(chunks)
        np.cumsum(chunks[:, :-1], axis=1, out=prefix[:, 1:])  # prefix[j]: rows ..j - 1 of the chunk
        rows = last - first
        # the window at grid row r: its chunk's suffix from r, and the next chunk's rows before r + k (none when r
        # starts a chunk: + 0.0 changes no sum)
        tails, heads = suffix.reshape(size, channels), prefix.reshape(size, channels)
        np.add(tails[lead:lead + rows], heads[lead + k:lead + k + rows], out=out[first:last])
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
        self.seen = 0  # rows pushed: the data's row number of the end of `buf`

    def _emit(self, data: np.ndarray, count: int, end: int) -> np.ndarray:
        # each window is summed over the same values (zeros outside the data) in the same order whatever the
        # blocks (aligned_window_sums): a running sum would make batch scores depend on the data seen long before,
        # and differ from streamed ones
        first = len(data) - self.pending
        if count <= 0:
            self.buf = data[max(0, first - self.behind):]
            return np.zeros((0, data.shape[1]))
        idx = np.arange(first, first + count)
        lo = np.maximum(0, idx - self.behind)
        hi = np.minimum(end, idx + self.ahead + 1)
        start, stop = first - self.behind, first + count + self.ahead
        channels = data.shape[1]
        padded = np.concatenate([np.zeros((max(0, -start), channels)), data[max(0, start): min(end, stop)],
                                 np.zeros((max(0, stop - end), channels))])
        sums = aligned_window_sums(padded, self.seen - len(data) + start, self.k)  # (count, C)
        out = sums / (hi - lo)[:, None]
        keep_from = max(0, first + count - self.behind)
        self.buf = data[keep_from:]
        self.pending -= count
        return out

    def push(self, rows: np.ndarray) -> np.ndarray:
        if self.k == 1:
            return rows
        data = np.concatenate([self.buf, rows]) if len(self.buf) else rows
        self.pending += len(rows)
        self.seen += len(rows)
        return self._emit(data, max(0, self.pending - self.ahead), len(data))

    def flush(self) -> np.ndarray:
        if self.k == 1 or self.pending == 0:
            return np.zeros((0, self.buf.shape[1]))
        return self._emit(self.buf, self.pending, len(self.buf))


#: the range of a shorter smoothing's factor (:class:`ScoreSmoother`): a fit writes the ratio of two alarm levels of
#: the same rows over ``short_margin`` (0.1 to 3 on the development series), clipped to it; a detector file beyond it
#: is refused (a factor of 1e30 put every sample in alarm)
SHORT_FACTORS = (1e-3, 1e3)


#: the most a sample's own excess over normal adds to its smoothed error row, as a share of the row's sum
#: (:class:`ScoreSmoother`), in detector files before version 8: a plateau that the long smoothing spreads around a
#: spike is flat to a percent or two; uncapped (weight 0.35) the excess raised the development NAB series' false
#: events from 41 to 50, capped at 0.05 to 45 (before the excess was kept from lifting a score across the threshold)
POINT_CAP_BEFORE_8 = 0.05
#: the cap a fit gives (:attr:`DetectorState.point_cap`): since the excess never lifts a score across the threshold,
#: the cap changes no alarm, only the ranking, and 0.05 hid a short anomaly of one of several correlated sensors
#: (its own samples 10 times their normal error) below the plateau the long smoothing moved 100 samples past it
#: (eval_anomaly_unseen.py multi3 contextual, development seed 104: PR-AUC 0.23 at 0.05, 0.59 at 0.15 and 0.3 alike)
POINT_CAP = 0.15


class ScoreSmoother:
    """The moving mean of the error rows over ``smooth`` samples and over the shorter lengths of ``short``: each
    row is the one of the smoothing whose score, times its factor, is highest.

    A long mean finds what lasts (a drift, a level shift, a broken correlation) and dilutes what is
    short (a few spikes, a stall, a dropout of a dozen samples, which a mean over hundreds of samples
    buries). Each short smoothing's scores are put on the long one's alarm scale by its factor (the
    long smoothing's threshold on the held-out normal scores over its own, divided by the detector's
    ``short_margin``), so a sample's score is the highest of them, in the units of the long one.
    Rows are returned once every smoothing has them; the longest sets the delay.

    The long mean spreads a one-sample excursion into a plateau as wide as itself, flat to a percent or two, whose
    highest sample may lie dozens of samples away from the excursion (a statistics term is the same on every
    sample of a window, and the windows covering the excursion are cut every hop), while the shortest smoothing,
    scaled to the long one's alarm level, stays under that plateau: the excursion's own sample ranked below its
    neighbours. Where the shortest smoothing's row of a sensor exceeds ``point_ceiling`` (its highest on the
    held-out normal data) the excess, scaled as that smoothing is and weighted by ``point_weight``, is therefore
    added to the row, at most ``point_cap`` of it (:data:`POINT_CAP`): normal data scores as before, a sample whose
    own error is beyond anything normal ranks above the plateau it raised, and the excess alone does not lift a
    score far below the alarm level above it (:class:`ScoringCore` with its ``alarm`` keeps it from lifting any score
    across the alarm level: it ranks, it does not alarm).

    Parameters
    ----------
    smooth, channels, centered
        The main (longest) smoothing: see :class:`_MovingMean`.
    short
        ``(length, factor)`` of each shorter smoothing (none: the main one alone, as before).
    point_weight, point_ceiling, point_cap
        The weight of the shortest smoothing's excess over each sensor's ``point_ceiling`` ``(C,)`` (0 or None:
        none, as in detector files before version 7; nothing without ``short``), and the most it adds, as a share
        of the row's sum (:data:`POINT_CAP_BEFORE_8` in detector files before version 8).
    """

    def __init__(self, smooth: int, channels: int, centered: bool = True,
                 short: Sequence[tuple[int, float]] = (), point_weight: float = 0.0,
                 point_ceiling: np.ndarray | None = None, point_cap: float = POINT_CAP_BEFORE_8) -> None:
        self.movers = [_MovingMean(smooth, channels, centered)]
        self.movers += [_MovingMean(length, channels, centered) for length, _ in short]
        self.factors = np.array([1.0, *(float(factor) for _, factor in short)])
        self.ready = [np.zeros((0, channels)) for _ in self.movers]  # smoothed rows the others lack yet
        self.point = 1 + int(np.argmin([length for length, _ in short])) if len(short) else 0  # the shortest
        self.point_weight = float(point_weight)
        self.point_cap = float(point_cap)
        self.point_ceiling = None if point_ceiling is None or not self.point or not self.point_weight > 0 else \
            self.factors[self.point] * np.asarray(point_ceiling, np.float64)  # scaled as the shortest's rows
        #: what the excess added to the rows last returned ``(m, C)`` (None without ``point_ceiling``)
        self.added: np.ndarray | None = None

    @property
    def pending(self) -> int:
        """Rows pushed and not yet returned."""
        return max(mover.pending + len(ready) for mover, ready in zip(self.movers, self.ready, strict=True))

    def push(self, rows: np.ndarray) -> np.ndarray:
        return self._combine([mover.push(rows) for mover in self.movers])

    def flush(self) -> np.ndarray:
        return self._combine([mover.flush() for mover in self.movers])

    def _combine(self, outs: list[np.ndarray]) -> np.ndarray:
        if len(outs) == 1:
            return outs[0]
        for i, rows in enumerate(outs):
            self.ready[i] = np.concatenate([self.ready[i], rows]) if len(self.ready[i]) else rows
        m = min(len(ready) for ready in self.ready)
        stack = np.stack([ready[:m] for ready in self.ready]) * self.factors[:, None, None]  # (K, m, C)
        self.ready = [ready[m:] for ready in self.ready]
        totals = stack.sum(axis=2)
        best = np.argmax(np.where(np.isnan(totals), -np.inf, totals), axis=0)  # NaN rows: a scale without data
        rows = stack[best, np.arange(m)]
        if self.point_ceiling is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                excess = np.maximum(stack[self.point] - self.point_ceiling, 0.0)
                bonus = self.point_weight * np.where(np.isnan(excess), 0.0, excess)
                added, cap = bonus.sum(axis=1), self.point_cap * rows.sum(axis=1)
                self.added = bonus * np.where(added > cap, cap / added, 1.0)[:, None]  # each sensor's share kept
                rows += self.added
        return rows


def window_stats(frames: np.ndarray) -> np.ndarray:
    """Local statistics of each window and sensor: ``(F, L, C)`` frames -> ``(F, C, 3)``.

    The window's mean (level), the log of its standard deviation (amplitude, noise, flat
    lines) and the log of its mean absolute first difference (frequency, spikes, noise).
    """
    from tsae.pipelines.anomaly._kernels import window_stats as kernel

    frames = np.asarray(frames, np.float64)
    out = np.empty((frames.shape[0], frames.shape[2], 3))
    kernel(frames, out)
    return out


#: how a band's share of a window's variance is logged: ``log(share + BAND_SHARE_FLOOR)``, so that bands holding
#: almost none of it (under a percent) do not swing the statistic by their rounding
BAND_SHARE_FLOOR = 1e-2
#: the least robust spread of a band's logged share: a share must change by a factor of about e ** 0.5 = 1.65 to
#: count one unit (at 0.25, as the other statistics, the plant's drifts lost 0.009 of PR-AUC to the term's noise)
BAND_SPREAD_FLOOR = 0.5


def band_starts(length: int) -> np.ndarray:
    """The first frequency bin of each spectral band of a window of ``length`` samples (see :func:`band_shares`).

    Bins ``k = 1 .. length // 2`` (``k`` cycles per window) are grouped into half-octave bands
    (``floor(2 log2 k)``), the empty ones (at the lowest frequencies, where a half octave holds no
    whole bin) left out: ``{1}, {2}, {3}, {4, 5}, {6, 7}, {8 .. 11}, {12 .. 15}, ...``.
    """
    bins = np.arange(1, max(2, length // 2 + 1))
    band = np.floor(2.0 * np.log2(bins) + 1e-9).astype(np.int64)
    return np.flatnonzero(np.r_[True, band[1:] != band[:-1]])


#: bytes of float64 frames that the statistics and the scoring work on at once: their working arrays (spectra,
#: errors) are a few times that. A long window's thousands of training frames at once took gigabytes (window 16384,
#: 4 sensors: 3617 frames, 1.9 GB a copy); every frame's values are computed alone, the same in any part
FRAME_PART_BYTES = 32 * 2**20


def frame_rows(length: int, channels: int) -> int:
    """How many frames of ``length`` samples of ``channels`` sensors fit in :data:`FRAME_PART_BYTES` as float64 (at
    least 1)."""
    return max(1, FRAME_PART_BYTES // max(1, 8 * length * channels))


def frame_parts(frames: np.ndarray) -> list[np.ndarray]:
    """``frames`` ``(F, L, C)`` in consecutive parts of at most :func:`frame_rows` frames (views; one part at
    least, empty if ``frames`` is)."""
    step = frame_rows(frames.shape[1], frames.shape[2])
    return [frames[i:i + step] for i in range(0, len(frames), step)] or [frames]


def band_shares(frames: np.ndarray) -> np.ndarray:
    """Spectral shape of each window and sensor: ``(F, L, C)`` frames -> ``(F, C, B)``.

    Each band's (:func:`band_starts`) share of the power of the window's periodogram (its mean
    removed, under a Hann taper, so that a strong slow cycle does not leak into the bands above
    it), as ``log(share + BAND_SHARE_FLOOR)``: a sensor whose cycle runs faster or slower, or whose
    noise changes colour, moves power from one band to another while its level, spread and step
    size may stay in range. A window without variance has every share 0.
    """
    frames = np.asarray(frames, np.float64)
    length = frames.shape[1]
    tapered = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(length)[None, :, None]
    power = np.abs(np.fft.rfft(tapered, axis=1)[:, 1:length // 2 + 1]) ** 2  # (F, K, C)
    if power.shape[1] == 0:  # a window of 1 sample
        power = np.zeros((frames.shape[0], 1, frames.shape[2]))
    bands = np.add.reduceat(power, band_starts(length)[: max(1, power.shape[1])], axis=1)  # (F, B, C)
    total = power.sum(axis=1, keepdims=True)
    shares = np.divide(bands, total, out=np.zeros_like(bands), where=total > 1e-12 * length)
    return np.log(shares + BAND_SHARE_FLOOR).transpose(0, 2, 1)


#: frames per group of frames a scale scores on the CPU: in float64 the working arrays of thousands of frames (tens
#: of MB) overflow the caches, and the network ran at half the speed; the values are those of any other groups, to
#: the last bit (the network's calls: :mod:`~tsae.pipelines.anomaly.model_slots`; the overlap mean: _OverlapMean)
CPU_MODEL_FRAMES = 512


@dataclass
class FrameJob:
    """The frames a push of ``n`` rows completes in one window scale (:meth:`_ScaleScorer.take`): their ``starts``,
    a view of the rows they are cut from, in ``parts`` parts of at most the scorer's ``group`` frames; the error
    rows and frame means each settled part gave."""

    n: int
    starts: np.ndarray
    view: np.ndarray | None
    parts: int
    rows: list[np.ndarray] = field(default_factory=list)
    means: list[np.ndarray] = field(default_factory=list)
    shared: list[np.ndarray] = field(default_factory=list)  # the statistics rows of the shared rise


@dataclass
class FrameErrors:
    """The errors of one scale's frames (:meth:`_ScaleScorer.frame_outputs`): ``errors`` ``(F, L, C)``, every term
    weighted and added, and, where the scale measures the shared rise, ``shared`` ``(F, C)``: its statistics term's
    error of each frame, unweighted (the same on all the frame's rows; None: not measured)."""

    errors: np.ndarray
    shared: np.ndarray | None = None

    def split(self, cuts: np.ndarray) -> list[FrameErrors]:
        """The errors of the frames before each cut, between two cuts and after the last (``np.split``)."""
        errors = np.split(self.errors, cuts)
        shared = [None] * len(errors) if self.shared is None else np.split(self.shared, cuts)
        return [FrameErrors(e, s) for e, s in zip(errors, shared, strict=True)]


@dataclass
class FrameBlock:
    """Frames of one window scale to score: ``values`` ``(F, L, C)`` and each one's ``numbers`` ``(F,)`` in its
    stream (its start over the hop, plus the stream's shift: where the network computes it,
    :mod:`~tsae.pipelines.anomaly.model_slots`)."""

    values: np.ndarray
    numbers: np.ndarray

    @property
    def size(self) -> int:
        """The frames' values."""
        return int(self.values.size)

    def __len__(self) -> int:
        return len(self.values)

    @staticmethod
    def join(blocks: Sequence[FrameBlock]) -> FrameBlock:
        """The frames of ``blocks``, one after the other."""
        if len(blocks) == 1:
            return blocks[0]
        return FrameBlock(np.concatenate([b.values for b in blocks]), np.concatenate([b.numbers for b in blocks]))


#: a push in steps: it yields the frames (:class:`FrameBlock`) of each window scale it needs scored, is sent back
#: their errors (:meth:`_ScaleScorer.frame_outputs`), and returns its result; see :func:`run_steps`
FrameSteps = Generator[list[FrameBlock], list[FrameErrors], T]


def score_frames(scales: Sequence[_ScaleScorer], frames: Sequence[FrameBlock]) -> list[FrameErrors]:
    """The errors of each scale's frames (none: empty arrays)."""
    return [scale.frame_outputs(part.values, part.numbers) for scale, part in zip(scales, frames, strict=True)]


def run_steps(steps: FrameSteps[T], scales: Sequence[_ScaleScorer]) -> T:
    """Run a push in steps to its end, scoring its frames here with ``scales``; its result."""
    try:
        frames = next(steps)
        while True:
            frames = steps.send(score_frames(scales, frames))
    except StopIteration as stop:
        return cast(T, stop.value)


class _ScaleScorer:
    """The per-sample error of one window scale: frames every ``hop`` samples, their errors, the overlap mean.

    Fed normalised rows ``(n, C)``; returns the rows whose error is final (see
    :class:`_OverlapMean`). The errors of the scale's terms (autoencoder, subspace, local
    statistics) are each divided by their normal level and weighted, then added.
    """

    def __init__(self, term: ScaleTerm, channels: int, model: Any = None, ae_scale: np.ndarray | None = None,
                 ae_weight: float = 0.0, device: Any = None, dtype: Any = None, batch_frames: int = 4096,
                 early: bool = False, shared: bool = False) -> None:
        self.term = term
        self.window, self.hop, self.channels = term.window, term.hop, channels
        self.model = model if ae_weight > 0 else None
        self.ae_scale, self.ae_weight = ae_scale, ae_weight
        self.device, self.dtype, self.batch_frames = device, dtype, batch_frames
        #: frames scored at once (the network's batch): fewer on the CPU (CPU_MODEL_FRAMES), where their working
        #: arrays then stay in the caches; each row is final once the frames after it come, with the values of any
        #: other groups (_OverlapMean)
        self.group = min(batch_frames, frame_rows(self.window, channels))  # a long window's: a few, not thousands
        if getattr(device, "type", "cpu") == "cpu":
            self.group = min(self.group, CPU_MODEL_FRAMES)
        self.buffer = np.zeros((0, channels))  # normalised samples from self.buffer_start on
        self.buffer_start = 0
        self.next_frame = 0
        self.seen = 0
        self.shift = 0  # added to the frames' numbers (model_slots.stream_shift of the first sample)
        self.ola = _OverlapMean(self.window, self.hop, channels)
        self.last_raw: np.ndarray | None = None  # last overlap-added error row
        self.early = early
        self.early_rows: list[np.ndarray] = []  # per pushed sample: its newest complete window's mean error
        self._newest_mean = np.full(channels, np.nan)  # the mean error of frame `_newest_frame` (-1: none yet)
        self._newest_frame = -1
        #: the scale measures the shared rise (:func:`shared_rise_flags`): beside its error rows, it keeps its
        #: statistics term's own (unweighted) error rows, overlap-averaged alike, for :meth:`take_shared`
        self.shared = shared and term.stats is not None and term.stats_weight > 0
        self.shared_ola = _OverlapMean(self.window, self.hop, channels) if self.shared else None
        self.shared_rows: list[np.ndarray] = []
        self.last_shared: np.ndarray | None = None

    def frame_errors(self, frames: np.ndarray) -> np.ndarray:
        """Per-frame, per-sample, per-sensor weighted, normalised error ``(F, L, C)``."""
        return self.frame_outputs(frames).errors

    def frame_outputs(self, frames: np.ndarray, numbers: np.ndarray | None = None) -> FrameErrors:
        """:meth:`frame_errors`, and the statistics term's own error of each frame ``(F, C)`` where the scale
        measures the shared rise (computed once for both).

        ``numbers``: each frame's number in its stream (None: 0, 1, ...), where the network computes it on the CPU
        (:func:`~tsae.pipelines.anomaly.model_slots.slotted_forward`): a frame's errors are then the same bits
        whatever frames come with it.
        """
        if not len(frames):
            return FrameErrors(np.zeros(frames.shape), np.zeros((0, self.channels)) if self.shared else None)
        # the working arrays of a block of frames are a few times its size: the network runs `group` frames at a
        # time; each term's error is added in one compiled pass
        from tsae.pipelines.anomaly._kernels import add_subspace_squares, add_weighted_squares
        from tsae.pipelines.anomaly.model_slots import slotted_forward

        term = self.term
        errors = np.zeros(frames.shape)
        channels = self.channels
        if self.model is not None:
            ae_scale = np.broadcast_to(np.asarray(self.ae_scale, np.float64), (channels,)).copy()
            step = self.group
            numbers = np.arange(len(frames)) if numbers is None else numbers
            slotted = getattr(self.device, "type", "cpu") == "cpu"
            for start in range(0, len(frames), step):
                part = slice(start, start + step)
                inputs = np.ascontiguousarray(frames[part].transpose(0, 2, 1))  # (F, C, L)
                if slotted:  # each frame in its fixed place of a call of fixed size: its bits in any block
                    recon = slotted_forward(self.model, inputs, numbers[part], device=self.device, dtype=self.dtype)
                else:  # float32 on a GPU: equal to its own rounding only
                    recon = forward(self.model, inputs, batch_size=step, device=self.device, dtype=self.dtype)
                if recon.shape != inputs.shape:  # the kernel reads both alike
                    raise ValueError(f"the model reconstructs frames of shape {inputs.shape[1:]} as "
                                     f"{recon.shape[1:]}")
                if not np.isfinite(recon).all():  # else left out as a scale without data, scored without it
                    from tsae.plugins import family_label

                    raise ValueError(f"{family_label(getattr(self.model, 'name', '?'))} reconstructs NaN or infinite "
                                     "values from finite frames (weights blown up by a diverged training, or the "
                                     "family's bug)")
                add_weighted_squares(errors[part], np.ascontiguousarray(recon, np.float64), inputs,
                                     self.ae_weight, ae_scale)
                del inputs, recon
        if term.pca is not None and term.pca_weight > 0:
            pca = term.pca
            # frame by frame, in a fixed order: the same bits in any block of frames (BLAS's products are not)
            values = own_level_removed(frames, axis=1) if pca.level_free else np.ascontiguousarray(frames, np.float64)
            add_subspace_squares(errors, values, pca.mean, pca.components,
                                 np.ascontiguousarray(pca.components.T), term.pca_weight,
                                 np.broadcast_to(pca.err_scale, (channels,)).astype(np.float64))
        shared = None
        if term.stats is not None and term.stats_weight > 0:
            distance = term.stats.distance(frames)
            errors += (term.stats_weight * distance / term.stats.err_scale)[:, None, :]
            if self.shared:
                shared = distance / term.stats.err_scale
        return FrameErrors(errors, shared)

    def push(self, z: np.ndarray) -> np.ndarray:
        """Add normalised rows ``(n, C)``; return the final error rows ``(m, C)``."""
        job = self.take(z)
        for part in range(job.parts):
            block = self.frames(job, part)
            self.settle(job, part, self.frame_outputs(block.values, block.numbers))
        return self.done(job)

    # push in three steps, so that the frames of many scorers can be scored in one call (frame_errors of their
    # frames joined: :func:`score_frames`): take the rows, then each part's frames and their errors, then done
    def take(self, z: np.ndarray) -> FrameJob:
        """Add normalised rows ``(n, C)``; the frames they complete, to score part by part (:meth:`frames`,
        :meth:`settle`) before :meth:`done`."""
        if self.seen == 0 and len(z):
            from tsae.pipelines.anomaly.model_slots import stream_shift

            self.shift = stream_shift(z[0])
        self.buffer = np.concatenate([self.buffer, z]) if len(self.buffer) else z
        self.seen += len(z)
        last_start = self.seen - self.window
        starts = np.arange(self.next_frame, last_start + 1, self.hop) if last_start >= self.next_frame else \
            np.zeros(0, dtype=np.int64)
        # float64 frames: the engine's framing is float32, which would change the scores
        view = np.lib.stride_tricks.sliding_window_view(self.buffer, self.window, axis=0) if len(starts) else None
        return FrameJob(len(z), starts, view, -(-len(starts) // self.group))

    def frames(self, job: FrameJob, part: int) -> FrameBlock:
        """The frames ``(F, L, C)`` of ``job``'s part ``part`` (at most ``group`` frames; none past its parts)."""
        group = job.starts[part * self.group:(part + 1) * self.group]
        if job.view is None or not len(group):
            return FrameBlock(np.zeros((0, self.window, self.channels)), np.zeros(0, np.int64))
        first = int(group[0]) - self.buffer_start  # the frames every hop rows: a strided view, copied once
        frames = job.view[first: first + self.hop * (len(group) - 1) + 1: self.hop]
        numbers = np.asarray(group, np.int64) // self.hop + self.shift
        return FrameBlock(np.ascontiguousarray(frames.transpose(0, 2, 1)), numbers)

    def settle(self, job: FrameJob, part: int, errors: FrameErrors) -> None:
        """Take the errors (:meth:`frame_outputs`) of ``job``'s part ``part``'s frames."""
        group = job.starts[part * self.group:(part + 1) * self.group]
        if not len(group):
            return
        if self.early:
            job.means.append(errors.errors.mean(axis=1))
        job.rows.append(self.ola.push(group, errors.errors, int(group[-1]) + self.hop))
        if self.shared_ola is not None:
            assert errors.shared is not None, "a scale of the shared rise is given its statistics errors"
            job.shared.append(self.shared_ola.push_values(group, errors.shared, int(group[-1]) + self.hop))

    def done(self, job: FrameJob) -> np.ndarray:
        """The final error rows ``(m, C)`` once every part of ``job`` is settled."""
        starts = job.starts
        if len(starts):
            self.next_frame = int(starts[-1]) + self.hop
        else:
            job.rows.append(self.ola.emit(self.next_frame))
            if self.shared_ola is not None:
                job.shared.append(self.shared_ola.emit(self.next_frame))
        if self.early:
            self.early_rows.append(self._held_window_means(self.seen - job.n, job.n, starts, job.means))
        rows = np.concatenate(job.rows) if len(job.rows) > 1 else job.rows[0]
        if len(rows):
            self.last_raw = rows[-1].copy()
        if self.shared_ola is not None:
            shared = np.concatenate(job.shared) if len(job.shared) > 1 else job.shared[0]
            if len(shared):
                self.last_shared = shared[-1].copy()
            self.shared_rows.append(shared)
        drop = min(self.next_frame, self.seen) - self.buffer_start
        if drop > 0:
            self.buffer = self.buffer[drop:]
            self.buffer_start += drop
        return rows

    def _held_window_means(self, first: int, n: int, starts: np.ndarray, means: list[np.ndarray]) -> np.ndarray:
        """Rows ``(n, C)`` of samples ``first, first + 1, ...``: the mean error of the newest window complete
        at each (NaN before the first), known as the sample arrives (see :mod:`tsae.pipelines.anomaly.early`).

        ``means``: the mean error ``(F, C)`` of the frames at ``starts``, in groups."""
        table = self._newest_mean[None]
        if len(starts):  # frames follow the newest one without a gap
            table = np.concatenate([table, *means])
            self._newest_mean = table[-1].copy()
            self._newest_frame = int(starts[-1]) // self.hop
        newest = (np.arange(first, first + n) - self.window + 1) // self.hop
        base = self._newest_frame - (len(table) - 1)  # the frame number of table[0]
        return table[np.where(newest < 0, 0, newest - base)]

    def flush(self) -> np.ndarray:
        """Error rows of the pending samples at the end of the data.

        Rows covered by some window get their overlap mean; the trailing rows no full
        window covers (fewer than ``hop``) repeat the last overlap-added row; NaN rows when
        this scale never had a whole window.
        """
        pending = self.seen - self.ola.base
        if pending <= 0:
            return np.zeros((0, self.channels))
        if self.shared_ola is not None:
            self.shared_rows.append(_tail(self.shared_ola, pending, self.last_shared))
        return _tail(self.ola, pending, self.last_raw)

    def take_shared(self) -> np.ndarray:
        """The statistics term's own error rows ``(m, C)`` made final since the last call, in step with the error
        rows (a scale that measures the shared rise: see :meth:`frame_outputs`)."""
        rows = np.concatenate(self.shared_rows) if self.shared_rows else np.zeros((0, self.channels))
        self.shared_rows = []
        return rows


def _tail(ola: _OverlapMean, pending: int, last: np.ndarray | None) -> np.ndarray:
    """The ``pending`` rows of ``ola`` at the end of the data (see :meth:`_ScaleScorer.flush`): ``last``, the last
    row it emitted (None: none)."""
    covered = ola.emit(ola.base + len(ola.acc))
    n_fill = pending - len(covered)
    ola.base += n_fill
    if n_fill and len(covered) == 0 and last is None:  # shorter than one window
        return np.full((n_fill, ola.channels), np.nan)
    if n_fill:
        last = covered[-1] if len(covered) else last
        assert last is not None
        covered = np.concatenate([covered, np.tile(last, (n_fill, 1))])
    return covered


def shared_rise_flags(state: DetectorState) -> list[bool]:
    """For the main window scale, then each further one: whether its statistics errors measure the rise most sensors
    share (:func:`shared_rise_scores`); all False where the state discounts none (``shared_rise`` 1, no normal level
    of it, fewer than :data:`SHARED_RISE_SENSORS` sensors, no statistics term)."""
    terms = [state.primary_term(), *state.scales]
    if not state.shared_rise > 1.0 or state.shared_base is None or state.channels < SHARED_RISE_SENSORS:
        return [False] * len(terms)
    return [t.stats is not None and t.stats_weight > 0 for t in terms]


class _SharedRise:
    """Each sensor's statistics-term error of every scale that measures it, summed and smoothed as the score is
    (the long smoothing), for :func:`shared_rise_scores`: rows ``ready`` in step with the scored rows.

    The scales' scorers compute those errors with their own (:meth:`_ScaleScorer.take_shared`); :meth:`add` is
    given their rows after each push and at the end of the data.
    """

    def __init__(self, scales: int, channels: int, smooth: int, centered: bool) -> None:
        self.pending = [np.zeros((0, channels)) for _ in range(scales)]
        self.mover = _MovingMean(smooth, channels, centered)
        self.ready = np.zeros((0, channels))

    def add(self, parts: list[np.ndarray], final: bool = False) -> None:
        """Take each scale's new statistics rows (``final``: the last, at the end of the data)."""
        for i, rows in enumerate(parts):
            self.pending[i] = np.concatenate([self.pending[i], rows]) if len(self.pending[i]) else rows
        m = min(len(p) for p in self.pending)
        rows = sum_present(np.stack([p[:m] for p in self.pending]))
        self.pending = [p[m:] for p in self.pending]
        out = self.mover.push(rows)
        if final:
            out = np.concatenate([out, self.mover.flush()])
        self.ready = np.concatenate([self.ready, out]) if len(self.ready) else out


class ScoringCore:
    """Block-wise scoring shared by batch scoring and the streaming monitor.

    Feed raw samples ``(n_sensors, n)`` with :meth:`push` (any block size, NaN allowed);
    it returns ``(scores (m,), contributions (n_sensors, m))`` for the samples whose score
    became final. :meth:`flush` scores the trailing samples at the end of the data.
    Internally the core works on rows (time first), the layout of its frames. Each window
    scale of the detector has its own framing; a sample's error is the sum over the scales,
    final once every scale has it. Built with ``early``, it also keeps each sample's early
    error row as the sample arrives (:meth:`take_early`).

    ``alarm`` (the detector's threshold; None: not known) keeps a sample's own excess over normal
    (:class:`ScoreSmoother`) from lifting its score across it: a score at or below ``alarm`` without the excess
    stays at most ``alarm``, so the excess ranks samples and never raises or lengthens an alarm (it added false
    events on normal samples a little beyond the held-out rows' highest). A
    :class:`~tsae.pipelines.anomaly.drift.DriftingCore` moves it with its level.
    """

    def __init__(self, state: DetectorState, device: Any = "cpu", batch_frames: int = 4096,
                 early: bool = False, alarm: float | None = None) -> None:

        import torch

        from tsae.models.device import resolve_device
        from tsae.pipelines.anomaly import _kernels

        _kernels.warm()
        self.state = state
        self.device = resolve_device(device)
        # float64 on the CPU, each window in its fixed place of a call of fixed size (model_slots): its reconstruction
        # is the same bits however many windows a push has, so streaming (small pushes) equals batch (large ones)
        self.dtype = torch.float64 if self.device.type == "cpu" else torch.float32
        model = None
        if state.ae_weight > 0:
            model = state.model
            if self.dtype == torch.float64:
                model = copy.deepcopy(model).to(dtype=torch.float64)
            model = model.to(self.device).eval()
        self.window, self.hop = state.window, state.hop
        self.channels = state.channels
        assert state.normalizer.center is not None, "the detector state holds a fitted normaliser"
        # the core's own copy, read at every push: drift updates (tsae.pipelines.anomaly.drift) move it
        self.normalizer = copy.deepcopy(state.normalizer)
        self.last_good = state.normalizer.center.copy()
        self.repaired = 0
        self.clipped = 0  # normalised values clipped to +-Z_BOUND
        flags = shared_rise_flags(state)
        primary = _ScaleScorer(state.primary_term(), self.channels, model, state.err_scale, state.ae_weight,
                               self.device, self.dtype, batch_frames, early=early, shared=flags[0])
        self.scales = [primary] + [_ScaleScorer(term, self.channels, early=early, shared=flag)
                                   for term, flag in zip(state.scales, flags[1:], strict=True)]
        self.pending = [np.zeros((0, self.channels)) for _ in self.scales]
        self.smoother = ScoreSmoother(state.smooth, self.channels, state.centered, state.short_smooth,
                                      state.point_weight, state.point_ceiling, state.point_cap)
        self.alarm = alarm
        self.shared = _SharedRise(sum(flags), self.channels, state.smooth, state.centered) if any(flags) else None
        #: the monitor's degraded scoring while sensors are silent (:mod:`~tsae.pipelines.anomaly.silent`)
        self.silent: SilentScoring | None = None
        self.flushed = False  # the stream ended (flush): no more samples

    @property
    def seen(self) -> int:
        """Number of samples pushed so far."""
        return self.scales[0].seen

    @property
    def last_row(self) -> np.ndarray | None:
        return self._last_row if hasattr(self, "_last_row") else None

    def take_early(self) -> np.ndarray:
        """The early error rows ``(n, C)`` of the samples pushed since the last call (a core built with ``early``).

        A sample's early row is known as it arrives, a window or two before its score: the
        mean error of the newest complete window of each scale, summed over the scales (NaN
        before any scale has a window). See :mod:`tsae.pipelines.anomaly.early`.
        """
        parts = []
        for scale in self.scales:
            parts.append(np.concatenate(scale.early_rows) if scale.early_rows else np.zeros((0, self.channels)))
            scale.early_rows = []
        rows = sum_present(np.stack(parts))
        return rows if self.silent is None else self.silent.weigh_early(rows)

    def _combine(self, parts: list[np.ndarray]) -> np.ndarray:
        """Sum the scales' error rows over the samples every scale has finished."""
        for i, rows in enumerate(parts):
            self.pending[i] = np.concatenate([self.pending[i], rows]) if len(self.pending[i]) else rows
        m = min(len(p) for p in self.pending)
        if len(self.pending) == 1:
            rows, self.pending[0] = self.pending[0][:m], self.pending[0][m:]
            return rows
        stack = np.stack([p[:m] for p in self.pending])
        self.pending = [p[m:] for p in self.pending]
        return sum_present(stack)

    def _finish(self, rows: np.ndarray, final: bool = False) -> tuple[np.ndarray, np.ndarray]:
        if self.silent is not None:
            rows = self.silent.weigh(rows)
        rows, added = self.smoother.push(rows), self.smoother.added
        if final:
            rows = np.concatenate([rows, self.smoother.flush()])
            added = None if added is None or self.smoother.added is None else \
                np.concatenate([added, self.smoother.added])
        plain = None if self.alarm is None or added is None else rows - added  # the rows without the excess
        if self.silent is not None:
            rows, plain = self.silent.weigh_smoothed(rows, plain)
        if len(rows):
            self._last_row = rows[-1].copy()
        total = rows.sum(axis=1)
        shared = None
        if self.shared is not None:  # the statistics rows smoothed alike, as many as the scored rows
            shared, self.shared.ready = self.shared.ready[:len(rows)], self.shared.ready[len(rows):]
        scores = shared_rise_scores(rows, shared, self.state.shared_base, self.state.shared_rise, total)
        if plain is not None and self.alarm is not None:
            below = shared_rise_scores(plain, shared, self.state.shared_base, self.state.shared_rise)
            scores = np.where(below > self.alarm, scores, np.minimum(scores, np.maximum(below, self.alarm)))
        return scores, self._contributions(rows, total)

    def _contributions(self, rows: np.ndarray, total: np.ndarray) -> np.ndarray:
        """Each sensor's share of what is abnormal in a row (shares sum to 1).

        With each sensor's normal error level (``contrib_base``: its mean error on held-out
        normal rows), a sensor's share is its error in excess of its own normal level, so a
        quiet sensor that goes wrong outranks a noisy one that is as noisy as usual; rows with
        no excess (normal rows) fall back to the error ratios. Without them, shares of the raw error.
        """
        return error_shares(rows, self.state.contrib_base, total)

    def push(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Score the next samples ``(n_sensors, n)``.

        Returns ``(scores (m,), contributions (n_sensors, m))`` of the samples now final.
        """
        scores, contrib = self._push_rows(as_chunk(x, self.channels).T)
        return scores, contrib.T

    def _normalised(self, x: np.ndarray) -> np.ndarray:
        """Raw rows ``(n, C)``, absurd values already missing (:func:`as_chunk`) -> filled, z-scored, clipped rows."""
        filled, self.last_good, fixed = forward_fill(x.T, self.last_good)
        self.repaired += fixed
        with np.errstate(over="ignore", invalid="ignore"):
            z = self.normalizer.transform(filled).T
        extreme = ~(np.abs(z) <= Z_BOUND)
        if extreme.any():
            self.clipped += int(extreme.sum())
            z = np.clip(z, -Z_BOUND, Z_BOUND)
        if self.silent is not None:
            z = self.silent.repair(z)
        return z

    def _error_rows(self, x: np.ndarray) -> np.ndarray:
        """Raw rows ``(n, C)`` in, the summed error rows ``(m, C)`` now final (before smoothing) out."""
        return run_steps(self._error_rows_steps(x), self.scales)

    def _error_rows_steps(self, x: np.ndarray) -> FrameSteps[np.ndarray]:
        """:meth:`_error_rows` in steps (:data:`FrameSteps`): the frames of every scale, a part at a time."""
        if len(x) == 0:
            return np.zeros((0, self.channels))
        z = self._normalised(x)
        jobs = [scale.take(z) for scale in self.scales]
        for part in range(max(job.parts for job in jobs)):
            errors = yield [scale.frames(job, part) for scale, job in zip(self.scales, jobs, strict=True)]
            for scale, job, error in zip(self.scales, jobs, errors, strict=True):
                scale.settle(job, part, error)
        rows = [scale.done(job) for scale, job in zip(self.scales, jobs, strict=True)]
        self._add_shared()
        return self._combine(rows)

    def _add_shared(self, final: bool = False) -> None:
        """Hand the shared rise the statistics rows its scales made final."""
        if self.shared is not None:
            self.shared.add([scale.take_shared() for scale in self.scales if scale.shared], final)

    def _push_rows(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return run_steps(self._push_rows_steps(x), self.scales)

    def check_open(self) -> None:
        """A RuntimeError once the core was flushed: a core scores one stream.

        Its scales' overlap means moved past the samples held for a window, so a push after it placed frames
        before their buffers' start (a compiled kernel wrote outside its arrays).
        """
        if self.flushed:
            raise RuntimeError("the scoring core was flushed (its stream ended): it takes no more samples; "
                               "score a new stream with a new core (detector.core())")

    def _push_rows_steps(self, x: np.ndarray) -> FrameSteps[tuple[np.ndarray, np.ndarray]]:
        """Raw rows ``(n, C)`` in steps (:data:`FrameSteps`); the scores and contribution rows now final."""
        self.check_open()
        if len(x) == 0:
            return np.zeros(0), np.zeros((0, self.channels))
        return self._finish((yield from self._error_rows_steps(x)))

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """End of data: final ``(scores, contributions (n_sensors, m))`` of the pending samples.

        See :meth:`_ScaleScorer.flush`; with fewer rows than one window of every scale, the scores are NaN.
        Flushing again returns none; a push after it is a RuntimeError (:meth:`check_open`).
        """
        scores, contrib = self._flush_rows()
        return scores, contrib.T

    def _flush_error_rows(self) -> np.ndarray:
        rows = [scale.flush() for scale in self.scales]
        self._add_shared(final=True)
        return self._combine(rows)

    def _flush_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Final scores and contribution rows ``(m, C)`` of the pending samples."""
        rows = self._flush_error_rows()
        self.flushed = True
        if len(rows) == 0 and self.smoother.pending == 0:
            return np.zeros(0), np.zeros((0, self.channels))
        return self._finish(rows, final=True)


def own_level_removed(frames: np.ndarray, axis: int) -> np.ndarray:
    """A float64 copy of ``frames`` with each window's own mean per sensor (over ``axis``, its samples) taken off.

    Each window's mean is summed alone, in the same order whatever windows come with it: a frame's values are
    the same bits in any block (streaming equals batch).
    """
    out = np.array(frames, dtype=np.float64)  # the one copy, taken off in place
    out -= out.mean(axis=axis, keepdims=True)
    return out


@dataclass
class LinearTerm:
    """The linear (PCA) reconstruction whose error is added to the autoencoder's.

    ``components`` ``(k, C * L)`` and ``mean`` ``(C * L,)`` act on flattened ``(C, L)``
    windows; ``err_scale`` ``(C,)`` is each sensor's mean training error. ``level_free``: the windows' own
    mean per sensor is taken off before they are projected (:func:`own_level_removed`), at fit and scoring, so
    the term sees a window's shape and not its level (a sensor on a trend leaves its training range while its
    cycle keeps its shape; the statistics term judges the level). False: files before version 8.
    """

    components: np.ndarray
    mean: np.ndarray
    err_scale: np.ndarray
    level_free: bool = False

    def __post_init__(self) -> None:
        self.level_free = bool(self.level_free)
        self.components = np.asarray(self.components, np.float64)
        self.mean = np.asarray(self.mean, np.float64)
        self.err_scale = np.asarray(self.err_scale, np.float64)


#: where the statistics term's level distance turns from squared to linear, in robust z-scores (chosen on the
#: development series: NAB, SKAB valve1 and the generated plant's decision seeds)
LEVEL_HUBER = 3.0


@dataclass
class StatsTerm:
    """The local-statistics term: how far a window's :func:`window_stats` are from normal.

    ``median`` and ``spread`` ``(C, 3)`` are the statistics' median and robust spread
    (1.4826 MAD) over the training windows, the spread at least ``floor``: a quarter of the
    sensor's standard deviation for the level, a change of about 28% for the log spread and
    step size. Without it, a window as long as the period has an almost constant mean, and a
    slow drift of a few hundredths of a standard deviation would read as a fault. A window's
    distance per sensor is the sum of its squared robust z-scores, the level's growing only
    linearly beyond ``level_huber`` (a Huber loss: ``k (2|z| - k)``), so that a level that
    wanders slowly beyond its training range (a pump warming up, the weather) does not outweigh
    the other terms by its square; ``None``: squared throughout (detector files before version 3).
    ``err_scale`` ``(C,)`` is its normal level.

    ``band_median`` and ``band_spread`` ``(C, B)``: the same for the window's spectral shape
    (:func:`band_shares`, the spread at least :data:`BAND_SPREAD_FLOOR`), whose mean squared
    robust z-score over the ``B`` bands is added as a fourth statistic: a cycle running faster or
    slower, or noise of another colour, which level, spread and step size barely show. ``None``:
    not used (the detector's further window scales, whose windows do not hold whole cycles, and
    detector files before version 4).
    """

    median: np.ndarray
    spread: np.ndarray
    err_scale: np.ndarray
    level_huber: float | None = LEVEL_HUBER
    band_median: np.ndarray | None = None
    band_spread: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.median = np.asarray(self.median, np.float64)
        self.spread = np.asarray(self.spread, np.float64)
        self.err_scale = np.asarray(self.err_scale, np.float64)
        self.level_huber = None if self.level_huber is None else float(self.level_huber)
        if (self.band_median is None) != (self.band_spread is None):
            raise ValueError("band_median and band_spread come together")
        if self.band_median is not None:
            self.band_median = np.asarray(self.band_median, np.float64)
            self.band_spread = np.asarray(self.band_spread, np.float64)

    @classmethod
    def fit(cls, frames: np.ndarray, floor: float = 0.25, level_huber: float | None = LEVEL_HUBER,
            bands: bool = False) -> StatsTerm:
        """Learn the normal statistics from training frames ``(F, L, C)`` (and their spectral shape if ``bands``)."""
        stats_parts, shape_parts = [], []
        for part in frame_parts(frames):
            part = np.asarray(part, np.float64)
            stats_parts.append(window_stats(part))
            if bands:
                shape_parts.append(band_shares(part))
        stats = np.concatenate(stats_parts)
        median = np.median(stats, axis=0)
        spread = 1.4826 * np.median(np.abs(stats - median), axis=0) + floor
        band_median = band_spread = None
        if bands:
            shape = np.concatenate(shape_parts)
            band_median = np.median(shape, axis=0)
            band_spread = 1.4826 * np.median(np.abs(shape - band_median), axis=0) + BAND_SPREAD_FLOOR
        return cls(median=median, spread=spread, err_scale=np.ones(median.shape[0]), level_huber=level_huber,
                   band_median=band_median, band_spread=band_spread)

    def distance(self, frames: np.ndarray) -> np.ndarray:
        """Robust distance of each frame's statistics from normal, ``(F, C)`` (see the class notes)."""
        parts = [self._distance(part) for part in frame_parts(frames)]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _distance(self, frames: np.ndarray) -> np.ndarray:
        squares = ((window_stats(frames) - self.median) / self.spread) ** 2
        k = self.level_huber
        if k is not None:
            level = np.sqrt(squares[..., 0])
            squares[..., 0] = np.where(level <= k, squares[..., 0], k * (2.0 * level - k))
        out = squares.sum(axis=-1)
        if self.band_median is not None:
            out += (((band_shares(frames) - self.band_median) / self.band_spread) ** 2).mean(axis=-1)
        return out


@dataclass
class ScaleTerm:
    """The terms of one window scale: its frames and the weighted subspace and statistics terms."""

    window: int
    hop: int
    pca: LinearTerm | None = None
    stats: StatsTerm | None = None
    pca_weight: float = 1.0
    stats_weight: float = 1.0

    def __post_init__(self) -> None:
        self.window, self.hop = int(self.window), int(self.hop)
        self.pca_weight, self.stats_weight = float(self.pca_weight), float(self.stats_weight)


@dataclass
class DetectorState:
    """Everything a fitted detector needs to score (what the detector file stores).

    Attributes
    ----------
    model
        The trained autoencoder.
    window, hop
        Scoring frames, in samples.
    normalizer
        Each sensor's training mean and standard deviation (z-score).
    err_scale
        Each sensor's mean training reconstruction error ``(C,)`` (or one common scale).
    smooth, centered
        Moving average of the per-sample errors: its length, and centred or trailing.
    short_smooth
        ``(length, factor)`` of shorter moving averages whose scaled scores are taken where higher
        (:class:`ScoreSmoother`; empty: ``smooth`` alone).
    linear_weight, pca
        The linear term's weight and the term itself (None: autoencoder only).
    contrib_base
        Each sensor's normal (smoothed) error level, for the attribution (None: shares of the raw error).
    ae_weight
        The autoencoder term's weight (0: the network is not run).
    stats, stats_weight
        The local-statistics term of the main window scale and its weight (None: none).
    scales
        Further window scales (their subspace and statistics terms), added to the main one.
    shared_rise, shared_base
        The most a rise that most sensors share is discounted, and each sensor's normal statistics-term error, the
        rise's unit (:func:`shared_rise_scores`; 1 and None: not at all, as in detector files before version 6).
    point_weight, point_ceiling
        The weight of the shortest smoothing's excess over each sensor's highest held-out normal value of it
        ``(C,)``, added to each sample's error row (:class:`ScoreSmoother`; 0 and None: none, as in detector files
        before version 7).
    point_cap
        The most that excess adds to a row, as a share of its sum (:data:`POINT_CAP_BEFORE_8` in detector files
        before version 8; a fit gives :data:`POINT_CAP`).
    """

    model: Any
    window: int
    hop: int
    normalizer: Normalizer
    err_scale: np.ndarray
    smooth: int
    linear_weight: float = 1.0
    pca: LinearTerm | None = None
    centered: bool = True
    contrib_base: np.ndarray | None = None
    ae_weight: float = 1.0
    stats: StatsTerm | None = None
    stats_weight: float = 1.0
    scales: list[ScaleTerm] = field(default_factory=list)
    short_smooth: list[tuple[int, float]] = field(default_factory=list)
    shared_rise: float = 1.0
    shared_base: np.ndarray | None = None
    point_weight: float = 0.0
    point_ceiling: np.ndarray | None = None
    point_cap: float = POINT_CAP_BEFORE_8

    def __post_init__(self) -> None:
        self.shared_rise = float(self.shared_rise)
        self.point_weight = float(self.point_weight)
        self.point_cap = float(self.point_cap)
        if self.point_ceiling is not None:
            self.point_ceiling = np.asarray(self.point_ceiling, np.float64)
        if self.shared_base is not None:
            self.shared_base = np.maximum(np.asarray(self.shared_base, np.float64), _EPS)
        self.ae_weight = float(self.ae_weight)
        self.stats_weight = float(self.stats_weight)
        self.window, self.hop, self.smooth = int(self.window), int(self.hop), int(self.smooth)
        self.err_scale = np.asarray(self.err_scale, np.float64)
        self.linear_weight = float(self.linear_weight)
        self.centered = bool(self.centered)
        self.short_smooth = [(int(length), float(factor)) for length, factor in self.short_smooth]
        if self.contrib_base is not None:
            self.contrib_base = np.maximum(np.asarray(self.contrib_base, np.float64), _EPS)

    @property
    def channels(self) -> int:
        """Number of sensors."""
        return int(self.normalizer.n_channels or 0)

    def primary_term(self) -> ScaleTerm:
        """The main window scale's subspace and statistics terms (the autoencoder runs on it too)."""
        return ScaleTerm(self.window, self.hop, pca=self.pca, stats=self.stats, pca_weight=self.linear_weight,
                         stats_weight=self.stats_weight)

    @property
    def windows(self) -> list[int]:
        """The window length of every scale, the main one first."""
        return [self.window] + [term.window for term in self.scales]
