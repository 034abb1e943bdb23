"""Hostile data for the detector: odd sensors and short series at fit, odd test files, the monitor alike, faults."""
import io
import json
import warnings

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run

from tsae.io.tables import TableWarning
from tsae.pipelines.anomaly.detector import Detector, FitWarning
from tsae.pipelines.anomaly.files import alarm_report, fit_detector_file, score_file
from tsae.pipelines.anomaly.monitor import run_monitor
from tsae.pipelines.anomaly.series_input import longest_missing_runs

from sensor_data import SENSORS, make_series, write_csv

FOUR = ["temp", "pressure", "flow", "vib"]


def four_sensors(n, seed):
    """Four sensors: the three of ``make_series`` and a slower sine mixed with the first."""
    x = make_series(n, seed)
    t = np.arange(n)
    vib = 0.5 * np.sin(2 * np.pi * t / 48) + 0.3 * x[:, 0] + 0.05 * np.random.default_rng(seed + 10).normal(size=n)
    return np.c_[x, vib]


@pytest.fixture(scope="module")
def four():
    """A small 4-sensor detector (seconds) and its training data's spread per sensor."""
    train = four_sensors(900, 0)
    det = Detector(model="dense", window=24, epochs=1, device="cpu").fit(train.T, sensors=FOUR)
    return det, train.std(axis=0)


def monitor(detector, text, **options):
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector, stdin=io.StringIO(text), stdout=out, stderr=err, every_sample=True, quiet=False,
                       **options)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, records, err.getvalue()


def scores_of(records):
    return np.array([r["score"] for r in records if r["type"] == "sample"], dtype=float)


def written_scores(path):
    return np.genfromtxt(path, delimiter=",", names=True)["score"]


