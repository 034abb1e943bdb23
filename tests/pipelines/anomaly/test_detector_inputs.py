"""Inputs at the detector's edges: absurd values, settings a file could not hold, time columns, empty sensors."""
import json
import re
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import tsae
from tsae.cli import cli
from tsae.io.tables import TableWarning, median_step
from tsae.models.fields import ModelFileError
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.detector_file import SETTING_RANGES
from tsae.pipelines.anomaly.files import fit_detector_file, score_file
from tsae.pipelines.anomaly.monitor import Monitor
from tsae.pipelines.anomaly.scoring import absurd_as_missing

from sensor_data import SENSORS, write_csv


def invoke(*args):
    result = CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)
    return result.exit_code, result.output


def stream_scores(detector, x, chunk):
    mon = Monitor(detector, every_sample=True)
    records = []
    for i in range(0, x.shape[1], chunk):
        records += mon.push(x[:, i:i + chunk])
    records += mon.flush()
    return np.array([r["score"] for r in records if r["type"] == "sample"]), mon.summary()


# ----------------------------------------------------------------------------- absurd values: one rule everywhere
def test_absurd_values_are_missing_and_the_input_is_not_changed():
    x = np.array([[1.0, 1e308, -np.inf, -1e31, 1e29, np.nan]])
    out = absurd_as_missing(x)
    np.testing.assert_array_equal(np.isnan(out), [[False, True, True, True, False, True]])
    assert x[0, 1] == 1e308  # a copy
    clean = np.ones((2, 3))
    assert absurd_as_missing(clean) is clean


def test_absurd_values_score_as_missing_in_the_api_and_the_monitor(detector, test_data):
    x = test_data.T.copy()
    x[1, 200] = 1e308
    x[2, 500] = -1e31
    gaps = x.copy()
    gaps[1, 200] = gaps[2, 500] = np.nan
    batch = detector.decision_function(x)
    np.testing.assert_allclose(batch, detector.decision_function(gaps), rtol=1e-12, atol=1e-12)
    assert batch.max() < 2 * detector.decision_function(test_data.T).max()  # before: about 1e11 around both cells
    for chunk in (7, 64):
        stream, summary = stream_scores(detector, x, chunk)
        np.testing.assert_allclose(stream, batch, rtol=1e-9, atol=1e-9)
        assert summary["clipped_values"] == 0 and summary["repaired_values"] == 2


def test_absurd_values_score_alike_in_detect_score_and_the_api(tmp_path, detector, detector_file, test_data):
    x = test_data.copy()
    x[200, 1] = 1e308
    path = write_csv(tmp_path / "huge.csv", x)
    with pytest.warns(TableWarning, match="beyond 1e.30"):
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)
    written = np.genfromtxt(tmp_path / "out.csv", delimiter=",", names=True)["score"]
    np.testing.assert_allclose(written, detector.decision_function(x.T), rtol=1e-9)


def test_fit_reads_an_absurd_training_value_as_missing(train_data):
    x = train_data.T.copy()
    x[1, 300] = 1e308  # before: "training windows contain NaN or inf"
    gaps = x.copy()
    gaps[1, 300] = np.nan
    det = Detector(window=24, epochs=1, device="cpu", scales=()).fit(x, sensors=SENSORS)
    ref = Detector(window=24, epochs=1, device="cpu", scales=()).fit(gaps, sensors=SENSORS)
    assert det.threshold_ == pytest.approx(ref.threshold_)
    with pytest.raises(ValueError, match="no valid value in the training data: pressure"):
        Detector(window=24, epochs=1, device="cpu").fit(np.where(np.arange(3)[:, None] == 1, 1e31, x),
                                                        sensors=SENSORS)


