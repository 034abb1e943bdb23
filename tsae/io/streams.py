"""Stream sources and sinks for ``tsae monitor``: stdin / stdout (MQTT: :mod:`tsae.io.mqtt`).

A *source* is iterable over raw records (text lines) and also offers ``blocks()``,
which yields lists of the records that have arrived so far (whatever is available,
never waiting for a full block), so the monitor can score them in one vectorised
step. A *sink* has ``write(record: dict)`` (one JSON line / message) and ``close()``.

They are registered as the ``stdin``/``mqtt`` sources and ``stdout``/``mqtt`` sinks
by the built-in plugin ``tsae_plugins.streams`` through the ``register_sources`` and
``register_sinks`` hooks, the same way a third-party plugin adds its own (Kafka, serial...).
"""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from tsae.io.inflate import MAGIC_BYTES, CorruptData, compression, inflated_chunks
from tsae.io.text_files import decode_text


def parse_host_port(value: str, default_port: int = 1883) -> tuple[str, int]:
    """``"host:port"`` (or ``"host"``) -> ``(host, port)``."""
    host, sep, port = str(value).rpartition(":")
    if not host and not sep:
        host, port = port, ""
    if not host:  # ":1883" names no host
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


def split_lines(text: str) -> list[str]:
    """``text`` cut into lines at each ``\\n``, ``\\r\\n`` or lone ``\\r`` (a serial device's line end).

    A lone ``\\r`` ends a line, as Python's universal newlines read it: dropping it instead would join two
    records into one (``5\\r6`` read as ``56``).
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _line_end(data: bytes, last: bool = False) -> int:
    """The index of the first (``last``: the last) line end in ``data`` (``\\n`` or ``\\r``), -1 if none."""
    if last:
        return max(data.rfind(b"\n"), data.rfind(b"\r"))
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    return min(ends) if ends else -1


# ----------------------------------------------------------------------------- stdin / stdout
#: milliseconds a reader waits for data before it looks again whether it was closed
_POLL_MS = 250


def wait_readable(fd: int, timeout_ms: int = _POLL_MS) -> bool:
    """Whether ``fd`` has data (or its end, or an error) to read within ``timeout_ms``.

    A reader waits in short turns, not in one ``os.read``: SIGTERM's handler closes the source
    (:func:`~tsae.pipelines.anomaly.monitor.run_monitor`), and a read blocked on a quiet pipe
    went on waiting after the handler ran, until the next line came. A descriptor that cannot
    be polled is taken as readable (the read then blocks, as before).
    """
    import select

    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(timeout_ms))
    except (OSError, ValueError, AttributeError):  # no poll() (Windows), or an fd it refuses
        return True


def _widen_pipe(fd: int, size: int) -> None:
    """Let a pipe on ``fd`` hold ``size`` bytes (Linux; at most ``/proc/sys/fs/pipe-max-size``), when more than the
    usual 64 KB: a reader asking for large blocks then gets them when the writer is ahead (a read returns at most
    what the pipe holds). Anything else (no pipe, no such call, a size not allowed) is left as it is."""
    if size <= 1 << 16:
        return
    try:
        import fcntl
        import stat

        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
    except (ImportError, AttributeError, OSError, ValueError):
        pass


class StdinSource:
    """Text lines from standard input (or any binary/text stream), in arrival-sized blocks.

    Lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r`` (see :func:`split_lines`); a line that is not UTF-8 is
    latin-1 (:func:`~tsae.io.text_files.decode_text`). Bytes that start as gzip, bzip2 or xz data are decompressed
    as they come (:mod:`tsae.io.inflate`: ``tsae monitor < pump.csv.gz``); when they stop decompressing (a corrupt or
    truncated file) that is one warning through ``on_status`` and the end of the stream (counted in ``corrupt``).

    Parameters
    ----------
    stream
        Defaults to ``sys.stdin``. With a real file descriptor, ``blocks()`` reads whatever
        is available (up to ``block_bytes``) without waiting for more; a pipe is let hold ``block_bytes`` when
        that is more than the usual 64 KB (Linux), so that a writer ahead of the reader gives it blocks so large.
    max_line
        With a real file descriptor, a line longer than this (bytes) is not kept: it is
        dropped up to its newline and replaced by one over-long line of NUL characters, which
        the record parser counts as malformed (memory and time stay bounded).
    on_status
        Called with a one-line warning when compressed input stops decompressing.
    """

    def __init__(self, stream: Any = None, block_bytes: int = 1 << 16, max_line: int = 1 << 20,
                 on_status: Callable[[str], None] | None = None, **_: Any) -> None:
        self.stream = sys.stdin if stream is None else stream
        self.on_status = on_status or (lambda message: None)
        self.corrupt = 0  # compressed input that stopped decompressing (counted as a malformed line)
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
            lines: Iterator[Any] = iter(self.stream)
            first: Any = next(lines, None)
            if first is None:
                return
            if not isinstance(first, str) and compression(bytes(first[:MAGIC_BYTES])) is not None:
                yield from self._lines(itertools.chain([bytes(first)], (bytes(line) for line in lines)))
                return
            batch: list[str] = []
            for line in itertools.chain([first], lines):
                text = line if isinstance(line, str) else decode_text(line)
                batch.extend(split_lines(text.rstrip("\r\n")))
                if len(batch) >= 1024:
                    yield batch
                    batch = []
            if batch:
                yield batch
            return
        yield from self._lines(self._read(fd))

    def _read(self, fd: int) -> Iterator[bytes]:
        """The bytes of ``fd`` as they arrive, until its end or :meth:`close`."""
        _widen_pipe(fd, self.block_bytes)
        while not self.closed:
            if not wait_readable(fd):
                continue  # nothing yet: see whether SIGTERM closed the source meanwhile
            try:
                chunk = os.read(fd, self.block_bytes)
            except InterruptedError:  # pragma: no cover
                continue
            if not chunk:
                return
            yield chunk

    def _lines(self, chunks: Iterator[bytes]) -> Iterator[list[str]]:
        """Blocks of the lines in ``chunks`` (decompressed when they start as compressed data: data that stops
        decompressing is warned about and ends the stream, whose rest cannot be found again)."""
        pending = b""
        skipping = False
        data = inflated_chunks(chunks, self.block_bytes)
        while True:
            try:
                chunk = next(data, b"")
            except CorruptData as exc:
                self.corrupt += 1
                self.on_status(f"warning: stdin: {exc}: the rest of stdin is not read")
                chunk = b""
            if not chunk:
                break
            if skipping:  # inside an over-long line: drop it up to its line end
                start = _line_end(chunk)
                if start < 0:
                    continue
                skipping, chunk = False, chunk[start + 1:]
                yield ["\0" * (self.max_line + 1)]
            pending += chunk
            cut = _line_end(pending, last=True)
            if cut < 0:
                if len(pending) > self.max_line:
                    skipping, pending = True, b""
                continue
            text = decode_text(pending[:cut])
            pending = pending[cut + 1:]
            yield split_lines(text)  # a CR LF cut between two reads leaves a blank line, skipped
        if skipping:
            yield ["\0" * (self.max_line + 1)]
        elif pending.strip():
            yield [decode_text(pending)]

    def __iter__(self) -> Iterator[str]:
        for block in self.blocks():
            yield from block

    def close(self) -> None:
        self.closed = True


@contextlib.contextmanager
def _writing_stdout() -> Iterator[None]:
    """An ``OSError`` writing stdout as a ``ValueError`` that names it (as ``tsae denoise -o -`` tells it), not
    "[Errno 28] No space left on device"; a :class:`BrokenPipeError` as it is."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        raise ValueError(f"stdout: cannot write it ({error.strerror or error})") from None


class StdoutSink:
    """Writes each record as one JSON line to standard output (flushed per block).

    A write that fails (``> /dev/full``, a full disk) is one ``ValueError`` naming stdout; a reader that went away
    (:class:`BrokenPipeError`) is left to the monitor, which ends quietly.
    """

    def __init__(self, stream: TextIO | None = None, **_: Any) -> None:
        self.stream = sys.stdout if stream is None else stream

    def write(self, record: dict[str, Any]) -> None:
        with _writing_stdout():
            self.stream.write(dumps(record) + "\n")

    def write_many(self, records: list[dict[str, Any]]) -> None:
        if records:
            with _writing_stdout():
                self.stream.write("".join(dumps(r) + "\n" for r in records))
            self.flush()

    def flush(self) -> None:
        with _writing_stdout():
            try:
                self.stream.flush()
            except (BrokenPipeError, ValueError):  # ValueError: stdout already closed
                pass

    def close(self) -> None:
        self.flush()
