"""Compressed tables (``.csv.gz``, ``.tsv.bz2``, ``.txt.xz`` ...) and decimal-comma tables, in and out.

Every command and function that reads a table reads them; an output named ``x.csv.gz`` is written compressed
(atomically); a corrupt or truncated compressed file is one line naming the file and leaves no output; a
``;``- or tab-separated table whose numbers use a decimal comma reads as the same table with decimal points.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tsae import plugins
from tsae.cli import cli
from tsae.io.paths import check_model_output, expand_inputs
from tsae.io.series import read_series
from tsae.io.tables import read_table, write_table
from tsae.models.modelfile import save_model

from memory_helpers import traced_peak

COMPRESSORS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
MAGIC = {".gz": b"\x1f\x8b", ".bz2": b"BZh", ".xz": b"\xfd7zXZ\x00"}


def run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def ok(*args: object) -> str:
    code, out = run(*args)
    assert code == 0, out
    return out


def one_error_line(*args: object) -> str:
    code, out = run(*args)
    assert code == 1, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in out, out
    return lines[0]


def table_text(n: int = 300, *, sep: str = ",", decimal: str = ".", phase: float = 0.0) -> str:
    rows = [sep.join(["time", "a", "b", "label"])]
    for i in range(n):
        cells = [f"{i * 0.5:.1f}", f"{np.sin(i / 9 + phase):.5f}", f"{-1.5e-3 * np.cos(i / 7):.4e}", str(int(i == 40))]
        if i % 53 == 7:
            cells[1] = ""
        rows.append(sep.join(c.replace(".", decimal) for c in cells))
    return "\n".join(rows) + "\n"


def compressed(path: Path, text: str, kind: str) -> Path:
    path.write_bytes(COMPRESSORS[kind](text.encode()))
    return path


def assert_same_table(got: Path, expected: Path) -> None:
    a, b = read_table(got), read_table(expected)
    assert a.columns == b.columns and a.time_name == b.time_name
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.time, b.time)


@pytest.fixture()
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "s.csv"
    path.write_text(table_text())
    return path


@pytest.fixture()
def model_file(tmp_path: Path) -> Path:
    """An untrained two-channel conv1d model (reconstruct and compress need no trained one)."""
    torch.manual_seed(0)
    model = plugins.create_model("conv1d", channels=2, window=16, hidden=4, latent=3, depth=1)
    return save_model(tmp_path / "m.tsae", model, frame={"window": 16, "hop": 8, "window_fn": None})


# ----------------------------------------------------------------------------- reading
@pytest.mark.parametrize("kind", [".gz", ".bz2", ".xz"])
@pytest.mark.parametrize("table", [".csv", ".tsv", ".txt"])
def test_compressed_table_reads_as_the_plain_one(tmp_path: Path, kind: str, table: str) -> None:
    text = table_text(sep="\t" if table == ".tsv" else ",")
    plain_path = tmp_path / f"p{table}"
    plain_path.write_text(text)
    packed = compressed(tmp_path / f"p{table}{kind}", text, kind)
    assert_same_table(packed, plain_path)
    values, rate, meta = read_series(packed)
    np.testing.assert_array_equal(values, read_table(plain_path).values)
    assert rate == 2.0 and meta["kind"] == "table" and meta["label_name"] == "label"


@pytest.mark.parametrize("kind", [".gz", ".bz2", ".xz"])
def test_compression_is_found_by_its_magic_bytes_too(tmp_path: Path, plain: Path, kind: str) -> None:
    disguised = compressed(tmp_path / "disguised.csv", plain.read_text(), kind)  # no compression suffix
    assert_same_table(disguised, plain)


def test_latin1_compressed_table(tmp_path: Path) -> None:
    text = "time,temp\u00e9rature\n0,1.5\n1,2.5\n2,3.5\n"
    path = tmp_path / "l.csv.gz"
    path.write_bytes(gzip.compress(text.encode("latin-1")))
    assert read_table(path).columns == ["temp\u00e9rature"]


def test_reading_a_compressed_table_streams(tmp_path: Path) -> None:
    rows = 100_000
    text = "time,a,b,c\n" + "".join(f"{i},{i % 7}.25,{-i}.5,{i % 3}.125\n" for i in range(rows))
    path = tmp_path / "big.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(text)
    del text
    read_table(path)  # the fast reader's numba kernels load on first use (tens of MB, once), not per table
    table, peak = traced_peak(lambda: read_table(path))
    assert table.values.shape == (3, rows)
    arrays = table.values.nbytes + table.time.nbytes  # 3.2 MB; the text is 2.8 MB, decompressed
    assert peak < 4 * arrays + 8e6, f"peak {peak / 1e6:.1f} MB for {arrays / 1e6:.1f} MB of arrays"


# ----------------------------------------------------------------------------- broken compressed files
def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _corrupt(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 16]) + data[middle + 16:]


@pytest.mark.parametrize("kind", [".gz", ".bz2", ".xz"])
@pytest.mark.parametrize("damage, shown", [(_truncated, "truncated"), (_corrupt, "not a valid")])
def test_broken_compressed_input_is_one_line_and_no_output(tmp_path: Path, plain: Path, kind: str, damage,
                                                          shown: str) -> None:
    name = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}[kind]
    bad = tmp_path / f"bad.csv{kind}"
    bad.write_bytes(damage(COMPRESSORS[kind](plain.read_bytes())))
    out = tmp_path / "out.csv"
    line = one_error_line("smooth", bad, "-o", out, "-q")
    assert line.startswith(f"Error: {bad}: ") and name in line, line
    assert f"{shown} {name}" in line, line
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    with pytest.raises(ValueError, match=f"^{bad}: .*{name}"):
        read_table(bad)


def test_a_gzip_checksum_mismatch_is_found(tmp_path: Path, plain: Path) -> None:
    data = gzip.compress(plain.read_bytes())
    bad = tmp_path / "crc.csv.gz"
    bad.write_bytes(data[:-8] + bytes(8))  # CRC-32 and length zeroed: every byte decompresses, the check fails
    with pytest.raises(ValueError, match=f"^{bad}: not a valid gzip file \\(CRC check failed"):
        read_table(bad)


def test_a_gz_name_on_plain_text_is_not_a_valid_gzip_file(tmp_path: Path, plain: Path) -> None:
    fake = tmp_path / "fake.csv.gz"
    fake.write_text(plain.read_text())
    with pytest.raises(ValueError, match=f"^{fake}: not a valid gzip file"):
        read_table(fake)


def test_empty_compressed_tables(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv.gz"
    empty.write_bytes(b"")
    blank = compressed(tmp_path / "b.csv.xz", "\n \n", ".xz")
    for path in (empty, blank):
        with pytest.raises(ValueError, match=f"^{path}: empty file$"):
            read_table(path)


def test_binary_inside_a_compressed_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(bytes(range(256)) * 4))
    with pytest.raises(ValueError, match=f"^{path}: not a text table \\(binary data"):
        read_table(path)


# ----------------------------------------------------------------------------- writing
@pytest.mark.parametrize("kind", [".gz", ".bz2", ".xz"])
def test_write_table_compresses_by_suffix_atomically(tmp_path: Path, plain: Path, kind: str) -> None:
    table = read_table(plain)
    out = tmp_path / f"w.csv{kind}"
    write_table(out, dict(zip(table.columns, table.values, strict=True)), time=table.time, time_name="time")
    assert out.read_bytes().startswith(MAGIC[kind])
    first = out.read_bytes()
    write_table(out, dict(zip(table.columns, table.values, strict=True)), time=table.time, time_name="time")
    assert out.read_bytes() == first  # no time stamp nor temporary name in the header: the same bytes again
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", f"w.csv{kind}"]
    got = read_table(out)
    np.testing.assert_array_equal(got.values, table.values)


@pytest.mark.parametrize("kind", [".gz", ".bz2", ".xz"])
def test_smooth_cli_round_trip(tmp_path: Path, plain: Path, kind: str) -> None:
    packed = compressed(tmp_path / f"s.csv{kind}", plain.read_text(), kind)
    ok("smooth", plain, "-o", tmp_path / "plain.smooth.csv", "-q")
    out = tmp_path / f"s.smooth.csv{kind}"
    ok("smooth", packed, "-o", out, "-q")
    assert out.read_bytes().startswith(MAGIC[kind])
    assert_same_table(out, tmp_path / "plain.smooth.csv")


def test_smooth_file_api_reads_and_writes_compressed(tmp_path: Path, plain: Path) -> None:
    from tsae.pipelines.smooth.files import smooth_file

    packed = compressed(tmp_path / "s.txt.gz", plain.read_text(), ".gz")
    smooth_file(plain, tmp_path / "p.csv", quiet=True)
    info = smooth_file(packed, tmp_path / "s.smooth.txt.bz2", quiet=True)
    assert info["samples"] == 300 and info["channels"] == 2
    assert (tmp_path / "s.smooth.txt.bz2").read_bytes().startswith(MAGIC[".bz2"])
    assert_same_table(tmp_path / "s.smooth.txt.bz2", tmp_path / "p.csv")


def test_impute_compressed_in_plain_out(tmp_path: Path, plain: Path) -> None:
    packed = compressed(tmp_path / "s.tsv.bz2", plain.read_text().replace(",", "\t"), ".bz2")
    out = tmp_path / "filled.csv"
    ok("impute", packed, "-o", out, "-q")
    assert not np.isnan(read_table(out).values).any()
    assert out.read_text().startswith("time,a,b,label\n")


def test_detect_fit_and_score_compressed(tmp_path: Path) -> None:
    train = compressed(tmp_path / "normal.csv.xz", table_text(600), ".xz")
    test = compressed(tmp_path / "today.csv.bz2", table_text(300, phase=1.0), ".bz2")
    det = tmp_path / "pump.tsae"
    fast = ("--window", "16", "--terms", "pca", "--scales", "none", "--epochs", "1", "--device", "cpu", "-q")
    ok("detect", "fit", train, "-o", det, *fast)
    scores = tmp_path / "scores.csv.gz"
    ok("detect", "score", test, "--detector", det, "-o", scores, "-q")
    assert scores.read_bytes().startswith(MAGIC[".gz"])
    assert (tmp_path / "scores.events.json").is_file()  # not scores.csv.events.json
    plain_test = tmp_path / "today.csv"
    plain_test.write_text(table_text(300, phase=1.0))
    ok("detect", "score", plain_test, "--detector", det, "-o", tmp_path / "plain_scores.csv", "-q")
    assert_same_table(scores, tmp_path / "plain_scores.csv")
    from tsae.pipelines.anomaly.files import score_file

    summary = score_file(test, det, tmp_path / "api.tsv.xz", quiet=True)  # the Python API, a tab-separated output
    assert summary["events_file"] == str(tmp_path / "api.events.json")
    assert_same_table(tmp_path / "api.tsv.xz", tmp_path / "plain_scores.csv")


def test_reconstruct_a_folder_of_compressed_tables(tmp_path: Path, plain: Path, model_file: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    text = table_text()
    compressed(folder / "a.csv.gz", text, ".gz")
    compressed(folder / "b.tsv.xz", text.replace(",", "\t"), ".xz")
    (folder / "notes.gz").write_bytes(gzip.compress(b"not a table"))  # no table suffix: not an input
    out = tmp_path / "out"
    ok("reconstruct", model_file, folder, "-o", out, "-q")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv.gz", "b.tsv.xz", "manifest.csv"]
    assert (out / "a.csv.gz").read_bytes().startswith(MAGIC[".gz"])
    ok("reconstruct", model_file, plain, "-o", tmp_path / "plain.csv", "-q")
    assert_same_table(out / "a.csv.gz", tmp_path / "plain.csv")
    assert_same_table(out / "b.tsv.xz", tmp_path / "plain.csv")


def test_compress_and_decompress_compressed_tables(tmp_path: Path, plain: Path, model_file: Path) -> None:
    packed = compressed(tmp_path / "s.csv.xz", plain.read_text(), ".xz")
    ok("compress", model_file, packed, "-o", tmp_path / "s.tsz", "--max-error", "1e-3", "-q")
    back = tmp_path / "back.csv.gz"
    ok("decompress", tmp_path / "s.tsz", "-o", back, "-q")
    assert back.read_bytes().startswith(MAGIC[".gz"])
    got, want = read_table(back), read_table(plain)
    assert got.columns == want.columns
    np.testing.assert_allclose(got.values, want.values, atol=1.01e-3)


def test_train_on_a_folder_of_compressed_tables(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    compressed(folder / "a.csv.gz", table_text(), ".gz")
    compressed(folder / "b.txt.bz2", table_text(phase=2.0), ".bz2")
    model = tmp_path / "m.tsae"
    ok("train", folder, "--family", "conv1d", "--window", "16", "--hop", "8", "--epochs", "1", "-p", "hidden=4",
       "-p", "latent=2", "-p", "depth=1", "-o", model, "--device", "cpu", "-q")
    assert model.is_file()


# ----------------------------------------------------------------------------- names
def test_a_model_is_refused_under_a_compressed_table_name(tmp_path: Path, plain: Path) -> None:
    for name in ("m.csv.gz", "m.TSV.BZ2", "m.txt.xz"):
        with pytest.raises(ValueError, match="refusing to write a model under a data file's name"):
            check_model_output(tmp_path / name)
    # not a table's name, but a gzip file's, which a model is not (as a data output x.gz is refused)
    with pytest.raises(ValueError, match=r"m\.gz: refusing to write a model under a gzip file's name \(\.gz\)"):
        check_model_output(tmp_path / "m.gz")
    out = tmp_path / "m.csv.gz"
    line = one_error_line("train", plain, "--window", "16", "-o", out, "-q")
    assert f"name it {tmp_path / 'm.tsae'}" in line, line
    line = one_error_line("detect", "fit", plain, "-o", out, "-q")
    assert "refusing to write a model" in line and not out.exists(), line


def test_inputs_are_found_by_their_compound_suffix(tmp_path: Path) -> None:
    for name in ("a.csv.gz", "b.TSV.BZ2", "c.txt.xz", "d.gz", "e.npy.gz", "f.csv"):
        (tmp_path / name).write_bytes(b"")
    assert [Path(f).name for f in expand_inputs([tmp_path])] == ["a.csv.gz", "b.TSV.BZ2", "c.txt.xz", "f.csv"]
    assert [Path(f).name for f in expand_inputs([str(tmp_path / "*.gz")])] == ["a.csv.gz"]


def test_split_suffix_keeps_a_compressed_table_suffix_whole() -> None:
    from tsae.io.paths import split_suffix

    assert split_suffix("x/pump.csv.gz") == ("x/pump", ".csv.gz")
    assert split_suffix("pump.v2.TSV.xz") == ("pump.v2", ".TSV.xz")
    assert split_suffix("pump.csv") == ("pump", ".csv")
    assert split_suffix("notes.gz") == ("notes", ".gz")
    assert split_suffix("README") == ("README", "")


# ----------------------------------------------------------------------------- decimal comma
@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_comma_reads_as_the_dot_version(tmp_path: Path, plain: Path, sep: str) -> None:
    euro = tmp_path / "euro.csv"
    euro.write_text(table_text(sep=sep, decimal=","))
    assert "-1,5" in euro.read_text() or "e-03" in euro.read_text()
    assert_same_table(euro, plain)
    packed = compressed(tmp_path / "euro.csv.gz", euro.read_text(), ".gz")
    assert_same_table(packed, plain)


def test_decimal_comma_cli_smooth(tmp_path: Path, plain: Path) -> None:
    euro = tmp_path / "euro.csv"
    euro.write_text(table_text(sep=";", decimal=","))
    ok("smooth", plain, "-o", tmp_path / "p.out.csv", "-q")
    out = tmp_path / "euro.out.csv"
    ok("smooth", euro, "-o", out, "-q")
    assert out.read_text().startswith("time,a,b,label\n")  # written as a plain CSV, decimal points
    assert_same_table(out, tmp_path / "p.out.csv")


def test_decimal_comma_headerless_and_exponents(tmp_path: Path) -> None:
    path = tmp_path / "h.txt"
    path.write_text("0;-0,5;1,5e-3\n1;12,75;,25\n2;3;-2,E+2\n")
    table = read_table(path)
    assert table.columns == ["ch0", "ch1", "ch2"]
    np.testing.assert_array_equal(table.values, [[0, 1, 2], [-0.5, 12.75, 3], [1.5e-3, 0.25, -200]])


def test_dotted_day_first_times_with_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Zeit;Druck\n" + "".join(f"01.02.2024 10:00:{s:02d};{s},5\n" for s in range(30)))
    table = read_table(path)
    assert table.time is not None and table.time[0] == np.datetime64("2024-02-01T10:00:00")
    assert table.sample_rate() == 1.0
    np.testing.assert_array_equal(table.values[0], np.arange(30) + 0.5)
    iso = tmp_path / "iso.csv"
    iso.write_text("time;a\n" + "".join(f"2024-02-01 10:00:{s:02d};{s},25\n" for s in range(30)))
    assert read_table(iso).time[1] == np.datetime64("2024-02-01T10:00:01")


@pytest.mark.parametrize("rows, line, shown", [
    (["0;0,5;1", "1;0.5;2"], 3, "'0.5'"),  # commas first: a later point is not a number
    (["0;0.5;1", "1;2;1,5"], 3, "'1,5'"),  # points first: a later comma is not a number
    (["0;1;2"] * 250 + ["1;0,5;2", "2;0.5;1"], 253, "'0.5'"),  # judged on the first rows, told where it breaks
])
def test_a_file_mixing_decimal_marks_is_refused(tmp_path: Path, rows: list[str], line: int, shown: str) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("time;a;b\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError) as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line {line}, column ") and shown in message and "\n" not in message, message
    out = tmp_path / "out.csv"
    error = one_error_line("smooth", path, "-o", out, "-q")
    assert f"line {line}" in error and not out.exists()


def test_a_comma_separated_file_never_reads_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('a,b\n"0,5",1\n"1,5",2\n')
    with pytest.raises(ValueError) as info:
        read_table(path)
    # it said "mixed decimal marks (the file's first decimal number has a decimal point)", then "a decimal comma in
    # a comma-separated file, whose numbers have decimal points": no number has one. Not read: a quoted "1,234" may
    # as well be a thousands separator (an en-US export)
    assert str(info.value) == (f"{path}: line 2, column 'a': not a number ('0,5'): a comma in a number of a "
                               "comma-separated file (decimal commas are read where cells are separated by ; or tabs, "
                               "thousands separators nowhere)")
    every = tmp_path / "every.csv"  # every cell quoted, decimal commas only
    every.write_text('"time","a","b"\n"0","0,5","0,25"\n"1","1,5","1,25"\n')
    with pytest.raises(ValueError, match=r"every\.csv: line 2, column 'a': not a number \('0,5'\): a comma in a "
                                         r"number of a comma-separated file \(decimal commas are read where"):
        read_table(every)
    semicolons = tmp_path / "semicolons.csv"  # the way the message points
    semicolons.write_text('"time";"a";"b"\n"0";"0,5";"0,25"\n"1";"1,5";"1,25"\n')
    np.testing.assert_array_equal(read_table(semicolons).values, [[0.5, 1.5], [0.25, 1.25]])


def test_no_temporary_files_are_left_by_a_failed_compressed_write(tmp_path: Path, plain: Path) -> None:
    out = tmp_path / "never.csv.gz"
    with pytest.raises(ValueError):
        write_table(out, {"a": np.zeros(3), "b": np.zeros(4)})
    assert sorted(os.listdir(tmp_path)) == ["s.csv"]


# ----------------------------------------------------------------------------- headerless files
@pytest.mark.parametrize("sep,suffix", [(";", ".csv"), ("\t", ".txt"), ("|", ".csv")])
def test_a_headerless_decimal_comma_file_is_read_with_its_own_delimiter(tmp_path, sep, suffix) -> None:
    # the sniffer took "1,5;2,25" for comma-separated, so each row was two cells "1" and "5;2" -> not a number
    path = tmp_path / f"x{suffix}"
    path.write_text("".join(f"2024-01-01T00:00:0{i}{sep}1,{5 + i}{sep}2,{25 + i}\n" for i in range(3)))
    table = read_table(path)
    np.testing.assert_allclose(table.values, [[1.5, 1.6, 1.7], [2.25, 2.26, 2.27]])
    assert table.time is not None and len(table.time) == 3


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_a_single_column_of_decimal_commas_is_one_channel(tmp_path, eol) -> None:
    # a one-sensor sheet saved in a decimal-comma locale has no delimiter at all: "9,514" was read as two cells, an
    # error blaming "a title or notes above the header"
    path = tmp_path / "flow.csv"
    path.write_bytes(eol.join(["flow", "9,514", "-9,276", "", "NA", "10", "1,5e-3"]).encode() + eol.encode())
    table = read_table(path)
    assert table.columns == ["flow"] and table.time is None
    np.testing.assert_allclose(table.values, [[9.514, -9.276, np.nan, np.nan, 10, 1.5e-3]])  # blank: missing
    out = tmp_path / "framed.npy"
    assert run("frame", path, "--window", "2", "--hop", "1", "-o", out, "-q")[0] == 0
    np.testing.assert_allclose(np.load(out)[0], [9.514, -9.276])


@pytest.mark.parametrize("text", [
    "flow\n1,2\n3,x\n",  # a cell that is no number: two columns, as ever (one-line error)
    "flow,pressure\n1,2\n3,4\n",  # a header of two names
    "flow\n1,2,3\n",  # a row of two commas
    "9,514\n9,276\n",  # no header to say there is one column: two columns of whole numbers
    "flow\n1,2\nx,4\n",  # a row that is no number with a decimal comma
])
def test_what_is_not_clearly_one_column_of_decimal_commas_is_read_as_before(tmp_path, text) -> None:
    path = tmp_path / "x.csv"
    path.write_text(text)
    try:
        table = read_table(path)
    except ValueError as error:
        assert "fields, expected 1" in str(error)
    else:
        assert table.channels == 2


def test_a_headerless_first_row_of_a_date_and_numbers_is_data_not_a_header(tmp_path) -> None:
    # it was taken as the header: the first sample was lost and the columns were named "1.5", "2.25"
    path = tmp_path / "x.csv"
    path.write_text("2024-01-01T00:00:00,1.5,2.25\n2024-01-01T00:00:01,1.6,2.5\n")
    table = read_table(path)
    np.testing.assert_allclose(table.values, [[1.5, 1.6], [2.25, 2.5]])
    assert table.columns == ["ch1", "ch2"] and table.time is not None and len(table.time) == 2


@pytest.mark.parametrize("text,columns", [
    ("time;a;b\n0;1,5;2,5\n1;1,6;2,6\n", ["a", "b"]),  # a header of names stays a header
    ("today,x\n1,2\n3,4\n", ["today", "x"]),  # numpy reads "today" as a date: a word is still a name
    ("a,b\n1,5\n2,6\n", ["a", "b"]),  # commas that are a delimiter
])
def test_headers_and_comma_files_are_read_as_before(tmp_path, text, columns) -> None:
    path = tmp_path / "x.csv"
    path.write_text(text)
    assert read_table(path).columns == columns


def test_a_semicolon_in_quoted_text_does_not_make_it_the_delimiter(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('name,v\n"x; y",1\n"z; w",2\n')
    with pytest.raises(ValueError, match=r"line 2, column 'name': not a number \('x; y'\)"):
        read_table(path)
