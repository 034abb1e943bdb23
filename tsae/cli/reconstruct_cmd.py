"""``tsae reconstruct``: run a trained model over one series file, or a whole batch of them."""
from __future__ import annotations

import contextlib
from pathlib import Path

import click

from tsae.cli.common import (
    STDIN,
    STDOUT,
    InputPaths,
    IntRange,
    device_option,
    echo_done,
    model_file,
    output_file,
    output_target,
    quiet_option,
    raise_failures,
    stdin_problem,
    stdout_problem,
)
from tsae.cli.pipes import STDOUT_KINDS


@click.command("reconstruct")
@click.argument("model", type=model_file)
@click.argument("inputs", nargs=-1, required=True, type=InputPaths())
@click.option("-o", "--output", required=True, type=output_target,
              help="Output file (one input; - for stdout, in the input's kind: WAV for audio, .npy for an array, CSV "
                   "for a table; see --to) or folder (several files, folders or globs).")
@click.option("--workers", type=IntRange(min=1), default=1, show_default=True,
              help="Local worker processes (each loads the model once).")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Run on an existing Dask cluster, e.g. tcp://scheduler:8786 "
                   "(inputs and outputs must be reachable from its workers, at the same paths).")
@click.option("--batch-size", type=IntRange(min=1), default=256, show_default=True,
              help="Windows per model call.")
@click.option("--manifest", type=output_file, default=None,
              help="Manifest CSV [default: OUTDIR/manifest.csv, or ./manifest.csv for a URL output].")
@device_option
@click.option("--to", "stdout_kind", type=click.Choice(STDOUT_KINDS), default=None,
              help="What -o - writes: a csv table, a wav file or an npy array [default: the input's kind].")
@quiet_option
def reconstruct_command(model: Path, inputs: tuple[str, ...], output: str, workers: int, dask_address: str | None,
                        batch_size: int, manifest: Path | None, device: str, stdout_kind: str | None,
                        quiet: bool) -> None:
    """Reconstruct series files (CSV/TSV, also .gz/.bz2/.xz, .npy, audio) through the autoencoder MODEL.

    With one input file (or -, a table, audio or a .npy array on stdin), -o is the
    output file (or -, stdout, in the input's kind: see --to). With several files,
    folders (their top level; 'FOLDER/**/*', quoted, reads sub-folders too) or globs, -o is a folder: each file is
    written there under its own name (a.csv.gz compressed again), a
    manifest CSV records every file (ok/failed, error, samples, channels,
    reconstruction RMSE/MSE, seconds, the input's and the model's size and
    modification time, and the warning told of it: a sample rate other than the
    model's, cells read as missing...), and a rerun skips the files already done (an output older than
    its input or the model is redone, and so is one whose input or model has another
    size or time than recorded, e.g. replaced by cp -p). A file that fails is reported
    and the batch goes on; the exit code is 1 if any file failed. Ctrl-C leaves no output of the files running
    (in a local output folder).

    \b
    Examples:
      tsae reconstruct model.tsae sensors.csv -o sensors.recon.csv
      zcat sensors.csv.gz | tsae reconstruct model.tsae - -o - | gzip > sensors.recon.csv.gz
      sox take.flac -t wav - | tsae reconstruct model.tsae - -o - | sox -t wav - recon.flac
      tsae reconstruct model.tsae sensors/ more/*.csv -o out/ --workers 4
      tsae reconstruct model.tsae s3://bucket/in/*.csv -o s3://bucket/out --dask tcp://scheduler:8786
    """
    from tsae.extras import require_extra

    if dask_address is not None:  # said at once, before torch is imported
        require_extra("dask", "running on a Dask cluster")
    from tsae.cli.pipes import (
        check_stdout_not_read,
        series_stdout_suffix,
        shown,
        stdout_or_file,
        stdout_suffix,
        table_input,
    )
    from tsae.pipelines.reconstruct.batch import reconstruct

    if dask_address is not None and workers != 1:
        raise click.UsageError("--workers starts local processes and --dask runs the files on the cluster's "
                               "workers: give one or the other")
    piped = _piped(inputs, output, dask_address, stdout_kind)
    stdout_suffix(output, stdout_kind)  # --to with a file or folder: a usage error before anything is read
    reads: list[Path | str | None] = [model, *inputs]
    with contextlib.ExitStack() as stack:
        if output == STDOUT:
            check_stdout_not_read(reads)  # before stdin is read
        if piped:
            inputs = (str(stack.enter_context(table_input(inputs[0], [output], quiet=quiet))),)
        target: Path | str = output
        if output == STDOUT:  # the kind of what was read: audio piped in is a WAV
            suffix = series_stdout_suffix(Path(inputs[0]), output, stdout_kind)
            target = stack.enter_context(stdout_or_file(output, reads, suffix=suffix))
        result = reconstruct(model, inputs, target, workers=workers, dask=dask_address, device=device,
                             batch_size=batch_size, manifest=manifest, quiet=quiet)
    if result.manifest is None:  # one file
        row = next(iter(result.rows.values()))
        echo_done(f"{shown(output)}: {row['samples']} samples x {row['channels']} channel(s), "
                  f"reconstruction RMSE {row['rmse']:.4g}, {row['seconds']:.2f} s", quiet)
        return
    if result.failed:
        raise_failures({row["file"]: row["error"] for row in result.failed}, result.summary())
    echo_done(result.summary(), quiet)


