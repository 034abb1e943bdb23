"""The garbage collector's settings for a ``tsae`` command: a process that starts, does one job and ends.

Two costs of the cyclic collector fall on every command, whatever its input (a 1000-row
``tsae compress`` measured 1.1 s of CPU with the defaults, 0.7 s with these settings; the
output is the same):

- while the command imports numpy, numba and torch and numba loads its CPU target, hundreds
  of thousands of long-lived objects are made, and the default first-generation threshold
  (700) runs a collection every 700 of them, each also walking older generations now and
  then. A higher threshold (:data:`YOUNG_THRESHOLD`) makes these collections rare; cyclic
  garbage is still collected, later (a few MB at most);
- when the interpreter ends, its final collections walk every object left (several tenths
  of a second with numba loaded) only to free memory the process is about to give back.
  :func:`gc.freeze` at exit, after the other exit handlers, moves them out of the
  collector's sight. Objects are still freed by reference counting; a file must therefore
  not rely on a collection at exit to be flushed (tsae's outputs are written, flushed and
  renamed before a command returns; stdout is flushed by ``flush_stdout_at_exit``).
"""
from __future__ import annotations

import atexit
import gc

#: first-generation threshold of a command's process (Python's default is 700)
YOUNG_THRESHOLD = 50_000

_done: list[bool] = []


def tune_for_command() -> None:
    """Apply the settings above to this process (once; a later call changes nothing).

    For the ``tsae`` command's own process (:func:`tsae.cli.main`), not for a library user's.
    """
    if _done:
        return
    _done.append(True)
    young, *older = gc.get_threshold()
    if 0 < young < YOUNG_THRESHOLD:  # 0: collection turned off by the embedding process; keep it so
        gc.set_threshold(YOUNG_THRESHOLD, *older)
    atexit.register(gc.freeze)  # registered first, so run last: after every exit handler registered later
