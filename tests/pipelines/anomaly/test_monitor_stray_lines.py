"""tsae monitor: stray lines do not stop a CSV stream, records without sensors are not scored, renamed columns."""
import io
import json

import pytest

from tsae.pipelines.anomaly.monitor import run_monitor

from sensor_data import SENSORS, write_csv


def run(detector_file, text, **options):
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=io.StringIO(text), stdout=out, stderr=err, **options)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, records, err.getvalue()


def events(records):
    return [(r["start_index"], r["end_index"], round(r["peak_score"], 9)) for r in records if r["type"] == "event"]


@pytest.fixture(scope="module")
def stream(test_data, tmp_path_factory):
    """The test data as a CSV stream with a header, and what the monitor reports on it."""
    return write_csv(tmp_path_factory.mktemp("stream") / "s.csv", test_data[:500]).read_text().splitlines()


@pytest.mark.parametrize("stray", ["a;b", "x|y", "a\tb", "status: ok; uptime 5", "id,flow"])
def test_a_stray_line_before_the_header_is_malformed_and_the_rows_are_scored(detector_file, stream, stray):
    _, clean, _ = run(detector_file, "\n".join(stream) + "\n")
    code, records, err = run(detector_file, "\n".join([stray, *stream]) + "\n")
    summary = records[-1]
    assert code == 0 and summary["samples"] == clean[-1]["samples"] == 500 and summary["malformed"] == 1
    assert events(records) == events(clean) and events(clean) and "Traceback" not in err


@pytest.mark.parametrize("stray", ["t", "time,flow"])
def test_a_header_like_line_among_headerless_rows_is_malformed(detector_file, stream, stray):
    rows = stream[1:]
    _, clean, _ = run(detector_file, "\n".join(rows) + "\n")
    code, records, _ = run(detector_file, "\n".join([*rows[:100], stray, *rows[100:]]) + "\n")
    assert code == 0 and records[-1]["samples"] == 500 and records[-1]["malformed"] == 1
    assert events(records) == events(clean)


def test_records_without_any_sensor_are_malformed_not_scored(detector_file, test_data):
    wrong_shape = [json.dumps({"time": i, "sensors": dict(zip(SENSORS, map(float, row), strict=True))})
                   for i, row in enumerate(test_data[:200])]
    code, records, err = run(detector_file, "\n".join(wrong_shape) + "\n")
    summary = records[-1]
    assert code == 0 and summary["samples"] == 0 and summary["events"] == 0 and summary["malformed"] == 200
    assert "no value for any of the detector's sensors" in err
    good = [json.dumps({"time": i, **dict(zip(SENSORS, map(float, row), strict=True))})
            for i, row in enumerate(test_data[:100])]
    junk = ["{}", '{"other": 3}', '{"flow": [1, 2]}', '{"samples": [[1, 2, 3]]}', ",,,"]
    code, records, _ = run(detector_file, "\n".join(good[:50] + junk + good[50:]) + "\n", every_sample=True)
    assert records[-1]["samples"] == 100 and records[-1]["malformed"] == len(junk)
    assert sum(r["type"] == "sample" for r in records) == 100


def test_renamed_columns_are_read_in_order_as_batch_reads_them(detector_file, test_data, tmp_path):
    from tsae.pipelines.anomaly.files import score_file

    data = write_csv(tmp_path / "renamed.csv", test_data, sensors=["a", "b", "c"])
    summary = score_file(data, detector_file, tmp_path / "scores.csv", device="cpu", quiet=True)
    batch = json.loads((tmp_path / "scores.events.json").read_text())
    batch = batch["events"] if isinstance(batch, dict) else batch
    code, records, err = run(detector_file, data.read_text())
    assert code == 0 and records[-1]["samples"] == len(test_data) and records[-1]["missing_values"] == 0
    assert summary["events"] == len(batch) >= 1
    assert events(records) == [(e["start_index"], e["end_index"], round(e["peak_score"], 9)) for e in batch]
    assert "names none of the detector's sensors" in err


@pytest.mark.parametrize("sep", [",", ";"])
def test_quoted_csv_fields_are_read_as_batch_reads_them(detector_file, test_data, tmp_path, sep):
    """A stream whose every field is quoted (csv.QUOTE_ALL, R's write.csv) was all malformed lines ('not a number in
    '"0","9.514",...''), while `tsae detect score` read the same file."""
    import csv

    from tsae.pipelines.anomaly.files import score_file

    path = tmp_path / "quoted.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter=sep, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["time", *SENSORS])
        for i, row in enumerate(test_data):
            writer.writerow([i, *(repr(float(v)) for v in row)])
    score_file(path, detector_file, tmp_path / "scores.csv", device="cpu", quiet=True)
    batch = json.loads((tmp_path / "scores.events.json").read_text())["events"]
    code, records, err = run(detector_file, path.read_text())
    assert code == 0 and records[-1]["samples"] == len(test_data), err
    assert records[-1]["malformed"] == 0 and records[-1]["missing_values"] == 0, err
    assert len(batch) >= 1 and events(records) == [(e["start_index"], e["end_index"], round(e["peak_score"], 9))
                                                   for e in batch]
    assert [r["start"] for r in records if r["type"] == "event"] == [e["start"] for e in batch]
