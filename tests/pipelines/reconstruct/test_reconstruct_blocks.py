"""Long audio and .npy files are reconstructed in blocks: what the whole series gives, in bounded memory."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.models.modelfile import load_model
from tsae.pipelines.reconstruct.batch import reconstruct_file
from tsae.pipelines.reconstruct.series import reconstruct_series

from memory_helpers import peak_rss_growth, traced_peak

MB = 1 << 20


def gappy(n: int = 1003) -> np.ndarray:
    """Two channels with every kind of gap a block boundary (every 100 samples) can cut."""
    x = np.random.default_rng(0).standard_normal((2, n)).cumsum(axis=1)
    x[0, :30] = np.nan        # a leading gap
    x[1, 95:420] = np.nan     # a gap across three block ends
    x[0, 99:101] = np.nan     # a gap across one
    x[0, 950:] = np.nan       # a trailing gap
    x[1, 500] = -3e31        # beyond 1e30: missing (an infinite sample is refused)
    x[1, 600:700] = np.nan    # a gap that is a whole block
    return x


@pytest.mark.parametrize("block", [100, 7, 1 << 16])
def test_a_npy_in_blocks_is_reconstructed_as_the_whole_series(tmp_path, tiny_model, block) -> None:
    x = gappy()
    np.save(tmp_path / "in.npy", x)
    loaded = load_model(tiny_model)
    row = reconstruct_file(loaded, tmp_path / "in.npy", tmp_path / "out.npy", block=block)
    whole = reconstruct_series(loaded, x)
    got = np.load(tmp_path / "out.npy")
    assert got.shape == x.shape and row["samples"] == x.shape[1] and row["channels"] == 2
    # the same frames and overlap-add; only the network's batches differ (float32 rounding)
    np.testing.assert_allclose(got, whole, rtol=0, atol=1e-5 * np.abs(whole).max())
    finite = np.abs(x) <= 1e30  # the observed samples
    assert row["mse"] == pytest.approx(np.mean((whole[finite] - x[finite]) ** 2), rel=1e-6)


def test_a_model_whose_frames_outweigh_a_block_gets_shorter_blocks(tmp_path, tiny_model, monkeypatch) -> None:
    # a long window every sample (or a hostile header) made frames of window / hop times the block's size
    from tsae.engine import streaming
    from tsae.pipelines.reconstruct import blocks

    x = gappy()
    np.save(tmp_path / "in.npy", x)
    loaded = load_model(tiny_model)
    window, hop = loaded.frame["window"], loaded.frame["hop"]
    monkeypatch.setattr(streaming, "FRAME_BYTES", 4 * 2 * window // hop * 37)  # the frames of 37 samples a block
    assert streaming.frame_block(window, hop, 2, 1 << 16) == 37
    pushed = []
    original = blocks.StreamFramer.push
    monkeypatch.setattr(blocks.StreamFramer, "push", lambda self, chunk: pushed.append(chunk.shape[1]) or
                        original(self, chunk))
    reconstruct_file(loaded, tmp_path / "in.npy", tmp_path / "out.npy", block=100)
    assert max(pushed) == 37
    whole = reconstruct_series(loaded, x)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), whole, rtol=0, atol=1e-5 * np.abs(whole).max())


def test_a_long_wav_is_reconstructed_as_the_whole_series(tmp_path, tiny_model) -> None:
    soundfile = pytest.importorskip("soundfile")
    x = 0.1 * np.sin(np.arange(2 * 5000).reshape(2, 5000) / 37.0)
    soundfile.write(tmp_path / "in.wav", x.T, 8000, subtype="FLOAT")
    loaded = load_model(tiny_model)
    reconstruct_file(loaded, tmp_path / "in.wav", tmp_path / "out.wav", block=999)
    got, rate = soundfile.read(tmp_path / "out.wav", always_2d=True)
    assert rate == 8000 and got.shape == (5000, 2)
    whole = reconstruct_series(loaded, soundfile.read(tmp_path / "in.wav", always_2d=True)[0].T)
    np.testing.assert_allclose(got.T, whole, rtol=0, atol=1e-5 * np.abs(whole).max())


def test_a_channel_with_no_value_fails_in_one_line_with_no_output(tmp_path, tiny_model) -> None:
    x = gappy()
    x[1] = np.nan
    np.save(tmp_path / "in.npy", x)
    with pytest.raises(ValueError) as info:
        reconstruct_file(tiny_model, tmp_path / "in.npy", tmp_path / "out.npy", block=100)
    assert str(info.value) == f"{tmp_path / 'in.npy'}: a channel has no finite values (channel 1)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]


@pytest.mark.slow
def test_a_long_npy_is_reconstructed_in_bounded_memory(tmp_path, tiny_model) -> None:
    """A two-channel 2**22-sample float32 ``.npy`` (64 MB as float64, more as frames): never held whole, by
    ``reconstruct`` or ``encode``."""
    n = 1 << 22
    src = tmp_path / "long.npy"
    data = np.lib.format.open_memmap(src, mode="w+", dtype=np.float32, shape=(2, n))
    data[:] = np.sin(np.arange(n) / 100)[None]
    data[1, 1000:5000] = np.nan
    data.flush()
    del data
    np.save(tmp_path / "warm.npy", np.zeros((2, 1 << 17), np.float32))
    reconstruct_file(tiny_model, tmp_path / "warm.npy", tmp_path / "warm.out.npy")  # imports, first allocations
    out = tmp_path / "out.npy"
    growth = peak_rss_growth(lambda: CliRunner().invoke(cli, ["reconstruct", str(tiny_model), str(src), "-o",
                                                              str(out), "-q"], catch_exceptions=False))
    assert growth < 48 * MB, growth / MB
    got = np.load(out, mmap_mode="r")
    assert got.shape == (2, n) and np.isfinite(got[:, -1000:]).all()
    codes = tmp_path / "codes.npy"
    growth = peak_rss_growth(lambda: CliRunner().invoke(cli, ["encode", str(tiny_model), str(src), "-o",
                                                              str(codes), "-q"], catch_exceptions=False))
    assert growth < 48 * MB, growth / MB
    assert np.load(codes, mmap_mode="r").shape[0] == (n - 32) // 16 + 1  # window 32, hop 16


def test_a_long_npy_is_encoded_in_blocks_as_the_whole_series(tmp_path, tiny_model) -> None:
    from tsae.pipelines.reconstruct.batch import encode_file
    from tsae.pipelines.reconstruct.series import encode_series

    x = gappy()
    np.save(tmp_path / "in.npy", x)
    loaded = load_model(tiny_model)
    codes = encode_file(loaded, tmp_path / "in.npy", tmp_path / "codes.npy", block=100)
    whole = encode_series(loaded, x)
    stored = np.load(tmp_path / "codes.npy")
    assert stored.dtype == np.float32 and stored.shape == whole.shape == codes.shape
    np.testing.assert_allclose(stored, whole, rtol=0, atol=1e-5 * np.abs(whole).max())
    result = CliRunner().invoke(cli, ["encode", str(tiny_model), str(tmp_path / "in.npy"), "-o",
                                      str(tmp_path / "cli.npy"), "-q"])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "cli.npy"), whole)  # one block: exactly the whole series


def test_one_long_file_shows_its_progress_in_samples(tmp_path, tiny_model, capsys) -> None:
    from tsae.pipelines.reconstruct.batch import reconstruct

    np.save(tmp_path / "in.npy", np.zeros((2, 70000)))
    reconstruct(tiny_model, [tmp_path / "in.npy"], tmp_path / "out.npy", progress=True)
    assert "70.0k/70.0k" in capsys.readouterr().err
    reconstruct(tiny_model, [tmp_path / "in.npy"], tmp_path / "quiet.npy", quiet=True)
    assert capsys.readouterr().err == ""


def test_the_grouped_gpu_path_sends_a_long_file_through_blocks(tmp_path, tiny_model, monkeypatch) -> None:
    """Run on the CPU: a long .npy beside short ones is reconstructed on its own, in blocks, never read whole."""
    import tsae.pipelines.reconstruct.batch as batch
    import tsae.pipelines.reconstruct.one_file as one_file

    np.save(tmp_path / "long.npy", np.sin(np.arange(2 * 70000).reshape(2, 70000) / 50.0))
    np.save(tmp_path / "short.npy", np.zeros((2, 500)))
    read_whole = []
    real_read = batch.read_series
    monkeypatch.setattr(batch, "read_series", lambda path, **options: read_whole.append(str(path)) or
                        real_read(path, **options))
    monkeypatch.setattr(one_file, "read_series", lambda path, **options: read_whole.append(str(path)) or
                        real_read(path, **options))
    rows: list = []
    todo = [(str(tmp_path / n), str(tmp_path / "out" / n)) for n in ("long.npy", "short.npy")]
    batch._grouped_gpu(load_model(tiny_model), todo, 64, rows.append, group_frames=50)
    assert [r["status"] for r in rows] == ["ok", "ok"] and read_whole == [str(tmp_path / "short.npy")]
    assert np.load(tmp_path / "out" / "long.npy").shape == (2, 70000)


def test_a_file_whose_blocks_end_on_observed_samples_is_read_once(tmp_path, tiny_model, monkeypatch) -> None:
    import tsae.pipelines.reconstruct.blocks as blocks

    scans: list = []
    real = blocks._right_anchors
    monkeypatch.setattr(blocks, "_right_anchors", lambda source, block: scans.append(block) or real(source, block))
    x = gappy()
    x[:, 95:105] = 0.0  # no gap across the block end at 100 (the one at 99-101 is gone)
    x[1, 95:420] = 0.0
    x[1, 600:700] = 0.0
    x[0, 950:1001] = 0.0  # the trailing gap starts in the last block
    np.save(tmp_path / "inner.npy", x)
    reconstruct_file(tiny_model, tmp_path / "inner.npy", tmp_path / "out.npy", block=100)
    assert scans == []  # its gaps all end inside their blocks (the leading and trailing ones too)
    np.save(tmp_path / "across.npy", gappy())
    reconstruct_file(tiny_model, tmp_path / "across.npy", tmp_path / "out2.npy", block=100)
    assert scans == [100]


def test_one_long_csv_shows_its_progress_in_samples(tmp_path, tiny_model, capsys, monkeypatch) -> None:
    # before: a table is read whole, and its reconstruction showed no bar
    import tsae.pipelines.progress as progress
    from tsae.pipelines.reconstruct.batch import reconstruct

    x = np.random.default_rng(1).standard_normal((70000, 2))
    (tmp_path / "in.csv").write_text("a,b\n" + "\n".join(f"{a:.3f},{b:.3f}" for a, b in x) + "\n")
    reconstruct(tiny_model, [tmp_path / "in.csv"], tmp_path / "out.csv", progress=True)
    assert "70.0k/70.0k" in capsys.readouterr().err
    reconstruct(tiny_model, [tmp_path / "in.csv"], tmp_path / "quiet.csv", quiet=True)
    assert capsys.readouterr().err == ""
    (tmp_path / "short.csv").write_text("a,b\n" + "\n".join(f"{a:.3f},{b:.3f}" for a, b in x[:500]) + "\n")
    reconstruct(tiny_model, [tmp_path / "short.csv"], tmp_path / "short.out.csv", progress=True)
    assert capsys.readouterr().err == ""  # a file of one block is quick: no bar
    monkeypatch.setattr(progress, "READ_BAR_DELAY", 0.0)  # the read before the work: a row counter (a second in)
    reconstruct(tiny_model, [tmp_path / "short.csv"], tmp_path / "again.csv", progress=True)
    assert "read short.csv: " in capsys.readouterr().err


def test_told_progress_the_series_is_reconstructed_the_same(tiny_model) -> None:
    loaded = load_model(tiny_model)
    x = gappy(5000)
    told: list[int] = []
    np.testing.assert_array_equal(reconstruct_series(loaded, x, batch_size=16, advance=told.append),
                                  reconstruct_series(loaded, x, batch_size=16))
    assert len(told) > 1 and sum(told) == 5000


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_encoding_one_long_file_shows_its_progress_in_samples(tmp_path, tiny_model, capsys, suffix) -> None:
    # before: tsae encode showed no bar, however long the file (a .npy in blocks, a table read whole)
    from tsae.pipelines.reconstruct.batch import encode_file

    x = np.random.default_rng(2).standard_normal((2, 70000))
    src = tmp_path / f"in{suffix}"
    if suffix == ".npy":
        np.save(src, x)
    else:
        src.write_text("a,b\n" + "\n".join(f"{a:.3f},{b:.3f}" for a, b in x.T) + "\n")
    shown = encode_file(tiny_model, src, tmp_path / "shown.npy", progress=True)
    assert "70.0k/70.0k" in capsys.readouterr().err
    quiet = encode_file(tiny_model, src, tmp_path / "quiet.npy", quiet=True)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(shown, quiet)  # the bar changes nothing
    short = tmp_path / "short.npy"
    np.save(short, x[:, :500])
    encode_file(tiny_model, short, tmp_path / "short.codes.npy", progress=True)
    assert capsys.readouterr().err == ""  # a file of one block is quick: no bar


def test_the_error_of_a_series_read_whole_needs_no_copies_of_it() -> None:
    # `reconstruct m.tsae long.csv` (3 million rows, 4 columns: 96 MB of float64) peaked at 1.6 GB in the error's
    # temporaries: a NaN mask, values[finite], recon[finite], their difference and its square, each series-sized
    from tsae.pipelines.reconstruct.one_file import _errors

    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 1_000_000))
    values[1, ::7] = np.nan
    values[2, 5] = 1e31  # beyond 1e30: a gap, left out
    recon = values + 0.5
    recon[1, ::7] = 3.0
    (rmse, mse), peak = traced_peak(lambda: _errors(values, recon))
    assert mse == pytest.approx(0.25) and rmse == pytest.approx(0.5)
    assert peak < values.nbytes / 4, f"peak {peak / 1e6:.0f} MB for {values.nbytes / 1e6:.0f} MB of values"
    assert np.isnan(_errors(np.full((2, 10), np.nan), np.zeros((2, 10)))[0])


def test_a_long_table_is_reconstructed_in_blocks_as_its_npy_twin(tmp_path, tiny_model) -> None:
    # a table is read whole, but its reconstruction framed the whole series at once: `reconstruct m.tsae long.csv`
    # (3 million rows of 4 columns) peaked at 1.6 GB where its .npy twin took 0.43 GB
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(size=(2, 400_000)), axis=1)
    x[0, 40_000:40_300] = np.nan  # a gap across a block's end: the blocks' second pass over the table
    x[1, 3] = np.nan
    table = tmp_path / "t.csv"
    table.write_text("a,b\n" + "".join(f"{a:.17g},{b:.17g}\n".replace("nan", "") for a, b in x.T))
    np.save(tmp_path / "t.npy", x)
    model = load_model(tiny_model)
    rows = [reconstruct_file(model, tmp_path / f"t{s}", tmp_path / f"out{s}", block=1 << 15) for s in (".csv", ".npy")]
    got = np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1).T
    np.testing.assert_allclose(got, np.load(tmp_path / "out.npy"), rtol=1e-9, atol=1e-9)
    assert rows[0]["rmse"] == pytest.approx(rows[1]["rmse"], rel=1e-9)
    # the work is a block's: far less than the whole series framed (400,000 / 16 frames of 2 x 32 samples, and more)
    _, peak = traced_peak(lambda: reconstruct_file(model, tmp_path / "t.csv", tmp_path / "again.csv", block=1 << 15))
    whole = x.nbytes
    assert peak < 6 * whole, f"peak {peak / 1e6:.1f} MB for {whole / 1e6:.1f} MB of series"


def test_a_long_table_is_encoded_in_blocks_as_its_npy_twin(tmp_path, tiny_model) -> None:
    # as reconstruct: `encode m.tsae long.csv` framed the whole table at once (1.15 GB for 3 million rows, 0.41 GB
    # for its .npy twin)
    from tsae.pipelines.reconstruct.batch import encode_file

    rng = np.random.default_rng(2)
    x = np.cumsum(rng.normal(size=(2, 400_000)), axis=1)
    x[1, 40_000:40_300] = np.nan
    (tmp_path / "t.csv").write_text("a,b\n" + "".join(f"{a:.17g},{b:.17g}\n".replace("nan", "") for a, b in x.T))
    np.save(tmp_path / "t.npy", x)
    model = load_model(tiny_model)
    encode_file(model, tmp_path / "t.npy", tmp_path / "codes_npy.npy", block=1 << 15, quiet=True)
    _, peak = traced_peak(lambda: encode_file(model, tmp_path / "t.csv", tmp_path / "codes_csv.npy", block=1 << 15,
                                              quiet=True))
    np.testing.assert_allclose(np.load(tmp_path / "codes_csv.npy"), np.load(tmp_path / "codes_npy.npy"),
                               rtol=1e-5, atol=1e-5)
    assert peak < 4 * x.nbytes, f"peak {peak / 1e6:.1f} MB for {x.nbytes / 1e6:.1f} MB of series"


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".csv.gz"])
def test_a_long_npy_is_reconstructed_to_a_table_in_blocks_never_read_whole(tmp_path, tiny_model, monkeypatch,
                                                                           suffix) -> None:
    # a .npy going to a table was read whole and its reconstruction held whole to be written: 3 million samples of
    # 4 channels peaked at 600 MB, 420 MB going block by block
    import tsae.io.table_write as table_write
    import tsae.pipelines.reconstruct.one_file as one_file
    from tsae.io.series import write_series

    x = gappy()
    np.save(tmp_path / "in.npy", x)
    loaded = load_model(tiny_model)
    reconstruct_file(loaded, tmp_path / "in.npy", tmp_path / "out.npy", block=100)  # float64, as the input
    monkeypatch.setattr(one_file, "read_series", lambda *args, **kwargs: pytest.fail("read whole"))
    monkeypatch.setattr(table_write, "WRITE_ROWS", 7)
    row = reconstruct_file(loaded, tmp_path / "in.npy", tmp_path / f"out{suffix}", block=100)
    assert row["samples"] == x.shape[1]
    write_series(tmp_path / f"whole{suffix}", np.load(tmp_path / "out.npy"), None, {"kind": "array"})
    assert (tmp_path / f"out{suffix}").read_bytes() == (tmp_path / f"whole{suffix}").read_bytes()
