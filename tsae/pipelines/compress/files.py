"""File jobs: a series file to a ``.tsz`` container with a reference to its model file, or without a model, and back.

The container's header names the model file (its path relative to the container when
possible, and absolute) and the first 128 bits of its SHA-256; decompressing finds the
model there (or takes one given explicitly) and refuses a model file whose SHA-256 differs.
A container written without a model (``model=None``: the residual coder's own predictors
alone) records none, and decompresses without a model file and without importing torch.

Audio and ``.npy`` files longer than one read block are read and written block by block
(:mod:`tsae.io.blocks`), so memory is bounded by the block, not the file, and the
container is the same, byte for byte, as from the whole series; tables (CSV/TSV) are
read whole, and written block by block (:func:`~tsae.io.table_write.open_table_writer`).
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tsae.engine.layout import check_flag
from tsae.errors import in_file, shown
from tsae.io.atomic import atomic_path
from tsae.io.audio import output_subtype
from tsae.io.blocks import CHUNK, SeriesShape, iter_blocks, open_source, open_writer
from tsae.io.paths import (
    ARRAY_SUFFIXES,
    AUDIO_SUFFIXES,
    check_data_output,
    check_output,
    check_output_kind,
)
from tsae.io.series import channel_names, read_series
from tsae.io.table_time import time_header
from tsae.io.table_write import ColumnFormat, column_format, open_table_writer
from tsae.io.tables import TableWarning
from tsae.pipelines.compress.codes import NO_MODEL_WINDOW, DeferredCodeModel
from tsae.pipelines.compress.container import Reader
from tsae.pipelines.compress.entropy import DEFAULT_CODER, coder_id
from tsae.pipelines.compress.options import (
    check_block_windows,
    check_latent_step,
    check_max_error,
    check_without_model,
)
from tsae.pipelines.compress.quantise import audio_file_bounds
from tsae.pipelines.compress.series import ChannelRanges, absolute_bounds
from tsae.pipelines.compress.stream import Compressor, Layout, iter_decompress, read_layout, written_without_model
from tsae.pipelines.compress.time_column import TickTimes, stored_ticks
from tsae.pipelines.progress import sample_bar
from tsae.pipelines.reconstruct.columns import check_channels, model_permutation

#: series files read and written in blocks (the others, tables, are read whole and written by :func:`_write_table`)
_BLOCK_SUFFIXES = ARRAY_SUFFIXES + AUDIO_SUFFIXES
#: what a container's header ``input`` says was compressed (:func:`stored_kind`)
STORED_KINDS = ("table", "array", "audio")


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: hex digits of a model file's SHA-256 that a container records: 128 bits, which no other model file matches by
#: accident (containers before format version 2 recorded all 64)
SHA256_DIGITS = 32


def model_digest(path: str | os.PathLike) -> str:
    """What a container records of the model file ``path``: the first :data:`SHA256_DIGITS` hex digits of its
    SHA-256."""
    return file_sha256(path)[:SHA256_DIGITS]


def check_model_digest(reader: Reader, path: str | os.PathLike, expected: Any) -> None:
    """Refuse the model file ``path`` when ``expected``, the digest the container ``reader`` records (all of the
    SHA-256, or its first :data:`SHA256_DIGITS` hex digits; nothing: no check), is not its SHA-256's."""
    if not expected:
        return
    if not (isinstance(expected, str) and len(expected) >= SHA256_DIGITS and file_sha256(path).startswith(expected)):
        raise reader.fail(f"model file {path} is not the one the container was written with (SHA-256 differs)")


def _model_reference(model_path: Path, folder: Path) -> dict[str, Any]:
    """What the container records of its model: the path relative to the container's ``folder`` too."""
    absolute = model_path.resolve()
    try:
        relative = os.path.relpath(absolute, folder.resolve())
    except ValueError:  # another drive on Windows
        relative = str(absolute)
    return {"path": relative, "absolute_path": str(absolute), "sha256": model_digest(absolute)}


