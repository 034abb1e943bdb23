"""Read and write a series file of any supported kind: CSV/TSV tables, ``.npy`` arrays, audio.

:func:`read_series` returns float64 ``(channels, n)`` values, the sample rate when the
file has one, and what is needed to write a result "like the input";
:func:`write_series` writes ``(channels, n)`` values in the kind of file its suffix
names, keeping the input's column names, time and label columns, rate and subtype.
:func:`save_npy` is the one atomic ``.npy`` writer. Every writer is atomic and never
replaces a file named in ``protect`` (see :func:`tsae.io.paths.check_output`).
"""
from __future__ import annotations

import errno
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.layout import known_layout
from tsae.errors import in_file, memory_for
from tsae.io.atomic import atomic_path
from tsae.io.paths import ARRAY_SUFFIXES, AUDIO_SUFFIXES


def _fail(path: Path, problem: str) -> ValueError:
    return ValueError(f"{path}: {problem}")


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, bytes of data the file holds)`` from a ``.npy`` header, without reading the data."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(handle)
        return shape, dtype, os.fstat(handle.fileno()).st_size - handle.tell()


def read_npy(path: Path, *, mmap: bool = False) -> np.ndarray:
    """Load a ``.npy`` array (memory-mapped read-only with ``mmap``), never a pickle.

    Its header is checked against the file size before anything is allocated; a bad
    file is one ``ValueError`` naming it.
    """
    try:
        shape, dtype, held = _npy_header(path)
        needed = math.prod(shape) * dtype.itemsize
        if not dtype.hasobject and needed == held:  # more bytes than declared: a header that lies (a wrong shape)
            with memory_for(path):
                return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        detail = str(error).splitlines()[0] if str(error) else "corrupt"
        raise _fail(path, f"not a readable .npy array ({detail})") from None
    if dtype.hasobject:
        raise _fail(path, "holds Python objects (refusing to unpickle); only numeric arrays are read")
    raise _fail(path, f"its header declares a {dtype} array of shape {shape} ({needed:,} bytes) "
                      f"but the file holds {held:,} bytes of data")


class ArrayWarning(UserWarning):
    """A ``.npy`` array's values are not read exactly as stored (whole numbers float64 cannot hold)."""


def warn_inexact_integers(path: str | os.PathLike, array: np.ndarray, chunk: int = 1 << 20) -> None:
    """One :class:`ArrayWarning` when ``array`` (64-bit integers, memory-mapped or not) holds whole numbers
    beyond 2**53 that float64 rounds (a 64-bit counter's 9007199254740993 is read as 9007199254740992), as
    the table reader warns of such cells; read ``chunk`` values at a time (memory stays bounded).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_inexact_integers("c.npy", np.array([7, 2**53 + 1, 2**60], dtype=np.int64))
    >>> "sample 1: 9007199254740993 is read as 9007199254740992" in str(caught[0].message)
    True
    """
    if array.dtype.kind not in "iu" or array.dtype.itemsize < 8:
        return
    flat = array.reshape(-1)  # a view for a C-order array, memory-mapped too
    count, first = 0, -1
    for start in range(0, flat.size, chunk):
        part = np.asarray(flat[start: start + chunk])
        big = np.flatnonzero((part >= 2**53) | ((part <= -(2**53)) if array.dtype.kind == "i" else False))
        if big.size == 0:
            continue
        values = part[big]
        with np.errstate(invalid="ignore"):  # a uint64 near 2**64 rounds to 2**64, beyond it
            back = values.astype(np.float64).astype(array.dtype)
        changed = big[back != values]
        if changed.size and first < 0:
            first = start + int(changed[0])
        count += int(changed.size)
    if count:
        import warnings

        exact = int(flat[first])
        index = np.unravel_index(first, array.shape)
        where = f"sample {index[-1]}" + (f" of channel {index[0]}" if array.ndim == 2 else "")
        warnings.warn(f"{path}: {count} whole number(s) beyond 2**53 are rounded to float64's nearest (the first, "
                      f"{where}: {exact} is read as {float(exact):.0f})", ArrayWarning, stacklevel=3)


def array_meta(ndim: int, dtype: Any, channels: int) -> dict[str, Any]:
    """The ``meta`` of a ``.npy`` series: its layout (``ndim``) and float type come back when it is written."""
    kind = np.dtype(dtype)
    return {"kind": "array", "columns": [f"ch{i}" for i in range(channels)], "ndim": int(ndim),
            "dtype": kind.str if kind.kind == "f" and kind.itemsize >= 4 else "<f8"}


