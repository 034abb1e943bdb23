"""The kind of a stream told by its first bytes (:mod:`tsae.io.stream_kind`), which names the copy of stdin."""
from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
import soundfile as sf

from tsae.io.audio_stream import read_wav_header
from tsae.io.spool import spool_name
from tsae.io.stream_kind import HEAD_BYTES, stream_suffix


@pytest.mark.parametrize(("fmt", "suffix"), [("WAV", ".wav"), ("RF64", ".rf64"), ("W64", ".w64"), ("FLAC", ".flac"),
                                             ("OGG", ".ogg"), ("AIFF", ".aiff"), ("AU", ".au")])
def test_each_container_libsndfile_writes_is_told_by_its_first_bytes(fmt, suffix) -> None:
    data = io.BytesIO()
    sf.write(data, np.zeros(100), 8000, format=fmt, subtype="VORBIS" if fmt == "OGG" else "PCM_16")
    assert stream_suffix(data.getvalue()[:HEAD_BYTES]) == suffix
    assert spool_name("stdin", data.getvalue()[:HEAD_BYTES]) == f"stdin{suffix}"


def test_an_mp3_with_no_tag_an_id3_tag_and_an_array() -> None:
    assert stream_suffix(bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(12)) == ".mp3"  # MPEG-1 layer III frame header
    assert stream_suffix(b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(6)) == ".mp3"
    array = io.BytesIO()
    np.save(array, np.zeros((2, 3)))
    assert stream_suffix(array.getvalue()[:HEAD_BYTES]) == ".npy"


@pytest.mark.parametrize("head", [b"time,flow\n0,1\n", gzip.compress(b"a\n1\n")[:16], b"\xff\xfet\x00i\x00m\x00",
                                  b"RIFF\x00\x00\x00\x00AVI LIST", b"FORM\x00\x00\x00\x00ILBMBMHD", b"", b"RIF",
                                  b"ID3_sensor,temp\n", b"dns.query,count\n", b"OggSensor,a\n0,1\n", b"fLaCount\n1\n"])
def test_a_table_and_other_bytes_are_no_series_kind(head) -> None:
    # a UTF-16 table's byte order mark (FF FE) is no MP3 frame; RIFF and FORM hold other things than audio
    assert stream_suffix(head) is None
    assert spool_name("/dev/fd/63", head) == "63.csv"


def test_a_pipe_named_with_a_series_suffix_keeps_it() -> None:
    assert spool_name("/tmp/x.npy", b"RIFF\x00\x00\x00\x00WAVE") == "x.npy"


def test_denoise_names_an_mp3_piped_in_without_a_tag() -> None:
    # it said "not a WAV stream (... raw PCM needs --raw ...)": raw mode would read the MP3 as noise
    stream = io.BytesIO(bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(400))
    with pytest.raises(ValueError, match=r"^stdin: an MP3 file, which is read from a file, not from a stream"):
        read_wav_header(stream)