def with_times(path, x, stamps, sensors=SENSORS):
    lines = [",".join(["time", *sensors])]
    lines += [",".join([stamp, *(repr(float(v)) for v in row)]) for stamp, row in zip(stamps, x, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


# ----------------------------------------------------------------------------- fit data
def test_the_longest_missing_run_of_each_sensor():
    x = np.array([[np.nan, 1.0, np.nan, np.nan, np.nan], [1.0, 2.0, 3.0, 4.0, 5.0], [np.nan] * 5])
    np.testing.assert_array_equal(longest_missing_runs(x), [3, 0, 5])


def test_fit_warns_about_missing_runs_longer_than_the_window(tmp_path, train_data):
    # before: interpolated over 300 rows in silence and learnt as normal (a stuck sensor then went unflagged)
    x = train_data.copy()
    x[100:400, 1] = np.nan
    x[600:610, 2] = np.nan  # shorter than the window: repaired without a word
    with pytest.warns(FitWarning, match=r"sensor\(s\) 'pressure' \(300 samples\) miss values for longer than the "
                                        r"window \(24\)") as caught:
        Detector(model="dense", window=24, epochs=1, device="cpu", scales=()).fit(x.T, sensors=SENSORS)
    gaps = [str(told.message) for told in caught if "miss values" in str(told.message)]
    assert len(gaps) == 1 and "flow" not in gaps[0]
    path = write_csv(tmp_path / "gappy.csv", x)
    with pytest.warns(FitWarning, match=r"gappy.csv: sensor\(s\) 'pressure' \(300 samples\)"):
        fit_detector_file(path, tmp_path / "d.tsae", family="dense", window=24, epochs=1, device="cpu", quiet=True,
                          scales=())
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*miss values")  # (300 zeros are an anomaly its own scores show)
        Detector(model="dense", window=24, epochs=1, device="cpu", scales=()).fit(
            np.where(np.isnan(x), 0.0, x).T, sensors=SENSORS)


def test_fit_on_one_window_warns_and_its_report_says_in_sample(tmp_path, train_data):
    # before: silent, and the report called the training rows "held-out normal data"
    path = write_csv(tmp_path / "one.csv", train_data[:24])
    with pytest.warns(FitWarning, match=r"one.csv: 24 training samples are too few to hold any out \(about \d+ are "
                                        r"needed with window 24\)"):
        det = fit_detector_file(path, tmp_path / "d.tsae", family="dense", window=24, epochs=1, device="cpu",
                                quiet=True)
    report = alarm_report(det)
    assert "of the training data itself, in-sample" in report and "held-out" not in report
    long_enough = Detector(model="dense", window=24, epochs=1, device="cpu", scales=())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        long_enough.fit(train_data.T, sensors=SENSORS)
        in_sample = Detector(model="dense", window=24, epochs=1, device="cpu", calibration="training", scales=())
        in_sample.fit(train_data[:24].T, sensors=SENSORS)  # asked for: no warning
    assert "held-out normal data" in alarm_report(long_enough)


def test_a_window_too_long_to_hold_any_out_warns_and_does_not_hang():
    # before: Detector(window=12000).fit looped forever, whatever the data's length, seeking a length that holds two
    # windows out (at most MAX_HELD_OUT = 20000 samples are); a tiny holdout share looped for hours, 6 samples a step
    x = np.sin(np.arange(60_000) / 300)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)  # stops the fit at the warning: no windows cut
        with pytest.raises(FitWarning, match=r"^a window of 12000 samples is too long to hold training samples out "
                                             r"\(two windows are needed, and at most 20000 samples are held out\): "
                                             r"the threshold comes from the last 18000 scored by a copy"):
            Detector(window=12000, epochs=1, device="cpu").fit(x)
        with pytest.raises(FitWarning, match=r"^900 training samples are too few to hold any out \(about "
                                             r"47500000000000 are needed with window 24\)"):
            Detector(window=24, epochs=1, device="cpu", holdout=1e-12).fit(make_series(900, 0).T)


@pytest.mark.parametrize("kind", ["constant", "counts", "binary"])
def test_odd_sensors_fit_and_score_normal_data_without_alarms(kind):
    train, test = four_sensors(900, 0), four_sensors(700, 1)
    for x, start in ((train, 0), (test, 0)):
        t = np.arange(start, start + len(x))
        if kind == "constant":
            x[:, 1] = 2.5
        elif kind == "counts":
            x[:, 1] = np.random.default_rng(len(x)).poisson(5 + 3 * np.sin(2 * np.pi * t / 24))
        else:
            x[:, 3] = (np.sin(2 * np.pi * t / 24 + 0.1) > 0).astype(float)
    det = Detector(model="dense", window=24, epochs=1, device="cpu").fit(train.T, sensors=FOUR)
    baseline = det.predict(test.T)
    assert np.isfinite(det.threshold_) and baseline.mean() < 0.3
    broken = test.T.copy()
    j = 3 if kind == "binary" else 1
    broken[j, 350:500] = broken[j, 350] + (0.5 if kind == "constant" else 0.0)  # stuck (constant: moved)
    new = (det.predict(broken) == 1) & (baseline == 0)
    share = det.contributions(broken)
    assert new[350:500].any() and FOUR[int(share[:, new].mean(axis=1).argmax())] == FOUR[j]


# ----------------------------------------------------------------------------- score data, and the monitor alike
def test_score_warns_about_columns_that_are_no_sensors(tmp_path, detector, detector_file, test_data):
    # before: an unknown column was ignored in silence (the monitor counts it in unknown_fields)
    x = np.c_[test_data, np.arange(len(test_data))]
    path = write_csv(tmp_path / "extra.csv", x, sensors=[*SENSORS, "humidity"])
    with pytest.warns(TableWarning, match=r"extra.csv: column\(s\) 'humidity' are not sensors of the detector: "
                                          r"ignored"):
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)
    batch = written_scores(tmp_path / "out.csv")
    np.testing.assert_allclose(batch, detector.decision_function(test_data.T), rtol=1e-9)
    code, records, err = monitor(detector_file, path.read_text())
    assert code == 0 and records[-1]["unknown_fields"] == ["humidity"]
    np.testing.assert_allclose(scores_of(records), batch, rtol=1e-9)


