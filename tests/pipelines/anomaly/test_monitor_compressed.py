"""`tsae monitor` reads gzip (bzip2, xz) data told by its magic bytes: stdin, and MQTT payloads one by one."""
import bz2
import gzip
import io
import json
import lzma
import signal
import subprocess
import sys
import threading
import time

import pytest
from loopback_broker import publish_once_subscribed

from tsae.pipelines.anomaly.monitor import run_monitor

from sensor_data import SENSORS

COMPRESS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


def csv_text(rows, start=0):
    lines = [f"{start + i}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(rows)]
    return "time," + ",".join(SENSORS) + "\n" + "\n".join(lines) + "\n"


def monitor(detector_file, stdin):
    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector_file, stdin=stdin, stdout=out, stderr=err, every_sample=True)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


@pytest.mark.parametrize("kind", list(COMPRESS))
def test_a_compressed_stream_on_stdin_is_read_as_the_plain_one(detector_file, test_data, tmp_path, kind):
    # before: refused in one line, "decompress it first (zcat FILE | tsae monitor ...)"
    text = csv_text(test_data[:300])
    plain = tmp_path / "feed.csv"
    plain.write_text(text)
    packed = tmp_path / "feed.csv.z"
    packed.write_bytes(COMPRESS[kind](text[:4000].encode()) + COMPRESS[kind](text[4000:].encode()))  # two members
    with open(plain, "rb") as feed:  # a file descriptor, as a shell's redirection gives
        _, expected, _ = monitor(detector_file, feed)
    with open(packed, "rb") as feed:
        code, records, err = monitor(detector_file, feed)
    assert code == 0 and "warning" not in err, err
    assert [(r["type"], r.get("index"), r.get("time")) for r in records] == \
        [(r["type"], r.get("index"), r.get("time")) for r in expected]
    scores = [r["score"] for r in records if r["type"] == "sample"]
    assert scores == pytest.approx([r["score"] for r in expected if r["type"] == "sample"], rel=1e-9)
    assert records[-1]["samples"] > 0 and records[-1]["malformed"] == 0
    code, again, _ = monitor(detector_file, io.BytesIO(packed.read_bytes()))  # a Python stream of bytes too
    assert code == 0 and again[-1]["samples"] == records[-1]["samples"]


@pytest.mark.parametrize(("spoil", "told"), [("cut", "gzip data cut short after"),
                                             ("trailer", "gzip data does not decompress")])
def test_a_corrupt_gzip_stream_is_one_warning_and_the_rows_before_it_are_scored(detector_file, test_data, tmp_path,
                                                                                spoil, told):
    data = bytearray(gzip.compress(csv_text(test_data[:400]).encode()))
    if spoil == "cut":  # a download cut off
        data = data[:len(data) * 2 // 3]
    else:  # its check sum wrong: told at the end of the member
        data[-8] ^= 0xFF
    (tmp_path / "feed").write_bytes(bytes(data))
    with open(tmp_path / "feed", "rb") as feed:
        code, records, err = monitor(detector_file, feed)
    assert code == 0, err
    assert err.count(told) == 1 and err.count("warning") == 1 and "the rest of stdin is not read" in err, err
    summary = records[-1]
    assert summary["type"] == "summary" and summary["malformed"] == 1 and summary["samples"] < 400
    assert summary["samples"] > 0 or spoil == "trailer"  # (the rows read before the cut are scored)


@pytest.mark.mqtt
def test_gzip_mqtt_payloads_are_read_and_a_corrupt_one_is_one_warning(broker, test_data):
    from tsae.io.mqtt import MqttSource

    said: list[str] = []
    source = MqttSource("127.0.0.1", broker.port, "plant/#", on_status=said.append, session_expiry=None, poll=0.1)
    try:
        payloads = [gzip.compress(b"pump a=1 1\npump a=2 2"), gzip.compress(b"pump a=3 3")[:-6], b"pump a=4 4",
                    gzip.compress(b"pump a=5 5")]
        deadline = publish_once_subscribed(broker.port, said, [("plant/pump", p) for p in payloads])
        lines: list[str] = []
        for block in source.blocks():
            lines += block
            if len(lines) >= 4 or time.monotonic() > deadline:
                break
    finally:
        source.close()
    assert lines == ["pump a=1 1", "pump a=2 2", "pump a=4 4", "pump a=5 5"]
    warned = [s for s in said if "warning" in s]
    assert len(warned) == 1 and "a gzip payload of" in warned[0] and "(topic plant/pump): skipped" in warned[0], said
    assert source.corrupt == 1


def test_many_corrupt_mqtt_payloads_are_one_warning_and_all_counted(broker, detector_file, test_data):
    """Each corrupt gzip payload printed its own warning, the rate limit of every other kind of bad message by-passed
    (16 corrupt payloads among 800 samples: 16 identical lines on stderr); now they share the monitor's rate limit
    and the summary still counts every one as malformed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file),
         "--mqtt", f"127.0.0.1:{broker.port}", "--topic", "plant/pump", "--clean-session"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said: list[str] = []

    def read_stderr():
        for line in proc.stderr:
            said.append(line)

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        rows = csv_text(test_data[:20]).splitlines()
        messages = [("plant/pump", rows[0])]
        for row in rows[1:]:
            messages += [("plant/pump", row), ("plant/pump", gzip.compress(row.encode())[:-6])]
        deadline = publish_once_subscribed(broker.port, said, messages)
        while not any("a gzip payload" in s for s in said) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # the monitor reads the rest of what the broker acknowledged
        proc.send_signal(signal.SIGTERM)
        out = proc.stdout.read()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    summary = json.loads(out.splitlines()[-1])
    assert summary["malformed"] >= 2 and 0 <= summary["samples"] - summary["malformed"] <= 1, summary
    assert sum("a gzip payload" in s for s in said) == 1, "".join(said)
