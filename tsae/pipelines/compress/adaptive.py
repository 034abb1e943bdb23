"""The adaptive coder: signed integer arrays through a context-adaptive binary range coder.

Residuals are small integers, roughly Laplacian, whose spread drifts (a loud and a quiet
stretch of speech, a sensor's regimes). Each value ``v`` (after zig-zag, ``u``) is
binarised as its magnitude's bit length ``k`` (0 for zero, at most 64), coded as 7
binary decisions down a tree of adaptive probabilities; the magnitude's two bits below
its leading one, each with an adaptive probability chosen by ``k`` (and the first bit);
its remaining low bits at probability 1/2; and, when ``v != 0``, its sign, with an
adaptive probability chosen by the previous value's sign. The bit length's tree is
chosen by a context: the running mean of the previous values' bit lengths (in whole-bit
steps: ``RESOLUTION`` 0), so that loud and quiet stretches keep their own statistics.

An array of few distinct values (a sensor that reports a handful of levels, coarser
than the grid) is coded in the *alphabet* form when that is smaller: the sorted distinct
values (their count - 1, the first zig-zagged, then each gap - 1, as values above),
then each value's rank among them down a binary tree whose probabilities are chosen by
the previous rank.

Every probability starts at 1/2 for each array; it is the mean of a fast and a slow
estimate, each the running frequency of the bits seen while there are few, then moved
toward every coded bit by ``1 / 2^shift`` of the distance. Integer arithmetic only.

Stored bytes of one array: empty for no values; else a form byte (0 values, 1 alphabet) and the range
coder's output (the LZMA range coder, its first byte, always 0, left out). Decoding
checks that the stream ends exactly where its last value does and that the coder's
arithmetic closes (a corrupt or truncated section almost never does), and does bounded
work: at most 71 binary decisions per value.
"""
from __future__ import annotations

import numpy as np

from tsae.pipelines.compress import _rangecoder

#: adaptation shifts of the fast and the slow probability estimates
FAST_SHIFT = 4
SLOW_SHIFT = 7
#: adaptation shift of the running mean of bit lengths that selects the context
MEAN_SHIFT = 3
#: contexts per bit of that mean, as a shift (1: half bits)
RESOLUTION = 0
#: arrays of at most this many distinct values are coded in the alphabet form too (the smaller form is kept)
ALPHABET_TRY = _rangecoder.ALPHABET_MAX
_VALUES, _ALPHABET = 0, 1
#: the form bytes this module writes (:mod:`.entropy` adds others)
FORMS = (_VALUES, _ALPHABET)


def _params() -> tuple[int, int, int, int]:
    return FAST_SHIFT, SLOW_SHIFT, MEAN_SHIFT, RESOLUTION


def _alphabet(u: np.ndarray) -> bytes | None:
    """The alphabet form of ``u``, or ``None`` when it has too many distinct values, or they are (nearly) a run of
    consecutive integers, which the bit length form codes as well (on pump and SKAB residuals, the alphabet form
    of at most 16 consecutive values saved nothing and cost a fifth of the coding time)."""
    values = (u >> np.uint64(1)).view(np.int64) ^ -(u & np.uint64(1)).view(np.int64)  # the signed values
    table = np.sort(_rangecoder.distinct(values, ALPHABET_TRY))
    if not table.size or int(table[-1]) - int(table[0]) + 1 <= 2 * table.size:
        return None
    ranks = np.searchsorted(table, values)
    head = np.empty(table.size + 1, np.uint64)
    head[0] = table.size - 1
    head[1] = ((table[:1] << 1) ^ (table[:1] >> 63)).view(np.uint64)[0]
    head[2:] = np.diff(table.view(np.uint64)) - np.uint64(1)
    return bytes([_ALPHABET]) + _rangecoder.encode_alphabet(head, ranks.astype(np.int64), *_params()).tobytes()


def encode(u: np.ndarray) -> bytes:
    """The coded bytes of the zig-zagged values ``u`` (uint64)."""
    u = np.ascontiguousarray(u, dtype=np.uint64)
    if not u.size:
        return b""
    coded = encode_values(u)
    alphabet = _alphabet(u)
    return alphabet if alphabet is not None and len(alphabet) < len(coded) else coded


def encode_values(u: np.ndarray) -> bytes:
    """The values form of the zig-zagged values ``u`` (uint64, not empty): :func:`encode`'s bytes when
    :func:`measure` found that form the smaller (it gives no bytes then), without trying the alphabet form again."""
    return bytes([_VALUES]) + _rangecoder.encode(np.ascontiguousarray(u, dtype=np.uint64), *_params()).tobytes()


def measure(u: np.ndarray) -> tuple[int, bytes | None]:
    """``(len(encode(u)), encode(u) or None)``: the length found exactly without range coding the values form, and
    the bytes when the alphabet form, which is coded to be measured, is the smaller."""
    u = np.ascontiguousarray(u, dtype=np.uint64)
    if not u.size:
        return 0, b""
    size = 1 + int(_rangecoder.encoded_size(u, *_params()))
    alphabet = _alphabet(u)
    if alphabet is not None and len(alphabet) < size:
        return len(alphabet), alphabet
    return size, None


def decode(data: bytes, count: int) -> np.ndarray:
    """``count`` zig-zagged values (uint64) from ``data`` (:func:`encode`'s); ``ValueError`` when it is not such a
    stream."""
    out = np.empty(count, np.uint64)
    if not count:
        if data:
            raise ValueError(f"coded data holds {len(data)} bytes for no values")
        return out
    if not data or data[0] not in (_VALUES, _ALPHABET):
        raise ValueError("corrupt adaptively coded data (unknown form)")
    body = np.frombuffer(data, dtype=np.uint8, offset=1)
    if data[0] == _VALUES:
        if not _rangecoder.decode(body, out, *_params()):
            raise ValueError(f"corrupt adaptively coded data ({len(data)} bytes do not hold {count} values)")
        return out
    head = np.zeros(_rangecoder.ALPHABET_MAX + 1, np.uint64)
    ranks = np.empty(count, np.int64)
    letters = _rangecoder.decode_alphabet(body, head, ranks, *_params())
    if not letters:
        raise ValueError(f"corrupt adaptively coded data ({len(data)} bytes do not hold {count} values)")
    first = np.array([head[1]], np.uint64)
    table = np.empty(letters, np.uint64)
    table[0] = (first >> np.uint64(1) ^ (np.uint64(0) - (first & np.uint64(1))))[0]
    table[1:] = head[2:letters + 1] + np.uint64(1)
    table = np.cumsum(table, dtype=np.uint64).view(np.int64)
    return ((table << 1) ^ (table >> 63)).view(np.uint64)[ranks]


__all__ = ["encode", "encode_values", "measure", "decode", "FORMS"]
