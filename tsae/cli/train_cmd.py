"""``tsae train`` (fit a model family on CSV/audio/.npy series) and ``tsae encode`` (latent codes per window)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tsae.cli.common import (
    FloatRange,
    IntRange,
    OutputFile,
    TableInput,
    checked_by,
    device_option,
    echo_done,
    given_flags,
    hop_fits,
    init_option,
    key_values,
    model_file,
    name_text,
    only_with,
    output_file,
    quiet_option,
    seed_option,
    taper_name,
)
from tsae.models.params import MAX_INT_HPARAM


def _train_config(**settings: Any) -> Any:
    from tsae.models.trainer import TrainConfig

    return TrainConfig(**settings)


@click.command("train")
@click.argument("data", nargs=-1, required=True, type=TableInput(exists=False, dir_okay=True))
@click.option("-o", "--output", required=True, type=output_file,
              help="Model file to write (.tsae).")
@click.option("--family", type=name_text, default=None,
              help="Model family (see `tsae models`) [default: conv1d, or the --init model's].")
@click.option("--window", type=IntRange(1, MAX_INT_HPARAM), default=None,
              help="Window length in samples [default: 128, or the --init model's].")
@click.option("--hop", type=IntRange(1, MAX_INT_HPARAM), default=None,
              help="Hop between windows, at most the window [default: window/4].")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", callback=key_values,
              help="Model family parameter (repeatable), e.g. --param latent=16.")
@click.option("--normalize", type=click.Choice(["zscore", "robust", "none"]), default="zscore", show_default=True,
              help="Per-channel normalisation fitted on the training data.")
@click.option("--window-fn", default=None, callback=taper_name,
              help="Analysis window for frames (e.g. hann, kaiser:BETA; none: rectangular, as `tsae frame`) "
                   "[default: none].")
@click.option("--epochs", type=IntRange(min=1), default=50, show_default=True, help="Maximum training epochs.")
@click.option("--batch-size", type=IntRange(min=1), default=64, show_default=True,
              help="Windows per step (capped to fit memory).")
@click.option("--lr", type=FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              callback=checked_by(lambda lr: _train_config(lr=lr)),
              help="Learning rate.")
@click.option("--patience", type=IntRange(min=1), default=5, show_default=True,
              help="Epochs without validation improvement before stopping.")
@click.option("--val-fraction", type=FloatRange(0, 1, max_open=True), default=0.1, show_default=True,
              help="Share of windows held out for validation and early stopping.")
@click.option("--max-seconds", type=FloatRange(min=0, min_open=True), default=None,
              help="Wall-clock training budget in seconds [default: none, no limit].")
@seed_option
@init_option
@device_option
@quiet_option
def train_command(data: tuple[Path | str, ...], output: Path, family: str | None, window: int | None, hop: int | None,
                  params: dict[str, str], normalize: str, window_fn: str | None, epochs: int, batch_size: int,
                  lr: float, patience: int, val_fraction: float, max_seconds: float | None, seed: int,
                  init: Path | None, device: str, quiet: bool) -> None:
    """Train an autoencoder on DATA (CSV tables, .npy arrays, audio files, or folders of them, sub-folders
    included; - for stdin, once: a table, audio or an array, told by its first bytes).

    CSV files (also .csv.gz, .bz2, .xz; ';' or tab separated with decimal commas) have
    one column per channel; a time column (time, timestamp, date, ...) and a 'label'
    column are recognised and left out; missing cells are repaired. Tables given
    together are matched by column name (another order is put in the first table's;
    other columns are an error); arrays and audio files by position.

    With --init, the new model starts from the encoder of a model trained before (on
    other, perhaps unlabelled, series) and takes its family, window and parameters.

    \b
    Examples:
      tsae train sensors.csv --family conv1d --window 128 --hop 32 -o model.tsae
      tsae train new_site.csv --init model.tsae -o new_site.tsae
      zcat today.csv.gz | tsae train - last_week.csv -o model.tsae
    """
    from tsae.cli.pipes import table_inputs
    from tsae.models.fit import train_files
    from tsae.models.trainer import TrainConfig

    hop_fits(hop, window)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, val_fraction=val_fraction, patience=patience,
                         seed=seed, device=device, quiet=quiet, max_seconds=max_seconds)
    with table_inputs(data, [output], quiet=quiet) as paths:
        fit = train_files(paths, output, model=family, window=window, hop=hop, params=params,
                          normalize=normalize, window_fn=window_fn, config=config, init=init)
    t = fit.train
    ran = f"{t.epochs_run} epoch{'s' if t.epochs_run != 1 else ''}"
    windows = f"{fit.n_windows} window{'s' if fit.n_windows != 1 else ''}"
    echo_done(f"{output}: {fit.model.name}, {windows}, {ran} "
              f"({STOPPED.get(t.stopped, t.stopped.replace('_', ' '))}), "
              f"best validation MSE {t.best_val_loss:.4g} at epoch {t.best_epoch}, {t.seconds:.1f} s on {t.device}",
              quiet)


#: why the epochs ended (``TrainResult.stopped``), as the summary line tells it: "50 epochs (epochs)" said nothing
STOPPED = {"epochs": "all run", "early_stopping": "stopped early: --patience epochs without a better one",
           "max_seconds": "stopped at --max-seconds", "diverged": "stopped: diverged"}


@click.command("encode")
@click.argument("model", type=model_file)
@click.argument("data", type=TableInput())
@click.option("-o", "--output", required=True, type=OutputFile(stdout="the codes (a .npy array)", binary=True),
              help="Where to write the codes (.npy, shape (n_windows, *code_shape); n_windows is "
                   "1 + ceil((n - window) / hop), 1 for a series shorter than the window); - for stdout "
                   "(not a terminal).")
@click.option("--batch-size", type=IntRange(min=1), default=256, show_default=True,
              help="Windows per model call (more is faster and takes more memory).")
@click.option("--plot", type=output_file, default=None,
              help="Also draw a 2-D map of the codes (PNG/PDF/SVG).")
@click.option("--color-by", type=click.Choice(["auto", "time", "label", "score"]), default="auto",
              show_default=True, help="Colour of the map: time, the label column, or the --detector's anomaly score "
                                      "[auto: score with --detector, else label when DATA has one, else time].")
@click.option("--detector", type=model_file, default=None, help="Detector file whose scores colour the map.")
@click.option("--projection", type=click.Choice(["auto", "pca", "umap"]), default="auto", show_default=True,
              help="2-D projection of the codes [auto: UMAP when umap-learn is installed, else PCA].")
@device_option
@quiet_option
def encode_command(model: Path, data: Path | str, output: Path | str, batch_size: int, plot: Path | None, color_by: str,
                   detector: Path | None, projection: str, device: str, quiet: bool) -> None:
    """Write the latent code of every window of DATA (- for stdin: a table, audio or an array) under MODEL to a
    .npy file.

    Windows follow the model's stored window and hop; the end is padded so every
    sample is covered. A table with the model's columns in another order is matched
    by name. --plot draws the codes on a plane (a VAE adds a grid of
    windows decoded from it).

    \b
    Example:
      tsae encode model.tsae sensors.csv -o codes.npy --plot codes.png --detector pump.tsae
      tsae encode model.tsae sensors.csv -o - | ssh host 'cat > codes.npy'
    """
    map_only = given_flags("color_by", "detector", "projection")
    if map_only and plot is None:
        only_with(map_only, "--plot (its map of the codes)")
    if color_by == "score" and detector is None:
        raise click.UsageError("--color-by score needs --detector (the detector whose anomaly scores colour the map)")
    if plot is not None and projection == "umap":  # said at once, before torch is imported
        from tsae.extras import require_extra

        require_extra("umap", "the UMAP projection")
    from tsae.cli.pipes import shown, stdout_or_file, table_input
    from tsae.pipelines.reconstruct.batch import encode_file

    with stdout_or_file(output, [data, model, detector], suffix=".npy") as target, \
            table_input(data, [output, plot], quiet=quiet) as source:
        codes = encode_file(model, source, target, batch_size=batch_size, device=device, plot=plot,
                            color_by=color_by, detector=detector, projection=projection, quiet=quiet)
    echo_done(f"{shown(output)}: {codes.shape[0]} codes of shape {tuple(codes.shape[1:])}", quiet)
    if plot is not None:
        echo_done(f"wrote {plot}", quiet)
