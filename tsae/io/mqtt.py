"""MQTT source and sink for ``tsae monitor`` (paho-mqtt 2.x, MQTT 5), built for an exactly-once effect.

Source (:class:`MqttSource`): a persistent session (clean start off, a session expiry)
under a stable client id, so the broker queues the monitor's messages while it reconnects;
subscription at QoS 1; automatic reconnection with exponential backoff. A message the
broker marks as a redelivery (DUP flag) whose payload was already received is dropped
and its records counted in ``duplicates``; redelivered samples that arrive without the flag (a
publisher that resent) are recognised by the record parser (same time, same values).

Sink (:class:`MqttSink`): records go through a bounded :class:`Outbox`; at most
``inflight`` of them are handed to the client at a time (QoS 1, resent by the client
after a reconnect until the broker acknowledges them), the rest wait in the outbox while
the broker is away. ``close()`` waits a bounded time for the outbox to drain, then
disconnects whatever happened and reports how many records were not delivered; with a
``path`` those are kept on disk (the line :data:`OUTBOX_HEADER`, then one JSON record a line)
and sent first by the next monitor using that path; an existing file that is not such an
outbox is refused before connecting, never sent nor removed: a data file given by mistake,
and the monitor's own output saved from stdout (the same JSON records, without the header
line -- sending it would publish old samples and events again and delete the log).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tsae.errors import shown
from tsae.io.streams import dumps, split_lines
from tsae.io.text_files import decode_text

#: seconds the broker keeps a monitor's session (and queues its messages) after it disconnects
SESSION_EXPIRY = 7 * 24 * 3600
#: output records the sink holds at most while the broker is away (oldest dropped beyond)
OUTBOX_LIMIT = 100_000
#: seconds the sink waits at exit for the broker to take what is left
FLUSH_TIMEOUT = 10.0


def session_client_id(detector: str | os.PathLike, topic: str) -> str:
    """A stable MQTT client id for one detector reading one topic.

    The same detector file (by content) on the same topic gets the same id, so a restarted
    monitor resumes its persistent session; another detector or topic gets another.

    Parameters
    ----------
    detector
        The detector file.
    topic
        The topic (filter) the monitor subscribes to.

    Returns
    -------
    str
        ``"tsae-"`` and 16 hex digits (short enough for any broker).
    """
    digest = hashlib.sha256()
    with open(detector, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(b"\0" + topic.encode("utf-8"))
    return "tsae-" + digest.hexdigest()[:16]


def topic_problem(topic: str, *, wildcards: bool) -> str | None:
    """What makes ``topic`` no MQTT topic (``wildcards``: a filter to subscribe to), or None.

    The rules of MQTT 5 (4.7): at least one character, no NUL, at most 65,535 bytes of UTF-8; in a filter, ``+``
    fills a whole level and ``#`` is the last one; a topic to publish to holds neither. Checked before
    connecting: paho refused such a filter in its network thread (the monitor then waited, subscribed to
    nothing), and such a topic at the first publish (the monitor stopped at its first alarm).

    Examples
    --------
    >>> topic_problem("plant/+/pump/#", wildcards=True) is None
    True
    >>> topic_problem("a/#/b", wildcards=True)
    "'#' must be the last level, on its own (such as a/#)"
    >>> topic_problem("alarms/+", wildcards=False)
    "a topic to publish to holds no wildcard ('+' or '#'); those are for subscribing"
    """
    if not isinstance(topic, str) or not topic:
        return "empty (a topic has at least one character)"
    if "\0" in topic:
        return "holds a NUL character"
    if len(topic.encode("utf-8", "surrogatepass")) > 65535:
        return "longer than 65,535 bytes"
    if not wildcards:
        if "+" in topic or "#" in topic:
            return "a topic to publish to holds no wildcard ('+' or '#'); those are for subscribing"
        return None
    levels = topic.split("/")
    for k, level in enumerate(levels):
        if "#" in level and (level != "#" or k != len(levels) - 1):
            return "'#' must be the last level, on its own (such as a/#)"
        if "+" in level and level != "+":
            return "'+' must fill a whole level (such as a/+/b)"
    return None


def check_topic(topic: str, *, wildcards: bool, option: str = "") -> None:
    """Raise a one-line ValueError naming ``topic`` (and the command-line ``option`` giving it) when it is no MQTT
    topic (:func:`topic_problem`)."""
    problem = topic_problem(topic, wildcards=wildcards)
    if problem is not None:
        given = f" ({option})" if option else ""
        what = "to subscribe to" if wildcards else "to publish to"
        raise ValueError(f"MQTT topic {shown(str(topic))} {what}{given}: {problem}")


def _client(client_id: str | None) -> Any:
    import paho.mqtt.client as mqtt

    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "", protocol=mqtt.MQTTv5)


def _connect(client: Any, host: str, port: int, keepalive: int, session_expiry: int | None) -> None:
    """Start connecting in the background: a persistent session when ``session_expiry`` is given."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = int(session_expiry or 0)
    client.connect_async(host, port, keepalive=keepalive, clean_start=session_expiry is None,
                         properties=properties)
    client.loop_start()


