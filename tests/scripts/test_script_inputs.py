"""The scripts' answers to a missing data folder, model or file: one line naming it, a non-zero exit, nothing written.

Each script runs in its own process, as a maintainer runs it (some set thread counts at import)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from script_modules import SCRIPTS, load_script

ROOT = SCRIPTS.parent


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(SCRIPTS / f"{script}.py"), *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)


def _one_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert done.stdout == ""


@pytest.mark.parametrize(("script", "args", "words"), [
    ("eval_pretraining", ("--data", "{missing}"), ("{missing}", "manifest.csv")),
    ("train_denoiser", ("--data", "{missing}", "--max-steps", "1", "--out", "{tmp}/run"), ("{missing}", "clean/")),
    ("bench_time_column", ("{missing}/a.csv",), ("{missing}/a.csv",)),
    ("bench_time_column", ("{tmp}/bad.csv",), ("{tmp}/bad.csv",)),
    ("bench_denoise", ("--model", "{missing}/m.tsae", "--seconds", "1", "--files", "0"), ("{missing}/m.tsae",)),
    ("make_denoise_sample", ("--data", "{missing}", "--out", "{tmp}/noisy.wav"), ("{missing}", "--data")),
])
def test_a_missing_input_is_one_line(tmp_path: Path, script: str, args: tuple[str, ...],
                                     words: tuple[str, ...]) -> None:
    (tmp_path / "bad.csv").write_text("time,a\n2024-01-01,1\nnot a date,x\n")
    fill = {"missing": str(tmp_path / "missing"), "tmp": str(tmp_path)}
    before = sorted(tmp_path.iterdir())
    done = _run(script, *(arg.format(**fill) for arg in args))
    _one_line(done, *(word.format(**fill) for word in words))
    assert sorted(tmp_path.iterdir()) == before


def test_make_denoise_sample_help_writes_nothing(tmp_path: Path) -> None:
    """``--help`` printed nothing and rewrote data/noisy_speech.wav (the script took no arguments)."""
    sample = ROOT / "data" / "noisy_speech.wav"
    stamp = sample.stat().st_mtime_ns
    done = _run("make_denoise_sample", "--help")
    assert done.returncode == 0 and "--out" in done.stdout and "wrote" not in done.stdout
    assert sample.stat().st_mtime_ns == stamp


def test_make_sensor_sample_makes_its_folder_and_reproduces_data(tmp_path: Path) -> None:
    """``--out`` a folder not yet there was a FileNotFoundError traceback; the files are data/'s, byte for byte."""
    out = tmp_path / "new" / "sample"
    assert load_script("make_sensor_sample").main(["--out", str(out)]) == 0
    for name in ("pump_normal.csv", "pump_faulty.csv"):
        assert (out / name).read_bytes() == (ROOT / "data" / name).read_bytes()
