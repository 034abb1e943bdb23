"""``tsae detect`` given audio (a file, or piped in) says what it is and what to do, in one line."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli

#: what to write, the suffix, and what the message calls it
KINDS = [("WAV", ".wav", "a WAV file"), ("FLAC", ".flac", "a FLAC file")]
HINT = ("(audio); tsae detect reads sensor tables (CSV) or .npy arrays: convert it to one, or use `tsae smooth` or "
        "`tsae denoise` for audio\n")


def _audio(tmp_path, fmt: str, suffix: str):
    path = tmp_path / f"pump{suffix}"
    sf.write(path, 0.3 * np.sin(np.arange(8000) / 5), 8000, format=fmt)
    return path


@pytest.mark.parametrize(("fmt", "suffix", "what"), KINDS)
@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_detect_fit_names_audio(tmp_path, fmt, suffix, what, stdin) -> None:
    audio = _audio(tmp_path, fmt, suffix)
    given, name = ("-", "stdin") if stdin else (str(audio), str(audio))
    result = CliRunner().invoke(cli, ["detect", "fit", given, "-o", str(tmp_path / "d.tsae"), "-q"],
                                input=audio.read_bytes() if stdin else None)
    assert result.exit_code == 1, result.output
    assert result.stderr == f"Error: {name}: {what} {HINT}"
    assert not (tmp_path / "d.tsae").exists()


@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_detect_score_names_audio(tmp_path, trained, stdin) -> None:
    audio = _audio(tmp_path, "WAV", ".wav")
    given, name = ("-", "stdin") if stdin else (str(audio), str(audio))
    result = CliRunner().invoke(cli, ["detect", "score", given, "--detector", str(trained[2]), "-o", "-", "-q"],
                                input=audio.read_bytes() if stdin else None)
    assert result.exit_code == 1, result.output
    assert result.stdout_bytes == b""
    assert result.stderr == f"Error: {name}: a WAV file {HINT}"
