"""``-o -``: a table command's output on stdout, byte for byte what ``-o FILE`` writes, sent only once it is whole
(nothing on stdout after an error), with nothing else on stdout; ``-`` among ``train``'s and as ``reconstruct``'s
inputs (tests/cli/test_stdin_tables.py has the stdin side of the single-input commands)."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import on_a_terminal, tsae_process
from click.testing import CliRunner

from tsae.cli import cli

#: each command that writes a table (or an array, a container) for a pipe, {out} its output; the suffix -o FILE takes
COMMANDS = {
    "smooth": (["smooth", "{src}", "-o", "{out}", "--model", "{model}"], ".csv"),
    "impute": (["impute", "{src}", "-o", "{out}", "--model", "{model}"], ".csv"),
    "detect score": (["detect", "score", "{src}", "--detector", "{det}", "-o", "{out}"], ".csv"),
    "detect score --events": (["detect", "score", "{src}", "--detector", "{det}", "-o", "s.csv", "--events",
                               "{out}"], ".json"),
    "reconstruct": (["reconstruct", "{model}", "{src}", "-o", "{out}"], ".csv"),
    "encode": (["encode", "{model}", "{src}", "-o", "{out}"], ".npy"),
    "frame": (["frame", "{src}", "--window", "16", "--hop", "8", "-o", "{out}"], ".npy"),
    "compress": (["compress", "{model}", "{src}", "-o", "{out}"], ".tsz"),
    "decompress": (["decompress", "{tsz}", "-o", "{out}"], ".csv"),
}


@pytest.fixture(scope="module")
def container(trained, tmp_path_factory) -> Path:
    """A .tsz container of the trained table, beside its model."""
    src, model, _ = trained
    tsz = model.parent / "x.tsz"
    if not tsz.exists():
        result = CliRunner().invoke(cli, ["compress", str(model), str(src), "-o", str(tsz), "-q"])
        assert result.exit_code == 0, result.output
    return tsz


def _args(name: str, trained, container: Path, out: str, src: str | None = None) -> list[str]:
    table, model, det = trained
    words, _ = COMMANDS[name]
    return [w.format(src=src or table, out=out, model=model, det=det, tsz=container) for w in words]


@pytest.fixture()
def temp_dir(tmp_path, monkeypatch) -> Path:
    """The system temporary folder of the commands run in this process: a scratch folder, to find files left."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("name", list(COMMANDS))
def test_stdout_holds_the_bytes_of_the_file_and_nothing_else(tmp_path, trained, container, temp_dir, monkeypatch,
                                                             name) -> None:
    monkeypatch.chdir(tmp_path)  # a container sent to stdout records its model from here, as -o FILE here does
    out = tmp_path / f"out{COMMANDS[name][1]}"
    to_file = CliRunner().invoke(cli, _args(name, trained, container, str(out)))
    assert to_file.exit_code == 0, to_file.output
    to_stdout = CliRunner().invoke(cli, _args(name, trained, container, "-"))  # not -q: chatter goes to stderr
    assert to_stdout.exit_code == 0, to_stdout.stderr
    assert to_stdout.stdout_bytes == out.read_bytes()
    assert "stdout" in to_stdout.stderr and "tsae-spool" not in to_stdout.stderr, to_stdout.stderr
    assert list(temp_dir.iterdir()) == []


def test_stdin_to_stdout_is_the_file_to_file(tmp_path, trained, temp_dir) -> None:
    src, model, _ = trained
    out = tmp_path / "out.csv"
    assert CliRunner().invoke(cli, ["smooth", str(src), "-o", str(out), "--model", str(model), "-q"]).exit_code == 0
    piped = CliRunner().invoke(cli, ["smooth", "-", "-o", "-", "--model", str(model), "-q"], input=src.read_bytes())
    assert piped.exit_code == 0, piped.output
    assert piped.stdout_bytes == out.read_bytes()
    assert list(temp_dir.iterdir()) == []


