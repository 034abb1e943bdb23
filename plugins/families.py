"""The built-in model families, registered by name without importing torch.

Each entry point of the ``tsae`` group named after a family (``conv1d = "tsae_plugins.families:conv1d"``)
is one :class:`BuiltinFamily`: its ``register_models`` hook registers a
:class:`tsae.plugins.LazyFamily`, so ``tsae --help`` and ``tsae plugins`` list the
families without loading a network; the family's module (and torch) is imported the
first time the family is used. A third-party plugin can do the same.
"""
from __future__ import annotations

from typing import Any

from tsae.hookspecs import hookimpl
from tsae.plugins import LazyFamily


class BuiltinFamily:
    """A plugin object registering one family lazily (``target`` is ``"module:Class"``)."""

    def __init__(self, name: str, target: str) -> None:
        self.family = LazyFamily(name, target)

    @hookimpl
    def register_models(self, register: Any) -> None:
        register(self.family)


conv1d = BuiltinFamily("conv1d", "tsae_plugins.conv1d:Conv1dAE")
lstm = BuiltinFamily("lstm", "tsae_plugins.lstm_seq2seq:LSTMSeq2SeqAE")
transformer = BuiltinFamily("transformer", "tsae_plugins.transformer_seq2seq:TransformerSeq2SeqAE")
vae = BuiltinFamily("vae", "tsae_plugins.vae:BetaVAE")
dense = BuiltinFamily("dense", "tsae_plugins.dense:DenseAE")
vqvae = BuiltinFamily("vqvae", "tsae_plugins.vqvae:VQVAE")
denoiser = BuiltinFamily("denoiser", "tsae_plugins.denoiser:DenoiserNet")
denoiser2 = BuiltinFamily("denoiser2", "tsae_plugins.denoiser2:Denoiser2Net")
blind_spot = BuiltinFamily("blind_spot", "tsae_plugins.blind_spot:BlindSpotNet")
