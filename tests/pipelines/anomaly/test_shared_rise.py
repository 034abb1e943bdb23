"""A rise of the error that most sensors share (the weather, the demand, a weekend at a load the training days did not
show) is discounted, at most ``shared_rise``; a fault of one sensor is not. On the generated plant such a rise held
the detector in alarm for a quarter of a fault-free week."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.scoring import shared_rise_scores

from sensor_data import make_series

SETTINGS = {"window": 24, "epochs": 1, "device": "cpu", "scales": (), "seed": 2, "terms": "pca+stats"}
SENSORS6 = ["a", "b", "c", "d", "e", "f"]


def _six(n: int, seed: int) -> np.ndarray:
    """Six sensors: :func:`make_series`'s three and three more sines of other phases, ``(6, n)``."""
    x = make_series(n, seed=seed)
    t = np.arange(n)
    noise = 0.05 * np.random.default_rng(seed + 10).normal(size=(n, 3))
    extra = np.stack([np.sin(2 * np.pi * t / 24 + phase) for phase in (1.0, 2.0, 2.5)], axis=1) + noise
    return np.c_[x, extra].T


@pytest.fixture(scope="module")
def det() -> Detector:
    return Detector(**SETTINGS).fit(_six(1200, 0), sensors=SENSORS6)


def _unshared(det: Detector, x: np.ndarray) -> np.ndarray:
    """The scores without the discount (the plain mean over sensors) of the same fitted state."""
    rise = det.state_.shared_rise
    det.state_.shared_rise = 1.0
    try:
        return det.decision_function(x)
    finally:
        det.state_.shared_rise = rise


def test_the_rise_is_the_median_sensors_clipped() -> None:
    rows, base = np.full((4, 4), 2.0), np.ones(4)
    shared = np.array([[1.0, 1, 1, 9], [1.1, 1.1, 1.1, 9], [3.0, 3, 3, 3], [0.5, 0.5, 0.5, 0.5]])
    np.testing.assert_allclose(shared_rise_scores(rows, shared, base, 1.25), [2.0, 2.0 / 1.1, 1.6, 2.0])
    for off in ({"shared": None}, {"base": None}, {"shared_rise": 1.0}):
        args = {"shared": shared, "base": base, "shared_rise": 1.25, **off}
        np.testing.assert_array_equal(shared_rise_scores(rows, **args), [2.0] * 4)  # type: ignore[arg-type]
    two = shared_rise_scores(rows[:, :2], shared[:, :2], base[:2], 1.25)  # of two sensors, one fault moves the median
    np.testing.assert_array_equal(two, [2.0] * 4)


def test_a_shared_rise_is_discounted_a_fault_of_one_sensor_is_not(det) -> None:
    assert det.state_.shared_rise == 1.15 and det.state_.shared_base is not None
    x = _six(900, 5)
    x[:, 200:450] *= 1.6  # every sensor's swing grows: a change of load that all of them see
    x[2, 650:720] += 2.0  # a fault of one sensor
    on, off = det.decision_function(x), _unshared(det, x)
    divisor = off / on
    assert (divisor >= 1 - 1e-12).all() and (divisor <= 1.15 * (1 + 1e-12)).all()
    np.testing.assert_allclose(divisor[300:350], 1.15)  # most sensors' statistics far from normal: the cap
    assert divisor[670:700].mean() < 1.1  # one sensor's: the median sensor's are about normal
    assert on[670:700].min() > det.threshold_


def test_saved_loaded_and_streamed_alike(det, tmp_path) -> None:
    x = _six(700, 6)
    x[:, 200:400] *= 1.6
    det.save(tmp_path / "d.tsae")
    loaded = Detector.load(tmp_path / "d.tsae", device="cpu")
    assert loaded.shared_rise == 1.15 and loaded.state_.shared_rise == 1.15
    batch = det.decision_function(x)
    np.testing.assert_array_equal(loaded.decision_function(x), batch)
    core = loaded.core(device="cpu")
    parts = [core.push(x[:, i:i + 17])[0] for i in range(0, x.shape[1], 17)]
    streamed = np.concatenate([*parts, core.flush()[0]])
    np.testing.assert_allclose(streamed, batch, rtol=1e-12, atol=1e-12)
    assert not np.allclose(batch, _unshared(det, x))  # the discount is at work on this series


