"""The detector's seasonal profile: normal levels by hour of day / week and noise by hour, learnt from dates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsae.pipelines.anomaly.seasonal import as_datetimes, fit_profile, seasonal_setting

HALF_HOUR = np.timedelta64(30 * 60, "s")
pytestmark = pytest.mark.filterwarnings("ignore:.*too few to hold any out")


def dates(n: int, step: np.timedelta64 = HALF_HOUR, start: str = "2024-01-01") -> np.ndarray:
    """``n`` times ``step`` apart from ``start`` (2024-01-01 is a Monday)."""
    return (np.datetime64(start, "ns") + np.arange(n) * step.astype("timedelta64[ns]")).astype("datetime64[ns]")


def plant(days: int, seed: int = 0, weekend: float = 0.0, busy: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Two sensors every 30 minutes: a daily cycle, a weekend drop of ``weekend``, noise ``busy`` times higher
    8:00-18:00."""
    n = days * 48
    t = dates(n)
    rng = np.random.default_rng(seed)
    hour = (t - t.astype("datetime64[D]")).astype("timedelta64[m]").astype(float) / 60
    day = np.arange(n) // 48
    noise = np.where((hour >= 8) & (hour < 18), busy, 1.0) * 0.1
    level = np.sin(2 * np.pi * hour / 24) - weekend * (day % 7 >= 5)
    cycle = np.cos(2 * np.pi * np.arange(n) / 12)
    X = np.stack([level + noise * rng.normal(size=n), cycle + noise * rng.normal(size=n)])
    return X, t


