"""``tsae frame``: cut an audio file (or a .npy signal) into windowed frames saved as .npy."""
from __future__ import annotations

from pathlib import Path

import click

from tsae.cli.common import input_file, quiet_option, user_errors


@click.command("frame")
@input_file("source", metavar="INPUT")
@click.option("--length", type=click.IntRange(min=1), default=512, show_default=True, help="Frame length in samples.")
@click.option("--hop", type=click.IntRange(min=1), default=128, show_default=True,
              help="Samples between frame starts.")
@click.option("--window", default="none", show_default=True,
              help="Window multiplying each frame: none, hann, hamming, blackman, ... (scipy names).")
@click.option("--pad", is_flag=True, help="Zero-pad the tail so every sample lies in a frame.")
@click.option("--center", is_flag=True, help="Pad length/2 samples on both sides first (librosa's center=True).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output .npy file. Default: NAME.frames.npy beside the input.")
@quiet_option
@user_errors
def frame_command(source: Path, length: int, hop: int, window: str, pad: bool, center: bool,
                  output: Path | None, quiet: bool) -> None:
    """Cut INPUT (WAV, FLAC, OGG, or a .npy array) into frames saved as a .npy array.

    The array is float32 (n_frames, length) for mono input and (channels,
    n_frames, length) otherwise. A failed run leaves no partial file.

    \b
    Examples:
      tsae frame speech.wav --length 512 --hop 128 -o frames.npy
      tsae frame sensors.npy --length 256 --hop 64 --window hann --pad
    """
    import numpy as np

    from tsae.engine.framing import frame
    from tsae.io.atomic import atomic_path

    if source.suffix.lower() == ".npy":
        try:
            signal = np.load(source, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ValueError(f"{source}: not a readable .npy array ({error})") from None
        what = f"{signal.shape[-1] if signal.ndim else 0} samples"
    else:
        from tsae.io.audio import read_audio

        audio = read_audio(source)
        signal = audio.data[0] if audio.channels == 1 else audio.data
        what = f"{audio.duration:.2f} s at {audio.sample_rate} Hz"
    frames = frame(signal, length, hop, None if window.lower() == "none" else window, pad=pad, center=center)
    target = output if output is not None else source.with_name(f"{source.stem}.frames.npy")
    with atomic_path(target, protect=(source,)) as tmp:
        with open(tmp, "wb") as handle:  # a path would make np.save append ".npy"
            np.save(handle, frames)
    if not quiet:
        click.echo(f"wrote {target}: {frames.shape[-2]} frames of {length} samples, shape {frames.shape} ({what})")
