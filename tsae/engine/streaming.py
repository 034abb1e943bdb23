"""Streaming framing and overlap-add: the batch functions, fed chunk by chunk.

:class:`StreamFramer` turns a stream of sample chunks into frames and
:class:`StreamOverlapAdd` turns a stream of frames back into samples. Both keep
only what a later call still needs (less than one frame of samples, at most
``ceil(length / hop) - 1`` frames), run the batch kernels on it, and give exactly
the batch results: the same floating-point operations in the same order, so the
outputs are equal bit for bit, whatever the chunk sizes.

A live processor (a denoiser, the anomaly monitor) chains them::

    framer = StreamFramer(512, 128, "hann")
    ola = StreamOverlapAdd(512, 128, "hann")
    for chunk in source:
        out = ola.push(model(framer.push(chunk)))   # final samples, latency 384
        sink.write(out)
    sink.write(ola.push(model(framer.flush())))
    sink.write(ola.flush())
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tsae.engine.framing import _check_int, _kernel_window, as_signal, frame_window, num_frames, real_values

__all__ = ["FRAME_BYTES", "StreamFramer", "StreamOverlapAdd", "frame_block"]

#: the most bytes of float32 frames one block of samples may make: with a long window and a short hop
#: (each sample in window / hop frames) blocks get shorter, so memory stays bounded whatever the frame spec
FRAME_BYTES = 1 << 28


def frame_block(window: int, hop: int, channels: int, block: int) -> int:
    """Samples per block, at most ``block``, whose frames take at most :data:`FRAME_BYTES` (at least one hop).

    Examples
    --------
    >>> frame_block(64, 16, 2, 1 << 16)
    65536
    >>> frame_block(2**20, 1, 2, 1 << 16)  # 2 frames of 2**20 samples per sample: 32 samples a block
    32
    """
    per_sample = 4 * channels * window / hop  # float32 frame bytes each input sample brings
    return int(max(hop, min(block, FRAME_BYTES // per_sample)))


def _check_lead(name: str, lead: tuple[int, ...], expected: tuple[int, ...] | None, shape: tuple[int, ...]) -> None:
    if expected is not None and lead != expected:
        raise ValueError(
            f"{name} has leading shape {lead} (shape {shape}) but this stream carries {expected}; "
            "every chunk must have the same channels"
        )


class StreamFramer:
    """Cut a stream of sample chunks into frames, as :func:`tsae.engine.framing.frame` would.

    Parameters
    ----------
    length, hop : int
        Frame length and hop in samples (> 0).
    window_fn : None, str, tuple or array_like, optional
        Window multiplying every frame (see :func:`tsae.engine.framing.window_array`).
    channels : int, optional
        Number of channels: chunks are then ``(channels, n)``. By default the first
        chunk decides: ``(n,)`` for mono, ``(channels, n)`` (or any leading shape),
        and later chunks must match.

    Notes
    -----
    The concatenated output of :meth:`push` over a signal cut anywhere equals
    ``frame(signal, length, hop, window_fn)`` bit for bit, and with :meth:`flush`
    at the end ``frame(..., pad=True)``. Fewer than ``length`` samples are kept
    between calls. Centring (``center=True``) is a batch-only option.

    Examples
    --------
    >>> framer = StreamFramer(4, 2)
    >>> framer.push(np.arange(5.0)).shape
    (1, 4)
    >>> framer.push(np.arange(5.0, 9.0))
    array([[2., 3., 4., 5.],
           [4., 5., 6., 7.]], dtype=float32)
    >>> framer.samples_seen, framer.frames_emitted
    (9, 3)
    """

    def __init__(self, length: int, hop: int, window_fn: Any = None, channels: int | None = None) -> None:
        self.length = _check_int("length", length, 1)
        self.hop = _check_int("hop", hop, 1)
        self._window = frame_window(window_fn, self.length)
        self._channels = None if channels is None else _check_int("channels", channels, 1)
        self.reset()

    def reset(self) -> None:
        """Forget every sample pushed so far (the channel layout too, unless fixed by ``channels``)."""
        self._lead: tuple[int, ...] | None = None if self._channels is None else (self._channels,)
        # float32 (rows, k) parts, one after the other: the samples from _origin on. They are joined only when a frame
        # needs them: joining the held samples at every push copied a frame's length each time, quadratic in the
        # pushes before a long frame fills
        self._parts: list[np.ndarray] = []
        self._origin = 0
        self._seen = 0
        self._emitted = 0

    @property
    def samples_seen(self) -> int:
        """Samples per channel pushed since the start (or the last reset/flush)."""
        return self._seen

    @property
    def frames_emitted(self) -> int:
        """Frames returned since the start (or the last reset/flush)."""
        return self._emitted

    def _empty(self, count: int = 0) -> np.ndarray:
        lead = self._lead if self._lead is not None else ()
        return np.zeros(lead + (count, self.length), dtype=np.float32)

    def _frames_from_buffer(self, count: int) -> np.ndarray:
        """``count`` frames starting at frame ``_emitted``; missing samples read as zeros."""
        assert self._lead is not None  # set by the first push
        if len(self._parts) == 1:
            held = np.ascontiguousarray(self._parts[0])
        elif self._parts:
            held = np.concatenate(self._parts, axis=1)
        else:  # every sample dropped: the frames left are the padding's
            held = np.zeros((int(np.prod(self._lead, dtype=np.int64)), 0), np.float32)
        self._parts = [held]
        out = np.empty((held.shape[0], count, self.length), dtype=np.float32)
        start = self._emitted * self.hop - self._origin
        from tsae.engine import _kernels  # numba, loaded when a kernel runs

        _kernels.frame_rows(held, start, self.hop, self._window, out)
        self._emitted += count
        return out.reshape(self._lead + (count, self.length))

    def _drop(self, count: int) -> None:
        """Forget the first ``count`` held samples."""
        self._origin += count
        while count > 0:
            first = self._parts[0]
            if first.shape[1] > count:
                self._parts[0] = first[:, count:]
                return
            count -= first.shape[1]
            del self._parts[0]

    def push(self, chunk: Any) -> np.ndarray:
        """Add samples; return the frames they complete.

        Parameters
        ----------
        chunk : array_like, shape (n,) or (channels, n)
            The next samples (any ``n``, 0 included), real numbers (booleans are 0 and 1,
            as :func:`tsae.engine.framing.frame` reads them).

        Returns
        -------
        numpy.ndarray, shape (..., k, length), float32
            The ``k >= 0`` frames that end inside this chunk.
        """
        chunk = as_signal(chunk, "chunk")
        lead = chunk.shape[:-1]
        _check_lead("chunk", lead, self._lead, chunk.shape)
        self._lead = lead
        rows = int(np.prod(lead, dtype=np.int64))
        new = chunk.reshape(rows, chunk.shape[-1])
        # always a copy in float32 (the caller may reuse its buffer; the batch kernel rounds to float32 too)
        if new.shape[1]:
            self._parts.append(np.array(new, dtype=np.float32, order="C"))
        self._seen += chunk.shape[-1]
        count = num_frames(self._seen, self.length, self.hop) - self._emitted
        frames = self._frames_from_buffer(count) if count > 0 else self._empty()
        # keep the samples from the next frame's start on (fewer than `length`)
        self._drop(max(0, min(self._emitted * self.hop, self._seen) - self._origin))
        return frames

    def flush(self) -> np.ndarray:
        """Return the zero-padded tail frames (as ``frame(..., pad=True)``), then reset.

        Returns
        -------
        numpy.ndarray, shape (..., k, length), float32
            The ``k >= 0`` frames that cover the samples no frame has covered yet.
        """
        count = num_frames(self._seen, self.length, self.hop, pad=True) - self._emitted
        frames = self._frames_from_buffer(count) if count > 0 else self._empty()
        self.reset()
        return frames


class StreamOverlapAdd:
    """Overlap-add a stream of frames, returning samples as soon as they are final.

    Parameters
    ----------
    length, hop : int
        Frame length and hop in samples (> 0).
    window_fn : None, str, tuple or array_like, optional
        The analysis window of the frames (see :func:`tsae.engine.framing.overlap_add`).
    channels : int, optional
        Number of channels: frames are then ``(channels, k, length)``. By default
        the first push decides and later pushes must match.

    Notes
    -----
    After frame ``f`` is pushed, samples up to ``(f + 1) * hop`` are returned: no
    later frame touches them. So the output lags the end of the latest frame by
    :attr:`latency` ``= length - hop`` samples (0 when ``hop >= length``); a live
    chain framer -> model -> overlap-add therefore delays the signal by
    ``length - hop`` samples plus the time to fill the first frame. The
    concatenation of every :meth:`push` and the final :meth:`flush` equals
    ``overlap_add(all_frames, hop, window_fn)`` bit for bit. At most
    ``ceil(length / hop) - 1`` frames are kept between calls.

    Examples
    --------
    >>> ola = StreamOverlapAdd(4, 2)
    >>> ola.push(np.ones((3, 4))).shape  # 3 frames: samples 0..5 are final
    (6,)
    >>> ola.flush().shape                # the last frame's second half
    (2,)
    """

    def __init__(self, length: int, hop: int, window_fn: Any = None, channels: int | None = None) -> None:
        self.length = _check_int("length", length, 1)
        self.hop = _check_int("hop", hop, 1)
        self._window = _kernel_window(window_fn, self.length)
        self._wsq = self._window * self._window
        self._channels = None if channels is None else _check_int("channels", channels, 1)
        self.reset()

    def reset(self) -> None:
        """Forget every frame pushed so far (the channel layout too, unless fixed by ``channels``)."""
        self._lead: tuple[int, ...] | None = None if self._channels is None else (self._channels,)
        self._kept: np.ndarray | None = None  # float32 (rows, k, length): frames from _first on
        self._first = 0
        self._frames_seen = 0
        self._samples_emitted = 0

    @property
    def latency(self) -> int:
        """Samples between the end of the latest frame and the end of the output so far."""
        return max(0, self.length - self.hop)

    @property
    def frames_seen(self) -> int:
        """Frames pushed since the start (or the last reset/flush)."""
        return self._frames_seen

    @property
    def samples_emitted(self) -> int:
        """Samples per channel returned since the start (or the last reset/flush)."""
        return self._samples_emitted

    def _emit(self, end: int) -> np.ndarray:
        """Overlap-add the kept frames into samples ``[_samples_emitted, end)``."""
        lead = self._lead if self._lead is not None else ()
        size = max(0, end - self._samples_emitted)
        if self._kept is None or size == 0:
            return np.zeros(lead + (size,), dtype=np.float32)
        rows = self._kept.shape[0]
        out = np.empty((rows, size), dtype=np.float32)
        out_start = self._samples_emitted - self._first * self.hop
        from tsae.engine import _kernels  # numba, loaded when a kernel runs

        _kernels.overlap_add_rows(self._kept, self.hop, self._window, self._wsq, out, out_start)
        self._samples_emitted = end
        return out.reshape(lead + (size,))

    def push(self, frames: Any) -> np.ndarray:
        """Add frames; return the samples no later frame can change.

        Parameters
        ----------
        frames : array_like, shape (..., k, length)
            The next ``k >= 0`` frames (a single frame ``f`` is ``f[..., None, :]``), real
            numbers (booleans are 0 and 1).

        Returns
        -------
        numpy.ndarray, shape (..., m), float32
            The next ``m >= 0`` output samples.
        """
        frames = real_values(frames, "frames")
        if frames.ndim < 2 or frames.shape[-1] != self.length:
            raise ValueError(f"frames must have shape (..., k, {self.length}), got shape {frames.shape}")
        lead = frames.shape[:-2]
        _check_lead("frames", lead, self._lead, frames.shape)
        self._lead = lead
        rows = int(np.prod(lead, dtype=np.int64))
        new = frames.reshape(rows, frames.shape[-2], self.length)
        if self._kept is None:  # a float32 copy: the caller may reuse its buffer
            self._kept = np.array(new, dtype=np.float32, order="C")
        else:
            self._kept = np.concatenate([self._kept, new], axis=1, dtype=np.float32)
        self._frames_seen += frames.shape[-2]
        if self._frames_seen == 0:
            return self._emit(0)
        # final: before the next frame's start, and not past the last frame's end
        end = (self._frames_seen - 1) * self.hop + min(self.hop, self.length)
        samples = self._emit(end)
        keep_from = max(self._first, (end - self.length) // self.hop + 1)
        if keep_from > self._first:
            self._kept = np.ascontiguousarray(self._kept[:, keep_from - self._first:])
            self._first = keep_from
        return samples

    def flush(self) -> np.ndarray:
        """Return the remaining samples (up to the end of the last frame), then reset."""
        end = (self._frames_seen - 1) * self.hop + self.length if self._frames_seen else 0
        samples = self._emit(end)
        self.reset()
        return samples
