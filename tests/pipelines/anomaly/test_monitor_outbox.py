"""tsae monitor --outbox: a file the monitor did not write is refused in one line, never sent nor removed."""
import socket
import subprocess
import sys

import pytest

from tsae.pipelines.anomaly.monitor import run_monitor

from sensor_data import write_csv


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_monitor_refuses_a_data_file_as_outbox_before_connecting(detector_file, test_data, tmp_path, monkeypatch):
    data = write_csv(tmp_path / "precious.csv", test_data[:50])
    before = data.read_bytes()
    import tsae.io.mqtt

    monkeypatch.setattr(tsae.io.mqtt, "_client", lambda *a: pytest.fail("connected to a broker"))
    with pytest.raises(ValueError, match="precious.csv: not an outbox file"):
        run_monitor(detector_file, mqtt=f"127.0.0.1:{closed_port()}", out_topic="t/out", outbox=data)
    assert data.read_bytes() == before


def test_monitor_cli_names_the_refused_outbox_in_one_line(detector_file, tmp_path):
    binary = tmp_path / "bin.dat"
    binary.write_bytes(bytes(range(256)) * 40)
    proc = subprocess.run([sys.executable, "-m", "tsae", "monitor", "--detector", str(detector_file), "--mqtt",
                           f"127.0.0.1:{closed_port()}", "--out-topic", "t/out", "--outbox", str(binary)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [f"Error: {binary}: not an outbox file of tsae monitor (not UTF-8 text); "
                                        "refusing to send or remove it: give the outbox another file name"]
    assert binary.read_bytes() == bytes(range(256)) * 40


def test_monitor_refuses_an_empty_file_it_did_not_write_as_outbox(detector_file, tmp_path, monkeypatch):
    # an empty file was taken for an outbox: overwritten with the undelivered records, or removed when all were sent
    empty = tmp_path / "notes.txt"
    empty.touch()
    import tsae.io.mqtt

    monkeypatch.setattr(tsae.io.mqtt, "_client", lambda *a: pytest.fail("connected to a broker"))
    with pytest.raises(ValueError) as error:
        run_monitor(detector_file, mqtt=f"127.0.0.1:{closed_port()}", out_topic="t/out", outbox=empty)
    assert str(error.value) == (f"{empty}: not an outbox file of tsae monitor (an empty file; the monitor creates its "
                                "outbox itself); refusing to send or remove it: give the outbox another file name")
    assert empty.is_file() and empty.read_bytes() == b""
