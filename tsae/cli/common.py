"""Options and helpers shared by every sub-command, spelled the same way everywhere."""
from __future__ import annotations

import functools
from pathlib import Path

import click

quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bars or chatter.")
device_option = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where models run: CUDA when present (auto), or forced.",
)
input_file = functools.partial(
    click.argument, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
#: A model FILE (``--model`` means a file on every command; a family name is ``--family``).
model_file = click.Path(exists=True, dir_okay=False, path_type=Path)
#: ``--init MODEL``: start the new network from a pretrained model file's encoder
init_option = click.option("--init", type=model_file, default=None, metavar="MODEL",
                           help="Start from the encoder of this model file (same family; shapes must fit).")


def key_values(ctx: click.Context, param: click.Parameter, items: tuple[str, ...]) -> dict[str, str]:
    """Click callback for a repeatable ``KEY=VALUE`` option: ``{"KEY": "VALUE", ...}`` (both stripped)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not {getattr(param, 'metavar', None) or 'KEY=VALUE'}",
                                     ctx=ctx, param=param)
        out[key.strip()] = value.strip()
    return out


def echo_done(message: str, quiet: bool) -> None:
    """A command's success message: one line on stderr (with the progress), unless ``quiet``."""
    if not quiet:
        click.echo(message, err=True)
