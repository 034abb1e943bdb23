"""CSV lines whose device is named in columns (``time,host,flow,...``): the device of each row, and the row without
those columns, for :class:`~tsae.pipelines.anomaly.devices.DeviceMonitors`.

A long-format table of a fleet (one row per device and time, as most exports write it) names the device in a column,
not in a tag. The header line names the device columns (``group_by``); each row's cells there are its device's key,
and the rest of the row (and of the header) is what that device's monitor reads, as if its rows came alone: the
device's records carry the device as tags, as line protocol's do.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import NamedTuple

from tsae.io.records import _header_names, _is_number, _split
from tsae.io.table_dialect import separator_line, sniff_delimiter


class CsvRow(NamedTuple):
    """A CSV line routed: ``kind`` ``"header"`` (``line`` the header without the device columns), ``"row"`` (``key``
    the device, ``line`` the row without its device cells), ``"no_device"`` (a device cell empty), ``"skip"`` (a
    ``sep=`` line) or ``"malformed"`` (``line``: why)."""

    kind: str
    key: tuple[str, ...] | None
    line: str


def _joined(fields: Sequence[str], sep: str, quoted: bool) -> str:
    """``fields`` as a CSV line again: as split when no field was quoted, else quoted where needed."""
    if not quoted:
        return sep.join(fields)
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="").writerow(fields)
    return out.getvalue()


class CsvDeviceColumns:
    """Route CSV lines by the device columns ``group_by`` their header names.

    Parameters
    ----------
    group_by
        The names of the device columns (``("host",)``).
    sensors
        The detector's sensors: a first line that names none of them nor a device column is a stray line (malformed),
        not a header without the device columns (an error). None: any such line is an error.

    Examples
    --------
    >>> router = CsvDeviceColumns(("host",))
    >>> router.route("time,host,flow")
    CsvRow(kind='header', key=None, line='time,flow')
    >>> router.route("0,pump-1,9.5")
    CsvRow(kind='row', key=('pump-1',), line='0,9.5')
    """

    def __init__(self, group_by: Sequence[str], sensors: Sequence[str] | None = None) -> None:
        self.group_by = tuple(group_by)
        self.sensors = None if sensors is None else frozenset(sensors)
        self.sep: str | None = None
        self.columns: tuple[int, ...] | None = None  # where the device columns are (None: no header yet)
        self.width = 0
        self.header = ""  # the header without the device columns
        self.version = 0  # headers taken so far: a device's monitor reads the one in force before its rows

    def route(self, line: str) -> CsvRow:
        """The device of a CSV ``line`` (stripped, not empty, no comment) and the line as its monitor reads it.

        Raises
        ------
        ValueError
            The first header names no device column (but a sensor), or rows come before any header: one line naming
            the columns and the header (the stream cannot be split into devices).
        """
        if self.columns is None and self.sep is None:
            named = separator_line(line)  # Excel's "sep=;" before the header
            if named is not None:
                self.sep = named
                return CsvRow("skip", None, line)
        sep = self.sep or sniff_delimiter(line)
        fields = _split(line, sep)
        names = _header_names(fields)
        if self._is_header(names):
            return self._take_header(line, sep, names)
        if self.columns is None:
            if not any(_is_number(name) for name in names) and self.sensors is not None and \
                    self.sensors.isdisjoint(names):  # no header of this stream: a stray line ("hello world")
                return CsvRow("malformed", None, f"a line naming none of the detector's sensors nor a device column "
                                                 f"{self._wanted()} (--group-by): {line[:60]!r}")
            if not any(_is_number(name) for name in names):
                raise ValueError(f"the CSV header {line[:80]!r} has no column {self._wanted()} (--group-by): "
                                 "name the column(s) that hold each row's device")
            raise ValueError(f"CSV rows without a header naming the device column(s) {self._wanted()} "
                             f"(--group-by), such as {line[:60]!r}: start the stream with the header line")
        if len(fields) <= max(self.columns):  # the device cells missing (a row of another width is its monitor's)
            return CsvRow("malformed", None, f"a CSV row of {len(fields)} field(s) under a header of {self.width}: "
                                             f"{line[:60]!r}")
        key = tuple(fields[i].strip() for i in self.columns)
        if not all(key):
            return CsvRow("no_device", None, line)
        rest = [field for i, field in enumerate(fields) if i not in self.columns]
        return CsvRow("row", key, _joined(rest, sep, '"' in line))

    def _wanted(self) -> str:
        return ", ".join(self.group_by)

    def _is_header(self, names: tuple[str, ...]) -> bool:
        """Whether ``names`` are a header naming every device column (and no number: a row of such device ids)."""
        return all(name in names for name in self.group_by) and not any(_is_number(name) for name in names)

    def _take_header(self, line: str, sep: str, names: tuple[str, ...]) -> CsvRow:
        columns = tuple(names.index(name) for name in self.group_by)
        fields = list(names)
        if (sep, columns, len(fields)) != (self.sep, self.columns, self.width) or \
                self.header != _joined([f for i, f in enumerate(fields) if i not in columns], sep, '"' in line):
            self.version += 1
        self.sep, self.columns, self.width = sep, columns, len(fields)
        self.header = _joined([f for i, f in enumerate(fields) if i not in columns], sep, '"' in line)
        return CsvRow("header", None, self.header)


__all__ = ["CsvDeviceColumns", "CsvRow"]
