"""InfluxDB line protocol and Telegraf's JSON metrics, one record at a time: the syntax only.

A line of line protocol (Telegraf's default ``data_format = "influx"``) is::

    measurement[,tag=value...] field=value[,field=value...] [timestamp]

with ``\\,``, ``\\ `` and ``\\=`` escaping those characters in names and tag values, field values that are floats
(``9.5``, ``1e3``), integers (``12i``), unsigned integers (``12u``), booleans (``t``, ``true``, ``F``, ...) or strings
in double quotes (``"ok"``, ``\\"`` and ``\\\\`` escaped inside), and an integer timestamp (nanoseconds since the
epoch unless the writer's precision says otherwise; any other timestamp is kept as text, to be read as any record's
time is). A number too large for a float (``1e999``, an integer of 310
digits) reads as infinite, as a table's cell does: a missing value of its sensor, not a bad line; so does a value
that is not finite (``nan``, ``inf``, ``-Infinity``), which line protocol has not but a writer's float may print.
Telegraf's JSON serializer writes the same metric as
``{"fields": {...}, "name": ..., "tags": {...}, "timestamp": ...}`` (seconds by default, its
``json_timestamp_units``), or a batch of them as ``{"metrics": [...]}``.

:func:`parse_line` and :func:`json_metric` turn a record into a :class:`Metric`; what it means for a detector (which
field is which sensor, which series is read) is :mod:`tsae.io.metric_rows`' job.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Any, NamedTuple

#: the timestamp precisions a writer may use, as nanoseconds per unit
PRECISIONS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

_DIGITS = frozenset("0123456789.")
_TRUE = {"t", "T", "true", "True", "TRUE"}
_FALSE = {"f", "F", "false", "False", "FALSE"}
_FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INTEGER = re.compile(r"[-+]?\d+")
_NUMBER = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
#: a field set of floats only (no escapes, quotes or spaces: :func:`_plain`'s lines)
_NUMBER_FIELDS = re.compile(rf"[^=,]+={_NUMBER}(?:,[^=,]+={_NUMBER})*")
_INF = float("inf")
#: a float's spellings that are not finite (``nan``, ``-inf``, ``Infinity``): a missing value of its sensor
_NOT_FINITE = frozenset({"nan", "inf", "infinity"})
_FIELD = re.compile(r'([^=,\s"]+)=(?:"([^"]*)"|([^,\s"]+))')
#: a string field's value (``str``: not a number; a sensor given one has a missing value)
Value = float | str


class Metric(NamedTuple):
    """One record: its measurement, tags, fields (numbers, booleans as 1/0, strings) and timestamp (an integer
    in the writer's precision, a number, text (an ISO date, or a time that cannot be read), or None: none given)."""

    measurement: str
    tags: dict[str, str]
    fields: dict[str, Value]
    timestamp: int | float | str | None


def looks_like_line_protocol(line: str) -> bool:
    """Whether a (stripped, non-comment) line reads as line protocol: a name, then a field set of ``key=value``.

    A CSV header or row has no ``=`` after its first space; a JSON line starts with ``{`` or ``[``.

    Examples
    --------
    >>> looks_like_line_protocol('pump,host=a flow=9.5,status="ok" 1709251200000000000')
    True
    >>> looks_like_line_protocol("time,flow,pressure"), looks_like_line_protocol("0 9.51 1.90")
    (False, False)
    """
    if line[:1] in "{[#" or "=" not in line:
        return False
    try:
        parse_line(line)
    except ValueError:
        return False
    return True


def parse_line(line: str) -> Metric:
    """One line of line protocol (stripped, no comment) as a :class:`Metric`; a ValueError saying what is wrong.

    Examples
    --------
    >>> parse_line('pump,host=a flow=9.5,n=3i,on=t,note="a b" 1709251200000000000')
    Metric(measurement='pump', tags={'host': 'a'}, fields={'flow': 9.5, 'n': 3.0, 'on': 1.0, 'note': 'a b'}, \
timestamp=1709251200000000000)
    >>> parse_line(r'my\\ pump flow\\,in=1')
    Metric(measurement='my pump', tags={}, fields={'flow,in': 1.0}, timestamp=None)
    """
    if "\\" not in line:
        return _plain(line) if '"' not in line else _quoted_fields(line) or _escaped(line)
    return _escaped(line)


def _plain(line: str) -> Metric:
    """:func:`parse_line` for a line without escapes or quotes (most lines): split at spaces, commas and ``=``."""
    parts = line.split()
    if len(parts) not in (2, 3):
        raise ValueError("expected 'measurement[,tags] fields [timestamp]'")
    measurement, tags = _series(parts[0])
    if _NUMBER_FIELDS.fullmatch(parts[1]):  # most lines: every value a float, checked at once
        flat = parts[1].replace("=", ",").split(",")  # key, value, key, value... (one "=" a field, matched)
        # (a float too large, 1e999, is infinite: a missing value of its sensor, as a table's cell)
        read: dict[str, Value] = dict(zip(flat[::2], map(float, flat[1::2]), strict=True))
        return Metric(measurement, tags, read, _timestamp(parts[2]) if len(parts) == 3 else None)
    fields: dict[str, Value] = {}
    for pair in parts[1].split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"field {pair[:40]!r} is not key=value")
        fields[key] = _value(value)
    return Metric(measurement, tags, fields, _timestamp(parts[2]) if len(parts) == 3 else None)


