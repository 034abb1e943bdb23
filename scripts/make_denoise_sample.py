#!/usr/bin/env python
"""Make data/noisy_speech.wav: a public-domain LJ Speech clip + public-domain cafe noise.

Speech: LJ Speech 1.1, LJ001-0001 (public domain), as stored in
../shared/data/speech/clean/ljspeech_LJ001-0001.flac (16 kHz).
Noise: blanket_coffee_shop.wav (soundbible 1664, public domain) from
../shared/data/speech/noise/. Mixed at 5 dB SNR (active speech level), seed 0.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "speech"


def main() -> None:
    speech, sr = sf.read(DATA / "clean" / "ljspeech_LJ001-0001.flac", dtype="float64")
    noise, nsr = sf.read(DATA / "noise" / "blanket_coffee_shop.wav", dtype="float64")
    assert sr == nsr == 16000
    rng = np.random.default_rng(0)
    start = rng.integers(0, len(noise))
    noise = np.tile(noise, 2)[start: start + len(speech)]
    frames = speech[: len(speech) // 320 * 320].reshape(-1, 320)
    e = np.sqrt(np.mean(frames**2, axis=1))
    active = np.sqrt(np.mean(e[e > e.max() * 10 ** (-30 / 20)] ** 2))
    noise *= active / np.sqrt(np.mean(noise**2)) * 10 ** (-5 / 20)
    mix = speech + noise
    mix *= 10 ** (-22 / 20) / np.sqrt(np.mean(mix**2))
    mix = np.clip(mix, -1, 1)
    out = ROOT / "data" / "noisy_speech.wav"
    out.parent.mkdir(exist_ok=True)
    sf.write(out, mix, sr, subtype="PCM_16")
    print(f"wrote {out} ({len(mix) / sr:.1f} s, {out.stat().st_size / 1000:.0f} KB)")


if __name__ == "__main__":
    main()
