"""The tooling CI relies on: the public API, lint and types, and an install that leaves nothing behind."""
from __future__ import annotations

import importlib
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tsae
from tsae._lazy import read_stub

REPO = Path(__file__).resolve().parents[1]
PUBLIC = {"__version__", "denoise", "StreamingDenoiser", "Detector", "Monitor", "smooth", "impute", "fit",
          "reconstruct", "encode", "compress", "decompress", "load_model", "save_model", "frame", "overlap_add",
          "StreamFramer", "StreamOverlapAdd", "hookimpl", "Autoencoder", "Param", "register_plugin",
          "unregister_plugin"}


@pytest.mark.parametrize("package", ["tsae", "tsae.engine", "tsae.pipelines.reconstruct"])
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    exports, public = read_stub(Path(module.__file__).with_suffix(".pyi"))
    assert module.__all__ == public and dir(module) == sorted(public)
    assert set(public) - set(exports) <= {"__version__"}  # the stub imports every other name it lists
    for name in public:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        module.nope  # noqa: B018


def test_public_api_is_the_users_verbs() -> None:
    from tsae.models.fit import fit_model_on_series
    from tsae.pipelines.compress import compress_series, decompress_series
    from tsae.pipelines.reconstruct import encode_series, reconstruct_series

    assert set(tsae.__all__) == PUBLIC
    assert (tsae.fit, tsae.reconstruct, tsae.encode) == (fit_model_on_series, reconstruct_series, encode_series)
    assert (tsae.compress, tsae.decompress) == (compress_series, decompress_series)
    assert not hasattr(tsae, "read_table") and not hasattr(tsae, "get_plugin_manager")  # plumbing: submodules



