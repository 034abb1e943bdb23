"""``tsae export``: onnxruntime equals torch (every family, the streaming denoiser, a detector) within 1e-4."""
from __future__ import annotations

import importlib.util
import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from tsae.cli import cli
from tsae.export import export_model
from tsae.models.modelfile import save_model
from tsae.plugins import create_model, model_families

pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]


def _runner():
    spec = importlib.util.spec_from_file_location("onnx_reference_runner", ROOT / "tsae/onnx_reference_runner.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _runner()


def _window_families() -> list[str]:
    return sorted(name for name, cls in model_families().items() if not hasattr(cls, "explicit_step"))


@pytest.mark.parametrize("family", _window_families())
def test_every_family_onnx_equals_torch(family: str, tmp_path) -> None:
    torch.manual_seed(0)
    model = create_model(family, 3, 32).eval()
    path = save_model(tmp_path / "m.tsae", model, frame={"window": 32, "hop": 8},
                      normalizer={"method": "zscore", "center": [1.0, 2.0, 3.0], "scale": [2.0, 1.0, 0.5]})
    result = export_model(path, tmp_path / "m.onnx")
    assert result.kind == "window"
    session, meta = runner.load(result.onnx)
    assert (meta["kind"], meta["family"], meta["window"], meta["channels"]) == ("window", family, 32, 3)
    x = np.random.default_rng(1).standard_normal((5, 3, 32)).astype(np.float32)  # another batch size than traced
    recon, code = session.run(["reconstruction", "code"], {"window": x})
    with torch.no_grad():
        t = torch.from_numpy(x)
        np.testing.assert_allclose(recon, model(t).numpy(), atol=1e-4)
        np.testing.assert_allclose(code, model.encode(t).numpy(), atol=1e-4)
    # the runner's series reconstruction equals tsae's windows, overlap-averaged
    series = np.random.default_rng(2).standard_normal((3, 100)) * 2 + 1
    out = runner.reconstruct(session, meta, series)
    assert out.shape == series.shape and np.all(np.isfinite(out))


@pytest.fixture(scope="module")
def denoiser_onnx(tmp_path_factory):
    out = tmp_path_factory.mktemp("den") / "den.onnx"
    result = CliRunner().invoke(cli, ["export", "denoiser2", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return runner.load(out)


def _speechy(seconds: float, sr: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 210 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0) + 0.05 * rng.standard_normal((channels,
                                                                                                           len(t)))
    x[:, : sr // 10] = 0.0  # digital silence first: the guard must wait for signal, as in tsae
    return x.astype(np.float32)


def test_streaming_denoiser_frame_by_frame_equals_tsae_denoise(denoiser_onnx, tmp_path) -> None:
    session, meta = denoiser_onnx
    assert meta["kind"] == "denoiser_step" and meta["latency_seconds"] == pytest.approx(0.064)
    x = _speechy(1.5, 16000, 2)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, x.T, 16000, subtype="FLOAT")
    assert CliRunner().invoke(cli, ["denoise", str(src), "-o", str(dst), "-q"]).exit_code == 0
    expected = sf.read(dst, dtype="float32", always_2d=True)[0].T
    # one hop per onnxruntime call, all state through the graph's inputs and outputs
    got = runner.denoise(session, meta, x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert np.abs(got - expected).max() < 1e-4 and np.abs(expected).max() > 0.1


@pytest.mark.parametrize("lookahead", [0, 3])
def test_denoiser_of_any_lookahead_exports(lookahead: int, tmp_path) -> None:
    from tsae.pipelines.denoise import denoise

    torch.manual_seed(0)
    net = create_model("denoiser", 1, 512, lookahead=lookahead, hidden=32).eval()
    path = save_model(tmp_path / "d.tsae", net, sample_rate=16000)
    session, meta = runner.load(export_model(path, tmp_path / "d.onnx").onnx)
    assert meta["delay_samples"] == 256 + lookahead * 256
    x = _speechy(0.5, 16000, 2, seed=2)
    np.testing.assert_allclose(runner.denoise(session, meta, x), denoise(x, 16000, model=path), atol=1e-4)


@pytest.mark.parametrize("rate", [1e12, 1.5])
def test_a_denoiser_file_of_a_rate_no_denoiser_takes_is_not_exported(rate: float, tmp_path) -> None:
    # before: tsae export wrote a graph whose sidecar said sample_rate 1000000000000 (or 1 for 1.5 Hz), exit 0;
    # tsae denoise --model already refused such a file
    torch.manual_seed(0)
    net = create_model("denoiser", 1, 512, hidden=16).eval()
    path = save_model(tmp_path / "d.tsae", net, sample_rate=rate)
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / "d.onnx")])
    assert result.exit_code == 1 and "d.tsae: sample_rate: " in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.tsae"]


def test_streaming_runner_any_chunking_same_output(denoiser_onnx) -> None:
    session, meta = denoiser_onnx
    x = _speechy(0.3, 16000, 1, seed=4)
    whole = runner.StreamingRunner(session, meta, 1).feed(x)
    live = runner.StreamingRunner(session, meta, 1)
    parts = np.concatenate([live.feed(x[:, i: i + 160]) for i in range(0, x.shape[1], 160)], axis=1)
    np.testing.assert_array_equal(parts, whole)


def test_detector_onnx_scores_equal_tsae(tmp_path) -> None:
    from tsae.pipelines.anomaly.detector import Detector

    rng = np.random.default_rng(0)
    t = np.arange(1500)
    train = np.stack([np.sin(t / 7), np.cos(t / 11), 0.5 * np.sin(t / 5)]) + 0.05 * rng.standard_normal((3, 1500))
    det = Detector(window=16, epochs=1, device="cpu", threshold="quantile", calibration="training",
                   model_params={"hidden": 8}, max_train_windows=200).fit(train, sensors=["a", "b", "c"])
    assert det.state_.shared_base is not None  # the default discounts a rise most sensors share: so does the graph
    path = det.save(tmp_path / "det.tsae")
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / "det.onnx"), "-q"])
    assert result.exit_code == 0, result.output
    session, meta = runner.load(tmp_path / "det.onnx")
    assert meta["kind"] == "detector" and meta["sensors"] == ["a", "b", "c"]
    assert meta["threshold"] == pytest.approx(det.threshold_)
    test = train[:, :400].copy()
    test[1, 200:230] += 3.0  # a fault
    test[0, 50] = np.nan  # a gap: forward-filled, as tsae does
    expected = det.decision_function(test)
    got = runner.detector_scores(session, meta, test)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    det.state_.point_weight = 0.0
    without = det.decision_function(test)  # the point excess never lifts a score across the threshold: nor here
    det.state_.point_weight = det.point_weight
    lifted = np.flatnonzero(expected > without + 1e-3)
    assert lifted.size
    at = lifted[np.argmax(expected[lifted] - without[lifted])]
    det.threshold_ = (expected[at] + without[at]) / 2
    capped = det.decision_function(test)
    assert capped[at] == det.threshold_
    np.testing.assert_allclose(runner.detector_scores(session, {**meta, "threshold": det.threshold_}, test), capped,
                               rtol=1e-4, atol=1e-6)
    det.threshold_ = meta["threshold"]
    assert (got > meta["threshold"]).any()
    # the README's edge-device snippet computes the same scores
    readme = (ROOT / "README.md").read_text().split("On an edge device", 1)[1]
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace('"pump.json"', repr(str(tmp_path / "det.json"))).replace('"pump.onnx"',
                                                                                  repr(str(tmp_path / "det.onnx")))
    X = np.where(np.isfinite(test), test, np.roll(test, 1, axis=1))  # the snippet expects gaps filled
    scope = {"X": X}
    exec(code, scope)
    np.testing.assert_allclose(scope["score"], det.decision_function(X), rtol=1e-4, atol=1e-6)
    # a series shorter than a further scale (64 by default) is scored without it, as tsae scores it; the runner
    # and the snippet failed on it ('need at least one array to stack')
    assert max(s["window"] for s in meta["scales"]) > 40 >= meta["window"]
    short = X[:, :40]
    np.testing.assert_allclose(runner.detector_scores(session, meta, short), det.decision_function(short),
                               rtol=1e-4, atol=1e-6)
    scope = {"X": short}
    exec(code, scope)
    np.testing.assert_allclose(scope["score"], det.decision_function(short), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match=r"^10 sample\(s\): shorter than the detector's window \(16\)"):
        runner.detector_scores(session, meta, X[:, :10])


