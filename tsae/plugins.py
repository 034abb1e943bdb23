"""The plugin manager: discovers plugins once, lazily, and keeps the registries they fill.

Built-in model families and third-party ones are both found through the ``tsae``
entry-point group. The names tsae's own plugins register (families, sources, sinks,
pipelines, commands) are reserved: a third-party plugin that registers one is refused
by name, and the built-in keeps working. A plugin that fails to import, implements a
hook that does not exist, or whose hook raises is recorded in :func:`plugin_errors` and
reported by ``tsae plugins``; the rest of tsae keeps working. ``TSAE_DISABLE_PLUGINS``
(comma-separated entry-point names) skips plugins without importing them.
"""
from __future__ import annotations

import contextlib
import importlib.metadata as metadata
import inspect
import logging
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from tsae import __version__, hookspecs
from tsae._lazy import if_imported
from tsae.errors import allocation_failure, first_line, shown
from tsae.models.device import float32_default, grad_enabled

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "tsae"
#: the distribution whose plugins are tsae's own: their names are reserved
BUILTIN_DISTRIBUTION = "tsae"
DISABLE_ENV = "TSAE_DISABLE_PLUGINS"
#: what each ``register_*`` hook registers, as :class:`PluginInfo` lists it and errors name it
KINDS = {"models": "model family", "sources": "stream source", "sinks": "stream sink",
         "pipelines": "pipeline", "commands": "command"}
#: an entry-point module that takes longer than this to import is named in a warning (it delays every command)
SLOW_IMPORT_SECONDS = 5.0
#: what a plugin's import or hook may raise and tsae contains: ``sys.exit()`` in a plugin must not end tsae
#: (KeyboardInterrupt still stops it)
_CONTAINED = (Exception, SystemExit)


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
    commands: list[str] = field(default_factory=list)
    load_error: str | None = None
    hook_errors: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    disabled: bool = False
    #: found through an entry point (not :func:`register_plugin`), even when its distribution has no name
    entry_point: bool = False
    #: how long importing its entry point took (None: registered at run time, disabled or not loaded)
    load_seconds: float | None = None

    @property
    def errors(self) -> list[str]:
        """Every failure: loading, then each refused registration or raising hook."""
        return ([self.load_error] if self.load_error else []) + self.hook_errors

    @property
    def error(self) -> str | None:
        """All failures in one line, or None."""
        return "; ".join(self.errors) or None

    @property
    def builtin(self) -> bool:
        """One of tsae's own plugins (its names are reserved)."""
        return self.distribution == BUILTIN_DISTRIBUTION

    @property
    def label(self) -> str:
        """``plugin 'x' (distribution 1.0)``: how every message names a plugin."""
        if self.distribution:
            origin = f"{self.distribution} {self.version or ''}".rstrip()
        elif self.entry_point:  # a distribution whose metadata has no name
            origin = f"module {self.module}"
        else:
            origin = "registered at run time"
        return f"plugin {self.name!r} ({origin})"


@dataclass(frozen=True)
class LazyFamily:
    """A model family registered by name and import path, imported only when a command needs it.

    ``register(LazyFamily("linear", "my_package.linear:LinearAE"))`` in ``register_models``
    keeps torch (and the network module) out of ``tsae --help`` and ``tsae plugins``.
    The class is imported and checked the first time the family is used.
    """

    name: str
    target: str

    def load(self) -> type:
        """Import the family class named by ``target`` (``"module:Class"``)."""
        import importlib

        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


_manager: pluggy.PluginManager | None = None
_infos: dict[str, PluginInfo] = {}
#: kind -> {name: registered object}, and kind -> {name: plugin name}
_registries: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
_owners: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
_collected: set[str] = set()
#: kind -> the hook implementations of that kind called, as (plugin, function) (a look-up while entry points
#: load sees only the plugins loaded so far; the rest are called on the next look-up, each implementation once)
_called: dict[str, set[tuple[str, Any]]] = {kind: set() for kind in KINDS}
#: entry points are being imported: a registry filled now is not complete yet
_loading = False
#: families whose module failed to import or check, or that registration refused: why
_broken_families: dict[str, str] = {}
#: who holds the names of tsae's own sub-commands
_BUILTIN_COMMANDS = PluginInfo(name="tsae", module="tsae.cli", distribution=BUILTIN_DISTRIBUTION, version=__version__)
_disabled_by_call: set[str] = set()
#: entry points refused because another distribution's entry point has their name (listed, never loaded)
_shadowed: list[PluginInfo] = []


