"""The detector's seasonal profile: normal levels by hour of day / week and noise by hour, learnt from dates."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from tsae.pipelines.anomaly.monitor import RateLimitedLog
from tsae.pipelines.anomaly.seasonal import as_datetimes, fit_profile, seasonal_setting

HALF_HOUR = np.timedelta64(30 * 60, "s")
pytestmark = pytest.mark.filterwarnings("ignore::tsae.pipelines.anomaly.fitting.FitWarning")


def dates(n: int, step: np.timedelta64 = HALF_HOUR, start: str = "2024-01-01") -> np.ndarray:
    """``n`` times ``step`` apart from ``start`` (2024-01-01 is a Monday)."""
    return (np.datetime64(start, "ns") + np.arange(n) * step.astype("timedelta64[ns]")).astype("datetime64[ns]")


def plant(days: int, seed: int = 0, weekend: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Two sensors every 30 minutes: a daily cycle and, on the first, a weekend drop of ``weekend``."""
    n = days * 48
    t = dates(n)
    rng = np.random.default_rng(seed)
    hour = (t - t.astype("datetime64[D]")).astype("timedelta64[m]").astype(float) / 60
    day = np.arange(n) // 48
    noise = 0.1
    level = np.sin(2 * np.pi * hour / 24) - weekend * (day % 7 >= 5)
    cycle = np.cos(2 * np.pi * np.arange(n) / 12)
    X = np.stack([level + noise * rng.normal(size=n), cycle + noise * rng.normal(size=n)])
    return X, t


