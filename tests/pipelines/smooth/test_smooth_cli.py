"""tsae smooth / tsae impute: files in, files out; one-line errors and no partial output on bad input."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import run

from tsae.io.tables import read_table


@pytest.fixture()
def gappy_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 900
    rows = ["timestamp,temp,flow"]
    for i in range(n):
        a = np.sin(i / 25) + 0.2 * rng.normal()
        b = np.cos(i / 11) + 0.1 * rng.normal()
        cell_a = "" if 300 <= i < 330 else f"{a:.5f}"
        cell_b = "NaN" if i in (5, 6, 700) else f"{b:.5f}"
        rows.append(f"2024-01-01 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},{cell_a},{cell_b}")
    path = tmp_path / "sensors.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_smooth_csv_keeps_time_column_and_channels(gappy_csv, tmp_path) -> None:
    out = tmp_path / "smooth.csv"
    result = run("smooth", gappy_csv, "-o", out, "-q", "--strength", "0.8")
    assert result.exit_code == 0, result.output
    src, dst = read_table(gappy_csv), read_table(out)
    assert dst.columns == ["temp", "flow"] and dst.time_name == "timestamp"
    np.testing.assert_array_equal(dst.time, src.time)
    assert dst.values.shape == src.values.shape
    ok = np.isfinite(src.values[0])
    assert np.std(np.diff(dst.values[0, ok])) < np.std(np.diff(src.values[0, ok]))


def test_impute_csv_fills_every_missing_cell(gappy_csv, tmp_path) -> None:
    out = tmp_path / "filled.csv"
    result = run("impute", gappy_csv, "-o", out)
    assert result.exit_code == 0, result.output
    src, dst = read_table(gappy_csv), read_table(out)
    assert not np.isnan(dst.values).any()
    observed = np.isfinite(src.values)
    np.testing.assert_allclose(dst.values[observed], src.values[observed], rtol=1e-9)


def test_smooth_wav(tmp_path) -> None:
    from tsae.io.audio import read_audio, write_audio

    rng = np.random.default_rng(0)
    t = np.arange(8000) / 8000
    clean = 0.5 * np.sin(2 * np.pi * 220 * t)
    write_audio(tmp_path / "in.wav", (clean + 0.05 * rng.normal(size=t.size))[None], 8000)
    result = run("smooth", tmp_path / "in.wav", "-o", tmp_path / "out.wav", "-q")
    assert result.exit_code == 0, result.output
    audio = read_audio(tmp_path / "out.wav")
    assert audio.sample_rate == 8000 and audio.data.shape == (1, 8000)
    assert np.sqrt(np.mean((audio.data[0] - clean) ** 2)) < 0.03


def test_smooth_with_a_trained_model(gappy_csv, tmp_path) -> None:
    import torch

    from tsae.models.modelfile import save_model
    from tsae.plugins import create_model

    torch.manual_seed(0)
    model = create_model("conv1d", 2, 32, depth=1, hidden=4, latent=4)
    save_model(tmp_path / "m.tsae", model, frame={"window": 32, "hop": 16, "window_fn": None})
    out = tmp_path / "out.csv"
    result = run("smooth", gappy_csv, "-o", out, "--model", tmp_path / "m.tsae", "--device", "cpu", "-q")
    assert result.exit_code == 0, result.output
    assert read_table(out).values.shape == read_table(gappy_csv).values.shape


@pytest.mark.parametrize("command", ["smooth", "impute"])
@pytest.mark.parametrize("content", [None, "", "time,a\n", "time,a\n1,2\n2,x\n", "a,b\n1\n"])
def test_bad_inputs_one_line_error_no_output(tmp_path, command, content) -> None:
    src = tmp_path / "in.csv"
    if content is not None:
        src.write_text(content)
    out = tmp_path / "out.csv"
    result = run(command, src, "-o", out)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["in.csv"] if content is not None else [])


def test_refuses_to_overwrite_input_and_subprocess_has_no_traceback(gappy_csv) -> None:
    before = gappy_csv.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "tsae", "smooth", str(gappy_csv), "-o", str(gappy_csv)],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "overwrite" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert gappy_csv.read_bytes() == before


def test_spikes_choice_on_the_command_line(gappy_csv, tmp_path) -> None:
    result = run("smooth", gappy_csv, "-o", tmp_path / "s.csv", "--spikes", "remove", "-q")
    assert result.exit_code == 2 and "--spikes" in result.output and not (tmp_path / "s.csv").exists()
    result = run("smooth", gappy_csv, "-o", tmp_path / "s.csv", "--spikes", "smooth", "-q")
    assert result.exit_code == 0 and (tmp_path / "s.csv").exists()
    from tsae.pipelines.smooth.files import smooth_file

    with pytest.raises(ValueError, match="^spikes must be one of"):  # the choice's error, not the file's
        smooth_file(gappy_csv, tmp_path / "t.csv", spikes="all")
    assert not (tmp_path / "t.csv").exists()


def test_options_that_would_be_ignored_are_refused(gappy_csv, tmp_path) -> None:
    # --device cuda without --model ran on the CPU without a word
    result = run("smooth", gappy_csv, "-o", tmp_path / "s.csv", "--device", "cuda", "-q")
    assert result.exit_code == 2 and "--device cuda needs --model" in result.output
    assert not (tmp_path / "s.csv").exists()
    for command in ("smooth", "impute"):  # and --help says so (it read "Where models run", as everywhere)
        assert "without --model the work is on the CPU" in " ".join(run(command, "--help").output.split())


def test_the_api_refuses_a_budget_or_parameters_it_would_ignore() -> None:
    from tsae.pipelines.smooth.smoother import checked_params, smooth

    x = np.sin(np.arange(300) / 5)
    for options, message in [({"steps": -1}, "steps must be a whole number >= 0, got -1"),
                             ({"max_seconds": float("nan")}, "max_seconds must be None or a number >= 0, got nan"),
                             ({"strength": "0.5"}, "strength must be a number within"),
                             ({"model_params": {"hidden": 4}, "model": object()}, "a trained model brings its own"),
                             ({"spikes": "remove"}, "spikes must be one of 'auto', 'keep', 'smooth', got 'remove'")]:
        with pytest.raises(ValueError, match=message):
            smooth(x, **options)
    assert checked_params({}, 1, object()) == {}


def test_impute_fills_the_nan_samples_of_a_float_wav(tmp_path) -> None:
    # they were read as silence, as the denoiser reads them, and "filled 0 missing sample(s)" left zeros
    import soundfile as sf

    t = np.arange(3000) / 8000
    x = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    gap = x.copy()
    gap[1000:1040] = np.nan
    sf.write(tmp_path / "gap.wav", gap, 8000, subtype="FLOAT")
    result = run("impute", tmp_path / "gap.wav", "-o", tmp_path / "filled.wav")
    assert result.exit_code == 0, result.output
    assert "filled 40 missing sample(s)" in result.output and "(read as missing)" in result.output
    filled = sf.read(tmp_path / "filled.wav", dtype="float32")[0]
    assert np.sqrt(np.mean((filled[1000:1040] - x[1000:1040]) ** 2)) < 0.1
    np.testing.assert_array_equal(filled[:1000], x[:1000])


@pytest.mark.parametrize("command", ["smooth", "impute"])
def test_an_empty_channel_is_named_by_its_column(tmp_path, command) -> None:
    path = tmp_path / "e.csv"
    path.write_text("time,a,b\n" + "".join(f"{i},{i},\n" for i in range(12)))
    result = run(command, path, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {path}: a channel has no finite values (column 'b')"
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("strength", [True, "0.5", 2, float("nan"), None])
def test_smooth_file_checks_strength_as_smooth_does(gappy_csv, tmp_path, strength) -> None:
    # smooth_file had its own check: "strength must be within [0, 1]", and "0.5" passed through float()
    from tsae.pipelines.smooth.files import smooth_file

    with pytest.raises(ValueError, match=r"strength must be a number within \[0, 1\]"):
        smooth_file(gappy_csv, tmp_path / "s.csv", strength=strength)
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize(("command", "done"), [("smooth", "smoothed"), ("impute", "imputed"), ("train", "learnt from")])
def test_a_time_column_out_of_order_is_warned_about(tmp_path, command, done) -> None:
    # a shuffled export was smoothed (imputed, trained on) in file order without a word; detect fit told it
    rng = np.random.default_rng(1)
    order = rng.permutation(1200)
    values = np.sin(np.arange(1200) / 40) + 0.1 * rng.normal(size=1200)
    path = tmp_path / "shuffled.csv"
    path.write_text("time,a\n" + "".join(f"{i},{values[i]:.4f}\n" for i in order))
    extra = ["--epochs", "1"] if command == "train" else []
    result = run(command, path, "-o", tmp_path / ("m.tsae" if command == "train" else "out.csv"), *extra)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert any(line.startswith(f"Warning: {path}: the time column 'time' is not in increasing order (")
               and line.endswith(f"the rows are {done} in file order") for line in warned), result.output
    path.write_text("time,a\n" + "".join(f"{i},{values[i]:.4f}\n" for i in range(1200)))
    result = run(command, path, "-o", tmp_path / ("m2.tsae" if command == "train" else "out2.csv"), *extra)
    assert "time column" not in result.output  # in order: nothing to tell


@pytest.mark.parametrize("command", ["smooth", "impute"])
def test_an_infinite_sample_of_an_npy_is_one_line_naming_where_it_is(tmp_path, command) -> None:
    # before: impute said "an infinite one has no smoothed value", and neither said where the sample was
    values = np.stack([np.sin(np.arange(300) / 9.0), np.cos(np.arange(300) / 9.0)])
    values[1, 120] = -np.inf
    np.save(tmp_path / "x.npy", values)
    result = run(command, tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert result.exit_code == 1 and "smoothed value" not in result.output
    assert result.output.strip() == (f"Error: {tmp_path / 'x.npy'}: sample 120 of channel 1 is infinite (-inf): "
                                     "NaN marks a missing sample; an infinite one is neither a value nor a gap "
                                     "(make it NaN)")
    assert not (tmp_path / "y.npy").exists()


@pytest.mark.parametrize("command", ["smooth", "impute"])
def test_a_denoiser_model_is_refused_before_the_input_is_read(tmp_path, command, monkeypatch) -> None:
    # before: impute read the whole input (and warned about its missing samples) before refusing the model
    import tsae.pipelines.smooth.files as files
    from tsae.pipelines.denoise.denoiser import model_path

    monkeypatch.setattr(files, "read_series", lambda *a, **k: pytest.fail("the input was read"))
    np.save(tmp_path / "x.npy", np.sin(np.arange(300) / 9.0))
    denoiser = model_path("denoiser2")
    result = run(command, tmp_path / "x.npy", "-o", tmp_path / "y.npy", "--model", denoiser)
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert "is for the denoise pipeline" in result.output and not (tmp_path / "y.npy").exists()


@pytest.mark.parametrize("command", ["smooth", "impute"])
def test_a_transposed_npy_is_told_what_to_do_in_a_files_words(tmp_path, command) -> None:
    # before: "x.npy: x: got shape (300, 2), but series are (channels, n) with time on the last axis; pass x.T"
    np.save(tmp_path / "x.npy", np.stack([np.sin(np.arange(300) / 9.0), np.cos(np.arange(300) / 9.0)]).T)
    result = run(command, tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert result.exit_code == 1 and result.output.strip() == (
        f"Error: {tmp_path / 'x.npy'}: an array of shape (300, 2) is read as 300 channels of 2 samples; time is "
        "the last axis of a .npy array: save it transposed (x.T, shape (2, 300))")
    assert not (tmp_path / "y.npy").exists()
