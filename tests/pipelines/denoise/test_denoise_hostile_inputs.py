"""Hostile inputs found by an audit of ``tsae denoise`` and ``tsae export``: each fails alone, cleanly."""
from __future__ import annotations

import errno
import io
import os
import re
import warnings

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli
from tsae.errors import FilesFailed
from tsae.io.audio import AudioWarning, audio_info, check_writable
from tsae.pipelines.denoise.files import denoise_files
from tsae.pipelines.denoise.pipe import RawSpec, denoise_stream

SR = 16000


def _speech(seconds: float = 1.0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    return (scale * (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t)))).astype(np.float32)


def test_an_output_suffix_with_no_audio_format_fails_that_file_only(tmp_path) -> None:
    sf.write(tmp_path / "talk.wav", _speech(), SR)
    sf.write(tmp_path / "voice.caf", _speech(), SR, format="CAF")
    with pytest.raises(FilesFailed) as failed:
        denoise_files([tmp_path / "talk.wav", tmp_path / "voice.caf"], tmp_path / "out", quiet=True)
    assert list(failed.value.failures) == [str(tmp_path / "voice.caf")]
    assert "unknown audio suffix '.caf'" in failed.value.failures[str(tmp_path / "voice.caf")]
    assert (tmp_path / "out" / "talk.wav").exists() and not (tmp_path / "out" / "voice.caf").exists()


@pytest.mark.parametrize(("src", "fmt", "subtype", "dst"), [
    ("in.wav", "WAVEX", "FLOAT", "out.wav"), ("in.flac", "FLAC", "PCM_24", "out.wav"),
    ("in.wav", "WAV", "PCM_24", "out.flac")])
def test_bit_depth_is_kept_across_formats(tmp_path, src, fmt, subtype, dst) -> None:
    sf.write(tmp_path / src, _speech(0.5, scale=3.0 if subtype == "FLOAT" else 1.0), SR, format=fmt, subtype=subtype)
    denoise_files([tmp_path / src], tmp_path / dst, quiet=True, strength=0.0)  # strength 0: the input back
    assert sf.info(str(tmp_path / dst)).subtype == subtype
    if subtype == "FLOAT":  # float output is not clipped to full scale
        assert np.abs(sf.read(tmp_path / dst)[0]).max() > 1.0



def test_float_samples_beyond_full_scale_clipped_in_the_output_format_are_told(tmp_path) -> None:
    """A float WAV peaking at 6 times full scale, denoised to .flac (24-bit), lost its peaks without a word."""
    sf.write(tmp_path / "loud.wav", _speech(1.0, scale=6.0), SR, subtype="FLOAT")
    with pytest.warns(AudioWarning, match=r"loud\.wav: \d+ output samples beyond full scale clipped in \S*out\.flac "
                                          r"\(PCM_24 holds none; a \.wav output keeps them\)"):
        denoise_files([tmp_path / "loud.wav"], tmp_path / "out.flac", quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        denoise_files([tmp_path / "loud.wav"], tmp_path / "out.wav", quiet=True)  # float out: nothing clipped
        sf.write(tmp_path / "soft.wav", _speech(1.0), SR, subtype="FLOAT")
        denoise_files([tmp_path / "soft.wav"], tmp_path / "soft.flac", quiet=True)  # nothing beyond full scale
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "loud.wav"), "-o", str(tmp_path / "cli.mp3")])
    assert result.exit_code == 0 and "Warning: " in result.output and "clipped in" in result.output
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "loud.wav"), "-o", str(tmp_path / "q.mp3"), "-q"])
    assert result.exit_code == 0 and "Warning" not in result.output


@pytest.mark.parametrize("subtype", ["PCM_24", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("option", [["--strength", "0"], ["--atten-limit", "0"]])
def test_strength_zero_gives_a_file_back_sample_for_sample(tmp_path, subtype, option) -> None:
    """The README: --strength 0 or --atten-limit 0 returns the input. A 24-bit file came back with samples one step
    off (the round trip through the STFT, to float32 rounding), a float one with most samples a rounding off."""
    x = np.stack([_speech(1.3), _speech(1.3, scale=0.5)[::-1]])
    x[1, 100:110] = np.nan  # read as silence, as ever
    sf.write(tmp_path / "in.wav", x.T, 44100, subtype=subtype)
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), *option,
                                      "-q"])
    assert result.exit_code == 0, result.output
    dtype = "float64" if subtype == "DOUBLE" else "float32"
    expected = np.nan_to_num(sf.read(tmp_path / "in.wav", dtype=dtype)[0])
    np.testing.assert_array_equal(sf.read(tmp_path / "out.wav", dtype=dtype)[0], expected)

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


