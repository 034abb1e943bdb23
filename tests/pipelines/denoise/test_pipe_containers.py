"""``tsae denoise -`` given FLAC, Ogg, MP3 ... on stdin (read from files only): with an output file, stdin is copied
to a private temporary file and denoised as that file is; to stdout it is refused, naming what it is and the way out."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli


def _audio(path, fmt: str, subtype: str | None = None):
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 16000
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))
    sf.write(path, x.astype(np.float32), 16000, format=fmt, subtype=subtype)
    return path


@pytest.mark.parametrize(("fmt", "subtype", "suffix"), [("FLAC", None, ".flac"), ("OGG", "VORBIS", ".ogg"),
                                                         ("MP3", None, ".mp3"), ("RF64", "PCM_16", ".wav")])
def test_a_file_only_container_on_stdin_to_a_file_is_denoised_as_the_file(tmp_path, temp_dir, fmt, subtype,
                                                                          suffix) -> None:
    if fmt not in sf.available_formats():
        pytest.skip(f"libsndfile without {fmt}")
    source = _audio(tmp_path / f"in{suffix}", fmt, subtype)
    direct, piped = tmp_path / "direct.wav", tmp_path / "piped.wav"
    result = CliRunner().invoke(cli, ["denoise", str(source), "-o", str(direct), "-q"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["denoise", "-", "-o", str(piped), "-q"], input=source.read_bytes())
    assert result.exit_code == 0, result.output
    assert piped.read_bytes() == direct.read_bytes()
    assert list(temp_dir.glob("tsae-spool-*")) == []  # the copy is gone


def test_a_file_only_container_on_stdin_to_stdout_names_the_way_out(tmp_path) -> None:
    source = _audio(tmp_path / "in.flac", "FLAC")
    result = CliRunner().invoke(cli, ["denoise", "-", "-q"], input=source.read_bytes())
    assert result.exit_code == 1
    assert result.stderr == ("Error: stdin: a FLAC file, which is read from a file, not from a stream: give the "
                             "file's name instead of -, or an output file, not stdout (stdin is then copied to a "
                             "temporary file first)\n")
    assert result.stdout_bytes == b""


def test_a_corrupt_copy_is_named_stdin_and_leaves_no_output(tmp_path, temp_dir) -> None:
    data = _audio(tmp_path / "in.flac", "FLAC").read_bytes()
    out = tmp_path / "out.wav"
    result = CliRunner().invoke(cli, ["denoise", "-", "-o", str(out), "-q"], input=data[:200])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: stdin: ") and result.stderr.count("\n") == 1, result.stderr
    assert str(temp_dir) not in result.stderr
    assert not out.exists() and list(temp_dir.glob("tsae-spool-*")) == []
