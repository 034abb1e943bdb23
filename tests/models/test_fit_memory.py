"""A training whose windows or network cannot fit in memory is one line before anything is allocated.

``tsae.fit(x, window=10**6)`` on 400 samples built a conv1d whose dense layers hold a
billion weights and trained it (over 20 GB with the gradients and Adam's moments): the
process was killed for memory instead of saying so.
"""
from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run

import tsae
from tsae.errors import NamedMemoryError
from tsae.models.trainer import TrainConfig

GIB = 2**30
QUICK = TrainConfig(epochs=1, quiet=True, device="cpu")


def pretend_free(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    import tsae.models.device

    monkeypatch.setattr(tsae.models.device, "free_memory", lambda device="cpu": size, raising=False)


@pytest.fixture
def free_8_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine has 8 GiB free, and building a network for real fails the test (the check comes first)."""
    import tsae.plugins

    pretend_free(monkeypatch, 8 * GIB)

    def built(*args, **kwargs):
        raise AssertionError("the network was built before the training's memory was checked")

    monkeypatch.setattr(tsae.plugins, "create_model", built)


@pytest.mark.filterwarnings("ignore::tsae.models.fit.ShortSeriesWarning")
def test_fit_with_a_window_whose_network_cannot_fit_is_one_line(free_8_gib) -> None:
    x = np.sin(np.arange(400) / 5)
    with pytest.raises(NamedMemoryError) as caught:
        tsae.fit(x, window=10**6, config=QUICK)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("training on 1 window(s) of 1 x 1000000 samples needs about "), text
    assert "model family 'conv1d' with its gradients, optimiser state and a batch's activations" in text
    assert text.endswith("but only 8 GiB of memory is free: use a shorter window or smaller family parameters"), text
    # conv1d's two dense layers of 128 x 125000 x 32 (3.9 GiB), six copies of them, and the window's activations
    # as its forward pass saves them (1.5 GiB; the rule of thumb of 64 bytes a byte of input said 0.24 GiB)
    need = float(text.split("needs about ")[1].split(" GiB")[0])
    assert 24 < need < 26, text


@pytest.mark.filterwarnings("ignore::tsae.models.fit.ShortSeriesWarning")
def test_fit_with_windows_that_cannot_fit_names_the_windows(free_8_gib, monkeypatch) -> None:
    with pytest.raises(NamedMemoryError, match=r"^training on 1 window\(s\) of 2 x 100000000000000000000 samples needs "
                       r"about 7.45e\+11 GiB \(the windows 7.45e\+11 GiB\), but only 8 GiB of memory is free: use a "
                       r"shorter window$"):
        tsae.fit(np.ones((2, 50)), window=10**20, config=QUICK)
    pretend_free(monkeypatch, GIB)
    many = np.sin(np.arange(2 * 300_000).reshape(2, -1) / 7)  # the 200,000 windows kept of 2 x 1024: 1.53 GiB
    with pytest.raises(NamedMemoryError, match=r"^training on 200000 window\(s\) of 2 x 1024 samples needs about "
                       r"1\.6\d GiB \(the windows 1\.53 GiB, model family 'conv1d' .* 0\.1\d+ GiB\), but only 1 GiB "
                       r"of memory is free: use a shorter window or a larger hop$"):
        tsae.fit(many, window=1024, hop=1, config=QUICK)


def test_a_training_that_fits_is_not_refused(monkeypatch) -> None:
    pretend_free(monkeypatch, 64 << 20)  # 64 MiB
    fit = tsae.fit(np.sin(np.arange(400) / 5), window=16, params={"hidden": 4, "latent": 4}, config=QUICK)
    assert fit.n_windows == 97


def test_free_memory_is_known_on_linux() -> None:
    from tsae.models.device import free_memory

    free = free_memory("cpu")
    assert free is None or free > 0


def test_train_with_a_window_whose_network_cannot_fit_is_one_line(free_8_gib, tmp_path) -> None:
    data = tmp_path / "s.npy"
    np.save(data, np.sin(np.arange(400) / 5))
    out = tmp_path / "m.tsae"
    assert_one_line_error(run("train", data, "--window", str(10**6), "--epochs", "1", "-q", "--device", "cpu",
                              "-o", out),
                          f"{data}: not enough memory to train on it (training on 1 window(s) of 1 x 1000000 samples",
                          "but only 8 GiB of memory is free: use a shorter window or smaller family parameters)")
    assert not out.exists()


def _no_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    import tsae.pipelines.anomaly.fitting

    def framed(*args, **kwargs):
        raise AssertionError("the detector's windows were cut before its training's memory was checked")

    monkeypatch.setattr(tsae.pipelines.anomaly.fitting, "fit_window_terms", framed)


def test_a_detector_whose_windows_cannot_fit_is_one_line(free_8_gib, monkeypatch) -> None:
    # before: Detector.fit cut its windows and their float64 copies for the subspace term first, and died of a
    # bare MemoryError in numpy (under ulimit -v 6000000: `tsae detect fit` on 8 x 50000 samples, --window 8000)
    _no_windows(monkeypatch)
    pretend_free(monkeypatch, 2 * GIB)
    x = np.sin(np.arange(8 * 50_000).reshape(8, -1) / 7)
    # 3819 windows (the subspace's at most 4000, every 11th) held as float32 (0.91 GiB) with their centred float64
    # copy and as many principal axes at most (1.82 GiB each) and the Gram matrix's eigen-decomposition (0.54 GiB)
    with pytest.raises(NamedMemoryError, match=r"^training on 3819 window\(s\) of 8 x 8000 samples needs about "
                       r"6\.\d+ GiB \(the windows 5\.1 GiB, model family 'conv1d' .* 1\.\d+ GiB\), but only 2 GiB "
                       r"of memory is free: use a shorter window$"):
        tsae.Detector(window=8000, epochs=1, device="cpu").fit(x)
    with pytest.raises(NamedMemoryError, match=r"^training on 1 window\(s\) of 1 x 500000 samples needs about .*"
                       r"but only 2 GiB of memory is free: use a shorter window or smaller family parameters$"):
        tsae.Detector(window=500_000, epochs=1, device="cpu", calibration="training").fit(np.sin(np.arange(500_000)))


def test_detect_fit_with_windows_that_cannot_fit_is_one_line(free_8_gib, monkeypatch, tmp_path) -> None:
    _no_windows(monkeypatch)
    pretend_free(monkeypatch, 2 * GIB)
    data, out = tmp_path / "wide.npy", tmp_path / "d.tsae"
    np.save(data, np.sin(np.arange(8 * 50_000).reshape(8, -1) / 7))
    assert_one_line_error(run("detect", "fit", data, "--window", "8000", "--epochs", "1", "-q", "--device", "cpu",
                              "-o", out),
                          f"{data}: not enough memory to train on it (training on 3819 window(s) of 8 x 8000 samples",
                          "but only 2 GiB of memory is free: use a shorter window)")
    assert not out.exists()


def test_a_detector_that_fits_is_not_refused(monkeypatch) -> None:
    pretend_free(monkeypatch, 64 << 20)  # 64 MiB
    x = np.sin(np.arange(3 * 900).reshape(3, -1) / 5)
    assert tsae.Detector(window=24, epochs=1, device="cpu", quiet=True).fit(x).window_ == 24


def counted_builds(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """The names of the families built from now on (each a network: the count grows as they are), 8 GiB free."""
    import tsae.plugins

    pretend_free(monkeypatch, 8 * GIB)
    family = tsae.plugins.get_model_family(name)
    built: list[str] = []

    def counted(name: str):
        built.append(name)
        return family

    monkeypatch.setattr(tsae.plugins, "get_model_family", counted)
    return built


def test_the_memory_check_builds_the_network_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """It built the network on torch's meta device twice: once for its weights, once to run it forward."""
    from tsae.models.fit import check_training_memory

    built = counted_builds(monkeypatch, "conv1d")
    check_training_memory("conv1d", 1, 64, 10, {}, QUICK, windows=4 * 64 * 10)
    assert built == ["conv1d"]


def test_the_blind_spot_memory_check_shares_its_network_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """smooth's memory check built the blind_spot network on torch's meta device four times: for its plan, the plan's
    activations, the forward pass (forward_bytes) and the training's count (_meta_bytes); now the plan's build serves
    its activations and one build the other two (the family's layers fit any window)."""
    from tsae.pipelines.smooth.blind_spot import check_network_memory

    built = counted_builds(monkeypatch, "blind_spot")
    check_network_memory(2, {"layers": 3})
    assert built == ["blind_spot"] * 2


def test_a_shared_meta_build_counts_what_a_build_of_its_own_does() -> None:
    from tsae.models.fit import _meta_bytes, forward_bytes, meta_network

    params = {"layers": 3}
    net = meta_network("blind_spot", 2, 128, params)  # another window: the family's layers fit any
    assert forward_bytes("blind_spot", 2, 5000, params, net) == forward_bytes("blind_spot", 2, 5000, params) > 0
    assert _meta_bytes("blind_spot", 2, 144, params, net) == _meta_bytes("blind_spot", 2, 144, params)
    assert meta_network("blind_spot", 2, 128, {"layers": -1}) is None  # refused: the real build tells it