@pytest.mark.parametrize("suffix,subtype", [(".aiff", "PCM_16"), (".aiff", "FLOAT"), (".au", "PCM_24"),
                                            (".w64", "PCM_16"), (".rf64", "DOUBLE"), (".wav", "PCM_U8")])
def test_a_file_cut_short_is_an_error_in_every_format_whose_header_has_the_length(tmp_path, suffix, subtype) -> None:
    # before: libsndfile reads an AIFF, AU, W64 or RF64 file cut short as a shorter file (only WAV was checked):
    # half a recording was denoised and written with status 0
    sf.write(tmp_path / f"full{suffix}", _speech(), SR, subtype=subtype)
    data = (tmp_path / f"full{suffix}").read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"cut{suffix}: file ends after \d+ of the 16000 sample frames its header"):
        audio_info(tmp_path / f"cut{suffix}")
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / f"cut{suffix}"), "-q"])
    assert result.exit_code == 1 and not (tmp_path / f"cut.denoised{suffix}").exists()
    assert audio_info(tmp_path / f"full{suffix}").frames == 16000  # a whole file is read as before


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


def test_a_double_wav_on_stdin_is_read_as_the_file_is(tmp_path) -> None:
    # before: stdin's 64-bit floats were decoded as float32, so samples beyond float32 (1e300, a file scaled by
    # mistake) became infinities read as silence, where the file is clipped to 1000 times full scale
    x = _speech().astype(np.float64) * 1e300
    sf.write(tmp_path / "in.wav", x, SR, subtype="DOUBLE")
    denoise_files([tmp_path / "in.wav"], tmp_path / "out.wav", quiet=True)
    out = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        denoise_stream("-", "-", stdin=io.BytesIO((tmp_path / "in.wav").read_bytes()), stdout=out)
    assert any("clipped to 1000" in str(w.message) for w in caught)
    piped = sf.read(io.BytesIO(out.getvalue()))[0]
    np.testing.assert_array_equal(piped, sf.read(tmp_path / "out.wav")[0])
    assert np.abs(piped).max() > 100


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


def _tone(seconds: float = 0.5, rate: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.2 * np.sin(2 * np.pi * 220 * (c + 1) * t) for c in range(channels)], 1).astype(np.float32)


@pytest.mark.parametrize("source,subtype,suffix,expected", [
    ("in.mp3", None, ".wav", "PCM_16"),        # MP3 data cannot be written into a WAV (libsndfile says it can)
    ("in.wav", "PCM_32", ".flac", "PCM_24"),   # the deepest FLAC holds, not its PCM_16 default
    ("in.wav", "DOUBLE", ".flac", "PCM_24"),
    ("in.wav", "DOUBLE", ".wav", "DOUBLE"),
])
def test_the_output_keeps_the_deepest_subtype_its_format_can_write(tmp_path, source, subtype, suffix, expected):
    src = tmp_path / source
    sf.write(src, _tone(rate=16000), 16000, subtype=subtype)
    out = tmp_path / f"out{suffix}"
    result = CliRunner().invoke(cli, ["denoise", str(src), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert sf.info(out).subtype == expected


@pytest.mark.parametrize("rate,channels,suffix,message", [
    (384000, 1, ".ogg", "OGG holds at most 192000 Hz, not 384000 Hz"),  # libvorbis would crash the process
    (16000, 10, ".flac", "FLAC holds at most 8 channels, not 10"),
    (16000, 6, ".mp3", "MP3 holds at most 2 channels, not 6"),
])
def test_an_output_format_that_cannot_hold_the_audio_is_named_before_writing(tmp_path, rate, channels, suffix,
                                                                              message) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, _tone(0.05, rate, channels), rate)
    out = tmp_path / f"out{suffix}"
    result = CliRunner().invoke(cli, ["denoise", str(src), "-o", str(out), "-q"])
    assert result.exit_code == 1 and f"{out}: {message}" in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


@pytest.mark.parametrize("path,rate,hint", [
    ("x.flac", 768000, "FLAC holds at most 655350 Hz, not 768000 Hz (write .wav)"),
    ("x.ogg", 768000, "OGG holds at most 192000 Hz, not 768000 Hz (write .wav)"),
    ("x.ogg", 384000, "OGG holds at most 192000 Hz, not 384000 Hz (write .wav or .flac)"),
    ("x.mp3", 7999, "not 7999 Hz (write .wav or .flac)"),
])
def test_a_format_that_cannot_hold_the_rate_suggests_only_formats_that_can(path, rate, hint) -> None:
    # before: every rate refusal said "(write .wav or .flac)", also FLAC's own and where FLAC cannot hold the rate
    with pytest.raises(ValueError, match=re.escape(hint)):
        check_writable(path, rate, 1)


def test_empty_paths_and_raw_options_without_raw_are_refused(tmp_path) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, _tone(), 16000)
    for args, message in ((["", "-q"], "an empty path (an unset shell variable?)"),  # as every path is refused
                          ([str(src), "-o", "", "-q"], "an empty path (an unset shell variable?)"),
                          ([str(src), "--rate", "8000", "-o", str(tmp_path / "o.wav")], "--rate describes raw PCM"),
                          ([str(src), "--format", "f32", "-o", str(tmp_path / "o.wav")], "--format describes raw")):
        result = CliRunner().invoke(cli, ["denoise", *args])
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_a_shipped_model_name_is_never_taken_for_a_folder_here(tmp_path, monkeypatch) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, _tone(), 16000)
    (tmp_path / "denoiser").mkdir()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["denoise", "in.wav", "--model", "denoiser", "-o", "out.wav", "-q"])
    assert result.exit_code == 0 and (tmp_path / "out.wav").exists(), result.output


