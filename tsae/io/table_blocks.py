"""Long tables (CSV/TSV, compressed or not) read in blocks, so memory is bounded by a block, not the file.

:func:`open_table_blocks` reads a table file twice. The first pass is :func:`~tsae.io.tables.read_table`'s reader
(:func:`~tsae.io.tables._scan_rows`, the same code) keeping no channel's values: it decides what each column is,
raises every error and tells every warning :func:`~tsae.io.tables.read_table` would, in the same order and words,
and keeps the time and label columns (one column each). The second pass reads the channels again as float64
``(channels, m)`` blocks with the values :func:`~tsae.io.tables.read_table` gives, through a
:class:`~tsae.io.blocks.SeriesSource`. A compressed table is decompressed twice.

Only a file is read so (not a stream): :data:`LONG_TABLE_BYTES` says which are long enough to be worth two passes
(by the length of their text: a compressed file's is estimated, :func:`is_long_table`).
"""
from __future__ import annotations

import contextlib
import lzma
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO, cast

import numpy as np

from tsae.io.blocks import CHUNK, SeriesSource
from tsae.io.influx import InfluxCsv
from tsae.io.table_absurd import _absurd, _warn_absurd
from tsae.io.table_dialect import TableDialect
from tsae.io.tables import _decide, _fail, _last, _scan_rows, _table_text, _time_rate
from tsae.io.wide_copy import WideCopy

#: a table file whose text (decompressed, for a compressed one) is longer than this is read in blocks by the commands
#: that can (:func:`is_long_table`); a shorter one is read whole, in one pass
LONG_TABLE_BYTES = 64 << 20

#: compressed bytes of a compressed table decompressed (at most, and no more text than :data:`LONG_TABLE_BYTES`) to
#: estimate the length of its text (:func:`is_long_table`)
RATIO_PREFIX = 2 << 20


def is_long_table(path: Path) -> bool:
    """Whether ``path`` is a regular file whose text is longer than :data:`LONG_TABLE_BYTES` (a pipe or stdin never
    is).

    A plain file's text is its bytes on disk. A compressed one (gzip, bzip2, xz, judged by its magic bytes as the
    reader judges it) is long when its bytes on disk are, or when its first :data:`RATIO_PREFIX` bytes decompress
    to text that, at that ratio over the whole file, is longer: its text is never decompressed beyond
    :data:`LONG_TABLE_BYTES`, nor held (gzip's own size field keeps the size modulo 4 GiB only, and bzip2 and xz
    files have none). A compressed file too broken to tell is not long: the reader tells what is wrong with it.
    """
    import stat as kinds

    from tsae.io.text_files import _starts_as

    try:
        stat = os.stat(path)
        if not kinds.S_ISREG(stat.st_mode):
            return False
        if stat.st_size > LONG_TABLE_BYTES:
            return True
        with open(path, "rb") as raw:
            compression = _starts_as(raw.read(10))
            if compression is None:
                return False
            raw.seek(0)
            return _text_bytes(raw, compression, stat.st_size) > LONG_TABLE_BYTES
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
        return False  # the reader says what is wrong with it


