"""An audit of compression with hostile input: bounds that overflow, loose argument types, lying blocks and headers,
VQ codes outside the codebook, output names, time columns; each refused in one line or kept."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.compress import Compressor, compress_file, compress_series, decompress_file, decompress_series
from tsae.pipelines.compress.container import Block, Reader
from tsae.pipelines.compress.options import MAX_BLOCK_VALUES, MAX_BOUND

from compress_helpers import rewritten, walk


def _blocks(data: bytes) -> tuple[Reader, list[Block]]:
    reader = Reader(io.BytesIO(data), "c.tsz")
    return reader, list(reader.blocks())


def _with_arrays(block: Block, **arrays: np.ndarray) -> Block:
    return Block(block.samples, block.latent_step, block.check, {**block.arrays, **arrays})


# ------------------------------------------------------------------ error bounds that overflow float64
def test_a_bound_whose_grid_step_overflows_is_refused_not_decoded_to_nan(conv_model):
    x = walk(100)
    with pytest.raises(ValueError, match=r"^max_error must be finite and > 0 \(at most 1\.072e\+301\), got 1e\+308"):
        compress_series(conv_model, x, max_error=1e308)


def test_values_at_the_float64_limit_are_refused_under_a_relative_bound(conv_model):
    x = np.full((2, 40), 1.7e308)  # a constant channel: its bound is its magnitude, 1.7e308, a step of inf
    with pytest.raises(ValueError, match=r"values of magnitude 1\.7e\+308 in channel 0 are too large for an error"):
        compress_series(conv_model, x, max_error=1.0, relative=True)


def test_a_relative_bound_beyond_the_limit_is_lowered_and_holds(conv_model):
    x = walk(100) * 1e305  # a range near 1e307: the relative bound would be 1e307
    data = compress_series(conv_model, x, max_error=1.0, relative=True)
    assert _blocks(data)[0].header["max_error"] == [MAX_BOUND, MAX_BOUND]
    y = decompress_series(data, conv_model)
    assert np.isfinite(y).all() and (np.abs(x - y) <= MAX_BOUND).all()


def test_a_header_bound_beyond_the_limit_is_corrupt(conv_model):
    data = compress_series(conv_model, walk(100), max_error=0.01)
    hostile = rewritten(data, header={"max_error": [1e308, 1e308]})  # steps of inf: values q * inf, NaN
    with pytest.raises(ValueError, match=r"^h\.tsz: corrupt \.tsz header \(malformed error bound\)"):
        decompress_series(hostile, conv_model, name="h.tsz")


def test_values_beyond_float32_give_no_numpy_warnings_and_keep_the_bound(conv_model):
    x = walk(200) * 1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for bound in (None, 0.01):
            data = compress_series(conv_model, x, max_error=bound, relative=bound is not None)
            y = decompress_series(data, conv_model)
    assert (np.abs(x - y) <= 0.01 * np.ptp(x, axis=1)[:, None]).all()


# ------------------------------------------------------------------ arguments of the Python API
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_error": True}, r"^max_error must be a number or one number per channel, got True"),
    ({"max_error": "0.1"}, r"^max_error must be a number or one number per channel, got '0\.1'"),
    ({"max_error": [0.1, 0.1, 0.1]}, r"^max_error must be one number or 2 \(one per channel\), not 3"),
    ({"max_error": [[0.1]]}, r"^max_error must be a number or one number per channel"),
    ({"max_error": float("nan")}, r"^max_error must be finite and > 0"),
    ({"max_error": 0.1, "relative": "yes"}, r"^relative must be True or False, got 'yes'"),
    ({"block_windows": True}, r"^block_windows must be an integer >= 1, got True"),
    ({"block_windows": 1.5}, r"^block_windows must be an integer >= 1, got 1\.5"),
    ({"block_windows": None}, r"^block_windows must be an integer >= 1, got None"),
    ({"latent_step": True}, r"^latent_step must be finite and > 0, got True"),
    ({"latent_step": "0.1"}, r"^latent_step must be finite and > 0, got '0\.1'"),
    ({"header": "x"}, r"^header must be a dict with text keys, got str"),
    ({"header": {"note": object()}}, r"^header must hold JSON values only"),
])
def test_loose_arguments_are_one_error_naming_them(conv_model, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        compress_series(conv_model, walk(50), **kwargs)


def test_a_header_entry_cannot_replace_the_format(conv_model):
    x = walk(50)
    data = compress_series(conv_model, x, max_error=0.1, header={"format": "zip", "note": "kept"})
    assert _blocks(data)[0].header["note"] == "kept"
    assert np.abs(decompress_series(data, conv_model) - x).max() <= 0.1


def test_a_huge_block_windows_is_lowered_to_a_block_a_reader_accepts(conv_model):
    x = walk(100)
    data = compress_series(conv_model, x, max_error=0.1, block_windows=10**30)
    header = _blocks(data)[0].header
    assert header["channels"] * header["block_samples"] <= MAX_BLOCK_VALUES
    assert np.abs(decompress_series(data, conv_model) - x).max() <= 0.1


def test_a_short_series_of_the_models_channel_count_is_not_taken_for_a_transposed_one(conv_model):
    x = np.array([[1.5], [-2.0]])
    y = decompress_series(compress_series(conv_model, x, max_error=0.01), conv_model)
    assert y.shape == (2, 1) and np.abs(x - y).max() <= 0.01


def test_the_model_may_be_a_file_path_and_the_data_must_be_bytes(model_file, tmp_path):
    x = walk(80)
    data = compress_series(model_file, x, max_error=0.05)
    assert np.abs(decompress_series(data, str(model_file)) - x).max() <= 0.05
    with pytest.raises(TypeError, match=r"^data must be the container's bytes \(decompress_file reads a file\)"):
        decompress_series(str(tmp_path / "s.tsz"), model_file)
    with pytest.raises(TypeError, match=r"model must be a LoadedModel, a FitResult \(tsae.fit\) or a model file path, "
                                        r"got int"):
        compress_series(3, x)


def test_the_top_level_verbs_are_the_readme_example(model_file):
    import tsae

    x = walk(80)
    data = tsae.compress(str(model_file), x, max_error=1e-3)  # as the README shows
    assert isinstance(data, bytes) and np.abs(tsae.decompress(data, str(model_file)) - x).max() <= 1e-3


def test_a_closed_compressor_writes_nothing_more(conv_model):
    buffer = io.BytesIO()
    writer = Compressor(buffer, conv_model, max_error=0.1)
    writer.write(walk(40))
    writer.close()
    size = len(buffer.getvalue())
    with pytest.raises(ValueError, match="the compressor is closed"):
        writer.write(walk(40))
    with pytest.raises(ValueError, match="the compressor is closed"):
        writer.close()
    assert len(buffer.getvalue()) == size
    assert decompress_series(buffer.getvalue(), conv_model).shape == (2, 40)


# ------------------------------------------------------------------ lying blocks and headers
@pytest.mark.parametrize(("edit", "message"), [
    (lambda codes: codes + 10**6, r"codes the model cannot decode \(outside its codebook\?\)"),
    (lambda codes: codes - 10**6, r"codes outside the model's codebook \(negative indices\)"),
    (lambda codes: np.vstack([codes, codes[:1]]), r"block has 9 code values per window, the model takes 8"),
])
def test_vq_codes_outside_the_codebook_are_one_error_naming_the_file(vq_model, edit, message):
    data = compress_series(vq_model, walk(64))  # no bound: the block holds the codes alone
    block = _blocks(data)[1][0]
    hostile = rewritten(data, blocks=[_with_arrays(block, codes=edit(block.arrays["codes"]))])
    with pytest.raises(ValueError, match=r"^h\.tsz: block 0: " + message):
        decompress_series(hostile, vq_model, name="h.tsz")


def test_a_non_finite_latent_step_is_corrupt_not_nan(conv_model):
    data = compress_series(conv_model, walk(64))  # uniform codes, no bound
    block = _blocks(data)[1][0]
    hostile = rewritten(data, blocks=[Block(block.samples, float("nan"), block.check, block.arrays)])
    with pytest.raises(ValueError, match=r"^h\.tsz: block 0: malformed latent step nan"):
        decompress_series(hostile, conv_model, name="h.tsz")


def test_a_header_with_absurd_blocks_is_refused_before_a_block_is_inflated(conv_model, model_file, tmp_path):
    samples = 2**32 - 16  # whole windows of 16, and what a block head can count
    block = Block(samples=samples, arrays={"residual": np.zeros((2, 1), np.int64)})
    data = compress_series(conv_model, walk(64), max_error=0.01)
    hostile = rewritten(data, header={"block_samples": samples}, blocks=[block] * 50)
    with pytest.raises(ValueError, match=r"^h\.tsz: corrupt \.tsz header \(blocks of 4294967280 samples x 2 "
                                         r"channel\(s\); a block holds at most 67108864 values\)"):
        decompress_series(hostile, conv_model, name="h.tsz")
    # a file job refuses it before the .npy output is sized by the samples the blocks claim (50 x 2**32)
    compress_file(model_file, _npy(tmp_path, walk(64)), tmp_path / "s.tsz", max_error=0.01)
    (tmp_path / "h.tsz").write_bytes(rewritten((tmp_path / "s.tsz").read_bytes(), header={"block_samples": samples},
                                                blocks=[block] * 50))
    with pytest.raises(ValueError, match=r"h\.tsz: corrupt \.tsz header \(blocks of 4294967280 samples"):
        decompress_file(tmp_path / "h.tsz", tmp_path / "out.npy", model=model_file)
    assert not (tmp_path / "out.npy").exists()


def test_a_trailer_that_disagrees_is_refused_before_a_npy_output_is_opened(model_file, tmp_path, monkeypatch):
    import tsae.pipelines.compress.files as files

    compress_file(model_file, _npy(tmp_path, walk(64)), tmp_path / "s.tsz", max_error=0.01)
    (tmp_path / "h.tsz").write_bytes(rewritten((tmp_path / "s.tsz").read_bytes(),
                                                trailer={"samples": 10**15, "blocks": 1}))

    def never(*args, **kwargs):
        raise AssertionError("the output was opened")

    monkeypatch.setattr(files, "open_writer", never)
    with pytest.raises(ValueError, match=r"h\.tsz: corrupt \.tsz trailer \(it counts 1000000000000000 samples, "
                                         r"the blocks hold 64\)"):
        decompress_file(tmp_path / "h.tsz", tmp_path / "out.npy", model=model_file)


# ------------------------------------------------------------------ output names
def _npy(folder, values):
    path = folder / "s.npy"
    np.save(path, values)
    return path


@pytest.mark.parametrize("name", ["out.csv", "out.CSV.gz", "out.npy", "out.wav", "out.tsae"])
def test_a_container_is_not_written_under_a_series_or_model_name(model_file, tmp_path, name):
    with pytest.raises(ValueError,
                       match=r"refusing to write a \.tsz container under (a data|a model or detector) file.s name"):
        compress_file(model_file, _npy(tmp_path, walk(40)), tmp_path / name, max_error=0.1)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", ["back.tsz", "back.TSAE", "back.onnx"])
def test_a_series_is_not_written_under_a_container_or_model_name(model_file, tmp_path, name):
    compress_file(model_file, _npy(tmp_path, walk(40)), tmp_path / "s.tsz", max_error=0.1)
    with pytest.raises(ValueError, match=r"refusing to write data under (a compressed container's|a model or "
                                         r"detector file's|an ONNX export's) name \(\.\w+\): name it .*back\.csv$"):
        decompress_file(tmp_path / "s.tsz", tmp_path / name)
    assert not (tmp_path / name).exists()


def test_the_cli_says_so_in_one_line(model_file, tmp_path):
    data = _npy(tmp_path, walk(40))
    for args, fragment, code in ((["-o", tmp_path / "o.csv"], "o.csv: refusing to write a .tsz container", 1),
                                 (["-o", tmp_path / "o.tsz", "--max-error", "1e308"],
                                  "'--max-error': must be finite", 2)):  # a usage error, before the data is read
        result = CliRunner().invoke(cli, ["compress", str(model_file), str(data), *map(str, args)])
        assert result.exit_code == code and fragment in result.output, result.output
        assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.tsz").exists()


# ------------------------------------------------------------------ the time column of a table
@pytest.mark.parametrize("ticks", [
    [f"{i / 10}" for i in range(60)],                       # 0.1 * 3 is not 0.3 in binary
    [f"{1_700_000_000 + i / 1000:.3f}" for i in range(60)],  # epoch seconds with milliseconds
    [f"{i * 7 / 1000:.3f}" for i in range(60)],
    [str(5 - 2 * i) for i in range(60)],                    # integers, decreasing
])
def test_an_evenly_spaced_decimal_time_column_comes_back_exactly(model_file, tmp_path, ticks):
    rows = ["t,a,b"] + [f"{t},{np.sin(i / 4):.5f},{i % 7}" for i, t in enumerate(ticks)]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "not evenly spaced" is a warning
        compress_file(model_file, tmp_path / "s.csv", tmp_path / "s.tsz", max_error=0.01)
    decompress_file(tmp_path / "s.tsz", tmp_path / "back.csv")
    back = (tmp_path / "back.csv").read_text().splitlines()
    assert back[0] == "t,a,b"
    np.testing.assert_array_equal([float(row.split(",")[0]) for row in back[1:]], [float(t) for t in ticks])


# ------------------------------------------------------------------ the bound holds everywhere
def _signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    t = np.arange(300)
    spikes = np.where(rng.random((2, 300)) < 0.02, 1e4, 0.0)
    gaps = walk(300, seed=2)
    gaps[0, 10:20], gaps[1, 50] = np.nan, np.inf
    return {
        "spiky": walk(300) + spikes,
        "square": np.sign(np.sin(t / 5.0))[None].repeat(2, 0) * 3.0,
        "float32 limit": np.where(rng.random((2, 300)) < 0.5, 3.4e38, -3.4e38) * (1 + 1e-3 * rng.random((2, 300))),
        "levels": np.linspace(-2, 2, 9)[rng.integers(0, 9, (2, 75))].repeat(4, axis=1),  # what the fake VQ codes
        "gaps": gaps,
        "one sample": np.array([[0.25], [7.0]]),
    }


@pytest.mark.parametrize("name", list(_signals()))
@pytest.mark.parametrize(("bound", "relative"), [(1e-3, False), (0.05, True)])
def test_every_finite_sample_comes_back_within_the_bound(conv_model, vq_model, name, bound, relative):
    x = _signals()[name]
    for model in (conv_model, vq_model):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                data = compress_series(model, x, max_error=bound, relative=relative, block_windows=2)
            except ValueError as error:  # an absolute bound too small for the magnitude is refused, never broken
                assert "too small for values of magnitude" in str(error) and not relative
                continue
            y = decompress_series(data, model)
        finite = np.isfinite(x)
        error = np.abs(np.where(finite, x, 0.0) - np.where(finite, y, 0.0))
        assert (error <= _absolute(x, bound, relative)[:, None]).all(), name
        np.testing.assert_array_equal(np.where(finite, 0.0, x), np.where(finite, 0.0, y))


def _absolute(x: np.ndarray, bound: float, relative: bool) -> np.ndarray:
    """The bound of each channel: ``bound``, or times the channel's range (its magnitude when the range is 0)."""
    if not relative:
        return np.full(len(x), bound)
    finite = [row[np.isfinite(row)] for row in x]
    scale = np.array([np.ptp(row) or np.abs(row).max() or 1.0 for row in finite])
    return bound * scale


