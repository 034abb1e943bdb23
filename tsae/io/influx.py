"""InfluxDB CSV exports (annotated CSV, Flux's and the UI's default): read as the wide table they pivot to.

An export is in long form, a row per value::

    #group,false,false,true,true,false,false,true,true,true
    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string
    #default,_result,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,host
    ,,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:00:00Z,21.5,temp,air,a

one table after another (one per series: a field of a measurement with its tags), and several results or queries
concatenated, each with its annotations and header again after a blank line. :func:`influx_lines` turns such a file
into the lines of a plain table: a ``_time`` column and one column per series, named after its ``_field`` (with the
measurement, ``air.temp``, when fields of several measurements share a name, and ``name=value`` of each tag or result
whose value tells series of a field apart, ``temp host=a``), missing where a series has no value at a time. A table
pivoted already (``|> pivot(rowKey: ["_time"], ...)``: no ``_value`` and ``_field``, a column per field) is read the
same way, its columns of numbers (by their ``#datatype``) its fields.

The pivot cannot be done line by line: the series come one after another (a table each), so the first wide row needs
the first value of the last series, at the end of the file. The values are held instead as arrays (16 bytes per value,
about what the table read whole takes), sorted by time, and the wide lines made from them a block at a time. A cell
that is not a value of a sensor (a string field, a time that is none) is an error naming its line in the file.
"""
from __future__ import annotations

import csv
import math
import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tsae.io.table_cells import _is_missing, is_comment
from tsae.io.table_time import _clean_dates, _first_non_date, _not_a_date, _parse_dates

#: the annotation rows of annotated CSV, before each table's header
ANNOTATIONS = ("#group", "#datatype", "#default")
#: the columns of an export that are no tag: the annotation column, the result and table, the query's range, the
#: time, the value, its field and measurement
_NOT_TAGS = {"", "result", "table", "_start", "_stop", "_time", "_value", "_field", "_measurement"}
#: data rows collected before they are converted to arrays
_ROWS = 1 << 16
#: wide rows made at a time
_WIDE_ROWS = 1 << 14
#: Influx's boolean values, as numbers
_BOOLEANS = {"true": 1.0, "false": 0.0}


class InfluxCsv(csv.excel):
    """The dialect of an InfluxDB CSV export (read through :func:`influx_lines`)."""


def influx_dialect(sample: str) -> type[csv.Dialect] | None:
    """:class:`InfluxCsv` when a sample of a text starts as an InfluxDB export (an annotation row, or the header of
    one without: ``_time``, ``_value`` and ``_field`` among its names), else None.

    Examples
    --------
    >>> influx_dialect("#group,false,true\\n#datatype,string,long\\n").__name__
    'InfluxCsv'
    >>> influx_dialect(",result,table,_time,_value,_field\\n,,0,2024-01-01T00:00:00Z,1,t\\n").__name__
    'InfluxCsv'
    >>> influx_dialect("time,flow\\n0,1\\n") is None, influx_dialect("_value,_field\\n1,t\\n") is None
    (True, True)
    """
    for line in sample.lstrip("\ufeff").splitlines()[:64]:
        if not line.strip():
            continue
        if line.split(",", 1)[0].strip() in ANNOTATIONS:
            return InfluxCsv
        if is_comment(line):
            continue
        names = {cell.strip() for cell in next(csv.reader([line]), [])}
        return InfluxCsv if {"_time", "_value", "_field"} <= names else None
    return None


@dataclass
class _Series:
    """The values of one series, a chunk of arrays at a time, and the file line of its first."""

    line: int
    times: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)


@dataclass
class _Segment:
    """One table's header (and its annotations): where its time, values and key cells are."""

    time: int
    #: (index, field, boolean) of each value cell: ``_value`` (its field in ``_field``, None here), or in a table
    #: pivoted already, each column of numbers (its field its name)
    values: list[tuple[int, str | None, bool]]
    names: tuple[str, ...]  # of the cells that tell its series: result, measurement, field, tags
    key: Callable[[list[str]], Any]  # a row's cells of those, a tuple (or one cell)
    defaults: list[tuple[int, str]]  # (index, default) of the cells read that an empty one takes the default of


