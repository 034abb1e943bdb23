"""Errors about an output name the right thing: a folder given where one file is written, a file used as a folder."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tsae.cli import cli


@pytest.mark.parametrize("command", [["frame", "{src}"], ["smooth", "{src}"], ["impute", "{src}"]])
def test_folder_name_for_a_one_file_output_is_refused_by_name(tmp_path, command) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.arange(600.0))
    result = CliRunner().invoke(cli, [c.format(src=src) for c in command] + ["-o", f"{tmp_path}/new/"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: Invalid value for '-o' / '--output': '{tmp_path}/new/' names a folder; this command writes one "
        f"file: give its name (see 'cli {command[0]} --help')"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_output_under_a_file_names_that_file(tmp_path) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.arange(600.0))
    result = CliRunner().invoke(cli, ["frame", str(src), "-o", f"{src}/out.npy"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {src}/out.npy: {src} is a file, not a folder"
