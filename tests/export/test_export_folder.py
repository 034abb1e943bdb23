"""``tsae export -o FOLDER/`` writes the default name in that folder, as ``tsae denoise -o FOLDER/`` does."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from tsae.cli import cli
from tsae.models.modelfile import save_model
from tsae.plugins import create_model

pytest.importorskip("onnx")


@pytest.fixture()
def model(tmp_path):
    path = tmp_path / "m.tsae"
    save_model(path, create_model("dense", channels=1, window=16), frame={"window": 16, "hop": 8, "window_fn": None})
    return path


def _export(*args: str):
    return CliRunner().invoke(cli, ["export", *args, "-q"])


def test_a_trailing_separator_is_a_folder_made_for_it(model, tmp_path) -> None:
    out = tmp_path / "onnx"
    result = _export(str(model), "-o", f"{out}/")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["m.json", "m.onnx"]
    assert not (tmp_path / "onnx.onnx").exists()


def test_an_existing_folder_takes_the_default_name(model, tmp_path) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    assert _export(str(model), "-o", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["m.json", "m.onnx"]


def test_a_shipped_denoiser_into_a_folder(tmp_path) -> None:
    result = _export("denoiser2", "-o", f"{tmp_path / 'd'}/")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "denoiser2.onnx").is_file() and (tmp_path / "d" / "denoiser2.json").is_file()



def test_a_shipped_denoiser_into_a_folder_of_its_name(tmp_path, monkeypatch) -> None:
    """A folder named denoiser2 where it runs made "tsae export denoiser2" an error ("File 'denoiser2' is a
    directory"), while tsae denoise --model denoiser2 took the shipped model: a folder is no model file."""
    from tsae.export import export_model

    monkeypatch.chdir(tmp_path)
    (tmp_path / "denoiser2").mkdir()
    result = _export("denoiser2", "-o", "denoiser2/")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "denoiser2").iterdir()) == ["denoiser2.json", "denoiser2.onnx"]
    assert export_model("denoiser2", tmp_path / "api.onnx").kind == "denoiser_step"
    (tmp_path / "models").mkdir()
    result = _export("models")
    assert result.exit_code == 2 and "models: is a folder, not a model file" in result.output
    assert "Traceback" not in result.output

def test_a_file_name_is_still_a_file_and_must_end_in_onnx(model, tmp_path) -> None:
    assert _export(str(model), "-o", str(tmp_path / "x.onnx")).exit_code == 0
    assert (tmp_path / "x.onnx").is_file()
    result = _export(str(model), "-o", str(tmp_path / "x.txt"))
    assert result.exit_code != 0 and "an ONNX export must end in .onnx" in result.output
    assert not (tmp_path / "x.txt").exists()


def test_a_bad_model_leaves_no_folder(tmp_path) -> None:
    bad = tmp_path / "bad.tsae"
    bad.write_bytes(b"\x00" * 300)
    result = _export(str(bad), "-o", f"{tmp_path / 'made'}/")
    assert result.exit_code != 0 and "bad.tsae" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "made").exists()
