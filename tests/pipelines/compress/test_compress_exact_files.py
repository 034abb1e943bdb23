"""A container gives back what the file held: a table's infinite cells come back as they were (other commands
read them as missing), a float audio file whose NaN the reader would read as silence is refused, and a container
with bytes after its end, or cut short, is one line with no output."""
from __future__ import annotations

import gzip
import re
import shutil
import warnings

import numpy as np
import pytest
import soundfile
from cli_helpers import assert_one_line_error, run

from tsae.io.audio import AudioWarning
from tsae.io.tables import TableWarning, read_table
from tsae.pipelines.compress.files import compress_file, decompress_file
from tsae.pipelines.compress.series import compress_series, decompress_series

from compress_helpers import walk


def _rows(x: np.ndarray) -> list[str]:
    return ["time,a,b"] + [f"{i},{float(a)!r},{float(b)!r}" for i, (a, b) in enumerate(x.T)]


@pytest.fixture()
def model(tmp_path, model_file):
    path = tmp_path / "m.tsae"
    shutil.copy(model_file, path)
    return path


@pytest.mark.parametrize("cell", ["inf", "-Infinity", "1e400"])
@pytest.mark.parametrize("bound", [["--max-error", "1e-3"], []])
def test_a_tables_infinite_cells_come_back_as_they_were(tmp_path, model, cell, bound):
    """They were read as missing, compressed as such, reported as within the bound and given back empty."""
    rows = _rows(walk(200, seed=1))
    rows[30] = f"29,0.5,{cell}"
    rows[50] = "49,inf,0.25"
    data = tmp_path / "s.csv"
    data.write_text("\n".join(rows) + "\n")
    packed, back = tmp_path / "s.tsz", tmp_path / "back.csv"
    assert run("compress", model, data, "-o", packed, *bound).exit_code == 0
    assert run("decompress", packed, "-o", back).exit_code == 0
    given, got = read_table(data, exact=True).values, read_table(back, exact=True).values
    infinite = np.isinf(given)
    assert infinite.sum() == 2 and np.array_equal(np.isinf(got), infinite)
    np.testing.assert_array_equal(got[infinite], given[infinite])
    assert back.read_text().splitlines()[50].split(",")[1] == "inf"  # written as a cell the reader reads
    if bound:
        assert np.max(np.abs(got - given)[~infinite]) <= 1e-3


def test_a_cell_beyond_what_the_bound_can_step_is_one_line(tmp_path, model):
    """A cell of 1e299 was read as missing and the bound reported as kept; it is the file's, and too large for 1e-3."""
    rows = _rows(walk(200, seed=1))
    rows[30] = "29,0.5,1e299"
    data = tmp_path / "s.csv"
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "s.tsz"
    assert_one_line_error(run("compress", model, data, "-o", out, "--max-error", "1e-3"), "s.csv: --max-error 0.001 is",
                          "magnitude 1e+299")
    assert not out.exists()


def test_a_compressed_semicolon_table_with_decimal_commas_keeps_its_infinite_cells(tmp_path, model_file):
    rows = ["t;a;b"] + [f"{i};{0.5 * i:.1f};1,5".replace(".", ",") for i in range(100)]
    rows[40] = "39;-inf;2,5"
    data = tmp_path / "s.csv.gz"
    data.write_bytes(gzip.compress(("# a comment line\n" + "\n".join(rows) + "\n").encode()))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TableWarning)  # nothing is read as missing
        compress_file(model_file, data, tmp_path / "s.tsz", max_error=1e-3)
    decompress_file(tmp_path / "s.tsz", tmp_path / "back.npy", model=model_file)
    back = np.load(tmp_path / "back.npy")
    assert np.isneginf(back[0, 39]) and np.isinf(back).sum() == 1


def test_other_warnings_of_the_reader_are_still_told(tmp_path, model_file):
    rows = ["time,a,b"] + [f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}+01:00,{np.sin(i / 9):.6f},{i % 7}"
                           for i in range(120)]
    data = tmp_path / "s.csv"
    data.write_text("\n".join(rows) + "\n")
    with pytest.warns(TableWarning, match="UTC offset"):
        compress_file(model_file, data, tmp_path / "s.tsz", max_error=1e-3)
    assert (tmp_path / "s.tsz").exists()


@pytest.mark.parametrize("chunk", [100_000, 100])  # read whole, or block by block
@pytest.mark.parametrize(("bad", "fragment"), [(np.nan, "nan (NaN and infinite samples are read as silence)"),
                                               (np.inf, "inf (NaN and infinite samples are read as silence)"),
                                               (5000.0, "5000 (samples beyond 1000 times full scale are clipped")])
