"""What a C library writes straight to the process's standard error, caught instead of shown.

libmpg123 (libsndfile's MP3 decoder) prints its own notes on a damaged MP3 to file descriptor 2,
past ``sys.stderr``, the warnings machinery and ``-q``: tsae turns them into its own one line.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator


def stderr_is_terminal() -> bool:
    """Whether Python's standard error is a terminal (where progress bars are shown).

    False when it is closed: a command started with ``2>&-`` (a service, a batch system) has
    ``sys.stderr`` None, and ``sys.stderr.isatty()`` failed every such command.
    """
    return sys.stderr is not None and sys.stderr.isatty()


#: (path, name): a line told by :func:`to_stderr` names ``name`` where it would name ``path`` (see :func:`shown_as`)
_SHOWN_AS: list[tuple[str, str]] = []


def to_stderr(text: str) -> None:
    """Write ``text`` to standard error, or nowhere when it is closed (``print(file=None)`` would write it to
    standard output, among the command's data); a temporary file's path is told by the name it stands for
    (:func:`shown_as`)."""
    for path, name in _SHOWN_AS:
        text = text.replace(path, name)
    if sys.stderr is not None:
        sys.stderr.write(text)


def shown_name(path: str) -> str | None:
    """The name a temporary file stands for (``stdin``, ``/dev/fd/63``: see :func:`shown_as`), or None for any other
    path."""
    return next((name for copy, name in _SHOWN_AS if copy == path), None)


@contextlib.contextmanager
def shown_as(path: str, name: str) -> Iterator[None]:
    """Within it, :func:`to_stderr` tells ``name`` for ``path`` (a private copy of stdin, a file bound for stdout)."""
    _SHOWN_AS.append((path, name))
    try:
        yield
    finally:
        _SHOWN_AS.remove((path, name))


#: one redirect at a time: fd 2 is the whole process's (reentrant: a block may hold one inside another)
_LOCK = threading.RLock()


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Catch what is written to file descriptor 2 inside the block; its lines are in the list yielded once it ends.

    The descriptor is put back however the block ends. While it is redirected, what other threads
    write to standard error is caught too, so callers keep a block to one library call (never across
    a ``yield``), and a thread that captures waits for another that does.

    Examples
    --------
    >>> with captured_stderr() as lines:
    ...     _ = os.write(2, b"Note: from C\\n")
    >>> lines
    ['Note: from C']
    """
    lines: list[str] = []
    with _LOCK:
        try:
            saved = os.dup(2)
        except OSError:  # no standard error at all: nothing to catch
            saved = -1
        if saved < 0:
            yield lines
            return
        try:
            with tempfile.TemporaryFile() as sink:  # a file, not a pipe: a chatty library never blocks on it
                if sys.stderr is not None:
                    sys.stderr.flush()  # Python's own buffered text goes out first, where it was meant to
                os.dup2(sink.fileno(), 2)
                try:
                    yield lines
                finally:
                    os.dup2(saved, 2)
                    sink.seek(0)
                    lines.extend(sink.read().decode(errors="replace").splitlines())
        finally:
            os.close(saved)
