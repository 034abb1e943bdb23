"""``tsae detect fit|score`` (batch anomaly detection) and ``tsae monitor`` (streaming)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import click

from tsae.cli.common import (
    STDIN,
    FloatRange,
    IntRange,
    LocalPath,
    OutputFile,
    checked_by,
    detector_input,
    device_option,
    echo_done,
    given_flags,
    hop_fits,
    init_option,
    key_values,
    model_file,
    name_text,
    only_with,
    output_file,
    quiet_option,
    seed_option,
    table_output,
)
from tsae.models.params import MAX_INT_HPARAM

#: a window length of --window and --scales: two samples at least, at most what a detector file holds
_WINDOW_LENGTH = IntRange(2, MAX_INT_HPARAM)


def _window(ctx: click.Context, param: click.Parameter, value: str) -> int | str:
    """--window: 'auto' (in any case, as --threshold and --scales take their words) or a whole number >= 2."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not 'auto' or a whole number of samples (2<=x<={MAX_INT_HPARAM})", ctx,
                                 param) from None
    return _WINDOW_LENGTH.convert(value, param, ctx)


def _threshold(ctx: click.Context, param: click.Parameter, value: str) -> str | float:
    """--threshold: a method's name or a fixed number; refused in the detector's own words (``threshold_problem``)."""
    from tsae.pipelines.anomaly.thresholds import THRESHOLD_METHODS, threshold_problem

    problem = threshold_problem(value)
    if problem:
        raise click.BadParameter(problem, ctx, param)
    return value.lower() if value.lower() in THRESHOLD_METHODS else float(value)


def _terms(terms: str) -> None:
    from tsae.pipelines.anomaly.terms import term_names

    term_names(terms)


def _scales(ctx: click.Context, param: click.Parameter, text: str) -> str | list[int]:
    """--scales: 'auto', 'none' or comma-separated window lengths (each >= 2, as --window)."""
    if text.strip().lower() in ("auto", "none", ""):
        return "auto" if text.strip().lower() == "auto" else []
    try:
        lengths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        lengths = []
    if not lengths:
        raise click.BadParameter(f"{text!r}: use auto, none or window lengths such as 16,64", ctx, param)
    return [_WINDOW_LENGTH.convert(length, param, ctx) for length in lengths]


def refuse_audio(path: Path) -> None:
    """Refuse an audio file (or a copy of audio piped in) given to ``tsae detect`` in one line that says what it is
    and what to do, rather than the table reader's "not a text table (binary data)"; told by its first bytes."""
    from tsae.io.stream_kind import HEAD_BYTES, audio_container

    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return  # the reader tells what is wrong
    found = audio_container(head)
    if found is not None:
        raise ValueError(f"{path}: {found[1]} (audio); tsae detect reads sensor tables (CSV) or .npy arrays: convert "
                         "it to one, or use `tsae smooth` or `tsae denoise` for audio")


def drift_options(command: Any) -> Any:
    """``--drift-rate`` and ``--drift-every``, the same on ``detect score`` and ``monitor``."""
    command = click.option("--drift-every", type=IntRange(1, MAX_INT_HPARAM), default=None, metavar="N",
                           help="Samples between drift updates, at least 4 windows [default: the detector's, else 50 "
                                "windows].")(command)
    return click.option("--drift-rate", type=FloatRange(0, 1), default=None, metavar="R",
                        help="Drift updates: the normalisation and score level move this fraction toward recent "
                             "normal samples, never during an alarm (0: off) [default: the detector's].")(command)


def _timezone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--timezone: an IANA zone's name this machine knows."""
    from tsae.io.time_zone import zone_problem

    problem = None if value is None else zone_problem(value)
    if problem:
        raise click.BadParameter(problem, ctx, param)
    return value


def timezone_option(default: str, more: str = "") -> Any:
    """--timezone TZ of ``detect fit``, ``detect score`` and ``monitor``; ``default`` tells what it is without."""
    return click.option("--timezone", default=None, metavar="TZ", callback=_timezone,
                        help="The time zone (IANA name, e.g. Europe/Berlin) of the weekly profile's clock: Unix times "
                             "and dates with a UTC offset are read on its wall clock (daylight saving time included), "
                             f"dates without an offset as written{more} [default: {default}].")


