"""Lossless coding of integer arrays: zig-zag, then the adaptive coder, or byte planes and a general-purpose coder.

Quantised codes and residuals are small signed integers centred on zero. They are
mapped to unsigned integers by zig-zag (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...) and coded
by the ``adaptive`` coder (:mod:`.adaptive`: a context-adaptive binary range coder
for such integers, the default), or stored in the narrowest of ``uint8/16/32/64``
that holds them, split into byte planes (all low bytes, then all next bytes ...: the
high planes are mostly zeros and compress to almost nothing) and handed to a stdlib
coder (raw LZMA2, the default of containers written before the adaptive coder,
``zlib``) or to ``zstd`` when the optional ``zstandard`` package is installed.
"""
from __future__ import annotations

import lzma
import math
import zlib
from collections.abc import Callable
from types import ModuleType

import numpy as np

from tsae.extras import installed, missing_message
from tsae.io.reading import read_up_to
from tsae.pipelines.compress.varints import read_varint, varint

#: raw LZMA2 (no xz framing: sections are small and the container checksums them), a 4 MiB dictionary
_LZMA = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 1 << 22}]
#: the encoder's: no literal context and no position bits, which fit byte planes (LZMA2 stores lc/lp/pb in its
#: stream, so every decoder reads it with ``_LZMA``); about 1 % smaller than the defaults (lc=3, pb=2)
_LZMA_ENCODE = [{**_LZMA[0], "lc": 0, "lp": 0, "pb": 0}]
#: unsigned widths in bytes, indexed by the stored width code
_WIDTHS = (1, 2, 4, 8)


# A decoder is ``decode(data, limit)``: at most ``limit`` bytes of output, so a small section that
# inflates to gigabytes (a hostile or corrupt file) costs no more memory than the size it should have.
Encoder = Callable[[bytes], bytes]
Decoder = Callable[[bytes, int], bytes]


def _lzma_encode(data: bytes) -> bytes:
    """``data`` in raw LZMA2 with :data:`_LZMA_ENCODE`'s settings, its dictionary cut to the smallest power of two
    (4 KiB at least) that holds ``data``: raw LZMA2 stores no dictionary size, a match reaches back no further than
    the data's start, and setting up the match finder of a 4 MiB dictionary (some 40 MB) cost most of the time of
    coding a block's row (a few KiB). The bytes were the same on the 3201 distinct rows of the decision data."""
    size = 1 << max(12, (len(data) - 1).bit_length())
    return lzma.compress(data, format=lzma.FORMAT_RAW, filters=[{**_LZMA_ENCODE[0],
                                                                 "dict_size": min(size, _LZMA[0]["dict_size"])}])


def _raw_decode(data: bytes, limit: int) -> bytes:
    return bytes(data[:limit])


def _zlib_decode(data: bytes, limit: int) -> bytes:
    return zlib.decompressobj().decompress(data, limit)


def _lzma_decode(data: bytes, limit: int) -> bytes:
    return lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_LZMA).decompress(data, max_length=limit)


def _zstd() -> tuple[Encoder, Decoder]:
    try:
        import zstandard
    except ImportError:
        raise ValueError(missing_message("compress", "the zstd coder")) from None

    def decode(data: bytes, limit: int) -> bytes:
        # a stream reader never trusts the content size a frame header claims
        with zstandard.ZstdDecompressor().stream_reader(data) as reader:
            return read_up_to(reader, limit)

    return zstandard.ZstdCompressor(level=19).compress, decode


def _coders() -> dict[str, tuple[int, Callable[[], tuple[Encoder, Decoder]]]]:
    return {
        "raw": (0, lambda: (bytes, _raw_decode)),
        "zlib": (1, lambda: (lambda data: zlib.compress(data, 9), _zlib_decode)),
        "lzma": (2, lambda: (_lzma_encode, _lzma_decode)),
        "zstd": (3, _zstd),
        "adaptive": (4, lambda: (_integers_only, _integers_only)),
    }


def _integers_only(*_: object) -> bytes:
    raise ValueError("the adaptive coder codes integer arrays, not bytes")


#: names of the general-purpose coders, in the order of their stored ids
CODERS = tuple(_coders())
#: ids of the coders every Python has (raw, zlib, LZMA2): what the container's own parts may use
STDLIB_CODERS = (0, 1, 2)
#: the id of the adaptive coder (:mod:`.adaptive`), which codes integer arrays only
ADAPTIVE = CODERS.index("adaptive")
#: the coder of new containers
DEFAULT_CODER = "adaptive"