#: held while plugins load and registries fill: another thread waits for them whole (a model loaded in
#: several threads at once found its family "not installed" while the first thread was still loading)
_lock = threading.RLock()


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager, loading entry points on first call (thread-safe)."""
    global _manager, _loading
    with _lock:  # re-entrant: a plugin that looks up the registry while it is imported gets the manager
        if _manager is None:
            manager = pluggy.PluginManager("tsae")
            manager.add_hookspecs(hookspecs)
            _manager = manager
            _loading = True  # a plugin may look a family up when imported (to subclass a built-in)
            try:
                _load_entry_points(manager)
            finally:
                _loading = False
        return _manager


def disable(names: Iterable[str]) -> None:
    """Skip these plugins (entry-point names) from now on, as ``TSAE_DISABLE_PLUGINS`` does.

    Takes effect for plugins not loaded yet; call before the first registry look-up
    (or after :func:`reset`).
    """
    _disabled_by_call.update(name.strip() for name in names if name.strip())


def disabled_plugins() -> set[str]:
    """The plugin names skipped: ``TSAE_DISABLE_PLUGINS`` and :func:`disable`."""
    from_env = {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}
    return from_env | _disabled_by_call


def hook_names() -> list[str]:
    """The hooks a plugin may implement."""
    return sorted(name for name in vars(hookspecs) if name.startswith("register_"))


@contextlib.contextmanager
def _plugin_code() -> Iterator[None]:
    """Run a plugin's import or hook with what it prints sent to stderr.

    Stdout carries tsae's output (``-o -``, ``--json``): a plugin's ``print()`` while it loads
    would land inside that output, a CSV or JSON that then no longer parses.
    """
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _record(info: PluginInfo, message: str, error: BaseException | None = None, *, family: str | None = None) -> None:
    """Record a failure of a plugin and warn once, naming it; the traceback is kept for ``--debug``. ``family``: the
    model family the failure refused (the warning's record carries it as ``tsae_family``: a command asked for that
    family tells the same text as its error, :func:`broken_family`)."""
    info.hook_errors.append(message)
    trace = "".join(traceback.format_exception(error)) if error is not None else ""
    if trace:
        info.tracebacks.append(trace)
    log.warning("tsae %s: %s", info.label, message, extra={"tsae_traceback": trace, "tsae_family": family})


def _error_text(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"SystemExit: sys.exit({'' if error.code is None else repr(error.code)[:80]}) was called"
    if isinstance(error, pluggy.PluginValidationError):  # which argument is wrong is on a later line
        return f"{type(error).__name__}: " + " ".join(line.strip() for line in str(error).splitlines())
    return f"{type(error).__name__}: {first_line(error)}"


def _signature_text(error: pluggy.PluginValidationError) -> str:
    """pluggy's refusal of a hook's arguments (three lines) as one line saying what tsae passes."""
    text = str(error)
    hook = re.search(r"for hook '(\w+)'", text)
    definition = re.search(r"hookimpl definition: (.+)", text)
    if hook is None or definition is None or not hasattr(hookspecs, hook.group(1)):
        return " ".join(line.strip() for line in text.splitlines())
    name = hook.group(1)
    expected = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    arguments = definition.group(1).strip()
    arguments = arguments[arguments.find("("):] if "(" in arguments else f"({arguments})"  # a lambda's name is <lambda>
    return f"hook {name}{arguments} takes argument(s) tsae does not pass: tsae calls {name}({expected})"


def _unmarked_hooks(plugin: Any) -> list[str]:
    """The functions of ``plugin`` named as a tsae hook but not marked ``@tsae.hookimpl`` (pluggy skips them)."""
    found = []
    for name in hook_names():
        try:
            function = inspect.getattr_static(plugin, name)
        except AttributeError:
            continue
        function = getattr(function, "__func__", function)  # a staticmethod or classmethod
        if callable(function) and not hasattr(function, f"{ENTRY_POINT_GROUP}_impl"):
            found.append(name)
    return found


def _method_hooks(plugin: Any) -> list[str]:
    """The hooks of a class given as the plugin that are plain methods (``def register_models(self, register)``):
    pluggy would call them on the class, without ``self`` (the hook then fails with "missing 'self'")."""
    if not isinstance(plugin, type):
        return []
    found = []
    for name in hook_names():
        function = inspect.getattr_static(plugin, name, None)
        if inspect.isfunction(function) and next(iter(inspect.signature(function).parameters), None) == "self":
            found.append(name)
    return found


def _unknown_hooks(manager: pluggy.PluginManager, plugin: Any) -> list[str]:
    return sorted(caller.name for caller in manager.get_hookcallers(plugin) or [] if not caller.has_spec())


def _register(manager: pluggy.PluginManager, plugin: Any, info: PluginInfo) -> None:
    """Register ``plugin`` with pluggy; a hook name that matches no tsae hook refuses the plugin."""
    holder = manager.get_name(plugin)
    if holder is not None and holder != info.name:  # pluggy's own message shows the object's repr
        what = getattr(plugin, "__name__", None) or type(plugin).__name__
        raise ValueError(f"{what} is already registered as plugin {holder!r}: one module or object is one plugin "
                         "(give each entry point a module or object of its own)")
    unmarked = _unmarked_hooks(plugin)
    if unmarked:  # pluggy ignores them: the plugin would load and register nothing, without a word
        them = "it" if len(unmarked) == 1 else "them"
        raise ValueError(f"{', '.join(unmarked)} {'is' if len(unmarked) == 1 else 'are'} not decorated with "
                         f"@tsae.hookimpl, so tsae would never call {them} (from tsae import hookimpl; put "
                         f"@hookimpl above each hook)")
    methods = _method_hooks(plugin)
    if methods:
        raise ValueError(f"{plugin.__name__} is a class whose hook(s) {', '.join(methods)} take self: register an "
                         f"instance, {plugin.__name__}(), or make them @staticmethod")
    try:
        manager.register(plugin, name=info.name)
    except pluggy.PluginValidationError as error:
        raise ValueError(_signature_text(error)) from error
    unknown = _unknown_hooks(manager, plugin)
    if unknown:
        manager.unregister(plugin)
        raise ValueError(f"unknown hook(s) {', '.join(unknown)}{_hook_meant(unknown)} (tsae hooks: "
                         f"{', '.join(hook_names())})")
    info.hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
    if not info.hooks:
        misspelt = _misspelt_hooks(plugin)
        if misspelt:  # undecorated, so pluggy never saw them: the plugin would load and register nothing
            manager.unregister(plugin)
            raise ValueError(f"implements no tsae hook; {', '.join(misspelt)} is not one{_hook_meant(misspelt)} "
                             f"(tsae hooks: {', '.join(hook_names())}; each decorated with @tsae.hookimpl)")


def _misspelt_hooks(plugin: Any) -> list[str]:
    """The functions of ``plugin`` named almost like a tsae hook (``register_model``, ``registre_models``)."""
    import difflib

    found = []
    for name in dir(plugin):
        if name in hook_names() or not difflib.get_close_matches(name, hook_names(), 1, 0.8):
            continue
        try:
            function = inspect.getattr_static(plugin, name)
        except AttributeError:
            continue
        if callable(getattr(function, "__func__", function)):
            found.append(name)
    return found


def _hook_meant(names: Sequence[str]) -> str:
    """`` (did you mean register_models?)`` for hook names that are close to a tsae hook, else ``''``."""
    import difflib

    meant = [close[0] for name in names if (close := difflib.get_close_matches(name, hook_names(), 1, 0.8))]
    return f" (did you mean {', '.join(dict.fromkeys(meant))}?)" if meant else ""


def _distribution_of(entry_point: Any) -> str | None:
    """The name of the distribution that declares ``entry_point``; None when unknown or unreadable."""
    try:
        name = entry_point.dist.metadata["Name"]
    except Exception:  # noqa: BLE001 - no dist, or metadata without a Name (newer importlib raises KeyError)
        return None
    return str(name) if name else None


def _version_of_distribution(entry_point: Any) -> str | None:
    """The version of the distribution that declares ``entry_point``; None when its metadata has none."""
    try:
        version = entry_point.dist.version
    except Exception:  # noqa: BLE001
        return None
    return str(version) if version else None


def _installed_twice(entry_point: Any) -> str | None:
    """Why the distribution declaring ``entry_point`` is ambiguous (installed more than once), or None.

    ``importlib.metadata`` shows one copy of a distribution and hides the others: after a
    half-done upgrade (two dist-info folders side by side) or with a second copy on another
    path entry, the version tsae names and records in model files need not be the code that runs.
    """
    name = _distribution_of(entry_point)
    if name is None or name == BUILTIN_DISTRIBUTION:
        return None
    try:
        copies = [(str(copy.version), str(copy.locate_file(""))) for copy in metadata.distributions(name=name)]
    except Exception:  # noqa: BLE001 - unreadable metadata: nothing to say about it
        return None
    if len(copies) < 2:
        return None
    where = ", ".join(f"{version} in {folder}" for version, folder in copies)
    folders = [folder for _, folder in copies]
    if len(set(folders)) == len(folders):
        runs = f"the first on the path ({copies[0][0]} in {folders[0]}) is the one that runs"
    else:
        runs = "two are in one folder (a half-done upgrade?), so which release's code runs is unclear"
    return (f"{name} is installed {len(copies)} times ({where}): {runs}; uninstall it until `pip show {name}` "
            "finds none, then install the release you want")


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    disabled = disabled_plugins()
    found = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    # tsae's own first: a third-party distribution never takes a built-in plugin's name; then by name (and
    # distribution), so that between two plugins "the first" is the same on every machine, whatever order the
    # file system lists the distributions in (a model file records the plugin that wrote it)
    found.sort(key=lambda entry: (_distribution_of(entry) != BUILTIN_DISTRIBUTION, entry.name,
                                  _distribution_of(entry) or "", entry.value))
    for entry_point in found:
        info = PluginInfo(
            name=entry_point.name,
            module=entry_point.value,
            distribution=_distribution_of(entry_point),
            version=_version_of_distribution(entry_point),
            entry_point=True,
        )
        if info.name in _infos:  # the same name from two distributions: keep the first (a built-in)
            holder = _infos[info.name].label
            info.load_error = (f"entry point {info.name!r} is taken by {holder}; not loaded (two packages' tsae "
                               "entry points need names of their own)")
            _shadowed.append(info)  # listed by `tsae plugins`, as a broken plugin would be
            log.warning("tsae plugin %r of %s %s is refused: the name is taken by %s", info.name, info.distribution,
                        info.version or "", holder)
            continue
        _infos[info.name] = info
        if info.name in disabled:
            info.disabled = True
            continue
        started = time.perf_counter()
        try:
            with _plugin_code():
                plugin = entry_point.load()
            info.load_seconds = time.perf_counter() - started
            _register(manager, plugin, info)
        except _CONTAINED as error:  # a broken plugin must not take tsae down (sys.exit() in it included)
            info.load_error = _error_text(error)
            info.tracebacks.append("".join(traceback.format_exception(error)))
            log.warning("tsae %s failed to load: %s", info.label, info.load_error,
                        extra={"tsae_traceback": info.tracebacks[-1]})
        twice = _installed_twice(entry_point)
        if twice is not None:
            _record(info, twice)
        if info.load_seconds is not None and info.load_seconds > SLOW_IMPORT_SECONDS:
            # the same words every run (the seconds are in `tsae plugins`), so -q reports it once
            log.warning("tsae %s takes over %g s to import, which delays every tsae command: import heavy modules "
                        "inside its hooks, or register a LazyFamily (docs/plugins.md, start-up)", info.label,
                        SLOW_IMPORT_SECONDS)


def _reset_registries() -> None:
    for kind in KINDS:
        _registries[kind].clear()
        _owners[kind].clear()
        _called[kind].clear()
    _collected.clear()
    _broken_families.clear()
    for info in _infos.values():
        info.models, info.sources, info.sinks, info.pipelines, info.commands = [], [], [], [], []
        info.hook_errors = []  # hook errors are re-detected on the next collection
        info.tracebacks = info.tracebacks[:1] if info.load_error else []


def register_plugin(plugin: Any, name: str) -> None:
    """Register a plugin object at run time (tests, notebooks), as an entry point would.

    A plugin with the same name is replaced. Its names are not reserved: a built-in
    name it registers is refused, as for an installed third-party plugin.

    Parameters
    ----------
    plugin
        A module or an object with ``@tsae.hookimpl`` hooks (:mod:`tsae.hookspecs`).
    name
        The plugin's name (``tsae plugins`` shows it; :func:`unregister_plugin` takes it).

    Raises
    ------
    TypeError
        If ``name`` is not a non-empty string, or ``plugin`` is None or a model family (an
        :class:`~tsae.models.base.Autoencoder` class or a :class:`LazyFamily`, which its plugin's
        ``register_models`` hook registers).
    ValueError
        If the plugin implements a hook that does not exist (the message lists those that do),
        or ``name`` is one of tsae's built-in plugins.
    """
    if not isinstance(name, str) or not name.strip():  # None, 3 or "" registered a plugin no one could name
        raise TypeError(f"name must be the plugin's name (a non-empty string), got {shown(name)}")
    if plugin is None:
        raise TypeError("plugin must be a module or an object with @tsae.hookimpl hooks, got None")
    _refuse_a_family(plugin)
    manager = get_plugin_manager()
    existing = _infos.get(name)
    if existing is not None and existing.builtin:
        raise ValueError(f"plugin name {name!r} is tsae's built-in plugin; register under a name of your own")
    if manager.get_plugin(name) is not None:
        manager.unregister(name=name)
    info = PluginInfo(name=name, module=getattr(plugin, "__name__", type(plugin).__name__),
                      version=_version_of(plugin))
    _register(manager, plugin, info)
    _infos[name] = info
    _reset_registries()  # re-collect on next use


def _refuse_a_family(plugin: Any) -> None:
    """A model family passed where its plugin goes (``register_plugin(LinearAE, "linear")``) registers no hook:
    the family would stay unknown, without a word. Refused with where it belongs."""
    base = if_imported("tsae.models.base", "Autoencoder")  # not imported yet: none exists (torch stays unloaded)
    families: tuple[type, ...] = (LazyFamily,) if base is None else (LazyFamily, base)
    if isinstance(plugin, type) and issubclass(plugin, families):
        what = plugin.__name__
    elif isinstance(plugin, LazyFamily):
        what = f"LazyFamily({plugin.name!r})"
    elif isinstance(plugin, families):
        what = type(plugin).__name__
    else:
        return
    raise TypeError(f"{what} is a model family, not a plugin: register it from a register_models hook "
                    f"(@tsae.hookimpl def register_models(register): register(...)) and pass the module or object "
                    "holding that hook")


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered by name (entry point or :func:`register_plugin`).

    Parameters
    ----------
    name
        The plugin's name.

    Raises
    ------
    ValueError
        If ``name`` is one of tsae's built-in plugins (:func:`disable` turns those off).
    KeyError
        If no plugin of that name is registered (a typo would otherwise remove nothing, silently).
    """
    manager = get_plugin_manager()
    existing = _infos.get(name)
    if existing is not None and existing.builtin:
        raise ValueError(f"plugin {name!r} is tsae's built-in plugin: it cannot be unregistered "
                         "(tsae.plugins.disable or TSAE_DISABLE_PLUGINS turns it off)")
    if existing is None and manager.get_plugin(name) is None:
        known = sorted(n for n, info in _infos.items() if not info.builtin)
        raise KeyError(f"no plugin {name!r} is registered{_did_you_mean(name, known)} "
                       f"(registered: {', '.join(known) or 'none besides the built-ins'})")
    if manager.get_plugin(name) is not None:
        manager.unregister(name=name)
    _infos.pop(name, None)
    _reset_registries()