def group_by_option(text: str) -> Any:
    """``--group-by COL`` (repeatable) of ``detect fit`` and ``detect score``: ``text`` says what it does there."""
    return click.option("--group-by", "group_by", multiple=True, type=name_text, metavar="COL", help=text)


@click.group("detect")
def detect_group() -> None:
    """Batch anomaly detection on sensor CSV files (one column per sensor; .csv.gz, .bz2, .xz too) or .npy arrays
    (sensors, samples), whose sensors are named s0, s1 ...

    \b
    tsae detect fit normal.csv -o detector.tsae
    tsae detect score new.csv --detector detector.tsae -o scores.csv --plot scores.png
    """


def _default_smoothing_fits(window: int | str, init: Path | None) -> None:
    """Refuse a ``--window`` whose default smoothing (two windows; no option of ``detect fit`` sets it) is longer than
    a detector file holds, by the option the user gave, before the data is read; so too the window of the ``--init``
    model, which is used without ``--window`` (read from its header: a broken file is told by the fit)."""
    from tsae.models.pretrained import init_window
    from tsae.pipelines.anomaly.series_input import MAX_SMOOTH, longest_window_for

    most = longest_window_for(2.0, MAX_SMOOTH)
    if isinstance(window, int) and 2 * window > MAX_SMOOTH:
        raise click.UsageError(f"--window {window} makes the default smoothing 2*window = {2 * window} samples, over "
                               f"the {MAX_SMOOTH} a detector file holds: use a window of at most {most}")
    if window != "auto" or init is None:
        return
    try:
        used = init_window(init)
    except ValueError:
        return
    if used is not None and 2 * used > MAX_SMOOTH:
        raise click.UsageError(f"{init}: its window {used}, used without --window, makes the default smoothing "
                               f"2*window = {2 * used} samples, over the {MAX_SMOOTH} a detector file holds: give a "
                               f"--window of at most {most}")


@detect_group.command("fit")
@detector_input("train")
@click.option("-o", "--output", type=output_file, required=True,
              help="Detector file to write (.tsae).")
@click.option("--family", type=name_text, default=None,
              help="Autoencoder family (see `tsae models`) [default: conv1d, or the --init model's].")
@click.option("--window", default="auto", show_default=True, callback=_window,
              help=f"Window length in samples (2 to {MAX_INT_HPARAM}), or 'auto' (the data's dominant period).")
@click.option("--hop", type=IntRange(1, MAX_INT_HPARAM), default=None,
              help="Scoring hop, at most the window [default: window // 8].")
@click.option("--threshold", default="budget", show_default=True, callback=_threshold,
              help="budget (at most --alarms-per-day false-alarm events a day), pot (extreme-value tail fit "
                   "of the samples' scores), quantile, or a fixed number.")
@click.option("--alarms-per-day", type=FloatRange(0, min_open=True), default=1.0, show_default=True,
              help="False-alarm budget of the whole detector, in events a day (budget).")
@click.option("--sample-interval", type=FloatRange(0, min_open=True), default=None, metavar="SECONDS",
              help="Seconds between rows [default: the median step of the time column, else 1 s assumed].")
@click.option("--risk", type=FloatRange(0, 1, min_open=True, max_open=True), default=1e-3,
              show_default=True, help="Target false-alarm rate per sample (pot).")
@click.option("--q", "quantile", type=FloatRange(0, 1, min_open=True, max_open=True), default=0.995,
              show_default=True, help="Quantile of the training scores (quantile).")
@click.option("--terms", default="auto", show_default=True, callback=checked_by(_terms),
              help="Score terms: auto (the self-check picks among ae, pca, stats on held-out data with synthetic "
                   "anomalies), or a '+'-joined combination such as pca+stats.")
@click.option("--scales", default="auto", show_default=True, callback=_scales,
              help="Further window lengths added to the main window: auto (16 and 64), a comma-separated list, "
                   "or none.")
@click.option("--seasonal", type=click.Choice(["auto", "daily", "off"], case_sensitive=False), default="auto",
              show_default=True,
              help="Normal levels by time, learnt where the time column holds dates: auto (by hour of the week, for "
                   "sensors whose weekdays differ, from 14 days on), daily (by hour of day too, from 3 days on), off.")
