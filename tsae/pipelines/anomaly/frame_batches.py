"""Many monitors' pushes run side by side, the frames they wait on scored in one call.

Each device of ``tsae monitor --group-by`` has its own monitor, and a block of lines gives each device a few
samples: scored one device at a time, every device's few frames made a network call (and a call of each term) of
their own, and 50 devices ran at a sixth of one device's samples a second. A push run in steps
(:data:`~tsae.pipelines.anomaly.scoring.FrameSteps`) stops where it needs its frames' errors; :func:`run_together`
runs the pushes of every device up to that point, joins their frames, scores them in one call per window scale
(:func:`~tsae.pipelines.anomaly.scoring.score_frames`) and hands each push its own errors back. The scores equal
one device's at a time, to the last bit on the CPU (each frame is computed in its own place of the network's calls,
:mod:`~tsae.pipelines.anomaly.model_slots`).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from tsae.pipelines.anomaly.scoring import FrameBlock, FrameErrors, FrameSteps, run_steps, score_frames

T = TypeVar("T")

#: frame values (float64) scored in one call across the pushes, at most (a push's part can add up to its scorers'
#: ``group`` frames beyond): the working arrays stay bounded however many devices wait
BATCH_VALUES = 1 << 21


def run_together(pushes: Sequence[FrameSteps[T]], scales: Sequence[Any]) -> list[T]:
    """Run ``pushes`` (in steps, each its own monitor's) to their ends; their results, in order.

    Parameters
    ----------
    pushes
        Pushes in steps of monitors of one detector (whose window scales score alike).
    scales
        The window scales (:class:`~tsae.pipelines.anomaly.scoring.ScoringCore` ``scales``) that score the joined
        frames: any of the monitors' (they share their terms and networks).

    Returns
    -------
    list
        Each push's result (its records).
    """
    if len(pushes) == 1:  # nothing to join: no queue, no joins and splits of the frames (one device in a block)
        return [run_steps(pushes[0], scales)]
    results: list[Any] = [None] * len(pushes)
    waiting: deque[tuple[int, list[FrameBlock]]] = deque()
    size = 0  # frame values waiting

    def advance(index: int, errors: list[FrameErrors] | None) -> None:
        nonlocal size
        try:
            frames = pushes[index].send(errors)  # type: ignore[arg-type]  # None starts it
        except StopIteration as stop:
            results[index] = stop.value
            return
        waiting.append((index, frames))
        size += sum(part.size for part in frames)

    unstarted = iter(range(len(pushes)))
    started = 0
    while started < len(pushes) or waiting:
        while started < len(pushes) and size < BATCH_VALUES:  # start pushes while the frames waiting are few
            advance(next(unstarted), None)
            started += 1
        if not waiting:
            continue
        batch: list[tuple[int, list[FrameBlock]]] = []
        taken = 0
        while waiting and (not batch or taken < BATCH_VALUES):
            index, frames = waiting.popleft()
            batch.append((index, frames))
            taken += sum(part.size for part in frames)
        size -= taken
        joined = [FrameBlock.join([frames[s] for _, frames in batch]) for s in range(len(scales))]
        errors = score_frames(scales, joined)
        cuts = [np.cumsum([len(frames[s]) for _, frames in batch])[:-1] for s in range(len(scales))]
        split = [errors[s].split(cuts[s]) for s in range(len(scales))]
        for k, (index, _) in enumerate(batch):
            advance(index, [split[s][k] for s in range(len(scales))])
    return results


__all__ = ["BATCH_VALUES", "run_together"]