def test_a_level_free_detector_exports_with_its_scores(tmp_path) -> None:
    from tsae.pipelines.anomaly.detector import Detector

    t = np.arange(1500)
    train = (np.sin(2 * np.pi * t / 16) + t / 300 + 0.05 * np.random.default_rng(1).standard_normal(1500))[None]
    det = Detector(window=16, epochs=1, device="cpu", threshold="quantile", calibration="training",
                   model_params={"hidden": 8}, max_train_windows=200).fit(train)
    assert det.state_.pca is not None and det.state_.pca.level_free  # the subspace sees shapes, not levels
    path = det.save(tmp_path / "det.tsae")
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / "det.onnx"), "-q"])
    assert result.exit_code == 0, result.output
    session, meta = runner.load(tmp_path / "det.onnx")
    test = np.sin(2 * np.pi * np.arange(1500, 1900) / 16)[None] + np.arange(1500, 1900) / 300  # beyond its range
    test[0, 200:230] += 0.5 * np.sin(np.arange(30))  # a fault
    np.testing.assert_allclose(runner.detector_scores(session, meta, test), det.decision_function(test),
                               rtol=1e-4, atol=1e-6)


def test_export_errors_are_one_line(tmp_path) -> None:
    bad = tmp_path / "bad.tsae"
    bad.write_bytes(b"not a model")
    result = CliRunner().invoke(cli, ["export", str(bad), "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and str(bad) in result.output
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "missing.tsae")])
    assert result.exit_code == 2 and "no such model file" in result.output
    torch.manual_seed(0)
    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 1, 16))
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / "m.txt")])
    assert result.exit_code == 1 and "must end in .onnx" in result.output
    assert not (tmp_path / "m.txt").exists()