# ----------------------------------------------------------------------------- settings: what loads, saves
@pytest.mark.parametrize("params, message", [
    ({"drift_rate": 5}, r"drift_rate=5 is out of range \[0, 1\]"),
    ({"drift_rate": -0.1}, "drift_rate=-0.1 is out of range"),
    ({"sample_interval": 0}, r"sample_interval=0 is out of range \[1e-30, 1e\+30\]"),
    ({"alarms_per_day": float("inf")}, r"alarms_per_day=inf is out of range \(0, 1e\+30\]$"),  # was "(0, inf]"
    ({"drift_every": 0}, "drift_every=0 is out of range"),
    ({"drift_every": 2.5}, "drift_every=2.5 must be an integer"),
    ({"alarms_per_day": 0}, "alarms_per_day=0 is out of range"),
    ({"linear_weight": -1}, "linear_weight=-1 is out of range"),
    ({"merge_gap": -1}, "merge_gap=-1 is out of range"),
    ({"drift_rate": float("nan")}, "drift_rate=nan is out of range"),
    ({"sample_interval": "1s"}, "sample_interval='1s' must be a number"),
    # a negative fixed threshold was fitted and flagged every sample (scores are never negative)
    ({"threshold": -1}, r"threshold -1.0 is out of range \[0.0, 1e\+30\]"),
    ({"threshold": "-1"}, r"threshold -1.0 is out of range \[0.0, 1e\+30\]"),
    ({"threshold": float("nan")}, "threshold must be a finite number, not nan"),
    ({"threshold": "inf"}, "threshold must be a finite number, not inf"),
    ({"threshold": True}, "threshold must be budget, pot, quantile or a number"),
])
def test_settings_a_file_could_not_hold_are_refused_at_once(params, message):
    with pytest.raises(ValueError, match=message):
        Detector(**params)


def test_settings_changed_after_construction_are_refused_before_work(detector, test_data):
    with pytest.raises(ValueError, match="sample_interval=0 is out of range"):
        Detector(window=24).set_params(sample_interval=0).fit(test_data.T)
    bad = Detector(window=24)
    bad.__dict__.update(detector.__dict__)
    bad.set_params(drift_rate=5)  # before: a traceback from drift.py at scoring
    with pytest.raises(ValueError, match="drift_rate=5 is out of range"):
        bad.decision_function(test_data.T)
    with pytest.raises(ValueError, match="drift_every=0 is out of range"):
        detector.core(drift_rate=0.1, drift_every=0)


@pytest.mark.parametrize("name", sorted(SETTING_RANGES))
def test_the_detector_and_the_loader_share_one_range_per_setting(tmp_path, name):
    allowed = SETTING_RANGES[name]
    for value in (-1, 0, 0.5, 1, 2, 10**7, 2**63, float("inf"), 1.5, True):
        accepted = allowed.problem(value) is None
        try:
            allowed.read(tmp_path / "d.tsae", value)
            loads = True
        except ModelFileError as error:
            assert allowed.field in str(error)
            loads = False
        assert accepted == loads, (name, value)


def test_edge_settings_save_and_load(tmp_path, train_data):
    det = Detector(window=24, epochs=1, device="cpu", scales=(), drift_rate=1.0, sample_interval=0.25,
                   drift_every=np.int64(500), merge_gap=np.int64(0), linear_weight=0.0)
    det.fit(train_data.T, sensors=SENSORS).save(tmp_path / "d.tsae")
    back = Detector.load(tmp_path / "d.tsae", device="cpu")
    assert (back.drift_rate, back.sample_interval, back.drift_every, back.merge_gap) == (1.0, 0.25, 500, 0)


@pytest.mark.parametrize("hop", [0, -1, 2.5, 25])
def test_a_hop_outside_one_to_window_is_refused(train_data, hop):
    with pytest.raises(ValueError, match=rf"hop={hop!r} must be an integer in \[1, window=24\]"):
        Detector(window=24, hop=hop, epochs=1, device="cpu").fit(train_data.T)


@pytest.mark.parametrize("window", [2.5, "big", 32.0, True])
def test_a_window_that_is_no_whole_number_is_refused_by_name(train_data, window):
    # 2.5 was taken as 2 without a word, "big" told as "invalid literal for int() with base 10"
    with pytest.raises(ValueError, match=rf"^window={window!r} must be a whole number of samples >= 2, or 'auto'$"):
        Detector(window=window, epochs=1, device="cpu").fit(train_data.T)


