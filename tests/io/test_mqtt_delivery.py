"""tsae.io.mqtt without a broker: client ids, the bounded outbox, a sink whose broker never comes, DUP handling."""
from __future__ import annotations

import bz2
import gzip
import json
import lzma
import socket
import time
import types

import pytest

from tsae.io import mqtt
from tsae.io.mqtt import OUTBOX_HEADER, MqttSink, MqttSource, Outbox, check_outbox, session_client_id


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_session_client_id_follows_the_detector_content_and_topic(tmp_path) -> None:
    a, b, c = tmp_path / "a.tsae", tmp_path / "b.tsae", tmp_path / "c.tsae"
    a.write_bytes(b"detector one")
    b.write_bytes(b"detector one")  # same content elsewhere: same session
    c.write_bytes(b"detector two")
    ident = session_client_id(a, "plant/pump")
    assert ident == session_client_id(b, "plant/pump")
    assert ident != session_client_id(c, "plant/pump") and ident != session_client_id(a, "plant/fan")
    assert ident.startswith("tsae-") and len(ident) <= 23  # the length every MQTT 3.1.1 broker accepts


def test_outbox_is_bounded_drops_the_oldest_and_round_trips_through_its_file(tmp_path) -> None:
    path = tmp_path / "outbox.jsonl"
    r = [f'{{"type": "sample", "index": {k}}}' for k in range(5)]  # outbox files hold the monitor's records
    box = Outbox(limit=3, path=path)
    for k in range(5):
        box.put(r[k])
    assert len(box) == 3 and box.dropped == 2 and box.take() == r[2]
    box.save([r[1]])  # in flight
    assert path.read_text().splitlines() == [OUTBOX_HEADER, r[1], r[3], r[4]]
    again = Outbox(limit=10, path=path)
    assert again.loaded == 3 and [again.take() for _ in range(3)] == [r[1], r[3], r[4]]
    again.save([])
    assert not path.exists()  # nothing left: no file
    with pytest.raises(ValueError, match="at least 1"):
        Outbox(limit=0)


@pytest.mark.parametrize("content", [b"time,flow\n0,1.5\n1,1.6\n", b'{"time": 0, "flow": 1.5}\n',
                                     b"\xff\xfe\x00\x81binary", b'{"type": "event"}\nnot json\n',
                                     b"", b"\n\n"])  # empty: was taken for an outbox, then overwritten or removed
def test_an_existing_file_that_is_no_outbox_is_refused_before_connecting_and_left_as_it_is(tmp_path, monkeypatch,
                                                                                             content) -> None:
    path = tmp_path / "precious.csv"
    path.write_bytes(content)
    clients: list[object] = []
    monkeypatch.setattr(mqtt, "_client", clients.append)
    for attempt in (lambda: Outbox(path=path), lambda: check_outbox(path),
                    lambda: MqttSink("127.0.0.1", closed_port(), "t/out", outbox=path)):
        with pytest.raises(ValueError, match=r"precious\.csv: not an outbox file of tsae monitor") as error:
            attempt()
        assert "\n" not in str(error.value)
    assert not clients and path.read_bytes() == content


def test_an_outbox_file_of_records_is_loaded_blank_lines_and_line_ends_aside(tmp_path) -> None:
    left = tmp_path / "left.jsonl"
    left.write_text(OUTBOX_HEADER + '\n{"type":"sample","index":7}\n\n{"type":"event","start_index":3}\r\n'
                    '{"type":"summary"}\n')
    box = Outbox(path=left)
    assert box.loaded == 3 and box.take() == '{"type":"sample","index":7}'
    box.save([])
    assert Outbox(path=left).loaded == 2
    headed = tmp_path / "headed.jsonl"  # all sent but not removed yet: the header alone
    headed.write_text(OUTBOX_HEADER + "\n\n")
    assert Outbox(path=headed).loaded == 0
    check_outbox(None)
    check_outbox(tmp_path / "absent.jsonl")


def test_sink_without_a_broker_holds_records_then_reports_them_and_disconnects(tmp_path, monkeypatch) -> None:
    # the default flush wait made long: a close that ignored flush_timeout=0.3 fails the bound below by far, which
    # is generous for a loaded machine (0.6 s seen with one core shared by five processes)
    monkeypatch.setattr(mqtt, "FLUSH_TIMEOUT", 600.0)
    status: list[str] = []
    path = tmp_path / "left.jsonl"
    sink = MqttSink("127.0.0.1", closed_port(), "t/out", outbox=path, outbox_limit=20, flush_timeout=0.3,
                    on_status=status.append)
    for k in range(50):
        sink.write({"type": "sample", "index": k})  # never raises while the broker is away
    assert sink.pending() == 20 and sink.outbox.dropped == 30
    started = time.monotonic()
    sink.close()
    assert time.monotonic() - started < 30  # a bounded wait
    assert sink.undelivered == 50 and sink.delivered == 0
    assert any("50 record(s) not delivered" in line and str(path) in line for line in status), status
    assert any("outbox full" in line for line in status), status
    header, *lines = path.read_text().splitlines()
    kept = [json.loads(line)["index"] for line in lines]
    assert header == OUTBOX_HEADER
    assert kept == list(range(30, 50))  # the newest records, in order, for the next run
    assert not sink.client.is_connected()


