"""Running the CLI in a test and checking its one-line errors (importable by bare name: pytest puts tests/, the
folder of tests/conftest.py, on sys.path)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tsae.cli import cli

#: the checkout whose tsae a subprocess runs (first on its PYTHONPATH)
ROOT = Path(__file__).resolve().parents[1]


def run(*args: object) -> Result:
    """``tsae ARGS...`` in-process, each argument as text."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """The command failed with one line, no traceback, holding every fragment."""
    assert result.exit_code != 0
    text = result.output.strip()
    assert text.count("\n") == 0 and "Traceback" not in text, text
    for fragment in fragments:
        assert fragment in text, text


def tsae_process(*args: object, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen:
    """``python -m tsae ARGS...`` as a subprocess running this checkout's tsae, stderr piped; ``env`` adds to the
    environment, other keywords go to :class:`subprocess.Popen` (``stdin``, ``stdout``, ``text``...)."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, "-m", "tsae", *map(str, args)], stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": path, **(env or {})}, **kwargs)


def on_a_terminal(stream: str, *args: object) -> tuple[int, str]:
    """``tsae ARGS...`` with its ``stream`` (``"stdin"`` or ``"stdout"``) a terminal (a pseudo-terminal): its exit
    status and stderr."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    try:
        process = tsae_process(*args, text=True, **{stream: follower})
        _, err = process.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    return process.returncode, err
