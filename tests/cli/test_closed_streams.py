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
