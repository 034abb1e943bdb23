"""Commands run by a service or a batch system with standard error closed (``2>&-``): Python's ``sys.stderr`` is
None there, and nothing may fail for want of it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _tsae_without_stderr(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "tsae", *args], cwd=cwd, env=env, capture_output=False,
                          stdout=subprocess.PIPE, text=True, timeout=300, preexec_fn=lambda: os.close(2))


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("closed")
    path = folder / "x.csv"
    path.write_text("time,a,b\n" + "".join(f"{i},{np.sin(i / 9):.4f},{np.cos(i / 7):.4f}\n" for i in range(300)))
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="closes a POSIX file descriptor")
def test_train_then_reconstruct_and_smooth_with_stderr_closed(table: Path) -> None:
    """Each failed with exit code 1 and no output (``AttributeError: 'NoneType' object has no attribute
    'isatty'``, told nowhere)."""
    folder = table.parent
    runs = [("train", str(table), "--window", "16", "--epochs", "1", "-o", "m.tsae"),
            ("reconstruct", "m.tsae", str(table), "-o", "r.csv"),
            ("smooth", str(table), "-o", "s.csv")]
    for args in runs:
        proc = _tsae_without_stderr(*args, cwd=folder)
        assert proc.returncode == 0, args
        assert (folder / args[-1]).is_file(), args
        assert proc.stdout == "", args  # what stderr would have shown is not moved to stdout


@pytest.mark.skipif(sys.platform == "win32", reason="closes a POSIX file descriptor")
def test_detect_fit_with_stderr_closed_writes_nothing_to_stdout(table: Path) -> None:
    """Its progress lines went to stdout (``print(file=None)`` is ``print()``)."""
    proc = _tsae_without_stderr("detect", "fit", str(table), "--window", "16", "--epochs", "1", "-o", "d.tsae",
                                cwd=table.parent)
    assert proc.returncode == 0
    assert (table.parent / "d.tsae").is_file()
    assert proc.stdout == ""


def _tsae_into_a_closed_pipe(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``tsae ARGS | head -0`` made certain: the pipe's reader has gone before the command writes a byte."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run([sys.executable, "-m", "tsae", *args], cwd=cwd, env=env, stdout=writer,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(writer)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
@pytest.mark.parametrize("args", [("models",), ("models", "--json"), ("plugins",), ("plugins", "--json"),
                                  ("--help",), ("--version",), ("detect", "--help")])
def test_a_closed_stdout_ends_the_command_quietly_with_status_0(tmp_path: Path, args: tuple[str, ...]) -> None:
    """``tsae models | head -1`` exited 1 (click's status for a broken pipe), or 120 with "Exception ignored ...
    BrokenPipeError" when the output went at the interpreter's exit; ``tsae denoise -`` and ``tsae monitor`` already
    exited 0, as the rest now do."""
    proc = _tsae_into_a_closed_pipe(*args, cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, ""), args


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
def test_a_broken_pipe_that_is_not_stdouts_is_an_error(tmp_path: Path) -> None:
    """Only stdout's reader going away is a quiet end: a broken pipe elsewhere (a plugin's socket) is still an
    error, told in one line."""
    plugin = tmp_path / "pipe_plugin.py"
    plugin.write_text("import click\n\n@click.command('burst')\ndef burst():\n"
                      "    raise BrokenPipeError(32, 'Broken pipe', 'socket')\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pipe_plugin import burst;"
            " from tsae.cli import cli, main; cli.add_command(burst); sys.argv = ['tsae', 'burst']; main()")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Broken pipe" in proc.stderr, proc.stderr
