"""InfluxDB line protocol and Telegraf JSON: the syntax (tsae.io.line_protocol) and rows of sensors (RecordParser)."""
import copy
import json
import pickle

import numpy as np
import pytest

from tsae.io.line_protocol import json_metric, looks_like_line_protocol, parse_line
from tsae.io.metric_rows import sensor_patterns
from tsae.io.records import RecordParser

NS = 1_709_251_200_000_000_000  # 2024-03-01T00:00:00Z


class Log:
    def __init__(self):
        self.said = []

    def warn(self, kind, message):
        self.said.append((kind, message))


@pytest.mark.parametrize(("line", "measurement", "tags", "fields", "stamp"), [
    ("pump flow=9.5", "pump", {}, {"flow": 9.5}, None),
    ("pump,host=a,site=b flow=9.5,pressure=1.9 1", "pump", {"host": "a", "site": "b"},
     {"flow": 9.5, "pressure": 1.9}, 1),
    ("pump n=12i,u=12u,e=-1.5e3,b=t,c=FALSE,d=True -7", "pump", {}, {"n": 12.0, "u": 12.0, "e": -1500.0, "b": 1.0,
                                                                     "c": 0.0, "d": 1.0}, -7),
    ('pump status="ok, really = fine",flow=1', "pump", {}, {"status": "ok, really = fine", "flow": 1.0}, None),
    (r'pump note="say \"hi\" \\ ok"', "pump", {}, {"note": 'say "hi" \\ ok'}, None),
    (r"my\ pump\,x,host\ name=a\=b\,c flow\ in=2 5", "my pump,x", {"host name": "a=b,c"}, {"flow in": 2.0}, 5),
    ("pump   flow=1    3", "pump", {}, {"flow": 1.0}, 3),
])
def test_a_line_reads_as_influxdb_writes_it(line, measurement, tags, fields, stamp):
    metric = parse_line(line)
    assert metric == (measurement, tags, fields, stamp)


@pytest.mark.parametrize("line", [
    "pump", "pump flow", "pump flow=", "pump =1", "pump flow=abc", "pump flow=1 2 3",
    "pump,host flow=1", "pump,host= flow=1", 'pump s="open', "pump n=-1u", "pump n=1.5i", ",host=a flow=1",
])
def test_a_bad_line_is_a_value_error(line):
    with pytest.raises(ValueError):
        parse_line(line)


@pytest.mark.parametrize(("line", "value"), [
    ("pump flow=1e999", np.inf), ("pump flow=-1e999,x=1", -np.inf), ('pump flow=1e999,s="a"', np.inf),
    ("pump flow=" + "9" * 400 + "i", np.inf), ("pump flow=-" + "9" * 400 + "i", -np.inf),
    ("pump flow=" + "9" * 400 + "u", np.inf),
])
def test_a_number_too_large_for_a_float_is_infinite_not_a_bad_line(line, value):
    """As a table's cell and a JSON value are read (a missing value of the sensor); it made the line malformed."""
    assert parse_line(line).fields["flow"] == value
    assert json_metric({"fields": {"flow": int(np.sign(value)) * 10 ** 400}, "name": "m"}).fields["flow"] == value


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity"])
def test_a_value_that_is_not_finite_is_a_missing_value_in_every_format(value):
    """Line protocol made the whole line malformed (its other sensors lost), where a CSV cell or a JSON value (NaN,
    Infinity) is a missing value of its sensor, the rest of the record scored."""
    json_value = {"nan": "NaN", "inf": "Infinity"}.get(value.lower(), value)
    streams = [[f"pump flow={value},pressure=2 {NS}"], ["time,flow,pressure", f"0,{value},2"],
               [f'{{"time": 0, "flow": {json_value}, "pressure": 2}}']]
    for lines in streams:
        rows, _, parser, _ = _parse(lines)
        assert parser.counts["malformed"] == 0 and rows.shape == (1, 2) and rows[0, 1] == 2, lines
        assert parser.counts["missing_values"] == 1


