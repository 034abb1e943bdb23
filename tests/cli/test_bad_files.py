"""Hostile input files through the CLI: one line naming the file (and the field), exit 1, no output written."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tsae import plugins
from tsae.cli import cli
from tsae.models.modelfile import save_model


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def one_error_line(code: int, out: str) -> str:
    assert code == 1, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in out, out
    return lines[0]


@pytest.fixture()
def data_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n" + "".join(f"{i % 7}.5,{i % 5}.25\n" for i in range(64)))
    return path


@pytest.fixture()
def model_file(tmp_path):
    torch.manual_seed(0)
    model = plugins.create_model("conv1d", channels=2, window=16, hidden=4, latent=3, depth=1)
    return save_model(tmp_path / "m.tsae", model, frame={"window": 16, "hop": 4, "window_fn": None})


@pytest.mark.parametrize("section,key,value,shown", [
    ("frame", "hop", 0, "frame.hop: 0 is out of range [1, 1048576]"),
    ("frame", "hop", -4, "frame.hop: -4 is out of range [1, 1048576]"),
    ("frame", "hop", [4], "frame.hop: must be an integer, not [4]"),
    ("hparams", "hidden", "4", "hparams.hidden: must be an integer, not '4'"),
    ("hparams", "window", 10**6, "weights do not fit model family 'conv1d' (wrong shape"),
])
def test_crafted_model_file(tmp_path, data_csv, model_file, craft_model_file, section, key, value, shown) -> None:
    def mutate(head: dict) -> None:
        head[section][key] = value

    crafted = craft_model_file(model_file, "crafted.tsae", header=mutate)
    out = tmp_path / "r.csv"
    line = one_error_line(*run("reconstruct", crafted, data_csv, "-o", out, "-q"))
    assert line.startswith(f"Error: {crafted}: {shown}"), line
    assert not out.exists()


def test_npy_claiming_a_trillion_elements(tmp_path) -> None:
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    text += " " * (-(len(text) + 11) % 64) + "\n"
    path = tmp_path / "huge.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode() + b"\0" * 64)
    for args in (["smooth", path, "-o", tmp_path / "s.npy"],
                 ["frame", path, "--window", "8", "-o", tmp_path / "f.npy"]):
        line = one_error_line(*run(*args, "-q"))
        assert line.startswith(f"Error: {path}: its header declares a float64 array of shape (1000000000000,)"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.npy"]


def test_csv_cell_over_the_field_limit(tmp_path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("a,b\n1,2\n3," + "4" * 200_000 + "\n5,6\n")
    line = one_error_line(*run("smooth", path, "-o", tmp_path / "s.csv", "-q"))
    assert line == f"Error: {path}: line 3: a cell is longer than 131,072 characters"


def test_memory_errors_are_one_line(tmp_path, data_csv, monkeypatch) -> None:
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 3.91 GiB for an array with shape (1048576000,)")

    monkeypatch.setattr("tsae.io.tables.read_table", no_memory)  # while a file is read: the file is named
    line = one_error_line(*run("smooth", data_csv, "-o", tmp_path / "s.csv", "-q"))
    assert line == (f"Error: {data_csv}: not enough memory to read it "
                    "(Unable to allocate 3.91 GiB for an array with shape (1048576000,))")
    monkeypatch.setattr("tsae.pipelines.smooth.files.smooth_file", no_memory)  # anywhere else
    line = one_error_line(*run("smooth", data_csv, "-o", tmp_path / "s.csv", "-q"))
    assert line == "Error: not enough memory (Unable to allocate 3.91 GiB for an array with shape (1048576000,))"
    result = CliRunner().invoke(cli, ["--debug", "smooth", str(data_csv), "-o", str(tmp_path / "s.csv")])
    assert isinstance(result.exception, MemoryError)  # --debug keeps the real error


@pytest.fixture()
def wide_model(tmp_path):
    torch.manual_seed(0)
    model = plugins.create_model("conv1d", channels=5, window=4, hidden=4, latent=3, depth=1)
    return save_model(tmp_path / "wide.tsae", model, frame={"window": 4, "hop": 2, "window_fn": None})


@pytest.mark.parametrize("command", ["reconstruct", "encode", "impute", "smooth", "compress", "train"])
def test_a_table_of_fewer_rows_than_columns_is_that_many_channels(tmp_path, wide_model, command) -> None:
    """A 5-column CSV of 3 rows is 5 short channels, not an array to transpose ('pass values.T')."""
    data = tmp_path / "short.csv"
    data.write_text("a,b,c,d,e\n1,2,3,4,5\n2,3,,5,6\n3,4,5,6,8\n")
    out = tmp_path / ("out.npy" if command == "encode" else "out.tsz" if command == "compress"
                      else "out.tsae" if command == "train" else "out.csv")
    args = {"reconstruct": [wide_model, data], "encode": [wide_model, data], "compress": [wide_model, data],
            "impute": ["--model", wide_model, data], "smooth": ["--model", wide_model, data],
            "train": [data, "--window", 4, "--epochs", 1]}[command]
    code, output = run(command, *args, "-o", out, "-q")
    assert code == 0, output
    assert out.exists()
    if out.suffix == ".csv":
        lines = out.read_text().splitlines()
        assert lines[0] == "a,b,c,d,e" and len(lines) == 4, lines


@pytest.mark.parametrize("command", ["reconstruct", "encode", "impute", "smooth"])
def test_problems_with_the_values_name_the_file(tmp_path, model_file, command) -> None:
    empty = tmp_path / "empty_column.csv"
    empty.write_text("a,b\n" + "".join(f"{i % 7}.5,\n" for i in range(64)))
    three = tmp_path / "three.csv"
    three.write_text("a,b,c\n" + "".join(f"{i % 7}.5,1,2\n" for i in range(64)))
    model = [] if command == "smooth" else ["--model", model_file] if command == "impute" else [model_file]
    out = tmp_path / ("out.npy" if command == "encode" else "out.csv")
    line = one_error_line(*run(command, *model, empty, "-o", out, "-q"))
    assert line.startswith(f"Error: {empty}: a channel has no finite values"), line
    if command != "smooth":
        line = one_error_line(*run(command, *model, three, "-o", out, "-q"))
        assert line.startswith(f"Error: {three}: ") and "3 channel(s)" in line and "trained on 2" in line, line
    assert not out.exists()


def test_an_unexpected_error_of_a_built_in_command_is_one_line_saying_it_is_a_bug(tmp_path, monkeypatch) -> None:
    # a ZeroDivisionError (or TypeError, IndexError...) from a built-in command came out as a traceback
    import tsae.io.frames

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("float floor division by zero")

    monkeypatch.setattr(tsae.io.frames, "frame_file", broken)
    src = tmp_path / "x.csv"
    src.write_text("a\n" + "1\n" * 40)
    line = one_error_line(*run("frame", src, "--window", 4))
    assert "internal error (ZeroDivisionError: float floor division by zero)" in line and "--debug" in line
    result = CliRunner().invoke(cli, ["--debug", "frame", str(src), "--window", "4"])
    assert isinstance(result.exception, ZeroDivisionError)


@pytest.mark.parametrize("command", ["denoise", "smooth", "frame"])
def test_a_flac_cut_mid_frame_is_one_line_saying_so_and_writes_nothing(tmp_path, command) -> None:
    # before: libsndfile's "Error : flac decoder lost sync" in the line
    import numpy as np
    import soundfile as sf

    path = tmp_path / "cut.flac"
    sf.write(path, np.random.default_rng(0).uniform(-0.3, 0.3, 48000).astype(np.float32), 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 6 // 10])
    out = tmp_path / ("out.npy" if command == "frame" else "out.wav")
    line = one_error_line(*run(command, path, "-o", out))
    assert line == (f"Error: {path}: truncated or damaged FLAC file: decoding broke off before the end of the 48000 "
                    "sample frames its header announces")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.flac"]


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("command", [["smooth"], ["frame", "--window", "8", "--hop", "8"]])
def test_space_separated_columns_are_read_as_comma_separated_ones(tmp_path, command, header) -> None:
    # numpy.savetxt's default: each line was taken for one cell, "line 2, column '1.2e+01 2.7e+00': not a
    # number ('1.2e+01 2.8')" (or "no numeric data columns"), blaming the numbers; then refused with the fix
    rows = [(i % 7 + 0.5, i % 5) for i in range(64)]
    spaced, commas = tmp_path / "x.txt", tmp_path / "x.csv"
    spaced.write_text(("a b\n" if header else "") + "".join(f"{a:.18e} {b:.18e}\n" for a, b in rows))
    commas.write_text(("a,b\n" if header else "") + "".join(f"{a:.18e},{b:.18e}\n" for a, b in rows))
    outputs = []
    for path in (spaced, commas):
        out = tmp_path / f"o_{path.suffix[1:]}.npy"
        code, text = run(*command[:1], path, *command[1:], "-o", out, "-q")
        assert code == 0, text
        outputs.append(np.load(out))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_one_column_with_spaces_around_its_values_is_still_read(tmp_path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("flow rate\n" + "".join(f" {i % 7}.5 \n" for i in range(64)))
    code, out = run("frame", path, "--window", "8", "--hop", "8", "-o", tmp_path / "f.npy", "-q")
    assert code == 0, out


@pytest.mark.parametrize(("name", "content", "told"), [
    ("d.parquet", b"PAR1\x15\x04\x15\x10" + b"\x00" * 40 + b"PAR1", "a Parquet file, not a text table"),
    ("d.feather", b"ARROW1\x00\x00" + b"\x00" * 40, "an Arrow/Feather file, not a text table"),
    ("d.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 40, "an HDF5 file, not a text table"),
    ("d.db", b"SQLite format 3\x00" + b"\x00" * 40, "an SQLite database, not a text table"),
    ("d.jsonl", b'{"time": 0, "flow": 1.5}\n{"time": 1, "flow": 2.5}\n', "JSON, not a table"),
    ("d.json", b'[\n  {"time": 0, "flow": 1.5}\n]\n', "JSON, not a table"),
])
def test_other_data_formats_are_named(tmp_path, name, content, told) -> None:
    # a Parquet file was "no data rows (only a header)", JSON lines "line 2, column '{"time":0': not a number"
    path = tmp_path / name
    path.write_bytes(content)
    line = one_error_line(*run("smooth", path, "-o", tmp_path / "o.csv", "-q"))
    assert line.startswith(f"Error: {path}: {told}"), line
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("header", ["[time],[flow]", "{time},{flow}"])
def test_bracketed_names_are_a_header_not_json(tmp_path, header) -> None:
    path = tmp_path / "b.csv"
    path.write_text(header + "\n" + "".join(f"{i},{i % 3}.5\n" for i in range(40)))
    code, out = run("smooth", path, "-o", tmp_path / "o.csv", "-q")
    assert code == 0, out
