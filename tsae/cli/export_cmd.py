"""``tsae export`` (a model or detector to ONNX) and ``tsae devices`` (sound cards for ``denoise --live``)."""
from __future__ import annotations

import os
from pathlib import Path

import click

from tsae.cli.common import FloatRange, IntRange, LocalPath, echo_done, output_target, quiet_option
from tsae.export.api import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET, require_exporter


@click.command("export")
@click.argument("model", type=LocalPath(path_type=Path))  # a folder named as a shipped model is not that model
@click.option("-o", "--output", type=output_target, default=None,  # a str keeps the trailing / of a folder
              help="The .onnx file (default: MODEL with .onnx), or a folder to write it in; a .json sidecar "
                   "is written beside it.")
@click.option("--opset", type=IntRange(MIN_OPSET, MAX_OPSET), default=DEFAULT_OPSET, show_default=True,
              help="ONNX opset (the transformer family needs 14 or later).")
@click.option("--strength", type=FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Denoiser only: as for tsae denoise, fixed in the graph.")
@click.option("--atten-limit", "atten_limit", type=FloatRange(min=0.0, infinite=True), default=None, metavar="DB",
              help="Denoiser only: as for tsae denoise, fixed in the graph (inf: no limit) [default: the model's].")
@quiet_option
def export_command(model: Path, output: str | None, opset: int, strength: float, atten_limit: float | None,
                   quiet: bool) -> None:
    """Export MODEL (a .tsae model or detector file, or a shipped denoiser's name) to ONNX, with a JSON sidecar.

    \b
    A model of any family: normalised windows in, reconstruction and code out.
    The denoiser: one hop of samples plus the state in, one hop plus the state out.
    A detector: raw sensor windows in, each sample's scaled error out.
    The shipped denoisers are named as for tsae denoise --model: denoiser2 (the
    default) and denoiser (the first one); their .onnx goes to the current folder.
    The sidecar holds the frame spec, sample rate, latency and normalisation
    (the graph holds it too, with the family, window, hop, sample rate and tsae
    version, as tsae.* metadata_props); python -m tsae.onnx_reference_runner shows
    how to run all three with onnxruntime. With onnxruntime installed, the graph
    is checked against the model on another batch size than it was traced with.

    \b
    Examples:
      tsae export model.tsae -o model.onnx
      tsae export pump.tsae -o pump.onnx
      tsae export denoiser2 -o den.onnx --atten-limit 15
      tsae export model.tsae -o onnx/          # writes onnx/model.onnx
    """
    require_exporter()  # said at once, before torch and the model are loaded
    from tsae.export import export_model
    from tsae.pipelines.denoise.denoiser import model_path, shipped_models

    if str(model) in shipped_models() and (not model.exists() or model.is_dir()):  # as tsae denoise --model
        model, default = model_path(str(model)), Path(f"{model}.onnx")
    elif model.is_dir():
        raise click.BadParameter(f"{model}: is a folder, not a model file", param_hint="MODEL")
    elif not model.is_file():
        names = ", ".join(shipped_models())
        raise click.BadParameter(f"{model}: no such model file, nor a shipped model ({names})", param_hint="MODEL")
    else:
        default = model.with_suffix(".onnx")
    target = default
    if output is not None:
        target = Path(output)
        if output.endswith(("/", os.sep)) or target.is_dir():  # a folder: the default name in it, as denoise -o
            target = target / default.name  # (the atomic writer makes the folder, once there is something to write)
    result = export_model(model, target, opset=opset, strength=strength, atten_limit=atten_limit)
    echo_done(f"wrote {result.onnx} ({result.kind}) and {result.sidecar}", quiet)


@click.command("devices")
@quiet_option
def devices_command(quiet: bool) -> None:
    """List the sound devices tsae denoise --live can use (needs the 'live' extra).

    The list is the output, so -q (accepted, as by every command) silences only warnings.
    """
    from tsae.io.sound_library import sounddevice_module

    sounddevice_module()  # a missing package or PortAudio said at once, before torch is imported
    from tsae.pipelines.denoise.live import list_devices

    for line in list_devices():  # a machine without a sound device is one line (list_devices raises)
        click.echo(line)
