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
        except (Exception, SystemExit) as error:  # noqa: BLE001 - a plugin's stream may raise anything
            raise RuntimeError(f"{self.where} failed to {action}: {_error_text(error)}") from error

    def close(self) -> None:
        closer = getattr(self.stream, "close", None)
        if closer is not None:
            self._guard(closer, "close")


class NamedSource(_Named):
    """Iterate a plugin source, naming the plugin on errors."""

    def __iter__(self) -> Iterator[Any]:
        return self._items(self._guard(lambda: iter(self.stream), "read"))

    def _items(self, iterator: Iterator[Any]) -> Iterator[Any]:
        for item in self._next(iterator):
            _check_record(item, self.where)
            yield item

    def _next(self, iterator: Iterator[T]) -> Iterator[T]:
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                return
            except (Exception, SystemExit) as error:  # noqa: BLE001
                raise RuntimeError(f"{self.where} failed to read: {_error_text(error)}") from error
            yield item


class NamedBlockSource(NamedSource):
    """A plugin source that offers ``blocks()`` (lists of the records that have arrived)."""

    def blocks(self) -> Iterator[list[Any]]:
        """The source's own ``blocks()``, naming the plugin on errors."""
        for block in self._next(self._guard(self.stream.blocks, "read")):
            if not isinstance(block, (list, tuple)):
                raise ValueError(f"{self.where}: blocks() yielded {_what(block)}, not a list of records "
                                "(yield [line, ...], even for one record)")
            for record in block:
                _check_record(record, self.where)
            yield list(block)


#: what a source may yield: one record as text or bytes (a line, or a payload of lines)
_RECORD_TYPES = (str, bytes, bytearray, memoryview)


def _check_record(record: Any, where: str) -> None:
    """Refuse a record that is not text or bytes (a dict, a list of values, None, a number) naming the source."""
    if isinstance(record, _RECORD_TYPES):
        return
    hint = " (yield json.dumps(record) for a dict)" if isinstance(record, dict) else ""
    raise ValueError(f"{where} yielded {_what(record)}; a source yields records as text lines (CSV or JSON) "
                    f"or bytes{hint}")


def _what(obj: Any) -> str:
    if obj is None:
        return "None"
    kind = type(obj).__name__
    return f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"


def _error_text(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"SystemExit: sys.exit({'' if error.code is None else repr(error.code)[:80]}) was called"
    return f"{type(error).__name__}: {first_line(error)}"


class NamedSink(_Named):
    """Write to a plugin sink, naming the plugin on errors and counting delivered events."""

    def __init__(self, stream: Any, where: str) -> None:
        super().__init__(stream, where)
        if not callable(getattr(stream, "write", None)):
            raise ValueError(f"{where}: its factory returned {type(stream).__name__}, which has no write(record)")
        self.events_delivered = 0  # the summary's events_delivered (the MQTT sink's ``delivered`` counts records)

    def write(self, record: dict[str, Any]) -> None:
        """Write one record; an event counts as delivered once the plugin's ``write`` returns."""
        self._guard(lambda: self.stream.write(record), "write")
        self.events_delivered += record.get("type") == "event"

    def write_many(self, records: list[dict[str, Any]]) -> None:
        """Write a batch: the sink's own ``write_many`` when it has one, else record by record."""
        if not hasattr(self.stream, "write_many"):
            for record in records:
                self.write(record)
            return
        self._guard(lambda: self.stream.write_many(records), "write")
        self.events_delivered += sum(record.get("type") == "event" for record in records)
