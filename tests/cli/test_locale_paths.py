"""Non-ASCII file names under the C locale (``LC_ALL=C PYTHONUTF8=0``): Python holds such a name's bytes as
surrogate escapes, which soundfile could not encode (``'ascii' codec can't encode characters``), matplotlib could
not draw in a plot's title, and the batch manifest could not write."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX locales")


def _tsae_in_c_locale(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "tsae", *map(str, args), "-q"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import soundfile as sf

    root = tmp_path_factory.mktemp("locale")
    probe = subprocess.run([sys.executable, "-c", "import sys; print(sys.getfilesystemencoding())"], text=True,
                           capture_output=True, env={**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0"})
    if probe.stdout.strip().lower() in ("utf-8", "utf8"):
        pytest.skip("this platform decodes file names as UTF-8 under the C locale")
    data = root / "données"
    data.mkdir()
    sf.write(data / "é.wav", (0.1 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32), 16000)
    (data / "é.csv").write_text("time,a,b\n" + "".join(f"{i},{np.sin(i / 9):.4f},{np.cos(i / 7):.4f}\n"
                                                      for i in range(300)))
    return root


@pytest.mark.parametrize(("source", "output"), [("données/é.wav", "out.wav"), ("données/é.wav", "sortie_é.flac"),
                                                ("données/é.csv", "lissé.csv")])
def test_a_non_ascii_input_or_output_is_read_and_written(folder: Path, source: str, output: str) -> None:
    command = "denoise" if source.endswith(".wav") else "smooth"
    proc = _tsae_in_c_locale(command, source, "-o", output, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert (folder / output).stat().st_size > 100


def test_a_plot_titled_with_a_non_ascii_name_is_drawn(folder: Path) -> None:
    fit = _tsae_in_c_locale("detect", "fit", "données/é.csv", "--window", "16", "--epochs", "1", "-o", "dé.tsae",
                            cwd=folder)
    assert fit.returncode == 0, fit.stderr
    proc = _tsae_in_c_locale("detect", "score", "données/é.csv", "--detector", "dé.tsae", "-o", "scoré.csv",
                             "--plot", "tracé.png", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert (folder / "tracé.png").read_bytes()[:4] == b"\x89PNG"


def test_a_batch_of_non_ascii_names_writes_its_manifest_and_resumes(folder: Path) -> None:
    train = _tsae_in_c_locale("train", "données/é.csv", "--window", "16", "--epochs", "1", "-o", "modèle.tsae",
                              cwd=folder)
    assert train.returncode == 0, train.stderr
    batch = folder / "lot"
    batch.mkdir()
    for name in ("é1.csv", "è2.csv"):
        (batch / name).write_bytes((folder / "données" / "é.csv").read_bytes())
    first = _tsae_in_c_locale("reconstruct", "modèle.tsae", "lot", "-o", "sortiés/", cwd=folder)
    assert first.returncode == 0, first.stderr
    assert "lot/é1.csv,sortiés/é1.csv,ok" in (folder / "sortiés" / "manifest.csv").read_text(encoding="utf-8")
    made = [(folder / "sortiés" / name).stat().st_mtime_ns for name in ("é1.csv", "è2.csv")]
    again = _tsae_in_c_locale("reconstruct", "modèle.tsae", "lot", "-o", "sortiés/", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert [(folder / "sortiés" / name).stat().st_mtime_ns for name in ("é1.csv", "è2.csv")] == made  # resumed
