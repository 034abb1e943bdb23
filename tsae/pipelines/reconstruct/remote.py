"""Local copies of URLs for the batch: an ``fsspec`` input is downloaded to a temporary file, an output
written there is uploaded (to ``.part``, then moved) when it is complete."""
from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tsae.io.paths import is_url, name_of


@contextlib.contextmanager
def _local_input(path: str) -> Iterator[Path]:
    """A local path holding the input (URLs are downloaded to a temporary file)."""
    if not is_url(path):
        yield Path(path)
        return
    import fsspec

    with tempfile.TemporaryDirectory(prefix="tsae-") as tmp:
        local = Path(tmp) / name_of(path)
        try:
            with fsspec.open(path, "rb") as src, open(local, "wb") as dst:
                dst.write(src.read())
        except FileNotFoundError:
            raise ValueError(f"{path}: no such file") from None
        yield local


@contextlib.contextmanager
def _local_output(path: str) -> Iterator[Path]:
    """A local path to write; URLs are uploaded (to ``.part`` then moved) when the block succeeds."""
    if not is_url(path):
        yield Path(path)
        return
    import fsspec

    with tempfile.TemporaryDirectory(prefix="tsae-") as tmp:
        local = Path(tmp) / name_of(path)
        yield local
        fs, target = fsspec.core.url_to_fs(path)
        part = target + ".part"
        fs.put_file(str(local), part)
        fs.mv(part, target)


def _output_exists(path: str) -> bool:
    if is_url(path):
        import fsspec

        fs, target = fsspec.core.url_to_fs(path)
        return bool(fs.exists(target))
    return Path(path).is_file()
