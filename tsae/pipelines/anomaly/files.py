"""The file jobs of ``tsae detect fit`` and ``tsae detect score``: CSV in; detector, scores, events and plot out."""
from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tsae._warning_filters import recorded
from tsae.errors import memory_for
from tsae.io.atomic import all_or_nothing, written_in_place
from tsae.io.c_stderr import stderr_is_terminal
from tsae.io.paths import (
    check_data_output,
    check_model_output,
    check_output,
    check_outputs,
    kind_suffix,
    read_paths,
    split_suffix,
)
from tsae.io.time_order import warn_time_order
from tsae.pipelines.anomaly.block_scoring import RowReader
from tsae.pipelines.anomaly.detector import Detector, FitWarning, check_family
from tsae.pipelines.anomaly.detector_file import check_drift_every_used, check_time_step
from tsae.pipelines.anomaly.fleet import device_interval, devices_table
from tsae.pipelines.anomaly.groups import group_columns
from tsae.pipelines.anomaly.plot_envelope import Envelope
from tsae.pipelines.anomaly.profile_times import profile_dates
from tsae.pipelines.anomaly.scoring import sensor_order
from tsae.pipelines.anomaly.seasonal import filled_times
from tsae.pipelines.anomaly.silent import silence_setting
from tsae.pipelines.progress import read_bar

if TYPE_CHECKING:
    from tsae.io.table_dialect import TableDialect
    from tsae.io.table_write import ColumnFormat

#: what the gap warning of ``detect fit`` and ``detect score`` advises
_SEAM_HINT = " (score each stretch on its own to keep a seam from looking like a fault)"


def _progress(message: str, quiet: bool) -> None:
    from tsae.io.c_stderr import to_stderr

    if not quiet:
        to_stderr(f"{message}\n")


