"""The attenuation limit a denoiser applies when none is given: the model family's default (45 dB for denoiser2)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.denoise import denoise
from tsae.pipelines.denoise.denoiser import StreamingDenoiser, load_denoiser


def _noise(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(16000 * seconds))).astype(np.float32)


def _db(x: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(np.asarray(x, np.float64) ** 2)))


def test_none_is_the_models_default_and_inf_is_no_limit() -> None:
    assert StreamingDenoiser().atten_limit == 45.0  # the shipped default model, denoiser2
    assert StreamingDenoiser(model="denoiser2", atten_limit=None).atten_limit == 45.0
    assert StreamingDenoiser(model="denoiser").atten_limit == math.inf  # that family declares none
    assert StreamingDenoiser(atten_limit=math.inf).atten_limit == math.inf
    assert StreamingDenoiser(atten_limit=12).atten_limit == 12.0


def test_the_default_is_applied_and_inf_lifts_it() -> None:
    x = _noise()
    default, explicit = denoise(x, 16000), denoise(x, 16000, atten_limit=45)
    unlimited = denoise(x, 16000, atten_limit=math.inf)
    np.testing.assert_array_equal(default, explicit)
    body = slice(8000, 24000)  # past the start, where the noise is learnt
    # no bin is taken down by more than 45 dB, so neither is the whole: pure noise stays above the floor
    assert _db(default[body]) >= _db(x[body]) - 45.5
    assert _db(unlimited[body]) < _db(default[body]) - 1.0  # without the limit the model goes deeper


def test_a_family_default_that_is_not_a_number_of_db_is_named() -> None:
    net, _ = load_denoiser("denoiser2")
    net.default_atten_limit = -3.0
    try:
        with pytest.raises(ValueError, match="model family 'denoiser2': default_atten_limit must be None or a number "
                                             "of dB >= 0, got -3.0"):
            StreamingDenoiser(model=net)
        assert StreamingDenoiser(model=net, atten_limit=10).atten_limit == 10.0  # a given limit needs no default
    finally:
        del net.default_atten_limit  # the network is cached: the class attribute again


def test_cli_atten_limit_inf_and_the_export_sidecar(tmp_path) -> None:
    pytest.importorskip("onnx")
    src = tmp_path / "noise.wav"
    sf.write(src, _noise(1.0), 16000, subtype="FLOAT")
    for args, name in (([], "default.wav"), (["--atten-limit", "inf"], "unlimited.wav")):
        result = CliRunner().invoke(cli, ["denoise", str(src), "-o", str(tmp_path / name), "-q", *args])
        assert result.exit_code == 0, result.output
    default = sf.read(tmp_path / "default.wav", dtype="float32")[0]
    np.testing.assert_array_equal(default, denoise(_noise(1.0), 16000))
    np.testing.assert_array_equal(sf.read(tmp_path / "unlimited.wav", dtype="float32")[0],
                                  denoise(_noise(1.0), 16000, atten_limit=math.inf))
    for args, expected in (([], 45.0), (["--atten-limit", "inf"], None), (["--atten-limit", "12"], 12.0)):
        out = tmp_path / f"d{len(args)}{expected}.onnx"
        result = CliRunner().invoke(cli, ["export", "denoiser2", "-o", str(out), "-q", *args])
        assert result.exit_code == 0, result.output
        meta = json.loads(out.with_suffix(".json").read_text())
        assert meta["atten_limit"] == expected
    # null there is no limit, where the Python API's atten_limit=None is the model's default; "inf" a state's
    # +infinity: the sidecar did not say what either meant
    usage = meta["usage"]
    assert "`atten_limit` (null: no limit, not the model's default" in usage, usage
    assert '"inf": +infinity' in usage, usage
    readme = " ".join((Path(__file__).parents[3] / "README.md").read_text().split())
    assert "`atten_limit` null is no limit (`--atten-limit inf`), not the model's default" in readme
