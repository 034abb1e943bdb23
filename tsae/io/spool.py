"""A table that arrives on a stream (stdin, a named pipe, a process substitution, a device), copied to a private
temporary file so that it is read as a file is.

A long table is read in two passes (:mod:`~tsae.io.table_blocks`), its compression judged by its first bytes and its
delimiter sniffed from a sample: a stream can be read once only, so :func:`spooled` copies it, a chunk at a time (its
memory is one chunk, whatever the stream's length), to a file in a folder of its own in the system's temporary folder
(``TMPDIR``; the folder ``0700``, the file ``0600``), which is removed however the block ends (an error, Ctrl-C, the
command line's SIGTERM). Within the block, errors and warnings name the stream as the user gave it (``stdin``,
``/dev/fd/63``), never the copy (:func:`named_as`). A stream that is a regular file read from its start (``tsae
smooth - < x.flac``) needs no copy: :func:`in_place` opens it afresh (``/proc/<pid>/fd/0``, through a link in such a
folder named as the copy would be). :func:`private_folder` is that folder, which
:mod:`~tsae.io.unspool` uses the other way round, for an output bound for stdout.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tsae.io.paths import SERIES_SUFFIXES, kind_suffix

#: bytes copied at a time
SPOOL_CHUNK = 1 << 20
#: what ``-`` is called in messages
STDIN_NAME = "stdin"


def needs_spool(path: str | os.PathLike) -> bool:
    """Whether ``path`` names something that exists but is not a regular file or a folder (a named pipe, ``/dev/fd/63``
    of a process substitution, ``/dev/stdin`` on a pipe, a device): it can be read once only, and is spooled."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False  # missing or unreadable: the reader tells what is wrong
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def spool_name(name: str, head: bytes = b"") -> str:
    """The name of the copy of the stream called ``name``, whose first bytes are ``head``: its own last part (the
    kind of series is told by the suffix: ``x.npy`` stays an array); when that is no series suffix (``stdin``,
    ``63``), the suffix its first bytes tell (:func:`~tsae.io.stream_kind.stream_suffix`: ``.wav``, ``.flac``,
    ``.npy`` ...) is added, else ``.csv`` (a table, read as a ``.csv`` file is: compressed or not by its bytes).

    Examples
    --------
    >>> spool_name("stdin", b"fLaC\\x00"), spool_name("/dev/fd/63", b"t,x\\n"), spool_name("x.npy", b"RIFF")
    ('stdin.flac', '63.csv', 'x.npy')
    """
    from tsae.io.stream_kind import stream_suffix

    base = Path(name).name or STDIN_NAME
    return base if kind_suffix(base) in SERIES_SUFFIXES else f"{base}{stream_suffix(head) or '.csv'}"


@contextlib.contextmanager
def spooled(stream: BinaryIO | str | os.PathLike, name: str, *,
            copied: Callable[[int], None] | None = None, head: bytes = b"") -> Iterator[Path]:
    """The bytes of ``stream`` copied to a private temporary file, whose path is yielded; removed when the block ends.

    Parameters
    ----------
    stream
        A binary stream (``sys.stdin.buffer``), or the path of a pipe or device, opened and read to its end.
    name
        What messages call the stream: ``stdin``, or the path the user gave.
    copied
        Told the bytes of each chunk copied (a progress counter).
    head
        The first bytes of ``stream``, read from it already (to tell its kind): the copy starts with them.

    Yields
    ------
    Path
        The copy (its name :func:`spool_name`'s). Errors raised and warnings shown within the block name ``name``
        in its place.

    Raises
    ------
    ValueError
        ``"<name>: ..."``: the stream could not be read, or the temporary folder had no room for it.
    """
    from tsae.io.atomic import _FULL
    from tsae.io.stream_kind import HEAD_BYTES

    with private_folder(name, "while it is read") as folder:
        with contextlib.ExitStack() as stack:
            source = stream if hasattr(stream, "read") else stack.enter_context(_open_stream(stream, name))
            if len(head) < HEAD_BYTES:
                head += _read(source, HEAD_BYTES - len(head), name)  # type: ignore[arg-type]
            copy = folder / spool_name(name, head)  # the kind of what arrives is told by its first bytes
            out = stack.enter_context(_create(copy))
            try:
                _copy(source, out, name, copied, head=head)  # type: ignore[arg-type]
            except OSError as error:
                if error.errno in _FULL:
                    raise ValueError(f"{name}: no space left in {folder.parent} to hold it while it is read "
                                     f"({error.strerror or error}); set TMPDIR to a folder with room") from None
                raise ValueError(f"{name}: cannot copy it to {folder.parent} ({error.strerror or error}); set TMPDIR "
                                 "to another folder") from None
        with named_as(str(copy), name):
            yield copy


