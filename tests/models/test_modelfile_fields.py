"""Crafted model-file fields: each refused with one line naming the file and the field, before memory is spent.

Peak memory is the process's resident high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs``): torch's allocations do not show in ``tracemalloc``.
"""
from __future__ import annotations

import json
import math
import os
import struct
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from tsae import Autoencoder, Param, hookimpl, plugins
from tsae.models.fields import ModelFileError
from tsae.models.modelfile import load_model, read_model_header, save_model

MB = 1 << 20


@pytest.fixture()
def wide(tmp_path) -> Path:
    """A ~100 KB conv1d file whose latent layer is wide: at a window of 10**6 it would need 4 GB of weights."""
    torch.manual_seed(0)
    model = plugins.create_model("conv1d", channels=2, window=24, hidden=4, latent=256, depth=2)
    return save_model(tmp_path / "wide.tsae", model, frame={"window": 24, "hop": 6, "window_fn": None},
                      normalizer={"method": "zscore", "center": [0.0, 1.0], "scale": [1.0, 2.0]}, sample_rate=100,
                      extra={"note": "hi"}, arrays={"val_errors": np.arange(4.0)})


def refused(path: Path, field: str | None, match: str) -> str:
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    assert info.value.field == field and (field is None or f": {field}: " in message), message
    assert match in message, message
    return message


def _set(*keys: str, value):
    def mutate(head: dict) -> None:
        target = head
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return mutate


@pytest.mark.parametrize("keys,value,match", [
    (("hparams", "hidden"), "4", "must be an integer, not '4'"),
    (("hparams", "hidden"), [4], "must be an integer, not [4]"),
    (("hparams", "hidden"), 10**30, "out of range"),
    (("hparams", "depth"), 2.0, "must be an integer"),
    (("hparams", "reg_weight"), float("nan"), "must be a finite number, not nan"),
    (("hparams", "reg_weight"), "0.1", "must be a number"),
    (("hparams", "regularizer"), 3, "must be a string"),
    (("hparams", "regularizer"), "bogus", "'bogus' is not one of none, denoising"),
    (("hparams", "depth"), 0, "0 is out of range [1, "),
    (("hparams", "channels"), 0, "out of range"),
    (("hparams", "window"), -24, "out of range"),
    (("frame", "hop"), 0, "0 is out of range [1,"),
    (("frame", "hop"), -6, "-6 is out of range [1,"),
    (("frame", "hop"), [6], "must be an integer, not [6]"),
    (("frame", "window"), 24.0, "must be an integer"),
    (("frame", "window_fn"), 3, "must be a string"),
    (("sample_rate",), float("inf"), "must be a finite number, not inf"),
    (("sample_rate",), -100, "out of range"),
    (("sample_rate",), "fast", "must be a number"),
    (("normalizer", "scale"), [1.0, 0.0], "out of range"),
    # subnormal: loaded, then every series was refused as 'beyond float64's range', the data blamed (fuzz, before)
    (("normalizer", "scale"), [1.0, 1e-320], "1e-320 is below 1.18e-38"),
    # tiny but normal: loaded, then a series divided by it overflowed
    (("normalizer", "scale"), [1.0, 1e-200], "1e-200 is below 1.18e-38"),
    (("normalizer", "center"), ["x", 1.0], "must be a number"),
    (("extra", "note"), float("-inf"), "must be a finite number"),
    (("format_version",), True, "must be an integer"),
    (("plugin",), 5, "must be a string"),
])
def test_header_fields_are_checked_before_use(wide, craft_model_file, keys, value, match) -> None:
    path = craft_model_file(wide, "crafted.tsae", header=_set(*keys, value=value))
    field = ".".join(keys)
    if isinstance(value, list) and keys[0] == "normalizer":
        field += "[1]" if keys[-1] == "scale" else "[0]"
    refused(path, field, match)
    non_finite = isinstance(value, float) and not math.isfinite(value)
    if keys[0] != "hparams" or keys[1] in ("channels", "window") or non_finite:
        # the rest of hparams is checked against the family's parameters, which only loading knows
        with pytest.raises(ModelFileError, match=match.replace("[", r"\[")):
            read_model_header(path)


def test_normalizer_lengths_must_agree(wide, craft_model_file) -> None:
    path = craft_model_file(wide, "norm.tsae", header=_set("normalizer", "scale", value=[1.0]))
    refused(path, "normalizer", "center and scale differ in length (2 and 1)")


