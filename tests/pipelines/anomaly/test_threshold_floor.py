"""The budget's threshold has a floor: at least ``threshold_floor`` times the median held-out normal score, so that
nearly flat normal scores do not put the threshold just above them (a slight rise of the normal level held an
alarm for days)."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.pipelines.anomaly.detector import Detector

from sensor_data import SENSORS, make_series

SETTINGS = {"window": 24, "epochs": 1, "device": "cpu", "scales": (), "seed": 2}


@pytest.fixture(scope="module")
def fits():
    train = make_series(1200, seed=0).T
    return {floor: Detector(**SETTINGS, threshold_floor=floor).fit(train, sensors=SENSORS) for floor in (1.0, 6.0)}


def test_the_threshold_is_at_least_the_floor_and_says_what_the_budget_gave(fits) -> None:
    off, on = fits[1.0], fits[6.0]
    median = float(np.median(on.calibration_scores_))
    assert on.threshold_ >= 6.0 * median * (1 - 1e-12)
    assert off.threshold_ < 6.0 * median  # the budget alone sits lower on these scores: the floor binds
    floor = on.threshold_obj_.params["floor"]
    assert floor["ratio"] == 6.0 and floor["budget_value"] == pytest.approx(off.threshold_, rel=1e-9)
    assert "floor" not in off.threshold_obj_.params


def test_the_floor_is_the_budgets_alone(fits) -> None:
    train = make_series(1200, seed=0).T
    det = Detector(**SETTINGS, threshold="quantile", threshold_floor=50.0).fit(train, sensors=SENSORS)
    assert det.threshold_ < 50.0 * float(np.median(det.calibration_scores_))  # a per-sample rate is exact


def test_the_floor_is_kept_in_the_file_and_checked(fits, tmp_path) -> None:
    fits[6.0].save(tmp_path / "d.tsae")
    loaded = Detector.load(tmp_path / "d.tsae", device="cpu")
    assert loaded.threshold_ == fits[6.0].threshold_ and loaded.threshold_obj_.params["floor"]["ratio"] == 6.0
    with pytest.raises(ValueError, match="threshold_floor"):
        Detector(threshold_floor=-1.0)