@contextlib.contextmanager
def _read_exactly() -> Iterator[None]:
    """Refuse an audio file read (``exact``) with a sample its reader would change: a float file's NaN read as
    silence, a sample beyond full scale clipped. A container keeps every sample it is given exactly (or within
    the bound), so such a sample would not come back, and the error reported would be measured against values
    the file does not hold. (Tables are read ``exact`` too: their infinite and absurd cells are kept, and come
    back.)"""
    from tsae.io.audio import InexactAudioError

    try:
        yield
    except InexactAudioError as error:
        raise ValueError(f"{error}; compress would not give it back, so it refuses the file") from None


def _stream_bounds(path: Path, channels: int, max_error: Any, relative: bool, chunk: int,
                   columns: Any = None) -> np.ndarray | None:
    """:func:`~tsae.pipelines.compress.series.absolute_bounds` of a long file, from a first pass over its blocks."""
    if max_error is None or not relative:
        return absolute_bounds(np.zeros((channels, 0)), max_error, False)
    source = open_source(path, chunk, exact=True)
    assert source is not None
    ranges = ChannelRanges(channels)
    for values in iter_blocks(source, chunk):
        ranges.add(values)
    return ranges.relative_bounds(max_error, str(path), columns)


def _time_column(meta: dict[str, Any], path: Path, coder: str) -> tuple[dict[str, Any] | None, bytes | None]:
    """A table's time column as the container stores it: the header's ``time`` entry, and the time part (None when
    the entry holds it all: an evenly spaced column, as its start and step, or no column).

    Any other time column (uneven, out of order, repeated times) is stored whole
    (:mod:`~tsae.pipelines.compress.time_column`): decompress gives back the times read, in file order.
    """
    regular = _regular_time(meta, path)
    time = meta.get("time")
    if regular is not None or time is None or len(time) == 0:
        return regular, None
    from tsae.pipelines.compress.container import encode_time_part
    from tsae.pipelines.compress.time_column import as_ticks

    entry, ticks = as_ticks(np.asarray(time))
    utc = {"utc": True} if meta.get("time_utc") and entry["kind"] == "datetime64[ns]" else {}
    return {"name": meta.get("time_name") or "time", **entry, **utc}, encode_time_part(ticks, coder_id(coder))