def test_score_warns_when_renamed_columns_are_taken_in_order(tmp_path, detector_file, test_data):
    # before: taken in order in silence (the monitor says so)
    path = write_csv(tmp_path / "renamed.csv", test_data, sensors=["a", "b", "c"])
    with pytest.warns(TableWarning, match=r"renamed.csv: no column names a sensor of the detector: the columns 'a', "
                                          r"'b', 'c' are taken in order as its sensors 'temp', 'pressure', 'flow'"):
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)


def test_a_text_column_beside_renamed_columns_is_told_as_ignored_too(tmp_path, detector_file, test_data):
    # before: the columns taken in order were told, the status column beside them ignored in silence
    path = write_csv(tmp_path / "renamed.csv", test_data, sensors=["a", "b", "c"])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",status", *(line + ",ok" for line in lines[1:])]) + "\n")
    with pytest.warns(TableWarning, match=r"renamed.csv: no column names a sensor of the detector: the columns 'a', "
                                          r"'b', 'c' are taken in order as its sensors 'temp', 'pressure', 'flow'; "
                                          r"column\(s\) 'status' are not sensors of the detector: ignored"):
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)


def test_columns_in_another_order_are_matched_by_name_in_silence(tmp_path, detector, detector_file, test_data):
    order = [2, 0, 1]
    path = write_csv(tmp_path / "shuffled.csv", test_data[:, order], sensors=[SENSORS[i] for i in order])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)
    batch = written_scores(tmp_path / "out.csv")
    np.testing.assert_allclose(batch, detector.decision_function(test_data.T), rtol=1e-9)
    np.testing.assert_allclose(scores_of(monitor(detector_file, path.read_text())[1]), batch, rtol=1e-9)


@pytest.mark.parametrize("rows", [0, 1, 10])
def test_a_test_file_shorter_than_the_window_is_one_line_and_no_output(tmp_path, detector_file, test_data, rows):
    path = write_csv(tmp_path / "short.csv", test_data[:rows])
    message = "no data rows" if rows == 0 else rf"{rows} row\(s\): shorter than the detector's window \(24\)"
    with pytest.raises(ValueError, match=rf"short.csv: {message}"):
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)
    assert not list(tmp_path.glob("out*"))


def test_a_stream_shorter_than_the_window_is_told_by_the_monitor(tmp_path, detector_file, test_data):
    # batch refuses such a file; the monitor wrote 'score: null' samples and 'max_score: null' without a word
    code, records, err = monitor(detector_file, write_csv(tmp_path / "short.csv", test_data[:10]).read_text())
    assert code == 0 and records[-1]["max_score"] is None
    assert "the stream ended after 10 sample(s), fewer than the detector's window (24): none could be scored" in err
    _, _, fine = monitor(detector_file, write_csv(tmp_path / "long.csv", test_data[:100]).read_text())
    assert "none could be scored" not in fine


