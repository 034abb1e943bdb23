"""scripts/train_denoiser.py end to end on the shared speech data (skipped without it)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
SPEECH = ROOT.parent / "shared" / "data" / "speech"


@pytest.mark.skipif(not (SPEECH / "clean").is_dir(), reason=f"{SPEECH} (training data) is not on this machine")
def test_train_export_and_denoise_with_the_result(tmp_path) -> None:
    script = str(ROOT / "scripts" / "train_denoiser.py")
    run = subprocess.run(
        [sys.executable, script, "--max-minutes", "0.02", "--val-every", "0", "--val-size", "4", "--batch", "2",
         "--seg", "1", "--hidden", "16", "--lookahead", "1", "--device", "cpu", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "step" in run.stdout and (tmp_path / "run" / "last.safetensors").exists()
    model = tmp_path / "tiny.tsae"
    run = subprocess.run([sys.executable, script, "--export", str(tmp_path / "run" / "last.safetensors"), str(model)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]

    from tsae.models.modelfile import load_model
    from tsae.pipelines.denoise.denoiser import denoise

    loaded = load_model(model)
    assert loaded.family == "denoiser" and loaded.model.lookahead == 1
    training = loaded.extra["training"]
    assert training["args"]["seed"] == 0 and "heldout_speakers" in training["data"]
    noisy = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.05
    out = denoise(noisy, 16000, model=model)
    assert out.shape == noisy.shape and np.isfinite(out).all()