@timezone_option("none, instants in UTC", "; kept in the detector file for scoring")
@click.option("--shared-rise", type=FloatRange(1.0, 1e6), default=1.15, show_default=True,
              help="The most a rise of the error that most sensors share (the weather, the load) is discounted; "
                   "1: not at all.")
@click.option("--epochs", type=IntRange(min=1), default=5, show_default=True,
              help="Most training epochs of the network (early stopping on held-out windows).")
@group_by_option("TRAIN holds many devices: the column(s) naming each row's device (repeatable); the detector learns "
                 "from windows within each device (never one spanning two) and applies to every device.")
@seed_option
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", callback=key_values,
              help="Model family parameter (repeatable), e.g. --param latent=16 (see `tsae models FAMILY`).")
@init_option
@device_option
@quiet_option
def fit_command(train: Path | str, output: Path, family: str | None, window: int | str, hop: int | None,
                threshold: str | float, alarms_per_day: float, sample_interval: float | None, risk: float,
                quantile: float, terms: str, scales: str | list[int], seasonal: str, timezone: str | None,
                shared_rise: float, epochs: int, group_by: tuple[str, ...], seed: int, params: dict[str, str],
                init: Path | None, device: str, quiet: bool) -> None:
    """Learn normal behaviour from TRAIN (a CSV of normal data or a .npy array (sensors, samples); - for either
    on stdin) and write a detector file.

    With --init, the network starts from the encoder of a model trained before (tsae train
    on other, perhaps unlabelled, series): its family, window and parameters are used.
    After fitting, one line says which score terms the self-check kept and why, and one
    reports the threshold and the false alarms a day it raises on the held-out normal data,
    beside the budget.
    """
    from tsae.pipelines.anomaly.files import fit_detector_file

    for name, wants in (("alarms_per_day", "budget"), ("risk", "pot"), ("quantile", "quantile")):
        if threshold != wants and given_flags(name):  # another method takes no part of it
            only_with(given_flags(name), f"--threshold {wants}" + (" (the default)" if wants == "budget" else ""))
    hop_fits(hop, window)
    _default_smoothing_fits(window, init)
    if timezone is not None and seasonal.lower() == "off":  # the zone places times in the week: no profile, no use
        only_with(["--timezone"], "a seasonal profile (--seasonal auto or daily)")
    from tsae.cli.pipes import table_input

    with table_input(train, [output], quiet=quiet) as source:
        refuse_audio(source)
        fit_detector_file(source, output, family=family, window=window, threshold=threshold,
                          device=device, quiet=quiet, epochs=epochs, hop=hop, risk=risk, q=quantile, seed=seed,
                          model_params=params or None, init=init, alarms_per_day=alarms_per_day,
                          sample_interval=sample_interval, terms=terms, scales=scales, seasonal=seasonal.lower(),
                          timezone=timezone, shared_rise=shared_rise, group_by=group_by or None)


@detect_group.command("score")
@detector_input("test")
@click.option("--detector", type=model_file, required=True,
              help="Detector file written by `tsae detect fit`.")
@click.option("-o", "--output", type=table_output, required=True,
              help="Scores CSV to write (time, score, anomaly, contrib_<sensor>...; .csv.gz compressed), or - for "
                   "stdout.")
@click.option("--plot", type=output_file, default=None,
              help="Also write a plot (PNG/PDF/SVG/JPG) of the series, score, threshold and events (it holds "
                   "every score in memory, which scoring alone does not).")
@click.option("--events", type=OutputFile(stdout="the events"), default=None,
              help="Events file (.json, or .csv; .csv.gz, .csv.bz2, .csv.xz compressed), or - for stdout (JSON); "
                   "default <output stem>.events.json, none with -o -.")
@click.option("--silence", type=IntRange(min=1), default=100, show_default=True,
              help="A sensor with no value for this many rows is silent: warned about and left out of the score "
                   "until it reports again, as `tsae monitor --silence` leaves it out.")
@group_by_option("Score each device's rows as their own series (own windows, time order, events), as a file of "
                 "them alone: the column(s) naming each row's device (repeatable); the outputs carry it.")
