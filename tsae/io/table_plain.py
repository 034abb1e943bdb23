"""A chunk of plain table lines (:func:`~tsae.io.tables._plain_columns`) as columns of cells, split only when a cell's
text is asked for: the reader reads a column of numbers from the chunk's text by a compiled loop
(:func:`~tsae.io._number_kernels.decimal_cells`), and splits it into cells only for what is not plain decimals
(dates, text, missing-value tokens, a number ``float()`` alone reads, a cell that is no number).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import overload

import numpy as np

#: a block this wide cuts out a column whose cells are asked for alone (:meth:`PlainBlock.cells`), up to this many
ALONE_FROM_WIDTH, ALONE_COLUMNS = 64, 16


class PlainBlock:
    """The text of ``rows`` plain lines of ``width`` cells (ASCII, a string or its bytes, each line ending in a line
    feed, ``width - 1`` delimiters a line); ``split`` splits it into its columns of cells, as ``csv.reader`` would."""

    def __init__(self, text: str | bytes | bytearray, delimiter: str, width: int, rows: int,
                 split: Callable[[str], list[list[str]]], as_is: bool = False) -> None:
        # held as bytes only (ASCII): the compiled loops read them, and a cell's text is cut out of them when asked
        self._bytes = text.encode("ascii") if isinstance(text, str) else text
        self._delimiter, self.width, self.rows, self._split = delimiter, width, rows, split
        self._cells: list[list[str]] | None = None
        self._numbers: tuple[str, np.ndarray, np.ndarray] | None = None  # (mark, values, slow) of every column
        #: :meth:`numbers` gives views of the chunk's ``(width, rows)`` values, not copies: set by a reader that keeps
        #: every column's values (a copy each is a small array a column a chunk, which the heap does not give back)
        self.views = False
        #: ``as_is``: ``split`` gives the text between delimiters as it is, so a column may be cut out alone
        self._alone: dict[int, list[str]] | None = {} if as_is and width >= ALONE_FROM_WIDTH else None

    def cells(self, j: int) -> list[str]:
        """Column ``j``'s cells (the text is split into all its cells the first time a cell is asked for; a few
        columns of a wide block are cut out alone: its time column, not its million cells)."""
        if self._cells is None:
            if self._alone is not None and (j in self._alone or len(self._alone) < ALONE_COLUMNS):
                if j not in self._alone:
                    self._alone[j] = self._column(j)
                return self._alone[j]
            self._alone = None
            self._cells = self._split(self._bytes.decode("ascii"))
        return self._cells[j]

    def _column(self, j: int) -> list[str]:
        """Column ``j``'s cells, cut out of the text at its delimiters and line feeds."""
        from tsae.io._number_kernels import column_bounds

        starts = np.empty(self.rows, dtype=np.int64)
        stops = np.empty(self.rows, dtype=np.int64)
        found = column_bounds(self._codes(), ord(self._delimiter), self.width, j, starts, stops)
        data = self._bytes
        return [data[a:b].decode("ascii") for a, b in zip(starts[:found].tolist(), stops[:found].tolist(),
                                                          strict=True)]

    def _codes(self) -> np.ndarray:
        """The text's bytes as uint8 (no copy)."""
        return np.frombuffer(self._bytes, dtype=np.uint8)

    @property
    def read(self) -> bool:
        """Whether its numbers were read (:meth:`numbers`): reading a column's again costs no compiled loop."""
        return self._numbers is not None

    def slow(self, mark: str) -> np.ndarray:
        """Where a cell of each column is left for ``float()`` (bool ``(width, rows)``) by :meth:`numbers` with the
        decimal ``mark``."""
        self.numbers(0, mark)
        assert self._numbers is not None
        return self._numbers[2]

    def numbers(self, j: int, mark: str) -> tuple[np.ndarray, np.ndarray]:
        """``(values, slow)`` of column ``j`` read with the decimal ``mark`` by the compiled loop: float64 of its
        plain decimal cells (NaN: empty), and where a cell is left for ``float()`` (its value then undefined); the
        values are row ``j`` of the chunk's values when :attr:`views`."""
        if self._numbers is None or self._numbers[0] != mark:  # (a file has one mark: read once a chunk)
            from tsae.io._number_kernels import decimal_cells

            values = np.empty((self.width, self.rows))
            slow = np.zeros((self.width, self.rows), dtype=bool)
            decimal_cells(self._codes(), ord(self._delimiter), ord(mark), values, slow)
            self._numbers = (mark, values, slow)
        _, values, slow = self._numbers
        # a copy unless asked: a view holds every column's values
        return (values[j] if self.views else values[j].copy()), slow[j]


class PlainColumn(Sequence[str]):
    """Column ``j`` of a :class:`PlainBlock`: a sequence of its cells, split when one is first asked for."""

    def __init__(self, block: PlainBlock, j: int) -> None:
        self.block, self.j = block, j

    def cells(self) -> list[str]:
        """Its cells (the chunk's text split into cells, if it was not yet)."""
        return self.block.cells(self.j)

    def __len__(self) -> int:
        return self.block.rows

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self.block.cells(self.j)[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.block.cells(self.j))

    def __repr__(self) -> str:
        return f"PlainColumn({self.block.cells(self.j)!r})"
