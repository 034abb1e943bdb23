"""Errors about an output name the right thing: a folder given where one file is written, a file used as a folder."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli


@pytest.mark.parametrize("command", [["frame", "{src}"], ["smooth", "{src}"], ["impute", "{src}"]])
def test_folder_name_for_a_one_file_output_is_refused_by_name(tmp_path, command) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.arange(600.0))
    result = CliRunner().invoke(cli, [c.format(src=src) for c in command] + ["-o", f"{tmp_path}/new/"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: Invalid value for '-o' / '--output': '{tmp_path}/new/' names a folder; this command writes one "
        f"file: give its name (see 'cli {command[0]} --help')"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_output_under_a_file_names_that_file(tmp_path) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.arange(600.0))
    result = CliRunner().invoke(cli, ["frame", str(src), "-o", f"{src}/out.npy"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {src}/out.npy: {src} is a file, not a folder"


@pytest.mark.parametrize(("command", "better"), [
    (["smooth", "{src}"], ".csv"), (["impute", "{src}"], ".csv"), (["frame", "{src}", "--window", "8"], ".npy"),
    (["reconstruct", "{model}", "{src}"], ".csv"), (["detect", "score", "--detector", "{det}", "{src}"], ".csv")])
@pytest.mark.parametrize("victim", ["other.tsae", "box.tsz", "m.ONNX"])
def test_data_is_not_written_over_a_model_container_or_export(tmp_path, trained, command, better, victim) -> None:
    # smooth -o m.tsae replaced a model file (one the command does not read) with a table, without a word
    src, model, det = trained
    target = tmp_path / victim
    target.write_bytes(b"precious")
    args = [c.format(src=src, model=model, det=det) for c in command]
    result = CliRunner().invoke(cli, [*args, "-o", str(target), "-q"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().endswith(f"name it {str(target)[:-len(target.suffix)]}{better}"), result.output
    assert "refusing to write data under" in result.output and target.read_bytes() == b"precious"


@pytest.mark.parametrize(("kind", "name", "what", "better"), [
    ("model", "m.csv.gz", "a data file's name (tsae reads .csv.gz files as tables)", "m.tsae"),
    ("model", "m.wav", "a data file's name (tsae reads .wav files as audio)", "m.tsae"),
    ("model", "m.tsz", "a compressed container's name (.tsz)", "m.tsae"),
    ("model", "m.ONNX", "an ONNX export's name (.ONNX)", "m.tsae"),
    ("container", "c.npy", "a data file's name (tsae reads .npy files as arrays)", "c.tsz"),
    ("container", "c.tsae", "a model or detector file's name (.tsae)", "c.tsz"),
    ("data", "d.tsz", "a compressed container's name (.tsz)", "d.csv"),
    # another program's format, or a compressor's: a model or container under it was written, and read by nothing
    ("model", "m.parquet", "another format's name (.parquet)", "m.tsae"),
    ("model", "m.XLSX", "another format's name (.XLSX)", "m.tsae"),
    ("model", "m.npz", "another format's name (.npz)", "m.tsae"),
    ("model", "m.pt", "another format's name (.pt)", "m.tsae"),
    ("model", "m.tsae.zip", "another format's name (.zip)", "m.tsae"),
    ("model", "m.tsae.gz", "a gzip file's name (.gz)", "m.tsae"),
    ("model", "m.lvm", "a data file's name (tsae reads .lvm files as tables)", "m.tsae"),
    ("container", "c.safetensors", "another format's name (.safetensors)", "c.tsz"),
    ("container", "c.tsz.xz", "an xz file's name (.xz)", "c.tsz"),
])
def test_one_rule_refuses_an_output_named_like_another_kind(kind, name, what, better) -> None:
    from tsae.io.paths import OUTPUT_KINDS, check_output_kind

    writes = OUTPUT_KINDS[kind][0]
    with pytest.raises(ValueError) as caught:
        check_output_kind(name, kind)
    assert str(caught.value) == f"{name}: refusing to write {writes} under {what}: name it {better}"


@pytest.mark.parametrize(("kind", "name"), [("model", "m.tsae"), ("model", "m.bin"), ("model", "m"),
                                            ("model", "m.safetensors"),  # a .tsae file is one
                                            ("container", "c.TSZ"), ("data", "d.csv"), ("data", "d.wav")])
def test_a_kind_keeps_its_own_suffix_and_unknown_ones(kind, name) -> None:
    from tsae.io.paths import check_output_kind

    check_output_kind(name, kind)  # no error


@pytest.mark.parametrize(("command", "name", "better"), [
    (["reconstruct", "{model}", "{src}"], "r.m4a", "r.wav"),
    (["reconstruct", "{model}", "{src}"], "r.npz", "r.npy"),
    (["reconstruct", "{model}", "{src}"], "r.csv.zip", "r.csv"),
    (["reconstruct", "{model}", "{src}"], "r.xlsx", "r.csv"),
    (["reconstruct", "{model}", "{src}"], "r.npy.gz", "r.npy"),
    (["reconstruct", "{model}", "{src}"], "r.gz", "r.csv.gz"),
    (["smooth", "{src}"], "s.parquet", "s.csv"),
    (["detect", "score", "--detector", "{det}", "{src}"], "d.json", "d.csv"),
    (["frame", "{src}", "--window", "8"], "f.m4a", "f.npy"),
])
def test_data_is_not_written_under_another_formats_name(tmp_path, trained, command, name, better) -> None:
    # reconstruct -o r.m4a (or .npz, .csv.zip, .xlsx, .npy.gz) wrote CSV text under that name, exit 0: a file
    # neither tsae ('not a readable audio file') nor the program the name promises reads
    src, model, det = trained
    target = tmp_path / name
    args = [c.format(src=src, model=model, det=det) for c in command]
    result = CliRunner().invoke(cli, [*args, "-o", str(target), "-q"])
    assert result.exit_code == 1, result.output
    line, = result.output.strip().splitlines()
    # detect score says what its output is (218a1ac): "the scores are written as a CSV table, not a .json file"
    start = "the scores are " if name == "d.json" else "tsae "
    assert line.startswith(f"Error: {target}: {start}") and line.endswith(f"name it {tmp_path / better}"), line
    assert not target.exists() and not list(tmp_path.glob(".*part"))


@pytest.mark.parametrize(("command", "name"), [
    (["detect", "fit", "{src}", "--epochs", "1", "--window", "16"], "fg.parquet"),
    (["train", "{src}", "--epochs", "1", "--window", "16"], "m.npz"),
])
def test_a_model_is_not_written_under_another_formats_name(tmp_path, trained, command, name) -> None:
    # detect fit -o fg.parquet wrote a detector (a safetensors file) under that name, exit 0
    target = tmp_path / name
    result = CliRunner().invoke(cli, [*(c.format(src=trained[0]) for c in command), "-o", str(target), "-q"])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == (f"Error: {target}: refusing to write a model under another format's name "
                                     f"({target.suffix}): name it {target.with_suffix('.tsae')}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["d.csv.gz", "d.TSV.xz", "d.npy", "d.flac", "d.bin", "d", "d.dat"])
def test_data_keeps_the_names_tsae_writes_and_unclaimed_ones(name) -> None:
    from tsae.io.paths import check_data_output

    check_data_output(name)  # no error


@pytest.mark.parametrize("command", [
    ["train", "{src}", "-o", "-"], ["detect", "fit", "{src}", "-o", "-"],
    ["detect", "score", "--detector", "{det}", "{src}", "-o", "s.csv", "--plot", "-"],
    ["encode", "{model}", "{src}", "-o", "c.npy", "--plot", "-"]])
def test_dash_as_a_one_file_output_is_not_a_file_named_dash(tmp_path, trained, monkeypatch, command) -> None:
    # `tsae smooth x.csv -o -` wrote the table into a file named "-" in the working folder, where a user who
    # meant stdout (as `tsae denoise -o -` is) never looked; a table now goes to stdout
    # (tests/cli/test_stdout_tables.py), a model file or a plot is no output for a pipe
    src, model, det = trained
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(cli, [c.format(src=src, model=model, det=det) for c in command])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "'-' (stdout): this command writes a file, not stdout" in lines[0], result.output
    assert "./-" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("command", [
    ["compress", "-", "{src}", "-o", "o.tsz"], ["decompress", "-", "-o", "o.csv"],
    ["smooth", "{src}", "--model", "-", "-o", "o.csv"],
    ["detect", "score", "--detector", "-", "{src}", "-o", "o.csv"], ["monitor", "--detector", "-"]])
def test_dash_as_a_file_input_says_the_command_reads_a_file_not_stdin(tmp_path, trained, monkeypatch,
                                                                      command) -> None:
    # `tsae decompress - -o o.csv` said "File '-' does not exist", as if a file were missing; a model, a detector
    # and a container are read from files only (a table is read from stdin too: tests/cli/test_stdin_tables.py)
    src, model, det = trained
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [c.format(src=src, model=model, det=det) for c in command], input="time,a,b\n")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "'-' (stdin): this command reads a file, not stdin" in lines[0], result.output
    assert "./-" in lines[0] and "does not exist" not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
