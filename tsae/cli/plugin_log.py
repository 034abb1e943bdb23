"""How the command line reports plugin failures: one warning line each, tracebacks with ``--debug``.

A refused model family that the command line asks for (``--family NAME``, ``tsae models NAME``) is not warned
about: the command's error tells the same text (:func:`tsae.plugins.broken_family`), once.

With ``-q`` a warning already reported by an earlier run (quiet or not) is not repeated (the ones seen
are remembered in ``$XDG_CACHE_HOME/tsae/plugin-warnings.txt``); ``tsae plugins`` always
lists every failure.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence

import click

from tsae.cli.user_cache import cache_path, read_cached

LOGGER = "tsae.plugins"


class PluginWarnings(logging.Handler):
    """Print each plugin warning on stderr; ``debug`` adds its traceback, ``quiet`` skips repeats."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.debug = False
        self.quiet = False
        #: the model families the command line names: a warning that refuses one is left to the command's error
        self.asked: frozenset[str] = frozenset()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "tsae_family", None) in self.asked:
            return
        message = record.getMessage()
        first = self._first_time(message)  # remembered on every run, so a later -q run can skip it
        if self.quiet and not self.debug and not first:
            return
        click.echo(f"warning: {message}", err=True)
        trace = getattr(record, "tsae_traceback", "")
        if self.debug and trace:
            click.echo(trace.rstrip(), err=True)

    @staticmethod
    def _first_time(message: str) -> bool:
        """Remember ``message``; False when an earlier run already reported it."""
        key = hashlib.sha1(message.encode("utf-8")).hexdigest()[:16]
        path = cache_path("plugin-warnings.txt")
        try:
            seen = set((read_cached("plugin-warnings.txt") or "").split())
            if key in seen:
                return False
            path.parent.mkdir(parents=True, exist_ok=True)
            # O_NONBLOCK: a named pipe in its place fails (ENXIO) instead of waiting for a reader
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0), 0o666)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(key + "\n")
        except OSError:  # no writable cache: report every time
            pass
        return True


_handler = PluginWarnings()


def asked_families(args: Sequence[str]) -> frozenset[str]:
    """The model families the command line ``args`` names: each ``--family NAME`` (or ``--family=NAME``), and
    ``tsae models NAME``'s."""
    words = list(args)
    names = {value for flag, value in zip(words, words[1:], strict=False) if flag == "--family"}
    names |= {word.removeprefix("--family=") for word in words if word.startswith("--family=")}
    plain = [word for word in words if not word.startswith("-")]
    if len(plain) >= 2 and plain[0] == "models":
        names.add(plain[1])
    return frozenset(names)


def report_plugin_warnings(debug: bool, quiet: bool, args: Sequence[str] = ()) -> None:
    """Send the plugin manager's warnings to stderr for this run of the command line, whose words are ``args``."""
    _handler.debug, _handler.quiet = debug, quiet
    _handler.asked = asked_families(args)
    logger = logging.getLogger(LOGGER)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
