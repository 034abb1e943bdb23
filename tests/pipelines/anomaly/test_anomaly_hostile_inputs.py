"""Hostile inputs found by an audit of the anomaly commands: each is a clean one-line refusal or is read right."""
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.anomaly.monitor import run_monitor

from sensor_data import SENSORS


def test_monitor_reads_a_csv_header_behind_a_bom(detector_file, test_data):
    rows = "\n".join(",".join(repr(float(v)) for v in row) for row in test_data[:300])
    plain, bom = (io.StringIO(), io.StringIO()), (io.StringIO(), io.StringIO())
    for prefix, (out, err) in (("", plain), ("\ufeff", bom)):
        run_monitor(detector_file, stdin=io.StringIO(prefix + ",".join(SENSORS) + "\n" + rows + "\n"),
                    stdout=out, stderr=err)
        assert "lacks sensor" not in err.getvalue()
    summaries = [json.loads(out.getvalue().splitlines()[-1]) for out, _ in (plain, bom)]
    for key in ("samples", "anomalous_samples", "events", "missing_values", "max_score"):
        assert summaries[0][key] == summaries[1][key], key


def test_monitor_with_closed_stdin_or_stdout_is_one_line(detector_file, monkeypatch):
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(ValueError, match="stdin is closed"):
        run_monitor(detector_file, stdout=io.StringIO(), stderr=io.StringIO())
    monkeypatch.setattr("sys.stdout", None)
    with pytest.raises(ValueError, match="stdout is closed"):
        run_monitor(detector_file, stdin=io.StringIO(""), stderr=io.StringIO())


@pytest.mark.parametrize("terms", ["pca+stats", "auto"])  # auto: the network's error on constant data is not 0,
def test_fit_on_constant_data_is_refused_without_output(tmp_path, terms):  # and such a detector was written
    path = tmp_path / "const.csv"
    path.write_text("time,a,b\n" + "".join(f"{i},5,7\n" for i in range(300)))
    result = CliRunner().invoke(cli, ["detect", "fit", str(path), "-o", str(tmp_path / "c.tsae"), "--terms",
                                      terms, "--device", "cpu", "-q"])
    assert result.exit_code == 1 and "no variation to learn" in result.output, result.output
    assert not (tmp_path / "c.tsae").exists()


