"""Plugin failure paths with a real third-party distribution (``tsae-fake`` 2.0, installed into a temporary target).

Each failure is one line naming the plugin at fault (for a clash, the newcomer) and the
built-ins keep working.
"""
from __future__ import annotations

import io
import re
import subprocess
import sys
import types

import numpy as np
import pytest
from click.testing import CliRunner

import tsae
from tsae.cli import cli
from tsae.io.streams import StdinSource, StdoutSink
from tsae.models.modelfile import load_model, read_model_header, save_model

NEWCOMER = "plugin 'clash' (tsae-fake 2.0)"


@pytest.fixture()
def fake(fake_installed):
    yield fake_installed
    cli.commands.clear()  # the plugin commands the root group picked up (built-ins are imported, not stored)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tsae", *args], capture_output=True, text=True, env=env, timeout=120)


# ----------------------------------------------------------------------------- names
def test_builtin_names_are_reserved_for_every_hook_kind(fake) -> None:
    errors = fake.plugin_errors()["clash"]
    for kind, name, owner in (("model family", "conv1d", "conv1d"), ("stream source", "stdin", "streams"),
                              ("stream sink", "stdout", "streams"), ("pipeline", "denoise", "pipelines")):
        assert f"{kind} {name!r} is reserved by tsae's built-in plugin {owner!r} (tsae {tsae.__version__})" in errors
    assert fake.get_model_family("conv1d").__module__ == "tsae_plugins.conv1d"
    assert fake.stream_sources()["stdin"] is StdinSource and fake.stream_sinks()["stdout"] is StdoutSink
    assert fake.get_pipeline("denoise").__module__ == "tsae_plugins.pipelines"
    # the documented way out: the same thing under a name of its own
    assert fake.model_plugin_info("fake_conv1d").label == NEWCOMER
    assert "fake_denoise" in fake.pipelines()
    info = {i.name: i for i in fake.plugin_infos()}["clash"]
    assert info.models == ["fake_conv1d"] and info.pipelines == ["fake_denoise"]


def test_a_clashing_command_is_refused_and_the_builtin_runs(fake) -> None:
    runner = CliRunner()
    assert "Train an autoencoder" in runner.invoke(cli, ["train", "--help"]).output
    hello = runner.invoke(cli, ["fake-hello"])
    assert hello.exit_code == 0 and "hello from tsae-fake" in hello.output
    listing = runner.invoke(cli, ["plugins"])
    lines = listing.output.splitlines()
    row = lines.index(next(line for line in lines if line.startswith("clash ")))
    assert "commands: fake-hello, fake-fail" in lines[row]
    assert any("command 'train' is reserved by tsae's built-in plugin 'tsae'" in line for line in lines[row:])


