"""``tsae compress`` (a series to a ``.tsz`` container with an optional error bound) and ``tsae decompress``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tsae.cli.common import (
    FloatRange,
    IntRange,
    LocalPath,
    OutputFile,
    TableInput,
    checked_by,
    device_option,
    echo_done,
    model_file,
    quiet_option,
    series_output,
)
from tsae.cli.pipes import STDOUT_KINDS
from tsae.io.c_stderr import stderr_is_terminal


def _checked_bound(max_error: float) -> None:
    from tsae.pipelines.compress.options import check_max_error

    check_max_error(max_error, 1)


#: the sample formats whose encoder adds its own error: a file written in one does not keep --max-error
_LOSSY_SUBTYPES = frozenset({"MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS", "OPUS"})


#: what ``tsae compress`` calls its one or two positional arguments in its usage line and messages
_PATHS = "[MODEL] DATA"


def _model_and_data(ctx: click.Context, paths: tuple[str, ...]) -> tuple[Path | None, Path | str]:
    """``[MODEL] DATA``: the model file (None when only DATA is given) and the series, each checked as a lone
    argument of its type would be."""
    if len(paths) not in (1, 2):
        raise click.UsageError(f"expected {_PATHS} (one or two paths), got {len(paths)}", ctx)
    if len(paths) == 1 and paths[0].lower().endswith(".tsae"):
        raise click.UsageError(f"{paths[0]} is a model file: give the series to compress after it (tsae compress "
                               "MODEL DATA), or the series alone to compress without a model", ctx)
    model = model_file.convert(paths[0], click.Argument(["model"]), ctx) if len(paths) == 2 else None
    data = TableInput().convert(paths[-1], click.Argument(["data"]), ctx)
    return model, data


@click.command("compress")
@click.argument("paths", nargs=-1, required=True, metavar=_PATHS)
@click.option("-o", "--output", required=True, type=OutputFile(stdout="the container (.tsz)", binary=True),
              help="Container to write (.tsz), or - for stdout (not a terminal).")
@click.option("--max-error", type=FloatRange(min=0, min_open=True), default=None, callback=checked_by(_checked_bound),
              help="Largest allowed |original - decompressed| per sample; required without MODEL [default "
              "with one: none, the codes alone].")
@click.option("--relative", is_flag=True, help="--max-error is a fraction of each channel's range (max - min).")
@click.option("--coder", type=click.Choice(["adaptive", "lzma", "zlib", "zstd"]), default="adaptive",
              show_default=True, help="Entropy coder of codes and residuals: adaptive (a context-adaptive range "
              "coder), or byte planes with lzma, zlib or zstd (zstd needs the zstandard package).")
@click.option("--block-windows", type=IntRange(min=1), default=256, show_default=True,
              help="Model windows per block, of 64 samples each without a model (memory and random access "
                   "granularity; lowered so that a block holds at most 2**24 values).")
@click.option("--latent-step", type=FloatRange(min=0, min_open=True), default=None,
              help="Latent quantisation step as a fraction of the latent spread [default: tuned with "
                   "--max-error, else 0.02]; with a model only.")
@device_option
@quiet_option
def compress_command(paths: tuple[str, ...], output: Path | str, max_error: float | None, relative: bool,
                     coder: str, block_windows: int, latent_step: float | None, device: str, quiet: bool) -> None:
    """Compress the series DATA (- for stdin: a table, audio or an array) into a .tsz
    container with an error bound, or with the autoencoder MODEL.

    Without MODEL, --max-error is required: every block is coded by the coder's
    own predictors (differencing, linear prediction, interpolation), which on
    most series come within 1% of a trained model's size, and the container
    decompresses without a model file (and without loading torch: several
    times faster). With MODEL, the container also stores the model's quantised
    codes where they make it smaller; without --max-error, the codes alone
    (lossy). With a bound, a quantised residual keeps every decompressed sample
    within it (checked again on decompression). NaN and infinite samples are
    kept exactly; a table's finite cells beyond 1e30 (which other commands read
    as missing) are kept as numbers within the bound (an absolute bound too
    small for their magnitude is refused: use --relative). A float audio file
    whose NaN, infinite or clipped samples its reader would change is refused.
    A model file is referenced (path and SHA-256), not copied; with -o - (stdout),
    its path is recorded relative to the working folder, where `> NAME.tsz` puts it.

    \b
    Examples:
      tsae compress sensors.csv -o sensors.tsz --max-error 1e-3 --relative
      tsae compress model.tsae sensors.csv -o sensors.tsz --max-error 1e-3 --relative
    """
    from tsae.pipelines.compress.files import compress_file

    model, data = _model_and_data(click.get_current_context(), paths)
    if model is None and max_error is None:
        raise click.UsageError("compressing without a model needs --max-error (the codes alone are a model's): "
                               "give --max-error, or a MODEL before DATA")
    if model is None and latent_step is not None:
        raise click.UsageError("--latent-step applies only with a MODEL (without one there are no codes)")
    if relative and max_error is None:
        raise click.UsageError("--relative needs --max-error")
    from tsae.cli.pipes import is_stdout, shown, stdout_or_file, table_input

    inputs: list[Any] = [data] if model is None else [data, model]
    with stdout_or_file(output, inputs, suffix=".tsz") as target, \
            table_input(data, [output], quiet=quiet) as source:
        result = compress_file(model, source, target, max_error=max_error, relative=relative, coder=coder,
                               block_windows=block_windows, latent_step=latent_step, device=device,
                               progress=not quiet and stderr_is_terminal(),
                               folder=Path.cwd() if is_stdout(output) else None)
    worst = max(result["max_abs_error"], default=0.0)
    echo_done(f"{shown(output)}: {result['samples']} samples in {result['blocks']} block(s), {result['bytes']} bytes "
              f"({result['bits_per_value']:.3f} bits/value), max error {worst:.4g}{_against_bound(result)}", quiet)


def _against_bound(result: dict) -> str:
    """How close the worst channel came to its error bound (absolute, whatever --relative made it), or ''."""
    if not result["bounds"]:
        return ""
    share = max((e / b for e, b in zip(result["max_abs_error"], result["bounds"], strict=True) if b > 0), default=0.0)
    return f" (at most {100 * share:.1f}% of a channel's bound)"


@click.command("decompress")
@click.argument("container", type=LocalPath(exists=True, dir_okay=False, path_type=Path, file_kind=".tsz container"))
@click.option("-o", "--output", required=True, type=series_output,
              help="Series file to write (.csv, .csv.gz/.bz2/.xz, .npy or audio, by suffix), or - for stdout (the kind "
                   "compressed: a WAV for audio, an npy array for an array, else CSV; see --to).")
@click.option("--model", type=model_file, default=None,
              help="Model file [default: the one the container references]; its SHA-256 must match. A container "
                   "compressed without a model needs none.")
@click.option("--to", "stdout_kind", type=click.Choice(STDOUT_KINDS), default=None,
              help="What -o - writes: a csv table, a wav file or an npy array [default: the kind compressed: wav "
                   "for audio, npy for an array, else csv].")
@quiet_option
def decompress_command(container: Path, output: Path | str, model: Path | None, stdout_kind: str | None,
                       quiet: bool) -> None:
    """Decompress the .tsz CONTAINER into a series file.

    Infinite samples are written to a table as inf and -inf. Bytes after the
    end of the container's data, like a cut-short container, are an error.

    \b
    Example:
      tsae decompress sensors.tsz -o restored.csv
      tsae decompress sensors.tsz -o - | gzip > restored.csv.gz
      tsae decompress take.tsz -o - | sox -t wav - take.flac
    """
    from tsae.cli.pipes import is_stdout, shown, stdout_or_file, stdout_suffix
    from tsae.pipelines.compress.files import decompress_file, stored_kind

    kind = stdout_kind
    if kind is None and is_stdout(output):  # the container's header alone, so that stdout's problem names the kind
        kind = {"audio": "wav", "array": "npy"}.get(stored_kind(container), "csv")
    stdout_suffix(output, kind)  # --to with a file output: a usage error before the container's data is read
    with stdout_or_file(output, [container, model], suffix=stdout_suffix(output, kind)) as target:
        result = decompress_file(container, target, model=model, progress=not quiet and stderr_is_terminal())
    bound = result["max_error"]
    within = f", every sample within {max(bound):.4g}" if bound else ""
    if bound and result.get("stored_as") not in (None, "DOUBLE"):  # the file's sample format rounds once more
        within += f" of the source, then stored as {result['stored_as']}"
        if result["stored_as"] in _LOSSY_SUBTYPES:
            within += " (a lossy encoding: the file's samples are not within the bound; write WAV or FLAC to keep it)"
    echo_done(f"{shown(output)}: {result['samples']} samples x {result['channels']} channel(s){within}", quiet)
