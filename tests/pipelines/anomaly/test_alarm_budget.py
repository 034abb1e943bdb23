"""The event-level false-alarm budget: event counting, the tail extrapolation, the detector and its file."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tsae.pipelines.anomaly.alarm_budget import SECONDS_PER_DAY, budget_threshold, event_peaks
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.events import find_events
from tsae.pipelines.anomaly.thresholds import fit_threshold


@pytest.mark.parametrize("gap", [0, 1, 3, 10])
def test_event_peaks_are_the_events_the_tool_reports(gap):
    rng = np.random.default_rng(gap)
    scores = rng.exponential(size=3000)
    for level in (1.0, 2.5, 4.0):
        events = find_events(scores, scores > level, merge_gap=gap)
        np.testing.assert_array_equal(event_peaks(scores, level, gap), [e.peak_score for e in events])


def _blocky(rng: np.random.Generator, n_events: int, length: int) -> np.ndarray:
    """Scores in events of ``length`` samples: each event is an exponential peak on a triangle."""
    peaks = rng.exponential(size=n_events)
    shape = 1.0 - np.abs(np.linspace(-1, 1, length))
    return (peaks[:, None] * shape[None, :]).ravel()


@pytest.mark.parametrize("budget", [1.0, 5.0])
def test_tail_extrapolation_on_exponential_event_peaks(budget):
    # events of 20 samples, one second apart: 4,320 events a day, peaks exponential(1); the
    # level exceeded by `budget` event peaks a day is log(4320 / budget)
    rng = np.random.default_rng(1)
    per_day = SECONDS_PER_DAY / 20
    truth = math.log(per_day / budget)
    heldout = _blocky(rng, 1080, 20)  # a quarter of a day: the budget lies beyond the largest peak seen
    value, info = budget_threshold(heldout, alarms_per_day=budget, sample_interval=1.0, merge_gap=0)
    assert info["heldout_days"] == pytest.approx(0.25)
    assert value > heldout.max() if budget * 0.25 < 1 else True
    assert truth - 0.2 < value < 1.5 * truth  # conservative, but not wildly
    # on thirty days of the same process, the realised rate is within the budget
    long = _blocky(rng, int(per_day * 30), 20)
    assert event_peaks(long, value, 0).size / 30 <= budget * 1.15


def test_more_peaks_give_a_tighter_threshold():
    # the same exponential process: few held-out events give a higher (conservative) threshold
    rng = np.random.default_rng(2)
    values = {n: np.median([budget_threshold(_blocky(rng, n, 20), 1.0)[0] for _ in range(5)]) for n in (30, 2000)}
    truth = math.log(SECONDS_PER_DAY / 20)
    assert values[30] > values[2000] >= truth - 0.3


def test_one_or_two_peaks_are_extrapolated_too():
    # 150 held-out samples of one slow event: the highest held-out score was the threshold, and
    # the next day's normal peaks lay beyond it
    rng = np.random.default_rng(4)
    scores = 7.0 + 0.1 * np.sin(np.linspace(0, np.pi, 150)) + 0.01 * rng.normal(size=150)
    value, info = budget_threshold(scores, alarms_per_day=1.0, sample_interval=1.0, merge_gap=10)
    assert info["n_peaks"] <= 2 and info["sigma"] is not None
    assert value > scores.max() + 3 * scores.std()


def test_a_detector_fitted_on_a_few_hundred_normal_rows_flags_no_new_normal_rows():
    # 150-300 held-out rows showed one or two score peaks; at the highest held-out score as the threshold
    # 0.3-30 % of new normal rows were flagged (500 training rows), and faults are still found
    def sensors(n: int, seed: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        t = np.arange(n)
        a = np.sin(2 * np.pi * t / 50) + 0.2 * r.normal(size=n)
        return np.stack([a, np.cos(2 * np.pi * t / 80) + 0.2 * r.normal(size=n), 0.5 * a + 0.3 * r.normal(size=n)])

    for seed in (0, 1):
        with pytest.warns(UserWarning, match="too few to model"):
            detector = Detector().fit(sensors(500, seed))
        new = sensors(4000, 100 + seed)
        assert detector.predict(new).mean() < 0.002
        new[0, 1000:1100] += 1.0  # a level shift of five noise sigmas
        new[2, 2500:2600] = new[2, 2500]  # a stuck sensor
        flags = detector.predict(new)
        assert flags[1000:1100].mean() > 0.9 and flags[2500:2600].mean() > 0.9


def test_realised_rate_and_records():
    rng = np.random.default_rng(3)
    scores = rng.exponential(size=2 * 86400)  # two days at 1 s
    value, info = budget_threshold(scores, alarms_per_day=50.0, sample_interval=1.0, merge_gap=5)
    assert info["realised_events"] == event_peaks(scores, value, 5).size
    assert info["realised_per_day"] == pytest.approx(info["realised_events"] / 2.0)
    assert info["realised_per_day"] <= 50.0
    assert {"alarms_per_day", "sample_interval", "heldout_days", "merge_gap", "u0", "xi"} <= set(info)
    # the sampling interval matters: ten times slower sampling, ten times longer held-out data
    slow_value, slow = budget_threshold(scores, alarms_per_day=50.0, sample_interval=10.0, merge_gap=5)
    assert slow["heldout_days"] == pytest.approx(20.0)
    assert slow_value < value


def test_events_too_long_for_the_budget_to_tell_count_each_flagged_sample():
    # 900 held-out samples 15 minutes apart (9.4 days: 9.4 events allowed), merged within 125 samples (31 h): no
    # level raises more than 8 events, so every level was within the budget and all 900 samples were flagged
    rng = np.random.default_rng(3)
    scores = 6.0 + np.convolve(rng.exponential(size=1024), np.ones(40) / 40, mode="valid")[:900]
    assert max(event_peaks(scores, level, 125).size for level in scores) <= 8
    value, info = budget_threshold(scores, alarms_per_day=1.0, sample_interval=900.0, merge_gap=125)
    assert info["counted"] == "samples" and int(np.sum(scores > value)) == 9
    # where events tell, they are counted, and the bisection never ends below a level over the budget
    value, info = budget_threshold(scores, alarms_per_day=1.0, sample_interval=900.0, merge_gap=3)
    assert info["counted"] == "events"
    assert all(event_peaks(scores, level, 3).size <= 9.375 for level in scores[scores >= value])


def test_the_empirical_level_is_searched_for_from_the_top():
    from tsae.pipelines.anomaly.alarm_budget import _empirical_level

    # spikes of 9, 8 and 7 in a noisy baseline: as the level falls, the events rise to 3, then the baseline's
    # samples merge them into one run. A bisection over all levels landed in the baseline (one event: within a
    # budget of one) and flagged half of the data
    rng = np.random.default_rng(0)
    scores = rng.uniform(3.0, 4.0, size=600)
    scores[[100, 300, 500]] = 9.0, 8.0, 7.0
    descending = np.sort(scores)[::-1]
    assert event_peaks(scores, float(np.median(scores)), 10).size == 1
    assert _empirical_level(scores, descending, 10, allowed=1.0) == 8.0
    assert _empirical_level(scores, descending, 10, allowed=2.0) == 7.0
    flat = np.r_[np.full(50, 2.0), 5.0, np.full(50, 2.0)]
    assert _empirical_level(flat, np.sort(flat)[::-1], 0, allowed=1.0) is None  # no level raises more than one


def test_budget_arguments_are_checked():
    scores = np.random.default_rng(0).exponential(size=100)
    for kwargs, match in (({"alarms_per_day": 0.0}, "alarms_per_day"), ({"sample_interval": -1.0}, "sample_interval"),
                          ({"merge_gap": -1}, "merge_gap")):
        with pytest.raises(ValueError, match=match):
            budget_threshold(scores, **kwargs)
    with pytest.raises(ValueError, match="no finite scores"):
        budget_threshold(np.full(10, np.nan))
    assert fit_threshold(scores, "budget").method == "budget"


def test_detector_reports_the_budget(detector, tmp_path):
    obj = detector.threshold_obj_
    assert detector.threshold == "budget" and obj.method == "budget"
    assert obj.params["interval_assumed"] is True and obj.params["sample_interval"] == 1.0
    assert obj.params["merge_gap"] == detector.event_gap
    assert obj.params["realised_per_day"] <= detector.alarms_per_day
    assert event_peaks(detector.calibration_scores_, detector.threshold_, detector.event_gap).size == \
        obj.params["realised_events"]
    path = detector.save(tmp_path / "d.tsae")
    loaded = Detector.load(path, device="cpu")
    assert loaded.threshold_obj_.params["realised_per_day"] == obj.params["realised_per_day"]
    assert (loaded.alarms_per_day, loaded.sample_interval) == (1.0, None)
    assert loaded.calibration_mean_ == pytest.approx(detector.calibration_mean_)


def test_budget_follows_the_sample_interval(train_data):
    from sensor_data import SENSORS

    kwargs = {"window": 24, "epochs": 2, "device": "cpu", "calibration": "training"}
    fast = Detector(**kwargs).fit(train_data.T, sensors=SENSORS)
    # one sample an hour: the 900 held-out rows last 37 days, so a budget of 1/day allows many events
    slow = Detector(sample_interval=3600.0, **kwargs).fit(train_data.T, sensors=SENSORS)
    assert slow.threshold_obj_.params["heldout_days"] == pytest.approx(900 / 24)
    assert "interval_assumed" not in slow.threshold_obj_.params
    assert slow.threshold_ < fast.threshold_
    assert slow.threshold_obj_.params["realised_per_day"] <= 1.0


def _sensor_process(n: int, sensors: int, seed: int) -> np.ndarray:
    """Sines of period 50 plus 5% noise, one second apart: stationary normal data."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    phases = np.arange(sensors)[:, None] * 0.7
    return np.sin(2 * np.pi * t / 50 + phases) + 0.05 * rng.normal(size=(sensors, n))


