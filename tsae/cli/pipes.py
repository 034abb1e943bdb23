"""The stdin/stdout side of the commands: a series (a table, audio, an array) read from ``-`` or a pipe
(:func:`table_input`), an output written to stdout for ``-o -`` (:func:`stdout_or_file`) in the kind of what was read
(:func:`series_pipes`), ``tsae denoise``'s ``-`` as input or output, and its ``--live`` side."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import click

from tsae.cli.common import STDIN, STDOUT, echo_done, stdin_problem, stdout_problem


class ReaderGone(click.exceptions.Exit):
    """The reader of stdout went away (``| head``): the command ends quietly, with status 0."""

    def __init__(self) -> None:
        super().__init__(0)


@contextlib.contextmanager
def quiet_broken_pipe(stdout_only: bool = False) -> Iterator[None]:
    """Exit quietly, with status 0, when the reader of stdout goes away (``tsae ... | head``).

    Status 0 (as ``git log | head`` ends), not 141 (killed by SIGPIPE, as ``cat`` is): the reader took what it
    wanted, and a script under ``set -o pipefail`` goes on. ``stdout_only``: only when stdout's reader is gone
    (:func:`stdout_reader_gone`); another broken pipe (a socket's) is raised on, an error.
    """
    try:
        yield
    except BrokenPipeError:
        if stdout_only and not stdout_reader_gone():
            raise
        stdout_to_devnull()
        raise ReaderGone() from None


def stdout_to_devnull() -> None:
    """Point the file descriptor of stdout at /dev/null, so that the flush of what is left in ``sys.stdout``'s buffer
    (the interpreter's, on exit) cannot fail again (no "Exception ignored ... BrokenPipeError")."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def stdout_failure(error: BaseException) -> str | None:
    """``stdout: cannot write it (No space left on device)`` for ``error``, an ``OSError`` that writing what a
    command prints on stdout raised (``tsae --help > /dev/full``, a full disk): it names no file, and its errno is
    one of a write that failed; None for any other error (a broken pipe is :func:`quiet_broken_pipe`'s). Asked only
    where stdout is all a command writes (help, ``--version``, the listing commands)."""
    import errno

    from tsae.io.atomic import _FULL

    if not isinstance(error, OSError) or isinstance(error, BrokenPipeError) or error.filename is not None \
            or error.errno not in _FULL | {errno.EIO}:
        return None
    stdout_to_devnull()  # what is still buffered would fail again when the interpreter flushes it at exit
    return f"stdout: cannot write it ({error.strerror or error})"


def stdout_reader_gone() -> bool:
    """Whether stdout (file descriptor 1) is a pipe or socket whose reader has gone (``poll`` tells an error or a
    hang-up on it); True where ``poll`` is missing (Windows), as any broken pipe was taken for stdout's."""
    import select

    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(1, select.POLLOUT)
    try:
        events = poller.poll(0)
    except OSError:
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events)


def flush_stdout_at_exit() -> None:
    """Flush ``sys.stdout`` before the interpreter does: what a command printed that is still in its buffer meets a
    reader that has gone (``tsae models | head -1``) here, quietly (:func:`stdout_to_devnull`), not as the
    interpreter's "Exception ignored" and status 120."""
    stream = sys.stdout
    if stream is None:
        return
    try:
        stream.flush()
    except BrokenPipeError:
        stdout_to_devnull()
    except (OSError, ValueError):  # closed, or some other failure: the interpreter's own flush tells it
        pass


@contextlib.contextmanager
def table_input(path: Path | str, outputs: Iterable[Path | str | None] = (), *,
                quiet: bool = False) -> Iterator[Path]:
    """The file a command reads for its input ``path``: the file itself; for ``-`` (:data:`~tsae.cli.common.STDIN`)
    redirected from a regular file (``< x.flac``), that file, read where it is (:func:`tsae.io.spool.in_place`); for
    other ``-`` or a pipe or device (``<(zcat x.csv.gz)``), a private copy of what it gives
    (:func:`tsae.io.spool.spooled`), read
    as the file is (in two passes when long, compressed data judged by its first bytes) and named in every message as
    given (``stdin``, ``/dev/fd/63``); it is removed when the block ends, however it ends. The copy's suffix is the
    kind its first bytes tell (:func:`tsae.io.spool.spool_name`): ``.wav``, ``.flac`` ... for audio
    (``sox x.flac -t wav - | tsae smooth -``, read at its own rate), ``.npy`` for an array, else ``.csv``.

    ``outputs`` (None for one not given, :data:`~tsae.cli.common.STDOUT` for stdout: neither is a file) are checked
    (:func:`~tsae.io.paths.check_outputs`) before anything is read, and refused when they are the input: stdin
    redirected from one (``tsae smooth - -o x.csv < x.csv``), or one named as the pipe. Unless ``quiet``, a counter
    of the bytes copied shows on a terminal's stderr while a long stream is copied.
    """
    from tsae.io.c_stderr import stderr_is_terminal
    from tsae.io.paths import check_outputs, check_stdin_not_output
    from tsae.io.spool import STDIN_NAME, in_place, needs_spool, reopenable, spooled
    from tsae.pipelines.progress import copy_bar

    written = [Path(output) for output in outputs if output is not None and not is_stdout(output)]
    stream: Any
    if isinstance(path, str) and path == STDIN:
        check_outputs(written)  # an output that cannot be written is told now, not after the whole stream
        check_stdin_not_output(sys.stdin, written)
        stream, name = sys.stdin.buffer, STDIN_NAME
        whole_file = reopenable(stream)
        if whole_file is not None:  # < x.csv: read where it is, as the file is
            with in_place(whole_file, name) as link:
                _not_empty(link, name)
                yield link
            return
    elif needs_spool(path):
        check_outputs(written, [path])
        stream, name = path, str(path)
    else:
        yield Path(path)
        return
    with copy_bar(name, not quiet and stderr_is_terminal()) as copied, spooled(stream, name, copied=copied) as copy:
        _not_empty(copy, name)
        yield copy


def _not_empty(path: Path, name: str) -> None:
    """Refuse stdin that brought nothing (``: | tsae smooth -``, ``< /dev/null``), naming what the command expected;
    a pipe given by name (``<(true)``) is told as an empty file is, by the reader."""
    from tsae.cli.common import empty_stdin, stdin_expected
    from tsae.io.spool import STDIN_NAME

    if name == STDIN_NAME and os.stat(path).st_size == 0:
        raise ValueError(empty_stdin(stdin_expected()))


@contextlib.contextmanager
def table_inputs(paths: Iterable[Path | str], outputs: Iterable[Path | str | None] = (), *,
                 quiet: bool = False) -> Iterator[list[Path]]:
    """:func:`table_input` for each of the several inputs ``paths`` of a command (files, folders): ``-`` (at most
    once: stdin is read once; a usage error else) and each pipe read through a private copy, the others as given."""
    paths = list(paths)
    if sum(isinstance(path, str) and path == STDIN for path in paths) > 1:
        raise click.UsageError("'-' (stdin) is given twice: stdin is read once; give it once")
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(table_input(path, outputs, quiet=quiet)) for path in paths]


