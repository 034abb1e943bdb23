"""smooth/impute files longer than one block: processed block by block, exact under one block, no seams."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from tsae.io.blocks import open_source
from tsae.io.series import read_series
from tsae.pipelines.smooth import impute, impute_file, smooth, smooth_file
from tsae.pipelines.smooth.blind_spot import BlindSpot
from tsae.pipelines.smooth.blocks import gap_held_whole, smooth_blocks
from tsae.pipelines.smooth.smoother import self_supervised

from smooth_helpers import peak_rss_growth, rmse

MB = 1 << 20


def _steps_and_sine(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n)
    truth = np.sin(2 * np.pi * t / 300) + 0.5 * np.sign(np.sin(2 * np.pi * t / 7000))
    return truth, truth + 0.2 * np.random.default_rng(seed).normal(size=n)


def _run_blocks(path, **kwargs) -> np.ndarray:
    source = open_source(path)
    parts: list[np.ndarray] = []
    smooth_blocks(source, parts.append, lambda done: None, **kwargs)
    return np.concatenate(parts, axis=1)


def _two_channels(tmp_path, n: int):
    _, noisy = _steps_and_sine(n)
    values = np.stack([noisy, -noisy[::-1]])
    values[1, 700:740] = np.nan
    np.save(tmp_path / "x.npy", values)
    return tmp_path / "x.npy", values


def test_a_file_within_one_block_is_exactly_smooth(tmp_path) -> None:
    path, values = _two_channels(tmp_path, 2000)
    smooth_file(path, tmp_path / "s.npy", block=2000, steps=30)  # a short training keeps the test fast
    assert np.array_equal(np.load(tmp_path / "s.npy"), smooth(values, steps=30), equal_nan=True)


@pytest.mark.parametrize("spikes", ["keep", "smooth"])
def test_the_block_path_takes_the_spikes_choice(tmp_path, spikes) -> None:
    path, values = _two_channels(tmp_path, 2000)
    values[0, 300] += 50.0  # a lone sample: kept by "keep", smoothed over by "smooth"
    np.save(path, values)
    blocks = _run_blocks(path, block=2000, steps=0, spikes=spikes)
    whole = smooth(values, steps=0, spikes=spikes)
    assert np.allclose(blocks, whole, rtol=0, atol=1e-9, equal_nan=True)
    assert (whole[0, 300] > 40.0) == (spikes == "keep")


def test_a_file_within_one_block_is_exactly_impute(tmp_path) -> None:
    path, values = _two_channels(tmp_path, 2000)
    impute_file(path, tmp_path / "i.npy", block=2000)
    assert np.array_equal(np.load(tmp_path / "i.npy"), impute(values))


def test_a_wav_within_one_block_is_exactly_smooth(tmp_path) -> None:
    import soundfile

    _, noisy = _steps_and_sine(2000)
    soundfile.write(tmp_path / "x.wav", (0.3 * noisy).astype(np.float32), 8000, subtype="FLOAT")
    smooth_file(tmp_path / "x.wav", tmp_path / "s.wav", steps=30)
    values, _, _ = read_series(tmp_path / "x.wav")
    out, rate, meta = read_series(tmp_path / "s.wav")
    assert rate == 8000 and meta["subtype"] == "FLOAT"
    assert np.array_equal(out, smooth(values, steps=30).astype(np.float32))


def test_the_predictor_reads_no_further_than_its_reach() -> None:
    """What makes the seams invisible: a block read with ``reach`` samples of context predicts its own part
    exactly as the whole series does (here with a blind-spot network too)."""
    from tsae.plugins import create_model

    _, noisy = _steps_and_sine(6000)
    z = ((noisy - noisy.mean()) / noisy.std())[None]
    z[0, [1500, 2000 - 40, 2004, 2990, 3020]] = [80.0, -300.0, 50.0, 1e4, -70.0]  # glitches: clipped, then replaced
    _, predictor = self_supervised(z, edge_guard=True, seed=0, max_seconds=None, steps=0)
    predictor.second = BlindSpot(predictor.first.taps, create_model("blind_spot", channels=1, window=64).eval())
    whole = predictor(z)
    reach = predictor.reach
    a, s, e, b = 2000 - reach, 2000, 3000, 3000 + reach
    assert np.allclose(predictor(z[:, a:b])[:, s - a: e - a], whole[:, s:e], rtol=0, atol=1e-6)
    assert not np.allclose(predictor(z[:, s:b])[:, :10], whole[:, s: s + 10], rtol=0, atol=1e-6)


def test_the_predictor_reads_no_further_than_its_reach_with_heavy_tailed_noise() -> None:
    """Heavy-tailed noise adds robust refits to the predictor's chain; its reach counts them."""
    rng = np.random.default_rng(1)
    t = np.arange(6000)
    noisy = np.sin(2 * np.pi * t / 300) + 0.2 * rng.standard_t(2, size=len(t))
    z = ((noisy - np.median(noisy)) / noisy.std())[None]
    _, predictor = self_supervised(z, edge_guard=True, seed=0, max_seconds=None, steps=0)
    assert len(predictor.refits) > 0
    whole = predictor(z)
    reach = predictor.reach
    a, s, e, b = 2000 - reach, 2000, 3000, 3000 + reach
    assert np.allclose(predictor(z[:, a:b])[:, s - a: e - a], whole[:, s:e], rtol=0, atol=1e-9)
    short = a + 2 * reach // 3  # less context than the chain of refits reads
    assert not np.allclose(predictor(z[:, short:b])[:, s - short: s - short + 10], whole[:, s: s + 10],
                           rtol=0, atol=1e-9)


