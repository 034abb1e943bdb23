"""Warnings tsae hides or records for a moment, on the calling thread alone, without leaving the caller's filters
changed.

``warnings.catch_warnings`` saves and restores the process's one filter list and its one way of showing a warning:
two threads inside such blocks at once restored each other's lists (a caller was left an ``ignore RuntimeWarning``
filter, or its warnings going to a finished block's record), and a block on one thread hid or recorded the
warnings of every other thread. tsae's blocks add filters of their own thread (a filter's message pattern may be
any object with a ``match`` method: this one matches on one thread only) at the front of the list and take out
just those; a thread's records are its own.
"""
from __future__ import annotations

import contextlib
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

_FILTERS = threading.Lock()  # held only while the filter list or the showing hook changes
_LOCAL = threading.local()  # .records: this thread's open records, innermost last
_recording = 0  # blocks recording now, on any thread: the showing hook is tsae's while there is one
_shown: Any = None  # the showing hook tsae's replaced (the last one)
_WARNINGS: Any = warnings  # its filter list and showing hook, as Python reads them (typeshed types them narrower)


class _OnThread:
    """A filter's message pattern that matches on the thread that made it only, until its block ends.

    Closed at the end, it matches nothing: a ``warnings.catch_warnings`` on another thread that copied the list
    during the block puts that copy back after it, this filter in it.
    """

    def __init__(self, message: str) -> None:
        self.thread = threading.get_ident()
        self.pattern = re.compile(message, re.IGNORECASE)
        self.open = True

    def match(self, text: str) -> bool:
        return self.open and threading.get_ident() == self.thread and self.pattern.match(text) is not None


def _filters_changed() -> None:
    """Tell Python the filter list changed, so that warnings it remembers as shown once or ignored are judged again.

    Python 3.14 renamed the hook (``_filters_mutated_lock_held``) and wants the warnings lock held around it.
    """
    mutated = getattr(_WARNINGS, "_filters_mutated", None)
    if mutated is not None:
        mutated()
        return
    _WARNINGS._acquire_lock()
    try:
        _WARNINGS._filters_mutated_lock_held()
    finally:
        _WARNINGS._release_lock()


@contextlib.contextmanager
def _added(entries: list[tuple[Any, ...]]) -> Iterator[None]:
    """``entries`` (filters) first in the process's list inside the block; those (only) taken out after it."""
    with _FILTERS:
        _WARNINGS.filters[:0] = entries
        _filters_changed()
    try:
        yield
    finally:
        for entry in entries:
            entry[1].open = False
        with _FILTERS:
            # the caller's own changes meanwhile, and other threads' blocks, stay
            _WARNINGS.filters[:] = [f for f in _WARNINGS.filters if not any(f is e for e in entries)]
            _filters_changed()


@contextlib.contextmanager
def ignored(category: type[Warning] = Warning, message: str = "") -> Iterator[None]:
    """Warnings of ``category`` (whose text starts with ``message``, a regular expression) that this thread raises
    in the block are not shown; other threads' are, as the caller's filters say."""
    with _added([("ignore", _OnThread(message), category, None, 0)]):
        yield


@contextlib.contextmanager
def recorded(always: type[Warning] = Warning,
             ignore: Sequence[tuple[type[Warning], str]] = ()) -> Iterator[list[warnings.WarningMessage]]:
    """The warnings this thread raises in the block, recorded in the list it gives and not shown.

    Those of category ``always`` are recorded every time they are raised (not once, as the caller's filters may
    say); ``ignore`` holds (category, module pattern) pairs not recorded at all. Other threads' warnings are shown
    as the caller's filters say, not recorded here. Not recorded either: a warning that a thread outside any block
    raised first, from the same code line, while the block was open, and that the caller's filters show once
    (``default``, ``module``, ``once``): Python notes it in the module's ``__warningregistry__``, which every
    thread reads before any filter.
    """
    record: list[warnings.WarningMessage] = []
    entries: list[tuple[Any, ...]] = [("ignore", _OnThread(""), category, re.compile(module), 0)
                                      for category, module in ignore]
    entries.append(("always", _OnThread(""), always, None, 0))
    with _added(entries), _showing_hook():
        records = _LOCAL.__dict__.setdefault("records", [])
        records.append(record)
        try:
            yield record
        finally:
            records.pop()


@contextlib.contextmanager
def _showing_hook() -> Iterator[None]:
    """Warnings shown go to their thread's innermost record, where it has one, inside the block."""
    global _recording, _shown
    with _FILTERS:
        if _recording == 0:
            _shown = _WARNINGS._showwarnmsg
            _WARNINGS._showwarnmsg = _show
        _recording += 1
    try:
        yield
    finally:
        with _FILTERS:
            _recording -= 1
            if _recording == 0:
                if _WARNINGS._showwarnmsg is _show:  # not replaced since
                    _WARNINGS._showwarnmsg = _shown


def _show(message: warnings.WarningMessage) -> None:
    records = getattr(_LOCAL, "records", None)
    if records:
        records[-1].append(message)
    else:  # also a thread that read the hook just before the last block ended: the hook it replaced, kept
        _shown(message)
