"""The denoiser families' compiled kernels: the vectorisable tanh, the GRU gates against torch, and the
row-exact tiled matrix product."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsae_plugins.denoise_kernels import ROW_BLOCK, TILE, gru_gates, pack_columns, tanh, tiled_product


def test_tanh_is_accurate_odd_and_saturates() -> None:
    x = np.concatenate([np.linspace(-12.0, 12.0, 20001), [0.0, 1e-7, -1e-30, 9.0, 50.0, -1e30]]).astype(np.float32)
    approx = np.array([tanh(v) for v in x], dtype=np.float64)
    assert np.abs(approx - np.tanh(x.astype(np.float64))).max() < 1e-6
    np.testing.assert_array_equal(approx, -np.array([tanh(-v) for v in x]))
    assert tanh(np.float32(50.0)) == 1.0 and tanh(np.float32(-1e30)) == -1.0 and tanh(np.float32(0.0)) == 0.0
    assert np.all(np.abs(approx) <= 1.0)


def test_gru_gates_match_torch_for_grouped_cells() -> None:
    torch.manual_seed(0)
    groups, batch, n_in, hidden = 3, 5, 7, 4
    cells = [torch.nn.GRUCell(n_in, hidden) for _ in range(groups)]
    x = torch.randn(groups, batch, n_in)
    h = torch.randn(groups, batch, hidden)
    with torch.no_grad():
        expected = torch.stack([cell(x[g], h[g]) for g, cell in enumerate(cells)]).numpy()
        w_ih = np.stack([c.weight_ih.numpy().T for c in cells])
        w_hh = np.stack([c.weight_hh.numpy().T for c in cells])
        b_ih = np.stack([c.bias_ih.numpy() for c in cells])
        b_hh = np.stack([c.bias_hh.numpy() for c in cells])
    state = h.numpy().copy()
    gru_gates(np.matmul(x.numpy(), w_ih), np.matmul(state, w_hh), b_ih, b_hh, state)
    np.testing.assert_allclose(state, expected, atol=2e-6)


@pytest.mark.parametrize(("inner", "cols"), [(1, 1), (7, 5), (96, 288), (130, TILE + 3)])
def test_tiled_product_equals_matmul_and_gives_each_row_the_same_bits_in_any_company(inner: int, cols: int) -> None:
    rng = np.random.default_rng(inner)
    w = rng.standard_normal((inner, cols)).astype(np.float32)
    x = rng.standard_normal((3 * ROW_BLOCK + 5, inner)).astype(np.float32)
    packed = pack_columns(w)
    assert packed.shape == (-(-cols // TILE), inner, TILE) and not packed[-1, :, cols - (len(packed) - 1) * TILE:].any()
    full = np.empty((len(x), cols), np.float32)
    tiled_product(x, packed, full)
    np.testing.assert_allclose(full, x.astype(np.float64) @ w.astype(np.float64), rtol=0, atol=1e-4 * np.sqrt(inner))
    for start, stop in [(0, 1), (4, 5), (3, 3 + ROW_BLOCK + 2), (len(x) - 2, len(x))]:
        part = np.empty((stop - start, cols), np.float32)
        tiled_product(x[start:stop], packed, part)
        np.testing.assert_array_equal(part, full[start:stop])
    strided = np.empty((3, cols), np.float32)
    tiled_product(x[::7][:3], packed, strided)  # a non-contiguous view: the same bits too
    np.testing.assert_array_equal(strided, full[::7][:3])