def test_heavy_tailed_noise_blocks_join_as_one(tmp_path) -> None:
    rng = np.random.default_rng(2)
    t = np.arange(30_000)
    noisy = np.sin(2 * np.pi * t / 300) + 0.2 * rng.standard_t(3, size=len(t))
    np.save(tmp_path / "x.npy", noisy)
    one = _run_blocks(tmp_path / "x.npy", block=30_000, learn=8192, steps=0)[0]
    many = _run_blocks(tmp_path / "x.npy", block=2999, learn=8192, steps=0)[0]
    assert np.allclose(many, one, rtol=0, atol=1e-9)
    np.save(tmp_path / "short.npy", noisy[:3000])
    assert np.allclose(_run_blocks(tmp_path / "short.npy", block=3000, steps=0)[0], smooth(noisy[:3000], steps=0),
                       rtol=0, atol=1e-12)  # within one block, exactly smooth(): the same gain and threshold


def test_blocks_join_without_seams(tmp_path) -> None:
    truth, noisy = _steps_and_sine(40_000)
    np.save(tmp_path / "x.npy", noisy)
    # trained without the 10 s budget: on a loaded machine the two trainings could stop at different epochs
    one = _run_blocks(tmp_path / "x.npy", block=40_000, learn=8192, max_seconds=None)[0]
    many = _run_blocks(tmp_path / "x.npy", block=2999, learn=8192, max_seconds=None)[0]
    assert np.allclose(many, one, rtol=0, atol=1e-9)  # the same smoother, whatever the block size
    err = np.abs(many - truth)
    seams = np.concatenate([err[s - 50: s + 50] for s in range(2999, 40_000, 2999)])
    assert np.median(seams) < 1.3 * np.median(err)  # medians: a seam near a step has the step's error


def test_blocks_with_a_trained_model_keep_its_frame_grid(tmp_path) -> None:
    from tsae.models.modelfile import load_model, save_model
    from tsae.plugins import create_model

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    save_model(tmp_path / "m.tsae", create_model("conv1d", 1, 32, depth=1, hidden=4, latent=4),
               frame={"window": 32, "hop": 16, "window_fn": None})
    model = load_model(tmp_path / "m.tsae", device="cpu")
    _, noisy = _steps_and_sine(10_000)
    np.save(tmp_path / "x.npy", noisy)
    one = _run_blocks(tmp_path / "x.npy", block=10_000, learn=10_000, model=model)
    many = _run_blocks(tmp_path / "x.npy", block=1000, learn=10_000, model=model)
    assert np.allclose(many, one, rtol=0, atol=1e-6)
    assert not np.allclose(one, noisy, rtol=0, atol=1e-3)


def test_a_long_file_is_smoothed_about_as_well_as_whole(tmp_path) -> None:
    truth, noisy = _steps_and_sine(40_000)
    np.save(tmp_path / "x.npy", noisy)
    smooth_file(tmp_path / "x.npy", tmp_path / "whole.npy", steps=0)
    info = smooth_file(tmp_path / "x.npy", tmp_path / "blocks.npy", block=8192, steps=0)
    assert (info["samples"], info["channels"]) == (40_000, 1)
    whole, blocks = np.load(tmp_path / "whole.npy"), np.load(tmp_path / "blocks.npy")
    assert blocks.shape == whole.shape == noisy.shape
    assert rmse(blocks, truth) < 1.1 * rmse(whole, truth) < 0.3 * rmse(noisy, truth)


