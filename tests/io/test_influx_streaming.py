"""The InfluxDB export pivot in bounded memory (tsae/io/influx.py): values spilled to a temporary file, each series
copied there in time order, the wide rows merged a block at a time. The wide table is the one a plain pivot in
memory makes, whatever the chunk and block sizes: series that come back in later tables and results, rows of one
_time spread over the file, a table out of time order, a value repeated."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tsae.io.influx as influx
from tsae.io.influx import influx_lines

from memory_helpers import traced_peak

HEAD = ("#group,false,false,true,true,false,false,true,true,true\r\n"
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string\r\n"
        "#default,_result,,,,,,,,\r\n,result,table,_start,_stop,_time,_value,_field,_measurement,host\r\n")


def _row(table: int, ns: int, value: float, field: str, host: str) -> str:
    stamp = np.datetime_as_string(np.datetime64(int(ns), "ns"), unit="ns")
    return f",,{table},2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,{stamp}Z,{value!r},{field},air,{host}\r\n"


def _export(rng: np.random.Generator) -> tuple[str, dict[str, dict[int, float]]]:
    """An export of series split over several tables and two results, one table shuffled, some values repeated; and
    each series' values by time (what the pivot must give)."""
    truth: dict[str, dict[int, float]] = {}
    blocks = []
    for _ in range(2):  # two results, each with the annotations again
        rows = []
        for table, (field, host) in enumerate([("t", "a"), ("t", "b"), ("rh", "a")] * 2):
            step = int(rng.choice([10**9, 10**6, 250 * 10**6]))
            start = int(rng.integers(0, 50)) * 10**9
            times = start + step * np.sort(rng.choice(400, size=int(rng.integers(1, 120)), replace=False))
            if table == 4:
                times = rng.permutation(times)  # a table out of time order: that series is sorted in memory
            name = field if field == "rh" else f"{field} host={host}"
            for ns in times.tolist():
                value = truth.setdefault(name, {}).setdefault(ns, float(rng.integers(0, 1000)) / 8)
                rows.append(_row(table, ns, value, field, host))
                if rng.random() < 0.05:  # the same value again: read once
                    rows.append(_row(table, ns, value, field, host))
        blocks.append(HEAD + "".join(rows))
    return "\r\n".join(blocks), truth


def _pivot(text: str) -> list[str]:
    return list(influx_lines("x.csv", text.splitlines(keepends=True)))


@pytest.mark.parametrize("seed", range(4))
def test_the_merged_pivot_is_the_plain_pivot_whatever_the_block_sizes(monkeypatch, seed) -> None:
    text, truth = _export(np.random.default_rng(seed))
    whole = _pivot(text)
    header = whole[0].rstrip("\n").split(",")[1:]
    assert sorted(header) == sorted(truth)
    times = sorted({ns for values in truth.values() for ns in values})
    assert len(whole) == 1 + len(times)
    for line, ns in zip(whole[1:], times, strict=True):
        stamp, *cells = line.rstrip("\n").split(",")
        assert np.datetime64(stamp.rstrip("Z"), "ns").astype(np.int64) == ns
        assert cells == [repr(truth[name][ns]) if ns in truth[name] else "" for name in header]
    monkeypatch.setattr(influx, "_ROWS", 5)
    monkeypatch.setattr(influx, "_WIDE_ROWS", 3)
    monkeypatch.setattr(influx, "_MERGE_VALUES", 7)  # a window of 64 values a series at the least
    assert _pivot(text) == whole


def test_two_values_at_one_time_across_chunks_are_an_error(monkeypatch) -> None:
    text = HEAD + "".join(_row(0, s * 10**9, 1.0, "t", "a") for s in range(6)) + _row(0, 5 * 10**9, 2.0, "t", "a")
    monkeypatch.setattr(influx, "_ROWS", 3)  # the clash lies across two chunks
    with pytest.raises(ValueError, match=r"series 't' has two values at 1970-01-01T00:00:05Z \(1.0 and 2.0\)"):
        _pivot(text)


def _peak(path: Path, n: int) -> int:
    with open(path, "w", newline="") as handle:
        handle.write(HEAD)
        for table, host in enumerate("ab"):
            handle.writelines(_row(table, s * 10**9, float(s % 7), "t", host) for s in range(n // 2))

    def pivot() -> int:
        with open(path, newline="") as handle:
            return sum(1 for _ in influx_lines(path, handle))

    rows, peak = traced_peak(pivot)
    assert rows == 1 + n // 2
    return peak


@pytest.mark.slow
def test_a_long_export_is_pivoted_in_bounded_memory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(influx, "_ROWS", 256)
    monkeypatch.setattr(influx, "_WIDE_ROWS", 256)
    monkeypatch.setattr(influx, "_MERGE_VALUES", 512, raising=False)
    _peak(tmp_path / "warm.csv", 1_000)  # what a first pivot allocates once (numpy's and the csv module's)
    short, long = _peak(tmp_path / "short.csv", 5_000), _peak(tmp_path / "long.csv", 20_000)
    # the values held as arrays (16 bytes each, joined and sorted before the first row) grew with the export
    assert long < short + 16 * 15_000 / 4, (short, long)


def test_a_long_export_read_in_blocks_is_pivoted_once_whatever_the_passes(tmp_path: Path, monkeypatch) -> None:
    # before: each pass over the file (the first, which decides the columns; each one after it that reads the values)
    # pivoted the whole export again: most of the time of a pass
    import tsae.io.tables as tables
    from tsae.io.table_blocks import open_table_blocks

    text, _ = _export(np.random.default_rng(7))
    path = tmp_path / "x.csv"
    path.write_text(text, newline="")
    pivots = []

    def counted(*args, **kwargs):
        pivots.append(args[0])
        return influx_lines(*args, **kwargs)

    monkeypatch.setattr(tables, "influx_lines", counted)
    source = open_table_blocks(path)
    passes = [np.concatenate(list(blocks._blocks()), axis=1) for blocks in (source, source.reopen(), source.reopen())]
    assert len(pivots) == 1
    whole = tables.read_table(path)
    for values in passes:
        np.testing.assert_array_equal(values, whole.values)
    assert source.columns == whole.columns and (source.time == whole.time).all()
