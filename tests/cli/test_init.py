"""`tsae train --init` and `tsae detect fit --init`: start from a pretrained encoder, or one line saying why not."""
from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import run

from tsae.models.modelfile import load_model

FAST = ["--epochs", "1", "-q", "--device", "cpu"]


def write(path, channels: int, n: int = 400):
    t = np.arange(n)
    rows = np.stack([np.sin(2 * np.pi * t / (20 + 7 * c)) for c in range(channels)]).T
    path.write_text(",".join(f"s{c}" for c in range(channels)) + "\n"
                    + "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("init")
    model = folder / "pre.tsae"
    result = run("train", write(folder / "three.csv", 3), "--family", "dense", "--window", "16", "--param",
                 "hidden=8", "--param", "latent=4", *FAST, "-o", model)
    assert result.exit_code == 0, result.output
    return model


def test_train_takes_family_window_and_params_from_init(pretrained, tmp_path) -> None:
    out = tmp_path / "new.tsae"
    result = run("train", write(tmp_path / "more.csv", 3), "--init", pretrained, *FAST, "-o", out)
    assert result.exit_code == 0, result.output
    new, old = load_model(out), load_model(pretrained)
    assert new.family == "dense" and new.frame["window"] == 16 and new.hparams == old.hparams
    assert new.extra["init"] == str(pretrained)


@pytest.mark.parametrize("command", [["train"], ["detect", "fit"]])
def test_mismatch_is_one_line(pretrained, tmp_path, command) -> None:
    out = tmp_path / "out.tsae"
    result = run(*command, write(tmp_path / "two.csv", 2), "--init", pretrained, *FAST, "-o", out)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "pre.tsae: encoder weight encoder.0.weight has shape (8, 48)" in result.output
    assert not out.exists()
    other = run(*command, tmp_path / "two.csv", "--init", pretrained, "--family", "conv1d", *FAST, "-o", out)
    assert other.exit_code != 0 and "is a dense model, not conv1d" in other.output
    assert other.output.strip().count("\n") == 0 and not out.exists()


def test_detect_fit_starts_from_init(pretrained, tmp_path) -> None:
    out = tmp_path / "det.tsae"
    result = run("detect", "fit", write(tmp_path / "normal.csv", 3), "--init", pretrained, *FAST, "-o", out)
    assert result.exit_code == 0, result.output
    det = load_model(out)
    assert det.family == "dense" and det.frame["window"] == 16 and det.hparams["latent"] == 4


def test_detect_fit_names_window_when_the_init_models_window_smooths_too_long(pretrained, tmp_path,
                                                                              monkeypatch) -> None:
    """The init model's window (used without --window) whose default smoothing (2 windows) a detector file cannot
    hold was told in the library's words, "smooth='2*window' ... or a smooth of at most ...", under the training
    file's name: detect fit has no --smooth. (The limit is lowered: a real window of 524289 would be gigabytes.)"""
    import tsae.pipelines.anomaly.series_input as series_input

    monkeypatch.setattr(series_input, "MAX_SMOOTH", 20)
    out = tmp_path / "det.tsae"
    train = write(tmp_path / "normal.csv", 3)
    result = run("detect", "fit", train, "--init", pretrained, *FAST, "-o", out)
    assert result.exit_code != 0 and result.output.strip().count("\n") == 0, result.output
    assert f"{pretrained}: its window 16, used without --window, makes the default smoothing 2*window = 32 " \
           "samples, over the 20 a detector file holds: give a --window of at most 10" in result.output
    assert "smooth=" not in result.output and str(train) not in result.output and not out.exists()
    # a --window that fits passes (this dense model's encoder then fits no other window: that is what is told)
    shorter = run("detect", "fit", train, "--init", pretrained, "--window", "10", *FAST, "-o", out)
    assert "encoder weight encoder.0.weight has shape (8, 48) but the new network needs (8, 30)" in shorter.output
