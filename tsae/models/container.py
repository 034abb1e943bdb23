"""The safetensors container of a model file, checked from its header and read by offset.

A model file is never read whole: :func:`read_container` reads the 8-byte length and
the JSON header (bounded by :data:`MAX_HEADER_BYTES`), checks every tensor entry
(dtype, shape, offsets) and that the tensors cover the data section exactly (a file
longer or shorter than its header declares is refused before any tensor is read);
:func:`read_tensor` then reads one tensor's bytes at its offset. Nothing here
executes code from the file: the header is plain JSON and tensors are raw numbers.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tsae.models.fields import ModelFileError, is_int

#: the safetensors JSON header may not exceed this (the format's own reference limit is 100 MB)
MAX_HEADER_BYTES = 100_000_000
#: safetensors dtype -> (numpy dtype the bytes are read as, torch dtype name when numpy has none)
DTYPES: dict[str, tuple[str, str | None]] = {
    "BOOL": ("?", None), "U8": ("u1", None), "I8": ("i1", None), "U16": ("<u2", None), "I16": ("<i2", None),
    "U32": ("<u4", None), "I32": ("<i4", None), "U64": ("<u8", None), "I64": ("<i8", None),
    "F16": ("<f2", None), "F32": ("<f4", None), "F64": ("<f8", None),
    "BF16": ("<u2", "bfloat16"), "F8_E4M3": ("u1", "float8_e4m3fn"), "F8_E5M2": ("u1", "float8_e5m2"),
}


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the container: its dtype (safetensors name), shape and byte span in the data section."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def kind(self) -> str:
        """``"f"`` (floating point), ``"b"`` (bool) or ``"i"`` (integer)."""
        return "b" if self.dtype == "BOOL" else ("f" if self.dtype[0] in "FB" else "i")

    @property
    def numpy_dtype(self) -> bool:
        """True when numpy holds this dtype (not bfloat16 or float8)."""
        return DTYPES[self.dtype][1] is None


@dataclass(frozen=True)
class Container:
    """A checked safetensors header: ``__metadata__`` strings and the tensor entries by name."""

    metadata: dict[str, str]
    tensors: dict[str, TensorEntry]
    data_start: int


def _sniff(data: bytes) -> str | None:
    """Name what a non-safetensors file looks like, for the error message."""
    if data[:1] == b"\x80" and len(data) > 1 and data[1] <= 5:
        return "a Python pickle (refusing to unpickle: tsae model files are safetensors)"
    if data[:4] == b"PK\x03\x04":
        return "a zip archive (a torch.save checkpoint?); tsae model files are safetensors and never unpickled"
    if data[:6] == b"\x93NUMPY":
        return "a numpy .npy file, not a tsae model"
    if data[:4] in (b"RIFF", b"fLaC", b"OggS"):
        return "an audio file, not a tsae model"
    return None


def _entry(path: Path, name: str, info: object) -> TensorEntry:
    shown = repr(str(name)[:60])
    if not isinstance(info, dict):
        raise ModelFileError(path, f"corrupt safetensors header (bad entry for tensor {shown})")
    dtype = info.get("dtype")
    if dtype not in DTYPES:
        raise ModelFileError(path, f"corrupt safetensors header (bad entry for tensor {shown}: "
                                   f"unsupported dtype {str(dtype)[:20]!r})")
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not (isinstance(shape, list) and all(is_int(d) and d >= 0 for d in shape)
            and isinstance(offsets, list) and len(offsets) == 2 and all(is_int(o) for o in offsets)):
        raise ModelFileError(path, f"corrupt safetensors header (bad entry for tensor {shown})")
    begin, end = offsets
    nbytes = math.prod(shape) * np.dtype(DTYPES[dtype][0]).itemsize
    if not 0 <= begin <= end or end - begin != nbytes:
        raise ModelFileError(path, f"corrupt safetensors header (tensor {shown} has inconsistent offsets)")
    return TensorEntry(str(name), dtype, tuple(shape), begin, end)


def _check_spans(path: Path, entries: list[TensorEntry], size: int) -> None:
    """The tensors must lie inside the data section, not overlap, and cover it exactly."""
    for entry in entries:
        if entry.end > size:
            raise ModelFileError(path, f"truncated file (tensor {entry.name[:60]!r} runs past the end of the file)")
    covered = 0
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        if entry.begin < covered:
            raise ModelFileError(path, "corrupt safetensors header (tensors overlap)")
        if entry.begin > covered:
            raise ModelFileError(path, f"corrupt safetensors header ({entry.begin - covered} bytes between tensors "
                                       "that no tensor declares)")
        covered = entry.end
    if covered != size:
        raise ModelFileError(path, f"not a valid model file: its header declares {covered} bytes of tensors but "
                                   f"{size} bytes follow the header")


def read_container(path: Path, handle: BinaryIO) -> Container:
    """Read and check the safetensors header of the open file ``handle`` (named ``path`` in errors), or of
    a seekable binary stream at its start.

    Raises
    ------
    ModelFileError
        Empty, truncated, not safetensors (a pickle or zip is named, never opened), a
        bad tensor entry, or tensors that do not cover the file exactly.
    """
    try:
        file_size = os.fstat(handle.fileno()).st_size
    except OSError:  # the bytes of a file in memory (io.BytesIO: tsae.models.modelfile.loaded_in_memory)
        file_size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
    prefix = handle.read(16)
    if not prefix:
        raise ModelFileError(path, "empty file, not a tsae model")
    if len(prefix) < 8:
        kind = _sniff(prefix)
        raise ModelFileError(path, f"this is {kind}" if kind else
                             f"truncated or not a tsae model file ({len(prefix)} bytes)")
    (n,) = struct.unpack("<Q", prefix[:8])
    # a header length of 0x580 starts like a pickle: a JSON header that fits the file is safetensors
    kind = None if prefix[8:9] == b"{" and 8 + n <= file_size else _sniff(prefix)
    if kind is not None:
        raise ModelFileError(path, f"this is {kind}")
    if n == 0 or n > MAX_HEADER_BYTES:
        raise ModelFileError(path, "not a tsae model file (no valid safetensors header)")
    if 8 + n > file_size:
        raise ModelFileError(path, f"truncated file (header says {n} bytes, file has {file_size - 8})")
    handle.seek(8)
    raw = handle.read(n)
    if raw[:1] != b"{":
        raise ModelFileError(path, "not a tsae model file (no valid safetensors header)")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError(path, "not a tsae model file (its safetensors header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(path, "not a tsae model file (its safetensors header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(path, "corrupt safetensors header (__metadata__ must map strings to strings)")
    entries = [_entry(path, name, info) for name, info in header.items()]
    _check_spans(path, entries, file_size - 8 - n)
    return Container(metadata=metadata, tensors={e.name: e for e in entries}, data_start=8 + n)


def read_tensor(path: Path, handle: BinaryIO, container: Container, entry: TensorEntry) -> np.ndarray:
    """Read one tensor's bytes at its offset, as a numpy array of its storage dtype and shape.

    bfloat16 and float8 tensors come back as unsigned integers of their width (numpy
    has no such dtypes); view them as ``DTYPES[entry.dtype][1]`` in torch.
    """
    buffer = bytearray(entry.end - entry.begin)
    handle.seek(container.data_start + entry.begin)
    view, done = memoryview(buffer), 0
    while done < len(buffer):
        got = handle.readinto(view[done:])  # type: ignore[attr-defined]
        if not got:
            raise ModelFileError(path, f"truncated file (tensor {entry.name[:60]!r} runs past the end of the file)")
        done += got
    return np.frombuffer(buffer, dtype=np.dtype(DTYPES[entry.dtype][0])).reshape(entry.shape)


def tensors_digest(tensors: Iterable[tuple[str, str, tuple[int, ...], np.ndarray]]) -> str:
    """SHA-256 (hex) of tensors given as ``(name, safetensors dtype, shape, numpy array of its little-endian
    storage)``, in name order.

    What a model file records of its tensors (``weights_sha256``), so that a damaged byte
    in the data section (one flipped bit can turn a weight into 1e32, a finite value that
    no other check refuses) is found on loading. Each tensor's name, dtype, shape and
    byte count go in before its bytes, so moving bytes between tensors changes it too.
    """
    digest = hashlib.sha256()
    for name, dtype, shape, data in sorted(tensors, key=lambda item: item[0]):
        raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        digest.update(json.dumps([name, dtype, list(shape), raw.size]).encode() + b"\0")
        digest.update(raw.data)
    return digest.hexdigest()


__all__ = ["Container", "DTYPES", "MAX_HEADER_BYTES", "TensorEntry", "read_container", "read_tensor",
           "tensors_digest"]
