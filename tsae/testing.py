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

    def register(self, plugin: Any, name: str) -> None:
        """Register ``plugin`` (a module or object with ``@tsae.hookimpl`` functions) as ``name``."""
        from tsae.plugins import register_plugin

        register_plugin(plugin, name)
        self.names.append(name)

    def errors(self) -> dict[str, str]:
        """``{plugin name: error}`` for every plugin that failed to load or register (see ``tsae plugins``)."""
        from tsae.plugins import plugin_errors

        return plugin_errors()

    def create_model(self, family: str, channels: int, window: int, **hparams: Any) -> Any:
        """Build a model of ``family`` the way tsae does (parameters parsed, contract checked)."""
        from tsae.plugins import create_model

        return create_model(family, channels=channels, window=window, **hparams)

    def close(self) -> None:
        from tsae.plugins import unregister_plugin

        for name in reversed(self.names):
            unregister_plugin(name)
        self.names.clear()


@pytest.fixture()
def tsae_sandbox() -> Iterator[PluginSandbox]:
    """Register plugins for one test; they are removed afterwards."""
    sandbox = PluginSandbox()
    try:
        yield sandbox
    finally:
        sandbox.close()
