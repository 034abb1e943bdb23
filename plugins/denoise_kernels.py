"""Numba kernels of the denoiser families' CPU streaming steps (one frame per call, float32).

A streaming denoiser steps once per 16 ms hop on one frame per channel (or per file,
when files are denoised side by side). Its cost is of two kinds: the layers' matrix
products, which numpy hands to BLAS (the weights are read once for the whole batch),
and everything between them (features, running means, biases, gates, masks), dozens
of small operations that in numpy cost about a microsecond each, more than their
arithmetic. The stepper of :mod:`tsae_plugins.denoiser` therefore does the products with
numpy and all the rest in these kernels, one call per stage; that of
:mod:`tsae_plugins.denoiser2` makes two calls a frame, features and then all its layers
(:func:`denoiser2_layers`, the products by BLAS through numba's ``np.dot``: the same
results as numpy's, and 20-30 µs a frame less than twenty calls). Features are computed in float64 from the
complex128 spectrum, with each bin's power capped at ``cap`` (the families'
``POWER_CAP``, as their torch code does), and kept in float32, so a corrupt sample far
beyond any audio level (1e20) is a loud frame the running means forget, not an
overflow that would mute the rest of the stream. Every frame goes through the same calls whatever
the chunking, so streaming stays bit-exact; the result equals the torch ``step`` to
float rounding (the tests check both).

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
                       eps, cap):  # pragma: no cover - compiled
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
            # the bin at a power of at most cap, phase kept (Denoiser2Net's capped_parts)
            re = spec[n, k].real
            im = spec[n, k].imag
            first = min(1.0, 1e18 / max(abs(re), abs(im), 1e-30))
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


@njit(cache=True, nogil=True, error_model="numpy")
def _product(x, w):  # pragma: no cover - compiled
    """``x @ w`` of 2-D float32 arrays by BLAS; two or three rows one at a time, as the steppers' ``matmul_for``
    takes them (each row then gets exactly what it would get alone)."""
    rows = x.shape[0]
    if rows < 2 or rows > 3:
        return np.dot(x, w)
    out = np.empty((rows, w.shape[1]), np.float32)
    for i in range(rows):
        row = np.dot(x[i: i + 1], w)
        for j in range(w.shape[1]):
            out[i, j] = row[0, j]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def denoiser2_layers(band_recent, cplx_recent, gh, h, group_w, group_b, g_wih, g_bih, g_whh, g_bhh, cplx_w, cplx_b,
                     w_ih, b_ih, w_hh, b_hh, w_heads, b_heads, band_spread, mask):  # pragma: no cover - compiled
    """One frame of ``Denoiser2Net`` after its features, in one call: the grouped input layers, the groups'
    GRUs (``gh`` updated), the complex-feature layer, the full-band GRU (``h`` updated), the heads and the
    complex64 ``mask`` ``(batch, bins)``. The same products (:func:`_product`) and kernels, in the same order,
    as the stepper's numpy calls made one by one, so its output is theirs bit for bit; one call instead of
    twenty saves the per-call costs that were a seventh of a frame's time.
    """
    groups, batch, _ = band_recent.shape
    gh_size = gh.shape[2]
    g_in = np.empty((groups, batch, group_w.shape[2]), np.float32)
    for g in range(groups):
        part = _product(band_recent[g], group_w[g])
        for n in range(batch):
            for j in range(part.shape[1]):
                g_in[g, n, j] = part[n, j]
    bias_relu(g_in, group_b)
    gi = np.empty((groups, batch, 3 * gh_size), np.float32)
    gg = np.empty((groups, batch, 3 * gh_size), np.float32)
    for g in range(groups):
        pi = _product(g_in[g], g_wih[g])
        ph = _product(gh[g], g_whh[g])
        for n in range(batch):
            for j in range(3 * gh_size):
                gi[g, n, j] = pi[n, j]
                gg[g, n, j] = ph[n, j]
    gru_gates(gi, gg, g_bih, g_bhh, gh)
    c_in = _product(cplx_recent, cplx_w)
    width = c_in.shape[1]
    bias_relu(c_in.reshape((1, batch, width)), cplx_b)
    joined = np.empty((batch, groups * gh_size + width), np.float32)
    for n in range(batch):
        for g in range(groups):
            for j in range(gh_size):
                joined[n, g * gh_size + j] = gh[g, n, j]
        for j in range(width):
            joined[n, groups * gh_size + j] = c_in[n, j]
    hidden = h.shape[2]
    main_i = _product(joined, w_ih).reshape((1, batch, 3 * hidden))
    main_h = _product(h[0], w_hh).reshape((1, batch, 3 * hidden))
    gru_gates(main_i, main_h, b_ih, b_hh, h)
    denoiser2_mask(_product(h[0], w_heads), b_heads, band_spread, mask)
