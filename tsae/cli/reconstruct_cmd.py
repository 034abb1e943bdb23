"""``tsae reconstruct``: run a trained model over one series file, or a whole batch of them."""
from __future__ import annotations

from pathlib import Path

import click

from tsae.cli.common import (
    IntRange,
    LocalPath,
    PathText,
    device_option,
    echo_done,
    output_file,
    output_target,
    quiet_option,
    raise_failures,
)


@click.command("reconstruct")
@click.argument("model", type=LocalPath(dir_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=PathText())
@click.option("-o", "--output", required=True, type=output_target,
              help="Output file (one input) or folder (several files, folders or globs).")
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
@quiet_option
def reconstruct_command(model: Path, inputs: tuple[str, ...], output: str, workers: int, dask_address: str | None,
                        batch_size: int, manifest: Path | None, device: str, quiet: bool) -> None:
    """Reconstruct series files (CSV/TSV, also .gz/.bz2/.xz, .npy, audio) through the autoencoder MODEL.

    With one input file, -o is the output file. With several files, folders or globs,
    -o is a folder: each file is written there under its own name (a.csv.gz compressed
    again), a manifest CSV records every file (ok/failed, error, samples, channels,
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
      tsae reconstruct model.tsae sensors/ more/*.csv -o out/ --workers 4
      tsae reconstruct model.tsae s3://bucket/in/*.csv -o s3://bucket/out --dask tcp://scheduler:8786
    """
    from tsae.pipelines.reconstruct.batch import reconstruct

    if dask_address is not None and workers != 1:
        raise click.UsageError("--workers starts local processes and --dask runs the files on the cluster's "
                               "workers: give one or the other")
    result = reconstruct(model, inputs, output, workers=workers, dask=dask_address, device=device,
                         batch_size=batch_size, manifest=manifest, quiet=quiet)
    if result.manifest is None:  # one file
        row = next(iter(result.rows.values()))
        echo_done(f"{output}: {row['samples']} samples x {row['channels']} channel(s), "
                  f"reconstruction RMSE {row['rmse']:.4g}, {row['seconds']:.2f} s", quiet)
        return
    if result.failed:
        raise_failures({row["file"]: row["error"] for row in result.failed}, result.summary())
    echo_done(result.summary(), quiet)