def _failed(reason: Any) -> bool:
    return bool(getattr(reason, "is_failure", False))


#: seconds between two reports that the broker still cannot be reached
UNREACHABLE_REPORT_EVERY = 60.0


def why_unreachable(host: str, port: int, timeout: float = 2.0) -> str:
    """Why a TCP connection to ``host:port`` fails, in a few words (paho's failed try says nothing): the name not
    found, the connection refused, no answer; "" when it opens now (the broker itself refused MQTT, or TLS)."""
    import socket

    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return "host name not found"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except ConnectionRefusedError:
        return "connection refused: nothing listens on that port"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as error:
        return error.strerror or type(error).__name__


def _report_unreachable(client: Any, host: str, port: int, on_status: Callable[[str], None],
                        what: str = "") -> Callable[[], None]:
    """Say when the broker cannot be reached (paho retries quietly otherwise): at the first failed try, then at
    most every :data:`UNREACHABLE_REPORT_EVERY` seconds with the tries so far. A line at each try (every 5 s at
    most, input and output each) filled the terminal.

    Returns the function to call once the broker answers, so that a later outage is reported again from its
    first try.
    """
    tries = 0
    last = -math.inf

    def failed(client: Any, userdata: Any) -> None:
        nonlocal tries, last
        tries += 1
        now = time.monotonic()
        if tries == 1 or now - last >= UNREACHABLE_REPORT_EVERY:
            last = now
            so_far = f" ({tries} tries so far)" if tries > 1 else ""
            why = why_unreachable(host, port)  # at most once a minute: a short probe in paho's thread
            on_status(f"mqtt: cannot reach the broker {host}:{port}{what}{f' ({why})' if why else ''}; "
                      f"retrying{so_far}")

    def reached() -> None:
        nonlocal tries
        tries = 0

    client.on_connect_fail = failed
    return reached