def test_score_to_stdout_writes_no_events_file_unless_asked(tmp_path, trained, monkeypatch) -> None:
    src, _, det = trained
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["detect", "score", str(src), "--detector", str(det), "-o", "-"])
    assert result.exit_code == 0, result.output
    assert list(tmp_path.iterdir()) == []
    assert result.stderr.startswith("stdout: 600 rows, ") and "->" not in result.stderr, result.stderr
    events = CliRunner().invoke(cli, ["detect", "score", str(src), "--detector", str(det), "-o", "-", "--events",
                                      "e.json", "-q"])
    assert events.exit_code == 0, events.output
    assert json.loads((tmp_path / "e.json").read_text())["events"] == []


def test_an_error_after_the_output_was_begun_sends_nothing(tmp_path, trained, temp_dir, monkeypatch) -> None:
    from tsae.pipelines.smooth import files

    def half_then_fail(source, output, **kwargs):
        Path(output).write_text("time,a,b\n0,1,2\n")
        raise ValueError(f"{output}: the disk went away")

    monkeypatch.setattr(files, "smooth_file", half_then_fail)
    src, model, _ = trained
    result = CliRunner().invoke(cli, ["smooth", str(src), "-o", "-", "--model", str(model)])
    assert result.exit_code == 1
    assert result.stdout_bytes == b""
    assert result.stderr == "Error: stdout: the disk went away\n"  # the temporary file is named as what it stands for
    assert list(temp_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["smooth", "detect score", "reconstruct", "encode"])
def test_a_bad_table_on_stdin_leaves_stdout_empty(trained, container, temp_dir, name) -> None:
    result = CliRunner().invoke(cli, _args(name, trained, container, "-", src="-"), input="time,a,b\n0,1,2\n1,x,3\n")
    assert result.exit_code == 1, result.output
    assert result.stdout_bytes == b""
    assert result.stderr.startswith("Error: stdin: ") and result.stderr.count("\n") == 1, result.stderr
    assert list(temp_dir.iterdir()) == []


def test_two_outputs_to_stdout_are_a_usage_error(trained) -> None:
    src, _, det = trained
    result = CliRunner().invoke(cli, ["detect", "score", str(src), "--detector", str(det), "-o", "-", "--events", "-"])
    assert result.exit_code == 2
    assert result.stdout_bytes == b""
    assert "-o and --events both write to stdout ('-')" in result.stderr


@pytest.mark.parametrize("command", [["train", "-", "{src}", "-", "-o", "m.tsae"],
                                     ["reconstruct", "{model}", "-", "{src}", "-o", "out/"],
                                     ["reconstruct", "{model}", "{folder}", "-o", "-"]])
def test_stdin_twice_or_a_batch_to_stdout_is_a_usage_error(tmp_path, trained, monkeypatch, command) -> None:
    src, model, _ = trained
    monkeypatch.chdir(tmp_path)
    words = [w.format(src=src, model=model, folder=src.parent) for w in command]
    result = CliRunner().invoke(cli, words, input=src.read_bytes())
    assert result.exit_code == 2, result.output
    assert result.stdout_bytes == b"" and result.stderr.count("\n") == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


def _model_without_run(path: Path) -> tuple[object, bytes]:
    """A model file's header without what differs from run to run or names the inputs (seconds, sources)."""
    data = path.read_bytes()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8: 8 + size])
    meta = json.loads(header["__metadata__"]["tsae"])
    training = meta["extra"]["training"]
    training.pop("seconds")
    for epoch in training["history"]:
        epoch.pop("seconds")
    sources = training.pop("sources")
    header["__metadata__"]["tsae"] = meta
    header["__metadata__"].pop("tsae_sha256")  # the header's checksum: of the seconds too
    return (header, sources), data[8 + size:]


