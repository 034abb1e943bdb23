"""The plugin manager: discovers plugins once, lazily, and keeps the registries they fill.

Built-in model families and third-party ones are both found through the ``tsae``
entry-point group. A plugin that fails to import, or whose hook raises, is recorded
in :func:`plugin_errors` and reported by ``tsae plugins``; the rest of tsae keeps working.
"""
from __future__ import annotations

import importlib.metadata as metadata
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    sources: list[str] = field(default_factory=list)
    sinks: list[str] = field(default_factory=list)
    pipelines: list[str] = field(default_factory=list)
    error: str | None = None


_manager: pluggy.PluginManager | None = None
_infos: dict[str, PluginInfo] = {}
_models: dict[str, type] = {}
_model_plugin: dict[str, str] = {}
_models_collected = False
_sources: dict[str, Callable[..., Any]] = {}
_sinks: dict[str, Callable[..., Any]] = {}
_pipelines: dict[str, Callable[..., Any]] = {}
_named_collected: set[str] = set()


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager, loading entry points on first call."""
    global _manager
    if _manager is None:
        manager = pluggy.PluginManager("tsae")
        manager.add_hookspecs(hookspecs)
        _manager = manager
        _load_entry_points(manager)
    return _manager


def _error_text(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    seen: set[str] = set()
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(entry_point, "dist", None)
        info = PluginInfo(
            name=entry_point.name,
            module=entry_point.value,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
        )
        if info.name in seen:  # the same name from two distributions: keep the first
            log.warning("tsae plugin %r is installed twice; ignoring %s", info.name, info.distribution)
            continue
        seen.add(info.name)
        _infos[info.name] = info
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=info.name)
        except Exception as error:  # a broken plugin must not take tsae down
            info.error = _error_text(error)
            log.warning("tsae plugin %r failed to load: %s", info.name, info.error)
            continue
        info.hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])


def _reset_registries() -> None:
    global _models_collected
    _models.clear()
    _model_plugin.clear()
    _models_collected = False
    _sources.clear()
    _sinks.clear()
    _pipelines.clear()
    _named_collected.clear()
    for info in _infos.values():
        info.models, info.sources, info.sinks, info.pipelines = [], [], [], []
        if info.error and info.error.startswith("register_"):  # hook errors are re-detected on the next call
            info.error = None


def register_plugin(plugin: Any, name: str) -> None:
    """Register a plugin object at run time (tests, notebooks), as an entry point would.

    A plugin with the same name is replaced.
    """
    manager = get_plugin_manager()
    if manager.get_plugin(name) is not None:
        manager.unregister(name=name)
    manager.register(plugin, name=name)
    _infos[name] = PluginInfo(
        name=name,
        module=getattr(plugin, "__name__", type(plugin).__name__),
        version=_version_of(plugin),
        hooks=sorted(c.name for c in manager.get_hookcallers(plugin) or []),
    )
    _reset_registries()  # re-collect on next use


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered by name (entry point or :func:`register_plugin`)."""
    manager = get_plugin_manager()
    if manager.get_plugin(name) is not None:
        manager.unregister(name=name)
    _infos.pop(name, None)
    _reset_registries()


def reset() -> None:
    """Forget every plugin and registry; the next call re-discovers entry points (tests)."""
    global _manager
    _manager = None
    _infos.clear()
    _reset_registries()


def _version_of(plugin: Any) -> str | None:
    version = getattr(plugin, "__version__", None)
    if version is None:
        module = sys.modules.get(getattr(plugin, "__module__", "") or "")
        version = getattr(module, "__version__", None)
    return str(version) if version is not None else None


