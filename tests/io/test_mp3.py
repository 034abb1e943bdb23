"""MP3 files as libsndfile decodes them whole, block by block too."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tsae.io.audio import iter_audio_blocks, read_audio

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


def _blocks(path, block: int = 10000) -> np.ndarray:
    return np.concatenate(list(iter_audio_blocks(path, block)), axis=1)


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
