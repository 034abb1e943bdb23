import io
import json
import warnings

import numpy as np
import pytest

from tsae.pipelines.anomaly.monitor import Monitor, RecordParser, run_monitor

from sensor_data import SENSORS


def csv_lines(x, with_time=True, start=0):
    lines = []
    for i, row in enumerate(x):
        cells = ["" if not np.isfinite(v) else repr(float(v)) for v in row]
        lines.append(",".join(([str(start + i)] if with_time else []) + cells))
    return lines


def run(detector_file, text, **options):
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=io.StringIO(text), stdout=out, stderr=err, **options)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, records, err.getvalue()


def test_monitor_equals_batch_through_text(detector, detector_file, test_data):
    text = "time," + ",".join(SENSORS) + "\n" + "\n".join(csv_lines(test_data)) + "\n"
    code, records, err = run(detector_file, text, every_sample=True)
    assert code == 0
    samples = [r for r in records if r["type"] == "sample"]
    assert [r["index"] for r in samples] == list(range(len(test_data)))
    assert samples[5]["time"] == 5.0  # as batch scoring reports it
    batch = detector.decision_function(test_data.T)
    np.testing.assert_allclose([r["score"] for r in samples], batch, rtol=1e-6, atol=1e-6)
    events = [r for r in records if r["type"] == "event"]
    assert any(e["start_index"] <= 405 <= e["end_index"] for e in events)
    assert events[-1]["top_sensors"][0]["sensor"] in SENSORS
    summary = records[-1]
    assert summary["type"] == "summary" and summary["samples"] == len(test_data)
    assert summary["malformed"] == 0 and "summary:" in err


def test_json_lines_and_score_one(detector, test_data):
    mon = Monitor(detector)
    out = [mon.score_one(dict(zip(SENSORS, row, strict=True))) for row in test_data[:120]]
    assert out[0] is None and out[-1] is not None
    parser = RecordParser(SENSORS)
    rows, times = parser.parse([json.dumps({"t": 1, "temp": 1.0, "pressure": 2.0, "flow": 3.0})])
    assert rows.tolist() == [[1.0, 2.0, 3.0]] and times == [1]


def test_every_kind_of_bad_input(detector, detector_file, test_data):
    lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[:300])
    lines[50] = "this is not csv"  # malformed: wrong field count
    lines[60] = "59,1.0,abc,2.0"  # malformed: not a number
    lines[70] = '{"broken json'  # malformed JSON
    lines[80] = "[1, 2, 3]"  # JSON that is not an object
    lines[90] = "89,,0.5,nan"  # missing and NaN values
    lines[100] = '{"time": 99, "temp": 0.1, "bogus": 3}'  # JSON with a missing sensor and an unknown field
    lines[110] = "5,0.1,0.2,0.3"  # out-of-order time
    lines.insert(120, "")  # blank line: ignored
    x = test_data[300:500].copy()
    x[:, 2] = np.nan  # "flow" goes silent for 200 samples
    lines += csv_lines(x, start=300)
    lines.append("500,0.1,0.2")  # truncated last line
    code, records, err = run(detector_file, "\n".join(lines) + "\n", silence=50)
    assert code == 0
    summary = records[-1]
    assert summary["malformed"] == 5
    assert summary["out_of_order"] == 1
    assert summary["missing_values"] == 2 + 2 + 200
    assert summary["silent_sensor_reports"] == 1
    assert summary["unknown_fields"] == ["bogus"]
    assert summary["samples"] == 300 - 4 - 1 + 200  # malformed and out-of-order rows skipped
    assert "silent" in err and "malformed" in err and "out-of-order" in err
    assert "Traceback" not in err
    # rate limiting: far fewer warning lines than problems
    assert err.count("warning:") < 20


def test_headerless_csv_in_sensor_order(detector, detector_file, test_data):
    text = "\n".join(csv_lines(test_data[:100], with_time=False)) + "\n"
    code, records, _ = run(detector_file, text, every_sample=True)
    assert code == 0 and records[-1]["samples"] == 100 and records[-1]["malformed"] == 0


def test_empty_input(detector_file):
    code, records, _ = run(detector_file, "")
    assert code == 0 and records[-1]["samples"] == 0


