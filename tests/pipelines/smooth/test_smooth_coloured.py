"""smooth(noise="coloured") / tsae smooth --noise coloured: noise correlated over a few samples (AR(1)-like)."""
from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import run

from tsae.io.blocks import open_source
from tsae.pipelines.smooth import smooth, smooth_file
from tsae.pipelines.smooth.blocks import smooth_blocks
from tsae.pipelines.smooth.coloured import noise_hole
from tsae.pipelines.smooth.smoother import noise_sigma

from smooth_helpers import rmse


def _ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance AR(1) noise (its first sample drawn from the stationary law)."""
    from scipy.signal import lfilter

    e = rng.normal(size=n) * np.sqrt(1 - phi * phi)
    return lfilter([1.0], [1.0, -phi], e, zi=[phi * rng.normal()])[0]


def _cycle(n: int, period: int = 144) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / period) + 0.4 * np.sin(4 * np.pi * t / period + 1.0)


def _coloured(n: int, phi: float = 0.7, level: float = 0.3, seed: int = 11,
              period: int = 144) -> tuple[np.ndarray, np.ndarray]:
    truth = _cycle(n, period)
    return truth, truth + level * truth.std() * _ar1(n, phi, np.random.default_rng(seed))


# AR(1) noise of 0.9 is correlated over tens of samples: under a cycle of 144 it is barely told from the signal
# (0.80-1.16 of the white default's error), under one of 500 it is (0.59-0.67)
def _hole(x: np.ndarray) -> tuple[int, float | None]:
    z = (x - np.median(x)) / x.std()
    return noise_hole(z, noise_sigma(z))


@pytest.mark.parametrize(("phi", "period", "n"), [(0.7, 144, 2000), (0.9, 500, 3000)])
@pytest.mark.parametrize("level", [0.1, 0.3])
def test_coloured_noise_is_smoothed_harder_when_the_user_says_so(phi: float, period: int, n: int,
                                                                 level: float) -> None:
    truth, noisy = _coloured(n, phi, level, period=period)
    white = rmse(smooth(noisy, steps=0), truth)
    coloured = rmse(smooth(noisy, steps=0, noise="coloured"), truth)
    # the one-sample blind spot predicted the noise from its neighbours (0.7, 0.3: 0.254 of the truth's spread)
    assert coloured < 0.8 * white
    assert np.array_equal(smooth(noisy, steps=0, noise="colored"), smooth(noisy, steps=0, noise="coloured"))


def test_the_hole_follows_the_noise() -> None:
    truth, noisy = _coloured(2000, 0.7)
    hole, sigma = _hole(noisy)
    assert 3 <= hole <= 8 and sigma is not None
    assert _hole(_coloured(3000, 0.9, period=500)[1])[0] > hole


@pytest.mark.parametrize("signal", ["cycle", "steps", "flat"])
def test_white_noise_told_coloured_is_smoothed_as_white(signal: str) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    truth = {"cycle": _cycle(n), "steps": np.repeat(rng.normal(size=n // 100), 100), "flat": np.zeros(n)}[signal]
    for level in (0.1, 0.3, 1.0):
        noisy = truth + level * rng.normal(size=n)
        assert _hole(noisy) == (0, None)
    assert np.array_equal(smooth(noisy, steps=0, noise="coloured"), smooth(noisy, steps=0))


@pytest.mark.parametrize("bad", ["pink", "Coloured", "", None, 1, True])
def test_a_bad_noise_choice_is_refused(bad) -> None:
    with pytest.raises(ValueError, match="^noise must be 'white' or 'coloured'"):
        smooth(np.sin(np.arange(300) / 5), noise=bad)


def test_coloured_noise_beside_a_trained_model_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="^noise='coloured'.*trained model"):
        smooth(np.sin(np.arange(300) / 5), model=object(), noise="coloured")
    np.save(tmp_path / "x.npy", np.sin(np.arange(300) / 5))
    with pytest.raises(ValueError, match="^noise must be"):  # the option's own error, before the file is read
        smooth_file(tmp_path / "x.npy", tmp_path / "s.npy", noise="grey")
    assert not (tmp_path / "s.npy").exists()


def test_noise_on_the_command_line(tmp_path) -> None:
    truth, noisy = _coloured(1500)
    np.save(tmp_path / "x.npy", noisy)
    result = run("smooth", tmp_path / "x.npy", "-o", tmp_path / "s.npy", "--noise", "pink", "-q")
    assert result.exit_code == 2 and "--noise" in result.output and not (tmp_path / "s.npy").exists()
    for spelling in ("coloured", "colored"):
        result = run("smooth", tmp_path / "x.npy", "-o", tmp_path / f"{spelling}.npy", "--noise", spelling, "-q")
        assert result.exit_code == 0, result.output
        assert np.array_equal(np.load(tmp_path / f"{spelling}.npy"), smooth(noisy, noise="coloured"))


def test_coloured_blocks_join_as_one(tmp_path) -> None:
    """The hole and the noise level are learned from the first block with the rest of the predictor: the blocks
    join without seams, and a file within one block is exactly smooth()."""
    _, noisy = _coloured(20_000, 0.8, seed=5)
    np.save(tmp_path / "x.npy", noisy)

    def blocks(path, **kwargs) -> np.ndarray:
        parts: list[np.ndarray] = []
        smooth_blocks(open_source(path), parts.append, lambda done: None, steps=0, noise="coloured", **kwargs)
        return np.concatenate(parts, axis=1)[0]

    one = blocks(tmp_path / "x.npy", block=20_000, learn=6000)
    many = blocks(tmp_path / "x.npy", block=2999, learn=6000)
    assert np.allclose(many, one, rtol=0, atol=1e-9)
    np.save(tmp_path / "short.npy", noisy[:3000])
    assert np.allclose(blocks(tmp_path / "short.npy", block=3000), smooth(noisy[:3000], steps=0, noise="coloured"),
                       rtol=0, atol=1e-12)


def test_coloured_edge_cases() -> None:
    # shorter than 32 samples: no hole to measure, smoothed as white
    short = np.sin(np.arange(25) / 3) + 0.2 * np.random.default_rng(0).normal(size=25)
    assert np.array_equal(smooth(short, noise="coloured"), smooth(short))
    assert np.array_equal(smooth(np.full(500, 3.5), noise="coloured"), np.full(500, 3.5))
    truth, noisy = _coloured(2000)
    gappy = noisy.copy()
    gappy[400:450] = np.nan
    out = smooth(gappy, steps=0, noise="coloured")
    assert np.isnan(out[400:450]).all() and np.isfinite(np.delete(out, np.s_[400:450])).all()
    assert np.array_equal(smooth(noisy, 0.0, noise="coloured"), noisy)
    full = smooth(noisy, steps=0, noise="coloured")
    assert np.allclose(smooth(noisy, 0.5, steps=0, noise="coloured"), 0.5 * (noisy + full), rtol=0, atol=1e-12)
    # channels: each its own hole (the white one none), each as smoothed alone
    white = _cycle(2000) + 0.3 * np.random.default_rng(4).normal(size=2000)
    both = smooth(np.stack([noisy, white]), steps=0, noise="coloured")
    assert np.allclose(both[0], full, rtol=0, atol=1e-12)
    assert np.allclose(both[1], smooth(white, steps=0), rtol=0, atol=1e-12)
    # a spike is still kept by the edge guard, and smoothed over with spikes="smooth"
    spiky = noisy.copy()
    spiky[1000] += 40.0
    assert smooth(spiky, steps=0, noise="coloured")[1000] > 30.0
    assert smooth(spiky, steps=0, noise="coloured", spikes="smooth")[1000] < 5.0
    assert abs(smooth(spiky, steps=0, noise="coloured", edge_guard=False)[1000] - truth[1000]) < 5.0
