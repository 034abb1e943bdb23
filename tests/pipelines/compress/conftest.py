from __future__ import annotations

import pytest
import torch

from compress_helpers import WINDOW, FakeVQ, loaded, tiny_model_file


@pytest.fixture(scope="session")
def conv_model():
    """An untrained two-channel conv1d model, in memory."""
    from tsae.plugins import create_model

    torch.manual_seed(0)
    model = create_model("conv1d", 2, WINDOW, depth=2, hidden=4, latent=4)
    return loaded(model, {"method": "zscore", "center": [0.0, 1.0], "scale": [1.0, 2.0]})


@pytest.fixture(scope="session")
def vq_model():
    return loaded(FakeVQ(2, WINDOW))


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    """An untrained two-channel conv1d model file."""
    return tiny_model_file(tmp_path_factory.mktemp("model") / "tiny.tsae", 1,
                           {"method": "zscore", "center": [0.0, 0.0], "scale": [1.0, 1.0]})
