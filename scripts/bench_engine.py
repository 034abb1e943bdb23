"""Framing and overlap-add speed: tsae's numba kernels beside numpy/librosa and torch.

One run frames ten minutes of 16 kHz mono float32 audio (frame 512, hop 128, Hann
window: 75k frames, 150 MB of output) and overlap-adds the frames back, with

- tsae: :func:`tsae.engine.framing.frame` / :func:`tsae.engine.framing.overlap_add`
  (fused window multiply and normalisation, parallel over frames / output blocks);
- numpy / librosa: ``librosa.util.frame`` (a strided view) times the window;
  overlap-add as a Python loop over frames, and with ``np.add.at``;
- torch: ``Tensor.unfold`` times the window; ``torch.nn.functional.fold`` of the
  windowed frames divided by the fold of the squared window (what ``torch.istft`` does).

Every candidate does the same work in float32 and its output is checked against
tsae's. Times are the best of ``--repeats`` calls after a warm-up call; the
candidates are timed in turns (round robin) so that a burst of load from other
processes hits them alike. "new array" calls allocate their output (fresh memory:
the kernel zero-fills its pages on first touch, about 14 ms for 150 MB here, and
that cost is the same for every library); "out=" calls write into a preallocated
array, for the libraries that can. The ratio is anchor time / tsae time in the same
section (> 1: tsae is faster).

Usage::

    python scripts/bench_engine.py [--minutes 10 --sr 16000 --length 512 --hop 128 --repeats 9 --threads N]
                                   [--skip-add-at]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import numpy as np


def best_times(candidates: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each candidate over ``repeats`` round-robin turns, after one warm-up call each."""
    for fn in candidates.values():
        fn()
    best = {name: float("inf") for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
            del result  # free before the next call, as a caller dropping its frames would
            best[name] = min(best[name], elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sr", type=int, default=16000)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--hop", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=None, help="numba and torch threads (default: their own)")
    parser.add_argument("--skip-add-at", action="store_true", help="leave out the slow np.add.at anchor")
    args = parser.parse_args()

    import librosa
    import numba
    import scipy.signal
    import torch
    import torch.nn.functional as F

    from tsae.engine.framing import frame, num_frames, overlap_add

    if args.threads:
        numba.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    L, H = args.length, args.hop
    n = int(args.minutes * 60 * args.sr)
    x = (0.1 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    w = scipy.signal.get_window("hann", L, fftbins=True).astype(np.float32)
    wsq = w * w
    count = num_frames(n, L, H)
    total = (count - 1) * H + L

    start = time.perf_counter()
    reference = frame(x, L, H, "hann")
    overlap_add(reference, H, "hann")
    compile_s = time.perf_counter() - start

    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    frames_t = torch.from_numpy(reference)
    frame_out = np.empty_like(reference)
    frame_out_t = torch.from_numpy(frame_out)
    ola_out = np.empty(total, np.float32)

    def librosa_view(axis: int) -> np.ndarray:
        return librosa.util.frame(x, frame_length=L, hop_length=H, axis=axis)

    frame_new = {
        "tsae frame": lambda: frame(x, L, H, "hann"),
        "librosa frame (axis=0) * w": lambda: librosa_view(0) * w,
        "librosa frame (axis=-1) * w": lambda: librosa_view(-1) * w[:, None],
        "torch unfold * w": lambda: xt.unfold(0, L, H) * wt,
    }
    frame_into = {
        "tsae frame(out=)": lambda: frame(x, L, H, "hann", out=frame_out),
        "numpy multiply(librosa view, w, out=)": lambda: np.multiply(librosa_view(0), w, out=frame_out),
        "torch mul(unfold, w, out=)": lambda: torch.mul(xt.unfold(0, L, H), wt, out=frame_out_t),
    }

    def numpy_loop() -> np.ndarray:
        y = np.zeros(total, np.float32)
        norm = np.zeros(total, np.float32)
        weighted = reference * w
        for f in range(count):
            y[f * H : f * H + L] += weighted[f]
            norm[f * H : f * H + L] += wsq
        return np.divide(y, norm, out=np.zeros_like(y), where=norm > 0)

    starts = (np.arange(count) * H)[:, None] + np.arange(L)[None, :]

    def numpy_add_at() -> np.ndarray:
        y = np.zeros(total, np.float32)
        norm = np.zeros(total, np.float32)
        np.add.at(y, starts, reference * w)
        np.add.at(norm, starts, np.broadcast_to(wsq, starts.shape))
        return np.divide(y, norm, out=np.zeros_like(y), where=norm > 0)

    def torch_fold() -> torch.Tensor:
        y = F.fold((frames_t * wt).T[None], (1, total), (1, L), stride=(1, H))
        norm = F.fold(wsq_t[None, :, None].expand(1, L, count), (1, total), (1, L), stride=(1, H))
        return torch.where(norm > 0, y / norm, torch.zeros_like(y)).reshape(-1)

    wsq_t = torch.from_numpy(wsq)
    ola_new = {
        "tsae overlap_add": lambda: overlap_add(reference, H, "hann"),
        "numpy loop over frames": numpy_loop,
        "torch fold / fold(w^2)": torch_fold,
    }
    if not args.skip_add_at:
        ola_new["numpy np.add.at"] = numpy_add_at
    ola_into = {"tsae overlap_add(out=)": lambda: overlap_add(reference, H, "hann", out=ola_out)}

    # same work: every candidate's output equals tsae's
    for name, fn in {**frame_new, **frame_into}.items():
        got = np.asarray(fn())
        got = got.T if got.shape == reference.shape[::-1] else got  # librosa's axis=-1 layout
        assert np.array_equal(got, reference), name
    recon = overlap_add(reference, H, "hann")
    for name, fn in {**ola_new, **ola_into}.items():
        got = np.asarray(fn()).reshape(-1)
        assert np.allclose(got, recon, atol=1e-5), name
    assert np.allclose(recon[1 : count * H], x[1 : count * H], atol=1e-5)

    sections = [
        ("frame + window, new array", frame_new),
        ("frame + window, into out=", frame_into),
        ("overlap-add, new array", ola_new),
        ("overlap-add, into out=", ola_into),
    ]
    def touch_fresh() -> np.ndarray:
        fresh = np.empty(reference.size, np.float32)
        fresh[::1024] = 0.0  # one write per 4 KiB page: the kernel zero-fills every page it maps
        return fresh

    floor = best_times({"touch": touch_fresh}, args.repeats)["touch"]
    results = {}
    for title, candidates in sections:
        slow = {k: v for k, v in candidates.items() if "add.at" in k}
        fast = {k: v for k, v in candidates.items() if k not in slow}
        times = best_times(fast, args.repeats)
        if slow:
            times.update(best_times(slow, min(args.repeats, 2)))
        results[title] = times

    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"tsae engine bench: {args.minutes:g} min of {args.sr} Hz mono float32 = {n} samples; "
          f"frame {L}, hop {H}, hann -> {count} frames ({reference.nbytes / 1e6:.0f} MB)")
    print(f"machine: {platform.processor() or platform.machine()}, {cores} cores ({usable} usable), "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"numba {numba.__version__}: {numba.get_num_threads()} threads ({numba.threading_layer()} layer); "
          f"torch {torch.__version__}: {torch.get_num_threads()} threads; numpy {np.__version__}; "
          f"librosa {librosa.__version__}")
    print(f"first call (numba compile or cache load): {compile_s:.2f} s; best of {args.repeats} after warm-up")
    print(f"fresh-memory floor: allocating and touching {reference.nbytes / 1e6:.0f} MB takes {floor * 1e3:.1f} ms "
          "(page zero-fill by the OS, paid by every 'new array' candidate)")
    print()
    print(f"{'section':<28} {'candidate':<40} {'time (ms)':>10} {'anchor/tsae':>12}")
    summary = []
    for title, times in results.items():
        tsae_name = next(name for name in times if name.startswith("tsae"))
        base = times[tsae_name]
        anchors = {k: v for k, v in times.items() if k != tsae_name}
        for name, seconds in times.items():
            ratio = "" if name == tsae_name else f"{seconds / base:.2f}x"
            print(f"{title:<28} {name:<40} {seconds * 1e3:>10.1f} {ratio:>12}")
        if anchors:
            best_name = min(anchors, key=anchors.get)
            summary.append((title, best_name, anchors[best_name] / base))
    print()
    for title, name, ratio in summary:
        verdict = "meets" if ratio >= 2 else "misses"
        print(f"{title}: tsae is {ratio:.2f}x the best anchor ({name}); {verdict} the 2x goal")


if __name__ == "__main__":
    main()
