"""The stdin/stdout side of ``tsae denoise`` (``-`` as input or output), and its ``--live`` side."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from tsae.cli.common import echo_done


@contextlib.contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """Exit quietly (status 0) when the reader of stdout goes away (``tsae ... | head``)."""
    try:
        yield
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            # the interpreter flushes stdout on exit: point it at /dev/null so that cannot fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise click.exceptions.Exit(0) from None


def denoise_pipe(inputs: tuple[str, ...], output: Path | None, *, model: Path | None, strength: float,
                 atten_limit: float | None, raw: bool, rate: int | None, channels: int | None, sample_format: str,
                 device: str, quiet: bool) -> None:
    """Run :func:`~tsae.pipelines.denoise.pipe.denoise_stream` for ``tsae denoise -`` (one input)."""
    from tsae.pipelines.denoise.pipe import STDIO, RawSpec, denoise_stream

    if len(inputs) != 1:
        raise click.UsageError("'-' (stdin) or '-o -' (stdout) takes exactly one input")
    if raw and (rate is None or channels is None):
        raise click.UsageError("--raw needs --rate and --channels")
    if inputs[0] == STDIO and sys.stdin is None:
        raise click.ClickException("stdin is closed: pipe audio in")
    if (output is not None and str(output) == STDIO or output is None and inputs[0] == STDIO) and sys.stdout is None:
        raise click.ClickException("stdout is closed: pipe the audio on or use -o FILE")
    if inputs[0] == STDIO and sys.stdin.isatty():
        raise click.UsageError("'-' reads audio from stdin, which is a terminal here: pipe audio in")
    target: str | Path = output if output is not None else (STDIO if inputs[0] == STDIO else "")
    if target == "":
        raise click.UsageError("-o is needed with --raw for a file input (use -o - for stdout)")
    if str(target) == STDIO and sys.stdout.isatty():
        raise click.UsageError("audio would go to stdout, which is a terminal here: pipe it on or use -o FILE")
    spec = RawSpec(rate, channels, sample_format) if raw and rate and channels else None
    with quiet_broken_pipe():
        frames = denoise_stream(inputs[0], target, raw=spec, model=model, strength=strength,
                                atten_limit=atten_limit, device=device)
    echo_done(f"denoised {frames} sample frames" + ("" if str(target) == STDIO else f" into {target}"), quiet)


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.strip().isdigit() else value


def denoise_live(inputs: tuple[str, ...], *, input_device: str | None, output_device: str | None, rate: int | None,
                 channels: int | None, duration: float | None, model: Path | None, strength: float,
                 atten_limit: float | None, device: str, quiet: bool) -> None:
    """Run :func:`~tsae.pipelines.denoise.live.run_live` for ``tsae denoise --live``."""
    from tsae.pipelines.denoise.live import run_live

    if inputs:
        raise click.UsageError("--live takes no INPUTS (it reads --input-device)")

    def status(report: Any) -> None:
        echo_done(report.summary(), quiet)

    run_live(input_device=_device(input_device), output_device=_device(output_device), sample_rate=rate,
             channels=channels or 1, duration=duration, on_status=status, model=model, strength=strength,
             atten_limit=atten_limit, device=device)
