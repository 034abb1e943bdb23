"""Wide tables (thousands of columns, a few hundred rows: spectra, gene panels, many sensors in one file) are read
as narrow ones are: the same values, errors and warnings, through the compiled loop rather than a cell at a time."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_table_reader_agreement import _blocks, _outcome, _same, _whole, fuzzed_table

import tsae.io.table_cells as table_cells
import tsae.io.tables as tables


def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every table read as a wide one: chunks of its sample's rows, read by the compiled loop from its text."""
    monkeypatch.setattr(tables, "READ_CELLS", 1)
    monkeypatch.setattr(tables, "COMPILED_FROM_CELLS", 1)
    monkeypatch.setattr(table_cells, "COMPILED_FROM_CELLS", 1)


def write_wide(path, rows: int, columns: int, seed: int = 0, missing: bool = True) -> np.ndarray:
    """A CSV with a header (``time``, ``s1`` ...), the row number as time, 4-place decimals, some cells missing
    (empty or ``NA``); its channels as float64 ``(columns - 1, rows)``, NaN where missing."""
    rng = np.random.default_rng(seed)
    values = np.round(rng.standard_normal((rows, columns - 1)) * 100, 4)
    cells = [[f"{x:.4f}" for x in row] for row in values.tolist()]
    if missing:
        for i, j in zip(rng.integers(0, rows, 40), rng.integers(0, columns - 1, 40), strict=True):
            cells[i][j] = str(rng.choice(["", "NA"]))
            values[i, j] = np.nan
    lines = [",".join(["time", *(f"s{j}" for j in range(1, columns))])]
    lines += [",".join([str(i), *row]) for i, row in enumerate(cells)]
    path.write_text("\n".join(lines) + "\n")
    return values.T


def test_a_wide_table_reads_as_pandas_does(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tables, "COMPILED_FROM_CELLS", 1 << 14)
    monkeypatch.setattr(table_cells, "COMPILED_FROM_CELLS", 1 << 14)
    path = tmp_path / "wide.csv"
    want = write_wide(path, 300, 2000)
    table = tables.read_table(path)
    assert table.time_name == "time" and np.array_equal(table.time, np.arange(300.0))
    assert table.columns == [f"s{j}" for j in range(1, 2000)]
    assert np.array_equal(table.values, want, equal_nan=True)
    frame = pd.read_csv(path)
    assert np.array_equal(table.values, frame.to_numpy()[:, 1:].T, equal_nan=True)


def test_a_headerless_wide_table_reads_as_numpy_loadtxt_does(tmp_path, monkeypatch) -> None:
    wide(monkeypatch)
    rng = np.random.default_rng(1)
    path = tmp_path / "spectra.csv"
    np.savetxt(path, rng.standard_normal((40, 3000)) * 1e3, delimiter=",", fmt="%.6g")
    table = tables.read_table(path)
    assert table.time is None
    assert np.array_equal(table.values, np.loadtxt(path, delimiter=",").T)


@pytest.mark.slow
@pytest.mark.parametrize("row", [3, 12])
def test_a_bad_cell_in_column_70000_is_named_by_line_and_column(tmp_path, monkeypatch, row) -> None:
    # 15 rows of 70,001 columns: the compiled loop reads them (a million cells); row 12 comes after a sample of 10
    monkeypatch.setattr(tables, "_KIND_ROWS", 10)
    path = tmp_path / "wide.csv"
    lines = [",".join(["time", *(f"s{j}" for j in range(1, 70_001))])]
    lines += [f"{i}," + ",".join(["1.25", "-0.5"] * 35_000) for i in range(15)]
    cells = lines[row].split(",")
    cells[70_000] = "x12"
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"line {row + 1}, column 's70000': not a number \('x12'\)"):
        tables.read_table(path)


def test_fuzzed_tables_read_as_wide_ones_read_alike(tmp_path, monkeypatch) -> None:
    # every fuzzed table (quotes, comments, decimal commas, dates, text columns, ragged rows) read as a wide one, whole
    # and in blocks, as it is read otherwise
    monkeypatch.setattr(tables, "_KIND_ROWS", 20)
    for seed in range(0, 300, 2):
        data, suffix = fuzzed_table(seed)
        path = tmp_path / f"t{seed}{suffix}"
        path.write_bytes(data)
        options = [{}, {"text_columns": True}, {"exact": True}][seed % 3]
        want = _outcome(lambda path=path, options=options: _whole(path, **options))
        with monkeypatch.context() as patch:
            wide(patch)
            got = _outcome(lambda path=path, options=options: _whole(path, **options))
            blocks = _outcome(lambda path=path, options=options: _blocks(path, 7, **options))
        for name, result in (("whole", got), ("blocks", blocks)):
            assert result[0][0] != "crash", result[0][2]
            assert _same(result[0], want[0]) and result[1] == want[1], \
                f"seed {seed} {name} {data[:300]!r}: {str(result)[:400]} != {str(want)[:400]}"


@pytest.mark.parametrize("compiled", [False, True])
def test_a_wide_line_is_plain_when_its_cells_are_short(compiled) -> None:
    # a line of 100,000 cells is longer than csv's limit of a cell: it is read at once all the same, while a line
    # with one cell over that limit is left to csv.reader (which tells it)
    import csv

    limit = csv.field_size_limit()
    line = ",".join(["1.5"] * (limit // 2)) + "\n"
    assert len(line) > limit
    assert tables._plain_lines(line * 3, ",", limit // 2, compiled)
    long_cell = "1" * limit + ",2\n"
    assert not tables._plain_lines(long_cell, ",", 2, compiled)
    assert tables._plain_lines("1" * (limit - 1) + ",2\n", ",", 2, compiled)


def test_freed_heap_handed_back_after_a_large_table_only(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: malloc_trim after every table read, a millisecond each, for a fleet's thousands of small device files
    calls: list[int] = []
    monkeypatch.setattr(tables, "give_back", lambda: calls.append(1))
    path = tmp_path / "t.csv"
    expected = write_wide(path, 50, 20, missing=False)
    np.testing.assert_array_equal(tables.read_table(path).values, expected)
    assert calls == []
    monkeypatch.setattr(tables, "GIVE_BACK_CELLS", 50 * 20)  # a table of that many cells is a large one
    np.testing.assert_array_equal(tables.read_table(path).values, expected)
    assert calls == [1]
