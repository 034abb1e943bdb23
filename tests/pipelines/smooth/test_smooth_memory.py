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


def test_a_blind_spot_network_too_large_is_one_line_before_it_is_built(tmp_path, monkeypatch) -> None:
    # `tsae smooth x.wav -p hidden=30000` built 57 GB of weights (the system overcommits, so no MemoryError):
    # the OOM killer ended it at 22 GB of a 23 GB machine
    import numpy as np
    import soundfile as sf

    import tsae
    import tsae.models.device
    import tsae.plugins
    from tsae.errors import NamedMemoryError

    monkeypatch.setattr(tsae.models.device, "free_memory", lambda device="cpu": 8 * 2**30, raising=False)

    def built(*args, **kwargs):
        raise AssertionError("the network was built before its memory was checked")

    monkeypatch.setattr(tsae.plugins, "create_model", built)
    x = np.random.default_rng(0).normal(0, 0.1, 4000)
    with pytest.raises(NamedMemoryError, match=r"needs about 362 GiB .* use smaller blind_spot parameters"):
        tsae.smooth(x, model_params={"hidden": 30000})
    src = tmp_path / "x.wav"
    sf.write(src, x, 16000)
    result = CliRunner().invoke(cli, ["smooth", str(src), "-o", str(tmp_path / "y.wav"), "-p", "hidden=30000"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: training on 880 window(s)"), result.output
    assert "use smaller blind_spot parameters (hidden, layers)" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]