@pytest.mark.slow
@pytest.mark.parametrize("sensors", [1, 2])
def test_budget_holds_on_long_normal_data(sensors):
    """Issue 14: fitted with defaults on 5,000 rows, 300,000 more rows (3.47 days) raise <= 3 events."""
    x = _sensor_process(305_000, sensors, seed=sensors)
    det = Detector(device="cpu").fit(x[:, :5000])
    assert det.threshold_obj_.method == "budget"
    scores = det.decision_function(x[:, 5000:])
    events = find_events(scores, scores > det.threshold_, merge_gap=det.event_gap)
    days = 300_000 / SECONDS_PER_DAY
    assert len(events) <= math.floor(det.alarms_per_day * days)
    # and an anomaly is still an alarm: a +1 step on the first sensor for 200 samples
    y = x[:, 5000:25000].copy()
    y[0, 10_000:10_200] += 1.0
    flagged = det.decision_function(y) > det.threshold_
    assert flagged[10_000:10_300].any()


def _fit_cli(tmp_path, csv, *extra):
    from click.testing import CliRunner

    from tsae.cli import cli

    out = tmp_path / f"d{len(list(tmp_path.iterdir()))}.tsae"
    result = CliRunner().invoke(cli, ["detect", "fit", str(csv), "-o", str(out), "--window", "24", "--epochs", "1",
                                      "--device", "cpu", *map(str, extra)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_fit_cli_reports_the_alarm_rate(tmp_path, train_data):
    from sensor_data import write_csv

    timed = write_csv(tmp_path / "timed.csv", train_data)  # a time column 0, 1, 2...: one second apart
    path, out = _fit_cli(tmp_path, timed, "--alarms-per-day", "2")
    line = [text for text in out.splitlines() if "false alarms/day" in text]
    assert len(line) == 1 and "budget 2/day" in line[0] and "1 s between samples)" in line[0]
    assert "0.075 h of held-out normal data" in line[0]  # the last 30% of 900 rows
    det = Detector.load(path, device="cpu")
    assert (det.alarms_per_day, det.sample_interval) == (2.0, 1.0)
    assert det.threshold_obj_.params["realised_per_day"] <= 2.0
    untimed = write_csv(tmp_path / "untimed.csv", train_data, with_time=False)
    _, out = _fit_cli(tmp_path, untimed)
    assert "1 s between samples, assumed" in out
    path, out = _fit_cli(tmp_path, untimed, "--sample-interval", "60")
    assert "60 s between samples)" in out and "4.5 h of held-out" in out  # the last 30% of 900 minutes
    _, out = _fit_cli(tmp_path, untimed, "--threshold", "pot")
    assert "(no budget;" in out
    minutes = tmp_path / "minutes.csv"  # a counter named after its unit: the time column, in minutes
    lines = untimed.read_text().splitlines()
    minutes.write_text("\n".join([f"minute,{lines[0]}", *(f"{i},{row}" for i, row in enumerate(lines[1:]))]) + "\n")
    path, out = _fit_cli(tmp_path, minutes)
    assert "60 s between samples)" in out and "4.5 h of held-out" in out
    assert Detector.load(path, device="cpu").sensors_ == lines[0].split(",")


@pytest.mark.parametrize("header", ["", "index", "sample_index", "Unnamed: 0", "row"])
def test_a_column_that_numbers_the_rows_gives_no_sample_interval(tmp_path, train_data, header):
    # df.to_csv(path) writes pandas' index, 0, 1, 2...: the rows' numbers, not seconds. Fit said "1 s between
    # samples" as if it had read times, where a DataFrame with that RangeIndex (or no index) says "assumed"
    from tsae.io.tables import median_step, read_table

    from sensor_data import write_csv

    lines = write_csv(tmp_path / "untimed.csv", train_data, with_time=False).read_text().splitlines()
    indexed = tmp_path / "indexed.csv"
    indexed.write_text("\n".join([f"{header},{lines[0]}", *(f"{i},{row}" for i, row in enumerate(lines[1:]))]) + "\n")
    table = read_table(indexed)
    assert table.time is not None and median_step(table.time, table.time_name) is None
    _, out = _fit_cli(tmp_path, indexed)
    assert "1 s between samples, assumed" in out
    _, out = _fit_cli(tmp_path, indexed, "--sample-interval", "60")
    assert "60 s between samples)" in out
    assert median_step(np.array(["2024-01-01T00:00", "2024-01-01T00:01"], dtype="datetime64[ns]"), "index") == 60.0


def _old_file(head: dict) -> None:
    """A detector file from before the alarm budget and the drift updates."""
    for key in ("alarms_per_day", "sample_interval", "drift_rate", "drift_every"):
        head["extra"]["settings"].pop(key)
    head["extra"].pop("calibration_mean")


def test_old_detector_files_still_load(detector, detector_file, craft_model_file, test_data):
    old = Detector.load(craft_model_file(detector_file, "old.tsae", header=_old_file), device="cpu")
    assert (old.alarms_per_day, old.sample_interval, old.drift_rate, old.drift_every) == (1.0, None, 0.0, None)
    assert old.calibration_mean_ == pytest.approx(float(np.mean(detector.decision_scores_)))
    np.testing.assert_allclose(old.decision_function(test_data.T), detector.decision_function(test_data.T), rtol=1e-9)


@pytest.mark.parametrize("key, value, match", [
    ("alarms_per_day", 0.0, "out of range"), ("sample_interval", "1s", "must be a number"),
    ("drift_rate", 2.0, "out of range"), ("drift_every", 0, "extra.settings.drift_every"),
    # null where a Detector never stores None: it said "drift_rate=None must be a number", naming no file (fuzz)
    ("drift_rate", None, r"crafted\.tsae: extra\.settings\.drift_rate: must be a number, not None"),
    ("alarms_per_day", None, r"crafted\.tsae: extra\.settings\.alarms_per_day: must be a number, not None"),
    ("stats_weight", -1.0, r"crafted\.tsae: extra\.settings\.stats_weight: -1.0 is out of range"),
])
def test_crafted_alarm_settings_are_refused(detector_file, craft_model_file, key, value, match):
    from tsae.models.fields import ModelFileError

    def mutate(head: dict) -> None:
        head["extra"]["settings"][key] = value

    with pytest.raises(ModelFileError, match=match):
        Detector.load(craft_model_file(detector_file, "crafted.tsae", header=mutate), device="cpu")