def test_train_reads_stdin_among_its_inputs(tmp_path, trained, temp_dir) -> None:
    src, _, _ = trained
    head = tmp_path / "head.csv"
    head.write_text("".join(src.read_text().splitlines(keepends=True)[:301]))
    fast = ["--epochs", "1", "--window", "16", "-q"]
    files = CliRunner().invoke(cli, ["train", str(head), str(src), "-o", str(tmp_path / "a.tsae"), *fast])
    piped = CliRunner().invoke(cli, ["train", "-", str(src), "-o", str(tmp_path / "b.tsae"), *fast],
                               input=head.read_bytes())
    assert files.exit_code == 0 and piped.exit_code == 0, (files.output, piped.output)
    (header_a, sources_a), weights_a = _model_without_run(tmp_path / "a.tsae")
    (header_b, sources_b), weights_b = _model_without_run(tmp_path / "b.tsae")
    assert weights_a == weights_b and header_a == header_b
    assert sources_b == ["stdin", "x.csv"] and sources_a == ["head.csv", "x.csv"]  # not the copy's stdin.csv
    assert list(temp_dir.iterdir()) == []


def test_an_error_in_stdin_among_train_inputs_names_stdin(tmp_path, trained, temp_dir) -> None:
    result = CliRunner().invoke(cli, ["train", str(trained[0]), "-", "-o", str(tmp_path / "m.tsae"), "-q"],
                                input="time,a,b\n")
    assert result.exit_code == 1
    assert result.output == "Error: stdin: no data rows (only a header)\n"
    assert list(tmp_path.iterdir()) == [temp_dir] and list(temp_dir.iterdir()) == []


# ------------------------------------------------------------------------ a real process: its file descriptors


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path, trained) -> None:
    long = tmp_path / "long.csv"  # several pipe buffers of output
    long.write_text("time,a,b\n" + "".join(f"{i},{i % 17 / 9:.4f},{i % 13 / 7:.4f}\n" for i in range(20000)))
    process = tsae_process("smooth", str(long), "-o", "-", "--model", str(trained[1]), stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.read(64)  # `| head -c 64`
    process.stdout.close()
    code = process.wait(timeout=120)
    err = process.stderr.read().decode()
    assert first.startswith(b"time,a,b\n")
    assert code == 0, err
    assert "Error" not in err and "Traceback" not in err and "Exception" not in err, err


def test_stdout_appending_to_the_input_is_refused(tmp_path, trained) -> None:
    src = tmp_path / "x.csv"
    src.write_bytes(trained[0].read_bytes())
    before = src.read_bytes()
    with open(src, "ab") as stdout:  # tsae smooth x.csv -o - >> x.csv
        process = tsae_process("smooth", str(src), "-o", "-", "--model", str(trained[1]), stdout=stdout)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert err.decode().strip() == f"Error: {src}: refusing to overwrite the input file (stdout goes to it)"
    assert src.read_bytes() == before


def test_binary_output_to_a_terminal_is_a_usage_error(tmp_path, trained) -> None:
    returncode, err = on_a_terminal("stdout", "encode", trained[1], trained[0], "-o", "-")
    assert returncode == 2, err
    assert "'-' writes the codes (a .npy array) to stdout, which is a terminal here" in err


def test_stdout_closed_is_a_usage_error(tmp_path, trained) -> None:
    process = tsae_process("smooth", str(trained[0]), "-o", "-", "--model", str(trained[1]), stdout=subprocess.DEVNULL,
                    preexec_fn=lambda: os.close(1))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2, err
    assert "'-' writes a CSV table to stdout, which is closed here" in err.decode()


def test_stdout_closed_names_what_a_series_command_writes(tmp_path, trained) -> None:
    # before: "'-' writes a table to stdout" for a container of a .npy array (decompress writes one), and for
    # reconstruct of one
    src, model, _ = trained
    array = tmp_path / "x.npy"
    np.save(array, np.loadtxt(src, delimiter=",", skiprows=1)[:, 1:].T)
    tsz = tmp_path / "x.tsz"
    assert CliRunner().invoke(cli, ["compress", str(model), str(array), "-o", str(tsz), "-q"]).exit_code == 0
    for args in (["decompress", str(tsz), "-o", "-"], ["reconstruct", str(model), str(array), "-o", "-"]):
        process = tsae_process(*args, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
        _, err = process.communicate(timeout=60)
        assert process.returncode == 2, err
        assert "'-' writes a .npy array to stdout, which is closed here" in err.decode()
