"""The sidecar's ``usage`` text, followed literally in numpy by someone without tsae, reproduces tsae's results.

Each test implements the recipe as the text states it (not as ``tsae/onnx_reference_runner.py`` does), checks
that the text states each rule the implementation relies on, and compares with tsae.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tsae.cli import cli
from tsae.export import export_model
from tsae.models.modelfile import save_model
from tsae.plugins import create_model

ort = pytest.importorskip("onnxruntime")


def _session(path: Path):  # type: ignore[no-untyped-def]
    meta = json.loads(path.with_suffix(".json").read_text())
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), meta


def _missing(x: np.ndarray) -> np.ndarray:
    """Missing as the usage defines it: NaN, infinite or beyond 1e30 in magnitude."""
    with np.errstate(invalid="ignore"):
        return ~(np.abs(x) <= 1e30)


def _detector_recipe(session, meta: dict, table: dict[str, np.ndarray]) -> np.ndarray:  # type: ignore[no-untyped-def]
    x = np.stack([np.asarray(table[name], np.float64) for name in meta["sensors"]])  # rows in `sensors` order
    x = np.where(_missing(x), np.nan, x)
    last = np.asarray(meta["normalizer"]["center"], np.float64)  # before a sensor's first value
    for t in range(x.shape[1]):
        x[:, t] = np.where(np.isnan(x[:, t]), last, x[:, t])
        last = x[:, t]
    n = x.shape[1]
    used = [s for s in meta["scales"] if s["window"] <= n]
    starts = {s["input"]: range(0, n - s["window"] + 1, s["hop"]) for s in used}
    feed = {s["input"]: np.stack([x[:, i:i + s["window"]] for i in starts[s["input"]]]).astype(np.float32)
            for s in used}
    def averaged(s: dict, err: np.ndarray) -> np.ndarray:  # each sample's mean over the windows covering it
        acc, cnt = np.zeros(x.shape), np.zeros(n)
        for i, e in zip(starts[s["input"]], err.astype(np.float64), strict=True):
            acc[:, i:i + s["window"]] += e
            cnt[i:i + s["window"]] += 1
        end = starts[s["input"]][-1] + s["window"]
        acc[:, end:], cnt[end:] = (acc[:, end - 1] / cnt[end - 1])[:, None], 1
        return acc / cnt

    def mean_over(rows: np.ndarray, k: int) -> np.ndarray:
        a = k // 2 if meta["centered"] else 0
        b = k - 1 - a
        return np.stack([rows[:, max(0, t - b): t + a + 1].mean(axis=1) for t in range(n)], axis=1)

    names = [s["output"] for s in used] + [s["stats_output"] for s in used if "stats_output" in s]
    outputs = dict(zip(names, session.run(names, feed), strict=True))
    rows = sum(averaged(s, outputs[s["output"]]) for s in used)
    score = np.full(n, -np.inf)
    for k, factor in [(meta["smooth"], 1.0), *meta["short_smooth"]]:
        score = np.maximum(score, factor * mean_over(rows, k).sum(axis=0) / meta["channels"])
    plain = score  # the score without the point excess
    if meta["point_weight"] > 0:  # each sensor's excess of the shortest smoothing over its ceiling
        k, factor = min(meta["short_smooth"])
        excess = np.maximum(mean_over(rows, k) - np.asarray(meta["point_ceiling"])[:, None], 0.0)
        score = score + np.minimum(meta["point_weight"] * factor * excess.sum(axis=0) / meta["channels"],
                                   meta["point_cap"] * score)
    if meta["shared_rise"] > 1:
        shared = sum(averaged(s, outputs[s["stats_output"]]) for s in used if "stats_output" in s)
        ratio = mean_over(shared, meta["smooth"]) / np.asarray(meta["shared_base"])[:, None]
        rise = np.median(ratio, axis=0)
        divisor = np.where(np.isfinite(rise), np.clip(rise, 1.0, meta["shared_rise"]), 1.0)
        score, plain = score / divisor, plain / divisor
    return np.where(plain > meta["threshold"], score, np.minimum(score, np.maximum(plain, meta["threshold"])))


def test_the_detector_usage_text_followed_literally_gives_tsae_scores(tmp_path) -> None:
    """The usage said "a moving mean of `smooth` samples (centred if `centered`)": with an even length (the default
    smooth is 2 * window, always even) tsae's window is t - K/2 + 1 .. t + K/2, and t - K/2 .. t + K/2 - 1 read as
    literally was off by 3.5% of the pump's scores. It said "missing values forward-filled", not what is missing (an
    infinite value, 1e35) nor what a leading gap takes (the training centre), nor the sensors' order."""
    from tsae.pipelines.anomaly.detector import Detector

    rng = np.random.default_rng(0)
    t = np.arange(1500)
    train = np.stack([np.sin(t / 7), 3 + np.cos(t / 11), 0.5 * np.sin(t / 5)]) + 0.05 * rng.standard_normal((3, 1500))
    det = Detector(window=16, epochs=1, device="cpu", threshold="quantile", calibration="training",
                   model_params={"hidden": 8}, max_train_windows=200).fit(train, sensors=["a", "b", "c"])
    assert det.state_.smooth % 2 == 0
    path = det.save(tmp_path / "det.tsae")
    session, meta = _session(export_model(path, tmp_path / "det.onnx").onnx)
    usage = meta["usage"]
    for rule in ("`sensors` order", "NaN, infinite or beyond 1e30", "`normalizer.center`",
                 "a = K // 2 if `centered` else 0", "b = K - 1 - a", "t - b .. t + a", "do not normalise",
                 "`drift_rate`", "`shared_base`", "clip it to [1, `shared_rise`]", "--silence",
                 "over its `point_ceiling`", "at most `point_cap` times the score",
                 "is at most `threshold`, the score is at most `threshold` too"):
        assert rule in usage, rule
    assert meta["drift_rate"] == 0.0 and meta["shared_rise"] == det.shared_rise > 1  # the default discounts a rise
    assert len(meta["shared_base"]) == 3 and meta["scales"][0]["stats_output"] == "stats"
    test = train[:, :400].copy()
    test[1, 200:230] += 3.0  # a fault
    test[0, :5] = np.nan  # a leading gap
    test[0, 50], test[1, 60], test[2, 70] = np.nan, np.inf, -1e35  # missing, all three
    test[:, 300:] += 0.1 * rng.standard_normal((3, 100))  # a rise every sensor shares: discounted
    expected = det.decision_function(test)
    table = {"c": test[2], "a": test[0], "b": test[1]}
    got = _detector_recipe(session, meta, table)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(got > meta["threshold"], expected > det.threshold_)
    undiscounted = _detector_recipe(session, {**meta, "shared_rise": 1.0}, table)
    assert (undiscounted > got * 1.01).any() and (undiscounted >= got * (1 - 1e-9)).all()


