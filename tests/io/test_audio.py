"""tsae.io.audio: reading, block iteration, atomic clipping-safe writing, one-line errors."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tsae.io.audio import AUDIO_SUFFIXES, AudioWarning, audio_info, iter_audio_blocks, read_audio, write_audio
from tsae.io.flac_length import flac_total_frames


def test_round_trip_keeps_rate_channels_subtype(tmp_path) -> None:
    x = (0.5 * np.sin(np.linspace(0, 200, 3000))[None] * np.array([[1.0], [0.5]])).astype(np.float32)
    for name, subtype in [("a.wav", "PCM_24"), ("b.flac", "PCM_16"), ("c.wav", "FLOAT"), ("d.ogg", "VORBIS")]:
        path = write_audio(tmp_path / name, x, 22050, subtype=subtype)
        audio = read_audio(path)
        assert audio.sample_rate == 22050 and audio.channels == 2 and audio.subtype == subtype
        assert audio.data.shape == x.shape and audio.data.dtype == np.float32
        if subtype != "VORBIS":
            np.testing.assert_allclose(audio.data, x, atol=1e-4)
    assert ".wav" in AUDIO_SUFFIXES and ".flac" in AUDIO_SUFFIXES and ".ogg" in AUDIO_SUFFIXES


def test_integer_output_is_clipped_float_is_not(tmp_path) -> None:
    x = np.array([0.0, 1.7, -2.5, 0.25], np.float32)
    y = read_audio(write_audio(tmp_path / "i.wav", x, 8000, subtype="PCM_16")).data[0]
    assert y.max() <= 1.0 and y.min() >= -1.0 and y[1] > 0.99 and y[2] < -0.99  # no wrap-around
    f = read_audio(write_audio(tmp_path / "f.wav", x, 8000, subtype="FLOAT")).data[0]
    np.testing.assert_allclose(f, x)


def test_blocks_cover_the_file(tmp_path) -> None:
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (3, 1000)).astype(np.float32)
    path = write_audio(tmp_path / "x.wav", x, 16000, subtype="FLOAT")
    blocks = list(iter_audio_blocks(path, 300))
    assert [b.shape for b in blocks] == [(3, 300)] * 3 + [(3, 100)]
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), x)


def test_write_is_atomic_and_protects_inputs(tmp_path) -> None:
    src = write_audio(tmp_path / "in.wav", np.zeros(100, np.float32), 8000)
    with pytest.raises(ValueError, match="overwrite"):
        write_audio(src, np.ones(100, np.float32), 8000, protect=(src,))
    assert np.all(read_audio(src).data == 0)
    with pytest.raises(ValueError):
        write_audio(tmp_path / "out.xyz", np.zeros(10, np.float32), 8000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


@pytest.mark.parametrize("kind,words", [("missing", "no such file"), ("empty", "empty file"),
                                        ("text", "not a readable audio file"), ("zero", "zero length"),
                                        ("dir", "is a folder")])
def test_bad_files_raise_one_line_value_error(tmp_path, kind: str, words: str) -> None:
    path = tmp_path / f"{kind}.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("hello, not audio\n")
    elif kind == "zero":
        sf.write(path, np.zeros((0, 1), np.float32), 16000)
    elif kind == "dir":
        path.mkdir()
    for fn in (audio_info, read_audio, lambda p: list(iter_audio_blocks(p, 10))):
        with pytest.raises(ValueError) as info:
            fn(path)
        message = str(info.value)
        assert message.startswith(f"{path}: ") and words in message and "\n" not in message



@pytest.mark.parametrize("name,data", [("notes.mp3", b"hello, not audio\n" * 10), ("id3.mp3", b"ID3\x04" + bytes(6)),
                                       ("head.wav", b"\xff\xf3\x88\xc4" + bytes(56))])
def test_a_file_that_is_no_audio_is_not_said_to_be_missing(tmp_path, name: str, data: bytes) -> None:
    """libsndfile says "File does not exist or is not a regular file (possibly a pipe?)" of a text file named .mp3
    or of a few bytes of MP3 (its MPEG reader's failure): tsae passed that on, of a file that is there."""
    (tmp_path / name).write_bytes(data)
    for fn in (audio_info, read_audio):
        with pytest.raises(ValueError) as info:
            fn(tmp_path / name)
        assert str(info.value) == f"{tmp_path / name}: not a readable audio file (Format not recognised)"

def test_an_unreadable_file_is_said_to_be_one(tmp_path) -> None:
    """libsndfile calls a file it may not open a "System error": it was told as not a readable audio file."""
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads a file of mode 000")
    path = tmp_path / "locked.wav"
    sf.write(path, np.zeros((100, 1), np.float32), 16000)
    path.chmod(0)
    with pytest.raises(ValueError, match="locked.wav: permission denied$"):
        read_audio(path)


@pytest.mark.parametrize("suffix,kind", [(".w64", "W64"), (".rf64", "RF64")])
def test_wave64_and_rf64_are_written_as_read(tmp_path, suffix, kind) -> None:
    """Large-file WAV variants: a file read in that format can be written back in it (the default output name)."""
    x = (0.1 * np.sin(np.arange(800) / 9)).astype(np.float32)
    path = write_audio(tmp_path / f"a{suffix}", x, 8000, subtype="PCM_24")
    info = audio_info(path)
    assert (info.format, info.subtype, info.frames) == (kind, "PCM_24", 800)
    np.testing.assert_allclose(read_audio(path).data[0], x, atol=1e-6)


@pytest.mark.parametrize(("subtype", "bits"), [("PCM_16", 16), ("PCM_24", 24), ("PCM_U8", 8)])
def test_integer_pcm_is_rounded_to_the_nearest_step(tmp_path, subtype: str, bits: int) -> None:
    # libsndfile's own float conversion truncates towards minus infinity: 0.7 of a step became 0, -0.3 became -1
    step = 2.0 ** (1 - bits)
    fractions = np.array([0.7, 0.3, -0.3, -0.7, 100.7, -100.7, 1e9, -1e9])
    write_audio(tmp_path / "r.wav", fractions * step, 8000, subtype=subtype)
    back = sf.read(tmp_path / "r.wav", dtype="float64")[0] / step
    top = 2.0 ** (bits - 1)
    np.testing.assert_array_equal(back, np.clip(np.rint(fractions), -top, top - 1))


def test_pcm_read_and_written_back_is_the_same_bytes_and_double_keeps_float64(tmp_path) -> None:
    pcm = np.arange(-32768, 32768, 7, dtype=np.int16)
    sf.write(tmp_path / "in.wav", pcm, 8000, subtype="PCM_16")
    x, rate = sf.read(tmp_path / "in.wav", dtype="float64")
    write_audio(tmp_path / "out.wav", x + 1e-9, rate, subtype="PCM_16")
    np.testing.assert_array_equal(sf.read(tmp_path / "out.wav", dtype="int16")[0], pcm)
    fine = np.array([0.1, 1 / 3, 1e-12])
    write_audio(tmp_path / "d.wav", fine, 8000, subtype="DOUBLE")
    np.testing.assert_array_equal(sf.read(tmp_path / "d.wav", dtype="float64")[0], fine)


@pytest.mark.parametrize("suffix,subtype,order", [(".wav", "FLOAT", "<"), (".wav", "DOUBLE", "<"),
                                                   (".aiff", "FLOAT", ">")])
def test_a_float_file_is_the_same_bytes_whenever_it_is_written(tmp_path, suffix, subtype, order) -> None:
    # before: libsndfile put the time of writing in the PEAK chunk of a float WAV or AIFF, so denoising one file twice
    # gave files that differed in four bytes; the time is now 0 (the peaks themselves are kept)
    import struct

    x = 0.5 * np.sin(np.arange(800) / 7.0)
    path = write_audio(tmp_path / f"out{suffix}", x, 16000, subtype=subtype)
    data = path.read_bytes()
    at = data.index(b"PEAK")
    version, stamp, peak = struct.unpack(f"{order}IIf", data[at + 8: at + 20])
    assert (version, stamp) == (1, 0) and peak == pytest.approx(0.5, abs=1e-3)
    np.testing.assert_allclose(read_audio(path).data[0], x, atol=1e-7)


@pytest.mark.parametrize("subtype,rate,channels", [("IMA_ADPCM", 16000, 1), ("MS_ADPCM", 16000, 2),
                                                   ("GSM610", 8000, 1), ("ULAW", 16000, 2), ("ALAW", 8000, 1)])
def test_a_compressed_wav_cut_short_is_an_error(tmp_path, subtype, rate, channels) -> None:
    # before: only PCM and float WAVs were checked; libsndfile read an ADPCM, GSM or mu/A-law WAV cut short as a
    # shorter file, and half a recording was denoised with status 0
    x = (0.3 * np.sin(np.arange(rate) / 5.0))[:, None].repeat(channels, axis=1)
    sf.write(tmp_path / "full.wav", x, rate, subtype=subtype)
    whole = audio_info(tmp_path / "full.wav")
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    pattern = r"cut\.wav: file ends after \d+ of the \d+ sample frames its header announces \(truncated or corrupt\)$"
    for fn in (audio_info, read_audio):
        with pytest.raises(ValueError, match=pattern):
            fn(tmp_path / "cut.wav")
    assert read_audio(tmp_path / "full.wav").data.shape == (channels, whole.frames)  # a whole file reads as before


@pytest.mark.parametrize("subtype,rate,channels", [("IMA_ADPCM", 16000, 1), ("MS_ADPCM", 16000, 2),
                                                   ("GSM610", 8000, 1), ("ULAW", 16000, 2), ("ALAW", 8000, 1)])
def test_a_compressed_wav_a_crashed_recorder_left_is_read_to_its_end(tmp_path, subtype, rate, channels) -> None:
    # before: a data size of 0 (the recorder died before writing it) was "no audio samples (zero length)" for
    # these encodings, while the same PCM file was read to its end; now the header is put right in the stream
    # libsndfile reads (never in the file), block by block as whole
    x = (0.3 * np.sin(np.arange(rate) / 5.0))[:, None].repeat(channels, axis=1)
    sf.write(tmp_path / "full.wav", x, rate, subtype=subtype)
    data = bytearray((tmp_path / "full.wav").read_bytes())
    at = data.index(b"data")
    data[at + 4: at + 8] = bytes(4)
    (tmp_path / "crashed.wav").write_bytes(bytes(data))
    whole = read_audio(tmp_path / "full.wav").data
    crashed = read_audio(tmp_path / "crashed.wav")
    assert crashed.subtype == subtype and crashed.sample_rate == rate
    np.testing.assert_array_equal(crashed.data, whole)
    np.testing.assert_array_equal(np.concatenate(list(iter_audio_blocks(tmp_path / "crashed.wav", 999)), axis=1),
                                  whole)
    assert (tmp_path / "crashed.wav").read_bytes() == bytes(data)  # the file itself is left as it is


def _ogg(path, subtype: str = "VORBIS") -> bytes:
    x = 0.3 * np.sin(np.arange(48000) / 5.0) + 0.01 * np.random.default_rng(0).standard_normal(48000)
    sf.write(path, x, 16000, format="OGG", subtype=subtype)
    return path.read_bytes()


@pytest.mark.parametrize("subtype", ["VORBIS", pytest.param("OPUS", marks=pytest.mark.skipif(
    "OPUS" not in sf.available_subtypes("OGG"), reason="this libsndfile has no Opus codec"))])
def test_an_ogg_file_cut_short_is_an_error_that_says_so(tmp_path, subtype) -> None:
    # before: a Vorbis file cut inside a page was "no audio samples (zero length)" (or "malformed"), an Opus one
    # was read as a shorter file with status 0
    from click.testing import CliRunner

    from tsae.cli import cli

    data = _ogg(tmp_path / "full.ogg", subtype)
    (tmp_path / "cut.ogg").write_bytes(data[: len(data) // 2])
    for fn in (audio_info, read_audio):
        with pytest.raises(ValueError, match=r"cut\.ogg: file ends inside Ogg page \d+ \(truncated or corrupt\)$"):
            fn(tmp_path / "cut.ogg")
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "cut.ogg"), "-q"])
    assert result.exit_code == 1 and "cut.ogg: file ends inside Ogg page" in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "cut.denoised.ogg").exists()
    assert audio_info(tmp_path / "full.ogg").frames == 48000
    (tmp_path / "tagged.ogg").write_bytes(data + b"TAG not a page")  # bytes after the last page are not a cut
    assert read_audio(tmp_path / "tagged.ogg").data.shape == (1, 48000)



