"""A third-party author's mistakes met through a real entry point (a dist-info written into tmp_path):
each is one line naming the plugin, and none spoils what tsae writes to stdout."""
from __future__ import annotations

import importlib
import json
import sys
import textwrap
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

import tsae
from tsae.cli import cli

FAMILY = """
from torch import nn
from tsae import Autoencoder, Param, hookimpl


class LinearAE(Autoencoder):
    name = "{family}"
    description = "linear autoencoder"
    params = {{"latent": Param(2, "size of the code", min=1)}}

    def __init__(self, channels, window, **hparams):
        super().__init__(channels, window, **hparams)
        self.down = nn.Linear(channels * window, self.config["latent"])
        self.up = nn.Linear(self.config["latent"], channels * window)

    def encode(self, x):
        return self.down(x.flatten(1))

    def decode(self, z):
        return self.up(z).view(-1, self.channels, self.window)
"""


REGISTER = "\n@hookimpl\ndef register_models(register):\n    register(LinearAE)\n"


def _install(folder: Path, module: str, source: str, dist: str = "tsae-author", version: str = "1.0") -> Path:
    """Write ``module`` and a dist-info declaring it as the ``tsae`` entry point ``module``, as pip would."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = folder / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[tsae]\n{module} = {module}\n", encoding="utf-8")
    return folder


@pytest.fixture()
def on_path(monkeypatch, fresh_plugins):
    """Put folders on ``sys.path`` (in order) and rediscover the plugins; their modules are forgotten after."""
    monkeypatch.delenv(fresh_plugins.DISABLE_ENV, raising=False)
    before = set(sys.modules)

    def put(*folders: Path) -> None:
        for folder in reversed(folders):
            monkeypatch.syspath_prepend(str(folder))
        importlib.invalidate_caches()
        fresh_plugins.reset()

    yield put
    for name in set(sys.modules) - before:
        if name.startswith("author_"):
            del sys.modules[name]


def test_what_a_plugin_prints_while_it_loads_goes_to_stderr_not_into_the_output(on_path, tmp_path) -> None:
    # before: "hello" came first on stdout, so `tsae plugins --json` (and `smooth -o -`) wrote no valid JSON/CSV
    source = "print('hello at import')\n" + FAMILY.format(family="author_loud") + textwrap.dedent("""
        @hookimpl
        def register_models(register):
            print('hello from the hook')
            register(LinearAE)
        """)
    on_path(_install(tmp_path / "site", "author_loud", source))
    stderr = ""
    for command in (["plugins", "--json"], ["models", "--json"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)  # the plugin's words are not in it
        assert any(row["name"] == "author_loud" for row in rows)
        stderr += result.stderr
    assert "hello at import" in stderr and "hello from the hook" in stderr, stderr


def _two_copies(tmp_path: Path, same_folder: bool) -> list[Path]:
    source = FAMILY.format(family="author_twin") + REGISTER
    first = _install(tmp_path / "a", "author_twin", source, version="1.0")
    if same_folder:  # a half-done upgrade: the second dist-info beside the first
        info = first / "tsae_author-2.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tsae-author\nVersion: 2.0\n", encoding="utf-8")
        (info / "entry_points.txt").write_text("[tsae]\nauthor_twin = author_twin\n", encoding="utf-8")
        return [first]
    return [first, _install(tmp_path / "b", "author_twin", source, version="2.0")]


@pytest.mark.parametrize("same_folder", [False, True])
def test_a_plugin_installed_twice_is_named_with_both_versions(on_path, fresh_plugins, tmp_path,
                                                             same_folder) -> None:
    # before: importlib showed one copy; tsae named (and model files recorded) one version without a word
    on_path(*_two_copies(tmp_path, same_folder))
    error = fresh_plugins.plugin_errors()["author_twin"]
    assert "tsae-author is installed 2 times (" in error and "1.0 in " in error and "2.0 in " in error, error
    assert ("a half-done upgrade" in error) == same_folder, error
    assert "author_twin" in fresh_plugins.family_names()  # still usable: only the environment is in doubt
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0 and "ERROR: tsae-author is installed 2 times" in result.stdout, result.output


def test_one_copy_of_a_plugin_is_not_reported(on_path, fresh_plugins, tmp_path) -> None:
    on_path(_two_copies(tmp_path, False)[0])
    assert "author_twin" not in fresh_plugins.plugin_errors()


def test_an_undecorated_misspelt_hook_is_named_with_the_hook_meant(on_path, fresh_plugins, tmp_path) -> None:
    # before: the plugin loaded, registered nothing, and `tsae plugins` said only "registers nothing"
    source = FAMILY.format(family="author_typo") + "\ndef register_modles(register):\n    register(LinearAE)\n"
    on_path(_install(tmp_path / "site", "author_typo", source))
    error = fresh_plugins.plugin_errors()["author_typo"]
    assert "implements no tsae hook; register_modles is not one (did you mean register_models?)" in error, error
    result = CliRunner().invoke(cli, ["models", "author_typo"])
    assert result.exit_code != 0 and "did you mean register_models?" in result.output, result.output


def test_a_helper_named_like_a_hook_beside_real_hooks_is_left_alone(fresh_plugins) -> None:
    module = types.ModuleType("author_helper")

    @tsae.hookimpl
    def register_pipelines(register):
        register("author_identity", lambda x, **options: x)

    module.register_pipelines = register_pipelines
    module.register_model = lambda cls: cls  # a helper of the plugin's own, not meant as a hook
    tsae.register_plugin(module, "author_helper")
    assert "author_helper" not in fresh_plugins.plugin_errors()
    assert fresh_plugins.get_pipeline("author_identity")(3) == 3


def test_register_plugin_refuses_a_module_whose_only_hook_is_misspelt(fresh_plugins) -> None:
    module = types.ModuleType("author_misspelt")
    module.registre_models = lambda register: None
    with pytest.raises(ValueError, match=r"registre_models is not one \(did you mean register_models\?\)"):
        tsae.register_plugin(module, "author_misspelt")


def _register_chatty(sandbox, family: str) -> None:
    """Register ``family``: :data:`FAMILY`'s source, as written above, with an ``encode`` that prints."""
    namespace: dict = {}
    exec(FAMILY.format(family=family), namespace)  # noqa: S102 - the plugin's source, as written above

    class Chatty(namespace["LinearAE"]):
        def encode(self, x):
            print("encoding", tuple(x.shape))
            return super().encode(x)

    sandbox.register(types.SimpleNamespace(register_models=tsae.hookimpl(lambda register: register(Chatty))), family)


