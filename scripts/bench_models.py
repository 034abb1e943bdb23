"""Training and inference throughput (windows per second) of every model family.

One run measures, for each registered family at its default size (conv1d, dense, lstm,
transformer, vae, vqvae, blind_spot and any third-party family installed):

- ``train (tsae)``: :func:`tsae.models.trainer.train_model` end to end (shuffling,
  validation every epoch, early-stopping bookkeeping), windows trained per second;
- ``train (bare)``: the anchor, a bare PyTorch loop (Adam, MSE, same batches) on the same
  network, and the ratio tsae/bare (the trainer's overhead; 1.0 = none); a family with its
  own ``training_loss`` (VAE, VQ-VAE) is stepped through it, so both loops do the same work;
- ``infer``: no-grad forward passes (batch 256) through
  :func:`tsae.pipelines.reconstruct.series.run_frames`, and the ratio to the anchor
  ``sklearn.decomposition.PCA`` (same latent size) encoding+decoding the flattened windows,
  when scikit-learn is installed.

Usage::

    python scripts/bench_models.py [--channels 8 --window 128 --batch 64 --seconds 2 --repeats 3]
                                   [--threads N --device cpu] [--windows 2048] [--families conv1d blind_spot ...]
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch


def synthetic_windows(n: int, channels: int, window: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(window) / window
    freq = rng.uniform(1, 8, size=(n, channels, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, channels, 1))
    x = np.sin(2 * np.pi * freq * t + phase) + 0.1 * rng.standard_normal((n, channels, window))
    return x.astype(np.float32)


def bare_train(model: torch.nn.Module, windows: np.ndarray, batch: int, seconds: float, device) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.from_numpy(windows).to(device)
    model.train()

    own_loss = getattr(model, "training_loss", None)

    def step(x: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = own_loss(x, x)[0] if callable(own_loss) else torch.mean((model(x) - x) ** 2)
        loss.backward()
        optimizer.step()

    for start in range(0, 3 * batch, batch):  # warm up
        step(data[start : start + batch])
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        order = torch.randperm(len(data))
        for start in range(0, len(data) - batch + 1, batch):
            step(data[order[start : start + batch]])
            done += batch
            if time.perf_counter() - started >= seconds:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - started)


def tsae_train(model, windows: np.ndarray, batch: int, epochs: int, device) -> float:
    """Windows trained per second by the shared trainer over ``epochs`` full epochs (validation included)."""
    from tsae.models.trainer import TrainConfig, train_model

    config = TrainConfig(epochs=epochs, batch_size=batch, patience=10_000, quiet=True, device=str(device),
                         val_fraction=0.1)
    result = train_model(model, windows, config)
    return epochs * len(result.train_indices) / result.history[-1]["seconds"]


def infer(model, windows: np.ndarray, seconds: float) -> float:
    from tsae.pipelines.reconstruct.series import run_frames

    run_frames(model, windows[:256])  # warm up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        run_frames(model, windows, batch_size=256)
        done += len(windows)
    return done / (time.perf_counter() - started)


def pca_anchor(windows: np.ndarray, latent: int, seconds: float) -> float | None:
    try:
        from sklearn.decomposition import PCA
    except ImportError:
        return None
    flat = windows.reshape(len(windows), -1)
    pca = PCA(n_components=latent, random_state=0).fit(flat)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        pca.inverse_transform(pca.transform(flat))
        done += len(flat)
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--windows", type=int, default=2048, help="training set size")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="best of N measurements")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--families", nargs="*", default=None)
    args = parser.parse_args()

    from tsae import plugins
    from tsae.models.device import resolve_device
    from tsae.models.trainer import seed_everything

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    windows = synthetic_windows(args.windows, args.channels, args.window)
    families = args.families or [n for n in sorted(plugins.model_families()) if n != "denoiser"]
    print(f"tsae model throughput: {args.channels} channels x window {args.window}, batch {args.batch}, "
          f"{args.windows} windows, best of {args.repeats} x {args.seconds:.0f} s, device {device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    header = (f"{'family':<12} {'params':>9} {'train tsae':>11} {'train bare':>11} {'tsae/bare':>9} "
              f"{'infer':>10} {'PCA infer':>10} {'infer/PCA':>9}")
    print(header)
    print("-" * len(header))
    for name in families:
        seed_everything(0)
        model = plugins.create_model(name, args.channels, args.window)
        n_params = sum(p.numel() for p in model.parameters())
        latent = int(model.config.get("latent", 32) or 32)
        bare = trained = inference = 0.0
        anchor = None
        for _ in range(args.repeats):  # best of N: the machine may be shared
            bare = max(bare, bare_train(plugins.create_model(name, args.channels, args.window).to(device), windows,
                                        args.batch, args.seconds, device))
            # size the trainer's run to about the same time: two epochs of a subset
            subset = windows[: int(np.clip(bare * args.seconds / 2 / 0.9, 4 * args.batch, len(windows)))]
            tsae_train(plugins.create_model(name, args.channels, args.window), subset[: 4 * args.batch],
                       args.batch, 1, device)  # warm up
            trained = max(trained, tsae_train(plugins.create_model(name, args.channels, args.window), subset,
                                              args.batch, 2, device))
            inference = max(inference, infer(model.to(device), windows, args.seconds))
            pca = pca_anchor(windows, latent, args.seconds)
            anchor = None if pca is None else max(anchor or 0.0, pca)
        anchor_text = f"{anchor:10.0f}" if anchor else f"{'n/a':>10}"
        ratio = f"{inference / anchor:9.2f}" if anchor else f"{'n/a':>9}"
        print(f"{name:<12} {n_params:>9,} {trained:11.0f} {bare:11.0f} {trained / bare:9.2f} "
              f"{inference:10.0f} {anchor_text} {ratio}", flush=True)
    print("windows/s; 'train tsae' includes validation passes and bookkeeping; PCA anchor: scikit-learn, "
          "same latent size, flattened windows")


if __name__ == "__main__":
    main()
