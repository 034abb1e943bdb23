"""Options and helpers shared by every sub-command, spelled the same way everywhere."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

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


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors raised by a command into one-line ``click.ClickException``s.

    With ``tsae --debug`` the original exception propagates with its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool((ctx.find_root().obj or {}).get("debug"))
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except (OSError, ValueError, RuntimeError, KeyError) as error:
            if debug:
                raise
            message = str(error).strip().splitlines()
            raise click.ClickException(message[0] if message else type(error).__name__) from error

    return wrapper