def fit_detector_file(train_path: str | Path, output: str | Path, *, family: str | None = None,
                      window: int | str = "auto", threshold: str | float = "budget", device: str = "auto",
                      quiet: bool = False, epochs: int = 5, sample_interval: float | None = None,
                      **options: Any) -> Detector:
    """Fit a :class:`Detector` on a CSV of normal data and write it to ``output`` (``tsae detect fit``).

    The CSV has one column per sensor; a time column and a ``label`` column are recognised and
    not used as sensors, and a column of text (blanks aside: a status, a note) is left out, warned about
    (``TableWarning``), as scoring ignores it; a column of numbers with a cell of text is an error (the line and
    column of that cell). A missing cell holds the sensor's last value, as in scoring. ``family``
    names the autoencoder family (see ``tsae models``; default ``conv1d``, or with ``init`` that
    model's family); ``output`` never replaces ``train_path`` (nor ``init``). ``sample_interval`` (seconds
    between rows, for the alarm budget) is, when not given, the median step of the time
    column (numbers are seconds, or the unit the column is named after: ``minute``, ``hours``, ``ms``...),
    else None (1 second assumed). A time column of dates or Unix times places the rows in the week for a seasonal
    profile (:mod:`~tsae.pipelines.anomaly.profile_times`: UTC instants on the wall clock of the ``timezone`` option,
    dates without an offset as written). After fitting, one
    line reports the threshold and the false alarms a day it raises on the held-out normal data.
    A time column that goes back in time or repeats a time is warned about (``TableWarning``): the
    rows are used in file order. What the fit warns about its data (``FitWarning``: sensors missing
    values for longer than the window, data too short to hold any out) is told naming the file.
    ``group_by`` (an option: a column name, or several): the table holds many devices, each row's named in those
    columns; the detector learns from windows within each device's rows (never one spanning two,
    :meth:`Detector.fit`'s ``groups``), each device's rows read as a file of them alone would be
    (:func:`~tsae.pipelines.anomaly.fleet.devices_table`), and then applies to every device.
    """
    from tsae.io.tables import TableWarning, median_step

    train_path, output = Path(train_path), Path(output)
    init = options.get("init")
    check_output(output, [train_path, *([init] if init is not None else [])])
    check_model_output(output)  # -o x.csv: a detector that every command would read as a table
    if init is not None:  # told in the model file's name, before the data is read
        family = _init_family(init, family)
    family = family or "conv1d"
    group_by = group_columns(options.pop("group_by", None))
    labels = None  # each row's device (group_by): the rows device by device
    with read_bar(train_path, not quiet and stderr_is_terminal()):
        if group_by:
            table, labels = devices_table(train_path, group_by)
        else:
            table = read_data(train_path, text_columns=True)
    _refuse_text(train_path, table, table.mixed_columns)  # a sensor's column with a cell of text
    if table.text_columns:  # a status, a note: no sensor, as `detect score` and the monitor ignore it
        warnings.warn(f"{train_path}: column(s) {_names(list(table.text_columns))} hold text, not numbers: left out "
                      "(no sensors of the detector)", TableWarning, stacklevel=2)
    if len(table) < 4:
        raise ValueError(f"{train_path}: too few rows to learn from ({len(table)})")
    if labels is None:  # each device's order was told by devices_table
        warn_time_order(train_path, table.time, table.time_name, "learnt from", _SEAM_HINT)
    if sample_interval is None:
        sample_interval = median_step(table.time, table.time_name) if labels is None else \
            device_interval(table, labels)
        try:
            check_time_step(sample_interval)
        except ValueError as error:
            raise ValueError(f"{train_path}: {error}") from None
    det = Detector(model=family, window=window, threshold=threshold, device=device, quiet=quiet,
                   epochs=epochs, sample_interval=sample_interval, **options)
    check_family(family)  # not the training file's problem: its message does not name the file
    try:
        with recorded(FitWarning) as caught, memory_for(train_path, "train on"):
            # dates or Unix times: a seasonal profile, on the wall clock of the detector's timezone
            det.fit(table.values, sensors=table.columns, times=profile_dates(table.time, det.timezone, table.time_utc),
                    groups=labels)
    except ValueError as error:
        raise ValueError(f"{train_path}: {error}") from None
    det.time_name_ = table.time_name  # the monitor reads a field of that name as the time
    for told in caught:  # the fit's warnings, the file named in those about its data
        if issubclass(told.category, FitWarning):
            warnings.warn(f"{train_path}: {told.message}", FitWarning, stacklevel=2)
        else:
            warnings.warn_explicit(told.message, told.category, told.filename, told.lineno, source=told.source)
    det.save(output, protect=(train_path,))
    _progress(f"{output}: {det.family_} detector on {len(det.sensors_)} sensor(s), window {det.window_}, "
              f"hop {det.hop_}, threshold {det.threshold_:.4g} ({det.threshold_obj_.method})", quiet)
    _progress(det.selfcheck_.summary(), quiet)
    _progress(alarm_report(det), quiet)
    profile = profile_report(det)
    if profile:
        _progress(profile, quiet)
    return det


def unused_timezone(zone: str) -> str:
    """The warning of a time zone given to score with a detector that removes no normal levels by time."""
    return (f"timezone {zone!r} is not used: the detector removes no normal levels by time (it learnt no seasonal "
            "profile)")


def profile_report(det: Detector) -> str:
    """One line on the fitted detector's normal levels by time (its ``seasonal`` profile): which, for how many
    sensors, on which clock; or why it has none although its times were dates ("" where it had none to learn)."""
    profile = det.seasonal_
    if profile is None:
        why = getattr(det, "seasonal_why_", "")
        return "" if why in ("", "turned off", "no timestamps") else f"normal levels by time: none ({why})"
    shown = [profile.describe()]
    if profile.weekly is not None:
        moved = int(np.count_nonzero(np.abs(profile.weekly).max(axis=1) > 0))
        shown = [f"{profile.describe()} for {moved} of {len(det.sensors_)} sensor(s)"]
    clock = det.timezone or "the times' own clock (Unix times and offsets in UTC)"
    return f"normal levels by time: {shown[0]}, removed before scoring; hours on {clock}"


