"""Times written as clock readings: a Date column with a Time-of-day column beside it (read as one column of dates),
or a Time column of elapsed hh:mm:ss or MATLAB durations (read as seconds); the three readers agree."""
from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_table_reader_agreement import agreed
from tsae.io.clock_columns import ClockPlan, clock_plan
from tsae.io.tables import read_table


def _rows(n: int = 300) -> list[float]:
    return [round(float(np.sin(i / 5)), 4) for i in range(n)]


def test_a_date_column_and_a_time_column_are_one_time(tmp_path, monkeypatch) -> None:
    # before: "time column 'Time' is neither numbers nor dates (line 2: '10:00:00')"
    split, whole = tmp_path / "split.csv", tmp_path / "whole.csv"
    split.write_text("Date,Time,flow\n" + "".join(f"2024-01-01,10:{i // 60:02d}:{i % 60:02d},{v}\n"
                                                  for i, v in enumerate(_rows())))
    whole.write_text("Date Time,flow\n" + "".join(f"2024-01-01 10:{i // 60:02d}:{i % 60:02d},{v}\n"
                                                  for i, v in enumerate(_rows())))
    got, told = agreed(split, monkeypatch)
    expected, _ = agreed(whole, monkeypatch)
    assert got[0] == "ok" and told == []
    _, values, columns, time, time_name, *_ = got
    assert columns == ["flow"] and time_name == "Date Time" and time.dtype.kind == "M"
    np.testing.assert_array_equal(values, expected[1])
    np.testing.assert_array_equal(time, expected[3])
    assert read_table(split).sample_rate() == pytest.approx(1.0)


def test_dotted_dates_decimal_commas_and_a_time_of_day_without_seconds(tmp_path, monkeypatch) -> None:
    path = tmp_path / "logger.csv"
    rows = [f"01.02.2024;{i // 60}:{i % 60:02d};{str(v).replace('.', ',')}\r\n" for i, v in enumerate(_rows(120))]
    path.write_text("Datum;Uhrzeit;Temp\r\n" + "".join(rows))
    (_, values, columns, time, time_name, *_), _ = agreed(path, monkeypatch)
    assert columns == ["Temp"] and time_name == "Datum Uhrzeit"
    assert time[0] == np.datetime64("2024-02-01T00:00") and time[61] == np.datetime64("2024-02-01T01:01")
    np.testing.assert_allclose(values[0], _rows(120))


@pytest.mark.parametrize("cell", [lambda i: f"{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.5",
                                  lambda i: f"{i}.5 sec", lambda i: f"{i / 60!r} min"],
                         ids=["hh:mm:ss.f", "MATLAB sec", "MATLAB min"])
def test_an_elapsed_time_column_is_seconds(tmp_path, monkeypatch, cell) -> None:
    path = tmp_path / "elapsed.csv"
    path.write_text("Time,flow\n" + "".join(f"{cell(i)},{v}\n" for i, v in enumerate(_rows(200))))
    (_, values, columns, time, time_name, *_), _ = agreed(path, monkeypatch)
    offset = 0.0 if "min" in cell(0) else 0.5
    assert columns == ["flow"] and time_name == "Time"
    np.testing.assert_allclose(time, np.arange(200) + offset)


