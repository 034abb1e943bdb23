"""Scoring a whole series through a scoring core a block of :data:`SCORE_BLOCK` samples at a time.

The core's working arrays (windows, errors per scale) stay bounded by the block, not by the series, and the
scores are the same whatever the blocks. :meth:`~tsae.pipelines.anomaly.detector.Detector.decision_function`,
the training rows' scores at fit and ``tsae detect score`` (a long table read as it is scored, a
:class:`RowReader`) all score so; the monitor pushes its records through a core in blocks of the same size.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsae.io.c_stderr import stderr_is_terminal
from tsae.pipelines.anomaly.drift import DriftingCore
from tsae.pipelines.anomaly.scoring import ScoringCore
from tsae.pipelines.anomaly.silent import SilentSensors, silent_starts

#: samples pushed through a scoring core at a time: the core's working arrays (windows, errors per scale)
#: stay bounded by it, not by the series; the scores are the same whatever the chunking
SCORE_BLOCK = 1 << 16


@dataclass
class RowReader:
    """A series of the detector's sensors too long to hold, read forward: ``n`` samples, ``read(a, b)`` the float64
    ``(sensors, b - a)`` samples ``[a, b)`` (absurd values missing already), asked for in order (a long table's,
    ``tsae detect score``; :meth:`~tsae.pipelines.anomaly.detector.Detector._score_each`)."""

    n: int
    read: Callable[[int, int], np.ndarray]


def shows_progress(quiet: bool, n: int) -> bool:
    """Whether scoring ``n`` samples shows its bar: not ``quiet``, longer than one block, on a terminal.

    Examples
    --------
    >>> shows_progress(True, 10 * SCORE_BLOCK)
    False
    """
    return not quiet and n > SCORE_BLOCK and stderr_is_terminal()


def score_blocks(core: ScoringCore | DriftingCore, X: np.ndarray | RowReader,
                 each: Callable[[np.ndarray, np.ndarray], None], progress: bool | Any = False,
                 silence: int | None = None, onset: Callable[[np.ndarray], None] | None = None,
                 ) -> list[tuple[int, int, int]]:
    """Score the whole series ``X`` (C, n) (or read so, :class:`RowReader`) through ``core``, :data:`SCORE_BLOCK`
    samples at a time: ``each`` is given the scores ``(m,)`` and contribution rows ``(m, C)`` of the samples each
    block made final, in order (the last call, the end of the data's, may be empty); the silent stretches are
    returned.

    With ``progress``, a bar on stderr counts the samples scored; a bar given (one that counts several series'
    samples, as a fleet's devices': :func:`~tsae.pipelines.progress.sample_bar`) counts them on it.

    With ``silence``, a sensor missing for that many samples in a row is scored as the monitor scores a silent
    sensor (:mod:`~tsae.pipelines.anomaly.silent`, hooked into ``core``): the scores equal the monitor's with the
    same ``silence``, and the stretches are ``(sensor, index, since_index)`` where one fell silent
    (:func:`~tsae.pipelines.anomaly.silent.silent_stretches`).

    With ``onset`` (a core built with ``early``), it is given each block's early error rows ``(n, C)``
    (:meth:`~tsae.pipelines.anomaly.scoring.ScoringCore.take_early`) before ``each`` is given the scores the block
    made final, as the monitor feeds its event tracker (:meth:`~tsae.pipelines.anomaly.events.EventTracker.push_onset`).
    """
    from tsae.pipelines.progress import sample_bar

    n = X.n if isinstance(X, RowReader) else X.shape[1]
    silent = SilentSensors(core, silence, early=onset is not None) if silence is not None else None
    stretches: list[tuple[int, int, int]] = []
    opened: Any = sample_bar(n, "score", progress, leave=False) if isinstance(progress, bool) else \
        contextlib.nullcontext(progress)  # a bar of the caller's: left open
    with opened as bar:
        for start in range(0, n, SCORE_BLOCK):
            stop = start + SCORE_BLOCK
            block = X.read(start, stop) if isinstance(X, RowReader) else X[:, start:stop]
            if silent is not None:  # a block's silent sensors before its samples are scored, as in the monitor
                stretches += silent_starts(silent.push(block))
            scored = core._push_rows(block.T)
            if onset is not None:
                onset(core.take_early())
            each(*scored)
            bar.update(min(SCORE_BLOCK, n - start))
    each(*core._flush_rows())
    return stretches


class JoinedBlocks:
    """The blocks of scores and contribution rows that :func:`score_blocks` gives, kept to be joined."""

    def __init__(self) -> None:
        self.scores: list[np.ndarray] = []
        self.contrib: list[np.ndarray] = []

    def __call__(self, scores: np.ndarray, contrib: np.ndarray) -> None:
        self.scores.append(scores)
        self.contrib.append(contrib)

    def joined(self) -> tuple[np.ndarray, np.ndarray]:
        """The scores ``(n,)`` and the contribution rows ``(n, C)`` of all the blocks."""
        return np.concatenate(self.scores), np.concatenate(self.contrib)


__all__ = ["SCORE_BLOCK", "JoinedBlocks", "RowReader", "score_blocks", "shows_progress"]
