from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tsae import plugins

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "tsae_fake_plugins"


@pytest.fixture()
def fresh_plugins():
    """Re-discover plugins before and after a test that changes the registry."""
    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture(scope="session")
def fake_target(tmp_path_factory) -> Path:
    """The ``tsae-fake`` 2.0 distribution installed into a temporary target (package + hand-written dist-info)."""
    target = tmp_path_factory.mktemp("fake_target")
    shutil.copytree(FAKE / "tsae_fake", target / "tsae_fake")
    info = target / "tsae_fake-2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tsae-fake\nVersion: 2.0\n", encoding="utf-8")
    shutil.copy(FAKE / "entry_points.txt", info / "entry_points.txt")
    (info / "top_level.txt").write_text("tsae_fake\n", encoding="utf-8")
    return target


@pytest.fixture()
def fake_installed(fake_target, monkeypatch):
    """``tsae-fake`` visible to this process (entry points included) for one test; the registries are rebuilt."""
    monkeypatch.syspath_prepend(str(fake_target))
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    plugins.reset()
    yield plugins
    for name in [name for name in sys.modules if name == "tsae_fake" or name.startswith("tsae_fake.")]:
        del sys.modules[name]
    monkeypatch.undo()
    plugins.reset()


@pytest.fixture()
def fake_env(fake_target) -> dict[str, str]:
    """Environment for a ``tsae`` subprocess that sees ``tsae-fake``."""
    path = os.pathsep.join(filter(None, [str(fake_target), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "XDG_CACHE_HOME": str(fake_target / "cache")}
    env.pop(plugins.DISABLE_ENV, None)
    return env
