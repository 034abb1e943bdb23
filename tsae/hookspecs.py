"""Every hook a tsae plugin can implement: this module is the plugin author's reference.

A plugin is a module (or object) registered under the ``tsae`` entry-point group
in its package's ``pyproject.toml``::

    [project.entry-points.tsae]
    my_plugin = "my_package.my_module"

and implements some of the hooks below with ``@tsae.hookimpl``. Each ``register_*``
hook receives a ``register`` callback rather than returning a list, so that new
keyword arguments can be added later without breaking any plugin (a hook that does
not take its argument registers nothing, and is reported). tsae's own
model families live in ``tsae_plugins`` and are registered through this same door,
and the names they register are reserved: a plugin registering one is refused for
that name (named in ``tsae plugins``) and the built-in keeps working. A hook
implementation whose name is not one of these hooks refuses the plugin, and so does
one of these hooks left without ``@tsae.hookimpl`` (pluggy would skip it). What a
plugin's import or hook raises (``sys.exit()`` included) is reported naming the
plugin and goes no further; an entry-point module slower than
``tsae.plugins.SLOW_IMPORT_SECONDS`` to import is named in a warning. The plugin
author's guide is ``docs/plugins.md``.
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
        attribute (the name users pass to ``--family`` and that model files store),
        or a :class:`tsae.plugins.LazyFamily` (name and ``"package.module:Class"``,
        imported on first use). Call it once per family. A name a built-in or an
        earlier plugin holds is refused, and so is anything that is not such a class
        (a function, an instance, a list, None), a class without a ``name``, a
        ``description`` that is not a string, a family whose constructor takes an
        argument not declared in ``params`` (typed :class:`tsae.models.params.Param`)
        or whose ``Param`` default breaks its own bounds or choices. Each refusal is
        one line naming the plugin (``tsae plugins``) and refuses that family alone:
        the hook's other registrations still count.

    Notes
    -----
    The family implements ``encode``/``decode`` and declares its ``params``; the
    shared trainer calls ``encode``, ``decode`` and ``loss``, unless the family
    defines ``training_loss(x, target) -> (loss, parts, z)`` to own the whole step
    (the VAE does, for its sampled code and KL term). Model files store
    ``hparams()`` and the state dict, so ``family(**hparams())`` must rebuild the
    same network (checked before a file is written). After construction one tiny
    forward pass on zeros checks that ``decode`` returns the input's shape and dtype,
    with finite values (and names ``encode`` or ``decode`` when the family left it to the
    base class); a constructor that raises is reported naming the family and
    its plugin.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add sub-commands to the ``tsae`` command line.

    Called once, when the command line first lists or resolves sub-commands.

    Parameters
    ----------
    cli
        The root :class:`click.Group`; use ``@cli.command()`` or ``cli.add_command``.
        A built-in command's name (or one another plugin added first) is refused.
        What the command raises is reported in one line naming the plugin.
    """


@hookspec
def register_sources(register: Callable[..., None]) -> None:
    """Register stream sources for ``tsae monitor`` (where samples come from).

    Parameters
    ----------
    register
        ``register(scheme, factory)``: ``scheme`` is a short name such as
        ``"kafka"``; ``factory(**options)`` returns an iterable of raw records
        (text lines or bytes payloads), optionally with ``blocks()`` (lists of the
        records that have arrived) and ``close()``. The options
        (``--source-option KEY=VALUE``) are the factory's keyword arguments, typed
        by their defaults or annotations (or an ``options`` dict of ``Param``);
        unknown ones are refused before the stream opens. A ``factory`` that cannot
        be called is refused when registered.
    """


@hookspec
def register_sinks(register: Callable[..., None]) -> None:
    """Register stream sinks for ``tsae monitor`` (where events go).

    Parameters
    ----------
    register
        ``register(scheme, factory)``: ``factory(**options)`` (options declared as
        for sources; a factory that cannot be called is refused) returns an object
        with ``write(record: dict)`` and ``close()``.
        Records are ``{"type": "alarm", ...}`` when an anomaly event begins, ``{"type": "event",
        ...}`` when it ends, ``{"type": "sensor", "state": "silent" or "back", ...}`` when a sensor
        falls silent or reports again, ``{"type":
        "sample", ...}`` with ``--every-sample``, and last one ``{"type": "summary",
        ...}`` with the run's counts (see ``docs/plugins.md``).
    """


@hookspec
def register_pipelines(register: Callable[..., None]) -> None:
    """Register named pipelines (denoise, detect, smooth, ...) usable from Python.

    Parameters
    ----------
    register
        ``register(name, callable)``: ``callable`` takes a signal array and
        keyword options and returns the processed result (something that cannot be
        called is refused).
    """