@pytest.mark.parametrize("keys,value,field,match", [
    (("normalizer", "method"), "minmax", "normalizer.method", "'minmax' is not one of zscore, robust"),
    (("normalizer", "method"), 3, "normalizer.method", "3 is not one of"),
    (("normalizer", "center"), [0.0], "normalizer", "statistics of 1 channel(s) but the network has 2"),
    (("frame", "window"), 12, "frame.window", "12 differs from the network's window (24)"),
    (("frame", "window_fn"), "sqrt_hann", "frame.window_fn", "'sqrt_hann' is not a window scipy"),
    (("frame", "hop"), 25, "frame.hop", "25 is larger than frame.window (24): samples between windows"),
])
def test_what_the_series_pipelines_use_is_checked_at_load(wide, craft_model_file, keys, value, field, match) -> None:
    mutate = _set(*keys, value=value)
    if keys == ("normalizer", "center"):
        def mutate(head: dict) -> None:
            head["normalizer"].update(center=[0.0], scale=[1.0])
    refused(craft_model_file(wide, "crafted.tsae", header=mutate), field, match)


def test_a_normalizer_without_its_statistics_is_refused(wide, craft_model_file) -> None:
    def drop_scale(head: dict) -> None:
        del head["normalizer"]["scale"]
    refused(craft_model_file(wide, "crafted.tsae", header=drop_scale), "normalizer", "has no 'scale'")


def test_a_known_window_and_the_denoisers_own_taper_still_load(wide, craft_model_file) -> None:
    from tsae.pipelines.denoise.denoiser import shipped_models

    assert load_model(craft_model_file(wide, "hann.tsae", header=_set("frame", "window_fn", value="hann")))
    assert load_model(shipped_models()["denoiser2"]).frame["window_fn"] == "sqrt_hann"


def test_unsupported_tensor_dtype_names_the_tensor(wide, tmp_path) -> None:
    data = wide.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    head = json.loads(data[8:8 + n])
    head["to_latent.bias"]["dtype"] = "C64"
    blob = json.dumps(head).encode()
    path = tmp_path / "c64.tsae"
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data[8 + n:])
    refused(path, None, "bad entry for tensor 'to_latent.bias': unsupported dtype 'C64'")


def test_tensor_dtypes(wide, craft_model_file) -> None:
    def bf16_array(state):
        state["arrays.half"] = torch.zeros(3, dtype=torch.bfloat16)

    refused(craft_model_file(wide, "bf16.tsae", tensors=bf16_array), "array 'half'", "unsupported dtype BF16")

    def int_weight(state):
        state["to_latent.bias"] = state["to_latent.bias"].to(torch.int64)

    refused(craft_model_file(wide, "int.tsae", tensors=int_weight), None,
            "wrong dtype: to_latent.bias; to_latent.bias is stored as I64")

    def bf16_weights(state):  # read by offset as raw 16-bit words, viewed as bfloat16, cast on load
        for key in [k for k in state if not k.startswith("arrays.")]:
            state[key] = state[key].to(torch.bfloat16)

    loaded = load_model(craft_model_file(wide, "bf16w.tsae", tensors=bf16_weights))
    expected = load_model(wide).model.state_dict()["to_latent.weight"].to(torch.bfloat16).float()
    assert torch.equal(loaded.model.state_dict()["to_latent.weight"], expected)


def test_nan_or_inf_weights_are_refused(wide, craft_model_file) -> None:
    def poison(state):
        state["to_latent.weight"][3, 7] = math.nan
        state["encoder.net.0.bias"][0] = math.inf

    with pytest.raises(ModelFileError, match="holds NaN or infinite values") as info:
        load_model(craft_model_file(wide, "nan.tsae", tensors=poison))
    assert info.value.field in ("weight 'encoder.net.0.bias'", "weight 'to_latent.weight'")


def _peak_rss_growth(action) -> int:
    """Bytes the resident high-water mark grows by while ``action()`` runs (Linux)."""
    clear = Path("/proc/self/clear_refs")
    if not os.access(clear, os.W_OK):
        pytest.skip("needs a writable /proc/self/clear_refs to reset the peak RSS")

    def status(key: str) -> int:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(key))
        return int(line.split()[1]) * 1024

    clear.write_text("5")
    start = status("VmRSS:")
    action()
    return status("VmHWM:") - start


def test_a_window_of_a_million_fails_before_allocating(wide, craft_model_file) -> None:
    """main allocated the whole network (4 GB here) before noticing the weights do not fit."""
    path = craft_model_file(wide, "million.tsae", header=_set("hparams", "window", value=10**6))
    assert path.stat().st_size < 200_000

    def load() -> None:
        refused(path, None, "wrong shape: from_latent.bias, from_latent.weight, to_latent.weight; "
                            "from_latent.bias is [48] in the file, the parameters need [2000000]")

    assert _peak_rss_growth(load) < 100 * MB


