"""Options and helpers shared by every sub-command, spelled the same way everywhere."""
from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import click

_QUIET = "tsae.quiet"


def _not_a_number(value: str, what: str, allowed: str) -> str:
    """``'abc' is not a whole number (x>=1).``, saying so when a unit was given (``10s``, ``5%``); click said
    ``'abc' is not a valid integer range.``"""
    unit = re.fullmatch(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*(%|[^\W\d]+)\s*", value)
    hint = "; give the number alone, without a unit" if unit and unit.group(3).lower() not in ("e", "inf") else ""
    return f"{value!r} is not {what} ({allowed}{hint})."


def _refuse_text(kind: Any, value: Any, parse: Callable[[str], Any], what: str, param: click.Parameter | None,
                 ctx: click.Context | None) -> None:
    """Fail ``kind`` (a range type) for a text ``value`` that ``parse`` cannot read, in :func:`_not_a_number`'s
    words with ``kind``'s range."""
    if isinstance(value, str):
        try:
            parse(value)
        except ValueError:
            kind.fail(_not_a_number(value, what, kind._describe_range()), param, ctx)


class FloatRange(click.FloatRange):
    """:class:`click.FloatRange` that also refuses NaN (which passes every comparison with the bounds) and, unless
    ``infinite`` (an option where ``inf`` means no limit), ``inf`` and ``1e400``: refused here by the option's
    name, not later in the library's words (``alarms_per_day=inf is out of range``)."""

    def __init__(self, *args: Any, infinite: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.infinite = infinite

    def get_metavar(self, *args: Any, **kwargs: Any) -> str:
        return "NUMBER"  # the range follows in brackets; click's "FLOAT RANGE" told it twice

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        _refuse_text(self, value, float, "a number", param, ctx)
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number ({self._describe_range()}).", param, ctx)
        if not self.infinite and number in (math.inf, -math.inf):
            self.fail(f"{value!r} is not a finite number ({self._describe_range()}).", param, ctx)
        return number


class IntRange(click.IntRange):
    """:class:`click.IntRange` with a ceiling where the option has no maximum of its own: an integer beyond 64 bits
    (``--hop 100000000000000000000``) is refused here, not handed to numpy or numba, which cannot hold it."""

    #: the largest value an option without a maximum takes (int64's)
    CEILING = 2**63 - 1

    def get_metavar(self, *args: Any, **kwargs: Any) -> str:
        return "INTEGER"  # the range follows in brackets; click's "INTEGER RANGE" told it twice

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        _refuse_text(self, value, int, "a whole number", param, ctx)
        number = super().convert(value, param, ctx)
        if self.max is None and number > self.CEILING:
            self.fail(f"{number} is too large (at most {self.CEILING}).", param, ctx)
        return number


#: the ``-q`` of the command running in this process, for its worker threads: click's context is the main thread's
#: only, so a warning raised in a thread of ``tsae denoise --jobs`` was shown under ``-q``
_running_quiet = {"value": False}


def _remember_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.find_root().meta[_QUIET] = value
    _running_quiet["value"] = bool(value)
    return value


def forget_quiet() -> None:
    """Clear what :func:`is_quiet` says outside click's context (called as a command starts and ends)."""
    _running_quiet["value"] = False


def is_quiet() -> bool:
    """Whether the running command was given ``-q`` (its warnings are then not shown), in its own thread or in a
    worker thread it started."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return _running_quiet["value"]
    return bool(ctx.find_root().meta.get(_QUIET))


quiet_option = click.option("-q", "--quiet", is_flag=True, callback=_remember_quiet,
                            help="No progress bars, chatter or warnings (errors are still shown).")
device_option = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where models run: CUDA when present (auto), or forced.",
)
#: what an empty path argument is told as
EMPTY_PATH = "an empty path (an unset shell variable?)"


def local(value: Any, kind: click.ParamType, param: click.Parameter | None, ctx: click.Context | None) -> Any:
    """``value`` with a ``file://`` URL turned into the local path it names (:func:`tsae.io.paths.local_path`).

    Every path the command line takes goes through it, before anything looks at the path:
    one bad file URL is a usage error naming the argument, and so is an empty or blank
    name (``Path("")`` is the current folder, never what an unset shell variable meant:
    ``tsae train "$DATA"`` trained on the working folder's files).
    """
    from tsae.io.paths import local_path

    if not isinstance(value, str):
        return value
    if not value.strip():
        kind.fail(EMPTY_PATH, param, ctx)
    try:
        return local_path(value)
    except ValueError as error:
        kind.fail(str(error), param, ctx)


class LocalPath(click.Path):
    """:class:`click.Path` taking a ``file://`` URL for the local path it names, and refusing an empty name (see
    :func:`local`); an input that must exist refuses ``-`` as stdin, by name. A missing path, a broken link, a
    folder where a file is needed (``file_kind``: ``"model file"``) or a file where a folder is are told in the
    words of :func:`named` (``x.csv: no such file``), not click's (``File 'x.csv' does not exist.``)."""

    def __init__(self, *args: Any, file_kind: str = "file", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file_kind = file_kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        value = local(value, self, param, ctx)
        if value == "-" and self.exists:  # `cat x.csv | tsae smooth - ...` was told "File '-' does not exist"
            self.fail("'-' (stdin): this command reads a file, not stdin: give its name (./- for a file named -)",
                      param, ctx)
        if value != "-":
            denied(value, self, param, ctx, readable=self.readable)
            self.refuse_kind(value, param, ctx)
        return super().convert(value, param, ctx)

    def refuse_kind(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> None:
        """Fail for a path ``value`` that must exist and does not, or is a folder where a file is needed (or the
        reverse)."""
        text = os.fsdecode(value)
        if not os.path.exists(text):
            if self.exists:
                no_such(text, self, param, ctx, "file or folder" if self.file_okay and self.dir_okay
                        else "file" if self.file_okay else "folder")
            return
        if not self.dir_okay and os.path.isdir(text):
            self.fail(self.folder_refused(text), param, ctx)
        if not self.file_okay and os.path.isfile(text):
            self.fail(f"{text}: is a file, not a folder", param, ctx)

    def folder_refused(self, text: str) -> str:
        """What a folder ``text`` given where a file is needed is told."""
        return f"{text}: is a folder, not a {self.file_kind}"


def denied(value: Any, kind: click.ParamType, param: click.Parameter | None, ctx: click.Context | None, *,
           readable: bool = True) -> None:
    """Fail ``kind`` for a path ``value`` that may not be reached (a folder on its way not searchable), or, when it
    must be ``readable``, read (a folder not listable, a file ``chmod 000``): click's :class:`click.Path` told these
    "does not exist" and "is not readable"; they are told as :func:`tsae.io.paths.permission_denied`."""
    from tsae.io.paths import permission_denied

    try:
        Path(value).stat()
    except PermissionError:
        kind.fail(permission_denied(value), param, ctx)
    except (OSError, ValueError, TypeError):  # missing, a bad name...: the caller tells it
        return
    if readable and not os.access(value, os.R_OK):
        kind.fail(permission_denied(value), param, ctx)


#: what a table input given as ``-`` is (the text, not a path: ``./-``, a file named ``-``, is ``Path("-")`` too)
STDIN = "-"
#: what an output given as ``-`` (stdout) is, the same way
STDOUT = "-"


#: what ``-`` reads from stdin for most commands (their messages say so)
SERIES_ON_STDIN = "a table, audio or an array"
#: where :class:`TableInput` leaves what its command reads from stdin, for :func:`stdin_expected`
_STDIN_WHAT = "tsae.stdin_what"


class TableInput(LocalPath):
    """An input table FILE, or ``-``: the series on stdin (``what`` it may be, for messages: ``"a table or an
    array"``), handed to the command as :data:`STDIN` (the text, never a ``Path``), which it reads through
    :func:`tsae.cli.pipes.table_input`. ``-`` is a usage error where stdin is a terminal (the command would wait
    for a table typed in) or closed."""

    def __init__(self, exists: bool = True, dir_okay: bool = False, what: str = SERIES_ON_STDIN) -> None:
        super().__init__(exists=exists, dir_okay=dir_okay, path_type=Path, allow_dash=True)
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value != STDIN:
            value = super().convert(value, param, ctx)
            if not self.exists:  # a folder or a glob may be taken: a name that is none of them is still told here
                named(value, self, param, ctx)
            return value
        problem = stdin_problem(self.what)
        if problem:
            self.fail(problem, param, ctx)
        if ctx is not None:
            ctx.find_root().meta[_STDIN_WHAT] = self.what
        return STDIN


def stdin_problem(what: str = SERIES_ON_STDIN, stream: Any = None) -> str:
    """Why ``-`` cannot read ``what`` (``"audio"``) from stdin (``stream``, else ``sys.stdin``) here (closed, or a
    terminal: the command would wait for it typed in), or ''."""
    import sys

    stream = sys.stdin if stream is None else stream
    if stream is None or getattr(stream, "closed", False):
        return f"'-' reads {what} from stdin, which is closed here: pipe it in"
    if stream.isatty():
        return f"'-' reads {what} from stdin, which is a terminal here: pipe it in (./- for a file named -)"
    return ""


def stdin_expected() -> str:
    """What the running command's ``-`` reads from stdin (its :class:`TableInput`'s ``what``)."""
    ctx = click.get_current_context(silent=True)
    return SERIES_ON_STDIN if ctx is None else str(ctx.find_root().meta.get(_STDIN_WHAT, SERIES_ON_STDIN))


def empty_stdin(what: str) -> str:
    """The error of a stdin that ended before its first byte, naming ``what`` the command expected."""
    return f"stdin: empty (nothing was piped in; expected {what})"


class PathText(click.ParamType):
    """A path as text, checked by the command (a file, folder, glob, ``-`` or a URL), kept as given so that an
    output folder keeps its trailing separator (and a URL its scheme): a ``file://`` URL is the local path it
    names, an empty name is refused (see :func:`local`)."""

    name = "path"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return local(value, self, param, ctx)


class InputPaths(PathText):
    """An input of a command over many (a file, folder, glob, ``-`` or URL: see :class:`PathText`); a local name
    that names nothing is a usage error (exit 2), as click's ``exists=True`` tells it on the other commands."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        value = super().convert(value, param, ctx)
        named(value, self, param, ctx)
        return value


def named(value: Any, kind: click.ParamType, param: click.Parameter | None, ctx: click.Context | None) -> None:
    """Fail ``kind`` for an input ``value`` (not ``-``, which the command reads) that names no file or folder (a
    broken link included), or is a glob pattern that matches nothing (a URL's too; a URL without one is read by the
    command): a missing input is a usage error on every command, among inputs that are there too (as a missing file
    is: nothing is done)."""
    import glob

    from tsae.io.paths import is_url, url_glob

    text = str(value)
    if is_url(text) and glob.has_magic(text):
        try:
            found = url_glob(text)
        except Exception:  # noqa: BLE001 - unreachable store, no fsspec...: the command reads it and tells why
            return
        if not found:
            kind.fail(f"{text}: no file matches", param, ctx)
    if text == STDIN or is_url(text):
        return
    denied(text, kind, param, ctx)
    if os.path.exists(text):
        return
    if os.path.islink(text) or not glob.has_magic(text):
        no_such(text, kind, param, ctx, "file or folder")
    if next(glob.iglob(text, recursive=True), None) is None:  # as tsae.io.paths.expand_inputs expands it
        kind.fail(f"{text}: no file matches", param, ctx)


def no_such(text: str, kind: click.ParamType, param: click.Parameter | None, ctx: click.Context | None,
            noun: str) -> NoReturn:
    """Fail ``kind`` for a path ``text`` that is not there: ``x.csv: no such file`` (``noun``), or, for a link,
    that what it names is not there either."""
    if os.path.islink(text):
        kind.fail(f"{text}: is a link to no file (broken, or a loop of links)", param, ctx)
    kind.fail(f"{text}: no such {noun}", param, ctx)


class Name(click.ParamType):
    """A name (a family, a field, a stream, a device): an empty or blank one is refused, not taken as unset
    (``detect fit --family ''`` trained conv1d, ``monitor --time-field ''`` was told as ``time_field ... or None``)."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty name (an unset shell variable?)", param, ctx)
        return value


#: the type of every option that names something
name_text = Name()
#: the input table (or series) FILE of a command, or ``-`` for stdin (:class:`TableInput`)
input_file = functools.partial(click.argument, type=TableInput())
#: the input of the detector commands, or ``-``: a table or an array
detector_input = functools.partial(click.argument, type=TableInput(what="a table or an array"))
#: ``-o`` of a command that writes a file, or several into a folder
output_target = PathText()
#: ``--seed``, the same on every command that trains (torch takes seeds of up to 64 bits)
seed_option = click.option("--seed", type=IntRange(0, 2**64 - 1), default=0, show_default=True,
                           help="Random seed of the training (on the CPU, the same seed gives the same result).")
#: A model FILE (``--model`` means a file on every command; a family name is ``--family``).
model_file = LocalPath(exists=True, dir_okay=False, path_type=Path, file_kind="model file")
#: ``--init MODEL``: start the new network from a pretrained model file's encoder
init_option = click.option("--init", type=model_file, default=None, metavar="MODEL",
                           help="Start from the encoder of this model file (same family; shapes must fit).")


class OutputFile(LocalPath):
    """An output FILE: a name ending with a path separator (a folder) is refused by name, not written as a file.

    With ``stdout`` (what the output is, for messages: ``"a table"``), ``-`` is stdout, handed to the command as
    :data:`STDOUT` (the text, never a ``Path``), which writes it through :func:`tsae.cli.pipes.stdout_or_file`; a
    usage error where stdout is closed, or where it is a terminal and the output is ``binary`` (a ``.npy`` array,
    a container), which a terminal would show as garbage. With ``kind_later`` (a series, whose kind the input or
    ``--to`` tells), the command checks stdout itself once it knows the kind (:func:`tsae.cli.pipes.stdout_suffix`),
    so that the message names what it writes.
    """

    def __init__(self, stdout: str | None = None, binary: bool = False, kind_later: bool = False) -> None:
        super().__init__(dir_okay=False, path_type=Path)
        self.stdout, self.binary, self.kind_later = stdout, binary, kind_later

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        value = local(value, self, param, ctx)  # before the checks of the name: file:///tmp/out/ names a folder
        if isinstance(value, str) and value.endswith(("/", os.sep)):
            self.fail(f"{value!r} names a folder; this command writes one file: give its name", param, ctx)
        if value == STDOUT and self.stdout is not None:
            self._check_stdout(param, ctx)
            return STDOUT
        if value == "-":  # what `denoise -o -` means; anywhere else it made a file named "-" nobody looked for
            self.fail("'-' (stdout): this command writes a file, not stdout: give its name (./- for a file "
                      "named -)", param, ctx)
        self.refuse_kind(value, param, ctx)
        return click.Path.convert(self, value, param, ctx)  # local() ran above: not LocalPath's second call

    def folder_refused(self, text: str) -> str:
        return f"{text}: is a folder; this command writes one file: give its name"

    def _check_stdout(self, param: click.Parameter | None, ctx: click.Context | None) -> None:
        if self.kind_later:  # the command checks stdout once it knows what it writes (pipes.stdout_suffix)
            return
        problem = stdout_problem(self.stdout or "the output", binary=self.binary)
        if problem:
            self.fail(problem, param, ctx)


def stdout_problem(what: str, *, binary: bool = False, stream: Any = None) -> str:
    """Why ``-`` cannot write ``what`` (``"a table"``) to stdout (``stream``, else ``sys.stdout``) here (closed; a
    terminal, for ``binary`` bytes), or ''."""
    import sys

    stream = sys.stdout if stream is None else stream
    if stream is None or getattr(stream, "closed", False):
        return f"'-' writes {what} to stdout, which is closed here: pipe it on or give a file name"
    if binary and stream.isatty():
        return (f"'-' writes {what} to stdout, which is a terminal here: pipe it on or give a file name "
                "(./- for a file named -)")
    return ""


#: The type of every single-file output option (``-o``, ``--plot``, ``--events``, ``--manifest``).
output_file = OutputFile()
#: ``-o`` of a command that writes a table, which ``-`` sends to stdout (as CSV)
table_output = OutputFile(stdout="a table")
#: ``-o`` of a command that writes a series (a table, audio or an array, as its input or ``--to`` tells)
series_output = OutputFile(stdout="the series", kind_later=True)


def taper_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A ``--window-fn`` value: a window name, or None for none (unset, or ``none`` in any case).

    A window with a parameter is ``NAME:VALUE`` (``kaiser:8.6``: scipy's ``("kaiser", 8.6)``);
    it comes back as a model file stores it (:func:`tsae.engine.framing.window_name`).
    A bad window is refused here, before any data is read.
    """
    if value is None or value.strip().lower() == "none":
        return None
    from tsae.engine.framing import window_name

    try:
        return window_name(value)
    except ValueError as error:
        raise _BadWindow(str(error).removeprefix("window_fn="), ctx=ctx, param=param) from None


class _BadWindow(click.BadParameter):
    """A ``--window-fn`` refused: exit 1, as when a bad window was refused later, while framing."""

    exit_code = 1


def checked_by(check: Callable[[Any], object]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that runs the library's own check of an option's value, before any data is read.

    ``check`` (importing what it needs when called) raises a ``ValueError`` for a value the library refuses
    (``sample_rate must be within [4000, 768000] Hz, got 1``): that is this option's usage error, in the option's
    name (``Invalid value for '--rate': must be within [4000, 768000] Hz, got 1``), with one rule for both.
    """
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return value
        try:
            check(value)
        except ValueError as error:
            from tsae.errors import first_line

            raise click.BadParameter(_without_name(first_line(error)), ctx=ctx, param=param) from None
        return value

    return callback


def _without_name(text: str) -> str:
    """A library message without the parameter name it starts with: ``drift_every=5 is out of range`` is
    ``5 is out of range``, ``lr must be in (0, 1e+30]`` is ``must be in (0, 1e+30]`` (the option names itself)."""
    match = re.match(r"[a-z][a-z_]*(?:=(\S+?)(?=:)|(?:=(\S+))?\s+(?=is |must |should |has ))", text)
    if match is None:
        return text
    value = match.group(1) or match.group(2)
    return (f"{value} " if match.group(2) else value or "") + text[match.end():]


def hop_fits(hop: int | None, window: int | str | None) -> None:
    """Refuse ``--hop`` longer than ``--window`` given with it (windows would skip samples), by both names."""
    if hop is not None and isinstance(window, int) and hop > window:
        raise click.UsageError(f"--hop {hop} is longer than --window {window} (a hop is at most the window)")


def in_option_words(message: str, command: click.Command | None) -> str:
    """A library error in the command line's words: a parameter of ``command`` that the library names as Python
    does (``drift_every=1 is shorter than ...``, ``max_error 1e-12 is too small ...``) is named as its option
    (``--drift-every=1 ...``). Only names with an underscore: a word such as ``window`` is English too."""
    if command is None:
        return message
    for param in command.params:
        if not isinstance(param, click.Option) or not param.name or "_" not in param.name:
            continue
        flag = max(param.opts, key=len)
        if flag.startswith("--") and flag not in message:  # a message that names the option already is left be
            message = re.sub(rf"(?<![\w.\-]){re.escape(param.name)}(?=[=\s]|$)", flag, message)
    return message


def given_flags(*names: str) -> list[str]:
    """The long flags (``--rate``) of the running command's parameters ``names`` that the command line gave.

    For an option that only applies with another one: given without it, it must be refused, not ignored.
    """
    ctx = click.get_current_context()
    flags = {p.name: max(p.opts, key=len) for p in ctx.command.params}
    return [flags[name] for name in names if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]


def only_with(flags: list[str], what: str) -> NoReturn:
    """Refuse ``flags`` given without what they apply to: ``--duration applies only with --live``."""
    raise click.UsageError(f"{', '.join(flags)} appl{'ies' if len(flags) == 1 else 'y'} only with {what}")


def key_values(ctx: click.Context, param: click.Parameter, items: tuple[str, ...]) -> dict[str, str]:
    """Click callback for a repeatable ``KEY=VALUE`` option: ``{"KEY": "VALUE", ...}`` (both stripped)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not {getattr(param, 'metavar', None) or 'KEY=VALUE'}",
                                     ctx=ctx, param=param)
        out[key.strip()] = value.strip()
    return out


def echo_done(message: str, quiet: bool) -> None:
    """A command's success message: one line on stderr (with the progress), unless ``quiet``."""
    if not quiet:
        click.echo(message, err=True)


def raise_failures(failures: Mapping[str, str], summary: str) -> NoReturn:
    """End a multi-file command whose files partly failed: one line per ``{file: error}`` on stderr, then the summary.

    The failures are errors, shown even under ``-q``; the exit code is 1.
    """
    from tsae.errors import naming

    for path, error in failures.items():
        click.echo(f"failed: {naming(path, error)}", err=True)
    raise click.ClickException(summary)
