"""The fit of the blind-spot predictor in :func:`tsae.smooth`: its shortcuts equal the plain computations."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsae.pipelines.smooth.blind_spot import _WINDOW, _HeldOut, _pad_odd
from tsae.plugins import create_model


@pytest.mark.parametrize("layers", [0, 4, 9])  # 9: the cuts' context overlaps, runs are merged
def test_held_out_loss_equals_the_whole_series_run(layers: int) -> None:
    rng = np.random.default_rng(layers)
    c, n = 2, 9 * 8 * _WINDOW + 77
    z = np.cumsum(rng.standard_normal((c, n)), axis=1) * 0.1 + rng.standard_normal((c, n))
    linear = 0.5 * z
    val = (np.arange(n) // _WINDOW % 8) == 3
    torch.manual_seed(layers)
    net = create_model("blind_spot", channels=c, window=_WINDOW, hidden=4, layers=layers)
    for p in net.parameters():  # the last layer starts at zero: give every weight a value
        torch.nn.init.normal_(p, std=0.3)
    net.eval()
    pad = net.margin
    zp = np.stack([_pad_odd(zc, pad) for zc in z]).astype(np.float32)
    with torch.no_grad():
        whole = net(torch.from_numpy(zp[None]))[0, :, pad: pad + n].double().numpy()
    expected = float(np.mean((linear + whole - z)[:, val] ** 2))

    held_out = _HeldOut(val, pad, zp, z - linear)
    runs = int(np.count_nonzero(np.diff(val.astype(int)) == 1))
    cuts = sum(len(group[1]) for group in held_out.groups)
    assert cuts < runs if layers == 9 else cuts == runs
    assert held_out.loss(net) == pytest.approx(expected, rel=1e-5)
    assert expected > 0.01  # the network predicts something: a wrong cut would show


@pytest.mark.parametrize("n", [5, 37, 1000, 20011])
def test_candidate_predictions_are_the_padded_series_convolved(n: int) -> None:
    from tsae.pipelines.smooth.blind_spot import _blind_spot_kernels, _candidate_predictions, _padded

    z = np.random.default_rng(n).standard_normal(n)
    kernels, k = _blind_spot_kernels(n)
    kernels = kernels + np.random.default_rng(1).random(kernels.shape)  # not symmetric: convolution, not correlation
    zp, off = _padded(z, k)
    expected = np.stack([np.convolve(zp, kern, mode="same")[off: off + n] for kern in kernels])
    got = _candidate_predictions(z, kernels, k)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


def test_a_mixture_on_some_rows_is_their_ridge_least_squares() -> None:
    from tsae.pipelines.smooth.blind_spot import _Mixture

    rng = np.random.default_rng(3)
    n, k = 5000, 6
    every = rng.standard_normal((k, n))
    z = np.array([0.5, -1.0, 2.0, 0.0, 0.3, 1.0]) @ every + 0.1 * rng.standard_normal(n)
    rows = rng.random(n) > 0.1
    rows[2000:2400] = False  # most of one chunk left out: its Gram matrix is summed, not subtracted
    pred, coef = _Mixture(every, z).fit(rows, ridge=1e-3)
    feats = every[:, rows]
    gram = feats @ feats.T
    scale = np.trace(gram) / k + 1e-12
    expected = np.linalg.solve(gram + 1e-3 * scale * np.eye(k), feats @ z[rows])
    np.testing.assert_allclose(coef, expected, rtol=1e-9)
    np.testing.assert_allclose(pred, expected @ every, rtol=1e-9)
