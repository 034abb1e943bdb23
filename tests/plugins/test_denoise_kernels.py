"""The denoiser families' compiled kernels: the vectorisable tanh, and the GRU gates against torch."""
from __future__ import annotations

import numpy as np
import torch

from tsae_plugins.denoise_kernels import gru_gates, tanh


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
