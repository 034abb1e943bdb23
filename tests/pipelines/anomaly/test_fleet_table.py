"""Fleets in one table (``time,host,flow,...``): ``tsae monitor --group-by COL`` on CSV, ``tsae detect score
--group-by`` and ``tsae detect fit --group-by``, ``Detector.fit(groups=)``."""
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.anomaly.fleet_split import split_devices
from tsae.pipelines.anomaly.groups import group_order
from tsae.pipelines.anomaly.monitor import run_monitor
from tsae.pipelines.anomaly.terms import term_window_starts

from sensor_data import SENSORS, make_series


def fleet_lines(parts: dict[str, np.ndarray], column: str = "host") -> list[str]:
    """A long table's lines: the devices' rows interleaved (row k of each device in turn), the device 2nd."""
    lines = [",".join(["time", column, *SENSORS])]
    for k in range(max(len(x) for x in parts.values())):
        for name, x in parts.items():
            if k < len(x):
                lines.append(",".join([str(k), name, *(f"{v:.6f}" for v in x[k])]))
    return lines


def alone_lines(x: np.ndarray) -> list[str]:
    return [",".join(["time", *SENSORS])] + [",".join([str(k), *(f"{v:.6f}" for v in row)])
                                             for k, row in enumerate(x)]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def monitor(detector_file, lines, **options):
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err,
                       every_sample=True, **options)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def samples(records, **tags):
    return [{k: v for k, v in r.items() if k not in ("tags", "seconds")} for r in records
            if r["type"] != "summary" and r.get("tags", {}) == tags]


# -- monitor ---------------------------------------------------------------------------------------------------
def test_monitor_csv_device_column_scores_each_device_as_alone(detector_file, test_data):
    # before: every line was other_series ("skipping lines without the tag(s) host"), nothing scored
    a, b = test_data[:300], test_data[300:600]
    code, records, err = monitor(detector_file, fleet_lines({"a": a, "b": b}), group_by=["host"])
    assert code == 0, err
    _, alone, _ = monitor(detector_file, alone_lines(b))
    mine, theirs = samples(records, host="b"), samples(alone)  # b's records as if b were alone, with its tags
    assert [r["type"] for r in mine] == [r["type"] for r in theirs]
    mine, theirs = [r for r in mine if r["type"] == "sample"], [r for r in theirs if r["type"] == "sample"]
    assert [r["score"] for r in mine] == pytest.approx([r["score"] for r in theirs], rel=1e-9)  # batched calls
    assert [r["index"] for r in mine] == [r["index"] for r in theirs] and len(mine) > 250
    assert len(samples(records, host="a")) >= 250
    summary = records[-1]
    assert summary["devices"] == 2 and summary["other_series"] == 0 and summary["lines"] == 601
    assert "host" not in summary["unknown_fields"]


def test_monitor_csv_empty_device_cells_counted_and_told_once(detector_file, test_data):
    lines = fleet_lines({"7": test_data[:100], "b": test_data[:100]})  # a numeric device id, and empty cells
    lines = [line.replace(",b,", ",,") for line in lines]
    code, records, err = monitor(detector_file, lines, group_by=["host"])
    assert code == 0
    assert records[-1]["other_series"] == 100 and records[-1]["devices"] == 1 and records[-1]["samples"] == 100
    assert {r["tags"]["host"] for r in records if "tags" in r} == {"7"}
    assert err.count("whose device (host) is empty") == 1


def test_monitor_csv_without_the_column_is_one_line_error(detector_file, test_data):
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--group-by", "site", "-q"],
                                input="\n".join(fleet_lines({"a": test_data[:50]})) + "\n")
    assert result.exit_code == 1
    assert "has no column site" in result.output and "'time,host," in result.output
    assert "Traceback" not in result.output


def test_monitor_device_column_that_is_a_sensor_is_refused(detector_file, test_data):
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--group-by", SENSORS[0], "-q"],
                                input="\n".join(fleet_lines({"a": test_data[:50]})) + "\n")
    assert result.exit_code == 1 and "a sensor of the detector" in result.output


def test_monitor_json_numeric_device_ids(detector_file, test_data):
    lines = [json.dumps({"time": k, "host": 7 + (k % 2), **dict(zip(SENSORS, map(float, row), strict=True))})
             for k, row in enumerate(test_data[:200])]
    code, records, _ = monitor(detector_file, lines, group_by=["host"])
    assert code == 0 and records[-1]["devices"] == 2 and records[-1]["other_series"] == 0
    assert {r["tags"]["host"] for r in records if "tags" in r} == {"7", "8"}


