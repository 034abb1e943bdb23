"""``tsae detect score --group-by COL``: a table of many devices (``time,host,flow,...``) scored device by device.

Each device's rows are scored as their own series, exactly as :func:`~tsae.pipelines.anomaly.files.score_file` scores
a file of that device's rows alone (its own windows, time order, repair, silent sensors and events): the table is
split into one file per device on disk (:func:`~tsae.pipelines.anomaly.fleet_split.split_devices`, a line at a
time), then each device's file is scored and its scores and events appended to the outputs, the device column(s)
added, before the next device is scored. The detector is loaded once and its scoring core built once, each device
scored by a fork of it (:class:`_Cores`): what a device costs beyond its rows is mostly reading its file. The memory
is what one device's scoring needs, whatever the number of devices; the disk holds a copy of the table while it is
scored.

The scores CSV holds the devices one after the other (in the order each first appears in the table; each device's
rows in table order), the device column(s) after the time column (first without one); the JSON events file's events
and silent sensors carry ``tags`` (``{"host": "a"}``, as ``tsae monitor --group-by`` records do), a CSV events file the
device column(s) first. A device with fewer rows than the detector's window, or without any value, is not scored
(warned, naming it); the others are.
"""
from __future__ import annotations

import contextlib
import json
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np

from tsae._warning_filters import recorded
from tsae.io.atomic import all_or_nothing, atomic_path
from tsae.io.c_stderr import stderr_is_terminal
from tsae.io.paths import check_outputs, kind_suffix, read_paths, split_suffix
from tsae.pipelines.anomaly.fleet_split import DeviceFile, csv_line, device_name, split_devices
from tsae.pipelines.anomaly.groups import group_columns
from tsae.pipelines.progress import read_bar, sample_bar

#: what a device's scoring refuses that only skips that device (too few rows, no values), the rest scored
_DEVICE_SKIPS = ("shorter than the detector's window", "no valid values")


def _plain_suffix(path: Path) -> str:
    """The table suffix of ``path`` without its compression: ``.tsv`` for ``x.tsv.gz``, else ``.csv``."""
    return ".tsv" if kind_suffix(path).startswith(".tsv") else ".csv"


@contextmanager
def _text_output(path: Path, protect: tuple[Path, ...]) -> Iterator[TextIO]:
    """A text file written atomically at ``path`` (compressed as its suffix says)."""
    from tsae.io.table_write import _open_output

    with atomic_path(path, protect=protect) as tmp, _open_output(tmp, path.suffix.lower()) as handle:
        yield handle


class _Warnings:
    """The warnings of the devices' scorings, each told once at the end, naming the first device it was told of and
    how many devices in all (a fleet of 1000 devices with a column the detector ignores warns once, not 1000 times)."""

    def __init__(self, table: Path) -> None:
        self.table = table
        self.seen: dict[tuple[type[Warning], str], list[Any]] = {}

    def add(self, caught: list[warnings.WarningMessage], device_path: Path, name: str) -> None:
        for told in caught:
            text = str(told.message).replace(f"{device_path}: ", "")
            entry = self.seen.setdefault((told.category, text), [name, 0])
            entry[1] += 1

    def tell(self) -> None:
        for (category, text), (name, count) in self.seen.items():
            more = f" and {count - 1} more device(s)" if count > 1 else ""
            warnings.warn(f"{self.table} ({name}{more}): {text}", category, stacklevel=4)


class _Cores:
    """Fresh scoring cores for the devices: the first built as :meth:`Detector.core` builds it, the others forked from
    it (a :class:`~tsae.pipelines.anomaly.blueprint.Blueprint` sharing the detector's state, networks and terms, which
    scoring never changes, as the monitor's devices share them); built again if a device's detector differs in what
    the core is made of (its device, drift settings or state)."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.blueprint: Any = None

    def __call__(self, det: Any) -> Any:
        from tsae.pipelines.anomaly.blueprint import Blueprint
        from tsae.pipelines.anomaly.silent import scoring_core

        key = (id(det.state_), str(det.device), det.drift_rate, det.drift_every)
        if key != self.key:
            core = det.core(device=det.device, early=True)
            inner = scoring_core(core)
            shared = [det, inner.state, *(scale.model for scale in inner.scales if scale.model is not None),
                      *(scale.term for scale in inner.scales)]
            self.key, self.blueprint = key, Blueprint(core, shared)
            return core
        return self.blueprint.copy()


def _skip(device: Any, name: str, why: str, skipped: list[str], told: _Warnings) -> None:
    """A device not scored: named in ``skipped``, its reason told once with the others', its file let go."""
    skipped.append(name)
    told.add([warnings.WarningMessage(f"not scored: {why}", UserWarning, __file__, 0)], device.path, name)
    device.remove()


