"""init_encoder copies exactly the encoder of a same-family model, or says in one line why it cannot."""
from __future__ import annotations

import pytest
import torch

from tsae import plugins
from tsae.models.pretrained import encoder_state, init_encoder

SMALL = {"conv1d": dict(hidden=4, latent=4), "vae": dict(hidden=4, latent=4), "lstm": dict(hidden=4, latent=4),
         "transformer": dict(d_model=8, heads=2, ff=8, latent=4), "dense": dict(hidden=8, latent=4),
         "vqvae": dict(hidden=4, code_dim=4, codebook_size=8)}


@pytest.mark.parametrize("family", sorted(SMALL))
def test_encoder_is_copied_and_nothing_else(family) -> None:
    torch.manual_seed(0)
    old = plugins.create_model(family, channels=2, window=16, **SMALL[family])
    new = plugins.create_model(family, channels=2, window=16, **SMALL[family])
    copied = init_encoder(new, old)
    assert copied == len(encoder_state(old)) > 0
    old_state, new_state, encoder = old.state_dict(), new.state_dict(), encoder_state(new)
    assert all(torch.equal(old_state[key], new_state[key]) for key in encoder)
    assert any(not torch.equal(old_state[key], new_state[key]) for key in new_state if key not in encoder)


def test_mismatches_are_one_line_errors() -> None:
    old = plugins.create_model("conv1d", channels=3, window=16, hidden=4, latent=4)
    with pytest.raises(ValueError, match=r"^pre.tsae: encoder weight encoder.net.0.weight has shape \(4, 3, 5\) "
                                         r"but the new network needs \(4, 2, 5\) .*3 channel\(s\)") as error:
        init_encoder(plugins.create_model("conv1d", channels=2, window=16, hidden=4, latent=4), old, "pre.tsae")
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="only in the new network"):
        init_encoder(plugins.create_model("conv1d", channels=3, window=16, hidden=4, latent=4, depth=4), old)
    with pytest.raises(ValueError, match="is a conv1d model, not vae"):
        init_encoder(plugins.create_model("vae", channels=3, window=16, hidden=4, latent=4), old)
    blind = plugins.create_model("blind_spot", channels=1, window=16)
    with pytest.raises(ValueError, match="no encoder weights"):
        init_encoder(plugins.create_model("blind_spot", channels=1, window=16), blind)
