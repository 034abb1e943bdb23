"""LabVIEW measurement files (.lvm) read as the table their rows make: header blocks skipped, the Comment column
dropped, X_Value the time column; the fast, row-by-row and block readers agree (test_table_reader_agreement)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.io.test_table_reader_agreement import agreed
from tsae.io.tables import read_table

FILE_HEADER = ("LabVIEW Measurement\t\nWriter_Version\t2\nReader_Version\t2\nSeparator\t{sep}\n"
               "Decimal_Separator\t{dec}\n"
               "Multi_Headings\tNo\nX_Columns\t{xcols}\nTime_Pref\tRelative\nOperator\tlab\nDate\t2024/01/01\n"
               "Time\t10:00:00.000\n***End_of_Header***\t\n\n")
SEGMENT_HEADER = ("Channels\t2\t\nSamples\t{n}\t{n}\t\nDate\t2024/01/01\t2024/01/01\t\nTime\t10:00:00\t10:00:00\t\n"
                  "X_Dimension\tTime\tTime\t\nX0\t{x0}\t{x0}\t\nDelta_X\t0.010000\t0.010000\t\n***End_of_Header***\t\t\t\n")


def lvm(path: Path, segments: int = 1, rows: int = 50, *, x_column: bool = True, decimal: str = ".",
        separator: str = "Tab") -> Path:
    sep = "\t" if separator == "Tab" else ","
    text = FILE_HEADER.format(sep=separator, dec=decimal, xcols="One" if x_column else "No")
    for s in range(segments):
        text += SEGMENT_HEADER.format(n=rows, x0=f"{s * rows * 0.01:.6f}")
        text += sep.join((["X_Value"] if x_column else []) + ["Voltage", "Current", "Comment"]) + "\n"
        for i in range(s * rows, (s + 1) * rows):
            cells = ([f"{i * 0.01:.6f}"] if x_column else []) + [f"{np.sin(i / 5):.6f}", f"{np.cos(i / 7):.6f}", ""]
            text += sep.join(cell.replace(".", decimal) for cell in cells) + "\n"
        text += "\n"
    path.write_text(text.replace("\t", sep) if separator != "Tab" else text)
    return path


def test_a_labview_file_is_its_channels_with_x_value_as_time(tmp_path, monkeypatch) -> None:
    # before: "line 15 has 4 fields, expected 2 as the header on line 1 has (a title or notes above the header?)"
    path = lvm(tmp_path / "run.lvm")
    (_, values, columns, time, time_name, *_), told = agreed(path, monkeypatch)
    assert columns == ["Voltage", "Current"] and time_name == "X_Value" and told == []
    assert values.shape == (2, 50)
    np.testing.assert_allclose(values[0], np.round(np.sin(np.arange(50) / 5), 6))
    np.testing.assert_allclose(time, np.arange(50) * 0.01)
    assert read_table(path).sample_rate() == pytest.approx(100.0)


def test_every_segment_of_a_labview_file_is_read_on(tmp_path, monkeypatch) -> None:
    (_, values, columns, time, *_), _ = agreed(lvm(tmp_path / "run.lvm", segments=3), monkeypatch)
    assert columns == ["Voltage", "Current"] and values.shape == (2, 150)
    np.testing.assert_allclose(time, np.arange(150) * 0.01)


def test_a_labview_file_with_decimal_commas_or_without_an_x_column(tmp_path, monkeypatch) -> None:
    (_, commas, columns, *_), _ = agreed(lvm(tmp_path / "de.lvm", decimal=","), monkeypatch)
    (_, points, *_), _ = agreed(lvm(tmp_path / "en.lvm"), monkeypatch)
    np.testing.assert_array_equal(commas, points)
    (_, values, columns, time, *_), _ = agreed(lvm(tmp_path / "nox.lvm", x_column=False), monkeypatch)
    assert columns == ["Voltage", "Current"] and time is None and values.shape == (2, 50)
    (_, values, columns, *_), _ = agreed(lvm(tmp_path / "comma.lvm", separator="Comma"), monkeypatch)
    np.testing.assert_array_equal(values, points)


def test_a_bad_cell_in_a_labview_file_is_told_at_its_own_line(tmp_path) -> None:
    path = lvm(tmp_path / "run.lvm")
    lines = path.read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.startswith("0.030000"))
    lines[row] = "0.030000\tbroken\t0.5\t"
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=rf"^{path}: line {row + 1}, column 'Voltage': not a number"):
        read_table(path)


def _as_labview_writes(path: Path, separator: str = "\t") -> Path:
    """``path`` (an :func:`lvm` file) as LabVIEW writes one: a row's Comment cell only where it has a comment (a
    note on every 4th row), and the blank line after the file's header a line of one separator."""
    lines = path.read_text().split("\n")
    end = next(i for i, line in enumerate(lines) if line.startswith("***End_of_Header***"))
    lines[end + 1] = separator
    rows = [i for i, line in enumerate(lines) if line[:1].isdigit() and line.count(separator) == 3]
    for k, i in enumerate(rows):
        lines[i] = lines[i] + "note" if k % 4 == 0 else lines[i][:-1]  # 'x\tv\ti\t' -> 'x\tv\ti\tnote' or 'x\tv\ti'
    path.write_text("\n".join(lines))
    return path