def reset() -> None:
    """Forget every plugin and registry; the next call re-discovers entry points (tests)."""
    global _manager
    with _lock:
        _manager = None
        _infos.clear()
        _shadowed.clear()
        _disabled_by_call.clear()
        _reset_registries()


def _version_of(plugin: Any) -> str | None:
    version = getattr(plugin, "__version__", None)
    if version is None:
        version = if_imported(getattr(plugin, "__module__", "") or "", "__version__")
    return str(version) if version is not None else None


def _info(plugin_name: str) -> PluginInfo:
    info = _infos.get(plugin_name)
    if info is None:  # registered on the manager directly
        info = _infos[plugin_name] = PluginInfo(name=plugin_name, module=plugin_name)
    return info


def _impls(hook_name: str) -> Iterator[tuple[PluginInfo, Callable[..., Any], list[str]]]:
    """The implementations of a hook, built-ins first, so their names are taken before anyone else's."""
    caller = getattr(get_plugin_manager().hook, hook_name)
    impls = [impl for impl in caller.get_hookimpls() if not (impl.hookwrapper or getattr(impl, "wrapper", False))]
    impls.sort(key=lambda impl: not _info(impl.plugin_name).builtin)  # stable: registration order otherwise
    for impl in impls:
        yield _info(impl.plugin_name), impl.function, list(impl.argnames)


