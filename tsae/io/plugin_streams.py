"""A plugin's stream source or sink, wrapped so that what it raises names the plugin.

:func:`tsae.plugins.open_stream` returns these: the monitor iterates a
:class:`NamedSource` and writes to a :class:`NamedSink` exactly as it would the bare
objects, but an exception from the plugin's code becomes a ``RuntimeError`` whose one
line says which source or sink of which plugin failed, and the sink counts the event
records it actually delivered (so a summary never claims undelivered events).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from tsae.errors import first_line

T = TypeVar("T")


class _Named:
    def __init__(self, stream: Any, where: str) -> None:
        self.stream = stream
        self.where = where

    def _guard(self, call: Callable[[], T], action: str) -> T:
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - a plugin's stream may raise anything
            raise RuntimeError(f"{self.where} failed to {action}: {type(error).__name__}: "
                               f"{first_line(error)}") from error

    def close(self) -> None:
        closer = getattr(self.stream, "close", None)
        if closer is not None:
            self._guard(closer, "close")


class NamedSource(_Named):
    """Iterate a plugin source, naming the plugin on errors."""

    def __iter__(self) -> Iterator[Any]:
        return self._items(self._guard(lambda: iter(self.stream), "read"))

    def _items(self, iterator: Iterator[T]) -> Iterator[T]:
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                return
            except Exception as error:  # noqa: BLE001
                raise RuntimeError(f"{self.where} failed to read: {type(error).__name__}: "
                                   f"{first_line(error)}") from error
            yield item


class NamedBlockSource(NamedSource):
    """A plugin source that offers ``blocks()`` (lists of the records that have arrived)."""

    def blocks(self) -> Iterator[list[Any]]:
        """The source's own ``blocks()``, naming the plugin on errors."""
        return self._items(self._guard(self.stream.blocks, "read"))


class NamedSink(_Named):
    """Write to a plugin sink, naming the plugin on errors and counting delivered events."""

    def __init__(self, stream: Any, where: str) -> None:
        super().__init__(stream, where)
        if not callable(getattr(stream, "write", None)):
            raise ValueError(f"{where}: its factory returned {type(stream).__name__}, which has no write(record)")
        self.delivered = 0

    def write(self, record: dict[str, Any]) -> None:
        """Write one record; an event counts as delivered once the plugin's ``write`` returns."""
        self._guard(lambda: self.stream.write(record), "write")
        self.delivered += record.get("type") == "event"

    def write_many(self, records: list[dict[str, Any]]) -> None:
        """Write a batch: the sink's own ``write_many`` when it has one, else record by record."""
        if not hasattr(self.stream, "write_many"):
            for record in records:
                self.write(record)
            return
        self._guard(lambda: self.stream.write_many(records), "write")
        self.delivered += sum(record.get("type") == "event" for record in records)
