"""soundfile, the binding of libsndfile, imported when first needed (:func:`_sf`), and its errors told in one
line (:func:`_detail`), for the audio reader (:mod:`tsae.io.audio`) and writer (:mod:`tsae.io.audio_write`).
"""
from __future__ import annotations


def _sf():
    import soundfile

    return soundfile


def _detail(error: BaseException) -> str:
    """libsndfile's reason without the "Error opening '<path>':" prefix."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if text.startswith("Error opening") and "': " in text:
        text = text.split("': ", 1)[1]
    return text.rstrip(".")
