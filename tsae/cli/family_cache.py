"""What ``tsae models`` prints about a lazily registered family, remembered between runs.

Describing a family (its description and typed parameters) means importing its module,
and with it torch. For a :class:`tsae.plugins.LazyFamily` the description is kept in
``$XDG_CACHE_HOME/tsae/families.json``, keyed by the family's import path and the
size and modification time of its module and of tsae's parameter code, so ``tsae models``
starts without torch until one of them changes.
"""
from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tsae
from tsae.cli.user_cache import cache_path, read_cached


def _stamp(path: str | None) -> list[Any]:
    if path is None:
        return [None]
    stat = os.stat(path)
    return [path, stat.st_size, stat.st_mtime_ns]


def _key(target: str) -> list[Any] | None:
    """What the description depends on; None when the module cannot be found without importing it."""
    try:
        spec = importlib.util.find_spec(target.partition(":")[0])
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    models = Path(tsae.__file__).parent / "models"
    return [target, tsae.__version__, _stamp(spec.origin), _stamp(str(models / "base.py")),
            _stamp(str(models / "params.py"))]


def _well_formed(row: Any) -> bool:
    """Whether a cached ``row`` has the shape :func:`describe`'s ``load`` gives (a description, and each parameter
    as ``Param.describe()`` tells it): a hand-edited one is described again, not shown wrong or failed on."""
    if not isinstance(row, dict) or not isinstance(row.get("description"), str):
        return False
    params = row.get("params")
    return isinstance(params, dict) and all(
        isinstance(p, dict) and {"default", "type", "help"} <= p.keys() and isinstance(p["type"], str)
        and isinstance(p["help"], str) and isinstance(p.get("choices", []), list) for p in params.values())


def describe(name: str, target: str, load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The description of lazy family ``name`` (``target`` is ``"module:Class"``): cached, or ``load()`` and keep it."""
    key = _key(target)
    path = cache_path("families.json")
    text = read_cached("families.json")
    try:
        cache = json.loads(text) if text is not None else {}
    except ValueError:
        cache = {}
    entry = cache.get(name) if isinstance(cache, dict) else None
    if key is not None and isinstance(entry, dict) and entry.get("key") == key and _well_formed(entry.get("row")):
        return dict(entry["row"])
    row = load()
    if key is not None:
        cache = cache if isinstance(cache, dict) else {}
        cache[name] = {"key": key, "row": row}
        from tsae.io.atomic import atomic_path

        try:
            with atomic_path(path) as tmp:  # its temporary file is removed however the rename fails
                tmp.write_text(json.dumps(cache), encoding="utf-8")
        except (OSError, ValueError):  # no writable cache (or not a file there): describe again next time
            pass
    return row