def _profile_times(path: Path, det: Detector, time: Any, utc: bool) -> np.ndarray | None:
    """The rows' dates where ``det`` removes a seasonal profile (None where it has none): a column of dates (``utc``:
    naming UTC instants), or of numbers read as Unix times, UTC instants on the wall clock of the detector's
    ``timezone``; a ValueError naming ``path`` where the table has neither."""
    if det.seasonal_ is None:
        return None
    # dates, or numbers as Unix times: as the monitor reads
    dates = None if time is None else profile_dates(time, det.timezone, utc)
    if dates is None:
        raise ValueError(f"{path}: no column of dates or Unix times, and the detector removes normal levels by time "
                         f"of week or day ({det.seasonal_.describe()}): it needs each row's time")
    return dates


def _without_profile(reader: RowReader, det: Detector, dates: np.ndarray) -> RowReader:
    """``reader`` whose rows have ``det``'s seasonal profile removed at ``dates``."""
    profile = det.seasonal_
    if profile is None:
        return reader
    dates = filled_times(dates)
    return RowReader(reader.n, lambda a, b: profile.apply(reader.read(a, b), dates[a:b]))


def read_data(path: Path, text_columns: bool = False, dialect: TableDialect | None = None) -> Any:
    """The :class:`~tsae.io.tables.Table` of a CSV (:func:`~tsae.io.tables.read_table`) or of a ``.npy`` array
    ``(sensors, samples)`` (a 1-D one is one sensor), whose sensors are named ``s0``, ``s1``... as
    :meth:`Detector.fit` names an array's; its infinite values and values beyond 1e30 are missing, as a table's.
    An array of fewer samples than sensors (``(samples, sensors)`` saved as such) is refused: save it transposed.
    ``text_columns``: a CSV column with a cell that is not a number is left out, not an error (``Table.text_columns``);
    ``dialect``: a CSV's, known already (:func:`~tsae.io.tables.read_table`'s).
    """
    from tsae.io.paths import ARRAY_SUFFIXES
    from tsae.io.table_absurd import _absurd_as_missing
    from tsae.io.tables import Table, read_table

    if kind_suffix(path) not in ARRAY_SUFFIXES:
        return read_table(path, text_columns=text_columns, dialect=dialect)
    from tsae.io.series import read_series, refuse_transposed

    values, _, _ = read_series(path)
    refuse_transposed(path, values.shape[0], values.shape[1], unit="sensors")
    names = [f"s{i}" for i in range(values.shape[0])]
    _absurd_as_missing(path, values, names)
    return Table(values=values, columns=names)


def _refuse_text(path: Path, table: Any, needed: Collection[str]) -> None:
    """Refuse the first of ``table``'s columns left out for a cell that is not a number
    (:func:`read_data` with ``text_columns``) that is ``needed``, with the error that cell is."""
    for name, problem in table.text_columns.items():
        if name in needed:
            raise ValueError(f"{path}: {problem}")


def _counter_as_sensor(path: Path, table: Any, sensors: list[str]) -> np.ndarray | None:
    """The time column of ``table`` as float64 when it is one of numbers that the detector knows as a sensor (a
    channel of the table again, told), else None.

    An earlier tsae read a first column that counts (a ``minute`` counter) as a sensor; a detector fitted so
    still scores such a file, and is told to be refitted: as a sensor, a counter leaves the range it was fitted on.
    """
    from tsae.io.tables import TableWarning

    name = table.time_name
    if name is None or name not in sensors or name in table.columns or table.time.dtype.kind == "M":
        return None
    warnings.warn(f"{path}: the detector takes the time column {name!r} as a sensor (it was fitted on an older "
                  "tsae); a counter scores higher the further it leaves its training range: fit the detector again",
                  TableWarning, stacklevel=3)
    return np.asarray(table.time.astype(np.float64))


def _sensor_order(path: Path, columns: list[str], sensors: list[str],
                  text: list[str] | None = None) -> tuple[list[int], str | None]:
    """Where each of the detector's ``sensors`` is among the table's ``columns`` (:func:`sensor_order`), and
    what to warn about (None: nothing).

    Columns that are no sensor of the detector are ignored, and told (the monitor counts them in
    ``unknown_fields``); columns taken in order as the sensors (none names one) are told, as the
    monitor tells it. ``text``: columns of text, left out of ``columns``, told as ignored too.
    """
    order, by_position = sensor_order(columns, sensors, str(path))
    unknown = list(text or []) if by_position else [c for c in columns if c not in sensors] + list(text or [])
    ignored = f"column(s) {_names(unknown)} are not sensors of the detector: ignored" if unknown else None
    if by_position:
        return order, (f"{path}: no column names a sensor of the detector: the columns {_names(columns)} are "
                       f"taken in order as its sensors {_names(sensors)}" + (f"; {ignored}" if ignored else ""))
    return order, f"{path}: {ignored}" if ignored else None


