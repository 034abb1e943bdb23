"""What each column of a table is: the header, the time column, the label, the channels.

A first row is the header unless it is data (:func:`_is_data_row`); the time column is found by its name
(:data:`TIME_NAMES`, or one with its unit: ``Time (s)``, :func:`~tsae.io.table_time.names_time`), as a first column that
numbers the rows (:data:`INDEX_NAMES`, or unnamed), or as a first column named like a counter whose first cells count
(:func:`_counts`, :data:`COUNTER_ROWS`); the label by its name (:data:`LABEL_NAMES`). :func:`_plan` judges every
column on the first rows; the reader (:mod:`tsae.io.tables`) converts their cells, and the stream record parser
(:mod:`tsae.io.records`) follows the same rules.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tsae.io.table_cells import _floats, _is_missing, _numeric_fraction, boolean, numeric_columns
from tsae.io.table_time import _clean_dates, _parse_dates, named_unit, names_time, whole_numbers

#: names of a time column (``_time``: InfluxDB's, first: an export's field may be named ``t`` or ``time``,
#: :mod:`tsae.io.influx`; ``x_value``: the x axis of a LabVIEW measurement file, :mod:`tsae.io.labview`)
TIME_NAMES = ("_time", "time", "timestamp", "date", "datetime", "t", "time_s", "seconds", "ts", "x_value")
#: names of a first column that numbers the rows (pandas writes its index with an empty name, or reads one back
#: as "Unnamed: 0"): with no column named like a time column, it is the time column, never a channel
INDEX_NAMES = ("index", "idx", "unnamed: 0")
#: the fewest rows whose first column must count (whole numbers rising by one constant step, as a row number, a
#: minute counter or epoch seconds do; or, in a column named by a unit, fractions rising so: ``hours`` 0, 0.25 ...)
#: for it to be the time column when no column is named like one; it must go
#: on counting to the end, skipping a row now and then (:data:`COUNTER_STEADY`), and its name must say it holds
#: times or numbers rows (:func:`_names_a_counter`; a file without a header names none): a named data column that
#: counts (``count``, ``a``) is a channel. As a channel a ``minute`` counter left the range a detector was fitted
#: on and raised every later score
COUNTER_ROWS = 16
#: words (split at anything not a letter or digit) of a first column's name that say a column that counts holds
#: times or row numbers (``minute``, ``epoch_s``, ``time_ms``, ``sample_index``); ``min``, ``h``, ``s`` only as the
#: whole name (``temp_min`` is a minimum)
COUNTER_WORDS = frozenset({
    "time", "timestamp", "date", "datetime", "ts", "epoch", "unix", "unixtime", "when", "clock",
    "sec", "secs", "second", "seconds", "ms", "msec", "millis", "milliseconds",
    "minute", "minutes", "mins", "hour", "hours", "hr", "hrs", "day", "days",
    "index", "idx", "row", "rownum", "sample", "step", "tick", "ticks",
})
LABEL_NAMES = ("label", "labels", "anomaly", "is_anomaly")


def find_time_column(names: Sequence[str], time_names: Sequence[str] = TIME_NAMES, named: bool = True) -> int | None:
    """Index of the column named like a time column (case-insensitive, first of ``time_names`` wins), or None.

    With ``named``, a column none of ``time_names`` names is the time column when its name says so otherwise
    (:func:`~tsae.io.table_time.names_time`: ``Time (s)``, ``Time [ms]``, ``t/s``, ``Elapsed Time``, ``millis``;
    the first such): the header data loggers, LabVIEW and spreadsheets write.
    """
    lower = [name.strip().lower() for name in names]
    for name in time_names:
        if name.lower() in lower:
            return lower.index(name.lower())
    if named:
        return next((j for j, name in enumerate(lower) if name and names_time(name)), None)
    return None


def _label_index(header: list[str], time_idx: int | None) -> int | None:
    lower = [h.lower() for h in header]
    for name in LABEL_NAMES:
        if name in lower and lower.index(name) != time_idx:
            return lower.index(name)
    return None


@dataclass
class _Column:
    """A column of a table being read, its cells converted chunk by chunk as what it may turn out to be."""

    name: str
    #: where its errors come in the order the reader tells them: 0 the time column, 1 the label, 3 a channel
    rank: int
    floats: list[np.ndarray] | None = None  # read as numbers (None: not)
    dates: list[np.ndarray] | None = None  # read as dates
    texts: list[np.ndarray] | None = None  # kept as text: a label that is not numbers
    #: not a named time column but maybe the time column: its first cells are dates (it may also be a channel)
    maybe_time: bool = False
    #: the time column because its first cells count (:data:`COUNTER_ROWS`); a channel again if a later one does not
    counter: bool = False
    #: a first column that numbers the rows beside another time column (:func:`_numbers_rows`): neither the time nor
    #: a channel, but a channel again if a later cell does not number its row
    index: bool = False
    bad: str | None = None  # the first cell that is not a number, as the error tells it
    #: a cell is a number (known only when the reader looks for one after ``bad``: ``text_columns``)
    has_number: bool = False
    not_dates: bool = False  # a cell is not a date
    not_date: str = ""  # the first cell that is not a date, as the error tells it
    #: its first cell that is not missing is a number: a cell in it that is not a number is the one an error tells
    #: (a time column of numbers with one ``garbage`` cell, not its first number, which is no date)
    numbers_first: bool = False
    offset: bool = False  # one of its first _OFFSET_ROWS dates has a UTC offset
    utc: bool = False  # one of its first _OFFSET_ROWS dates has a UTC offset or ends in Z: they name UTC instants
    rounded: int = 0  # cells of whole numbers beyond 2**53 that float64 rounds (:func:`_rounded_wholes`)
    first_rounded: str = ""  # the first of them, as the warning tells it
    #: with ``tally`` (a reader that keeps no channel: :func:`~tsae.io.table_blocks.open_table_blocks`): cells
    #: infinite or beyond :data:`ABSURD`, and whether a cell is a value (a number neither missing nor so)
    absurd: int = 0
    valued: bool = False


#: the least share of a counter's steps (read whole) that are its first step; the others skip rows (a logger that
#: missed some), whole multiples of it
COUNTER_STEADY = 0.9


#: how far a step of a unit's column of fractions (``hours``: 0, 0.25, 0.5 ...) may be from a whole multiple of its
#: first step, relative to it: decimal text read as float64 (0.3 - 0.2 is 0.09999999999999998)
_FRACTION_STEP_TOLERANCE = 1e-6


def _counts(values: np.ndarray | tuple[int, str], unit: bool = False) -> bool:
    """Whether ``values`` (:func:`_floats` of a column's cells) are whole numbers that count: their first
    :data:`COUNTER_ROWS` rise by one step, and the rest by whole multiples of it, at least :data:`COUNTER_STEADY`
    of them by that step. ``unit``: the column is named by a unit (``hours``, ``min``: :func:`_names_a_unit`), and
    fractions of it that rise so count too (0, 0.25, 0.5 ... hours), within :data:`_FRACTION_STEP_TOLERANCE`, as
    whole numbers too large for float64 to hold every one do (epoch nanoseconds)."""
    if isinstance(values, tuple) or len(values) < COUNTER_ROWS or np.isnan(values).any():
        return False
    whole = whole_numbers(values)
    # whole numbers beyond 2**53 (epoch nanoseconds: 1.7e18), whose float64 steps are rounded, count as fractions do
    big = bool(np.isfinite(values).all()) and float(np.abs(values).min()) >= 2.0**53
    if not (whole or big or (unit and np.isfinite(values).all())):
        return False
    steps = np.diff(values)
    step = steps[0]
    if not step > 0:
        return False
    if whole:
        if not np.all(steps[: COUNTER_ROWS - 1] == step):
            return False
        return bool(np.all((steps > 0) & (steps % step == 0)) and np.mean(steps == step) >= COUNTER_STEADY)
    multiples = steps / step
    near = np.abs(multiples - np.round(multiples)) <= _FRACTION_STEP_TOLERANCE
    first = np.abs(multiples - 1.0) <= _FRACTION_STEP_TOLERANCE
    return bool(first[: COUNTER_ROWS - 1].all() and np.all(near & (np.round(multiples) >= 1))
                and np.mean(first) >= COUNTER_STEADY)


def _numbers_rows(values: np.ndarray | tuple[int, str]) -> bool:
    """Whether ``values`` (:func:`_floats` of a column's cells) number the rows: whole numbers from 0 up, rising by one
    (the first :data:`COUNTER_ROWS` of them), then now and then by more, as the index of a frame whose rows were
    dropped does, at least :data:`COUNTER_STEADY` of the steps by one (as :func:`_counts` has a counter's)."""
    if isinstance(values, tuple) or not len(values) or np.isnan(values).any() or not whole_numbers(values):
        return False
    steps = np.diff(values)
    return bool(values[0] >= 0 and np.all(steps[: COUNTER_ROWS - 1] == 1) and np.all(steps >= 1)
                and (not steps.size or np.mean(steps == 1) >= COUNTER_STEADY))


def _names_a_unit(name: str) -> bool:
    """Whether a column's name says the unit of its times (``hours``, ``min``, ``ms``, ``Time [h]``:
    :func:`~tsae.io.table_time.named_unit`, as :func:`median_step` reads it)."""
    return named_unit(name) is not None


def _names_a_counter(name: str) -> bool:
    """Whether a first column's name says that, when it counts (:func:`_counts`), it is the time column: a unit's
    name (``minute``, ``ms``, ``h``: as :func:`median_step` reads it), or one holding a :data:`COUNTER_WORDS` word.
    Any other (``count``, ``a``) is a data column's: dropping it would lose data. (A name in :data:`TIME_NAMES` or
    :data:`INDEX_NAMES`, or an empty one, makes a first column the time column whatever it holds; in a file without
    a header, a first column that counts is one.)
    """
    if _names_a_unit(name):
        return True
    return any(word in COUNTER_WORDS for word in re.split(r"[^a-z0-9]+", name.strip().lower()))


def _plan(header: list[str], sample: Sequence[Sequence[str]], decimal: str | None, unnamed_first: bool = False,
          headerless: bool = False, columns: bool = False) -> tuple[list[_Column], int | None, int | None]:
    """``(columns, time index, label index)``: what each column is read as, judged on the first rows.

    A column is numbers when its first :data:`_KIND_ROWS` cells are (:func:`_numeric_fraction`, with the decimal
    mark ``decimal``; None: either, as it is not known yet). Without a
    column named like a time column, a first column that numbers the rows (named in :data:`INDEX_NAMES`, or
    ``unnamed_first``: no name at all, as pandas writes its index) is the time column, as is a first column named
    like a counter of times or rows (:func:`_names_a_counter`: ``minute``, ``epoch_s``), or with no name in a
    ``headerless`` file, whose first cells count (:data:`COUNTER_ROWS`; :func:`_read_rows` makes it a channel if
    the later ones do not); else
    the time column is the first other column (not the label) whose cells are all dates: each that starts with
    dates is read as dates too, until a cell is not one. Beside a time column named so, or beside a column that
    starts with dates, a first column that numbers the rows (:func:`_numbers_rows`), unnamed or named in
    :data:`INDEX_NAMES` (pandas' index, R's row names), is neither the time nor a channel (``index``):
    :func:`~tsae.io.tables._decide` drops it if all its cells do (or makes it the time column if no column is dates
    to the end, as without them).

    ``columns``: ``sample`` is the first rows' cells column by column (a wide table's), not row by row.
    """
    time_idx = find_time_column(header)
    cells = sample if columns else list(zip(*sample, strict=True))
    numbers = numeric_columns(cells, decimal)  # each column's, at once: a wide table's are many
    counter = False
    label = _label_index(header, None)
    indexed = bool(header) and (unnamed_first or header[0].strip().lower() in INDEX_NAMES)
    # pandas' index or R's row names beside a time column, or beside dates that may be the time: the rows' numbers,
    # no sensor's (a channel left)
    index = (indexed and time_idx != 0 and label != 0 and len(header) - 2 - (label is not None) > 0
             and (time_idx is not None or any(not numbers[j] and _parse_dates(
                 _clean_dates(cells[j])) is not None for j in range(1, len(header)) if j != label))
             and _numbers_rows(_floats(cells[0], decimal or ".")))
    if time_idx is None and indexed and not index:
        time_idx = 0
    elif (time_idx is None and not indexed and label != 0 and len(header) - 1 - (label is not None) > 0
          and (headerless or _names_a_counter(header[0]))
          and _counts(_floats(cells[0], decimal or "."), unit=not headerless and _names_a_unit(header[0]))):
        time_idx, counter = 0, True
    label_idx = _label_index(header, time_idx)
    planned = []
    for j, name in enumerate(header):
        numeric = numbers[j]
        if j == 0 and index:
            planned.append(_Column(name, 3, floats=[], index=True))  # its errors are a channel's: it may be one
            continue
        if j == time_idx:  # (a boolean cell of numbers in it is an error: :func:`~tsae.io.tables._convert`)
            # a counter's errors are told as a channel's: it is one again if a cell is not a number
            first_cell = next((c for c in cells[j] if not _is_missing(c)), None)
            column = _Column(name, 3 if counter else 0, floats=[] if numeric else None,
                             dates=None if numeric else [], counter=counter,
                             numbers_first=first_cell is not None and _numeric_fraction([first_cell], decimal) == 1.0)
        elif j == label_idx:
            # booleans are numbers to a sensor, but a label of them is kept as written (smooth writes it back so)
            numeric = numeric and not _booleans(cells[j])
            column = _Column(name, 1, floats=[] if numeric else None, texts=None if numeric else [])
        else:
            column = _Column(name, 3, floats=[])
            if time_idx is None and not numeric and _parse_dates(_clean_dates(cells[j])) is not None:
                column.dates, column.maybe_time = [], True
        planned.append(column)
    return planned, time_idx, label_idx


def _booleans(cells: Sequence[str]) -> bool:
    """Whether one of ``cells`` is a boolean word (:func:`~tsae.io.table_cells.boolean`): a number to a sensor only."""
    return any(boolean(cell.strip()) is not None for cell in cells)


def _blank_tail(cells: Sequence[str]) -> int:
    """How many cells a first row ends with that are blank (the line ends in delimiters), its first cell aside."""
    return next((i for i, cell in enumerate(reversed(cells[1:])) if cell.strip()), len(cells) - 1)


def _is_data_row(cells: Sequence[str], decimal: str | None) -> bool:
    """Whether a first row is data rather than a header: every cell a number or a date (one holding a digit:
    numpy reads ``"today"`` as a date too), at least one a number that is no boolean word (``true,false`` names
    columns)."""
    cells = cells[:len(cells) - _blank_tail(cells)]  # the line ends in delimiters: no cells after them
    numbers = [number and not _is_missing(c)
               for c, number in zip(cells, numeric_columns([[c] for c in cells], decimal), strict=True)]
    if not any(number and boolean(c.strip()) is None for c, number in zip(cells, numbers, strict=True)):
        return False
    return all(is_number or (any(ch.isdigit() for ch in c) and _parse_dates(_clean_dates([c])) is not None)
               for c, is_number in zip(cells, numbers, strict=True))


def row_numbers_hint(missing: Sequence[str]) -> str:
    """What to do when a model or detector misses a column that was a table's row numbers: since they are dropped
    beside a time column (pandas' index, R's row names: :func:`_plan`), a model fitted on them as a sensor by an
    earlier tsae (which named the unnamed one ``column0``) lacks it; empty for any other missing column.

    Examples
    --------
    >>> row_numbers_hint(["column0"]).startswith("; column0 may be the rows' numbers")
    True
    >>> row_numbers_hint(["flow"])
    ''
    """
    numbers = [name for name in missing if name == "column0" or name.strip().lower() in INDEX_NAMES]
    if not numbers:
        return ""
    return (f"; {numbers[0]} may be the rows' numbers (pandas' index, R's row names), no longer read as a sensor "
            "beside a time column: fit the model or detector again on this table")


def _unnamed(index: int, given: set[str]) -> str:
    """The name of an unnamed column at ``index``: ``column<index>``, with ``_`` added while a column has it."""
    name = f"column{index}"
    while name in given:
        name += "_"
    return name
