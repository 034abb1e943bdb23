"""``tsae denoise --live``: microphone to speakers (or a virtual device) through the streaming denoiser.

A duplex sound-card stream (``sounddevice``, the optional ``live`` extra) calls
:meth:`LiveDenoiser.callback` once per block: the input block goes into one
:class:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser`, whatever is final
comes out of a queue into the output block. The denoiser resamples to its 16 kHz with
``resample_quality="LD"`` (:class:`~tsae.engine.polyphase.PolyphaseResampler`: a constant 2.5 ms each
way at 48 kHz, where soxr's ``"LQ"``, the default before, gave its samples back in bursts and held back up to
95 ms in all against LD's 69 ms) and finishes samples a hop (16 ms) at a time, so how far its output
runs behind its input varies from block to block; :func:`measure_lag` measures the
largest lag for the stream's rate and block size (on a second of silence, before
the stream opens), and the queue starts with that much silence and one block more
(a soxr resampler's chunks drift by a few samples over the first seconds), so it never
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

from tsae.errors import first_line
from tsae.io.sound_library import sounddevice_module
from tsae.pipelines.denoise.denoiser import (
    StreamingDenoiser,
    check_low_delay,
    checked_rate,
    checked_seconds,
    load_denoiser,
)

#: what a machine without a sound device is told, by ``tsae devices`` and ``denoise --live``
_NO_DEVICE = "live audio: PortAudio finds no sound device (no sound card, or no sound server this user can reach)"
#: PortAudio's error codes for a sample rate and a channel count the device cannot do
_PA_INVALID_RATE, _PA_INVALID_CHANNELS = -9997, -9998


def _sounddevice() -> Any:
    """The sounddevice module (:func:`~tsae.io.sound_library.sounddevice_module`); tests give a fake one here."""
    return sounddevice_module()


def _portaudio_errors(sd: Any) -> tuple[type[BaseException], ...]:
    """``sounddevice.PortAudioError`` (not an ``OSError``: the CLI would print its traceback), if ``sd`` has it."""
    error = getattr(sd, "PortAudioError", None)
    return (error,) if isinstance(error, type) and issubclass(error, BaseException) else ()


def _pa_message(error: BaseException) -> str:
    """A PortAudioError's message, without its error code."""
    return first_line(Exception(error.args[0])) if error.args and isinstance(error.args[0], str) else first_line(error)


def _pa_text(error: BaseException) -> str:
    """PortAudio's own words for ``error``: its message without sounddevice's prefix and error code."""
    text = _pa_message(error)
    return text.rpartition(": ")[2] if text.startswith("Error ") else text


def _named(device: int | str | None, kind: str) -> str:
    return f"the default {kind} device" if device is None else f"{kind} device {device!r}"


def _device_info(sd: Any, device: int | str | None, kind: str) -> dict[str, Any]:
    """sounddevice's description of ``device`` as an ``kind`` ("input"/"output") device, or a one-line ValueError."""
    pa_errors = _portaudio_errors(sd)
    try:
        info = sd.query_devices(device, kind)
    except pa_errors + (ValueError, TypeError, IndexError) as error:
        if device is None:
            try:
                count = len(sd.query_devices())
            except Exception:  # noqa: BLE001
                count = -1
            if count == 0:
                raise ValueError(_NO_DEVICE) from None
            raise ValueError(f"live audio: there is no default {kind} device: give one (tsae devices lists them; "
                             f"{first_line(error)})") from None
        # a bad index is 'Error querying device 99'; a name matches no device, or several (listed on more lines)
        reason = "no such sound device" if pa_errors and isinstance(error, pa_errors) \
            else " ".join(str(error).split())
        raise ValueError(f"live audio: {_named(device, kind)}: {reason} (tsae devices lists them)") from None
    info = dict(info) if isinstance(info, dict) else {}
    if info.get(f"max_{kind}_channels") == 0:
        raise ValueError(f"live audio: {_named(device, kind)} ({info.get('name', device)}) has no {kind} channels "
                         "(tsae devices lists them)")
    return info


def _check_settings(sd: Any, device: int | str | None, kind: str, info: dict[str, Any], rate: int,
                    channels: int) -> None:
    """Refuse a rate or a channel count ``device`` cannot do, before the model is loaded and the stream opened."""
    check = getattr(sd, f"check_{kind}_settings", None)
    if check is None:
        return
    try:
        check(device=device, channels=channels, dtype="float32", samplerate=rate)
    except _portaudio_errors(sd) + (ValueError,) as error:
        code = error.args[1] if len(error.args) > 1 else None
        default, most = info.get("default_samplerate"), info.get(f"max_{kind}_channels")
        hints = []
        if code != _PA_INVALID_CHANNELS and isinstance(default, (int, float)):
            hints.append(f"its default rate is {default:.0f} Hz")
        if code != _PA_INVALID_RATE and isinstance(most, int):
            hints.append(f"it has {most} {kind} channel(s)")
        doing = "record" if kind == "input" else "play"
        raise ValueError(f"live audio: {_named(device, kind)} ({info.get('name', device)}) cannot {doing} "
                         f"{channels} channel(s) at {rate} Hz ({'; '.join([_pa_text(error), *hints])})") from None


