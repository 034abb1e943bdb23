"""The wide text an InfluxDB export pivots to (:func:`~tsae.io.influx.influx_lines`), kept while the first pass over
a long export reads it, so that the passes after it read that text instead of pivoting the export again.

The pivot is most of the cost of a pass (the export is parsed, its values spilled, sorted and merged); its wide text
is a fraction of the export's (a row per time, not per value). It is kept in an unnamed temporary file (``TMPDIR``,
removed when closed or when the process ends), memory a chunk, and each pass reads it at its own offsets
(``os.pread``): passes may overlap.
"""
from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

#: bytes read at a time
_CHUNK = 1 << 20


class WideCopy:
    """The wide text of the export ``path``, written by :meth:`kept` while a pass reads it, then read by
    :meth:`lines` as often as needed (once :attr:`whole`: the pass read every line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.file = tempfile.TemporaryFile(prefix="tsae-wide-")
        except OSError as error:
            raise ValueError(self._told(error)) from None
        self.size = 0
        self.whole = False
        # closed with the last reader of it (a TableSource and its reopened passes share one), else at exit
        self._close = weakref.finalize(self, self.file.close)

    def _told(self, error: OSError) -> str:
        return (f"{self.path}: cannot keep its pivoted table in {tempfile.gettempdir()} while it is read "
                f"({error.strerror or error}); set TMPDIR to a folder with room")

    def kept(self, lines: Iterable[str]) -> Iterator[str]:
        """``lines``, each written to the copy as it passes; :attr:`whole` once the last has passed."""
        pending: list[str] = []
        held = 0
        for line in lines:
            pending.append(line)
            held += len(line)
            if held >= _CHUNK:
                self._write(pending)
                pending, held = [], 0
            yield line
        self._write(pending)
        try:
            self.file.flush()
        except OSError as error:
            raise ValueError(self._told(error)) from None
        self.whole = True

    def _write(self, lines: list[str]) -> None:
        data = "".join(lines).encode("utf-8")
        try:
            self.file.write(data)
        except OSError as error:
            raise ValueError(self._told(error)) from None
        self.size += len(data)

    def lines(self) -> Iterator[str]:
        """The copy's lines, from its start (each with its newline)."""
        fd, offset, rest = self.file.fileno(), 0, b""
        while offset < self.size:
            try:
                data = os.pread(fd, min(_CHUNK, self.size - offset), offset)
            except OSError as error:
                raise ValueError(self._told(error)) from None
            if not data:
                break
            offset += len(data)
            cut = data.rfind(b"\n") + 1  # a newline byte is never inside a UTF-8 character
            if not cut:
                rest += data
                continue
            text = (rest + data[:cut]).decode("utf-8")
            rest = data[cut:]
            for line in text.split("\n")[:-1]:  # not splitlines(): a cell may hold \r or \u2028
                yield line + "\n"
        if rest:
            yield rest.decode("utf-8")

    def close(self) -> None:
        self._close()


__all__ = ["WideCopy"]
