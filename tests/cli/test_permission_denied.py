"""A path in a folder that may not be searched (``chmod 000`` on the folder) is told as permission denied, in one
line naming that folder, by every command that takes a path: click's "does not exist" (``compress``, ``smooth``,
``--model``...) and Python's "[Errno 13] Permission denied: 'x'" (``reconstruct``, ``encode``) said otherwise."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest
from cli_helpers import ROOT

#: what lets root through a folder it may not search: dropped so that root meets the refusal a user meets
_OVERRIDES = "cap_dac_override,cap_dac_read_search"


def _unprivileged(args: list[str], cwd) -> subprocess.CompletedProcess:
    """``python -m tsae ARGS`` in ``cwd`` as a process that the file modes bind (root without its overrides)."""
    command = [sys.executable, "-m", "tsae", *args]
    if os.geteuid() == 0:
        if shutil.which("capsh") is None:
            pytest.skip("root passes any folder's modes, and capsh is missing to drop that")
        command = ["capsh", f"--drop={_OVERRIDES}", "--", "-c", shlex.join(command)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture()
def locked(tmp_path):
    """``tmp_path/locked`` holding x.csv, m.tsae and d.tsad (none of them valid: they are never reached), mode 000."""
    folder = tmp_path / "locked"
    folder.mkdir()
    for name in ("x.csv", "m.tsae", "d.tsad", "x.tsz"):
        (folder / name).write_text("t,a\n0,1\n", encoding="utf-8")
    (tmp_path / "x.csv").write_text("t,a\n" + "".join(f"{i},{i % 7}\n" for i in range(100)), encoding="utf-8")
    (tmp_path / "unreadable.csv").write_text("t,a\n0,1\n", encoding="utf-8")
    (tmp_path / "unreadable.csv").chmod(0)
    folder.chmod(0)
    yield tmp_path
    folder.chmod(0o755)


@pytest.mark.parametrize("args", [
    ["smooth", "locked/x.csv", "-o", "out.csv"],
    ["compress", "locked/m.tsae", "x.csv", "-o", "out.tsz"],
    ["decompress", "locked/x.tsz", "-o", "out.csv"],
    ["smooth", "x.csv", "-o", "out.csv", "--model", "locked/m.tsae"],
    ["monitor", "--detector", "locked/d.tsad"],
    ["reconstruct", "x.csv", "locked/x.csv", "-o", "out.csv"],
])
def test_a_path_in_a_folder_that_may_not_be_searched_is_told_as_permission_denied(locked, args) -> None:
    # before: "Invalid value for 'INPUT': File 'locked/x.csv' does not exist." (and "[Errno 13] Permission denied:
    # 'locked/x.csv'" from reconstruct)
    _denied(_unprivileged(args, locked), "permission denied (cannot look into locked)")
    assert not (locked / "out.csv").exists() and not (locked / "out.tsz").exists()


@pytest.mark.parametrize("args, why", [
    (["smooth", "unreadable.csv", "-o", "out.csv"], "unreadable.csv: permission denied (cannot read it)"),
    (["train", "locked/", "-o", "m.tsae"], "locked/: permission denied (cannot list this folder)"),
])
def test_a_file_or_folder_that_may_not_be_read_is_told_as_permission_denied(locked, args, why) -> None:
    # before: click's "File 'unreadable.csv' is not readable." and "Path 'locked/' is not readable."
    _denied(_unprivileged(args, locked), why)


def _denied(result: subprocess.CompletedProcess, why: str) -> None:
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and why in lines[0], result.stderr
    assert "does not exist" not in lines[0] and "Errno" not in lines[0] and "not readable" not in lines[0]
