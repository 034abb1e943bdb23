#!/usr/bin/env python
"""Make data/noisy_speech.wav: a public-domain LJ Speech clip + public-domain cafe noise.

Speech: LJ Speech 1.1, LJ001-0001 (public domain), as stored in
../shared/data/speech/clean/ljspeech_LJ001-0001.flac (16 kHz).
Noise: blanket_coffee_shop.wav (soundbible 1664, public domain) from
../shared/data/speech/noise/. Mixed at 5 dB SNR (active speech level), seed 0.

Usage::

    python scripts/make_denoise_sample.py [--data ../shared/data/speech] [--out data/noisy_speech.wav]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "speech"
SPEECH = Path("clean") / "ljspeech_LJ001-0001.flac"
NOISE = Path("noise") / "blanket_coffee_shop.wav"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="the shared speech data folder")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "noisy_speech.wav")
    args = ap.parse_args(argv)
    missing = [args.data / name for name in (SPEECH, NOISE) if not (args.data / name).is_file()]
    if missing:
        print(f"{missing[0]}: not found (the speech data of ../shared; pass --data DIR)", file=sys.stderr)
        return 1
    speech, sr = sf.read(args.data / SPEECH, dtype="float64")
    noise, nsr = sf.read(args.data / NOISE, dtype="float64")
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
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out, mix, sr, subtype="PCM_16")
    print(f"wrote {out} ({len(mix) / sr:.1f} s, {out.stat().st_size / 1000:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
