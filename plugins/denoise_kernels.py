"""Numba kernels of the denoiser families' CPU streaming steps (float32).

A streaming denoiser steps once per 16 ms hop on one frame per channel (or per file,
when files are denoised side by side). Its cost is of two kinds: the layers' matrix
products, and everything between them (features, running means, biases, gates, masks),
dozens of small operations that in numpy cost about a microsecond each, more than their
arithmetic. The stepper of :mod:`tsae_plugins.denoiser` therefore does the products with
numpy (BLAS) and all the rest in these kernels, one call per stage.

That of :mod:`tsae_plugins.denoiser2` takes a block of frames in two calls, features
(:func:`denoiser2_frames`) and then all its layers (:func:`denoiser2_layers`), with its
own matrix product (:func:`tiled_product`). A frame alone streams all 6.4 MB of the
shipped network's weights through the cache, and that was most of its time (about
240 µs a frame here, 27 GB/s). In a block, the layers fed by the features and the
output heads, two thirds of the weights, take all the block's frames in one product;
only the recurrent products go frame by frame (2.4x faster per audio second on a 60 s
file, one thread). ``tiled_product`` sums each output in the same order whatever the
number of rows, so a block gives what its frames give one by one, and each file of a
batch what it gets alone, bit for bit; BLAS picks other kernels, and other sums, for
other shapes. Features are computed in float64 from the
complex128 spectrum, with each bin's power capped at ``cap`` (the families'
``POWER_CAP``, as their torch code does), and kept in float32, so a corrupt sample far
beyond any audio level (1e20) is a loud frame the running means forget, not an
overflow that would mute the rest of the stream. Streaming is bit-exact whatever the
chunking; the result equals the torch ``step`` to float rounding (the tests check both).

Private to the families, which own the layouts. Kernels that call one another live in
this one file: numba's on-disk cache only notices changes to the file of the kernel
it compiled. Compiled on first use and cached in tsae's numba cache folder
(:mod:`tsae.engine._numba_cache`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numba import njit

from tsae.engine import _numba_cache

_numba_cache.install(Path(__file__).resolve().parent)  # before the decorators: they pick the cache folder


@njit(cache=True, nogil=True, error_model="numpy")
def tanh(v):  # pragma: no cover - compiled
    """float32 tanh of a float32, to 5.3e-7 (absolute): ``x P(x^2) / Q(x^2)`` on ``[-9, 9]``, +-1 beyond.

    libm's ``tanhf`` is a scalar call (about 20 ns here) and was most of the gates' time
    for large batches; this uses only ``+ * /`` and comparisons, so the loops that call
    it vectorise. P (degree 5) and Q (degree 3, ``Q(0) = 1``) are a least-squares
    rational fit made for tsae (Loeb's reweighting, 20 rounds, 20,001 points on ``[0, 9]``);
    the tests check the error bound, the symmetry and the saturation.
    """
    x = min(max(v, np.float32(-9.0)), np.float32(9.0))
    z = x * x
    p = np.float32(2.184454e-11)
    p = p * z + np.float32(-1.4215694e-08)
    p = p * z + np.float32(9.752549e-06)
    p = p * z + np.float32(0.0029741242)
    p = p * z + np.float32(0.1296884)
    p = p * z + np.float32(0.99999994)
    q = np.float32(0.00023546908)
    q = q * z + np.float32(0.023981605)
    q = q * z + np.float32(0.46302146)
    q = q * z + np.float32(1.0)
    return min(max(x * p / q, np.float32(-1.0)), np.float32(1.0))


@njit(cache=True, nogil=True, error_model="numpy")
def _sigmoid(v):  # pragma: no cover - compiled
    # through tanh, like the torch path: no overflow for large |v|
    return np.float32(0.5) * (tanh(np.float32(0.5) * v) + np.float32(1.0))


@njit(cache=True, nogil=True, error_model="numpy")
def _running(mean, value, a):  # pragma: no cover - compiled
    """``mean = a * mean + (1 - a) * value`` in place (one row)."""
    b = np.float32(1.0) - a
    for k in range(mean.shape[0]):
        mean[k] = a * mean[k] + b * value[k]


@njit(cache=True, nogil=True, error_model="numpy")
def _shift_in(row, width):  # pragma: no cover - compiled
    """Drop the first ``width`` values of ``row`` (the oldest frame), moving the rest to the front.

    Loops rather than slice assignments here and below: numba takes seconds to compile
    an array assignment, a cost every user pays on the first run.
    """
    for k in range(row.shape[0] - width):
        row[k] = row[k + width]


# --------------------------------------------------------------------------- layers
@njit(cache=True, nogil=True, error_model="numpy")
def bias_relu(x, b):  # pragma: no cover - compiled
    """``x = max(x + b, 0)`` in place: ``x`` ``(groups, batch, width)``, ``b`` ``(groups, width)``."""
    groups, batch, width = x.shape
    for g in range(groups):
        for n in range(batch):
            for j in range(width):
                v = x[g, n, j] + b[g, j]
                x[g, n, j] = v if v > 0.0 else np.float32(0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def gru_gates(gi, gh, b_ih, b_hh, h):  # pragma: no cover - compiled
    """Finish a GRU step in place: ``h`` ``(groups, batch, hidden)`` becomes the new state.

    ``gi = x @ W_ih`` and ``gh = h @ W_hh`` ``(groups, batch, 3*hidden)`` are the products
    without biases (torch's gate order r, z, n), ``b_ih``/``b_hh`` ``(groups, 3*hidden)``;
    ``groups`` independent GRUs (one: pass ``[None]`` views).
    """
    groups, batch, hidden = h.shape
    for g in range(groups):
        for n in range(batch):
            for j in range(hidden):
                r = _sigmoid((gi[g, n, j] + b_ih[g, j]) + (gh[g, n, j] + b_hh[g, j]))
                k = hidden + j
                z = _sigmoid((gi[g, n, k] + b_ih[g, k]) + (gh[g, n, k] + b_hh[g, k]))
                k = 2 * hidden + j
                c = tanh((gi[g, n, k] + b_ih[g, k]) + r * (gh[g, n, k] + b_hh[g, k]))
                h[g, n, j] = (np.float32(1.0) - z) * c + z * h[g, n, j]


# --------------------------------------------------------------------------- family "denoiser"
@njit(cache=True, nogil=True, error_model="numpy")
def denoiser_features(spec, mean, a, recent, eps, cap):  # pragma: no cover - compiled
    """Features of one frame per row of ``spec`` ``(batch, bins)`` (complex128), into ``recent``.

    Log powers normalised by their running mean ``mean`` ``(batch, bins)`` (updated with
    factor ``a``) and by the mean over bins; ``recent`` ``(batch, span * 2 * bins)`` holds
    the last ``span`` frames' features, oldest first: it is shifted by one frame and
    this frame's features go last.
    """
    batch, bins = spec.shape
    width = 2 * bins
    lp = np.empty(bins, np.float32)
    for n in range(batch):
        for k in range(bins):
            re = spec[n, k].real
            im = spec[n, k].imag
            lp[k] = 10.0 * math.log10(min(re * re + im * im, cap) + eps)
        _running(mean[n], lp, a)
        glob = np.float32(0.0)
        for k in range(bins):
            glob += mean[n, k]
        glob = glob / np.float32(bins)
        row = recent[n]
        last = row.shape[0] - width
        _shift_in(row, width)
        for k in range(bins):
            row[last + k] = (lp[k] - mean[n, k]) / np.float32(20.0)
            row[last + bins + k] = (lp[k] - glob) / np.float32(20.0)


@njit(cache=True, nogil=True, error_model="numpy")
def sigmoid_mask(logits, b, mask):  # pragma: no cover - compiled
    """``mask = sigmoid(logits + b)``: ``logits`` ``(batch, bins)`` without the bias ``b``."""
    batch, bins = logits.shape
    for n in range(batch):
        for k in range(bins):
            mask[n, k] = _sigmoid(logits[n, k] + b[k])


# --------------------------------------------------------------------------- family "denoiser2"
@njit(cache=True, nogil=True, error_model="numpy")
def denoiser2_features(spec, band_avg, mean, rms, heard, alpha, silent_power, cplx_bins, band_recent, cplx_recent,
                       eps, cap, part_cap):  # pragma: no cover - compiled
    """Features of one frame per row of ``spec`` ``(batch, bins)`` (complex128), into the look-ahead buffers.

    ERB band levels (``band_avg`` ``(bins, bands)``) in dB, normalised by their running
    mean ``mean`` and by the mean over bands; the lowest ``cplx_bins`` bins divided by
    their running RMS ``rms``. Both means are updated with the factor
    ``min(alpha, heard / (heard + 1))``, ``heard`` ``(batch,)`` counting the frames in
    them, except on a digitally silent row (mean bin power below ``silent_power``), which
    is normalised the same way but leaves ``mean``, ``rms`` and ``heard`` as they were
    (``Denoiser2Net``'s ``running_update``). The buffers hold the last ``span`` frames,
    oldest first, shifted by one frame here: ``band_recent`` ``(groups, batch, span * 2 *
    per_group)`` in each group's input order (frame, then the two normalisations, then the
    group's bands) and ``cplx_recent`` ``(batch, span * 2 * cplx_bins)`` (frame, then real
    parts, then imaginary parts).
    """
    batch, bins = spec.shape
    bands = band_avg.shape[1]
    groups = band_recent.shape[0]
    per_group = bands // groups
    band_width = 2 * per_group
    cplx_width = 2 * cplx_bins
    power = np.empty(bins)
    band_db = np.empty(bands)
    used_mean = np.empty(bands, np.float32)
    used_rms = np.empty(cplx_bins, np.float32)
    for n in range(batch):
        total = 0.0
        for k in range(bins):
            re = spec[n, k].real
            im = spec[n, k].imag
            power[k] = min(re * re + im * im, cap)
            total += power[k]
        silent = total / bins < silent_power
        for b in range(bands):
            band_db[b] = 0.0
        for k in range(bins):
            p = power[k]
            for b in range(bands):
                band_db[b] += p * band_avg[k, b]
        for b in range(bands):
            band_db[b] = 10.0 * math.log10(band_db[b] + eps)
        a = min(alpha, heard[n] / (heard[n] + np.float32(1.0)))
        for b in range(bands):
            used_mean[b] = mean[n, b]
        for k in range(cplx_bins):
            used_rms[k] = rms[n, k]
        _running(used_mean, band_db, a)
        _running(used_rms, power[:cplx_bins], a)
        if not silent:
            for b in range(bands):
                mean[n, b] = used_mean[b]
            for k in range(cplx_bins):
                rms[n, k] = used_rms[k]
            heard[n] += np.float32(1.0)
        glob = np.float32(0.0)
        for b in range(bands):
            glob += used_mean[b]
        glob = glob / np.float32(bands)
        for g in range(groups):
            row = band_recent[g, n]
            last = row.shape[0] - band_width
            _shift_in(row, band_width)
            for k in range(per_group):
                b = g * per_group + k
                row[last + k] = (band_db[b] - used_mean[b]) / np.float32(20.0)
                row[last + per_group + k] = (band_db[b] - glob) / np.float32(20.0)
        row = cplx_recent[n]
        last = row.shape[0] - cplx_width
        _shift_in(row, cplx_width)
        for k in range(cplx_bins):
            scale = np.float32(1.0) / np.float32(math.sqrt(used_rms[k] + eps))
            # the bin at a power of at most cap, phase kept, a part beyond part_cap scaled down first so its
            # square stays finite (Denoiser2Net's capped_parts)
            re = spec[n, k].real
            im = spec[n, k].imag
            first = min(1.0, part_cap / max(abs(re), abs(im), 1e-30))
            re, im = re * first, im * first
            shrink = min(1.0, math.sqrt(cap) / math.sqrt(re * re + im * im + 1e-30))
            row[last + k] = np.float32(re * shrink * scale)
            row[last + cplx_bins + k] = np.float32(im * shrink * scale)


@njit(cache=True, nogil=True, error_model="numpy")
def denoiser2_mask(heads, b, band_spread, mask):  # pragma: no cover - compiled
    """The complex64 mask ``(batch, bins)`` from the output heads ``h @ [W_gain | W_crm]`` ``(batch, bands + 2c)``.

    ``b`` is the heads' bias. Band gains (sigmoid) spread to the bins by ``band_spread``
    ``(bands, bins)``, times a complex ratio mask of magnitude ``tanh(|raw|)`` on the
    lowest ``c`` bins (real and imaginary raw parts after the gains).
    """
    batch = heads.shape[0]
    bands, bins = band_spread.shape
    c = (heads.shape[1] - bands) // 2
    gains = np.empty(bins, np.float32)
    for n in range(batch):
        for k in range(bins):
            gains[k] = 0.0
        for band in range(bands):
            gain = _sigmoid(heads[n, band] + b[band])
            for k in range(bins):
                gains[k] += gain * band_spread[band, k]
        for k in range(c):
            re = heads[n, bands + k] + b[bands + k]
            im = heads[n, bands + c + k] + b[bands + c + k]
            radius = np.float32(math.sqrt(re * re + im * im + np.float32(1e-8)))
            shrink = tanh(radius) / radius * gains[k]
            mask[n, k] = complex(re * shrink, im * shrink)
        for k in range(c, bins):
            mask[n, k] = complex(gains[k], 0.0)


# --------------------------------------------------------------------------- products
#: columns per weight tile of :func:`tiled_product` (a tile row is four 64-byte cache lines)
TILE = 64
#: rows (frames x files) whose sums a tile accumulates at once: 16 x 64 float32 stay in L1
ROW_BLOCK = 16


def pack_columns(w: np.ndarray) -> np.ndarray:
    """A weight matrix ``(inner, cols)`` as the column tiles :func:`tiled_product` reads: float32
    ``(tiles, inner, TILE)``, each tile contiguous, the last one zero-padded."""
    inner, cols = w.shape
    tiles = -(-cols // TILE)
    packed = np.zeros((tiles, inner, TILE), np.float32)
    for t in range(tiles):
        part = w[:, t * TILE: (t + 1) * TILE]
        packed[t, :, : part.shape[1]] = part
    return packed


@njit(cache=True, nogil=True, error_model="numpy", inline="always", fastmath={"contract"})
def _axpy8(acc, x, k, w):  # pragma: no cover - compiled
    """``acc += x[k: k + 8] @ w[k: k + 8]`` one term after the other (eight rows of a tile per load of ``acc``)."""
    x0, x1, x2, x3, x4, x5, x6, x7 = x[k], x[k + 1], x[k + 2], x[k + 3], x[k + 4], x[k + 5], x[k + 6], x[k + 7]
    w0, w1, w2, w3, w4, w5, w6, w7 = w[k], w[k + 1], w[k + 2], w[k + 3], w[k + 4], w[k + 5], w[k + 6], w[k + 7]
    for j in range(acc.shape[0]):
        a = acc[j]
        a += x0 * w0[j]
        a += x1 * w1[j]
        a += x2 * w2[j]
        a += x3 * w3[j]
        a += x4 * w4[j]
        a += x5 * w5[j]
        a += x6 * w6[j]
        a += x7 * w7[j]
        acc[j] = a


@njit(cache=True, nogil=True, error_model="numpy", inline="always", fastmath={"contract"})
def _axpy(acc, x0, w0):  # pragma: no cover - compiled
    for j in range(acc.shape[0]):
        acc[j] += x0 * w0[j]


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def tiled_product(x, wt, out):  # pragma: no cover - compiled
    """``out = x @ w`` for float32 ``x`` ``(rows, inner)`` and ``w`` packed by :func:`pack_columns`.

    Each output is the sum over ``inner`` in order, one multiply-add after the other (fused
    where the CPU can), whatever the number of rows: a row gets the same bits alone, with other files beside it,
    or with the other frames of a block, which is what keeps the block path of the
    streaming step bit-exact (BLAS picks other kernels, and other sums, for other shapes).
    A block of frames reads each weight tile once for all its rows, where a frame alone
    streams all the weights through the cache (the step's main cost).
    """
    rows, inner = x.shape
    tiles, _, width = wt.shape
    cols = out.shape[1]
    acc = np.empty((ROW_BLOCK, width), np.float32)
    k8 = inner - inner % 8
    for t in range(tiles):
        c0 = t * width
        c1 = min(cols, c0 + width)
        w = wt[t]
        for r0 in range(0, rows, ROW_BLOCK):
            r1 = min(rows, r0 + ROW_BLOCK)
            for r in range(r1 - r0):
                for j in range(width):
                    acc[r, j] = np.float32(0.0)
            for k in range(0, k8, 8):
                for r in range(r0, r1):
                    _axpy8(acc[r - r0], x[r], k, w)
            for k in range(k8, inner):
                for r in range(r0, r1):
                    _axpy(acc[r - r0], x[r, k], w[k])
            for r in range(r0, r1):
                for j in range(c1 - c0):
                    out[r, c0 + j] = acc[r - r0, j]


@njit(cache=True, nogil=True, error_model="numpy")
def denoiser2_frames(specs, band_avg, mean, rms, heard, alpha, silent_power, cplx_bins, band_recent, cplx_recent,
                     eps, cap, part_cap, count, lookahead, band_seq, cplx_seq):  # pragma: no cover - compiled
    """:func:`denoiser2_features` of the frames ``specs`` ``(batch, frames, bins)`` one after the other; the
    look-ahead buffers of each frame that completes one (the stream's ``count`` frames before it, at least
    ``lookahead``) are copied, in order, to ``band_seq`` ``(groups, ready, batch, ...)`` and ``cplx_seq``
    ``(ready, batch, ...)``, the inputs of :func:`denoiser2_layers`."""
    ready = 0
    for t in range(specs.shape[1]):
        denoiser2_features(specs[:, t], band_avg, mean, rms, heard, alpha, silent_power, cplx_bins, band_recent,
                           cplx_recent, eps, cap, part_cap)
        if count + t >= lookahead:
            # element loops, not slice assignments: numba's shape check of an array assignment compiles
            # its error message's string formatting, seconds of the first run's compile time
            for g in range(band_recent.shape[0]):
                for n in range(band_recent.shape[1]):
                    for j in range(band_recent.shape[2]):
                        band_seq[g, ready, n, j] = band_recent[g, n, j]
            for n in range(cplx_recent.shape[0]):
                for j in range(cplx_recent.shape[1]):
                    cplx_seq[ready, n, j] = cplx_recent[n, j]
            ready += 1


@njit(cache=True, nogil=True, error_model="numpy")
def denoiser2_layers(band_seq, cplx_seq, gh, h, group_w, group_b, g_wih, g_bih, g_whh, g_bhh, cplx_w, cplx_b,
                     w_ih, b_ih, w_hh, b_hh, w_heads, b_heads, band_spread, mask):  # pragma: no cover - compiled
    """``Denoiser2Net`` after its features, for ``frames`` consecutive frames of ``batch`` streams: the grouped
    input layers, the groups' GRUs (``gh`` updated), the complex-feature layer, the full-band GRU (``h``
    updated), the heads and the complex64 ``mask`` ``(frames, batch, bins)``.

    ``band_seq`` ``(groups, frames, batch, ...)`` and ``cplx_seq`` ``(frames, batch, ...)`` are
    each frame's look-ahead buffers (:func:`denoiser2_frames`); the weights are packed by
    :func:`pack_columns` (the groups' stacked). The layers fed by the features (and the
    heads) take all the block's frames in one product per weight; only the recurrent
    products go frame by frame. Every row is computed as it would be alone
    (:func:`tiled_product`), so one block gives what its frames give one at a time, bit for bit.
    """
    groups, frames, batch, g_width = band_seq.shape
    rows = frames * batch
    g_size = gh.shape[2]
    hidden = h.shape[2]
    c_width = cplx_b.shape[1]
    g_in = np.empty((groups, rows, g_size), np.float32)
    gi = np.empty((groups, rows, 3 * g_size), np.float32)
    for g in range(groups):
        tiled_product(band_seq[g].reshape((rows, g_width)), group_w[g], g_in[g])
    bias_relu(g_in, group_b)
    for g in range(groups):
        tiled_product(g_in[g], g_wih[g], gi[g])
    joined = np.empty((rows, groups * g_size + c_width), np.float32)
    gg = np.empty((groups, batch, 3 * g_size), np.float32)
    for f in range(frames):
        for g in range(groups):
            tiled_product(gh[g], g_whh[g], gg[g])
        gru_gates(gi[:, f * batch: (f + 1) * batch], gg, g_bih, g_bhh, gh)
        for n in range(batch):
            for g in range(groups):
                for j in range(g_size):
                    joined[f * batch + n, g * g_size + j] = gh[g, n, j]
    c_in = np.empty((rows, c_width), np.float32)
    tiled_product(cplx_seq.reshape((rows, cplx_seq.shape[2])), cplx_w, c_in)
    bias_relu(c_in.reshape((1, rows, c_width)), cplx_b)
    for r in range(rows):
        for j in range(c_width):
            joined[r, groups * g_size + j] = c_in[r, j]
    main_i = np.empty((1, rows, 3 * hidden), np.float32)
    tiled_product(joined, w_ih, main_i[0])
    main_h = np.empty((1, batch, 3 * hidden), np.float32)
    states = np.empty((rows, hidden), np.float32)
    for f in range(frames):
        tiled_product(h[0], w_hh, main_h[0])
        gru_gates(main_i[:, f * batch: (f + 1) * batch], main_h, b_ih, b_hh, h)
        for n in range(batch):
            for j in range(hidden):
                states[f * batch + n, j] = h[0, n, j]
    heads = np.empty((rows, b_heads.shape[0]), np.float32)
    tiled_product(states, w_heads, heads)
    denoiser2_mask(heads, b_heads, band_spread, mask.reshape((rows, mask.shape[2])))