def test_sidecar_names_every_state_tensor(denoiser_onnx) -> None:
    session, meta = denoiser_onnx
    inputs = {i.name for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    assert inputs == {"samples", *(s["input"] for s in meta["state"].values())}
    assert outputs == {"output", *(s["output"] for s in meta["state"].values())}
    assert json.loads(json.dumps(meta))["delay_samples"] == 768


def test_missing_onnx_package_is_one_line(tmp_path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 1, 16))
    result = CliRunner().invoke(cli, ["export", str(path)])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and 'pip install "tsae[onnx]"' in result.output
    assert not (tmp_path / "m.onnx").exists()


def test_a_failed_export_prints_one_line_not_torchs_graph(tmp_path, capfd) -> None:
    """torch logs the whole traced graph (hundreds of lines, to stdout) when an operator has no ONNX form."""
    torch.manual_seed(0)
    path = save_model(tmp_path / "t.tsae", create_model("transformer", 1, 16))
    capfd.readouterr()
    with pytest.raises(ValueError, match="the transformer model cannot be exported to ONNX at opset 13 "
                                         ".*scaled_dot_product_attention"):
        export_model(path, tmp_path / "t.onnx", opset=13)
    out, err = capfd.readouterr()
    assert "graph" not in out + err and out + err == "", (out + err)[:300]
    assert not (tmp_path / "t.onnx").exists()
    print("still printed")  # stdout and stderr work again
    assert capfd.readouterr().out == "still printed\n"


def test_the_onnx_guard_tracks_each_channel_from_its_own_first_sound(denoiser_onnx) -> None:
    """As tsae denoise does: a channel that starts with digital silence is denoised as it would be alone."""
    import tsae

    session, meta = denoiser_onnx
    x = _speechy(2.0, 16000, 2)
    x[1, :16000] = 0.0  # the second channel is silent for its first second
    got = runner.denoise(session, meta, x)
    np.testing.assert_allclose(got, tsae.denoise(x, 16000), atol=1e-4)
    np.testing.assert_allclose(got[1], runner.denoise(session, meta, x[1:])[0], atol=1e-4)


@pytest.mark.parametrize("window_fn", [None, "hann"])
def test_the_runner_reconstructs_a_series_as_tsae_does(window_fn, tmp_path) -> None:
    # the sidecar said "overlap-average": the runner ignored frame.window_fn (off by up to 6.6 on data of size 2)
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct.series import reconstruct_series

    torch.manual_seed(0)
    model = create_model("conv1d", 2, 32).eval()
    path = save_model(tmp_path / "m.tsae", model, frame={"window": 32, "hop": 8, "window_fn": window_fn},
                      normalizer={"method": "zscore", "center": [1.0, -2.0], "scale": [2.0, 0.5]})
    session, meta = runner.load(export_model(path, tmp_path / "m.onnx").onnx)
    series = np.random.default_rng(3).standard_normal((2, 101)) * 2 + 1  # the end needs a padded window
    # tsae refuses an array's infinite sample (refuse_infinite) and reads a table's inf cell as missing: the
    # runner takes inf as a gap, as tsae takes that cell
    expected = reconstruct_series(load_model(path), np.where(np.isinf(series), np.nan, series))
    np.testing.assert_allclose(runner.reconstruct(session, meta, series), expected, atol=2e-4 * np.abs(expected).max())
    # a tapered model's series is mirrored at both ends by window // 8 (the usage says so); also when it is
    # shorter than that (mirrored back and forth) or one sample (repeated)
    assert ("max(1, window // 8)" in meta["usage"]) and (meta["taper"] is None) == (window_fn is None)
    for n in (25, 24, 5, 2, 1):
        short = series[:, :n]
        expected = reconstruct_series(load_model(path), short)
        np.testing.assert_allclose(runner.reconstruct(session, meta, short), expected,
                                   atol=2e-4 * np.abs(expected).max())


def test_the_runner_fills_gaps_and_reads_the_model_columns_as_tsae_does(tmp_path) -> None:
    """A series with gaps came back from the runner with NaN spread over every window touching them (112 samples
    for a 5-sample gap), where tsae fills them; a CSV with a time column was read as one more channel
    ('operands could not be broadcast'). The sidecar now names the columns and the usage says how gaps are filled."""
    from tsae.models.modelfile import load_model
    from tsae.pipelines.reconstruct.series import reconstruct_series

    torch.manual_seed(0)
    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 2, 32).eval(), frame={"window": 32, "hop": 8},
                      normalizer={"method": "zscore", "center": [1.0, -2.0], "scale": [2.0, 0.5]},
                      extra={"columns": ["a", "b"]})
    session, meta = runner.load(export_model(path, tmp_path / "m.onnx").onnx)
    assert meta["columns"] == ["a", "b"] and "linear interpolation" in meta["usage"]
    series = np.random.default_rng(3).standard_normal((2, 101)) * 2 + 1
    series[0, 40:45], series[1, 0], series[1, 100] = np.nan, np.inf, np.nan  # a gap, and both ends
    # tsae refuses an array's infinite sample (refuse_infinite) and reads a table's inf cell as missing: the
    # runner takes inf as a gap, as tsae takes that cell
    expected = reconstruct_series(load_model(path), np.where(np.isinf(series), np.nan, series))
    got = runner.reconstruct(session, meta, series)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, atol=2e-4 * np.abs(expected).max())
    # a table with a time column, its columns in another order: read by the model's names
    table = tmp_path / "t.csv"
    table.write_text("time,b,a\n" + "".join(f"{i},{series[1, i]},{series[0, i]}\n" for i in range(101)))
    np.testing.assert_allclose(runner.reconstruct(session, meta, runner.read_csv(table, meta["columns"])), got)
    with pytest.raises(ValueError, match=r"has 1 channel\(s\) but the model takes 2"):
        runner.reconstruct(session, meta, series[:1])
    with pytest.raises(ValueError, match=r"a channel has no finite values \(channel 1\)"):
        runner.reconstruct(session, meta, np.vstack([series[0], np.full(101, np.nan)]))