#: the datatypes of annotated CSV whose values a sensor's are
_NUMERIC = {"double", "long", "unsignedlong", "boolean"}


def _segment(path: Path, line: int, header: list[str], group: list[str] | None, datatype: list[str] | None,
             default: list[str] | None) -> _Segment:
    """The :class:`_Segment` of a table's ``header`` (on ``line``) and its annotation rows (None: not given): in
    long form (``_value`` and ``_field``), or pivoted already (``|> pivot()``: a column of numbers per field, their
    ``#datatype`` told)."""
    names = [name.strip() for name in header]
    kinds = [kind.strip().lower() for kind in datatype or []] + [""] * len(names)
    grouped = [True] * len(names) if group is None else [cell.strip().lower() == "true" for cell in group]
    grouped += [False] * len(names)
    if "_value" in names and "_field" in names:
        value = names.index("_value")
        values: list[tuple[int, str | None, bool]] = [(value, None, kinds[value] == "boolean")]
    else:
        values = [(j, name, kinds[j] == "boolean") for j, name in enumerate(names)
                  if name not in _NOT_TAGS and kinds[j] in _NUMERIC and not grouped[j]]
    if "_time" not in names or not values:
        if "error" in names:
            raise ValueError(f"{path}: line {line}: the export holds an error of the query, not its data")
        lacks = "a _time column" if "_time" not in names else "_value and _field columns (or columns of numbers)"
        raise ValueError(f"{path}: line {line}: an InfluxDB export's header without {lacks}")
    time = names.index("_time")
    keys = [j for j, name in enumerate(names) if name in ("result", "_measurement", "_field")
            or name not in _NOT_TAGS and grouped[j] and all(j != v for v, _, _ in values)]
    defaults = [(j, default[j]) for j in (time, *(v for v, _, _ in values), *keys)
                if default is not None and j < len(default) and default[j].strip()]
    key = operator.itemgetter(*keys) if keys else (lambda row: ())
    return _Segment(time, values, tuple(names[j] for j in keys), key, defaults)


#: a series as a collector meets it: its segment's key names, its key cells, its field (None: in its key cells),
#: whether its values are booleans
_RawKey = tuple[tuple[str, ...], Any, str | None, bool]


class _Collector:
    """The values of the data rows read so far, by series; a chunk of rows is converted to arrays at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.series: dict[tuple[tuple[str, str], ...], _Series] = {}
        self.lines: list[int] = []
        self.keys: list[_RawKey] = []
        self.times: list[str] = []
        self.values: list[str] = []

    def flush(self) -> None:
        """Convert the rows collected to arrays, each series' to its own."""
        if not self.lines:
            return
        lines = self.lines
        cells = [cell[:-1] if cell.endswith("Z") else cell for cell in self.times]  # Influx's times are UTC
        cleaned = _clean_dates(cells)
        times = _parse_dates(cleaned)
        if times is None or np.isnat(times).any():
            i = _first_non_date(cleaned) if times is None else int(np.flatnonzero(np.isnat(times))[0])
            why = _not_a_date(cleaned[i]) if times is None else " (empty)"
            raise ValueError(f"{self.path}: line {lines[i]}: _time {self.times[i].strip()!r} is not a time{why}")
        by_key: dict[_RawKey, list[int]] = {}
        for i, raw in enumerate(self.keys):
            by_key.setdefault(raw, []).append(i)
        for raw, rows in by_key.items():
            names, cells_of_key, field_name, boolean = raw
            pairs = zip(names, (c.strip() for c in (cells_of_key if len(names) != 1 else (cells_of_key,))), strict=True)
            # by name: a series whose tables have their columns in another order is the same series
            key = tuple(sorted([*pairs, *([] if field_name is None else [("_field", field_name)])]))
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = _Series(lines[rows[0]])
            series.times.append(times[rows].astype(np.int64))
            series.values.append(self._values([self.values[i] for i in rows], [lines[i] for i in rows], boolean,
                                              dict(key).get("_field", "")))
        for held in (self.lines, self.keys, self.times, self.values):
            held.clear()

    def _values(self, cells: list[str], lines: list[int], boolean: bool, name: str) -> np.ndarray:
        """The numbers of a series' ``cells`` (on ``lines``): missing ones NaN, ``true``/``false`` 1 and 0 for a
        boolean field; a cell that is none is an error naming its line."""
        if not boolean:
            try:
                return np.array(cells, dtype=np.float64)  # plain numbers, all of them, as nearly always
            except ValueError:
                pass
        values = np.empty(len(cells))
        for i, cell in enumerate(cells):
            text = cell.strip()
            if _is_missing(text):
                values[i] = math.nan
            elif boolean and text.lower() in _BOOLEANS:
                values[i] = _BOOLEANS[text.lower()]
            else:
                try:
                    values[i] = float(text)
                except ValueError:
                    raise ValueError(f"{self.path}: line {lines[i]}: _value of field {name!r} is not a number "
                                     f"({text!r}): tsae reads numeric fields (filter the others out: |> filter(fn: "
                                     f"(r) => r._field != \"{name}\"))") from None
        return values


