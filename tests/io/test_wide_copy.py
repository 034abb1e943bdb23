"""The pivoted text of an InfluxDB export kept for the passes after the first (tsae/io/wide_copy.py): read back line
for line as written, whatever the chunk size, lines with a carriage return or a line separator inside kept whole."""
from __future__ import annotations

from pathlib import Path

import pytest

import tsae.io.wide_copy as wide_copy
from tsae.io.wide_copy import WideCopy


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
def test_the_copy_gives_back_the_lines_it_kept(monkeypatch, chunk) -> None:
    monkeypatch.setattr(wide_copy, "_CHUNK", chunk)
    lines = ["_time,\"a\rb\",c\u2028d\n", "2024-01-01T00:00:00Z,1.5,\n", "2024-01-01T00:00:01Z,,2.0\n", "ü,é\n"]
    copy = WideCopy(Path("x.csv"))
    assert list(copy.kept(iter(lines))) == lines and copy.whole
    assert list(copy.lines()) == lines == list(copy.lines())  # read as often as needed
    copy.close()


def test_a_pass_that_stops_early_leaves_the_copy_not_whole() -> None:
    copy = WideCopy(Path("x.csv"))
    kept = copy.kept(iter(["a\n", "b\n", "c\n"]))
    assert next(kept) == "a\n" and not copy.whole
    copy.close()
