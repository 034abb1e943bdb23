"""reconstruct names the real problem: a denoiser model is not a series autoencoder; every failed file is listed."""
from __future__ import annotations

from click.testing import CliRunner

from tsae.cli import cli
from tsae.pipelines.denoise import default_model_path


def test_shipped_denoiser_is_refused_with_the_real_reason(series_dir, tmp_path) -> None:
    for command in (["reconstruct", str(default_model_path()), str(series_dir / "s0.csv"), "-o", "r.csv"],
                    ["reconstruct", str(default_model_path()), str(series_dir), "-o", str(tmp_path / "out")],
                    ["encode", str(default_model_path()), str(series_dir / "s0.csv"), "-o", str(tmp_path / "c.npy")]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "is for the denoise pipeline" in lines[0], lines
        assert "window" not in lines[0] and "scipy" not in lines[0]
    assert not (tmp_path / "out").exists()


def test_every_failed_file_is_listed_at_the_end(tiny_model, series_dir, tmp_path) -> None:
    (series_dir / "empty.csv").write_text("")
    result = CliRunner().invoke(cli, ["reconstruct", str(tiny_model), str(series_dir), "-o", str(tmp_path / "out"),
                                      "-q", "--device", "cpu"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["failed"] * 2
    named = {line.split(": ")[1] for line in lines[:2]}
    assert named == {str(series_dir / "broken.csv"), str(series_dir / "empty.csv")}
    assert lines[2].startswith("Error: 6 file(s): 4 ok (0 already done), 2 failed") and len(lines) == 3