@contextlib.contextmanager
def files_with_stdout() -> Iterator[None]:
    """Hold back the files a command writes inside (:func:`tsae.io.atomic.all_or_nothing`) until what it sends to
    stdout (:func:`stdout_or_file`, entered inside this block) is sent: stdout that cannot be written (a full disk,
    ``> /dev/full``) leaves no file either. A reader of stdout that goes away (``| head``) once the files are written
    keeps them, as ``tee`` keeps its file: they are whole, and the command ends with status 0."""
    from tsae.io.atomic import all_or_nothing

    with all_or_nothing(keep_on=(ReaderGone,)):
        yield


@contextlib.contextmanager
def data_on_stdout(active: bool = True) -> Iterator[Any]:
    """Stdout, for a command that writes its data there as it goes (``tsae monitor``'s JSON lines, ``tsae denoise
    -``'s audio), with what ``print()`` writes meanwhile sent to stderr: a plugin family that prints in its forward
    (or its ``__init__``) put its words between the records, or inside a WAV stream; what native code writes to file
    descriptor 1 goes to stderr too (:func:`tsae.io.c_stdout.stdout_for_data_only`: the data goes through a
    duplicate of it). ``None`` where stdout is closed (the command tells it), or when not ``active`` (the data goes
    elsewhere: nothing is redirected)."""
    from tsae.io.c_stdout import stdout_for_data_only

    stream = sys.stdout
    if not active or stream is None:
        yield None
        return
    with stdout_for_data_only(stream) as data, contextlib.redirect_stdout(sys.stderr):
        yield data


def is_stdout(output: object) -> bool:
    """Whether ``output`` is ``-o -`` (the text :data:`~tsae.cli.common.STDOUT`; ``./-`` is a ``Path``, a file)."""
    return isinstance(output, str) and output == STDOUT


def outputs_to_stdout(outputs: Mapping[str, object]) -> None:
    """Refuse two outputs to stdout at once (``-o - --events -``): they would be mixed in one stream. ``outputs``
    are the options' values by flag (``{"-o": "-", "--events": "-"}``)."""
    flags = [flag for flag, value in outputs.items() if is_stdout(value)]
    if len(flags) > 1:
        raise click.UsageError(f"{' and '.join(flags)} both write to stdout ('-'): send one there, the other to a file")