def _call(info: PluginInfo, hook_name: str, function: Callable[..., Any], **kwargs: Any) -> None:
    """Call one plugin's hook; what it raises is recorded against the plugin and goes no further."""
    try:
        with _plugin_code():
            returned = function(**kwargs)
    except _CONTAINED as error:
        _record(info, f"{hook_name} raised {_error_text(error)}", error)
        return
    if returned is not None and hook_name != "register_commands":
        hint = "" if "register" in kwargs else f" (take the callback: def {hook_name}(register))"
        _record(info, f"{hook_name} returned a {type(returned).__name__} instead of calling register(...) "
                      f"for each of them; nothing it returns is registered{hint}")
    elif returned is None and not kwargs:  # pluggy passes only the arguments a hook names: it got no callback
        argument = _hook_argument(hook_name)
        _record(info, f"{hook_name} takes no {argument!r} argument, so it registers nothing "
                      f"(def {hook_name}({argument}))")


def _hook_argument(hook_name: str) -> str:
    """The one argument hook ``hook_name`` passes (``register``, or ``cli`` for ``register_commands``)."""
    return next(iter(inspect.signature(getattr(hookspecs, hook_name)).parameters))


def _claim(info: PluginInfo, kind: str, name: str) -> bool:
    """Give ``name`` to ``info`` unless another plugin holds it (a refusal is recorded for the newcomer)."""
    owner = _owners[kind].get(name)
    if owner is not None and owner != info.name:
        holder = _infos.get(owner) or _BUILTIN_COMMANDS
        held = ("reserved by tsae's built-in " if holder.builtin else "already registered by ") + holder.label
        _record(info, f"{KINDS[kind]} {name!r} is {held}; refused (register it under a name of its own)")
        return False
    _owners[kind][name] = info.name
    listed = getattr(info, kind)
    if name not in listed:
        listed.append(name)
    return True