def list_devices() -> list[str]:
    """One line per sound device: index, name, host API, input/output channels, default rate."""
    sd = _sounddevice()
    try:
        apis, devices = sd.query_hostapis(), sd.query_devices()
    except _portaudio_errors(sd) as error:
        raise RuntimeError(f"live audio: cannot list the sound devices ({_pa_message(error)})") from None
    if len(devices) == 0:
        raise RuntimeError(_NO_DEVICE)
    lines = []
    for index, dev in enumerate(devices):
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


def _low_delay_if_it_fits(sample_rate: int, denoiser: dict[str, Any]) -> dict[str, Any]:
    """``denoiser``'s settings with its network loaded (``model``) and ``resample_quality``: ``"LD"`` where the
    low-delay resampler can do the ratio of ``sample_rate`` to the model's rate, else soxr's ``"LQ"``. Asked before
    the :class:`StreamingDenoiser` is built, so that it is built once."""
    from tsae.engine.polyphase import RatioTooFineError

    rate = checked_rate(sample_rate)
    net, model_rate = load_denoiser(denoiser.get("model"), denoiser.get("device", "cpu"))
    try:
        check_low_delay(rate, model_rate)
        quality = "LD"
    except RatioTooFineError:
        quality = "LQ"
    return {**denoiser, "model": net, "resample_quality": quality}


class LiveDenoiser:
    """The per-block work of a duplex stream; ``callback`` has sounddevice's ``Stream`` signature.

    ``**denoiser`` goes to :class:`~tsae.pipelines.denoise.denoiser.StreamingDenoiser`, with
    ``resample_quality="LD"`` (the low-delay resampler) unless it says otherwise, or soxr's ``"LQ"`` at a rate
    whose ratio to the model's the low-delay filter cannot do (47999 Hz: 16000/47999).
    """

    def __init__(self, sample_rate: int, channels: int = 1, block: int = 480, **denoiser: Any) -> None:
        if "resample_quality" not in denoiser:
            denoiser = _low_delay_if_it_fits(sample_rate, denoiser)
        self.denoiser = StreamingDenoiser(sample_rate, channels, **denoiser)
        self.channels = int(channels)
        self.report = LiveReport(int(sample_rate))
        self.report.warmup_frames = measure_lag(self.denoiser, int(block)) + int(block)
        self._queue = np.zeros((channels, self.report.warmup_frames), np.float32)
        #: the first error raised in :meth:`callback` (the stream then plays silence); ``failed`` is set with it
        self.error: BaseException | None = None
        self.failed = threading.Event()

    def callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """Denoise ``indata`` ``(frames, channels)`` and fill ``outdata`` with what is final (FIFO).

        An error is kept in :attr:`error` (and :attr:`failed` set) instead of escaping: raised in
        the sound card's thread it printed a traceback there and left the stream silent while
        the command waited on.
        """
        if self.error is not None:
            outdata[:] = 0.0
            return
        try:
            self._callback(indata, outdata, frames, status)
        except Exception as error:  # noqa: BLE001 - told by run_live, in the main thread
            outdata[:] = 0.0
            self.error = error
            self.failed.set()

    def _callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int, status: Any) -> None:
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
        ``strength``, ``atten_limit``, ``device``, ``resample_quality``: ``"LD"``, the low-delay resampler, by
        default).
    """
    block_seconds = checked_seconds("block_seconds", block_seconds)
    stream_errors: tuple[type[BaseException], ...] = ()
    if stream_factory is None:
        sd = _sounddevice()
        stream_factory = sd.Stream
        stream_errors = _portaudio_errors(sd)
        # each device checked first: a bad index, name or rate is one line naming it, before the model loads
        info_in = _device_info(sd, input_device, "input")
        info_out = _device_info(sd, output_device, "output")
        if sample_rate is None:
            sample_rate = int(info_in.get("default_samplerate") or 48000)
        _check_settings(sd, input_device, "input", info_in, int(sample_rate), channels)
        _check_settings(sd, output_device, "output", info_out, int(sample_rate), channels)
    rate = int(sample_rate or 48000)
    block = max(1, int(block_seconds * rate))
    live = LiveDenoiser(rate, channels, block, **denoiser)
    try:
        stream = stream_factory(device=(input_device, output_device), samplerate=rate, channels=channels,
                                blocksize=block, dtype="float32", callback=live.callback)
    except stream_errors as error:
        raise RuntimeError(f"live audio: cannot open the sound devices at {rate} Hz, {channels} channel(s) "
                           f"({_pa_message(error)})") from None
    latency = getattr(stream, "latency", 0.0)
    live.report.device_latency = float(sum(latency) if isinstance(latency, (tuple, list)) else latency)
    start = time.monotonic()
    try:
        with stream:
            while not live.failed.wait(min(status_every, duration or status_every)):
                if on_status is not None:
                    on_status(live.report)
                if duration is not None and time.monotonic() - start >= duration:
                    break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a live session ends
    except stream_errors as error:  # starting or stopping the stream (a device unplugged, busy)
        raise RuntimeError(f"live audio: the sound device stream failed ({_pa_message(error)})") from None
    if live.error is not None:
        raise RuntimeError(f"live audio stopped after {live.report.frames / rate:.1f} s: "
                           f"{type(live.error).__name__}: {first_line(live.error)}") from live.error
    if on_status is not None:
        on_status(live.report)
    return live.report


__all__ = ["LiveDenoiser", "LiveReport", "list_devices", "measure_lag", "run_live"]
