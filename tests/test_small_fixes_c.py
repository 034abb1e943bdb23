"""Small fixes: the monitor's outbox file is told from its saved stdout; a mid-stream CSV header naming
fewer sensors than the columns in use changes nothing; a .wav output keeps an RF64 or WAVEX input's
format and channel mask."""
from __future__ import annotations

import io
import json
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SENSORS = ["temp", "pressure", "flow"]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def series(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    a, b = np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 24)
    return np.c_[a, b, a + b] + 0.05 * rng.normal(size=(n, 3))


def csv_rows(x: np.ndarray, start: int = 0) -> list[str]:
    return [f"{start + i}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(x)]


@pytest.fixture(scope="module")
def detector_path(tmp_path_factory) -> Path:
    from tsae.pipelines.anomaly.detector import Detector

    path = tmp_path_factory.mktemp("det") / "detector.tsae"
    detector = Detector(window=24, epochs=1, device="cpu", terms="pca", scales=())
    detector.fit(series(600, 0).T, sensors=SENSORS).save(path)
    return path


# ----------------------------------------------------------------------------- 1. outbox vs. a saved monitor log
def saved_monitor_log(detector_path: Path, path: Path) -> Path:
    """What `tsae monitor --every-sample > path` leaves: the monitor's records, one JSON line each."""
    from tsae.pipelines.anomaly.monitor import run_monitor

    out = io.StringIO()
    lines = ["time," + ",".join(SENSORS), *csv_rows(series(80, 1))]
    assert run_monitor(detector_path, every_sample=True, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out,
                       stderr=io.StringIO()) == 0
    path.write_text(out.getvalue())
    return path


def test_a_saved_monitor_stdout_is_refused_as_outbox_in_one_line_and_left_alone(detector_path, tmp_path,
                                                                                 monkeypatch) -> None:
    from tsae.io import mqtt
    from tsae.pipelines.anomaly.monitor import run_monitor

    log = saved_monitor_log(detector_path, tmp_path / "monitor.log")
    before = log.read_bytes()
    assert json.loads(before.splitlines()[-1])["type"] == "summary"
    monkeypatch.setattr(mqtt, "_client", lambda *a: pytest.fail("connected to a broker"))
    for attempt in (lambda: mqtt.check_outbox(log), lambda: mqtt.Outbox(path=log),
                    lambda: run_monitor(detector_path, mqtt=f"127.0.0.1:{closed_port()}", out_topic="t/out",
                                        outbox=log, stderr=io.StringIO())):
        with pytest.raises(ValueError) as error:
            attempt()
        message = str(error.value)
        assert "\n" not in message and message.startswith(f"{log}: not an outbox file of tsae monitor (")
        assert "looks like the output of tsae monitor saved from stdout" in message
    assert log.read_bytes() == before


def test_the_cli_refuses_a_saved_log_as_outbox_with_one_line_and_exit_1(detector_path, tmp_path) -> None:
    log = saved_monitor_log(detector_path, tmp_path / "events.jsonl")
    before = log.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_path), "--mqtt",
                           f"127.0.0.1:{closed_port()}", "--out-topic", "t/out", "--outbox", str(log)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith(f"Error: {log}: not an outbox file of tsae monitor (it looks like the output")
    assert log.read_bytes() == before


def test_an_outbox_the_sink_writes_starts_with_its_header_and_is_loaded_again(tmp_path) -> None:
    from tsae.io.mqtt import OUTBOX_HEADER, MqttSink, Outbox, check_outbox

    path = tmp_path / "outbox.jsonl"
    sink = MqttSink("127.0.0.1", closed_port(), "t/out", outbox=path, flush_timeout=0.2)
    for k in range(3):
        sink.write({"type": "sample", "index": k})
    sink.write({"type": "summary", "samples": 3})
    sink.close()
    lines = path.read_text().splitlines()
    assert lines[0] == OUTBOX_HEADER and [json.loads(line)["type"] for line in lines[1:]] == ["sample"] * 3 + [
        "summary"]
    check_outbox(path)
    box = Outbox(path=path)
    assert box.loaded == 4 and json.loads(box.take() or "") == {"type": "sample", "index": 0}
    box.save([])  # sent but one: the rest is kept, under the header
    assert path.read_text().splitlines() == [OUTBOX_HEADER, *lines[2:]]
    box.items.clear()  # all sent: no file
    box.save([])
    assert not path.exists()


