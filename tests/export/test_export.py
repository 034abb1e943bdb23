"""``tsae export``: onnxruntime equals torch (every family, the streaming denoiser, a detector) within 1e-4."""
from __future__ import annotations

import importlib.util
import json
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
    spec = importlib.util.spec_from_file_location("onnx_reference_runner", ROOT / "scripts/onnx_reference_runner.py")
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
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "pip install 'tsae[onnx]'" in result.output
    assert not (tmp_path / "m.onnx").exists()


def test_a_failed_export_prints_one_line_not_torchs_graph(tmp_path, capfd) -> None:
    """torch logs the whole traced graph (hundreds of lines, to stdout) when an operator has no ONNX form."""
    torch.manual_seed(0)
    path = save_model(tmp_path / "t.tsae", create_model("transformer", 1, 16))
    capfd.readouterr()
    with pytest.raises(ValueError, match="cannot export to ONNX .*scaled_dot_product_attention"):
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
    expected = reconstruct_series(load_model(path), series)
    np.testing.assert_allclose(runner.reconstruct(session, meta, series), expected, atol=2e-4 * np.abs(expected).max())


def test_denoiser_options_on_another_model_are_refused(tmp_path) -> None:
    # `tsae export conv.tsae --strength 0.5` was accepted and ignored
    model = create_model("conv1d", 1, 16).eval()
    path = save_model(tmp_path / "m.tsae", model, frame={"window": 16, "hop": 4})
    result = CliRunner().invoke(cli, ["export", str(path), "-o", str(tmp_path / "m.onnx"), "--strength", "0.5"])
    assert result.exit_code == 1 and "are a denoiser's; this model has neither" in result.output
    assert not (tmp_path / "m.onnx").exists()
