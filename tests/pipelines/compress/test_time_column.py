"""An unevenly spaced time column is stored whole (format version 5) and comes back exactly; an even one keeps the
header-only entry and the older format version."""
from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest

from tsae.io.series import read_series
from tsae.pipelines.compress.container import NO_MODEL_VERSION, TIME_VERSION, Reader, time_coding, time_decoding
from tsae.pipelines.compress.files import compress_file, decompress_file
from tsae.pipelines.compress.time_column import as_ticks


def _table(path, stamps) -> None:
    rows = ["time,a"] + [f"{t},{np.sin(i / 5):.4f}" for i, t in enumerate(stamps)]
    path.write_text("\n".join(rows) + "\n")


def _version(path) -> int:
    return struct.unpack("<H", path.read_bytes()[8:10])[0]


def _round_trip(tmp_path, stamps):
    _table(tmp_path / "s.csv", stamps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an uneven column was "not evenly spaced, so the container does not store it"
        compress_file(None, tmp_path / "s.csv", tmp_path / "s.tsz", max_error=1e-3)
    decompress_file(tmp_path / "s.tsz", tmp_path / "back.csv")
    given, back = read_series(tmp_path / "s.csv")[2], read_series(tmp_path / "back.csv")[2]
    return given["time"], back["time"], back.get("time_name")


@pytest.mark.parametrize("stamps", [
    [f"2014-02-14 14:{m:02d}:{s:02d}" for m, s in [(0, 0), (5, 0), (10, 0), (20, 0), (25, 3), (30, 0)] * 1],
    ["2020-01-01T00:00:00.123456789Z", "2020-01-01T00:00:01Z", "2019-12-31T23:59:59.5Z", "2020-01-03T00:00:00Z"],
    ["0", "0.25", "1.5", "1.5", "7.125", "1e6"],              # decimals: ticks of 1/1000
    [repr(float(v)) for v in np.cumsum(np.random.default_rng(0).random(50))],  # 17 significant digits: float bits
])
def test_an_uneven_time_column_comes_back_exactly(tmp_path, stamps) -> None:
    given, back, name = _round_trip(tmp_path, stamps)
    assert _version(tmp_path / "s.tsz") == TIME_VERSION and name == "time"
    assert given.dtype == back.dtype
    np.testing.assert_array_equal(back.view(np.int64), given.view(np.int64))  # bit for bit (dates: nanoseconds)


def test_an_even_time_column_keeps_the_older_format(tmp_path) -> None:
    given, back, _ = _round_trip(tmp_path, [f"{i / 10}" for i in range(40)])
    assert _version(tmp_path / "s.tsz") == NO_MODEL_VERSION
    np.testing.assert_array_equal(back, given)


def test_dates_a_second_apart_cost_a_few_bits_each(tmp_path) -> None:
    base = np.datetime64("2014-02-14T14:30:00", "s")
    steps = np.random.default_rng(1).choice([300, 300, 300, 300, 600], size=2000)
    _table(tmp_path / "s.csv", [str(base + np.timedelta64(int(t), "s")) for t in np.cumsum(steps)])
    compress_file(None, tmp_path / "s.csv", tmp_path / "s.tsz", max_error=1e-3)
    with open(tmp_path / "s.tsz", "rb") as handle:
        part = Reader(handle, "s.tsz").time_part
    assert part is not None and 8 * len(part) / 2000 < 2.5  # nanoseconds coded raw would take ~30 bits each


@pytest.mark.parametrize("order", [1, 2])
def test_time_coding_inverts_on_any_int64(order) -> None:
    rng = np.random.default_rng(order)
    edges = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, -1, 1], dtype=np.int64)
    for ticks in (rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 100, dtype=np.int64), edges,
                  np.arange(0, 10**12, 10**9, dtype=np.int64), np.array([5], dtype=np.int64)):
        np.testing.assert_array_equal(time_decoding(time_coding(ticks, order), len(ticks)), ticks)


def test_number_ticks_are_exact_or_bits() -> None:
    entry, ticks = as_ticks(np.array([0.1, 0.25, 0.0, 3.0]))
    assert entry["decimals"] == 2 and ticks.tolist() == [10, 25, 0, 300]
    entry, ticks = as_ticks(np.array([0.0, -0.0]))  # -0.0 is not 0 / 1
    assert entry["decimals"] is None
    np.testing.assert_array_equal(ticks.view(np.float64), [0.0, -0.0])


def test_a_time_part_of_another_length_is_one_error(tmp_path) -> None:
    _table(tmp_path / "s.csv", ["0", "1", "3", "4.5"])
    compress_file(None, tmp_path / "s.csv", tmp_path / "s.tsz", max_error=1e-3)
    with open(tmp_path / "s.tsz", "rb") as handle:
        reader = Reader(handle, "s.tsz")
        assert reader.time_ticks(4).tolist() == [0, 10, 30, 45]
        with pytest.raises(ValueError, match=r"^s\.tsz: corrupt \.tsz (block|time part)"):
            reader.time_ticks(5)