def array_out(values: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
    """``values`` (C, n) as a ``.npy`` output holds them: the input's layout and float type (float64 when unknown).

    One channel read from ``(n,)`` (or of unknown layout) is written ``(n,)``; from ``(1, n)``, ``(1, n)``.
    """
    out = values if values.shape[0] > 1 or meta.get("ndim") == 2 else values[0]
    dtype = meta.get("dtype") if meta.get("kind") == "array" else None
    return out.astype(dtype, copy=False) if isinstance(dtype, str) else out


def transposed_hint(path: str | os.PathLike, channels: int, samples: int) -> str:
    """``"; time is the last axis ..."``: what to do about a ``.npy`` file read as more ``channels`` than
    ``samples`` (an ``(n, channels)`` array saved as such), else ``""``.

    Examples
    --------
    >>> transposed_hint("x.npy", 500, 2)
    '; time is the last axis of a .npy array: save it transposed (x.T, shape (2, 500))'
    >>> transposed_hint("x.csv", 500, 2), transposed_hint("x.npy", 2, 500)
    ('', '')
    """
    if Path(path).suffix.lower() not in ARRAY_SUFFIXES or not 0 < samples < channels:
        return ""
    return f"; time is the last axis of a .npy array: save it transposed (x.T, shape {(samples, channels)})"


def refuse_transposed(path: str | os.PathLike, channels: int, samples: int, unit: str = "channels") -> None:
    """A one-line ValueError naming ``path`` when a ``.npy`` file reads as more ``channels`` than ``samples`` (an
    ``(n, channels)`` array saved as such, :func:`transposed_hint`), said in a file's words (not the array
    argument's ``x: ... pass x.T``); ``unit`` names the channels (``"sensors"``)."""
    hint = transposed_hint(path, channels, samples)
    if hint:
        raise ValueError(f"{path}: an array of shape {(channels, samples)} is read as {channels} {unit} of "
                         f"{samples} samples{hint}")


def refuse_infinite(values: np.ndarray, first: int = 0) -> None:
    """A one-line ValueError naming the first infinite sample of ``values`` ``(channels, n)`` (the earliest, then
    the lowest channel), ``first`` being the index of ``values``' first sample in its series (a block's offset).

    NaN marks a missing sample; an infinite one is neither a value nor a gap: the rule of ``smooth``,
    ``impute``, ``reconstruct`` and ``encode`` for a ``.npy`` file (:func:`read_series` and
    :func:`tsae.io.blocks.open_source` with ``finite``; a table's infinite cell is read as missing), and of
    :func:`tsae.smooth`, :func:`tsae.impute`, :func:`tsae.reconstruct` and :func:`tsae.encode` for an array.

    Examples
    --------
    >>> refuse_infinite(np.array([[0.0, 1.0, np.inf], [0.0, -np.inf, 2.0]]), first=10)
    Traceback (most recent call last):
    ...
    ValueError: sample 11 of channel 1 is infinite (-inf): NaN marks a missing sample; an infinite one is ...
    """
    infinite = np.isinf(values)
    if infinite.any():
        sample, channel = (int(i[0]) for i in np.nonzero(infinite.T))
        raise ValueError(f"sample {first + sample} of channel {channel} is infinite ({values[channel, sample]}): "
                         "NaN marks a missing sample; an infinite one is neither a value nor a gap (make it NaN)")


def read_series(path: str | os.PathLike, *, audio_gaps: bool = False, exact: bool = False,
                finite: bool = False) -> tuple[np.ndarray, float | None, dict[str, Any]]:
    """Read a series file by suffix: CSV/TSV tables, ``.npy`` arrays, or audio.

    Parameters
    ----------
    path
        The file; any suffix other than ``.npy`` and the audio ones is read as a table
        (:func:`~tsae.io.tables.read_table`: compressed ones too, ``.csv.gz``, ``.tsv.bz2``, ``.txt.xz``).
    audio_gaps
        Read a float audio file's NaN and infinite samples as missing (NaN) rather than as
        silence (what the denoiser wants).
    exact
        Keep a table's infinite cells and cells beyond :data:`~tsae.io.table_absurd.ABSURD` as they are
        (:func:`~tsae.io.tables.read_table`'s ``exact``), and refuse a float audio file with a
        sample its reader would change (:func:`~tsae.io.audio.read_audio`'s ``exact``).
    finite
        Refuse a ``.npy`` array holding an infinite sample, naming the file and the sample
        (:func:`refuse_infinite`): what the series commands read.

    Returns
    -------
    values : np.ndarray
        float64 ``(channels, n)`` with ``n > 0``; NaN marks missing samples (tables and arrays;
        audio with ``audio_gaps``).
        Tables and audio are marked as laid out on purpose
        (:func:`~tsae.engine.layout.known_layout`): a table of fewer rows than columns is
        that many channels, never taken for a transposed array.
    sample_rate : float or None
        Audio rate, or the rate implied by a regular time column, else None.
    meta : dict
        ``kind`` ("table", "array" or "audio") and ``columns``; for tables also ``time``,
        ``time_name``, ``label``, ``label_name``; for audio ``subtype`` and ``format``.

    Raises
    ------
    ValueError
        One line naming the file: missing, empty, corrupt, of the wrong shape, or a
        ``.npy`` whose header declares more data than the file holds.
    tsae.errors.FileMemoryError
        A ``MemoryError`` naming the file, when its data does not fit in memory.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise _fail(path, "no such file")
    if suffix in ARRAY_SUFFIXES:
        arr = read_npy(path)
        if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or arr.size == 0:
            raise _fail(path, f"expected a non-empty numeric array (n,) or (channels, n), got {arr.dtype} {arr.shape}")
        warn_inexact_integers(path, arr)
        with memory_for(path):
            values = np.atleast_2d(arr.astype(np.float64))
        if finite:
            with in_file(path):
                refuse_infinite(values)
        return values, None, array_meta(arr.ndim, arr.dtype, values.shape[0])
    if suffix in AUDIO_SUFFIXES:
        from tsae.io.audio import read_audio

        with memory_for(path):
            audio = read_audio(path, gaps=audio_gaps, exact=exact)
            data = audio.data.astype(np.float64)
        return (known_layout(data), float(audio.sample_rate),
                {"kind": "audio", "subtype": audio.subtype, "format": audio.format,
                 "channel_mask": audio.channel_mask, "columns": [f"ch{i}" for i in range(audio.channels)]})
    from tsae.io.tables import read_table

    with memory_for(path):
        table = read_table(path, exact=exact)
    return known_layout(table.values), table.sample_rate(), {
        "kind": "table", "columns": table.columns, "time": table.time, "time_name": table.time_name,
        "time_utc": table.time_utc, "label": table.label, "label_name": table.label_name,
    }


def read_signal(path: str | os.PathLike) -> tuple[np.ndarray, float | None]:
    """Read a raw signal from audio or a ``.npy`` array, as stored: ``(n,)`` mono or ``(channels, n)``.

    Unlike :func:`read_series` the array keeps its dtype and any shape ``np.load``
    gives; audio is float32 (float64 for a DOUBLE file), a mono file ``(n,)``. Returns the signal and the audio
    sample rate (None for ``.npy``).
    """
    path = Path(path)
    if path.suffix.lower() in ARRAY_SUFFIXES:
        return read_npy(path), None
    from tsae.io.audio import read_audio

    with memory_for(path):
        audio = read_audio(path)
    return (audio.data[0] if audio.channels == 1 else audio.data), float(audio.sample_rate)


def save_npy(path: str | os.PathLike, array: np.ndarray, *, protect: Sequence[str | os.PathLike] = ()) -> Path:
    """Write ``array`` to the ``.npy`` file ``path`` atomically (no pickles), never over a ``protect`` path."""
    path = Path(path)
    with atomic_path(path, protect=tuple(protect)) as tmp:
        with open(tmp, "wb") as handle:  # a path would make np.save append ".npy"
            try:
                np.save(handle, array, allow_pickle=False)
            except OSError as error:
                if error.errno is not None:
                    raise
                raise _short_write(handle) from None
    return path


def _short_write(handle: Any) -> OSError:
    """Why a file's write was cut short: numpy's ``N requested and M written`` names no cause, so one more byte is
    written to meet it (a full disk, a file size limit: the output is then named as every other output is)."""
    try:
        handle.flush()
        os.write(handle.fileno(), b"\0")
    except OSError as error:
        return error
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class ClipCount:
    """Counts the samples written to the audio file ``path`` in ``subtype`` that its sample format clips (beyond full
    scale, 1; none for a float format), block by block, and warns of them once at the end (:meth:`warn`)."""

    def __init__(self, path: Path, subtype: str | None) -> None:
        from tsae.io.audio import output_subtype

        self.path, self.stored = path, output_subtype(path, subtype)
        self.clips = self.stored not in ("FLOAT", "DOUBLE")
        self.beyond = 0

    def add(self, values: np.ndarray) -> None:
        """Count the samples of the block ``values`` that will be clipped."""
        if self.clips:
            with np.errstate(invalid="ignore"):
                self.beyond += int(np.count_nonzero(np.abs(values) > 1.0))

    def warn(self, stacklevel: int = 2) -> None:
        """One warning naming the file, its sample format and the samples it clipped (none: no warning)."""
        import warnings

        from tsae.io.audio import AudioWarning

        if self.beyond:
            warnings.warn(f"{self.path}: {self.beyond} sample(s) beyond full scale (1) clipped by {self.stored}; "
                          "write .wav to keep them as floats", AudioWarning, stacklevel=stacklevel + 1)


def _warn_clipping(path: Path, values: np.ndarray, subtype: str | None) -> None:
    """Warn when the sample format ``path`` is written in clips values beyond full scale (1)."""
    count = ClipCount(path, subtype)
    count.add(values)
    count.warn(stacklevel=3)


def channel_names(meta: dict[str, Any], channels: int) -> list[str]:
    """The names a table written from a series with ``meta`` gives its ``channels``: the input's column names, or
    ``ch0``, ``ch1`` ... where it has none."""
    return list(meta.get("columns") or [f"ch{i}" for i in range(channels)])


def label_out(meta: dict[str, Any]) -> np.ndarray | None:
    """The label column of a table read with ``meta`` as a table written like it holds it (None: none): whole
    numbers as integers, written as read (``0``, not ``0.0``; an int has no NaN)."""
    if meta.get("label") is None:
        return None
    from tsae.io.tables import whole_numbers

    label = np.asarray(meta["label"])
    return label.astype(np.int64) if whole_numbers(label) and np.isfinite(label).all() else label


def write_series(path: str | os.PathLike, values: np.ndarray, rate: float | None, meta: dict[str, Any], *,
                 protect: Sequence[str | os.PathLike] = ()) -> Path:
    """Write ``values`` (C, n) atomically in the kind of file its suffix names, like the input read with ``meta``.

    Parameters
    ----------
    path
        Output file: an audio suffix writes audio, ``.npy`` an array (``(n,)`` for one
        channel), anything else a CSV table (compressed for ``.gz``, ``.bz2``, ``.xz``; see
        :func:`~tsae.io.table_write.write_table`).
    values
        float ``(channels, n)``.
    rate
        Sample rate (required for an audio output).
    meta
        The input's ``meta`` from :func:`read_series`: tables keep their column names,
        time and label columns; audio keeps its subtype when the format is the same.
    protect
        Paths the command reads, never overwritten.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        from tsae.io.audio import format_like, write_audio

        if not rate:
            raise _fail(path, "an audio output needs a sample rate (the input has none)")
        # a series that was not audio has no full scale: 64-bit floats, where the format has them, keep it whole
        audio = meta.get("kind") == "audio"
        subtype = meta.get("subtype") if audio else "DOUBLE"
        _warn_clipping(path, values, subtype)
        return write_audio(path, values, int(round(rate)), subtype=subtype, protect=tuple(protect),
                           format=format_like(path, meta.get("format") if audio else None),
                           channel_mask=meta.get("channel_mask") if audio else None)
    if suffix in ARRAY_SUFFIXES:
        return save_npy(path, array_out(values, meta), protect=protect)
    from tsae.io.table_write import write_table

    names = channel_names(meta, values.shape[0])
    columns: dict[str, Any] = {name: values[i] for i, name in enumerate(names)}
    label = label_out(meta)
    if label is not None:
        columns[meta.get("label_name") or "label"] = label
    return write_table(path, columns, time=meta.get("time"), time_name=meta.get("time_name"),
                       time_utc=bool(meta.get("time_utc")), protect=tuple(protect))


__all__ = ["ClipCount", "array_meta", "array_out", "channel_names", "label_out", "read_series", "read_signal",
           "write_series", "save_npy", "refuse_infinite", "refuse_transposed", "transposed_hint"]
