"""What ONNX export costs or gains, on one CPU thread, in one run.

- Denoiser, real-time factor (processing time / audio duration; < 1 is faster than
  real time) of the same 16 kHz audio hop by hop through: the exported step in
  onnxruntime (``tsae/onnx_reference_runner.py``), the same step module in torch
  eager, and tsae's own fast path (:class:`tsae.StreamingDenoiser`, compiled CPU stepper).
  The largest difference of the ONNX output from tsae's is printed beside.
- Every model family (window pass, batch ``--batch``): windows per second through
  onnxruntime and through torch (no-grad forward), and the ratio onnx/torch.

Usage::

    python scripts/bench_export.py [--seconds 10 --channels 4 --window 64 --batch 256 --repeats 3]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from tsae.export import export_model
from tsae.export.denoiser_step import DenoiserStep
from tsae.models.modelfile import load_model, save_model
from tsae.pipelines.denoise import StreamingDenoiser, default_model_path
from tsae.plugins import create_model, model_families


def _runner():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parents[1] / "tsae" / "onnx_reference_runner.py"
    spec = importlib.util.spec_from_file_location("onnx_reference_runner", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def speech_like(seconds: float, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    voiced = 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 1.7 * t) > 0)
    return (voiced + 0.05 * rng.standard_normal(len(t))).astype(np.float32)[None]


def best(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_denoiser(runner, folder: Path, seconds: float, repeats: int) -> None:  # type: ignore[no-untyped-def]
    x = speech_like(seconds)
    onnx_path = export_model(default_model_path(), folder / "den.onnx").onnx
    session, meta = runner.load(onnx_path, threads=1)
    step = DenoiserStep(load_model(default_model_path()).model).eval()

    def run_torch() -> None:
        state = tuple(step.initial_state(1).values())
        hop = step.hop
        padded = torch.from_numpy(np.concatenate([x, np.zeros((1, step.delay + hop), np.float32)], axis=1))
        with torch.inference_mode():
            for i in range(0, padded.shape[1] - hop + 1, hop):
                out = step(padded[:, i: i + hop], *state)
                state = out[1:]

    def run_tsae() -> None:
        den = StreamingDenoiser(16000)
        den.feed(x)
        den.flush()

    ours = StreamingDenoiser(16000)
    reference = np.concatenate([ours.feed(x), ours.flush()], axis=1)
    diff = float(np.abs(runner.denoise(session, meta, x) - reference).max())
    rows = [("onnxruntime (exported step)", best(lambda: runner.denoise(session, meta, x), repeats)),
            ("torch eager (same step)", best(run_torch, repeats)),
            ("tsae StreamingDenoiser (CPU fast path)", best(run_tsae, repeats))]
    print(f"\ndenoiser, {seconds:g} s of 16 kHz audio, one hop (16 ms) per call, 1 thread "
          f"(max |onnx - tsae| = {diff:.1e})")
    print(f"{'path':44s} {'RTF':>8s} {'x real time':>12s}")
    for name, took in rows:
        print(f"{name:44s} {took / seconds:8.4f} {seconds / took:12.1f}")


def bench_families(runner, folder: Path, channels: int, window: int, batch: int,  # type: ignore[no-untyped-def]
                   repeats: int) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, channels, window)).astype(np.float32)
    print(f"\nwindow pass, batch {batch} x ({channels} channels, {window} samples), 1 thread, windows/s")
    print(f"{'family':14s} {'onnxruntime':>12s} {'torch':>12s} {'onnx/torch':>11s} {'max diff':>9s}")
    for name, cls in sorted(model_families().items()):
        if hasattr(cls, "explicit_step"):
            continue  # the denoiser: benchmarked above as a streaming step
        torch.manual_seed(0)
        model = create_model(name, channels, window).eval()
        path = save_model(folder / f"{name}.tsae", model, frame={"window": window, "hop": window // 4})
        session, _ = runner.load(export_model(path, folder / f"{name}.onnx").onnx, threads=1)
        t = torch.from_numpy(x)

        def run_onnx(session=session) -> None:  # type: ignore[no-untyped-def]
            session.run(["reconstruction"], {"window": x})

        def run_torch(model=model, t=t) -> None:  # type: ignore[no-untyped-def]
            with torch.inference_mode():
                model(t)

        run_onnx()
        run_torch()
        with torch.inference_mode():
            diff = float(np.abs(session.run(["reconstruction"], {"window": x})[0] - model(t).numpy()).max())
        onnx_rate = batch / best(run_onnx, repeats)
        torch_rate = batch / best(run_torch, repeats)
        print(f"{name:14s} {onnx_rate:12.0f} {torch_rate:12.0f} {onnx_rate / torch_rate:11.2f} {diff:9.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length for the denoiser")
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    import onnxruntime

    print(f"tsae export benchmark: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"onnxruntime {onnxruntime.__version__}")
    runner = _runner()
    with tempfile.TemporaryDirectory() as tmp:
        bench_denoiser(runner, Path(tmp), args.seconds, args.repeats)
        bench_families(runner, Path(tmp), args.channels, args.window, args.batch, args.repeats)


if __name__ == "__main__":
    main()
