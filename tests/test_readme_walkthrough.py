"""What a new user walking the README runs: its Python snippets on small generated data, and the
behaviours it states that a walk through it found broken.

The snippets are read from README.md itself, so a snippet that stops running fails here.
What needs a sound device, a network, onnxruntime or the MQTT broker is left to the tests
of those parts.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    """The README's fenced ``python`` code blocks, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def block_with(marker: str) -> str:
    """The one README ``python`` block that contains ``marker``."""
    (block,) = [b for b in python_blocks() if marker in b]
    return block


def sensors(n: int = 1200, seed: int = 0) -> np.ndarray:
    """Four periodic sensors of very different levels and spreads, ``(4, n)``."""
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(size=(4, n))
    return np.stack([12 + 2 * np.sin(t / 9) + 0.1 * noise[0], 2.5 + 0.4 * np.cos(t / 7) + 0.02 * noise[1],
                     41 + 0.6 * np.sin(t / 13) + 0.05 * noise[2], 0.8 + 0.08 * np.sin(t / 5) + 0.01 * noise[3]])


@pytest.fixture(scope="module")
def table_model(tmp_path_factory) -> tuple[Path, object]:
    """A small dense model trained on a DataFrame of four named sensors, and that DataFrame."""
    import pandas as pd

    import tsae
    from tsae.models.trainer import TrainConfig

    frame = pd.DataFrame(sensors().T, columns=["flow", "pressure", "temperature", "vibration"])
    config = TrainConfig(epochs=2, seed=0, device="cpu")
    path = tmp_path_factory.mktemp("readme") / "model.tsae"
    tsae.fit(frame, model="dense", window=32, hop=8, config=config).save(path)
    return path, frame


