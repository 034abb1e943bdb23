"""scripts/eval_smooth_short.py: its shapes' series and the cells of a sweep."""
from __future__ import annotations

import numpy as np
import pytest
from script_modules import load_script

es = load_script("eval_smooth_short")


@pytest.mark.parametrize("shape", es.SHAPES)
@pytest.mark.parametrize("n", [5, 15, 127])
def test_every_shape_gives_a_finite_series_of_its_length(shape: str, n: int) -> None:
    truth = es.truth(shape, n, np.random.default_rng(n))
    assert truth.shape == (n,) and np.isfinite(truth).all()
    if "spike" in shape:  # the spikes lie inside the series, where a neighbour on each side can be pulled
        inner = np.abs(truth[1:-1] - np.median(truth)) >= es.SPIKE - 1
        assert inner.sum() == (2 if shape == "two_spikes" else 1)


def test_a_sweep_gives_every_cell_a_ratio(monkeypatch) -> None:
    monkeypatch.setattr(es, "SHAPES", ("flat",))
    cells = es.sweep(100, 1, (7,))
    assert set(cells) == {f"7/flat/{level}/{option}" for level in es.LEVELS for option in es.OPTIONS}
    assert all(0 < ratio < 10 for ratio in cells.values())
