"""tsae.io.series: one reader and one writer for every series format, one atomic .npy save."""
from __future__ import annotations

import numpy as np
import pytest

from tsae.io.series import read_series, read_signal, save_npy, write_series


def test_table_round_trip_keeps_time_and_label(tmp_path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("time,a,b,label\n0,1,2,0\n1,3,,1\n2,5,6,0\n")
    values, rate, meta = read_series(src)
    assert values.shape == (2, 3) and np.isnan(values[1, 1]) and rate == pytest.approx(1.0)
    out = write_series(tmp_path / "out.csv", values * 2, rate, meta, protect=(src,))
    assert out.read_text() == "time,a,b,label\n0.0,2.0,4.0,0.0\n1.0,6.0,,1.0\n2.0,10.0,12.0,0.0\n"


def test_npy_and_audio(tmp_path) -> None:
    save_npy(tmp_path / "one.npy", np.arange(5.0))
    values, rate, meta = read_series(tmp_path / "one.npy")
    assert values.shape == (1, 5) and rate is None and meta["kind"] == "array"
    write_series(tmp_path / "back.npy", values, rate, meta)
    assert np.load(tmp_path / "back.npy").shape == (5,)  # one channel is stored (n,)
    with pytest.raises(ValueError, match="needs a sample rate"):
        write_series(tmp_path / "x.wav", values, None, meta)
    pytest.importorskip("soundfile")
    write_series(tmp_path / "x.wav", values / 10, 8000, meta)
    audio, rate, meta = read_series(tmp_path / "x.wav")
    assert rate == 8000 and meta["kind"] == "audio" and audio.shape == (1, 5)
    signal, rate = read_signal(tmp_path / "x.wav")
    assert signal.shape == (5,) and signal.dtype == np.float32 and rate == 8000


def test_save_npy_is_atomic_and_protects(tmp_path) -> None:
    src = tmp_path / "in.npy"
    save_npy(src, np.zeros(3))
    with pytest.raises(ValueError, match="refusing to overwrite"):
        save_npy(src, np.ones(3), protect=(src,))
    np.testing.assert_array_equal(np.load(src), np.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]  # no temporary left behind


def test_bad_npy_is_one_line(tmp_path) -> None:
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="bad.npy: not a readable .npy array"):
        read_series(tmp_path / "bad.npy")