@pytest.mark.parametrize(("smooth", "told"), [
    (10**9, "smooth=1000000000: at most 1048576 samples"),
    (2**20 + 1, "smooth=1048577: at most 1048576 samples"),
    # a multiple of the window says what it came to and what to shorten
    ("1e9*window", "smooth='1e9*window' is 24000000000 samples with window=24, over the 1048576 a detector file "
                   "holds: use a smaller multiple of the window or a smooth of at most 1048576 samples"),
    ("50000*window", "smooth='50000*window' is 1200000 samples with window=24, over the 1048576 a detector file "
                     "holds: use a window of at most 20 or a smooth of at most 1048576 samples")])
def test_a_smoothing_longer_than_a_detector_file_holds_is_refused(train_data, smooth, told):
    # smooth=10**9 padded the moving mean with half a billion rows of zeros: 16 GB and still going
    with pytest.raises(ValueError, match=rf"^{re.escape(told)}"):
        Detector(window=24, smooth=smooth, epochs=1, device="cpu", scales=()).fit(train_data.T)


@pytest.mark.parametrize(("option", "value", "kind", "message"), [
    ("linear", "no", TypeError, "linear must be True or False, got 'no'"),  # was taken as True
    ("error_norm", 1, TypeError, "error_norm must be True or False, got 1"),
    ("centered", None, TypeError, "centered must be True or False, got None"),
    ("pca_variance", 0, ValueError, r"pca_variance=0 must be a share of the variance in \(0, 1\]"),
    ("pca_variance", 2, ValueError, r"pca_variance=2 must be a share of the variance in \(0, 1\]"),
    ("model_params", "x", TypeError, "model_params must be a dict of the conv1d family's parameters or None, got str"),
    ("max_train_windows", 0, ValueError, "max_train_windows must be a whole number >= 1, got 0"),  # was "too short"
])
def test_training_options_of_the_wrong_kind_are_refused_by_name(train_data, option, value, kind, message):
    with pytest.raises(kind, match=rf"^{message}$"):
        Detector(window=24, epochs=1, device="cpu", **{option: value}).fit(train_data.T)


def test_a_sensor_column_given_twice_is_named(detector, test_data):
    import pandas as pd

    frame = pd.DataFrame(test_data[:100], columns=SENSORS)
    twice = pd.concat([frame, frame[["pressure"]]], axis=1)
    message = r"^X: sensor column\(s\) pressure given more than once; keep one column per sensor"
    with pytest.raises(ValueError, match=message):  # was "x must be (channels, n) and carry (channels,)..."
        detector.decision_function(twice)
    with pytest.raises(ValueError, match=message.replace("X", "x")):
        Monitor(detector).push(twice)
    other = pd.concat([frame, pd.DataFrame({"note": 1.0, "note ": 2.0}, index=frame.index)], axis=1)
    assert detector.decision_function(other.rename(columns={"note ": "note"})).shape == (100,)  # not a sensor


def test_an_unknown_family_is_a_value_error_listing_the_families(train_data):
    with pytest.raises(ValueError, match="unknown model family 'nope' .*conv1d") as caught:
        Detector(model="nope", window=24, device="cpu").fit(train_data.T)
    assert not str(caught.value).startswith('"')


def test_a_denoiser_family_is_refused_in_its_own_words(train_data):
    # it said "channels must be 1 (channels are denoised one by one)", or "hop must be in [1, window=24]"
    with pytest.raises(ValueError, match="^'denoiser2' is a speech denoiser family .*does not learn series"):
        Detector(model="denoiser2", window=24, device="cpu").fit(train_data.T)
    with pytest.raises(ValueError, match="^'denoiser' is a speech denoiser family"):
        tsae.fit(train_data.T[:1], model="denoiser", window=24)


def test_named_sensors_fix_the_layout_of_a_short_array():
    with pytest.raises(ValueError, match="need at least 4 training samples, got 3"):  # not "pass X.T"
        Detector(device="cpu").fit(np.ones((4, 3)), sensors=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="pass X.T"):  # 3 names for 3 columns: it is transposed
        Detector(device="cpu").fit(np.ones((4, 3)), sensors=["a", "b", "c"])


