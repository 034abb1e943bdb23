"""`tsae train`, `tsae encode`: happy paths, and bad input gives one line, exit != 0, no output file."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run
from click.testing import CliRunner

from tsae.cli import cli
from tsae.models.modelfile import load_model

FAST = ["--window", "32", "--hop", "8", "--epochs", "2", "-q", "--device", "cpu", "--param", "hidden=4",
        "--param", "latent=4"]


EXTRA = {"transformer": ["--param", "d_model=8", "--param", "heads=2", "--param", "ff=8", "--param", "latent=4"],
         "vqvae": ["--param", "code_dim=4", "--param", "depth=3", "--param", "codebook_size=16"]}
CODE_SHAPE = {"vqvae": (4, 4)}  # code_dim x positions (32 / 2**3)


@pytest.mark.parametrize("family", ["conv1d", "lstm", "transformer", "vae", "dense", "vqvae"])
def test_train_then_encode(family, sensor_csv, tmp_path) -> None:
    model = tmp_path / f"{family}.tsae"
    extra = EXTRA.get(family, ["--param", "latent=4"])
    result = run("train", sensor_csv, "--family", family, *FAST[:-4], *extra, "--normalize", "robust", "-o", model)
    assert result.exit_code == 0, result.output
    loaded = load_model(model)
    assert loaded.family == family and loaded.channels == 3 and loaded.frame["hop"] == 8
    assert loaded.extra["columns"] == ["temp", "vib", "pressure"]  # time and label left out
    assert loaded.sample_rate == pytest.approx(50.0)
    codes = tmp_path / "codes.npy"
    result = run("encode", model, sensor_csv, "-o", codes, "-q")
    assert result.exit_code == 0, result.output
    array = np.load(codes)
    assert array.shape == (1 + int(np.ceil((1200 - 32) / 8)), *CODE_SHAPE.get(family, (4,)))


def test_train_reports_a_summary(sensor_csv, tmp_path) -> None:
    result = CliRunner().invoke(cli, ["train", str(sensor_csv), *[a for a in FAST if a != "-q"], "-o",
                                      str(tmp_path / "m.tsae")])
    assert result.exit_code == 0 and "epochs" in result.output and "best validation MSE" in result.output
    assert "(epochs)" not in result.output and ("(all run)" in result.output or "(stopped early" in
                                                 result.output), result.output  # why the epochs ended, told


@pytest.mark.parametrize("content,fragment", [
    (None, "no such file"),
    ("", "empty file"),
    ("a,b\n", "no data rows"),
    ("a,b\n1,2\n3\n", "line 3 has 1 fields"),
    ("a,b\n1,2\nx,4\n", "not a number"),
])
def test_bad_csv_one_line_no_output(content, fragment, tmp_path) -> None:
    data = tmp_path / "bad.csv"
    if content is not None:
        data.write_text(content)
    out = tmp_path / "model.tsae"
    assert_one_line_error(run("train", data, *FAST, "-o", out), str(data), fragment)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if content is None else ["bad.csv"])


def test_bad_options_one_line_no_output(sensor_csv, tmp_path) -> None:
    out = tmp_path / "model.tsae"
    assert_one_line_error(run("train", sensor_csv, *FAST, "--family", "nope", "-o", out), "unknown model family 'nope'")
    for typo, meant in (("Conv1D", "conv1d"), ("lstn", "lstm")):  # a case or a letter off: the family meant
        assert_one_line_error(run("train", sensor_csv, *FAST, "--family", typo, "-o", out),
                              f"unknown model family {typo!r}: did you mean {meant!r}? (installed: ")
    assert_one_line_error(run("train", sensor_csv, *FAST, "--param", "latnet=3", "-o", out), "unknown parameter")
    assert_one_line_error(run("train", sensor_csv, *FAST, "--param", "latent", "-o", out), "NAME=VALUE")
    assert_one_line_error(run("train", sensor_csv, *FAST, "--param", "latent=abc", "-o", out), "latent")
    assert_one_line_error(run("train", sensor_csv, *FAST, "-o", sensor_csv), "refusing to overwrite")
    # an empty family name used to train conv1d without a word; a seed beyond 64 bits failed in torch's words
    assert_one_line_error(run("train", sensor_csv, *FAST, "--family", "", "-o", out), "'--family': an empty name")
    for denoiser in ("denoiser", "denoiser2"):  # "hop must be in [1, window=128], got 256": the family's insides
        assert_one_line_error(run("train", sensor_csv, *FAST, "--family", denoiser, "-o", out),
                              f"'{denoiser}' is a speech denoiser family (for tsae denoise")
    assert_one_line_error(run("train", sensor_csv, *FAST, "--seed", str(2**64), "-o", out), "'--seed'")
    assert_one_line_error(run("train", sensor_csv, *FAST, "--window", str(10**20), "-o", out), "'--window'",
                          "is not in the range 1<=x<=1048576")  # beyond what a model file holds: a usage error
    huge = run("train", sensor_csv, *FAST, "-p", "hidden=1000000", "-p", "max_hidden=1000000", "-o", out)
    assert huge.exit_code != 0 and "sensors.csv: not enough memory to train on it" in huge.output.splitlines()[-1]
    assert not out.exists()
    assert sensor_csv.read_text().startswith("time,temp")


def test_encode_bad_inputs(sensor_csv, tmp_path) -> None:
    codes = tmp_path / "codes.npy"
    corrupt = tmp_path / "corrupt.tsae"
    corrupt.write_bytes(b"\x80\x04garbage")
    assert_one_line_error(run("encode", corrupt, sensor_csv, "-o", codes), str(corrupt), "pickle")
    assert_one_line_error(run("encode", tmp_path / "missing.tsae", sensor_csv, "-o", codes),
                          f"{tmp_path / 'missing.tsae'}: no such file")
    model = tmp_path / "m.tsae"
    assert run("train", sensor_csv, *FAST, "-o", model).exit_code == 0
    two = tmp_path / "two.csv"
    two.write_text("a,b\n1,2\n3,4\n")
    assert_one_line_error(run("encode", model, two, "-o", codes), "two.csv: its columns are not those the model",
                          "'a', 'b' unknown to the model")
    two.write_text("1,2\n3,4\n")  # no names: matched by position
    assert_one_line_error(run("encode", model, two, "-o", codes), "2 channel(s) but the model was trained on 3")
    # a detector colours the plot only: without --plot it was never read, a wrong file passed without a word
    assert_one_line_error(run("encode", model, sensor_csv, "-o", codes, "--detector", corrupt),
                          "--detector applies only with --plot")
    assert not codes.exists()


def test_subprocess_error_is_one_line_without_traceback(tmp_path) -> None:
    data = tmp_path / "empty.csv"
    data.write_text("")
    out = tmp_path / "m.tsae"
    proc = subprocess.run([sys.executable, "-m", "tsae", "train", str(data), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "empty file" in proc.stderr
    assert not out.exists()


def test_train_on_audio_folder(tmp_path) -> None:
    import soundfile as sf

    folder = tmp_path / "clips"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        clip = 0.3 * np.sin(2 * np.pi * 440 * np.arange(4000) / 8000) + 0.01 * rng.standard_normal(4000)
        sf.write(folder / f"clip{i}.wav", clip.astype(np.float32), 8000)
    out = tmp_path / "audio.tsae"
    result = run("train", folder, *FAST, "-o", out)
    assert result.exit_code == 0, result.output
    loaded = load_model(out)
    assert loaded.sample_rate == 8000 and loaded.channels == 1


def test_a_transposed_npy_is_named_by_its_file(tmp_path) -> None:
    np.save(tmp_path / "rows.npy", np.random.default_rng(0).standard_normal((600, 2)))
    result = run("train", tmp_path / "rows.npy", *FAST, "-o", tmp_path / "m.tsae")
    assert_one_line_error(result, "rows.npy: got shape (600, 2)", "time on the last axis")
    assert "series 0" not in result.output and not (tmp_path / "m.tsae").exists()


def test_a_hop_longer_than_the_window_is_refused(sensor_csv, tmp_path) -> None:
    # the samples between windows were reconstructed as the channel's mean, with exit 0
    result = run("train", sensor_csv, "--window", "16", "--hop", "32", "--epochs", "1", "-q", "-o", tmp_path / "m.tsae")
    assert_one_line_error(result, "--hop 32 is longer than --window 16")
    assert not (tmp_path / "m.tsae").exists()


def test_window_fn_none_means_no_window_as_in_tsae_frame(sensor_csv, tmp_path) -> None:
    result = run("train", sensor_csv, *FAST, "--window-fn", "none", "-o", tmp_path / "m.tsae")
    assert result.exit_code == 0, result.output
    assert load_model(tmp_path / "m.tsae").frame["window_fn"] is None


def test_encode_a_transposed_npy_says_what_to_do(tmp_path) -> None:
    # before: "x.npy: has 300 channel(s) but the model was trained on 2", with no word of the transposed array
    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    model = tmp_path / "m.tsae"
    save_model(model, create_model("conv1d", 2, 32, depth=2, hidden=4, latent=4),
               frame={"window": 32, "hop": 16, "window_fn": None})
    np.save(tmp_path / "x.npy", np.zeros((300, 2)))
    for command in (["encode", model, tmp_path / "x.npy", "-o", tmp_path / "c.npy"],
                    ["reconstruct", model, tmp_path / "x.npy", "-o", tmp_path / "r.npy"]):
        assert_one_line_error(run(*command), "x.npy: has 300 channel(s) but the model was trained on 2",
                              "time is the last axis of a .npy array: save it transposed (x.T, shape (2, 300))")
    assert not (tmp_path / "c.npy").exists() and not (tmp_path / "r.npy").exists()