@functools.lru_cache(maxsize=4096)
def _series(head: str) -> tuple[str, dict[str, str]]:
    """The measurement and tags of a line's first part without escapes (read once per series: a stream repeats
    them on every line; the dict is shared by the metrics of that series, and read only)."""
    series = head.split(",")
    tags = {}
    for pair in series[1:]:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"tag {pair[:40]!r} is not key=value")
        tags[key] = value
    return _name(series[0]), tags


def line_tags(line: str) -> dict[str, str]:
    """The tags of a line of line protocol (stripped, no comment), read from its first part; a ValueError when they
    do not read (the dict is shared by the lines of that series: read only).

    Examples
    --------
    >>> line_tags("pump,host=a,site=b flow=9.5 1709251200000000000"), line_tags(r"pump,host=a\\ b flow=1")
    ({'host': 'a', 'site': 'b'}, {'host': 'a b'})
    """
    if "\\" in line:
        return parse_line(line).tags
    head = line.split(None, 1)[0] if line else ""
    if '"' in head:
        raise ValueError("a quote in the measurement or tags")
    return _series(head)[1]


def _quoted_fields(line: str) -> Metric | None:
    """:func:`parse_line` for a line with quoted strings and no escapes (Telegraf's ``status="ok"``), by a regular
    expression a field at a time; None when it does not read so (:func:`_escaped` then tells why)."""
    head, _, rest = line.partition(" ")
    if '"' in head:
        return None
    rest = rest.lstrip(" ")
    fields: dict[str, Value] = {}
    i, n = 0, len(rest)
    while True:
        match = _FIELD.match(rest, i)
        if match is None:
            return None
        key, text, plain = match.groups()
        fields[key] = text if text is not None else _value(plain)
        i = match.end()
        if i < n and rest[i] == ",":
            i += 1
            continue
        break
    stamp = rest[i:].strip()
    if i < n and rest[i] != " ":
        return None
    metric = _plain(f"{head} x=0")  # the measurement and tags, checked as in any line
    return Metric(metric.measurement, metric.tags, fields, _timestamp(stamp) if stamp else None)


def _escaped(line: str) -> Metric:
    """:func:`parse_line` for a line with backslash escapes or quoted strings: scanned a character at a time."""
    n = len(line)
    measurement, i = _token(line, 0, ", ")
    tags = {}
    while i < n and line[i] == ",":
        key, i = _token(line, i + 1, "=, ")
        if i >= n or line[i] != "=":
            raise ValueError(f"tag {key[:40]!r} has no value")
        value, i = _token(line, i + 1, ", ")
        if not key or not value:
            raise ValueError("a tag with an empty key or value")
        tags[key] = value
    if i >= n or line[i] != " ":
        raise ValueError("expected 'measurement[,tags] fields [timestamp]'")
    while i < n and line[i] == " ":
        i += 1
    fields: dict[str, Value] = {}
    while True:
        key, i = _token(line, i, "=, ")
        if not key or i >= n or line[i] != "=":
            raise ValueError(f"field {key[:40]!r} is not key=value")
        i += 1
        if i < n and line[i] == '"':
            text, i = _quoted(line, i + 1)
            fields[key] = text
        else:
            end = i
            while end < n and line[end] not in ", ":
                end += 1
            fields[key] = _value(line[i:end])
            i = end
        if i < n and line[i] == ",":
            i += 1
            continue
        break
    rest = line[i:].strip()
    return Metric(_name(measurement), tags, fields, _timestamp(rest) if rest else None)


def _token(line: str, i: int, stops: str) -> tuple[str, int]:
    """The text from ``i`` to the first unescaped character of ``stops`` (escapes removed), and where it ends."""
    out = []
    n = len(line)
    while i < n and line[i] not in stops:
        if line[i] == "\\" and i + 1 < n and line[i + 1] in ",= \\":
            i += 1
        out.append(line[i])
        i += 1
    return "".join(out), i


