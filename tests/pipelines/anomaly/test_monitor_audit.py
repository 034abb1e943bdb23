"""Hostile inputs to ``tsae monitor`` found by the s42 audit: each test failed before its fix."""
from __future__ import annotations

import errno
import io
import json
import os

import pytest

from tsae.pipelines.anomaly.monitor import run_monitor

from sensor_data import SENSORS


def _text(x, header: str | None = None) -> str:
    head = "time," + ",".join(SENSORS) if header is None else header
    return head + "\n" + "".join(f"{i}," + ",".join(repr(float(v)) for v in row) + "\n" for i, row in enumerate(x))


def _run(detector_file, text: str, **options):
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=io.StringIO(text), stdout=out, stderr=err, **options)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


class _FullDisk(io.StringIO):
    def write(self, data) -> int:  # what `> /dev/full` gives, once the buffer is flushed
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_stdout_that_cannot_be_written_is_named(detector_file, test_data) -> None:
    # before: `tsae monitor ... > /dev/full` said "Error: [Errno 28] No space left on device", naming nothing
    err = io.StringIO()
    with pytest.raises(ValueError, match=r"^stdout: cannot write it \(No space left on device\)$"):
        run_monitor(detector_file, stdin=io.StringIO(_text(test_data)), stdout=_FullDisk(), stderr=err,
                    every_sample=True)
    assert "summary:" in err.getvalue()  # the summary still goes to the log


def test_a_time_field_that_is_a_sensor_is_refused_before_any_stream_opens(detector, detector_file) -> None:
    # before: `--time-field pressure` was taken: the sensor stayed a sensor, no record had a time (every event's
    # start null, order, jumps and duplicates unchecked), and nothing said so
    from tsae.pipelines.anomaly.monitor import Monitor

    with pytest.raises(ValueError, match=r"^time_field must not name a sensor: 'pressure' is one of the detector's "
                                         r"sensors \(temp, pressure, flow\)$"):
        Monitor(detector, time_field="pressure")
    with pytest.raises(ValueError, match=r"^time_field must not name a sensor"):
        run_monitor(detector_file, stdin=io.StringIO(""), stdout=io.StringIO(), stderr=io.StringIO(),
                    time_field="pressure")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_time_field_the_records_do_not_carry_is_told_once(detector_file, test_data, fmt) -> None:
    # before: `--time-field stamp` on records timed by "time" said nothing: the "time" column was dropped as an
    # unknown field, every event's start was null and order, jumps and duplicates went unchecked
    if fmt == "csv":
        text = _text(test_data[:200])
    else:
        text = "".join(json.dumps({"time": i, **dict(zip(SENSORS, map(float, row), strict=True))}) + "\n"
                       for i, row in enumerate(test_data[:200]))
    code, records, err = _run(detector_file, text, time_field="stamp")
    assert code == 0 and records[-1]["samples"] == 200
    told = [line for line in err.splitlines() if "'stamp'" in line]
    assert len(told) == 1 and told[0] == (
        "tsae monitor: warning: no time field 'stamp' (--time-field) in the records: their samples have no time, "
        "unchecked for order, jumps and duplicates")
    code, records, err = _run(detector_file, text, time_field="time")  # the field they carry: nothing to tell
    assert code == 0 and records[-1]["samples"] == 200 and "no time field" not in err


def test_a_header_of_another_detectors_sensors_is_named_as_such(detector_file, test_data) -> None:
    # before: a stream of other sensors (a detector for another machine) had its header blamed on its width:
    # "skipped a malformed line (expected 3 or 4 CSV fields, got 6: 'time,flow,speed,...')", as a row would be
    text = "time,speed,torque,current,voltage,label\n" + "".join(f"{i},1.5,2.5,3.5,4.5,0\n" for i in range(50))
    code, records, err = _run(detector_file, text)
    assert code == 0 and records[-1]["samples"] == 0 and records[-1]["malformed"] == 51
    first = err.splitlines()[1]
    assert first == ("tsae monitor: warning: skipped a malformed line (a header naming none of the detector's "
                     "sensors (temp, pressure, flow): 'time,speed,torque,current,voltage,label')"), first
    # a line of one word is no header: its width is what is wrong
    code, records, err = _run(detector_file, "garbage\n" + _text(test_data[:50]))
    assert records[-1]["malformed"] == 1 and "expected 3 or 4 CSV fields, got 1: 'garbage'" in err


