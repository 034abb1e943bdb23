"""Numba kernels of the denoiser families' streaming steps (one frame per call, float32 storage).

A streaming denoiser steps once per 16 ms hop on one frame per channel. At that size
numpy's cost per operation (about a microsecond, dozens of operations per frame) is
larger than the arithmetic, so the CPU steppers of the ``denoiser`` and ``denoiser2``
families run each frame in two compiled calls: the features (which also update the
running means and the look-ahead buffer in place) and the network (input layer, GRUs,
mask). Inputs and outputs are float32 (complex64 spectra and masks); sums are
accumulated in float32 in a fixed order, so a frame's result never depends on how the
audio was chunked, and it equals the torch ``step`` to float rounding (the tests
check both).

Private to the families: the steppers in :mod:`tsae_plugins.denoiser` and
:mod:`tsae_plugins.denoiser2` own the layouts. Kernels that call one another live in
this one file: numba's on-disk cache only notices changes to the file of the kernel it
compiled, so a helper in another file could go stale. Compiled on first use and cached
in tsae's numba cache folder (:mod:`tsae.engine._numba_cache`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numba import njit

from tsae.engine import _numba_cache

_numba_cache.install(Path(__file__).resolve().parent)  # before the decorators: they pick the cache folder


# --------------------------------------------------------------------------- building blocks
@njit(cache=True)
def _sigmoid(v):  # pragma: no cover - compiled
    # through tanh, like the numpy/torch paths: no overflow for large |v|
    return np.float32(0.5) * (np.float32(math.tanh(np.float32(0.5) * v)) + np.float32(1.0))


@njit(cache=True)
def _dense(x, w, b, out, relu):  # pragma: no cover - compiled
    """``out = x @ w + b`` for one row ``x`` ``(in,)``, ``w`` ``(in, out)``; ReLU when ``relu``.

    Input-major order (one axpy per input) vectorises without reordering the sums;
    zero inputs (after a ReLU, about half) are skipped: they add exact zeros.
    """
    n_out = out.shape[0]
    for j in range(n_out):
        out[j] = b[j]
    for i in range(x.shape[0]):
        xi = x[i]
        if xi != 0.0:
            for j in range(n_out):
                out[j] += xi * w[i, j]
    if relu:
        for j in range(n_out):
            if out[j] < 0.0:
                out[j] = 0.0


@njit(cache=True)
def _gru(x, h, w_ih, b_ih, w_hh, b_hh, out):  # pragma: no cover - compiled
    """One step of ``groups`` independent GRUs on one row: ``x`` ``(groups*in,)``, ``h`` ``(groups*hidden,)``.

    ``w_ih`` ``(groups, in, 3*hidden)`` and ``w_hh`` ``(groups, hidden, 3*hidden)`` are
    torch's weights transposed (gates r, z, n), ``b_ih``/``b_hh`` ``(groups, 3*hidden)``;
    group ``g`` reads ``x[g*in:(g+1)*in]`` and owns ``h``/``out`` ``[g*hidden:(g+1)*hidden]``.
    """
    groups, n_in, gates = w_ih.shape
    hidden = gates // 3
    gi = np.empty(gates, np.float32)
    gh = np.empty(gates, np.float32)
    for g in range(groups):
        hg = h[g * hidden: (g + 1) * hidden]
        _dense(x[g * n_in: (g + 1) * n_in], w_ih[g], b_ih[g], gi, False)
        _dense(hg, w_hh[g], b_hh[g], gh, False)
        for j in range(hidden):
            r = _sigmoid(gi[j] + gh[j])
            z = _sigmoid(gi[hidden + j] + gh[hidden + j])
            n = np.float32(math.tanh(gi[2 * hidden + j] + r * gh[2 * hidden + j]))
            out[g * hidden + j] = (np.float32(1.0) - z) * n + z * hg[j]


@njit(cache=True)
def _running(mean, value, a):  # pragma: no cover - compiled
    """``mean = a * mean + (1 - a) * value`` in place."""
    b = np.float32(1.0) - a
    for k in range(mean.shape[0]):
        mean[k] = a * mean[k] + b * value[k]


# --------------------------------------------------------------------------- family "denoiser"
@njit(cache=True)
def denoiser_features(spec, mean, a, recent, eps):  # pragma: no cover - compiled
    """Features of one frame per row of ``spec`` ``(batch, bins)`` (complex64), into ``recent``.

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
            lp[k] = np.float32(10.0) * np.float32(math.log10(re * re + im * im + eps))
        _running(mean[n], lp, a)
        glob = np.float32(0.0)
        for k in range(bins):
            glob += mean[n, k]
        glob = glob / np.float32(bins)
        row = recent[n]
        row[: row.shape[0] - width] = row[width:].copy()
        last = row.shape[0] - width
        for k in range(bins):
            row[last + k] = (lp[k] - mean[n, k]) / np.float32(20.0)
            row[last + bins + k] = (lp[k] - glob) / np.float32(20.0)


@njit(cache=True)
def denoiser_network(recent, h, w_in, b_in, w_ih, b_ih, w_hh, b_hh, w_out, b_out, mask):  # pragma: no cover
    """Input layer + ReLU, the GRU stack (state ``h`` ``(layers, batch, hidden)``, updated), sigmoid mask.

    ``w_ih`` etc. are ``(layers, 1, in, 3*hidden)`` (every layer's input is ``hidden``
    wide except the first's, which is the input layer's width: the same here).
    """
    batch = recent.shape[0]
    layers, _, hidden = h.shape
    x = np.empty(w_in.shape[1], np.float32)
    new = np.empty(hidden, np.float32)
    logits = np.empty(mask.shape[1], np.float32)
    for n in range(batch):
        _dense(recent[n], w_in, b_in, x, True)
        for layer in range(layers):
            _gru(x, h[layer, n], w_ih[layer], b_ih[layer], w_hh[layer], b_hh[layer], new)
            h[layer, n] = new
            x = new.copy()
        _dense(x, w_out, b_out, logits, False)
        for k in range(logits.shape[0]):
            mask[n, k] = _sigmoid(logits[k])