# -- detect score ----------------------------------------------------------------------------------------------
def score(args):
    return CliRunner().invoke(cli, ["detect", "score", *map(str, args), "-q"])


def test_score_group_by_equals_each_device_alone(tmp_path, detector_file, test_data):
    parts = {"p1": test_data[:300], "p2": test_data[250:600], "7": test_data[400:700]}  # lengths differ
    table = write(tmp_path / "fleet.csv", fleet_lines(parts))
    result = score([table, "--detector", detector_file, "-o", tmp_path / "s.csv", "--group-by", "host",
                    "--events", tmp_path / "e.csv"])
    assert result.exit_code == 0, result.output
    out = (tmp_path / "s.csv").read_text().splitlines()
    assert out[0].startswith("time,host,score,anomaly,")
    events = (tmp_path / "e.csv").read_text().splitlines()
    assert events[0].startswith("host,start,")
    for name, x in parts.items():
        alone = write(tmp_path / f"{name}.csv", alone_lines(x))
        assert score([alone, "--detector", detector_file, "-o", tmp_path / f"{name}.s.csv", "--events",
                      tmp_path / f"{name}.e.csv"]).exit_code == 0
        mine = [line.replace(f",{name},", ",", 1) for line in out[1:] if line.split(",")[1] == name]
        assert mine == (tmp_path / f"{name}.s.csv").read_text().splitlines()[1:]
        mine_events = [line.split(",", 1)[1] for line in events[1:] if line.split(",")[0] == name]
        assert mine_events == (tmp_path / f"{name}.e.csv").read_text().splitlines()[1:]


