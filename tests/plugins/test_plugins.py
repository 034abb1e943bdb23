"""The plugin registry: built-ins through entry points, broken plugins reported by name, the rest working."""
from __future__ import annotations

import importlib.metadata as metadata
import sys
import types

import pytest
from click.testing import CliRunner

import tsae
from tsae.cli import cli
from tsae.io.mqtt import MqttSink, MqttSource
from tsae.io.streams import StdinSource, StdoutSink
from tsae.models.base import Autoencoder

BUILTIN = {"conv1d", "lstm", "transformer", "vae"}


def test_builtins_are_registered_through_entry_points(fresh_plugins) -> None:
    families = fresh_plugins.model_families()
    assert BUILTIN <= set(families)
    infos = {info.name: info for info in fresh_plugins.plugin_infos()}
    for name in BUILTIN:
        assert infos[name].distribution == "tsae" and infos[name].version == tsae.__version__
        assert infos[name].models == [name] and "register_models" in infos[name].hooks
        assert fresh_plugins.model_plugin_info(name).name == name
    assert not {k: v for k, v in fresh_plugins.plugin_errors().items() if k in BUILTIN}


def test_get_model_family_unknown_lists_installed(fresh_plugins) -> None:
    with pytest.raises(KeyError, match="unknown model family 'nope'.*conv1d"):
        fresh_plugins.get_model_family("nope")


