"""``tsae denoise``: remove background noise from speech recordings."""
from __future__ import annotations

from pathlib import Path

import click

from tsae.cli.common import (
    FloatRange,
    InputPaths,
    IntRange,
    checked_by,
    device_option,
    echo_done,
    given_flags,
    local,
    name_text,
    only_with,
    output_target,
    quiet_option,
    raise_failures,
)


class DenoiserModel(click.ParamType):
    """An existing model file, or the name of a model shipped with tsae."""

    name = "model"

    def convert(self, value: str | Path, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        from tsae.pipelines.denoise.denoiser import model_path, shipped_models

        value = local(value, self, param, ctx)  # a file:// URL; an empty name refused
        if isinstance(value, Path):
            return value
        path = model_path(value)
        if path.is_file():
            return path
        if path.is_dir():
            self.fail(f"{value}: is a folder, not a model file", param, ctx)
        names = ", ".join(shipped_models())
        self.fail(f"{value}: no such model file, nor a shipped model ({names})", param, ctx)


def _checked_rate(rate: int) -> None:
    from tsae.pipelines.denoise.denoiser import checked_rate

    checked_rate(rate)


@click.command("denoise")
@click.argument("inputs", nargs=-1, type=InputPaths())
@click.option("-o", "--output", type=output_target, default=None,  # a str keeps the trailing / of a folder
              help="Output file (one input) or folder (several). Default: NAME.denoised.EXT beside each input.")
@click.option("--model", type=DenoiserModel(), default=None, metavar="FILE|NAME",
              help="A denoiser model file trained with tsae, or the name of a shipped model "
                   "(default: the shipped default model).")
@click.option("--strength", type=FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="0 keeps the input, 1 applies the full model.")
@click.option("--atten-limit", "atten_limit", type=FloatRange(min=0.0, infinite=True), default=None, metavar="DB",
              help="Maximum attenuation in dB (e.g. 12 keeps some ambience; 0 returns the input; inf: no limit). "
                   "Default: the model's (45 dB for denoiser2, none for denoiser).")
@click.option("--batch", type=IntRange(min=1), default=16, show_default=True, metavar="N",
              help="Denoise up to N files of one sample rate side by side (one model step per frame "
                   "for all; try a larger N with --device cuda).")
@click.option("--jobs", "-j", type=IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Denoise N batches at once in threads (several CPU cores, or a GPU kept busy).")
@click.option("--raw", is_flag=True,
              help="Raw PCM on stdin/stdout (with -) instead of WAV; needs --rate and --channels.")
@click.option("--rate", type=IntRange(min=1), default=None, metavar="HZ", callback=checked_by(_checked_rate),
              help="Sample rate of --raw audio, 4000 to 768000 Hz (with --live, of the sound devices) "
                   "[default: none, needed with --raw; --live: the devices' own].")
@click.option("--channels", type=IntRange(1, 1024), default=None, metavar="N",
              help="Channels of --raw audio [default: none, needed with --raw; --live: 1].")
@click.option("--format", "sample_format", type=click.Choice(["s16", "s24", "s32", "f32"]), default="s16",
              show_default=True, help="Sample format of --raw audio (little-endian).")
# the denoiser's RESAMPLE_QUALITIES, written out: importing the denoiser here would load torch for every command
@click.option("--resample-quality", type=click.Choice(["LD", "QQ", "LQ", "MQ", "HQ", "VHQ"], case_sensitive=False),
              default=None,
              help="Resampler for audio at another rate than the model's 16 kHz: LD, tsae's low-delay filter, or "
                   "soxr's QQ to VHQ. What a stream holds back at 48 kHz (model included): LD at most 69 ms, HQ up "
                   "to 128 ms (soxr gives samples back in bursts). [default: HQ; --live: LD]")
@click.option("--live", is_flag=True, help="Denoise a microphone to speakers live (needs the 'live' extra).")
@click.option("--input-device", type=name_text, default=None, metavar="N",
              help="--live: input device (index or name; see tsae devices).")
@click.option("--output-device", type=name_text, default=None, metavar="M",
              help="--live: output device (index or name).")
@click.option("--duration", type=FloatRange(min=0.0, min_open=True, infinite=True), default=None, metavar="S",
              help="--live: stop after S seconds (default: Ctrl-C).")
@device_option
@quiet_option
def denoise_command(inputs: tuple[str, ...], output: str | None, model: Path | None, strength: float,
                    atten_limit: float | None, batch: int, jobs: int, raw: bool, rate: int | None, channels: int | None,
                    sample_format: str, resample_quality: str | None, live: bool, input_device: str | None,
                    output_device: str | None, duration: float | None, device: str, quiet: bool) -> None:
    """Denoise speech in audio files (WAV, FLAC, OGG, Opus, MP3, AIFF; any rate, any channels).

    INPUTS are files, folders (their top level; 'FOLDER/**/*', quoted, reads
    sub-folders too) or glob patterns. Each NAME.EXT becomes
    NAME.denoised.EXT beside it (or goes to -o). The output keeps the input's sample
    rate, channels, format and bit depth; inputs are never overwritten and a file
    that fails leaves no output. With several files, one that fails (unreadable,
    corrupt) does not stop the others: every failure is reported at the end and the
    exit code is 1. The model runs frame by frame (16 ms steps), which
    is faster on the CPU than on a GPU for one file, so --device auto uses the CPU.
    Several files are denoised side by side, --batch at a time, and --jobs
    batches at once.

    With - as the input (and -o -, the default then) audio streams from stdin to
    stdout as it arrives: WAV (streaming header), or raw PCM with --raw --rate
    --channels --format. The pipe adds at most 20 ms of latency to the model's (and,
    at another rate than 16 kHz, the resamplers': --resample-quality LD keeps them
    short) and memory stays bounded. Another audio file on stdin (FLAC, Ogg, MP3 ...) is denoised as that
    file: read where it is when stdin is redirected from it (< talk.flac), else
    taken with -o FILE and copied to a temporary file first. With --live,
    a microphone is denoised to speakers (or to a virtual
    device: see the README for PipeWire); dropouts and the measured latency are
    reported on stderr.

    \b
    Examples:
      tsae denoise noisy.wav
      tsae denoise talk.flac -o clean.flac --atten-limit 15
      tsae denoise 'recordings/*.wav' -o denoised/
      tsae denoise recordings/ -o denoised/ --jobs 4
      tsae denoise recordings/ -o denoised/ --batch 64 --jobs 8 --device cuda
      ffmpeg -i talk.mp3 -f wav - | tsae denoise - -q > clean.wav
      arecord -f S16_LE -r 48000 -c 1 -t raw | tsae denoise - --raw --rate 48000 --channels 1 \\
        --resample-quality LD | aplay -f S16_LE -r 48000 -c 1
      tsae denoise --live --input-device 2 --output-device 5
    """
    raw_only = given_flags("rate", "channels", "sample_format")
    if raw_only and not raw and not (live and "--format" not in raw_only):
        raise click.UsageError(f"{', '.join(raw_only)} describe{'s' if len(raw_only) == 1 else ''} raw PCM: use "
                               "with --raw (tsae denoise keeps a file's own rate and channels)")
    live_only = given_flags("duration", "input_device", "output_device")
    if live_only and not live:
        only_with(live_only, "--live (a file keeps its own length, a pipe ends with its input)")
    streamed = live or "-" in inputs or raw or (output is not None and str(output) == "-")
    if streamed and jobs > 1:
        raise click.UsageError("--jobs applies to files (one stream is denoised in order)")
    if live:
        not_live = given_flags("output", "raw", "batch")
        if not_live:  # they were ignored: -o x.wav recorded nothing, and no error said so
            raise click.UsageError(f"{', '.join(not_live)} do{'es' if len(not_live) == 1 else ''} not apply with "
                                   "--live (it plays to --output-device; to record, pipe audio through tsae denoise -)")
        from tsae.cli.pipes import denoise_live

        denoise_live(inputs, input_device=input_device, output_device=output_device, rate=rate, channels=channels,
                     duration=duration, model=model, strength=strength, atten_limit=atten_limit, device=device,
                     quiet=quiet, resample_quality=resample_quality)
        return
    if "-" in inputs or raw or (output is not None and str(output) == "-"):
        from tsae.cli.pipes import denoise_pipe

        denoise_pipe(inputs, None if output is None else Path(output), model=model, strength=strength,
                     atten_limit=atten_limit, raw=raw, rate=rate, channels=channels, sample_format=sample_format,
                     device=device, quiet=quiet, resample_quality=resample_quality or "HQ")
        return
    if not inputs:
        raise click.UsageError("Missing argument 'INPUTS...' (or --live).")
    from tsae.errors import FilesFailed
    from tsae.pipelines.denoise.files import denoise_files

    try:
        written = denoise_files(inputs, output, model=model, strength=strength, atten_limit=atten_limit,
                                device=device, quiet=quiet, batch=batch, jobs=jobs,
                                resample_quality=resample_quality or "HQ")
    except FilesFailed as failed:
        for path in failed.written:
            echo_done(f"wrote {path}", quiet)
        raise_failures(failed.failures, failed.summary())
    for path in written:
        echo_done(f"wrote {path}", quiet)