def test_an_outbox_without_its_header_or_of_another_version_is_refused(tmp_path) -> None:
    from tsae.io.mqtt import OUTBOX_HEADER, Outbox, check_outbox

    records = '{"type":"sample","index":7}\n{"type":"summary","samples":8}\n'
    old = tmp_path / "old.jsonl"
    old.write_text("\n" + records)  # a blank first line does not hide a missing header
    with pytest.raises(ValueError, match="add it at the top to send the file"):
        check_outbox(old)
    old.write_text(OUTBOX_HEADER + "\n" + records)  # what the message tells to do
    assert Outbox(path=old).loaded == 2
    newer = tmp_path / "newer.jsonl"
    newer.write_text('{"type":"tsae-outbox","version":2}\n' + records)
    with pytest.raises(ValueError, match=r"newer.jsonl: not an outbox file .*format version 2"):
        check_outbox(newer)
    headed_junk = tmp_path / "junk.jsonl"
    headed_junk.write_text(OUTBOX_HEADER + "\ntime,a\n")
    with pytest.raises(ValueError, match="line 2 is not a record the monitor publishes"):
        check_outbox(headed_junk)


# ----------------------------------------------------------------------------- 2. a narrower header mid-stream
def test_a_mid_stream_header_naming_fewer_sensors_is_malformed_and_keeps_the_columns() -> None:
    from tsae.io.records import RecordParser

    warned: list[str] = []

    class Log:
        def warn(self, kind: str, message: str) -> None:
            warned.append(message)

    parser = RecordParser(["a", "b", "c"], log=Log())
    rows, times = parser.parse(["time,a,b,c", "0,1,2,3", "time,a", "1,5", "2,4,5,6", "3,7,8,9"])
    assert rows.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]] and times == [0.0, 2.0, 3.0]
    assert parser.header == ["time", "a", "b", "c"] and parser.counts["malformed"] == 2
    assert parser.counts["missing_values"] == 0
    assert any("a header line without sensor(s) b, c of the columns in use" in m for m in warned), warned
    # headerless rows hold every sensor: a header naming one of three is a stray too
    headerless = RecordParser(["a", "b", "c"])
    rows, _ = headerless.parse(["0,1,2,3", "time,c", "1,3", "2,4,5,6"])
    assert rows.tolist() == [[1, 2, 3], [4, 5, 6]] and headerless.header is None
    assert headerless.counts["malformed"] == 2


def test_a_mid_stream_header_keeping_every_sensor_in_use_still_changes_the_columns() -> None:
    from tsae.io.records import RecordParser

    parser = RecordParser(["a", "b", "c"])
    rows, _ = parser.parse(["time,a,b,c", "0,1,2,3", "time,c,x,b,a", "1,6,0,5,4"])  # reordered, one column more
    assert rows.tolist() == [[1, 2, 3], [4, 5, 6]] and parser.counts["malformed"] == 0
    narrow = RecordParser(["a", "b", "c"])  # a stream that started without c may gain it, and reorder
    rows, _ = narrow.parse(["time,a,b", "0,1,2", "time,b,a", "1,5,4", "time,c,b,a", "2,9,8,7"])
    assert rows[:, :2].tolist() == [[1, 2], [4, 5], [7, 8]] and rows[2, 2] == 9
    assert narrow.counts["malformed"] == 0


def test_the_monitor_keeps_scoring_full_rows_after_a_one_sensor_header(detector_path) -> None:
    from tsae.pipelines.anomaly.monitor import run_monitor

    x = series(200, 2)
    lines = ["time," + ",".join(SENSORS), *csv_rows(x[:100]), "time,temp", "100,0.5", *csv_rows(x[100:], 100)]
    out, err = io.StringIO(), io.StringIO()
    assert run_monitor(detector_path, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err) == 0
    summary = json.loads(out.getvalue().splitlines()[-1])
    assert summary["samples"] == 200 and summary["malformed"] == 2 and summary["missing_values"] == 0, summary
    assert "lacks sensor" not in err.getvalue()


# ----------------------------------------------------------------------------- 3. RF64 and WAVEX kept in .wav
SR = 16000