def _device_error(error: ValueError, device: DeviceFile, table: Path, name: str) -> ValueError:
    """A device file's error as the table's (:func:`_device_message`)."""
    return ValueError(_device_message(str(error), device, table, name))


def _device_message(text: str, device: DeviceFile, table: Path, name: str) -> str:
    """A message about a device file as one about the table: named ``TABLE (host=a)``, and its ``line N`` the
    table's line."""
    prefix = f"{device.path}: line "
    if text.startswith(prefix):
        number = re.match(r"\d+", text[len(prefix):])
        line = None if number is None else device.table_line(int(number.group()))
        if number is not None and line is not None:
            text = f"{prefix}{line}{text[len(prefix) + number.end():]}"
    return text.replace(str(device.path), f"{table} ({name})")


def score_devices_file(test_path: str | Path, detector: Any, output: str | Path, group_by: Sequence[str], *,
                       events: str | Path | Literal[False] | None = None, quiet: bool = False,
                       **options: Any) -> dict[str, Any]:
    """Score each device's rows of ``test_path`` as its own series (see the module docstring).

    Parameters
    ----------
    test_path
        A CSV table (compressed too) whose columns ``group_by`` name each row's device.
    detector
        A :class:`~tsae.pipelines.anomaly.detector.Detector` or its file.
    output
        The scores CSV (``.csv.gz`` etc. compressed, ``.tsv`` tab-separated).
    group_by
        The device columns.
    events
        The events file (``.json``, ``.csv``...; None: ``<output stem>.events.json``; False: none).
    quiet
        No summary line on stderr.
    **options
        ``device``, ``drift_rate``, ``drift_every``, ``silence``, ``timezone``: as
        :func:`~tsae.pipelines.anomaly.files.score_file` takes them, for every device.

    Returns
    -------
    dict
        The summary of :func:`~tsae.pipelines.anomaly.files.score_file` for all devices (``rows``,
        ``anomalous_rows``, ``events`` added up), with ``devices`` (scored), ``devices_skipped`` and ``by_device``
        (each device's ``tags``, ``rows``, ``anomalous_rows``, ``events``).
    """
    from tsae.pipelines.anomaly.detector import Detector
    from tsae.pipelines.anomaly.events import events_suffix
    from tsae.pipelines.anomaly.files import _check_scores_name, score_file

    group_by = group_columns(group_by)
    test_path, output = Path(test_path), Path(output)
    events_path = None if events is False else Path(events) if events else \
        Path(split_suffix(output)[0] + ".events.json")
    protect = (test_path, *map(Path, read_paths(detector)))
    check_outputs([output, *([events_path] if events_path else [])], protect)
    _check_scores_name(output)
    if events_path is not None:
        events_suffix(events_path)
    if kind_suffix(test_path) in (".npy",):
        raise ValueError(f"{test_path}: an array has no device column: group_by takes a table (CSV)")
    det = detector if isinstance(detector, Detector) else Detector.load(detector, device=options.get("device", "auto"))
    clash = [name for name in group_by if name in det.sensors_]
    if clash:
        raise ValueError(f"{test_path}: the device column {clash[0]!r} is a sensor of the detector: group by a column "
                         "that names the devices, not one of their sensors")
    told = _Warnings(test_path)
    cores = _Cores()
    per_device: list[dict[str, Any]] = []
    skipped: list[str] = []
    silent: list[dict[str, Any]] = []  # the silent sensors (a few a device at most)
    total = {"rows": 0, "anomalous_rows": 0, "events": 0}
    plain = _plain_suffix(output)
    with tempfile.TemporaryDirectory(prefix="tsae-devices-") as work, contextlib.ExitStack() as stack:
        folder = Path(work)
        with read_bar(test_path, not quiet and stderr_is_terminal()):
            tables = split_devices(test_path, group_by, folder)
        bar = stack.enter_context(sample_bar(sum(d.rows for d in tables.devices), "score devices",
                                             not quiet and stderr_is_terminal()))
        if not tables.devices:
            raise ValueError(f"{test_path}: no rows with a device in column(s) {', '.join(group_by)}")
        events_csv = events_path is not None and events_path.suffix.lower() != ".json"
        # each device's outputs are scratch files, read as soon as written; the table's appear together at the end,
        # or none
        with all_or_nothing(), _text_output(output, protect) as out:
            delimiter = "\t" if plain == ".tsv" else ","
            header_written = False
            spool = _EventsSpool(folder / "events.part", group_by, events_csv)
            for device in tables.devices:
                name = device_name(group_by, device.key)
                scores = folder / f"scores{plain}"
                device_events = folder / ("events.csv" if events_csv else "events.json")
                if device.rows < det.window_:  # known without reading it: a fleet of a row a device stays quick
                    _skip(device, name, f"{device.rows} row(s): shorter than the detector's window ({det.window_})",
                          skipped, told)
                    continue
                with recorded() as caught:
                    try:
                        summary = score_file(device.path, det, scores, events=device_events if events_path else False,
                                             quiet=True, report=False, cores=cores, dialect=tables.dialect,
                                             scratch=True, **options)
                    except ValueError as error:
                        if not any(skip in str(error) for skip in _DEVICE_SKIPS):
                            raise _device_error(error, device, test_path, name) from None
                        _skip(device, name, str(error).replace(f"{device.path}: ", ""), skipped, told)
                        continue
                told.add(caught, device.path, name)
                header_written = _append_scores(out, scores, device.key, delimiter, header_written, group_by)
                if events_path is not None:
                    silent += spool.add(device_events, device.key)
                for key in total:
                    total[key] += summary["rows" if key == "rows" else key]
                bar.update(device.rows)
                per_device.append({"tags": dict(zip(group_by, device.key, strict=True)), "rows": summary["rows"],
                                   "anomalous_rows": summary["anomalous_rows"], "events": summary["events"]})
                device.remove()  # the disk holds the devices not scored yet
            if not per_device:
                raise ValueError(f"{test_path}: no device has enough rows to score (each needs the detector's window, "
                                 f"{det.window_})")
            if events_path is not None:
                spool.write(events_path, silent, protect)
    told.tell()
    result = {**total, "threshold": float(det.threshold_), "output": str(output),
              "events_file": None if events_path is None else str(events_path), "silent_sensors": silent,
              "plot": None, "devices": len(per_device), "devices_skipped": skipped, "by_device": per_device,
              "rows_without_device": tables.no_device}
    return result