def test_gaps_across_a_block_boundary_are_filled(tmp_path) -> None:
    t = np.arange(10_000)
    truth = np.stack([np.sin(2 * np.pi * t / 200), np.cos(2 * np.pi * t / 330)])
    values = truth + 0.01 * np.random.default_rng(2).normal(size=truth.shape)
    values[0, 2000:2150] = np.nan  # across the first block end (2048)
    values[1, 2100:2200] = np.nan  # overlapping it in the other channel
    values[0, 6100:6180] = np.nan  # across the third (6144)
    missing = np.isnan(values)
    np.save(tmp_path / "x.npy", values)
    info = impute_file(tmp_path / "x.npy", tmp_path / "filled.npy", block=2048, rank=2)  # rank: fast
    out = np.load(tmp_path / "filled.npy")
    assert info["missing"] == int(missing.sum())
    assert not np.isnan(out).any()
    assert np.array_equal(out[~missing], values[~missing])
    assert rmse(out[missing], truth[missing]) < 0.1  # a straight line across these gaps is off by ~0.5
    # the filled gap is continuous where the block boundary would have cut it
    assert np.abs(np.diff(out[0, 1999:2151])).max() < 0.06


def _long_wav(path, n: int, rate: int = 48_000) -> None:
    """A mono PCM_16 WAV of ``n`` samples, written in blocks (never whole in memory)."""
    import soundfile

    t = np.arange(1 << 14)
    with soundfile.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as handle:
        for start in range(0, n, t.size):
            part = 0.5 * np.sin(2 * np.pi * t / 480) + 0.05 * np.random.default_rng(start).normal(size=t.size)
            handle.write(part[: n - start])


@pytest.mark.parametrize("job", [smooth_file, impute_file])
def test_a_long_wav_goes_block_by_block_in_bounded_memory(tmp_path, job) -> None:
    """A 2**23-sample WAV (64 MB as float64) processed with peak memory well under one float64 copy of it."""
    import soundfile

    options = {"steps": 0} if job is smooth_file else {}
    n = 1 << 23
    _long_wav(tmp_path / "warm.wav", 3 << 12)
    job(tmp_path / "warm.wav", tmp_path / "warm.out.wav", block=1 << 12, quiet=True, **options)  # imports, numba
    _long_wav(tmp_path / "long.wav", n)
    info: dict = {}
    growth = peak_rss_growth(lambda: info.update(job(tmp_path / "long.wav", tmp_path / "out.wav", block=1 << 15,
                                                     quiet=True, **options)))
    assert info["samples"] == n
    assert soundfile.info(tmp_path / "out.wav").frames == n
    assert growth < 40 * MB, growth / MB


@pytest.mark.slow
def test_a_long_npy_with_gaps_is_filled_in_bounded_memory(tmp_path) -> None:
    """A 2**23-sample float32 ``.npy`` (64 MB as float64) with gaps, filled with peak memory under one float64 copy."""
    n = 1 << 23
    src = tmp_path / "long.npy"
    data = np.lib.format.open_memmap(src, mode="w+", dtype=np.float32, shape=(n,))
    for start in range(0, n, 1 << 20):
        data[start: start + (1 << 20)] = np.sin(2 * np.pi * np.arange(start, start + (1 << 20)) / 300)
    gaps = [(1000, 1100), (3 << 20, (3 << 20) + 20), (n - 50, n)]
    for a, b in gaps:
        data[a:b] = np.nan
    data.flush()
    del data
    options = {"block": 1 << 15, "window": 32, "rank": 2, "quiet": True}
    impute_file(src, tmp_path / "warm.npy", **options)  # imports, numba
    info: dict = {}
    growth = peak_rss_growth(lambda: info.update(impute_file(src, tmp_path / "out.npy", **options)))
    assert info["missing"] == sum(b - a for a, b in gaps)
    out = np.load(tmp_path / "out.npy", mmap_mode="r")
    assert out.shape == (n,) and not np.isnan(out[(3 << 20) - 10: (3 << 20) + 30]).any()
    assert np.abs(out[(3 << 20): (3 << 20) + 20] - np.sin(2 * np.pi * np.arange(3 << 20, (3 << 20) + 20) / 300)
                  ).max() < 0.05
    assert growth < 48 * MB, growth / MB