def _mask_at(path: Path) -> int:
    """The dwChannelMask of a WAVE_FORMAT_EXTENSIBLE file, read by hand."""
    data = path.read_bytes()
    position = 12
    while data[position:position + 4] != b"fmt ":
        position += 8 + struct.unpack("<I", data[position + 4:position + 8])[0]
    assert struct.unpack("<H", data[position + 8:position + 10])[0] == 0xFFFE
    return struct.unpack("<I", data[position + 28:position + 32])[0]


def _set_mask(path: Path, mask: int) -> None:
    data = bytearray(path.read_bytes())
    position = data.index(b"fmt ")
    data[position + 28:position + 32] = struct.pack("<I", mask)
    path.write_bytes(bytes(data))


def _sound(channels: int) -> np.ndarray:
    t = np.arange(SR // 2) / SR
    return np.stack([0.1 * np.sin(2 * np.pi * (300 + 100 * c) * t) for c in range(channels)], axis=1)


@pytest.mark.parametrize(("fmt", "channels", "mask"), [("WAVEX", 2, 0x30), ("WAVEX", 3, 0x7), ("WAVEX", 2, 0),
                                                       ("RF64", 4, 0x603)])
@pytest.mark.parametrize("mode", ["files", "stream"])
def test_a_wav_output_keeps_rf64_and_wavex_and_the_channel_mask(tmp_path, fmt, channels, mask, mode) -> None:
    from tsae.io.audio import audio_info
    from tsae.pipelines.denoise.files import denoise_files
    from tsae.pipelines.denoise.pipe import denoise_stream

    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, _sound(channels), SR, format=fmt, subtype="PCM_24")
    _set_mask(src, mask)
    assert (sf.info(str(src)).format, _mask_at(src)) == (fmt, mask)
    before = src.read_bytes()
    if mode == "files":
        denoise_files([src], dst, quiet=True, strength=0.0)
    else:
        denoise_stream(src, dst, strength=0.0)
    info = sf.info(str(dst))
    assert (info.format, info.subtype, info.channels) == (fmt, "PCM_24", channels)
    assert dst.read_bytes()[:4] == (b"RF64" if fmt == "RF64" else b"RIFF")
    assert _mask_at(dst) == mask and audio_info(dst).channel_mask == mask
    assert src.read_bytes() == before
    np.testing.assert_allclose(sf.read(dst)[0], sf.read(src)[0], atol=1e-3)


def test_plain_wav_stays_plain_and_other_suffixes_keep_their_format(tmp_path) -> None:
    from tsae.pipelines.denoise.files import denoise_files

    sf.write(tmp_path / "plain.wav", _sound(2), SR, subtype="PCM_16")
    sf.write(tmp_path / "big.wav", _sound(2), SR, format="RF64", subtype="PCM_16")
    denoise_files([tmp_path / "plain.wav", tmp_path / "big.wav"], tmp_path / "out", quiet=True, strength=0.0)
    assert sf.info(str(tmp_path / "out" / "plain.wav")).format == "WAV"
    assert sf.info(str(tmp_path / "out" / "big.wav")).format == "RF64"
    denoise_files([tmp_path / "big.wav"], tmp_path / "big.flac", quiet=True, strength=0.0)
    assert sf.info(str(tmp_path / "big.flac")).format == "FLAC"  # the suffix asks for another format
    from tsae.io.audio import audio_info, format_like

    assert audio_info(tmp_path / "out" / "plain.wav").channel_mask is None
    assert [format_like(f"x{s}", "WAVEX") for s in (".wav", ".w64", ".rf64")] == ["WAVEX", "W64", "RF64"]


@pytest.mark.parametrize(("fmt", "mask"), [("WAVEX", 0x30), ("RF64", 0x603)])
@pytest.mark.parametrize("block", [None, 3000])  # whole, and block by block (a long file)
def test_smooth_keeps_rf64_and_wavex_and_the_channel_mask(tmp_path, fmt, mask, block) -> None:
    from tsae.io.audio import audio_info
    from tsae.pipelines.smooth import smooth_file

    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, _sound(4 if fmt == "RF64" else 2), SR, format=fmt, subtype="PCM_24")
    _set_mask(src, mask)
    smooth_file(src, dst, steps=0, **({} if block is None else {"block": block}))
    info = sf.info(str(dst))
    assert (info.format, info.subtype) == (fmt, "PCM_24")
    assert _mask_at(dst) == mask and audio_info(dst).channel_mask == mask