#: what a registered name may hold: it appears on command lines, in file headers and in messages
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _bad_name(kind: str, name: Any) -> str | None:
    """Why ``name`` cannot name a ``kind``, or None."""
    if isinstance(name, str) and _NAME.fullmatch(name):
        return None
    shown = repr(name) if len(repr(name)) <= 40 else repr(name)[:37] + "..."
    return (f"{KINDS[kind]} name {shown} must be a string of letters, digits, '_', '-' or '.' (at most 64, "
            "starting with a letter or digit); refused")


def _shown(obj: Any) -> str:
    """How a message names something a plugin registered: a class or function by name, else its type."""
    if isinstance(obj, LazyFamily):
        return f"LazyFamily({obj.name!r}, {obj.target!r})"
    name = getattr(obj, "__name__", None) if isinstance(obj, type) or inspect.isroutine(obj) else None
    return str(name) if isinstance(name, str) else f"a {type(obj).__name__}"


#: what a LazyFamily's target must look like: ``"package.module:Class"``
_TARGET = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


def _collect(hook_name: str, kind: str, check: Callable[[PluginInfo, str, Any], None] | None = None) -> dict[str, Any]:
    """Call ``hook_name`` on every plugin once, filling the registry of ``kind``.

    Each registration a plugin gets wrong is refused on its own, recorded against the plugin
    (one line), and the hook goes on: its other registrations still count. A look-up while the
    entry points are still loading (a plugin that finds a built-in family when imported) calls the
    plugins loaded so far and leaves the registry open: the next look-up calls the others.
    """
    with _lock:
        if kind not in _collected:
            get_plugin_manager()  # loaded first: a plugin's import may look the registry up (and fill it part way)
            if not _loading:
                _collected.add(kind)
            for info, function, argnames in _impls(hook_name):
                if (info.name, function) in _called[kind]:
                    continue
                _called[kind].add((info.name, function))
                register = _registrar(info, kind, check)
                _call(info, hook_name, function, **{"register": register} if "register" in argnames else {})
        return dict(_registries[kind])


def _registrar(info: PluginInfo, kind: str, check: Callable[[PluginInfo, str, Any], None] | None
               ) -> Callable[..., None]:
    """The ``register`` callback one plugin's hook receives for ``kind``."""

    def add(name: Any, obj: Any) -> None:
        problem = _bad_name(kind, name)
        if problem is not None:  # refused on its own: the plugin's other names still register
            _record(info, problem)
            return
        held = _registries[kind].get(name)
        same = held is obj or (isinstance(held, LazyFamily) and held == obj)
        if _owners[kind].get(name) == info.name and name in _registries[kind] and not same:
            # two different things under one name from one plugin (two hook implementations, a copy-paste)
            _record(info, f"{KINDS[kind]} {name!r} is registered twice by this plugin "
                          f"({_shown(held)}, then {_shown(obj)}); the second is refused")
            return
        if _claim(info, kind, name):
            _registries[kind][name] = obj

    def register_named(*args: Any, **kwargs: Any) -> None:
        if len(args) != 2 or kwargs:
            _record(info, f"register() takes a name and a {KINDS[kind]} (register('name', obj)), "
                          f"not {_arguments(args, kwargs)}; refused")
            return
        name, obj = args
        if check is not None and not _passes(info, check, name, obj):
            return
        add(name, obj)

    def register_family(*args: Any, **kwargs: Any) -> None:
        if len(args) != 1 or kwargs:
            _record(info, "register() takes one model family, the class (register(MyFamily)) or a LazyFamily, "
                          f"not {_arguments(args, kwargs)}; call it once per family; refused")
            return
        family = args[0]
        if isinstance(family, LazyFamily):  # imported and checked when first used
            target = family.target
            if not isinstance(target, str) or not _TARGET.fullmatch(target):
                named = family.name if _bad_name(kind, family.name) is None else None
                _record(info, f"{_shown(family)}: the target must be 'package.module:Class'; refused", family=named)
                if named is not None:  # `--family NAME` then says why
                    _broken_families.setdefault(family.name, f"model family {family.name!r} ({info.label}) was "
                                                f"refused: its LazyFamily target {target!r} names no class "
                                                "(the form is package.module:Class)")
                return
            add(family.name, family)
            return
        name = getattr(family, "name", None) if isinstance(family, type) else None
        named = name if isinstance(name, str) and _bad_name(kind, name) is None else None
        if check is not None and not _passes(info, check, name or "", family, family=named):
            if _bad_name(kind, name) is None and isinstance(name, str):  # `--family NAME` then says why
                why = info.hook_errors[-1].removesuffix("; refused")
                _broken_families.setdefault(name, why if why.startswith(f"model family {name!r} (") else
                                            f"model family {name!r} ({info.label}) was refused: {why}")
            return
        add(name or "", family)

    register_named.__qualname__ = register_family.__qualname__ = "register"
    return register_family if kind == "models" else register_named


