"""What reconstruct and encode read as missing: one rule for the Python API and the commands (values beyond 1e30
in magnitude are missing, as the table reader reads them), and a .npy file's or an array's infinite sample is
refused, naming where it is, by reconstruct and encode as by smooth and impute."""
from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import run

import tsae
from tsae.io.tables import read_table
from tsae.models.modelfile import load_model
from tsae.pipelines.reconstruct.batch import reconstruct_file


def _wave(n: int = 300) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / 9), 2 * np.cos(t / 7)])


def test_the_api_reads_values_beyond_1e30_as_missing_as_the_command_reads_a_table(tiny_model, tmp_path) -> None:
    x = np.round(_wave(), 6)
    x[0, 40], x[1, 41] = 3e30, -1e34  # a sensor's glitches, no reading
    src = tmp_path / "in.csv"
    src.write_text("a,b\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in x.T))
    result = run("reconstruct", tiny_model, src, "-o", tmp_path / "out.csv", "--device", "cpu")
    assert result.exit_code == 0, result.output
    by_command = read_table(tmp_path / "out.csv").values
    loaded = load_model(tiny_model)
    np.testing.assert_array_equal(tsae.reconstruct(loaded, x), by_command)
    gaps = x.copy()
    gaps[0, 40] = gaps[1, 41] = np.nan
    np.testing.assert_array_equal(tsae.reconstruct(loaded, x), tsae.reconstruct(loaded, gaps))
    np.testing.assert_array_equal(tsae.encode(loaded, x), tsae.encode(loaded, gaps))
    assert np.abs(by_command).max() < 100  # nothing of the glitch's size came back
    x[0, 40] = 1e30  # not beyond: a value (as the table reader keeps it)
    assert not np.array_equal(tsae.reconstruct(loaded, x), tsae.reconstruct(loaded, gaps))


@pytest.mark.parametrize("block", [100, 1 << 16])
def test_a_npy_file_in_blocks_or_whole_follows_the_same_rule(tiny_model, tmp_path, block) -> None:
    x = _wave(1003)
    x[1, 95:99] = 5e300
    x[0, 199:201] = -2e31  # across a block end
    np.save(tmp_path / "in.npy", x)
    loaded = load_model(tiny_model)
    row = reconstruct_file(loaded, tmp_path / "in.npy", tmp_path / "out.npy", block=block)
    gaps = np.where(np.abs(x) > 1e30, np.nan, x)
    whole = tsae.reconstruct(loaded, gaps)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), whole, rtol=0, atol=1e-5 * np.abs(whole).max())
    observed = np.isfinite(gaps)  # the error is over the values, not the glitches
    assert row["mse"] == pytest.approx(np.mean((whole[observed] - x[observed]) ** 2), rel=1e-6)
    run("encode", tiny_model, tmp_path / "in.npy", "-o", tmp_path / "codes.npy", "--device", "cpu")
    np.testing.assert_allclose(np.load(tmp_path / "codes.npy"), tsae.encode(loaded, gaps), rtol=0, atol=1e-5)


def _refusal(path, sample: int, channel: int, value: str) -> str:
    return (f"{path}: sample {sample} of channel {channel} is infinite ({value}): NaN marks a missing sample; an "
            "infinite one is neither a value nor a gap (make it NaN)")


@pytest.mark.parametrize("command", ["reconstruct", "encode", "smooth", "impute"])
def test_an_infinite_sample_of_an_npy_is_refused_by_every_series_command(tiny_model, tmp_path, command) -> None:
    # before: reconstruct and encode read it as a gap without a word, smooth and impute refused it
    x = _wave()
    x[1, 120] = -np.inf
    np.save(tmp_path / "x.npy", x)
    model = [tiny_model] if command in ("reconstruct", "encode") else []
    result = run(command, *model, tmp_path / "x.npy", "-o", tmp_path / "y.npy", "--device", "cpu")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {_refusal(tmp_path / 'x.npy', 120, 1, '-inf')}"
    assert not (tmp_path / "y.npy").exists()


@pytest.mark.parametrize("command", ["reconstruct", "encode", "smooth", "impute"])
def test_a_long_npy_in_blocks_is_refused_naming_the_sample_in_the_file(tiny_model, tmp_path, command) -> None:
    # before: every command read it in blocks without a word (impute wrote the inf back, smooth smoothed it over)
    from tsae.pipelines.reconstruct.batch import encode_file
    from tsae.pipelines.smooth.files import impute_file, smooth_file

    x = _wave(70_000)  # beyond the first 2**16 samples the reader reads at a time
    x[0, 68_000] = np.inf
    x[1, 69_000] = -np.inf
    src, dst = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(src, x)
    loaded = load_model(tiny_model)
    job = {"reconstruct": lambda: reconstruct_file(loaded, src, dst, block=1000),
           "encode": lambda: encode_file(loaded, src, dst, block=1000, quiet=True),
           "smooth": lambda: smooth_file(src, dst, block=20_000, steps=0, quiet=True),
           "impute": lambda: impute_file(src, dst, block=20_000, quiet=True)}[command]
    with pytest.raises(ValueError) as caught:
        job()
    assert str(caught.value) == _refusal(src, 68_000, 0, "inf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


@pytest.mark.parametrize("api", ["reconstruct", "encode"])
def test_an_infinite_value_given_to_the_api_is_refused_as_smooth_refuses_it(tiny_model, api) -> None:
    # before: tsae.reconstruct and tsae.encode read an array's inf as a gap without a word, while tsae.smooth,
    # tsae.impute and every command refuse it
    import pandas as pd

    x = _wave()
    x[1, 120] = -np.inf
    loaded = load_model(tiny_model)
    with pytest.raises(ValueError) as smoothing:
        tsae.smooth(x, steps=0)
    for given in (x, pd.DataFrame(x.T)):
        with pytest.raises(ValueError) as caught:
            getattr(tsae, api)(loaded, given)
        assert str(caught.value) == str(smoothing.value) == _refusal("x", 120, 1, "-inf").removeprefix("x: ")
    x[1, 120] = 1e300  # beyond 1e30 and finite: still a gap
    gaps = np.where(x > 1e30, np.nan, x)
    np.testing.assert_array_equal(getattr(tsae, api)(loaded, x), getattr(tsae, api)(loaded, gaps))