def coder_id(name: str) -> int:
    """The stored id of coder ``name``; ``ValueError`` for an unknown one (or zstd without zstandard)."""
    coders = _coders()
    if name not in coders:
        raise ValueError(f"unknown coder {name!r} (known: {', '.join(CODERS)})")
    ident, make = coders[name]
    make()  # fail now, not in the middle of a stream, when the package is missing
    return ident


def _coder(ident: int) -> tuple[Encoder, Decoder]:
    if not 0 <= ident < len(CODERS):
        raise ValueError(f"unknown coder id {ident}")
    return _coders()[CODERS[ident]][1]()


def zigzag(values: np.ndarray) -> np.ndarray:
    """Signed int64 -> uint64: 0, -1, 1, -2, 2 ... -> 0, 1, 2, 3, 4 ..."""
    v = np.asarray(values, dtype=np.int64)
    return ((v << 1) ^ (v >> 63)).view(np.uint64)


def unzigzag(values: np.ndarray) -> np.ndarray:
    """Inverse of :func:`zigzag`."""
    u = np.asarray(values, dtype=np.uint64)
    return ((u >> np.uint64(1)).view(np.int64)) ^ -((u & np.uint64(1)).view(np.int64))


def encode_bytes(data: bytes, coder: int) -> bytes:
    """``data`` coded with the coder of id ``coder``."""
    return _coder(coder)[0](data)


def decode_bytes(data: bytes, coder: int, limit: int) -> bytes:
    """Inverse of :func:`encode_bytes`, at most ``limit`` bytes of it; ``ValueError`` on corrupt data, a
    ``RuntimeError`` saying what to install for data coded with zstd where zstandard is not installed (the data is
    not at fault)."""
    if 0 <= coder < len(CODERS) and CODERS[coder] == "zstd" and not installed("compress"):
        raise RuntimeError(missing_message("compress", "data coded with zstd"))
    try:
        return _coder(coder)[1](data, limit)
    except (zlib.error, lzma.LZMAError, EOFError) as error:
        raise ValueError(f"corrupt coded data ({error})") from None
    except Exception as error:  # noqa: BLE001 - zstandard raises its own error type
        raise ValueError(f"corrupt coded data ({type(error).__name__})") from None


def smallest_coding(data: bytes, coders: tuple[int, ...] = STDLIB_CODERS) -> tuple[int, bytes]:
    """``(coder id, coded bytes)`` with the fewest bytes among ``coders`` (raw included: never larger than ``data``)."""
    return min(((coder, encode_bytes(data, coder)) for coder in coders), key=lambda pair: len(pair[1]))


def _width(u: np.ndarray) -> int:
    """The code of the narrowest width that holds the zig-zagged values ``u``."""
    top = int(u.max()) if u.size else 0
    return next(i for i, w in enumerate(_WIDTHS) if top < 1 << (8 * w))


def _byte_planes(values: np.ndarray) -> tuple[int, bytes]:
    """``(width code, bytes)``: the zig-zagged values in the narrowest width, as byte planes (low byte first)."""
    return _planes(zigzag(np.ravel(values)))


def _planes(u: np.ndarray) -> tuple[int, bytes]:
    """:func:`_byte_planes` of values zig-zagged already (flat ``u``)."""
    width = _width(u)
    narrow = u.astype(f"<u{_WIDTHS[width]}")
    planes = narrow.view(np.uint8).reshape(-1, _WIDTHS[width]).T
    return width, np.ascontiguousarray(planes).tobytes()


#: the adaptive coder's form byte of a row stored as byte planes coded with LZMA2 (a repetitive row: a periodic
#: series, whose repeats a string coder finds and the adaptive coder's contexts do not); the width byte follows
_ROW_LZMA = 2
#: ... tried only when zlib at level 1 (fast; typically 5-15 % larger than LZMA2) comes within this factor of the
#: adaptive coder's size: on the rows where it does not, LZMA2 never won ...
_TRY_LZMA = 1.0
#: ... or within this factor on a row the adaptive coder codes to under :data:`_SPARSE_BITS` bits a value: there
#: zlib's Huffman literals (a bit at least) and short matches make it 1.5-2x LZMA2's size (NAB art_daily_no_noise at
#: 1e-3: zlib -1 164 bytes, adaptive 123, LZMA2 79; art_increase_spike_density at 1e-2: 84, 74, 50), so the general
#: factor missed periodic noise-free rows; 1.4 cost speech (whose silences are such rows, LZMA2 never smaller) no
#: measurable time, 2.0 a third more
_TRY_LZMA_SPARSE = 1.4
_SPARSE_BITS = 1.0


def _adaptive() -> ModuleType:
    """:mod:`.adaptive`, imported on first use: it imports numba (0.2-0.4 s), which containers of the byte-plane
    coders never need."""
    from tsae.pipelines.compress import adaptive

    return adaptive


