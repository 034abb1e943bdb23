"""Audio and arrays through pipes: stdin (or ``<(...)``) of the series commands is read in the kind its first bytes
tell (``sox in.flac -t wav - | tsae smooth - -o out.wav``), and ``-o -`` of ``reconstruct`` and ``decompress``
writes the input's or the container's kind (a WAV for audio) or ``--to``'s, as ``smooth``'s does
(tests/cli/test_stdout_series_kind.py); tests/cli/test_stdin_tables.py has the table side."""
from __future__ import annotations

import io
import os
import subprocess

import numpy as np
import pytest
import soundfile as sf
from cli_helpers import tsae_process
from click.testing import CliRunner

from tsae.cli import cli
from tsae.io.audio_stream import StreamFormat, encode, wav_header


def _signal(n: int = 600) -> np.ndarray:
    t = np.arange(n) / 8000
    x = 0.5 * np.sin(2 * np.pi * 50 * t) + 0.01 * np.random.default_rng(0).standard_normal(n)
    return np.stack([x, -x], axis=1)


@pytest.mark.parametrize(("fmt", "subtype", "suffix"), [
    ("WAV", "PCM_24", ".wav"), ("FLAC", "PCM_16", ".flac"), ("AIFF", "PCM_16", ".aiff"), ("AU", "PCM_16", ".au"),
    ("W64", "PCM_16", ".w64"), ("RF64", "PCM_16", ".rf64"), ("OGG", "VORBIS", ".ogg")])
def test_audio_on_stdin_is_read_as_its_file_and_written_as_a_wav(tmp_path, temp_dir, fmt, subtype, suffix) -> None:
    src = tmp_path / f"x{suffix}"
    sf.write(src, _signal(), 8000, format=fmt, subtype=subtype)
    from_file = CliRunner().invoke(cli, ["impute", str(src), "-o", "-", "-q"])
    piped = CliRunner().invoke(cli, ["impute", "-", "-o", "-"], input=src.read_bytes())
    assert piped.exit_code == 0, piped.stderr  # it was "stdin: not a text table (binary data)"
    assert piped.stdout_bytes == from_file.stdout_bytes
    assert piped.stdout_bytes[:4] == (b"RF64" if fmt == "RF64" else b"RIFF")  # as -o FILE.wav keeps an RF64 one
    info = sf.info(io.BytesIO(piped.stdout_bytes))
    assert (info.samplerate, info.channels, info.frames) == (8000, 2, 600)  # its rate kept
    assert piped.stderr.startswith("stdout: filled 0 missing sample(s) of 600 x 2")
    assert list(temp_dir.iterdir()) == []


def test_a_streamed_wav_into_smooth_and_a_wav_file_out(tmp_path, trained) -> None:
    # what `sox in.flac -t wav -` sends: sizes of "unknown length" (0xFFFFFFFF)
    fmt = StreamFormat(8000, 2, "PCM_16")
    data = wav_header(fmt) + encode(_signal().T.astype(np.float32), fmt)
    assert data[4:8] == b"\xff\xff\xff\xff"
    out = tmp_path / "out.wav"
    result = CliRunner().invoke(cli, ["smooth", "-", "-o", str(out), "--model", str(trained[1]), "-q"], input=data)
    assert result.exit_code == 0, result.output
    assert (sf.info(out).samplerate, sf.info(out).frames, sf.info(out).subtype) == (8000, 600, "PCM_16")


def test_an_array_on_stdin_is_an_array_out(tmp_path) -> None:
    values = np.random.default_rng(1).standard_normal((2, 300))
    values[1, 7] = np.nan
    data = io.BytesIO()
    np.save(data, values)
    result = CliRunner().invoke(cli, ["impute", "-", "-o", "-", "-q"], input=data.getvalue())
    assert result.exit_code == 0, result.output
    filled = np.load(io.BytesIO(result.stdout_bytes))
    assert filled.shape == (2, 300) and np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[0], values[0])