def test_denoiser_options_on_another_model_are_refused(tmp_path) -> None:
    # `tsae export conv.tsae --strength 0.5` was accepted and ignored
    model = create_model("conv1d", 1, 16).eval()
    path = save_model(tmp_path / "m.tsae", model, frame={"window": 16, "hop": 4})
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / "m.onnx"), "--strength", "0.5"])
    assert result.exit_code == 1 and "are a denoiser's; this model has neither" in result.output
    assert not (tmp_path / "m.onnx").exists()


# ----------------------------------------------------------------------------- audit: equivalence, batches, metadata
@pytest.fixture(scope="module")
def trained_models(tmp_path_factory):
    """Tiny trained models of the four autoencoder families (one epoch on 48 windows: well under a second each)."""
    from tsae.models.fit import fit_model_on_series
    from tsae.models.trainer import TrainConfig

    folder = tmp_path_factory.mktemp("trained")
    t = np.arange(1000)
    series = np.stack([np.sin(t / 7), np.cos(t / 11)]) + 0.05 * np.random.default_rng(0).standard_normal((2, 1000))
    config = TrainConfig(epochs=1, batch_size=16, device="cpu", quiet=True)
    return {family: fit_model_on_series(series, model=family, window=32, hop=8, config=config, sample_rate=100,
                                        max_windows=48).save(folder / f"{family}.tsae")
            for family in ("conv1d", "lstm", "transformer", "vae")}


@pytest.mark.parametrize("family", ["conv1d", "lstm", "transformer", "vae"])
def test_trained_family_onnx_equals_torch_for_any_batch(family: str, trained_models, tmp_path) -> None:
    from tsae.models.modelfile import load_model

    result = export_model(trained_models[family], tmp_path / "m.onnx")
    session, meta = runner.load(result.onnx)
    model = load_model(trained_models[family]).model
    for batch in (1, 2, 7, 33):  # traced with 2
        x = np.random.default_rng(batch).standard_normal((batch, 2, 32)).astype(np.float32)
        recon, code = session.run(["reconstruction", "code"], {"window": x})
        with torch.inference_mode():  # as tsae runs it
            want, want_code = model(torch.from_numpy(x)).numpy(), model.encode(torch.from_numpy(x)).numpy()
        assert recon.shape == want.shape and code.shape == want_code.shape
        assert np.abs(recon - want).max() <= 1e-4 * np.abs(want).max()
        assert np.abs(code - want_code).max() <= 1e-4 * np.abs(want_code).max()
    with pytest.raises(Exception, match="(?i)invalid dimensions"):  # the window is fixed: another one is refused
        session.run(None, {"window": np.zeros((2, 2, 40), np.float32)})


@pytest.mark.parametrize("name", ["denoiser2", "denoiser"])
def test_shipped_denoiser_step_equals_tsae_denoise_from_the_first_sample(name: str, tmp_path) -> None:
    import tsae
    from tsae.pipelines.denoise.denoiser import model_path

    session, meta = runner.load(export_model(model_path(name), tmp_path / "d.onnx").onnx)
    rng = np.random.default_rng(5)
    for channels, n in ((1, 4000), (3, 2001), (2, 300)):  # lengths that are no multiple of the hop
        t = np.arange(n) / 16000
        x = (0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal((channels, n))).astype(np.float32)
        want = tsae.denoise(x, 16000, model=name)
        got = runner.denoise(session, meta, x)
        assert got.shape == want.shape
        assert np.abs(got - want)[:, :1024].max() < 1e-5  # the first frames: state initialisation
        assert np.abs(got - want).max() < 1e-5 * max(1.0, np.abs(want).max())


def test_the_denoiser_step_takes_nan_and_inf_samples_as_silence_as_tsae_does(denoiser_onnx) -> None:
    # before: one NaN or inf sample (a glitching driver, a corrupt float file) gave 768 NaN output samples from the
    # graph, where tsae denoise (StreamingDenoiser.feed) reads it as 0 and writes finite samples
    import tsae

    session, meta = denoiser_onnx
    x = _speechy(0.5, 16000, 2, seed=7)
    x[0, 3000], x[1, 3001], x[1, 5000] = np.nan, np.inf, -np.inf
    got = runner.denoise(session, meta, x)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, tsae.denoise(x, 16000), atol=1e-5)


