"""smooth/impute hold the whole series (they learn from all of it): out of memory is one line naming the file."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from tsae.cli import cli


@pytest.mark.parametrize("command", ["smooth", "impute"])
def test_out_of_memory_is_one_line_naming_the_file(tmp_path, monkeypatch, command) -> None:
    def no_memory(path, **options):
        raise MemoryError("Unable to allocate 7.45 GiB for an array with shape (1000000000,) and data type float64")

    monkeypatch.setattr("tsae.pipelines.smooth.files.read_series", no_memory)
    src = tmp_path / "big.csv"
    src.write_text("a\n1\n2\n")
    result = CliRunner().invoke(cli, [command, str(src), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {src}: not enough memory to process it (Unable to allocate 7.45 GiB for an array with shape "
        "(1000000000,) and data type float64)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]


def test_a_blind_spot_network_too_large_is_one_line_before_it_is_built(tmp_path, monkeypatch) -> None:
    # `tsae smooth x.wav -p hidden=30000` built 57 GB of weights (the system overcommits, so no MemoryError):
    # the OOM killer ended it at 22 GB of a 23 GB machine
    import numpy as np
    import soundfile as sf

    import tsae
    import tsae.models.device
    import tsae.plugins
    from tsae.errors import NamedMemoryError

    monkeypatch.setattr(tsae.models.device, "free_memory", lambda device="cpu": 8 * 2**30, raising=False)

    def built(*args, **kwargs):
        raise AssertionError("the network was built before its memory was checked")

    monkeypatch.setattr(tsae.plugins, "create_model", built)
    x = np.random.default_rng(0).normal(0, 0.1, 4000)
    with pytest.raises(NamedMemoryError, match=r"needs about 392 GiB .* use smaller blind_spot parameters"):
        tsae.smooth(x, model_params={"hidden": 30000})
    src = tmp_path / "x.wav"
    sf.write(src, x, 16000)
    result = CliRunner().invoke(cli, ["smooth", str(src), "-o", str(tmp_path / "y.wav"), "-p", "hidden=30000"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: training on 2 window(s)"), result.output
    assert "use smaller blind_spot parameters (hidden, layers)" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]


def _no_build(monkeypatch, free: int) -> None:
    import tsae.models.device
    import tsae.plugins

    monkeypatch.setattr(tsae.models.device, "free_memory", lambda device="cpu": free, raising=False)

    def built(*args, **kwargs):
        raise AssertionError("the network was built before its memory was checked")

    monkeypatch.setattr(tsae.plugins, "create_model", built)


def test_a_deep_blind_spot_network_is_one_line_before_it_is_built(tmp_path, monkeypatch) -> None:
    # `tsae smooth s.wav -p layers=16` (9.65 s at 16 kHz) passed the check and grew past 11 GB: the activations
    # of a window of 131200 samples through 2 x 16 layers were estimated at 34 MB, a training step holds 1 GB
    import numpy as np

    import tsae
    from tsae.errors import NamedMemoryError

    _no_build(monkeypatch, 4 * 2**30)
    x = np.random.default_rng(0).normal(0, 0.1, 4000)
    with pytest.raises(NamedMemoryError, match=r"x 131200 samples needs about .* use smaller blind_spot parameters"):
        tsae.smooth(x, model_params={"layers": 16, "hidden": 64})


def test_a_network_of_wide_reach_trains_on_fewer_windows_and_smaller_batches() -> None:
    from tsae.models.fit import activation_bytes
    from tsae.pipelines.smooth import blind_spot as bs

    # the default's work is unchanged
    assert bs._plan(1, {}) == bs._Plan(pad=16, seg=160, windows=800, batch=16, weights=4833)
    assert bs._plan(1, {"layers": 8}).windows == 740
    deep = bs._plan(1, {"layers": 16})
    assert (deep.seg, deep.windows) == (131200, 1)  # 880 windows of 131200 samples were 0.9 GB and hours of work
    assert bs._plan(1, {"layers": 12}).windows == min(bs._EPOCH_SAMPLES // 8320, bs._EPOCH_WORK // (13281 * 8320))
    per_window = activation_bytes("blind_spot", 1, deep.seg, {"layers": 16})
    assert deep.batch == 1 and per_window > bs._BATCH_BYTES  # a window alone is over the budget: one a batch
    assert bs._plan(1, {"layers": -1}) is None  # the family tells its own error


def test_a_network_of_wide_reach_that_fits_is_not_refused(monkeypatch) -> None:
    from tsae.pipelines.smooth.blind_spot import check_network_memory

    _no_build(monkeypatch, 4 * 2**30)
    check_network_memory(1, {"layers": 16})


def test_a_training_step_s_activations_are_counted_without_allocating() -> None:
    # a window of 8320 samples through 2 x 12 dilated layers of 16 channels: a real step's peak grew 39 MiB a window
    from tsae.models.fit import activation_bytes

    assert 39 * 2**20 <= activation_bytes("blind_spot", 1, 8320, {"layers": 12}) < 80 * 2**20
    assert activation_bytes("blind_spot", 1, 8320, {"layers": -1}) is None


@pytest.mark.parametrize("params", [{}, {"layers": 10}, {"layers": 12, "hidden": 64}, {"layers": 16},
                                    {"hidden": 64}, {"layers": 14, "hidden": 32}])
def test_a_costly_network_trains_on_fewer_windows_within_the_epoch_work(params) -> None:
    # `tsae smooth s.wav -p layers=12 -p hidden=64` on 1 s of 16 kHz audio ran past 300 s: 252 windows an epoch of
    # 8320 samples through 207k weights; now 2, and layers=16 one, a run within a few times the default's time
    import torch

    from tsae.pipelines.smooth import blind_spot as bs
    from tsae.plugins import get_model_family

    with torch.device("meta"):
        net = get_model_family("blind_spot")(channels=1, window=bs._WINDOW, **params)
    weights, seg = sum(p.numel() for p in net.parameters()), bs._WINDOW + 2 * net.margin
    windows = bs._plan(1, params).windows
    assert windows >= 1
    assert windows * weights * seg <= max(bs._EPOCH_WORK, weights * seg)  # one window however costly


def test_a_costly_network_is_told_in_one_line_before_it_trains() -> None:
    import numpy as np

    import tsae

    x = np.random.default_rng(0).normal(0, 0.1, 1200)  # too short for the network to train: the warning comes first
    with pytest.warns(UserWarning, match=r"^blind_spot with layers=12, hidden=64: a training window costs \d+ times "
                                         r"the default network's, so it trains on 2 window\(s\) an epoch"):
        tsae.smooth(x, model_params={"layers": 12, "hidden": 64})


def test_a_held_out_check_of_a_wide_reach_runs_cuts_no_longer_than_a_prediction_s() -> None:
    # a reach of 4096 samples merged every held-out run of a long series into one cut: its features were many times
    # the series in memory, outside the memory check; the loss is the same
    import numpy as np
    import torch

    from tsae.pipelines.smooth import blind_spot as bs

    n, pad = 300_000, 4096
    rng = np.random.default_rng(1)
    zp = rng.normal(size=(1, n + 2 * pad)).astype(np.float32)
    residual = rng.normal(size=(1, n))
    val = (np.arange(n) // bs._WINDOW % 8) == 3
    seen: list[int] = []

    def net(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.shape[0] * x.shape[-1])
        return 0.5 * x

    loss = bs._HeldOut(val, pad, zp, residual).loss(net)
    assert max(seen) <= bs._NET_CUT + 2 * pad
    expected = np.mean((0.5 * zp[0, pad: pad + n].astype(np.float64) - residual[0])[val] ** 2)
    assert loss == pytest.approx(expected, rel=1e-9)


def test_the_memory_check_counts_a_held_out_check_s_forward_pass(monkeypatch) -> None:
    import tsae.models.fit
    from tsae.pipelines.smooth.blind_spot import _NET_CUT, check_network_memory

    told: dict[str, int] = {}
    monkeypatch.setattr(tsae.models.fit, "check_training_memory", lambda *a, **k: told.update(k))
    check_network_memory(1, {"layers": 12, "hidden": 64})
    assert told.get("forward", 0) >= 64 * (_NET_CUT + 2 * 4096) * 4  # a feature map of the longest cut at least