class MqttSource:
    """Messages from an MQTT topic; each payload may hold one or more lines.

    Parameters
    ----------
    host, port
        The broker.
    topic
        Topic (filter) to subscribe to (at ``qos``).
    client_id
        The client id. With one, the session is persistent (see ``session_expiry``);
        without one the broker assigns an id and the session ends with the connection.
    session_expiry
        Seconds the broker keeps the session, and queues this topic's messages for it,
        while the monitor is away. None: a clean session even with a client id.
    on_status
        Called with a one-line status message on (re)connect / disconnect.
    on_warning
        Called with a kind and a one-line warning for each payload that does not decompress (the caller rate-limits
        them: a stream of bad payloads is not a line each); None: ``on_status`` with the warning.
    poll
        Seconds ``blocks()`` waits before yielding an empty block (lets the caller check for stop).
    max_queue, max_queue_bytes
        Messages, and bytes of them, received but not yet read that are held at most; beyond,
        the client's network thread waits (the broker keeps the rest). A message larger than
        ``max_queue_bytes`` still passes, alone.
    block_bytes
        ``blocks()`` gathers messages up to about this many bytes per block, and splits a longer one so.
    max_line
        A line of a payload longer than this (bytes) is not decoded: ``blocks()`` gives one
        over-long line of NUL characters in its place, which the record parser counts as malformed
        (as :class:`~tsae.io.streams.StdinSource` does), so a huge payload costs little more than itself.
    by_topic
        ``blocks()`` gives :class:`TopicLines`, which keep each topic's lines apart (for a monitor per device named
        by the topic: the messages of many devices that came together are still one block, scored together).

    A payload that starts as gzip, bzip2 or xz data is decompressed (by its magic bytes, as Telegraf's
    ``content_encoding = "gzip"`` sends it); one that does not decompress is one warning, and skipped.
    """

    def __init__(self, host: str = "localhost", port: int = 1883, topic: str = "tsae/samples", *,
                 qos: int = 1, client_id: str | None = None, session_expiry: int | None = SESSION_EXPIRY,
                 keepalive: int = 30, on_status: Callable[[str], None] | None = None, poll: float = 0.5,
                 reconnect_min: float = 0.2, reconnect_max: float = 5.0, max_queue: int = 1000,
                 max_queue_bytes: int = 1 << 26, block_bytes: int = 1 << 16, max_line: int = 1 << 20,
                 by_topic: bool = False, on_warning: Callable[[str, str], None] | None = None, **_: Any) -> None:
        check_topic(topic, wildcards=True)
        self.host, self.port, self.topic, self.qos = host, int(port), topic, int(qos)
        self.poll = poll
        self.block_bytes = int(block_bytes)
        self.on_status = on_status or (lambda message: None)
        self.on_warning = on_warning or (lambda kind, message: self.on_status(f"warning: {message}"))
        self.queue: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=max(1, int(max_queue)))
        self.max_queue_bytes = max(1, int(max_queue_bytes))
        self.max_line = int(max_line)
        self._queued_bytes = 0
        self._room = threading.Condition()  # the network thread waits on it while the queued bytes are over budget
        from tsae.io.records import RecentKeys  # here: `tsae plugins` registers this class without numpy

        self.recent = RecentKeys(16384)
        self.duplicates = 0
        self.by_topic = bool(by_topic)
        self.corrupt = 0  # compressed payloads that did not decompress (counted as malformed lines)
        self.connects = 0
        self.disconnects = 0
        self.closed = False
        self.connected = threading.Event()
        self.persistent = bool(client_id) and session_expiry is not None
        self._session_present = False
        self.client = _client(client_id)
        self.client.reconnect_delay_set(min_delay=reconnect_min, max_delay=reconnect_max)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._reached = _report_unreachable(self.client, self.host, self.port, self.on_status)
        _connect(self.client, self.host, self.port, keepalive, session_expiry if self.persistent else None)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        self._reached()
        if _failed(reason):
            self.on_status(f"mqtt: connection to {self.host}:{self.port} refused ({reason})")
            return
        from paho.mqtt.subscribeoptions import SubscribeOptions

        self._session_present = bool(getattr(flags, "session_present", False))
        if self.persistent and self.connects and not self._session_present:
            self.on_status("mqtt: warning: the broker kept no session for this monitor (restarted without "
                           "persistence?): messages published while it was away are lost")
        # retainHandling=1: a resumed subscription does not replay retained messages
        client.subscribe(self.topic, options=SubscribeOptions(qos=self.qos, retainHandling=1))

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, properties: Any = None) -> None:
        if any(_failed(r) for r in reasons):
            self.on_status(f"mqtt: the broker refused the subscription to {self.topic} ({reasons[0]})")
            return
        self.connects += 1
        self.connected.set()
        word = "connected" if self.connects == 1 else "reconnected"
        session = "resumed session" if self._session_present else "new session"
        self.on_status(f"mqtt: {word} to {self.host}:{self.port}, subscribed to {self.topic} ({session})")

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        self.connected.clear()
        if not self.closed:
            self.disconnects += 1
            self.on_status(f"mqtt: lost the broker {self.host}:{self.port} ({reason}); reconnecting")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        payload = bytes(message.payload)
        if self.recent.seen(hashlib.blake2b(payload, digest_size=16).digest()) and message.dup:
            self.duplicates += self._count_lines(payload)
            return
        with self._room:  # held back while others fill the byte budget (one message always passes)
            while not self.closed and self._queued_bytes and self._queued_bytes + len(payload) > self.max_queue_bytes:
                self._room.wait(self.poll)
            self._queued_bytes += len(payload)
        while not self.closed:
            try:
                self.queue.put((str(message.topic), payload), timeout=self.poll)
                return
            except queue.Full:
                continue

    def _count_lines(self, payload: bytes) -> int:
        """How many lines :meth:`_lines` makes of a payload (0 for one that does not decompress), without warning:
        a redelivered gzip (bzip2, xz) payload counts the lines it decodes to, not those of its compressed bytes."""
        from tsae.io.inflate import CorruptData, inflate_payload

        try:
            inflated = inflate_payload(payload, self.max_queue_bytes)
        except CorruptData:
            return 0  # counted as corrupt when it first came
        text = decode_text(payload if inflated is None else inflated)
        return sum(1 for line in split_lines(text) if line.strip())

    def _take(self, block: bool) -> tuple[str, bytes]:
        """The next payload received and its topic (queue.Empty when none came); its bytes leave the budget."""
        topic, payload = self.queue.get(timeout=self.poll) if block else self.queue.get_nowait()
        with self._room:
            self._queued_bytes -= len(payload)
            self._room.notify_all()
        return topic, payload

    def _lines(self, payload: bytes, topic: str = "") -> list[str]:
        """The lines of a payload that are not blank; one longer than ``max_line`` bytes is a line of NULs.

        A payload that starts as gzip (bzip2, xz) data is decompressed first (:mod:`tsae.io.inflate`, at most
        ``max_queue_bytes`` of it); one that does not decompress is warned about, counted in ``corrupt`` and skipped.
        """
        from tsae.io.inflate import CorruptData, inflate_payload

        try:
            inflated = inflate_payload(payload, self.max_queue_bytes)
        except CorruptData as exc:
            self.corrupt += 1
            self.on_warning("corrupt_payload", f"mqtt: {exc}{f' (topic {topic})' if topic else ''}: skipped")
            return []
        if inflated is not None:
            payload = inflated
        if len(payload) <= self.max_line:
            return [line for line in split_lines(decode_text(payload)) if line.strip()]
        lines = []
        for raw in payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
            line = "\0" * (self.max_line + 1) if len(raw) > self.max_line else decode_text(raw)
            if line.strip():
                lines.append(line)
        return lines

    def blocks(self) -> Iterator[list[str]]:
        """Blocks of the lines received (an empty one every ``poll`` seconds without any): what has come by then, up
        to about ``block_bytes``, never waiting for more. With ``by_topic``, each block is a :class:`TopicLines`,
        which keeps each topic's lines apart (:func:`topic_blocks`)."""
        while not self.closed:
            try:
                taken = [self._take(block=True)]
            except queue.Empty:
                yield []
                continue
            size = len(taken[0][1])
            while size < self.block_bytes:  # a bounded block, like stdin's: what is queued, no waiting for more
                try:
                    taken.append(self._take(block=False))
                except queue.Empty:
                    break
                size += len(taken[-1][1])
            # one message of many lines in blocks of about block_bytes too: the monitor parses and scores a block
            # at once (a message of 600,000 lines was one block: 860 MB)
            if self.by_topic:
                yield from topic_blocks(((topic, self._lines(payload, topic)) for topic, payload in taken),
                                        self.block_bytes)
            else:
                yield from _bounded_blocks((line for topic, payload in taken for line in self._lines(payload, topic)),
                                           self.block_bytes)

    def __iter__(self) -> Iterator[str]:
        for block in self.blocks():
            yield from block

    def close(self) -> None:
        """Stop receiving and disconnect (the session, if persistent, stays on the broker).

        Messages received but not read by then are reported in one status line.
        """
        if self.closed:
            return
        self.closed = True
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
        if self.queue.qsize():
            self.on_status(f"mqtt: {self.queue.qsize()} message(s) received but not scored at the stop")


