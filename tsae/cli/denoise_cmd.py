"""``tsae denoise``: remove background noise from speech recordings."""
from __future__ import annotations

from pathlib import Path

import click

from tsae.cli.common import device_option, echo_done, model_file, quiet_option, raise_failures


@click.command("denoise")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(), default=None,  # a str keeps the trailing / of a folder
              help="Output file (one input) or folder (several). Default: NAME.denoised.EXT beside each input.")
@click.option("--model", type=model_file, default=None,
              help="A denoiser model file trained with tsae (default: the shipped model).")
@click.option("--strength", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="0 keeps the input, 1 applies the full model.")
@click.option("--atten-limit", "atten_limit", type=click.FloatRange(min=0.0), default=None, metavar="DB",
              help="Maximum attenuation in dB (e.g. 12 keeps some ambience). Default: unlimited.")
@click.option("--batch", type=click.IntRange(min=1), default=16, show_default=True, metavar="N",
              help="Denoise up to N files of one sample rate side by side (one model step per frame "
                   "for all; try a larger N with --device cuda).")
@device_option
@quiet_option
def denoise_command(inputs: tuple[str, ...], output: str | None, model: Path | None, strength: float,
                    atten_limit: float | None, batch: int, device: str, quiet: bool) -> None:
    """Denoise speech in audio files (WAV, FLAC, OGG; any rate, any channels).

    INPUTS are files, folders or glob patterns. Each NAME.EXT becomes
    NAME.denoised.EXT beside it (or goes to -o). The output keeps the input's sample
    rate, channels, format and bit depth; inputs are never overwritten and a file
    that fails leaves no output. With several files, one that fails (unreadable,
    corrupt) does not stop the others: every failure is reported at the end and the
    exit code is 1. The model runs frame by frame (16 ms steps), which
    is faster on the CPU than on a GPU for one file, so --device auto uses the CPU.
    Several files are denoised side by side, --batch at a time.

    \b
    Examples:
      tsae denoise noisy.wav
      tsae denoise talk.flac -o clean.flac --atten-limit 15
      tsae denoise 'recordings/*.wav' -o denoised/
      tsae denoise recordings/ -o denoised/ --batch 64 --device cuda
    """
    from tsae.errors import FilesFailed
    from tsae.pipelines.denoise.files import denoise_files

    try:
        written = denoise_files(inputs, output, model=model, strength=strength, atten_limit=atten_limit,
                                device=device, quiet=quiet, batch=batch)
    except FilesFailed as failed:
        for path in failed.written:
            echo_done(f"wrote {path}", quiet)
        raise_failures(failed.failures, failed.summary())
    for path in written:
        echo_done(f"wrote {path}", quiet)