def test_a_plugin_source_and_sink_are_selected_by_name(detector, detector_file, test_data):
    """A third party's source (any iterable of lines) and sink plug into `tsae monitor`."""
    import types

    from click.testing import CliRunner

    import tsae
    from tsae import plugins
    from tsae.cli import cli

    received: list[dict] = []

    class ListSource:
        def __init__(self, rows: str = "0"):
            self.lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[: int(rows)])

        def __iter__(self):
            return iter(self.lines)

    class ListSink:
        def __init__(self, **options):
            self.options = options

        def write(self, record):
            received.append(dict(record, sink_options=self.options))

    plugin = types.SimpleNamespace(
        register_sources=tsae.hookimpl(lambda register: register("listsrc", ListSource)),
        register_sinks=tsae.hookimpl(lambda register: register("listsink", ListSink)),
    )
    plugins.register_plugin(plugin, "test_streams")
    try:
        result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--source", "listsrc",
                                          "--source-option", f"rows={len(test_data)}", "--sink", "listsink",
                                          "--sink-option", "channel=alarms", "--every-sample", "-q"])
        assert result.exit_code == 0, result.output
        samples = [r for r in received if r["type"] == "sample"]
        np.testing.assert_allclose([r["score"] for r in samples], detector.decision_function(test_data.T),
                                   rtol=1e-6, atol=1e-6)
        assert received[-1]["type"] == "summary" and received[-1]["sink_options"] == {"channel": "alarms"}
        unknown = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), "--source", "kafka"])
        assert unknown.exit_code != 0 and "listsrc" in unknown.output and "kafka" in unknown.output
    finally:
        plugins.unregister_plugin("test_streams")


def _run_with_streams(detector_file, source: type, sink: type) -> int:
    """``run_monitor`` reading from a source plugin of class ``source`` and writing to a sink of class ``sink``."""
    import types

    import tsae
    from tsae import plugins

    plugin = types.SimpleNamespace(
        register_sources=tsae.hookimpl(lambda register: register("testsrc", source)),
        register_sinks=tsae.hookimpl(lambda register: register("testsink", sink)),
    )
    plugins.register_plugin(plugin, "test_signal_streams")
    try:
        return run_monitor(detector_file, source="testsrc", sink="testsink", every_sample=True, quiet=True)
    finally:
        plugins.unregister_plugin("test_signal_streams")


def test_sigterm_stops_after_the_current_block(detector_file, test_data):
    """SIGTERM sets a stop flag: the block in hand is scored, the rest is not read, the summary is written."""
    import os
    import signal


    received: list[dict] = []
    lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[:200])

    class TermSource:
        def __init__(self):
            self.served = 0

        def blocks(self):
            for start in range(0, len(lines), 50):
                if start == 100:
                    os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before this block is yielded
                self.served += 1
                yield lines[start:start + 50]

    class ListSink:
        def write(self, record):
            received.append(record)

    before = signal.getsignal(signal.SIGTERM)
    code = _run_with_streams(detector_file, TermSource, ListSink)
    assert code == 128 + signal.SIGTERM  # 143, as a shell reports a command SIGTERM ended (it was 130, as Ctrl-C)
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back
    summary = received[-1]
    assert summary["type"] == "summary"
    assert summary["lines"] == 150  # three blocks: the third was in hand when the flag was set
    assert summary["samples"] == 149  # every sample read is scored (flush at the end)


def test_ctrl_c_inside_a_block_writes_every_record_of_the_samples_it_counts(detector_file, test_data):
    """Ctrl-C raised KeyboardInterrupt where it landed: inside a block's records, the rest of them were never written
    while the summary counted their samples (529 sample records, samples 699). It now stops as SIGTERM does: the
    block in hand is finished, the rest is not read; exit 130; the handler there before is back."""
    import os
    import signal


    received: list[dict] = []
    lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[:200])

    class BlockSource:
        def blocks(self):
            for start in range(0, len(lines), 50):
                yield lines[start:start + 50]

    class InterruptingSink:
        def write(self, record):
            received.append(record)
            if sum(r["type"] == "sample" for r in received) == 60:
                os.kill(os.getpid(), signal.SIGINT)  # in the middle of a block's records

    before = signal.getsignal(signal.SIGINT)
    code = _run_with_streams(detector_file, BlockSource, InterruptingSink)
    assert code == 128 + signal.SIGINT
    assert signal.getsignal(signal.SIGINT) == before
    summary = received[-1]
    assert summary["type"] == "summary" and summary["lines"] < len(lines)  # it stopped early
    assert sum(r["type"] == "sample" for r in received) == summary["samples"]


# ----------------------------------------------------------------------------- hostile input (issue 12)
def test_one_bad_message_does_not_kill_the_monitor(detector_file, test_data):
    lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[:200])
    lines.insert(50, '{"time": 48.5, "temp": ' + "9" * 320 + "}")  # OverflowError before
    lines.insert(60, '{"time": ' + "9" * 320 + ', "temp": 1.0}')
    lines.insert(70, "[" * 100_000 + "]" * 100_000)  # RecursionError before
    lines.insert(80, "77," + "1" * 300)  # over max_line
    code, records, err = run(detector_file, "\n".join(lines) + "\n", max_line=200)
    summary = records[-1]
    assert code == 0 and "Traceback" not in err
    assert summary["malformed"] == 4 and summary["samples"] == 200