def _lzma_row(u: np.ndarray, coded: int) -> bytes | None:
    """The byte-plane LZMA2 form of the row ``u`` when it is smaller than the adaptive coder's ``coded`` bytes."""
    if u.size < 64:
        return None
    width, planes = _planes(u)
    sparse = 8 * coded < _SPARSE_BITS * u.size
    if len(zlib.compress(planes, 1)) > (_TRY_LZMA_SPARSE if sparse else _TRY_LZMA) * coded:
        return None
    lzma_form = bytes([_ROW_LZMA, width]) + _coder(CODERS.index("lzma"))[0](planes)
    return lzma_form if len(lzma_form) < coded else None


def _pack_row(u: np.ndarray) -> bytes:
    """One row of zig-zagged values in the smaller of the adaptive coder's forms and byte planes with LZMA2."""
    coded = _adaptive().encode(u)
    lzma_form = _lzma_row(u, len(coded))
    return coded if lzma_form is None else lzma_form


def _unpack_row(data: bytes, count: int) -> np.ndarray:
    if not data or data[0] != _ROW_LZMA:
        return _adaptive().decode(data, count)
    if len(data) < 2:
        raise ValueError("corrupt adaptively coded data (no width)")
    return zigzag(unpack_ints(data[2:], data[1], count, CODERS.index("lzma")))


#: rows of at least this many values are coded each on its own (a block's channels); shorter ones (a block's codes:
#: one value of each of up to 256 windows) as one array, as their own statistics would cost more to learn than they save
ROW_MIN = 512


def _by_rows(shape: tuple[int, ...]) -> bool:
    return len(shape) >= 2 and math.prod(shape[1:]) >= ROW_MIN


def _pack_adaptive(u: np.ndarray, known: dict[bytes, bytes] | None = None,
                   row: Callable[[np.ndarray], bytes] | None = None) -> bytes:
    """The adaptive coder's bytes of zig-zagged values ``u`` (any shape). An array whose rows hold
    :data:`ROW_MIN` values or more is coded row by row (its first index: a block's channel), each row on its own,
    since rows differ (a channel of few levels beside a noisy one): the rows' coded lengths (varints, all but the
    last's), then the rows' bytes. ``known``: rows coded before, by their bytes (filled in); ``row``: what codes
    a row instead of :func:`_pack_row` and ``known``."""
    def known_row(values: np.ndarray) -> bytes:
        if known is None:
            return _pack_row(values)
        key = values.tobytes()
        if key not in known:
            known[key] = _pack_row(values)
        return known[key]

    row = known_row if row is None else row
    if not _by_rows(u.shape):
        return row(np.ravel(u))
    rows = [row(r) for r in u.reshape(len(u), -1)]
    return b"".join(varint(len(r)) for r in rows[:-1]) + b"".join(rows)


