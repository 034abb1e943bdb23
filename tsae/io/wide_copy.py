"""The wide text an InfluxDB export pivots to (:func:`~tsae.io.influx.influx_lines`), kept while the first pass over
a long export reads it, so that the passes after it read that text instead of pivoting the export again.

The pivot is most of the cost of a pass (the export is parsed, its values spilled, sorted and merged); its wide text
is a fraction of the export's (a row per time, not per value). It is kept in an unnamed temporary file (``TMPDIR``,
removed when closed or when the process ends: :class:`~tsae.io.spill_file.SpillFile`), memory a chunk, and each pass
reads it at its own offsets: passes may overlap.
"""
from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

from tsae.io.spill_file import SpillFile

#: bytes read at a time
_CHUNK = 1 << 20


class WideCopy:
    """The wide text of the export ``path``, written by :meth:`kept` while a pass reads it, then read by
    :meth:`lines` as often as needed (once :attr:`whole`: the pass read every line)."""

    def __init__(self, path: Path) -> None:
        self.spill = SpillFile(path, prefix="tsae-wide-", holds="keep its pivoted table", during="while it is read")
        self.whole = False
        # closed with the last reader of it (a TableSource and its reopened passes share one), else at exit
        self._close = weakref.finalize(self, self.spill.close)

    def kept(self, lines: Iterable[str]) -> Iterator[str]:
        """``lines``, each written to the copy as it passes; :attr:`whole` once the last has passed."""
        pending: list[str] = []
        held = 0
        for line in lines:
            pending.append(line)
            held += len(line)
            if held >= _CHUNK:
                self.spill.append("".join(pending).encode("utf-8"))
                pending, held = [], 0
            yield line
        self.spill.append("".join(pending).encode("utf-8"))
        self.spill.flush()
        self.whole = True

    def lines(self) -> Iterator[str]:
        """The copy's lines, from its start (each with its newline)."""
        offset, rest = 0, b""
        while offset < self.spill.end:
            data = self.spill.read(offset, min(_CHUNK, self.spill.end - offset))
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
