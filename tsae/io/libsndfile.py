"""soundfile, the binding of libsndfile, imported when first needed (:func:`_sf`), and its errors told in one
line (:func:`_detail`), for the audio reader (:mod:`tsae.io.audio`) and writer (:mod:`tsae.io.audio_write`).
"""
from __future__ import annotations

import os
import sys


def _sf():
    import soundfile

    return soundfile


def _detail(error: BaseException) -> str:
    """libsndfile's reason without the "Error opening '<path>':" prefix."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if text.startswith("Error opening") and "': " in text:
        text = text.split("': ", 1)[1]
    return text.rstrip(".")


def _sf_name(path: str | os.PathLike) -> str | bytes:
    """``path`` as soundfile opens it: its text, or its bytes where the file system encoding cannot encode the text.

    soundfile encodes a name strictly with that encoding, which is ASCII under ``LC_ALL=C`` without UTF-8 mode
    (``PYTHONUTF8=0``): a non-ASCII name, which Python holds with surrogate escapes for the bytes it could not
    decode, failed ("'ascii' codec can't encode characters"). The bytes :func:`os.fsencode` gives back are the
    file's own name (Windows takes text: soundfile opens it with the wide-character call).
    """
    name = os.fspath(path)
    if isinstance(name, str) and sys.platform != "win32":
        try:
            name.encode(sys.getfilesystemencoding())
        except UnicodeEncodeError:
            return os.fsencode(name)
    return name