def _broken_entry_points(real):
    def entry_points(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == "tsae":
            found.append(metadata.EntryPoint(name="broken_import", value="tsae_no_such_module_xyz", group="tsae"))
            found.append(metadata.EntryPoint(name="broken_attr", value="tsae.plugins:no_such_attr", group="tsae"))
        return found

    return entry_points


def test_plugin_that_fails_to_import_is_reported_by_name(fresh_plugins, monkeypatch) -> None:
    monkeypatch.setattr(fresh_plugins.metadata, "entry_points", _broken_entry_points(metadata.entry_points))
    fresh_plugins.reset()
    errors = fresh_plugins.plugin_errors()
    assert "ModuleNotFoundError" in errors["broken_import"] and "tsae_no_such_module_xyz" in errors["broken_import"]
    assert "AttributeError" in errors["broken_attr"]
    assert BUILTIN <= set(fresh_plugins.model_families())  # the rest works

    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    broken = [line for line in lines if line.startswith("broken_import")]
    assert broken and "BROKEN" in broken[0] and "ModuleNotFoundError" in broken[0]
    assert any(line.startswith("conv1d") and "models: conv1d" in line for line in lines)
    # training still works with a broken plugin installed
    assert CliRunner().invoke(cli, ["models", "conv1d"]).exit_code == 0


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def test_hook_that_raises_is_reported_by_name(fresh_plugins) -> None:
    @tsae.hookimpl
    def register_models(register):
        raise RuntimeError("this plugin is broken\nsecond line")

    fresh_plugins.register_plugin(_module("raising_plugin", register_models=register_models), "raising")
    assert fresh_plugins.plugin_errors()["raising"] == "register_models raised RuntimeError: this plugin is broken"
    assert BUILTIN <= set(fresh_plugins.model_families())
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0 and "raising" in result.output and "this plugin is broken" in result.output


def test_registering_non_family_or_duplicate_is_an_error(fresh_plugins) -> None:
    class NotAModel:
        name = "not_a_model"

    class Impostor(Autoencoder):
        name = "conv1d"

    @tsae.hookimpl
    def register_models(register):
        register(NotAModel)

    @tsae.hookimpl
    def register_dup(register):
        register(Impostor)

    fresh_plugins.register_plugin(_module("p1", register_models=register_models), "not_a_model_plugin")
    fresh_plugins.register_plugin(_module("p2", register_models=register_dup), "impostor")
    errors = fresh_plugins.plugin_errors()
    assert "not a subclass" in errors["not_a_model_plugin"]
    assert "model family 'conv1d' is reserved by tsae's built-in plugin 'conv1d'" in errors["impostor"]
    assert fresh_plugins.get_model_family("conv1d").__module__ == "tsae_plugins.conv1d"


def test_runtime_plugin_adds_a_family(fresh_plugins) -> None:
    class Tiny(Autoencoder):
        name = "tiny_runtime"
        description = "test family"

    @tsae.hookimpl
    def register_models(register):
        register(Tiny)

    fresh_plugins.register_plugin(_module("tiny_mod", register_models=register_models, __version__="2.0"), "tiny")
    assert fresh_plugins.get_model_family("tiny_runtime") is Tiny
    assert fresh_plugins.model_plugin_info("tiny_runtime").version == "2.0"
    fresh_plugins.unregister_plugin("tiny")
    assert "tiny_runtime" not in fresh_plugins.model_families()


def test_family_of_a_module_loaded_from_its_file_saves(fresh_plugins, tmp_path) -> None:
    """A plugin module loaded by path (importlib's spec_from_file_location, not put in sys.modules) and
    registered at run time: saving a model of its family tried to import the module again for its version,
    and failed with ModuleNotFoundError."""
    import importlib.util

    import numpy as np

    from tsae.models.trainer import TrainConfig

    source = tmp_path / "by_path_family.py"
    source.write_text(
        "from torch import nn\n"
        "from tsae import Autoencoder, hookimpl\n"
        "class ByPath(Autoencoder):\n"
        "    name = 'by_path'\n"
        "    def __init__(self, channels, window, **hparams):\n"
        "        super().__init__(channels, window, **hparams)\n"
        "        self.down = nn.Linear(channels * window, 4)\n"
        "        self.up = nn.Linear(4, channels * window)\n"
        "    def encode(self, x):\n"
        "        return self.down(x.flatten(1))\n"
        "    def decode(self, z):\n"
        "        return self.up(z).view(-1, self.channels, self.window)\n"
        "@hookimpl\n"
        "def register_models(register):\n"
        "    register(ByPath)\n")
    spec = importlib.util.spec_from_file_location("by_path_family", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh_plugins.register_plugin(module, "by_path")
    x = np.sin(np.arange(256) / 5)[None]
    fitted = tsae.fit(x, model="by_path", window=16, hop=8, config=TrainConfig(epochs=1, seed=0, device="cpu"))
    fitted.save(tmp_path / "m.tsae")
    assert tsae.reconstruct(tmp_path / "m.tsae", x).shape == x.shape
    fresh_plugins.unregister_plugin("by_path")


def test_unregister_plugin_refuses_builtins_and_unknown_names(fresh_plugins) -> None:
    with pytest.raises(ValueError, match="'conv1d' is tsae's built-in plugin"):
        fresh_plugins.unregister_plugin("conv1d")
    assert "conv1d" in fresh_plugins.model_families()  # still there
    fresh_plugins.register_plugin(_module("tiny_mod2"), "tiny2")
    with pytest.raises(KeyError, match="no plugin 'tiny' is registered.*tiny2"):
        fresh_plugins.unregister_plugin("tiny")
    fresh_plugins.unregister_plugin("tiny2")
    with pytest.raises(KeyError, match="no plugin 'tiny2'"):
        fresh_plugins.unregister_plugin("tiny2")


def test_other_registries_and_commands(fresh_plugins) -> None:
    import click

    @tsae.hookimpl
    def register_sources(register):
        register("fake", lambda **options: iter(["1,2"]))

    @tsae.hookimpl
    def register_commands(cli):
        @cli.command("hello-plugin")
        def hello():
            click.echo("hi")

    fresh_plugins.register_plugin(_module("srcmod", register_sources=register_sources,
                                          register_commands=register_commands), "srcmod")
    assert "fake" in fresh_plugins.stream_sources()
    group = click.Group()
    fresh_plugins.load_plugin_commands(group)
    assert "hello-plugin" in group.commands


def test_models_command_lists_parameters() -> None:
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0
    for name in BUILTIN:
        assert f"\n{name}: " in "\n" + result.output
    assert "latent" in result.output and "regularizer" in result.output and "beta" in result.output
    one = CliRunner().invoke(cli, ["models", "vae", "--json"])
    import json

    rows = json.loads(one.output)
    assert rows[0]["name"] == "vae" and rows[0]["params"]["beta"]["default"] == 1.0
    bad = CliRunner().invoke(cli, ["models", "nope"])
    assert bad.exit_code != 0 and "unknown model family 'nope'" in bad.output


def test_plugins_json() -> None:
    import json

    result = CliRunner().invoke(cli, ["plugins", "--json"])
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["conv1d"]["models"] == ["conv1d"] and rows["conv1d"]["version"] == tsae.__version__


def test_stream_sources_and_sinks_come_from_the_streams_entry_point(fresh_plugins) -> None:
    entry_points = {ep.name: ep.value for ep in metadata.entry_points(group="tsae")}
    assert entry_points.get("streams") == "tsae_plugins.streams"
    sources, sinks = fresh_plugins.stream_sources(), fresh_plugins.stream_sinks()
    assert sources["stdin"] is StdinSource and sources["mqtt"] is MqttSource
    assert sinks["stdout"] is StdoutSink and sinks["mqtt"] is MqttSink
    assert fresh_plugins.get_plugin_manager().get_plugin("streams").__name__ == "tsae_plugins.streams"
    line = next(line for line in CliRunner().invoke(cli, ["plugins"]).output.splitlines()
                if line.startswith("streams"))
    assert "sources: stdin, mqtt" in line and "sinks: stdout, mqtt" in line


def test_builtin_pipelines_come_from_the_pipelines_entry_point(fresh_plugins) -> None:
    import numpy as np

    entry_points = {ep.name: ep.value for ep in metadata.entry_points(group="tsae")}
    assert entry_points.get("pipelines") == "tsae_plugins.pipelines"
    assert {"denoise", "smooth", "impute", "reconstruct"} <= set(fresh_plugins.pipelines())
    x = np.sin(np.linspace(0, 20, 400))
    x[100:120] = np.nan
    filled = fresh_plugins.get_pipeline("impute")(x[None], seed=0)
    np.testing.assert_allclose(filled, tsae.impute(x[None], seed=0))
    assert np.isfinite(filled).all()
    audio = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.01
    np.testing.assert_array_equal(fresh_plugins.get_pipeline("denoise")(audio, 16000), tsae.denoise(audio, 16000))
    with pytest.raises(ValueError, match="no pipeline named 'nope'.*denoise"):
        fresh_plugins.get_pipeline("nope")
    line = next(line for line in CliRunner().invoke(cli, ["plugins"]).output.splitlines()
                if line.startswith("pipelines"))
    assert "pipelines: denoise, smooth, impute, reconstruct" in line


def test_a_raising_register_commands_is_listed_and_named(fresh_plugins) -> None:
    @tsae.hookimpl
    def register_commands(cli):
        raise RuntimeError("no commands today")

    fresh_plugins.register_plugin(_module("cmd_fail", register_commands=register_commands), "cmd_fail")
    try:
        result = CliRunner().invoke(cli, ["plugins"])
        assert "warning: tsae plugin 'cmd_fail' (registered at run time): register_commands raised RuntimeError: " \
               "no commands today" in result.output
        assert "  ERROR: register_commands raised RuntimeError: no commands today" in result.output
        assert CliRunner().invoke(cli, ["models", "conv1d"]).exit_code == 0
    finally:
        cli.commands.clear()


def test_a_family_name_that_is_not_plain_text_is_refused_alone(fresh_plugins) -> None:
    """A bad name must not break the listing of every family (sorting an int among strings)."""
    from tsae.plugins import LazyFamily

    class Numbered(Autoencoder):
        name = 5

    class Fine(Autoencoder):
        name = "fine_after_bad"

    @tsae.hookimpl
    def register_models(register):
        register(LazyFamily(7, "x:Y"))
        register(LazyFamily("bad\nname", "x:Y"))
        register(Numbered)
        register(Fine)

    fresh_plugins.register_plugin(_module("names", register_models=register_models), "names")
    assert "fine_after_bad" in fresh_plugins.family_names() and BUILTIN <= set(fresh_plugins.family_names())
    error = fresh_plugins.plugin_errors()["names"]
    assert "model family name 7 must be a string of letters" in error and "'bad\\nname'" in error
    assert "model family name 5 must be" in error
    assert CliRunner().invoke(cli, ["models"]).exit_code == 0


def test_a_hook_that_returns_its_families_is_told_to_call_register(fresh_plugins) -> None:
    class Returned(Autoencoder):
        name = "returned_family"

    @tsae.hookimpl
    def register_models():
        return [Returned]

    fresh_plugins.register_plugin(_module("ret", register_models=register_models), "returner")
    assert "returned_family" not in fresh_plugins.family_names()
    # a hook without the register argument cannot register anything: said so instead of silence
    @tsae.hookimpl
    def register_models_with(register):
        return [Returned]

    fresh_plugins.register_plugin(_module("ret2", register_models=register_models_with), "returner2")
    assert fresh_plugins.plugin_errors()["returner2"] == (
        "register_models returned a list instead of calling register(...) for each of them; nothing it returns "
        "is registered")


def test_a_lazy_family_whose_module_fails_says_so_when_used(fresh_plugins) -> None:
    from tsae.plugins import LazyFamily

    @tsae.hookimpl
    def register_models(register):
        register(LazyFamily("lazy_broken", "tsae_no_such_module_abc:Net"))

    fresh_plugins.register_plugin(_module("lazy", register_models=register_models), "lazy")
    result = CliRunner().invoke(cli, ["models", "lazy_broken"])
    assert result.exit_code != 0 and "Error: model family 'lazy_broken' (plugin 'lazy'" in result.output  # no quotes
    assert "cannot be used: ModuleNotFoundError" in result.output
    with pytest.raises(KeyError) as info:  # and after it was found broken
        fresh_plugins.get_model_family("lazy_broken")
    message = info.value.args[0]
    assert message.startswith("model family 'lazy_broken' (plugin 'lazy' (registered at run time)) cannot be used: "
                              "ModuleNotFoundError"), message
    result = CliRunner().invoke(cli, ["models", "lazy_broken"])
    assert result.exit_code != 0 and "cannot be used: ModuleNotFoundError" in result.output


def test_a_lazy_family_whose_import_resolves_it_again_and_fails_says_so(fresh_plugins, tmp_path, monkeypatch
                                                                        ) -> None:
    # a user's script named after a module torch imports (timeit.py) runs again when the family's module imports
    # torch, and looks the families up from inside that import: both look-ups fail, the family is told broken once
    from tsae.plugins import LazyFamily

    (tmp_path / "tsae_reentrant_abc.py").write_text(
        "from tsae.plugins import model_families\nmodel_families()\nraise ImportError('shadowed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tsae_reentrant_abc", raising=False)

    @tsae.hookimpl
    def register_models(register):
        register(LazyFamily("lazy_reentrant", "tsae_reentrant_abc:Net"))

    fresh_plugins.register_plugin(_module("reentrant", register_models=register_models), "reentrant")
    families = fresh_plugins.model_families()  # was KeyError: 'lazy_reentrant', a traceback
    assert "lazy_reentrant" not in families and "conv1d" in families
    assert "cannot be used" in (fresh_plugins.broken_family("lazy_reentrant") or "")


def test_a_runtime_plugin_cannot_take_a_builtin_plugins_name(fresh_plugins) -> None:
    with pytest.raises(ValueError, match="plugin name 'conv1d' is tsae's built-in plugin"):
        fresh_plugins.register_plugin(_module("shadow"), "conv1d")
    assert fresh_plugins.get_model_family("conv1d").__module__ == "tsae_plugins.conv1d"


def test_an_installed_plugin_cannot_take_a_builtin_plugins_name(fresh_plugins, monkeypatch, caplog) -> None:
    """A third-party distribution listed before tsae (aaa-...) with an entry point named like a built-in."""
    real = metadata.entry_points

    class Dist:
        metadata = {"Name": "aaa-shadow"}
        version = "1.0"

    def entry_points(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == "tsae":
            shadow = metadata.EntryPoint(name="conv1d", value="tsae_no_such_shadow_module", group="tsae")
            object.__setattr__(shadow, "dist", Dist())
            found.insert(0, shadow)
        return found

    monkeypatch.setattr(fresh_plugins.metadata, "entry_points", entry_points)
    fresh_plugins.reset()
    assert fresh_plugins.get_model_family("conv1d").__module__ == "tsae_plugins.conv1d"
    assert fresh_plugins.model_plugin_info("conv1d").distribution == "tsae"
    assert "tsae plugin 'conv1d' of aaa-shadow 1.0 is refused: the name is taken by plugin 'conv1d' (tsae" \
        in caplog.text


def test_registration_mistakes_are_named(fresh_plugins) -> None:
    from tsae.models.params import Param

    class Instance(Autoencoder):
        name = "instance_family"

    class ListParams(Autoencoder):
        name = "list_params"
        params = [Param(1)]

    class ShapeParam(Autoencoder):
        name = "shape_param"
        params = {"window": Param(8)}

    class NanDefault(Autoencoder):
        name = "nan_default"
        params = {"scale": Param(float("nan"), min=0.0)}

    @tsae.hookimpl
    def register_models(register):
        for family in (Instance.__new__(Instance), ListParams, ShapeParam, NanDefault):
            register(family)

    fresh_plugins.register_plugin(_module("mistakes", register_models=register_models), "mistakes")
    fresh_plugins.family_names()
    info = next(i for i in fresh_plugins.plugin_infos() if i.name == "mistakes")
    text = " | ".join(info.hook_errors)
    # the first mistake stops the hook: each is tried in a plugin of its own below
    assert "registered a Instance instance: register the class itself" in text, text
    for family, expected in ((ListParams, "params must be a dict of name -> Param, not list"),
                             (ShapeParam, "params must not declare 'window'"),
                             (NanDefault, "parameter scale=nan must be a finite number")):
        @tsae.hookimpl
        def register_one(register, _family=family):
            register(_family)

        fresh_plugins.register_plugin(_module(family.name, register_models=register_one), family.name)
        assert expected in fresh_plugins.plugin_errors()[family.name], fresh_plugins.plugin_errors()[family.name]


@pytest.mark.parametrize("bug,expected", [
    ("loss_float", "model family 'bug_loss_float' (plugin 'bugs' (registered at run time)): its training step failed "
                   "(TypeError: loss() must return (loss tensor, dict of parts), not float)"),
    ("int_decode", "model family 'bug_int_decode' (plugin 'bugs' (registered at run time)): the training loss does "
                   "not depend on the network's weights"),
])
def test_a_family_that_breaks_in_training_is_named_in_one_line(fresh_plugins, tmp_path, bug, expected) -> None:
    import torch

    class Buggy(Autoencoder):
        name = f"bug_{bug}"

        def __init__(self, channels: int, window: int, **hparams) -> None:
            super().__init__(channels, window, **hparams)
            self.lin = torch.nn.Linear(window, window)

        def encode(self, x):
            return self.lin(x)

        def decode(self, z):
            return z.round().long().float() if bug == "int_decode" else z

        def loss(self, x_hat, target, z=None):
            return 1.0 if bug == "loss_float" else super().loss(x_hat, target, z=z)

    @tsae.hookimpl
    def register_models(register):
        register(Buggy)

    fresh_plugins.register_plugin(_module("bugs", register_models=register_models), "bugs")
    data = tmp_path / "d.csv"
    data.write_text("a,b\n" + "".join(f"{i % 7},{i % 5}\n" for i in range(200)))
    result = CliRunner().invoke(cli, ["train", str(data), "--family", f"bug_{bug}", "--window", "8", "--epochs", "1",
                                      "-o", str(tmp_path / "m.tsae"), "-q"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {expected}"), result.output
    assert not (tmp_path / "m.tsae").exists()


def test_a_nan_parameter_is_refused_before_training(tmp_path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("a,b\n" + "".join(f"{i % 7},{i % 5}\n" for i in range(200)))
    for value in ("nan", "inf", "1e309"):
        result = CliRunner().invoke(cli, ["train", str(data), "--window", "8", "--epochs", "1", "--param",
                                          f"reg_weight={value}", "-o", str(tmp_path / "m.tsae"), "-q"])
        assert result.exit_code == 1 and "parameter reg_weight=" in result.output, result.output
        assert "must be a finite number" in result.output and not (tmp_path / "m.tsae").exists()


def test_a_model_file_of_a_family_that_fails_to_import_says_why(fresh_plugins, tmp_path, craft_model_file) -> None:
    from tsae.models.modelfile import load_model, save_model
    from tsae.plugins import LazyFamily

    saved = save_model(tmp_path / "m.tsae", fresh_plugins.create_model("conv1d", 1, 8, hidden=2, latent=2, depth=1))

    def rename(head: dict) -> None:
        head.update(family="lazy_gone", plugin=None, distribution=None)

    crafted = craft_model_file(saved, "gone.tsae", header=rename)

    @tsae.hookimpl
    def register_models(register):
        register(LazyFamily("lazy_gone", "tsae_no_such_module_def:Net"))

    fresh_plugins.register_plugin(_module("gone", register_models=register_models), "gone")
    with pytest.raises(ValueError, match=r"model family 'lazy_gone' \(plugin 'gone' .*cannot be used: "
                                         r"ModuleNotFoundError"):
        load_model(crafted)


def test_a_model_too_large_to_build_is_a_named_memory_error(monkeypatch) -> None:
    # torch's allocator says "[enforce fail at alloc_cpu.cpp:127] ... DefaultCPUAllocator: not enough memory"
    import tsae.plugins as plugins
    from tsae.errors import NamedMemoryError

    class Huge:
        def __init__(self, **kwargs):
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] data. DefaultCPUAllocator: not enough memory: "
                               "you tried to allocate 4398046511104 bytes.")

    monkeypatch.setattr(plugins, "get_model_family", lambda name: Huge)
    with pytest.raises(NamedMemoryError, match=r"^model family 'conv1d' \(hidden=1048577\) for 2 channel\(s\) x 64 "
                                               r"samples does not fit in memory$"):
        plugins.create_model("conv1d", 2, 64, hidden=1048577)


def _installed(monkeypatch, tmp_path, fresh_plugins, plugins_: list[tuple[str, str, str, str]]) -> None:
    """Make ``(entry-point name, distribution, module, source)`` plugins visible through entry points only."""
    real = metadata.entry_points
    monkeypatch.syspath_prepend(str(tmp_path))
    found = []
    for entry_name, distribution, module, source in plugins_:
        (tmp_path / f"{module}.py").write_text(source, encoding="utf-8")
        monkeypatch.delitem(__import__("sys").modules, module, raising=False)

        class Dist:
            metadata = {"Name": distribution}
            version = "1.0"

        entry = metadata.EntryPoint(name=entry_name, value=module, group="tsae")
        object.__setattr__(entry, "dist", Dist())
        found.append(entry)

    def entry_points(**kwargs):
        listed = list(real(**kwargs))
        return listed + found if kwargs.get("group") == "tsae" else listed

    monkeypatch.setattr(fresh_plugins.metadata, "entry_points", entry_points)
    fresh_plugins.reset()


_FAMILY = """
from torch import nn
from tsae import Autoencoder, hookimpl

class {cls}(Autoencoder):
    name = {name!r}

    def __init__(self, channels, window, **hparams):
        super().__init__(channels, window, **hparams)
        self.lin = nn.Linear(window, window)

    def encode(self, x):
        return self.lin(x)

    def decode(self, z):
        return z

@hookimpl
def register_models(register):
    register({cls})
"""


def test_a_plugin_that_looks_up_a_family_when_imported_hides_no_other_plugin(fresh_plugins, monkeypatch,
                                                                            tmp_path) -> None:
    """A plugin subclassing a built-in it finds with get_model_family at import ("offering an alternative").

    That look-up filled the registries while the entry points were still loading and marked them complete,
    so the families of every plugin loaded after it (its own included) were missing, with no error anywhere.
    """
    fastconv = ("from tsae import hookimpl\nfrom tsae.plugins import get_model_family\n\n"
                "class FastConv(get_model_family('conv1d')):\n    name = 'fast_conv1d'\n\n"
                "@hookimpl\ndef register_models(register):\n    register(FastConv)\n")
    _installed(monkeypatch, tmp_path, fresh_plugins, [
        ("fastconv", "tsae-fastconv", "tsae_test_fastconv", fastconv),
        ("zlinear", "tsae-zlinear", "tsae_test_zlinear", _FAMILY.format(cls="ZLinear", name="zlinear")),
    ])
    families = fresh_plugins.family_names()
    assert {"fast_conv1d", "zlinear", "conv1d"} <= set(families)
    assert not {k: v for k, v in fresh_plugins.plugin_errors().items() if k in ("fastconv", "zlinear")}
    assert fresh_plugins.model_plugin_info("zlinear").models == ["zlinear"]


@pytest.mark.parametrize("reverse", [False, True])
def test_two_packages_with_one_entry_point_name_are_both_listed(fresh_plugins, monkeypatch, tmp_path,
                                                                reverse) -> None:
    """Two distributions declaring the entry point 'streamy': which one loads no longer depends on the order
    the file system lists them in, and the one refused is listed by `tsae plugins` (it was only a warning,
    and its sources, sinks and pipelines vanished)."""
    pipe = "from tsae import hookimpl\n\n@hookimpl\ndef register_pipelines(register):\n    register({!r}, abs)\n"
    installed = [("streamy", "tsae-streamy", "tsae_test_streamy_a", pipe.format("from_a")),
                 ("streamy", "tsae-zzz", "tsae_test_streamy_b", pipe.format("from_b"))]
    _installed(monkeypatch, tmp_path, fresh_plugins, installed[::-1] if reverse else installed)
    assert "from_a" in fresh_plugins.pipelines() and "from_b" not in fresh_plugins.pipelines()
    listed = [info for info in fresh_plugins.plugin_infos() if info.name == "streamy"]
    assert [info.distribution for info in listed] == ["tsae-streamy", "tsae-zzz"]
    assert "entry point 'streamy' is taken by plugin 'streamy' (tsae-streamy 1.0)" in listed[1].load_error
    assert "streamy (tsae-zzz 1.0)" in fresh_plugins.plugin_errors()
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if "tsae-zzz" in line)
    assert line.startswith("streamy") and "BROKEN" in line and "is taken by" in line


@pytest.mark.parametrize("reverse", [False, True])
def test_the_same_family_from_two_packages_goes_to_the_same_one_every_time(fresh_plugins, monkeypatch, tmp_path,
                                                                           reverse) -> None:
    """Between two third-party plugins the first wins; first is by plugin name, not by the file system's order
    (a model file records its plugin, so a winner that changes between machines made files refuse to load)."""
    installed = [("dupa", "tsae-dupa", "tsae_test_dupa", _FAMILY.format(cls="A", name="dup")),
                 ("dupb", "tsae-dupb", "tsae_test_dupb", _FAMILY.format(cls="B", name="dup"))]
    _installed(monkeypatch, tmp_path, fresh_plugins, installed[::-1] if reverse else installed)
    assert fresh_plugins.model_plugin_info("dup").name == "dupa"
    assert "already registered by plugin 'dupa'" in fresh_plugins.plugin_errors()["dupb"]


def test_an_unknown_family_names_the_plugin_whose_register_models_failed(fresh_plugins) -> None:
    @tsae.hookimpl
    def register_models(register):
        raise RuntimeError("no GPU")

    fresh_plugins.register_plugin(_module("gpu_only", register_models=register_models), "gpu_only")
    with pytest.raises(KeyError, match=r"unknown model family 'gpu_fam'.*register_models failed: gpu_only"):
        fresh_plugins.get_model_family("gpu_fam")


def test_a_model_family_given_as_the_plugin_says_where_it_belongs(fresh_plugins) -> None:
    class LinearAE(Autoencoder):
        name = "audit_linear"

    for family in (LinearAE, fresh_plugins.LazyFamily("audit_linear", "tsae_linear:LinearAE")):
        with pytest.raises(TypeError, match=r"^(LinearAE|LazyFamily\('audit_linear'\)) is a model family, not a "
                                            r"plugin: register it from a register_models hook"):
            fresh_plugins.register_plugin(family, "audit_linear")  # it registered nothing, without a word
    assert "audit_linear" not in fresh_plugins.model_families()
    assert "audit_linear" not in {info.name for info in fresh_plugins.plugin_infos()}


def test_a_class_with_method_hooks_is_told_to_register_an_instance(fresh_plugins) -> None:
    """It registered the class, and its hook then failed: "register_models raised TypeError: ... missing 'self'"."""
    class Tiny(Autoencoder):
        name = "tiny_method_hook"
        description = "test family"

    class MethodPlugin:
        @tsae.hookimpl
        def register_models(self, register):  # type: ignore[no-untyped-def]
            register(Tiny)

    with pytest.raises(ValueError, match=r"MethodPlugin is a class whose hook\(s\) register_models take self: "
                                         r"register an instance, MethodPlugin\(\)"):
        fresh_plugins.register_plugin(MethodPlugin, "method_plugin")
    fresh_plugins.register_plugin(MethodPlugin(), "method_plugin")  # an instance is a plugin
    assert fresh_plugins.get_model_family("tiny_method_hook") is Tiny

    class StaticPlugin:
        @staticmethod
        @tsae.hookimpl
        def register_models(register):  # type: ignore[no-untyped-def]
            register(Tiny)

    fresh_plugins.unregister_plugin("method_plugin")
    fresh_plugins.register_plugin(StaticPlugin, "static_plugin")  # a class of static hooks is one too
    assert fresh_plugins.get_model_family("tiny_method_hook") is Tiny
