"""What a third-party plugin author gets wrong: each mistake is one line naming the plugin, and it
never takes down tsae, the built-ins, the plugin's other families or other plugins."""
from __future__ import annotations

import importlib.metadata as metadata
import json
import re
import sys
import types

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from plugin_helpers import LinearFamily
from torch import nn

import tsae
from tsae.cli import cli
from tsae.models.params import Param


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _plugin(fresh, name: str, *families) -> None:
    """Register a run-time plugin whose ``register_models`` registers ``families`` in order."""

    @tsae.hookimpl
    def register_models(register):
        for family in families:
            register(family)

    fresh.register_plugin(_module(f"{name}_mod", register_models=register_models), name)


class Good(LinearFamily):
    name = "audit_good"


def _family(name: str, base: type = Good, **attrs) -> type:
    return type(name.title().replace("_", ""), (base,), {"name": name, **attrs})


class _Dist:
    def __init__(self, name: str | None, version: str | None) -> None:
        self.name, self._version = name, version

    @property
    def metadata(self):
        class Meta:
            def __getitem__(_, key):  # newer importlib.metadata raises KeyError for a missing field
                if key == "Name" and self.name is not None:
                    return self.name
                raise KeyError(key)

        return Meta()

    @property
    def version(self):
        if self._version is None:
            raise KeyError("Version")
        return self._version