def _arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    given = [_shown(arg) for arg in args] + [f"{key}=..." for key in kwargs]
    return f"register({', '.join(given)})" if given else "no argument"


def _passes(info: PluginInfo, check: Callable[[PluginInfo, str, Any], None], name: str, obj: Any, *,
            family: str | None = None) -> bool:
    """Run a registration check; a failure is recorded against the plugin (one line, about ``family`` when it
    refuses a model family by name) and refuses ``obj`` alone."""
    try:
        check(info, name, obj)
    except (TypeError, ValueError) as error:  # tsae's own refusals: their message says it all
        _record(info, first_line(error), family=family)
        return False
    except _CONTAINED as error:  # a declaration that breaks the check itself (a property that raises...)
        _record(info, f"{_shown(obj)} could not be checked ({_error_text(error)}); refused", error, family=family)
        return False
    return True


def _check_family(info: PluginInfo, name: str, family: Any) -> None:
    from tsae.models.base import Autoencoder, check_declared

    if not isinstance(family, type):
        if isinstance(family, Autoencoder):
            raise TypeError(f"registered a {type(family).__name__} instance: register the class itself "
                            f"(register({type(family).__name__})); refused")
        if isinstance(family, (list, tuple, set, dict)):
            raise TypeError(f"registered a {type(family).__name__}: call register(family) once for each family in "
                            "it; refused")
        what = "None" if family is None else (f"the function {_shown(family)}" if inspect.isroutine(family)
                                              else f"a {type(family).__name__} instance")
        raise TypeError(f"registered {what}, not a model family: register a subclass of tsae.Autoencoder "
                        "(or a tsae.plugins.LazyFamily); refused")
    if not issubclass(family, Autoencoder):
        raise TypeError(f"{family.__name__} is not a subclass of tsae.models.base.Autoencoder; refused")
    if not getattr(family, "name", None):
        raise ValueError(f"model family {family.__name__} has no 'name' (set name = \"...\" on the class: the "
                         "name --family takes and model files store); refused")
    description = getattr(family, "description", "")
    if not isinstance(description, str):
        raise ValueError(f"model family {family.name!r} ({info.label}): description must be a string, not "
                         f"{type(description).__name__}; refused")
    check_declared(family, info.label)


def family_names() -> list[str]:
    """The registered model families' names, without importing any network (``tsae plugins``)."""
    return sorted(_collect("register_models", "models", _check_family))


def _resolve(name: str) -> type | None:
    """The class of family ``name``, importing and checking a :class:`LazyFamily` on first use."""
    with _lock:
        return _resolve_locked(name)


def _resolve_locked(name: str) -> type | None:
    family = _registries["models"].get(name)
    if not isinstance(family, LazyFamily):
        return family
    info = _info(_owners["models"][name])
    try:
        with _plugin_code():
            cls = family.load()
        _check_family(info, name, cls)
        if getattr(cls, "name", None) != name:
            raise ValueError(f"{family.target} has name {getattr(cls, 'name', None)!r} but is registered as {name!r} "
                             "(the two must be the same)")
    except _CONTAINED as error:
        _record(info, f"model family {name!r} ({family.target}) cannot be used: {_error_text(error)}", error,
                family=name)
        # pop, not del: a re-entrant resolve of the same family (the import ran user code that resolves it, as a
        # script named after a module torch imports does) may have dropped it already
        _registries["models"].pop(name, None)
        if name in info.models:
            info.models.remove(name)
        _broken_families[name] = f"model family {name!r} ({info.label}) cannot be used: {_error_text(error)}"
        return None
    _registries["models"][name] = cls
    if name not in info.models:  # a re-entrant resolve that failed dropped it; this one succeeded
        info.models.append(name)
    _broken_families.pop(name, None)
    return cls


def registered_family(name: str) -> Any:
    """What ``name`` was registered as, without importing it: a family class or a :class:`LazyFamily`.

    Raises
    ------
    KeyError
        If no plugin registers ``name``.
    """
    family_names()
    return _registries["models"][name]


def broken_family(name: str) -> str | None:
    """Why model family ``name`` cannot be used, or None.

    Registered but its module failed to import, or not registered while the plugin of the
    same name (a plugin is usually named after its family) failed to load or is disabled.
    """
    family_names()
    if isinstance(_registries["models"].get(name), LazyFamily):
        _resolve(name)
    if name in _registries["models"]:
        return None
    return _broken_families.get(name) or _unavailable_plugin(name)


def _unavailable_plugin(name: str) -> str | None:
    """Why the family ``name`` is missing when the plugin named ``name`` failed to load or is disabled."""
    info = _infos.get(name)
    if info is None or not (info.load_error or info.disabled):
        return None
    why = f"is disabled ({DISABLE_ENV})" if info.disabled else f"failed to load: {info.load_error}"
    return f"model family {name!r} cannot be used: {info.label} {why}"


def model_families() -> dict[str, type]:
    """Return every registered model family, by name (importing each one's module)."""
    for name in family_names():
        _resolve(name)
    return dict(_registries["models"])


def _did_you_mean(name: Any, names: Sequence[str]) -> str:
    """``: did you mean 'conv1d'?`` for a name that differs from one of ``names`` in case or by a typo, else ``''``."""
    import difflib

    text = str(name).strip().lower()
    lowered = {known.lower(): known for known in names}
    close = [lowered[text]] if text in lowered else [lowered[m] for m in difflib.get_close_matches(text, lowered, 1)]
    return f": did you mean {close[0]!r}?" if close else ""


