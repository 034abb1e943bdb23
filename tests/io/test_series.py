"""tsae.io.series: one reader and one writer for every series format, one atomic .npy save."""
from __future__ import annotations

import os

import numpy as np
import pytest

from tsae.io.series import read_series, read_signal, save_npy, write_series


def test_table_round_trip_keeps_time_and_label(tmp_path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("time,a,b,label\n0,1,2,0\n1,3,,1\n2,5,6,0\n")
    values, rate, meta = read_series(src)
    assert values.shape == (2, 3) and np.isnan(values[1, 1]) and rate == pytest.approx(1.0)
    out = write_series(tmp_path / "out.csv", values * 2, rate, meta, protect=(src,))
    # whole-number times and labels are written as they were read (they were "0.0", "1.0")
    assert out.read_text() == "time,a,b,label\n0,2.0,4.0,0\n1,6.0,,1\n2,10.0,12.0,0\n"


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
    # an array has no full scale: written as 64-bit floats, read back as such
    assert signal.shape == (5,) and signal.dtype == np.float64 and rate == 8000


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


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """A version-1.0 ``.npy`` header declaring ``shape`` (padded to 64 bytes like numpy's)."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (-(len(text) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()


@pytest.mark.parametrize("shape,data,match", [
    ((10**12,), b"\0" * 64, "declares a float64 array of shape (1000000000000,) (8,000,000,000,000 bytes) "
                            "but the file holds 64 bytes of data"),
    ((2, 1000), b"\0" * 800, "(16,000 bytes) but the file holds 800 bytes"),
    ((10**6, 10**6, 10**6), b"", "but the file holds 0 bytes"),
    ((1000,), b"\0" * 16000, "(8,000 bytes) but the file holds 16,000 bytes"),  # was read as its first half
])
def test_npy_header_is_checked_against_the_file_size(tmp_path, shape, data, match) -> None:
    path = tmp_path / "crafted.npy"
    path.write_bytes(_npy_header(shape) + data)
    for read in (read_series, read_signal):
        with pytest.raises(ValueError) as info:
            read(path)
        assert str(info.value).startswith(f"{path}: its header ") and match in str(info.value)


def test_npy_of_python_objects_is_refused_unread(tmp_path) -> None:
    path = tmp_path / "objects.npy"
    path.write_bytes(_npy_header((2,), "|O") + b"\x80\x04N.")
    with pytest.raises(ValueError, match="objects.npy: holds Python objects"):
        read_series(path)


def test_a_memory_error_names_the_file(tmp_path, monkeypatch) -> None:
    from tsae.errors import FileMemoryError

    save_npy(tmp_path / "x.npy", np.zeros(4))
    (tmp_path / "x.csv").write_text("a\n1\n2\n")

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 7.28 TiB for an array")

    monkeypatch.setattr(np, "load", no_memory)
    monkeypatch.setattr("tsae.io.tables.read_table", no_memory)
    for name in ("x.npy", "x.csv"):
        with pytest.raises(FileMemoryError) as info:
            read_series(tmp_path / name)
        expected = f"{tmp_path / name}: not enough memory to read it (Unable to allocate 7.28 TiB for an array)"
        assert str(info.value) == expected


def test_a_table_written_as_audio_keeps_its_values_or_says_what_was_clipped(tmp_path) -> None:
    # a CSV smoothed to .wav came back as PCM_16, every value beyond 1 clipped without a word
    import soundfile as sf

    values = np.array([[0.5, 2.0, -3.0, 0.25]])
    write_series(tmp_path / "t.wav", values, 8000.0, {"kind": "table"})
    assert sf.info(tmp_path / "t.wav").subtype == "DOUBLE"
    np.testing.assert_array_equal(sf.read(tmp_path / "t.wav")[0], values[0])
    with pytest.warns(UserWarning, match=r"t\.flac: 2 sample\(s\) beyond full scale \(1\) clipped by PCM_24"):
        write_series(tmp_path / "t.flac", values, 8000.0, {"kind": "table"})


@pytest.mark.parametrize(("shape", "dtype"), [((1, 40), np.float32), ((40,), np.float32), ((2, 40), np.float16),
                                              ((1, 40), np.int32)])
def test_a_npy_series_is_written_back_in_its_layout_and_float_type(tmp_path, shape, dtype) -> None:
    # (1, n) came back (n,) and float32 came back float64, from every command that writes a series
    from tsae.io.blocks import SeriesShape, open_source, open_writer

    np.save(tmp_path / "in.npy", np.arange(np.prod(shape)).reshape(shape).astype(dtype))
    values, rate, meta = read_series(tmp_path / "in.npy")
    write_series(tmp_path / "whole.npy", values / 2, rate, meta)
    source = open_source(tmp_path / "in.npy", 16)
    with open_writer(tmp_path / "blocks.npy", SeriesShape(source.channels, source.n, None, source.meta), ()) as write:
        for start in range(0, source.n, 16):
            write(source.read(start, start + 16) / 2)
    expected = np.float32 if dtype == np.float32 else np.float64  # float16 and integers: float64
    for name in ("whole.npy", "blocks.npy"):
        back = np.load(tmp_path / name)
        assert back.shape == shape and back.dtype == expected, name
        np.testing.assert_allclose(back.reshape(-1), (values / 2).reshape(-1))


@pytest.mark.parametrize("time,text", [
    ([0.0, 1.0, 2.0], ["0", "1", "2"]),
    ([1.7e9, 1.7e9 + 60, np.nan], ["1700000000", "1700000060", ""]),  # epoch seconds, a missing time
    ([0.0, 0.5, 1.0], ["0.0", "0.5", "1.0"]),  # not whole: as before
])
def test_a_whole_number_time_column_is_written_without_a_decimal_point(tmp_path, time, text) -> None:
    # a table read with times 0, 1, 2 was written back with 0.0, 1.0, 2.0 by every command
    from tsae.io.tables import write_table

    out = write_table(tmp_path / "t.csv", {"a": np.array([1.0, 2.0, 3.0])}, time=np.array(time))
    assert [line.split(",")[0] for line in out.read_text().splitlines()[1:]] == text


def test_int64_array_beyond_2_53_is_warned_about_whole_and_in_blocks(tmp_path) -> None:
    """A .npy of 64-bit counters beyond 2**53 was rounded without a word (the table reader warns of such cells)."""
    import warnings

    from tsae.io.blocks import open_source
    from tsae.io.series import ArrayWarning, read_series

    x = np.arange(40, dtype=np.int64).reshape(2, 20) + 2**53
    np.save(tmp_path / "c.npy", x)
    want = r"c\.npy: 20 whole number\(s\) beyond 2\*\*53 .*sample 1 of channel 0: 9007199254740993"
    with pytest.warns(ArrayWarning, match=want):
        read_series(tmp_path / "c.npy")
    with pytest.warns(ArrayWarning, match="20 whole number"):
        open_source(tmp_path / "c.npy")
    np.save(tmp_path / "even.npy", np.arange(0, 40, 2, dtype=np.int64) + 2**53)  # every one a float64
    np.save(tmp_path / "small.npy", np.arange(20, dtype=np.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_series(tmp_path / "even.npy")
        read_series(tmp_path / "small.npy")


def test_a_npy_file_that_does_not_fit_names_its_output(tmp_path) -> None:
    # before: "1000000 requested and 12484 written" (numpy's short write, naming no file), from
    # `tsae reconstruct m.tsae x.csv -o x.npy` on a full disk; a file size limit cuts the write short as a full
    # disk does
    import subprocess
    import sys

    out = tmp_path / "x.npy"
    code = ("import resource, signal, numpy as np\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (100000, resource.RLIM_INFINITY))\n"
            "from tsae.io.series import save_npy\n"
            "try:\n"
            f"    save_npy({str(out)!r}, np.zeros(10**6))\n"
            "except OSError as error:\n"
            "    print(error)\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert shown.stdout.strip() == f"{out}: cannot write it (File too large)", shown.stdout + shown.stderr
    assert list(tmp_path.iterdir()) == []