def test_non_finite_and_far_future_times_do_not_silence_the_monitor(detector_file, test_data):
    lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[:200])
    lines.insert(50, "inf,0.1,0.2,0.3")
    lines.insert(60, "1e999,0.1,0.2,0.3")
    lines.insert(70, "nan,0.1,0.2,0.3")
    lines.insert(80, "1e15,0.1,0.2,0.3")  # a far-future glitch
    code, records, err = run(detector_file, "\n".join(lines) + "\n", max_time_jump=1e6)
    summary = records[-1]
    assert code == 0
    assert summary["malformed"] == 3 and summary["time_jumps"] == 1 and summary["out_of_order"] == 0
    assert summary["samples"] == 200 and "jumps" in err


def test_an_extreme_value_keeps_scores_finite_and_stream_equals_batch(detector, test_data):
    x = test_data.T.copy()
    x[1, 200] = 1e29  # not absurd (under 1e30), but 1e29 standard deviations: clipped to Z_BOUND
    x[0, 500] = -1e29
    batch = detector.decision_function(x)
    assert np.isfinite(batch).all()
    clean = detector.decision_function(test_data.T)
    reach = max(detector.state_.windows) + detector.smooth_  # the longest window and the smoothing
    far = np.r_[0:200 - reach, 200 + reach:500 - reach, 500 + reach:700]  # away from both cells: untouched
    np.testing.assert_allclose(batch[far], clean[far], rtol=1e-9, atol=1e-12)
    assert batch[200] > 100 * detector.threshold_ and batch[500] > 100 * detector.threshold_
    for chunk in (7, 64):
        mon = Monitor(detector, every_sample=True)
        records = []
        for i in range(0, x.shape[1], chunk):
            records += mon.push(x[:, i:i + chunk])
        records += mon.flush()
        stream = np.array([r["score"] for r in records if r["type"] == "sample"])
        np.testing.assert_allclose(stream, batch, rtol=1e-9, atol=1e-9)
        assert mon.summary()["clipped_values"] == 2


def test_an_endless_line_on_a_file_descriptor_is_bounded_and_malformed(detector_file, test_data, tmp_path):
    lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[:100])
    lines.insert(40, "38," + "1" * 3_000_000)  # 3 MB without a newline: read in 64 KiB blocks
    path = tmp_path / "feed.csv"
    path.write_text("\n".join(lines) + "\n")
    out, err = io.StringIO(), io.StringIO()
    with open(path, "rb") as feed:
        code = run_monitor(detector_file, stdin=feed, stdout=out, stderr=err, max_line=100_000)
    summary = json.loads(out.getvalue().splitlines()[-1])
    assert code == 0 and summary["malformed"] == 1 and summary["samples"] == 100
    # the source keeps max_line + 1 characters of it: "a line of 100001 characters" told a 3 MB line's length wrong
    assert "100001" not in err.getvalue() and "a line of over 100000 characters" in err.getvalue(), err.getvalue()
    from tsae.io.streams import StdinSource

    with open(path, "rb") as feed:  # the source itself never holds the whole line
        longest = max(len(line) for block in StdinSource(feed, max_line=100_000).blocks() for line in block)
    assert longest == 100_001


@pytest.mark.parametrize("end", ["\r", "\r\n", "mixed"])
def test_carriage_returns_end_lines_and_never_join_two_records(detector_file, test_data, tmp_path, end):
    lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[:300])
    text = {"mixed": "\n".join(lines[:150]) + "\r" + "\n".join(lines[150:])}.get(end, end.join(lines)) + "\n"
    summaries = []
    for data in ("\n".join(lines) + "\n", text):
        path = tmp_path / "feed.csv"
        path.write_bytes(data.encode())
        for stdin in (open(path, "rb"), io.BytesIO(data.encode())):  # a file descriptor, and a Python stream
            out = io.StringIO()
            with stdin:
                assert run_monitor(detector_file, stdin=stdin, stdout=out, stderr=io.StringIO(), every_sample=True) == 0
            records = [json.loads(line) for line in out.getvalue().splitlines()]
            summaries.append((records[-1]["samples"], records[-1]["malformed"],
                              [r["score"] for r in records if r["type"] == "sample"]))
    for samples, malformed, scores in summaries:  # a lone CR was dropped: two rows joined into one malformed line
        assert (samples, malformed) == (300, 0)
        np.testing.assert_allclose(scores, summaries[0][2], rtol=1e-12)


