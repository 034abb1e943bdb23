"""Float audio with NaN, infinite or absurdly loud samples: repaired as read, and said in one warning line."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli
from tsae.io.audio import LOUDEST, AudioWarning, iter_audio_blocks, read_audio


@pytest.fixture()
def bad_audio(tmp_path):
    x = 0.1 * np.sin(np.arange(4000) / 5.0).astype(np.float32)
    files = {}
    for name, y in {"nan": np.full_like(x, np.nan), "inf": np.where(x > 0, np.inf, -np.inf).astype(np.float32),
                    "huge": x * np.float32(1e30)}.items():
        files[name] = tmp_path / f"{name}.wav"
        sf.write(files[name], y, 16000, subtype="FLOAT")
    return files


def test_reader_repairs_and_warns_once(bad_audio) -> None:
    for name, fragment in [("nan", "4000 of 4000 samples are NaN or infinite"),
                           ("inf", "4000 of 4000 samples are NaN or infinite"), ("huge", "times full scale")]:
        with pytest.warns(AudioWarning) as caught:
            data = read_audio(bad_audio[name]).data
        assert len(caught) == 1 and str(caught[0].message).startswith(f"{bad_audio[name]}: ")
        assert fragment in str(caught[0].message)
        assert np.isfinite(data).all() and np.abs(data).max() <= LOUDEST
    with pytest.warns(AudioWarning) as caught:
        blocks = list(iter_audio_blocks(bad_audio["nan"], 1000))
    assert len(caught) == 1 and len(blocks) == 4 and not any(b.any() for b in blocks)


def test_clean_audio_gives_no_warning(tmp_path) -> None:
    sf.write(tmp_path / "ok.wav", np.zeros(100, np.float32), 8000, subtype="FLOAT")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_audio(tmp_path / "ok.wav")


def test_cli_says_it_in_one_line_and_nothing_under_quiet(bad_audio, tmp_path) -> None:
    for name in ("nan", "huge"):
        result = CliRunner().invoke(cli, ["denoise", str(bad_audio[name]), "-o", str(tmp_path / f"{name}.out.wav")])
        assert result.exit_code == 0, result.output
        lines = result.output.strip().splitlines()
        assert lines == [lines[0], f"wrote {tmp_path / f'{name}.out.wav'}"]
        assert lines[0].startswith(f"Warning: {bad_audio[name]}: ") and "RuntimeWarning" not in result.output
        quiet = CliRunner().invoke(cli, ["denoise", str(bad_audio[name]), "-o", str(tmp_path / f"{name}.q.wav"),
                                         "-q"])
        assert quiet.exit_code == 0 and quiet.output == ""


@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE"])
def test_an_exact_read_refuses_the_first_sample_it_would_change(tmp_path, subtype) -> None:
    x = 0.1 * np.sin(np.arange(6000) / 5.0).reshape(3000, 2)
    x[2500, 1], x[2700, 0] = -3000.0, np.nan
    sf.write(tmp_path / "x.wav", x, 8000, subtype=subtype)
    message = f"{tmp_path / 'x.wav'}: sample 2500 of channel 1 is -3000 (samples beyond 1000 times full scale are"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused, not warned about
        with pytest.raises(ValueError, match=re.escape(message)):
            read_audio(tmp_path / "x.wav", exact=True)
        blocks = iter_audio_blocks(tmp_path / "x.wav", 1000, exact=True)
        assert [b.shape for b in (next(blocks), next(blocks))] == [(2, 1000), (2, 1000)]  # the clean blocks
        with pytest.raises(ValueError, match=re.escape(message)):
            next(blocks)
    x[2500, 1] = 0.5
    sf.write(tmp_path / "x.wav", x, 8000, subtype=subtype)
    with pytest.raises(ValueError, match=r"sample 2700 of channel 0 is nan \(NaN and infinite samples are read as "
                                         "missing\\)"):
        read_audio(tmp_path / "x.wav", exact=True, gaps=True)
    x[2700, 0] = 0.0
    sf.write(tmp_path / "x.wav", x, 8000, subtype=subtype)
    np.testing.assert_allclose(read_audio(tmp_path / "x.wav", exact=True).data, x.T, atol=1e-7)