@timezone_option("the detector's")
@drift_options
@device_option
@quiet_option
def score_command(test: Path | str, detector: Path, output: Path | str, plot: Path | None, events: Path | str | None,
                  silence: int, group_by: tuple[str, ...], timezone: str | None, drift_rate: float | None,
                  drift_every: int | None, device: str, quiet: bool) -> None:
    """Score TEST (a CSV or a .npy array (sensors, samples); - for either on stdin) with a fitted detector: per-row
    scores, 0/1 flags, sensor contributions and events.

    With -o - the scores go to stdout as CSV and the events only to --events FILE;
    with --events - the events go to stdout as JSON (one of the two at most).

    \b
    Examples:
      tsae detect score new.csv --detector pump.tsae -o scores.csv --plot scores.png
      tail -n 100000 log.csv | tsae detect score - --detector pump.tsae -o - | awk -F, '$3 == 1'
      tsae detect score new.csv --detector pump.tsae -o scores.csv --events - | jq '.events[].start'
    """
    import contextlib

    from tsae.cli.pipes import files_with_stdout, is_stdout, outputs_to_stdout, shown, stdout_or_file, table_input
    from tsae.pipelines.anomaly.files import score_file, score_summary

    outputs_to_stdout({"-o": output, "--events": events})
    if group_by and plot is not None:
        raise click.UsageError("--plot draws one series: not with --group-by (score a device's rows alone to plot "
                               "them)")
    reads = [test, detector]
    with contextlib.ExitStack() as stack:
        stack.enter_context(files_with_stdout())  # the files wait for stdout: all of them, or none
        target = stack.enter_context(stdout_or_file(output, reads))
        events_to: Path | Literal[False] | None = None  # None: the default beside the scores file
        if events is not None:
            events_to = stack.enter_context(stdout_or_file(events, reads, suffix=".json"))
        elif is_stdout(output):  # no file beside stdout
            events_to = False
        source = stack.enter_context(table_input(test, [output, plot, events], quiet=quiet))
        refuse_audio(source)
        summary = score_file(source, detector, target, plot=plot, events=events_to, device=device, quiet=quiet,
                             drift_rate=drift_rate, drift_every=drift_every, silence=silence, report=False,
                             timezone=timezone, group_by=group_by or None)
    # told once stdout and the files are written (a failing stdout says nothing else), naming what the user named
    summary.update(output=shown(output), events_file=summary["events_file"] if events is None else shown(events))
    for line in score_summary(summary):
        echo_done(line, quiet)


def closed_monitor_stream(streams: tuple[str, str]) -> str:
    """Why ``tsae monitor`` cannot run with its ``(source, sink)`` ``streams`` here: stdin it reads, or stdout it
    writes to, closed (``< &-``, ``>&-``); '' else. A reader of stdout that goes away later (``| head``) is no error:
    the monitor ends quietly, with status 0."""
    if streams[0] == "stdin" and (sys.stdin is None or sys.stdin.closed):
        return "stdin is closed here: pipe the samples in (or read them with --mqtt HOST:PORT)"
    if streams[1] == "stdout" and (sys.stdout is None or sys.stdout.closed):
        return ("stdout is closed here: the monitor writes its records there; redirect it to a file or pipe "
                "(or publish them with --out-topic)")
    return ""


@click.command("monitor")
@click.option("--detector", type=model_file, required=True,
              help="Detector file written by `tsae detect fit`.")
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "json", "influx", "f32", "f64", "s16", "s32"]),
              default="auto", show_default=True,
              help="Input lines: CSV (a header line names the columns), JSON objects (or arrays of them; Telegraf's "
                   "JSON metrics too) or InfluxDB line protocol (auto: the first such line); with --raw, the binary "
                   "sample type (f32 by default).")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", callback=key_values,
              help="Line protocol / Telegraf JSON: read only the series with this tag (repeatable).")
@click.option("--group-by", "group_by", multiple=True, type=name_text, metavar="TAG",
              help="Monitor each value of this tag as its own device (own windows, events and state; one detector), "
                   "as Kapacitor's groupBy: records carry the device's tags (repeatable: a device per combination). "
                   "A CSV stream's column, or a plain JSON record's field, of that name names the device too.")
