"""Audio above the model's rate: the band over 8 kHz follows --strength and --atten-limit."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.pipelines.denoise.denoiser import StreamingDenoiser, denoise

SR = 44100


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    voiced = 0.2 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    return (0.05 * rng.standard_normal(len(t)) + 0.1 * np.sin(2 * np.pi * 12000 * t) + voiced).astype(np.float32)


def _band_db(y: np.ndarray, low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / SR)
    return float(10 * np.log10(power[(f > low) & (f < high)].sum()))


def test_strength_zero_keeps_the_whole_band(audio) -> None:
    out = denoise(audio, SR, strength=0.0)
    assert out.shape == audio.shape and np.abs(out - audio).max() < 1e-5


@pytest.mark.parametrize(("options", "change_db"), [({"atten_limit": 12.0}, -12.0), ({"strength": 0.5}, -6.02)])
def test_high_band_gain_follows_the_options(audio, options, change_db) -> None:
    out = denoise(audio, SR, **options)
    assert _band_db(out, 9000, 20000) - _band_db(audio, 9000, 20000) == pytest.approx(change_db, abs=0.3)


def test_full_strength_removes_the_high_band(audio) -> None:
    out = denoise(audio, SR)
    assert _band_db(out, 9000, 20000) - _band_db(audio, 9000, 20000) < -40


def test_high_band_streams_like_the_whole_file(audio) -> None:
    rng = np.random.default_rng(1)
    den = StreamingDenoiser(SR, strength=0.5)
    parts, i = [], 0
    while i < len(audio):
        n = int(rng.integers(1, 3000))
        parts.append(den.feed(audio[i: i + n]))
        i += n
    parts.append(den.flush())
    np.testing.assert_allclose(np.concatenate(parts), denoise(audio, SR, strength=0.5), atol=1e-6)