# --------------------------------------------------------------------------- family "denoiser2"
@njit(cache=True)
def denoiser2_features(spec, band_avg, mean, rms, a, cplx_bins, groups, band_recent, cplx_recent,
                       eps):  # pragma: no cover - compiled
    """Features of one frame per row of ``spec`` ``(batch, bins)`` (complex64), into the look-ahead buffers.

    ERB band levels (``band_avg`` ``(bins, bands)``) in dB, normalised by their running
    mean ``mean`` and by the mean over bands; the lowest ``cplx_bins`` bins divided by
    their running RMS ``rms`` (both means updated with factor ``a``). The buffers hold
    the last ``span`` frames, oldest first, shifted by one frame here: ``band_recent``
    ``(batch, groups, span * 2 * per_group)`` in each group's input order (frame, then
    the two normalisations, then the group's bands) and ``cplx_recent`` ``(batch, span *
    2 * cplx_bins)`` (frame, then real parts, then imaginary parts).
    """
    batch, bins = spec.shape
    bands = band_avg.shape[1]
    per_group = bands // groups
    band_width = 2 * per_group
    cplx_width = 2 * cplx_bins
    power = np.empty(bins, np.float32)
    band_db = np.empty(bands, np.float32)
    for n in range(batch):
        for k in range(bins):
            re = spec[n, k].real
            im = spec[n, k].imag
            power[k] = re * re + im * im
        band_db[:] = 0.0
        for k in range(bins):
            p = power[k]
            for b in range(bands):
                band_db[b] += p * band_avg[k, b]
        for b in range(bands):
            band_db[b] = np.float32(10.0) * np.float32(math.log10(band_db[b] + eps))
        _running(mean[n], band_db, a)
        _running(rms[n], power[:cplx_bins], a)
        glob = np.float32(0.0)
        for b in range(bands):
            glob += mean[n, b]
        glob = glob / np.float32(bands)
        for g in range(groups):
            row = band_recent[n, g]
            last = row.shape[0] - band_width
            row[:last] = row[band_width:].copy()
            for k in range(per_group):
                b = g * per_group + k
                row[last + k] = (band_db[b] - mean[n, b]) / np.float32(20.0)
                row[last + per_group + k] = (band_db[b] - glob) / np.float32(20.0)
        row = cplx_recent[n]
        last = row.shape[0] - cplx_width
        row[:last] = row[cplx_width:].copy()
        for k in range(cplx_bins):
            scale = np.float32(1.0) / np.float32(math.sqrt(rms[n, k] + eps))
            row[last + k] = spec[n, k].real * scale
            row[last + cplx_bins + k] = spec[n, k].imag * scale


@njit(cache=True)
def denoiser2_network(band_recent, cplx_recent, gh, h, group_w, group_b, cplx_w, cplx_b, g_ih, g_bih, g_hh,
                      g_bhh, ih, bih, hh, bhh, w_gain, b_gain, band_spread, w_crm, b_crm,
                      mask):  # pragma: no cover - compiled
    """The ``denoiser2`` network on one frame per row: look-ahead buffers in, complex64 mask ``(batch, bins)`` out.

    Group input layers (``group_w`` ``(groups, in, group_hidden)``) and the complex input
    layer, both with ReLU; the grouped GRUs (state ``gh`` ``(batch, groups *
    group_hidden)``) and the full-band GRU (state ``h`` ``(batch, hidden)``), both updated
    in place; then the ERB gains spread to the bins, times the bounded complex ratio mask
    on the lowest bins.
    """
    batch = band_recent.shape[0]
    groups, _, group_hidden = group_w.shape
    group_width = groups * group_hidden
    hidden = h.shape[1]
    bands, bins = band_spread.shape
    c = w_crm.shape[1] // 2
    x = np.empty(group_width + cplx_w.shape[1], np.float32)
    g_new = np.empty(group_width, np.float32)
    h_new = np.empty(hidden, np.float32)
    band_gain = np.empty(bands, np.float32)
    gains = np.empty(bins, np.float32)
    raw = np.empty(2 * c, np.float32)
    for n in range(batch):
        for g in range(groups):
            _dense(band_recent[n, g], group_w[g], group_b[g], x[g * group_hidden: (g + 1) * group_hidden], True)
        _dense(cplx_recent[n], cplx_w, cplx_b, x[group_width:], True)
        _gru(x[:group_width], gh[n], g_ih, g_bih, g_hh, g_bhh, g_new)
        gh[n] = g_new
        x[:group_width] = g_new
        _gru(x, h[n], ih, bih, hh, bhh, h_new)
        h[n] = h_new
        _dense(h_new, w_gain, b_gain, band_gain, False)
        for b in range(bands):
            band_gain[b] = _sigmoid(band_gain[b])
        gains[:] = 0.0
        for b in range(bands):
            gb = band_gain[b]
            for k in range(bins):
                gains[k] += gb * band_spread[b, k]
        _dense(h_new, w_crm, b_crm, raw, False)
        for k in range(c):
            re = raw[k]
            im = raw[c + k]
            radius = np.float32(math.sqrt(re * re + im * im + np.float32(1e-8)))
            shrink = np.float32(math.tanh(radius)) / radius * gains[k]
            mask[n, k] = complex(re * shrink, im * shrink)
        for k in range(c, bins):
            mask[n, k] = complex(gains[k], 0.0)