@click.option("--max-devices", type=IntRange(min=1), default=1000, show_default=True,
              help="With --group-by: most devices monitored at once; beyond, a new device drops the one seen least "
                   "recently (its event closed, its summary written); a dropped one that comes back while all "
                   "monitored report more recently is skipped (counted over_max_devices).")
@click.option("--topic-tags", default=None, metavar="PATTERN",
              help="MQTT, with --group-by: tags from the topic's levels, as Telegraf's topic_parsing "
                   "('_/host/_': the second level is the tag host).")
@click.option("--precision", type=click.Choice(["ns", "us", "ms", "s"]), default=None,
              help="Line protocol / Telegraf JSON: the timestamps' unit [default: ns for line protocol, s for "
                   "Telegraf JSON].")
@click.option("--raw", is_flag=True,
              help="Binary input on stdin: little-endian rows of one value per sensor, in the detector's order.")
@click.option("--mqtt", default=None, metavar="HOST:PORT", help="Read samples from an MQTT broker instead of stdin.")
@click.option("--topic", default="tsae/samples", show_default=True, help="MQTT topic to subscribe to.")
@click.option("--out-topic", default=None, help="Publish events to this MQTT topic (instead of stdout).")
@click.option("--every-sample", is_flag=True, help="Also write one line per scored sample.")
@click.option("--time-field", type=name_text, default=None,
              help="Name of the time field (default: time/timestamp/t...).")
@click.option("--silence", type=IntRange(min=1), default=100, show_default=True,
              help="A sensor with no value for this many samples is silent: reported (a 'sensor' record) and "
                   "left out of the score until it reports again.")
@click.option("--client-id", type=name_text, default=None,
              help="MQTT client id of the persistent session [default: derived from the detector file and topic].")
@click.option("--clean-session", is_flag=True,
              help="MQTT: no persistent session (messages published while the monitor is away are not kept).")
@click.option("--outbox", type=LocalPath(dir_okay=False, path_type=Path), default=None,
              help="MQTT output: keep records the broker has not taken at exit in this file; sent first next run. "
                   "An existing file must be one the monitor wrote (its first line marks it): saved stdout is refused.")
@click.option("--max-time-jump", type=FloatRange(min=0, min_open=True, infinite=True), default=1e9, show_default=True,
              help="A record whose time is further ahead than this (time-field units; seconds for dates) "
                   "is skipped unless the next record confirms the jump; never less than 10 of the stream's own "
                   "steps.")
@click.option("--max-line", type=IntRange(min=1), default=1 << 20, show_default=True,
              help="Longest input line in characters; longer lines count as malformed.")
@click.option("--source", type=name_text, default=None, metavar="NAME",
              help="Stream source registered by a plugin (see `tsae plugins`) [default: mqtt with --mqtt, else stdin].")
@click.option("--sink", type=name_text, default=None, metavar="NAME",
              help="Stream sink registered by a plugin [default: mqtt with --out-topic, else stdout].")
@click.option("--source-option", "source_options", multiple=True, metavar="KEY=VALUE", callback=key_values,
              help="Option passed to a plugin's source (repeatable).")
@click.option("--sink-option", "sink_options", multiple=True, metavar="KEY=VALUE", callback=key_values,
              help="Option passed to a plugin's sink (repeatable).")
@click.option("--no-early", "no_early", is_flag=True,
              help="No early alarms: alarm only once a sample's score is final (about two windows later).")