def _quoted(line: str, i: int) -> tuple[str, int]:
    """A string field's text from just after its opening quote; where its closing quote ends."""
    out = []
    n = len(line)
    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n and line[i + 1] in '"\\':
            out.append(line[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise ValueError("a string field without its closing quote")


def _name(measurement: str) -> str:
    if not measurement:
        raise ValueError("no measurement name")
    return measurement


def _value(text: str) -> Value:
    """A field value that is not a quoted string: a float, ``12i``, ``12u`` or a boolean (1.0 / 0.0)."""
    if text[-1:] in _DIGITS and text.isascii() and "_" not in text:  # most values: a float, read at once
        try:
            return float(text)  # (no "nan", "inf", "1_0" or spaces reach it: those line protocol has not)
        except ValueError:
            pass
    if text.endswith(("i", "u")) and _INTEGER.fullmatch(text[:-1]):
        if text.endswith("u") and text.startswith("-"):
            raise ValueError(f"unsigned integer {text[:40]!r} is negative")
        return _whole(text[:-1])
    if _FLOAT.fullmatch(text):
        return float(text)
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    if text.lower().lstrip("+-") in _NOT_FINITE:  # no line protocol, but a writer's float: as a table's cell is read
        return float(text)
    raise ValueError(f"field value {text[:40]!r} is no number, boolean or quoted string")


def _whole(number: int | str) -> float:
    """A whole number as a float: infinite when too large for one (310+ digits), as a float that large is read."""
    whole = int(number)
    try:
        return float(whole)
    except OverflowError:
        return -_INF if whole < 0 else _INF


def _timestamp(text: str) -> int | str:
    """A line's timestamp: an integer (InfluxDB's), else its text, read as any record's time is (a number such as
    ``1.5`` in the precision's unit, an ISO date; other text is an unreadable time, kept), never a bad line: a
    time that cannot be read is told the same in every format. A timestamp holds no space (``1 2`` is a bad line)."""
    if text.isascii() and text.isdigit():  # most: at once
        return int(text)
    if _INTEGER.fullmatch(text):
        return int(text)
    if any(c.isspace() for c in text):
        raise ValueError("expected 'measurement[,tags] fields [timestamp]'")
    return text


def json_time(value: Any) -> Any:
    """A JSON record's time as read: a number, text or null as it is; an object, array or boolean as its JSON text
    (``{"x": 1}``, ``true``), which is neither a number nor a date: an unreadable time, kept as text as such a
    string is, never written out as an object (plain JSON's time field and Telegraf JSON's ``timestamp`` alike).

    Examples
    --------
    >>> json_time(3), json_time("12:00"), json_time(True), json_time({"x": 1})
    (3, '12:00', 'true', '{"x": 1}')
    """
    if value is None or (isinstance(value, (int, float, str)) and not isinstance(value, bool)):
        return value
    return json.dumps(value, ensure_ascii=False)


def is_telegraf_json(record: Any) -> bool:
    """Whether a JSON object is one of Telegraf's metrics (``fields`` an object, ``name`` text) or a batch of them
    (``metrics`` a list)."""
    if not isinstance(record, dict):
        return False
    if isinstance(record.get("metrics"), list) and len(record) == 1:
        return True
    return isinstance(record.get("fields"), dict) and isinstance(record.get("name"), str)


def json_metric(record: dict[str, Any]) -> Metric:
    """One Telegraf JSON metric as a :class:`Metric` (a ValueError when its parts are not of their kinds).

    Field values that are JSON numbers or booleans are numbers; text and anything else stays as it is (a sensor
    given one has a missing value). A timestamp may be a number (in ``json_timestamp_units``) or ISO text
    (``json_timestamp_format``); one that is neither is read as a plain JSON record's time is (:func:`json_time`).

    Examples
    --------
    >>> json_metric({"fields": {"flow": 9.5, "on": True}, "name": "pump", "tags": {"host": "a"}, "timestamp": 1})
    Metric(measurement='pump', tags={'host': 'a'}, fields={'flow': 9.5, 'on': 1.0}, timestamp=1)
    """
    tags = record.get("tags")
    tags = {} if tags is None else tags  # null: none, as a null timestamp is no time
    if not isinstance(tags, dict):
        raise ValueError("its 'tags' is not an object")
    fields: dict[str, Value] = {}
    for key, value in record["fields"].items():
        if isinstance(value, bool):
            fields[key] = float(value)
        elif isinstance(value, (int, float)):
            fields[key] = _whole(value) if isinstance(value, int) else float(value)  # (not a float's subclass)
        else:
            fields[key] = value if isinstance(value, str) else "" if value is None else str(value)
    return Metric(str(record["name"]), {str(k): str(v) for k, v in tags.items()}, fields,
                  json_time(record.get("timestamp")))


__all__ = ["PRECISIONS", "Metric", "is_telegraf_json", "json_metric", "json_time", "line_tags",
           "looks_like_line_protocol", "parse_line"]
