"""Leftovers of the API audits: ragged lists named, TrainConfig checked when built, true overflow
messages without a normaliser, booleans framed as 0/1 like everywhere else."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.engine.framing import frame, overlap_add
from tsae.engine.layout import as_channels_first, real_array
from tsae.engine.streaming import StreamFramer, StreamOverlapAdd
from tsae.models.trainer import TrainConfig


# ----------------------------------------------------------------------------- ragged lists
@pytest.mark.parametrize("ragged", [[[1, 2], [3]], [1, [2, 3]], ((0.1, 0.2), (0.3,))])
def test_a_ragged_list_names_the_argument(ragged) -> None:
    # before: numpy's "setting an array element with a sequence..." naming nothing
    with pytest.raises(ValueError, match=r"^values: setting an array element with a sequence") as info:
        real_array(ragged, "values")
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"^series: setting an array element"):
        as_channels_first(ragged, "series")


def test_a_ragged_list_is_named_by_the_pipelines(tmp_path) -> None:
    import tsae

    # before: reconstruct said numpy's message without naming values (only denoise named it, with a workaround)
    with pytest.raises(ValueError, match=r"^values: setting an array element with a sequence"):
        tsae.reconstruct(_model_file(tmp_path, None), [[1.0, 2.0, 3.0], [1.0]])


# ----------------------------------------------------------------------------- TrainConfig
def test_an_unknown_device_is_refused_when_the_config_is_built() -> None:
    # before: TrainConfig(device="bogus") was built; training refused it later
    with pytest.raises(ValueError, match=r"^device 'bogus': unknown device"):
        TrainConfig(device="bogus")
    with pytest.raises(ValueError, match=r"^device 'cuda:x': unknown device"):
        TrainConfig(device="cuda:x")


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "CUDA:1", None])
def test_a_known_device_is_taken_whether_this_machine_has_it_or_not(device) -> None:
    # a configuration may be made on a CPU-only machine for a GPU one
    assert TrainConfig(device=device).device == device


def test_a_torch_device_is_taken() -> None:
    import torch

    assert TrainConfig(device=torch.device("cpu")).device == torch.device("cpu")


@pytest.mark.parametrize("option", ["quiet", "deterministic", "amp"])
@pytest.mark.parametrize("value", ["no", 1, 0.0, None])
def test_yes_no_training_options_take_booleans_only(option, value) -> None:
    # before: any value was taken ("no" is truthy: quiet="no" meant quiet)
    with pytest.raises(TypeError, match=rf"^{option} must be True or False, got "):
        TrainConfig(**{option: value})


def test_numpy_booleans_are_stored_as_booleans() -> None:
    config = TrainConfig(quiet=np.bool_(True), amp=np.bool_(False))
    assert config.quiet is True and config.amp is False


# ----------------------------------------------------------------------------- float32 overflow
def _model_file(tmp_path, normalizer):
    import torch

    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    torch.manual_seed(0)
    path = tmp_path / "m.tsae"
    save_model(path, create_model("conv1d", 1, 16, depth=1, hidden=4, latent=2),
               frame={"window": 16, "hop": 8, "window_fn": None}, normalizer=normalizer)
    return path


def _huge() -> np.ndarray:
    x = np.sin(np.arange(100) / 5)
    x[40] = 1e39
    return x


def test_values_beyond_1e30_are_missing_without_a_normaliser(tmp_path) -> None:
    import tsae

    # before: "the series holds values of magnitude up to 1e+39, beyond float32's range"; now the rule of the table
    # reader and of `tsae reconstruct`: a value beyond 1e30 is a missing one, so it reconstructs as NaN does
    path = _model_file(tmp_path, None)
    gap = _huge()
    gap[40] = np.nan
    np.testing.assert_array_equal(tsae.reconstruct(path, _huge()), tsae.reconstruct(path, gap))


def test_values_beyond_1e30_in_blocks_are_missing_without_a_normaliser(tmp_path) -> None:
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct.batch import reconstruct_file

    gap = _huge()
    gap[40] = np.nan
    np.save(tmp_path / "in.npy", _huge()[None])
    np.save(tmp_path / "gap.npy", gap[None])
    loaded = load_model(_model_file(tmp_path, None))
    reconstruct_file(loaded, tmp_path / "in.npy", tmp_path / "out.npy", block=32)
    reconstruct_file(loaded, tmp_path / "gap.npy", tmp_path / "out_gap.npy", block=32)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), np.load(tmp_path / "out_gap.npy"))


def test_huge_values_with_a_normaliser_still_say_after_normalisation(tmp_path) -> None:
    import tsae

    x = _huge()
    x[40] = 1e29  # not missing, but 1e39 once divided by the scale
    path = _model_file(tmp_path, {"method": "zscore", "center": [0.0], "scale": [1e-10]})
    with pytest.raises(ValueError, match=r"^the series holds values of magnitude up to 1e\+39 after normalisation"):
        tsae.reconstruct(path, x)


# ----------------------------------------------------------------------------- booleans
def _mask(shape: tuple[int, ...] = (2, 50)) -> np.ndarray:
    return np.random.default_rng(0).random(shape) > 0.5


def test_frame_reads_booleans_as_0_and_1_like_smooth() -> None:
    # before: ValueError "x must be a real numeric array (int or float), got dtype bool"
    x = _mask()
    np.testing.assert_array_equal(frame(x, 8, 4, "hann", pad=True), frame(x.astype(np.float32), 8, 4, "hann", pad=True))
    np.testing.assert_array_equal(frame(x, 8, 4, center=True, pad_mode="reflect"),
                                  frame(x.astype(np.float32), 8, 4, center=True, pad_mode="reflect"))


def test_overlap_add_reads_boolean_frames_as_0_and_1() -> None:
    # before: ValueError "frames must be a real numeric array (int or float), got dtype bool"
    frames = _mask((2, 5, 8))
    np.testing.assert_array_equal(overlap_add(frames, 4), overlap_add(frames.astype(np.float32), 4))


def test_the_streaming_framers_read_booleans_as_0_and_1() -> None:
    # before: ValueError "chunk (frames) must be a real numeric array (int or float), got dtype bool"
    x = _mask()
    framer = StreamFramer(8, 4)
    got = np.concatenate([framer.push(x[:, :17]), framer.push(x[:, 17:]), framer.flush()], axis=-2)
    np.testing.assert_array_equal(got, frame(x.astype(np.float32), 8, 4, pad=True))
    ola = StreamOverlapAdd(8, 4)
    frames = _mask((2, 5, 8))
    out = np.concatenate([ola.push(frames[:, :2]), ola.push(frames[:, 2:]), ola.flush()], axis=-1)
    np.testing.assert_array_equal(out, overlap_add(frames.astype(np.float32), 4))


def test_complex_and_text_are_still_refused() -> None:
    with pytest.raises(ValueError, match=r"^x must be a real numeric array \(bool, int or float\), got dtype complex"):
        frame(np.ones(20, complex), 8, 4)
    with pytest.raises(ValueError, match=r"^chunk must be a real numeric array"):
        StreamFramer(8, 4).push(np.array(["a"] * 20))
