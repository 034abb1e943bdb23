"""``read_table(..., dialect=)``: a table read with a dialect known already (a fleet's device files share the
fleet's) reads as the dialect told from its text does; the reader does not tell it again."""
from __future__ import annotations

import numpy as np
import pytest

import tsae.io.tables as tables
from tsae.io.table_blocks import open_table_blocks
from tsae.io.table_dialect import TableDialect, delimited, table_dialect
from tsae.io.tables import read_table

_ROWS = 250


def _values(k: int) -> list[float]:
    return [round(float(np.sin(k / 7 + j)), 4) for j in range(3)]


TABLES = {
    "semicolons_decimal_commas.csv": "time;flow;pressure;temperature\n" + "".join(
        f"{k};" + ";".join(f"{v}".replace(".", ",") for v in _values(k)) + "\n" for k in range(_ROWS)),
    "sep_line_dotted_dates.csv": "sep=;\ntime;flow;pressure;temperature\n" + "".join(
        f"{1 + k // 60:02d}.02.2024 10:{k % 60:02d}:00;" + ";".join(f"{v}".replace(".", ",") for v in _values(k))
        + "\n" for k in range(_ROWS)),
    "iso_dates.csv": "time,flow,pressure,temperature\n" + "".join(
        f"2024-02-{1 + k // 60:02d}T10:{k % 60:02d}:00Z," + ",".join(map(str, _values(k))) + "\n"
        for k in range(_ROWS)),
    "tabs.tsv": "time\tflow\tpressure\ttemperature\n" + "".join(
        f"{k}\t" + "\t".join(map(str, _values(k))) + "\n" for k in range(_ROWS)),
    "quoted_with_text.csv": '"time","flow","pressure","temperature","status"\n' + "".join(
        f'"{k}",' + ",".join(f'"{v}"' for v in _values(k)) + f',"{"ok, fine" if k % 3 else "warn"}"\n'
        for k in range(_ROWS)),
}


def _same(a: tables.Table, b: tables.Table) -> None:
    np.testing.assert_array_equal(a.values, b.values)
    assert (a.columns, a.time_name, a.time_utc, a.text_columns) == (b.columns, b.time_name, b.time_utc, b.text_columns)
    assert (a.time is None) == (b.time is None)
    if a.time is not None:
        np.testing.assert_array_equal(a.time, b.time)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_known_dialect_reads_as_the_one_told_from_the_text(tmp_path, monkeypatch, name) -> None:
    path = tmp_path / name
    path.write_text(TABLES[name])
    sample = TABLES[name][:8192]
    told = table_dialect(sample, path.suffix)
    expected = read_table(path, text_columns=True)
    calls: list[str] = []
    monkeypatch.setattr(tables, "table_dialect", lambda *args: calls.append("told") or told)
    _same(read_table(path, text_columns=True, dialect=told), expected)
    skip = 1 if name.startswith("sep_line") else 0
    _same(read_table(path, text_columns=True, dialect=delimited(told.dialect.delimiter, skip)), expected)
    assert calls == []  # taken as it is: not told from the text again
    blocks = open_table_blocks(path, text_columns=True, dialect=told)  # a long table's reader takes it too
    np.testing.assert_array_equal(blocks.whole()[0], expected.values)
    assert calls == []


def test_the_dialect_told_from_the_text_is_a_table_dialect() -> None:
    told = table_dialect("sep=;\na;b\n1,5;2\n", ".csv")
    assert isinstance(told, TableDialect) and told.skip == 1 and told.dialect.delimiter == ";"
    with pytest.raises(ValueError, match="not one of"):
        delimited(":")


def test_a_known_delimiter_reads_a_column_of_decimal_commas_the_sniffer_misses(tmp_path) -> None:
    # one column, whole numbers in its first 50 rows: told from the text it is comma-separated, and a later
    # decimal comma is one number (a column has no delimiter); a fleet's device file (host;flow split) knows its
    # delimiter, and reads the same
    path = tmp_path / "flow.csv"
    path.write_text("flow\n" + "".join(f"{k}\n" for k in range(60)) + "".join(f"{k},5\n" for k in range(60, 90)))
    for dialect in (None, delimited(";")):
        table = read_table(path, dialect=dialect)
        assert table.columns == ["flow"] and table.values[0, -1] == 89.5 and table.values[0, 0] == 0
