"""MP3 files read to their last frame: no Xing header, files joined with ``cat``, and a whole file read as before."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tsae.io import mp3
from tsae.io.audio import audio_info, iter_audio_blocks, read_audio

pytestmark = pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile has no MP3 codec")

RATE = 44100


def _encode(path, x: np.ndarray, **options) -> bytes:
    sf.write(path, x, RATE, format="MP3", subtype="MPEG_LAYER_III", **options)
    return path.read_bytes()


def _loud_then_quiet(path) -> tuple[bytes, int]:
    """A 4 s VBR MP3 that starts loud (high bitrate) and goes quiet, as LAME writes it (a Xing/LAME frame first)."""
    n = 4 * RATE
    rng = np.random.default_rng(0)
    x = 0.01 * np.sin(np.arange(n) / 9.0)
    x[: RATE // 4] = 0.5 * rng.standard_normal(RATE // 4)
    return _encode(path, x.astype(np.float32), bitrate_mode="VARIABLE", compression_level=0.9), n


def _without_info_frame(path) -> bytes:
    """The MP3 file ``path`` without its Xing/LAME frame: the audio frames alone, as some encoders write them."""
    with open(path, "rb") as f:
        stream = mp3.walk(f)
    assert stream is not None and stream.segments[0].info is not None
    return path.read_bytes()[stream.segments[0].runs[0][0]:]


def _blocks(path, block: int = 10000) -> np.ndarray:
    return np.concatenate(list(iter_audio_blocks(path, block)), axis=1)


def test_a_vbr_mp3_without_xing_header_is_read_to_its_last_frame(tmp_path) -> None:
    # before: libsndfile's length was libmpg123's estimate from the file's size and first (loud) frame's bitrate,
    # and reading stopped there: 31,343 of the 176,400 samples, 82 % of the audio lost with status 0
    _, n = _loud_then_quiet(tmp_path / "tagged.mp3")
    path = tmp_path / "bare.mp3"
    path.write_bytes(_without_info_frame(tmp_path / "tagged.mp3"))
    assert sf.info(str(path)).frames < n // 2  # what libsndfile alone announces and reads
    audio = read_audio(path).data
    # no LAME tag: only libmpg123's own delay (529) is cut, not LAME's 576 samples of delay nor its padding
    assert n <= audio.shape[1] < n + 2 * 1152 and audio_info(path).frames == audio.shape[1]
    np.testing.assert_array_equal(_blocks(path), audio)
    whole = read_audio(tmp_path / "tagged.mp3").data
    np.testing.assert_allclose(audio[:, 576: 576 + n], whole, atol=1e-6)  # the same samples, all of them


@pytest.mark.parametrize("tags", [False, True])
def test_mp3s_joined_with_cat_are_read_whole_each_as_alone(tmp_path, tags) -> None:
    # before: reading stopped at the first file's Xing count (3 s of the 5 s), and libmpg123 printed a warning
    first = _encode(tmp_path / "a.mp3", (0.3 * np.sin(np.arange(3 * RATE) / 7.0)).astype(np.float32))
    second = _encode(tmp_path / "b.mp3", (0.3 * np.sin(np.arange(2 * RATE) / 3.0)).astype(np.float32))
    id3v2 = b"ID3\x03\x00\x00\x00\x00\x01\x00" + bytes(128)  # an empty 128-byte ID3v2 tag
    id3v1 = b"TAG" + bytes(125)
    joined = id3v2 + first + id3v1 + id3v2 + second + id3v1 if tags else first + second
    (tmp_path / "joined.mp3").write_bytes(joined)
    expected = np.concatenate([read_audio(tmp_path / "a.mp3").data, read_audio(tmp_path / "b.mp3").data], axis=1)
    audio = read_audio(tmp_path / "joined.mp3").data
    assert audio.shape == expected.shape == (1, 5 * RATE) and audio_info(tmp_path / "joined.mp3").frames == 5 * RATE
    np.testing.assert_allclose(audio, expected, atol=1e-6)
    np.testing.assert_array_equal(_blocks(tmp_path / "joined.mp3"), audio)


def test_joined_mp3s_cut_short_are_the_one_line_error(tmp_path) -> None:
    # before: read as the first file alone, status 0
    first = _encode(tmp_path / "a.mp3", (0.3 * np.sin(np.arange(2 * RATE) / 7.0)).astype(np.float32))
    second = _encode(tmp_path / "b.mp3", (0.3 * np.sin(np.arange(2 * RATE) / 3.0)).astype(np.float32))
    (tmp_path / "cut.mp3").write_bytes(first + second[: len(second) // 2])
    for read in (read_audio, _blocks):
        with pytest.raises(ValueError, match=rf"cut\.mp3: file ends after \d+ of the {4 * RATE} sample frames"):
            read(tmp_path / "cut.mp3")


def test_a_whole_mp3_reads_as_soundfile_reads_it_whole_block_by_block_too(tmp_path) -> None:
    # before: blocks differed from the whole read by up to 1.1 after each block boundary of a VBR file (soundfile
    # seeks to where it stands after each read, and libmpg123's seek lost the bit reservoir)
    _loud_then_quiet(tmp_path / "vbr.mp3")
    _encode(tmp_path / "cbr.mp3", (0.3 * np.sin(np.arange(3 * RATE) / 7.0)).astype(np.float32))
    for name in ("vbr.mp3", "cbr.mp3"):
        path = tmp_path / name
        whole = sf.read(str(path), dtype="float32", always_2d=True)[0].T
        np.testing.assert_array_equal(read_audio(path).data, whole)  # the same bytes as before
        for block in (4096, 1152, 100000):
            np.testing.assert_array_equal(_blocks(path, block), whole)
        assert audio_info(path).parts == () and audio_info(path).frames == whole.shape[1]  # libsndfile's own


def test_denoise_writes_the_whole_of_an_mp3_without_xing_header(tmp_path, run) -> None:
    _, n = _loud_then_quiet(tmp_path / "tagged.mp3")
    (tmp_path / "bare.mp3").write_bytes(_without_info_frame(tmp_path / "tagged.mp3"))
    result = run("denoise", tmp_path / "bare.mp3", "-o", tmp_path / "out.wav", "-q")
    assert result.exit_code == 0, result.output
    assert sf.info(str(tmp_path / "out.wav")).frames == audio_info(tmp_path / "bare.mp3").frames >= n  # was 31,343


def test_the_frame_walk_counts_frames_and_skips_tags_and_junk(tmp_path) -> None:
    first = _encode(tmp_path / "a.mp3", (0.3 * np.sin(np.arange(RATE) / 7.0)).astype(np.float32))
    with open(tmp_path / "a.mp3", "rb") as f:
        alone = mp3.walk(f)
    assert alone is not None and len(alone.segments) == 1
    frames = alone.segments[0].frames
    assert alone.segments[0].announced == frames and frames * 1152 >= RATE
    junk = bytes(range(256)) * 4  # holds a 0xFF byte: a header only where another one follows
    (tmp_path / "j.mp3").write_bytes(b"ID3\x04\x00\x10\x00\x00\x00\x20" + bytes(32) + bytes(10) + first + junk + first
                                     + b"TAG" + bytes(125))
    with open(tmp_path / "j.mp3", "rb") as f:
        joined = mp3.walk(f)
    assert joined is not None and [s.frames for s in joined.segments] == [frames, frames]
    (tmp_path / "noise.mp3").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    with open(tmp_path / "noise.mp3", "rb") as f:
        assert mp3.walk(f) is None  # not walked: libsndfile's reading is left as it is
