"""``tsae smooth`` (self-supervised autoencoder smoothing) and ``tsae impute`` (fill missing samples)."""
from __future__ import annotations

from pathlib import Path

import click

from tsae.cli.common import (
    FloatRange,
    echo_done,
    input_file,
    key_values,
    model_file,
    quiet_option,
    series_output,
)
from tsae.cli.pipes import STDOUT_KINDS

_output = click.option("-o", "--output", required=True, type=series_output,
                       help="Output file (same kind as the input: CSV keeps its time column, audio its rate; "
                            ".csv.gz, .bz2, .xz are written compressed), or - for stdout (in the input's kind: "
                            "WAV for audio, .npy for an array, CSV for a table; see --to). Audio or an array on "
                            "stdin (-) is told by its first bytes.")
_to = click.option("--to", "stdout_kind", type=click.Choice(STDOUT_KINDS), default=None,
                   help="What -o - writes: a csv table, a wav file or an npy array [default: the input's kind]. "
                        "A file's kind is its suffix.")
_model = click.option("--model", type=model_file, default=None,
                      help="Use a trained model file (.tsae) instead of learning from the series itself.")
_device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                              help="Where --model runs: CUDA when present (auto), or forced; without --model the "
                                   "work is on the CPU (cuda is refused).")


@click.command("smooth")
@input_file("input")
@_output
@click.option("--strength", type=FloatRange(0, 1), default=1.0, show_default=True,
              help="0 keeps the input, 1 smooths fully; values between blend.")
@click.option("--no-edge-guard", is_flag=True, help="Smooth steps and spikes too (by default they are kept sharp).")
@click.option("--spikes", type=click.Choice(["auto", "keep", "smooth"]), default="auto", show_default=True,
              help="Lone samples far off the signal: auto keeps them as spikes unless they are the noise's own "
                   "outliers; keep keeps every one; smooth smooths every one over (a glitchy sensor).")
@click.option("--noise", type=click.Choice(["white", "coloured", "colored"]), default="white", show_default=True,
              help="white: each sample's noise is its own; coloured (colored): the noise is correlated over a few "
                   "samples (AR(1)-like, a sensor's own filter) and is smoothed harder. Your word: a rough "
                   "signal can look like coloured noise. Not with --model.")
@_model
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", callback=key_values,
              help="Parameter of the self-taught blind_spot network (repeatable; see `tsae models blind_spot`).")
@_device_option
@_to
@quiet_option
def smooth_command(input: Path | str, output: Path | str, strength: float, no_edge_guard: bool, spikes: str,
                   noise: str, model: Path | None, params: dict[str, str], device: str, stdout_kind: str | None,
                   quiet: bool) -> None:
    """Smooth INPUT (CSV/TSV, also .gz/.bz2/.xz, .npy or audio; - for stdin, any of them), every channel, without
    shifting it in time.

    Without --model a small blind-spot autoencoder learns the signal from INPUT
    itself (a few seconds); steps and spikes are kept sharp. A long file (table,
    audio or .npy) is smoothed in blocks of 2**20 samples with what its first block taught.

    \b
    Examples:
      tsae smooth sensors.csv -o sensors.smooth.csv
      tsae smooth noisy.wav -o smooth.wav --strength 0.7
      tsae smooth glitchy.csv -o clean.csv --spikes smooth
      tsae smooth drifting.csv -o smooth.csv --noise coloured
      zcat big.csv.gz | tsae smooth - -o - | gzip > smooth.csv.gz
      tsae smooth noisy.flac -o - | sox -t wav - smooth.mp3
      sox noisy.mp3 -t wav - | tsae smooth - -o smooth.wav
    """
    from tsae.cli.pipes import series_pipes, shown
    from tsae.pipelines.smooth.files import smooth_file

    with series_pipes(input, output, [input, model], kind=stdout_kind, quiet=quiet) as (source, target):
        info = smooth_file(source, target, strength=strength, model=model, device=_device(device, model),
                           edge_guard=not no_edge_guard, spikes=spikes, noise=noise, model_params=params,
                           quiet=quiet)
    echo_done(f"{shown(output)}: smoothed {info['samples']} samples x {info['channels']} channel(s) "
              f"in {info['seconds']:.1f} s", quiet)


def _device(device: str, model: Path | None) -> str:
    """Where ``--model`` runs; without one the work is on the CPU, and ``--device cuda`` says so."""
    if model is None and device == "cuda":
        raise click.UsageError("--device cuda needs --model: without one the series teaches a small network on the CPU")
    return device if model is not None else "cpu"


@click.command("impute")
@input_file("input")
@_output
@_model
@_device_option
@_to
@quiet_option
def impute_command(input: Path | str, output: Path | str, model: Path | None, device: str, stdout_kind: str | None,
                   quiet: bool) -> None:
    """Fill the missing cells (empty, NaN, NA, ...) of INPUT (- for stdin: a table, audio or an array) by
    autoencoder reconstruction.

    Every missing sample is filled; observed samples are written unchanged. A long
    file (table, audio or .npy) is filled in blocks of 2**16 samples, each with context
    around it and grown (to at most 8 blocks) to hold a gap whole (a longer gap is filled
    from a segment reaching as far as it spans on each side).

    \b
    Example:
      tsae impute sensors.csv -o sensors.filled.csv
      some_logger | tsae impute - -o - > filled.csv
    """
    from tsae.cli.pipes import series_pipes, shown
    from tsae.pipelines.smooth.files import impute_file

    with series_pipes(input, output, [input, model], kind=stdout_kind, quiet=quiet) as (source, target):
        info = impute_file(source, target, model=model, device=_device(device, model), quiet=quiet)
    echo_done(f"{shown(output)}: filled {info['missing']} missing sample(s) of {info['samples']} x "
              f"{info['channels']} channel(s) in {info['seconds']:.1f} s", quiet)
