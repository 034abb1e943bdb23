"""How the command line reports plugin failures: one warning line each, tracebacks with ``--debug``.

With ``-q`` a warning already reported by an earlier run (quiet or not) is not repeated (the ones seen
are remembered in ``$XDG_CACHE_HOME/tsae/plugin-warnings.txt``); ``tsae plugins`` always
lists every failure.
"""
from __future__ import annotations

import hashlib
import logging
import os

import click

from tsae.cli.user_cache import cache_path, read_cached

LOGGER = "tsae.plugins"


class PluginWarnings(logging.Handler):
    """Print each plugin warning on stderr; ``debug`` adds its traceback, ``quiet`` skips repeats."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.debug = False
        self.quiet = False

    def emit(self, record: logging.LogRecord) -> None:
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


def report_plugin_warnings(debug: bool, quiet: bool) -> None:
    """Send the plugin manager's warnings to stderr for this run of the command line."""
    _handler.debug, _handler.quiet = debug, quiet
    logger = logging.getLogger(LOGGER)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
