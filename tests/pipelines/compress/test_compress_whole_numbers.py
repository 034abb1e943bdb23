"""Whole numbers (counts, ADC codes, 0/1 states) under a bound below 0.5 come back exactly, not as 0.99999904."""
from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from cli_helpers import run

from tsae.io.series import read_series
from tsae.pipelines.compress import compress_series, decompress_series
from tsae.pipelines.compress.container import Block, Reader

from compress_helpers import rewritten, walk


def counts(n: int = 700, seed: int = 3) -> np.ndarray:
    """Two channels of whole numbers (a wandering count, and 0/1 states)."""
    x = np.round(walk(n, seed) * 3)
    x[1] = x[1] > np.median(x[1])
    return x


def blocks(data: bytes) -> list[Block]:
    return list(Reader(io.BytesIO(data), "c.tsz").blocks())


@pytest.mark.parametrize("model", ["conv_model", "vq_model"])
def test_whole_numbers_come_back_exactly_under_a_bound_below_half(request, model):
    m = request.getfixturevalue(model)
    x = counts()
    y = decompress_series(compress_series(m, x, max_error=0.4, block_windows=8), m)
    assert np.array_equal(y, x)


def test_a_relative_bound_is_resolved_before_the_rule(conv_model):
    x = counts()  # ranges of about 200 and 1: 1e-3 of them is below 0.5, 1e-2 of the first is not
    span = x.max(axis=1) - x.min(axis=1)
    assert 1e-3 * span.max() < 0.5 < 1e-2 * span[0]
    assert np.array_equal(decompress_series(compress_series(conv_model, x, max_error=1e-3, relative=True),
                                            conv_model), x)
    y = decompress_series(compress_series(conv_model, x, max_error=1e-2, relative=True), conv_model)
    assert np.array_equal(y[1], x[1]) and not np.array_equal(y[0], x[0])


def test_a_bound_of_half_or_more_claims_nothing(conv_model):
    x = counts()
    data = compress_series(conv_model, x, max_error=0.6)
    y = decompress_series(data, conv_model)
    assert (np.abs(y - x) <= 0.6).all() and not np.array_equal(y, x)
    assert all("whole" not in block.arrays for block in blocks(data))


def test_only_the_channel_of_whole_numbers_is_rounded(conv_model):
    x = counts()
    x[0] = walk(700, seed=5)[0]  # floats beside the 0/1 states
    y = decompress_series(compress_series(conv_model, x, max_error=0.1), conv_model)
    assert np.array_equal(y[1], x[1])
    assert (np.abs(y[0] - x[0]) <= 0.1).all() and not np.array_equal(y[0], np.round(y[0]))


def test_a_channel_mixing_whole_and_other_numbers_is_not_rounded(conv_model):
    x = counts(200)
    x[0, 50] += 0.25
    y = decompress_series(compress_series(conv_model, x, max_error=0.1), conv_model)
    assert (np.abs(y - x) <= 0.1).all()
    assert not np.array_equal(y[0], np.round(y[0]))
    assert np.array_equal(y[1], x[1])


def test_missing_and_infinite_samples_stay_as_they_were(conv_model):
    x = counts(300)
    x[0, 10:20] = np.nan
    x[1, 5] = np.inf
    x[1, 6] = -np.inf
    y = decompress_series(compress_series(conv_model, x, max_error=0.4, block_windows=4), conv_model)
    assert np.array_equal(y, x, equal_nan=True)


def test_huge_whole_numbers_are_refused_by_the_bound_not_rounded(conv_model):
    # under a bound below 0.5 a value stays within 2**32 bounds of zero, far inside float64's exact integers
    x = counts(100) + 2.0**40
    with pytest.raises(ValueError, match="too small for values of magnitude"):
        compress_series(conv_model, x, max_error=0.4)


def test_a_container_without_the_flag_decodes_as_before(conv_model):
    x = counts()
    data = compress_series(conv_model, x, max_error=0.4, block_windows=8)
    old = rewritten(data, blocks=[Block(b.samples, b.latent_step, b.check,
                                        {k: v for k, v in b.arrays.items() if k != "whole"})
                                  for b in blocks(data)])
    y = decompress_series(old, conv_model)
    assert (np.abs(y - x) <= 0.4).all() and not np.array_equal(y, x)  # within the bound, not rounded
    assert np.array_equal(np.round(y), x)


def test_cli_round_trip_gives_whole_numbers_back(tmp_path, model_file):
    x = counts(300)
    x[0, 7] = np.nan
    data = tmp_path / "counts.csv"
    data.write_text("a,b\n" + "".join(f"{'' if np.isnan(a) else int(a)},{int(b)}\n" for a, b in x.T))
    model = tmp_path / "m.tsae"
    shutil.copy(model_file, model)
    for flags in (["--max-error", "0.4"], ["--max-error", "1e-3", "--relative"]):
        result = run("compress", model, data, "-o", tmp_path / "c.tsz", *flags)
        assert result.exit_code == 0, result.output
        for name in ("back.npy", "back.csv"):
            assert run("decompress", tmp_path / "c.tsz", "-o", tmp_path / name).exit_code == 0
            assert np.array_equal(read_series(tmp_path / name)[0], x, equal_nan=True), (flags, name)
        assert "0.9999" not in (tmp_path / "back.csv").read_text()


@pytest.mark.parametrize("flags,problem", [
    ([1, 1], "whole-number channels under a bound of 0.5 or more"),
    ([1], "malformed whole-number channels"),
    ([2, 0], "malformed whole-number channels"),
])
def test_a_flag_that_rounding_cannot_honour_is_refused(conv_model, flags, problem):
    x = counts(100)
    data = compress_series(conv_model, x, max_error=0.6)
    hostile = rewritten(data, blocks=[Block(b.samples, b.latent_step, b.check,
                                            {**b.arrays, "whole": np.array(flags, np.int64)}) for b in blocks(data)])
    with pytest.raises(ValueError, match=rf"^h\.tsz: block 0: {problem}$"):
        decompress_series(hostile, conv_model, name="h.tsz")