class _Trickle:
    """A file's bytes handed to a decompressor at most :data:`_TRICKLE` bytes a read, counted (``given``): what it has
    read of the file is then known to within as much, not a read-ahead buffer's (gzip's is 128 KiB)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.given = raw, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(_TRICKLE if size < 0 else min(size, _TRICKLE))
        self.given += len(data)
        return data


_TRICKLE = 8 << 10


def _text_bytes(raw: BinaryIO, compression: str, size: int) -> float:
    """The length of the text of the compressed file ``raw`` (``size`` bytes, ``compression`` its suffix): exact
    when it ends within :data:`RATIO_PREFIX` bytes, else estimated from the ratio of its text to its compressed
    bytes so far (more than :data:`LONG_TABLE_BYTES` once its text is, without reading on)."""
    import bz2
    import gzip

    trickle = _Trickle(raw)
    file = cast(BinaryIO, trickle)
    handle: Any = (gzip.GzipFile(fileobj=file, mode="rb") if compression == ".gz" else
                   bz2.BZ2File(file) if compression == ".bz2" else lzma.LZMAFile(file))
    text = 0
    with handle:
        while text <= LONG_TABLE_BYTES and trickle.given < RATIO_PREFIX:
            got = len(handle.read(1 << 16))
            if not got:
                return text  # all of it
            text += got
    return text if text > LONG_TABLE_BYTES else text * size / max(trickle.given, 1)


def open_long_table(path: Path, output: Path | None = None, *, text_columns: bool = False,
                    dialect: TableDialect | None = None) -> TableSource | None:
    """A long table file opened in blocks, or None: it is then read whole, in one pass.

    Parameters
    ----------
    path
        The input. Only a table file that :func:`is_long_table` finds long is opened (not a ``.npy`` array or an
        audio file, whatever its size).
    output
        Where its series goes, or None (the job writes no series: ``detect score``'s scores). None is returned for
        an audio output: a table's series goes to audio as :func:`~tsae.io.series.write_series` writes it (64-bit
        floats), from the table read whole.
    text_columns
        As :func:`open_table_blocks`'s (``detect score``: a column of text is no sensor's).
    dialect
        As :func:`open_table_blocks`'s.

    Returns
    -------
    TableSource or None
        :func:`open_table_blocks`' source, after its first pass; None for a short file or one read whole.
    """
    from tsae.io.paths import ARRAY_SUFFIXES, AUDIO_SUFFIXES, kind_suffix

    kinds = ARRAY_SUFFIXES + AUDIO_SUFFIXES
    audio_out = output is not None and kind_suffix(output) in AUDIO_SUFFIXES
    if kind_suffix(path) in kinds or audio_out or not is_long_table(path):
        return None
    return open_table_blocks(path, text_columns=text_columns, dialect=dialect)


def _stamp(path: Path) -> tuple[int, int, int, int]:
    """``(device, inode, size, modification time in ns)`` of the file ``path`` names now."""
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _same_file(first: tuple[int, int, int, int], now: tuple[int, int, int, int]) -> bool:
    """Whether the file stamped ``now`` (:func:`_stamp`) may still hold the rows the first pass read (stamped
    ``first``): the same file, not shorter, and grown or untouched. Rows a logger appends are allowed (the second
    pass reads only the first pass's rows); another file renamed onto the name, or the file cut or rewritten in
    place, is not (its values would be read beside the first pass's times and labels)."""
    if first[:2] != now[:2] or now[2] < first[2]:
        return False
    return now[2] > first[2] or now[3] == first[3]


class TableSource(SeriesSource):
    """The channels of a table file read forward in float64 blocks (a pass over the file each time it is opened).

    Besides :class:`~tsae.io.blocks.SeriesSource`'s ``n``, ``channels``, ``rate`` and ``meta`` (as
    :func:`~tsae.io.series.read_series` gives it for the table: ``columns``, ``time``, ``time_name``, ``time_utc``,
    ``label``, ``label_name``), what :class:`~tsae.io.tables.Table` tells of it: ``columns``, ``time``,
    ``time_name``, ``time_utc``, ``label``, ``label_name``, ``text_columns``, ``mixed_columns``; and ``valued``,
    for each channel whether a cell is a value (neither missing, infinite nor beyond
    :data:`~tsae.io.table_absurd.ABSURD`).
    """

    def __init__(self, path: Path, n: int, rate: float | None, meta: dict[str, Any], *, header: list[str],
                 channel_index: list[int], exact: bool, text_columns: bool, valued: np.ndarray,
                 texts: dict[str, str], mixed: list[str], stamp: tuple[int, int, int, int],
                 wide: tuple[WideCopy, Any, int] | None = None, dialect: TableDialect | None = None) -> None:
        self._header, self._index, self._stamp = header, channel_index, stamp
        self._dialect = dialect  # as the first pass was given it (None: told from the text)
        self._wide = wide  # an InfluxDB export's pivoted text as the first pass read it, with its dialect and skip
        self._exact, self._text_columns = exact, text_columns
        self.valued = valued
        self.text_columns, self.mixed_columns = texts, mixed
        super().__init__(path, n, len(channel_index), rate, meta, self._blocks())

    @property
    def columns(self) -> list[str]:
        return list(self.meta["columns"])

    @property
    def time(self) -> np.ndarray | None:
        return self.meta["time"]

    @property
    def time_name(self) -> str | None:
        return self.meta["time_name"]

    @property
    def time_utc(self) -> bool:
        return bool(self.meta["time_utc"])

    @property
    def label(self) -> np.ndarray | None:
        return self.meta["label"]

    @property
    def label_name(self) -> str | None:
        return self.meta["label_name"]

    def _blocks(self) -> Iterator[np.ndarray]:
        """The second pass: the channels' values, a chunk of rows at a time (absurd cells missing unless exact); the
        first pass's rows only (a logger may have appended more since: they are not read), an error if fewer, or if
        the file was replaced or rewritten since (:func:`_same_file`)."""
        path = self.path
        changed = _fail(path, "cannot read (it changed while it was read)")
        done = 0
        with self._text() as (handle, dialect, skip):
            if not _same_file(self._stamp, _stamp(path)):
                raise changed
            for scan in _scan_rows(path, handle, dialect, skip, self._text_columns, convert=set(self._index),
                                   limit=self.n):
                if scan.header != self._header:
                    raise changed
                block = np.empty((len(self._index), scan.n - done))
                for row, j in enumerate(self._index):
                    chunks = scan.columns[j].floats
                    if scan.columns[j].bad is not None or not chunks:
                        raise changed
                    block[row] = chunks.pop()
                if not self._exact:
                    block[_absurd(block)] = np.nan
                done = scan.n
                yield block
        if done != self.n:
            raise changed

    @contextlib.contextmanager
    def _text(self) -> Iterator[tuple[Any, Any, int]]:
        """The table's text for a pass after the first, with its dialect and the lines to skip: an InfluxDB
        export's pivoted text as the first pass kept it (:class:`~tsae.io.wide_copy.WideCopy`: pivoted once, not
        once a pass), else the file's."""
        if self._wide is not None:
            copy, dialect, skip = self._wide
            yield copy.lines(), dialect, skip
            return
        with _table_text(self.path, tell=False, known=self._dialect) as text:
            yield text

    def whole(self) -> tuple[np.ndarray, float | None, dict[str, Any]]:
        """The whole series, ``(values, rate, meta)`` as :func:`~tsae.io.series.read_series` gives it (another pass
        over the file): for a job that does a short series whole, its warnings told once."""
        from tsae.engine.layout import known_layout
        from tsae.errors import memory_for

        with memory_for(self.path):
            values = np.empty((self.channels, self.n))
        done = 0
        for block in self._blocks():
            values[:, done: done + block.shape[1]] = block
            done += block.shape[1]
        return known_layout(values), self.rate, self.meta

    def reopen(self, chunk: int = CHUNK) -> TableSource:
        """Another pass over the file from its start (its first pass, which decided the columns, is not repeated)."""
        return TableSource(self.path, self.n, self.rate, self.meta, header=self._header, channel_index=self._index,
                           exact=self._exact, text_columns=self._text_columns, valued=self.valued,
                           texts=self.text_columns, mixed=self.mixed_columns, stamp=self._stamp, wide=self._wide,
                           dialect=self._dialect)


def open_table_blocks(path: str | os.PathLike, *, exact: bool = False, text_columns: bool = False,
                      dialect: TableDialect | None = None) -> TableSource:
    """A table file's channels as a :class:`TableSource`, after a first pass over the whole file.

    Parameters
    ----------
    path
        The table file (as :func:`~tsae.io.tables.read_table` reads it: CSV/TSV, compressed too); not a stream.
    exact, text_columns, dialect
        As :func:`~tsae.io.tables.read_table`'s.

    Returns
    -------
    TableSource
        Its blocks hold the values :func:`~tsae.io.tables.read_table` gives (``Table.values``), in order.

    Raises
    ------
    ValueError
        The first pass raises every error :func:`~tsae.io.tables.read_table` raises, with the same words, and tells
        its warnings in the same order; a file that changes between the passes is an error when it is read again.
    """
    from tsae.errors import memory_for

    path = Path(path)
    wide: tuple[WideCopy, Any, int] | None = None
    with contextlib.ExitStack() as failing:
        with memory_for(path), _table_text(path, known=dialect) as (handle, found, skip):
            if found is InfluxCsv:  # its pivot, kept for the passes after this one
                copy = WideCopy(path)
                failing.callback(copy.close)
                handle, wide = cast(TextIO, copy.kept(handle)), (copy, found, skip)
            scan = _last(_scan_rows(path, handle, found, skip, text_columns, values=False))
            stamp = _stamp(path)
            decided = _decide(path, scan, text_columns)
        if wide is not None and not wide[0].whole:  # the scan stopped before the last line: read the file again
            wide = None
        else:
            failing.pop_all()
    names = [scan.header[j] for j in decided.channels]
    channel_columns = [scan.columns[j] for j in decided.channels]
    if not exact:
        _warn_absurd(path, [column.absurd for column in channel_columns], names, stacklevel=3)
    time_name = None if decided.time_idx is None else scan.header[decided.time_idx]
    meta = {"kind": "table", "columns": names, "time": decided.time, "time_name": time_name,
            "time_utc": decided.time_utc, "label": decided.label,
            "label_name": None if decided.label_idx is None else scan.header[decided.label_idx]}
    return TableSource(path, scan.n, _time_rate(decided.time, time_name), meta, header=scan.header,
                       channel_index=decided.channels, exact=exact, text_columns=text_columns,
                       valued=np.array([column.valued for column in channel_columns], dtype=bool),
                       texts=decided.texts, mixed=decided.mixed, stamp=stamp, wide=wide, dialect=dialect)


__all__ = ["LONG_TABLE_BYTES", "TableSource", "is_long_table", "open_long_table", "open_table_blocks"]
