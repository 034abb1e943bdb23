from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli


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


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A table, a model and a detector trained on it (by the CLI)."""
    folder = tmp_path_factory.mktemp("trained")
    src = folder / "x.csv"
    src.write_text("time,a,b\n" + "".join(f"{i},{np.sin(i / 9):.4f},{np.cos(i / 7):.4f}\n" for i in range(600)))
    for args in (["train", str(src), "-o", str(folder / "m.tsae"), "--epochs", "1", "--window", "16", "-q"],
                 ["detect", "fit", str(src), "-o", str(folder / "d.tsae"), "--epochs", "1", "--window", "16", "-q"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    return src, folder / "m.tsae", folder / "d.tsae"