# ----------------------------------------------------------------------------- the profile
def test_weekly_offsets_remove_a_quiet_weekend():
    X, t = plant(21, weekend=2.0)
    profile, why = fit_profile(X, t, "auto")
    assert profile is not None and why == ""
    assert profile.daily is None and profile.weekly is not None
    assert not profile.weekly[1].any()  # the second sensor has no weekly pattern: left as it is
    rest = profile.apply(X, t)
    weekend = (np.arange(X.shape[1]) // 48) % 7 >= 5
    assert abs(np.mean(X[0, weekend]) - np.mean(X[0, ~weekend])) > 1.5
    # away from the weekend's edges (the offsets are averaged over 5 hours) its level is the weekdays'
    hour = np.arange(X.shape[1]) % 48 / 2
    inner = weekend & (hour > 3) & (hour < 21)
    assert abs(np.mean(rest[0, inner]) - np.mean(rest[0, ~weekend])) < 0.2


def test_daily_levels_on_request():
    X, t = plant(4)
    profile, _ = fit_profile(X, t, "daily")
    assert profile is not None and profile.daily is not None and profile.weekly is None
    rest = profile.apply(X, t)
    assert np.std(rest[0]) < 0.3 * np.std(X[0])  # the daily cycle is gone
    assert fit_profile(X, t, "off") == (None, "turned off")


@pytest.mark.parametrize("days, times, mode", [(2, True, "daily"), (21, False, "auto"), (10, True, "auto"),
                                               (21, True, "auto")])
def test_no_profile_without_dates_days_or_a_weekly_pattern(days, times, mode):
    X, t = plant(days)  # no weekend drop
    profile, why = fit_profile(X, t if times else None, mode)
    assert profile is None and why


def test_weekend_hours_not_levels_are_found():
    """A weekend whose mean is the weekdays' but whose hours are not (a shift moved from day to night)."""
    X, t = plant(28)
    hour = np.arange(X.shape[1]) % 48 / 2
    weekend = (np.arange(X.shape[1]) // 48) % 7 >= 5
    X[0] += np.where(weekend, np.where(hour < 12, 1.0, -1.0), 0.0)
    profile, _ = fit_profile(X, t, "auto")
    assert profile is not None and profile.weekly is not None and profile.weekly[0].any()


def test_a_random_walk_is_no_weekly_pattern():
    rng = np.random.default_rng(3)
    walk = np.cumsum(rng.normal(0, 0.05, size=(3, 48 * 28)), axis=1)
    assert fit_profile(walk, dates(48 * 28), "auto")[0] is None


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
    assert seasonal_setting("daily") == "daily"


# ----------------------------------------------------------------------------- the detector
@pytest.fixture(scope="module")
def seasonal_fit():
    from tsae.pipelines.anomaly.detector import Detector

    X, t = plant(14, weekend=2.0)
    frame = pd.DataFrame(X.T, index=pd.DatetimeIndex(t), columns=["a", "b"])
    return Detector(window=24, epochs=1, device="cpu", scales=(), short_smooth=()).fit(frame), frame


@pytest.mark.slow
def test_unchanged_without_dates_or_days(seasonal_fit):
    from tsae.pipelines.anomaly.detector import Detector

    X, t = plant(8, weekend=2.0)
    kw = {"window": 24, "epochs": 1, "device": "cpu", "scales": (), "short_smooth": ()}
    off = Detector(seasonal="off", **kw).fit(X, sensors=["a", "b"])
    for data in (X, pd.DataFrame(X.T, index=pd.DatetimeIndex(t), columns=["a", "b"])):  # no dates; 8 days of them
        det = Detector(**kw).fit(data, sensors=["a", "b"])
        assert det.seasonal_ is None
        assert np.array_equal(det.decision_scores_, off.decision_scores_)
        assert np.array_equal(det.decision_function(data), off.decision_function(X))


@pytest.mark.slow
def test_saved_scored_and_streamed_alike(seasonal_fit, tmp_path):
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.monitor import Monitor

    det, frame = seasonal_fit
    assert det.seasonal_ is not None and det.seasonal_.weekly is not None
    X, t = plant(7, seed=5, weekend=2.0)
    t = t + np.timedelta64(14, "D")
    new = pd.DataFrame(X.T, index=pd.DatetimeIndex(t), columns=["a", "b"])
    batch = det.decision_function(new)
    assert np.array_equal(batch, det.decision_function(X, times=t))
    det.save(tmp_path / "d.tsae")
    loaded = Detector.load(tmp_path / "d.tsae")
    assert np.array_equal(loaded.seasonal_.weekly, det.seasonal_.weekly)
    assert np.array_equal(loaded.decision_function(new), batch)
    monitor = Monitor(loaded, every_sample=True)
    text = [str(v) for v in t]  # as a stream's records carry them
    streamed = []
    for i in range(0, len(t), 50):
        streamed += [r["score"] for r in monitor.push(X[:, i:i + 50], text[i:i + 50]) if r["type"] == "sample"]
    streamed += [r["score"] for r in monitor.flush() if r["type"] == "sample"]
    np.testing.assert_allclose(streamed, batch, rtol=1e-9, atol=1e-12)
    epoch = Monitor(loaded, every_sample=True)  # Unix times in milliseconds, as many streams carry them
    millis = (t.astype("datetime64[ms]").astype(np.int64)).tolist()
    by_number = [r["score"] for r in epoch.push(X, millis) + epoch.flush() if r["type"] == "sample"]
    np.testing.assert_allclose(by_number, batch, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_refusals_without_times(seasonal_fit, tmp_path):
    from tsae.export.kinds import detector_export
    from tsae.pipelines.anomaly.monitor import Monitor

    det, frame = seasonal_fit
    with pytest.raises(ValueError, match="time of week"):
        det.decision_function(frame.to_numpy().T)
    log = RateLimitedLog(stream=io.StringIO())
    monitor = Monitor(det, log=log)  # a live stream without dates goes on, at the time its samples arrive
    monitor.push(frame.to_numpy().T[:, :10])
    monitor.push(frame.to_numpy().T[:, 10:20])
    assert log.stream.getvalue().count("the time they arrive is used") == 1
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
    arrays["seasonal_weekly"] = np.full_like(arrays["seasonal_weekly"], np.nan)
    save_model(tmp_path / "bad.tsae", loaded.model, frame=loaded.frame, normalizer=loaded.normalizer,
               extra=loaded.extra, arrays=arrays)
    with pytest.raises(ValueError, match="seasonal_weekly"):
        Detector.load(tmp_path / "bad.tsae")


@pytest.mark.slow
def test_a_version_4_file_loads_and_scores_as_before(detector_file, test_data, tmp_path):
    from tsae.models.modelfile import load_model, save_model
    from tsae.pipelines.anomaly.detector import Detector

    loaded = load_model(detector_file, device="cpu")
    # version 6's and 7's fields: no v4 file has them
    extra = {k: v for k, v in loaded.extra.items() if k not in ("shared_rise", "point_weight", "point_cap")}
    extra["version"] = 4
    extra["settings"] = {k: v for k, v in extra["settings"].items()
                         if k not in ("seasonal", "shared_rise", "point_weight", "point_cap")}
    arrays = {k: v for k, v in loaded.arrays.items() if k not in ("shared_base", "point_ceiling")}
    save_model(tmp_path / "v4.tsae", loaded.model, frame=loaded.frame, normalizer=loaded.normalizer, extra=extra,
               arrays=arrays)
    old, new = Detector.load(tmp_path / "v4.tsae"), Detector.load(detector_file)
    assert old.seasonal_ is None and old.seasonal == "off"  # fitted before the setting: refitting keeps it off
    new.state_.shared_rise, new.state_.shared_base = 1.0, None  # as version 4 scored: no shared rise
    new.state_.point_weight = 0.0  # nor a sample's excess over normal
    assert np.array_equal(old.decision_function(test_data.T), new.decision_function(test_data.T))


@pytest.mark.slow
def test_cli_learns_from_a_date_column_and_needs_one_to_score(tmp_path):
    from click.testing import CliRunner

    from tsae.cli import cli
    from tsae.pipelines.anomaly.detector import Detector

    X, t = plant(14, weekend=2.0)
    frame = pd.DataFrame({"time": pd.DatetimeIndex(t).strftime("%Y-%m-%dT%H:%M:%S"), "a": X[0], "b": X[1]})
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.drop(columns="time").iloc[:200].to_csv(tmp_path / "undated.csv", index=False)
    runner = CliRunner()
    common = ["--window", "24", "--epochs", "1", "--device", "cpu", "--scales", "none", "-q"]
    for name, extra in (("auto.tsae", []), ("off.tsae", ["--seasonal", "off"])):
        result = runner.invoke(cli, ["detect", "fit", str(tmp_path / "train.csv"), "-o", str(tmp_path / name),
                                     *common, *extra])
        assert result.exit_code == 0, result.output
    assert Detector.load(tmp_path / "auto.tsae").seasonal_ is not None
    assert Detector.load(tmp_path / "off.tsae").seasonal_ is None
    result = runner.invoke(cli, ["detect", "score", str(tmp_path / "undated.csv"), "--detector",
                                 str(tmp_path / "auto.tsae"), "-o", str(tmp_path / "s.csv"), "-q"])
    assert result.exit_code == 1 and "no column of dates" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "s.csv").exists()


@pytest.mark.slow
def test_monitor_leaves_the_callers_times_as_they_were(seasonal_fit):
    from tsae.pipelines.anomaly.monitor import Monitor

    det, frame = seasonal_fit
    later = frame.iloc[30:60].copy()
    later.index = pd.DatetimeIndex([pd.NaT, *later.index[1:]])  # the first sample without a date: takes the last one
    written = np.array(later.index, dtype="datetime64[ns]")  # a copy of the caller's times
    times = written.copy()
    for given in ({}, {"times": times}):  # the DataFrame's index; a datetime64 array as times=
        monitor = Monitor(det, every_sample=True)
        monitor.push(frame.iloc[:30])
        monitor.push(later if not given else later.to_numpy().T, **given)
        np.testing.assert_array_equal(np.array(later.index, dtype="datetime64[ns]"), written)
        np.testing.assert_array_equal(times, written)


@pytest.mark.slow
def test_fit_reports_the_profile_or_why_there_is_none(seasonal_fit):
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.files import profile_report

    det, frame = seasonal_fit
    moved = int((np.abs(det.seasonal_.weekly).max(axis=1) > 0).sum())
    assert profile_report(det) == (f"normal levels by time: hour-of-week offsets for {moved} of 2 sensor(s), removed "
                                   "before scoring; hours on the times' own clock (Unix times and offsets in UTC)")
    X, t = plant(8, weekend=2.0)
    short = Detector(window=24, epochs=1, device="cpu", scales=(), short_smooth=()).fit(X, sensors=["a", "b"], times=t)
    assert profile_report(short) == "normal levels by time: none (the timestamps cover 8.0 days, under 14)"
    assert short.seasonal_why_ == "the timestamps cover 8.0 days, under 14"
    undated = Detector(window=24, epochs=1, device="cpu", scales=(), short_smooth=()).fit(X, sensors=["a", "b"])
    assert profile_report(undated) == "" and undated.seasonal_why_ == "no timestamps"
