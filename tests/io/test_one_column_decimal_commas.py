"""A table of one column has no delimiter: a decimal comma in it is one number, however many whole numbers come
first (the delimiter, told from the first lines, was a comma) — read whole, in blocks, compressed or from stdin;
a row that is not one such number is the ragged-row error it was."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
from click.testing import CliRunner

import tsae.io.tables as tables
from tsae.cli import cli
from tsae.io.table_blocks import open_table_blocks
from tsae.io.tables import read_table

#: 61 whole numbers, as a one-sensor sheet exported in a decimal-comma locale starts, then decimal commas
WHOLE_FIRST = "flow\n" + "".join(f"{k}\n" for k in range(61))
LATER = [9.514, -0.25, 12.0, 0.5]


def _later(quoted: bool = False) -> str:
    cells = ["9,514", "-0,25", "12", ",5"]
    return "".join((f'"{c}"' if quoted and "," in c else c) + "\n" for c in cells)


EXPECTED = np.array([*range(61), *LATER])


@pytest.mark.parametrize("text", [
    WHOLE_FIRST + _later(),
    WHOLE_FIRST + _later(quoted=True),  # pandas' to_csv(decimal=",") quotes them
    (WHOLE_FIRST + _later()).replace("\n", "\r\n"),
    WHOLE_FIRST.replace("flow", '"flow"', 1) + _later(),
    "sep=,\n" + WHOLE_FIRST + _later(),
], ids=["plain", "quoted", "crlf", "quoted_name", "sep_line"])
def test_a_decimal_comma_after_whole_numbers_is_one_number(tmp_path, text) -> None:
    path = tmp_path / "flow.csv"
    path.write_bytes(text.encode())
    table = read_table(path)
    assert table.columns == ["flow"]
    np.testing.assert_array_equal(table.values[0], EXPECTED)
    np.testing.assert_array_equal(open_table_blocks(path).whole()[0][0], EXPECTED)


def test_without_a_header_too(tmp_path) -> None:
    path = tmp_path / "flow.csv"
    path.write_text(WHOLE_FIRST.split("\n", 1)[1] + _later())
    np.testing.assert_array_equal(read_table(path).values[0], EXPECTED)


def test_a_long_column_reads_its_plain_lines_at_once_and_in_blocks(tmp_path, monkeypatch) -> None:
    # chunks of 64 rows: most are read from their text at once (a line of one decimal comma is a plain line),
    # one holding a comma that is no such number goes through csv.reader, and tells its line
    monkeypatch.setattr(tables, "READ_ROWS", 64)
    values = np.round(np.sin(np.arange(2000) / 9), 3)
    text = WHOLE_FIRST + "".join(f"{v}\n".replace(".", ",") for v in values)
    path = tmp_path / "flow.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    expected = np.concatenate([np.arange(61), values])
    np.testing.assert_array_equal(read_table(path).values[0], expected)
    np.testing.assert_array_equal(open_table_blocks(path).whole()[0][0], expected)
    lines = text.split("\n")
    lines[1500] = "1,5,3"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    with pytest.raises(ValueError, match=r"line 1501 has 3 fields, expected 1$"):
        read_table(path)


@pytest.mark.parametrize(("row", "error"), [
    ("9,5,3", "line 64 has 3 fields, expected 1$"),
    ("9,abc", "line 64 has 2 fields, expected 1$"),
    ("9 ,5", "line 64 has 2 fields, expected 1$"),
    ("1,5;2", "line 64 has 2 fields, expected 1$"),
])
def test_a_ragged_row_is_still_the_ragged_row_error(tmp_path, row, error) -> None:
    path = tmp_path / "flow.csv"
    path.write_text(WHOLE_FIRST + "1\n" + row + "\n2\n")
    with pytest.raises(ValueError, match=error):
        read_table(path)
    with pytest.raises(ValueError, match=error):
        open_table_blocks(path)


def test_a_decimal_comma_after_decimal_points_is_told_as_mixed_marks(tmp_path) -> None:
    path = tmp_path / "flow.csv"
    path.write_text("flow\n" + "".join(f"{k}.5\n" for k in range(61)) + "9,514\n")
    with pytest.raises(ValueError, match=r"line 63, column 'flow': not a number \('9,514'\): mixed decimal marks"):
        read_table(path)


def test_two_columns_split_at_commas_are_as_before(tmp_path) -> None:
    # time,flow with a decimal comma: a row of three cells may be either two numbers; it is the ragged-row error
    path = tmp_path / "two.csv"
    path.write_text("index,flow\n" + "".join(f"{k},{k + 9}\n" for k in range(61)) + "61,9,514\n")
    with pytest.raises(ValueError, match=r"line 63 has 3 fields, expected 2$"):
        read_table(path)


@pytest.mark.parametrize("stdin", [False, True])
def test_a_command_reads_it_from_a_file_or_stdin(tmp_path, stdin) -> None:
    path = tmp_path / "flow.csv"
    path.write_text(WHOLE_FIRST + _later())
    out = tmp_path / "f.npy"
    args = ["frame", "-" if stdin else str(path), "--window", "5", "--hop", "5", "-o", str(out), "-q"]
    result = CliRunner().invoke(cli, args, input=path.read_bytes() if stdin else None)
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(out).reshape(-1), EXPECTED.astype(np.float32))