class TopicLines(list[str]):
    """A block of lines that came on MQTT topics: all of them, and :attr:`parts`, ``(topic, lines)`` in the order
    they came, each the lines of consecutive messages of one topic; :attr:`topic` is the topic when there is one
    part, else None."""

    def __init__(self, parts: Sequence[tuple[str, list[str]]]) -> None:
        super().__init__(line for _, lines in parts for line in lines)
        self.parts = list(parts)
        self.topic = self.parts[0][0] if len(self.parts) == 1 else None


def topic_blocks(messages: Iterable[tuple[str, list[str]]], limit: int) -> Iterator[TopicLines]:
    """The lines of ``messages`` (``(topic, lines)`` as they came) in blocks of at most about ``limit`` characters,
    each a :class:`TopicLines` whose parts join consecutive messages of a topic (a message longer than ``limit`` in
    parts of its own, each in a block of its own).

    Parameters
    ----------
    messages
        ``(topic, lines)`` of each message, in the order they came.
    limit
        Most characters of a block (a longer line alone in its block).

    Returns
    -------
    Iterator of TopicLines
        The blocks, in order.

    Examples
    --------
    >>> [block.parts for block in topic_blocks([("a", ["1"]), ("a", ["2"]), ("b", ["3"]), ("a", ["4"])], 100)]
    [[('a', ['1', '2']), ('b', ['3']), ('a', ['4'])]]
    """
    parts: list[tuple[str, list[str]]] = []
    size = 0
    for topic, lines in messages:
        for piece in _bounded_blocks(iter(lines), limit):
            length = sum(map(len, piece))
            if parts and size + length > limit:
                yield TopicLines(parts)
                parts, size = [], 0
            if parts and parts[-1][0] == topic:
                parts[-1][1].extend(piece)
            else:
                parts.append((topic, piece))
            size += length
    if parts:
        yield TopicLines(parts)