def test_float_audio_samples_the_reader_changes_are_refused(tmp_path, model_file, chunk, bad, fragment):
    x = 0.01 * walk(3000, seed=4)
    x[1, 2500] = bad
    soundfile.write(tmp_path / "in.wav", x.T, 8000, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"in\.wav: sample 2500 of channel 1 is " + re.escape(fragment)
                       + ".*; compress would not give it back, so it refuses the file$"):
        compress_file(model_file, tmp_path / "in.wav", tmp_path / "in.tsz", chunk=chunk, block_windows=8)
    assert not (tmp_path / "in.tsz").exists()


def test_the_audio_refusal_holds_whatever_the_warning_filters(tmp_path, model_file):
    x = 0.01 * walk(3000, seed=3)
    x[0, 100] = np.nan
    soundfile.write(tmp_path / "in.wav", x.T, 8000, subtype="FLOAT")
    for action in ("ignore", "error"):
        with warnings.catch_warnings():
            warnings.simplefilter(action)
            with pytest.raises(ValueError, match="refuses the file"):
                compress_file(model_file, tmp_path / "in.wav", tmp_path / "in.tsz")
        assert not (tmp_path / "in.tsz").exists()


def test_infinite_samples_come_back_from_npy_and_into_a_table(tmp_path, model):
    x = walk(300, seed=5)
    x[0, 9], x[1, 19], x[0, 40] = np.inf, -np.inf, np.nan
    np.save(tmp_path / "in.npy", x)
    packed = tmp_path / "in.tsz"
    assert run("compress", model, tmp_path / "in.npy", "-o", packed, "--max-error", "1e-3").exit_code == 0
    assert run("decompress", packed, "-o", tmp_path / "out.npy").exit_code == 0
    y = np.load(tmp_path / "out.npy")
    np.testing.assert_array_equal(y[~np.isfinite(x)], x[~np.isfinite(x)])  # inf, -inf and NaN, where they were
    for name in ("out.csv", "out.tsv.gz"):
        assert run("decompress", packed, "-o", tmp_path / name).exit_code == 0
        table = read_table(tmp_path / name, exact=True).values
        np.testing.assert_array_equal(np.isposinf(table), np.isposinf(x))
        np.testing.assert_array_equal(np.isneginf(table), np.isneginf(x))
        np.testing.assert_array_equal(np.isnan(table), np.isnan(x))


# ------------------------------------------------------------------ the container ends where its data ends
@pytest.fixture()
def packed(tmp_path, model):
    rows = _rows(walk(400, seed=6))
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "s.tsz"
    assert run("compress", model, tmp_path / "s.csv", "-o", out, "--max-error", "1e-3").exit_code == 0
    return out


@pytest.mark.parametrize(("extra", "told"), [(b"garbage", "(7 bytes"), (b"\0", "(1 byte"),
                                             (b"\0" * 5000, "(5000 bytes")])
def test_bytes_after_the_end_are_an_error_and_no_output(tmp_path, packed, extra, told):
    assert run("decompress", packed, "-o", tmp_path / "fine.csv").exit_code == 0
    bad = tmp_path / "bad.tsz"
    bad.write_bytes(packed.read_bytes() + extra)
    for name in ("out.csv", "out.npy", "out.wav"):
        assert_one_line_error(run("decompress", bad, "-o", tmp_path / name), "bad.tsz",
                              f"{told} after the end of the compressed data")
        assert not (tmp_path / name).exists()


def test_decompress_series_refuses_bytes_after_the_end(conv_model):
    data = compress_series(conv_model, walk(100), max_error=1e-3)
    decompress_series(data, conv_model)
    with pytest.raises(ValueError, match=r"^c\.tsz: corrupt \.tsz container \(3 bytes after the end"):
        decompress_series(data + b"abc", conv_model, name="c.tsz")


