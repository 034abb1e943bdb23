"""The statistics term's spectral shape (``stats_bands``): a sensor's cycle running faster is flagged, and named."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.models.fields import ModelFileError
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.scoring import BAND_SHARE_FLOOR, StatsTerm, band_shares, band_starts

# a short training series: the threshold's extrapolation is told, as it should be
pytestmark = pytest.mark.filterwarnings("ignore::tsae.pipelines.anomaly.fitting.FitWarning")

SENSORS = ["a", "b", "c"]
PERIODS = [36, 50, 30]


def cycles(n: int, seed: int, faster: tuple[int, int, int] | None = None) -> np.ndarray:
    """Three noisy sine cycles ``(3, n)``; ``faster=(sensor, start, end)``: that sensor's cycle runs at 2/3 of its
    period there (same amplitude, same level)."""
    rng = np.random.default_rng(seed)
    periods = np.tile(np.asarray(PERIODS, float)[:, None], (1, n))
    if faster is not None:
        sensor, start, end = faster
        periods[sensor, start:end] *= 2.0 / 3.0
    phase = np.cumsum(2 * np.pi / periods, axis=1)
    return np.sin(phase) + 0.2 * rng.standard_normal((3, n))


def test_the_bands_are_half_octaves_and_the_shares_add_up_to_one() -> None:
    np.testing.assert_array_equal(band_starts(64), [0, 1, 2, 3, 5, 7, 11, 15, 22, 31])  # bins 1, 2, 3, 4-5, 6-7...
    frames = np.random.default_rng(0).standard_normal((7, 64, 2))
    shares = np.exp(band_shares(frames)) - BAND_SHARE_FLOOR
    assert shares.shape == (7, 2, 10)
    np.testing.assert_allclose(shares.sum(axis=-1), 1.0)
    assert (band_shares(np.ones((2, 16, 1))) == np.log(BAND_SHARE_FLOOR)).all()  # no variance: no shares


def test_a_faster_cycle_is_far_from_normal_only_with_the_spectral_shape() -> None:
    window = 72
    train = np.lib.stride_tricks.sliding_window_view(cycles(3000, 0)[0], window)[::3, :, None]
    test = np.lib.stride_tricks.sliding_window_view(cycles(600, 1, faster=(0, 0, 600))[0], window)[::3, :, None]
    normal = np.lib.stride_tricks.sliding_window_view(cycles(600, 2)[0], window)[::3, :, None]
    plain, shaped = StatsTerm.fit(train), StatsTerm.fit(train, bands=True)
    assert plain.band_median is None and shaped.band_median is not None
    # level, spread and step size barely move: without the shape the faster cycle stays within normal range
    assert np.median(plain.distance(test)) < np.quantile(plain.distance(normal), 0.99)
    assert np.median(shaped.distance(test)) > 3 * np.quantile(shaped.distance(normal), 0.99)


@pytest.fixture(scope="module")
def faster() -> np.ndarray:
    return cycles(900, 1, faster=(0, 400, 700))


def _fit(bands: bool) -> Detector:
    return Detector(window=72, scales=(), terms="stats", stats_bands=bands, epochs=1, max_train_windows=100,
                    device="cpu").fit(cycles(3000, 0), sensors=SENSORS)


def test_the_detector_flags_a_faster_cycle_and_names_its_sensor(faster) -> None:
    det = _fit(True)
    scores, contrib = det.score_with_contributions(faster)
    inside, outside = scores[420:680], np.r_[scores[:330], scores[780:]]
    assert np.nanmax(inside) > det.threshold_ > np.nanmax(outside)
    assert np.argmax(np.nanmean(contrib[:, 420:680], axis=1)) == 0  # sensor "a"
    without = _fit(False)
    assert np.nanmax(without.decision_function(faster)[420:680]) < without.threshold_


def test_a_file_holds_the_shape_and_a_file_without_it_scores_without_it(tmp_path, faster,
                                                                          craft_model_file) -> None:
    det = _fit(True)
    path = det.save(tmp_path / "det.tsae")
    loaded = Detector.load(path)
    assert loaded.stats_bands is True
    np.testing.assert_allclose(loaded.state_.stats.band_spread, det.state_.stats.band_spread)
    np.testing.assert_allclose(loaded.decision_function(faster), det.decision_function(faster), rtol=1e-12)

    def older(state: dict) -> None:  # a file written before version 4
        del state["arrays.stats_band_median"], state["arrays.stats_band_spread"]

    old = Detector.load(craft_model_file(path, "old.tsae", tensors=older))
    assert old.state_.stats.band_median is None
    det.state_.stats.band_median = det.state_.stats.band_spread = None
    np.testing.assert_allclose(old.decision_function(faster), det.decision_function(faster), rtol=1e-12)

    def half(state: dict) -> None:
        del state["arrays.stats_band_spread"]

    with pytest.raises(ModelFileError, match=r"array 'stats_band_spread': is missing"):
        Detector.load(craft_model_file(path, "half.tsae", tensors=half))

    def narrow(state: dict) -> None:
        state["arrays.stats_band_median"] = state["arrays.stats_band_median"][:, :3].clone()

    with pytest.raises(ModelFileError, match=r"array 'stats_band_median'.*expected \(3, 10\)"):
        Detector.load(craft_model_file(path, "narrow.tsae", tensors=narrow))


def test_stats_bands_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match=r"^stats_bands='yes' must be True or False$"):
        Detector(stats_bands="yes")  # type: ignore[arg-type]