def test_repaired_samples_of_a_long_float_wav_are_reported(tmp_path) -> None:
    import soundfile

    from tsae.io.audio import AudioWarning

    _, noisy = _steps_and_sine(20_000)
    noisy[15_000] = np.nan
    soundfile.write(tmp_path / "x.wav", (0.3 * noisy).astype(np.float32), 8000, subtype="FLOAT")
    with pytest.warns(AudioWarning, match="1 of 20000 samples are NaN"):
        smooth_file(tmp_path / "x.wav", tmp_path / "s.wav", block=4096, steps=0, quiet=True)
    assert np.isfinite(read_series(tmp_path / "s.wav")[0]).all()


def test_impute_cli_on_a_long_npy_is_quiet_with_q(tmp_path) -> None:
    from click.testing import CliRunner

    from tsae.cli import cli

    values = np.sin(np.arange(70_000) / 20.0)  # longer than one gap-filling block (2**16)
    values[[65_537, 66_000, 69_999]] = np.nan  # in the second block only: the first is copied (fast)
    np.save(tmp_path / "x.npy", values)
    result = CliRunner().invoke(cli, ["impute", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), "-q"])
    assert result.exit_code == 0 and result.output == ""
    out = np.load(tmp_path / "y.npy")
    assert out.shape == values.shape and not np.isnan(out).any()
    result = CliRunner().invoke(cli, ["impute", str(tmp_path / "x.npy"), "-o", str(tmp_path / "z.npy")])
    assert result.output.strip() == f"{tmp_path / 'z.npy'}: filled 3 missing sample(s) of 70000 x 1 channel(s) in " \
        + result.output.split(" in ")[-1].strip()


@pytest.mark.parametrize("gap", [(1000, 59_000), (30_000, 60_000)])  # inside; to the end
def test_a_npy_with_a_gap_longer_than_the_blocks_hold_is_filled_whole(tmp_path, gap) -> None:
    # before: the gap was cut between blocks; one covering a whole block and its context was an error
    # ("x.npy: samples ... a channel has no finite values")
    values = np.stack([np.sin(np.arange(60_000) / 20.0), np.cos(np.arange(60_000) / 20.0)])
    values[0, slice(*gap)] = np.nan  # more than 7 blocks
    np.save(tmp_path / "x.npy", values)
    info = impute_file(tmp_path / "x.npy", tmp_path / "y.npy", block=2048, rank=2)
    assert info["missing"] == gap[1] - gap[0] and info["samples"] == 60_000
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), impute(values, rank=2))


