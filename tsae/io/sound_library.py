"""The ``sounddevice`` module of the ``live`` extra, or one line saying what is missing: the package, or the
PortAudio library it loads (which pip does not install). Light: ``tsae devices`` asks before torch is imported."""
from __future__ import annotations

from typing import Any

from tsae.errors import first_line
from tsae.extras import PORTAUDIO_INSTALL, missing_message

#: a machine without the sounddevice package
MISSING_PACKAGE = missing_message("live", "live audio")
#: the package is there, PortAudio is not (``pip install "tsae[live]"`` was done: saying it again does not help)
MISSING_PORTAUDIO = "live audio needs the PortAudio library, which sounddevice cannot load ({}): install it, e.g. " \
                    + PORTAUDIO_INSTALL


def sounddevice_module() -> Any:
    """``import sounddevice``, or a one-line ``RuntimeError`` naming what to install (or PortAudio's failure)."""
    try:
        import sounddevice
    except ImportError:
        raise RuntimeError(MISSING_PACKAGE) from None
    except OSError as error:  # the wheel is there but PortAudio is not
        raise RuntimeError(MISSING_PORTAUDIO.format(first_line(error))) from None
    except Exception as error:  # noqa: BLE001 - PortAudio is there but cannot start (sounddevice.PortAudioError)
        raise RuntimeError(f"live audio: PortAudio cannot start ({first_line(error)})") from None
    return sounddevice