def test_a_telegraf_json_metric_with_null_tags_has_none():
    """``"tags": null`` made the metric malformed ("its 'tags' is not an object"), where a null timestamp is no time."""
    one = {"fields": {"flow": 1.0, "pressure": 2}, "name": "pump", "tags": None, "timestamp": NS // 10**9}
    rows, _, parser, _ = _parse([json.dumps(one)])
    assert rows.tolist() == [[1, 2]] and parser.counts["malformed"] == 0
    assert json_metric(one).tags == {}


@pytest.mark.parametrize(("line", "influx"), [
    ("pump flow=1", True), ("pump,host=a flow=1 3", True), ("time,flow,pressure", False), ("0,1.5,2", False),
    ("0 9.51 1.90", False), ("time pressure flow", False), ('{"flow": 1}', False), ("# pump flow=1", False),
])
def test_line_protocol_is_told_from_csv(line, influx):
    assert looks_like_line_protocol(line) is influx


def test_telegraf_json_metric():
    metric = json_metric({"fields": {"flow": 9, "ok": False, "s": "x", "n": None}, "name": "pump",
                          "tags": {"host": "a", "n": 3}, "timestamp": 1709251200})
    assert metric == ("pump", {"host": "a", "n": "3"}, {"flow": 9.0, "ok": 0.0, "s": "x", "n": ""}, 1709251200)


def test_sensor_names_with_tags_are_series_patterns():
    patterns = sensor_patterns(["air.t host=a", "t", "flow rate"])
    assert patterns["air.t"] == [(0, {"host": "a"})] and patterns["t"] == [(1, {})]
    assert patterns["flow rate"] == [(2, {})]


def _parse(lines, sensors=("flow", "pressure"), **options):
    log = Log()
    parser = RecordParser(list(sensors), log=log, **options)
    rows, times = parser.parse(lines)
    held, last = parser.flush()
    return np.vstack([rows, held]), times + last, parser, log


def test_auto_reads_a_stream_of_line_protocol_with_its_times_as_utc_dates():
    lines = ["# telegraf", f'pump,host=a flow=9.5,pressure=1.9,status="ok" {NS}',
             f"pump,host=a flow=9.6,pressure=2i {NS + 1_500_000_000}"]
    rows, times, parser, _ = _parse(lines)
    assert rows.tolist() == [[9.5, 1.9], [9.6, 2.0]]
    assert times == ["2024-03-01T00:00:00Z", "2024-03-01T00:00:01.500Z"]
    assert parser.counts["malformed"] == 0 and parser.unknown_fields == {"pump.status"}


def test_fields_are_matched_by_measurement_dot_field_before_field():
    lines = [f"tank level=1,flow=7 {NS}", f"pump flow=2,pressure=3 {NS}"]
    rows, times, parser, _ = _parse(lines, sensors=("tank.level", "pump.flow", "flow"))
    # tank's flow is the sensor "flow", pump's "pump.flow": one sample of the shared timestamp
    assert rows.tolist() == [[1.0, 2.0, 7.0]] and times == ["2024-03-01T00:00:00Z"]
    assert parser.counts["other_series"] == 0


def test_lines_of_one_timestamp_make_one_sample_and_a_repeated_sensor_starts_the_next():
    lines = [f"a x=1 {NS}", f"b y=2 {NS}", f"a x=3 {NS + 10**9}", f"a x=4 {NS + 10**9}", f"b y=5 {NS + 10**9}"]
    rows, times, parser, _ = _parse(lines, sensors=("x", "y"))
    np.testing.assert_array_equal(rows, [[1, 2], [3, np.nan], [4, 5]])
    assert times == ["2024-03-01T00:00:00Z"] + ["2024-03-01T00:00:01Z"] * 2


def test_a_second_series_is_counted_and_skipped_and_a_tag_picks_one():
    lines = [f"pump,host={h} flow={v},pressure=1 {NS + k * 10**9}"
             for k, (h, v) in enumerate([("a", 1), ("b", 10), ("a", 2), ("b", 20)])]
    rows, _, parser, log = _parse(lines)
    assert rows[:, 0].tolist() == [1, 2] and parser.counts["other_series"] == 2
    assert any("--tag" in message for kind, message in log.said if kind == "series")
    rows, _, parser, _ = _parse(lines, tags={"host": "b"})
    assert rows[:, 0].tolist() == [10, 20] and parser.counts["other_series"] == 2


def test_sensors_named_with_tags_read_their_series_as_an_influx_export_names_them():
    lines = [f"air,host={h} t={v} {NS}" for h, v in (("a", 1), ("b", 2))]
    rows, _, parser, _ = _parse(lines, sensors=("t host=a", "t host=b"))
    assert rows.tolist() == [[1.0, 2.0]] and parser.counts["other_series"] == 0


def test_other_measurements_are_counted_not_malformed():
    rows, _, parser, _ = _parse([f"cpu usage=3 {NS}", f"pump flow=1,pressure=2 {NS}"])
    assert len(rows) == 1 and parser.counts["other_series"] == 1 and parser.counts["malformed"] == 0
    assert "cpu.usage" in parser.unknown_fields


def test_bad_lines_are_malformed_and_the_others_kept():
    lines = [f"pump flow=1,pressure=2 {NS}", "pump flow=x", "pump flow=1 2 3", f"pump flow=1 {10**30}",
             f"pump flow=3,pressure=4 {NS + 10**9}", "pump"]
    rows, _, parser, _ = _parse(lines)
    assert rows.tolist() == [[1, 2], [3, 4]] and parser.counts["malformed"] == 4


def test_untimed_lines_are_samples_in_arrival_order():
    rows, times, parser, _ = _parse(["pump flow=1,pressure=2", "pump flow=3,pressure=4"])
    assert rows.tolist() == [[1, 2], [3, 4]] and times == [None, None]


@pytest.mark.parametrize(("stamp", "precision", "warned"), [
    (NS // 10**9, None, True), (NS // 10**6, None, True), (NS // 10**6, "ms", False), (NS, None, False),
])
def test_precision_told_or_found_from_the_first_timestamp(stamp, precision, warned):
    rows, times, _, log = _parse([f"pump flow=1,pressure=2 {stamp}"], precision=precision)
    assert times == ["2024-03-01T00:00:00Z"]
    assert any(kind == "precision" for kind, _ in log.said) is warned


def test_telegraf_json_metrics_and_batches_read_as_line_protocol():
    one = {"fields": {"flow": 1.0, "pressure": 2}, "name": "pump", "tags": {"host": "a"}, "timestamp": NS // 10**9}
    two = [dict(one, fields={"flow": 3.0}, timestamp=NS // 10**9 + 1),
           dict(one, fields={"pressure": 4.0}, timestamp=NS // 10**9 + 1)]
    rows, times, parser, log = _parse([json.dumps(one), json.dumps({"metrics": two})])
    assert rows.tolist() == [[1, 2], [3, 4]] and times == ["2024-03-01T00:00:00Z", "2024-03-01T00:00:01Z"]
    assert parser.counts["malformed"] == 0 and not any(kind == "precision" for kind, _ in log.said)
    rows, times, parser, _ = _parse([json.dumps(dict(one, timestamp=NS // 10**6))], precision="ms")
    assert times == ["2024-03-01T00:00:00Z"]


def test_format_csv_never_reads_line_protocol_and_influx_never_csv():
    _, _, parser, _ = _parse(["pump flow=1,pressure=2"], fmt="csv")
    assert parser.counts["malformed"] == 1
    _, _, parser, _ = _parse(["flow,pressure", "1,2"], fmt="influx")
    assert parser.counts["malformed"] == 2


@pytest.mark.parametrize("first", ["x=1 y=2", f"cpu usage=5 {NS}"])
def test_a_first_line_of_line_protocol_naming_no_sensor_decides_nothing(first):
    """A stray first line that reads as line protocol but names no sensor (a log line, Telegraf's cpu) made the
    stream line protocol: every CSV line after it was malformed, nothing scored. It is skipped as such
    (other_series), and the CSV after it read; a line protocol stream after it is one still."""
    rows, _, parser, _ = _parse([first, "flow,pressure", "1,2", "3,4"])
    assert rows.tolist() == [[1, 2], [3, 4]] and parser.counts["malformed"] == 0 and parser.counts["other_series"] == 1
    rows, _, parser, _ = _parse([first, f"pump flow=1,pressure=2 {NS}", "flow,pressure"])
    assert rows.tolist() == [[1, 2]] and parser.counts["malformed"] == 1


def test_a_csv_stream_stays_csv_after_its_first_row():
    rows, _, parser, _ = _parse(["flow,pressure", "1,2", "pump flow=3,pressure=4"])
    assert rows.tolist() == [[1, 2]] and parser.counts["malformed"] == 1


@pytest.mark.parametrize(("option", "value"), [("tags", {"host": 1}), ("tags", "host=a"), ("precision", "m")])
def test_bad_options_are_refused_naming_them(option, value):
    with pytest.raises(ValueError, match=option):
        RecordParser(["flow"], **{option: value})


def test_a_parser_copied_with_a_sample_held_goes_on_as_the_original():
    parser = RecordParser(["flow", "pressure"])
    parser.parse([f"a,host=x flow=1 {NS}"])  # pressure not yet: the sample is held
    for fork in (copy.deepcopy(parser), pickle.loads(pickle.dumps(parser))):
        rows, times = fork.parse([f"b,host=x pressure=2 {NS}"])
        assert rows.tolist() == [[1.0, 2.0]] and times == ["2024-03-01T00:00:00Z"]
    np.testing.assert_array_equal(parser.flush()[0], [[1.0, np.nan]])  # the original still holds its own


def test_memory_stays_bounded_on_ever_new_series_and_fields():
    lines = [f"pump,host=h{k} flow={k},f{k}=1 {NS + k * 10**9}" for k in range(6000)]
    rows, _, parser, _ = _parse(lines, sensors=("flow",))
    assert len(rows) == 1 and parser.counts["other_series"] == 5999  # host h0 is read, the others skipped
    assert len(parser.metrics._cache) <= 4096 and len(parser.unknown_fields) == 100