def test_an_error_inside_a_plugin_command_names_the_plugin(fake) -> None:
    result = CliRunner().invoke(cli, ["fake-fail"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"Error: {NEWCOMER}: TypeError: the plugin's own bug"


def test_model_file_records_its_provider_and_refuses_another(fake, tmp_path) -> None:
    path = save_model(tmp_path / "m.tsae", fake.create_model("fake_conv1d", channels=1, window=8))
    header = read_model_header(path)
    assert (header["plugin"], header["distribution"], header["plugin_version"]) == ("clash", "tsae-fake", "2.0")
    builtin = save_model(tmp_path / "c.tsae", fake.create_model("conv1d", 1, 16, hidden=2, latent=2, depth=1))
    assert read_model_header(builtin)["distribution"] == "tsae"

    class Other(fake.get_model_family("fake_conv1d")):
        pass

    @tsae.hookimpl
    def register_models(register):
        register(Other)

    fake.reset()
    fake.disable(["clash"])  # another package now provides fake_conv1d
    fake.register_plugin(types.ModuleType("other_mod"), "other")
    fake.get_plugin_manager().get_plugin("other").register_models = register_models
    fake.register_plugin(fake.get_plugin_manager().get_plugin("other"), "other")
    with pytest.raises(ValueError, match=r"model family 'fake_conv1d' was saved by plugin 'clash' \(tsae-fake\) "
                                         r"but is provided here by plugin 'other' \(registered at run time\)"):
        load_model(path)
    assert load_model(builtin).family == "conv1d"


# ----------------------------------------------------------------------------- contracts
def test_decode_of_the_wrong_shape_is_refused_at_construction(fake) -> None:
    with pytest.raises(ValueError) as error:
        fake.create_model("bad_shape", channels=4, window=8)
    assert str(error.value) == ("model family 'bad_shape' (plugin 'bad_shape' (tsae-fake 2.0)): decode returned shape "
                                "(3, 1, 8) for input (3, 4, 8); it must return the input's shape "
                                "(batch, channels, window)")


def test_a_model_that_hparams_cannot_rebuild_is_never_saved(fake, tmp_path) -> None:
    model = fake.create_model("bad_hparams", channels=2, window=8, latent=3)
    out = tmp_path / "bad.tsae"
    with pytest.raises(ValueError, match=r"model family 'bad_hparams' \(plugin 'bad_hparams' \(tsae-fake\)\): the "
                                         r"network rebuilt from hparams\(\) differs"):
        save_model(out, model)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_undeclared_constructor_argument_is_refused_at_registration(fake) -> None:
    assert "undeclared" not in fake.model_families()
    assert ("model family 'undeclared' (plugin 'undeclared' (tsae-fake 2.0)): constructor argument 'scale' is not "
            "declared in params") in fake.plugin_errors()["undeclared"]


# ----------------------------------------------------------------------------- typed parameters
def test_typed_params_parse_strings_and_name_family_and_parameter(fake) -> None:
    model = fake.create_model("typed", channels=1, window=8, hidden="12,6", bias="false")
    assert model.config["hidden"] == (12, 6) and model.config["bias"] is False
    assert fake.create_model("typed", 1, 8, hidden="64").config["hidden"] == (64,)
    for key, value, problem in (("activation", "sigmoid", "must be one of relu, tanh"),
                                ("bias", "maybe", "is not a bool (true/false)"),
                                ("dropout", "2", "must be <= 0.9"),
                                ("hidden", "0,4", "must be >= 1"),
                                ("hidden", "64,x", "is not a comma-separated list of ints")):
        with pytest.raises(ValueError) as error:
            fake.create_model("typed", 1, 8, **{key: value})
        assert str(error.value) == f"typed: parameter {key}={value!r} {problem}"
    with pytest.raises(ValueError, match="conv1d: parameter regularizer='sparsee' must be one of none, denoising"):
        fake.create_model("conv1d", 1, 16, regularizer="sparsee")


def test_param_on_the_command_line_is_one_line(fake, tmp_path) -> None:
    t = np.arange(400) / 20
    data = tmp_path / "d.csv"
    np.savetxt(data, np.stack([t, np.sin(t), np.cos(t)], 1), delimiter=",", header="time,a,b", comments="")
    for command in (["train", str(data), "--window", "8"], ["detect", "fit", str(data), "--window", "8"]):
        result = CliRunner().invoke(cli, [*command, "--family", "typed", "--param", "hidden=64,x",
                                          "-o", str(tmp_path / "m.tsae"), "-q"])
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines()[-1].endswith(
            "typed: parameter hidden='64,x' is not a comma-separated list of ints")
        assert not (tmp_path / "m.tsae").exists()


def test_models_lists_types_choices_and_bounds(fake) -> None:
    result = CliRunner().invoke(cli, ["models", "typed"])
    assert re.search(r"\n  hidden += \(16, 8\) +ints >= 1 +layer widths\n", result.output)
    assert re.search(r"\n  activation += 'relu' +str +nonlinearity \(one of: relu, tanh\)\n", result.output)
    assert re.search(r"\n  dropout += 0.0 +float >= 0.0 <= 0.9 +dropout\n", result.output)


def test_detector_refuses_a_class_at_construction(fake) -> None:
    from tsae.pipelines.anomaly.detector import Detector

    with pytest.raises(TypeError, match=r"takes the name of a registered model family .* not Typed;.*model_params"):
        Detector(model=fake.get_model_family("typed"))


# ----------------------------------------------------------------------------- diagnostics
def test_unknown_hook_is_refused_listing_the_hooks(fake) -> None:
    error = fake.plugin_errors()["misspelled"]
    assert ("unknown hook(s) register_model (did you mean register_models?) (tsae hooks: register_commands, "
            "register_models,") in error
    assert "misspelled" not in fake.model_families()
    # pluggy's own validation, told in one line with the argument tsae passes
    assert "takes argument(s) tsae does not pass: tsae calls register_models(register)" in (
        fake.plugin_errors()["bad_args"])
    assert "(reg)" in fake.plugin_errors()["bad_args"]
    module = types.ModuleType("wrong_argument")
    module.register_models = tsae.hookimpl(lambda reg: None)
    with pytest.raises(ValueError, match=r"^hook register_models\(reg\) takes argument\(s\) tsae does not pass: "
                                         r"tsae calls register_models\(register\)$"):
        tsae.register_plugin(module, "wrong_argument")  # was pluggy's PluginValidationError, its first line only
    module = types.ModuleType("typo")
    module.register_model = tsae.hookimpl(lambda register: None)
    with pytest.raises(ValueError, match="unknown hook"):
        tsae.register_plugin(module, "typo")


def test_disabled_plugins_are_not_imported(fake_target, monkeypatch, fresh_plugins) -> None:
    monkeypatch.syspath_prepend(str(fake_target))
    monkeypatch.setenv(fresh_plugins.DISABLE_ENV, "broken, clash")
    fresh_plugins.reset()
    infos = {i.name: i for i in fresh_plugins.plugin_infos()}
    assert infos["broken"].disabled and infos["clash"].disabled
    assert "broken" not in fresh_plugins.plugin_errors() and "clash" not in fresh_plugins.plugin_errors()
    assert "tsae_fake.broken" not in sys.modules and "tsae_fake.clash" not in sys.modules
    assert "typed" in fresh_plugins.model_families()
    line = next(x for x in CliRunner().invoke(cli, ["plugins"]).output.splitlines() if x.startswith("broken "))
    assert "disabled (TSAE_DISABLE_PLUGINS)" in line
    for name in [n for n in sys.modules if n.startswith("tsae_fake")]:
        del sys.modules[name]


def test_debug_shows_plugin_tracebacks_and_quiet_reports_once(fake_env) -> None:
    plain = _run(["plugins"], fake_env)
    assert plain.returncode == 0
    warning = ("warning: tsae plugin 'broken' (tsae-fake 2.0) failed to load: ImportError: tsae_fake.broken needs a "
               "library that is not installed")
    assert warning in plain.stderr and "Traceback" not in plain.stderr
    debug = _run(["--debug", "plugins"], fake_env)
    assert "Traceback (most recent call last)" in debug.stderr and 'tsae_fake/broken.py", line 2' in debug.stderr
    quiet = _run(["plugins", "-q"], fake_env)  # reported above: -q does not repeat it
    assert "warning:" not in quiet.stderr
    assert "BROKEN" in quiet.stdout  # `tsae plugins` still lists every failure
    fresh = _run(["plugins", "-q"], {**fake_env, "XDG_CACHE_HOME": fake_env["XDG_CACHE_HOME"] + "2"})
    assert warning in fresh.stderr  # never reported before: -q still shows it once


# ----------------------------------------------------------------------------- stream sources and sinks
@pytest.fixture(scope="module")
def small_detector(tmp_path_factory):
    from tsae.pipelines.anomaly.detector import Detector

    t = np.arange(600) / 10
    x = np.stack([np.sin(t), np.cos(t)])
    x[:, 500:510] += 4  # not part of training: scored as an event below
    path = tmp_path_factory.mktemp("det") / "det.tsae"
    Detector(window=16, epochs=1, device="cpu").fit(x[:, :400], sensors=["a", "b"]).save(path)
    csv = path.with_suffix(".csv")
    np.savetxt(csv, x.T, delimiter=",", header="a,b", comments="", fmt="%.5f")
    return path, csv


def _monitor(detector, **options) -> tuple[int, str]:
    from tsae.pipelines.anomaly.monitor import run_monitor

    out, err = io.StringIO(), io.StringIO()
    code = run_monitor(detector, stdout=out, stderr=err, quiet=True, **options)
    return code, out.getvalue()


def test_source_options_are_checked_before_the_stream_opens(fake, small_detector) -> None:
    detector, csv = small_detector
    where = re.escape("stream source 'fake_list' of plugin 'fake_streams' (tsae-fake 2.0)")
    with pytest.raises(ValueError, match=f"^{where}: unknown option\\(s\\) nope \\(options: path, repeat\\)$"):
        _monitor(detector, source="fake_list", source_options={"path": str(csv), "nope": "1"})
    with pytest.raises(ValueError, match=f"^{where}: parameter repeat='x' is not an int$"):
        _monitor(detector, source="fake_list", source_options={"path": str(csv), "repeat": "x"})
    with pytest.raises(ValueError, match="missing option\\(s\\) path"):
        _monitor(detector, source="fake_list", source_options={})
    with pytest.raises(ValueError, match="the built-in stream source 'stdin' takes no plugin options"):
        _monitor(detector, source_options={"path": "x"})
    code, out = _monitor(detector, source="fake_list", source_options={"path": str(csv), "repeat": "2"})
    assert code == 0 and '"samples":1200' in out


def test_source_option_without_source_is_a_usage_error(fake, small_detector) -> None:
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(small_detector[0]), "--source-option", "a=1"])
    assert result.exit_code == 2 and "--source-option needs --source NAME" in result.output


