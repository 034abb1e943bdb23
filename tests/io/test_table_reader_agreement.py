"""A table file is read the same three ways: the reader's fast path (plain chunks split at once,
tables._plain_columns), row by row (csv.reader), and the block reader (tsae.io.table_blocks, two passes):
the same values bit for bit, names, time and label columns, warnings, and the same error when the file is refused.
Each odd file here was found by the seeded fuzzer at the end of this file."""
from __future__ import annotations

import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tsae.io.table_blocks as table_blocks
import tsae.io.tables as tables
from tsae.io.blocks import iter_blocks


def _outcome(read: Any) -> tuple[tuple[Any, ...], list[str]]:
    """``(what read() gave, as a tuple of its parts; or ("error", type, message)), the warnings it told)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: tuple[Any, ...] = ("ok", *read())
        except ValueError as error:
            result = ("error", type(error).__name__, str(error))
        except Exception as error:  # noqa: BLE001 - a crash is a finding, told with its traceback
            result = ("crash", type(error).__name__, traceback.format_exc())
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]


def _whole(path: Path, **options: Any) -> tuple[Any, ...]:
    t = tables.read_table(path, **options)
    return (t.values, t.columns, t.time, t.time_name, t.label, t.label_name, t.time_utc, t.text_columns,
            t.mixed_columns)


def _blocks(path: Path, size: int, **options: Any) -> tuple[Any, ...]:
    source = table_blocks.open_table_blocks(path, **options)
    values = np.concatenate(list(iter_blocks(source, size)), axis=1)
    return (values, source.columns, source.time, source.time_name, source.label, source.label_name,
            source.time_utc, source.text_columns, source.mixed_columns)


def readings(path: Path, monkeypatch: pytest.MonkeyPatch, chunks: tuple[int, int, int] = (64, 64, 64),
             block: int = 7, **options: Any) -> dict[str, tuple[tuple[Any, ...], list[str]]]:
    """The file read the three ways, each ``READ_ROWS`` of ``chunks`` rows a chunk (the block reader's blocks
    ``block`` rows), as :func:`_outcome` gives them."""
    got = {}
    for name, rows in zip(("fast", "rows", "blocks"), chunks, strict=True):
        with monkeypatch.context() as patch:
            patch.setattr(tables, "READ_ROWS", rows)
            if name == "rows":
                patch.setattr(tables, "_plain_columns", lambda *args: None)
            got[name] = _outcome(lambda: _blocks(path, block, **options) if name == "blocks" else
                                 _whole(path, **options))
    return got


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()  # NaNs, signed zeros too
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def disagreement(got: dict[str, tuple[tuple[Any, ...], list[str]]]) -> str | None:
    """What of the readings ``got`` differs from the row-by-row one, or a crash's traceback; None when all agree."""
    for name, (result, told) in got.items():
        if result[0] == "crash":
            return f"{name} crashed: {result[2]}"
    reference = got["rows"]
    for name in ("fast", "blocks"):
        result, told = got[name]
        if not _same(result, reference[0]):
            return f"{name}: {str(result)[:600]}\nrows: {str(reference[0])[:600]}"
        if told != reference[1]:
            return f"{name} told {told}, rows told {reference[1]}"
    return None


