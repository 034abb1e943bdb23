"""The scoring core's network calls on the CPU: each frame in a fixed place of a call of a fixed size.

A network's output for one frame depends, in its last bits, on how many frames share the call and where the frame
sits in it: the matrix products (MKL's, OpenBLAS's) round differently at other sizes and places. The monitor scores
a few frames at a time and batch scoring hundreds, so their scores differed in the last bits (one ulp is enough for a
score at the threshold to be flagged by one and not by the other). Here every call holds :data:`MODEL_SLOTS` frames,
and a frame is placed by its number in its stream (its start over the hop) modulo that: frame ``k`` is always
computed at place ``k % MODEL_SLOTS`` of a call of that size, whatever the frames around it (the places a push has
no frame for hold zeros; a frame's output does not depend on the other frames' values). So a frame's output is the
same bits in batch scoring, in the monitor fed one sample at a time, and in ``monitor --group-by``'s joined calls.

What it costs (CPU seconds per frame, conv1d of 4 sensors x 64, one thread): 25 us in calls of 32 frames against 25
in calls of 512; a monitor fed one sample at a time computes a whole call for each new frame (0.8 ms against 0.1).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tsae.models.inference import forward

#: frames per network call on the CPU (see the module notes): the fewest whose calls cost about what calls of
#: hundreds do (conv1d and LSTM detectors, 24 to 64 samples)
MODEL_SLOTS = 32


def slot_calls(numbers: np.ndarray, slots: int = MODEL_SLOTS) -> tuple[np.ndarray, np.ndarray, int]:
    """Where each frame of ``numbers`` goes: its call and its place in it (``number % slots``), and the calls.

    A call holds at most one frame of each place; frames of the same place go to successive calls, in order.

    Examples
    --------
    >>> call, place, calls = slot_calls(np.array([30, 31, 32, 33, 62]), 32)
    >>> call.tolist(), place.tolist(), calls
    ([0, 0, 0, 0, 1], [30, 31, 0, 1, 30], 2)
    """
    place = np.asarray(numbers, np.int64) % slots
    order = np.argsort(place, kind="stable")
    ranked = place[order]
    call = np.empty(len(place), np.int64)
    call[order] = np.arange(len(place)) - np.searchsorted(ranked, ranked)  # the frames of its place before it
    return call, place, int(call.max()) + 1 if len(place) else 0


def slotted_forward(model: Any, inputs: np.ndarray, numbers: np.ndarray, *, device: Any = None, dtype: Any = None,
                    slots: int = MODEL_SLOTS) -> np.ndarray:
    """The network's reconstruction of frames ``inputs`` ``(F, C, L)``, numbered ``numbers`` ``(F,)`` in their
    stream, each computed at place ``number % slots`` of a call of ``slots`` frames (see the module notes)."""
    call, place, calls = slot_calls(numbers, slots)
    batch = np.zeros((calls, slots, *inputs.shape[1:]), inputs.dtype)
    batch[call, place] = inputs
    out = forward(model, batch.reshape(calls * slots, *inputs.shape[1:]), batch_size=slots, device=device,
                  dtype=dtype)
    return out.reshape(calls, slots, *out.shape[1:])[call, place]


__all__ = ["MODEL_SLOTS", "slot_calls", "slotted_forward"]
