"""A header written as a comment (``numpy.savetxt(..., header=...)``: ``# time,flow``) right above the first row
of numbers names the columns, as numpy.genfromtxt(names=True) reads it; any other comment stays a comment."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsae.io import tables
from tsae.io.blocks import iter_blocks
from tsae.io.table_blocks import open_table_blocks
from tsae.io.tables import read_table


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_numpy_savetxt_header_names_the_columns(tmp_path: Path) -> None:
    data = np.column_stack([np.arange(5.0), np.linspace(1, 2, 5), np.linspace(3, 4, 5)])
    path = tmp_path / "saved.csv"
    np.savetxt(path, data, delimiter=",", header="time,flow,pressure")
    assert path.read_text().startswith("# time,flow,pressure\n")
    table = read_table(path)
    assert table.columns == ["flow", "pressure"]
    assert table.time_name == "time"
    np.testing.assert_array_equal(table.time, data[:, 0])
    np.testing.assert_array_equal(table.values, data[:, 1:].T)


@pytest.mark.parametrize("text", [
    "#time\tflow\n0\t1.5\n1\t2.5\n2\t3.5\n",     # tabs, no space after the mark
    "## time;flow\n0;1,5\n1;2,5\n2;3,5\n",       # two marks, semicolons and decimal commas
    "# logger 7\n# time,flow\n0,1.5\n1,2.5\n2,3.5\n",  # notes above it: the last comment line names
])
def test_commented_header_in_other_shapes(tmp_path: Path, text: str) -> None:
    table = read_table(_write(tmp_path / "t.csv", text))
    assert (table.time_name, table.columns) == ("time", ["flow"])
    np.testing.assert_array_equal(table.values, [[1.5, 2.5, 3.5]])


@pytest.mark.parametrize("text", [
    "# a note\n0,1.5\n1,2.5\n",                   # one cell for two columns
    "# 5,6\n0,1.5\n1,2.5\n",                      # a commented-out row of numbers
    "# time,flow\n\n0,1.5\n1,2.5\n",              # a blank line between: not the header
    "# time,\n0,1.5\n1,2.5\n",                    # a name missing
])
def test_other_comments_stay_comments(tmp_path: Path, text: str) -> None:
    table = read_table(_write(tmp_path / "t.csv", text))
    assert table.time_name is None and table.columns == ["ch0", "ch1"]


def test_a_real_header_below_the_comment_wins(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path / "t.csv", "# exported 2024-01-01, v2\ntime,flow\n0,1.5\n1,2.5\n"))
    assert (table.time_name, table.columns) == ("time", ["flow"])


def test_block_reader_reads_it_as_the_whole_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = "\n".join(f"{i},{np.sin(i / 7):.6f},{i % 5}" for i in range(500))
    path = _write(tmp_path / "long.csv", "# time,flow,level\n" + rows + "\n")
    whole = read_table(path)
    monkeypatch.setattr(tables, "READ_ROWS", 64)
    source = open_table_blocks(path)
    assert (source.time_name, source.columns) == ("time", whole.columns) == ("time", ["flow", "level"])
    np.testing.assert_array_equal(np.concatenate(list(iter_blocks(source, 100)), axis=1), whole.values)