def _read(path: Path, lines: Iterable[str]) -> dict[tuple[tuple[str, str], ...], _Series]:
    """The series of an export's lines (see the module notes), each with its values in chunks."""
    reader = csv.reader(lines, InfluxCsv)
    collector = _Collector(path)
    annotations: dict[str, list[str]] = {}
    segment: _Segment | None = None
    header: list[str] = []
    try:
        for row in reader:
            if not any(row):  # a blank line ends a table's block
                segment, header, annotations = None, [], {}
                continue
            if row[0]:  # an annotation row, a comment, or a header whose first name is not empty
                first = row[0].strip()
                if first in ANNOTATIONS:
                    annotations[first] = row
                    segment, header = None, []
                    continue
                if is_comment(row[0]):
                    continue
            if segment is None or row == header:  # a header repeated without a blank line before it
                segment, header = _segment(path, reader.line_num, row, annotations.get("#group"),
                                           annotations.get("#datatype"), annotations.get("#default")), row
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}: line {reader.line_num} has {len(row)} fields, expected {len(header)}")
            for j, default in segment.defaults:
                if not row[j].strip():
                    row[j] = default
            cells = segment.key(row)
            for j, field_name, boolean in segment.values:
                collector.lines.append(reader.line_num)
                collector.keys.append((segment.names, cells, field_name, boolean))
                collector.times.append(row[segment.time])
                collector.values.append(row[j])
            if len(collector.lines) >= _ROWS:
                collector.flush()
    except csv.Error as error:
        raise ValueError(f"{path}: line {reader.line_num}: {error}") from None
    collector.flush()
    if not collector.series:
        raise ValueError(f"{path}: an InfluxDB export without data rows")
    return collector.series


def series_names(keys: list[tuple[tuple[str, str], ...]]) -> list[str]:
    """A column name for each series ``key`` (its ``(name, value)`` cells: result, measurement, field, tags): the
    field's, with the measurement (``air.temp``) when fields of several share its name, and ``name=value`` of each
    other cell whose value tells two series of the field apart (``temp host=a``).

    Examples
    --------
    >>> series_names([(("_field", "temp"), ("host", "a")), (("_field", "rh"), ("host", "a"))])
    ['temp', 'rh']
    >>> series_names([(("_measurement", "air"), ("_field", "t"), ("host", "a")),
    ...               (("_measurement", "air"), ("_field", "t"), ("host", "b")),
    ...               (("_measurement", "soil"), ("_field", "t"), ("host", "a"))])
    ['air.t host=a', 'air.t host=b', 'soil.t host=a']
    """
    cells = [dict(key) for key in keys]
    by_field: dict[str, list[dict[str, str]]] = {}
    for cell in cells:
        by_field.setdefault(cell.get("_field", ""), []).append(cell)
    names = []
    for cell in cells:
        same = by_field[cell.get("_field", "")]
        measurements = {other.get("_measurement", "") for other in same}
        name = cell.get("_field", "")
        if len(measurements) > 1:
            name = f"{cell.get('_measurement', '')}.{name}"
        telling = sorted({k for other in same for k in set(other) | set(cell)
                          if k not in ("_field", "_measurement") and other.get(k) != cell.get(k)})
        names.append(" ".join([name, *(f"{k}={cell[k]}" for k in telling if cell.get(k))]))
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # tags that are empty in one series and not in another could still clash
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} ({seen[name]})"
    return names


