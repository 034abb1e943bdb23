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
the first value of the last series, at the end of the file; and a series may come back in a later table (another
result, a query in windows), so the rows of one ``_time`` may lie anywhere in the file. The values are written
instead, a chunk at a time, to an unnamed temporary file (16 bytes a value, in ``TMPDIR``; a fraction of the export's
text), each series then copied there in time order (read a chunk at a time when its tables bring it in order, as
Flux writes them; a series out of order is sorted in memory, alone), and the wide lines merged from the series a
block at a time: memory is a few blocks, whatever the length of the export. A long export read in blocks is pivoted
once: the passes after the first read the wide text it kept (:mod:`~tsae.io.wide_copy`). A cell that is not a value
of a sensor
(a string field, a time that is none) is an error naming its line in the file.
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

from tsae.io.spill_file import SpillFile
from tsae.io.table_cells import _is_missing, boolean, is_comment
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
#: the most values of all series together that one block of the merge reads (each series a share)
_MERGE_VALUES = 1 << 18


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


class _Spill(SpillFile):
    """Arrays of 8-byte items spilled while the export is pivoted (:class:`~tsae.io.spill_file.SpillFile`), read back
    by where they were put."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, prefix="tsae-influx-", holds="hold its values", during="while it is pivoted")

    def put(self, array: np.ndarray) -> int:
        """Write ``array`` (int64 or float64) at the end; returns its byte offset."""
        return self.append(np.ascontiguousarray(array).tobytes())

    def get(self, offset: int, count: int, dtype: Any) -> np.ndarray:
        """``count`` items of ``dtype`` from byte ``offset``."""
        return np.frombuffer(self.read(offset, count * 8), dtype=dtype)


@dataclass
class _Series:
    """One series: the file line of its first value, and its chunks in the spill (times' and values' offsets, and
    their count), in the order the file brings them; and whether their times never go back (as Flux writes a table's
    rows), and the last of them."""

    line: int
    chunks: list[tuple[int, int, int]] = field(default_factory=list)
    in_order: bool = True
    last: int | None = None

    def add(self, spill: _Spill, times: np.ndarray, values: np.ndarray) -> None:
        """Put a chunk of the series' ``times`` (int64 ns) and ``values`` in ``spill``."""
        if self.in_order:
            self.in_order = bool((self.last is None or times[0] >= self.last) and (times[1:] >= times[:-1]).all())
        self.last = int(times[-1])
        self.chunks.append((spill.put(times), spill.put(values), times.size))


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

    def __init__(self, path: Path, spill: _Spill) -> None:
        self.path = path
        self.spill = spill
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
            names, cells_of_key, field_name, is_boolean = raw
            pairs = zip(names, (c.strip() for c in (cells_of_key if len(names) != 1 else (cells_of_key,))), strict=True)
            # by name: a series whose tables have their columns in another order is the same series
            key = tuple(sorted([*pairs, *([] if field_name is None else [("_field", field_name)])]))
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = _Series(lines[rows[0]])
            values = self._values([self.values[i] for i in rows], [lines[i] for i in rows], is_boolean,
                                  dict(key).get("_field", ""))
            series.add(self.spill, times[rows].astype(np.int64), values)
        for held in (self.lines, self.keys, self.times, self.values):
            held.clear()

    def _values(self, cells: list[str], lines: list[int], is_boolean: bool, name: str) -> np.ndarray:
        """The numbers of a series' ``cells`` (on ``lines``): missing ones NaN, ``true``/``false`` 1 and 0 for a
        boolean field; a cell that is none is an error naming its line."""
        if not is_boolean:
            try:
                return np.array(cells, dtype=np.float64)  # plain numbers, all of them, as nearly always
            except ValueError:
                pass
        values = np.empty(len(cells))
        for i, cell in enumerate(cells):
            text = cell.strip()
            flag = boolean(text) if is_boolean else None  # true/false, in any case, as a table's cells
            if _is_missing(text):
                values[i] = math.nan
            elif flag is not None:
                values[i] = flag
            else:
                try:
                    values[i] = float(text)
                except ValueError:
                    raise ValueError(f"{self.path}: line {lines[i]}: _value of field {name!r} is not a number "
                                     f"({text!r}): tsae reads numeric fields (filter the others out: |> filter(fn: "
                                     f"(r) => r._field != \"{name}\"))") from None
        return values


def _read(path: Path, lines: Iterable[str], spill: _Spill) -> dict[tuple[tuple[str, str], ...], _Series]:
    """The series of an export's lines (see the module notes), each with its values in chunks in ``spill``."""
    reader = csv.reader(lines, InfluxCsv)
    collector = _Collector(path, spill)
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


def _clash(path: Path, name: str, time: int, a: float, b: float) -> ValueError:
    when = np.datetime_as_string(np.int64(time).astype("datetime64[ns]"), unit=_unit(np.array([time])))
    return ValueError(f"{path}: series {name!r} has two values at {when}Z ({float(a)!r} and {float(b)!r})")


