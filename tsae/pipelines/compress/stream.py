"""Compress a series to a ``.tsz`` stream block by block, and decompress it block by block.

:class:`Compressor` takes chunks of any length, codes each full block of
``block_windows`` model windows as soon as it has one (memory stays bounded by a
block) and, on :meth:`Compressor.close`, the remainder and the trailer (sample and
block counts), returning them with the maximum and RMS error reached per channel.
:func:`iter_decompress` reads the header and yields the blocks' values one at a time.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from tsae.errors import shown
from tsae.models.device import native_threads, torch_threads
from tsae.models.modelfile import as_loaded
from tsae.pipelines.compress.ahead import Ahead, usable_cores
from tsae.pipelines.compress.blocks import (
    Prediction,
    block_codes,
    code_block,
    decode_block,
    no_prediction,
    predict_block,
)
from tsae.pipelines.compress.codes import NO_CODES, CodeModel, DeferredCodeModel, NoModel
from tsae.pipelines.compress.container import (
    NO_MODEL_VERSION,
    TIME_VERSION,
    VERSION,
    Block,
    BlockLimits,
    Reader,
    write_header,
    write_payload,
    write_trailer,
)
from tsae.pipelines.compress.entropy import DEFAULT_CODER, Packed, coder_id
from tsae.pipelines.compress.options import (
    MAX_BOUND,
    block_values_limit,
    check_block_windows,
    check_header,
    check_latent_step,
    check_max_error,
    check_without_model,
)
from tsae.pipelines.compress.quantise import check_magnitude, grid_steps, whole_channels

FORMAT = "tsz"
#: latent steps (fractions of the latent spread) tried on the first block when there is an error bound
AUTO_STEPS = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
#: blocks whose prediction a worker thread decodes ahead of the block being coded (where there is a second core)
AHEAD_BLOCKS = 1
#: latent step without an error bound (the codes alone are the output)
DEFAULT_STEP = 0.02
#: the highest sample rate a header may give (Hz; a larger one is a corrupt header)
MAX_SAMPLE_RATE = 1e12


class Compressor:
    """Write a series of ``model``'s channel count to the binary stream ``handle`` as a ``.tsz`` container.

    Parameters
    ----------
    handle
        Binary stream to write to (a file opened ``"wb"``, or ``io.BytesIO``).
    loaded
        A :class:`~tsae.models.modelfile.LoadedModel`, a model file path or what :func:`tsae.fit` returned;
        ``None`` (with ``channels``): no model, the residual coder's own predictors alone (a format version
        :data:`~tsae.pipelines.compress.container.NO_MODEL_VERSION` container, which decompresses without a model
        file and without torch; blocks of ``block_windows`` x
        :data:`~tsae.pipelines.compress.codes.NO_MODEL_WINDOW` samples).
    max_error
        Absolute error bound, one value or one per channel, each finite, > 0 and at most
        :data:`~tsae.pipelines.compress.options.MAX_BOUND` (``None``: codes only, lossy; required without a
        model).
    coder
        ``"adaptive"`` (default: :mod:`~tsae.pipelines.compress.adaptive`), ``"lzma"`` (byte planes and raw LZMA2,
        the default before it), ``"zlib"``, ``"zstd"`` (needs ``zstandard``) or ``"raw"``.
    block_windows
        Model windows per block (an int >= 1), lowered so that a block holds at most
        :data:`~tsae.pipelines.compress.options.MAX_BLOCK_VALUES` values (at least one window).
    latent_step
        Latent quantisation step as a fraction of each block's latent spread; ``None``:
        the best of :data:`AUTO_STEPS` on the first block with a bound, else :data:`DEFAULT_STEP`.
    header
        More header entries (the model reference, column names, sample rate).
    channel_order
        The indices of the input's channels in the order the model takes them (a table's columns
        in the order of the columns the model was trained on); ``None``: as they are. Everything
        else (``max_error``, the values written, the errors returned, a decompressed series) stays
        in the input's order; only the coded blocks are in the model's.
    channels
        The series' channel count, without a model (with one: the model's).
    time_part
        A table's unevenly spaced time column, coded (:func:`~.container.encode_time_part`; the header's ``time``
        entry describes it): the container is then format version
        :data:`~tsae.pipelines.compress.container.TIME_VERSION`.
    """

    def __init__(self, handle: IO[bytes], loaded: Any, *, max_error: Any = None, coder: str = DEFAULT_CODER,
                 block_windows: int = 256, latent_step: float | None = None,
                 header: dict[str, Any] | None = None, channel_order: Sequence[int] | None = None,
                 channels: int | None = None, time_part: bytes | None = None) -> None:
        latent_step = check_latent_step(latent_step)
        extra = check_header(header)
        self.model = _predictor(loaded, channels)
        channels = self.model.channels
        without = isinstance(self.model, NoModel)
        if without:
            check_without_model(max_error, latent_step)
        self._order = check_channel_order(channel_order, channels)
        columns = extra.get("columns")
        #: the input's column names (a table's, from the header), which messages name its channels by
        self._names = [str(name) for name in columns] if isinstance(columns, list) and len(columns) == channels \
            else None
        given_error = check_max_error(max_error, channels)
        #: the bound of each channel in the model's order, as the values are coded
        self.max_error = None if given_error is None else _coded(given_error, self._order)
        self.steps = None if self.max_error is None else grid_steps(self.max_error)
        self.coder = coder_id(coder)
        self.block_samples = check_block_windows(block_windows, channels, self.model.window) * self.model.window
        self.latent_step = latent_step if latent_step is not None or self.max_error is not None else DEFAULT_STEP
        if without:
            self.latent_step = 0.0  # no codes: no step to choose on the first block
        self.handle = handle
        #: the next block's prediction is decoded on a worker thread while this block's residual is coded
        self._ahead: Ahead[Prediction] = Ahead(AHEAD_BLOCKS if usable_cores() > 1 and not without else 0)
        #: whether the worker decodes the next block's prediction at once: while the blocks coded last needed theirs
        #: (else a block that needs it decodes it when it does; the prediction is the same either way)
        self._decode_ahead = True
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        self._blocks = 0
        self._samples = 0
        self._peak = np.zeros(channels)
        self._squares = np.zeros(channels)
        self._counts = np.zeros(channels)
        self.code_shape = list(self.model.code_shape)
        self._closed = False
        write_header(handle, {
            **extra, "format": FORMAT, "channels": channels, "window": self.model.window,
            "codes": self.model.kind, "code_shape": self.code_shape, "block_samples": self.block_samples,
            "max_error": None if given_error is None else given_error.tolist(),
            **({} if self._order is None else {"channel_order": list(self._order)}),
        }, TIME_VERSION if time_part is not None else NO_MODEL_VERSION if without else VERSION, time_part)

    def write(self, values: np.ndarray) -> None:
        """Add samples ``(C, m)`` (float; NaN and +-inf are kept); codes every block that is full."""
        if self._closed:
            raise ValueError("the compressor is closed (its trailer is written)")
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != self.model.channels:
            raise ValueError(f"expected ({self.model.channels}, n) values, got shape {x.shape}")
        if self.max_error is not None:  # in the input's order, which the columns named in the header are in
            check_magnitude(x, _given(self.max_error, self._order), self._names)
        x = _coded(x, self._order)
        self._pending.append(x)
        self._pending_samples += x.shape[1]
        while self._pending_samples >= self.block_samples:
            self._flush(self.block_samples)

    def close(self) -> dict[str, Any]:
        """Code the remaining samples and write the trailer.

        Returns the trailer (``samples``, ``blocks``) with ``max_abs_error`` and ``rms_error``
        per channel (finite samples), which the file does not store.
        """
        if self._closed:
            raise ValueError("the compressor is closed (its trailer is written)")
        if self._pending_samples:
            self._flush(self._pending_samples)
        self._drain()
        self._closed = True
        rms = np.sqrt(self._squares / np.maximum(self._counts, 1))
        trailer = {"samples": self._samples, "blocks": self._blocks}
        write_trailer(self.handle, trailer)
        return {**trailer, "max_abs_error": _given(self._peak, self._order).tolist(),
                "rms_error": _given(rms, self._order).tolist()}

    def _flush(self, size: int) -> None:
        whole = np.concatenate(self._pending, axis=1) if len(self._pending) > 1 else self._pending[0]
        block_values, rest = whole[:, :size], whole[:, size:]
        self._pending = [rest] if rest.shape[1] else []
        self._pending_samples = rest.shape[1]
        flags = None if self.max_error is None else whole_channels(block_values, self.max_error)
        if isinstance(self.model, NoModel):  # no network, no worker thread: the block is coded here
            with native_threads(1):
                self._code(block_values, flags, no_prediction(block_values))
            return
        # on one thread, as the decoder: the default (every core, which numba's first parallel kernel restores)
        # runs this small network's encoder 10-15 times slower on a shared machine, in threads fighting for cores
        with torch_threads(1, native=True):
            if self.latent_step is None:
                self._first_block(block_values, flags)
                return
            step = self.latent_step
            call = functools.partial(predict_block, self.model, block_values, step,
                                     decode=self._decode_ahead and self._ahead.depth > 0)
            for (x, rounded), prediction in self._ahead.put((block_values, flags), call):
                self._code(x, rounded, prediction)

    def _drain(self) -> None:
        if not self._ahead.depth:  # nothing ahead (no worker, or no model): no torch to hold to one thread
            self._ahead.close()
            return
        with torch_threads(1, native=True):
            for (x, rounded), prediction in self._ahead.drain():
                self._code(x, rounded, prediction)
        self._ahead.close()

    def _code(self, x: np.ndarray, rounded: np.ndarray | None, prediction: Prediction) -> None:
        self._write(x, *code_block(prediction, self.steps, self.coder, rounded))
        self._decode_ahead = prediction.needed

    def _write(self, x: np.ndarray, block: Block, y: np.ndarray, payload: bytes) -> None:
        write_payload(self.handle, payload)
        self._account(x, y)
        self._blocks += 1
        self._samples += x.shape[1]

    def _first_block(self, x: np.ndarray, whole: np.ndarray | None) -> None:
        """Code the first block with a bound, keeping the latent step that gives the smallest block."""
        assert isinstance(self.model, CodeModel)  # a compressor without a model has no step to choose
        codes = block_codes(self.model, x)
        tried = AUTO_STEPS[:1] if self.model.vq else AUTO_STEPS  # indices have no step to tune
        best: tuple[float, Block, np.ndarray, bytes] | None = None
        predict = functools.partial(predict_block, self.model, x, codes=codes, decode=self._ahead.depth > 0)
        needed = False
        pack = Packed()  # the same values under each step: the streams without the model are coded once
        for relative, prediction in self._ahead.map(predict, tried):
            block, y, payload = code_block(prediction, self.steps, self.coder, whole, pack)
            needed |= prediction.needed
            if best is None or len(payload) < len(best[3]):
                best = (relative, block, y, payload)
        assert best is not None
        self.latent_step = best[0]
        self._decode_ahead = needed
        self._write(x, *best[1:])

    def _account(self, x: np.ndarray, y: np.ndarray) -> None:
        finite = np.isfinite(x)
        with np.errstate(over="ignore", invalid="ignore"):  # no bound: errors of 1e300 square to inf
            error = np.where(finite, np.abs(np.where(finite, x, 0.0) - np.where(finite, y, 0.0)), 0.0)
            # NaN-safe: a NaN value where the input is finite exceeds every bound
            if self.max_error is not None and not (error <= self.max_error[:, None]).all():
                raise RuntimeError("internal error: a coded sample exceeds the error bound")
            self._peak = np.maximum(self._peak, error.max(axis=1, initial=0.0))
            self._squares += (error**2).sum(axis=1)
        self._counts += finite.sum(axis=1)


def _predictor(loaded: Any, channels: int | None) -> CodeModel | NoModel:
    """The :class:`Compressor`'s predictor: the model ``loaded``, or ``NoModel(channels)`` for ``None``."""
    if loaded is None or isinstance(loaded, NoModel):
        count = loaded.channels if isinstance(loaded, NoModel) else channels
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count <= 0:
            raise ValueError(f"compressing without a model needs the channel count (a positive int), got {count!r}")
        return loaded if isinstance(loaded, NoModel) else NoModel(int(count))
    if channels is not None:
        raise ValueError("channels is the model's: give it only without a model")
    return loaded if isinstance(loaded, CodeModel) else CodeModel(as_loaded(loaded))


