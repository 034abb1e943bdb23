"""The progress bar of a long series job: samples per channel done, on stderr (tqdm, imported when used)."""
from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: seconds a table read runs before its row counter shows: a quick read shows none
READ_BAR_DELAY = 1.0
#: seconds between two redraws of a bar that :func:`ticking` keeps moving
TICK_SECONDS = 0.5


def sample_bar(total: int | None, desc: str, show: bool, *, leave: bool = True) -> Any:
    """A tqdm bar counting samples (``bar.update(m)``), shown only with ``show``; ``total`` None: a counter.

    Examples
    --------
    >>> with sample_bar(10, "score", False) as bar:
    ...     bar.update(10)
    """
    if not show:
        return QuietBar(total)
    return _failing_bar()(total=total, unit="sample", unit_scale=True, desc=desc, leave=leave)


class QuietBar:
    """The bar of a job shown no progress (``-q``, not a terminal): counts nothing, draws nothing, and needs no
    tqdm (whose import, ~30 ms, is most of what a small job's bar costs). Like a disabled tqdm bar, ``disable`` is
    True (:func:`ticking` leaves it alone)."""

    disable = True

    def __init__(self, total: int | None = None) -> None:
        self.total, self.n = total, 0

    def update(self, n: float = 1) -> None:
        """Count nothing (a disabled tqdm bar counts nothing either)."""

    def refresh(self) -> None:
        """Draw nothing."""

    def close(self) -> None:
        """Nothing to remove."""

    def __enter__(self) -> QuietBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@functools.cache
def _failing_bar() -> type:
    """tqdm's bar, removed when the job within it fails: its error line then stands alone, not under a bar
    stopped at 0% (tqdm imported when first used)."""
    from tqdm import tqdm

    class SampleBar(tqdm):
        def __exit__(self, kind: Any, value: Any, traceback: Any) -> Any:
            if kind is not None:
                self.leave = False
            return super().__exit__(kind, value, traceback)

    return SampleBar


@contextlib.contextmanager
def read_bar(path: str | os.PathLike, show: bool) -> Iterator[None]:
    """With ``show``, a counter on stderr of the rows that the table reads within it read (a table read whole, a
    block reader's first pass: :func:`~tsae.io.tables.rows_read_told`), shown once they have taken
    :data:`READ_BAR_DELAY` seconds and removed when they end."""
    if not show:
        yield
        return
    from tqdm import tqdm

    from tsae.io.tables import rows_read_told

    with tqdm(total=None, unit="row", unit_scale=True, desc=f"read {Path(path).name}", leave=False,
              delay=READ_BAR_DELAY) as bar, rows_read_told(bar.update):
        yield


@contextlib.contextmanager
def copy_bar(name: str, show: bool) -> Iterator[Callable[[int], None] | None]:
    """With ``show``, a counter on stderr of the bytes of the stream ``name`` (``stdin``) copied before it is read as
    a table (:func:`tsae.io.spool.spooled`; a stream slow to end shows it has not stalled), shown once the copy has
    taken :data:`READ_BAR_DELAY` seconds and removed when it ends; yields its ``advance`` (None without ``show``)."""
    if not show:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=None, unit="B", unit_scale=True, unit_divisor=1024, desc=f"read {name}", leave=False,
              delay=READ_BAR_DELAY) as bar:
        yield bar.update


class SizedBar:
    """A :func:`sample_bar` opened when the job's size is known (:meth:`size`), for a job over ``least`` samples:
    a short one, which is quick, shows none. Before and without it, :meth:`update` counts nothing.

    Examples
    --------
    >>> with SizedBar("reconstruct", False, least=100) as bar:
    ...     bar.size(1000)
    ...     bar.update(1000)
    """

    def __init__(self, desc: str, show: bool, *, least: int = 0) -> None:
        self.desc, self.show, self.least = desc, show, least
        self.bar: Any = None

    def size(self, total: int) -> None:
        """Open the bar for ``total`` samples (once; when shown and ``total`` is over ``least``)."""
        if self.bar is None and self.show and total > self.least:
            self.bar = sample_bar(total, self.desc, True)

    def update(self, done: int) -> None:
        """Count ``done`` more samples."""
        if self.bar is not None:
            self.bar.update(done)

    def __enter__(self) -> SizedBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def ticking(bar: Any, every: float = TICK_SECONDS) -> Iterator[Any]:
    """Within it, ``bar`` (a tqdm bar) redrawn every ``every`` seconds by a background thread, so that its elapsed
    time moves on while a long step tells it nothing (a model learning, a series predicted whole): the job does not
    look hung. A disabled bar is left alone. Yields ``bar``."""
    if getattr(bar, "disable", True):
        yield bar
        return
    import threading

    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every):
            bar.refresh()

    thread = threading.Thread(target=tick, name="tsae-bar-tick", daemon=True)
    thread.start()
    try:
        yield bar
    finally:
        stop.set()
        thread.join()


def check_advance(advance: Any) -> Callable[[int], None] | None:
    """``advance`` if it is None or callable, else a TypeError naming it (before any work: an int was called, and
    failed, only after the first batch had run).

    Examples
    --------
    >>> check_advance(5)
    Traceback (most recent call last):
    ...
    TypeError: advance must be a function told the samples done (a progress bar's update) or None, got int
    """
    if advance is not None and not callable(advance):
        raise TypeError(f"advance must be a function told the samples done (a progress bar's update) or None, got "
                        f"{type(advance).__name__}")
    return advance


def in_shares(advance: Callable[[int], None], of: int, total: int) -> Callable[[int], None]:
    """``advance`` told ``total``'s share of each count of ``of`` things done (windows as samples), whole numbers
    that add up to ``total`` when all ``of`` are done."""
    counts = {"things": 0, "told": 0}

    def step(done: int) -> None:
        counts["things"] += done
        now = total * counts["things"] // of if of else total
        advance(now - counts["told"])
        counts["told"] = now

    return step


__all__ = ["sample_bar", "read_bar", "SizedBar", "check_advance", "in_shares", "ticking"]
