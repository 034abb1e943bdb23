"""How an error is told in one line: by the CLI to the user, and in a batch manifest's rows.

A ``MemoryError`` met while reading a file is told the same way, naming the file
(:func:`memory_for`).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def first_line(error: BaseException, limit: int | None = None) -> str:
    """The first line of an error's message (its type name when it has none), cut at ``limit`` characters."""
    # a KeyError's str() is the repr of its key: its message would show in quotes
    message = error.args[0] if isinstance(error, KeyError) and len(error.args) == 1 else error
    lines = str(message).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if limit is None else text[:limit]


#: the most characters of a value an error message shows
SHOWN_CHARACTERS = 60


def shown(value: object) -> str:
    """``repr(value)`` as an error message shows it: cut to :data:`SHOWN_CHARACTERS`, saying how long it was.

    An option given ``10 ** 400`` or a megabyte of text is told in one short line, not in full.

    Examples
    --------
    >>> shown(0.5), shown("x")
    ('0.5', "'x'")
    >>> shown(10 ** 100)
    '1000000000000000000000000000000000000000000000000000000000... (101 characters)'
    >>> shown(10 ** 10000)
    'an integer of about 10001 digits'
    >>> shown(np.eye(2))
    'array([[1., 0.], [0., 1.]])'
    """
    if isinstance(value, int) and value.bit_length() > 10_000:  # Python refuses the repr of 10 ** 5000
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        text = " ".join(line.strip() for line in repr(value).splitlines())  # a 2-D array's repr: one line
    except Exception:  # a hostile __repr__
        return f"<{type(value).__name__} object>"
    return text if len(text) <= SHOWN_CHARACTERS else f"{text[:SHOWN_CHARACTERS - 2]}... ({len(text)} characters)"


def allocation_failure(error: BaseException) -> str | None:
    """What could not be allocated when ``error`` is running out of memory, else None.

    A ``MemoryError``, or torch's ``RuntimeError`` (``[enforce fail at alloc_cpu.cpp:127] err == 0.
    DefaultCPUAllocator: can't allocate memory: you tried to allocate 1024000000 bytes ...``, ``CUDA out of
    memory. Tried to allocate 2.00 GiB ...``), told in a few words (``0.954 GiB could not be allocated``).
    """
    text = first_line(error)
    if not isinstance(error, MemoryError) and "alloc" not in text.lower() and "out of memory" not in text.lower():
        return None
    found = re.search(r"tried to allocate (\d+) bytes", text, re.IGNORECASE)
    if found:
        return f"{int(found.group(1)) / 2**30:.3g} GiB could not be allocated"
    found = re.search(r"tried to allocate ([\d.]+ [KMGT]?i?B)", text, re.IGNORECASE)
    return f"{found.group(1)} could not be allocated" if found else text


class NamedMemoryError(MemoryError):
    """Not enough memory, said in one line that names what did not fit (a file, a model, an array)."""


class FileMemoryError(NamedMemoryError):
    """Not enough memory for one file: the one line names the file and what was being done."""


@contextmanager
def memory_for(path: str | os.PathLike, doing: str = "read") -> Iterator[None]:
    """Turn a ``MemoryError`` raised in the block into a :class:`FileMemoryError` naming ``path``.

    Examples
    --------
    >>> try:
    ...     with memory_for("big.npy"):
    ...         raise MemoryError("Unable to allocate 7.28 TiB")
    ... except MemoryError as error:
    ...     print(error)
    big.npy: not enough memory to read it (Unable to allocate 7.28 TiB)
    """
    try:
        yield
    except FileMemoryError:
        raise
    except MemoryError as error:
        raise FileMemoryError(f"{path}: not enough memory to {doing} it ({first_line(error)})") from None


def naming(path: object, error: BaseException | str) -> str:
    """One line about ``path``: the error's first line, prefixed with the path unless it names it already."""
    text = first_line(error) if isinstance(error, BaseException) else error
    return text if text.startswith(str(path)) else f"{path}: {text}"