def _unpack_adaptive(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`_pack_adaptive`: the values of an array of ``shape``, flat."""
    count = math.prod(shape)
    if not _by_rows(shape) or not count:
        return _unpack_row(data, count)
    rows = shape[0]
    offset, sizes = 0, []
    for _ in range(rows - 1):
        size, offset = read_varint(data, offset)
        sizes.append(size)
    sizes.append(len(data) - offset - sum(sizes))
    if sizes[-1] < 0:
        raise ValueError("corrupt adaptively coded data (its rows run past its end)")
    out = np.empty(count, np.uint64)
    length = count // rows
    for r, size in enumerate(sizes):
        out[r * length:(r + 1) * length] = _unpack_row(data[offset:offset + size], length)
        offset += size
    return out


def pack_ints(values: np.ndarray, coder: int) -> tuple[int, bytes]:
    """Code a signed integer array losslessly; returns ``(width code, bytes)`` for :func:`unpack_ints`.

    The adaptive coder stores no width: it is the width the values need (:func:`unpack_ints` checks them against it).
    """
    if coder == ADAPTIVE:
        u = zigzag(values)
        return _width(u), _pack_adaptive(u)
    width, planes = _byte_planes(values)
    return width, _coder(coder)[0](planes)


class Packed:
    """:func:`pack_ints` that codes each distinct array once: an array coded before (the same byte planes and
    coder) gets the bytes it got then, from memory. A block's residual stream is costed (:meth:`measure`), then
    written; hold one per block (it keeps every array it coded or measured)."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, int, bytes], bytes] = {}
        self._rows: dict[bytes, bytes] = {}
        self._sizes: dict[bytes, int] = {}

    def __call__(self, values: np.ndarray, coder: int) -> tuple[int, bytes]:
        if coder == ADAPTIVE:
            u = zigzag(values)
            return _width(u), _pack_adaptive(u, row=self._coded_row)
        width, planes = _byte_planes(values)
        key = (coder, width, planes)
        if key not in self._known:
            self._known[key] = _coder(coder)[0](planes)
        return width, self._known[key]

    def measure(self, values: np.ndarray, coder: int) -> tuple[int, bytes]:
        """``(width code, bytes as long as the coded ones)``: what :meth:`__call__` gives, but for the adaptive
        coder a row not coded before is only measured (:func:`.adaptive.measure`, exact) and stands as that
        many zero bytes, so that a stream costed to be weighed against others is range-coded only if it is
        written. Every length it gives is that of the bytes :meth:`__call__` gives."""
        if coder != ADAPTIVE:
            return self(values, coder)
        u = zigzag(values)
        return _width(u), _pack_adaptive(u, row=self._measured_row)

    def _coded_row(self, u: np.ndarray) -> bytes:
        """:func:`_pack_row` of ``u``, coded once; a row measured before is coded in the form measuring found the
        smaller (its values form: neither the alphabet nor LZMA2 is tried again)."""
        key = u.tobytes()
        if key not in self._rows:
            self._rows[key] = _adaptive().encode_values(u) if key in self._sizes else _pack_row(u)
        return self._rows[key]

    def _measured_row(self, u: np.ndarray) -> bytes:
        key = u.tobytes()
        if key in self._rows:
            return self._rows[key]
        if key not in self._sizes:
            size, coded = _adaptive().measure(u)
            lzma_form = _lzma_row(u, size)
            known = lzma_form if lzma_form is not None else coded
            if known is not None:  # coded already: kept for writing
                self._rows[key] = known
                return known
            self._sizes[key] = size
        return bytes(self._sizes[key])


def rough_size(values: np.ndarray) -> int:
    """About the bytes :func:`pack_ints` codes ``values`` to, 10-20 times faster than LZMA2 finds out (zlib at
    level 1: typically 5-15 % larger than LZMA2, in step with it across streams), to rank ways of coding them."""
    return len(zlib.compress(_byte_planes(values)[1], 1))


#: what :func:`adaptive_rough_size` adds to each value's magnitude bits (more than the coder spends on a value's sign
#: and bit length, so that the estimate's ratios err toward 1 and a close stream is not pruned)
_ROUGH_BITS = 2.5
#: the factor within which :func:`adaptive_rough_size` keeps streams to cost exactly
ADAPTIVE_PRUNE = 1.10


def adaptive_rough_size(values: np.ndarray) -> int:
    """About the bytes the adaptive coder codes ``values`` to, from their magnitudes alone (numpy, no coding), to rank
    ways of coding them: ``sum(log2(1 + |v|) + 2.5) / 8``."""
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    return int((np.log2(magnitude + 1.0).sum() + _ROUGH_BITS * magnitude.size) / 8)


def unpack_ints(data: bytes, width: int, count: int, coder: int, shape: tuple[int, ...] | None = None
                ) -> np.ndarray:
    """Inverse of :func:`pack_ints`: ``count`` signed int64 values, flat (``shape``: the array's, which the adaptive
    coder needs when it has two or more dimensions; ``None``: ``(count,)``); ``ValueError`` on corrupt data."""
    if not 0 <= width < len(_WIDTHS):
        raise ValueError(f"unknown integer width code {width}")
    size = _WIDTHS[width]
    if coder == ADAPTIVE:
        if shape is not None and math.prod(shape) != count:
            raise ValueError(f"{count} values do not fill the shape {shape}")
        u = _unpack_adaptive(data, (count,) if shape is None else tuple(shape))
        if _width(u) > width:
            raise ValueError(f"coded values wider than the {size} bytes stated")
        return unzigzag(u)
    expected = count * size
    raw = decode_bytes(data, coder, expected + 1)  # one byte more than expected tells a section that is too long
    if len(raw) > expected:
        raise ValueError(f"coded data holds more than the {expected} bytes expected")
    if len(raw) < expected:
        raise ValueError(f"coded data holds {len(raw)} bytes, expected {expected}")
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(size, count)
    u = np.ascontiguousarray(planes.T).view(f"<u{size}").ravel()
    return unzigzag(u.astype(np.uint64))


__all__ = ["CODERS", "STDLIB_CODERS", "ADAPTIVE", "DEFAULT_CODER", "coder_id", "pack_ints", "unpack_ints",
           "encode_bytes", "decode_bytes", "smallest_coding", "zigzag", "unzigzag", "rough_size",
           "adaptive_rough_size", "ADAPTIVE_PRUNE", "Packed"]