def test_the_window_usage_text_followed_literally_gives_tsae_reconstruct(tmp_path) -> None:
    """The usage took NaN and inf as missing; `tsae reconstruct` also takes values beyond 1e30 (a 1e35 cell),
    which the recipe passed to the graph (off by 1e31). It did not say the channels come in `columns` order."""
    torch.manual_seed(0)
    path = save_model(tmp_path / "m.tsae", create_model("conv1d", 2, 32).eval(), frame={"window": 32, "hop": 8},
                      normalizer={"method": "zscore", "center": [1.0, -2.0], "scale": [2.0, 0.5]},
                      extra={"columns": ["a", "b"]})
    session, meta = _session(export_model(path, tmp_path / "m.onnx").onnx)
    assert "NaN, infinite or beyond 1e30" in meta["usage"] and "`columns` order" in meta["usage"]
    series = np.random.default_rng(3).standard_normal((2, 101)) * 2 + 1
    series[0, 40:45], series[1, 0], series[0, 70], series[1, 80] = np.nan, np.inf, 1e35, -1e31
    table = tmp_path / "t.csv"
    table.write_text("time,b,a\n" + "".join(f"{i},{series[1, i]:.17g},{series[0, i]:.17g}\n".replace("nan", "")
                                             for i in range(101)))
    out = tmp_path / "r.csv"
    result = CliRunner().invoke(cli, ["reconstruct", str(path), str(table), "-o", str(out), "-q", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    header = out.read_text().splitlines()[0].split(",")
    ref = np.loadtxt(out, delimiter=",", skiprows=1)
    expected = np.stack([ref[:, header.index(name)] for name in meta["columns"]])
    # the recipe: fill (linear, ends nearest), normalise, no taper: windows every hop, zero-padded end, mean
    x = np.where(_missing(series), np.nan, series)
    k = np.arange(x.shape[1])
    for row in x:
        good = ~np.isnan(row)
        row[~good] = np.interp(k[~good], k[good], row[good])
    center, scale = (np.asarray(meta["normalizer"][key])[:, None] for key in ("center", "scale"))
    z = (x - center) / scale
    w, hop, n = meta["window"], meta["frame"]["hop"], x.shape[1]
    count = -(-(n - w) // hop) + 1
    z = np.pad(z, ((0, 0), (0, (count - 1) * hop + w - n)))
    recon = session.run(["reconstruction"], {"window": np.stack([z[:, i * hop: i * hop + w]
                                                                   for i in range(count)]).astype(np.float32)})[0]
    acc, cnt = np.zeros(z.shape), np.zeros(z.shape[1])
    for i, r in enumerate(recon):
        acc[:, i * hop: i * hop + w] += r
        cnt[i * hop: i * hop + w] += 1
    got = (acc / cnt)[:, :n] * scale + center
    np.testing.assert_allclose(got, expected, atol=1e-4 * np.abs(expected).max())


def test_the_reference_runner_takes_values_beyond_1e30_as_missing(tmp_path) -> None:
    """The runner filled NaN and inf only: a 1e35 reading went into the detector's and window model's graphs."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("runner", Path(__file__).resolve().parents[2]
                                                  / "tsae/onnx_reference_runner.py")
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    x = np.array([[1.0, 1e35, 3.0, -np.inf, 5.0]])
    np.testing.assert_allclose(runner.fill_gaps(x), [[1.0, 2.0, 3.0, 4.0, 5.0]])
    np.testing.assert_allclose(runner.forward_fill(np.array([[-2e31, 1.0, 1e35, 3.0]]), [9.0]), [[9.0, 1.0, 1.0, 3.0]])


@pytest.fixture(scope="module")
def denoiser(tmp_path_factory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("den") / "den.onnx"
    result = CliRunner().invoke(cli, ["export", "denoiser2", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return _session(out)


def test_the_denoiser_usage_text_followed_literally_gives_tsae_denoise(denoiser, tmp_path) -> None:
    """The usage said "with the state": not which state a stream starts with, nor that each output is fed back as
    the next call's input, nor what to do with a last partial hop (the sidecar holds it, the text did not say)."""
    import soundfile as sf

    session, meta = denoiser
    usage = meta["usage"]
    for rule in ("`initial`", "`shape`", "`state[name].output`", "`state[name].input`", "zeros to a whole hop", "NaN"):
        assert rule in usage, rule
    rate, hop, delay = meta["sample_rate"], meta["hop"], meta["delay_samples"]
    rng = np.random.default_rng(0)
    n = rate // 2 + 77  # not a whole number of hops
    t = np.arange(n) / rate
    audio = (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
             + 0.05 * rng.standard_normal((2, n))).astype(np.float32)
    sf.write(tmp_path / "in.wav", audio.T, rate, subtype="FLOAT")
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "-q",
                                      "--device", "cpu"])
    assert result.exit_code == 0, result.output
    expected = sf.read(tmp_path / "out.wav", dtype="float32")[0].T
    state = {s["input"]: np.full([2 if d == "batch" else d for d in s["shape"]],
                                 np.inf if s["initial"] == "inf" else s["initial"], np.float32)
             for s in meta["state"].values()}
    feed = np.concatenate([audio, np.zeros((2, delay), np.float32)], axis=1)
    feed = np.pad(feed, ((0, 0), (0, -feed.shape[1] % hop)))
    names = ["output", *(s["output"] for s in meta["state"].values())]
    outs = []
    for i in range(0, feed.shape[1], hop):
        output, *values = session.run(names, {"samples": feed[:, i:i + hop], **state})
        outs.append(output)
        state = {s["input"]: v for s, v in zip(meta["state"].values(), values, strict=True)}
    got = np.concatenate(outs, axis=1)[:, delay: delay + n]
    np.testing.assert_allclose(got, expected, atol=1e-5)