def test_sink_factory_returning_none_and_failing_streams_name_the_plugin(fake, small_detector) -> None:
    detector, csv = small_detector
    with pytest.raises(ValueError, match=r"^stream sink 'fake_none' of plugin 'fake_streams' \(tsae-fake 2.0\): its "
                                         r"factory returned None instead of a stream sink$"):
        _monitor(detector, source="fake_list", source_options={"path": str(csv)}, sink="fake_none")
    with pytest.raises(RuntimeError, match=r"^stream source 'fake_broken' of plugin 'fake_streams' \(tsae-fake 2.0\) "
                                           r"failed to read: ConnectionError: broker went away$"):
        _monitor(detector, source="fake_broken")
    from tsae.pipelines.anomaly.monitor import run_monitor

    err = io.StringIO()
    with pytest.raises(RuntimeError, match=r"stream sink 'fake_failing' of plugin 'fake_streams' .* failed to write: "
                                           r"OSError: disk full"):
        run_monitor(detector, source="fake_list", source_options={"path": str(csv)}, sink="fake_failing",
                    stderr=err)
    assert "events_delivered=0" in err.getvalue()


# ----------------------------------------------------------------------------- start-up
_IMPORTS = """
import sys
from tsae.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("IMPORTED", "torch" in sys.modules, "numpy" in sys.modules, file=sys.stderr)
"""


