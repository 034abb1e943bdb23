"""``tsae smooth``/``impute -o -`` write the input's kind to stdout, as ``-o FILE`` keeps it (a WAV for audio, as
``tsae denoise -o -`` does, for ``| sox -t wav -``; an array for a ``.npy``; CSV for a table), or what ``--to``
names; tests/cli/test_stdout_tables.py has the table side."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_helpers import on_a_terminal
from click.testing import CliRunner

from tsae.cli import cli


@pytest.fixture()
def wav(tmp_path) -> Path:
    """A short stereo 24-bit WAV with no gap (impute copies it)."""
    t = np.arange(600) / 8000
    x = 0.5 * np.sin(2 * np.pi * 50 * t) + 0.01 * np.random.default_rng(0).standard_normal(600)
    path = tmp_path / "x.wav"
    sf.write(path, np.stack([x, -x], axis=1), 8000, subtype="PCM_24")
    return path


@pytest.mark.parametrize("command", [["smooth", "--model", "{model}"], ["impute"]])
def test_audio_to_stdout_is_the_wav_of_the_file(tmp_path, trained, wav, command) -> None:
    words = [w.format(model=trained[1]) for w in command]
    out = tmp_path / "out.wav"
    to_file = CliRunner().invoke(cli, [words[0], str(wav), "-o", str(out), *words[1:], "-q"])
    assert to_file.exit_code == 0, to_file.output
    to_stdout = CliRunner().invoke(cli, [words[0], str(wav), "-o", "-", *words[1:]])
    assert to_stdout.exit_code == 0, to_stdout.stderr
    assert to_stdout.stdout_bytes == out.read_bytes()
    assert to_stdout.stdout_bytes[:4] == b"RIFF" and to_stdout.stderr.startswith("stdout: ")
    info = sf.info(io.BytesIO(to_stdout.stdout_bytes))
    assert (info.samplerate, info.channels, info.subtype) == (8000, 2, "PCM_24")


def test_flac_to_stdout_is_a_wav(tmp_path, wav) -> None:
    flac = tmp_path / "x.flac"
    data, rate = sf.read(wav)
    sf.write(flac, data, rate, subtype="PCM_16")
    result = CliRunner().invoke(cli, ["impute", str(flac), "-o", "-", "-q"])
    assert result.exit_code == 0, result.output
    info = sf.info(io.BytesIO(result.stdout_bytes))
    assert (info.format, info.subtype, info.frames) == ("WAV", "PCM_16", 600)


def test_an_array_to_stdout_is_an_array(tmp_path) -> None:
    src = tmp_path / "a.npy"
    values = np.random.default_rng(1).standard_normal((2, 300))
    values[0, 10] = np.nan
    np.save(src, values)
    result = CliRunner().invoke(cli, ["impute", str(src), "-o", "-", "-q"])
    assert result.exit_code == 0, result.output
    filled = np.load(io.BytesIO(result.stdout_bytes))
    assert filled.shape == (2, 300) and np.isfinite(filled).all()
    np.testing.assert_array_equal(np.delete(filled[0], 10), np.delete(values[0], 10))


def test_to_csv_writes_audio_as_the_table_a_csv_file_gets(tmp_path, wav) -> None:
    out = tmp_path / "out.csv"
    assert CliRunner().invoke(cli, ["impute", str(wav), "-o", str(out), "-q"]).exit_code == 0
    result = CliRunner().invoke(cli, ["impute", str(wav), "-o", "-", "--to", "csv", "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == out.read_bytes() and result.stdout_bytes.startswith(b"ch0,ch1\n")


def test_to_wav_of_a_table_with_no_rate_is_one_error(tmp_path) -> None:
    src = tmp_path / "t.csv"  # no time column: no rate
    src.write_text("a,b\n" + "".join(f"{i % 5},{i % 7}\n" for i in range(50)))
    result = CliRunner().invoke(cli, ["impute", str(src), "-o", "-", "--to", "wav"])
    assert result.exit_code == 1 and result.stdout_bytes == b""
    assert result.stderr == "Error: stdout: an audio output needs a sample rate (the input has none)\n"


def test_to_with_a_file_output_is_a_usage_error(tmp_path, wav) -> None:
    result = CliRunner().invoke(cli, ["impute", str(wav), "-o", str(tmp_path / "y.flac"), "--to", "csv"])
    assert result.exit_code == 2
    assert "--to sets what -o - writes; " in result.stderr
    assert not (tmp_path / "y.flac").exists()


def test_audio_to_a_terminal_is_a_usage_error(wav) -> None:
    returncode, err = on_a_terminal("stdout", "impute", wav, "-o", "-")
    assert returncode == 2, err
    assert "'-' writes a WAV file to stdout, which is a terminal here" in err
