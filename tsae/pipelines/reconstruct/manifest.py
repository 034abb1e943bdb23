"""The batch's manifest and resume: its columns, reading and writing it, a file's row, and which files a rerun skips.

A manifest row of a file done records what its output was made from (:data:`IDENTITY_FIELDS`: the
local input's and the model's size and modification time) and the output as written (its size and
time, :data:`OUTPUT_FIELDS`); a rerun skips the files whose row says ``ok``, whose output exists and
is newer than the input and the model, and whose input, model and output still have the recorded
size and time (a row whose cells cannot be read back is not trusted: its file is redone; an output
cut short or written over since is redone too). An earlier version's manifest (without those columns) is
still read, and resumed by the times alone. :class:`BatchResult` holds a batch's rows.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsae.errors import naming
from tsae.io.atomic import atomic_path
from tsae.io.paths import is_url
from tsae.pipelines.reconstruct.remote import _output_exists

__all__ = ["BatchResult", "IDENTITY_FIELDS", "MANIFEST_FIELDS", "MANIFEST_NAME", "OUTPUT_FIELDS", "WARNING_FIELD",
           "read_manifest"]

MANIFEST_NAME = "manifest.csv"
#: the columns of a manifest written before the identities below were recorded (still read, and resumed by time)
_FIELDS_BEFORE_IDENTITY = ["file", "output", "status", "error", "samples", "channels", "rmse", "mse", "seconds"]
#: what a file done was made from: the input's and the model's size (bytes) and modification time (ns)
IDENTITY_FIELDS = ["input_size", "input_mtime_ns", "model_size", "model_mtime_ns"]
#: the output as the batch wrote it (a local one): its size (bytes) and modification time (ns)
OUTPUT_FIELDS = ["output_size", "output_mtime_ns"]
#: the columns of a manifest written before a file's warning was recorded
_FIELDS_BEFORE_WARNING = [*_FIELDS_BEFORE_IDENTITY, *IDENTITY_FIELDS, *OUTPUT_FIELDS]
#: what the batch told of a file done (a sample rate other than the model's; on this machine, also what reading it
#: warned of: cells read as missing...), empty for none
WARNING_FIELD = "warning"
MANIFEST_FIELDS = [*_FIELDS_BEFORE_WARNING, WARNING_FIELD]


def read_manifest(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """Rows of a manifest CSV by input file (empty when it does not exist or is unreadable)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:  # utf-8-sig: a manifest saved again by a spreadsheet may start with a byte-order mark
        with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
            rows = [{**row, "file": _file_name(row["file"]), "output": _file_name(row.get("output") or "")}
                    for row in csv.DictReader(handle) if row.get("file")]
            return {row["file"]: row for row in rows}
    except (OSError, csv.Error, KeyError, UnicodeDecodeError):
        return {}


def _file_name(cell: str) -> str:
    """A manifest's file (or output) name as this process names that file: its bytes (written as they were, UTF-8
    or not: :func:`_write_manifest`) decoded as the file system encoding decodes a name (under ``LC_ALL=C``, a
    non-ASCII name's bytes are surrogate escapes), so a rerun under another locale still finds its rows."""
    return os.fsdecode(cell.encode("utf-8", "surrogateescape"))