def test_a_sensor_without_values_and_huge_values_score_as_in_the_monitor(tmp_path, detector_file, test_data):
    x = test_data.copy()
    x[:, 2] = np.nan  # flow: no value in the whole test file
    x[300:303, 0] = 1e12  # far beyond 1e6 standard deviations: clipped there
    path = write_csv(tmp_path / "odd.csv", x)
    with pytest.warns(TableWarning, match="'flow' have no values"):
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True, silence=None)
    batch = written_scores(tmp_path / "out.csv")
    x[300:303, 0] = 1e15
    same = write_csv(tmp_path / "odder.csv", x)
    with pytest.warns(TableWarning):
        score_file(same, detector_file, tmp_path / "out2.csv", device="cpu", quiet=True, silence=None)
    np.testing.assert_array_equal(written_scores(tmp_path / "out2.csv"), batch)  # both clipped to 1e6 SD
    assert np.isfinite(batch).all()
    # a sensor silent for --silence samples is left out of the score, in the monitor and batch scoring alike
    # (test_monitor_silent.py, test_silent_batch.py); never silent, the sensor is held at its training mean
    code, records, _ = monitor(detector_file, path.read_text(), silence=len(x) + 1)
    assert code == 0 and records[-1]["clipped_values"] == 3
    np.testing.assert_allclose(scores_of(records), batch, rtol=1e-9)
    code, records, _ = monitor(detector_file, path.read_text())
    assert code == 0 and [r["sensor"] for r in records if r["type"] == "sensor"] == ["flow"]
    with pytest.warns(TableWarning):
        score_file(path, detector_file, tmp_path / "out3.csv", device="cpu", quiet=True)
    np.testing.assert_allclose(scores_of(records), written_scores(tmp_path / "out3.csv"), rtol=1e-9)


def test_a_gap_of_days_in_the_time_column_is_told(tmp_path, detector_file, test_data):
    # the rows on either side of a 3-day gap were scored as consecutive samples without a word
    minutes = np.arange(len(test_data)) * 60.0
    regular = with_times(tmp_path / "regular.csv", test_data, [f"{t:.1f}" for t in minutes])
    minutes[400:] += 3 * 86400
    gappy = with_times(tmp_path / "gappy.csv", test_data, [f"{t:.1f}" for t in minutes])
    with warnings.catch_warnings():
        warnings.simplefilter("error", TableWarning)
        score_file(regular, detector_file, tmp_path / "a.csv", device="cpu", quiet=True)
    with pytest.warns(TableWarning, match=r"gappy\.csv: the time column 'time' has 1 gap\(s\) of more than 100 "
                                          r"sampling steps \(the longest 3\.0 days\); the rows on either side are "
                                          r"scored as consecutive samples"):
        score_file(gappy, detector_file, tmp_path / "b.csv", device="cpu", quiet=True)


