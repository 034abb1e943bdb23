"""A long-format table of many devices (``time,host,flow,...``, their rows interleaved) split into one table per
device, on disk: each device's file holds the header and that device's lines, the device column(s) taken out, as
if the device had been exported alone (its lines' text as written: the same numbers, times and missing cells).

The table is read once, a line at a time; lines wait in memory per device up to :data:`BUFFER_CHARS` in all, then
are appended to their devices' files, so the memory stays bounded whatever the table's length and the number of its
devices (and no more than one file is open at a time).
"""
from __future__ import annotations

import bisect
import csv
import io
import warnings
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tsae.io.records import _header_names, _split
from tsae.io.table_cells import is_comment
from tsae.io.table_dialect import TableDialect, delimited, separator_line, sniff_delimiter

#: characters of lines held in memory before they are appended to their devices' files
BUFFER_CHARS = 8 << 20


def device_name(group_by: Sequence[str], key: Sequence[str]) -> str:
    """A device as messages name it: ``host=pump-1`` (``host=a,line=2`` for two columns).

    Examples
    --------
    >>> device_name(["host", "line"], ["a", "2"])
    'host=a,line=2'
    """
    return ",".join(f"{name}={value}" for name, value in zip(group_by, key, strict=True))


def csv_line(fields: Sequence[str], sep: str = ",") -> str:
    """``fields`` as one CSV line (no line end), quoted where a field needs it.

    Examples
    --------
    >>> csv_line(["a", "b,c"])
    'a,"b,c"'
    """
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="").writerow(fields)
    return out.getvalue()


@dataclass
class DeviceFile:
    """One device's table: its ``key`` (the values of the device columns), ``path`` and ``rows``; and where the
    line of the table each row came from lies (int64, in ``lines_path``, a file all the devices share: a run of the
    device's rows at each of ``_runs``, ``(first row, byte offset)``), so that a message about a line of the device's
    file names the table's (:meth:`table_line`). One file of line numbers for all the devices, not one each: a file
    created (and removed) a device was most of what a fleet of short devices cost to split."""

    key: tuple[str, ...]
    path: Path
    rows: int = 0
    first_row_line: int = 2  # the device file's line of its first row (after the header, and a sep= line)
    lines_path: Path | None = None
    _waiting: list[str] = field(default_factory=list, repr=False)
    _waiting_lines: list[int] = field(default_factory=list, repr=False)
    _runs: list[tuple[int, int]] = field(default_factory=list, repr=False)
    _written: int = 0  # rows whose line numbers are in lines_path

    def table_line(self, line: int) -> int | None:
        """The table's line of the device file's ``line`` (1-based), None for its header (or a line it lacks)."""
        row = line - self.first_row_line
        if not 0 <= row < self._written or self.lines_path is None:
            return None
        first, offset = self._runs[bisect.bisect_right(self._runs, (row, 1 << 62)) - 1]
        with open(self.lines_path, "rb") as handle:
            handle.seek(offset + 8 * (row - first))
            data = handle.read(8)
        return int.from_bytes(data, "little", signed=True) if len(data) == 8 else None

    def remove(self) -> None:
        """Let go of the device's file (the disk holds the devices not read yet)."""
        self.path.unlink(missing_ok=True)


@dataclass
class DeviceTables:
    """What :func:`split_devices` wrote: the devices' tables (in the order each first appears), the header they
    share (without the device columns), their ``dialect`` (the table's delimiter, as the split read the table, its
    ``sep=`` line kept: the devices' files are read with it, not each sniffed again), the lines without a device (an
    empty cell) and one such line."""

    devices: list[DeviceFile]
    header: str
    dialect: TableDialect
    no_device: int = 0
    no_device_line: str = ""


