"""pyproject's optional extras: whether one is installed, and the one line that says what to install.

Every feature that needs an extra checks it here before it imports torch or reads a file, so a bare install is
told at once, in the same words everywhere: ``tsae export needs the onnx package: pip install "tsae[onnx]"``.
"""
from __future__ import annotations

import importlib.util

#: each extra's module that tsae imports, and what pip installs for it (as the message names it)
EXTRAS: dict[str, tuple[str, str]] = {
    "onnx": ("onnx", "the onnx package"),
    "dask": ("distributed", "dask.distributed"),
    "compress": ("zstandard", "the zstandard package"),
    "live": ("sounddevice", "the sounddevice package and the PortAudio library"),
    "umap": ("umap", "umap-learn"),
}


#: how a system gets the PortAudio library the live extra's sounddevice loads (pip does not install it)
PORTAUDIO_INSTALL = "apt-get install libportaudio2"
#: what pip cannot install, said after the extra
_NOTES = {"live": f" (and PortAudio, e.g. {PORTAUDIO_INSTALL})"}


def install_hint(extra: str) -> str:
    """``pip install "tsae[EXTRA]"`` (double quotes: the same line works in bash, zsh, PowerShell and cmd)."""
    return f'pip install "tsae[{extra}]"'


def missing_message(extra: str, feature: str) -> str:
    """``"<feature> needs <package>: pip install "tsae[<extra>]""``."""
    return f"{feature} needs {EXTRAS[extra][1]}: {install_hint(extra)}{_NOTES.get(extra, '')}"


def has_module(name: str) -> bool:
    """Whether the top-level module ``name`` can be imported, without importing it.

    A folder of that name in the working folder (``tsae export -o onnx/`` makes one) is a namespace package to
    Python, not the library: it counts as missing.
    """
    try:
        spec = importlib.util.find_spec(name)
    except ValueError:  # in sys.modules without a spec: a stand-in put there by hand, which imports
        return True
    except ImportError:
        return False
    return spec is not None and spec.origin is not None


def installed(extra: str) -> bool:
    """Whether the module of ``extra`` (a key of :data:`EXTRAS`) can be imported."""
    return has_module(EXTRAS[extra][0])


def require_extra(extra: str, feature: str, error: type[Exception] = RuntimeError) -> None:
    """Raise ``error`` with :func:`missing_message` unless ``extra`` is installed."""
    if not installed(extra):
        raise error(missing_message(extra, feature))
