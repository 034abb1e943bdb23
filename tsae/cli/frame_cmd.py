"""``tsae frame``: cut an audio file (or a .npy signal, or a table) into windowed frames saved as .npy."""
from __future__ import annotations

from pathlib import Path

import click

from tsae.cli.common import STDIN, IntRange, OutputFile, echo_done, input_file, quiet_option, taper_name
from tsae.io.c_stderr import stderr_is_terminal

#: samples per channel that frame in well under a second: no bar
_QUICK = 1 << 20


@click.command("frame")
@input_file("source", metavar="INPUT")
@click.option("--window", "length", type=IntRange(min=1), default=512, show_default=True,
              help="Frame (window) length in samples, as in `tsae train --window`.")
@click.option("--hop", type=IntRange(min=1), default=128, show_default=True,
              help="Samples between frame starts.")
@click.option("--window-fn", "window_fn", default="none", show_default=True, callback=taper_name,
              help="Taper multiplying each frame: none, hann, hamming, blackman, ... (scipy names); "
                   "a window with a parameter as NAME:VALUE, e.g. kaiser:8.6 (beta).")
@click.option("--pad", is_flag=True, help="Zero-pad the tail so every sample lies in a frame.")
@click.option("--center", is_flag=True, help="Pad length/2 samples on both sides first (librosa's center=True).")
@click.option("-o", "--output", type=OutputFile(stdout="the frames (a .npy array)", binary=True), default=None,
              help="Output .npy file, or - for stdout (not a terminal). Default: NAME.frames.npy beside the input.")
@quiet_option
def frame_command(source: Path | str, length: int, hop: int, window_fn: str | None, pad: bool, center: bool,
                  output: Path | str | None, quiet: bool) -> None:
    """Cut INPUT (audio, a .npy array, or a CSV/TSV table, also .gz/.bz2/.xz; - for stdin, any of them, with -o) into
    frames saved as a .npy array.

    The array is float32 (n_frames, length) for mono audio, a one-column table
    or a 1-D array, and (channels, n_frames, length) otherwise (a .npy array's
    leading axes are kept as stored: (1, n) gives (1, n_frames, length)); a
    table has one column per channel (its time and label columns left out,
    missing cells NaN). A failed run leaves no partial file.

    \b
    Examples:
      tsae frame speech.wav --window 512 --hop 128 -o frames.npy
      tsae frame sensors.npy --window 256 --hop 64 --window-fn hann --pad
      tsae frame pump.csv --window 64 --hop 16 -o pump_frames.npy
    """
    from tsae.cli.pipes import is_stdout, shown, stdout_or_file, table_input
    from tsae.io.frames import default_frames_output, frame_file
    from tsae.pipelines.progress import SizedBar

    if output is None:  # named after the input the user gave, not the copy a pipe's table is read from
        if source == STDIN:
            raise click.UsageError("'-' (stdin) needs -o: there is no input file to name the frames after")
        output = default_frames_output(source)
    with stdout_or_file(output, [source], suffix=".npy") as target, \
            table_input(source, [output], quiet=quiet) as path, \
            SizedBar("frame", not quiet and stderr_is_terminal(), least=_QUICK) as bar:
        result = frame_file(path, target, length, hop, window_fn=window_fn, pad=pad, center=center, progress=bar)
    frames = "1 frame" if result.n_frames == 1 else f"{result.n_frames} frames"
    written = shown(output) if is_stdout(output) else result.path
    echo_done(f"wrote {written}: {frames} of {length} samples, shape {result.shape} ({result.describe()})", quiet)