def reopenable(stream: Any) -> str | None:
    """The path that opens the file behind ``stream`` afresh, at its start (``/proc/<pid>/fd/0`` for stdin), when
    ``stream`` is a regular file not read yet (``< x.flac``); None otherwise: a pipe, a socket, a terminal, a stream
    without a file descriptor, a file read part way (what is left of it is the stream: it is copied), a system
    without ``/proc``. The pid's path, not ``/proc/self``: a worker process opens the same file through it."""
    try:
        fd = stream.fileno()
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or os.lseek(fd, 0, os.SEEK_CUR) != 0:
            return None
        path = f"/proc/{os.getpid()}/fd/{fd}"
        again = os.stat(path)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return None
    return path if (again.st_dev, again.st_ino) == (info.st_dev, info.st_ino) else None


@contextlib.contextmanager
def in_place(path: str, name: str) -> Iterator[Path]:
    """The regular file ``path`` (:func:`reopenable`'s) read where it is, through a link in a private folder named as
    :func:`spooled`'s copy would be (``stdin.flac``: the kind its first bytes tell), removed when the block ends.
    Errors raised and warnings shown within the block name ``name`` in place of the link or ``path``.

    Raises
    ------
    ValueError
        ``"<name>: ..."``: the file could not be read, or the link not made.
    """
    from tsae.io.stream_kind import HEAD_BYTES

    with _open_stream(path, name) as source:
        head = _read(source, HEAD_BYTES, name)
    with private_folder(name, "while it is read") as folder:
        link = folder / spool_name(name, head)
        try:
            os.symlink(path, link)
        except OSError as error:
            raise ValueError(f"{name}: cannot make a link to it in {folder.parent} ({error.strerror or error}); "
                             "set TMPDIR to another folder") from None
        with named_as(str(link), name), named_as(path, name):
            yield link


@contextlib.contextmanager
def private_folder(name: str, why: str) -> Iterator[Path]:
    """A new folder of its own in the system's temporary folder (``0700``: no other user sees the names or bytes in
    it), removed with what it holds however the block ends.

    Raises
    ------
    ValueError
        ``"<name>: cannot make a temporary file to hold it <why> in <folder> (...)"``.
    """
    try:
        folder = Path(tempfile.mkdtemp(prefix="tsae-spool-"))
    except OSError as error:
        raise ValueError(f"{name}: cannot make a temporary file to hold it {why} in "
                         f"{tempfile.gettempdir()} ({error.strerror or error}); set TMPDIR to another folder") from None
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _create(path: Path) -> BinaryIO:
    """The new file ``path``, open for writing, readable by its owner only (``0600``)."""
    # unbuffered: a write that fails leaves nothing behind for the close to fail on again
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600), "wb",
                buffering=0)


@contextlib.contextmanager
def _open_stream(path: str | os.PathLike, name: str) -> Iterator[BinaryIO]:
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise ValueError(f"{name}: cannot read ({error.strerror or error})") from None
    with handle:
        yield handle


def _read(source: BinaryIO, n: int, name: str) -> bytes:
    """Up to ``n`` bytes of ``source``; fewer only at its end (a pipe may give a few bytes at a time)."""
    from tsae.io.reading import read_up_to

    try:
        return read_up_to(source, n)
    except OSError as error:
        raise ValueError(f"{name}: cannot read ({error.strerror or error})") from None


def _copy(source: BinaryIO, out: BinaryIO, name: str, copied: Callable[[int], None] | None, *,
          head: bytes = b"") -> None:
    """Copy ``head`` (what was read of ``source`` already), then ``source`` to its end, to ``out``,
    :data:`SPOOL_CHUNK` bytes at a time (each told ``copied``)."""
    chunk = head
    while True:
        if chunk:
            view = memoryview(chunk)
            while view:
                view = view[out.write(view) or 0:]
            if copied is not None:
                copied(len(chunk))
        try:
            chunk = source.read(SPOOL_CHUNK)
        except OSError as error:
            raise ValueError(f"{name}: cannot read ({error.strerror or error})") from None
        if not chunk:
            return


@contextlib.contextmanager
def named_as(copy: str, name: str) -> Iterator[None]:
    """Within it, a warning shown, an error raised or a line told on stderr (:func:`~tsae.io.c_stderr.to_stderr`)
    that names ``copy`` names ``name`` instead."""
    from tsae.io.c_stderr import shown_as

    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        shown(str(message).replace(copy, name), category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        with shown_as(copy, name):
            yield
    except Exception as error:
        _rename(error, copy, name)
        raise
    finally:
        if warnings.showwarning is show:
            warnings.showwarning = shown


def _rename(error: BaseException, copy: str, name: str) -> None:
    """``error``'s message (and its cause's, its file name) with ``name`` for ``copy``, in place."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        error.args = tuple(arg.replace(copy, name) if isinstance(arg, str) else arg for arg in error.args)
        for attribute in ("filename", "filename2", "message"):
            value = getattr(error, attribute, None)
            if isinstance(value, str) and copy in value:
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(error, attribute, value.replace(copy, name))
        error = error.__cause__ or error.__context__  # type: ignore[assignment]


__all__ = ["SPOOL_CHUNK", "STDIN_NAME", "in_place", "named_as", "needs_spool", "private_folder", "reopenable",
           "spool_name", "spooled"]
