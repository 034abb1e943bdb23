"""Every built-in family trains on synthetic sensor data, reconstructs held-out windows and round-trips."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsae import plugins
from tsae.models.modelfile import load_model, save_model
from tsae.models.trainer import TrainConfig, evaluate, seed_everything, train_model

from synthetic_data import windows_of

FAMILIES = {
    "conv1d": dict(hidden=16, latent=16),
    "lstm": dict(hidden=32, latent=16),
    "transformer": dict(d_model=32, ff=64, layers=1, latent=16),
    "vae": dict(hidden=16, latent=16),
    "blind_spot": dict(hidden=16, layers=3),
    "dense": dict(hidden=64, layers=1, latent=16),
    "vqvae": dict(hidden=16, codebook_size=128),
}
WINDOW = 64


@pytest.fixture(scope="module")
def split(normalized: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    train = windows_of(normalized[:, :6000], WINDOW, 8)
    heldout = windows_of(normalized[:, 6500:], WINDOW, 16)
    return train, heldout


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_learns_and_round_trips(family: str, split, tmp_path) -> None:
    train, heldout = split
    seed_everything(0)
    model = plugins.create_model(family, channels=3, window=WINDOW, **FAMILIES[family])
    # a fixed epoch count (not a time budget) keeps the result independent of the machine load
    config = TrainConfig(epochs=30, lr=3e-3, patience=10, quiet=True, device="cpu")
    result = train_model(model, train, config)
    assert result.history and result.epochs_run >= 1
    assert result.val_errors.shape == (len(result.val_indices),)
    mse = evaluate(result.model, heldout).mean()
    assert mse < 0.1 * heldout.var(), f"{family}: held-out MSE {mse:.4f} vs signal variance {heldout.var():.4f}"

    path = tmp_path / f"{family}.tsae"
    save_model(path, result.model, frame={"window": WINDOW, "hop": 8, "window_fn": None}, sample_rate=100.0)
    loaded = load_model(path)
    assert loaded.family == family and loaded.plugin == family and loaded.sample_rate == 100.0
    x = torch.from_numpy(heldout[:7])
    with torch.no_grad():
        assert torch.equal(result.model(x), loaded.model(x))
        assert torch.equal(result.model.encode(x), loaded.model.encode(x))


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("channels,window", [(1, 37), (2, 13), (4, 130), (1, 1)])
def test_any_window_length(family: str, channels: int, window: int) -> None:
    """Windows not divisible by the strides/patches are padded inside and cropped back."""
    torch.manual_seed(0)
    model = plugins.create_model(family, channels=channels, window=window, **FAMILIES[family]).eval()
    x = torch.randn(3, channels, window)
    with torch.no_grad():
        z = model.encode(x)
        y = model.decode(z)
    assert y.shape == x.shape
    assert z.shape[0] == 3


def test_vae_samples_new_windows() -> None:
    torch.manual_seed(0)
    vae = plugins.create_model("vae", channels=3, window=50, latent=8, hidden=8)
    windows = vae.sample(5, generator=torch.Generator().manual_seed(1))
    assert windows.shape == (5, 3, 50)
    assert torch.isfinite(windows).all()
    again = vae.sample(5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(windows, again)


def test_vae_training_loss_has_kl_term() -> None:
    torch.manual_seed(0)
    vae = plugins.create_model("vae", channels=2, window=32, latent=4, hidden=8, beta=4.0)
    x = torch.randn(6, 2, 32)
    loss, parts, z = vae.training_loss(x, x)
    assert {"mse", "kl"} <= set(parts) and z.shape == (6, 4)
    assert float(loss.detach()) > parts["mse"]  # beta * KL is added


def test_unknown_parameter_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown parameter"):
        plugins.create_model("conv1d", channels=1, window=32, latnet=4)
    with pytest.raises(ValueError, match="kernel"):
        plugins.create_model("conv1d", channels=1, window=32, kernel=4)
    with pytest.raises(ValueError, match="heads"):
        plugins.create_model("transformer", channels=1, window=32, d_model=30, heads=4)


def test_hparams_rebuild_the_same_network() -> None:
    for family, hp in FAMILIES.items():
        model = plugins.create_model(family, channels=2, window=40, **hp)
        twin = type(model)(**model.hparams())
        assert twin.hparams() == model.hparams()
        twin.load_state_dict(model.state_dict(), strict=True)


def test_blind_spot_is_a_built_in_family_and_never_reads_the_sample_itself() -> None:
    """Registered through its entry point (listed by `tsae models`); output t ignores input t;
    the loss skips the margins."""
    from click.testing import CliRunner

    from tsae.cli import cli

    info = plugins.model_plugin_info("blind_spot")
    assert info is not None and info.name == "blind_spot"
    listed = CliRunner().invoke(cli, ["models"])
    assert listed.exit_code == 0 and "\nblind_spot: " in "\n" + listed.output
    torch.manual_seed(0)
    net = plugins.create_model("blind_spot", channels=2, window=64, layers=3)
    torch.nn.init.normal_(net.mix[2].weight)  # the last layer starts at zero: make the output depend on the input
    x = torch.randn(1, 2, 64)
    poked = x.clone()
    poked[..., 32] += 10.0
    with torch.no_grad():
        out, out_poked = net(x), net(poked)
    changed = (out - out_poked).abs().amax(dim=(0, 1)) > 0
    assert not changed[32] and changed[33] and changed[31]
    target = x.clone()
    target[..., : net.margin] += 100.0  # the edges are left out of the loss
    assert float(net.loss(out, target)[0]) == pytest.approx(float(net.loss(out, x)[0]))


def test_a_network_keeping_its_taper_in_a_buffer_is_a_streaming_model() -> None:
    # Python 3.12's isinstance() against a protocol looks members up statically and misses a
    # torch buffer, so the shipped denoisers failed to load there (their window_fn is a buffer)
    import torch

    from tsae.models.base import is_streaming_model

    class Streams(torch.nn.Module):
        window, hop, lookahead, latency = 8, 4, 0, 8

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("window_fn", torch.ones(8), persistent=False)

        def init_state(self, batch: int = 1) -> dict:
            return {}

        def step(self, frame: torch.Tensor, state: dict) -> torch.Tensor:
            return frame

    net = Streams()
    assert "window_fn" not in vars(net)  # the case itself: the member lives in the module's buffers
    assert is_streaming_model(net)
    net.step = None  # type: ignore[assignment]
    assert not is_streaming_model(net)
    assert not is_streaming_model(torch.nn.Linear(2, 2))
