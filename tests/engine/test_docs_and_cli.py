"""The engine's exports stay lazy, and `tsae frame` writes the frames `frame` computes.

The engine's docstring examples run with the rest of the package's (``--doctest-modules``).
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.engine.framing import frame


def test_engine_exports() -> None:
    import tsae
    import tsae.engine as engine

    for name in engine.__all__:
        assert getattr(engine, name) is not None
    for name in ["frame", "overlap_add", "StreamFramer", "StreamOverlapAdd"]:
        assert getattr(tsae, name) is getattr(engine, name)


def test_importing_the_engine_package_does_not_load_numba() -> None:
    code = "import sys, tsae.engine, tsae.cli.frame_cmd; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture()
def wav(tmp_path):
    soundfile = pytest.importorskip("soundfile")
    x = (0.1 * np.random.default_rng(0).standard_normal((2000, 2))).astype(np.float32)
    path = tmp_path / "in.wav"
    soundfile.write(path, x, 8000, subtype="FLOAT")
    return path, x.T


def test_frame_command_writes_frames(wav, tmp_path) -> None:
    path, x = wav
    out = tmp_path / "frames.npy"
    result = CliRunner().invoke(cli, ["frame", str(path), "--window", "512", "--hop", "128", "--window-fn", "hann",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "(2, 12, 512)" in result.output
    np.testing.assert_array_equal(np.load(out), frame(x, 512, 128, "hann"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames.npy", "in.wav"]  # no temporary file left


def test_frame_command_npy_input_default_output_and_quiet(tmp_path) -> None:
    src = tmp_path / "signal.npy"
    np.save(src, np.arange(100.0))
    result = CliRunner().invoke(cli, ["frame", str(src), "--window", "32", "--hop", "16", "--pad", "-q"])
    assert result.exit_code == 0 and result.output == ""
    np.testing.assert_array_equal(np.load(tmp_path / "signal.frames.npy"), frame(np.arange(100.0), 32, 16, pad=True))


def test_frame_command_errors_are_one_line(wav, tmp_path) -> None:
    path, _ = wav
    out = tmp_path / "frames.npy"
    for args, fragment in [
        (["--window", "5000"], "fewer than one frame of 5000: zero-pad the tail (--pad) or use a shorter window"),
        (["--window-fn", "nope"], "'nope'"),
    ]:
        result = CliRunner().invoke(cli, ["frame", str(path), *args, "-o", str(out)])
        assert result.exit_code == 1
        text = result.output.strip()
        assert "\n" not in text and "Traceback" not in text and fragment in text, text
        assert not out.exists()
    result = CliRunner().invoke(cli, ["frame", str(tmp_path / "missing.wav")])
    assert result.exit_code == 2 and f"{tmp_path / 'missing.wav'}: no such file" in result.output


@pytest.mark.parametrize("name", ["frames.csv", "frames"])
def test_frame_output_that_is_not_npy_is_refused(wav, tmp_path, name) -> None:
    """-o frames.csv (or no suffix) wrote a .npy array's bytes under that name, as tsae encode refuses to."""
    path, _ = wav
    result = CliRunner().invoke(cli, ["frame", str(path), "--window", "512", "-o", str(tmp_path / name)])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / name}: the frames are written as a .npy array; name the output " \
                            f"{name.split('.')[0]}.npy\n"
    assert not (tmp_path / name).exists()
