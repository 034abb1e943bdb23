"""The checkpoint's held-out loss, read from cuts of the series, equals the loss of a whole-series run."""
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
