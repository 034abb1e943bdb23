"""smooth/impute hold the whole series (they learn from all of it): out of memory is one line naming the file."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from tsae.cli import cli


@pytest.mark.parametrize("command", ["smooth", "impute"])
def test_out_of_memory_is_one_line_naming_the_file(tmp_path, monkeypatch, command) -> None:
    def no_memory(path, **options):
        raise MemoryError("Unable to allocate 7.45 GiB for an array with shape (1000000000,) and data type float64")

    monkeypatch.setattr("tsae.pipelines.smooth.files.read_series", no_memory)
    src = tmp_path / "big.csv"
    src.write_text("a\n1\n2\n")
    result = CliRunner().invoke(cli, [command, str(src), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {src}: not enough memory to process it (Unable to allocate 7.45 GiB for an array with shape "
        "(1000000000,) and data type float64)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]
