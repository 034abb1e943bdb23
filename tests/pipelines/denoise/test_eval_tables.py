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
