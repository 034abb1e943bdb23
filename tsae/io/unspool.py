"""An output bound for a stream (stdout, ``-o -``), written whole to a private temporary file first and copied to the
stream only once it is: a command that fails leaves nothing on the stream, as it leaves no file behind.

The other direction of :mod:`~tsae.io.spool`: the file lies in a folder of its own in the system's temporary folder
(``TMPDIR``, ``0700``), removed however the block ends; within the block, errors, warnings and the lines told on
stderr name the stream (``stdout``), never the file. The writer that fills it is the command's own (the atomic
writers, by the file's suffix), so what goes to the stream is byte for byte what ``-o FILE`` writes.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tsae.io.spool import SPOOL_CHUNK, named_as, private_folder

#: what ``-o -`` is called in messages
STDOUT_NAME = "stdout"


@contextlib.contextmanager
def unspooled(stream: BinaryIO, name: str = STDOUT_NAME, *, suffix: str = ".csv") -> Iterator[Path]:
    """A private temporary file for the block to write, copied to ``stream`` when the block ends without an error.

    Parameters
    ----------
    stream
        Where the file goes (``sys.stdout.buffer``); flushed after the copy.
    name
        What messages call the stream.
    suffix
        The file's suffix, which picks its format for the writers (``.csv``, ``.npy``, ``.json``, ``.tsz``).

    Yields
    ------
    Path
        The file to write (``<name><suffix>``). A block that raises, or writes no file, sends nothing.

    Raises
    ------
    ValueError
        ``"<name>: ..."``: no temporary file could be made or filled (no room in ``TMPDIR``), or ``stream`` refused
        the bytes (a full disk).
    BrokenPipeError
        The reader of ``stream`` went away (``| head``): the caller decides whether that is an error.
    """
    from tsae.io.atomic import _FULL, written_at_once

    with private_folder(name, "until it is written whole") as folder:
        copy = folder / f"{name}{suffix}"
        try:  # the copy is whole once written: sent before the other outputs of one all_or_nothing block appear
            with named_as(str(copy), name), written_at_once(folder):
                yield copy
        except OSError as error:  # the temporary folder's disk, not the stream's: TMPDIR is the way out
            if error.errno not in _FULL:
                raise
            raise ValueError(f"{name}: no space left in {folder.parent} to hold it until it is written whole "
                             f"({error.strerror or error}); set TMPDIR to a folder with room") from None
        if copy.is_file():
            send(copy, stream, name)


def send(path: Path, stream: BinaryIO, name: str = STDOUT_NAME) -> None:
    """Copy the file ``path`` to ``stream`` (:data:`~tsae.io.spool.SPOOL_CHUNK` bytes at a time) and flush it.

    Raises
    ------
    ValueError
        ``"<name>: cannot write it (<reason>)"``: ``stream`` refused the bytes, not for a broken pipe.
    BrokenPipeError
        The reader of ``stream`` went away.
    """
    try:
        with open(path, "rb") as source:
            while chunk := source.read(SPOOL_CHUNK):
                stream.write(chunk)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise ValueError(f"{name}: cannot write it ({error.strerror or error})") from None


__all__ = ["STDOUT_NAME", "send", "unspooled"]
