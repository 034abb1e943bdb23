"""compress/decompress files in blocks: the same container as from the whole series, the same output, bounded memory."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tsae.io.series import save_npy, write_series
from tsae.models.modelfile import load_model
from tsae.pipelines.compress import compress_file, decompress_file, decompress_series

from compress_helpers import walk
from memory_helpers import peak_rss_growth

MB = 1 << 20


@pytest.fixture()
def long_npy(tmp_path):
    """A two-channel ``.npy`` of 3000 samples (many 100-sample chunks) with a NaN and an inf."""
    values = walk(3000, seed=3)
    values[0, 1234] = np.nan
    values[1, 77] = np.inf
    path = tmp_path / "long.npy"
    np.save(path, values.astype(np.float32))
    return path


@pytest.mark.parametrize("options", [{"max_error": 1e-3, "relative": True}, {"max_error": [0.01, 0.02]}, {}])
def test_the_container_is_the_same_read_whole_or_in_blocks(tmp_path, long_npy, model_file, options) -> None:
    whole = compress_file(model_file, long_npy, tmp_path / "whole.tsz", block_windows=8, **options)
    parts = compress_file(model_file, long_npy, tmp_path / "parts.tsz", block_windows=8, chunk=100, **options)
    assert (tmp_path / "parts.tsz").read_bytes() == (tmp_path / "whole.tsz").read_bytes()
    assert parts == whole
    assert parts["samples"] == 3000


def test_decompressing_in_blocks_writes_the_whole_series(tmp_path, long_npy, model_file) -> None:
    container = tmp_path / "long.tsz"
    compress_file(model_file, long_npy, container, block_windows=8, max_error=1e-3, relative=True, chunk=100)
    info = decompress_file(container, tmp_path / "out.npy")
    assert info["samples"] == 3000
    expected = decompress_series(container.read_bytes(), load_model(model_file))
    save_npy(tmp_path / "expected.npy", expected)
    assert (tmp_path / "out.npy").read_bytes() == (tmp_path / "expected.npy").read_bytes()
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    original = np.load(long_npy).astype(np.float64)
    assert np.array_equal(np.isnan(expected), np.isnan(original))
    for got, want in zip(expected, original, strict=True):
        finite = np.isfinite(want)
        assert np.abs(got[finite] - want[finite]).max() <= 1e-3 * np.ptp(want[finite]) * (1 + 1e-9)


def test_decompressing_to_audio_in_blocks_writes_what_the_whole_series_wrote(tmp_path, model_file) -> None:
    soundfile = pytest.importorskip("soundfile")
    values = 0.1 * np.sin(np.arange(2 * 2000).reshape(2, 2000) / 50)
    soundfile.write(tmp_path / "in.wav", values.T, 8000, subtype="FLOAT")
    compress_file(model_file, tmp_path / "in.wav", tmp_path / "in.tsz", block_windows=8, max_error=1e-4, chunk=300)
    decompress_file(tmp_path / "in.tsz", tmp_path / "out.wav")
    out, rate = soundfile.read(tmp_path / "out.wav", always_2d=True)
    assert rate == 8000
    expected = decompress_series((tmp_path / "in.tsz").read_bytes(), load_model(model_file))
    assert soundfile.info(tmp_path / "out.wav").subtype == "FLOAT"  # the source's sample format
    write_series(tmp_path / "expected.wav", expected, 8000, {"kind": "audio", "subtype": "FLOAT"})
    np.testing.assert_array_equal(out, soundfile.read(tmp_path / "expected.wav", always_2d=True)[0])
    np.testing.assert_allclose(out.T, values, atol=1e-4)


@pytest.mark.parametrize("subtype", ["PCM_16", "DOUBLE"])
def test_audio_decompressed_to_audio_keeps_the_bound_in_the_file(tmp_path, model_file, subtype: str) -> None:
    # written as PCM_16 whatever the source, a DOUBLE source missed a 1e-9 bound by 3e-5 and a PCM_16 one by a step
    soundfile = pytest.importorskip("soundfile")
    values = 0.3 * np.sin(np.arange(2 * 1500).reshape(2, 1500) / 7) + 0.01 * np.cos(np.arange(1500) / 3)
    soundfile.write(tmp_path / "in.wav", values.T, 8000, subtype=subtype)
    source = soundfile.read(tmp_path / "in.wav", dtype="float64")[0]
    compress_file(model_file, tmp_path / "in.wav", tmp_path / "in.tsz", max_error=1e-9)
    decompress_file(tmp_path / "in.tsz", tmp_path / "out.wav")
    assert soundfile.info(tmp_path / "out.wav").subtype == subtype
    error = np.abs(soundfile.read(tmp_path / "out.wav", dtype="float64")[0] - source).max()
    assert error <= 1e-9 if subtype == "DOUBLE" else error == 0.0


def test_a_regular_time_column_comes_back_and_an_irregular_one_too(tmp_path, model_file) -> None:
    rows = ["time,a,b"] + [f"2024-01-01T00:00:{2 * i:02d},{np.sin(i / 3):.6f},{np.cos(i / 5):.6f}" for i in range(30)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    compress_file(model_file, tmp_path / "t.csv", tmp_path / "t.tsz", max_error=1e-3)
    decompress_file(tmp_path / "t.tsz", tmp_path / "back.csv")
    back = (tmp_path / "back.csv").read_text().splitlines()
    assert back[0] == "time,a,b" and back[1].startswith("2024-01-01T00:00:00") and back[30].startswith(
        "2024-01-01T00:00:58")
    rows[5] = rows[5].replace(":08,", ":09,")
    (tmp_path / "u.csv").write_text("\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it was "not evenly spaced, so the container does not store it"
        compress_file(model_file, tmp_path / "u.csv", tmp_path / "u.tsz", max_error=1e-3)
    decompress_file(tmp_path / "u.tsz", tmp_path / "back.csv")
    back = (tmp_path / "back.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in back[1:]] == [row.split(",")[0] for row in rows[1:]]


@pytest.mark.parametrize("times", [[0, 1, 3, 2, 4], [0, 1, 2, 2, 3], [0, 1, 2, 3, 1e6]])
def test_a_time_column_out_of_order_comes_back_in_file_order(tmp_path, model_file, times) -> None:
    # steps back, repeated times and gaps: compress dropped such a column ("not evenly spaced"); it is kept now
    n = 40
    stamps = [*times, *(times[-1] + 1 + np.arange(n - len(times)))]
    rows = ["time,a,b"] + [f"{t:g},{np.sin(i / 3):.6f},{np.cos(i / 5):.6f}" for i, t in enumerate(stamps)]
    (tmp_path / "o.csv").write_text("\n".join(rows) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compress_file(model_file, tmp_path / "o.csv", tmp_path / "o.tsz", max_error=1e-3)
    assert not [w for w in caught if "time column" in str(w.message)]
    decompress_file(tmp_path / "o.tsz", tmp_path / "back.csv")
    back = (tmp_path / "back.csv").read_text().splitlines()
    assert [float(row.split(",")[0]) for row in back[1:]] == [float(row.split(",")[0]) for row in rows[1:]]


@pytest.mark.slow
def test_a_long_npy_is_compressed_and_decompressed_in_bounded_memory(tmp_path, model_file) -> None:
    """A two-channel 2**22-sample float32 ``.npy`` (64 MB as float64): neither job holds a float64 copy of it."""
    n = 1 << 22
    src = tmp_path / "long.npy"
    data = np.lib.format.open_memmap(src, mode="w+", dtype=np.float32, shape=(2, n))
    data[:] = np.sin(np.arange(n) / 100)[None]
    data.flush()
    del data
    np.save(tmp_path / "warm.npy", np.zeros((2, 1000), np.float32))
    compress_file(model_file, tmp_path / "warm.npy", tmp_path / "warm.tsz")  # imports, first-call allocations
    decompress_file(tmp_path / "warm.tsz", tmp_path / "warm.out.npy")
    options = {"max_error": 1e-3, "relative": True, "block_windows": 1024}
    info: dict = {}
    growth = peak_rss_growth(lambda: info.update(compress_file(model_file, src, tmp_path / "long.tsz", **options)))
    assert info["samples"] == n
    assert growth < 32 * MB, growth / MB
    growth = peak_rss_growth(lambda: info.update(decompress_file(tmp_path / "long.tsz", tmp_path / "out.npy")))
    assert info["samples"] == n
    assert growth < 32 * MB, growth / MB
    out = np.load(tmp_path / "out.npy", mmap_mode="r")
    assert out.shape == (2, n)
    assert np.abs(out[:, -1000:] - np.load(src, mmap_mode="r")[:, -1000:]).max() <= 2e-3 * (1 + 1e-6)


@pytest.mark.parametrize("suffix", [".npy", ".wav"])
def test_a_damaged_container_leaves_no_block_output(tmp_path, model_file, suffix) -> None:
    write_series(tmp_path / f"in{suffix}", 0.1 * walk(3000) / 60, 8000, {"kind": "table"})
    container = tmp_path / "long.tsz"
    compress_file(model_file, tmp_path / f"in{suffix}", container, block_windows=8, chunk=100)
    data = container.read_bytes()
    flipped = data[:-30] + bytes([data[-30] ^ 0xFF]) + data[-29:]  # flipped, not zeroed: the byte may be 0
    for name, damaged in (("short.tsz", data[: len(data) // 2]), ("flip.tsz", flipped)):
        (tmp_path / name).write_bytes(damaged)
        with pytest.raises(ValueError, match=name):
            decompress_file(tmp_path / name, tmp_path / f"out{suffix}")
        assert not (tmp_path / f"out{suffix}").exists()


def test_compress_and_decompress_show_their_progress_in_samples(tmp_path, model_file, capsys) -> None:
    np.save(tmp_path / "x.npy", np.sin(np.arange(2 * 3000).reshape(2, 3000) / 20))
    compress_file(model_file, tmp_path / "x.npy", tmp_path / "x.tsz", max_error=1e-2, chunk=1000, progress=True)
    assert "compress" in capsys.readouterr().err
    decompress_file(tmp_path / "x.tsz", tmp_path / "y.npy", progress=True)
    err = capsys.readouterr().err
    assert "decompress" in err and "/3.00k" in err  # samples per channel
    compress_file(model_file, tmp_path / "x.npy", tmp_path / "z.tsz", max_error=1e-2)
    assert capsys.readouterr().err == ""
