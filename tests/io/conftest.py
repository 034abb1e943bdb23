"""Small files for the io tests: a two-channel CSV, a tiny model file, a short WAV, a fitted detector."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli


@pytest.fixture()
def run():
    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args])

    return invoke


@pytest.fixture()
def csv_file(tmp_path):
    t = np.arange(200)
    rows = "".join(f"{i * 0.5},{np.sin(i / 9):.6f},{np.cos(i / 7):.6f}\n" for i in t)
    path = tmp_path / "d.csv"
    path.write_text("time,a,b\n" + rows)
    return path


@pytest.fixture()
def model_file(tmp_path):
    """An untrained two-channel conv1d model file."""
    import torch

    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    torch.manual_seed(0)
    path = tmp_path / "m.tsae"
    save_model(path, create_model("conv1d", 2, 32, depth=1, hidden=4, latent=4),
               frame={"window": 32, "hop": 16, "window_fn": None})
    return path


@pytest.fixture()
def wav_file(tmp_path):
    soundfile = pytest.importorskip("soundfile")
    path = tmp_path / "a.wav"
    soundfile.write(path, (0.1 * np.random.default_rng(0).standard_normal(1600)).astype(np.float32), 16000)
    return path