def test_a_container_with_blocks_larger_than_the_writer_makes_now_is_still_read(conv_model):
    # written before blocks were capped at MAX_BLOCK_VALUES (a large model at 256 windows a block): still read,
    # up to MAX_READ_BLOCK_VALUES
    from tsae.pipelines.compress.options import MAX_READ_BLOCK_VALUES, block_values_limit

    assert block_values_limit(2, 16) == MAX_READ_BLOCK_VALUES > MAX_BLOCK_VALUES
    x = walk(64)
    data = compress_series(conv_model, x, max_error=0.01)
    older = rewritten(data, header={"block_samples": MAX_BLOCK_VALUES})  # 2 channels: twice the cap
    np.testing.assert_array_equal(decompress_series(older, conv_model), decompress_series(data, conv_model))


def test_bytes_from_a_model_file_are_refused_by_another_model_of_the_same_shape(model_file, conv_model, tmp_path):
    # without a bound nothing else is checked: another model's prediction came back as the data, without a word
    import torch

    from tsae.models.modelfile import load_model, save_model
    from tsae.pipelines.compress.container import Reader
    from tsae.plugins import create_model

    window = load_model(model_file).window
    torch.manual_seed(7)
    other = tmp_path / "other.tsae"
    save_model(other, create_model("conv1d", 2, window, depth=2, hidden=4, latent=4),
               frame={"window": window, "hop": window, "window_fn": None},
               normalizer={"method": "zscore", "center": [0.0, 0.0], "scale": [1.0, 1.0]})
    x = walk(64)
    data = compress_series(model_file, x)  # no bound: the codes alone
    assert Reader(io.BytesIO(data), "c.tsz").header["model"]["sha256"]
    assert decompress_series(data, model_file).shape == x.shape
    with pytest.raises(ValueError, match=r"^c\.tsz: model file .*other\.tsae is not the one the container was "
                                         r"written with \(SHA-256 differs\)$"):
        decompress_series(data, other, name="c.tsz")
    # a model held in memory (no file) records nothing and is not checked
    assert "model" not in Reader(io.BytesIO(compress_series(conv_model, x)), "c.tsz").header