@pytest.mark.parametrize("spike", [5000.0, 3e38])
def test_the_denoiser_step_clips_samples_beyond_a_thousand_times_full_scale_as_tsae_does(denoiser_onnx,
                                                                                          spike) -> None:
    # before: tsae clips them to 1000 (as the audio reader does), the graph took them as they were: a spike of 5000
    # came out 4000 above tsae's output, and one of 3e38 (squared, beyond float32) gave inf and NaN output samples
    import tsae
    from tsae.io.audio import AudioWarning

    session, meta = denoiser_onnx
    x = _speechy(0.5, 16000, 1, seed=3)
    x[0, 4000:4010] = spike
    got = runner.denoise(session, meta, x)
    assert np.all(np.isfinite(got))
    with pytest.warns(AudioWarning, match="times full scale"):
        want = tsae.denoise(x, 16000)
    assert np.abs(got - want).max() < 1e-5 * max(1.0, np.abs(want).max())


def test_the_runner_writes_16_bit_samples_as_tsae_does_and_refuses_a_cut_wav(tmp_path) -> None:
    # before: write_wav scaled by 32767 where read_wav and tsae scale by 32768: with --strength 0 a loud file did not
    # come back as it was (two thirds of a 0.999 sine off by one step), and -1.0 became -32767
    from tsae.io.audio import write_audio

    pcm = np.array([-32768, -32767, -1, 0, 1, 12345, 32767], np.int16)
    src = tmp_path / "in.wav"
    sf.write(src, pcm, 16000, subtype="PCM_16")
    audio, rate = runner.read_wav(src)
    runner.write_wav(tmp_path / "back.wav", audio, rate)
    np.testing.assert_array_equal(sf.read(tmp_path / "back.wav", dtype="int16")[0], pcm)
    x = np.linspace(-1.2, 1.2, 1001, dtype=np.float32)[None]  # louder than full scale: clipped by both
    runner.write_wav(tmp_path / "runner.wav", x, 16000)
    write_audio(tmp_path / "tsae.wav", x, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(sf.read(tmp_path / "runner.wav", dtype="int16")[0],
                                  sf.read(tmp_path / "tsae.wav", dtype="int16")[0])
    # before: a WAV cut short (its header announces more) was denoised as far as it went, with status 0
    data = src.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:-4])
    (tmp_path / "odd.wav").write_bytes(data[:-3])  # in the middle of a sample
    for name in ("cut.wav", "odd.wav"):
        with pytest.raises(ValueError, match="ends after 5 of the 7 sample frames its header announces"):
            runner.read_wav(tmp_path / name)
    # a streamed WAV ("unknown length", as ffmpeg and sox write to a pipe) is read to its end
    streamed = bytearray(data)
    streamed[4:8] = streamed[40:44] = b"\xff\xff\xff\xff"
    (tmp_path / "streamed.wav").write_bytes(bytes(streamed))
    np.testing.assert_array_equal(runner.read_wav(tmp_path / "streamed.wav")[0], audio)


def test_streaming_step_any_odd_block_size_same_output(denoiser_onnx) -> None:
    session, meta = denoiser_onnx
    x = _speechy(0.2, 16000, 2, seed=6)
    whole = runner.StreamingRunner(session, meta, 2).feed(x)
    for block in (1, 7, 255, 257, 1001):
        live = runner.StreamingRunner(session, meta, 2)
        parts = np.concatenate([live.feed(x[:, i: i + block]) for i in range(0, x.shape[1], block)], axis=1)
        np.testing.assert_array_equal(parts, whole)
    with pytest.raises(Exception, match="(?i)invalid dimensions"):  # the step takes exactly one hop
        session.run(None, {"samples": np.zeros((2, 100), np.float32), **runner.initial_state(meta, 2)})


def test_the_graph_records_family_rate_window_hop_and_version(trained_models, tmp_path) -> None:
    # before: metadata_props was empty; the .onnx alone did not say what it was
    import onnx

    import tsae

    props = {p.key: p.value for p in onnx.load(export_model(trained_models["lstm"], tmp_path / "m.onnx").onnx)
             .metadata_props}
    assert {k: v for k, v in props.items() if k != "tsae.sidecar"} == {
        "tsae.kind": "window", "tsae.family": "lstm", "tsae.version": tsae.__version__, "tsae.opset": "17",
        "tsae.channels": "2", "tsae.window": "32", "tsae.hop": "8", "tsae.sample_rate": "100"}
    assert json.loads(props["tsae.sidecar"]) == json.loads((tmp_path / "m.json").read_text())
    den = {p.key: p.value for p in onnx.load(export_model("denoiser2", tmp_path / "d.onnx", opset=18).onnx)
           .metadata_props}
    assert (den["tsae.kind"], den["tsae.family"], den["tsae.sample_rate"], den["tsae.window"], den["tsae.hop"],
            den["tsae.opset"]) == ("denoiser_step", "denoiser2", "16000", "512", "256", "18")
    # the runner needs no .json beside the graph any more
    (tmp_path / "d.json").unlink()
    session, meta = runner.load(tmp_path / "d.onnx")
    assert meta["delay_samples"] == 768 and set(meta["state"])
    # and the same model exports to the same bytes
    first = (tmp_path / "d.onnx").read_bytes()
    assert export_model("denoiser2", tmp_path / "d.onnx", opset=18).onnx.read_bytes() == first


