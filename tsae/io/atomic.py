"""Write outputs atomically: to a temporary file beside the target, then rename.

A crash, a Ctrl-C or an error never leaves a partial output, and an input is never
overwritten by accident.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from tsae.io.paths import check_output


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
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes the file 0600 (and some writers replace it): give the output the
        # permissions an ordinary new file gets
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
