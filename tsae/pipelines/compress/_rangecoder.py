"""Numba kernels of the adaptive binary range coder (see :mod:`.adaptive` for the model and the format).

Integer arithmetic only (int64 and uint64), so the encoder and the decoder take the
same decisions on every machine. The arithmetic coder is LZMA's (32-bit range, a carry
propagated through a cached byte, the first output byte, always 0, left out); each
probability is the mean of a fast and a slow shift-adapted estimate.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from tsae.engine import _numba_cache

_numba_cache.install()  # before the decorators: numba picks the kernels' cache folder there

_PROB_BITS = 15
_HALF = 1 << (_PROB_BITS - 1)
_ONE = 1 << _PROB_BITS
_TOP = 1 << 24
_MASK32 = (1 << 32) - 1
#: contexts by the running mean of the bit length; tree nodes of the bit length (0..64 in 7 bits)
_CONTEXTS = 48
_TREE = 128
#: fractional bits of the running mean of bit lengths
_MEAN_BITS = 4
#: the probability estimates' bounds (a certain bit costs at least 0.0007 bits, an impossible one at most 11)
_LOWEST = 16
#: bits after which an estimate adapts at its fixed rate (1/(n + 2) is below 1/2^8 then)
_WARM_MAX = 255
#: ``2^16 // (n + 2)`` for n = 0 .. _WARM_MAX: the warm-up rate, looked up (an integer division per coded bit took
#: a fifth of the coder's time)
_WARM_RATE = (1 << 16) // (np.arange(_WARM_MAX + 1, dtype=np.int64) + 2)


@njit(cache=True, inline="always")
def _bit_length(m):  # pragma: no cover - compiled
    k = 0
    if m >> np.uint64(32):
        m >>= np.uint64(32)
        k += 32
    if m >> np.uint64(16):
        m >>= np.uint64(16)
        k += 16
    if m >> np.uint64(8):
        m >>= np.uint64(8)
        k += 8
    while m:
        m >>= np.uint64(1)
        k += 1
    return k


@njit(cache=True, inline="always")
def _context(mean, resolution):  # pragma: no cover - compiled
    ctx = mean >> (_MEAN_BITS - resolution)
    return ctx if ctx < _CONTEXTS else _CONTEXTS - 1


@njit(cache=True, inline="always")
def _put(out, pos, byte):  # pragma: no cover - compiled
    if pos >= out.shape[0]:
        grown = np.empty(out.shape[0] * 2 + 64, np.uint8)
        grown[:out.shape[0]] = out
        out = grown
    out[pos] = byte
    return out


# The encoder's state is a tuple of int64 (low, range, cache, cache size, bytes written) passed through and
# returned, not an array: numba keeps it in registers (in an array, every store to the probabilities reloaded it).


@njit(cache=True)
def _shift_low(coder, out):  # pragma: no cover - compiled
    low, span, cache, pending, written = coder
    if low < 0xFF000000 or low > _MASK32:
        carry = low >> 32
        temp = cache
        while True:
            out = _put(out, written, (temp + carry) & 0xFF)
            written += 1
            temp = 0xFF
            pending -= 1
            if pending == 0:
                break
        cache = (low >> 24) & 0xFF
    return ((low & 0x00FFFFFF) << 8, span, cache, pending + 1, written), out


@njit(cache=True, inline="always")
def _probability(slots, i):  # pragma: no cover - compiled
    """The probability (of a 0, in 1/2^15) of slot ``i``: the mean of its fast and slow estimates."""
    return (slots[i, 0] + slots[i, 1]) >> 1


@njit(cache=True, inline="always")
def _adapt(slots, i, bit, fast_shift, slow_shift):  # pragma: no cover - compiled
    """Move slot ``i``'s estimates toward ``bit``: by 1/(n + 2) after n bits (a running frequency) until that is
    below 1/2^shift, then by 1/2^shift; kept within [_LOWEST, _ONE - _LOWEST]."""
    n = slots[i, 2]
    warm = _WARM_RATE[n]
    target = 0 if bit else _ONE
    rate = max(warm, 1 << (16 - fast_shift))
    p = slots[i, 0] + (((target - slots[i, 0]) * rate) >> 16)
    slots[i, 0] = min(max(p, _LOWEST), _ONE - _LOWEST)
    rate = max(warm, 1 << (16 - slow_shift))
    p = slots[i, 1] + (((target - slots[i, 1]) * rate) >> 16)
    slots[i, 1] = min(max(p, _LOWEST), _ONE - _LOWEST)
    if n < _WARM_MAX:
        slots[i, 2] = n + 1


@njit(cache=True)
def _new_slots(count):  # pragma: no cover - compiled
    slots = np.zeros((count, 3), np.int64)
    slots[:, 0] = _HALF
    slots[:, 1] = _HALF
    return slots


@njit(cache=True, inline="always")
def _normalise(coder, out):  # pragma: no cover - compiled
    while coder[1] < _TOP:
        coder, out = _shift_low((coder[0], coder[1] << 8, coder[2], coder[3], coder[4]), out)
    return coder, out


@njit(cache=True, inline="always")
def _encode_bit(coder, out, slots, i, bit, fast_shift, slow_shift):  # pragma: no cover - compiled
    low, span = coder[0], coder[1]
    bound = (span >> _PROB_BITS) * _probability(slots, i)
    if bit:
        low += bound
        span -= bound
    else:
        span = bound
    _adapt(slots, i, bit, fast_shift, slow_shift)
    return _normalise((low, span, coder[2], coder[3], coder[4]), out)


@njit(cache=True, inline="always")
def _encode_direct(coder, out, value, count):  # pragma: no cover - compiled
    for j in range(count - 1, -1, -1):
        low, span = coder[0], coder[1] >> 1
        if (value >> np.uint64(j)) & np.uint64(1):
            low += span
        coder, out = _normalise((low, span, coder[2], coder[3], coder[4]), out)
    return coder, out


_MANTISSA = _CONTEXTS * _TREE
_SIGN = _MANTISSA + 65 * 4
#: slots of the value model: the bit length trees, the mantissa bits, the sign
_VALUE_SLOTS = _SIGN + 3
#: the most distinct values the alphabet form takes; its rank tree's nodes
ALPHABET_MAX = 64
_RANK_TREE = 64


@njit(cache=True)
def _new_model():  # pragma: no cover - compiled
    """The value model: its slots, and its context (running mean of bit lengths, previous sign)."""
    return _new_slots(_VALUE_SLOTS), np.zeros(2, np.int64)


@njit(cache=True)
def _encode_value(coder, out, slots, context, value, fast_shift, slow_shift, mean_shift, resolution
                  ):  # pragma: no cover - compiled
    sign = int(value & np.uint64(1))
    m = (value >> np.uint64(1)) + np.uint64(sign)
    k = _bit_length(m)
    base = _context(context[0], resolution) * _TREE
    node = 1
    for j in range(6, -1, -1):
        bit = (k >> j) & 1
        coder, out = _encode_bit(coder, out, slots, base + node, bit, fast_shift, slow_shift)
        node = 2 * node + bit
    if k > 0:
        rest = k - 1
        if rest > 0:
            rest -= 1
            top = int((m >> np.uint64(rest)) & np.uint64(1))
            coder, out = _encode_bit(coder, out, slots, _MANTISSA + 4 * k, top, fast_shift, slow_shift)
            if rest > 0:
                rest -= 1
                second = int((m >> np.uint64(rest)) & np.uint64(1))
                coder, out = _encode_bit(coder, out, slots, _MANTISSA + 4 * k + 1 + top, second, fast_shift, slow_shift)
                coder, out = _encode_direct(coder, out, m, rest)
        coder, out = _encode_bit(coder, out, slots, _SIGN + context[1], sign, fast_shift, slow_shift)
        context[1] = 1 + sign
    else:
        context[1] = 0
    context[0] += ((k << _MEAN_BITS) - context[0]) >> mean_shift
    return coder, out


@njit(cache=True)
def _new_encoder(size):  # pragma: no cover - compiled
    zero = np.int64(0)  # low, range, cache, cache size, bytes written
    return (zero, np.int64(_MASK32), zero, np.int64(1), zero), np.empty(size + 64, np.uint8)


@njit(cache=True)
def _finish(coder, out):  # pragma: no cover - compiled
    for _ in range(5):
        coder, out = _shift_low(coder, out)
    return out[1:coder[4]]  # the first byte is always 0


@njit(cache=True)
def encode(u, fast_shift, slow_shift, mean_shift, resolution):  # pragma: no cover - compiled
    """The coded bytes of the zig-zagged values ``u`` (uint64), each by its bit length, mantissa and sign."""
    coder, out = _new_encoder(u.shape[0] // 2)
    slots, context = _new_model()
    for t in range(u.shape[0]):
        coder, out = _encode_value(coder, out, slots, context, u[t], fast_shift, slow_shift, mean_shift, resolution)
    return _finish(coder, out)


# The size of a stream without coding it: the coder writes one byte per shift of its range (each call of
# _shift_low accounts for one byte, the carry only changes which) and _finish's five shifts write four more once
# the first byte (always 0) is left out; the range never depends on ``low``, so tracking it alone gives the exact
# length of encode's bytes in a little over half its time (no low, carry or output).


@njit(cache=True, inline="always")
def _measure_bit(span, shifts, slots, i, bit, fast_shift, slow_shift):  # pragma: no cover - compiled
    bound = (span >> _PROB_BITS) * _probability(slots, i)
    span = span - bound if bit else bound
    _adapt(slots, i, bit, fast_shift, slow_shift)
    while span < _TOP:
        span <<= 8
        shifts += 1
    return span, shifts


@njit(cache=True)
def encoded_size(u, fast_shift, slow_shift, mean_shift, resolution):  # pragma: no cover - compiled
    """``len(encode(u, ...))``, exactly, without coding: the value model of :func:`_encode_value` and the range
    alone."""
    slots, context = _new_model()
    span = np.int64(_MASK32)
    shifts = 0
    for t in range(u.shape[0]):
        value = u[t]
        sign = int(value & np.uint64(1))
        m = (value >> np.uint64(1)) + np.uint64(sign)
        k = _bit_length(m)
        base = _context(context[0], resolution) * _TREE
        node = 1
        for j in range(6, -1, -1):
            bit = (k >> j) & 1
            span, shifts = _measure_bit(span, shifts, slots, base + node, bit, fast_shift, slow_shift)
            node = 2 * node + bit
        if k > 0:
            rest = k - 1
            if rest > 0:
                rest -= 1
                top = int((m >> np.uint64(rest)) & np.uint64(1))
                span, shifts = _measure_bit(span, shifts, slots, _MANTISSA + 4 * k, top, fast_shift, slow_shift)
                if rest > 0:
                    rest -= 1
                    second = int((m >> np.uint64(rest)) & np.uint64(1))
                    span, shifts = _measure_bit(span, shifts, slots, _MANTISSA + 4 * k + 1 + top, second, fast_shift,
                                                slow_shift)
                    for _ in range(rest):  # the raw low bits: _encode_direct's range steps
                        span >>= 1
                        while span < _TOP:
                            span <<= 8
                            shifts += 1
            span, shifts = _measure_bit(span, shifts, slots, _SIGN + context[1], sign, fast_shift, slow_shift)
            context[1] = 1 + sign
        else:
            context[1] = 0
        context[0] += ((k << _MEAN_BITS) - context[0]) >> mean_shift
    return shifts + 4


@njit(cache=True)
def encode_alphabet(table, ranks, fast_shift, slow_shift, mean_shift, resolution):  # pragma: no cover - compiled
    """The coded bytes of ``ranks`` (int64, each below ``len(table)`` <= ALPHABET_MAX) after ``table`` (uint64:
    the alphabet's size - 1 and its values, as :func:`encode` codes values); each rank down a binary tree whose
    probabilities are chosen by the previous rank."""
    coder, out = _new_encoder(ranks.shape[0] // 4 + table.shape[0] * 2)
    slots, context = _new_model()
    for t in range(table.shape[0]):
        coder, out = _encode_value(coder, out, slots, context, table[t], fast_shift, slow_shift, mean_shift, resolution)
    depth = _bit_length(np.uint64(table.shape[0] - 2))
    ranked = _new_slots(ALPHABET_MAX * _RANK_TREE)
    previous = 0
    for t in range(ranks.shape[0]):
        rank = ranks[t]
        base = previous * _RANK_TREE
        node = 1
        for j in range(depth - 1, -1, -1):
            bit = (rank >> j) & 1
            coder, out = _encode_bit(coder, out, ranked, base + node, bit, fast_shift, slow_shift)
            node = 2 * node + bit
        previous = rank
    return _finish(coder, out)


@njit(cache=True, inline="always")
def _get(data, pos):  # pragma: no cover - compiled
    return data[pos] if pos < data.shape[0] else 0


@njit(cache=True, inline="always")
def _decode_bit(state, data, slots, i, fast_shift, slow_shift):  # pragma: no cover - compiled
    bound = (state[0] >> _PROB_BITS) * _probability(slots, i)
    if state[1] < bound:
        state[0] = bound
        bit = 0
    else:
        state[1] -= bound
        state[0] -= bound
        bit = 1
    _adapt(slots, i, bit, fast_shift, slow_shift)
    while state[0] < _TOP:
        state[0] <<= 8
        state[1] = ((state[1] << 8) & _MASK32) | _get(data, state[2])
        state[2] += 1
    return bit


@njit(cache=True)
def distinct(values, most):  # pragma: no cover - compiled
    """The distinct ``values`` (int64), unsorted, or an empty array as soon as there are more than ``most``."""
    seen = np.empty(most, np.int64)
    count = 0
    for t in range(values.shape[0]):
        value = values[t]
        known = False
        for j in range(count):
            if seen[j] == value:
                known = True
                break
        if not known:
            if count == most:
                return seen[:0]
            seen[count] = value
            count += 1
    return seen[:count]


@njit(cache=True)
def _new_decoder(data):  # pragma: no cover - compiled
    state = np.zeros(3, np.int64)  # range, code, bytes read
    state[0] = _MASK32
    for _ in range(4):
        state[1] = (state[1] << 8) | _get(data, state[2])
        state[2] += 1
    return state


@njit(cache=True)
def _decode_value(state, data, slots, context, fast_shift, slow_shift, mean_shift, resolution
                  ):  # pragma: no cover - compiled
    """The next value (uint64), or -1 (as int64) when the bit length read is above 64 (a corrupt stream)."""
    base = _context(context[0], resolution) * _TREE
    node = 1
    for _ in range(7):
        node = 2 * node + _decode_bit(state, data, slots, base + node, fast_shift, slow_shift)
    k = node - _TREE
    if k > 64:
        return np.uint64(0), False
    m = np.uint64(0)
    sign = np.uint64(0)
    if k > 0:
        m = np.uint64(1)
        rest = k - 1
        if rest > 0:
            rest -= 1
            top = _decode_bit(state, data, slots, _MANTISSA + 4 * k, fast_shift, slow_shift)
            m = (m << np.uint64(1)) | np.uint64(top)
            if rest > 0:
                rest -= 1
                second = _decode_bit(state, data, slots, _MANTISSA + 4 * k + 1 + top, fast_shift, slow_shift)
                m = (m << np.uint64(1)) | np.uint64(second)
                for _ in range(rest):
                    state[0] >>= 1
                    bit = 0
                    if state[1] >= state[0]:
                        state[1] -= state[0]
                        bit = 1
                    m = (m << np.uint64(1)) | np.uint64(bit)
                    while state[0] < _TOP:
                        state[0] <<= 8
                        state[1] = ((state[1] << 8) & _MASK32) | _get(data, state[2])
                        state[2] += 1
        last = _decode_bit(state, data, slots, _SIGN + context[1], fast_shift, slow_shift)
        sign = np.uint64(last)
        context[1] = 1 + last
    else:
        context[1] = 0
    context[0] += ((k << _MEAN_BITS) - context[0]) >> mean_shift
    return (m << np.uint64(1)) - sign, True


@njit(cache=True)
def _closed(state, data):  # pragma: no cover - compiled
    """Whether the stream ended exactly at its last byte and the coder's arithmetic closed."""
    return state[2] == data.shape[0] and state[1] == 0


@njit(cache=True)
def decode(data, out, fast_shift, slow_shift, mean_shift, resolution):  # pragma: no cover - compiled
    """Decode ``out.shape[0]`` values (uint64) from ``data``; returns False when ``data`` is not exactly a stream
    that :func:`encode` wrote (it ends early or late, or its arithmetic does not close)."""
    state = _new_decoder(data)
    slots, context = _new_model()
    for t in range(out.shape[0]):
        if state[2] > data.shape[0]:  # read past the end: corrupt
            return False
        value, ok = _decode_value(state, data, slots, context, fast_shift, slow_shift, mean_shift, resolution)
        if not ok:
            return False
        out[t] = value
    return _closed(state, data)


@njit(cache=True)
def decode_alphabet(data, table, ranks, fast_shift, slow_shift, mean_shift, resolution):  # pragma: no cover
    """Inverse of :func:`encode_alphabet` into ``table`` (uint64, ALPHABET_MAX + 1: the size - 1, then the values)
    and ``ranks``; returns the alphabet's size, or 0 when ``data`` is not such a stream."""
    state = _new_decoder(data)
    slots, context = _new_model()
    size, ok = _decode_value(state, data, slots, context, fast_shift, slow_shift, mean_shift, resolution)
    if not ok or size >= np.uint64(ALPHABET_MAX):
        return 0
    table[0] = size
    letters = int(size) + 1
    for t in range(1, letters + 1):
        value, ok = _decode_value(state, data, slots, context, fast_shift, slow_shift, mean_shift, resolution)
        if not ok or state[2] > data.shape[0]:
            return 0
        table[t] = value
    depth = _bit_length(np.uint64(letters - 1))
    ranked = _new_slots(ALPHABET_MAX * _RANK_TREE)
    previous = 0
    for t in range(ranks.shape[0]):
        if state[2] > data.shape[0]:
            return 0
        base = previous * _RANK_TREE
        node = 1
        for _ in range(depth):
            node = 2 * node + _decode_bit(state, data, ranked, base + node, fast_shift, slow_shift)
        rank = node - (1 << depth)
        if rank >= letters:
            return 0
        ranks[t] = rank
        previous = rank
    return letters if _closed(state, data) else 0