def _append_scores(out: TextIO, scores: Path, key: tuple[str, ...], delimiter: str, header_written: bool,
                   group_by: Sequence[str]) -> bool:
    """Append a device's scores file to ``out``, its device cells after the time column (first without one)."""
    cells = csv_line(list(key), delimiter)
    with open(scores, encoding="utf-8", newline="") as handle:
        header = handle.readline()
        timed = not header.startswith("score" + delimiter)
        if not header_written:
            out.write(_with_device(header, csv_line(list(group_by), delimiter), delimiter, timed))
        for line in handle:
            out.write(_with_device(line, cells, delimiter, timed))
    return True


def _with_device(line: str, cells: str, delimiter: str, timed: bool) -> str:
    if not timed:
        return f"{cells}{delimiter}{line}"
    time, _, rest = line.partition(delimiter)
    return f"{time}{delimiter}{cells}{delimiter}{rest}"


class _EventsSpool:
    """The devices' events gathered on disk as they are found (a fleet's events need not fit in memory), then written
    to the events file: JSON laid out as ``json.dumps({"events": ..., "silent_sensors": ...}, indent=2)`` writes it
    (each event with its device's ``tags``), or CSV (the device column(s) first)."""

    def __init__(self, path: Path, group_by: Sequence[str], as_csv: bool) -> None:
        self.path, self.group_by, self.as_csv = path, tuple(group_by), as_csv
        self.header = ""  # a CSV events file's header
        self.count = 0
        path.write_text("", encoding="utf-8")

    def add(self, events: Path, key: tuple[str, ...]) -> list[dict[str, Any]]:
        """Add a device's events file (its device ``key``); returns its silent sensors, tagged (JSON; CSV: none)."""
        with open(self.path, "a", encoding="utf-8", newline="") as out:
            if self.as_csv:
                with open(events, encoding="utf-8", newline="") as handle:
                    header = handle.readline()
                    self.header = self.header or f"{csv_line(list(self.group_by))},{header}"
                    cells = csv_line(list(key))
                    for line in handle:
                        out.write(f"{cells},{line}")
                return []
            tags = dict(zip(self.group_by, key, strict=True))
            found = json.loads(events.read_text(encoding="utf-8"))
            for event in found["events"]:
                text = json.dumps({**event, "tags": tags}, indent=2, default=str)
                out.write(("" if self.count == 0 else ",\n") + _indented(text, 4))
                self.count += 1
        return [{**entry, "tags": tags} for entry in found["silent_sensors"]]

    def write(self, path: Path, silent: list[dict[str, Any]], protect: tuple[Path, ...]) -> None:
        """Write the events file at ``path`` (atomically), ``silent`` the devices' silent sensors (JSON)."""
        with _text_output(path, protect) as handle, open(self.path, encoding="utf-8", newline="") as spooled:
            if self.as_csv:
                handle.write(self.header)
                while chunk := spooled.read(1 << 20):
                    handle.write(chunk)
                return
            handle.write('{\n  "events": [' + ("\n" if self.count else ""))
            while chunk := spooled.read(1 << 20):
                handle.write(chunk)
            silent_text = _indented(json.dumps(silent, indent=2, default=str), 2)[2:]
            handle.write(("\n  ]" if self.count else "]") + f',\n  "silent_sensors": {silent_text}\n}}\n')