def _bounded_blocks(lines: Iterator[str], limit: int) -> Iterator[list[str]]:
    """``lines`` in consecutive blocks of at most ``limit`` characters (a longer line alone in its block)."""
    block: list[str] = []
    size = 0
    for line in lines:
        if block and size + len(line) > limit:
            yield block
            block, size = [], 0
        block.append(line)
        size += len(line)
    if block:
        yield block


#: the ``type`` of the records the monitor publishes: an outbox file holds only such records, one a line
RECORD_TYPES = ("sample", "alarm", "event", "sensor", "summary")
#: the first line of an outbox file: what tells it from the monitor's stdout saved to a file (same records)
OUTBOX_HEADER = '{"type":"tsae-outbox","version":1}'
_OUTBOX_TYPE, _OUTBOX_VERSION = "tsae-outbox", 1


def _is_record(payload: str) -> bool:
    """Whether ``payload`` is a JSON record as the monitor publishes it (an object with a record ``type``)."""
    try:
        record = json.loads(payload)
    except (ValueError, RecursionError):
        return False
    return isinstance(record, dict) and record.get("type") in RECORD_TYPES


def _not_outbox(path: Path, reason: str) -> ValueError:
    return ValueError(f"{path}: not an outbox file of tsae monitor ({reason}); refusing to send or remove it: "
                      "give the outbox another file name")


def _check_header(path: Path, line: str, number: int) -> None:
    """Raise unless ``line`` (the first line of ``path`` that is not blank, line ``number``) is the outbox's
    header (:data:`OUTBOX_HEADER`), saying what the file looks like."""
    try:
        head = json.loads(line)
    except (ValueError, RecursionError):
        head = None
    if isinstance(head, dict) and head.get("type") == _OUTBOX_TYPE:
        if head.get("version") != _OUTBOX_VERSION:
            raise _not_outbox(path, f"an outbox of format version {str(head.get('version'))[:20]}, "
                                    f"this tsae reads version {_OUTBOX_VERSION}")
        return
    if _is_record(line):
        raise _not_outbox(path, f"it looks like the output of tsae monitor saved from stdout: its records do "
                                f"not start with the outbox line {OUTBOX_HEADER}; an outbox written by an older "
                                "tsae lacks that line too: add it at the top to send the file")
    raise _not_outbox(path, f"line {number} is not a record the monitor publishes")


