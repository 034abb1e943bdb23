"""Opening the file of a text table: its compression (gzip, bzip2, xz: judged by its magic bytes, decompressed as it
is read), its encoding (UTF-16 or UTF-32 with a byte order mark, UTF-8, else latin-1), and one-line errors naming
the file.

A file named ``.gz`` (``.bz2``, ``.xz``) that does not start as one, an empty or binary file and broken compressed
data are ``ValueError("<path>: <problem>")`` (:func:`_fail`). The table reader (:func:`tsae.io.tables.read_table`)
reads its rows from the text opened here.
"""
from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import io
import lzma
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO, cast

from tsae.io.paths import COMPRESSION_SUFFIXES, PIPE_OR_DEVICE


def _fail(path: Path, problem: str) -> ValueError:
    return ValueError(f"{path}: {problem}")


#: bytes read at a time while the encoding of a table file is checked
_BLOCK = 1 << 20


#: the name of each compression (by suffix) as errors tell it
_COMPRESSION_NAMES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}


def _starts_as(head: bytes) -> str | None:
    """The compression suffix whose magic bytes ``head`` starts with, or None (plain, or too short to tell)."""
    if head.startswith(b"\x1f\x8b"):
        return ".gz"
    # "BZh", the block size, then a block's or the end-of-stream's magic: not a text that happens to start "BZh"
    if head[:3] == b"BZh" and head[3:4] in b"123456789" and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return ".bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return ".xz"
    return None


