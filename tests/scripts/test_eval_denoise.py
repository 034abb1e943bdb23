"""scripts/eval_denoise.py: the table's methods (no anchors, no data: a generated signal)."""
from __future__ import annotations

import numpy as np
import torch
from script_modules import load_script

import tsae

ed = load_script("eval_denoise")


def test_each_attenuation_limit_is_a_row_of_every_tsae_model_that_runs_with_it() -> None:
    threads = torch.get_num_threads()  # the script's denoisers run on one thread, as its timings say
    try:
        _check_attenuation_rows()
    finally:
        torch.set_num_threads(threads)


def _check_attenuation_rows() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(8000) / ed.SR
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.1 * rng.standard_normal(8000))
    x = x.astype(np.float32)
    labels = ed.model_labels([], [], (6.0, float("inf")))
    methods = ed.build_methods(labels, anchors=False)
    assert list(methods) == [ed.NOISY, "tsae (shipped)", "tsae (shipped), atten-limit 6 dB",
                             "tsae (shipped), atten-limit inf dB"]
    six = methods["tsae (shipped), atten-limit 6 dB"](x)
    np.testing.assert_array_equal(six, tsae.denoise(x, ed.SR, atten_limit=6.0))
    np.testing.assert_array_equal(methods["tsae (shipped)"](x), tsae.denoise(x, ed.SR))
    assert not np.array_equal(six, methods["tsae (shipped)"](x))


def test_at_48khz_each_resampler_asked_for_is_a_row_of_every_tsae_model() -> None:
    threads = torch.get_num_threads()
    try:
        rng = np.random.default_rng(1)
        x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(24000) / 48000) + 0.05 * rng.standard_normal(24000))
        labels = ed.model_labels([], [], ())
        methods = ed.build_methods(labels, anchors=False, rate=48000, qualities=("LD",))
        assert list(methods) == [ed.NOISY, "tsae (shipped)", "tsae (shipped), LD resampler"]
        x = x.astype(np.float32)
        np.testing.assert_array_equal(methods["tsae (shipped), LD resampler"](x),
                                      tsae.denoise(x, 48000, resample_quality="LD"))
        np.testing.assert_array_equal(methods["tsae (shipped)"](x), tsae.denoise(x, 48000))
        assert list(ed.build_methods(labels, anchors=False, qualities=("LD",))) == [ed.NOISY, "tsae (shipped)"]
    finally:
        torch.set_num_threads(threads)
    mixture = {"noisy": x[:16000], "clean": x[:16000], "snr": 5}
    wide = ed.wide_rate(mixture, 48000)
    assert len(wide["noisy"]) == 48000 and wide["clean"] is mixture["clean"] and wide["snr"] == 5