# ----------------------------------------------------------------------------- the profile
def test_profile_learns_hours_weekdays_and_busy_noise():
    X, t = plant(21, weekend=2.0, busy=4.0)
    profile, why = fit_profile(X, t, "auto")
    assert profile is not None and why == ""
    assert profile.daily is not None and profile.weekly is not None and profile.spread is not None
    rest = profile.apply(X, t)
    weekend = (np.arange(X.shape[1]) // 48) % 7 >= 5
    # the weekend's drop is gone: its residual level is that of the weekdays
    assert abs(np.mean(rest[0, weekend]) - np.mean(rest[0, ~weekend])) < 0.2
    hour = np.arange(X.shape[1]) % 48 / 2
    busy = (hour >= 8) & (hour < 18)
    ratio = np.std(np.diff(rest[0])[busy[1:]]) / np.std(np.diff(rest[0])[~busy[1:]])
    assert 0.6 < ratio < 1.6  # busy hours' noise at the quiet hours' level (it was 4 times)


def test_levels_only_and_off():
    X, t = plant(21, weekend=2.0, busy=4.0)
    profile, _ = fit_profile(X, t, "level")
    assert profile is not None and profile.spread is None
    assert fit_profile(X, t, "off") == (None, "turned off")


@pytest.mark.parametrize("days, times", [(2, True), (21, False)])
def test_no_profile_without_enough_dated_days(days, times):
    X, t = plant(days)
    profile, why = fit_profile(X, t if times else None, "auto")
    assert profile is None and why


def test_no_weekly_offsets_under_two_weeks():
    X, t = plant(10, weekend=2.0)
    profile, _ = fit_profile(X, t, "level")
    assert profile is not None and profile.weekly is None


def test_white_noise_has_no_spread_profile():
    rng = np.random.default_rng(3)
    profile, _ = fit_profile(rng.normal(size=(3, 48 * 14)), dates(48 * 14), "auto")
    assert profile is not None and profile.spread is None


def test_times_read_as_the_record_parser_reads_them():
    got = as_datetimes(["2024-01-01T01:00:00+01:00", "2024-01-01 03:00", "n/a"])
    assert got is not None
    assert got[0] == np.datetime64("2024-01-01T00:00", "ns") and got[1] == np.datetime64("2024-01-01T03:00", "ns")
    assert np.isnat(got[2])
    assert as_datetimes(np.arange(3.0)) is None  # numbers are no dates


def test_setting():
    assert seasonal_setting(False) == "off" and seasonal_setting(True) == "auto"
    with pytest.raises(ValueError, match="seasonal="):
        seasonal_setting("weekly")


# ----------------------------------------------------------------------------- the detector
@pytest.fixture(scope="module")
def seasonal_fit():
    from tsae.pipelines.anomaly.detector import Detector

    X, t = plant(6, busy=4.0)
    frame = pd.DataFrame(X.T, index=pd.DatetimeIndex(t), columns=["a", "b"])
    return Detector(window=24, epochs=1, device="cpu", scales=(), short_smooth=()).fit(frame), frame


@pytest.mark.slow
def test_unchanged_without_dates_or_days(seasonal_fit):
    from tsae.pipelines.anomaly.detector import Detector

    X, t = plant(2)
    kw = {"window": 24, "epochs": 1, "device": "cpu", "scales": (), "short_smooth": ()}
    off = Detector(seasonal="off", **kw).fit(X, sensors=["a", "b"])
    for data in (X, pd.DataFrame(X.T, index=pd.DatetimeIndex(t), columns=["a", "b"])):  # no dates; 2 days of them
        det = Detector(**kw).fit(data, sensors=["a", "b"])
        assert det.seasonal_ is None
        assert np.array_equal(det.decision_scores_, off.decision_scores_)
        assert np.array_equal(det.decision_function(data), off.decision_function(X))


@pytest.mark.slow
def test_saved_scored_and_streamed_alike(seasonal_fit, tmp_path):
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.monitor import Monitor

    det, frame = seasonal_fit
    assert det.seasonal_ is not None and det.seasonal_.spread is not None
    X, t = plant(3, seed=5, busy=4.0)
    t = t + np.timedelta64(6, "D")
    new = pd.DataFrame(X.T, index=pd.DatetimeIndex(t), columns=["a", "b"])
    batch = det.decision_function(new)
    assert np.array_equal(batch, det.decision_function(X, times=t))
    det.save(tmp_path / "d.tsae")
    loaded = Detector.load(tmp_path / "d.tsae")
    assert np.array_equal(loaded.seasonal_.daily, det.seasonal_.daily)
    assert np.array_equal(loaded.decision_function(new), batch)
    monitor = Monitor(loaded, every_sample=True)
    text = [str(v) for v in t]  # as a stream's records carry them
    streamed = []
    for i in range(0, len(t), 50):
        streamed += [r["score"] for r in monitor.push(X[:, i:i + 50], text[i:i + 50]) if r["type"] == "sample"]
    streamed += [r["score"] for r in monitor.flush() if r["type"] == "sample"]
    np.testing.assert_allclose(streamed, batch, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_refusals_without_times(seasonal_fit, tmp_path):
    from tsae.export.kinds import detector_export
    from tsae.pipelines.anomaly.monitor import Monitor

    det, frame = seasonal_fit
    with pytest.raises(ValueError, match="time of day"):
        det.decision_function(frame.to_numpy().T)
    with pytest.raises(ValueError, match="time of day"):
        Monitor(det).push(frame.to_numpy().T[:, :10])
    det.save(tmp_path / "d.tsae")
    with pytest.raises(ValueError, match="ONNX"):
        detector_export(tmp_path / "d.tsae")


@pytest.mark.slow
def test_a_damaged_profile_is_refused(seasonal_fit, tmp_path):
    from tsae.models.modelfile import load_model, save_model
    from tsae.pipelines.anomaly.detector import Detector

    det, _ = seasonal_fit
    det.save(tmp_path / "d.tsae")
    loaded = load_model(tmp_path / "d.tsae", device="cpu")
    arrays = dict(loaded.arrays)
    arrays["seasonal_spread"] = np.zeros_like(arrays["seasonal_spread"])
    save_model(tmp_path / "bad.tsae", loaded.model, frame=loaded.frame, normalizer=loaded.normalizer,
               extra=loaded.extra, arrays=arrays)
    with pytest.raises(ValueError, match="seasonal_spread"):
        Detector.load(tmp_path / "bad.tsae")