def test_submodules_are_reached_from_the_package_as_the_docs_write_them() -> None:
    """README and docs/plugins.md write tsae.plugins.get_pipeline("smooth") and tsae.plugins.LazyFamily: after a
    plain `import tsae` that was AttributeError: module 'tsae' has no attribute 'plugins'."""
    code = ("import sys, tsae; assert 'tsae.plugins' not in sys.modules; "
            "print(tsae.plugins.get_pipeline('smooth').__name__, tsae.plugins.LazyFamily.__name__)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = _run(sys.executable, "-c", code, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["smooth", "LazyFamily"]
    assert "plugins" not in dir(tsae) and not hasattr(tsae, "no_such_module")  # dir() stays the public API

def _run(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kwargs)


def test_ruff_is_clean() -> None:
    if shutil.which("ruff") is None and importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it is in the dev extra)")
    proc = _run(sys.executable, "-m", "ruff", "check", "tsae", "plugins", "scripts", "tests", cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (it is in the dev extra)")
    proc = _run(sys.executable, "-m", "mypy", "tsae", cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def _venv_with_our_dependencies(root: Path) -> Path:
    """A fresh venv that sees this environment's packages except tsae (no download, no build of torch)."""
    _run(sys.executable, "-m", "venv", "--without-pip", str(root / "venv"), check=True)
    python = root / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    target_site = _run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                       check=True).stdout.strip()
    deps = root / "deps"
    deps.mkdir()
    for folder in site.getsitepackages():
        for entry in Path(folder).iterdir():
            name = entry.name.lower()
            ours = name.startswith(("tsae", "__editable__", "_tsae")) or name.endswith(".pth")
            if ours or (deps / entry.name).exists():
                continue
            (deps / entry.name).symlink_to(entry)
    Path(target_site, "test_deps.pth").write_text(f"{deps}\n")
    return python


@pytest.mark.slow
def test_install_then_editable_install_leaves_no_cache_in_the_package(tmp_path: Path) -> None:
    """The README's ``pip install .``, a command that compiles kernels, then ``pip install -e .``.

    numba used to cache kernels in ``site-packages/tsae/engine/__pycache__``; ``pip`` left
    that folder behind and the editable install then failed to import ``__version__``.
    """
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".ci-venv", "__pycache__", "*.egg-info", "build", "dist", ".*_cache", "tests", "scripts",
        "data", "runs", "tmp"))
    python = _venv_with_our_dependencies(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NUMBA_CACHE", "VIRTUAL_ENV"))}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "-q", "--no-deps",
           "--no-build-isolation", "--no-index"]

    proc = _run(*pip, str(source), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    tsae_bin = python.parent / "tsae"
    np.save(tmp_path / "tiny.npy", np.arange(64, dtype=np.float32))
    proc = _run(str(tsae_bin), "frame", str(tmp_path / "tiny.npy"), "--window", "16", "--hop", "8", "-q",
                "-o", str(tmp_path / "frames.npy"), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    installed = Path(_run(str(python), "-c", "import tsae; print(tsae.__file__)", env=env, cwd=tmp_path,
                          check=True).stdout.strip()).parent
    assert installed.is_relative_to(tmp_path / "venv")
    assert not list(installed.rglob("*.nbi")) and list((tmp_path / "cache" / "tsae" / "numba").rglob("*.nbi"))

    proc = _run(*pip, "-e", str(source), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not installed.exists()  # pip removed every file of the first install
    proc = _run(str(tsae_bin), "--help", env=env, cwd=tmp_path)
    assert proc.returncode == 0 and "Usage:" in proc.stdout, proc.stderr


def test_numba_cache_locator_takes_only_tsae_kernels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tsae.engine import _kernels, _numba_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    kernel = _kernels.frame_rows.py_func
    locator = _numba_cache.TsaeCacheLocator.from_function(kernel, _kernels.__file__)
    assert Path(locator.get_cache_path()).parent == tmp_path / "tsae" / "numba"
    outside = tmp_path / "user_code.py"
    outside.write_text("def f():\n    pass\n")
    assert _numba_cache.TsaeCacheLocator.from_function(kernel, str(outside)) is None  # other numba users: untouched


def test_with_no_writable_cache_folder_the_kernels_compile_in_a_private_one(tmp_path: Path) -> None:
    """A read-only install and a read-only home: every command failed with "no locator available"."""
    script = (
        "from numba.core import caching\n"
        "tree = getattr(caching, 'InTreeCacheLocator', None) or caching._InTreeCacheLocator\n"
        "tree.from_function = classmethod(lambda cls, f, p: None)  # the installed package: read-only\n"
        "import numpy as np\n"
        "from tsae.engine.framing import frame\n"
        "from tsae.engine import _numba_cache\n"
        "assert frame(np.arange(100.0), 10, 5).shape == (19, 10)  # the kernels load (and pick their cache) here\n"
        "private = _numba_cache._PRIVATE[0]\n"
        "assert private.stat().st_mode & 0o777 == 0o700\n"
        "print(private)\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": "/proc/tsae-no-cache", "TMPDIR": str(tmp_path)}  # unwritable
    env.pop("NUMBA_CACHE_DIR", None)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not Path(proc.stdout.strip()).exists()  # removed at exit


def test_with_the_cache_folder_unwritable_the_kernels_never_go_into_the_package(tmp_path: Path) -> None:
    """A home that cannot be written, a package that can (a venv of the user's): numba cached tsae's kernels in
    site-packages/tsae/**/__pycache__, which pip uninstall leaves behind; and every run compiled them unsaid."""
    script = (
        "import numpy as np\n"
        "from tsae.engine.framing import frame\n"
        "from tsae.engine import _numba_cache\n"
        "assert frame(np.arange(100.0), 10, 5).shape == (19, 10)\n"
        "print(_numba_cache._PRIVATE[0])\n"
    )
    before = set(Path(tsae.__file__).parent.rglob("*.nb[ic]"))
    env = {**os.environ, "XDG_CACHE_HOME": "/proc/tsae-no-cache", "TMPDIR": str(tmp_path)}  # unwritable
    env.pop("NUMBA_CACHE_DIR", None)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(Path(tsae.__file__).parent.rglob("*.nb[ic]")) == before
    assert "cannot write the kernel cache /proc/tsae-no-cache/tsae/numba: numba's kernels are compiled again on " \
           "every run" in proc.stderr


def test_built_in_plugin_kernels_are_cached_with_tsaes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tsae.engine import _numba_cache
    from tsae_plugins import denoise_kernels

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    kernel = denoise_kernels.denoiser2_mask.py_func
    locator = _numba_cache.TsaeCacheLocator.from_function(kernel, denoise_kernels.__file__)
    assert locator is not None and Path(locator.get_cache_path()).parent == tmp_path / "tsae" / "numba"
