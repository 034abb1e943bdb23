from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture()
def sensor_csv(tmp_path):
    """A 3-channel sensor CSV with a time column, a label column and a few missing cells."""
    rng = np.random.default_rng(0)
    n = 1200
    t = np.arange(n) / 50.0
    rows = ["time,temp,vib,pressure,label"]
    for i in range(n):
        values = [np.sin(t[i]) + 0.05 * rng.standard_normal(), np.cos(3 * t[i]), 0.01 * i]
        cells = [f"{v:.5f}" for v in values]
        if i % 97 == 5:
            cells[1] = ""
        rows.append(f"{t[i]:.2f}," + ",".join(cells) + f",{int(i % 300 == 0)}")
    path = tmp_path / "sensors.csv"
    path.write_text("\n".join(rows) + "\n")
    return path
