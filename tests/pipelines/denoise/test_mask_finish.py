"""The compiled per-frame mask finisher (guard, attenuation limit, strength) against a plain numpy reference."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.models.base import SILENT_POWER
from tsae.pipelines.denoise import mask_finish as mf
from tsae.pipelines.denoise.mask_finish import MaskFinisher


def lift_mask(mask: np.ndarray, low: np.ndarray | float) -> np.ndarray:
    """The lift written with whole-array numpy operations: max for a real mask; a complex one below
    ``low`` becomes ``m + (low - |m|)`` rescaled to ``low`` (0 -> ``low``)."""
    if not np.iscomplexobj(mask):
        return np.maximum(mask, low)
    mag = np.abs(mask)
    shifted = mask + np.maximum(low - mag, 0.0)
    size = np.abs(shifted)
    lifted = np.where(size > 0, shifted / np.where(size > 0, size, 1.0) * low, low)
    return np.where(mag >= low, mask, lifted)


class NumpyGuard:
    """The clean-signal guard written with whole-array numpy operations, frame by frame."""

    def __init__(self) -> None:
        self.smooth: np.ndarray | None = None

    def gains(self, spec: np.ndarray) -> np.ndarray:
        power = spec.real**2 + spec.imag**2
        silent = power.mean(axis=-1, keepdims=True) < SILENT_POWER
        if self.smooth is None:
            if silent.all():
                return np.ones_like(power)
            self.smooth, self.noise, self.minima, self.frames = power.copy(), power.copy(), [], 0
        else:
            self.smooth = np.where(silent, self.smooth, mf.GUARD_SMOOTH * self.smooth + (1 - mf.GUARD_SMOOTH) * power)
            self.noise = np.where(silent, self.noise, np.minimum(self.noise, self.smooth))
        self.frames += 1
        floor = np.minimum.reduce([self.noise, *self.minima])
        if self.frames >= mf.GUARD_BLOCK:
            self.minima = [*self.minima, self.noise][-mf.GUARD_BLOCKS:]
            self.noise, self.frames = self.smooth.copy(), 0
        snr_db = 10.0 * np.log10((power + 1e-20) / np.maximum(floor, 1e-20))
        return np.where(silent, 1.0, np.clip((snr_db - mf.GUARD_DB) / mf.GUARD_RAMP, 0.0, 1.0))


def frames(n: int, seed: int = 0) -> np.ndarray:
    """``n`` two-channel spectra: a noise floor that changes level, speech-like bursts, digital silence."""
    rng = np.random.default_rng(seed)
    level = np.repeat(rng.uniform(0.01, 1.0, size=n // 40 + 1), 40)[:n, None, None]
    spec = level * (rng.standard_normal((n, 2, 257)) + 1j * rng.standard_normal((n, 2, 257)))
    burst = rng.random((n, 2, 1)) < 0.3
    spec = np.where(burst, spec * 300.0, spec)
    spec[:5] = 0.0  # silence before anything is heard
    spec[50:70, 1] = 0.0  # one channel silent for a while
    return spec


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize(("guard", "floor", "strength"), [(True, 0.0, 1.0), (True, 0.25, 0.7), (False, 0.1, 1.0),
                                                          (False, 0.0, 0.5)])
def test_finisher_equals_the_numpy_reference(kind: str, guard: bool, floor: float, strength: float) -> None:
    spec = frames(200)  # 200 frames: more than GUARD_BLOCKS blocks of GUARD_BLOCK, so old minima leave the window
    rng = np.random.default_rng(1)
    masks = rng.uniform(0.0, 1.0, spec.shape)
    if kind == "complex":
        masks = (masks * np.exp(1j * rng.uniform(-np.pi, np.pi, spec.shape))).astype(np.complex64)
    else:
        masks = masks.astype(np.float32)
    masks[3, 0, :10] = 0.0  # zero masks: lifted without a phase to keep
    finisher, reference = MaskFinisher(2, 257, guard=guard, floor=floor, strength=strength), NumpyGuard()
    for spec_t, mask_t in zip(spec, masks, strict=True):
        mask = mask_t.astype(np.complex128 if kind == "complex" else np.float64)
        if guard:
            mask = lift_mask(mask, reference.gains(spec_t))
        if floor:
            mask = lift_mask(mask, floor)
        mask = 1.0 - strength * (1.0 - mask)
        np.testing.assert_allclose(finisher.apply(spec_t, mask_t), spec_t * mask, rtol=1e-12, atol=1e-12)


def test_guard_passes_clean_signal_and_masks_noise() -> None:
    """After a quiet noise floor is learnt, a loud frame is passed whole and a noise-level frame keeps the mask."""
    rng = np.random.default_rng(3)

    def noise(level: float) -> np.ndarray:
        return level * (rng.standard_normal((1, 257)) + 1j * rng.standard_normal((1, 257)))

    finisher = MaskFinisher(1, 257)
    mask = np.full((1, 257), 0.1, np.float32)
    for _ in range(40):
        finisher.apply(noise(0.01), mask)
    loud = noise(100.0)  # 80 dB over the floor
    np.testing.assert_allclose(finisher.apply(loud, mask), loud)
    quiet = noise(0.01)
    np.testing.assert_allclose(finisher.apply(quiet, mask), 0.1 * quiet)


def test_reset_forgets_the_noise_floor() -> None:
    rng = np.random.default_rng(4)
    spec = [rng.standard_normal((1, 257)) * level + 0j for level in (0.01,) * 30 + (1.0,) * 5]
    mask = np.full((1, 257), 0.2, np.float32)
    first = MaskFinisher(1, 257)
    outs = [first.apply(s, mask) for s in spec]
    first.reset()
    np.testing.assert_array_equal([first.apply(s, mask) for s in spec], outs)


def test_a_channel_that_starts_silent_is_denoised_as_it_would_be_alone() -> None:
    """The guard tracks each channel's noise floor from its own first sound (a batch of files, a stereo file
    whose second channel starts later): a floor taken from digital silence would pass its noise untouched."""
    import tsae

    rng = np.random.default_rng(0)
    sr = 16000
    t = np.arange(3 * sr) / sr
    speechy = (0.3 * np.sin(2 * np.pi * 210 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)
               + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    late = np.r_[np.zeros(sr, np.float32), speechy[: 2 * sr]]
    together = tsae.denoise(np.stack([speechy, late]), sr)
    np.testing.assert_allclose(together[1], tsae.denoise(late, sr), atol=1e-5)
    np.testing.assert_allclose(together[0], tsae.denoise(speechy, sr), atol=1e-5)
