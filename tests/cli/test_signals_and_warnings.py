"""SIGTERM and SIGHUP unwind a command like Ctrl-C (no hidden .part file is left); library warnings are one line."""
from __future__ import annotations

import os
import signal
import warnings

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli
from tsae.io import audio


# SIGHUP before: a hangup (the terminal or SSH session closed) killed the command at once, its .part file left behind;
# the terminal is gone: nothing is said
@pytest.mark.parametrize(("name", "code", "said"), [("SIGTERM", 143, "Terminated."), ("SIGHUP", 129, "")])
def test_a_signal_mid_write_leaves_no_part_file(tmp_path, monkeypatch, name, code, said) -> None:
    signum = getattr(signal, name, None)
    if signum is None:
        pytest.skip(f"no {name} on this platform")
    sf.write(tmp_path / "in.wav", np.zeros(16000 * 12, np.float32), 16000)
    real_write = audio.AudioWriter.write

    def write_then_signal(self, data):
        real_write(self, data)
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]  # mid-write
        os.kill(os.getpid(), signum)

    monkeypatch.setattr(audio.AudioWriter, "write", write_then_signal)
    previous = signal.signal(signum, signal.SIG_DFL)  # not ignored, whatever pytest was started under (nohup)
    try:
        result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "-q"])
        assert signal.getsignal(signum) is signal.SIG_DFL  # the handler lives only while a command runs
    finally:
        signal.signal(signum, previous)
    assert result.exit_code == code and result.output.strip() == said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_an_ignored_hangup_stays_ignored(tmp_path, monkeypatch) -> None:
    sf.write(tmp_path / "in.wav", np.zeros(16000, np.float32), 16000)
    seen = []
    real_write = audio.AudioWriter.write

    def write_and_look(self, data):
        seen.append(signal.getsignal(signal.SIGHUP))
        real_write(self, data)

    monkeypatch.setattr(audio.AudioWriter, "write", write_and_look)
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "-q"])
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert result.exit_code == 0 and seen and all(handler is signal.SIG_IGN for handler in seen)


def test_warning_is_one_line_and_silent_under_quiet(tmp_path, monkeypatch) -> None:
    def warn_and_fail(*args, **kwargs):
        warnings.warn("x.wav: something odd\nsecond line", UserWarning, stacklevel=1)
        np.log(np.zeros(3))  # a numpy floating-point warning is never shown
        raise ValueError("x.wav: stop here")

    monkeypatch.setattr("tsae.io.frames.frame_file", warn_and_fail)
    sf.write(tmp_path / "x.wav", np.zeros(100, np.float32), 8000)
    result = CliRunner().invoke(cli, ["frame", str(tmp_path / "x.wav"), "--window", "8"])
    assert result.output.splitlines() == ["Warning: x.wav: something odd", "Error: x.wav: stop here"]
    result = CliRunner().invoke(cli, ["frame", str(tmp_path / "x.wav"), "--window", "8", "-q"])
    assert result.output.splitlines() == ["Error: x.wav: stop here"]


def test_a_library_import_warning_is_not_shown(tmp_path, monkeypatch) -> None:
    # umap-learn warns "Tensorflow not installed; ParametricUMAP will be unavailable" (an ImportWarning) when
    # imported: `tsae encode --plot` printed it as a Warning: line the user can do nothing about
    def warn_and_fail(*args, **kwargs):
        warnings.warn("Tensorflow not installed; ParametricUMAP will be unavailable", ImportWarning, stacklevel=1)
        raise ValueError("x.wav: stop here")

    monkeypatch.setattr("tsae.io.frames.frame_file", warn_and_fail)
    sf.write(tmp_path / "x.wav", np.zeros(100, np.float32), 8000)
    result = CliRunner().invoke(cli, ["frame", str(tmp_path / "x.wav"), "--window", "8"])
    assert result.output.splitlines() == ["Error: x.wav: stop here"]


def test_a_ctrl_c_that_numpy_drops_while_a_table_is_read_still_stops_the_command(tmp_path, monkeypatch) -> None:
    # numpy's string-to-float cast runs the signal handlers in its loop and could drop the KeyboardInterrupt raised
    # there: the command then wrote all of its outputs and exited 0. The cells are cast by numpy (an object array's
    # astype), inside the guard that tells a dropped interrupt: one is dropped there
    import sys

    table = tmp_path / "in.csv"
    table.write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(300)))
    real_array = np.array
    fired = []

    def array_dropping_an_interrupt(*args, **kwargs):
        if not fired and sys._getframe(1).f_globals.get("__name__") == "tsae.io.table_cells":
            fired.append(True)
            try:
                os.kill(os.getpid(), signal.SIGINT)
                sum(range(1000))  # the handler runs here and raises; numpy's loop drops it
            except KeyboardInterrupt:
                pass
        return real_array(*args, **kwargs)

    monkeypatch.setattr(np, "array", array_dropping_an_interrupt)
    before = signal.getsignal(signal.SIGINT)
    result = CliRunner().invoke(cli, ["smooth", str(table), "-o", str(tmp_path / "out.csv"), "-q"])
    assert fired and result.exit_code == 130, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    assert signal.getsignal(signal.SIGINT) is before  # the handler lives only while a command runs


def test_quiet_silences_the_warnings_of_files_denoised_in_worker_threads(tmp_path) -> None:
    # before: -q hid a warning raised in the main thread only; the files of a batch denoised by the thread pool
    # (several batches: --batch 1, or --jobs 2) still printed "Warning: ...: 3 of 8000 samples are NaN ..."
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.wav", "b.wav"):
        x = np.zeros(8000, np.float32)
        x[[10, 20, 30]] = np.nan
        sf.write(folder / name, x, 16000, subtype="FLOAT")
    for extra in (["--batch", "1"], ["--batch", "1", "--jobs", "2"]):
        result = CliRunner().invoke(cli, ["denoise", str(folder), "-o", str(tmp_path / "out"), "-q", *extra])
        assert result.exit_code == 0 and result.output == "", result.output
    result = CliRunner().invoke(cli, ["denoise", str(folder), "-o", str(tmp_path / "out2"), "--batch", "1"])
    assert result.output.count("samples are NaN or infinite") == 2  # without -q each file's warning is told