@contextlib.contextmanager
def stdout_or_file(output: Path | str, reads: Iterable[Path | str | None] = (), *,
                   suffix: str = ".csv") -> Iterator[Path]:
    """The file a command writes its output to: ``output`` itself; for ``-``
    (:data:`~tsae.cli.common.STDOUT`) a private temporary file named ``stdout<suffix>`` (the suffix picks the
    format: CSV for a table), copied to stdout when the block ends without an error
    (:func:`tsae.io.unspool.unspooled`): a command that fails sends nothing, and messages name ``stdout``. What
    ``print()`` writes in the block goes to stderr.

    Before anything is done, ``-`` is refused when stdout goes to (appends to) one of the files the command
    ``reads`` (None: none; :data:`~tsae.cli.common.STDIN`: the file stdin is redirected from), as ``tsae denoise``
    refuses it. A reader of stdout that goes away (``| head``) ends the command quietly, with status 0.
    """
    if not is_stdout(output):
        yield Path(output)
        return
    from tsae.io.c_stdout import native_stdout_to_stderr
    from tsae.io.unspool import unspooled

    check_stdout_not_read(reads)
    stream: BinaryIO = sys.stdout.buffer
    with quiet_broken_pipe(stdout_only=True), unspooled(stream, suffix=suffix) as copy:
        # what is print()ed meanwhile (a plugin family's forward, say), or written to file descriptor 1 by native
        # code, goes to stderr: in stdout it would come before the output and spoil it (a CSV with a stray first
        # line, a .npy that no longer loads); the output is copied once descriptor 1 is back
        with native_stdout_to_stderr(sys.stdout), contextlib.redirect_stdout(sys.stderr):
            yield copy


#: what ``--to`` makes ``-o -`` of a series command write (the suffix of the file it stands for)
STDOUT_KINDS = ("csv", "wav", "npy")


def series_stdout_suffix(input: Path | str, output: Path | str, kind: str | None = None) -> str:
    """The suffix of the file that ``-o -`` of a command that writes a series of its one input stands for (``tsae
    smooth``, ``impute``, ``reconstruct``): ``kind`` (``--to``) when given, else the input's own kind, as ``-o FILE``
    keeps it: ``.wav`` for audio (what ``tsae denoise -o -`` and ``sox -t wav -`` speak), ``.npy`` for an array,
    ``.csv`` for a table. ``input`` is the file read: the copy of stdin (:func:`table_input`), whose suffix its
    first bytes told; ``-`` itself is taken for a table.

    ``--to`` with a file output (whose suffix tells its kind) is a usage error; a WAV or an array for a terminal
    is one too (it would show binary garbage).
    """
    from tsae.io.paths import ARRAY_SUFFIXES, AUDIO_SUFFIXES, kind_suffix

    if kind is None and is_stdout(output):
        own = "" if isinstance(input, str) and input == STDIN else kind_suffix(input)
        kind = "wav" if own in AUDIO_SUFFIXES else "npy" if own in ARRAY_SUFFIXES else "csv"
    return stdout_suffix(output, kind)


#: what ``-o -`` writes, by :data:`STDOUT_KINDS`, for messages
STDOUT_WRITES = {"csv": "a CSV table", "wav": "a WAV file", "npy": "a .npy array"}


def stdout_suffix(output: Path | str, kind: str | None, what: str | None = None) -> str:
    """``.<kind>``, the suffix of the file that ``-o -`` stands for, when ``output`` is ``-`` (``kind`` one of
    :data:`STDOUT_KINDS`: ``--to``'s, or the one the command picked); ``""`` for a file ``output`` (its suffix tells
    its kind). ``--to`` (a ``kind``) with a file is a usage error, and so are a closed stdout and a WAV or an array
    for a terminal, named as what ``-`` writes (``what``, else the kind's :data:`STDOUT_WRITES`)."""
    if not is_stdout(output):
        if kind is not None:
            folder = str(output).endswith(("/", os.sep)) or Path(output).is_dir()
            raise click.UsageError(f"--to sets what -o - writes; {output} is "
                                   + ("a folder, where each file keeps its input's kind" if folder
                                      else "written as its suffix tells"))
        return ""
    kind = kind or "csv"
    problem = stdout_problem(what or STDOUT_WRITES[kind], binary=kind != "csv")
    if problem:
        raise click.BadParameter(problem, param_hint="'-o'")
    return f".{kind}"


