"""A ``file://`` URL given for any path of any command means the local path it names.

``tsae reconstruct m.tsae file:///tmp/x.npy -o o.npy`` said "file:/tmp/x.npy: no such
file or folder": the URL counted as local (``is_url``) but went through ``Path()``,
which keeps one slash of the three.
"""
from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run


def url(path) -> str:
    return path.as_uri()  # file:///tmp/.../a%20b.npy


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A series (its name holds a space: percent-escaped in its URL), a table, a model and a detector."""
    folder = tmp_path_factory.mktemp("urls")
    series = folder / "a b.npy"
    np.save(series, np.sin(np.arange(600) / 5))
    table = folder / "t.csv"
    table.write_text("time,a,b\n" + "".join(f"{i},{np.sin(i / 9):.4f},{np.cos(i / 7):.4f}\n" for i in range(600)))
    model, detector = folder / "m.tsae", folder / "d.tsae"
    for args in (["train", url(series), "-o", url(model)], ["detect", "fit", url(table), "-o", url(detector)]):
        result = run(*args, "--epochs", "1", "--window", "16", "-q")
        assert result.exit_code == 0, result.output
    assert model.is_file() and detector.is_file()
    return folder, series, table, model, detector


COMMANDS = {  # each path a URL; {out} is the output's name in the folder
    "encode": lambda s, t, m, d: ["encode", url(m), url(s)],
    "reconstruct": lambda s, t, m, d: ["reconstruct", url(m), url(s)],
    "frame": lambda s, t, m, d: ["frame", url(s), "--window", "16"],
    "smooth": lambda s, t, m, d: ["smooth", url(s), "--model", url(m)],
    "impute": lambda s, t, m, d: ["impute", url(s), "--model", url(m)],
    "compress": lambda s, t, m, d: ["compress", url(m), url(s)],
    "detect score": lambda s, t, m, d: ["detect", "score", url(t), "--detector", url(d)],
    "export": lambda s, t, m, d: ["export", url(m)],
}
SUFFIX = {"compress": ".tsz", "detect score": ".csv", "export": ".onnx"}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_path_may_be_a_file_url(made, command) -> None:
    folder, series, table, model, detector = made
    out = folder / f"out {command}{SUFFIX.get(command, '.npy')}"
    result = run(*COMMANDS[command](series, table, model, detector), "-o", url(out), "-q")
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert not any(p.name.startswith("file:") for p in folder.iterdir())


def test_decompress_and_denoise_take_file_urls(made, tmp_path) -> None:
    import soundfile

    folder, series, _, model, _ = made
    packed, back = tmp_path / "c.tsz", tmp_path / "back.npy"
    assert run("compress", url(model), url(series), "--max-error", "0.01", "-o", url(packed), "-q").exit_code == 0
    result = run("decompress", url(packed), "--model", url(model), "-o", url(back), "-q")
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(back).ravel(), np.load(series), atol=1e-2)
    audio, clean = tmp_path / "s.wav", tmp_path / "s.out.wav"
    soundfile.write(audio, (0.1 * np.sin(np.arange(4800) / 5)).astype(np.float32), 48000)
    result = run("denoise", url(audio), "-o", url(clean), "-q")
    assert result.exit_code == 0, result.output
    assert clean.is_file()


def test_a_file_url_is_checked_as_its_path_is(made) -> None:
    folder, series, _, model, _ = made
    # the output is the input, spelled as a URL: refused as the plain path is
    assert_one_line_error(run("reconstruct", model, url(series), "-o", url(series)), "refusing to overwrite")
    missing = folder / "missing.npy"
    assert_one_line_error(run("reconstruct", model, url(missing), "-o", folder / "o.npy"),
                          f"{missing}: no such file or folder")


@pytest.mark.parametrize(("given", "said"), [
    ("file://elsewhere/tmp/x.npy", "file://elsewhere/tmp/x.npy: a file URL of another host (elsewhere); give a "
                                   "local path"),
    ("file:///tmp/x#1.npy", "file:///tmp/x#1.npy: a file URL ends its path at '?' or '#'; write them %3F and %23"),
    ("file://", "file://: a file URL naming no file"),
])
def test_a_file_url_naming_no_local_file_is_one_line(made, given, said) -> None:
    _, series, _, model, _ = made
    result = run("reconstruct", model, given, "-o", "o.npy")
    assert result.exit_code == 2
    assert_one_line_error(result, "Invalid value for 'INPUTS...': " + said)
    assert_one_line_error(run("frame", series, "--window", "16", "-o", given), said)


def test_local_path() -> None:
    from tsae.io.paths import local_path

    assert local_path("file:///tmp/a%20b.npy") == "/tmp/a b.npy"
    assert local_path("FILE://localhost/tmp/x/") == "/tmp/x/"  # a folder keeps its slash
    assert local_path("s3://bucket/x.csv") == "s3://bucket/x.csv"
    assert local_path("file:notes.csv") == "file:notes.csv"  # a local name with a colon, not a URL