def test_an_array_on_stdin_is_scored_by_detect(tmp_path, trained) -> None:
    values = np.stack([np.sin(np.arange(400) / 9), np.cos(np.arange(400) / 7)])
    data = io.BytesIO()
    np.save(data, values)
    result = CliRunner().invoke(cli, ["detect", "score", "-", "--detector", str(trained[2]), "-o", "-", "-q"],
                                input=data.getvalue())
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"score,anomaly,")


@pytest.mark.parametrize("data", [bytes(range(256)) * 8, b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(100)])
def test_binary_garbage_on_stdin_is_still_the_one_line_error(tmp_path, temp_dir, data) -> None:
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["impute", "-", "-o", str(out)], input=data)
    assert result.exit_code == 1 and result.stdout_bytes == b""
    assert result.stderr == "Error: stdin: not a text table (binary data)\n"
    assert not out.exists() and list(temp_dir.iterdir()) == []


def test_damaged_audio_on_stdin_names_stdin_and_writes_nothing(tmp_path, temp_dir) -> None:
    src = tmp_path / "x.flac"
    sf.write(src, _signal(4000), 8000, format="FLAC")
    cut = src.read_bytes()[:-700]
    out = tmp_path / "out.wav"
    for target in (str(out), "-"):
        result = CliRunner().invoke(cli, ["impute", "-", "-o", target], input=cut)
        assert result.exit_code == 1 and result.stdout_bytes == b""
        assert result.stderr.startswith("Error: stdin: ") and result.stderr.count("\n") == 1, result.stderr
        assert "tsae-spool" not in result.stderr and "stdin.flac" not in result.stderr
    assert not out.exists() and list(temp_dir.iterdir()) == []


def test_reconstruct_of_audio_piped_in_and_of_an_audio_file_is_a_wav(tmp_path, trained) -> None:
    src = tmp_path / "x.flac"
    sf.write(src, _signal(), 8000, format="FLAC")
    out = tmp_path / "out.wav"
    model = str(trained[1])
    assert CliRunner().invoke(cli, ["reconstruct", model, str(src), "-o", str(out), "-q"]).exit_code == 0
    for given, stdin in ((str(src), None), ("-", src.read_bytes())):
        result = CliRunner().invoke(cli, ["reconstruct", model, given, "-o", "-", "-q"], input=stdin)
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes == out.read_bytes()  # it was the CSV of the series
    as_csv = CliRunner().invoke(cli, ["reconstruct", model, str(src), "-o", "-", "--to", "csv", "-q"])
    assert as_csv.exit_code == 0 and as_csv.stdout_bytes.startswith(b"ch0,ch1\n")


def test_reconstruct_to_with_a_file_or_folder_is_a_usage_error(tmp_path, trained) -> None:
    src, model, _ = trained
    for output, told in ((str(tmp_path / "r.csv"), "written as its suffix tells"),
                         (str(tmp_path) + os.sep, "a folder, where each file keeps its input's kind")):
        result = CliRunner().invoke(cli, ["reconstruct", str(model), str(src), "-o", output, "--to", "wav"])
        assert result.exit_code == 2 and f"--to sets what -o - writes; {output} is {told}" in result.stderr
    assert not (tmp_path / "r.csv").exists()


