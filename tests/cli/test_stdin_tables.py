"""``-`` (stdin) and pipes as the input table of the table commands: copied to a private temporary file (a spool),
read as the file is, named as given in every message, and removed however the command ends."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import stat
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cli_helpers import on_a_terminal, tsae_process
from click.testing import CliRunner

from tsae.cli import cli

#: each command that reads a table, with {src} its input and {out} its output (a name without suffix)
COMMANDS = {
    "smooth": ["smooth", "{src}", "-o", "{out}.csv", "--model", "{model}"],
    "impute": ["impute", "{src}", "-o", "{out}.csv", "--model", "{model}"],
    "detect fit": ["detect", "fit", "{src}", "-o", "{out}.tsae", "--epochs", "1", "--window", "16"],
    "detect score": ["detect", "score", "{src}", "--detector", "{det}", "-o", "{out}.csv"],
    "encode": ["encode", "{model}", "{src}", "-o", "{out}.npy"],
    "frame": ["frame", "{src}", "--window", "16", "--hop", "8", "-o", "{out}.npy"],
    "compress": ["compress", "{model}", "{src}", "-o", "{out}.tsz"],
}


#: what each command's '-' reads, as its messages name it (before: "a table" for every one, audio input too)
_EXPECTED = {name: "a table or an array" if name.startswith("detect") else "a table, audio or an array"
             for name in COMMANDS}


def _args(name: str, trained, src: str, out: Path) -> list[str]:
    _, model, det = trained
    return [c.format(src=src, out=out, model=model, det=det) for c in COMMANDS[name]] + ["-q"]


def _spools(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("tsae-spool-"))


def _outputs(folder: Path) -> dict[str, object]:
    return {p.name: _comparable(p) for p in sorted(folder.iterdir())}


def _comparable(path: Path) -> object:
    """A file's bytes; a model file's without the seconds its training took (which differ from run to run)."""
    data = path.read_bytes()
    if path.suffix != ".tsae":
        return data
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8: 8 + size])
    meta = json.loads(header["__metadata__"]["tsae"])
    meta["extra"]["train"].pop("seconds")
    header["__metadata__"]["tsae"] = meta
    header["__metadata__"].pop("tsae_sha256")  # the header's checksum: of the seconds too
    return header, data[8 + size:]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_stdin_gives_what_the_file_gives_plain_and_gzip(tmp_path, trained, temp_dir, name) -> None:
    src = trained[0]
    gz = tmp_path / "x.csv.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    runs = {"file": (str(src), None), "stdin": ("-", src.read_bytes()),
            "gz file": (str(gz), None), "gz stdin": ("-", gz.read_bytes())}
    written = {}
    for run, (given, data) in runs.items():
        folder = tmp_path / run.replace(" ", "_")
        folder.mkdir()
        result = CliRunner().invoke(cli, _args(name, trained, given, folder / "out"), input=data)
        assert result.exit_code == 0, (run, result.output)
        written[run] = _outputs(folder)
        assert _spools(temp_dir) == [], run  # removed after success
    assert written["file"], written
    assert written["stdin"] == written["file"]
    assert written["gz stdin"] == written["gz file"] == written["file"]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_empty_stdin_is_one_line_naming_stdin_and_no_output(tmp_path, trained, temp_dir, name) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    result = CliRunner().invoke(cli, _args(name, trained, "-", folder / "out"), input=b"")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: stdin: "), result.output
    assert "tsae-spool" not in result.output and str(temp_dir) not in result.output
    assert list(folder.iterdir()) == []
    assert _spools(temp_dir) == []  # removed after an error


def test_an_error_inside_the_table_names_stdin_and_leaves_no_spool(tmp_path, temp_dir) -> None:
    result = CliRunner().invoke(cli, ["frame", "-", "--window", "2", "--hop", "1", "-o", str(tmp_path / "f.npy")],
                                input="time,a\n0,1\n1,x\n")
    assert result.exit_code == 1, result.output
    assert result.output.strip() == "Error: stdin: line 3, column 'a': not a number ('x')"
    assert _spools(temp_dir) == [] and not (tmp_path / "f.npy").exists()


def test_a_warning_about_the_table_names_stdin(tmp_path, temp_dir) -> None:
    result = CliRunner().invoke(cli, ["frame", "-", "--window", "2", "--hop", "1", "-o", str(tmp_path / "f.npy")],
                                input="time,a\n0,1\n1,1e40\n2,3\n")
    assert result.exit_code == 0, result.output
    assert "Warning: stdin: 1 cell(s) infinite" in result.output, result.output
    assert "tsae-spool" not in result.output


def test_the_read_counter_counts_the_rows_of_stdin(tmp_path, trained, temp_dir, monkeypatch) -> None:
    from tsae.io import tables
    from tsae.pipelines import progress
    from tsae.pipelines.anomaly import files

    monkeypatch.setattr(progress, "READ_BAR_DELAY", 0.0)
    monkeypatch.setattr(files, "stderr_is_terminal", lambda: True)
    counted: list[int] = []
    told = tables.rows_read_told
    monkeypatch.setattr(tables, "rows_read_told", lambda advance: told(lambda n: (counted.append(n), advance(n))))
    src, _, det = trained
    result = CliRunner().invoke(cli, ["detect", "score", "-", "--detector", str(det), "-o", str(tmp_path / "s.csv")],
                                input=src.read_bytes())
    assert result.exit_code == 0, result.output
    assert "read stdin.csv: " in result.output, result.output
    assert sum(counted) == 600


@pytest.mark.parametrize("quiet", [False, True])
def test_a_counter_shows_the_bytes_of_stdin_copied(tmp_path, trained, temp_dir, monkeypatch, quiet) -> None:
    from tsae.io import c_stderr
    from tsae.pipelines import progress

    monkeypatch.setattr(progress, "READ_BAR_DELAY", 0.0)
    monkeypatch.setattr(c_stderr, "stderr_is_terminal", lambda: True)
    args = ["frame", "-", "--window", "16", "--hop", "8", "-o", str(tmp_path / "f.npy")] + (["-q"] if quiet else [])
    result = CliRunner().invoke(cli, args, input=trained[0].read_bytes())
    assert result.exit_code == 0, result.output
    assert ("read stdin: " in result.output) is not quiet, result.output


def test_a_named_pipe_is_read_as_its_file_and_named_by_its_path(tmp_path, trained, temp_dir) -> None:
    src = trained[0]
    fifo = tmp_path / "feed"
    outputs = {}
    for run, data in (("pipe", src.read_bytes()), ("empty", b"")):
        os.mkfifo(fifo)

        def feed(data: bytes = data) -> None:
            with open(fifo, "wb") as handle:  # waits for a reader
                handle.write(data)

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        result = CliRunner().invoke(cli, _args("frame", trained, str(fifo), tmp_path / run))
        if writer.is_alive():  # the command never opened the pipe: the writer is let go
            with open(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK), "rb") as drain:
                writer.join(timeout=30)
                drain.read()
        fifo.unlink()
        outputs[run] = result
    assert outputs["pipe"].exit_code == 0, outputs["pipe"].output
    CliRunner().invoke(cli, _args("frame", trained, str(src), tmp_path / "file"))
    assert (tmp_path / "pipe.npy").read_bytes() == (tmp_path / "file.npy").read_bytes()
    assert outputs["empty"].exit_code == 1
    assert outputs["empty"].output.strip() == f"Error: {fifo}: empty file", outputs["empty"].output
    assert _spools(temp_dir) == []


def test_dot_slash_dash_is_still_a_file_named_dash(tmp_path, trained, temp_dir, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_bytes(trained[0].read_bytes())
    result = CliRunner().invoke(cli, _args("detect score", trained, "./-", tmp_path / "out"),
                                input=b"")  # stdin is empty: the table is the file's
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.csv").exists() and _spools(temp_dir) == []


def test_frame_of_stdin_needs_an_output_name(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["frame", "-"], input="a\n1\n2\n")
    assert result.exit_code == 2, result.output
    assert "'-' (stdin) needs -o" in result.output
    assert list(tmp_path.iterdir()) == []


def test_no_room_for_the_spool_is_one_line_naming_stdin_and_the_folder(tmp_path, temp_dir, monkeypatch) -> None:
    from tsae.io import spool

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    monkeypatch.setattr(spool, "_create", lambda path: open("/dev/full", "wb", buffering=0))  # every write: ENOSPC
    result = CliRunner().invoke(cli, ["frame", "-", "-o", str(tmp_path / "f.npy")], input="a\n1\n2\n" * 1000)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: stdin: no space left in "), result.output
    assert str(temp_dir) in lines[0] and "TMPDIR" in lines[0]
    assert _spools(temp_dir) == [] and not (tmp_path / "f.npy").exists()


# ------------------------------------------------------------------------ a real process: its file descriptors

def _tsae(*args: object, **kwargs) -> subprocess.Popen:
    return tsae_process(*args, text=True, **kwargs)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_dash_with_stdin_a_terminal_is_a_usage_error(tmp_path, trained, name) -> None:
    returncode, err = on_a_terminal("stdin", *_args(name, trained, "-", tmp_path / "out"))
    assert returncode == 2, err
    assert f"'-' reads {_EXPECTED[name]} from stdin, which is a terminal here: pipe it in" in err
    assert err.count("\n") == 1 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_empty_stdin_is_one_line_naming_what_the_command_expected(tmp_path, trained, temp_dir, name) -> None:
    # before: "stdin: empty file", for audio input too (and "stdin: empty input" from tsae denoise)
    result = CliRunner().invoke(cli, _args(name, trained, "-", tmp_path / "out"), input=b"")
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"Error: stdin: empty (nothing was piped in; expected {_EXPECTED[name]})"
    assert list(tmp_path.glob("out*")) == [] and _spools(temp_dir) == []


def test_monitor_tells_an_empty_stdin(trained) -> None:
    # before: the summary of no samples, and not a word of why
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(trained[2])], input=b"")
    assert result.exit_code == 0, result.output
    assert "warning: stdin: empty (nothing was piped in; expected lines of samples)" in result.stderr
    assert json.loads(result.stdout)["samples"] == 0


def test_denoise_tells_closed_and_empty_stdin_as_the_table_commands_do(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["denoise", "-", "-o", str(tmp_path / "out.wav")], input=b"")
    assert result.exit_code == 1 and result.output.strip() == \
        "Error: stdin: empty (nothing was piped in; expected audio)", result.output
    process = _tsae("denoise", "-", "-o", tmp_path / "out.wav", stdin=subprocess.DEVNULL,
                    preexec_fn=lambda: os.close(0))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "'-' reads audio from stdin, which is closed here: pipe it in" in err, err
    assert err.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_dash_with_stdin_closed_is_a_usage_error(tmp_path, trained) -> None:
    process = _tsae(*_args("smooth", trained, "-", tmp_path / "out"), stdin=subprocess.DEVNULL,
                    preexec_fn=lambda: os.close(0))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2, err
    assert "stdin, which is closed here" in err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, output", [("smooth", "out.csv"), ("detect score", "out.csv"),
                                          ("encode", "out.npy")])
def test_stdin_redirected_from_the_output_file_is_refused(tmp_path, trained, name, output) -> None:
    target = tmp_path / output
    target.write_bytes(trained[0].read_bytes())
    digest = hashlib.md5(target.read_bytes()).hexdigest()
    with open(target, "rb") as stdin:
        process = _tsae(*_args(name, trained, "-", tmp_path / "out"), stdin=stdin)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert err.strip() == f"Error: {target}: refusing to overwrite the input file (stdin is read from it)"
    assert hashlib.md5(target.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == [output]


def test_sigterm_while_stdin_is_spooled_removes_the_spool(tmp_path, trained) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    process = _tsae(*_args("smooth", trained, "-", tmp_path / "out"), stdin=subprocess.PIPE,
                    env={"TMPDIR": str(temp)})
    assert process.stdin is not None
    process.stdin.write(trained[0].read_text())
    process.stdin.flush()  # and left open: the command waits for the rest of the table
    deadline = time.monotonic() + 60
    while not _spools(temp) or not any((temp / _spools(temp)[0]).iterdir()):
        assert process.poll() is None and time.monotonic() < deadline, "no spool was made"
        time.sleep(0.05)
    folder = temp / _spools(temp)[0]
    (copy,) = folder.iterdir()
    assert copy.name == "stdin.csv"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(copy.stat().st_mode) == 0o600
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert err.strip() == "Terminated."
    assert _spools(temp) == [] and not (tmp_path / "out.csv").exists()


def test_an_output_that_cannot_be_written_is_refused_before_stdin_is_read(tmp_path, trained) -> None:
    (tmp_path / "file").write_text("")
    process = _tsae(*_args("smooth", trained, "-", tmp_path / "file" / "out"), stdin=subprocess.PIPE)
    assert process.stdin is not None and process.stderr is not None
    try:
        code = process.wait(timeout=60)  # stdin is left open: the table never ends
    finally:
        process.stdin.close()
        err = process.stderr.read()
    assert code == 1, err
    assert err.strip() == f"Error: {tmp_path / 'file' / 'out.csv'}: {tmp_path / 'file'} is a file, not a folder"