def test_train_never_replaces_a_file_of_a_folder_it_reads(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    (data / "train.csv").write_text("a,b\n" + "".join(f"{x:.4f},{y:.4f}\n" for x, y in rng.standard_normal((200, 2))))
    before = (data / "train.csv").read_bytes()
    result = CliRunner().invoke(cli, ["train", str(data), "-o", str(data / "train.csv"), "--window", "20",
                                      "--epochs", "1", "--device", "cpu", "-q"])
    assert result.exit_code == 1 and "refusing to overwrite a file this command reads" in result.output
    assert (data / "train.csv").read_bytes() == before


@pytest.mark.parametrize(("text", "expected"), [("broker", ("broker", 1883)), ("broker:1884", ("broker", 1884)),
                                                ("[::1]:1883", ("[::1]", 1883))])
def test_broker_addresses(text, expected):
    from tsae.io.streams import parse_host_port

    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", [":1883", "", "broker:x", "broker:70000"])
def test_bad_broker_addresses_are_refused(text):
    from tsae.io.streams import parse_host_port

    with pytest.raises(ValueError, match="MQTT broker address"):
        parse_host_port(text)


def test_an_unreachable_broker_is_reported():
    pytest.importorskip("paho.mqtt")
    from tsae.io.mqtt import MqttSource

    said = []
    source = MqttSource("127.0.0.1", 1, "t", on_status=said.append, reconnect_min=1, reconnect_max=1)
    try:
        import time

        deadline = time.monotonic() + 60  # ends as soon as it is said: the bound only stops a hang
        while not said and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        source.close()
    assert said and said[0] == ("mqtt: cannot reach the broker 127.0.0.1:1 (connection refused: nothing listens on "
                                "that port); retrying")


def test_why_a_broker_is_unreachable_is_said(monkeypatch):
    """paho's failed try says nothing of why: a typo in the host and a wrong port read the same."""
    import socket

    from tsae.io.mqtt import why_unreachable

    with socket.socket() as listening:  # a port that answers
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        assert why_unreachable("127.0.0.1", listening.getsockname()[1]) == ""
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert why_unreachable("127.0.0.1", port) == "connection refused: nothing listens on that port"

    def not_found(*args, **kwargs):  # no resolver is asked (a test machine may have none)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", not_found)
    assert why_unreachable("brokre.example", 1883) == "host name not found"


def test_an_unreachable_broker_is_reported_at_its_first_try_then_once_a_minute(monkeypatch):
    # a line at every try (paho's backoff tops at 5 s; the input and the output each): 16 lines in 20 s
    from types import SimpleNamespace

    from tsae.io import mqtt

    now = [0.0]
    monkeypatch.setattr(mqtt.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(mqtt, "why_unreachable", lambda host, port: "host name not found")
    said: list[str] = []
    client = SimpleNamespace()
    reached = mqtt._report_unreachable(client, "h", 1, said.append, " to publish")
    for _ in range(30):  # 2.5 minutes of tries 5 s apart
        client.on_connect_fail(client, None)
        now[0] += 5.0
    told = "mqtt: cannot reach the broker h:1 to publish (host name not found); retrying"
    assert said == [told, f"{told} (13 tries so far)", f"{told} (25 tries so far)"]
    reached()  # connected: the next outage is told at once
    client.on_connect_fail(client, None)
    assert said[-1] == told


def test_mqtt_messages_waiting_to_be_read_are_bounded_in_bytes_and_long_lines_are_not_decoded():
    pytest.importorskip("paho.mqtt")
    import threading
    from types import SimpleNamespace

    from tsae.io.mqtt import MqttSource

    source = MqttSource("127.0.0.1", 1, "t", max_queue_bytes=2_500, max_line=100, poll=0.05,
                        reconnect_min=5, reconnect_max=5)
    payloads = [f"{k},".encode() * 500 for k in range(3)]  # 1,000 bytes each: two fit the budget, not three
    try:
        for payload in payloads[:2]:
            source._on_message(None, None, SimpleNamespace(topic="t", payload=payload, dup=False))
        message = SimpleNamespace(topic="t", payload=payloads[2], dup=False)
        third = threading.Thread(target=source._on_message, args=(None, None, message), daemon=True)
        third.start()
        third.join(0.5)
        assert third.is_alive() and source.queue.qsize() == 2  # held back (the broker keeps the rest)
        blocks = source.blocks()
        first = next(blocks)  # reading makes room
        third.join(60)  # ends as soon as the room is made: only a thread held for good fails
        assert not third.is_alive() and source.queue.qsize() == 1
        # a line over max_line is one line of NULs, never decoded; a lone CR ends a line
        source._on_message(None, None, SimpleNamespace(topic="t", payload=b"1,2\r3,4\n" + payloads[0], dup=False))
        lines = first + [line for block in (next(blocks), next(blocks)) for line in block]
    finally:
        source.close()
    assert lines == ["\0" * 101] * 3 + ["1,2", "3,4", "\0" * 101]


def test_a_network_that_reconstructs_nan_is_named_not_scored_without_it(monkeypatch):
    # before: a family whose decode gave NaN after fitting (a plugin's bug, or overflowing weights) was scored
    # without its term: the NaN errors were left out as a scale without data, and decision_function returned
    # finite scores of the other terms, without a word
    import torch

    from tsae import Detector

    rng = np.random.default_rng(0)
    x = np.sin(np.arange(3000) / 10)[None, :] + 0.05 * rng.standard_normal((2, 3000))
    det = Detector(model="dense", window=32, epochs=1).fit(x)
    network = det.state_.model
    monkeypatch.setattr(network, "decode", lambda z: torch.full((len(z), network.channels, network.window), np.nan))
    with pytest.raises(ValueError, match=r"model family 'dense' .*reconstructs NaN or infinite values"):
        det.decision_function(x)
