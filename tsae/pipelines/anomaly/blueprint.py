"""Many copies of one object, cheaply: a :class:`Blueprint` pickles it once and unpickles a copy at each call.

A device's monitor (:mod:`~tsae.pipelines.anomaly.devices`) starts as a copy of a fresh one. ``copy.deepcopy`` walks
its few hundred objects in Python at every copy (0.5 ms); unpickling rebuilds them in C (0.1 ms). What every copy
shares (the detector, its fitted state, networks and terms, which scoring never changes) is pickled by reference
(``persistent_id``), with everything they hold: a copy holds the detector's arrays, not copies of them.
"""
from __future__ import annotations

import copy
import io
import pickle
from collections.abc import Iterable
from typing import Any

#: values that are never shared by reference (immutable: copied or interned by pickle as deepcopy keeps them)
_ATOMS = (int, float, complex, str, bytes, bool, type(None))


def reachable(roots: Iterable[Any]) -> list[Any]:
    """Every object that ``roots`` hold (themselves included), through attributes, slots and containers, less
    numbers and text.

    Examples
    --------
    >>> inner = [1.5]
    >>> [type(o).__name__ for o in reachable([{"a": inner}])]
    ['dict', 'list']
    """
    found: dict[int, Any] = {}
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if isinstance(obj, _ATOMS) or isinstance(obj, type) or id(obj) in found:
            continue
        found[id(obj)] = obj
        if isinstance(obj, dict):
            stack += obj.keys()
            stack += obj.values()
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack += obj
        else:
            stack += getattr(obj, "__dict__", {}).values()
            for cls in type(obj).__mro__:
                slots = cls.__dict__.get("__slots__", ())
                stack += [getattr(obj, name) for name in ([slots] if isinstance(slots, str) else slots)
                          if name not in ("__dict__", "__weakref__") and hasattr(obj, name)]
    return list(found.values())


class Blueprint:
    """Copies of ``obj`` as it is now, sharing ``shared`` and everything they hold (:func:`reachable`).

    Each :meth:`copy` is what ``copy.deepcopy(obj, memo)`` would give with every shared object in the memo: the
    rest is new, the shared objects are the same. An object that does not pickle (a plugin's open handle) makes
    every copy a deep copy (the roots ``shared`` alone in its memo), as slow as before, no less right.

    Parameters
    ----------
    obj
        The object to copy (taken now: changing it later changes no copy).
    shared
        The objects every copy shares, by reference.
    """

    def __init__(self, obj: Any, shared: Iterable[Any]) -> None:
        roots = list(shared)
        self._objects = reachable(roots)
        index = {id(item): k for k, item in enumerate(self._objects)}
        buffer = io.BytesIO()
        try:
            _Pickler(buffer, index).dump(obj)
            self._data: bytes | None = buffer.getvalue()
        except (pickle.PicklingError, TypeError, AttributeError):
            self._data = None
            self._original = copy.deepcopy(obj, {id(item): item for item in roots})
            self._roots = roots

    def copy(self) -> Any:
        """A new copy (see the class docstring)."""
        if self._data is None:
            return copy.deepcopy(self._original, {id(item): item for item in self._roots})
        return _Unpickler(io.BytesIO(self._data), self._objects).load()


class _Pickler(pickle.Pickler):
    """Pickles the objects of ``index`` (id to number) by their number."""

    def __init__(self, file: io.BytesIO, index: dict[int, int]) -> None:
        super().__init__(file, protocol=4)  # 4: arrays rebuilt in C (5 goes through numpy's Python frombuffer)
        self.index = index

    def persistent_id(self, obj: Any) -> int | None:
        return self.index.get(id(obj))


class _Unpickler(pickle.Unpickler):
    """Unpickles the numbers of :class:`_Pickler` as the ``objects`` they number."""

    def __init__(self, file: io.BytesIO, objects: list[Any]) -> None:
        super().__init__(file)
        self.objects = objects

    def persistent_load(self, pid: Any) -> Any:
        return self.objects[pid]


__all__ = ["Blueprint", "reachable"]