def get_model_family(name: str) -> type:
    """Return the model family registered under ``name``.

    Raises
    ------
    KeyError
        If no installed plugin registers ``name``; the message lists those that do.
    """
    family = _resolve(name) if name in family_names() else None
    if family is None:
        why = broken_family(name)
        if why is not None:
            raise KeyError(why)
        known = ", ".join(family_names()) or "none"
        failed = sorted(info.name for info in _infos.values() if info.load_error)
        hint = f"; plugin(s) that failed to load: {', '.join(failed)}" if failed else ""
        # a hook that raised (or took no callback) registered nothing: the family may be theirs
        hooked = sorted(info.name for info in _infos.values()
                        if any(error.startswith("register_models ") for error in info.hook_errors))
        hint += f"; plugin(s) whose register_models failed: {', '.join(hooked)}" if hooked else ""
        raise KeyError(f"unknown model family {name!r}{_did_you_mean(name, family_names())} (installed: {known}"
                       f"{hint}; see `tsae models` and `tsae plugins`)")
    return family


def owner_of(kind: str, name: str) -> PluginInfo | None:
    """Return the plugin that registered ``name`` as ``kind`` (``"models"``, ``"sources"``, ...)."""
    _collect_kind(kind)
    owner = _owners[kind].get(name)
    return _infos.get(owner) if owner is not None else None


def model_plugin_info(name: str) -> PluginInfo | None:
    """Return the plugin that registered model family ``name``."""
    return owner_of("models", name)


def family_origin(name: str) -> str:
    """How messages name the plugin of model family ``name``: its label, or "registered at run time"."""
    info = model_plugin_info(name)
    return info.label if info else "registered at run time"


def family_label(name: str) -> str:
    """``model family 'x' (plugin 'p' (dist 1.0))``: how a message about what a family's network does names it."""
    return f"model family {name!r} ({family_origin(name)})"


@float32_default()
@grad_enabled()
def create_model(name: str, channels: int, window: int, **hparams: Any) -> Any:
    """Build a model of family ``name`` for windows of shape (channels, window), and check its contract.

    One tiny forward pass checks that the code keeps the batch axis and that the
    output has the input's shape (:func:`tsae.models.base.check_contract`).

    Raises
    ------
    ValueError
        A parameter is invalid, or the family breaks its contract (the message names
        the family, its plugin and the shapes).
    """
    from tsae.models.base import check_contract

    family = get_model_family(name)
    origin = family_origin(name)
    try:
        model = family(channels=channels, window=window, **hparams)
    except ValueError as error:
        if first_line(error).startswith(f"{name}:"):  # a parameter error: it names the family and the parameter
            raise
        raise ValueError(f"model family {name!r} ({origin}) could not be built: {_error_text(error)}") from error
    except _CONTAINED as error:  # the plugin's own bug: name the plugin
        if allocation_failure(error) is not None:  # torch: "DefaultCPUAllocator: ..."
            from tsae.errors import NamedMemoryError

            settings = ", ".join(f"{key}={value}" for key, value in hparams.items())
            raise NamedMemoryError(f"model family {name!r} ({settings or 'its defaults'}) for {channels} channel(s) x "
                                   f"{window} samples does not fit in memory") from None
        hint = (" (call super().__init__(channels, window, **hparams) first in __init__)"
                if "before Module.__init__() call" in str(error) else "")
        raise ValueError(f"model family {name!r} ({origin}) could not be built: {_error_text(error)}{hint}") \
            from error
    check_contract(model, origin)
    return model


def plugin_infos() -> list[PluginInfo]:
    """Return every discovered plugin, loaded, broken or disabled, with what it registers.

    Commands are listed once the command line has asked plugins for them. An entry point
    refused because another distribution's has its name follows the one that loaded.
    """
    for kind in ("models", "sources", "sinks", "pipelines"):
        _collect_kind(kind)
    return sorted([*_infos.values(), *_shadowed], key=lambda info: info.name)  # stable: the loaded one first


def plugin_errors() -> dict[str, str]:
    """Return ``{plugin name: error}`` for plugins that failed to load or register.

    An entry point refused because another distribution's has its name is keyed
    ``"name (distribution version)"``.
    """
    errors: dict[str, str] = {}
    for info in plugin_infos():
        if info.error:
            shadowed = any(info is refused for refused in _shadowed)
            errors[f"{info.name} ({info.distribution} {info.version or ''}".rstrip() + ")" if shadowed
                   else info.name] = info.error
    return errors


def load_plugin_commands(cli: Any, reserved: Iterable[str] = ()) -> None:
    """Call every plugin's ``register_commands(cli)``, containing and recording failures.

    A command name in ``reserved`` (the built-in commands) or already added by another
    plugin is refused for the newcomer and the existing command is kept.
    """
    if "commands" in _collected:
        return
    _collected.add("commands")
    for name in reserved:
        _owners["commands"].setdefault(name, _BUILTIN_COMMANDS.name)
    for info, function, argnames in _impls("register_commands"):
        before = dict(cli.commands)
        _call(info, "register_commands", function, **{"cli": cli} if "cli" in argnames else {})
        for name, command in list(cli.commands.items()):
            if before.get(name) is command:
                continue
            problem = _bad_name("commands", name) or _not_a_command(name, command)
            if problem is not None:  # it would break `tsae --help` for every command, or never be reachable
                _record(info, problem)
                if name in before:
                    cli.commands[name] = before[name]
                else:
                    del cli.commands[name]
                continue
            if not _claim(info, "commands", name):
                if name in before:
                    cli.commands[name] = before[name]
                else:
                    del cli.commands[name]
            else:
                _registries["commands"][name] = command