def test_a_truncated_stream_is_announced_with_no_length_on_a_pipe() -> None:
    """A WAV header on stdout cannot be corrected later: only a file's length is announced."""
    from tsae.io.audio_stream import wav_header

    wav = io.BytesIO()
    sf.write(wav, _tone(1.0), 16000, format="WAV", subtype="PCM_16")
    cut = wav.getvalue()[: 44 + 2 * 8000]  # half of the samples its header announces

    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    out = Pipe()
    with pytest.raises(ValueError, match="stream ended early"):
        denoise_stream("-", "-", stdin=io.BytesIO(cut), stdout=out)
    from tsae.io.audio_stream import StreamFormat

    assert out.getvalue()[:44] == wav_header(StreamFormat(16000, 1, "PCM_16"), None)
    assert len(out.getvalue()) == 44 + 2 * 8000


def test_the_api_refuses_a_nan_attenuation_limit() -> None:
    import tsae

    with pytest.raises(ValueError, match="atten_limit must be >= 0 dB, got nan"):
        tsae.denoise(_tone()[:, 0], 16000, atten_limit=float("nan"))


def test_an_onnx_export_with_no_attenuation_limit_writes_strict_json(tmp_path) -> None:
    pytest.importorskip("onnx")
    import json

    from tsae.export import export_model
    from tsae.pipelines.denoise.denoiser import shipped_models

    result = export_model(shipped_models()["denoiser2"], tmp_path / "d.onnx", atten_limit=float("inf"))
    assert json.loads(result.sidecar.read_text(), parse_constant=lambda c: pytest.fail(c))["atten_limit"] is None


def test_one_file_named_twice_is_denoised_once(tmp_path, monkeypatch) -> None:
    sf.write(tmp_path / "a.wav", _tone(), 16000)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["denoise", "a.wav", "./a.wav", str(tmp_path / "a.wav"), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.denoised.wav", "a.wav"]


def test_the_api_refuses_integer_pcm_arrays() -> None:
    import tsae

    with pytest.raises(ValueError, match=r"audio holds int16 samples: pass float samples in \[-1, 1\] \(for example "
                                         r"audio / 32768\)"):
        tsae.denoise((_tone()[:, 0] * 32767).astype(np.int16), 16000)


def test_a_wav_whose_header_gives_no_length_is_read_to_its_end(tmp_path) -> None:
    """A recorder that crashed leaves data size 0: read to the end, in file mode as on a pipe."""
    from tsae.io.audio import iter_audio_blocks, read_audio

    wav = io.BytesIO()
    tone = _tone(1.0)
    sf.write(wav, tone, 16000, format="WAV", subtype="PCM_16")
    data = bytearray(wav.getvalue())
    assert data[36:40] == b"data"
    data[40:44] = b"\x00\x00\x00\x00"
    path = tmp_path / "crashed.wav"
    path.write_bytes(bytes(data))
    assert audio_info(path).frames == 16000
    whole = read_audio(path).data
    np.testing.assert_allclose(whole[0], tone[:, 0], atol=1 / 32768)
    np.testing.assert_array_equal(np.concatenate(list(iter_audio_blocks(path, 999)), axis=1), whole)
    result = CliRunner().invoke(cli, ["denoise", str(path), "-o", str(tmp_path / "out.wav"), "-q"])
    assert result.exit_code == 0 and sf.info(tmp_path / "out.wav").frames == 16000, result.output


def test_a_model_of_the_wrong_type_and_a_fractional_batch_are_named() -> None:
    import tsae
    from tsae.models.inference import forward

    with pytest.raises(TypeError, match="model must be a model file, the name of a shipped model or a loaded "
                                        "denoiser network, not int"):
        tsae.denoise(_tone()[:, 0], 16000, model=3)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 2.5"):
        forward(None, np.zeros((2, 1, 4), np.float32), batch_size=2.5)


def test_a_fifo_or_device_named_as_a_file_is_refused_without_waiting_on_it(tmp_path) -> None:
    # before: a FIFO (`tsae denoise <(ffmpeg ...)`, a named pipe) and /dev/zero were called "empty file", which they
    # are not; opened, a FIFO read whole twice (once to probe it) would hang
    fifo = tmp_path / "live.wav"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"live.wav: is a pipe or device, not a file \(pipe audio to standard input"):
        audio_info(fifo)
    result = CliRunner().invoke(cli, ["denoise", str(fifo), "-o", str(tmp_path / "out.wav"), "-q"])
    assert result.exit_code == 1 and "is a pipe or device" in result.output and not (tmp_path / "out.wav").exists()


