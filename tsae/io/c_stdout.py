"""What native code writes straight to file descriptor 1, kept out of the data a command sends to stdout.

A plugin's C extension, or a library's warning printed by C (``printf``, ``write(1, ...)``), goes past
``sys.stdout`` and ``contextlib.redirect_stdout``: inside ``tsae monitor``'s JSON lines or ``tsae denoise -``'s WAV
stream it would corrupt the data. While a command writes its data to stdout, the data goes through a duplicate of
the real stdout and descriptor 1 points at standard error (see :func:`stdout_for_data_only`).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TextIO


def _fileno(stream: object) -> int:
    """The file descriptor under ``stream``, or -1 for none (an in-memory stream, a closed one)."""
    try:
        return int(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return -1


def flush_c_stdio() -> None:
    """Flush the C library's ``stdio`` buffers (``fflush(NULL)``): what native code ``printf``-ed goes out now, to
    where descriptor 1 points now, not later to wherever it points then. Nothing where the C library cannot be
    reached (Windows' ``CDLL(None)``)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).fflush(None)


def _stderr_or_devnull() -> int:
    """A new descriptor on standard error, or on the null device when standard error is closed."""
    try:
        return os.dup(2)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


@contextlib.contextmanager
def native_stdout_to_stderr(stream: TextIO) -> Iterator[int | None]:
    """Within it, what is written to descriptor 1 (native code, ``os.write(1, ...)``, a C library's buffered
    ``printf``) goes to standard error (nowhere when that is closed), where ``stream`` (the command's stdout) is
    descriptor 1: yields a duplicate of the real stdout, valid inside the block, and puts descriptor 1 back when the
    block ends, however it ends. Elsewhere (an in-memory stream, as under click's test runner) nothing is moved:
    yields None."""
    if _fileno(stream) != 1:
        yield None
        return
    with contextlib.suppress(OSError, ValueError):  # what Python holds goes where it was meant to (or is lost)
        stream.flush()
    flush_c_stdio()  # and so does what native code printed before
    elsewhere = _stderr_or_devnull()  # first: with descriptor 2 closed, dup(1) would take its number
    try:
        data_fd = os.dup(1)
        os.dup2(elsewhere, 1)
    finally:
        os.close(elsewhere)
    try:
        try:
            yield data_fd
        finally:
            flush_c_stdio()  # native output still buffered goes to stderr, not into the data
            os.dup2(data_fd, 1)
    finally:
        os.close(data_fd)


@contextlib.contextmanager
def stdout_for_data_only(stream: TextIO) -> Iterator[TextIO]:
    """A text stream on the real stdout for the data, with descriptor 1 pointed at standard error meanwhile
    (:func:`native_stdout_to_stderr`).

    ``stream`` is the command's stdout (``sys.stdout``). Where it is descriptor 1, the stream yielded writes to a
    duplicate of it (same encoding and errors; ``.buffer`` for bytes); what it still holds is flushed when the block
    ends (an error of that flush is raised only when the block itself went well: a reader gone, a full disk).
    Anything else (an in-memory stream) is yielded as it is.

    Examples
    --------
    >>> import io
    >>> plain = io.StringIO()
    >>> with stdout_for_data_only(plain) as data:  # not descriptor 1: nothing to protect
    ...     data is plain
    True
    """
    with native_stdout_to_stderr(stream) as data_fd:
        if data_fd is None:
            yield stream
            return
        data = open(data_fd, "w", encoding=stream.encoding, errors=stream.errors, closefd=False,  # noqa: SIM115
                    buffering=1 if getattr(stream, "line_buffering", False) else -1)
        try:
            yield data
        except BaseException:
            with contextlib.suppress(OSError, ValueError):
                data.close()  # flushes what is left: a failure here is the block's own error, already raised
            raise
        data.close()
