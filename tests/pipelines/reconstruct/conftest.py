from __future__ import annotations

import numpy as np
import pytest


def write_csv(path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    a = np.sin(t / 9) + 0.1 * rng.normal(size=n)
    b = np.cos(t / 7)
    path.write_text("time,a,b\n" + "".join(f"{i * 0.5},{a[i]:.6f},{b[i]:.6f}\n" for i in range(n)))


@pytest.fixture()
def series_dir(tmp_path):
    """Four good CSV files and one corrupt one."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        write_csv(folder / f"s{i}.csv", 300 + 41 * i, i)
    (folder / "broken.csv").write_text("time,a,b\n1,2\n3,x,4\n")
    return folder
