"""Date columns of dotted dates (``06.12.2026 13:00:00``) or times with a UTC offset (``...T13:00:00+01:00``) are
cleaned and read a chunk at a time, as plain ISO ones are, not a cell at a time: the same times, byte for byte."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tsae.io.table_cells import _is_missing
from tsae.io.table_time import _clean_dates, _iso_date, _parse_dates, _plain_iso, _split_offsets
from tsae.io.tables import read_table


def _cell_by_cell(cells: list[str]) -> list[str]:
    return [_iso_date(c.strip()).replace(" ", "T", 1).rstrip("Z") if not _is_missing(c) else "NaT" for c in cells]


def _numpy_alone(cleaned: list[str]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array(cleaned, dtype="datetime64[ns]")


@pytest.mark.parametrize("cells", [
    ["06.12.2026 13:00:00", "07.12.2026 13:00:01"],
    ["06.12.2026T13:00:00.5", "31.01.1999T00:00:00.0"],
    ["06.12.2026", "01.02.2024"],
    ["2026-12-06 13:00:00+01:00", "2026-12-06 13:00:01-05:30"],
    ["2026-12-06T13:00:00.25+0100", "2026-12-06T13:00:00.50+0100"],
    ["2026-12-06T13:00:00Z", "2026-12-06T13:00:01Z"],
])
def test_a_chunk_is_cleaned_at_once_as_each_cell_alone(cells) -> None:
    fast = _plain_iso(cells)
    assert fast is not None  # dotted dates and offsets were cleaned a cell at a time
    assert fast == _cell_by_cell(cells) == _clean_dates(cells)


@pytest.mark.parametrize("cells", [
    ["1.12.2026 13:00:00", "01.12.2026 13:00:00"],  # widths differ
    ["06.12.26 13:00:00"], ["06.12.2026 13:00:00 "], ["2026-12-06T13:00:00ZZ"], ["06.12.2026  13:00"],
])
def test_other_cells_are_still_cleaned_alone(cells) -> None:
    assert _plain_iso(cells) is None and _clean_dates(cells) == _cell_by_cell(cells)


@pytest.mark.parametrize("cleaned", [
    ["2026-12-06T13:00:00+01:00", "2026-12-06T13:00:01-05:30"],
    ["2026-12-06T00:30:00.125+2359", "1970-01-01T00:00:00.000-0001"],
    ["2262-04-10T23:30:00-01:00"],  # the next UTC day lies past what nanoseconds hold: not a date, as numpy's
])
def test_times_with_offsets_are_the_utc_instants_numpy_makes_of_them(cleaned) -> None:
    assert _split_offsets(cleaned) is not None
    parsed = _parse_dates(cleaned)
    if cleaned[0].startswith("2262"):
        assert parsed is None
    else:
        assert parsed is not None and parsed.tolist() == _numpy_alone(cleaned).tolist()


@pytest.mark.parametrize("cleaned", [["2026-12-06T13:00:00+24:00"], ["2026-12-06T13:00:00-00:60"],
                                     ["2026-12-06T13-00:00+01:00"], ["2026-12-06T13:00:00.1 +01:00"]])
def test_offsets_numpy_refuses_or_odd_times_are_left_to_numpy(cleaned) -> None:
    assert _split_offsets(cleaned) is None


def test_a_long_table_of_dotted_or_offset_dates_reads_as_its_iso_twin(tmp_path) -> None:
    n = 70_000  # past the row from which plain cells are read by the compiled loop
    stamps = np.datetime_as_string(np.datetime64("2026-01-01T00:00:00") + np.arange(n).astype("timedelta64[s]"))
    values = [f"{i % 97}.5" for i in range(n)]
    forms = {"iso": [s.replace("T", " ") for s in stamps],
             "dots": [f"{s[8:10]}.{s[5:7]}.{s[:4]} {s[11:]}" for s in stamps],
             "offset": [f"{s}+00:00" for s in stamps]}
    tables = {}
    for name, times in forms.items():
        path = tmp_path / f"{name}.csv"
        path.write_text("time,a\n" + "".join(f"{t},{v}\n" for t, v in zip(times, values, strict=True)))
        tables[name] = read_table(path)
    for name in ("dots", "offset"):
        assert np.array_equal(tables[name].time, tables["iso"].time)
        assert np.array_equal(tables[name].values, tables["iso"].values)
    assert tables["offset"].time_utc and not tables["dots"].time_utc


def test_a_date_among_unix_times_is_told_as_such(tmp_path) -> None:
    # before: "'2024-03-01T00:30:00Z' lies outside the days 1677-09-22 to 2262-04-10 that times can hold" (it does not)
    path = tmp_path / "mixed.csv"
    path.write_text("time,a\n" + "".join(f"{1709251200 + 60 * i},{i}\n" for i in range(5)) + "2024-03-01T00:30:00Z,5\n")
    with pytest.raises(ValueError, match=r"\(line 7: '2024-03-01T00:30:00Z': a date among numbers\)$"):
        read_table(path)
    path.write_text("time,a\n2024-01-01,1\n3000-01-01,2\n")
    with pytest.raises(ValueError, match="'3000-01-01' lies outside the days 1677-09-22 to 2262-04-10"):
        read_table(path)