def test_an_ogg_file_damaged_inside_is_an_error_whatever_the_block_size(tmp_path) -> None:
    # before: libsndfile's Vorbis reader stops a read at a damaged page and goes on with the next read, so the file
    # was an error read whole, but read in blocks (tsae denoise, 5 s) gave all 48000 frames, what follows the
    # damaged page among them, with status 0; in 1000-frame blocks it stopped early ("file ends after 33712")
    from click.testing import CliRunner

    from tsae.cli import cli

    noise = (0.2 * np.random.default_rng(0).standard_normal(48000)).astype(np.float32)
    sf.write(tmp_path / "full.ogg", noise, 16000, format="OGG", subtype="VORBIS")
    data = bytearray((tmp_path / "full.ogg").read_bytes())
    middle = len(data) // 2
    data[middle: middle + 200] = bytes(b ^ 0x5A for b in data[middle: middle + 200])
    (tmp_path / "hit.ogg").write_bytes(bytes(data))
    for block in (1000, 80000):
        with pytest.raises(ValueError, match=r"^\S*hit\.ogg: .*(corrupt|damaged)"):
            list(iter_audio_blocks(tmp_path / "hit.ogg", block))
    with pytest.raises(ValueError, match=r"hit\.ogg: .*corrupt"):
        read_audio(tmp_path / "hit.ogg")
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "hit.ogg"), "-q"])
    assert result.exit_code == 1 and "hit.ogg: " in result.output and "Traceback" not in result.output
    assert not (tmp_path / "hit.denoised.ogg").exists()
    assert sum(b.shape[1] for b in iter_audio_blocks(tmp_path / "full.ogg", 1000)) == 48000

