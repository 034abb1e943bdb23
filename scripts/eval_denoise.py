#!/usr/bin/env python
"""Evaluate tsae's denoiser against noisereduce and RNNoise on held-out speech and noise.

Mixtures: held-out speakers (20 LibriSpeech + 2 speechocean762, none in the babble
noise) x held-out noises (waves, coffee shop, exercise bike, babble 03), never
seen in training (see scripts/train_denoiser.py ``split()``), at 0/5/10/15 dB SNR,
16 kHz, fixed seed. One table: PESQ (wide band), STOI and SI-SDR per SNR and
overall for the noisy input, noisereduce (non-stationary default and stationary),
RNNoise (pyrnnoise, 48 kHz) and tsae.

Usage::

    python scripts/eval_denoise.py                 # shipped model, 64 mixtures
    python scripts/eval_denoise.py --model runs/denoiser/best.safetensors -n 32
"""
from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SR = 16000
SNRS = (0, 5, 10, 15)


def _train_module():
    spec = importlib.util.spec_from_file_location("train_denoiser", ROOT / "scripts" / "train_denoiser.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_mixtures(n: int, seed: int, data: Path) -> list[dict]:
    """``n`` (noisy, clean, snr, names) mixtures from held-out speakers and noises."""
    tm = _train_module()
    sp = tm.split(data)
    rng = np.random.default_rng(seed)
    clean_files = sorted(sp["heldout_clean"])
    noise_files = sorted(sp["heldout_noise"])
    noises = {p.name: tm.load(p) for p in noise_files}
    order = rng.permutation(len(clean_files))
    mixtures = []
    for i in range(n):
        cpath = clean_files[order[i % len(order)]]
        s = tm.load(cpath)
        if len(s) < 2 * SR:
            s = np.concatenate([s, tm.load(clean_files[order[(i + 7) % len(order)]])])
        s = tm.crop(rng, s, min(len(s), 8 * SR))
        nname = noise_files[i % len(noise_files)].name
        noise = tm.loop_crop(rng, noises[nname], len(s))
        snr = SNRS[(i // len(noise_files)) % len(SNRS)]
        x, s = tm.mix(rng, s, noise, snr)
        g = 10 ** (rng.uniform(-32, -20) / 20) / (tm.rms(x) + 1e-9)
        g = min(g, 0.95 / np.abs(x).max())
        mixtures.append({"noisy": (x * g).astype(np.float32), "clean": (s * g).astype(np.float32),
                         "snr": snr, "clean_file": cpath.name, "noise": nname})
    return mixtures


# --------------------------------------------------------------------------- methods
def run_noisereduce(x: np.ndarray, stationary: bool) -> np.ndarray:
    import noisereduce

    return noisereduce.reduce_noise(y=x, sr=SR, stationary=stationary).astype(np.float32)


def run_rnnoise(x: np.ndarray) -> np.ndarray:
    """RNNoise at 48 kHz on float frames scaled to the int16 range; delay compensated."""
    import soxr
    from pyrnnoise import rnnoise

    y48 = soxr.resample(x, SR, 48000, quality="HQ").astype(np.float32) * 32768.0
    fs = rnnoise.FRAME_SIZE
    n = int(np.ceil(len(y48) / fs)) * fs + 2 * fs
    buf = np.zeros(n, np.float32)
    buf[: len(y48)] = y48
    out = np.zeros(n, np.float32)
    state = rnnoise.create()
    try:
        for i in range(0, n, fs):
            frame = np.ascontiguousarray(buf[i: i + fs])
            rnnoise.lib.rnnoise_process_frame(state, frame.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                              frame.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            out[i: i + fs] = frame
    finally:
        rnnoise.destroy(state)
    out = out[2 * fs: 2 * fs + len(y48)] / 32768.0  # RNNoise delays its output by 20 ms (two frames)
    return soxr.resample(out, 48000, SR, quality="HQ").astype(np.float32)[: len(x)]


def tsae_denoiser(model: str | None):
    import torch

    torch.set_num_threads(1)
    from tsae.pipelines.denoise.denoiser import denoise

    net = None
    if model and model.endswith(".safetensors"):  # a training checkpoint
        net = _checkpoint_net(model)
    target = net if net is not None else model

    def run(x: np.ndarray) -> np.ndarray:
        return denoise(x, SR, model=target)

    return run


def _checkpoint_net(path: str):
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file

    sys.path.insert(0, str(ROOT / "plugins"))
    from tsae_plugins.denoiser import DenoiserNet

    with safe_open(path, "pt") as f:
        meta = json.loads(f.metadata()["meta"])
    hp = dict(meta["hparams"])
    net = DenoiserNet(hp.pop("channels"), hp.pop("window"), **hp)
    net.load_state_dict(load_file(path))
    return net.eval()


# --------------------------------------------------------------------------- metrics
def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    est = est.astype(np.float64) - est.mean()
    ref = ref.astype(np.float64) - ref.mean()
    a = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    t = a * ref
    return float(10 * np.log10((np.sum(t**2) + 1e-12) / (np.sum((est - t) ** 2) + 1e-12)))


def metrics(est: np.ndarray, ref: np.ndarray) -> tuple[float, float, float]:
    from pesq import pesq
    from pystoi import stoi

    n = min(len(est), len(ref))
    est, ref = est[:n], ref[:n]
    return pesq(SR, ref, est, "wb"), stoi(ref, est, SR, extended=False), si_sdr(est, ref)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--mixtures", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--model", default=None, help="tsae model file or training checkpoint (default: shipped)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "speech"))
    ap.add_argument("--only-tsae", action="store_true", help="skip the anchors (quick checkpoint checks)")
    args = ap.parse_args()
    if not Path(args.data).is_dir():
        sys.exit(f"{args.data}: speech data not found")

    mixtures = make_mixtures(args.mixtures, args.seed, Path(args.data))
    methods = {"noisy input": lambda x: x}
    if not args.only_tsae:
        methods["noisereduce (non-stationary)"] = lambda x: run_noisereduce(x, False)
        methods["noisereduce (stationary)"] = lambda x: run_noisereduce(x, True)
        methods["RNNoise"] = run_rnnoise
    methods["tsae"] = tsae_denoiser(args.model)

    results = {m: [] for m in methods}
    seconds = {m: 0.0 for m in methods}
    for mix in mixtures:
        for name, fn in methods.items():
            t = time.perf_counter()
            y = fn(mix["noisy"])
            seconds[name] += time.perf_counter() - t
            results[name].append((mix["snr"], *metrics(y, mix["clean"])))

    audio_s = sum(len(m["noisy"]) for m in mixtures) / SR
    print(f"\n{len(mixtures)} mixtures ({audio_s:.0f} s), held-out speakers x held-out noises "
          f"({', '.join(sorted({m['noise'] for m in mixtures}))}), seed {args.seed}, 16 kHz\n")
    cols = [f"{s} dB" for s in SNRS] + ["all"]
    for k, metric in enumerate(["PESQ-WB", "STOI", "SI-SDR (dB)"]):
        print(f"| {metric} | " + " | ".join(cols) + " |")
        print("|---|" + "---|" * len(cols))
        table = {}
        for name, rows in results.items():
            arr = np.array(rows)
            vals = [arr[arr[:, 0] == s, k + 1].mean() for s in SNRS] + [arr[:, k + 1].mean()]
            table[name] = vals
            fmt = "{:.3f}" if metric == "STOI" else "{:.2f}"
            print(f"| {name} | " + " | ".join(fmt.format(v) for v in vals) + " |")
        anchors = [n for n in table if n not in ("noisy input", "tsae")]
        if anchors:
            best = np.max([table[a] for a in anchors], axis=0)
            fmt = "{:+.3f}" if metric == "STOI" else "{:+.2f}"
            print("| tsae - best anchor | " + " | ".join(fmt.format(v) for v in np.array(table["tsae"]) - best) + " |")
        print()
    print("processing time (s, all mixtures, 1 thread): " +
          ", ".join(f"{n}: {seconds[n]:.1f}" for n in methods if n != "noisy input"))


if __name__ == "__main__":
    main()
