"""docs/plugins.md followed literally by a third-party author: its examples run as written, and the
mistakes found on the walk are each one line naming the plugin, while the rest of tsae keeps working."""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import click
import pytest
from plugin_helpers import LinearFamily

import tsae
from tsae.models.base import Autoencoder

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _guide_block(marker: str) -> str:
    """The ```python block of the guide that contains ``marker``."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    found = [block for block in blocks if marker in block]
    assert len(found) == 1, f"docs/plugins.md has {len(found)} python blocks with {marker!r}"
    return found[0]


class Walked(LinearFamily):
    name = "walk_good"


class NoEncode(Autoencoder):
    name = "walk_noencode"

    def decode(self, z):
        return z


class NoDecode(Walked):
    name = "walk_nodecode"
    decode = Autoencoder.decode


class OwnForward(Walked):
    """No decode of its own, but a forward: nothing calls the base class's decode."""

    name = "walk_ownforward"
    decode = Autoencoder.decode

    def forward(self, x):
        return self.up(self.encode(x)).view(-1, self.channels, self.window)


def test_the_guides_plugin_test_runs_as_written(fresh_plugins, tsae_sandbox, tmp_path, monkeypatch) -> None:
    # the author's package: the guide's model-family block as tsae_linear, importable but not imported yet
    package = tmp_path / "tsae_linear"
    package.mkdir()
    (package / "__init__.py").write_text(_guide_block("class LinearAE"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tsae_linear", raising=False)
    namespace: dict = {}
    try:
        exec(_guide_block("def test_linear_family"), namespace)  # noqa: S102 - the guide's own example
        namespace["test_linear_family"](tsae_sandbox)  # the guide's sys.modules["tsae_linear"] was a KeyError
    finally:
        sys.modules.pop("tsae_linear", None)


@pytest.mark.parametrize(("hook", "argument"), [("register_models", "register"), ("register_sources", "register"),
                                                ("register_pipelines", "register")])
def test_a_hook_without_its_argument_is_reported_not_silent(fresh_plugins, hook, argument) -> None:
    def forgot():  # `def register_models():` registers nothing, and said nothing
        return None

    fresh_plugins.register_plugin(_module("forgot", **{hook: tsae.hookimpl(specname=hook)(forgot)}), "walk_forgot")
    assert fresh_plugins.plugin_errors()["walk_forgot"] == (
        f"{hook} takes no {argument!r} argument, so it registers nothing (def {hook}({argument}))")
    assert "conv1d" in fresh_plugins.family_names() and "stdin" in fresh_plugins.stream_sources()


def test_a_commands_hook_without_the_cli_argument_is_reported(fresh_plugins) -> None:
    @tsae.hookimpl
    def register_commands():
        return None

    fresh_plugins.register_plugin(_module("forgot_cli", register_commands=register_commands), "walk_forgot_cli")
    fresh_plugins.load_plugin_commands(click.Group("walk"))
    info = next(info for info in fresh_plugins.plugin_infos() if info.name == "walk_forgot_cli")
    assert info.hook_errors == ["register_commands takes no 'cli' argument, so it registers nothing "
                                "(def register_commands(cli))"]


def test_a_stream_factory_or_pipeline_that_cannot_be_called_is_refused_when_registered(fresh_plugins) -> None:
    def ok(x, **options):
        return x

    @tsae.hookimpl
    def register_sources(register):
        register("walk_none_source", None)
        register("walk_int_source", 42)

    @tsae.hookimpl
    def register_sinks(register):
        register("walk_object_sink", object())

    @tsae.hookimpl
    def register_pipelines(register):
        register("walk_str_pipeline", "oops")
        register("walk_ok_pipeline", ok)

    fresh_plugins.register_plugin(_module("calls", register_sources=register_sources, register_sinks=register_sinks,
                                          register_pipelines=register_pipelines), "walk_calls")
    assert "walk_none_source" not in fresh_plugins.stream_sources()
    assert "walk_int_source" not in fresh_plugins.stream_sources()
    assert "walk_object_sink" not in fresh_plugins.stream_sinks()
    assert fresh_plugins.get_pipeline("walk_ok_pipeline") is ok  # the hook's good registration still counts
    with pytest.raises(ValueError, match="no pipeline named 'walk_str_pipeline'"):
        fresh_plugins.get_pipeline("walk_str_pipeline")
    info = next(info for info in fresh_plugins.plugin_infos() if info.name == "walk_calls")
    assert info.hook_errors == [
        "stream source 'walk_none_source' is registered as None, which cannot be called: register(name, obj) takes "
        "a class or function whose factory(**options) opens the stream; refused",
        "stream source 'walk_int_source' is registered as an int, which cannot be called: register(name, obj) takes "
        "a class or function whose factory(**options) opens the stream; refused",
        "stream sink 'walk_object_sink' is registered as an object, which cannot be called: register(name, obj) "
        "takes a class or function whose factory(**options) opens the stream; refused",
        "pipeline 'walk_str_pipeline' is registered as a str, which cannot be called: register(name, obj) takes a "
        "function fn(signal, **options); refused",
    ]
    assert info.sources == [] and info.sinks == [] and info.pipelines == ["walk_ok_pipeline"]
    assert {"stdin", "mqtt"} <= set(fresh_plugins.stream_sources())  # the built-ins keep working
    with pytest.raises(ValueError, match="no stream source 'walk_int_source' is registered"):
        fresh_plugins.prepare_stream("sources", "walk_int_source", {})


def test_a_family_without_encode_or_decode_is_named_when_built(fresh_plugins) -> None:
    @tsae.hookimpl
    def register_models(register):
        for family in (NoEncode, NoDecode, OwnForward, Walked):
            register(family)

    fresh_plugins.register_plugin(_module("methods", register_models=register_models), "walk_methods")
    label = "plugin 'walk_methods' (registered at run time)"
    # it was "a forward pass ... failed (NotImplementedError: NotImplementedError)": which method was missing?
    for family, cls, method in (("walk_noencode", "NoEncode", "encode"), ("walk_nodecode", "NoDecode", "decode")):
        with pytest.raises(ValueError) as caught:
            fresh_plugins.create_model(family, 2, 8)
        assert str(caught.value) == (f"model family {family!r} ({label}): {cls} does not implement {method} (a family "
                                     "defines encode(x) -> code and decode(code) -> windows)")
    assert fresh_plugins.create_model("walk_ownforward", 2, 8).config["latent"] == 3  # its forward needs no decode
    assert fresh_plugins.create_model("walk_good", 2, 8).config["latent"] == 3


def test_denoise_with_a_plugin_family_names_what_streaming_needs(tiny_model) -> None:
    from tsae.pipelines.denoise.denoiser import load_denoiser

    with pytest.raises(ValueError, match=r"'conv1d' is not a streaming denoiser .*tsae\.models\.base\.StreamingModel "
                                         r"with streamer\(\)"):
        load_denoiser(tiny_model)


def test_models_names_the_package_that_brought_each_family() -> None:
    # 'tsae models' showed '[plugin linear 1.0.0]' without the package a user would upgrade or remove
    import json

    from click.testing import CliRunner

    from tsae.cli import cli

    rows = json.loads(CliRunner().invoke(cli, ["models", "--json"]).output)
    assert {row["name"]: row["distribution"] for row in rows}["conv1d"] == "tsae"
    text = CliRunner().invoke(cli, ["models", "conv1d"]).output
    assert text.splitlines()[0].startswith("conv1d: ") and ", package tsae]" in text.splitlines()[0]