def test_a_named_series_names_its_sensor_as_a_dataframe_column_does(train_data, test_data):
    # before: Detector().fit(pd.Series(x, name="flow")) named its sensor s0; a DataFrame keeps its column names
    import pandas as pd

    from tsae.pipelines.anomaly.detector import as_series

    flow = pd.Series(train_data[:, 0], name="flow")
    det = Detector(window=24, epochs=1, device="cpu").fit(flow)
    assert det.sensors_ == ["flow"] == as_series(flow.to_frame())[1]
    assert det.decision_function(pd.Series(test_data[:, 0], name="flow")).shape == (len(test_data),)
    assert as_series(pd.Series(train_data[:, 0]))[1] == ["s0"] == as_series(train_data[:, 0])[1]  # unnamed
    assert as_series(pd.Series(train_data[:, 0], name=0))[1] == ["0"]  # as a DataFrame's column 0
    assert as_series(flow, sensors=["pump"])[1] == ["pump"]  # named by the caller: the caller's name


def test_complex_input_is_refused_when_scoring(detector, test_data):
    with pytest.raises(ValueError, match="must hold real numbers"):
        detector.decision_function(test_data.T + 1j)
    with pytest.raises(ValueError, match="must hold real numbers"):
        Monitor(detector).push(test_data.T[:, :10] + 1j)