def test_a_bad_network_parameter_fails_before_a_block_job_starts(tmp_path) -> None:
    _, noisy = _steps_and_sine(10_000)
    np.save(tmp_path / "x.npy", noisy)
    with pytest.raises(ValueError, match="hidden"):
        smooth_file(tmp_path / "x.npy", tmp_path / "y.npy", block=2048, model_params={"hidden": -1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def _table(path, values: np.ndarray) -> None:
    path.write_text("time,a,b\n" + "".join(f"{i}," + ",".join("" if np.isnan(v) else repr(float(v)) for v in row)
                                           + "\n" for i, row in enumerate(values.T)))


@pytest.mark.parametrize("job", ["smooth", "impute"])
def test_a_long_table_goes_through_the_blocks_of_a_long_npy(tmp_path, job, capsys, monkeypatch) -> None:
    # before: a table was processed whole, however long (a 2-million-row CSV took 2.6 GB to smooth and 290 s to
    # impute, against 1.5 GB and 10 s for the same series in a .npy file), and showed no progress bar
    import tsae.pipelines.smooth.files as files

    x = np.stack(_steps_and_sine(9000, seed=3))
    x[0, 2000:2100] = x[1, 4090:4200] = x[1, 8990:] = np.nan  # one across a block's end, one at the file's end
    _table(tmp_path / "x.csv", x)
    np.save(tmp_path / "x.npy", x)
    run, options = (smooth_file, {"steps": 0}) if job == "smooth" else (impute_file, {"rank": 2})
    run(tmp_path / "x.npy", tmp_path / "blocks.npy", block=4096, quiet=True, **options)
    whole: list = []
    monkeypatch.setattr(files, job, lambda v, *a, **k: whole.append(v.shape))  # the whole series' job
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    capsys.readouterr()
    info = run(tmp_path / "x.csv", tmp_path / "out.csv", block=4096, **options)
    assert "9.00k/9.00k" in capsys.readouterr().err  # the bar, on a terminal
    assert whole == [] and info["samples"] == 9000 and info["missing"] == int(np.isnan(x).sum())
    out = read_series(tmp_path / "out.csv")[0]
    np.testing.assert_allclose(out, np.load(tmp_path / "blocks.npy"), rtol=0, atol=1e-12, equal_nan=True)


def test_a_table_with_a_gap_longer_than_the_blocks_hold_is_filled_whole(tmp_path) -> None:
    # the blocks cut a gap longer than a grown block: a table, read whole anyway, is filled whole
    t = np.arange(24_000)
    x = np.stack([np.sin(t / 50.0), np.cos(t / 50.0)])
    x[0, 2000:17_000] = np.nan
    assert 15_000 > gap_held_whole(2048)
    _table(tmp_path / "x.csv", x)
    info = impute_file(tmp_path / "x.csv", tmp_path / "out.csv", block=2048, rank=2, quiet=True)
    out = read_series(tmp_path / "out.csv")[0]
    assert info["missing"] == 15_000 and not np.isnan(out).any()
    np.testing.assert_array_equal(out, impute(x, rank=2))


def test_a_long_npy_is_smoothed_to_a_table_block_by_block_never_read_whole(tmp_path, monkeypatch) -> None:
    # a .npy going to a table was read whole and its result held whole to be written
    import tsae.io.table_write as table_write
    import tsae.pipelines.smooth.files as files
    from tsae.io.series import write_series

    x = np.stack(_steps_and_sine(9000, seed=4))
    x[0, 2000:2100] = x[1, 4090:4200] = np.nan
    np.save(tmp_path / "x.npy", x)
    smooth_file(tmp_path / "x.npy", tmp_path / "blocks.npy", block=4096, quiet=True, steps=0)
    monkeypatch.setattr(files, "read_series", lambda *args, **kwargs: pytest.fail("read whole"))
    monkeypatch.setattr(table_write, "WRITE_ROWS", 7)
    info = smooth_file(tmp_path / "x.npy", tmp_path / "out.csv.gz", block=4096, quiet=True, steps=0)
    assert info["samples"] == 9000 and info["missing"] == int(np.isnan(x).sum())
    write_series(tmp_path / "whole.csv.gz", np.load(tmp_path / "blocks.npy"), None, {"kind": "array"})
    assert (tmp_path / "out.csv.gz").read_bytes() == (tmp_path / "whole.csv.gz").read_bytes()


def test_a_npy_with_a_gap_longer_than_the_blocks_hold_going_to_a_table_is_still_filled_whole(tmp_path) -> None:
    # impute's blocks cut such a gap; a series going to a table is read whole, and filled whole, as before
    t = np.arange(24_000)
    x = np.stack([np.sin(t / 50.0), np.cos(t / 50.0)])
    x[0, 2000:17_000] = np.nan
    np.save(tmp_path / "x.npy", x)
    info = impute_file(tmp_path / "x.npy", tmp_path / "out.csv", block=2048, rank=2, quiet=True)
    out = read_series(tmp_path / "out.csv")[0]
    assert info["missing"] == 15_000 and not np.isnan(out).any()
    np.testing.assert_array_equal(out, impute(x, rank=2))


def test_a_gap_of_several_blocks_is_filled_from_one_segment_holding_it_whole(tmp_path) -> None:
    # before: a block grew to at most 2 blocks, so a longer gap was cut between blocks: each piece
    # was filled from one side, with a jump between them (0.55 here) and an RMSE of 1.0 to the truth
    t = np.arange(30_000)
    truth = np.sin(t / 40.0)
    values = np.stack([truth + 0.05 * np.random.default_rng(0).standard_normal(t.size), np.cos(t / 30.0)])
    gap = slice(3000, 9000)  # starts at a block's end, 6 blocks long
    assert gap.stop - gap.start <= gap_held_whole(1000)
    values[0, gap] = np.nan
    np.save(tmp_path / "x.npy", values)
    impute_file(tmp_path / "x.npy", tmp_path / "y.npy", block=1000, rank=4)
    held = np.load(tmp_path / "y.npy")[0, gap]
    assert np.abs(np.diff(held)).max() < 0.1  # the sine moves 0.025 a sample
    assert rmse(held, truth[gap]) < 0.9


def test_a_gap_longer_than_the_blocks_hold_is_filled_from_a_segment_not_the_whole_series(tmp_path, monkeypatch):
    # before: such a gap had the whole series filled at once (memory ~1.5 KB a sample of the series: 15 GB for
    # 10 M samples); now a segment reaching as far as the gap spans on each side, as the whole series fills it
    import tsae.pipelines.smooth.blocks as blocks
    import tsae.pipelines.smooth.files as files

    t = np.arange(80_000)
    rng = np.random.default_rng(2)
    truth = np.stack([np.sin(t / 60.0) + 0.3 * np.sin(t / 700.0), np.cos(t / 45.0)])
    x = truth + 0.05 * rng.standard_normal((2, t.size))
    gap = slice(30_500, 39_500)  # 9,000 samples: longer than 8 blocks of 1,000 hold
    assert gap.stop - gap.start > gap_held_whole(1000)
    x[0, gap] = np.nan
    x[1, 60_000:60_050] = np.nan
    np.save(tmp_path / "x.npy", x)
    spans: list = []
    real = blocks.impute
    monkeypatch.setattr(blocks, "impute", lambda v, **k: spans.append(v.shape[1]) or real(v, **k))
    monkeypatch.setattr(files, "impute", lambda *a, **k: pytest.fail("filled whole"))
    info = impute_file(tmp_path / "x.npy", tmp_path / "y.npy", block=1000, rank=4, quiet=True)
    out = np.load(tmp_path / "y.npy")
    assert info["missing"] == 9050 and not np.isnan(out).any()
    np.testing.assert_array_equal(out[~np.isnan(x)], x[~np.isnan(x)])
    assert max(spans) <= 4 * 9000 + 8 * 1000  # the gap, as much on each side, and the block before it
    # a fill from 28,500 samples, not 80,000: near the whole series' (1.01 against 0.89 to the truth here)
    whole = impute(x, rank=4)[0, gap]
    assert rmse(out[0, gap], truth[0, gap]) < 1.25 * rmse(whole, truth[0, gap])
    assert abs(out[0, gap.start] - x[0, gap.start - 1]) < 0.1 and abs(out[0, gap.stop - 1] - x[0, gap.stop]) < 0.1


def _gappy_sines(n: int, every: int) -> np.ndarray:
    t = np.arange(n)
    values = np.stack([np.sin(2 * np.pi * t / 200), np.cos(2 * np.pi * t / 330)])
    values += 0.01 * np.random.default_rng(3).normal(size=values.shape)
    for s in range(500, n - 100, every):  # a gap in each channel of every block
        values[0, s:s + 20] = np.nan
        values[1, s + 40:s + 50] = np.nan
    return values


def test_a_long_series_chooses_each_channels_fill_plan_once(tmp_path, monkeypatch) -> None:
    from tsae.pipelines.smooth import imputer

    chosen: list[int] = []
    plan = imputer._plan

    def counted(*args, **kwargs):
        chosen.append(1)
        return plan(*args, **kwargs)

    monkeypatch.setattr(imputer, "_plan", counted)
    values = _gappy_sines(8192, 1000)
    np.save(tmp_path / "x.npy", values)
    impute_file(tmp_path / "x.npy", tmp_path / "filled.npy", block=2048, max_rank=2)  # four blocks
    assert len(chosen) == 2  # once per channel, not once per channel and block
    out, missing = np.load(tmp_path / "filled.npy"), np.isnan(values)
    assert not np.isnan(out).any() and np.array_equal(out[~missing], values[~missing])


def test_a_plan_chosen_by_one_fill_is_the_one_reused() -> None:
    values = _gappy_sines(3000, 1000)
    plans: list = [None, None]
    first = impute(values, plans=plans, max_rank=2)
    assert np.array_equal(first, impute(values, max_rank=2))  # choosing the plans changes nothing
    assert all(p is not None for p in plans)
    assert np.array_equal(impute(values, plans=plans, max_rank=2), first)  # the same plans, the same fill
    with pytest.raises(ValueError, match="one entry per channel"):
        impute(values, plans=[None])