def agreed(path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> tuple[tuple[Any, ...], list[str]]:
    """The reading of ``path`` the three ways agree on (the test fails where they do not)."""
    got = readings(path, monkeypatch, **options)
    problem = disagreement(got)
    assert problem is None, problem
    return got["rows"]


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_whole_number_beyond_float64_is_an_absurd_cell(tmp_path, monkeypatch, digits) -> None:
    # before: telling whether float64 rounded it, int() of the infinity it is read as raised OverflowError (tsae
    # frame: "internal error ... this is a bug in tsae"), and int() of its 5000 digits "Exceeds the limit (4300
    # digits) for integer string conversion", naming no file
    path = tmp_path / "digits.csv"
    path.write_text("time,a,b\n" + "".join(f"{i},{'1' * digits if i == 7 else i * 0.5},{i}\n" for i in range(300)))
    result, told = agreed(path, monkeypatch)
    assert result[0] == "ok", result
    values = result[1]
    assert np.isnan(values[0, 7]) and not np.isnan(values[0, [6, 8]]).any() and values[1, 7] == 7
    assert told == [f"TableWarning: {path}: 1 cell(s) infinite or beyond 1e+30 in magnitude read as missing: a (1)"]
    exact, told = agreed(path, monkeypatch, exact=True)
    assert exact[1][0, 7] == np.inf and told == []


@pytest.mark.parametrize("text", [
    "a;b;c\n1;2;3\n1;2;\t3\n",  # a tab in a cell: the sniffer took the tab for the delimiter
    "a;b\n1,5;2,5\n3,25;4\n",  # decimal commas: the sniffer took the commas for the delimiter
    "1,5;2,5\n3,25;4\n",
    "sep=;\na;b\n1,5;2\n3;4\n",  # Excel's line naming the delimiter was a row
    "flow\n9,5\n1,25\n",  # one column of decimal commas
    "a|b\n1,5|2\n3|4,25\n",
])
def test_classic_mac_line_ends_are_sniffed_as_line_feeds_are(tmp_path, monkeypatch, text) -> None:
    # before: the delimiter was sniffed from lines split at line feeds, which a file whose lines end in a carriage
    # return alone has none of: the whole sample was one line ("line 2 has 3 fields, expected 1")
    unix, mac = tmp_path / "unix.csv", tmp_path / "mac.csv"
    unix.write_text(text, newline="")
    mac.write_text(text.replace("\n", "\r"), newline="")
    want = agreed(unix, monkeypatch)
    assert want[0][0] == "ok", want
    got = agreed(mac, monkeypatch)
    assert _same(got[0], want[0]) and got[1] == [told.replace(str(unix), str(mac)) for told in want[1]]


@pytest.mark.parametrize("text", [
    "time\tflow\tx y\n0.0\t-39.0\t-61\n0.25\t95.0\t-32\n# a note\n0.5\t-70\t-21.0\n# a note\n0.75\t162\t216\n",
    "\ntime;temp\n2024-03-01 00:00:00Z;15.0\n2024-03-01 00:00:01Z;-128.0\n\n  # another, note\n"
    "2024-03-01 00:00:02Z;-49\n",
    "temp|sensor_1\r140.0|1.0\r\r23.0|52\r# a note\r8.0|43\r# a note\r-30|-210\r",
    "pressure;value\r\n24;-9,3\r\n# a note\r\n-70,0;-201\r\n",
    "# logger 7, firmware 1.2, site A\n# units: l/s, bar\ntime;flow;pressure\n0;1,5;2\n1;2,5;3\n2;3;4,25\n",
    "b\tvalue\tlabel\n33.559\t93.565\t0\n-3.04\tn/a\t0\n  # another, note\n# a note",  # ends in a comment
])
def test_comment_and_blank_lines_do_not_decide_the_delimiter(tmp_path, monkeypatch, text) -> None:
    # before: the sniffer weighed comment lines (and lines of spaces) as rows: a few among ten rows made it take
    # another delimiter, and a file of a tab-separated table was "line 2, column 'time\tflow\tx y': not a number"
    commented, plain = tmp_path / "commented.csv", tmp_path / "plain.csv"
    commented.write_text(text, newline="")
    end = "\r\n" if "\r\n" in text else "\r" if "\n" not in text else "\n"
    plain.write_text("".join(line + end for line in text.split(end) if line.strip() and not line.lstrip()
                             .startswith("#")), newline="")
    want = agreed(plain, monkeypatch)
    assert want[0][0] == "ok" and len(want[0][2]) >= 1, want
    got = agreed(commented, monkeypatch)
    assert got[0][0] == "ok", got[0]
    assert _same(got[0], want[0]) and got[1] == want[1]


@pytest.mark.parametrize("text", [
    'value|"x""y"\n-37.26|94.19\n56.64|-58.78\n',  # a name holding a quote, quoted last on its line
    'time,"pipe 2"""\n' + "".join(f"{i},{i}.5\n" for i in range(30)),  # 2 inches
])
def test_a_file_with_windows_line_ends_is_sniffed_as_with_line_feeds(tmp_path, monkeypatch, text) -> None:
    # before: csv.Sniffer, whose patterns end a line at a line feed, found no quoted cell at the end of a line ending
    # "\r\n", so it said quotes are not doubled: a CRLF file's "x""y" was read as 'x"y"'
    unix, windows = tmp_path / "unix.csv", tmp_path / "windows.csv"
    unix.write_text(text, newline="")
    windows.write_text(text.replace("\n", "\r\n"), newline="")
    want = agreed(unix, monkeypatch)
    assert want[0][0] == "ok" and want[0][2][-1] in ('x"y', 'pipe 2"'), want
    got = agreed(windows, monkeypatch)
    assert _same(got[0], want[0]) and got[1] == want[1], got
