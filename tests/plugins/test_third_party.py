"""A third-party plugin package, installed with pip, works with no change to tsae."""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tsae import plugins
from tsae.cli import cli

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tsae_example_plugin"
pytestmark = pytest.mark.slow


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)


def _can_build_offline() -> bool:
    """setuptools >= 70.1 builds wheels itself; older ones need the 'wheel' package."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    major, minor = (int(p) for p in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory):
    """The fixture plugin pip-installed into a temporary folder put on ``sys.path`` (never into this venv).

    Yields ``(family name, environment for a subprocess that sees the plugin)``.
    """
    try:  # the distribution, not the module name: tests/fixtures on sys.path makes the fixture folder importable
        importlib.metadata.distribution("tsae-example-plugin")
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        pytest.skip("tsae-example-plugin is already installed in this environment")
    source = tmp_path_factory.mktemp("plugin_src") / "tsae_example_plugin"
    shutil.copytree(FIXTURE, source)  # build in a copy: keep build/ and egg-info out of the repo
    target = tmp_path_factory.mktemp("plugin_target")
    args = ["install", "--no-deps", "--no-build-isolation", "--no-index", "--target", str(target), str(source)]
    if not _can_build_offline():  # let pip fetch a build backend instead
        args = ["install", "--no-deps", "--target", str(target), str(source)]
    proc = _pip(*args, "-q")
    if proc.returncode != 0:
        pytest.skip(f"could not pip-install the example plugin: {proc.stderr.strip().splitlines()[-1:]}")
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    plugins.reset()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))}
    try:
        yield "linear", env
    finally:
        sys.path.remove(str(target))
        importlib.invalidate_caches()
        sys.modules.pop("tsae_example_plugin", None)
        plugins.reset()


def test_installed_plugin_appears_in_plugins_and_models(example_plugin) -> None:
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("linear "))
    assert "1.0.0" in line and "tsae-example-plugin" in line and "models: linear" in line
    models = CliRunner().invoke(cli, ["models", "linear"])
    assert models.exit_code == 0 and "latent" in models.output


def test_train_with_the_plugin_model(example_plugin, tmp_path) -> None:
    family, env = example_plugin
    t = np.arange(2000) / 50
    data = tmp_path / "data.csv"
    np.savetxt(data, np.stack([t, np.sin(t), np.cos(2 * t)], 1), delimiter=",", header="time,a,b", comments="")
    out = tmp_path / "linear.tsae"
    proc = subprocess.run(
        [sys.executable, "-m", "tsae", "train", str(data), "--family", family, "--window", "32",
         "--hop", "8", "--epochs", "3", "--param", "latent=4", "-q", "-o", str(out)],
        capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    header = __import__("tsae.models.modelfile", fromlist=["x"]).read_model_header(out)
    assert header["family"] == "linear" and header["plugin"] == "linear" and header["plugin_version"] == "1.0.0"
    codes = tmp_path / "codes.npy"
    proc = subprocess.run([sys.executable, "-m", "tsae", "encode", str(out), str(data), "-o", str(codes), "-q"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert np.load(codes).shape[1] == 4
