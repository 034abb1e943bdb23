"""The plugin manager: discovers plugins once, lazily, and keeps the registries they fill.

Built-in model families and third-party ones are both found through the ``tsae``
entry-point group. A plugin that fails to import, or whose hook raises, is recorded
in :func:`plugin_errors` and reported by ``tsae plugins``; the rest of tsae keeps working.
"""
from __future__ import annotations

import importlib.metadata as metadata
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

from tsae import hookspecs

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "tsae"


@dataclass
class PluginInfo:
    """What tsae knows about one installed plugin."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    error: str | None = None


_manager: pluggy.PluginManager | None = None
_infos: dict[str, PluginInfo] = {}
_models: dict[str, type] = {}
_model_plugin: dict[str, str] = {}
_sources: dict[str, Callable[..., Any]] = {}
_sinks: dict[str, Callable[..., Any]] = {}
_pipelines: dict[str, Callable[..., Any]] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager, loading entry points on first call."""
    global _manager
    if _manager is None:
        manager = pluggy.PluginManager("tsae")
        manager.add_hookspecs(hookspecs)
        _load_entry_points(manager)
        _manager = manager
    return _manager


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(entry_point, "dist", None)
        info = PluginInfo(
            name=entry_point.name,
            module=entry_point.value,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
        )
        _infos[info.name] = info
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=info.name)
        except Exception as error:  # a broken plugin must not take tsae down
            info.error = f"{type(error).__name__}: {error}"
            log.warning("tsae plugin %r failed to load: %s", info.name, info.error)
            continue
        info.hooks = sorted(
            caller.name for caller in manager.get_hookcallers(plugin) or []
        )


def register_plugin(plugin: Any, name: str) -> None:
    """Register a plugin object at run time (tests, notebooks), as an entry point would."""
    manager = get_plugin_manager()
    manager.register(plugin, name=name)
    _infos[name] = PluginInfo(
        name=name,
        module=getattr(plugin, "__name__", type(plugin).__name__),
        hooks=sorted(c.name for c in manager.get_hookcallers(plugin) or []),
    )
    _models.clear()  # re-collect on next use


def _call_each(hook_name: str, make_register: Callable[[str], Callable[..., None]]) -> None:
    """Call a ``register_*`` hook plugin by plugin so one failure stays contained."""
    manager = get_plugin_manager()
    for plugin_name, plugin in list(manager.list_name_plugin()):
        impl = getattr(plugin, hook_name, None)
        if impl is None:
            continue
        try:
            impl(register=make_register(plugin_name))
        except Exception as error:
            info = _infos.get(plugin_name)
            message = f"{hook_name} raised {type(error).__name__}: {error}"
            if info is not None:
                info.error = message
            log.warning("tsae plugin %r: %s", plugin_name, message)


def _collect_models() -> None:
    if _models:
        return

    def make_register(plugin_name: str) -> Callable[..., None]:
        def register(family: type) -> None:
            name = getattr(family, "name", None)
            if not name:
                raise ValueError(f"model family {family!r} has no 'name'")
            _models[name] = family
            _model_plugin[name] = plugin_name
            info = _infos.get(plugin_name)
            if info is not None and name not in info.models:
                info.models.append(name)

        return register

    _call_each("register_models", make_register)


def model_families() -> dict[str, type]:
    """Return every registered model family, by name."""
    _collect_models()
    return dict(_models)


def get_model_family(name: str) -> type:
    """Return the model family registered under ``name``.

    Raises
    ------
    KeyError
        If no installed plugin registers ``name``; the message lists those that do.
    """
    families = model_families()
    if name not in families:
        known = ", ".join(sorted(families)) or "none"
        raise KeyError(f"unknown model family {name!r} (installed: {known})")
    return families[name]


def model_plugin_info(name: str) -> PluginInfo | None:
    """Return the plugin that registered model family ``name``."""
    _collect_models()
    return _infos.get(_model_plugin.get(name, ""))


def create_model(name: str, channels: int, window: int, **hparams: Any) -> Any:
    """Build a model of family ``name`` for windows of shape (channels, window)."""
    return get_model_family(name)(channels=channels, window=window, **hparams)


def plugin_infos() -> list[PluginInfo]:
    """Return every discovered plugin, loaded or broken, with what it registers."""
    _collect_models()
    return sorted(_infos.values(), key=lambda info: info.name)


def plugin_errors() -> dict[str, str]:
    """Return ``{plugin name: error}`` for plugins that failed to load or register."""
    return {info.name: info.error for info in plugin_infos() if info.error}


def _collect_named(hook_name: str, store: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    if not store:

        def make_register(plugin_name: str) -> Callable[..., None]:
            def register(name: str, factory: Callable[..., Any]) -> None:
                store[name] = factory

            return register

        _call_each(hook_name, make_register)
    return dict(store)


def stream_sources() -> dict[str, Callable[..., Any]]:
    """Return the registered stream sources (``stdin``, ``mqtt``, ...) by scheme."""
    return _collect_named("register_sources", _sources)


def stream_sinks() -> dict[str, Callable[..., Any]]:
    """Return the registered stream sinks by scheme."""
    return _collect_named("register_sinks", _sinks)


def pipelines() -> dict[str, Callable[..., Any]]:
    """Return the registered pipelines by name."""
    return _collect_named("register_pipelines", _pipelines)