@contextmanager
def in_file(path: str | os.PathLike, *named: str | os.PathLike) -> Iterator[None]:
    """Name ``path`` in a ``ValueError`` raised in the block whose message names no file of its own.

    What a pipeline finds wrong with the values of a file ("a channel has no finite
    values") is told about that file; a message that already starts with ``path`` or
    one of ``named`` (the model, the output) is left as it is.

    Examples
    --------
    >>> try:
    ...     with in_file("pump.csv"):
    ...         raise ValueError("a channel has no finite values")
    ... except ValueError as error:
    ...     print(error)
    pump.csv: a channel has no finite values
    """
    try:
        yield
    except ValueError as error:
        text = first_line(error)
        if any(text.startswith(str(p)) for p in (path, *named)):
            raise
        raise ValueError(f"{path}: {text}") from None


class EmptyChannelError(ValueError):
    """A channel holds no finite value, so nothing can repair its gaps: the message names the channel.

    The engine knows a channel by its index (``channel 1``); a pipeline that read a
    table names its column instead (:meth:`named`, :func:`columns_named`), and
    :func:`in_file` puts the file in front.

    Examples
    --------
    >>> print(EmptyChannelError(1))
    a channel has no finite values (channel 1)
    >>> print(EmptyChannelError(1).named(["temp", "flow"]))
    a channel has no finite values (column 'flow')
    >>> print(EmptyChannelError(0, beyond=True))
    a channel has no finite values (channel 0): its values are all beyond 1e30 in magnitude, which is missing
    """

    def __init__(self, channel: int, column: str | None = None, *, beyond: bool = False) -> None:
        self.channel = int(channel)
        self.column = column
        #: its values are finite but all beyond 1e30 (missing, as a table's cell): "no finite values" would puzzle
        self.beyond = beyond
        where = f"column {column!r}" if column is not None else f"channel {self.channel}"
        why = ": its values are all beyond 1e30 in magnitude, which is missing" if beyond else ""
        super().__init__(f"a channel has no finite values ({where}){why}")

    def named(self, columns: Sequence[str] | None) -> EmptyChannelError:
        """The same error naming the channel by its column in ``columns`` (None: by its index)."""
        if columns is None or not 0 <= self.channel < len(columns):
            return self
        return EmptyChannelError(self.channel, str(columns[self.channel]), beyond=self.beyond)


@contextmanager
def columns_named(columns: Sequence[str] | None) -> Iterator[None]:
    """Name a table's channel by its column (from ``columns``) in an :class:`EmptyChannelError` raised in the block.

    ``columns`` is None for an array or an audio file, whose channels keep their index.
    """
    try:
        yield
    except EmptyChannelError as error:
        raise error.named(columns) from None


def channel_named(channel: int, columns: Sequence[str] | None) -> str:
    """How a message names ``channel``: as the column ``columns[channel]`` (a table's), else by its index.

    Examples
    --------
    >>> channel_named(1, ["temp", "flow"]), channel_named(1, None)
    ("column 'flow'", 'channel 1')
    """
    if columns is not None and 0 <= channel < len(columns):
        return f"column {columns[channel]!r}"
    return f"channel {channel}"


def table_columns(meta: dict) -> list[str] | None:
    """The column names of a series file read as a table (``meta`` from ``read_series``), None for any other kind."""
    columns = meta.get("columns") if meta.get("kind") == "table" else None
    return list(columns) if columns else None


class NotFittedError(RuntimeError, AttributeError):
    """A model or detector used before it learnt anything (``fit``) or was loaded.

    A ``RuntimeError`` as tsae raised before, and an ``AttributeError`` as scikit-learn's
    ``NotFittedError`` is, so either ``except`` catches it.
    """


class FilesFailed(ValueError):
    """Some files of a multi-file job failed; every other file was done and written.

    The policy of every multi-file command: a file that fails leaves no output and the
    job goes on with the next one; the failures are reported together at the end.

    Attributes
    ----------
    failures
        One line per failed input: ``{input: error}``.
    written
        The outputs of the files that succeeded.
    total
        How many files the job had.
    """

    def __init__(self, failures: dict[str, str], written: list, total: int) -> None:
        self.failures = dict(failures)
        self.written = list(written)
        self.total = int(total)
        first = next(iter(self.failures.values()), "")
        super().__init__(f"{self.summary()}; first: {first}")

    def summary(self) -> str:
        """``"2 of 5 file(s) failed"``."""
        return f"{len(self.failures)} of {self.total} file(s) failed"