def test_a_lone_carriage_return_never_makes_one_number_of_two(tmp_path):
    from tsae.io.streams import StdinSource

    data = b"1,2,3,4\r5,6,7,8\n9\r10\r\n11"
    (tmp_path / "feed").write_bytes(data)
    with open(tmp_path / "feed", "rb") as fd_feed:  # read in blocks from the descriptor, and line by line
        for feed in (fd_feed, io.BytesIO(data)):
            lines = [line for block in StdinSource(feed).blocks() for line in block if line]
            assert lines == ["1,2,3,4", "5,6,7,8", "9", "10", "11"]


def test_mqtt_output_without_a_broker_ends_and_reports_the_summary_lost(detector_file, test_data, tmp_path,
                                                                         monkeypatch):
    """The broker never comes: the monitor still scores everything, exits 0 after a bounded wait and says
    in one line how many records (the summary among them) were not delivered; --outbox keeps them."""
    import socket

    from tsae.io import mqtt

    monkeypatch.setattr(mqtt, "FLUSH_TIMEOUT", 0.3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[:100])
    err = io.StringIO()
    outbox = tmp_path / "outbox.jsonl"
    code = run_monitor(detector_file, source="stdin", mqtt=f"127.0.0.1:{port}", out_topic="t/out",
                       every_sample=True, stdin=io.StringIO("\n".join(lines) + "\n"), stderr=err, outbox=outbox)
    text = err.getvalue()
    assert code == 0 and "Traceback" not in text
    assert "101 record(s) not delivered" in text and "summary record was among" in text, text
    header, *lines = outbox.read_text().splitlines()
    assert header == mqtt.OUTBOX_HEADER  # marks the file as an outbox (a saved stdout is refused)
    kept = [json.loads(line) for line in lines]
    assert len(kept) == 101 and kept[-1]["type"] == "summary" and kept[-1]["samples"] == 100
    with pytest.raises(ValueError, match="refusing to overwrite"):  # the outbox never replaces the detector
        run_monitor(detector_file, source="stdin", mqtt=f"127.0.0.1:{port}", out_topic="t/out",
                    stdin=io.StringIO(""), stderr=err, outbox=detector_file)


@pytest.mark.parametrize("dates", [False, True])
def test_event_times_are_the_batch_events_times(detector, detector_file, test_data, tmp_path, dates):
    from tsae.pipelines.anomaly.files import score_file

    stamps = ([f"2024-05-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}" for i in range(len(test_data))]
              if dates else [str(i) for i in range(len(test_data))])
    rows = [",".join([t] + [repr(float(v)) for v in row]) for t, row in zip(stamps, test_data, strict=True)]
    text = "time," + ",".join(SENSORS) + "\n" + "\n".join(rows) + "\n"
    (tmp_path / "d.csv").write_text(text)
    score_file(tmp_path / "d.csv", detector_file, tmp_path / "s.csv", device="cpu", quiet=True)
    batch = json.loads((tmp_path / "s.events.json").read_text())["events"]
    code, records, _ = run(detector_file, text)
    stream = [r for r in records if r["type"] == "event"]
    assert code == 0 and batch
    keys = ("start", "end", "peak_time")
    assert [[e[k] for k in keys] for e in stream] == [[e[k] for k in keys] for e in batch]


