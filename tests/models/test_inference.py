"""The one batched forward: same numbers as a plain loop, whatever the batch size."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsae.models.inference import forward
from tsae.plugins import create_model


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return create_model("conv1d", channels=2, window=16, depth=1, hidden=8, kernel=3, latent=4)


def test_forward_matches_a_plain_loop_and_restores_the_mode(net):
    x = np.random.default_rng(0).normal(size=(37, 2, 16)).astype(np.float32)
    net.train()
    with torch.no_grad():
        net.eval()
        want = net(torch.from_numpy(x)).numpy()
        codes = net.encode(torch.from_numpy(x)).numpy()
    net.train()
    for batch in (1, 8, 64):
        got = forward(net, x, batch_size=batch)
        assert got.dtype == np.float32 and got.shape == x.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(forward(net, x, encode=True), codes, rtol=1e-5, atol=1e-6)
    assert net.training  # the caller's mode is back
    assert forward(net, x[:0]).shape == (0,)
    with pytest.raises(ValueError, match="batch_size"):
        forward(net, x, batch_size=0)


def test_forward_dtype_and_reduce(net):
    x = np.random.default_rng(1).normal(size=(10, 2, 16))
    net64 = create_model("conv1d", channels=2, window=16, depth=1, hidden=8, kernel=3, latent=4)
    net64.load_state_dict(net.state_dict())
    net64 = net64.to(torch.float64)
    y = forward(net64, x, batch_size=3, dtype=torch.float64)
    assert y.dtype == np.float64
    errors = forward(net64, x, batch_size=4, dtype=torch.float64,
                     reduce=lambda out, rows: (out - torch.from_numpy(x[rows])).pow(2).flatten(1).mean(1))
    np.testing.assert_allclose(errors, ((y - x) ** 2).reshape(10, -1).mean(1), rtol=1e-10)
