"""Every hook a tsae plugin can implement: this module is the plugin author's reference.

A plugin is a module (or object) registered under the ``tsae`` entry-point group
in its package's ``pyproject.toml``::

    [project.entry-points.tsae]
    my_plugin = "my_package.my_module"

and implements some of the hooks below with ``@tsae.hookimpl``. Each ``register_*``
hook receives a ``register`` callback rather than returning a list, so that new
keyword arguments can be added later without breaking any plugin. tsae's own
model families live in ``tsae_plugins`` and are registered through this same door.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("tsae")
hookimpl = pluggy.HookimplMarker("tsae")


@hookspec
def register_models(register: Callable[..., None]) -> None:
    """Register autoencoder families.

    Called once, when tsae first needs its model registry (``tsae models``,
    ``tsae train``, loading a model file).

    Parameters
    ----------
    register
        ``register(family)`` where ``family`` is a subclass of
        :class:`tsae.models.base.Autoencoder` with a unique ``name`` class
        attribute (the name users pass to ``--model`` and that model files store).
        Registering a name that another plugin already registered is an error,
        reported for this plugin by ``tsae plugins``.

    The family implements ``encode``/``decode`` and declares its ``params``; the
    shared trainer calls ``encode``, ``decode`` and ``loss``, unless the family
    defines ``training_loss(x, target) -> (loss, parts, z)`` to own the whole step
    (the VAE does, for its sampled code and KL term). Model files store
    ``hparams()`` and the state dict, so ``family(**hparams())`` must rebuild the
    same network.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add sub-commands to the ``tsae`` command line.

    Called once, when the command line first lists or resolves sub-commands.

    Parameters
    ----------
    cli
        The root :class:`click.Group`; use ``@cli.command()`` or ``cli.add_command``.
    """


@hookspec
def register_sources(register: Callable[..., None]) -> None:
    """Register stream sources for ``tsae monitor`` (where samples come from).

    Parameters
    ----------
    register
        ``register(scheme, factory)``: ``scheme`` is a short name such as
        ``"stdin"`` or ``"mqtt"``; ``factory(**options)`` returns an iterable of
        raw records (text lines or bytes payloads).
    """


@hookspec
def register_sinks(register: Callable[..., None]) -> None:
    """Register stream sinks for ``tsae monitor`` (where events go).

    Parameters
    ----------
    register
        ``register(scheme, factory)``: ``factory(**options)`` returns an object
        with ``write(record: dict)`` and ``close()``.
    """


@hookspec
def register_pipelines(register: Callable[..., None]) -> None:
    """Register named pipelines (denoise, detect, smooth, ...) usable from Python.

    Parameters
    ----------
    register
        ``register(name, callable)``: ``callable`` takes a signal array and
        keyword options and returns the processed result.
    """
