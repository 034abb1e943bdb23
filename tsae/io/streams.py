"""Stream sources and sinks for ``tsae monitor``: stdin / stdout and MQTT (paho-mqtt 2.x).

A *source* is iterable over raw records (text lines) and also offers ``blocks()``,
which yields lists of the records that have arrived so far (whatever is available,
never waiting for a full block), so the monitor can score them in one vectorised
step. A *sink* has ``write(record: dict)`` (one JSON line / message) and ``close()``.

They are registered as the ``stdin``/``mqtt`` sources and ``stdout``/``mqtt`` sinks
by the built-in plugin ``tsae_plugins.streams`` through the ``register_sources`` and
``register_sinks`` hooks, the same way a third-party plugin adds its own (Kafka, serial...).
"""
from __future__ import annotations

import io
import json
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO


def parse_host_port(value: str, default_port: int = 1883) -> tuple[str, int]:
    """``"host:port"`` (or ``"host"``) -> ``(host, port)``."""
    host, _, port = str(value).rpartition(":")
    if not host:
        host, port = port, ""
    if not host:
        raise ValueError(f"MQTT broker address {value!r}: expected HOST:PORT")
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"MQTT broker address {value!r}: port must be a number") from None
    if not 0 < number < 65536:
        raise ValueError(f"MQTT broker address {value!r}: port out of range")
    return host, number


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def dumps(record: dict[str, Any]) -> str:
    """One compact JSON line; NaN/inf become null."""
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(record), separators=(",", ":"), default=_json_default)


# ----------------------------------------------------------------------------- stdin / stdout
class StdinSource:
    """Text lines from standard input (or any binary/text stream), in arrival-sized blocks.

    Parameters
    ----------
    stream
        Defaults to ``sys.stdin``. With a real file descriptor, ``blocks()`` reads whatever
        is available (up to ``block_bytes``) without waiting for more.
    max_line
        With a real file descriptor, a line longer than this (bytes) is not kept: it is
        dropped up to its newline and replaced by one over-long line of NUL characters, which
        the record parser counts as malformed (memory and time stay bounded).
    """

    def __init__(self, stream: Any = None, block_bytes: int = 1 << 16, max_line: int = 1 << 20, **_: Any) -> None:
        self.stream = sys.stdin if stream is None else stream
        self.block_bytes = int(block_bytes)
        self.max_line = int(max_line)
        self.closed = False

    def _fd(self) -> int | None:
        try:
            return self.stream.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
            return None

    def blocks(self) -> Iterator[list[str]]:
        fd = self._fd()
        if fd is None:  # a Python-level stream (StringIO in tests): line by line, in small groups
            batch: list[str] = []
            for line in self.stream:
                text = line if isinstance(line, str) else line.decode("utf-8", "replace")
                batch.append(text.rstrip("\r\n"))
                if len(batch) >= 1024:
                    yield batch
                    batch = []
            if batch:
                yield batch
            return
        pending = b""
        skipping = False
        while not self.closed:
            try:
                chunk = os.read(fd, self.block_bytes)
            except InterruptedError:  # pragma: no cover
                continue
            if not chunk:
                break
            if skipping:  # inside an over-long line: drop it up to its newline
                start = chunk.find(b"\n")
                if start < 0:
                    continue
                skipping, chunk = False, chunk[start + 1:]
                yield ["\0" * (self.max_line + 1)]
            pending += chunk
            cut = pending.rfind(b"\n")
            if cut < 0:
                if len(pending) > self.max_line:
                    skipping, pending = True, b""
                continue
            text = pending[:cut].decode("utf-8", "replace")
            pending = pending[cut + 1:]
            yield text.replace("\r", "").split("\n")
        if skipping:
            yield ["\0" * (self.max_line + 1)]
        elif pending.strip():
            yield [pending.decode("utf-8", "replace").rstrip("\r")]

    def __iter__(self) -> Iterator[str]:
        for block in self.blocks():
            yield from block

    def close(self) -> None:
        self.closed = True


class StdoutSink:
    """Writes each record as one JSON line to standard output (flushed per block)."""

    def __init__(self, stream: TextIO | None = None, **_: Any) -> None:
        self.stream = sys.stdout if stream is None else stream

    def write(self, record: dict[str, Any]) -> None:
        self.stream.write(dumps(record) + "\n")

    def write_many(self, records: list[dict[str, Any]]) -> None:
        if records:
            self.stream.write("".join(dumps(r) + "\n" for r in records))
            self.flush()

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass

    def close(self) -> None:
        self.flush()