def _regular_time(meta: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """A table's time column as its start and step when it is regular (what a header can hold), else None.

    A label column is left out with a warning naming the file.
    """
    if meta.get("label") is not None:
        warnings.warn(f"{path}: the label column ({meta.get('label_name') or 'label'}) is not stored in the "
                      "container", TableWarning, stacklevel=4)
    time = meta.get("time")
    if time is None or len(time) == 0:
        return None
    name = meta.get("time_name") or "time"
    dated = np.issubdtype(time.dtype, np.datetime64)
    if dated:
        ticks = time.astype("datetime64[ns]").astype(np.int64)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else np.int64(0)
        if np.array_equal(ticks, ticks[0] + step * np.arange(len(ticks), dtype=np.int64)):
            utc = {"utc": True} if meta.get("time_utc") else {}  # the dates named UTC instants: written with Z
            return {"name": name, "start": ticks[0].item(), "step": step.item(), "kind": "datetime64[ns]", **utc}
    else:
        regular = _regular_numbers(np.asarray(time, dtype=np.float64))
        if regular is not None:
            return {"name": name, **regular, "kind": "number"}
    return None


def _regular_numbers(ticks: np.ndarray) -> dict[str, Any] | None:
    """``start``, ``step`` and ``decimals`` of evenly spaced numbers (within float rounding), else None.

    Decimal steps are not exact in binary (0.1 * 3 is not 0.3), so ticks within a
    millionth of a step (or a few ulps) of ``start + step * i`` are regular; ``decimals``
    (the fewest, up to 15, to which every tick is already rounded, else None) gives the
    parsed values back exactly: ``round(start + step * i, decimals)``.
    """
    if not np.isfinite(ticks).all():
        return None
    start = float(ticks[0])
    step = float(ticks[-1] - ticks[0]) / (len(ticks) - 1) if len(ticks) > 1 else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        fit = start + step * np.arange(len(ticks), dtype=np.float64)
        tolerance = max(abs(step) * 1e-6, 8 * float(np.spacing(np.abs(ticks).max())))
        if not (math.isfinite(step) and (np.abs(ticks - fit) <= tolerance).all()):
            return None
        decimals = next((d for d in range(16) if np.array_equal(np.round(ticks, d), ticks)), None)
        if decimals is not None and not np.array_equal(np.round(fit, decimals), ticks):
            decimals = None
    return {"start": start, "step": step, "decimals": decimals}


@dataclass(frozen=True)
class _StoredTime:
    """A regular time column that :func:`_regular_time` stored, made from its start and step a range of rows at a
    time (``round(start + step * i, decimals)``: the column read, exactly)."""

    name: str
    start: int | float
    step: int | float
    dated: bool  # ``start`` and ``step`` in nanoseconds (datetime64[ns]), else numbers
    decimals: int | None = None
    utc: bool = False  # the dates named UTC instants: written ending in Z

    def check(self, samples: int) -> None:
        """Refuse ``samples`` rows whose last time leaves what the column's type holds (``ValueError``)."""
        last = max(samples - 1, 0)
        if self.dated:
            if abs(self.start + self.step * last) >= 2**63:  # Python integers: exact
                raise ValueError(f"times of {samples} samples from {self.start} ns in steps of {self.step} ns leave "
                                 "the years nanoseconds can hold")
        elif not math.isfinite(float(self.start) + float(self.step) * last):
            raise ValueError(f"times of {samples} samples from {self.start} in steps of {self.step} go beyond "
                             "float64's range")

    def rows(self, a: int, b: int) -> np.ndarray:
        """The times of rows ``[a, b)``, as the whole column's (:meth:`check` its length first)."""
        if self.dated:
            ticks = np.int64(self.start) + np.int64(self.step) * np.arange(a, b, dtype=np.int64)
            return ticks.astype("datetime64[ns]")
        time = float(self.start) + float(self.step) * np.arange(a, b, dtype=np.float64)
        return time if self.decimals is None else np.round(time, self.decimals)


def _stored_time(stored: Any) -> _StoredTime | None:
    """The time column a container's header stores (its ``time`` entry), or None: none, or not one
    :func:`_regular_time` writes."""
    if not isinstance(stored, dict) or stored.get("kind") not in ("datetime64[ns]", "number"):
        return None
    start, step, name = stored.get("start"), stored.get("step"), stored.get("name")
    dated = stored["kind"] == "datetime64[ns]"
    kinds = (int,) if dated else (int, float)
    if not (isinstance(start, kinds) and isinstance(step, kinds)) or isinstance(start, bool) or isinstance(step, bool):
        return None
    if dated and max(abs(start), abs(step)) >= 2**62:
        return None
    if not dated and not (math.isfinite(start) and math.isfinite(step)):
        return None
    decimals = stored.get("decimals")
    usable = not dated and isinstance(decimals, int) and not isinstance(decimals, bool) and 0 <= decimals <= 15
    return _StoredTime(name if isinstance(name, str) else "time", start, step, dated, decimals if usable else None,
                       utc=stored.get("utc") is True)


def compress_file(model: str | os.PathLike | None, data: str | os.PathLike, output: str | os.PathLike, *,
                  max_error: float | None = None, relative: bool = False, coder: str = DEFAULT_CODER,
                  block_windows: int = 256, latent_step: float | None = None, device: Any = "cpu",
                  chunk: int = CHUNK, progress: bool = False,
                  folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """Compress the series file ``data`` with the model file ``model``, or without a model, into the container
    ``output``.

    An audio or ``.npy`` file longer than ``chunk`` samples is read ``chunk`` samples at
    a time (twice when ``relative``: the first pass finds each channel's range), giving
    the same container as the whole series; a table (CSV/TSV) is read whole.

    Parameters
    ----------
    model
        The ``.tsae`` model file; the container records its path and SHA-256. ``None``: no model
        (``max_error`` required, ``latent_step`` refused): each block is coded by the residual
        coder's own predictors (differencing, linear prediction, interpolation), which on most
        series give within 1 % of a trained model's size; the container records no model, and
        decompresses without a model file and without torch. Blocks are then of ``block_windows``
        x :data:`~tsae.pipelines.compress.codes.NO_MODEL_WINDOW` samples.
    data
        A series file (CSV/TSV, ``.npy``, audio). With a model, a table's columns are matched by
        name to those the model was trained on: in another order, they are coded in the model's
        order and decompress in the table's; other names are refused (see
        :mod:`~tsae.pipelines.reconstruct.columns`).
    output
        The ``.tsz`` file, written atomically, never over ``data`` or ``model``, nor under a
        name tsae reads as something else (a series suffix such as ``.csv``, or ``.tsae``).
    max_error, relative, coder, block_windows, latent_step
        See :func:`~tsae.pipelines.compress.series.compress_series`.
    device
        Where the encoder runs (the decoder always runs on the CPU in float64; nowhere without a model).
    chunk
        Samples per channel read at a time from a long audio or ``.npy`` file.
    progress
        Show a bar on stderr counting the samples coded.
    folder
        The folder the container will be read in, which the model's recorded relative path starts from
        [default: ``output``'s]: for an ``output`` that is moved once written (``tsae compress -o -``, sent to
        stdout from a temporary file: the working folder).

    Returns
    -------
    dict
        ``samples``, ``blocks``, ``max_abs_error`` and ``rms_error`` per channel, ``bounds`` (each
        channel's absolute error bound, None without ``max_error``), ``bytes`` (container size) and
        ``bits_per_value``.

    Raises
    ------
    ValueError
        One line naming the file, and no container, for a float audio file whose NaN, infinite or clipped
        samples its reader changes as it reads them, which would not come back (see :func:`_read_exactly`);
        a table's infinite cells and cells beyond :data:`~tsae.io.table_absurd.ABSURD` are kept as they are.
    """
    model_path, data_path, out = None if model is None else Path(model), Path(data), Path(output)
    inputs = [data_path] if model_path is None else [data_path, model_path]
    check_output(out, inputs)
    check_output_kind(out, "container")  # -o s.csv or -o m.tsae: read as a table or a model
    check_flag("relative", relative)
    check_latent_step(latent_step)
    coder_id(coder)
    if model_path is None:
        check_without_model(max_error, latent_step)
        loaded = None
    else:
        from tsae.models.modelfile import load_model
        from tsae.pipelines.reconstruct.series import frame_spec

        loaded = load_model(model_path, device=device)
        frame_spec(loaded)  # refuses a model that cannot reconstruct series (the speech denoisers)
        check_max_error(max_error, int(loaded.channels))  # before the data is read
        check_block_windows(block_windows, int(loaded.channels), int(loaded.window))
    source = open_source(data_path, chunk, exact=True) if data_path.suffix.lower() in _BLOCK_SUFFIXES else None
    whole = source is None or source.n <= chunk
    if whole:
        with _read_exactly():
            values, rate, meta = read_series(data_path, exact=True)
        channels, samples = values.shape
        parts: Iterator[np.ndarray] = iter([values])
    else:
        assert source is not None
        channels, samples, rate, meta = source.channels, source.n, source.rate, source.meta
        parts = iter_blocks(source, chunk)
    order = None
    if loaded is not None:
        # a table's columns are matched to the model's by name (a table of other names is refused); a reordered
        # table is coded in the model's order, and comes back in its own
        order = model_permutation(meta.get("columns"), loaded, str(data_path)) if meta.get("kind") == "table" else None
        check_channels(data_path, channels, loaded, samples)
    else:
        with in_file(data_path):
            check_max_error(max_error, channels)
            check_block_windows(block_windows, channels, NO_MODEL_WINDOW)
    with in_file(*inputs, out):  # a relative bound too small for the data's range names it
        if whole:
            bounds = absolute_bounds(values, max_error, relative, str(data_path), meta.get("columns"))
        else:
            with _read_exactly():
                bounds = _stream_bounds(data_path, channels, max_error, relative, chunk, meta.get("columns"))
    reference = None if model_path is None or loaded is None else {
        "model": {**_model_reference(model_path, out.parent if folder is None else Path(folder)),
                  "family": loaded.family}}
    header = {**(reference or {}), "columns": list(meta.get("columns") or []), "sample_rate": rate,
              "subtype": meta.get("subtype") if meta.get("kind") == "audio" else None,
              "input": meta.get("kind") if meta.get("kind") in STORED_KINDS else None,
              "time": None}
    header["time"], time_part = _time_column(meta, data_path, coder)
    # an audio file comes back in its sample format: the decoded samples are coded so that they keep the bound
    # once rounded to its steps (or mu-law levels) too
    coded = bounds if bounds is None or meta.get("kind") != "audio" else audio_file_bounds(bounds, meta.get("subtype"))
    with atomic_path(out, protect=tuple(inputs)) as tmp:
        with open(tmp, "wb") as handle:
            writer = Compressor(handle, loaded, max_error=coded, coder=coder, block_windows=block_windows,
                                latent_step=latent_step, header=header, channel_order=order,
                                channels=channels if loaded is None else None, time_part=time_part)
            with (in_file(*inputs, out), sample_bar(samples, "compress", progress, leave=False) as bar,
                  _read_exactly()):  # inside the output's: a refused file leaves none
                for part in parts:
                    writer.write(part)
                    bar.update(part.shape[1])
                trailer = writer.close()
    size = out.stat().st_size
    return {**trailer, "bounds": None if bounds is None else bounds.tolist(), "bytes": size,
            "bits_per_value": 8 * size / max(channels * samples, 1)}


def _model_entry(reader: Reader) -> dict[str, Any]:
    """The header's ``model`` reference: an object whose ``path``, ``absolute_path`` and ``sha256`` are text (or
    absent); anything else is a corrupt header, told in one line naming the container."""
    reference = reader.header.get("model")
    if reference is None:
        return {}
    if not isinstance(reference, dict) or any(not isinstance(reference.get(key), (str, type(None)))
                                              for key in ("path", "absolute_path", "sha256")):
        raise reader.fail(f"corrupt .tsz header (its model reference {shown(reference)} is not an object of "
                          "path, absolute_path and sha256 texts); give the model file explicitly")
    return reference


def _find_model(reader: Reader, container: Path, given: str | os.PathLike | None) -> Path:
    reference = _model_entry(reader)
    if given is not None:
        candidates = [Path(given)]
        if candidates[0].is_dir():
            raise ValueError(f"{given}: is a folder, not a model file")
    else:
        stored = [reference.get("path"), reference.get("absolute_path")]
        candidates = [container.parent / p if not Path(p).is_absolute() else Path(p) for p in stored if p]
        found = [p for p in candidates if p.is_file()]
        if not found:
            where = reference.get("path") or "(no model reference stored)"
            folder = next((p for p in candidates if p.is_dir()), None)
            if folder is not None:  # "not found" sent the user looking for a file that is there, as a folder
                raise reader.fail(f"model file {where} is a folder ({folder}), not a model file; give the model "
                                  "file explicitly")
            raise reader.fail(f"model file {where} not found; give the model file explicitly")
        candidates = found[:1]
    path = candidates[0]
    check_model_digest(reader, path, reference.get("sha256"))
    return path


def decompress_file(container: str | os.PathLike, output: str | os.PathLike, *,
                    model: str | os.PathLike | None = None, progress: bool = False) -> dict[str, Any]:
    """Decompress the ``.tsz`` file ``container`` into the series file ``output`` (kind by suffix).

    Parameters
    ----------
    container
        The ``.tsz`` file.
    output
        A series file (CSV, ``.npy``, audio), written atomically, block by block as the values are decoded (memory
        is a block's, not the series'); a CSV keeps the column names and the stored time column.
        A ``.tsz`` or ``.tsae`` name is refused.
    model
        The model file (default: the one the container references, which must exist). A container
        written without a model needs none (and refuses one); it decompresses without importing torch.
    progress
        Show a bar on stderr counting the samples decoded.

    Returns
    -------
    dict
        ``samples``, ``channels``, ``model`` (path; None for a container written without one) and the
        stored ``max_error`` per channel.

    Raises
    ------
    ValueError
        One line naming the container: corrupt, truncated or with bytes after its end, model missing
        or with another SHA-256 (or given for a container written without one), or values that fail
        the error-bound check.
    """
    source, out = Path(container), Path(output)
    _check_container_file(source)
    try:
        return _decompress(source, out, model, progress)
    except (AttributeError, TypeError, KeyError) as error:  # a header that passes its checksum but not its schema
        raise ValueError(f"{source}: corrupt .tsz header ({type(error).__name__}: {error})") from None


def stored_kind(container: str | os.PathLike) -> str:
    """What was compressed into the ``.tsz`` file ``container``, one of :data:`STORED_KINDS`: ``"audio"``,
    ``"array"`` (a ``.npy``) or ``"table"``; what ``tsae decompress -o -`` writes. The header's ``input`` tells it;
    a container without one (written before it was kept) is ``"audio"`` when its header keeps a sample format, else
    ``"table"``.

    Raises
    ------
    ValueError
        One line naming the container: missing, or not a ``.tsz`` header this tsae reads.
    """
    source = Path(container)
    _check_container_file(source)
    with open(source, "rb") as handle:
        header = Reader(handle, str(source)).header
    if not isinstance(header, dict):
        raise ValueError(f"{source}: corrupt .tsz header (not an object)")
    kind = header.get("input")
    if isinstance(kind, str) and kind in STORED_KINDS:
        return kind
    return "audio" if isinstance(header.get("subtype"), str) else "table"


def _check_container_file(source: Path) -> None:
    """``ValueError`` unless ``source`` is a regular file: a container is read in two passes (the samples counted,
    then decoded), which a pipe's bytes, read once, cannot give."""
    if source.is_file():
        return
    if source.is_dir():
        raise ValueError(f"{source}: is a folder, not a .tsz container")
    if source.exists():
        raise ValueError(f"{source}: not a file (a pipe or a device): a .tsz container is read from a file, in two "
                         "passes; save it to one first")
    raise ValueError(f"{source}: no such file")


def _decompress(source: Path, out: Path, model: str | os.PathLike | None, progress: bool) -> dict:
    with open(source, "rb") as handle:
        reader = Reader(handle, str(source))
        model_path = None
        if not written_without_model(reader):
            model_path = _find_model(reader, source, model)
        elif model is not None:
            raise reader.fail(f"the container was written without a model: it decompresses without one (not "
                              f"{model})")
        inputs = (source,) if model_path is None else (source, model_path)
        check_output(out, list(inputs))
        check_data_output(out)
        # the network is loaded at the first block with codes: none, when the coder's own predictors did better
        code_model = None if model_path is None else DeferredCodeModel(model_path)
        layout = read_layout(reader, code_model)  # before any output is opened or sized
        protect = inputs
        stored_as = None
        if out.suffix.lower() in _BLOCK_SUFFIXES:
            samples, stored_as = _write_blocks(out, reader, code_model, layout, handle, protect, progress)
        else:
            samples = _write_table(out, reader, code_model, layout, handle, protect, progress)
    return {"samples": samples, "channels": layout.channels, "model": None if model_path is None else str(model_path),
            "max_error": None if layout.bounds is None else layout.bounds.tolist(), "stored_as": stored_as}


def _count_samples(reader: Reader, layout: Layout, handle: BinaryIO) -> int:
    """The samples the blocks of ``reader`` hold, from a pass over the container that checks the blocks (not decoding
    them) and that the trailer counts as many; ``handle`` is left where the blocks start."""
    start = handle.tell()
    n = reader.samples(layout.limits)
    if reader.trailer is None or reader.trailer.get("samples") != n:  # before an output is sized by n
        raise reader.fail(f"corrupt .tsz trailer (it counts {(reader.trailer or {}).get('samples')} samples, "
                          f"the blocks hold {n})")
    handle.seek(start)
    return n


def _write_table(out: Path, reader: Reader, model: DeferredCodeModel | None, layout: Layout, handle: BinaryIO,
                 protect: tuple[str | os.PathLike, ...], progress: bool = False) -> int:
    """Write the blocks of ``reader`` to the table (CSV/TSV) ``out`` as they are decoded, after the time column the
    header stores; returns the samples written.

    How the time column is written is decided over all of it before its first row (one precision for all its dates,
    whole numbers without a decimal point: :func:`~tsae.io.table_write.column_format`), so it is made, a block at a
    time, twice: its length comes from a first pass over the container, as a ``.npy`` output's does.
    """
    entry = reader.header.get("time")
    stored = stored_ticks(entry)
    if (stored is not None) != (reader.time_part is not None):
        raise reader.fail("corrupt .tsz header (its time entry and its time part do not go together)")
    time: _StoredTime | TickTimes | None = _stored_time(entry) if stored is None else None
    n = None
    formats: list[ColumnFormat] = [None] * layout.channels
    if time is not None or stored is not None:
        n = _count_samples(reader, layout, handle)
        if stored is not None:
            ticks = reader.time_ticks(n)
            assert ticks is not None
            time = TickTimes(stored["name"], ticks, stored["dated"], stored["decimals"], stored["utc"])
        assert time is not None
        try:
            time.check(n)
        except ValueError as error:
            raise reader.fail(f"corrupt .tsz header ({error})") from None
        if time.name in layout.columns:
            raise reader.fail(f"corrupt .tsz header (the time column's name {time.name!r} is a channel's)")
        formats.insert(0, column_format((time.rows(a, min(a + CHUNK, n)) for a in range(0, n, CHUNK)),
                                        time=True))
    names = ([time_header(time.name)] if time is not None else []) + channel_names({"columns": layout.columns},
                                                                                   layout.channels)
    with (open_table_writer(out, names, formats, time_utc=time is not None and time.utc, protect=protect) as table,
          sample_bar(n or None, "decompress", progress, leave=False) as bar):
        for values in iter_decompress(reader, model, layout):
            rows = table.rows
            table.write(([] if time is None else [time.rows(rows, rows + values.shape[1])]) + list(values))
            bar.update(values.shape[1])
    return table.rows


def _write_blocks(out: Path, reader: Reader, model: DeferredCodeModel | None, layout: Layout, handle: BinaryIO,
                  protect: tuple[str | os.PathLike, ...], progress: bool = False) -> tuple[int, str | None]:
    """Write the blocks of ``reader`` to the audio or ``.npy`` file ``out`` as they are decoded.

    Returns the samples written and, for audio, the sample format they were stored in.

    A ``.npy`` file's shape comes first, so its samples are counted in a first pass
    over the container that checks the blocks but does not decode them.
    """
    n = _count_samples(reader, layout, handle) if out.suffix.lower() in ARRAY_SUFFIXES else 0
    subtype = reader.header.get("subtype")
    # an audio file gets the source's sample format back (a PCM source is then exact under a bound below half a
    # step), or 64-bit floats where the format has them, which hold any bound
    meta = {"kind": "audio", "subtype": subtype if isinstance(subtype, str) else "DOUBLE"}
    shape = SeriesShape(layout.channels, n, layout.sample_rate, meta)
    samples = 0
    with open_writer(out, shape, protect) as write, sample_bar(n or None, "decompress", progress, leave=False) as bar:
        for values in iter_decompress(reader, model, layout):
            write(values)
            samples += values.shape[1]
            bar.update(values.shape[1])
    audio = out.suffix.lower() in AUDIO_SUFFIXES
    return samples, output_subtype(out, meta["subtype"]) if audio else None


__all__ = ["compress_file", "decompress_file", "file_sha256", "model_digest", "check_model_digest", "SHA256_DIGITS"]