@pytest.mark.parametrize("separator", ["Tab", "Comma"])
def test_labview_rows_without_their_comment_cell_keep_every_channel(tmp_path, monkeypatch, separator) -> None:
    # before: a row without a Comment cell lost its last channel ("line 22 has 2 fields, expected 3"), and in a
    # comma-separated file the line ',' after the header was taken for the names (the Comment column a channel)
    sep = "\t" if separator == "Tab" else ","
    path = _as_labview_writes(lvm(tmp_path / "run.lvm", segments=2, separator=separator), sep)
    (_, values, columns, time, time_name, *_), told = agreed(path, monkeypatch)
    assert columns == ["Voltage", "Current"] and time_name == "X_Value" and told == []
    (_, plain, *_), _ = agreed(lvm(tmp_path / "plain.lvm", segments=2), monkeypatch)
    np.testing.assert_array_equal(values, plain)
    np.testing.assert_allclose(time, np.arange(100) * 0.01)


def test_two_labview_files_joined_by_cat_are_read_as_one(tmp_path, monkeypatch) -> None:
    # before: the second file's first line was a row: "line 66 has 1 fields, expected 3"
    one = lvm(tmp_path / "one.lvm").read_text()
    path = tmp_path / "both.lvm"
    path.write_text(one + one)
    (_, values, columns, *_), _ = agreed(path, monkeypatch)
    assert columns == ["Voltage", "Current"] and values.shape == (2, 100)


def test_a_segment_header_may_open_with_notes_or_the_unit_under_test(tmp_path, monkeypatch) -> None:
    # before: the Notes line was taken for the column names: "line 15, column 'Notes': not a number ('X_Value')"
    path = lvm(tmp_path / "run.lvm", segments=2)
    text = path.read_text().replace("Channels\t", "Notes\tbench run\t\nUUT_Name\tpump 3\t\nChannels\t")
    path.write_text(text)
    (_, values, columns, *_), _ = agreed(path, monkeypatch)
    (_, plain, *_), _ = agreed(lvm(tmp_path / "plain.lvm", segments=2), monkeypatch)
    assert columns == ["Voltage", "Current"]
    np.testing.assert_array_equal(values, plain)


def test_a_segment_with_other_columns_is_told_at_its_names(tmp_path) -> None:
    # before: "time column 'X_Value' is neither numbers nor dates (line 71: 'X_Value')" (its names read as a row);
    # channels swapped with the same names' count would be read under the first segment's names
    path = lvm(tmp_path / "run.lvm", segments=2)
    lines = path.read_text().split("\n")
    second = [i for i, line in enumerate(lines) if line.startswith("X_Value")][1]
    lines[second] = "X_Value\tCurrent\tVoltage\tComment"
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=rf"^{path}: line {second + 1}: a segment's columns \(X_Value, Current, "
                                         r"Voltage\) are not the first segment's \(X_Value, Voltage, Current\)"):
        read_table(path)


@pytest.mark.parametrize(("cut", "told"), [
    ("***End_of_Header***", "its header has no \\*\\*\\*End_of_Header\\*\\*\\* line"),  # cut inside the header
    ("X_Value", "only LabVIEW header blocks")])  # cut before the names
def test_a_labview_file_of_header_blocks_alone_is_no_empty_file(tmp_path, cut, told) -> None:
    # before: "empty file", of a file of 13 or 22 lines
    path = lvm(tmp_path / "run.lvm")
    text = path.read_text()
    path.write_text(text[:text.index(cut)])
    with pytest.raises(ValueError, match=rf"^{path}: no data rows.*{told}"):
        read_table(path)


def _multi_x(path: Path, rows: int = 50) -> Path:
    """``path`` written as LabVIEW's X_Columns Multi writes it: an X_Value column before each channel."""
    text = FILE_HEADER.format(sep="Tab", dec=".", xcols="Multi") + SEGMENT_HEADER.format(n=rows, x0="0")
    text += "X_Value\tVoltage\tX_Value\tCurrent\tComment\n"
    for i in range(rows):
        x = f"{i * 0.01:.6f}"
        text += f"{x}\t{np.sin(i / 5):.6f}\t{x}\t{np.cos(i / 7):.6f}\n"
    path.write_text(text)
    return path


def test_a_labview_file_with_an_x_column_per_channel_is_read_when_they_agree(tmp_path, monkeypatch) -> None:
    # before: "duplicate column name 'X_Value'"
    (_, values, columns, time, time_name, *_), told = agreed(_multi_x(tmp_path / "multi.lvm"), monkeypatch)
    (_, one, *_), _ = agreed(lvm(tmp_path / "one.lvm"), monkeypatch)
    assert columns == ["Voltage", "Current"] and time_name == "X_Value" and told == []
    np.testing.assert_array_equal(values, one)
    np.testing.assert_allclose(time, np.arange(50) * 0.01)
    path = _multi_x(tmp_path / "apart.lvm")
    lines = path.read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.startswith("0.030000"))
    lines[row] = lines[row].replace("\t0.030000\t", "\t0.035000\t")
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=rf"^{path}: line {row + 1}: the channels' X values differ \(0.030000, "
                                         r"0.035000\)"):
        read_table(path)
