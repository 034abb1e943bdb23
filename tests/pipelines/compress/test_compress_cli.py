"""`tsae compress` / `tsae decompress`: files round-trip within the bound; bad input is one line, exit != 0."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run

from tsae.io.series import read_series

from compress_helpers import walk


@pytest.fixture()
def csv(tmp_path):
    x = walk(500, seed=7)
    x[1, 30:33] = np.nan
    path = tmp_path / "s.csv"
    cell = {True: lambda v: "", False: lambda v: repr(float(v))}
    rows = ["time,a,b"] + [f"{i},{cell[bool(np.isnan(a))](a)},{cell[bool(np.isnan(b))](b)}" for i, (a, b) in
                           enumerate(x.T)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture()
def packed(tmp_path, csv, model_file):
    model = tmp_path / "m.tsae"
    shutil.copy(model_file, model)
    out = tmp_path / "s.tsz"
    result = run("compress", model, csv, "-o", out, "--max-error", "1e-3", "--relative")
    assert result.exit_code == 0, result.output
    assert "bits/value" in result.output
    return out


def test_the_summary_tells_the_worst_error_against_its_bound(tmp_path, csv, model_file) -> None:
    # "max error 0.006834" after --max-error 1e-3 --relative read as if the bound were broken: it is absolute,
    # and each channel's bound is 1e-3 of that channel's range
    x = read_series(csv)[0]
    bounds = 1e-3 * (np.nanmax(x, axis=1) - np.nanmin(x, axis=1))
    result = run("compress", model_file, csv, "-o", tmp_path / "s.tsz", "--max-error", "1e-3", "--relative")
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    worst, share = re.search(r"max error ([0-9.e+-]+) \(at most ([0-9.]+)% of a channel's bound\)", line).groups()
    assert float(worst) <= bounds.max() * (1 + 1e-9) and 0 < float(share) <= 100
    plain = run("compress", model_file, csv, "-o", tmp_path / "c.tsz")  # no bound: no share of one
    assert plain.exit_code == 0 and "bound" not in plain.output


def test_round_trip_within_the_relative_bound(tmp_path, csv, packed):
    result = run("decompress", packed, "-o", tmp_path / "back.csv")
    assert result.exit_code == 0, result.output
    x, _, _ = read_series(csv)
    y, _, meta = read_series(tmp_path / "back.csv")
    assert meta["columns"] == ["a", "b"]
    bound = 1e-3 * (np.nanmax(x, axis=1) - np.nanmin(x, axis=1))
    finite = np.isfinite(x)
    np.testing.assert_array_equal(np.isnan(y), ~finite)
    assert (np.abs(np.where(finite, x - y, 0)) <= bound[:, None]).all()
    assert packed.stat().st_size * 8 / x.size < 16


def test_decompressing_to_audio_says_the_sample_format_it_stored(tmp_path, packed):
    result = run("decompress", packed, "-o", tmp_path / "back.flac")
    assert result.exit_code == 0, result.output
    assert "of the source, then stored as PCM_24" in result.output  # FLAC holds no floats
    result = run("decompress", packed, "-o", tmp_path / "back.wav")
    assert result.exit_code == 0 and "stored as" not in result.output  # 64-bit floats: the bound holds in the file
    result = run("decompress", packed, "-o", tmp_path / "back.ogg")  # Vorbis adds its own error
    assert result.exit_code == 0, result.output
    assert "stored as VORBIS (a lossy encoding: the file's samples are not within the bound" in result.output
    assert "lossy" not in run("decompress", packed, "-o", tmp_path / "again.flac").output


def test_one_row_file(tmp_path, model_file):
    data = tmp_path / "one.csv"
    data.write_text("a,b\n1.5,-2\n")
    assert run("compress", model_file, data, "-o", tmp_path / "one.tsz", "--max-error", "0.01").exit_code == 0
    assert run("decompress", tmp_path / "one.tsz", "-o", tmp_path / "one.npy").exit_code == 0
    np.testing.assert_allclose(np.load(tmp_path / "one.npy"), [[1.5], [-2.0]], atol=0.01)


def test_truncated_and_corrupt_containers(tmp_path, packed):
    data = packed.read_bytes()
    for name, damaged in (("short.tsz", data[: len(data) // 2]), ("flip.tsz", data[:-30] + b"\x00" + data[-29:])):
        path = tmp_path / name
        path.write_bytes(damaged)
        assert_one_line_error(run("decompress", path, "-o", tmp_path / "x.csv"), name)
        assert not (tmp_path / "x.csv").exists()


def test_the_model_is_found_by_its_reference_and_checked(tmp_path, packed, model_file):
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(packed, moved / "s.tsz")
    # the relative path is gone, the absolute one still works
    assert run("decompress", moved / "s.tsz", "-o", tmp_path / "a.csv").exit_code == 0
    (tmp_path / "m.tsae").unlink()
    assert_one_line_error(run("decompress", moved / "s.tsz", "-o", tmp_path / "b.csv"), "s.tsz", "not found")
    assert run("decompress", moved / "s.tsz", "-o", tmp_path / "b.csv", "--model", model_file).exit_code == 0
    other = tmp_path / "other.tsae"
    other.write_bytes(model_file.read_bytes() + b" ")
    assert_one_line_error(run("decompress", moved / "s.tsz", "-o", tmp_path / "c.csv", "--model", other),
                          "SHA-256 differs")


def test_bad_inputs_are_one_line(tmp_path, csv, model_file):
    out = tmp_path / "o.tsz"
    three = tmp_path / "three.csv"
    three.write_text("a,b,c\n1,2,3\n4,5,6\n")
    assert_one_line_error(run("compress", model_file, three, "-o", out), "three.csv", "channel")
    assert_one_line_error(run("compress", model_file, csv, "-o", csv), "s.csv")  # never over an input
    assert_one_line_error(run("compress", model_file, csv, "-o", out, "--max-error", "0"))
    assert_one_line_error(run("compress", model_file, csv, "-o", out, "--relative"), "--max-error")
    assert not out.exists()
    (tmp_path / "text.tsz").write_text("hello")
    assert_one_line_error(run("decompress", tmp_path / "text.tsz", "-o", tmp_path / "x.csv"), "not a .tsz")


@pytest.mark.parametrize("output", ["x.csv", "-"])
def test_a_container_that_is_a_pipe_is_not_called_missing(tmp_path, output):
    # before: "fifo.tsz: no such file" (so too `cat x.tsz | tsae decompress /dev/stdin`, and `<(cat x.tsz)`)
    import os

    fifo = tmp_path / "fifo.tsz"
    os.mkfifo(fifo)
    result = run("decompress", fifo, "-o", output if output == "-" else tmp_path / output)
    assert_one_line_error(result, "fifo.tsz: not a file (a pipe or a device): a .tsz container is read from a file")
    assert "no such file" not in result.output
    assert not (tmp_path / "x.csv").exists()


def test_an_output_named_as_a_folder_is_refused(tmp_path, csv, packed):
    # before: "-o out/" wrote a file named "out", and "-o ''" said ".: is a folder, not a file"
    before = sorted(p.name for p in tmp_path.iterdir())
    for command in (["compress", tmp_path / "m.tsae", csv], ["decompress", packed]):
        result = run(*command, "-o", f"{tmp_path / 'out'}/")
        assert_one_line_error(result, "names a folder; this command writes one file: give its name")
        assert_one_line_error(run(*command, "-o", ""), "an empty path (an unset shell variable?)")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_transposed_npy_says_what_to_do(tmp_path, model_file):
    # before: "x.npy: 300 channel(s), but the model was trained on 2", with no word of the transposed array;
    # then reconstruct's rule in other words ("x.npy: 300 channel(s), but ..."), now its words (and the model's path)
    np.save(tmp_path / "x.npy", walk(300).T)
    assert_one_line_error(run("compress", model_file, tmp_path / "x.npy", "-o", tmp_path / "x.tsz"),
                          f"x.npy: has 300 channel(s) but the model was trained on 2 ({model_file}); time is the "
                          "last axis of a .npy array: save it transposed (x.T, shape (2, 300))")
    assert not (tmp_path / "x.tsz").exists()
