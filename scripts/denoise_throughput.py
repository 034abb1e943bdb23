#!/usr/bin/env python
"""Throughput of ``denoise_files`` on a folder of files, at several ``--batch`` x ``--jobs`` settings.

Writes ``--files`` files of 10 s (float WAV, white noise at -20 dBFS: the model's work does not
depend on the content) to a temporary folder, warms up at each batch size on 1 s files (CUDA start
and kernels, numba's compiled kernels: without it the first setting measured 189x on a GPU where
the second ran at 410x), then
times ``denoise_files`` folder to folder at each setting and prints "x real time" (audio seconds /
wall seconds). With a non-CPU device, the first setting's outputs of four files are compared with
the CPU's. The issue's GPU goal is a batch of files at 500x real time; ``scripts/bench_denoise.py``
has the one-thread CPU comparison with the anchors.

Usage::

    python scripts/denoise_throughput.py [MODEL] --device cuda --files 256 --settings 64x1 64x4 32x8
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def setting(text: str) -> tuple[int, int]:
    """``BATCHxJOBS`` -> ``(batch, jobs)``."""
    try:
        batch, jobs = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not BATCHxJOBS, e.g. 64x4") from None
    if batch < 1 or jobs < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: batch and jobs must be at least 1")
    return batch, jobs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default=None, help="a .tsae denoiser (default: the shipped one)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--settings", type=setting, nargs="+", default=[(16, 1), (8, 2)], metavar="BATCHxJOBS")
    args = ap.parse_args(argv)
    if args.files < 1:
        ap.error(f"--files: must be at least 1, got {args.files}")

    from tsae.pipelines.denoise.denoiser import load_denoiser
    from tsae.pipelines.denoise.files import denoise_files

    try:
        load_denoiser(args.model, args.device)
    except (OSError, ValueError) as error:  # a missing or corrupt model file, no CUDA: one line
        sys.exit(f"{args.model}: {error}" if args.model and str(args.model) not in str(error) else str(error))

    print(f"{os.cpu_count()} CPU cores, {args.files} files x 10 s, device {args.device}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "in")
        folder.mkdir()
        rng = np.random.default_rng(0)
        for i in range(args.files):
            # float WAVs: the outputs are float too, so the device-CPU comparison sees more than 16-bit steps
            sf.write(folder / f"{i:03d}.wav", 0.1 * rng.standard_normal(16000 * 10), 16000, subtype="FLOAT")
        few = [str(folder / f"{i:03d}.wav") for i in range(min(4, args.files))]
        # warm-up at each batch size (CUDA kernels and cuDNN plans per shape, numba's compiled kernels) on 1 s files
        warm = Path(tmp, "warm")
        warm.mkdir()
        for i in range(max(b for b, _ in args.settings)):
            sf.write(warm / f"{i:03d}.wav", 0.1 * rng.standard_normal(16000), 16000, subtype="FLOAT")
        for batch in sorted({b for b, _ in args.settings}):
            denoise_files(sorted(str(f) for f in warm.iterdir())[:batch], Path(tmp, f"warm_out{batch}"),
                          model=args.model, batch=batch, device=args.device, quiet=True)
        print("| --batch | --jobs | seconds | x real time |\n|---|---|---|---|", flush=True)
        for k, (batch, jobs) in enumerate(args.settings):
            t = time.perf_counter()
            denoise_files([str(folder)], Path(tmp, f"out{k}"), model=args.model, batch=batch, jobs=jobs,
                          device=args.device, quiet=True)
            dt = time.perf_counter() - t
            print(f"| {batch} | {jobs} | {dt:.2f} | {10 * args.files / dt:.0f}x |", flush=True)
        if args.device != "cpu":
            denoise_files(few, Path(tmp, "cpu"), model=args.model, batch=4, device="cpu", quiet=True)
            diff = max(float(np.abs(sf.read(Path(tmp, "cpu", Path(f).name))[0]
                                    - sf.read(Path(tmp, "out0", Path(f).name))[0]).max()) for f in few)
            print(f"{args.device} against cpu, {len(few)} files: largest sample difference {diff:.2e}", flush=True)


if __name__ == "__main__":
    main()