# ----------------------------------------------------------------------------- MQTT
def _client(client_id: str | None) -> Any:
    import paho.mqtt.client as mqtt

    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "",
                       clean_session=True if not client_id else False)


class MqttSource:
    """Messages from an MQTT topic; each payload may hold one or more lines.

    Connection losses are reconnected to automatically (paho's network loop with
    ``reconnect_delay_set``); the monitor's state lives outside the client, so nothing
    is lost but the messages published while no broker was up.

    Parameters
    ----------
    host, port
        The broker.
    topic
        Topic (filter) to subscribe to.
    on_status
        Called with a one-line status message on connect / disconnect.
    poll
        Seconds ``blocks()`` waits before yielding an empty block (lets the caller check for stop).
    """

    def __init__(self, host: str = "localhost", port: int = 1883, topic: str = "tsae/samples", *,
                 qos: int = 1, client_id: str | None = None, keepalive: int = 10,
                 on_status: Callable[[str], None] | None = None, poll: float = 0.5,
                 reconnect_min: float = 0.2, reconnect_max: float = 2.0, **_: Any) -> None:
        self.host, self.port, self.topic, self.qos = host, int(port), topic, int(qos)
        self.poll = poll
        self.on_status = on_status or (lambda message: None)
        self.queue: queue.Queue[bytes] = queue.Queue()
        self.connects = 0
        self.disconnects = 0
        self.closed = False
        self.connected = threading.Event()
        self.client = _client(client_id)
        self.client.reconnect_delay_set(min_delay=reconnect_min, max_delay=reconnect_max)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.connect_async(self.host, self.port, keepalive=keepalive)
        self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            self.on_status(f"mqtt: connection to {self.host}:{self.port} refused ({reason})")
            return
        self.connects += 1
        client.subscribe(self.topic, qos=self.qos)
        self.connected.set()
        word = "connected" if self.connects == 1 else "reconnected"
        self.on_status(f"mqtt: {word} to {self.host}:{self.port}, subscribed to {self.topic}")

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        self.connected.clear()
        if not self.closed:
            self.disconnects += 1
            self.on_status(f"mqtt: lost the broker {self.host}:{self.port} ({reason}); reconnecting")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.queue.put(message.payload)

    def blocks(self) -> Iterator[list[str]]:
        while not self.closed:
            try:
                first = self.queue.get(timeout=self.poll)
            except queue.Empty:
                yield []
                continue
            payloads = [first]
            while True:
                try:
                    payloads.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            lines: list[str] = []
            for payload in payloads:
                text = payload.decode("utf-8", "replace") if isinstance(payload, (bytes, bytearray)) else str(payload)
                lines.extend(line for line in text.replace("\r", "").split("\n") if line.strip())
            yield lines

    def __iter__(self) -> Iterator[str]:
        for block in self.blocks():
            yield from block

    def close(self) -> None:
        self.closed = True
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()


class MqttSink:
    """Publishes each record as a JSON message to ``topic`` (QoS 1: queued while the broker is away)."""

    def __init__(self, host: str = "localhost", port: int = 1883, topic: str = "tsae/events", *,
                 qos: int = 1, client_id: str | None = None, keepalive: int = 10,
                 on_status: Callable[[str], None] | None = None, reconnect_min: float = 0.2,
                 reconnect_max: float = 2.0, **_: Any) -> None:
        self.topic, self.qos = topic, int(qos)
        self.client = _client(None if client_id is None else client_id + "-out")
        self.client.reconnect_delay_set(min_delay=reconnect_min, max_delay=reconnect_max)
        self.client.connect_async(host, int(port), keepalive=keepalive)
        self.client.loop_start()
        self.pending: list[Any] = []

    def write(self, record: dict[str, Any]) -> None:
        info = self.client.publish(self.topic, dumps(record), qos=self.qos)
        self.pending.append(info)
        if len(self.pending) > 1000:
            self.pending = [i for i in self.pending if not i.is_published()]

    def write_many(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.write(record)

    def flush(self) -> None:
        pass

    def close(self, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        for info in self.pending:
            while not info.is_published() and time.monotonic() < deadline:
                time.sleep(0.01)
        self.client.disconnect()
        self.client.loop_stop()
