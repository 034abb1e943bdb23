"""`tsae monitor` fed InfluxDB line protocol and Telegraf JSON (as Telegraf publishes to MQTT)."""
import io
import json
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.anomaly.monitor import run_monitor

from sensor_data import SENSORS

NS = 1_709_251_200_000_000_000  # 2024-03-01T00:00:00Z
STEP = 10 * 10**9  # 10 s


def iso(k):
    return np.datetime_as_string(np.datetime64(NS + k * STEP, "ns"), unit="s") + "Z"


def influx_lines(x, host="a", start=0, stamps=True):
    lines = []
    for k, row in enumerate(x, start):
        fields = ",".join(f"{s}={float(v)!r}" for s, v in zip(SENSORS, row, strict=True)) + ',status="ok"'
        lines.append(f"pump,host={host},site=north {fields}" + (f" {NS + k * STEP}" if stamps else ""))
    return lines


def run(detector_file, lines, **options):
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err,
                       every_sample=True, **options)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, records, err.getvalue()


def samples(records):
    return [r for r in records if r["type"] == "sample"]


def test_line_protocol_scores_equal_detect_score_of_the_same_data_as_csv(detector_file, test_data, tmp_path):
    table = tmp_path / "same.csv"
    table.write_text("time," + ",".join(SENSORS) + "\n" + "".join(
        f"{iso(k)}," + ",".join(repr(float(v)) for v in row) + "\n" for k, row in enumerate(test_data)))
    result = CliRunner().invoke(cli, ["detect", "score", str(table), "--detector", str(detector_file),
                                      "-o", str(tmp_path / "s.csv"), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    batch = np.genfromtxt(tmp_path / "s.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    batch_events = json.loads((tmp_path / "s.events.json").read_text())["events"]

    code, records, err = run(detector_file, ["# from telegraf", *influx_lines(test_data)])
    assert code == 0 and "Traceback" not in err
    got = samples(records)
    np.testing.assert_allclose([r["score"] for r in got], batch["score"], rtol=1e-9, atol=1e-12)
    assert [r["time"] for r in got] == list(batch["time"])
    keys = ("start", "end", "peak_time")
    events = [r for r in records if r["type"] == "event"]
    assert batch_events and [[e[k] for k in keys] for e in events] == [[e[k] for k in keys] for e in batch_events]
    summary = records[-1]
    assert summary["malformed"] == 0 and summary["other_series"] == 0 and summary["unknown_fields"] == ["pump.status"]


def test_bad_lines_and_a_second_host_are_counted_and_never_stop_the_monitor(detector, detector_file, test_data):
    lines = influx_lines(test_data[:300])
    other = influx_lines(test_data[:300] + 5.0, host="b")
    mixed = [line for pair in zip(lines, other, strict=True) for line in pair]  # two pumps interleaved
    mixed[100] = "pump,host=a temp=abc 1"  # a value that is no number
    mixed[200] = "pump,host=a"  # no fields
    mixed[300] = 'pump,host=a temp="open'  # an unclosed string
    mixed.insert(400, "cpu,host=a usage_idle=97.5 " + str(NS))  # Telegraf's other inputs on the topic
    code, records, err = run(detector_file, mixed)
    assert code == 0 and "Traceback" not in err and "--tag" in err
    summary = records[-1]
    kept = np.delete(test_data[:300], [50, 100, 150], axis=0)  # host a's lines replaced by bad ones
    assert summary["malformed"] == 3 and summary["other_series"] == 300 + 1 and summary["samples"] == len(kept)
    np.testing.assert_allclose([r["score"] for r in samples(records)], detector.decision_function(kept.T),
                               rtol=1e-9, atol=1e-12)
    code, records, _ = run(detector_file, mixed, tags={"host": "b"})
    assert records[-1]["samples"] == 300 and records[-1]["malformed"] == 3
    np.testing.assert_allclose([r["score"] for r in samples(records)],
                               detector.decision_function(test_data[:300].T + 5.0), rtol=1e-9, atol=1e-12)


def test_sensors_of_several_measurements_sharing_timestamps_make_one_sample(detector, detector_file, test_data):
    lines = []
    for k, row in enumerate(test_data[:200]):  # one measurement per sensor, as Telegraf's modbus input may send
        lines += [f"{s}_meter,host=a {s}={float(v)!r} {NS + k * STEP}" for s, v in zip(SENSORS, row, strict=True)]
    code, records, _ = run(detector_file, lines[:-1])  # the last sample lacks flow: held until the stream ends
    assert code == 0 and records[-1]["samples"] == 200 and records[-1]["missing_values"] == 1
    x = test_data[:200].copy()
    x[-1, -1] = np.nan
    np.testing.assert_allclose([r["score"] for r in samples(records)], detector.decision_function(x.T),
                               rtol=1e-9, atol=1e-12)


def test_telegraf_json_and_untimed_line_protocol_score_as_batch(detector, detector_file, test_data):
    metrics = [json.dumps({"fields": {**dict(zip(SENSORS, map(float, row), strict=True)), "status": "ok"},
                           "name": "pump", "tags": {"host": "a"}, "timestamp": NS // 10**9 + 10 * k})
               for k, row in enumerate(test_data[:150])]
    batched = [json.dumps({"metrics": [json.loads(m) for m in metrics[i:i + 50]]}) for i in range(0, 150, 50)]
    for lines in (metrics, batched):
        code, records, _ = run(detector_file, lines)
        got = samples(records)
        assert code == 0 and records[-1]["malformed"] == 0 and got[0]["time"] == iso(got[0]["index"])
        np.testing.assert_allclose([r["score"] for r in got], detector.decision_function(test_data[:150].T),
                                   rtol=1e-9, atol=1e-12)
    code, records, _ = run(detector_file, influx_lines(test_data[:150], stamps=False), fmt="influx")
    assert records[-1]["samples"] == 150 and all(r["time"] is None for r in samples(records))


def test_the_cli_takes_tag_and_precision(detector_file, test_data):
    lines = [line.rsplit(" ", 1)[0] + f" {NS // 10**6 + 10_000 * (k % 100)}"  # milliseconds
             for k, line in enumerate(influx_lines(test_data[:100]) + influx_lines(test_data[:100], host="b"))]
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--format", "influx", "--tag",
                                      "host=b", "--precision", "ms", "--every-sample", "-q"],
                                input="\n".join(lines) + "\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["samples"] == 100 and records[-1]["other_series"] == 100
    assert samples(records)[0]["time"] == "2024-03-01T00:00:00Z"
    for other in (["--raw"], ["--format", "csv"]):
        result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), *other, "--tag", "host=a"],
                                    input="")
        assert result.exit_code == 2 and "--tag applies only with line protocol" in result.output


@pytest.mark.mqtt
@pytest.mark.slow  # a monitor process (8 s)
def test_telegraf_over_mqtt_several_lines_a_message(detector, detector_file, test_data, broker):
    import paho.mqtt.client as mqtt
    from test_mqtt import Lines

    proc = subprocess.Popen([sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file), "--mqtt",
                             f"127.0.0.1:{broker.port}", "--topic", "telegraf/pump", "--every-sample",
                             "--clean-session"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        err, out = Lines(proc.stderr), Lines(proc.stdout)
        err.wait_for("subscribed to")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        lines = influx_lines(test_data[:200])
        for i in range(0, 200, 20):  # Telegraf's mqtt output with batch = true: many lines a message
            client.publish("telegraf/pump", "\n".join(lines[i:i + 20]), qos=1).wait_for_publish(5)
        client.publish("telegraf/pump", "pump,host=a flow=", qos=1).wait_for_publish(5)
        client.loop_stop()
        client.disconnect()
        err.wait_for("malformed")  # the last message was read (the last samples are scored at the end)
        proc.send_signal(signal.SIGTERM)
        out.wait_for('"type":"summary"')
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    records = [json.loads(line) for line in out.drain()]
    assert records[-1]["type"] == "summary" and records[-1]["malformed"] == 1, err.drain()
    np.testing.assert_allclose([r["score"] for r in samples(records)], detector.decision_function(test_data[:200].T),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("kind", "options", "told"), [
    ("CSV", ["--tag", "host=a", "--precision", "ms"],
     "the tags asked for (host=a) and the timestamp precision (ms) apply only to line protocol and Telegraf JSON "
     "metrics: ignored for this stream's CSV records"),
    ("plain JSON", ["--precision", "s"], "the timestamp precision (s) applies only to line protocol and Telegraf "
                                         "JSON metrics: ignored for this stream's plain JSON records"),
])
def test_tag_and_precision_on_a_stream_they_do_not_apply_to_are_told_once(detector_file, test_data, kind, options,
                                                                         told):
    # before: --format auto on a CSV (or plain JSON) stream read it without a word; --format csv is refused up front
    if kind == "CSV":
        lines = [",".join(SENSORS)] + [",".join(f"{float(v)!r}" for v in row) for row in test_data[:100]]
    else:
        lines = [json.dumps(dict(zip(SENSORS, map(float, row), strict=True))) for row in test_data[:100]]
    base = ["monitor", "--detector", str(detector_file), *options]
    result = CliRunner().invoke(cli, base, input="\n".join(lines) + "\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert warned == [f"tsae monitor: warning: {told}"], result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["samples"] == 100
    quiet = CliRunner().invoke(cli, [*base, "-q"], input="\n".join(lines) + "\n", catch_exceptions=False)
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_tag_and_precision_on_line_protocol_are_not_told(detector_file, test_data):
    out = run(detector_file, influx_lines(test_data[:50]), tags={"host": "a"}, precision="ns")[2]
    assert "apply only" not in out and "applies only" not in out