class _LoopsOverBatch(torch.nn.Module):
    """A plugin family whose code loops over the batch in Python: tracing keeps the traced batch's rows only."""

    def __init__(self, channels, window):
        super().__init__()
        self.lin = torch.nn.Linear(channels * window, channels * window)

    def forward(self, x):
        return torch.stack([self.lin(x[i].flatten()).view(x.shape[1:]) for i in range(x.shape[0])])


def _plugin_family(name: str, body):
    import tsae
    from tsae.models.base import Autoencoder

    class Family(Autoencoder):
        description = "a test family"
        params = {}

        def __init__(self, channels=1, window=8, **hparams):
            super().__init__(channels, window, **hparams)
            self.body = body(channels, window)

        def encode(self, x):
            return self.body(x)

        def decode(self, z):
            return z

    Family.name = name

    @tsae.hookimpl
    def register_models(register):
        register(Family)

    import types

    return types.SimpleNamespace(register_models=register_models)


def _export_of_plugin_family(tsae_sandbox, tmp_path, name, network):
    """``tsae export`` of an untrained model of ``network`` registered as the plugin family ``name``: the CLI result
    (asserted a one-line error) and the model file's path."""
    tsae_sandbox.register(_plugin_family(name, network), name)
    path = save_model(tmp_path / f"{name}.tsae", tsae_sandbox.create_model(name, 1, 8))
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / f"{name}.onnx")])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    return result, path


def test_a_graph_that_only_works_for_the_traced_batch_is_refused(tsae_sandbox, tmp_path) -> None:
    # before: exported without a word; onnxruntime then returned 2 rows for a batch of 5
    result, path = _export_of_plugin_family(tsae_sandbox, tmp_path, "audit_loops", _LoopsOverBatch)
    assert "the audit_loops model's ONNX graph does not reproduce it for a batch of 3" in result.output
    assert "has shape (2, 1, 8), the model's (3, 1, 8)" in result.output
    assert list(tmp_path.iterdir()) == [path]


class _IteratesTheBatch(torch.nn.Module):
    """Iterating over the batch tensor traces to a Split into as many rows as the traced batch had."""

    def __init__(self, channels, window):
        super().__init__()
        self.lin = torch.nn.Linear(channels * window, channels * window)

    def forward(self, x):
        return torch.stack([self.lin(row.flatten()).view(x.shape[1:]) for row in x])


def test_a_graph_that_onnxruntime_cannot_run_is_one_line_without_its_log(tsae_sandbox, tmp_path, capfd) -> None:
    # before: onnxruntime's own "[E:onnxruntime:...] ExecuteKernel" line (in colour) came on stderr above the error
    pytest.importorskip("onnxruntime")
    result, path = _export_of_plugin_family(tsae_sandbox, tmp_path, "audit_iterates", _IteratesTheBatch)
    assert "the audit_iterates model's ONNX graph does not reproduce it for a batch of 3" in result.output
    assert "no Python loop over the batch" in result.output
    assert "onnxruntime" not in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == [path]


class _Cummax(torch.nn.Module):
    def __init__(self, channels, window):
        super().__init__()

    def forward(self, x):
        return torch.cummax(x, dim=-1)[0]


def test_an_unexportable_plugin_family_is_one_line_naming_it(tsae_sandbox, tmp_path) -> None:
    # before: "cannot export to ONNX (...)" named the file only
    tsae_sandbox.register(_plugin_family("audit_cummax", _Cummax), "audit_cummax")
    path = save_model(tmp_path / "c.tsae", tsae_sandbox.create_model("audit_cummax", 1, 8))
    result = CliRunner().invoke(cli, ["export", str(path)])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert f"{path}: the audit_cummax model cannot be exported to ONNX at opset 17 (" in result.output
    assert "aten::cummax" in result.output and list(tmp_path.iterdir()) == [path]
    # a plugin of another name than its family is named too (the package to fix)
    tsae_sandbox.register(_plugin_family("audit_cummax2", _Cummax), "their_plugin")
    other = save_model(tmp_path / "d.tsae", tsae_sandbox.create_model("audit_cummax2", 1, 8))
    result = CliRunner().invoke(cli, ["export", str(other)])
    assert f"{other}: the audit_cummax2 model (plugin their_plugin) cannot be exported" in result.output


