"""Short smoothings beside the long one: a few spikes, which a mean over two windows dilutes, are flagged; the
scores stream as they batch; the detector file keeps them, and refuses them damaged."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.scoring import ScoreSmoother
from tsae.pipelines.anomaly.selfcheck import average_precision

from sensor_data import SENSORS, make_series


def test_the_smoother_takes_the_highest_scaled_smoothing_and_streams_as_it_batches() -> None:
    rows = np.abs(np.random.default_rng(0).normal(size=(300, 2)))
    rows[150, 0] = 40.0  # one sample: a mean over 41 rows makes it about 1, a mean over 1 leaves it 40
    whole = ScoreSmoother(41, 2, True, [(5, 0.5), (1, 0.25)])
    batch = np.concatenate([whole.push(rows), whole.flush()])
    assert batch.shape == rows.shape
    np.testing.assert_allclose(batch[150], rows[150] * 0.25)  # the 1-sample smoothing, scaled, wins there
    long_only = ScoreSmoother(41, 2, True)
    plain = np.concatenate([long_only.push(rows), long_only.flush()])
    assert (batch.sum(axis=1) >= plain.sum(axis=1) - 1e-12).all()  # never below the long smoothing's score
    streamed = ScoreSmoother(41, 2, True, [(5, 0.5), (1, 0.25)])
    parts = [streamed.push(rows[i:i + 7]) for i in range(0, 300, 7)]
    np.testing.assert_array_equal(np.concatenate([*parts, streamed.flush()]), batch)


@pytest.fixture(scope="module")
def pair():
    train = make_series(1200, seed=0).T
    fitted = {short: Detector(window=24, epochs=2, device="cpu", scales=(), short_smooth=short, seed=1)
              .fit(train, sensors=SENSORS) for short in ("auto", ())}
    return fitted["auto"], fitted[()]


def test_a_few_spikes_are_flagged_with_short_smoothings_and_diluted_without(pair) -> None:
    # before: a mean over 48 samples buried 3 spiked samples (a synthetic plant's spikes: PR-AUC 0.06)
    with_short, without = pair
    assert [length for length, _ in with_short.state_.short_smooth] == [6, 1] and not without.state_.short_smooth
    test = make_series(900, seed=5).T
    test[1, [300, 420, 610]] += 0.5  # a quarter of the sensor's swing: 2x the threshold with them, 0.5x without
    for det, flagged in ((with_short, True), (without, False)):
        flags = det.predict(test)
        assert bool(flags[[300, 420, 610]].all()) is flagged
    assert not with_short.predict(make_series(900, seed=6).T)[100:800].any()  # normal data: no alarm


def test_short_smoothings_stream_as_they_batch_and_survive_the_file(pair, tmp_path) -> None:
    det = pair[0]
    test = make_series(700, seed=7).T
    test[0, 350] += 3.0
    batch = det.decision_function(test)
    core = det.core()
    parts = [core.push(test[:, i:i + 13])[0] for i in range(0, test.shape[1], 13)]
    np.testing.assert_allclose(np.concatenate([*parts, core.flush()[0]]), batch, rtol=1e-10)
    det.save(tmp_path / "d.tsae")
    loaded = Detector.load(tmp_path / "d.tsae", device="cpu")
    assert loaded.state_.short_smooth == det.state_.short_smooth
    np.testing.assert_allclose(loaded.decision_function(test), batch, rtol=1e-9)


@pytest.mark.parametrize(("value", "says"), [
    ([[0, 1.0]], r"extra\.short_smooth\[0\]\[0\]"), ([[6, -1.0]], r"extra\.short_smooth\[0\]\[1\]"),
    ([[6]], r"extra\.short_smooth\[0\]: must be a \[length, factor\] pair"), ("x", r"extra\.short_smooth: must be"),
    ([[6, float("nan")]], r"extra\.short_smooth\[0\]\[1\]"), ([[48, 1.0]], r"extra\.short_smooth\[0\]\[0\]"),
])
def test_a_damaged_short_smoothing_is_refused_naming_the_field(pair, tmp_path, craft_model_file, value, says) -> None:
    pair[0].save(tmp_path / "d.tsae")
    bad = craft_model_file(tmp_path / "d.tsae", "bad.tsae",
                           header=lambda head: head["extra"].update(short_smooth=value))
    with pytest.raises(ValueError, match=rf"bad\.tsae: .*{says}"):
        Detector.load(bad, device="cpu")


def test_a_file_without_short_smoothings_scores_as_before(pair, tmp_path, craft_model_file) -> None:
    without = pair[1]
    without.save(tmp_path / "d.tsae")
    old = craft_model_file(tmp_path / "d.tsae", "old.tsae", header=lambda head: head["extra"].pop("short_smooth"))
    test = make_series(500, seed=8).T
    np.testing.assert_allclose(Detector.load(old, device="cpu").decision_function(test),
                               without.decision_function(test), rtol=1e-9)


@pytest.mark.parametrize("value", ["short", [0], [2.5], [True]])
def test_short_smooth_settings_are_checked_by_name(value) -> None:
    with pytest.raises(ValueError, match="short_smooth"):
        Detector(window=16, epochs=1, device="cpu", scales=(), short_smooth=value).fit(make_series(400).T)


def test_the_margin_divides_each_short_factor_and_is_kept_in_the_file(pair, tmp_path) -> None:
    # a short smoothing's normal peaks reached the alarm level as often as the long one's: the margin keeps
    # them below it, so three smoothings do not raise three times the false events
    train = make_series(1200, seed=0).T
    even = Detector(window=24, epochs=2, device="cpu", scales=(), seed=1, short_margin=1.0).fit(train, sensors=SENSORS)
    default = pair[0]
    assert default.short_margin == 1.25
    for (length, factor), (same, even_factor) in zip(default.state_.short_smooth, even.state_.short_smooth,
                                                     strict=True):
        assert length == same and factor == pytest.approx(even_factor / 1.25, rel=1e-9)
    default.save(tmp_path / "d.tsae")
    assert Detector.load(tmp_path / "d.tsae", device="cpu").short_margin == 1.25


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), "big"])
def test_a_margin_that_is_not_positive_is_refused_by_name(value) -> None:
    with pytest.raises(ValueError, match="short_margin"):
        Detector(short_margin=value)


def test_a_fixed_threshold_scales_each_short_smoothing_to_its_own_level(pair) -> None:
    # a fixed threshold gave every short smoothing the factor 1 / margin, whatever its normal level: the mean over
    # the sample alone, far noisier than the long one, then crossed a threshold set above the budget's on normal
    # data (pump_normal.csv: --threshold 20, above the budget's 12.6, raised 72 false alarms a day, the budget 0).
    # A number moves the line, not the scores: they are the default budget detector's
    budget = pair[0]
    fixed = Detector(window=24, epochs=2, device="cpu", scales=(), seed=1, threshold=budget.threshold_ * 1.5) \
        .fit(make_series(1200, seed=0).T, sensors=SENSORS)
    assert fixed.threshold_obj_.method == "fixed"
    assert [length for length, _ in fixed.state_.short_smooth] == [6, 1]
    for (_, factor), (_, expected) in zip(fixed.state_.short_smooth, budget.state_.short_smooth, strict=True):
        assert factor == pytest.approx(expected, rel=1e-9)
    test = make_series(900, seed=6).T
    np.testing.assert_allclose(fixed.decision_function(test), budget.decision_function(test), rtol=1e-9)
    assert not fixed.predict(test)[100:800].any()  # normal data, above the budget's threshold: no alarm


def _pulses(n: int, rng: np.random.Generator, period: float = 40.0) -> np.ndarray:
    """Pulses of a jittered period (4%) with a smaller wave after each, and noise: an ECG-like series."""
    lengths = period * (1 + 0.04 * np.clip(rng.standard_normal(n // 20 + 2), -2.5, 2.5))
    onsets = -rng.uniform(0, period) + np.concatenate([[0.0], np.cumsum(lengths)])
    t = np.arange(n, dtype=np.float64)
    k = np.clip(np.searchsorted(onsets, t, side="right") - 1, 0, len(onsets) - 2)
    phase = (t - onsets[k]) / (onsets[k + 1] - onsets[k])
    return np.exp(-((phase - 0.4) / 0.03) ** 2) + 0.3 * np.exp(-((phase - 0.65) / 0.08) ** 2) \
        + 0.03 * rng.standard_normal(n)


@pytest.mark.filterwarnings("ignore:the 300 held-out training samples")
def test_half_a_cycle_at_the_wrong_phase_is_found_by_the_one_window_smoothing() -> None:
    # the two-window mean spread half a period replayed from the half before it (every value in range) over twice
    # its length and below normal peaks: average precision 0.82 with a quarter window and 1 sample, 0.96 with a
    # window too
    x = _pulses(2000, np.random.default_rng(2))
    det = Detector(epochs=3, device="cpu", scales=(), seed=0, quiet=True).fit(x[None, :1000])
    assert det.window_ == 40 and [length for length, _ in det.state_.short_smooth] == [40, 10, 1]
    test = x[1000:].copy()
    start = 500 + int(np.argmin(np.abs(test[500:540] - test[480:520])))  # where the two halves agree: no jump
    test[start:start + 20] = x[1000 + start - 20:1000 + start]
    labels = np.zeros(1000, dtype=bool)
    labels[start:start + 20] = True
    assert average_precision(labels, det.decision_function(test[None])) > 0.9