def _piped(inputs: tuple[str, ...], output: str, dask_address: str | None, kind: str | None = None) -> bool:
    """Whether the one input is ``-`` (stdin) or a pipe (``<(zcat x.csv.gz)``), read through a private copy; ``-`` or
    a pipe among several inputs, or ``-o -`` for several, a folder or a glob, or either with ``--dask`` (whose workers
    cannot reach this process's stdin or stdout), is a usage error."""
    from tsae.cli.pipes import STDOUT_WRITES, series_stdout_suffix
    from tsae.io.paths import is_url
    from tsae.io.spool import needs_spool

    if len(inputs) > 1:  # a batch names each output and manifest row after its input, and resumes by it
        if STDIN in inputs:
            raise click.BadParameter("'-' (stdin) is read as one file's input: a batch (several inputs into a "
                                     "folder, with a manifest) takes files; save stdin to one", param_hint="INPUTS")
        pipe = next((path for path in inputs if not is_url(path) and needs_spool(path)), None)
        if pipe is not None:  # it was run with the others, then failed alone as "a pipe or device, not a file"
            raise click.BadParameter(f"{pipe} is a pipe or device, read as one file's input: a batch (several "
                                     "inputs into a folder, with a manifest) takes files; save it to one",
                                     param_hint="INPUTS")
    if STDIN in inputs:
        problem = stdin_problem()
        if problem:
            raise click.BadParameter(problem, param_hint="INPUTS")
    if output == STDOUT:
        if len(inputs) == 1 and inputs[0] != STDIN and not is_url(inputs[0]) and Path(inputs[0]).is_file():
            series_stdout_suffix(Path(inputs[0]), output, kind)  # a closed stdout named as what it would write
        problem = stdout_problem("the series" if kind is None else STDOUT_WRITES[kind])
        if problem:
            raise click.BadParameter(problem, param_hint="'-o'")
        one = len(inputs) == 1 and (inputs[0] == STDIN or not is_url(inputs[0]) and (
            Path(inputs[0]).is_file() or needs_spool(inputs[0])))
        if not one:
            raise click.UsageError("-o - (stdout) takes one input file: a batch (several files, a folder or a glob) "
                                   "is written into a folder (-o DIR/)")
    piped = len(inputs) == 1 and (inputs[0] == STDIN or not is_url(inputs[0]) and needs_spool(inputs[0]))
    if dask_address is not None and (piped or output == STDOUT):
        raise click.UsageError("--dask runs the files on the cluster's workers, which cannot reach this process's "
                               "stdin or stdout: give them files")
    return piped
