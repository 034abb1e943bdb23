"""Bits per timestamp of the time column that ``tsae compress`` stores, beside gzip and xz of the column's text alone.

For each CSV given (e.g. the NAB corpus's ``data/real*/*.csv``, timestamps as text), the table is read as ``tsae
compress`` reads it; a column that is not evenly spaced is stored whole (format version 5's time part: first or
second differences of the ticks in units of their common divisor, adaptive coder), and its size is printed in bits
per timestamp beside ``gzip -9`` and ``xz -9`` of the column's text (its cells, one a line) and whether the ticks
decode back exactly. An evenly spaced column costs only its header entry (start and step): ``regular``.

Usage::

    python scripts/bench_time_column.py NAB/data/realKnownCause/*.csv [--coder adaptive]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import lzma
import sys
from pathlib import Path

import numpy as np

from tsae.io.series import read_series
from tsae.pipelines.compress.container import (
    TIME_VERSION,
    BlockLimits,
    _decode_payload,
    encode_time_part,
    time_decoding,
)
from tsae.pipelines.compress.entropy import coder_id
from tsae.pipelines.compress.files import _regular_time
from tsae.pipelines.compress.time_column import as_ticks


def time_text(path: Path) -> bytes:
    """The first column's cells (the time column of these files), one a line."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows)
        return "".join(row[0] + "\n" for row in rows if row).encode()


def fail(problem: str) -> ValueError:
    return ValueError(problem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", nargs="+", type=Path)
    parser.add_argument("--coder", default="adaptive")
    args = parser.parse_args(argv)
    missing = [path for path in args.csv if not path.is_file()]
    if missing:
        print(f"{missing[0]}: no such file", file=sys.stderr)
        return 1
    try:
        lines = table(args.csv, args.coder)
    except ValueError as error:  # tsae's own message names the file; no table at all, as for a missing file
        print(error, file=sys.stderr)
        return 1
    print("\n".join(lines), flush=True)
    return 0


def table(paths: list[Path], coder: str) -> list[str]:
    """The table's lines: bits per timestamp of each file's time column, stored, gzip'd and xz'd."""
    lines = [f"{'file':<44} {'rows':>6} {'tsae':>7} {'gzip -9':>8} {'xz -9':>7}  bits/timestamp; exact"]
    totals = np.zeros(4)
    for path in paths:
        _, _, meta = read_series(path, exact=True)
        time = meta.get("time")
        if time is None or len(time) < 2:
            lines.append(f"{path.name:<44} no time column")
            continue
        text = time_text(path)
        n = len(time)
        gz, xz = len(gzip.compress(text, 9)), len(lzma.compress(text, preset=9))
        if _regular_time(meta, path) is not None:
            lines.append(f"{path.name:<44} {n:>6} {'regular':>7} {8 * gz / n:>8.2f} {8 * xz / n:>7.2f}")
            continue
        _, ticks = as_ticks(np.asarray(time))
        part = encode_time_part(ticks, coder_id(coder))
        block = _decode_payload(part, TIME_VERSION, fail, BlockLimits(samples=n + 2, values=n + 2))
        exact = np.array_equal(time_decoding(block.arrays["time"], n), ticks)
        stored = len(part) + 5  # the part's length varint (up to 4 bytes here) and CRC-32, at most
        totals += (n, stored, gz, xz)
        lines.append(f"{path.name:<44} {n:>6} {8 * stored / n:>7.3f} {8 * gz / n:>8.2f} {8 * xz / n:>7.2f}  {exact}")
    if totals[0]:
        n = totals[0]
        lines.append(f"{'all irregular files':<44} {int(n):>6} {8 * totals[1] / n:>7.3f} {8 * totals[2] / n:>8.2f} "
                     f"{8 * totals[3] / n:>7.2f}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
