"""A wide table is read into its array without holding it twice: a chunk's values are views of one array
(``PlainBlock.views``), assembled chunk by chunk (``tables._assembled``), each chunk's pages handed back as its rows
are copied (``heap.drop_pages``); what a table keeps (its time, its values) owns its memory."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from test_wide_tables import wide, write_wide

import tsae.io.tables as tables
from tsae.io import heap
from tsae.io.table_plain import PlainBlock


def test_a_wide_table_read_as_views_equals_its_cells_and_holds_no_chunk(tmp_path, monkeypatch) -> None:
    wide(monkeypatch)
    monkeypatch.setattr(tables, "READ_CELLS", 90 * 120)  # chunks of 90 rows: the sample's, then 3 more
    monkeypatch.setattr(tables, "_KIND_ROWS", 90)
    path = tmp_path / "wide.csv"
    want = write_wide(path, 300, 120, seed=3)
    table = tables.read_table(path)
    assert np.array_equal(table.values, want, equal_nan=True)
    assert np.array_equal(table.time, np.arange(300.0))
    assert table.values.base is None and table.time.base is None  # not views holding a chunk's every column


def test_a_table_of_one_chunk_keeps_its_time_column_as_its_own(tmp_path, monkeypatch) -> None:
    wide(monkeypatch)
    monkeypatch.setattr(tables, "READ_CELLS", 1 << 20)
    path = tmp_path / "wide.csv"
    want = write_wide(path, 12, 500, seed=4, missing=False)
    table = tables.read_table(path)
    assert np.array_equal(table.values, want)
    assert table.time.base is None and table.time.shape == (12,)


def test_chunks_are_assembled_from_views_and_from_arrays_alike() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    channels = [1, 2, 3, 5]
    lists: list[list[np.ndarray] | None] = [[first[j], second[j].copy()] for j in channels]
    chunks = [list(c) for c in lists if c is not None]
    got = tables._assembled(lists, channels, 7)
    assert np.array_equal(got, np.concatenate([np.stack([c[0] for c in chunks]), np.stack([c[1] for c in chunks])],
                                              axis=1))
    assert all(c == [] for c in lists if c is not None)  # let go


@pytest.mark.parametrize("j", [0, 1, 40, 79])
def test_a_column_cut_out_alone_is_the_column_of_its_cells(j) -> None:
    rng = np.random.default_rng(j)
    rows = [[f" {x:.3f}" if (i + k) % 7 == 0 else f"{x:.3f}" for k, x in enumerate(rng.standard_normal(80))]
            for i in range(5)]
    rows[2][j] = ""
    text = "".join(",".join(row) + "\n" for row in rows)
    block = PlainBlock(bytearray(text.encode("ascii")), ",", 80, 5,
                       lambda t: [list(c) for c in zip(*(line.split(",") for line in t.splitlines()), strict=True)],
                       as_is=True)
    assert block.cells(j) == [row[j] for row in rows]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise(MADV_DONTNEED) zero-fills on Linux")
def test_dropped_pages_read_as_zeros_and_the_rest_is_kept() -> None:
    values = np.ones((64, 1024))  # rows of 8 KiB: two pages each, the array perhaps not aligned to a page
    heap.drop_pages(values, 8 * 1024 * 8, 40 * 1024 * 8)
    rows = values.sum(axis=1)
    # only whole pages within the bytes: rows 8 and 39 perhaps in part
    assert (rows[9:39] == 0).all() and (rows[:8] == 1024).all() and (rows[40:] == 1024).all()
    heap.drop_pages(values[1:], 0, 1 << 16)  # a view: nothing
    assert (values[40:] == 1).all()
    heap.give_back()