def test_source_drops_a_flagged_redelivery_of_a_payload_already_received() -> None:
    source = MqttSource("127.0.0.1", closed_port(), "t/in", poll=0.05)
    try:
        def deliver(payload: bytes, dup: bool) -> None:
            source._on_message(source.client, None, types.SimpleNamespace(topic="t", payload=payload, dup=dup))

        deliver(b'{"time": 1, "a": 1}', dup=False)
        deliver(b'{"time": 1, "a": 1}', dup=True)  # our acknowledgement was lost: the broker sent it again
        deliver(b'{"time": 2, "a": 1}', dup=True)  # flagged, but never received: kept
        deliver(b"1", dup=False)
        deliver(b"1", dup=False)  # the same payload unflagged: a sensor repeating itself, kept
        assert source.duplicates == 1
        assert [source.queue.get_nowait()[1] for _ in range(4)] == [b'{"time": 1, "a": 1}', b'{"time": 2, "a": 1}',
                                                                 b"1", b"1"]
    finally:
        source.close()


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_a_redelivered_compressed_payload_counts_the_lines_it_decodes_to(compress) -> None:
    # before: the lines of the compressed bytes were counted (gzip of these 40 lines: 0 to 3 'lines', not 40)
    source = MqttSource("127.0.0.1", closed_port(), "t/in", poll=0.05)
    try:
        plain = "".join(f'{{"time": {k}, "a": {k % 5}}}\n' for k in range(40)).encode()
        for payload in (plain, compress(plain), compress(b"\n".join(plain.splitlines()[:7]))):
            for dup in (False, True):
                source._on_message(source.client, None, types.SimpleNamespace(topic="t", payload=payload, dup=dup))
        assert source.duplicates == 40 + 40 + 7
        source._on_message(source.client, None, types.SimpleNamespace(topic="t", payload=b"\x1f\x8b junk", dup=True))
        source._on_message(source.client, None, types.SimpleNamespace(topic="t", payload=b"\x1f\x8b junk", dup=True))
        assert source.duplicates == 40 + 40 + 7  # undecodable: counted once as corrupt when read, not as lines
    finally:
        source.close()


def test_one_big_message_is_read_in_bounded_blocks() -> None:
    # before: a message of 600,000 lines (20 MB) was one block of 600,000 lines for the monitor to parse and score
    # at once (860 MB peak after the scoring itself was bounded); the lines now come in blocks of about
    # block_bytes, as stdin's do, in order, none lost
    source = MqttSource("127.0.0.1", closed_port(), "t/in", poll=0.05, block_bytes=1000)
    try:
        lines = [f"{i},{i % 7}.5,2.25" for i in range(5000)]
        payload = "\n".join(lines).encode()
        source._on_message(source.client, None, types.SimpleNamespace(topic="t", payload=payload, dup=False))
        source._on_message(source.client, None, types.SimpleNamespace(topic="t", payload=b"tail,1,2", dup=False))
        got: list[list[str]] = []
        for block in source.blocks():
            if not block:
                break
            got.append(block)
        assert [line for block in got for line in block] == [*lines, "tail,1,2"]
        assert max(sum(len(line) for line in block) for block in got) < 1000 + 20
    finally:
        source.close()


def test_ctrl_c_during_the_wait_at_exit_still_keeps_the_records_in_the_outbox(tmp_path) -> None:
    # before: a second Ctrl-C while the monitor waited (up to 10 s) for an absent broker at exit ended it at once
    # ("Aborted."): the records it held, the summary among them, were lost although --outbox named a file for them
    import os
    import signal
    import threading

    status: list[str] = []
    path = tmp_path / "left.jsonl"
    sink = MqttSink("127.0.0.1", closed_port(), "t/out", outbox=path, flush_timeout=120.0, on_status=status.append)
    for k in range(5):
        sink.write({"type": "sample", "index": k})
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever pytest was started under
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            sink.close()
        assert time.monotonic() - started < 60  # the interrupt, not the 120 s wait, ended it
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    header, *lines = path.read_text().splitlines()
    assert header == OUTBOX_HEADER and [json.loads(line)["index"] for line in lines] == list(range(5))
    assert any("5 record(s) not delivered" in line for line in status), status
    assert not sink.client.is_connected()
