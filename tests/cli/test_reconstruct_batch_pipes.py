"""``tsae reconstruct`` with stdin or a pipe where a batch or ``--dask`` cannot take it: a usage error naming it,
before any file is run (a batch names each output and manifest row after its input and resumes by it; the Dask
workers cannot reach this process's stdin or stdout)."""
from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from tsae.cli import cli


def _reconstruct(trained, *args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli, ["reconstruct", str(trained[1]), *args, "-q"], input=stdin)


def test_stdin_among_several_inputs_is_a_usage_error(tmp_path, trained) -> None:
    src = trained[0]
    result = _reconstruct(trained, "-", str(src), "-o", f"{tmp_path / 'out'}{os.sep}", stdin=src.read_bytes())
    assert result.exit_code == 2, result.output
    assert "'-' (stdin) is read as one file's input: a batch" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_pipe_among_several_inputs_is_a_usage_error_before_any_file_runs(tmp_path, trained) -> None:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)  # never opened: nobody writes to it
    result = _reconstruct(trained, str(trained[0]), str(fifo), "-o", f"{tmp_path / 'out'}{os.sep}")
    assert result.exit_code == 2, result.output  # it was 1, after x.csv was reconstructed
    assert (f"{fifo} is a pipe or device, read as one file's input: a batch (several inputs into a folder, with a "
            "manifest) takes files; save it to one") in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("given", ["stdin", "stdout"])
def test_dask_with_stdin_or_stdout_is_a_usage_error(tmp_path, trained, given) -> None:
    src = trained[0]
    args = ["-", "-o", str(tmp_path / "r.csv")] if given == "stdin" else [str(src), "-o", "-"]
    result = _reconstruct(trained, *args, "--dask", "tcp://127.0.0.1:1", stdin=src.read_bytes())
    assert result.exit_code == 2, result.output
    assert "--dask runs the files on the cluster's workers, which cannot reach this process's stdin or stdout" \
        in result.stderr
    assert result.stdout_bytes == b"" and list(tmp_path.iterdir()) == []