def test_times_with_utc_offsets_are_read_as_utc_by_the_monitor_in_its_own_words(tmp_path, detector_file, test_data):
    # before: numpy's "no explicit representation of timezones available for np.datetime64" reached the user
    stamps = [f"2024-03-31T{i // 60:02d}:{i % 60:02d}:00+02:00" for i in range(len(test_data))]
    path = with_times(tmp_path / "tz.csv", test_data, stamps)
    with pytest.warns(TableWarning, match="UTC offset"):
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)
    batch_events = json.loads((tmp_path / "out.events.json").read_text())["events"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, records, err = monitor(detector_file, path.read_text())
    assert code == 0 and not [str(w.message) for w in caught]
    assert err.count("times with a UTC offset are read, and reported, as UTC") == 1
    np.testing.assert_allclose(scores_of(records), written_scores(tmp_path / "out.csv"), rtol=1e-9)
    stream_events = [r for r in records if r["type"] == "event"]
    assert [e["start"] for e in stream_events] == [e["start"] for e in batch_events]
    first = batch_events[0]["start_index"]  # 338 (05:38 at +02:00): 03:38 UTC
    # as the scores table writes its times (it said ...:00.000000000Z, the scores ...:00Z)
    assert batch_events[0]["start"] == f"2024-03-31T{first // 60 - 2:02d}:{first % 60:02d}:00Z"
    assert batch_events[0]["start"] in (tmp_path / "out.csv").read_text()


# ----------------------------------------------------------------------------- faults: flagged, and by which sensor
@pytest.mark.parametrize("fault", ["step", "spike", "stuck", "drift"])
def test_a_fault_is_flagged_and_its_sensor_named(four, fault):
    det, spread = four
    normal = four_sensors(700, 1).T
    baseline = det.predict(normal)
    for j, name in enumerate(FOUR):
        x = normal.copy()
        if fault == "step":
            x[j, 350:] += 1.5 * spread[j]
        elif fault == "spike":
            x[j, 350] += 8 * spread[j]
        elif fault == "stuck":
            x[j, 350:500] = x[j, 350]
        else:
            x[j, 300:] += np.linspace(0, 3 * spread[j], 400)
        scores, share = det.score_with_contributions(x)
        new = (scores > det.threshold_) & (baseline == 0)
        where = slice(340, 380) if fault == "spike" else slice(340, 700)
        assert new[where].any(), (fault, name)
        assert FOUR[int(share[:, where][:, new[where]].mean(axis=1).argmax())] == name, (fault, name)


def test_the_api_refuses_a_series_without_a_valid_value_as_the_cli_does() -> None:
    # decision_function returned scores of about 12,000 for an all-NaN series; 'detect score' said "no valid values"
    t = np.arange(600)
    X = np.stack([np.sin(t / 9), np.cos(t / 13)])
    det = Detector(model="dense", window=16, epochs=1, device="cpu", scales=()).fit(X)
    for bad in (np.full((2, 100), np.nan), np.full((2, 100), np.inf), np.full((2, 100), 1e31)):
        with pytest.raises(ValueError, match=r"^X holds no valid value \(every sample is NaN, infinite or beyond "
                                             r"1e30, which no sensor reads\)$"):
            det.decision_function(bad)
    half = X[:, :100].copy()
    half[0] = np.nan  # one dead sensor is an anomaly to score, not an error
    assert np.isfinite(det.decision_function(half)).all()


@pytest.mark.parametrize("interval", ["1e-308", "5e-324"])
def test_a_subnormal_sample_interval_is_one_line_naming_the_option(tmp_path, interval) -> None:
    # a day of such intervals overflowed (OverflowError: cannot convert float infinity to integer), or the alarm
    # budget's probability underflowed to 0 (math domain error): an internal error, or the file named for it
    data = write_csv(tmp_path / "x.csv", make_series(300, 0))
    result = run("detect", "fit", data, "-o", tmp_path / "d.tsae", "--epochs", "1", "--sample-interval", interval)
    assert_one_line_error(result, "--sample-interval", "out of range [1e-30, 1e+30]")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


@pytest.mark.parametrize("step,shown", [(5e-324, "4.94066e-324"), (1e31, "1e+31")])
def test_a_time_column_whose_step_no_detector_holds_is_told_in_words_about_the_times(tmp_path, step, shown) -> None:
    # 5e-324 s apart was an internal error; 1e31 s apart "--sample-interval=1e+31 is out of range", an option the
    # command line never gave, without the file
    x = make_series(300, 0)
    lines = ["time_s," + ",".join(SENSORS)] + [f"{i * step!r}," + ",".join(repr(float(v)) for v in row)
                                                for i, row in enumerate(x)]
    data = tmp_path / "x.csv"
    data.write_text("\n".join(lines) + "\n")
    result = run("detect", "fit", data, "-o", tmp_path / "d.tsae", "--epochs", "1")
    assert_one_line_error(result, "x.csv: the rows' times are", f"{shown} s apart", "[1e-30, 1e+30]")
    assert "--sample-interval" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_a_wide_file_without_the_sensors_lists_whole_column_names_and_how_many_more(tmp_path, detector_file) -> None:
    # the columns were joined and cut at 200 characters: "got columns c0, c1, ..., c41, )", as if that were all
    names = [f"c{j}" for j in range(300)]
    data = write_csv(tmp_path / "wide.csv", np.random.default_rng(0).normal(size=(80, 300)), sensors=names)
    result = run("detect", "score", data, "--detector", detector_file, "-o", tmp_path / "s.csv")
    assert_one_line_error(result, "wide.csv: missing sensor column(s)", "got columns c0, c1,", "c19 and 280 more)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wide.csv"]
