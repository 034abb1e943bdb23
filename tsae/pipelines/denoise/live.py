"""``tsae denoise --live``: microphone to speakers (or a virtual device) through the streaming denoiser.

A duplex sound-card stream (``sounddevice``, the optional ``live`` extra) calls
:meth:`LiveDenoiser.callback` once per block: the input block goes into one
:class:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser`, whatever is final
comes out of a queue into the output block. The denoiser finishes samples a hop
(16 ms) at a time and the resamplers in chunks of their own, so how far its output
runs behind its input varies from block to block; :func:`measure_lag` measures the
largest lag for the stream's rate and block size (on a second of silence, before
the stream opens), and the queue starts with that much silence and one block more
(the resamplers' chunks drift by a few samples over the first seconds), so it never
runs dry unless the computer falls behind. A block the queue cannot fill is a dropout, as
are the overflow/underflow flags the sound card reports. The end-to-end latency
reported is that measured lag plus the input and output latencies of the device.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsae.pipelines.denoise.denoiser import StreamingDenoiser

_MISSING = ("live audio needs the sounddevice package and the PortAudio library: pip install 'tsae[live]' "
            "(and PortAudio, e.g. apt-get install libportaudio2)")


def _sounddevice() -> Any:
    try:
        import sounddevice
    except (ImportError, OSError) as error:  # OSError: the wheel is there but PortAudio is not
        raise RuntimeError(f"{_MISSING} ({error})") from None
    return sounddevice


def list_devices() -> list[str]:
    """One line per sound device: index, name, host API, input/output channels, default rate."""
    sd = _sounddevice()
    apis = sd.query_hostapis()
    lines = []
    for index, dev in enumerate(sd.query_devices()):
        lines.append(f"{index:3d}  {dev['name']}  ({apis[dev['hostapi']]['name']}, {dev['max_input_channels']} in, "
                     f"{dev['max_output_channels']} out, {dev['default_samplerate']:.0f} Hz)")
    return lines


@dataclass
class LiveReport:
    """What a live session measured."""

    sample_rate: int
    blocks: int = 0
    frames: int = 0
    dropouts: int = 0  # blocks the denoiser could not fill in time, plus overflow/underflow flags
    warmup_frames: int = 0  # output delay in frames: the silence played before the first denoised sample
    device_latency: float = 0.0  # input + output latency the sound card reports, in seconds

    @property
    def latency(self) -> float:
        """Measured end-to-end latency in seconds: the denoiser's wait plus the device's."""
        return self.warmup_frames / self.sample_rate + self.device_latency

    def summary(self) -> str:
        return (f"{self.frames / self.sample_rate:.1f} s live, {self.dropouts} dropout(s), "
                f"latency {1000 * self.latency:.0f} ms end to end")


def measure_lag(denoiser: StreamingDenoiser, block: int, seconds: float = 1.0) -> int:
    """The most samples ``denoiser`` output ever runs behind its input, fed ``block`` samples at a time.

    Measured on ``seconds`` of silence; ``denoiser`` is flushed (reset) afterwards.
    """
    silence = np.zeros((denoiser.channels, block), np.float32)
    fed = emitted = lag = 0
    for _ in range(max(1, int(seconds * denoiser.sample_rate / block))):
        emitted += denoiser.feed(silence).shape[1]
        fed += block
        lag = max(lag, fed - emitted)
    denoiser.flush()
    return lag


class LiveDenoiser:
    """The per-block work of a duplex stream; ``callback`` has sounddevice's ``Stream`` signature."""

    def __init__(self, sample_rate: int, channels: int = 1, block: int = 480, **denoiser: Any) -> None:
        self.denoiser = StreamingDenoiser(sample_rate, channels, **denoiser)
        self.channels = int(channels)
        self.report = LiveReport(int(sample_rate))
        self.report.warmup_frames = measure_lag(self.denoiser, int(block)) + int(block)
        self._queue = np.zeros((channels, self.report.warmup_frames), np.float32)

    def callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """Denoise ``indata`` ``(frames, channels)`` and fill ``outdata`` with what is final (FIFO)."""
        if status and (getattr(status, "input_overflow", False) or getattr(status, "output_underflow", False)):
            self.report.dropouts += 1
        self._queue = np.concatenate([self._queue, self.denoiser.feed(np.asarray(indata, np.float32).T)], axis=1)
        n = min(frames, self._queue.shape[1])
        outdata[:n] = self._queue[:, :n].T
        outdata[n:] = 0.0
        self._queue = self._queue[:, n:]
        if n < frames:
            self.report.dropouts += 1
        self.report.blocks += 1
        self.report.frames += frames


def run_live(
    *,
    input_device: int | str | None = None,
    output_device: int | str | None = None,
    sample_rate: int | None = None,
    channels: int = 1,
    block_seconds: float = 0.01,
    duration: float | None = None,
    on_status: Callable[[LiveReport], None] | None = None,
    status_every: float = 5.0,
    stream_factory: Callable[..., Any] | None = None,
    **denoiser: Any,
) -> LiveReport:
    """Denoise from ``input_device`` to ``output_device`` until ``duration`` seconds or Ctrl-C.

    Parameters
    ----------
    input_device, output_device
        sounddevice device index or name (part of it); ``None``: the system default.
    sample_rate
        Default: the input device's default rate.
    block_seconds
        Sound-card block (10 ms by default).
    on_status
        Called every ``status_every`` seconds and at the end with the report so far.
    stream_factory
        Makes the duplex stream (default ``sounddevice.Stream``); tests pass a fake device.
    **denoiser
        Passed to :class:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser` (``model``,
        ``strength``, ``atten_limit``, ``device``); the low-latency resampler is the default.
    """
    if stream_factory is None:
        sd = _sounddevice()
        stream_factory = sd.Stream
        if sample_rate is None:
            sample_rate = int(sd.query_devices(input_device, "input")["default_samplerate"])
    rate = int(sample_rate or 48000)
    denoiser.setdefault("resample_quality", "LQ")
    block = max(1, int(block_seconds * rate))
    live = LiveDenoiser(rate, channels, block, **denoiser)
    stream = stream_factory(device=(input_device, output_device), samplerate=rate, channels=channels,
                            blocksize=block, dtype="float32", callback=live.callback)
    latency = getattr(stream, "latency", 0.0)
    live.report.device_latency = float(sum(latency) if isinstance(latency, (tuple, list)) else latency)
    stop = threading.Event()
    start = time.monotonic()
    try:
        with stream:
            while not stop.wait(min(status_every, duration or status_every)):
                if on_status is not None:
                    on_status(live.report)
                if duration is not None and time.monotonic() - start >= duration:
                    break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a live session ends
    if on_status is not None:
        on_status(live.report)
    return live.report


__all__ = ["LiveDenoiser", "LiveReport", "list_devices", "measure_lag", "run_live"]