def _unique(path: Path, name: str, times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``times`` and their ``values`` with each time once; two different values at one time are an error."""
    twice = np.flatnonzero(times[1:] == times[:-1])
    if twice.size:
        a, b = values[twice], values[twice + 1]
        clash = twice[~((a == b) | (np.isnan(a) & np.isnan(b)))]
        if clash.size:
            i = int(clash[0])
            raise _clash(path, name, int(times[i]), values[i], values[i + 1])
        keep = np.concatenate([[True], times[1:] != times[:-1]])
        times, values = times[keep], values[keep]
    return times, values


#: the units of :func:`_unit`, coarsest first
_UNITS: tuple[Literal["s", "ms", "us", "ns"], ...] = ("s", "ms", "us", "ns")


@dataclass
class _Sorted:
    """A series in time order, each time once, in the sorted spills: where its times and its values start, how many,
    and the finest unit its times need (an index in :data:`_UNITS`)."""

    times: int
    values: int
    n: int
    unit: int = 0


def _sorted(path: Path, name: str, series: _Series, raw: _Spill, out_times: _Spill, out_values: _Spill) -> _Sorted:
    """A series' values (in ``raw``) copied to ``out_times`` and ``out_values`` in time order, each time once: chunk
    by chunk when its chunks come in order, else sorted in memory (the series alone). Two different values at one
    time are an error."""
    chunks = series.chunks
    if not series.in_order:
        times = np.concatenate([raw.get(t, n, np.int64) for t, _, n in chunks])
        values = np.concatenate([raw.get(v, n, np.float64) for _, v, n in chunks])
        order = np.argsort(times, kind="stable")
        times, values = _unique(path, name, times[order], values[order])
        return _Sorted(out_times.put(times), out_values.put(values), times.size, _UNITS.index(_unit(times)))
    found = _Sorted(out_times.end, out_values.end, 0)
    previous: tuple[np.ndarray, np.ndarray] | None = None  # the time and value the chunk before ended with
    for t, v, n in chunks:
        times, values = raw.get(t, n, np.int64), raw.get(v, n, np.float64)
        if previous is not None:
            times, values = np.concatenate([previous[0], times]), np.concatenate([previous[1], values])
        times, values = _unique(path, name, times, values)
        new = slice(0 if previous is None else 1, None)  # the time carried over is written already
        out_times.put(times[new])
        out_values.put(values[new])
        found.n += times[new].size
        if times[new].size:
            found.unit = max(found.unit, _UNITS.index(_unit(times[new])))
        previous = times[-1:], values[-1:]
    return found


def _merged(columns: list[_Sorted], times: _Spill, values: _Spill) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The times any of the sorted series has a value at, in order, a block at a time (at most :data:`_WIDE_ROWS`),
    each with the ``(series, rows)`` array of the series' values (NaN where one has none). Each block reads at most
    :data:`_MERGE_VALUES` values of all series together."""
    window = max(64, _MERGE_VALUES // max(1, len(columns)))
    done = [0] * len(columns)
    while any(d < c.n for d, c in zip(done, columns, strict=True)):
        ahead: list[np.ndarray | None] = []
        bound: int | None = None  # the last time this block may hold: every series' values up to it are read
        for d, column in zip(done, columns, strict=True):
            if d >= column.n:
                ahead.append(None)
                continue
            m = min(window, column.n - d)
            seen = times.get(column.times + 8 * d, m, np.int64)
            ahead.append(seen)
            if d + m < column.n:
                bound = int(seen[-1]) if bound is None else min(bound, int(seen[-1]))
        union = np.unique(np.concatenate([a for a in ahead if a is not None]))
        if bound is not None:
            union = union[union <= bound]
        block = union[:_WIDE_ROWS]
        wide = np.full((len(columns), len(block)), np.nan)
        for k, (read, column) in enumerate(zip(ahead, columns, strict=True)):
            if read is None:
                continue
            take = int(np.searchsorted(read, block[-1], side="right"))
            if take:
                wide[k, np.searchsorted(block, read[:take])] = values.get(column.values + 8 * done[k], take,
                                                                          np.float64)
                done[k] += take
        yield block, wide


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
        ``_field``, a ragged row, the query's error table; two values of a series at one time; no data rows; no
        room in the temporary folder for the values.
    """
    path = Path(path)
    raw = _Spill(path)
    try:
        series = _read(path, lines, raw)
        keys = sorted(series, key=lambda key: series[key].line)  # in the order the file brings them
        names = series_names(keys)
        times, values = _Spill(path), _Spill(path)
        try:
            columns = [_sorted(path, name, series.pop(key), raw, times, values)
                       for name, key in zip(names, keys, strict=True)]
        except BaseException:
            times.close()
            values.close()
            raise
    finally:
        raw.close()
    try:
        yield ",".join(_header_cell(name) for name in ["_time", *names]) + "\n"
        unit = _UNITS[max(column.unit for column in columns)]
        for block, wide in _merged(columns, times, values):
            stamps = np.datetime_as_string(block.astype("datetime64[ns]"), unit=unit)
            for i, stamp in enumerate(stamps):
                yield stamp + "Z," + ",".join(_cell(x) for x in wide[:, i].tolist()) + "\n"
    finally:
        times.close()
        values.close()


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
