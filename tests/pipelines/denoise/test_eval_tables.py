"""The pure helpers of scripts/eval_denoise.py (scripts/denoise_tables.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "denoise_tables.py"
spec = importlib.util.spec_from_file_location("denoise_tables", SCRIPT)
tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tables)


@pytest.mark.parametrize("name, category", [
    ("blanket_coffee_shop.wav", "coffee shop"),
    ("babble_librispeech_train_03.wav", "babble"),
    ("speechcommands_exercise_bike.wav", "exercise bike"),
    ("moodist_rain-on-window_2.wav", "rain on window"),
    ("fan.wav", "fan"),
])
def test_noise_category_drops_source_and_number(name: str, category: str) -> None:
    assert tables.noise_category(name) == category


def test_group_means_by_key_by_set_and_empty_group() -> None:
    values = np.array([1.0, 2.0, 3.0, 5.0])
    keys = ["a", "b", "a", "c"]
    means = tables.group_means(values, keys, ["a", {"b", "c"}, "missing"])
    assert means[:2] == [2.0, 3.5] and np.isnan(means[2])


def test_differences_to_deepfilternet_and_best_anchor() -> None:
    rows = {tables.NOISY: [1.0, 1.0], "RNNoise": [2.0, 3.0], tables.DFN: [2.5, 2.0], "tsae": [3.0, 2.5]}
    out = tables.with_differences(rows, ["tsae"])
    assert out[f"tsae - {tables.DFN}"] == [0.5, 0.5]
    assert out["tsae - best anchor"] == [0.5, -0.5]


def _eval_script():
    path = SCRIPT.parent / "eval_denoise.py"
    module_spec = importlib.util.spec_from_file_location("eval_denoise", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_narrow_band_mixtures_and_anchors_at_8khz() -> None:
    ev = _eval_script()
    t = np.arange(16000) / 16000
    wide = {"noisy": (0.3 * np.sin(2 * np.pi * 500 * t) + 0.3 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32),
            "clean": (0.3 * np.sin(2 * np.pi * 500 * t)).astype(np.float32), "snr": 5, "category": "hum"}
    narrow = ev.narrow_band(wide, 8000)
    assert narrow["snr"] == 5 and narrow["category"] == "hum"
    assert len(narrow["noisy"]) == len(narrow["clean"]) == 8000
    # the 6 kHz tone is above the 4 kHz band edge: only the 500 Hz one is left
    assert ev.si_sdr(narrow["noisy"][500:-500], narrow["clean"][500:-500]) > 30
    # a 16 kHz-only method on 8 kHz audio: up, the method, back down; same length, same signal
    seen_rates = []

    def identity_at_16k(x: np.ndarray) -> np.ndarray:
        seen_rates.append(len(x))
        return x

    out = ev.at_rate(identity_at_16k, 8000)(narrow["clean"])
    assert seen_rates == [16000] and out.shape == (8000,)
    assert ev.si_sdr(out[500:-500], narrow["clean"][500:-500]) > 30
    assert ev.at_rate(identity_at_16k, 16000) is identity_at_16k
    assert len(ev.resampled(narrow["clean"], 8000, 16000)) == 16000
    assert ev.resampled(narrow["clean"], 8000, 8000) is narrow["clean"]


def test_real_recordings_are_checked_before_anything_is_scored(tmp_path) -> None:
    import soundfile as sf

    ev = _eval_script()
    sf.write(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    assert ev.real_files(tmp_path) == [tmp_path / "a.wav"]
    sf.write(tmp_path / "b.wav", np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(SystemExit, match=r"b\.wav: no audio samples \(zero length\)"):
        ev.real_files(tmp_path)
    (tmp_path / "b.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    with pytest.raises(SystemExit, match=r"b\.wav: not a readable audio file \("):
        ev.real_files(tmp_path)