@contextlib.contextmanager
def _folder_locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` itself (no lock file left behind); without file locks (Windows, some
    network file systems), nothing."""
    try:
        import fcntl
        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_manifest(path: Path, rows: dict[str, dict[str, Any]], own: Collection[str] = ()) -> None:
    """Write ``rows``; the rows of files not ``own`` (this run's) are taken from the manifest as it is now, so two
    batches into one folder keep each other's rows (each rewrote it from the rows it read at its start)."""
    with _folder_locked(path.parent):
        if own:
            rows.update((key, row) for key, row in read_manifest(path).items() if key not in own)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for key in sorted(rows):
            writer.writerow(rows[key])
        with atomic_path(path) as tmp:  # a name's bytes that the locale could not decode are written as they were
            tmp.write_text(buffer.getvalue(), encoding="utf-8", errors="surrogateescape")


def _row(file: str, output: str, status: str, error: str, samples: Any = "", channels: Any = "",
         rmse: Any = "", mse: Any = "", seconds: float = 0.0, warning: str = "") -> dict[str, Any]:
    return {"file": file, "output": output, "status": status, "error": error, "samples": samples,
            "channels": channels, "rmse": rmse, "mse": mse, "seconds": round(float(seconds), 4),
            WARNING_FIELD: warning}


@dataclass
class BatchResult:
    """What a batch did: rows per input file (this run's and the resumed ones)."""

    manifest: Path | None
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: int = 0

    @property
    def ok(self) -> int:
        return sum(r["status"] == "ok" for r in self.rows.values())

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows.values() if r["status"] != "ok"]

    def summary(self) -> str:
        failed = self.failed
        text = f"{len(self.rows)} file(s): {self.ok} ok ({self.skipped} already done), {len(failed)} failed"
        if failed:
            text += f"; first failure: {naming(failed[0]['file'], failed[0]['error'])}"
        if self.manifest is not None:
            text += f"; manifest {self.manifest}"
        return text


def _is_manifest(path: Path) -> bool:
    """Whether ``path`` is a manifest this command wrote (its header line is :data:`MANIFEST_FIELDS`, or
    those of an earlier version: without the warning, without :data:`OUTPUT_FIELDS` too, or without
    :data:`IDENTITY_FIELDS` too)."""
    headers = (MANIFEST_FIELDS, _FIELDS_BEFORE_WARNING, [*_FIELDS_BEFORE_IDENTITY, *IDENTITY_FIELDS],
               _FIELDS_BEFORE_IDENTITY)
    try:
        with open(path, encoding="utf-8-sig", errors="surrogateescape") as f:
            return f.readline().strip() in {",".join(fields) for fields in headers}
    except (OSError, UnicodeDecodeError):
        return False


def _mtime_ns(path: str | os.PathLike) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except (OSError, ValueError):
        return None


def _identity(path: str | os.PathLike) -> tuple[int, int] | None:
    """A local file's size in bytes and modification time in ns; None for a URL or a file that cannot be read."""
    if is_url(str(path)):
        return None
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return stat.st_size, stat.st_mtime_ns


def output_cells(output: str) -> dict[str, Any]:
    """The :data:`OUTPUT_FIELDS` cells of a file done: its output's size and time now (empty for a URL)."""
    size, mtime = _identity(output) or ("", "")
    return {"output_size": size, "output_mtime_ns": mtime}


def _identity_cells(input: tuple[int, int] | None, model: tuple[int, int] | None) -> dict[str, Any]:
    """The :data:`IDENTITY_FIELDS` cells of a row (empty where an identity is not known)."""
    cells: dict[str, Any] = {}
    for prefix, identity in (("input", input), ("model", model)):
        size, mtime = identity if identity is not None else ("", "")
        cells[f"{prefix}_size"], cells[f"{prefix}_mtime_ns"] = size, mtime
    return cells


def _recorded(row: dict[str, Any], prefix: str) -> tuple[int, int] | None:
    """The identity a manifest row records for its ``input`` or ``model``; None where it has none (an earlier
    version's manifest, a URL input) or it cannot be read back (:func:`_records_none` tells which)."""
    try:
        return int(row[f"{prefix}_size"]), int(row[f"{prefix}_mtime_ns"])
    except (KeyError, TypeError, ValueError):
        return None


def _records_none(row: dict[str, Any], prefix: str) -> bool:
    """Whether a manifest row records no identity for its ``input`` or ``model``: it has no such columns (an
    earlier version's manifest) or both cells are empty (a URL input, a row kept from an earlier version's
    manifest). Cells that are there but cannot be read back (``notanumber``, one of the two empty, a number a
    spreadsheet rewrote as 1.7E+18, a row cut short) are not "none": such a row is not trusted."""
    keys = (f"{prefix}_size", f"{prefix}_mtime_ns")
    return all(key not in row for key in keys) or all(row.get(key) == "" for key in keys)


def _done_already(src: str, dst: str, model_path: Path, row: dict[str, Any] | None = None,
                  model_identity: tuple[int, int] | None = None) -> bool:
    """Whether the output ``dst`` of a file done (its manifest ``row``) is still up to date.

    It must exist; the input and the model must have the size and modification time the
    row records (where it records them: :data:`IDENTITY_FIELDS`; ``model_identity`` is
    the model's now; cells there that cannot be read back are not trusted: the file is
    redone); and (a local output) it must be newer than its input and the model.
    An output that no longer has the size and time the row records (cut short, emptied, written over
    by something else) is redone. An input edited, or a model retrained, after the output was written makes it stale:
    the file is redone, as ``make`` would; so does an input (or a model) replaced by
    another file with an older time (``cp -p``, ``rsync -t``, a restore from a backup),
    which the times alone missed. (A URL's time is not compared.)
    """
    if not _output_exists(dst):
        return False
    row = row or {}
    for prefix, now in (("input", _identity(src)), ("model", model_identity), ("output", _identity(dst))):
        if _records_none(row, prefix):
            continue  # judged by the times alone
        if _recorded(row, prefix) != now:  # another file, or cells that cannot be read back: not trusted
            return False
    if is_url(dst):
        return True
    written = _mtime_ns(dst)
    if written is None:
        return False
    sources: list[str | os.PathLike] = [model_path, *([] if is_url(src) else [src])]
    return all((changed := _mtime_ns(path)) is None or changed <= written for path in sources)


def _resume(previous: dict[str, dict[str, Any]], pairs: list[tuple[str, str]], model_path: Path,
            model_identity: tuple[int, int] | None = None,
            ) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]], int, set[str]]:
    """Manifest rows to keep, the pairs still to do, how many were already done, and the files whose row kept
    got its identities filled (a row of an earlier version's manifest, found done by the times alone)."""
    rows: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, str]] = []
    filled: set[str] = set()
    for src, dst in pairs:
        old = previous.get(src)
        if old is not None and old.get("status") == "ok" and old.get("output") == dst \
                and _done_already(src, dst, model_path, old, model_identity):
            rows[src], upgraded = _with_identities(old, src, model_identity)
            if upgraded:
                filled.add(src)
        else:
            todo.append((src, dst))
    skipped = len(rows)
    # rows of files not in this run are kept, so the manifest stays a record of the folder
    for key, row in previous.items():
        rows.setdefault(key, row)
    return rows, todo, skipped, filled


def without_earlier_output(row: dict[str, Any], earlier: dict[str, Any] | None) -> dict[str, Any]:
    """A failed ``row``, its ``earlier`` output removed: the one an earlier run made of the file (its ``ok`` row's
    output, still of the size and time it records; else the output is not that run's, and is left alone) from the
    input as it was then (the input's size and time now differ from those the row records).

    Without, the output of the input as it was stayed in the folder beside a row saying the file failed. An output
    of the input as it still is stays when its redo fails for another reason (the model retrained and refusing the
    file, Ctrl-C, a worker lost): it is still that input's, made by the model of its row.
    """
    output = str(row.get("output", ""))
    if row.get("status") == "ok" or not earlier or earlier.get("status") != "ok" or earlier.get("output") != output \
            or is_url(output) or (recorded := _recorded(earlier, "output")) is None or recorded != _identity(output) \
            or (made_from := _recorded(earlier, "input")) is None or made_from == _identity(str(row["file"])):
        return row
    try:
        os.remove(output)
    except OSError:
        return row
    return {**row, "error": f"{row.get('error', '')} (its earlier output {output}, made from the file as it was, "
                            "removed)"}


def _with_identities(row: dict[str, Any], src: str, model_identity: tuple[int, int] | None,
                     ) -> tuple[dict[str, Any], bool]:
    """A row found done, with the identities it does not record filled from now; and whether any was."""
    cells = {**_identity_cells(_identity(src), model_identity), **output_cells(str(row.get("output", "")))}
    missing = {key: value for key, value in cells.items() if value != ""
               and _recorded(row, key.split("_", 1)[0]) is None}
    return ({**row, **missing}, True) if missing else (row, False)
