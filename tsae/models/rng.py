"""Python's, numpy's and torch's global random generators, used by tsae and given back as the caller left them.

Blocks that seed or draw from them (:func:`kept`) on several threads take turns: one restoring the generators
while another draws from them (a rebuild beside a fit's training) changed the other's draws. A long block (a
fit) lets a waiting thread's short block (a load's rebuild) run between its training steps (:func:`let_others`),
its own generators put aside meanwhile and put back after: loading a model beside a minutes-long fit waits for
one training step, not for the fit, and the fit draws what it draws alone. Long blocks still run one at a time:
a fit sets other process-wide state for its whole length (torch's deterministic algorithms, its default dtype).
"""
from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

_TURNS: Any = threading.RLock()  # Any: its _release_save/_acquire_restore (threading.Condition's) are untyped
_LONG = threading.RLock()  # held by a long block for all its length: long blocks take turns whole
_QUEUE = threading.Condition(threading.Lock())  # guards the counts below; told when a waiting block enters
_LOCAL = threading.local()  # .depth: this thread's open blocks; .long: its outermost is a long one
_waiting = 0  # threads waiting to enter a block
_entered = 0  # blocks entered after waiting, ever: a block letting others run waits for it to move
_aside = 0  # blocks that let others run now (their generators put aside)
_outside: _States | None = None  # the generators as the caller left them, before the first open block


@dataclass
class _States:
    """The generators' states at one moment (CUDA's where CUDA is started)."""

    python: Any
    numpy: Any
    torch: Any
    cuda: list[Any]

    @classmethod
    def now(cls) -> _States:
        import torch

        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
        return cls(random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda)  # noqa: NPY002

    def restore(self) -> None:
        import torch

        random.setstate(self.python)
        np.random.set_state(self.numpy)  # noqa: NPY002
        torch.set_rng_state(self.torch)
        if self.cuda:
            torch.cuda.set_rng_state_all(self.cuda)


@contextlib.contextmanager
def kept(long: bool = False) -> Iterator[None]:
    """Seed or draw from ``random``, ``np.random`` and torch's generators inside the block; after it, they are as
    they were before (CUDA's too, where CUDA was started before the block).

    Blocks on several threads take turns (a block's own thread may open another inside it). A ``long`` block (a
    fit) that no other block holds open on its thread lets short ones run at its :func:`let_others`.
    """
    depth = getattr(_LOCAL, "depth", 0)
    with _LONG if long and depth == 0 else contextlib.nullcontext():
        if long and depth == 0:
            _LOCAL.long = True
        try:
            with _turn(depth):
                yield
        finally:
            if long and depth == 0:
                _LOCAL.long = False


@contextlib.contextmanager
def _turn(depth: int) -> Iterator[None]:
    global _outside
    _enter()
    try:
        before = _States.now()
        if depth == 0 and _aside == 0:  # the generators are the caller's, not those of a block put aside
            _outside = before
        _LOCAL.depth = depth + 1
        try:
            yield
        finally:
            _LOCAL.depth = depth
            # a first block gives back the caller's generators: those it found were another block's, put aside
            (before if depth or _outside is None else _outside).restore()
    finally:
        _TURNS.release()


def let_others() -> None:
    """Between two steps of a long :func:`kept` block: where another thread waits to open a block, let its block
    run now (this block's generators put aside, and back after)."""
    global _aside
    if not _waiting or not getattr(_LOCAL, "long", False):
        return
    mine = _States.now()
    with _QUEUE:
        seen = _entered
        _aside += 1
    held = _TURNS._release_save()
    try:
        with _QUEUE:  # the waiting thread has the turn before this one takes it back
            _QUEUE.wait_for(lambda: _entered != seen or not _waiting)
    finally:
        _TURNS._acquire_restore(held)
        with _QUEUE:
            _aside -= 1
        mine.restore()


def _enter() -> None:
    global _waiting, _entered
    if _TURNS.acquire(blocking=False):
        return
    with _QUEUE:
        _waiting += 1
    try:
        _TURNS.acquire()
    finally:
        with _QUEUE:
            _waiting -= 1
            _entered += 1
            _QUEUE.notify_all()