def test_a_version_5_file_loads_and_scores_as_before(det, tmp_path) -> None:
    from tsae.models.modelfile import load_model, save_model

    det.save(tmp_path / "d.tsae")
    loaded = load_model(tmp_path / "d.tsae", device="cpu")
    newer = ("shared_rise", "point_weight", "point_cap")  # version 6's, 7's and 8's fields
    extra = {k: v for k, v in loaded.extra.items() if k not in newer}
    extra["version"] = 5
    extra["settings"] = {k: v for k, v in extra["settings"].items() if k not in newer}
    arrays = {k: v for k, v in loaded.arrays.items() if k not in ("shared_base", "point_ceiling")}
    save_model(tmp_path / "v5.tsae", loaded.model, frame=loaded.frame, normalizer=loaded.normalizer, extra=extra,
               arrays=arrays)
    old = Detector.load(tmp_path / "v5.tsae", device="cpu")
    assert old.shared_rise == 1.0 and old.state_.shared_rise == 1.0 and old.state_.shared_base is None
    x = _six(700, 6)
    x[:, 200:400] *= 1.6
    weight, det.state_.point_weight = det.state_.point_weight, 0.0  # version 5 added no excess over normal
    try:
        np.testing.assert_array_equal(old.decision_function(x), _unshared(det, x))  # the plain mean, as before
    finally:
        det.state_.point_weight = weight


def test_off_scores_the_plain_mean_and_a_bad_setting_is_refused() -> None:
    off = Detector(**SETTINGS, shared_rise=1.0).fit(_six(1200, 0), sensors=SENSORS6)
    assert off.state_.shared_rise == 1.0
    x = _six(700, 6)
    x[:, 200:400] *= 1.6
    np.testing.assert_array_equal(off.decision_function(x), _unshared(off, x))
    with pytest.raises(ValueError, match="shared_rise"):
        Detector(shared_rise=0.5)


def test_the_statistics_are_computed_once(det, monkeypatch) -> None:
    # before: the shared rise scored every statistics term a second time, in scorers of its own beside the main ones
    from tsae.pipelines.anomaly.scoring import StatsTerm

    frames: list[int] = []
    distance = StatsTerm.distance
    monkeypatch.setattr(StatsTerm, "distance", lambda self, f: frames.append(len(f)) or distance(self, f))
    x = _six(700, 6)
    det.decision_function(x)
    shared = sum(frames)
    frames.clear()
    _unshared(det, x)
    assert shared == sum(frames) > 0


def test_pushes_scored_together_rise_as_each_alone(det) -> None:
    # the frames of many pushes joined into one call (monitor --group-by): each push gets back its own statistics rows
    from tsae.pipelines.anomaly.frame_batches import run_together

    series = [_six(500, 7), _six(430, 8), _six(60, 9)]
    series[0][:, 100:300] *= 1.6
    alone = [det.core(device="cpu") for _ in series]
    cores = [det.core(device="cpu") for _ in series]
    for start in (0, 37, 300):
        steps = [core._push_rows_steps(x[:, start:start + 263].T) for core, x in zip(cores, series, strict=True)]
        pushed = run_together(steps, cores[0].scales)
        for (scores, _), core, x in zip(pushed, alone, series, strict=True):
            np.testing.assert_allclose(scores, core.push(x[:, start:start + 263])[0], rtol=1e-12, atol=1e-12)
    for core, other in zip(cores, alone, strict=True):
        np.testing.assert_allclose(core.flush()[0], other.flush()[0], rtol=1e-12, atol=1e-12)