class _Numbered:
    """An iterator of lines that counts them (``number``: the 1-based line of the last one given)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines, self.number = lines, 0

    def __iter__(self) -> _Numbered:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        return line


def _lines(path: Path) -> Iterator[str]:
    """The lines of a table file (decompressed and decoded as the table reader does), stripped of their line end."""
    from tsae.io.text_files import _compression, _encoding, _open_text

    compression = _compression(path)
    encoding = _encoding(path, compression)
    with _open_text(path, encoding, compression) as handle:
        first = True
        for line in handle:
            if first:
                line, first = line.lstrip("\ufeff"), False
            yield line.rstrip("\r\n")


def _header(path: Path, lines: Iterator[str], group_by: Sequence[str]) -> tuple[str, str, list[int], str]:
    """The ``sep=`` line (or ''), the delimiter, where the device columns are, and the header without them."""
    sep_line, sep = "", None
    for line in lines:
        if not line.strip() or is_comment(line):
            continue
        named = separator_line(line) if not sep_line else None
        if named is not None:
            sep_line, sep = line, named
            continue
        sep = sep or sniff_delimiter(line)
        names = list(_header_names(_split(line, sep)))
        missing = [name for name in group_by if name not in names]
        if missing:
            raise ValueError(f"{path}: no column {', '.join(map(repr, missing))} to group by (--group-by) in the "
                             f"header {line[:80]!r}")
        twice = [name for name in group_by if names.count(name) > 1]
        if twice:
            raise ValueError(f"{path}: the header names the device column {twice[0]!r} more than once")
        columns = [names.index(name) for name in group_by]
        rest = [name for i, name in enumerate(names) if i not in columns]
        return sep_line, sep, columns, csv_line(rest, sep) if '"' in line else sep.join(rest)
    raise ValueError(f"{path}: no header line (a table whose columns include {', '.join(group_by)})")


def _without_cell(line: str, sep: str, index: int) -> tuple[str, str] | None:
    """The cell ``index`` of a line without quotes, and the line without it (``sep.join`` of the other cells, a line
    end added), or None when the line has no such cell."""
    start = 0
    for _ in range(index):
        start = line.find(sep, start) + 1
        if start == 0:
            return None
    end = line.find(sep, start)
    if end < 0:
        return (line[start:], line[:start - 1] + "\n") if index else None
    return line[start:end], line[:start] + line[end + 1:] + "\n"


def split_devices(path: str | Path, group_by: Sequence[str], folder: str | Path) -> DeviceTables:
    """Write each device's rows of the table at ``path`` into its own CSV file under ``folder``.

    Parameters
    ----------
    path
        A CSV table (compressed too) whose header names the columns ``group_by``.
    group_by
        The device columns: the values of a row there name its device (text as written: ``7`` and ``07`` are two).
    folder
        An existing folder for the devices' files (``device<N>.csv``).

    Returns
    -------
    DeviceTables
        The devices in the order each first appears, and the lines skipped for an empty device cell.

    Raises
    ------
    ValueError
        One line naming the file: no header, a device column the header lacks (naming the header) or names twice.
    """
    path, folder = Path(path), Path(folder)
    lines = _Numbered(_lines(path))
    sep_line, sep, columns, header = _header(path, lines, group_by)
    last = max(columns)
    found: dict[tuple[str, ...], DeviceFile] = {}
    tables = DeviceTables([], header, delimited(sep, skip=1 if sep_line else 0))
    held = 0

    numbers = folder / "devices.lines"

    def write_out() -> None:
        with open(numbers, "ab") as shared:
            for device in tables.devices:
                if device._waiting:
                    with open(device.path, "a", encoding="utf-8", newline="") as handle:
                        handle.write("".join(device._waiting))
                    if device._waiting_lines:
                        device._runs.append((device._written, shared.tell()))
                        array("q", device._waiting_lines).tofile(shared)
                        device._written += len(device._waiting_lines)
                    device._waiting.clear()
                    device._waiting_lines.clear()

    one = columns[0] if len(columns) == 1 else None
    for line in lines:
        if not line.strip() or (line.lstrip().startswith("#") and is_comment(line)):
            continue
        key: tuple[str, ...] = ()
        text = ""
        if one is not None and '"' not in line:  # one device column, no quotes: its cell cut out of the text
            cut = _without_cell(line, sep, one)
            if cut is not None and (cut[0].strip(),) in found:  # a device seen before (a new one: the fields)
                key, text = (cut[0].strip(),), cut[1]
        if not key:
            fields = _split(line, sep)
            if len(fields) > last:
                key = tuple(fields[i].strip() for i in columns)
            if not key or not all(key):
                tables.no_device += 1
                tables.no_device_line = tables.no_device_line or line
                continue
            if key not in found:
                device = found[key] = DeviceFile(key, folder / f"device{len(found)}.csv",
                                                 first_row_line=3 if sep_line else 2, lines_path=numbers)
                device._waiting.append(f"{sep_line}\n" if sep_line else "")
                device._waiting.append(header + "\n")
                held += len(sep_line) + len(header)
                tables.devices.append(device)
            rest = [cell for i, cell in enumerate(fields) if i not in columns]
            text = (csv_line(rest, sep) if '"' in line else sep.join(rest)) + "\n"
        device = found[key]
        device._waiting.append(text)
        device._waiting_lines.append(lines.number)
        device.rows += 1
        held += len(text)
        if held > BUFFER_CHARS:
            write_out()
            held = 0
    write_out()
    if tables.no_device:
        from tsae.io.tables import TableWarning

        warnings.warn(f"{path}: {tables.no_device} row(s) without a device (an empty {', '.join(group_by)} cell) "
                      f"skipped, such as {tables.no_device_line[:60]!r}", TableWarning, stacklevel=2)
    return tables


__all__ = ["BUFFER_CHARS", "DeviceFile", "DeviceTables", "csv_line", "device_name", "split_devices"]