def test_times_of_day_passing_midnight_are_the_batch_times(detector, detector_file, test_data, tmp_path):
    # before: batch read 00:00:00 as 0, a day back (told out of order), and the monitor skipped it (out of order)
    import warnings

    from tsae.io.tables import read_table
    from tsae.pipelines.anomaly.files import score_file

    start = 86400 - 300  # 23:55:00, the anomaly (rows 400-415) on the next day
    stamps = [f"{s // 3600 % 24:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(start, start + len(test_data))]
    rows = [",".join([t] + [repr(float(v)) for v in row]) for t, row in zip(stamps, test_data, strict=True)]
    text = "Time," + ",".join(SENSORS) + "\n" + "\n".join(rows) + "\n"
    (tmp_path / "d.csv").write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score_file(tmp_path / "d.csv", detector_file, tmp_path / "s.csv", device="cpu", quiet=True)
    assert not [w for w in caught if "increasing order" in str(w.message)]
    batch = json.loads((tmp_path / "s.events.json").read_text())["events"]
    code, records, _ = run(detector_file, text, every_sample=True)
    samples = [r for r in records if r["type"] == "sample"]
    assert code == 0 and records[-1]["out_of_order"] == 0
    np.testing.assert_array_equal([r["time"] for r in samples], start + np.arange(len(test_data), dtype=float))
    np.testing.assert_array_equal(read_table(tmp_path / "s.csv").time, [r["time"] for r in samples])
    keys = ("start", "end", "peak_time")
    assert batch and [[e[k] for k in keys] for e in records if e["type"] == "event"] == [[e[k] for k in keys]
                                                                                          for e in batch]


# ----------------------------------------------------------------------------- options, flush, decimal commas
@pytest.mark.parametrize(("option", "value"), [("max_line", "x"), ("max_time_jump", "1"), ("time_field", 5)])
def test_a_wrong_option_is_refused_when_the_monitor_is_built(detector, detector_file, monkeypatch, option, value):
    # before: max_line="x" was int()'s "invalid literal", max_time_jump="1" was taken, time_field=5 failed at
    # the first record; run_monitor opened its streams (an MQTT connection) before any of it
    with pytest.raises(ValueError, match=rf"^{option} must be ") as error:
        Monitor(detector, **{option: value})
    assert "\n" not in str(error.value)
    import tsae.pipelines.anomaly.monitor as monitor_module

    def no_streams(*args, **kwargs):
        raise AssertionError("a stream was opened before the options were checked")

    monkeypatch.setattr(monitor_module, "_open_streams", no_streams)
    with pytest.raises(ValueError, match=rf"^{option} must be "):
        run_monitor(detector_file, stdin=io.StringIO(""), stdout=io.StringIO(), stderr=io.StringIO(),
                    **{option: value})


@pytest.mark.parametrize("log", ["x", 5, io.StringIO()])
def test_a_log_without_warn_and_info_is_refused_when_the_monitor_is_built(detector, log):
    # before: Monitor(log="x") was built and failed at the first warning ('str' object has no attribute 'warn')
    with pytest.raises(TypeError, match=r"^log must have warn\(kind, message\) and info\(message\) methods"):
        Monitor(detector, log=log)


def test_push_lines_reads_bytes_and_counts_what_is_no_line_as_malformed(detector, test_data):
    # before: a line of bytes was a TypeError ("a bytes-like object is required, not 'str'") that lost the
    # whole block, and None or a number one from len(); one bad message must never stop the monitor
    mon = Monitor(detector, every_sample=True)
    rows = [",".join(repr(float(v)) for v in row) for row in test_data[:60]]
    lines = [rows[0].encode(), None, *rows[1:30], 7, bytearray(rows[30].encode()), b"\xff\xfe,1,2", *rows[31:]]
    records = mon.push_lines(lines) + mon.flush()
    samples = [r for r in records if r["type"] == "sample"]
    np.testing.assert_allclose([r["score"] for r in samples], detector.decision_function(test_data[:60].T),
                               rtol=1e-6, atol=1e-6)
    summary = mon.summary()
    assert (summary["lines"], summary["malformed"]) == (63, 3)


@pytest.mark.parametrize("lines", ["1,2,3", b"1,2,3", None, 5])
def test_push_lines_refuses_what_is_no_list_of_lines(detector, lines):
    # before: one str was read a character at a time ("1", ",", "2"...), each a malformed line
    mon = Monitor(detector)
    with pytest.raises(TypeError, match=r"^lines must be a list of lines"):
        mon.push_lines(lines)
    assert mon.summary()["lines"] == 0


def test_a_flushed_monitor_refuses_more_samples(detector, test_data):
    # before: push after flush returned [] and dropped the samples silently
    mon = Monitor(detector, every_sample=True)
    records = mon.push(test_data.T[:, :100]) + mon.flush()
    assert len([r for r in records if r["type"] == "sample"]) == 100
    assert mon.flush() == []  # flushing again: nothing more
    feeds = [lambda: mon.push(test_data.T[:, 100:110]), lambda: mon.push(test_data.T[:, :0]),
             lambda: mon.push_lines(["1,2,3"]), lambda: mon.score_one(test_data[0]),
             lambda: mon.learn_one(test_data[0])]
    for feed in feeds:
        with pytest.raises(RuntimeError, match=r"^the monitor was flushed \(its stream ended\): it takes no more"):
            feed()
    summary = mon.summary()
    assert summary["samples"] == 100 and summary["lines"] == 0  # nothing was read after the flush


def test_a_semicolon_stream_with_decimal_commas_scores_as_batch(detector, detector_file, test_data):
    rows = [";".join([f"2024-05-01T00:{i // 60:02d}:{i % 60:02d}"] + [repr(float(v)).replace(".", ",") for v in row])
            for i, row in enumerate(test_data[:300])]
    rows.insert(150, "2024-05-01T00:02:29;0.5;1.5;2.5")  # the other decimal mark: reported, skipped
    code, records, err = run(detector_file, "\n".join(rows) + "\n", every_sample=True)
    samples = [r for r in records if r["type"] == "sample"]
    np.testing.assert_allclose([r["score"] for r in samples], detector.decision_function(test_data[:300].T),
                               rtol=1e-6, atol=1e-6)
    assert code == 0 and records[-1]["malformed"] == 1 and "mixed decimal marks" in err


def test_an_alarm_goes_out_when_an_event_begins_not_when_it_ends(detector, test_data):
    # before, the monitor wrote an event only once it had ended: a day-long fault was told a day late
    mon = Monitor(detector)
    arrivals: list[tuple[int, dict]] = []  # (samples pushed when the record came out, record)
    for i in range(0, len(test_data), 5):
        arrivals += [(i + 5, record) for record in mon.push(test_data[i:i + 5].T)]
    arrivals += [(len(test_data), record) for record in mon.flush()]
    alarms = [(at, r) for at, r in arrivals if r["type"] == "alarm" and r["source"] == "score"]  # not the early one
    events = [(at, r) for at, r in arrivals if r["type"] == "event"]
    assert len(alarms) == len(events) >= 1  # one alarm per event
    batch = detector.decision_function(test_data.T)
    first = int(np.flatnonzero(batch > detector.threshold_)[0])
    arrived, alarm = alarms[0]
    # the alarm names the first flagged sample; the event, closed later, where its top sensor's error rose (onset.py)
    assert alarm["start_index"] == first == events[0][1]["flagged_start_index"] <= events[0][1]["start_index"]
    assert alarm["score"] == pytest.approx(batch[first], rel=1e-6)
    assert alarm["threshold"] == detector.threshold_ and alarm["top_sensors"][0]["sensor"] in SENSORS
    assert arrived < events[0][0]  # told when it began, before it ended
    # as soon as the first flagged sample's score is final: its windows complete, its moving mean's later rows in
    assert arrived - first <= max(detector.state_.windows) + detector.smooth_ // 2 + 5


def test_a_stream_whose_times_look_like_excel_serial_dates_is_warned_about_once(detector_file, test_data):
    # before: `tsae detect score` warned about such a time column, `tsae monitor` said nothing
    days = [f"{45292.25 + i / 1440:.6f}," + ",".join(f"{v:.4f}" for v in row) for i, row in enumerate(test_data)]
    code, _, err = run(detector_file, "Date," + ",".join(SENSORS) + "\n" + "\n".join(days) + "\n")
    assert code == 0 and err.count("look like Excel serial dates") == 1, err
    assert "tsae monitor: warning: time column 'Date' holds numbers 45292.25 to" in err
    code, _, err = run(detector_file, "time," + ",".join(SENSORS) + "\n" + "\n".join(csv_lines(test_data)) + "\n")
    assert code == 0 and "Excel" not in err


def test_pushed_times_that_look_like_excel_serial_dates_are_warned_about_once(detector, test_data):
    # before: Monitor.push(values, times=...) carried Excel day numbers into its records without a word
    x = test_data.T
    days = [45292.25 + i / 1440 for i in range(x.shape[1])]
    mon = Monitor(detector)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mon.push(x[:, :10])  # no times, then dates: not judged yet
        mon.push(x[:, 10:20], times=[f"2024-01-01T00:00:{i:02d}" for i in range(10, 20)])
        mon.push(x[:, 20:60], times=days[20:60])
        mon.push(x[:, 60:], times=days[60:])
    assert [w.category for w in caught] == [UserWarning], [str(w.message) for w in caught]
    assert str(caught[0].message).startswith(f"Monitor.push: times hold numbers 45292.26389 to {days[59]:.10g}, "
                                             "which look like Excel serial dates")
    assert caught[0].filename == __file__  # points at the caller's push
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mon = Monitor(detector)
        mon.push(x[:, :50], times=list(range(50)))  # judged on the first numeric times: seconds
        mon.push(x[:, 50:], times=days[50:])
        # a text stream is judged by its parser, by the time field's name too (time_s: seconds)
        lines = [f"{d!r}," + ",".join(map(repr, row)) for d, row in zip(days, test_data, strict=True)]
        Monitor(detector).push_lines(["time_s," + ",".join(SENSORS), *lines])
    assert [str(w.message) for w in caught] == []


def test_pushed_datetime64_times_come_out_as_iso_text(detector, test_data):
    # before: a datetime64[ns] time came out as an int of nanoseconds, a datetime64[s] one as a datetime object
    x = test_data.T
    for unit in ("ns", "s"):
        times = np.datetime64("2024-01-01T00:00:00", unit) + np.arange(x.shape[1]) * np.timedelta64(60, "s")
        records = Monitor(detector, every_sample=True).push(x, times=list(times))
        samples = [r for r in records if r["type"] == "sample"]
        assert samples and samples[0]["time"] == "2024-01-01T00:00:00", samples[0]
        assert samples[1]["time"] == "2024-01-01T00:01:00"
        json.dumps(records)  # no datetime objects left


def _closed_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there


@pytest.mark.parametrize("topic", ["a/#/b", "a/b#", "a/+b", ""])
def test_a_topic_filter_mqtt_cannot_subscribe_to_is_refused_before_connecting(detector_file, topic):
    """--topic 'a/#/b': paho raised in its network thread (a traceback) and the monitor waited forever,
    subscribed to nothing; now one line naming the topic, exit 1, before any connection."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file),
                           "--mqtt", f"127.0.0.1:{_closed_port()}", "--topic", topic],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "cannot reach" not in proc.stderr
    assert f"MQTT topic {topic!r}" in proc.stderr and "--topic" in proc.stderr, proc.stderr


@pytest.mark.parametrize("topic", ["alarms/+", "alarms/#", "", "a\0b"])
def test_an_out_topic_mqtt_cannot_publish_to_is_refused_before_scoring(detector_file, test_data, topic):
    """--out-topic 'alarms/+': the monitor scored on and died at its first alarm ('Error: Publish topic cannot
    contain wildcards.'), the alarm lost; now refused before any stream opens."""
    from tsae.io.mqtt import MqttSink

    text = "\n".join(["time," + ",".join(SENSORS), *csv_lines(test_data)]) + "\n"
    with pytest.raises(ValueError, match=r"--out-topic"):
        run_monitor(detector_file, stdin=io.StringIO(text), stdout=io.StringIO(), stderr=io.StringIO(),
                    source="stdin", mqtt=f"127.0.0.1:{_closed_port()}", out_topic=topic)
    with pytest.raises(ValueError, match="MQTT topic"):  # the sink itself, built by a plugin or in Python
        MqttSink(host="127.0.0.1", port=_closed_port(), topic=topic)


@pytest.mark.parametrize(("options", "said"), [
    (["--out-topic", "plant/alarms"], "--out-topic needs the broker's address: add --mqtt HOST:PORT"),
    (["--sink", "mqtt"], "--sink mqtt needs the broker's address"),
    (["--source", "mqtt"], "--source mqtt needs the broker's address"),
])
def test_mqtt_without_a_broker_is_told_in_the_commands_words(detector_file, options, said):
    """It said "need a broker address (mqtt='HOST:PORT')", the Python argument's words, after reading the input."""
    from click.testing import CliRunner

    from tsae.cli import cli

    result = CliRunner().invoke(cli, ["monitor", "--detector", str(detector_file), *options], input="a,b\n1,2\n")
    assert result.exit_code == 2 and said in result.output and "mqtt='HOST" not in result.output


def test_a_monitor_can_be_copied_mid_stream(detector, test_data):
    import copy
    import sys

    mon = Monitor(detector, every_sample=True)
    mon.push(test_data[:300].T)
    fork = copy.deepcopy(mon)  # river's way to branch a model: it failed, 'cannot pickle _io.TextIOWrapper'
    assert fork.log.stream is sys.stderr and fork.parser.log is fork.log  # the stream shared, not copied
    rest = test_data[300:].T
    assert mon.push(rest) + mon.flush() == fork.push(rest) + fork.flush()
    assert copy.deepcopy(Monitor(detector)).score_one(dict(zip(SENSORS, test_data[0], strict=True))) is None


@pytest.mark.parametrize("drift", [None, 0.05], ids=["plain", "drifting"])
@pytest.mark.parametrize("take", ["deepcopy", "copy"])
def test_a_monitor_copied_mid_stream_is_a_fork(detector, test_data, take, drift):
    # before: copy.copy shared the core, the tracker and the counters: feeding the copy moved the original
    import copy

    from tsae.pipelines.anomaly.silent import scoring_core

    def started() -> Monitor:
        mon = Monitor(detector, every_sample=True, drift_rate=drift, drift_every=None if drift is None else 4 * 24)
        mon.push(test_data[:300].T)
        return mon

    mon = started()
    fork = getattr(copy, take)(mon)
    rest = test_data[300:].T
    forked = fork.push(rest) + fork.flush()  # the copy first: the original must not move
    ours = mon.push(rest) + mon.flush()
    alone = started()
    assert ours == alone.push(rest) + alone.flush()  # the original went on as if it had not been copied
    assert forked == ours and any(r["type"] == "event" for r in ours)
    assert fork.summary()["samples"] == mon.summary()["samples"] == len(test_data)
    shared = take == "copy"  # copy.copy shares what scoring never changes: the detector and its networks
    assert (fork.detector is mon.detector) == shared
    networks = [scale.model for scale in scoring_core(mon.core).scales if scale.model is not None]
    copied = [scale.model for scale in scoring_core(fork.core).scales if scale.model is not None]
    assert networks and all((a is b) == shared for a, b in zip(networks, copied, strict=True))
    assert fork.core is not mon.core and fork.tracker is not mon.tracker and fork.parser is not mon.parser


def test_a_monitor_shows_in_one_short_line(detector, test_data):
    # before: <tsae.pipelines.anomaly.monitor.Monitor object at 0x...>
    mon = Monitor(detector)
    start = f"Monitor(model={detector.model!r}, sensors={len(SENSORS)}, window={detector.window_}, "
    assert repr(mon) == start + "seen=0, scored=0, events=0)"
    mon.push(test_data[:300].T)
    text = repr(mon)
    assert text == start + f"seen=300, scored={mon.emitted}, events={mon.events})" and 0 < mon.emitted <= 300
    mon.flush()
    assert repr(mon) == start + f"seen=300, scored=300, events={mon.events}, flushed)"


def test_an_empty_dataframe_chunk_is_no_samples_as_an_empty_array_is(detector, test_data):
    import pandas as pd

    # before: push(np.zeros((n_sensors, 0))) gave [] but a DataFrame of no rows (a poll with nothing new,
    # df[df.index > last]) raised "x is empty"
    mon = Monitor(detector, every_sample=True)
    frame = pd.DataFrame(test_data[:300], columns=SENSORS)
    assert mon.push(frame.iloc[:0]) == [] and mon.push(np.zeros((len(SENSORS), 0))) == []
    assert mon.push(frame) == Monitor(detector, every_sample=True).push(frame)
    with pytest.raises(ValueError, match="missing sensor column"):
        mon.push(frame.iloc[:0, 1:])


def _sigterm_while_quiet(detector_file, rows: np.ndarray, feed: bytes, *options: str) -> None:
    """Feed ``feed`` (the 200 ``rows``) to a `tsae monitor` process, keep its stdin open and quiet, send SIGTERM: it
    must stop at once with exit 143 (128 + SIGTERM) and its summary (200 samples), nothing on stderr."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    # the records of every sample whose score is final once all the rows are read: the first record alone did not
    # prove the monitor had read them all (a feed read in two parts on a loaded machine, the SIGTERM before the second)
    expected = sum(r["type"] == "sample" for r in Monitor(detector_file, every_sample=True).push(rows.T))

    proc = subprocess.Popen([sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file), "-q",
                             "--every-sample", *options],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(feed)
        proc.stdin.flush()  # and then nothing more: the pipe stays open
        watchdog = threading.Timer(120, proc.kill)  # a monitor that never gets there ends the test, not CI
        watchdog.start()
        seen = 0
        while seen < expected:  # the samples were read and scored: the monitor waits for more
            line = proc.stdout.readline()
            assert line, f"{seen} of {expected} sample records, then the end of its output"
            seen += b'"type":"sample"' in line
        watchdog.cancel()
        time.sleep(1)  # back in its read of the quiet input
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)  # stdin still open (communicate would close it: the end of the input)
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["type"] == "summary" and summary["samples"] == 200
    assert not err.strip(), err


def test_sigterm_stops_a_monitor_whose_stdin_is_quiet(detector_file, test_data):
    """`systemctl stop` on a monitor whose sensors send nothing for a while: it stops at once, with its summary."""
    # the handler closed the source, but StdinSource sat in os.read until the next line came: a quiet feed kept
    # the monitor running (until the service manager's SIGKILL, without the summary)
    lines = ["time," + ",".join(SENSORS)] + csv_lines(test_data[:200])
    _sigterm_while_quiet(detector_file, test_data[:200], ("\n".join(lines) + "\n").encode())


def test_sigterm_stops_a_raw_monitor_whose_stdin_is_quiet(detector_file, test_data):
    """`monitor --raw` too: it sat in the buffered stdin's read1 after SIGTERM until more bytes came."""
    raw = np.asarray(test_data[:200], dtype="<f4")
    _sigterm_while_quiet(detector_file, raw, raw.tobytes(), "--raw", "--format", "f32")


@pytest.mark.parametrize(("topic", "out_topic"), [("plant/pump", "plant/pump"), ("plant/#", "plant/alarms"),
                                                  ("plant/+", "plant/alarms"), ("#", "tsae/events")])
def test_an_out_topic_the_input_topic_matches_is_refused_before_connecting(detector_file, topic, out_topic) -> None:
    """The monitor read its own records back: each alarm, event and summary counted as a malformed line (a warning
    saying 'no value for any of the detector's sensors'), the summary's `malformed` grown by the monitor itself."""
    with pytest.raises(ValueError, match=r"^--out-topic .* is matched by --topic .*: the monitor would read its own"):
        run_monitor(detector_file, mqtt="127.0.0.1:1", topic=topic, out_topic=out_topic, stdout=io.StringIO(),
                    stderr=io.StringIO())