@pytest.mark.parametrize("options, message", [
    ({"opset": True}, "opset must be a whole number from 13 to 23, got True"),
    ({"opset": "17"}, "opset must be a whole number from 13 to 23, got '17'"),
    ({"opset": 17.0}, "opset must be a whole number"),
    ({"opset": 9}, "opset must be a whole number"),
    ({"opset": 99}, "opset must be a whole number"),
    ({"strength": 2.0}, "strength must be a number within [0, 1], got 2.0"),
    ({"strength": float("nan")}, "strength must be a number within [0, 1]"),
    ({"strength": "0.5"}, "strength must be a number within [0, 1]"),
    ({"atten_limit": -3.0}, "atten_limit must be >= 0 dB"),
    ({"atten_limit": float("nan")}, "atten_limit must be >= 0 dB"),
])
def test_api_options_are_checked_before_any_work(options, message, tmp_path) -> None:
    # before: True and 9 exported, 2.0 and -3 dB were fixed into the graph, NaN wrote the graph then failed on JSON
    with pytest.raises(ValueError) as error:
        export_model("denoiser2", tmp_path / "d.onnx", **options)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_api_paths_are_checked_by_name_and_a_folder_is_not_taken_for_the_file(tmp_path) -> None:
    """export_model(m, None) said 'expected str, bytes or os.PathLike object, not NoneType'; 'out.onnx/' (a folder,
    as tsae export -o takes it) wrote the graph as a file named out.onnx."""
    torch.manual_seed(0)
    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 1, 16))
    for source, output, message in [(path, None, "output must be the .onnx file's path, got None"),
                                    (path, b"m.onnx", "output must be the .onnx file's path, got b'm.onnx'"),
                                    (None, tmp_path / "m.onnx", "source must be a model or detector file's path")]:
        with pytest.raises(TypeError, match=message):
            export_model(source, output)
    folder = f"{tmp_path / 'out.onnx'}/"
    with pytest.raises(ValueError, match=r"out\.onnx/: names a folder; give the \.onnx file's path"):
        export_model(path, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tsae"]


def test_ctrl_c_while_writing_leaves_no_file_and_keeps_an_earlier_pair(tmp_path, monkeypatch) -> None:
    # before: the graph was renamed into place before the sidecar was written: a Ctrl-C between the two left
    # a new graph beside no sidecar, or beside the sidecar of the earlier export (other state names, other rate)
    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 1, 16), frame={"window": 16, "hop": 4})
    real = Path.write_text

    def interrupted(self, *args, **kwargs):
        if self.name.startswith(".m.json"):
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "write_text", interrupted)
        with pytest.raises(KeyboardInterrupt):
            export_model(path, tmp_path / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tsae"]
    export_model(path, tmp_path / "m.onnx", opset=17)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with monkeypatch.context() as patch:
        patch.setattr(Path, "write_text", interrupted)
        with pytest.raises(KeyboardInterrupt):
            export_model(path, tmp_path / "m.onnx", opset=18)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_hostile_command_lines_are_one_line_and_write_nothing(tmp_path, monkeypatch) -> None:
    torch.manual_seed(0)
    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 1, 16), frame={"window": 16, "hop": 4})
    data = path.read_bytes()
    (tmp_path / "t.tsae").write_bytes(data[: len(data) // 2])
    (tmp_path / "x.onnx").write_bytes(data)  # a model file named .onnx: its default output is itself
    (tmp_path / "s.json").write_bytes(data)  # a model file whose sidecar would replace it
    cases = [
        (["m.tsae", "-o", "m.tsae"], 1, "m.tsae: an ONNX export must end in .onnx"),
        (["m.tsae", "-o", "m.json"], 1, "m.json: an ONNX export must end in .onnx"),
        (["x.onnx"], 1, "x.onnx: refusing to overwrite"),
        (["s.json"], 1, "s.json: refusing to overwrite"),
        (["t.tsae"], 1, "t.tsae: truncated file"),
        (["m.tsae", "-o", "m.tsae/sub.onnx"], 1, "m.tsae is a file, not a folder"),
        (["m.tsae", "--opset", "12"], 2, "12 is not in the range 13<=x<=23"),
        (["m.tsae", "--opset", "abc"], 2, "'abc' is not a whole number (13<=x<=23)"),
    ]
    monkeypatch.chdir(tmp_path)
    listing = sorted(p.name for p in tmp_path.iterdir())
    for args, code, message in cases:
        result = CliRunner().invoke(cli, ["export", *args])
        assert result.exit_code == code and result.output.count("\n") == 1 and message in result.output, (args,
                                                                                                          result.output)
        assert sorted(p.name for p in tmp_path.iterdir()) == listing
    assert (tmp_path / "x.onnx").read_bytes() == data == (tmp_path / "s.json").read_bytes()


def test_an_unwritable_folder_is_one_line(tmp_path, monkeypatch) -> None:
    import tempfile

    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 1, 16), frame={"window": 16, "hop": 4})

    def refused(*args, dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", refused)  # root can write anywhere: the folder refuses through this
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / "out" / "m.onnx")])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert "m.onnx" in result.output and "permission denied" in result.output.lower()
    assert "cannot read" not in result.output  # it is the output that could not be written
    assert not list((tmp_path / "out").glob("*"))


def test_the_runner_replaces_no_device_or_pipe_and_names_a_missing_folder(tmp_path, monkeypatch, capsys) -> None:
    # before: the finished file was renamed onto the output, so (as root) -o /dev/full left a regular file where the
    # device was; a missing folder was a traceback (csv) or "Exception ignored in Wave_write.__del__" (wav)
    torch.manual_seed(0)
    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 1, 16).eval(), frame={"window": 16, "hop": 8},
                      normalizer={"method": "zscore", "center": [0.0], "scale": [1.0]})
    export_model(path, tmp_path / "m.onnx")
    data = tmp_path / "x.csv"
    np.savetxt(data, np.sin(np.arange(64) / 5.0)[:, None], delimiter=",")
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for output, message in [(fifo, "not a regular file"), (tmp_path / "no" / "out.csv", "no folder")]:
        monkeypatch.setattr(sys, "argv", ["runner", str(tmp_path / "m.onnx"), str(data), "-o", str(output)])
        with pytest.raises(SystemExit) as stop:
            runner.main()
        assert message in str(stop.value) and str(output) in str(stop.value)
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and not (tmp_path / "no").exists()
    assert "Exception ignored" not in capsys.readouterr().err


