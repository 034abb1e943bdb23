"""``-`` with stdin redirected from a regular file (``tsae smooth - < x.flac``): read where it is, through a link
named as the copy of a pipe would be (no copy: a long file costs no temporary space and no time to copy), with the
"never overwrite the input" refusals kept; a pipe, or a file read part way, is still copied
(tests/cli/test_stdin_tables.py)."""
from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from cli_helpers import tsae_process
from click.testing import CliRunner

from tsae.cli import cli
from tsae.cli.pipes import table_input


def _no_copies(monkeypatch) -> None:
    from tsae.io import spool

    def refuse(path):
        raise AssertionError(f"stdin was copied to {path}")

    monkeypatch.setattr(spool, "_create", refuse)


def _flac(path, n: int = 8000):
    t = np.arange(n) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, format="FLAC")
    return path


@pytest.mark.parametrize(("name", "data", "kind"), [("x.csv", b"t,a\n1,2\n2,3\n", "stdin.csv"),
                                                    ("x.npy", None, "stdin.npy"), ("x.flac", None, "stdin.flac")])
def test_stdin_a_regular_file_is_read_where_it_is(tmp_path, temp_dir, monkeypatch, name, data, kind) -> None:
    src = tmp_path / name
    if name.endswith(".npy"):
        np.save(src, np.ones((2, 5)))
    elif name.endswith(".flac"):
        _flac(src)
    else:
        src.write_bytes(data)
    _no_copies(monkeypatch)
    with open(src, "rb") as handle:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(handle))
        with table_input("-") as path:
            assert path.name == kind  # the kind its first bytes tell, as a copy's name
            assert path.is_symlink() and os.path.samefile(path, src)
        monkeypatch.undo()
    assert list(temp_dir.iterdir()) == []


def test_stdin_a_file_read_part_way_is_what_is_left_of_it(tmp_path, temp_dir, monkeypatch) -> None:
    src = tmp_path / "x.csv"
    src.write_bytes(b"skip\nt,a\n1,2\n")
    with open(src, "rb") as handle:
        handle.seek(5)  # ( read a line; tsae smooth - ) < x.csv: stdin is the rest
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(handle))
        with table_input("-") as path:
            assert not path.is_symlink() and path.read_bytes() == b"t,a\n1,2\n"
        monkeypatch.undo()


def test_a_table_on_stdin_from_a_file_gives_what_the_file_gives_and_errors_name_stdin(tmp_path, trained) -> None:
    src, model, _ = trained
    direct = CliRunner().invoke(cli, ["smooth", str(src), "-o", "-", "--model", str(model), "-q"])
    assert direct.exit_code == 0, direct.output
    with open(src, "rb") as stdin:
        process = tsae_process("smooth", "-", "-o", "-", "--model", model, "-q", stdin=stdin, stdout=subprocess.PIPE)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert out == direct.stdout_bytes
    bad = tmp_path / "bad.csv"
    bad.write_text("t,a,b\n1,2,3\n2,x,3\n")
    with open(bad, "rb") as stdin:
        process = tsae_process("smooth", "-", "-o", tmp_path / "out.csv", "--model", model, stdin=stdin)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert err.decode() == "Error: stdin: line 3, column 'a': not a number ('x')\n"
    assert not (tmp_path / "out.csv").exists()


def test_denoise_of_a_flac_file_on_stdin_to_stdout_reads_it_where_it_is(tmp_path, temp_dir, monkeypatch) -> None:
    from tsae.pipelines.denoise.pipe import denoise_stream

    src = _flac(tmp_path / "in.flac")
    direct = tmp_path / "direct.wav"
    assert CliRunner().invoke(cli, ["denoise", str(src), "-o", str(direct), "-q"]).exit_code == 0
    _no_copies(monkeypatch)
    out = io.BytesIO()
    with open(src, "rb") as stdin:  # it was refused: "a FLAC file, which is read from a file, not from a stream"
        assert denoise_stream("-", "-", stdin=stdin, stdout=out) == 8000
    assert sf.read(io.BytesIO(out.getvalue()))[0].tolist() == sf.read(direct)[0].tolist()
    with open(src, "rb") as stdin:
        assert denoise_stream("-", tmp_path / "piped.wav", stdin=stdin) == 8000
    assert (tmp_path / "piped.wav").read_bytes() == direct.read_bytes()
    with open(src, "rb") as stdin, pytest.raises(ValueError, match=r"in\.flac: refusing to overwrite the input file"):
        denoise_stream("-", src, stdin=stdin)
    assert list(temp_dir.iterdir()) == []


@pytest.mark.parametrize("quiet", [False, True])
def test_denoise_shows_a_counter_of_stdin_copied(tmp_path, temp_dir, monkeypatch, quiet) -> None:
    from tsae.io import c_stderr
    from tsae.pipelines import progress

    monkeypatch.setattr(progress, "READ_BAR_DELAY", 0.0)
    monkeypatch.setattr(c_stderr, "stderr_is_terminal", lambda: True)
    data = _flac(tmp_path / "in.flac").read_bytes()
    args = ["denoise", "-", "-o", str(tmp_path / "out.wav")] + (["-q"] if quiet else [])
    result = CliRunner().invoke(cli, args, input=data)
    assert result.exit_code == 0, result.output
    assert ("read stdin: " in result.output) is not quiet, result.output
