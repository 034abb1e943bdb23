"""The root command: version, help, one-line errors."""
from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

import tsae
from tsae.cli import cli


def test_version_matches_package() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert tsae.__version__ in result.output


def test_help_lists_core_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.output


def test_unknown_command_is_one_line_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tsae", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "no-such-command" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_input_file_is_one_line_error(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tsae", "detect", "fit", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "d.tsae")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{tmp_path / 'missing.csv'}: no such file" in lines[0]
    assert not (tmp_path / "d.tsae").exists()


def test_import_is_lazy() -> None:
    """``import tsae`` must not pull torch or numba: the CLI's start-up depends on it."""
    code = "import sys, tsae; print('torch' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_outputs_get_ordinary_file_permissions(tmp_path) -> None:
    import os

    from tsae.io.atomic import atomic_path

    target = tmp_path / "out.bin"
    with atomic_path(target) as tmp:
        tmp.unlink()  # a writer that replaces the temporary file
        tmp.write_bytes(b"x")
        os.chmod(tmp, 0o600)
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_an_output_replacing_a_file_keeps_its_permissions(tmp_path) -> None:
    # a private result made 0600 by its owner became 0644 when tsae wrote it again (through a link too)
    import os

    from tsae.io.atomic import atomic_path

    target = tmp_path / "scores.csv"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    for name in (target, link):
        with atomic_path(name) as tmp:
            tmp.write_text("new\n")
        assert target.stat().st_mode & 0o777 == 0o600 and target.read_text() == "new\n"
    os.chmod(target, 0o4755)  # a set-user-ID bit is not carried to the new file
    with atomic_path(target) as tmp:
        tmp.write_text("newer\n")
    assert target.stat().st_mode & 0o7777 == 0o755