@contextlib.contextmanager
def series_pipes(input: Path | str, output: Path | str, reads: Iterable[Path | str | None], *,
                 kind: str | None = None, quiet: bool = False) -> Iterator[tuple[Path, Path]]:
    """``(the file to read, the file to write)`` of a command that writes one series of its one ``input``:
    :func:`table_input` of ``input``, then :func:`stdout_or_file` of ``output``, whose ``-`` is written in the kind
    of what was read (:func:`series_stdout_suffix`: a WAV for audio piped in, ``sox ... | tsae smooth - -o -``) or
    ``kind`` (``--to``).

    ``--to`` with a file output, and stdout going to a file the command ``reads`` (``-o - >> x.wav``), are refused
    before stdin is read.
    """
    # a usage error before stdin is read; what stdin holds is told once it is read
    if isinstance(input, str) and input == STDIN:
        stdout_suffix(output, kind, None if kind else "the series read on stdin")
    else:
        series_stdout_suffix(input, output, kind)
    if is_stdout(output):
        check_stdout_not_read(reads)
    with table_input(input, [output], quiet=quiet) as source, \
            stdout_or_file(output, reads, suffix=series_stdout_suffix(source, output, kind)) as target:
        yield source, target


def check_stdout_not_read(reads: Iterable[Path | str | None]) -> None:
    """Refuse stdout redirected to one of the files the command ``reads`` (``tsae smooth x.csv -o - >> x.csv``),
    as a ``ValueError`` naming it (``stdin`` for :data:`~tsae.cli.common.STDIN`, the file stdin reads)."""
    from tsae.io.paths import same_regular_file

    for read in reads:
        if read is None:
            continue
        if isinstance(read, str) and read == STDIN:
            if sys.stdin is not None and same_regular_file(sys.stdout, sys.stdin):
                raise ValueError("stdin: refusing to overwrite the input file (stdout goes to the file stdin reads)")
        elif same_regular_file(sys.stdout, Path(read)):
            raise ValueError(f"{read}: refusing to overwrite the input file (stdout goes to it)")


def shown(output: Path | str) -> str:
    """What messages call ``output``: ``stdout`` for ``-``, else its path."""
    from tsae.io.unspool import STDOUT_NAME

    return STDOUT_NAME if is_stdout(output) else str(output)


def denoise_pipe(inputs: tuple[str, ...], output: Path | None, *, model: Path | None, strength: float,
                 atten_limit: float | None, raw: bool, rate: int | None, channels: int | None, sample_format: str,
                 device: str, quiet: bool, resample_quality: str = "HQ") -> None:
    """Run :func:`~tsae.pipelines.denoise.pipe.denoise_stream` for ``tsae denoise -`` (one input)."""
    from tsae.io.c_stderr import stderr_is_terminal
    from tsae.pipelines.denoise.pipe import STDIO, RawSpec, denoise_stream

    if len(inputs) != 1:
        raise click.UsageError("'-' (stdin) or '-o -' (stdout) takes exactly one input")
    if raw and (rate is None or channels is None):
        raise click.UsageError("--raw needs --rate and --channels")
    reads_stdin = inputs[0] == STDIO
    problem = stdin_problem("audio", sys.stdin) if reads_stdin else ""
    if problem:
        raise click.UsageError(problem)
    target: str | Path = output if output is not None else (STDIO if reads_stdin else "")
    if target == "":
        raise click.UsageError("-o is needed with --raw for a file input (use -o - for stdout)")
    problem = stdout_problem("audio", binary=True, stream=sys.stdout) if str(target) == STDIO else ""
    if problem:
        raise click.UsageError(problem)
    spec = RawSpec(rate, channels, sample_format) if raw and rate and channels else None
    with quiet_broken_pipe(), data_on_stdout(str(target) == STDIO) as stdout:
        frames = denoise_stream(inputs[0], target, raw=spec, model=model, strength=strength,
                                atten_limit=atten_limit, device=device, progress=not quiet and stderr_is_terminal(),
                                stdout=None if stdout is None else stdout.buffer, resample_quality=resample_quality)
    echo_done(f"denoised {frames} sample frames" + ("" if str(target) == STDIO else f" into {target}"), quiet)


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.strip().isdigit() else value


def denoise_live(inputs: tuple[str, ...], *, input_device: str | None, output_device: str | None, rate: int | None,
                 channels: int | None, duration: float | None, model: Path | None, strength: float,
                 atten_limit: float | None, device: str, quiet: bool, resample_quality: str | None = None) -> None:
    """Run :func:`~tsae.pipelines.denoise.live.run_live` for ``tsae denoise --live`` (``resample_quality``
    None: the live default, the low-delay resampler where it can do the rate)."""
    from tsae.io.sound_library import sounddevice_module

    if inputs:
        raise click.UsageError("--live takes no INPUTS (it reads --input-device)")
    sounddevice_module()  # a missing package or PortAudio said at once, before torch is imported
    from tsae.pipelines.denoise.live import run_live

    def status(report: Any) -> None:
        echo_done(report.summary(), quiet)

    chosen: dict[str, Any] = {} if resample_quality is None else {"resample_quality": resample_quality}
    run_live(input_device=_device(input_device), output_device=_device(output_device), sample_rate=rate,
             channels=channels or 1, duration=duration, on_status=status, model=model, strength=strength,
             atten_limit=atten_limit, device=device, **chosen)