def test_decompress_to_stdout_writes_the_kind_compressed(tmp_path, trained) -> None:
    src = tmp_path / "x.wav"
    sf.write(src, _signal(), 8000, subtype="PCM_16")
    model = str(trained[1])
    for name, data in (("a", src), ("t", trained[0])):
        assert CliRunner().invoke(cli, ["compress", model, str(data), "-o", str(tmp_path / f"{name}.tsz"),
                                        "-q"]).exit_code == 0
    out = tmp_path / "a.wav"
    assert CliRunner().invoke(cli, ["decompress", str(tmp_path / "a.tsz"), "-o", str(out), "-q"]).exit_code == 0
    audio = CliRunner().invoke(cli, ["decompress", str(tmp_path / "a.tsz"), "-o", "-", "-q"])
    assert audio.exit_code == 0 and audio.stdout_bytes == out.read_bytes()  # it was CSV
    table = CliRunner().invoke(cli, ["decompress", str(tmp_path / "t.tsz"), "-o", "-", "-q"])
    assert table.exit_code == 0 and table.stdout_bytes.startswith(b"time,a,b\n")
    as_csv = CliRunner().invoke(cli, ["decompress", str(tmp_path / "a.tsz"), "-o", "-", "--to", "csv", "-q"])
    assert as_csv.exit_code == 0 and as_csv.stdout_bytes.startswith(b"ch0,ch1\n")
    to_file = CliRunner().invoke(cli, ["decompress", str(tmp_path / "a.tsz"), "-o", str(tmp_path / "b.csv"),
                                       "--to", "csv"])
    assert to_file.exit_code == 2 and not (tmp_path / "b.csv").exists()


def test_decompress_to_stdout_of_an_array_is_an_array(tmp_path, trained) -> None:
    src = tmp_path / "x.npy"
    np.save(src, _signal().T)
    model = str(trained[1])
    assert CliRunner().invoke(cli, ["compress", model, str(src), "-o", str(tmp_path / "x.tsz"), "-q"]).exit_code == 0
    for given, stdin in ((str(src), None), ("-", src.read_bytes())):  # an array piped in is an array too
        out = tmp_path / "y.npy"
        result = CliRunner().invoke(cli, ["compress", model, given, "-o", str(tmp_path / "y.tsz"), "-q"], input=stdin)
        assert result.exit_code == 0, result.output
        assert CliRunner().invoke(cli, ["decompress", str(tmp_path / "y.tsz"), "-o", str(out), "-q"]).exit_code == 0
        piped = CliRunner().invoke(cli, ["decompress", str(tmp_path / "y.tsz"), "-o", "-", "-q"])
        assert piped.exit_code == 0, piped.output
        assert piped.stdout_bytes == out.read_bytes()  # it was the CSV of the array
        assert np.load(io.BytesIO(piped.stdout_bytes)).shape == (2, 600)
    as_csv = CliRunner().invoke(cli, ["decompress", str(tmp_path / "x.tsz"), "-o", "-", "--to", "csv", "-q"])
    assert as_csv.exit_code == 0 and as_csv.stdout_bytes.startswith(b"ch0,ch1\n")


def test_stdout_appending_to_the_audio_stdin_reads_is_refused(tmp_path) -> None:
    src = tmp_path / "x.wav"
    sf.write(src, _signal(), 8000)
    before = src.read_bytes()
    with open(src, "rb") as stdin, open(src, "ab") as stdout:  # tsae impute - -o - < x.wav >> x.wav
        process = tsae_process("impute", "-", "-o", "-", stdin=stdin, stdout=stdout)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert err.decode() == "Error: stdin: refusing to overwrite the input file (stdout goes to the file stdin reads)\n"
    assert src.read_bytes() == before


def test_a_reader_of_the_wav_that_goes_away_ends_quietly(tmp_path) -> None:
    src = tmp_path / "x.flac"
    sf.write(src, _signal(40000), 8000, format="FLAC")  # a WAV of 160 kB out: more than a pipe's buffer
    with open(src, "rb") as stdin:  # cat x.flac | tsae impute - -o - | head -c 100
        process = tsae_process("impute", "-", "-o", "-", stdin=stdin, stdout=subprocess.PIPE)
        first = process.stdout.read(100)
        process.stdout.close()
        code = process.wait(timeout=120)
    err = process.stderr.read().decode()
    assert first.startswith(b"RIFF") and code == 0, err
    assert "Error" not in err and "Traceback" not in err and "Exception" not in err, err
