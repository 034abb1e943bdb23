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
    ``block`` rows), as :func:`_outcome` gives them; the fast reader reads plain decimal cells by the compiled loop
    from the first row (tables.COMPILED_FROM_ROW), the block reader from its second chunk, the row by row one by
    ``float()`` only."""
    got = {}
    for name, rows in zip(("fast", "rows", "blocks"), chunks, strict=True):
        with monkeypatch.context() as patch:
            patch.setattr(tables, "READ_ROWS", rows)
            patch.setattr(tables, "COMPILED_FROM_ROW", {"fast": 0, "rows": 1 << 62, "blocks": rows}[name])
            if name == "rows":
                patch.setattr(tables, "_plain_columns", lambda *args: None)
            got[name] = _outcome(lambda name=name: _blocks(path, block, **options) if name == "blocks" else
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
    for name, (result, _) in got.items():
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


# the fuzzer: small hostile tables from a grammar of what real-world CSV files hold, each read the three ways

NAMES = ["flow", "pressure", "débit", "Druck °C", "温度", "a", "x y", "flow", "", "count", "ch0", "column1", '"q"']
COMMON = ["1", "2.5", "-3.25", "0", "7", "12.019", "-0.5", "100", "3e2"]
ODD = ["-0", "+5", ".5", "5.", "1_000", "0x10", "1,234.5", "nan", "NaN", "inf", "-inf", "1e400", "1e-400",
       "9007199254740993", "18446744073709551617", " 7 ", "\t8", "", " ", "NA", "n/a", "#N/A", "#DIV/0!", "?", "-",
       "null", "1e31", "1.7976931348623157e308", "abc", "1 2", "５", "0,5", "1" * 400]
ODD_LINES = ["", "# a note", "  # a note, with, commas", "#N/A{d}1", "{d}{d}", " {d} ", "#DIV/0!{d}#DIV/0!", "1",
             "1{d}2{d}3{d}4{d}5", "9007199254740993{d}9007199254740993", "1\r", '"1{d}2"{d}3', '"a""b"{d}1',
             "1\x00", "1" * 5000]


def _time_column(kind: str, n: int, rng: np.random.Generator) -> tuple[str, list[str]]:
    start = np.datetime64("2024-03-01T00:00:00")
    stamps = [str(np.datetime_as_string(start + np.timedelta64(250 * i, "ms"), unit="ms")) for i in range(n)]
    if kind == "dates":
        end = str(rng.choice(["", "Z", "+02:00"]))
        return str(rng.choice(["timestamp", "time", "when"])), [s.replace("T", " ") + end for s in stamps]
    if kind == "dotted":
        return "datetime", [f"{i % 28 + 1:02d}.03.2024 10:00:{i % 60:02d}" for i in range(n)]
    name, first, step = {"epoch": ("ts", 1709251200, 1), "epoch_ms": ("time_ms", 1709251200000, 250),
                         "index": ("sample_index", 0, 1), "unnamed": ("", 0, 1), "minute": ("minute", 0, 1)}[kind]
    return name, [str(first + step * i) for i in range(n)]


def fuzzed_table(seed: int) -> tuple[bytes, str]:
    """A small table (its bytes and suffix) from the grammar, chosen by ``seed``."""
    rng = np.random.default_rng(seed)
    d = str(rng.choice([",", ",", ";", "\t", "|"]))
    comma = d != "," and rng.random() < 0.4
    odd = float(rng.choice([0.0, 0.0, 0.01, 0.05]))
    n = int(rng.choice([0, 1, 3, 20, 40, 70, 70, 70]))
    columns = []
    kind = str(rng.choice(["dates", "dotted", "epoch", "epoch_ms", "index", "unnamed", "minute", "", "", ""]))
    if kind:
        columns.append(_time_column(kind, n, rng))
    for c in range(int(rng.integers(1, 4))):
        cells = [str(rng.choice(ODD if rng.random() < odd else COMMON)) for _ in range(n)]
        columns.append((str(rng.choice(NAMES)) if rng.random() < 0.5 else f"ch_{c}",
                        [cell.replace(".", ",") if comma else cell for cell in cells]))
    if rng.random() < 0.15:
        columns.append(("status", [str(rng.choice(["ok", "high", "1"])) for _ in range(n)]))
    if rng.random() < 0.2:
        columns.insert(int(rng.integers(0, len(columns) + 1)),
                       ("label", [str(rng.choice(["0", "1", "1", "0", "", "yes"])) for _ in range(n)]))
    spaces, quoting = rng.random() < 0.15, float(rng.choice([0.0, 0.0, 0.02, 0.1]))

    def cell(text: str) -> str:
        if spaces and rng.random() < 0.3:
            text = str(rng.choice([" ", "\t"])) + text + str(rng.choice(["", " "]))
        if rng.random() < quoting or d == "," and "," in text:
            text = '"' + text.replace('"', '""') + str(rng.choice(["", "", d, "\n", '""x'])) + '"'
        return text

    lines = [d.join(cell(cells[i]) for _, cells in columns) for i in range(n)]
    trailing = d * int(rng.integers(1, 3)) if rng.random() < 0.1 else ""
    lines = [line + trailing for line in lines]
    if rng.random() < 0.88:
        lines.insert(0, d.join(cell(name) for name, _ in columns) + (trailing if rng.random() < 0.5 else ""))
    for _ in range(int(rng.choice([0, 0, 1, 2, 4]))):
        lines.insert(int(rng.integers(0, len(lines) + 1)), str(rng.choice(ODD_LINES)).format(d=d))
    end = str(rng.choice(["\n", "\n", "\r\n", "\r", "mixed"]))
    text = "".join(line + (str(rng.choice(["\n", "\r\n"])) if end == "mixed" else end) for line in lines)
    text = text.rstrip("\r\n") if rng.random() < 0.1 else text
    text = ('"' if rng.random() < 0.03 else "") + ("sep=;\n" if d == ";" and rng.random() < 0.1 else "") + text
    data = (b"\xef\xbb\xbf" if rng.random() < 0.1 else b"") + text.encode()
    return data, ".tsv" if d == "\t" and rng.random() < 0.3 else ".csv"


def test_fuzzed_tables_are_read_alike_the_three_ways(tmp_path, monkeypatch) -> None:
    # the kind of a column is judged on its first 20 rows, not 200: the fast path then splits chunks of these
    # small tables; the chunks are never shorter than those rows, as READ_ROWS never is
    monkeypatch.setattr(tables, "_KIND_ROWS", 20)
    rng = np.random.default_rng(44)
    outcomes = set()
    for seed in range(300):
        data, suffix = fuzzed_table(seed)
        path = tmp_path / f"t{seed}{suffix}"
        path.write_bytes(data)
        options = [{}, {"text_columns": True}, {"exact": True}][seed % 3]
        chunks = tuple(int(c) for c in rng.integers(20, 60, size=3))
        got = readings(path, monkeypatch, chunks, block=int(rng.integers(1, 20)), **options)
        problem = disagreement(got)
        assert problem is None, f"seed {seed} {options} {data[:300]!r}: {problem}"
        outcomes.add(got["rows"][0][0])
        if b"\r" not in data and b'"' not in data:  # the same lines ending in "\r\n", or in "\r": read alike
            for end in (b"\r\n", b"\r"):
                twin = tmp_path / f"twin{seed}{suffix}"
                twin.write_bytes(data.replace(b"\n", end))
                with monkeypatch.context() as patch:
                    patch.setattr(tables, "READ_ROWS", chunks[1])
                    result, told = _outcome(lambda twin=twin, options=options: _whole(twin, **options))
                want, want_told = got["rows"]
                if result[0] == "error":
                    result = (*result[:2], result[2].replace(str(twin), str(path)))
                assert _same(result, want) and told == [w.replace(str(path), str(twin)) for w in want_told], \
                    f"seed {seed} {options} {end!r} {data[:300]!r}: {str(result)[:300]} != {str(want)[:300]}"
    assert outcomes == {"ok", "error"}


def test_one_column_of_decimal_commas_quoted_cell_by_cell(tmp_path, monkeypatch) -> None:
    # before: a one-sensor sheet exported with every cell quoted ("flow" / "9,514") was read as comma-separated:
    # "line 2, column 'flow': not a number ('9,514'): a decimal comma in a comma-separated file"
    quoted, plain = tmp_path / "quoted.csv", tmp_path / "plain.csv"
    quoted.write_text('"flow"\n"9,514"\n"1,5"\n"2"\n"NA"\n"-0,25"\n')
    plain.write_text("flow\n9,514\n1,5\n2\nNA\n-0,25\n")
    want = agreed(plain, monkeypatch)
    assert want[0][0] == "ok", want
    np.testing.assert_array_equal(want[0][1], [[9.514, 1.5, 2.0, np.nan, -0.25]])
    got = agreed(quoted, monkeypatch)
    assert _same(got[0], want[0]) and got[1] == [], got
