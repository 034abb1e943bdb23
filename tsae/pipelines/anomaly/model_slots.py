"""The scoring core's network calls on the CPU: each frame in a fixed place of a call of a fixed size.

A network's output for one frame depends, in its last bits, on how many frames share the call and where the frame
sits in it: the matrix products (MKL's, OpenBLAS's) round differently at other sizes and places. The monitor scores
a few frames at a time and batch scoring hundreds, so their scores differed in the last bits (one ulp is enough for a
score at the threshold to be flagged by one and not by the other). Here every call holds :data:`MODEL_SLOTS` frames,
and a frame is placed by its number in its stream (its start over the hop, plus the stream's shift,
:func:`stream_shift`) modulo that: frame ``k`` is always computed at place ``k % MODEL_SLOTS`` of a call of that
size, whatever the frames around it (the places a push has no frame for hold zeros; a frame's output does not
depend on the other frames' values). So a frame's output is the
same bits in batch scoring, in the monitor fed one sample at a time, and in ``monitor --group-by``'s joined calls.

What it costs (CPU time, one thread): per frame of a conv1d of 4 sensors x 64 samples, 28 us in calls of 16 frames
against 25 in calls of 64 to 512, 184 us against 119 for an LSTM; ``tsae detect score`` of 200,000 rows of the
pump sample took +2% (conv1d) and +9% (LSTM) of CPU. A monitor fed a few samples at a time computes a whole call
for each new frame (16 x 28 us against 108 us for a call of one frame): its CPU time per sample on the pump sample's
detectors rose 1.3x (conv1d, pushes of 1 and 7 samples) and 1.7x to 2.2x (LSTM), none at pushes of 97. Calls of 32
frames cost batch nothing and the monitor more (LSTM 2-3x).
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from tsae.models.inference import forward

#: frames per network call on the CPU (see the module notes): batch scoring's calls cost a little more than calls of
#: hundreds (+2 to +10% of its CPU time), the monitor's of a new frame or two far less than calls of 32 or more
MODEL_SLOTS = 16


def stream_shift(first: np.ndarray, slots: int = MODEL_SLOTS) -> int:
    """What a stream adds to its frames' numbers before they are placed: a number in ``[0, slots)`` drawn from the
    bits of its first (normalised) sample ``first``.

    Batch scoring and the monitor see the same first sample, so they place each frame alike; the devices of
    ``monitor --group-by`` that start together (whose frames have the same numbers) spread over the places, and
    their frames still share calls.
    """
    digest = hashlib.blake2b(np.ascontiguousarray(first, np.float64).tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % slots


def slot_calls(numbers: np.ndarray, slots: int = MODEL_SLOTS) -> tuple[np.ndarray, np.ndarray, int]:
    """Where each frame of ``numbers`` goes: its call and its place in it (``number % slots``), and the calls.

    A call holds at most one frame of each place; frames of the same place go to successive calls, in order.

    Examples
    --------
    >>> call, place, calls = slot_calls(np.array([14, 15, 16, 17, 30]), 16)
    >>> call.tolist(), place.tolist(), calls
    ([0, 0, 0, 0, 1], [14, 15, 0, 1, 14], 2)
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


__all__ = ["MODEL_SLOTS", "slot_calls", "slotted_forward", "stream_shift"]
