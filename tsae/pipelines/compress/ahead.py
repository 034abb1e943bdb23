"""Run the network's half of coding blocks on a worker thread, a block ahead of the residual's half.

Coding a block is two halves (:mod:`.blocks`): the encoder and the float64 decoder
(torch: :func:`~.blocks.predict_block`), then costing the residual's codings with LZMA2
and writing the block (numpy and the coders: :func:`~.blocks.code_block`). Both release
the GIL for most of their time, so with a second core the next block's prediction is
decoded while this block's residual is costed. The worker runs torch on one thread, as the
decoder always has: its arithmetic, which the decompressor repeats bit for bit, is that
of the same calls on one thread, whichever thread makes them. Results come back in the
order their calls were put, so the blocks are written in order.
"""
from __future__ import annotations

import functools
import os
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from tsae.models.device import torch_threads

T = TypeVar("T")


def _on_one_thread(call: Callable[[], T]) -> T:
    with torch_threads(1):  # this thread's torch and numba settings (the caller's are its own)
        return call()


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Ahead(Generic[T]):
    """Calls run on one worker thread, at most ``depth`` of them ahead of the caller taking their results.

    ``depth`` 0 runs each call at once on the caller's thread (one usable core: a worker would
    only take turns with it).
    """

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self._pool: ThreadPoolExecutor | None = None
        self._queue: deque[tuple[Any, Future[T]]] = deque()

    def put(self, tag: Any, call: Callable[[], T]) -> list[tuple[Any, T]]:
        """Start ``call``; returns the ``(tag, result)`` pairs now more than ``depth`` calls behind, oldest first."""
        if self.depth <= 0:
            return [(tag, _on_one_thread(call))]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="tsae-compress")
            # a compressor dropped on an error leaves no thread waiting for work
            weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        self._queue.append((tag, self._pool.submit(_on_one_thread, call)))
        return [self._pop() for _ in range(len(self._queue) - self.depth)]

    def drain(self) -> list[tuple[Any, T]]:
        """The results of every call still out, oldest first."""
        return [self._pop() for _ in range(len(self._queue))]

    def map(self, call: Callable[[Any], T], items: Iterable[Any]) -> Iterator[tuple[Any, T]]:
        """``(item, call(item))`` in turn, the next item's call running while the caller takes this one's (for a
        caller with no other call out)."""
        if self._queue:
            raise RuntimeError("map with calls still out")
        for item in items:
            yield from self.put(item, functools.partial(call, item))
        yield from self.drain()

    def close(self) -> None:
        """Drop the calls not started, and let the worker end."""
        self._queue.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _pop(self) -> tuple[Any, T]:
        tag, future = self._queue.popleft()
        try:
            return tag, future.result()
        except BaseException:
            self.close()
            raise


__all__ = ["Ahead", "usable_cores"]
