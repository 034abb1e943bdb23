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
import zlib
from collections.abc import Callable

import numpy as np

from tsae.io.reading import read_up_to
from tsae.pipelines.compress import adaptive

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
        raise ValueError("the zstd coder needs the zstandard package (pip install 'tsae[compress]')") from None

    def decode(data: bytes, limit: int) -> bytes:
        # a stream reader never trusts the content size a frame header claims
        with zstandard.ZstdDecompressor().stream_reader(data) as reader:
            return read_up_to(reader, limit)

    return zstandard.ZstdCompressor(level=19).compress, decode


def _coders() -> dict[str, tuple[int, Callable[[], tuple[Encoder, Decoder]]]]:
    return {
        "raw": (0, lambda: (bytes, _raw_decode)),
        "zlib": (1, lambda: (lambda data: zlib.compress(data, 9), _zlib_decode)),
        "lzma": (2, lambda: (lambda data: lzma.compress(data, format=lzma.FORMAT_RAW, filters=_LZMA_ENCODE),
                             _lzma_decode)),
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
    """Inverse of :func:`encode_bytes`, at most ``limit`` bytes of it; ``ValueError`` on corrupt data."""
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
    u = zigzag(np.ravel(values))
    width = _width(u)
    narrow = u.astype(f"<u{_WIDTHS[width]}")
    planes = narrow.view(np.uint8).reshape(-1, _WIDTHS[width]).T
    return width, np.ascontiguousarray(planes).tobytes()


def pack_ints(values: np.ndarray, coder: int) -> tuple[int, bytes]:
    """Code a signed integer array losslessly; returns ``(width code, bytes)`` for :func:`unpack_ints`.

    The adaptive coder stores no width: it is the width the values need (:func:`unpack_ints` checks them against it).
    """
    if coder == ADAPTIVE:
        u = zigzag(values)
        return _width(u), adaptive.encode_rows(u)
    width, planes = _byte_planes(values)
    return width, _coder(coder)[0](planes)


class Packed:
    """:func:`pack_ints` that codes each distinct array once: an array coded before (the same byte planes and
    coder) gets the bytes it got then, from memory. A block's residual stream is coded to cost it, then again to
    write it; hold one per block (it keeps every array it coded)."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, int, bytes], bytes] = {}

    def __call__(self, values: np.ndarray, coder: int) -> tuple[int, bytes]:
        if coder == ADAPTIVE:
            key = (coder, -1, np.ascontiguousarray(values, dtype=np.int64).tobytes())
            if key not in self._known:
                self._known[key] = pack_ints(values, coder)[1]
            return _width(zigzag(np.ravel(values))), self._known[key]
        width, planes = _byte_planes(values)
        key = (coder, width, planes)
        if key not in self._known:
            self._known[key] = _coder(coder)[0](planes)
        return width, self._known[key]


def rough_size(values: np.ndarray) -> int:
    """About the bytes :func:`pack_ints` codes ``values`` to, 10-20 times faster than LZMA2 finds out (zlib at
    level 1: typically 5-15 % larger than LZMA2, in step with it across streams), to rank ways of coding them."""
    return len(zlib.compress(_byte_planes(values)[1], 1))


def unpack_ints(data: bytes, width: int, count: int, coder: int, rows: int = 1) -> np.ndarray:
    """Inverse of :func:`pack_ints`: ``count`` signed int64 values (flat; ``rows``: the array's first dimension when
    it has two or more, which the adaptive coder codes row by row); ``ValueError`` on corrupt data."""
    if not 0 <= width < len(_WIDTHS):
        raise ValueError(f"unknown integer width code {width}")
    size = _WIDTHS[width]
    if coder == ADAPTIVE:
        u = adaptive.decode_rows(data, count, rows)
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


__all__ = ["CODERS", "STDLIB_CODERS", "ADAPTIVE", "DEFAULT_CODER", "coder_id", "pack_ints", "unpack_ints", "encode_bytes", "decode_bytes",
           "smallest_coding", "zigzag", "unzigzag", "rough_size", "Packed"]