# ----------------------------------------------------------------------------- time columns and empty sensors
def _with_times(path, x, times, sensors=SENSORS):
    lines = [",".join(["timestamp", *sensors])]
    lines += [",".join([t, *map(repr, map(float, row))]) for t, row in zip(times, x, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_time_column_of_only_nat_is_no_time_column(tmp_path, train_data):
    assert median_step(np.array(["NaT"] * 5, dtype="datetime64[ns]")) is None  # before: IndexError
    path = _with_times(tmp_path / "nat.csv", train_data, ["NaT"] * len(train_data))
    code, out = invoke("detect", "fit", path, "-o", tmp_path / "d.tsae", "--window", "24", "--epochs", "1",
                       "--scales", "none", "--device", "cpu")
    assert code == 0 and "Traceback" not in out, out
    assert "1 s between samples, assumed" in out


def test_the_sample_interval_of_shuffled_rows_is_their_spacing():
    times = np.random.default_rng(0).permutation(np.arange(100) * 0.5)
    assert median_step(times) == 0.5


def test_rows_out_of_time_order_are_warned_about_in_fit_and_score(tmp_path, train_data, detector_file, test_data):
    order = np.random.default_rng(0).permutation(len(test_data))
    test = _with_times(tmp_path / "test.csv", test_data[order], [str(i) for i in order])
    with pytest.warns(TableWarning, match=r"test.csv: the time column 'timestamp' is not in increasing order"):
        score_file(test, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)
    train = _with_times(tmp_path / "train.csv", train_data[::-1], [str(i) for i in range(len(train_data))][::-1])
    with pytest.warns(TableWarning, match=r"train.csv: the time column .* not in increasing order .* learnt from"):
        det = fit_detector_file(train, tmp_path / "d.tsae", window=24, epochs=1, device="cpu", quiet=True,
                                scales=())
    assert det.sample_interval == 1.0
    in_order = write_csv(tmp_path / "sorted.csv", test_data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_file(in_order, detector_file, tmp_path / "out2.csv", device="cpu", quiet=True)


@pytest.mark.parametrize("dates", [False, True])
def test_duplicate_times_are_warned_about_with_their_count_and_the_first(tmp_path, detector_file, test_data, dates):
    # before: no warning (only times going back were told)
    seconds = list(range(len(test_data)))
    seconds[300:303] = [299, 299, 299]  # rows 300-302 repeat row 299's time
    seconds[500] = 120  # a time back (told apart) that repeats row 120's time
    stamps = [f"2024-05-01T00:{s // 60:02d}:{s % 60:02d}" if dates else str(s) for s in seconds]
    path = _with_times(tmp_path / "dup.csv", test_data, stamps)
    first = "2024-05-01T00:04:59" if dates else "299.0"
    with pytest.warns(TableWarning) as caught:
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)
    messages = [str(w.message) for w in caught]
    assert any("dup.csv: the time column 'timestamp' is not in increasing order (1 step(s) back" in m for m in messages)
    assert (f"{path}: the time column 'timestamp' has duplicate times (4 row(s) repeat an earlier row's time, the "
            f"first: {first}); the rows are scored in file order, each as a sample of its own") in messages, messages
    code, out = invoke("detect", "score", path, "--detector", detector_file, "-o", tmp_path / "o2.csv")
    assert code == 0 and "Traceback" not in out
    assert "has duplicate times (4 row(s) repeat an earlier row's time" in out


def test_missing_times_are_no_duplicates(tmp_path, detector_file, test_data):
    stamps = [str(i) for i in range(len(test_data))]
    stamps[10:20] = [""] * 10  # missing, not repeated
    path = _with_times(tmp_path / "gaps.csv", test_data, stamps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)


def test_a_sensor_column_without_values_is_warned_about(tmp_path, detector_file, test_data):
    x = test_data.copy()
    x[:, 2] = np.nan
    path = write_csv(tmp_path / "empty.csv", x)
    with pytest.warns(TableWarning, match=r"empty.csv: sensor column\(s\) 'flow' have no values"):
        score_file(path, detector_file, tmp_path / "out.csv", device="cpu", quiet=True)
    code, out = invoke("detect", "score", path, "--detector", detector_file, "-o", tmp_path / "o2.csv")
    assert code == 0 and "Warning: " in out and "'flow' have no values" in out
    assert json.loads((tmp_path / "o2.events.json").read_text())["events"] is not None


def test_a_detector_that_knows_a_counter_as_a_sensor_still_scores_it(tmp_path, train_data, test_data):
    """A detector fitted when a first column that counts was read as a sensor (an earlier tsae) scores a file
    whose counter is now read as its time column: the counter goes back in as that sensor, and the user is told."""
    sensors = ["minute", *SENSORS]
    with_counter = lambda rows: np.column_stack([np.arange(len(rows)), rows])  # noqa: E731
    old = Detector(window=24, epochs=1, device="cpu", scales=[]).fit(with_counter(train_data).T, sensors=sensors)
    test = tmp_path / "test.csv"
    test.write_text("\n".join([",".join(sensors), *(",".join(repr(float(v)) for v in row)
                                                    for row in with_counter(test_data))]) + "\n")
    with pytest.warns(TableWarning, match=r"test\.csv: the detector takes the time column 'minute' as a sensor"):
        summary = score_file(test, old, tmp_path / "scores.csv", quiet=True)
    assert summary["rows"] == len(test_data)
    scored = (tmp_path / "scores.csv").read_text().splitlines()
    assert scored[0].split(",")[:2] == ["score", "anomaly"] and "contrib_minute" in scored[0]
    expected = old.decision_function(with_counter(test_data).T)
    np.testing.assert_allclose([float(line.split(",")[0]) for line in scored[1:]], expected, rtol=1e-6)


def test_the_monitor_reads_the_time_column_the_detector_was_fitted_with(tmp_path, train_data, test_data):
    """A counter named ``minute`` is the time column of ``detect fit``'s table; the detector file keeps the name,
    and the monitor reads that field as the time (it was an unknown field, and events had no time)."""
    def table(rows: np.ndarray, start: int) -> list[str]:
        return [",".join(["minute", *SENSORS]),
                *(",".join([str(start + i), *map(repr, map(float, row))]) for i, row in enumerate(rows))]

    train = tmp_path / "train.csv"
    train.write_text("\n".join(table(train_data, 0)) + "\n")
    fit_detector_file(train, tmp_path / "d.tsae", window=24, epochs=1, device="cpu", quiet=True)
    det = Detector.load(tmp_path / "d.tsae", device="cpu")
    assert det.time_name_ == "minute" and det.sensors_ == SENSORS
    mon = Monitor(det, every_sample=True)
    records = mon.push_lines(table(test_data, 5000)) + mon.flush()
    samples = [r for r in records if r["type"] == "sample"]
    assert samples and samples[-1]["time"] == 5000 + len(test_data) - 1
    assert mon.summary()["unknown_fields"] == []
    events = [r for r in records if r["type"] == "event"]
    assert events and all(e["start"] >= 5000 for e in events)  # the anomaly at rows 400-415


def test_a_crafted_time_column_name_is_refused(detector_file, craft_model_file):
    from tsae.models.fields import ModelFileError

    def mutate(head: dict) -> None:
        head["extra"]["time_column"] = 5

    with pytest.raises(ModelFileError, match="extra.time_column"):
        Detector.load(craft_model_file(detector_file, "crafted.tsae", header=mutate), device="cpu")


def test_a_scale_asked_for_that_the_data_cannot_hold_is_told(tmp_path):
    # --scales 100000 on 800 rows was dropped without a word; --scales , was read as none
    from tsae.pipelines.anomaly.detector import FitWarning

    x = np.sin(np.arange(600) / 5.0) + 0.05 * np.random.default_rng(0).normal(size=600)
    with pytest.warns(FitWarning, match=r"scales: a window of 1000 samples needs 3 windows of training data"):
        det = Detector(window=16, scales=[1000], epochs=1, device="cpu").fit(x)
    assert [t.window for t in det.fitted_state().scales] == []
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        Detector(window=16, epochs=1, device="cpu").fit(x[:100])  # the defaults that do not fit: left out quietly
    assert not [w for w in told if "scales:" in str(w.message)]
    path = tmp_path / "t.csv"
    path.write_text("a\n" + "".join(f"{v}\n" for v in x))
    result = CliRunner().invoke(cli, ["detect", "fit", str(path), "--scales", ",", "-o", str(tmp_path / "d.tsae")])
    assert result.exit_code == 2 and "Invalid value for '--scales': ','" in result.output


def test_a_dataframe_of_numbered_columns_scores_on_a_detector_fitted_on_an_array(train_data, test_data):
    """Fitted on an array (sensors s0, s1, ...), a detector refused pd.DataFrame(X.T) ('missing sensor column(s)
    s0 ... got columns 0, 1'): neither names its sensors, so the columns go in order. Other labels still go by
    name."""
    import pandas as pd

    det = Detector(window=24, epochs=1, device="cpu").fit(train_data.T)
    x = test_data[:200].T
    want = det.decision_function(x)
    np.testing.assert_array_equal(det.decision_function(pd.DataFrame(x.T)), want)
    with pytest.raises(ValueError, match="missing sensor column"):  # 1, 0: not the array's order, so no order
        det.decision_function(pd.DataFrame(x.T).iloc[:, ::-1])
    with pytest.raises(ValueError, match="missing sensor column"):
        det.decision_function(pd.DataFrame(x.T, columns=[str(i) for i in range(x.shape[0])]))


@pytest.mark.parametrize("times", [5, np.arange(5), np.zeros((2, 700)), {400: 1}, "x" * 700],
                         ids=["scalar", "short", "2-d", "dict", "text"])
def test_event_times_are_one_per_sample_before_any_scoring(detector, test_data, times):
    # before: after scoring the whole series, "'int' object is not subscriptable", an IndexError, a KeyError from
    # inside events(); text gave each event the time 'x'
    with pytest.raises(ValueError, match=r"^times must hold one time per sample \(700\), got "):
        detector.events(test_data.T, times=times)


def test_event_times_of_a_series_are_read_by_position(detector, test_data):
    import pandas as pd

    # before: a Series' times[i] read the label i: with an index in another order, the events' times were wrong
    stamps = pd.date_range("2024-01-01", periods=700, freq="min")
    by_label = pd.Series(stamps, index=np.arange(700)[::-1])
    events = detector.events(test_data.T, times=by_label)
    assert events
    for event in events:
        assert (event.start, event.end, event.peak_time) == (stamps[event.start_index], stamps[event.end_index],
                                                             stamps[event.peak_index])