def _sorted(path: Path, name: str, series: _Series) -> tuple[np.ndarray, np.ndarray]:
    """A series' times (int64 ns) and values in time order; two different values at one time are an error."""
    times = np.concatenate(series.times)
    values = np.concatenate(series.values)
    series.times.clear()
    series.values.clear()
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    twice = np.flatnonzero(times[1:] == times[:-1])
    if twice.size:
        a, b = values[twice], values[twice + 1]
        clash = twice[~((a == b) | (np.isnan(a) & np.isnan(b)))]
        if clash.size:
            i = int(clash[0])
            when = np.datetime_as_string(times[i].astype("datetime64[ns]"), unit=_unit(times[i: i + 1]))
            raise ValueError(f"{path}: series {name!r} has two values at {when}Z ({float(values[i])!r} and "
                             f"{float(values[i + 1])!r})")
        keep = np.concatenate([[True], times[1:] != times[:-1]])
        times, values = times[keep], values[keep]
    return times, values


def _cell(value: float) -> str:
    return "" if value != value else repr(value)


def influx_lines(path: str | Path, lines: Iterable[str]) -> Iterator[str]:
    """The lines of the wide table an InfluxDB export (its text's ``lines``) pivots to (see the module notes): a
    header (``_time`` and one name per series, :func:`series_names`), then a row per time any series has a value at,
    in time order, its times in UTC (``Z``), a series without a value at it an empty cell.

    Raises
    ------
    ValueError
        ``"<path>: line <n>: ..."``: a time or value that is none, a header without ``_time``, ``_value`` or
        ``_field``, a ragged row, the query's error table; two values of a series at one time; no data rows.
    """
    path = Path(path)
    series = _read(path, lines)
    keys = sorted(series, key=lambda key: series[key].line)  # in the order the file brings them
    names = series_names(keys)
    columns = [_sorted(path, name, series.pop(key)) for name, key in zip(names, keys, strict=True)]
    times = np.unique(np.concatenate([t for t, _ in columns]))
    writer_names = [_header_cell(name) for name in ["_time", *names]]
    yield ",".join(writer_names) + "\n"
    unit = _unit(times)
    starts = [0] * len(columns)
    for a in range(0, len(times), _WIDE_ROWS):
        block = times[a: a + _WIDE_ROWS]
        wide = np.full((len(columns), len(block)), np.nan)
        for k, (t, v) in enumerate(columns):
            end = int(np.searchsorted(t, block[-1], side="right"))
            part = slice(starts[k], end)
            wide[k, np.searchsorted(block, t[part])] = v[part]
            starts[k] = end
        stamps = np.datetime_as_string(block.astype("datetime64[ns]"), unit=unit)
        for i, stamp in enumerate(stamps):
            yield stamp + "Z," + ",".join(_cell(x) for x in wide[:, i].tolist()) + "\n"


def _unit(times: np.ndarray) -> Literal["s", "ms", "us", "ns"]:
    """The coarsest of seconds, milli-, micro- and nanoseconds that writes each of ``times`` (int64 ns) whole."""
    if not (times % 10**9).any():
        return "s"
    if not (times % 10**6).any():
        return "ms"
    return "us" if not (times % 10**3).any() else "ns"


def _header_cell(name: str) -> str:
    """A column name as a CSV cell (quoted when it holds a comma or quote)."""
    return f'"{name.replace(chr(34), chr(34) * 2)}"' if any(c in name for c in ',"\r\n') else name


__all__ = ["ANNOTATIONS", "InfluxCsv", "influx_dialect", "influx_lines", "series_names"]
