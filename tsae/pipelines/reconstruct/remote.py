"""Local copies of URLs for the batch: an ``fsspec`` input is downloaded to a temporary file, an output
written there is uploaded (to ``.part``, then moved) when it is complete.

A URL whose filesystem cannot be had (fsspec not installed, ``s3://`` without ``s3fs``, a protocol
fsspec does not know) is one line naming the URL and the package it needs (:func:`check_urls`), not
a bug's traceback.
"""
from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tsae.errors import first_line
from tsae.extras import install_hint
from tsae.io.paths import is_url, name_of


def _fsspec(url: str) -> Any:
    """The ``fsspec`` module, or one line naming ``url`` when it is not installed."""
    try:
        import fsspec
    except ImportError:
        raise ValueError(f"{url}: reading and writing URLs needs fsspec: {install_hint('dask')}") from None
    return fsspec


@contextlib.contextmanager
def _reaching(url: str) -> Iterator[None]:
    """Turn the ``ImportError`` fsspec raises for a URL whose filesystem's package is not installed (its message
    names the package: "Install s3fs to access S3"), and its ``ValueError`` for an unknown protocol, into one line
    naming ``url``. Only fsspec's own calls go in the block: an ``ImportError`` of anything else is not the URL's."""
    try:
        yield
    except ImportError as error:
        raise ValueError(f"{url}: this URL's filesystem needs a package that is not installed "
                         f"({first_line(error)})") from None
    except ValueError as error:
        if first_line(error).startswith("Protocol not known"):
            raise ValueError(f"{url}: not a URL fsspec can open ({first_line(error)})") from None
        raise


def _filesystem(url: str) -> tuple[Any, str]:
    """``(the fsspec filesystem, the path in it)`` of ``url``; a filesystem that cannot be had is one line."""
    fsspec = _fsspec(url)
    with _reaching(url):
        fs, target = fsspec.core.url_to_fs(url)
    return fs, target


def check_urls(paths: Iterable[Any]) -> None:
    """Make sure the filesystem of every URL among ``paths`` can be had, before anything is read or written:
    a missing package (``s3fs``) is one line naming the URL, not a failure after the work is done."""
    for path in paths:
        if is_url(str(path)):
            _filesystem(str(path))


@contextlib.contextmanager
def _local_input(path: str) -> Iterator[Path]:
    """A local path holding the input (URLs are downloaded to a temporary file)."""
    if not is_url(path):
        yield Path(path)
        return
    fs, target = _filesystem(path)
    with tempfile.TemporaryDirectory(prefix="tsae-") as tmp:
        local = Path(tmp) / name_of(path)
        try:
            with _reaching(path), fs.open(target, "rb") as src, open(local, "wb") as dst:
                dst.write(src.read())
        except FileNotFoundError:
            raise ValueError(f"{path}: no such file") from None
        try:
            yield local
        except ValueError as error:  # "/tmp/tsae-x/a.csv: line 3 ...": the temporary copy is no name the user knows
            if str(local) not in str(error):
                raise
            text = str(error).replace(str(local), path)
            try:
                renamed = type(error)(text)
            except TypeError:  # a subclass that takes other arguments
                renamed = ValueError(text)
            raise renamed from None


@contextlib.contextmanager
def _local_output(path: str) -> Iterator[Path]:
    """A local path to write; URLs are uploaded (to ``.part`` then moved) when the block succeeds."""
    if not is_url(path):
        yield Path(path)
        return
    fs, target = _filesystem(path)  # before the block: a missing package is told before the work
    with tempfile.TemporaryDirectory(prefix="tsae-") as tmp:
        local = Path(tmp) / name_of(path)
        yield local
        part = target + ".part"
        with _reaching(path):
            fs.put_file(str(local), part)
            fs.mv(part, target)


def _output_exists(path: str) -> bool:
    if is_url(path):
        fs, target = _filesystem(path)
        with _reaching(path):
            return bool(fs.exists(target))
    return Path(path).is_file()