def test_the_runner_names_a_wav_it_does_not_read_in_words(tmp_path) -> None:
    # before: "unknown format: 3" (a float WAV) and "EOFError" (a header cut short)
    sf.write(tmp_path / "f.wav", np.zeros(100), 16000, subtype="FLOAT")
    with pytest.raises(SystemExit, match=r"f\.wav: only 16-bit PCM WAV is read here, not WAV format 3 \(convert"):
        runner.read_wav(tmp_path / "f.wav")
    sf.write(tmp_path / "s.wav", np.zeros(100), 16000, subtype="PCM_16")
    (tmp_path / "cut.wav").write_bytes((tmp_path / "s.wav").read_bytes()[:20])
    with pytest.raises(ValueError, match="WAV header is cut short"):
        runner.read_wav(tmp_path / "cut.wav")


def test_runner_reads_and_writes_the_wav_a_window_model_was_trained_on(tmp_path, monkeypatch) -> None:
    """A model trained on audio, run on its WAV, failed with "'utf-8' codec can't decode byte ..." (the WAV was read
    as CSV), and a table's reconstruction written to ``-o recon.wav`` was CSV text in a file named .wav."""
    torch.manual_seed(0)
    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 1, 32).eval(), frame={"window": 32, "hop": 8},
                      normalizer={"method": "zscore", "center": [0.0], "scale": [0.2]})
    onnx = export_model(path, tmp_path / "m.onnx").onnx
    x = np.random.default_rng(0).normal(0, 0.1, 1000)
    sf.write(tmp_path / "in.wav", x, 8000, subtype="PCM_16")
    np.savetxt(tmp_path / "in.csv", x)

    def run_main(*args: str) -> None:
        monkeypatch.setattr(sys, "argv", ["onnx_reference_runner.py", str(onnx), *args])
        runner.main()

    run_main(str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"))
    got, rate = sf.read(tmp_path / "out.wav", always_2d=True)
    session, meta = runner.load(onnx)
    audio, _ = runner.read_wav(tmp_path / "in.wav")
    assert rate == 8000
    np.testing.assert_allclose(got.T, runner.reconstruct(session, meta, audio), atol=1 / 32768)
    with pytest.raises(SystemExit, match=r"recon\.wav: a \.wav output is a window model's reconstruction of a \.wav"):
        run_main(str(tmp_path / "in.csv"), "-o", str(tmp_path / "recon.wav"))
    assert not (tmp_path / "recon.wav").exists()


def test_runner_csv_output_has_tsae_s_header(tmp_path, monkeypatch) -> None:
    """The runner's CSV outputs had no header line, where ``tsae reconstruct`` and ``tsae detect score`` write one:
    a reconstruction gets the model's table columns (``ch<i>`` for a channel without a name)."""
    torch.manual_seed(0)
    frame, norm = {"window": 32, "hop": 8}, {"method": "zscore", "center": [0.0, 0.0], "scale": [1.0, 1.0]}
    x = np.random.default_rng(0).normal(0, 1, (200, 2))
    np.savetxt(tmp_path / "in.csv", x, delimiter=",")
    for columns, expected in [(None, "ch0,ch1"), (["flow", "pressure"], "flow,pressure")]:
        extra = {} if columns is None else {"extra": {"columns": columns}}
        path = save_model(tmp_path / "m.tsae", create_model("conv1d", 2, 32).eval(), frame=frame, normalizer=norm,
                          **extra)
        onnx = export_model(path, tmp_path / "m.onnx").onnx
        monkeypatch.setattr(sys, "argv", ["onnx_reference_runner.py", str(onnx), str(tmp_path / "in.csv"), "-o",
                                          str(tmp_path / "out.csv")])
        runner.main()
        lines = (tmp_path / "out.csv").read_text().splitlines()
        assert lines[0] == expected and len(lines) == 201


def test_the_runner_ships_in_the_package_and_runs_alone(tmp_path) -> None:
    """The README told users to run ``scripts/onnx_reference_runner.py``, which a wheel does not hold: the runner is
    ``tsae.onnx_reference_runner`` (``python -m``), and its file, copied anywhere, imports neither tsae nor torch."""
    import subprocess

    copy = tmp_path / "onnx_reference_runner.py"
    copy.write_bytes((ROOT / "tsae" / "onnx_reference_runner.py").read_bytes())
    code = ("import runpy, sys; sys.argv = [sys.argv[1], '--help']\n"
            "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('loaded:', sorted(m for m in ('tsae', 'torch') if m in sys.modules))")
    alone = subprocess.run([sys.executable, "-c", code, str(copy)], capture_output=True, text=True, cwd=tmp_path,
                           timeout=120)
    assert "MODEL" in alone.stdout.upper() and "loaded: []" in alone.stdout, alone.stdout + alone.stderr
    module = subprocess.run([sys.executable, "-m", "tsae.onnx_reference_runner", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert module.returncode == 0 and "onnxruntime" in module.stdout
