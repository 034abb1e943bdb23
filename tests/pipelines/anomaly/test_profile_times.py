"""The times a detector's seasonal profile is learnt and removed at: Unix times alike in the API, `detect score` and
the monitor; `timezone` / `--timezone` (UTC instants on a zone's wall clock, daylight saving time included)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

from tsae.pipelines.anomaly.profile_times import profile_dates
from tsae.pipelines.anomaly.seasonal import SeasonalProfile, deseasoned_training

pytestmark = pytest.mark.filterwarnings("ignore::tsae.pipelines.anomaly.fitting.FitWarning",
                                        "ignore::tsae.io.tables.TableWarning")
BERLIN = "Europe/Berlin"
#: 600 samples 10 minutes apart from Saturday 2024-03-30 20:00 UTC (21:00 in Berlin, which puts its clocks forward
#: at 01:00 UTC on Sunday 31 March), over a weekend's end and into Monday
START = np.datetime64("2024-03-30T20:00", "ns")
STEP = np.timedelta64(10, "m")


def instants(n: int = 600, start: np.datetime64 = START) -> np.ndarray:
    return (start + np.arange(n) * STEP).astype("datetime64[ns]")


def series(n: int = 600, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.stack([np.sin(2 * np.pi * t / 36), np.cos(2 * np.pi * t / 36)]) + 0.05 * rng.normal(size=(2, n))


@pytest.fixture(scope="module")
def weekly(tmp_path_factory):
    """A small detector with a weekly profile of steep steps (sensor a: 3 higher from Sunday 02:00 to 03:00 and
    on Mondays), so that an hour read off shows in the scores, and its file."""
    from tsae.pipelines.anomaly.detector import Detector

    det = Detector(window=16, epochs=1, device="cpu", scales=(), short_smooth=(), seasonal="off")
    det.fit(series(800, seed=1), sensors=["a", "b"])
    offsets = np.zeros((2, 168))
    offsets[0, 6 * 24 + 2] = 3.0  # Sunday 02:00-03:00 (a wall-clock hour that 31 March 2024 skips in Berlin)
    offsets[0, :24] = 3.0  # Monday
    det.seasonal_ = SeasonalProfile(weekly=offsets)
    path = tmp_path_factory.mktemp("profile_times") / "weekly.tsae"
    det.save(path)
    return det, path


def _epoch_seconds(t: np.ndarray) -> np.ndarray:
    return t.astype("datetime64[s]").astype(np.int64)


def _table(path, times, X: np.ndarray) -> None:
    pd.DataFrame({"time": times, "a": X[0], "b": X[1]}).to_csv(path, index=False)


def _scored(tmp_path, name, detector, *options) -> np.ndarray:
    result = run("detect", "score", tmp_path / f"{name}.csv", "--detector", detector, "-o",
                 tmp_path / f"{name}.scores.csv", "-q", *options)
    assert result.exit_code == 0, result.output
    return pd.read_csv(tmp_path / f"{name}.scores.csv")["score"].to_numpy()


def _monitored(detector, lines: list[str], *options) -> np.ndarray:
    from click.testing import CliRunner

    from tsae.cli import cli

    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector), "--every-sample", "-q", *options],
                                input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return np.array([r["score"] for r in records if r["type"] == "sample"])


# ----------------------------------------------------------------------------- Unix times in the API
def test_the_api_reads_unix_times_as_detect_score_and_the_monitor_do(weekly, tmp_path):
    # before: decision_function(X, times=numbers) was refused ("give the samples' times (dates)") while `detect
    # score` and the monitor read the same numbers as Unix times
    det, path = weekly
    X, t = series(), instants()
    by_date = det.decision_function(X, times=t)
    for numbers in (_epoch_seconds(t), _epoch_seconds(t) * 1000.0, list(_epoch_seconds(t))):
        assert np.array_equal(det.decision_function(X, times=numbers), by_date)
    scores, contrib = det.score_with_contributions(X, times=_epoch_seconds(t))
    assert np.array_equal(scores, by_date) and contrib.shape == X.shape
    assert np.array_equal(det.predict(X, times=_epoch_seconds(t)), det.predict(X, times=t))
    _table(tmp_path / "epoch.csv", _epoch_seconds(t), X)
    assert np.array_equal(_scored(tmp_path, "epoch", path), by_date)
    assert not np.array_equal(det.decision_function(X, times=t + np.timedelta64(1, "h")), by_date)  # hours matter


def test_numbers_that_are_no_unix_times_are_still_refused(weekly):
    det, _ = weekly
    with pytest.raises(ValueError, match="dates or Unix times"):
        det.decision_function(series(), times=np.arange(600.0))  # seconds from the start: no date


def test_fitting_reads_unix_times_as_scoring_does():
    # the decision for fitting: numbers are Unix times there too (before: no profile, silently, from the same
    # numbers that scoring read as times)
    rng = np.random.default_rng(0)
    t = (np.datetime64("2024-01-01", "ns") + np.arange(21 * 48) * np.timedelta64(30, "m")).astype("datetime64[ns]")
    weekend = ((t.astype("datetime64[D]").astype(np.int64) + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    X = np.stack([np.where(weekend, -2.0, 0.0), np.zeros(t.size)]) + 0.1 * rng.normal(size=(2, t.size))
    by_date = deseasoned_training(X, None, t, "auto")
    for numbers in (_epoch_seconds(t), _epoch_seconds(t) * 10**9):
        by_number = deseasoned_training(X, None, numbers, "auto")
        assert by_number[3] is not None and np.array_equal(by_number[3].weekly, by_date[3].weekly)
        assert np.array_equal(by_number[0], by_date[0]) and by_number[2] == by_date[2] == 1800.0
    assert deseasoned_training(X, None, np.arange(t.size), "auto")[3] is None  # a counter is no time


# ----------------------------------------------------------------------------- time zones
def test_utc_instants_on_a_zones_wall_clock_across_daylight_saving_time():
    utc = np.array(["2024-03-31T00:50", "2024-03-31T01:00", "2024-10-27T00:30", "2024-10-27T01:30",
                    "2024-11-03T05:30", "2024-11-03T06:30"], dtype="datetime64[ns]")
    berlin = profile_dates(utc[:4].astype("datetime64[s]").astype(np.int64), BERLIN)
    assert [str(v)[:16] for v in berlin] == ["2024-03-31T01:50", "2024-03-31T03:00", "2024-10-27T02:30",
                                             "2024-10-27T02:30"]  # 02:xx skipped in March, twice in October
    new_york = profile_dates([f"{v}Z" for v in utc[4:].astype("datetime64[m]")], "America/New_York")
    assert [str(v)[:16] for v in new_york] == ["2024-11-03T01:30", "2024-11-03T01:30"]
    # dates without an offset are taken as written in the zone, a skipped hour too (no error)
    assert str(profile_dates(["2024-03-31 02:30"], BERLIN)[0])[:16] == "2024-03-31T02:30"
    # a table's column that named UTC instants (read into datetime64), and a pandas index with a zone
    assert np.array_equal(profile_dates(utc[:4], BERLIN, utc=True), berlin)
    assert np.array_equal(profile_dates(pd.DatetimeIndex(utc[:4]).tz_localize("UTC").tz_convert("Asia/Tokyo"),
                                        BERLIN), berlin)
    assert np.array_equal(profile_dates(utc[:4]), utc[:4])  # no zone: as today (UTC instants in UTC)


def test_a_utc_stream_scored_in_the_zone_meets_the_local_table(weekly, tmp_path):
    # the trap: a detector learnt from a table of local dates scores a stream of Unix times hours off (by the UTC
    # offset, which changes at 01:00 UTC here); with --timezone the stream's hours are the table's
    det, path = weekly
    X, t = series(), instants()
    local = profile_dates(t, BERLIN, utc=True)
    _table(tmp_path / "local.csv", [str(v)[:19] for v in local], X)
    expected = _scored(tmp_path, "local", path)
    rows = zip(_epoch_seconds(t), X[0].tolist(), X[1].tolist(), strict=True)
    lines = ["time,a,b", *(f"{s},{a!r},{b!r}" for s, a, b in rows)]
    np.testing.assert_allclose(_monitored(path, lines, "--timezone", BERLIN), expected, rtol=1e-9, atol=1e-12)
    assert np.abs(_monitored(path, lines) - expected).max() > 0.1  # without: the hours are UTC's
    # the same through detect score and the API
    _table(tmp_path / "utc.csv", _epoch_seconds(t), X)
    assert np.array_equal(_scored(tmp_path, "utc", path, "--timezone", BERLIN), expected)
    zoned = det.set_params(timezone=BERLIN)
    try:
        assert np.array_equal(zoned.decision_function(X, times=_epoch_seconds(t)), expected)
        assert np.array_equal(zoned.decision_function(X, times=[f"{v}Z" for v in t]), expected)
    finally:
        det.set_params(timezone=None)


def test_the_fit_zone_is_stored_and_scores_by_default(weekly, tmp_path):
    from tsae.models.modelfile import load_model, save_model
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.monitor import Monitor

    det, path = weekly
    X, t = series(), instants()
    zoned = Detector.load(path).set_params(timezone=BERLIN)
    zoned.save(tmp_path / "berlin.tsae")
    loaded = Detector.load(tmp_path / "berlin.tsae")
    assert loaded.timezone == BERLIN and loaded.get_params()["timezone"] == BERLIN
    expected = det.decision_function(X, times=profile_dates(t, BERLIN, utc=True))
    assert np.array_equal(loaded.decision_function(X, times=_epoch_seconds(t)), expected)
    monitor = Monitor(loaded, every_sample=True)
    streamed = [r["score"] for r in monitor.push(X, list(_epoch_seconds(t))) + monitor.flush()
                if r["type"] == "sample"]
    np.testing.assert_allclose(streamed, expected, rtol=1e-9, atol=1e-12)
    # a file before version 6 (no timezone) loads without one and scores as it did: Unix times in UTC
    model = load_model(tmp_path / "berlin.tsae", device="cpu")
    newer = ("timezone", "shared_rise", "point_weight", "point_cap")  # version 6-8 fields: no v5 file has them
    settings = {k: v for k, v in model.extra["settings"].items() if k not in newer}
    extra = {k: v for k, v in model.extra.items() if k not in newer}
    save_model(tmp_path / "v5.tsae", model.model, frame=model.frame, normalizer=model.normalizer,
               extra=dict(extra, version=5, settings=settings),
               arrays={k: v for k, v in model.arrays.items() if k not in ("shared_base", "point_ceiling")})
    old = Detector.load(tmp_path / "v5.tsae")
    assert old.timezone is None
    weight, det.state_.point_weight = det.state_.point_weight, 0.0  # version 5 added no excess over normal
    try:
        assert np.array_equal(old.decision_function(X, times=_epoch_seconds(t)), det.decision_function(X, times=t))
    finally:
        det.state_.point_weight = weight
    # a zone this machine does not know: one line naming the field
    save_model(tmp_path / "bad.tsae", model.model, frame=model.frame, normalizer=model.normalizer,
               extra=dict(model.extra, settings=dict(settings, timezone="Europe/Atlantis")), arrays=model.arrays)
    with pytest.raises(ValueError, match=r"extra\.settings\.timezone.*Europe/Atlantis|Europe/Atlantis.*extra"):
        Detector.load(tmp_path / "bad.tsae")


def test_a_bad_zone_is_one_line_naming_the_option(weekly, tmp_path):
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.monitor import Monitor

    det, path = weekly
    _table(tmp_path / "x.csv", _epoch_seconds(instants(40)), series(40))
    for args in (["detect", "fit", tmp_path / "x.csv", "-o", tmp_path / "d.tsae"],
                 ["detect", "score", tmp_path / "x.csv", "--detector", path, "-o", tmp_path / "s.csv"],
                 ["monitor", "--detector", path]):
        assert_one_line_error(run(*args, "--timezone", "Europe/Berlim"), "--timezone", "Europe/Berlim")
    assert_one_line_error(run("detect", "fit", tmp_path / "x.csv", "-o", tmp_path / "d.tsae", "--seasonal", "off",
                              "--timezone", BERLIN), "--timezone applies only with a seasonal profile")
    assert not any((tmp_path / name).exists() for name in ("d.tsae", "s.csv"))
    with pytest.raises(ValueError, match="timezone='CET/Nowhere'"):
        Detector(timezone="CET/Nowhere")
    with pytest.raises(ValueError, match="timezone='UTC\\+1'"):
        Monitor(det, timezone="UTC+1")


@pytest.mark.slow
def test_detect_fit_in_a_zone_learns_from_offset_dates_what_local_dates_teach(tmp_path):
    # a plant in Berlin whose weekends are quiet, exported once with local dates and once with UTC offsets (which
    # change on 31 March): with --timezone both teach the same weekly profile, and the file keeps the zone
    from tsae.pipelines.anomaly.detector import Detector

    utc = (np.datetime64("2024-03-20T00:00", "ns") + np.arange(15 * 48) * np.timedelta64(30, "m")).astype("M8[ns]")
    local = profile_dates(utc, BERLIN, utc=True)
    rng = np.random.default_rng(2)
    weekend = ((local.astype("datetime64[D]").astype(np.int64) + 3) % 7) >= 5
    X = np.stack([np.where(weekend, -2.0, 0.0), np.sin(np.arange(utc.size) / 3)]) + 0.1 * rng.normal(size=(2, utc.size))
    offset = (local - utc).astype("timedelta64[h]").astype(int)
    _table(tmp_path / "local.csv", [str(v)[:19] for v in local], X)
    _table(tmp_path / "offset.csv", [f"{str(v)[:19]}+{h:02d}:00" for v, h in zip(local, offset, strict=True)], X)
    common = ["--window", "24", "--epochs", "1", "--device", "cpu", "--scales", "none", "-q"]
    for name, extra in (("local", []), ("offset", ["--timezone", BERLIN]), ("utc", [])):
        source = tmp_path / ("local.csv" if name == "local" else "offset.csv")
        result = run("detect", "fit", source, "-o", tmp_path / f"{name}.tsae", *common, *extra)
        assert result.exit_code == 0, result.output
    by_local, by_offset, by_utc = (Detector.load(tmp_path / f"{name}.tsae") for name in ("local", "offset", "utc"))
    assert by_local.seasonal_ is not None and by_local.timezone is None and by_offset.timezone == BERLIN
    assert np.array_equal(by_offset.seasonal_.weekly, by_local.seasonal_.weekly)
    assert np.array_equal(by_offset.decision_scores_, by_local.decision_scores_)
    assert not np.array_equal(by_utc.seasonal_.weekly, by_local.seasonal_.weekly)  # without: UTC's hours


def test_a_timezone_given_to_a_detector_without_a_profile_is_warned_about(tmp_path, detector_file, test_data):
    # `--timezone` on detect score and monitor was ignored without a word when the detector learnt no profile
    from click.testing import CliRunner

    from tsae.cli import cli

    from sensor_data import write_csv

    table = write_csv(tmp_path / "t.csv", test_data[:200])
    told = "timezone 'Europe/Berlin' is not used: the detector removes no normal levels by time"
    result = CliRunner().invoke(cli, ["detect", "score", str(table), "--detector", str(detector_file), "-o",
                                      str(tmp_path / "s.csv"), "--timezone", "Europe/Berlin"])
    assert result.exit_code == 0 and told in result.output, result.output
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--timezone", "Europe/Berlin"],
                                input=table.read_text())
    assert result.exit_code == 0 and told in result.output, result.output