def _with_entry_points(monkeypatch, plugins, *extra: tuple[str, str, _Dist | None]) -> None:
    """Add entry points ``(name, "module[:attr]", dist)`` to the ``tsae`` group, then re-discover."""
    real = metadata.entry_points

    def entry_points(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == "tsae":
            for name, value, dist in extra:
                point = metadata.EntryPoint(name=name, value=value, group="tsae")
                if dist is not None:
                    object.__setattr__(point, "dist", dist)
                found.append(point)
        return found

    monkeypatch.setattr(plugins.metadata, "entry_points", entry_points)
    plugins.reset()


@pytest.fixture()
def plugin_dir(tmp_path, monkeypatch):
    """A folder on ``sys.path`` for plugin modules written by the test; they are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("audit_"):
            del sys.modules[name]


# ----------------------------------------------------------------------------- sys.exit() in a plugin
def test_sys_exit_at_import_is_a_named_load_error(fresh_plugins, plugin_dir, monkeypatch) -> None:
    (plugin_dir / "audit_exits.py").write_text("import sys\nsys.exit('plugin says bye')\n")
    _with_entry_points(monkeypatch, fresh_plugins, ("audit_exits", "audit_exits", _Dist("tsae-exits", "1.0")))
    assert fresh_plugins.plugin_errors()["audit_exits"] == "SystemExit: sys.exit('plugin says bye') was called"
    assert fresh_plugins.get_model_family("conv1d").__module__ == "tsae_plugins.conv1d"
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert re.search(r"^audit_exits +1\.0 +BROKEN \(tsae-exits\): SystemExit: sys\.exit\('plugin says bye'\) was "
                     r"called$", result.stdout, re.MULTILINE), result.stdout


def test_sys_exit_in_a_hook_or_constructor_is_contained(fresh_plugins) -> None:
    @tsae.hookimpl
    def register_models(register):
        sys.exit(3)

    fresh_plugins.register_plugin(_module("exits", register_models=register_models), "exits")
    assert fresh_plugins.plugin_errors()["exits"] == "register_models raised SystemExit: sys.exit(3) was called"

    class Quits(Good):
        name = "audit_quits"

        def __init__(self, channels, window, **hparams):
            super().__init__(channels, window, **hparams)
            sys.exit()

    _plugin(fresh_plugins, "quits", Quits)
    with pytest.raises(ValueError, match=r"^model family 'audit_quits' \(plugin 'quits' \(registered at run time\)\) "
                                         r"could not be built: SystemExit: sys.exit\(\) was called$"):
        fresh_plugins.create_model("audit_quits", 1, 8)


# ----------------------------------------------------------------------------- what register() is given
@pytest.mark.parametrize("thing,expected", [
    (lambda: None, "registered the function <lambda>, not a model family: register a subclass of tsae.Autoencoder"),
    (None, "registered None, not a model family"),
    ([Good], "registered a list: call register(family) once for each family in it; refused"),
    (nn.Linear(2, 2), "registered a Linear instance, not a model family"),
    (type("Plain", (nn.Module,), {"name": "plain"}), "Plain is not a subclass of tsae.models.base.Autoencoder; "
                                                     "refused"),
    (type("NoName", (Good,), {"name": ""}), "model family NoName has no 'name' (set name = \"...\" on the class"),
    (type("IntDesc", (Good,), {"name": "int_desc", "description": 7}),
     "model family 'int_desc' (plugin 'mistake' (registered at run time)): description must be a string, not int"),
])
def test_each_wrong_registration_is_refused_alone_and_the_hook_goes_on(fresh_plugins, thing, expected) -> None:
    after = _family("audit_after")
    _plugin(fresh_plugins, "mistake", thing, after)
    error = fresh_plugins.plugin_errors()["mistake"]
    assert error.startswith(expected), error
    assert "raised" not in error  # tsae refused it: the plugin did not raise anything
    assert fresh_plugins.get_model_family("audit_after") is after  # registered after the mistake: kept
    assert fresh_plugins.get_model_family("conv1d").__module__ == "tsae_plugins.conv1d"


def test_bad_declarations_refuse_each_family_and_say_why_when_it_is_asked_for(fresh_plugins) -> None:
    out_of_bounds = _family("audit_oob", params={"latent": Param(0, "code", min=1, max=8)})
    not_a_choice = _family("audit_choice", params={**Good.params, "act": Param("gelu", choices=("relu", "tanh"))})
    undeclared = _family("audit_undeclared", __init__=lambda self, channels, window, scale=2.0: None)
    _plugin(fresh_plugins, "decl", out_of_bounds, not_a_choice, undeclared)
    errors = next(info for info in fresh_plugins.plugin_infos() if info.name == "decl").hook_errors
    assert errors == [
        "model family 'audit_oob' (plugin 'decl' (registered at run time)) default: parameter latent=0 must be >= 1",
        "model family 'audit_choice' (plugin 'decl' (registered at run time)) default: parameter act='gelu' must be "
        "one of relu, tanh",
        "model family 'audit_undeclared' (plugin 'decl' (registered at run time)): constructor argument 'scale' is "
        "not declared in params, so a model file could not restore it",
    ]
    # --family NAME says why instead of "unknown model family"
    with pytest.raises(KeyError) as error:
        fresh_plugins.get_model_family("audit_oob")
    assert error.value.args[0] == errors[0]
    plain = _family("audit_plain", base=nn.Module)
    _plugin(fresh_plugins, "plain", plain)
    with pytest.raises(KeyError) as error:
        fresh_plugins.get_model_family("audit_plain")
    assert error.value.args[0] == ("model family 'audit_plain' (plugin 'plain' (registered at run time)) was "
                                   "refused: AuditPlain is not a subclass of tsae.models.base.Autoencoder")
    # ... and another plugin providing the name properly still wins
    _plugin(fresh_plugins, "fixed", _family("audit_plain"))
    assert fresh_plugins.get_model_family("audit_plain").__name__ == "AuditPlain"


def test_register_called_with_the_wrong_arguments_is_named(fresh_plugins) -> None:
    @tsae.hookimpl
    def register_models(register):
        register("audit_x", Good)
        register()
        register(_family("audit_kept"))

    @tsae.hookimpl
    def register_pipelines(register):
        register(lambda x: x)

    fresh_plugins.register_plugin(_module("args", register_models=register_models,
                                          register_pipelines=register_pipelines), "args")
    fresh_plugins.family_names()
    fresh_plugins.pipelines()
    info = next(info for info in fresh_plugins.plugin_infos() if info.name == "args")
    assert info.hook_errors == [
        "register() takes one model family, the class (register(MyFamily)) or a LazyFamily, not "
        "register(a str, Good); call it once per family; refused",
        "register() takes one model family, the class (register(MyFamily)) or a LazyFamily, not no argument; call "
        "it once per family; refused",
        "register() takes a name and a pipeline (register('name', obj)), not register(<lambda>); refused",
    ]
    assert info.models == ["audit_kept"]


def test_a_hook_without_the_register_argument_that_returns_families_is_told(fresh_plugins) -> None:
    @tsae.hookimpl
    def register_models():
        return [Good]

    fresh_plugins.register_plugin(_module("noarg", register_models=register_models), "noarg")
    assert fresh_plugins.plugin_errors()["noarg"] == (
        "register_models returned a list instead of calling register(...) for each of them; nothing it returns is "
        "registered (take the callback: def register_models(register))")


def test_one_plugin_registering_two_families_under_one_name_keeps_the_first(fresh_plugins) -> None:
    first = _family("audit_twice")
    second = type("Second", (Good,), {"name": "audit_twice"})

    @tsae.hookimpl
    def register_models(register):
        register(first)
        register(first)  # the same class again is harmless

    @tsae.hookimpl(specname="register_models")
    def register_models_again(register):
        register(second)

    fresh_plugins.register_plugin(_module("twice", register_models=register_models,
                                          register_models_again=register_models_again), "twice")
    assert fresh_plugins.get_model_family("audit_twice") is first
    assert fresh_plugins.plugin_errors()["twice"] == (
        "model family 'audit_twice' is registered twice by this plugin (AuditTwice, then Second); the second is "
        "refused")


# ----------------------------------------------------------------------------- lazy families
def test_a_lazy_family_target_without_a_class_is_refused_at_registration(fresh_plugins) -> None:
    from tsae.plugins import LazyFamily

    _plugin(fresh_plugins, "lazy", LazyFamily("audit_lazy", "tsae_plugins.conv1d"), _family("audit_after_lazy"))
    assert "audit_lazy" not in fresh_plugins.family_names()
    assert fresh_plugins.plugin_errors()["lazy"] == (
        "LazyFamily('audit_lazy', 'tsae_plugins.conv1d'): the target must be 'package.module:Class'; refused")
    assert "audit_after_lazy" in fresh_plugins.family_names()
    with pytest.raises(KeyError, match=r"its LazyFamily target 'tsae_plugins.conv1d' names no class \(the form is "
                                       r"package.module:Class\)"):
        fresh_plugins.get_model_family("audit_lazy")


def test_a_broken_lazy_family_does_not_hide_the_others_in_tsae_models(fresh_plugins, tmp_path,
                                                                      monkeypatch) -> None:
    from tsae.plugins import LazyFamily

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    misnamed = LazyFamily("audit_misnamed", "tsae_plugins.conv1d:Conv1dAE")
    _plugin(fresh_plugins, "lazy", misnamed)
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    assert "\nconv1d: 1-D convolutional autoencoder" in result.output
    assert ("audit_misnamed: BROKEN [plugin lazy]: model family 'audit_misnamed' (plugin 'lazy' (registered at run "
            "time)) cannot be used: ValueError: tsae_plugins.conv1d:Conv1dAE has name 'conv1d' but is registered as "
            "'audit_misnamed' (the two must be the same)") in result.output
    _plugin(fresh_plugins, "lazy", misnamed)  # registered afresh: found broken again
    rows = {row["name"]: row for row in json.loads(CliRunner().invoke(cli, ["models", "--json"]).stdout)}
    assert "cannot be used" in rows["audit_misnamed"]["error"] and "error" not in rows["conv1d"]
    one = CliRunner().invoke(cli, ["models", "audit_misnamed"])  # asked for by name: the command's error
    assert one.exit_code == 1 and "cannot be used" in one.output


def test_a_family_without_description_is_listed_as_such(fresh_plugins, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _plugin(fresh_plugins, "terse", _family("audit_terse", description=""))
    result = CliRunner().invoke(cli, ["models", "audit_terse"])
    assert result.output.startswith("audit_terse: (no description) [plugin terse]"), result.output


# ----------------------------------------------------------------------------- the network's contract
def _decode(transform):
    return lambda self, z: transform(Good.decode(self, z))


@pytest.mark.parametrize("name,decode,problem", [
    ("audit_f64", _decode(lambda out: out.double()), "decode returned float64 for float32 input; it must return "
                                                     "the input's dtype"),
    ("audit_int", _decode(lambda out: out.long()), "decode returned int64 for float32 input"),
    ("audit_complex", _decode(lambda out: torch.complex(out, out)), "decode returned complex64 for float32 input"),
    ("audit_nan", _decode(lambda out: out * float("nan")), "decode returned NaN or infinite values for an all-zero "
                                                           "input (3, 2, 8); it must return finite values"),
    ("audit_inf", _decode(lambda out: out + float("inf")), "decode returned NaN or infinite values"),
])
def test_wrong_dtype_or_non_finite_output_is_refused_at_construction(fresh_plugins, name, decode, problem) -> None:
    _plugin(fresh_plugins, "net", _family(name, decode=decode))
    with pytest.raises(ValueError) as error:
        fresh_plugins.create_model(name, channels=2, window=8)
    assert str(error.value).startswith(f"model family {name!r} (plugin 'net' (registered at run time)): {problem}")


def test_builtin_families_pass_the_stricter_contract(fresh_plugins) -> None:
    for name in ("conv1d", "dense", "lstm", "transformer", "vae", "vqvae", "blind_spot", "denoiser", "denoiser2"):
        channels, window = (1, 512) if name.startswith("denoiser") else (2, 64)
        assert fresh_plugins.create_model(name, channels, window).name == name


def test_a_constructor_value_error_names_the_family_and_plugin(fresh_plugins) -> None:
    def init(self, channels, window, **hparams):
        Good.__init__(self, channels, window, **hparams)
        raise ValueError("math domain error")

    _plugin(fresh_plugins, "ctor", _family("audit_ctor", __init__=init))
    with pytest.raises(ValueError, match=r"^model family 'audit_ctor' \(plugin 'ctor' \(registered at run time\)\) "
                                         r"could not be built: ValueError: math domain error$"):
        fresh_plugins.create_model("audit_ctor", 1, 8)
    # a parameter error already names the family and the parameter: unchanged
    with pytest.raises(ValueError, match=r"^audit_ctor: parameter latent=0 must be >= 1$"):
        fresh_plugins.create_model("audit_ctor", 1, 8, latent=0)
    with pytest.raises(ValueError, match=r"^audit_good: channels and window must be >= 1, got 0 and 8$"):
        Good(0, 8)


def test_param_bounds_that_allow_nothing_refuse_that_family_alone(fresh_plugins) -> None:
    crossed = _family("audit_crossed", params={"k": Param(5, min=10, max=1)})
    empty = _family("audit_empty", params={"mode": Param("a", choices=())})
    _plugin(fresh_plugins, "bounds", crossed, empty, _family("audit_fine"))
    errors = next(info for info in fresh_plugins.plugin_infos() if info.name == "bounds").hook_errors
    assert errors == [
        "model family 'audit_crossed' (plugin 'bounds' (registered at run time)): params['k'] has min 10 above its "
        "max 1, so no value is allowed",
        "model family 'audit_empty' (plugin 'bounds' (registered at run time)): params['mode'] has no choices, so no "
        "value is allowed",
    ]
    assert "audit_fine" in fresh_plugins.family_names()


# ----------------------------------------------------------------------------- loading
def test_slow_import_is_named_and_timed(fresh_plugins, plugin_dir, monkeypatch, caplog) -> None:
    (plugin_dir / "audit_slow.py").write_text("import time\ntime.sleep(0.2)\n")
    monkeypatch.setattr(fresh_plugins, "SLOW_IMPORT_SECONDS", 0.1)
    _with_entry_points(monkeypatch, fresh_plugins, ("audit_slow", "audit_slow", _Dist("tsae-slow", "2.0")))
    infos = {info.name: info for info in fresh_plugins.plugin_infos()}
    assert infos["audit_slow"].load_seconds >= 0.2 and not infos["audit_slow"].errors
    assert ("tsae plugin 'audit_slow' (tsae-slow 2.0) takes over 0.1 s to import, which delays every tsae command: "
            "import heavy modules inside its hooks, or register a LazyFamily") in caplog.text
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith("audit_slow "))
    assert re.search(r"registers nothing  \(slow import: \d+\.\d s\)$", line), line  # 0.2 s, or more if loaded
    rows = {row["name"]: row for row in json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).stdout)}
    assert rows["audit_slow"]["load_seconds"] >= 0.2


def test_metadata_without_name_or_version_does_not_stop_tsae(fresh_plugins, plugin_dir, monkeypatch) -> None:
    (plugin_dir / "audit_anon.py").write_text("")
    (plugin_dir / "audit_nover.py").write_text("")
    _with_entry_points(monkeypatch, fresh_plugins, ("audit_anon", "audit_anon", _Dist(None, "0.1")),
                       ("audit_nover", "audit_nover", _Dist("tsae-nover", None)))
    infos = {info.name: info for info in fresh_plugins.plugin_infos()}
    assert infos["audit_anon"].label == "plugin 'audit_anon' (module audit_anon)"
    assert infos["audit_nover"].label == "plugin 'audit_nover' (tsae-nover)" and infos["audit_nover"].version is None
    assert "conv1d" in fresh_plugins.family_names()


def test_one_module_under_two_entry_points_is_told_plainly(fresh_plugins, plugin_dir, monkeypatch) -> None:
    (plugin_dir / "audit_shared.py").write_text("")
    dist = _Dist("tsae-shared", "1.0")
    _with_entry_points(monkeypatch, fresh_plugins, ("audit_one", "audit_shared", dist),
                       ("audit_two", "audit_shared", dist))
    assert fresh_plugins.plugin_errors().get("audit_two") == (
        "ValueError: audit_shared is already registered as plugin 'audit_one': one module or object is one plugin "
        "(give each entry point a module or object of its own)")


def test_a_family_whose_plugin_failed_to_load_or_is_disabled_says_so(fresh_plugins, plugin_dir, monkeypatch,
                                                                      tmp_path) -> None:
    from tsae.models.modelfile import load_model, save_model

    (plugin_dir / "audit_gone.py").write_text("import audit_no_such_dependency\n")
    _with_entry_points(monkeypatch, fresh_plugins, ("audit_gone", "audit_gone", _Dist("tsae-gone", "1.0")))
    with pytest.raises(KeyError) as error:
        fresh_plugins.get_model_family("audit_gone")
    assert error.value.args[0] == ("model family 'audit_gone' cannot be used: plugin 'audit_gone' (tsae-gone 1.0) "
                                   "failed to load: ModuleNotFoundError: No module named 'audit_no_such_dependency'")
    with pytest.raises(KeyError, match=r"unknown model family 'nope' \(installed: .*; plugin\(s\) that failed to "
                                       r"load: audit_gone; see `tsae models` and `tsae plugins`\)"):
        fresh_plugins.get_model_family("nope")
    # a model file of a family whose plugin is disabled names the plugin and why
    _plugin(fresh_plugins, "audit_saved", _family("audit_saved"))
    path = save_model(tmp_path / "m.tsae", fresh_plugins.create_model("audit_saved", 1, 8))
    fresh_plugins.unregister_plugin("audit_saved")
    with pytest.raises(ValueError, match=r"model family 'audit_saved' is not installed \(plugin 'audit_saved'"):
        load_model(path)  # uninstalled: the plugin the file records is named
    monkeypatch.setenv(fresh_plugins.DISABLE_ENV, "audit_gone")
    fresh_plugins.reset()
    with pytest.raises(KeyError, match=r"plugin 'audit_gone' \(tsae-gone 1.0\) is disabled \(TSAE_DISABLE_PLUGINS\)"):
        fresh_plugins.get_model_family("audit_gone")


# ----------------------------------------------------------------------------- the authors' test fixture
def test_sandbox_errors_are_the_sandboxed_plugins_own(fresh_plugins, tsae_sandbox) -> None:
    @tsae.hookimpl
    def register_models(register):
        raise RuntimeError("someone else's bug")

    fresh_plugins.register_plugin(_module("other", register_models=register_models), "audit_other")
    try:
        _good = _family("audit_sandboxed")

        @tsae.hookimpl
        def register_mine(register):
            register(_good)

        tsae_sandbox.register(_module("mine", register_models=register_mine), "audit_mine")
        assert tsae_sandbox.errors() == {}  # another plugin's failure does not fail the author's test
        assert "audit_other" in tsae_sandbox.errors(everyone=True)
        assert tsae_sandbox.create_model("audit_sandboxed", 1, 8).config["latent"] == 3
    finally:
        fresh_plugins.unregister_plugin("audit_other")


def test_sandbox_brings_back_the_installed_plugin_it_replaced(fresh_plugins) -> None:
    from tsae.testing import PluginSandbox

    stand_in = _family("audit_stand_in")

    @tsae.hookimpl
    def register_models(register):
        register(stand_in)

    real = metadata.entry_points

    def entry_points(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == "tsae":
            point = metadata.EntryPoint(name="audit_installed", value="tsae_plugins.families:dense", group="tsae")
            object.__setattr__(point, "dist", _Dist("tsae-installed", "1.0"))
            found = [f for f in found if f.name != "dense"] + [point]
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fresh_plugins.metadata, "entry_points", entry_points)
        fresh_plugins.reset()
        assert fresh_plugins.model_plugin_info("dense").name == "audit_installed"
        sandbox = PluginSandbox()
        sandbox.register(_module("replacement", register_models=register_models), "audit_installed")
        assert "dense" not in fresh_plugins.family_names()
        sandbox.close()
        assert fresh_plugins.model_plugin_info("dense").name == "audit_installed"


# ----------------------------------------------------------------------------- the happy path, end to end
def test_a_dozen_line_family_trains_reconstructs_and_reloads(fresh_plugins, tmp_path) -> None:
    from tsae.models.modelfile import load_model, read_model_header

    _plugin(fresh_plugins, "audit_e2e", _family("audit_e2e"))
    t = np.arange(600) / 20
    data = tmp_path / "d.csv"
    np.savetxt(data, np.stack([t, np.sin(t), np.cos(t)], 1), delimiter=",", header="time,a,b", comments="")
    model = tmp_path / "m.tsae"
    result = CliRunner().invoke(cli, ["train", str(data), "--family", "audit_e2e", "--window", "16", "--epochs", "2",
                                      "--param", "latent=4", "-o", str(model), "-q"])
    assert result.exit_code == 0, result.output
    header = read_model_header(model)
    assert (header["family"], header["plugin"], header["hparams"]["latent"]) == ("audit_e2e", "audit_e2e", 4)
    out = tmp_path / "r.csv"
    result = CliRunner().invoke(cli, ["reconstruct", str(model), str(data), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert np.loadtxt(out, delimiter=",", skiprows=1).shape == (600, 3)
    assert load_model(model).family == "audit_e2e"


def test_threads_loading_models_at_once_all_find_their_family(tmp_path) -> None:
    """The first registry look-up loads the plugins; other threads used to see it half-filled ("not installed")."""
    import subprocess
    import sys

    script = (
        "import sys, threading\n"
        "from tsae.models.modelfile import load_model\n"
        "errors = []\n"
        "def load():\n"
        "    try:\n"
        "        load_model(sys.argv[1], device='cpu')\n"
        "    except Exception as error:\n"
        "        errors.append(str(error))\n"
        "threads = [threading.Thread(target=load) for _ in range(6)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(errors)\n"
        "sys.exit(1 if errors else 0)\n"
    )
    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    path = tmp_path / "m.tsae"
    save_model(path, create_model("dense", channels=1, window=16), frame={"window": 16, "hop": 8, "window_fn": None})
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_family_that_diverges_only_on_real_data_is_named_with_its_plugin(fresh_plugins) -> None:
    """Finite on silence (so built), NaN on data: the training error names the family and its plugin."""
    from tsae.models.trainer import TrainConfig, train_model

    def decode(self, z):  # finite when checked (eval mode), NaN while training
        return Good.decode(self, z) * (float("nan") if self.training else 1.0)

    _plugin(fresh_plugins, "wobbly", _family("audit_wobbly", decode=decode))
    net = fresh_plugins.create_model("audit_wobbly", channels=1, window=8)
    windows = np.random.default_rng(0).normal(size=(32, 1, 8)).astype(np.float32)
    with pytest.raises(RuntimeError, match=r"^model family 'audit_wobbly' \(plugin 'wobbly' \(registered at run "
                                           r"time\)\): training diverged"):
        train_model(net, windows, TrainConfig(epochs=1, quiet=True, device="cpu"))


def test_a_model_file_whose_family_reconstructs_nan_is_named_with_the_family_and_its_plugin(fresh_plugins,
                                                                                             tmp_path) -> None:
    """reconstruct named the model file only ("t_nl.tsae: it reconstructs NaN..."), not the plugin whose family
    gave the NaN, as detector scoring and training name it."""
    from tsae.models.modelfile import save_model
    from tsae.pipelines.reconstruct.batch import encode_file, reconstruct_file

    def blown(self, out):  # finite when built and loaded (the contract's check), NaN once ``broken``
        return out * float("nan") if type(self).broken else out

    family = _family("audit_nan_later", broken=False, decode=lambda self, z: blown(self, Good.decode(self, z)),
                     encode=lambda self, x: blown(self, Good.encode(self, x)))
    _plugin(fresh_plugins, "nanny", family)
    path = save_model(tmp_path / "t_nl.tsae", fresh_plugins.create_model("audit_nan_later", channels=1, window=8),
                      frame={"window": 8, "hop": 4, "window_fn": None})
    data = tmp_path / "x.npy"
    np.save(data, np.sin(np.arange(64) / 5)[None, :])
    family.broken = True
    file = re.escape(str(tmp_path / "t_nl.tsae"))
    label = r"model family 'audit_nan_later' \(plugin 'nanny' \(registered at run time\)\)"
    with pytest.raises(ValueError, match=rf"^{file}: {label} reconstructs NaN or infinite values \(from window 0\); "
                                         r"weights blown up by a diverged training, or the family's bug\?$"):
        reconstruct_file(path, data, tmp_path / "r.npy")
    with pytest.raises(ValueError, match=rf"^{file}: the encoder of {label} gives NaN"):
        encode_file(path, data, tmp_path / "c.npy")
    assert not (tmp_path / "r.npy").exists() and not (tmp_path / "c.npy").exists()


@pytest.mark.parametrize("name", [None, 3, "", "  "])
def test_register_plugin_refuses_a_name_that_is_no_text(fresh_plugins, name) -> None:
    # before: a plugin registered under None, 3 or "" that no one could list or unregister by name
    with pytest.raises(TypeError, match=r"^name must be the plugin's name \(a non-empty string\), got "):
        fresh_plugins.register_plugin(_module("named_mod"), name)


def test_register_plugin_refuses_none_as_the_plugin(fresh_plugins) -> None:
    with pytest.raises(TypeError, match=r"^plugin must be a module or an object with @tsae.hookimpl hooks, got None$"):
        fresh_plugins.register_plugin(None, "nothing")


@pytest.mark.parametrize("channels, window", [(1.5, 16), (1, 16.0), ("1", 16), (True, 16)])
def test_an_autoencoder_built_with_no_whole_numbers_is_a_named_type_error(channels, window) -> None:
    # before: 1.5 or 16.0 failed inside torch's Linear ("type must be tuple of ints, but got float"),
    # "1" at a comparison of str and int, and True was taken as one channel
    with pytest.raises(TypeError, match=r"^test_linear: (channels|window) must be a whole number, got "):
        LinearFamily(channels, window)
    assert LinearFamily(np.int64(2), np.int32(16)).channels == 2