def test_an_ogg_file_cut_before_its_audio_is_not_called_empty(tmp_path) -> None:
    data = _ogg(tmp_path / "full.ogg")
    first_audio_page = data.index(b"OggS", data.index(b"OggS", 1) + 1)  # after the identification and setup pages
    (tmp_path / "cut.ogg").write_bytes(data[:first_audio_page])
    with pytest.raises(ValueError, match=r"cut\.ogg: file ends before its Ogg stream's first audio page"):
        audio_info(tmp_path / "cut.ogg")
    sf.write(tmp_path / "zero.ogg", np.zeros(0), 16000, subtype="VORBIS")  # a whole stream with no samples
    with pytest.raises(ValueError, match=r"zero\.ogg: no audio samples \(zero length\)"):
        audio_info(tmp_path / "zero.ogg")


@pytest.mark.parametrize("suffix", [".ogg", pytest.param(".opus", marks=pytest.mark.skipif(
    "OPUS" not in sf.available_subtypes("OGG"), reason="this libsndfile has no Opus codec"))])
def test_an_ogg_file_is_the_same_bytes_whenever_it_is_written(tmp_path, suffix) -> None:
    # before: libogg drew a random stream serial for each file, so denoising one file twice gave different bytes;
    # every page now has serial 1 (and its checksum anew), and decodes as libsndfile's own file does
    import struct

    from tsae.io import ogg

    x = 0.3 * np.sin(np.arange(48000) / 5.0) + 0.01 * np.random.default_rng(0).standard_normal(48000)
    first = write_audio(tmp_path / f"a{suffix}", x, 16000).read_bytes()
    assert write_audio(tmp_path / f"b{suffix}", x, 16000).read_bytes() == first
    with open(tmp_path / f"a{suffix}", "rb") as f:
        pages = list(ogg.pages(f))
    assert len(pages) > 2 and {page.serial for page in pages} == {ogg.SERIAL}
    codec = "OPUS" if suffix == ".opus" else "VORBIS"
    sf.write(tmp_path / f"own{suffix}", x.astype(np.float32), 16000, format="OGG", subtype=codec)
    np.testing.assert_array_equal(read_audio(tmp_path / f"a{suffix}").data, read_audio(tmp_path / f"own{suffix}").data)
    for page in pages:  # the checksums agree with libogg's, and with the CRC computed bit by bit
        data = bytearray(first[page.position: page.position + page.size])
        stored = struct.unpack("<I", data[22:26])[0]
        data[22:26] = bytes(4)
        assert ogg.checksum(bytes(data)) == stored == _ogg_crc_bit_by_bit(bytes(data))