def check_channel_order(order: Any, channels: int) -> tuple[int, ...] | None:
    """``order`` (the input's channel indices in the order the model takes them) as a tuple, ``None`` when it keeps
    every channel where it is; anything but an ordering of ``range(channels)`` is a ``ValueError``."""
    if order is None:
        return None
    items = list(order) if isinstance(order, (list, tuple, np.ndarray)) else None
    if items is None or sorted(i if isinstance(i, (int, np.integer)) and not isinstance(i, bool) else -1
                               for i in items) != list(range(channels)):
        raise ValueError(f"channel_order must hold each of 0 ... {channels - 1} once, got {str(order)[:80]}")
    ordered = tuple(int(i) for i in items)
    return None if ordered == tuple(range(channels)) else ordered


def _coded(values: np.ndarray, order: tuple[int, ...] | None) -> np.ndarray:
    """Per-channel ``values`` (first axis) put in the model's order."""
    return values if order is None else values[list(order)]


def _given(values: np.ndarray, order: tuple[int, ...] | None) -> np.ndarray:
    """Per-channel ``values`` in the model's order put back in the input's (inverse of :func:`_coded`)."""
    return values if order is None else values[np.argsort(order)]


@dataclass(frozen=True)
class Layout:
    """What a valid ``.tsz`` header says, checked against the model that decodes it."""

    channels: int
    window: int
    code_shape: tuple[int, ...]
    block_samples: int
    bounds: np.ndarray | None
    sample_rate: float | None
    columns: list[str]
    #: the input's channel indices in the order they are coded (:class:`Compressor`'s ``channel_order``), or None
    order: tuple[int, ...] | None = None

    @property
    def limits(self) -> BlockLimits:
        """The most samples a block holds and the most integers one of its sections holds."""
        windows = -(-self.block_samples // self.window)
        return BlockLimits(self.block_samples,
                           max(self.channels * self.block_samples, windows * math.prod(self.code_shape)))


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(value)
    return value


def read_layout(reader: Reader, model: CodeModel | DeferredCodeModel | NoModel | None) -> Layout:
    """Check the header of the open container ``reader`` against ``model``; ``ValueError`` naming the container.

    A :class:`DeferredCodeModel` is checked for its channels and window; its codes (kind and shape) when
    :func:`iter_decompress` loads it, at the first block with codes. ``None`` (or a :class:`NoModel`): the
    container must have been written without a model (its header's ``codes`` is ``"none"``), as a container
    written without one must be read without.
    """
    header = reader.header
    if header.get("format") != FORMAT:
        raise reader.fail("not a tsae compressed series (header format is not 'tsz')")
    try:
        channels, window = _positive_int(header["channels"]), _positive_int(header["window"])
        block_samples = _positive_int(header["block_samples"])
        code_shape = tuple(_positive_int(n) for n in header["code_shape"])
        bounds = None if header.get("max_error") is None else np.asarray(header["max_error"], dtype=np.float64)
    except (KeyError, TypeError, ValueError, OverflowError):
        raise reader.fail("corrupt .tsz header (missing or malformed entries)") from None
    check_model_needed(reader, model is None or isinstance(model, NoModel))
    if model is None:
        model = NoModel(channels, window)
    if (model.channels, model.window) != (channels, window):
        raise reader.fail(f"the model takes {model.channels} channel(s) x {model.window} samples, the container was "
                          f"written for {channels} x {window}")
    if isinstance(model, DeferredCodeModel) and math.prod(code_shape) > channels * window:
        model = model.model  # codes that outnumber the samples size the blocks' limits: checked before any is read
    if isinstance(model, CodeModel):
        check_codes(reader, model, header.get("codes"), code_shape)
    if block_samples % window:
        raise reader.fail(f"corrupt .tsz header (blocks of {block_samples} samples, not whole windows of {window})")
    if channels * block_samples > block_values_limit(channels, window):
        raise reader.fail(f"corrupt .tsz header (blocks of {block_samples} samples x {channels} channel(s); a block "
                          f"holds at most {block_values_limit(channels, window)} values)")
    if bounds is not None and (bounds.shape != (channels,) or not (
            np.isfinite(bounds).all() and (bounds > 0).all() and (bounds <= MAX_BOUND).all())):
        raise reader.fail("corrupt .tsz header (malformed error bound)")
    rate = header.get("sample_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                             or not 0 < rate <= MAX_SAMPLE_RATE):
        raise reader.fail(f"corrupt .tsz header (sample rate {rate!r} is not a number of Hz up to {MAX_SAMPLE_RATE:g})")
    columns = header.get("columns") or []
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise reader.fail("corrupt .tsz header (column names are not a list of text)")
    repeated = next((c for i, c in enumerate(columns) if c in columns[:i]), None)
    if repeated is not None:  # a table written from it would lose a channel
        raise reader.fail(f"corrupt .tsz header (the column name {repeated!r} is given twice)")
    try:
        order = check_channel_order(header.get("channel_order"), channels)
    except ValueError:
        raise reader.fail(f"corrupt .tsz header (the channel order is not an ordering of its {channels} "
                          "channel(s))") from None
    return Layout(channels, window, code_shape, block_samples, bounds, None if rate is None else float(rate),
                  columns if len(columns) == channels else [], order)


def written_without_model(reader: Reader) -> bool:
    """Whether the container ``reader`` was written without a model: its header's ``codes`` is ``"none"``, which
    format version 4 has, and only it (anything else is a corrupt header: ``ValueError`` naming the container), or
    version 5 (a stored time column, with a model or without)."""
    without = reader.header.get("codes") == NO_CODES
    if reader.version == TIME_VERSION:
        return without
    if without != (reader.version == NO_MODEL_VERSION):
        codes = shown(reader.header.get("codes"))
        raise reader.fail(f"corrupt .tsz header (format version {reader.version} with {codes} codes: version "
                          f"{NO_MODEL_VERSION}, and only it, is written without a model)")
    return without


def check_model_needed(reader: Reader, without: bool) -> None:
    """Refuse to read the container ``reader`` with a model when it was written without one, or ``without`` one
    (``without``) when it was written with one: ``ValueError`` naming the container."""
    written_without = written_without_model(reader)
    if written_without and not without:
        raise reader.fail("the container was written without a model: it decompresses without one (no model file)")
    if without and not written_without:
        raise reader.fail("the container was written with a model: give its model file")


def check_codes(reader: Reader, model: CodeModel, kind: Any, code_shape: tuple[int, ...]) -> None:
    """Refuse codes of ``kind`` and ``code_shape`` (what the header of ``reader`` says) that ``model`` does not give:
    ``ValueError`` naming the container."""
    if model.kind != kind:
        raise reader.fail(f"the container holds {kind} codes but the model gives {model.kind} codes")
    if code_shape != model.code_shape:
        raise reader.fail(f"corrupt .tsz header (codes of shape {code_shape}; the model gives {model.code_shape})")


def iter_decompress(reader: Reader, loaded: Any, layout: Layout | None = None) -> Iterator[np.ndarray]:
    """Yield the values ``(C, m)`` of each block of the open container ``reader``, decoded with ``loaded``
    (a :class:`~tsae.models.modelfile.LoadedModel`, a model file path, what :func:`tsae.fit` returned, a
    :class:`CodeModel`, or a :class:`DeferredCodeModel`, loaded at the first block with codes; ``None`` or a
    :class:`NoModel` for a container written without a model).

    ``layout`` is :func:`read_layout`'s (read here when not given). Raises ``ValueError``
    naming the container when the model does not fit it, a block is corrupt or larger
    than the header allows, or a block's values fail the error-bound check.
    """
    if loaded is None or isinstance(loaded, NoModel):
        check_model_needed(reader, True)
        layout = read_layout(reader, None) if layout is None else layout
        model: CodeModel | DeferredCodeModel | NoModel = NoModel(layout.channels, layout.window)
    else:
        model = loaded if isinstance(loaded, (CodeModel, DeferredCodeModel)) else CodeModel(as_loaded(loaded))
        layout = read_layout(reader, model) if layout is None else layout
    steps = None if layout.bounds is None else grid_steps(_coded(layout.bounds, layout.order))
    samples = 0
    for index, block in enumerate(reader.blocks(layout.limits)):
        if isinstance(model, DeferredCodeModel) and "codes" in block.arrays:
            model = model.model
            check_codes(reader, model, reader.header.get("codes"), layout.code_shape)
        try:
            values = decode_block(model, block, steps, layout.code_shape)
        except ValueError as error:
            raise reader.fail(f"block {index}: {error}") from None
        samples += values.shape[1]
        yield _given(values, layout.order)
    if reader.trailer is None or reader.trailer.get("samples") != samples:
        raise reader.fail(f"corrupt .tsz trailer (it counts {(reader.trailer or {}).get('samples')} samples, "
                          f"the blocks hold {samples})")


__all__ = ["Compressor", "Layout", "check_channel_order", "iter_decompress", "read_layout", "check_codes",
           "check_model_needed", "written_without_model", "AUTO_STEPS",
           "DEFAULT_STEP", "FORMAT"]
