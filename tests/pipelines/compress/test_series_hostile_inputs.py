"""Hostile inputs found by an audit of the series commands: refused in one line, inputs never replaced."""
import io

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.compress.container import Reader

from compress_helpers import rewritten


@pytest.fixture(scope="module")
def series_and_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit")
    rows = [f"{i},{np.sin(i / 10):.4f},{np.cos(i / 7):.4f}" for i in range(300)]
    (folder / "s.csv").write_text("time,a,b\n" + "\n".join(rows) + "\n")
    result = CliRunner().invoke(cli, ["train", str(folder / "s.csv"), "--window", "32", "--epochs", "1",
                                      "-o", str(folder / "m.tsae"), "-q"])
    assert result.exit_code == 0, result.output
    return folder


def test_reconstruct_never_writes_its_manifest_over_an_input(series_and_model, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.csv", "b.csv"):
        (data / name).write_bytes((series_and_model / "s.csv").read_bytes())
    before = (data / "b.csv").read_bytes()
    result = CliRunner().invoke(cli, ["reconstruct", str(series_and_model / "m.tsae"), str(data), "-o",
                                      str(tmp_path / "out"), "--manifest", str(data / "b.csv"), "-q"])
    assert result.exit_code == 1 and "b.csv: refusing to overwrite a file this command reads" in result.output
    assert (data / "b.csv").read_bytes() == before
    # a manifest of an earlier run in the input folder is not an input: the batch resumes
    args = ["reconstruct", str(series_and_model / "m.tsae"), str(data), "-o", str(tmp_path / "out"),
            "--manifest", str(data / "runs.csv"), "-q"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert CliRunner().invoke(cli, args).exit_code == 0


def test_compress_refuses_a_denoiser_and_an_infinite_step(series_and_model, tmp_path):
    from tsae.pipelines.denoise.denoiser import default_model_path

    src = series_and_model / "s.csv"
    result = CliRunner().invoke(cli, ["compress", str(default_model_path()), str(src), "-o", str(tmp_path / "d.tsz")])
    assert result.exit_code == 1 and "is for the denoise pipeline" in result.output
    result = CliRunner().invoke(cli, ["compress", str(series_and_model / "m.tsae"), str(src), "-o",
                                      str(tmp_path / "i.tsz"), "--latent-step", "inf"])
    assert result.exit_code == 2 and "Invalid value for '--latent-step': 'inf' is not a finite number" in result.output
    assert not (tmp_path / "d.tsz").exists() and not (tmp_path / "i.tsz").exists()


def _decompress_edited(series_and_model, tmp_path, edit, output):
    """``tsae decompress`` of the sample series' container with its header changed by ``edit`` (checksums good)."""
    good = tmp_path / "g.tsz"
    assert CliRunner().invoke(cli, ["compress", str(series_and_model / "m.tsae"), str(series_and_model / "s.csv"),
                                    "-o", str(good), "-q"]).exit_code == 0
    data = good.read_bytes()
    header = Reader(io.BytesIO(data), "g.tsz").header
    edit(header)
    (tmp_path / "bad.tsz").write_bytes(rewritten(data, header))
    return CliRunner().invoke(cli, ["decompress", str(tmp_path / "bad.tsz"), "-o", str(output)])


@pytest.mark.parametrize("edit", [lambda h: h.update(model="m.tsae"), lambda h: h["model"].update(path=["x"]),
                                  lambda h: h.update(sample_rate="abc")])
def test_a_tsz_header_with_a_good_checksum_but_bad_fields_is_one_line(series_and_model, tmp_path, edit):
    result = _decompress_edited(series_and_model, tmp_path, edit, tmp_path / "r.wav")
    assert result.exit_code == 1 and "bad.tsz: corrupt .tsz header" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r.wav").exists()


@pytest.mark.parametrize(("edit", "problem"), [
    (lambda h: h.update(columns=["a", "a"]), "the column name 'a' is given twice"),  # a CSV kept one of them
    (lambda h: h["time"].update(name="a"), "the time column's name 'a' is a channel's"),  # two columns 'a'
    (lambda h: h["time"].update(step=1e308), "go beyond float64's range"),  # empty time cells
    (lambda h: h["time"].update(kind="datetime64[ns]", start=2**61, step=2**61), "leave the years"),  # wrapped
])
def test_a_tsz_header_that_would_write_a_wrong_table_is_one_line(series_and_model, tmp_path, edit, problem):
    result = _decompress_edited(series_and_model, tmp_path, edit, tmp_path / "r.csv")
    assert result.exit_code == 1 and "bad.tsz: corrupt .tsz header (" in result.output, result.output
    assert problem in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output and not (tmp_path / "r.csv").exists()


def test_blind_spot_layers_are_bounded(series_and_model, tmp_path):
    result = CliRunner().invoke(cli, ["smooth", str(series_and_model / "s.csv"), "-o", str(tmp_path / "sm.csv"),
                                      "-p", "layers=30"])
    assert result.exit_code == 1 and "layers='30' must be <= 16" in result.output


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_a_relative_bound_below_float64_on_denormal_data_is_one_line_naming_the_file(series_and_model, tmp_path,
                                                                                      suffix):
    # before: "Error: --max-error must be finite and > 0 (at most 1.072e+301), got array([0., 0.])" (no file named)
    x = np.random.default_rng(0).normal(size=(2, 300)) * 5e-324
    src = tmp_path / f"denormal{suffix}"
    if suffix == ".npy":
        np.save(src, x)
    else:
        src.write_text("a,b\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in x.T))
    out = tmp_path / "d.tsz"
    result = CliRunner().invoke(cli, ["compress", str(series_and_model / "m.tsae"), str(src), "-o", str(out),
                                      "--max-error", "1e-12", "--relative"])
    assert result.exit_code == 1 and not out.exists(), result.output
    assert result.output.startswith(f"Error: {src}: --max-error 1e-12 of channel 0's range ")
    assert result.output.endswith("is below the smallest float64: give a larger relative bound, or an absolute one\n")
