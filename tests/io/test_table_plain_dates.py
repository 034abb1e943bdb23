"""A column of plain ISO dates made numpy's at once (table_time._plain_iso) gives the clean dates the cell-by-cell
rule gives; any other column is left to that rule."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsae.io import table_time
from tsae.io.table_cells import _is_missing


def one_by_one(cells: Sequence[str]) -> list[str]:
    """The clean dates of the cells, cell by cell (the rule before)."""
    return [table_time._iso_date(c.strip()).replace(" ", "T", 1).rstrip("Z") if not _is_missing(c) else "NaT"
            for c in cells]


PLAIN = ["2024-02-01 10:00:00", "2024-02-01T10:00:01", "1999-12-31 23:59:59", "2024-02-29 00:00:00"]
ODD = ["2024-02-01 10:00:0Z", "2024-02-01 10:00:00Z"[:19], " 2024-02-01 10:00:0", "2024-02-01 10:00:0 ",
       "2024-02-01  10:00:0", "2024-02-01 10 00:00", "01.02.2024 10:00:00", "1-Feb-2024 10:00:0", "NA                 ",
       "2024-02-01\t10:00:00", "2024-02-01 10:00:00"[:18] + "\u0661", "2024-02-01 10:00:00+01:00"[:19], "missing" * 3,
       "2024-02-01 10:00:00\n", "9.9.2024 10:00:0000", "20240201 10:00:0012", "2024-02-01 10:00:00.5"]


def test_plain_dates_are_cleaned_at_once_as_one_by_one() -> None:
    cells = [c for c in PLAIN for _ in range(3)]
    assert table_time._plain_iso(cells) is not None
    assert table_time._clean_dates(cells) == one_by_one(cells)
    for width in (3, 4, 10, 13, 16, 23):
        short = [(c + ".250")[:width] for c in PLAIN]
        assert table_time._plain_iso(short) is not None, short
        assert table_time._clean_dates(short) == one_by_one(short)


def test_other_columns_are_cleaned_cell_by_cell() -> None:
    rng = np.random.default_rng(3)
    made = 0
    for _ in range(3000):
        cells = [str(c) for c in rng.choice(PLAIN + ODD, size=int(rng.integers(1, 5)))]
        if rng.random() < 0.3:
            cells = [c[: int(rng.integers(0, 22))] for c in cells]
        made += table_time._plain_iso(cells) is not None
        assert table_time._clean_dates(cells) == one_by_one(cells), cells
    assert table_time._plain_iso(["", ""]) is None and table_time._plain_iso([]) is None
    assert made > 100  # some were plain, and were checked