@timezone_option("the detector's")
@drift_options
@quiet_option
def monitor_command(detector: Path, fmt: str, tags: dict[str, str], group_by: tuple[str, ...], max_devices: int,
                    topic_tags: str | None, precision: str | None, raw: bool,
                    mqtt: str | None, topic: str, out_topic: str | None,
                    every_sample: bool, time_field: str | None, silence: int, client_id: str | None,
                    clean_session: bool, outbox: Path | None, max_time_jump: float, max_line: int,
                    source: str | None, sink: str | None, source_options: dict[str, str],
                    sink_options: dict[str, str], drift_rate: float | None, drift_every: int | None,
                    no_early: bool, timezone: str | None, quiet: bool) -> None:
    """Score a live stream of samples (stdin or MQTT) and report anomaly events as JSON lines.

    \b
    some_sensor_feed | tsae monitor --detector detector.tsae
    tsae monitor --detector pump.tsae --mqtt localhost:1883 --topic 'telegraf/#' --group-by host
    fast_daq --binary | tsae monitor --detector d.tsae --raw --format f32
    tsae monitor --detector d.tsae --mqtt localhost:1883 --topic plant/pump --out-topic plant/alarms

    Ctrl-C (or the end of the input) prints a summary and exits.
    """
    from tsae.pipelines.anomaly.monitor import run_monitor, stream_names

    for flag, options, name in (("--source", source_options, source), ("--sink", sink_options, sink)):
        if options and name is None:
            raise click.UsageError(f"{flag}-option needs {flag} NAME (the plugin {flag[2:]} it configures)")
    binary = fmt in ("f32", "f64", "s16", "s32")
    if binary and not raw:
        raise click.UsageError(f"--format {fmt} is a binary sample type: add --raw")
    if raw and (fmt in ("csv", "json", "influx") or mqtt or source):
        raise click.UsageError("--raw reads binary rows from stdin: not with --format csv/json/influx, --mqtt or "
                               "--source")
    if (raw or fmt == "csv") and given_flags("tags", "precision"):
        only_with(given_flags("tags", "precision"), "line protocol or Telegraf JSON (not --raw or --format csv)")
    if raw and group_by:
        raise click.UsageError("--group-by reads each device's tags from text lines: not with --raw")
    if not group_by and given_flags("max_devices", "topic_tags"):
        only_with(given_flags("max_devices", "topic_tags"), "--group-by TAG")
    if mqtt is not None and not mqtt.strip():
        raise click.BadParameter("an empty address (an unset shell variable?)", param_hint="'--mqtt'")
    streams = stream_names(source, sink, mqtt, out_topic)
    if not mqtt and "mqtt" in streams:
        what = ("--out-topic" if out_topic is not None and sink is None
                else "--source mqtt" if source == "mqtt" else "--sink mqtt")
        raise click.UsageError(f"{what} needs the broker's address: add --mqtt HOST:PORT")
    if mqtt and "mqtt" not in streams:
        only_with(["--mqtt"], "an MQTT source or sink (not with --source and --sink of other streams)")
    if streams[0] != "mqtt" and given_flags("topic", "clean_session", "topic_tags"):
        only_with(given_flags("topic", "clean_session", "topic_tags"), "an MQTT source (--mqtt HOST:PORT)")
    if streams[1] != "mqtt" and given_flags("outbox"):
        only_with(["--outbox"], "an MQTT sink (--out-topic and --mqtt HOST:PORT)")
    if "mqtt" not in streams and given_flags("client_id"):
        only_with(["--client-id"], "an MQTT source or sink (--mqtt HOST:PORT)")
    closed = closed_monitor_stream(streams)
    if closed:
        raise click.UsageError(closed)  # status 2 and one line, as `tsae smooth - >&-` and `tsae denoise -o - >&-`
    from tsae.cli.pipes import check_stdout_not_read, data_on_stdout

    if streams[1] == "stdout":  # `< x.csv >> x.csv` would write records into the file being read
        check_stdout_not_read([STDIN if streams[0] == "stdin" else None, detector])
    raw_format = (fmt if binary else "f32") if raw else None
    with data_on_stdout(streams[1] == "stdout") as stdout:
        code = run_monitor(detector, fmt="auto" if raw else fmt, raw=raw_format, mqtt=mqtt, topic=topic,
                           out_topic=out_topic, every_sample=every_sample,
                           time_field=time_field, silence=silence, client_id=client_id, quiet=quiet,
                           source=source, sink=sink, source_options=source_options, sink_options=sink_options,
                           max_time_jump=max_time_jump, max_line=max_line, clean_session=clean_session,
                           outbox=outbox, drift_rate=drift_rate, drift_every=drift_every, early=not no_early,
                           tags=tags or None, precision=precision, group_by=group_by or None, max_devices=max_devices,
                           topic_tags=topic_tags, timezone=timezone, stdout=stdout)
    if code:
        raise SystemExit(code)