def _ogg_crc_bit_by_bit(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


_NO_MP3 = pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile has no MP3 codec")


def _mp3(path) -> bytes:
    x = 0.3 * np.sin(np.arange(48000) / 5.0) + 0.01 * np.random.default_rng(0).standard_normal(48000)
    sf.write(path, x, 16000, format="MP3")
    return path.read_bytes()


@_NO_MP3
@pytest.mark.parametrize("keep", [0.5, -1])  # half the file; all but its last byte
def test_an_mp3_cut_short_is_one_line_error_and_nothing_from_libmpg123(tmp_path, capfd, keep) -> None:
    # before: the file was read as a shorter one with status 0, and libmpg123 printed its own lines ("Warning: Xing
    # stream size off by more than 1%, ...") on standard error, -q or not
    from click.testing import CliRunner

    from tsae.cli import cli

    data = _mp3(tmp_path / "full.mp3")
    (tmp_path / "cut.mp3").write_bytes(data[: int(len(data) * keep)] if keep > 0 else data[:keep])
    with pytest.raises(ValueError, match=r"cut\.mp3: file ends after \d+ of the 48000 sample frames its header"):
        read_audio(tmp_path / "cut.mp3")
    for quiet in (["-q"], []):
        result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "cut.mp3"), *quiet])
        assert result.exit_code == 1 and not (tmp_path / "cut.denoised.mp3").exists()
        assert result.output.count("\n") == 1 and "cut.mp3: file ends after" in result.output, result.output
    assert capfd.readouterr().err == ""  # what the decoder printed straight to fd 2
    assert read_audio(tmp_path / "full.mp3").data.shape == (1, 48000)


