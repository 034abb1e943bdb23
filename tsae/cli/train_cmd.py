"""``tsae train`` (fit a model family on CSV/audio/.npy series) and ``tsae encode`` (latent codes per window)."""
from __future__ import annotations

from pathlib import Path

import click

from tsae.cli.common import device_option, echo_done, key_values, output_file, quiet_option


@click.command("train")
@click.argument("data", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=output_file,
              help="Model file to write (.tsae).")
@click.option("--family", default="conv1d", show_default=True, help="Model family (see `tsae models`).")
@click.option("--window", type=click.IntRange(min=1), default=128, show_default=True, help="Window length in samples.")
@click.option("--hop", type=click.IntRange(min=1), default=None, help="Hop between windows [default: window/4].")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", callback=key_values,
              help="Model family parameter (repeatable), e.g. --param latent=16.")
@click.option("--normalize", type=click.Choice(["zscore", "robust", "none"]), default="zscore", show_default=True,
              help="Per-channel normalisation fitted on the training data.")
@click.option("--window-fn", default=None, help="Analysis window for frames (e.g. hann) [default: rectangular].")
@click.option("--epochs", type=click.IntRange(min=1), default=50, show_default=True, help="Maximum training epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Windows per step (capped to fit memory).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Learning rate.")
@click.option("--patience", type=click.IntRange(min=1), default=5, show_default=True,
              help="Epochs without validation improvement before stopping.")
@click.option("--val-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True,
              help="Share of windows held out for validation and early stopping.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Wall-clock training budget.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed (CPU training is reproducible).")
@device_option
@quiet_option
def train_command(data: tuple[Path, ...], output: Path, family: str, window: int, hop: int | None,
                  params: dict[str, str], normalize: str, window_fn: str | None, epochs: int, batch_size: int,
                  lr: float, patience: int, val_fraction: float, max_seconds: float | None, seed: int,
                  device: str, quiet: bool) -> None:
    """Train an autoencoder on DATA (CSV tables, .npy arrays, audio files, or folders of them).

    CSV files have one column per channel; a time column (time, timestamp, date, ...)
    and a 'label' column are recognised and left out; missing cells are repaired.

    \b
    Example:
      tsae train sensors.csv --family conv1d --window 128 --hop 32 -o model.tsae
    """
    from tsae.models.fit import train_files
    from tsae.models.trainer import TrainConfig

    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, val_fraction=val_fraction, patience=patience,
                         seed=seed, device=device, quiet=quiet, max_seconds=max_seconds)
    fit = train_files(list(data), output, model=family, window=window, hop=hop, params=params,
                      normalize=normalize, window_fn=window_fn, config=config)
    t = fit.train
    echo_done(f"{output}: {family}, {fit.n_windows} windows, {t.epochs_run} epochs ({t.stopped.replace('_', ' ')}), "
              f"best validation MSE {t.best_val_loss:.4g} at epoch {t.best_epoch}, {t.seconds:.1f} s on {t.device}",
              quiet)


@click.command("encode")
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=output_file,
              help="Where to write the codes (.npy, shape (n_windows, *code_shape)).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@device_option
@quiet_option
def encode_command(model: Path, data: Path, output: Path, batch_size: int, device: str, quiet: bool) -> None:
    """Write the latent code of every window of DATA under MODEL to a .npy file.

    Windows follow the model's stored window and hop; the end is padded so every
    sample is covered.
    """
    from tsae.pipelines.reconstruct.batch import encode_file

    codes = encode_file(model, data, output, batch_size=batch_size, device=device)
    echo_done(f"{output}: {codes.shape[0]} codes of shape {tuple(codes.shape[1:])}", quiet)