def test_a_later_cell_that_is_no_clock_reading_is_told_at_its_line(tmp_path) -> None:
    path = tmp_path / "late.csv"
    rows = [f"00:00:{i % 60:02d},{v}" for i, v in enumerate(_rows(100))]
    rows[80] = "soon,0.5"  # past the rows the plan is judged on
    path.write_text("Time,flow\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"time column 'Time' is neither numbers nor dates \(line 82: 'soon'\)"):
        read_table(path)
    rows[80], rows[2] = rows[2], "later,0.5"  # among the rows the plan is judged on: the first one decides
    path.write_text("Time,flow\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"time column 'Time' is neither numbers nor dates \(line 4: 'later'\)"):
        read_table(path)


def test_a_time_column_of_numbers_or_dates_is_left_alone() -> None:
    import csv

    numbers = "Date,Time,flow\n" + "".join(f"2024-01-01,{i * 0.5},{v}\n" for i, v in enumerate(_rows(20)))
    dates = "Time,flow\n" + "".join(f"2024-01-01 10:00:{i:02d},{v}\n" for i, v in enumerate(_rows(20)))
    for text in (numbers, dates):
        assert clock_plan(text, csv.excel) is None
    assert clock_plan("time,flow\n10:00,1\n10:01,2\n", csv.excel) == ClockPlan(time=0, date=None, header_line=1)


@pytest.mark.parametrize(("clock", "told"), [
    # before: "substring not found" (a ValueError naming no file, from padding a clock without a colon)
    ("90 sec", "'2024-02-01 90 sec'"), ("x", "'2024-02-01 x'"),
    # before: "line 2, column 'Date Time': not a number ('2024-02-01 10:00:00')", the first (good) row blamed
    ("24:00:00", "'2024-02-01 24:00:00'"), ("23:59:60", "'2024-02-01 23:59:60'")])
def test_a_bad_time_of_day_beside_a_date_is_told_at_its_line(tmp_path, clock, told) -> None:
    path = tmp_path / "log.csv"
    path.write_text("Date,Time,flow\n2024-02-01,10:00:00,1\n" + f"2024-02-01,{clock},2\n" + "2024-02-01,10:00:02,3\n")
    with pytest.raises(ValueError, match=rf"^{path}: time column 'Date Time' is neither numbers nor dates "
                                         rf"\(line 3: {told}"):
        read_table(path)


def test_an_infinite_duration_is_told_at_its_line(tmp_path) -> None:
    # before: "internal error (OverflowError: cannot convert float infinity to integer)"
    path = tmp_path / "log.csv"
    path.write_text("Time,flow\n1 sec,1\n1e400 sec,2\n3 sec,3\n")
    with pytest.raises(ValueError, match=rf"^{path}: time column 'Time' is neither numbers nor dates "
                                         r"\(line 3: '1e400 sec'\)"):
        read_table(path)


def _clock(seconds: int) -> str:
    seconds %= 86400
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@pytest.mark.parametrize(("start", "step", "n", "wraps", "line"), [
    (86400 - 100, 1, 300, 1, 102), (20 * 3600, 600, 400, 3, 26), (23 * 3600, 3600, 60, 3, 3)])
def test_times_of_day_passing_midnight_go_on_into_the_next_day(tmp_path, monkeypatch, start, step, n, wraps,
                                                              line) -> None:
    # before: 00:00:00 read as 0 after 86399, a step back of a day at each midnight (the rows told out of order)
    from tsae.io.time_order import time_disorder

    path = tmp_path / "logger.csv"
    path.write_text("Time,flow\n" + "".join(f"{_clock(start + i * step)},{v}\n" for i, v in enumerate(_rows(n))))
    (_, values, columns, time, time_name, *_), told = agreed(path, monkeypatch)
    np.testing.assert_array_equal(time, start + step * np.arange(n, dtype=float))
    assert time_disorder(time) == "" and columns == ["flow"]
    assert told == [f"TableWarning: {path}: the time column 'Time' is times of day without a date that pass "
                    f"midnight: read on into the next day ({wraps} time(s), the first at line {line}), as seconds "
                    "from the first day's midnight"]


@pytest.mark.parametrize(("cells", "expected"), [
    # elapsed time past 24 h: no time of day, read as it is (a later reading of less is a step back)
    (["22:00:00", "23:00:00", "24:00:00", "25:00:00", "00:30:00"], [79200, 82800, 86400, 90000, 1800]),
    # a step back of an hour, or one to the next day's reading far beyond the pace (3 h of 1 s steps): steps back
    (["03:00:00", "03:00:01", "02:00:00", "02:00:01"], [10800, 10801, 7200, 7201]),
    (["23:59:58", "23:59:59", "03:00:00", "03:00:01"], [86398, 86399, 10800, 10801])])
def test_other_steps_back_and_elapsed_times_are_read_as_they_are(tmp_path, monkeypatch, cells, expected) -> None:
    path = tmp_path / "log.csv"
    path.write_text("Time,flow\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    (_, _, _, time, *_), told = agreed(path, monkeypatch)
    np.testing.assert_array_equal(time, np.array(expected, dtype=float))
    assert told == []


def test_times_of_day_of_a_working_day_are_not_told_as_excel_dates(tmp_path, monkeypatch) -> None:
    # a logger's times of day from 08:00 on are 28,800 seconds and more: before, every reader warned that the
    # 'Time' column "holds numbers 28800 to ..., which look like Excel serial dates"; numbers there still are told
    path = tmp_path / "day.csv"
    path.write_text("Time,flow\n" + "".join(f"{8 + i // 60:02d}:{i % 60:02d}:00,{v}\n" for i, v in enumerate(_rows())))
    (status, _, _, time, *_), told = agreed(path, monkeypatch)
    assert status == "ok" and time[0] == 28800.0 and told == []
    serial = tmp_path / "serial.csv"
    serial.write_text("Time,flow\n" + "".join(f"{45292 + i / 1440:.6f},{v}\n" for i, v in enumerate(_rows())))
    assert any("Excel serial dates" in message for message in agreed(serial, monkeypatch)[1])
