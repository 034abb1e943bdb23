"""The ``tsae`` command line.

One click group; each sub-command lives in its own module under ``tsae.cli`` and
is imported only when it is invoked (or listed by ``--help``), so start-up stays
fast. Plugins add sub-commands through the ``register_commands`` hook.
"""
from __future__ import annotations

import contextlib
import importlib
import signal
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import click

from tsae import __version__
from tsae import _interrupts as interrupts
from tsae.cli.plugin_log import report_plugin_warnings
from tsae.errors import NamedMemoryError, allocation_failure, first_line

# sub-command name -> "module:attribute"
BUILTIN_COMMANDS: dict[str, str] = {
    "plugins": "tsae.cli.plugins_cmd:plugins_command",
    "models": "tsae.cli.plugins_cmd:models_command",
    "train": "tsae.cli.train_cmd:train_command",
    "encode": "tsae.cli.train_cmd:encode_command",
    "reconstruct": "tsae.cli.reconstruct_cmd:reconstruct_command",
    "denoise": "tsae.cli.denoise_cmd:denoise_command",
    "detect": "tsae.cli.detect_cmd:detect_group",
    "monitor": "tsae.cli.detect_cmd:monitor_command",
    "smooth": "tsae.cli.smooth_cmd:smooth_command",
    "impute": "tsae.cli.smooth_cmd:impute_command",
    "frame": "tsae.cli.frame_cmd:frame_command",
    "compress": "tsae.cli.compress_cmd:compress_command",
    "decompress": "tsae.cli.compress_cmd:decompress_command",
    "export": "tsae.cli.export_cmd:export_command",
    "devices": "tsae.cli.export_cmd:devices_command",
}


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM, so that ``finally`` blocks (temporary outputs) run as on Ctrl-C."""


class HungUp(Terminated):
    """Raised in the main thread by SIGHUP (the terminal or SSH session closed), as :class:`Terminated` is."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise interrupts.noted(HungUp if signum == getattr(signal, "SIGHUP", None) else Terminated)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise interrupts.noted(KeyboardInterrupt)


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated`, SIGHUP :class:`HungUp` and SIGINT ``KeyboardInterrupt``, each
    counted so that one a numpy cast dropped is raised again (:mod:`tsae._interrupts`); a command with its own handler
    replaces them. A hangup killed the command at once, leaving its temporary outputs behind (an SSH session
    closed under ``tsae denoise``) and losing what ``tsae monitor`` held for an absent broker."""
    try:
        previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_terminated)}
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # an ignored Ctrl-C stays ignored
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, _raise_interrupt)
        hangup = getattr(signal, "SIGHUP", None)  # none on Windows
        if hangup is not None and signal.getsignal(hangup) is signal.SIG_DFL:  # nohup's ignored hangup stays so
            previous[hangup] = signal.signal(hangup, _raise_terminated)
    except ValueError:  # not the main thread (an embedding application): leave signals alone
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """A library warning as one line on stderr; nothing under ``-q`` (see :func:`tsae.cli.common.is_quiet`)."""
    from tsae.cli.common import is_quiet

    if not is_quiet():
        click.echo(f"Warning: {first_line(message if isinstance(message, Warning) else Warning(message))}",
                   err=True)


#: commands that only list plugins: they never import numpy (nor torch), so they stay fast
_LISTING_COMMANDS = ("plugins", "models")


@contextlib.contextmanager
def _one_line_warnings(command: str | None) -> Iterator[None]:
    """Warnings raised while a command runs are told in one line each (numpy's floating-point ones never)."""
    from tsae.cli.common import forget_quiet

    forget_quiet()  # a -q of an earlier command in this process (tests, an embedding application) is not this one's
    with warnings.catch_warnings(), contextlib.ExitStack() as stack:
        stack.callback(forget_quiet)
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="numpy")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        # what a library says about its own optional imports (umap-learn without TensorFlow); Python hides these
        warnings.filterwarnings("ignore", category=ImportWarning)
        warnings.showwarning = _show_warning
        if command in _LISTING_COMMANDS:
            yield
            return
        import numpy as np

        with np.errstate(all="ignore"):
            yield


def _root_debug(args: Sequence[str]) -> bool:
    """Whether ``tsae --debug`` was given: among tsae's own options, before the command's name.

    After the command it is that command's (unknown) option: a usage error, not a traceback.
    """
    for arg in args:
        if arg == "--debug":
            return True
        if arg == "--" or not arg.startswith("-"):  # tsae's options take no value: this is the command
            return False
    return False


def _only_prints(args: Sequence[str]) -> bool:
    """Whether the command line ``args`` writes nothing but stdout: ``--help`` or ``--version`` anywhere (before
    ``--``), no command at all (the help), or a listing command."""
    words = list(args)[: list(args).index("--")] if "--" in args else list(args)
    if {"-h", "--help", "--version"} & set(words):
        return True
    command = next((word for word in words if not word.startswith("-")), None)
    return command is None or command in (*_LISTING_COMMANDS, "devices")


class LazyGroup(click.Group):
    """A click group that imports built-in sub-commands on first use and asks plugins for theirs."""

    def load_plugin_commands(self) -> None:
        """Ask plugins for their sub-commands (once); a built-in command name is refused to them."""
        from tsae.plugins import load_plugin_commands

        load_plugin_commands(self, reserved=BUILTIN_COMMANDS)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load_plugin_commands()
        names = {name for name in BUILTIN_COMMANDS if self._import(name) is not None}
        return sorted(names | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in BUILTIN_COMMANDS:
            return self._import(name)
        if name in self.commands:
            return self.commands[name]
        self.load_plugin_commands()
        return self.commands.get(name)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Run the CLI; in standalone mode every error is one line on stderr and an exit code.

        Bad usage exits 2 with the error and a pointer to ``--help`` (not the usage
        block), other errors exit 1, Ctrl-C 130. ``tsae --debug`` shows tracebacks.
        """
        args = sys.argv[1:] if args is None else list(args)
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        debug = _root_debug(args)
        if sys.stdout is None and _only_prints(args):  # `tsae --help >&-` printed nothing, with status 0
            click.echo("Error: stdout is closed: what this prints has nowhere to go (redirect it to a file or pipe)",
                       err=True)
            sys.exit(1)
        report_plugin_warnings(debug=debug, quiet=bool({"-q", "--quiet"} & set(args)), args=args)
        try:
            with _signals_unwind():
                return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except HungUp:  # the terminal is gone: nothing to tell it
            sys.exit(128 + signal.SIGHUP)
        except Terminated:
            click.echo("Terminated.", err=True)
            sys.exit(128 + signal.SIGTERM)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except OSError as error:  # help or --version for a stdout that cannot be written (> /dev/full)
            from tsae.cli.pipes import stdout_failure

            failure = stdout_failure(error)
            if debug or failure is None:
                raise
            click.echo(f"Error: {failure}", err=True)
            sys.exit(1)
        except click.ClickException as error:
            if debug:
                raise
            hint = ""
            if isinstance(error, click.NoSuchOption) and error.option_name == "--debug" and error.ctx is not None:
                command = error.ctx.command_path.removeprefix(f"{error.ctx.find_root().info_name} ")
                hint = f" (--debug goes before the command: tsae --debug {command} ...)"
            elif isinstance(error, click.UsageError) and error.ctx is not None:
                hint = f" (see '{error.ctx.command_path} --help')"
            click.echo(f"Error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        """Parse the command line; ``--help`` and ``--version`` print here, and end quietly when stdout's reader has
        gone (``tsae --help | head -1``: status 0, :func:`~tsae.cli.pipes.quiet_broken_pipe`), not with click's 1."""
        from tsae.cli.pipes import quiet_broken_pipe

        with quiet_broken_pipe(stdout_only=True):
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the sub-command; a library error (or running out of memory) becomes a one-line ``ClickException``.

        ``--debug`` keeps the whole traceback.
        """
        # the sub-command's words, before click resolves (and clears) them (click < 9 keeps them apart from ctx.args)
        words = [*(getattr(ctx, "_protected_args", None) or []), *ctx.args]
        command = words[0] if words else None
        from tsae.cli.pipes import quiet_broken_pipe

        try:
            with _one_line_warnings(command), quiet_broken_pipe(stdout_only=True):  # `tsae models | head`: status 0
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except MemoryError as error:  # NamedMemoryError says what did not fit; a bare one what could not be allocated
            if (ctx.obj or {}).get("debug"):
                raise
            text = first_line(error)
            raise click.ClickException(text if isinstance(error, NamedMemoryError) else f"not enough memory ({text})") \
                from error
        except Exception as error:
            if (ctx.obj or {}).get("debug"):
                raise
            owner = self._plugin_owner(ctx.invoked_subcommand)
            if owner is not None:  # anything a plugin's command raises is its own error: name it
                raise click.ClickException(f"{owner}: {type(error).__name__}: {first_line(error)}") from error
            missing = allocation_failure(error) if isinstance(error, RuntimeError) else None
            if missing is not None:  # torch's: "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator..."
                raise click.ClickException(f"not enough memory ({missing})") from error
            if not isinstance(error, (OSError, ValueError, RuntimeError, KeyError)):  # a bug: still one line
                raise click.ClickException(f"internal error ({type(error).__name__}: {first_line(error)}); this is a "
                                           "bug in tsae: please report it with the traceback of `tsae --debug ...`") \
                    from error
            from tsae.cli.common import in_option_words
            from tsae.cli.pipes import stdout_failure

            failure = stdout_failure(error) if self._only_prints(ctx, words) else None
            if failure is not None:  # `tsae models > /dev/full` said "[Errno 28] No space left on device"
                raise click.ClickException(failure) from error
            if isinstance(error, PermissionError) and error.filename is not None:  # "[Errno 13] Permission denied: 'x'"
                from tsae.io.paths import permission_denied

                # a read or a write (an output's folder): no guess at which, past a folder that may not be searched
                raise click.ClickException(permission_denied(error.filename, reading=False)) from error
            raise click.ClickException(in_option_words(first_line(error), self._leaf(ctx, words))) from error

    def _only_prints(self, ctx: click.Context, words: list[str]) -> bool:
        """Whether the command line ``words`` writes nothing but stdout: a listing command, or ``--help``."""
        leaf = self._leaf(ctx, words)
        return leaf is not None and (leaf.name in (*_LISTING_COMMANDS, "devices")
                                     or any(word in ("-h", "--help") for word in words))

    def _leaf(self, ctx: click.Context, words: list[str]) -> click.Command | None:
        """The command that ran (``detect fit``'s, not ``detect``'s), from the command line's ``words``."""
        command: click.Command | None = self
        for word in words:
            if not isinstance(command, click.Group):
                break
            command = command.get_command(ctx, word)
        return command

    @staticmethod
    def _plugin_owner(name: str | None) -> str | None:
        """The label of the plugin that added command ``name``, or None for a built-in command."""
        if name is None or name in BUILTIN_COMMANDS:
            return None
        from tsae.plugins import owner_of

        info = owner_of("commands", name)
        return info.label if info is not None else None

    @staticmethod
    def _import(name: str) -> click.Command | None:
        module_name, attribute = BUILTIN_COMMANDS[name].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:  # sub-command not built yet
                return None
            raise
        return getattr(module, attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tsae")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """tsae: autoencoders for audio and sensor time series.

    Denoise voice recordings, detect anomalies in sensor data, smooth, fill gaps
    and reconstruct series, with model families that plugins can add.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tsae`` command (errors: see :meth:`LazyGroup.main`)."""
    from tsae.cli.pipes import flush_stdout_at_exit
    from tsae.cli.process_gc import tune_for_command

    if argv is None:  # the command's own process (console script, python -m tsae), not a caller's that embeds it
        tune_for_command()

    try:
        cli.main(args=argv, prog_name="tsae")
    finally:
        flush_stdout_at_exit()
