"""Write outputs atomically: to a temporary file beside the target, then rename.

A crash, a Ctrl-C or an error never leaves a partial output, and an input is never
overwritten by accident. Inside :func:`all_or_nothing` the renames wait for the end of
the block, so the several outputs of one command appear together or not at all.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from tsae.io.paths import check_output

#: (temporary, target) pairs written inside the innermost :func:`all_or_nothing` block
_DEFERRED: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("tsae_atomic_deferred", default=None)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, protect: tuple[str | os.PathLike, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    Parameters
    ----------
    target
        The final output path. Its folder is created if missing.
    protect
        Paths the caller reads, which must never be overwritten: ``target`` is
        checked by :func:`tsae.io.paths.check_output` (also refusing a device node
        or a path under a file) before anything is written.

    Examples
    --------
    >>> with atomic_path(out_path) as tmp:   # doctest: +SKIP
    ...     soundfile.write(tmp, audio, sr, format="WAV")
    """
    target = Path(target)
    check_output(target, protect)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as error:  # name the output the user gave, not the hidden temporary file
        raise type(error)(error.errno, error.strerror or str(error), str(target)) from None
    os.close(fd)
    tmp = Path(name)
    deferred = _DEFERRED.get()
    try:
        yield tmp
        # mkstemp makes the file 0600 (and some writers replace it): give the output the
        # permissions an ordinary new file gets
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if deferred is None:
            os.replace(tmp, target)
        else:
            deferred.append((tmp, target))  # all_or_nothing renames or removes it
    finally:
        if (deferred is None or (tmp, target) not in deferred) and tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Hold back the outputs of :func:`atomic_path` written inside until the block ends without error.

    Then every one is renamed into place; on an error (or Ctrl-C, SIGTERM under the CLI)
    none is, and their temporary files are removed.

    Examples
    --------
    >>> with all_or_nothing():                      # doctest: +SKIP
    ...     write_events(events_path, found)
    ...     write_table(scores_path, columns)       # fails: no events file either
    """
    pending: list[tuple[Path, Path]] = []
    token = _DEFERRED.set(pending)
    try:
        yield
        _DEFERRED.reset(token)
        for tmp, target in list(pending):
            os.replace(tmp, target)
            pending.remove((tmp, target))
    finally:
        if _DEFERRED.get() is pending:
            _DEFERRED.reset(token)
        for tmp, _ in pending:  # not renamed: an error came first
            tmp.unlink(missing_ok=True)
