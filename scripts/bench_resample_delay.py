"""Resamplers of the streaming denoiser: held-back time, round-trip band SNR and CPU cost, LD vs soxr LQ and HQ.

1. Held back: a ``StreamingDenoiser`` fed ``--chunk-ms`` chunks of silence; after each chunk, samples fed minus
   samples returned, in ms (min-max over the chunks from 0.5 s on, and the most over the whole stream, which is
   what ``tsae denoise --live`` buffers), at 48, 44.1, 16 and 8 kHz.
2. Round trip: speech (16 kHz files, upsampled to 48 kHz with soxr VHQ) through 48 -> 16 -> 48 kHz in chunks,
   the error's energy in the 0-7 kHz band against the speech's (SNR in dB).
3. CPU: seconds of one thread per audio second at 48 kHz in 10 ms chunks, for the two resamplers of a stream
   (to 16 kHz and back) and for the whole denoiser.

Usage: ``OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python scripts/bench_resample_delay.py [FILE ...] [--chunk-ms 10]
[--tries 15]`` (default
``data/noisy_speech.wav``; one numba thread: on a busy machine a second one's waits made the denoiser's CPU time
vary fourfold).
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from tsae.engine.polyphase import PolyphaseResampler
from tsae.pipelines.denoise.denoiser import StreamingDenoiser

QUALITIES = ("LD", "LQ", "HQ")


def held_back(rate: int, quality: str, chunk_ms: float, seconds: float = 3.0) -> tuple[float, float, float]:
    """(min, max) ms held back from 0.5 s on, and the most over the stream."""
    den = StreamingDenoiser(rate, resample_quality=quality)
    block = int(rate * chunk_ms / 1000)
    silence = np.zeros(block, np.float32)
    fed = out = 0
    steady, most = [], 0
    for _ in range(int(seconds * rate / block)):
        out += len(den.feed(silence))
        fed += block
        most = max(most, fed - out)
        if fed >= rate // 2:
            steady.append(fed - out)
    return 1000 * min(steady) / rate, 1000 * max(steady) / rate, 1000 * most / rate


def stream(quality: str, rate_in: int, rate_out: int) -> Any:
    """A function of (channels, n) chunks and ``last``, for one resampler."""
    if quality == "LD":
        rs = PolyphaseResampler(rate_in, rate_out)
        return rs.push
    soxr_stream = soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32", quality=quality)
    return lambda x, last=False: soxr_stream.resample_chunk(np.ascontiguousarray(x.T), last=last).T


def round_trip(x: np.ndarray, quality: str, block: int) -> np.ndarray:
    down, up = stream(quality, 48000, 16000), stream(quality, 16000, 48000)
    parts = [up(down(x[None, i: i + block])) for i in range(0, len(x), block)]
    parts.append(up(down(x[None, :0], last=True), last=True))
    return np.concatenate(parts, axis=1)[0]


def band_snr(ref: np.ndarray, y: np.ndarray, rate: int, top: float = 7000.0) -> float:
    n = min(len(ref), len(y))
    edge = rate // 10  # the first and last 100 ms aside
    ref, y = ref[edge: n - edge].astype(np.float64), y[edge: n - edge].astype(np.float64)
    spec_ref, spec_err = np.fft.rfft(ref), np.fft.rfft(y - ref)
    band = np.fft.rfftfreq(len(ref), 1 / rate) <= top
    return float(10 * np.log10(np.sum(np.abs(spec_ref[band]) ** 2) / np.sum(np.abs(spec_err[band]) ** 2)))


def cpu_seconds(work: Any) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=[Path("data/noisy_speech.wav")])
    parser.add_argument("--chunk-ms", type=float, default=10.0)
    parser.add_argument("--tries", type=int, default=15, help="CPU timings: tries of one second each")
    args = parser.parse_args()

    print(f"held back, ms, {args.chunk_ms:g} ms chunks of silence (min-max from 0.5 s; most over the stream)")
    for rate in (48000, 44100, 16000, 8000):
        cells = []
        for q in QUALITIES:
            lo, hi, most = held_back(rate, q, args.chunk_ms)
            cells.append(f"{q} {lo:.1f}-{hi:.1f} ({most:.1f})")
        print(f"  {rate:6d} Hz  " + "   ".join(cells))

    block = int(48000 * args.chunk_ms / 1000)
    print("round trip 48 -> 16 -> 48 kHz, SNR in 0-7 kHz, dB")
    speech = []
    for path in args.files:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        x = soxr.resample(audio[:, 0], rate, 48000, quality="VHQ").astype(np.float32)
        speech.append(x)
        snrs = [f"{q} {band_snr(x, round_trip(x, q, block), 48000):.1f}" for q in QUALITIES]
        print(f"  {path.name}: " + "   ".join(snrs))

    x = np.concatenate(speech)[:48000]  # one second a try; the least of many tries (a busy machine adds, never takes)
    print(f"CPU, ms per audio second at 48 kHz, {args.chunk_ms:g} ms chunks, one thread (least of {args.tries}, "
          "interleaved)")
    dens = {q: StreamingDenoiser(48000, resample_quality=q) for q in QUALITIES}
    best: dict[str, list[float]] = {q: [math.inf, math.inf] for q in QUALITIES}

    def denoise(den: StreamingDenoiser) -> None:
        for i in range(0, len(x), block):
            den.feed(x[i: i + block])
        den.flush()

    for q in QUALITIES:  # compiled and warm
        round_trip(x[:4800], q, block)
        denoise(dens[q])
    for _ in range(args.tries):
        for q in QUALITIES:
            resampling = cpu_seconds(lambda q=q: round_trip(x, q, block))
            whole = cpu_seconds(lambda q=q: denoise(dens[q]))
            best[q] = [min(best[q][0], resampling), min(best[q][1], whole)]
    for q in QUALITIES:
        print(f"  {q}: resamplers (to 16 kHz and back) {1000 * best[q][0]:.2f}   denoiser {1000 * best[q][1]:.1f}")



if __name__ == "__main__":
    main()
