"""Typed parameters: how a model family (or a stream source) declares what it accepts.

A :class:`Param` carries a type, a default, choices, bounds and a required flag. It
parses strings (``--param hidden=64,32`` on the command line) and Python values alike,
and every error names the owner (family or source) and the parameter. This module does
not import torch, so ``tsae models`` can describe parameters without loading a network.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tsae.errors import shown

#: integer hyper-parameters drive loops and helper buffers in constructors before any
#: weight shape can be compared, so their magnitude is capped (2**20 = 1,048,576): in a
#: model file (:mod:`tsae.models.rebuild`) and when a family is built
MAX_INT_HPARAM = 2**20
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
INTS = tuple[int, ...]
FLOATS = tuple[float, ...]
#: the types a Param may declare, with the names ``tsae models`` prints
TYPES: dict[Any, str] = {int: "int", float: "float", bool: "bool", str: "str", INTS: "ints", FLOATS: "floats"}


def _infer_type(default: Any) -> Any:
    if isinstance(default, bool):
        return bool
    if isinstance(default, numbers.Integral):
        return int
    if isinstance(default, numbers.Real):
        return float
    if isinstance(default, (tuple, list)):
        return FLOATS if any(isinstance(v, float) for v in default) else INTS
    return str


@dataclass(frozen=True)
class Param:
    """One documented, typed hyper-parameter of a model family (or option of a stream source).

    Parameters
    ----------
    default
        Value used when the parameter is not given (ignored when ``required``).
    help
        One line shown by ``tsae models``.
    type
        ``int``, ``float``, ``bool``, ``str``, ``tuple[int, ...]`` or ``tuple[float, ...]``;
        inferred from ``default`` when omitted.
    choices
        The allowed values, when the parameter is an enumeration.
    required
        The parameter has no default and must be given.
    min, max
        Inclusive bounds of a number (of every element of a tuple).

    Examples
    --------
    >>> Param(32, "code size", min=1).parse("16", owner="linear", name="latent")
    16
    >>> Param((64, 32), "layer widths", min=1).parse("128,64", owner="dense", name="hidden")
    (128, 64)
    >>> Param("none", choices=("none", "sparse")).parse("sparsee", owner="conv1d", name="regularizer")
    Traceback (most recent call last):
    ...
    ValueError: conv1d: parameter regularizer='sparsee' must be one of none, sparse
    """

    default: Any = None
    help: str = ""
    type: Any = None
    choices: tuple[Any, ...] | None = None
    required: bool = False
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        kind = self.type if self.type is not None else _infer_type(self.default)
        if kind not in TYPES:
            raise TypeError(f"Param type must be one of int, float, bool, str, tuple[int, ...], tuple[float, ...]; "
                            f"got {shown(kind)}")
        object.__setattr__(self, "type", kind)
        if self.choices is not None:
            if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Iterable):
                raise TypeError(f"Param choices must be a sequence of values, got {self.choices!r}")
            object.__setattr__(self, "choices", tuple(self.choices))
        for bound in ("min", "max"):
            value = getattr(self, bound)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                      or math.isnan(value)):
                raise TypeError(f"Param {bound} must be a number, got {shown(value)}")
            if value is not None and kind in (str, bool):  # Param("four", min=1): a text parameter, bound ignored
                raise TypeError(f"Param {bound}={shown(value)} bounds a number, but the parameter is {TYPES[kind]} "
                                f"(its default {shown(self.default)}; give a number, or type=int)")

    @property
    def type_name(self) -> str:
        """The type as ``tsae models`` prints it (``int``, ``ints`` for a tuple of ints, ...)."""
        return TYPES[self.type]

    def parse(self, value: Any, owner: str = "", name: str = "") -> Any:
        """Return ``value`` (a string from the command line or a Python value) as this parameter's type.

        Parameters
        ----------
        value
            A string from the command line or a Python value.
        owner, name
            The family (or plugin) and the parameter's name, for the error message.

        Raises
        ------
        ValueError
            ``"<owner>: parameter <name>=<value> ..."`` when it has the wrong type, is not
            one of the choices or is out of bounds.
        """
        where = f"{owner}: parameter {name}={value!r}"
        try:
            parsed = self._convert(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} is not {_article(self.type_name)}") from None
        if self.choices is not None and parsed not in self.choices:
            raise ValueError(f"{where} must be one of {', '.join(str(c) for c in self.choices)}")
        for number in parsed if isinstance(parsed, tuple) else (parsed,):
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                continue
            if not math.isfinite(number):
                raise ValueError(f"{where} must be a finite number")
            if self.min is not None and number < self.min:
                raise ValueError(f"{where} must be >= {self.min}")
            if self.max is not None and number > self.max:
                raise ValueError(f"{where} must be <= {self.max}")
        return parsed

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (``tsae models --json``)."""
        out: dict[str, Any] = {"default": None if self.required else self.default, "type": self.type_name,
                               "help": self.help}
        for key in ("choices", "min", "max"):
            if getattr(self, key) is not None:
                out[key] = list(self.choices or ()) if key == "choices" else getattr(self, key)
        if self.required:
            out["required"] = True
        return out

    def _convert(self, value: Any) -> Any:
        kind = self.type
        if kind in (INTS, FLOATS):
            element = int if kind is INTS else float
            items = [v for v in value.split(",") if v.strip()] if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)):
                items = [items]
            if not items:
                raise ValueError("empty")
            return tuple(_scalar(v, element) for v in items)
        return _scalar(value, kind)


def _scalar(value: Any, kind: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if kind is bool:
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise ValueError(text)
        return value if kind is str else kind(text)
    if kind is str:
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    if kind is bool:
        if isinstance(value, (bool, numbers.Integral)) and value in (0, 1):
            return bool(value)
        raise TypeError(value)
    if isinstance(value, bool):
        raise TypeError(value)
    if kind is int:
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(float(value))
        raise TypeError(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(value)


def _article(type_name: str) -> str:
    return {"int": "an int", "float": "a number", "bool": "a bool (true/false)", "str": "a string",
            "ints": "a comma-separated list of ints", "floats": "a comma-separated list of numbers"}[type_name]