def _names(names: list[str], most: int = 5) -> str:
    """``'a', 'b'`` for at most ``most`` names, then how many more."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(map(repr, names[:most])) + more


def _warn_empty_sensors(path: Path, valued: np.ndarray, n: int, names: list[str], silence: int | None) -> None:
    """Warn about sensor columns without a single value (``valued``: whether each has one, of ``n`` rows): scored as
    missing throughout (held at the training mean, or silent after ``silence`` rows)."""
    from tsae.io.tables import TableWarning

    empty = [names[i] for i in np.flatnonzero(~valued)]
    if not empty:
        return
    how = "held at the training mean"
    if silence is not None and n >= silence:
        how = f"held at the training mean for {silence} rows, then silent: left out of the score"
    warnings.warn(f"{path}: sensor column(s) {', '.join(map(repr, empty))} have no values: scored as missing "
                  f"throughout ({how})", TableWarning, stacklevel=3)


def _silent_sensors(path: Path, valued: np.ndarray, sensors: list[str], silence: int | None,
                    stretches: list[tuple[int, int, int]]) -> list[dict[str, Any]]:
    """The sensors silent somewhere (``silence`` rows missing in a row: the scoring's ``stretches``,
    ``(sensor, index, since_index)``), each with its first silent stretch's ``index`` and ``since_index`` and its
    number of ``stretches``; those that have some values (``valued``: whether each sensor has one) are warned about
    (a column without any has its own warning, :func:`_warn_empty_sensors`)."""
    from tsae.io.tables import TableWarning

    if silence is None:
        return []
    found: dict[int, dict[str, Any]] = {}
    for sensor, index, since in stretches:
        if sensor in found:
            found[sensor]["stretches"] += 1
        else:
            found[sensor] = {"sensor": sensors[sensor], "index": index, "since_index": since, "stretches": 1}
    told = [f"{entry['sensor']!r} from row index {entry['since_index']}" for i, entry in found.items()
            if valued[i]]
    if told:
        warnings.warn(f"{path}: sensor(s) {', '.join(told)} missing for {silence} rows or more in a row: scored as "
                      "silent (filled in from the other sensors, their own error at its normal level) until they "
                      "report again, as `tsae monitor --silence` scores them", TableWarning, stacklevel=3)
    return list(found.values())


def _check_scores_name(output: Path) -> None:
    """Refuse a scores file named like an array, audio or JSON file or another program's table or array
    (``-o scores.npy``, ``s.npz``, ``s.parquet``): the scores are a CSV table, and CSV text under such a name fails
    every reader of that kind; then any name a data output may not have
    (:func:`~tsae.io.paths.check_data_output`: ``-o s.tsae``, ``s.gz``), with or without ``--group-by``."""
    from tsae.io.paths import ARRAY_SUFFIXES, AUDIO_SUFFIXES, FOREIGN_DATA_SUFFIXES, suffixed

    suffix = kind_suffix(output)
    if suffix in ARRAY_SUFFIXES or suffix in AUDIO_SUFFIXES or suffix == ".json" or suffix in FOREIGN_DATA_SUFFIXES:
        text = str(output)  # s.csv.zst -> s.csv, not s.csv.csv
        raise ValueError(f"{output}: the scores are written as a CSV table, not a {suffix} file: name it "
                         f"{suffixed(text[: len(text) - len(suffix)], '.csv')}")
    check_data_output(output)


def _time_at(table: Any, index: int, unit: ColumnFormat) -> Any:
    """The time of row ``index`` of ``table`` as the events name it: as the scores file writes that row's cell, whose
    time column is written as ``unit`` (its :func:`~tsae.io.table_write.column_format`: one precision for all of its
    dates, so an event's whole second has the ``.000`` of the scores file's; times that named UTC instants end in
    ``Z``), a whole number of a column written as ``int`` as an int (``338``, not ``338.0``), another number as its
    Python value; a missing time (an empty cell there) as None."""
    from tsae.io.table_write import time_cells

    value = table.time[index:index + 1]
    if value.dtype.kind == "M" or unit == "int":
        cell = str(time_cells(value, unit, table.time_utc)[0])
        return None if not cell else cell if value.dtype.kind == "M" else int(cell)
    return value[0].item()


def _rows(source: Any, order: list[int], counter: np.ndarray | None, drawn: Envelope | None = None) -> Any:
    """The rows of the detector's sensors (``order`` among the table's channels, and ``counter`` after them: a time
    column taken as a sensor, :func:`_counter_as_sensor`) of a table read in blocks, as they are scored (and added
    to ``drawn``, a plot's envelope of them)."""

    identity = order == list(range(source.channels + (counter is not None)))

    def read(a: int, b: int) -> np.ndarray:
        block = source.read(a, b)
        source.release(b)
        if counter is not None:
            block = np.vstack([block, counter[None, a:a + block.shape[1]]])
        block = block if identity else block[order]
        if drawn is not None:
            drawn.add(block)  # each row read once, in order: released once read
        return block

    return RowReader(source.n, read)


def alarm_report(det: Detector) -> str:
    """One line: the threshold, the false alarms a day it raises on the held-out normal data, the budget."""
    from tsae.pipelines.anomaly.alarm_budget import SECONDS_PER_DAY, event_peaks

    interval = det.sample_interval_ or 1.0
    calib = det.calibration_scores_
    days = calib.size * interval / SECONDS_PER_DAY
    realised = event_peaks(calib, det.threshold_, det.event_gap).size / days
    hours = days * 24
    span = f"{hours:.3g} h" if hours < 48 else f"{days:.3g} days"
    assumed = "" if det.sample_interval_ else ", assumed"
    budget = f"budget {det.alarms_per_day:g}/day" if det.threshold_obj_.method == "budget" else "no budget"
    if det.threshold_obj_.params.get("counted") == "samples":
        flagged = int(np.count_nonzero(calib > det.threshold_))
        budget += (f", counted in samples: {flagged} of {calib.size} flagged, as events merged within "
                   f"{det.event_gap} samples are too long for it")
    floor = det.threshold_obj_.params.get("floor")
    if isinstance(floor, dict):
        budget += (f"; raised from {floor.get('budget_value', float('nan')):.4g} to the floor, {floor.get('ratio')} x "
                   "the median normal score: the normal scores are nearly flat")
    # in-sample calibration (asked for, or training data too short even to cross-fit): not held-out data
    source = {"training": "the training data itself, in-sample (new normal data raises more)",
              "crossfit": "training data scored by a copy that never saw it (cross-fit: too short to hold any out)",
              }.get(str(det.threshold_obj_.params.get("scores")), "held-out normal data")
    early = getattr(det, "early_threshold_", None)
    early_note = "" if early is None else f"; early alarms (tsae monitor) above {early:.4g}"
    return (f"threshold {det.threshold_:.4g}: {realised:.3g} false alarms/day on {span} of {source} "
            f"({budget}; {interval:g} s between samples{assumed}){early_note}")


def _init_family(init: str | Path, family: str | None) -> str:
    """The family of a detector that starts from ``init`` (``family``, else the model's): a file that cannot be
    loaded, a denoiser, a model of another family or without an encoder is an error naming ``init``."""
    from tsae.models.pretrained import init_settings, load_init

    return init_settings(load_init(init), family, None, None)[0]


def score_file(test_path: str | Path, detector: str | Path | Detector, output: str | Path, *,
               plot: str | Path | None = None, events: str | Path | Literal[False] | None = None, device: str = "auto",
               quiet: bool = False, drift_rate: float | None = None, drift_every: int | None = None,
               silence: int | None = 100, report: bool = True, timezone: str | None = None,
               group_by: str | Sequence[str] | None = None,
               cores: Callable[[Detector], Any] | None = None, dialect: TableDialect | None = None,
               scratch: bool = False) -> dict[str, Any]:
    """Score a CSV with a fitted detector (``tsae detect score``).

    Writes ``output`` (CSV: the time column when the input had one, ``score``, ``anomaly``
    0/1, ``contrib_<sensor>`` shares; ``.csv.gz`` etc. compressed), the events (``.json`` or ``.csv``, ``.csv.gz``
    etc. compressed; default ``<output stem>.events.json`` beside it, ``scores.csv.gz`` -> ``scores.events.json``;
    ``False``: none; another suffix is refused before scoring, see
    :func:`~tsae.pipelines.anomaly.events.events_suffix`) and
    optionally a plot (PNG/PDF/SVG): all of them, or none when one fails. ``drift_rate`` / ``drift_every`` override the
    detector's drift updates (:mod:`~tsae.pipelines.anomaly.drift`; None: its own), ``timezone`` its zone (the wall
    clock the rows' UTC instants meet its seasonal profile on; None: its own). Returns
    a summary dict; unless ``quiet``, a line on stderr sums up the scores and events, then ``wrote PLOT`` names
    the plot (:func:`score_summary`; ``report`` False: not, for a caller that has more to write first, as the CLI
    sends stdout). A time column that goes back in time or has duplicate times (the rows are scored in
    file order, each as its own sample; the warning tells how many rows repeat a time and the first one)
    and a sensor column without values (scored as missing throughout) are warned about
    (``TableWarning``). Sensor columns are matched by name, in any order; other columns (not the time
    or label column) are ignored and warned about, and columns none of which names a sensor, as many
    as the sensors, are taken in order, warned about too (as the monitor does). A sensor missing for
    ``silence`` rows in a row is silent until its next value, scored as the monitor scores it
    (:meth:`Detector.score_with_contributions`; None: every gap holds its last value): warned about, and listed
    in the summary's and the JSON events file's ``silent_sensors`` (``sensor``, ``index`` where it fell silent,
    ``since_index`` its first missing row, ``stretches``; indices count rows from 0, as the events' do; with a
    time column also ``time`` and ``since_time``).

    Once the table is read, the memory stays bounded whatever its length: the rows are scored, written and grouped
    into events a block at a time (:func:`~tsae.pipelines.anomaly.block_scoring.score_blocks`,
    :func:`~tsae.io.table_write.open_table_writer`, :class:`~tsae.pipelines.anomaly.events.EventTracker`), with the
    bytes the whole arrays give; a ``plot`` draws the envelope of the rows and scores gathered as they are scored
    (:class:`~tsae.pipelines.anomaly.plot_envelope.Envelope`). A long table file (over
    :data:`~tsae.io.table_blocks.LONG_TABLE_BYTES`) is read in blocks too, as it is scored
    (:func:`~tsae.io.table_blocks.open_table_blocks`: two passes; its time column is held whole).

    ``group_by`` (a column name, or several): the table holds many devices, each row's named in those columns; each
    device's rows are scored as their own series, as a file of them alone would be, and the outputs carry the device
    column(s) (:func:`~tsae.pipelines.anomaly.fleet.score_devices_file`; no ``plot``). The summary then adds
    ``devices``, ``devices_skipped`` and ``by_device``.

    ``cores``: given the detector as it scores (its settings overridden), a fresh scoring core of it, as
    :meth:`Detector.core` builds it with ``early=True`` (a fleet's devices fork one; None: built here).

    ``dialect``: the CSV's delimiter, quoting and lines to skip, known already (a fleet's device files share the
    fleet's: :func:`~tsae.io.tables.read_table`'s ``dialect``); None: told from its text.

    ``scratch``: ``output`` and ``events`` are files of the caller's own private folder, read back by it at once (a
    fleet's devices): written in place (:func:`~tsae.io.atomic.written_in_place`), without the checks, temporary
    file and rename of a user's output (the caller's own outputs have them).
    """
    devices = group_columns(group_by)
    if devices:
        if plot:
            raise ValueError("a plot draws one series: not with group_by (plot a device's rows on their own)")
        from tsae.pipelines.anomaly.fleet import score_devices_file

        summary = score_devices_file(test_path, detector, output, devices, events=events, quiet=quiet,
                                     device=device, drift_rate=drift_rate, drift_every=drift_every, silence=silence,
                                     timezone=timezone)
        if report:
            for line in score_summary(summary):
                _progress(line, quiet)
        return summary
    from tsae.io.table_blocks import open_long_table
    from tsae.io.table_time import time_header
    from tsae.io.table_write import column_format, open_table_writer
    from tsae.io.tables import TableWarning
    from tsae.pipelines.anomaly.events import Event, EventTracker, events_suffix, write_events

    silence = silence_setting(silence)
    test_path, output = Path(test_path), Path(output)
    events_path = None if events is False else Path(events) if events else \
        Path(split_suffix(output)[0] + ".events.json")  # x.csv.gz: x.events.json
    protect = (test_path, *map(Path, read_paths(detector)))
    if not scratch:
        check_outputs([output, *([events_path] if events_path else []), *([Path(plot)] if plot else [])], protect)
        _check_scores_name(output)
        if events_path is not None:
            events_suffix(events_path)  # an events file it cannot write is refused before any scoring
    if plot:  # a plot it cannot draw, too
        from tsae.pipelines.anomaly.plot import plot_format

        plot_format(plot)
    det = detector if isinstance(detector, Detector) else Detector.load(detector, device=device)
    det.device = device
    if timezone is not None and det.seasonal_ is None:
        warnings.warn(unused_timezone(timezone), UserWarning, stacklevel=2)
    overrides: dict[str, Any] = {name: value for name, value in (("drift_rate", drift_rate),
                                                                  ("drift_every", drift_every),
                                                                  ("timezone", timezone)) if value is not None}
    if det.quiet != quiet:  # the scoring's progress bar (a long file, on a terminal) follows this job's quiet
        overrides["quiet"] = quiet
    if overrides:  # a copy: a Detector passed in keeps its own settings
        det = copy.copy(det).set_params(**overrides)
    if drift_every is not None:
        check_drift_every_used(det.drift_rate, drift_every)
    # a long table is read a block at a time, the time column whole (a plot draws the rows' envelope, gathered so)
    with read_bar(test_path, not quiet and stderr_is_terminal()):
        source = open_long_table(test_path, text_columns=True, dialect=dialect)
        # a column of text is no sensor's; a Table or the TableSource, which tells what a Table does but its values
        table: Any = read_data(test_path, text_columns=True, dialect=dialect) if source is None else source
    _refuse_text(test_path, table, det.sensors_)
    counter = _counter_as_sensor(test_path, table, det.sensors_)
    columns = list(table.columns) + ([] if counter is None else [table.time_name])
    order, column_note = _sensor_order(test_path, columns, det.sensors_, list(table.text_columns))
    X: Any = None  # the sensors' rows (C, n), when the table is read whole
    if source is None:
        values = table.values if counter is None else np.vstack([table.values, counter[None]])
        # the table's own rows when they are the sensors in order: no copy of the data
        X = values if order == list(range(len(columns))) else values[order]
        n, valued = X.shape[1], np.isfinite(X).any(axis=1)
    else:
        extra = [] if counter is None else [bool(np.isfinite(counter).any())]
        n, valued = source.n, np.array([*source.valued, *extra], dtype=bool)[order]
    if n < det.window_:
        raise ValueError(f"{test_path}: {n} row(s): shorter than the detector's window ({det.window_})")
    if not valued.any():
        raise ValueError(f"{test_path}: no valid values")
    if column_note:
        warnings.warn(column_note, TableWarning, stacklevel=2)
    _warn_empty_sensors(test_path, valued, n, [columns[i] for i in order], silence)
    time, time_name = (None, None) if counter is not None else (table.time, table.time_name)
    names = ["score", "anomaly", *(f"contrib_{name}" for name in det.sensors_)]
    formats: list[ColumnFormat] = [None] * len(names)
    if time is not None:  # one precision for all of its dates, whole numbers written as read: decided on all of it
        names.insert(0, time_header(time_name))  # pandas' unnamed index stays unnamed, as smooth writes it
        formats.insert(0, column_format([time], time=True))
    tracker = EventTracker(det.sensors_, merge_gap=det.event_gap, onset_base=det.state_.contrib_base,
                           onset_from=max(det.state_.windows) - 1)
    found: list[Event] = []
    flagged = 0
    # what the plot draws of the scores and (a long table read in blocks) of the sensors, gathered as they are scored
    plotted = Envelope(n, 1) if plot else None
    drawn = Envelope(n, len(order)) if plot and source is not None else None

    # the plot, events and scores appear together or not at all
    with all_or_nothing(), written_in_place(output.parent) if scratch else contextlib.nullcontext():
        with open_table_writer(output, names, formats, time_utc=table.time_utc, protect=protect) as rows:

            def block(scores: np.ndarray, contrib: np.ndarray) -> None:  # written, and its events found, as scored
                nonlocal flagged
                flags = (scores > det.threshold_).astype(np.int64)
                times = [] if time is None else [time[rows.rows:rows.rows + len(scores)]]
                rows.write([*times, scores, flags, *contrib.T])
                found.extend(tracker.push(scores, flags, contrib.T))
                flagged += int(flags.sum())
                if plotted is not None:
                    plotted.add(scores[None])

            # the silent stretches as the scoring found them, warned about after it (and the time order after them)
            rows_in = X if source is None else _rows(source, order, counter, drawn)
            dates = _profile_times(test_path, det, time, table.time_utc)
            if dates is not None and source is not None:  # a long table's rows, the profile removed as they are read
                rows_in = _without_profile(rows_in, det, dates)
            stretches = det._score_each(rows_in, None, silence, block, dates, tracker.push_onset,
                                        core=None if cores is None else cores(det))
            if source is not None:
                source.finish()  # a file that changed while it was read is an error, and no output
        found.extend(tracker.flush())
        silent = _silent_sensors(test_path, valued, list(det.sensors_), silence, stretches)
        warn_time_order(test_path, time, time_name, "scored", _SEAM_HINT)
        if time is not None:  # the times of the rows the events and silent sensors name, as the scores file's
            unit = formats[0]
            for event in found:
                event.start, event.end = (_time_at(table, event.start_index, unit),
                                          _time_at(table, event.end_index, unit))
                event.peak_time = _time_at(table, event.peak_index, unit)
            silent = [dict(entry, time=_time_at(table, entry["index"], unit),
                           since_time=_time_at(table, entry["since_index"], unit)) for entry in silent]
        if plot and plotted is not None:
            from tsae.pipelines.anomaly.plot import plot_anomalies

            plot_anomalies(plot, X if drawn is None else drawn, plotted, det.threshold_, found, sensors=det.sensors_,
                           time=time, title=test_path.name, protect=protect)
        if events_path is not None:
            write_events(events_path, found, protect=protect, silent_sensors=silent)
    summary = {"rows": int(n), "anomalous_rows": flagged, "events": len(found),
               "threshold": float(det.threshold_), "output": str(output),
               "events_file": None if events_path is None else str(events_path), "silent_sensors": silent,
               "plot": None if plot is None else str(plot)}
    if report:
        for line in score_summary(summary):
            _progress(line, quiet)
    return summary


def score_summary(summary: dict[str, Any]) -> list[str]:
    """The lines that tell what :func:`score_file` wrote, from the summary it returns.

    Examples
    --------
    >>> score_summary({"output": "s.csv", "rows": 2000, "anomalous_rows": 561, "events": 3,
    ...                "events_file": "s.events.json", "plot": "s.png"})
    ['s.csv: 2000 rows, 561 flagged, 3 event(s) -> s.events.json', 'wrote s.png']
    """
    events_file, plot = summary.get("events_file"), summary.get("plot")
    devices = f" of {summary['devices']} device(s)" if "devices" in summary else ""
    return [f"{summary['output']}: {summary['rows']} rows{devices}, {summary['anomalous_rows']} flagged, "
            f"{summary['events']} event(s)" + ("" if events_file is None else f" -> {events_file}"),
            *([] if plot is None else [f"wrote {plot}"])]
