"""A bare install (no extras): each feature that needs one says what to install, in one line, at once."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.extras import EXTRAS, has_module, install_hint, missing_message

ROOT = Path(__file__).resolve().parents[1]

#: runs the CLI with ``BLOCKED`` unimportable (as on a bare install), then tells whether torch was imported
_RUN = """
import os, sys
sys.modules[os.environ["BLOCKED"]] = None  # find_spec gives None, import raises: not installed
from tsae.cli import main
try:
    main(sys.argv[1:])
finally:
    with open(os.environ["TORCH_FLAG"], "w") as flag:
        flag.write(str("torch" in sys.modules))
"""


def test_every_extra_named_is_one_of_pyprojects_and_brings_the_module() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    distributions = {"onnx": "onnx", "distributed": "dask[distributed]", "zstandard": "zstandard",
                     "sounddevice": "sounddevice", "umap": "umap-learn"}
    for extra, (module, _) in EXTRAS.items():
        assert extra in extras, extra
        assert any(req.startswith(distributions[module]) for req in extras[extra]), (extra, extras[extra])


def test_the_install_line_works_in_every_shell() -> None:
    # before: pip install 'tsae[onnx]' (cmd.exe passes the single quotes on to pip); umap-learn's said
    # "pip install umap-learn", not the extra the README names
    assert install_hint("onnx") == 'pip install "tsae[onnx]"'
    assert missing_message("umap", "the UMAP projection") == \
        'the UMAP projection needs umap-learn: pip install "tsae[umap]"'


def test_a_folder_named_like_the_package_is_not_the_package(tmp_path, monkeypatch) -> None:
    # before: tsae export -o onnx/ made a folder that Python, run there, took for the onnx package (a namespace
    # package): export_model went on and failed on "module 'onnx' has no attribute 'load_model_from_string'"
    (tmp_path / "tsae_no_such_pkg").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not has_module("tsae_no_such_pkg")
    (tmp_path / "tsae_no_such_pkg" / "__init__.py").write_text("")
    assert has_module("tsae_no_such_pkg")


@pytest.fixture()
def files(tmp_path: Path) -> Path:
    (tmp_path / "m.tsae").write_bytes(b"not read: the missing package is said first")
    np.savetxt(tmp_path / "d.csv", np.arange(40.0).reshape(20, 2), delimiter=",", header="a,b", comments="")
    return tmp_path


CASES = {
    "export": ("onnx", ["export", "m.tsae"], 'ONNX export needs the onnx package: pip install "tsae[onnx]"'),
    "devices": ("sounddevice", ["devices"], "live audio needs the sounddevice package and the PortAudio library: "
                                            'pip install "tsae[live]" (and PortAudio'),
    "live": ("sounddevice", ["denoise", "--live", "--duration", "1"], "live audio needs the sounddevice package"),
    "dask": ("distributed", ["reconstruct", "m.tsae", "d.csv", "-o", "out/", "--dask", "tcp://127.0.0.1:1"],
             'running on a Dask cluster needs dask.distributed: pip install "tsae[dask]"'),
    "umap": ("umap", ["encode", "m.tsae", "d.csv", "-o", "c.npy", "--plot", "c.png", "--projection", "umap"],
             'the UMAP projection needs umap-learn: pip install "tsae[umap]"'),
    "zstd": ("zstandard", ["compress", "d.csv", "-o", "p.tsz", "--coder", "zstd", "--max-error", "1e-3"],
             'the zstd coder needs the zstandard package: pip install "tsae[compress]"'),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_extra_is_one_line_before_torch_or_any_file_is_read(files, case) -> None:
    # before: export, devices, denoise --live, reconstruct --dask and encode --projection umap imported torch
    # (2-3 s on a bare install, more on a cold disk) and loaded the model before saying what to install
    blocked, args, expected = CASES[case]
    before = sorted(p.name for p in files.iterdir())
    env = {**os.environ, "BLOCKED": blocked, "TORCH_FLAG": str(files / "torch.flag"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _RUN, *args], cwd=files, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and done.stdout == "", (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"Error: {expected}"), done.stderr
    assert (files / "torch.flag").read_text() == "False"
    (files / "torch.flag").unlink()
    assert sorted(p.name for p in files.iterdir()) == before


def test_sounddevice_without_portaudio_names_portaudio_not_the_extra(tmp_path, monkeypatch) -> None:
    # before: 'live audio needs the sounddevice package and the PortAudio library: pip install 'tsae[live]' (...)
    # (PortAudio library not found)', after pip install "tsae[live]" had been done (and torch imported first)
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 1 and result.output == (
        "Error: live audio needs the PortAudio library, which sounddevice cannot load (PortAudio library not found): "
        "install it, e.g. apt-get install libportaudio2\n")


@pytest.mark.parametrize("call", ["export_model", "reconstruct_files", "reconstruct"])
def test_the_python_api_says_it_before_loading_the_model(tmp_path, monkeypatch, call) -> None:
    import importlib.util

    import tsae.models.modelfile as modelfile
    from tsae.export import export_model
    from tsae.pipelines.reconstruct.batch import reconstruct, reconstruct_files

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("onnx", "distributed") else real(name, *a))
    monkeypatch.setattr(modelfile, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    model, data = tmp_path / "m.tsae", tmp_path / "d.csv"
    with pytest.raises((RuntimeError, ValueError), match=r'pip install "tsae\[(onnx|dask)\]"$'):
        if call == "export_model":
            export_model(model, tmp_path / "m.onnx")
        elif call == "reconstruct_files":
            reconstruct_files(model, [data], tmp_path / "out", dask="tcp://127.0.0.1:1")
        else:
            reconstruct(model, [data], tmp_path / "out.csv", dask="tcp://127.0.0.1:1")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_reference_runner_names_onnxruntime_not_the_model(tmp_path) -> None:
    # before: "denoiser.onnx: No module named 'onnxruntime'", as if the model file were at fault
    code = ("import sys, runpy; sys.modules['onnxruntime'] = None; sys.argv = sys.argv[1:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "tsae" / "onnx_reference_runner.py"),
                           "model.onnx", "noisy.wav", "-o", "clean.wav"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == "", done
    assert done.stderr == 'onnxruntime is not installed: pip install onnxruntime (or pip install "tsae[onnx]")\n'


def test_a_container_coded_with_zstd_without_zstandard_is_not_called_corrupt(tmp_path, monkeypatch) -> None:
    # before: "Error: p.tsz: corrupt .tsz block (corrupt coded data (ValueError))"
    import tsae

    pytest.importorskip("zstandard")
    x = np.sin(np.arange(2000.0) / 10)[None]
    data = tsae.compress(None, x, max_error=1e-3, coder="zstd")
    (tmp_path / "p.tsz").write_bytes(data)
    monkeypatch.setitem(sys.modules, "zstandard", None)
    expected = 'data coded with zstd needs the zstandard package: pip install "tsae[compress]"'
    with pytest.raises(RuntimeError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        tsae.decompress(data)
    result = CliRunner().invoke(cli, ["decompress", str(tmp_path / "p.tsz"), "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 1 and result.output == f"Error: {expected}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.tsz"]