@_NO_MP3
def test_what_libmpg123_prints_on_a_whole_mp3_becomes_one_warning(tmp_path, capfd) -> None:
    data = _mp3(tmp_path / "full.mp3")
    (tmp_path / "tail.mp3").write_bytes(data + bytes(range(256)) * 8)  # bytes after the last frame
    with pytest.warns(AudioWarning, match=r"tail\.mp3: the MP3 decoder says: Xing stream size off") as caught:
        blocks = list(iter_audio_blocks(tmp_path / "tail.mp3", 10000))
    assert len(caught) == 1 and sum(b.shape[1] for b in blocks) == 48000
    assert capfd.readouterr().err == ""


def test_captured_stderr_puts_fd_2_back_when_the_block_fails(capfd) -> None:
    import os

    from tsae.io.c_stderr import captured_stderr

    with pytest.raises(KeyError), captured_stderr() as lines:
        os.write(2, b"from C\n")
        raise KeyError("x")
    os.write(2, b"after\n")
    assert lines == ["from C"] and capfd.readouterr().err == "after\n"


@pytest.mark.parametrize("name", ["voice memo.m4a", "call.AAC", "talk.webm"])
def test_a_container_libsndfile_cannot_read_says_how_to_convert_it(tmp_path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(200))  # what an AAC file starts with; libsndfile refuses it
    with pytest.raises(ValueError) as caught:
        read_audio(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a readable audio file") and "\n" not in message
    assert f"ffmpeg -i {name} {path.stem}.wav" in message


def test_an_unreadable_wav_gets_no_conversion_hint(tmp_path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("hello, not audio\n")
    with pytest.raises(ValueError, match="not a readable audio file") as caught:
        read_audio(path)
    assert "ffmpeg" not in str(caught.value)


def test_blocks_read_with_the_info_already_had_do_not_probe_the_file_again(tmp_path, monkeypatch) -> None:
    import tsae.io.audio as audio_module

    path = write_audio(tmp_path / "a.wav", np.linspace(-0.5, 0.5, 1000, dtype=np.float32), 8000)
    info = audio_module.audio_info(path)
    whole = np.concatenate(list(iter_audio_blocks(path, 300)), axis=1)

    def probed(_path):
        raise AssertionError("audio_info called again")

    monkeypatch.setattr(audio_module, "audio_info", probed)
    np.testing.assert_array_equal(np.concatenate(list(iter_audio_blocks(path, 300, info=info)), axis=1), whole)


def _flac_with_total(path, total: int) -> None:
    """Set the sample count of a FLAC file's STREAMINFO (36 bits; 0 is "unknown", as a FLAC written to a pipe has)."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO first, its body from byte 8
    packed = int.from_bytes(data[18:26], "big")
    data[18:26] = ((packed & ~((1 << 36) - 1)) | total).to_bytes(8, "big")
    path.write_bytes(bytes(data))


def test_a_flac_whose_header_gives_no_length_is_read_to_its_end(tmp_path) -> None:
    # before: libsndfile gave its length as 2 ** 63 - 1 and soundfile's seek after the first read failed, so a FLAC
    # written by `ffmpeg ... -f flac -` or `flac -` was refused as "corrupt audio data (Internal psf_fseek() failed)"
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 3000)).astype(np.float32)
    path = write_audio(tmp_path / "piped.flac", x, 16000, subtype="PCM_24")
    _flac_with_total(path, 0)
    assert audio_info(path).frames == 3000
    blocks = list(iter_audio_blocks(path, 1000))
    assert [b.shape for b in blocks] == [(2, 1000)] * 3
    np.testing.assert_allclose(np.concatenate(blocks, axis=1), x, atol=1e-6)
    np.testing.assert_allclose(read_audio(path).data, x, atol=1e-6)


@pytest.mark.parametrize("frames,channels", [(1, 1), (4096, 1), (4097, 2), (50_003, 3)])
def test_a_flac_whose_header_gives_no_length_is_decoded_once(tmp_path, monkeypatch, frames, channels) -> None:
    # before: audio_info decoded the whole file to count its samples, and the reader decoded it again
    from tsae.io import audio as audio_module

    x = np.random.default_rng(frames).uniform(-0.5, 0.5, (channels, frames)).astype(np.float32)
    path = write_audio(tmp_path / "piped.flac", x, 16000)
    _flac_with_total(path, 0)
    decodes: list[int] = []
    real = audio_module._decoded_blocks
    monkeypatch.setattr(audio_module, "_decoded_blocks", lambda *a: decodes.append(1) or real(*a))
    np.testing.assert_allclose(read_audio(path).data, x, atol=1e-4)
    assert len(decodes) == 1
    decodes.clear()
    blocks = list(iter_audio_blocks(path, 1000))
    np.testing.assert_allclose(np.concatenate(blocks, axis=1), x, atol=1e-4)
    assert len(decodes) == 1 and audio_info(path).frames == frames


def test_a_flac_of_unknown_length_whose_last_frame_gives_none_is_counted_by_decoding(tmp_path) -> None:
    x = np.random.default_rng(1).uniform(-0.5, 0.5, 5000).astype(np.float32)
    path = write_audio(tmp_path / "piped.flac", x, 16000)
    _flac_with_total(path, 0)
    data = bytearray(path.read_bytes())
    data[8:10] = (16).to_bytes(2, "big")  # a minimum block size below the frames' fixed one: frame numbers say nothing
    path.write_bytes(bytes(data))
    assert flac_total_frames(path) is None
    assert audio_info(path).frames == 5000
    np.testing.assert_allclose(read_audio(path).data[0], x, atol=1e-4)


_ID3V1_TAG = b"TAG" + b"a title".ljust(30, b"\0") + b"an artist".ljust(30, b"\0") + b"".ljust(30, b"\0") + b"2024" \
    + b"".ljust(30, b"\0") + b"\x0c"


@pytest.mark.parametrize("known_length", [True, False])
def test_a_flac_with_an_id3v1_tag_after_its_last_frame_is_read(tmp_path, known_length) -> None:
    # some taggers append an ID3v1 tag to FLAC files: libFLAC lost sync on it and no sample was read
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (2, 9000)).astype(np.float32)
    path = write_audio(tmp_path / "tagged.flac", x, 16000, subtype="PCM_16")
    if not known_length:
        _flac_with_total(path, 0)
    path.write_bytes(path.read_bytes() + _ID3V1_TAG)
    assert audio_info(path).frames == 9000
    np.testing.assert_allclose(read_audio(path).data, x, atol=1e-4)
    np.testing.assert_allclose(np.concatenate(list(iter_audio_blocks(path, 4000)), axis=1), x, atol=1e-4)


@pytest.mark.parametrize("junk", [b"\0" * 300, b"\xff" * 7, bytes(range(256)) * 3])
def test_a_flac_of_known_length_with_other_bytes_after_its_last_frame_is_read_to_that_length(tmp_path, junk) -> None:
    # libFLAC took the bytes for a frame: "corrupt audio data (Error : flac decoder lost sync)", nothing read
    x = np.random.default_rng(3).uniform(-0.5, 0.5, 9000).astype(np.float32)
    path = write_audio(tmp_path / "junk.flac", x, 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes() + junk)
    np.testing.assert_allclose(read_audio(path).data[0], x, atol=1e-4)
    np.testing.assert_allclose(np.concatenate(list(iter_audio_blocks(path, 4000)), axis=1)[0], x, atol=1e-4)


def test_a_flac_of_unknown_length_with_other_bytes_after_its_last_frame_is_one_line_saying_what_lost_sync_means(
        tmp_path) -> None:
    path = write_audio(tmp_path / "junk.flac", np.zeros(5000, dtype=np.float32), 16000, subtype="PCM_16")
    _flac_with_total(path, 0)
    path.write_bytes(path.read_bytes() + bytes(range(256)))
    with pytest.raises(ValueError) as info:
        read_audio(path)
    assert str(info.value) == (f"{path}: truncated or damaged FLAC file: decoding broke off at a frame cut short or "
                               "damaged, or at other bytes after its last frame")


def test_a_flac_cut_mid_frame_is_one_plain_line_saying_it_is_truncated_or_damaged(tmp_path) -> None:
    # before: "corrupt audio data (Error : flac decoder lost sync; ...)", libsndfile's own text
    x = np.random.default_rng(4).uniform(-0.5, 0.5, 48000).astype(np.float32)
    path = write_audio(tmp_path / "cut.flac", x, 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 6 // 10])
    expected = (f"{path}: truncated or damaged FLAC file: decoding broke off before the end of the 48000 sample "
                "frames its header announces")
    for read in (read_audio, lambda p: list(iter_audio_blocks(p, 4096))):
        with pytest.raises(ValueError) as info:
            read(path)
        assert str(info.value) == expected


def test_a_flac_cut_short_of_its_header_length_says_so(tmp_path) -> None:
    # before: "corrupt audio data (Internal psf_fseek() failed)", which did not say the file was short
    path = write_audio(tmp_path / "cut.flac", np.zeros(3000, np.float32), 16000)
    _flac_with_total(path, 5000)
    with pytest.raises(ValueError, match=r"cut.flac: file ends after 3000 of the 5000 sample frames its header"):
        list(iter_audio_blocks(path, 1000))
    with pytest.raises(ValueError, match=r"cut.flac: file ends after 3000 of the 5000 sample frames its header"):
        read_audio(path)


def test_an_audio_file_whose_header_does_not_fit_is_said_to_be_one_the_disk_may_not_hold(tmp_path) -> None:
    # before: "x.wav: cannot write WAV (PCM_16) at 16000 Hz with 1 channel(s) (System error)", from
    # `tsae denoise noisy.wav -o x.wav` on a full disk, as if the format could not hold that rate; a file size limit
    # (set in the child, ignoring SIGXFSZ as a full disk sends none) cuts the header's write short as a full disk does
    import os
    import resource
    import signal
    import subprocess
    import sys

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20, resource.RLIM_INFINITY))

    out = tmp_path / "x.wav"
    code = f"""import numpy as np
from tsae.io.audio import write_audio
try:
    write_audio({str(out)!r}, np.zeros(1000), 16000)
except ValueError as error:
    print(error)
"""
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           preexec_fn=small_files, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert shown.stdout.strip() == f"{out}: cannot write it (System error; is the disk full?)", \
        shown.stdout + shown.stderr
    assert list(tmp_path.iterdir()) == []