def test_a_loop_of_links_is_named_as_one(tmp_path) -> None:
    # before: "no such file or folder", for a name that is there
    (tmp_path / "a.wav").symlink_to("b.wav")
    (tmp_path / "b.wav").symlink_to("a.wav")
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "a.wav"), "-q"])
    # a link to no file is a usage error (exit 2), as a missing file is (README: exit codes)
    assert result.exit_code == 2 and "a.wav: is a link to no file (broken, or a loop of links)" in result.output


class _FullDisk(io.BytesIO):
    def write(self, data) -> int:  # what `> /dev/full` gives
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_stdout_that_cannot_be_written_is_named(tmp_path) -> None:
    # before: `tsae denoise in.wav -o - > /dev/full` said "Error: [Errno 28] No space left on device", naming nothing
    sf.write(tmp_path / "in.wav", _speech(0.2), SR)
    with pytest.raises(ValueError, match=r"^stdout: cannot write it \(No space left on device\)$"):
        denoise_stream(tmp_path / "in.wav", "-", stdout=_FullDisk())
    with pytest.raises(ValueError, match=r"^stdout: cannot write it \(No space left on device\)$"):
        denoise_stream("-", "-", stdin=io.BytesIO((tmp_path / "in.wav").read_bytes()), stdout=_FullDisk())


def test_samples_beyond_a_thousand_times_full_scale_are_clipped_as_the_reader_clips_them() -> None:
    # tsae.denoise passed 1e30 through: squared, the samples overflowed float32's features (peak 1.2e29 out of 5.9e29
    # in), while the file reader clips them at 1000 times full scale
    from tsae import denoise
    from tsae.io.audio import AudioWarning

    rng = np.random.default_rng(0)
    x = (0.3 * np.sin(np.arange(16000) / 7.0) + 0.05 * rng.normal(size=16000)).astype(np.float32)
    with pytest.warns(AudioWarning, match=r"^audio: 16000 samples are up to .* times full scale \(clipped to 1000"):
        out = denoise(x * np.float32(1e30), 16000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clipped = denoise(np.clip(x * np.float32(1e30), -1000, 1000), 16000)
    np.testing.assert_array_equal(out, clipped)
    assert np.isfinite(out).all()


def test_a_detector_file_as_model_is_named_a_detector(tmp_path) -> None:
    """A detector file's network is a plain family's (conv1d): it was 'model family conv1d is not a streaming
    denoiser', which did not say the file was a detector."""
    from tsae.pipelines.anomaly.detector import Detector

    rng = np.random.default_rng(0)
    t = np.arange(600)
    x = np.stack([np.sin(t / 9), np.cos(t / 13)]) + 0.05 * rng.standard_normal((2, 600))
    Detector(window=16, epochs=1, device="cpu").fit(x, sensors=["a", "b"]).save(tmp_path / "det.tsae")
    sf.write(tmp_path / "in.wav", _speech(0.5), 16000)
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"),
                                      "--model", str(tmp_path / "det.tsae")])
    assert result.exit_code == 1
    assert "det.tsae: is an anomaly detector" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.wav").exists()


def test_a_few_rows_that_may_be_channels_are_told_how_to_keep_them() -> None:
    """(64, 10) may be 64 channels of 10 samples: the error names that reading too, and the way to it works."""
    import tsae
    import tsae.engine

    x = np.zeros((64, 10), np.float32)
    with pytest.raises(ValueError) as info:
        tsae.denoise(x, 16000)
    assert str(info.value).endswith("pass audio.T (or, for 64 channels of 10 samples, "
                                    "tsae.engine.known_layout(audio))")
    assert tsae.denoise(tsae.engine.known_layout(x), 16000).shape == (64, 10)