def test_a_container_cut_anywhere_is_one_line_and_no_output(tmp_path, packed):
    data = packed.read_bytes()
    cut = tmp_path / "cut.tsz"
    for size in (0, 5, 8, 12, 40, len(data) // 2, len(data) - 5, len(data) - 1):
        cut.write_bytes(data[:size])
        result = run("decompress", cut, "-o", tmp_path / "out.npy")
        assert_one_line_error(result, "cut.tsz")
        assert not (tmp_path / "out.npy").exists()


@pytest.mark.parametrize(("subtype", "chunk"), [("PCM_U8", 100_000), ("PCM_16", 100_000), ("ULAW", 100_000),
                                               ("ALAW", 100_000), ("ALAW", 300)])  # read whole, or block by block
def test_the_bound_holds_in_the_audio_file_decompressed_in_its_sample_format(tmp_path, model_file, subtype, chunk):
    # before: the bound held for the decoded values, not for the file written from them: rounded to the source's
    # 8 or 16-bit steps (or mu-law/A-law levels, by libsndfile's truncating coders) the error reached 1.04 (PCM_U8),
    # 1.001 (PCM_16) and 1.56 (mu-law) times the bound
    x = walk(1000, seed=5)
    x = 0.9 * x / np.abs(x).max()
    soundfile.write(tmp_path / "in.wav", x.T, 8000, subtype=subtype)
    source = soundfile.read(tmp_path / "in.wav", always_2d=True)[0]
    for bound in (0.01, 0.03):
        compress_file(model_file, tmp_path / "in.wav", tmp_path / f"{bound}.tsz", max_error=bound, chunk=chunk,
                      block_windows=8, latent_step=0.1)
        decompress_file(tmp_path / f"{bound}.tsz", tmp_path / f"{bound}.wav")
        assert soundfile.info(tmp_path / f"{bound}.wav").subtype == subtype
        assert np.abs(soundfile.read(tmp_path / f"{bound}.wav", always_2d=True)[0] - source).max() <= bound


@pytest.mark.parametrize("output", ["back.flac", "back.ogg"])
def test_a_table_decompressed_into_a_clipping_audio_format_says_so(tmp_path, output):
    # a table's values of 12 and 40 came back as 1.0 in a FLAC, in silence, "every sample within 0.001 of the
    # source" (smooth and impute warn of the same file)
    rows = _rows(0.5 * np.sin(np.arange(400) / 7).reshape(2, 200))
    rows[40] = "39,12.5,-40.0"
    data = tmp_path / "s.csv"
    data.write_text("\n".join(rows) + "\n")
    compress_file(None, data, tmp_path / "s.tsz", max_error=1e-3)
    given = read_table(data, exact=True).values
    beyond = int(np.count_nonzero(np.abs(given) > 1.0))
    assert beyond == 2
    with pytest.warns(AudioWarning, match=rf"{output}: {beyond} sample\(s\) beyond full scale \(1\) clipped by"):
        decompress_file(tmp_path / "s.tsz", tmp_path / output)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)  # floats hold them: nothing to tell
        decompress_file(tmp_path / "s.tsz", tmp_path / "back.wav")


@pytest.mark.parametrize("chunk", [100_000, 50])  # read whole, or the range from a first pass over blocks
def test_a_relative_range_set_by_a_glitch_cell_is_told(tmp_path, chunk):
    """One cell of 1e31 made column a's relative bound 1e28: its other values came back as 0.0, told only by the
    summary's max error. Now a warning names the file and the column; column b, and a file without it, say nothing."""
    x = walk(200, seed=1)
    rows = _rows(x)
    rows[30] = f"29,1e31,{float(x[1, 29])!r}"
    data, clean = tmp_path / "s.csv", tmp_path / "clean.csv"
    data.write_text("\n".join(rows) + "\n")
    clean.write_text("\n".join(_rows(x)) + "\n")
    with pytest.warns(TableWarning, match=r"s\.csv: cells beyond 1e\+30 in magnitude \(up to 1e\+31\) set the range "
                                          r"of a, so the relative bound") as caught:
        compress_file(None, data, tmp_path / "s.tsz", max_error=1e-3, relative=True, chunk=chunk)
    assert len([w for w in caught if "relative bound" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compress_file(None, clean, tmp_path / "clean.tsz", max_error=1e-3, relative=True, chunk=chunk)


def test_compress_series_tells_a_range_set_by_a_glitch_cell_and_not_one_of_huge_values_alone():
    x = walk(100, seed=2)
    x[0, 40] = -1e40
    with pytest.warns(TableWarning, match=r"^values: cells beyond 1e\+30 in magnitude \(up to -1e\+40\) set the "
                                          r"range of channel 0"):
        compress_series(None, x, max_error=1e-3, relative=True)
    with warnings.catch_warnings():  # every value beyond 1e30: the range is theirs, nothing is hidden
        warnings.simplefilter("error")
        compress_series(None, walk(100, seed=2) * 1e35 + 1e37, max_error=1e-3, relative=True)