def test_score_group_by_json_events_carry_tags(tmp_path, detector_file, test_data):
    table = write(tmp_path / "fleet.csv", fleet_lines({"a": test_data[:200], "b": test_data[300:700]}))
    result = score([table, "--detector", detector_file, "-o", tmp_path / "s.csv", "--group-by", "host"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "s.events.json").read_text()
    found = json.loads(text)
    assert found["events"] and {e["tags"]["host"] for e in found["events"]} == {"b"}  # the fault is b's
    assert text == json.dumps(found, indent=2) + "\n"  # spooled on disk, laid out as write_events lays it out


def test_score_group_by_one_device_and_short_device(tmp_path, detector_file, test_data):
    table = write(tmp_path / "fleet.csv", fleet_lines({"a": test_data[:300], "b": test_data[:10]}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from tsae.pipelines.anomaly.files import score_file

        summary = score_file(table, detector_file, tmp_path / "s.csv", group_by="host", quiet=True)
    assert summary["devices"] == 1 and summary["devices_skipped"] == ["host=b"] and summary["rows"] == 300
    assert any("host=b" in str(w.message) and "not scored" in str(w.message) for w in caught)


def test_score_group_by_bad_inputs(tmp_path, detector_file, test_data):
    table = write(tmp_path / "fleet.csv", fleet_lines({"a": test_data[:100]}))
    missing = score([table, "--detector", detector_file, "-o", tmp_path / "s.csv", "--group-by", "site"])
    assert missing.exit_code == 1 and "no column 'site'" in missing.output and "'time,host," in missing.output
    sensor = score([table, "--detector", detector_file, "-o", tmp_path / "s.csv", "--group-by", SENSORS[0]])
    assert sensor.exit_code == 1 and "is a sensor of the detector" in sensor.output
    plot = score([table, "--detector", detector_file, "-o", tmp_path / "s.csv", "--group-by", "host", "--plot",
                  tmp_path / "p.png"])
    assert plot.exit_code == 2 and "not with --group-by" in plot.output
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("name", ["s.parquet", "s.xlsx", "s.npz", "s.csv.zst"])
def test_score_group_by_refuses_an_output_named_for_a_format_tsae_does_not_write(tmp_path, detector_file, test_data,
                                                                                 name):
    # before: without --group-by refused in one line, with it CSV text written under that name, exit 0
    table = write(tmp_path / "fleet.csv", fleet_lines({"a": test_data[:100]}))
    result = score([table, "--detector", detector_file, "-o", tmp_path / name, "--group-by", "host"])
    assert result.exit_code == 1 and "the scores are written as a CSV table" in result.output, result.output
    assert name in result.output and "s.csv\n" in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.csv"]


def test_score_group_by_renames_only_the_fleets_own_outputs(tmp_path, monkeypatch, detector_file, test_data):
    # before: each device's scores and events, scratch files of the private folder, went through the user-output
    # machinery (checked, a temporary file, os.replace): two renames a device, a fixed cost of each
    import tsae.io.atomic as atomic

    renamed: list[Path] = []
    replace = atomic.os.replace
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (renamed.append(Path(b)), replace(a, b))[1])
    parts = {"a": test_data[:200], "b": test_data[300:700], "c": test_data[100:400]}
    table = write(tmp_path / "fleet.csv", fleet_lines(parts))
    for events in ("e.csv", "e.json"):
        renamed.clear()
        result = score([table, "--detector", detector_file, "-o", tmp_path / "s.csv", "--group-by", "host",
                        "--events", tmp_path / events])
        assert result.exit_code == 0, result.output
        assert sorted(renamed) == sorted([tmp_path / "s.csv", tmp_path / events])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv", "e.json", "fleet.csv", "s.csv"]


def test_score_group_by_bad_row_or_interrupt_leaves_no_output(tmp_path, monkeypatch, detector_file, test_data):
    import tsae.pipelines.anomaly.fleet as fleet

    lines = fleet_lines({"a": test_data[:200], "b": test_data[:200], "c": test_data[:200]})
    cells = lines[2 * 3 + 2].split(",")  # b's 3rd row
    lines[2 * 3 + 2] = ",".join([*cells[:2], "oops", *cells[3:]])
    table = write(tmp_path / "fleet.csv", lines)
    result = score([table, "--detector", detector_file, "-o", tmp_path / "s.csv", "--group-by", "host"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and f"{table} (host=b): line 9, column" in result.output  # the table's
    assert f"column {SENSORS[0]!r}: not a number ('oops')" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["fleet.csv"]
    good = write(tmp_path / "fleet.csv", fleet_lines({"a": test_data[:200], "b": test_data[:200]}))
    seen: list[str] = []

    def interrupted(out, scores, key, *args):  # Ctrl-C as the second device's scores are appended
        seen.append(scores.read_text())  # each device's scores written whole, in place in the private folder
        if len(seen) == 2:
            raise KeyboardInterrupt
        return append(out, scores, key, *args)

    append = fleet._append_scores
    monkeypatch.setattr(fleet, "_append_scores", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fleet.score_devices_file(good, detector_file, tmp_path / "s.csv", ["host"], quiet=True)
    assert [p.name for p in tmp_path.iterdir()] == ["fleet.csv"]
    assert len(seen[0].splitlines()) == len(seen[1].splitlines()) == 201


def test_split_devices_empty_cells_and_bounded_buffer(tmp_path, monkeypatch, test_data):
    import tsae.pipelines.anomaly.fleet_split as fleet_split

    monkeypatch.setattr(fleet_split, "BUFFER_CHARS", 100)  # lines appended to the files as they come
    lines = fleet_lines({"a": test_data[:20], "b": test_data[:20]})
    lines[4] = lines[4].replace(",b,", ",,")
    folder = tmp_path / "d"
    folder.mkdir()
    with pytest.warns(UserWarning, match="1 row"):
        tables = split_devices(write(tmp_path / "t.csv", lines), ["host"], folder)
    assert [d.key for d in tables.devices] == [("a",), ("b",)] and tables.no_device == 1
    assert tables.devices[0].path.read_text().splitlines() == alone_lines(test_data[:20])


# -- fit -------------------------------------------------------------------------------------------------------
def test_window_starts_never_span_a_break():
    starts = term_window_starts(1000, 24, breaks=[300, 310, 700])
    for start in starts:
        assert not any(start < b < start + 24 for b in (300, 310, 700))
    assert term_window_starts(1000, 24, breaks=[]).tolist() == term_window_starts(1000, 24).tolist()


def test_group_order():
    order, breaks, devices = group_order(np.array([3, 1, 3, 1, 2]), 5)
    assert order.tolist() == [0, 2, 1, 3, 4] and breaks == [2, 4] and [int(d) for d in devices] == [3, 1, 2]


def test_fit_groups_learns_windows_within_devices(train_data, monkeypatch):
    from tsae.pipelines.anomaly import terms
    from tsae.pipelines.anomaly.detector import Detector

    seen = []
    real = terms.term_window_starts
    monkeypatch.setattr(terms, "term_window_starts",
                        lambda *a, **k: seen.append(a[4] if len(a) > 4 else k.get("breaks")) or real(*a, **k))
    labels = np.where(np.arange(len(train_data)) % 2 == 0, "a", "b")
    det = Detector(window=24, epochs=1, device="cpu", terms="pca+stats", scales=[])
    det.fit(train_data.T, sensors=SENSORS, groups=labels)
    assert seen and all(list(b) == [450] for b in seen)  # a's 450 rows, then b's
    assert det.window_ == 24 and np.isfinite(det.threshold_)


def test_fit_cli_group_by(tmp_path, train_data):
    table = write(tmp_path / "normal.csv", fleet_lines({"a": train_data[:450], "b": train_data[450:]}))
    result = CliRunner().invoke(cli, ["detect", "fit", str(table), "-o", str(tmp_path / "d.tsae"), "--group-by",
                                      "host", "--window", "24", "--epochs", "1", "--terms", "pca+stats", "-q"])
    assert result.exit_code == 0, result.output
    assert "host" not in result.output  # no 'hold text' warning: the device column is no sensor candidate
    assert "back in time" not in result.output  # each device's times go forward


def test_decision_function_groups_scores_each_device_alone(detector, test_data):
    labels = np.array(["a", "b"] * 350)
    X = test_data.T  # samples of a and b alternate
    scores = detector.decision_function(X, groups=labels)
    for name in ("a", "b"):
        np.testing.assert_array_equal(scores[labels == name], detector.decision_function(X[:, labels == name]))
    assert detector.predict(X, groups=labels).tolist() == (scores > detector.threshold_).astype(int).tolist()
    with pytest.raises(ValueError, match="device c: "):
        detector.decision_function(X, groups=np.where(np.arange(700) < 5, "c", labels))


def test_monitor_csv_device_dropped_and_back_reads_the_header_again(detector_file, test_data):
    from tsae.pipelines.anomaly.devices import DeviceMonitors
    from tsae.pipelines.anomaly.monitor import Monitor, RateLimitedLog

    devices = DeviceMonitors(Monitor(detector_file, log=RateLimitedLog(io.StringIO())), ["host"], max_devices=2)
    lines = fleet_lines({"p1": test_data[:40], "p2": test_data[:40], "p3": test_data[:40]})
    header, rows = lines[0], {name: [line for line in lines[1:] if line.split(",")[1] == name] for name in
                              ("p1", "p2", "p3")}
    devices.push_lines([header, *rows["p1"][:10], *rows["p2"][:10]])
    devices.push_lines(rows["p3"][:10])  # drops p1
    devices.push_lines(rows["p1"][10:20])  # over the cap: skipped
    devices.push_lines(rows["p3"][10:20])
    devices.push_lines(rows["p1"][20:40])  # p2 quieter than p1: p1 starts afresh, in p2's place
    assert sorted(devices.devices) == [("p1",), ("p3",)]
    records = devices.flush()
    p1 = [r for r in records if r["type"] == "summary" and r["tags"] == {"host": "p1"}]
    assert p1 and p1[-1]["malformed"] == 0 and p1[-1]["missing_values"] == 0 and p1[-1]["lines"] == 21
    summary = devices.summary()
    assert summary["malformed"] == 0 and summary["lines"] == 1 + 70 and summary["over_max_devices"] == 10


def test_decision_function_groups_dataframe_column(detector, test_data):
    pd = pytest.importorskip("pandas")
    a, b = (pd.DataFrame(test_data[:350], columns=SENSORS), pd.DataFrame(test_data[350:], columns=SENSORS))
    fleet = pd.concat([a.assign(host="a"), b.assign(host="b")]).sort_index(kind="stable")  # index 0 0 1 1 ...
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: "X: the DataFrame's index is not in increasing order" on every fleet
        scores = detector.decision_function(fleet, groups="host")
    host = fleet["host"].to_numpy()
    np.testing.assert_array_equal(scores[host == "a"], detector.decision_function(a))
    np.testing.assert_array_equal(scores[host == "b"], detector.decision_function(b))
    shuffled = fleet.copy()
    index = shuffled.index.to_numpy().copy()
    index[[3, 5]] = index[[5, 3]]  # rows a0 b0 a1 b1 a2 b2: device b's rows 1 and 2 swapped (its own index goes back)
    shuffled.index = index
    with pytest.warns(UserWarning, match=r"X \(device b\): the DataFrame's index is not in increasing order"):
        detector.decision_function(shuffled, groups="host")


def test_fit_groups_dataframe_no_row_order_warning(train_data):
    pd = pytest.importorskip("pandas")
    from tsae.pipelines.anomaly.detector import Detector

    part = pd.DataFrame(train_data, columns=SENSORS)
    fleet = pd.concat([part.assign(host="a"), part.assign(host="b")]).sort_index(kind="stable")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        detector = Detector(window=24, epochs=1, device="cpu", terms="pca+stats").fit(fleet, groups="host")
    assert not [w for w in said if "index is not in increasing order" in str(w.message)]
    assert detector.sensors_ == SENSORS


def test_fit_groups_calibrates_each_device_alone():
    # eight devices of 400 rows, each sine starting at its own phase 0: the 960 held-out rows hold seams. Before,
    # the held-out rows were scored as one series and the seams' windows set the threshold (133.9 against 11.6)
    from tsae.pipelines.anomaly.detector import Detector

    fleet = np.concatenate([make_series(400, seed=10 + d) for d in range(8)]).T
    labels = np.repeat(np.arange(8), 400)
    options = dict(window=24, epochs=1, device="cpu", terms="pca+stats")
    grouped = Detector(**options).fit(fleet, sensors=SENSORS, groups=labels)
    one = Detector(**options).fit(make_series(3200, seed=10).T, sensors=SENSORS)
    assert grouped.selfcheck_.held_out > 400  # the seams are in the held-out rows
    assert grouped.threshold_ < 1.5 * one.threshold_
    assert np.isfinite(grouped.decision_scores_).all()
    assert grouped.labels_.sum() <= one.labels_.sum() + 24  # no device's start flagged as a seam


def test_split_cuts_the_device_cell_as_the_fields_do(tmp_path):
    """The split's fast path (one device column, a line without quotes) writes what the fields joined again write:
    the device column first, in the middle and last, short lines, empty cells, a quoted line among plain ones."""
    import csv
    import random

    rng = random.Random(0)
    for column in range(3):
        names = ["a", "b", "c"]
        names.insert(column, "host")
        lines = [",".join(names)]
        for k in range(300):
            cells = [rng.choice(["", "1", " 2 ", "3.5", "NA"]) for _ in range(3)]
            cells.insert(column, rng.choice(["d1", "d2", " d1 ", "d3"]))
            line = ",".join(cells)
            lines.append(line if k % 50 else line.replace("3.5", '"3.5"'))
        lines += ["d1", "d2,1"]  # short lines
        table = write(tmp_path / f"t{column}.csv", lines)
        folder = tmp_path / f"out{column}"
        folder.mkdir()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables = split_devices(table, ["host"], folder)
        for device in tables.devices:
            expected = [",".join(n for n in names if n != "host")]
            for line in lines[1:]:
                fields = next(csv.reader([line]))
                if len(fields) > column and fields[column].strip() == device.key[0]:
                    expected.append(",".join(f for i, f in enumerate(fields) if i != column))
            assert device.path.read_text().splitlines() == expected


def test_group_by_is_normalised_by_one_function(detector_file, test_data):
    """The CLI's columns, the monitor's tags and ``groups=`` of a DataFrame are the names ``group_columns`` gives
    (each stripped, once); before, ``groups=[" host", "host"]`` was "groups: no column ' host' in X"."""
    pd = pytest.importorskip("pandas")
    from tsae.pipelines.anomaly.devices import DeviceMonitors
    from tsae.pipelines.anomaly.groups import device_labels, group_columns
    from tsae.pipelines.anomaly.monitor import Monitor, RateLimitedLog

    given = [" host", "host", "line "]
    assert group_columns(given) == ("host", "line")
    devices = DeviceMonitors(Monitor(detector_file, log=RateLimitedLog(io.StringIO())), given)
    assert devices.group_by == group_columns(given)
    fleet = pd.DataFrame(test_data[:6], columns=SENSORS).assign(host=list("aabbab"), line=list("112211"))
    rest, labels = device_labels(fleet, given)
    assert list(rest.columns) == SENSORS and len(set(labels)) == 3
    for wrong, message in ((["", "host"], "groups must name one column"), (" ", "groups must name one column")):
        with pytest.raises(ValueError, match=message):
            device_labels(fleet, wrong)
    for wrong in ("host", [], None, ["host", 7]):
        with pytest.raises(ValueError, match="group_by must name one tag or more"):
            DeviceMonitors(Monitor(detector_file, log=RateLimitedLog(io.StringIO())), wrong)


@pytest.mark.parametrize("quiet", [False, True])
def test_fit_cli_group_by_training_scores_show_a_bar_on_a_terminal(tmp_path, train_data, monkeypatch, quiet):
    """The training scores of a fleet's devices, one bar counting all their samples (before: none with devices, as
    a bar a device flashed by; a single series' showed one); none with -q."""
    from tsae.pipelines.anomaly import block_scoring

    monkeypatch.setattr(block_scoring, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(block_scoring, "SCORE_BLOCK", 128)  # a long pass: blocks of 128 samples
    table = write(tmp_path / "normal.csv", fleet_lines({"a": train_data[:450], "b": train_data[450:]}))
    result = CliRunner().invoke(cli, ["detect", "fit", str(table), "-o", str(tmp_path / "d.tsae"), "--group-by",
                                      "host", "--window", "24", "--epochs", "1", "--terms", "pca+stats"]
                                + (["-q"] if quiet else []))
    assert result.exit_code == 0, result.output
    assert ("score:" in result.output and "/900 [" in result.output) is not quiet, result.output  # both devices


@pytest.mark.parametrize("sep_line", [False, True])
def test_a_devices_bad_line_is_named_by_its_line_in_the_table(tmp_path, detector_file, test_data, sep_line):
    """The error named the line of the device's own file (line 202 for line 6009 of the table): a user looking
    there found another row. It is the table's line now, a `sep=;` line and the other devices' rows counted."""
    lines = fleet_lines({"a": test_data[:300], "b": test_data[:300]})
    cells = lines[401].split(",")  # the table's line 402: a's row 200, its file's line 202
    lines[401] = ",".join([*cells[:2], "x12", *cells[3:]])
    lines = [line.replace(",", ";") for line in lines]
    if sep_line:
        lines.insert(0, "sep=;")
    table = write(tmp_path / "fleet.csv", lines)
    result = score([table, "--detector", detector_file, "-o", tmp_path / "s.csv", "--group-by", "host"])
    line = 402 + sep_line
    assert lines[line - 1].split(";")[2] == "x12"
    assert result.exit_code == 1 and f"{table} (host=a): line {line}, column {SENSORS[0]!r}: not a number ('x12')" \
        in result.output
    a = split_devices(table, ["host"], tmp_path).devices[0]
    assert [a.table_line(n + sep_line) for n in (1, 2, 3, 202, 302)] == [None, 2 + sep_line, 4 + sep_line, line, None]


@pytest.mark.parametrize("device", ["a", "b"])  # the first device's rows, or a later one's
def test_fit_group_by_names_a_sensors_cell_of_text_where_it_is(tmp_path, test_data, device):
    """A cell of text in one device's sensor column left that column out of its table only, and the fit said
    'columns ... are not those of the devices before it: a column of text in some devices' rows?', naming no cell."""
    lines = fleet_lines({"a": test_data[:300], "b": test_data[:300]})
    at = 2 * 40 + 1 + (device == "b")  # the table's line at + 1: the device's row 40
    cells = lines[at].split(",")
    assert cells[1] == device
    lines[at] = ",".join([*cells[:3], "err", *cells[4:]])
    table = write(tmp_path / "fleet.csv", lines)
    result = CliRunner().invoke(cli, ["detect", "fit", str(table), "-o", str(tmp_path / "d.tsae"), "--group-by",
                                      "host", "--epochs", "1", "-q"])
    assert result.exit_code == 1 and result.output == (
        f"Error: {table} (host={device}): line {at + 1}, column {SENSORS[1]!r}: not a number ('err')\n")
    assert not (tmp_path / "d.tsae").exists()


def test_split_devices_share_one_file_of_line_numbers(tmp_path, monkeypatch):
    # before: a .lines file beside each device's table (a file created and removed a device)
    import tsae.pipelines.anomaly.fleet_split as fleet_split

    monkeypatch.setattr(fleet_split, "BUFFER_CHARS", 200)  # many runs of each device's rows, written in turns
    parts = {name: make_series(rows, seed=k) for k, (name, rows) in enumerate({"a": 90, "b": 40, "c": 7}.items())}
    lines = fleet_lines(parts)
    table = write(tmp_path / "fleet.csv", lines)
    folder = tmp_path / "split"
    folder.mkdir()
    devices = fleet_split.split_devices(table, ["host"], folder).devices
    assert sorted(p.suffix for p in folder.iterdir()) == [".csv"] * 3 + [".lines"]
    for device in devices:
        rows = [k + 1 for k, line in enumerate(lines) if line.split(",")[1] == device.key[0]]  # the table's lines
        assert [device.table_line(n) for n in range(1, device.rows + 3)] == [None, *rows, None]
        assert len(device._runs) > 1 or device.rows < 10