#: magic bytes of files taken for tables that are not text, each with what it is (as its error tells it)
_ARCHIVES = ((b"PK\x03\x04", "a zip archive or an Excel .xlsx workbook, not a text table (unzip it, or save the "
                              "sheet as CSV)"),
             (b"PK\x05\x06", "an empty zip archive, not a text table"),
             (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook, not a text table (save the sheet as CSV)"),
             (b"PAR1", "a Parquet file, not a text table (save it as CSV: pandas.read_parquet(path).to_csv('x.csv'))"),
             (b"ARROW1", "an Arrow/Feather file, not a text table (save it as CSV: "
                         "pandas.read_feather(path).to_csv('x.csv'))"),
             (b"\x89HDF\r\n\x1a\n", "an HDF5 file, not a text table (save the dataset as CSV)"),
             (b"SQLite for", "an SQLite database, not a text table (export the table as CSV: sqlite3 -csv -header)"))


def _compression(path: Path) -> str | None:
    """``".gz"``, ``".bz2"`` or ``".xz"`` for a compressed table, None for a plain one.

    Judged by the file's magic bytes (a gzip file named ``.csv`` is read too); a file named ``.gz`` (``.bz2``,
    ``.xz``) that does not start as one is an error. One-line errors: missing, a folder, a named pipe or a device
    (the table is opened more than once), unreadable, a zip archive (an ``.xlsx`` workbook is one) or an ``.xls``
    workbook.
    """
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a table")
    if not path.is_file():
        raise _fail(path, f"{PIPE_OR_DEVICE} (save it to a file first)")
    try:
        with open(path, "rb") as handle:
            head = handle.read(10)
    except OSError as error:
        raise _fail(path, f"cannot read ({error.strerror or error})") from None
    for magic, what in _ARCHIVES:
        if head.startswith(magic):
            raise _fail(path, what)
    found = _starts_as(head)
    named = path.suffix.lower()
    if found is None and named in COMPRESSION_SUFFIXES and head.strip():
        raise _fail(path, f"not a valid {_COMPRESSION_NAMES[named]} file (it does not start as one)")
    return found


def _open_binary(path: Path, compression: str | None) -> io.BufferedIOBase:
    """The file's bytes, decompressed as they are read (a stream: nothing is decompressed ahead)."""
    if compression == ".gz":
        return gzip.open(path, "rb")
    if compression == ".bz2":
        return bz2.open(path, "rb")
    if compression == ".xz":
        return lzma.open(path, "rb")
    return open(path, "rb")


@contextlib.contextmanager
def _decompressing(path: Path, compression: str | None) -> Iterator[None]:
    """Turn a broken compressed stream, met while reading, into one error naming the file."""
    if compression is None:
        yield
        return
    name = _COMPRESSION_NAMES[compression]
    try:
        yield
    except EOFError:
        raise _fail(path, f"truncated {name} data (the file ends early)") from None
    except (zlib.error, lzma.LZMAError) as error:
        raise _fail(path, f"not a valid {name} file ({error})") from None
    except OSError as error:
        if error.errno is not None:  # the disk, not the data (gzip's and bz2's data errors carry no errno)
            raise
        raise _fail(path, f"not a valid {name} file ({error})") from None


#: bytes no text table holds (control characters other than tab, line feed, carriage return, form feed...)
_CONTROL_BYTES = (*range(0, 9), *range(14, 27), *range(28, 32))


#: byte order marks of the UTF-16 and UTF-32 encodings (UTF-32's first: its little-endian one starts as UTF-16's),
#: each with the codec that reads (and drops) it
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _wide_encoding(path: Path, compression: str | None, head: bytes) -> str | None:
    """``"utf-16"`` (``"utf-32"``) for a file that starts with its byte order mark (Excel's "Unicode text" is UTF-16
    with one), after all of it is checked to decode; None for a file without one. One-line errors as
    :func:`_encoding`'s, and text in that encoding that does not decode."""
    encoding = next((name for bom, name in _BOMS if head.startswith(bom)), None)
    if encoding is None:
        return None
    decoder = codecs.getincrementaldecoder(encoding)()
    start, blank = "", True
    try:
        with _decompressing(path, compression), _open_binary(path, compression) as handle:
            while block := handle.read(_BLOCK):
                text = decoder.decode(block)
                start += text[:4096 - len(start)]
                blank = blank and not text.strip()
            decoder.decode(b"", final=True)
    except OSError as error:
        raise _fail(path, f"cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        name = encoding.upper()
        raise _fail(path, f"not valid {name} text ({error.reason}; it starts with a {name} byte order mark)") from None
    _refuse_blank_or_binary(path, blank, start)
    return encoding


def _refuse_blank_or_binary(path: Path, blank: bool, start: str) -> None:
    """Refuse a file that holds only blanks (``blank``), or whose ``start`` (its first characters; bytes decoded as
    latin-1, one character a byte) holds a NUL or more than 1 % control characters."""
    if blank:
        raise _fail(path, "empty file")
    controls = sum(start.count(chr(c)) for c in _CONTROL_BYTES)
    if "\x00" in start or controls > 0.01 * len(start):
        raise _fail(path, "not a text table (binary data)")


def _encoding(path: Path, compression: str | None = None) -> str:
    """The encoding of a table file: UTF-16 (UTF-32) when it starts with that byte order mark, else UTF-8 when all
    of it is, else latin-1 (which decodes any bytes).

    The file (decompressed, for a compressed one) is read a block at a time. One-line errors: unreadable, empty
    (only blanks), binary, broken compressed data, UTF-16 (UTF-32) that does not decode.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    head, blank, utf8 = b"", True, True
    try:
        with _decompressing(path, compression), _open_binary(path, compression) as handle:
            while block := handle.read(_BLOCK):
                if not head and block.startswith(tuple(bom for bom, _ in _BOMS)):
                    head = block[:4]
                    break  # UTF-16 or UTF-32: read again, as that
                head += block[:4096 - len(head)]
                blank = blank and not block.strip()
                if utf8:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError:
                        utf8 = False
                if not (utf8 or blank) and len(head) == 4096:
                    break  # latin-1, not empty, and its start is known: nothing more to learn
    except OSError as error:
        raise _fail(path, f"cannot read ({error.strerror or error})") from None
    wide = _wide_encoding(path, compression, head)
    if wide is not None:
        return wide
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    _refuse_blank_or_binary(path, blank, head.decode("latin-1"))
    return "utf-8-sig" if utf8 else "latin-1"


def decode_text(data: bytes) -> str:
    """Bytes of a stream's lines as text: UTF-8, else latin-1 line by line, as a table file is read (:func:`_encoding`).

    A stream has no whole file to judge: each line that is not UTF-8 is read as latin-1 (which decodes any bytes),
    so a Windows export's ``temp°C`` names the sensor a detector fitted on that file knows. Lines end at ``\\n``,
    ``\\r\\n`` or ``\\r``; neither byte occurs inside a UTF-8 character.

    Examples
    --------
    >>> decode_text(b"time,temp\\xb0C\\n0,1") == "time,temp\\u00b0C\\n0,1"
    True
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_decode_line(line) for line in data.splitlines(keepends=True))


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def _open_text(path: Path, encoding: str, compression: str | None = None, newline: str = "\n") -> TextIO:
    # newline="\n": lines end at "\n" only, as io.StringIO split them when the whole text was read at once
    # ("\r" for a file with classic Mac line ends, which has no "\n")
    if compression is None:
        return open(path, encoding=encoding, newline=newline)
    return io.TextIOWrapper(cast(BinaryIO, _open_binary(path, compression)), encoding=encoding, newline=newline)
