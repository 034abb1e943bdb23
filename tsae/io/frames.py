"""The file job of ``tsae frame``: a signal file (audio or ``.npy``) in, its frames as a ``.npy`` array out."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tsae.io.paths import check_output
from tsae.io.series import read_signal, save_npy


@dataclass
class FramedFile:
    """What :func:`frame_file` wrote."""

    path: Path
    shape: tuple[int, ...]
    n_samples: int
    sample_rate: float | None

    @property
    def n_frames(self) -> int:
        return int(self.shape[-2])

    def describe(self) -> str:
        """The input's length: seconds and rate for audio, samples for an array."""
        if self.sample_rate:
            return f"{self.n_samples / self.sample_rate:.2f} s at {int(self.sample_rate)} Hz"
        return f"{self.n_samples} samples"


def default_frames_output(path: str | os.PathLike) -> Path:
    """``speech.wav`` -> ``speech.frames.npy`` beside the input."""
    path = Path(path)
    return path.with_name(f"{path.stem}.frames.npy")


def frame_file(source: str | os.PathLike, output: str | os.PathLike | None, length: int, hop: int, *,
               window_fn: str | None = None, pad: bool = False, center: bool = False) -> FramedFile:
    """Cut an audio file or a ``.npy`` signal into frames and save them as a ``.npy`` array (atomically).

    Parameters
    ----------
    source
        Audio (mono is ``(n,)``, else ``(channels, n)`` float32) or a ``.npy`` array, framed as stored.
    output
        The ``.npy`` file to write (default ``NAME.frames.npy`` beside ``source``); never ``source``.
    length, hop, window_fn, pad, center
        As for :func:`tsae.engine.framing.frame` (``window_fn`` is its taper, None for none).

    Returns
    -------
    FramedFile
    """
    from tsae.engine.framing import frame

    target = default_frames_output(source) if output is None else Path(output)
    check_output(target, [source])
    signal, rate = read_signal(source)
    frames = frame(signal, length, hop, window_fn, pad=pad, center=center)
    save_npy(target, frames, protect=(source,))
    return FramedFile(target, tuple(frames.shape), int(signal.shape[-1]) if signal.ndim else 0, rate)


__all__ = ["FramedFile", "frame_file", "default_frames_output"]