def test_what_a_family_prints_while_it_runs_stays_out_of_dash_o_dash(tsae_sandbox, tmp_path) -> None:
    # before: `tsae reconstruct m.tsae x.csv -o -` wrote "encoding (…)" above the CSV header (and before the
    # .npy magic of `tsae encode -o -`, which then no longer loaded)
    import numpy as np

    from tsae.models.modelfile import save_model

    _register_chatty(tsae_sandbox, "author_chatty")
    model = save_model(tmp_path / "m.tsae", tsae_sandbox.create_model("author_chatty", 2, 16))
    data = tmp_path / "x.csv"
    np.savetxt(data, np.random.default_rng(0).normal(size=(200, 2)), delimiter=",", header="a,b", comments="")
    result = CliRunner().invoke(cli, ["reconstruct", str(model), str(data), "-o", "-", "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("a,b\n") and "encoding" not in result.stdout, result.stdout[:200]
    assert "encoding (" in result.stderr
    result = CliRunner().invoke(cli, ["encode", str(model), str(data), "-o", "-", "-q"])
    assert result.exit_code == 0 and result.stdout_bytes.startswith(b"\x93NUMPY"), result.stdout_bytes[:40]


def _family_with(name: str, extra: str) -> types.SimpleNamespace:
    """A plugin (module source run in its own namespace) whose family's __init__ ends with ``extra``."""
    source = FAMILY.format(family=name).replace(
        "        self.up = nn.Linear(self.config[\"latent\"], channels * window)\n",
        "        self.up = nn.Linear(self.config[\"latent\"], channels * window)\n" + textwrap.indent(extra, " " * 8))
    namespace: dict = {"__name__": f"{name}_module"}
    exec(source, namespace)  # noqa: S102 - the plugin's source, defined in its own module
    family = namespace["LinearAE"]
    return types.SimpleNamespace(register_models=tsae.hookimpl(lambda register: register(family)))


def test_a_tensor_kept_as_a_plain_attribute_is_refused_naming_it(tsae_sandbox) -> None:
    # before: trained and saved without a word; --device cuda then failed with torch's "Expected all tensors to
    # be on the same device", and what training changed in the tensor was lost in the model file
    import torch

    tsae_sandbox.register(_family_with("author_plain", "import torch\nself.scale = torch.ones(channels, 1)\n"),
                          "author_plain")
    with pytest.raises(ValueError, match=r"'author_plain' .*: scale is a tensor kept as a plain attribute, not a "
                                         r"parameter or buffer: .*self\.register_buffer"):
        tsae_sandbox.create_model("author_plain", 2, 16)
    tsae_sandbox.register(_family_with("author_buffer", "import torch\nself.register_buffer('scale', "
                                                        "torch.ones(channels, 1))\n"), "author_buffer")
    assert isinstance(tsae_sandbox.create_model("author_buffer", 2, 16).scale, torch.Tensor)


def test_a_library_module_inside_the_family_is_not_looked_at(tsae_sandbox) -> None:
    library = types.ModuleType("author_library")
    exec("import torch\nclass Cached(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.cache = torch.zeros(1)\n", library.__dict__)  # noqa: S102
    sys.modules["author_library"] = library
    tsae_sandbox.register(_family_with("author_uses_lib", "import author_library\n"
                                                          "self.lib = author_library.Cached()\n"), "author_uses_lib")
    assert tsae_sandbox.create_model("author_uses_lib", 2, 16).lib.cache.shape == (1,)


def test_an_init_that_cannot_take_the_shared_params_is_refused_when_registered(fresh_plugins) -> None:
    # before: registered, trained for all of --epochs, then refused when saving ("cannot be rebuilt from its
    # hparams() (TypeError: ... unexpected keyword argument 'regularizer')"), the training lost
    namespace: dict = {"__name__": "author_explicit_module"}
    exec(FAMILY.format(family="author_explicit").replace(
        "def __init__(self, channels, window, **hparams):\n        super().__init__(channels, window, **hparams)",
        "def __init__(self, channels, window, latent=2):\n        super().__init__(channels, window, latent=latent)"),
        namespace)  # noqa: S102
    family = namespace["LinearAE"]
    tsae.register_plugin(types.SimpleNamespace(register_models=tsae.hookimpl(lambda register: register(family))),
                         "author_explicit")
    error = fresh_plugins.plugin_errors()["author_explicit"]
    assert "__init__ does not take 'regularizer', 'reg_weight', which tsae passes to every family" in error, error
    assert "super().__init__(channels, window, **hparams)" in error
    assert "author_explicit" not in fresh_plugins.family_names()


def test_a_refused_family_asked_for_by_name_is_told_once(on_path, tmp_path, monkeypatch) -> None:
    # before: `tsae train x.csv --family author_refused` warned "... __init__ does not take ..." and then failed with
    # the same text again; a command that does not ask for the family still warns
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = FAMILY.format(family="author_refused").replace("def __init__(self, channels, window, **hparams):\n"
                                                            "        super().__init__(channels, window, **hparams)",
                                                            "def __init__(self, channels, window):\n"
                                                            "        super().__init__(channels, window)")
    on_path(_install(tmp_path / "site", "author_refused", source + REGISTER))
    data = tmp_path / "x.csv"
    data.write_text("a,b\n" + "".join(f"{i},{-i}\n" for i in range(300)), encoding="utf-8")
    for command in (["train", str(data), "-o", str(tmp_path / "m.tsae"), "--family", "author_refused"],
                    ["detect", "fit", str(data), "-o", str(tmp_path / "d.tsad"), "--family=author_refused"],
                    ["models", "author_refused"]):
        tsae.plugins.reset()  # each command a fresh process, which loads the plugins (and warns) again
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "does not take" in lines[0], result.stderr
    tsae.plugins.reset()
    result = CliRunner().invoke(cli, ["models", "conv1d"])
    assert result.exit_code == 0 and "warning: " in result.stderr and "does not take" in result.stderr, result.stderr


@pytest.mark.slow  # a detector is fitted (about 5 s here)
def test_what_a_family_prints_stays_out_of_the_monitors_json_lines(tsae_sandbox, tmp_path) -> None:
    # before: `tsae monitor --detector d.tsad` (sink stdout) wrote "encoding (...)" between its JSON lines
    import numpy as np

    _register_chatty(tsae_sandbox, "author_chatty_monitor")
    rows = np.random.default_rng(0).normal(size=(300, 2))
    data = tmp_path / "x.csv"
    np.savetxt(data, rows, delimiter=",", header="a,b", comments="")
    fit = CliRunner().invoke(cli, ["detect", "fit", str(data), "-o", str(tmp_path / "d.tsad"), "--family",
                                   "author_chatty_monitor", "--epochs", "1", "--window", "16", "-q"])
    assert fit.exit_code == 0, fit.output
    result = CliRunner().invoke(cli, ["monitor", "--detector", str(tmp_path / "d.tsad"), "-q", "--every-sample"],
                                input="a,b\n" + "".join(f"{a},{b}\n" for a, b in rows[:100]))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]  # every line a record
    assert records[-1]["type"] == "summary" and len(records) > 50 and "encoding (" in result.stderr


def test_what_the_network_prints_stays_out_of_denoise_dash_audio(monkeypatch) -> None:
    # before: a print in `tsae denoise -`'s network landed inside the WAV stream on stdout
    import io

    import numpy as np
    import soundfile as sf

    from tsae.pipelines.denoise import denoiser

    feed = denoiser.StreamingDenoiser.feed

    def chatty_feed(self, chunk):  # the network's code runs inside feed: a family's print there
        print("denoising", chunk.shape)
        return feed(self, chunk)

    monkeypatch.setattr(denoiser.StreamingDenoiser, "feed", chatty_feed)
    wav = io.BytesIO()
    sf.write(wav, 0.1 * np.random.default_rng(1).normal(size=8000), 16000, format="WAV", subtype="PCM_16")
    result = CliRunner().invoke(cli, ["denoise", "-", "-q"], input=wav.getvalue())
    assert result.exit_code == 0, result.output
    assert b"denoising" not in result.stdout_bytes and "denoising" in result.stderr
    assert sf.read(io.BytesIO(result.stdout_bytes))[0].shape == (8000,)


def test_state_that_is_not_a_tensor_is_refused_before_training(tsae_sandbox, tmp_path) -> None:
    # before: `tsae train x.csv --family F` (F with get_extra_state returning a dict) trained for all of --epochs,
    # then "internal error (AttributeError: 'dict' object has no attribute 'shape'); this is a bug in tsae"
    from tsae.models.modelfile import save_model

    extra = "def get_extra_state(self):\n    return {'vocab': ['a', 'b']}\n" \
            "def set_extra_state(self, state):\n    self.vocab = state['vocab']\n"
    namespace: dict = {"__name__": "author_extra_module"}
    exec(FAMILY.format(family="author_extra") + textwrap.indent(extra, " " * 4), namespace)  # noqa: S102
    family = namespace["LinearAE"]
    tsae_sandbox.register(types.SimpleNamespace(register_models=tsae.hookimpl(lambda register: register(family))),
                          "author_extra")
    message = r"'author_extra' .*: state_dict\(\) entry '_extra_state' is a dict, not a tensor: a model file"
    with pytest.raises(ValueError, match=message):
        tsae_sandbox.create_model("author_extra", 2, 16)
    with pytest.raises(ValueError, match=message):  # a network built by hand, saved from Python
        save_model(tmp_path / "m.tsae", family(2, 16))
    assert not (tmp_path / "m.tsae").exists()


def _clash_plugin(name: str) -> types.SimpleNamespace:
    """A plugin named ``name`` whose family is ``author_clash``."""
    namespace: dict = {"__name__": f"{name}_module"}
    exec(FAMILY.format(family="author_clash"), namespace)  # noqa: S102
    family = namespace["LinearAE"]
    return types.SimpleNamespace(register_models=tsae.hookimpl(lambda register: register(family)))


def _clashing_file(tsae_sandbox, folder: Path) -> Path:
    """A model file of ``author_clash`` written by plugin ``author_first``, whose family ``author_second`` then
    provides (registered first); ``author_first`` is registered again after it (refused: the name is taken)."""
    from tsae.models.modelfile import save_model

    tsae.register_plugin(_clash_plugin("author_first"), "author_first")
    try:
        path = save_model(folder / "m.tsae", tsae_sandbox.create_model("author_clash", 2, 16))
    finally:
        tsae.plugins.unregister_plugin("author_first")
    tsae_sandbox.register(_clash_plugin("author_second"), "author_second")
    tsae_sandbox.register(_clash_plugin("author_first"), "author_first")
    return path


def test_a_model_file_of_a_plugin_refused_by_a_clash_says_which_plugin_took_the_name(tsae_sandbox, tmp_path) -> None:
    # before: "model family 'author_clash' was saved by plugin 'author_first' (...) but is provided here by plugin
    # 'author_second' (...); install the plugin that wrote it", while that plugin was installed, refused because
    # the other had registered the name first
    from tsae.models.modelfile import load_model

    path = _clashing_file(tsae_sandbox, tmp_path)
    assert "already registered by plugin 'author_second'" in tsae_sandbox.errors()["author_first"]
    with pytest.raises(ValueError, match=r"plugin 'author_first' is installed, but plugin 'author_second' .* took "
                                         r"the name first: disable it \(TSAE_DISABLE_PLUGINS=author_second\)"):
        load_model(path)


def test_a_model_file_of_a_disabled_plugin_says_it_is_disabled(tsae_sandbox, tmp_path) -> None:
    # before: "...; install the plugin that wrote it", while it was installed, only disabled
    from tsae.models.modelfile import load_model

    path = _clashing_file(tsae_sandbox, tmp_path)
    tsae.plugins._infos["author_first"].disabled = True  # as TSAE_DISABLE_PLUGINS=author_first marks an entry point
    with pytest.raises(ValueError, match=r"provided here by plugin 'author_second' .*; plugin 'author_first' is "
                                         r"installed but disabled: take it out of TSAE_DISABLE_PLUGINS$"):
        load_model(path)
