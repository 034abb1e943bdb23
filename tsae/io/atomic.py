"""Write outputs atomically: to a temporary file beside the target, then rename.

A crash, a Ctrl-C or an error never leaves a partial output, and an input is never
overwritten by accident. Inside :func:`all_or_nothing` the renames wait for the end of
the block, so the several outputs of one command appear together or not at all (blocks
nested in one another: with the outermost's).
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from tsae.io.paths import check_output, written_file

try:
    import fcntl
except ImportError:  # Windows: an open file cannot be removed there anyway
    fcntl = None  # type: ignore[assignment]

#: (temporary, target) pairs written inside the innermost :func:`all_or_nothing` block
_DEFERRED: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("tsae_atomic_deferred", default=None)


#: folders whose outputs are renamed into place at once, even inside :func:`all_or_nothing` (:func:`written_at_once`)
_AT_ONCE: ContextVar[tuple[Path, ...]] = ContextVar("tsae_atomic_at_once", default=())

#: a command's private folders whose outputs are written in place (:func:`written_in_place`)
_IN_PLACE: ContextVar[tuple[Path, ...]] = ContextVar("tsae_atomic_in_place", default=())

#: temporary file -> the descriptor that holds its lock, until it is renamed or removed
_HELD: dict[Path, int] = {}


def _hold(tmp: Path, fd: int) -> None:
    """Keep ``fd`` open with a lock on ``tmp``: a live writer's file, which :func:`being_written` tells apart
    from one a killed process left."""
    if fcntl is None:
        os.close(fd)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without locks: as without fcntl
        os.close(fd)
        return
    _HELD[tmp] = fd


def _release(tmp: Path) -> None:
    fd = _HELD.pop(tmp, None)
    if fd is not None:
        os.close(fd)


def being_written(path: str | os.PathLike) -> bool:
    """Whether a live process (this one included) is writing ``path``, a temporary file of :func:`atomic_path`.

    Its writer holds a lock on it until it is renamed or removed; the kernel drops the lock
    of a process that was killed, so its file is a leftover (False). Without file locks
    (Windows, some network file systems), False.
    """
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


#: what writing a file can fail with for want of room (a full disk, a quota, a file size limit)
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class OutputFullError(OSError):
    """An output could not be written for want of room: the one line names the output, then the reason.

    Examples
    --------
    >>> print(OutputFullError("out/pump.csv", OSError(errno.ENOSPC, "No space left on device")))
    out/pump.csv: cannot write it (No space left on device)
    """

    def __init__(self, target: str | os.PathLike, error: OSError) -> None:
        super().__init__(error.errno, error.strerror or str(error), str(target))

    def __str__(self) -> str:
        return f"{self.filename}: cannot write it ({self.strerror})"


def _output_mode(path: Path) -> int:
    """The permission bits an output replacing ``path`` gets: those of the file there now (a private ``0600`` result
    stays private, as ``cp`` onto it and the shell's ``>`` keep it), else an ordinary new file's (``0666`` less the
    umask; ``mkstemp`` makes its temporary file ``0600``, and some writers replace it)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISREG(mode):
        return stat.S_IMODE(mode) & 0o777  # never a set-user-ID bit a new file did not have
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, protect: tuple[str | os.PathLike, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    Parameters
    ----------
    target
        The final output path. Its folder is created if missing. A symbolic link is written through: the file it
        points to is replaced (the temporary file is made beside that file), and the link stays
        (:func:`tsae.io.paths.written_file`).
    protect
        Paths the caller reads, which must never be overwritten: ``target`` is
        checked by :func:`tsae.io.paths.check_output` (also refusing a device node,
        a path under a file, or a link to a read file) before anything is written.

    Examples
    --------
    >>> with atomic_path(out_path) as tmp:   # doctest: +SKIP
    ...     soundfile.write(tmp, audio, sr, format="WAV")
    """
    target = Path(target)
    if target.parent in _IN_PLACE.get():
        with _in_place(target):
            yield target
        return
    check_output(target, protect)
    final = written_file(target)  # a link's file: the name the user gave stays in the messages
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    except OSError as error:  # name the output the user gave, not the hidden temporary file
        raise type(error)(error.errno, error.strerror or str(error), str(target)) from None
    tmp = Path(name)
    _hold(tmp, fd)
    deferred = _DEFERRED.get()
    try:
        try:
            yield tmp
        except OSError as error:
            if error.errno in _FULL:  # told as "[Errno 28] No space left on device", naming no file
                raise OutputFullError(target, error) from None
            raise
        os.chmod(tmp, _output_mode(final))
        if deferred is None or final.parent in _AT_ONCE.get():
            os.replace(tmp, final)
        else:
            deferred.append((tmp, final))  # all_or_nothing renames or removes it
    finally:
        if deferred is None or (tmp, final) not in deferred:
            if tmp.exists():
                tmp.unlink()
            _release(tmp)


@contextlib.contextmanager
def _in_place(target: Path) -> Iterator[None]:
    """``target`` written at its own path (:func:`written_in_place`): removed if the block fails.

    A file there already is removed first: a new file is written, not one cut to nothing and filled again (on ext4
    that forces its blocks to disk at once, a millisecond a device of a fleet)."""
    target.unlink(missing_ok=True)
    try:
        yield
    except OSError as error:
        target.unlink(missing_ok=True)
        if error.errno in _FULL:
            raise OutputFullError(target, error) from None
        raise
    except BaseException:
        target.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def written_in_place(folder: Path) -> Iterator[None]:
    """Inside the block, outputs of :func:`atomic_path` directly in ``folder`` (a path whose parent is ``folder`` as
    given) are written at their own path: not checked, no temporary file, no rename, not held back by
    :func:`all_or_nothing`; one whose writing fails is removed. For a command's private scratch folder (a fleet's
    per-device outputs, read back at once), where no input lies and nobody else reads: the command's own outputs
    elsewhere stay atomic."""
    token = _IN_PLACE.set((*_IN_PLACE.get(), folder))
    try:
        yield
    finally:
        _IN_PLACE.reset(token)


@contextlib.contextmanager
def written_at_once(folder: Path) -> Iterator[None]:
    """Inside the block, outputs of :func:`atomic_path` in ``folder`` are renamed into place as soon as each is
    written, even inside :func:`all_or_nothing`: a private folder whose file the block's owner reads before the
    outputs are committed (stdout's copy, :func:`tsae.io.unspool.unspooled`, sent before the files appear)."""
    token = _AT_ONCE.set((*_AT_ONCE.get(), folder))
    try:
        yield
    finally:
        _AT_ONCE.reset(token)


@contextlib.contextmanager
def all_or_nothing(*, keep_on: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Hold back the outputs of :func:`atomic_path` written inside until the block ends without error.

    Then every one is renamed into place; on an error (or Ctrl-C, SIGTERM under the CLI)
    none is, and their temporary files are removed. A block inside another one hands its
    outputs on to the outer block, which renames them with its own, or none of them.

    Parameters
    ----------
    keep_on
        Exceptions that end the block with its outputs complete, renamed into place before the
        exception goes on (the reader of stdout gone once the files were written: ``| head``).

    Examples
    --------
    >>> with all_or_nothing():                      # doctest: +SKIP
    ...     write_events(events_path, found)
    ...     write_table(scores_path, columns)       # fails: no events file either
    """
    outer = _DEFERRED.get()
    pending: list[tuple[Path, Path]] = []
    token = _DEFERRED.set(pending)
    try:
        try:
            yield
        except keep_on:
            _DEFERRED.reset(token)
            _commit(pending, outer)
            raise
        _DEFERRED.reset(token)
        _commit(pending, outer)
    finally:
        if _DEFERRED.get() is pending:
            _DEFERRED.reset(token)
        for tmp, _ in pending:  # not renamed: an error came first
            tmp.unlink(missing_ok=True)
            _release(tmp)


def _commit(pending: list[tuple[Path, Path]], outer: list[tuple[Path, Path]] | None) -> None:
    """Rename the ``pending`` outputs into place, or hand them on to the ``outer`` block; each leaves ``pending``."""
    if outer is not None:
        outer.extend(pending)
        pending.clear()
        return
    for tmp, target in list(pending):
        os.replace(tmp, target)
        pending.remove((tmp, target))
        _release(tmp)