@pytest.mark.slow
def test_help_plugins_and_cached_models_do_not_import_torch(tmp_path) -> None:
    import os

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", _IMPORTS, *args], capture_output=True, text=True, env=env,
                              timeout=120)

    for args in (["--help"], ["plugins"]):
        assert "IMPORTED False False" in run(*args).stderr
    first, second = run("models"), run("models")
    assert "IMPORTED True" in first.stderr and "IMPORTED False" in second.stderr
    assert first.stdout == second.stdout and "conv1d: 1-D convolutional autoencoder" in second.stdout


def test_smooth_param_is_checked_before_any_work(tmp_path) -> None:
    t = np.arange(3000) / 50
    data = tmp_path / "s.csv"
    np.savetxt(data, np.stack([t, np.sin(t)], 1), delimiter=",", header="time,a", comments="")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["smooth", str(data), "-o", str(out), "--param", "hidden=wide"])
    assert result.exit_code == 1 and not out.exists()
    assert result.output.strip().splitlines()[-1] == "Error: blind_spot: parameter hidden='wide' is not an int"
    from tsae.pipelines.smooth.smoother import smooth

    x = np.sin(t) + 0.2 * np.random.default_rng(0).normal(size=t.size)
    assert smooth(x, model_params={"hidden": "4"}, steps=50).shape == x.shape
