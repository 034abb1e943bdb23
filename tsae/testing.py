"""A pytest fixture for plugin authors: ``tsae_sandbox`` registers a plugin for one test.

tsae registers this module with pytest (the ``pytest11`` entry point), so a plugin
package's tests can use the fixture with no import::

    import tsae

    @tsae.hookimpl
    def register_models(register):
        register(MyFamily)

    def test_my_family(tsae_sandbox):
        tsae_sandbox.register(__import__(__name__), "mine")
        assert not tsae_sandbox.errors()        # refused names, bad shapes, raising hooks...
        model = tsae_sandbox.create_model("my_family", channels=2, window=64)

Every plugin registered through the fixture is removed after the test, and the
registries are rebuilt, so tests do not leak families into each other.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


class PluginSandbox:
    """What the ``tsae_sandbox`` fixture gives a test: register plugins, read errors, build models."""

    def __init__(self) -> None:
        self.names: list[str] = []
        #: an installed plugin was replaced for the test: the registry is rebuilt from the entry points after it
        self.replaced_installed = False

    def register(self, plugin: Any, name: str) -> None:
        """Register ``plugin`` (a module or object with ``@tsae.hookimpl`` functions) as ``name``."""
        from tsae import plugins

        plugins.get_plugin_manager()  # entry points discovered, so an installed plugin of this name is known
        existing = plugins._infos.get(name)
        installed = existing is not None and existing.entry_point
        plugins.register_plugin(plugin, name)
        self.replaced_installed = self.replaced_installed or installed
        self.names.append(name)

    def errors(self, everyone: bool = False) -> dict[str, str]:
        """``{plugin name: error}`` for the plugins this sandbox registered that failed to register
        (refused names, raising hooks...); with ``everyone``, for every plugin, installed ones too
        (as ``tsae plugins`` lists them). Another installed plugin's failure does not fail your test.
        """
        from tsae.plugins import plugin_errors

        found = plugin_errors()
        return found if everyone else {name: error for name, error in found.items() if name in self.names}

    def create_model(self, family: str, channels: int, window: int, **hparams: Any) -> Any:
        """Build a model of ``family`` the way tsae does (parameters parsed, contract checked)."""
        from tsae.plugins import create_model

        return create_model(family, channels=channels, window=window, **hparams)

    def close(self) -> None:
        """Remove the plugins this sandbox registered (and bring back an installed one it replaced)."""
        from tsae import plugins

        for name in reversed(self.names):
            plugins.unregister_plugin(name)
        self.names.clear()
        if self.replaced_installed:  # unregistering removed the installed plugin too: rediscover entry points
            kept = set(plugins._disabled_by_call)
            plugins.reset()
            plugins.disable(kept)
            self.replaced_installed = False


@pytest.fixture()
def tsae_sandbox() -> Iterator[PluginSandbox]:
    """Register plugins for one test; they are removed afterwards."""
    sandbox = PluginSandbox()
    try:
        yield sandbox
    finally:
        sandbox.close()