def test_denoise_snippet_runs() -> None:
    """The denoise block: array in and out, and the streaming denoiser's pieces add up to the whole."""
    sample_rate = 16000
    noisy = 0.1 * np.random.default_rng(0).normal(size=sample_rate // 2)
    chunk = noisy[:320]
    scope: dict = {"noisy": noisy, "sample_rate": sample_rate, "chunk": chunk}
    exec(block_with("tsae.StreamingDenoiser"), scope)  # the README's own snippet
    assert scope["clean"].shape == noisy.shape
    assert len(scope["out"]) + len(scope["tail"]) == len(chunk)  # 'aligned with the input'


@pytest.mark.slow
def test_detector_snippet_runs() -> None:
    """The Detector block: scores and flags per sample, contributions ``(n_sensors, n_samples)`` summing to 1."""
    import tsae

    x = sensors(1600)
    scope: dict = {"tsae": tsae, "X_train": x[:, :1200], "X_test": x[:, 1200:]}
    block = block_with("tsae.Detector(").replace('model="conv1d")', 'model="dense", epochs=1)')
    exec(block, scope)  # the README's own snippet, with a quicker family
    assert scope["scores"].shape == scope["flags"].shape == (400,)
    assert set(np.unique(scope["flags"])) <= {0, 1}
    assert scope["share"].shape == (4, 400)
    assert np.allclose(scope["share"].sum(axis=0), 1)


def test_compress_snippet_runs(table_model, monkeypatch) -> None:
    """The compress block: bytes out, ``(channels, n)`` float64 back, every sample within 1e-3."""
    import tsae

    path, frame = table_model
    monkeypatch.chdir(path.parent)
    x = frame.to_numpy().T
    scope: dict = {"tsae": tsae, "X": x}
    exec(block_with("tsae.compress("), scope)  # the README's own snippet
    assert isinstance(scope["data"], bytes)
    assert scope["Y"].shape == x.shape and scope["Y"].dtype == np.float64
    assert np.abs(scope["Y"] - x).max() <= 1e-3


def test_plugin_example_registers_and_trains(tsae_sandbox) -> None:
    """The README's complete model-family plugin (tsae_linear.py): registered as its entry point would be, it
    takes --param latent=4 and trains and reconstructs through the Python API like a built-in."""
    import types

    import tsae
    from tsae.models.trainer import TrainConfig

    module = types.ModuleType("tsae_linear")
    # the README's own module, under a name no installed tsae-linear can hold
    exec(block_with("# tsae_linear.py").replace('name = "linear"', 'name = "readme_linear"'), module.__dict__)
    tsae_sandbox.register(module, "readme_linear")
    assert not tsae_sandbox.errors()
    assert tsae_sandbox.create_model("readme_linear", channels=4, window=32, latent="4").config["latent"] == 4
    x = sensors(400)
    fitted = tsae.fit(x, model="readme_linear", window=32, hop=8, config=TrainConfig(epochs=1, seed=0, device="cpu"))
    assert tsae.reconstruct(fitted, x).shape == x.shape


def test_reconstruct_matches_dataframe_columns_by_name(table_model) -> None:
    """A DataFrame with the model's columns in another order is reconstructed as the table in the model's order
    would be, and comes back in its own order (it went through the model by position)."""
    import tsae

    path, frame = table_model
    order = ["vibration", "flow", "temperature", "pressure"]
    same = tsae.reconstruct(path, frame)
    shuffled = tsae.reconstruct(path, frame[order])
    rows = [list(frame.columns).index(c) for c in order]
    np.testing.assert_allclose(shuffled, same[rows], rtol=0, atol=1e-9)


def test_encode_matches_dataframe_columns_by_name(table_model) -> None:
    """A DataFrame with the model's columns in another order gives the codes of the table in the model's order."""
    import tsae

    path, frame = table_model
    order = ["pressure", "vibration", "flow", "temperature"]
    np.testing.assert_array_equal(tsae.encode(path, frame[order]), tsae.encode(path, frame))


@pytest.mark.parametrize("verb", ["smooth", "impute"])
def test_smooth_and_impute_with_a_model_match_dataframe_columns_by_name(table_model, verb) -> None:
    """tsae.smooth / tsae.impute with a model turned a DataFrame into an array first: by position."""
    import tsae

    path, frame = table_model
    gappy = frame.copy()
    gappy.iloc[100:130, 1] = np.nan  # a gap in pressure, for impute to fill through the model
    order = ["vibration", "flow", "temperature", "pressure"]
    same = getattr(tsae, verb)(gappy, model=path)
    shuffled = getattr(tsae, verb)(gappy[order], model=path)
    rows = [list(frame.columns).index(c) for c in order]
    np.testing.assert_allclose(shuffled, same[rows], rtol=0, atol=1e-9)


def test_dataframe_of_other_columns_is_refused_and_unnamed_ones_go_by_position(table_model) -> None:
    """Other column names (as for a table file) are refused, naming them (they went by position, silently);
    labels that are no names (a bare DataFrame's 0, 1, ...) are still taken by position."""
    import tsae

    path, frame = table_model
    renamed = frame.set_axis(["a", "b", "c", "d"], axis=1)
    with pytest.raises(ValueError, match="columns are not those the model .* unknown to the model"):
        tsae.reconstruct(path, renamed)
    unnamed = frame.set_axis(range(4), axis=1)
    np.testing.assert_array_equal(tsae.reconstruct(path, unnamed), tsae.reconstruct(path, frame))


@pytest.mark.slow
def test_detect_fit_prints_the_lines_the_readme_shows(tmp_path) -> None:
    """The lines the README quotes from `tsae detect fit` on data/pump_normal.csv are the ones it prints, to the
    wording (the numbers are left free: they follow the training)."""
    from tsae.cli import cli

    text = README.read_text(encoding="utf-8")
    plain = [block for lang, block in re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M) if not lang]
    quoted = [line for block in plain for line in block.splitlines() if line.startswith(("terms ", "threshold "))]
    assert len(quoted) == 2
    result = CliRunner().invoke(cli, ["detect", "fit", str(README.parent / "data" / "pump_normal.csv"),
                                      "-o", str(tmp_path / "pump.tsae"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    for line in quoted:
        pattern = r"\d+(?:\.\d+)?".join(map(re.escape, re.split(r"\d+(?:\.\d+)?", line)))
        assert any(re.fullmatch(pattern, printed) for printed in result.output.splitlines()), (line, result.output)


def test_devices_accepts_quiet() -> None:
    """'Every command accepts -q': tsae devices refused it ("No such option '-q'", exit 2)."""
    from tsae.cli import cli

    result = CliRunner().invoke(cli, ["devices", "-q"])
    assert "No such option" not in result.output
    assert result.exit_code in (0, 1)  # 1: no sounddevice/PortAudio here, one line


def test_every_command_accepts_quiet() -> None:
    """Every built-in command's help lists -q."""
    from tsae.cli import cli

    runner = CliRunner()
    commands = ["compress", "decompress", "denoise", "devices", "encode", "export", "frame", "impute", "models",
                "monitor", "plugins", "reconstruct", "smooth", "train", "detect fit", "detect score"]
    lacking = [c for c in commands if "-q, --quiet" not in runner.invoke(cli, [*c.split(), "--help"]).output]
    assert lacking == []


def test_readme_paths_exist() -> None:
    """Every scripts/, docs/, data/ and plugins/ path the README names is in the repository."""
    root = README.parent
    text = README.read_text(encoding="utf-8")
    named = set(re.findall(r"\b((?:scripts|docs|plugins|data)/[\w./-]*\w)", text))
    outputs = {"data/noisy_speech.denoised.wav"}  # what the first command writes
    missing = sorted(p for p in named - outputs if not (root / p).exists() and not p.startswith("data/anomaly"))
    assert missing == []
