"""Hostile inputs found by an audit of ``tsae denoise`` and ``tsae export``: each fails alone, cleanly."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli
from tsae.errors import FilesFailed
from tsae.io.audio import AudioWarning, audio_info
from tsae.pipelines.denoise.files import denoise_files
from tsae.pipelines.denoise.pipe import RawSpec, denoise_stream

SR = 16000


def _speech(seconds: float = 1.0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    return (scale * (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t)))).astype(np.float32)


def test_an_output_suffix_with_no_audio_format_fails_that_file_only(tmp_path) -> None:
    sf.write(tmp_path / "talk.wav", _speech(), SR)
    sf.write(tmp_path / "voice.opus", _speech(), SR, format="OGG", subtype="OPUS")
    with pytest.raises(FilesFailed) as failed:
        denoise_files([tmp_path / "talk.wav", tmp_path / "voice.opus"], tmp_path / "out", quiet=True)
    assert list(failed.value.failures) == [str(tmp_path / "voice.opus")]
    assert "unknown audio suffix '.opus'" in failed.value.failures[str(tmp_path / "voice.opus")]
    assert (tmp_path / "out" / "talk.wav").exists() and not (tmp_path / "out" / "voice.opus").exists()


@pytest.mark.parametrize(("src", "fmt", "subtype", "dst"), [
    ("in.wav", "WAVEX", "FLOAT", "out.wav"), ("in.flac", "FLAC", "PCM_24", "out.wav"),
    ("in.wav", "WAV", "PCM_24", "out.flac")])
def test_bit_depth_is_kept_across_formats(tmp_path, src, fmt, subtype, dst) -> None:
    sf.write(tmp_path / src, _speech(0.5, scale=3.0 if subtype == "FLOAT" else 1.0), SR, format=fmt, subtype=subtype)
    denoise_files([tmp_path / src], tmp_path / dst, quiet=True, strength=0.0)  # strength 0: the input back
    assert sf.info(str(tmp_path / dst)).subtype == subtype
    if subtype == "FLOAT":  # float output is not clipped to full scale
        assert np.abs(sf.read(tmp_path / dst)[0]).max() > 1.0


def test_a_wav_cut_short_is_an_error_in_files_and_pipes(tmp_path) -> None:
    sf.write(tmp_path / "full.wav", _speech(), SR)
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.wav: file ends after 7989 of the 16000 sample frames"):
        audio_info(tmp_path / "cut.wav")
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "cut.wav"), "-q"])
    assert result.exit_code == 1 and not (tmp_path / "cut.denoised.wav").exists()
    with pytest.raises(ValueError, match="stdin: stream ended early"):
        denoise_stream("-", "-", stdin=io.BytesIO(data[: len(data) // 2]), stdout=io.BytesIO())


def test_stdin_floats_are_repaired_as_files_are(tmp_path) -> None:
    x = _speech()
    x[100:200] = np.nan
    x[300:310] = 1e30
    buffer = io.BytesIO()
    sf.write(buffer, x, SR, format="WAV", subtype="FLOAT")
    out = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        denoise_stream("-", "-", stdin=io.BytesIO(buffer.getvalue()), stdout=out)
    assert any(issubclass(w.category, AudioWarning) and "stdin: 100 of" in str(w.message) for w in caught)
    y, _ = sf.read(io.BytesIO(out.getvalue()))
    assert np.isfinite(y).all() and np.abs(y).max() <= 1000.0


def test_raw_output_of_a_file_must_match_its_rate_and_channels(tmp_path) -> None:
    sf.write(tmp_path / "st.wav", np.stack([_speech(0.3)] * 2, axis=1), SR)
    with pytest.raises(ValueError, match=r"st.wav: is 16000 Hz with 2 channel\(s\), but the raw output"):
        denoise_stream(tmp_path / "st.wav", "-", raw=RawSpec(8000, 1), stdout=io.BytesIO())


@pytest.mark.parametrize("option", [["--atten-limit", "nan"], ["--strength", "nan"]])
def test_nan_options_are_refused(tmp_path, option) -> None:
    sf.write(tmp_path / "a.wav", _speech(0.2), SR)
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "a.wav"), *option])
    assert result.exit_code == 2 and "is not a number" in result.output
    assert not (tmp_path / "a.denoised.wav").exists()


def test_export_names_the_shipped_models_as_denoise_does(tmp_path) -> None:
    pytest.importorskip("onnx")
    result = CliRunner().invoke(cli, ["export", "nosuch", "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2 and "nor a shipped model (denoiser, denoiser2)" in result.output


def test_the_array_api_refuses_what_it_would_get_wrong() -> None:
    """(n, 2) as soundfile.read gives it would be denoised as n channels of 2 samples (near silence)."""
    import tsae

    x = (0.3 * np.sin(np.arange(16000) / 7)).astype(np.float32)
    cases = [
        (lambda: tsae.denoise(np.stack([x, x], 1), 16000), "audio: got shape (16000, 2), but series are (channels, n)"
                                                            " with time on the last axis; pass audio.T"),
        (lambda: tsae.denoise(x + 1j, 16000), "audio must hold real numbers, got dtype complex64"),
        (lambda: tsae.denoise(np.array(["0.1", "0.2"]), 16000), "audio must hold real numbers, got dtype <U3"),
        (lambda: tsae.denoise(x, 1), "sample_rate must be within [4000, 768000] Hz, got 1"),
        (lambda: tsae.denoise(x, True), "sample_rate must be a whole number of Hz, got True"),
        (lambda: tsae.denoise(x, float("nan")), "sample_rate must be a whole number of Hz, got nan"),
        (lambda: tsae.denoise(x, 16000.5), "sample_rate must be a whole number of Hz, got 16000.5"),
        (lambda: tsae.StreamingDenoiser(16000, 2).feed(np.ones((2, 4)) + 1j), "chunk must hold real numbers"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value).startswith(message), (str(info.value), message)
    assert tsae.denoise(np.stack([x, x]), 16000.0).shape == (2, 16000)


def test_a_wav_at_an_absurd_rate_fails_alone_with_its_name(tmp_path) -> None:
    sf.write(tmp_path / "slow.wav", np.zeros(400, np.float32), 100)
    sf.write(tmp_path / "fine.wav", np.zeros(1600, np.float32), 16000)
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "slow.wav"), str(tmp_path / "fine.wav"),
                                      "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'slow.wav'}: sample_rate must be within [4000, 768000] Hz, got 100" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["fine.wav"]