def test_a_hangup_stops_the_monitor_with_its_summary(detector_file, test_data) -> None:
    """The terminal or SSH session of a monitor closes (SIGHUP): it stops as on SIGTERM, with its summary (and an
    MQTT sink's outbox saved), unless the hangup is ignored (nohup)."""
    # before: SIGHUP killed it at once: no summary, and an MQTT sink's records waiting in memory were lost even with
    # --outbox
    import signal
    import subprocess
    import sys
    import threading
    import time

    from tsae.pipelines.anomaly.monitor import Monitor

    expected = sum(r["type"] == "sample" for r in Monitor(detector_file, every_sample=True).push(test_data[:200].T))
    proc = subprocess.Popen([sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file), "-q",
                             "--every-sample"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            # a hangup not ignored, whatever pytest was started under (nohup)
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    watchdog = threading.Timer(120, proc.kill)  # a monitor that never gets there ends the test, not CI
    watchdog.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(_text(test_data[:200]).encode())
        proc.stdin.flush()  # and then nothing more: the pipe stays open
        seen = 0
        while seen < expected:  # every row read and scored: the monitor waits for more
            line = proc.stdout.readline()
            assert line, f"{seen} of {expected} sample records, then the end of its output"
            seen += b'"type":"sample"' in line
        time.sleep(1)  # back in its read of the quiet input
        proc.send_signal(signal.SIGHUP)
        proc.wait(timeout=60)
        out, err = proc.communicate()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGHUP, err  # 129, as a shell reports it (it was 130, as Ctrl-C)
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["type"] == "summary" and summary["samples"] == 200
    assert not err.strip(), err


def test_an_integer_too_large_for_a_float_is_an_infinite_value_not_an_overflow(detector, test_data) -> None:
    # before: Monitor.score_one({"flow": 10**400}) and push() of such an object array raised OverflowError "int too
    # large to convert to float", naming nothing; a CSV cell of 400 nines is infinite (a missing value), and so is it
    import math

    import numpy as np

    from tsae.engine.layout import real_array
    from tsae.pipelines.anomaly.monitor import Monitor

    assert real_array([10**400, -(10**400), None, 2]).tolist()[:2] == [math.inf, -math.inf]
    assert np.isnan(real_array([10**400, None])[1])
    for mixed in ([10**400, "a"], [10**400, 1 + 2j], np.array([10**400, [1]], dtype=object)):
        with pytest.raises(ValueError, match=r"^x must hold real numbers \(it holds Python objects that are not\)$"):
            real_array(mixed)
    huge, infinite = Monitor(detector, every_sample=True), Monitor(detector, every_sample=True)
    for k, row in enumerate(test_data[:150]):
        values = dict(zip(SENSORS, map(float, row), strict=True))
        big = {**values, "flow": 10**400} if k == 100 else values
        assert huge.score_one(big) == infinite.score_one({**values, "flow": math.inf} if k == 100 else values)
    assert huge.summary()["repaired_values"] == infinite.summary()["repaired_values"] == 1
    block = np.asarray(test_data[150:160].T, dtype=object)
    block[0, 3] = -(10**400)
    same = test_data[150:160].T.copy()
    same[0, 3] = -math.inf
    assert [r["score"] for r in huge.push(block)] == [r["score"] for r in infinite.push(same)]


def test_a_first_column_batch_reads_as_the_time_is_told_when_the_stream_does_not(detector_file, test_data) -> None:
    # before: `detect score` read a first column "epoch_s" (or "minute", "time_ms", "sample_index") that counts as
    # the time column and reported its events' times; the monitor dropped it as an unknown field without a word:
    # every event's start null, order, jumps and duplicates unchecked
    rows = "".join(f"{1_700_000_000 + i}," + ",".join(repr(float(v)) for v in row) + "\n"
                   for i, row in enumerate(test_data[:100]))
    code, records, err = _run(detector_file, "epoch_s," + ",".join(SENSORS) + "\n" + rows)
    assert code == 0 and records[-1]["samples"] == 100
    told = [line for line in err.splitlines() if "warning:" in line]
    assert told == ["tsae monitor: warning: the first column 'epoch_s' is not read as the records' time (it is named "
                    "like no time column; `tsae detect score` reads it so when it counts): give --time-field epoch_s "
                    "if it holds their times"], err
    code, records, err = _run(detector_file, "epoch_s," + ",".join(SENSORS) + "\n" + rows, time_field="epoch_s")
    assert code == 0 and "warning" not in err
    code, records, err = _run(detector_file, "amps," + ",".join(SENSORS) + "\n" + rows)  # a data column's name
    assert code == 0 and "warning:" not in err


def test_one_big_block_is_scored_in_bounded_memory(detector, test_data, monkeypatch) -> None:
    # before: Monitor.push (so one MQTT message, and push_lines) scored a block whole: memory grew with the block,
    # about 1.8 kB a sample for the pump detector (a 20 MB MQTT message of 600,000 lines: 1.4 GB), where batch
    # scoring takes SCORE_BLOCK samples at a time
    import numpy as np

    import tsae.pipelines.anomaly.monitor as monitor_module
    from tsae.pipelines.anomaly.monitor import Monitor

    from memory_helpers import traced_peak

    monkeypatch.setattr(monitor_module, "SCORE_BLOCK", 2048, raising=False)
    x = np.tile(test_data.T, (1, 20))  # 14,000 samples
    small, big = Monitor(detector), Monitor(detector)  # no sample records: the memory measured is the scoring's
    small.push(x[:, :2048])  # imports and first-call allocations out of the way
    _, one_block = traced_peak(lambda: small.push(x[:, 2048:4096]))
    _, whole = traced_peak(lambda: big.push(x))
    assert whole < 3 * one_block, (whole, one_block)
    records = Monitor(detector, every_sample=True).push(x)
    reference = Monitor(detector, every_sample=True)
    expected = [r for a in range(0, x.shape[1], 1000) for r in reference.push(x[:, a:a + 1000])]
    for kind, key in (("sample", "score"), ("event", "peak_score")):  # early alarms depend on how samples come
        got, want = ([r[key] for r in rs if r["type"] == kind] for rs in (records, expected))
        assert len(got) == len(want) > 0 and got == pytest.approx(want, rel=1e-9)
    assert len([r for r in records if r["type"] == "sample"]) > x.shape[1] - 100


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_unknown_field_with_a_huge_name_is_told_and_summed_up_short(detector_file, test_data, fmt) -> None:
    # before: a field named by 300,000 characters (within the line limit) was kept whole, up to 100 such names:
    # its warning line was 300 kB, and the summary record and line 20 MB for 100 of them
    long = "k" * 300_000
    if fmt == "json":
        text = "".join(json.dumps({"time": i, long + str(i % 3): 1.0, **dict(zip(SENSORS, map(float, row),
                                                                                 strict=True))}) + "\n"
                       for i, row in enumerate(test_data[:60]))
    else:
        text = "time," + ",".join(SENSORS) + "," + long + "\n" + "".join(
            f"{i}," + ",".join(repr(float(v)) for v in row) + ",1\n" for i, row in enumerate(test_data[:60]))
    code, records, err = _run(detector_file, text)
    assert code == 0 and records[-1]["samples"] == 60
    names = records[-1]["unknown_fields"]
    assert names and all(len(name) <= 100 and name.startswith("kkkk") for name in names), [len(n) for n in names]
    assert max(len(line) for line in err.splitlines()) < 2000


def test_renamed_columns_beside_a_label_column_are_read_in_order_as_batch_reads_them(detector_file, test_data) -> None:
    # before: `detect score` read a file of renamed sensor columns and a label column ("time,T,P,F,label", as
    # data/pump_faulty.csv has one) in order, leaving the label out; the monitor took the header for none of its
    # sensors' (one column too many) and skipped every line as malformed: 0 samples scored
    rows = [f"{i}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(test_data[:200])]
    named = "time," + ",".join(SENSORS) + "\n" + "\n".join(rows) + "\n"
    renamed = "time,T,P,F,label\n" + "\n".join(f"{row},{i % 2}" for i, row in enumerate(rows)) + "\n"
    _, expected, _ = _run(detector_file, named, every_sample=True)
    code, records, err = _run(detector_file, renamed, every_sample=True)
    assert code == 0 and records[-1]["samples"] == 200 and records[-1]["malformed"] == 0, err
    assert [r["score"] for r in records if r["type"] == "sample"] == [
        r["score"] for r in expected if r["type"] == "sample"]
    assert "reading its 3 value column(s) in order as temp, pressure, flow" in err