def test_a_constructor_asked_for_a_million_layers_is_stopped(wide, craft_model_file) -> None:
    path = craft_model_file(wide, "deep.tsae", header=_set("hparams", "depth", value=2**20))

    def load() -> None:
        refused(path, None, "conv1d: stride**depth (2**1048576) pads a window of")  # refused by the family itself

    assert _peak_rss_growth(load) < 100 * MB


def test_a_sparse_2gb_file_is_never_read_whole(wide, tmp_path) -> None:
    """The header declares ~100 KB of tensors; the 2 GB of zeros after them are refused unread."""
    path = tmp_path / "sparse.tsae"
    path.write_bytes(wide.read_bytes())
    os.truncate(path, 2 * 1024**3)

    def load() -> None:
        refused(path, None, "bytes of tensors but 21474")
        with pytest.raises(ModelFileError, match="bytes of tensors but"):
            read_model_header(path)

    assert _peak_rss_growth(load) < 100 * MB


def test_a_good_file_still_round_trips(wide) -> None:
    loaded = load_model(wide)
    assert loaded.hparams["latent"] == 256 and loaded.frame == {"window": 24, "hop": 6, "window_fn": None}
    np.testing.assert_array_equal(loaded.arrays["val_errors"], np.arange(4.0))
    assert loaded.arrays["val_errors"].flags.writeable


class _ReadsItsWeights(Autoencoder):
    """A family whose constructor reads a weight's value, which torch's meta device cannot give."""

    name = "reads_its_weights"
    params = {"hidden": Param(3, "width")}

    def __init__(self, channels: int, window: int, **hparams) -> None:
        super().__init__(channels, window, **hparams)
        self.lin = torch.nn.Linear(channels * window, self.config["hidden"])
        self.largest = float(self.lin.weight.detach().abs().max())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z.new_zeros(z.shape[0], self.channels, self.window)


@pytest.fixture()
def value_reading_family():
    @hookimpl
    def register_models(register):
        register(_ReadsItsWeights)

    plugins.reset()
    plugins.register_plugin(types.SimpleNamespace(register_models=register_models), "reads_its_weights")
    yield
    plugins.reset()


def test_a_family_that_cannot_be_built_on_meta_still_loads_and_is_checked(value_reading_family, tmp_path,
                                                                            craft_model_file) -> None:
    saved = save_model(tmp_path / "r.tsae", plugins.create_model("reads_its_weights", channels=2, window=8))
    assert load_model(saved).model.lin.weight.shape == (3, 16)
    crafted = craft_model_file(saved, "wide.tsae", header=_set("hparams", "window", value=4096))
    refused(crafted, None, "lin.weight is [3, 16] in the file, the parameters need [3, 8192]")


def test_bool_parameters(tmp_path, craft_model_file) -> None:
    model = plugins.create_model("lstm", channels=1, window=8, hidden=2, latent=2, patch=4, bidirectional=False)
    saved = save_model(tmp_path / "lstm.tsae", model)
    assert load_model(craft_model_file(saved, "zero.tsae", header=_set("hparams", "bidirectional", value=0)))
    for value in ("no", [False], 0.0):
        crafted = craft_model_file(saved, "crafted.tsae", header=_set("hparams", "bidirectional", value=value))
        refused(crafted, "hparams.bidirectional", "must be true or false")


@pytest.mark.parametrize("hop", [0, -256, 513])
def test_the_shipped_denoiser_with_a_crafted_hop(craft_model_file, hop) -> None:
    from tsae.pipelines.denoise.denoiser import shipped_models

    crafted = craft_model_file(shipped_models()["denoiser"], "denoiser.tsae", header=_set("hparams", "hop", value=hop))
    if hop < 1:  # below the bound its Param declares: refused before the constructor runs
        refused(crafted, "hparams.hop", f"{hop} is out of range [1, ")
    else:
        refused(crafted, None, f"cannot rebuild model family 'denoiser' from its stored parameters "
                               f"(denoiser: hop must be in [1, window=512], got {hop})")


def test_the_normalizers_smallest_scale_is_the_smallest_divisor_a_file_may_store() -> None:
    # before: twins, SMALLEST_SCALE in tsae.engine.preprocess and SMALLEST_DIVISOR here, free to drift apart
    import subprocess
    import sys

    from tsae.engine import layout, preprocess
    from tsae.models import fields

    assert fields.SMALLEST_DIVISOR is layout.SMALLEST_DIVISOR is preprocess.SMALLEST_DIVISOR
    assert "SMALLEST_DIVISOR" in fields.__all__ and not hasattr(preprocess, "SMALLEST_SCALE")
    # one definition, in the engine's layer, that the file checks import without numba (a model file loads fast)
    code = "import sys, tsae.models.fields; print('numba' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
