"""``.opus`` files: read as audio, written as Ogg Opus whatever the input's codec, rates Opus lacks refused."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tsae.cli import cli
from tsae.io.audio import (
    audio_info,
    check_writable,
    iter_audio_blocks,
    open_audio_writer,
    output_subtype,
    read_audio,
    write_audio,
)
from tsae.io.paths import AUDIO_SUFFIXES, expand_inputs

pytestmark = pytest.mark.skipif("OPUS" not in sf.available_subtypes("OGG"),
                                reason="this libsndfile has no Opus codec")


def _tone(rate: int, seconds: float = 0.5, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.02 * np.random.default_rng(0).standard_normal(len(t))
    return np.tile(x.astype(np.float32), (channels, 1))


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_an_opus_file_round_trips_with_its_rate_channels_and_length(tmp_path, rate) -> None:
    x = _tone(rate, channels=2)
    audio = read_audio(write_audio(tmp_path / "a.opus", x, rate))
    assert (audio.sample_rate, audio.channels, audio.subtype, audio.format) == (rate, 2, "OPUS", "OGG")
    assert audio.data.shape == x.shape
    # lossy, but the tone is there: most of the signal survives
    assert np.mean((audio.data - x) ** 2) < 0.1 * np.mean(x ** 2)


def test_the_suffix_names_the_codec_whatever_the_input_had() -> None:
    assert ".opus" in AUDIO_SUFFIXES
    assert [output_subtype("x.opus", s) for s in ("PCM_16", "FLOAT", "VORBIS", None)] == ["OPUS"] * 4
    assert output_subtype("x.ogg", "OPUS") == "OPUS" and output_subtype("x.ogg", "PCM_16") == "VORBIS"


@pytest.mark.parametrize("rate", [44100, 22050, 96000, 11025])
def test_a_rate_opus_lacks_is_refused_before_writing(tmp_path, rate) -> None:
    out = tmp_path / "x.opus"
    with pytest.raises(ValueError, match=rf"x\.opus: Opus holds 8000, 12000, 16000, 24000 or 48000 Hz, "
                                         rf"not {rate} Hz \(write \.ogg, \.flac or \.wav\)"):
        check_writable(out, rate, 1)
    with pytest.raises(ValueError, match="Opus holds"):
        write_audio(out, _tone(rate), rate)
    assert list(tmp_path.iterdir()) == []


def test_an_opus_codec_kept_in_an_ogg_at_a_rate_opus_lacks_becomes_vorbis(tmp_path) -> None:
    # what the container holds when the input's codec cannot be kept, as for any other subtype
    with open_audio_writer(tmp_path / "x.ogg", 44100, 1, subtype="OPUS") as writer:
        writer.write(_tone(44100))
    assert sf.info(tmp_path / "x.ogg").subtype == "VORBIS"


def test_a_folder_of_inputs_picks_up_opus_files(tmp_path) -> None:
    write_audio(tmp_path / "a.opus", _tone(16000), 16000)
    (tmp_path / "notes.txt").write_text("x")
    assert [p.rsplit("/", 1)[-1] for p in map(str, expand_inputs([tmp_path], AUDIO_SUFFIXES))] == ["a.opus"]


def test_tsae_denoise_reads_and_writes_opus(tmp_path) -> None:
    # "unknown audio suffix '.opus'" for the default output name before
    src = write_audio(tmp_path / "a.opus", _tone(16000, 1.0), 16000)
    result = CliRunner().invoke(cli, ["denoise", str(src), "-q"])
    assert result.exit_code == 0, result.output
    info = sf.info(tmp_path / "a.denoised.opus")
    assert (info.format, info.subtype, info.samplerate, info.frames) == ("OGG", "OPUS", 16000, 16000)


def test_tsae_denoise_to_opus_at_a_rate_opus_lacks_fails_with_one_line(tmp_path) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, _tone(44100)[0], 44100)
    result = CliRunner().invoke(cli, ["denoise", str(src), "-o", str(tmp_path / "out.opus"), "-q"])
    assert result.exit_code == 1 and "out.opus: Opus holds" in result.output, result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


@pytest.mark.parametrize(("suffix", "rate", "subtype"), [(".ogg", 16000, "VORBIS"), (".opus", 48000, "OPUS")])
def test_ogg_files_joined_one_after_the_other_are_read_whole_not_cut_to_the_first(tmp_path, suffix, rate,
                                                                                  subtype) -> None:
    # before: libsndfile reads the first stream of a chained Ogg file alone: `cat a.ogg b.ogg > ab.ogg` was denoised
    # into a file as long as a.ogg, with status 0; then it was refused; now each stream is read as the file it was
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    sf.write(first, 0.3 * np.sin(np.arange(rate) / 7.0), rate, format="OGG", subtype=subtype)
    sf.write(second, 0.2 * np.sin(np.arange(rate // 2) / 3.0), rate, format="OGG", subtype=subtype)
    joined = tmp_path / f"ab{suffix}"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    both = np.concatenate([read_audio(first).data, read_audio(second).data], axis=1)
    assert audio_info(joined).frames == both.shape[1] == rate * 3 // 2
    np.testing.assert_array_equal(read_audio(joined).data, both)
    np.testing.assert_array_equal(np.concatenate(list(iter_audio_blocks(joined, 777)), axis=1), both)
    assert audio_info(first).frames == rate  # one stream is read as before
    result = CliRunner().invoke(cli, ["denoise", str(joined), "-o", str(tmp_path / f"out{suffix}"), "-q"])
    assert result.exit_code == 0, result.output
    assert audio_info(tmp_path / f"out{suffix}").frames == rate * 3 // 2


def test_ogg_streams_joined_at_different_rates_are_refused_by_name(tmp_path) -> None:
    sf.write(tmp_path / "a.ogg", np.zeros(16000), 16000, format="OGG", subtype="VORBIS")
    sf.write(tmp_path / "b.ogg", np.zeros(22050), 22050, format="OGG", subtype="VORBIS")
    joined = tmp_path / "ab.ogg"
    joined.write_bytes((tmp_path / "a.ogg").read_bytes() + (tmp_path / "b.ogg").read_bytes())
    with pytest.raises(ValueError, match=r"ab\.ogg: its 2 Ogg streams one after the other \(chained\) differ: "
                                         r"stream 2 is 22050 Hz, 1 channel\(s\), the first 16000 Hz, 1: split it"):
        audio_info(joined)