def outbox_payloads(path: str | os.PathLike) -> Iterator[str]:
    """The payloads kept in an outbox file, in order; the file is checked to be one as it is read.

    An outbox file starts with the line :data:`OUTBOX_HEADER`, then holds one JSON record a
    line, as the monitor publishes them (an object whose ``type`` is one of
    :data:`RECORD_TYPES`); blank lines are skipped. Any other file is refused, so that it is
    neither published nor removed (nor overwritten): a data CSV or JSON lines of samples given
    by mistake, the monitor's own output saved from stdout (its records without the header
    line), and an empty file (or one of blank lines), which the monitor never leaves.

    Parameters
    ----------
    path
        The outbox file.

    Yields
    ------
    str
        One payload per non-blank line.

    Raises
    ------
    ValueError
        One line naming the file, for any other file (a data CSV, binary data, ...).
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            headed = False
            for number, line in enumerate(f, 1):
                payload = line.rstrip("\r\n")
                if not payload.strip():
                    continue
                if not headed:  # the first line that is not blank
                    _check_header(path, payload, number)
                    headed = True
                    continue
                if not _is_record(payload):
                    raise _not_outbox(path, f"line {number} is not a record the monitor publishes")
                yield payload
        if not headed:  # the monitor removes an outbox it emptied: an empty file is someone else's
            raise _not_outbox(path, "an empty file; the monitor creates its outbox itself")
    except UnicodeDecodeError:
        raise _not_outbox(path, "not UTF-8 text") from None


def check_outbox(path: str | os.PathLike | None) -> None:
    """Refuse an existing file that is not an outbox (see :func:`outbox_payloads`), before anything connects.

    Parameters
    ----------
    path
        The outbox file; None, or a file that does not exist yet, passes.

    Raises
    ------
    ValueError
        One line naming the file.
    """
    if path is not None and Path(path).is_file():
        for _ in outbox_payloads(path):
            pass


class Outbox:
    """A bounded first-in first-out queue of payloads; optionally kept in a file between runs.

    Parameters
    ----------
    limit
        Most payloads held; adding one more drops the oldest (counted in ``dropped``).
    path
        A file of payloads (the line :data:`OUTBOX_HEADER`, then the monitor's JSON records,
        one per line) left by a previous run: they are loaded first, and :meth:`save` writes
        what is left there (the header first). An existing
        file that is not an outbox (see :func:`outbox_payloads`) raises ValueError and is
        left as it is.
    """

    def __init__(self, limit: int = OUTBOX_LIMIT, path: str | os.PathLike | None = None) -> None:
        if int(limit) < 1:
            raise ValueError(f"outbox limit must be at least 1, got {shown(limit)}")
        self.limit = int(limit)
        self.path = None if path is None else Path(path)
        self.items: deque[str] = deque()
        self.dropped = 0
        self.loaded = 0
        if self.path is not None and self.path.is_file():
            for payload in outbox_payloads(self.path):
                self.put(payload)
            self.loaded = len(self.items)

    def put(self, payload: str) -> None:
        self.items.append(payload)
        if len(self.items) > self.limit:
            self.items.popleft()
            self.dropped += 1

    def take(self) -> str | None:
        try:
            return self.items.popleft()
        except IndexError:
            return None

    def __len__(self) -> int:
        return len(self.items)

    def save(self, unsent: list[str]) -> None:
        """Keep ``unsent`` and the queued payloads in ``path`` for the next run (or remove it when none)."""
        if self.path is None:
            return
        rest = unsent + list(self.items)
        if not rest:
            self.path.unlink(missing_ok=True)
            return
        from tsae.io.atomic import atomic_path

        with atomic_path(self.path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(OUTBOX_HEADER + "\n")  # tells the outbox from a saved stdout of the monitor
            f.writelines(payload + "\n" for payload in rest)


class MqttSink:
    """Publishes each record as a JSON message to ``topic`` through a bounded outbox.

    Parameters
    ----------
    host, port, topic
        The broker and the topic records are published to (at ``qos``).
    client_id
        The client id (default: one the broker assigns).
    outbox
        File that keeps the records not delivered at exit for the next run (default: memory only).
    outbox_limit
        Records held at most while the broker is away; beyond, the oldest are dropped and counted.
    inflight
        Records handed to the client and not yet acknowledged by the broker, at most.
    flush_timeout
        Seconds ``close()`` waits for the broker to take what is left (default ``FLUSH_TIMEOUT``).
    on_status
        Called with one-line status messages (connection, what was not delivered).
    """

    def __init__(self, host: str = "localhost", port: int = 1883, topic: str = "tsae/events", *,
                 qos: int = 1, client_id: str | None = None, keepalive: int = 30,
                 outbox: str | os.PathLike | None = None, outbox_limit: int = OUTBOX_LIMIT, inflight: int = 100,
                 flush_timeout: float | None = None, on_status: Callable[[str], None] | None = None,
                 reconnect_min: float = 0.2, reconnect_max: float = 5.0, **_: Any) -> None:
        check_topic(topic, wildcards=False)
        self.host, self.port, self.topic, self.qos = host, int(port), topic, int(qos)
        self.on_status = on_status or (lambda message: None)
        self.outbox = Outbox(outbox_limit, outbox)
        self.max_inflight = max(1, int(inflight))
        self.flush_timeout = FLUSH_TIMEOUT if flush_timeout is None else float(flush_timeout)
        self.delivered = 0
        self.undelivered = 0
        self._lock = threading.Lock()  # guards the counters below; never held while calling the client
        self._inflight: dict[int, str] = {}
        self._early: set[int] = set()  # acknowledgements that came before publish() returned the mid
        self._busy = 0
        self._pumping = threading.Lock()
        self._lost_reported = 0
        self.connects = 0
        self.closing = False
        self.connected = threading.Event()
        self.client = _client(client_id)
        self.client.max_inflight_messages_set(self.max_inflight)
        self.client.reconnect_delay_set(min_delay=reconnect_min, max_delay=reconnect_max)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self._reached = _report_unreachable(self.client, host, self.port, self.on_status, " to publish")
        if self.outbox.loaded:
            self.on_status(f"mqtt: {self.outbox.loaded} record(s) left by the previous run in {outbox}: sending first")
        _connect(self.client, host, self.port, keepalive, None)

    # -- connection -----------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        self._reached()
        if _failed(reason):
            self.on_status(f"mqtt: connection to {self.host}:{self.port} refused ({reason})")
            return
        self.connects += 1
        self.connected.set()
        if self.connects > 1:
            self.on_status(f"mqtt: publishing again to {self.host}:{self.port}, "
                           f"{self.pending()} record(s) waiting")
        self._pump()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was and not self.closing:
            self.on_status(f"mqtt: cannot publish, lost the broker {self.host}:{self.port} ({reason}); "
                           "holding records in the outbox")

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, properties: Any = None) -> None:
        with self._lock:
            if self._inflight.pop(mid, None) is None:
                self._early.add(mid)
            else:
                self._busy -= 1
                self.delivered += 1
        self._pump()

    # -- sending --------------------------------------------------------------
    def _reserve(self) -> bool:
        with self._lock:
            if self._busy >= self.max_inflight:
                return False
            self._busy += 1
            return True

    def _send(self, payload: str) -> None:
        info = self.client.publish(self.topic, payload, qos=self.qos)
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
                self._busy -= 1
                self.delivered += 1
            else:
                self._inflight[info.mid] = payload

    def _pump(self) -> None:
        """Hand queued records to the client while connected and under the in-flight limit.

        Any thread may call it; one pumps at a time, and the one leaving checks again so
        that a record queued meanwhile is not left behind.
        """
        while self.connected.is_set() and len(self.outbox) and self._pumping.acquire(blocking=False):
            try:
                while self.connected.is_set() and self._reserve():
                    payload = self.outbox.take()
                    if payload is None:
                        with self._lock:
                            self._busy -= 1
                        break
                    self._send(payload)
            finally:
                self._pumping.release()
            with self._lock:
                if self._busy >= self.max_inflight:
                    return

    def write(self, record: dict[str, Any]) -> None:
        self.outbox.put(dumps(record))
        if self.outbox.dropped > self._lost_reported:
            self.on_status(f"mqtt: warning: outbox full ({self.outbox.limit} records while the broker is away): "
                           f"{self.outbox.dropped} oldest record(s) dropped so far")
            self._lost_reported = self.outbox.dropped * 2  # report again when the loss has doubled
        self._pump()

    def write_many(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.write(record)

    def flush(self) -> None:
        self._pump()

    def pending(self) -> int:
        """Records not yet acknowledged by the broker (queued or in flight)."""
        with self._lock:
            return len(self.outbox) + self._busy

    def close(self) -> None:
        """Wait up to ``flush_timeout`` for the broker to take every record, then disconnect.

        The disconnect happens whatever the wait met; records still not delivered are
        counted in ``undelivered``, reported in one status line and, with an outbox file,
        kept there, also when an interrupt (a second Ctrl-C, SIGTERM) cuts the wait short: it is raised again after.
        """
        self.closing = True
        interrupt: BaseException | None = None
        try:
            deadline = time.monotonic() + self.flush_timeout
            while self.pending() and time.monotonic() < deadline:
                self._pump()
                time.sleep(0.02)
        except BaseException as stop:  # noqa: BLE001 - Ctrl-C again, SIGTERM (tsae.cli.Terminated): no more waiting,
            interrupt = stop  # but the records are still counted, reported and kept in the outbox file, then it goes on
        finally:
            try:
                self.client.disconnect()
            finally:
                self.client.loop_stop()
        with self._lock:
            unsent = list(self._inflight.values())
        self.undelivered = len(unsent) + len(self.outbox) + self.outbox.dropped
        self.outbox.save(unsent)
        if self.undelivered:
            kept = f"; kept in {self.outbox.path} for the next run" if self.outbox.path else ""
            self.on_status(f"mqtt: {self.undelivered} record(s) not delivered to {self.host}:{self.port} "
                           f"(of {self.delivered + self.undelivered}){kept}")
        if interrupt is not None:
            raise interrupt
