"""Typed checks of the fields a model or detector file declares, each failing with one line.

Every value read from a file's JSON header is checked here for its type and range
before anything uses it, and the error names the file and the field
(``hparams.window``, ``frame.hop``, ``extra.threshold.value``), so a crafted file is
refused with one line instead of a traceback or a silent wrong result.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from tsae.engine.layout import SMALLEST_DIVISOR


class ModelFileError(ValueError):
    """A model or detector file that cannot be used: one line naming the file (and the field)."""

    def __init__(self, path: Path | str, problem: str, field: str | None = None) -> None:
        self.path = Path(path)
        self.field = field
        where = f"{field}: " if field else ""
        super().__init__(f"{path}: {where}{problem}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_int(value: Any) -> bool:
    """True for a JSON integer (a Python ``int`` that is not a ``bool``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for a JSON number (``int`` or ``float``, not ``bool``)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_int(path: Path, field: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``, else :class:`ModelFileError` naming ``field``."""
    if not is_int(value):
        raise ModelFileError(path, f"must be an integer, not {_shown(value)}", field)
    if not low <= value <= high:
        raise ModelFileError(path, f"{_shown(value)} is out of range [{low}, {high}]", field)
    return int(value)


def check_number(path: Path, field: str, value: Any, low: float = -math.inf, high: float = math.inf,
                 *, low_open: bool = False) -> float:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if not is_number(value):
        raise ModelFileError(path, f"must be a number, not {_shown(value)}", field)
    try:
        number = float(value)
    except OverflowError:
        raise ModelFileError(path, "is too large a number", field) from None
    if not math.isfinite(number):
        raise ModelFileError(path, f"must be a finite number, not {number}", field)
    if number < low or number > high or (low_open and number == low):
        bounds = f"{'(' if low_open else '['}{low}, {high}]"
        raise ModelFileError(path, f"{_shown(value)} is out of range {bounds}", field)
    return number


def check_str(path: Path, field: str, value: Any, *, optional: bool = False) -> str | None:
    """``value`` as a string (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ModelFileError(path, f"must be a string, not {_shown(value)}", field)
    return value


def check_object(path: Path, field: str, value: Any, *, optional: bool = False) -> dict[str, Any] | None:
    """``value`` as a JSON object (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise ModelFileError(path, f"must be a JSON object, not {_shown(value)}", field)
    return value


def check_finite_json(path: Path, value: Any, field: str = "") -> None:
    """Refuse any non-finite number (``NaN``, ``Infinity``) anywhere in a parsed JSON value.

    tsae never writes them (it stores ``"inf"`` strings and ``null``), so one found is
    crafted or corrupt. The walk is iterative: deep nesting cannot exhaust the stack.
    """
    stack: list[tuple[str, Any]] = [(field, value)]
    while stack:
        name, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ModelFileError(path, f"must be a finite number, not {item}", name or None)
        if isinstance(item, dict):
            stack.extend((f"{name}.{key}" if name else str(key), v) for key, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{name}[{i}]", v) for i, v in enumerate(item))


def check_array(path: Path, field: str, array: np.ndarray, shape: tuple[int, ...] | None = None, *,
                positive: bool = False) -> np.ndarray:
    """A stored array as float64, checked for its shape and for finite values.

    ``positive``: a divisor (a scale, a spread, an error level), whose values must be positive and at
    least :data:`SMALLEST_DIVISOR`.
    """
    if shape is not None and tuple(array.shape) != shape:
        raise ModelFileError(path, f"has shape {tuple(array.shape)}, expected {shape}", field)
    values = np.asarray(array, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ModelFileError(path, "holds NaN or infinite values", field)
    if positive and not (values > 0).all():
        raise ModelFileError(path, "must hold only positive values", field)
    if positive and values.size and values.min() < SMALLEST_DIVISOR:
        raise ModelFileError(path, f"holds {values.min():.3g}, below {SMALLEST_DIVISOR:.3g} (float32's smallest "
                                   "normal number): scores divided by it would overflow", field)
    return values


__all__ = ["ModelFileError", "SMALLEST_DIVISOR", "check_array", "check_finite_json", "check_int", "check_number",
           "check_object", "check_str", "is_int", "is_number"]
