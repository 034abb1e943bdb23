"""Interrupts raised by the command line's signal handlers, counted, so that one lost inside numpy can be raised again.

numpy's cast of strings to float64 runs the Python signal handlers in its loop and can drop the
``KeyboardInterrupt`` a handler raised there: a Ctrl-C that landed while a table's cells were
converted was lost, and the command went on to write all of its outputs and exit 0 (seen with numpy
2.4 on ``tsae detect score``). Code that calls such a cast compares :func:`count` before and after it
(:func:`raise_lost`). Stdlib only.
"""
from __future__ import annotations

_count = 0
_last: type[BaseException] = KeyboardInterrupt


def noted(kind: type[BaseException]) -> BaseException:
    """An exception of ``kind`` for a signal handler to raise, counted (:func:`count`)."""
    global _count, _last
    _count += 1
    _last = kind
    return kind()


def count() -> int:
    """How many interrupts the handlers have raised in this process."""
    return _count


def raise_lost(before: int) -> None:
    """Raise the last interrupt again when one was raised since :func:`count` was ``before`` yet the code went on
    (a callee dropped it)."""
    if _count != before:
        raise _last()


__all__ = ["count", "noted", "raise_lost"]