def _call_each(hook_name: str, **kwargs: Any) -> None:
    """Call a hook plugin by plugin so that one failure stays contained and is reported by name.

    ``kwargs`` values may be factories taking the plugin name (marked by :class:`_PerPlugin`).
    """
    manager = get_plugin_manager()
    caller = getattr(manager.hook, hook_name)
    for impl in caller.get_hookimpls():  # registration order (tryfirst/trylast applied)
        if impl.hookwrapper or getattr(impl, "wrapper", False):
            continue
        args = {
            key: (value(impl.plugin_name) if isinstance(value, _PerPlugin) else value)
            for key, value in kwargs.items()
            if key in impl.argnames
        }
        try:
            impl.function(**args)
        except Exception as error:
            message = f"{hook_name} raised {_error_text(error)}"
            info = _infos.get(impl.plugin_name)
            if info is not None:
                info.error = message
            log.warning("tsae plugin %r: %s", impl.plugin_name, message)


class _PerPlugin:
    """Wraps ``factory(plugin_name)`` so :func:`_call_each` builds one argument per plugin."""

    def __init__(self, factory: Callable[[str], Any]) -> None:
        self.factory = factory

    def __call__(self, plugin_name: str) -> Any:
        return self.factory(plugin_name)


def _collect_models() -> None:
    global _models_collected
    if _models_collected:
        return
    _models_collected = True
    from tsae.models.base import Autoencoder

    def make_register(plugin_name: str) -> Callable[..., None]:
        def register(family: type) -> None:
            if not (isinstance(family, type) and issubclass(family, Autoencoder)):
                raise TypeError(f"{family!r} is not a subclass of tsae.models.base.Autoencoder")
            name = getattr(family, "name", None)
            if not name:
                raise ValueError(f"model family {family.__name__} has no 'name'")
            owner = _model_plugin.get(name)
            if owner is not None and owner != plugin_name:
                raise ValueError(f"model family {name!r} is already registered by plugin {owner!r}")
            _models[name] = family
            _model_plugin[name] = plugin_name
            info = _infos.get(plugin_name)
            if info is not None and name not in info.models:
                info.models.append(name)

        return register

    _call_each("register_models", register=_PerPlugin(make_register))


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
        raise KeyError(f"unknown model family {name!r} (installed: {known}; see `tsae models`)")
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
    stream_sources()  # collecting fills each plugin's sources, sinks and pipelines
    stream_sinks()
    pipelines()
    return sorted(_infos.values(), key=lambda info: info.name)


def plugin_errors() -> dict[str, str]:
    """Return ``{plugin name: error}`` for plugins that failed to load or register."""
    return {info.name: info.error for info in plugin_infos() if info.error}


def load_plugin_commands(cli: Any) -> None:
    """Call every plugin's ``register_commands(cli)``, containing and recording failures."""
    _call_each("register_commands", cli=cli)


def _collect_named(hook_name: str, store: dict[str, Callable[..., Any]], kind: str) -> dict[str, Callable[..., Any]]:
    if hook_name not in _named_collected:
        _named_collected.add(hook_name)

        def make_register(plugin_name: str) -> Callable[..., None]:
            def register(name: str, factory: Callable[..., Any]) -> None:
                store[name] = factory
                info = _infos.get(plugin_name)
                if info is not None and name not in getattr(info, kind):
                    getattr(info, kind).append(name)

            return register

        _call_each(hook_name, register=_PerPlugin(make_register))
    return dict(store)


def stream_sources() -> dict[str, Callable[..., Any]]:
    """Return the registered stream sources (``stdin``, ``mqtt``, ...) by scheme."""
    return _collect_named("register_sources", _sources, "sources")


def stream_sinks() -> dict[str, Callable[..., Any]]:
    """Return the registered stream sinks by scheme."""
    return _collect_named("register_sinks", _sinks, "sinks")


def pipelines() -> dict[str, Callable[..., Any]]:
    """Return the registered pipelines by name."""
    return _collect_named("register_pipelines", _pipelines, "pipelines")


def get_pipeline(name: str) -> Callable[..., Any]:
    """Return the pipeline registered as ``name`` (``denoise``, ``smooth``, a plugin's own ...).

    Raises
    ------
    ValueError
        If no plugin registers ``name``; the message lists the known pipelines.
    """
    found = pipelines()
    if name not in found:
        raise ValueError(f"no pipeline named {name!r} (known: {', '.join(sorted(found)) or 'none'})")
    return found[name]