def _indented(text: str, spaces: int) -> str:
    """``text`` with every line indented by ``spaces``."""
    pad = " " * spaces
    return "\n".join(pad + line for line in text.split("\n"))


def devices_table(path: str | Path, group_by: Sequence[str]) -> tuple[Any, np.ndarray]:
    """The table at ``path`` device by device, for ``tsae detect fit --group-by``: ``(table, labels)``, the
    :class:`~tsae.io.tables.Table` of every device's rows (each device's as a file of them alone reads them, the
    devices one after another in the order each first appears; the device columns out) and each row's device number.

    Each device's time order is warned about on its own (one device's times after another's are no step back).

    Raises
    ------
    ValueError
        One line naming the file (and the device): the header lacks a device column, the devices' tables differ in
        their columns (a column of text in one device's rows, numbers in another's).
    """
    from tsae.io.tables import Table
    from tsae.io.time_order import warn_time_order
    from tsae.pipelines.anomaly.files import read_data

    path = Path(path)
    group_by = group_columns(group_by)
    told = _Warnings(path)
    parts: list[Any] = []
    glitches: dict[str, str] = {}  # a sensor column left out of a device for a cell of text: that cell's error
    with tempfile.TemporaryDirectory(prefix="tsae-devices-") as work:
        tables = split_devices(path, group_by, Path(work))
        for device in tables.devices:
            name = device_name(group_by, device.key)
            with recorded() as caught:
                try:
                    table = read_data(device.path, text_columns=True, dialect=tables.dialect)
                except ValueError as error:
                    raise _device_error(error, device, path, name) from None
                warn_time_order(device.path, table.time, table.time_name, "learnt from", "")
            told.add(caught, device.path, name)
            for column in table.mixed_columns:  # told in the table's line while the device's line map is there
                glitches.setdefault(column, _device_message(f"{device.path}: {table.text_columns[column]}", device,
                                                            path, name))
            device.remove()
            if parts and (table.columns != parts[0].columns or (table.time is None) != (parts[0].time is None)):
                differ = set(table.columns) ^ set(parts[0].columns)
                told_cell = next((glitches[column] for column in sorted(differ) if column in glitches), None)
                if told_cell is not None:  # a sensor's cell of text in one device's rows: that cell, where it is
                    raise ValueError(told_cell)
                raise ValueError(f"{path} ({name}): columns {', '.join(table.columns)} are not those of the devices "
                                 f"before it ({', '.join(parts[0].columns)}): a column of text in some devices' rows?")
            parts.append(table)
    told.tell()
    if not parts:
        raise ValueError(f"{path}: no rows with a device in column(s) {', '.join(group_by)}")
    first = parts[0]
    time = None if first.time is None else np.concatenate([part.time for part in parts])
    text = {name: problem for part in parts for name, problem in part.text_columns.items()}
    joined = Table(values=np.concatenate([part.values for part in parts], axis=1), columns=list(first.columns),
                   time=time, time_name=first.time_name, time_utc=first.time_utc, text_columns=text,
                   mixed_columns=sorted({name for part in parts for name in part.mixed_columns}))
    labels = np.repeat(np.arange(len(parts)), [len(part) for part in parts])
    return joined, labels


def device_interval(table: Any, labels: np.ndarray) -> float | None:
    """The median step of the time column within each device (the steps between devices left out), or None."""
    from tsae.io.tables import median_step

    if table.time is None:
        return None
    steps = [median_step(table.time[labels == device], table.time_name) for device in np.unique(labels)]
    found = [step for step in steps if step is not None]
    return float(np.median(found)) if found else None


__all__ = ["device_interval", "devices_table", "score_devices_file"]