def _not_a_command(name: str, command: Any) -> str | None:
    """Why ``command`` cannot be a sub-command of ``tsae`` (not a click command), or None."""
    import click

    if isinstance(command, click.Command):
        return None
    return (f"command {name!r} is {_what(command)}, not a click command (decorate it with @cli.command(), or "
            "pass a click.Command to cli.add_command); refused")


def _collect_kind(kind: str) -> None:
    collectors = {"models": family_names, "sources": stream_sources, "sinks": stream_sinks,
                  "pipelines": pipelines}
    if kind in collectors:
        collectors[kind]()


def _callable_check(kind: str) -> Callable[[PluginInfo, str, Any], None]:
    """The registration check of ``kind`` (``sources``, ``sinks``, ``pipelines``): it must be callable."""
    takes = ("a function fn(signal, **options)" if kind == "pipelines" else
             "a class or function whose factory(**options) opens the stream")

    def check(info: PluginInfo, name: str, obj: Any) -> None:
        if not callable(obj):
            raise TypeError(f"{KINDS[kind]} {name!r} is registered as {_what(obj)}, which cannot be called: "
                            f"register(name, obj) takes {takes}; refused")

    return check


def _what(obj: Any) -> str:
    """``None``, or ``a str``: how a refusal names what was registered."""
    if obj is None:
        return "None"
    kind = type(obj).__name__
    return f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"


def stream_sources() -> dict[str, Callable[..., Any]]:
    """Return the registered stream sources (``stdin``, ``mqtt``, ...) by scheme."""
    return _collect("register_sources", "sources", _callable_check("sources"))


def stream_sinks() -> dict[str, Callable[..., Any]]:
    """Return the registered stream sinks by scheme."""
    return _collect("register_sinks", "sinks", _callable_check("sinks"))


def pipelines() -> dict[str, Callable[..., Any]]:
    """Return the registered pipelines by name."""
    return _collect("register_pipelines", "pipelines", _callable_check("pipelines"))


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


def stream_options(factory: Callable[..., Any]) -> dict[str, Any] | None:
    """The options a stream factory accepts, as :class:`~tsae.models.params.Param` by name.

    A factory declares them with an ``options`` dict of ``Param`` or, by default, with its
    signature (the type of each keyword's default, or its ``int``/``float``/``bool``/``str``
    annotation). ``None`` when it takes ``**options`` (anything goes, as strings).
    """
    from tsae.models.params import Param

    declared = getattr(factory, "options", None)
    if isinstance(declared, dict) and all(isinstance(p, Param) for p in declared.values()):
        return dict(declared)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    out: dict[str, Any] = {}
    kinds = {"int": int, "float": float, "bool": bool, "str": str, int: int, float: float, bool: bool, str: str}
    for arg in signature.parameters.values():
        if arg.kind is arg.VAR_KEYWORD:
            return None
        if arg.kind in (arg.VAR_POSITIONAL, arg.POSITIONAL_ONLY):
            continue
        has_default = arg.default is not arg.empty
        kind = kinds.get(arg.annotation)
        if kind is None and has_default and isinstance(arg.default, (bool, int, float, str)):
            kind = type(arg.default)
        out[arg.name] = Param(arg.default if has_default else None, type=kind or str, required=not has_default)
    return out


def prepare_stream(kind: str, name: str, options: dict[str, Any]) -> Callable[[], Any]:
    """Check the options of plugin stream ``name`` and return a function that opens it.

    ``kind`` is ``"sources"`` or ``"sinks"``. Options (strings from the command line, or
    Python values) are checked against the factory's declaration (:func:`stream_options`)
    here, before anything opens. The stream the opener returns raises errors that name
    the plugin, and a sink counts the events it delivered.

    Raises
    ------
    ValueError
        Unknown stream, unknown, missing or invalid option; from the opener, a factory
        that returned None (or a sink without ``write``).
    RuntimeError
        From the opener, when the factory raises (the message names the plugin).
    """
    registry = stream_sources() if kind == "sources" else stream_sinks()
    what = KINDS[kind]
    if name not in registry:
        raise ValueError(f"no {what} {name!r} is registered (registered: {', '.join(sorted(registry)) or 'none'}; "
                         "see `tsae plugins`)")
    factory = registry[name]
    info = owner_of(kind, name)
    where = f"{what} {name!r} of {info.label if info else 'an unknown plugin'}"
    declared = stream_options(factory)
    values = dict(options)
    if declared is not None:
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise ValueError(f"{where}: unknown option(s) {', '.join(unknown)} "
                             f"(options: {', '.join(declared) or 'none'})")
        values = {key: declared[key].parse(value, owner=where, name=key) for key, value in values.items()}
        missing = sorted(key for key, param in declared.items() if param.required and key not in values)
        if missing:
            raise ValueError(f"{where}: missing option(s) {', '.join(missing)}")

    def open_it() -> Any:
        from tsae.io.plugin_streams import NamedBlockSource, NamedSink, NamedSource

        try:
            stream = factory(**values)
        except Exception as error:  # noqa: BLE001 - a plugin's factory may raise anything
            raise RuntimeError(f"{where} failed to open: {_error_text(error)}") from error
        if stream is None:
            raise ValueError(f"{where}: its factory returned None instead of a {what}")
        if kind == "sinks":
            return NamedSink(stream, where)
        return NamedBlockSource(stream, where) if hasattr(stream, "blocks") else NamedSource(stream, where)

    return open_it
